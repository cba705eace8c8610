// The client's memory over many cache operations: shared by psycache_client_memory (1,000,000
// operations, from `./run bench memory`) and the Catch2 suite test_client_memory (100,000).
#pragma once

#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <psycache/psycache.hpp>

namespace psycache::bench {

// This process's resident memory in bytes: VmRSS, and RssAnon (the heap and the stacks, what a
// leak grows) from /proc/self/status.
struct Rss {
  std::int64_t total = 0;
  std::int64_t anon = 0;
};

inline Rss read_rss() {
  Rss rss;
  std::ifstream status{"/proc/self/status"};
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss.total = std::stoll(line.substr(6)) * 1024;
    if (line.rfind("RssAnon:", 0) == 0) rss.anon = std::stoll(line.substr(8)) * 1024;
  }
  return rss;
}

// An instrumentation that counts what it is told, so that the hooks run on every operation.
class CountingInstrumentation final : public CacheInstrumentation {
 public:
  std::int64_t hits = 0, misses = 0, puts = 0;

  std::unique_ptr<CacheSpan> start_cache_get_span(std::string_view, std::string_view) override {
    return std::make_unique<Span>(*this);
  }
  std::unique_ptr<CacheSpan> start_cache_put_span(std::string_view, std::string_view) override {
    return std::make_unique<Span>(*this);
  }
  std::unique_ptr<CacheSpan> start_cache_remove_span(std::string_view) override { return {}; }
  std::unique_ptr<CacheSpan> start_cache_flush_span() override { return {}; }
  std::unique_ptr<CacheSpan> start_cache_cleanup_span() override { return {}; }

 private:
  struct Span final : CacheSpan {
    explicit Span(CountingInstrumentation& owner) : owner_(owner) {}
    void record_cache_hit(std::size_t) override { ++owner_.hits; }
    void record_cache_miss() override { ++owner_.misses; }
    void record_put(std::size_t) override { ++owner_.puts; }
    CountingInstrumentation& owner_;
  };
};

// One sample: after how many operations, and the memory then.
struct RssSample {
  std::int64_t operations;
  Rss rss;
};

// Runs operations cache operations on one thread over keys distinct keys: in every four, a put
// of a key, two gets of it (hits) and a get of a key never stored (a miss). Samples the memory
// samples times, evenly spread; the first sample comes after the first tenth (the warm-up: pool,
// prepared statements, allocator).
inline std::vector<RssSample> run_operations(PostgresCache& cache, std::int64_t operations,
                                             int keys, int samples) {
  const nlohmann::json value = {{"id", 4711},
                                {"name", "bench user"},
                                {"tags", {"alpha", "beta"}},
                                {"payload", std::string(120, 'x')}};
  std::vector<RssSample> taken;
  const std::int64_t warm_up = operations / 10;
  const std::int64_t every = (operations - warm_up) / samples;
  std::string key;
  for (std::int64_t i = 0; i < operations; ++i) {
    key = "memory:" + std::to_string(i / 4 % keys);
    switch (i % 4) {
      case 0:
        cache.put_raw(key, value, 3600);
        break;
      case 3:
        key += ":missing";
        [[fallthrough]];
      default:
        (void)cache.get_raw(key);
    }
    if (i + 1 == warm_up || (i + 1 > warm_up && (i + 1 - warm_up) % every == 0)) {
      taken.push_back(RssSample{i + 1, read_rss()});
    }
  }
  return taken;
}

}  // namespace psycache::bench
