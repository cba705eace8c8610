// psycache_client_bench: N threads call one cache operation on random keys for a fixed
// time, then print one line of key=value pairs:
//
//   op=get threads=8 seconds=10.00 ops=812345 ops_per_s=81234.5 p50_us=91.2 p99_us=240.7
//   user_us_per_op=3.10 sys_us_per_op=5.20 hits=812345 misses=0
//
// Operations:
//   get       psycache::PostgresCache::get_raw of a stored key (key:1 .. key:KEYS)
//   get-miss  get_raw of a key that is not stored (miss:1 .. miss:KEYS)
//   put       put_raw of the --value document under a stored key, ttl one hour
//   raw-get   libpqxx alone, no psycache: the original psycache's SELECT, prepared
//   raw-put   libpqxx alone: the original's INSERT ... ON CONFLICT, prepared
//   get-many  get_many_raw of --batch stored keys (default 100) in one call; keys_per_s counts
//             the keys, ops_per_s the calls (for the other operations the two are the same)
//   raw-fn-get  libpqxx alone calling psycache_get as the client does, the value not parsed: the
//             round trip of a get without psycache's client
//
// The psycache operations share one psycache::ConnectionPool of THREADS connections; the raw
// ones give each thread its own pqxx::connection. Every thread connects and runs its
// operation once before the clock starts. Latency is measured around each call, from the
// caller's side; user_us_per_op and sys_us_per_op are this process's CPU time per operation.
// With --ops N each thread stops after N operations (or at --seconds, if that comes first), for
// a run of a known size under a profiler. --operation-timeout MS sets
// CacheOptions::operation_timeout, to measure what its watchdog costs. Any error stops the run
// with exit status 1.
//
// --instrumentation gives the psycache operations' cache instrumentations: bare (none, the
// default), prometheus (PrometheusInstrumentation) or all (Prometheus and a custom one that
// counts every operation, as an application's own would), to measure what they cost.
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iterator>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <thread>
#include <vector>

#include <pqxx/connection>
#include <pqxx/nontransaction>

#include <psycache/psycache.hpp>

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kUsage =
    "usage: psycache_client_bench --op get|get-miss|put|raw-get|raw-put|raw-fn-get|get-many\n"
    "                             --threads N --seconds S --dsn DSN [--keys K] [--value JSON]\n"
    "                             [--ops N] [--batch B] [--operation-timeout MS] [--schema S]\n"
    "                             [--instrumentation bare|prometheus|all]\n";

// The original psycache's SQL, for the raw rows.
constexpr const char* kRawGetSql =
    "SELECT value FROM psycache WHERE key = $1 AND expires_at > statement_timestamp()";
constexpr const char* kRawPutSql =
    "INSERT INTO psycache (key, value, expires_at) "
    "VALUES ($1, $2::jsonb, statement_timestamp() + $3::interval) "
    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at";

// The statement PostgresCache::get_raw sends (client/src/cache_common.cpp).
constexpr const char* kRawFnGetSql =
    "SELECT (e).value, (e).size FROM (SELECT psycache_get($1::pg_catalog.text) AS e) AS entry";

enum class Op { kGet, kGetMiss, kPut, kRawGet, kRawPut, kRawFnGet, kGetMany };

struct Settings {
  Op op = Op::kGet;
  std::string op_name;
  int threads = 1;
  double seconds = 10;
  std::string dsn;
  int keys = 100'000;
  long long ops_per_thread = 0;  // 0: no limit but the time
  std::string value = R"({"id": 1, "payload": "x"})";
  int batch = 100;                     // keys per call of get-many
  long long operation_timeout_ms = 0;  // CacheOptions::operation_timeout; 0: none
  std::string schema = "public";       // the cache's schema (CacheOptions::schema)
  std::string instrumentation = "bare";
};

// A command line that makes no sense: main prints it with the usage and exits with status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void usage_error(const std::string& problem) { throw UsageError(problem); }

Settings parse_arguments(int argc, char** argv) {
  Settings settings;
  const auto number = [](const std::string& flag, const char* text) {
    char* end = nullptr;
    const double parsed = std::strtod(text, &end);
    if (end == text || *end != '\0' || !(parsed > 0)) {
      usage_error(flag + " needs a positive number, not \"" + text + "\"");
    }
    return parsed;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage_error(flag + " needs a value");
    const char* value = argv[++i];
    if (flag == "--op") {
      settings.op_name = value;
      if (settings.op_name == "get") {
        settings.op = Op::kGet;
      } else if (settings.op_name == "get-miss") {
        settings.op = Op::kGetMiss;
      } else if (settings.op_name == "put") {
        settings.op = Op::kPut;
      } else if (settings.op_name == "raw-get") {
        settings.op = Op::kRawGet;
      } else if (settings.op_name == "raw-put") {
        settings.op = Op::kRawPut;
      } else if (settings.op_name == "get-many") {
        settings.op = Op::kGetMany;
      } else if (settings.op_name == "raw-fn-get") {
        settings.op = Op::kRawFnGet;
      } else {
        usage_error("unknown operation \"" + settings.op_name + "\"");
      }
    } else if (flag == "--threads") {
      settings.threads = static_cast<int>(number(flag, value));
    } else if (flag == "--seconds") {
      settings.seconds = number(flag, value);
    } else if (flag == "--dsn") {
      settings.dsn = value;
    } else if (flag == "--keys") {
      settings.keys = static_cast<int>(number(flag, value));
    } else if (flag == "--ops") {
      settings.ops_per_thread = static_cast<long long>(number(flag, value));
    } else if (flag == "--value") {
      settings.value = value;
    } else if (flag == "--batch") {
      settings.batch = static_cast<int>(number(flag, value));
    } else if (flag == "--operation-timeout") {
      settings.operation_timeout_ms = static_cast<long long>(number(flag, value));
    } else if (flag == "--schema") {
      settings.schema = value;
    } else if (flag == "--instrumentation") {
      settings.instrumentation = value;
      if (settings.instrumentation != "bare" && settings.instrumentation != "prometheus" &&
          settings.instrumentation != "all") {
        usage_error("unknown instrumentation \"" + settings.instrumentation + "\"");
      }
    } else {
      usage_error("unknown option " + flag);
    }
  }
  if (settings.op_name.empty() || settings.dsn.empty()) usage_error("--op and --dsn are required");
  return settings;
}

// Keys key:1 .. key:N (or miss:1 .. miss:N), drawn uniformly.
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

// A custom instrumentation as an application might write one: counts operations and outcomes.
class CountingInstrumentation final : public psycache::CacheInstrumentation {
 public:
  std::unique_ptr<psycache::CacheSpan> start_cache_get_span(
      std::string_view /*key*/, std::string_view /*span_name*/) override {
    return std::make_unique<Span>(counts_);
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_put_span(
      std::string_view /*key*/, std::string_view /*span_name*/) override {
    return std::make_unique<Span>(counts_);
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_remove_span(std::string_view /*key*/) override {
    return std::make_unique<Span>(counts_);
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_flush_span() override {
    return std::make_unique<Span>(counts_);
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_cleanup_span() override {
    return std::make_unique<Span>(counts_);
  }

 private:
  struct Counts {
    std::atomic<std::int64_t> operations{0}, hits{0}, misses{0}, bytes{0};
  };
  class Span final : public psycache::CacheSpan {
   public:
    explicit Span(Counts& counts) : counts_(counts) {}
    Span(const Span&) = delete;
    Span& operator=(const Span&) = delete;
    Span(Span&&) = delete;
    Span& operator=(Span&&) = delete;
    ~Span() override { counts_.operations.fetch_add(1, std::memory_order_relaxed); }
    void record_cache_hit(std::size_t size) override {
      counts_.hits.fetch_add(1, std::memory_order_relaxed);
      counts_.bytes.fetch_add(static_cast<std::int64_t>(size), std::memory_order_relaxed);
    }
    void record_cache_miss() override { counts_.misses.fetch_add(1, std::memory_order_relaxed); }
    void record_put(std::size_t size) override {
      counts_.bytes.fetch_add(static_cast<std::int64_t>(size), std::memory_order_relaxed);
    }

   private:
    Counts& counts_;
  };
  Counts counts_;
};

// The instrumentations --instrumentation names.
std::vector<std::shared_ptr<psycache::CacheInstrumentation>> instrumentations(
    const std::string& name) {
  std::vector<std::shared_ptr<psycache::CacheInstrumentation>> result;
  if (name == "prometheus" || name == "all") {
    result.push_back(std::make_shared<psycache::PrometheusInstrumentation>(
        std::make_shared<psycache::metrics::Registry>()));
  }
  if (name == "all") result.push_back(std::make_shared<CountingInstrumentation>());
  return result;
}

// What one thread measured.
struct ThreadResult {
  std::vector<std::int64_t> latencies_ns;
  std::int64_t hits = 0;
  std::int64_t misses = 0;
};

// One thread's way to run the operation once: returns whether a get hit.
class Worker {
 public:
  Worker(const Settings& settings, psycache::PostgresCache* cache, const nlohmann::json* value,
         unsigned seed)
      : settings_(settings),
        cache_(cache),
        value_(value),
        keys_(settings.op == Op::kGetMiss ? "miss:" : "key:", settings.keys, seed) {
    if (settings_.op == Op::kRawGet || settings_.op == Op::kRawPut ||
        settings_.op == Op::kRawFnGet) {
      connection_.emplace(settings_.dsn);
      connection_->prepare("raw_get", kRawGetSql);
      connection_->prepare("raw_put", kRawPutSql);
      connection_->prepare("raw_fn_get", kRawFnGetSql);
    }
  }

  bool run_once() {
    const std::string& key = keys_.next();
    switch (settings_.op) {
      case Op::kGet:
      case Op::kGetMiss:
        return cache_->get_raw(key).has_value();
      case Op::kPut:
        cache_->put_raw(key, *value_, std::chrono::hours{1});
        return false;
      case Op::kRawGet: {
        pqxx::nontransaction transaction{*connection_};
        const pqxx::result result = transaction.exec_prepared("raw_get", key);
        return !result.empty() && !result[0][0].is_null();
      }
      case Op::kRawPut: {
        pqxx::nontransaction transaction{*connection_};
        transaction.exec_prepared("raw_put", key, settings_.value, "1 hour");
        return false;
      }
      case Op::kGetMany: {
        // A hit when every key of the batch hit.
        batch_.assign(1, key);
        while (std::ssize(batch_) < settings_.batch) batch_.push_back(keys_.next());
        const auto values = cache_->get_many_raw(batch_);
        return std::all_of(values.begin(), values.end(),
                           [](const auto& v) { return v.has_value(); });
      }
      case Op::kRawFnGet: {
        pqxx::nontransaction transaction{*connection_};
        const pqxx::result result = transaction.exec_prepared("raw_fn_get", key);
        return !result.empty() && !result[0][0].is_null();
      }
    }
    return false;
  }

 private:
  const Settings& settings_;
  psycache::PostgresCache* cache_;
  const nlohmann::json* value_;
  KeyPicker keys_;
  std::optional<pqxx::connection> connection_;
  std::vector<std::string> batch_;
};

double percentile_us(std::vector<std::int64_t>& sorted_ns, double fraction) {
  if (sorted_ns.empty()) return 0;
  const auto index = static_cast<std::size_t>(fraction * static_cast<double>(sorted_ns.size() - 1));
  return static_cast<double>(sorted_ns[index]) / 1000.0;
}

double cpu_seconds(const timeval& time) {
  return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) / 1e6;
}

int run(const Settings& settings) {
  const nlohmann::json value = nlohmann::json::parse(settings.value);
  psycache::ConnectionPool pool{settings.dsn,
                                {.max_size = static_cast<std::size_t>(settings.threads)}};
  psycache::PostgresCache cache{
      pool,
      {.schema = settings.schema,
       .instrumentations = instrumentations(settings.instrumentation),
       .operation_timeout = std::chrono::milliseconds{settings.operation_timeout_ms}}};

  std::vector<ThreadResult> results(static_cast<std::size_t>(settings.threads));
  std::latch ready{settings.threads};
  std::latch go{1};
  std::atomic<bool> stop{false};
  Clock::time_point deadline{};
  std::mutex error_mutex;
  std::string error;

  const auto work = [&](int index) {
    ThreadResult& result = results[static_cast<std::size_t>(index)];
    bool counted = false;
    try {
      Worker worker{settings, &cache, &value, 12345U + static_cast<unsigned>(index)};
      // Connects, prepares, and checks the data set is there.
      const bool hit = worker.run_once();
      if ((settings.op == Op::kGet || settings.op == Op::kGetMany) && !hit) {
        throw std::runtime_error("a get missed: is the data set loaded?");
      }
      if (settings.op == Op::kGetMiss && hit) throw std::runtime_error("a get-miss hit");
      result.latencies_ns.reserve(
          static_cast<std::size_t>(settings.seconds * 400'000 / settings.threads) + 1024);
      counted = true;
      ready.count_down();
      go.wait();
      while (!stop.load(std::memory_order_relaxed)) {
        const Clock::time_point start = Clock::now();
        const bool found = worker.run_once();
        const Clock::time_point end = Clock::now();
        result.latencies_ns.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
        ++(found ? result.hits : result.misses);
        if (end >= deadline || (settings.ops_per_thread > 0 &&
                                std::ssize(result.latencies_ns) >= settings.ops_per_thread)) {
          break;
        }
      }
    } catch (const std::exception& e) {
      const std::lock_guard lock{error_mutex};
      if (error.empty()) error = e.what();
      stop = true;
      if (!counted) ready.count_down();
    }
  };

  std::vector<std::thread> threads;
  threads.reserve(results.size());
  for (int i = 0; i < settings.threads; ++i) threads.emplace_back(work, i);
  ready.wait();
  if (stop) {
    go.count_down();
    for (auto& thread : threads) thread.join();
    (void)std::fprintf(stderr, "psycache_client_bench %s: %s\n", settings.op_name.c_str(),
                       error.c_str());
    return 1;
  }

  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  const Clock::time_point start = Clock::now();
  deadline = start + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>{settings.seconds});
  go.count_down();
  for (auto& thread : threads) thread.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  rusage after{};
  getrusage(RUSAGE_SELF, &after);

  if (!error.empty()) {
    (void)std::fprintf(stderr, "psycache_client_bench %s: %s\n", settings.op_name.c_str(),
                       error.c_str());
    return 1;
  }

  std::vector<std::int64_t> all;
  std::int64_t hits = 0;
  std::int64_t misses = 0;
  for (const ThreadResult& result : results) {
    all.insert(all.end(), result.latencies_ns.begin(), result.latencies_ns.end());
    hits += result.hits;
    misses += result.misses;
  }
  std::sort(all.begin(), all.end());
  const auto ops = static_cast<double>(all.size());
  const double keys_per_op = settings.op == Op::kGetMany ? settings.batch : 1;
  const double user = cpu_seconds(after.ru_utime) - cpu_seconds(before.ru_utime);
  const double sys = cpu_seconds(after.ru_stime) - cpu_seconds(before.ru_stime);
  (void)std::printf(
      "op=%s threads=%d seconds=%.2f ops=%zu ops_per_s=%.1f p50_us=%.1f p99_us=%.1f "
      "user_us_per_op=%.2f sys_us_per_op=%.2f hits=%lld misses=%lld keys_per_s=%.1f "
      "instrumentation=%s\n",
      settings.op_name.c_str(), settings.threads, elapsed, all.size(), ops / elapsed,
      percentile_us(all, 0.50), percentile_us(all, 0.99), user * 1e6 / ops, sys * 1e6 / ops,
      static_cast<long long>(hits), static_cast<long long>(misses), ops * keys_per_op / elapsed,
      settings.instrumentation.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_arguments(argc, argv));
  } catch (const UsageError& e) {
    (void)std::fprintf(stderr, "psycache_client_bench: %s\n%.*s", e.what(),
                       static_cast<int>(kUsage.size()), kUsage.data());
    return 2;
  } catch (const std::exception& e) {
    (void)std::fprintf(stderr, "psycache_client_bench: %s\n", e.what());
    return 1;
  }
}
