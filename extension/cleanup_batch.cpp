#include "cleanup_batch.hpp"

#include "statements.hpp"

namespace psycache {
namespace {

// The batch statement's parameters: the batch size, and the expiry to resume from.
Oid batch_types[2] = {INT4OID, TIMESTAMPTZOID};

// Runs as role, restricted, until RestoreUser; an error in between restores the user with the
// transaction's abort.
void BecomeRole(Oid role, Oid* saved_user, int* saved_context) {
  GetUserIdAndSecContext(saved_user, saved_context);
  SetUserIdAndSecContext(
      role, *saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
}

}  // namespace

CleanupBatch* PrepareCleanupBatch(const char* table, Oid role) {
  auto* batch =
      static_cast<CleanupBatch*>(MemoryContextAllocZero(TopMemoryContext, sizeof(CleanupBatch)));
  char* sql = CleanupBatchSql(table);
  batch->sql = MemoryContextStrdup(TopMemoryContext, sql);
  batch->table = MemoryContextStrdup(TopMemoryContext, table);
  pfree(sql);

  // Parsed as the role that runs it, so that a row-level security policy is the one that applies
  // to it. A generic plan: it is the same for every batch (the expires_at index from the resume
  // point, then a TID scan), and a custom plan would be planned again each time.
  Oid saved_user = InvalidOid;
  int saved_context = 0;
  BecomeRole(role, &saved_user, &saved_context);
  SPIPlanPtr plan = SPI_prepare_cursor(batch->sql, 2, batch_types, CURSOR_OPT_GENERIC_PLAN);
  SetUserIdAndSecContext(saved_user, saved_context);
  if (plan == nullptr) {
    elog(ERROR, "could not prepare the cleanup batch: %s", SPI_result_code_string(SPI_result));
  }
  if (SPI_keepplan(plan) != 0) elog(ERROR, "SPI_keepplan failed");
  batch->plan = plan;
  return batch;
}

void FreeCleanupBatch(CleanupBatch* batch) {
  if (batch == nullptr) return;
  if (batch->plan != nullptr) SPI_freeplan(batch->plan);
  pfree(batch->sql);
  pfree(batch->table);
  pfree(batch);
}

int64 RunCleanupBatch(const CleanupBatch* batch, Oid role, int32 batch_size,
                      TimestampTz* resume_from) {
  pgstat_report_activity(STATE_RUNNING, batch->sql);
  Oid saved_user = InvalidOid;
  int saved_context = 0;
  BecomeRole(role, &saved_user, &saved_context);
  Datum values[2] = {Int32GetDatum(batch_size), TimestampTzGetDatum(*resume_from)};
  int rc = SPI_execute_plan(batch->plan, values, nullptr, false, 0);
  SetUserIdAndSecContext(saved_user, saved_context);
  if (rc != SPI_OK_SELECT || SPI_processed != 1) {
    elog(ERROR, "the cleanup batch failed: %s", SPI_result_code_string(rc));
  }

  bool isnull = false;
  int64 deleted =
      DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
  Datum highest = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
  if (!isnull) *resume_from = DatumGetTimestampTz(highest);
  return deleted;
}

}  // namespace psycache
