// The operations of extension 1.1 under concurrency: threads, each with its own connection, on
// one key or on overlapping batches.
#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <psycache/psycache.hpp>

#include "support/test_db.hpp"

using nlohmann::json;

namespace {

constexpr int kThreads = 8;

// kThreads caches, each on a connection of its own: opened once and reused by the rounds of a
// test, so that a round costs its race and not kThreads new backends.
class Clients {
 public:
  Clients() {
    for (int t = 0; t < kThreads; ++t) {
      connections_.push_back(psycache::test::connect());
      pools_.push_back(std::make_unique<psycache::SingleConnectionPool>(*connections_.back()));
      caches_.emplace_back(*pools_.back());
    }
  }

  // Runs work(thread, cache) on kThreads threads, started together; returns the messages of the
  // exceptions they threw (Catch2 is not thread-safe).
  template <class Work>
  std::vector<std::string> race(Work work) {
    std::mutex mutex;
    std::vector<std::string> failures;
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        ready.fetch_add(1);
        while (ready.load() < kThreads) std::this_thread::yield();
        try {
          work(t, caches_[static_cast<std::size_t>(t)]);
        } catch (const std::exception& e) {
          const std::lock_guard lock{mutex};
          failures.emplace_back(e.what());
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    return failures;
  }

 private:
  std::vector<std::unique_ptr<pqxx::connection>> connections_;
  std::vector<std::unique_ptr<psycache::SingleConnectionPool>> pools_;
  std::vector<psycache::PostgresCache> caches_;
};

// One race of a test that has a single one.
template <class Work>
std::vector<std::string> run_threads(Work work) {
  return Clients{}.race(work);
}

}  // namespace

TEST_CASE("8 clients incr one key 10,000 times in all: it ends at exactly 10,000") {
  psycache::test::reset_extension();
  const std::string key = psycache::test::unique_key("counter");
  std::atomic<std::int64_t> highest{0};
  const auto failures = run_threads([&](int, psycache::PostgresCache& cache) {
    for (int i = 0; i < 10'000 / kThreads; ++i) {
      const std::int64_t value = cache.incr(key, 1, 600);
      std::int64_t seen = highest.load();
      while (value > seen && !highest.compare_exchange_weak(seen, value)) {
      }
    }
  });
  // Compared to an empty list, not empty(), so that Catch2 prints the messages.
  CHECK(failures == std::vector<std::string>{});  // NOLINT(readability-container-size-empty)
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool};
  CHECK(cache.get_raw(key) == 10'000);
  CHECK(highest.load() == 10'000);
}

TEST_CASE("8 clients race add on one key, 50 rounds: exactly one winner each round") {
  psycache::test::reset_extension();
  Clients clients;
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache reader{pool};
  for (int round = 0; round < 50; ++round) {
    const std::string key = psycache::test::unique_key("lock");
    std::atomic<int> winners{0};
    std::mutex mutex;
    int winner = -1;
    const auto failures = clients.race([&](int t, psycache::PostgresCache& cache) {
      if (cache.add_raw(key, json{{"owner", t}}, 600)) {
        winners.fetch_add(1);
        const std::lock_guard lock{mutex};
        winner = t;
      }
    });
    REQUIRE(failures.empty());
    REQUIRE(winners.load() == 1);
    REQUIRE(reader.get_raw(key) == json{{"owner", winner}});
  }
}

TEST_CASE("8 clients race add on an expired key: exactly one replaces it") {
  psycache::test::reset_extension();
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache setup{pool};
  Clients clients;
  for (int round = 0; round < 20; ++round) {
    const std::string key = psycache::test::unique_key("stale");
    setup.put_raw(key, "stale", -1);
    std::atomic<int> winners{0};
    const auto failures = clients.race([&](int t, psycache::PostgresCache& cache) {
      if (cache.add_raw(key, t, 600)) winners.fetch_add(1);
    });
    REQUIRE(failures.empty());
    REQUIRE(winners.load() == 1);
  }
}

TEST_CASE("Concurrent put_many batches over overlapping keys in different orders never deadlock") {
  psycache::test::reset_extension();
  constexpr int kKeys = 40;
  constexpr int kRounds = 30;
  std::vector<std::string> keys;
  keys.reserve(kKeys);
  for (int i = 0; i < kKeys; ++i) keys.push_back("shared:" + std::to_string(i));
  const auto failures = run_threads([&](int t, psycache::PostgresCache& cache) {
    std::mt19937 random{static_cast<unsigned>(t)};
    for (int round = 0; round < kRounds; ++round) {
      // A random half of the keys, in a random order, some twice; now and then a removal.
      std::vector<std::string> order = keys;
      std::shuffle(order.begin(), order.end(), random);
      order.resize(kKeys / 2);
      order.push_back(order.front());
      std::vector<std::pair<std::string, json>> entries;
      entries.reserve(order.size());
      for (const std::string& key : order) entries.emplace_back(key, json{{"t", t}, {"r", round}});
      cache.put_many_raw(entries, 600);
      if (round % 5 == 4) {
        (void)cache.remove_many(std::vector<std::string>(order.rbegin() + 1, order.rbegin() + 6));
      }
    }
  });
  // A deadlock would be SQLSTATE 40P01, reported as an error by the thread that lost.
  // Compared to an empty list, not empty(), so that Catch2 prints the messages.
  CHECK(failures == std::vector<std::string>{});  // NOLINT(readability-container-size-empty)
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool};
  for (const auto& value : cache.get_many_raw(keys)) {
    if (value) CHECK(value->contains("t"));
  }
}
