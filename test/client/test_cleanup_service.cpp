// CleanupService: periodic cleanup on a thread, stopped promptly.
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include <psycache/psycache.hpp>

#include "support/test_db.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

struct Fixture {
  Fixture() { psycache::test::reset_extension(); }
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool};

  std::int64_t rows() { return cache.stats().entries; }

  // Waits up to timeout for predicate; returns its last result.
  template <class Predicate>
  static bool eventually(Predicate predicate, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!predicate()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }
};

}  // namespace

TEST_CASE_METHOD(Fixture,
                 "The cleanup thread deletes expired entries, at once and then "
                 "every interval") {
  cache.put_raw("live", json{{"live", true}}, 600);
  cache.put_raw("dead", json{{"dead", true}}, -1);
  psycache::CleanupService cleanup = cache.start_cleanup_thread(100ms);
  CHECK(cleanup.running());
  CHECK(eventually([&] { return rows() == 1; }));
  cache.put_raw("dead again", json{{"dead", true}}, -1);
  CHECK(eventually([&] { return rows() == 1; }));
  CHECK(cache.get_raw("live"));
  CHECK(cleanup.stop());
  CHECK_FALSE(cleanup.running());
  CHECK(cleanup.stop());  // again: nothing to do
}

TEST_CASE_METHOD(Fixture, "stop() is prompt even with a long interval") {
  psycache::CleanupService cleanup = cache.start_cleanup_thread(std::chrono::hours{1});
  std::this_thread::sleep_for(100ms);
  const auto start = std::chrono::steady_clock::now();
  CHECK(cleanup.stop(5s));
  CHECK(std::chrono::steady_clock::now() - start < 1s);
}

TEST_CASE_METHOD(Fixture, "The destructor stops the thread") {
  const auto start = std::chrono::steady_clock::now();
  {
    const psycache::CleanupService cleanup =
        cache.start_cleanup_thread(std::chrono::duration<double>{3600.0});
    std::this_thread::sleep_for(50ms);
  }
  CHECK(std::chrono::steady_clock::now() - start < 1s);
}

TEST_CASE("A failed pass goes to the error handler and the thread carries on") {
  psycache::test::reset_extension("cache_a");
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool};  // public: no extension there
  std::atomic<int> errors{0};
  std::string message;
  std::mutex mutex;
  psycache::CleanupService cleanup =
      cache.start_cleanup_thread(20ms, [&](const psycache::Error& error) {
        const std::lock_guard lock{mutex};
        message = error.what();
        ++errors;
      });
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (errors < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(errors >= 3);
  CHECK(cleanup.stop());
  const std::lock_guard lock{mutex};
  CHECK_THAT(message, Contains("cleanup_expired failed") && Contains("psycache_cleanup"));
}

TEST_CASE_METHOD(Fixture, "An interval that is not positive and finite is refused") {
  CHECK_THROWS_AS(cache.start_cleanup_thread(0s), psycache::InvalidArgument);
  CHECK_THROWS_AS(cache.start_cleanup_thread(-1s), psycache::InvalidArgument);
  CHECK_THROWS_AS(cache.start_cleanup_thread(std::chrono::duration<double>{std::nan("")}),
                  psycache::InvalidArgument);
  CHECK_THROWS_WITH(cache.start_cleanup_thread(std::chrono::years{1000}), Contains("century"));
}

TEST_CASE("A default-constructed or moved-from service is inert") {
  psycache::CleanupService idle;
  CHECK_FALSE(idle.running());
  CHECK(idle.stop());
  psycache::test::reset_extension();
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool};
  psycache::CleanupService first = cache.start_cleanup_thread(1h);
  psycache::CleanupService second = std::move(first);
  CHECK(second.running());
  // NOLINTNEXTLINE(bugprone-use-after-move,clang-analyzer-cplusplus.Move): inert by contract
  CHECK(first.stop());
  idle = std::move(second);
  CHECK(idle.running());
  CHECK(idle.stop());
}
