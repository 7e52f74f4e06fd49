#!/usr/bin/env bash
# bench-smoke for bench/switch: keeps it from rotting. One short round of the real bench (a
# switch, CCB's bank as the issuer, the driver as ICBC) must approve and verify every
# authorization through the switch and at the issuer alone, measure the fdatasync reference,
# and leave clean ledgers (bench/switch checks those and exits non-zero otherwise).
# usage: test_switch_bench_smoke.sh <source root> <build dir>
set -euo pipefail
src=$1 build=$2
source "$src/tests/lib/tmp.sh"
test_tmpdir switch-bench-smoke
out=$dir/out.txt
trap 'test_finish $?' EXIT
fail() { cat "$out"; echo "FAIL: $*"; exit 1; }

"$src/bench/switch" --rounds 1 --seconds 1 --threads 2 --build "$build" >"$out" 2>&1 \
  || fail "bench/switch failed"
grep -q '^ledger verify: clean (switch, issuer)$' "$out" || fail "no clean ledger verification"
for what in "through the switch" "at the issuer alone"; do
  rate=$(sed -n "s|^  authorizations/s $what *\([0-9]*\) /s.*|\1|p" "$out")
  [ -n "$rate" ] && [ "$rate" -gt 0 ] || fail "no authorizations $what"
done
grep -q '^switch vs the one-bank path (issuer alone): [0-9.]*x' "$out" || fail "no ratio"
echo "ok: $(grep '^switch vs the one-bank' "$out")"
