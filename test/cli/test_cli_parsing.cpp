// The CLI's parsing of arguments, TTLs and error messages, in process.
#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "cli.hpp"
#include "command_line.hpp"
#include "failure_message.hpp"
#include "ttl_argument.hpp"

namespace cli = psycache::cli;
using std::chrono::microseconds;

namespace {

constexpr std::array kOptions{cli::OptionSyntax{.name = "dsn", .takes_value = true},
                              cli::OptionSyntax{.name = "pretty"}};
constexpr std::array<std::string_view, 2> kNames{"KEY", "JSON"};
constexpr cli::CommandSyntax kSyntax{
    .options = kOptions, .min_arguments = 1, .max_arguments = 2, .argument_names = kNames};

cli::CommandLine parse(const std::vector<std::string>& args) {
  return cli::parse_command_line(kSyntax, args);
}

std::string usage_problem(const std::vector<std::string>& args) {
  try {
    parse(args);
  } catch (const cli::UsageError& e) {
    return e.what();
  }
  return "(no usage error)";
}

microseconds ttl(std::string_view text) { return cli::parse_ttl(text).microseconds(); }

std::string ttl_problem(std::string_view text) {
  try {
    cli::parse_ttl(text);
  } catch (const cli::UsageError& e) {
    return e.what();
  }
  return "(no usage error)";
}

}  // namespace

TEST_CASE("options and arguments come in any order, with a space or = before a value") {
  const cli::CommandLine line = parse({"--pretty", "k", "--dsn=host=x", "v"});
  CHECK_FALSE(line.help);
  CHECK(line.arguments == std::vector<std::string>{"k", "v"});
  CHECK(line.has("pretty"));
  REQUIRE(line.value("dsn") != nullptr);
  CHECK(*line.value("dsn") == "host=x");
  CHECK(*parse({"k", "--dsn", "host=y port=1"}).value("dsn") == "host=y port=1");
  CHECK(parse({"k"}).value("dsn") == nullptr);
  CHECK(parse({"k", "--dsn="}).value("dsn")->empty());
}

TEST_CASE("'-', a negative number and everything after '--' are arguments") {
  CHECK(parse({"k", "-"}).arguments == std::vector<std::string>{"k", "-"});
  CHECK(parse({"k", "-12.5"}).arguments == std::vector<std::string>{"k", "-12.5"});
  CHECK(parse({"--", "--pretty", "-x"}).arguments == std::vector<std::string>{"--pretty", "-x"});
  CHECK_FALSE(parse({"--", "--pretty"}).has("pretty"));
}

TEST_CASE("a command line the command cannot take is a usage error naming the problem") {
  CHECK(usage_problem({"k", "--colour"}) == "unknown option '--colour'");
  CHECK(usage_problem({"k", "-x"}) == "unknown option '-x'");
  CHECK(usage_problem({"k", "--dsn"}) == "option '--dsn' needs a value");
  CHECK(usage_problem({"k", "--dsn", "--pretty"}) == "option '--dsn' needs a value");
  CHECK(usage_problem({"k", "--pretty=yes"}) == "option '--pretty' takes no value");
  CHECK(usage_problem({"k", "--pretty", "--pretty"}) ==
        "option '--pretty' is given more than once");
  CHECK(usage_problem({}) == "missing KEY");
  CHECK(usage_problem({"a", "b", "c"}) == "unexpected argument 'c'");
}

TEST_CASE("a help option (--help, -h) wins over every other problem, but not as a value") {
  CHECK(parse({"--help"}).help);
  CHECK(parse({"--colour", "a", "b", "c", "-h"}).help);
  const cli::CommandLine line = parse({"k", "--dsn", "-h"});
  CHECK_FALSE(line.help);
  CHECK(*line.value("dsn") == "-h");
  CHECK(parse({"--", "--help"}).arguments == std::vector<std::string>{"--help"});
  CHECK_FALSE(parse({"--", "--help"}).help);
}

TEST_CASE("a TTL is a number of seconds, or a number with a unit") {
  CHECK(ttl("30") == std::chrono::seconds{30});
  CHECK(ttl("0") == microseconds{0});
  CHECK(ttl("45s") == std::chrono::seconds{45});
  CHECK(ttl("500ms") == std::chrono::milliseconds{500});
  CHECK(ttl("5m") == std::chrono::minutes{5});
  CHECK(ttl("2h") == std::chrono::hours{2});
  CHECK(ttl("1d") == std::chrono::hours{24});
  CHECK(ttl("1.5h") == std::chrono::minutes{90});
  CHECK(ttl("0.25") == std::chrono::milliseconds{250});
  CHECK(ttl("007s") == std::chrono::seconds{7});
}

TEST_CASE("anything else given as a TTL is a usage error that shows the expected form") {
  for (const char* text : {"", "abc", "-5", "+5", "5x", "1h30m", "1e3", "1.", ".5", "5 s", " 5",
                           "5S", "inf", "nan", "0x10"}) {
    CAPTURE(text);
    const std::string problem = ttl_problem(text);
    CHECK(problem.starts_with("invalid --ttl '" + std::string{text} + "': expected a number"));
  }
}

TEST_CASE("a TTL beyond what the cache can store is a usage error") {
  CHECK(ttl("106751991d") > std::chrono::hours{24} * 106751990);
  for (const char* text : {"106751992d", "99999999999999999999", "9999999999999999999999.5h"}) {
    CAPTURE(text);
    CHECK(ttl_problem(text) ==
          "invalid --ttl '" + std::string{text} +
              "': it is too long for a TTL (the limit is about 292,000 years)");
  }
}

TEST_CASE("the library's lead before a server error is not repeated") {
  CHECK(cli::failure_reason("flush failed: the connection broke", "flush") ==
        "the connection broke");
  CHECK(cli::failure_reason(R"(get of key "k" failed: value too long (SQLSTATE 54000))", "get") ==
        "value too long (SQLSTATE 54000)");
  CHECK(cli::failure_reason(R"(put of key "a\" failed: b" failed: why)", "put") == "why");
  CHECK(cli::failure_reason(R"(put of key "kkkk"... (3000 bytes) failed: why)", "put") == "why");
}

TEST_CASE("other error messages are kept whole") {
  for (const char* message :
       {"connecting to the server failed: connection refused", R"(invalid key "k": too long)",
        "get failed", R"(get of key "k" failed)", R"(get of key "k)", "getter failed: x"}) {
    CAPTURE(message);
    CHECK(cli::failure_reason(message, "get") == message);
  }
  CHECK(cli::failure_reason("stats failed: x", "") == "stats failed: x");
}

TEST_CASE("the library's advice names the CLI's option and command instead of its API") {
  CHECK(cli::failure_reason("get failed: no function; set CacheOptions::schema, or create it with "
                            "psycache::init_db (or psycache::init_db)",
                            "get") ==
        "no function; set --schema, or create it with psycache init-db (or psycache init-db)");
}

TEST_CASE("nlohmann_json's exception id is dropped from its messages") {
  CHECK(cli::without_json_exception_id("[json.exception.parse_error.101] parse error at line 1") ==
        "parse error at line 1");
  CHECK(cli::without_json_exception_id("plain") == "plain");
}

TEST_CASE("run answers --help, an unknown command and a missing one without a server") {
  std::istringstream in;
  std::ostringstream out;
  std::ostringstream err;
  const std::vector<std::string> help{"--help"};
  CHECK(cli::run(help, in, out, err) == cli::kDone);
  CHECK(out.str().starts_with("usage: psycache <command>"));
  CHECK(err.str().empty());

  const std::vector<std::string> unknown{"fetch", "k"};
  CHECK(cli::run(unknown, in, out, err) == cli::kUsage);
  CHECK(err.str() ==
        "psycache: unknown command 'fetch'\nTry 'psycache --help' for more information.\n");

  err.str("");
  CHECK(cli::run({}, in, out, err) == cli::kUsage);
  CHECK(err.str() == "psycache: missing command\nTry 'psycache --help' for more information.\n");
}
