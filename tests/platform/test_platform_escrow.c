/* Escrow trades and after-sales refund requests against the real `paygate platform` on the
 * test clock: paid into escrow, shipped by API, receipt confirmed in the wallet with the payment
 * password (wrong password, not shipped yet, someone else's trade refused), confirmed by the
 * clock N days after shipping, refunded in full when not shipped in M days, partly refunded
 * while in escrow; refund requests approved and rejected by the merchant and, past their
 * deadline, decided by the operator; an open request holds the escrow's clock. Money is checked
 * at every step (wallet, merchant available, in escrow) and in the ledger at the end. */
#include "harness.h"
#include "lib/clock.h"
#include "lib/harness.h"

#include "http/client.h"
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

#define OP_TOKEN "op-token-0123456789abcdefghij"
#define DAY_MS   (24LL * 3600 * 1000)
#define BUYER    "13800000001"
#define OTHER    "13800000002"
#define PW       "correct+horse"
#define PAYPW    "246810"

static struct h_platform pf;
static struct h_merchant ma, mb;
static struct h_notify_sink sink;
/* What the tests moved, to check the ledger at the end: the merchant's available balance and
 * the fees. */
static int64_t expect_available, expect_fees;

static int group_setup(void **state)
{
    h_setup(&pf, &ma, &mb, "operator_token = " OP_TOKEN "\n[server]\nfake_clock = true");
    h_add_consumer(&pf, BUYER, "correct horse", PAYPW);
    h_add_consumer(&pf, OTHER, "correct horse", PAYPW);
    h_wallet_credit(&pf, BUYER, "1000.00");
    h_start(&pf);
    h_sink_start(&sink, pf.pk, 0);
    return 0;
}

static int group_teardown(void **state)
{
    h_sink_stop(&sink);
    h_teardown(&pf);
    return 0;
}

/* --- helpers ----------------------------------------------------------------------------- */

static const char *create(const char *otn, const char *amount, const char *product)
{
    static char id[64];
    char body[512];
    snprintf(body, sizeof body,
             "{\"out_trade_no\":\"%s\",\"amount\":{\"value\":\"%s\",\"currency\":\"CNY\"},"
             "\"subject\":\"Kettle\",\"product\":\"%s\",\"notify_url\":\"%s\",\"timeout\":\"1d\"}",
             otn, amount, product, sink.url);
    struct h_reply r;
    h_call(&pf, &ma, "POST", "/v1/trades", body, otn, &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(h_str(r.json, "product"), product);
    snprintf(id, sizeof id, "%s", h_str(r.json, "trade_id"));
    h_reply_fini(&r);
    return id;
}

/* The trade as the merchant reads it (caller h_reply_fini's r). */
static void get_trade(const char *id, struct h_reply *r)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/trades/%s", id);
    h_call(&pf, &ma, "GET", path, NULL, NULL, r);
    assert_int_equal(r->status, 200);
    assert_true(r->sig_ok);
}

static void assert_state(const char *id, const char *state)
{
    struct h_reply r;
    get_trade(id, &r);
    if (strcmp(h_str(r.json, "state"), state) != 0)
        fprintf(stderr, "trade %s: %s, expected %s\n", id, h_str(r.json, "state"), state);
    assert_string_equal(h_str(r.json, "state"), state);
    h_reply_fini(&r);
}

static void post(const struct h_merchant *m, const char *path, const char *body, const char *idem,
                 struct h_reply *r)
{
    h_call(&pf, m, "POST", path, body, idem, r);
    assert_true(r->sig_ok);
}

static void ship(const char *id)
{
    char path[128], idem[80];
    snprintf(path, sizeof path, "/v1/trades/%s/ship", id);
    snprintf(idem, sizeof idem, "ship-%s", id);
    struct h_reply r;
    post(&ma, path, "{\"logistics_company\":\"SF Express\",\"tracking_no\":\"SF1234567890\"}", idem,
         &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(h_str(r.json, "state"), "WAIT_BUYER_CONFIRM_GOODS");
    assert_string_equal(h_str(r.json, "tracking_no"), "SF1234567890");
    assert_true(json_is_string(json_object_get(r.json, "shipped_at")));
    assert_true(json_is_string(json_object_get(r.json, "confirm_by")));
    h_reply_fini(&r);
}

/* minor units of a money value "12.30" */
static int64_t minor(const char *v)
{
    long long yuan = 0, fen = 0;
    assert_int_equal(sscanf(v, "%lld.%lld", &yuan, &fen), 2);
    return yuan * 100 + fen;
}

/* The merchant's available and in-escrow balances by GET /v1/balance?currency=CNY. */
static void merchant_balance(int64_t *available, int64_t *in_escrow)
{
    struct h_reply r;
    h_call(&pf, &ma, "GET", "/v1/balance?currency=CNY", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *b = json_array_get(json_object_get(r.json, "balances"), 0);
    *available = minor(h_str(b, "available.value"));
    *in_escrow = minor(h_str(b, "in_escrow.value"));
    h_reply_fini(&r);
}

static void wallet_get(struct h_browser *b, const char *path);

/* A logged-in wallet browser (sessions end after 15 idle minutes of the test clock: log in
 * again after moving it), holding the session's CSRF token from the wallet's page. */
static void wallet_login(struct h_browser *b, const char *login)
{
    h_browser_fini(b);
    memset(b, 0, sizeof *b);
    const char *s = h_wallet_login(&pf, login, "correct+horse");
    assert_true(s[0] != '\0');
    snprintf(b->session, sizeof b->session, "%s", s);
    wallet_get(b, "/wallet");
    assert_int_equal(b->status, 200);
}

static void wallet_get(struct h_browser *b, const char *path)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", pf.url, path);
    h_browser_req(b, "GET", url, NULL, false);
}

static void wallet_post(struct h_browser *b, const char *path, const char *fields)
{
    char url[256], form[1024];
    assert_true(b->last_csrf[0] != '\0');
    snprintf(url, sizeof url, "%s%s", pf.url, path);
    snprintf(form, sizeof form, "csrf=%s&%s", b->last_csrf, fields);
    h_browser_req(b, "POST", url, form, false);
}

static int64_t wallet_balance(struct h_browser *b, const char *login)
{
    wallet_login(b, login);
    assert_int_equal(b->status, 200);
    const char *m = strstr(b->page, "id=\"balance\" data-amount=\"");
    assert_non_null(m);
    return minor(m + strlen("id=\"balance\" data-amount=\""));
}

static void trade_page(struct h_browser *b, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/wallet/trades/%s", id);
    wallet_get(b, path);
}

static void confirm(struct h_browser *b, const char *id, const char *pay_password)
{
    char path[128], fields[64];
    trade_page(b, id);
    snprintf(path, sizeof path, "/wallet/trades/%s/confirm", id);
    snprintf(fields, sizeof fields, "pay_password=%s", pay_password);
    wallet_post(b, path, fields);
}

static void ask_refund(struct h_browser *b, const char *id, const char *amount, const char *reason,
                       bool returned)
{
    char path[128], fields[256];
    trade_page(b, id);
    snprintf(path, sizeof path, "/wallet/trades/%s/refund-request", id);
    snprintf(fields, sizeof fields, "amount=%s&reason=%s%s", amount, reason,
             returned ? "&goods_returned=1" : "");
    wallet_post(b, path, fields);
}

/* The trade's notifications, delivered, as the sequence of trade states they report. */
static void notified_states(const char *id, char *out, size_t n)
{
    assert_true(h_notifications_delivered(&pf, &ma, id, 60000));
    char path[128];
    snprintf(path, sizeof path, "/v1/notifications?trade_id=%s", id);
    struct h_reply r;
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    out[0] = '\0';
    size_t i;
    json_t *nt;
    json_array_foreach(json_object_get(r.json, "notifications"), i, nt)
    {
        json_t *payload = json_object_get(nt, "payload");
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s%s:%s", i ? "," : "",
                 json_string_value(json_object_get(payload, "event")),
                 h_str(json_object_get(payload, "trade"), "state"));
    }
    h_reply_fini(&r);
}

/* --- escrow ------------------------------------------------------------------------------ */

/* Paid into escrow, shipped, confirmed by the buyer: only then is the money the merchant's. */
static void escrow_confirmed_by_buyer(void **state)
{
    int64_t avail0, esc0, avail, esc;
    merchant_balance(&avail0, &esc0);
    const char *id0 = create("esc-1", "100.00", "escrow");
    char id[64];
    snprintf(id, sizeof id, "%s", id0);
    struct h_browser b = {0};
    wallet_login(&b, BUYER);
    int64_t wallet0 = wallet_balance(&b, BUYER);
    assert_int_equal(h_cashier_pay_wallet(&pf, id, BUYER, PW, PAYPW), 200);
    struct h_reply r;
    get_trade(id, &r);
    assert_string_equal(h_str(r.json, "state"), "WAIT_SELLER_SEND_GOODS");
    assert_string_equal(h_str(r.json, "fee.value"), "0.00"); /* taken at release */
    assert_true(json_is_string(json_object_get(r.json, "ship_by")));
    assert_true(json_is_null(json_object_get(r.json, "shipped_at")));
    h_reply_fini(&r);
    assert_int_equal(wallet_balance(&b, BUYER), wallet0 - 10000);
    merchant_balance(&avail, &esc);
    assert_int_equal(esc - esc0, 10000); /* held, not the merchant's */
    assert_int_equal(avail, avail0);

    /* not shipped yet: nothing to confirm */
    trade_page(&b, id);
    assert_int_equal(b.status, 200);
    assert_non_null(strstr(b.page, "data-state=\"WAIT_SELLER_SEND_GOODS\""));
    assert_null(strstr(b.page, "id=\"confirm-form\""));
    confirm(&b, id, PAYPW);
    assert_int_equal(b.status, 409);

    /* shipping: fields checked, only the trade's merchant, once */
    char path[128];
    snprintf(path, sizeof path, "/v1/trades/%s/ship", id);
    post(&ma, path, "{\"logistics_company\":\"SF Express\"}", "ship-bad-1", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(h_err_code(&r), "FIELD_MISSING");
    assert_string_equal(h_str(r.json, "error.field"), "tracking_no");
    h_reply_fini(&r);
    post(&mb, path, "{\"logistics_company\":\"SF\",\"tracking_no\":\"X1\"}", "ship-mb-1", &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(h_err_code(&r), "TRADE_NOT_FOUND");
    h_reply_fini(&r);
    ship(id);
    post(&ma, path, "{\"logistics_company\":\"SF\",\"tracking_no\":\"X2\"}", "ship-again-1", &r);
    assert_int_equal(r.status, 409);
    assert_string_equal(h_err_code(&r), "TRADE_STATE_INVALID");
    h_reply_fini(&r);

    /* someone else cannot see or confirm it */
    struct h_browser o = {0};
    wallet_login(&o, OTHER);
    trade_page(&o, id);
    assert_int_equal(o.status, 404);
    confirm(&o, id, PAYPW);
    assert_int_equal(o.status, 404);
    h_browser_fini(&o);

    /* a wrong payment password changes nothing */
    confirm(&b, id, "111111");
    assert_int_equal(b.status, 401);
    assert_state(id, "WAIT_BUYER_CONFIRM_GOODS");
    trade_page(&b, id);
    assert_non_null(strstr(b.page, "id=\"tracking-no\">SF1234567890<"));
    assert_non_null(strstr(b.page, "id=\"confirm-form\""));
    confirm(&b, id, PAYPW);
    assert_int_equal(b.status, 200);
    assert_non_null(strstr(b.page, "data-notice=\"receipt-confirmed\""));
    assert_non_null(strstr(b.page, "id=\"state\" data-state=\"TRADE_FINISHED\""));
    get_trade(id, &r);
    assert_string_equal(h_str(r.json, "state"), "TRADE_FINISHED");
    assert_string_equal(h_str(r.json, "fee.value"), "0.60");
    h_reply_fini(&r);
    merchant_balance(&avail, &esc);
    assert_int_equal(esc, esc0);
    assert_int_equal(avail - avail0, 9940);
    expect_available += 9940, expect_fees += 60;

    /* finished: no more refunds, no second confirmation */
    snprintf(path, sizeof path, "/v1/trades/%s/refunds", id);
    post(&ma, path,
         "{\"out_refund_no\":\"late\",\"amount\":{\"value\":\"1.00\",\"currency\":\"CNY\"}}",
         "esc-1-late-refund", &r);
    assert_int_equal(r.status, 409);
    h_reply_fini(&r);
    confirm(&b, id, PAYPW);
    assert_int_equal(b.status, 409);
    char seq[512];
    notified_states(id, seq, sizeof seq);
    assert_string_equal(seq,
                        "trade.state:WAIT_SELLER_SEND_GOODS,trade.state:WAIT_BUYER_CONFIRM_GOODS,"
                        "trade.state:TRADE_FINISHED");
    h_browser_fini(&b);
}

/* A partial refund while in escrow comes from the escrow; the rest is confirmed by the clock
 * exactly 10 days after shipping. */
static void escrow_auto_confirm(void **state)
{
    int64_t avail0, esc0, avail, esc;
    merchant_balance(&avail0, &esc0);
    char id[64];
    snprintf(id, sizeof id, "%s", create("esc-2", "50.00", "escrow"));
    assert_int_equal(h_cashier_pay_wallet(&pf, id, BUYER, PW, PAYPW), 200);
    ship(id);
    struct h_browser b = {0};
    wallet_login(&b, BUYER);
    int64_t wallet0 = wallet_balance(&b, BUYER);
    char path[128];
    snprintf(path, sizeof path, "/v1/trades/%s/refunds", id);
    struct h_reply r;
    post(&ma, path,
         "{\"out_refund_no\":\"r1\",\"amount\":{\"value\":\"10.00\",\"currency\":\"CNY\"}}",
         "esc-2-r1", &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(h_str(r.json, "status"), "SUCCESS");
    assert_string_equal(h_str(r.json, "fee_refunded.value"), "0.00");
    h_reply_fini(&r);
    assert_int_equal(wallet_balance(&b, BUYER), wallet0 + 1000);
    merchant_balance(&avail, &esc);
    assert_int_equal(esc - esc0, 4000);
    assert_int_equal(avail, avail0);

    assert_int_equal(th_clock_advance(pf.url, 10 * DAY_MS - 1000), 0);
    assert_state(id, "WAIT_BUYER_CONFIRM_GOODS");
    assert_int_equal(th_clock_advance(pf.url, 1000), 0);
    assert_state(id, "TRADE_FINISHED");
    merchant_balance(&avail, &esc);
    assert_int_equal(esc, esc0);
    assert_int_equal(avail - avail0, 4000 - 24); /* fee on what was released: 0.24 */
    expect_available += 3976, expect_fees += 24;
    h_browser_fini(&b);
}

/* Not shipped within 3 days: refunded in full by itself, the trade closed. */
static void escrow_not_shipped(void **state)
{
    int64_t avail0, esc0, avail, esc;
    merchant_balance(&avail0, &esc0);
    char id[64];
    snprintf(id, sizeof id, "%s", create("esc-3", "30.00", "escrow"));
    struct h_browser b = {0};
    wallet_login(&b, BUYER);
    int64_t wallet0 = wallet_balance(&b, BUYER);
    assert_int_equal(h_cashier_pay_wallet(&pf, id, BUYER, PW, PAYPW), 200);
    assert_int_equal(th_clock_advance(pf.url, 3 * DAY_MS - 1000), 0);
    assert_state(id, "WAIT_SELLER_SEND_GOODS");
    assert_int_equal(th_clock_advance(pf.url, 1000), 0);
    struct h_reply r;
    get_trade(id, &r);
    assert_string_equal(h_str(r.json, "state"), "TRADE_CLOSED");
    assert_string_equal(h_str(r.json, "close_reason"), "refunded");
    assert_string_equal(h_str(r.json, "refunded.value"), "30.00");
    h_reply_fini(&r);
    assert_int_equal(wallet_balance(&b, BUYER), wallet0);
    merchant_balance(&avail, &esc);
    assert_int_equal(esc, esc0);
    assert_int_equal(avail, avail0);
    char seq[512];
    notified_states(id, seq, sizeof seq);
    assert_string_equal(seq, "trade.state:WAIT_SELLER_SEND_GOODS,refund:TRADE_CLOSED,"
                             "trade.state:TRADE_CLOSED");
    h_browser_fini(&b);
}

/* --- refund requests ---------------------------------------------------------------------- */

static void requests(const struct h_merchant *m, const char *id, struct h_reply *r)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/trades/%s/refund_requests", id);
    h_call(&pf, m, "GET", path, NULL, NULL, r);
    assert_true(r->sig_ok);
}

/* The id of the trade's newest request, and its status. */
static void last_request(const char *id, char rid[64], char status[32])
{
    struct h_reply r;
    requests(&ma, id, &r);
    assert_int_equal(r.status, 200);
    json_t *arr = json_object_get(r.json, "refund_requests");
    assert_true(json_array_size(arr) > 0);
    json_t *last = json_array_get(arr, json_array_size(arr) - 1);
    snprintf(rid, 64, "%s", h_str(last, "request_id"));
    snprintf(status, 32, "%s", h_str(last, "status"));
    h_reply_fini(&r);
}

static void decide(const struct h_merchant *m, const char *id, const char *rid, const char *what,
                   const char *body, struct h_reply *r)
{
    char path[256], idem[96];
    snprintf(path, sizeof path, "/v1/trades/%s/refund_requests/%s/%s", id, rid, what);
    snprintf(idem, sizeof idem, "%s-%s-%d", what, rid, rand());
    post(m, path, body, idem, r);
}

/* Asked in the wallet; approved (the refund runs) and rejected (with a reason) by the merchant. */
static void requests_decided_by_merchant(void **state)
{
    char id[64], rid[64], status[32];
    snprintf(id, sizeof id, "%s", create("req-1", "20.00", "page"));
    assert_int_equal(h_cashier_pay_wallet(&pf, id, BUYER, PW, PAYPW), 200);
    expect_available += 2000 - 12, expect_fees += 12;
    struct h_browser b = {0};
    wallet_login(&b, BUYER);
    int64_t wallet0 = wallet_balance(&b, BUYER);
    assert_non_null(strstr(b.page, id));         /* listed under "my trades" */
    ask_refund(&b, id, "25.00", "broken", true); /* more than was paid */
    assert_int_equal(b.status, 409);
    ask_refund(&b, id, "5.00", "broken", true);
    assert_int_equal(b.status, 200);
    assert_non_null(strstr(b.page, "data-notice=\"refund-requested\""));
    assert_non_null(strstr(b.page, "data-status=\"WAIT_MERCHANT\""));
    assert_null(strstr(b.page, "id=\"refund-request-form\"")); /* one open request at a time */
    ask_refund(&b, id, "1.00", "again", false);
    assert_int_equal(b.status, 409);
    struct h_reply r;
    requests(&mb, id, &r); /* another merchant's trade does not exist */
    assert_int_equal(r.status, 404);
    h_reply_fini(&r);
    requests(&ma, id, &r);
    assert_int_equal(r.status, 200);
    json_t *first = json_array_get(json_object_get(r.json, "refund_requests"), 0);
    assert_int_equal(json_array_size(json_object_get(r.json, "refund_requests")), 1);
    assert_string_equal(h_str(first, "amount.value"), "5.00");
    assert_string_equal(h_str(first, "reason"), "broken");
    assert_true(json_is_true(json_object_get(first, "goods_returned")));
    h_reply_fini(&r);
    last_request(id, rid, status);
    assert_string_equal(status, "WAIT_MERCHANT");
    decide(&mb, id, rid, "approve", "{}", &r);
    assert_int_equal(r.status, 404);
    h_reply_fini(&r);
    decide(&ma, id, rid, "approve", "{}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(h_str(r.json, "status"), "APPROVED");
    assert_string_equal(h_str(r.json, "decided_by"), "merchant");
    assert_true(strncmp(h_str(r.json, "refund_id"), "rf_", 3) == 0);
    h_reply_fini(&r);
    decide(&ma, id, rid, "approve", "{}", &r);
    assert_int_equal(r.status, 409);
    assert_string_equal(h_err_code(&r), "REFUND_REQUEST_STATE_INVALID");
    h_reply_fini(&r);
    get_trade(id, &r);
    assert_string_equal(h_str(r.json, "refunded.value"), "5.00");
    h_reply_fini(&r);
    assert_int_equal(wallet_balance(&b, BUYER), wallet0 + 500);
    expect_available -= 500 - 3, expect_fees -= 3; /* the fee share returned: 0.03 */

    ask_refund(&b, id, "3.00", "changed+my+mind", false);
    assert_int_equal(b.status, 200);
    last_request(id, rid, status);
    decide(&ma, id, rid, "reject", "{}", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(h_str(r.json, "error.field"), "reason");
    h_reply_fini(&r);
    decide(&ma, id, rid, "reject", "{\"reason\":\"used\"}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(h_str(r.json, "status"), "REJECTED");
    assert_string_equal(h_str(r.json, "reject_reason"), "used");
    h_reply_fini(&r);
    trade_page(&b, id);
    assert_non_null(strstr(b.page, "data-status=\"REJECTED\""));
    assert_non_null(strstr(b.page, "id=\"refund-request-form\"")); /* may ask again */
    assert_int_equal(wallet_balance(&b, BUYER), wallet0 + 500);
    char seq[1024];
    notified_states(id, seq, sizeof seq);
    assert_string_equal(seq, "trade.state:TRADE_SUCCESS,refund_request:TRADE_SUCCESS,"
                             "refund:TRADE_SUCCESS,refund_request:TRADE_SUCCESS,"
                             "refund_request:TRADE_SUCCESS,refund_request:TRADE_SUCCESS");
    h_browser_fini(&b);
}

/* An unanswered request goes to the operator after 2 days and holds the escrow's clock; the
 * operator approves it in the console: everything back, the trade closed. */
static void request_decided_by_operator(void **state)
{
    int64_t avail0, esc0, avail, esc;
    merchant_balance(&avail0, &esc0);
    char id[64], rid[64], status[32];
    snprintf(id, sizeof id, "%s", create("req-2", "40.00", "escrow"));
    assert_int_equal(h_cashier_pay_wallet(&pf, id, BUYER, PW, PAYPW), 200);
    ship(id);
    struct h_browser b = {0};
    wallet_login(&b, BUYER);
    int64_t wallet0 = wallet_balance(&b, BUYER);
    ask_refund(&b, id, "40.00", "never+arrived", false);
    assert_int_equal(b.status, 200);
    trade_page(&b, id);
    assert_null(strstr(b.page, "id=\"confirm-form\"")); /* decided first */
    confirm(&b, id, PAYPW);
    assert_int_equal(b.status, 409);
    last_request(id, rid, status);
    assert_int_equal(th_clock_advance(pf.url, 2 * DAY_MS), 0);
    last_request(id, rid, status);
    assert_string_equal(status, "WAIT_OPERATOR");
    assert_int_equal(th_clock_advance(pf.url, 10 * DAY_MS), 0); /* past the confirm time */
    assert_state(id, "WAIT_BUYER_CONFIRM_GOODS");
    struct h_reply r;
    decide(&ma, id, rid, "approve", "{}", &r); /* the merchant's time is over */
    assert_int_equal(r.status, 409);
    h_reply_fini(&r);

    /* the console: listed, and decided with the operator's token */
    char url[256], auth[128], form[256];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", OP_TOKEN);
    const char *hdr[] = {auth, "Content-Type: application/x-www-form-urlencoded", NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response res = {0};
    snprintf(url, sizeof url, "%s/operator/refund-requests", pf.url);
    assert_int_equal(pay_http_client_request("GET", url, NULL, NULL, 0, &opt, &res, NULL),
                     PAY_ERR_OK);
    assert_int_equal(res.status, 401); /* no token, no console */
    pay_http_client_response_fini(&res);
    assert_int_equal(pay_http_client_request("GET", url, hdr, NULL, 0, &opt, &res, NULL),
                     PAY_ERR_OK);
    assert_int_equal(res.status, 200);
    char row[128];
    snprintf(row, sizeof row, "data-request=\"%s\" data-status=\"WAIT_OPERATOR\"", rid);
    assert_non_null(strstr(pay_buf_str(&res.body), row));
    pay_http_client_response_fini(&res);
    snprintf(url, sizeof url, "%s/operator/refund-requests/%s/decide", pf.url, rid);
    snprintf(form, sizeof form, "trade_id=%s&decision=approve", id);
    assert_int_equal(
        pay_http_client_request("POST", url, hdr, form, strlen(form), &opt, &res, NULL),
        PAY_ERR_OK);
    assert_int_equal(res.status, 200);
    assert_non_null(strstr(pay_buf_str(&res.body), "data-notice=\"APPROVED\""));
    pay_http_client_response_fini(&res);
    assert_int_equal(
        pay_http_client_request("POST", url, hdr, form, strlen(form), &opt, &res, NULL),
        PAY_ERR_OK);
    assert_int_equal(res.status, 409); /* decided once */
    pay_http_client_response_fini(&res);
    /* the audit trail: each step with who took it */
    snprintf(url, sizeof url, "%s/operator/audit?target=%s", pf.url, rid);
    assert_int_equal(pay_http_client_request("GET", url, hdr, NULL, 0, &opt, &res, NULL),
                     PAY_ERR_OK);
    assert_int_equal(res.status, 200);
    const char *page = pay_buf_str(&res.body);
    assert_non_null(strstr(page, "data-action=\"refund_request.create\" data-actor=\"consumer:"));
    assert_non_null(
        strstr(page, "data-action=\"refund_request.to_operator\" data-actor=\"system\""));
    assert_non_null(strstr(page, "data-action=\"refund_request.approve\" data-actor=\"operator\""));
    pay_http_client_response_fini(&res);
    snprintf(url, sizeof url, "%s/operator/audit?action=trade.ship", pf.url);
    assert_int_equal(pay_http_client_request("GET", url, hdr, NULL, 0, &opt, &res, NULL),
                     PAY_ERR_OK);
    snprintf(row, sizeof row, "data-action=\"trade.ship\" data-actor=\"merchant:m_a\"");
    assert_non_null(strstr(pay_buf_str(&res.body), row));
    pay_http_client_response_fini(&res);

    get_trade(id, &r);
    assert_string_equal(h_str(r.json, "state"), "TRADE_CLOSED");
    assert_string_equal(h_str(r.json, "refunded.value"), "40.00");
    h_reply_fini(&r);
    last_request(id, rid, status);
    assert_string_equal(status, "APPROVED");
    assert_int_equal(wallet_balance(&b, BUYER), wallet0 + 4000);
    merchant_balance(&avail, &esc);
    assert_int_equal(esc, esc0);
    assert_int_equal(avail, avail0);
    h_browser_fini(&b);
}

static int64_t credit_balance(struct pay_ledger *lg, const char *id)
{
    return -h_ledger_debit_balance(lg, id);
}

static void ledger_at_the_end(void **state)
{
    h_stop(&pf, SIGTERM);
    struct pay_store *s = NULL;
    struct pay_ledger *lg = h_ledger_open(&pf, &s);
    assert_int_equal(credit_balance(lg, "pf.escrow.m_a.CNY"), 0);
    assert_int_equal(credit_balance(lg, "pf.merchant.m_a.CNY"), expect_available);
    assert_int_equal(credit_balance(lg, "pf.fees.CNY"), expect_fees);
    /* the buyer's wallet: what was credited, less what the merchant and the fees kept */
    h_ledger_close(s, lg);
    assert_int_equal(h_ledger_verify(&pf), 0);
}

int main(int argc, char **argv)
{
    h_paygate = argc > 1 ? argv[1] : "./paygate";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(escrow_confirmed_by_buyer),
        cmocka_unit_test(escrow_auto_confirm),
        cmocka_unit_test(escrow_not_shipped),
        cmocka_unit_test(requests_decided_by_merchant),
        cmocka_unit_test(request_decided_by_operator),
        cmocka_unit_test(ledger_at_the_end),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
