// The typed layer: get<T> and put for types nlohmann_json converts.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <psycache/psycache.hpp>

#include "support/test_db.hpp"

using Catch::Matchers::Contains;
using nlohmann::json;
using psycache::test::unique_key;

struct UserScore {
  std::string name;
  int score = 0;
  friend bool operator==(const UserScore&, const UserScore&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(UserScore, name, score)

namespace {

// The original's UserCache: the application deals in UserScore and never sees
// a key, a TTL or a span name.
class UserCache {
 public:
  explicit UserCache(psycache::PostgresCache cache,
                     std::chrono::seconds ttl = std::chrono::minutes{5})
      : cache_(std::move(cache)), ttl_(ttl) {}

  std::optional<UserScore> look_up_user(const std::string& name) {
    return cache_.get<UserScore>("user:" + name, "look up user score");
  }

  void store_user(const UserScore& user) {
    cache_.put("user:" + user.name, user, ttl_, "store user score");
  }

 private:
  psycache::PostgresCache cache_;
  std::chrono::seconds ttl_;
};

// A type whose conversion to JSON fails.
struct Unwritable {};
void to_json(json& /*out*/, const Unwritable& /*value*/) {
  throw json::other_error::create(599, "Unwritable cannot be written", nullptr);
}

struct Fixture {
  Fixture() { psycache::test::reset_extension(); }
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool};
};

}  // namespace

TEST_CASE_METHOD(Fixture, "A struct goes in and comes out equal") {
  const std::string key = unique_key("score");
  const UserScore alice{"alice", 42};
  cache.put(key, alice, 60);
  CHECK(cache.get<UserScore>(key) == alice);
  // It is stored as the JSON object nlohmann_json makes of it.
  CHECK(cache.get_raw(key) == json{{"name", "alice"}, {"score", 42}});
  CHECK_FALSE(cache.get<UserScore>(unique_key()));
}

TEST_CASE_METHOD(Fixture, "The UserCache example takes a few lines") {
  UserCache users{cache};
  users.store_user(UserScore{"alice", 42});
  CHECK(users.look_up_user("alice") == UserScore{"alice", 42});
  CHECK_FALSE(users.look_up_user("bob"));
}

TEST_CASE_METHOD(Fixture, "Standard types convert too") {
  const std::string key = unique_key();
  cache.put(key, std::vector<int>{1, 2, 3}, 60);
  CHECK(cache.get<std::vector<int>>(key) == std::vector<int>{1, 2, 3});
  cache.put(key, std::map<std::string, double>{{"pi", 3.25}}, 60);
  CHECK(cache.get<std::map<std::string, double>>(key) ==
        std::map<std::string, double>{{"pi", 3.25}});
  cache.put(key, std::string{"plain"}, 60);
  CHECK(cache.get<std::string>(key) == "plain");
  cache.put(key, json{{"as", "json"}}, 60);
  CHECK(cache.get<json>(key) == json{{"as", "json"}});
}

TEST_CASE_METHOD(Fixture,
                 "A stored value that does not convert is a ConversionError naming "
                 "key, type and reason, and stays stored") {
  const std::string key = "score:stale";
  cache.put_raw(key, json{{"name", "alice"}, {"score", "forty-two"}}, 60);
  try {
    (void)cache.get<UserScore>(key);
    FAIL("no ConversionError");
  } catch (const psycache::ConversionError& e) {
    CHECK_THAT(e.what(), Contains("\"score:stale\"") && Contains("UserScore") &&
                             Contains("type must be number, but is string"));
  }
  cache.put_raw(key, json{{"name", "alice"}}, 60);
  CHECK_THROWS_WITH(cache.get<UserScore>(key), Contains("key 'score' not found"));
  CHECK(cache.get_raw(key));
  // The caller decides: here, treat it as a miss and overwrite it.
  cache.put(key, UserScore{"alice", 43}, 60);
  CHECK(cache.get<UserScore>(key) == UserScore{"alice", 43});
}

TEST_CASE_METHOD(Fixture, "A value that does not convert to JSON is a ConversionError") {
  CHECK_THROWS_AS(cache.put(unique_key(), Unwritable{}, 60), psycache::ConversionError);
  CHECK_THROWS_WITH(cache.put("k", Unwritable{}, 60),
                    Contains("Unwritable") && Contains("does not convert to JSON"));
}
