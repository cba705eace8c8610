// PrometheusInstrumentation: the cache's metrics in a metrics::Registry.
//
// The ten metrics of the Python psycache, with its names, help texts, types,
// labels and buckets, so that dashboards and alerts work for both:
//
//   psycache_hits_total                          counter    span_name
//   psycache_misses_total                        counter    span_name
//   psycache_get_duration_seconds                histogram  span_name  default buckets
//   psycache_put_duration_seconds                histogram  span_name  default buckets
//   psycache_remove_duration_seconds             histogram             default buckets
//   psycache_flush_duration_seconds              histogram             default buckets
//   psycache_item_size_bytes                     histogram  span_name  64, 256 ... 1048576
//   psycache_flushed_entries                     histogram             0, 1, 5 ... 1000
//   psycache_cleanup_last_run_timestamp_seconds  gauge
//   psycache_cleanup_deleted_entries             gauge
//
// span_name is the name given to get_raw/put_raw (and get/put), "" when none
// was. The default buckets are prometheus_client's, 0.005 to 10 seconds. A
// duration runs from the start of the operation to its end, failed or not;
// item sizes are recorded for hits and puts; cleanup records no duration, as
// in the original.
//
// span_name becomes a label value, so keep names few (one per call site, not
// one per key): every distinct name is a series of its own, kept for good.
//
// Several instrumentations (of several caches) may share one registry: they
// then share the metrics, as Python's module-level metrics are shared.
//
// Thread-safety: one instance serves any number of caches and threads.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <psycache/instrumentation.hpp>
#include <psycache/metrics.hpp>

namespace psycache {

class PrometheusInstrumentation final : public CacheInstrumentation {
 public:
  // Registers the ten metrics in registry (metrics::default_registry() when
  // null); throws InvalidArgument if one of the names is taken by a
  // different metric.
  explicit PrometheusInstrumentation(std::shared_ptr<metrics::Registry> registry = nullptr);
  PrometheusInstrumentation(const PrometheusInstrumentation&) = delete;
  PrometheusInstrumentation& operator=(const PrometheusInstrumentation&) = delete;
  PrometheusInstrumentation(PrometheusInstrumentation&&) = delete;
  PrometheusInstrumentation& operator=(PrometheusInstrumentation&&) = delete;
  ~PrometheusInstrumentation() override;

  [[nodiscard]] const std::shared_ptr<metrics::Registry>& registry() const noexcept {
    return registry_;
  }

  std::unique_ptr<CacheSpan> start_cache_get_span(std::string_view key,
                                                  std::string_view span_name) override;
  std::unique_ptr<CacheSpan> start_cache_put_span(std::string_view key,
                                                  std::string_view span_name) override;
  std::unique_ptr<CacheSpan> start_cache_remove_span(std::string_view key) override;
  std::unique_ptr<CacheSpan> start_cache_flush_span() override;
  std::unique_ptr<CacheSpan> start_cache_cleanup_span() override;

  // The metrics of one span_name, created as the original creates them.
  struct Named;
  struct Families;

 private:
  Named& named(std::string_view span_name);

  std::shared_ptr<metrics::Registry> registry_;
  std::unique_ptr<Families> families_;
  std::shared_mutex mutex_;
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const noexcept {
      return std::hash<std::string_view>{}(name);
    }
  };
  std::unordered_map<std::string, std::unique_ptr<Named>, NameHash, std::equal_to<>> named_;
};

}  // namespace psycache
