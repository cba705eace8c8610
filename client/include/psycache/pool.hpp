// CachePool: where a PostgresCache gets its connections.
//
// A CachePool is anything with a connect() member function that returns a
// lease on a libpqxx connection:
//
//   auto lease = pool.connect();        // may block; may throw
//   pqxx::connection_base& c = *lease;  // dereferencing gives the connection
//   lease.mark_broken();                // optional: the connection is dead
//   // destroying the lease gives the connection back
//
// The cache holds the lease for exactly one statement, runs it in autocommit
// mode (no BEGIN is sent) through the connection's libpq handle, and never
// keeps the connection. It refuses a connection inside a transaction block. The
// connection must have client_encoding UTF8. Before the statement the cache
// checks, without a round trip, whether the server has closed the connection
// while it was idle (a restart) and if so closes it, so libpqxx opens a new
// one. If the connection broke during the statement, the cache closes it with
// disconnect() (libpqxx then reconnects it on its next use) and, when the lease
// has a mark_broken() member, calls it, so the pool can discard the connection
// instead.
//
// Fits the concept: psycache::ConnectionPool, psycache::SingleConnectionPool,
// and a user's own pool whose connect() returns, e.g., a
// std::shared_ptr<pqxx::connection> with a deleter that returns it, or a
// small RAII handle with operator*.
//
// Errors: exceptions from connect() propagate to the caller of the cache
// operation; libpqxx exceptions among them are translated into psycache
// errors (see errors.hpp).
//
// Thread-safety: a cache calls connect() from every thread that uses it, so a
// pool shared by threads must be thread-safe; each lease is used by one thread.
#pragma once

#include <concepts>
#include <memory>
#include <type_traits>
#include <utility>

#include <pqxx/connection_base>

namespace psycache {

class ConnectionPool;

// A lease: dereferencing it gives a connection, destroying it returns it.
template <class Lease>
concept ConnectionLease = std::destructible<Lease> && requires(Lease& lease) {
  { *lease } -> std::convertible_to<pqxx::connection_base&>;
};

// A source of leased connections; see the top of this header.
template <class Pool>
concept CachePool = requires(Pool& pool) {
  { pool.connect() } -> ConnectionLease;
};

namespace detail {

// A function run with a leased connection, with its context.
using ConnectionTask = void (*)(pqxx::connection_base& connection, void* context);

// Closes the connection if the server has closed its end while it was idle,
// so that libpqxx opens a new one on its next use instead of failing. Costs a
// poll(2) with a zero timeout; no round trip.
void close_if_server_gone(pqxx::connection_base& connection) noexcept;

// A CachePool behind a virtual call, so that PostgresCache need not be a
// template.
class PoolHandle {
 public:
  PoolHandle() = default;
  PoolHandle(const PoolHandle&) = delete;
  PoolHandle& operator=(const PoolHandle&) = delete;
  PoolHandle(PoolHandle&&) = delete;
  PoolHandle& operator=(PoolHandle&&) = delete;
  virtual ~PoolHandle() = default;

  // Leases a connection, runs task on it and gives it back. When the
  // connection is closed after a failure, reports it broken and rethrows.
  virtual void with_connection(ConnectionTask task, void* context) = 0;
};

// PoolRef is Pool* (the caller keeps the pool alive) or std::shared_ptr<Pool>.
template <CachePool Pool, class PoolRef>
class PoolHandleFor final : public PoolHandle {
 public:
  explicit PoolHandleFor(PoolRef pool) : pool_(std::move(pool)) {}

  void with_connection(ConnectionTask task, void* context) override {
    auto lease = pool_->connect();
    pqxx::connection_base& connection = *lease;
    // ConnectionPool::connect() makes this same check before it hands out an idle connection,
    // so a second poll(2) per operation would find nothing new.
    if constexpr (!std::is_same_v<Pool, ConnectionPool>) close_if_server_gone(connection);
    try {
      task(connection, context);
    } catch (...) {
      if (!connection.is_open()) {
        connection.disconnect();
        if constexpr (requires { lease.mark_broken(); }) lease.mark_broken();
      }
      throw;
    }
  }

 private:
  PoolRef pool_;
};

}  // namespace detail
}  // namespace psycache
