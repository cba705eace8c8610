// psycache_get's read of one entry (and psycache_get_many's of each key) straight through the cache
// table's primary key index: what the executor does for the SELECT of the SPI path, without
// starting an executor.
#pragma once

#include "pg.hpp"

extern "C" {
#include "utils/tuplestore.h"
}

namespace psycache {

enum class IndexGetOutcome {
  kDone,           // *result holds the record to return: the value and its size, or two NULLs
  kNotApplicable,  // the table is not as the extension created it: run the SQL instead
};

// Looks key up in the cache table of the function being called and forms the record of desc:
// the value and its stored size (pg_column_size) when the entry is live, NULLs when it is missing
// or expired. Behaves as the SPI statement it replaces: AccessShareLock on the table and the
// index, kept to the end of the transaction; the caller's SELECT privilege on the table (or on
// each column read); a new snapshot and the command counter advanced, as SPI does for a volatile
// function; expiry compared with statement_timestamp(). It declines (kNotApplicable, having
// changed nothing but locking the table) whenever the SQL could behave differently or must raise
// an error: no cache table; a caller without the privilege (the SQL then refuses it, with the
// statement as the error's context, as before); a server in recovery (a standby); row-level
// security enabled; a permission hook installed; columns that are not key text, value jsonb,
// expires_at timestamptz; a primary key that is not a btree on key with the default text
// operators and a deterministic collation.
IndexGetOutcome IndexGet(FunctionCallInfo fcinfo, Datum key, TupleDesc desc, Datum* result);

// psycache_get_many's read, the same way for a batch: one snapshot, one index scan and the locks
// taken once, then for each of the count keys, in order, a row (key, value, size) appended to
// sink (of sink_desc), with NULLs for a missing or expired key, as the SQL's LEFT JOIN gives. It
// declines in the same cases as IndexGet, before appending anything.
IndexGetOutcome IndexGetMany(FunctionCallInfo fcinfo, const Datum* keys, int count,
                             Tuplestorestate* sink, TupleDesc sink_desc);

}  // namespace psycache
