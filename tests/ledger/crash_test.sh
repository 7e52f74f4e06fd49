#!/usr/bin/env bash
# Crash test of the ledger: starts the load process, kills it with SIGKILL at a random moment,
# restarts it, again and again (CRASH_KILLS times, default 50); after every kill
# `paygate ledger verify` must be clean and every acknowledged transfer stored exactly once.
# usage: crash_test.sh <crash_load binary> <paygate binary>
set -uo pipefail
load=$1 paygate=$2
kills=${CRASH_KILLS:-50}
source "$(dirname "$0")/../lib/tmp.sh"
test_tmpdir crash
trap 'test_finish $?' EXIT
db=$dir/ledger.db log=$dir/acks.log
seed=${CRASH_SEED:-$RANDOM}
RANDOM=$seed
echo "crash test: $kills kills, seed $seed, dir $dir"
for i in $(seq 1 "$kills"); do
  "$load" load "$db" "$log" "r$i" &
  pid=$!
  # Random moment: 20..400 ms after start (start-up, account creation, or full load).
  sleep "0.$(printf '%03d' $((20 + RANDOM % 380)))"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if ! out=$("$paygate" ledger verify "$db"); then
    echo "kill $i: ledger verify failed:"; echo "$out"; exit 1
  fi
  if ! out=$("$load" check "$db" "$log"); then
    echo "kill $i: acknowledged transfers lost or duplicated:"; echo "$out"; exit 1
  fi
done
echo "after $kills kills: $out"
acked=$(wc -l <"$log")
[ "$acked" -gt 0 ] || { echo "no transfer was ever acknowledged: the test proves nothing"; exit 1; }
echo "crash test passed"
