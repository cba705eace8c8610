// The spans of one cache operation, one per instrumentation.
#pragma once

#include <memory>
#include <vector>

#include <psycache/instrumentation.hpp>

namespace psycache::detail {

// Starts a span on every instrumentation and ends them in reverse order.
// Without instrumentations it holds an empty vector: no allocation.
class Spans {
 public:
  template <class Start>
  Spans(const std::vector<std::shared_ptr<CacheInstrumentation>>& instrumentations, Start start) {
    if (instrumentations.empty()) return;
    spans_.reserve(instrumentations.size());
    for (const auto& instrumentation : instrumentations) {
      if (std::unique_ptr<CacheSpan> span = start(*instrumentation)) {
        spans_.push_back(std::move(span));
      }
    }
  }

  Spans(const Spans&) = delete;
  Spans& operator=(const Spans&) = delete;
  Spans(Spans&&) = delete;
  Spans& operator=(Spans&&) = delete;

  ~Spans() {
    while (!spans_.empty()) spans_.pop_back();
  }

  // Calls record(span) on every span.
  template <class Record>
  void record(Record record) {
    for (const auto& span : spans_) record(*span);
  }

 private:
  std::vector<std::unique_ptr<CacheSpan>> spans_;
};

}  // namespace psycache::detail
