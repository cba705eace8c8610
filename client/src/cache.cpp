#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cxxabi.h>
#include <tuple>

#include <pqxx/nontransaction>
#include <pqxx/result>

#include <psycache/cache.hpp>

#include "cache_1_1.hpp"
#include "cache_common.hpp"
#include "error_translation.hpp"
#include "json_reader.hpp"
#include "operation_watchdog.hpp"
#include "spans.hpp"
#include "validation.hpp"

namespace psycache {
namespace detail {
namespace {

std::string demangle(const std::type_info& type) {
  int status = 0;
  const std::unique_ptr<char, decltype(&std::free)> name{
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), &std::free};
  return status == 0 && name ? std::string{name.get()} : std::string{type.name()};
}

}  // namespace

// What every copy of a PostgresCache shares.
class CacheCore {
 public:
  CacheCore(std::unique_ptr<PoolHandle> pool, CacheOptions options)
      : pool_(std::move(pool)), options_(std::move(options)) {
    validate_schema(options_.schema);
    for (const auto& instrumentation : options_.instrumentations) {
      if (!instrumentation) {
        throw InvalidArgument("invalid cache options: an instrumentation is null");
      }
    }
    if (options_.operation_timeout.count() < 0) {
      throw InvalidArgument("invalid cache options: operation_timeout must not be negative");
    }
    if (options_.operation_timeout.count() > 0) {
      watchdog_ = std::make_unique<OperationWatchdog>(options_.operation_timeout);
    }
    auto statements = make_cache_statements(options_.schema);
    get_ = std::move(statements.get);
    put_ = std::move(statements.put);
    remove_ = std::move(statements.remove);
    cleanup_ = std::move(statements.cleanup);
    flush_ = std::move(statements.flush);
    stats_ = std::move(statements.stats);
    statements_1_1_ = Statements11::for_schema(quote_identifier(options_.schema));
  }

  const CacheOptions& options() const noexcept { return options_; }
  const Statement& get() const noexcept { return get_; }
  const Statement& put() const noexcept { return put_; }
  const Statement& remove() const noexcept { return remove_; }
  const Statement& cleanup() const noexcept { return cleanup_; }
  const Statement& flush() const noexcept { return flush_; }
  const Statement& stats() const noexcept { return stats_; }
  // For the operations of version 1.1 (see cache_1_1.hpp).
  PoolHandle& pool() const noexcept { return *pool_; }
  const Statements11& statements_1_1() const noexcept { return statements_1_1_; }

  // Runs statement with args on a leased connection: one round trip (two the
  // first time a connection sees the statement: PREPARE, then EXECUTE).
  template <class... Args>
  pqxx::row exec(const Statement& statement, Args&&... args) const {
    struct Call {
      const Statement& statement;
      std::tuple<Args&&...> args;
      OperationWatchdog* watchdog = nullptr;
      pqxx::result result;
    };
    Call call{statement, std::forward_as_tuple(std::forward<Args>(args)...), watchdog_.get(), {}};
    pool_->with_connection(
        [](pqxx::connection_base& connection, void* context) {
          Call& pending = *static_cast<Call*>(context);
          connection.prepare(pending.statement.name, pending.statement.sql);
          pqxx::nontransaction transaction{connection};
          const auto run = [&] {
            pending.result = std::apply(
                [&](auto&&... params) {
                  return transaction.exec_prepared(pending.statement.name,
                                                   std::forward<decltype(params)>(params)...);
                },
                std::move(pending.args));
          };
          // A connection libpqxx closed after a failure (sock() < 0) is reopened inside run(),
          // bounded by the DSN's connect_timeout, not by the watchdog.
          if (pending.watchdog == nullptr || connection.sock() < 0) return run();
          auto watch = pending.watchdog->watch(connection.sock());
          try {
            run();
          } catch (...) {
            if (watch.disarm()) throw OperationTimedOut{pending.watchdog->timeout()};
            throw;
          }
        },
        &call);
    return call.result.at(0);
  }

  // Runs statement, which deletes entries, under a span from start; returns
  // how many it deleted, also told to the spans with record.
  std::int64_t delete_entries(const Statement& statement, std::string_view operation,
                              std::unique_ptr<CacheSpan> (CacheInstrumentation::*start)(),
                              void (CacheSpan::*record)(std::int64_t)) const {
    Spans spans{options_.instrumentations, [&](CacheInstrumentation& i) { return (i.*start)(); }};
    try {
      const auto deleted = exec(statement)[0].as<std::int64_t>();
      spans.record([&](CacheSpan& span) { (span.*record)(deleted); });
      return deleted;
    } catch (...) {
      fail(&spans, operation);
    }
  }

  // Rethrows the exception being handled as a psycache error, after telling
  // the spans.
  [[noreturn]] void fail(Spans* spans, std::string_view operation,
                         const std::string_view* key = nullptr) const {
    try {
      rethrow_translated(Operation{.name = operation, .key = key, .schema = options_.schema});
    } catch (const Error& error) {
      if (spans != nullptr) spans->record([&](CacheSpan& span) { span.record_error(error); });
      throw;
    }
  }

  // fail(), except that in fail-open mode a ConnectionError is only told to
  // the spans, and this returns.
  void fail_unless_open(Spans& spans, std::string_view operation,
                        const std::string_view* key) const {
    if (!options_.fail_open) fail(&spans, operation, key);
    try {
      rethrow_translated(Operation{.name = operation, .key = key, .schema = options_.schema});
    } catch (const ConnectionError& error) {
      spans.record([&](CacheSpan& span) { span.record_error(error); });
    } catch (const Error& error) {
      spans.record([&](CacheSpan& span) { span.record_error(error); });
      throw;
    }
  }

 private:
  std::unique_ptr<PoolHandle> pool_;
  CacheOptions options_;
  // Enforces options_.operation_timeout; null when there is none.
  std::unique_ptr<OperationWatchdog> watchdog_;
  Statement get_, put_, remove_, cleanup_, flush_, stats_;
  Statements11 statements_1_1_;
};

PoolHandle& pool_of(const CacheCore& core) { return core.pool(); }

const Statements11& statements_1_1_of(const CacheCore& core) { return core.statements_1_1(); }

void fail_of(const CacheCore& core, Spans* spans, std::string_view operation,
             const std::string_view* key) {
  core.fail(spans, operation, key);
}

void throw_conversion_error(std::string_view key, const std::type_info& type, bool from_json,
                            const char* reason) {
  if (from_json) {
    throw ConversionError("the value stored under key " + quote_for_message(key) +
                          " does not convert to " + demangle(type) + ": " + reason);
  }
  throw ConversionError("the value of type " + demangle(type) + " for key " +
                        quote_for_message(key) + " does not convert to JSON: " + reason);
}

void throw_bad_interval(const char* problem) {
  throw InvalidArgument(std::string{"invalid cleanup interval: it "} + problem);
}

}  // namespace detail

using detail::CacheCore;
using detail::Spans;

PostgresCache::PostgresCache(std::unique_ptr<detail::PoolHandle> pool, CacheOptions options)
    : core_(std::make_shared<const CacheCore>(std::move(pool), std::move(options))) {}

void PostgresCache::throw_null_pool() {
  throw InvalidArgument("invalid pool: the shared_ptr is null");
}

const CacheOptions& PostgresCache::options() const noexcept { return core_->options(); }

std::optional<nlohmann::json> PostgresCache::get_raw(std::string_view key,
                                                     std::string_view span_name) {
  const CacheCore& core = *core_;
  Spans spans{core.options().instrumentations,
              [&](CacheInstrumentation& i) { return i.start_cache_get_span(key, span_name); }};
  try {
    detail::validate_key(key);
    const pqxx::row row = core.exec(core.get(), std::string{key});
    const pqxx::field value = row[0];
    if (value.is_null()) {
      spans.record([](CacheSpan& span) { span.record_cache_miss(); });
      return std::nullopt;
    }
    std::optional<nlohmann::json> json;
    try {
      json.emplace(detail::read_json({value.c_str(), value.size()}));
    } catch (const nlohmann::json::exception& e) {
      // Valid JSON that nlohmann_json cannot hold, e.g. a number past the
      // range of double that another client stored.
      throw ConversionError("the value stored under key " + detail::quote_for_message(key) +
                            " cannot be read into nlohmann::json: " + detail::shorten(e.what()));
    }
    const auto size = row[1].as<std::size_t>();
    spans.record([&](CacheSpan& span) { span.record_cache_hit(size); });
    return json;
  } catch (...) {
    core.fail_unless_open(spans, "get", &key);
    return std::nullopt;
  }
}

void PostgresCache::put_raw(std::string_view key, const nlohmann::json& value, Ttl ttl,
                            std::string_view span_name) {
  const CacheCore& core = *core_;
  Spans spans{core.options().instrumentations,
              [&](CacheInstrumentation& i) { return i.start_cache_put_span(key, span_name); }};
  try {
    detail::validate_key(key);
    std::string text = detail::value_text(key, value, core.options().max_value_bytes);
    const pqxx::row row =
        core.exec(core.put(), std::string{key}, std::move(text), ttl.to_interval());
    const auto size = row[0].as<std::size_t>();
    spans.record([&](CacheSpan& span) { span.record_put(size); });
  } catch (...) {
    core.fail_unless_open(spans, "put", &key);
  }
}

bool PostgresCache::remove(std::string_view key) {
  const CacheCore& core = *core_;
  Spans spans{core.options().instrumentations,
              [&](CacheInstrumentation& i) { return i.start_cache_remove_span(key); }};
  try {
    detail::validate_key(key);
    const bool removed = core.exec(core.remove(), std::string{key})[0].as<bool>();
    spans.record([](CacheSpan& span) { span.record_removed(); });
    return removed;
  } catch (...) {
    core.fail(&spans, "remove", &key);
  }
}

std::int64_t PostgresCache::cleanup_expired() {
  return core_->delete_entries(core_->cleanup(), "cleanup_expired",
                               &CacheInstrumentation::start_cache_cleanup_span,
                               &CacheSpan::record_cleanup);
}

std::int64_t PostgresCache::flush() {
  return core_->delete_entries(core_->flush(), "flush",
                               &CacheInstrumentation::start_cache_flush_span,
                               &CacheSpan::record_flush);
}

CacheStats PostgresCache::stats() {
  const CacheCore& core = *core_;
  try {
    const pqxx::row row = core.exec(core.stats());
    return CacheStats{.entries = row[0].as<std::int64_t>(),
                      .expired_entries = row[1].as<std::int64_t>(),
                      .total_bytes = row[2].as<std::int64_t>()};
  } catch (...) {
    core.fail(nullptr, "stats");
  }
}

CleanupService PostgresCache::start_cleanup(std::chrono::nanoseconds interval,
                                            CleanupErrorHandler on_error) {
  return CleanupService{[cache = *this]() mutable { cache.cleanup_expired(); }, interval,
                        std::move(on_error)};
}

}  // namespace psycache
