// The `psycache` command-line tool, as a function: arguments and streams in,
// exit status out.
#pragma once

#include <iosfwd>
#include <span>
#include <string>

namespace psycache::cli {

// The exit statuses of psycache.
enum ExitStatus : int {
  kDone = 0,    // the command did its job
  kFailed = 1,  // it could not: the server, the input, a miss of get
  kUsage = 2,   // the command line is wrong: nothing was done
};

// Runs the command args names (args excludes the program name): reads in,
// writes results to out, and help, usage errors ("psycache: <problem>" and a
// hint) and failures ("psycache: <command> failed: <reason>") to err.
ExitStatus run(std::span<const std::string> args, std::istream& in, std::ostream& out,
               std::ostream& err);

}  // namespace psycache::cli
