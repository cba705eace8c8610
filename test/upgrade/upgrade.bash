# The full suites on an updated extension, for ./run test (sourced by ./run, whose helpers and
# failed list it uses). test/upgrade/upgrade.sh compares an updated extension with a fresh one;
# this runs every pg_regress and pgTAP test on an extension that CREATE EXTENSION builds from
# the oldest install script and the update scripts. While it runs, the full script of the newest
# version, if there is one, is moved aside in PostgreSQL's extension folder (private to this
# run under /work/tools/iso), so PostgreSQL has to take the update path.

upgrade_suites() {
  local extdir oldest newest
  extdir="$("$PG_CONFIG" --sharedir)/extension"
  oldest="$(ls "$extdir" | sed -nE 's/^psycache--([0-9.]+)\.sql$/\1/p' | sort -V | head -1)"
  newest="$(sed -nE "s/^default_version = '(.*)'$/\1/p" "$extdir/psycache.control")"
  if [[ "$oldest" == "$newest" ]]; then
    log "upgrade path: $newest is the only version, the suites above ran on it"
    return 0
  fi
  UPGRADE_HIDDEN_SCRIPT="$extdir/psycache--$newest.sql"
  if [[ ! -f "$UPGRADE_HIDDEN_SCRIPT" ]]; then
    log "upgrade path: $newest has no install script of its own, so CREATE EXTENSION installs" \
      "$oldest and updates it: the suites above ran on an updated extension"
    return 0
  fi
  "${SUDO[@]}" mv "$UPGRADE_HIDDEN_SCRIPT" "$UPGRADE_HIDDEN_SCRIPT.aside"
  trap 'restore_hidden_script; stop_cluster' EXIT

  log "pg_regress on psycache $oldest updated to $newest"
  if ! make -C "$ROOT" -s installcheck PG_CONFIG="$PG_CONFIG"; then
    [[ -f "$ROOT/regression.diffs" ]] && cat "$ROOT/regression.diffs"
    failed+=(upgrade-pg_regress)
  fi
  log "pgTAP on psycache $oldest updated to $newest"
  psql_q -q -c 'CREATE DATABASE psycache_pgtap_upgrade' >/dev/null
  pg_prove -d psycache_pgtap_upgrade -U postgres -h 127.0.0.1 -p "$CLUSTER_PORT" \
    "$ROOT"/test/pgtap/*.sql || failed+=(upgrade-pgTAP)
  psql_q -q -c 'DROP DATABASE psycache_pgtap_upgrade' >/dev/null

  restore_hidden_script
  trap stop_cluster EXIT
}

restore_hidden_script() {
  if [[ -n "${UPGRADE_HIDDEN_SCRIPT:-}" && -f "$UPGRADE_HIDDEN_SCRIPT.aside" ]]; then
    "${SUDO[@]}" mv "$UPGRADE_HIDDEN_SCRIPT.aside" "$UPGRADE_HIDDEN_SCRIPT"
  fi
}
