// Client-side checks and message helpers (no server needed).
#include <string>

#include <catch2/catch.hpp>

#include <psycache/errors.hpp>

#include "conninfo.hpp"
#include "error_translation.hpp"
#include "validation.hpp"

using namespace std::string_literals;
using Catch::Matchers::Contains;
using psycache::InvalidArgument;
namespace detail = psycache::detail;

TEST_CASE("Only well-formed UTF-8 passes") {
  CHECK_FALSE(detail::find_invalid_utf8(""));
  CHECK_FALSE(detail::find_invalid_utf8("plain ascii"));
  CHECK_FALSE(detail::find_invalid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  CHECK(detail::find_invalid_utf8("ab\xff") == 2U);
  CHECK(detail::find_invalid_utf8("\xc3") == 0U);              // truncated
  CHECK(detail::find_invalid_utf8("\xc0\xaf") == 0U);          // overlong '/'
  CHECK(detail::find_invalid_utf8("\xe0\x80\xaf") == 0U);      // overlong
  CHECK(detail::find_invalid_utf8("x\xed\xa0\x80") == 1U);     // surrogate U+D800
  CHECK(detail::find_invalid_utf8("\xf4\x90\x80\x80") == 0U);  // past U+10FFFF
  CHECK(detail::find_invalid_utf8("\xf0\x9f\x98") == 0U);      // truncated emoji
  CHECK(detail::find_invalid_utf8("\x80") == 0U);              // lone continuation
}

TEST_CASE("A key is refused for its length, a NUL byte or bad UTF-8") {
  CHECK_NOTHROW(detail::validate_key(""));
  CHECK_NOTHROW(detail::validate_key(std::string(2048, 'k')));
  CHECK_THROWS_WITH(detail::validate_key(std::string(2049, 'k')),
                    Contains("2049 bytes long") && Contains("limit is 2048"));
  CHECK_THROWS_WITH(detail::validate_key("a\0b"s), Contains("NUL byte at offset 1"));
  CHECK_THROWS_WITH(detail::validate_key("ab\xfe"),
                    Contains("not valid UTF-8") && Contains("offset 2"));
}

TEST_CASE("A schema name is refused when empty, too long, or not text") {
  CHECK_NOTHROW(detail::validate_schema("public"));
  CHECK_NOTHROW(detail::validate_schema("Cache \"Quoted\""));
  CHECK_NOTHROW(detail::validate_schema(std::string(63, 's')));
  CHECK_THROWS_WITH(detail::validate_schema(""), Contains("schema must not be empty"));
  CHECK_THROWS_WITH(detail::validate_schema(std::string(64, 's')), Contains("at most 63 bytes"));
  CHECK_THROWS_WITH(detail::validate_schema("a\0b"s), Contains("NUL"));
  CHECK_THROWS_AS(detail::validate_schema("\xff"), InvalidArgument);
}

TEST_CASE("Text in messages is quoted, escaped and shortened") {
  CHECK(detail::quote_for_message("user:1") == "\"user:1\"");
  CHECK(detail::quote_for_message("a\"b\\c") == R"("a\"b\\c")");
  CHECK(detail::quote_for_message("a\0\n\xff"s) == R"("a\x00\x0a\xff")");
  CHECK(detail::quote_for_message("caf\xc3\xa9") == "\"caf\xc3\xa9\"");
  CHECK(detail::quote_for_message(std::string(3000, 'k')) ==
        "\"" + std::string(64, 'k') + "\"... (3000 bytes)");
}

TEST_CASE("Identifiers are quoted with inner quotes doubled") {
  CHECK(detail::quote_identifier("public") == "\"public\"");
  CHECK(detail::quote_identifier("a\"b") == "\"a\"\"b\"");
}

TEST_CASE("Server messages are made fit for one line") {
  CHECK(detail::tidy_server_message("ERROR:  schema \"nope\" does not exist\n"
                                    "LINE 1: select nope.f($1::pg_catalog.text)\n"
                                    "               ^\n") == "schema \"nope\" does not exist");
  CHECK(detail::tidy_server_message("ERROR:  unsupported Unicode escape sequence\n"
                                    "LINE 1: select '\"\\u0000\"'::jsonb\n"
                                    "               ^\n"
                                    "DETAIL:  \\u0000 cannot be converted to text.\n"
                                    "CONTEXT:  JSON data, line 1: \"\\u0000...\n") ==
        "unsupported Unicode escape sequence. \\u0000 cannot be converted to text.");
  CHECK(detail::tidy_server_message(
            "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n"
            "\tIs the server running on that host and accepting TCP/IP connections?\n") ==
        "connection to server at \"127.0.0.1\", port 1 failed: Connection refused. Is the server "
        "running on that host and accepting TCP/IP connections?");
}

TEST_CASE("The pool completes a DSN with its settings unless the DSN has them") {
  using std::chrono::seconds;
  const std::string completed = detail::complete_conninfo("host=db port=5433", seconds{5});
  CHECK(completed ==
        "host='db' port='5433' connect_timeout='5' client_encoding='UTF8' "
        "fallback_application_name='psycache'");
  CHECK_THAT(
      detail::complete_conninfo("host=db connect_timeout=9 client_encoding=UTF8", seconds{5}),
      !Contains("'5'") && Contains("connect_timeout='9'"));
  CHECK_THAT(
      detail::complete_conninfo("postgresql://u:p%40ss@db:5433/app?sslmode=disable", seconds{3}),
      Contains("user='u'") && Contains("password='p@ss'") && Contains("host='db'") &&
          Contains("dbname='app'") && Contains("sslmode='disable'") &&
          Contains("connect_timeout='3'"));
  CHECK_THAT(detail::complete_conninfo("host=x", seconds{0}), !Contains("connect_timeout"));
  CHECK_THAT(detail::complete_conninfo(R"(password='a\'b\\c')", seconds{5}),
             Contains(R"(password='a\'b\\c')"));
}

TEST_CASE("Timeouts are sent as -c settings in libpq's options, after the DSN's own") {
  using std::chrono::seconds;
  using namespace std::chrono_literals;
  CHECK_THAT(detail::complete_conninfo("host=db", seconds{5},
                                       {.statement_timeout = 2500ms, .lock_timeout = 100ms}),
             Contains("options='-c statement_timeout=2500 -c lock_timeout=100'"));
  CHECK_THAT(detail::complete_conninfo("host=db options='-c work_mem=4MB'", seconds{5},
                                       {.lock_timeout = 1s}),
             Contains("options='-c work_mem=4MB -c lock_timeout=1000'"));
  CHECK_THAT(detail::complete_conninfo("host=db options='-c work_mem=4MB'", seconds{5}, {}),
             Contains("options='-c work_mem=4MB'"));
  CHECK_THAT(detail::complete_conninfo("host=db", seconds{5}, {}), !Contains("options"));
}

TEST_CASE("A DSN libpq cannot parse is refused with libpq's reason") {
  CHECK_THROWS_WITH(detail::complete_conninfo("host", std::chrono::seconds{5}),
                    Contains("invalid DSN") && Contains("host"));
  CHECK_THROWS_WITH(detail::complete_conninfo("nosuchoption=1", std::chrono::seconds{5}),
                    Contains("invalid DSN") && Contains("nosuchoption"));
  CHECK_THROWS_AS(detail::complete_conninfo("postgresql://[::1", std::chrono::seconds{5}),
                  InvalidArgument);
}
