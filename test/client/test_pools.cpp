// Pools: the CachePool concept, ConnectionPool, SingleConnectionPool, and a
// user's own pool.
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <psycache/psycache.hpp>

#include "support/test_db.hpp"

using namespace std::chrono_literals;
using nlohmann::json;

// --- a user's own pool, as README shows it ---------------------------------

// Some connection pool of the application, not made for psycache: it hands
// out shared_ptrs whose deleter puts the connection back.
class AppPool {
 public:
  explicit AppPool(std::string dsn) : dsn_(std::move(dsn)) {}

  std::shared_ptr<pqxx::connection> borrow() {
    std::unique_ptr<pqxx::connection> connection;
    {
      const std::lock_guard lock{mutex_};
      if (!idle_.empty()) {
        connection = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (!connection) connection = std::make_unique<pqxx::connection>(dsn_);
    return {connection.release(), [this](pqxx::connection* returned) {
              const std::lock_guard lock{mutex_};
              idle_.emplace_back(returned);
            }};
  }

 private:
  std::string dsn_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
};

// The adapter: connect() returns anything that dereferences to a connection.
struct AppCachePool {
  AppPool& pool;
  std::shared_ptr<pqxx::connection> connect() { return pool.borrow(); }
};

static_assert(psycache::CachePool<AppCachePool>);
static_assert(psycache::CachePool<psycache::ConnectionPool>);
static_assert(psycache::CachePool<psycache::SingleConnectionPool>);
static_assert(!psycache::CachePool<AppPool>);
static_assert(psycache::ConnectionLease<std::unique_ptr<pqxx::connection>>);
static_assert(psycache::ConnectionLease<pqxx::connection*>);
static_assert(!psycache::ConnectionLease<pqxx::connection>);

TEST_CASE("A user's own pool fits through a three-line adapter") {
  psycache::test::reset_extension();
  AppPool app_pool{psycache::test::dsn()};
  AppCachePool adapter{app_pool};
  psycache::PostgresCache cache{adapter};
  cache.put_raw("user:alice", json{{"score", 42}}, 300);
  CHECK(cache.get_raw("user:alice") == json{{"score", 42}});
}

TEST_CASE("A pool that opens a connection per lease fits the concept too") {
  psycache::test::reset_extension();
  struct ConnectPerCall {
    std::string dsn;
    std::unique_ptr<pqxx::connection> connect() { return std::make_unique<pqxx::connection>(dsn); }
  } pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool};
  cache.put_raw("k", json{{"fresh", true}}, 60);
  CHECK(cache.get_raw("k") == json{{"fresh", true}});
}

TEST_CASE("SingleConnectionPool shares the application's connection, one user at a time") {
  psycache::test::reset_extension();
  const auto connection = psycache::test::connect();
  psycache::SingleConnectionPool pool{*connection};
  psycache::PostgresCache cache{pool};

  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string key = "t" + std::to_string(t) + ":" + std::to_string(i % 5);
        cache.put_raw(key, json{{"i", i}}, 60);
        (void)cache.get_raw(key);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < 4; ++t) {
    CHECK(cache.get_raw("t" + std::to_string(t) + ":4") == json{{"i", 49}});
  }

  // The application still uses its connection, through a lease.
  {
    const auto lease = pool.connect();
    pqxx::nontransaction transaction{*lease};
    CHECK(transaction.exec1("SELECT count(*) FROM public.psycache")[0].as<int>() == 20);
  }
  // While the application holds a transaction open, the cache refuses to
  // interfere; afterwards it works.
  {
    pqxx::work transaction{*connection};
    CHECK_THROWS_AS(cache.get_raw("t0:0"), psycache::Error);
  }
  CHECK(cache.get_raw("t0:4") == json{{"i", 49}});
}

TEST_CASE("ConnectionPool opens connections lazily and reuses them") {
  psycache::ConnectionPool pool{psycache::test::dsn(), {.max_size = 3}};
  CHECK(pool.size() == 0);
  {
    auto a = pool.connect();
    auto b = pool.connect();
    CHECK(pool.size() == 2);
    CHECK(pool.idle() == 0);
    CHECK(a->is_open());
    CHECK(&a.connection() != &b.connection());
  }
  CHECK(pool.size() == 2);
  CHECK(pool.idle() == 2);
  {
    auto c = pool.connect();
    CHECK(pool.size() == 2);
    pqxx::nontransaction transaction{*c};
    CHECK(transaction.exec1("SELECT current_setting('client_encoding')")[0].as<std::string>() ==
          "UTF8");
    CHECK(transaction.exec1("SELECT current_setting('application_name')")[0].as<std::string>() ==
          "psycache");
  }
}

TEST_CASE("A connection marked broken is replaced, not reused") {
  psycache::ConnectionPool pool{psycache::test::dsn(), {.max_size = 1}};
  int first_pid = 0;
  {
    auto lease = pool.connect();
    first_pid = lease->backendpid();
    lease.mark_broken();
  }
  CHECK(pool.size() == 0);
  auto lease = pool.connect();
  CHECK(lease->backendpid() != first_pid);
}

namespace {

// Terminates the backend of pool's one idle connection and gives the server a moment to close
// the socket; returns the backend's pid.
int terminate_idle_backend(psycache::ConnectionPool& pool) {
  const int pid = pool.connect()->backendpid();
  CHECK(*psycache::test::query_value("SELECT pg_terminate_backend(" + std::to_string(pid) + ")") ==
        "t");
  std::this_thread::sleep_for(200ms);
  return pid;
}

}  // namespace

TEST_CASE("A connection the server closed while idle is replaced on the next lease") {
  psycache::test::reset_extension();
  psycache::ConnectionPool pool{psycache::test::dsn(), {.max_size = 1}};
  psycache::PostgresCache cache{pool};
  cache.put_raw("k", json{{"v", 1}}, 60);
  // The connection is then idle for longer than idle_check_after (100 ms), so connect() checks
  // it and replaces it.
  terminate_idle_backend(pool);
  CHECK(cache.get_raw("k") == json{{"v", 1}});
  CHECK(pool.size() == 1);
}

TEST_CASE("A connection given back within idle_check_after goes out unchecked") {
  psycache::test::reset_extension();
  psycache::ConnectionPool pool{psycache::test::dsn(), {.max_size = 1, .idle_check_after = 1h}};
  psycache::PostgresCache cache{pool};
  cache.put_raw("k", json{{"v", 1}}, 60);
  const int pid = terminate_idle_backend(pool);
  // Not checked, so the first operation finds the connection closed and fails alone...
  CHECK_THROWS_AS(cache.get_raw("k"), psycache::ConnectionError);
  // ...and the next one runs on a new connection.
  CHECK(cache.get_raw("k") == json{{"v", 1}});
  CHECK(pool.size() == 1);
  CHECK(pool.connect()->backendpid() != pid);
}

TEST_CASE("connect() waits for a free connection, up to acquire_timeout") {
  psycache::ConnectionPool pool{psycache::test::dsn(), {.max_size = 1, .acquire_timeout = 300ms}};
  auto held = std::make_optional(pool.connect());

  const auto start = std::chrono::steady_clock::now();
  try {
    (void)pool.connect();
    FAIL("no TimeoutError");
  } catch (const psycache::TimeoutError& e) {
    CHECK_THAT(e.what(), Catch::Matchers::Contains("300 ms"));
  }
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(waited >= 300ms);
  CHECK(waited < 3s);

  // A waiter gets the connection as soon as it is returned.
  auto waiter = std::async(std::launch::async, [&pool] {
    auto lease = pool.connect();
    return lease->backendpid();
  });
  std::this_thread::sleep_for(100ms);
  const int pid = (*held)->backendpid();
  held.reset();
  CHECK(waiter.get() == pid);
}

TEST_CASE("A TimeoutError is a ConnectionError, and the cache reports it as such") {
  psycache::test::reset_extension();
  psycache::ConnectionPool pool{psycache::test::dsn(), {.max_size = 1, .acquire_timeout = 100ms}};
  psycache::PostgresCache cache{pool};
  const auto held = pool.connect();
  CHECK_THROWS_AS(cache.get_raw("k"), psycache::ConnectionError);
}

TEST_CASE("Leases may outlive their pool") {
  std::optional<psycache::ConnectionPool::Lease> lease;
  {
    psycache::ConnectionPool pool{psycache::test::dsn()};
    lease.emplace(pool.connect());
  }
  pqxx::nontransaction transaction{**lease};
  CHECK(transaction.exec1("SELECT 1")[0].as<int>() == 1);
}
