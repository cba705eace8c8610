// Fail-open: with CacheOptions::fail_open, a cache that cannot reach its
// server answers get with a miss and swallows put, and tells the
// instrumentations; without it (the default), both throw.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <psycache/psycache.hpp>

#include "support/faults.hpp"
#include "support/test_db.hpp"

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
