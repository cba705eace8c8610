// The connection string a ConnectionPool opens its connections with.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace psycache::detail {

// dsn ("key=value ..." or a URI) as "key=value ..." with the settings the pool
// relies on added where dsn leaves them out. Throws InvalidArgument with
// libpq's reason if dsn does not parse.
std::string complete_conninfo(std::string_view dsn, std::chrono::seconds connect_timeout);

// Server settings every connection opens with, 0 meaning "leave the server's".
struct SessionTimeouts {
  std::chrono::milliseconds statement_timeout{0};
  std::chrono::milliseconds lock_timeout{0};
};

// complete_conninfo, with timeouts sent in libpq's "options" (as "-c name=value"
// after any the DSN or PGOPTIONS gives, so they win): the server applies them
// when the session starts, and no statement of the cache pays a round trip
// for them.
std::string complete_conninfo(std::string_view dsn, std::chrono::seconds connect_timeout,
                              const SessionTimeouts& timeouts);

}  // namespace psycache::detail
