#include "cleanup_call.hpp"

#include "cleanup_batch.hpp"

namespace psycache {
namespace {

constexpr size_t kMaxReportBytes = 512;

// One call and its answer: plain data in a DSM segment that the caller and the worker share.
struct CleanupCall {
  Oid database;
  Oid role;  // the calling role: the batches run with its rights
  int32 batch_size;
  char table[4 * NAMEDATALEN + 16];  // quoted and schema-qualified
  // The answer.
  bool answered;
  int64 deleted;
  int sqlstate;  // 0 when every batch worked
  char message[kMaxReportBytes];
  char detail[kMaxReportBytes];
  char hint[kMaxReportBytes];
};

void CopyReport(char* buffer, const char* text) {
  if (text == nullptr) text = "";
  size_t length = strlen(text);
  if (length >= kMaxReportBytes) {
    length = pg_mbcliplen(text, static_cast<int>(length), kMaxReportBytes - 1);
  }
  memcpy(buffer, text, length);
  buffer[length] = '\0';
}

// Whether the caller's transaction holds a lock on relation that conflicts with the ROW EXCLUSIVE
// lock of a batch: the worker would wait for the caller, which waits for the worker.
bool LockedByCaller(Oid relation) {
  LOCKTAG tag;
  SET_LOCKTAG_RELATION(tag, MyDatabaseId, relation);
  for (LOCKMODE mode = ShareLock; mode <= AccessExclusiveLock; ++mode) {
    if (LockHeldByMe(&tag, mode)) return true;
  }
  return false;
}

// On an error while the caller waits (a cancel, a statement_timeout): the worker stops too.
void StopWorker(int code, Datum handle) {
  TerminateBackgroundWorker(reinterpret_cast<BackgroundWorkerHandle*>(DatumGetPointer(handle)));
}

// One batch in a transaction of its own, as the calling role, restricted as the cleanup worker's
// batches are. Returns how many rows it deleted, and moves *resume_from past them. The first
// batch prepares the statement in *batch; the others run it again.
int64 RunCallBatch(const CleanupCall* call, CleanupBatch** batch, TimestampTz* resume_from) {
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  PushActiveSnapshot(GetTransactionSnapshot());
  if (*batch == nullptr) *batch = PrepareCleanupBatch(call->table, call->role);
  int64 deleted = RunCleanupBatch(*batch, call->role, call->batch_size, resume_from);
  SPI_finish();
  PopActiveSnapshot();
  CommitTransactionCommand();
  return deleted;
}

}  // namespace

int64 CleanupInOwnTransactions(Oid relation, const char* table, int32 batch_size) {
  if (IsTransactionBlock() || XactReadOnly || RecoveryInProgress() || LockedByCaller(relation)) {
    return -1;
  }
  if (strlen(table) >= sizeof(CleanupCall::table)) return -1;

  dsm_segment* segment = dsm_create(sizeof(CleanupCall), 0);
  auto* call = static_cast<CleanupCall*>(dsm_segment_address(segment));
  memset(call, 0, sizeof(CleanupCall));
  call->database = MyDatabaseId;
  call->role = GetUserId();
  call->batch_size = batch_size;
  strlcpy(call->table, table, sizeof(call->table));

  BackgroundWorker worker;
  memset(&worker, 0, sizeof(worker));
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker.bgw_start_time = BgWorkerStart_ConsistentState;
  worker.bgw_restart_time = BGW_NEVER_RESTART;
  strlcpy(worker.bgw_library_name, "psycache", BGW_MAXLEN);
  strlcpy(worker.bgw_function_name, "psycache_cleanup_call_main", BGW_MAXLEN);
  strlcpy(worker.bgw_name, "psycache_cleanup() call", BGW_MAXLEN);
  strlcpy(worker.bgw_type, "psycache_cleanup() call", BGW_MAXLEN);
  worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(segment));
  worker.bgw_notify_pid = MyProcPid;
  BackgroundWorkerHandle* handle = nullptr;
  if (!RegisterDynamicBackgroundWorker(&worker, &handle)) {
    dsm_detach(segment);
    return -1;
  }

  BgwHandleStatus status = BGWH_STOPPED;
  PG_ENSURE_ERROR_CLEANUP(StopWorker, PointerGetDatum(handle));
  { status = WaitForBackgroundWorkerShutdown(handle); }
  PG_END_ENSURE_ERROR_CLEANUP(StopWorker, PointerGetDatum(handle));
  pg_read_barrier();
  auto* answer = static_cast<CleanupCall*>(palloc(sizeof(CleanupCall)));
  memcpy(answer, call, sizeof(CleanupCall));
  dsm_detach(segment);

  if (status == BGWH_POSTMASTER_DIED) {
    ereport(ERROR, (errcode(ERRCODE_ADMIN_SHUTDOWN),
                    errmsg("the server stopped during psycache_cleanup()")));
  }
  if (!answer->answered) {
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                    errmsg("the background worker of psycache_cleanup() ended without an answer"),
                    errdetail("It had deleted %lld expired entries; the server log says why.",
                              static_cast<long long>(answer->deleted))));
  }
  if (answer->sqlstate != 0) {
    ereport(ERROR, (errcode(answer->sqlstate), errmsg_internal("%s", answer->message),
                    answer->detail[0] != '\0' ? errdetail_internal("%s", answer->detail) : 0,
                    answer->hint[0] != '\0' ? errhint("%s", answer->hint) : 0));
  }
  return answer->deleted;
}

}  // namespace psycache

using psycache::CleanupCall;

void psycache_cleanup_call_main(Datum argument) {
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  dsm_segment* segment = dsm_attach(DatumGetUInt32(argument));
  if (segment == nullptr) proc_exit(0);  // the caller has given up already
  auto* call = static_cast<CleanupCall*>(dsm_segment_address(segment));
  BackgroundWorkerInitializeConnectionByOid(call->database, InvalidOid, 0);
  pgstat_report_appname("psycache_cleanup()");
  // Nothing resolves through it (every name is qualified); emptied as the cleanup worker does.
  SetConfigOption("search_path", "", PGC_SUSET, PGC_S_OVERRIDE);

  PG_TRY();
  {
    TimestampTz resume_from = DT_NOBEGIN;
    int64 deleted = 0;
    psycache::CleanupBatch* batch = nullptr;  // the process ends with the call: never freed
    do {
      CHECK_FOR_INTERRUPTS();
      deleted = psycache::RunCallBatch(call, &batch, &resume_from);
      call->deleted += deleted;
    } while (deleted >= call->batch_size);
  }
  PG_CATCH();
  {
    // The caller raises the error; logging it here too would say it twice.
    MemoryContextSwitchTo(TopMemoryContext);
    ErrorData* error = CopyErrorData();
    FlushErrorState();
    AbortOutOfAnyTransaction();
    call->sqlstate = error->sqlerrcode != 0 ? error->sqlerrcode : ERRCODE_INTERNAL_ERROR;
    psycache::CopyReport(call->message, error->message != nullptr ? error->message : "error");
    psycache::CopyReport(call->detail, error->detail);
    psycache::CopyReport(call->hint, error->hint);
  }
  PG_END_TRY();
  pgstat_report_activity(STATE_IDLE, nullptr);
  pg_write_barrier();
  call->answered = true;
  dsm_detach(segment);
  proc_exit(0);
}
