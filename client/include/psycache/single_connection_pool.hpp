// SingleConnectionPool: a CachePool over one connection the application owns.
//
//   pqxx::connection conn{dsn};
//   psycache::SingleConnectionPool pool{conn};
//   psycache::PostgresCache cache{pool};
//
// Every lease is the same connection; connect() blocks while another lease
// exists, so threads take turns. Code of the application that uses the same
// connection directly must take a lease as well (or otherwise make sure no
// cache operation runs at the same time). The cache runs its statements in
// autocommit mode and fails with psycache::Error while the application has a
// transaction open on the connection.
//
// If the connection broke, the cache closes it and libpqxx reopens it on its
// next use, with the connection string it was created with.
//
// Errors: none of its own. Thread-safety: connect() may be called from any
// thread. The pool and the connection must outlive every lease and every
// cache that uses the pool.
#pragma once

#include <mutex>
#include <utility>

#include <pqxx/connection_base>

namespace psycache {

class SingleConnectionPool {
 public:
  class Lease;

  explicit SingleConnectionPool(pqxx::connection_base& connection) noexcept
      : connection_(&connection) {}

  SingleConnectionPool(const SingleConnectionPool&) = delete;
  SingleConnectionPool& operator=(const SingleConnectionPool&) = delete;
  SingleConnectionPool(SingleConnectionPool&&) = delete;
  SingleConnectionPool& operator=(SingleConnectionPool&&) = delete;
  ~SingleConnectionPool() = default;

  // Waits until no other lease exists.
  [[nodiscard]] Lease connect();

 private:
  pqxx::connection_base* connection_;
  std::mutex mutex_;
};

// Exclusive use of the shared connection until destroyed.
class SingleConnectionPool::Lease {
 public:
  Lease(Lease&&) noexcept = default;
  Lease& operator=(Lease&&) noexcept = default;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() = default;

  [[nodiscard]] pqxx::connection_base& connection() const noexcept { return *connection_; }
  [[nodiscard]] pqxx::connection_base& operator*() const noexcept { return *connection_; }
  [[nodiscard]] pqxx::connection_base* operator->() const noexcept { return connection_; }

 private:
  friend class SingleConnectionPool;
  Lease(pqxx::connection_base& connection, std::unique_lock<std::mutex> lock) noexcept
      : connection_(&connection), lock_(std::move(lock)) {}

  pqxx::connection_base* connection_;
  std::unique_lock<std::mutex> lock_;
};

inline SingleConnectionPool::Lease SingleConnectionPool::connect() {
  return Lease{*connection_, std::unique_lock{mutex_}};
}

}  // namespace psycache
