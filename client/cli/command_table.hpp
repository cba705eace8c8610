// The commands of `psycache`: names, syntax, help texts.
#pragma once

#include <span>
#include <string_view>

#include "command_line.hpp"
#include "commands.hpp"

namespace psycache::cli {

struct Command {
  std::string_view name;
  CommandSyntax syntax;
  // The text of `psycache <name> --help`.
  std::string_view help;
  // The library's name for the operation, as its error messages use it.
  std::string_view library_operation;
  void (*run)(const CommandLine& line, Streams streams);
};

// The command called name, or nullptr.
const Command* find_command(std::string_view name);

// The text of `psycache --help`.
std::string_view overview_help();

}  // namespace psycache::cli
