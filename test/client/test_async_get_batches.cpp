// Automatic batching of async gets: gets queued together on a connection go out as one
// psycache_get_many call, and each caller still gets its own value or miss, and its own span.
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <psycache/async.hpp>

#include "support/plain_instrumentation.hpp"
#include "support/run_until.hpp"
#include "support/test_db.hpp"

using nlohmann::json;
using psycache::test::counting_dsn;
using psycache::test::query_value;
using psycache::test::run_until;

namespace {

// What every get span recorded, by key: the size of a hit, or -1 for a miss.
class GetOutcomes final : public psycache::test::PlainInstrumentation {
 public:
  std::map<std::string, std::vector<long long>> outcomes;

  std::unique_ptr<psycache::CacheSpan> start_cache_get_span(
      std::string_view key, std::string_view /*span_name*/) override {
    return std::make_unique<Span>(outcomes[std::string{key}]);
  }

 private:
  struct Span final : psycache::CacheSpan {
    explicit Span(std::vector<long long>& into) : into_(into) {}
    void record_cache_hit(std::size_t size) override {
      into_.push_back(static_cast<long long>(size));
    }
    void record_cache_miss() override { into_.push_back(-1); }
    std::vector<long long>& into_;
  };
};

// The value stored under key i: of a different size for each, so a value or size given to the
// wrong caller shows.
json value_of(int i) { return json{{"v", std::string(static_cast<std::size_t>(i % 50), 'x')}}; }

}  // namespace

TEST_CASE("Many concurrent gets go out batched; each caller gets its own value or miss") {
  psycache::test::reset_extension();
  // k0 .. k199 stored; k200 .. k219 stored but expired; k220 .. k239 never stored.
  query_value(
      "SELECT count(public.psycache_put('k' || i, jsonb_build_object('v', repeat('x', i % 50)), "
      "interval '1 hour')) FROM generate_series(0, 219) AS i");
  query_value(
      "UPDATE public.psycache SET expires_at = now() - interval '1 second' "
      "WHERE substr(key, 2)::int >= 200");
  constexpr int kGets = 480;  // every key twice
  auto spans = std::make_shared<GetOutcomes>();
  std::vector<std::optional<json>> values(kGets);
  {
    asio::io_context io{1};
    psycache::AsyncConnectionPool pool{io.get_executor(), counting_dsn(), {.max_size = 3}};
    psycache::AsyncPostgresCache cache{pool, {.instrumentations = {spans}}};
    int done = 0;
    for (int n = 0; n < kGets; ++n) {
      cache.async_get_raw("k" + std::to_string(n % 240),
                          [&, n](const std::exception_ptr& e, std::optional<json> value) {
                            CHECK_FALSE(e);
                            values[n] = std::move(value);
                            ++done;
                          });
    }
    run_until(io, [&] { return done == kGets; });
  }  // The pool closes: its backends end and report their function calls.
  for (int n = 0; n < kGets; ++n) {
    const int i = n % 240;
    INFO("get " << n << " of k" << i);
    if (i < 200) {
      CHECK(values[n] == value_of(i));
    } else {
      CHECK_FALSE(values[n].has_value());
    }
  }
  for (int i = 0; i < 240; ++i) {
    const std::string key = "k" + std::to_string(i);
    INFO(key);
    const std::vector<long long>& recorded = spans->outcomes[key];
    REQUIRE(recorded.size() == 2);
    const long long expected =
        i < 200
            ? std::stoll(*query_value(
                  "SELECT pg_column_size(value) FROM public.psycache WHERE key = '" + key + "'"))
            : -1;
    CHECK(recorded[0] == expected);
    CHECK(recorded[1] == expected);
  }
  // Batched: far fewer calls than gets, and no get ran alone.
  const long long batches = psycache::test::function_calls("psycache_get_many", 1);
  CHECK(batches >= 1);
  CHECK(batches < kGets / 4);
  CHECK(psycache::test::function_calls("psycache_get", 0) == 0);
}

TEST_CASE("With extension 1.0 (no psycache_get_many) gets run alone and batching stops") {
  psycache::test::reset_extension();
  query_value("DROP EXTENSION psycache");
  query_value("CREATE EXTENSION psycache VERSION '1.0'");
  query_value(
      "SELECT psycache_put('k' || i, to_jsonb(i), interval '1 hour') "
      "FROM generate_series(0, 7) AS i");
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{io.get_executor(), psycache::test::dsn(), {.max_size = 1}};
  psycache::AsyncPostgresCache cache{pool};
  for (int round = 0; round < 2; ++round) {
    int done = 0;
    for (int i = 0; i < 9; ++i) {
      cache.async_get_raw("k" + std::to_string(i),
                          [&, i](const std::exception_ptr& e, const std::optional<json>& value) {
                            CHECK_FALSE(e);
                            CHECK(value == (i < 8 ? std::optional<json>{i} : std::nullopt));
                            ++done;
                          });
    }
    run_until(io, [&] { return done == 9; });
  }
}
