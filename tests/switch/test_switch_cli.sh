#!/usr/bin/env bash
# Integration: the card network switch's command line, as an operator uses it (docs/switch.md,
# "Running it"). --help on every command; the commented etc/switch.example.ini passes
# --check-config and typos or out-of-range values fail naming the key; the offline commands
# admit, fund and list members and move BIN entries, refuse bad input naming the field and
# change nothing then (the balances `member list` prints are checked after each step); settle
# refuses a day that has not ended; the network's code is fixed by its first start and a new
# name replaces the stored one.
# usage: test_switch_cli.sh <paygate binary> <source root>
set -euo pipefail
bin=$(realpath "$1")
src=$2
source "$(dirname "$0")/../lib/tmp.sh"
source "$(dirname "$0")/../lib/server.sh"
test_tmpdir switch-cli
pid=
trap 'rc=$?; [ -n "$pid" ] && kill -TERM $pid 2>/dev/null; wait 2>/dev/null; test_finish $rc' EXIT
fail() { echo "FAIL: $*"; [ -f "$dir/err" ] && cat "$dir/err"; exit 1; }
sw=$dir/sw

# expect STATUS CMD...: runs `paygate switch CMD...` (stdout in $dir/out, stderr in $dir/err)
# and fails unless it exits with STATUS
expect() {
  local want=$1 rc=0
  shift
  "$bin" switch "$@" >"$dir/out" 2>"$dir/err" || rc=$?
  [ "$rc" -eq "$want" ] || fail "paygate switch $*: exit $rc, want $want"
}
# balance ACCOUNT: its line in `member list`
balance() {
  expect 0 member list --data-dir "$sw"
  awk -v a="$1" '$1 == a { print $2 }' "$dir/out"
}

# 1. --help on the command and on each subcommand, exit 0; an unknown command exits 2
expect 0 --help
cp "$dir/out" "$dir/help"
for c in 'serve' 'member add' 'member fund' 'member list' 'bin add' 'settle'; do
  grep -q "paygate switch $c" "$dir/help" || fail "--help does not list '$c'"
  # shellcheck disable=SC2086 # the command's words are separate arguments
  expect 0 $c --help
  grep -q "paygate switch $c" "$dir/out" || fail "'$c --help' does not show its usage"
done
expect 0 member add --help
grep -q -- '--roles ROLES' "$dir/out" || fail "'member add --help' does not list --roles"
expect 2 member frob --data-dir "$sw"
grep -q "unknown command 'member frob'" "$dir/err" || fail "unknown command not named"

# 2. the example configuration checks clean and opens nothing; typos and bad values do not
expect 0 serve --config "$src/etc/switch.example.ini" --data-dir "$sw" --check-config
[ ! -e "$sw" ] || fail "--check-config created the data dir"
sed 's/^issuer_timeout =/issuer_timout =/' "$src/etc/switch.example.ini" >"$dir/typo.ini"
grep -q '^issuer_timout' "$dir/typo.ini" || fail "typo not made"
expect 2 serve --config "$dir/typo.ini" --data-dir "$sw" --check-config
grep -q 'typo.ini:[0-9]*: \[switch\] issuer_timout' "$dir/err" || fail "typo: key not named"
sed 's/^interchange_bp = 50/interchange_bp = 1001/' "$src/etc/switch.example.ini" >"$dir/bp.ini"
expect 2 serve --config "$dir/bp.ini" --data-dir "$sw" --check-config
grep -q 'interchange_bp' "$dir/err" || fail "interchange_bp 1001 not refused by name"
sed 's/^issuer_timeout = 8s/issuer_timeout = 11s/' "$src/etc/switch.example.ini" >"$dir/to.ini"
expect 2 serve --config "$dir/to.ini" --data-dir "$sw" --check-config
grep -q 'issuer_timeout' "$dir/err" || fail "issuer_timeout 11s not refused by name"
expect 2 serve --data-dir "$sw" --network-fee-bp 05 --check-config
grep -q -- '--network-fee-bp: a whole number' "$dir/err" || fail "--network-fee-bp 05 accepted"
[ ! -e "$sw" ] || fail "a refused check created the data dir"

# 3. members: admitted with their folder (secrets 0600), funded, listed with their money
expect 0 member add --data-dir "$sw" --member icbc --name ICBC --roles issuer,acquirer \
  --bin 622202 --funds 100000 --out "$dir/icbc"
for f in member.key seal.key member.json; do
  [ "$(stat -c %a "$dir/icbc/$f")" = 600 ] || fail "$f is $(stat -c %a "$dir/icbc/$f"), want 600"
done
for f in member.crt switch.crt switch-ca.crt; do [ -s "$dir/icbc/$f" ] || fail "no $f"; done
[ "$(balance settle:icbc)" = 100000 ] || fail "settle:icbc after add: $(balance settle:icbc)"
[ "$(balance clear:icbc)" = 0 ] || fail "clear:icbc after add: $(balance clear:icbc)"
expect 0 member add --data-dir "$sw" --member ccb --name CCB --roles issuer --out "$dir/ccb"
[ "$(balance settle:ccb)" = 0 ] || fail "settle:ccb after add"

# bad input: exit 1, the field named, nothing written (no member folder, no money)
bad_add() { # FIELD ARGS...: member add with ARGS is refused naming FIELD
  local field=$1
  shift
  expect 1 member add --data-dir "$sw" --out "$dir/bad" "$@"
  grep -q "^paygate switch member add: .* field=$field$" "$dir/err" || fail "member add $*: $field not named"
  [ ! -e "$dir/bad" ] || fail "refused member add $* wrote its folder"
}
bad_add code --member icbc --name Again --roles issuer
bad_add code --member 'A!' --name X --roles issuer
bad_add roles --member boc --name BOC --roles boss
bad_add bin --member boc --name BOC --roles issuer --bin 1
bad_add funds --member boc --name BOC --roles issuer --funds -3
bad_add funds --member boc --name BOC --roles issuer --funds 1.50
expect 0 member list --data-dir "$sw"
if grep -q '^  boc ' "$dir/out"; then fail "a refused member was admitted"; fi
expect 2 member add --data-dir "$sw" --member boc --name BOC --roles issuer
grep -q -- '--out' "$dir/err" || fail "missing --out not named"

for a in -5 1.5 05 99999999999999999999 0; do
  expect 1 member fund --data-dir "$sw" --member icbc --amount "$a"
  grep -q 'field=amount$' "$dir/err" || fail "fund --amount $a: amount not named"
done
expect 1 member fund --data-dir "$sw" --member nobody --amount 5
grep -q 'NOT_FOUND: .* field=member$' "$dir/err" || fail "fund of an unknown member"
[ "$(balance settle:icbc)" = 100000 ] || fail "a refused fund moved money"
expect 0 member fund --data-dir "$sw" --member icbc --amount 250
grep -qx 'funded icbc with 250' "$dir/out" || fail "fund did not say what it did"
[ "$(balance settle:icbc)" = 100250 ] || fail "settle:icbc after fund: $(balance settle:icbc)"

# 4. the BIN table: the longest prefix names the issuer; a prefix moves to another member
expect 1 bin add --data-dir "$sw" --prefix 62 --member nobody
grep -q 'field=member$' "$dir/err" || fail "bin add to an unknown member"
expect 1 bin add --data-dir "$sw" --prefix 6x --member icbc
grep -q 'field=prefix$' "$dir/err" || fail "bin add 6x: prefix not named"
expect 0 bin add --data-dir "$sw" --prefix 621700 --member ccb
expect 0 bin add --data-dir "$sw" --prefix 622202 --member ccb
expect 0 member list --data-dir "$sw"
grep -Eq '^  621700 +ccb$' "$dir/out" && grep -Eq '^  622202 +ccb$' "$dir/out" ||
  fail "the BIN table after the move: $(cat "$dir/out")"

# 5. settlement by hand: only an ended business day (UTC), in YYYY-MM-DD
today=$(date -u +%F)
for d in "$today" 2099-01-01 2026-13-01 yesterday; do
  expect 1 settle --data-dir "$sw" --date "$d"
  grep -q 'field=date$' "$dir/err" || fail "settle --date $d: date not named"
done
expect 0 settle --data-dir "$sw" --date 2026-01-05
grep -qx '2026-01-05: nothing to settle (or settled before)' "$dir/out" || fail "settle of a quiet day"

# 6. the server: its code is fixed by the first start, a new name replaces the stored one
serve() { # runs the switch until it listens, then stops it; its startup line in $dir/line
  rm -f "$dir/url"
  "$bin" switch serve --data-dir "$sw" --listen 127.0.0.1:0 --print-url-file "$dir/url" "$@" \
    >"$dir/out" 2>"$dir/err" &
  pid=$!
  wait_url_file $pid "$dir/url" "$dir/err"
  curl -sf "$(cat "$dir/url")/healthz" >/dev/null || fail "switch /healthz"
  kill -TERM $pid
  wait $pid || fail "switch exited with $? on SIGTERM"
  pid=
  grep 'card network switch) listening on' "$dir/out" >"$dir/line" || fail "no startup line"
}
serve --name 'Net A'
grep -q '^Net A (cup, card network switch)' "$dir/line" || fail "first start: $(cat "$dir/line")"
serve
grep -q '^Net A (cup,' "$dir/line" || fail "the stored name was not kept: $(cat "$dir/line")"
serve --name 'Net B'
grep -q '^Net B (cup,' "$dir/line" || fail "a new name did not replace it: $(cat "$dir/line")"
expect 1 serve --data-dir "$sw" --listen 127.0.0.1:0 --code unionpay
grep -q 'belongs to the switch with code cup' "$dir/err" || fail "another code was accepted"
[ "$(balance settle:icbc)" = 100250 ] || fail "settle:icbc after the starts"
echo ok
