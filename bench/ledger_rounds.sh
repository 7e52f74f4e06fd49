#!/bin/sh
# Runs bench/ledger binaries interleaved (A B A B ...) and prints, per binary, the median and
# the range of each figure: on a shared machine the rates move a lot between runs and only
# interleaved medians compare two builds fairly (docs/performance.md).
# usage: bench/ledger_rounds.sh ROUNDS "DIR SECONDS PER_CMD ACCOUNTS" BINARY...
#   e.g. bench/ledger_rounds.sh 3 "/var/tmp 5 1 1000" /var/tmp/ledger-before build/bench/ledger
set -eu
if [ $# -lt 3 ]; then
    echo "usage: $0 ROUNDS \"DIR SECONDS PER_CMD ACCOUNTS\" BINARY..." >&2
    exit 2
fi
rounds=$1
args=$2
shift 2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
r=1
while [ "$r" -le "$rounds" ]; do
    i=0
    for bin in "$@"; do
        i=$((i + 1))
        # shellcheck disable=SC2086 # args are words on purpose
        line=$("$bin" $args 2>/dev/null | grep '^result ')
        echo "round $r $bin: $line" >&2
        echo "$i $line" >>"$out"
    done
    r=$((r + 1))
done
i=0
for bin in "$@"; do
    i=$((i + 1))
    echo "$bin ($rounds runs, args: $args): median (min-max)"
    for key in rate committer_us cpu_us written_b batch single fsyncs ratio; do
        grep "^$i " "$out" | tr ' ' '\n' | sed -n "s/^$key=//p" | sort -g |
            awk -v k="$key" '{ v[NR] = $1 }
                END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
                      printf "  %-13s %12g  (%g-%g)\n", k, m, v[1], v[NR] }'
    done
done
