// The batch functions of 1.1: psycache_get_many, psycache_put_many, psycache_remove_many. Each
// one is a single statement for the whole batch, so a client reads, writes or removes many keys
// in one round trip.
#include "pg.hpp"
// The standard headers come after PostgreSQL's, which must be first.
#include <string>

#include "arguments.hpp"
#include "batch_arguments.hpp"
#include "boundary.hpp"
#include "errors.hpp"
#include "index_get.hpp"
#include "statements_1_1.hpp"

extern "C" {
#include "utils/array.h"
}

namespace psycache {
namespace {

// psycache_get_many(keys) -> (key, value, size) rows: one per element of keys, in their order (a
// key given twice gives two rows); a missing or expired key has a NULL value and size. Read
// through the primary key index; by the SQL when the table is not as the extension made it (see
// index_get).
Datum GetMany(FunctionCallInfo fcinfo) {
  ArrayArgument keys = KeysArgument(fcinfo, 0);
  // Refuses a caller that cannot take a materialized set, and sets up the tuplestore.
  PgCall([fcinfo] { InitMaterializedSRF(fcinfo, 0); });
  auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  if (keys.count == 0) return Datum{0};
  if (IndexGetMany(fcinfo, keys.elements, keys.count, result->setResult, result->setDesc) ==
      IndexGetOutcome::kDone) {
    return Datum{0};
  }
  Datum args[] = {keys.array};
  RunStatement11(fcinfo, Statement11::kGetMany, args, result->setResult, result->setDesc);
  return Datum{0};
}

// psycache_put_many(keys, values, ttl) -> the stored size of each value, in the order of keys.
// A key given twice is stored once, with its last value; each of its elements reports that size.
Datum PutMany(FunctionCallInfo fcinfo) {
  // A braced list is evaluated left to right: the arguments are checked in order.
  ArrayArgument keys = KeysArgument(fcinfo, 0);
  ArrayArgument values = ValuesArgument(fcinfo, 1, keys.count);
  Datum args[] = {keys.array, values.array, TimestampTzGetDatum(ExpiryArgument(fcinfo, 2))};
  if (keys.count == 0) {
    return PgCall([] { return PointerGetDatum(construct_empty_array(INT4OID)); });
  }
  StatementResult stored = RunStatement11(fcinfo, Statement11::kPutMany, args);
  if (stored.rows != 1 || stored.nulls[0]) {
    throw Error(ERRCODE_INTERNAL_ERROR,
                "psycache_put_many stored no sizes for " + std::to_string(keys.count) + " keys");
  }
  return stored.columns[0];
}

// psycache_remove_many(keys) -> how many live entries were removed (expired ones are deleted as
// well; a key given twice counts once).
Datum RemoveMany(FunctionCallInfo fcinfo) {
  ArrayArgument keys = KeysArgument(fcinfo, 0);
  if (keys.count == 0) return Int64GetDatum(0);
  Datum args[] = {keys.array};
  StatementResult removed = RunStatement11(fcinfo, Statement11::kRemoveMany, args);
  return removed.nulls[0] ? Int64GetDatum(0) : removed.columns[0];
}

}  // namespace
}  // namespace psycache

extern "C" {

PG_FUNCTION_INFO_V1(psycache_get_many);
Datum psycache_get_many(PG_FUNCTION_ARGS) { return psycache::Guard(fcinfo, psycache::GetMany); }

PG_FUNCTION_INFO_V1(psycache_put_many);
Datum psycache_put_many(PG_FUNCTION_ARGS) { return psycache::Guard(fcinfo, psycache::PutMany); }

PG_FUNCTION_INFO_V1(psycache_remove_many);
Datum psycache_remove_many(PG_FUNCTION_ARGS) {
  return psycache::Guard(fcinfo, psycache::RemoveMany);
}
}
