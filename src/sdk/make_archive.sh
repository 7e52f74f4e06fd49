#!/bin/sh
# Builds libpaygate.a as one relocatable object in which only paygate_* stay global, so a
# merchant's program that links the static library sees the same API as one that links the
# shared library, and none of our internal names (pay_buf_init, ...) can clash with theirs.
# usage: make_archive.sh OUT.a LD OBJCOPY AR SDK.a [MODULE.a ...]
#   SDK.a is taken whole; from the module archives only the members the SDK uses.
set -eu
out=$1 ld=$2 objcopy=$3 ar=$4 sdk=$5
shift 5
obj="$out.o"
rm -f "$out" "$obj"
"$ld" -r -o "$obj" --whole-archive "$sdk" --no-whole-archive --start-group "$@" --end-group
"$objcopy" --wildcard --keep-global-symbol='paygate_*' "$obj"
"$ar" rcsD "$out" "$obj"
rm -f "$obj"
