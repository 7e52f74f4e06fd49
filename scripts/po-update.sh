#!/usr/bin/env bash
# Brings every catalog in web/po/ up to date with the sources (docs/i18n.md): new messages
# appear untranslated, changed ones as fuzzy guesses, messages no page uses any more go. Then
# translate what is new or fuzzy (Poedit, Lokalize, or a text editor) and run the tests.
# usage: scripts/po-update.sh [BUILD_DIR]      (default: build; needs a build of the tests)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
tool=$build/tests/i18n/po_tool
[ -x "$tool" ] || { echo "po-update: no $tool: build first (ninja -C $build)" >&2; exit 2; }
"$root/scripts/po-pot.sh" "$tool" "$build/paygate.pot"
for po in "$root"/web/po/*.po; do
  msgmerge --quiet --update --backup=none --no-wrap "$po" "$build/paygate.pot"
  msgattrib --no-obsolete --no-wrap -o "$po" "$po"
  printf '%s: ' "$po"; msgfmt --statistics -o /dev/null "$po"
done
echo "po-update: template $build/paygate.pot (msginit -i it -l ll_CC starts a new language)"
