#!/usr/bin/env bash
# The installed Debian packages: each file where Debian and PostgreSQL look for it, owned by
# the right package, the shared library under its SONAME, every version the same as VERSION.
# Runs after `apt-get install ./*.deb` (./run test), against the cluster the PG* variables name.
source "$(dirname "${BASH_SOURCE[0]}")/../worker/lib.bash"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VERSION="$(<"$ROOT/VERSION")"
EXTENSION_VERSION="${VERSION%.*}"
MAJOR="${VERSION%%.*}"
MULTIARCH="$(dpkg-architecture -qDEB_HOST_MULTIARCH)"
LIBDIR="/usr/lib/$MULTIARCH"
PG_LIBDIR="$(/usr/lib/postgresql/15/bin/pg_config --pkglibdir)"
PG_SHAREDIR="$(/usr/lib/postgresql/15/bin/pg_config --sharedir)"

plan 13

# owner PATH: the package that installed PATH (without the architecture of a Multi-Arch one).
owner() { dpkg-query -S "$1" 2>/dev/null | sed -E 's/(:[a-z0-9]+)?: .*$//'; }

is "$(owner "$PG_LIBDIR/psycache.so")" "postgresql-15-psycache" \
  "postgresql-15-psycache installed the extension's module"
is "$(owner "$PG_SHAREDIR/extension/psycache.control")" "postgresql-15-psycache" \
  "postgresql-15-psycache installed the control file"
is "$(owner "$LIBDIR/libpsycache.so.$MAJOR")" "libpsycache1" "libpsycache1 installed the library"
is "$(owner "$LIBDIR/libpsycache.so")" "libpsycache-dev" \
  "libpsycache-dev installed the link for the linker"
is "$(owner /usr/include/psycache/psycache.hpp)" "libpsycache-dev" "libpsycache-dev installed the headers"
is "$(owner /usr/bin/psycache)" "psycache-tools" "psycache-tools installed the CLI"

soname="$(objdump -p "$LIBDIR/libpsycache.so" | awk '$1 == "SONAME" { print $2 }')"
is "$soname" "libpsycache.so.$MAJOR" "the library's SONAME carries the major version"
is "$(readlink -f "$LIBDIR/libpsycache.so")" "$LIBDIR/libpsycache.so.$VERSION" \
  "the library file carries the full version"
is "$(PKG_CONFIG_PATH= pkg-config --modversion psycache)" "$VERSION" "pkg-config finds psycache $VERSION"
is "$(dpkg-query -W -f='${Version}' libpsycache1 | sed -E 's/-[^-]*$//')" "$VERSION" \
  "the packages carry VERSION"
is "$(q postgres "SELECT default_version FROM pg_available_extensions WHERE name = 'psycache'")" \
  "$EXTENSION_VERSION" "the installed extension's default version is VERSION's major.minor"
is "$(q postgres "SELECT count(*) FROM pg_extension WHERE extname = 'psycache'")" "0" \
  "installing the package creates the extension in no database"
q postgres "CREATE EXTENSION psycache; SELECT psycache_put('k', '1', interval '1 minute');
  DROP EXTENSION psycache" >/dev/null
ok $? "CREATE EXTENSION psycache works with the packaged files"

finish
