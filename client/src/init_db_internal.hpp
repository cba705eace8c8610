// init_db for any extension name, so that tests can ask for one that is not
// installed.
#pragma once

#include <string>
#include <string_view>

#include <psycache/init_db.hpp>

namespace psycache::detail {

std::string create_extension_sql(std::string_view extension, const InitOptions& options);

std::string create_extension(pqxx::connection_base& connection, std::string_view extension,
                             const InitOptions& options);

// The portable install script (client/sql/portable.sql) for options.schema ("public" when unset).
std::string portable_sql(const InitOptions& options);

// Runs portable_sql(options) in one transaction; returns the schema.
std::string install_portable(pqxx::connection_base& connection, const InitOptions& options);

}  // namespace psycache::detail
