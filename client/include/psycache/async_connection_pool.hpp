// AsyncConnectionPool: libpq connections in non-blocking mode, driven by an
// Asio executor, with automatic pipelining.
//
//   asio::io_context io;
//   psycache::AsyncConnectionPool pool{io.get_executor(), dsn, {.max_size = 8}};
//   psycache::AsyncPostgresCache cache{pool};
//
// Everything runs on the pool's executor through socket readiness: opening a
// connection (PQconnectStart/PQconnectPoll), sending a prepared call, flushing,
// reading results. No thread per query, no blocking call on the executor. The
// one exception is the server-side cancel request (PQcancel opens a new
// connection and blocks), which runs on a small internal thread.
//
// Connections are opened on demand, up to max_size. Each runs in libpq
// pipeline mode and carries one flight of queries at a time: the queries that
// arrived while its previous flight was out go out together, up to
// max_pipeline, in one write, and it takes the next flight once every answer
// is in. The server's backend thus reads a flight, answers it and waits,
// rather than running without pause on queries that keep arriving while the
// other connections' backends (and their queries) wait for the CPU. Waiting
// queries are spread evenly over the idle connections; a new connection is
// opened while the ones being opened have no room for them. When no
// connection is idle, queries wait in order of arrival, up to acquire_timeout.
//
// Inside a flight a query that writes gets a sync of its own, so an error
// fails it alone and its effect never depends on another query. Consecutive
// read-only queries (AsyncQuery::read_only, the gets) share a sync: each is
// still its own statement, but an error in one aborts the ones after it up to
// the sync, and the pool runs those again, each alone. They are answered
// together, when their sync's answer comes. Queries with an AsyncBatcher (the
// cache's puts) waiting behind each other go out as one batch, which ends its
// flight; if the server refuses the batch, each of its queries runs again
// alone, ahead of the queries queued after them.
//
// A connection that broke (a server restart, a network error) fails each of
// its pending queries with ConnectionError and is replaced on demand. A
// connection whose query was cancelled or timed out takes no new query until
// the server has answered (the pool sends a cancel request to the server) and
// the connection is idle again; if it does not become idle within
// connect_timeout, it is closed instead. A query the cancel request hits by
// mistake (the server had moved on to it) runs again.
//
// The socket belongs to libpq: Asio watches it and never closes it.
//
// Errors: the constructor throws InvalidArgument for a DSN libpq cannot parse
// and for max_size or max_pipeline 0; it opens no connection. Queries fail
// with ConnectionError when a connection cannot be opened or breaks, with
// TimeoutError when none became free within acquire_timeout or the query took
// longer than operation_timeout.
//
// Thread-safety and lifetime: submit, cancel, size and idle must be called on
// the pool's executor (AsyncPostgresCache does so by itself). Use a strand as
// the executor when the io_context runs on several threads. Destroy the pool
// on its executor (or after its io_context has stopped) and before the
// io_context: pending queries then fail with ConnectionError.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <string_view>

#include <asio/any_io_executor.hpp>

#include <psycache/async_pool.hpp>

namespace psycache {

struct AsyncPoolOptions {
  // The most connections open at once. At least 1.
  std::size_t max_size = 8;

  // The most queries in one flight, that is in flight on one connection at
  // once (pipelined). At least 1; 1 turns pipelining off.
  std::size_t max_pipeline = 32;

  // How long a query waits for room on a connection before it fails with
  // TimeoutError. 0 means wait forever.
  std::chrono::milliseconds acquire_timeout = std::chrono::seconds{5};

  // How long a query may take in all (waiting included) before it fails with
  // TimeoutError and is cancelled on the server. 0 means no limit.
  std::chrono::milliseconds operation_timeout = std::chrono::milliseconds{0};

  // How long opening a connection may take; also how long a connection whose
  // query was cancelled may take to become idle. 0 means no limit.
  std::chrono::seconds connect_timeout = std::chrono::seconds{5};
};

namespace detail {
class AsyncPoolCore;
}  // namespace detail

class AsyncConnectionPool {
 public:
  using executor_type = asio::any_io_executor;

  // Validates the DSN and options; opens no connection yet.
  AsyncConnectionPool(executor_type executor, std::string_view dsn, AsyncPoolOptions options = {});

  AsyncConnectionPool(const AsyncConnectionPool&) = delete;
  AsyncConnectionPool& operator=(const AsyncConnectionPool&) = delete;
  AsyncConnectionPool(AsyncConnectionPool&&) = delete;
  AsyncConnectionPool& operator=(AsyncConnectionPool&&) = delete;
  // Fails every pending query with ConnectionError and closes the connections.
  ~AsyncConnectionPool();

  [[nodiscard]] executor_type get_executor() const noexcept;

  // Runs query; see AsyncCachePool in async_pool.hpp.
  void submit(std::shared_ptr<AsyncQuery> query);
  // Ends query early with reason and cancels it on the server.
  void cancel(const std::shared_ptr<AsyncQuery>& query, std::exception_ptr reason);

  // Open connections (connecting ones included).
  [[nodiscard]] std::size_t size() const;
  // Open connections with no query in flight.
  [[nodiscard]] std::size_t idle() const;
  [[nodiscard]] const AsyncPoolOptions& options() const noexcept;

 private:
  std::shared_ptr<detail::AsyncPoolCore> core_;
};

}  // namespace psycache
