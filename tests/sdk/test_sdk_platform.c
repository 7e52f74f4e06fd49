/* libpaygate against the real `paygate platform` binary: create / query / close / refund
 * through the SDK, a notification endpoint built on paygate_notify_verify and
 * paygate_notify_once (SQLite seen store): a paid trade is fulfilled exactly once although
 * the platform delivers it twice (our first answer is lost), a tampered and a stale copy are
 * refused, and a client with the wrong platform key refuses the platform's answers. */
#include "paygate.h"

#include "../platform/harness.h"
#include "lib/clock.h"
#include "lib/harness.h"
#include "core/buf.h"
#include "http/client.h"
#include "http/codec.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static struct h_platform pf;
static struct h_merchant ma;
static paygate_client *cli;
static paygate_seen_db *seen;
static struct pay_http_server *srv;
static char notify_url[128];

/* What the notify endpoint saw. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int hits, fulfilled, duplicates, refused, lose_next_answer;
static int64_t expected_amount;
static char raw_target[256], raw_sig[1100], raw_body[8192];

static enum pay_err on_notify(struct pay_http_request *req, struct pay_error *err)
{
    size_t len = 0;
    const char *body = pay_http_req_body(req, &len);
    const char *sig = pay_http_req_header(req, "Paygate-Signature");
    paygate_notification n;
    paygate_error e = {0};
    pthread_mutex_lock(&mu);
    hits++;
    snprintf(raw_target, sizeof raw_target, "%s", pay_http_req_target(req));
    snprintf(raw_sig, sizeof raw_sig, "%s", sig ? sig : "");
    snprintf(raw_body, sizeof raw_body, "%.*s", (int)len, body ? body : "");
    int rc = paygate_notify_verify(cli, pay_http_req_target(req), sig, body, len, expected_amount,
                                   &n, &e);
    if (rc == PAYGATE_OK && strcmp(n.trade.state, "TRADE_SUCCESS") == 0) {
        rc = paygate_notify_once(n.notify_id, paygate_seen_db_fn, seen);
        if (rc == PAYGATE_OK)
            fulfilled++;
        else if (rc == PAYGATE_DUPLICATE)
            duplicates++, rc = PAYGATE_OK;
    } else if (rc != PAYGATE_OK)
        refused++;
    int lose = lose_next_answer;
    lose_next_answer = 0;
    pthread_mutex_unlock(&mu);
    pay_http_respond_text(req, rc == PAYGATE_OK && !lose ? 200 : 500,
                          rc == PAYGATE_OK && !lose ? "success" : "retry");
    return PAY_ERR_OK;
}

static void save_key(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/m_a.pem", pf.dir);
    assert_int_equal(pay_ed25519_key_save(path, &ma.key), 0);
}

static paygate_client *client(const char *pk, paygate_error *e)
{
    char key[300];
    snprintf(key, sizeof key, "%s/m_a.pem", pf.dir);
    paygate_config cfg = {.platform_url = pf.url,
                          .merchant_id = "m_a",
                          .key_file = key,
                          .platform_public_key = pk,
                          .allow_loopback = 1};
    return paygate_client_new(&cfg, e);
}

static int group_setup(void **state)
{
    h_setup(&pf, &ma, NULL, "timeout_min = 1s\n[server]\nfake_clock = true"); /* th_clock_advance */
    h_add_consumer(&pf, "13800000001", "correct horse", "246810");
    h_wallet_credit(&pf, "13800000001", "1000.00");
    h_start(&pf);
    save_key();
    paygate_error e = {0};
    cli = client(NULL, &e);
    assert_non_null(cli);
    char path[300];
    snprintf(path, sizeof path, "%s/seen.db", pf.dir);
    seen = paygate_seen_db_open(path);
    assert_non_null(seen);
    assert_int_equal(
        th_notify_server_start("sdk-notify", on_notify, NULL, &srv, notify_url, sizeof notify_url),
        0);
    /* a query in the notify URL: the signature covers it (docs/api.md), so the handler passes
     * the target as received, path and query */
    size_t used = strlen(notify_url);
    snprintf(notify_url + used, sizeof notify_url - used, "?shop=7&order=a.b");
    return 0;
}

static int group_teardown(void **state)
{
    pay_http_server_free(srv);
    paygate_seen_db_close(seen);
    paygate_client_free(cli);
    h_teardown(&pf);
    return 0;
}

/* The cashier's wallet payment, as the consumer's browser does it. */
static void pay_by_wallet(const char *trade_id)
{
    char url[512], cookies[512] = "", csrf[128] = "", form[512];
    struct pay_http_client_options opt = {.allow_private_addresses = true,
                                          .total_timeout_ms = 30000};
    const char *steps[][2] = {
        {"GET", ""}, {"POST", "/login"}, {"GET", ""}, {"POST", "/pay/wallet"}};
    for (int i = 0; i < 4; i++) {
        snprintf(url, sizeof url, "%s/cashier/%s%s", pf.url, trade_id, steps[i][1]);
        if (i == 1)
            snprintf(form, sizeof form, "csrf=%s&login=13800000001&password=correct+horse", csrf);
        else
            snprintf(form, sizeof form, "csrf=%s&pay_password=246810", csrf);
        char ch[600];
        snprintf(ch, sizeof ch, "Cookie: %s", cookies);
        const char *hdr[] = {"Content-Type: application/x-www-form-urlencoded", ch, NULL};
        struct pay_http_client_response r = {0};
        int post = strcmp(steps[i][0], "POST") == 0;
        assert_int_equal(pay_http_client_request(steps[i][0], url, hdr, post ? form : NULL,
                                                 post ? strlen(form) : 0, &opt, &r, NULL),
                         PAY_ERR_OK);
        assert_true(r.status < 400);
        /* collect cookies (pf_csrf, pf_session) from every Set-Cookie line */
        const char *h = pay_buf_str(&r.headers);
        for (const char *p = h; (p = strcasestr(p, "Set-Cookie: ")) != NULL;) {
            p += 12;
            size_t n = strcspn(p, ";\r\n");
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)strcspn(p, "="), p);
            if (!strstr(cookies, name))
                snprintf(cookies + strlen(cookies), sizeof cookies - strlen(cookies), "%s%.*s",
                         cookies[0] ? "; " : "", (int)n, p);
        }
        const char *m = strstr(pay_buf_str(&r.body), "name=\"csrf\" value=\"");
        if (m) {
            m += strlen("name=\"csrf\" value=\"");
            snprintf(csrf, sizeof csrf, "%.*s", (int)strcspn(m, "\""), m);
        }
        pay_http_client_response_fini(&r);
    }
}

static void create_query_close(void **state)
{
    paygate_trade t, q, c;
    paygate_error e = {0};
    paygate_trade_request req = {.out_trade_no = "sdk-1", .amount = 1250, .subject = "Tea"};
    assert_int_equal(paygate_trade_create(cli, &req, &t, &e), PAYGATE_OK);
    assert_string_equal(t.state, "WAIT_BUYER_PAY");
    assert_int_equal(t.amount, 1250);
    assert_string_equal(t.currency, "CNY");
    assert_non_null(strstr(t.cashier_url, "/cashier/"));
    /* after a lost answer, calling again returns the same trade */
    assert_int_equal(paygate_trade_create(cli, &req, &c, &e), PAYGATE_OK);
    assert_string_equal(c.trade_id, t.trade_id);
    assert_int_equal(paygate_trade_query(cli, "sdk-1", &q, &e), PAYGATE_OK);
    assert_string_equal(q.trade_id, t.trade_id);
    assert_int_equal(paygate_trade_close(cli, t.trade_id, &c, &e), PAYGATE_OK);
    assert_string_equal(c.state, "TRADE_CLOSED");
    assert_int_equal(paygate_trade_query(cli, "nope", &q, &e), PAYGATE_ERR_REFUSED);
    assert_int_equal(e.http_status, 404);
    assert_string_equal(e.code, "TRADE_NOT_FOUND");
    req.amount = 0;
    assert_int_equal(paygate_trade_create(cli, &req, &t, &e), PAYGATE_ERR_ARG);
}

static char paid_id[40];

static void paid_notification_fulfils_once(void **state)
{
    paygate_trade t;
    paygate_error e = {0};
    expected_amount = 3300;
    paygate_trade_request req = {
        .out_trade_no = "sdk-2", .amount = 3300, .subject = "Cups", .notify_url = notify_url};
    assert_int_equal(paygate_trade_create(cli, &req, &t, &e), PAYGATE_OK);
    snprintf(paid_id, sizeof paid_id, "%s", t.trade_id);
    lose_next_answer = 1; /* we fulfil, but the platform sees a 500 and delivers again */
    pay_by_wallet(t.trade_id);
    /* the first delivery arrives at once (the notifier looks when the clock has not moved) */
    assert_int_equal(th_clock_advance(pf.url, 0), 0);
    pthread_mutex_lock(&mu);
    assert_int_equal(fulfilled, 1);
    assert_int_equal(duplicates, 0);
    pthread_mutex_unlock(&mu);
    assert_int_equal(th_clock_advance(pf.url, 1000), 0); /* the retry of the "lost" answer */
    pthread_mutex_lock(&mu);
    assert_int_equal(fulfilled, 1);
    assert_int_equal(duplicates, 1);
    assert_int_equal(refused, 0);
    pthread_mutex_unlock(&mu);
    assert_int_equal(paygate_trade_query(cli, "sdk-2", &t, &e), PAYGATE_OK);
    assert_string_equal(t.state, "TRADE_SUCCESS");
    assert_string_equal(t.pay_method, "wallet");
}

static void tampered_stale_and_foreign_refused(void **state)
{
    paygate_notification n;
    paygate_error e = {0};
    char body[8192], sig[1100], target[256];
    pthread_mutex_lock(&mu);
    snprintf(body, sizeof body, "%s", raw_body);
    snprintf(sig, sizeof sig, "%s", raw_sig);
    snprintf(target, sizeof target, "%s", raw_target);
    pthread_mutex_unlock(&mu);
    assert_true(body[0] != '\0');
    /* the same bytes again: the nonce was used */
    assert_int_equal(paygate_notify_verify(cli, target, sig, body, strlen(body), 3300, &n, &e),
                     PAYGATE_ERR_STALE);
    /* a fresh client (empty nonce cache): tampered amount */
    paygate_client *c2 = client(paygate_client_platform_key(cli), &e);
    assert_non_null(c2);
    char *amt = strstr(body, "\"33.00\"");
    assert_non_null(amt);
    char tampered[8192];
    snprintf(tampered, sizeof tampered, "%s", body);
    memcpy(tampered + (amt - body), "\"0.01\" ", 7);
    assert_int_equal(paygate_notify_verify(c2, target, sig, tampered, strlen(tampered), 0, &n, &e),
                     PAYGATE_ERR_SIGNATURE);
    /* another path (sent to someone else's endpoint) */
    assert_int_equal(paygate_notify_verify(c2, "/other", sig, body, strlen(body), 0, &n, &e),
                     PAYGATE_ERR_SIGNATURE);
    /* the path without the query, or another query: the query is signed too */
    assert_non_null(strstr(target, "/notify?shop=7&order=a.b"));
    char *q = strchr(target, '?');
    *q = '\0';
    assert_int_equal(paygate_notify_verify(c2, target, sig, body, strlen(body), 0, &n, &e),
                     PAYGATE_ERR_SIGNATURE);
    snprintf(q, sizeof target - (size_t)(q - target), "?shop=8&order=a.b");
    assert_int_equal(paygate_notify_verify(c2, target, sig, body, strlen(body), 0, &n, &e),
                     PAYGATE_ERR_SIGNATURE);
    snprintf(q, sizeof target - (size_t)(q - target), "?shop=7&order=a.b");
    /* a stale timestamp */
    char stale[1100];
    snprintf(stale, sizeof stale, "%s", sig);
    char *ts = strstr(stale, "ts=\"");
    assert_non_null(ts);
    memcpy(ts + 4, "1000000000", 10);
    assert_int_equal(paygate_notify_verify(c2, target, stale, body, strlen(body), 0, &n, &e),
                     PAYGATE_ERR_STALE);
    assert_string_equal(e.code, "TIMESTAMP_STALE");
    /* the genuine one, but we expected another amount */
    assert_int_equal(paygate_notify_verify(c2, target, sig, body, strlen(body), 3301, &n, &e),
                     PAYGATE_ERR_MISMATCH);
    /* no signature */
    assert_int_equal(paygate_notify_verify(c2, target, NULL, body, strlen(body), 0, &n, &e),
                     PAYGATE_ERR_SIGNATURE);
    paygate_client_free(c2);
}

static void refund_through_sdk(void **state)
{
    paygate_refund r;
    paygate_trade t;
    paygate_error e = {0};
    assert_int_equal(paygate_trade_refund(cli, paid_id, "r1", 1000, "CNY", "chipped", &r, &e),
                     PAYGATE_OK);
    assert_string_equal(r.status, "SUCCESS");
    assert_int_equal(r.amount, 1000);
    /* idempotent by out_refund_no */
    assert_int_equal(paygate_trade_refund(cli, paid_id, "r1", 1000, "CNY", "chipped", &r, &e),
                     PAYGATE_OK);
    assert_int_equal(paygate_trade_refund(cli, paid_id, "r2", 9999, "CNY", NULL, &r, &e),
                     PAYGATE_ERR_REFUSED);
    assert_string_equal(e.code, "REFUND_EXCEEDS_PAID");
    assert_int_equal(paygate_trade_query(cli, "sdk-2", &t, &e), PAYGATE_OK);
    assert_int_equal(t.refunded, 1000);
}

/* paygate_balance_query: after sdk-2 (33.00 paid, 10.00 refunded) the merchant's balance is
 * the payment less its fee less the refund (less its share of the fee). */
static void balance_through_sdk(void **state)
{
    paygate_trade t;
    paygate_error e = {0};
    assert_int_equal(paygate_trade_query(cli, "sdk-2", &t, &e), PAYGATE_OK);
    int64_t fee_share = t.fee * 1000 / 3300; /* rounded toward zero */
    paygate_balance b[4];
    size_t n = 0;
    assert_int_equal(paygate_balance_query(cli, NULL, b, 4, &n, &e), PAYGATE_OK);
    assert_int_equal(n, 1);
    assert_string_equal(b[0].currency, "CNY");
    assert_int_equal(b[0].available, 3300 - t.fee - (1000 - fee_share));
    assert_int_equal(b[0].fees_charged, t.fee - fee_share);
    assert_int_equal(paygate_balance_query(cli, "CNY", b, 4, &n, &e), PAYGATE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(b[0].available, 3300 - t.fee - (1000 - fee_share));
    assert_int_equal(paygate_balance_query(cli, "JPY", b, 4, &n, &e), PAYGATE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(b[0].available, 0);
    assert_int_equal(paygate_balance_query(cli, "cny", b, 4, &n, &e), PAYGATE_ERR_ARG);
}

static void wrong_platform_key_refused(void **state)
{
    paygate_error e = {0};
    paygate_client *c = client("A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=", &e);
    assert_non_null(c);
    paygate_trade t;
    assert_int_equal(paygate_trade_query(c, "sdk-2", &t, &e), PAYGATE_ERR_SIGNATURE);
    paygate_client_free(c);
}

/* An escrow trade's states reach the merchant whole: WAIT_BUYER_CONFIRM_GOODS (24 characters)
 * fits paygate_trade.state (libpaygate.so.0 cut it to 23). */
static void escrow_states_whole(void **state)
{
    paygate_trade t, s;
    paygate_error e = {0};
    paygate_trade_request req = {.out_trade_no = "sdk-escrow", .amount = 800, .subject = "Kettle"};
    assert_int_equal(paygate_trade_create_escrow(cli, &req, &t, &e), PAYGATE_OK);
    assert_string_equal(t.state, "WAIT_BUYER_PAY");
    pay_by_wallet(t.trade_id);
    assert_int_equal(paygate_trade_query(cli, "sdk-escrow", &t, &e), PAYGATE_OK);
    assert_string_equal(t.state, "WAIT_SELLER_SEND_GOODS");
    assert_int_equal(paygate_trade_ship(cli, t.trade_id, "SF Express", "SF1234567890", &s, &e),
                     PAYGATE_OK);
    assert_string_equal(s.state, "WAIT_BUYER_CONFIRM_GOODS");
    assert_int_equal(paygate_trade_query(cli, "sdk-escrow", &t, &e), PAYGATE_OK);
    assert_string_equal(t.state, "WAIT_BUYER_CONFIRM_GOODS");
    assert_int_equal(t.amount, 800);
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_query_close),
        cmocka_unit_test(paid_notification_fulfils_once),
        cmocka_unit_test(tampered_stale_and_foreign_refused),
        cmocka_unit_test(refund_through_sdk),
        cmocka_unit_test(balance_through_sdk),
        cmocka_unit_test(wrong_platform_key_refused),
        cmocka_unit_test(escrow_states_whole),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
