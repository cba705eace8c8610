#!/usr/bin/env bash
# The cleanup background worker on a live cluster: it deletes the expired entries on its interval,
# follows a reload (one that turns it off ends the pass in progress), runs as
# psycache.cleanup_role, never waits for a writer, survives DROP
# EXTENSION and DROP DATABASE, logs what it skips once, and shows its runs in psycache_stats().
# It changes the psycache.* settings with ALTER SYSTEM and puts them back as it found them.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

DB=psycache_worker_test
PLAIN_DB=psycache_worker_plain       # exists, without the extension
MISSING_DB=psycache_worker_missing   # never exists
READER=psycache_worker_reader        # a role with only some rights on the table
SETTINGS=(psycache.cleanup_interval psycache.cleanup_databases psycache.cleanup_role
  psycache.cleanup_batch_size psycache.cleanup_batch_delay)
LAUNCHER="backend_type = 'psycache cleanup launcher'"

# What ALTER SYSTEM had set before, to put back at the end.
SAVED_SETTINGS="$(q postgres "SELECT string_agg(format('ALTER SYSTEM SET %s = %L', name, setting),
  E'\n') FROM pg_settings WHERE name LIKE 'psycache.%' AND sourcefile LIKE '%postgresql.auto.conf'")"

teardown() {
  local setting line
  for setting in "${SETTINGS[@]}"; do q postgres "ALTER SYSTEM RESET $setting"; done
  while read -r line; do [[ -n "$line" ]] && q postgres "$line"; done <<<"$SAVED_SETTINGS"
  q postgres "SELECT pg_reload_conf()" >/dev/null
  q postgres "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
  q postgres "DROP DATABASE IF EXISTS $PLAIN_DB WITH (FORCE)"
  q postgres "DROP ROLE IF EXISTS $READER"
}
trap teardown EXIT

# configure NAME VALUE [NAME VALUE ...]: ALTER SYSTEM SET each one, then reload.
configure() {
  while (($#)); do
    q postgres "ALTER SYSTEM SET $1 = '$2'"
    shift 2
  done
  q postgres "SELECT pg_reload_conf()" >/dev/null
}

# launcher_reports TEXT: waits until the launcher shows TEXT (its settings) in pg_stat_activity.
launcher_reports() {
  wait_until 10 postgres "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE $LAUNCHER
                          AND query = '$1')"
}

stats() { q "$DB" "SELECT $1 FROM psycache_stats()"; }

# expire N PREFIX: N entries that expired a second ago.
expire() {
  q "$DB" "INSERT INTO psycache SELECT '$2' || i, '{\"n\": 1}', now() - interval '1 second'
           FROM generate_series(1, $1) AS i"
}

plan 51
START_OFFSET=$(log_offset)
q postgres "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
q postgres "DROP DATABASE IF EXISTS $PLAIN_DB WITH (FORCE)"
q postgres "CREATE DATABASE $DB"
q postgres "CREATE DATABASE $PLAIN_DB"
q "$DB" "CREATE EXTENSION psycache"

# --- the launcher ---------------------------------------------------------------------------
LAUNCHER_PID="$(q postgres "SELECT pid FROM pg_stat_activity WHERE $LAUNCHER")"
is "$(q postgres "SELECT count(*) || ' ' || min(application_name) FROM pg_stat_activity
                  WHERE $LAUNCHER")" "1 psycache cleanup launcher" \
  "one launcher runs, named in pg_stat_activity (backend_type and application_name)"

configure psycache.cleanup_interval 0 psycache.cleanup_databases "$DB, $PLAIN_DB, $MISSING_DB"
launcher_reports "psycache cleanup is off (psycache.cleanup_interval = 0)"
ok $? "after a reload to psycache.cleanup_interval = 0, the launcher reports that it is off"

# --- a pass, and what psycache_stats shows of it ----------------------------------------------
expire 500 "expired:"
q "$DB" "SELECT psycache_put('live:' || i, '1', interval '1 hour') FROM generate_series(1, 10) AS i" >/dev/null
BEFORE="$(q "$DB" "SELECT now()")"
configure psycache.cleanup_interval 3600
wait_until 10 "$DB" "SELECT worker_last_run > '$BEFORE' FROM psycache_stats()"
ok $? "a reload that turns the worker on starts a pass at once"
is "$(stats "worker_last_deleted, worker_last_duration > interval '0', worker_last_error IS NULL,
             entries, expired_entries")" "500|t|t|10|0" \
  "psycache_stats shows the pass: 500 deleted, a duration, no error; the 10 live entries stay"
is "$(q postgres "SELECT query FROM pg_stat_activity WHERE $LAUNCHER")" \
  "psycache cleanup every 3600 s in $DB, $PLAIN_DB, $MISSING_DB" \
  "the launcher shows its interval and databases in pg_stat_activity"

# --- a 1-second interval --------------------------------------------------------------------
configure psycache.cleanup_interval 1
launcher_reports "psycache cleanup every 1 s in $DB, $PLAIN_DB, $MISSING_DB"
STARTED=$SECONDS
expire 300 "soon:"
q "$DB" "SELECT psycache_put('short:' || i, '1', interval '2 seconds') FROM generate_series(1, 5) AS i" >/dev/null
wait_until 10 "$DB" "SELECT entries = 10 AND expired_entries = 0 FROM psycache_stats()"
ok $? "with a 1-second interval, expired entries (and entries that expire meanwhile) go within seconds"
diag "the entries with a 2-second ttl were gone after $((SECONDS - STARTED)) s"
is "$(q "$DB" "SELECT count(*) FROM psycache WHERE key LIKE 'live:%'")" "10" "the live entries stay"

# --- a new interval on reload ---------------------------------------------------------------
# Four passes in a row after the reload: the last two gaps between them are the new interval (the
# first gap may be the old interval's last pass, just before the one the reload starts).
configure psycache.cleanup_interval 2
launcher_reports "psycache cleanup every 2 s in $DB, $PLAIN_DB, $MISSING_DB"
runs=()
last="$(stats "(extract(epoch FROM worker_last_run) * 1000)::bigint")"
deadline=$((SECONDS + 15))
while ((${#runs[@]} < 4 && SECONDS < deadline)); do
  run="$(stats "(extract(epoch FROM worker_last_run) * 1000)::bigint")"
  if [[ "$run" != "$last" ]]; then
    runs+=("$run")
    last="$run"
  fi
  sleep 0.05
done
gap1=$((runs[2] - runs[1]))
gap2=$((runs[3] - runs[2]))
diag "passes after the reload to 2 s came ${gap1} ms and ${gap2} ms apart"
((gap1 >= 1700 && gap1 <= 3000 && gap2 >= 1700 && gap2 <= 3000))
ok $? "after a reload to psycache.cleanup_interval = 2, the passes come 2 s apart"

configure psycache.cleanup_interval 0
launcher_reports "psycache cleanup is off (psycache.cleanup_interval = 0)"
LAST_RUN="$(stats worker_last_run)"
expire 1 "stays:"
! wait_until 3 "$DB" "SELECT worker_last_run <> '$LAST_RUN' OR expired_entries = 0 FROM psycache_stats()"
ok $? "after a reload to 0, no pass runs and expired entries stay (watched for 3 s)"

# --- every cache of the database, each on its own ---------------------------------------------
q "$DB" "CREATE SCHEMA cache_a; CREATE SCHEMA \"Cache B\"; SELECT psycache_create_cache('cache_a');
         SELECT psycache_create_cache('Cache B')" >/dev/null
q "$DB" "INSERT INTO cache_a.psycache SELECT 'a' || i, '1', now() - interval '1 second'
         FROM generate_series(1, 200) AS i" >/dev/null
q "$DB" "INSERT INTO \"Cache B\".psycache SELECT 'b' || i, '1', now() - interval '1 second'
         FROM generate_series(1, 300) AS i" >/dev/null
expire 100 "main:"
configure psycache.cleanup_interval 1
wait_until 10 "$DB" "SELECT (SELECT expired_entries FROM psycache_stats())
                     + (SELECT expired_entries FROM cache_a.psycache_stats())
                     + (SELECT expired_entries FROM \"Cache B\".psycache_stats()) = 0"
ok $? "a pass cleans every cache of the database: the extension's, cache_a and \"Cache B\""
# A cache whose cleanup fails does not keep the others from theirs.
q "$DB" "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
         \$\$BEGIN RAISE EXCEPTION 'cache_a refuses deletes'; END\$\$;
         CREATE TRIGGER refuse BEFORE DELETE ON cache_a.psycache FOR EACH ROW EXECUTE FUNCTION refuse()"
q "$DB" "INSERT INTO cache_a.psycache VALUES ('stuck', '1', now() - interval '1 second')"
q "$DB" "INSERT INTO \"Cache B\".psycache VALUES ('goes', '1', now() - interval '1 second')"
wait_until 10 "$DB" "SELECT worker_last_error = 'cache_a refuses deletes'
                     AND (SELECT expired_entries FROM \"Cache B\".psycache_stats()) = 0
                     FROM psycache_stats()"
ok $? "a failing cache shows its error in psycache_stats, and the next cache is cleaned all the same"
is "$(q "$DB" "SELECT expired_entries FROM cache_a.psycache_stats()")" "1" \
  "the failing cache keeps its expired entry"
q "$DB" "DROP TRIGGER refuse ON cache_a.psycache"
wait_until 10 "$DB" "SELECT worker_last_error IS NULL FROM psycache_stats()"
ok $? "once the cause is gone, the next pass succeeds"
q "$DB" "SELECT psycache_drop_cache('cache_a'), psycache_drop_cache('Cache B');
         DROP SCHEMA cache_a; DROP SCHEMA \"Cache B\"" >/dev/null
configure psycache.cleanup_interval 0
launcher_reports "psycache cleanup is off (psycache.cleanup_interval = 0)"
expire 1 "stays:"  # the expired entry that the checks below expect, cleaned up meanwhile

# --- failures, and the cleanup role ---------------------------------------------------------
OFFSET=$(log_offset)
configure psycache.cleanup_role psycache_worker_no_such_role psycache.cleanup_interval 1
wait_until 10 "$DB" "SELECT worker_last_error = 'role \"psycache_worker_no_such_role\" named by psycache.cleanup_role does not exist' FROM psycache_stats()"
ok $? "a failing pass shows its error in psycache_stats"
if have_log; then
  contains "$(log_since "$OFFSET")" "CONTEXT:  psycache cleanup of database \"$DB\"" \
    "the failure is logged, naming the database"
else
  skip "PSYCACHE_TEST_SERVER_LOG is not set"
fi

q postgres "CREATE ROLE $READER NOLOGIN"
q "$DB" "GRANT SELECT ON psycache TO $READER"
configure psycache.cleanup_role "$READER"
wait_until 10 "$DB" "SELECT worker_last_error = 'permission denied for table psycache'
                     FROM psycache_stats()"
ok $? "the worker runs as psycache.cleanup_role: with SELECT alone, it is refused"
is "$(stats expired_entries)" "1" "and deletes nothing"
q "$DB" "GRANT UPDATE, DELETE ON psycache TO $READER"
wait_until 10 "$DB" "SELECT worker_last_error IS NULL AND expired_entries = 0 FROM psycache_stats()"
ok $? "granted UPDATE and DELETE too (SELECT ... FOR UPDATE needs UPDATE), it cleans up: the worker carries on after failures"
configure psycache.cleanup_role ""

# --- writers never wait for the cleanup, nor the cleanup for writers --------------------------
configure psycache.cleanup_interval 0
launcher_reports "psycache cleanup is off (psycache.cleanup_interval = 0)"
expire 3 "locked:"
PGAPPNAME=psycache_worker_locker psql -X -q -d "$DB" -c "BEGIN" \
  -c "SELECT key FROM psycache WHERE key = 'locked:1' FOR UPDATE" -c "SELECT pg_sleep(60)" \
  >/dev/null 2>&1 &
LOCKER=$!
wait_until 10 "$DB" "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                     WHERE application_name = 'psycache_worker_locker' AND query LIKE '%pg_sleep%')"
STARTED_MS=$(date +%s%3N)
is "$(q "$DB" "SET statement_timeout = '10s'; SELECT psycache_cleanup()")" "2" \
  "psycache_cleanup skips an expired row that a writer has locked"
ELAPSED_MS=$(($(date +%s%3N) - STARTED_MS))
diag "psycache_cleanup returned after ${ELAPSED_MS} ms"
((ELAPSED_MS < 2000))
ok $? "and does not wait for the writer"
q postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE application_name = 'psycache_worker_locker'" >/dev/null
wait "$LOCKER" 2>/dev/null
is "$(q "$DB" "SELECT psycache_cleanup()")" "1" "once the writer is gone, the row goes too"

# --- psycache_cleanup() outside a transaction block: a transaction per batch, in a worker ------
expire 200000 "call:"
# (statement_timeout from PGOPTIONS: a "SET ...; SELECT ..." string would be one implicit
# transaction block, in which the batches share the caller's transaction)
! PGOPTIONS="$PGOPTIONS -c statement_timeout=1s" q "$DB" "SELECT psycache_cleanup(10)" 2>/dev/null
ok $? "a psycache_cleanup(10) of 200,000 expired entries is cancelled by a 1 s statement_timeout"
LEFT="$(q "$DB" "SELECT count(*) FROM psycache WHERE key LIKE 'call:%'")"
diag "$((200000 - LEFT)) of them were deleted before the cancel"
((LEFT > 0 && LEFT < 200000))
ok $? "the batches it committed before the cancel stay deleted: each batch is a transaction"
wait_until 5 postgres "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity
                       WHERE backend_type = 'psycache_cleanup() call')"
ok $? "and its background worker stops with the cancelled call"
is "$(q "$DB" "SELECT psycache_cleanup()")" "$LEFT" "the next call deletes the rest, counted exactly"

# --- the worker's batches skip a locked row too, and a later pass deletes it ------------------
# pass_after BEFORE: waits until psycache_stats shows a pass that ran after BEFORE.
pass_after() { wait_until 10 "$DB" "SELECT worker_last_run > '$1' FROM psycache_stats()"; }
expire 5 "held:"
PGAPPNAME=psycache_worker_holder psql -X -q -d "$DB" -c "BEGIN" \
  -c "SELECT key FROM psycache WHERE key = 'held:3' FOR UPDATE" -c "SELECT pg_sleep(60)" \
  >/dev/null 2>&1 &
HOLDER=$!
wait_until 10 "$DB" "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                     WHERE application_name = 'psycache_worker_holder' AND query LIKE '%pg_sleep%')"
BEFORE="$(q "$DB" "SELECT now()")"
configure psycache.cleanup_batch_size 2 psycache.cleanup_interval 3600
pass_after "$BEFORE"
is "$(stats "worker_last_deleted, worker_last_error IS NULL, expired_entries")" "4|t|1" \
  "a pass in batches of 2 skips the expired row that a writer has locked: 4 deleted, counted exactly"
q postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE application_name = 'psycache_worker_holder'" >/dev/null
wait "$HOLDER" 2>/dev/null
BEFORE="$(q "$DB" "SELECT now()")"
configure psycache.cleanup_interval 3599
pass_after "$BEFORE"
is "$(stats "worker_last_deleted, expired_entries, entries")" "1|0|10" \
  "once the writer is gone, the next pass deletes that row: 1 deleted, the live entries stay"

# --- pacing: psycache.cleanup_batch_delay after each batch, and a reload during a pass --------
configure psycache.cleanup_interval 0
launcher_reports "psycache cleanup is off (psycache.cleanup_interval = 0)"
expire 1000 "paced:"
BEFORE="$(q "$DB" "SELECT now()")"
configure psycache.cleanup_batch_size 100 psycache.cleanup_batch_delay 100 \
  psycache.cleanup_interval 3600
pass_after "$BEFORE"
is "$(stats "worker_last_deleted, worker_last_duration >= interval '900 ms', expired_entries")" \
  "1000|t|0" "with batches of 100 and a delay of 100 ms, 1000 expired entries take 10 pauses (0.9 s at least)"
diag "that pass took $(stats worker_last_duration)"

configure psycache.cleanup_interval 0
launcher_reports "psycache cleanup is off (psycache.cleanup_interval = 0)"
expire 1000 "slow:"
configure psycache.cleanup_batch_size 10 psycache.cleanup_batch_delay 10s \
  psycache.cleanup_interval 3600
wait_until 10 "$DB" "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type =
                     'psycache cleanup' AND datname = '$DB' AND wait_event = 'Extension')"
ok $? "a pass with a delay of 10 s sleeps after its first batch of 10 (wait_event Extension)"
is "$(stats expired_entries)" "990" "and has deleted that batch alone"
STARTED=$SECONDS
configure psycache.cleanup_batch_delay 0
wait_until 10 "$DB" "SELECT expired_entries = 0 FROM psycache_stats()"
ok $? "a reload to psycache.cleanup_batch_delay = 0 wakes the pass, which deletes the rest at once"
diag "the remaining 990 went $((SECONDS - STARTED)) s after the reload"
q postgres "ALTER SYSTEM RESET psycache.cleanup_batch_delay"

# --- a reload that turns the worker off ends the pass in progress ----------------------------
# stop_pass NAME VALUE WHY: starts a pass that sleeps 10 s after each batch of 10, sets NAME to
# VALUE, and checks that the pass ends at once, keeps its count and says WHY in the log.
stop_pass() {
  configure psycache.cleanup_interval 0
  launcher_reports "psycache cleanup is off (psycache.cleanup_interval = 0)"
  q "$DB" "DELETE FROM psycache"
  expire 1000 "stopped:"
  configure psycache.cleanup_batch_size 10 psycache.cleanup_batch_delay 10s \
    psycache.cleanup_interval 3600
  wait_until 10 "$DB" "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type =
                       'psycache cleanup' AND datname = '$DB' AND wait_event = 'Extension')"
  local offset started=$SECONDS
  offset=$(log_offset)
  configure "$1" "$2"
  wait_until 5 "$DB" "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type =
                      'psycache cleanup' AND datname = '$DB')"
  ok $? "a reload to $1 = '$2' ends the pass in its 10 s pause"
  diag "it ended $((SECONDS - started)) s after the reload"
  is "$(stats "worker_last_deleted, expired_entries")" "10|990" \
    "that pass is recorded with the one batch it deleted; the other expired entries stay"
  if have_log; then
    contains "$(log_since "$offset")" "stopped early, after deleting 10 expired entries" \
      "and the log says why: $3"
    contains "$(log_since "$offset")" "After a reload, $3." "(the detail)"
  else
    skip "no server log" && skip "no server log"
  fi
}
stop_pass psycache.cleanup_interval 0 "psycache.cleanup_interval is 0"
stop_pass psycache.cleanup_databases "$PLAIN_DB, $MISSING_DB" \
  "the database is no longer in psycache.cleanup_databases"
q postgres "ALTER SYSTEM RESET psycache.cleanup_batch_delay"
q postgres "ALTER SYSTEM RESET psycache.cleanup_batch_size"
configure psycache.cleanup_databases "$DB, $PLAIN_DB, $MISSING_DB"

# --- DROP EXTENSION in the middle of a pass ---------------------------------------------------
OFFSET=$(log_offset)
configure psycache.cleanup_batch_size 100 psycache.cleanup_interval 1
expire 100000 "many:"
# (between its batches, a paced pass is idle in pg_stat_activity: waiting for its delay)
wait_until 10 "$DB" "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type =
                     'psycache cleanup' AND datname = '$DB')"
ok $? "a pass runs in batches of 100 through 100,000 expired entries"
diag "$(q "$DB" "SELECT count(*) FROM psycache") entries left when DROP EXTENSION starts"
q "$DB" "SET statement_timeout = '10s'; DROP EXTENSION psycache"
ok $? "DROP EXTENSION in the middle of the pass succeeds"
if have_log; then
  ! grep -q "psycache cleanup of database \"$DB\"" <<<"$(log_since "$OFFSET")"
  ok $? "and the worker logs no error: it ends the pass quietly"
else
  skip "PSYCACHE_TEST_SERVER_LOG is not set"
fi
q "$DB" "CREATE EXTENSION psycache"
configure psycache.cleanup_batch_size 10000
expire 100 "after:"
wait_until 10 "$DB" "SELECT entries = 0 FROM psycache_stats()"
ok $? "after CREATE EXTENSION again, the worker cleans up the new table"

# --- DROP DATABASE, CREATE DATABASE -----------------------------------------------------------
PGOPTIONS="-c statement_timeout=20s" q postgres "DROP DATABASE $DB"
ok $? "DROP DATABASE succeeds while the worker visits the database every second"
q postgres "CREATE DATABASE $DB"
q "$DB" "CREATE EXTENSION psycache"
expire 100 "reborn:"
wait_until 10 "$DB" "SELECT entries = 0 FROM psycache_stats()"
ok $? "the database created again is cleaned up"
is "$(q postgres "SELECT pid FROM pg_stat_activity WHERE $LAUNCHER")" "$LAUNCHER_PID" \
  "the launcher has run all along, through DROP EXTENSION and DROP DATABASE"

# --- what it skips, said once -----------------------------------------------------------------
if have_log; then
  LOG_TEXT="$(log_since "$START_OFFSET")"
  is "$(grep -c "psycache cleanup skips database \"$PLAIN_DB\": it has no psycache extension" <<<"$LOG_TEXT")" \
    "1" "a listed database without the extension is logged once, in a clear line"
  is "$(grep -c "psycache cleanup skips database \"$MISSING_DB\": it does not exist" <<<"$LOG_TEXT")" \
    "1" "a listed database that does not exist is logged once"
else
  skip "PSYCACHE_TEST_SERVER_LOG is not set"
  skip "PSYCACHE_TEST_SERVER_LOG is not set"
fi

# --- SIGTERM ----------------------------------------------------------------------------------
q postgres "SELECT pg_terminate_backend($LAUNCHER_PID)" >/dev/null
wait_until 2 postgres "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $LAUNCHER_PID)"
ok $? "the launcher exits at once on SIGTERM"
wait_until 20 postgres "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE $LAUNCHER)"
ok $? "and the postmaster starts it again after its restart time (10 s)"

if have_log; then
  ! grep -E "PANIC|terminated by signal|psycache.*exited with exit code [^01]" <<<"$(log_since "$START_OFFSET")"
  ok $? "no process crashed"
else
  skip "PSYCACHE_TEST_SERVER_LOG is not set"
fi
finish
