// The UserCache example: a typed cache of user scores in front of a slow
// look-up, the way a service would use psycache. `./run demo` runs it.
//
//   user_cache_example [DSN]      (default: $PSYCACHE_DSN, else libpq's defaults)
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include <psycache/psycache.hpp>

struct UserScore {
  std::string name;
  int score = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(UserScore, name, score)

// Scores, cached for a while: the database behind them is slow.
class UserCache {
 public:
  UserCache(psycache::PostgresCache cache, psycache::Ttl ttl)
      : cache_(std::move(cache)), ttl_(ttl) {}

  UserScore score_of(const std::string& name) {
    if (std::optional<UserScore> cached = cache_.get<UserScore>("user:" + name, "user score")) {
      std::cout << "  hit   " << name << " -> " << cached->score << '\n';
      return *cached;
    }
    UserScore fresh = slow_look_up(name);
    cache_.put("user:" + name, fresh, ttl_, "user score");
    std::cout << "  miss  " << name << " -> " << fresh.score << " (looked up, cached)\n";
    return fresh;
  }

 private:
  static UserScore slow_look_up(const std::string& name) {
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
    return {name, static_cast<int>(name.size()) * 10};
  }

  psycache::PostgresCache cache_;
  psycache::Ttl ttl_;
};

int main(int argc, char** argv) {
  const char* env_dsn = std::getenv("PSYCACHE_DSN");
  const std::string dsn = argc > 1 ? argv[1] : (env_dsn != nullptr ? env_dsn : "");
  try {
    pqxx::connection admin{dsn};
    psycache::init_db(admin);

    psycache::ConnectionPool pool{dsn};
    UserCache users{psycache::PostgresCache{pool}, std::chrono::seconds{1}};

    std::cout << "first requests go to the slow look-up:\n";
    users.score_of("ada");
    users.score_of("grace");
    std::cout << "repeated requests come from the cache:\n";
    users.score_of("ada");
    users.score_of("grace");
    std::cout << "after the 1 s ttl, the entries have expired:\n";
    std::this_thread::sleep_for(std::chrono::milliseconds{1100});
    users.score_of("ada");
  } catch (const std::exception& e) {  // psycache::Error, or libpqxx from the admin connection
    std::cerr << "user_cache_example: " << e.what() << '\n';
    return 1;
  }
}
