// One cleanup pass in one database: a transaction per batch, as the cleanup role.
#include "cleanup_worker.hpp"

#include "cleanup_batch.hpp"
#include "cleanup_runs.hpp"
#include "settings.hpp"
#include "statements.hpp"

namespace psycache {
namespace {

enum class BatchOutcome { kMore, kDone, kNoExtension };

// A cache found at the start of the pass.
struct CacheSchema {
  Oid schema;
  char name[NAMEDATALEN];
};

// The pass of this process. Static storage, so that the error handler can read what the batches
// before a failure did after the longjmp.
struct Pass {
  Oid database;
  char database_name[NAMEDATALEN];
  TimestampTz start;
  int64 deleted;
  BatchOutcome outcome;
  List* caches;             // the database's caches (CacheSchema*), in TopMemoryContext
  Oid schema;               // the schema of the cache being cleaned
  const char* schema_name;  // and its name, for messages; nullptr between caches
  // Found by the first batch of the cache being cleaned, kept for the next ones.
  bool table_looked_up;  // whether the first batch has looked the table up
  Oid table;             // its psycache table; InvalidOid when there was none
  Oid extension_owner;   // the owner of the extension, when the cache is the extension's own
  CleanupBatch* batch;   // the batch statement, prepared by the first batch that ran
  bool found_cache;      // whether a cache was there to clean
  ErrorData* failure;    // the first error, in TopMemoryContext; the other caches are cleaned still
  const char* stopped_by;  // why a reload ended the pass early; nullptr while it goes on
};
Pass pass;

// What makes a schema a cache: a table psycache and this module's psycache_cleanup beside it.
#define PSYCACHE_IS_CACHE                                                                     \
  " FROM pg_catalog.pg_namespace AS n"                                                        \
  " JOIN pg_catalog.pg_class AS c ON c.relnamespace OPERATOR(pg_catalog.=) n.oid"             \
  " AND c.relname OPERATOR(pg_catalog.=) 'psycache' AND c.relkind OPERATOR(pg_catalog.=) 'r'" \
  " LEFT JOIN pg_catalog.pg_extension AS e ON e.extname OPERATOR(pg_catalog.=) 'psycache'"    \
  " AND e.extnamespace OPERATOR(pg_catalog.=) n.oid"                                          \
  " WHERE EXISTS (SELECT FROM pg_catalog.pg_proc AS p"                                        \
  " WHERE p.pronamespace OPERATOR(pg_catalog.=) n.oid"                                        \
  " AND p.proname OPERATOR(pg_catalog.=) 'psycache_cleanup'"                                  \
  " AND p.prosrc OPERATOR(pg_catalog.=) 'psycache_cleanup'"                                   \
  " AND p.probin OPERATOR(pg_catalog.=) '$libdir/psycache')"

// The schemas of every cache in the database, the extension's own first.
constexpr const char* kCachesSql =
    "SELECT n.oid, n.nspname" PSYCACHE_IS_CACHE " ORDER BY e.oid IS NULL, n.oid";

// The cache in schema $1: its table, and the owner of the extension when the cache is the
// extension's own (NULL for another cache).
constexpr const char* kCacheSql =
    "SELECT c.oid, e.extowner" PSYCACHE_IS_CACHE " AND n.oid OPERATOR(pg_catalog.=) $1";

// Every error and log line of the worker names the database, and the cache being cleaned.
void PassContext(void* argument) {
  if (pass.schema_name == nullptr) {
    errcontext("psycache cleanup of database \"%s\"", pass.database_name);
  } else {
    errcontext("psycache cleanup of database \"%s\", cache %s.psycache", pass.database_name,
               quote_identifier(pass.schema_name));
  }
}

// Lists the caches of the database in pass.caches, in a transaction of its own.
void FindCaches() {
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  PushActiveSnapshot(GetTransactionSnapshot());
  int rc = SPI_execute(kCachesSql, true, 0);
  if (rc != SPI_OK_SELECT) elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
  MemoryContext spi_context = MemoryContextSwitchTo(TopMemoryContext);
  for (uint64 i = 0; i < SPI_processed; ++i) {
    auto* cache = static_cast<CacheSchema*>(palloc0(sizeof(CacheSchema)));
    bool isnull = false;
    HeapTuple row = SPI_tuptable->vals[i];
    cache->schema = DatumGetObjectId(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull));
    strlcpy(cache->name,
            NameStr(*DatumGetName(SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull))),
            sizeof(cache->name));
    pass.caches = lappend(pass.caches, cache);
  }
  MemoryContextSwitchTo(spi_context);
  SPI_finish();
  PopActiveSnapshot();
  CommitTransactionCommand();
}

// The role the batches run as: psycache.cleanup_role, or else default_role. A superuser cleanup
// role gives way to the owner of a table that no superuser owns: a trigger that owner put on the
// table would run with the superuser's rights otherwise.
Oid CleanupRole(Oid default_role, Oid table_owner) {
  if (cleanup_role == nullptr || cleanup_role[0] == '\0') return default_role;
  Oid role = get_role_oid(cleanup_role, true);
  if (!OidIsValid(role)) {
    ereport(ERROR,
            (errcode(ERRCODE_UNDEFINED_OBJECT),
             errmsg("role \"%s\" named by psycache.cleanup_role does not exist", cleanup_role),
             errhint("Create the role, or set psycache.cleanup_role to '' to clean up as "
                     "the owner of the extension.")));
  }
  if (superuser_arg(role) && !superuser_arg(table_owner)) return table_owner;
  return role;
}

// Finds the table of the cache in pass.schema, and the owner of the extension it belongs to, once
// per cache: its first batch does, the others only check that the table is still there.
void LookUpTable() {
  Oid cache_type[1] = {OIDOID};
  Datum cache_schema[1] = {ObjectIdGetDatum(pass.schema)};
  int rc = SPI_execute_with_args(kCacheSql, 1, cache_type, cache_schema, nullptr, true, 1);
  if (rc != SPI_OK_SELECT) elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
  pass.table_looked_up = true;
  pass.table = InvalidOid;
  pass.extension_owner = InvalidOid;
  if (SPI_processed == 1) {
    bool isnull = false;
    pass.table =
        DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    Datum owner = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
    if (!isnull) pass.extension_owner = DatumGetObjectId(owner);
  }
}

// Locks the cache table, then checks that it is still the table psycache of pass.schema: a DROP
// EXTENSION (or DROP TABLE) that got there first has committed, and the table is gone, rather than
// vanishing under the DELETE. Returns the name of the schema (nullptr when the table is gone) and
// sets *table_owner.
char* LockTable(Oid* table_owner) {
  LockRelationOid(pass.table, RowExclusiveLock);
  HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(pass.table));
  if (!HeapTupleIsValid(tuple)) return nullptr;
  const auto* form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
  bool same = form->relnamespace == pass.schema && strcmp(NameStr(form->relname), "psycache") == 0;
  *table_owner = form->relowner;
  ReleaseSysCache(tuple);
  return same ? get_namespace_name(pass.schema) : nullptr;
}

// Deletes one batch in a transaction of its own (worker_spi's bracket). The table is locked and
// checked again in each batch, so that a DROP EXTENSION between two batches ends the pass quietly.
BatchOutcome RunBatch(int batch_size, TimestampTz* resume_from) {
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  PushActiveSnapshot(GetTransactionSnapshot());

  if (!pass.table_looked_up) LookUpTable();
  char* schema_name = nullptr;
  Oid table_owner = InvalidOid;
  if (OidIsValid(pass.table)) schema_name = LockTable(&table_owner);
  if (schema_name == nullptr) {
    SPI_finish();
    PopActiveSnapshot();
    CommitTransactionCommand();
    return BatchOutcome::kNoExtension;
  }

  // The default role: the extension's owner for the extension's own cache, else the table's.
  Oid role = CleanupRole(OidIsValid(pass.extension_owner) ? pass.extension_owner : table_owner,
                         table_owner);
  // Prepared again only when the schema was renamed since: its SQL names the table.
  char* table_name = psprintf("%s.psycache", quote_identifier(schema_name));
  if (pass.batch == nullptr || strcmp(pass.batch->table, table_name) != 0) {
    FreeCleanupBatch(pass.batch);
    pass.batch = nullptr;
    pass.batch = PrepareCleanupBatch(table_name, role);
  }
  int64 deleted = RunCleanupBatch(pass.batch, role, batch_size, resume_from);

  SPI_finish();
  PopActiveSnapshot();
  CommitTransactionCommand();
  pgstat_report_activity(STATE_IDLE, nullptr);
  pass.deleted += deleted;
  return deleted < batch_size ? BatchOutcome::kDone : BatchOutcome::kMore;
}

// Forgets what the batches of one cache kept, before the next cache; also after an error.
void EndCache() {
  FreeCleanupBatch(pass.batch);
  pass.batch = nullptr;
  pass.table_looked_up = false;
  pass.table = InvalidOid;
  pass.extension_owner = InvalidOid;
}

// Why the settings a reload brought end the pass in progress, or nullptr. Without this, a pass
// the operator turned off would run on to its end, minutes on a large cache.
const char* ReasonToStop() {
  if (cleanup_interval == 0) return "psycache.cleanup_interval is 0";
  if (!ListsCleanupDatabase(pass.database_name)) {
    return "the database is no longer in psycache.cleanup_databases";
  }
  return nullptr;
}

// Between two batches: sleeps psycache.cleanup_batch_delay, so that a pass leaves most of a CPU to
// the queries that run meanwhile, and applies a reload, so that a long pass follows new settings
// from its next batch on (a new delay at once), or stops (pass.stopped_by). The latch may have
// been set before (a reload, the postmaster): the pause lasts the whole delay all the same.
// SIGTERM ends the pass at once.
void PauseBetweenBatches() {
  TimestampTz start = GetCurrentTimestamp();
  for (;;) {
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending != 0) {
      ConfigReloadPending = 0;
      ProcessConfigFile(PGC_SIGHUP);
      pass.stopped_by = ReasonToStop();
      if (pass.stopped_by != nullptr) return;
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

// Logs the error of one cache's cleanup and keeps the first one for the record; called in PG_CATCH.
void NoteFailure() {
  MemoryContextSwitchTo(TopMemoryContext);
  ErrorData* error = CopyErrorData();
  EmitErrorReport();
  FlushErrorState();
  AbortOutOfAnyTransaction();
  if (pass.failure == nullptr) pass.failure = error;
  pass.found_cache = true;
}

// Records a failed pass and ends the process; called in PG_CATCH, or with pass.failure set.
pg_attribute_noreturn() void FailPass() {
  if (pass.failure == nullptr) NoteFailure();
  ErrorData* error = pass.failure;

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
  { psycache::FindCaches(); }
  PG_CATCH();
  { psycache::FailPass(); }
  PG_END_TRY();

  // Cache after cache: an error ends the cleanup of its cache only.
  ListCell* cell = nullptr;
  foreach (cell, pass.caches) {
    if (pass.stopped_by != nullptr) break;
    const auto* cache = static_cast<const psycache::CacheSchema*>(lfirst(cell));
    pass.schema = cache->schema;
    pass.schema_name = cache->name;
    PG_TRY();
    {
      TimestampTz resume_from = DT_NOBEGIN;
      do {
        CHECK_FOR_INTERRUPTS();
        pass.outcome = psycache::RunBatch(psycache::cleanup_batch_size, &resume_from);
        if (pass.outcome != BatchOutcome::kNoExtension) pass.found_cache = true;
        if (pass.outcome == BatchOutcome::kMore) psycache::PauseBetweenBatches();
      } while (pass.outcome == BatchOutcome::kMore && pass.stopped_by == nullptr);
    }
    PG_CATCH();
    { psycache::NoteFailure(); }
    PG_END_TRY();
    psycache::EndCache();
  }
  pass.schema = InvalidOid;
  pass.schema_name = nullptr;
  if (pass.failure != nullptr) psycache::FailPass();

  psycache::CleanupRun run{};
  run.start = pass.start;
  run.deleted = pass.deleted;
  run.duration_us = psycache::MicrosecondsSince(pass.start);
  error_context_stack = context.previous;  // the message below names the database itself
  if (!pass.found_cache && pass.deleted == 0) {
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
    if (pass.stopped_by != nullptr) {
      ereport(LOG, (errmsg("psycache cleanup of database \"%s\" stopped early, after deleting "
                           "%lld expired entries",
                           pass.database_name, static_cast<long long>(pass.deleted)),
                    errdetail("After a reload, %s.", pass.stopped_by)));
    }
  }
  proc_exit(0);
}
