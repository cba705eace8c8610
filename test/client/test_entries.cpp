// add_raw, touch, ttl and incr against the extension.
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

#include <psycache/psycache.hpp>

#include "support/test_db.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using nlohmann::json;
using psycache::test::query_value;
using psycache::test::unique_key;

namespace {

struct Fixture {
  Fixture() { psycache::test::reset_extension(); }
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool};
};

struct Lease {
  std::string owner;
  friend bool operator==(const Lease&, const Lease&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Lease, owner)

}  // namespace

TEST_CASE_METHOD(Fixture, "add stores only a missing or expired key, and says so") {
  const std::string key = unique_key();
  CHECK(cache.add_raw(key, json{{"owner", "a"}}, 60));
  CHECK_FALSE(cache.add_raw(key, json{{"owner", "b"}}, 60));
  CHECK(cache.get_raw(key) == json{{"owner", "a"}});

  const std::string expired = unique_key();
  cache.put_raw(expired, "old", -1);
  CHECK(cache.add_raw(expired, "new", 60s));
  CHECK(cache.get_raw(expired) == "new");
  CHECK(cache.ttl(expired) > 50s);
}

TEST_CASE_METHOD(Fixture, "The typed add converts the value") {
  const std::string key = unique_key();
  CHECK(cache.add<Lease>(key, Lease{"worker-1"}, 60));
  CHECK_FALSE(cache.add<Lease>(key, Lease{"worker-2"}, 60));
  CHECK(cache.get<Lease>(key) == Lease{"worker-1"});
}

TEST_CASE_METHOD(Fixture, "ttl is the time left in microseconds, or nothing for a miss") {
  const std::string key = unique_key();
  CHECK_FALSE(cache.ttl(key));
  cache.put_raw(key, 1, std::chrono::minutes{10});
  const std::optional<std::chrono::microseconds> left = cache.ttl(key);
  REQUIRE(left);
  CHECK(*left <= 10min);
  CHECK(*left > 9min);
  // Exactly the server's expiry minus its clock, to the microsecond.
  cache.put_raw(key, 1, 1'234'567'891us);
  CHECK(cache.ttl(key) <= 1'234'567'891us);
  CHECK(cache.ttl(key) > 1'234'567'891us - 60s);
  // More than a day: the days count too.
  cache.put_raw(key, 1, std::chrono::hours{24 * 400});
  CHECK(cache.ttl(key) > std::chrono::hours{24 * 399});
  cache.put_raw(key, 1, -1);
  CHECK_FALSE(cache.ttl(key));
}

TEST_CASE_METHOD(Fixture, "touch gives a live key a new expiry and keeps its value") {
  const std::string key = unique_key();
  CHECK_FALSE(cache.touch(key, 60));
  CHECK_FALSE(cache.get_raw(key));
  cache.put_raw(key, json{{"v", 1}}, 5);
  CHECK(cache.touch(key, std::chrono::hours{2}));
  CHECK(cache.ttl(key) > 1h);
  CHECK(cache.get_raw(key) == json{{"v", 1}});
  CHECK(cache.touch(key, 0));
  CHECK_FALSE(cache.get_raw(key));
  CHECK_FALSE(cache.touch(key, 60));
}

TEST_CASE_METHOD(Fixture, "incr counts from delta, keeps the expiry, and reads as JSON") {
  const std::string key = unique_key();
  CHECK(cache.incr(key, 1, 60) == 1);
  CHECK(cache.incr(key, 41, 3600) == 42);
  CHECK(cache.get_raw(key) == 42);
  CHECK(cache.ttl(key) <= 60s);  // the first incr set the expiry; the second kept it
  CHECK(cache.incr(key, -50, 60) == -8);
  cache.put_raw(key, 100, 60);
  CHECK(cache.incr(key, 1, 60) == 101);
  cache.put_raw(key, 5, -1);
  CHECK(cache.incr(key, 1, 60) == 1);  // expired: starts again
}

TEST_CASE_METHOD(Fixture, "incr refuses a value that is not an integer, and a sum past int64") {
  const std::string text = unique_key();
  cache.put_raw(text, "7", 60);
  CHECK_THROWS_AS(cache.incr(text, 1, 60), psycache::InvalidArgument);
  CHECK_THROWS_WITH(cache.incr(text, 1, 60), Contains("not a JSON integer") && Contains("22023"));
  CHECK(cache.get_raw(text) == "7");
  const std::string max = unique_key();
  cache.put_raw(max, std::numeric_limits<std::int64_t>::max(), 60);
  CHECK_THROWS_AS(cache.incr(max, 1, 60), psycache::InvalidArgument);
  CHECK_THROWS_WITH(cache.incr(max, 1, 60), Contains("out of range") && Contains("22003"));
  CHECK(cache.incr(max, 0, 60) == std::numeric_limits<std::int64_t>::max());
  CHECK(cache.incr(unique_key(), std::numeric_limits<std::int64_t>::min(), 60) ==
        std::numeric_limits<std::int64_t>::min());
}

TEST_CASE_METHOD(Fixture, "Bad keys and TTLs are refused, as for put") {
  const std::string long_key(2049, 'k');
  CHECK_THROWS_AS(cache.add_raw(long_key, 1, 60), psycache::InvalidArgument);
  CHECK_THROWS_AS(cache.touch(long_key, 60), psycache::InvalidArgument);
  CHECK_THROWS_AS(cache.ttl(long_key), psycache::InvalidArgument);
  CHECK_THROWS_AS(cache.incr(long_key, 1, 60), psycache::InvalidArgument);
  CHECK_THROWS_AS(cache.add_raw("k", json(std::nan("")), 60), psycache::InvalidArgument);
  CHECK_THROWS_AS(cache.incr("k", 1, std::chrono::hours{24 * 366 * 300000LL}),
                  psycache::InvalidArgument);
  CHECK(*query_value("SELECT count(*) FROM public.psycache") == "0");
}
