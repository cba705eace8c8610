// Scheduling the cleanup with pg_cron, from any database of the cluster.
//
// pg_cron keeps its jobs in one database (cron.database_name). Called there, the functions call
// pg_cron directly, in the caller's transaction. Called from another database, they start a
// short-lived background worker that logs into the pg_cron database as the calling role and makes
// the call there, in a transaction of its own (it commits even if the caller rolls back), exactly
// as that role could by connecting there and calling cron.schedule_in_database itself.
#pragma once

#include "pg.hpp"

namespace psycache {

// psycache_schedule_cleanup(schedule) -> the pg_cron job id. The job, named
// psycache_cleanup@<database>, runs psycache_cleanup_all() (every cache) in the caller's database
// as the caller; scheduling again updates its schedule.
Datum ScheduleCleanup(FunctionCallInfo fcinfo);

// psycache_unschedule_cleanup() -> whether the caller's job for this database was removed.
Datum UnscheduleCleanup(FunctionCallInfo fcinfo);

}  // namespace psycache

extern "C" {
// The background worker that makes a pg_cron call in the pg_cron database; argument is the
// handle of the DSM segment that holds the request and receives the answer.
PGDLLEXPORT void psycache_cron_main(Datum argument);
}
