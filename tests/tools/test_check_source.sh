#!/usr/bin/env bash
# check_source.sh on a small tree of its own, one planted violation (or more) per rule: the
# money rules find raw + and - on amounts (identifiers ending in _minor) and assert() in src/,
# and leave alone what is not code (SQL in string literals, comments) and src/core/money.c,
# where the checked helpers live; randomness outside src/crypto is found, inside it is not.
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
mkdir -p "$tree/src/crypto"
cat >"$tree/src/x/rnd.c" <<'C'
#include <stdlib.h>
#include <sys/random.h>

static const char sql[] = "SELECT random() FROM t"; /* SQL: not ours */

unsigned jitter(void *buf, size_t n)
{
    (void)getrandom(buf, n, 0);
    return (unsigned)rand() % 7 + next_random();
}

static const char *dev = "/dev/urandom";
C
cat >"$tree/src/crypto/rnd.c" <<'C'
#include <sys/random.h>

void fill(void *buf, size_t n)
{
    (void)getrandom(buf, n, 0);
}
C
mkdir -p "$tree/src/cli" "$tree/src/ledger" "$tree/tests/tools"
mkdir -p "$tree/src/http"
cat >"$tree/src/x/lim.c" <<'C'
#define ROWS_MAX     200
#define LEASE_MS     (2 * 60 * 1000LL)               /* a lease */
#define SEALED_MAX   PAY_AEAD_SEALED_LEN(PAY_ID_MAX) /* derived: may stay */
#define DAY_MS       86400000LL                      /* a unit, not a limit */
#define X_TIMEOUT_S  30
#define PAY_NAME_MAX 64
C
cat >"$tree/src/core/limits.h" <<'C'
#define PAY_ROWS_MAX 200
C
cat >"$tree/src/x/err.c" <<'C'
void fail(struct api_call *c, const char *code, const char *message)
{
    json_t *inner = json_pack("{s:s, s:s}", "code", code, "message", message);
    reply(c, 400, json_pack("{s:o}", "error", inner));
    json_object_set_new(o, "error", json_pack("{s:s}", "code", code));
    send_raw(c, 500, "{\"error\":{\"code\":\"INTERNAL\"}}");
    json_object_set_new(page, "error", json_string(message)); /* a page's notice: fine */
}
C
cat >"$tree/src/http/response.c" <<'C'
void respond(struct req *r, json_t *inner)
{
    respond_json(r, 400, json_pack("{s:o}", "error", inner));
}
C
cat >"$tree/src/x/copy.c" <<'C'
#include <stdio.h>

void copies(char *dst, size_t n, const char *src, char (*rows)[8], int i)
{
    snprintf(dst, n, "%s", src);
    snprintf(rows[i], sizeof rows[i], "%s", get(src, 1));
    snprintf(a_rather_long_destination_name, sizeof a_rather_long_destination_name, "%s",
             a_long_source);
    snprintf(dst, n, "%s-%s", src, src); /* a format, not a copy */
    snprintf(dst, n, "%s%d", src, i);
    pay_str_copy(dst, n, src);
}
C
# function length: LINES lines between the braces (a blank line before each function)
long_function() { # NAME LINES
    printf '\nint %s(int x)\n{\n' "$1"
    for ((i = 1; i < $2; i++)); do printf '    x += %d;\n' "$i"; done
    printf '    return x;\n}\n'
}
{
    long_function at_limit 70
    long_function too_long 71
    long_function listed_grew 75
    long_function listed_shrank 70
    long_function listed_ok 72
} | sed 1d >"$tree/src/x/long.c"
cat >"$tree/tests/tools/long_functions.txt" <<'L'
# path        function       lines
src/x/long.c  listed_grew    74
src/x/long.c  listed_shrank  80
src/x/long.c  listed_ok      72
src/x/gone.c  listed_gone    90
L
cat >"$tree/src/x/sql.c" <<'C'
static const char *q1 = "SELECT id FROM ledger_accounts WHERE code = $1";
static const char *q2 = "SELECT balance FROM pf_ledger_view"; /* not a ledger table */
static const char *q3 = "SELECT a FROM t"
                        " JOIN ledger_transfers USING (id)";
static const char *log = "pay_ledger_result_name"; /* a function's name, not a table */
C
cat >"$tree/src/ledger/own.c" <<'C'
static const char *q = "SELECT id FROM ledger_accounts";
C
cat >"$tree/src/x/up.c" <<'C'
#include "cli/commands.h"

int helper(int argc, char **argv)
{
    return pay_cmd_x(argc, argv);
}
C
cat >"$tree/src/x/cmd_x.c" <<'C'
#include "x/x.h"

int pay_cmd_x(int argc, char **argv)
{
    return pay_cmd_x_more(argc, argv);
}
C
cat >"$tree/src/cli/main.c" <<'C'
#include "cli/commands.h"

int main(int argc, char **argv)
{
    return pay_cmd_x(argc, argv);
}
C
mkdir -p "$tree/src/srv" "$tree/src/http"
cat >"$tree/src/srv/server.c" <<'C'
static const pay_routes_fn tables[] = {pay_srv_listed_routes};

static int add(struct srv *s)
{
    return pay_http_server_add_routes(s->http, all, n, err);
}
C
cat >"$tree/src/srv/pages.c" <<'C'
const struct pay_http_route *pay_srv_listed_routes(size_t *n)
{
    return listed;
}

const struct pay_http_route *pay_srv_forgotten_routes(size_t *n)
{
    return forgotten;
}

int self(struct srv *s)
{
    return pay_http_server_add_routes(s->http, r, 1, err);
}
C
cat >"$tree/src/http/sandbox.c" <<'C'
int sandbox(struct pay_http_server *srv)
{
    return pay_http_server_add_routes(srv, r, 1, err);
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
src/x/bad.c:24: assert() vanishes under NDEBUG: use PAY_ASSERT (core/assertions.h)
src/x/sql.c:1: SQL on a ledger table outside src/ledger: use the ledger API (ledger/ledger.h)
src/x/sql.c:4: SQL on a ledger table outside src/ledger: use the ledger API (ledger/ledger.h)
src/x/long.c:76: function too_long is 71 lines (at most 70): split it
src/x/long.c:151: function listed_grew grew to 75 lines (tests/tools/long_functions.txt allows 74; split it)
src/x/long.c:230: function listed_shrank is 70 lines now: remove it from tests/tools/long_functions.txt
src/x/gone.c: function listed_gone is not there any more: remove it from tests/tools/long_functions.txt
src/x/copy.c:5: a string copied with snprintf("%s"): use pay_str_copy (core/buf.h), which says when it cut
src/x/copy.c:6: a string copied with snprintf("%s"): use pay_str_copy (core/buf.h), which says when it cut
src/x/copy.c:7: a string copied with snprintf("%s"): use pay_str_copy (core/buf.h), which says when it cut
src/x/err.c:4: an error body built outside the one response path: pay_http_respond_error (http/server.h)
src/x/err.c:5: an error body built outside the one response path: pay_http_respond_error (http/server.h)
src/x/err.c:6: an error body built outside the one response path: pay_http_respond_error (http/server.h)
src/x/lim.c:1: limit ROWS_MAX defined outside src/core/limits.h: move it there, with its reason
src/x/lim.c:2: limit LEASE_MS defined outside src/core/limits.h: move it there, with its reason
src/x/lim.c:5: limit X_TIMEOUT_S defined outside src/core/limits.h: move it there, with its reason
src/x/lim.c:6: limit PAY_NAME_MAX defined outside src/core/limits.h: move it there, with its reason
src/x/up.c:1: includes src/cli: the binary calls the modules, not the other way round
src/x/up.c:5: library code calls a command (pay_cmd_*): commands call the library, not the other way round
src/x/rnd.c:2: randomness outside the crypto module: use pay_random_bytes / pay_random_uniform (crypto/crypto.h)
src/x/rnd.c:8: randomness outside the crypto module: use pay_random_bytes / pay_random_uniform (crypto/crypto.h)
src/x/rnd.c:9: randomness outside the crypto module: use pay_random_bytes / pay_random_uniform (crypto/crypto.h)
src/srv/pages.c:6: route table pay_srv_forgotten_routes is not listed in src/srv/server.c: its routes are never served
src/srv/pages.c:13: registers routes itself: export a route table for src/srv/server.c to walk (docs/hacking.md, "Platform routes")
src/x/rnd.c:12: randomness outside the crypto module: use pay_random_bytes / pay_random_uniform (crypto/crypto.h)'
bash "$root/tests/tools/check_source.sh" "$tree" >"$tree/out.txt"
rc=$?
out=$(grep -v '^check-source:' "$tree/out.txt" | LC_ALL=C sort)
expected=$(LC_ALL=C sort <<<"$expected")
if [ "$out" != "$expected" ]; then
    printf 'FAIL: check_source.sh reported\n%s\nexpected\n%s\n' "$out" "$expected"
    exit 1
fi
if [ "$rc" -eq 0 ]; then
    echo "FAIL: check_source.sh passed a tree with problems"
    exit 1
fi
cat >"$tree/src/srv/pages.c" <<'C'
const struct pay_http_route *pay_srv_listed_routes(size_t *n)
{
    return listed;
}
C
rm "$tree/src/x/bad.c" "$tree/src/x/rnd.c" "$tree/src/x/up.c" "$tree/src/x/sql.c" "$tree/src/x/copy.c" "$tree/src/x/err.c" "$tree/src/x/lim.c"
sed -i '/listed_shrank\|listed_gone\|listed_grew/d' "$tree/tests/tools/long_functions.txt"
long_function listed_ok 72 | sed 1d >"$tree/src/x/long.c"
if ! bash "$root/tests/tools/check_source.sh" "$tree" >"$tree/out.txt"; then
    echo "FAIL: check_source.sh refused what the rules allow (money.c, src/crypto):"
    cat "$tree/out.txt"
    exit 1
fi
echo "ok: every planted violation found; SQL, comments, money.c, src/crypto, src/cli, cmd_*.c, src/ledger, src/http, a listed route table, server.c registering and listed long functions left alone"
