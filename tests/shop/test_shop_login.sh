#!/usr/bin/env bash
# Integration: the shop's staff login (docs/shop.md "Staff login") on a real `paygate shop`
# process (port 0; its platform is not needed and not there). The first start makes login admin
# with its password only in a 0600 file (Argon2id in the database, never in a log); every staff
# page without a session goes to the login page and every staff form answers 401; a wrong
# password says how many tries are left; 50 parallel wrong tries check at most the limit
# (the rest 423, unchecked) and the right password after them is refused too; `paygate shop
# staff` adds a courier, who opens the courier page only, and sets a new password (the first
# admin's file goes, its sessions end); a form without the session's CSRF token is refused;
# logout ends the session; no page may be framed; under TLS the session cookie is Secure.
# usage: test_shop_login.sh <paygate binary>
set -euo pipefail
source "$(dirname "$0")/../lib/demo.sh"
bin=$1
test_tmpdir shoplogin
pid=
trap 'rc=$?; [ -z "$pid" ] || { kill -TERM $pid 2>/dev/null; wait $pid || true; }; test_finish $rc' EXIT
fail() {
  echo "FAIL: $*"
  echo "the shop's output, $dir/shop.out, ends:"
  tail -20 "$dir/shop.out" || true
  exit 1
}
has() { grep -q -- "$2" <<<"$1"; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
data=$dir/data
"$bin" platform keygen --out "$dir/shop.key" >/dev/null
start() {
  rm -f "$dir/url"
  "$bin" shop --data-dir "$data" --platform-url http://127.0.0.1:9 --merchant-id shop \
    --key-file "$dir/shop.key" --platform-key "$(head -c 32 /dev/zero | base64)" \
    --listen 127.0.0.1:0 --print-url-file "$dir/url" "$@" >>"$dir/shop.out" 2>&1 &
  pid=$!
  for _ in $(seq 1200); do
    [ -s "$dir/url" ] && break
    kill -0 $pid 2>/dev/null || fail "the shop exited"
    sleep 0.1
  done
  S=$(cat "$dir/url")
}

# 0. a bad staff_from is refused before anything starts
rc=0
"$bin" shop --data-dir "$data" --platform-url http://127.0.0.1:9 --merchant-id shop \
  --key-file "$dir/shop.key" --staff-from everywhere >"$dir/bad.out" 2>&1 || rc=$?
[ $rc = 2 ] && has "$(cat "$dir/bad.out")" 'staff_from: loopback or any' || fail "--staff-from everywhere not refused"

# 1. the first start makes the first admin: its password in a 0600 file only
start
f=$data/shop-admin.txt
[ "$(stat -c %a "$f")" = 600 ] || fail "shop-admin.txt is $(stat -c %a "$f"), not 600"
pw=$(sed -n 's/^password //p' "$f")
[ ${#pw} -ge 20 ] || fail "the first admin's password is short: ${#pw}"
has "$(cat "$dir/shop.out")" "login admin, its password in $f" || fail "the shop did not say where the password is"
! grep -qF "$pw" "$dir/shop.out" || fail "the password is in the shop's output"
hash=$(sqlite3 "$data/shop.db" "SELECT password_hash FROM staff WHERE login = 'admin'")
case $hash in '$argon2id$'*) ;; *) fail "the stored password is not an Argon2id hash: $hash" ;; esac

# 2. without a session: pages go to the login page, forms are refused
for p in /admin /admin/books /courier; do
  [ "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$S$p")" = "303 $S/admin/login" ] ||
    fail "$p without a session did not go to the login page"
done
for p in /admin/orders/S1/refund /admin/orders/S1/ship /courier/orders/S1/delivered /admin/logout; do
  [ "$(code -d csrf=x "$S$p")" = 401 ] || fail "POST $p without a session was not 401"
done
page=$(curl -s -D "$dir/h" "$S/admin/login")
has "$page" '<html lang="zh-CN">' || fail "the login page is not in Chinese by default"
has "$page" '<h1>员工登录</h1>' || fail "no Chinese heading on the login page"
has "$(curl -s -H 'Accept-Language: en' "$S/admin/login")" '<h1>Staff login</h1>' || fail "no English login page"
has "$(cat "$dir/h")" "X-Frame-Options: DENY" || fail "the login page may be framed"
has "$(cat "$dir/h")" "frame-ancestors 'none'" || fail "the login page's CSP allows framing"
has "$(curl -s "$S/")" 'id="staff-login-link"' || fail "the shop's footer has no staff login link"
! has "$(curl -s "$S/")" 'href="/admin"' || fail "the public pages still link the admin"

# a login: the double-submit token (cookie = field), then the form; prints the status
t=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
login() { # JAR LOGIN PASSWORD [curl options]
  local jar=$1 l=$2 p=$3
  shift 3
  curl -s -c "$jar" -b "shop_login_csrf=$t" -o "$jar.page" -w '%{http_code}' "$@" \
    --data-urlencode "csrf=$t" --data-urlencode "login=$l" --data-urlencode "password=$p" "$S/admin/login"
}
[ "$(code -d "csrf=$t&login=admin" --data-urlencode "password=$pw" "$S/admin/login")" = 403 ] ||
  fail "a login without its token cookie was not refused"

# 3. `paygate shop staff`: a second admin (password from a file), a courier (made, printed once)
printf 'clerk-password-1\n' >"$dir/pw"
"$bin" shop staff --data-dir "$data" --login clerk --password-file "$dir/pw" >"$dir/staff.out" ||
  fail "shop staff --login clerk failed"
printf '[server]\ndata_dir = %s\n[shop]\nmerchant_id = shop\n' "$data" >"$dir/shop.ini" # the INI's data_dir
cpw=$("$bin" shop staff --config "$dir/shop.ini" --login courier1 --role courier | sed -n 's/.*: password //p')
[ ${#cpw} -ge 20 ] || fail "no password printed for the courier"
rc=0
"$bin" shop staff --data-dir "$data" --login Bad! --password-file "$dir/pw" >/dev/null 2>&1 || rc=$?
[ $rc = 1 ] || fail "a bad login name was accepted"

# 4. a wrong password: refused, with the tries left
[ "$(login "$dir/w" clerk wrong-password)" = 401 ] || fail "a wrong password was not 401"
has "$(cat "$dir/w.page")" '用户名或密码错误，还可尝试 4 次' || fail "no tries left on the page"
[ "$(login "$dir/w" clerk wrong-password -H 'Accept-Language: en')" = 401 ] || fail "a wrong password was not 401"
has "$(cat "$dir/w.page")" 'wrong user name or password; 3 attempts left' || fail "no tries left in English"
[ "$(login "$dir/w" nobody wrong-password -H 'Accept-Language: en')" = 401 ] || fail "an unknown login was not 401"
has "$(cat "$dir/w.page")" 'wrong user name or password; 4 attempts left' || fail "an unknown login answers otherwise"

# 5. 50 parallel wrong tries: at most the 3 left are checked (401), the rest refused unchecked
#    (423); then the right password is refused as well
seq 50 | xargs -P 50 -I{} curl -s -o /dev/null -w '%{http_code}\n' -b "shop_login_csrf=$t" \
  --data-urlencode "csrf=$t" -d login=clerk -d "password=wrong-{}" "$S/admin/login" >"$dir/codes"
checked=$(grep -c '^401$' "$dir/codes" || true)
locked=$(grep -c '^423$' "$dir/codes" || true)
# the try that reached the limit answers 423 with the lock it set: 2 x 401 and 48 x 423
[ "$checked" = 2 ] && [ "$locked" = 48 ] ||
  fail "50 parallel wrong tries: $checked checked (401), $locked locked (423): $(sort "$dir/codes" | uniq -c)"
[ "$(login "$dir/w" clerk clerk-password-1)" = 423 ] || fail "the right password after the limit was not refused"
has "$(cat "$dir/w.page")" '已锁定\|锁定' || fail "the locked page does not say so"
[ "$(sqlite3 "$data/shop.db" "SELECT seq - forgiven_seq FROM staff_attempts WHERE subject = 'staff:clerk'")" = 5 ] ||
  fail "the attempt guard did not count exactly 5 tries"

# 6. the courier: the courier page only
[ "$(login "$dir/c" courier1 "$cpw")" = 303 ] || fail "the courier's login failed"
grep -q 'shop_staff' "$dir/c" || fail "no session cookie"
[ "$(curl -s -b "$dir/c" -o /dev/null -w '%{http_code}' "$S/courier")" = 200 ] || fail "the courier page refused the courier"
! has "$(curl -s -b "$dir/c" "$S/courier")" 'id="nav-admin"' || fail "the courier is shown the admin"
for p in /admin /admin/books; do
  [ "$(curl -s -b "$dir/c" -o /dev/null -w '%{http_code}' "$S$p")" = 403 ] || fail "the courier opened $p"
done

# 7. the admin: session cookie HttpOnly, SameSite=Strict; CSRF on every form
[ "$(login "$dir/a" admin "$pw" -D "$dir/ah")" = 303 ] || fail "the first admin's login failed"
has "$(cat "$dir/ah")" 'Location: /admin' || fail "the admin did not go to /admin"
has "$(grep -i '^set-cookie: shop_staff=' "$dir/ah")" 'HttpOnly; SameSite=Strict' || fail "the session cookie is not HttpOnly and Strict"
page=$(curl -s -b "$dir/a" "$S/admin")
k=$(sed -n 's/.*id="logout"><input type="hidden" name="csrf" value="\([^"]*\)".*/\1/p' <<<"$page")
[ ${#k} -ge 40 ] || fail "the admin page has no logout form with the CSRF token"
has "$page" 'id="staff-who">admin' || fail "the admin page does not say who is logged in"
[ "$(curl -s -b "$dir/a" -o "$dir/p" -w '%{http_code}' -d collected=1.00 "$S/courier/orders/S1/delivered")" = 403 ] ||
  fail "a form without the CSRF token was not refused"
has "$(cat "$dir/p")" CSRF_INVALID || fail "the refusal does not name CSRF_INVALID"
[ "$(curl -s -b "$dir/a" -o /dev/null -w '%{http_code}' -d "csrf=$k" -d collected=1.00 "$S/courier/orders/S1/delivered")" = 404 ] ||
  fail "a form with the CSRF token did not reach the order"
[ "$(curl -s -b "$dir/a" -o /dev/null -w '%{http_code}' -H 'Origin: http://evil.example' -d "csrf=$k" "$S/admin/orders/S1/refund")" = 403 ] ||
  fail "another site's form was not refused"

# 8. logout ends the session
[ "$(curl -s -b "$dir/a" -o /dev/null -w '%{http_code} %{redirect_url}' -d "csrf=$k" "$S/admin/logout")" = "303 $S/admin/login" ] ||
  fail "logout did not go to the login page"
[ "$(curl -s -b "$dir/a" -o /dev/null -w '%{http_code}' "$S/admin")" = 303 ] || fail "the session outlived its logout"

# 9. a new password for admin: the file goes, the old password and its sessions end
[ "$(login "$dir/a2" admin "$pw")" = 303 ] || fail "the admin's second login failed"
printf 'new-admin-password\n' | "$bin" shop staff --data-dir "$data" --login admin --password-file - >"$dir/staff.out" ||
  fail "shop staff --login admin failed"
[ ! -e "$f" ] || fail "shop-admin.txt outlived the password it held"
[ "$(curl -s -b "$dir/a2" -o /dev/null -w '%{http_code}' "$S/admin")" = 303 ] || fail "a session outlived its password"
[ "$(login "$dir/a3" admin "$pw")" = 401 ] || fail "the old password still opens"
[ "$(login "$dir/a3" admin new-admin-password)" = 303 ] || fail "the new password does not open"
kill -TERM $pid
wait $pid || fail "the shop did not stop cleanly"
pid=

# 10. a restart keeps the accounts: no new first admin
start
[ ! -e "$f" ] || fail "a restart made a first admin again"
[ "$(login "$dir/a4" admin new-admin-password)" = 303 ] || fail "the account did not survive a restart"
! grep -rqF -e "$pw" -e "$cpw" -e new-admin-password -e clerk-password-1 "$dir/shop.out" ||
  fail "a password is in the shop's output"
# 11. under TLS the session cookie is Secure too (docs/shop.md "Staff login")
kill -TERM $pid
wait $pid || fail "the shop did not stop cleanly"
pid=
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -days 1 -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null ||
  fail "openssl could not make a certificate"
start --tls-cert "$dir/tls.crt" --tls-key "$dir/tls.key"
case $S in https://*) ;; *) fail "the shop does not serve TLS: $S" ;; esac
[ "$(login "$dir/a5" admin new-admin-password --cacert "$dir/tls.crt" -D "$dir/th")" = 303 ] ||
  fail "the login over TLS failed"
has "$(grep -i '^set-cookie: shop_staff=' "$dir/th")" 'Secure' || fail "the session cookie over TLS is not Secure"
echo "shop login test passed"
