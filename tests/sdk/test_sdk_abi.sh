#!/usr/bin/env bash
# Unit: libpaygate's ABI is the committed one. abidiff (libabigail) compares the built shared
# library's exported functions and the types of paygate.h they use (struct layouts, enum values,
# parameters) with src/sdk/paygate.abi; any difference fails, with abidiff's report and how to
# accept a deliberate change. Skips (77) without abidiff or without debug info to read.
# usage: test_sdk_abi.sh LIBPAYGATE.so SOURCE_ROOT
set -euo pipefail
so=$1 src=$2
committed=$src/src/sdk/paygate.abi
if ! command -v abidiff >/dev/null || ! command -v abidw >/dev/null; then
  echo "SKIP: abidiff/abidw missing (Debian abigail-tools: scripts/deps.sh test installs it)"
  exit 77
fi
if ! readelf -S "$so" | grep -q '\.debug_info'; then
  echo "SKIP: $so has no debug info (a build without -g): no types to compare"
  exit 77
fi
source "$(dirname "$0")/../lib/tmp.sh"
test_tmpdir sdk-abi
tmp=$dir
trap 'test_finish $?' EXIT
"$src/src/sdk/abi.sh" dump "$so" "$src/src/sdk" >"$tmp/built.abi"
# abidiff's exit status: 0 the same, 4 a change (bit 2), 12 an incompatible one (bit 3 too),
# bits 0-1 an error
rc=0
abidiff "$committed" "$tmp/built.abi" >"$tmp/report" 2>&1 || rc=$?
if [ $((rc & 3)) -ne 0 ]; then
  cat "$tmp/report"
  echo "FAIL: abidiff could not compare (exit $rc)"
  exit 1
fi
if [ "$rc" -ne 0 ]; then
  cat "$tmp/report"
  if [ $((rc & 8)) -ne 0 ]; then
    echo "FAIL: an incompatible ABI change (a function removed): programs built against"
    echo "libpaygate.so.1 would no longer load."
  else
    echo "FAIL: the ABI changed. A new function is compatible; a changed struct layout, enum"
    echo "value or parameter (see the report) breaks programs built against libpaygate.so.1."
  fi
  echo "When the change is deliberate: ninja -C <build> sdk-abi-update, bump the version as"
  echo "docs/sdk.md \"ABI\" says, and commit src/sdk/paygate.abi and src/sdk/paygate.symbols."
  exit 1
fi
echo "ok: the ABI of $(basename "$so") is the committed one"
