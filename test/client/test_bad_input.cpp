// Bad input: a clear error, nothing lost, the cache still usable.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <psycache/psycache.hpp>

#include "support/test_db.hpp"

using namespace std::chrono_literals;
using namespace std::string_literals;
using Catch::Matchers::Contains;
using nlohmann::json;
using psycache::InvalidArgument;
using psycache::test::unique_key;

namespace {

struct Fixture {
  Fixture() {
    psycache::test::reset_extension();
    cache.put_raw(kept_key, kept_value, 3600);
  }

  // The cache works and what was stored before is still there.
  void check_unharmed() {
    CHECK(cache.get_raw(kept_key) == kept_value);
    const std::string key = unique_key();
    cache.put_raw(key, json{{"after", true}}, 60);
    CHECK(cache.get_raw(key) == json{{"after", true}});
  }

  psycache::ConnectionPool pool{psycache::test::dsn(), {.max_size = 2}};
  psycache::PostgresCache cache{pool, {.max_value_bytes = 1000}};
  const std::string kept_key = "kept";
  const json kept_value = json{{"kept", true}};
};

}  // namespace

TEST_CASE_METHOD(Fixture, "A key longer than 2048 bytes is refused") {
  const std::string key(2049, 'k');
  CHECK_THROWS_WITH(cache.put_raw(key, json{}, 60),
                    Contains("invalid key") && Contains("2049 bytes long") && Contains("2048"));
  CHECK_THROWS_AS(cache.get_raw(key), InvalidArgument);
  CHECK_THROWS_AS(cache.remove(key), InvalidArgument);
  // 2048 bytes of multi-byte characters are fine, one more byte is not.
  std::string euros;
  for (int i = 0; i < 682; ++i) euros += "\xe2\x82\xac";  // 2046 bytes
  cache.put_raw(euros + "ab", json{{"len", 2048}}, 60);
  CHECK(cache.get_raw(euros + "ab") == json{{"len", 2048}});
  CHECK_THROWS_AS(cache.put_raw(euros + "abc", json{}, 60), InvalidArgument);
  check_unharmed();
}

TEST_CASE_METHOD(Fixture, "A key with a NUL byte is refused") {
  CHECK_THROWS_WITH(cache.put_raw("kept\0evil"s, json{}, 60),
                    Contains("NUL byte at offset 4") && Contains(R"("kept\x00evil")"));
  CHECK_THROWS_AS(cache.get_raw("\0"s), InvalidArgument);
  CHECK_THROWS_AS(cache.remove("kept\0"s), InvalidArgument);
  check_unharmed();
}

TEST_CASE_METHOD(Fixture, "A key that is not valid UTF-8 is refused") {
  CHECK_THROWS_WITH(cache.put_raw("caf\xe9", json{}, 60),
                    Contains("not valid UTF-8") && Contains("offset 3"));
  CHECK_THROWS_AS(cache.get_raw("\xed\xa0\x80"), InvalidArgument);  // a surrogate
  CHECK_THROWS_AS(cache.remove("\xc0\xaf"), InvalidArgument);       // overlong
  check_unharmed();
}

TEST_CASE_METHOD(Fixture, "A non-finite or overflowing TTL is refused") {
  const auto nan = std::chrono::duration<double>{std::numeric_limits<double>::quiet_NaN()};
  const auto inf = std::chrono::duration<double>{std::numeric_limits<double>::infinity()};
  CHECK_THROWS_WITH(cache.put_raw(kept_key, json{{"lost", true}}, nan), Contains("NaN"));
  CHECK_THROWS_WITH(cache.put_raw(kept_key, json{{"lost", true}}, inf), Contains("infinite"));
  CHECK_THROWS_WITH(cache.put_raw(kept_key, json{{"lost", true}}, std::chrono::hours::max()),
                    Contains("out of range"));
  CHECK_THROWS_AS(cache.put_raw(kept_key, json{{"lost", true}}, std::chrono::seconds::min()),
                  InvalidArgument);
  check_unharmed();
}

TEST_CASE_METHOD(Fixture, "A TTL past the server's timestamp range is refused by the server") {
  // Fits in 64-bit microseconds, but now + 292,270 years is past the year
  // 294276, and now - 292,270 years before 4713 BC.
  for (const std::chrono::years ttl : {std::chrono::years{292'270}, std::chrono::years{-292'270}}) {
    try {
      cache.put_raw(kept_key, json{{"lost", true}}, ttl);
      FAIL("no error");
    } catch (const InvalidArgument& e) {
      CHECK(e.sqlstate().starts_with("22"));
      CHECK_THAT(e.what(), Contains("put of key \"kept\"") && Contains("out of range"));
    }
  }
  check_unharmed();
  // Long but in range is fine.
  cache.put_raw("long", json{{"long", true}}, std::chrono::years{10'000});
  CHECK(cache.get_raw("long") == json{{"long", true}});
}

TEST_CASE_METHOD(Fixture, "A value at max_value_bytes is stored, one byte more is refused") {
  // {"s":"..."} is 8 bytes of JSON around the string.
  const json at_limit = json{{"s", std::string(1000 - 8, 'v')}};
  REQUIRE(at_limit.dump().size() == 1000);
  cache.put_raw("big", at_limit, 60);
  CHECK(cache.get_raw("big") == at_limit);
  const json over_limit = json{{"s", std::string(1000 - 7, 'v')}};
  CHECK_THROWS_WITH(cache.put_raw("big", over_limit, 60),
                    Contains("1001 bytes as JSON text") && Contains("max_value_bytes (1000)"));
  CHECK(cache.get_raw("big") == at_limit);  // the old value is kept
  check_unharmed();
}

TEST_CASE("The default limit is 16 MiB, and values near it round trip") {
  psycache::test::reset_extension();
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool};
  REQUIRE(cache.options().max_value_bytes == std::size_t{16} * 1024 * 1024);
  const std::size_t limit = cache.options().max_value_bytes;
  const json at_limit = json{{"s", std::string(limit - 8, 'v')}};
  cache.put_raw("big", at_limit, 60);
  CHECK(cache.get_raw("big") == at_limit);
  CHECK_THROWS_AS(cache.put_raw("big", json{{"s", std::string(limit - 7, 'v')}}, 60),
                  InvalidArgument);
  // 0 lifts the client's limit.
  psycache::PostgresCache unlimited{pool, {.max_value_bytes = 0}};
  const json larger = json{{"s", std::string(limit + 1000, 'w')}};
  unlimited.put_raw("bigger", larger, 60);
  CHECK(unlimited.get_raw("bigger") == larger);
}

TEST_CASE_METHOD(Fixture, "A value jsonb cannot hold is refused, naming where") {
  CHECK_THROWS_WITH(cache.put_raw("v", json{{"a", json::array({1, std::nan("")})}}, 60),
                    Contains("non-finite number") && Contains("at \"/a/1\""));
  CHECK_THROWS_WITH(cache.put_raw("v", json(std::numeric_limits<double>::infinity()), 60),
                    Contains("non-finite") && Contains("top level"));
  CHECK_THROWS_WITH(cache.put_raw("v", json{{"a/b", "nul\0inside"s}}, 60),
                    Contains("NUL character") && Contains("at \"/a~1b\""));
  CHECK_THROWS_WITH(cache.put_raw("v", json{{"key\0"s, 1}}, 60), Contains("object key"));
  CHECK_THROWS_WITH(cache.put_raw("v", json{{"s", "caf\xe9"}}, 60),
                    Contains("invalid value for key \"v\"") && Contains("UTF-8"));
  check_unharmed();
}

// Unreachable and silent servers: test_timeouts.cpp.

TEST_CASE("A DSN that does not parse is refused when the pool is made") {
  CHECK_THROWS_WITH(psycache::ConnectionPool{"host=127.0.0.1 port"},
                    Contains("invalid DSN") && Contains("port"));
  CHECK_THROWS_WITH(psycache::ConnectionPool{"colour=blue"}, Contains("invalid DSN"));
  CHECK_THROWS_WITH(psycache::ConnectionPool{"postgresql://db/app?colour=blue"},
                    Contains("invalid DSN") && Contains("colour"));
  CHECK_THROWS_AS((psycache::ConnectionPool{"", {.max_size = 0}}), InvalidArgument);
}

TEST_CASE("Wrong credentials are a ConnectionError with the server's reason") {
  psycache::ConnectionPool pool{psycache::test::dsn() + " user=no_such_role"};
  psycache::PostgresCache cache{pool};
  CHECK_THROWS_WITH(cache.get_raw("k"), Contains("no_such_role"));
}

// --- the same ground, table-driven: one row per input, the outcome it must have ---

namespace {

// text nested depth arrays deep: "[[[...]]]", built without recursion.
json nested_arrays(std::size_t depth) {
  return json::parse(std::string(depth, '[') + std::string(depth, ']'));
}

}  // namespace

TEST_CASE_METHOD(Fixture, "Keys: each is stored as given, or refused before anything is sent") {
  struct Row {
    const char* description;
    std::string key;
    bool valid;
  };
  const std::vector<Row> rows = {
      {"the empty key", "", true},
      {"2048 bytes, the limit", std::string(2048, 'k'), true},
      {"control characters", "\x01\x02\t\n\r\x1b\x7f", true},
      {"SQL", "'); DROP TABLE public.psycache; --", true},
      {"quotes and backslashes", R"('"\)", true},
      {"LIKE wildcards", "%_%", true},
      {"four-byte UTF-8", "key \xf0\x9f\x94\x91", true},
      {"2049 bytes", std::string(2049, 'k'), false},
      {"1 MB", std::string(std::size_t{1024} * 1024, 'k'), false},
      {"a NUL byte", "k\0k"s, false},
      {"only a NUL byte", "\0"s, false},
      {"invalid UTF-8", "k\xff", false},
      {"a UTF-16 surrogate", "\xed\xa0\x80", false},
      {"an overlong encoding", "\xc0\xaf", false},
      {"a truncated sequence", "\xe2\x82", false},
  };
  for (const Row& row : rows) {
    INFO("key: " << row.description);
    if (row.valid) {
      const json value{{"key bytes", row.key.size()}};
      cache.put_raw(row.key, value, 600);
      CHECK(cache.get_raw(row.key) == value);
      CHECK(cache.remove(row.key));
      CHECK(cache.get_raw(row.key) == std::nullopt);
    } else {
      CHECK_THROWS_WITH(cache.put_raw(row.key, json{}, 60), Contains("invalid key"));
      CHECK_THROWS_AS(cache.get_raw(row.key), InvalidArgument);
      CHECK_THROWS_AS(cache.remove(row.key), InvalidArgument);
    }
  }
  CHECK(cache.stats().entries == 1);
  check_unharmed();
}

TEST_CASE_METHOD(Fixture,
                 "Values: every JSON type round-trips; what jsonb cannot hold is refused") {
  psycache::PostgresCache roomy{pool, {.max_value_bytes = 0}};
  struct Row {
    const char* description;
    json value;
  };
  const std::vector<Row> stored = {
      {"null (a hit, not a miss)", nullptr},
      {"true", true},
      {"false", false},
      {"zero", 0},
      {"the smallest int64", std::numeric_limits<std::int64_t>::min()},
      {"the largest uint64", std::numeric_limits<std::uint64_t>::max()},
      {"a negative fraction", -0.5},
      {"1e308", 1e308},
      {"the empty string", ""},
      {"escapes and non-ASCII", "tab\tquote\"backslash\\ \xc3\xa9 \xf0\x9f\x94\x91 \x01"},
      {"SQL in a string", "'); DROP TABLE public.psycache; --"},
      {"the empty array", json::array()},
      {"the empty object", json::object()},
      {"an empty object key", json{{"", 1}}},
      {"mixed nesting", json::parse(R"({"a": [1, {"b": null}, [true, "x"]], "c": {}})")},
      {"10000 nested arrays, the limit", nested_arrays(10000)},
  };
  for (const Row& row : stored) {
    INFO("value: " << row.description);
    roomy.put_raw("value", row.value, 600);
    const std::optional<json> value = roomy.get_raw("value");
    REQUIRE(value.has_value());
    CHECK(*value == row.value);
  }

  const std::vector<Row> refused = {
      {"NaN", std::nan("")},
      {"infinity", -std::numeric_limits<double>::infinity()},
      {"a NUL character in a string", json::array({"a\0b"s})},
      {"a NUL character in an object key", json{{"a\0b"s, 1}}},
      {"invalid UTF-8 in a string", "caf\xe9"},
      {"10001 nested arrays", nested_arrays(10001)},
      {"1001 bytes, over max_value_bytes", std::string(999, 'v')},
  };
  for (const Row& row : refused) {
    INFO("value: " << row.description);
    CHECK_THROWS_WITH(cache.put_raw(kept_key, row.value, 600),
                      Contains("invalid value for key \"kept\""));
  }
  CHECK_THROWS_WITH(
      cache.put_raw(kept_key, nested_arrays(10001), 600),
      Contains("more than 10000 levels of nested arrays and objects") && Contains("at \"/0/0/0"));
  // Far past the limit: refused without exhausting the stack. (Built and destroyed without
  // recursion; copying it would recurse, so it stays out of the table.)
  const json deep = nested_arrays(1'000'000);
  CHECK_THROWS_WITH(cache.put_raw(kept_key, deep, 600),
                    Contains("more than 10000 levels of nested arrays and objects"));
  check_unharmed();
}

TEST_CASE_METHOD(Fixture, "TTLs: odd ones behave as documented, impossible ones are refused") {
  using psycache::Ttl;
  const auto seconds = [](double s) { return std::chrono::duration<double>{s}; };
  struct Row {
    const char* description;
    // A TTL that cannot be made refuses to be constructed, so each row makes its own.
    std::function<Ttl()> ttl;
    enum { kLive, kExpired, kRefused } outcome;
  };
  const std::vector<Row> rows = {
      {"one hour", [&] { return Ttl{std::chrono::hours{1}}; }, Row::kLive},
      {"fractional seconds", [&] { return Ttl{seconds(90.25)}; }, Row::kLive},
      {"ten thousand years", [&] { return Ttl{std::chrono::years{10'000}}; }, Row::kLive},
      {"zero: expired at once", [&] { return Ttl{std::chrono::seconds{0}}; }, Row::kExpired},
      {"negative: expired at once", [&] { return Ttl{std::chrono::minutes{-5}}; }, Row::kExpired},
      {"NaN", [&] { return Ttl{seconds(std::numeric_limits<double>::quiet_NaN())}; },
       Row::kRefused},
      {"infinity", [&] { return Ttl{seconds(std::numeric_limits<double>::infinity())}; },
       Row::kRefused},
      {"minus infinity", [&] { return Ttl{seconds(-std::numeric_limits<double>::infinity())}; },
       Row::kRefused},
      {"the largest double", [&] { return Ttl{seconds(std::numeric_limits<double>::max())}; },
       Row::kRefused},
      {"hours::max()", [&] { return Ttl{std::chrono::hours::max()}; }, Row::kRefused},
      {"seconds::min()", [&] { return Ttl{std::chrono::seconds::min()}; }, Row::kRefused},
      {"past the server's timestamps", [&] { return Ttl{std::chrono::years{292'270}}; },
       Row::kRefused},
  };
  for (const Row& row : rows) {
    INFO("ttl: " << row.description);
    const std::string key = "ttl:" + std::string{row.description};
    if (row.outcome == Row::kRefused) {
      CHECK_THROWS_AS(cache.put_raw(key, json{{"v", 1}}, row.ttl()), InvalidArgument);
      CHECK(cache.get_raw(key) == std::nullopt);
    } else {
      cache.put_raw(key, json{{"v", 1}}, row.ttl());
      CHECK(cache.get_raw(key).has_value() == (row.outcome == Row::kLive));
    }
  }
  check_unharmed();
}

TEST_CASE_METHOD(Fixture, "Schema names with quotes, dots and SQL are identifiers, never code") {
  for (const std::string schema :
       {R"(a"b)", "public.psycache", "public; DROP TABLE public.psycache; --",
        R"(public"; DROP TABLE public.psycache; --)", "pg_catalog", "PUBLIC"}) {
    INFO("schema: " << schema);
    psycache::PostgresCache elsewhere{pool, {.schema = schema}};
    try {
      (void)elsewhere.get_raw(kept_key);
      FAIL("no error");
    } catch (const psycache::ServerError& e) {
      // The name comes back quoted as written: it was looked up, not executed.
      CHECK_THAT(e.what(), Contains("is the psycache extension installed in schema"));
    }
    CHECK_THROWS_AS(elsewhere.put_raw(kept_key, json{{"lost", true}}, 60), psycache::ServerError);
    CHECK_THROWS_AS(elsewhere.flush(), psycache::ServerError);
  }
  check_unharmed();
}
