// sentry-native for the benchmarks: the SDK as a service runs it (every transaction sampled),
// with a transport that drops the envelopes, so that the SDK's whole client-side work is
// measured and nothing leaves the machine. Only built where psycache_sentry is
// (PSYCACHE_BENCH_SENTRY).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include <psycache/sentry.hpp>

namespace psycache::bench {

// sentry_init on construction, sentry_close and its database folder removed on destruction.
class SentrySdk {
 public:
  SentrySdk() {
    std::string folder = (std::filesystem::temp_directory_path() / "psycache-bench-sentry.XXXXXX");
    if (::mkdtemp(folder.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    database_ = folder;
    sentry_options_t* options = sentry_options_new();
    // Never contacted: the transport below drops every envelope.
    sentry_options_set_dsn(options, "https://public@127.0.0.1:9/42");
    sentry_options_set_database_path(options, database_.c_str());
    sentry_options_set_traces_sample_rate(options, 1.0);
    sentry_options_set_auto_session_tracking(options, 0);
    sentry_options_set_transport(options, sentry_transport_new(&drop));
    if (sentry_init(options) != 0) throw std::runtime_error("sentry_init failed");
  }
  SentrySdk(const SentrySdk&) = delete;
  SentrySdk& operator=(const SentrySdk&) = delete;
  SentrySdk(SentrySdk&&) = delete;
  SentrySdk& operator=(SentrySdk&&) = delete;
  ~SentrySdk() {
    sentry_close();
    std::error_code ignored;
    std::filesystem::remove_all(database_, ignored);
  }

 private:
  static void drop(sentry_envelope_t* envelope, void* /*state*/) { sentry_envelope_free(envelope); }

  std::filesystem::path database_;
};

// What a request handler does around its cache calls: a transaction per request, the parent of
// the cache spans of that thread. Around each operation: before() starts a transaction when none
// is open, after() finishes (and so sends) it after kOperationsPerRequest operations.
class SentryRequests {
 public:
  static constexpr int kOperationsPerRequest = 10;

  SentryRequests() = default;
  SentryRequests(const SentryRequests&) = delete;
  SentryRequests& operator=(const SentryRequests&) = delete;
  SentryRequests(SentryRequests&&) = delete;
  SentryRequests& operator=(SentryRequests&&) = delete;
  ~SentryRequests() { finish(); }

  void before() {
    if (transaction_ != nullptr) return;
    transaction_ = sentry_transaction_start(
        sentry_transaction_context_new("GET /bench", "http.server"), sentry_value_new_null());
    parent_ = std::make_unique<SentryParent>(transaction_);
  }

  void after() {
    if (++operations_ == kOperationsPerRequest) finish();
  }

  void finish() {
    if (transaction_ == nullptr) return;
    parent_.reset();
    (void)sentry_transaction_finish(transaction_);
    transaction_ = nullptr;
    operations_ = 0;
  }

 private:
  sentry_transaction_t* transaction_ = nullptr;
  std::unique_ptr<SentryParent> parent_;
  int operations_ = 0;
};

}  // namespace psycache::bench
