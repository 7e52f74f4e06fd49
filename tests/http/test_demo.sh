#!/usr/bin/env bash
# Integration: `paygate demo` on a fresh data dir starts two banks, the platform and the shop,
# prints the URLs, seeds data once, stops everything on SIGTERM (exit 0, no child left), and
# a second run reuses the data. usage: test_demo.sh <paygate binary>
set -euo pipefail
source "$(dirname "$0")/../lib/demo.sh"
bin=$1
demo_vars
trap '[ -n "$pid" ] && kill -TERM $pid 2>/dev/null; sleep 1; rm -rf "$dir"' EXIT
start() {
  if demo_start "$bin" "$dir" "$base"; then pid=$demo_pid; return 0; fi
  pid=$demo_pid; echo "demo did not get ready"; exit 1
}
stop() {
  kill -TERM $pid
  wait $pid || { echo "demo exited with $?"; exit 1; }
  pid=
  grep -q 'stopped' "$dir/out" || { echo "demo did not stop cleanly"; exit 1; }
  for p in 0 1 2 3; do
    if curl -s -o /dev/null "http://127.0.0.1:$((base + p))/healthz"; then echo "port $((base + p)) still answers"; exit 1; fi
  done
}
start
grep -q 'creating data' "$dir/out" || { echo "first run should create the data"; exit 1; }
for p in 0 1 2 3; do
  [ "$(curl -s "http://127.0.0.1:$((base + p))/healthz")" = '{"status":"ok"}' ] || { echo "port $((base + p)) not healthy"; exit 1; }
done
grep -q "http://127.0.0.1:$((base + 3))/" "$dir/out" || { echo "shop URL not printed"; exit 1; }
grep -q '13800000001' "$dir/out" || { echo "credentials not printed"; exit 1; }
grep -q 'sandbox/sms' "$dir/out" || { echo "SMS page not printed"; exit 1; }
curl -s "http://127.0.0.1:$((base + 3))/" | grep -q 'id="add-tea"' || { echo "no catalogue"; exit 1; }
curl -s "http://127.0.0.1:$((base + 2))/.well-known/paygate-platform-key" | grep -q public_key || { echo "no platform key"; exit 1; }
for f in banks/icbc/bank.db banks/ccb/bank.db platform/platform.db shop/shop.db shop/shop.key; do
  [ -f "$dir/data/$f" ] || { echo "missing $f"; exit 1; }
done
# private: every file 0600 (databases with -wal/-shm, keys, platform.ini with the operator
# token, logs) but the public certificates and merchant.json; every directory 0700
open=$(find "$dir/data" \( -type f -perm /077 ! -name '*.crt' ! -name merchant.json \) -o \( -type d -perm /077 \))
[ -z "$open" ] || { echo "readable by others:"; ls -l $open; exit 1; }
stop
start
grep -q 'reusing data' "$dir/out" || { echo "second run should reuse the data"; exit 1; }
[ "$(grep -c 'consumer 13800000001 added' "$dir/data/logs/setup.log")" = 1 ] || { echo "seeded twice"; exit 1; }
stop
echo "demo test passed"
