#include "cron.hpp"

#include <string>

#include "boundary.hpp"
#include "errors.hpp"
#include "statements.hpp"

namespace psycache {
namespace {

constexpr size_t kMaxScheduleBytes = 256;
constexpr size_t kMaxReportBytes = 512;
constexpr const char* kJobPrefix = "psycache_cleanup@";

enum class CronCall { kSchedule, kUnschedule };

// A pg_cron call and its answer: plain data, which lives in a DSM segment when a background worker
// makes the call.
struct CronRequest {
  CronCall call;
  char cron_database[NAMEDATALEN];  // where pg_cron keeps its jobs
  char role[NAMEDATALEN];           // who asks; pg_cron runs the job as this role
  char job_database[NAMEDATALEN];   // where the job runs: the cache's database
  char job_name[NAMEDATALEN];
  char schedule[kMaxScheduleBytes];
  char command[4 * NAMEDATALEN];
  // The answer.
  bool answered;
  int64 job_id;
  bool removed;
  int sqlstate;  // 0 when the call worked
  char message[kMaxReportBytes];
  char detail[kMaxReportBytes];
  char hint[kMaxReportBytes];
};

// Makes the call in the pg_cron database, inside a transaction with an active snapshot. Plain
// C-style code that may ereport.
void RunCronCall(CronRequest* request) {
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  int rc = SPI_execute(
      "SELECT 1 FROM pg_catalog.pg_extension AS e WHERE e.extname OPERATOR(pg_catalog.=) 'pg_cron'",
      true, 1);
  if (rc != SPI_OK_SELECT) elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
  if (SPI_processed == 0) {
    ereport(ERROR,
            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
             errmsg("pg_cron is not installed in database \"%s\"", request->cron_database),
             errdetail("pg_cron keeps its jobs in the database named by cron.database_name."),
             errhint("Run CREATE EXTENSION pg_cron in database \"%s\".", request->cron_database)));
  }

  Oid types[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
  Datum values[4] = {CStringGetTextDatum(request->job_name), CStringGetTextDatum(request->schedule),
                     CStringGetTextDatum(request->command),
                     CStringGetTextDatum(request->job_database)};
  if (request->call == CronCall::kSchedule) {
    // In its own database, cron.schedule (which every role may call) does it.
    rc = strcmp(request->cron_database, request->job_database) == 0
             ? SPI_execute_with_args("SELECT cron.schedule($1, $2, $3)", 3, types, values, nullptr,
                                     false, 1)
             : SPI_execute_with_args("SELECT cron.schedule_in_database($1, $2, $3, $4)", 4, types,
                                     values, nullptr, false, 1);
  } else {
    // cron.unschedule(name) fails when there is no such job; unscheduling twice must not.
    rc = SPI_execute_with_args(
        "SELECT pg_catalog.count(cron.unschedule(j.jobid)) FROM cron.job AS j"
        " WHERE j.jobname OPERATOR(pg_catalog.=) $1 AND j.username OPERATOR(pg_catalog.=) "
        "CURRENT_USER",
        1, types, values, nullptr, false, 1);
  }
  if (rc != SPI_OK_SELECT || SPI_processed != 1) {
    elog(ERROR, "the pg_cron call failed: %s", SPI_result_code_string(rc));
  }
  bool isnull = false;
  int64 result =
      DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
  if (request->call == CronCall::kSchedule) {
    request->job_id = result;
  } else {
    request->removed = result > 0;
  }
  SPI_finish();
}

// Checks what the background worker needs to log into the pg_cron database as the current role:
// 0 when it can, else which of the three things is missing.
int CheckWorkerLogin(const char* cron_database) {
  Oid database = get_database_oid(cron_database, true);
  if (!OidIsValid(database)) return 1;
  HeapTuple role = SearchSysCache1(AUTHOID, ObjectIdGetDatum(GetUserId()));
  if (!HeapTupleIsValid(role)) elog(ERROR, "cache lookup failed for role %u", GetUserId());
  bool can_login = reinterpret_cast<Form_pg_authid>(GETSTRUCT(role))->rolcanlogin;
  ReleaseSysCache(role);
  if (!can_login) return 2;
  if (pg_database_aclcheck(database, GetUserId(), ACL_CONNECT) != ACLCHECK_OK) return 3;
  return 0;
}

// The function the job calls: psycache_cleanup_all(), which cleans every cache of the database,
// or psycache_cleanup() of the extension's own cache while the extension is still at version 1.0.
const char* JobFunction(Oid schema) {
  bool all = PgCall([schema] {
    Oid argument = INT4OID;
    return SearchSysCacheExists3(PROCNAMEARGSNSP, CStringGetDatum("psycache_cleanup_all"),
                                 PointerGetDatum(buildoidvector(&argument, 1)),
                                 ObjectIdGetDatum(schema));
  });
  return all ? "psycache_cleanup_all" : "psycache_cleanup";
}

// Copies text into a fixed buffer, cut at a character boundary.
template <size_t N>
void CopyText(char (&buffer)[N], const char* text) {
  size_t length = strlen(text);
  if (length >= N) length = pg_mbcliplen(text, static_cast<int>(length), N - 1);
  memcpy(buffer, text, length);
  buffer[length] = '\0';
}

// The request for call on the cache of the function being called, from the calling role.
void PrepareRequest(FunctionCallInfo fcinfo, CronCall call, CronRequest* request) {
  const char* cron_database =
      PgCall([] { return GetConfigOption("cron.database_name", true, false); });
  if (cron_database == nullptr) {
    throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, "pg_cron is not loaded",
                "psycache schedules its cleanup with pg_cron, which is not in "
                "shared_preload_libraries.",
                "Add pg_cron to shared_preload_libraries, restart the server and run CREATE "
                "EXTENSION pg_cron in the database named by cron.database_name. Or let the "
                "psycache background worker clean up (psycache.cleanup_interval).");
  }
  Oid schema_oid = InvalidOid;
  const char* schema = ExtensionSchema(fcinfo, &schema_oid);
  const char* database = PgCall([] { return get_database_name(MyDatabaseId); });
  const char* role = PgCall([] { return GetUserNameFromId(GetUserId(), false); });

  memset(request, 0, sizeof(*request));
  request->call = call;
  CopyText(request->cron_database, cron_database);
  CopyText(request->role, role);
  CopyText(request->job_database, database);
  // pg_cron stores job names as name: longer ones would be cut, so cut them here, the same way.
  CopyText(request->job_name, (std::string(kJobPrefix) + database).c_str());
  CopyText(request->command,
           (std::string("SELECT ") + schema + "." + JobFunction(schema_oid) + "()").c_str());
}

// name as an SQL identifier, quoted when it needs to be.
std::string Identifier(const char* name) {
  return PgCall([name] { return quote_identifier(name); });
}

// The hint for a role that pg_cron refuses: the grants that let it make the call.
std::string GrantHint(const CronRequest* request) {
  std::string role = Identifier(request->role);
  std::string hint = "In database " + Identifier(request->cron_database) +
                     ", a superuser can allow it: GRANT USAGE ON SCHEMA cron TO " + role + ";";
  if (request->call == CronCall::kSchedule &&
      strcmp(request->cron_database, request->job_database) != 0) {
    hint +=
        " GRANT EXECUTE ON FUNCTION cron.schedule_in_database(text, text, text, text, text, "
        "boolean) TO " +
        role + ";";
  }
  return hint;
}

// Makes the call in the pg_cron database through a background worker, and waits for its answer.
void CallThroughWorker(CronRequest* request) {
  const char* cron_database = request->cron_database;
  const std::string quoted_database = std::string("\"") + request->cron_database + "\"";
  switch (PgCall([cron_database] { return CheckWorkerLogin(cron_database); })) {
    case 1:
      throw Error(ERRCODE_UNDEFINED_DATABASE,
                  "database " + quoted_database + " named by cron.database_name does not exist",
                  "pg_cron keeps its jobs in the database named by cron.database_name.");
    case 2:
      throw Error(ERRCODE_INSUFFICIENT_PRIVILEGE,
                  std::string("role \"") + request->role + "\" cannot log in",
                  "pg_cron runs a job by logging in as the role that scheduled it, and psycache "
                  "logs into database " +
                      quoted_database + ", where pg_cron keeps its jobs, as that role.",
                  "Schedule the cleanup as a role with LOGIN.");
    case 3:
      throw Error(
          ERRCODE_INSUFFICIENT_PRIVILEGE, "permission denied for database " + quoted_database,
          "psycache schedules the cleanup in database " + quoted_database +
              ", where pg_cron keeps its jobs, as the calling role.",
          "A superuser can allow it: GRANT CONNECT ON DATABASE " +
              Identifier(request->cron_database) + " TO " + Identifier(request->role) + ";");
    default:
      break;
  }

  dsm_segment* segment = PgCall([] { return dsm_create(sizeof(CronRequest), 0); });
  auto* shared = static_cast<CronRequest*>(dsm_segment_address(segment));
  *shared = *request;

  BackgroundWorker worker;
  memset(&worker, 0, sizeof(worker));
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker.bgw_start_time = BgWorkerStart_ConsistentState;
  worker.bgw_restart_time = BGW_NEVER_RESTART;
  strlcpy(worker.bgw_library_name, "psycache", BGW_MAXLEN);
  strlcpy(worker.bgw_function_name, "psycache_cron_main", BGW_MAXLEN);
  strlcpy(worker.bgw_name, "psycache cron call", BGW_MAXLEN);
  strlcpy(worker.bgw_type, "psycache cron", BGW_MAXLEN);
  worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(segment));
  worker.bgw_notify_pid = MyProcPid;
  BackgroundWorker* worker_pointer = &worker;
  BackgroundWorkerHandle* handle = nullptr;
  BackgroundWorkerHandle** handle_pointer = &handle;
  if (!PgCall([worker_pointer, handle_pointer] {
        return RegisterDynamicBackgroundWorker(worker_pointer, handle_pointer);
      })) {
    throw Error(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
                "psycache could not start a background worker to reach pg_cron",
                "Every background worker slot is taken.", "Raise max_worker_processes.");
  }
  BgwHandleStatus status = PgCall([handle] { return WaitForBackgroundWorkerShutdown(handle); });
  pg_read_barrier();
  *request = *shared;
  PgCall([segment] { dsm_detach(segment); });

  if (status == BGWH_POSTMASTER_DIED) {
    throw Error(ERRCODE_ADMIN_SHUTDOWN, "the server stopped while psycache was calling pg_cron");
  }
  if (!request->answered) {
    throw Error(ERRCODE_CONNECTION_FAILURE,
                "psycache could not reach pg_cron in database " + quoted_database,
                std::string("The background worker that logs into database ") + quoted_database +
                    " as role \"" + request->role +
                    "\" ended without an answer; the server log says why.");
  }
  if (request->sqlstate != 0) {
    std::string hint = request->hint;
    if (request->sqlstate == ERRCODE_INSUFFICIENT_PRIVILEGE && hint.empty()) {
      hint = GrantHint(request);
    }
    throw Error(request->sqlstate, request->message, request->detail, hint);
  }
}

// Makes the call for the cache of the function being called, here or through a worker.
void CallCron(CronRequest* request) {
  if (strcmp(request->cron_database, request->job_database) != 0) {
    CallThroughWorker(request);
    return;
  }
  try {
    PgCall([request] { RunCronCall(request); });
  } catch (const PgError& e) {
    ErrorData* data = e.data();
    if (data->sqlerrcode != ERRCODE_INSUFFICIENT_PRIVILEGE || data->hint != nullptr) throw;
    const std::string hint = GrantHint(request);
    const char* hint_text = hint.c_str();
    PgCall([data, hint_text] { data->hint = pstrdup(hint_text); });
    throw;
  }
}

}  // namespace

Datum ScheduleCleanup(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) {
    throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "psycache schedule must not be null", {},
                "Pass a cron schedule, for example '* * * * *' for every minute.");
  }
  Datum schedule_datum = PG_GETARG_DATUM(0);  // detoasted inside PgCall: that may fail
  const char* schedule = PgCall([schedule_datum] { return TextDatumGetCString(schedule_datum); });
  if (strlen(schedule) >= kMaxScheduleBytes) {
    throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "psycache schedule is too long",
                "A schedule has at most " + std::to_string(kMaxScheduleBytes - 1) + " bytes.",
                "Pass a cron schedule, for example '* * * * *' for every minute.");
  }
  CronRequest request{};
  PrepareRequest(fcinfo, CronCall::kSchedule, &request);
  CopyText(request.schedule, schedule);
  CallCron(&request);
  return Int64GetDatum(request.job_id);
}

Datum UnscheduleCleanup(FunctionCallInfo fcinfo) {
  CronRequest request{};
  PrepareRequest(fcinfo, CronCall::kUnschedule, &request);
  CallCron(&request);
  return BoolGetDatum(request.removed);
}

}  // namespace psycache

using psycache::CronRequest;

void psycache_cron_main(Datum argument) {
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  dsm_segment* segment = dsm_attach(DatumGetUInt32(argument));
  if (segment == nullptr) proc_exit(0);  // the caller has given up already
  auto* request = static_cast<CronRequest*>(dsm_segment_address(segment));
  BackgroundWorkerInitializeConnection(request->cron_database, request->role, 0);
  pgstat_report_appname("psycache cron");
  SetConfigOption("search_path", "", PGC_SUSET, PGC_S_OVERRIDE);

  PG_TRY();
  {
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    PushActiveSnapshot(GetTransactionSnapshot());
    pgstat_report_activity(STATE_RUNNING, request->call == psycache::CronCall::kSchedule
                                              ? "psycache_schedule_cleanup()"
                                              : "psycache_unschedule_cleanup()");
    psycache::RunCronCall(request);
    PopActiveSnapshot();
    CommitTransactionCommand();
  }
  PG_CATCH();
  {
    // The caller raises the error; logging it here too would say it twice.
    MemoryContextSwitchTo(TopMemoryContext);
    ErrorData* error = CopyErrorData();
    FlushErrorState();
    AbortOutOfAnyTransaction();
    request->sqlstate = error->sqlerrcode != 0 ? error->sqlerrcode : ERRCODE_INTERNAL_ERROR;
    psycache::CopyText(request->message, error->message != nullptr ? error->message : "error");
    psycache::CopyText(request->detail, error->detail != nullptr ? error->detail : "");
    psycache::CopyText(request->hint, error->hint != nullptr ? error->hint : "");
  }
  PG_END_TRY();
  pgstat_report_activity(STATE_IDLE, nullptr);
  pg_write_barrier();
  request->answered = true;
  dsm_detach(segment);
  proc_exit(0);
}
