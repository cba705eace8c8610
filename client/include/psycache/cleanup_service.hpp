// CleanupService: a thread that deletes expired entries periodically.
//
//   auto cleanup = cache.start_cleanup_thread(std::chrono::minutes{5});
//   ...
//   cleanup.stop();  // or let the destructor stop it
//
// The thread runs PostgresCache::cleanup_expired at once and then every
// interval. A failed pass does not end the thread: the error goes to the
// handler given to start_cleanup_thread (if any) and the next pass runs on
// schedule. Stopping wakes the thread at once; a pass in progress (one
// statement) is finished first.
//
// Errors: none; the destructor and stop() do not throw.
//
// Thread-safety: stop() may be called from any thread, also concurrently with
// the destructor of another CleanupService; a CleanupService itself is not
// meant to be shared between threads without synchronization.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

namespace psycache {

class Error;

// Receives the error of a failed cleanup pass, on the cleanup thread.
using CleanupErrorHandler = std::function<void(const Error&)>;

namespace detail {
class CleanupState;
}  // namespace detail

class CleanupService {
 public:
  // A service that runs nothing; stop() returns true.
  CleanupService() noexcept;
  CleanupService(const CleanupService&) = delete;
  CleanupService& operator=(const CleanupService&) = delete;
  CleanupService(CleanupService&& other) noexcept;
  // Stops (and waits for) the thread this object ran before taking other's.
  CleanupService& operator=(CleanupService&& other) noexcept;
  // Asks the thread to stop and waits until it has, however long the pass in
  // progress takes.
  ~CleanupService();

  // Asks the thread to stop and waits up to timeout for it to finish. Returns
  // whether it finished in time; if not, it still stops after its current
  // pass (and the destructor waits for that). A timeout of zero or less does
  // not wait.
  bool stop(std::chrono::milliseconds timeout = std::chrono::seconds{5}) noexcept;

  // Whether the thread was started and has not been asked to stop.
  [[nodiscard]] bool running() const noexcept;

 private:
  friend class PostgresCache;
  CleanupService(std::function<void()> pass, std::chrono::nanoseconds interval,
                 CleanupErrorHandler on_error);
  void join() noexcept;

  std::shared_ptr<detail::CleanupState> state_;
  std::thread thread_;
};

}  // namespace psycache
