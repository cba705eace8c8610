// init_db: installs the psycache extension in a database.
//
//   pqxx::connection conn{dsn};
//   psycache::init_db(conn);                             // schema: the default
//   psycache::init_db(conn, {.schema = "cache"});        // an existing schema
//
//   psycache::init_db(conn, {.schema = "other"});        // a second cache
//   psycache::init_db(conn, {.portable = true});         // no extension needed
//
// Runs `CREATE EXTENSION IF NOT EXISTS psycache [SCHEMA "s"]`, which creates
// the cache table, its index and the functions every client calls. Running it
// again is harmless. When the extension lives in another schema already, the
// schema asked for gets a cache of its own (psycache_create_cache): its own
// table and functions, with the same names, owned by the calling role.
// The role needs the CREATE privilege on the database (psycache is a trusted
// extension) and on the schema.
//
// With portable set, it runs the portable script instead (no extension: the
// same table and functions in SQL and PL/pgSQL, for servers where the
// extension cannot be installed), in one transaction; that needs CREATE on
// the schema only. Running it again replaces the functions and keeps the
// entries.
//
// Errors: InvalidArgument for an empty or otherwise invalid schema name (a
// portable install also refuses ", $, ' and \ in it); ServerError when the
// extension's files are not installed on the server (SQLSTATE 0A000; the
// message says how to install them), when the schema does not exist (3F000)
// or the role lacks a privilege (42501); ConnectionError when the connection
// fails.
//
// Thread-safety: uses the connection, which must not be used by another thread
// at the same time, and must not have a transaction open.
#pragma once

#include <optional>
#include <string>

#include <pqxx/connection_base>

namespace psycache {

struct InitOptions {
  // The schema to create the extension in; it must exist already. Unset: the
  // first schema of the connection's search_path, normally "public".
  std::optional<std::string> schema{};

  // Install the portable SQL twin of the extension instead of the extension,
  // in schema (unset: "public"). Slower than the extension; see README.
  bool portable = false;
};

// The SQL init_db runs for options, ending with a semicolon.
// Throws InvalidArgument for an invalid schema name.
[[nodiscard]] std::string init_db_sql(const InitOptions& options = {});

// Creates the extension unless it exists (or the portable install, or a
// cache in options.schema); returns the schema of the cache.
std::string init_db(pqxx::connection_base& connection, const InitOptions& options = {});

}  // namespace psycache
