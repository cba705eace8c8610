#include <libpq-fe.h>

#include <asio/dispatch.hpp>
#include <pqxx/except>

#include <psycache/async_cache.hpp>

#include "async_get_batch.hpp"
#include "async_put_batch.hpp"
#include "cache_1_1.hpp"
#include "cache_common.hpp"
#include "error_translation.hpp"
#include "json_reader.hpp"
#include "result_fields.hpp"
#include "spans.hpp"
#include "validation.hpp"

namespace psycache {
namespace detail {

// What every copy of an AsyncPostgresCache shares.
class AsyncCacheCore {
 public:
  AsyncCacheCore(std::unique_ptr<AsyncPoolHandle> pool, CacheOptions options)
      : pool_(std::move(pool)),
        executor_(pool_->get_executor()),
        options_(std::move(options)),
        get_batcher_(get_many_),
        put_batcher_(put_many_) {
    validate_schema(options_.schema);
    for (const auto& instrumentation : options_.instrumentations) {
      if (!instrumentation) {
        throw InvalidArgument("invalid cache options: an instrumentation is null");
      }
    }
    auto statements = make_cache_statements(options_.schema);
    const auto convert = [](Statement& statement) {
      return AsyncStatement{std::move(statement.name), std::move(statement.sql)};
    };
    get_ = convert(statements.get);
    put_ = convert(statements.put);
    remove_ = convert(statements.remove);
    cleanup_ = convert(statements.cleanup);
    flush_ = convert(statements.flush);
    stats_ = convert(statements.stats);
    auto statements_1_1 = Statements11::for_schema(quote_identifier(options_.schema));
    get_many_ = convert(statements_1_1.get_many);
    put_many_ = convert(statements_1_1.put_many);
    remove_many_ = convert(statements_1_1.remove_many);
    add_ = convert(statements_1_1.add);
    touch_ = convert(statements_1_1.touch);
    ttl_ = convert(statements_1_1.ttl);
    incr_ = convert(statements_1_1.incr);
  }

  const CacheOptions& options() const noexcept { return options_; }
  const asio::any_io_executor& executor() const noexcept { return executor_; }
  const AsyncStatement& get() const noexcept { return get_; }
  const AsyncStatement& put() const noexcept { return put_; }
  const AsyncStatement& remove() const noexcept { return remove_; }
  const AsyncStatement& cleanup() const noexcept { return cleanup_; }
  const AsyncStatement& flush() const noexcept { return flush_; }
  const AsyncStatement& stats() const noexcept { return stats_; }
  // Extension 1.1.
  const AsyncStatement& get_many() const noexcept { return get_many_; }
  const AsyncStatement& put_many() const noexcept { return put_many_; }
  const AsyncStatement& remove_many() const noexcept { return remove_many_; }
  const AsyncStatement& add() const noexcept { return add_; }
  const AsyncStatement& touch() const noexcept { return touch_; }
  const AsyncStatement& ttl() const noexcept { return ttl_; }
  const AsyncStatement& incr() const noexcept { return incr_; }
  // Sends gets queued together as one psycache_get_many call.
  const GetBatcher& get_batcher() const noexcept { return get_batcher_; }
  // Sends puts queued together as one psycache_put_many call.
  const PutBatcher& put_batcher() const noexcept { return put_batcher_; }

  // Whether a statement only reads, so the pool may send it under a sync shared with other
  // read-only queries (AsyncQuery::read_only), or writes and gets a sync of its own.
  enum class Access { kWrites, kReadsOnly };

  // Hands query to the pool on the pool's executor, to run statement with params[0..param_count),
  // and wires the caller's cancellation slot to the pool's cancel.
  void submit(const std::shared_ptr<const AsyncCacheCore>& self,
              const std::shared_ptr<AsyncQuery>& query, asio::cancellation_slot slot,
              const AsyncStatement* statement, std::size_t param_count, Access access) const {
    query->statement = statement;
    query->param_count = param_count;
    query->read_only = access == Access::kReadsOnly;
    if (slot.is_connected()) {
      slot.emplace<Canceller>(Canceller{self, query});
    }
    asio::dispatch(executor_, [self, query] { self->pool_->submit(query); });
  }

 private:
  // Emitted from any thread: ends the query on the pool's executor. Posted,
  // not dispatched: completing clears the slot, which destroys this handler,
  // so that must not happen inside the call.
  struct Canceller {
    std::shared_ptr<const AsyncCacheCore> core;
    std::weak_ptr<AsyncQuery> query;
    void operator()(asio::cancellation_type /*type*/) const {
      asio::post(core->executor_, [core = core, query = query] {
        if (auto pending = query.lock()) {
          core->pool_->cancel(
              pending, std::make_exception_ptr(OperationCancelled("the operation was cancelled")));
        }
      });
    }
  };

  std::unique_ptr<AsyncPoolHandle> pool_;
  asio::any_io_executor executor_;
  CacheOptions options_;
  AsyncStatement get_, put_, remove_, cleanup_, flush_, stats_;
  AsyncStatement get_many_, put_many_, remove_many_, add_, touch_, ttl_, incr_;
  GetBatcher get_batcher_;
  PutBatcher put_batcher_;
};

namespace {

// The one row a cache statement returns (any number of rows when many_rows),
// or the error it stands for (result_fields.hpp); failure, the pool's, first.
const PGresult* checked(const PgResult& result, const std::exception_ptr& failure,
                        bool many_rows = false) {
  if (failure) std::rethrow_exception(failure);
  return checked_rows(result.get(), many_rows);
}

// Rethrows the exception being handled as the psycache error the caller
// gets: errors of the pool get the operation's name in front.
[[noreturn]] void rethrow_for(const Operation& operation) {
  const auto prefixed = [&](const Error& e) {
    return describe(operation) + " failed: " + e.what();
  };
  try {
    rethrow_translated(operation);
  } catch (const InvalidArgument&) {
    throw;
  } catch (const ConversionError&) {
    throw;
  } catch (const ServerError&) {
    throw;
  } catch (const TimeoutError& e) {
    throw TimeoutError(prefixed(e), e.sqlstate());
  } catch (const ConnectionError& e) {
    if (e.sqlstate().empty() &&
        std::string_view{e.what()}.substr(0, describe(operation).size()) != describe(operation)) {
      throw ConnectionError(prefixed(e));
    }
    throw;
  } catch (const OperationCancelled& e) {
    throw OperationCancelled(prefixed(e));
  }
}

// One operation of the cache: its spans, the caller's handler, and how the
// row becomes a result.
template <class... Results>
class CacheQuery : public AsyncQuery {
 public:
  using Completion = std::unique_ptr<AsyncCompletion<Results...>>;

  // key is the first parameter when has_key.
  CacheQuery(std::shared_ptr<const AsyncCacheCore> core, std::string_view operation,
             std::string&& key, bool has_key, Completion completion)
      : core_(std::move(core)),
        operation_(operation),
        has_key_(has_key),
        completion_(std::move(completion)) {
    params[0] = std::move(key);
  }

  template <class Start>
  void start_spans(const CacheOptions& options, Start start) {
    spans_.emplace(options.instrumentations, start);
  }

  // Fails the operation before anything is sent; called in a catch block.
  void fail_now() { fail(); }

  asio::cancellation_slot cancellation_slot() const noexcept {
    return completion_->cancellation_slot();
  }

 protected:
  // The row as the caller's results, after telling the spans.
  virtual std::tuple<Results...> convert(const PGresult* row) = 0;
  // Whether the statement returns any number of rows (else exactly one).
  virtual bool many_rows() const noexcept { return false; }
  // Whether CacheOptions::fail_open applies: get and put, as in PostgresCache.
  virtual bool fails_open() const noexcept { return false; }

  const std::string& key() const noexcept { return params[0]; }
  template <class Record>
  void record(Record record) {
    if (spans_) spans_->record(record);
  }

 private:
  void complete(PgResult result, std::exception_ptr failure) final {
    try {
      std::tuple<Results...> results = convert(checked(result, failure, many_rows()));
      spans_.reset();
      std::apply(
          [&](auto&&... values) {
            completion_->complete(nullptr, std::forward<decltype(values)>(values)...);
          },
          std::move(results));
    } catch (...) {
      fail();
    }
  }

  void fail() noexcept {
    std::exception_ptr error;
    try {
      const std::string_view key{params[0]};
      rethrow_for(Operation{
          .name = operation_, .key = has_key_ ? &key : nullptr, .schema = core_->options().schema});
    } catch (const Error& e) {
      error = std::current_exception();
      try {
        record([&](CacheSpan& span) { span.record_error(e); });
      } catch (...) {
        // An instrumentation threw while told of an error: the caller still
        // gets the operation's error.
      }
      // Fail-open: an outage (TimeoutError included) is a miss, or a put as if stored.
      if (fails_open() && core_->options().fail_open &&
          dynamic_cast<const ConnectionError*>(&e) != nullptr) {
        error = nullptr;
      }
    } catch (...) {
      error = std::current_exception();
    }
    spans_.reset();
    completion_->complete(std::move(error), Results{}...);
  }

  // Keeps the options (and the pool's handle) alive while the query is.
  std::shared_ptr<const AsyncCacheCore> core_;
  std::string_view operation_;
  bool has_key_;
  std::optional<Spans> spans_;
  Completion completion_;
};

class GetQuery final : public CacheQuery<std::optional<nlohmann::json>> {
 public:
  using CacheQuery::CacheQuery;

 private:
  bool fails_open() const noexcept override { return true; }
  std::tuple<std::optional<nlohmann::json>> convert(const PGresult* row) override {
    if (is_null_field(row, 0)) {
      record([](CacheSpan& span) { span.record_cache_miss(); });
      return {std::nullopt};
    }
    std::optional<nlohmann::json> json;
    try {
      json.emplace(detail::read_json(text_field(row, 0)));
    } catch (const nlohmann::json::exception& e) {
      throw ConversionError("the value stored under key " + quote_for_message(key()) +
                            " cannot be read into nlohmann::json: " + shorten(e.what()));
    }
    const auto size = static_cast<std::size_t>(int_field(row, 1));
    record([&](CacheSpan& span) { span.record_cache_hit(size); });
    return {std::move(json)};
  }
};

class PutQuery final : public CacheQuery<> {
 public:
  using CacheQuery::CacheQuery;

 private:
  bool fails_open() const noexcept override { return true; }
  std::tuple<> convert(const PGresult* row) override {
    const auto size = static_cast<std::size_t>(int_field(row, 0));
    record([&](CacheSpan& span) { span.record_put(size); });
    return {};
  }
};

class RemoveQuery final : public CacheQuery<bool> {
 public:
  using CacheQuery::CacheQuery;

 private:
  std::tuple<bool> convert(const PGresult* row) override {
    const bool removed = bool_field(row, 0);
    record([](CacheSpan& span) { span.record_removed(); });
    return {removed};
  }
};

class DeleteQuery final : public CacheQuery<std::int64_t> {
 public:
  DeleteQuery(std::shared_ptr<const AsyncCacheCore> core, bool flush, Completion completion)
      : CacheQuery(std::move(core), flush ? "flush" : "cleanup_expired", std::string{}, false,
                   std::move(completion)),
        flush_(flush) {}

 private:
  std::tuple<std::int64_t> convert(const PGresult* row) override {
    const std::int64_t deleted = int_field(row, 0);
    record([&](CacheSpan& span) {
      if (flush_) {
        span.record_flush(deleted);
      } else {
        span.record_cleanup(deleted);
      }
    });
    return {deleted};
  }

  bool flush_;
};

// --- Extension 1.1 and stats ------------------------------------------------

class GetManyQuery final : public CacheQuery<std::vector<std::optional<nlohmann::json>>> {
 public:
  using Values = std::vector<std::optional<nlohmann::json>>;

  GetManyQuery(std::shared_ptr<const AsyncCacheCore> core, std::vector<std::string>&& keys,
               Completion completion)
      : CacheQuery(std::move(core), "get_many", std::string{}, false, std::move(completion)),
        keys_(std::move(keys)) {}

  const std::vector<std::string>& keys() const noexcept { return keys_; }

 private:
  bool many_rows() const noexcept override { return true; }

  // Row i answers keys_[i]; a hit or a miss per key, as PostgresCache::get_many_raw.
  std::tuple<Values> convert(const PGresult* rows) override {
    const auto count = static_cast<std::size_t>(PQntuples(rows));
    if (count != keys_.size()) {
      throw ServerError("get_many failed: the server returned " + std::to_string(count) +
                        " rows for " + std::to_string(keys_.size()) + " keys");
    }
    Values values(count);
    for (std::size_t i = 0; i < count; ++i) {
      const int row = static_cast<int>(i);
      if (is_null_field(rows, 0, row)) {
        record([](CacheSpan& span) { span.record_cache_miss(); });
        continue;
      }
      try {
        values[i].emplace(detail::read_json(text_field(rows, 0, row)));
      } catch (const nlohmann::json::exception& e) {
        throw ConversionError("the value stored under key " + quote_for_message(keys_[i]) +
                              " cannot be read into nlohmann::json: " + e.what());
      }
      const auto size = static_cast<std::size_t>(int_field(rows, 1, row));
      record([&](CacheSpan& span) { span.record_cache_hit(size); });
    }
    return {std::move(values)};
  }

  std::vector<std::string> keys_;
};

class PutManyQuery final : public CacheQuery<> {
 public:
  PutManyQuery(std::shared_ptr<const AsyncCacheCore> core, Completion completion)
      : CacheQuery(std::move(core), "put_many", std::string{}, false, std::move(completion)) {}

 private:
  // A record_put per key, with the size the server stored.
  std::tuple<> convert(const PGresult* row) override {
    const std::vector<std::int64_t> sizes = parse_integer_array(text_field(row, 0), "put_many");
    for (const std::int64_t size : sizes) {
      record([&](CacheSpan& span) { span.record_put(static_cast<std::size_t>(size)); });
    }
    return {};
  }
};

class RemoveManyQuery final : public CacheQuery<std::int64_t> {
 public:
  RemoveManyQuery(std::shared_ptr<const AsyncCacheCore> core, std::size_t keys,
                  Completion completion)
      : CacheQuery(std::move(core), "remove_many", std::string{}, false, std::move(completion)),
        keys_(keys) {}

 private:
  // A record_removed per key, as PostgresCache::remove_many.
  std::tuple<std::int64_t> convert(const PGresult* row) override {
    const std::int64_t removed = int_field(row, 0);
    for (std::size_t i = 0; i < keys_; ++i) {
      record([](CacheSpan& span) { span.record_removed(); });
    }
    return {removed};
  }

  std::size_t keys_;
};

// add and touch: whether the server did it. Not instrumented.
class FlagQuery final : public CacheQuery<bool> {
 public:
  using CacheQuery::CacheQuery;

 private:
  std::tuple<bool> convert(const PGresult* row) override { return {bool_field(row, 0)}; }
};

class TtlQuery final : public CacheQuery<std::optional<std::chrono::microseconds>> {
 public:
  using CacheQuery::CacheQuery;

 private:
  std::tuple<std::optional<std::chrono::microseconds>> convert(const PGresult* row) override {
    if (is_null_field(row, 0)) return {std::nullopt};
    return {std::chrono::microseconds{int_field(row, 0)}};
  }
};

class IncrQuery final : public CacheQuery<std::int64_t> {
 public:
  using CacheQuery::CacheQuery;

 private:
  std::tuple<std::int64_t> convert(const PGresult* row) override { return {int_field(row, 0)}; }
};

class StatsQuery final : public CacheQuery<CacheStats> {
 public:
  StatsQuery(std::shared_ptr<const AsyncCacheCore> core, Completion completion)
      : CacheQuery(std::move(core), "stats", std::string{}, false, std::move(completion)) {}

 private:
  std::tuple<CacheStats> convert(const PGresult* row) override {
    return {CacheStats{.entries = int_field(row, 0),
                       .expired_entries = int_field(row, 1),
                       .total_bytes = int_field(row, 2)}};
  }
};

}  // namespace
}  // namespace detail

using detail::AsyncCacheCore;

AsyncPostgresCache::AsyncPostgresCache(std::unique_ptr<detail::AsyncPoolHandle> pool,
                                       CacheOptions options)
    : core_(std::make_shared<const AsyncCacheCore>(std::move(pool), std::move(options))) {}

void AsyncPostgresCache::throw_null_pool() {
  throw InvalidArgument("invalid pool: the shared_ptr is null");
}

asio::any_io_executor AsyncPostgresCache::get_executor() const noexcept {
  return core_->executor();
}

const CacheOptions& AsyncPostgresCache::options() const noexcept { return core_->options(); }

asio::any_io_executor AsyncPostgresCache::executor_of(const Core& core) noexcept {
  return core->executor();
}

std::exception_ptr AsyncPostgresCache::conversion_error(std::string_view key,
                                                        const std::type_info& type, bool from_json,
                                                        const char* reason) noexcept {
  try {
    detail::throw_conversion_error(key, type, from_json, reason);
  } catch (...) {
    return std::current_exception();
  }
}

void AsyncPostgresCache::start_get(
    const Core& core, std::string&& key, std::string_view span_name,
    std::unique_ptr<detail::AsyncCompletion<std::optional<nlohmann::json>>> completion) {
  auto query =
      std::make_shared<detail::GetQuery>(core, "get", std::move(key), true, std::move(completion));
  try {
    query->start_spans(core->options(), [&](CacheInstrumentation& i) {
      return i.start_cache_get_span(query->params[0], span_name);
    });
    detail::validate_key(query->params[0]);
  } catch (...) {
    query->fail_now();
    return;
  }
  query->batcher = &core->get_batcher();
  core->submit(core, query, query->cancellation_slot(), &core->get(), 1,
               detail::AsyncCacheCore::Access::kReadsOnly);
}

void AsyncPostgresCache::start_put(const Core& core, std::string&& key, const nlohmann::json& value,
                                   Ttl ttl, std::string_view span_name,
                                   const std::exception_ptr& failure,
                                   std::unique_ptr<detail::AsyncCompletion<>> completion) {
  auto query =
      std::make_shared<detail::PutQuery>(core, "put", std::move(key), true, std::move(completion));
  try {
    // A value the typed layer could not convert: no span, as in PostgresCache::put.
    if (failure) std::rethrow_exception(failure);
    query->start_spans(core->options(), [&](CacheInstrumentation& i) {
      return i.start_cache_put_span(query->params[0], span_name);
    });
    detail::validate_key(query->params[0]);
    query->params[1] = detail::value_text(query->params[0], value, core->options().max_value_bytes);
    query->params[2] = ttl.to_interval();
  } catch (...) {
    query->fail_now();
    return;
  }
  query->batcher = &core->put_batcher();
  core->submit(core, query, query->cancellation_slot(), &core->put(), 3,
               detail::AsyncCacheCore::Access::kWrites);
}

void AsyncPostgresCache::start_remove(const Core& core, std::string&& key,
                                      std::unique_ptr<detail::AsyncCompletion<bool>> completion) {
  auto query = std::make_shared<detail::RemoveQuery>(core, "remove", std::move(key), true,
                                                     std::move(completion));
  try {
    query->start_spans(core->options(), [&](CacheInstrumentation& i) {
      return i.start_cache_remove_span(query->params[0]);
    });
    detail::validate_key(query->params[0]);
  } catch (...) {
    query->fail_now();
    return;
  }
  core->submit(core, query, query->cancellation_slot(), &core->remove(), 1,
               detail::AsyncCacheCore::Access::kWrites);
}

void AsyncPostgresCache::start_delete(
    const Core& core, bool flush,
    std::unique_ptr<detail::AsyncCompletion<std::int64_t>> completion) {
  auto query = std::make_shared<detail::DeleteQuery>(core, flush, std::move(completion));
  try {
    query->start_spans(core->options(), [&](CacheInstrumentation& i) {
      return flush ? i.start_cache_flush_span() : i.start_cache_cleanup_span();
    });
  } catch (...) {
    query->fail_now();
    return;
  }
  core->submit(core, query, query->cancellation_slot(), flush ? &core->flush() : &core->cleanup(),
               0, detail::AsyncCacheCore::Access::kWrites);
}

void AsyncPostgresCache::start_get_many(
    const Core& core, std::vector<std::string>&& keys, std::string_view span_name,
    std::unique_ptr<detail::AsyncCompletion<ManyValues>> completion) {
  // An empty batch: no round trip and no span, as in PostgresCache::get_many_raw.
  if (keys.empty()) {
    completion->complete(nullptr, ManyValues{});
    return;
  }
  auto query = std::make_shared<detail::GetManyQuery>(core, std::move(keys), std::move(completion));
  try {
    query->start_spans(core->options(), [&](CacheInstrumentation& i) {
      return i.start_cache_get_span(detail::span_key(query->keys()), span_name);
    });
    query->params[0] = detail::keys_parameter(query->keys());
  } catch (...) {
    query->fail_now();
    return;
  }
  core->submit(core, query, query->cancellation_slot(), &core->get_many(), 1,
               detail::AsyncCacheCore::Access::kReadsOnly);
}

void AsyncPostgresCache::start_put_many(
    const Core& core, std::vector<std::pair<std::string, nlohmann::json>>&& entries, Ttl ttl,
    std::string_view span_name, const std::exception_ptr& failure,
    std::unique_ptr<detail::AsyncCompletion<>> completion) {
  if (!failure && entries.empty()) {
    completion->complete(nullptr);
    return;
  }
  auto query = std::make_shared<detail::PutManyQuery>(core, std::move(completion));
  try {
    // A value the typed layer could not convert: no span, as in PostgresCache::put_many.
    if (failure) std::rethrow_exception(failure);
    query->start_spans(core->options(), [&](CacheInstrumentation& i) {
      return i.start_cache_put_span(entries.front().first, span_name);
    });
    std::vector<std::string> params =
        detail::put_many_parameters(entries, ttl, core->options().max_value_bytes);
    for (std::size_t i = 0; i < params.size(); ++i) query->params.at(i) = std::move(params[i]);
  } catch (...) {
    query->fail_now();
    return;
  }
  core->submit(core, query, query->cancellation_slot(), &core->put_many(), 3,
               detail::AsyncCacheCore::Access::kWrites);
}

void AsyncPostgresCache::start_remove_many(
    const Core& core, std::vector<std::string>&& keys,
    std::unique_ptr<detail::AsyncCompletion<std::int64_t>> completion) {
  if (keys.empty()) {
    completion->complete(nullptr, 0);
    return;
  }
  auto query = std::make_shared<detail::RemoveManyQuery>(core, keys.size(), std::move(completion));
  try {
    query->start_spans(core->options(), [&](CacheInstrumentation& i) {
      return i.start_cache_remove_span(detail::span_key(keys));
    });
    query->params[0] = detail::keys_parameter(keys);
  } catch (...) {
    query->fail_now();
    return;
  }
  core->submit(core, query, query->cancellation_slot(), &core->remove_many(), 1,
               detail::AsyncCacheCore::Access::kWrites);
}

void AsyncPostgresCache::start_add(const Core& core, std::string&& key, const nlohmann::json& value,
                                   Ttl ttl, const std::exception_ptr& failure,
                                   std::unique_ptr<detail::AsyncCompletion<bool>> completion) {
  auto query =
      std::make_shared<detail::FlagQuery>(core, "add", std::move(key), true, std::move(completion));
  try {
    if (failure) std::rethrow_exception(failure);
    detail::validate_key(query->params[0]);
    query->params[1] = detail::value_text(query->params[0], value, core->options().max_value_bytes);
    query->params[2] = ttl.to_interval();
  } catch (...) {
    query->fail_now();
    return;
  }
  core->submit(core, query, query->cancellation_slot(), &core->add(), 3,
               detail::AsyncCacheCore::Access::kWrites);
}

void AsyncPostgresCache::start_touch(const Core& core, std::string&& key, Ttl ttl,
                                     std::unique_ptr<detail::AsyncCompletion<bool>> completion) {
  auto query = std::make_shared<detail::FlagQuery>(core, "touch", std::move(key), true,
                                                   std::move(completion));
  try {
    detail::validate_key(query->params[0]);
    query->params[1] = ttl.to_interval();
  } catch (...) {
    query->fail_now();
    return;
  }
  core->submit(core, query, query->cancellation_slot(), &core->touch(), 2,
               detail::AsyncCacheCore::Access::kWrites);
}

void AsyncPostgresCache::start_ttl(
    const Core& core, std::string&& key,
    std::unique_ptr<detail::AsyncCompletion<std::optional<std::chrono::microseconds>>> completion) {
  auto query =
      std::make_shared<detail::TtlQuery>(core, "ttl", std::move(key), true, std::move(completion));
  try {
    detail::validate_key(query->params[0]);
  } catch (...) {
    query->fail_now();
    return;
  }
  core->submit(core, query, query->cancellation_slot(), &core->ttl(), 1,
               detail::AsyncCacheCore::Access::kReadsOnly);
}

void AsyncPostgresCache::start_incr(
    const Core& core, std::string&& key, std::int64_t delta, Ttl ttl,
    std::unique_ptr<detail::AsyncCompletion<std::int64_t>> completion) {
  auto query = std::make_shared<detail::IncrQuery>(core, "incr", std::move(key), true,
                                                   std::move(completion));
  try {
    detail::validate_key(query->params[0]);
    query->params[1] = std::to_string(delta);
    query->params[2] = ttl.to_interval();
  } catch (...) {
    query->fail_now();
    return;
  }
  core->submit(core, query, query->cancellation_slot(), &core->incr(), 3,
               detail::AsyncCacheCore::Access::kWrites);
}

void AsyncPostgresCache::start_stats(
    const Core& core, std::unique_ptr<detail::AsyncCompletion<CacheStats>> completion) {
  auto query = std::make_shared<detail::StatsQuery>(core, std::move(completion));
  core->submit(core, query, query->cancellation_slot(), &core->stats(), 0,
               detail::AsyncCacheCore::Access::kReadsOnly);
}

AsyncCleanupService AsyncPostgresCache::start_cleanup(std::chrono::nanoseconds interval,
                                                      CleanupErrorHandler on_error) {
  return AsyncCleanupService{
      get_executor(),
      [cache = *this](std::function<void(std::exception_ptr)> done) mutable {
        cache.async_cleanup_expired(
            [done = std::move(done)](std::exception_ptr error, std::int64_t /*deleted*/) {
              done(std::move(error));
            });
      },
      interval, std::move(on_error)};
}

}  // namespace psycache
