// The size psycache_put reports for the value it stored, computed instead of asked of the SQL.
#pragma once

#include "pg.hpp"

namespace psycache {

// Whether table has a column value of type jsonb: then StoredSize gives what the SQL's RETURNING
// would. The caller holds a lock on table that keeps ALTER TABLE away (as the statement's own
// lock does), so the answer holds until the end of the transaction.
bool ValueColumnIsJsonb(Oid table);

// What RETURNING pg_column_size(c.value) gives for a jsonb value just written to the cache table:
// the size of the datum as heap_form_tuple puts it into the row, before TOAST compresses it or
// moves it out of line. The executor evaluates RETURNING on that formed row, in which a small
// value has a one-byte header (whatever the column's storage) and a TOAST pointer stays a pointer.
int32 StoredSize(Datum value);

}  // namespace psycache
