#!/usr/bin/env bash
# The docs' screenshots come from the page walk and nowhere else (scripts/doc-screenshots.sh):
# every image a doc shows exists; those of docs/img/zh-CN and docs/img/en are pages listed in
# docs/img/walk-labels.txt, each there in both languages and nothing else; the Chinese
# quickstart shows the Chinese screenshots, the English one the English. The walk itself fails
# when it does not take a listed page (tests/browser/walk.test.mjs).
# usage: check_doc_screenshots.sh SOURCE_ROOT
set -euo pipefail
root=$1
docs=$root/docs
fail=0
bad() { echo "FAIL: $*"; fail=1; }
mapfile -t labels < <(sed -e '/^#/d' -e '/^[[:space:]]*$/d' "$docs/img/walk-labels.txt")
# a set, not `printf | grep -q`: under pipefail grep -q leaving at the first match can kill
# printf with SIGPIPE, and the pipeline then says "not listed" for a listed page (it did, one
# run in five)
declare -A is_label=()
for l in "${labels[@]}"; do is_label[$l]=1; done
listed() { [ -n "${is_label[$1]+set}" ]; }
[ "${#labels[@]}" -gt 0 ] || bad "docs/img/walk-labels.txt lists no page"
for md in "$docs"/*.md; do
  while IFS= read -r img; do
    [ -f "$docs/$img" ] || bad "$(basename "$md") shows $img, which does not exist"
    case $img in
    img/zh-CN/* | img/en/*)
      l=$(basename "$img" .png)
      listed "$l" || bad "$(basename "$md") shows $img: $l is not in docs/img/walk-labels.txt" ;;
    *) bad "$(basename "$md") shows $img: not a walk screenshot (docs/img/zh-CN or docs/img/en)" ;;
    esac
  done < <(grep -o '](img/[^)]*)' "$md" | sed 's/^](//; s/)$//')
done
for l in "${labels[@]}"; do
  for lang in zh-CN en; do
    [ -f "$docs/img/$lang/$l.png" ] || bad "docs/img/$lang/$l.png missing (scripts/doc-screenshots.sh)"
  done
done
for f in "$docs"/img/*.png "$docs"/img/zh-CN/*.png "$docs"/img/en/*.png; do
  [ -e "$f" ] || continue
  case $f in
  "$docs"/img/zh-CN/* | "$docs"/img/en/*) listed "$(basename "$f" .png)" || bad "$f is no listed page" ;;
  *) bad "$f: a screenshot the walk does not make (put it in docs/img/walk-labels.txt)" ;;
  esac
done
grep -q '](img/en/' "$docs/quickstart.md" && bad "the Chinese quickstart shows English screenshots"
grep -q '](img/zh-CN/' "$docs/quickstart.en.md" && bad "the English quickstart shows Chinese screenshots"
[ $fail = 0 ] && echo "doc screenshots: ${#labels[@]} walk pages, both languages, all shown ones present"
exit $fail
