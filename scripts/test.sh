#!/usr/bin/env bash
# Builds paygate twice (normal, and address+undefined sanitizers) with warnings as errors,
# runs every test suite in both, and ends with one line: "N passed, N failed, N skipped (sqlite:
# ..., postgresql: ...)" — the pg suite's tests (the store, ledger, bank and platform suites
# again on PostgreSQL) counted apart from the rest.
# A browser test that cannot run (no node, Chromium or playwright-core) fails here
# (PAYGATE_REQUIRE_BROWSER); a plain `meson test` would skip it.
# usage: scripts/test.sh [--quick]   (--quick: normal build only)
#        scripts/test.sh --summary LOG...          the closing line of meson test logs
#        scripts/test.sh --browser-packages [DIR]  only the npm step (default tests/browser)
# (the last two are what tests/tools/test_no_silent_skip.sh checks)
set -uo pipefail
cd "$(dirname "$0")/.."

# The number after "<label>:" in meson's summary in LOG, 0 when absent.
count() {
  local n
  n=$(grep -E "^$1:" "$2" | awk '{print $NF}')
  echo "${n:-0}"
}

# "N passed, N failed, N skipped" over meson test logs; a log without a summary (meson did
# not get to the end) is one failure.
passed=0 failed=0 skipped=0
summarize() {
  local log ok fail
  for log in "$@"; do
    ok=$(grep -E '^Ok:' "$log" | awk '{print $2}')
    fail=0
    for k in Fail 'Unexpected Pass' Timeout; do
      fail=$((fail + $(count "$k" "$log")))
    done
    [ -n "$ok" ] || { ok=0; fail=$((fail + 1)); echo "$log: meson test printed no summary"; }
    passed=$((passed + ok)) failed=$((failed + fail))
    skipped=$((skipped + $(count Skipped "$log")))
  done
}

# The browser tests' npm packages (DIR/package-lock.json), unless already there. npm's own
# output is shown when it fails; the status says whether they are there now.
browser_packages() {
  local d=$1 out
  [ -f "$d/package.json" ] && [ ! -d "$d/node_modules/playwright-core" ] || return 0
  echo "== npm ci ($d)"
  if ! out=$(cd "$d" && npm ci --no-audit --no-fund 2>&1); then
    echo "$out"
    echo "npm ci in $d failed (its output is above): the browser tests cannot run"
    return 1
  fi
}

case ${1:-} in
  --summary) shift; summarize "$@"; echo "$passed passed, $failed failed, $skipped skipped"; exit 0 ;;
  --browser-packages) browser_packages "${2:-tests/browser}"; exit ;;
esac

scripts/deps.sh test || { echo "scripts/deps.sh could not install what the tests need"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
export PAYGATE_REQUIRE_BROWSER=1
browser_packages tests/browser # on failure the browser tests fail, naming what is missing

declare -A by=() # backend:result -> tests, from meson's one line per test
count_backends() { # test log
  local line backend result re='^ *[0-9]+/[0-9]+ paygate:([^ ]+) / [^ ]+ +([A-Z]+)'
  while read -r line; do
    [[ $line == "Summary of Failures:"* ]] && break # it lists the failed tests a second time
    [[ $line =~ $re ]] || continue
    backend=sqlite
    [[ ${BASH_REMATCH[1]} == pg ]] && backend=postgresql
    case ${BASH_REMATCH[2]} in OK) result=passed ;; SKIP) result=skipped ;; *) result=failed ;; esac
    by[$backend:$result]=$((${by[$backend:$result]:-0} + 1))
  done <"$1"
}
backend_line() { # name
  echo "$1: ${by[$1:passed]:-0} passed, ${by[$1:failed]:-0} failed, ${by[$1:skipped]:-0} skipped"
}

run_build() { # name, meson options...
  local dir=$1; shift
  echo "== build $dir: $*"
  if [ ! -f "$dir/build.ninja" ]; then
    # postgres=enabled: without libpq the setup fails here, rather than the pg suite vanishing
    meson setup "$dir" -Dwerror=true -Dpostgres=enabled "$@" >"$dir.setup.log" 2>&1 ||
      { cat "$dir.setup.log"; failed=$((failed+1)); return; }
  fi
  if ! ninja -C "$dir" >"$dir.ninja.log" 2>&1; then
    tail -50 "$dir.ninja.log"; failed=$((failed+1)); return
  fi
  # setup full: every suite, the deb suite included (quick, meson's default, leaves it out)
  meson test -C "$dir" --setup "$setup" --print-errorlogs --num-processes 2 \
    --timeout-multiplier "${TIMEOUT_MULT:-1}" \
    | tee "$dir.test.log" | grep -vE '^ *[0-9]+/[0-9]+ .* OK ' || true
  summarize "$dir.test.log"
  count_backends "$dir.test.log"
  # both backends or a failure: a build whose pg suite ran nothing tested one backend only
  if ! grep -qE '^ *[0-9]+/[0-9]+ paygate:pg / ' "$dir.test.log"; then
    echo "$dir: the pg suite did not run (meson test -C $dir --list --suite pg)"; failed=$((failed+1))
  fi
}

setup=full
[ "${1:-}" != "--quick" ] || setup=quick
run_build build
if [ "${1:-}" != "--quick" ]; then
  TIMEOUT_MULT=4 run_build build-asan -Db_sanitize=address,undefined -Db_lundef=false \
    "-Dc_args=-fno-sanitize-recover=all -fno-omit-frame-pointer"
fi
echo "$passed passed, $failed failed, $skipped skipped ($(backend_line sqlite); $(backend_line postgresql))"
[ "$failed" -eq 0 ]
