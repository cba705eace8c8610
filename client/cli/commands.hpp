// What each command of `psycache` does, once its command line has been parsed.
//
// A command writes its result to out and returns. It throws UsageError for a
// command line it cannot use (exit status 2), CommandFailed when it could not
// do its job for a reason of its own, such as a miss or invalid JSON, and
// psycache::Error when the library failed (both exit status 1).
#pragma once

#include <iosfwd>
#include <stdexcept>

#include "command_line.hpp"

namespace psycache::cli {

// The command could not do its job; what() is the reason, for a person.
class CommandFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where a command reads its input and writes its result.
struct Streams {
  std::istream& in;
  std::ostream& out;
};

void run_init_db(const CommandLine& line, Streams streams);
void run_get(const CommandLine& line, Streams streams);
void run_put(const CommandLine& line, Streams streams);
void run_remove(const CommandLine& line, Streams streams);
void run_cleanup(const CommandLine& line, Streams streams);
void run_flush(const CommandLine& line, Streams streams);
void run_stats(const CommandLine& line, Streams streams);
void run_add(const CommandLine& line, Streams streams);
void run_touch(const CommandLine& line, Streams streams);
void run_ttl(const CommandLine& line, Streams streams);
void run_incr(const CommandLine& line, Streams streams);

}  // namespace psycache::cli
