// Parsing the arguments of one command: options and positional arguments.
//
// Options are long (`--name VALUE` or `--name=VALUE`, `--flag`); the only
// short one is `-h` (help). Options and arguments may come in any order; `--`
// ends the options, so that `psycache get -- --odd-key` works. A lone `-` and
// an argument that looks like a negative number (`-5`, `-1.5e3`) are
// positional arguments, so `psycache put k -1 --ttl 1m` stores -1.
#pragma once

#include <cstddef>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace psycache::cli {

// The command line cannot be understood: exit status 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An option a command accepts, named without its leading "--".
struct OptionSyntax {
  std::string_view name;
  bool takes_value = false;
};

// What a command accepts.
struct CommandSyntax {
  std::span<const OptionSyntax> options = {};
  std::size_t min_arguments = 0;
  std::size_t max_arguments = 0;
  // The names of the positional arguments, for "missing KEY" messages.
  std::span<const std::string_view> argument_names = {};
};

// A command line that matched a CommandSyntax.
struct CommandLine {
  // True when --help or -h was given; nothing else is checked then.
  bool help = false;
  std::vector<std::string> arguments;
  // The options given, by name; a flag has an empty value.
  std::map<std::string, std::string, std::less<>> options;

  [[nodiscard]] bool has(std::string_view name) const;
  // The value of an option that was given, or nullptr.
  [[nodiscard]] const std::string* value(std::string_view name) const;
};

// Parses args (the words after the command's name). Throws UsageError for an
// unknown option, an option without its value, a flag with a value, an
// option given twice, and too few or too many arguments.
CommandLine parse_command_line(const CommandSyntax& syntax, std::span<const std::string> args);

}  // namespace psycache::cli
