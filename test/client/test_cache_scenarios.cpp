// The cache's scenarios, run on the sync PostgresCache and on the async
// AsyncPostgresCache alike: both must behave the same.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <pqxx/nontransaction>

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

// --- Extension 1.1 and stats --------------------------------------------------

BOTH_CACHES("get_many answers each key in order: hits, misses, duplicates, expired entries") {
  psycache::test::reset_extension();
  TestType cache;
  const std::string a = unique_key("a");
  const std::string b = unique_key("b");
  const std::string expired = unique_key("expired");
  const std::string missing = unique_key("missing");
  cache.put_many_raw({{a, json{{"n", 1}}}, {b, json::array({1, "two"})}}, 60);
  cache.put_raw(expired, json("old"), -1);
  const auto values = cache.get_many_raw({b, missing, a, expired, b});
  REQUIRE(values.size() == 5);
  CHECK(values[0] == json::array({1, "two"}));
  CHECK_FALSE(values[1]);
  CHECK(values[2] == json{{"n", 1}});
  CHECK_FALSE(values[3]);
  CHECK(values[4] == json::array({1, "two"}));
  // What a batch stored, a single get reads, and the other way round.
  CHECK(cache.get_raw(a) == json{{"n", 1}});
  CHECK(cache.get_many_raw({expired}) == std::vector<std::optional<json>>{std::nullopt});
  // JSON null is a hit, and keys an array literal must escape round-trip.
  const std::string odd = unique_key("quote\" back\\slash {brace}, comma");
  cache.put_many_raw({{odd, json(nullptr)}, {"", json("empty key")}}, 60);
  CHECK(cache.get_many_raw({odd, ""}) ==
        std::vector<std::optional<json>>{json(nullptr), "empty key"});
}

BOTH_CACHES("put_many overwrites value and expiry, a repeated key keeps its last value") {
  psycache::test::reset_extension();
  TestType cache;
  const std::string key = unique_key();
  cache.put_raw(key, json("old"), 5);
  cache.put_many_raw({{key, json("first")}, {unique_key(), json(1)}, {key, json("last")}}, 600);
  CHECK(cache.get_raw(key) == json("last"));
  CHECK(count_entries() == "2");
  CHECK(cache.ttl(key) > 500s);
  // An expired batch is stored, and missed.
  const std::string dead = unique_key();
  cache.put_many_raw({{dead, json(1)}}, -1);
  CHECK_FALSE(cache.get_raw(dead));
  CHECK(count_entries() == "3");
}

BOTH_CACHES("remove_many counts the live entries it removed, empty batches return at once") {
  psycache::test::reset_extension();
  TestType cache;
  const std::string a = unique_key();
  const std::string b = unique_key();
  const std::string expired = unique_key();
  cache.put_many_raw({{a, json(1)}, {b, json(2)}}, 60);
  cache.put_raw(expired, json(3), -1);
  CHECK(cache.remove_many({a, b, expired, unique_key(), a}) == 2);
  CHECK(count_entries() == "0");
  CHECK(cache.remove_many({a}) == 0);
  CHECK(cache.get_many_raw({}).empty());
  cache.put_many_raw({}, 60);
  CHECK(cache.remove_many({}) == 0);
  CHECK(count_entries() == "0");
}

BOTH_CACHES("A batch of 5,000 keys is one call and comes back in order") {
  psycache::test::reset_extension();
  TestType cache;
  std::vector<std::pair<std::string, json>> entries;
  std::vector<std::string> keys;
  for (int i = 0; i < 5000; ++i) {
    // Descending, so the order given is not the order of the keys.
    keys.push_back("batch:" + std::to_string(9999 - i));
    if (i % 2 == 0) {
      entries.emplace_back(keys.back(), json{{"i", i}, {"pad", std::string(100, 'p')}});
    }
  }
  cache.put_many_raw(entries, 60);
  const auto values = cache.get_many_raw(keys);
  REQUIRE(values.size() == keys.size());
  int wrong = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const bool right = i % 2 == 0 ? values[i] && values[i]->at("i") == i : !values[i];
    wrong += right ? 0 : 1;
  }
  CHECK(wrong == 0);
  CHECK(cache.remove_many(keys) == 2500);
}

BOTH_CACHES("add stores only a missing or expired key, and says so") {
  psycache::test::reset_extension();
  TestType cache;
  const std::string key = unique_key();
  CHECK(cache.add_raw(key, json{{"owner", "a"}}, 60));
  CHECK_FALSE(cache.add_raw(key, json{{"owner", "b"}}, 60));
  CHECK(cache.get_raw(key) == json{{"owner", "a"}});
  const std::string expired = unique_key();
  cache.put_raw(expired, json("old"), -1);
  CHECK(cache.add_raw(expired, json("new"), 60s));
  CHECK(cache.get_raw(expired) == json("new"));
  CHECK(cache.ttl(expired) > 50s);
}

BOTH_CACHES("touch gives a live key a new expiry, ttl tells the time left") {
  psycache::test::reset_extension();
  TestType cache;
  const std::string key = unique_key();
  CHECK_FALSE(cache.ttl(key));
  CHECK_FALSE(cache.touch(key, 60));
  CHECK_FALSE(cache.get_raw(key));
  cache.put_raw(key, json{{"v", 1}}, 5);
  CHECK(cache.ttl(key) <= 5s);
  CHECK(cache.touch(key, std::chrono::hours{2}));
  CHECK(cache.ttl(key) > 1h);
  CHECK(cache.ttl(key) <= 2h);
  CHECK(cache.get_raw(key) == json{{"v", 1}});
  // Microseconds, the server's resolution, and days count too.
  cache.put_raw(key, json(1), 1'234'567'891us);
  CHECK(cache.ttl(key) <= 1'234'567'891us);
  CHECK(cache.ttl(key) > 1'234'567'891us - 60s);
  CHECK(cache.touch(key, std::chrono::hours{24 * 400}));
  CHECK(cache.ttl(key) > std::chrono::hours{24 * 399});
  CHECK(cache.touch(key, 0));
  CHECK_FALSE(cache.get_raw(key));
  CHECK_FALSE(cache.ttl(key));
  CHECK_FALSE(cache.touch(key, 60));
}

BOTH_CACHES("incr counts from delta, keeps the expiry, refuses what is not an int64 counter") {
  psycache::test::reset_extension();
  TestType cache;
  const std::string key = unique_key();
  CHECK(cache.incr(key, 1, 60) == 1);
  CHECK(cache.incr(key, 41, 3600) == 42);
  CHECK(cache.get_raw(key) == json(42));
  CHECK(cache.ttl(key) <= 60s);  // the first incr set the expiry, the second kept it
  CHECK(cache.incr(key, -50, 60) == -8);
  cache.put_raw(key, json(5), -1);
  CHECK(cache.incr(key, 1, 60) == 1);  // expired: starts again

  const std::string text = unique_key("text");
  cache.put_raw(text, json("7"), 60);
  try {
    (void)cache.incr(text, 1, 60);
    FAIL("no error");
  } catch (const psycache::InvalidArgument& e) {
    CHECK(e.sqlstate() == "22023");
    CHECK_THAT(e.what(),
               Contains("incr of key \"" + text + "\" failed") && Contains("not a JSON integer"));
  }
  CHECK(cache.get_raw(text) == json("7"));
  const std::string max = unique_key("max");
  cache.put_raw(max, json(std::numeric_limits<std::int64_t>::max()), 60);
  CHECK_THROWS_WITH(cache.incr(max, 1, 60), Contains("out of range") && Contains("22003"));
  CHECK(cache.incr(max, 0, 60) == std::numeric_limits<std::int64_t>::max());
  CHECK(cache.incr(unique_key(), std::numeric_limits<std::int64_t>::min(), 60) ==
        std::numeric_limits<std::int64_t>::min());
}

BOTH_CACHES("stats counts the entries, the expired ones apart") {
  psycache::test::reset_extension();
  TestType cache;
  const psycache::CacheStats empty = cache.stats();
  CHECK(empty.entries == 0);
  CHECK(empty.expired_entries == 0);
  CHECK(empty.total_bytes > 0);
  cache.put_many_raw({{unique_key(), json(1)}, {unique_key(), json(2)}}, 60);
  cache.put_raw(unique_key(), json(3), -1);
  const psycache::CacheStats stats = cache.stats();
  CHECK(stats.entries == 3);
  CHECK(stats.expired_entries == 1);
}

BOTH_CACHES("The typed 1.1 operations convert both ways and name the key that does not") {
  psycache::test::reset_extension();
  TestType cache;
  const std::string p = unique_key("p");
  const std::string q = unique_key("q");
  cache.template put_many<Point>({{p, {1, 2}}, {q, {3, 4}}}, 60);
  const std::vector<std::optional<Point>> points = cache.template get_many<Point>({q, "none", p});
  REQUIRE(points.size() == 3);
  CHECK(points[0] == Point{3, 4});
  CHECK_FALSE(points[1]);
  CHECK(points[2] == Point{1, 2});
  CHECK(cache.template get_many<Point>({}).empty());

  const std::string text = unique_key("text");
  cache.put_raw(text, json("not a point"), 60);
  CHECK_THROWS_AS(cache.template get_many<Point>({p, text}), psycache::ConversionError);
  CHECK_THROWS_WITH(cache.template get_many<Point>({p, text}), Contains(text) && Contains("Point"));
  const std::string bad = unique_key("bad");
  CHECK_THROWS_WITH(cache.template put_many<Unconvertible>({{bad, {}}}, 60),
                    Contains("does not convert to JSON") && Contains(bad));
  CHECK_FALSE(cache.get_raw(bad));

  const std::string lease = unique_key("lease");
  CHECK(cache.template add<Point>(lease, Point{5, 6}, 60));
  CHECK_FALSE(cache.template add<Point>(lease, Point{7, 8}, 60));
  CHECK(cache.template get<Point>(lease) == Point{5, 6});
  CHECK_THROWS_AS(cache.template add<Unconvertible>(bad, {}, 60), psycache::ConversionError);
  CHECK_FALSE(cache.get_raw(bad));
}

BOTH_CACHES("Bad input to a batch or a 1.1 operation is refused whole, with the same message") {
  psycache::test::reset_extension();
  TestType cache;
  const std::string good = unique_key();
  const std::string long_key(2049, 'k');
  CHECK_THROWS_WITH(cache.put_many_raw({{good, json(1)}, {long_key, json(2)}}, 60),
                    Contains("2049 bytes long; the limit is 2048"));
  CHECK_THROWS_WITH(cache.put_many_raw({{good, json(1)}, {"nan", json(std::nan(""))}}, 60),
                    Contains("\"nan\"") && Contains("non-finite"));
  CHECK_THROWS_AS(cache.get_many_raw({good, std::string("a\0b", 3)}), psycache::InvalidArgument);
  CHECK_THROWS_WITH(cache.remove_many({good, "\xff"}), Contains("not valid UTF-8"));
  CHECK_THROWS_AS(cache.add_raw(long_key, json(1), 60), psycache::InvalidArgument);
  CHECK_THROWS_WITH(cache.add_raw("k", json{{"x", {1, std::nan("")}}}, 60),
                    Contains("non-finite number") && Contains("\"/x/1\""));
  CHECK_THROWS_AS(cache.touch(long_key, 60), psycache::InvalidArgument);
  CHECK_THROWS_AS(cache.ttl(long_key), psycache::InvalidArgument);
  CHECK_THROWS_AS(cache.incr(long_key, 1, 60), psycache::InvalidArgument);
  // Refused by the server (SQLSTATE class 22): a TTL past its range.
  try {
    cache.put_many_raw({{good, json(1)}}, std::chrono::years{292'270});
    FAIL("no error");
  } catch (const psycache::InvalidArgument& e) {
    CHECK(e.sqlstate().starts_with("22"));
    CHECK_THAT(e.what(), Contains("put_many failed") && Contains("out of range"));
  }
  CHECK_THROWS_WITH(cache.incr("k", 1, std::chrono::years{292'270}),
                    Contains("incr of key \"k\" failed") && Contains("out of range"));
  CHECK(count_entries() == "0");
  // The cache is still usable.
  cache.put_many_raw({{good, json(1)}}, 60);
  CHECK(cache.get_many_raw({good}) == std::vector<std::optional<json>>{json(1)});
}

BOTH_CACHES("The 1.1 operations work in another schema and say where they looked") {
  psycache::test::reset_extension("cache_a");
  {
    TestType cache{psycache::CacheOptions{.schema = "cache_a"}};
    cache.put_many_raw({{"k", json(1)}}, 60);
    CHECK(cache.get_many_raw({"k"}) == std::vector<std::optional<json>>{json(1)});
    CHECK(cache.add_raw("a", json(1), 60));
    CHECK(cache.incr("n", 2, 60) == 2);
    CHECK(cache.touch("n", 120));
    CHECK(cache.ttl("n") > 60s);
    CHECK(cache.stats().entries == 3);
    CHECK(cache.remove_many({"k", "a", "n"}) == 3);
    CHECK(*query_value("SELECT count(*) FROM cache_a.psycache") == "0");
  }
  {
    TestType wrong{psycache::CacheOptions{.schema = "cache_b"}};
    try {
      (void)wrong.get_many_raw({"k"});
      FAIL("no error");
    } catch (const psycache::ServerError& e) {
      CHECK(e.sqlstate() == "3F000");
      CHECK_THAT(e.what(), Contains("get_many failed") && Contains("\"cache_b\"") &&
                               Contains("CacheOptions::schema"));
    }
    CHECK_THROWS_WITH(wrong.incr("k", 1, 60),
                      Contains("incr of key \"k\" failed") && Contains("\"cache_b\""));
    CHECK_THROWS_WITH(wrong.stats(), Contains("stats failed") && Contains("\"cache_b\""));
  }
  psycache::test::reset_extension();
}

BOTH_CACHES("On an extension still at 1.0 the 1.1 operations fail with 42883, the rest works") {
  psycache::test::reset_extension();
  {
    const auto connection = psycache::test::connect();
    pqxx::nontransaction transaction{*connection};
    transaction.exec("DROP EXTENSION psycache; CREATE EXTENSION psycache VERSION '1.0'");
  }
  TestType cache;
  const auto refused = [](const std::function<void()>& operation, const std::string& function) {
    try {
      operation();
      FAIL("no error from " << function);
    } catch (const psycache::ServerError& e) {
      CHECK(e.sqlstate() == "42883");
      CHECK_THAT(e.what(), Contains(function) && Contains("does not exist") &&
                               Contains("ALTER EXTENSION psycache UPDATE"));
    }
  };
  refused([&] { (void)cache.get_many_raw({"k"}); }, "psycache_get_many");
  refused([&] { cache.put_many_raw({{"k", json(1)}}, 60); }, "psycache_put_many");
  refused([&] { (void)cache.remove_many({"k"}); }, "psycache_remove_many");
  refused([&] { (void)cache.add_raw("k", json(1), 60); }, "psycache_add");
  refused([&] { (void)cache.touch("k", 60); }, "psycache_touch");
  refused([&] { (void)cache.ttl("k"); }, "psycache_ttl");
  refused([&] { (void)cache.incr("k", 1, 60); }, "psycache_incr");
  // The 1.0 operations, stats among them, work on the same connections.
  cache.put_raw("k", json{{"v", 1}}, 60);
  CHECK(cache.get_raw("k") == json{{"v", 1}});
  CHECK(cache.stats().entries == 1);
  psycache::test::reset_extension();
}

BOTH_CACHES("Batches report to the instrumentations as one span, add and incr do not") {
  psycache::test::reset_extension();
  auto log = std::make_shared<std::vector<std::string>>();
  TestType cache{
      psycache::CacheOptions{.instrumentations = {std::make_shared<LogInstrumentation>(log)}}};
  cache.put_many_raw({{"a", json(1)}, {"b", json("two")}}, 60, "batch");
  (void)cache.get_many_raw({"b", "zz", "a"}, "batch");
  CHECK(cache.remove_many({"a", "zz"}) == 1);
  (void)cache.add_raw("c", json(1), 60);
  (void)cache.touch("c", 60);
  (void)cache.ttl("c");
  (void)cache.incr("n", 1, 60);
  (void)cache.stats();
  (void)cache.get_many_raw({});
  cache.put_many_raw({}, 60);
  (void)cache.remove_many({});
  CHECK_THROWS(cache.get_many_raw({"ok", std::string(3000, 'k')}));
  CHECK_THROWS(cache.template put_many<Unconvertible>({{"x", {}}}, 60));
  CHECK(*log == std::vector<std::string>{"put:batch put", "put:batch put", "put:batch end",
                                         "get:batch hit", "get:batch miss", "get:batch hit",
                                         "get:batch end", "remove removed", "remove removed",
                                         "remove end", "get error", "get end"});
}
