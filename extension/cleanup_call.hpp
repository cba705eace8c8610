// psycache_cleanup() outside a transaction block: its batches run in a short background worker,
// each batch in a transaction of its own, as the calling role. A SQL function cannot commit, and
// in the caller's one transaction every row that a batch deleted stays locked until the whole
// call ends: a put of such a key waited for all of it (seconds, for a large backlog). In
// transactions of their own, a put waits for one batch at most, as with the cleanup worker.
//
// Plain C-style code: the worker's entry point runs outside any C++ error boundary.
#pragma once

#include "pg.hpp"

namespace psycache {

// Deletes the expired entries of table (its OID and its quoted, schema-qualified name),
// batch_size at a time, in a background worker as the current user, and returns how many. Returns
// -1, having deleted nothing, when the batches must share the caller's transaction instead:
// inside a transaction block (a ROLLBACK must undo them), in a read-only transaction, when the
// caller already holds a lock on the table that would make the worker wait for it, or when no
// background worker slot is free. Raises the worker's error. May ereport: call it through PgCall.
int64 CleanupInOwnTransactions(Oid relation, const char* table, int32 batch_size);

}  // namespace psycache

extern "C" {
// The worker of one psycache_cleanup() call; argument is the handle of its DSM segment.
PGDLLEXPORT void psycache_cleanup_call_main(Datum argument);
}
