// psycache_instrumentation_overhead: what a cache instrumentation adds to one operation, in
// nanoseconds, without the database: a get span started, a hit recorded and the span ended,
// as the cache does it, in a tight loop on THREADS threads sharing one instrumentation.
//
//   psycache_instrumentation_overhead [THREADS] [OPERATIONS_PER_THREAD]
//
// Throughput benchmarks with a server in the loop (bench.sh's "psycache client + ..." rows)
// show the same cost drowned in a round trip of tens of microseconds, and in the noise of a
// busy machine; this number is the cost itself, to set against the round trip.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <psycache/psycache.hpp>

namespace {

// Nanoseconds per operation of one thread while threads run it at once.
double measure(psycache::CacheInstrumentation& instrumentation, long threads, long operations,
               std::string_view span_name) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  workers.reserve(static_cast<std::size_t>(threads));
  for (long t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (long i = 0; i < operations; ++i) {
        const std::unique_ptr<psycache::CacheSpan> span =
            instrumentation.start_cache_get_span("key:4711", span_name);
        if (span) span->record_cache_hit(256);
      }
    });
  }
  for (auto& worker : workers) worker.join();
  const std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
  return elapsed.count() / static_cast<double>(operations);
}

}  // namespace

int main(int argc, char** argv) {
  const long threads = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 1;
  const long operations = argc > 2 ? std::strtol(argv[2], nullptr, 10) : 1'000'000;
  if (threads < 1 || operations < 1) {
    (void)std::fprintf(stderr, "usage: psycache_instrumentation_overhead [THREADS] [OPERATIONS]\n");
    return 2;
  }
  psycache::PrometheusInstrumentation prometheus{std::make_shared<psycache::metrics::Registry>()};
  for (const char* span_name : {"", "users"}) {
    (void)measure(prometheus, 1, operations / 10 + 1, span_name);  // warm up, create the series
    (void)std::printf("instrumentation=prometheus threads=%ld span_name=\"%s\" ns_per_op=%.1f\n",
                      threads, span_name, measure(prometheus, threads, operations, span_name));
  }
  return 0;
}
