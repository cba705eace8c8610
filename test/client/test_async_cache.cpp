// AsyncPostgresCache and AsyncConnectionPool: completion tokens, pipelining,
// cancellation and timeouts, a server restart, load on one thread, the
// cleanup task.
#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <catch2/catch.hpp>
#include <pqxx/nontransaction>
#include <pqxx/result>

#include <psycache/async.hpp>

#include "support/test_db.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using nlohmann::json;
using psycache::test::query_value;
using psycache::test::unique_key;

namespace {

// Runs io until coroutine ends (and rethrows what it threw), at most limit.
template <class Coroutine>
void run(asio::io_context& io, Coroutine coroutine, std::chrono::seconds limit = 60s) {
  std::exception_ptr failure;
  bool done = false;
  // An io_context that ran out of work has stopped itself.
  if (io.stopped()) io.restart();
  asio::co_spawn(io, std::move(coroutine), [&](std::exception_ptr e) {
    failure = std::move(e);
    done = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done && std::chrono::steady_clock::now() < deadline) io.run_one_for(100ms);
  REQUIRE(done);
  if (failure) std::rethrow_exception(failure);
}

// The backends of the test database that run a statement containing text.
int backends_running(const std::string& text) {
  return std::stoi(*query_value(
      "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%" + text +
      "%' AND pid <> pg_backend_pid()"));
}

}  // namespace

TEST_CASE("use_awaitable, callbacks, use_future and deferred all work") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{io.get_executor(), psycache::test::dsn()};
  psycache::AsyncPostgresCache cache{pool};

  // (Catch's macros stay outside coroutines: GCC 12 cannot compile them there.)
  std::optional<json> value, missing;
  bool removed = false;
  std::int64_t flushed = -1;
  run(io, [&]() -> asio::awaitable<void> {
    // (GCC 12 miscompiles a braced json temporary inside co_await: named first.)
    const json stored{{"v", 1}};
    co_await cache.async_put_raw("k", stored, 60, asio::use_awaitable);
    value = co_await cache.async_get_raw("k", asio::use_awaitable);
    missing = co_await cache.async_get_raw("missing", "span", asio::use_awaitable);
    // The default token is deferred: launched by co_await with a token.
    auto deferred = cache.async_remove("k");
    removed = co_await std::move(deferred)(asio::use_awaitable);
    flushed = co_await cache.async_flush(asio::use_awaitable);
  });
  CHECK(value == json{{"v", 1}});
  CHECK_FALSE(missing);
  CHECK(removed);
  CHECK(flushed == 0);

  bool called = false;
  cache.async_put_raw("cb", json::array({1, 2}), 60, [&](std::exception_ptr error) {
    CHECK_FALSE(error);
    cache.async_get_raw("cb", [&](std::exception_ptr e, std::optional<json> got) {
      CHECK_FALSE(e);
      CHECK(got == json::array({1, 2}));
      called = true;
    });
  });
  while (!called) io.run_one_for(100ms);

  // Errors arrive as the first argument; nothing runs inside the initiating call.
  bool failed = false;
  cache.async_get_raw(std::string(3000, 'k'), [&](std::exception_ptr e, std::optional<json> v) {
    REQUIRE(e);
    CHECK_FALSE(v);
    CHECK_THROWS_AS(std::rethrow_exception(e), psycache::InvalidArgument);
    failed = true;
  });
  CHECK_FALSE(failed);
  while (!failed) io.run_one_for(100ms);

  // use_future from another thread while this one runs the io_context.
  auto guard = asio::make_work_guard(io);
  std::thread runner{[&] { io.run(); }};
  CHECK(cache.async_get_raw("cb", asio::use_future).get() == json::array({1, 2}));
  CHECK(cache.async_remove("cb", asio::use_future).get());
  CHECK_THROWS_AS(
      cache.async_put_raw("x", json{}, std::chrono::years{292'270}, asio::use_future).get(),
      psycache::InvalidArgument);
  guard.reset();
  asio::post(io, [&] { io.stop(); });
  runner.join();
}

TEST_CASE("Concurrent operations on one connection are pipelined, in order, errors apart") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{
      io.get_executor(), psycache::test::dsn(), {.max_size = 1, .max_pipeline = 64}};
  psycache::AsyncPostgresCache cache{pool};
  constexpr int kOperations = 50;
  std::vector<int> order;
  int errors = 0;
  for (int i = 0; i < kOperations; ++i) {
    // Every tenth put has a TTL the server refuses: only that one fails.
    const psycache::Ttl ttl =
        i % 10 == 3 ? psycache::Ttl{std::chrono::years{292'270}} : psycache::Ttl{60};
    cache.async_put_raw("k" + std::to_string(i), json{{"i", i}}, ttl, [&, i](std::exception_ptr e) {
      order.push_back(i);
      if (e) {
        ++errors;
        CHECK(i % 10 == 3);
        CHECK_THROWS_AS(std::rethrow_exception(e), psycache::InvalidArgument);
      }
    });
  }
  while (order.size() < kOperations) io.run_one_for(100ms);
  CHECK(pool.size() == 1);
  CHECK(errors == kOperations / 10);
  std::vector<int> expected(kOperations);
  for (int i = 0; i < kOperations; ++i) expected.at(i) = i;
  CHECK(order == expected);
  CHECK(*query_value("SELECT count(*) FROM public.psycache") ==
        std::to_string(kOperations - kOperations / 10));

  // The answers of a pipelined batch of gets go to the right callers.
  int checked = 0;
  for (int i = 0; i < kOperations; ++i) {
    cache.async_get_raw("k" + std::to_string(i),
                        [&, i](std::exception_ptr e, std::optional<json> v) {
                          CHECK_FALSE(e);
                          if (i % 10 == 3) {
                            CHECK_FALSE(v);
                          } else {
                            CHECK(v == json{{"i", i}});
                          }
                          ++checked;
                        });
  }
  while (checked < kOperations) io.run_one_for(100ms);
}

TEST_CASE("When every connection is full, operations wait in order, up to acquire_timeout") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{io.get_executor(),
                                     psycache::test::dsn(),
                                     {.max_size = 1, .max_pipeline = 1, .acquire_timeout = 300ms}};
  psycache::AsyncPostgresCache cache{pool};
  // A session holds the row lock, so a put of "locked" waits on the server.
  psycache::test::LockedEntry locked;

  std::optional<std::exception_ptr> blocked, waiting;
  cache.async_put_raw("locked", json{2}, 60, [&](std::exception_ptr e) { blocked = e; });
  cache.async_get_raw("other", [&](std::exception_ptr e, std::optional<json>) { waiting = e; });
  while (!waiting) io.run_one_for(100ms);
  REQUIRE(*waiting);
  CHECK_THROWS_WITH(
      std::rethrow_exception(*waiting),
      Contains("get of key \"other\" failed: no connection became free within 300 ms"));
  CHECK_THROWS_AS(std::rethrow_exception(*waiting), psycache::TimeoutError);
  CHECK_FALSE(blocked);
  locked.release();
  while (!blocked) io.run_one_for(100ms);
  CHECK_FALSE(*blocked);
}

TEST_CASE("A query held up on the server ends by timeout or cancellation, the pool stays healthy") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{
      io.get_executor(), psycache::test::dsn(), {.max_size = 2, .operation_timeout = 500ms}};
  psycache::AsyncPostgresCache cache{pool};
  psycache::test::LockedEntry locked;

  SECTION("by the operation timeout") {
    std::exception_ptr outcome;
    run(io, [&]() -> asio::awaitable<void> {
      try {
        co_await cache.async_put_raw("locked", json(2), 60, asio::use_awaitable);
      } catch (const psycache::Error&) {
        outcome = std::current_exception();
      }
    });
    REQUIRE(outcome);
    CHECK_THROWS_AS(std::rethrow_exception(outcome), psycache::TimeoutError);
    CHECK_THROWS_WITH(
        std::rethrow_exception(outcome),
        Contains("put of key \"locked\" failed") && Contains("did not complete within 500 ms"));
  }
  SECTION("by a cancellation slot") {
    asio::cancellation_signal signal;
    std::optional<std::exception_ptr> outcome;
    cache.async_put_raw(
        "locked", json{2}, 60,
        asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e) { outcome = e; }));
    asio::steady_timer timer{io, 200ms};
    timer.async_wait([&](auto) { signal.emit(asio::cancellation_type::terminal); });
    while (!outcome) io.run_one_for(100ms);
    REQUIRE(*outcome);
    CHECK_THROWS_AS(std::rethrow_exception(*outcome), psycache::OperationCancelled);
    CHECK_THROWS_WITH(std::rethrow_exception(*outcome), Contains("put of key \"locked\" failed"));
  }
  SECTION("by an awaitable operator racing it with a timer") {
    using namespace asio::experimental::awaitable_operators;
    std::size_t winner = 0;
    run(io, [&]() -> asio::awaitable<void> {
      asio::steady_timer timer{io, 200ms};
      auto raced = co_await (cache.async_put_raw("locked", json(3), 60, asio::use_awaitable) ||
                             timer.async_wait(asio::use_awaitable));
      winner = raced.index();
    });
    CHECK(winner == 1);  // the timer won; the put was cancelled
  }

  // The server cancelled the query: no backend still waits on the lock, even
  // with the lock still held.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (backends_running("psycache_put") > 0 && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(50ms);
  }
  CHECK(backends_running("psycache_put") == 0);
  locked.release();
  // The next operations work, on every connection of the pool.
  std::vector<std::optional<json>> values;
  run(io, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 10; ++i) {
      co_await cache.async_put_raw("after" + std::to_string(i), json(i), 60, asio::use_awaitable);
      values.push_back(
          co_await cache.async_get_raw("after" + std::to_string(i), asio::use_awaitable));
    }
  });
  REQUIRE(values.size() == 10);
  for (int i = 0; i < 10; ++i) CHECK(values.at(static_cast<std::size_t>(i)) == json(i));
  CHECK(pool.size() <= 2);
  CHECK(*query_value("SELECT value::text FROM public.psycache WHERE key = 'locked'") == "1");
}

TEST_CASE(
    "One thread, 64 coroutines, 8 connections, 20,000 operations: no error, no lost write, "
    "no blocking") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{io.get_executor(), psycache::test::dsn(), {.max_size = 8}};
  psycache::AsyncPostgresCache cache{pool};
  constexpr int kCoroutines = 64;
  constexpr int kOperations = 20'000;
  constexpr int kKeysPerCoroutine = 8;

  // Each coroutine owns its keys and remembers what it wrote last to each.
  std::vector<std::vector<std::optional<int>>> last(
      kCoroutines, std::vector<std::optional<int>>(kKeysPerCoroutine));
  std::atomic<int> issued{0};
  int finished = 0;
  int errors = 0;
  int wrong_reads = 0;
  std::string first_error;
  const auto key_of = [](int c, int k) {
    return "c" + std::to_string(c) + ":" + std::to_string(k);
  };
  const auto worker = [&](int c) -> asio::awaitable<void> {
    for (int n = issued++; n < kOperations; n = issued++) {
      const int k = n % kKeysPerCoroutine;
      const std::string key = key_of(c, k);
      try {
        switch (n % 5) {
          case 0:
          case 1: {
            const json value = json::object({{"c", c}, {"n", n}});
            co_await cache.async_put_raw(key, value, 600, asio::use_awaitable);
            last.at(c).at(k) = n;
            break;
          }
          case 4:
            if (n % 20 == 4) {
              co_await cache.async_remove(key, asio::use_awaitable);
              last.at(c).at(k).reset();
              break;
            }
            [[fallthrough]];
          default: {
            const std::optional<json> value =
                co_await cache.async_get_raw(key, asio::use_awaitable);
            const std::optional<int> expected = last.at(c).at(k);
            if (value.has_value() != expected.has_value() ||
                (value && value->at("n").get<int>() != *expected)) {
              ++wrong_reads;
            }
          }
        }
      } catch (const std::exception& e) {
        if (errors++ == 0) first_error = e.what();
      }
    }
    ++finished;
  };

  // A 10 ms timer on the same thread: how late it ever fires tells whether
  // anything blocked the executor.
  auto late = std::chrono::steady_clock::duration::zero();
  int ticks = 0;
  const auto ticker = [&]() -> asio::awaitable<void> {
    asio::steady_timer timer{io};
    auto due = std::chrono::steady_clock::now();
    while (finished < kCoroutines) {
      due += 10ms;
      timer.expires_at(due);
      co_await timer.async_wait(asio::use_awaitable);
      late = std::max(late, std::chrono::steady_clock::now() - due);
      ++ticks;
    }
  };

  const auto start = std::chrono::steady_clock::now();
  for (int c = 0; c < kCoroutines; ++c) asio::co_spawn(io, worker(c), asio::detached);
  asio::co_spawn(io, ticker(), asio::detached);
  // The pool keeps a read wait on each open connection, so the io_context
  // never runs out of work: run until the workers are done.
  const auto deadline = start + 180s;
  while (finished < kCoroutines && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(100ms);
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;

  INFO("first error: " << first_error);
  CHECK(finished == kCoroutines);
  CHECK(errors == 0);
  CHECK(wrong_reads == 0);
  CHECK(pool.size() <= 8);
  // No lost write: the table holds exactly the last value each key was given.
  const auto connection = psycache::test::connect();
  pqxx::nontransaction transaction{*connection};
  int lost = 0;
  int stored = 0;
  for (const auto& row : transaction.exec("SELECT key, (value->>'n')::int FROM public.psycache")) {
    const std::string key = row[0].as<std::string>();
    const int c = std::stoi(key.substr(1, key.find(':') - 1));
    const int k = std::stoi(key.substr(key.find(':') + 1));
    ++stored;
    if (last.at(c).at(k) != row[1].as<int>()) ++lost;
  }
  int expected_rows = 0;
  for (const auto& keys : last) {
    for (const auto& value : keys) expected_rows += value.has_value() ? 1 : 0;
  }
  CHECK(lost == 0);
  CHECK(stored == expected_rows);
  const auto ms = [](auto d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  WARN(kOperations << " operations in " << ms(elapsed) << " ms; the 10 ms timer fired " << ticks
                   << " times, at most " << ms(late) << " ms late");
  // A blocking call on the executor (a blocking connect, a PQcancel, a wait
  // for a result) would hold the timer back; the bound leaves room for a busy
  // machine's scheduling.
  CHECK(late < 250ms);
  CHECK(ticks > 0);
}

TEST_CASE("A server restart during a run: clear errors, then the pool recovers") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{
      io.get_executor(), psycache::test::dsn(), {.max_size = 4, .connect_timeout = 5s}};
  psycache::AsyncPostgresCache cache{pool};
  std::atomic<bool> stop{false};
  std::atomic<bool> restarted{false};
  std::atomic<int> after_restart{0};
  int connection_errors = 0;
  int other_errors = 0;
  std::string other_error;
  std::string connection_error;
  const auto worker = [&](int w) -> asio::awaitable<void> {
    asio::steady_timer pause{io};
    for (int n = 0; !stop; ++n) {
      const std::string key = "w" + std::to_string(w) + ":" + std::to_string(n % 10);
      try {
        const json value(n);
        co_await cache.async_put_raw(key, value, 600, asio::use_awaitable);
        const std::optional<json> read = co_await cache.async_get_raw(key, asio::use_awaitable);
        if (read != value) throw std::runtime_error("read back something else");
        if (restarted) ++after_restart;
      } catch (const psycache::ConnectionError& e) {
        ++connection_errors;
        connection_error = e.what();
      } catch (const std::exception& e) {
        ++other_errors;
        other_error = e.what();
      }
      pause.expires_after(5ms);
      co_await pause.async_wait(asio::use_awaitable);
    }
  };
  for (int w = 0; w < 8; ++w) asio::co_spawn(io, worker(w), asio::detached);
  std::thread runner{[&] { io.run(); }};
  std::this_thread::sleep_for(300ms);
  try {
    psycache::test::restart_server();
  } catch (...) {
    stop = true;
    io.stop();
    runner.join();
    throw;
  }
  restarted = true;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (after_restart < 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  stop = true;
  // The pool's read waits keep io.run() going: stop it once the workers are done.
  std::this_thread::sleep_for(500ms);
  io.stop();
  runner.join();

  INFO("connection error: " << connection_error << "\nother error: " << other_error);
  CHECK(other_errors == 0);
  CHECK(after_restart >= 200);
  if (connection_errors > 0) {
    CHECK_THAT(connection_error, Contains(" failed: "));
    WARN(connection_errors << " operations failed during the restart, e.g.: " << connection_error);
  }
  CHECK(pool.size() <= 4);
}

TEST_CASE("While the server is down operations fail fast with ConnectionError, then they work") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{
      io.get_executor(), psycache::test::dsn(), {.max_size = 2, .connect_timeout = 2s}};
  psycache::AsyncPostgresCache cache{pool};
  const json stored{{"v", 1}};
  run(io, [&]() -> asio::awaitable<void> {
    co_await cache.async_put_raw("k", stored, 600, asio::use_awaitable);
  });
  psycache::test::pg_ctl("stop -m fast -w");
  std::vector<std::string> failures;
  try {
    run(
        io,
        [&]() -> asio::awaitable<void> {
          for (int i = 0; i < 3; ++i) {
            try {
              co_await cache.async_get_raw("k", asio::use_awaitable);
            } catch (const psycache::ConnectionError& e) {
              failures.emplace_back(e.what());
            }
          }
        },
        20s);
  } catch (...) {
    psycache::test::pg_ctl("start -w");
    throw;
  }
  psycache::test::pg_ctl("start -w");
  CHECK(failures.size() == 3);
  for (const auto& failure : failures) CHECK_THAT(failure, Contains("get of key \"k\" failed"));
  std::optional<json> value;
  run(io, [&]() -> asio::awaitable<void> {
    value = co_await cache.async_get_raw("k", asio::use_awaitable);
  });
  CHECK(value == stored);
}

TEST_CASE("The cleanup task deletes expired entries and stops when asked, in time or not") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{io.get_executor(), psycache::test::dsn()};
  psycache::AsyncPostgresCache cache{pool};
  const auto expired_count = [] {
    return std::stoi(*query_value(
        "SELECT count(*) FROM public.psycache WHERE expires_at <= statement_timestamp()"));
  };
  const auto put_expired = [&](int count) {
    int done = 0;
    for (int i = 0; i < count; ++i) {
      cache.async_put_raw("dead" + std::to_string(i), json(i), -1, [&](std::exception_ptr e) {
        CHECK_FALSE(e);
        ++done;
      });
    }
    while (done < count) io.run_one_for(100ms);
  };

  SECTION("it runs every interval, and stops in time when idle") {
    put_expired(3);
    psycache::AsyncCleanupService service = cache.start_cleanup_task(50ms);
    CHECK(service.running());
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (expired_count() > 0 && std::chrono::steady_clock::now() < deadline) {
      io.run_for(20ms);
    }
    CHECK(expired_count() == 0);
    put_expired(2);  // the next pass deletes these
    while (expired_count() > 0 && std::chrono::steady_clock::now() < deadline) {
      io.run_for(20ms);
    }
    CHECK(expired_count() == 0);
    std::optional<bool> stopped;
    service.async_stop(1s, [&](bool in_time) { stopped = in_time; });
    while (!stopped) io.run_one_for(100ms);
    CHECK(*stopped);
    CHECK_FALSE(service.running());
  }
  SECTION("a pass held up on the server makes a short stop report false") {
    put_expired(1);
    const auto holder = psycache::test::connect();
    pqxx::nontransaction locker{*holder};
    locker.exec("BEGIN");
    // Cleanup skips locked rows, so the whole table is locked.
    locker.exec("LOCK TABLE public.psycache IN ACCESS EXCLUSIVE MODE");
    psycache::AsyncCleanupService service = cache.start_cleanup_task(1h);
    io.run_for(300ms);  // the first pass is now waiting for the lock
    std::optional<bool> stopped;
    service.async_stop(200ms, [&](bool in_time) { stopped = in_time; });
    while (!stopped) io.run_one_for(100ms);
    CHECK_FALSE(*stopped);
    locker.exec("ROLLBACK");
    std::optional<bool> again;
    service.async_stop(10s, [&](bool in_time) { again = in_time; });
    while (!again) io.run_one_for(100ms);
    CHECK(*again);
    CHECK(expired_count() == 0);
  }
  SECTION("it ends when its io_context stops") {
    psycache::AsyncCleanupService service = cache.start_cleanup_task(10ms);
    asio::steady_timer timer{io, 200ms};
    timer.async_wait([&](auto) { io.stop(); });
    const auto start = std::chrono::steady_clock::now();
    io.run();  // returns: the task does not hold the io_context
    CHECK(std::chrono::steady_clock::now() - start < 30s);
    CHECK(io.stopped());
  }
}

TEST_CASE("A failed cleanup pass goes to the error handler and the task goes on") {
  psycache::test::reset_extension("cache_a");
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{io.get_executor(), psycache::test::dsn()};
  psycache::AsyncPostgresCache cache{pool, {.schema = "cache_b"}};
  std::vector<std::string> errors;
  psycache::AsyncCleanupService service = cache.start_cleanup_task(
      20ms, [&](const psycache::Error& e) { errors.emplace_back(e.what()); });
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (errors.size() < 2 && std::chrono::steady_clock::now() < deadline) io.run_one_for(50ms);
  REQUIRE(errors.size() >= 2);
  CHECK_THAT(errors.front(), Contains("cleanup_expired failed") && Contains("cache_b"));
  bool stopped = false;
  service.async_stop(5s, [&](bool in_time) { stopped = in_time; });
  while (!stopped) io.run_one_for(100ms);
  // Later suites and the README examples expect psycache in public.
  psycache::test::reset_extension();
}

// --- Extension 1.1 and stats --------------------------------------------------

namespace {

struct Point {
  int x = 0;
  int y = 0;
  friend bool operator==(const Point&, const Point&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Point, x, y)

}  // namespace

TEST_CASE("The 1.1 operations and stats with use_awaitable, callbacks, use_future and deferred") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{io.get_executor(), psycache::test::dsn()};
  psycache::AsyncPostgresCache cache{pool};

  std::vector<std::optional<json>> values;
  std::vector<std::optional<Point>> points;
  std::int64_t removed = -1;
  std::int64_t counter = 0;
  bool added = false;
  bool added_again = true;
  bool touched = false;
  bool typed_added = false;
  std::optional<std::chrono::microseconds> left;
  psycache::CacheStats stats;
  run(io, [&]() -> asio::awaitable<void> {
    // (GCC 12: braced temporaries are named before co_await.)
    std::vector<std::pair<std::string, json>> entries{{"a", json(1)}, {"b", json("two")}};
    co_await cache.async_put_many_raw(std::move(entries), 60, "span", asio::use_awaitable);
    std::vector<std::string> keys{"b", "missing", "a"};
    values = co_await cache.async_get_many_raw(keys, asio::use_awaitable);
    std::vector<std::pair<std::string, Point>> typed{{"p", {1, 2}}};
    co_await cache.async_put_many<Point>(typed, 60, asio::use_awaitable);
    std::vector<std::string> typed_keys{"p", "missing"};
    points = co_await cache.async_get_many<Point>(typed_keys, "span", asio::use_awaitable);
    // The default token is deferred: launched by co_await with a token.
    auto deferred = cache.async_add_raw("lock", json("me"), 60);
    added = co_await std::move(deferred)(asio::use_awaitable);
    added_again = co_await cache.async_add_raw("lock", json("you"), 60, asio::use_awaitable);
    typed_added = co_await cache.async_add<Point>("q", Point{3, 4}, 60, asio::use_awaitable);
    touched = co_await cache.async_touch("lock", 3600, asio::use_awaitable);
    left = co_await cache.async_ttl("lock", asio::use_awaitable);
    counter = co_await cache.async_incr("n", 5, 60, asio::use_awaitable);
    stats = co_await cache.async_stats(asio::use_awaitable);
    std::vector<std::string> all{"a", "b", "p", "q", "lock", "n"};
    removed = co_await cache.async_remove_many(std::move(all), asio::use_awaitable);
  });
  CHECK(values == std::vector<std::optional<json>>{json("two"), std::nullopt, json(1)});
  CHECK(points == std::vector<std::optional<Point>>{Point{1, 2}, std::nullopt});
  CHECK(added);
  CHECK_FALSE(added_again);
  CHECK(typed_added);
  CHECK(touched);
  CHECK(left > 3500s);
  CHECK(counter == 5);
  CHECK(stats.entries == 6);
  CHECK(removed == 6);

  // Callbacks; an empty batch, too, completes only after the initiating call returned.
  int called = 0;
  cache.async_incr("n", 2, 60, [&](std::exception_ptr e, std::int64_t n) {
    CHECK_FALSE(e);
    CHECK(n == 2);
    ++called;
  });
  cache.async_get_many_raw(std::vector<std::string>{},
                           [&](std::exception_ptr e, std::vector<std::optional<json>> v) {
                             CHECK_FALSE(e);
                             CHECK(v.empty());
                             ++called;
                           });
  cache.async_remove_many(std::vector<std::string>{}, [&](std::exception_ptr e, std::int64_t n) {
    CHECK_FALSE(e);
    CHECK(n == 0);
    ++called;
  });
  cache.async_put_many_raw({}, 60, [&](std::exception_ptr e) {
    CHECK_FALSE(e);
    ++called;
  });
  cache.async_stats([&](std::exception_ptr e, psycache::CacheStats s) {
    CHECK_FALSE(e);
    CHECK(s.entries == 1);
    ++called;
  });
  // Bad input arrives as the handler's error, also for an operation without a span.
  cache.async_touch(std::string(3000, 'k'), 60, [&](std::exception_ptr e, bool touched_bad) {
    REQUIRE(e);
    CHECK_FALSE(touched_bad);
    CHECK_THROWS_WITH(std::rethrow_exception(e), Contains("3000 bytes long"));
    ++called;
  });
  CHECK(called == 0);
  while (called < 6) io.run_one_for(100ms);

  // use_future from another thread while this one runs the io_context.
  auto guard = asio::make_work_guard(io);
  std::thread runner{[&] { io.run(); }};
  CHECK(cache.async_incr("n", 3, 60, asio::use_future).get() == 5);
  CHECK(cache.async_ttl("n", asio::use_future).get() <= 60s);
  CHECK_THROWS_AS(cache.async_incr("n", 1, std::chrono::years{292'270}, asio::use_future).get(),
                  psycache::InvalidArgument);
  CHECK_THROWS_AS(cache.async_get_many_raw({"n", "\xff"}, asio::use_future).get(),
                  psycache::InvalidArgument);
  guard.reset();
  asio::post(io, [&] { io.stop(); });
  runner.join();
}

TEST_CASE("8 coroutines race add on one key, 50 rounds: exactly one winner each round") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{io.get_executor(), psycache::test::dsn(), {.max_size = 8}};
  psycache::AsyncPostgresCache cache{pool};
  constexpr int kRacers = 8;
  for (int round = 0; round < 50; ++round) {
    // Every other round the key is there but expired: an add replaces it, once.
    const std::string key = unique_key("lock");
    if (round % 2 == 1) {
      run(io, [&]() -> asio::awaitable<void> {
        co_await cache.async_put_raw(key, json("stale"), -1, asio::use_awaitable);
      });
    }
    int winners = 0;
    int winner = -1;
    int finished = 0;
    std::string error;
    for (int c = 0; c < kRacers; ++c) {
      asio::co_spawn(
          io,
          [&, c]() -> asio::awaitable<void> {
            const json owner{{"owner", c}};
            if (co_await cache.async_add_raw(key, owner, 600, asio::use_awaitable)) {
              ++winners;
              winner = c;
            }
          },
          [&](std::exception_ptr e) {
            if (e) {
              try {
                std::rethrow_exception(e);
              } catch (const std::exception& failure) {
                error = failure.what();
              }
            }
            ++finished;
          });
    }
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (finished < kRacers && std::chrono::steady_clock::now() < deadline) {
      io.run_one_for(100ms);
    }
    REQUIRE(finished == kRacers);
    INFO("round " << round << ", error: " << error);
    REQUIRE(error.empty());
    REQUIRE(winners == 1);
    REQUIRE(*query_value("SELECT value->>'owner' FROM public.psycache WHERE key = '" + key + "'") ==
            std::to_string(winner));
  }
  CHECK(pool.size() <= 8);
}

TEST_CASE("64 coroutines incr one key over 8 connections: it ends at exactly the total") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{io.get_executor(), psycache::test::dsn(), {.max_size = 8}};
  psycache::AsyncPostgresCache cache{pool};
  constexpr int kCoroutines = 64;
  constexpr int kIncrements = 100;
  const std::string key = unique_key("counter");
  // Each value from 1 to the total must come back exactly once.
  std::vector<int> seen(kCoroutines * kIncrements + 1, 0);
  int finished = 0;
  int errors = 0;
  std::string first_error;
  for (int c = 0; c < kCoroutines; ++c) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          for (int i = 0; i < kIncrements; ++i) {
            try {
              const std::int64_t value =
                  co_await cache.async_incr(key, 1, 600, asio::use_awaitable);
              if (value >= 1 && value < static_cast<std::int64_t>(seen.size())) {
                ++seen.at(static_cast<std::size_t>(value));
              }
            } catch (const std::exception& e) {
              if (errors++ == 0) first_error = e.what();
            }
          }
        },
        [&](const std::exception_ptr&) { ++finished; });
  }
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (finished < kCoroutines && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(100ms);
  }
  INFO("first error: " << first_error);
  REQUIRE(finished == kCoroutines);
  CHECK(errors == 0);
  CHECK(*query_value("SELECT value::text FROM public.psycache WHERE key = '" + key + "'") ==
        std::to_string(kCoroutines * kIncrements));
  int once = 0;
  for (std::size_t v = 1; v < seen.size(); ++v) once += seen[v] == 1 ? 1 : 0;
  CHECK(once == kCoroutines * kIncrements);
  CHECK(pool.size() <= 8);
  CHECK(pool.size() > 1);
}

TEST_CASE("Pipelined 1.1 operations on one connection get their own answers, errors apart") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{
      io.get_executor(), psycache::test::dsn(), {.max_size = 1, .max_pipeline = 64}};
  psycache::AsyncPostgresCache cache{pool};
  const auto put = psycache::test::connect();
  pqxx::nontransaction{*put}.exec(
      "SELECT public.psycache_put('text', '\"7\"', '1 hour'), "
      "public.psycache_put('n', '10', '1 hour')");
  constexpr int kRounds = 10;
  std::vector<std::string> outcomes;
  for (int i = 0; i < kRounds; ++i) {
    const std::string k = "k" + std::to_string(i);
    cache.async_incr("n", 1, 60, [&, i](std::exception_ptr e, std::int64_t n) {
      outcomes.push_back(e ? "incr error" : "incr " + std::to_string(n - i));
    });
    // Refused by the server (not a JSON integer): only this one fails.
    cache.async_incr("text", 1, 60, [&](std::exception_ptr e, std::int64_t) {
      outcomes.push_back(e ? "text refused" : "text counted");
    });
    cache.async_add_raw(k, json(i), 60, [&](std::exception_ptr e, bool added) {
      outcomes.push_back(e ? "add error" : added ? "added" : "not added");
    });
    cache.async_get_many_raw(
        {k, "n"}, [&, i](std::exception_ptr e, std::vector<std::optional<json>> v) {
          outcomes.push_back(e                                          ? "get_many error"
                             : v.size() == 2 && v[0] == json(i) && v[1] ? "get_many right"
                                                                        : "get_many wrong");
        });
  }
  while (outcomes.size() < 4 * kRounds) io.run_one_for(100ms);
  CHECK(pool.size() == 1);
  std::vector<std::string> expected;
  for (int i = 0; i < kRounds; ++i) {
    expected.insert(expected.end(), {"incr 11", "text refused", "added", "get_many right"});
  }
  CHECK(outcomes == expected);
}

TEST_CASE("A 1.1 operation held up on the server ends by timeout or cancellation") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{
      io.get_executor(), psycache::test::dsn(), {.max_size = 2, .operation_timeout = 500ms}};
  psycache::AsyncPostgresCache cache{pool};
  psycache::test::LockedEntry locked;

  SECTION("incr by the operation timeout") {
    std::exception_ptr outcome;
    run(io, [&]() -> asio::awaitable<void> {
      try {
        co_await cache.async_incr("locked", 1, 60, asio::use_awaitable);
      } catch (const psycache::Error&) {
        outcome = std::current_exception();
      }
    });
    REQUIRE(outcome);
    CHECK_THROWS_AS(std::rethrow_exception(outcome), psycache::TimeoutError);
    CHECK_THROWS_WITH(
        std::rethrow_exception(outcome),
        Contains("incr of key \"locked\" failed") && Contains("did not complete within 500 ms"));
  }
  SECTION("put_many by a cancellation slot") {
    asio::cancellation_signal signal;
    std::optional<std::exception_ptr> outcome;
    cache.async_put_many_raw(
        {{"free", json(1)}, {"locked", json(2)}}, 60,
        asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e) { outcome = e; }));
    asio::steady_timer timer{io, 200ms};
    timer.async_wait([&](auto) { signal.emit(asio::cancellation_type::terminal); });
    while (!outcome) io.run_one_for(100ms);
    REQUIRE(*outcome);
    CHECK_THROWS_AS(std::rethrow_exception(*outcome), psycache::OperationCancelled);
    CHECK_THROWS_WITH(std::rethrow_exception(*outcome), Contains("put_many failed"));
  }
  SECTION("add by an awaitable operator racing it with a timer") {
    using namespace asio::experimental::awaitable_operators;
    std::size_t winner = 0;
    run(io, [&]() -> asio::awaitable<void> {
      asio::steady_timer timer{io, 200ms};
      // An add of a live key is refused only after it got the row's lock.
      auto raced = co_await (cache.async_add_raw("locked", json(3), 60, asio::use_awaitable) ||
                             timer.async_wait(asio::use_awaitable));
      winner = raced.index();
    });
    CHECK(winner == 1);
  }

  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (backends_running("psycache_") > 0 && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(50ms);
  }
  CHECK(backends_running("psycache_") == 0);
  locked.release();
  // The next operations work, on every connection of the pool.
  std::vector<std::optional<json>> values;
  std::int64_t counter = 0;
  run(io, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 5; ++i) {
      std::vector<std::pair<std::string, json>> entries{{"after" + std::to_string(i), json(i)}};
      co_await cache.async_put_many_raw(std::move(entries), 60, asio::use_awaitable);
      std::vector<std::string> keys{"after" + std::to_string(i)};
      auto got = co_await cache.async_get_many_raw(std::move(keys), asio::use_awaitable);
      values.push_back(got.at(0));
      counter = co_await cache.async_incr("locked", 1, 60, asio::use_awaitable);
    }
  });
  REQUIRE(values.size() == 5);
  for (int i = 0; i < 5; ++i) CHECK(values.at(static_cast<std::size_t>(i)) == json(i));
  CHECK(counter == 6);
  CHECK(pool.size() <= 2);
}
