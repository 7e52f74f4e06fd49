#!/usr/bin/env bash
# Integration: a merchant written from docs/ alone, in Python (tests/integration/
# merchant_client.py), against a real sandbox bank and platform set up with the documented
# commands: the bank's contract with the platform (`paygate bank merchant add`) and the
# platform's [bank.icbc] section (docs/platform.md, "Banks"), a consumer and their wallet money
# (`consumer add`, `wallet credit`), two merchants onboarded with `platform merchant add` and
# keys the client made itself (Ed25519 and RSA), paid out T+1 to accounts at the bank
# (docs/settlement.md), and the first merchant's own contract with the bank (docs/bank.md).
# The platform runs on the test clock, so the notification retry, expiry, escrow confirmation
# and settlement runs are reached by moving time. Afterwards both servers stop cleanly and
# both ledgers verify clean (`paygate ledger verify`).
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
source "$here/../lib/server.sh"

# 1. the sandbox bank, with the platform's contract (the platform is its merchant PAYGATE)
"$bin" bank merchant add --data-dir "$dir/bank" --code icbc --bin 622202 --fast-hash \
  --mer-id PAYGATE --name PayGate --referrer-domain 127.0.0.1 --notify-domain 127.0.0.1 \
  --out "$dir/pf-at-icbc" >"$dir/setup.log" 2>&1 || { cat "$dir/setup.log"; fail "bank merchant add"; }
mer_acct=$(sed -n 's/.*"merAcct" *: *"\([^"]*\)".*/\1/p' "$dir/pf-at-icbc/merchant.json")
[ -n "$mer_acct" ] || fail "merchant.json has no merAcct: $(cat "$dir/pf-at-icbc/merchant.json")"
# the platform's reserve there pays merchants out (docs/settlement.md); the bank's operator
# deposits ¥100,000 into it that the platform never booked: the bank holds more than the
# platform's books, which must still bound every payout
"$bin" bank deposit --data-dir "$dir/bank" --account "$mer_acct" --amount 10000000 \
  >>"$dir/setup.log" 2>&1 || { cat "$dir/setup.log"; fail "bank deposit"; }
# tea's own contract with the bank, for paying directly there (docs/integration.md §8)
"$bin" bank merchant add --data-dir "$dir/bank" --mer-id TEA0001 --name "Tea Shop" \
  --referrer-domain 127.0.0.1 --notify-domain 127.0.0.1 --out "$dir/tea-at-icbc" \
  >>"$dir/setup.log" 2>&1 || { cat "$dir/setup.log"; fail "bank merchant add TEA0001"; }
# bank_account NAME PHONE: a new customer's deposit account at the bank; prints acct_…
bank_account() {
  "$bin" bank customer add --data-dir "$dir/bank" --name "$1" --phone "$2" >"$dir/customer.out" \
    2>>"$dir/setup.log" || { cat "$dir/setup.log" >&2; fail "bank customer add" >&2; }
  local customer
  customer=$(grep -o 'cus_[0-9A-Z]*' "$dir/customer.out" | head -1)
  [ -n "$customer" ] || fail "customer add printed no cus_: $(cat "$dir/customer.out")" >&2
  "$bin" bank account add --data-dir "$dir/bank" --customer "$customer" >"$dir/account.out" \
    2>>"$dir/setup.log" || { cat "$dir/setup.log" >&2; fail "bank account add" >&2; }
  sed -n 's/^account \(acct_[0-9A-Z]*\).*/\1/p' "$dir/account.out" | grep . ||
    fail "account add printed no account: $(cat "$dir/account.out")" >&2
}
# the merchants' own accounts at the bank, where their settlements are paid
tea_acct=$(bank_account "Tea Shop" 13900000001)
cup_acct=$(bank_account "Cup Shop" 13900000002)
"$bin" bank serve --data-dir "$dir/bank" --code icbc --bin 622202 --name 中国工商银行 \
  --name-en ICBC --demo-data --listen 127.0.0.1:0 --print-url-file "$dir/bank.url" \
  >"$dir/bank.log" 2>&1 &
bank_pid=$!
wait_url_file "$bank_pid" "$dir/bank.url" "$dir/bank.log"
bank=$(cat "$dir/bank.url")

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
# (both are paid out T+1 to their accounts at the bank; cup signs with RSA, PAYGATE-RSA-SHA256)
for m in tea cup; do
  opts=(--settle-bank icbc --settle-account "$tea_acct") rsa=
  [ $m = cup ] && opts=(--settle-bank icbc --settle-account "$cup_acct") rsa=--rsa
  python3 -B "$here/merchant_client.py" keygen "$dir/$m.key" $rsa || fail "keygen $m"
  "$bin" platform merchant add --data-dir "$pfdir" --id "$m" --name "$m shop" \
    --public-key-file "$dir/$m.key.pub" --notify-host 127.0.0.1 --fee-bp 60 \
    --allow-private-hosts "${opts[@]}" >>"$dir/setup.log" 2>&1 ||
    { cat "$dir/setup.log"; fail "merchant add $m"; }
done

"$bin" platform --config "$dir/platform.ini" --data-dir "$pfdir" --listen 127.0.0.1:0 \
  --print-url-file "$dir/pf.url" >"$dir/platform.log" 2>&1 &
pf_pid=$!
wait_url_file "$pf_pid" "$dir/pf.url" "$dir/platform.log"
platform=$(cat "$dir/pf.url")

# 4. the merchant's run
python3 -B "$here/merchant_client.py" run --platform "$platform" --bank "$bank" \
  --merchant tea --key "$dir/tea.key" --other-merchant cup --other-key "$dir/cup.key" \
  --consumer 13800000001 --password demo-pass-1 --pay-password 123456 \
  --settle-account "$cup_acct" --tea-account "$tea_acct" --bank-merchant-dir "$dir/tea-at-icbc" ||
  fail "the merchant client failed (platform log: $dir/platform.log, bank log: $dir/bank.log)"

# 5. both servers stop cleanly and their ledgers verify clean
stop "$pf_pid" || fail "the platform exited with $?"
pf_pid=
stop "$bank_pid" || fail "the bank exited with $?"
bank_pid=
"$bin" ledger verify "$pfdir/platform.db" || fail "the platform's ledger does not verify"
"$bin" ledger verify "$dir/bank/bank.db" || fail "the bank's ledger does not verify"
echo "ok: the merchant client written from docs/ passed; both ledgers verify clean"
