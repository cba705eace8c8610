#!/usr/bin/env bash
# What the gets wait for while expired entries are deleted: the load of bench/cleanup.sh, one
# case, with the scheduler recording the server's CPU.
#
#   bench/cleanup_waits.sh DATA_DIR [none|worker]
#
# A fresh database with 1,000,000 expired and 100,000 live entries, as in bench/cleanup.sh; 4
# pgbench clients psycache_get() live keys, 1 psycache_put() expired keys, for 8 s; one second
# in, the worker's pass (worker, the default; PSYCACHE_CLEANUP_BATCH_SIZE and
# PSYCACHE_CLEANUP_BATCH_DELAY set its settings) or nothing (none). Two seconds in,
# `perf sched record -a` for 3 s; then bench/cleanup_waits.py says, for every wait of a get
# backend for the server's CPU, what ran on it meanwhile, and who woke the get backends (a get
# that waited for a lock would be woken by its holder). Needs perf (Debian: linux-perf) and
# the rights to record scheduler events (root, or kernel.perf_event_paranoid <= 1).
# PGHOST, PGPORT, PGUSER as for bench.sh.
set -euo pipefail
shopt -s inherit_errexit

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA_DIR="${1:?usage: cleanup_waits.sh DATA_DIR [none|worker]}"
CASE="${2:-worker}"
[[ "$CASE" == none || "$CASE" == worker ]] || { echo "unknown case: $CASE (none or worker)" >&2; exit 2; }
# shellcheck source=bench/common.bash
source "$BENCH_DIR/common.bash"
command -v perf >/dev/null || { echo "perf is not installed (Debian: linux-perf)" >&2; exit 1; }
: "${PGHOST:?}" "${PGPORT:?}" "${PGUSER:?}"
BATCH_SIZE="${PSYCACHE_CLEANUP_BATCH_SIZE:-}"
BATCH_DELAY="${PSYCACHE_CLEANUP_BATCH_DELAY:-}"
DB=cleanup_waits
WORK="$(mktemp -d /tmp/psycache-waits.XXXXXX)"

psql_db() { local db="$1"; shift; "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
reset_worker() {
  psql_db postgres -c 'ALTER SYSTEM RESET psycache.cleanup_databases' \
    -c 'ALTER SYSTEM RESET psycache.cleanup_interval' \
    -c 'ALTER SYSTEM RESET psycache.cleanup_batch_size' \
    -c 'ALTER SYSTEM RESET psycache.cleanup_batch_delay' -c 'SELECT pg_reload_conf()' >/dev/null
}
cleanup() {
  [[ "$CASE" == worker ]] && reset_worker
  psql_db postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

pin_postgres
psql_db postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
psql_db "$DB" -v value="$VALUE" <<'SQL'
CREATE EXTENSION psycache;
INSERT INTO psycache (key, value, expires_at)
SELECT 'exp:' || i, :'value'::jsonb, statement_timestamp() - i * interval '1 ms'
FROM generate_series(1, 1000000) AS i;
INSERT INTO psycache (key, value, expires_at)
SELECT 'live:' || i, :'value'::jsonb, statement_timestamp() + interval '1 day'
FROM generate_series(1, 100000) AS i;
VACUUM ANALYZE psycache;
SQL
printf "\\set k random(1, 100000)\nSELECT * FROM psycache_get('live:' || :k);\n" >"$WORK/get.sql"
printf "\\set k random(1, 1000000)\nSELECT psycache_put('exp:' || :k, :value::jsonb, :ttl::interval);\n" \
  >"$WORK/put.sql"

on_clients "$PG_BIN/pgbench" -n -M prepared -c 4 -j 4 -T 8 -f "$WORK/get.sql" "$DB" \
  >"$WORK/get.out" 2>&1 &
get_pid=$!
on_clients "$PG_BIN/pgbench" -n -M prepared -c 1 -j 1 -T 8 -D value="$VALUE" -D ttl='1 hour' \
  -f "$WORK/put.sql" "$DB" >"$WORK/put.out" 2>&1 &
put_pid=$!
sleep 1
if [[ "$CASE" == worker ]]; then
  [[ -n "$BATCH_SIZE" ]] && psql_db postgres -c "ALTER SYSTEM SET psycache.cleanup_batch_size = $((BATCH_SIZE))"
  [[ -n "$BATCH_DELAY" ]] && psql_db postgres -c "ALTER SYSTEM SET psycache.cleanup_batch_delay = $((BATCH_DELAY))"
  psql_db postgres -c "ALTER SYSTEM SET psycache.cleanup_databases = '$DB'" \
    -c 'ALTER SYSTEM SET psycache.cleanup_interval = 3600' -c 'SELECT pg_reload_conf()' >/dev/null
fi
sleep 1
psql_db postgres -At -c "SELECT pid, backend_type, replace(query, E'\\n', ' ')
  FROM pg_stat_activity" >"$WORK/backends.txt"
# The recorder runs beside the clients, not on the server's CPU.
on_clients perf sched record -a -o "$WORK/perf.data" sleep 3 >/dev/null 2>&1
wait "$get_pid" || { cat "$WORK/get.out" >&2; exit 1; }
wait "$put_pid" || { cat "$WORK/put.out" >&2; exit 1; }
echo "case $CASE$([[ "$CASE" == worker ]] && echo ", batches of $(psql_db "$DB" -At -c 'SHOW psycache.cleanup_batch_size'), $(psql_db "$DB" -At -c 'SHOW psycache.cleanup_batch_delay') between them")"
"$BENCH_DIR/cleanup_waits.py" "$WORK/perf.data" "$WORK/backends.txt"
