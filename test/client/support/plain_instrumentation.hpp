// An instrumentation whose spans record nothing: a suite derives from it and overrides only the
// spans it looks at.
#pragma once

#include <memory>
#include <string_view>

#include <psycache/instrumentation.hpp>

namespace psycache::test {

class PlainInstrumentation : public CacheInstrumentation {
 public:
  std::unique_ptr<CacheSpan> start_cache_get_span(std::string_view /*key*/,
                                                  std::string_view /*span_name*/) override {
    return std::make_unique<CacheSpan>();
  }
  std::unique_ptr<CacheSpan> start_cache_put_span(std::string_view /*key*/,
                                                  std::string_view /*span_name*/) override {
    return std::make_unique<CacheSpan>();
  }
  std::unique_ptr<CacheSpan> start_cache_remove_span(std::string_view /*key*/) override {
    return std::make_unique<CacheSpan>();
  }
  std::unique_ptr<CacheSpan> start_cache_flush_span() override {
    return std::make_unique<CacheSpan>();
  }
  std::unique_ptr<CacheSpan> start_cache_cleanup_span() override {
    return std::make_unique<CacheSpan>();
  }
};

}  // namespace psycache::test
