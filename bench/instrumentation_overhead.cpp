// psycache_instrumentation_overhead: what cache instrumentations add to one operation, without
// the database: the spans of a get (a hit recorded) or a put started through the cache's own
// fan-out (detail::Spans, as get_raw and put_raw start them), then ended, in a tight loop on
// THREADS threads sharing the instrumentations. Prints nanoseconds and heap allocations per
// operation for each configuration:
//
//   prometheus  PrometheusInstrumentation
//   counting    a custom instrumentation that counts operations with atomics
//   sentry      SentryInstrumentation inside a transaction per 10 operations, every
//               transaction sampled, envelopes dropped (only where psycache_sentry is built;
//               the line says skipped otherwise)
//   all         the three together, as the benchmark's "all" configuration
//
//   psycache_instrumentation_overhead [THREADS] [OPERATIONS_PER_THREAD] [CONFIGURATION]
//
// With CONFIGURATION only that one is measured (for a run under callgrind).
//
// Throughput benchmarks with a server in the loop (bench.sh's instrumentation comparison) show
// the same cost drowned in a round trip of tens of microseconds, and in the noise of a busy
// machine; this number is the cost itself, to set against the round trip.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <psycache/psycache.hpp>

#include "spans.hpp"

#ifdef PSYCACHE_BENCH_SENTRY
#include "bench_sentry.hpp"
#endif

namespace {

// Every heap allocation of the process, to report allocations per operation.
std::atomic<long long> allocations{0};

}  // namespace

void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t /*size*/) noexcept { std::free(p); }

namespace {

using Instrumentations = std::vector<std::shared_ptr<psycache::CacheInstrumentation>>;

// Counts operations and outcomes, as an application's own instrumentation might.
class CountingInstrumentation final : public psycache::CacheInstrumentation {
 public:
  std::unique_ptr<psycache::CacheSpan> start_cache_get_span(std::string_view /*key*/,
                                                            std::string_view /*name*/) override {
    return std::make_unique<Span>(*this);
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_put_span(std::string_view /*key*/,
                                                            std::string_view /*name*/) override {
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
    explicit Span(CountingInstrumentation& owner) : owner_(owner) {}
    Span(const Span&) = delete;
    Span& operator=(const Span&) = delete;
    Span(Span&&) = delete;
    Span& operator=(Span&&) = delete;
    ~Span() override { owner_.operations_.fetch_add(1, std::memory_order_relaxed); }
    void record_cache_hit(std::size_t size) override {
      owner_.hits_.fetch_add(1, std::memory_order_relaxed);
      owner_.bytes_.fetch_add(static_cast<long long>(size), std::memory_order_relaxed);
    }
    void record_put(std::size_t size) override {
      owner_.bytes_.fetch_add(static_cast<long long>(size), std::memory_order_relaxed);
    }

   private:
    CountingInstrumentation& owner_;
  };
  std::atomic<long long> operations_{0}, hits_{0}, bytes_{0};
};

enum class Op { kGet, kPut };

// Nanoseconds and allocations per operation of one thread while threads run it at once.
struct Cost {
  double ns = 0;
  double allocations = 0;
};

Cost measure(const Instrumentations& instrumentations, bool sentry_requests, Op op, long threads,
             long operations, std::string_view span_name) {
  const long long allocations_before = allocations.load();
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  workers.reserve(static_cast<std::size_t>(threads));
  for (long t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
#ifdef PSYCACHE_BENCH_SENTRY
      std::optional<psycache::bench::SentryRequests> requests;
      if (sentry_requests) requests.emplace();
#else
      (void)sentry_requests;
#endif
      for (long i = 0; i < operations; ++i) {
#ifdef PSYCACHE_BENCH_SENTRY
        if (requests) requests->before();
#endif
        {
          psycache::detail::Spans spans{
              instrumentations, [&](psycache::CacheInstrumentation& instrumentation) {
                return op == Op::kGet ? instrumentation.start_cache_get_span("key:4711", span_name)
                                      : instrumentation.start_cache_put_span("key:4711", span_name);
              }};
          spans.record([&](psycache::CacheSpan& span) {
            if (op == Op::kGet) {
              span.record_cache_hit(256);
            } else {
              span.record_put(256);
            }
          });
        }
#ifdef PSYCACHE_BENCH_SENTRY
        if (requests) requests->after();
#endif
      }
    });
  }
  for (auto& worker : workers) worker.join();
  const std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
  // The threads' own start-up allocates a little too: negligible over many operations.
  return {.ns = elapsed.count() / static_cast<double>(operations),
          .allocations = static_cast<double>(allocations.load() - allocations_before) /
                         static_cast<double>(operations * threads)};
}

}  // namespace

int main(int argc, char** argv) {
  const long threads = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 1;
  const long operations = argc > 2 ? std::strtol(argv[2], nullptr, 10) : 1'000'000;
  const std::string only = argc > 3 ? argv[3] : "";
  if (threads < 1 || operations < 1) {
    (void)std::fprintf(stderr,
                       "usage: psycache_instrumentation_overhead [THREADS] [OPERATIONS] "
                       "[none|prometheus|counting|sentry|all]\n");
    return 2;
  }
  const auto prometheus = std::make_shared<psycache::PrometheusInstrumentation>(
      std::make_shared<psycache::metrics::Registry>());
  const auto counting = std::make_shared<CountingInstrumentation>();
  struct Configuration {
    const char* name;
    Instrumentations instrumentations;
    bool sentry;
  };
  std::vector<Configuration> configurations{
      {"none", {}, false}, {"prometheus", {prometheus}, false}, {"counting", {counting}, false}};
#ifdef PSYCACHE_BENCH_SENTRY
  const psycache::bench::SentrySdk sdk;
  const auto sentry = std::make_shared<psycache::SentryInstrumentation>();
  configurations.push_back({"sentry", {sentry}, true});
  configurations.push_back({"all", {prometheus, counting, sentry}, true});
#else
  (void)std::printf(
      "instrumentation=sentry skipped (sentry-native was not found when CMake ran)\n");
  configurations.push_back({"all", {prometheus, counting}, false});
#endif
  for (const Configuration& configuration : configurations) {
    if (!only.empty() && only != configuration.name) continue;
    for (const Op op : {Op::kGet, Op::kPut}) {
      for (const char* span_name : {"", "users"}) {
        // Warm up: creates the series, grows the allocator's caches.
        (void)measure(configuration.instrumentations, configuration.sentry, op, 1,
                      operations / 10 + 1, span_name);
        const Cost cost = measure(configuration.instrumentations, configuration.sentry, op, threads,
                                  operations, span_name);
        (void)std::printf(
            "instrumentation=%s op=%s threads=%ld span_name=\"%s\" ns_per_op=%.1f "
            "allocations_per_op=%.2f\n",
            configuration.name, op == Op::kGet ? "get" : "put", threads, span_name, cost.ns,
            cost.allocations);
      }
    }
  }
  return 0;
}
