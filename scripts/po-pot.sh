#!/usr/bin/env bash
# Writes the POT of every message people read (docs/i18n.md): xgettext over the C sources (the
# calls that translate: pay_http_req_tr/trc/trf, pay_i18n_tr/trc/trf, and N_() marks) joined
# with `po_tool templates` (every {{t}} of web/bank, web/platform, web/shop and web/switch, the built-in
# templates, the error registry and the language name).
# usage: scripts/po-pot.sh PO_TOOL OUT.pot     (PO_TOOL: build/tests/i18n/po_tool)
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PO_TOOL OUT.pot" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
tool=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
case $2 in /*) out=$2 ;; *) out=$PWD/$2 ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"
find src -name '*.c' | LC_ALL=C sort > "$tmp/files"
# references name files, not lines: a catalog does not change with every edit of a source
xgettext --language=C --from-code=UTF-8 --no-wrap --add-location=file --add-comments=TRANSLATORS: \
  --package-name=paygate --files-from="$tmp/files" -o "$tmp/c.pot" \
  -k -kN_ -kNC_:1c,2 -kpay_http_req_tr:2 -kpay_http_req_trc:2c,3 -kpay_http_req_trf:2 \
  -kpay_i18n_tr:2 -kpay_i18n_trc:2c,3 -kpay_i18n_trf:3 -kpay_i18n_trfn:4 -kpay_i18n_error_set:4 \
  --flag=pay_http_req_trf:2:python-brace-format --flag=pay_i18n_trf:3:python-brace-format \
  --flag=pay_i18n_trfn:4:python-brace-format --flag=pay_i18n_error_set:4:python-brace-format
"$tool" templates web/bank web/platform web/shop web/switch > "$tmp/t.pot"
msgcat --use-first --no-wrap -o "$out" "$tmp/t.pot" "$tmp/c.pot"
