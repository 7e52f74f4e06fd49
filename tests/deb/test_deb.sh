#!/usr/bin/env bash
# The Debian package as an operator meets it (issue 16, docs/deploy.md "Debian package"):
# dpkg-buildpackage builds it from this tree; it installs with apt into a clean Debian 12
# tree (mmdebstrap); the install made the `paygate` system user, /etc/paygate with the roles'
# configurations readable by that user only, the systemd units (their exposure rated by
# `systemd-analyze security`) and web/ under /usr/share/paygate; the platform, started from
# the package as the unit starts it (the paygate user, /etc/paygate/platform.ini), answers
# /healthz and serves its Chinese pages, keeps its files 0600 and stops cleanly on SIGTERM.
# Needs root (the chroot) and Debian's mirror; a machine without them fails here.
# usage: test_deb.sh <source root>
set -euo pipefail
src=$1
source "$src/tests/lib/tmp.sh"
test_tmpdir deb
root=$dir/root
cleanup() {
  local status=$?
  [ -z "${pid:-}" ] || kill -KILL "$pid" 2>/dev/null || true
  mountpoint -q "$root/proc" 2>/dev/null && umount "$root/proc"
  test_finish "$status"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
step() { echo "== $*"; }
[ "$(id -u)" -eq 0 ] || fail "needs root: it builds a Debian tree and runs the package in it"

step "dpkg-buildpackage (the tracked files of $src)"
mkdir "$dir/src"
git -C "$src" ls-files -z | (cd "$src" && tar --null -T - -c) | tar -x -C "$dir/src"
(cd "$dir/src" && dpkg-buildpackage -b -us -uc >"$dir/build.log" 2>&1) ||
  { tail -30 "$dir/build.log"; fail "dpkg-buildpackage failed (log: $dir/build.log)"; }
deb=$(ls "$dir"/paygate_*_amd64.deb)

step "a clean Debian 12 tree (mmdebstrap --variant=apt bookworm)"
mmdebstrap --variant=apt --quiet bookworm "$root" http://deb.debian.org/debian >"$dir/mm.log" 2>&1 ||
  { tail -20 "$dir/mm.log"; fail "mmdebstrap failed"; }
cp "$deb" "$root/tmp/paygate.deb"
step "apt-get install ./$(basename "$deb")"
chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq /tmp/paygate.deb' >"$dir/install.log" 2>&1 ||
  { tail -20 "$dir/install.log"; fail "the package did not install"; }

step "what the install made"
uid=$(chroot "$root" id -u paygate) || fail "no paygate user"
[ "$uid" -lt 1000 ] || fail "paygate is uid $uid, not a system user"
for f in platform.ini shop.ini; do
  perms=$(chroot "$root" stat -c '%a %U %G' "/etc/paygate/$f")
  [ "$perms" = "640 root paygate" ] || fail "/etc/paygate/$f is $perms, not 640 root paygate"
done
grep -qx 'data_dir = /var/lib/paygate/platform' "$root/etc/paygate/platform.ini" ||
  fail "platform.ini does not keep its state in /var/lib/paygate/platform"
[ -f "$root/usr/share/paygate/web/platform/templates/portal_login.html" ] ||
  fail "web/ is not under /usr/share/paygate"
for u in paygate-platform paygate-shop paygate-bank@ paygate-switch; do
  unit=$root/lib/systemd/system/$u.service
  [ -f "$unit" ] || fail "no $u.service"
  grep -qx 'User=paygate' "$unit" || fail "$u.service does not run as paygate"
  # exposure 0 (locked down) .. 10 (unsafe); systemd calls up to 2.9 "OK"
  exposure=$(systemd-analyze security --offline=true "$unit" 2>/dev/null |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  [ -n "$exposure" ] || fail "systemd-analyze security rated nothing for $u.service"
  awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "$u.service exposure $exposure > 2.0"
  echo "$u.service: exposure $exposure"
done

step "the platform, run as its unit runs it"
mount -t proc proc "$root/proc"
chroot "$root" install -d -o paygate -g paygate -m 0700 /var/lib/paygate/platform
chroot "$root" setpriv --reuid=paygate --regid=paygate --init-groups /usr/bin/paygate platform \
  --config /etc/paygate/platform.ini --listen 127.0.0.1:0 \
  --print-url-file /var/lib/paygate/platform/url >"$dir/platform.log" 2>&1 &
pid=$!
url_file=$root/var/lib/paygate/platform/url
for _ in $(seq 600); do # the URL file, or the server's exit (at most 60 s)
  [ -s "$url_file" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$dir/platform.log"; fail "the platform exited at start"; }
  sleep 0.1
done
[ -s "$url_file" ] || fail "the platform wrote no URL file in 60 s"
url=$(cat "$url_file")
[ "$(curl -sS "$url/healthz")" = '{"status":"ok"}' ] || fail "/healthz of $url"
curl -sS "$url/portal/login" | grep -q '<title>PayGate 商户后台' ||
  fail "/portal/login is not the Chinese login page (web/ from /usr/share/paygate)"
bad=$(find "$root/var/lib/paygate/platform" -type f ! -perm 0600)
[ -z "$bad" ] || fail "files not 0600: $bad"
owner=$(stat -c %u "$root/var/lib/paygate/platform/platform.db")
[ "$owner" = "$uid" ] || fail "platform.db belongs to uid $owner, not paygate ($uid)"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" -eq 0 ] || fail "the platform exited $rc on SIGTERM"
grep -q 'http.stopped' "$dir/platform.log" || fail "no clean stop in the platform's log"
echo "ok: $(basename "$deb") builds, installs on Debian 12 and serves /healthz"
