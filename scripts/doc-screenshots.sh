#!/usr/bin/env bash
# Takes the docs' screenshots again (docs/quickstart.md, "截图" / docs/quickstart.en.md,
# "Screenshots"): runs the page walk (walk_browser, tests/browser/walk.test.mjs) into a folder
# of its own, then copies each page docs/img/walk-labels.txt lists, at 1280 px, to
# docs/img/zh-CN/<label>.png and docs/img/en/<label>.png, and removes the screenshots there that
# are no longer listed. Commit what changed. `make screenshots` runs it.
# usage: scripts/doc-screenshots.sh [BUILD_DIR]     (default: build; needs Chromium and npm ci)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
[ -f "$build/build.ninja" ] || { echo "doc-screenshots: no build in $build (meson setup)" >&2; exit 2; }
build=$(cd "$build" && pwd) # the walk runs in another folder: an absolute path for it
shots=$build/walk-docs
rm -rf "$shots"
mkdir -p "$shots"
# the walk fails (instead of skipping) when the browser is missing, and checks that it took
# every listed page
PAYGATE_REQUIRE_BROWSER=1 PAYGATE_WALK_DIR=$shots meson test -C "$build" walk_browser \
  --print-errorlogs
mapfile -t labels < <(sed -e '/^#/d' -e '/^[[:space:]]*$/d' "$root/docs/img/walk-labels.txt")
declare -A is_label=() # a set: `printf | grep -q` under pipefail can fail on SIGPIPE
for l in "${labels[@]}"; do is_label[$l]=1; done
for lang in zh-CN en; do
  dest=$root/docs/img/$lang
  mkdir -p "$dest"
  for f in "$dest"/*.png; do
    [ -e "$f" ] || continue
    [ -n "${is_label[$(basename "$f" .png)]+set}" ] || rm -f "$f"
  done
  for l in "${labels[@]}"; do
    cp "$shots/$lang-1280-$l.png" "$dest/$l.png"
  done
done
echo "doc-screenshots: ${#labels[@]} pages in docs/img/zh-CN and docs/img/en (review, then commit)"
