#!/usr/bin/env bash
# psycache_schedule_cleanup and psycache_unschedule_cleanup with pg_cron, which keeps its jobs in
# the database named by cron.database_name ('postgres' here): called from the cache's own database
# and from pg_cron's, and one real scheduled run that deletes expired entries. pg_cron 1.4
# schedules by the minute: the run takes up to a minute to come. The script creates pg_cron in
# 'postgres' if it is not there, and drops it again at the end.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

DB=psycache_cron_test
CRON_DB="$(q postgres "SELECT current_setting('cron.database_name')")"
HAD_PG_CRON="$(q "$CRON_DB" "SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'")"
HAD_PSYCACHE="$(q "$CRON_DB" "SELECT count(*) FROM pg_extension WHERE extname = 'psycache'")"

teardown() {
  if [[ "$(q "$CRON_DB" "SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'")" == 1 ]]; then
    q "$CRON_DB" "SELECT cron.unschedule(jobid) FROM cron.job
                  WHERE jobname IN ('psycache_cleanup@$DB', 'psycache_cleanup@$CRON_DB')" >/dev/null
  fi
  [[ "$HAD_PG_CRON" == 0 ]] && q "$CRON_DB" "DROP EXTENSION IF EXISTS pg_cron"
  [[ "$HAD_PSYCACHE" == 0 ]] && q "$CRON_DB" "DROP EXTENSION IF EXISTS psycache"
  q postgres "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
}
trap teardown EXIT

plan 13
q postgres "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
q postgres "CREATE DATABASE $DB"
q "$DB" "CREATE EXTENSION psycache"

if [[ "$HAD_PG_CRON" == 0 ]]; then
  is "$(q_error "$DB" "SELECT psycache_schedule_cleanup()")" \
    "ERROR:  pg_cron is not installed in database \"$CRON_DB\"
DETAIL:  pg_cron keeps its jobs in the database named by cron.database_name.
HINT:  Run CREATE EXTENSION pg_cron in database \"$CRON_DB\"." \
    "without pg_cron, scheduling says where to create it"
else
  skip "pg_cron is already installed in $CRON_DB"
fi
q "$CRON_DB" "CREATE EXTENSION IF NOT EXISTS pg_cron"

# --- from the cache's database: through a worker that logs into pg_cron's -----------------------
JOB="$(q "$DB" "SELECT psycache_schedule_cleanup()")"
[[ "$JOB" =~ ^[0-9]+$ ]]
ok $? "from another database, psycache_schedule_cleanup() schedules a job and returns its id"
is "$(q "$DB" "SELECT psycache_schedule_cleanup()")" "$JOB" "scheduling twice keeps the one job"
is "$(q "$CRON_DB" "SELECT jobname, schedule, command, database, username FROM cron.job
                    WHERE jobid = $JOB")" \
  "psycache_cleanup@$DB|* * * * *|SELECT public.psycache_cleanup_all()|$DB|postgres" \
  "the job runs psycache_cleanup_all() (every cache) every minute in the cache's database, as the caller"

# The worker does not visit this database: only pg_cron can delete these.
q "$DB" "SELECT psycache_put('expired:' || i, '1', interval '-1 minute') FROM generate_series(1, 100) AS i" >/dev/null
q "$DB" "SELECT psycache_put('live:' || i, '1', interval '1 hour') FROM generate_series(1, 5) AS i" >/dev/null
q "$DB" "CREATE SCHEMA other; SELECT psycache_create_cache('other');
         SELECT other.psycache_put('expired:' || i, '1', interval '-1 minute') FROM generate_series(1, 30) AS i" >/dev/null
BEFORE="$(q "$DB" "SELECT now()")"
STARTED=$SECONDS
wait_until 75 "$CRON_DB" "SELECT EXISTS (SELECT 1 FROM cron.job_run_details WHERE jobid = $JOB
                          AND status = 'succeeded' AND start_time > '$BEFORE')"
ok $? "pg_cron runs the job within a minute (cron.job_run_details: succeeded)"
diag "the run came after $((SECONDS - STARTED)) s: $(q "$CRON_DB" "SELECT status || ', ' ||
  return_message || ', ' || (end_time - start_time) FROM cron.job_run_details WHERE jobid = $JOB
  ORDER BY runid DESC LIMIT 1")"
is "$(q "$DB" "SELECT entries, expired_entries, worker_last_run IS NULL FROM psycache_stats()")" \
  "5|0|t" "the run deleted the 100 expired entries and kept the live ones (the worker never came)"
is "$(q "$DB" "SELECT entries FROM other.psycache_stats()")" "0" \
  "and the 30 of the second cache in schema other"

is "$(q "$DB" "SELECT psycache_unschedule_cleanup()")" "t" "unscheduling removes the job"
is "$(q "$DB" "SELECT psycache_unschedule_cleanup()")" "f" "unscheduling again finds none: harmless"
is "$(q "$CRON_DB" "SELECT count(*) FROM cron.job WHERE jobname = 'psycache_cleanup@$DB'")" "0" \
  "the job is gone from cron.job"

contains "$(q_error "$DB" "SELECT psycache_schedule_cleanup('every minute')")" \
  "ERROR:  invalid schedule: every minute" "pg_cron's own check of the schedule comes through"

# --- from pg_cron's own database: in the caller's transaction --------------------------------
q "$CRON_DB" "CREATE EXTENSION IF NOT EXISTS psycache"
OWN_JOB="$(q "$CRON_DB" "SELECT psycache_schedule_cleanup('*/10 * * * *')")"
is "$(q "$CRON_DB" "SELECT jobname, schedule, database FROM cron.job WHERE jobid = $OWN_JOB")" \
  "psycache_cleanup@$CRON_DB|*/10 * * * *|$CRON_DB" \
  "in pg_cron's database, the job is scheduled there, with the schedule given"
is "$(q "$CRON_DB" "BEGIN; SELECT psycache_unschedule_cleanup(); ROLLBACK;
                    SELECT psycache_unschedule_cleanup()")" "t
t" "there, unscheduling is part of the caller's transaction: a rollback undoes it"
finish
