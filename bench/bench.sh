#!/usr/bin/env bash
# The measurements of `./run bench`: psycache's client, libpqxx alone, pgbench (the original
# psycache's SQL, and the extension's functions) and redis-benchmark, on one data set, in one run.
#
#   bench/bench.sh BUILD_DIR DATA_DIR [profile|cleanup|get_many|memory|churn|instrumentation]
#
# BUILD_DIR holds bench/psycache_client_bench (a Release build); DATA_DIR is the data directory
# of a running PostgreSQL 15 cluster with psycache installed, reached through PGHOST, PGPORT and
# PGUSER (a superuser). It creates the database psycache_bench there (100,000 keys), starts its
# own redis-server on a free loopback port (no persistence; stopped on exit), and writes
# latest.md, latest.csv, latest-rounds.csv and throughput.png to the results folder.
#
# Every row runs ROUNDS times, SECONDS each, interleaved with the other rows, so that noise from
# the machine spreads over all of them; the table shows the medians. The server side (the
# postmaster with every backend, redis-server) runs on CPU 1, every load generator on CPU 0.
#
# With "profile" it measures nothing in time: callgrind counts the instructions per operation
# of the client (the bench program) and of the server (a single-user backend, so it stops the
# cluster), and writes profile.md.
#
# With "cleanup" it runs bench/cleanup.sh instead: gets and puts while 1,000,000 expired entries
# are deleted (by nothing, the background worker, one DELETE), and writes cleanup.md.
#
# With "get_many" it measures batches instead: keys per second of get_many_raw with 100 keys per
# call against get_raw, one key per call, on 1 and 8 threads, in the same rounds; writes
# get_many.md with the ratio.
#
# With "memory" it runs bench/memory.sh instead: the client's and a backend's memory over
# 1,000,000 operations or calls, and writes memory.md. With "churn", bench/churn.sh: 60 s of puts
# over the key space per table setting, sizes and HOT updates before and after, churn.md.
#
# The measurement also writes client-share.md: the client's side of one get against its round
# trip (psycache's client against libpq alone calling the same function), and
# instrumentation.md: get and put bare, with Prometheus and with every instrumentation, compared
# in one process per operation and thread count, INSTRUMENTATION_ROUNDS short rounds of the three
# in turn, against the 5% target (bench/instrumentation_report.sh). With "instrumentation" it
# runs that comparison alone.
#
# Settings (environment):
#   PSYCACHE_BENCH_SECONDS  seconds per measurement (default 3)
#   PSYCACHE_BENCH_ROUNDS   measurements per row (default 3)
#   PSYCACHE_BENCH_RESULTS  the results folder (default bench/results)
#   PSYCACHE_BENCH_INSTRUMENTATION_ROUNDS   rounds of the instrumentation comparison (default 9)
#   PSYCACHE_BENCH_INSTRUMENTATION_SECONDS  seconds per configuration and round (default 0.7)
set -euo pipefail
shopt -s inherit_errexit

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD_DIR="${1:?usage: bench.sh BUILD_DIR DATA_DIR [profile|cleanup]}"
DATA_DIR="${2:?usage: bench.sh BUILD_DIR DATA_DIR [profile|cleanup]}"
# shellcheck source=bench/common.bash
source "$BENCH_DIR/common.bash"
MODE="${3:-measure}"
SECONDS_PER_RUN="${PSYCACHE_BENCH_SECONDS:-3}"
ROUNDS="${PSYCACHE_BENCH_ROUNDS:-3}"
RESULTS="${PSYCACHE_BENCH_RESULTS:-$BENCH_DIR/results}"
INSTRUMENTATION_ROUNDS="${PSYCACHE_BENCH_INSTRUMENTATION_ROUNDS:-9}"
INSTRUMENTATION_SECONDS="${PSYCACHE_BENCH_INSTRUMENTATION_SECONDS:-0.7}"
CLIENT_BENCH="$BUILD_DIR/bench/psycache_client_bench"
ASYNC_BENCH="$BUILD_DIR/bench/psycache_async_bench"
KEYS=100000
DATABASE=psycache_bench
DSN="host=${PGHOST:?} port=${PGPORT:?} user=${PGUSER:?} dbname=$DATABASE"

WORK="$(mktemp -d /tmp/psycache-bench.XXXXXX)"
REDIS_PID=""
cleanup() {
  if [[ -n "$REDIS_PID" ]]; then
    kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

psql_bench() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DATABASE" "$@"; }

free_port() {
  local port
  for port in $(seq 6390 6490); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  echo "no free port in 6390-6490" >&2
  return 1
}

# --- set-up -------------------------------------------------------------------------------

load_postgres() {
  log "loading $KEYS keys into psycache (UNLOGGED) through psycache_put"
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $DATABASE" >/dev/null
  psql_bench -v value="$VALUE" -v keys="$KEYS" <<'SQL'
CREATE EXTENSION psycache;
SELECT count(psycache_put('key:' || i, :'value'::jsonb, interval '1 day'))
FROM generate_series(1, :keys) AS i \g /dev/null
VACUUM ANALYZE psycache;
SQL
  load_portable
  psql_bench -At -c "SELECT count(*) || ' keys, values of ' || max(pg_column_size(value))
    || ' bytes as jsonb (' || length(max(value::text)) || ' as text)' FROM psycache"
}

# The same data set in schema portable, through the portable install (client/sql/portable.sql):
# the rows named "portable" measure it against the extension.
load_portable() {
  log "loading $KEYS keys into the portable install in schema portable"
  psql_bench -c "CREATE SCHEMA portable"
  "$BUILD_DIR/client/cli/psycache" init-db --portable --schema portable "$DSN" >/dev/null
  psql_bench -v value="$VALUE" -v keys="$KEYS" <<'SQL'
SELECT count(portable.psycache_put('key:' || i, :'value'::jsonb, interval '1 day'))
FROM generate_series(1, :keys) AS i \g /dev/null
VACUUM ANALYZE portable.psycache;
SQL
}

start_redis() {
  REDIS_PORT="$(free_port)"
  log "throwaway redis-server on 127.0.0.1:$REDIS_PORT (CPU $SERVER_CPU, no persistence)"
  taskset -c "$SERVER_CPU" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' \
    --appendonly no --daemonize no --dir "$WORK" --logfile "$WORK/redis.log" &
  REDIS_PID=$!
  local tries=0
  until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do
    ((++tries < 50)) || { echo "redis-server did not start" >&2; cat "$WORK/redis.log" >&2; exit 1; }
    sleep 0.1
  done
  # redis-benchmark's keys: key:__rand_int__ expands to key:000000000000 .. key:000000099999.
  awk -v keys="$KEYS" -v value="$(printf "%200s" '' | tr ' ' x)" 'BEGIN {
    for (i = 0; i < keys; i++) {
      key = sprintf("key:%012d", i)
      printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(key), key, length(value), value
    }
  }' | redis-cli -p "$REDIS_PORT" --pipe >/dev/null
  echo "$(redis-cli -p "$REDIS_PORT" dbsize) keys, values of 200 bytes"
}

# pgbench scripts: the original psycache's SQL, and the extension's functions. Key, value and ttl
# are parameters, as a client sends them (-M prepared; :value and :ttl come from -D).
write_pgbench_scripts() {
  local hit="\\set k random(1, $KEYS)" miss="\\set k random($((KEYS + 1)), $((2 * KEYS)))"
  local live="expires_at > statement_timestamp()"
  printf '%s\nSELECT value FROM psycache WHERE key = %s AND %s;\n' \
    "$hit" "'key:' || :k" "$live" >"$WORK/raw-get.sql"
  printf '%s\nSELECT value FROM psycache WHERE key = %s AND %s;\n' \
    "$miss" "'key:' || :k" "$live" >"$WORK/raw-get-miss.sql"
  printf "%s\nINSERT INTO psycache (key, value, expires_at) VALUES ('key:' || :k, :value::jsonb, \
statement_timestamp() + :ttl::interval) ON CONFLICT (key) DO UPDATE SET value = \
EXCLUDED.value, expires_at = EXCLUDED.expires_at;\n" "$hit" >"$WORK/raw-put.sql"
  # psycache_get as the client calls it (client/src/cache_common.cpp): in a target list.
  local fn_get="SELECT (e).value, (e).size FROM (SELECT psycache_get('key:' || :k) AS e) AS entry;"
  printf '%s\n%s\n' "$hit" "$fn_get" >"$WORK/fn-get.sql"
  printf '%s\n%s\n' "$miss" "$fn_get" >"$WORK/fn-get-miss.sql"
  printf "%s\nSELECT psycache_put('key:' || :k, :value::jsonb, :ttl::interval);\n" \
    "$hit" >"$WORK/fn-put.sql"
  local script
  for script in fn-get fn-get-miss fn-put; do
    sed 's/psycache_\(get\|put\)(/portable.psycache_\1(/' "$WORK/$script.sql" >"$WORK/portable-$script.sql"
  done
}

# --- one measurement each: prints "ops_per_s,p50_us,p99_us" --------------------------------

run_client() {  # OPERATION [SCHEMA] THREADS
  local line schema=public threads="$2"
  if (($# == 3)); then schema="$2" threads="$3"; fi
  line="$(on_clients "$CLIENT_BENCH" --op "$1" --threads "$threads" --seconds "$SECONDS_PER_RUN" \
    --dsn "$DSN" --keys "$KEYS" --value "$VALUE" --schema "$schema")"
  awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
         print v["ops_per_s"] "," v["p50_us"] "," v["p99_us"] }' <<<"$line"
}

# The async client: one thread, CONCURRENCY connections, 8 operations in flight per connection
# (at 8: 64 in flight, pipelined).
run_async() {  # OPERATION CONCURRENCY
  local line
  line="$(on_clients "$ASYNC_BENCH" --op "$1" --connections "$2" --inflight $((8 * $2)) \
    --seconds "$SECONDS_PER_RUN" --dsn "$DSN" --keys "$KEYS" --value "$VALUE")"
  awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
         print v["ops_per_s"] "," v["p50_us"] "," v["p99_us"] }' <<<"$line"
}

# Percentiles p50 and p99 of the numbers on stdin, one a line.
percentiles() {
  sort -n | awk '{ v[NR] = $1 }
    END { if (NR == 0) { print "0,0"; exit }
          printf "%.1f,%.1f\n", v[int(0.50 * (NR - 1)) + 1], v[int(0.99 * (NR - 1)) + 1] }'
}

run_pgbench() {  # SCRIPT CLIENTS
  local out tps
  rm -f "$WORK"/pgbench_log.*
  out="$(cd "$WORK" && on_clients "$PG_BIN/pgbench" -n -M prepared -c "$2" -j "$2" \
    -T "$SECONDS_PER_RUN" -D value="$VALUE" -D ttl='1 hour' -f "$WORK/$1.sql" -l \
    --log-prefix=pgbench_log "$DATABASE" 2>&1)" || {
    echo "$out" >&2
    return 1
  }
  tps="$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | tail -1)"
  # Log lines: client transaction latency_us script epoch epoch_us.
  printf '%s,%s\n' "$tps" "$(cat "$WORK"/pgbench_log.* | awk '{ print $3 }' | percentiles)"
}

declare -A REDIS_REQUESTS
run_redis() {  # TEST CLIENTS
  local key="$1/$2" n csv
  # Size the request count to the time budget from the last run (a short first calibration).
  if [[ -z "${REDIS_REQUESTS[$key]:-}" ]]; then
    csv="$(on_clients redis-benchmark -p "$REDIS_PORT" -t "$1" -c "$2" -n $((5000 * $2)) \
      -d 200 -r "$KEYS" --csv)"
    REDIS_REQUESTS[$key]="$(awk -F'"' -v s="$SECONDS_PER_RUN" 'NR == 2 { printf "%d", $4 * s }' \
      <<<"$csv")"
  fi
  n="${REDIS_REQUESTS[$key]}"
  csv="$(on_clients redis-benchmark -p "$REDIS_PORT" -t "$1" -c "$2" -n "$n" -d 200 \
    -r "$KEYS" --csv)"
  # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",
  # "p99_latency_ms","max_latency_ms"
  awk -F'"' 'NR == 2 { printf "%s,%.1f,%.1f\n", $4, $10 * 1000, $14 * 1000 }' <<<"$csv"
  REDIS_REQUESTS[$key]="$(awk -F'"' -v s="$SECONDS_PER_RUN" 'NR == 2 { printf "%d", $4 * s }' \
    <<<"$csv")"
}

# --- the rows ------------------------------------------------------------------------------

# Per operation, the contenders: "row name|how to run it" (the operation's runner argument).
contenders() {
  case "$1" in
    get)
      echo "psycache client|run_client get"
      echo "psycache async 1 thread pipelined|run_async get"
      echo "libpqxx raw SQL|run_client raw-get"
      echo "pgbench raw SQL|run_pgbench raw-get"
      echo "pgbench psycache_get()|run_pgbench fn-get"
      echo "psycache client (portable)|run_client get portable"
      echo "pgbench portable psycache_get()|run_pgbench portable-fn-get"
      echo "redis-benchmark GET|run_redis get"
      ;;
    "get (miss)")
      echo "psycache client|run_client get-miss"
      echo "pgbench raw SQL|run_pgbench raw-get-miss"
      echo "pgbench psycache_get()|run_pgbench fn-get-miss"
      echo "pgbench portable psycache_get()|run_pgbench portable-fn-get-miss"
      ;;
    put)
      echo "psycache client|run_client put"
      echo "psycache async 1 thread pipelined|run_async put"
      echo "libpqxx raw SQL|run_client raw-put"
      echo "pgbench raw SQL|run_pgbench raw-put"
      echo "pgbench psycache_put()|run_pgbench fn-put"
      echo "psycache client (portable)|run_client put portable"
      echo "pgbench portable psycache_put()|run_pgbench portable-fn-put"
      echo "redis-benchmark SET|run_redis set"
      ;;
  esac
}

measure() {
  local rounds_csv="$1" round operation concurrency name runner result rows
  echo "row,operation,concurrency,round,ops_per_s,p50_us,p99_us" >"$rounds_csv"
  for ((round = 1; round <= ROUNDS; round++)); do
    log "round $round of $ROUNDS ($SECONDS_PER_RUN s per row)"
    for operation in get "get (miss)" put; do
      for concurrency in 1 8; do
        rows="$(contenders "$operation")"
        # Every other round runs the contenders in reverse, so none always goes first.
        ((round % 2 == 0)) && rows="$(tac <<<"$rows")"
        while IFS='|' read -r name runner; do
          result="$($runner "$concurrency")"
          printf '  %-26s %-11s x%s  %s\n' "$name" "$operation" "$concurrency" "$result"
          echo "$name,$operation,$concurrency,$round,$result" >>"$rounds_csv"
        done <<<"$rows"
      done
    done
  done
}

# --- profile: instructions per operation, counted by callgrind ---------------------------------

PROFILE_SMALL=1000
PROFILE_LARGE=3000

as_server_user() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# Instructions per operation: two runs of different size, so start-up and connection cancel out.
per_operation() {  # CALLGRIND_OUT_SMALL CALLGRIND_OUT_LARGE
  local small large
  small="$(awk '/^summary:/ { print $2 }' "$1")"
  large="$(awk '/^summary:/ { print $2 }' "$2")"
  echo $(((large - small) / (PROFILE_LARGE - PROFILE_SMALL)))
}

# The client's side of one operation: the bench program on one thread, user space only, with
# the cache instrumentations INSTRUMENTATION (bare by default; see client_bench.cpp).
profile_client() {  # OPERATION [INSTRUMENTATION]
  local n instrumentation="${2:-bare}" name="$1.${2:-bare}"
  for n in $PROFILE_SMALL $PROFILE_LARGE; do
    valgrind --tool=callgrind --callgrind-out-file="$CG/client.$name.$n" "$CLIENT_BENCH" \
      --op "$1" --threads 1 --seconds 600 --ops "$n" --dsn "$DSN" --keys "$KEYS" \
      --value "$VALUE" --instrumentation "$instrumentation" \
      >"$CG/client.$name.$n.out" 2>"$CG/client.$name.$n.log" ||
      { tail -5 "$CG/client.$name.$n.log" >&2; return 1; }
  done
  per_operation "$CG/client.$name.$PROFILE_SMALL" "$CG/client.$name.$PROFILE_LARGE"
}

# The server's side of one statement: a single-user backend (no network) runs PREPARE, then
# EXECUTE with random keys (KEY in the template).
profile_server() {  # NAME PREPARE EXECUTE_TEMPLATE
  local n
  for n in $PROFILE_SMALL $PROFILE_LARGE; do
    {
      # Every page in shared buffers first, as in a server that has been running.
      echo "SELECT pg_prewarm('psycache'), pg_prewarm('psycache_pkey'),"\
        "pg_prewarm('portable.psycache'), pg_prewarm('portable.psycache_pkey');"
      tr '\n' ' ' <<<"$2"  # a newline would end the statement in a single-user backend
      echo
      awk -v n="$n" -v t="$3" -v keys="$KEYS" 'BEGIN { srand(1)
        for (i = 0; i < n; i++) { s = t; gsub(/KEY/, int(rand() * keys) + 1, s); print s } }'
    } >"$CG/server.$1.$n.sql"
    if ! as_server_user valgrind --tool=callgrind --callgrind-out-file="$CG/server.$1.$n" \
      "$PG_BIN/postgres" --single -D "$DATA_DIR" "$DATABASE" <"$CG/server.$1.$n.sql" \
      >"$CG/server.$1.$n.log" 2>&1 || grep -q ERROR "$CG/server.$1.$n.log"; then
      grep -m3 -E 'ERROR|FATAL|valgrind:' "$CG/server.$1.$n.log" >&2 || tail -5 "$CG/server.$1.$n.log" >&2
      return 1
    fi
  done
  per_operation "$CG/server.$1.$PROFILE_SMALL" "$CG/server.$1.$PROFILE_LARGE"
}

# Instructions per call of the functions named, inside a server profile.
inside() {  # NAME FUNCTION...
  local function
  for function in "${@:2}"; do
    callgrind_annotate --inclusive=yes --threshold=100 "$CG/server.$1.$PROFILE_LARGE" 2>/dev/null |
      awk -v f="$function" -v n="$PROFILE_LARGE" '
        { name = $0; sub(/ \[.*$/, "", name); sub(/^.*:/, "", name); sub(/\(.*$/, "", name) }
        name == f && !done { gsub(",", "", $1); print f, int($1 / n); done = 1 }'
  done | awk '{ n = $2; while (n ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", n)
                printf "%s%s %s", (NR > 1 ? "; " : ""), $1, n }'
}

profile() {
  CG="$WORK/callgrind"
  mkdir -p "$CG"
  chmod 711 "$WORK"  # the single-user backend runs as the server's user and writes here
  chmod 777 "$CG"
  local out="$RESULTS/profile.md" thousands='{ s = sprintf("%d", $1)
    while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); print s }'
  row() { printf '| %s | %s | %s |\n' "$1" "$2" "$(awk "$thousands" <<<"$3")"; }
  log "profiling the client's side (callgrind, one thread)"
  local get hit miss raw_get put raw_put raw_fn_get
  get="$(profile_client get)"
  raw_fn_get="$(profile_client raw-fn-get)"
  miss="$(profile_client get-miss)"
  raw_get="$(profile_client raw-get)"
  put="$(profile_client put)"
  raw_put="$(profile_client raw-put)"
  local get_prom get_all put_prom put_all sentry
  get_prom="$(profile_client get prometheus)"
  get_all="$(profile_client get all)"
  put_prom="$(profile_client put prometheus)"
  put_all="$(profile_client put all)"
  sentry="$(sed -n 's/.* sentry=\([a-z]*\).*/\1/p' "$CG/client.get.all.$PROFILE_LARGE.out" | head -1)"

  log "profiling the server's side (callgrind, a single-user backend)"
  psql_bench -c 'CREATE EXTENSION pg_prewarm'
  as_server_user "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m fast -w stop >/dev/null
  local s_nop s_raw_get s_fn_get s_fn_get_from s_raw_put s_fn_put
  s_nop="$(profile_server nop 'PREPARE s(text) AS SELECT $1;' "EXECUTE s('key:KEY');")"
  s_raw_get="$(profile_server raw-get 'PREPARE s(text) AS SELECT value FROM psycache
    WHERE key = $1 AND expires_at > statement_timestamp();' "EXECUTE s('key:KEY');")"
  s_fn_get="$(profile_server fn-get 'PREPARE s(text) AS SELECT (e).value, (e).size FROM
    (SELECT psycache_get($1) AS e) AS entry;' "EXECUTE s('key:KEY');")"
  s_fn_get_from="$(profile_server fn-get-from 'PREPARE s(text) AS SELECT value, size FROM
    psycache_get($1);' "EXECUTE s('key:KEY');")"
  s_raw_put="$(profile_server raw-put "PREPARE s(text, jsonb, interval) AS INSERT INTO psycache
    (key, value, expires_at) VALUES (\$1, \$2, statement_timestamp() + \$3) ON CONFLICT (key)
    DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at;" \
    "EXECUTE s('key:KEY', '$VALUE', '1 hour');")"
  s_fn_put="$(profile_server fn-put "PREPARE s(text, jsonb, interval) AS SELECT
    psycache_put(\$1, \$2, \$3);" "EXECUTE s('key:KEY', '$VALUE', '1 hour');")"
  local s_pt_get s_pt_put
  s_pt_get="$(profile_server pt-get 'PREPARE s(text) AS SELECT (e).value, (e).size FROM
    (SELECT portable.psycache_get($1) AS e) AS entry;' "EXECUTE s('key:KEY');")"
  s_pt_put="$(profile_server pt-put "PREPARE s(text, jsonb, interval) AS SELECT
    portable.psycache_put(\$1, \$2, \$3);" "EXECUTE s('key:KEY', '$VALUE', '1 hour');")"
  {
    echo "Instructions per operation counted by callgrind, $(date -u +%F): user space only (no"
    echo "kernel, no waiting); the client on one thread; the server as a single-user backend"
    echo "running PREPAREd statements (its numbers include the EXECUTE statement itself and"
    echo "printing the row, see the first server line)."
    echo
    echo "| side | operation | instructions per operation |"
    echo "|---|---|--:|"
    row client "psycache get_raw, hit (parses the JSON)" "$get"
    row client "psycache get_raw, miss" "$miss"
    row client "libpqxx alone, prepared SELECT, hit (no parse)" "$raw_get"
    row client "libpq alone, the client's SELECT of psycache_get(\$1), hit (no parse)" \
      "$raw_fn_get"
    row client "psycache put_raw (serializes the JSON)" "$put"
    row client "libpqxx alone, prepared INSERT ... ON CONFLICT" "$raw_put"
    row client "psycache get_raw, hit, with Prometheus" "$get_prom"
    row client "psycache get_raw, hit, with all instrumentations (Sentry $sentry)" "$get_all"
    row client "psycache put_raw, with Prometheus" "$put_prom"
    row client "psycache put_raw, with all instrumentations (Sentry $sentry)" "$put_all"
    row server "EXECUTE of SELECT \$1 (statement overhead)" "$s_nop"
    row server "EXECUTE of the original's SELECT, hit" "$s_raw_get"
    row server "EXECUTE of the client's SELECT (e).value, (e).size FROM (SELECT psycache_get(\$1) AS e) AS entry, hit" "$s_fn_get"
    row server "EXECUTE of SELECT value, size FROM psycache_get(\$1), hit" "$s_fn_get_from"
    row server "EXECUTE of the original's INSERT ... ON CONFLICT" "$s_raw_put"
    row server "EXECUTE of SELECT psycache_put(\$1, \$2, \$3)" "$s_fn_put"
    row server "EXECUTE of the client's SELECT of portable.psycache_get(\$1), hit" "$s_pt_get"
    row server "EXECUTE of SELECT portable.psycache_put(\$1, \$2, \$3)" "$s_pt_put"
    echo
    echo "Instructions per call, including what the function calls (with psycache_get in FROM,"
    echo "the outer statement's FunctionScan set-up, ExecInitFunctionScan, is outside psycache_get):"
    echo
    echo "- $(inside fn-get psycache_get get_call_result_type)"
    echo "- $(inside fn-get-from psycache_get ExecInitFunctionScan)"
    echo "- $(inside fn-put psycache_put SPI_execute_plan)"
  } >"$out"
  cat "$out"
}

# --- get_many: keys per second of a batch of 100 against single gets -----------------------------

run_keys() {  # OPERATION THREADS: prints keys_per_s
  on_clients "$CLIENT_BENCH" --op "$1" --threads "$2" --seconds "$SECONDS_PER_RUN" --dsn "$DSN" \
    --keys "$KEYS" --value "$VALUE" --batch 100 |
    awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "keys_per_s") print kv[2] } }'
}

get_many_bench() {
  local rounds_csv="$RESULTS/get_many-rounds.csv" out="$RESULTS/get_many.md" round threads op ops
  echo "operation,threads,round,keys_per_s" >"$rounds_csv"
  for ((round = 1; round <= ROUNDS; round++)); do
    log "round $round of $ROUNDS ($SECONDS_PER_RUN s per row)"
    for threads in 1 8; do
      # Every other round runs get_many first, so neither always goes first.
      ops="get get-many"
      ((round % 2 == 0)) && ops="get-many get"
      for op in $ops; do
        echo "$op,$threads,$round,$(run_keys "$op" "$threads")" | tee -a "$rounds_csv"
      done
    done
  done
  {
    echo "$1"
    echo
    echo "| threads | get_raw, 1 key per call: keys/s | get_many_raw, 100 keys per call: keys/s | ratio |"
    echo "|--:|--:|--:|--:|"
    awk -F, '
      function median(list,    a, n, i, j, x) {
        n = split(list, a, " ")
        for (i = 2; i <= n; i++) {  # insertion sort: a handful of values
          x = a[i] + 0
          for (j = i - 1; j >= 1 && a[j] + 0 > x; j--) a[j + 1] = a[j]
          a[j + 1] = x
        }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
      }
      NR > 1 { v[$1 "," $2] = v[$1 "," $2] " " $4 }
      END {
        for (k = 1; k <= 8; k *= 8) {
          single = median(v["get," k]); many = median(v["get-many," k])
          printf "| %d | %.0f | %.0f | %.1fx |\n", k, single, many, (single > 0 ? many / single : 0)
        }
      }' \
      "$rounds_csv"
  } >"$out"
  cat "$out"
}

# --- instrumentation: bare, Prometheus, all, in turn ---------------------------------------------

# Per operation and thread count, one bench process compares the three configurations in
# INSTRUMENTATION_ROUNDS rounds of INSTRUMENTATION_SECONDS each (client_bench.cpp's
# --instrumentation LIST --rounds R): same threads, connections and CPU, so that each round's
# ratio to bare is taken within a second or two. Nine rounds, so that each configuration goes
# first as often as the others; 2 x 2 x 3 x 9 x 0.7 s = 76 s by default, about the 72 s of the
# two instrumented rows per operation that the main table had before (2 x 2 x 3 rounds x 3 s).
instrumentation_bench() {
  local rounds_csv="$RESULTS/instrumentation-rounds.csv" op threads
  echo "operation,threads,round,instrumentation,ops_per_s,p50_us,p99_us,user_us_per_op,sentry" \
    >"$rounds_csv"
  for op in get put; do
    for threads in 1 8; do
      log "instrumentation: $op, $threads threads, $INSTRUMENTATION_ROUNDS rounds of bare, \
prometheus, all ($INSTRUMENTATION_SECONDS s each)"
      on_clients "$CLIENT_BENCH" --op "$op" --threads "$threads" \
        --seconds "$INSTRUMENTATION_SECONDS" --rounds "$INSTRUMENTATION_ROUNDS" \
        --instrumentation bare,prometheus,all --dsn "$DSN" --keys "$KEYS" --value "$VALUE" |
        awk -v op="$op" -v threads="$threads" '{
          for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
          printf "%s,%s,%s,%s,%s,%s,%s,%s,%s\n", op, threads, v["round"], v["instrumentation"],
            v["ops_per_s"], v["p50_us"], v["p99_us"], v["user_us_per_op"], v["sentry"]
        }' | tee -a "$rounds_csv"
    done
  done
  "$BENCH_DIR/instrumentation_report.sh" "$rounds_csv" "$RESULTS/instrumentation.md" "$1"
  cat "$RESULTS/instrumentation.md"
}

# --- the client's share of one get --------------------------------------------------------------

# One thread, ROUNDS interleaved runs each of psycache's get_raw and of libpq alone calling the
# same function (raw-fn-get: the round trip, with the least a client can do). The client's side of
# a get is measured two ways: in time, the difference of the median latencies; in CPU, the bench
# process's user time per operation (all of it: libpq, libpqxx, psycache, the JSON parse), and
# what psycache adds to libpq alone. Both are given as shares of the round trip.
client_share() {
  local out="$RESULTS/client-share.md" round op line lines=""
  for ((round = 1; round <= ROUNDS; round++)); do
    for op in get raw-fn-get; do
      line="$(on_clients "$CLIENT_BENCH" --op "$op" --threads 1 --seconds "$SECONDS_PER_RUN" \
        --dsn "$DSN" --keys "$KEYS" --value "$VALUE")"
      echo "  $line"
      lines+="$line"$'\n'
    done
  done
  awk '
    function median(list,    v, n, i, j, t) {
      n = split(list, v, " ")
      for (i = 2; i <= n; i++) {
        t = v[i] + 0
        for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]
        v[j + 1] = t
      }
      return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    NF {
      for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      p50[f["op"]] = p50[f["op"]] " " f["p50_us"]; user[f["op"]] = user[f["op"]] " " f["user_us_per_op"]
    }
    END {
      g = median(p50["get"]); r = median(p50["raw-fn-get"])
      ug = median(user["get"]); ur = median(user["raw-fn-get"])
      print "| one get, 1 thread | p50 µs | client user CPU µs per get |"
      print "|---|--:|--:|"
      printf "| psycache get_raw (pool lease, statement, JSON parse, instrumentation hooks) | %.1f | %.2f |\n", g, ug
      printf "| libpq alone, the same call, the value not parsed (the round trip) | %.1f | %.2f |\n", r, ur
      print ""
      d = g - r; way = d < 0 ? "less" : "more"; if (d < 0) d = -d
      printf "- in time: get_raw takes %.1f µs %s than the round trip, %.1f%% of it\n", d, way, 100 * d / r
      printf "- in CPU: the whole client side of a get (libpq and libpqxx included) is %.2f µs, %.1f%% of the round trip; psycache adds %.2f µs to libpq alone, %.1f%%\n", ug, 100 * ug / r, ug - ur, 100 * (ug - ur) / r
    }' <<<"$lines" >"$out.body"
  {
    echo "The client's side of one get against its round trip, $(date -u +%F), median of $ROUNDS"
    echo "interleaved runs of $SECONDS_PER_RUN s each (\`./run bench\`, bench/bench.sh client_share)."
    echo
    cat "$out.body"
  } >"$out"
  rm -f "$out.body"
  cat "$out"
}

main() {
  # The cleanup benchmark is a program of its own (bench/cleanup.sh).
  if [[ "$MODE" == cleanup ]]; then "$BENCH_DIR/cleanup.sh" "$DATA_DIR"; return; fi
  # So are the memory and the churn benchmarks.
  if [[ "$MODE" == memory ]]; then "$BENCH_DIR/memory.sh" "$BUILD_DIR" "$DATA_DIR"; return; fi
  if [[ "$MODE" == churn ]]; then "$BENCH_DIR/churn.sh" "$DATA_DIR"; return; fi
  [[ -x "$CLIENT_BENCH" ]] || { echo "no $CLIENT_BENCH: build it first" >&2; exit 1; }
  local started=$SECONDS
  load_postgres
  if [[ "$MODE" == profile ]]; then
    mkdir -p "$RESULTS"
    profile
    echo
    echo "profiled in $((SECONDS - started)) s; results in $RESULTS/profile.md"
    return
  fi
  if [[ "$MODE" == instrumentation ]]; then
    pin_postgres
    mkdir -p "$RESULTS"
    instrumentation_bench "$(nproc) CPUs; server on CPU $SERVER_CPU, client on CPU $CLIENT_CPU"
    echo
    echo "measured in $((SECONDS - started)) s; results in $RESULTS/instrumentation.md"
    return
  fi
  if [[ "$MODE" == get_many ]]; then
    pin_postgres
    mkdir -p "$RESULTS"
    get_many_bench "$(nproc) CPUs; server on CPU $SERVER_CPU, client on CPU $CLIENT_CPU; median of \
$ROUNDS runs of $SECONDS_PER_RUN s per row"
    echo
    echo "measured in $((SECONDS - started)) s; results in $RESULTS/get_many.md"
    return
  fi
  pin_postgres
  start_redis
  write_pgbench_scripts
  mkdir -p "$RESULTS"
  local setup
  setup="$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)); "
  setup+="server (postgres, redis-server) on CPU $SERVER_CPU, load generators on CPU $CLIENT_CPU; "
  setup+="median of $ROUNDS runs of $SECONDS_PER_RUN s per row; the ratio: median of the rounds' "
  setup+="ratios to pgbench raw SQL in the same round"
  measure "$RESULTS/latest-rounds.csv"
  log "results"
  "$BENCH_DIR/report.sh" "$RESULTS/latest-rounds.csv" "$RESULTS" "$setup"
  cat "$RESULTS/latest.md"
  log "the client's share of one get"
  client_share
  log "instrumentation: bare, Prometheus and all, in turn"
  instrumentation_bench "$(nproc) CPUs; server on CPU $SERVER_CPU, client on CPU $CLIENT_CPU"
  echo
  echo "measured in $((SECONDS - started)) s; results in $RESULTS"
}

main
