// The schema option, and installing the extension with init_db.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <psycache/psycache.hpp>

#include "init_db_internal.hpp"
#include "support/test_db.hpp"

using Catch::Matchers::Contains;
using nlohmann::json;
using psycache::test::query_value;

namespace {

void drop_extension() {
  const auto connection = psycache::test::connect();
  pqxx::nontransaction{*connection}.exec(
      "DROP EXTENSION IF EXISTS psycache CASCADE; DROP SCHEMA IF EXISTS cache_a CASCADE;"
      "DROP SCHEMA IF EXISTS cache_b CASCADE; DROP SCHEMA IF EXISTS \"Cache Mixed\" CASCADE;");
}

}  // namespace

TEST_CASE("A cache with the extension's schema uses that schema's table") {
  psycache::test::reset_extension("cache_a");
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool, {.schema = "cache_a"}};
  cache.put_raw("k", json{{"schema", "cache_a"}}, 60);
  CHECK(cache.get_raw("k") == json{{"schema", "cache_a"}});
  CHECK(*query_value("SELECT value->>'schema' FROM cache_a.psycache WHERE key = 'k'") == "cache_a");
  CHECK(cache.flush() == 1);
}

TEST_CASE("A schema name is used exactly as written, case and spaces included") {
  // (PostgreSQL refuses quotes, $, ' and \\ in the schema of a non-relocatable
  // extension.)
  psycache::test::reset_extension("Cache Mixed");
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool, {.schema = "Cache Mixed"}};
  cache.put_raw("k", json{{"quoted", true}}, 60);
  CHECK(cache.get_raw("k") == json{{"quoted", true}});
  CHECK(cache.remove("k"));
}

TEST_CASE("A cache on a schema without the extension says where it looked") {
  psycache::test::reset_extension("cache_a");
  psycache::ConnectionPool pool{psycache::test::dsn()};

  SECTION("the schema does not exist") {
    psycache::PostgresCache cache{pool, {.schema = "cache_b"}};
    try {
      (void)cache.get_raw("k");
      FAIL("no error");
    } catch (const psycache::ServerError& e) {
      CHECK(e.sqlstate() == "3F000");
      CHECK_THAT(e.what(), Contains("schema \"cache_b\" does not exist") &&
                               Contains("is the psycache extension installed in schema") &&
                               Contains("CacheOptions::schema"));
    }
  }
  SECTION("the schema exists, the extension is elsewhere") {
    psycache::PostgresCache cache{pool};  // public
    try {
      cache.put_raw("k", json{}, 60);
      FAIL("no error");
    } catch (const psycache::ServerError& e) {
      CHECK(e.sqlstate() == "42883");
      CHECK_THAT(e.what(), Contains("psycache_put") && Contains("\"public\""));
    }
  }
  // The pool's connections are fine afterwards.
  psycache::PostgresCache right{pool, {.schema = "cache_a"}};
  right.put_raw("k", json{{"ok", true}}, 60);
  CHECK(right.get_raw("k") == json{{"ok", true}});
}

TEST_CASE("An empty or invalid schema name is refused") {
  psycache::ConnectionPool pool{"host=127.0.0.1"};
  CHECK_THROWS_WITH(psycache::PostgresCache(pool, {.schema = ""}),
                    Contains("schema must not be empty"));
  CHECK_THROWS_AS(psycache::PostgresCache(pool, {.schema = std::string(64, 's')}),
                  psycache::InvalidArgument);
  CHECK_THROWS_WITH(psycache::init_db_sql({.schema = ""}), Contains("schema must not be empty"));
  const auto connection = psycache::test::connect();
  CHECK_THROWS_WITH(psycache::init_db(*connection, {.schema = ""}),
                    Contains("schema must not be empty"));
}

TEST_CASE("init_db_sql is the statement init_db runs") {
  CHECK(psycache::init_db_sql() == "CREATE EXTENSION IF NOT EXISTS psycache;");
  CHECK(psycache::init_db_sql({.schema = "app_cache"}) ==
        "CREATE EXTENSION IF NOT EXISTS psycache SCHEMA \"app_cache\";");
  CHECK(psycache::init_db_sql({.schema = "My \"Cache\""}) ==
        "CREATE EXTENSION IF NOT EXISTS psycache SCHEMA \"My \"\"Cache\"\"\";");
}

TEST_CASE("init_db creates the extension, and again is harmless") {
  drop_extension();
  const auto connection = psycache::test::connect();
  CHECK(psycache::init_db(*connection) == "public");
  CHECK(psycache::init_db(*connection) == "public");
  CHECK(*query_value("SELECT extversion FROM pg_extension WHERE extname = 'psycache'") == "1.1");
  // The very table the Python psycache creates.
  CHECK(
      *query_value("SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || "
                   "CASE WHEN attnotnull THEN ' not null' ELSE '' END, ', ' ORDER BY attnum) "
                   "FROM pg_attribute WHERE attrelid = 'public.psycache'::regclass AND attnum > 0 "
                   "AND NOT attisdropped") ==
      "key text not null, value jsonb not null, expires_at timestamp with time zone not null");
  CHECK(*query_value(
            "SELECT relpersistence FROM pg_class WHERE oid = 'public.psycache'::regclass") == "u");
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool};
  cache.put_raw("k", json{{"initialized", true}}, 60);
  CHECK(cache.get_raw("k") == json{{"initialized", true}});
}

TEST_CASE("init_db installs into a given schema, which must exist") {
  drop_extension();
  const auto connection = psycache::test::connect();
  try {
    (void)psycache::init_db(*connection, {.schema = "cache_a"});
    FAIL("no error");
  } catch (const psycache::ServerError& e) {
    CHECK(e.sqlstate() == "3F000");
    CHECK_THAT(e.what(), Contains("schema \"cache_a\" does not exist") &&
                             Contains("CREATE SCHEMA \"cache_a\""));
  }
  pqxx::nontransaction{*connection}.exec("CREATE SCHEMA cache_a");
  CHECK(psycache::init_db(*connection, {.schema = "cache_a"}) == "cache_a");
  CHECK(psycache::init_db(*connection, {.schema = "cache_a"}) == "cache_a");
  CHECK(psycache::init_db(*connection) == "cache_a");  // it exists: the default finds it
  pqxx::nontransaction{*connection}.exec("CREATE SCHEMA cache_b");
  CHECK_THROWS_WITH(
      psycache::init_db(*connection, {.schema = "cache_b"}),
      Contains("already installed in schema \"cache_a\"") && Contains("not in \"cache_b\""));
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool, {.schema = "cache_a"}};
  cache.put_raw("k", json{{"a", 1}}, 60);
  CHECK(cache.get_raw("k") == json{{"a", 1}});
}

TEST_CASE("init_db on a server without the extension's files says how to install them") {
  // psycache itself is installed on the test server, so ask for one that is not.
  const auto connection = psycache::test::connect();
  try {
    (void)psycache::detail::create_extension(*connection, "psycache_not_installed", {});
    FAIL("no error");
  } catch (const psycache::ServerError& e) {
    CHECK(e.sqlstate() == "0A000");
    CHECK_THAT(e.what(), Contains("not installed on the PostgreSQL server") &&
                             Contains("make && sudo make install") &&
                             Contains("psycache_not_installed"));
  }
  // The connection is still usable.
  CHECK(psycache::init_db(*connection) == psycache::init_db(*connection));
}

TEST_CASE("init_db refuses a connection with a transaction open, without harm") {
  psycache::test::reset_extension();
  const auto connection = psycache::test::connect();
  {
    pqxx::work transaction{*connection};
    CHECK_THROWS_AS(psycache::init_db(*connection), psycache::Error);
  }
  CHECK(psycache::init_db(*connection) == "public");
}
