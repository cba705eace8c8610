#include <atomic>
#include <vector>

#include <asio/dispatch.hpp>
#include <asio/steady_timer.hpp>
#include <asio/system_executor.hpp>

#include <psycache/async_cleanup_service.hpp>
#include <psycache/errors.hpp>

namespace psycache {
namespace detail {

// The task's state; lives on the executor, kept alive by its pending handlers.
class AsyncCleanupState : public std::enable_shared_from_this<AsyncCleanupState> {
 public:
  AsyncCleanupState(asio::any_io_executor executor, AsyncCleanupService::Pass pass,
                    std::chrono::nanoseconds interval, CleanupErrorHandler on_error)
      : executor_(std::move(executor)),
        pass_(std::move(pass)),
        interval_(interval),
        on_error_(std::move(on_error)),
        sleep_(executor_) {}

  const asio::any_io_executor& executor() const noexcept { return executor_; }
  bool running() const noexcept { return !stop_requested_.load(); }

  void run_pass() {
    if (stop_requested_) {
      finish();
      return;
    }
    in_pass_ = true;
    pass_([self = shared_from_this()](const std::exception_ptr& error) {
      self->in_pass_ = false;
      if (error && self->on_error_) {
        try {
          std::rethrow_exception(error);
        } catch (const Error& e) {
          self->on_error_(e);
        } catch (...) {
          // A pool or instrumentation of the user's threw something else: the
          // task goes on; nothing to report it to.
        }
      }
      self->sleep();
    });
  }

  // On the executor: asks the task to stop and completes completion when it
  // has ended, or with false after timeout.
  void stop(std::chrono::milliseconds timeout, std::unique_ptr<AsyncStopCompletion> completion) {
    request_stop();
    if (finished_) {
      completion->complete(true);
      return;
    }
    auto waiter = std::make_shared<Waiter>(executor_, std::move(completion));
    waiters_.push_back(waiter);
    waiter->timer.expires_after(std::max(timeout, std::chrono::milliseconds{0}));
    waiter->timer.async_wait([waiter](const asio::error_code&) { waiter->complete(false); });
  }

  // On the executor.
  void request_stop() {
    stop_requested_ = true;
    if (!in_pass_ && !finished_) sleep_.cancel();
  }

 private:
  struct Waiter {
    Waiter(const asio::any_io_executor& executor, std::unique_ptr<AsyncStopCompletion> c)
        : timer(executor), completion(std::move(c)) {}
    void complete(bool stopped) {
      if (!completion) return;
      timer.cancel();
      completion->complete(stopped);
      completion.reset();
    }
    asio::steady_timer timer;
    std::unique_ptr<AsyncStopCompletion> completion;
  };

  void sleep() {
    if (stop_requested_) {
      finish();
      return;
    }
    sleep_.expires_after(interval_);
    sleep_.async_wait([self = shared_from_this()](const asio::error_code&) { self->run_pass(); });
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    for (const auto& waiter : waiters_) waiter->complete(true);
    waiters_.clear();
  }

  asio::any_io_executor executor_;
  AsyncCleanupService::Pass pass_;
  std::chrono::nanoseconds interval_;
  CleanupErrorHandler on_error_;
  asio::steady_timer sleep_;
  std::atomic<bool> stop_requested_{false};
  bool in_pass_ = false;
  bool finished_ = false;
  std::vector<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace detail

AsyncCleanupService::AsyncCleanupService(asio::any_io_executor executor, Pass pass,
                                         std::chrono::nanoseconds interval,
                                         CleanupErrorHandler on_error)
    : state_(std::make_shared<detail::AsyncCleanupState>(std::move(executor), std::move(pass),
                                                         interval, std::move(on_error))) {
  asio::post(state_->executor(), [state = state_] { state->run_pass(); });
}

AsyncCleanupService& AsyncCleanupService::operator=(AsyncCleanupService&& other) noexcept {
  if (this != &other) {
    AsyncCleanupService old{std::move(*this)};
    state_ = std::move(other.state_);
  }
  return *this;
}

AsyncCleanupService::~AsyncCleanupService() {
  if (!state_) return;
  try {
    asio::post(state_->executor(), [state = state_] { state->request_stop(); });
  } catch (...) {
    // Posting allocates; without memory the task runs until its io_context stops.
  }
}

bool AsyncCleanupService::running() const noexcept { return state_ && state_->running(); }

asio::any_io_executor AsyncCleanupService::executor_of(
    const std::shared_ptr<detail::AsyncCleanupState>& state) noexcept {
  if (state) return state->executor();
  return asio::system_executor{};
}

void AsyncCleanupService::start_stop(const std::shared_ptr<detail::AsyncCleanupState>& state,
                                     std::chrono::milliseconds timeout,
                                     std::unique_ptr<detail::AsyncStopCompletion> completion) {
  if (!state) {
    completion->complete(true);
    return;
  }
  asio::dispatch(state->executor(), [state, timeout, completion = std::move(completion)]() mutable {
    state->stop(timeout, std::move(completion));
  });
}

}  // namespace psycache
