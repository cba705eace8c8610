// The launcher of the cleanup passes: autoprewarm's and pg_cron's loop (signals, latch, reload).
#include "cleanup_worker.hpp"
#include "settings.hpp"

namespace psycache {
namespace {

// A restarted launcher waits this long first, so that a launcher that keeps failing does not spin.
constexpr int kLauncherRestartSeconds = 10;

// Something about a listed database that the launcher has logged, so that it says it once.
enum class Note { kNone, kMissing, kNoConnections, kNoSlot };

// A listed database, and the worker of its current pass.
struct Target {
  char name[NAMEDATALEN];
  Note note;
  BackgroundWorkerHandle* worker;  // in TopMemoryContext; nullptr when no pass is running
};

Target targets[kMaxCleanupDatabases];
int target_count = 0;

// Reads psycache.cleanup_databases again, keeping what is known about the databases still listed.
void LoadTargets() {
  Target previous[kMaxCleanupDatabases];
  int previous_count = target_count;
  memcpy(previous, targets, sizeof(Target) * previous_count);

  char* copy = pstrdup(cleanup_databases != nullptr ? cleanup_databases : "");
  List* names = nullptr;
  if (!SplitIdentifierString(copy, ',', &names)) names = nullptr;  // the check hook refused it
  target_count = 0;
  ListCell* cell = nullptr;
  foreach (cell, names) {
    if (target_count == kMaxCleanupDatabases) break;
    Target* target = &targets[target_count++];
    memset(target, 0, sizeof(Target));
    strlcpy(target->name, static_cast<const char*>(lfirst(cell)), sizeof(target->name));
    for (int i = 0; i < previous_count; ++i) {
      if (strcmp(previous[i].name, target->name) == 0) {
        *target = previous[i];
        previous[i].worker = nullptr;
        break;
      }
    }
  }
  // A pass in a database no longer listed stops itself after its current batch
  // (cleanup_worker.cpp).
  for (int i = 0; i < previous_count; ++i) {
    if (previous[i].worker != nullptr) pfree(previous[i].worker);
  }
  list_free(names);
  pfree(copy);
}

// Logs message about target at level, unless it is what the launcher said about it last time.
void NoteOnce(Target* target, Note note, int level, const char* message, const char* hint) {
  if (target->note == note) return;
  target->note = note;
  if (note == Note::kNone) return;
  ereport(level,
          (errmsg("psycache cleanup skips database \"%s\": %s", target->name, message),
           errdetail("The launcher tries again at every pass, every %d s.", cleanup_interval),
           errhint("%s", hint)));
}

// What pg_database says about a listed database.
struct Found {
  Oid database;  // InvalidOid: no such database
  bool allows_connections;
};

// Looks the listed databases up in pg_database, by a plain scan as the autovacuum launcher does:
// with no database selected, only the shared catalogs themselves may be read (no syscache, whose
// indexes may need pg_class).
void FindDatabases(Found* found) {
  memset(found, 0, sizeof(Found) * target_count);
  Relation relation = table_open(DatabaseRelationId, AccessShareLock);
  TableScanDesc scan = table_beginscan_catalog(relation, 0, nullptr);
  HeapTuple tuple = nullptr;
  while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
    auto* database = reinterpret_cast<Form_pg_database>(GETSTRUCT(tuple));
    for (int i = 0; i < target_count; ++i) {
      if (strcmp(NameStr(database->datname), targets[i].name) == 0) {
        found[i].database = database->oid;
        found[i].allows_connections = database->datallowconn;
      }
    }
  }
  table_endscan(scan);
  table_close(relation, AccessShareLock);
}

// Starts a pass in each listed database that exists, accepts connections and has no pass still
// running from last time.
void StartPasses() {
  Found found[kMaxCleanupDatabases];
  StartTransactionCommand();
  (void)GetTransactionSnapshot();
  FindDatabases(found);
  CommitTransactionCommand();

  for (int i = 0; i < target_count; ++i) {
    Target* target = &targets[i];
    if (target->worker != nullptr) {
      pid_t pid = 0;
      if (GetBackgroundWorkerPid(target->worker, &pid) != BGWH_STOPPED) continue;
      pfree(target->worker);
      target->worker = nullptr;
    }
    if (!OidIsValid(found[i].database)) {
      NoteOnce(target, Note::kMissing, LOG, "it does not exist",
               "Create it, or remove it from psycache.cleanup_databases.");
      continue;
    }
    if (!found[i].allows_connections) {
      NoteOnce(target, Note::kNoConnections, LOG, "it does not allow connections",
               "Remove it from psycache.cleanup_databases.");
      continue;
    }
    // The handle must outlive the pass.
    MemoryContext caller = MemoryContextSwitchTo(TopMemoryContext);
    bool started = StartCleanupWorker(found[i].database, target->name, &target->worker);
    MemoryContextSwitchTo(caller);
    if (!started) {
      target->worker = nullptr;
      NoteOnce(target, Note::kNoSlot, WARNING, "no background worker slot is free",
               "Raise max_worker_processes.");
      continue;
    }
    NoteOnce(target, Note::kNone, LOG, "", "");
  }
}

// What pg_stat_activity shows as the launcher's query: its settings, as it understood them.
void ReportSettings() {
  char* text = cleanup_interval > 0
                   ? psprintf("psycache cleanup every %d s in %s", cleanup_interval,
                              cleanup_databases != nullptr ? cleanup_databases : "")
                   : pstrdup("psycache cleanup is off (psycache.cleanup_interval = 0)");
  pgstat_report_activity(STATE_IDLE, text);
  pfree(text);
}

}  // namespace

void RegisterCleanupLauncher() {
  BackgroundWorker worker;
  memset(&worker, 0, sizeof(worker));
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = kLauncherRestartSeconds;
  strlcpy(worker.bgw_library_name, "psycache", BGW_MAXLEN);
  strlcpy(worker.bgw_function_name, "psycache_cleanup_launcher_main", BGW_MAXLEN);
  strlcpy(worker.bgw_name, "psycache cleanup launcher", BGW_MAXLEN);
  strlcpy(worker.bgw_type, "psycache cleanup launcher", BGW_MAXLEN);
  RegisterBackgroundWorker(&worker);
}

bool StartCleanupWorker(Oid database, const char* database_name, BackgroundWorkerHandle** handle) {
  BackgroundWorker worker;
  memset(&worker, 0, sizeof(worker));
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = BGW_NEVER_RESTART;  // the launcher starts the next pass
  strlcpy(worker.bgw_library_name, "psycache", BGW_MAXLEN);
  strlcpy(worker.bgw_function_name, "psycache_cleanup_worker_main", BGW_MAXLEN);
  snprintf(worker.bgw_name, BGW_MAXLEN, "psycache cleanup of %s", database_name);
  strlcpy(worker.bgw_type, "psycache cleanup", BGW_MAXLEN);
  strlcpy(worker.bgw_extra, database_name, BGW_EXTRALEN);
  worker.bgw_main_arg = ObjectIdGetDatum(database);
  worker.bgw_notify_pid = 0;
  return RegisterDynamicBackgroundWorker(&worker, handle);
}

}  // namespace psycache

void psycache_cleanup_launcher_main(Datum argument) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
  BackgroundWorkerUnblockSignals();
  // No database: the launcher reads only pg_database, a shared catalog.
  BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
  pgstat_report_appname("psycache cleanup launcher");

  psycache::LoadTargets();
  psycache::ReportSettings();
  TimestampTz next_pass = GetCurrentTimestamp();
  while (ShutdownRequestPending == 0) {
    if (ConfigReloadPending != 0) {
      ConfigReloadPending = 0;
      int old_interval = psycache::cleanup_interval;
      char* old_databases = pstrdup(psycache::cleanup_databases);
      ProcessConfigFile(PGC_SIGHUP);
      // New settings start a pass at once; the next ones follow at the new interval.
      if (old_interval != psycache::cleanup_interval ||
          strcmp(old_databases, psycache::cleanup_databases) != 0) {
        psycache::LoadTargets();
        psycache::ReportSettings();
        next_pass = GetCurrentTimestamp();
      }
      pfree(old_databases);
    }

    int events = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH;
    long timeout = -1;
    if (psycache::cleanup_interval > 0) {
      TimestampTz now = GetCurrentTimestamp();
      if (now >= next_pass) {
        if (!RecoveryInProgress()) psycache::StartPasses();
        next_pass = TimestampTzPlusMilliseconds(now, psycache::cleanup_interval * 1000L);
      }
      events |= WL_TIMEOUT;
      timeout = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), next_pass);
    }
    (void)WaitLatch(MyLatch, events, timeout, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
  }
  // Not 0: a launcher that pg_terminate_backend() stopped comes back after its restart time.
  // At server shutdown the postmaster restarts nothing.
  proc_exit(1);
}
