# The temp folders of the shell tests; source it (tests/lib/demo.sh does).
#
# test_tmpdir NAME: sets dir to a fresh $PAYGATE_TMP/paygate-NAME-XXXXXX (PAYGATE_TMP: the
# suite's own <build>/tmp, set by tests/meson.build; /tmp without it).
# test_finish STATUS: the last step of the test's EXIT trap. After a pass it removes $dir,
# unless PAYGATE_KEEP_TMP is set; after a failure it keeps it, so the logs the failure
# message names still exist, and says so. Returns STATUS (the trap exits with it).
test_tmpdir() {
  mkdir -p "${PAYGATE_TMP:-/tmp}"
  dir=$(mktemp -d "${PAYGATE_TMP:-/tmp}/paygate-$1-XXXXXX")
}

test_finish() {
  local status=$1
  [ -n "${dir:-}" ] && [ -d "$dir" ] || return "$status"
  if [ "$status" -ne 0 ]; then
    echo "kept $dir for a post-mortem (the test failed)"
  elif [ -n "${PAYGATE_KEEP_TMP:-}" ]; then
    echo "kept $dir (PAYGATE_KEEP_TMP)"
  else
    rm -rf "$dir"
  fi
  return "$status"
}
