#include "support/test_db.hpp"

#include <chrono>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <thread>

#include <pqxx/nontransaction>
#include <pqxx/result>

#include <psycache/init_db.hpp>

namespace psycache::test {
namespace {

std::string required_env(const char* name, const char* purpose) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read once
  if (value == nullptr || *value == '\0') {
    throw std::runtime_error(std::string{name} + " is not set; it names " + purpose +
                             ". Start a cluster with `./run up` and eval the lines it prints.");
  }
  return value;
}

// What a portable install puts in public.
constexpr const char* kDropPortable =
    "DROP TABLE IF EXISTS public.psycache;"
    "DROP FUNCTION IF EXISTS public.psycache_get(text), public.psycache_put(text, jsonb, "
    "interval), public.psycache_remove(text), public.psycache_cleanup(integer), "
    "public.psycache_flush(), public.psycache_stats(), public.psycache_get_many(text[]), "
    "public.psycache_put_many(text[], jsonb[], interval), public.psycache_remove_many(text[]), "
    "public.psycache_add(text, jsonb, interval), public.psycache_touch(text, interval), "
    "public.psycache_ttl(text), public.psycache_incr(text, bigint, interval), "
    "public.psycache_caches(), public.psycache_create_cache(name, regrole), "
    "public.psycache_drop_cache(name), public.psycache_cleanup_all(integer);";

}  // namespace

std::string dsn() {
  return required_env("PSYCACHE_TEST_DSN",
                      "the database the client tests use (libpq connection string)");
}

std::unique_ptr<pqxx::connection> connect() { return std::make_unique<pqxx::connection>(dsn()); }

bool portable() {
  const char* install = std::getenv("PSYCACHE_TEST_INSTALL");  // NOLINT(concurrency-mt-unsafe)
  return install != nullptr && std::string_view{install} == "portable";
}

void remove_portable_install() {
  const auto connection = connect();
  pqxx::nontransaction transaction{*connection};
  // Only when public holds the portable install, not the extension.
  const pqxx::result portable_there = transaction.exec(
      "SELECT FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang "
      "WHERE p.oid = pg_catalog.to_regprocedure('public.psycache_get(text)') "
      "AND l.lanname = 'plpgsql'");
  if (!portable_there.empty()) transaction.exec(kDropPortable);
}

void reset_extension(const std::string& schema) {
  const auto connection = connect();
  {
    pqxx::nontransaction transaction{*connection};
    transaction.exec(
        "DROP EXTENSION IF EXISTS psycache CASCADE;"
        "DROP SCHEMA IF EXISTS cache_a CASCADE;"
        "DROP SCHEMA IF EXISTS cache_b CASCADE;"
        "DROP SCHEMA IF EXISTS \"Cache Mixed\" CASCADE;");
    transaction.exec(kDropPortable);
    if (schema != "public") {
      transaction.exec("CREATE SCHEMA " + transaction.quote_name(schema));
    }
    if (!portable()) {
      transaction.exec("CREATE EXTENSION psycache SCHEMA " + transaction.quote_name(schema));
    }
  }
  if (portable()) (void)init_db(*connection, {.schema = schema, .portable = true});
}

std::optional<std::string> query_value(const std::string& sql) {
  const auto connection = connect();
  pqxx::nontransaction transaction{*connection};
  const pqxx::result result = transaction.exec(sql);
  if (result.empty() || result[0][0].is_null()) return std::nullopt;
  return result[0][0].as<std::string>();
}

std::string counting_dsn() { return dsn() + " options='-c track_functions=all'"; }

long long function_calls(const std::string& function, long long at_least) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{15};
  long long calls = 0;
  do {
    calls = std::stoll(
        *query_value("SELECT coalesce(sum(calls), 0) FROM pg_catalog.pg_stat_user_functions "
                     "WHERE schemaname = 'public' AND funcname = '" +
                     function + "'"));
    if (calls >= at_least) break;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  } while (std::chrono::steady_clock::now() < deadline);
  return calls;
}

std::string unique_key(std::string_view prefix) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return std::string{prefix} + ":" + std::to_string(random());
}

void pg_ctl(const std::string& action) {
  const std::string command =
      required_env("PSYCACHE_TEST_PG_CTL", "a pg_ctl command line for the test cluster") + " " +
      action + " >/dev/null";
  // The test's own cluster, with a command line from the test's environment.
  if (std::system(command.c_str()) != 0) {  // NOLINT(cert-env33-c,concurrency-mt-unsafe)
    throw std::runtime_error("pg_ctl failed: " + command);
  }
}

void restart_server() { pg_ctl("restart -m fast -w"); }

LockedEntry::LockedEntry()
    : connection_(connect()), session_(std::make_unique<pqxx::nontransaction>(*connection_)) {
  session_->exec("SELECT public.psycache_put('locked', '1', '1 minute')");
  session_->exec("BEGIN");
  session_->exec("SELECT 1 FROM public.psycache WHERE key = 'locked' FOR UPDATE");
}

void LockedEntry::release() { session_->exec("ROLLBACK"); }

}  // namespace psycache::test
