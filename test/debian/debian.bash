# The Debian packages: `./run package` builds them into dist/, `./run test` builds them, runs
# lintian, installs them on this machine, runs the suites against the installed files and
# removes them again. Sourced by ./run, whose helpers (log, install_packages, start_cluster,
# stop_cluster, psql_q) it uses.

# Only `./run package` and `./run test` need these, so `./run demo` stays light.
PACKAGING_PACKAGES=(debhelper postgresql-server-dev-all dpkg-dev fakeroot lintian jq)
PACKAGE_DIR="${PSYCACHE_PACKAGE_DIR:-$ROOT/dist}"
PSYCACHE_DEBS=(postgresql-15-psycache libpsycache1 libpsycache-dev psycache-tools)
# dpkg's lock is machine-wide: wait for another apt-get rather than fail.
APT_OPTIONS=(-o DPkg::Lock::Timeout=300 -y -qq --no-install-recommends)

cmd_package() {
  PACKAGES+=("${PACKAGING_PACKAGES[@]}")
  install_packages
  build_packages
  lint_packages
}

# The source tree as git sees it (tracked and new files, not the ignored build folders),
# copied to a fixed folder (so ccache finds its objects again), built there with
# dpkg-buildpackage; the packages go to $PACKAGE_DIR.
build_packages() {
  local version stage source_dir
  version="$(<"$ROOT/VERSION")"
  stage="$ROOT/build-package"
  source_dir="$stage/psycache-$version"
  log "building the Debian packages (dpkg-buildpackage -b, log in $stage/build.log)"
  rm -rf "$stage"
  mkdir -p "$source_dir"
  if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
      tar --null --ignore-failed-read -T - -cf -) | tar -C "$source_dir" -xf -
  else
    tar -C "$ROOT" --exclude='./build*' --exclude=./dist --exclude=./.cluster -cf - . |
      tar -C "$source_dir" -xf -
  fi
  # nocheck: the suites run against the installed packages instead (./run test).
  if ! (cd "$source_dir" &&
    DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=$JOBS" dpkg-buildpackage -us -uc -b) \
    >"$stage/build.log" 2>&1; then
    tail -40 "$stage/build.log"
    echo "dpkg-buildpackage failed; the whole log: $stage/build.log" >&2
    return 1
  fi
  rm -rf "$PACKAGE_DIR"
  mkdir -p "$PACKAGE_DIR"
  mv "$stage"/*.deb "$stage"/*.buildinfo "$stage"/*.changes "$PACKAGE_DIR"/
  rm -rf "$source_dir"
  ls -l "$PACKAGE_DIR"
}

# lintian: warnings are shown, errors fail.
lint_packages() {
  log "lintian $PACKAGE_DIR/*.deb"
  lintian --fail-on error --tag-display-limit 0 "$PACKAGE_DIR"/*.deb
}

install_built_packages() {
  local debs=() p
  for p in "${PSYCACHE_DEBS[@]}"; do debs+=("$PACKAGE_DIR/${p}_"*.deb); done
  log "installing ${PSYCACHE_DEBS[*]} (apt-get install ./*.deb)"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install "${APT_OPTIONS[@]}" "${debs[@]}"
}

# Removes the packages (once; also from the EXIT trap) and lists what they left behind.
remove_built_packages() {
  local installed=() p
  for p in "${PSYCACHE_DEBS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' && installed+=("$p")
  done
  ((${#installed[@]})) || return 0
  log "removing ${installed[*]} (apt-get purge)"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get purge "${APT_OPTIONS[@]}" "${installed[@]}"
}

# `./run test` builds the packages and runs lintian in the background while the suites run in
# the build tree: the build keeps both cores busy for about two minutes, most suites leave them
# idle. Niced, so that the suites come first; package_suites waits for it.
PACKAGE_BUILD_PID=""
PACKAGE_BUILD_OUT=""
start_package_build() {
  PACKAGE_BUILD_OUT="$(mktemp /tmp/psycache-package-build.XXXXXX)"
  log "building the Debian packages in the background (its output comes at the package step)"
  (
    renice -n 10 -p "$BASHPID" >/dev/null
    build_packages || exit 1
    lint_packages || exit 2
  ) >"$PACKAGE_BUILD_OUT" 2>&1 &
  PACKAGE_BUILD_PID=$!
}

# The packages built and linted: by the background job if there is one, else now. Returns 1 if
# they could not be built; a lintian failure only goes to failed.
finish_package_build() {
  local status=0
  if [[ -n "$PACKAGE_BUILD_PID" ]]; then
    log "waiting for the background build of the Debian packages"
    wait "$PACKAGE_BUILD_PID" || status=$?
    cat "$PACKAGE_BUILD_OUT"
    rm -f "$PACKAGE_BUILD_OUT"
    PACKAGE_BUILD_PID=""
  else
    build_packages || status=1
    ((status)) || lint_packages || status=2
  fi
  case "$status" in
    0) ;;
    2) failed+=(lintian) ;;
    *)
      failed+=(package-build)
      return 1
      ;;
  esac
}

# The packages on this machine, the suites against them, and their removal. It changes the
# machine's dpkg state and /usr, so the packages are removed however the run ends; the
# extension's files land in PostgreSQL's folders, which /work/tools/iso keeps private.
package_suites() {
  local started=$SECONDS
  finish_package_build || return

  # Nothing of the tree's own build may stand in for the packages: stop the server that
  # loaded the extension of `make install` and uninstall that. (Its log goes with it: show
  # its errors now if a suite failed.)
  if ((${#failed[@]})); then
    grep -E 'ERROR|FATAL|PANIC' "$CLUSTER_DIR/server.log" | tail -20 || true
  fi
  stop_cluster
  "${SUDO[@]}" make -C "$ROOT" -s uninstall PG_CONFIG="$PG_CONFIG"
  trap 'remove_built_packages; stop_cluster' EXIT
  remove_built_packages # left over from a run that was killed
  if ! install_built_packages; then
    failed+=(package-install)
    remove_built_packages
    return
  fi
  local files installed_at=$SECONDS
  files="$(dpkg -L "${PSYCACHE_DEBS[@]}" | sort -u)"

  if start_package_cluster; then
    installed_suites
  else
    failed+=(package-cluster)
  fi
  stop_cluster

  remove_built_packages || failed+=(package-remove)
  trap stop_cluster EXIT
  log "the packages were installed for $((SECONDS - installed_at)) s"
  local left
  left="$(while read -r f; do if [[ -f "$f" || -L "$f" ]]; then echo "$f"; fi; done <<<"$files")"
  if [[ -n "$left" ]]; then
    echo "files left behind by the removed packages:" >&2
    echo "$left" >&2
    failed+=(package-remove)
  fi
  # Back to the tree's build, as the set-up left it.
  "${SUDO[@]}" make -C "$ROOT" -s install PG_CONFIG="$PG_CONFIG"
  log "the Debian packages took $((SECONDS - started)) s after the suites (install, suites, removal)"
}

# A cluster for the installed packages. A second try on another port: clusters of other
# checkouts on this machine may take the free port that free_port found in the meantime.
start_package_cluster() {
  local try
  for try in 1 2; do
    start_cluster "$(mktemp -d /tmp/psycache-cluster.XXXXXX)" && return 0
    tail -5 "$CLUSTER_DIR/server.log" || true
    stop_cluster
  done
  return 1
}

# The suites against the installed packages, on the cluster just started.
installed_suites() {
  log "installed packages: the package checks (prove test/debian)"
  prove "$ROOT"/test/debian/installed.sh || failed+=(package-checks)

  log "installed packages: pg_regress"
  if ! make -C "$ROOT" -s installcheck PG_CONFIG="$PG_CONFIG"; then
    [[ -f "$ROOT/regression.diffs" ]] && cat "$ROOT/regression.diffs"
    failed+=(package-pg_regress)
  fi
  log "installed packages: pgTAP"
  psql_q -q -c 'CREATE DATABASE psycache_pgtap' >/dev/null
  # Not the memory suites: hundreds of thousands of calls that measure the code, not the install,
  # and ran on this very code before the packages were built.
  pg_prove -d psycache_pgtap -U postgres -h 127.0.0.1 -p "$CLUSTER_PORT" \
    $(ls "$ROOT"/test/pgtap/*.sql | grep -v '/memory[^/]*\.sql$') || failed+=(package-pgTAP)
  log "installed packages: the upgrade path (prove test/upgrade)"
  prove "$ROOT"/test/upgrade/*.sh || failed+=(package-upgrade)

  # The client suites, the README examples, the CLI suites and the consumer projects, built
  # against the installed CMake package and run with the installed CLI.
  log "installed packages: Catch2 suites built with find_package(psycache) (ctest)"
  local build="$ROOT/build-installed"
  if cmake -S "$ROOT" -B "$build" -DPSYCACHE_USE_INSTALLED=ON \
    -DCMAKE_BUILD_TYPE="${PSYCACHE_BUILD_TYPE:-RelWithDebInfo}" >/dev/null &&
    cmake --build "$build" -j"$JOBS"; then
    ctest --test-dir "$build" --output-on-failure --timeout 300 || failed+=(package-ctest)
  else
    failed+=(package-ctest-build)
  fi
}
