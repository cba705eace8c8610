#include "operation_watchdog.hpp"

#include <sys/socket.h>

namespace psycache::detail {

OperationWatchdog::OperationWatchdog(std::chrono::milliseconds timeout)
    : timeout_(timeout), thread_([this] { run(); }) {}

OperationWatchdog::~OperationWatchdog() {
  {
    const std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  changed_.notify_one();
  thread_.join();
}

OperationWatchdog::Watch OperationWatchdog::watch(int socket) {
  std::unique_lock lock{mutex_};
  // Entries fire in the order of their deadlines, so those that fired come
  // first. Only when none is left to fire does the thread wait without a
  // deadline; any other deadline it waits for comes before this one.
  const bool wake = entries_.empty() || entries_.back().fired;
  entries_.push_back(Entry{socket, std::chrono::steady_clock::now() + timeout_, false});
  const auto entry = std::prev(entries_.end());
  lock.unlock();
  if (wake) changed_.notify_one();
  return Watch{*this, entry};
}

bool OperationWatchdog::Watch::disarm() noexcept {
  if (armed_) {
    const std::lock_guard lock{watchdog_->mutex_};
    fired_ = entry_->fired;
    watchdog_->entries_.erase(entry_);
    armed_ = false;
  }
  return fired_;
}

void OperationWatchdog::run() {
  std::unique_lock lock{mutex_};
  while (!stopping_) {
    // Entries that fired stay until their Watch is disarmed; they come first.
    auto next = entries_.begin();
    while (next != entries_.end() && next->fired) ++next;
    if (next == entries_.end()) {
      changed_.wait(lock);
    } else if (std::chrono::steady_clock::now() >= next->deadline) {
      // Under the mutex: the Watch, and so the connection, is still there.
      ::shutdown(next->socket, SHUT_RDWR);
      next->fired = true;
    } else {
      changed_.wait_until(lock, next->deadline);
    }
  }
}

}  // namespace psycache::detail
