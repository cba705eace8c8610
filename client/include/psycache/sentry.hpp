// SentryInstrumentation: cache operations as spans of the sentry-native SDK.
//
// Built as the separate library psycache_sentry (CMake target psycache::sentry)
// only where CMake finds sentry-native (find_package(sentry)); include this
// header only when linking it.
//
// Spans follow the Python original and Sentry's caches module:
//
//   operation  op            name (description)               data
//   get        cache.get     span_name, or "psycache get"     cache.key [key]; cache.hit,
//                                                             cache.item_size (hit),
//                                                             cache.success
//   put        cache.put     span_name, or "psycache put"     cache.key [key], cache.item_size,
//                                                             cache.success
//   remove     cache.remove  "psycache remove"                cache.key [key], cache.success
//   flush      cache.flush   "psycache flush"                 cache.num_flushed
//   cleanup    none
//
// A failed operation's span gets the status internal_error and no
// cache.success, as a Python span that an exception leaves does.
//
// The parent of a cache span. Python's sentry_sdk finds the current span in
// its scope; sentry-native can set a span on its scope but offers no way to
// read it back, and its scope is global, not per thread. So psycache keeps the
// parent itself, per thread: while a SentryParent lives, the cache operations
// that thread starts become children of its transaction or span. A parent
// covers the operations started on its own thread only; an application that
// hands work to other threads opens a SentryParent there too (the span it
// names may be the same). Parents nest: the inner one wins until it ends.
//
//   sentry_transaction_t* tx = sentry_transaction_start(context, sentry_value_new_null());
//   {
//     psycache::SentryParent parent{tx};
//     auto user = cache.get_raw("user:42", "load user");   // a cache.get child of tx
//   }
//   sentry_transaction_finish(tx);
//
// With no parent on the thread, an operation records no span (the original's
// spans outside a transaction are never sent either), unless
// SentryOptions::transaction_without_parent is set: then each such operation
// is a transaction of its own, with the span's op, name and data.
//
// The transaction or span named by a SentryParent must stay unfinished while
// the SentryParent lives.
//
// Thread-safety: one SentryInstrumentation serves every thread; a SentryParent
// belongs to the thread that created it (and must be destroyed there).
#pragma once

#include <memory>
#include <sentry.h>
#include <string_view>

#include <psycache/instrumentation.hpp>

namespace psycache {

struct SentryOptions {
  // Without a SentryParent on the thread: false, no span; true, a transaction
  // per operation.
  bool transaction_without_parent = false;
};

// Makes a transaction or span the parent of the cache spans this thread
// starts while it lives; restores the previous parent when destroyed.
class SentryParent {
 public:
  explicit SentryParent(sentry_transaction_t* transaction) noexcept;
  explicit SentryParent(sentry_span_t* span) noexcept;
  SentryParent(const SentryParent&) = delete;
  SentryParent& operator=(const SentryParent&) = delete;
  SentryParent(SentryParent&&) = delete;
  SentryParent& operator=(SentryParent&&) = delete;
  ~SentryParent();

 private:
  sentry_transaction_t* previous_transaction_;
  sentry_span_t* previous_span_;
};

class SentryInstrumentation final : public CacheInstrumentation {
 public:
  explicit SentryInstrumentation(SentryOptions options = {}) noexcept : options_(options) {}

  std::unique_ptr<CacheSpan> start_cache_get_span(std::string_view key,
                                                  std::string_view span_name) override;
  std::unique_ptr<CacheSpan> start_cache_put_span(std::string_view key,
                                                  std::string_view span_name) override;
  std::unique_ptr<CacheSpan> start_cache_remove_span(std::string_view key) override;
  std::unique_ptr<CacheSpan> start_cache_flush_span() override;
  // No span, as in the original.
  std::unique_ptr<CacheSpan> start_cache_cleanup_span() override;

 private:
  std::unique_ptr<CacheSpan> start(std::string_view op, std::string_view name,
                                   const std::string_view* key) const;

  SentryOptions options_;
};

}  // namespace psycache
