#!/usr/bin/env bash
# Builds paygate twice (normal, and address+undefined sanitizers) with warnings as errors,
# runs every test suite in both, and ends with one line: "N passed, N failed".
# usage: scripts/test.sh [--quick]   (--quick: normal build only)
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test || { echo "0 passed, 1 failed"; exit 1; }
[ -d tests/browser ] && [ -f tests/browser/package.json ] && \
  (cd tests/browser && { [ -d node_modules/playwright-core ] || npm install --no-audit --no-fund --silent; })

passed=0 failed=0
run_build() { # name, meson options...
  local dir=$1; shift
  echo "== build $dir: $*"
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; failed=$((failed+1)); return; }
  fi
  if ! ninja -C "$dir" >"$dir.ninja.log" 2>&1; then
    tail -50 "$dir.ninja.log"; failed=$((failed+1)); return
  fi
  meson test -C "$dir" --print-errorlogs --num-processes 2 --timeout-multiplier "${TIMEOUT_MULT:-1}" \
    | tee "$dir.test.log" | grep -vE '^ *[0-9]+/[0-9]+ .* OK ' || true
  local ok fail
  ok=$(awk '/^Ok:/{print $2}' "$dir.test.log"); fail=0
  for k in Fail: 'Unexpected Pass:' Timeout:; do
    n=$(grep -E "^$k" "$dir.test.log" | awk '{print $NF}')
    fail=$((fail + ${n:-0}))
  done
  [ -n "$ok" ] || { ok=0; fail=$((fail+1)); }
  passed=$((passed + ok)); failed=$((failed + fail))
}

run_build build
if [ "${1:-}" != "--quick" ]; then
  TIMEOUT_MULT=4 run_build build-asan -Db_sanitize=address,undefined -Db_lundef=false \
    "-Dc_args=-fno-sanitize-recover=all -fno-omit-frame-pointer"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
