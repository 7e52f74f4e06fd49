#!/usr/bin/env bash
# The pg suite's own harness (pg_cluster.sh): without PostgreSQL's programs, or when initdb
# fails, it fails (exit 1, the reason on stderr), never skips (77) nor runs the test without a
# cluster; with them, the test runs next to a cluster that listens on a unix socket in its own
# temp folder and on no TCP port, and the folder is gone afterwards.
# usage: test_pg_cluster.sh   (needs psql and Debian's postgresql, scripts/deps.sh test)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/paygate-pgtest-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp" # the fake programs below run as the postgres user when we are root
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_failure NAME BIN_DIR MESSAGE: pg_cluster.sh with PAYGATE_PG_BIN=BIN_DIR exits 1 with
# MESSAGE on stderr, and the command it was given never ran.
expect_failure() {
  local rc
  PAYGATE_PG_BIN=$2 TMPDIR=$tmp "$here/pg_cluster.sh" touch "$tmp/ran" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  [ "$rc" = 1 ] || fail "$1: exit $rc, want 1 (stderr: $(cat "$tmp/err"))"
  grep -q "$3" "$tmp/err" || fail "$1: stderr lacks '$3': $(cat "$tmp/err")"
  [ ! -e "$tmp/ran" ] || fail "$1: the command ran without a cluster"
  echo "ok: $1"
}

expect_failure "no PostgreSQL programs" "$tmp/nowhere" "initdb is missing"

mkdir -p "$tmp/badbin"
printf '#!/bin/sh\necho "initdb: cannot (test)" >&2\nexit 3\n' >"$tmp/badbin/initdb"
printf '#!/bin/sh\nexit 0\n' >"$tmp/badbin/pg_ctl"
chmod 755 "$tmp/badbin" "$tmp/badbin/initdb" "$tmp/badbin/pg_ctl"
expect_failure "initdb failing" "$tmp/badbin" "initdb failed"
# no cluster folder left behind by the failures
ls -d "$tmp"/paygate-pg-* >/dev/null 2>&1 && fail "a failed start left its folder behind"

# The real one: a socket in the cluster's folder, no TCP, the folder removed afterwards.
# shellcheck disable=SC2016 # expanded by the inner shell, next to the cluster
TMPDIR=$tmp "$here/pg_cluster.sh" sh -c '
  set -e
  test -S "$PAYGATE_TEST_PG/.s.PGSQL.5432"
  q() { psql -X -At -h "$PAYGATE_TEST_PG" -U "$PAYGATE_TEST_PG_USER" -d postgres -c "$1"; }
  test "$(q "SHOW listen_addresses")" = ""
  test "$(q "SHOW unix_socket_directories")" = "$PAYGATE_TEST_PG"
  test "$(q "SHOW fsync")" = on
  echo "$PAYGATE_TEST_PG" >"$0"
' "$tmp/cluster" >"$tmp/out" 2>"$tmp/err" || fail "the real cluster: $(cat "$tmp/out" "$tmp/err")"
dir=$(cat "$tmp/cluster")
case $dir in "$tmp"/paygate-pg-*) ;; *) fail "the cluster was not in TMPDIR: $dir" ;; esac
[ ! -e "$dir" ] || fail "the cluster's folder $dir is left behind"
echo "ok: a cluster on a unix socket in its own folder, no TCP, removed afterwards"
