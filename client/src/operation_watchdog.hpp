// Cutting the connection of a statement that outlives CacheOptions::operation_timeout.
//
// libpq has no read timeout: it blocks in poll()/recv() for as long as the
// server does not answer, and a server that accepted the connection and then
// stopped answering (a stopped process, a frozen host, a network partition the
// kernel has not noticed) never does. The watchdog's thread calls shutdown(2)
// on the socket of a statement past its deadline: libpq wakes up, sees the
// connection lost, and the pool discards it. shutdown is safe while another
// thread blocks on the socket and, unlike close, leaves the descriptor to its
// owner, so libpq closes it as usual.
#pragma once

#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

namespace psycache::detail {

// Thrown by the cache when the watchdog cut a statement; rethrow_translated
// turns it into a TimeoutError that names the operation.
struct OperationTimedOut {
  std::chrono::milliseconds timeout;
};

class OperationWatchdog {
  struct Entry {
    int socket = -1;
    std::chrono::steady_clock::time_point deadline;
    bool fired = false;
  };

 public:
  // Watches one statement from construction to disarm() or destruction.
  class Watch {
   public:
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    Watch(Watch&&) = delete;
    Watch& operator=(Watch&&) = delete;
    ~Watch() { (void)disarm(); }

    // Stops watching; returns whether the deadline passed and the socket was
    // shut down. Idempotent.
    bool disarm() noexcept;

   private:
    friend class OperationWatchdog;
    Watch(OperationWatchdog& watchdog, std::list<Entry>::iterator entry) noexcept
        : watchdog_(&watchdog), entry_(entry) {}

    OperationWatchdog* watchdog_;
    std::list<Entry>::iterator entry_;
    bool armed_ = true;
    bool fired_ = false;
  };

  // Starts the thread.
  explicit OperationWatchdog(std::chrono::milliseconds timeout);
  OperationWatchdog(const OperationWatchdog&) = delete;
  OperationWatchdog& operator=(const OperationWatchdog&) = delete;
  OperationWatchdog(OperationWatchdog&&) = delete;
  OperationWatchdog& operator=(OperationWatchdog&&) = delete;
  // Stops and joins the thread. No Watch may outlive the watchdog.
  ~OperationWatchdog();

  // Shuts socket down unless the returned Watch is disarmed within the timeout.
  [[nodiscard]] Watch watch(int socket);

  [[nodiscard]] std::chrono::milliseconds timeout() const noexcept { return timeout_; }

 private:
  void run();

  const std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  std::condition_variable changed_;
  // In order of deadline: every entry gets now + timeout_ under the mutex.
  std::list<Entry> entries_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace psycache::detail
