# What bench.sh and cleanup.sh share: the value, the CPU placement, logging.
# Sourced; expects DATA_DIR (the running cluster's data directory).

PG_BIN=/usr/lib/postgresql/15/bin
SERVER_CPU=1
CLIENT_CPU=0

# The value every put stores and every loaded key holds: a JSON document of 200 bytes as text.
make_value() {
  local head='{"id": 4711, "name": "bench user", "tags": ["alpha", "beta"], "payload": "'
  local tail='"}'
  local pad=$((200 - ${#head} - ${#tail}))
  printf '%s%s%s' "$head" "$(printf "%${pad}s" '' | tr ' ' x)" "$tail"
}
VALUE="$(make_value)"

log() { printf '\n==> %s\n' "$*"; }
on_clients() { taskset -c "$CLIENT_CPU" "$@"; }

# The postmaster and every process it has (and will have) forked run on SERVER_CPU.
pin_postgres() {
  local postmaster
  postmaster="$(head -1 "$DATA_DIR/postmaster.pid")"
  for pid in "$postmaster" $(pgrep -P "$postmaster"); do
    taskset -a -p -c "$SERVER_CPU" "$pid" >/dev/null
  done
}
