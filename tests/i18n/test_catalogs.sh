#!/usr/bin/env bash
# The catalogs never drift from the pages (docs/i18n.md). Fails when a catalog in web/po/
#   - does not read with the servers' strict reader, or has an untranslated or fuzzy entry;
#   - does not pass `msgfmt --check` (format, header, {placeholders} of python-brace-format);
#   - lacks a message some template or C source shows (a page would show English), or
#   - holds an entry that no template or source uses any more.
# usage: test_catalogs.sh SOURCE_ROOT PO_TOOL
set -u
root=$1
tool=$2
for t in msgfmt msgcmp msgcat xgettext; do
  command -v "$t" >/dev/null 2>&1 ||
    { echo "test_catalogs: $t is missing: install gettext (scripts/deps.sh test)"; exit 1; }
done
source "$(dirname "$0")/../lib/tmp.sh"
test_tmpdir catalogs
tmp=$dir
trap 'test_finish $?' EXIT
fail=0
pos=("$root"/web/po/*.po)
[ -f "${pos[0]}" ] || { echo "test_catalogs: no catalogs in $root/web/po"; exit 1; }
"$tool" check "${pos[@]}" || fail=1
for po in "${pos[@]}"; do
  msgfmt --check -o /dev/null "$po" || { echo "test_catalogs: msgfmt --check $po failed"; fail=1; }
done
"$root/scripts/po-pot.sh" "$tool" "$tmp/all.pot" || { echo "test_catalogs: no POT"; exit 1; }
for po in "${pos[@]}"; do
  msgcmp "$po" "$tmp/all.pot" ||
    { echo "test_catalogs: $po lacks messages the pages use (scripts/po-update.sh, translate)"; fail=1; }
  msgcmp --use-untranslated "$tmp/all.pot" "$po" ||
    { echo "test_catalogs: $po has entries nothing uses (scripts/po-update.sh)"; fail=1; }
done
n=$(grep -c '^msgid ' "$tmp/all.pot")
[ $fail -eq 0 ] && echo "test_catalogs: ${#pos[@]} catalog(s), $((n - 1)) messages, all translated and used"
exit $fail
