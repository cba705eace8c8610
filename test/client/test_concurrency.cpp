// Many threads on one ConnectionPool: no error, no lost write.
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <psycache/psycache.hpp>

#include "support/test_db.hpp"

using nlohmann::json;

TEST_CASE("8 threads, 10,000 mixed operations on one pool: no error, no lost write") {
  psycache::test::reset_extension();
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool};
  constexpr int kThreads = 8;
  constexpr int kOperationsPerThread = 10'000 / kThreads;
  constexpr int kKeysPerThread = 16;

  std::mutex failures_mutex;
  std::vector<std::string> failures;  // Catch2 assertions are not thread-safe
  std::atomic<int> operations{0};
  const auto fail = [&](std::string what) {
    const std::lock_guard lock{failures_mutex};
    failures.push_back(std::move(what));
  };

  // Each thread owns its keys, so it knows what every read must return: the
  // last value it wrote, or a miss after a remove or an expired put.
  const auto work = [&](int thread) {
    std::mt19937 random{static_cast<unsigned>(thread)};
    // The value a get must return; expired marks a row that may still exist.
    struct Expected {
      std::optional<json> value;
      bool expired = false;
    };
    std::map<std::string, Expected> expected;
    const auto key_of = [thread](int i) {
      return "thread" + std::to_string(thread) + ":" + std::to_string(i);
    };
    for (int op = 0; op < kOperationsPerThread; ++op) {
      const std::string key = key_of(static_cast<int>(random() % kKeysPerThread));
      const unsigned dice = random() % 100;
      try {
        if (dice < 40) {
          const json value = {
              {"thread", thread}, {"op", op}, {"payload", std::string(op % 50, 'x')}};
          cache.put_raw(key, value, 600);
          expected[key] = {value, false};
        } else if (dice < 80) {
          const std::optional<json> got = cache.get_raw(key);
          const std::optional<json> want = expected[key].value;
          if (got != want) {
            fail(key + ": read " + (got ? got->dump() : "a miss") + ", expected " +
                 (want ? want->dump() : "a miss"));
          }
        } else if (dice < 93) {
          const bool removed = cache.remove(key);
          const Expected& state = expected[key];
          // An expired row may or may not have been cleaned up yet.
          if (!state.expired && removed != state.value.has_value()) {
            fail(key + ": remove returned " + (removed ? "true" : "false"));
          }
          expected[key] = {};
        } else if (dice < 98) {
          cache.put_raw(key, json{{"expired", true}}, -1);  // stored, already expired
          expected[key] = {std::nullopt, true};
        } else {
          (void)cache.cleanup_expired();
        }
        ++operations;
      } catch (const std::exception& e) {
        fail(key + ": " + e.what());
      }
    }
    for (const auto& [key, want] : expected) {
      try {
        if (cache.get_raw(key) != want.value) fail(key + ": final value differs");
      } catch (const std::exception& e) {
        fail(key + ": " + e.what());
      }
    }
  };

  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(work, t);
  for (auto& thread : threads) thread.join();

  INFO((failures.empty() ? std::string{} : failures.front()));
  CHECK(failures.empty());
  CHECK(operations == kThreads * kOperationsPerThread);
  CHECK(pool.size() <= pool.options().max_size);
}
