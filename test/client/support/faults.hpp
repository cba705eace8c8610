// Faults to inject into the test cluster, and a load to run through them.
//
// Every helper works on the cluster the suites share (PSYCACHE_TEST_DSN,
// PSYCACHE_TEST_PG_CTL, PSYCACHE_TEST_SERVER_LOG), needs nothing but the
// test's own processes and that cluster's server, and is bounded in time. A
// test that uses one must hold the psycache_database resource lock (all suites
// in this folder do).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace psycache::test {

// A TCP socket on 127.0.0.1 that accepts connections (the kernel completes
// the handshake) and never sends a byte: a server that hangs.
class SilentListener {
 public:
  SilentListener();
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  SilentListener(SilentListener&&) = delete;
  SilentListener& operator=(SilentListener&&) = delete;
  ~SilentListener();

  [[nodiscard]] int port() const noexcept { return port_; }
  // "host=127.0.0.1 port=<port>".
  [[nodiscard]] std::string dsn() const;

 private:
  int port_ = 0;  // before socket_, which sets it
  int socket_ = -1;
};

// A port on 127.0.0.1 that nothing listens on (it was free a moment ago).
int closed_port();

// Stops a server process with SIGSTOP until destroyed (then SIGCONT): its
// connections stay open and the kernel keeps acknowledging, but nothing
// answers.
class FrozenProcess {
 public:
  explicit FrozenProcess(int pid);
  FrozenProcess(const FrozenProcess&) = delete;
  FrozenProcess& operator=(const FrozenProcess&) = delete;
  FrozenProcess(FrozenProcess&&) = delete;
  FrozenProcess& operator=(FrozenProcess&&) = delete;
  ~FrozenProcess();

 private:
  int pid_;
};

// Stops the server (pg_ctl stop -m fast) until destroyed, then starts it and
// waits until it accepts connections.
class StoppedServer {
 public:
  StoppedServer();
  StoppedServer(const StoppedServer&) = delete;
  StoppedServer& operator=(const StoppedServer&) = delete;
  StoppedServer(StoppedServer&&) = delete;
  StoppedServer& operator=(StoppedServer&&) = delete;
  ~StoppedServer();
};

// Waits until the test database accepts connections; throws after limit.
void wait_for_server(std::chrono::seconds limit = std::chrono::seconds{60});

// Kills one backend with SIGKILL, which makes the postmaster end every
// session and run crash recovery; returns once the server accepts connections
// again. Unlogged tables are then empty.
void crash_server();

// The backends whose application_name is application_name.
std::vector<int> backends_of(std::string_view application_name);

// pg_terminate_backend on each backend of application_name; returns how many.
int terminate_backends(std::string_view application_name);

// The server log's size now, and the text it gained since offset.
std::uintmax_t server_log_size();
std::string server_log_since(std::uintmax_t offset);

// What a load run saw: operations that succeeded, that failed with a
// ConnectionError (TimeoutError included), and every other failure.
struct LoadReport {
  std::int64_t succeeded = 0;
  std::int64_t connection_errors = 0;
  std::vector<std::string> other_errors;
  // The slowest operation, successful or not.
  std::chrono::steady_clock::duration slowest{};
  // Operations that started after the mark (see Load::mark) and failed.
  std::int64_t failed_after_mark = 0;
  std::int64_t succeeded_after_mark = 0;
};

// Threads that call one operation in a loop until stopped, and classify each
// outcome. operation(thread, iteration) returns normally on success and throws
// on failure; a psycache::ConnectionError counts as such, anything else is an
// other_error (a wrong result should be thrown as std::logic_error).
class Load {
 public:
  using Operation = std::function<void(int thread, std::int64_t iteration)>;

  Load(int threads, Operation operation);
  Load(const Load&) = delete;
  Load& operator=(const Load&) = delete;
  Load(Load&&) = delete;
  Load& operator=(Load&&) = delete;
  // Stops and joins the threads.
  ~Load();

  // From now on, failures are also counted in failed_after_mark.
  void mark();
  // Stops the threads, waits for them and returns what they saw.
  LoadReport stop();

 private:
  void run(int thread);

  Operation operation_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::int64_t> mark_{0};  // steady_clock ticks; 0: no mark
  std::mutex mutex_;
  LoadReport report_;
  std::vector<std::thread> threads_;
};

}  // namespace psycache::test
