#!/bin/sh
# libpaygate's committed ABI: src/sdk/paygate.symbols (the exported names, one a line) and
# src/sdk/paygate.abi (libabigail's dump of the exported functions and the types of
# paygate.h they use), checked by tests/sdk/test_sdk_symbols.sh and test_sdk_abi.sh.
# usage: abi.sh dump LIBPAYGATE.so HEADERS_DIR    the ABI dump on stdout
#        abi.sh update LIBPAYGATE.so SOURCE_ROOT  rewrites both files (`ninja sdk-abi-update`)
# (--headers-dir, not --header-file: with the latter libabigail 2.2 merges the anonymous
# structs of paygate.h into one declaration and would see no change in them.)
set -eu
dump() {
  abidw --no-corpus-path --no-comp-dir-path --no-elf-needed --no-show-locs \
    --exported-interfaces-only --drop-private-types --headers-dir "$2" "$1"
}
case ${1:-} in
dump) dump "$2" "$3" ;;
update)
  so=$2 sdk=$3/src/sdk
  nm -D --defined-only "$so" | awk '{print $3}' | sed -n 's/@@PAYGATE_1$//p' |
    LC_ALL=C sort >"$sdk/paygate.symbols"
  dump "$so" "$sdk" >"$sdk/paygate.abi"
  echo "updated $sdk/paygate.symbols ($(wc -l <"$sdk/paygate.symbols") symbols) and" \
    "$sdk/paygate.abi: review the diff, bump the version (docs/sdk.md \"ABI\"), commit"
  ;;
*) echo "usage: abi.sh dump SO HEADERS_DIR | abi.sh update SO SOURCE_ROOT" >&2; exit 2 ;;
esac
