/* The platform's audit trail against the real `paygate platform` (docs/audit.md): logins that
 * fail and succeed, the operator API refused, a trade created, paid from the wallet and
 * refunded each leave their entry; /operator/audit shows them (in Chinese by default) and
 * filters them, and only to the operator; a restart with another config file is a
 * config.change. Then, on the stopped platform's database: `paygate audit verify` finds the
 * log intact, and catches an entry edited, one deleted and two reordered directly in SQLite
 * (the sqlite3 tool), each named. */
#include "harness.h"
#include "lib/harness.h"

#include "crypto/crypto.h"
#include "http/client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OP_TOKEN "op-token-audit-0123456789abcdef"
#define LOGIN    "13800000009"

static struct h_platform pf;
static struct h_merchant ma;
static char trade[64];

/* GET path (with the operator's Bearer token unless bearer is false); the page into *body. */
static long get_page(const char *path, bool bearer, char **body)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", pf.url, path);
    const char *headers[] = {bearer ? "Authorization: Bearer " OP_TOKEN : NULL, NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    assert_int_equal(pay_http_client_request("GET", url, headers, NULL, 0, &opt, &r, NULL), 0);
    long status = r.status;
    *body = strdup(pay_buf_str(&r.body));
    pay_http_client_response_fini(&r);
    return status;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void actions(void **state)
{
    (void)state;
    assert_string_equal(h_wallet_login(&pf, LOGIN, "not the password"), "");
    assert_string_equal(h_wallet_login(&pf, "13899999999", "nobody's password"), "");
    snprintf(trade, sizeof trade, "%s", h_create_trade(&pf, &ma, "audit-1", "12.30", NULL));
    assert_int_equal(h_cashier_pay_wallet(&pf, trade, LOGIN, "correct horse", "246810"), 200);
    char path[128];
    struct h_reply r;
    snprintf(path, sizeof path, "/v1/trades/%s/refunds", trade);
    h_call(&pf, &ma, "POST", path,
           "{\"out_refund_no\":\"audit-r1\",\"amount\":{\"value\":\"2.30\",\"currency\":\"CNY\"}}",
           "audit-r1", &r);
    if (r.status != 201)
        print_error("%s\n", r.body);
    assert_int_equal(r.status, 201);
    h_reply_fini(&r);
    h_call_raw(&pf, "POST", "/operator/v1/merchants", "{}", "Bearer wrong-token-0123456789abcdef",
               NULL, "", &r);
    assert_int_equal(r.status, 401);
    h_reply_fini(&r);
}

static void console(void **state)
{
    (void)state;
    char *page = NULL;
    /* not for anyone else: the login form, no entry */
    assert_int_equal(get_page("/operator/audit", false, &page), 401);
    assert_int_equal(count(page, "audit-entry"), 0);
    free(page);
    assert_int_equal(get_page("/operator/audit", true, &page), 200);
    assert_non_null(strstr(page, "审计日志")); /* Chinese by default */
    assert_non_null(strstr(page, "data-action=\"server.start\""));
    assert_non_null(strstr(page, "data-action=\"merchant.add\" data-actor=\"operator\""));
    assert_non_null(strstr(page, "data-action=\"wallet.sandbox_credit\""));
    free(page);
    /* the refused logins: the known consumer's and the unknown login's */
    assert_int_equal(get_page("/operator/audit?action=login&outcome=refused", true, &page), 200);
    assert_int_equal(count(page, "class=\"audit-entry refused\""), 2);
    assert_int_equal(count(page, "data-outcome=\"CREDENTIALS_INVALID\""), 2);
    assert_non_null(strstr(page, "data-target=\"13899999999\""));
    assert_non_null(strstr(page, "no such login"));
    free(page);
    /* the successful one, with where it came from */
    assert_int_equal(get_page("/operator/audit?action=login&outcome=ok", true, &page), 200);
    assert_int_equal(count(page, "class=\"audit-entry\""), 1);
    assert_non_null(strstr(page, "<td>127.0.0.1</td>"));
    free(page);
    /* the trade's money: created, paid, refunded, by whom and how much */
    char path[160];
    snprintf(path, sizeof path, "/operator/audit?target=%s", trade);
    assert_int_equal(get_page(path, true, &page), 200);
    assert_int_equal(count(page, "class=\"audit-entry\""), 2);
    assert_non_null(strstr(page, "data-action=\"trade.create\" data-actor=\"merchant:m_a\""));
    assert_non_null(strstr(page, "data-action=\"trade.pay\" data-actor=\"consumer:cu_"));
    assert_non_null(strstr(page, "amount_minor=1230 currency=CNY method=wallet"));
    free(page);
    assert_int_equal(get_page("/operator/audit?action=refund.&actor=merchant%3Am_a", true, &page),
                     200);
    assert_int_equal(count(page, "class=\"audit-entry\""), 1);
    assert_non_null(strstr(page, "amount_minor=230 currency=CNY"));
    free(page);
    assert_int_equal(get_page("/operator/audit?action=operator.api", true, &page), 200);
    assert_int_equal(count(page, "data-outcome=\"UNAUTHENTICATED\""), 1);
    free(page);
    /* a bad filter is named */
    assert_int_equal(get_page("/operator/audit?from=yesterday", true, &page), 400);
    assert_non_null(strstr(page, "from"));
    free(page);
}

static void config_change(void **state)
{
    (void)state;
    h_stop(&pf, SIGTERM);
    assert_int_equal(th_sh("sed -i 's/^timeout = 2s/timeout = 3s/' '%s/platform.ini'", pf.dir), 0);
    h_start(&pf);
    char *page = NULL;
    assert_int_equal(get_page("/operator/audit?action=config.change", true, &page), 200);
    assert_int_equal(count(page, "class=\"audit-entry\""), 1);
    assert_non_null(strstr(page, " was="));
    free(page);
    h_stop(&pf, SIGTERM);
}

/* Runs `paygate audit verify` on db; returns its exit status and its output in out. */
static int verify(const char *db, char *out, size_t n)
{
    char report[400];
    snprintf(report, sizeof report, "%s/verify.txt", pf.dir);
    int rc = th_sh("'%s' audit verify --database '%s' > '%s' 2>&1", h_paygate, db, report);
    th_read_text(report, out, n);
    return rc;
}

/* A copy of the stopped platform's database beside it (so verify finds the platform's key),
 * changed by sql through the sqlite3 tool as anyone with the file would. */
static void tampered_copy(const char *name, const char *sql, char *db, size_t n)
{
    snprintf(db, n, "%s/%s.db", pf.dir, name);
    assert_int_equal(th_sh("sqlite3 '%s/platform.db' \".backup '%s'\"", pf.dir, db), 0);
    assert_int_equal(th_sh("sqlite3 '%s' \"DROP TRIGGER audit_log_no_update;"
                           " DROP TRIGGER audit_log_no_delete; %s\"",
                           db, sql),
                     0);
}

/* The number of the entry matching a condition, from the sqlite3 tool. */
static int seq_of(const char *where)
{
    char file[400], text[64];
    snprintf(file, sizeof file, "%s/seq.txt", pf.dir);
    assert_int_equal(th_sh("sqlite3 '%s/platform.db' \"SELECT seq FROM audit_log WHERE %s\" > '%s'",
                           pf.dir, where, file),
                     0);
    th_read_text(file, text, sizeof text);
    int seq = (int)strtol(text, NULL, 10);
    assert_true(seq > 0);
    return seq;
}

static void verify_catches(void **state)
{
    (void)state;
    char db[400], out[8192], sql[256], want[160];
    snprintf(db, sizeof db, "%s/platform.db", pf.dir);
    if (verify(db, out, sizeof out) != 0)
        print_error("%s", out);
    assert_int_equal(verify(db, out, sizeof out), 0);
    assert_non_null(strstr(out, "is intact"));
    int pay = seq_of("action = 'trade.pay'"), login = seq_of("action = 'login' AND outcome = 'ok'");
    /* the payment's amount edited */
    snprintf(sql, sizeof sql,
             "UPDATE audit_log SET detail = replace(detail, 'amount_minor=1230', 'amount_minor=30')"
             " WHERE seq = %d;",
             pay);
    tampered_copy("edited", sql, db, sizeof db);
    assert_int_equal(verify(db, out, sizeof out), 1);
    snprintf(want, sizeof want, "entry %d: edited", pay);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "NOT intact"));
    /* the successful login deleted */
    snprintf(sql, sizeof sql, "DELETE FROM audit_log WHERE seq = %d;", login);
    tampered_copy("deleted", sql, db, sizeof db);
    assert_int_equal(verify(db, out, sizeof out), 1);
    snprintf(want, sizeof want, "entry %d: missing (removed)", login);
    assert_non_null(strstr(out, want));
    /* the payment and the entry before it swapped */
    snprintf(sql, sizeof sql,
             "UPDATE audit_log SET seq = -1 WHERE seq = %d; UPDATE audit_log SET seq = %d WHERE"
             " seq = %d; UPDATE audit_log SET seq = %d WHERE seq = -1;",
             pay, pay, pay - 1, pay - 1);
    tampered_copy("reordered", sql, db, sizeof db);
    assert_int_equal(verify(db, out, sizeof out), 1);
    snprintf(want, sizeof want, "entry %d: out of order", pay - 1);
    assert_non_null(strstr(out, want));
    /* the auditor's own copy of the public key; another key signed nothing here */
    char pem_path[400];
    snprintf(db, sizeof db, "%s/platform.db", pf.dir);
    snprintf(pem_path, sizeof pem_path, "%s/platform-public.pem", pf.dir);
    char *pem = pay_ed25519_pk_to_pem(pf.pk);
    assert_non_null(pem);
    FILE *f = fopen(pem_path, "w");
    assert_non_null(f);
    fputs(pem, f);
    fclose(f);
    free(pem);
    assert_int_equal(th_sh("'%s' audit verify --database '%s' --public-key '%s' > /dev/null",
                           h_paygate, db, pem_path),
                     0);
    struct pay_ed25519_key other;
    pay_ed25519_generate(&other);
    pem = pay_ed25519_pk_to_pem(other.pk);
    f = fopen(pem_path, "w");
    assert_non_null(f);
    fputs(pem, f);
    fclose(f);
    free(pem);
    assert_int_equal(th_sh("'%s' audit verify --database '%s' --public-key '%s' | grep -q"
                           " 'not signed by this server'",
                           h_paygate, db, pem_path),
                     0);
    /* usage */
    assert_int_equal(th_sh("'%s' audit verify --help | grep -q -- --database", h_paygate), 0);
    assert_int_equal(th_sh("'%s' audit verify > /dev/null 2>&1", h_paygate), 2);
}

static int setup(void **state)
{
    (void)state;
    h_setup(&pf, &ma, NULL, "operator_token = " OP_TOKEN "\n");
    h_add_consumer(&pf, LOGIN, "correct horse", "246810");
    h_wallet_credit(&pf, LOGIN, "100.00");
    h_start(&pf);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    h_teardown(&pf);
    return 0;
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(actions),
        cmocka_unit_test(console),
        cmocka_unit_test(config_change),
        cmocka_unit_test(verify_catches),
    };
    return th_finish(cmocka_run_group_tests(tests, setup, th_teardown(teardown)));
}
