// Instrumentation: spans per operation, fanned out, ended in reverse order.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <psycache/psycache.hpp>

#include "support/test_db.hpp"

using nlohmann::json;

namespace {

// Writes what happens to a shared log as "<name> <event>".
class RecordingSpan final : public psycache::CacheSpan {
 public:
  RecordingSpan(std::vector<std::string>& log, std::string name)
      : log_(log), name_(std::move(name)) {
    log_.push_back(name_ + " start");
  }
  RecordingSpan(const RecordingSpan&) = delete;
  RecordingSpan& operator=(const RecordingSpan&) = delete;
  RecordingSpan(RecordingSpan&&) = delete;
  RecordingSpan& operator=(RecordingSpan&&) = delete;
  ~RecordingSpan() override { log_.push_back(name_ + " end"); }

  void record_cache_hit(std::size_t size) override {
    log_.push_back(name_ + " hit " + std::to_string(size));
  }
  void record_cache_miss() override { log_.push_back(name_ + " miss"); }
  void record_put(std::size_t size) override {
    log_.push_back(name_ + " put " + std::to_string(size));
  }
  void record_removed() override { log_.push_back(name_ + " removed"); }
  void record_flush(std::int64_t n) override {
    log_.push_back(name_ + " flush " + std::to_string(n));
  }
  void record_cleanup(std::int64_t n) override {
    log_.push_back(name_ + " cleanup " + std::to_string(n));
  }
  void record_error(const psycache::Error& /*error*/) override { log_.push_back(name_ + " error"); }

 private:
  std::vector<std::string>& log_;
  std::string name_;
};

class Recorder final : public psycache::CacheInstrumentation {
 public:
  Recorder(std::vector<std::string>& log, std::string name) : log_(log), name_(std::move(name)) {}

  std::unique_ptr<psycache::CacheSpan> start_cache_get_span(std::string_view key,
                                                            std::string_view span_name) override {
    return span("get", key, span_name);
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_put_span(std::string_view key,
                                                            std::string_view span_name) override {
    return span("put", key, span_name);
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_remove_span(std::string_view key) override {
    return span("remove", key, "");
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_flush_span() override {
    return span("flush", "", "");
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_cleanup_span() override {
    return span("cleanup", "", "");
  }

 private:
  std::unique_ptr<psycache::CacheSpan> span(std::string_view operation, std::string_view key,
                                            std::string_view span_name) {
    std::string name = name_ + ":" + std::string{operation};
    if (!key.empty()) name += "(" + std::string{key} + ")";
    if (!span_name.empty()) name += "[" + std::string{span_name} + "]";
    return std::make_unique<RecordingSpan>(log_, name);
  }

  std::vector<std::string>& log_;
  std::string name_;
};

// Measures nothing: returns no spans at all.
class Indifferent final : public psycache::CacheInstrumentation {
 public:
  std::unique_ptr<psycache::CacheSpan> start_cache_get_span(
      std::string_view /*key*/, std::string_view /*span_name*/) override {
    return nullptr;
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_put_span(
      std::string_view /*key*/, std::string_view /*span_name*/) override {
    return nullptr;
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_remove_span(std::string_view /*key*/) override {
    return nullptr;
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_flush_span() override { return nullptr; }
  std::unique_ptr<psycache::CacheSpan> start_cache_cleanup_span() override { return nullptr; }
};

}  // namespace

TEST_CASE("Every instrumentation gets a span per operation, ended in reverse order") {
  psycache::test::reset_extension();
  std::vector<std::string> log;
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::CacheOptions options;
  options.instrumentations = {std::make_shared<Recorder>(log, "a"), std::make_shared<Indifferent>(),
                              std::make_shared<Recorder>(log, "b")};
  psycache::PostgresCache cache{pool, options};

  cache.put_raw("k", json{{"x", 1}}, 60, "store");
  const std::string size = *psycache::test::query_value(
      "SELECT pg_column_size(value) FROM public.psycache WHERE key = 'k'");
  CHECK(log == std::vector<std::string>{
                   "a:put(k)[store] start", "b:put(k)[store] start", "a:put(k)[store] put " + size,
                   "b:put(k)[store] put " + size, "b:put(k)[store] end", "a:put(k)[store] end"});

  log.clear();
  (void)cache.get_raw("k", "look up");
  (void)cache.get_raw("nope");
  CHECK(log == std::vector<std::string>{"a:get(k)[look up] start", "b:get(k)[look up] start",
                                        "a:get(k)[look up] hit " + size,
                                        "b:get(k)[look up] hit " + size, "b:get(k)[look up] end",
                                        "a:get(k)[look up] end", "a:get(nope) start",
                                        "b:get(nope) start", "a:get(nope) miss", "b:get(nope) miss",
                                        "b:get(nope) end", "a:get(nope) end"});

  log.clear();
  cache.put_raw("dead", json{{"x", 1}}, -1);
  log.clear();
  (void)cache.remove("k");
  (void)cache.cleanup_expired();
  (void)cache.flush();
  CHECK(log == std::vector<std::string>{
                   "a:remove(k) start", "b:remove(k) start", "a:remove(k) removed",
                   "b:remove(k) removed", "b:remove(k) end", "a:remove(k) end", "a:cleanup start",
                   "b:cleanup start", "a:cleanup cleanup 1", "b:cleanup cleanup 1", "b:cleanup end",
                   "a:cleanup end", "a:flush start", "b:flush start", "a:flush flush 0",
                   "b:flush flush 0", "b:flush end", "a:flush end"});
}

TEST_CASE("A failed operation records the error before its span ends") {
  psycache::test::reset_extension();
  std::vector<std::string> log;
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::CacheOptions options;
  options.instrumentations = {std::make_shared<Recorder>(log, "a")};
  psycache::PostgresCache cache{pool, options};
  CHECK_THROWS_AS(cache.put_raw(std::string(3000, 'k'), json{}, 60), psycache::InvalidArgument);
  REQUIRE(log.size() == 3);
  CHECK(log[1].ends_with(" error"));
  CHECK(log[2].ends_with(" end"));
}

TEST_CASE("A null instrumentation is refused") {
  psycache::ConnectionPool pool{"host=127.0.0.1"};
  psycache::CacheOptions options;
  options.instrumentations.push_back(nullptr);
  CHECK_THROWS_AS(psycache::PostgresCache(pool, options), psycache::InvalidArgument);
}
