#!/usr/bin/env bash
# Integration: the platform's and the shop's INI files and their [server] flags. The shipped
# examples pass --check-config; a misspelled key fails it (exit 2) naming file, line and key;
# the platform serves /healthz over HTTPS with a self-signed certificate (made here with the
# openssl command line) and refuses plain HTTP on 0.0.0.0 naming insecure_http; a second
# platform process on the same SQLite database is refused at start.
# usage: test_platform_config.sh <paygate binary> <source root>
set -euo pipefail
bin=$1
src=$2
source "$(dirname "$0")/../lib/tmp.sh"
source "$(dirname "$0")/../lib/server.sh"
test_tmpdir platform-config
pid=
trap 'rc=$?; [ -n "$pid" ] && kill -TERM $pid 2>/dev/null && wait $pid; test_finish $rc' EXIT
fail() { echo "FAIL: $*"; cat "$dir/out" 2>/dev/null || true; exit 1; }

# 1. the examples check clean; typos and bad values do not
for s in platform shop; do
  "$bin" $s --config "$src/etc/$s.example.ini" --data-dir "$dir/pf" --check-config \
    >"$dir/out" 2>&1 || fail "$s example does not pass --check-config"
done
[ ! -e "$dir/pf" ] || fail "--check-config created the data dir" # no database is opened
sed 's/^trade_timeout =/trade_timout =/' "$src/etc/platform.example.ini" >"$dir/pf.ini"
set +e
"$bin" platform --config "$dir/pf.ini" --check-config >"$dir/out" 2>&1; rc=$?
set -e
[ $rc -eq 2 ] || fail "misspelled platform key: exit $rc, not 2"
line=$(grep -n '^trade_timout' "$dir/pf.ini" | cut -d: -f1)
grep -q "pf.ini:$line: \[platform\] trade_timout: unknown key" "$dir/out" ||
  fail "platform error does not name file:line [platform] trade_timout"
sed 's/^merchant_id =/merchant-id =/' "$src/etc/shop.example.ini" >"$dir/shop.ini"
set +e
"$bin" shop --config "$dir/shop.ini" --check-config >"$dir/out" 2>&1; rc=$?
set -e
[ $rc -eq 2 ] || fail "misspelled shop key: exit $rc, not 2"
grep -q "shop.ini:[0-9]*: \[shop\] merchant-id: unknown key" "$dir/out" ||
  fail "shop error does not name [shop] merchant-id"
printf '[server]\ninsecure_http = maybe\n' >"$dir/bad.ini"
set +e
"$bin" platform --config "$dir/bad.ini" --check-config >"$dir/out" 2>&1; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "bad.ini:2: \[server\] insecure_http" "$dir/out" || fail "bad boolean"
# database: a PostgreSQL URL checks without connecting; another scheme is refused by name
"$bin" platform --config "$src/etc/platform.example.ini" --data-dir "$dir/pf" \
  --database 'postgresql://pay@db.invalid/pf' --check-config >"$dir/out" 2>&1 ||
  fail "a postgresql:// database does not pass --check-config"
printf '[server]\ndatabase = mysql://pay@db/pf\n' >"$dir/bad.ini"
set +e
"$bin" platform --config "$dir/bad.ini" --check-config >"$dir/out" 2>&1; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "database" "$dir/out" || fail "a mysql:// database is not refused"
printf '[sever]\nlisten = 127.0.0.1:1\n' >"$dir/bad.ini"
set +e
"$bin" platform --config "$dir/bad.ini" --check-config >"$dir/out" 2>&1; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "unknown section \[sever\]" "$dir/out" || fail "unknown section"
set +e
"$bin" platform --check-config --tls-cert "$dir/c.pem" >"$dir/out" 2>&1; rc=$?
set -e
[ $rc -eq 2 ] || fail "--tls-cert without --tls-key accepted"

# 2. plain HTTP on 0.0.0.0 is refused, naming insecure_http: by --check-config and at start
set +e
"$bin" platform --listen 0.0.0.0:8080 --check-config >"$dir/out" 2>&1; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "insecure_http" "$dir/out" || fail "--check-config let 0.0.0.0 pass"
"$bin" platform --listen 0.0.0.0:8080 --insecure-http --check-config >"$dir/out" 2>&1 ||
  fail "--insecure-http refused"
set +e
"$bin" platform --data-dir "$dir/pf" --listen 0.0.0.0:0 >"$dir/out" 2>&1; rc=$?
set -e
[ $rc -ne 0 ] && grep -q "INSECURE_LISTEN.*insecure_http" "$dir/out" ||
  fail "0.0.0.0 without TLS: exit $rc"

# 3. HTTPS with a self-signed certificate, from flags over a config file
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null || fail "openssl"
printf '[server]\nlisten = 127.0.0.1:1\ndata_dir = %s/pf\n' "$dir" >"$dir/tls.ini"
"$bin" platform --config "$dir/tls.ini" --listen 127.0.0.1:0 --tls-cert "$dir/cert.pem" \
  --tls-key "$dir/key.pem" --print-url-file "$dir/url" >"$dir/out" 2>&1 &
pid=$!
wait_url_file $pid "$dir/url" "$dir/out"
url=$(cat "$dir/url")
grep -q "^platform listening on $url\$" "$dir/out" || fail "the startup line does not name $url"
case $url in https://127.0.0.1:*) ;; *) fail "not an https URL: '$url'" ;; esac
body=$(curl -sS --cacert "$dir/cert.pem" "$url/healthz") || fail "https /healthz"
case $body in *ok*) ;; *) fail "healthz: $body" ;; esac
curl -s --cacert "$dir/cert.pem" "${url/https/http}/healthz" -o /dev/null -m 5 &&
  fail "plain HTTP answered on the TLS port"

# 4. on SQLite one process serves a database: a second platform on the same data dir is
#    refused at start, naming PostgreSQL (docs/deploy.md); the first still serves
set +e
"$bin" platform --data-dir "$dir/pf" --listen 127.0.0.1:0 >"$dir/out2" 2>&1; rc=$?
set -e
[ $rc -ne 0 ] && grep -q "another platform process serves .*PostgreSQL" "$dir/out2" ||
  fail "a second platform on one SQLite file: exit $rc, $(cat "$dir/out2")"
body=$(curl -sS --cacert "$dir/cert.pem" "$url/healthz") || fail "https /healthz after"
case $body in *ok*) ;; *) fail "healthz after: $body" ;; esac
echo ok
