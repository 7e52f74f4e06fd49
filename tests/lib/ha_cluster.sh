#!/usr/bin/env bash
# Runs a command next to a highly available PostgreSQL cluster (scripts/cluster: etcd, three
# PostgreSQL nodes under Patroni with synchronous replication, HAProxy in front of the primary)
# in a fresh temp folder, for the failover test of the pg suite; stopped and removed afterwards.
# The command sees what tests/lib/testdb.h reads, pointed at HAProxy — PAYGATE_TEST_PG (its
# host), PAYGATE_TEST_PG_PORT and PGPORT (its port), PAYGATE_TEST_PG_USER, PGPASSFILE — and
# PAYGATE_CLUSTER (the script) and PAYGATE_CLUSTER_DIR, to kill the primary and wait for the
# new one.
# usage: ha_cluster.sh COMMAND [ARGS...]
# exit: the command's status; 1 when the cluster did not start (a failure, never a skip: the
# programs come from scripts/deps.sh test).
set -uo pipefail
cluster=$(cd "$(dirname "$0")/../.." && pwd)/scripts/cluster
tmp=$(mktemp -d "${TMPDIR:-/tmp}/paygate-ha-XXXXXX")
chmod 755 "$tmp" # the cluster runs as the postgres user when we are root
stop() {
  "$cluster" stop --dir "$tmp/c" >/dev/null 2>&1
  [ -n "${PAYGATE_KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap stop EXIT
# The script checks its ports free before it binds them, but another program may take one in
# between (a second cluster of a parallel build, say): a start that fails is stopped and made
# again, on other ports, up to START_TRIES times.
START_TRIES=3
for try in $(seq "$START_TRIES"); do
  "$cluster" start --dir "$tmp/c" --nodes 3 --platforms 0 >"$tmp/env" 2>"$tmp/start.log" && break
  cat "$tmp/start.log" >&2
  "$cluster" stop --dir "$tmp/c" >/dev/null 2>&1
  rm -rf "$tmp/c"
  [ "$try" -lt "$START_TRIES" ] || { echo "ha_cluster: the cluster did not start" >&2; exit 1; }
  echo "ha_cluster: starting again (try $((try + 1)) of $START_TRIES)" >&2
done
cat "$tmp/start.log"
# shellcheck disable=SC1091
. "$tmp/env"
export PAYGATE_TEST_PG=$PGHOST PAYGATE_TEST_PG_PORT=$PGPORT PAYGATE_TEST_PG_USER=$PGUSER
export PAYGATE_CLUSTER=$cluster
export PATH="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1):$PATH"
"$@"
rc=$?
if [ "$rc" != 0 ]; then
  for f in "$tmp"/c/pg*/patroni.log; do echo "ha_cluster: $f:" >&2; tail -15 "$f" >&2; done
fi
exit "$rc"
