#include "support/faults.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

#include <pqxx/nontransaction>
#include <pqxx/result>

#include <psycache/errors.hpp>

#include "support/test_db.hpp"

using namespace std::chrono_literals;

namespace psycache::test {
namespace {

// A TCP socket bound to an ephemeral port of 127.0.0.1; sets port.
int bound_socket(int& port) {
  const int socket = ::socket(AF_INET, SOCK_STREAM, 0);
  if (socket < 0) throw std::runtime_error("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  auto* generic = reinterpret_cast<sockaddr*>(&address);
  if (::bind(socket, generic, length) != 0 || ::getsockname(socket, generic, &length) != 0) {
    ::close(socket);
    throw std::runtime_error("bind() to 127.0.0.1 failed");
  }
  port = ntohs(address.sin_port);
  return socket;
}

std::string server_log_path() {
  const char* path = std::getenv("PSYCACHE_TEST_SERVER_LOG");  // NOLINT(concurrency-mt-unsafe)
  if (path == nullptr || *path == '\0') {
    throw std::runtime_error("PSYCACHE_TEST_SERVER_LOG is not set; `./run up` prints it");
  }
  return path;
}

}  // namespace

SilentListener::SilentListener() : socket_(bound_socket(port_)) {
  if (::listen(socket_, 64) != 0) {
    ::close(socket_);
    throw std::runtime_error("listen() failed");
  }
}

SilentListener::~SilentListener() { ::close(socket_); }

std::string SilentListener::dsn() const { return "host=127.0.0.1 port=" + std::to_string(port_); }

int closed_port() {
  int port = 0;
  ::close(bound_socket(port));
  return port;
}

FrozenProcess::FrozenProcess(int pid) : pid_(pid) {
  if (::kill(pid_, SIGSTOP) != 0) {
    throw std::runtime_error("cannot stop process " + std::to_string(pid_) + " (SIGSTOP): errno " +
                             std::to_string(errno));
  }
}

FrozenProcess::~FrozenProcess() { ::kill(pid_, SIGCONT); }

StoppedServer::StoppedServer() { pg_ctl("stop -m fast -w"); }

StoppedServer::~StoppedServer() {
  try {
    pg_ctl("start -w");
    wait_for_server();
  } catch (...) {  // NOLINT(bugprone-empty-catch): the next test reports a server that is down
  }
}

void wait_for_server(std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    try {
      const auto connection = connect();
      pqxx::nontransaction transaction{*connection};
      transaction.exec("SELECT 1");
      return;
    } catch (const std::exception& e) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error(std::string{"the server did not come back: "} + e.what());
      }
    }
    std::this_thread::sleep_for(100ms);
  }
}

void crash_server() {
  int pid = 0;
  const auto victim = connect();
  {
    pqxx::nontransaction transaction{*victim};
    pid = transaction.exec("SELECT pg_backend_pid()")[0][0].as<int>();
  }
  if (::kill(pid, SIGKILL) != 0) {
    throw std::runtime_error("cannot kill backend " + std::to_string(pid) + ": errno " +
                             std::to_string(errno));
  }
  // Once the postmaster has reaped its child it is in crash recovery and
  // refuses new connections until it is done, so no connection made after
  // this loop can reach the server from before the crash.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (::kill(pid, 0) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("backend " + std::to_string(pid) + " did not go away");
    }
    std::this_thread::sleep_for(20ms);
  }
  wait_for_server();
}

std::vector<int> backends_of(std::string_view application_name) {
  const auto connection = connect();
  pqxx::nontransaction transaction{*connection};
  const pqxx::result rows =
      transaction.exec("SELECT pid FROM pg_stat_activity WHERE application_name = " +
                       transaction.quote(std::string{application_name}) + " ORDER BY pid");
  std::vector<int> pids;
  for (const auto& row : rows) pids.push_back(row[0].as<int>());
  return pids;
}

int terminate_backends(std::string_view application_name) {
  const auto connection = connect();
  pqxx::nontransaction transaction{*connection};
  return transaction
      .exec(
          "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
          "WHERE application_name = " +
          transaction.quote(std::string{application_name}))[0][0]
      .as<int>();
}

std::uintmax_t server_log_size() { return std::filesystem::file_size(server_log_path()); }

std::string server_log_since(std::uintmax_t offset) {
  std::ifstream log{server_log_path(), std::ios::binary};
  log.seekg(static_cast<std::streamoff>(offset));
  return std::string{std::istreambuf_iterator<char>{log}, std::istreambuf_iterator<char>{}};
}

Load::Load(int threads, Operation operation) : operation_(std::move(operation)) {
  threads_.reserve(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) threads_.emplace_back([this, t] { run(t); });
}

Load::~Load() { (void)stop(); }

void Load::mark() { mark_ = std::chrono::steady_clock::now().time_since_epoch().count(); }

LoadReport Load::stop() {
  stopping_ = true;
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  const std::lock_guard lock{mutex_};
  return report_;
}

void Load::run(int thread) {
  for (std::int64_t iteration = 0; !stopping_; ++iteration) {
    const auto start = std::chrono::steady_clock::now();
    const std::int64_t mark = mark_;
    const bool after_mark = mark != 0 && start.time_since_epoch().count() >= mark;
    enum class Outcome { kSuccess, kConnectionError, kOther } outcome = Outcome::kSuccess;
    std::string message;
    try {
      operation_(thread, iteration);
    } catch (const ConnectionError& e) {
      outcome = Outcome::kConnectionError;
      message = e.what();
    } catch (const std::exception& e) {
      outcome = Outcome::kOther;
      message = e.what();
    }
    const auto took = std::chrono::steady_clock::now() - start;
    const std::lock_guard lock{mutex_};
    report_.slowest = std::max(report_.slowest, took);
    if (outcome == Outcome::kSuccess) {
      ++report_.succeeded;
      if (after_mark) ++report_.succeeded_after_mark;
      continue;
    }
    if (after_mark) ++report_.failed_after_mark;
    if (outcome == Outcome::kConnectionError) {
      ++report_.connection_errors;
    } else if (report_.other_errors.size() < 20) {
      report_.other_errors.push_back(message);
    }
    // A failed call costs no time; do not spin on a server that is down.
    std::this_thread::sleep_for(10ms);
  }
}

}  // namespace psycache::test
