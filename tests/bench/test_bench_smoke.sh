#!/usr/bin/env bash
# bench-smoke: keeps bench/e2e from rotting. A 2 s payment run of the real bench (seeder,
# platform, driver) with a handful of connections must verify every answer, fail nothing,
# leave a clean ledger and exactly the paid trades the driver counted (bench/e2e checks
# those and exits non-zero otherwise); and with a wrong platform key the driver must refuse
# every answer, so the verification cannot silently be skipped.
# usage: test_bench_smoke.sh <source root> <build dir>
set -euo pipefail
src=$1 build=$2
source "$src/tests/lib/tmp.sh"
test_tmpdir bench-smoke
out=$dir/out.txt
trap 'test_finish $?' EXIT
fail() { cat "$out"; echo "FAIL: $*"; exit 1; }
run() { "$src/bench/e2e" --payments-only --rounds 1 --seconds 2 --connections 4 --consumers 8 \
  --build "$build" "$@" >"$out" 2>&1; }

run || fail "bench/e2e --payments-only failed"
grep -q '^ledger verify: clean; paid trades in the database = payments the driver counted$' "$out" \
  || fail "no clean ledger verification"
rate=$(sed -n 's|^  signed payments/s, 4 connections *\([0-9]*\) /s.*|\1|p' "$out")
[ -n "$rate" ] && [ "$rate" -gt 0 ] || fail "no payments"

if run --driver-arg --platform-key --driver-arg AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=; then
  fail "a wrong platform key passed"
fi
grep -q 'e2e_driver: signature failure' "$out" || fail "not refused for its signature"
grep -q '^RESULT payments=0 .* verified=0 ' "$out" || fail "an answer verified with a wrong key"
echo "ok: $rate payments/s verified; a wrong platform key refused"
