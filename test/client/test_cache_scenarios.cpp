// The cache's scenarios, run on the sync PostgresCache and on the async
// AsyncPostgresCache alike: both must behave the same.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "support/cache_drivers.hpp"
#include "support/test_db.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using nlohmann::json;
using psycache::test::AsyncDriver;
using psycache::test::query_value;
using psycache::test::SyncDriver;
using psycache::test::unique_key;

namespace {

struct Point {
  int x = 0;
  int y = 0;
  friend bool operator==(const Point&, const Point&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Point, x, y)

// A type whose conversion to JSON always fails.
struct Unconvertible {};
[[maybe_unused]] void to_json(json& /*j*/, const Unconvertible& /*u*/) {
  throw json::other_error::create(599, "refused on purpose", nullptr);
}

// Logs "<operation> <event>" for every span event.
class LogSpan final : public psycache::CacheSpan {
 public:
  LogSpan(std::shared_ptr<std::vector<std::string>> log, std::string name)
      : log_(std::move(log)), name_(std::move(name)) {}
  LogSpan(const LogSpan&) = delete;
  LogSpan& operator=(const LogSpan&) = delete;
  LogSpan(LogSpan&&) = delete;
  LogSpan& operator=(LogSpan&&) = delete;
  ~LogSpan() override { log_->push_back(name_ + " end"); }
  void record_cache_hit(std::size_t /*size*/) override { log_->push_back(name_ + " hit"); }
  void record_cache_miss() override { log_->push_back(name_ + " miss"); }
  void record_put(std::size_t size) override {
    log_->push_back(name_ + (size > 0 ? " put" : " put of size 0"));
  }
  void record_removed() override { log_->push_back(name_ + " removed"); }
  void record_flush(std::int64_t n) override {
    log_->push_back(name_ + " flush " + std::to_string(n));
  }
  void record_cleanup(std::int64_t n) override {
    log_->push_back(name_ + " cleanup " + std::to_string(n));
  }
  void record_error(const psycache::Error& /*error*/) override {
    log_->push_back(name_ + " error");
  }

 private:
  std::shared_ptr<std::vector<std::string>> log_;
  std::string name_;
};

class LogInstrumentation final : public psycache::CacheInstrumentation {
 public:
  explicit LogInstrumentation(std::shared_ptr<std::vector<std::string>> log)
      : log_(std::move(log)) {}
  std::unique_ptr<psycache::CacheSpan> start_cache_get_span(std::string_view /*key*/,
                                                            std::string_view span) override {
    return std::make_unique<LogSpan>(log_, "get" + (span.empty() ? "" : ":" + std::string{span}));
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_put_span(std::string_view /*key*/,
                                                            std::string_view span) override {
    return std::make_unique<LogSpan>(log_, "put" + (span.empty() ? "" : ":" + std::string{span}));
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_remove_span(std::string_view /*key*/) override {
    return std::make_unique<LogSpan>(log_, "remove");
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_flush_span() override {
    return std::make_unique<LogSpan>(log_, "flush");
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_cleanup_span() override {
    return std::make_unique<LogSpan>(log_, "cleanup");
  }

 private:
  std::shared_ptr<std::vector<std::string>> log_;
};

std::string count_entries() { return *query_value("SELECT count(*) FROM public.psycache"); }

}  // namespace

#define BOTH_CACHES(name) TEMPLATE_TEST_CASE(name, "[scenario]", SyncDriver, AsyncDriver)

BOTH_CACHES("A stored value is returned as sent, a missing key is a miss") {
  psycache::test::reset_extension();
  TestType cache;
  const std::string key = unique_key();
  CHECK_FALSE(cache.get_raw(key));
  cache.put_raw(key, json{{"foo", "bar"}}, 10);
  CHECK(cache.get_raw(key) == json{{"foo", "bar"}});
  CHECK_FALSE(cache.get_raw(unique_key()));
}

BOTH_CACHES("Any JSON document is a value, not only objects") {
  psycache::test::reset_extension();
  TestType cache;
  for (const json& value : {json(nullptr), json(true), json(42), json(-1.5), json("text"),
                            json::array({1, "two", nullptr}), json::object()}) {
    const std::string key = unique_key();
    cache.put_raw(key, value, 10s);
    CHECK(cache.get_raw(key) == value);
  }
}

BOTH_CACHES("A second put replaces the value, remove says whether there was one") {
  psycache::test::reset_extension();
  TestType cache;
  const std::string key = unique_key();
  cache.put_raw(key, json{{"foo", "first"}}, 10);
  cache.put_raw(key, json{{"foo", "second"}}, 100);
  CHECK(cache.get_raw(key) == json{{"foo", "second"}});
  CHECK(count_entries() == "1");
  CHECK(cache.remove(key));
  CHECK_FALSE(cache.get_raw(key));
  CHECK_FALSE(cache.remove(key));
  cache.put_raw(key, json{{"foo", "expired"}}, -1);
  CHECK_FALSE(cache.remove(key));
  CHECK(count_entries() == "0");
}

BOTH_CACHES("An entry past its TTL is a miss, also before cleanup") {
  psycache::test::reset_extension();
  TestType cache;
  const std::string zero = unique_key("zero");
  const std::string short_lived = unique_key("short");
  cache.put_raw(zero, json{{"ttl", 0}}, 0);
  cache.put_raw(short_lived, json{{"ttl", 0.3}}, 300ms);
  CHECK_FALSE(cache.get_raw(zero));
  CHECK(count_entries() == "2");
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (cache.get_raw(short_lived) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  CHECK_FALSE(cache.get_raw(short_lived));
}

BOTH_CACHES("cleanup_expired and flush delete and count") {
  psycache::test::reset_extension();
  TestType cache;
  CHECK(cache.flush() == 0);
  cache.put_raw(unique_key(), json{{"live", 1}}, 60);
  cache.put_raw(unique_key(), json{{"live", 2}}, 60);
  for (int i = 0; i < 3; ++i) cache.put_raw(unique_key(), json{{"dead", i}}, -1);
  CHECK(cache.cleanup_expired() == 3);
  CHECK(cache.cleanup_expired() == 0);
  CHECK(count_entries() == "2");
  CHECK(cache.flush() == 2);
  CHECK(count_entries() == "0");
}

BOTH_CACHES("Keys are exact: case, spaces, unicode, quotes and the empty key") {
  psycache::test::reset_extension();
  TestType cache;
  const std::vector<std::string> keys = {"",
                                         " ",
                                         "Key",
                                         "key",
                                         "k\xc3\xa9y \xf0\x9f\x94\x91",
                                         std::string(2048, 'x'),
                                         "quote'and\"double\\back"};
  for (std::size_t i = 0; i < keys.size(); ++i) cache.put_raw(keys.at(i), json{{"i", i}}, 60);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    CHECK(cache.get_raw(keys.at(i)) == json{{"i", i}});
  }
}

BOTH_CACHES("Bad keys, values and TTLs are refused with a clear error and lose nothing") {
  psycache::test::reset_extension();
  TestType cache;
  cache.put_raw("kept", json{{"kept", true}}, 60);
  CHECK_THROWS_WITH(cache.put_raw(std::string(2049, 'k'), json{}, 60),
                    Contains("2049 bytes long; the limit is 2048"));
  CHECK_THROWS_AS(cache.get_raw(std::string{"a\0b", 3}), psycache::InvalidArgument);
  CHECK_THROWS_WITH(cache.remove("\xff"), Contains("not valid UTF-8"));
  CHECK_THROWS_WITH(cache.put_raw("kept", json{{"x", {1, std::nan("")}}}, 60),
                    Contains("non-finite number") && Contains("\"/x/1\""));
  // Refused by the server (SQLSTATE class 22): now + 292,270 years is past its range.
  try {
    cache.put_raw("kept", json{{"lost", true}}, std::chrono::years{292'270});
    FAIL("no error");
  } catch (const psycache::InvalidArgument& e) {
    CHECK(e.sqlstate().starts_with("22"));
    CHECK_THAT(e.what(), Contains("put of key \"kept\"") && Contains("out of range"));
  }
  CHECK(cache.get_raw("kept") == json{{"kept", true}});
}

BOTH_CACHES("A cache on a schema without the extension says where it looked") {
  psycache::test::reset_extension("cache_a");
  {
    TestType cache{psycache::CacheOptions{.schema = "cache_b"}};
    try {
      (void)cache.get_raw("k");
      FAIL("no error");
    } catch (const psycache::ServerError& e) {
      CHECK(e.sqlstate() == "3F000");
      CHECK_THAT(e.what(), Contains("get of key \"k\" failed") &&
                               Contains("schema \"cache_b\" does not exist") &&
                               Contains("CacheOptions::schema"));
    }
  }
  {
    TestType right{psycache::CacheOptions{.schema = "cache_a"}};
    right.put_raw("k", json{{"ok", true}}, 60);
    CHECK(right.get_raw("k") == json{{"ok", true}});
  }
  psycache::test::reset_extension();
}

BOTH_CACHES("The typed layer converts both ways and names a failed conversion") {
  psycache::test::reset_extension();
  TestType cache;
  cache.put("p", Point{1, 2}, 60);
  CHECK(cache.template get<Point>("p") == Point{1, 2});
  CHECK_FALSE(cache.template get<Point>("missing"));
  cache.put_raw("text", json("not a point"), 60);
  CHECK_THROWS_AS(cache.template get<Point>("text"), psycache::ConversionError);
  CHECK_THROWS_WITH(cache.put("bad", Unconvertible{}, 60),
                    Contains("does not convert to JSON") && Contains("refused on purpose"));
  CHECK(cache.get_raw("text") == json("not a point"));
}

BOTH_CACHES("Every operation reports to the instrumentations, errors included") {
  psycache::test::reset_extension();
  auto log = std::make_shared<std::vector<std::string>>();
  TestType cache{
      psycache::CacheOptions{.instrumentations = {std::make_shared<LogInstrumentation>(log)}}};
  cache.put_raw("k", json{{"v", 1}}, 60, "named");
  (void)cache.get_raw("k");
  (void)cache.get_raw("missing");
  (void)cache.remove("k");
  (void)cache.cleanup_expired();
  (void)cache.flush();
  CHECK_THROWS(cache.get_raw("\xff"));
  CHECK(*log == std::vector<std::string>{"put:named put", "put:named end", "get hit", "get end",
                                         "get miss", "get end", "remove removed", "remove end",
                                         "cleanup cleanup 0", "cleanup end", "flush flush 0",
                                         "flush end", "get error", "get end"});
}
