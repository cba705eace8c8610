// One cleanup pass in one database: a transaction per batch, as the cleanup role.
#include "cleanup_worker.hpp"

#include "cleanup_runs.hpp"
#include "settings.hpp"
#include "statements.hpp"

namespace psycache {
namespace {

enum class BatchOutcome { kMore, kDone, kNoExtension };

// The pass of this process. Static storage, so that the error handler can read what the batches
// before a failure did after the longjmp.
struct Pass {
  Oid database;
  char database_name[NAMEDATALEN];
  TimestampTz start;
  int64 deleted;
  BatchOutcome outcome;
};
Pass pass;

// Every error and log line of the worker names the database.
void PassContext(void* argument) {
  errcontext("psycache cleanup of database \"%s\"", pass.database_name);
}

// The role the batches run as: psycache.cleanup_role, or else the extension's owner.
Oid CleanupRole(Oid extension_owner) {
  if (cleanup_role == nullptr || cleanup_role[0] == '\0') return extension_owner;
  Oid role = get_role_oid(cleanup_role, true);
  if (!OidIsValid(role)) {
    ereport(ERROR,
            (errcode(ERRCODE_UNDEFINED_OBJECT),
             errmsg("role \"%s\" named by psycache.cleanup_role does not exist", cleanup_role),
             errhint("Create the role, or set psycache.cleanup_role to '' to clean up as "
                     "the owner of the extension.")));
  }
  return role;
}

// Deletes one batch in a transaction of its own (worker_spi's bracket). Everything is looked up
// again in each batch, so that a DROP EXTENSION between two batches ends the pass quietly.
BatchOutcome RunBatch(int batch_size, TimestampTz* resume_from) {
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  PushActiveSnapshot(GetTransactionSnapshot());

  int rc = SPI_execute(
      "SELECT e.extnamespace, e.extowner FROM pg_catalog.pg_extension AS e"
      " WHERE e.extname OPERATOR(pg_catalog.=) 'psycache'",
      true, 1);
  if (rc != SPI_OK_SELECT) elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
  Oid table = InvalidOid;
  Oid schema = InvalidOid;
  Oid owner = InvalidOid;
  if (SPI_processed == 1) {
    bool isnull = false;
    schema =
        DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    owner =
        DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
    table = get_relname_relid("psycache", schema);
  }
  char* schema_name = nullptr;
  if (OidIsValid(table)) {
    // Locked first, then checked again: a DROP EXTENSION that got there first has committed, and
    // the table is gone, rather than vanishing under the DELETE.
    LockRelationOid(table, RowExclusiveLock);
    if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(table))) {
      schema_name = get_namespace_name(schema);
    }
  }
  if (schema_name == nullptr) {
    SPI_finish();
    PopActiveSnapshot();
    CommitTransactionCommand();
    return BatchOutcome::kNoExtension;
  }

  Oid role = CleanupRole(owner);
  char* table_name = psprintf("%s.psycache", quote_identifier(schema_name));
  char* sql = CleanupBatchSql(table_name);
  pgstat_report_activity(STATE_RUNNING, sql);

  // As the cleanup role, and restricted the way maintenance commands are: no SET, no temporary
  // objects. Every name in the statement is schema-qualified.
  Oid saved_user = InvalidOid;
  int saved_context = 0;
  GetUserIdAndSecContext(&saved_user, &saved_context);
  SetUserIdAndSecContext(
      role, saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
  Oid types[2] = {INT4OID, TIMESTAMPTZOID};
  Datum values[2] = {Int32GetDatum(batch_size), TimestampTzGetDatum(*resume_from)};
  rc = SPI_execute_with_args(sql, 2, types, values, nullptr, false, 0);
  SetUserIdAndSecContext(saved_user, saved_context);
  if (rc != SPI_OK_SELECT || SPI_processed != 1) {
    elog(ERROR, "the cleanup batch failed: %s", SPI_result_code_string(rc));
  }

  bool isnull = false;
  int64 deleted =
      DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
  Datum highest = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
  if (!isnull) *resume_from = DatumGetTimestampTz(highest);

  SPI_finish();
  PopActiveSnapshot();
  CommitTransactionCommand();
  pgstat_report_activity(STATE_IDLE, nullptr);
  pass.deleted += deleted;
  return deleted < batch_size ? BatchOutcome::kDone : BatchOutcome::kMore;
}

// Between two batches: sleeps psycache.cleanup_batch_delay, so that a pass leaves most of a CPU to
// the queries that run meanwhile, and applies a reload, so that a long pass follows new settings
// from its next batch on (a new delay at once). The latch may have been set before (a reload,
// the postmaster): the pause lasts the whole delay all the same. SIGTERM ends the pass at once.
void PauseBetweenBatches() {
  TimestampTz start = GetCurrentTimestamp();
  for (;;) {
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending != 0) {
      ConfigReloadPending = 0;
      ProcessConfigFile(PGC_SIGHUP);
    }
    long remaining =
        cleanup_batch_delay - TimestampDifferenceMilliseconds(start, GetCurrentTimestamp());
    if (remaining <= 0) return;
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, remaining,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
  }
}

int64 MicrosecondsSince(TimestampTz start) {
  TimestampTz now = GetCurrentTimestamp();
  return now > start ? now - start : 0;
}

// Records a failed pass and ends the process; called in PG_CATCH.
pg_attribute_noreturn() void FailPass() {
  MemoryContextSwitchTo(TopMemoryContext);
  ErrorData* error = CopyErrorData();
  EmitErrorReport();
  FlushErrorState();
  AbortOutOfAnyTransaction();

  CleanupRun run{};
  run.state = CleanupState::kFailed;
  run.start = pass.start;
  run.deleted = pass.deleted;
  run.duration_us = MicrosecondsSince(pass.start);
  const char* message = error->message != nullptr ? error->message : "unknown error";
  int length = pg_mbcliplen(message, static_cast<int>(strlen(message)), sizeof(run.error) - 1);
  memcpy(run.error, message, length);  // cut at a character boundary; run is zeroed
  RecordCleanupRun(pass.database, &run);
  proc_exit(1);
}

}  // namespace
}  // namespace psycache

using psycache::BatchOutcome;
using psycache::pass;

void psycache_cleanup_worker_main(Datum argument) {
  pass.database = DatumGetObjectId(argument);
  strlcpy(pass.database_name, MyBgworkerEntry->bgw_extra, sizeof(pass.database_name));

  // die() lets CHECK_FOR_INTERRUPTS end the pass promptly, also in the middle of a batch.
  pqsignal(SIGTERM, die);
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnectionByOid(pass.database, InvalidOid, 0);
  pgstat_report_appname("psycache cleanup");
  // Nothing resolves through it (every name is qualified); emptied as autovacuum does.
  SetConfigOption("search_path", "", PGC_SUSET, PGC_S_OVERRIDE);

  ErrorContextCallback context;
  context.callback = psycache::PassContext;
  context.arg = nullptr;
  context.previous = error_context_stack;
  error_context_stack = &context;

  // The table is UNLOGGED: a standby has nothing to clean up, and could not write anyway.
  if (RecoveryInProgress()) proc_exit(0);

  pass.start = GetCurrentTimestamp();
  pass.deleted = 0;
  PG_TRY();
  {
    TimestampTz resume_from = DT_NOBEGIN;
    do {
      CHECK_FOR_INTERRUPTS();
      pass.outcome = psycache::RunBatch(psycache::cleanup_batch_size, &resume_from);
      if (pass.outcome == BatchOutcome::kMore) psycache::PauseBetweenBatches();
    } while (pass.outcome == BatchOutcome::kMore);
  }
  PG_CATCH();
  { psycache::FailPass(); }
  PG_END_TRY();

  psycache::CleanupRun run{};
  run.start = pass.start;
  run.deleted = pass.deleted;
  run.duration_us = psycache::MicrosecondsSince(pass.start);
  error_context_stack = context.previous;  // the message below names the database itself
  if (pass.outcome == BatchOutcome::kNoExtension && pass.deleted == 0) {
    run.state = psycache::CleanupState::kNoExtension;
    // Said once, when it starts being true; the launcher keeps coming back.
    if (psycache::RecordCleanupRun(pass.database, &run) != psycache::CleanupState::kNoExtension) {
      ereport(LOG, (errmsg("psycache cleanup skips database \"%s\": it has no psycache extension",
                           pass.database_name),
                    errdetail("The worker checks again at every pass, every %d s.",
                              psycache::cleanup_interval),
                    errhint("Run CREATE EXTENSION psycache there, or remove the database from "
                            "psycache.cleanup_databases.")));
    }
  } else {
    run.state = psycache::CleanupState::kDone;
    psycache::RecordCleanupRun(pass.database, &run);
  }
  proc_exit(0);
}
