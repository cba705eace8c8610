#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cxxabi.h>
#include <span>
#include <string>
#include <vector>

#include <psycache/cache.hpp>

#include "cache_1_1.hpp"
#include "cache_common.hpp"
#include "error_translation.hpp"
#include "json_reader.hpp"
#include "operation_watchdog.hpp"
#include "result_fields.hpp"
#include "spans.hpp"
#include "statement_run.hpp"
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
  const Statements11& statements_1_1() const noexcept { return statements_1_1_; }

  // Runs statement with args on a leased connection (statement_run.hpp) and returns its one
  // row.
  template <class... Args>
  PgResult exec(const Statement& statement, const Args&... args) const {
    const std::array<const char*, sizeof...(Args)> params{args.c_str()...};
    return run_checked(statement, params, false);
  }

  // Runs statement with params on a leased connection; returns its one row, or every row when
  // many_rows.
  PgResult exec_params(const Statement& statement, const std::vector<std::string>& params,
                       bool many_rows) const {
    std::vector<const char*> pointers;
    pointers.reserve(params.size());
    for (const std::string& param : params) pointers.push_back(param.c_str());
    return run_checked(statement, pointers, many_rows);
  }

  // Runs statement, which deletes entries, under a span from start; returns
  // how many it deleted, also told to the spans with record.
  std::int64_t delete_entries(const Statement& statement, std::string_view operation,
                              std::unique_ptr<CacheSpan> (CacheInstrumentation::*start)(),
                              void (CacheSpan::*record)(std::int64_t)) const {
    Spans spans{options_.instrumentations, [&](CacheInstrumentation& i) { return (i.*start)(); }};
    try {
      const std::int64_t deleted = int_field(exec(statement).get(), 0);
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
  PgResult run_checked(const Statement& statement, std::span<const char* const> params,
                       bool many_rows) const {
    PgResult result = run_statement(*pool_, statement, params, watchdog_.get());
    checked_rows(result.get(), many_rows);
    return result;
  }

  std::unique_ptr<PoolHandle> pool_;
  CacheOptions options_;
  // Enforces options_.operation_timeout; null when there is none.
  std::unique_ptr<OperationWatchdog> watchdog_;
  Statement get_, put_, remove_, cleanup_, flush_, stats_;
  Statements11 statements_1_1_;
};

PgResult run(const CacheCore& core, const Statement& statement,
             const std::vector<std::string>& params, bool many_rows) {
  return core.exec_params(statement, params, many_rows);
}

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
    const detail::PgResult result = core.exec(core.get(), std::string{key});
    const PGresult* row = result.get();
    if (detail::is_null_field(row, 0)) {
      spans.record([](CacheSpan& span) { span.record_cache_miss(); });
      return std::nullopt;
    }
    std::optional<nlohmann::json> json;
    try {
      json.emplace(detail::read_json(detail::text_field(row, 0)));
    } catch (const nlohmann::json::exception& e) {
      // Valid JSON that nlohmann_json cannot hold, e.g. a number past the
      // range of double that another client stored.
      throw ConversionError("the value stored under key " + detail::quote_for_message(key) +
                            " cannot be read into nlohmann::json: " + detail::shorten(e.what()));
    }
    const auto size = static_cast<std::size_t>(detail::int_field(row, 1));
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
    const std::string text = detail::value_text(key, value, core.options().max_value_bytes);
    const auto size = static_cast<std::size_t>(detail::int_field(
        core.exec(core.put(), std::string{key}, text, ttl.to_interval()).get(), 0));
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
    const bool removed = detail::bool_field(core.exec(core.remove(), std::string{key}).get(), 0);
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
    const detail::PgResult result = core.exec(core.stats());
    const PGresult* row = result.get();
    return CacheStats{.entries = detail::int_field(row, 0),
                      .expired_entries = detail::int_field(row, 1),
                      .total_bytes = detail::int_field(row, 2)};
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
