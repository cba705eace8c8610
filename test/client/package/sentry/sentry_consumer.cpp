// Uses the installed psycache::sentry: a cache span under a transaction; needs no server and sends
// nothing (no DSN).
#include <iostream>

#include <psycache/sentry.hpp>

int main() {
  sentry_init(sentry_options_new());
  sentry_transaction_t* transaction = sentry_transaction_start(
      sentry_transaction_context_new("consumer", "test"), sentry_value_new_null());
  bool spanned = false;
  {
    psycache::SentryParent parent{transaction};
    psycache::SentryInstrumentation instrumentation;
    auto span = instrumentation.start_cache_get_span("key", "");
    spanned = span != nullptr;
    if (span) span->record_cache_miss();
  }
  sentry_transaction_finish(transaction);
  sentry_close();
  std::cout << (spanned ? "psycache::sentry works" : "psycache::sentry made no span") << '\n';
  return spanned ? 0 : 1;
}
