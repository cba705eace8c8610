// The SQL-callable functions: thin extern "C" entry points, each running its C++ body through
// the one guard of boundary.hpp.
#include "pg.hpp"
// The standard headers come after PostgreSQL's, which must be first.
#include <string>

#include "arguments.hpp"
#include "boundary.hpp"
#include "errors.hpp"
#include "statements.hpp"

namespace psycache {
namespace {

// The (value, size) record of psycache_get, built in the caller's memory context.
Datum GetRecord(FunctionCallInfo fcinfo, Datum* columns, bool* nulls) {
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) {
    elog(ERROR, "psycache_get must return a record");
  }
  desc = BlessTupleDesc(desc);
  return HeapTupleGetDatum(heap_form_tuple(desc, columns, nulls));
}

// psycache_get(key) -> (value, size): NULLs when the key is missing or expired.
Datum Get(FunctionCallInfo fcinfo) {
  Datum args[] = {KeyArgument(fcinfo, 0)};
  StatementResult found = RunStatement(fcinfo, Statement::kGet, args);
  bool miss[2] = {true, true};
  bool* nulls = found.rows > 0 ? found.nulls : miss;
  Datum* columns = found.columns;
  return PgCall([fcinfo, columns, nulls] { return GetRecord(fcinfo, columns, nulls); });
}

// psycache_put(key, value, ttl) -> the stored size of value, in bytes.
Datum Put(FunctionCallInfo fcinfo) {
  // A braced list is evaluated left to right: the arguments are checked in order.
  Datum args[] = {KeyArgument(fcinfo, 0), ValueArgument(fcinfo, 1),
                  TimestampTzGetDatum(ExpiryArgument(fcinfo, 2))};
  StatementResult stored = RunStatement(fcinfo, Statement::kPut, args);
  if (stored.rows != 1 || stored.nulls[0]) {
    throw Error(ERRCODE_INTERNAL_ERROR,
                "psycache_put stored " + std::to_string(stored.rows) + " rows instead of one");
  }
  return stored.columns[0];
}

// psycache_remove(key) -> whether a live entry was removed (an expired one is deleted as well).
Datum Remove(FunctionCallInfo fcinfo) {
  Datum args[] = {KeyArgument(fcinfo, 0)};
  StatementResult removed = RunStatement(fcinfo, Statement::kRemove, args);
  bool live = removed.rows > 0 && !removed.nulls[0] && DatumGetBool(removed.columns[0]);
  return BoolGetDatum(live);
}

// psycache_cleanup() -> how many expired entries were deleted.
Datum Cleanup(FunctionCallInfo fcinfo) {
  return Int64GetDatum(static_cast<int64>(RunStatement(fcinfo, Statement::kCleanup, nullptr).rows));
}

// psycache_flush() -> how many entries were deleted.
Datum Flush(FunctionCallInfo fcinfo) {
  return Int64GetDatum(static_cast<int64>(RunStatement(fcinfo, Statement::kFlush, nullptr).rows));
}

}  // namespace
}  // namespace psycache

extern "C" {

PG_FUNCTION_INFO_V1(psycache_get);
Datum psycache_get(PG_FUNCTION_ARGS) { return psycache::Guard(fcinfo, psycache::Get); }

PG_FUNCTION_INFO_V1(psycache_put);
Datum psycache_put(PG_FUNCTION_ARGS) { return psycache::Guard(fcinfo, psycache::Put); }

PG_FUNCTION_INFO_V1(psycache_remove);
Datum psycache_remove(PG_FUNCTION_ARGS) { return psycache::Guard(fcinfo, psycache::Remove); }

PG_FUNCTION_INFO_V1(psycache_cleanup);
Datum psycache_cleanup(PG_FUNCTION_ARGS) { return psycache::Guard(fcinfo, psycache::Cleanup); }

PG_FUNCTION_INFO_V1(psycache_flush);
Datum psycache_flush(PG_FUNCTION_ARGS) { return psycache::Guard(fcinfo, psycache::Flush); }
}
