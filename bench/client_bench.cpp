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
//   raw-fn-get  libpq alone calling psycache_get as the client does, the value not parsed: the
//             round trip of a get without psycache's client (nor libpqxx)
//
// The psycache operations share one psycache::ConnectionPool of THREADS connections; the raw
// ones give each thread its own pqxx::connection (raw-fn-get: its own libpq connection). Every
// thread connects and runs its operation once before the clock starts. Latency is measured around
// each call, from the caller's side; user_us_per_op and sys_us_per_op are this process's CPU time
// per operation. With --ops N each thread stops after N operations (or at --seconds, if that comes
// first), for a run of a known size under a profiler. --operation-timeout MS sets
// CacheOptions::operation_timeout, to measure what its watchdog costs. Any error stops the run
// with exit status 1.
//
// --instrumentation gives the psycache operations' cache instrumentations: bare (none, the
// default), prometheus (PrometheusInstrumentation) or all (Prometheus, a custom one that counts
// every operation, as an application's own would, and SentryInstrumentation where
// psycache_sentry is built: every transaction sampled, one transaction per 10 operations as a
// request handler would have, the envelopes dropped by the transport). The line says
// sentry=on, or sentry=skipped where the SDK was not found when CMake ran.
//
// Several comma-separated instrumentations (--instrumentation bare,prometheus,all) with
// --rounds R compare them in one process: the same threads, connections and pool, one cache per
// configuration, --seconds per configuration and round, all configurations in every round, each
// round starting one configuration later (bare, prometheus, all; prometheus, all, bare; ...) so
// that none always runs first. One line per round and configuration, with round=N.
#include <algorithm>
#include <atomic>
#include <barrier>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iterator>
#include <libpq-fe.h>
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

#ifdef PSYCACHE_BENCH_SENTRY
#include "bench_sentry.hpp"
#endif

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kUsage =
    "usage: psycache_client_bench --op get|get-miss|put|raw-get|raw-put|raw-fn-get|get-many\n"
    "                             --threads N --seconds S --dsn DSN [--keys K] [--value JSON]\n"
    "                             [--ops N] [--batch B] [--operation-timeout MS] [--schema S]\n"
    "                             [--instrumentation bare|prometheus|all[,...]] [--rounds R]\n";

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
  int batch = 100;                                    // keys per call of get-many
  long long operation_timeout_ms = 0;                 // CacheOptions::operation_timeout; 0: none
  std::string schema = "public";                      // the cache's schema (CacheOptions::schema)
  std::vector<std::string> instrumentations{"bare"};  // one, or several to compare
  int rounds = 1;
};

#ifdef PSYCACHE_BENCH_SENTRY
constexpr bool kSentry = true;
#else
constexpr bool kSentry = false;
#endif

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
      settings.instrumentations.clear();
      std::string_view list = value;
      while (true) {
        const std::size_t comma = list.find(',');
        const std::string name{list.substr(0, comma)};
        if (name != "bare" && name != "prometheus" && name != "all") {
          usage_error("unknown instrumentation \"" + name + "\"");
        }
        if (std::find(settings.instrumentations.begin(), settings.instrumentations.end(), name) !=
            settings.instrumentations.end()) {
          usage_error("instrumentation \"" + name + "\" given twice");
        }
        settings.instrumentations.push_back(name);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
    } else if (flag == "--rounds") {
      settings.rounds = static_cast<int>(number(flag, value));
    } else {
      usage_error("unknown option " + flag);
    }
  }
  if (settings.op_name.empty() || settings.dsn.empty()) usage_error("--op and --dsn are required");
  if (settings.rounds > 1 && settings.ops_per_thread > 0) {
    usage_error("--rounds and --ops do not go together");
  }
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
#ifdef PSYCACHE_BENCH_SENTRY
  if (name == "all") result.push_back(std::make_shared<psycache::SentryInstrumentation>());
#endif
  return result;
}

// One thread's way to run the operation once: returns whether a get hit.
class Worker {
 public:
  Worker(const Settings& settings, const nlohmann::json* value, unsigned seed)
      : settings_(settings),
        value_(value),
        keys_(settings.op == Op::kGetMiss ? "miss:" : "key:", settings.keys, seed) {
    if (settings_.op == Op::kRawGet || settings_.op == Op::kRawPut) {
      connection_.emplace(settings_.dsn);
      connection_->prepare("raw_get", kRawGetSql);
      connection_->prepare("raw_put", kRawPutSql);
    }
    if (settings_.op == Op::kRawFnGet) {
      libpq_.reset(PQconnectdb(settings_.dsn.c_str()));
      const std::unique_ptr<PGresult, decltype(&PQclear)> prepared{
          PQprepare(libpq_.get(), "raw_fn_get", kRawFnGetSql, 0, nullptr), &PQclear};
      if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
        throw std::runtime_error(std::string{"libpq: "} + PQerrorMessage(libpq_.get()));
      }
    }
  }

  bool run_once(psycache::PostgresCache& cache) {
    const std::string& key = keys_.next();
    switch (settings_.op) {
      case Op::kGet:
      case Op::kGetMiss:
        return cache.get_raw(key).has_value();
      case Op::kPut:
        cache.put_raw(key, *value_, std::chrono::hours{1});
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
        const auto values = cache.get_many_raw(batch_);
        return std::all_of(values.begin(), values.end(),
                           [](const auto& v) { return v.has_value(); });
      }
      case Op::kRawFnGet: {
        // What a client must do at the least: send the statement, read its one result.
        const char* params[] = {key.c_str()};
        if (PQsendQueryPrepared(libpq_.get(), "raw_fn_get", 1, params, nullptr, nullptr, 0) == 0) {
          throw std::runtime_error(std::string{"libpq: "} + PQerrorMessage(libpq_.get()));
        }
        bool hit = false;
        while (PGresult* result = PQgetResult(libpq_.get())) {
          if (PQresultStatus(result) != PGRES_TUPLES_OK) {
            PQclear(result);
            throw std::runtime_error(std::string{"libpq: "} + PQerrorMessage(libpq_.get()));
          }
          hit = hit || (PQntuples(result) == 1 && PQgetisnull(result, 0, 0) == 0);
          PQclear(result);
        }
        return hit;
      }
    }
    return false;
  }

 private:
  const Settings& settings_;
  const nlohmann::json* value_;
  KeyPicker keys_;
  std::optional<pqxx::connection> connection_;
  std::unique_ptr<PGconn, decltype(&PQfinish)> libpq_{nullptr, &PQfinish};
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

// One configuration's cache, on the pool every configuration shares.
struct Configuration {
  std::string name;
  bool sentry = false;  // its operations run inside a per-thread Sentry transaction
  std::unique_ptr<psycache::PostgresCache> cache;
};

// What one round of one configuration measured, summed over the threads.
struct Phase {
  int round = 0;
  std::size_t configuration = 0;
  double elapsed = 0;
  double user = 0;
  double sys = 0;
  std::vector<std::int64_t> latencies_ns;
  std::int64_t hits = 0;
  std::int64_t misses = 0;
};

int run(const Settings& settings) {
  const nlohmann::json value = nlohmann::json::parse(settings.value);
#ifdef PSYCACHE_BENCH_SENTRY
  std::optional<psycache::bench::SentrySdk> sentry;
  if (std::find(settings.instrumentations.begin(), settings.instrumentations.end(), "all") !=
      settings.instrumentations.end()) {
    sentry.emplace();
  }
#endif
  psycache::ConnectionPool pool{settings.dsn,
                                {.max_size = static_cast<std::size_t>(settings.threads)}};
  std::vector<Configuration> configurations;
  for (const std::string& name : settings.instrumentations) {
    configurations.push_back(
        {.name = name,
         .sentry = kSentry && name == "all",
         .cache = std::make_unique<psycache::PostgresCache>(
             pool, psycache::CacheOptions{.schema = settings.schema,
                                          .instrumentations = instrumentations(name),
                                          .operation_timeout = std::chrono::milliseconds{
                                              settings.operation_timeout_ms}})});
  }

  // Round r runs the configurations starting at r's: 0 1 2, 1 2 0, 2 0 1, ...
  std::vector<Phase> phases;
  for (int round = 1; round <= settings.rounds; ++round) {
    for (std::size_t i = 0; i < configurations.size(); ++i) {
      Phase& phase = phases.emplace_back();
      phase.round = round;
      phase.configuration = (i + static_cast<std::size_t>(round - 1)) % configurations.size();
    }
  }

  const auto threads_count = static_cast<std::size_t>(settings.threads);
  // [thread][phase]
  std::vector<std::vector<Phase>> results(threads_count, std::vector<Phase>(phases.size()));
  // Every worker and this thread: once when all are ready, then at each phase's start and end.
  // A worker that fails drops out, so the others are never left waiting.
  std::barrier sync{settings.threads + 1};
  std::atomic<bool> stop{false};
  std::size_t current = 0;  // written before a barrier, read after it
  Clock::time_point deadline{};
  std::mutex error_mutex;
  std::string error;

  const auto work = [&](std::size_t index) {
    try {
      Worker worker{settings, &value, 12345U + static_cast<unsigned>(index)};
#ifdef PSYCACHE_BENCH_SENTRY
      psycache::bench::SentryRequests requests;
#endif
      // Connects, prepares, and checks the data set is there, through every configuration.
      for (Configuration& configuration : configurations) {
        const bool hit = worker.run_once(*configuration.cache);
        if ((settings.op == Op::kGet || settings.op == Op::kGetMany) && !hit) {
          throw std::runtime_error("a get missed: is the data set loaded?");
        }
        if (settings.op == Op::kGetMiss && hit) throw std::runtime_error("a get-miss hit");
      }
      sync.arrive_and_wait();
      for (std::size_t p = 0; p < phases.size(); ++p) {
        Phase& result = results[index][p];
        result.latencies_ns.reserve(
            static_cast<std::size_t>(settings.seconds * 400'000 / settings.threads) + 1024);
        sync.arrive_and_wait();
        Configuration& configuration = configurations[phases[current].configuration];
        while (!stop.load(std::memory_order_relaxed)) {
          const Clock::time_point start = Clock::now();
#ifdef PSYCACHE_BENCH_SENTRY
          if (configuration.sentry) requests.before();
#endif
          const bool found = worker.run_once(*configuration.cache);
#ifdef PSYCACHE_BENCH_SENTRY
          if (configuration.sentry) requests.after();
#endif
          const Clock::time_point end = Clock::now();
          result.latencies_ns.push_back(
              std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
          ++(found ? result.hits : result.misses);
          if (end >= deadline || (settings.ops_per_thread > 0 &&
                                  std::ssize(result.latencies_ns) >= settings.ops_per_thread)) {
            break;
          }
        }
#ifdef PSYCACHE_BENCH_SENTRY
        requests.finish();
#endif
        sync.arrive_and_wait();
      }
    } catch (const std::exception& e) {
      {
        const std::lock_guard lock{error_mutex};
        if (error.empty()) error = e.what();
      }
      stop = true;
      sync.arrive_and_drop();
    }
  };

  std::vector<std::thread> threads;
  threads.reserve(threads_count);
  for (std::size_t i = 0; i < threads_count; ++i) threads.emplace_back(work, i);
  sync.arrive_and_wait();
  for (std::size_t p = 0; p < phases.size() && !stop; ++p) {
    current = p;
    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    const Clock::time_point start = Clock::now();
    deadline = start + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>{settings.seconds});
    sync.arrive_and_wait();
    sync.arrive_and_wait();
    phases[p].elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    phases[p].user = cpu_seconds(after.ru_utime) - cpu_seconds(before.ru_utime);
    phases[p].sys = cpu_seconds(after.ru_stime) - cpu_seconds(before.ru_stime);
  }
  if (stop) {
    // The workers that are left run through the remaining phases at once.
    sync.arrive_and_drop();
  }
  for (auto& thread : threads) thread.join();

  if (!error.empty()) {
    (void)std::fprintf(stderr, "psycache_client_bench %s: %s\n", settings.op_name.c_str(),
                       error.c_str());
    return 1;
  }

  for (std::size_t p = 0; p < phases.size(); ++p) {
    Phase& phase = phases[p];
    for (auto& thread_results : results) {
      const Phase& result = thread_results[p];
      phase.latencies_ns.insert(phase.latencies_ns.end(), result.latencies_ns.begin(),
                                result.latencies_ns.end());
      phase.hits += result.hits;
      phase.misses += result.misses;
    }
    std::vector<std::int64_t>& all = phase.latencies_ns;
    std::sort(all.begin(), all.end());
    const auto ops = static_cast<double>(all.size());
    const double keys_per_op = settings.op == Op::kGetMany ? settings.batch : 1;
    const Configuration& configuration = configurations[phase.configuration];
    const char* sentry_state = configuration.name != "all" ? "off" : kSentry ? "on" : "skipped";
    (void)std::printf(
        "op=%s threads=%d seconds=%.2f ops=%zu ops_per_s=%.1f p50_us=%.1f p99_us=%.1f "
        "user_us_per_op=%.2f sys_us_per_op=%.2f hits=%lld misses=%lld keys_per_s=%.1f "
        "instrumentation=%s round=%d sentry=%s\n",
        settings.op_name.c_str(), settings.threads, phase.elapsed, all.size(), ops / phase.elapsed,
        percentile_us(all, 0.50), percentile_us(all, 0.99), phase.user * 1e6 / ops,
        phase.sys * 1e6 / ops, static_cast<long long>(phase.hits),
        static_cast<long long>(phase.misses), ops * keys_per_op / phase.elapsed,
        configuration.name.c_str(), phase.round, sentry_state);
  }
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
