// The SQL-callable functions: thin extern "C" entry points, each running its C++ body through
// the one guard of boundary.hpp.
#include "pg.hpp"
// The standard headers come after PostgreSQL's, which must be first.
#include <string>

#include "arguments.hpp"
#include "boundary.hpp"
#include "cleanup_call.hpp"
#include "cleanup_runs.hpp"
#include "cron.hpp"
#include "errors.hpp"
#include "index_get.hpp"
#include "result_types.hpp"
#include "statements.hpp"
#include "stored_size.hpp"

namespace psycache {
namespace {

// The record a function returns (its OUT columns), built in the caller's memory context.
Datum ResultRecord(TupleDesc desc, Datum* columns, bool* nulls) {
  return HeapTupleGetDatum(heap_form_tuple(desc, columns, nulls));
}

// psycache_get(key) -> (value, size): NULLs when the key is missing or expired. Read through the
// primary key index; by the SQL when the table is not as the extension made it (see index_get).
Datum Get(FunctionCallInfo fcinfo) {
  Datum args[] = {KeyArgument(fcinfo, 0)};
  TupleDesc desc = ResultDescriptor(fcinfo);
  Datum record;
  if (IndexGet(fcinfo, args[0], desc, &record) == IndexGetOutcome::kDone) return record;
  StatementResult found = RunStatement(fcinfo, Statement::kGet, args);
  bool miss[2] = {true, true};
  bool* nulls = found.rows > 0 ? found.nulls : miss;
  Datum* columns = found.columns;
  return PgCall([desc, columns, nulls] { return ResultRecord(desc, columns, nulls); });
}

// psycache_put(key, value, ttl) -> the stored size of value, in bytes.
Datum Put(FunctionCallInfo fcinfo) {
  // A braced list is evaluated left to right: the arguments are checked in order.
  Datum args[] = {KeyArgument(fcinfo, 0), ValueArgument(fcinfo, 1),
                  TimestampTzGetDatum(ExpiryArgument(fcinfo, 2))};
  // The stored size is computed rather than returned by the statement: a RETURNING list costs the
  // statement more than the rest of psycache_put's own work. The table is locked first, as the
  // statement locks it, so that its value column stays jsonb until the end of the transaction.
  const Oid table = LockCacheTable(fcinfo, RowExclusiveLock);
  const bool computed = OidIsValid(table) && ValueColumnIsJsonb(table);
  StatementResult stored =
      RunStatement(fcinfo, computed ? Statement::kPut : Statement::kPutReturning, args);
  if (stored.rows != 1 || (!computed && stored.nulls[0])) {
    throw Error(ERRCODE_INTERNAL_ERROR,
                "psycache_put stored " + std::to_string(stored.rows) + " rows instead of one");
  }
  return computed ? Int32GetDatum(StoredSize(args[1])) : stored.columns[0];
}

// psycache_remove(key) -> whether a live entry was removed (an expired one is deleted as well).
Datum Remove(FunctionCallInfo fcinfo) {
  Datum args[] = {KeyArgument(fcinfo, 0)};
  StatementResult removed = RunStatement(fcinfo, Statement::kRemove, args);
  bool live = removed.rows > 0 && !removed.nulls[0] && DatumGetBool(removed.columns[0]);
  return BoolGetDatum(live);
}

// psycache_cleanup(batch_size) -> how many expired entries were deleted, batch_size at a time.
// Each batch skips rows that a writer has locked. Outside a transaction block, each batch commits
// on its own, in a background worker (cleanup_call.hpp); else they share the caller's transaction.
Datum Cleanup(FunctionCallInfo fcinfo) {
  int32 batch_size = BatchSizeArgument(fcinfo, 0);
  Oid schema = InvalidOid;
  const std::string table = std::string(ExtensionSchema(fcinfo, &schema)) + ".psycache";
  Oid relation = PgCall([schema] { return get_relname_relid("psycache", schema); });
  if (OidIsValid(relation)) {
    const char* table_name = table.c_str();
    int64 deleted = PgCall([relation, table_name, batch_size] {
      return CleanupInOwnTransactions(relation, table_name, batch_size);
    });
    if (deleted >= 0) return Int64GetDatum(deleted);
  }
  int64 total = 0;
  Datum args[] = {Int32GetDatum(batch_size), TimestampTzGetDatum(DT_NOBEGIN)};
  for (;;) {
    StatementResult batch = RunStatement(fcinfo, Statement::kCleanupBatch, args);
    int64 deleted = DatumGetInt64(batch.columns[0]);
    total += deleted;
    if (deleted < batch_size) break;
    args[1] = batch.columns[1];  // the next batch resumes at the highest expiry deleted
  }
  return Int64GetDatum(total);
}

// psycache_flush() -> how many entries were deleted.
Datum Flush(FunctionCallInfo fcinfo) {
  return Int64GetDatum(static_cast<int64>(RunStatement(fcinfo, Statement::kFlush, nullptr).rows));
}

// An interval of us microseconds, palloc'd.
Datum MicrosecondsInterval(int64 us) {
  auto* interval = static_cast<Interval*>(palloc0(sizeof(Interval)));
  interval->time = us;
  return IntervalPGetDatum(interval);
}

// psycache_stats() -> the entries, the expired ones, the table's size, and the worker's last pass
// in this database (NULLs when it has not run since the server started).
Datum Stats(FunctionCallInfo fcinfo) {
  StatementResult counts = RunStatement(fcinfo, Statement::kStats, nullptr);
  Datum columns[7] = {counts.columns[0], counts.columns[1], counts.columns[2]};
  bool nulls[7] = {counts.nulls[0], counts.nulls[1], counts.nulls[2], true, true, true, true};
  CleanupRun run{};
  CleanupRun* run_pointer = &run;
  if (PgCall([run_pointer] { return ReadCleanupRun(MyDatabaseId, run_pointer); })) {
    columns[3] = TimestampTzGetDatum(run.start);
    columns[4] = Int64GetDatum(run.deleted);
    int64 us = run.duration_us;
    columns[5] = PgCall([us] { return MicrosecondsInterval(us); });
    nulls[3] = nulls[4] = nulls[5] = false;
    if (run.state == CleanupState::kFailed) {
      const char* error = run.error;
      columns[6] = PgCall([error] { return CStringGetTextDatum(error); });
      nulls[6] = false;
    }
  }
  Datum* columns_pointer = columns;
  bool* nulls_pointer = nulls;
  TupleDesc desc = ResultDescriptor(fcinfo);
  return PgCall([desc, columns_pointer, nulls_pointer] {
    return ResultRecord(desc, columns_pointer, nulls_pointer);
  });
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

PG_FUNCTION_INFO_V1(psycache_stats);
Datum psycache_stats(PG_FUNCTION_ARGS) { return psycache::Guard(fcinfo, psycache::Stats); }

PG_FUNCTION_INFO_V1(psycache_schedule_cleanup);
Datum psycache_schedule_cleanup(PG_FUNCTION_ARGS) {
  return psycache::Guard(fcinfo, psycache::ScheduleCleanup);
}

PG_FUNCTION_INFO_V1(psycache_unschedule_cleanup);
Datum psycache_unschedule_cleanup(PG_FUNCTION_ARGS) {
  return psycache::Guard(fcinfo, psycache::UnscheduleCleanup);
}
}
