// Batches: get_many_raw, put_many_raw, remove_many and their typed forms, against the extension.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <psycache/psycache.hpp>

#include "support/test_db.hpp"

using Catch::Matchers::Contains;
using nlohmann::json;
using psycache::test::query_value;
using psycache::test::unique_key;

namespace {

struct Fixture {
  Fixture() { psycache::test::reset_extension(); }
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool};
};

// Writes "<operation>(<key>) <event>" for each span event.
class Log final : public psycache::CacheInstrumentation {
 public:
  std::vector<std::string> events;

  std::unique_ptr<psycache::CacheSpan> start_cache_get_span(std::string_view key,
                                                            std::string_view) override {
    return span("get", key);
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_put_span(std::string_view key,
                                                            std::string_view) override {
    return span("put", key);
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_remove_span(std::string_view key) override {
    return span("remove", key);
  }
  std::unique_ptr<psycache::CacheSpan> start_cache_flush_span() override { return nullptr; }
  std::unique_ptr<psycache::CacheSpan> start_cache_cleanup_span() override { return nullptr; }

 private:
  class Span final : public psycache::CacheSpan {
   public:
    Span(std::vector<std::string>& events, std::string name)
        : events_(events), name_(std::move(name)) {}
    ~Span() override { events_.push_back(name_ + " end"); }
    Span(const Span&) = delete;
    Span& operator=(const Span&) = delete;
    Span(Span&&) = delete;
    Span& operator=(Span&&) = delete;
    void record_cache_hit(std::size_t size) override {
      events_.push_back(name_ + " hit " + std::to_string(size));
    }
    void record_cache_miss() override { events_.push_back(name_ + " miss"); }
    void record_put(std::size_t size) override {
      events_.push_back(name_ + " put " + std::to_string(size));
    }
    void record_removed() override { events_.push_back(name_ + " removed"); }
    void record_error(const psycache::Error&) override { events_.push_back(name_ + " error"); }

   private:
    std::vector<std::string>& events_;
    std::string name_;
  };

  std::unique_ptr<psycache::CacheSpan> span(const char* operation, std::string_view key) {
    return std::make_unique<Span>(events, std::string{operation} + "(" + std::string{key} + ")");
  }
};

struct Point {
  int x = 0;
  int y = 0;
  friend bool operator==(const Point&, const Point&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Point, x, y)

}  // namespace

TEST_CASE_METHOD(Fixture, "get_many_raw returns each key's value or a miss, in the order given") {
  const std::string a = unique_key("a");
  const std::string b = unique_key("b");
  const std::string missing = unique_key("missing");
  cache.put_many_raw({{a, json{{"n", 1}}}, {b, json::array({1, "two"})}}, 60);
  const auto values = cache.get_many_raw({b, missing, a, b});
  REQUIRE(values.size() == 4);
  CHECK(values[0] == json::array({1, "two"}));
  CHECK_FALSE(values[1]);
  CHECK(values[2] == json{{"n", 1}});
  CHECK(values[3] == json::array({1, "two"}));
  // What put_many_raw stored is what get_raw reads.
  CHECK(cache.get_raw(a) == json{{"n", 1}});
}

TEST_CASE_METHOD(Fixture, "Any JSON document round-trips through a batch, JSON null is a hit") {
  const std::vector<json> documents = {json(nullptr),      json(true),    json(-1.5),
                                       json("t\"e\\x{}"),  json::array(), json::object(),
                                       json{{"k", {1, 2}}}};
  std::vector<std::pair<std::string, json>> entries;
  std::vector<std::string> keys;
  for (const json& document : documents) {
    // Keys with the characters an array literal must escape.
    keys.push_back(unique_key("quote\" back\\slash {brace}, comma"));
    entries.emplace_back(keys.back(), document);
  }
  keys.push_back("");
  entries.emplace_back("", json("empty key"));
  cache.put_many_raw(entries, std::chrono::minutes{1});
  const auto values = cache.get_many_raw(keys);
  REQUIRE(values.size() == keys.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    INFO("key " << keys[i]);
    REQUIRE(values[i]);
    CHECK(*values[i] == entries[i].second);
  }
}

TEST_CASE_METHOD(Fixture,
                 "put_many_raw overwrites value and expiry, a repeated key keeps its last value") {
  const std::string key = unique_key();
  cache.put_raw(key, "old", 5);
  cache.put_many_raw({{key, "first"}, {unique_key(), 1}, {key, "last"}}, 600);
  CHECK(cache.get_raw(key) == "last");
  CHECK(*query_value("SELECT count(*) FROM public.psycache WHERE key = '" + key + "'") == "1");
  CHECK(*query_value("SELECT expires_at > statement_timestamp() + interval '500 seconds' FROM "
                     "public.psycache WHERE key = '" +
                     key + "'") == "t");
}

TEST_CASE_METHOD(Fixture, "Expired entries are misses in a batch") {
  const std::string key = unique_key();
  cache.put_many_raw({{key, 1}}, -1);
  CHECK(cache.get_many_raw({key}) == std::vector<std::optional<json>>{std::nullopt});
}

TEST_CASE_METHOD(Fixture, "remove_many counts the live entries it removed") {
  const std::string a = unique_key();
  const std::string b = unique_key();
  const std::string expired = unique_key();
  cache.put_many_raw({{a, 1}, {b, 2}}, 60);
  cache.put_raw(expired, 3, -1);
  CHECK(cache.remove_many({a, b, expired, unique_key(), a}) == 2);
  CHECK(cache.get_many_raw({a, b}) == std::vector<std::optional<json>>{std::nullopt, std::nullopt});
  CHECK(*query_value("SELECT count(*) FROM public.psycache") == "0");
  CHECK(cache.remove_many({a}) == 0);
}

TEST_CASE_METHOD(Fixture, "Empty batches return at once") {
  CHECK(cache.get_many_raw({}).empty());
  cache.put_many_raw({}, 60);
  CHECK(cache.remove_many({}) == 0);
}

TEST_CASE_METHOD(Fixture, "A batch of 5,000 keys is one call and comes back in order") {
  std::vector<std::pair<std::string, json>> entries;
  std::vector<std::string> keys;
  for (int i = 0; i < 5000; ++i) {
    // Descending, so the order given is not the order of the keys.
    keys.push_back("batch:" + std::to_string(9999 - i));
    if (i % 2 == 0) entries.emplace_back(keys.back(), json{{"i", i}});
  }
  cache.put_many_raw(entries, 60);
  const auto values = cache.get_many_raw(keys);
  REQUIRE(values.size() == keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i % 2 == 0) {
      REQUIRE(values[i] == json{{"i", i}});
    } else {
      REQUIRE_FALSE(values[i]);
    }
  }
  CHECK(cache.remove_many(keys) == 2500);
}

TEST_CASE_METHOD(Fixture, "The typed batches convert each value, naming the key that does not") {
  const std::string p = unique_key("p");
  const std::string q = unique_key("q");
  cache.put_many<Point>({{p, {1, 2}}, {q, {3, 4}}}, 60);
  const std::vector<std::optional<Point>> points = cache.get_many<Point>({q, unique_key(), p});
  REQUIRE(points.size() == 3);
  CHECK(points[0] == Point{3, 4});
  CHECK_FALSE(points[1]);
  CHECK(points[2] == Point{1, 2});

  const std::string text = unique_key("text");
  cache.put_raw(text, "not a point", 60);
  CHECK_THROWS_AS(cache.get_many<Point>({p, text}), psycache::ConversionError);
  CHECK_THROWS_WITH(cache.get_many<Point>({p, text}), Contains(text) && Contains("Point"));
}

TEST_CASE_METHOD(Fixture, "A bad key or value refuses the whole batch before anything is sent") {
  const std::string good = unique_key();
  CHECK_THROWS_AS(cache.put_many_raw({{good, 1}, {std::string(2049, 'k'), 2}}, 60),
                  psycache::InvalidArgument);
  CHECK_THROWS_WITH(cache.put_many_raw({{good, 1}, {std::string(2049, 'k'), 2}}, 60),
                    Contains("2049 bytes"));
  CHECK_THROWS_AS(cache.put_many_raw({{good, 1}, {"nan", json(std::nan(""))}}, 60),
                  psycache::InvalidArgument);
  CHECK_THROWS_WITH(cache.put_many_raw({{good, 1}, {"nan", json(std::nan(""))}}, 60),
                    Contains("\"nan\"") && Contains("non-finite"));
  CHECK_THROWS_AS(cache.get_many_raw({good, std::string("a\0b", 3)}), psycache::InvalidArgument);
  CHECK_THROWS_AS(cache.remove_many({good, "\xff"}), psycache::InvalidArgument);
  CHECK_FALSE(cache.get_raw(good));
  CHECK(*query_value("SELECT count(*) FROM public.psycache") == "0");
  // A TTL past the server's range is refused by the server, as a whole.
  CHECK_THROWS_AS(cache.put_many_raw({{good, 1}}, std::chrono::hours{24 * 366 * 300000LL}),
                  psycache::InvalidArgument);
  CHECK_FALSE(cache.get_raw(good));
}

TEST_CASE("A batch is one span: a hit or miss per key, a put per key, a removal per key") {
  psycache::test::reset_extension();
  psycache::ConnectionPool pool{psycache::test::dsn()};
  auto log = std::make_shared<Log>();
  psycache::PostgresCache cache{pool, psycache::CacheOptions{.instrumentations = {log}}};
  cache.put_many_raw({{"a", "1"}, {"b", 2}}, 60);
  CHECK(log->events == std::vector<std::string>{"put(a) put 10", "put(a) put 17", "put(a) end"});
  log->events.clear();
  (void)cache.get_many_raw({"b", "zz", "a"});
  CHECK(log->events ==
        std::vector<std::string>{"get(b) hit 17", "get(b) miss", "get(b) hit 10", "get(b) end"});
  log->events.clear();
  CHECK(cache.remove_many({"a", "zz"}) == 1);
  CHECK(log->events ==
        std::vector<std::string>{"remove(a) removed", "remove(a) removed", "remove(a) end"});
  log->events.clear();
  CHECK_THROWS(cache.get_many_raw({"ok", std::string(3000, 'k')}));
  CHECK(log->events == std::vector<std::string>{"get(ok) error", "get(ok) end"});
  log->events.clear();
  (void)cache.get_many_raw({});
  CHECK(log->events.empty());
}

TEST_CASE("Batches work in another schema and from a search_path without it") {
  psycache::test::reset_extension("cache_a");
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool, psycache::CacheOptions{.schema = "cache_a"}};
  cache.put_many_raw({{"k", 1}}, 60);
  CHECK(cache.get_many_raw({"k"}) == std::vector<std::optional<json>>{json(1)});
  CHECK(cache.remove_many({"k"}) == 1);
}
