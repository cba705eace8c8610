// The libpq connection inside a libpqxx one, so that the sync cache can run its statements with
// libpq directly (statement_run.hpp).
#pragma once

#include <libpq-fe.h>

#include <pqxx/connection_base>

namespace psycache::detail {

// connection's PGconn: nullptr while it is closed. libpqxx keeps owning it.
PGconn* libpq_handle(const pqxx::connection_base& connection) noexcept;

}  // namespace psycache::detail
