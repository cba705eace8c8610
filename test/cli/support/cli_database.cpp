#include "support/cli_database.hpp"

#include <cstdlib>
#include <libpq-fe.h>
#include <memory>
#include <stdexcept>

#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/result>

namespace psycache::cli_test {
namespace {

constexpr const char* kDatabase = "psycache_cli_test";

std::string quote_value(const std::string& value) {
  std::string quoted = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

}  // namespace

std::string server_dsn() {
  const char* dsn = std::getenv("PSYCACHE_TEST_DSN");  // NOLINT(concurrency-mt-unsafe)
  if (dsn == nullptr || *dsn == '\0') {
    throw std::runtime_error(
        "PSYCACHE_TEST_DSN is not set; it names a database on the test server. "
        "Start a cluster with `./run up` and eval the lines it prints.");
  }
  return dsn;
}

std::string with_settings(const std::string& dsn,
                          const std::vector<std::pair<std::string, std::string>>& settings) {
  char* error = nullptr;
  const std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options{
      PQconninfoParse(dsn.c_str(), &error), &PQconninfoFree};
  if (!options) {
    const std::string reason = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    throw std::runtime_error("cannot parse the DSN " + dsn + ": " + reason);
  }
  std::string result;
  const auto add = [&](const std::string& keyword, const std::string& value) {
    if (!result.empty()) result += ' ';
    result += keyword + "=" + quote_value(value);
  };
  for (const PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
    bool replaced = false;
    for (const auto& [keyword, value] : settings) replaced = replaced || keyword == option->keyword;
    if (!replaced && option->val != nullptr) add(option->keyword, option->val);
  }
  for (const auto& [keyword, value] : settings) add(keyword, value);
  return result;
}

std::map<std::string, std::optional<std::string>> libpq_environment(const std::string& dsn) {
  const std::map<std::string, std::string> variables{
      {"host", "PGHOST"},      {"hostaddr", "PGHOSTADDR"}, {"port", "PGPORT"},
      {"user", "PGUSER"},      {"password", "PGPASSWORD"}, {"dbname", "PGDATABASE"},
      {"sslmode", "PGSSLMODE"}};
  std::map<std::string, std::optional<std::string>> env{{"PGSERVICE", std::nullopt}};
  for (const auto& [keyword, variable] : variables) env[variable] = std::nullopt;
  char* error = nullptr;
  const std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options{
      PQconninfoParse(dsn.c_str(), &error), &PQconninfoFree};
  PQfreemem(error);
  if (!options) throw std::runtime_error("cannot parse the DSN " + dsn);
  for (const PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
    const auto variable = variables.find(option->keyword);
    if (variable != variables.end() && option->val != nullptr) env[variable->second] = option->val;
  }
  return env;
}

std::string cli_dsn() { return with_settings(server_dsn(), {{"dbname", kDatabase}}); }

void ensure_cache_database() {
  {
    pqxx::connection server{server_dsn()};
    pqxx::nontransaction transaction{server};
    const pqxx::result exists =
        transaction.exec(std::string{"SELECT 1 FROM pg_catalog.pg_database WHERE datname = "} +
                         transaction.quote(kDatabase));
    if (exists.empty()) transaction.exec(std::string{"CREATE DATABASE "} + kDatabase);
  }
  pqxx::connection connection{cli_dsn()};
  pqxx::nontransaction transaction{connection};
  transaction.exec(std::string{"CREATE SCHEMA IF NOT EXISTS "} + kSchema);
  transaction.exec(std::string{"CREATE EXTENSION IF NOT EXISTS psycache SCHEMA "} + kSchema);
}

void drop_extension() {
  pqxx::connection connection{cli_dsn()};
  pqxx::nontransaction transaction{connection};
  transaction.exec("DROP EXTENSION IF EXISTS psycache CASCADE");
}

std::optional<std::string> query_value(const std::string& sql) {
  pqxx::connection connection{cli_dsn()};
  pqxx::nontransaction transaction{connection};
  const pqxx::result result = transaction.exec(sql);
  if (result.empty() || result[0][0].is_null()) return std::nullopt;
  return result[0][0].as<std::string>();
}

ProcessResult run_psycache(const std::vector<std::string>& args, ProcessOptions options) {
  options.env.try_emplace("PSYCACHE_DSN", std::nullopt);
  std::vector<std::string> argv{PSYCACHE_CLI_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(PSYCACHE_CLI_PATH, argv, options);
}

ProcessResult run_on_cache(const std::string& command, std::vector<std::string> args,
                           ProcessOptions options) {
  args.insert(args.begin(), command);
  args.insert(args.end(), {"--dsn", cli_dsn(), "--schema", kSchema});
  return run_psycache(args, std::move(options));
}

}  // namespace psycache::cli_test
