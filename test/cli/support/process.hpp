// Running a program as a child process and capturing what it did.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace psycache::cli_test {

struct ProcessResult {
  // The exit status, or -N when the process was killed by signal N.
  int status = -1;
  std::string out;
  std::string err;
  std::chrono::duration<double> elapsed{};
};

struct ProcessOptions {
  // Written to the child's stdin, which is then closed.
  std::string in = {};
  // Changes to the environment the child inherits: a value sets the variable,
  // std::nullopt removes it.
  std::map<std::string, std::optional<std::string>> env = {};
  // The child is killed after this long (and the result says so: status -9).
  std::chrono::seconds timeout{60};
};

// Runs program with args (argv[0] is program) and waits for it to end.
// Throws std::runtime_error when it cannot be started.
ProcessResult run_process(const std::string& program, const std::vector<std::string>& args,
                          const ProcessOptions& options = {});

}  // namespace psycache::cli_test
