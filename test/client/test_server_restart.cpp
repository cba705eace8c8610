// The server restarts or goes away: the pool recovers, nothing hangs.
#include <chrono>
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include <psycache/psycache.hpp>

#include "support/test_db.hpp"

using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The first call after a restart may fail, but only with a ConnectionError.
template <class Operation>
void first_call_succeeds_or_fails_to_connect(Operation operation) {
  try {
    operation();
  } catch (const psycache::ConnectionError& e) {
    WARN("first call after the restart failed: " << e.what());
  }
}

}  // namespace

TEST_CASE("After a server restart, a ConnectionPool's cache works again") {
  psycache::test::reset_extension();
  psycache::ConnectionPool pool{psycache::test::dsn(), {.max_size = 4}};
  psycache::PostgresCache cache{pool};
  cache.put_raw("k", json{{"before", "restart"}}, 600);
  {
    // Open every connection of the pool, so that all are stale after the restart.
    auto a = pool.connect();
    auto b = pool.connect();
    auto c = pool.connect();
    auto d = pool.connect();
  }
  REQUIRE(pool.idle() == 4);

  const auto start = std::chrono::steady_clock::now();
  psycache::test::restart_server();
  first_call_succeeds_or_fails_to_connect([&] { (void)cache.get_raw("k"); });
  // A clean restart keeps the unlogged table's contents.
  CHECK(cache.get_raw("k") == json{{"before", "restart"}});
  for (int i = 0; i < 10; ++i) {
    cache.put_raw("k" + std::to_string(i), json{{"i", i}}, 600);
    CHECK(cache.get_raw("k" + std::to_string(i)) == json{{"i", i}});
  }
  CHECK(std::chrono::steady_clock::now() - start < 60s);
}

TEST_CASE("After a server restart, a SingleConnectionPool's cache works again") {
  psycache::test::reset_extension();
  const auto connection = psycache::test::connect();
  psycache::SingleConnectionPool pool{*connection};
  psycache::PostgresCache cache{pool};
  cache.put_raw("k", json{{"before", "restart"}}, 600);

  psycache::test::restart_server();
  first_call_succeeds_or_fails_to_connect([&] { cache.put_raw("k", json{{"after", 1}}, 600); });
  cache.put_raw("k", json{{"after", 2}}, 600);
  CHECK(cache.get_raw("k") == json{{"after", 2}});
}

TEST_CASE("While the server is down calls fail fast with ConnectionError, then they work") {
  psycache::test::reset_extension();
  psycache::ConnectionPool pool{psycache::test::dsn(), {.max_size = 2, .connect_timeout = 2s}};
  psycache::PostgresCache cache{pool};
  cache.put_raw("k", json{{"v", 1}}, 600);

  psycache::test::pg_ctl("stop -m fast -w");
  try {
    for (int i = 0; i < 3; ++i) {
      const auto start = std::chrono::steady_clock::now();
      CHECK_THROWS_AS(cache.get_raw("k"), psycache::ConnectionError);
      CHECK(std::chrono::steady_clock::now() - start < 5s);
    }
    CHECK(pool.size() == 0);
  } catch (...) {
    psycache::test::pg_ctl("start -w");
    throw;
  }
  psycache::test::pg_ctl("start -w");
  CHECK(cache.get_raw("k") == json{{"v", 1}});
}
