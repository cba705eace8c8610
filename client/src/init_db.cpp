#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include <psycache/errors.hpp>
#include <psycache/init_db.hpp>

#include "error_translation.hpp"
#include "init_db_internal.hpp"
#include "portable_sql.hpp"
#include "validation.hpp"

namespace psycache {
namespace detail {
namespace {

constexpr std::string_view kInstallAdvice =
    "install it on the server host: run `make && sudo make install` in the psycache source tree "
    "(set PG_CONFIG=/path/to/pg_config to pick the PostgreSQL installation), or install your "
    "distribution's psycache package; then run init_db again";

[[noreturn]] void throw_not_available(const pqxx::sql_error& error, std::string_view extension) {
  throw ServerError("init_db failed: the " + std::string{extension} +
                        " extension is not installed on the PostgreSQL server (" +
                        tidy_server_message(error.what()) + "); " + std::string{kInstallAdvice} +
                        " (SQLSTATE " + error.sqlstate() + ")",
                    error.sqlstate());
}

[[noreturn]] void throw_no_schema(const pqxx::sql_error& error, std::string_view schema) {
  throw ServerError("init_db failed: " + tidy_server_message(error.what()) +
                        "; create it first (CREATE SCHEMA " + quote_identifier(schema) +
                        ") or choose an existing schema (SQLSTATE " + error.sqlstate() + ")",
                    error.sqlstate());
}

// name as it reads best in SQL: bare when it is a plain lower-case name.
std::string sql_name(std::string_view name) {
  const bool plain =
      !name.empty() && (name[0] < '0' || name[0] > '9') &&
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string_view::npos;
  return plain ? std::string{name} : quote_identifier(name);
}

// What init_db runs after CREATE EXTENSION ... SCHEMA s: when the extension lives in another
// schema already, s gets a cache of its own. @extension@ and @schema@ stand for literals.
constexpr std::string_view kCacheElsewhere = R"sql(DO $psycache$
DECLARE
  home name := (SELECT n.nspname FROM pg_catalog.pg_extension AS e
                JOIN pg_catalog.pg_namespace AS n ON n.oid = e.extnamespace
                WHERE e.extname = @extension@);
BEGIN
  IF home <> @schema@ THEN
    EXECUTE pg_catalog.format('SELECT %I.psycache_create_cache(%L)', home, @schema@);
  END IF;
END
$psycache$)sql";

// Replaces every placeholder in text with value.
void replace_all(std::string& text, std::string_view placeholder, const std::string& value) {
  for (std::size_t at = text.find(placeholder); at != std::string::npos;
       at = text.find(placeholder, at + value.size())) {
    text.replace(at, placeholder.size(), value);
  }
}

}  // namespace

std::string create_extension_sql(std::string_view extension, const InitOptions& options) {
  std::string sql = "CREATE EXTENSION IF NOT EXISTS " + sql_name(extension);
  if (options.schema) {
    validate_schema(*options.schema);
    sql += " SCHEMA " + quote_identifier(*options.schema);
    std::string elsewhere{kCacheElsewhere};
    replace_all(elsewhere, "@extension@", quote_literal(extension));
    replace_all(elsewhere, "@schema@", quote_literal(*options.schema));
    sql += ";\n" + elsewhere;
  }
  return sql + ";";
}

std::string portable_sql(const InitOptions& options) {
  const std::string schema = options.schema.value_or("public");
  validate_schema(schema);
  // The characters PostgreSQL refuses in the schema of an extension: they could end a literal or
  // a dollar quote in the script.
  if (schema.find_first_of("\"$'\\") != std::string::npos) {
    throw InvalidArgument("invalid schema name " + quote_for_message(schema) +
                          ": a portable install refuses the characters \", $, ' and \\ in it, as "
                          "PostgreSQL does for an extension's schema");
  }
  std::string sql{kPortableSql};
  replace_all(sql, "@schema@", quote_identifier(schema));
  return sql;
}

std::string install_portable(pqxx::connection_base& connection, const InitOptions& options) {
  const std::string sql = portable_sql(options);
  std::string schema = options.schema.value_or("public");
  try {
    // One transaction: all of it or nothing.
    pqxx::work transaction{connection};
    transaction.exec(sql);
    transaction.commit();
  } catch (const pqxx::sql_error& error) {
    if (error.sqlstate() == "3F000") throw_no_schema(error, schema);
    rethrow_translated(Operation{.name = "init_db"});
  } catch (...) {
    rethrow_translated(Operation{.name = "init_db"});
  }
  return schema;
}

std::string create_extension(pqxx::connection_base& connection, std::string_view extension,
                             const InitOptions& options) {
  const std::string create = create_extension_sql(extension, options);
  std::string installed_in;
  try {
    pqxx::nontransaction transaction{connection};
    // One round trip: create, then ask where it lives (it may have existed).
    const pqxx::result result =
        transaction.exec(create +
                         "\nSELECT n.nspname FROM pg_catalog.pg_extension AS e"
                         " JOIN pg_catalog.pg_namespace AS n ON n.oid = e.extnamespace"
                         " WHERE e.extname = " +
                         quote_literal(extension));
    installed_in = result.at(0)[0].as<std::string>();
  } catch (const pqxx::sql_error& error) {
    if (error.sqlstate() == "0A000" || error.sqlstate() == "58P01") {
      throw_not_available(error, extension);
    }
    if (error.sqlstate() == "3F000" && options.schema) throw_no_schema(error, *options.schema);
    if (error.sqlstate() == "42883" && options.schema) {
      throw ServerError("init_db failed: " + tidy_server_message(error.what()) + "; the " +
                            std::string{extension} +
                            " extension of this database predates caches in several schemas "
                            "(version 1.1): run ALTER EXTENSION " +
                            sql_name(extension) + " UPDATE (SQLSTATE " + error.sqlstate() + ")",
                        error.sqlstate());
    }
    rethrow_translated(Operation{.name = "init_db"});
  } catch (...) {
    rethrow_translated(Operation{.name = "init_db"});
  }
  // A schema other than the extension's got a cache of its own (psycache_create_cache).
  return options.schema ? *options.schema : installed_in;
}

}  // namespace detail

std::string init_db_sql(const InitOptions& options) {
  if (options.portable) return detail::portable_sql(options);
  return detail::create_extension_sql("psycache", options);
}

std::string init_db(pqxx::connection_base& connection, const InitOptions& options) {
  if (options.portable) return detail::install_portable(connection, options);
  return detail::create_extension(connection, "psycache", options);
}

}  // namespace psycache
