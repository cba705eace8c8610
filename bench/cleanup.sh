#!/usr/bin/env bash
# The cleanup benchmark of `./run bench cleanup` (bench/bench.sh BUILD_DIR DATA_DIR cleanup):
# what expiring 1,000,000 entries costs the gets and puts that run meanwhile.
#
#   bench/cleanup.sh DATA_DIR
#
# For each case it creates a database with 1,000,000 expired entries (key exp:N, expired 1 ms
# apart over the last 17 minutes, as a cache's entries expire) and 100,000 live ones (key
# live:N), every value the same 200-byte JSON document, then VACUUM ANALYZE. The worker does not
# visit it (it is not in psycache.cleanup_databases). Then for PSYCACHE_CLEANUP_SECONDS (default
# 15) two pgbench processes run at once: 4 clients calling psycache_get() with random live keys,
# 1 client calling psycache_put() with random expired keys (each put rewrites an entry that a
# cleanup wants to delete). One second into the load:
#
#   none    nothing (the baseline)
#   worker  a pass of the background worker (psycache.cleanup_databases names the database: a
#           changed list starts a pass at once), running and paused in turn, for
#           PSYCACHE_CLEANUP_WINDOW_MS (default 500) each, until the load ends. The rows
#           "worker" and "worker paused" are the gets and puts that started in either kind of
#           window: the same pass, the same database, the same seconds of the machine, which
#           is what the target compares. PSYCACHE_CLEANUP_BATCH_SIZE sets
#           psycache.cleanup_batch_size and PSYCACHE_CLEANUP_BATCH_DELAY
#           psycache.cleanup_batch_delay (default: the GUCs')
#   delete  one unbatched DELETE FROM psycache WHERE expires_at <= statement_timestamp()
#   call    (only with PSYCACHE_CLEANUP_EXTRA_CASES=call) one SELECT psycache_cleanup(), as the
#           client's cleanup thread and the pg_cron job run it: its batches share one transaction
#
# When the server log is found (SERVER_LOG, by default server.log beside DATA_DIR, where ./run
# puts it), the load runs with log_lock_waits = on and deadlock_timeout = 1ms: the log then tells
# every lock wait of more than 1 ms and how long it lasted, the one measure of what a put waits
# for the cleanup that the machine's other load does not blur.
#
# PSYCACHE_CLEANUP_ROUNDS (default 3) runs the three cases that many times, in turn, so that every
# round compares them under the same load of the machine.
#
# pgbench logs every transaction; the table gives ops/s, p50, p99 and max latency per operation
# and case (medians over the rounds), the ratios to the baseline of each round, and writes
# cleanup.md to the results folder. PGHOST, PGPORT, PGUSER as for bench.sh.
set -euo pipefail
shopt -s inherit_errexit

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA_DIR="${1:?usage: cleanup.sh DATA_DIR}"
# shellcheck source=bench/common.bash
source "$BENCH_DIR/common.bash"
LOAD_SECONDS="${PSYCACHE_CLEANUP_SECONDS:-15}"
BATCH_SIZE="${PSYCACHE_CLEANUP_BATCH_SIZE:-}"  # psycache.cleanup_batch_size; empty: the default
BATCH_DELAY="${PSYCACHE_CLEANUP_BATCH_DELAY:-}"  # psycache.cleanup_batch_delay (ms); empty: the default
ROUNDS="${PSYCACHE_CLEANUP_ROUNDS:-3}"
WINDOW_MS="${PSYCACHE_CLEANUP_WINDOW_MS:-500}"  # the worker case: how long it runs, then pauses
WINDOW_MARGIN_US=50000  # left out at the start of every window, while its reload takes effect
EXTRA_CASES="${PSYCACHE_CLEANUP_EXTRA_CASES:-}"  # "call": also one SELECT psycache_cleanup()
RESULTS="${PSYCACHE_BENCH_RESULTS:-$BENCH_DIR/results}"
EXPIRED=1000000
LIVE=100000
: "${PGHOST:?}" "${PGPORT:?}" "${PGUSER:?}"


SERVER_LOG="${SERVER_LOG:-$(dirname "$DATA_DIR")/server.log}"
[[ -r "$SERVER_LOG" ]] || SERVER_LOG=""

WORK="$(mktemp -d /tmp/psycache-cleanup.XXXXXX)"
WORKER_SET=""
LOCK_LOG_SET=""
cleanup() {
  if [[ -n "$WORKER_SET" ]]; then reset_worker || true; fi
  if [[ -n "$LOCK_LOG_SET" ]]; then set_lock_log RESET || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

psql_db() { local db="$1"; shift; "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

set_lock_log() {  # SET or RESET
  local how="$1"
  if [[ "$how" == SET ]]; then
    psql_db postgres -c 'ALTER SYSTEM SET log_lock_waits = on' \
      -c "ALTER SYSTEM SET deadlock_timeout = '1ms'" -c 'SELECT pg_reload_conf()' >/dev/null
    LOCK_LOG_SET=1
  else
    psql_db postgres -c 'ALTER SYSTEM RESET log_lock_waits' \
      -c 'ALTER SYSTEM RESET deadlock_timeout' -c 'SELECT pg_reload_conf()' >/dev/null
    LOCK_LOG_SET=""
  fi
}

# Prints "count,max_ms" of the lock waits longer than 1 ms that the server logged after OFFSET.
lock_waits() {  # OFFSET
  [[ -n "$SERVER_LOG" ]] || { echo ","; return; }
  tail -c +"$(($1 + 1))" "$SERVER_LOG" |
    sed -n 's/.* acquired [A-Za-z]* on [a-z]* .* after \([0-9.]*\) ms$/\1/p' |
    awk '{ n++; if ($1 > m) m = $1 } END { printf "%d,%.1f\n", n, m }'
}

reset_worker() {
  psql_db postgres -c 'ALTER SYSTEM RESET psycache.cleanup_databases' \
    -c 'ALTER SYSTEM RESET psycache.cleanup_interval' \
    -c 'ALTER SYSTEM RESET psycache.cleanup_batch_size' \
    -c 'ALTER SYSTEM RESET psycache.cleanup_batch_delay' -c 'SELECT pg_reload_conf()' >/dev/null
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

# Prints "ops_per_s,p50_us,p99_us,max_us" of the latencies (µs, one per line) on stdin, taken
# over SECONDS.
percentiles() {  # SECONDS
  sort -n | awk -v s="$1" '{ v[NR] = $1 }
    END { if (NR == 0 || s <= 0) { print "0,0,0,0"; exit }
          printf "%.0f,%d,%d,%d\n", NR / s, v[int(0.50 * (NR - 1)) + 1],
            v[int(0.99 * (NR - 1)) + 1], v[NR] }'
}

# The same from pgbench's transaction logs (LOG_PREFIX.*), every transaction of the load.
summarize() {  # LOG_PREFIX
  cat "$WORK/$1".* | awk '{ print $3 }' | percentiles "$LOAD_SECONDS"
}

# The same for the transactions that started in a window of STATE (running or paused) of the
# worker case ($WORK/windows: "start_us state" lines, the last one "end_us end"), leaving out the
# first WINDOW_MARGIN_US of every window, while the reload that began it reaches the processes.
summarize_windows() {  # LOG_PREFIX STATE
  local seconds
  seconds="$(awk -v state="$2" -v margin="$WINDOW_MARGIN_US" '
    { start[NR] = $1; kind[NR] = $2 }
    END { for (i = 1; i < NR; i++) if (kind[i] == state) t += start[i + 1] - start[i] - margin
          printf "%.3f\n", t / 1000000 }' "$WORK/windows")"
  cat "$WORK/$1".* | awk -v state="$2" -v margin="$WINDOW_MARGIN_US" '
    NR == FNR { start[++n] = $1; kind[n] = $2; next }
    {
      began = ($5 * 1000000 + $6) - $3  # pgbench logs when a transaction ended, and its latency
      for (i = n - 1; i >= 1 && began < start[i]; i--) ;
      if (i >= 1 && kind[i] == state && began >= start[i] + margin && began < start[i + 1]) print $3
    }' "$WORK/windows" - | percentiles "$seconds"
}

# The worker case: a pass in DB, running and paused in turn for WINDOW_MS each until END_US (the
# end of the load, client clock), by reloads of psycache.cleanup_batch_delay from one session
# (paused: a delay of 10 s, longer than a window; running: the setting under test). Every window
# that it ran has one beside it that it did not, under the same load of the machine, so that the
# machine's own swings, which move a whole case by more than the pass does, fall on both alike.
# Writes $WORK/windows and sets WORKER_NOTE.
worker_pass() {  # DB END_US
  local db="$1" end_us="$2" running_delay state=running now pid="" window_seconds
  window_seconds="$(awk -v ms="$WINDOW_MS" 'BEGIN { printf "%.3f", ms / 1000 }')"
  running_delay="${BATCH_DELAY:+$((BATCH_DELAY))}"
  : >"$WORK/windows"
  WORKER_SET=1
  coproc SETTER { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null; }
  set_delay() {  # MILLISECONDS (empty: the default)
    if [[ -n "$1" ]]; then
      echo "ALTER SYSTEM SET psycache.cleanup_batch_delay = $1;"
    else
      echo "ALTER SYSTEM RESET psycache.cleanup_batch_delay;"
    fi
    echo "SELECT pg_reload_conf();"
  }
  {
    [[ -n "$BATCH_SIZE" ]] && echo "ALTER SYSTEM SET psycache.cleanup_batch_size = $((BATCH_SIZE));"
    echo "ALTER SYSTEM SET psycache.cleanup_databases = '$db';"
    echo "ALTER SYSTEM SET psycache.cleanup_interval = 3600;"
    set_delay "$running_delay"
  } >&"${SETTER[1]}"
  # A changed database list starts the pass at once; its windows begin when its process is there.
  for _ in $(seq 500); do
    pid="$(pgrep -f "psycache cleanup of $db( |\$)" || true)"
    [[ -n "$pid" ]] && break
    sleep 0.01
  done
  [[ -n "$pid" ]] || { echo "the worker did not start a pass in $db" >&2; exit 1; }
  now="$(date +%s%6N)"
  while ((now + WINDOW_MS * 1000 <= end_us)); do
    echo "$now $state" >>"$WORK/windows"
    sleep "$window_seconds"
    if [[ "$state" == running ]]; then
      state=paused
      set_delay 10000 >&"${SETTER[1]}"
    else
      state=running
      set_delay "$running_delay" >&"${SETTER[1]}"
    fi
    now="$(date +%s%6N)"
  done
  echo "$now end" >>"$WORK/windows"
  # Interval 0 ends the pass after its current batch, and it records what it deleted.
  { echo "ALTER SYSTEM SET psycache.cleanup_interval = 0;"; echo "SELECT pg_reload_conf();"; } \
    >&"${SETTER[1]}"
  local setter_in="${SETTER[1]}"
  exec {setter_in}>&-
  wait "$SETTER_PID"
  for _ in $(seq 3000); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  ! kill -0 "$pid" 2>/dev/null || { echo "the worker's pass did not stop in 30 s" >&2; exit 1; }
  local stats deleted duration_ms left running_windows
  stats="$(psql_db "$db" -At -F' ' -c "SELECT worker_last_deleted,
    round(extract(epoch FROM worker_last_duration) * 1000), expired_entries FROM psycache_stats()
    WHERE worker_last_run IS NOT NULL")"
  [[ -n "$stats" ]] || { echo "the worker recorded no pass" >&2; exit 1; }
  read -r deleted duration_ms left <<<"$stats"
  running_windows="$(grep -c ' running$' "$WORK/windows")"
  WORKER_NOTE="worker pass (batches of $(psql_db "$db" -At -c "SHOW psycache.cleanup_batch_size"), ${running_delay:-$(psql_db "$db" -At -c "SELECT boot_val FROM pg_settings WHERE name = 'psycache.cleanup_batch_delay'")} ms between them), running in $running_windows windows of $WINDOW_MS ms and paused in the ones between: deleted $deleted in $duration_ms ms; $left expired left"
  reset_worker
}

# Runs the load on DATABASE for LOAD_SECONDS and, one second in, the case's cleanup.
run_case() {  # CASE DATABASE ROUND
  local case="$1" db="$2" round="$3" get_pid put_pid note="" log_offset=0 load_end_us
  [[ -n "$SERVER_LOG" ]] && log_offset="$(stat -c %s "$SERVER_LOG")"
  rm -f "$WORK"/get_log.* "$WORK"/put_log.*
  load_end_us=$(($(date +%s%6N) + LOAD_SECONDS * 1000000))
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
      worker_pass "$db" "$load_end_us"
      note="$WORKER_NOTE"
      ;;
    delete)
      local t0 t1 deleted
      t0=$(date +%s%N)
      deleted="$("$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -d "$db" \
        -c 'DELETE FROM psycache WHERE expires_at <= statement_timestamp()' | awk '{ print $2 }')"
      t1=$(date +%s%N)
      note="one DELETE: deleted $deleted in $(((t1 - t0) / 1000000)) ms (as psql saw it)"
      ;;
    call)
      local t0 t1 deleted
      t0=$(date +%s%N)
      deleted="$(psql_db "$db" -At -c 'SELECT psycache_cleanup()')"
      t1=$(date +%s%N)
      note="SELECT psycache_cleanup(): deleted $deleted in $(((t1 - t0) / 1000000)) ms (as psql saw it)"
      ;;
  esac
  wait "$get_pid" || { cat "$WORK/get.out" >&2; exit 1; }
  wait "$put_pid" || { cat "$WORK/put.out" >&2; exit 1; }
  local op
  for op in get put; do
    if [[ "$case" == worker ]]; then
      echo "worker,$op,$(summarize_windows "${op}_log" running),$round" >>"$WORK/rows.csv"
      echo "worker paused,$op,$(summarize_windows "${op}_log" paused),$round" >>"$WORK/rows.csv"
    else
      echo "$case,$op,$(summarize "${op}_log"),$round" >>"$WORK/rows.csv"
    fi
  done
  [[ -n "$note" ]] && echo "round $round, $case: $note" >>"$WORK/notes.txt"
  echo "$case,$round,$(lock_waits "$log_offset")" >>"$WORK/waits.csv"
  grep -E "^$case( paused)?,.*,$round\$" "$WORK/rows.csv"
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
    echo "The worker's pass runs and pauses in turn, ${WINDOW_MS} ms each: \"worker\" is what"
    echo "started while it ran, \"worker paused\" what started while it paused (the first"
    echo "$((WINDOW_MARGIN_US / 1000)) ms of each window left out), in the same seconds of the same database."
    echo "Total latency per transaction from pgbench's logs; max ms is the slowest one."
    echo "$ROUNDS rounds of the cases in turn; the table shows the median of each column."
    echo "Load average of the machine (1 min) at the start of each round: $(paste -sd, "$WORK/load.txt")."
    echo
    echo "| case | op | ops/s | p50 µs | p99 µs | max ms |"
    echo "|---|---|--:|--:|--:|--:|"
    awk -F, '
      function median(list,    v, n, i, j, t) {
        n = split(list, v, " ")
        for (i = 2; i <= n; i++) {
          t = v[i] + 0
          for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]
          v[j + 1] = t
        }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      }
      {
        k = $1 "," $2
        if (!(k in ops)) order[++count] = k
        ops[k] = ops[k] " " $3; p50[k] = p50[k] " " $4; p99[k] = p99[k] " " $5; mx[k] = mx[k] " " $6
      }
      END {
        for (i = 1; i <= count; i++) {
          k = order[i]; split(k, name, ",")
          printf "| %s | %s | %d | %d | %d | %.1f |\n", name[1], name[2], median(ops[k]),
            median(p50[k]), median(p99[k]), median(mx[k]) / 1000
        }
      }' "$WORK/rows.csv"
    echo
    sed 's/^/- /' "$WORK/notes.txt"
    echo
    echo "Per round: the worker against its paused windows (the target), and each case against"
    echo "that round's baseline (none):"
    echo
    echo "| round | get p99 worker / worker paused | worker / none | delete / none | put max none ms | worker paused ms | worker ms | delete ms |"
    echo "|--:|--:|--:|--:|--:|--:|--:|--:|"
    awk -F, '
      function ratio(a, b) { return b > 0 ? sprintf("%.2fx", a / b) : "-" }
      $2 == "get" { p99[$7, $1] = $5 }
      $2 == "put" { mx[$7, $1] = $6 }
      $7 > rounds { rounds = $7 }
      END {
        for (r = 1; r <= rounds; r++) {
          printf "| %d | %s | %s | %s | %.1f | %.1f | %.1f | %.1f |\n", r,
            ratio(p99[r, "worker"], p99[r, "worker paused"]), ratio(p99[r, "worker"], p99[r, "none"]),
            ratio(p99[r, "delete"], p99[r, "none"]), mx[r, "none"] / 1000,
            mx[r, "worker paused"] / 1000, mx[r, "worker"] / 1000, mx[r, "delete"] / 1000
        }
      }' "$WORK/rows.csv"
    echo
    if [[ -n "$SERVER_LOG" ]]; then
      echo "Lock waits of more than 1 ms (log_lock_waits; in these cases only the put waits, and only"
      echo "for the cleanup's transaction): how many, and the longest, per round:"
      echo
      awk -F, '
        !($1 in seen) { seen[$1] = 1; cases[++n] = $1 }
        { w[$2, $1] = $3 == 0 ? "0" : $3 " (longest " $4 " ms)"; if ($2 > rounds) rounds = $2 }
        END {
          head = "| round |"; rule = "|--:|"
          for (c = 1; c <= n; c++) { head = head " " cases[c] " |"; rule = rule "--:|" }
          print head; print rule
          for (r = 1; r <= rounds; r++) {
            line = "| " r " |"
            for (c = 1; c <= n; c++) line = line " " w[r, cases[c]] " |"
            print line
          }
        }' "$WORK/waits.csv"
      echo
    fi
    awk -F, '
      function median(list,    v, n, i, j, t) {
        n = split(list, v, " ")
        for (i = 2; i <= n; i++) {
          t = v[i] + 0
          for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]
          v[j + 1] = t
        }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      }
      $2 == "get" { p99[$7, $1] = $5 }
      $2 == "put" && $1 == "worker" { worker_max = worker_max " " $6 }
      $7 > rounds { rounds = $7 }
      END {
        for (r = 1; r <= rounds; r++) {
          paired = paired " " p99[r, "worker"] / p99[r, "worker paused"]
          apart = apart " " p99[r, "worker"] / p99[r, "none"]
        }
        ratio = median(paired); put_max = median(worker_max)
        printf "- get p99, worker / worker paused (median of the rounds): %.2fx (target at most 1.3x): %s\n",
          ratio, (ratio <= 1.3 ? "met" : "NOT met")
        printf "- get p99, worker / none, the case apart (median of the rounds): %.2fx\n", median(apart)
        printf "- put max during the worker (median of the rounds): %.1f ms (target at most 20 ms): %s\n",
          put_max / 1000, (put_max <= 20000 ? "met" : "NOT met")
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
  : >"$WORK/load.txt"
  : >"$WORK/waits.csv"
  [[ -n "$SERVER_LOG" ]] && set_lock_log SET
  local case round
  for ((round = 1; round <= ROUNDS; round++)); do
    cut -d' ' -f1 /proc/loadavg >>"$WORK/load.txt"
    for case in none worker delete $EXTRA_CASES; do
      log "round $round/$ROUNDS, case $case: loading $EXPIRED expired and $LIVE live entries"
      load "cleanup_${case}_$round"
      log "round $round/$ROUNDS, case $case: $LOAD_SECONDS s of load"
      run_case "$case" "cleanup_${case}_$round" "$round"
      psql_db postgres -c "DROP DATABASE cleanup_${case}_$round" >/dev/null
    done
  done
  log "results"
  report
  echo
  echo "measured in $((SECONDS - started)) s; results in $RESULTS/cleanup.md"
}

main
