// Faults under the cache: a backend terminated, the server crashed, the
// server restarted in the middle of a load of sync and async clients. Every
// operation succeeds or fails with a ConnectionError, quickly; none returns a
// wrong result; the cache recovers by itself and leaks no connection.
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <asio/use_future.hpp>
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <psycache/psycache.hpp>

#include "support/async_cache_thread.hpp"
#include "support/faults.hpp"
#include "support/test_db.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// "<dsn> application_name=<name>", so that the test finds its pool's backends.
std::string named_dsn(const std::string& name) {
  return psycache::test::dsn() + " application_name=" + name;
}

// Waits until no backend of application_name is left (their exit is asynchronous).
std::size_t backends_left(const std::string& application_name) {
  const auto deadline = Clock::now() + 10s;
  std::vector<int> pids = psycache::test::backends_of(application_name);
  while (!pids.empty() && Clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    pids = psycache::test::backends_of(application_name);
  }
  return pids.size();
}

// The operation of a load on versioned keys: on even iterations a thread puts a
// new version of one of its own keys, on odd ones it reads one back. What each
// thread knows of its keys: the last version acknowledged, and the versions
// sent after it whose put failed (the server may or may not have stored them).
// A read must see one of those, never an older version. put(key, value) and
// get(key) are the cache's calls, sync or async.
class VersionedKeys {
 public:
  VersionedKeys(std::string prefix, int threads)
      : prefix_(std::move(prefix)), states_(static_cast<std::size_t>(threads)) {}

  template <class Put, class Get>
  void operation(int thread, std::int64_t iteration, Put put, Get get) {
    const int slot = static_cast<int>(iteration % kKeys);
    const std::string key = prefix_ + std::to_string(thread) + ":" + std::to_string(slot);
    KeyState& state = states_[static_cast<std::size_t>(thread)][slot];
    if (iteration % 2 == 0) {
      try {
        put(key, json{{"version", iteration}});
      } catch (const psycache::ConnectionError&) {
        state.in_doubt.push_back(iteration);
        throw;
      }
      state.acknowledged = iteration;
      state.in_doubt.clear();
      return;
    }
    const std::optional<json> value = get(key);
    if (state.acknowledged < 0 && state.in_doubt.empty()) return;
    if (!value) throw std::logic_error(key + ": an acknowledged put was lost");
    const auto version = value->at("version").get<std::int64_t>();
    if (version == state.acknowledged) return;
    for (const std::int64_t v : state.in_doubt) {
      if (version == v) return;
    }
    throw std::logic_error(key + ": read version " + std::to_string(version) + ", acknowledged " +
                           std::to_string(state.acknowledged));
  }

 private:
  static constexpr int kKeys = 8;
  struct KeyState {
    std::int64_t acknowledged = -1;
    std::vector<std::int64_t> in_doubt;
  };
  std::string prefix_;
  std::vector<std::map<int, KeyState>> states_;
};

}  // namespace

TEST_CASE("Terminating the backends of a pool never gives a wrong result") {
  psycache::test::reset_extension();
  const std::string name = "psycache_faults_terminate";
  std::optional<psycache::ConnectionPool> pool;
  pool.emplace(named_dsn(name), psycache::PoolOptions{.max_size = 3});
  psycache::PostgresCache cache{*pool};
  for (int i = 0; i < 10; ++i) cache.put_raw("k" + std::to_string(i), json{{"i", i}}, 600);

  int settled_errors = 0;
  int racing_errors = 0;
  for (int round = 0; round < 20; ++round) {
    {
      // Three connections in use at once, so that all of them are terminated.
      auto a = pool->connect();
      auto b = pool->connect();
      auto c = pool->connect();
    }
    REQUIRE(psycache::test::terminate_backends(name) == 3);
    // Half of the rounds give the backends time to exit: the pool then sees every connection
    // closed before it hands it out. The other half race the exit.
    const bool settled = round % 2 == 0;
    if (settled) std::this_thread::sleep_for(300ms);
    for (int i = 0; i < 10; ++i) {
      const std::string key = "k" + std::to_string(i);
      std::optional<json> value;
      try {
        value = cache.get_raw(key);
        cache.put_raw(key, json{{"i", i}}, 600);
      } catch (const psycache::ConnectionError& e) {
        ++(settled ? settled_errors : racing_errors);
        CHECK_THAT(e.what(), Contains("connection"));
        continue;
      }
      CHECK(value == json{{"i", i}});
    }
    CHECK(pool->size() <= 3);
  }
  CHECK(settled_errors == 0);
  // At most the first use of each of the three terminated connections fails.
  CHECK(racing_errors <= 3 * 10);
  // Connections closed by the server count until the pool sees them closed, at their next lease.
  CHECK(psycache::test::backends_of(name).size() <= pool->size());
  pool.reset();
  CHECK(backends_left(name) == 0);
}

TEST_CASE("A backend terminated during an operation gives a clean error, then a fresh one") {
  psycache::test::reset_extension();
  const std::string name = "psycache_faults_terminate_busy";
  psycache::ConnectionPool pool{named_dsn(name), {.max_size = 1}};
  psycache::PostgresCache cache{pool};
  cache.put_raw("k", json{{"v", 1}}, 600);
  const int pid = pool.connect()->backendpid();

  // The put waits for a row lock, so it is still running when its backend is terminated.
  std::future<void> put;
  {
    const auto writer = psycache::test::connect();
    pqxx::work transaction{*writer};
    transaction.exec("SELECT 1 FROM public.psycache WHERE key = 'k' FOR UPDATE");
    put = std::async(std::launch::async, [&cache] { cache.put_raw("k", json{{"v", 2}}, 600); });
    REQUIRE(put.wait_for(300ms) == std::future_status::timeout);
    CHECK(psycache::test::terminate_backends(name) == 1);
    REQUIRE(put.wait_for(10s) == std::future_status::ready);
    try {
      put.get();
      FAIL("no error");
    } catch (const psycache::ConnectionError& e) {
      // libpqxx 6.4 reports the server's "terminating connection due to administrator
      // command" (57P01) as a broken connection, without the server's message.
      CHECK_THAT(e.what(), Contains("put of key \"k\" failed") && Contains("connection"));
    }
  }
  CHECK(pool.size() == 0);
  CHECK(cache.get_raw("k") == json{{"v", 1}});
  CHECK(pool.connect()->backendpid() != pid);
}

TEST_CASE("After a crash the unlogged table is empty and the cache works on") {
  psycache::test::reset_extension();
  psycache::ConnectionPool pool{psycache::test::dsn(), {.max_size = 2, .connect_timeout = 2s}};
  psycache::PostgresCache cache{pool};
  for (int i = 0; i < 100; ++i) cache.put_raw("k" + std::to_string(i), json{{"i", i}}, 600);
  REQUIRE(cache.stats().entries == 100);
  {
    // Both connections idle in the pool, to be found dead after the crash.
    auto a = pool.connect();
    auto b = pool.connect();
  }

  const auto log_offset = psycache::test::server_log_size();
  psycache::test::crash_server();
  const std::string log = psycache::test::server_log_since(log_offset);
  INFO("server log during the crash:\n" << log);
  // The postmaster ended every session and ran crash recovery.
  CHECK_THAT(log, Contains("terminated by signal 9") &&
                      Contains("all server processes terminated; reinitializing") &&
                      Contains("automatic recovery in progress"));

  std::optional<json> value;
  try {
    value = cache.get_raw("k1");
  } catch (const psycache::ConnectionError& e) {
    WARN("first call after the crash failed: " << e.what());
    value = cache.get_raw("k1");
  }
  CHECK(value == std::nullopt);
  CHECK(cache.stats().entries == 0);
  cache.put_raw("after", json{{"crash", true}}, 600);
  CHECK(cache.get_raw("after") == json{{"crash", true}});
  CHECK(cache.stats().entries == 1);
}

TEST_CASE(
    "A fast restart in the middle of a load of sync and async clients: errors only while it is "
    "down, nothing lost") {
  psycache::test::reset_extension();
  const std::string name = "psycache_faults_restart";
  const std::string async_name = "psycache_faults_restart_async";
  constexpr int kThreads = 4;
  constexpr int kAsyncThreads = 4;
  constexpr auto kOperationTimeout = 3s;
  constexpr auto kConnectTimeout = 2s;
  std::optional<psycache::ConnectionPool> pool;
  pool.emplace(named_dsn(name), psycache::PoolOptions{.max_size = kThreads,
                                                      .acquire_timeout = 5s,
                                                      .connect_timeout = kConnectTimeout});
  std::optional<psycache::PostgresCache> cache_holder;
  cache_holder.emplace(*pool, psycache::CacheOptions{.operation_timeout = kOperationTimeout});
  psycache::PostgresCache& cache = *cache_holder;
  // The async clients share one pool of fewer connections than clients: their calls are
  // pipelined, so a broken connection fails several at once. operation_timeout bounds each call
  // in all, the wait for a connection and its opening included.
  std::optional<psycache::test::AsyncCacheThread> async_holder;
  async_holder.emplace(named_dsn(async_name),
                       psycache::AsyncPoolOptions{.max_size = 2,
                                                  .acquire_timeout = kOperationTimeout,
                                                  .operation_timeout = kOperationTimeout,
                                                  .connect_timeout = kConnectTimeout});
  psycache::AsyncPostgresCache& async_cache = async_holder->cache();

  VersionedKeys keys{"sync", kThreads};
  psycache::test::Load load{
      kThreads, [&](int thread, std::int64_t iteration) {
        keys.operation(
            thread, iteration,
            [&](const std::string& key, const json& value) { cache.put_raw(key, value, 600); },
            [&](const std::string& key) { return cache.get_raw(key); });
      }};
  VersionedKeys async_keys{"async", kAsyncThreads};
  psycache::test::Load async_load{
      kAsyncThreads, [&](int thread, std::int64_t iteration) {
        async_keys.operation(
            thread, iteration,
            [&](const std::string& key, const json& value) {
              async_cache.async_put_raw(key, value, 600, asio::use_future).get();
            },
            [&](const std::string& key) {
              return async_cache.async_get_raw(key, asio::use_future).get();
            });
      }};
  std::this_thread::sleep_for(1s);
  psycache::test::restart_server();
  const auto back = Clock::now();
  // "Within a few seconds of the server being back, all operations succeed again."
  std::this_thread::sleep_for(2s);
  load.mark();
  async_load.mark();
  std::this_thread::sleep_for(2s);
  const psycache::test::LoadReport report = load.stop();
  const psycache::test::LoadReport async_report = async_load.stop();

  for (const auto* r : {&report, &async_report}) {
    const bool sync = r == &report;
    INFO((sync ? "sync" : "async") << " clients: succeeded " << r->succeeded
                                   << ", connection errors " << r->connection_errors);
    for (const std::string& error : r->other_errors) UNSCOPED_INFO(error);
    CHECK(r->other_errors.empty());
    CHECK(r->succeeded_after_mark > 0);
    CHECK(r->failed_after_mark == 0);
    // No operation hung: a sync one took at most connect_timeout (libpq waits at least 2 s) plus
    // operation_timeout, an async one operation_timeout; with room for a slow machine.
    CHECK(r->slowest < kOperationTimeout + kConnectTimeout + 3s);
  }
  CHECK(Clock::now() - back < 30s);

  // No connection leaked: the server sees exactly the pools' connections, and none once they
  // are gone.
  CHECK(pool->size() <= static_cast<std::size_t>(kThreads));
  CHECK(psycache::test::backends_of(name).size() == pool->size());
  const std::size_t async_size =
      async_holder->on_executor([](psycache::AsyncConnectionPool& p) { return p.size(); });
  CHECK(async_size <= 2);
  CHECK(psycache::test::backends_of(async_name).size() == async_size);
  cache_holder.reset();
  pool.reset();
  async_holder.reset();
  CHECK(backends_left(name) == 0);
  CHECK(backends_left(async_name) == 0);
}
