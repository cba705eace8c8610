// Instrumentation hook points: metrics, traces, logs of cache operations.
//
// A CacheInstrumentation starts one CacheSpan per cache operation; the span
// learns the outcome through its record_* calls and ends when it is destroyed
// (RAII), so a provider measures the duration from start_* to the destructor.
// A cache fans every operation out to all of its instrumentations
// (CacheOptions::instrumentations) and ends their spans in reverse order. With
// no instrumentation configured, nothing is allocated and no virtual call is
// made.
//
// What the cache records, per operation:
//   get      record_cache_hit(size) or record_cache_miss()
//   put      record_put(size)
//   remove   record_removed() (whether or not an entry existed)
//   flush    record_flush(entries deleted)
//   cleanup  record_cleanup(expired entries deleted)
// size is the stored size of the value in bytes (pg_column_size of the jsonb),
// as computed by the server. When an operation fails, record_error(error) is
// called instead, just before the span ends.
//
// Errors: spans and instrumentations should not throw; an exception thrown by
// start_* or record_* propagates to the caller of the cache operation.
//
// Thread-safety: a cache calls its instrumentations from every thread that uses
// it, concurrently: start_* must be thread-safe. A span is used by one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace psycache {

class Error;

// One operation in progress; ends in the destructor. Every member has an
// empty default, so a provider overrides only what it measures.
class CacheSpan {
 public:
  CacheSpan() = default;
  CacheSpan(const CacheSpan&) = delete;
  CacheSpan& operator=(const CacheSpan&) = delete;
  CacheSpan(CacheSpan&&) = delete;
  CacheSpan& operator=(CacheSpan&&) = delete;
  virtual ~CacheSpan() = default;

  // get: the key was found and not expired; size is its stored size in bytes.
  virtual void record_cache_hit(std::size_t /*size*/) {}
  // get: the key was missing or expired.
  virtual void record_cache_miss() {}
  // put: the value was stored; size is its stored size in bytes.
  virtual void record_put(std::size_t /*size*/) {}
  // remove: the remove completed (the key may or may not have existed).
  virtual void record_removed() {}
  // flush: the cache was emptied; entries is how many were deleted.
  virtual void record_flush(std::int64_t /*entries*/) {}
  // cleanup_expired: entries is how many expired entries were deleted.
  virtual void record_cleanup(std::int64_t /*entries*/) {}
  // Any operation: it failed with error, which the caller is about to get.
  virtual void record_error(const Error& /*error*/) {}
};

// A provider of spans. key is the cache key; span_name is the name the caller
// gave the operation ("" when none was given). A provider may return nullptr
// for operations it does not measure. The string_views are valid only during
// the call: copy what the span keeps.
class CacheInstrumentation {
 public:
  CacheInstrumentation() = default;
  CacheInstrumentation(const CacheInstrumentation&) = delete;
  CacheInstrumentation& operator=(const CacheInstrumentation&) = delete;
  CacheInstrumentation(CacheInstrumentation&&) = delete;
  CacheInstrumentation& operator=(CacheInstrumentation&&) = delete;
  virtual ~CacheInstrumentation() = default;

  virtual std::unique_ptr<CacheSpan> start_cache_get_span(std::string_view key,
                                                          std::string_view span_name) = 0;
  virtual std::unique_ptr<CacheSpan> start_cache_put_span(std::string_view key,
                                                          std::string_view span_name) = 0;
  virtual std::unique_ptr<CacheSpan> start_cache_remove_span(std::string_view key) = 0;
  virtual std::unique_ptr<CacheSpan> start_cache_flush_span() = 0;
  virtual std::unique_ptr<CacheSpan> start_cache_cleanup_span() = 0;
};

}  // namespace psycache
