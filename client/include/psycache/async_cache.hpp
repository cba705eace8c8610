// AsyncPostgresCache: the cache of PostgresCache, as Asio asynchronous
// operations.
//
//   asio::io_context io;
//   psycache::AsyncConnectionPool pool{io.get_executor(), dsn};
//   psycache::AsyncPostgresCache cache{pool};
//   asio::co_spawn(io, [&]() -> asio::awaitable<void> {
//     co_await cache.async_put_raw("user:42", {{"name", "Ada"}}, 600, asio::use_awaitable);
//     std::optional<nlohmann::json> user =
//         co_await cache.async_get_raw("user:42", asio::use_awaitable);
//   }, asio::detached);
//   io.run();
//
// The same operations as PostgresCache (same statements, same validation, same
// error types and messages, same instrumentation spans), in Asio's
// completion-token style: the last argument is a completion token, e.g.
// asio::use_awaitable (co_await), asio::use_future, asio::experimental::deferred (the
// default) or a plain callback.
//
// Handler signatures (the first argument is null on success):
//   async_get_raw            void(std::exception_ptr, std::optional<nlohmann::json>)
//   async_get<T>             void(std::exception_ptr, std::optional<T>)
//   async_put_raw, async_put void(std::exception_ptr)
//   async_remove             void(std::exception_ptr, bool)
//   async_cleanup_expired    void(std::exception_ptr, std::int64_t)
//   async_flush              void(std::exception_ptr, std::int64_t)
//   async_get_many_raw       void(std::exception_ptr, std::vector<std::optional<nlohmann::json>>)
//   async_get_many<T>        void(std::exception_ptr, std::vector<std::optional<T>>)
//   async_put_many_raw, async_put_many<T>
//                            void(std::exception_ptr)
//   async_remove_many        void(std::exception_ptr, std::int64_t)
//   async_add_raw, async_add<T>, async_touch
//                            void(std::exception_ptr, bool)
//   async_ttl                void(std::exception_ptr, std::optional<std::chrono::microseconds>)
//   async_incr               void(std::exception_ptr, std::int64_t)
//   async_stats              void(std::exception_ptr, CacheStats)
// With use_awaitable the error is thrown from co_await, with use_future from
// future::get(). It is a psycache::Error (errors.hpp): InvalidArgument,
// ConnectionError, TimeoutError (acquire or operation timeout of the pool),
// ServerError, ConversionError, or OperationCancelled. On error the other
// arguments are default-constructed.
//
// Fail-open (CacheOptions::fail_open), as in PostgresCache: when
// async_get_raw/async_get or async_put_raw/async_put fail with a
// ConnectionError (TimeoutError included: acquire_timeout, operation_timeout,
// connect_timeout), the handler gets no error and a miss (std::nullopt), or
// success for a put; the error still goes to every span's record_error. Other
// errors (InvalidArgument, ServerError, ConversionError, OperationCancelled)
// arrive as always. As in PostgresCache, the batches (async_get_many*,
// async_put_many*), remove, add, touch, ttl, incr, cleanup, flush and stats
// never fail open: a batch answers for many keys, and a remove or an add that
// silently did nothing could leave a stale entry or a wrong answer behind.
//
// Executor: the handler runs on its associated executor (for a callback
// without one: the pool's executor), always after the initiating function
// has returned. The work itself runs on the pool's executor.
//
// Lifetimes: arguments are copied at initiation (with asio::deferred: when the
// deferred operation is launched); key, value and span_name need not outlive
// the call. Spans start at initiation and end before the handler runs. The
// pool, when passed by reference, must outlive the cache and every
// operation in progress; copies of a cache share its state.
//
// Cancellation: every operation supports per-operation cancellation through
// the handler's associated cancellation slot (any cancellation type), e.g.
// asio::bind_cancellation_slot, or an awaitable operator that races it with a
// timer. A cancelled operation completes at once with OperationCancelled; if
// its query was already sent, the pool asks the server to cancel it and
// returns the connection to use only once it is idle again (or closes it).
// A put or remove that was already sent may still have taken effect. A put
// sent in a batch with others (see async_connection_pool.hpp) completes at
// once too, but the batch goes on for the others, so it may take effect; the
// batch is cancelled on the server once every put of it is cancelled.
// AsyncPoolOptions::operation_timeout ends an operation the same way, with
// TimeoutError.
//
// Thread-safety: the operations may be initiated from any thread; the cache
// is immutable after construction.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/post.hpp>
#include <nlohmann/json.hpp>

#include <psycache/async_cleanup_service.hpp>
#include <psycache/async_pool.hpp>
#include <psycache/cache.hpp>
#include <psycache/errors.hpp>
#include <psycache/options.hpp>
#include <psycache/ttl.hpp>

namespace psycache {

namespace detail {
class AsyncCacheCore;

// A caller's completion handler with signature void(std::exception_ptr,
// Results...), behind a virtual call.
template <class... Results>
class AsyncCompletion {
 public:
  AsyncCompletion() = default;
  AsyncCompletion(const AsyncCompletion&) = delete;
  AsyncCompletion& operator=(const AsyncCompletion&) = delete;
  AsyncCompletion(AsyncCompletion&&) = delete;
  AsyncCompletion& operator=(AsyncCompletion&&) = delete;
  virtual ~AsyncCompletion() = default;

  // Posts the handler with the outcome to its associated executor. Once.
  virtual void complete(std::exception_ptr error, Results... results) = 0;
  // The handler's cancellation slot; may be unconnected.
  virtual asio::cancellation_slot cancellation_slot() const noexcept = 0;
};

template <class Handler, class... Results>
class AsyncCompletionFor final : public AsyncCompletion<Results...> {
 public:
  AsyncCompletionFor(Handler handler, const asio::any_io_executor& fallback)
      : handler_(std::move(handler)), work_(asio::get_associated_executor(handler_, fallback)) {}

  void complete(std::exception_ptr error, Results... results) override {
    asio::get_associated_cancellation_slot(handler_).clear();
    auto executor = work_.get_executor();
    asio::post(executor, [handler = std::move(handler_), error = std::move(error),
                          ... results = std::move(results)]() mutable {
      std::move(handler)(std::move(error), std::move(results)...);
    });
    work_.reset();
  }

  asio::cancellation_slot cancellation_slot() const noexcept override {
    return asio::get_associated_cancellation_slot(handler_);
  }

 private:
  Handler handler_;
  asio::executor_work_guard<asio::associated_executor_t<Handler, asio::any_io_executor>> work_;
};

template <class Handler, class... Results>
std::unique_ptr<AsyncCompletion<Results...>> make_completion(
    Handler handler, const asio::any_io_executor& fallback) {
  return std::make_unique<AsyncCompletionFor<Handler, Results...>>(std::move(handler), fallback);
}

// A completion token that is not a string (so span_name may be left out).
template <class Token>
concept NotSpanName = !std::convertible_to<Token, std::string_view>;
}  // namespace detail

class AsyncPostgresCache {
 public:
  using executor_type = asio::any_io_executor;

  // A cache on a pool the caller keeps alive for as long as the cache (and
  // its copies, operations and cleanup services) exist. Throws
  // InvalidArgument for bad options (see options.hpp).
  template <AsyncCachePool Pool>
  explicit AsyncPostgresCache(Pool& pool, CacheOptions options = {})
      : AsyncPostgresCache(std::make_unique<detail::AsyncPoolHandleFor<Pool, Pool*>>(&pool),
                           std::move(options)) {}

  // A cache that shares ownership of the pool. Throws InvalidArgument if
  // pool is null.
  template <AsyncCachePool Pool>
  explicit AsyncPostgresCache(std::shared_ptr<Pool> pool, CacheOptions options = {})
      : AsyncPostgresCache(make_shared_pool_handle(std::move(pool)), std::move(options)) {}

  // The pool's executor.
  [[nodiscard]] executor_type get_executor() const noexcept;
  [[nodiscard]] const CacheOptions& options() const noexcept;

  // The value stored under key, or std::nullopt (see PostgresCache::get_raw).
  // Signature: void(std::exception_ptr, std::optional<nlohmann::json>).
  template <class Token = asio::experimental::deferred_t>
  auto async_get_raw(std::string_view key, std::string_view span_name, Token&& token = {}) {
    return asio::async_initiate<Token, void(std::exception_ptr, std::optional<nlohmann::json>)>(
        [core = core_](auto handler, std::string&& k, const std::string& span) {
          start_get(core, std::move(k), span,
                    detail::make_completion<decltype(handler), std::optional<nlohmann::json>>(
                        std::move(handler), executor_of(core)));
        },
        token, std::string{key}, std::string{span_name});
  }
  template <detail::NotSpanName Token = asio::experimental::deferred_t>
  auto async_get_raw(std::string_view key, Token&& token = {}) {
    return async_get_raw(key, std::string_view{}, std::forward<Token>(token));
  }

  // Stores value under key for ttl (see PostgresCache::put_raw). value is
  // taken by value: move a large one in.
  // Signature: void(std::exception_ptr).
  template <class Token = asio::experimental::deferred_t>
  auto async_put_raw(std::string_view key, nlohmann::json value, Ttl ttl,
                     std::string_view span_name, Token&& token = {}) {
    return asio::async_initiate<Token, void(std::exception_ptr)>(
        [core = core_](auto handler, std::string&& k, const nlohmann::json& v, Ttl t,
                       const std::string& span) {
          start_put(
              core, std::move(k), std::move(v), t, std::move(span), nullptr,
              detail::make_completion<decltype(handler)>(std::move(handler), executor_of(core)));
        },
        token, std::string{key}, std::move(value), ttl, std::string{span_name});
  }
  template <detail::NotSpanName Token = asio::experimental::deferred_t>
  auto async_put_raw(std::string_view key, nlohmann::json value, Ttl ttl, Token&& token = {}) {
    return async_put_raw(key, std::move(value), ttl, std::string_view{},
                         std::forward<Token>(token));
  }

  // Removes key; true if a live entry was removed (see PostgresCache::remove).
  // Signature: void(std::exception_ptr, bool).
  template <class Token = asio::experimental::deferred_t>
  auto async_remove(std::string_view key, Token&& token = {}) {
    return asio::async_initiate<Token, void(std::exception_ptr, bool)>(
        [core = core_](auto handler, std::string&& k) {
          start_remove(core, std::move(k),
                       detail::make_completion<decltype(handler), bool>(std::move(handler),
                                                                        executor_of(core)));
        },
        token, std::string{key});
  }

  // Deletes the expired entries. Signature: void(std::exception_ptr, std::int64_t).
  template <class Token = asio::experimental::deferred_t>
  auto async_cleanup_expired(Token&& token = {}) {
    return asio::async_initiate<Token, void(std::exception_ptr, std::int64_t)>(
        [core = core_](auto handler) {
          start_delete(core, false,
                       detail::make_completion<decltype(handler), std::int64_t>(std::move(handler),
                                                                                executor_of(core)));
        },
        token);
  }

  // Deletes every entry. Signature: void(std::exception_ptr, std::int64_t).
  template <class Token = asio::experimental::deferred_t>
  auto async_flush(Token&& token = {}) {
    return asio::async_initiate<Token, void(std::exception_ptr, std::int64_t)>(
        [core = core_](auto handler) {
          start_delete(core, true,
                       detail::make_completion<decltype(handler), std::int64_t>(std::move(handler),
                                                                                executor_of(core)));
        },
        token);
  }

  // The value stored under key converted to T (see PostgresCache::get).
  // Signature: void(std::exception_ptr, std::optional<T>); ConversionError
  // when the stored JSON does not convert to T.
  template <class T, class Token = asio::experimental::deferred_t>
  auto async_get(std::string_view key, std::string_view span_name, Token&& token = {}) {
    return asio::async_initiate<Token, void(std::exception_ptr, std::optional<T>)>(
        [this_cache = *this](auto handler, std::string k, std::string span) mutable {
          const auto executor = asio::get_associated_executor(handler, this_cache.get_executor());
          const auto slot = asio::get_associated_cancellation_slot(handler);
          this_cache.async_get_raw(
              k, span,
              asio::bind_cancellation_slot(
                  slot,
                  asio::bind_executor(executor, [handler = std::move(handler), k](
                                                    std::exception_ptr error,
                                                    std::optional<nlohmann::json> raw) mutable {
                    std::optional<T> typed;
                    if (!error && raw) {
                      try {
                        typed.emplace(raw->template get<T>());
                      } catch (const nlohmann::json::exception& e) {
                        error = conversion_error(k, typeid(T), true, e.what());
                      }
                    }
                    std::move(handler)(std::move(error), std::move(typed));
                  })));
        },
        token, std::string{key}, std::string{span_name});
  }
  template <class T, detail::NotSpanName Token = asio::experimental::deferred_t>
  auto async_get(std::string_view key, Token&& token = {}) {
    return async_get<T>(key, std::string_view{}, std::forward<Token>(token));
  }

  // Stores value converted to JSON (see PostgresCache::put); the conversion
  // happens in this call. Signature: void(std::exception_ptr);
  // ConversionError when the conversion to JSON fails (nothing is sent).
  template <class T, class Token = asio::experimental::deferred_t>
  auto async_put(std::string_view key, const T& value, Ttl ttl, std::string_view span_name,
                 Token&& token = {}) {
    nlohmann::json json;
    std::exception_ptr error;
    try {
      json = value;
    } catch (const nlohmann::json::exception& e) {
      error = conversion_error(key, typeid(T), false, e.what());
    }
    return asio::async_initiate<Token, void(std::exception_ptr)>(
        [core = core_](auto handler, std::string&& k, const nlohmann::json& v, Ttl t,
                       const std::string& span, const std::exception_ptr& failure) {
          start_put(
              core, std::move(k), std::move(v), t, std::move(span), std::move(failure),
              detail::make_completion<decltype(handler)>(std::move(handler), executor_of(core)));
        },
        token, std::string{key}, std::move(json), ttl, std::string{span_name}, std::move(error));
  }
  template <class T, detail::NotSpanName Token = asio::experimental::deferred_t>
  auto async_put(std::string_view key, const T& value, Ttl ttl, Token&& token = {}) {
    return async_put<T>(key, value, ttl, std::string_view{}, std::forward<Token>(token));
  }

  // --- Extension 1.1: batches, add, touch, ttl, incr; and stats ------------
  //
  // The twins of PostgresCache's operations of the same names: the same
  // statements (one prepared call each), validation, errors and spans. A
  // server whose extension is older than 1.1 refuses them as PostgresCache
  // sees it refused: ServerError, SQLSTATE 42883, naming the function and
  // ALTER EXTENSION psycache UPDATE.

  // The values stored under keys, in the order of keys: element i answers
  // keys[i] (see PostgresCache::get_many_raw). An empty batch completes
  // without a round trip. keys is taken by value: move a large batch in.
  // Signature: void(std::exception_ptr, std::vector<std::optional<nlohmann::json>>).
  template <class Token = asio::experimental::deferred_t>
  auto async_get_many_raw(std::vector<std::string> keys, std::string_view span_name,
                          Token&& token = {}) {
    return asio::async_initiate<Token, void(std::exception_ptr, ManyValues)>(
        [core = core_](auto handler, std::vector<std::string> k, const std::string& span) {
          start_get_many(core, std::move(k), span,
                         detail::make_completion<decltype(handler), ManyValues>(std::move(handler),
                                                                                executor_of(core)));
        },
        token, std::move(keys), std::string{span_name});
  }
  template <detail::NotSpanName Token = asio::experimental::deferred_t>
  auto async_get_many_raw(std::vector<std::string> keys, Token&& token = {}) {
    return async_get_many_raw(std::move(keys), std::string_view{}, std::forward<Token>(token));
  }

  // Stores each value under its key for ttl, in one statement (see
  // PostgresCache::put_many_raw); a key given twice keeps its last value. A
  // bad key or value anywhere refuses the whole batch (nothing is sent).
  // Signature: void(std::exception_ptr).
  template <class Token = asio::experimental::deferred_t>
  auto async_put_many_raw(std::vector<std::pair<std::string, nlohmann::json>> entries, Ttl ttl,
                          std::string_view span_name, Token&& token = {}) {
    return asio::async_initiate<Token, void(std::exception_ptr)>(
        [core = core_](auto handler, std::vector<std::pair<std::string, nlohmann::json>> e, Ttl t,
                       const std::string& span) {
          start_put_many(
              core, std::move(e), t, span, nullptr,
              detail::make_completion<decltype(handler)>(std::move(handler), executor_of(core)));
        },
        token, std::move(entries), ttl, std::string{span_name});
  }
  template <detail::NotSpanName Token = asio::experimental::deferred_t>
  auto async_put_many_raw(std::vector<std::pair<std::string, nlohmann::json>> entries, Ttl ttl,
                          Token&& token = {}) {
    return async_put_many_raw(std::move(entries), ttl, std::string_view{},
                              std::forward<Token>(token));
  }

  // Removes keys; how many live entries were removed (see
  // PostgresCache::remove_many). Signature: void(std::exception_ptr, std::int64_t).
  template <class Token = asio::experimental::deferred_t>
  auto async_remove_many(std::vector<std::string> keys, Token&& token = {}) {
    return asio::async_initiate<Token, void(std::exception_ptr, std::int64_t)>(
        [core = core_](auto handler, std::vector<std::string> k) {
          start_remove_many(core, std::move(k),
                            detail::make_completion<decltype(handler), std::int64_t>(
                                std::move(handler), executor_of(core)));
        },
        token, std::move(keys));
  }

  // The values under keys converted to T, in the order of keys (see
  // PostgresCache::get_many). Signature: void(std::exception_ptr,
  // std::vector<std::optional<T>>); ConversionError, naming the key, when one
  // does not convert.
  template <class T, class Token = asio::experimental::deferred_t>
  auto async_get_many(std::vector<std::string> keys, std::string_view span_name,
                      Token&& token = {}) {
    return asio::async_initiate<Token, void(std::exception_ptr, std::vector<std::optional<T>>)>(
        [this_cache = *this](auto handler, std::vector<std::string> k, std::string span) mutable {
          const auto executor = asio::get_associated_executor(handler, this_cache.get_executor());
          const auto slot = asio::get_associated_cancellation_slot(handler);
          std::vector<std::string> names = k;  // for the message of a failed conversion
          this_cache.async_get_many_raw(
              std::move(k), span,
              asio::bind_cancellation_slot(
                  slot, asio::bind_executor(
                            executor, [handler = std::move(handler), names = std::move(names)](
                                          std::exception_ptr error, ManyValues raw) mutable {
                              std::vector<std::optional<T>> typed;
                              if (!error) {
                                typed.reserve(raw.size());
                                for (std::size_t i = 0; i < raw.size(); ++i) {
                                  if (!raw[i]) {
                                    typed.emplace_back();
                                    continue;
                                  }
                                  try {
                                    typed.emplace_back(raw[i]->template get<T>());
                                  } catch (const nlohmann::json::exception& e) {
                                    error = conversion_error(names[i], typeid(T), true, e.what());
                                    typed.clear();
                                    break;
                                  }
                                }
                              }
                              std::move(handler)(std::move(error), std::move(typed));
                            })));
        },
        token, std::move(keys), std::string{span_name});
  }
  template <class T, detail::NotSpanName Token = asio::experimental::deferred_t>
  auto async_get_many(std::vector<std::string> keys, Token&& token = {}) {
    return async_get_many<T>(std::move(keys), std::string_view{}, std::forward<Token>(token));
  }

  // Stores each value converted to JSON (see PostgresCache::put_many); the
  // conversions happen in this call. Signature: void(std::exception_ptr);
  // ConversionError, naming the key, when one fails (nothing is sent).
  template <class T, class Token = asio::experimental::deferred_t>
  auto async_put_many(const std::vector<std::pair<std::string, T>>& entries, Ttl ttl,
                      std::string_view span_name, Token&& token = {}) {
    std::vector<std::pair<std::string, nlohmann::json>> json;
    std::exception_ptr error;
    json.reserve(entries.size());
    for (const auto& [key, value] : entries) {
      try {
        json.emplace_back(key, value);
      } catch (const nlohmann::json::exception& e) {
        error = conversion_error(key, typeid(T), false, e.what());
        break;
      }
    }
    return asio::async_initiate<Token, void(std::exception_ptr)>(
        [core = core_](auto handler, std::vector<std::pair<std::string, nlohmann::json>> e, Ttl t,
                       const std::string& span, const std::exception_ptr& failure) {
          start_put_many(
              core, std::move(e), t, span, failure,
              detail::make_completion<decltype(handler)>(std::move(handler), executor_of(core)));
        },
        token, std::move(json), ttl, std::string{span_name}, std::move(error));
  }
  template <class T, detail::NotSpanName Token = asio::experimental::deferred_t>
  auto async_put_many(const std::vector<std::pair<std::string, T>>& entries, Ttl ttl,
                      Token&& token = {}) {
    return async_put_many<T>(entries, ttl, std::string_view{}, std::forward<Token>(token));
  }

  // Stores value under key for ttl only if the key is missing or expired;
  // whether it stored (see PostgresCache::add_raw): of concurrent adds of one
  // key exactly one stores. Not instrumented, as add_raw.
  // Signature: void(std::exception_ptr, bool).
  template <class Token = asio::experimental::deferred_t>
  auto async_add_raw(std::string_view key, nlohmann::json value, Ttl ttl, Token&& token = {}) {
    return asio::async_initiate<Token, void(std::exception_ptr, bool)>(
        [core = core_](auto handler, std::string k, const nlohmann::json& v, Ttl t) {
          start_add(core, std::move(k), v, t, nullptr,
                    detail::make_completion<decltype(handler), bool>(std::move(handler),
                                                                     executor_of(core)));
        },
        token, std::string{key}, std::move(value), ttl);
  }

  // async_add_raw with value converted to JSON in this call.
  // Signature: void(std::exception_ptr, bool); ConversionError when the
  // conversion fails (nothing is sent).
  template <class T, class Token = asio::experimental::deferred_t>
  auto async_add(std::string_view key, const T& value, Ttl ttl, Token&& token = {}) {
    nlohmann::json json;
    std::exception_ptr error;
    try {
      json = value;
    } catch (const nlohmann::json::exception& e) {
      error = conversion_error(key, typeid(T), false, e.what());
    }
    return asio::async_initiate<Token, void(std::exception_ptr, bool)>(
        [core = core_](auto handler, std::string k, const nlohmann::json& v, Ttl t,
                       const std::exception_ptr& failure) {
          start_add(core, std::move(k), v, t, failure,
                    detail::make_completion<decltype(handler), bool>(std::move(handler),
                                                                     executor_of(core)));
        },
        token, std::string{key}, std::move(json), ttl, std::move(error));
  }

  // Makes a live key expire ttl from now, keeping its value; whether the key
  // was live (see PostgresCache::touch). Signature: void(std::exception_ptr, bool).
  template <class Token = asio::experimental::deferred_t>
  auto async_touch(std::string_view key, Ttl ttl, Token&& token = {}) {
    return asio::async_initiate<Token, void(std::exception_ptr, bool)>(
        [core = core_](auto handler, std::string k, Ttl t) {
          start_touch(core, std::move(k), t,
                      detail::make_completion<decltype(handler), bool>(std::move(handler),
                                                                       executor_of(core)));
        },
        token, std::string{key}, ttl);
  }

  // The time key has left, in microseconds, or std::nullopt when it is
  // missing or expired (see PostgresCache::ttl).
  // Signature: void(std::exception_ptr, std::optional<std::chrono::microseconds>).
  template <class Token = asio::experimental::deferred_t>
  auto async_ttl(std::string_view key, Token&& token = {}) {
    return asio::async_initiate<Token,
                                void(std::exception_ptr, std::optional<std::chrono::microseconds>)>(
        [core = core_](auto handler, std::string k) {
          start_ttl(
              core, std::move(k),
              detail::make_completion<decltype(handler), std::optional<std::chrono::microseconds>>(
                  std::move(handler), executor_of(core)));
        },
        token, std::string{key});
  }

  // Adds delta to the counter under key and gives its new value, atomically
  // (see PostgresCache::incr): a missing or expired key starts at delta and
  // expires after ttl, a live one keeps its expiry. InvalidArgument when the
  // stored value is not a JSON integer (22023) or the sum leaves the range of
  // std::int64_t (22003). Signature: void(std::exception_ptr, std::int64_t).
  template <class Token = asio::experimental::deferred_t>
  auto async_incr(std::string_view key, std::int64_t delta, Ttl ttl, Token&& token = {}) {
    return asio::async_initiate<Token, void(std::exception_ptr, std::int64_t)>(
        [core = core_](auto handler, std::string k, std::int64_t d, Ttl t) {
          start_incr(core, std::move(k), d, t,
                     detail::make_completion<decltype(handler), std::int64_t>(std::move(handler),
                                                                              executor_of(core)));
        },
        token, std::string{key}, delta, ttl);
  }

  // Counts of the cache table (see PostgresCache::stats; not instrumented).
  // Signature: void(std::exception_ptr, CacheStats).
  template <class Token = asio::experimental::deferred_t>
  auto async_stats(Token&& token = {}) {
    return asio::async_initiate<Token, void(std::exception_ptr, CacheStats)>(
        [core = core_](auto handler) {
          start_stats(core, detail::make_completion<decltype(handler), CacheStats>(
                                std::move(handler), executor_of(core)));
        },
        token);
  }

  // Starts a task on the pool's executor that runs async_cleanup_expired now
  // and then every interval, until the service is stopped or its io_context
  // stops. on_error receives the error of a failed pass (on the executor).
  // Throws InvalidArgument for an interval that is not positive and finite,
  // or longer than a century.
  template <class Rep, class Period>
  [[nodiscard]] AsyncCleanupService start_cleanup_task(
      std::chrono::duration<Rep, Period> interval,
      CleanupErrorHandler on_error = {}) {  // NOLINT(performance-unnecessary-value-param): moved
    return start_cleanup(detail::to_cleanup_interval(interval), std::move(on_error));
  }

 private:
  explicit AsyncPostgresCache(std::unique_ptr<detail::AsyncPoolHandle> pool, CacheOptions options);

  template <AsyncCachePool Pool>
  static std::unique_ptr<detail::AsyncPoolHandle> make_shared_pool_handle(
      std::shared_ptr<Pool> pool) {
    if (!pool) throw_null_pool();
    return std::make_unique<detail::AsyncPoolHandleFor<Pool, std::shared_ptr<Pool>>>(
        std::move(pool));
  }
  [[noreturn]] static void throw_null_pool();

  using Core = std::shared_ptr<const detail::AsyncCacheCore>;
  static asio::any_io_executor executor_of(const Core& core) noexcept;
  static std::exception_ptr conversion_error(std::string_view key, const std::type_info& type,
                                             bool from_json, const char* reason) noexcept;
  static void start_get(
      const Core& core, std::string&& key, std::string_view span_name,
      std::unique_ptr<detail::AsyncCompletion<std::optional<nlohmann::json>>> completion);
  // failure: a conversion error of the typed layer, reported without sending.
  static void start_put(const Core& core, std::string&& key, const nlohmann::json& value, Ttl ttl,
                        std::string_view span_name, const std::exception_ptr& failure,
                        std::unique_ptr<detail::AsyncCompletion<>> completion);
  static void start_remove(const Core& core, std::string&& key,
                           std::unique_ptr<detail::AsyncCompletion<bool>> completion);
  static void start_delete(const Core& core, bool flush,
                           std::unique_ptr<detail::AsyncCompletion<std::int64_t>> completion);

  using ManyValues = std::vector<std::optional<nlohmann::json>>;
  static void start_get_many(const Core& core, std::vector<std::string>&& keys,
                             std::string_view span_name,
                             std::unique_ptr<detail::AsyncCompletion<ManyValues>> completion);
  // failure: a conversion error of the typed layer, reported without sending.
  static void start_put_many(const Core& core,
                             std::vector<std::pair<std::string, nlohmann::json>>&& entries, Ttl ttl,
                             std::string_view span_name, const std::exception_ptr& failure,
                             std::unique_ptr<detail::AsyncCompletion<>> completion);
  static void start_remove_many(const Core& core, std::vector<std::string>&& keys,
                                std::unique_ptr<detail::AsyncCompletion<std::int64_t>> completion);
  static void start_add(const Core& core, std::string&& key, const nlohmann::json& value, Ttl ttl,
                        const std::exception_ptr& failure,
                        std::unique_ptr<detail::AsyncCompletion<bool>> completion);
  static void start_touch(const Core& core, std::string&& key, Ttl ttl,
                          std::unique_ptr<detail::AsyncCompletion<bool>> completion);
  static void start_ttl(
      const Core& core, std::string&& key,
      std::unique_ptr<detail::AsyncCompletion<std::optional<std::chrono::microseconds>>>
          completion);
  static void start_incr(const Core& core, std::string&& key, std::int64_t delta, Ttl ttl,
                         std::unique_ptr<detail::AsyncCompletion<std::int64_t>> completion);
  static void start_stats(const Core& core,
                          std::unique_ptr<detail::AsyncCompletion<CacheStats>> completion);

  AsyncCleanupService start_cleanup(std::chrono::nanoseconds interval,
                                    CleanupErrorHandler on_error);

  Core core_;
};

}  // namespace psycache
