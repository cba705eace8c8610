#include "support/process.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <string_view>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX leaves it undeclared

namespace psycache::cli_test {
namespace {

[[noreturn]] void fail(const std::string& what, int error = errno) {
  throw std::runtime_error(what + ": " + std::strerror(error));  // NOLINT(concurrency-mt-unsafe)
}

// A file descriptor that closes itself.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }

  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool open() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

Pipe make_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) fail("pipe2");
  return Pipe{Fd{fds[0]}, Fd{fds[1]}};
}

// The parent's environment with options.env applied, as "NAME=value" strings.
std::vector<std::string> child_environment(const ProcessOptions& options) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text{*entry};
    const std::string name{text.substr(0, text.find('='))};
    if (!options.env.contains(name)) env.emplace_back(text);
  }
  for (const auto& [name, value] : options.env) {
    if (value) env.push_back(name + "=" + *value);
  }
  return env;
}

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

pid_t spawn(const std::string& program, std::vector<std::string> args, std::vector<std::string> env,
            Pipe& in, Pipe& out, Pipe& err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write.get(), STDERR_FILENO);
  std::vector<char*> argv = pointers_to(args);
  std::vector<char*> envp = pointers_to(env);
  pid_t pid = 0;
  const int error = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) fail("cannot start " + program, error);
  return pid;
}

}  // namespace

ProcessResult run_process(const std::string& program, const std::vector<std::string>& args,
                          const ProcessOptions& options) {
  // A child that does not read its stdin must not kill the test with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);  // NOLINT(cert-err33-c)

  Pipe in = make_pipe();
  Pipe out = make_pipe();
  Pipe err = make_pipe();
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = spawn(program, args, child_environment(options), in, out, err);
  in.read.reset();
  out.write.reset();
  err.write.reset();
  if (::fcntl(in.write.get(), F_SETFL, O_NONBLOCK) != 0) fail("fcntl");

  ProcessResult result;
  std::string_view to_write = options.in;
  if (to_write.empty()) in.write.reset();
  const auto deadline = start + options.timeout;
  bool killed = false;
  while (out.read.open() || err.read.open()) {
    std::array<pollfd, 3> fds{pollfd{out.read.get(), POLLIN, 0}, pollfd{err.read.get(), POLLIN, 0},
                              pollfd{in.write.get(), POLLOUT, 0}};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 && !killed) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    const int ready =
        ::poll(fds.data(), fds.size(), killed ? 1000 : static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) fail("poll");
    if (ready <= 0) {
      if (killed) break;
      continue;
    }
    std::array<char, 65536> buffer{};
    const auto drain = [&](pollfd& fd, Fd& pipe, std::string& sink) {
      if (fd.fd < 0 || fd.revents == 0) return;
      const ssize_t n = ::read(pipe.get(), buffer.data(), buffer.size());
      if (n > 0) {
        sink.append(buffer.data(), static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        pipe.reset();
      }
    };
    drain(fds[0], out.read, result.out);
    drain(fds[1], err.read, result.err);
    if (fds[2].fd >= 0 && fds[2].revents != 0) {
      const ssize_t n = ::write(in.write.get(), to_write.data(), to_write.size());
      if (n > 0) to_write.remove_prefix(static_cast<std::size_t>(n));
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || to_write.empty()) in.write.reset();
    }
  }
  in.write.reset();

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) fail("waitpid");
  }
  result.elapsed = std::chrono::steady_clock::now() - start;
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return result;
}

}  // namespace psycache::cli_test
