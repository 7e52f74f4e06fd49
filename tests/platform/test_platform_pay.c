/* Integration tests of paying and refunding through the real `paygate platform` process: a
 * consumer logs in on the cashier and pays by wallet balance (CSRF, payment password,
 * lockout), the merchant is notified, partial refunds up to the paid amount, an over-refund
 * refused, 100 concurrent refunds never exceeding it, and the ledger balances and invariants
 * checked at the end. */
#include "harness.h"
#include "lib/harness.h"

#include "core/money.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "http/client.h"
#include "http/codec.h"
#include "ledger/ledger.h"
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct h_platform pf;
static struct h_merchant ma, mb;
static struct h_notify_sink sink;

static int group_setup(void **state)
{
    h_setup(&pf, &ma, &mb, "timeout_min = 1s");
    h_add_consumer(&pf, "13800000001", "correct horse", "246810");
    h_wallet_credit(&pf, "13800000001", "1000.00");
    h_add_consumer(&pf, "guard@example.com", "correct horse", "246810");
    h_start(&pf);
    h_sink_start(&sink, pf.pk, 0);
    return 0;
}

/* --- browsing the cashier (h_browser in harness.h) ------------------------------------------ */

static void b_request(struct h_browser *b, const char *method, const char *path, const char *form)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", pf.url, path);
    h_browser_req(b, method, url, form, false);
}

static void b_login(struct h_browser *b, const char *trade_id, const char *login, const char *pw)
{
    char path[128];
    snprintf(path, sizeof path, "/cashier/%s", trade_id);
    b_request(b, "GET", path, NULL);
    assert_int_equal(b->status, 200);
    assert_non_null(strstr(b->page, "login-form"));
    assert_non_null(strstr(b->page, "data-page=\"cashier-login\""));
    struct pay_buf f;
    pay_buf_init(&f, 4096);
    assert_int_equal(pay_form_append(&f, "csrf", b->last_csrf) |
                         pay_form_append(&f, "login", login) | pay_form_append(&f, "password", pw),
                     0);
    snprintf(path, sizeof path, "/cashier/%s/login", trade_id);
    b_request(b, "POST", path, pay_buf_str(&f));
    pay_buf_fini(&f);
}

static void b_pay_wallet(struct h_browser *b, const char *trade_id, const char *pay_pw)
{
    char path[128], form[256];
    snprintf(path, sizeof path, "/cashier/%s", trade_id);
    b_request(b, "GET", path, NULL);
    assert_int_equal(b->status, 200);
    snprintf(form, sizeof form, "csrf=%s&pay_password=%s", b->last_csrf, pay_pw);
    snprintf(path, sizeof path, "/cashier/%s/pay/wallet", trade_id);
    b_request(b, "POST", path, form);
}

static char paid_trade[64];

/* The return link as a scraper reads it (docs/integration.md): the href, with the HTML
 * entities of its attribute decoded (only &amp; can occur in a URL), verifies with the
 * platform key over the query string before "&sign=". */
static void return_link_verifies(const char *page)
{
    const char *a = strstr(page, "id=\"return\"");
    assert_non_null(a);
    const char *h = strstr(a, "href=\"");
    assert_non_null(h);
    h += 6;
    char url[1024];
    size_t n = 0;
    for (; *h && *h != '"' && n + 1 < sizeof url; n++) {
        url[n] = *h;
        h += strncmp(h, "&amp;", 5) == 0 ? 5 : 1;
    }
    url[n] = '\0';
    assert_null(strstr(url, "&#")); /* no other entity: "=" stays "=" */
    const char *q = strchr(url, '?'), *s = strstr(url, "&sign=");
    assert_non_null(q);
    assert_non_null(s);
    assert_non_null(strstr(q, "?trade_id=tr_"));
    uint8_t sig[PAY_ED25519_SIG_LEN];
    size_t sig_len = 0;
    assert_int_equal(pay_base64url_decode(sig, sizeof sig, s + 6, strlen(s + 6), &sig_len), 0);
    assert_int_equal(sig_len, sizeof sig);
    assert_int_equal(pay_ed25519_verify(sig, q + 1, (size_t)(s - q - 1), pf.pk), 0);
}

static void pay_by_wallet(void **state)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"out_trade_no\":\"pay-1\",\"amount\":{\"value\":\"100.00\",\"currency\":\"CNY\"},"
             "\"subject\":\"a book\",\"notify_url\":\"%s\",\"return_url\":"
             "\"http://127.0.0.1:1/return\"}",
             sink.url);
    struct h_reply r;
    h_call(&pf, &ma, "POST", "/v1/trades", body, "pay-1", &r);
    assert_int_equal(r.status, 201);
    snprintf(paid_trade, sizeof paid_trade, "%s", h_str(r.json, "trade_id"));
    h_reply_fini(&r);
    struct h_browser b = {0};
    b_login(&b, paid_trade, "13800000001", "correct horse");
    assert_int_equal(b.status, 303);
    assert_true(b.session[0] != '\0');
    char page[128];
    snprintf(page, sizeof page, "/cashier/%s", paid_trade);
    b_request(&b, "GET", page, NULL);
    assert_non_null(strstr(b.page, "data-page=\"cashier-pay\""));
    b_pay_wallet(&b, paid_trade, "246810");
    if (b.status != 200)
        fprintf(stderr, "%s\n", b.page);
    assert_int_equal(b.status, 200);
    assert_non_null(strstr(b.page, "data-notice=\"paid\""));
    assert_non_null(strstr(b.page, "data-page=\"cashier-paid\""));
    assert_non_null(strstr(b.page, "id=\"return\""));
    return_link_verifies(b.page);
    char path[128];
    snprintf(path, sizeof path, "/v1/trades/%s", paid_trade);
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_string_equal(h_str(r.json, "state"), "TRADE_SUCCESS");
    assert_string_equal(h_str(r.json, "fee.value"), "0.60"); /* 60 bp of 100.00 */
    assert_string_equal(h_str(r.json, "pay_method"), "wallet");
    h_reply_fini(&r);
    assert_int_equal(h_sink_wait(&sink, 1, 60000), 1);
    assert_string_equal(sink.last_state, "TRADE_SUCCESS");
    /* paying again is refused, and the page shows the trade paid */
    b_pay_wallet(&b, paid_trade, "246810");
    assert_int_equal(b.status, 409);
    assert_non_null(strstr(b.page, "id=\"paid\""));
    assert_null(strstr(b.page, "wallet-form"));
    h_browser_fini(&b);
}

static void cashier_guards(void **state)
{
    const char *id0 = h_create_trade(&pf, &ma, "guard-1", "1.00", NULL);
    char id[64], path[128];
    snprintf(id, sizeof id, "%s", id0);
    struct h_browser b = {0};
    /* a login form without the CSRF token */
    snprintf(path, sizeof path, "/cashier/%s/login", id);
    b_request(&b, "POST", path, "login=13800000001&password=correct+horse");
    assert_int_equal(b.status, 403);
    assert_non_null(strstr(b.page, "data-page=\"error\""));
    assert_non_null(strstr(b.page, "<code id=\"code\">CSRF_INVALID</code>"));
    /* wrong login password */
    b_login(&b, id, "guard@example.com", "wrong horse");
    assert_int_equal(b.status, 401);
    /* pay without a session */
    snprintf(path, sizeof path, "/cashier/%s/pay/wallet", id);
    b_request(&b, "POST", path, "csrf=x&pay_password=246810");
    assert_int_equal(b.status, 401);
    /* the payment password locks after 5 failures; each says how many tries are left */
    b_login(&b, id, "guard@example.com", "correct horse");
    assert_int_equal(b.status, 303);
    for (int i = 0; i < 4; i++) {
        b_pay_wallet(&b, id, "111111");
        assert_int_equal(b.status, 401);
        char left[64];
        /* the detail with its count, translated: 支付密码错误，还可尝试 N 次 */
        snprintf(left, sizeof left, "支付密码错误，还可尝试 %d 次", 4 - i);
        assert_non_null(strstr(b.page, left));
    }
    b_pay_wallet(&b, id, "111111"); /* the fifth locks */
    assert_int_equal(b.status, 423);
    assert_non_null(strstr(b.page, "支付密码错误，已连续失败 5 次，锁定 30 分钟"));
    b_pay_wallet(&b, id, "246810"); /* the right one is refused unchecked */
    assert_int_equal(b.status, 423);
    h_browser_fini(&b);
    struct h_reply r;
    snprintf(path, sizeof path, "/v1/trades/%s", id);
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_string_equal(h_str(r.json, "state"), "WAIT_BUYER_PAY");
    h_reply_fini(&r);
}

static long refund(const char *trade, const char *orn, const char *amount, const char *idem,
                   struct h_reply *r)
{
    char body[256], path[128];
    snprintf(body, sizeof body,
             "{\"out_refund_no\":\"%s\",\"amount\":{\"value\":\"%s\",\"currency\":\"CNY\"}}", orn,
             amount);
    snprintf(path, sizeof path, "/v1/trades/%s/refunds", trade);
    h_call(&pf, &ma, "POST", path, body, idem, r);
    return r->status;
}

/* The refund that closes the trade is a state change like any other (docs/api.md:
 * "trade.state on every state change"): the answer comes after the commit, so the outbox
 * already holds, after the refund's own notification, a trade.state with TRADE_CLOSED;
 * and it is delivered. */
static void full_refund_notified(void)
{
    char path[160];
    struct h_reply r;
    snprintf(path, sizeof path, "/v1/notifications?trade_id=%s", paid_trade);
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *list = json_object_get(r.json, "notifications");
    size_t n = json_array_size(list);
    const char *events[] = {"trade.state", "refund", "refund", "refund", "trade.state"};
    const char *states[] = {"TRADE_SUCCESS", "TRADE_SUCCESS", "TRADE_SUCCESS", "TRADE_CLOSED",
                            "TRADE_CLOSED"};
    assert_int_equal(n, 5); /* paid; rf-1, rf-2, rf-4; closed */
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(list, i);
        assert_string_equal(h_str(e, "event"), events[i]);
        assert_string_equal(h_str(e, "payload.trade.state"), states[i]);
    }
    assert_string_equal(h_str(json_array_get(list, 4), "payload.trade.close_reason"), "refunded");
    h_reply_fini(&r);
    assert_int_equal(h_sink_wait(&sink, 5, 10000), 5);
    assert_string_equal(sink.last_state, "TRADE_CLOSED");
}

static void partial_refunds(void **state)
{
    struct h_reply r;
    assert_int_equal(refund(paid_trade, "rf-1", "30.00", "rf-1", &r), 201);
    char rid[64];
    snprintf(rid, sizeof rid, "%s", h_str(r.json, "refund_id"));
    assert_string_equal(h_str(r.json, "status"), "SUCCESS");
    assert_string_equal(h_str(r.json, "fee_refunded.value"), "0.18");
    h_reply_fini(&r);
    /* the same out_refund_no again (new key): the same refund */
    assert_int_equal(refund(paid_trade, "rf-1", "30.00", "rf-1-again", &r), 201);
    assert_string_equal(h_str(r.json, "refund_id"), rid);
    h_reply_fini(&r);
    assert_int_equal(refund(paid_trade, "rf-1", "31.00", "rf-1-other", &r), 409);
    assert_string_equal(h_err_code(&r), "DUPLICATE");
    h_reply_fini(&r);
    assert_int_equal(refund(paid_trade, "rf-2", "50.00", "rf-2", &r), 201);
    h_reply_fini(&r);
    assert_int_equal(refund(paid_trade, "rf-3", "20.01", "rf-3", &r), 409);
    assert_string_equal(h_err_code(&r), "REFUND_EXCEEDS_PAID");
    assert_string_equal(h_str(r.json, "error.field"), "amount.value");
    h_reply_fini(&r);
    assert_int_equal(refund(paid_trade, "rf-4", "20.00", "rf-4", &r), 201);
    h_reply_fini(&r);
    char path[160];
    snprintf(path, sizeof path, "/v1/trades/%s", paid_trade);
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_string_equal(h_str(r.json, "state"), "TRADE_CLOSED");
    assert_string_equal(h_str(r.json, "close_reason"), "refunded");
    assert_string_equal(h_str(r.json, "refunded.value"), "100.00");
    h_reply_fini(&r);
    full_refund_notified();
    snprintf(path, sizeof path, "/v1/trades/%s/refunds/%s", paid_trade, rid);
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(h_str(r.json, "out_refund_no"), "rf-1");
    h_reply_fini(&r);
    snprintf(path, sizeof path, "/v1/trades/%s/refunds?out_refund_no=rf-2", paid_trade);
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(h_str(r.json, "amount.value"), "50.00");
    h_reply_fini(&r);
    h_call(&pf, &mb, "GET", path, NULL, NULL, &r); /* another merchant */
    assert_int_equal(r.status, 404);
    h_reply_fini(&r);
}

#define N_REFUNDS 100
static char conc_trade[64];
static struct h_reply conc[N_REFUNDS];

static void *conc_refund(void *arg)
{
    size_t i = (size_t)((struct h_reply *)arg - conc);
    char orn[32];
    snprintf(orn, sizeof orn, "c-%zu", i);
    refund(conc_trade, orn, "1.00", orn, arg);
    return NULL;
}

static void concurrent_refunds(void **state)
{
    const char *id = h_create_trade(&pf, &ma, "conc-pay", "50.00", NULL);
    snprintf(conc_trade, sizeof conc_trade, "%s", id);
    struct h_browser b = {0};
    b_login(&b, conc_trade, "13800000001", "correct horse");
    b_pay_wallet(&b, conc_trade, "246810");
    assert_int_equal(b.status, 200);
    h_browser_fini(&b);
    pthread_t t[N_REFUNDS];
    for (int i = 0; i < N_REFUNDS; i++)
        pthread_create(&t[i], NULL, conc_refund, &conc[i]);
    for (int i = 0; i < N_REFUNDS; i++)
        pthread_join(t[i], NULL);
    int ok = 0, over = 0;
    for (int i = 0; i < N_REFUNDS; i++) {
        if (conc[i].status == 201)
            ok++;
        else if (strcmp(h_err_code(&conc[i]), "REFUND_EXCEEDS_PAID") == 0 ||
                 strcmp(h_err_code(&conc[i]), "TRADE_STATE_INVALID") == 0)
            over++;
        else
            fprintf(stderr, "refund %d: %ld %s\n", i, conc[i].status, conc[i].body);
        h_reply_fini(&conc[i]);
    }
    assert_int_equal(ok, 50);
    assert_int_equal(over, 50);
    struct h_reply r;
    char path[128];
    snprintf(path, sizeof path, "/v1/trades/%s", conc_trade);
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_string_equal(h_str(r.json, "refunded.value"), "50.00");
    assert_string_equal(h_str(r.json, "state"), "TRADE_CLOSED");
    h_reply_fini(&r);
}

static void qr_on_mobile(void **state)
{
    struct h_reply r;
    h_call(&pf, &ma, "POST", "/v1/trades",
           "{\"out_trade_no\":\"qr-1\",\"amount\":{\"value\":\"10.00\",\"currency\":"
           "\"CNY\"},\"subject\":\"coffee\",\"product\":\"qr\"}",
           "qr-1", &r);
    assert_int_equal(r.status, 201);
    char id[64], qr_url[256], path[160];
    snprintf(id, sizeof id, "%s", h_str(r.json, "trade_id"));
    snprintf(qr_url, sizeof qr_url, "%s", h_str(r.json, "qr_url"));
    assert_non_null(strstr(qr_url, "/m/pay/tr_"));
    h_reply_fini(&r);
    struct h_browser desk = {0}, phone = {0};
    snprintf(path, sizeof path, "/cashier/%s", id);
    b_request(&desk, "GET", path, NULL);
    assert_int_equal(desk.status, 200);
    assert_non_null(strstr(desk.page, "<svg"));
    assert_non_null(strstr(desk.page, "id=\"qr\""));
    /* the phone opens the code's URL, logs in to the wallet and confirms */
    snprintf(path, sizeof path, "/m/pay/%s", id);
    b_request(&phone, "GET", path, NULL);
    assert_int_equal(phone.status, 200);
    assert_non_null(strstr(phone.page, "data-page=\"mobile-login\""));
    char form[512];
    snprintf(form, sizeof form, "csrf=%s&login=13800000001&password=correct+horse",
             phone.last_csrf);
    snprintf(path, sizeof path, "/m/pay/%s/login", id);
    b_request(&phone, "POST", path, form);
    assert_int_equal(phone.status, 303);
    snprintf(path, sizeof path, "/m/pay/%s", id);
    b_request(&phone, "GET", path, NULL);
    assert_non_null(strstr(phone.page, "confirm-form"));
    assert_non_null(strstr(phone.page, "data-page=\"mobile-confirm\""));
    snprintf(form, sizeof form, "csrf=%s&pay_password=246810", phone.last_csrf);
    snprintf(path, sizeof path, "/m/pay/%s/confirm", id);
    b_request(&phone, "POST", path, form);
    assert_int_equal(phone.status, 200);
    assert_non_null(strstr(phone.page, "data-notice=\"paid\""));
    assert_non_null(strstr(phone.page, "data-page=\"mobile-paid\""));
    snprintf(path, sizeof path, "/cashier/%s", id); /* the desktop page now says paid */
    b_request(&desk, "GET", path, NULL);
    assert_non_null(strstr(desk.page, "id=\"paid\""));
    h_browser_fini(&desk);
    h_browser_fini(&phone);
    snprintf(path, sizeof path, "/v1/trades/%s", id);
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_string_equal(h_str(r.json, "state"), "TRADE_SUCCESS");
    assert_string_equal(h_str(r.json, "pay_method"), "qr");
    h_reply_fini(&r);
}

static void agreement_pay(void **state)
{
    struct h_browser b = {0};
    b_request(&b, "GET", "/wallet", NULL);
    char form[512];
    snprintf(form, sizeof form, "csrf=%s&login=13800000001&password=correct+horse", b.last_csrf);
    b_request(&b, "POST", "/wallet/login", form);
    assert_int_equal(b.status, 303);
    b_request(&b, "GET", "/wallet", NULL);
    /* the history lists the latest movements: here the refunds of the concurrent test */
    assert_non_null(strstr(b.page, "class=\"movement\""));
    assert_non_null(strstr(b.page, "data-kind=\"refund\""));
    assert_null(strstr(b.page, "暂无交易记录"));
    snprintf(form, sizeof form, "csrf=%s&merchant_id=m_a&pay_password=246810", b.last_csrf);
    b_request(&b, "POST", "/wallet/agreements", form);
    assert_int_equal(b.status, 200);
    const char *m = strstr(b.page, "id=\"agreement-no\">");
    assert_non_null(m);
    char ag[64];
    m += strlen("id=\"agreement-no\">");
    snprintf(ag, sizeof ag, "%.*s", (int)strcspn(m, "<"), m);
    h_browser_fini(&b);
    char body[512];
    struct h_reply r;
    snprintf(body, sizeof body,
             "{\"out_trade_no\":\"ag-1\",\"amount\":{\"value\":\"3.00\",\"currency\":"
             "\"CNY\"},\"subject\":\"monthly\",\"product\":\"agreement\","
             "\"agreement_no\":\"%s\"}",
             ag);
    h_call(&pf, &mb, "POST", "/v1/trades", body, "ag-b", &r); /* not m_b's agreement */
    assert_int_equal(r.status, 403);
    assert_string_equal(h_err_code(&r), "AGREEMENT_INVALID");
    h_reply_fini(&r);
    h_call(&pf, &ma, "POST", "/v1/trades", body, "ag-a", &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(h_str(r.json, "state"), "TRADE_SUCCESS");
    assert_string_equal(h_str(r.json, "pay_method"), "agreement");
    char id[64];
    snprintf(id, sizeof id, "%s", h_str(r.json, "trade_id"));
    h_reply_fini(&r);
    assert_int_equal(refund(id, "ag-r", "3.00", "ag-r", &r), 201); /* back to the wallet */
    assert_string_equal(h_str(r.json, "status"), "SUCCESS");
    h_reply_fini(&r);
}

static void totp_code_at(const char *b32, int64_t unix_s, char out[8])
{
    uint8_t key[64];
    size_t n = 0;
    assert_int_equal(pay_base32_decode(key, sizeof key, b32, strlen(b32), &n), 0);
    assert_int_equal(pay_totp_code(key, n, unix_s, 6, out, 8), 0);
}

static void two_step_login(void **state)
{
    struct h_browser b = {0};
    b_request(&b, "GET", "/register", NULL);
    char form[512];
    snprintf(form, sizeof form,
             "csrf=%s&login=totp%%40example.com&password=long+enough&pay_password=123123",
             b.last_csrf);
    b_request(&b, "POST", "/register", form);
    assert_int_equal(b.status, 303);
    b_request(&b, "GET", "/wallet", NULL);
    snprintf(form, sizeof form, "csrf=%s", b.last_csrf);
    b_request(&b, "POST", "/wallet/totp", form);
    assert_int_equal(b.status, 200);
    const char *m = strstr(b.page, "id=\"totp-secret\">");
    assert_non_null(m);
    m += strlen("id=\"totp-secret\">");
    char secret[64], code[8];
    snprintf(secret, sizeof secret, "%.*s", (int)strcspn(m, "<"), m);
    int64_t now = (int64_t)time(NULL);
    totp_code_at(secret, now, code);
    snprintf(form, sizeof form, "csrf=%s&code=%s", b.last_csrf, code);
    b_request(&b, "POST", "/wallet/totp/confirm", form);
    assert_int_equal(b.status, 200);
    assert_non_null(strstr(b.page, "data-notice=\"totp-on\""));
    h_browser_fini(&b);
    struct h_browser c = {0};
    b_request(&c, "GET", "/wallet", NULL);
    snprintf(form, sizeof form, "csrf=%s&login=totp%%40example.com&password=long+enough",
             c.last_csrf);
    b_request(&c, "POST", "/wallet/login", form); /* no code */
    assert_int_equal(c.status, 401);
    /* the next step's code, newer than the one used, sent by 10 logins at once: accepted once
     * (the step is taken under the writer lock) */
    totp_code_at(secret, now + 30, code);
    enum { N = 10 };
    static struct h_shot shots[N];
    for (int i = 0; i < N; i++) {
        memset(&shots[i], 0, sizeof shots[i]);
        snprintf(shots[i].url, sizeof shots[i].url, "%s/wallet/login", pf.url);
        snprintf(shots[i].form, sizeof shots[i].form,
                 "csrf=%s&login=totp%%40example.com&password=long+enough&totp=%s", c.last_csrf,
                 code);
        snprintf(shots[i].cookie, sizeof shots[i].cookie, "Cookie: pf_csrf=%s", c.csrf_cookie);
    }
    h_fire_all(shots, N);
    int in = 0;
    for (int i = 0; i < N; i++)
        in += shots[i].status == 303;
    assert_int_equal(in, 1);
    struct h_browser d = {0}; /* the same code again is refused (wrong, or locked by now) */
    b_request(&d, "GET", "/wallet", NULL);
    snprintf(form, sizeof form, "csrf=%s&login=totp%%40example.com&password=long+enough&totp=%s",
             d.last_csrf, code);
    b_request(&d, "POST", "/wallet/login", form);
    assert_true(d.status == 401 || d.status == 423);
    /* the secret is stored sealed: its text is in neither the database nor its WAL (nor, in
     * the pg suite, any file of the cluster), where the login, stored in clear, is found */
    assert_int_equal(h_count_in_db(&pf, secret), 0);
    assert_true(h_count_in_db(&pf, "totp@example.com") > 0);
    h_browser_fini(&c);
    h_browser_fini(&d);
}

/* GET path with one extra header; the page (heap, caller frees) and *status. */
static char *get_page(const char *path, const char *header, long *status)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", pf.url, path);
    const char *const headers[] = {header, NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    assert_int_equal(
        pay_http_client_request("GET", url, header ? headers : NULL, NULL, 0, &opt, &r, NULL),
        PAY_ERR_OK);
    *status = r.status;
    char *page = strdup(pay_buf_str(&r.body));
    pay_http_client_response_fini(&r);
    return page;
}

/* The cashier speaks Chinese unless asked otherwise (docs/i18n.md): money as ¥, the trade's
 * state by name, the codes kept for scripts; Accept-Language: en or the switch's cookie give
 * English. */
static void cashier_in_the_readers_language(void **state)
{
    (void)state;
    char id[64], path[128];
    snprintf(id, sizeof id, "%s", h_create_trade(&pf, &ma, "lang-1", "1234.50", NULL));
    snprintf(path, sizeof path, "/cashier/%s", id);
    long st = 0;
    char *zh = get_page(path, NULL, &st);
    assert_int_equal(st, 200);
    assert_non_null(strstr(zh, "<html lang=\"zh-CN\">"));
    assert_non_null(strstr(zh, "<title>PayGate 收银台</title>"));
    assert_non_null(
        strstr(zh, "<span id=\"amount\" data-amount=\"1234.50\" data-currency=\"CNY\">¥1,234.50"));
    assert_non_null(strstr(zh, "<span id=\"state\" data-state=\"WAIT_BUYER_PAY\">等待付款</span>"));
    assert_non_null(strstr(zh, "订单号 lang-1"));
    assert_non_null(strstr(zh, "id=\"lang-en\">English</a>"));
    assert_null(strstr(zh, "Log in to pay"));
    char *en = get_page(path, "Accept-Language: en-GB,en;q=0.8", &st);
    assert_non_null(strstr(en, "<html lang=\"en\">"));
    assert_non_null(strstr(en, "data-state=\"WAIT_BUYER_PAY\">Awaiting payment</span>"));
    assert_non_null(strstr(en, "Log in to pay"));
    assert_non_null(strstr(en, "¥1,234.50"));
    char *cookie = get_page(path, "Cookie: lang=en", &st);
    assert_non_null(strstr(cookie, "Log in to pay"));
    free(zh);
    free(en);
    free(cookie);
}

static void register_page(void **state)
{
    struct h_browser b = {0};
    b_request(&b, "GET", "/register", NULL);
    assert_int_equal(b.status, 200);
    assert_non_null(strstr(b.page, "register-form"));
    char form[512];
    snprintf(form, sizeof form,
             "csrf=%s&login=new%%40example.com&password=long+enough&pay_password=123123",
             b.last_csrf);
    b_request(&b, "POST", "/register", form);
    assert_int_equal(b.status, 303); /* registered and logged in */
    assert_true(b.session[0] != '\0');
    b_request(&b, "GET", "/wallet", NULL);
    assert_non_null(strstr(b.page, "new@example.com"));
    struct h_browser c = {0}; /* the same login again */
    b_request(&c, "GET", "/register", NULL);
    snprintf(form, sizeof form,
             "csrf=%s&login=new%%40example.com&password=long+enough&pay_password=123123",
             c.last_csrf);
    b_request(&c, "POST", "/register", form);
    assert_int_equal(c.status, 409);
    snprintf(form, sizeof form, "csrf=%s&login=12&password=short&pay_password=1", c.last_csrf);
    b_request(&c, "POST", "/register", form);
    assert_int_equal(c.status, 400);
    h_browser_fini(&b);
    h_browser_fini(&c);
}

static int64_t balance(struct pay_ledger *lg, const char *id) /* credits - debits */
{
    return -h_ledger_debit_balance(lg, id);
}

/* GET /v1/balance agrees with the ledger checked below: m_a's available balance and fees. */
static void merchant_balance_api(void **state)
{
    struct h_reply r;
    h_call(&pf, &ma, "GET", "/v1/balance", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(r.sig_ok);
    assert_string_equal(h_str(r.json, "merchant_id"), "m_a");
    json_t *bal = json_object_get(r.json, "balances");
    assert_int_equal(json_array_size(bal), 1);
    json_t *cny = json_array_get(bal, 0);
    assert_string_equal(h_str(cny, "currency"), "CNY");
    assert_string_equal(h_str(cny, "available.value"), "9.94");
    assert_string_equal(h_str(cny, "fees_charged.value"), "0.06");
    h_reply_fini(&r);
    h_call(&pf, &ma, "GET", "/v1/balance?currency=USD", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    cny = json_array_get(json_object_get(r.json, "balances"), 0);
    assert_string_equal(h_str(cny, "currency"), "USD");
    assert_string_equal(h_str(cny, "available.value"), "0.00");
    h_reply_fini(&r);
    h_call(&pf, &ma, "GET", "/v1/balance?currency=usd", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(h_err_code(&r), "FIELD_INVALID");
    h_reply_fini(&r);
    h_call(&pf, &mb, "GET", "/v1/balance", NULL, NULL, &r); /* isolation: m_b has nothing */
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "balances")), 0);
    h_reply_fini(&r);
}

static void ledger_after_everything(void **state)
{
    h_stop(&pf, SIGTERM);
    struct pay_store *s = NULL;
    struct pay_ledger *lg = h_ledger_open(&pf, &s);
    /* two paid trades were refunded in full; the QR trade's 10.00 stays, less its fee */
    assert_int_equal(balance(lg, "pf.merchant.m_a.CNY"), 994);
    assert_int_equal(balance(lg, "pf.fees.CNY"), 6);
    assert_int_equal(balance(lg, "pf.sandbox.CNY"), -100000);
    h_ledger_close(s, lg);
    assert_int_equal(h_ledger_verify(&pf), 0);
}

static int group_teardown(void **state)
{
    h_sink_stop(&sink);
    h_teardown(&pf);
    return 0;
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pay_by_wallet),
        cmocka_unit_test(cashier_guards),
        cmocka_unit_test(partial_refunds),
        cmocka_unit_test(concurrent_refunds),
        cmocka_unit_test(qr_on_mobile),
        cmocka_unit_test(register_page),
        cmocka_unit_test(agreement_pay),
        cmocka_unit_test(two_step_login),
        cmocka_unit_test(merchant_balance_api),
        cmocka_unit_test(cashier_in_the_readers_language),
        cmocka_unit_test(ledger_after_everything),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
