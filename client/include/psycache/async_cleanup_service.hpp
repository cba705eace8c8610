// AsyncCleanupService: a task on an executor that deletes expired entries
// periodically.
//
//   auto cleanup = cache.start_cleanup_task(std::chrono::minutes{5});
//   ...
//   bool stopped = co_await cleanup.async_stop(std::chrono::seconds{5}, asio::use_awaitable);
//
// The task runs AsyncPostgresCache::async_cleanup_expired at once and then
// every interval, on the pool's executor; no thread of its own. A failed pass
// does not end it: the error goes to the handler given to start_cleanup_task
// (if any, on the executor) and the next pass runs on schedule. Stopping wakes
// a sleeping task at once; a pass in progress (one statement) is finished
// first. The task also ends when its io_context stops (nothing runs any more)
// and is destroyed with the io_context.
//
// async_stop(timeout, token): asks the task to stop and completes when it has
// ended or when timeout has passed, whichever comes first. Signature:
// void(bool), true when the task ended in time. If it did not, it still ends
// after its current pass. The handler runs on its associated executor (for a
// callback without one: the pool's executor); it supports no cancellation.
//
// Errors: none; the destructor and async_stop do not throw.
//
// Thread-safety and lifetime: async_stop may be called from any thread. The
// destructor asks the task to stop without waiting; the cache's pool must
// outlive the task.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <utility>

#include <asio/any_io_executor.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/post.hpp>

#include <psycache/cleanup_service.hpp>

namespace psycache {

namespace detail {
class AsyncCleanupState;

// The handler of async_stop, behind a virtual call.
class AsyncStopCompletion {
 public:
  AsyncStopCompletion() = default;
  AsyncStopCompletion(const AsyncStopCompletion&) = delete;
  AsyncStopCompletion& operator=(const AsyncStopCompletion&) = delete;
  AsyncStopCompletion(AsyncStopCompletion&&) = delete;
  AsyncStopCompletion& operator=(AsyncStopCompletion&&) = delete;
  virtual ~AsyncStopCompletion() = default;
  // Posts the handler to its associated executor. Once.
  virtual void complete(bool stopped) = 0;
};

template <class Handler>
class AsyncStopCompletionFor final : public AsyncStopCompletion {
 public:
  AsyncStopCompletionFor(Handler handler, const asio::any_io_executor& fallback)
      : handler_(std::move(handler)), work_(asio::get_associated_executor(handler_, fallback)) {}
  void complete(bool stopped) override {
    auto executor = work_.get_executor();
    asio::post(executor,
               [handler = std::move(handler_), stopped]() mutable { std::move(handler)(stopped); });
    work_.reset();
  }

 private:
  Handler handler_;
  asio::executor_work_guard<asio::associated_executor_t<Handler, asio::any_io_executor>> work_;
};
}  // namespace detail

class AsyncCleanupService {
 public:
  // Runs one cleanup pass and calls its argument with the error (null on success).
  using Pass = std::function<void(std::function<void(std::exception_ptr)>)>;

  // A service that runs nothing; async_stop completes with true.
  AsyncCleanupService() noexcept = default;
  // Starts the task on executor: pass now, then every interval.
  AsyncCleanupService(asio::any_io_executor executor, Pass pass, std::chrono::nanoseconds interval,
                      CleanupErrorHandler on_error);
  AsyncCleanupService(const AsyncCleanupService&) = delete;
  AsyncCleanupService& operator=(const AsyncCleanupService&) = delete;
  AsyncCleanupService(AsyncCleanupService&& other) noexcept = default;
  // Asks the task this object ran to stop before taking other's.
  AsyncCleanupService& operator=(AsyncCleanupService&& other) noexcept;
  // Asks the task to stop; does not wait.
  ~AsyncCleanupService();

  // See the top of this header. Signature: void(bool).
  template <class Token = asio::experimental::deferred_t>
  auto async_stop(std::chrono::milliseconds timeout, Token&& token = {}) {
    return asio::async_initiate<Token, void(bool)>(
        [state = state_](auto handler, std::chrono::milliseconds wait) {
          using Handler = decltype(handler);
          start_stop(state, wait,
                     std::make_unique<detail::AsyncStopCompletionFor<Handler>>(std::move(handler),
                                                                               executor_of(state)));
        },
        token, timeout);
  }

  // Whether the task was started and has not been asked to stop.
  [[nodiscard]] bool running() const noexcept;

 private:
  static asio::any_io_executor executor_of(
      const std::shared_ptr<detail::AsyncCleanupState>& state) noexcept;
  static void start_stop(const std::shared_ptr<detail::AsyncCleanupState>& state,
                         std::chrono::milliseconds timeout,
                         std::unique_ptr<detail::AsyncStopCompletion> completion);

  std::shared_ptr<detail::AsyncCleanupState> state_;
};

}  // namespace psycache
