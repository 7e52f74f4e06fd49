#!/usr/bin/env bash
# Integration: the built `paygate demo --port 0` serves /healthz, /metrics and its landing page,
# and exits 0 on SIGTERM. usage: test_demo.sh <paygate binary>
set -euo pipefail
bin=$1
out=$(mktemp)
trap 'kill -TERM $pid 2>/dev/null || true; rm -f "$out"' EXIT
"$bin" demo --port 0 >"$out" 2>/dev/null &
pid=$!
for _ in $(seq 50); do grep -q 'listening on' "$out" && break; sleep 0.1; done
url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$out")
[ -n "$url" ] || { echo "demo did not print its URL"; exit 1; }
[ "$(curl -s "$url/healthz")" = '{"status":"ok"}' ] || { echo "healthz failed"; exit 1; }
curl -s "$url/" | grep -q 'bank, platform and shop are coming' || { echo "no landing page"; exit 1; }
curl -s "$url/metrics" | grep -q 'route="GET /healthz",class="2xx"} 1' || { echo "no metrics"; exit 1; }
kill -TERM $pid
wait $pid || { echo "demo exited with $?"; exit 1; }
grep -q 'stopped' "$out" || { echo "demo did not stop cleanly"; exit 1; }
echo "demo smoke test passed"
