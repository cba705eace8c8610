#!/usr/bin/env bash
# The pg_regress suites of the extension's functions, once more against the portable install
# (client/sql/portable.sql) in a database without the extension: the same sql/*.sql inputs and the
# same expected/*.out outputs, but for the lines that install and drop psycache, which become
# includes of the portable script (echo off, so its own lines are not in the output).
#
#   test/portable/regress.sh PSYCACHE_CLI    (PGHOST, PGPORT, PGUSER name the running server)
#
# PL/pgSQL adds a CONTEXT line to every error that a portable function raises; the extension's
# errors have none. psql is told not to show it (SHOW_CONTEXT never): the rest of every error,
# SQLSTATE, message, detail and hint, must be the same.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLI="$1"
PG_BIN=/usr/lib/postgresql/15/bin
PG_REGRESS="$(dirname "$("$PG_BIN/pg_config" --pgxs)")/../test/regress/pg_regress"

# The suites of the cache functions, those of 1.0 and of 1.1; not those of the background worker,
# pg_cron, the settings, the upgrade path, the extension's own schema and privileges, nor
# invalid_json (PostgreSQL's own jsonb input errors, with CONTEXT lines of their own).
SUITES=(put_get remove key_length null_arguments ttl_range sizes cleanup_flush stats_columns
  batches batch_arguments add_touch_ttl incr)

work="$(mktemp -d /tmp/psycache-regress-portable.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/sql" "$work/expected"

"$CLI" init-db --portable >"$work/sql/portable.sql"
cat >"$work/sql/install.psql" <<'PSQL'
\set ECHO none
\set SHOW_CONTEXT never
SET client_min_messages = warning;
\ir portable.sql
RESET client_min_messages;
\set ECHO all
PSQL
cat >"$work/sql/uninstall.psql" <<'PSQL'
\set ECHO none
SELECT pg_catalog.format('DROP FUNCTION %s', p.oid::pg_catalog.regprocedure)
FROM pg_catalog.pg_proc AS p
WHERE p.pronamespace OPERATOR(pg_catalog.=) 'public'::pg_catalog.regnamespace
  AND p.proname OPERATOR(pg_catalog.~~) 'psycache\_%' \gexec
DROP TABLE public.psycache;
\set ECHO all
PSQL

# The two lines become includes (by absolute path: pg_regress feeds psql the input on stdin), in
# the inputs and in the outputs alike; psql echoes an include's first line (\set ECHO none) before
# it takes effect.
to_portable() {
  sed -e "s|^CREATE EXTENSION IF NOT EXISTS psycache;\$|\\\\i $work/sql/install.psql\\n\\\\set ECHO none|" \
      -e "s|^DROP EXTENSION psycache;\$|\\\\i $work/sql/uninstall.psql\\n\\\\set ECHO none|" "$1"
}
for suite in "${SUITES[@]}"; do
  grep -q '^CREATE EXTENSION IF NOT EXISTS psycache;$' "$ROOT/sql/$suite.sql"
  to_portable "$ROOT/sql/$suite.sql" | sed '/^\\set ECHO none$/d' >"$work/sql/$suite.sql"
  to_portable "$ROOT/expected/$suite.out" >"$work/expected/$suite.out"
done

if ! "$PG_REGRESS" --inputdir="$work" --outputdir="$work" --dbname=psycache_regress_portable \
  "${SUITES[@]}"; then
  cat "$work/regression.diffs"
  exit 1
fi
