// SentryInstrumentation: spans on sentry-native, parented per thread.
#include <cstdint>

#include <psycache/errors.hpp>
#include <psycache/sentry.hpp>

namespace psycache {
namespace {

// This thread's parent: a transaction or a span (at most one is set).
thread_local sentry_transaction_t* current_transaction = nullptr;
thread_local sentry_span_t* current_span = nullptr;

// One cache operation: a child span of the thread's parent, or a transaction
// of its own. Data goes to whichever it is.
class SentrySpan final : public CacheSpan {
 public:
  SentrySpan(sentry_span_t* span, sentry_transaction_t* transaction)
      : span_(span), transaction_(transaction) {}
  SentrySpan(const SentrySpan&) = delete;
  SentrySpan& operator=(const SentrySpan&) = delete;
  SentrySpan(SentrySpan&&) = delete;
  SentrySpan& operator=(SentrySpan&&) = delete;
  ~SentrySpan() override {
    if (span_ != nullptr) sentry_span_finish(span_);
    if (transaction_ != nullptr) (void)sentry_transaction_finish(transaction_);
  }

  void set(const char* key, sentry_value_t value) {
    if (span_ != nullptr) {
      sentry_span_set_data(span_, key, value);
    } else {
      sentry_transaction_set_data(transaction_, key, value);
    }
  }

  void record_cache_hit(std::size_t size) override {
    set("cache.hit", sentry_value_new_bool(1));
    set("cache.item_size", sentry_value_new_int64(static_cast<std::int64_t>(size)));
    set("cache.success", sentry_value_new_bool(1));
  }
  void record_cache_miss() override {
    set("cache.hit", sentry_value_new_bool(0));
    set("cache.success", sentry_value_new_bool(1));
  }
  void record_put(std::size_t size) override {
    set("cache.item_size", sentry_value_new_int64(static_cast<std::int64_t>(size)));
    set("cache.success", sentry_value_new_bool(1));
  }
  void record_removed() override { set("cache.success", sentry_value_new_bool(1)); }
  void record_flush(std::int64_t entries) override {
    set("cache.num_flushed", sentry_value_new_int64(entries));
  }
  void record_error(const Error& /*error*/) override {
    if (span_ != nullptr) {
      sentry_span_set_status(span_, SENTRY_SPAN_STATUS_INTERNAL_ERROR);
    } else {
      sentry_transaction_set_status(transaction_, SENTRY_SPAN_STATUS_INTERNAL_ERROR);
    }
  }

 private:
  sentry_span_t* span_;
  sentry_transaction_t* transaction_;
};

}  // namespace

SentryParent::SentryParent(sentry_transaction_t* transaction) noexcept
    : previous_transaction_(current_transaction), previous_span_(current_span) {
  current_transaction = transaction;
  current_span = nullptr;
}

SentryParent::SentryParent(sentry_span_t* span) noexcept
    : previous_transaction_(current_transaction), previous_span_(current_span) {
  current_transaction = nullptr;
  current_span = span;
}

SentryParent::~SentryParent() {
  current_transaction = previous_transaction_;
  current_span = previous_span_;
}

std::unique_ptr<CacheSpan> SentryInstrumentation::start(std::string_view op, std::string_view name,
                                                        const std::string_view* key) const {
  sentry_span_t* span = nullptr;
  sentry_transaction_t* transaction = nullptr;
  if (current_span != nullptr) {
    span = sentry_span_start_child_n(current_span, op.data(), op.size(), name.data(), name.size());
  } else if (current_transaction != nullptr) {
    span = sentry_transaction_start_child_n(current_transaction, op.data(), op.size(), name.data(),
                                            name.size());
  } else if (options_.transaction_without_parent) {
    sentry_transaction_context_t* context =
        sentry_transaction_context_new_n(name.data(), name.size(), op.data(), op.size());
    transaction = sentry_transaction_start(context, sentry_value_new_null());
  }
  // sentry-native returns null when it does not trace (not initialized,
  // sampled out, too many spans): nothing to record then.
  if (span == nullptr && transaction == nullptr) return nullptr;
  auto result = std::make_unique<SentrySpan>(span, transaction);
  if (key != nullptr) {
    sentry_value_t keys = sentry_value_new_list();
    sentry_value_append(keys, sentry_value_new_string_n(key->data(), key->size()));
    result->set("cache.key", keys);
  }
  return result;
}

std::unique_ptr<CacheSpan> SentryInstrumentation::start_cache_get_span(std::string_view key,
                                                                       std::string_view span_name) {
  return start("cache.get", span_name.empty() ? "psycache get" : span_name, &key);
}

std::unique_ptr<CacheSpan> SentryInstrumentation::start_cache_put_span(std::string_view key,
                                                                       std::string_view span_name) {
  return start("cache.put", span_name.empty() ? "psycache put" : span_name, &key);
}

std::unique_ptr<CacheSpan> SentryInstrumentation::start_cache_remove_span(std::string_view key) {
  return start("cache.remove", "psycache remove", &key);
}

std::unique_ptr<CacheSpan> SentryInstrumentation::start_cache_flush_span() {
  return start("cache.flush", "psycache flush", nullptr);
}

std::unique_ptr<CacheSpan> SentryInstrumentation::start_cache_cleanup_span() { return nullptr; }

}  // namespace psycache
