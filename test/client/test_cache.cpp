// PostgresCache's operations against the real extension.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <psycache/psycache.hpp>

#include "support/test_db.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using psycache::test::query_value;
using psycache::test::unique_key;

namespace {

// A fresh extension and a cache on a pool of the test database.
struct Fixture {
  Fixture() { psycache::test::reset_extension(); }
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool};
};

// Seconds from now until key expires, according to the server.
double seconds_left(const std::string& key) {
  return std::stod(*query_value(
      "SELECT extract(epoch FROM expires_at - statement_timestamp()) FROM public.psycache "
      "WHERE key = '" +
      key + "'"));
}

}  // namespace

TEST_CASE_METHOD(Fixture, "A stored value is returned as sent, a missing key is a miss") {
  const std::string key = unique_key();
  CHECK_FALSE(cache.get_raw(key));
  cache.put_raw(key, json{{"foo", "bar"}}, 10);
  CHECK(cache.get_raw(key) == json{{"foo", "bar"}});
  CHECK_FALSE(cache.get_raw(unique_key()));
}

TEST_CASE_METHOD(Fixture, "Any JSON document is a value, not only objects") {
  for (const json& value : {json(nullptr), json(true), json(42), json(-1.5), json("text"),
                            json::array({1, "two", nullptr}), json::object()}) {
    const std::string key = unique_key();
    cache.put_raw(key, value, 10s);
    CHECK(cache.get_raw(key) == value);
  }
}

TEST_CASE_METHOD(Fixture, "A second put replaces the value and the expiry") {
  const std::string key = unique_key();
  cache.put_raw(key, json{{"foo", "first"}}, 10);
  CHECK(seconds_left(key) <= 10.0);
  cache.put_raw(key, json{{"foo", "second"}}, 100);
  CHECK(cache.get_raw(key) == json{{"foo", "second"}});
  CHECK(seconds_left(key) > 90.0);
  // And a shorter TTL shortens it: the expiry is replaced, not extended.
  cache.put_raw(key, json{{"foo", "third"}}, 5s);
  CHECK(seconds_left(key) <= 5.0);
  CHECK(*query_value("SELECT count(*) FROM public.psycache") == "1");
}

TEST_CASE_METHOD(Fixture, "A removed entry is a miss, remove says whether there was one") {
  const std::string key = unique_key();
  cache.put_raw(key, json{{"foo", "bar"}}, 10);
  CHECK(cache.get_raw(key));
  CHECK(cache.remove(key));
  CHECK_FALSE(cache.get_raw(key));
  CHECK_FALSE(cache.remove(key));
  CHECK_FALSE(cache.remove(unique_key()));
  // An expired entry is deleted too, but it was already a miss: false.
  cache.put_raw(key, json{{"foo", "expired"}}, -1);
  CHECK_FALSE(cache.remove(key));
  CHECK(*query_value("SELECT count(*) FROM public.psycache") == "0");
}

TEST_CASE_METHOD(Fixture, "An entry past its TTL is a miss, also before cleanup") {
  const std::string zero = unique_key("zero");
  const std::string negative = unique_key("negative");
  const std::string short_lived = unique_key("short");
  cache.put_raw(zero, json{{"ttl", 0}}, 0);
  cache.put_raw(negative, json{{"ttl", -5}}, -5s);
  cache.put_raw(short_lived, json{{"ttl", 0.3}}, 300ms);
  CHECK_FALSE(cache.get_raw(zero));
  CHECK_FALSE(cache.get_raw(negative));
  // Still stored, only expired.
  CHECK(*query_value("SELECT count(*) FROM public.psycache") == "3");

  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (cache.get_raw(short_lived) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  CHECK_FALSE(cache.get_raw(short_lived));
}

TEST_CASE_METHOD(Fixture, "cleanup_expired deletes the expired entries only and counts them") {
  cache.put_raw(unique_key(), json{{"live", 1}}, 60);
  cache.put_raw(unique_key(), json{{"live", 2}}, 60);
  for (int i = 0; i < 3; ++i) cache.put_raw(unique_key(), json{{"dead", i}}, -1);
  CHECK(cache.cleanup_expired() == 3);
  CHECK(cache.cleanup_expired() == 0);
  CHECK(*query_value("SELECT count(*) FROM public.psycache") == "2");
}

TEST_CASE_METHOD(Fixture, "flush deletes every entry and counts them") {
  CHECK(cache.flush() == 0);
  for (int i = 0; i < 4; ++i) cache.put_raw(unique_key(), json{{"i", i}}, 60);
  cache.put_raw(unique_key(), json{{"dead", true}}, -1);
  CHECK(cache.flush() == 5);
  CHECK(*query_value("SELECT count(*) FROM public.psycache") == "0");
}

TEST_CASE_METHOD(Fixture, "stats counts live and expired entries") {
  cache.put_raw(unique_key(), json{{"live", true}}, 60);
  cache.put_raw(unique_key(), json{{"dead", true}}, -1);
  const psycache::CacheStats stats = cache.stats();
  CHECK(stats.entries == 2);
  CHECK(stats.expired_entries == 1);
  CHECK(stats.total_bytes > 0);
}

TEST_CASE_METHOD(Fixture, "Keys are exact: case, spaces, unicode and the empty key") {
  const std::vector<std::string> keys = {"",
                                         " ",
                                         "Key",
                                         "key",
                                         "k\xc3\xa9y \xf0\x9f\x94\x91",
                                         std::string(2048, 'x'),
                                         "quote'and\"double\\back"};
  for (std::size_t i = 0; i < keys.size(); ++i) cache.put_raw(keys.at(i), json{{"i", i}}, 60);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    CHECK(cache.get_raw(keys.at(i)) == json{{"i", i}});
  }
}

TEST_CASE_METHOD(Fixture, "Copies of a cache share its pool and options") {
  psycache::PostgresCache copy = cache;
  const std::string key = unique_key();
  copy.put_raw(key, json{{"copied", true}}, 60);
  CHECK(cache.get_raw(key) == json{{"copied", true}});
  CHECK(copy.options().schema == "public");
}

TEST_CASE("A cache can share ownership of its pool") {
  psycache::test::reset_extension();
  auto pool = std::make_shared<psycache::ConnectionPool>(psycache::test::dsn());
  psycache::PostgresCache cache{pool};
  pool.reset();
  const std::string key = unique_key();
  cache.put_raw(key, json{{"shared", true}}, 60);
  CHECK(cache.get_raw(key) == json{{"shared", true}});
  CHECK_THROWS_AS(psycache::PostgresCache{std::shared_ptr<psycache::ConnectionPool>{}},
                  psycache::InvalidArgument);
}

TEST_CASE("Each operation is one round trip, the statement is prepared once per connection") {
  psycache::test::reset_extension();
  const auto connection = psycache::test::connect();
  std::FILE* trace = std::tmpfile();
  REQUIRE(trace != nullptr);
  psycache::SingleConnectionPool pool{*connection};
  psycache::PostgresCache cache{pool};
  const std::string key = unique_key();

  // Counts the round trips (ReadyForQuery messages) that operation makes.
  const auto round_trips = [&](auto operation) {
    (void)std::fflush(trace);
    const long start = std::ftell(trace);
    connection->trace(trace);
    operation();
    connection->trace(nullptr);
    (void)std::fflush(trace);
    (void)std::fseek(trace, start, SEEK_SET);
    std::string text;
    for (int c = std::fgetc(trace); c != EOF; c = std::fgetc(trace)) text += static_cast<char>(c);
    (void)std::fseek(trace, 0, SEEK_END);
    std::size_t count = 0;
    for (auto pos = text.find("ReadyForQuery"); pos != std::string::npos;
         pos = text.find("ReadyForQuery", pos + 1)) {
      ++count;
    }
    return count;
  };

  // First use on this connection: PREPARE, then the call.
  CHECK(round_trips([&] { cache.put_raw(key, json{{"n", 1}}, 60); }) == 2);
  CHECK(round_trips([&] { cache.put_raw(key, json{{"n", 2}}, 60); }) == 1);
  CHECK(round_trips([&] { (void)cache.get_raw(key); }) == 2);
  CHECK(round_trips([&] { (void)cache.get_raw(key); }) == 1);
  CHECK(round_trips([&] { (void)cache.get_raw(unique_key()); }) == 1);
  CHECK(round_trips([&] { (void)cache.remove(key); }) == 2);
  CHECK(round_trips([&] { (void)cache.remove(key); }) == 1);
  CHECK(round_trips([&] { (void)cache.cleanup_expired(); }) == 2);
  CHECK(round_trips([&] { (void)cache.cleanup_expired(); }) == 1);
  CHECK(round_trips([&] { (void)cache.flush(); }) == 2);
  CHECK(round_trips([&] { (void)cache.flush(); }) == 1);
  (void)std::fclose(trace);
}
