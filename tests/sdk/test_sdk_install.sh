#!/usr/bin/env bash
# Integration: libpaygate as a merchant gets it. `meson install` into a temp root puts the
# shared library (soname libpaygate.so.1), the static archive, include/paygate/paygate.h and
# paygate.pc there, and nothing internal; every example compiles with
# `cc $(pkg-config --cflags --libs paygate)` alone (warnings as errors; paygate.h from C++ too)
# and needs no server library (ldd: no libmicrohttpd); the protocol vectors pass against the
# installed library; against a real `paygate platform`, take_payment (shared, and linked with
# libpaygate.a) creates trades that query_and_refund finds, and a forged notification is
# refused; bank_order_form signs a form with a real bank merchant's key.
# usage: test_sdk_install.sh PAYGATE_BIN MESON BUILD_ROOT SOURCE_ROOT CC [EXTRA_CFLAGS [fuzzing]]
#   CC: the build's C compiler; EXTRA_CFLAGS: its sanitizer/coverage flags, which its
#   libpaygate.so needs (their runtime must be the same compiler's).
set -euo pipefail
bin=$(realpath "$1") meson=$2 build=$3 src=$4 cc=$5 extra=${6:-}
if [ "${7:-}" = fuzzing ]; then
  echo "SKIP: a fuzzing build's libpaygate calls the fuzzer's coverage hooks; programs outside"
  echo "the fuzzers cannot link it"
  exit 77
fi
source "$(dirname "$0")/../lib/tmp.sh"
test_tmpdir sdk-install
tmp=$dir
pf_pid=
cleanup() {
  local rc=$1
  [ -n "$pf_pid" ] && kill -TERM "$pf_pid" 2>/dev/null && wait "$pf_pid"
  test_finish "$rc"
}
trap 'cleanup $?' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 1. install, and what lands where
"$meson" install -C "$build" --no-rebuild --quiet --destdir "$tmp/root" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "meson install"; }
pc=$(find "$tmp/root" -name paygate.pc)
[ -n "$pc" ] || fail "no paygate.pc installed"
lib=$(dirname "$(dirname "$pc")")
inc=$(find "$tmp/root" -type d -path '*/include/paygate')
[ -f "$inc/paygate.h" ] || fail "paygate.h is not in include/paygate/"
[ "$(ls "$inc")" = paygate.h ] || fail "include/paygate holds more than paygate.h: $(ls "$inc")"
[ ! -e "$(dirname "$inc")/paygate.h" ] || fail "paygate.h installed at the top of include/"
[ -f "$lib/libpaygate.so.1.0.0" ] && [ "$(readlink "$lib/libpaygate.so.1")" = libpaygate.so.1.0.0 ] &&
  [ "$(readlink "$lib/libpaygate.so")" = libpaygate.so.1 ] || fail "libpaygate.so.1 links: $(ls -l "$lib")"
[ -f "$lib/libpaygate.a" ] || fail "no libpaygate.a"
[ -z "$(find "$tmp/root" -name 'libpay*.a' ! -name libpaygate.a)" ] || fail "module archives installed"

# 2. the examples, through pkg-config only
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$tmp/root
cflags=$(pkg-config --cflags paygate) libs=$(pkg-config --libs paygate)
# the static archive's own dependencies are paygate.pc's Requires.private, linked dynamically
private=$(pkg-config --print-requires-private paygate | awk '{print $1}' | tr '\n' ' ')
export LD_LIBRARY_PATH=$lib
# shellcheck disable=SC2086
cc_() { $cc $extra -std=c17 -Wall -Wextra -Werror "$@"; }
for ex in take_payment handle_notification query_and_refund bank_order_form bank_notification; do
  # shellcheck disable=SC2086
  cc_ -o "$tmp/$ex" "$src/examples/$ex.c" $cflags $libs 2>"$tmp/cc.log" ||
    { cat "$tmp/cc.log"; fail "example $ex does not build with pkg-config's flags"; }
  ldd "$tmp/$ex" >"$tmp/ldd"
  grep -q "libpaygate.so.1 => $lib/libpaygate.so.1" "$tmp/ldd" || { cat "$tmp/ldd"; fail "$ex: not the installed libpaygate"; }
  ! grep -qE 'libmicrohttpd|libinih|libqrencode|libpq' "$tmp/ldd" || { cat "$tmp/ldd"; fail "$ex loads server libraries"; }
done
# shellcheck disable=SC2086
cc_ -o "$tmp/take_payment_static" "$src/examples/take_payment.c" $cflags "$lib/libpaygate.a" \
  $(pkg-config --libs $private) -pthread 2>"$tmp/cc.log" || { cat "$tmp/cc.log"; fail "static link"; }
! ldd "$tmp/take_payment_static" | grep -q libpaygate || fail "the static example loads libpaygate.so"
printf '#include <paygate.h>\nint main() { return paygate_status_name(PAYGATE_OK) == nullptr; }\n' >"$tmp/cxx.cc"
# shellcheck disable=SC2086
c++ -std=c++17 -Wall -Wextra -Werror -fsyntax-only "$tmp/cxx.cc" $cflags || fail "paygate.h from C++"

# 3. the protocol vectors against the installed library
if pkg-config --exists cmocka; then
  # shellcheck disable=SC2086
  $cc $extra -std=c17 -o "$tmp/vectors" "$src/tests/sdk/test_sdk_vectors.c" $cflags $libs $(pkg-config --cflags --libs cmocka) ||
    fail "test_sdk_vectors does not build against the installed library"
  PAYGATE_SOURCE_ROOT=$src "$tmp/vectors" >"$tmp/vectors.log" 2>&1 || { cat "$tmp/vectors.log"; fail "vectors"; }
else
  fail "cmocka's pkg-config file is missing (libcmocka-dev)"
fi

# 4. a real platform (the examples' notify URL is on 127.0.0.1)
printf '[notify]\nallow_private_hosts = true\n' >"$tmp/platform.ini"
"$bin" platform keygen --out "$tmp/shop.key" >/dev/null
"$bin" platform merchant add --data-dir "$tmp/pf" --id shop --name Shop \
  --public-key-file "$tmp/shop.key.pub" --notify-host 127.0.0.1 --allow-private-hosts >/dev/null
"$bin" platform --config "$tmp/platform.ini" --listen 127.0.0.1:0 --data-dir "$tmp/pf" \
  --print-url-file "$tmp/pf.url" >"$tmp/pf.out" 2>"$tmp/pf.log" &
pf_pid=$!
for _ in $(seq 1200); do # it writes the URL it bound once it listens; the bound catches a hang
  [ -s "$tmp/pf.url" ] && break
  kill -0 "$pf_pid" 2>/dev/null || break
  sleep 0.1
done
url=$(cat "$tmp/pf.url" 2>/dev/null) || true
[ -n "$url" ] || { cat "$tmp/pf.out" "$tmp/pf.log"; fail "the platform did not start"; }
cd "$tmp"
out=$(./take_payment "$url" shop shop.key ORDER-1 1230) || fail "take_payment: $out"
trade=$(printf '%s' "$out" | grep -o 'tr_[A-Za-z0-9]*' | head -1)
[[ "$out" == "trade $trade: send the consumer to $url/cashier/$trade"* ]] || fail "take_payment said: $out"
out=$(./take_payment_static "$url" shop shop.key ORDER-2 800) || fail "take_payment (static): $out"
[[ "$out" == "trade tr_"*": send the consumer to $url/cashier/tr_"* ]] || fail "static take_payment said: $out"
out=$(./query_and_refund "$url" shop shop.key ORDER-1 REFUND-1 500) || fail "query_and_refund: $out"
[ "$out" = "trade $trade is WAIT_BUYER_PAY (0 of 1230 refunded)" ] || fail "query_and_refund said: $out"
sig='PAYGATE-ED25519 keyId="paygate-platform", ts="1", nonce="aaaaaaaaaaaaaaaa", sig="AAAA"'
rc=0
out=$(printf '{"event":"trade.state"}' | ./handle_notification "$url" shop shop.key /notify "$sig") || rc=$?
[ "$rc" = 1 ] && [[ "$out" == "refused: "* ]] || fail "a forged notification: exit $rc, $out"

# 5. a bank merchant's signed B2C form
"$bin" bank merchant add --data-dir "$tmp/bank" --code sdkb --bin 622202 --fast-hash \
  --mer-id SDK0001 --name SDK --referrer-domain 127.0.0.1 --notify-domain 127.0.0.1 \
  --out "$tmp/mer" >"$tmp/bank.log" 2>&1 || { cat "$tmp/bank.log"; fail "bank merchant add"; }
out=$(./bank_order_form http://127.0.0.1:9 mer bank/keys/sign.crt ORDER-7 28800) || fail "bank_order_form: $out"
for want in 'action="http://127.0.0.1:9/b2c/pay"' 'name="tranData"' 'name="merSignMsg"' 'name="merCert"'; do
  [[ "$out" == *"$want"* ]] || fail "bank_order_form: no $want in $out"
done
rc=0
out=$(printf 'notifyData=x&signMsg=y' | ./bank_notification http://127.0.0.1:9 mer bank/keys/sign.crt) || rc=$?
[ "$rc" = 1 ] || fail "a forged bank notification: exit $rc, $out"
kill -TERM "$pf_pid"
wait "$pf_pid" || fail "the platform exited with $?"
pf_pid=
echo "ok: installed, 5 examples and the vectors built with pkg-config, run against a real platform"
