#include <condition_variable>
#include <limits>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <psycache/connection_pool.hpp>
#include <psycache/errors.hpp>
#include <psycache/pool.hpp>

#include "conninfo.hpp"
#include "error_translation.hpp"

namespace psycache {
namespace detail {

class ConnectionPoolState {
 public:
  ConnectionPoolState(std::string conninfo, PoolOptions options)
      : conninfo_(std::move(conninfo)), options_(options) {}

  std::unique_ptr<pqxx::connection> acquire() {
    using Clock = std::chrono::steady_clock;
    const bool forever = options_.acquire_timeout.count() <= 0;
    const Clock::time_point deadline =
        forever ? Clock::time_point::max() : Clock::now() + options_.acquire_timeout;
    std::unique_lock lock{mutex_};
    for (;;) {
      if (!idle_.empty()) {
        IdleConnection idle = std::move(idle_.back());
        idle_.pop_back();
        lock.unlock();
        std::unique_ptr<pqxx::connection> connection = std::move(idle.connection);
        if (Clock::now() - idle.since >= options_.idle_check_after) {
          close_if_server_gone(*connection);
        }
        if (connection->is_open()) return connection;
        // Dead while idle (e.g. the server restarted): replace it in its slot.
        connection.reset();
        return open_in_reserved_slot();
      }
      if (open_ < options_.max_size) {
        ++open_;
        lock.unlock();
        return open_in_reserved_slot();
      }
      if (forever) {
        freed_.wait(lock);
      } else if (freed_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
                 open_ >= options_.max_size) {
        throw TimeoutError("no pooled connection became free within " +
                           std::to_string(options_.acquire_timeout.count()) + " ms (all " +
                           std::to_string(options_.max_size) +
                           " in use; see PoolOptions::max_size and acquire_timeout)");
      }
    }
  }

  void release(std::unique_ptr<pqxx::connection> connection, bool broken) noexcept {
    const auto now = std::chrono::steady_clock::now();
    std::unique_lock lock{mutex_};
    if (!broken && !closed_ && connection->is_open()) {
      idle_.push_back({std::move(connection), now});
    } else {
      --open_;
    }
    lock.unlock();
    freed_.notify_one();
    // A discarded connection is closed here, outside the lock.
  }

  void close() noexcept {
    std::vector<IdleConnection> idle;
    {
      const std::lock_guard lock{mutex_};
      closed_ = true;
      open_ -= idle_.size();
      idle.swap(idle_);
    }
    freed_.notify_all();
  }

  std::size_t size() const {
    const std::lock_guard lock{mutex_};
    return open_;
  }

  std::size_t idle() const {
    const std::lock_guard lock{mutex_};
    return idle_.size();
  }

  const PoolOptions& options() const noexcept { return options_; }

 private:
  // Opens a connection for a slot already counted in open_; frees the slot if
  // that fails.
  std::unique_ptr<pqxx::connection> open_in_reserved_slot() {
    try {
      return std::make_unique<pqxx::connection>(conninfo_);
    } catch (...) {
      {
        const std::lock_guard lock{mutex_};
        --open_;
      }
      freed_.notify_one();
      rethrow_translated(Operation{.name = "connecting to the server", .connecting = true});
    }
  }

  // A connection given back to the pool, and when.
  struct IdleConnection {
    std::unique_ptr<pqxx::connection> connection;
    std::chrono::steady_clock::time_point since;
  };

  const std::string conninfo_;
  const PoolOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<IdleConnection> idle_;
  std::size_t open_ = 0;
  bool closed_ = false;
};

}  // namespace detail

namespace {

PoolOptions checked(PoolOptions options) {
  if (options.max_size == 0) {
    throw InvalidArgument("invalid pool options: max_size must be at least 1");
  }
  const auto check_timeout = [](const char* name, std::chrono::milliseconds timeout) {
    // PostgreSQL's settings are ints of milliseconds.
    if (timeout.count() < 0 || timeout.count() > std::numeric_limits<int>::max()) {
      throw InvalidArgument(std::string{"invalid pool options: "} + name +
                            " must be between 0 and 2147483647 ms, not " +
                            std::to_string(timeout.count()));
    }
  };
  check_timeout("statement_timeout", options.statement_timeout);
  check_timeout("lock_timeout", options.lock_timeout);
  if (options.idle_check_after.count() < 0) {
    throw InvalidArgument("invalid pool options: idle_check_after must not be negative, not " +
                          std::to_string(options.idle_check_after.count()) + " ms");
  }
  return options;
}

}  // namespace

ConnectionPool::ConnectionPool(std::string_view dsn, PoolOptions options)
    : state_(std::make_shared<detail::ConnectionPoolState>(
          detail::complete_conninfo(dsn, options.connect_timeout,
                                    {.statement_timeout = options.statement_timeout,
                                     .lock_timeout = options.lock_timeout}),
          checked(options))) {}

ConnectionPool::~ConnectionPool() {
  if (state_) state_->close();
}

ConnectionPool::Lease ConnectionPool::connect() { return Lease{state_, state_->acquire()}; }

std::size_t ConnectionPool::size() const { return state_->size(); }

std::size_t ConnectionPool::idle() const { return state_->idle(); }

const PoolOptions& ConnectionPool::options() const noexcept { return state_->options(); }

ConnectionPool::Lease::Lease(std::shared_ptr<detail::ConnectionPoolState> pool,
                             std::unique_ptr<pqxx::connection> connection) noexcept
    : pool_(std::move(pool)), connection_(std::move(connection)) {}

ConnectionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::move(other.pool_)),
      connection_(std::move(other.connection_)),
      broken_(std::exchange(other.broken_, false)) {}

ConnectionPool::Lease& ConnectionPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    release();
    pool_ = std::move(other.pool_);
    connection_ = std::move(other.connection_);
    broken_ = std::exchange(other.broken_, false);
  }
  return *this;
}

ConnectionPool::Lease::~Lease() { release(); }

void ConnectionPool::Lease::release() noexcept {
  if (pool_ && connection_) pool_->release(std::move(connection_), broken_);
  pool_.reset();
  connection_.reset();
  broken_ = false;
}

}  // namespace psycache
