// CacheOptions: how a PostgresCache finds its table and what it reports to.
//
// A plain struct; every member has a working default, so `CacheOptions{}` is a
// cache on the extension installed in schema "public" with no instrumentation.
//
// Errors: PostgresCache's constructor validates the options and throws
// InvalidArgument for a schema name that is empty, longer than 63 bytes
// (PostgreSQL's identifier limit), not valid UTF-8 or containing a NUL byte,
// and for a null instrumentation.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <psycache/instrumentation.hpp>

namespace psycache {

struct CacheOptions {
  // The schema the psycache extension was created in (`CREATE EXTENSION
  // psycache SCHEMA ...`, or init_db with InitOptions::schema). A database holds
  // at most one psycache, so this names where it is, not which of several.
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
};

}  // namespace psycache
