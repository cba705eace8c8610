// The psycache tool run as a process: help, usage errors, and what it does
// without reaching a server.
#include <array>
#include <chrono>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <psycache/init_db.hpp>

#include "support/cli_database.hpp"

using psycache::cli_test::ProcessResult;
using psycache::cli_test::run_psycache;

namespace {

constexpr const char* kUnreachable = "host=127.0.0.1 port=1";
constexpr std::array<const char*, 11> kCommands{
    "init-db", "get", "put", "remove", "cleanup", "flush", "stats", "add", "touch", "ttl", "incr"};

// Checks that result is a usage error with problem, and the hint for command.
void check_usage_error(const ProcessResult& result, const std::string& problem,
                       const std::string& command) {
  CHECK(result.status == 2);
  CHECK(result.out.empty());
  const std::string hint = command.empty() ? "psycache --help" : "psycache " + command + " --help";
  CHECK(result.err == "psycache: " + problem + "\nTry '" + hint + "' for more information.\n");
}

}  // namespace

TEST_CASE("psycache --help lists every command and the exit statuses, and exits 0") {
  for (const char* flag : {"--help", "-h"}) {
    const ProcessResult result = run_psycache({flag});
    CHECK(result.status == 0);
    CHECK(result.err.empty());
    CHECK(result.out.starts_with("usage: psycache <command> [options] [arguments]\n"));
    for (const std::string command : kCommands) {
      CHECK_THAT(result.out, Catch::Contains("  " + command + " "));
    }
    CHECK_THAT(result.out, Catch::Contains("exit status: 0 done, 1 failed"));
  }
}

TEST_CASE("every command has its --help, which exits 0 whatever else is on the line") {
  for (const std::string command : kCommands) {
    CAPTURE(command);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{command, "--help"},
          {command, "-h"},
          {command, "--no-such-option", "a", "b", "c", "--help"}}) {
      const ProcessResult result = run_psycache(args);
      CHECK(result.status == 0);
      CHECK(result.err.empty());
      CHECK(result.out.starts_with("usage: psycache " + command));
      CHECK_THAT(result.out, Catch::Contains("exit status: 0"));
    }
  }
}

TEST_CASE("no command, or an unknown one, is a usage error: exit 2 and a hint") {
  check_usage_error(run_psycache({}), "missing command", "");
  check_usage_error(run_psycache({"fetch", "k"}), "unknown command 'fetch'", "");
  check_usage_error(run_psycache({"--dsn", kUnreachable, "get", "k"}),
                    "missing command before '--dsn' (options go after it)", "");
}

TEST_CASE("an unknown option, a missing or extra argument is a usage error of the command") {
  check_usage_error(run_psycache({"get", "k", "--colour"}), "unknown option '--colour'", "get");
  check_usage_error(run_psycache({"stats", "-v"}), "unknown option '-v'", "stats");
  check_usage_error(run_psycache({"get"}), "missing KEY", "get");
  check_usage_error(run_psycache({"remove"}), "missing KEY", "remove");
  check_usage_error(run_psycache({"put", "--ttl", "5"}), "missing KEY", "put");
  check_usage_error(run_psycache({"get", "a", "b"}), "unexpected argument 'b'", "get");
  check_usage_error(run_psycache({"put", "k", "1", "2", "--ttl", "5"}), "unexpected argument '2'",
                    "put");
  check_usage_error(run_psycache({"flush", "now"}), "unexpected argument 'now'", "flush");
  check_usage_error(run_psycache({"init-db", "a", "b"}), "unexpected argument 'b'", "init-db");
  check_usage_error(run_psycache({"get", "k", "--dsn"}), "option '--dsn' needs a value", "get");
  check_usage_error(run_psycache({"cleanup", "--pretty"}), "unknown option '--pretty'", "cleanup");
  check_usage_error(run_psycache({"init-db", "--dsn", kUnreachable, kUnreachable}),
                    "give the DSN either as an argument or with --dsn", "init-db");
}

TEST_CASE("put needs a well-formed --ttl, else it is a usage error and nothing is read or sent") {
  check_usage_error(run_psycache({"put", "k", "1", "--dsn", kUnreachable}),
                    "missing option '--ttl' (e.g. --ttl 5m)", "put");
  for (const char* ttl : {"abc", "-5", "1h30m", "5x", ""}) {
    CAPTURE(ttl);
    const ProcessResult result =
        run_psycache({"put", "k", "1", "--ttl", ttl, "--dsn", kUnreachable});
    CHECK(result.status == 2);
    CHECK_THAT(result.err, Catch::StartsWith("psycache: invalid --ttl '" + std::string{ttl} +
                                             "': expected a number of seconds"));
  }
  const ProcessResult too_long =
      run_psycache({"put", "k", "1", "--ttl", "300000000d", "--dsn", kUnreachable});
  check_usage_error(too_long,
                    "invalid --ttl '300000000d': it is too long for a TTL (the limit is about "
                    "292,000 years)",
                    "put");
}

TEST_CASE("an empty --schema is refused as a usage error by every command") {
  for (const std::string command : kCommands) {
    CAPTURE(command);
    std::vector<std::string> args{command, "--schema", ""};
    if (command == "get" || command == "remove" || command == "ttl") args.emplace_back("k");
    if (command == "put" || command == "add") args.insert(args.end(), {"k", "1", "--ttl", "1m"});
    if (command == "touch" || command == "incr") args.insert(args.end(), {"k", "--ttl", "1m"});
    if (command != "init-db") args.insert(args.end(), {"--dsn", kUnreachable});
    check_usage_error(run_psycache(args), "option '--schema' needs a schema name, not ''", command);
  }
}

TEST_CASE("init-db without a DSN prints the SQL it would run and exits 0") {
  const ProcessResult plain = run_psycache({"init-db"});
  CHECK(plain.status == 0);
  CHECK(plain.err.empty());
  CHECK(plain.out == psycache::init_db_sql() + "\n");
  CHECK(plain.out == "CREATE EXTENSION IF NOT EXISTS psycache;\n");

  const ProcessResult in_schema = run_psycache({"init-db", "--schema", "My Cache"});
  CHECK(in_schema.status == 0);
  CHECK(in_schema.out == psycache::init_db_sql({.schema = "My Cache"}) + "\n");
  CHECK_THAT(in_schema.out, Catch::Contains(R"(SCHEMA "My Cache")"));
}

TEST_CASE("init-db without a DSN ignores PSYCACHE_DSN: it changes nothing") {
  const ProcessResult result =
      run_psycache({"init-db"}, {.env = {{"PSYCACHE_DSN", std::string{kUnreachable}}}});
  CHECK(result.status == 0);
  CHECK(result.out == psycache::init_db_sql() + "\n");
}

TEST_CASE("an unreachable server fails every command promptly with exit 1 and libpq's reason") {
  for (const std::string command : kCommands) {
    CAPTURE(command);
    std::vector<std::string> args{command};
    if (command == "get" || command == "remove" || command == "ttl") args.emplace_back("k");
    if (command == "put" || command == "add") args.insert(args.end(), {"k", "{}", "--ttl", "1m"});
    if (command == "touch" || command == "incr") args.insert(args.end(), {"k", "--ttl", "1m"});
    args.insert(args.end(), {"--dsn", kUnreachable});
    const ProcessResult result = run_psycache(args);
    CHECK(result.status == 1);
    CHECK(result.out.empty());
    CHECK_THAT(result.err, Catch::StartsWith("psycache: " + command + " failed: "));
    CHECK_THAT(result.err, Catch::Contains("127.0.0.1"));
    CHECK(result.err.ends_with("\n"));
    CHECK(result.elapsed < std::chrono::seconds{10});
  }
}

TEST_CASE("a server given by PSYCACHE_DSN is used, and --dsn overrides it") {
  const ProcessResult from_env =
      run_psycache({"stats"}, {.env = {{"PSYCACHE_DSN", "host=127.0.0.1 port=1"}}});
  CHECK(from_env.status == 1);
  CHECK_THAT(from_env.err, Catch::Contains("port 1 failed"));

  const ProcessResult overridden =
      run_psycache({"stats", "--dsn", "host=127.0.0.1 port=2"},
                   {.env = {{"PSYCACHE_DSN", "host=127.0.0.1 port=1"}}});
  CHECK(overridden.status == 1);
  CHECK_THAT(overridden.err, Catch::Contains("port 2 failed"));
}

TEST_CASE("a DSN libpq cannot parse fails with exit 1 and says so") {
  const ProcessResult result = run_psycache({"get", "k", "--dsn", "this is not a DSN"});
  CHECK(result.status == 1);
  CHECK_THAT(result.err, Catch::StartsWith("psycache: get failed: invalid DSN: "));
}

TEST_CASE("bad JSON fails with exit 1 and the parser's reason, before connecting") {
  const ProcessResult argument =
      run_psycache({"put", "k", "{\"a\": }", "--ttl", "1m", "--dsn", kUnreachable});
  CHECK(argument.status == 1);
  CHECK(argument.out.empty());
  CHECK_THAT(argument.err, Catch::StartsWith("psycache: put failed: invalid JSON: parse error at "
                                             "line 1, column 7: syntax error"));

  const ProcessResult piped =
      run_psycache({"put", "k", "--ttl", "1m", "--dsn", kUnreachable}, {.in = "[1, 2"});
  CHECK(piped.status == 1);
  CHECK_THAT(piped.err, Catch::StartsWith("psycache: put failed: invalid JSON on stdin: "));

  const ProcessResult empty = run_psycache({"put", "k", "-", "--ttl", "1m", "--dsn", kUnreachable});
  CHECK(empty.status == 1);
  CHECK_THAT(empty.err, Catch::StartsWith("psycache: put failed: invalid JSON on stdin: "));
  CHECK_THAT(empty.err, Catch::Contains("unexpected end of input"));
}
