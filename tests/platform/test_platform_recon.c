/* Reconciliation with a bank (对账) against a real `paygate bank` and the platform, both on the
 * test clock, moved together: on one day money comes in by top-ups, goes out by a withdrawal,
 * and two online-banking payments reach the bank whose notifications never reach us (the
 * platform's public URL is a port nobody listens on). The bank then makes its own movements
 * through its admin page: a deposit into our reserve account (长款, at the bank only), an
 * adjustment of the withdrawal (amount), the reversal of a top-up (短款, ours only). The next
 * morning the platform's scheduler reconciles the day by itself; `paygate platform reconcile`
 * reruns it idempotently. Each difference is found with its class; the operator resolves them
 * on the console: the lost payments accepted from the bank (one trade paid, the closed one
 * refunded through the bank), the deposit and the adjustment written off to suspense, the
 * reversal left to the bank. Ledger, trial balance and `ledger verify` at the end. */
#include "harness.h"
#include "lib/clock.h"
#include "lib/harness.h"
#include "sandbox_bank.h"

#include "core/buf.h"
#include "http/client.h"
#include "http/codec.h"
#include "ledger/ledger.h"
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define DAY_MS   86400000LL
#define HOUR_MS  3600000LL
#define LOCAL_MS (8 * HOUR_MS) /* Asia/Shanghai, both servers' default zone: no DST */
#define BUYER    "13900000009"
#define PAYPW    "135790"
#define OPTOKEN  "op-token-0123456789abcdefghij"

static struct h_platform pf;
static struct h_merchant ma;
static struct h_bank bk = {.code = "icbc", .bin = "622202"};
static int dead_fd = -1; /* the platform's public URL: refused, so notifications never come */
static int64_t day_ms;   /* 10:00 local of the day reconciled (UTC ms) */
static char day[16];     /* its date */
static char paid_trade[64], closed_trade[64], topup2[80], withdrawal[80];

/* The bank's notifications are retried a month later: within the test, a lost one stays lost. */
static void bank_start(void)
{
    h_bank_init(&bk, "paygate-rcbank");
    h_bank_serve(&bk, " --fake-clock --notify-timeout 1s --notify-retry 30d");
}

/* Both clocks to the same instant (each started at its own real start time). */
static void clocks_to(int64_t utc_ms)
{
    const char *urls[] = {pf.url, bk.url};
    for (int i = 0; i < 2; i++) {
        int64_t now = th_clock_now_ms(urls[i]);
        assert_true(now > 0 && utc_ms >= now);
        assert_int_equal(th_clock_advance(urls[i], utc_ms - now), 0);
    }
}

static void date_of(int64_t utc_ms, char out[16])
{
    time_t t = (time_t)((utc_ms + LOCAL_MS) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

static int group_setup(void **state)
{
    bank_start();
    char dead[128], extra[512];
    dead_fd = th_loopback_socket(false, dead, sizeof dead);
    assert_true(dead_fd >= 0);
    snprintf(extra, sizeof extra,
             "timeout_min = 1m\nbanks = icbc\nsandbox_sms = true\nreconcile_time = 09:00\n"
             "operator_token = " OPTOKEN "\n[server]\nfake_clock = true\npublic_url = %s",
             dead);
    h_setup(&pf, &ma, NULL, extra);
    h_add_consumer(&pf, BUYER, "correct horse", PAYPW);
    h_bank_configure(&pf, &bk);
    h_start(&pf);
    /* the day: 10:00 local, two days ahead of both clocks */
    int64_t now = th_clock_now_ms(bk.url), pnow = th_clock_now_ms(pf.url);
    now = now > pnow ? now : pnow;
    day_ms = ((now + LOCAL_MS) / DAY_MS + 2) * DAY_MS + 10 * HOUR_MS - LOCAL_MS;
    date_of(day_ms, day);
    clocks_to(day_ms);
    return 0;
}

static int group_teardown(void **state)
{
    h_teardown(&pf);
    h_bank_stop(&bk);
    if (dead_fd >= 0)
        close(dead_fd);
    return 0;
}

/* --- helpers ----------------------------------------------------------------------------- */

/* The value of attribute attr after the first occurrence of marker in page ("" if none). */
static void attr_after(const char *page, const char *marker, const char *attr, char *out, size_t n)
{
    const char *p = strstr(page, marker);
    char key[64];
    snprintf(key, sizeof key, "%s=\"", attr);
    p = p ? strstr(p, key) : NULL;
    out[0] = '\0';
    if (p)
        snprintf(out, n, "%.*s", (int)strcspn(p + strlen(key), "\""), p + strlen(key));
}

/* The bank's admin page as a browser on loopback: GET, then a form POSTed with its csrf. */
static void bank_admin(struct h_browser *b, const char *path, const char *fields)
{
    char url[512], form[1024];
    snprintf(url, sizeof url, "%s/admin/movements?account=%s", bk.url, bk.acct);
    h_browser_req(b, "GET", url, NULL, true);
    assert_int_equal(b->status, 200);
    snprintf(form, sizeof form, "csrf=%s&account=%s&%s", b->last_csrf, bk.acct, fields);
    snprintf(url, sizeof url, "%s%s", bk.url, path);
    h_browser_req(b, "POST", url, form, true);
    assert_int_equal(b->status, 303);
}

/* The operator console's reconciliation page (Bearer token); caller frees. */
static char *recon_page(void)
{
    char url[256], auth[128];
    snprintf(url, sizeof url, "%s/operator/reconciliation", pf.url);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", OPTOKEN);
    const char *hdr[] = {auth, NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response res = {0};
    assert_int_equal(pay_http_client_request("GET", url, hdr, NULL, 0, &opt, &res, NULL),
                     PAY_ERR_OK);
    assert_int_equal(res.status, 200);
    char *page = strdup(pay_buf_str(&res.body));
    pay_http_client_response_fini(&res);
    return page;
}

/* How often needle occurs in text. */
static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The open difference of class cls: its id into id; its row's start into row (may be NULL). */
static void diff_of(const char *page, const char *cls, char id[64])
{
    char marker[96];
    snprintf(marker, sizeof marker, "data-class=\"%s\" data-status=\"open\"", cls);
    const char *p = strstr(page, marker);
    assert_non_null(p);
    const char *d = p;
    while (d > page && strncmp(d, "data-diff=\"", 11) != 0)
        d--;
    snprintf(id, 64, "%.*s", (int)strcspn(d + 11, "\""), d + 11);
    assert_true(strncmp(id, "rd_", 3) == 0);
}

/* POST .../resolve as the operator; the answer's status and page (caller frees page). */
static long resolve(const char *id, const char *resolution, char **page)
{
    char url[256], auth[128], form[256];
    snprintf(url, sizeof url, "%s/operator/reconciliation/%s/resolve", pf.url, id);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", OPTOKEN);
    snprintf(form, sizeof form, "resolution=%s&note=case+42", resolution);
    const char *hdr[] = {auth, "Content-Type: application/x-www-form-urlencoded", NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response res = {0};
    assert_int_equal(
        pay_http_client_request("POST", url, hdr, form, strlen(form), &opt, &res, NULL),
        PAY_ERR_OK);
    long status = res.status;
    *page = strdup(pay_buf_str(&res.body));
    pay_http_client_response_fini(&res);
    return status;
}

static const char *trade_field(const char *id, const char *field)
{
    return h_trade_field(&pf, &ma, id, field);
}

/* `paygate platform reconcile` for the day; its exit status, stdout into out. */
static int reconcile_cli(char *out, size_t n)
{
    char cmd[2048];
    snprintf(
        cmd, sizeof cmd,
        "'%s' platform reconcile --config %s/platform.ini --data-dir %s --database '%s' --date %s"
        " 2>>%s/cli.log",
        h_paygate, pf.dir, pf.dir, pf.db, day, pf.dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    out[fread(out, 1, n - 1, p)] = '\0';
    int rc = pclose(p);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* A trade paid at the bank's pages; the bank's notification goes to our dead public URL. */
static void pay_at_the_bank(const char *otn, const char *amount, const char *timeout, char *id)
{
    char body[256], url[256], form[256];
    snprintf(body, sizeof body,
             "{\"out_trade_no\":\"%s\",\"amount\":{\"value\":\"%s\",\"currency\":\"CNY\"},"
             "\"subject\":\"Tea\",\"timeout\":\"%s\"}",
             otn, amount, timeout);
    struct h_reply r;
    h_call(&pf, &ma, "POST", "/v1/trades", body, otn, &r);
    assert_int_equal(r.status, 201);
    snprintf(id, 64, "%s", h_str(r.json, "trade_id"));
    h_reply_fini(&r);
    struct h_browser b = {0};
    snprintf(url, sizeof url, "%s/cashier/%s", pf.url, id);
    h_browser_req(&b, "GET", url, NULL, false);
    snprintf(form, sizeof form, "csrf=%s&bank=icbc", b.csrf_cookie);
    snprintf(url, sizeof url, "%s/cashier/%s/pay/bank", pf.url, id);
    h_browser_req(&b, "POST", url, form, false);
    assert_non_null(strstr(b.page, "data-page=\"bank-redirect\""));
    static const char *const names[] = {"interfaceName", "interfaceVersion", "tranData",
                                        "merSignMsg", "merCert"};
    struct pay_buf f;
    pay_buf_init(&f, 65536);
    char *v = malloc(16384);
    for (size_t i = 0; i < 5; i++) {
        th_input_value(b.page, names[i], v, 16384); /* entities undone */
        assert_int_equal(pay_form_append(&f, names[i], v), 0);
    }
    free(v);
    snprintf(url, sizeof url, "%s/b2c/pay", bk.url);
    h_browser_req(&b, "POST", url, pay_buf_str(&f), true);
    pay_buf_fini(&f);
    assert_int_equal(b.status, 200);
    char pan[20], code[7];
    snprintf(pan, sizeof pan, "%s0000000015", bk.bin);
    h_bank_step(&b, bk.url, "/b2c/card", "cardNo", pan);
    h_bank_step(&b, bk.url, "/b2c/password", "password", "123456");
    h_bank_sms_code(bk.url, "13800000001", code);
    h_bank_step(&b, bk.url, "/b2c/sms", "smsCode", code);
    h_bank_step(&b, bk.url, "/b2c/confirm", NULL, NULL);
    assert_non_null(strstr(b.page, "data-page=\"result\""));
    assert_non_null(strstr(b.page, "data-status=\"paid\""));
    h_browser_fini(&b);
    assert_string_equal(trade_field(id, "state"), "WAIT_BUYER_PAY"); /* we never heard of it */
}

/* --- the day ------------------------------------------------------------------------------ */

/* A bound card tops the wallet up twice (500.00, 20.00); 50.00 is withdrawn to it. */
static void money_in_and_out(void **state)
{
    struct h_browser b = {0};
    char card[64], form[256];
    h_bank_bind_card(&pf, &bk, &b, BUYER, card);
    const char *amounts[] = {"500.00", "20.00"};
    for (int i = 0; i < 2; i++) {
        snprintf(form, sizeof form, "card_id=%s&amount=%s&pay_password=" PAYPW, card, amounts[i]);
        h_pf_post(&pf, &b, "/wallet/topup", form);
        assert_int_equal(b.status, 200);
    }
    snprintf(form, sizeof form, "card_id=%s&amount=50.00&pay_password=" PAYPW, card);
    h_pf_post(&pf, &b, "/wallet/withdraw", form);
    assert_int_equal(b.status, 200);
    assert_non_null(strstr(b.page, "id=\"balance\" data-amount=\"470.00\""));
    attr_after(b.page, "class=\"withdrawal\"", "data-id", withdrawal, sizeof withdrawal);
    assert_non_null(strstr(b.page, "data-status=\"succeeded\""));
    h_browser_fini(&b);
}

/* Two payments at the bank's pages whose notifications never reach us; the second trade's
 * time runs out (1 hour), so the sweeper closes it. */
static void notifications_never_come(void **state)
{
    pay_at_the_bank("paid-at-bank", "123.00", "1d", paid_trade);
    pay_at_the_bank("closed-later", "45.00", "1h", closed_trade);
}

/* The bank's own movements on our account: a deposit (8.88), 1.00 given back on the withdrawal,
 * the second top-up reversed. */
static void the_bank_moves_on_its_own(void **state)
{
    struct h_browser b = {0};
    char url[512], fields[512];
    snprintf(url, sizeof url, "%s/admin/movements?account=%s", bk.url, bk.acct);
    h_browser_req(&b, "GET", url, NULL, true);
    /* newest first: the withdrawal's transfer, then the second top-up */
    const char *top = strstr(b.page, "data-kind=\"AGREEMENT_DEBIT\"");
    assert_non_null(top);
    const char *end = strstr(top, "</tr>"), *td = end;
    while (td > top && strncmp(td, "<td>", 4) != 0)
        td--;
    snprintf(topup2, sizeof topup2, "%.*s", (int)(end - td - 9), td + 4);
    assert_true(strncmp(topup2, "tu_", 3) == 0);
    bank_admin(&b, "/admin/deposits", "amount=8.88");
    snprintf(fields, sizeof fields, "direction=credit&amount=1.00&reference=%s&note=fee+back",
             withdrawal);
    bank_admin(&b, "/admin/adjustments", fields);
    snprintf(fields, sizeof fields, "direction=debit&amount=20.00&reference=%s&note=reversal",
             topup2);
    bank_admin(&b, "/admin/adjustments", fields);
    /* refused: a reference outside the id charset, a direction that is neither */
    snprintf(url, sizeof url, "%s/admin/adjustments", bk.url);
    snprintf(fields, sizeof fields, "csrf=%s&account=%s&direction=up&amount=1.00&reference=x",
             b.last_csrf, bk.acct);
    h_browser_req(&b, "POST", url, fields, true);
    assert_int_equal(b.status, 400);
    assert_non_null(strstr(b.page, "<code id=\"field\">direction</code>"));
    h_browser_fini(&b);
}

/* --- the next morning -------------------------------------------------------------------- */

/* 09:30 the next day: the scheduler has reconciled the day by itself. */
static void the_scheduler_reconciles_the_day(void **state)
{
    clocks_to(day_ms + 23 * HOUR_MS + HOUR_MS / 2);
    assert_string_equal(trade_field(closed_trade, "state"), "TRADE_CLOSED"); /* expired */
    char *page = recon_page();
    /* the day's run, its balances apart; and at 10:00 on the day, the day before's: empty */
    char run[160], before[16];
    snprintf(run, sizeof run,
             "data-status=\"differences\" data-balanced=\"false\"><td>icbc</td><td>%s</td>", day);
    assert_int_equal(count(page, run), 1);
    const char *row = strstr(page, run), *by = strstr(row, "(scheduler)");
    assert_true(by && by < strstr(row, "</tr>")); /* made by the scheduler */
    date_of(day_ms - DAY_MS, before);
    snprintf(run, sizeof run,
             "data-status=\"matched\" data-balanced=\"true\"><td>icbc</td><td>%s</td>", before);
    assert_int_equal(count(page, run), 1);
    /* each difference found, with its class */
    assert_int_equal(count(page, "data-status=\"open\""), 5);
    assert_int_equal(count(page, "data-class=\"status\" data-status=\"open\""), 2);
    assert_int_equal(count(page, "data-class=\"bank_only\" data-status=\"open\""), 1);
    assert_int_equal(count(page, "data-class=\"amount\" data-status=\"open\""), 1);
    assert_int_equal(count(page, "data-class=\"ours_only\" data-status=\"open\""), 1);
    /* the lost payments are named by our orders, at the bank's amounts, ours none */
    char ref[256];
    snprintf(ref, sizeof ref, "<code>%s-1</code></td><td class=\"class\">status</td>", paid_trade);
    assert_non_null(strstr(page, ref));
    assert_non_null(strstr(page, "data-amount=\"123.00\""));
    assert_non_null(strstr(page, "<td>order:created</td>"));
    /* the withdrawal: the bank took 49.00, we 50.00; the reversed top-up: 0.00 against 20.00 */
    snprintf(ref, sizeof ref, "<code>%s</code></td><td class=\"class\">amount</td>", withdrawal);
    assert_non_null(strstr(page, ref));
    assert_non_null(strstr(page, "data-amount=\"-49.00\""));
    assert_non_null(strstr(page, "data-amount=\"-50.00\""));
    snprintf(ref, sizeof ref, "<code>%s</code></td><td class=\"class\">ours_only</td>", topup2);
    assert_non_null(strstr(page, ref));
    assert_non_null(strstr(page, "<code>deposit</code></td><td class=\"class\">bank_only</td>"));
    free(page);
}

/* `paygate platform reconcile` reruns the day: a second run, the same differences, once. */
static void rerun_is_idempotent(void **state)
{
    char out[1024];
    assert_int_equal(reconcile_cli(out, sizeof out), 0);
    assert_non_null(strstr(out, "reconciliation icbc"));
    assert_non_null(strstr(out, ": differences (run rc_"));
    char *page = recon_page(), run[160];
    snprintf(run, sizeof run, "data-balanced=\"false\"><td>icbc</td><td>%s</td>", day);
    assert_int_equal(count(page, run), 2);
    assert_non_null(strstr(page, "(command)"));
    assert_int_equal(count(page, "data-status=\"open\""), 5);
    free(page);
    /* a day that is no date, a bank that is not ours: refused, nothing stored */
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "'%s' platform reconcile --config %s/platform.ini --data-dir %s --database '%s' "
             "--date 2026-02-30"
             " >/dev/null 2>%s/err.txt",
             h_paygate, pf.dir, pf.dir, pf.db, pf.dir);
    assert_int_equal(th_sh("%s", cmd), 1);
    snprintf(cmd, sizeof cmd, "%s/err.txt", pf.dir);
    th_read_text(cmd, out, sizeof out);
    assert_non_null(strstr(out, "FIELD_INVALID date"));
    assert_int_equal(
        th_sh("'%s' platform reconcile --config %s/platform.ini --data-dir %s --database '%s'"
              " --date %s --bank abc >/dev/null 2>&1",
              h_paygate, pf.dir, pf.dir, pf.db, day),
        1);
    page = recon_page();
    assert_int_equal(count(page, run), 2); /* the refused ones stored no run */
    free(page);
}

/* The operator decides each difference on the console. */
static void the_operator_resolves(void **state)
{
    char *page = recon_page(), *answer = NULL, id[64];
    /* the deposit is no record of ours: accept_bank cannot complete it, and changes nothing */
    diff_of(page, "bank_only", id);
    assert_int_equal(resolve(id, "accept_bank", &answer), 400);
    assert_non_null(strstr(answer, "id=\"error\""));
    assert_int_equal(count(answer, "data-status=\"open\""), 5);
    free(answer);
    assert_int_equal(resolve(id, "write_off", &answer), 200);
    assert_non_null(strstr(answer, "data-notice=\"write_off\""));
    free(answer);
    assert_int_equal(resolve(id, "write_off", &answer), 409); /* once */
    assert_non_null(strstr(answer, "id=\"error\""));
    free(answer);
    assert_int_equal(resolve("rd_nothing", "accept_ours", &answer), 404);
    free(answer);
    diff_of(page, "amount", id);
    assert_int_equal(resolve(id, "bounce", &answer), 400); /* not a resolution */
    free(answer);
    assert_int_equal(resolve(id, "write_off", &answer), 200);
    free(answer);
    diff_of(page, "ours_only", id);
    assert_int_equal(resolve(id, "accept_ours", &answer), 200);
    free(answer);
    free(page);
    /* the lost payments: the one still open is paid, the closed one's money goes back */
    for (int i = 0; i < 2; i++) {
        page = recon_page();
        diff_of(page, "status", id);
        free(page);
        assert_int_equal(resolve(id, "accept_bank", &answer), 200);
        free(answer);
    }
    assert_string_equal(trade_field(paid_trade, "state"), "TRADE_SUCCESS");
    assert_string_equal(trade_field(paid_trade, "pay_method"), "bank");
    assert_string_equal(trade_field(closed_trade, "state"), "TRADE_CLOSED");
    assert_int_equal(th_clock_advance(pf.url, 0), 0); /* the sweeper sends the refund */
    page = recon_page();
    assert_int_equal(count(page, "data-status=\"open\""), 0);
    assert_int_equal(count(page, "data-resolution=\"write_off\""), 2);
    assert_int_equal(count(page, "data-resolution=\"accept_bank\""), 2);
    assert_int_equal(count(page, "data-resolution=\"accept_ours\""), 1);
    char want[160];
    snprintf(want, sizeof want, "<code>%s.pay</code>", paid_trade);
    assert_non_null(strstr(page, want));
    free(page);
}

/* Reruns after the resolutions: nothing reopens; the next day, whose repairs and write-offs
 * are ours alone, matches the bank (its refund of the closed trade included). */
static void after_the_resolutions(void **state)
{
    char out[1024];
    assert_int_equal(reconcile_cli(out, sizeof out), 0);
    assert_non_null(strstr(out, ": resolved (run rc_"));
    char *page = recon_page();
    assert_int_equal(count(page, "data-status=\"open\""), 0);
    free(page);
    char next[16], cmd[4096];
    date_of(day_ms + DAY_MS, next);
    snprintf(
        cmd, sizeof cmd,
        "'%s' platform reconcile --config %s/platform.ini --data-dir %s --database '%s' --date %s"
        " --bank icbc > %s/next.txt 2>>%s/cli.log",
        h_paygate, pf.dir, pf.dir, pf.db, next, pf.dir, pf.dir);
    assert_int_equal(th_sh("%s", cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/next.txt", pf.dir);
    th_read_text(cmd, out, sizeof out);
    assert_non_null(strstr(out, ": matched (run rc_"));
}

/* The books: the reserve's mirror is the bank's balance but for the reversal we left to the
 * bank; the write-offs wait in suspense; the trial balance holds; both ledgers verify. */
static void the_books(void **state)
{
    struct h_browser b = {0};
    char url[512];
    snprintf(url, sizeof url, "%s/admin/movements?account=%s", bk.url, bk.acct);
    h_browser_req(&b, "GET", url, NULL, true);
    /* 500 + 20 - 50 + 123 + 45 + 8.88 + 1 - 20 - 45 */
    assert_non_null(strstr(b.page, "id=\"balance\" data-amount=\"582.88\""));
    assert_non_null(strstr(b.page, "data-kind=\"ADJUSTMENT\""));
    assert_non_null(strstr(b.page, "data-kind=\"REFUND\""));
    h_browser_fini(&b);
    char auth[128];
    snprintf(url, sizeof url, "%s/operator/trial-balance", pf.url);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", OPTOKEN);
    const char *hdr[] = {auth, NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response res = {0};
    assert_int_equal(pay_http_client_request("GET", url, hdr, NULL, 0, &opt, &res, NULL),
                     PAY_ERR_OK);
    assert_non_null(strstr(pay_buf_str(&res.body), "data-balanced=\"true\""));
    assert_non_null(strstr(pay_buf_str(&res.body), "data-kind=\"suspense\""));
    pay_http_client_response_fini(&res);
    h_stop(&pf, SIGTERM);
    struct pay_store *s = NULL;
    struct pay_ledger *lg = h_ledger_open(&pf, &s);
    assert_int_equal(h_ledger_debit_balance(lg, "pf.reserve.icbc.CNY"), 58288 + 2000);
    assert_int_equal(h_ledger_debit_balance(lg, "pf.suspense.CNY"), -(888 + 100));
    assert_int_equal(h_ledger_debit_balance(lg, "pf.refunds.CNY"), 0);
    h_ledger_close(s, lg);
    assert_int_equal(h_ledger_verify(&pf), 0);
    char db[300];
    snprintf(db, sizeof db, "%s/data/bank.db", bk.dir);
    assert_int_equal(th_ledger_verify(h_paygate, db), 0);
}

int main(int argc, char **argv)
{
    h_paygate = argc > 1 ? argv[1] : "./paygate";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(money_in_and_out),
        cmocka_unit_test(notifications_never_come),
        cmocka_unit_test(the_bank_moves_on_its_own),
        cmocka_unit_test(the_scheduler_reconciles_the_day),
        cmocka_unit_test(rerun_is_idempotent),
        cmocka_unit_test(the_operator_resolves),
        cmocka_unit_test(after_the_resolutions),
        cmocka_unit_test(the_books),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
