// Timeouts: connecting, waiting for a lock or a slow statement, and waiting
// for a server that stopped answering. Each fires as configured, with a
// TimeoutError (or a ConnectionError when connecting), and the cache works
// afterwards.
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <psycache/psycache.hpp>

#include "support/faults.hpp"
#include "support/test_db.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// A transaction on its own connection that holds the row lock of key until
// destroyed, as a long-running writer of the application would.
class RowLock {
 public:
  explicit RowLock(const std::string& key)
      : connection_(psycache::test::connect()), transaction_(*connection_) {
    transaction_.exec("SELECT 1 FROM public.psycache WHERE key = " + transaction_.quote(key) +
                      " FOR UPDATE");
  }

 private:
  std::unique_ptr<pqxx::connection> connection_;
  pqxx::work transaction_;
};

std::string setting(psycache::ConnectionPool& pool, const std::string& name) {
  auto lease = pool.connect();
  pqxx::nontransaction transaction{*lease};
  return transaction.exec1("SELECT current_setting(" + transaction.quote(name) + ")")[0]
      .as<std::string>();
}

}  // namespace

TEST_CASE("statement_timeout and lock_timeout reach the server when a connection opens") {
  psycache::ConnectionPool pool{psycache::test::dsn(),
                                {.statement_timeout = 1500ms, .lock_timeout = 250ms}};
  CHECK(setting(pool, "statement_timeout") == "1500ms");
  CHECK(setting(pool, "lock_timeout") == "250ms");

  // The DSN's own options are kept; the pool's settings come after them and win.
  psycache::ConnectionPool both{
      psycache::test::dsn() + " options='-c work_mem=5MB -c lock_timeout=9s'",
      {.lock_timeout = 100ms}};
  CHECK(setting(both, "work_mem") == "5MB");
  CHECK(setting(both, "lock_timeout") == "100ms");

  // 0 leaves the server's setting.
  psycache::ConnectionPool plain{psycache::test::dsn()};
  CHECK(setting(plain, "statement_timeout") == "0");
}

TEST_CASE("Timeouts out of range are refused when the pool is made") {
  CHECK_THROWS_WITH((psycache::ConnectionPool{"", {.statement_timeout = -1ms}}),
                    Contains("statement_timeout must be between 0 and 2147483647 ms"));
  CHECK_THROWS_WITH((psycache::ConnectionPool{"", {.lock_timeout = 2147483648ms}}),
                    Contains("lock_timeout"));
  CHECK_THROWS_WITH((psycache::ConnectionPool{"", {.idle_check_after = -1ms}}),
                    Contains("idle_check_after must not be negative"));
  psycache::ConnectionPool pool{"host=127.0.0.1"};
  CHECK_THROWS_WITH((psycache::PostgresCache{pool, {.operation_timeout = -5ms}}),
                    Contains("operation_timeout must not be negative"));
}

TEST_CASE("A put behind a locked row fails at lock_timeout, and the connection is kept") {
  psycache::test::reset_extension();
  psycache::ConnectionPool pool{psycache::test::dsn(), {.max_size = 1, .lock_timeout = 200ms}};
  psycache::PostgresCache cache{pool};
  cache.put_raw("k", json{{"v", 1}}, 600);
  const int pid = pool.connect()->backendpid();
  {
    const RowLock lock{"k"};
    const auto start = Clock::now();
    try {
      cache.put_raw("k", json{{"v", 2}}, 600);
      FAIL("no TimeoutError");
    } catch (const psycache::TimeoutError& e) {
      CHECK(e.sqlstate() == "55P03");
      CHECK_THAT(e.what(), Contains("put of key \"k\" failed") && Contains("lock timeout"));
    }
    CHECK(Clock::now() - start < 5s);
    // A read needs no lock: it goes on while the writer holds the row.
    CHECK(cache.get_raw("k") == json{{"v", 1}});
    CHECK_THROWS_AS(cache.remove("k"), psycache::TimeoutError);
    CHECK_THROWS_AS(cache.flush(), psycache::TimeoutError);
  }
  CHECK(pool.connect()->backendpid() == pid);
  cache.put_raw("k", json{{"v", 3}}, 600);
  CHECK(cache.get_raw("k") == json{{"v", 3}});
}

TEST_CASE("A statement past statement_timeout is canceled, and the connection is kept") {
  psycache::test::reset_extension();
  psycache::ConnectionPool pool{psycache::test::dsn(), {.max_size = 1, .statement_timeout = 300ms}};
  psycache::PostgresCache cache{pool};
  cache.put_raw("k", json{{"v", 1}}, 600);
  const int pid = pool.connect()->backendpid();
  {
    // No lock_timeout: the put waits for the lock until the statement times out.
    const RowLock lock{"k"};
    const auto start = Clock::now();
    try {
      cache.put_raw("k", json{{"v", 2}}, 600);
      FAIL("no TimeoutError");
    } catch (const psycache::TimeoutError& e) {
      CHECK(e.sqlstate() == "57014");
      CHECK_THAT(e.what(), Contains("statement timeout"));
    }
    const auto waited = Clock::now() - start;
    CHECK(waited >= 300ms);
    CHECK(waited < 5s);
  }
  CHECK(pool.connect()->backendpid() == pid);
  CHECK(cache.get_raw("k") == json{{"v", 1}});
}

TEST_CASE("A server that stopped answering is cut off at operation_timeout") {
  psycache::test::reset_extension();
  psycache::ConnectionPool pool{psycache::test::dsn(), {.max_size = 1}};
  psycache::PostgresCache cache{pool, {.operation_timeout = 500ms}};
  cache.put_raw("k", json{{"v", 1}}, 600);
  const int pid = pool.connect()->backendpid();
  {
    // The backend is stopped: the kernel keeps the connection up, nothing answers, and
    // neither statement_timeout (enforced by that backend) nor TCP keepalives would fire.
    const psycache::test::FrozenProcess frozen{pid};
    const auto start = Clock::now();
    try {
      (void)cache.get_raw("k");
      FAIL("no TimeoutError");
    } catch (const psycache::TimeoutError& e) {
      CHECK(e.sqlstate().empty());
      CHECK_THAT(e.what(), Contains("get of key \"k\" failed: no answer from the server within "
                                    "500 ms (CacheOptions::operation_timeout)"));
    }
    const auto waited = Clock::now() - start;
    CHECK(waited >= 500ms);
    CHECK(waited < 3s);
    // The cut connection was discarded; the next call opens one to a new backend, which
    // works while the old one is still stopped.
    CHECK(pool.size() == 0);
    cache.put_raw("other", json{{"v", 2}}, 600);
    CHECK(cache.get_raw("other") == json{{"v", 2}});
    const int second = pool.connect()->backendpid();
    CHECK(second != pid);

    const psycache::test::FrozenProcess also{second};
    CHECK_THROWS_AS(cache.remove("other"), psycache::TimeoutError);
    CHECK(pool.size() == 0);

    // The operations of extension 1.1 are bounded the same way.
    const int third = pool.connect()->backendpid();
    const psycache::test::FrozenProcess last{third};
    CHECK_THROWS_WITH(cache.get_many_raw({"k", "other"}),
                      Contains("get_many failed: no answer from the server within 500 ms"));
    CHECK(pool.size() == 0);
  }
  CHECK(cache.get_raw("k") == json{{"v", 1}});
  CHECK(cache.incr("n", 2, 600) == 2);
  // The remove was cut, not canceled: the resumed backend may still have run it.
  (void)cache.get_raw("other");
}

TEST_CASE("operation_timeout bounds a statement on a SingleConnectionPool too") {
  psycache::test::reset_extension();
  const auto connection = psycache::test::connect();
  psycache::SingleConnectionPool pool{*connection};
  psycache::PostgresCache cache{pool, {.operation_timeout = 400ms}};
  cache.put_raw("k", json{{"v", 1}}, 600);
  {
    const psycache::test::FrozenProcess frozen{connection->backendpid()};
    const auto start = Clock::now();
    CHECK_THROWS_AS(cache.put_raw("k", json{{"v", 2}}, 600), psycache::TimeoutError);
    CHECK(Clock::now() - start < 3s);
  }
  // libpqxx reopens the closed connection on its next use. The put was sent
  // before the server froze, so the resumed backend may still have stored it:
  // like any operation whose connection broke, its outcome is unknown.
  const std::optional<json> value = cache.get_raw("k");
  CHECK((value == json{{"v", 1}} || value == json{{"v", 2}}));
}

TEST_CASE("Without operation_timeout nothing is cut: a slow answer still arrives") {
  psycache::test::reset_extension();
  psycache::ConnectionPool pool{psycache::test::dsn(), {.max_size = 1}};
  psycache::PostgresCache patient{pool};
  psycache::PostgresCache bounded{pool, {.operation_timeout = 5s}};
  patient.put_raw("k", json{{"v", 1}}, 600);
  const int pid = pool.connect()->backendpid();
  for (psycache::PostgresCache* cache : {&patient, &bounded}) {
    std::optional<psycache::test::FrozenProcess> frozen{std::in_place, pid};
    auto thaw = std::async(std::launch::async, [&frozen] {
      std::this_thread::sleep_for(700ms);
      frozen.reset();
    });
    CHECK(cache->get_raw("k") == json{{"v", 1}});
    thaw.get();
    CHECK(pool.connect()->backendpid() == pid);
  }
}

TEST_CASE("A port with no server is a ConnectionError at once") {
  for (const std::string& dsn :
       {"host=127.0.0.1 port=" + std::to_string(psycache::test::closed_port()),
        std::string{"postgresql://127.0.0.1:9/postgres"}}) {
    psycache::ConnectionPool pool{dsn, {.connect_timeout = 2s}};
    psycache::PostgresCache cache{pool};
    const auto start = Clock::now();
    try {
      (void)cache.get_raw("k");
      FAIL("no error");
    } catch (const psycache::ConnectionError& e) {
      CHECK_THAT(e.what(), Contains("connecting to the server failed") && Contains("127.0.0.1"));
    }
    CHECK(Clock::now() - start < 5s);
    CHECK(pool.size() == 0);
  }
}

TEST_CASE("A server that accepts and never answers is a ConnectionError at connect_timeout") {
  const psycache::test::SilentListener listener;
  psycache::ConnectionPool pool{listener.dsn(), {.connect_timeout = 2s}};
  psycache::PostgresCache cache{pool};
  for (int i = 0; i < 2; ++i) {
    const auto start = Clock::now();
    CHECK_THROWS_WITH(cache.put_raw("k", json{}, 60), Contains("timeout"));
    const auto waited = Clock::now() - start;
    CHECK(waited >= 1s);
    CHECK(waited < 6s);
    CHECK(pool.size() == 0);
  }
}
