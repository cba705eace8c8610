#include "command_line.hpp"

#include <algorithm>
#include <optional>

namespace psycache::cli {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Whether arg is an option (as opposed to a positional argument).
bool looks_like_option(std::string_view arg) {
  if (arg.size() < 2 || arg[0] != '-') return false;  // "", "x", "-"
  return !is_digit(arg[1]);                           // "-5" is a number
}

const OptionSyntax* find_option(const CommandSyntax& syntax, std::string_view name) {
  const auto it = std::find_if(syntax.options.begin(), syntax.options.end(),
                               [&](const OptionSyntax& option) { return option.name == name; });
  return it == syntax.options.end() ? nullptr : &*it;
}

std::string argument_name(const CommandSyntax& syntax, std::size_t index) {
  if (index < syntax.argument_names.size()) return std::string{syntax.argument_names[index]};
  return "argument";
}

}  // namespace

bool CommandLine::has(std::string_view name) const { return options.find(name) != options.end(); }

const std::string* CommandLine::value(std::string_view name) const {
  const auto it = options.find(name);
  return it == options.end() ? nullptr : &it->second;
}

CommandLine parse_command_line(const CommandSyntax& syntax, std::span<const std::string> args) {
  CommandLine line;
  // The first problem found; reported only if --help does not come later.
  std::optional<std::string> problem;
  const auto complain = [&](std::string message) {
    if (!problem) problem = std::move(message);
  };

  bool options_ended = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_ended || !looks_like_option(arg)) {
      line.arguments.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      line.help = true;
      continue;
    }
    if (arg.size() < 3 || arg[1] != '-') {
      complain("unknown option '" + arg + "'");
      continue;
    }

    const std::size_t equals = arg.find('=');
    const std::string name =
        arg.substr(2, equals == std::string::npos ? std::string::npos : equals - 2);
    const OptionSyntax* option = find_option(syntax, name);
    if (option == nullptr) {
      complain("unknown option '--" + name + "'");
      continue;
    }
    std::string value;
    if (equals != std::string::npos) {
      if (!option->takes_value) complain("option '--" + name + "' takes no value");
      value = arg.substr(equals + 1);
    } else if (option->takes_value) {
      // The next word is the value, unless it is missing or is another option.
      if (i + 1 >= args.size() || args[i + 1].starts_with("--")) {
        complain("option '--" + name + "' needs a value");
        continue;
      }
      value = args[++i];
    }
    if (!line.options.emplace(name, std::move(value)).second) {
      complain("option '--" + name + "' is given more than once");
    }
  }

  if (line.help) return line;
  if (!problem && line.arguments.size() < syntax.min_arguments) {
    problem = "missing " + argument_name(syntax, line.arguments.size());
  }
  if (!problem && line.arguments.size() > syntax.max_arguments) {
    problem = "unexpected argument '" + line.arguments[syntax.max_arguments] + "'";
  }
  if (problem) throw UsageError(*problem);
  return line;
}

}  // namespace psycache::cli
