#!/usr/bin/env bash
# A real Prometheus server scrapes the /metrics endpoint of metrics_scrape_server, and
# its query API returns the psycache_hits_total the program produced.
#
#   PSYCACHE_TEST_DSN=... prometheus_scrape.sh <metrics_scrape_server>
#
# Everything stays on 127.0.0.1; both processes are stopped by PID and the temporary
# directory removed however the script ends. Bounded: 90 s for the whole wait.
set -euo pipefail

SERVER="$1"
PROMETHEUS="${PROMETHEUS:-prometheus}"
DEADLINE_SECONDS=90
WORK="$(mktemp -d /tmp/psycache-prometheus.XXXXXX)"
SERVER_PID=""
PROMETHEUS_PID=""

cleanup() {
  [[ -n "$PROMETHEUS_PID" ]] && kill "$PROMETHEUS_PID" 2>/dev/null && wait "$PROMETHEUS_PID" 2>/dev/null
  [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for log in "$WORK"/*.log; do
    [[ -f "$log" ]] && { echo "--- $log" >&2; tail -20 "$log" >&2; }
  done
  exit 1
}

command -v "$PROMETHEUS" >/dev/null || fail "$PROMETHEUS not found (Debian package prometheus)"

# The program under test: it prints "port <n>" once /metrics is served.
mkfifo "$WORK/server.out"
"$SERVER" >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER_PID=$!
read -r -t 60 word METRICS_PORT <"$WORK/server.out" || fail "metrics_scrape_server did not start"
[[ "$word" == port ]] || fail "unexpected output from metrics_scrape_server: $word"

free_port() {
  local port
  for port in $(seq 19090 19190); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  fail "no free port in 19090-19190"
}
PROMETHEUS_PORT="$(free_port)"

cat >"$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: psycache
    static_configs:
      - targets: ['127.0.0.1:$METRICS_PORT']
YAML

"$PROMETHEUS" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
  --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" >"$WORK/prometheus.log" 2>&1 &
PROMETHEUS_PID=$!

# GET path from Prometheus's HTTP API (bash's /dev/tcp: no curl needed); prints the body.
http_get() {
  local reply
  exec 3<>"/dev/tcp/127.0.0.1/$PROMETHEUS_PORT" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$1" >&3
  reply="$(cat <&3)"
  exec 3<&-
  printf '%s' "${reply#*$'\r\n\r\n'}"
}

# psycache_hits_total{span_name="scrape"}, URL-encoded.
QUERY='/api/v1/query?query=psycache_hits_total%7Bspan_name%3D%22scrape%22%7D'
deadline=$((SECONDS + DEADLINE_SECONDS))
body=""
while ((SECONDS < deadline)); do
  kill -0 "$PROMETHEUS_PID" 2>/dev/null || fail "prometheus exited"
  body="$(http_get "$QUERY" 2>/dev/null || true)"
  if [[ "$body" == *'"result":[{'* ]]; then
    break
  fi
  sleep 1
done
echo "query answer: $body"
[[ "$body" == *'"status":"success"'* ]] || fail "no answer with data within ${DEADLINE_SECONDS}s"
[[ "$body" == *'"job":"psycache"'* ]] || fail "the sample is not from job psycache"
[[ "$body" == *'"instance":"127.0.0.1:'"$METRICS_PORT"'"'* ]] || fail "the sample is not from the endpoint"
[[ "$body" =~ \"value\":\[[0-9.]+,\"3\"\] ]] || fail "psycache_hits_total{span_name=\"scrape\"} is not 3"

# The scrape itself was healthy: up == 1.
up="$(http_get '/api/v1/query?query=up%7Bjob%3D%22psycache%22%7D')"
[[ "$up" =~ \"value\":\[[0-9.]+,\"1\"\] ]] || fail "up{job=\"psycache\"} is not 1: $up"
echo "ok: Prometheus scraped psycache_hits_total{span_name=\"scrape\"} = 3"
