#!/usr/bin/env bash
# The server's side only, in instructions per statement: what `./run bench profile` counts for
# the server, without building the client or its benchmarks, plus the misses and get_many. It
# makes its own cluster (100,000 keys put through psycache_put, as bench.sh loads them), stops
# it, and runs each PREPAREd statement in a single-user backend under callgrind, 1,000 and then
# 3,000 times (get_many: 100 and 300 calls of 100 random keys), from the same copy of the data
# directory; the difference divided by the difference in calls is the cost of one EXECUTE.
#
#   bench/server_profile.sh [WORK_DIR]      (as root, or as the user that runs PostgreSQL)
#
# Needs the extension installed (make install) and valgrind. WORK_DIR (default a new temporary
# folder) keeps the cluster and the callgrind files, for callgrind_annotate.
set -euo pipefail
shopt -s inherit_errexit

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/common.bash
source "$BENCH_DIR/common.bash"
WORK="${1:-$(mktemp -d /tmp/psycache-server-profile.XXXXXX)}"
DATA="$WORK/data"
KEYS=100000

as_server_user() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

setup() {
  log "a cluster with $KEYS keys in $WORK"
  mkdir -p "$WORK"
  chmod 777 "$WORK"
  as_server_user "$PG_BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    >/dev/null
  cat >>"$DATA/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$WORK'
fsync = off
EOF
  as_server_user "$PG_BIN/pg_ctl" -D "$DATA" -l "$WORK/server.log" -w start >/dev/null
  "$PG_BIN/psql" -X -q -h "$WORK" -U postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE bench"
  "$PG_BIN/psql" -X -q -h "$WORK" -U postgres -d bench -v ON_ERROR_STOP=1 -v value="$VALUE" \
    -v keys="$KEYS" <<'SQL'
CREATE EXTENSION psycache;
CREATE EXTENSION pg_prewarm;
SELECT count(psycache_put('key:' || i, :'value'::jsonb, interval '1 day'))
FROM generate_series(1, :keys) AS i \g /dev/null
VACUUM ANALYZE psycache;
SQL
  as_server_user "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
  cp -a "$DATA" "$WORK/data.loaded"
}

# Instructions per EXECUTE of PREPARE, with KEY in the template replaced by a random stored
# key's number and KEYS100 by an array of 100 random stored keys.
profile() {  # NAME PREPARE EXECUTE_TEMPLATE [SMALL LARGE]
  local name="$1" small="${4:-1000}" large="${5:-3000}" n
  for n in "$small" "$large"; do
    rm -rf "$DATA"
    cp -a "$WORK/data.loaded" "$DATA"
    {
      echo "SELECT pg_prewarm('psycache'), pg_prewarm('psycache_pkey');"
      tr '\n' ' ' <<<"$2"
      echo
      awk -v n="$n" -v t="$3" -v keys="$KEYS" -v value="$VALUE" 'BEGIN { srand(1)
        for (i = 0; i < n; i++) {
          s = t
          if (s ~ /KEYS100/) {
            a = "ARRAY["
            for (j = 0; j < 100; j++) a = a (j ? "," : "") "\047key:" int(rand() * keys) + 1 "\047"
            gsub(/KEYS100/, a "]", s)
          }
          gsub(/KEY/, int(rand() * keys) + 1, s); gsub(/VALUE/, value, s); print s
        } }'
    } >"$WORK/$name.$n.sql"
    as_server_user valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.$name.$n" \
      "$PG_BIN/postgres" --single -D "$DATA" bench <"$WORK/$name.$n.sql" >"$WORK/$name.$n.log" 2>&1
    if grep -m3 -E 'ERROR|FATAL' "$WORK/$name.$n.log" >&2; then return 1; fi
  done
  local s l
  s="$(awk '/^summary:/ { print $2 }' "$WORK/callgrind.$name.$small")"
  l="$(awk '/^summary:/ { print $2 }' "$WORK/callgrind.$name.$large")"
  printf '| %s | %d |\n' "$name" $(((l - s) / (large - small)))
}

# Instructions per call of function (inclusive) in the large run of NAME.
inside() {  # NAME FUNCTION CALLS
  callgrind_annotate --inclusive=yes --threshold=100 "$WORK/callgrind.$1.${4:-3000}" 2>/dev/null |
    awk -v f="$2" -v n="$3" '{ name = $0; sub(/ \[.*$/, "", name); sub(/^.*:/, "", name) }
      name == f && !done { gsub(",", "", $1); printf "%s: %d per call\n", f, $1 / n; done = 1 }'
}

[[ -d "$WORK/data.loaded" ]] || setup
live="expires_at > statement_timestamp()"
get='PREPARE s(text) AS SELECT (e).value, (e).size FROM (SELECT psycache_get($1) AS e) AS entry;'
get_from='PREPARE s(text) AS SELECT value, size FROM psycache_get($1);'
raw_get="PREPARE s(text) AS SELECT value FROM psycache WHERE key = \$1 AND $live;"
echo "| statement | instructions per EXECUTE |"
echo "|---|--:|"
profile nop 'PREPARE s(text) AS SELECT $1;' "EXECUTE s('key:KEY');"
profile raw-get "$raw_get" "EXECUTE s('key:KEY');"
profile fn-get "$get" "EXECUTE s('key:KEY');"
profile fn-get-from "$get_from" "EXECUTE s('key:KEY');"
profile raw-get-miss "$raw_get" "EXECUTE s('nokey:KEY');"
profile fn-get-miss "$get" "EXECUTE s('nokey:KEY');"
profile raw-put "PREPARE s(text, jsonb, interval) AS INSERT INTO psycache (key, value, expires_at)
  VALUES (\$1, \$2, statement_timestamp() + \$3) ON CONFLICT (key)
  DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at;" \
  "EXECUTE s('key:KEY', 'VALUE', '1 hour');"
profile fn-put "PREPARE s(text, jsonb, interval) AS SELECT psycache_put(\$1, \$2, \$3);" \
  "EXECUTE s('key:KEY', 'VALUE', '1 hour');"
profile fn-get-many-100 'PREPARE s(text[]) AS SELECT key, value, size FROM psycache_get_many($1);' \
  "EXECUTE s(KEYS100);" 100 300
echo
inside fn-get psycache_get 3000
inside fn-put psycache_put 3000
inside fn-get-many-100 psycache_get_many 30000 300 | sed 's/per call/per key/'
