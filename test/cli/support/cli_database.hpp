// The database the CLI tests use, and how they run the tool against it.
//
// The tests get their own database, psycache_cli_test, on the server that
// PSYCACHE_TEST_DSN names, with psycache installed in schema cli_cache: the
// database of PSYCACHE_TEST_DSN belongs to the library's suites, which drop
// and recreate the extension there.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace psycache::cli_test {

// The schema psycache lives in, in the CLI tests' database.
inline constexpr const char* kSchema = "cli_cache";

// PSYCACHE_TEST_DSN; throws (failing the test) when it is not set.
std::string server_dsn();

// The DSN of the CLI tests' database (server_dsn() with another dbname).
std::string cli_dsn();

// dsn as key=value pairs, with the values of the given keywords replaced.
std::string with_settings(const std::string& dsn,
                          const std::vector<std::pair<std::string, std::string>>& settings);

// The PG* environment variables that make libpq connect as dsn does (for
// host, hostaddr, port, user, password, dbname, sslmode), and the removal of
// the others, as a ProcessOptions::env.
std::map<std::string, std::optional<std::string>> libpq_environment(const std::string& dsn);

// Creates the database and schema if needed and installs psycache in
// kSchema if it is not installed. Safe to call in every test.
void ensure_cache_database();

// Drops psycache from the CLI tests' database (deleting the cache).
void drop_extension();

// Runs sql in the CLI tests' database; returns the first column of the
// first row as text, or nullopt for NULL or no rows.
std::optional<std::string> query_value(const std::string& sql);

// Runs the psycache tool with args. PSYCACHE_DSN is removed from its
// environment unless options.env sets it.
ProcessResult run_psycache(const std::vector<std::string>& args, ProcessOptions options = {});

// Runs `psycache <command> args... --dsn <cli_dsn()> --schema cli_cache`.
ProcessResult run_on_cache(const std::string& command, std::vector<std::string> args = {},
                           ProcessOptions options = {});

}  // namespace psycache::cli_test
