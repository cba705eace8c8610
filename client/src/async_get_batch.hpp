// Automatic batching of the async cache's gets: gets queued behind each other on a connection go
// out as one call of psycache_get_many, and each caller still gets its own answer.
#pragma once

#include <memory>
#include <vector>

#include "async_split_batch.hpp"

namespace psycache::detail {

// Combines consecutive gets of one AsyncPostgresCache (queries with the parameter key) into a
// psycache_get_many call, which answers each key, in their order, as psycache_get would: its value
// and size, or a miss. The server then reads the keys in one statement, for a fraction of what as
// many statements cost it. Each get completes exactly as if it had run alone. Batching stops for
// good once the server turns out to lack psycache_get_many (extension 1.0); the gets of that batch
// run again alone.
class GetBatcher final : public FunctionBatcher {
 public:
  // get_many: the cache's psycache_get_many statement; it must outlive the batcher.
  explicit GetBatcher(const AsyncStatement& get_many) : get_many_(get_many) {}

  [[nodiscard]] std::shared_ptr<AsyncBatch> combine(
      const std::vector<std::shared_ptr<AsyncQuery>>& queued) const override;

 private:
  const AsyncStatement& get_many_;
};

}  // namespace psycache::detail
