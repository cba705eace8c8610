// Automatic batching of the async cache's puts: puts queued behind each other on a connection go
// out as one call of psycache_put_many, and each caller still gets its own answer.
#pragma once

#include <memory>
#include <vector>

#include "async_split_batch.hpp"

namespace psycache::detail {

// Combines consecutive puts of one AsyncPostgresCache (queries with the parameters key, value
// text, ttl) into a psycache_put_many call: those with the same ttl and distinct keys (a key
// given twice would report its last value's size for both), up to kMaxBatchBytes of values.
// Each put then completes exactly as if it had run alone, with the size stored for its value.
// Batching stops for good once the server turns out to lack psycache_put_many (extension 1.0);
// the puts of that batch run again alone.
class PutBatcher final : public FunctionBatcher {
 public:
  // Values beyond this many bytes in all go into a batch no further: a large value gains little
  // from sharing a round trip.
  static constexpr std::size_t kMaxBatchBytes = std::size_t{1} << 20;

  // put_many: the cache's psycache_put_many statement; it must outlive the batcher.
  explicit PutBatcher(const AsyncStatement& put_many) : put_many_(put_many) {}

  [[nodiscard]] std::shared_ptr<AsyncBatch> combine(
      const std::vector<std::shared_ptr<AsyncQuery>>& queued) const override;

 private:
  const AsyncStatement& put_many_;
};

}  // namespace psycache::detail
