// AsyncConnectionPool's flights: read-only queries share a sync, an error or
// a cancellation inside a flight fails only its own query, answers reach
// their callers in order, and the executor never waits.
#include <chrono>
#include <exception>
#include <functional>
#include <libpq-fe.h>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include <psycache/async.hpp>

#include "support/test_db.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using nlohmann::json;
using psycache::test::query_value;

namespace {

// What one query of the pool came back with.
struct Outcome {
  bool done = false;
  ExecStatusType status = PGRES_EMPTY_QUERY;
  std::string sqlstate;
  std::vector<std::string> row;
  std::exception_ptr error;
};

// A query straight to the pool, recording its outcome.
class Probe final : public psycache::AsyncQuery {
 public:
  Probe(const psycache::AsyncStatement& what, std::vector<std::string> arguments, bool reads,
        std::vector<int>* order = nullptr, int index = 0)
      : order_(order), index_(index) {
    statement = &what;
    read_only = reads;
    for (std::size_t i = 0; i < arguments.size(); ++i) params.at(i) = std::move(arguments.at(i));
    param_count = arguments.size();
  }

  void complete(psycache::detail::PgResult result, std::exception_ptr error) override {
    outcome.done = true;
    outcome.error = std::move(error);
    if (order_ != nullptr) order_->push_back(index_);
    if (!result) return;
    outcome.status = PQresultStatus(result.get());
    if (const char* state = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE)) {
      outcome.sqlstate = state;
    }
    if (outcome.status == PGRES_TUPLES_OK && PQntuples(result.get()) == 1) {
      for (int column = 0; column < PQnfields(result.get()); ++column) {
        outcome.row.emplace_back(PQgetvalue(result.get(), 0, column));
      }
    }
  }

  Outcome outcome;

 private:
  std::vector<int>* order_;
  int index_;
};

// Runs io until every probe is done, at most limit.
void run_until_done(asio::io_context& io, const std::vector<std::shared_ptr<Probe>>& probes,
                    std::chrono::seconds limit = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  const auto all_done = [&] {
    return std::all_of(probes.begin(), probes.end(), [](const auto& p) { return p->outcome.done; });
  };
  while (!all_done() && std::chrono::steady_clock::now() < deadline) io.run_one_for(50ms);
  REQUIRE(all_done());
}

// Backends of the test database running a statement that contains text.
int backends_running(const std::string& text) {
  return std::stoi(*query_value(
      "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%" + text +
      "%' AND pid <> pg_backend_pid()"));
}

}  // namespace

TEST_CASE("An error inside a flight of read-only queries fails only its own query") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{
      io.get_executor(), psycache::test::dsn(), {.max_size = 1, .max_pipeline = 64}};
  // transaction_timestamp() tells which queries shared a sync (one implicit transaction).
  const psycache::AsyncStatement divide{"pipeline_test_divide",
                                        "SELECT 100 / $1::int, transaction_timestamp()::text"};
  const std::vector<int> divisors{1, 2, 0, 5, 10, 0, 4, 25, 50, 100};
  std::vector<std::shared_ptr<Probe>> probes;
  std::vector<int> order;
  for (std::size_t i = 0; i < divisors.size(); ++i) {
    probes.push_back(std::make_shared<Probe>(divide,
                                             std::vector<std::string>{std::to_string(divisors[i])},
                                             true, &order, static_cast<int>(i)));
  }
  // Submitted together, before the connection is open: they go out as one flight.
  asio::post(io, [&] {
    for (const auto& probe : probes) pool.submit(probe);
  });
  run_until_done(io, probes);

  for (std::size_t i = 0; i < divisors.size(); ++i) {
    const Outcome& outcome = probes[i]->outcome;
    INFO("query " << i << ", divisor " << divisors[i]);
    CHECK_FALSE(outcome.error);
    if (divisors[i] == 0) {
      CHECK(outcome.status == PGRES_FATAL_ERROR);
      CHECK(outcome.sqlstate == "22012");  // division_by_zero
    } else {
      CHECK(outcome.status == PGRES_TUPLES_OK);
      REQUIRE(outcome.row.size() == 2);
      CHECK(outcome.row[0] == std::to_string(100 / divisors[i]));
    }
  }
  // The first two shared a sync (the pool grouped them) ...
  CHECK(probes[0]->outcome.row.at(1) == probes[1]->outcome.row.at(1));
  // ... and the ones the first error aborted ran again: each got its answer,
  // each caller once.
  CHECK(order.size() == divisors.size());
  CHECK(std::set<int>(order.begin(), order.end()).size() == divisors.size());
  CHECK(pool.size() == 1);

  // The connection is clean: the next flight runs on it.
  const auto after = std::make_shared<Probe>(divide, std::vector<std::string>{"4"}, true);
  pool.submit(after);
  run_until_done(io, {after});
  CHECK(after->outcome.row.at(0) == "25");
  CHECK(pool.size() == 1);
}

TEST_CASE("Queries that write get a sync each: one transaction per query, errors apart") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{
      io.get_executor(), psycache::test::dsn(), {.max_size = 1, .max_pipeline = 64}};
  // pg_current_xact_id() gives the query's transaction an id: a shared sync would share it.
  const psycache::AsyncStatement write{"pipeline_test_write",
                                       "SELECT pg_current_xact_id()::text, 10 / $1::int"};
  const psycache::AsyncStatement read{"pipeline_test_read", "SELECT 10 / $1::int"};
  std::vector<std::shared_ptr<Probe>> probes;
  std::vector<int> order;
  // Reads and writes mixed, one write failing.
  const std::vector<std::pair<bool, int>> plan{{false, 1}, {false, 2}, {true, 5},  {false, 0},
                                               {true, 1},  {false, 5}, {false, 10}};
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const auto& [reads, divisor] = plan[i];
    probes.push_back(std::make_shared<Probe>(reads ? read : write,
                                             std::vector<std::string>{std::to_string(divisor)},
                                             reads, &order, static_cast<int>(i)));
  }
  asio::post(io, [&] {
    for (const auto& probe : probes) pool.submit(probe);
  });
  run_until_done(io, probes);

  std::set<std::string> transactions;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const auto& [reads, divisor] = plan[i];
    const Outcome& outcome = probes[i]->outcome;
    INFO("query " << i);
    if (divisor == 0) {
      CHECK(outcome.status == PGRES_FATAL_ERROR);
      continue;
    }
    REQUIRE(outcome.status == PGRES_TUPLES_OK);
    if (!reads) transactions.insert(outcome.row.at(0));
  }
  CHECK(transactions.size() == 4);  // every successful write in its own transaction
  // Nothing ran again here: the answers came in the order of the queries.
  std::vector<int> expected(plan.size());
  for (std::size_t i = 0; i < plan.size(); ++i) expected[i] = static_cast<int>(i);
  CHECK(order == expected);
}

TEST_CASE("A query cancelled inside a flight: only it fails, the connection comes back clean") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{
      io.get_executor(), psycache::test::dsn(), {.max_size = 1, .max_pipeline = 64}};
  const psycache::AsyncStatement fast{"pipeline_test_fast", "SELECT $1::int * 2"};
  const psycache::AsyncStatement slow{"pipeline_test_slow",
                                      "SELECT $1::int FROM pg_sleep(30) AS pipeline_test_slow"};
  std::vector<std::shared_ptr<Probe>> probes{
      std::make_shared<Probe>(fast, std::vector<std::string>{"1"}, true),
      std::make_shared<Probe>(slow, std::vector<std::string>{"2"}, true),
      std::make_shared<Probe>(fast, std::vector<std::string>{"3"}, true),
      std::make_shared<Probe>(fast, std::vector<std::string>{"4"}, true)};
  asio::post(io, [&] {
    for (const auto& probe : probes) pool.submit(probe);
  });
  asio::steady_timer timer{io, 300ms};
  timer.async_wait([&](const asio::error_code&) {
    pool.cancel(probes[1], std::make_exception_ptr(psycache::OperationCancelled("cancelled")));
  });
  const auto start = std::chrono::steady_clock::now();
  run_until_done(io, probes);
  CHECK(std::chrono::steady_clock::now() - start < 20s);  // not the 30 s of the sleep

  CHECK(probes[0]->outcome.row == std::vector<std::string>{"2"});
  REQUIRE(probes[1]->outcome.error);
  CHECK_THROWS_AS(std::rethrow_exception(probes[1]->outcome.error), psycache::OperationCancelled);
  // The two after it were aborted by the cancelled statement's error and ran again.
  CHECK_FALSE(probes[2]->outcome.error);
  CHECK(probes[2]->outcome.row == std::vector<std::string>{"6"});
  CHECK_FALSE(probes[3]->outcome.error);
  CHECK(probes[3]->outcome.row == std::vector<std::string>{"8"});

  // The server stopped the sleep, and the pool's one connection works.
  CHECK(backends_running("pipeline_test_slow") == 0);
  const auto after = std::make_shared<Probe>(fast, std::vector<std::string>{"21"}, true);
  pool.submit(after);
  run_until_done(io, {after});
  CHECK(after->outcome.row == std::vector<std::string>{"42"});
  CHECK(pool.size() == 1);
}

TEST_CASE("A query timed out: it fails alone, the queries queued behind it are answered") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{
      io.get_executor(),
      psycache::test::dsn(),
      {.max_size = 1, .max_pipeline = 64, .operation_timeout = 500ms}};
  const psycache::AsyncStatement fast{"pipeline_test_fast", "SELECT $1::int * 2"};
  const psycache::AsyncStatement slow{"pipeline_test_slow",
                                      "SELECT $1::int FROM pg_sleep(30) AS pipeline_test_slow"};
  const auto held = std::make_shared<Probe>(slow, std::vector<std::string>{"2"}, true);
  pool.submit(held);
  // Submitted while the sleep runs: they wait for the connection, with later deadlines.
  std::vector<std::shared_ptr<Probe>> queued{
      std::make_shared<Probe>(fast, std::vector<std::string>{"5"}, true),
      std::make_shared<Probe>(fast, std::vector<std::string>{"6"}, true)};
  asio::steady_timer timer{io, 200ms};
  timer.async_wait([&](const asio::error_code&) {
    for (const auto& probe : queued) pool.submit(probe);
  });
  run_until_done(io, {held, queued[0], queued[1]});

  REQUIRE(held->outcome.error);
  CHECK_THROWS_AS(std::rethrow_exception(held->outcome.error), psycache::TimeoutError);
  CHECK_THROWS_WITH(std::rethrow_exception(held->outcome.error),
                    Contains("did not complete within 500 ms"));
  CHECK_FALSE(queued[0]->outcome.error);
  CHECK(queued[0]->outcome.row == std::vector<std::string>{"10"});
  CHECK_FALSE(queued[1]->outcome.error);
  CHECK(queued[1]->outcome.row == std::vector<std::string>{"12"});
  CHECK(backends_running("pipeline_test_slow") == 0);
  CHECK(pool.size() == 1);
}

TEST_CASE("64 operations in flight on 8 connections: answers in order, the executor never waits") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{io.get_executor(), psycache::test::dsn(), {.max_size = 8}};
  psycache::AsyncPostgresCache cache{pool};
  constexpr int kCoroutines = 64;
  constexpr int kRounds = 100;
  int finished = 0;
  int wrong = 0;
  int errors = 0;
  std::string first_error;
  // Each coroutine writes its key, then reads it back: a read must see its own
  // coroutine's last write (order), never another key's value (right caller).
  const auto worker = [&](int c) -> asio::awaitable<void> {
    const std::string key = "pipeline:" + std::to_string(c);
    try {
      for (int n = 0; n < kRounds; ++n) {
        const json value = json::object({{"c", c}, {"n", n}});
        co_await cache.async_put_raw(key, value, 600, asio::use_awaitable);
        const std::optional<json> read = co_await cache.async_get_raw(key, asio::use_awaitable);
        if (!read || *read != value) ++wrong;
      }
    } catch (const std::exception& e) {
      if (errors++ == 0) first_error = e.what();
    }
    ++finished;
  };
  // A 10 ms timer on the same thread: how late it fires tells whether anything
  // blocked the executor.
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
  for (int c = 0; c < kCoroutines; ++c) asio::co_spawn(io, worker(c), asio::detached);
  asio::co_spawn(io, ticker(), asio::detached);
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (finished < kCoroutines && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(100ms);
  }
  INFO("first error: " << first_error);
  CHECK(finished == kCoroutines);
  CHECK(errors == 0);
  CHECK(wrong == 0);
  CHECK(pool.size() <= 8);
  CHECK(*query_value("SELECT count(*) FROM public.psycache WHERE key LIKE 'pipeline:%'") ==
        std::to_string(kCoroutines));
  CHECK(ticks > 0);
  // A bound with room for a busy machine's scheduling.
  CHECK(late < 250ms);
}
