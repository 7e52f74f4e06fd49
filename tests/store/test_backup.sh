#!/usr/bin/env bash
# `paygate backup` and the restore drill of docs/deploy.md ("Backups"): a bank runs and takes
# deposits while its data folder is backed up; the backup holds the database as of one commit
# (ledger verify clean, every deposit in it whole) and the keys, 0600/0700, no -wal/-shm; the
# bank restored from it starts, serves /healthz and lists exactly the deposits the backup
# holds; what the command refuses (an existing --out, a missing --data-dir, a symlink in the
# folder) it refuses without writing.
# usage: test_backup.sh <paygate binary> <source root>
set -euo pipefail
bin=$1 src=$2
source "$src/tests/lib/tmp.sh"
test_tmpdir backup
pid= writer=
cleanup() {
  local status=$?
  [ -z "$writer" ] || kill "$writer" 2>/dev/null || true
  [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
  test_finish "$status"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
p() { "$bin" "$@" 2>>"$dir/cli.log"; }

start_bank() { # data folder: a bank on a port of its own, its URL in $url
  rm -f "$dir/url"
  "$bin" bank serve --data-dir "$1" --fast-hash --print-url-file "$dir/url" \
    >>"$dir/bank.out" 2>>"$dir/bank.log" &
  pid=$!
  for _ in $(seq 600); do # the URL file, or the bank's exit (at most 60 s)
    [ -s "$dir/url" ] && { url=$(cat "$dir/url"); return; }
    kill -0 "$pid" 2>/dev/null || fail "the bank exited at start (log: $dir/bank.log)"
    sleep 0.1
  done
  fail "the bank wrote no URL file in 60 s"
}
stop_bank() { kill -TERM "$pid"; wait "$pid" || fail "the bank exited $? on SIGTERM"; pid=; }
balance_of() { # data folder -> how many deposits its account lists (every page)
  local cursor=0 n=0 page
  while :; do
    page=$(p bank movements --data-dir "$1" --account "$account" --cursor "$cursor")
    n=$((n + $(grep -c ' deposit$' <<<"$page" || true)))
    cursor=$(sed -n 's/^more: --cursor \([0-9]*\)$/\1/p' <<<"$page")
    [ -n "$cursor" ] || break
  done
  echo "$n"
}

data=$dir/live
customer=$(p bank customer add --data-dir "$data" --fast-hash --name Li --phone 13800000001 |
  awk '{print $2}')
account=$(p bank account add --data-dir "$data" --customer "$customer" | awk '{print $2}')
[ -n "$account" ] || fail "no account (log: $dir/cli.log)"
start_bank "$data"

# deposits keep landing while the backup runs (each its own commit)
( for _ in $(seq 200); do p bank deposit --data-dir "$data" --account "$account" --amount 100 \
    >/dev/null; done ) &
writer=$!
until [ "$(balance_of "$data")" -ge 20 ]; do # the writer is well under way
  kill -0 "$writer" 2>/dev/null || fail "the deposits stopped early (log: $dir/cli.log)"
done
"$bin" backup --data-dir "$data" --out "$dir/backup" >"$dir/backup.out" 2>&1 ||
  fail "paygate backup failed: $(cat "$dir/backup.out")"
wait "$writer" || fail "a deposit failed while the backup ran (log: $dir/cli.log)"
writer=
grep -q 'bank.db .*database, [0-9]* pages, integrity ok' "$dir/backup.out" ||
  fail "no database line: $(cat "$dir/backup.out")"
grep -q 'done: 1 database(s)' "$dir/backup.out" || fail "summary: $(cat "$dir/backup.out")"

# the backup: the database as of one commit, its keys, nothing group- or world-readable
"$bin" ledger verify "$dir/backup/bank.db" >/dev/null || fail "ledger verify on the backup"
in_backup=$(balance_of "$dir/backup")
[ "$in_backup" -ge 20 ] && [ "$in_backup" -le 200 ] || fail "$in_backup deposits in the backup"
[ -z "$(find "$dir/backup" -name '*-wal' -o -name '*-shm' -o -name '*.part')" ] ||
  fail "side files in the backup"
[ -z "$(find "$dir/backup" -perm /077)" ] || fail "group/other bits: $(find "$dir/backup" -perm /077)"
(cd "$data" && find . -type f ! -name '*-wal' ! -name '*-shm' | sort) >"$dir/want"
(cd "$dir/backup" && find . -type f | sort) >"$dir/got"
diff "$dir/want" "$dir/got" >/dev/null || fail "backup files differ: $(diff "$dir/want" "$dir/got")"
cmp -s "$data/keys/aead.key" "$dir/backup/keys/aead.key" 2>/dev/null ||
  [ ! -e "$data/keys/aead.key" ] || fail "the sealing key differs in the backup"
stop_bank
[ "$(balance_of "$data")" -eq 200 ] || fail "the live bank lost deposits"

# the drill: the bank restored from the backup starts and holds what the backup held
start_bank "$dir/backup"
[ "$(curl -sS "$url/healthz")" = '{"status":"ok"}' ] || fail "/healthz of the restored bank"
stop_bank
[ "$(balance_of "$dir/backup")" -eq "$in_backup" ] || fail "the restored bank's deposits"
"$bin" ledger verify "$dir/backup/bank.db" >/dev/null || fail "ledger verify after restore"

# refusals: nothing written
rc=0; "$bin" backup --data-dir "$data" --out "$dir/backup" >"$dir/o" 2>&1 || rc=$?
[ "$rc" -eq 2 ] && grep -q 'exists' "$dir/o" || fail "an existing --out: rc $rc, $(cat "$dir/o")"
rc=0; "$bin" backup --data-dir "$dir/nope" --out "$dir/b2" >"$dir/o" 2>&1 || rc=$?
[ "$rc" -eq 2 ] && [ ! -e "$dir/b2" ] || fail "a missing --data-dir: rc $rc"
ln -s /etc/passwd "$data/link"
rc=0; "$bin" backup --data-dir "$data" --out "$dir/b3" >"$dir/o" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q 'symlink' "$dir/o" || fail "a symlink: rc $rc, $(cat "$dir/o")"
echo "ok: backup of a running bank with $in_backup of 200 deposits, restored and verified"
