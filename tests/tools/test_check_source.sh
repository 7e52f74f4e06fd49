#!/usr/bin/env bash
# check_source.sh on a small tree of its own: the money rules find raw + and - on amounts
# (identifiers ending in _minor) and assert() in src/, and leave alone what is not code (SQL
# in string literals, comments) and src/core/money.c, where the checked helpers live.
# Usage: test_check_source.sh SOURCE_ROOT
set -u
root=${1:?usage: test_check_source.sh SOURCE_ROOT}
source "$(dirname "$0")/../lib/tmp.sh"
test_tmpdir check-source
tree=$dir
trap 'test_finish $?' EXIT
cp "$root/.clang-format" "$tree/"
mkdir -p "$tree/src/x" "$tree/src/core"
cat >"$tree/src/x/bad.c" <<'C'
/* A money path written the wrong way. */
#include <stdint.h>

struct t {
    int64_t amount_minor, refunded_minor;
};

static const char sql[] = "SELECT credits_posted - debits_posted, amount_minor - 1 FROM x";

int64_t left(const struct t *t)
{
    /* t->amount_minor - t->refunded_minor in a comment is fine */
    return t->amount_minor - t->refunded_minor;
}

int64_t more(int64_t total_minor, int64_t fee)
{
    total_minor += fee;
    return fee + total_minor;
}

void check(int x)
{
    assert(x > 0);
    PAY_ASSERT(x > 0);
    _Static_assert(sizeof(int) >= 2, "int");
}
C
cat >"$tree/src/core/money.c" <<'C'
#include <stdint.h>

int64_t raw(int64_t a_minor, int64_t b_minor)
{
    return a_minor - b_minor;
}
C
expected='src/x/bad.c:13: raw + or - on an amount: use pay_money_add / pay_money_sub
src/x/bad.c:18: raw + or - on an amount: use pay_money_add / pay_money_sub
src/x/bad.c:19: raw + or - on an amount: use pay_money_add / pay_money_sub
src/x/bad.c:24: assert() vanishes under NDEBUG: use PAY_ASSERT (core/assertions.h)'
bash "$root/tests/tools/check_source.sh" "$tree" >"$tree/out.txt"
rc=$?
out=$(grep -v '^check-source:' "$tree/out.txt")
if [ "$out" != "$expected" ]; then
    printf 'FAIL: check_source.sh reported\n%s\nexpected\n%s\n' "$out" "$expected"
    exit 1
fi
if [ "$rc" -eq 0 ]; then
    echo "FAIL: check_source.sh passed a tree with four problems"
    exit 1
fi
rm "$tree/src/x/bad.c"
if ! bash "$root/tests/tools/check_source.sh" "$tree" >/dev/null; then
    echo "FAIL: check_source.sh refused src/core/money.c, where raw arithmetic is the point"
    exit 1
fi
echo "ok: raw amount arithmetic and assert() found, SQL, comments and money.c left alone"
