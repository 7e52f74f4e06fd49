#!/bin/sh
# Stands in for a test run by node (a browser test, the Node.js example; its .mjs file is $1)
# when meson found no `node` at setup: the test cannot run. Under PAYGATE_REQUIRE_BROWSER
# (scripts/test.sh: `make test`, CI) that is a failure saying what is missing; in a developer's
# plain `meson test` a skip (77).
what="the test of $(basename "$1") cannot run: node was not found when the build was set up (scripts/deps.sh test installs nodejs; then meson setup --reconfigure)"
if [ -n "${PAYGATE_REQUIRE_BROWSER:-}" ]; then
  echo "FAIL: $what"
  exit 1
fi
echo "SKIP: $what"
exit 77
