#!/usr/bin/env bash
# Crash test of the ledger: starts the load process, kills it with SIGKILL at a random moment,
# restarts it, again and again (CRASH_KILLS times, default 50); after every kill
# `paygate ledger verify` must be clean and every acknowledged transfer stored exactly once.
# In the pg suite (tests/lib/pg_cluster.sh) the ledger is a PostgreSQL database, and every
# third round the server crashes instead (immediate shutdown: recovery from its WAL) while the
# load runs, before the load is killed and the server started again: an acknowledged transfer
# must survive that too.
# usage: crash_test.sh <crash_load binary> <paygate binary>
set -uo pipefail
load=$1 paygate=$2
. "$(dirname "$0")/../lib/pg.sh"
kills=${CRASH_KILLS:-50}
source "$(dirname "$0")/../lib/tmp.sh"
test_tmpdir crash
trap 'test_finish $?' EXIT
db=$dir/ledger.db log=$dir/acks.log
if pg_test_active; then
  db=$(pg_test_database crash) || { echo "cannot make the test database"; exit 1; }
fi
seed=${CRASH_SEED:-$RANDOM}
RANDOM=$seed
echo "crash test: $kills kills, seed $seed, dir $dir, database $db"
server_crashes=0
for i in $(seq 1 "$kills"); do
  "$load" load "$db" "$log" "r$i" "$dir/failed.$i" &
  pid=$!
  # Random moment: 20..400 ms after start (start-up, account creation, or full load).
  sleep "0.$(printf '%03d' $((20 + RANDOM % 380)))"
  if pg_test_active && [ $((i % 3)) = 0 ]; then
    pg_test_crash_server || { echo "kill $i: the server did not stop"; exit 1; }
    server_crashes=$((server_crashes + 1))
    # the load meets the dead server: its first failed commit (or its end, when the crash
    # came while it was still opening the database), 10 s at most
    for _ in $(seq 200); do
      [ -e "$dir/failed.$i" ] && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
  fi
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if pg_test_active && [ $((i % 3)) = 0 ]; then
    pg_test_start_server || { echo "kill $i: the server did not start again"; exit 1; }
  fi
  if ! pg_test_active && [ ! -e "$db" ]; then
    # Killed before it created the database (a busy machine can take longer than the 20 ms
    # to start): nothing to check yet. The acknowledged count at the end proves the test ran.
    echo "kill $i: before the database existed"
    continue
  fi
  if ! out=$("$paygate" ledger verify "$db"); then
    echo "kill $i: ledger verify failed:"; echo "$out"; exit 1
  fi
  if ! out=$("$load" check "$db" "$log"); then
    echo "kill $i: acknowledged transfers lost or duplicated:"; echo "$out"; exit 1
  fi
done
echo "after $kills kills ($server_crashes server crashes): $out"
acked=$(wc -l <"$log")
[ "$acked" -gt 0 ] || { echo "no transfer was ever acknowledged: the test proves nothing"; exit 1; }
echo "crash test passed"
