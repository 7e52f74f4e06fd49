#!/usr/bin/env bash
# Integration: the bank's configuration. The commented example file passes --check-config and
# a typo in a copy of it fails naming the key; with --tls-cert/--tls-key the bank answers
# GET /healthz over HTTPS (a self-signed certificate made here with openssl); plain HTTP on
# 0.0.0.0 is refused naming insecure_http, and allowed with --insecure-http.
# usage: test_bank_config.sh <paygate binary> <source root>
set -euo pipefail
bin=$(realpath "$1")
src=$2
source "$(dirname "$0")/../lib/tmp.sh"
source "$(dirname "$0")/../lib/server.sh"
test_tmpdir bank-config
pid=
trap 'rc=$?; [ -n "$pid" ] && kill -TERM $pid 2>/dev/null; wait 2>/dev/null; test_finish $rc' EXIT
fail() { echo "FAIL: $*"; [ -f "$dir/err" ] && cat "$dir/err"; exit 1; }

# 1. the example file is valid, and --check-config opens nothing (its data_dir is not created)
(cd "$dir" && "$bin" bank --config "$src/etc/bank.example.ini" --check-config >"$dir/out" 2>"$dir/err") ||
  fail "example config refused"
[ ! -e "$dir/bank-data" ] || fail "--check-config created the data dir"

# 2. a typo'd key: exit 2, the message names file, line, section and key
sed 's/^notify_timeout =/notify_timout =/' "$src/etc/bank.example.ini" >"$dir/typo.ini"
grep -q '^notify_timout' "$dir/typo.ini" || fail "typo not made"
set +e
"$bin" bank --config "$dir/typo.ini" --check-config >"$dir/out" 2>"$dir/err"
rc=$?
set -e
[ $rc -eq 2 ] || fail "typo: exit $rc, want 2"
grep -q 'typo.ini:[0-9]*: \[bank\] notify_timout' "$dir/err" || fail "typo: key not named"

# 3. a bad value of a [server] key is caught too, and the old [bank] listen says where it went
printf '[server]\ndata_dir = %s/d\ninsecure_http = maybe\n' "$dir" >"$dir/bad.ini"
set +e
"$bin" bank --config "$dir/bad.ini" --check-config >"$dir/out" 2>"$dir/err"
rc=$?
set -e
[ $rc -eq 2 ] && grep -q 'bad.ini:3: \[server\] insecure_http' "$dir/err" || fail "bad boolean passed"
printf '[bank]\nlisten = 127.0.0.1:0\n' >"$dir/old.ini"
set +e
"$bin" bank --config "$dir/old.ini" --data-dir "$dir/d" --check-config >"$dir/out" 2>"$dir/err"
rc=$?
set -e
[ $rc -eq 2 ] && grep -q '\[bank\] listen: moved to the \[server\] section' "$dir/err" ||
  fail "[bank] listen accepted"

# waits for the URL file of the bank started last; fails if it exits first
wait_url() { wait_url_file $pid "$dir/url" "$dir/err"; }
stop() { kill -TERM $pid; wait $pid || fail "bank exited with $? on SIGTERM"; pid=; rm -f "$dir/url"; }

# 4. HTTPS with a self-signed certificate for 127.0.0.1
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
"$bin" bank --data-dir "$dir/d" --fast-hash --tls-cert "$dir/tls.crt" --tls-key "$dir/tls.key" \
  --print-url-file "$dir/url" >"$dir/out" 2>"$dir/err" &
pid=$!
wait_url
url=$(cat "$dir/url")
case $url in https://127.0.0.1:*) ;; *) fail "TLS bank URL $url" ;; esac
curl -sfS --cacert "$dir/tls.crt" "$url/healthz" >"$dir/body" || fail "GET /healthz over https"
if curl -sf "http://${url#https://}/healthz" >/dev/null 2>&1; then fail "plain http answered"; fi
stop

# 5. 0.0.0.0 without TLS: refused naming insecure_http, nothing created; --insecure-http starts
set +e
"$bin" bank --data-dir "$dir/d2" --listen 0.0.0.0:0 >"$dir/out" 2>"$dir/err"
rc=$?
set -e
[ $rc -ne 0 ] || fail "plain HTTP on 0.0.0.0 accepted"
grep -q 'insecure_http' "$dir/err" || fail "refusal does not name insecure_http"
[ ! -e "$dir/d2" ] || fail "refused start created the data dir"
"$bin" bank --data-dir "$dir/d2" --fast-hash --listen 0.0.0.0:0 --insecure-http \
  --print-url-file "$dir/url" >"$dir/out" 2>"$dir/err" &
pid=$!
wait_url
port=$(sed 's/.*://' "$dir/url")
curl -sfS "http://127.0.0.1:$port/healthz" >/dev/null || fail "insecure bank does not answer"
stop
echo ok
