// What the suites share: the test database, fresh keys, a server restart.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <pqxx/connection>
#include <pqxx/nontransaction>

namespace psycache::test {

// PSYCACHE_TEST_DSN; throws (failing the test) when it is not set.
std::string dsn();

// A new connection to the test database.
std::unique_ptr<pqxx::connection> connect();

// Whether the suites run against the portable install (PSYCACHE_TEST_INSTALL
// is "portable"), rather than the extension.
bool portable();

// Drops what the portable install puts in public, if it is there (and not
// the extension).
void remove_portable_install();

// Drops psycache (the extension, or a portable install in public) and the
// scratch schemas the suites use, then installs psycache in schema (the
// default: public): the extension, or the portable SQL when portable(), so
// each test starts empty.
void reset_extension(const std::string& schema = "public");

// Runs sql on a new connection; returns the first column of the first row
// as text, or nullopt for NULL or no rows.
std::optional<std::string> query_value(const std::string& sql);

// The test DSN with the server counting every function call (track_functions, read through
// function_calls).
std::string counting_dsn();

// How often public.function ran to completion, as pg_stat_user_functions tells once the backends
// that called it have reported: waits up to 15 s for at least at_least calls.
long long function_calls(const std::string& function, long long at_least);

// A key no other test uses: prefix and a random suffix.
std::string unique_key(std::string_view prefix = "key");

// Runs PSYCACHE_TEST_PG_CTL with action (e.g. "stop -m fast -w"); throws if
// it fails.
void pg_ctl(const std::string& action);

// Restarts the server: pg_ctl("restart -m fast -w").
void restart_server();

// The entry "locked" of public.psycache, stored, then held FOR UPDATE by a session of its own
// until release() (or the end of the object): meanwhile a put of that key waits on the server.
class LockedEntry {
 public:
  LockedEntry();
  void release();

 private:
  std::unique_ptr<pqxx::connection> connection_;
  std::unique_ptr<pqxx::nontransaction> session_;
};

}  // namespace psycache::test
