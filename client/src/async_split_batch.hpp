// What the async cache's automatic batches share: a batcher that sends queries as one call of a
// function of extension 1.1, and a batch whose one answer is split into each query's own.
#pragma once

#include <atomic>
#include <cstddef>
#include <libpq-fe.h>

#include <psycache/async_pool.hpp>

namespace psycache::detail {

// An AsyncBatcher that calls a function of extension 1.1: once the server turns out to lack it
// (extension 1.0), it batches no more.
class FunctionBatcher : public AsyncBatcher {
 public:
  // No more batches: the server has no such function.
  void stop() const noexcept { available_.store(false, std::memory_order_relaxed); }

 protected:
  [[nodiscard]] bool available() const noexcept {
    return available_.load(std::memory_order_relaxed);
  }

 private:
  mutable std::atomic<bool> available_{true};
};

// A batch whose answer holds one for each of its queries: it completes each query that still
// waits with its own answer, made to look exactly like the answer of the query's own statement,
// so the query cannot tell it was batched. When the server refuses the batch, it completes none:
// the pool then runs each again alone (see AsyncBatch).
class SplitBatch : public AsyncBatch {
 public:
  explicit SplitBatch(const FunctionBatcher& owner) : owner_(owner) {}

  void complete(PgResult result, std::exception_ptr error) final;

 protected:
  // Checks the batch's answer and keeps what answer() needs; throws when it does not answer
  // every query.
  virtual void read(const PGresult* result) = 0;
  // The answer of query i, from result.
  [[nodiscard]] virtual PgResult answer(const PGresult* result, std::size_t i) const = 0;

 private:
  const FunctionBatcher& owner_;
};

}  // namespace psycache::detail
