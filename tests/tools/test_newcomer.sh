#!/usr/bin/env bash
# The command line and the docs as a newcomer meets them (issue 9, point 9). For every
# `paygate` command: --help lists each option with what it does (exit 0); an unknown option
# exits 2 naming it; an option without its value says so; a missing required option is named;
# every --check-config says "configuration OK: <file>" in the same words. The docs point at
# docs/architecture.md (no DESIGN.md, which is not in the repository), and the README says what
# a bare Debian 12 needs before its first two commands, `make demo` and `make test`.
# usage: test_newcomer.sh <paygate binary> <source root>
set -euo pipefail
bin=$1 src=$2
source "$src/tests/lib/tmp.sh"
test_tmpdir newcomer
trap 'test_finish $?' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run() { # expected exit status, then the paygate arguments; output in $dir/out
  local want=$1 rc=0
  shift
  "$bin" "$@" >"$dir/out" 2>&1 </dev/null || rc=$?
  [ "$rc" -eq "$want" ] || fail "paygate $* exited $rc, not $want: $(head -5 "$dir/out")"
}
says() { # the output of the last run holds this text (fixed string)
  grep -qF -- "$1" "$dir/out" || fail "expected '$1' in: $(head -5 "$dir/out")"
}

commands=("demo" "bank" "bank serve" "bank merchant add" "bank merchant revoke" "bank customer add"
  "bank account add" "bank card add" "bank deposit" "bank movements" "platform"
  "platform merchant add" "platform merchant suspend" "platform merchant activate"
  "platform keygen" "platform consumer add" "platform wallet credit" "shop" "ledger verify"
  "errors" "backup")

# 1. --help: every option line has its help text, on the same line after two spaces or on the
#    next line, indented
for c in "${commands[@]}"; do
  read -ra words <<<"$c"
  run 0 "${words[@]}" --help
  grep -q '^usage' "$dir/out" || fail "$c --help has no usage line"
  awk -v cmd="$c" '
    pending { if ($0 !~ /^                    +[^ ]/) { print cmd ": no help for " pending; bad = 1 } pending = "" }
    /^  --[a-z]/ {
      options++
      if ($0 !~ /^  --[a-z-]+( [^ ]+)?  +[^ ]/) pending = $1
    }
    END { if (pending) { print cmd ": no help for " pending; bad = 1 }
          if (options == 0 && cmd != "ledger verify") { print cmd ": --help lists no options"; bad = 1 }
          exit bad }' "$dir/out" || fail "$c --help: $(cat "$dir/out")"
done
run 0 bank --help
says "--fast-hash               Argon2id at its minimum cost"
says "--print-url-file FILE     once listening, write the bound URL"

# 2. an unknown option exits 2 and names it, before anything starts or is created
for c in "${commands[@]}"; do
  read -ra words <<<"$c"
  run 2 "${words[@]}" --bogus-option
  says "unknown option '--bogus-option'"
done
run 2 bogus-command
says "unknown command 'bogus-command'"
run 2 platform bogus-command
says "unknown command 'bogus-command'"
run 2 bank merchant bogus
says "unknown command 'bogus'"
run 2 errors extra
says "unexpected argument 'extra'"

# 3. an option without its value says so, naming it
run 2 demo --data-dir
says "paygate demo: --data-dir needs a value"
run 2 demo --base-port 80
says "--base-port '80': 0 (any free ports) or 1024-"
run 2 platform merchant add --data-dir
says "--data-dir needs a value"
run 2 bank movements --account
says "--account needs a value"
run 2 shop --platform-url
says "--platform-url needs a value"
run 2 platform --listen
says "--listen needs a value"

# 4. a missing required option is named, not the whole usage printed
run 2 platform merchant add --id m1 --name M --public-key-file k.pub
says "paygate platform merchant add: --data-dir is required"
[ "$(wc -l <"$dir/out")" -eq 1 ] || fail "more than the one line: $(cat "$dir/out")"
run 2 platform merchant add --data-dir "$dir/pf" --id m1 --public-key-file k.pub
says "--name is required"
run 2 platform consumer add --data-dir "$dir/pf" --login 13800000009 --password pw
says "--pay-password is required"
run 2 platform keygen
says "--out is required"
run 2 bank customer add --data-dir "$dir/bank" --name Li
says "--phone is required"
run 2 bank customer add --name Li --phone 13800000009
says "--data-dir is required"
run 2 shop --platform-url http://127.0.0.1:1 --merchant-id shop --key-file k
says "--data-dir (or [server] data_dir) is required"
run 2 ledger verify
says "the database DB is required"
run 2 audit verify
says "paygate audit verify: --database is required"
run 2 audit verify --database x.db --bogus
says "unknown option '--bogus'"
[ ! -e "$dir/pf" ] && [ ! -e "$dir/bank" ] || fail "a refused command line created a data dir"

# 5. --check-config: the same words everywhere, naming the file
for s in bank platform shop switch; do
  run 0 "$s" --config "$src/etc/$s.example.ini" --data-dir "$dir/$s" --check-config
  grep -qx "paygate $s: configuration OK: $src/etc/$s.example.ini" "$dir/out" ||
    fail "$s --check-config: $(cat "$dir/out")"
done
run 0 platform --check-config
grep -qx "paygate platform: configuration OK: (no --config file)" "$dir/out" || fail "$(cat "$dir/out")"

# 6. the docs: the architecture page exists and is what they point at; no DESIGN.md
[ -s "$src/docs/architecture.md" ] || fail "docs/architecture.md is missing"
if grep -rn 'DESIGN\.md' "$src/README.md" "$src/docs" "$src/src" "$src/etc" >"$dir/out"; then
  fail "references to DESIGN.md, which is not in the repository: $(head -3 "$dir/out")"
fi
grep -q '(architecture.md)' "$src/docs/README.md" || fail "docs/README.md does not link architecture.md"
grep -q 'docs/architecture.md' "$src/README.md" || fail "README.md does not point at docs/architecture.md"

# 7. the README: its first two commands stay `make demo` and `make test`, and before them it
#    says what a bare Debian 12 needs (git and make; sudo when not root)
cmds=$(grep -E '^    [a-z]' "$src/README.md" | head -3)
[ "$(echo "$cmds" | sed -n 1p)" = "    make demo" ] && [ "$(echo "$cmds" | sed -n 2p)" = "    make test" ] ||
  fail "the README's first two commands are not make demo, make test: $cmds"
before=$(sed -n '1,/^    make demo$/p' "$src/README.md")
for w in git make sudo 'Debian 12'; do
  echo "$before" | grep -qw -- "$w" || fail "the README does not say before make demo that it needs $w"
done
echo "newcomer test: ok"
