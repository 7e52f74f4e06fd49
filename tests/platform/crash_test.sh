#!/usr/bin/env bash
# Crash test of the platform's payment path: signed agreement payments from 32 connections
# (bench/e2e_driver), the platform killed with SIGKILL at a random moment, again and again
# (CRASH_KILLS times, default 8), each time restarted on the same data. After every kill
# `paygate ledger verify` must be clean and every payment the platform acknowledged must be
# there exactly once with the answer a retry would replay, and no request half applied
# (tests/platform/crash_check.c). At the end a restarted platform must serve payments again.
# usage: crash_test.sh <paygate> <e2e_seed> <e2e_driver> <crash_check>
set -uo pipefail
paygate=$1 seed_bin=$2 driver=$3 check=$4
kills=${CRASH_KILLS:-8}
source "$(dirname "$0")/../lib/tmp.sh"
test_tmpdir pfcrash
pid=
cleanup() {
  local rc=$1
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  test_finish "$rc" # kept after a failure: the platform's log, the driver's output, the acks
}
trap 'cleanup $?' EXIT
seed=${CRASH_SEED:-$RANDOM}
RANDOM=$seed
echo "platform crash test: $kills kills, seed $seed, dir $dir"
fail() { echo "FAIL: $*"; tail -5 "$dir/log" 2>/dev/null; exit 1; }

"$paygate" platform keygen --out "$dir/m.key" >/dev/null || fail "keygen"
"$paygate" platform merchant add --data-dir "$dir/d" --id bench --name Bench \
  --public-key-file "$dir/m.key.pub" --notify-host bench.example >/dev/null 2>&1 || fail "merchant"
"$seed_bin" --data-dir "$dir/d" --merchant bench --consumers 200 --trades 0 --credit 100000.00 \
  --agreements "$dir/ag" >/dev/null 2>&1 || fail "seeding"

# start: the platform on a free loopback port; sets url once it has written the URL it bound
# (the event; the bound only catches a hang)
start() {
  rm -f "$dir/url"
  "$paygate" platform --listen 127.0.0.1:0 --data-dir "$dir/d" --print-url-file "$dir/url" \
    >>"$dir/out" 2>>"$dir/log" &
  pid=$!
  for _ in $(seq 1200); do
    [ -s "$dir/url" ] && url=$(cat "$dir/url") && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  fail "the platform did not start (log: $dir/log)"
}
drive() { # SECONDS CONNECTIONS
  "$driver" --url "$url" --merchant bench --key "$dir/m.key" --agreements "$dir/ag" \
    --connections "$2" --seconds "$1" --warmup 0 --acks "$dir/acks" >"$dir/driver.out" 2>&1
}

: >"$dir/acks"
for i in $(seq 1 "$kills"); do
  start
  drive 3 32 &
  dpid=$!
  # A random moment under load: 200..1000 ms after the payments began.
  sleep "0.$(printf '%03d' $((200 + RANDOM % 800)))"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=
  wait "$dpid" # its connections fail once the platform is gone; it ends after its 3 s
  out=$("$paygate" ledger verify "$dir/d/platform.db") || fail "kill $i: ledger verify: $out"
  out=$("$check" "$dir/d/platform.db" "$dir/acks" bench) || fail "kill $i: $out"
done
echo "after $kills kills: $out"
[ "$(wc -l <"$dir/acks")" -gt 0 ] || fail "no payment was ever acknowledged: the test proves nothing"
# restarted once more, it serves: every answer of a short run verified, nothing failed
start
drive 1 4 || fail "the restarted platform: $(tail -3 "$dir/driver.out")"
kill -TERM "$pid" && wait "$pid" || fail "the platform did not stop cleanly"
pid=
out=$("$check" "$dir/d/platform.db" "$dir/acks" bench) || fail "after the restart: $out"
echo "$out"
echo "platform crash test passed"
