// init_db: installs the psycache extension in a database.
//
//   pqxx::connection conn{dsn};
//   psycache::init_db(conn);                             // schema: the default
//   psycache::init_db(conn, {.schema = "cache"});        // an existing schema
//
// Runs `CREATE EXTENSION IF NOT EXISTS psycache [SCHEMA "s"]`, which creates
// the cache table, its index and the functions every client calls. Running it
// again is harmless. A database holds at most one psycache: if it is already
// installed in another schema than the one asked for, init_db says so.
// The role needs the CREATE privilege on the database (psycache is a trusted
// extension) and on the schema.
//
// Errors: InvalidArgument for an empty or otherwise invalid schema name and
// for psycache already living in another schema; ServerError when the
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
};

// The SQL statement init_db runs for options, ending with a semicolon.
// Throws InvalidArgument for an invalid schema name.
[[nodiscard]] std::string init_db_sql(const InitOptions& options = {});

// Creates the extension unless it exists; returns the schema it lives in.
std::string init_db(pqxx::connection_base& connection, const InitOptions& options = {});

}  // namespace psycache
