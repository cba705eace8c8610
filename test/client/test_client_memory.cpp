// The client's memory stays flat over many operations: nothing grows per get or put.
#include <catch2/catch.hpp>

#include <psycache/psycache.hpp>

#include "client_memory.hpp"
#include "support/test_db.hpp"

TEST_CASE("100,000 gets and puts leave the client's resident memory flat after warm-up",
          "[memory]") {
  psycache::test::reset_extension();
  psycache::ConnectionPool pool{psycache::test::dsn(), {.max_size = 1}};
  auto counting = std::make_shared<psycache::bench::CountingInstrumentation>();
  psycache::PostgresCache cache{pool, {.instrumentations = {counting}}};

  const auto samples = psycache::bench::run_operations(cache, 100'000, 1000, 10);

  for (const auto& sample : samples) {
    UNSCOPED_INFO(sample.operations << " operations: RSS " << sample.rss.total << " bytes, anon "
                                    << sample.rss.anon << " bytes");
  }
  REQUIRE(samples.size() == 11);  // after the warm-up, then ten more
  CHECK(counting->puts == 25'000);
  CHECK(counting->hits == 50'000);
  CHECK(counting->misses == 25'000);
  // Less than 1 MB over 90,000 operations: a leak of 12 bytes per operation would show.
  CHECK(samples.back().rss.anon - samples.front().rss.anon < 1024 * 1024);
}
