// A small metrics registry that renders the Prometheus text exposition format
// (version 0.0.4), for PrometheusInstrumentation and for an application's own
// metrics. Debian ships no Prometheus client library for C++, so this is the
// part of one that psycache needs: counters, gauges and histograms, each a
// family with fixed label names and one child per set of label values.
//
//   auto registry = std::make_shared<psycache::metrics::Registry>();
//   auto& requests = registry->counter("app_requests_total", "Requests", {"path"});
//   requests.labels({"/users"}).inc();
//   std::string text = registry->render();   // serve with kContentType
//
// The rendering follows prometheus_client (Python) so that a C++ service and a
// Python one expose identical text: families in registration order, children
// in the order they were first used, label values escaped, numbers written as
// Go writes them ("1.0", "0.005", "1.048576e+06", "+Inf"), a histogram's
// buckets cumulative with `le` last, then `_count` and `_sum`. No `_created`
// series are written (prometheus_client writes them unless
// PROMETHEUS_DISABLE_CREATED_SERIES is set; they are not part of the 0.0.4
// format's metric types).
//
// Errors: InvalidArgument for a bad metric or label name, unsorted buckets, a
// wrong number of label values, a negative counter increment, or a name that
// is already registered with a different definition.
//
// Thread-safety: everything may be called from any thread. Updating a metric
// is lock-free (atomics); finding a child takes a shared lock, creating one an
// exclusive lock. Rendering during updates gives each histogram a `_count`
// equal to its `+Inf` bucket, though `_sum` may lag by the observations in
// flight.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace psycache::metrics {

// The Content-Type of render()'s text.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// prometheus_client's default histogram buckets (seconds), without +Inf.
inline constexpr double kDefaultBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                             0.5,   0.75, 1.0,   2.5,  5.0,   7.5, 10.0};

// A value that only goes up.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;
  Counter(Counter&&) = delete;
  Counter& operator=(Counter&&) = delete;
  ~Counter() = default;

  // amount must be >= 0.
  void inc(double amount = 1.0);
  [[nodiscard]] double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;
  Gauge(Gauge&&) = delete;
  Gauge& operator=(Gauge&&) = delete;
  ~Gauge() = default;

  void set(double value) noexcept { value_.store(value, std::memory_order_relaxed); }
  void inc(double amount = 1.0) noexcept { value_.fetch_add(amount, std::memory_order_relaxed); }
  // Seconds since the Unix epoch, now.
  void set_to_current_time() noexcept;
  [[nodiscard]] double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted into buckets by upper bound, with their sum.
class Histogram {
 public:
  // upper_bounds: strictly increasing, ending in +Inf (the family checks).
  explicit Histogram(std::span<const double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;
  Histogram(Histogram&&) = delete;
  Histogram& operator=(Histogram&&) = delete;
  ~Histogram() = default;

  // Counts value into the first bucket whose bound is >= value. NaN is ignored.
  void observe(double value) noexcept;

  [[nodiscard]] std::span<const double> upper_bounds() const noexcept { return upper_bounds_; }
  // Observations in bucket i alone (not cumulative).
  [[nodiscard]] std::uint64_t bucket_count(std::size_t i) const noexcept {
    return counts_[i].load(std::memory_order_relaxed);
  }
  [[nodiscard]] double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::span<const double> upper_bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<double> sum_{0.0};
};

enum class MetricType { counter, gauge, histogram };

namespace detail {

// Hash and equality over label values, for a map keyed by the stored values
// that is searched with the caller's string_views (no allocation).
struct LabelValuesHash {
  using is_transparent = void;
  std::size_t operator()(std::span<const std::string_view> values) const noexcept;
  std::size_t operator()(const std::vector<std::string_view>& values) const noexcept {
    return (*this)(std::span<const std::string_view>{values});
  }
};
struct LabelValuesEqual {
  using is_transparent = void;
  bool operator()(std::span<const std::string_view> a,
                  std::span<const std::string_view> b) const noexcept;
};

}  // namespace detail

// A named metric with fixed label names and one child per set of label
// values. A family without labels has exactly one child from the start (and
// renders it, zero, before first use); a labelled one renders nothing until a
// child is used, as prometheus_client does.
template <class Metric>
class Family {
 public:
  Family(MetricType type, std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> upper_bounds);
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;
  Family(Family&&) = delete;
  Family& operator=(Family&&) = delete;
  ~Family() = default;

  // The child for these label values (one per label name, in order), created
  // on first use. The reference stays valid as long as the family.
  Metric& labels(std::span<const std::string_view> values);
  Metric& labels(std::initializer_list<std::string_view> values) {
    return labels(std::span<const std::string_view>{values.begin(), values.size()});
  }
  // The one child of a family without labels.
  Metric& unlabelled() { return labels({}); }

  [[nodiscard]] MetricType type() const noexcept { return type_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const std::string& help() const noexcept { return help_; }
  [[nodiscard]] const std::vector<std::string>& label_names() const noexcept {
    return label_names_;
  }
  // Histograms: the bucket bounds, ending in +Inf; empty otherwise.
  [[nodiscard]] const std::vector<double>& upper_bounds() const noexcept { return upper_bounds_; }

  // Appends this family in the text format to out.
  void render(std::string& out) const;

 private:
  struct Child {
    template <class... Args>
    explicit Child(std::vector<std::string> label_values, Args&&... args)
        : values(std::move(label_values)),
          key(values.begin(), values.end()),
          metric(std::forward<Args>(args)...) {}

    std::vector<std::string> values;
    std::vector<std::string_view> key;  // views of values, the map's key
    Metric metric;
  };

  Child& add_child(std::span<const std::string_view> values);

  MetricType type_;
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<double> upper_bounds_;
  mutable std::shared_mutex mutex_;
  std::deque<Child> children_;  // in order of creation; a deque never moves them
  std::unordered_map<std::vector<std::string_view>, Child*, detail::LabelValuesHash,
                     detail::LabelValuesEqual>
      index_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// The families an application exposes together, in registration order.
// Registering a name again with the same definition returns the existing
// family (so several instrumentations can share one registry); with another
// definition it throws InvalidArgument.
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  Registry(Registry&&) = delete;
  Registry& operator=(Registry&&) = delete;
  ~Registry() = default;

  CounterFamily& counter(std::string_view name, std::string_view help,
                         std::vector<std::string> label_names = {});
  GaugeFamily& gauge(std::string_view name, std::string_view help,
                     std::vector<std::string> label_names = {});
  // buckets: strictly increasing upper bounds; +Inf is added if missing.
  HistogramFamily& histogram(std::string_view name, std::string_view help,
                             std::vector<std::string> label_names,
                             std::span<const double> buckets = kDefaultBuckets);

  // Every family in the text exposition format 0.0.4.
  [[nodiscard]] std::string render() const;

 private:
  struct Entry;
  template <class Metric>
  Family<Metric>& add(MetricType type, std::string_view name, std::string_view help,
                      std::vector<std::string> label_names, std::vector<double> upper_bounds);

  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<Entry>> entries_;
};

// A process-wide registry, like prometheus_client's REGISTRY; what a
// PrometheusInstrumentation uses when given none.
std::shared_ptr<Registry> default_registry();

// value as prometheus_client writes it (Python's repr, switched to an
// exponent from 1e7 on as Go does): "1.0", "0.005", "1.048576e+06", "+Inf".
std::string format_value(double value);

}  // namespace psycache::metrics
