#!/usr/bin/env bash
# The release metadata agrees with VERSION, the one place the version is written: the
# extension's control file, META.json (PGXN), CHANGELOG.md, debian/changelog. META.json and the
# Grafana dashboard are valid, and every relative link of the documentation leads to a file.
# Needs jq and dpkg-parsechangelog (dpkg-dev); no server. Run after `make` (the control file is
# generated).
source "$(dirname "${BASH_SOURCE[0]}")/../worker/lib.bash"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1

plan 25

VERSION="$(<VERSION)"
[[ "$VERSION" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]]
ok $? "VERSION is major.minor.patch ($VERSION)"
EXTENSION_VERSION="${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"

# --- the extension -------------------------------------------------------------

control_version="$(sed -nE "s/^default_version = '([^']*)'$/\1/p" psycache.control)"
is "$control_version" "$EXTENSION_VERSION" "psycache.control's default_version is VERSION's major.minor"
# The version CREATE EXTENSION installs: a full script, or an update path from an older one.
scripts=(extension/psycache--"$EXTENSION_VERSION".sql extension/psycache--*--"$EXTENSION_VERSION".sql)
found=0
for script in "${scripts[@]}"; do [[ -f "$script" ]] && found=1; done
ok $((!found)) "extension/ has a script that reaches version $EXTENSION_VERSION"
# Released scripts are never edited; a later version only adds update scripts.
oldest="$(ls extension/ | sed -nE 's/^psycache--([0-9.]+)\.sql$/\1/p' | sort -V | head -1)"
is "$oldest" "1.0" "the oldest install script is the first release's, 1.0"

# --- META.json (PGXN Meta Spec 1.0.0) --------------------------------------------

jq -e . META.json >/dev/null
ok $? "META.json is valid JSON"
missing="$(jq -r '["name","abstract","maintainer","license","provides","meta-spec","version"]
  - keys | join(" ")' META.json)"
is "$missing" "" "META.json has every required key"
is "$(jq -r '."meta-spec".version' META.json)" "1.0.0" "META.json follows Meta Spec 1.0.0"
is "$(jq -r .name META.json)" "psycache" "META.json names the distribution psycache"
is "$(jq -r .version META.json)" "$VERSION" "META.json's version is VERSION"
is "$(jq -r .provides.psycache.version META.json)" "$VERSION" \
  "META.json's provides.psycache.version is VERSION"
file="$(jq -r .provides.psycache.file META.json)"
ok "$([[ -f "$file" ]]; echo $?)" "META.json's provides.psycache.file exists ($file)"
is "$(jq -r .license META.json)" "postgresql" "META.json's license is the one LICENSE states"
grep -q '^PostgreSQL License$' LICENSE
ok $? "LICENSE is the PostgreSQL License"
# Every version in META.json is a semantic version (the spec requires it).
bad="$(jq -r '[.version, .provides[].version] | map(select(test("^[0-9]+\\.[0-9]+\\.[0-9]+$") | not))
  | join(" ")' META.json)"
is "$bad" "" "every version in META.json is a semantic version"
is "$(jq -r '.release_status // "stable" | IN("stable", "testing", "unstable")' META.json)" "true" \
  "META.json's release_status is one the spec knows"
is "$(jq -r '.maintainer | if type == "array" then length > 0 else type == "string" end' META.json)" \
  "true" "META.json names a maintainer"

# --- CHANGELOG.md and debian/changelog ----------------------------------------------

first_release="$(sed -nE 's/^## \[([0-9][^]]*)\] - [0-9]{4}-[0-9]{2}-[0-9]{2}$/\1/p' CHANGELOG.md | head -1)"
is "$first_release" "$VERSION" "the newest release of CHANGELOG.md is VERSION"
grep -q '^## \[Unreleased\]$' CHANGELOG.md
ok $? "CHANGELOG.md keeps an Unreleased section"
deb_version="$(dpkg-parsechangelog -l debian/changelog -S Version)"
is "${deb_version%-*}" "$VERSION" "debian/changelog's upstream version is VERSION ($deb_version)"
is "$(dpkg-parsechangelog -l debian/changelog -S Source)" "psycache" "the source package is psycache"

# --- documentation ---------------------------------------------------------------------

dashboard=docs/grafana-dashboard.json
jq -e '.panels | length > 0' "$dashboard" >/dev/null
ok $? "the Grafana dashboard is valid JSON with panels"
metrics=(psycache_hits_total psycache_misses_total psycache_get_duration_seconds
  psycache_put_duration_seconds psycache_remove_duration_seconds psycache_flush_duration_seconds
  psycache_item_size_bytes psycache_flushed_entries psycache_cleanup_last_run_timestamp_seconds
  psycache_cleanup_deleted_entries)
exprs="$(jq -r '.. | objects | select(has("expr")) | .expr' "$dashboard")"
unused=()
for metric in "${metrics[@]}"; do [[ "$exprs" == *"$metric"* ]] || unused+=("$metric"); done
is "${unused[*]}" "" "the dashboard charts all ten metrics"
unknown="$(grep -oE 'psycache_[a-z_]+' <<<"$exprs" | sed -E 's/_(bucket|sum|count)$//' | sort -u |
  grep -vxF -f <(printf '%s\n' "${metrics[@]}") | tr '\n' ' ')"
is "$unknown" "" "the dashboard uses no metric the client does not export"

# Relative links of README.md and the pages of docs/ (anchors aside) name files that exist.
broken=()
for page in README.md CHANGELOG.md docs/*.md docs/*/*.md; do
  dir="$(dirname "$page")"
  while read -r target; do
    target="${target%%#*}"
    [[ -z "$target" || "$target" =~ ^[a-z]+: ]] && continue
    [[ -e "$dir/$target" ]] || broken+=("$page -> $target")
  done < <(awk '/^```/ { code = !code; next } !code' "$page" | grep -oE '\]\([^) ]+\)' |
    sed -E 's/^\]\((.*)\)$/\1/')
done
is "${broken[*]}" "" "every relative link of the documentation leads to a file"
pages=(docs/*.md)
ok $((${#pages[@]} < 2)) "docs/ has the longer pages (${#pages[@]})"

finish
