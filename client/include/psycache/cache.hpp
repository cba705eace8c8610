// PostgresCache: the cache of JSON documents with a time-to-live.
//
//   psycache::ConnectionPool pool{dsn};
//   psycache::PostgresCache cache{pool};
//   cache.put_raw("user:42", {{"name", "Ada"}}, std::chrono::minutes{10});
//   std::optional<nlohmann::json> user = cache.get_raw("user:42");
//
// Each operation is one call of the psycache extension's SQL function (in the
// schema CacheOptions::schema), sent as a prepared statement over one leased
// connection: one round trip. libpqxx sends the PREPARE with the first use of
// a statement on a connection, and again after it reconnected. Expiry is
// computed by the server (statement_timestamp() + ttl), so client clocks do
// not matter; a get never returns an expired entry, even before cleanup.
//
// Keys are text: valid UTF-8 without NUL bytes, at most 2048 bytes (the
// server's limit); the empty key is allowed. Values are any JSON document;
// the server stores them as jsonb, which normalizes them (see README, "What
// jsonb does to your JSON").
//
// The typed layer, get<T> and put<T>, converts with nlohmann_json: T needs
// to_json/from_json, e.g. via NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE. A stored
// value that does not convert to T throws ConversionError (naming the key, the
// type and nlohmann_json's reason) and is left in the cache; remove it or
// overwrite it to move on.
//
// Errors (see errors.hpp): InvalidArgument for a bad key, TTL or value
// (nothing is sent), ConnectionError/TimeoutError when no connection could be
// had, it broke (the pool replaces it; retrying may succeed) or a timeout
// fired (TimeoutError; see PoolOptions and CacheOptions::operation_timeout;
// with CacheOptions::fail_open, get and put swallow these), ServerError
// for other refusals, e.g. the extension missing from the schema (the message
// says so), ConversionError in the typed layer. Exceptions thrown by a
// user-written pool or instrumentation propagate unchanged.
//
// Thread-safety: all member functions may be called concurrently from any
// number of threads, as far as the pool allows. Copies share the pool and the
// options; a moved-from cache may only be assigned to or destroyed. The pool,
// when passed by reference, must outlive the cache, its copies and its
// CleanupServices.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <psycache/cleanup_service.hpp>
#include <psycache/errors.hpp>
#include <psycache/options.hpp>
#include <psycache/pool.hpp>
#include <psycache/ttl.hpp>

namespace psycache {

// A summary of the cache table, from the extension's psycache_stats().
struct CacheStats {
  std::int64_t entries = 0;          // rows in the table, expired or not
  std::int64_t expired_entries = 0;  // rows past their expiry, not yet cleaned up
  std::int64_t total_bytes = 0;      // size of the table and its indexes on disk
};

namespace detail {
class CacheCore;

// Throws ConversionError for key and the C++ type, with nlohmann_json's reason.
[[noreturn]] void throw_conversion_error(std::string_view key, const std::type_info& type,
                                         bool from_json, const char* reason);
// Throws InvalidArgument for a cleanup interval with the problem.
[[noreturn]] void throw_bad_interval(const char* problem);

// interval for start_cleanup_thread, unless it is not finite, not positive or
// longer than about a century.
template <class Rep, class Period>
std::chrono::nanoseconds to_cleanup_interval(std::chrono::duration<Rep, Period> interval) {
  const long double seconds =
      static_cast<long double>(interval.count()) * Period::num / Period::den;
  if (!std::isfinite(seconds)) throw_bad_interval("is not finite");
  if (seconds <= 0) throw_bad_interval("must be positive");
  if (seconds > 100.0L * 366 * 24 * 3600) throw_bad_interval("is longer than a century");
  return std::chrono::nanoseconds{static_cast<std::int64_t>(seconds * 1e9L)};
}
}  // namespace detail

class PostgresCache {
 public:
  // A cache on a pool the caller keeps alive for as long as the cache (and
  // its copies and cleanup services) exist.
  template <CachePool Pool>
  explicit PostgresCache(Pool& pool, CacheOptions options = {})
      : PostgresCache(std::make_unique<detail::PoolHandleFor<Pool, Pool*>>(&pool),
                      std::move(options)) {}

  // A cache that shares ownership of the pool. Throws InvalidArgument if
  // pool is null.
  template <CachePool Pool>
  explicit PostgresCache(std::shared_ptr<Pool> pool, CacheOptions options = {})
      : PostgresCache(make_shared_pool_handle(std::move(pool)), std::move(options)) {}

  // The value stored under key, or std::nullopt if there is none or it has
  // expired. span_name is passed to the instrumentations. Throws
  // ConversionError if nlohmann::json cannot hold the stored document (a
  // number beyond the range of double, stored by another client).
  std::optional<nlohmann::json> get_raw(std::string_view key, std::string_view span_name = {});

  // Stores value under key for ttl, replacing any value and expiry the key
  // had. A value containing NaN or an infinity, or a string with a NUL
  // character (which jsonb cannot store), or one larger than
  // CacheOptions::max_value_bytes is refused with InvalidArgument, and so is
  // one nested more than 10000 arrays and objects deep (the server's jsonb
  // parser stops not far beyond, and deeper values exhaust stacks).
  void put_raw(std::string_view key, const nlohmann::json& value, Ttl ttl,
               std::string_view span_name = {});

  // Removes key; returns whether a live entry was removed. An expired entry is
  // deleted too, but counts as already gone: false.
  bool remove(std::string_view key);

  // Deletes the expired entries; returns how many.
  std::int64_t cleanup_expired();

  // Deletes every entry; returns how many.
  std::int64_t flush();

  // Counts of the cache table (not instrumented).
  CacheStats stats();

  // Starts a thread that runs cleanup_expired() now and then every interval,
  // until the returned service is stopped or destroyed. on_error receives
  // the error of a failed pass (on that thread). Throws InvalidArgument for
  // an interval that is not positive and finite, or longer than a century.
  template <class Rep, class Period>
  [[nodiscard]] CleanupService start_cleanup_thread(
      std::chrono::duration<Rep, Period> interval,
      CleanupErrorHandler on_error = {}) {  // NOLINT(performance-unnecessary-value-param): moved
    return start_cleanup(detail::to_cleanup_interval(interval), std::move(on_error));
  }

  // The value stored under key converted to T, or std::nullopt (see get_raw).
  // Throws ConversionError when the stored JSON does not convert to T.
  template <class T>
  std::optional<T> get(std::string_view key, std::string_view span_name = {}) {
    std::optional<nlohmann::json> raw = get_raw(key, span_name);
    if (!raw) return std::nullopt;
    try {
      return std::optional<T>{raw->template get<T>()};
    } catch (const nlohmann::json::exception& e) {
      detail::throw_conversion_error(key, typeid(T), true, e.what());
    }
  }

  // Stores value converted to JSON (see put_raw). Throws ConversionError when
  // the conversion to JSON fails.
  template <class T>
  void put(std::string_view key, const T& value, Ttl ttl, std::string_view span_name = {}) {
    nlohmann::json json;
    try {
      json = value;
    } catch (const nlohmann::json::exception& e) {
      detail::throw_conversion_error(key, typeid(T), false, e.what());
    }
    put_raw(key, json, ttl, span_name);
  }

  // --- Batches: many keys in one round trip (extension 1.1) --------------
  //
  // Each is one call of the server's psycache_get_many, psycache_put_many or
  // psycache_remove_many. Every key is validated first (InvalidArgument, and
  // nothing is sent); an empty batch returns at once, without a round trip.
  // There is no limit on the number of keys but the server's 1 GB per
  // parameter; batches of hundreds to a few thousand keys are the sweet spot.
  // Each batch is one span of the operation's kind, started with the first
  // key: get_many records a hit or a miss per key, put_many record_put per
  // key, remove_many record_removed per key.

  // The values stored under keys, in the order of keys: element i is the value
  // of keys[i], or std::nullopt when it is missing or expired. A key given
  // twice is looked up twice. Throws ConversionError as get_raw does.
  std::vector<std::optional<nlohmann::json>> get_many_raw(const std::vector<std::string>& keys,
                                                          std::string_view span_name = {});

  // Stores each value under its key for ttl (an upsert each), in one
  // statement on the server, which locks the rows in a fixed order: concurrent
  // batches over overlapping keys cannot deadlock. A key given twice is stored
  // once, with its last value. Every value is checked as put_raw does.
  void put_many_raw(const std::vector<std::pair<std::string, nlohmann::json>>& entries, Ttl ttl,
                    std::string_view span_name = {});

  // Removes keys; returns how many live entries were removed (expired ones are
  // deleted too, but do not count; a key given twice counts once).
  std::int64_t remove_many(const std::vector<std::string>& keys);

  // The values under keys converted to T, in the order of keys (see
  // get_many_raw). Throws ConversionError, naming the key, when one does not
  // convert.
  template <class T>
  std::vector<std::optional<T>> get_many(const std::vector<std::string>& keys,
                                         std::string_view span_name = {}) {
    std::vector<std::optional<nlohmann::json>> raw = get_many_raw(keys, span_name);
    std::vector<std::optional<T>> values;
    values.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (!raw[i]) {
        values.emplace_back();
        continue;
      }
      try {
        values.emplace_back(raw[i]->template get<T>());
      } catch (const nlohmann::json::exception& e) {
        detail::throw_conversion_error(keys[i], typeid(T), true, e.what());
      }
    }
    return values;
  }

  // Stores each value converted to JSON (see put_many_raw). Throws
  // ConversionError, naming the key, when a conversion fails; then nothing is
  // stored.
  template <class T>
  void put_many(const std::vector<std::pair<std::string, T>>& entries, Ttl ttl,
                std::string_view span_name = {}) {
    std::vector<std::pair<std::string, nlohmann::json>> json;
    json.reserve(entries.size());
    for (const auto& [key, value] : entries) {
      try {
        json.emplace_back(key, value);
      } catch (const nlohmann::json::exception& e) {
        detail::throw_conversion_error(key, typeid(T), false, e.what());
      }
    }
    put_many_raw(json, ttl, span_name);
  }

  // --- Single-key operations of extension 1.1 ------------------------------
  //
  // Each is one call of the server function of the same name (psycache_add,
  // psycache_touch, psycache_ttl, psycache_incr), atomic under concurrent
  // callers. They are not instrumented. Errors as for put_raw.

  // Stores value under key for ttl only if the key is missing or expired;
  // returns whether it stored. Of concurrent adds of one key exactly one
  // stores: a lock, or "first writer wins". The value is checked as put_raw
  // does.
  bool add_raw(std::string_view key, const nlohmann::json& value, Ttl ttl);

  // add_raw with value converted to JSON. Throws ConversionError when the
  // conversion fails.
  template <class T>
  bool add(std::string_view key, const T& value, Ttl ttl) {
    nlohmann::json json;
    try {
      json = value;
    } catch (const nlohmann::json::exception& e) {
      detail::throw_conversion_error(key, typeid(T), false, e.what());
    }
    return add_raw(key, json, ttl);
  }

  // Makes a live key expire ttl from now, keeping its value; returns whether
  // the key was live (a missing or expired key is left alone: false).
  bool touch(std::string_view key, Ttl ttl);

  // The time key has left, in microseconds (the server's resolution), or
  // std::nullopt when it is missing or expired.
  std::optional<std::chrono::microseconds> ttl(std::string_view key);

  // Adds delta to the counter under key and returns its new value,
  // atomically. A counter is a JSON integer (put_raw(key, 5, ...) makes one).
  // A missing or expired key starts at delta and expires after ttl; a live
  // key keeps its expiry (as Redis INCRBY). Throws InvalidArgument when the
  // stored value is not a JSON integer (SQLSTATE 22023) or the sum leaves the
  // range of std::int64_t (22003); the value is then left unchanged.
  std::int64_t incr(std::string_view key, std::int64_t delta, Ttl ttl);

  [[nodiscard]] const CacheOptions& options() const noexcept;

 private:
  PostgresCache(std::unique_ptr<detail::PoolHandle> pool, CacheOptions options);

  template <CachePool Pool>
  static std::unique_ptr<detail::PoolHandle> make_shared_pool_handle(std::shared_ptr<Pool> pool) {
    if (!pool) throw_null_pool();
    return std::make_unique<detail::PoolHandleFor<Pool, std::shared_ptr<Pool>>>(std::move(pool));
  }
  [[noreturn]] static void throw_null_pool();

  CleanupService start_cleanup(std::chrono::nanoseconds interval, CleanupErrorHandler on_error);

  std::shared_ptr<const detail::CacheCore> core_;
};

}  // namespace psycache
