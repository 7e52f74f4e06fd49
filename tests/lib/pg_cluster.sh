#!/usr/bin/env bash
# Runs a command next to a throwaway PostgreSQL cluster, for the `pg` suite (tests/meson.build)
# and bench/ledger_pg: initdb into a fresh temp folder in $TMPDIR (else /tmp), as the postgres
# user when run as root (the server refuses root), the server listening on a unix socket in that folder only (listen_addresses='': no TCP
# port, so nothing to race for and the system's cluster on 5432 is never touched), fsync=on and
# synchronous_commit=on as in production; stopped and removed afterwards.
# The command sees PAYGATE_TEST_PG (the socket folder), PAYGATE_TEST_PG_DATA (the data folder,
# for scans of what reached the disk) and PAYGATE_TEST_PG_USER; each test makes its own
# database in it (tests/lib/testdb.h, or pg_test_database in tests/lib/pg.sh, which also
# crashes and restarts the server for the crash test).
# usage: pg_cluster.sh COMMAND [ARGS...]
# exit: the command's status; 1 when there is no cluster to run it next to: PostgreSQL's server
# programs missing (scripts/deps.sh test installs them), initdb or the server failing. A failure,
# never a skip: `make test` runs both backends, and a pg suite that did not run proves nothing.
set -uo pipefail
# PAYGATE_PG_BIN: the folder of initdb, pg_ctl and postgres; default Debian's newest
pgbin=${PAYGATE_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
for t in initdb pg_ctl; do
  if [ -z "$pgbin" ] || [ ! -x "$pgbin/$t" ]; then
    echo "pg_cluster: PostgreSQL's $t is missing (install: scripts/deps.sh test)" >&2
    exit 1
  fi
done
. "$(dirname "$0")/pg.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/paygate-pg-XXXXXX")
[ "$(id -u)" = 0 ] && chown postgres: "$tmp"
stop() {
  pg_as "$pgbin/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1
  [ -n "${PAYGATE_KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap stop EXIT
# --no-sync: initdb's own files need not survive a crash of this machine; the server's commits
# are durable (fsync=on) from the start.
if ! pg_as "$pgbin/initdb" -D "$tmp/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
    >"$tmp/initdb.log" 2>&1; then
  cat "$tmp/initdb.log" >&2
  echo "pg_cluster: initdb failed" >&2
  exit 1
fi
# In postgresql.conf, not on the command line, so that a test may change them (ALTER SYSTEM).
cat >>"$tmp/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$tmp'
fsync = on
synchronous_commit = on
EOF
if ! pg_as "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 start >/dev/null; then
  cat "$tmp/server.log" >&2
  echo "pg_cluster: the server did not start" >&2
  exit 1
fi
export PAYGATE_TEST_PG=$tmp PAYGATE_TEST_PG_DATA=$tmp/data PAYGATE_TEST_PG_USER=postgres
export PATH="$pgbin:$PATH" # psql, pg_dump of the same version
echo "pg_cluster: $("$pgbin/postgres" --version) in $tmp"
"$@"
rc=$?
[ "$rc" = 0 ] || { echo "pg_cluster: the server's log:" >&2; tail -20 "$tmp/server.log" >&2; }
exit "$rc"
