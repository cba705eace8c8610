// What instrumentation costs when there is none, and what Prometheus keeps
// when many threads share one instrumentation. This executable counts every
// allocation (a replaced global operator new) to show that a cache without
// instrumentations allocates nothing for them.
#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <psycache/psycache.hpp>

#include "spans.hpp"

namespace {
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  // NOLINTNEXTLINE(cppcoreguidelines-no-malloc): this is the allocator
  if (void* memory = std::malloc(size == 0 ? 1 : size)) return memory;
  throw std::bad_alloc();
}
void operator delete(void* memory) noexcept {
  std::free(memory);  // NOLINT(cppcoreguidelines-no-malloc)
}
void operator delete(void* memory, std::size_t /*size*/) noexcept {
  std::free(memory);  // NOLINT(cppcoreguidelines-no-malloc)
}

TEST_CASE("Without instrumentations, an operation's spans allocate and call nothing") {
  const std::vector<std::shared_ptr<psycache::CacheInstrumentation>> none;
  int starts = 0;
  int records = 0;
  const long before = allocations.load();
  {
    psycache::detail::Spans spans{none, [&](psycache::CacheInstrumentation& i) {
                                    ++starts;
                                    return i.start_cache_get_span("key", "");
                                  }};
    spans.record([&](psycache::CacheSpan& span) {
      ++records;
      span.record_cache_hit(1);
    });
  }
  CHECK(allocations.load() == before);
  CHECK(starts == 0);
  CHECK(records == 0);

  // The counter does see allocations: one instrumentation costs some.
  const std::vector<std::shared_ptr<psycache::CacheInstrumentation>> one = {
      std::make_shared<psycache::PrometheusInstrumentation>(
          std::make_shared<psycache::metrics::Registry>())};
  const long before_one = allocations.load();
  {
    const psycache::detail::Spans spans{
        one, [](psycache::CacheInstrumentation& i) { return i.start_cache_get_span("key", ""); }};
  }
  CHECK(allocations.load() > before_one);
}

TEST_CASE("Prometheus spans from many threads at once add up exactly") {
  auto registry = std::make_shared<psycache::metrics::Registry>();
  const std::vector<std::shared_ptr<psycache::CacheInstrumentation>> instrumentations = {
      std::make_shared<psycache::PrometheusInstrumentation>(registry)};
  constexpr int kThreads = 4;
  constexpr int kOperations = 5000;             // a multiple of 5
  constexpr int kMisses = 2 * kOperations / 5;  // per name: two threads, every fifth a miss
  constexpr int kHits = 2 * kOperations - kMisses;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string name = t % 2 == 0 ? "even" : "odd";
      for (int i = 0; i < kOperations; ++i) {
        psycache::detail::Spans spans{instrumentations, [&](psycache::CacheInstrumentation& in) {
                                        return in.start_cache_get_span("key", name);
                                      }};
        if (i % 5 == 0) {
          spans.record([](psycache::CacheSpan& span) { span.record_cache_miss(); });
        } else {
          spans.record([](psycache::CacheSpan& span) { span.record_cache_hit(100); });
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const std::string text = registry->render();
  const auto total = psycache::metrics::format_value;
  for (const std::string name : {"even", "odd"}) {
    INFO(name);
    const std::string label = "{span_name=\"" + name + "\"}";
    CHECK(text.find("psycache_hits_total" + label + " " + total(kHits) + "\n") !=
          std::string::npos);
    CHECK(text.find("psycache_misses_total" + label + " " + total(kMisses) + "\n") !=
          std::string::npos);
    CHECK(text.find("psycache_get_duration_seconds_count" + label + " " + total(2 * kOperations) +
                    "\n") != std::string::npos);
    CHECK(text.find("psycache_item_size_bytes_sum" + label + " " + total(kHits * 100) + "\n") !=
          std::string::npos);
  }
}
