#!/usr/bin/env bash
# Unit: what libpaygate shows a merchant's program. The shared library exports only the
# paygate_* functions (versioned PAYGATE_1) and has the soname libpaygate.so.1; its exports are
# exactly the committed list src/sdk/paygate.symbols, which is exactly what paygate.h declares;
# it needs no server library (libmicrohttpd, inih, qrencode, libpq). The static archive defines
# the same globals and nothing else, and refers to no server code.
# usage: test_sdk_symbols.sh LIBPAYGATE.so LIBPAYGATE.a SOURCE_ROOT
set -euo pipefail
so=$1 archive=$2 src=$3
list=$src/src/sdk/paygate.symbols header=$src/src/sdk/paygate.h
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
source "$(dirname "$0")/../lib/tmp.sh"
test_tmpdir sdk-symbols
tmp=$dir
trap 'test_finish $?' EXIT

# 1. the dynamic symbol table: paygate_* at version PAYGATE_1, the version node, nothing else
nm -D --defined-only "$so" | awk '{print $3}' >"$tmp/dyn"
[ -s "$tmp/dyn" ] || fail "nm -D lists nothing for $so"
grep -vE '^(paygate_[a-z0-9_]+@@PAYGATE_1|PAYGATE_1)$' "$tmp/dyn" >"$tmp/stray" || true
[ -s "$tmp/stray" ] && fail "$so exports more than paygate_*: $(tr '\n' ' ' <"$tmp/stray")"
sed -n 's/@@PAYGATE_1$//p' "$tmp/dyn" | LC_ALL=C sort >"$tmp/exported"

# 2. the soname and what the library needs
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libpaygate.so.1 ] || fail "soname is '$soname', want libpaygate.so.1"
readelf -d "$so" | grep '(NEEDED)' >"$tmp/needed"
for lib in libmicrohttpd libinih libqrencode libpq; do
  grep -q "\[$lib" "$tmp/needed" && fail "$so needs $lib (server code inside)"
done

# 3. the committed list, deliberately updated: see the message
if ! diff -u "$list" "$tmp/exported" >"$tmp/diff"; then
  fail "the exported symbols differ from src/sdk/paygate.symbols (- committed, + built):"
  cat "$tmp/diff"
  echo "If the change is deliberate: ninja -C <build> sdk-abi-update, then bump the version"
  echo "(a new function: the minor version; a removed or changed one: the soversion, see"
  echo "docs/sdk.md \"ABI\") and commit src/sdk/paygate.symbols and src/sdk/paygate.abi."
fi

# 4. the header declares exactly the exported functions
grep -oE '\bpaygate_[a-z0-9_]+\(' "$header" | tr -d '(' | LC_ALL=C sort -u >"$tmp/declared"
# (the pointer type paygate_seen_fn, written "(*paygate_seen_fn)(", does not match)
diff -u "$tmp/declared" "$tmp/exported" >"$tmp/hdiff" ||
  { fail "paygate.h declares (-) other functions than the library exports (+):"; cat "$tmp/hdiff"; }

# 5. the static archive: the same globals; no internal name, no server code referred to
nm -g --defined-only "$archive" | awk 'NF == 3 {print $3}' | LC_ALL=C sort >"$tmp/a_defined"
diff -u "$tmp/exported" "$tmp/a_defined" >"$tmp/adiff" ||
  { fail "libpaygate.a defines other globals (+) than libpaygate.so exports (-):"; cat "$tmp/adiff"; }
nm -u "$archive" | awk '{print $2}' | LC_ALL=C sort -u >"$tmp/a_undefined"
grep -E '^(MHD_|pay_|ini_|QRcode_|PQ)' "$tmp/a_undefined" >"$tmp/a_bad" || true
[ -s "$tmp/a_bad" ] && fail "libpaygate.a refers to code it does not hold: $(tr '\n' ' ' <"$tmp/a_bad")"

n=$(wc -l <"$tmp/exported")
[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "ok: $n paygate_* symbols exported, soname $soname, no server libraries"
