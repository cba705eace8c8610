// The SQL behind each cache function, run through SPI with plans prepared once per backend.
#pragma once

#include "pg.hpp"

namespace psycache {

enum class Statement { kGet, kPut, kRemove, kCleanupBatch, kFlush, kStats, kPutReturning };

// The most columns of a statement's first row that StatementResult keeps.
constexpr int kMaxStatementColumns = 3;

// What a statement returns: how many rows it processed and the first row's columns (at most
// kMaxStatementColumns), copied into the caller's memory context.
struct StatementResult {
  uint64 rows;
  Datum columns[kMaxStatementColumns];
  bool nulls[kMaxStatementColumns];
};

// The quoted name of the schema of the extension that owns the function being called, palloc'd;
// its OID in *schema. Refuses a call that does not come from SQL, and a schema that is gone.
const char* ExtensionSchema(FunctionCallInfo fcinfo, Oid* schema);

// The OID of the cache table of the extension that owns the function being called: the table
// named psycache in the schema ExtensionSchema returns, or InvalidOid when there is none. Both are
// remembered per backend until an invalidation message may concern them (schema_lookup.cpp), so
// the answer is what a catalog cache probe gives now (no lock taken): a caller that locks the
// table must look again if invalidation messages arrived meanwhile, as RangeVarGetRelidExtended
// does.
Oid CacheTable(FunctionCallInfo fcinfo);

// The cache table (CacheTable), locked in mode until the end of the transaction; InvalidOid when
// there is none. If invalidation messages arrived while the lock was taken (a DROP, a rename), the
// table is looked up again, as RangeVarGetRelidExtended does.
Oid LockCacheTable(FunctionCallInfo fcinfo, LOCKMODE mode);

// Runs statement with args (see statements.cpp for each one's parameters) on the cache table of
// the extension that owns the function being called, whatever the caller's search_path is.
StatementResult RunStatement(FunctionCallInfo fcinfo, Statement statement, Datum* args);

// The SQL of one cleanup batch on table (a quoted, schema-qualified name), palloc'd; shared by
// psycache_cleanup and the worker. Parameters: $1 integer, the most rows to delete; $2
// timestamptz, where to resume: no expiry below it is left from the batches before. It deletes
// the expired rows with the lowest expiries at or after $2 that no other transaction has
// locked (SKIP LOCKED: a batch never waits for a writer), and returns one row: how many it
// deleted (bigint) and the highest expiry among them (NULL when none). A C function that may
// ereport: call it through PgCall from C++.
char* CleanupBatchSql(const char* table);

}  // namespace psycache
