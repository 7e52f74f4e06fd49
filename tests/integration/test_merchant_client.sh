#!/usr/bin/env bash
# Integration: a merchant written from docs/ alone, in Python (tests/integration/
# merchant_client.py), against a real sandbox bank and platform set up with the documented
# commands: the bank's contract with the platform (`paygate bank merchant add`), the platform's
# [bank.icbc] section (docs/platform.md, "Banks"), a consumer and their wallet money
# (`consumer add`, `wallet credit`), two merchants onboarded with `platform merchant add` and
# keys the client made itself. The platform runs on the test clock so the notification retry
# is reached by moving time. Afterwards both ledgers verify clean (`paygate ledger verify`).
# usage: test_merchant_client.sh <paygate binary>
set -euo pipefail
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/tmp.sh"
test_tmpdir merchant-client
bank_pid= pf_pid=
stop() { # stop PID: SIGTERM and reap; a server must stop cleanly
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null || true
  wait "$1"
}
cleanup() {
  local rc=$1
  stop "$pf_pid" || true
  stop "$bank_pid" || true
  test_finish "$rc"
}
trap 'cleanup $?' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# wait_url PID FILE NAME: waits for a server to write the URL it bound (the event that says it
# listens), or to exit; bounded, so a hang fails instead of blocking the suite
wait_url() {
  local deadline=$((SECONDS + 120))
  while [ ! -s "$2" ]; do
    kill -0 "$1" 2>/dev/null || { cat "$dir/$3.log"; fail "$3 exited before it listened"; }
    [ $SECONDS -lt $deadline ] || { cat "$dir/$3.log"; fail "$3 did not listen within 120 s"; }
    sleep 0.1
  done
  cat "$2"
}

# 1. the sandbox bank, with the platform's contract (the platform is its merchant PAYGATE)
"$bin" bank merchant add --data-dir "$dir/bank" --code icbc --bin 622202 --fast-hash \
  --mer-id PAYGATE --name PayGate --referrer-domain 127.0.0.1 --notify-domain 127.0.0.1 \
  --out "$dir/pf-at-icbc" >"$dir/setup.log" 2>&1 || { cat "$dir/setup.log"; fail "bank merchant add"; }
mer_acct=$(sed -n 's/.*"merAcct" *: *"\([^"]*\)".*/\1/p' "$dir/pf-at-icbc/merchant.json")
[ -n "$mer_acct" ] || fail "merchant.json has no merAcct: $(cat "$dir/pf-at-icbc/merchant.json")"
"$bin" bank serve --data-dir "$dir/bank" --code icbc --bin 622202 --name 中国工商银行 \
  --name-en ICBC --demo-data --listen 127.0.0.1:0 --print-url-file "$dir/bank.url" \
  >"$dir/bank.log" 2>&1 &
bank_pid=$!
bank=$(wait_url "$bank_pid" "$dir/bank.url" bank)

# 2. the platform: the test clock, the sandbox SMS outbox, notify URLs on 127.0.0.1, the bank
cat >"$dir/platform.ini" <<INI
[server]
fake_clock = true
[platform]
banks = icbc
sandbox_sms = true
[notify]
allow_private_hosts = true
[bank.icbc]
name = 中国工商银行
name_en = ICBC
gateway_url = $bank
mer_id = PAYGATE
mer_acct = $mer_acct
key_file = $dir/pf-at-icbc/merchant.key
cert_file = $dir/pf-at-icbc/merchant.crt
bank_cert_file = $dir/bank/keys/sign.crt
ca_file = $dir/bank/keys/ca.crt
allow_private = true
INI
"$bin" platform --config "$dir/platform.ini" --check-config >>"$dir/setup.log" 2>&1 ||
  { cat "$dir/setup.log"; fail "platform --check-config"; }
pfdir=$dir/pf
"$bin" platform consumer add --data-dir "$pfdir" --login 13800000001 --password demo-pass-1 \
  --pay-password 123456 >>"$dir/setup.log" 2>&1 || { cat "$dir/setup.log"; fail "consumer add"; }
"$bin" platform wallet credit --data-dir "$pfdir" --consumer 13800000001 --amount 10000.00 \
  >>"$dir/setup.log" 2>&1 || { cat "$dir/setup.log"; fail "wallet credit"; }

# 3. two merchants, each with a key the client made (PEM, 0600), onboarded by the operator
for m in tea cup; do
  rsa=; [ $m = cup ] && rsa=--rsa # the other merchant signs with RSA (PAYGATE-RSA-SHA256)
  python3 -B "$here/merchant_client.py" keygen "$dir/$m.key" $rsa || fail "keygen $m"
  "$bin" platform merchant add --data-dir "$pfdir" --id "$m" --name "$m shop" \
    --public-key-file "$dir/$m.key.pub" --notify-host 127.0.0.1 --fee-bp 60 \
    --allow-private-hosts >>"$dir/setup.log" 2>&1 || { cat "$dir/setup.log"; fail "merchant add $m"; }
done

"$bin" platform --config "$dir/platform.ini" --data-dir "$pfdir" --listen 127.0.0.1:0 \
  --print-url-file "$dir/pf.url" >"$dir/platform.log" 2>&1 &
pf_pid=$!
platform=$(wait_url "$pf_pid" "$dir/pf.url" platform)

# 4. the merchant's run
python3 -B "$here/merchant_client.py" run --platform "$platform" --bank "$bank" \
  --merchant tea --key "$dir/tea.key" --other-merchant cup --other-key "$dir/cup.key" \
  --consumer 13800000001 --password demo-pass-1 --pay-password 123456 ||
  fail "the merchant client failed (platform log: $dir/platform.log, bank log: $dir/bank.log)"

# 5. both servers stop cleanly and their ledgers verify clean
stop "$pf_pid" || fail "the platform exited with $?"
pf_pid=
stop "$bank_pid" || fail "the bank exited with $?"
bank_pid=
"$bin" ledger verify "$pfdir/platform.db" || fail "the platform's ledger does not verify"
"$bin" ledger verify "$dir/bank/bank.db" || fail "the bank's ledger does not verify"
echo "ok: the merchant client written from docs/ passed; both ledgers verify clean"
