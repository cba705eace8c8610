#!/usr/bin/env bash
# The install-script check (a pgspot stand-in, see check_install_scripts.pl): the extension's
# scripts must pass, and the checker must still find every planted fault in fixtures/unsafe.sql
# and nothing in fixtures/safe.sql, so that a checker that finds nothing fails too.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
check="$here/check_install_scripts.pl"
status=0

if ! perl "$check" "$here"/../../extension/*.sql; then
  echo "FAIL: the install scripts have findings (above)"
  status=1
fi

if ! out="$(perl "$check" "$here/fixtures/safe.sql")"; then
  printf 'FAIL: findings in fixtures/safe.sql:\n%s\n' "$out"
  status=1
fi

# "line code" pairs: what the checker found, and what the fixture expects.
found="$(perl "$check" "$here/fixtures/unsafe.sql" | sed -E 's/^[^:]*:([0-9]+): (PS[0-9]+) .*/\1 \2/' | sort -u)"
expected="$(awk '/-- expect:/ { sub(/.*-- expect: */, ""); n = split($0, codes, " ");
                                 for (i = 1; i <= n; i++) print NR, codes[i] }' \
            "$here/fixtures/unsafe.sql" | sort -u)"
if [[ "$found" != "$expected" ]]; then
  echo "FAIL: fixtures/unsafe.sql: found (<) and expected (>) differ:"
  diff <(echo "$found") <(echo "$expected")
  status=1
fi

((status == 0)) && echo "install scripts: no findings; checker self-test: $(wc -l <<<"$expected") planted faults found"
exit $status
