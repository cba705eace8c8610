#include "cli.hpp"

#include <exception>
#include <ostream>
#include <string_view>

#include <psycache/errors.hpp>

#include "command_line.hpp"
#include "command_table.hpp"
#include "commands.hpp"
#include "failure_message.hpp"

namespace psycache::cli {
namespace {

ExitStatus usage_error(std::ostream& err, std::string_view problem, std::string_view help_for) {
  err << "psycache: " << problem << "\nTry 'psycache " << help_for
      << "--help' for more information.\n";
  return kUsage;
}

ExitStatus failure(std::ostream& err, const Command& command, std::string_view reason) {
  err << "psycache: " << command.name << " failed: " << reason << '\n';
  return kFailed;
}

ExitStatus run_command(const Command& command, std::span<const std::string> args, std::istream& in,
                       std::ostream& out, std::ostream& err) {
  const std::string help_for = std::string{command.name} + " ";
  try {
    const CommandLine line = parse_command_line(command.syntax, args);
    if (line.help) {
      out << command.help << std::flush;
      return out ? kDone : failure(err, command, "cannot write to stdout");
    }
    command.run(line, Streams{.in = in, .out = out});
    if (!out.flush()) return failure(err, command, "cannot write to stdout");
    return kDone;
  } catch (const UsageError& e) {
    return usage_error(err, e.what(), help_for);
  } catch (const CommandFailed& e) {
    return failure(err, command, e.what());
  } catch (const Error& e) {
    return failure(err, command, failure_reason(e.what(), command.library_operation));
  } catch (const std::exception& e) {
    return failure(err, command, e.what());
  } catch (...) {
    return failure(err, command, "unexpected error");
  }
}

}  // namespace

ExitStatus run(std::span<const std::string> args, std::istream& in, std::ostream& out,
               std::ostream& err) {
  if (args.empty()) return usage_error(err, "missing command", "");
  const std::string& name = args[0];
  if (name == "--help" || name == "-h") {
    if (out << overview_help() << std::flush) return kDone;
    err << "psycache: cannot write to stdout\n";
    return kFailed;
  }
  if (const Command* command = find_command(name)) {
    return run_command(*command, args.subspan(1), in, out, err);
  }
  if (name.starts_with("-")) {
    return usage_error(err, "missing command before '" + name + "' (options go after it)", "");
  }
  return usage_error(err, "unknown command '" + name + "'", "");
}

}  // namespace psycache::cli
