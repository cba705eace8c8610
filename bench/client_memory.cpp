// psycache_client_memory: the client's resident memory over many cache operations on one thread
// (a put, two hits and a miss in every four; a counting instrumentation on every get and put).
// Prints one line per sample and a summary:
//
//   operations=100000 rss_bytes=... rss_anon_bytes=...
//   growth_after_warm_up rss_bytes=... rss_anon_bytes=...
//
//   psycache_client_memory --dsn DSN [--ops N (1000000)] [--keys K (1000)]
#include "client_memory.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

int main(int argc, char** argv) {
  std::string dsn;
  long long operations = 1'000'000;
  int keys = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--dsn") {
      dsn = argv[i + 1];
    } else if (flag == "--ops") {
      operations = std::atoll(argv[i + 1]);
    } else if (flag == "--keys") {
      keys = std::atoi(argv[i + 1]);
    } else {
      (void)std::fprintf(stderr, "psycache_client_memory: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (dsn.empty() || operations < 100 || keys < 1) {
    (void)std::fprintf(stderr,
                       "usage: psycache_client_memory --dsn DSN [--ops N >= 100] [--keys K]\n");
    return 2;
  }
  try {
    psycache::ConnectionPool pool{dsn, {.max_size = 1}};
    auto counting = std::make_shared<psycache::bench::CountingInstrumentation>();
    psycache::PostgresCache cache{pool, {.instrumentations = {counting}}};
    const auto samples = psycache::bench::run_operations(cache, operations, keys, 10);
    for (const auto& sample : samples) {
      (void)std::printf("operations=%lld rss_bytes=%lld rss_anon_bytes=%lld\n",
                        static_cast<long long>(sample.operations),
                        static_cast<long long>(sample.rss.total),
                        static_cast<long long>(sample.rss.anon));
    }
    (void)std::printf(
        "growth_after_warm_up rss_bytes=%lld rss_anon_bytes=%lld hits=%lld "
        "misses=%lld puts=%lld\n",
        static_cast<long long>(samples.back().rss.total - samples.front().rss.total),
        static_cast<long long>(samples.back().rss.anon - samples.front().rss.anon),
        static_cast<long long>(counting->hits), static_cast<long long>(counting->misses),
        static_cast<long long>(counting->puts));
    return 0;
  } catch (const std::exception& e) {
    (void)std::fprintf(stderr, "psycache_client_memory: %s\n", e.what());
    return 1;
  }
}
