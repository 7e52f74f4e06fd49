#!/usr/bin/env bash
# Integration: the staff's audit trail (docs/shop.md "Staff audit trail") on a real `paygate
# shop` process (port 0; its platform is not needed and not there). The first admin made at
# start, an account made and a password changed with `paygate shop staff`, wrong passwords (a
# clerk's, an unknown login's, a name that is no login), a lockout and a try while locked, a
# login and a logout: each is a row of table staff_audit and of the admin page's #staff-audit
# (Chinese by default, English too), with the login tried; no password is in the database,
# the shop's output or the page.
# usage: test_shop_staff_audit.sh <paygate binary>
set -euo pipefail
source "$(dirname "$0")/../lib/tmp.sh"
bin=$1
test_tmpdir shopaudit
pid=
trap 'rc=$?; [ -z "$pid" ] || { kill -TERM $pid 2>/dev/null; wait $pid || true; }; test_finish $rc' EXIT
fail() {
  echo "FAIL: $*"
  echo "the shop's output, $dir/shop.out, ends:"
  tail -20 "$dir/shop.out" || true
  exit 1
}
has() { grep -q -- "$2" <<<"$1"; }
source "$(dirname "$0")/../lib/server.sh"
data=$dir/data
"$bin" platform keygen --out "$dir/shop.key" >/dev/null
rm -f "$dir/url"
"$bin" shop --data-dir "$data" --platform-url http://127.0.0.1:9 --merchant-id shop \
  --key-file "$dir/shop.key" --platform-key "$(head -c 32 /dev/zero | base64)" \
  --listen 127.0.0.1:0 --print-url-file "$dir/url" >>"$dir/shop.out" 2>&1 &
pid=$!
wait_url_file $pid "$dir/url" "$dir/shop.out"
S=$(cat "$dir/url")
pw=$(sed -n 's/^password //p' "$data/shop-admin.txt")
[ ${#pw} -ge 20 ] || fail "no first admin's password"

t=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
login() { # JAR LOGIN PASSWORD: the status of the login form's answer
  curl -s -c "$1" -b "shop_login_csrf=$t" -o "$1.page" -w '%{http_code}' \
    --data-urlencode "csrf=$t" --data-urlencode "login=$2" --data-urlencode "password=$3" "$S/admin/login"
}
# the rows of the audit table, oldest first: "action|login|source|detail"
rows() { sqlite3 -separator '|' "$data/shop.db" "SELECT action, login, source, detail FROM staff_audit ORDER BY seq"; }

# 1. an account and wrong tries: the clerk's, an unknown login's, a name that is no login
printf 'clerk-password-1\n' >"$dir/pw"
"$bin" shop staff --data-dir "$data" --login clerk --password-file "$dir/pw" >/dev/null ||
  fail "shop staff --login clerk failed"
[ "$(login "$dir/w" clerk wrong-secret-1)" = 401 ] || fail "a wrong password was not 401"
[ "$(login "$dir/w" nobody wrong-secret-2)" = 401 ] || fail "an unknown login was not 401"
[ "$(login "$dir/w" 'Not A Login!' wrong-secret-3)" = 401 ] || fail "a bad name was not 401"

# 2. the admin logs in, sees them on /admin (Chinese), logs out, logs in again
[ "$(login "$dir/a" admin "$pw")" = 303 ] || fail "the first admin's login failed"
page=$(curl -s -b "$dir/a" "$S/admin")
k=$(sed -n 's/.*id="logout"><input type="hidden" name="csrf" value="\([^"]*\)".*/\1/p' <<<"$page")
[ "$(curl -s -b "$dir/a" -o /dev/null -w '%{http_code}' -d "csrf=$k" "$S/admin/logout")" = 303 ] ||
  fail "logout failed"
[ "$(login "$dir/a" admin "$pw")" = 303 ] || fail "the admin's second login failed"

# 3. a new password for the clerk; then the lockout: four more wrong tries (the last locks),
#    and a try while locked (not checked)
printf 'clerk-password-2\n' | "$bin" shop staff --data-dir "$data" --login clerk --password-file - >/dev/null ||
  fail "shop staff: a new password for clerk failed"
for i in 4 5 6; do
  [ "$(login "$dir/w" clerk "wrong-secret-$i")" = 401 ] || fail "wrong try $i was not 401"
done
[ "$(login "$dir/w" clerk wrong-secret-7)" = 423 ] || fail "the fifth wrong try did not lock"
[ "$(login "$dir/w" clerk clerk-password-2)" = 423 ] || fail "a try while locked was not 423"

want="account_created|admin|start|role=admin
account_created|clerk|cli|role=admin
login_failed|clerk|127.0.0.1|left=4
login_failed|nobody|127.0.0.1|left=4
login_failed|?|127.0.0.1|left=3
login|admin|127.0.0.1|role=admin
logout|admin|127.0.0.1|
login|admin|127.0.0.1|role=admin
password_changed|clerk|cli|role=admin
login_failed|clerk|127.0.0.1|left=3
login_failed|clerk|127.0.0.1|left=2
login_failed|clerk|127.0.0.1|left=1
lockout|clerk|127.0.0.1|left=0
login_locked|clerk|127.0.0.1|not checked"
got=$(rows)
[ "$got" = "$want" ] || fail "the audit trail is
$got
not
$want"

# 4. the admin's page shows them, newest first, in Chinese and in English
page=$(curl -s -b "$dir/a" "$S/admin")
has "$page" '<h2 id="staff-audit-title">员工登录与密码记录</h2>' || fail "no Chinese heading of the trail"
first=$(grep -o 'class="staff-event" data-action="[a-z_]*" data-login="[^"]*"' <<<"$page" | head -1)
[ "$first" = 'class="staff-event" data-action="login_locked" data-login="clerk"' ] ||
  fail "the newest row is not the locked try: $first"
for a in login_failed lockout login_locked logout login password_changed account_created; do
  has "$page" "data-action=\"$a\"" || fail "no $a on the admin page"
done
has "$page" '<td class="event">密码错误</td>' || fail "no Chinese name of a wrong password"
has "$page" '<td class="source">命令行</td>' || fail "the command line is not named in Chinese"
page_en=$(curl -s -b "$dir/a" -H 'Accept-Language: en' "$S/admin")
has "$page_en" '>Staff logins and passwords</h2>' || fail "no English heading of the trail"
has "$page_en" '<td class="event">Locked after too many wrong passwords</td>' || fail "no English lockout"
[ "$(grep -c 'class="staff-event"' <<<"$page_en")" = 14 ] || fail "the page does not show the 14 entries"

# 5. no password anywhere: database (and its WAL), the shop's output, the page
kill -TERM $pid
wait $pid || fail "the shop did not stop cleanly"
pid=
[ -s "$data/shop.db" ] || fail "no database to look into"
grep -qaF -- "$pw" "$data/shop-admin.txt" || fail "the search does not find the password where it is"
for secret in "$pw" clerk-password-1 clerk-password-2 wrong-secret-1 wrong-secret-2 wrong-secret-3 \
  wrong-secret-4 wrong-secret-7; do
  ! grep -rqaF --include='shop.db*' -- "$secret" "$data" || fail "a password ($secret) is in the database"
  ! grep -qaF -- "$secret" "$dir/shop.out" || fail "a password ($secret) is in the shop's output"
  ! has "$page$page_en" "$secret" || fail "a password ($secret) is on the admin page"
done
echo "shop staff audit test passed"
