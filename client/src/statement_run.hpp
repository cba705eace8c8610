// How the sync cache runs a statement: on a connection leased from its pool, with libpq directly.
// One round trip (two the first time a connection sees the statement, which libpqxx prepares),
// and no system call beyond the round trip's send, poll and receive: libpqxx's own statement
// calls add a transaction object, a result wrapper and, after every statement, a check for
// notifications that costs a recv(2).
#pragma once

#include <span>

#include <psycache/pg_result.hpp>
#include <psycache/pool.hpp>

#include "cache_common.hpp"

namespace psycache::detail {

class OperationWatchdog;

// Runs statement with params (text, none NULL) on a connection of pool and returns its result,
// whatever its status (result_fields.hpp reads it). Throws libpqxx's exceptions when the connection
// fails, which error_translation.hpp translates, or OperationTimedOut when watchdog (if not null)
// closed the connection because no answer came in time.
PgResult run_statement(PoolHandle& pool, const Statement& statement,
                       std::span<const char* const> params, OperationWatchdog* watchdog);

}  // namespace psycache::detail
