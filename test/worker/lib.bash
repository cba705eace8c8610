# Helpers for the TAP scripts in test/worker: psql calls, polling with a deadline, TAP output.
# The scripts run against the cluster that the PG* variables name (./run test sets them), as a
# superuser. PSYCACHE_TEST_SERVER_LOG, when set, is the server log: the checks that read it are
# skipped without it.
set -uo pipefail

TEST_COUNT=0
FAILED_COUNT=0
SERVER_LOG="${PSYCACHE_TEST_SERVER_LOG:-}"
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

# q DB SQL: runs SQL in DB and prints the result unaligned, without headers; fails on error.
q() {
  psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

# q_error DB SQL: runs SQL, which must fail, and prints its error report (message, detail, hint).
q_error() {
  if psql -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=default -d "$1" -c "$2" 2>&1 >/dev/null; then
    echo "(no error)"
  fi
}

plan() { echo "1..$1"; }
diag() { printf '# %s\n' "$@"; }

# ok STATUS DESCRIPTION: a test that passed when STATUS is 0.
ok() {
  TEST_COUNT=$((TEST_COUNT + 1))
  if [[ "$1" -eq 0 ]]; then
    echo "ok $TEST_COUNT - $2"
  else
    echo "not ok $TEST_COUNT - $2"
    FAILED_COUNT=$((FAILED_COUNT + 1))
  fi
}

# is GOT EXPECTED DESCRIPTION
is() {
  [[ "$1" == "$2" ]]
  local status=$?
  ok $status "$3"
  if ((status)); then diag "got:      $1" "expected: $2"; fi
}

# contains TEXT PART DESCRIPTION
contains() {
  [[ "$1" == *"$2"* ]]
  local status=$?
  ok $status "$3"
  if ((status)); then diag "got:      $1" "expected it to contain: $2"; fi
}

skip() {
  TEST_COUNT=$((TEST_COUNT + 1))
  echo "ok $TEST_COUNT # SKIP $1"
}

# wait_until SECONDS DB SQL: polls SQL (a boolean query) every 0.1 s until it is true; fails when
# SECONDS pass first.
wait_until() {
  local deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do
    [[ "$(q "$2" "$3" 2>/dev/null)" == t ]] && return 0
    sleep 0.1
  done
  [[ "$(q "$2" "$3" 2>/dev/null)" == t ]]
}

# log_offset: where the server log ends now, for log_since.
log_offset() {
  if [[ -n "$SERVER_LOG" && -r "$SERVER_LOG" ]]; then stat -c %s "$SERVER_LOG"; else echo 0; fi
}

# log_since OFFSET: what the server logged since log_offset printed OFFSET.
log_since() {
  [[ -n "$SERVER_LOG" && -r "$SERVER_LOG" ]] && tail -c +"$(($1 + 1))" "$SERVER_LOG"
}

have_log() { [[ -n "$SERVER_LOG" && -r "$SERVER_LOG" ]]; }

# finish: the exit status of the script.
finish() {
  ((FAILED_COUNT == 0))
}
