#!/usr/bin/env bash
# The cleanup benchmark of `./run bench cleanup` (bench/bench.sh BUILD_DIR DATA_DIR cleanup):
# what expiring 1,000,000 entries costs the gets and puts that run meanwhile.
#
#   bench/cleanup.sh DATA_DIR
#
# For each case it creates a database with 1,000,000 expired entries (key exp:N, expired 1 ms
# apart over the last 17 minutes, as a cache's entries expire) and 100,000 live ones (key live:N), every value the same 200-byte JSON document, then VACUUM ANALYZE.
# The worker does not visit it (it is not in psycache.cleanup_databases). Then for
# PSYCACHE_CLEANUP_SECONDS (default 8) two pgbench processes run at once: 4 clients calling
# psycache_get() with random live keys, 1 client calling psycache_put() with random expired
# keys (each put rewrites an entry that a cleanup wants to delete). One second into the load:
#
#   none    nothing (the baseline)
#   worker  the background worker: psycache.cleanup_databases names the database (a changed
#           list starts a pass at once), psycache.cleanup_interval = 3600 so there is one pass;
#           PSYCACHE_CLEANUP_BATCH_SIZE sets psycache.cleanup_batch_size (default: the GUC's)
#   delete  one unbatched DELETE FROM psycache WHERE expires_at <= statement_timestamp()
#
# pgbench logs every transaction; the table gives ops/s, p50, p99 and max latency per operation
# and case, and writes cleanup.md to the results folder. PGHOST, PGPORT, PGUSER as for bench.sh.
set -euo pipefail
shopt -s inherit_errexit

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA_DIR="${1:?usage: cleanup.sh DATA_DIR}"
# shellcheck source=bench/common.bash
source "$BENCH_DIR/common.bash"
LOAD_SECONDS="${PSYCACHE_CLEANUP_SECONDS:-8}"
BATCH_SIZE="${PSYCACHE_CLEANUP_BATCH_SIZE:-}"  # psycache.cleanup_batch_size; empty: the default
RESULTS="${PSYCACHE_BENCH_RESULTS:-$BENCH_DIR/results}"
EXPIRED=1000000
LIVE=100000
: "${PGHOST:?}" "${PGPORT:?}" "${PGUSER:?}"


WORK="$(mktemp -d /tmp/psycache-cleanup.XXXXXX)"
WORKER_SET=""
cleanup() {
  if [[ -n "$WORKER_SET" ]]; then reset_worker || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

psql_db() { local db="$1"; shift; "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

reset_worker() {
  psql_db postgres -c 'ALTER SYSTEM RESET psycache.cleanup_databases' \
    -c 'ALTER SYSTEM RESET psycache.cleanup_interval' \
    -c 'ALTER SYSTEM RESET psycache.cleanup_batch_size' -c 'SELECT pg_reload_conf()' >/dev/null
  WORKER_SET=""
}


load() {  # DATABASE
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $1" >/dev/null
  psql_db "$1" -v value="$VALUE" -v expired="$EXPIRED" -v live="$LIVE" <<'SQL'
CREATE EXTENSION psycache;
INSERT INTO psycache (key, value, expires_at)
SELECT 'exp:' || i, :'value'::jsonb, statement_timestamp() - i * interval '1 ms'
FROM generate_series(1, :expired) AS i;
INSERT INTO psycache (key, value, expires_at)
SELECT 'live:' || i, :'value'::jsonb, statement_timestamp() + interval '1 day'
FROM generate_series(1, :live) AS i;
VACUUM ANALYZE psycache;
SQL
}

write_scripts() {
  printf "\\set k random(1, %d)\nSELECT * FROM psycache_get('live:' || :k);\n" "$LIVE" \
    >"$WORK/get.sql"
  printf "\\set k random(1, %d)\nSELECT psycache_put('exp:' || :k, :value::jsonb, :ttl::interval);\n" \
    "$EXPIRED" >"$WORK/put.sql"
}

# Prints "ops_per_s,p50_us,p99_us,max_us" from pgbench's transaction logs (LOG_PREFIX.*).
summarize() {  # LOG_PREFIX
  cat "$WORK/$1".* | awk '{ print $3 }' | sort -n | awk -v s="$LOAD_SECONDS" '{ v[NR] = $1 }
    END { if (NR == 0) { print "0,0,0,0"; exit }
          printf "%.0f,%d,%d,%d\n", NR / s, v[int(0.50 * (NR - 1)) + 1],
            v[int(0.99 * (NR - 1)) + 1], v[NR] }'
}

# Runs the load on DATABASE for LOAD_SECONDS and, one second in, the case's cleanup.
run_case() {  # CASE DATABASE
  local case="$1" db="$2" get_pid put_pid note=""
  rm -f "$WORK"/get_log.* "$WORK"/put_log.*
  (cd "$WORK" && on_clients "$PG_BIN/pgbench" -n -M prepared -c 4 -j 4 -T "$LOAD_SECONDS" \
    -f "$WORK/get.sql" -l --log-prefix=get_log "$db" >"$WORK/get.out" 2>&1) &
  get_pid=$!
  (cd "$WORK" && on_clients "$PG_BIN/pgbench" -n -M prepared -c 1 -j 1 -T "$LOAD_SECONDS" \
    -D value="$VALUE" -D ttl='1 hour' -f "$WORK/put.sql" -l --log-prefix=put_log "$db" \
    >"$WORK/put.out" 2>&1) &
  put_pid=$!
  sleep 1
  case "$case" in
    worker)
      WORKER_SET=1
      if [[ -n "$BATCH_SIZE" ]]; then
        psql_db postgres -c "ALTER SYSTEM SET psycache.cleanup_batch_size = $((BATCH_SIZE))"
      fi
      psql_db postgres -c "ALTER SYSTEM SET psycache.cleanup_databases = '$db'" \
        -c 'ALTER SYSTEM SET psycache.cleanup_interval = 3600' -c 'SELECT pg_reload_conf()' \
        >/dev/null
      # The end of the pass: its process has gone from pg_stat_activity (cheap to ask while the
      # load runs; psycache_stats() counts the expired entries) and psycache_stats() shows it.
      local deadline=$((SECONDS + 60)) start=$SECONDS seen="" running stats=""
      while [[ -z "$stats" ]]; do
        ((SECONDS < deadline)) || { echo "the worker did not finish a pass in 60 s" >&2; exit 1; }
        sleep 0.2
        running="$(psql_db postgres -At -c "SELECT count(*) FROM pg_stat_activity
          WHERE backend_type = 'psycache cleanup' AND datname = '$db'")"
        ((running > 0)) && seen=1
        if ((running == 0)) && [[ -n "$seen" || $((SECONDS - start)) -ge 3 ]]; then
          stats="$(psql_db "$db" -At -F' ' -c "SELECT expired_entries, worker_last_deleted,
            round(extract(epoch FROM worker_last_duration) * 1000) FROM psycache_stats()
            WHERE worker_last_run IS NOT NULL")"
        fi
      done
      read -r left deleted duration_ms <<<"$stats"
      note="worker pass (batches of $(psql_db "$db" -At -c "SHOW psycache.cleanup_batch_size")): deleted $deleted in $duration_ms ms; $left expired left"
      reset_worker
      ;;
    delete)
      local t0 t1 deleted
      t0=$(date +%s%N)
      deleted="$("$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -d "$db" \
        -c 'DELETE FROM psycache WHERE expires_at <= statement_timestamp()' | awk '{ print $2 }')"
      t1=$(date +%s%N)
      note="one DELETE: deleted $deleted in $(((t1 - t0) / 1000000)) ms (as psql saw it)"
      ;;
  esac
  wait "$get_pid" || { cat "$WORK/get.out" >&2; exit 1; }
  wait "$put_pid" || { cat "$WORK/put.out" >&2; exit 1; }
  echo "$case,get,$(summarize get_log)" >>"$WORK/rows.csv"
  echo "$case,put,$(summarize put_log)" >>"$WORK/rows.csv"
  [[ -n "$note" ]] && echo "$case: $note" >>"$WORK/notes.txt"
  grep "^$case," "$WORK/rows.csv"
  [[ -n "$note" ]] && echo "  $note"
  return 0
}

report() {
  local out="$RESULTS/cleanup.md"
  {
    echo "$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1));"
    echo "server on CPU $SERVER_CPU, pgbench on CPU $CLIENT_CPU; $(date -u +%F)."
    echo "Per case a fresh database with $EXPIRED expired and $LIVE live entries (200-byte"
    echo "JSON); $LOAD_SECONDS s of load: 4 clients psycache_get() of random live keys, 1 client"
    echo "psycache_put() of random expired keys; the cleanup starts 1 s into the load."
    echo "Total latency per transaction from pgbench's logs; max ms is the slowest one."
    echo
    echo "| case | op | ops/s | p50 µs | p99 µs | max ms |"
    echo "|---|---|--:|--:|--:|--:|"
    awk -F, '{ printf "| %s | %s | %d | %d | %d | %.1f |\n", $1, $2, $3, $4, $5, $6 / 1000 }' \
      "$WORK/rows.csv"
    echo
    sed 's/^/- /' "$WORK/notes.txt"
    awk -F, '
      $1 == "none" && $2 == "get" { base_p99 = $5 }
      $1 == "worker" && $2 == "get" { worker_p99 = $5 }
      $1 == "worker" && $2 == "put" { worker_max = $6 }
      END {
        r = worker_p99 / base_p99
        printf "- get p99, worker / none: %.2fx (target at most 1.3x): %s\n", r, (r <= 1.3 ? "met" : "NOT met")
        printf "- put max during the worker: %.1f ms (target at most 20 ms): %s\n", worker_max / 1000,
          (worker_max <= 20000 ? "met" : "NOT met")
      }' "$WORK/rows.csv"
  } >"$out"
  cat "$out"
}

main() {
  local started=$SECONDS
  pin_postgres
  write_scripts
  mkdir -p "$RESULTS"
  : >"$WORK/rows.csv"
  : >"$WORK/notes.txt"
  local case
  for case in none worker delete; do
    log "case $case: loading $EXPIRED expired and $LIVE live entries into cleanup_$case"
    load "cleanup_$case"
    log "case $case: $LOAD_SECONDS s of load"
    run_case "$case" "cleanup_$case"
  done
  log "results"
  report
  echo
  echo "measured in $((SECONDS - started)) s; results in $RESULTS/cleanup.md"
}

main
