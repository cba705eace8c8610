#!/usr/bin/env bash
# The extension's upgrade path: the oldest released version, installed and then updated with
# ALTER EXTENSION psycache UPDATE, is the newest version: the same catalog objects as a fresh
# install (functions, signatures, privileges, table options), its stored entries kept, every
# function working. (./run test then runs the full pg_regress and pgTAP suites on such an
# updated extension.) With one version only, the update is a no-op and all of this still holds.
# Runs against the cluster that the PG* variables name, as a superuser.
source "$(dirname "${BASH_SOURCE[0]}")/../worker/lib.bash"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

UPDATED_DB=psycache_upgrade_updated
FRESH_DB=psycache_upgrade_fresh
SCHEMA=psycache_upgrade

teardown() {
  q postgres "DROP DATABASE IF EXISTS $UPDATED_DB WITH (FORCE)"
  q postgres "DROP DATABASE IF EXISTS $FRESH_DB WITH (FORCE)"
}
trap teardown EXIT
teardown
q postgres "CREATE DATABASE $UPDATED_DB"
q postgres "CREATE DATABASE $FRESH_DB"

plan 14

# The versions that have an install script, oldest first, and the one CREATE EXTENSION installs.
oldest="$(q postgres "SELECT version FROM pg_available_extension_versions
  WHERE name = 'psycache' ORDER BY string_to_array(version, '.')::int[] LIMIT 1")"
newest="$(q postgres "SELECT default_version FROM pg_available_extensions WHERE name = 'psycache'")"
diag "oldest version $oldest, newest $newest"
ok "$([[ -n "$oldest" && -n "$newest" ]]; echo $?)" "the installed extension lists its versions"
is "$(q postgres "SELECT count(*) FROM pg_available_extension_versions WHERE name = 'psycache'
  AND version <> '$newest' AND NOT EXISTS (SELECT FROM pg_extension_update_paths('psycache')
    WHERE source = version AND target = '$newest' AND path IS NOT NULL)")" "0" \
  "every older version has an update path to $newest"

# The oldest version, with entries in it.
q "$UPDATED_DB" "CREATE SCHEMA $SCHEMA; CREATE EXTENSION psycache SCHEMA $SCHEMA VERSION '$oldest'"
is "$(q "$UPDATED_DB" "SELECT extversion FROM pg_extension WHERE extname = 'psycache'")" "$oldest" \
  "CREATE EXTENSION psycache VERSION '$oldest' installs the oldest version"
q "$UPDATED_DB" "SET search_path = $SCHEMA;
  SELECT psycache_put('kept', '{\"kept\": true}', interval '1 hour');
  SELECT psycache_put('expired', '1', interval '-1 hour')" >/dev/null

out="$(q "$UPDATED_DB" "ALTER EXTENSION psycache UPDATE" 2>&1)"
ok $? "ALTER EXTENSION psycache UPDATE succeeds${out:+ ($out)}"
is "$(q "$UPDATED_DB" "SELECT extversion FROM pg_extension WHERE extname = 'psycache'")" "$newest" \
  "the update reaches the newest version"
is "$(q "$UPDATED_DB" "SELECT value FROM $SCHEMA.psycache_get('kept')")" '{"kept": true}' \
  "an entry stored before the update is still there"
is "$(q "$UPDATED_DB" "SELECT value IS NULL FROM $SCHEMA.psycache_get('expired')")" "t" \
  "an entry that expired before the update is still a miss"

# The updated extension is the fresh one, object for object.
q "$FRESH_DB" "CREATE SCHEMA $SCHEMA; CREATE EXTENSION psycache SCHEMA $SCHEMA"
updated="$(psql -X -q -v ON_ERROR_STOP=1 -d "$UPDATED_DB" -f "$HERE/catalog.sql")"
fresh="$(psql -X -q -v ON_ERROR_STOP=1 -d "$FRESH_DB" -f "$HERE/catalog.sql")"
ok "$([[ $(grep -c '^function ' <<<"$fresh") -ge 8 ]]; echo $?)" \
  "the catalog description lists the functions ($(grep -c '^function ' <<<"$fresh"))"
difference="$(diff <(echo "$fresh") <(echo "$updated"))"
ok "$([[ -z "$difference" ]]; echo $?)" \
  "the updated extension has the catalog objects of a fresh install of $newest"
# Lines with < are the fresh install's, lines with > the updated extension's.
while read -r line; do [[ -n "$line" ]] && diag "$line"; done <<<"$difference"

# Every function works on the updated extension.
is "$(q "$UPDATED_DB" "SET search_path = $SCHEMA;
  SELECT psycache_put('new', '[1, 2]', interval '1 minute') > 0,
         (SELECT value FROM psycache_get('new')) = '[1, 2]',
         psycache_remove('new'), psycache_cleanup(), (SELECT entries FROM psycache_stats())")" \
  "t|t|t|1|1" "put, get, remove, cleanup and stats work after the update"
is "$(q "$UPDATED_DB" "SELECT $SCHEMA.psycache_flush()")" "1" "flush works after the update"

out="$(q "$UPDATED_DB" "SET client_min_messages = notice; ALTER EXTENSION psycache UPDATE" 2>&1)"
contains "$out" "already installed" "a second update is a no-op"

# An upgrade script that creates an object outside the extension leaves it behind on DROP.
q "$UPDATED_DB" "DROP EXTENSION psycache"
is "$(q "$UPDATED_DB" "SELECT count(*) FROM pg_class WHERE relnamespace = '$SCHEMA'::regnamespace")" \
  "0" "DROP EXTENSION of the updated extension leaves no relation behind"
is "$(q "$UPDATED_DB" "SELECT count(*) FROM pg_proc WHERE pronamespace = '$SCHEMA'::regnamespace")" \
  "0" "DROP EXTENSION of the updated extension leaves no function behind"

finish
