// The psycache tool run as a process against a live cache.
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <psycache/init_db.hpp>

#include "support/cli_database.hpp"

namespace cli_test = psycache::cli_test;
using cli_test::kSchema;
using cli_test::ProcessResult;
using cli_test::query_value;
using cli_test::run_on_cache;
using cli_test::run_psycache;

namespace {

// A fresh, empty cache for one test.
void empty_cache() {
  cli_test::ensure_cache_database();
  const ProcessResult flushed = run_on_cache("flush");
  REQUIRE(flushed.status == 0);
}

// Stores json under key for ttl, checking that it worked.
void put(const std::string& key, const std::string& json, const std::string& ttl = "1h") {
  const ProcessResult result = run_on_cache("put", {key, json, "--ttl", ttl});
  INFO(result.err);
  REQUIRE(result.status == 0);
  CHECK(result.out.empty());
  CHECK(result.err.empty());
}

// The seconds left until key expires, as the server sees it.
double seconds_left(const std::string& key) {
  const auto value =
      query_value("SELECT extract(epoch FROM expires_at - statement_timestamp()) FROM " +
                  std::string{kSchema} + ".psycache WHERE key = '" + key + "'");
  REQUIRE(value.has_value());
  return std::stod(*value);
}

void check_done(const ProcessResult& result, const std::string& out) {
  INFO(result.err);
  CHECK(result.status == 0);
  CHECK(result.out == out);
  CHECK(result.err.empty());
}

}  // namespace

TEST_CASE("init-db with a DSN installs psycache, says where, and is harmless to repeat") {
  cli_test::ensure_cache_database();
  cli_test::drop_extension();
  const std::vector<std::string> init{"init-db", "--schema", kSchema, cli_test::cli_dsn()};

  check_done(run_psycache(init), "psycache is installed in schema 'cli_cache'\n");
  CHECK(query_value("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n"
                    " ON n.oid = e.extnamespace WHERE e.extname = 'psycache'") == kSchema);
  check_done(run_on_cache("stats"), "entries: 0\nexpired_entries: 0\ntotal_bytes: " +
                                        *query_value("SELECT total_bytes FROM " +
                                                     std::string{kSchema} + ".psycache_stats()") +
                                        "\n");

  put("kept", "1");
  check_done(run_psycache(init), "psycache is installed in schema 'cli_cache'\n");
  check_done(run_on_cache("get", {"kept"}), "1\n");
}

TEST_CASE("init-db takes the DSN with --dsn too, and makes a second cache in another schema") {
  cli_test::ensure_cache_database();
  check_done(run_psycache({"init-db", "--schema", kSchema, "--dsn", cli_test::cli_dsn()}),
             "psycache is installed in schema 'cli_cache'\n");

  check_done(run_psycache({"init-db", "--schema", "public", cli_test::cli_dsn()}),
             "psycache is installed in schema 'public'\n");
  const std::vector<std::string> in_public{"--dsn", cli_test::cli_dsn(), "--schema", "public"};
  std::vector<std::string> put_args{"put", "k", "\"public\"", "--ttl", "1m"};
  put_args.insert(put_args.end(), in_public.begin(), in_public.end());
  check_done(run_psycache(put_args), "");
  std::vector<std::string> get_args{"get", "k"};
  get_args.insert(get_args.end(), in_public.begin(), in_public.end());
  check_done(run_psycache(get_args), "\"public\"\n");
  CHECK(run_on_cache("get", {"k"}).status == 1);  // the other cache has no such key
  CHECK(query_value("SELECT " + std::string{kSchema} + ".psycache_drop_cache('public')") == "t");
}

TEST_CASE("init-db --portable prints the portable SQL, and with a DSN installs it") {
  const ProcessResult printed = run_psycache({"init-db", "--portable", "--schema", "cli_portable"});
  CHECK(printed.status == 0);
  CHECK(printed.out == psycache::init_db_sql({.schema = "cli_portable", .portable = true}) + "\n");
  CHECK_THAT(printed.out,
             Catch::Contains("CREATE OR REPLACE FUNCTION \"cli_portable\".psycache_get"));

  cli_test::ensure_cache_database();
  (void)query_value("DROP SCHEMA IF EXISTS cli_portable CASCADE; CREATE SCHEMA cli_portable");
  check_done(
      run_psycache({"init-db", "--portable", "--schema", "cli_portable", cli_test::cli_dsn()}),
      "psycache (portable) is installed in schema 'cli_portable'\n");
  const std::vector<std::string> in_portable{"--dsn", cli_test::cli_dsn(), "--schema",
                                             "cli_portable"};
  std::vector<std::string> put_args{"put", "k", "[1, 2]", "--ttl", "1m"};
  put_args.insert(put_args.end(), in_portable.begin(), in_portable.end());
  check_done(run_psycache(put_args), "");
  std::vector<std::string> get_args{"get", "k"};
  get_args.insert(get_args.end(), in_portable.begin(), in_portable.end());
  check_done(run_psycache(get_args), "[1,2]\n");
  (void)query_value("DROP SCHEMA cli_portable CASCADE");
}

TEST_CASE("put then get returns the document, compact, with a newline") {
  empty_cache();
  put("user:42", R"({ "name" : "Ada",  "scores": [97, 99.5], "tags": {"é": "✓"}, "ok": true })");
  check_done(run_on_cache("get", {"user:42"}),
             R"({"name":"Ada","ok":true,"scores":[97,99.5],"tags":{"é":"✓"}})"
             "\n");
}

TEST_CASE("get --pretty indents the document by two spaces") {
  empty_cache();
  put("doc", R"({"a": [1, {"b": null}]})");
  check_done(run_on_cache("get", {"doc", "--pretty"}),
             "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ]\n}\n");
}

TEST_CASE("put reads the document from stdin when it is absent or '-'") {
  empty_cache();
  const ProcessResult absent =
      run_on_cache("put", {"from-stdin", "--ttl", "1m"}, {.in = "{\"lines\":\n [1,\n 2]}\n"});
  check_done(absent, "");
  check_done(run_on_cache("get", {"from-stdin"}), "{\"lines\":[1,2]}\n");

  const ProcessResult dash = run_on_cache("put", {"dash", "-", "--ttl", "1m"}, {.in = "\"x\""});
  check_done(dash, "");
  check_done(run_on_cache("get", {"dash"}), "\"x\"\n");
}

TEST_CASE("any JSON document round-trips: scalars, a negative number, an odd key after '--'") {
  empty_cache();
  for (const char* json : {"null", "0", "-1", "-2.5", "\"\"", R"("a\nb \" \\")", "[]", "{}"}) {
    CAPTURE(json);
    put("scalar", json);
    check_done(run_on_cache("get", {"scalar"}), std::string{json} + "\n");
  }
  check_done(run_psycache({"put", "--ttl", "1m", "--dsn", cli_test::cli_dsn(), "--schema", kSchema,
                           "--", "--odd", "[1]"}),
             "");
  check_done(
      run_psycache({"get", "--dsn", cli_test::cli_dsn(), "--schema", kSchema, "--", "--odd"}),
      "[1]\n");
}

TEST_CASE("a second put replaces the value and the expiry") {
  empty_cache();
  put("k", "1", "1m");
  put("k", "2", "2h");
  check_done(run_on_cache("get", {"k"}), "2\n");
  CHECK(seconds_left("k") > 7200 - 60);
}

TEST_CASE("a miss prints nothing on stdout, says so on stderr and exits 1") {
  empty_cache();
  const ProcessResult miss = run_on_cache("get", {"never stored"});
  CHECK(miss.status == 1);
  CHECK(miss.out.empty());
  CHECK(miss.err == "psycache: get failed: no entry for key 'never stored' (missing or expired)\n");
}

TEST_CASE("an expired entry is a miss, and cleanup deletes it") {
  empty_cache();
  put("gone", "1", "0");
  put("soon", "2", "100ms");
  put("stays", "3", "1h");
  std::this_thread::sleep_for(std::chrono::milliseconds{200});
  for (const char* key : {"gone", "soon"}) {
    const ProcessResult result = run_on_cache("get", {key});
    CHECK(result.status == 1);
    CHECK(result.out.empty());
  }
  check_done(run_on_cache("cleanup"), "2\n");
  check_done(run_on_cache("cleanup"), "0\n");
  check_done(run_on_cache("get", {"stays"}), "3\n");
}

TEST_CASE("put takes --ttl in seconds, or with a unit: ms, s, m, h, d") {
  empty_cache();
  const std::vector<std::pair<std::string, double>> ttls{
      {"90", 90}, {"45s", 45}, {"5m", 300}, {"2h", 7200}, {"1.5h", 5400}, {"1d", 86400}};
  for (const auto& [ttl, seconds] : ttls) {
    CAPTURE(ttl);
    put("t", "1", ttl);
    const double left = seconds_left("t");
    CHECK(left <= seconds);
    CHECK(left > seconds - 30);
  }
  put("t", "1", "1500ms");
  CHECK(seconds_left("t") <= 1.5);
}

TEST_CASE("remove prints 1 when it deleted the entry, 0 when there was none, and exits 0") {
  empty_cache();
  put("k", "{}");
  check_done(run_on_cache("remove", {"k"}), "1\n");
  check_done(run_on_cache("remove", {"k"}), "0\n");
  CHECK(run_on_cache("get", {"k"}).status == 1);
}

TEST_CASE("flush deletes every entry, expired or not, and prints how many") {
  empty_cache();
  put("a", "1");
  put("b", "2");
  put("c", "3", "0");
  check_done(run_on_cache("flush"), "3\n");
  check_done(run_on_cache("flush"), "0\n");
}

TEST_CASE("stats prints entries, expired entries and total bytes") {
  empty_cache();
  put("a", "1");
  put("b", "[1,2,3]");
  put("c", "3", "0");
  const ProcessResult result = run_on_cache("stats");
  REQUIRE(result.status == 0);
  CHECK(result.err.empty());
  CHECK_THAT(result.out, Catch::StartsWith("entries: 3\nexpired_entries: 1\ntotal_bytes: "));
  const std::string bytes = result.out.substr(result.out.rfind(' ') + 1);
  CHECK(std::stoll(bytes) > 0);
  CHECK(bytes.ends_with("\n"));
}

TEST_CASE("bad JSON is refused with exit 1 and the value stored before stays") {
  empty_cache();
  put("k", "\"old\"");
  const ProcessResult result = run_on_cache("put", {"k", "{oops", "--ttl", "1m"});
  CHECK(result.status == 1);
  CHECK(result.out.empty());
  CHECK_THAT(result.err, Catch::StartsWith("psycache: put failed: invalid JSON: parse error"));
  check_done(run_on_cache("get", {"k"}), "\"old\"\n");
}

TEST_CASE("a value or key the cache refuses fails with exit 1 and the library's reason") {
  empty_cache();
  const ProcessResult nul = run_on_cache("put", {"k", R"({"a": "x\u0000y"})", "--ttl", "1m"});
  CHECK(nul.status == 1);
  CHECK_THAT(nul.err, Catch::StartsWith("psycache: put failed: invalid value for key \"k\""));

  const ProcessResult long_key = run_on_cache("put", {std::string(3000, 'k'), "1", "--ttl", "1m"});
  CHECK(long_key.status == 1);
  CHECK_THAT(long_key.err, Catch::StartsWith("psycache: put failed: invalid key "));
  CHECK_THAT(long_key.err, Catch::Contains("3000 bytes"));
  check_done(run_on_cache("flush"), "0\n");
}

TEST_CASE("without --dsn the server comes from PSYCACHE_DSN, else from libpq's environment") {
  empty_cache();
  put("k", "7");
  const ProcessResult from_env = run_psycache({"get", "k", "--schema", kSchema},
                                              {.env = {{"PSYCACHE_DSN", cli_test::cli_dsn()}}});
  check_done(from_env, "7\n");

  // The same server, given only by the PG* variables libpq reads.
  const ProcessResult from_libpq = run_psycache(
      {"get", "k", "--schema", kSchema}, {.env = cli_test::libpq_environment(cli_test::cli_dsn())});
  check_done(from_libpq, "7\n");
}

TEST_CASE("a schema without psycache fails with exit 1 and says what to do") {
  cli_test::ensure_cache_database();
  const ProcessResult result =
      run_psycache({"get", "k", "--dsn", cli_test::cli_dsn()});  // --schema: public
  CHECK(result.status == 1);
  CHECK(result.out.empty());
  CHECK_THAT(result.err, Catch::StartsWith("psycache: get failed: "));
  CHECK_THAT(result.err, Catch::Contains("psycache extension installed in schema \"public\""));
  CHECK_THAT(result.err, Catch::Contains("--schema"));
  CHECK_THAT(result.err, Catch::Contains("psycache init-db"));
  CHECK_THAT(result.err, !Catch::Contains("CacheOptions"));
}

TEST_CASE("add stores only a missing key: it prints 1, then 0, and the first value stays") {
  empty_cache();
  check_done(run_on_cache("add", {"lock", "\"first\"", "--ttl", "1h"}), "1\n");
  check_done(run_on_cache("add", {"lock", "\"second\"", "--ttl", "1h"}), "0\n");
  check_done(run_on_cache("get", {"lock"}), "\"first\"\n");
}

TEST_CASE("touch gives a live key a new TTL and prints 1, a missing key prints 0") {
  empty_cache();
  put("k", "1", "1m");
  check_done(run_on_cache("touch", {"k", "--ttl", "2h"}), "1\n");
  CHECK(seconds_left("k") > 7000);
  check_done(run_on_cache("touch", {"missing", "--ttl", "2h"}), "0\n");
}

TEST_CASE("ttl prints the seconds left, a miss exits 1") {
  empty_cache();
  put("k", "1", "90s");
  const ProcessResult left = run_on_cache("ttl", {"k"});
  INFO(left.err);
  REQUIRE(left.status == 0);
  const double seconds = std::stod(left.out);
  CHECK(seconds > 80);
  CHECK(seconds <= 90);
  CHECK(left.out.find('.') == left.out.size() - 8);  // six decimals and a newline
  const ProcessResult miss = run_on_cache("ttl", {"missing"});
  CHECK(miss.status == 1);
  CHECK(miss.out.empty());
  CHECK_THAT(miss.err, Catch::Contains("no entry for key 'missing'"));
}

TEST_CASE("incr counts from 1 by default, takes a DELTA, and refuses what is not an integer") {
  empty_cache();
  check_done(run_on_cache("incr", {"hits", "--ttl", "1h"}), "1\n");
  check_done(run_on_cache("incr", {"hits", "41", "--ttl", "1h"}), "42\n");
  check_done(run_on_cache("incr", {"hits", "-50", "--ttl", "1h"}), "-8\n");
  const ProcessResult bad_delta = run_on_cache("incr", {"hits", "1.5", "--ttl", "1h"});
  CHECK(bad_delta.status == 2);
  CHECK_THAT(bad_delta.err, Catch::Contains("DELTA must be an integer"));
  put("text", "\"7\"");
  const ProcessResult not_integer = run_on_cache("incr", {"text", "--ttl", "1h"});
  CHECK(not_integer.status == 1);
  CHECK_THAT(not_integer.err, Catch::Contains("not a JSON integer"));
  check_done(run_on_cache("get", {"text"}), "\"7\"\n");
  const ProcessResult no_ttl = run_on_cache("incr", {"hits"});
  CHECK(no_ttl.status == 2);
}
