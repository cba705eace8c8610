#include "commands.hpp"

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <istream>
#include <iterator>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include <psycache/cache.hpp>
#include <psycache/connection_pool.hpp>
#include <psycache/init_db.hpp>

#include "failure_message.hpp"
#include "ttl_argument.hpp"

namespace psycache::cli {
namespace {

// One command is one operation: a single connection is all it needs.
PoolOptions cli_pool_options() { return PoolOptions{.max_size = 1}; }

// --schema's value, which must not be empty, or fallback when not given.
std::optional<std::string> schema_option(const CommandLine& line,
                                         std::optional<std::string> fallback) {
  const std::string* schema = line.value("schema");
  if (schema == nullptr) return fallback;
  if (schema->empty()) throw UsageError("option '--schema' needs a schema name, not ''");
  return *schema;
}

// --dsn, else PSYCACHE_DSN, else "" (libpq's defaults: PGHOST, PGPORT...).
std::string cache_dsn(const CommandLine& line) {
  if (const std::string* dsn = line.value("dsn")) return *dsn;
  const char* env = std::getenv("PSYCACHE_DSN");  // NOLINT(concurrency-mt-unsafe): one thread
  return env != nullptr ? env : "";
}

// A cache for the command's --dsn and --schema. Opens no connection yet.
PostgresCache open_cache(const CommandLine& line) {
  CacheOptions options{.schema = *schema_option(line, "public")};
  auto pool = std::make_shared<ConnectionPool>(cache_dsn(line), cli_pool_options());
  return PostgresCache{std::move(pool), std::move(options)};
}

std::string quoted(const std::string& text) { return "'" + text + "'"; }

// The JSON document of `put`: the argument, or stdin when it is absent or "-".
nlohmann::json read_document(const CommandLine& line, std::istream& in) {
  const bool from_stdin = line.arguments.size() < 2 || line.arguments[1] == "-";
  std::string text;
  if (from_stdin) {
    text.assign(std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{});
    if (in.bad()) throw CommandFailed("cannot read the JSON document from stdin");
  } else {
    text = line.arguments[1];
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw CommandFailed(std::string{"invalid JSON"} + (from_stdin ? " on stdin" : "") + ": " +
                        without_json_exception_id(e.what()));
  }
}

}  // namespace

void run_init_db(const CommandLine& line, Streams streams) {
  InitOptions options{.schema = schema_option(line, std::nullopt),
                      .portable = line.has("portable")};
  const std::string* dsn = line.value("dsn");
  if (!line.arguments.empty()) {
    if (dsn != nullptr) throw UsageError("give the DSN either as an argument or with --dsn");
    dsn = &line.arguments.front();
  }
  if (dsn == nullptr) {
    streams.out << init_db_sql(options) << '\n';
    return;
  }
  ConnectionPool pool{*dsn, cli_pool_options()};
  const ConnectionPool::Lease lease = pool.connect();
  const std::string schema = init_db(lease.connection(), options);
  streams.out << "psycache " << (options.portable ? "(portable) " : "") << "is installed in schema "
              << quoted(schema) << '\n';
}

void run_get(const CommandLine& line, Streams streams) {
  const std::string& key = line.arguments.at(0);
  const int indent = line.has("pretty") ? 2 : -1;
  PostgresCache cache = open_cache(line);
  const std::optional<nlohmann::json> value = cache.get_raw(key);
  if (!value) throw CommandFailed("no entry for key " + quoted(key) + " (missing or expired)");
  // jsonb only holds valid UTF-8; replacing bad bytes just keeps dump() total.
  streams.out << value->dump(indent, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

void run_put(const CommandLine& line, Streams streams) {
  const std::string& key = line.arguments.at(0);
  const std::string* ttl_text = line.value("ttl");
  if (ttl_text == nullptr) throw UsageError("missing option '--ttl' (e.g. --ttl 5m)");
  const Ttl ttl = parse_ttl(*ttl_text);
  PostgresCache cache = open_cache(line);  // checks --schema before stdin is read
  const nlohmann::json document = read_document(line, streams.in);
  cache.put_raw(key, document, ttl);
}

void run_remove(const CommandLine& line, Streams streams) {
  PostgresCache cache = open_cache(line);
  streams.out << (cache.remove(line.arguments.at(0)) ? 1 : 0) << '\n';
}

void run_cleanup(const CommandLine& line, Streams streams) {
  PostgresCache cache = open_cache(line);
  streams.out << cache.cleanup_expired() << '\n';
}

void run_flush(const CommandLine& line, Streams streams) {
  PostgresCache cache = open_cache(line);
  streams.out << cache.flush() << '\n';
}

void run_stats(const CommandLine& line, Streams streams) {
  PostgresCache cache = open_cache(line);
  const CacheStats stats = cache.stats();
  streams.out << "entries: " << stats.entries << '\n'
              << "expired_entries: " << stats.expired_entries << '\n'
              << "total_bytes: " << stats.total_bytes << '\n';
}

// --ttl's value, which these commands require.
Ttl required_ttl(const CommandLine& line) {
  const std::string* ttl_text = line.value("ttl");
  if (ttl_text == nullptr) throw UsageError("missing option '--ttl' (e.g. --ttl 5m)");
  return parse_ttl(*ttl_text);
}

void run_add(const CommandLine& line, Streams streams) {
  const Ttl ttl = required_ttl(line);
  PostgresCache cache = open_cache(line);  // checks --schema before stdin is read
  const nlohmann::json document = read_document(line, streams.in);
  streams.out << (cache.add_raw(line.arguments.at(0), document, ttl) ? 1 : 0) << '\n';
}

void run_touch(const CommandLine& line, Streams streams) {
  const Ttl ttl = required_ttl(line);
  PostgresCache cache = open_cache(line);
  streams.out << (cache.touch(line.arguments.at(0), ttl) ? 1 : 0) << '\n';
}

void run_ttl(const CommandLine& line, Streams streams) {
  const std::string& key = line.arguments.at(0);
  PostgresCache cache = open_cache(line);
  const std::optional<std::chrono::microseconds> left = cache.ttl(key);
  if (!left) throw CommandFailed("no entry for key " + quoted(key) + " (missing or expired)");
  const std::int64_t us = left->count();
  char text[32];
  (void)std::snprintf(text, sizeof text, "%lld.%06lld", static_cast<long long>(us / 1'000'000),
                      static_cast<long long>(us % 1'000'000));
  streams.out << text << '\n';
}

void run_incr(const CommandLine& line, Streams streams) {
  std::int64_t delta = 1;
  if (line.arguments.size() > 1) {
    const std::string& text = line.arguments[1];
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), delta);
    if (error != std::errc{} || end != text.data() + text.size()) {
      throw UsageError("DELTA must be an integer (e.g. 1 or -5), not '" + text + "'");
    }
  }
  const Ttl ttl = required_ttl(line);
  PostgresCache cache = open_cache(line);
  streams.out << cache.incr(line.arguments.at(0), delta, ttl) << '\n';
}

}  // namespace psycache::cli
