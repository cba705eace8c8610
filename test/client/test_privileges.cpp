// Privileges through the client: a role without grants can neither read nor
// write nor clean up; a role granted reading only cannot write. Each refusal
// is a ServerError with SQLSTATE 42501, even in fail-open mode, and nothing
// stored is touched.
#include <string>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <psycache/psycache.hpp>

#include "support/test_db.hpp"

using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

// Runs sql as the test's superuser.
void admin(const std::string& sql) {
  const auto connection = psycache::test::connect();
  pqxx::nontransaction transaction{*connection};
  transaction.exec(sql);
}

// A fresh extension and the two roles: psycache_client_nobody (no grant) and
// psycache_client_reader (EXECUTE on every function, SELECT on the table).
void reset_roles() {
  psycache::test::reset_extension();
  for (const char* role : {"psycache_client_nobody", "psycache_client_reader"}) {
    admin(std::string{"DO $$BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '"} + role +
          "') THEN DROP OWNED BY " + role + "; DROP ROLE " + role + "; END IF; END$$");
    admin(std::string{"CREATE ROLE "} + role + " LOGIN");
  }
  admin(
      "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO psycache_client_reader;"
      "GRANT SELECT ON public.psycache TO psycache_client_reader");
}

template <class Operation>
void check_refused(Operation operation) {
  try {
    operation();
    FAIL("no error");
  } catch (const psycache::ServerError& e) {
    CHECK(e.sqlstate() == "42501");
    CHECK_THAT(e.what(), Contains("permission denied") && Contains("(SQLSTATE 42501)") &&
                             Contains("see README, \"Privileges\""));
  }
}

}  // namespace

TEST_CASE("A role without grants can neither read, write, clean up nor flush") {
  reset_roles();
  psycache::ConnectionPool owner_pool{psycache::test::dsn()};
  psycache::PostgresCache owner{owner_pool};
  owner.put_raw("secret", json{{"s", "s3cr3t"}}, 600);

  psycache::ConnectionPool pool{psycache::test::dsn() + " user=psycache_client_nobody"};
  for (const bool fail_open : {false, true}) {
    INFO("fail_open: " << fail_open);
    psycache::PostgresCache cache{pool, {.fail_open = fail_open}};
    check_refused([&] { (void)cache.get_raw("secret"); });
    check_refused([&] { cache.put_raw("secret", json{{"s", "stolen"}}, 600); });
    check_refused([&] { (void)cache.remove("secret"); });
    check_refused([&] { (void)cache.cleanup_expired(); });
    check_refused([&] { (void)cache.flush(); });
    check_refused([&] { (void)cache.stats(); });
  }
  CHECK(owner.get_raw("secret") == json{{"s", "s3cr3t"}});
  CHECK(owner.stats().entries == 1);
}

TEST_CASE("A role granted reading only can get, and cannot write") {
  reset_roles();
  psycache::ConnectionPool owner_pool{psycache::test::dsn()};
  psycache::PostgresCache owner{owner_pool};
  owner.put_raw("shared", json{{"v", 1}}, 600);
  owner.put_raw("expired", json{{"v", 0}}, -1);

  psycache::ConnectionPool pool{psycache::test::dsn() + " user=psycache_client_reader"};
  psycache::PostgresCache reader{pool};
  CHECK(reader.get_raw("shared") == json{{"v", 1}});
  CHECK(reader.get_raw("missing") == std::nullopt);
  CHECK(reader.stats().entries == 2);
  check_refused([&] { reader.put_raw("shared", json{{"v", 2}}, 600); });
  check_refused([&] { reader.put_raw("planted", json{{"v", 2}}, 600); });
  check_refused([&] { (void)reader.remove("shared"); });
  check_refused([&] { (void)reader.cleanup_expired(); });
  check_refused([&] { (void)reader.flush(); });
  CHECK(owner.get_raw("shared") == json{{"v", 1}});
  CHECK(owner.stats().entries == 2);
}
