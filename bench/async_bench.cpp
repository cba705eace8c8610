// psycache_async_bench: one thread, one io_context, M operations in flight over an
// AsyncConnectionPool of N connections, for a fixed time; then one line of key=value pairs in
// the format of psycache_client_bench:
//
//   op=get threads=1 connections=8 inflight=64 seconds=3.00 ops=123456 ops_per_s=41152.0
//   p50_us=1500.2 p99_us=3100.4 user_us_per_op=6.10 sys_us_per_op=4.20 hits=123456 misses=0
//
// Operations: get (a stored key, key:1 .. key:KEYS), get-miss (miss:1 .. miss:KEYS), put (the
// --value document under a stored key, ttl one hour), each an AsyncPostgresCache operation
// awaited by one of M coroutines. Operations issued while a connection is busy are pipelined.
// Every coroutine runs its operation once before the clock starts. Latency is measured around
// each co_await. Any error stops the run with exit status 1.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>

#include <psycache/async.hpp>

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kUsage =
    "usage: psycache_async_bench --op get|get-miss|put --connections N --inflight M\n"
    "                            --seconds S --dsn DSN [--keys K] [--value JSON]\n";

struct Settings {
  std::string op = "get";
  int connections = 8;
  int inflight = 64;
  double seconds = 10;
  std::string dsn;
  int keys = 100'000;
  std::string value = R"({"id": 1, "payload": "x"})";
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Settings parse_arguments(int argc, char** argv) {
  Settings settings;
  const auto number = [](const std::string& flag, const char* text) {
    char* end = nullptr;
    const double parsed = std::strtod(text, &end);
    if (end == text || *end != '\0' || !(parsed > 0)) {
      throw UsageError(flag + " needs a positive number, not \"" + text + "\"");
    }
    return parsed;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) throw UsageError(flag + " needs a value");
    const char* value = argv[++i];
    if (flag == "--op") {
      settings.op = value;
      if (settings.op != "get" && settings.op != "get-miss" && settings.op != "put") {
        throw UsageError("unknown operation \"" + settings.op + "\"");
      }
    } else if (flag == "--connections") {
      settings.connections = static_cast<int>(number(flag, value));
    } else if (flag == "--inflight") {
      settings.inflight = static_cast<int>(number(flag, value));
    } else if (flag == "--seconds") {
      settings.seconds = number(flag, value);
    } else if (flag == "--dsn") {
      settings.dsn = value;
    } else if (flag == "--keys") {
      settings.keys = static_cast<int>(number(flag, value));
    } else if (flag == "--value") {
      settings.value = value;
    } else {
      throw UsageError("unknown option " + flag);
    }
  }
  if (settings.dsn.empty()) throw UsageError("--dsn is required");
  return settings;
}

// Keys PREFIX1 .. PREFIXN, drawn uniformly.
class KeyPicker {
 public:
  KeyPicker(std::string_view prefix, int keys, unsigned seed)
      : random_(seed), pick_(1, keys), key_(prefix), prefix_size_(prefix.size()) {}

  const std::string& next() {
    char digits[16];
    char* const end = std::to_chars(digits, digits + sizeof digits, pick_(random_)).ptr;
    key_.resize(prefix_size_);
    key_.append(digits, end);
    return key_;
  }

 private:
  std::mt19937 random_;
  std::uniform_int_distribution<int> pick_;
  std::string key_;
  std::size_t prefix_size_;
};

double cpu_seconds(const timeval& time) {
  return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) / 1e6;
}

struct Run {
  const Settings& settings;
  psycache::AsyncPostgresCache& cache;
  const nlohmann::json& value;
  std::vector<std::int64_t> latencies_ns;
  std::int64_t hits = 0;
  std::int64_t misses = 0;
  int running = 0;
  std::string error;
  bool measuring = false;
  Clock::time_point deadline{};

  // One operation; returns whether a get hit.
  asio::awaitable<bool> once(const std::string& key) {
    if (settings.op == "put") {
      co_await cache.async_put_raw(key, value, std::chrono::hours{1}, asio::use_awaitable);
      co_return false;
    }
    const std::optional<nlohmann::json> found =
        co_await cache.async_get_raw(key, asio::use_awaitable);
    co_return found.has_value();
  }

  asio::awaitable<void> worker(unsigned seed, bool warm_up) {
    KeyPicker keys{settings.op == "get-miss" ? "miss:" : "key:", settings.keys, seed};
    try {
      do {
        const Clock::time_point start = Clock::now();
        const bool hit = co_await once(keys.next());
        const Clock::time_point end = Clock::now();
        if (warm_up) {
          if (settings.op == "get" && !hit) {
            throw std::runtime_error("a get missed: is the data set loaded?");
          }
          break;
        }
        latencies_ns.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
        ++(hit ? hits : misses);
        if (end >= deadline) break;
      } while (error.empty());
    } catch (const std::exception& e) {
      if (error.empty()) error = e.what();
    }
    --running;
  }

  // Runs M workers until they are done; the pool keeps the io_context busy, so it is polled.
  void phase(asio::io_context& io, bool warm_up) {
    running = settings.inflight;
    for (int i = 0; i < settings.inflight; ++i) {
      asio::co_spawn(io, worker(12345U + static_cast<unsigned>(i), warm_up), asio::detached);
    }
    while (running > 0) io.run_one();
  }
};

int run(const Settings& settings) {
  const nlohmann::json value = nlohmann::json::parse(settings.value);
  asio::io_context io{1};
  psycache::AsyncConnectionPool pool{
      io.get_executor(),
      settings.dsn,
      {.max_size = static_cast<std::size_t>(settings.connections),
       .max_pipeline = static_cast<std::size_t>(
           std::max(1, (settings.inflight + settings.connections - 1) / settings.connections))}};
  psycache::AsyncPostgresCache cache{pool};
  Run bench{.settings = settings, .cache = cache, .value = value, .latencies_ns = {}, .error = {}};

  bench.phase(io, true);
  if (!bench.error.empty()) {
    (void)std::fprintf(stderr, "psycache_async_bench %s: %s\n", settings.op.c_str(),
                       bench.error.c_str());
    return 1;
  }
  bench.latencies_ns.reserve(static_cast<std::size_t>(settings.seconds * 400'000) + 1024);
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  const Clock::time_point start = Clock::now();
  bench.deadline = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>{settings.seconds});
  bench.phase(io, false);
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  if (!bench.error.empty()) {
    (void)std::fprintf(stderr, "psycache_async_bench %s: %s\n", settings.op.c_str(),
                       bench.error.c_str());
    return 1;
  }

  std::vector<std::int64_t>& all = bench.latencies_ns;
  std::sort(all.begin(), all.end());
  const auto percentile_us = [&](double fraction) {
    if (all.empty()) return 0.0;
    const auto index = static_cast<std::size_t>(fraction * static_cast<double>(all.size() - 1));
    return static_cast<double>(all[index]) / 1000.0;
  };
  const auto ops = static_cast<double>(all.size());
  const double user = cpu_seconds(after.ru_utime) - cpu_seconds(before.ru_utime);
  const double sys = cpu_seconds(after.ru_stime) - cpu_seconds(before.ru_stime);
  (void)std::printf(
      "op=%s threads=1 connections=%d inflight=%d seconds=%.2f ops=%zu ops_per_s=%.1f "
      "p50_us=%.1f p99_us=%.1f user_us_per_op=%.2f sys_us_per_op=%.2f hits=%lld misses=%lld\n",
      settings.op.c_str(), settings.connections, settings.inflight, elapsed, all.size(),
      ops / elapsed, percentile_us(0.50), percentile_us(0.99), user * 1e6 / ops, sys * 1e6 / ops,
      static_cast<long long>(bench.hits), static_cast<long long>(bench.misses));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_arguments(argc, argv));
  } catch (const UsageError& e) {
    (void)std::fprintf(stderr, "psycache_async_bench: %s\n%.*s", e.what(),
                       static_cast<int>(kUsage.size()), kUsage.data());
    return 2;
  } catch (const std::exception& e) {
    (void)std::fprintf(stderr, "psycache_async_bench: %s\n", e.what());
    return 1;
  }
}
