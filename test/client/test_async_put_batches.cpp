// Automatic batching of async puts: puts queued together on a connection go out as one
// psycache_put_many call, each caller still gets its own answer, one bad put fails alone, and a
// cancelled put that waits is never sent.
#include <algorithm>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <pqxx/nontransaction>

#include <psycache/async.hpp>

#include "support/plain_instrumentation.hpp"
#include "support/run_until.hpp"
#include "support/test_db.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using nlohmann::json;
using psycache::test::counting_dsn;
using psycache::test::query_value;
using psycache::test::run_until;

namespace {

// The sizes every put span recorded, by key.
class PutSizes final : public psycache::test::PlainInstrumentation {
 public:
  std::map<std::string, std::vector<std::size_t>> sizes;

  std::unique_ptr<psycache::CacheSpan> start_cache_put_span(std::string_view key,
                                                            std::string_view) override {
    return std::make_unique<Span>(sizes[std::string{key}]);
  }

 private:
  struct Span final : psycache::CacheSpan {
    explicit Span(std::vector<std::size_t>& into) : into_(into) {}
    void record_put(std::size_t size) override { into_.push_back(size); }
    std::vector<std::size_t>& into_;
  };
};

}  // namespace

TEST_CASE("Many concurrent puts go out batched; every value is stored, every size its own") {
  psycache::test::reset_extension();
  constexpr int kPuts = 400;
  auto sizes = std::make_shared<PutSizes>();
  {
    asio::io_context io{1};
    psycache::AsyncConnectionPool pool{io.get_executor(), counting_dsn(), {.max_size = 3}};
    psycache::AsyncPostgresCache cache{pool, {.instrumentations = {sizes}}};
    int done = 0;
    for (int i = 0; i < kPuts; ++i) {
      // Values of different sizes, so that a size given to the wrong caller shows.
      cache.async_put_raw("k" + std::to_string(i), json{{"v", std::string(i % 50, 'x')}}, 60,
                          [&](std::exception_ptr e) {
                            CHECK_FALSE(e);
                            ++done;
                          });
    }
    run_until(io, [&] { return done == kPuts; });
  }  // The pool closes: its backends end and report their function calls.
  CHECK(*query_value("SELECT count(*) FROM public.psycache") == std::to_string(kPuts));
  for (int i = 0; i < kPuts; ++i) {
    const std::string key = "k" + std::to_string(i);
    INFO(key);
    CHECK(json::parse(*query_value("SELECT value::text FROM public.psycache WHERE key = '" + key +
                                   "'")) == json{{"v", std::string(i % 50, 'x')}});
    REQUIRE(sizes->sizes[key].size() == 1);
    CHECK(std::to_string(sizes->sizes[key].front()) ==
          *query_value("SELECT pg_column_size(value) FROM public.psycache WHERE key = '" + key +
                       "'"));
  }
  // Batched: far fewer calls than puts, and no put ran alone.
  const long long batches = psycache::test::function_calls("psycache_put_many", 1);
  CHECK(batches >= 1);
  CHECK(batches < kPuts / 4);
  CHECK(psycache::test::function_calls("psycache_put", 0) == 0);
}

TEST_CASE("A put the server refuses fails alone, with a single put's error; the batch is stored") {
  psycache::test::reset_extension();
  // Something only the server checks.
  query_value("ALTER TABLE public.psycache ADD CONSTRAINT no_bad_key CHECK (key <> 'bad')");
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{io.get_executor(), counting_dsn(), {.max_size = 1}};
  psycache::AsyncPostgresCache cache{pool};

  // The error of the put alone.
  std::optional<std::exception_ptr> alone;
  cache.async_put_raw("bad", json{1}, 60, [&](std::exception_ptr e) { alone = e; });
  run_until(io, [&] { return alone.has_value(); });
  REQUIRE(*alone);
  std::string message;
  try {
    std::rethrow_exception(*alone);
  } catch (const psycache::ServerError& e) {
    message = e.what();
  }
  CHECK_THAT(message, Contains("put of key \"bad\" failed") && Contains("no_bad_key"));
  // The message names the failing row, whose expiry differs from one put to the next.
  message = message.substr(0, message.find("Failing row"));

  // The same put inside a batch of ten queued together.
  std::vector<std::optional<std::exception_ptr>> outcomes(10);
  for (int i = 0; i < 10; ++i) {
    const std::string key = i == 4 ? "bad" : "b" + std::to_string(i);
    cache.async_put_raw(key, json{i}, 60, [&, i](std::exception_ptr e) { outcomes[i] = e; });
  }
  run_until(io, [&] {
    return std::all_of(outcomes.begin(), outcomes.end(), [](const auto& o) { return o; });
  });
  for (int i = 0; i < 10; ++i) {
    INFO(i);
    if (i == 4) {
      REQUIRE(*outcomes[i]);
      CHECK_THROWS_AS(std::rethrow_exception(*outcomes[i]), psycache::ServerError);
      CHECK_THROWS_WITH(std::rethrow_exception(*outcomes[i]), Catch::Matchers::StartsWith(message));
    } else {
      CHECK_FALSE(*outcomes[i]);
    }
  }
  CHECK(*query_value("SELECT count(*) FROM public.psycache") == "9");
  // The connection still batches.
  int done = 0;
  for (int i = 0; i < 5; ++i) {
    cache.async_put_raw("c" + std::to_string(i), json{i}, 60, [&](std::exception_ptr e) {
      CHECK_FALSE(e);
      ++done;
    });
  }
  run_until(io, [&] { return done == 5; });
  CHECK(*query_value("SELECT count(*) FROM public.psycache") == "14");
}

TEST_CASE("A cancelled put that waits is never sent; the puts around it still go as a batch") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{io.get_executor(), psycache::test::dsn(), {.max_size = 1}};
  psycache::AsyncPostgresCache cache{pool};
  // A session holds the row lock: the connection's first put waits on the server.
  psycache::test::LockedEntry locked;

  std::optional<std::exception_ptr> blocked, a, b, c;
  cache.async_put_raw("locked", json{2}, 60, [&](std::exception_ptr e) { blocked = e; });
  io.run_for(200ms);  // it is out; the next ones wait for the connection
  asio::cancellation_signal signal;
  cache.async_put_raw("a", json{1}, 60, [&](std::exception_ptr e) { a = e; });
  cache.async_put_raw(
      "b", json{1}, 60,
      asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e) { b = e; }));
  cache.async_put_raw("c", json{1}, 60, [&](std::exception_ptr e) { c = e; });
  io.run_for(100ms);
  signal.emit(asio::cancellation_type::terminal);
  run_until(io, [&] { return b.has_value(); });
  REQUIRE(*b);
  CHECK_THROWS_AS(std::rethrow_exception(*b), psycache::OperationCancelled);
  CHECK_FALSE(a);
  locked.release();
  run_until(io, [&] { return blocked && a && c; });
  CHECK_FALSE(*blocked);
  CHECK_FALSE(*a);
  CHECK_FALSE(*c);
  CHECK(*query_value("SELECT string_agg(key, ',' ORDER BY key) FROM public.psycache") ==
        "a,c,locked");
}

TEST_CASE("A put cancelled inside a batch on its way completes at once; the others go on") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{io.get_executor(), psycache::test::dsn(), {.max_size = 1}};
  psycache::AsyncPostgresCache cache{pool};
  psycache::test::LockedEntry locked;

  // Queued together: one batch, held up on the server by the lock.
  std::optional<std::exception_ptr> first, x, y;
  asio::cancellation_signal signal;
  cache.async_put_raw("locked", json{2}, 60, [&](std::exception_ptr e) { first = e; });
  cache.async_put_raw(
      "x", json{1}, 60,
      asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e) { x = e; }));
  cache.async_put_raw("y", json{1}, 60, [&](std::exception_ptr e) { y = e; });
  io.run_for(300ms);
  CHECK_FALSE(first);
  signal.emit(asio::cancellation_type::terminal);
  run_until(io, [&] { return x.has_value(); });
  REQUIRE(*x);
  CHECK_THROWS_AS(std::rethrow_exception(*x), psycache::OperationCancelled);
  CHECK_FALSE(y);  // the batch goes on for the others
  locked.release();
  run_until(io, [&] { return first && y; });
  CHECK_FALSE(*first);
  CHECK_FALSE(*y);
  // The cancelled put went out with the others: it took effect (as a sent put may).
  CHECK(*query_value("SELECT string_agg(key, ',' ORDER BY key) FROM public.psycache") ==
        "locked,x,y");
}

TEST_CASE("With extension 1.0 (no psycache_put_many) puts run alone and batching stops") {
  psycache::test::reset_extension();
  query_value("DROP EXTENSION psycache");
  query_value("CREATE EXTENSION psycache VERSION '1.0'");
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{io.get_executor(), psycache::test::dsn(), {.max_size = 1}};
  psycache::AsyncPostgresCache cache{pool};
  for (int round = 0; round < 2; ++round) {
    int done = 0;
    for (int i = 0; i < 8; ++i) {
      cache.async_put_raw("r" + std::to_string(round) + "-" + std::to_string(i), json{i}, 60,
                          [&](std::exception_ptr e) {
                            CHECK_FALSE(e);
                            ++done;
                          });
    }
    run_until(io, [&] { return done == 8; });
  }
  CHECK(*query_value("SELECT count(*) FROM public.psycache") == "16");
}
