#!/usr/bin/env bash
# `make coverage`: builds paygate with gcov instrumentation in build-cov (its own folder, -O0
# so lines map to code), runs every test suite there, and prints gcovr's line and branch
# coverage of src/ per module folder and in total; the HTML report (per file, line by line) is
# build-cov/coverage/index.html. Test failures are reported but still measured.
# usage: scripts/coverage.sh [meson test arguments, e.g. --suite unit]
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh coverage || exit 1
[ -d tests/browser ] && [ -f tests/browser/package.json ] && \
  (cd tests/browser && { [ -d node_modules/playwright-core ] || npm install --no-audit --no-fund --silent; })

dir=build-cov
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" -Db_coverage=true -Dbuildtype=debug >"$dir.setup.log" 2>&1 ||
    { cat "$dir.setup.log"; exit 1; }
fi
ninja -C "$dir" >"$dir.ninja.log" 2>&1 || { tail -50 "$dir.ninja.log"; exit 1; }
# counts from an earlier run would add up: start from zero
find "$dir" -name '*.gcda' -delete
meson test -C "$dir" --print-errorlogs --num-processes 2 --timeout-multiplier 3 "$@" \
  >"$dir.test.log" 2>&1
tests_rc=$?
grep -E '^(Ok|Fail|Skipped|Timeout):' "$dir.test.log"
[ "$tests_rc" -eq 0 ] || { grep -E '^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT)' "$dir.test.log"; echo "(some tests failed: see $dir.test.log)"; }

mkdir -p "$dir/coverage"
gcovr_args=(--root . --object-directory "$dir" --filter 'src/' --exclude-unreachable-branches
            --exclude-throw-branches --gcov-ignore-parse-errors)
gcovr "${gcovr_args[@]}" --json-summary "$dir/coverage/summary.json" \
  --html-details "$dir/coverage/index.html" >/dev/null 2>"$dir/coverage/gcovr.log" ||
  { cat "$dir/coverage/gcovr.log"; exit 1; }
scripts/coverage_summary.py "$dir/coverage/summary.json"
echo "HTML report: $dir/coverage/index.html"
exit "$tests_rc"
