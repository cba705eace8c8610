// An AsyncPostgresCache on an AsyncConnectionPool whose io_context runs on a
// thread of its own, for tests whose threads call it with asio::use_future.
#pragma once

#include <exception>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <psycache/async.hpp>

namespace psycache::test {

class AsyncCacheThread {
 public:
  AsyncCacheThread(const std::string& dsn, AsyncPoolOptions pool_options,
                   CacheOptions cache_options = {}) {
    pool_.emplace(io_.get_executor(), dsn, pool_options);
    cache_.emplace(*pool_, std::move(cache_options));
    thread_ = std::thread{[this] { io_.run(); }};
  }
  AsyncCacheThread(const AsyncCacheThread&) = delete;
  AsyncCacheThread& operator=(const AsyncCacheThread&) = delete;
  AsyncCacheThread(AsyncCacheThread&&) = delete;
  AsyncCacheThread& operator=(AsyncCacheThread&&) = delete;
  // Destroys the cache and the pool on their executor (pending queries fail with
  // ConnectionError), then stops the io_context and joins its thread.
  ~AsyncCacheThread() {
    asio::post(io_, [this] {
      cache_.reset();
      pool_.reset();
      io_.stop();
    });
    thread_.join();
  }

  [[nodiscard]] AsyncPostgresCache& cache() { return *cache_; }

  // Runs function on the pool's executor and returns what it returned: the
  // pool's own methods (size, idle) may only be called there.
  template <class Function>
  auto on_executor(Function function) {
    using Result = decltype(function(std::declval<AsyncConnectionPool&>()));
    std::promise<Result> promise;
    auto result = promise.get_future();
    asio::post(io_, [this, &promise, &function] {
      try {
        promise.set_value(function(*pool_));
      } catch (...) {
        promise.set_exception(std::current_exception());
      }
    });
    return result.get();
  }

 private:
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::optional<AsyncConnectionPool> pool_;
  std::optional<AsyncPostgresCache> cache_;
  std::thread thread_;
};

}  // namespace psycache::test
