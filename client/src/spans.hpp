// The spans of one cache operation, one per instrumentation.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <vector>

#include <psycache/instrumentation.hpp>

namespace psycache::detail {

// Starts a span on every instrumentation and ends them in reverse order.
// Without instrumentations nothing is allocated. The spans of up to
// kInline instrumentations are held in place, so the fan-out itself
// allocates nothing per operation either (a vector would, on every
// operation); only more instrumentations than that spill into a vector.
class Spans {
 public:
  static constexpr std::size_t kInline = 4;

  template <class Start>
  Spans(const std::vector<std::shared_ptr<CacheInstrumentation>>& instrumentations, Start start) {
    if (instrumentations.empty()) return;
    if (instrumentations.size() > kInline) overflow_.reserve(instrumentations.size() - kInline);
    for (const auto& instrumentation : instrumentations) {
      if (std::unique_ptr<CacheSpan> span = start(*instrumentation)) {
        if (size_ < kInline) {
          inline_[size_++] = std::move(span);
        } else {
          overflow_.push_back(std::move(span));
        }
      }
    }
  }
  Spans(const Spans&) = delete;
  Spans& operator=(const Spans&) = delete;
  Spans(Spans&&) = delete;
  Spans& operator=(Spans&&) = delete;
  ~Spans() {
    while (!overflow_.empty()) overflow_.pop_back();
    while (size_ > 0) inline_[--size_].reset();
  }
  // Calls record(span) on every span, in the order they started.
  template <class Record>
  void record(Record record) {
    for (std::size_t i = 0; i < size_; ++i) record(*inline_[i]);
    for (const auto& span : overflow_) record(*span);
  }

 private:
  std::array<std::unique_ptr<CacheSpan>, kInline> inline_;
  std::size_t size_ = 0;
  std::vector<std::unique_ptr<CacheSpan>> overflow_;
};

}  // namespace psycache::detail
