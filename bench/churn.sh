#!/usr/bin/env bash
# The put-churn benchmark of `./run bench churn` (bench/bench.sh BUILD_DIR DATA_DIR churn): what
# constant puts over the whole key space do to the table's size, per table setting.
#
#   bench/churn.sh DATA_DIR
#
# For each setting in PSYCACHE_CHURN_SETTINGS (default: "default fillfactor=90 fillfactor=70";
# "default" is the table as the extension creates it, anything else goes to ALTER TABLE psycache
# SET (...)), a fresh database gets 100,000 keys of the 200-byte document through psycache_put,
# then VACUUM ANALYZE. Then PSYCACHE_CHURN_SECONDS (default 60) of pgbench: 8 clients calling
# psycache_put() on random keys of the same key space (every put an update), ttl one hour, with
# the server's autovacuum at its defaults but for the table's own settings. Every 10 s the heap's
# size, its dead rows and the autovacuums so far are sampled. Reported per setting: puts/s; heap,
# primary key and expiry index before and after; the largest heap seen; updates and the share of
# them that were HOT (pg_stat_user_tables n_tup_hot_upd / n_tup_upd). Writes churn.md to the
# results folder. PGHOST, PGPORT, PGUSER as for bench.sh.
set -euo pipefail
shopt -s inherit_errexit

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA_DIR="${1:?usage: churn.sh DATA_DIR}"
# shellcheck source=bench/common.bash
source "$BENCH_DIR/common.bash"
LOAD_SECONDS="${PSYCACHE_CHURN_SECONDS:-60}"
SETTINGS="${PSYCACHE_CHURN_SETTINGS:-default fillfactor=90 fillfactor=70}"
RESULTS="${PSYCACHE_BENCH_RESULTS:-$BENCH_DIR/results}"
KEYS=100000
CLIENTS=8
: "${PGHOST:?}" "${PGPORT:?}" "${PGUSER:?}"

WORK="$(mktemp -d /tmp/psycache-churn.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

psql_db() { local db="$1"; shift; "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
mb() { awk '{ printf "%.1f", $1 / 1048576 }' <<<"$1"; }

# "heap pkey expiry_index" in bytes.
sizes() {  # DATABASE
  psql_db "$1" -At -F' ' -c "SELECT pg_relation_size('psycache'), pg_relation_size('psycache_pkey'),
    pg_relation_size('ix_psycache_expires_at')"
}

# "updates hot_updates dead_rows autovacuums", once the backends have reported.
table_stats() {  # DATABASE
  psql_db "$1" -At -F' ' -c "SELECT n_tup_upd, n_tup_hot_upd, n_dead_tup, autovacuum_count
    FROM pg_stat_user_tables WHERE relname = 'psycache'"
}

printf "\\set k random(1, %d)\nSELECT psycache_put('key:' || :k, :value::jsonb, :ttl::interval);\n" \
  "$KEYS" >"$WORK/put.sql"

pin_postgres
rows=""
case_number=0
for setting in $SETTINGS; do
  case_number=$((case_number + 1))
  db="psycache_churn_$case_number"
  log "$setting: loading $KEYS keys into $db"
  psql_db postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  psql_db "$db" -c 'CREATE EXTENSION psycache' >/dev/null
  [[ "$setting" == default ]] || psql_db "$db" -c "ALTER TABLE psycache SET ($setting)" >/dev/null
  psql_db "$db" -v value="$VALUE" -v keys="$KEYS" <<'SQL'
SELECT count(psycache_put('key:' || i, :'value'::jsonb, interval '1 hour'))
FROM generate_series(1, :keys) AS i \g /dev/null
VACUUM ANALYZE psycache;
SELECT pg_stat_reset_single_table_counters('psycache'::regclass) \g /dev/null
SQL
  read -r heap0 pkey0 expiry0 <<<"$(sizes "$db")"
  log "$setting: $LOAD_SECONDS s of puts, $CLIENTS clients"
  (cd "$WORK" && on_clients "$PG_BIN/pgbench" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" \
    -T "$LOAD_SECONDS" -D value="$VALUE" -D ttl='1 hour' -f "$WORK/put.sql" "$db" \
    >"$WORK/pgbench.$case_number.log" 2>&1) &
  pgbench_pid=$!
  max_heap=$heap0
  for ((t = 10; t <= LOAD_SECONDS; t += 10)); do
    sleep 10
    read -r heap _ <<<"$(sizes "$db")"
    read -r _ _ dead vacuums <<<"$(table_stats "$db")"
    ((heap > max_heap)) && max_heap=$heap
    printf '  %3d s: heap %s MB, %s dead rows, %s autovacuums\n' "$t" "$(mb "$heap")" "$dead" "$vacuums"
  done
  wait "$pgbench_pid"
  sleep 2  # the backends report their counts when they exit
  tps="$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/pgbench.$case_number.log" | tail -1)"
  read -r heap1 pkey1 expiry1 <<<"$(sizes "$db")"
  ((heap1 > max_heap)) && max_heap=$heap1
  read -r updates hot dead vacuums <<<"$(table_stats "$db")"
  hot_share="$(awk -v u="$updates" -v h="$hot" 'BEGIN { printf("%.1f%%", (u > 0 ? 100 * h / u : 0)) }')"
  row="| $setting | $(printf '%.0f' "$tps") | $(mb "$heap0") → $(mb "$heap1") | $(mb "$max_heap")"
  row+=" | $(mb "$pkey0") → $(mb "$pkey1") | $(mb "$expiry0") → $(mb "$expiry1") | $updates"
  row+=" | $hot_share | $dead | $vacuums |"
  echo "$row"
  rows+="$row"$'\n'
  psql_db postgres -c "DROP DATABASE $db" >/dev/null
done

mkdir -p "$RESULTS"
{
  echo "Put churn, $(date -u +%F): per table setting, 100,000 keys of a 200-byte document, then"
  echo "$LOAD_SECONDS s of pgbench with $CLIENTS clients calling psycache_put() on random keys of the"
  echo "same key space (every put updates a row), autovacuum at the server's defaults"
  echo "(autovacuum_naptime $(psql_db postgres -At -c 'SHOW autovacuum_naptime')). Sizes in MB."
  echo
  echo "| table setting | puts/s | heap before → after | largest heap | primary key before → after | expiry index before → after | updates | HOT | dead rows at the end | autovacuums |"
  echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
  printf '%s' "$rows"
} >"$RESULTS/churn.md"
cat "$RESULTS/churn.md"
