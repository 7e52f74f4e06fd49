#!/usr/bin/env bash
# Integration: `paygate demo` on a fresh data dir starts two banks, the platform and the shop
# on free ports (--base-port 0), prints the URLs they really bound, seeds data once, stops
# everything on SIGTERM (exit 0, no child left), and a second run reuses the data. A demo
# whose port is held by another listener (here a bank this test started) names the port,
# exits non-zero and never says "ready" - even though that listener answers /healthz.
# usage: test_demo.sh <paygate binary>
set -euo pipefail
# `grep >/dev/null`, not `grep -q`, after curl: see tests/shop/test_shop.sh
source "$(dirname "$0")/../lib/demo.sh"
bin=$1
demo_vars
other=
trap 'rc=$?; for p in $pid $other; do kill -TERM $p 2>/dev/null && wait $p; done; test_finish $rc' EXIT
fail() { echo "FAIL: $*"; exit 1; }
start() {
  demo_start "$bin" "$dir" || { pid=$demo_pid; fail "demo did not get ready"; }
  pid=$demo_pid
}
stop() {
  kill -TERM $pid
  wait $pid || fail "demo exited with $?"
  pid=
  grep -q 'stopped' "$dir/out" || fail "demo did not stop cleanly"
  [ ! -e "$dir/urls" ] || fail "the URLs file outlived the demo"
  # no child left: no process runs on this demo's data (its port may already serve another
  # test's server, so the check is on the processes, not on the URLs)
  local f c
  for f in /proc/[0-9]*/cmdline; do
    c=$(tr '\0' ' ' <"$f" 2>/dev/null) || continue
    case $c in *"--data-dir $dir/data/"*) fail "a child outlived the demo: $c" ;; esac
  done
}
start
grep -q 'creating data' "$dir/out" || fail "first run should create the data"
for u in "$BANK0" "$BANK1" "$PLATFORM" "$SHOP"; do
  case $u in http://127.0.0.1:[0-9]*) ;; *) fail "not a loopback URL: '$u'" ;; esac
  [ "$(curl -s "$u/healthz")" = '{"status":"ok"}' ] || fail "$u not healthy"
  grep -q "$u/" "$dir/out" || fail "$u not in the banner"
done
grep -q '13800000001' "$dir/out" || fail "credentials not printed"
grep -q "$BANK0/sandbox/sms" "$dir/out" || fail "SMS page not printed"
curl -s "$SHOP/" | grep 'id="add-tea"' >/dev/null || fail "no catalogue"
curl -s "$PLATFORM/.well-known/paygate-platform-key" | grep public_key >/dev/null || fail "no platform key"
# the shop's owner in the merchant portal: its TOTP secret kept in a file, never in the log
grep -q "$PLATFORM/portal" "$dir/out" || fail "portal URL not printed"
grep -q '^totp_secret [A-Z2-7]\{16,\}$' "$dir/data/platform/portal-owner-totp" || fail "no portal TOTP secret"
if grep -q "$(sed -n 's/^totp_secret //p' "$dir/data/platform/portal-owner-totp")" "$dir/data/logs/setup.log"; then fail "TOTP secret in the log"; fi
[ "$(curl -s -o /dev/null -w '%{http_code}' "$PLATFORM/portal/login")" = 200 ] || fail "no portal login page"
for f in banks/icbc/bank.db banks/ccb/bank.db platform/platform.db shop/shop.db shop/shop.key; do
  [ -f "$dir/data/$f" ] || fail "missing $f"
done
# private: every file 0600 (databases with -wal/-shm, keys, platform.ini with the operator
# token, logs) but the public certificates and merchant.json; every directory 0700
open=$(find "$dir/data" \( -type f -perm /077 ! -name '*.crt' ! -name merchant.json \) -o \( -type d -perm /077 \))
[ -z "$open" ] || { echo "readable by others:"; ls -l $open; exit 1; }
stop
start
grep -q 'reusing data' "$dir/out" || fail "second run should reuse the data"
[ "$(grep -c 'consumer 13800000001 added' "$dir/data/logs/setup.log")" = 1 ] || fail "seeded twice"
stop

# A port in use: a bank of this test listens on port P (and answers /healthz with ok); a demo
# told to put its first bank on P must say so and fail, never print "ready".
"$bin" bank serve --data-dir "$dir/other" --fast-hash --listen 127.0.0.1:0 \
  --print-url-file "$dir/other-url" >"$dir/other.log" 2>&1 &
other=$!
for _ in $(seq 600); do [ -s "$dir/other-url" ] && break; kill -0 $other || fail "other bank exited"; sleep 0.1; done
[ -s "$dir/other-url" ] || fail "other bank did not start"
port=$(sed 's/.*://' "$dir/other-url")
set +e
"$bin" demo --data-dir "$dir/data" --base-port "$port" --urls-file "$dir/urls" >"$dir/busy.out" 2>&1
rc=$?
set -e
[ $rc -ne 0 ] || fail "a demo on a busy port exited 0"
if grep -q 'ready' "$dir/busy.out"; then fail "a demo on a busy port said ready: $(cat "$dir/busy.out")"; fi
grep -q "bank-icbc cannot listen on 127.0.0.1:$port: the port is in use" "$dir/busy.out" ||
  fail "the busy port is not named: $(cat "$dir/busy.out")"
[ ! -e "$dir/urls" ] || fail "a failed demo wrote the URLs file"
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || fail "the other bank was disturbed"
echo "demo test passed"
