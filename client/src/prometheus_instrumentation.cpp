// PrometheusInstrumentation: spans that update the ten metrics.
#include <array>
#include <atomic>
#include <chrono>
#include <mutex>

#include <psycache/prometheus.hpp>

namespace psycache {
namespace {

constexpr std::array<double, 8> kItemSizeBuckets = {64,    256,   1024,   4096,
                                                    16384, 65536, 262144, 1048576};
constexpr std::array<double, 10> kFlushedEntriesBuckets = {0,  1,   5,   10,  25,
                                                           50, 100, 250, 500, 1000};

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  const std::chrono::duration<double> elapsed = Clock::now() - start;
  return elapsed.count() > 0 ? elapsed.count() : 0.0;
}

// The child of family for one span_name, looked up on first use and then
// kept, so a span costs one lookup (in named()) however much it records.
template <class Metric>
class LazyChild {
 public:
  Metric& get(metrics::Family<Metric>& family, const std::string& span_name) {
    Metric* metric = metric_.load(std::memory_order_acquire);
    if (metric == nullptr) {
      metric = &family.labels({span_name});
      metric_.store(metric, std::memory_order_release);
    }
    return *metric;
  }

 private:
  std::atomic<Metric*> metric_{nullptr};
};

}  // namespace

struct PrometheusInstrumentation::Families {
  explicit Families(metrics::Registry& registry)
      : hits(registry.counter("psycache_hits_total", "Number of cache hits", {"span_name"})),
        misses(registry.counter("psycache_misses_total", "Number of cache misses", {"span_name"})),
        get_duration(registry.histogram("psycache_get_duration_seconds",
                                        "Time taken for cache get operations", {"span_name"})),
        put_duration(registry.histogram("psycache_put_duration_seconds",
                                        "Time taken for cache put operations", {"span_name"})),
        remove_duration(registry.histogram("psycache_remove_duration_seconds",
                                           "Time taken for cache remove operations", {})),
        flush_duration(registry.histogram("psycache_flush_duration_seconds",
                                          "Time taken for cache flush operations", {})),
        item_size(registry.histogram("psycache_item_size_bytes", "Size of cache items in bytes",
                                     {"span_name"}, kItemSizeBuckets)),
        flushed_entries(registry.histogram("psycache_flushed_entries",
                                           "Number of entries flushed per flush operation", {},
                                           kFlushedEntriesBuckets)),
        cleanup_last_run(registry.gauge("psycache_cleanup_last_run_timestamp_seconds",
                                        "Timestamp of the last expired-entry cleanup run")),
        cleanup_deleted(
            registry.gauge("psycache_cleanup_deleted_entries",
                           "Number of expired entries deleted in the last cleanup run")) {}

  metrics::CounterFamily& hits;
  metrics::CounterFamily& misses;
  metrics::HistogramFamily& get_duration;
  metrics::HistogramFamily& put_duration;
  metrics::HistogramFamily& remove_duration;
  metrics::HistogramFamily& flush_duration;
  metrics::HistogramFamily& item_size;
  metrics::HistogramFamily& flushed_entries;
  metrics::GaugeFamily& cleanup_last_run;
  metrics::GaugeFamily& cleanup_deleted;
  // The metrics of span_name "", what every operation without a name uses:
  // found without the lock that named() takes for the others. Set once, in
  // the constructor.
  Named* unnamed = nullptr;
};

struct PrometheusInstrumentation::Named {
  Named(Families& f, std::string name) : families(f), span_name(std::move(name)) {}

  metrics::Counter& hits() { return hits_.get(families.hits, span_name); }
  metrics::Counter& misses() { return misses_.get(families.misses, span_name); }
  metrics::Histogram& get_duration() { return get_duration_.get(families.get_duration, span_name); }
  metrics::Histogram& put_duration() { return put_duration_.get(families.put_duration, span_name); }
  metrics::Histogram& item_size() { return item_size_.get(families.item_size, span_name); }

  Families& families;
  const std::string span_name;

 private:
  LazyChild<metrics::Counter> hits_, misses_;
  LazyChild<metrics::Histogram> get_duration_, put_duration_, item_size_;
};

namespace {

// Observes its duration into a histogram when it ends.
class TimedSpan : public CacheSpan {
 public:
  explicit TimedSpan(metrics::Histogram& duration) : duration_(duration) {}
  TimedSpan(const TimedSpan&) = delete;
  TimedSpan& operator=(const TimedSpan&) = delete;
  TimedSpan(TimedSpan&&) = delete;
  TimedSpan& operator=(TimedSpan&&) = delete;
  ~TimedSpan() override { duration_.observe(seconds_since(start_)); }

 private:
  metrics::Histogram& duration_;
  Clock::time_point start_ = Clock::now();
};

class GetSpan final : public TimedSpan {
 public:
  explicit GetSpan(PrometheusInstrumentation::Named& named)
      : TimedSpan(named.get_duration()), named_(named) {}

  void record_cache_hit(std::size_t size) override {
    named_.hits().inc();
    named_.item_size().observe(static_cast<double>(size));
  }
  void record_cache_miss() override { named_.misses().inc(); }

 private:
  PrometheusInstrumentation::Named& named_;
};

class PutSpan final : public TimedSpan {
 public:
  explicit PutSpan(PrometheusInstrumentation::Named& named)
      : TimedSpan(named.put_duration()), named_(named) {}

  void record_put(std::size_t size) override {
    named_.item_size().observe(static_cast<double>(size));
  }

 private:
  PrometheusInstrumentation::Named& named_;
};

class FlushSpan final : public TimedSpan {
 public:
  FlushSpan(metrics::Histogram& duration, metrics::Histogram& flushed)
      : TimedSpan(duration), flushed_(flushed) {}

  void record_flush(std::int64_t entries) override {
    flushed_.observe(static_cast<double>(entries));
  }

 private:
  metrics::Histogram& flushed_;
};

class CleanupSpan final : public CacheSpan {
 public:
  CleanupSpan(metrics::Gauge& last_run, metrics::Gauge& deleted)
      : last_run_(last_run), deleted_(deleted) {}

  void record_cleanup(std::int64_t entries) override {
    last_run_.set_to_current_time();
    deleted_.set(static_cast<double>(entries));
  }

 private:
  metrics::Gauge& last_run_;
  metrics::Gauge& deleted_;
};

}  // namespace

PrometheusInstrumentation::PrometheusInstrumentation(std::shared_ptr<metrics::Registry> registry)
    : registry_(registry ? std::move(registry) : metrics::default_registry()),
      families_(std::make_unique<Families>(*registry_)) {
  // A Named creates its series on first use only, so this renders nothing yet.
  families_->unnamed = &named("");
}

PrometheusInstrumentation::~PrometheusInstrumentation() = default;

PrometheusInstrumentation::Named& PrometheusInstrumentation::named(std::string_view span_name) {
  if (span_name.empty() && families_->unnamed != nullptr) return *families_->unnamed;
  {
    const std::shared_lock lock{mutex_};
    if (const auto found = named_.find(span_name); found != named_.end()) return *found->second;
  }
  const std::unique_lock lock{mutex_};
  auto& slot = named_[std::string{span_name}];
  if (!slot) slot = std::make_unique<Named>(*families_, std::string{span_name});
  return *slot;
}

std::unique_ptr<CacheSpan> PrometheusInstrumentation::start_cache_get_span(
    std::string_view /*key*/, std::string_view span_name) {
  return std::make_unique<GetSpan>(named(span_name));
}

std::unique_ptr<CacheSpan> PrometheusInstrumentation::start_cache_put_span(
    std::string_view /*key*/, std::string_view span_name) {
  return std::make_unique<PutSpan>(named(span_name));
}

std::unique_ptr<CacheSpan> PrometheusInstrumentation::start_cache_remove_span(
    std::string_view /*key*/) {
  return std::make_unique<TimedSpan>(families_->remove_duration.unlabelled());
}

std::unique_ptr<CacheSpan> PrometheusInstrumentation::start_cache_flush_span() {
  return std::make_unique<FlushSpan>(families_->flush_duration.unlabelled(),
                                     families_->flushed_entries.unlabelled());
}

std::unique_ptr<CacheSpan> PrometheusInstrumentation::start_cache_cleanup_span() {
  return std::make_unique<CleanupSpan>(families_->cleanup_last_run.unlabelled(),
                                       families_->cleanup_deleted.unlabelled());
}

}  // namespace psycache
