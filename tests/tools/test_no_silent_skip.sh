#!/usr/bin/env bash
# No silent skips (issue 9, point 2). Under PAYGATE_REQUIRE_BROWSER, which scripts/test.sh
# (`make test`, CI) sets, a browser test that cannot run fails saying what is missing, while a
# plain `meson test` skips it (77); without node, tests/browser/no_node.sh does the same. The
# npm step of scripts/test.sh shows npm's output when it fails and returns its failure; the
# closing line counts the skipped tests. Shell tests keep their data folder after a failure or
# under PAYGATE_KEEP_TMP and say where it is.
# usage: test_no_silent_skip.sh <source root> [node]
set -euo pipefail
src=$1 node=${2:-}
source "$src/tests/lib/tmp.sh"
test_tmpdir no-skip
trap 'test_finish $?' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run() { # expected-status, then the command; its output in $dir/out
  local want=$1 rc=0
  shift
  "$@" >"$dir/out" 2>&1 || rc=$?
  [ "$rc" -eq "$want" ] || fail "$* exited $rc, not $want: $(cat "$dir/out")"
}

# 1. the npm step: a failing npm's output is shown and its failure returned
mkdir -p "$dir/bin" "$dir/browser"
printf '#!/bin/sh\necho "npm ERR! 404 Not Found - GET playwright-core"\nexit 1\n' >"$dir/bin/npm"
chmod +x "$dir/bin/npm"
echo '{}' >"$dir/browser/package.json"
run 1 env PATH="$dir/bin:$PATH" "$src/scripts/test.sh" --browser-packages "$dir/browser"
grep -q 'npm ERR! 404 Not Found' "$dir/out" || fail "npm's output is hidden: $(cat "$dir/out")"
grep -q "npm ci in $dir/browser failed" "$dir/out" || fail "the npm failure is not said"
mkdir -p "$dir/browser/node_modules/playwright-core"
run 0 env PATH="$dir/bin:$PATH" "$src/scripts/test.sh" --browser-packages "$dir/browser"

# 2. the closing line counts skips, and failures and timeouts together
printf 'Ok:                 5\nExpected Fail:      0\nFail:               1\nUnexpected Pass:    0\nSkipped:            2\nTimeout:            1\n' >"$dir/a.log"
printf 'Ok:                 3\nFail:               0\nSkipped:            0\n' >"$dir/b.log"
echo 'meson died here' >"$dir/c.log"
run 0 "$src/scripts/test.sh" --summary "$dir/a.log" "$dir/b.log"
grep -qx '8 passed, 2 failed, 2 skipped' "$dir/out" || fail "summary: $(cat "$dir/out")"
run 0 "$src/scripts/test.sh" --summary "$dir/c.log"
grep -qx '0 passed, 1 failed, 0 skipped' "$dir/out" || fail "a log without a summary: $(cat "$dir/out")"

# 3. shell tests' data: removed after a pass, kept (and named) after a failure or when asked
finish() { # status, PAYGATE_KEEP_TMP value; prints the dir's path, then test_finish's words
  bash -c 'source "$1"; test_tmpdir keep-check; echo "$dir"; PAYGATE_KEEP_TMP=$3 test_finish "$2"' \
    _ "$src/tests/lib/tmp.sh" "$1" "$2" || true
}
out=$(finish 0 "")
d=$(echo "$out" | head -1)
[ ! -e "$d" ] || fail "a passing test's data was kept"
out=$(finish 0 1)
d=$(echo "$out" | head -1)
[ -d "$d" ] && echo "$out" | grep -q "kept $d (PAYGATE_KEEP_TMP)" || fail "PAYGATE_KEEP_TMP: $out"
rm -rf "$d"
out=$(finish 1 "")
d=$(echo "$out" | head -1)
[ -d "$d" ] && echo "$out" | grep -q "kept $d for a post-mortem (the test failed)" ||
  fail "a failing test's data: $out"
rm -rf "$d"
# 4. a browser test without Chromium: fails when required, skips otherwise
if [ -z "$node" ]; then
  [ -z "${PAYGATE_REQUIRE_BROWSER:-}" ] || fail "node is not installed: the browser checks cannot run"
  echo "SKIP: node is not installed"
  exit 77
fi
for t in bank platform demo; do
  run 1 env PAYGATE_REQUIRE_BROWSER=1 CHROMIUM=/nonexistent/chromium "$node" "$src/tests/browser/$t.test.mjs"
  grep -q "FAIL: the browser test cannot run: missing Chromium (/nonexistent/chromium" "$dir/out" ||
    fail "$t: the failure does not name Chromium: $(cat "$dir/out")"
  run 77 env -u PAYGATE_REQUIRE_BROWSER CHROMIUM=/nonexistent/chromium "$node" "$src/tests/browser/$t.test.mjs"
done
run 1 env PAYGATE_REQUIRE_BROWSER=1 "$src/tests/browser/no_node.sh" "$src/tests/browser/demo.test.mjs"
grep -q "FAIL: the test of demo.test.mjs cannot run: node was not found" "$dir/out" || fail "no_node.sh"
run 77 env -u PAYGATE_REQUIRE_BROWSER "$src/tests/browser/no_node.sh" x.test.mjs
grep -q 'export PAYGATE_REQUIRE_BROWSER=1' "$src/scripts/test.sh" || fail "scripts/test.sh does not require the browser"

echo "no silent skips: ok"
