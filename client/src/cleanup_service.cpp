#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <pthread.h>
#include <utility>

#include <psycache/cleanup_service.hpp>
#include <psycache/errors.hpp>

namespace psycache {
namespace detail {

// Shared by the service and its thread.
class CleanupState {
 public:
  void request_stop() {
    {
      const std::lock_guard lock{mutex_};
      stop_requested_ = true;
    }
    wake_.notify_all();
  }

  bool stop_requested() const {
    const std::lock_guard lock{mutex_};
    return stop_requested_;
  }

  // Waits up to interval; returns whether a stop was requested.
  bool sleep(std::chrono::nanoseconds interval) {
    std::unique_lock lock{mutex_};
    return wake_.wait_for(lock, interval, [this] { return stop_requested_; });
  }

  void mark_finished() {
    {
      const std::lock_guard lock{mutex_};
      finished_ = true;
    }
    finished_signal_.notify_all();
  }

  // Waits up to timeout for the thread to finish; returns whether it has.
  bool wait_finished(std::chrono::milliseconds timeout) {
    std::unique_lock lock{mutex_};
    return finished_signal_.wait_for(lock, std::max(timeout, std::chrono::milliseconds{0}),
                                     [this] { return finished_; });
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable finished_signal_;
  bool stop_requested_ = false;
  bool finished_ = false;
};

namespace {

void run_pass(const std::function<void()>& pass, const CleanupErrorHandler& on_error) noexcept {
  try {
    try {
      pass();
    } catch (const Error& error) {
      if (on_error) on_error(error);
    } catch (const std::exception& error) {
      if (on_error) on_error(Error{std::string{"cleanup_expired failed: "} + error.what()});
    } catch (...) {
      if (on_error) on_error(Error{"cleanup_expired failed with an unknown exception"});
    }
  } catch (...) {  // NOLINT(bugprone-empty-catch): a throwing handler must not end the thread
  }
}

}  // namespace
}  // namespace detail

CleanupService::CleanupService() noexcept = default;

CleanupService::CleanupService(std::function<void()> pass, std::chrono::nanoseconds interval,
                               CleanupErrorHandler on_error)
    : state_(std::make_shared<detail::CleanupState>()) {
  thread_ = std::thread{
      [state = state_, pass = std::move(pass), interval, on_error = std::move(on_error)] {
        while (!state->stop_requested()) {
          detail::run_pass(pass, on_error);
          if (state->sleep(interval)) break;
        }
        state->mark_finished();
      }};
  pthread_setname_np(thread_.native_handle(), "psycache-clean");
}

CleanupService::CleanupService(CleanupService&& other) noexcept
    : state_(std::move(other.state_)), thread_(std::move(other.thread_)) {}

CleanupService& CleanupService::operator=(CleanupService&& other) noexcept {
  if (this != &other) {
    if (state_) state_->request_stop();
    join();
    state_ = std::move(other.state_);
    thread_ = std::move(other.thread_);
  }
  return *this;
}

CleanupService::~CleanupService() {
  if (state_) state_->request_stop();
  join();
}

bool CleanupService::stop(std::chrono::milliseconds timeout) noexcept {
  if (!state_) return true;
  state_->request_stop();
  if (!state_->wait_finished(timeout)) return false;
  join();
  return true;
}

bool CleanupService::running() const noexcept { return state_ && !state_->stop_requested(); }

void CleanupService::join() noexcept {
  if (!thread_.joinable()) return;
  // Destroyed by its own thread (from the error handler): it ends by itself.
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();
  } else {
    thread_.join();
  }
}

}  // namespace psycache
