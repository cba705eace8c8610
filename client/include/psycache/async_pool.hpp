// AsyncCachePool: where an AsyncPostgresCache sends its queries.
//
// An AsyncCachePool runs prepared statements on libpq connections without
// blocking its executor. AsyncPostgresCache hands it one AsyncQuery per cache
// operation:
//
//   pool.get_executor()       the executor the pool runs on; submit and cancel
//                             are called only there
//   pool.submit(query)        runs query (a shared_ptr<AsyncQuery>) and calls
//                             query->complete(...) exactly once, later, on the
//                             pool's executor, never from inside submit
//   pool.cancel(query, why)   ends query early: complete(nullptr, why) if it has
//                             not completed yet; the pool also cancels it on the
//                             server if it was sent, and does nothing if it has
//                             already completed
//
// psycache::AsyncConnectionPool is the pool psycache ships; a user's own pool
// fits the same concept.
//
// Errors: a pool completes a query with an exception (psycache::Error or a
// subclass, usually ConnectionError or TimeoutError, whose message says what
// happened without naming the operation) or with a libpq result, which may be
// a server error (PGRES_FATAL_ERROR); the cache turns either into the error
// its caller sees.
//
// Thread-safety: submit and cancel run on the pool's executor only (the cache
// dispatches to it); complete is called there too.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <asio/any_io_executor.hpp>

#include <psycache/pg_result.hpp>

namespace psycache {

// A statement a pool prepares once per connection and then runs by name.
struct AsyncStatement {
  std::string name;  // unique per SQL text, so two caches never clash on one connection
  std::string sql;
};

class AsyncBatcher;

// One query: the statement, its text parameters, and who wants the answer.
class AsyncQuery {
 public:
  AsyncQuery() = default;
  AsyncQuery(const AsyncQuery&) = delete;
  AsyncQuery& operator=(const AsyncQuery&) = delete;
  AsyncQuery(AsyncQuery&&) = delete;
  AsyncQuery& operator=(AsyncQuery&&) = delete;
  virtual ~AsyncQuery() = default;

  // The most parameters a cache statement has (put: key, value, ttl).
  static constexpr std::size_t kMaxParams = 3;

  // Called once, on the pool's executor, with either the result (which may
  // hold a server error) or an exception.
  virtual void complete(detail::PgResult result, std::exception_ptr error) = 0;

  // What to run: statement with params[0..param_count), sent as text with
  // explicit lengths (binary-safe; no quoting).
  const AsyncStatement* statement = nullptr;
  std::array<std::string, kMaxParams> params{};
  std::size_t param_count = 0;

  // Whether the statement only reads (a get). A pool may send consecutive
  // read-only queries under one sync, that is in one implicit transaction:
  // each is still its own statement with its own snapshot and
  // statement_timestamp(), but an error in one aborts the ones after it up to
  // the sync, which the pool then runs again, each alone. A statement that
  // writes must leave it false: it gets a sync of its own, so its effect
  // never depends on another query.
  bool read_only = false;

  // Whether complete has been called (set by whoever calls it, before the call).
  bool completed = false;

  // What may combine this query with the queries of the same batcher queued
  // right behind it (see AsyncBatcher); nullptr: it always runs alone.
  const AsyncBatcher* batcher = nullptr;
};

// A query that runs several queued queries at once, and completes each of them.
class AsyncBatch : public AsyncQuery {
 public:
  // The queries it runs, in their order. Its complete() completes each that
  // has not completed yet (a pool completes one early when it is cancelled),
  // except on a server error: the batch's transaction rolled back, so the
  // pool then runs each of them again, alone.
  std::vector<std::shared_ptr<AsyncQuery>> queries;
};

// Combines queries queued behind each other into one AsyncBatch. A pool may
// use it when it sends queries (AsyncConnectionPool does); one that does not
// runs every query alone, which is always correct.
class AsyncBatcher {
 public:
  AsyncBatcher() = default;
  AsyncBatcher(const AsyncBatcher&) = delete;
  AsyncBatcher& operator=(const AsyncBatcher&) = delete;
  AsyncBatcher(AsyncBatcher&&) = delete;
  AsyncBatcher& operator=(AsyncBatcher&&) = delete;
  virtual ~AsyncBatcher() = default;

  // A batch of the first queries of queued (at least two; every one has this
  // batcher, none has run yet), or nullptr when fewer than two can go
  // together. Called on the pool's executor.
  [[nodiscard]] virtual std::shared_ptr<AsyncBatch> combine(
      const std::vector<std::shared_ptr<AsyncQuery>>& queued) const = 0;
};

// A pool an AsyncPostgresCache can use; see the top of this header.
template <class Pool>
concept AsyncCachePool = requires(Pool& pool, std::shared_ptr<AsyncQuery> query,
                                  std::exception_ptr reason) {
  { pool.get_executor() } -> std::convertible_to<asio::any_io_executor>;
  pool.submit(query);
  pool.cancel(query, reason);
};

namespace detail {

// An AsyncCachePool behind virtual calls, so that AsyncPostgresCache need not
// be a template.
class AsyncPoolHandle {
 public:
  AsyncPoolHandle() = default;
  AsyncPoolHandle(const AsyncPoolHandle&) = delete;
  AsyncPoolHandle& operator=(const AsyncPoolHandle&) = delete;
  AsyncPoolHandle(AsyncPoolHandle&&) = delete;
  AsyncPoolHandle& operator=(AsyncPoolHandle&&) = delete;
  virtual ~AsyncPoolHandle() = default;

  virtual asio::any_io_executor get_executor() = 0;
  virtual void submit(std::shared_ptr<AsyncQuery> query) = 0;
  virtual void cancel(const std::shared_ptr<AsyncQuery>& query, std::exception_ptr reason) = 0;
};

// PoolRef is Pool* (the caller keeps the pool alive) or std::shared_ptr<Pool>.
template <AsyncCachePool Pool, class PoolRef>
class AsyncPoolHandleFor final : public AsyncPoolHandle {
 public:
  explicit AsyncPoolHandleFor(PoolRef pool) : pool_(std::move(pool)) {}

  asio::any_io_executor get_executor() override { return pool_->get_executor(); }
  void submit(std::shared_ptr<AsyncQuery> query) override { pool_->submit(std::move(query)); }
  void cancel(const std::shared_ptr<AsyncQuery>& query, std::exception_ptr reason) override {
    pool_->cancel(query, std::move(reason));
  }

 private:
  PoolRef pool_;
};

}  // namespace detail
}  // namespace psycache
