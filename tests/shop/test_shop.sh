#!/usr/bin/env bash
# Integration: the shop on the real chain (`paygate demo`: two banks, the platform, the shop).
# A consumer buys through the platform's cashier (wallet) and directly at the shop's bank
# (card, password, SMS code, confirm); each order becomes "paid" once (the admin page counts
# fulfilments); a forged notification is refused and changes nothing; both orders are
# refunded from the admin page behind the staff login (the demo's first admin from its 0600
# file, never in a log; no session, no CSRF token or another site's form refused); a shop
# whose notifications cannot arrive marks its order paid through the query fallback of the
# order page; logout ends the session. usage: test_shop.sh <paygate binary>
set -euo pipefail
# pages are piped into `grep >/dev/null`, not `grep -q`: under pipefail, grep -q leaving at its
# first match can kill curl with SIGPIPE while it still writes, and the check then fails
source "$(dirname "$0")/../lib/demo.sh"
source "$(dirname "$0")/../lib/server.sh"
bin=$1
demo_vars
pid2=
trap 'rc=$?; for p in $pid $pid2; do kill -TERM $p 2>/dev/null && wait $p; done; test_finish $rc' EXIT
jar=$dir/jar
fail() {
  echo "FAIL: $*"
  echo "the shop's log, $dir/data/logs/shop.log, ends:"
  tail -20 "$dir/data/logs/shop.log" || true
  exit 1
}
c() { curl -s -c "$jar" -b "$jar" "$@"; }
csrf() { sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1; }
field() { sed -n "s/.*name=\"$1\" value=\"\\([^\"]*\\)\".*/\\1/p" | head -1; }
wait_state() { # order state
  for _ in $(seq 100); do c "$S/orders/$1" | grep "id=\"order-state\" class=\"state state-$2\"" >/dev/null && return 0; sleep 0.2; done
  fail "order $1 never became $2"
}

demo_start "$bin" "$dir" || { pid=$demo_pid; fail "demo not ready"; }
pid=$demo_pid
S=$SHOP P=$PLATFORM B=$BANK0

# 0. the pages' language (docs/i18n.md): Chinese without Accept-Language, English with it,
#    and the switch's cookie beats the header; the demo's banks carry their own names
has() { grep -q -- "$2" <<<"$1"; } # (not `curl | grep -q`: pipefail and SIGPIPE)
page=$(curl -s "$S/")
has "$page" '<html lang="zh-CN">' || fail "the catalogue is not in Chinese by default"
has "$page" '<h1>商品目录</h1>' || fail "no Chinese heading"
has "$page" 'data-amount="68.00">¥68.00<' || fail "no ¥ price"
has "$(curl -s -H 'Accept-Language: en-US,en;q=0.9' "$S/")" '<h1>Catalogue</h1>' ||
  fail "Accept-Language: en did not give English"
has "$(curl -s -D - -o /dev/null "$S/lang/en?back=%2Fcart" | tr -d '\r')" '^Location: /cart$' ||
  fail "the switch does not go back"
has "$(curl -s -b 'lang=en' -H 'Accept-Language: zh-CN' "$S/cart")" '<h1>Your cart</h1>' ||
  fail "the lang cookie does not beat Accept-Language"
has "$(curl -s "$B/b2c/page")" '<header><span class="brand">网上银行</span>' ||
  fail "the bank's error page is not in Chinese"
has "$(curl -s "$B/admin")" 'id="bank-name">中国工商银行<' || fail "the demo bank has no name"
has "$(curl -s -H 'Accept-Language: en' "$B/admin")" 'id="bank-name">ICBC<' ||
  fail "the demo bank has no English name"
has "$(curl -s "$B/brand.css")" '--brand: #c7000b' || fail "the demo bank has no colour"

# 1. two products, paid through the platform's cashier by wallet
c -d product=tea "$S/cart/add" -o /dev/null
c -d product=cup "$S/cart/add" -o /dev/null
c "$S/cart" | grep 'cart-total" data-amount="103.00">¥103.00' >/dev/null || fail "cart total"
loc=$(c -d method=platform "$S/checkout" -o /dev/null -w '%{redirect_url}')
case $loc in "$P/cashier/tr_"*) ;; *) fail "checkout did not go to the cashier: $loc" ;; esac
o1=$(c "$S/orders" | grep -o 'row-S[0-9A-Za-z]*' | head -1); o1=${o1#row-}
t=$(c "$loc" | csrf)
c --data-urlencode "csrf=$t" -d login=13800000001 --data-urlencode password=demo-pass-1 "$loc/login" -o /dev/null
t=$(c "$loc" | csrf)
c --data-urlencode "csrf=$t" -d pay_password=123456 "$loc/pay/wallet" -o /dev/null
wait_state "$o1" paid

# 2. a forged notification is refused and changes nothing
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  -H 'Paygate-Signature: PAYGATE-ED25519 keyId="paygate-platform", ts="1", nonce="aaaaaaaaaaaaaaaa", sig="AAAA"' \
  --data "{\"event\":\"trade.state\",\"notify_id\":\"nt_x\",\"trade\":{\"out_trade_no\":\"$o1\"}}" "$S/notify/platform")
[ "$code" = 400 ] || fail "forged notification answered $code"

# 3. one product, paid directly at the shop's bank
c -d product=pot "$S/cart/add" -o /dev/null
page=$(c -d method=bank "$S/checkout")
o2=$(c "$S/orders" | grep -o 'row-S[0-9A-Za-z]*' | head -1); o2=${o2#row-}
[ "$o2" != "$o1" ] || fail "no second order"
args=()
for f in interfaceName interfaceVersion tranData merSignMsg merCert; do
  v=$(printf '%s' "$page" | field "$f"); [ -n "$v" ] || fail "form field $f missing"
  args+=(--data-urlencode "$f=$v")
done
page=$(c -H "Referer: $S/checkout" "${args[@]}" "$B/b2c/pay")
echo "$page" | grep -q 'data-page="card"' || fail "bank refused the order form: $(echo "$page" | head -c 300)"
page=$(c --data-urlencode "csrf=$(echo "$page" | csrf)" -d cardNo=6222020000000015 "$B/b2c/card")
page=$(c --data-urlencode "csrf=$(echo "$page" | csrf)" -d password=123456 "$B/b2c/password")
sms=$(curl -s "$B/sandbox/sms?format=json" | grep -o '"code":"[0-9]\{6\}"' | head -1 | grep -o '[0-9]\{6\}')
[ -n "$sms" ] || fail "no SMS code"
page=$(c --data-urlencode "csrf=$(echo "$page" | csrf)" -d smsCode="$sms" "$B/b2c/sms")
echo "$page" | grep -q 'data-page="confirm"' || fail "no confirm page"
c --data-urlencode "csrf=$(echo "$page" | csrf)" "$B/b2c/confirm" -o /dev/null
wait_state "$o2" paid

# 4. each order fulfilled exactly once (the admin's pages need the staff login: docs/shop.md)
[ "$(c "$S/admin" -o /dev/null -w '%{http_code} %{redirect_url}')" = "303 $S/admin/login" ] ||
  fail "the admin page without a session did not go to the login"
grep -q '^password ' "$dir/data/shop/shop-admin.txt" || fail "the demo shop wrote no first admin"
grep -qF "shop staff      $S/admin/login  (login admin, password in $dir/data/shop/shop-admin.txt)" "$dir/out" ||
  fail "the demo's banner does not say where the shop admin's password is"
[ "$(stat -c %a "$dir/data/shop/shop-admin.txt")" = 600 ] || fail "shop-admin.txt is not 0600"
! grep -rqF "$(sed -n 's/^password //p' "$dir/data/shop/shop-admin.txt")" "$dir/data/logs" "$dir/out" ||
  fail "the shop admin's password is in a log"
k=$(shop_staff_login "$S" "$jar" "$dir/data/shop") || fail "the staff login failed"
admin=$(c "$S/admin")
for o in "$o1" "$o2"; do
  echo "$admin" | grep -o "id=\"row-$o\".*" | sed 's/<\/tr>.*//' | grep -q 'class="fulfilments">1<' || fail "$o not fulfilled exactly once"
done

# 5. refunds from the admin page, through the platform and through the bank
code=$(c -H 'Origin: http://evil.example' -d "csrf=$k" "$S/admin/orders/$o1/refund" -o /dev/null -w '%{http_code}')
[ "$code" = 403 ] || fail "cross-site refund post answered $code"
code=$(c -H "Origin: $S" -d confirm=1 -d seq=1 "$S/admin/orders/$o1/refund" -o /dev/null -w '%{http_code}')
[ "$code" = 403 ] || fail "a refund without the CSRF token answered $code"
code=$(curl -s -H "Origin: $S" -d "csrf=$k" -d confirm=1 -d seq=1 "$S/admin/orders/$o1/refund" -o /dev/null -w '%{http_code}')
[ "$code" = 401 ] || fail "a refund without a session answered $code"
for o in "$o1" "$o2"; do
  # the refund button shows a confirmation page first; nothing moves until it is confirmed
  page=$(c -H "Origin: $S" -d "csrf=$k" "$S/admin/orders/$o/refund")
  has "$page" 'data-page="refund_confirm"' || fail "no confirmation page for the refund of $o"
  has "$page" "name=\"csrf\" value=\"$k\"" || fail "the confirmation form lacks the CSRF token"
  c "$S/orders/$o" | grep 'data-state="paid"' >/dev/null || fail "$o refunded before the confirmation"
  code=$(c -H "Origin: $S" -d "csrf=$k" -d confirm=1 -d seq=1 "$S/admin/orders/$o/refund" -o /dev/null -w '%{http_code}')
  [ "$code" = 303 ] || fail "refund of $o answered $code"
  wait_state "$o" refunded
done
c -d "csrf=$k" "$S/admin/orders/$o1/refund" -o /dev/null -w '%{http_code}' | grep -q 409 || fail "second refund not refused"
# the admin page shows the shop's balance at the platform (GET /v1/balance via the SDK): the
# platform-paid order was refunded in full, fee included
c "$S/admin" | grep '<tr data-currency="CNY"><td>CNY</td><td class="available" data-amount="0.00">' >/dev/null ||
  fail "admin page lacks the platform balance 0.00"
# 6. the query fallback: a second shop process (same platform merchant, no bank) whose
#    notify URL is unreachable; its order page asks the platform and marks the order paid
"$bin" shop --data-dir "$dir/shop2" --listen 127.0.0.1:0 --print-url-file "$dir/shop2.url" \
  --public-url http://127.0.0.1:9 --platform-url "$P" --merchant-id shop \
  --key-file "$dir/data/shop/shop.key" >"$dir/shop2.log" 2>&1 &
pid2=$!
wait_url_file $pid2 "$dir/shop2.url" "$dir/shop2.log"
S2=$(cat "$dir/shop2.url")
jar2=$dir/jar2
c2() { curl -s -c "$jar2" -b "$jar2" "$@"; }
c2 -d product=fan "$S2/cart/add" -o /dev/null
loc=$(c2 -d method=platform "$S2/checkout" -o /dev/null -w '%{redirect_url}')
o3=$(c2 "$S2/orders" | grep -o 'row-S[0-9A-Za-z]*' | head -1); o3=${o3#row-}
t=$(c2 "$loc" | csrf)
c2 --data-urlencode "csrf=$t" -d login=13800000001 --data-urlencode password=demo-pass-1 "$loc/login" -o /dev/null
t=$(c2 "$loc" | csrf)
c2 --data-urlencode "csrf=$t" -d pay_password=123456 "$loc/pay/wallet" -o /dev/null
c2 "$S2/orders/$o3" | grep 'id="order-state" class="state state-paid"' >/dev/null || fail "query fallback did not mark $o3 paid"
shop_staff_login "$S2" "$jar2" "$dir/shop2" >/dev/null || fail "the staff login of the second shop failed"
c2 "$S2/admin" | grep -o "id=\"row-$o3\".*" | sed 's/<\/tr>.*//' | grep -q 'class="via" data-via="query">' || fail "$o3 not marked paid by the query"
# 7. logout ends the session: its cookie opens nothing any more
k=$(c "$S/admin" | sed -n 's/.*id="logout"><input type="hidden" name="csrf" value="\([^"]*\)".*/\1/p')
cp "$jar" "$dir/jar.old"
[ "$(c -H "Origin: $S" -d "csrf=$k" "$S/admin/logout" -o /dev/null -w '%{http_code} %{redirect_url}')" = "303 $S/admin/login" ] ||
  fail "logout did not go to the login page"
[ "$(curl -s -b "$dir/jar.old" "$S/admin" -o /dev/null -w '%{http_code}')" = 303 ] ||
  fail "the session still opens the admin after logout"
kill -TERM $pid2
wait $pid2 || fail "second shop did not stop cleanly"
pid2=
echo "shop test passed"
