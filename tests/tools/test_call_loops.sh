#!/usr/bin/env bash
# The call-loop checker on archives of its own (usage: test_call_loops.sh CALL_LOOPS_PY): a.c
# and b.c calling each other are a loop of 2 files (exit 1, both named, the symbols that tie
# them); with b.c calling nothing back, no loop (exit 0); --max 2 allows the loop.
set -u
checker=$1
mkdir -p "${PAYGATE_TMP:-/tmp}" || exit 2 # the suite's tmp folder may not exist yet if this test runs first
dir=$(mktemp -d "${PAYGATE_TMP:-/tmp}/call-loops.XXXXXX") || exit 2
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 2
fail() { echo "FAIL: $*"; exit 1; }
cc=${CC:-cc}

cat > a.c <<'C'
int b_calls_back(int);
int a_top(int x) { return b_calls_back(x) + 1; }
int a_helper(int x) { return x * 2; }
C
cat > b.c <<'C'
int a_helper(int);
int b_calls_back(int x) { return a_helper(x); }
C
cat > c.c <<'C'
int c_alone(int x) { return x; }
C
for f in a b c; do $cc -c $f.c -o $f.c.o || exit 2; done # named as meson names objects
ar rcs loop.a a.c.o b.c.o c.c.o || exit 2

out=$(python3 "$checker" loop.a)
[ $? -eq 1 ] || fail "a loop passed: $out"
grep -q 'loop 1, 2 files: a.c b.c' <<<"$out" || fail "loop not named: $out"
grep -q 'a.c -> b.c: b_calls_back' <<<"$out" || fail "tie a -> b not named: $out"
grep -q 'b.c -> a.c: a_helper' <<<"$out" || fail "tie b -> a not named: $out"
grep -q '3 files, 2 calls between files, 1 loops, 2 files in loops (largest 2)' <<<"$out" ||
    fail "summary: $out"
python3 "$checker" --max 2 loop.a >/dev/null || fail "--max 2 refused a loop of 2"

cat > b.c <<'C'
int b_calls_back(int x) { return x - 1; }
C
$cc -c b.c -o b.c.o || exit 2
ar rcs flat.a a.c.o b.c.o c.c.o || exit 2
out=$(python3 "$checker" flat.a) || fail "no loop, yet refused: $out"
grep -q '0 loops, 0 files in loops' <<<"$out" || fail "summary: $out"
echo "call-loops: checker ok"
