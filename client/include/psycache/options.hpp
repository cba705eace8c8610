// CacheOptions: how a PostgresCache finds its table and what it reports to.
//
// A plain struct; every member has a working default, so `CacheOptions{}` is a
// cache on the extension installed in schema "public" with no instrumentation.
//
// Errors: PostgresCache's constructor validates the options and throws
// InvalidArgument for a schema name that is empty, longer than 63 bytes
// (PostgreSQL's identifier limit), not valid UTF-8 or containing a NUL byte,
// for a null instrumentation and for a negative operation_timeout.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <psycache/instrumentation.hpp>

namespace psycache {

struct CacheOptions {
  // The schema of the cache: where the extension was created (`CREATE EXTENSION
  // psycache SCHEMA ...`), or a further cache made by psycache_create_cache,
  // init_db with InitOptions::schema, or a portable install.
  // Used as an identifier, exactly as written: case and special characters are
  // kept (no folding to lower case as unquoted SQL would do).
  std::string schema = "public";

  // Receivers of a span per operation; several at once are fine. Empty: no
  // instrumentation and no overhead.
  std::vector<std::shared_ptr<CacheInstrumentation>> instrumentations{};

  // The largest value put_raw/put accepts, in bytes of compact JSON text; a
  // larger one is refused with InvalidArgument before anything is sent.
  // 0 means no limit beyond the server's (1 GB for a jsonb field).
  std::size_t max_value_bytes = std::size_t{16} * 1024 * 1024;

  // The longest one statement of the cache may wait for the server's answer.
  // Past it the client shuts the connection's socket down, the operation
  // fails with TimeoutError and the pool replaces the connection. This is what
  // bounds a call to a server that stopped answering without closing the
  // connection (libpq has no read timeout); statement_timeout (PoolOptions)
  // cannot, since the server enforces it. Waiting for a pooled connection
  // (PoolOptions::acquire_timeout) and opening one (connect_timeout) are not
  // counted. Make it longer than the statement_timeout, so that a slow
  // statement is canceled by the server and the connection kept. 0 means no
  // limit; when set, the cache runs one thread to enforce it.
  std::chrono::milliseconds operation_timeout{0};

  // Fail-open: when get_raw/get or put_raw/put fail with a ConnectionError (the
  // server is down or unreachable, the connection broke, or a TimeoutError),
  // get returns a miss (std::nullopt) and put returns as if it had stored the
  // value, so an outage of the cache degrades the service instead of taking
  // it down. The error still goes to every span's record_error. Other errors
  // (bad input, a missing extension, a missing privilege) are thrown as
  // always, and remove, cleanup_expired, flush and stats always throw; so do
  // the batches (get_many, put_many) and the other operations of 1.1.
  // AsyncPostgresCache does the same for async_get/async_put: the handler
  // gets no error and a miss, or success (see async_cache.hpp).
  bool fail_open = false;
};

}  // namespace psycache
