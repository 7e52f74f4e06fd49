#!/usr/bin/env bash
# Integration: the TLS a paygate server offers (docs/http.md, "TLS"). `openssl s_client`,
# with its own security level lowered so that it would take anything, probes a platform and a
# bank serving HTTPS with their default priorities: TLS 1.0 and 1.1, static-RSA key exchange
# (AES128-SHA, AES256-GCM-SHA384) and CBC suites (ECDHE-RSA-AES128-SHA) are refused; TLS 1.2
# with ECDHE and AES-GCM or ChaCha20-Poly1305, and TLS 1.3, are accepted; and the server's
# order wins over a client that prefers AES-128. The same probes against a server told
# `--tls-priorities NORMAL` (GnuTLS's defaults, what paygate offered before) find all of the
# weak ones, so they can fail. A bad priority string is refused by --check-config. When
# Debian's testssl.sh is installed (scripts/deps.sh test installs it) it scans the default
# server too. Everything runs on 127.0.0.1; nothing leaves the machine.
# usage: test_http_tls.sh <paygate binary>
set -euo pipefail
bin=$1
source "$(dirname "$0")/../lib/tmp.sh"
test_tmpdir http-tls
pids=()
cleanup() {
  local rc=$1
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  test_finish "$rc"
}
trap 'cleanup $?' EXIT
fail() { echo "FAIL: $*"; exit 1; }

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null ||
  fail "openssl req"

# Starts `paygate <args>` in the background; sets $port once it has written the URL it bound
# to its URL file (the event: not its log, which the background job may not have created yet
# when this shell first looks). A bound only catches a server that hangs.
start() {
  local log=$1
  shift
  "$bin" "$@" --print-url-file "$dir/$log.url" >"$dir/$log.log" 2>&1 &
  pids+=($!)
  port=
  for _ in $(seq 1200); do
    [ -s "$dir/$log.url" ] && break
    kill -0 "${pids[-1]}" 2>/dev/null || fail "$log: the server exited (log: $dir/$log.log)"
    sleep 0.1
  done
  [ -s "$dir/$log.url" ] || fail "$log: no URL file after 120 s (log: $dir/$log.log)"
  port=$(sed -n 's|^https://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$dir/$log.url")
  [ -n "$port" ] || fail "$log: not an https URL: $(cat "$dir/$log.url")"
}

# probe PORT openssl-options...: prints "<protocol> <cipher>" of the handshake, or "refused".
probe() {
  local p=$1
  shift
  local out
  out=$(timeout 20 openssl s_client -connect "127.0.0.1:$p" -brief "$@" </dev/null 2>&1) || true
  local proto cipher
  proto=$(sed -n 's/^Protocol version: //p' <<<"$out")
  cipher=$(sed -n 's/^Ciphersuite: //p' <<<"$out")
  if [ -n "$proto" ] && [ -n "$cipher" ]; then echo "$proto $cipher"; else echo refused; fi
}

any='DEFAULT:@SECLEVEL=0' # the client takes anything: the server's choice is what is tested
weak=(
  "-tls1 -cipher $any"
  "-tls1_1 -cipher $any"
  "-tls1_2 -cipher AES128-SHA:@SECLEVEL=0"
  "-tls1_2 -cipher AES256-GCM-SHA384:@SECLEVEL=0"
  "-tls1_2 -cipher ECDHE-RSA-AES128-SHA:@SECLEVEL=0"
  "-tls1_2 -cipher ECDHE-RSA-AES256-SHA:@SECLEVEL=0"
)

# 1. the platform with its defaults
start platform platform --data-dir "$dir/pf" --listen 127.0.0.1:0 --tls-cert "$dir/cert.pem" \
  --tls-key "$dir/key.pem"
pf=$port
for w in "${weak[@]}"; do
  # shellcheck disable=SC2086 # the options are words
  r=$(probe "$pf" $w)
  [ "$r" = refused ] || fail "platform accepted $w: $r"
done
r=$(probe "$pf" -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256)
[ "$r" = "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256" ] || fail "TLS 1.2 ECDHE AES-128-GCM: $r"
r=$(probe "$pf" -tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305)
[ "$r" = "TLSv1.2 ECDHE-RSA-CHACHA20-POLY1305" ] || fail "TLS 1.2 ECDHE ChaCha20: $r"
r=$(probe "$pf" -tls1_3)
[ "${r%% *}" = "TLSv1.3" ] || fail "TLS 1.3: $r"
# the client prefers AES-128; the server's order puts AES-256 first
r=$(probe "$pf" -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384)
[ "$r" = "TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384" ] || fail "TLS 1.2 server order: $r"
r=$(probe "$pf" -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384)
[ "$r" = "TLSv1.3 TLS_AES_256_GCM_SHA384" ] || fail "TLS 1.3 server order: $r"

# 2. the bank takes the same [server] settings
start bank bank --data-dir "$dir/bank" --fast-hash --listen 127.0.0.1:0 \
  --tls-cert "$dir/cert.pem" --tls-key "$dir/key.pem"
for w in "${weak[@]}"; do
  # shellcheck disable=SC2086
  r=$(probe "$port" $w)
  [ "$r" = refused ] || fail "bank accepted $w: $r"
done
r=$(probe "$port" -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384)
[ "$r" = "TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384" ] || fail "bank TLS 1.2: $r"

# 3. the probes see weak TLS where it is offered: GnuTLS's own defaults
start normal platform --data-dir "$dir/pf2" --listen 127.0.0.1:0 --tls-cert "$dir/cert.pem" \
  --tls-key "$dir/key.pem" --tls-priorities NORMAL
for w in "${weak[@]}"; do
  # shellcheck disable=SC2086
  r=$(probe "$port" $w)
  [ "$r" != refused ] || fail "the probe '$w' finds nothing even on NORMAL: it cannot fail"
done
r=$(probe "$port" -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384)
[ "$r" = "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256" ] || fail "NORMAL follows the client: $r"

# 4. a priority string GnuTLS cannot read is refused before anything starts
set +e
"$bin" platform --tls-priorities 'SECURE128:+NO-SUCH-CIPHER' --check-config >"$dir/out" 2>&1
rc=$?
set -e
[ $rc -eq 2 ] && grep -q 'tls_priorities.*NO-SUCH-CIPHER' "$dir/out" ||
  fail "bad tls_priorities: exit $rc, $(cat "$dir/out")"

# 5. testssl.sh on the default platform (when installed)
if command -v testssl >/dev/null 2>&1; then
  testssl --quiet --color 0 --warnings off --nodns none --protocols --std --server-preference --fs \
    --csvfile "$dir/testssl.csv" "127.0.0.1:$pf" >"$dir/testssl.out" 2>&1 ||
    { cat "$dir/testssl.out"; fail "testssl.sh did not run"; }
  # CSV rows: "id","host/ip","port","severity","finding","cve","cwe"
  finding() { awk -F'","' -v id="\"$1" '$1 == id { print $5 }' "$dir/testssl.csv"; }
  for id in SSLv2 SSLv3 TLS1 TLS1_1 cipherlist_NULL cipherlist_aNULL cipherlist_EXPORT \
    cipherlist_LOW cipherlist_3DES_IDEA cipherlist_AVERAGE; do
    [ "$(finding $id)" = "not offered" ] || fail "testssl: $id: $(finding $id)"
  done
  [ "$(finding cipher_order)" = server ] || fail "testssl: cipher order $(finding cipher_order)"
  [ "$(finding PFS)" = offered ] || fail "testssl: forward secrecy $(finding PFS)"
  for c in $(finding cipherorder_TLSv1_2); do
    case $c in
      ECDHE-*-GCM-* | ECDHE-*-CHACHA20-POLY1305) ;;
      *) fail "testssl: TLS 1.2 offers $c" ;;
    esac
  done
  echo "testssl.sh: $(finding cipherorder_TLSv1_2) | $(finding cipherorder_TLSv1_3)"
else
  echo "testssl.sh not installed: the openssl probes above are the check"
fi
echo ok
