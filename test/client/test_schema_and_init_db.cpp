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
      "DROP SCHEMA IF EXISTS cache_b CASCADE; DROP SCHEMA IF EXISTS \"Cache Mixed\" CASCADE;"
      "DROP TABLE IF EXISTS public.psycache;");
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

TEST_CASE("init_db_sql is the SQL init_db runs") {
  CHECK(psycache::init_db_sql() == "CREATE EXTENSION IF NOT EXISTS psycache;");
  CHECK_THAT(psycache::init_db_sql({.schema = "app_cache"}),
             Catch::Matchers::StartsWith(
                 "CREATE EXTENSION IF NOT EXISTS psycache SCHEMA \"app_cache\";\nDO $psycache$") &&
                 Contains("IF home <> 'app_cache' THEN") &&
                 Contains("psycache_create_cache(%L)', home, 'app_cache')"));
  CHECK_THAT(psycache::init_db_sql({.schema = "My \"Cache\""}),
             Catch::Matchers::StartsWith(
                 "CREATE EXTENSION IF NOT EXISTS psycache SCHEMA \"My \"\"Cache\"\"\";"));
}

TEST_CASE("init_db_sql of the portable install is the script for the schema") {
  const std::string sql = psycache::init_db_sql({.schema = "My Cache", .portable = true});
  CHECK_THAT(sql, Contains("CREATE UNLOGGED TABLE IF NOT EXISTS \"My Cache\".psycache (") &&
                      Contains("CREATE OR REPLACE FUNCTION \"My Cache\".psycache_get(key text") &&
                      !Contains("@schema@") && !Contains("CREATE EXTENSION"));
  CHECK_THAT(psycache::init_db_sql({.portable = true}), Contains("\"public\".psycache_put("));
  CHECK_THROWS_WITH(psycache::init_db_sql({.schema = "it's", .portable = true}),
                    Contains("refuses the characters"));
  CHECK_THROWS_WITH(psycache::init_db_sql({.schema = "$x", .portable = true}),
                    Contains("refuses the characters"));
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
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool, {.schema = "cache_a"}};
  cache.put_raw("k", json{{"a", 1}}, 60);
  CHECK(cache.get_raw("k") == json{{"a", 1}});
}

TEST_CASE("init_db in another schema makes a second cache, with entries of its own") {
  drop_extension();
  const auto connection = psycache::test::connect();
  pqxx::nontransaction{*connection}.exec("CREATE SCHEMA cache_a; CREATE SCHEMA cache_b");
  CHECK(psycache::init_db(*connection, {.schema = "cache_a"}) == "cache_a");
  CHECK(psycache::init_db(*connection, {.schema = "cache_b"}) == "cache_b");
  CHECK(psycache::init_db(*connection, {.schema = "cache_b"}) == "cache_b");  // harmless again
  CHECK(*query_value("SELECT extnamespace::regnamespace::text FROM pg_extension "
                     "WHERE extname = 'psycache'") == "cache_a");
  CHECK(*query_value("SELECT string_agg(schema_name, ',') FROM cache_a.psycache_caches()") ==
        "cache_a,cache_b");

  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache a{pool, {.schema = "cache_a"}};
  psycache::PostgresCache b{pool, {.schema = "cache_b"}};
  a.put_raw("k", json{{"cache", "a"}}, 60);
  b.put_raw("k", json{{"cache", "b"}}, 60);
  b.put_raw("expired", json{}, -1);
  CHECK(a.get_raw("k") == json{{"cache", "a"}});
  CHECK(b.get_raw("k") == json{{"cache", "b"}});
  CHECK(a.stats().entries == 1);
  CHECK(b.stats().entries == 2);
  CHECK(a.cleanup_expired() == 0);
  CHECK(b.cleanup_expired() == 1);
  CHECK(a.flush() == 1);
  CHECK(b.get_raw("k") == json{{"cache", "b"}});
  CHECK(b.remove("k"));
  CHECK(b.stats().entries == 0);
}

TEST_CASE("init_db installs the portable functions, which the cache uses unchanged") {
  drop_extension();
  const auto connection = psycache::test::connect();
  pqxx::nontransaction{*connection}.exec("CREATE SCHEMA cache_a");
  CHECK(psycache::init_db(*connection, {.schema = "cache_a", .portable = true}) == "cache_a");
  CHECK(psycache::init_db(*connection, {.schema = "cache_a", .portable = true}) == "cache_a");
  CHECK(*query_value("SELECT count(*) FROM pg_extension WHERE extname = 'psycache'") == "0");
  // PL/pgSQL, and SQL for psycache_caches (as the extension's).
  CHECK(*query_value("SELECT string_agg(DISTINCT l.lanname, ',' ORDER BY l.lanname) FROM pg_proc "
                     "AS p JOIN pg_language AS l ON l.oid = p.prolang WHERE p.pronamespace = "
                     "'cache_a'::regnamespace") == "plpgsql,sql");
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool, {.schema = "cache_a"}};
  cache.put_raw("k", json{{"portable", true}}, 60);
  CHECK(cache.get_raw("k") == json{{"portable", true}});
  CHECK(cache.stats().entries == 1);
  // Running it again keeps the entries.
  (void)psycache::init_db(*connection, {.schema = "cache_a", .portable = true});
  CHECK(cache.get_raw("k") == json{{"portable", true}});

  try {
    (void)psycache::init_db(*connection, {.schema = "cache_b", .portable = true});
    FAIL("no error");
  } catch (const psycache::ServerError& e) {
    CHECK(e.sqlstate() == "3F000");
    CHECK_THAT(e.what(), Contains("CREATE SCHEMA \"cache_b\""));
  }
  CHECK(cache.get_raw("k") == json{{"portable", true}});
}

TEST_CASE("The portable install refuses a schema that holds the extension's functions") {
  psycache::test::reset_extension("cache_a");
  const auto connection = psycache::test::connect();
  try {
    (void)psycache::init_db(*connection, {.schema = "cache_a", .portable = true});
    FAIL("no error");
  } catch (const psycache::ServerError& e) {
    CHECK(e.sqlstate() == "42723");
    CHECK_THAT(e.what(), Contains("schema \"cache_a\" holds the psycache extension's"));
  }
  CHECK(*query_value("SELECT l.lanname FROM pg_proc AS p JOIN pg_language AS l ON l.oid = "
                     "p.prolang WHERE p.oid = 'cache_a.psycache_get(text)'::regprocedure") == "c");
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
