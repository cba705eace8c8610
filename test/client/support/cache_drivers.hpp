// The sync and the async cache behind one blocking interface, so that one
// suite runs the same scenarios on both (TEMPLATE_TEST_CASE over the drivers).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>

#include <psycache/async.hpp>
#include <psycache/psycache.hpp>

#include "support/test_db.hpp"

namespace psycache::test {

// PostgresCache on a ConnectionPool.
class SyncDriver {
 public:
  static constexpr const char* kName = "sync";

  explicit SyncDriver(CacheOptions options = {}) : cache_(pool_, std::move(options)) {}

  std::optional<nlohmann::json> get_raw(std::string_view key, std::string_view span = {}) {
    return cache_.get_raw(key, span);
  }
  void put_raw(std::string_view key, const nlohmann::json& value, Ttl ttl,
               std::string_view span = {}) {
    cache_.put_raw(key, value, ttl, span);
  }
  bool remove(std::string_view key) { return cache_.remove(key); }
  std::int64_t cleanup_expired() { return cache_.cleanup_expired(); }
  std::int64_t flush() { return cache_.flush(); }
  template <class T>
  std::optional<T> get(std::string_view key) {
    return cache_.get<T>(key);
  }
  template <class T>
  void put(std::string_view key, const T& value, Ttl ttl) {
    cache_.put(key, value, ttl);
  }

  // Extension 1.1 and stats.
  std::vector<std::optional<nlohmann::json>> get_many_raw(const std::vector<std::string>& keys,
                                                          std::string_view span = {}) {
    return cache_.get_many_raw(keys, span);
  }
  void put_many_raw(const std::vector<std::pair<std::string, nlohmann::json>>& entries, Ttl ttl,
                    std::string_view span = {}) {
    cache_.put_many_raw(entries, ttl, span);
  }
  std::int64_t remove_many(const std::vector<std::string>& keys) {
    return cache_.remove_many(keys);
  }
  template <class T>
  std::vector<std::optional<T>> get_many(const std::vector<std::string>& keys) {
    return cache_.get_many<T>(keys);
  }
  template <class T>
  void put_many(const std::vector<std::pair<std::string, T>>& entries, Ttl ttl) {
    cache_.put_many<T>(entries, ttl);
  }
  bool add_raw(std::string_view key, const nlohmann::json& value, Ttl ttl) {
    return cache_.add_raw(key, value, ttl);
  }
  template <class T>
  bool add(std::string_view key, const T& value, Ttl ttl) {
    return cache_.add<T>(key, value, ttl);
  }
  bool touch(std::string_view key, Ttl ttl) { return cache_.touch(key, ttl); }
  std::optional<std::chrono::microseconds> ttl(std::string_view key) { return cache_.ttl(key); }
  std::int64_t incr(std::string_view key, std::int64_t delta, Ttl ttl) {
    return cache_.incr(key, delta, ttl);
  }
  CacheStats stats() { return cache_.stats(); }

 private:
  ConnectionPool pool_{dsn()};
  PostgresCache cache_;
};

// AsyncPostgresCache on an AsyncConnectionPool, its io_context run by a
// thread of its own; each call waits for its future (asio::use_future).
class AsyncDriver {
 public:
  static constexpr const char* kName = "async";

  explicit AsyncDriver(CacheOptions options = {})
      : cache_(*pool_, std::move(options)), thread_([this] { io_.run(); }) {}
  AsyncDriver(const AsyncDriver&) = delete;
  AsyncDriver& operator=(const AsyncDriver&) = delete;
  AsyncDriver(AsyncDriver&&) = delete;
  AsyncDriver& operator=(AsyncDriver&&) = delete;
  ~AsyncDriver() {
    // The pool is closed on its executor, then the io_context stops.
    asio::post(io_, [this] { pool_.reset(); });
    work_.reset();
    thread_.join();
  }

  std::optional<nlohmann::json> get_raw(std::string_view key, std::string_view span = {}) {
    return cache_.async_get_raw(key, span, asio::use_future).get();
  }
  void put_raw(std::string_view key, const nlohmann::json& value, Ttl ttl,
               std::string_view span = {}) {
    cache_.async_put_raw(key, value, ttl, span, asio::use_future).get();
  }
  bool remove(std::string_view key) { return cache_.async_remove(key, asio::use_future).get(); }
  std::int64_t cleanup_expired() { return cache_.async_cleanup_expired(asio::use_future).get(); }
  std::int64_t flush() { return cache_.async_flush(asio::use_future).get(); }
  template <class T>
  std::optional<T> get(std::string_view key) {
    return cache_.async_get<T>(key, asio::use_future).get();
  }
  template <class T>
  void put(std::string_view key, const T& value, Ttl ttl) {
    cache_.async_put(key, value, ttl, asio::use_future).get();
  }

  // Extension 1.1 and stats.
  std::vector<std::optional<nlohmann::json>> get_many_raw(const std::vector<std::string>& keys,
                                                          std::string_view span = {}) {
    return cache_.async_get_many_raw(keys, span, asio::use_future).get();
  }
  void put_many_raw(const std::vector<std::pair<std::string, nlohmann::json>>& entries, Ttl ttl,
                    std::string_view span = {}) {
    cache_.async_put_many_raw(entries, ttl, span, asio::use_future).get();
  }
  std::int64_t remove_many(const std::vector<std::string>& keys) {
    return cache_.async_remove_many(keys, asio::use_future).get();
  }
  template <class T>
  std::vector<std::optional<T>> get_many(const std::vector<std::string>& keys) {
    return cache_.async_get_many<T>(keys, asio::use_future).get();
  }
  template <class T>
  void put_many(const std::vector<std::pair<std::string, T>>& entries, Ttl ttl) {
    cache_.async_put_many<T>(entries, ttl, asio::use_future).get();
  }
  bool add_raw(std::string_view key, const nlohmann::json& value, Ttl ttl) {
    return cache_.async_add_raw(key, value, ttl, asio::use_future).get();
  }
  template <class T>
  bool add(std::string_view key, const T& value, Ttl ttl) {
    return cache_.async_add<T>(key, value, ttl, asio::use_future).get();
  }
  bool touch(std::string_view key, Ttl ttl) {
    return cache_.async_touch(key, ttl, asio::use_future).get();
  }
  std::optional<std::chrono::microseconds> ttl(std::string_view key) {
    return cache_.async_ttl(key, asio::use_future).get();
  }
  std::int64_t incr(std::string_view key, std::int64_t delta, Ttl ttl) {
    return cache_.async_incr(key, delta, ttl, asio::use_future).get();
  }
  CacheStats stats() { return cache_.async_stats(asio::use_future).get(); }

 private:
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::optional<AsyncConnectionPool> pool_{std::in_place, io_.get_executor(), dsn()};
  AsyncPostgresCache cache_;
  std::thread thread_;
};

}  // namespace psycache::test
