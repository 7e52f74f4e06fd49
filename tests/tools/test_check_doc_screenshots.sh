#!/usr/bin/env bash
# The checker of the docs' screenshots on copies of docs/ with one fault planted each: a shown
# screenshot missing, a listed page without its English screenshot, an image no walk makes, a
# quickstart showing the other language's screenshot. Each must fail; the untouched copy passes.
# usage: test_check_doc_screenshots.sh SOURCE_ROOT CHECKER
set -euo pipefail
root=$1 check=$2
mkdir -p "${PAYGATE_TMP:-/tmp}" # the suite's tmp folder may not exist yet if this test runs first
tmp=$(mktemp -d "${PAYGATE_TMP:-/tmp}/paygate-docshots-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fresh() { rm -rf "$tmp/t"; mkdir -p "$tmp/t"; cp -r "$root/docs" "$tmp/t/docs"; }
expect_fail() {
  if "$check" "$tmp/t" >"$tmp/out" 2>&1; then echo "FAIL: not caught: $1"; exit 1; fi
  grep -q FAIL "$tmp/out" || { echo "FAIL: no reason given for: $1"; exit 1; }
}
fresh
"$check" "$tmp/t" >/dev/null || { echo "FAIL: the docs as they are do not pass"; exit 1; }
first=$(sed -e '/^#/d' -e '/^[[:space:]]*$/d' "$root/docs/img/walk-labels.txt" | head -1)
fresh; rm "$tmp/t/docs/img/zh-CN/$first.png"; expect_fail "a shown screenshot missing"
fresh; rm "$tmp/t/docs/img/en/$first.png"; expect_fail "a listed page without its English one"
fresh; cp "$tmp/t/docs/img/en/$first.png" "$tmp/t/docs/img/handmade.png"; expect_fail "an image no walk makes"
fresh; sed -i "s#](img/zh-CN/#](img/en/#" "$tmp/t/docs/quickstart.md"; expect_fail "the Chinese quickstart in English pictures"
fresh; sed -i "/^$first\$/d" "$tmp/t/docs/img/walk-labels.txt"; expect_fail "a shown page not listed"
echo "check_doc_screenshots: every planted fault caught"
