#!/usr/bin/env bash
# The memory benchmark of `./run bench memory` (bench/bench.sh BUILD_DIR DATA_DIR memory): the
# client's and a backend's memory over many operations, at sizes too long for `./run test`.
#
#   bench/memory.sh BUILD_DIR DATA_DIR
#
# The client: psycache_client_memory, PSYCACHE_MEMORY_OPERATIONS (default 1,000,000) operations
# on one thread, its RSS sampled after a tenth and then ten times. A backend: test/pgtap/
# memory_calls.sql with PSYCACHE_MEMORY_CALLS (default 1,000,000) calls of each function, its
# memory contexts and RssAnon before and after; PSYCACHE_MEMORY_ONLY, a regular expression, keeps
# only the rows of that test whose names match (all of them take about 15 minutes on 2 cores).
# Writes memory.md to the results folder.
# PGHOST, PGPORT, PGUSER as for bench.sh.
set -euo pipefail
shopt -s inherit_errexit

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD_DIR="${1:?usage: memory.sh BUILD_DIR DATA_DIR}"
DATA_DIR="${2:?usage: memory.sh BUILD_DIR DATA_DIR}"
# shellcheck source=bench/common.bash
source "$BENCH_DIR/common.bash"
OPERATIONS="${PSYCACHE_MEMORY_OPERATIONS:-1000000}"
CALLS="${PSYCACHE_MEMORY_CALLS:-1000000}"
ONLY="${PSYCACHE_MEMORY_ONLY:-.}"
RESULTS="${PSYCACHE_BENCH_RESULTS:-$BENCH_DIR/results}"
: "${PGHOST:?}" "${PGPORT:?}" "${PGUSER:?}"
DATABASE=psycache_memory

psql_db() { local db="$1"; shift; "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

psql_db postgres -c "DROP DATABASE IF EXISTS $DATABASE" -c "CREATE DATABASE $DATABASE" >/dev/null
psql_db "$DATABASE" -c 'CREATE EXTENSION psycache' >/dev/null

log "the client: $OPERATIONS operations"
started=$SECONDS
client="$("$BUILD_DIR/bench/psycache_client_memory" --ops "$OPERATIONS" \
  --dsn "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$DATABASE")"
client_seconds=$((SECONDS - started))
echo "$client"
psql_db "$DATABASE" -c 'DROP EXTENSION psycache' >/dev/null

log "a backend: $CALLS calls of each function"
started=$SECONDS
status=0
backend="$(pg_prove -v -d "$DATABASE" -U "$PGUSER" -h "$PGHOST" -p "$PGPORT" --set calls="$CALLS" \
  --set only="$ONLY" "$BENCH_DIR/../test/pgtap/memory_calls.sql" 2>&1)" || status=$?
backend_seconds=$((SECONDS - started))
echo "$backend"
psql_db postgres -c "DROP DATABASE $DATABASE" >/dev/null

mkdir -p "$RESULTS"
{
  echo "Memory, $(date -u +%F) (\`./run bench memory\`)."
  echo
  echo "**The client** (bench/client_memory.cpp): $OPERATIONS operations on one thread, a put, two"
  echo "hits and a miss in every four, a counting instrumentation on every get and put; resident"
  echo "memory after the warm-up (the first tenth) and then every tenth; ${client_seconds} s."
  echo
  echo "| operations | VmRSS bytes | RssAnon bytes |"
  echo "|--:|--:|--:|"
  awk '/^operations=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "| %s | %s | %s |\n", v["operations"], v["rss_bytes"], v["rss_anon_bytes"] }' <<<"$client"
  echo
  echo "$(grep '^growth' <<<"$client")"
  echo
  echo "**A backend** (test/pgtap/memory_calls.sql): $CALLS calls of each function (the rows"
  echo "matching \`$ONLY\`), each call committed on its own; ${backend_seconds} s."
  echo
  grep '^# ' <<<"$backend" | sed 's/^# /- /'
  echo
  echo "pgTAP: $(grep -c '^ok' <<<"$backend") ok, $(grep -c '^not ok' <<<"$backend") not ok."
} >"$RESULTS/memory.md"
cat "$RESULTS/memory.md"
exit "$status"
