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

}  // namespace psycache::detail
