// The SQL behind the functions that version 1.1 adds (batches, add, touch, ttl, incr), run
// through SPI with plans prepared once per backend and extension schema, as in statements.hpp.
#pragma once

#include "pg.hpp"
// The standard headers come after PostgreSQL's, which must be first.
#include "statements.hpp"

extern "C" {
#include "utils/tuplestore.h"
}

namespace psycache {

// Each statement's parameters and result are described with its SQL in statements_1_1.cpp.
enum class Statement11 { kGetMany, kPutMany, kRemoveMany, kAdd, kTouch, kTtl, kIncr };

// Runs statement with args on the cache table of the extension that owns the function being
// called, whatever the caller's search_path is. Returns the number of rows processed and the
// first row's columns; when sink is not null, also appends every row to it (its descriptor must
// match the statement's columns), with values stored out of line (TOAST) fetched, so the
// tuplestore never points into the table.
StatementResult RunStatement11(FunctionCallInfo fcinfo, Statement11 statement, Datum* args,
                               Tuplestorestate* sink = nullptr, TupleDesc sink_desc = nullptr);

}  // namespace psycache
