// ConnectionPool: the thread-safe, bounded pool of connections psycache ships.
//
//   psycache::ConnectionPool pool{"host=db dbname=app", {.max_size = 16}};
//   psycache::PostgresCache cache{pool};
//
// Connections are opened lazily, on demand, up to PoolOptions::max_size at
// once; connect() waits for one to become free up to acquire_timeout. A
// connection that broke during use, or whose server end closed while it was
// idle (a server restart, an administrator's pg_terminate_backend), is
// discarded and replaced by a fresh one, so the pool recovers by itself.
//
// The DSN is a libpq connection string, "key=value ..." or a
// "postgresql://" URI. The pool adds what it needs unless the DSN says
// otherwise: connect_timeout (from PoolOptions, unless PGCONNECT_TIMEOUT is
// set), client_encoding=UTF8 and fallback_application_name=psycache, and the
// PoolOptions' statement_timeout and lock_timeout as "-c" settings in
// "options".
//
// Errors: the constructor throws InvalidArgument for a DSN libpq cannot parse
// and for max_size 0 or a timeout out of range; it does not connect. connect() throws
// ConnectionError when a new connection cannot be opened (the message is libpq's) and TimeoutError
// when no connection became free in time.
//
// Thread-safety: every member function may be called from any thread. A lease
// belongs to one thread at a time. Leases may outlive the pool; a connection
// returned after the pool is gone is closed.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <pqxx/connection>

namespace psycache {

struct PoolOptions {
  // The most connections open at once, leased or idle. At least 1.
  std::size_t max_size = 8;

  // How long connect() waits for a connection to become free before it throws
  // TimeoutError. 0 means wait forever.
  std::chrono::milliseconds acquire_timeout = std::chrono::seconds{5};

  // libpq's connect_timeout for opening a connection, used unless the DSN or
  // the PGCONNECT_TIMEOUT environment variable sets one. libpq waits at least
  // 2 seconds. 0 means no timeout.
  std::chrono::seconds connect_timeout = std::chrono::seconds{5};

  // The server's statement_timeout and lock_timeout for every statement on
  // the pool's connections, so that a cache call never waits long behind a
  // lock or a slow server. Sent once, when a connection opens (libpq's
  // "options", after any the DSN gives): no round trip per operation. A
  // statement that runs into either fails with TimeoutError and leaves the
  // connection usable. 0 means the server's setting (by default: no limit).
  // At most 2147483647 ms.
  std::chrono::milliseconds statement_timeout{0};
  std::chrono::milliseconds lock_timeout{0};

  // connect() checks a connection that has been idle at least this long before it hands it out
  // (a poll(2) with a zero timeout, no round trip), so that one whose server end closed
  // meanwhile (a restart, pg_terminate_backend) is replaced instead of failing the next
  // operation. A connection given back more recently goes out unchecked: under load that saves a
  // system call per operation, and a backend ended within the window fails one operation with
  // ConnectionError, after which the connection is replaced. 0 checks every time.
  std::chrono::milliseconds idle_check_after{100};
};

namespace detail {
class ConnectionPoolState;
}  // namespace detail

class ConnectionPool {
 public:
  class Lease;

  // Validates the DSN and options; opens no connection yet.
  explicit ConnectionPool(std::string_view dsn, PoolOptions options = {});

  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;
  ConnectionPool(ConnectionPool&&) noexcept = default;
  ConnectionPool& operator=(ConnectionPool&&) noexcept = default;
  // Closes the idle connections; leased ones are closed when returned.
  ~ConnectionPool();

  // A free connection: an idle one if there is one, else a new one if fewer
  // than max_size are open, else the first one returned within
  // acquire_timeout.
  [[nodiscard]] Lease connect();

  // Open connections, leased or idle.
  [[nodiscard]] std::size_t size() const;
  // Open connections that are not leased.
  [[nodiscard]] std::size_t idle() const;
  [[nodiscard]] const PoolOptions& options() const noexcept;

 private:
  std::shared_ptr<detail::ConnectionPoolState> state_;
};

// Exclusive use of one pooled connection until destroyed (or moved from).
class ConnectionPool::Lease {
 public:
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&& other) noexcept;
  // Returns the connection to the pool, or closes it if it was marked broken
  // or is no longer open.
  ~Lease();

  [[nodiscard]] pqxx::connection& connection() const noexcept { return *connection_; }
  [[nodiscard]] pqxx::connection& operator*() const noexcept { return *connection_; }
  [[nodiscard]] pqxx::connection* operator->() const noexcept { return connection_.get(); }

  // The connection must not be reused: it is closed instead of returned.
  void mark_broken() noexcept { broken_ = true; }

 private:
  friend class ConnectionPool;
  Lease(std::shared_ptr<detail::ConnectionPoolState> pool,
        std::unique_ptr<pqxx::connection> connection) noexcept;
  void release() noexcept;

  std::shared_ptr<detail::ConnectionPoolState> pool_;
  std::unique_ptr<pqxx::connection> connection_;
  bool broken_ = false;
};

}  // namespace psycache
