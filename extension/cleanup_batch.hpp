// One batch of a cleanup pass, for the cleanup worker and for psycache_cleanup()'s worker: the
// batch statement (CleanupBatchSql) is prepared once per pass and kept, and each batch only
// executes it. Parsing and planning it again for every batch cost about as much server CPU as
// deleting the batch's rows.
//
// Plain C-style code: both callers run outside any C++ error boundary.
#pragma once

#include "pg.hpp"

namespace psycache {

// The batch statement of one cache table, prepared. Lives in TopMemoryContext.
struct CleanupBatch {
  SPIPlanPtr plan;  // kept (SPI_keepplan): it outlives the transaction it was made in
  char* sql;        // what pg_stat_activity shows while a batch runs
  char* table;      // the quoted, schema-qualified name the statement was written with
};

// Prepares the batch statement for table (quoted and schema-qualified) as role. Call it connected
// to SPI, inside a transaction. Free the result with FreeCleanupBatch.
CleanupBatch* PrepareCleanupBatch(const char* table, Oid role);

// Frees what PrepareCleanupBatch made; batch may be nullptr. Also after the transaction aborted.
void FreeCleanupBatch(CleanupBatch* batch);

// Deletes one batch of at most batch_size expired entries with batch, as role, restricted the way
// maintenance commands are (no SET, no temporary objects). Returns how many it deleted, and moves
// *resume_from to the highest expiry among them. Call it connected to SPI, inside a transaction,
// with an active snapshot.
int64 RunCleanupBatch(const CleanupBatch* batch, Oid role, int32 batch_size,
                      TimestampTz* resume_from);

}  // namespace psycache
