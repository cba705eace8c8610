// Fail-open: with CacheOptions::fail_open, a cache that cannot reach its
// server answers get with a miss and swallows put, and tells the
// instrumentations; without it (the default), both throw. The same for
// AsyncPostgresCache, whose handlers then get no error.
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <psycache/async.hpp>
#include <psycache/psycache.hpp>

#include "support/faults.hpp"
#include "support/test_db.hpp"
#include "validation.hpp"

using namespace std::chrono_literals;
using namespace std::string_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// Counts what the spans of a cache were told, as a metrics provider would.
class Outcomes final : public psycache::CacheInstrumentation {
 public:
  struct Counts {
    int hits = 0, misses = 0, puts = 0, connection_errors = 0, timeouts = 0, other_errors = 0;
  };

  Counts counts() const {
    const std::lock_guard lock{mutex_};
    return counts_;
  }

  std::unique_ptr<psycache::CacheSpan> start_cache_get_span(
      std::string_view /*key*/, std::string_view /*span_name*/) override {
    return std::make_unique<Span>(*this);
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_put_span(
      std::string_view /*key*/, std::string_view /*span_name*/) override {
    return std::make_unique<Span>(*this);
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_remove_span(std::string_view /*key*/) override {
    return std::make_unique<Span>(*this);
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_flush_span() override {
    return std::make_unique<Span>(*this);
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_cleanup_span() override {
    return std::make_unique<Span>(*this);
  }

 private:
  class Span final : public psycache::CacheSpan {
   public:
    explicit Span(Outcomes& outcomes) : outcomes_(outcomes) {}
    void record_cache_hit(std::size_t /*size*/) override { count(&Counts::hits); }
    void record_cache_miss() override { count(&Counts::misses); }
    void record_put(std::size_t /*size*/) override { count(&Counts::puts); }
    void record_error(const psycache::Error& error) override {
      if (dynamic_cast<const psycache::TimeoutError*>(&error) != nullptr) {
        count(&Counts::timeouts);
      } else if (dynamic_cast<const psycache::ConnectionError*>(&error) != nullptr) {
        count(&Counts::connection_errors);
      } else {
        count(&Counts::other_errors);
      }
    }

   private:
    void count(int Counts::*member) {
      const std::lock_guard lock{outcomes_.mutex_};
      ++(outcomes_.counts_.*member);
    }
    Outcomes& outcomes_;
  };

  mutable std::mutex mutex_;
  Counts counts_;
};

psycache::CacheOptions fail_open(const std::shared_ptr<Outcomes>& outcomes) {
  return psycache::CacheOptions{.instrumentations = {outcomes}, .fail_open = true};
}

// Runs io until coroutine ends (and rethrows what it threw), at most 30 s.
template <class Coroutine>
void run(asio::io_context& io, Coroutine coroutine) {
  std::exception_ptr failure;
  bool done = false;
  if (io.stopped()) io.restart();
  asio::co_spawn(io, std::move(coroutine), [&](std::exception_ptr e) {
    failure = std::move(e);
    done = true;
  });
  const auto deadline = Clock::now() + 30s;
  while (!done && Clock::now() < deadline) io.run_one_for(100ms);
  REQUIRE(done);
  if (failure) std::rethrow_exception(failure);
}

// What an async get and an async put of one key gave their handlers, and how long they took.
struct AsyncOutcome {
  std::exception_ptr get_error;
  std::optional<json> got = json{"not called"};
  std::exception_ptr put_error;
  Clock::duration waited{};
};

AsyncOutcome async_get_and_put(asio::io_context& io, psycache::AsyncPostgresCache& cache) {
  AsyncOutcome outcome;
  const std::string key = "k";
  const json value{{"v", 1}};
  const auto start = Clock::now();
  run(io, [&]() -> asio::awaitable<void> {
    using asio::experimental::as_tuple;
    std::tie(outcome.get_error, outcome.got) =
        co_await cache.async_get_raw(key, as_tuple(asio::use_awaitable));
    std::tie(outcome.put_error) =
        co_await cache.async_put_raw(key, value, 60, as_tuple(asio::use_awaitable));
  });
  outcome.waited = Clock::now() - start;
  return outcome;
}

// Whether error holds an Expected.
template <class Expected>
bool is(const std::exception_ptr& error) {
  try {
    if (error) std::rethrow_exception(error);
  } catch (const Expected&) {
    return true;
  } catch (...) {
  }
  return false;
}

std::string closed_port_dsn() {
  return "host=127.0.0.1 port=" + std::to_string(psycache::test::closed_port());
}

}  // namespace

TEST_CASE("Fail-open is off by default: a stopped server is an error") {
  psycache::test::reset_extension();
  psycache::ConnectionPool pool{psycache::test::dsn(), {.connect_timeout = 2s}};
  psycache::PostgresCache cache{pool};
  CHECK_FALSE(cache.options().fail_open);
  const psycache::test::StoppedServer stopped;
  CHECK_THROWS_AS(cache.get_raw("k"), psycache::ConnectionError);
  CHECK_THROWS_AS(cache.put_raw("k", json{}, 60), psycache::ConnectionError);
}

TEST_CASE("Fail-open: while the server is stopped, get misses and put is swallowed") {
  psycache::test::reset_extension();
  auto outcomes = std::make_shared<Outcomes>();
  psycache::ConnectionPool pool{psycache::test::dsn(), {.connect_timeout = 2s}};
  psycache::PostgresCache cache{pool, fail_open(outcomes)};
  cache.put_raw("k", json{{"v", 1}}, 600);
  CHECK(cache.get_raw("k") == json{{"v", 1}});
  {
    const psycache::test::StoppedServer stopped;
    const auto start = Clock::now();
    CHECK(cache.get_raw("k") == std::nullopt);
    CHECK(cache.get<int>("k") == std::nullopt);
    CHECK_NOTHROW(cache.put_raw("k", json{{"v", 2}}, 600));
    CHECK_NOTHROW(cache.put("n", 42, 600));
    CHECK(Clock::now() - start < 10s);
    // Only get and put fail open: a remove that silently did nothing could
    // leave a stale entry behind.
    CHECK_THROWS_AS(cache.remove("k"), psycache::ConnectionError);
    CHECK_THROWS_AS(cache.flush(), psycache::ConnectionError);
    CHECK_THROWS_AS(cache.cleanup_expired(), psycache::ConnectionError);
    CHECK_THROWS_AS(cache.stats(), psycache::ConnectionError);
    // Bad input is still refused.
    CHECK_THROWS_AS(cache.get_raw("\0"s), psycache::InvalidArgument);
  }
  const Outcomes::Counts counts = outcomes->counts();
  CHECK(counts.hits == 1);
  CHECK(counts.puts == 1);
  CHECK(counts.misses == 0);                 // an outage is an error, not a miss, in the metrics
  CHECK(counts.connection_errors == 4 + 3);  // get, get, put, put; remove, flush, cleanup
  CHECK(counts.other_errors == 1);           // the bad key
  // Back up: the swallowed put stored nothing, the old value is there.
  CHECK(cache.get_raw("k") == json{{"v", 1}});
  CHECK(cache.get_raw("n") == std::nullopt);
}

TEST_CASE("Fail-open: a server that never answers costs connect_timeout, then a miss") {
  const psycache::test::SilentListener listener;
  auto outcomes = std::make_shared<Outcomes>();
  psycache::ConnectionPool pool{listener.dsn(), {.connect_timeout = 2s}};
  psycache::PostgresCache cache{pool, fail_open(outcomes)};
  const auto start = Clock::now();
  CHECK(cache.get_raw("k") == std::nullopt);
  CHECK_NOTHROW(cache.put_raw("k", json{{"v", 1}}, 60));
  const auto waited = Clock::now() - start;
  CHECK(waited >= 2s);
  CHECK(waited < 12s);
  CHECK(outcomes->counts().connection_errors == 2);
}

TEST_CASE("Fail-open: a frozen server is a miss at operation_timeout, told as a timeout") {
  psycache::test::reset_extension();
  auto outcomes = std::make_shared<Outcomes>();
  psycache::ConnectionPool pool{psycache::test::dsn(), {.max_size = 1}};
  psycache::CacheOptions options = fail_open(outcomes);
  options.operation_timeout = 400ms;
  psycache::PostgresCache cache{pool, options};
  cache.put_raw("k", json{{"v", 1}}, 600);
  {
    const psycache::test::FrozenProcess frozen{pool.connect()->backendpid()};
    const auto start = Clock::now();
    CHECK(cache.get_raw("k") == std::nullopt);
    CHECK(Clock::now() - start < 3s);
  }
  CHECK(outcomes->counts().timeouts == 1);
  CHECK(cache.get_raw("k") == json{{"v", 1}});
}

TEST_CASE("Fail-open: lock and statement timeouts fail open too") {
  psycache::test::reset_extension();
  auto outcomes = std::make_shared<Outcomes>();
  psycache::ConnectionPool pool{psycache::test::dsn(), {.max_size = 1, .lock_timeout = 100ms}};
  psycache::PostgresCache cache{pool, fail_open(outcomes)};
  cache.put_raw("k", json{{"v", 1}}, 600);
  {
    const auto writer = psycache::test::connect();
    pqxx::work transaction{*writer};
    transaction.exec("SELECT 1 FROM public.psycache WHERE key = 'k' FOR UPDATE");
    CHECK_NOTHROW(cache.put_raw("k", json{{"v", 2}}, 600));
  }
  CHECK(outcomes->counts().timeouts == 1);
  CHECK(cache.get_raw("k") == json{{"v", 1}});
}

TEST_CASE("Fail-open does not hide a misconfigured cache") {
  psycache::test::reset_extension();
  auto outcomes = std::make_shared<Outcomes>();
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::CacheOptions options = fail_open(outcomes);
  options.schema = "no_such_schema";
  psycache::PostgresCache cache{pool, options};
  CHECK_THROWS_AS(cache.get_raw("k"), psycache::ServerError);
  CHECK_THROWS_AS(cache.put_raw("k", json{}, 60), psycache::ServerError);
  CHECK(outcomes->counts().other_errors == 2);
}

TEST_CASE("Async fail-open is off by default: a port with no server is an error") {
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{io.get_executor(), closed_port_dsn(), {.connect_timeout = 2s}};
  psycache::AsyncPostgresCache cache{pool};
  CHECK_FALSE(cache.options().fail_open);
  const AsyncOutcome outcome = async_get_and_put(io, cache);
  CHECK(is<psycache::ConnectionError>(outcome.get_error));
  CHECK(outcome.got == std::nullopt);
  CHECK(is<psycache::ConnectionError>(outcome.put_error));
}

TEST_CASE("Async fail-open: with no server, get misses and put succeeds, and the errors are told") {
  asio::io_context io{1};
  auto outcomes = std::make_shared<Outcomes>();
  psycache::AsyncConnectionPool pool{io.get_executor(), closed_port_dsn(), {.connect_timeout = 2s}};
  psycache::AsyncPostgresCache cache{pool, fail_open(outcomes)};
  const AsyncOutcome outcome = async_get_and_put(io, cache);
  CHECK(outcome.get_error == nullptr);
  CHECK(outcome.got == std::nullopt);
  CHECK(outcome.put_error == nullptr);
  CHECK(outcome.waited < 5s);
  CHECK(outcomes->counts().connection_errors == 2);
  CHECK(outcomes->counts().misses == 0);  // an outage is an error, not a miss, in the metrics

  std::exception_ptr bad_get, bad_put, typed_get, removed, many_got, many_put;
  std::optional<int> typed = 7;
  const std::string too_long(psycache::detail::kMaxKeyBytes + 1, 'k');
  const std::string key = "k";
  const json value = 1;
  const std::vector<std::string> keys{"a", "b"};
  const std::vector<std::pair<std::string, json>> entries{{"a", 1}};
  run(io, [&]() -> asio::awaitable<void> {
    using asio::experimental::as_tuple;
    std::tie(bad_get, std::ignore) =
        co_await cache.async_get_raw(too_long, as_tuple(asio::use_awaitable));
    std::tie(bad_put) =
        co_await cache.async_put_raw(too_long, value, 60, as_tuple(asio::use_awaitable));
    std::tie(typed_get, typed) = co_await cache.async_get<int>(key, as_tuple(asio::use_awaitable));
    std::tie(removed, std::ignore) =
        co_await cache.async_remove(key, as_tuple(asio::use_awaitable));
    std::tie(many_got, std::ignore) =
        co_await cache.async_get_many_raw(keys, as_tuple(asio::use_awaitable));
    std::tie(many_put) =
        co_await cache.async_put_many_raw(entries, 60, as_tuple(asio::use_awaitable));
  });
  // Bad input is still refused.
  CHECK(is<psycache::InvalidArgument>(bad_get));
  CHECK(is<psycache::InvalidArgument>(bad_put));
  CHECK(typed_get == nullptr);
  CHECK(typed == std::nullopt);
  // Only get and put fail open, as in PostgresCache: not remove, not the batches.
  CHECK(is<psycache::ConnectionError>(removed));
  CHECK(is<psycache::ConnectionError>(many_got));
  CHECK(is<psycache::ConnectionError>(many_put));
  const Outcomes::Counts counts = outcomes->counts();
  CHECK(counts.other_errors == 2);               // the keys too long
  CHECK(counts.connection_errors == 2 + 1 + 3);  // get, put; the typed get; remove, the batches
}

TEST_CASE("Async fail-open: a server that never answers is a miss at operation_timeout") {
  const psycache::test::SilentListener listener;
  for (const bool open : {false, true}) {
    INFO("fail_open: " << open);
    asio::io_context io{1};
    auto outcomes = std::make_shared<Outcomes>();
    psycache::AsyncConnectionPool pool{
        io.get_executor(), listener.dsn(), {.operation_timeout = 500ms, .connect_timeout = 20s}};
    psycache::CacheOptions options = fail_open(outcomes);
    options.fail_open = open;
    psycache::AsyncPostgresCache cache{pool, options};
    const AsyncOutcome outcome = async_get_and_put(io, cache);
    // Two operation timeouts, long before the connect_timeout.
    CHECK(outcome.waited >= 900ms);
    CHECK(outcome.waited < 10s);
    CHECK(outcome.got == std::nullopt);
    CHECK(outcomes->counts().timeouts == 2);
    if (open) {
      CHECK(outcome.get_error == nullptr);
      CHECK(outcome.put_error == nullptr);
    } else {
      CHECK(is<psycache::TimeoutError>(outcome.get_error));
      CHECK(is<psycache::TimeoutError>(outcome.put_error));
    }
  }
}

TEST_CASE("Async fail-open: a frozen server is a miss at operation_timeout, then the value") {
  psycache::test::reset_extension();
  asio::io_context io{1};
  auto outcomes = std::make_shared<Outcomes>();
  const std::string name = "psycache_async_fail_open";
  psycache::AsyncConnectionPool pool{io.get_executor(),
                                     psycache::test::dsn() + " application_name=" + name,
                                     {.max_size = 1, .operation_timeout = 400ms}};
  psycache::AsyncPostgresCache cache{pool, fail_open(outcomes)};
  const std::string key = "k";
  const json stored{{"v", 1}};
  std::optional<json> before, during, after;
  std::exception_ptr error;
  run(io, [&]() -> asio::awaitable<void> {
    co_await cache.async_put_raw(key, stored, 600, asio::use_awaitable);
    before = co_await cache.async_get_raw(key, asio::use_awaitable);
  });
  REQUIRE(before == stored);
  {
    const std::vector<int> backends = psycache::test::backends_of(name);
    REQUIRE(backends.size() == 1);
    const psycache::test::FrozenProcess frozen{backends.front()};
    const auto start = Clock::now();
    run(io, [&]() -> asio::awaitable<void> {
      std::tie(error, during) =
          co_await cache.async_get_raw(key, asio::experimental::as_tuple(asio::use_awaitable));
    });
    CHECK(Clock::now() - start < 3s);
  }
  CHECK(error == nullptr);
  CHECK(during == std::nullopt);
  CHECK(outcomes->counts().timeouts == 1);
  run(io, [&]() -> asio::awaitable<void> {
    after = co_await cache.async_get_raw(key, asio::use_awaitable);
  });
  CHECK(after == stored);
}
