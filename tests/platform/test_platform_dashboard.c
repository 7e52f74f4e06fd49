/* Integration test of the operator console (GET /operator/dashboard) against the real
 * `paygate platform`: access only with the operator token (Bearer or the login form's session
 * cookie, CSRF-checked), totals equal to the money paid, fees from pf.fees, the SVG charts
 * with their bar counts, and a hostile merchant name shown escaped. */
#include "harness.h"
#include "lib/harness.h"

#include "core/money.h"
#include "crypto/crypto.h"
#include "http/client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OP_TOKEN "op-token-dashboard-0123456789abc"
#define EVIL     "<script>alert(1)</script>"

static struct h_platform pf;
static struct h_merchant ma, mb;

struct resp {
    long status;
    char *body;
    char set_cookie[512]; /* the first Set-Cookie value, up to ';' */
};

static void resp_fini(struct resp *r)
{
    free(r->body);
    r->body = NULL;
}

/* One request; extra header (or NULL) and form body (or NULL). */
static void req(const char *method, const char *path, const char *header, const char *form,
                struct resp *out)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", pf.url, path);
    const char *headers[3] = {form ? "Content-Type: application/x-www-form-urlencoded" : header,
                              form ? header : NULL, NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    assert_int_equal(pay_http_client_request(method, url, headers, form, form ? strlen(form) : 0,
                                             &opt, &r, NULL),
                     0);
    memset(out, 0, sizeof *out);
    out->status = r.status;
    out->body = strdup(pay_buf_str(&r.body));
    char buf[512];
    const char *sc = pay_http_client_response_header(&r, "Set-Cookie", buf, sizeof buf);
    if (sc)
        snprintf(out->set_cookie, sizeof out->set_cookie, "%.*s", (int)strcspn(sc, ";"), sc);
    pay_http_client_response_fini(&r);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static long operator_add_evil(void)
{
    struct pay_ed25519_key k;
    uint8_t seed[PAY_ED25519_SEED_LEN];
    memset(seed, 7, sizeof seed);
    pay_ed25519_from_seed(&k, seed);
    char pk[PAY_ED25519_KEY_TEXT_LEN], body[512];
    pay_ed25519_pk_to_text(pk, k.pk);
    snprintf(body, sizeof body,
             "{\"id\":\"m_evil\",\"name\":\"%s\",\"public_key\":\"%s\","
             "\"notify_hosts\":[\"evil.example\"]}",
             EVIL, pk);
    char url[256];
    snprintf(url, sizeof url, "%s/operator/v1/merchants", pf.url);
    const char *headers[] = {"Content-Type: application/json", "Authorization: Bearer " OP_TOKEN,
                             NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    assert_int_equal(
        pay_http_client_request("POST", url, headers, body, strlen(body), &opt, &r, NULL), 0);
    long st = r.status;
    pay_http_client_response_fini(&r);
    pay_ed25519_key_fini(&k);
    return st;
}

static int group_setup(void **state)
{
    (void)state;
    h_setup(&pf, &ma, &mb, "operator_token = " OP_TOKEN);
    h_start(&pf);
    h_add_consumer(&pf, "dash@example.com", "password-123", "123456");
    h_wallet_credit(&pf, "dash@example.com", "100.00");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    h_teardown_verified(&pf);
    return 0;
}

/* Without the token (or with a wrong one) the page is the login form, never the data. */
static void refuses_non_operators(void **state)
{
    (void)state;
    struct resp r;
    req("GET", "/operator/dashboard", NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    assert_null(strstr(r.body, "id=\"totals\""));
    assert_non_null(strstr(r.body, "operator-login"));
    resp_fini(&r);
    req("GET", "/operator/dashboard", "Authorization: Bearer wrong-token-0123456789abcdef", NULL,
        &r);
    assert_int_equal(r.status, 401);
    assert_null(strstr(r.body, "id=\"totals\""));
    resp_fini(&r);
    req("GET", "/operator/dashboard?token=" OP_TOKEN, NULL, NULL, &r); /* never from the URL */
    assert_int_equal(r.status, 401);
    resp_fini(&r);
    req("GET", "/operator/dashboard", "Cookie: pf_operator=9999999999.00", NULL, &r);
    assert_int_equal(r.status, 401);
    resp_fini(&r);
}

/* The login form: CSRF double-submit, wrong token refused, right one gives a session cookie
 * that opens the dashboard (and does not contain the token). */
static void login_form(void **state)
{
    (void)state;
    struct resp r;
    req("GET", "/operator/dashboard", NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    char csrf_cookie[512], csrf[512], cookie_hdr[700], form[1100];
    snprintf(csrf_cookie, sizeof csrf_cookie, "%s", r.set_cookie);
    assert_int_equal(strncmp(csrf_cookie, "pf_op_csrf=", 11), 0);
    snprintf(csrf, sizeof csrf, "%s", csrf_cookie + 11);
    assert_non_null(strstr(r.body, csrf));
    resp_fini(&r);
    snprintf(cookie_hdr, sizeof cookie_hdr, "Cookie: %s", csrf_cookie);
    snprintf(form, sizeof form, "csrf=not-the-cookie-value-xxxxx&token=%s", OP_TOKEN);
    req("POST", "/operator/login", cookie_hdr, form, &r);
    assert_int_equal(r.status, 403);
    resp_fini(&r);
    snprintf(form, sizeof form, "csrf=%s&token=wrong-token-0123456789abcdef", csrf);
    req("POST", "/operator/login", cookie_hdr, form, &r);
    assert_int_equal(r.status, 401);
    assert_null(strstr(r.set_cookie, "pf_operator="));
    resp_fini(&r);
    snprintf(form, sizeof form, "csrf=%s&token=%s", csrf, OP_TOKEN);
    req("POST", "/operator/login", cookie_hdr, form, &r);
    assert_int_equal(r.status, 303);
    assert_int_equal(strncmp(r.set_cookie, "pf_operator=", 12), 0);
    assert_null(strstr(r.set_cookie, OP_TOKEN));
    snprintf(cookie_hdr, sizeof cookie_hdr, "Cookie: %s", r.set_cookie);
    resp_fini(&r);
    req("GET", "/operator/dashboard", cookie_hdr, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "id=\"totals\""));
    resp_fini(&r);
}

static int64_t fee_of(int64_t minor)
{
    int64_t f = 0;
    assert_int_equal(pay_money_mul_bp(minor, 60, PAY_ROUND_FEE, &f), PAY_ERR_OK);
    return f;
}

/* Two paid trades and one unpaid: the totals, fees, states, charts and the escaped name. */
static void totals_and_charts(void **state)
{
    (void)state;
    assert_int_equal(operator_add_evil(), 201);
    char id1[64], id2[64];
    snprintf(id1, sizeof id1, "%s", h_create_trade(&pf, &ma, "dash-1", "12.30", NULL));
    snprintf(id2, sizeof id2, "%s", h_create_trade(&pf, &ma, "dash-2", "7.70", NULL));
    h_create_trade(&pf, &mb, "dash-3", "5.00", NULL);
    assert_int_equal(h_cashier_pay_wallet(&pf, id1, "dash@example.com", "password-123", "123456"),
                     200);
    assert_int_equal(h_cashier_pay_wallet(&pf, id2, "dash@example.com", "password-123", "123456"),
                     200);
    struct resp r;
    req("GET", "/operator/dashboard", "Authorization: Bearer " OP_TOKEN, NULL, &r);
    assert_int_equal(r.status, 200);
    const char *row = strstr(r.body, "data-currency=\"CNY\"");
    assert_non_null(row);
    assert_non_null(strstr(row, "class=\"num today-n\">2<"));
    /* amounts for people (¥, in the default language zh-CN) with the plain value for scripts */
    assert_non_null(strstr(row, "class=\"num today-amount\" data-amount=\"20.00\">¥20.00<"));
    assert_non_null(strstr(row, "class=\"num week-amount\" data-amount=\"20.00\">¥20.00<"));
    char fees[96], money[PAY_MONEY_TEXT_MAX + 1];
    assert_true(pay_money_format(fee_of(1230) + fee_of(770), "CNY", money, sizeof money) > 0);
    snprintf(fees, sizeof fees, "class=\"num fees\" data-amount=\"%s\">", money);
    assert_non_null(strstr(row, fees));
    assert_non_null(
        strstr(r.body, "<tr data-state=\"WAIT_BUYER_PAY\"><td>等待付款</td><td class=\"num\">1<"));
    assert_non_null(
        strstr(r.body, "<tr data-state=\"TRADE_SUCCESS\"><td>已支付</td><td class=\"num\">2<"));
    /* one daily chart (CNY, 14 bars) and the method mix (4 bars) */
    assert_int_equal(count(r.body, "<svg class=\"chart\""), 2);
    assert_int_equal(count(r.body, "<rect class=\"bar\""), 14 + 4);
    assert_non_null(strstr(r.body, "20.00</text>")); /* today's bar is labelled with its sum */
    /* merchant m_a: balance = paid less fees */
    char bal[128];
    assert_true(pay_money_format(2000 - fee_of(1230) - fee_of(770), "CNY", money, sizeof money) >
                0);
    snprintf(bal, sizeof bal,
             "<td class=\"num\" data-amount=\"20.00\">¥20.00</td><td class=\"num\" "
             "data-amount=\"%s\">",
             money);
    assert_non_null(strstr(r.body, bal));
    assert_null(strstr(r.body, EVIL));
    assert_non_null(strstr(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    resp_fini(&r);
}

/* Without an operator_token there is no operator: 403, even from loopback, even with a
 * Bearer header. */
static void off_without_token(void **state)
{
    (void)state;
    struct h_platform saved = pf;
    h_setup(&pf, NULL, NULL, NULL);
    h_start(&pf);
    struct resp r;
    req("GET", "/operator/dashboard", "Authorization: Bearer " OP_TOKEN, NULL, &r);
    assert_int_equal(r.status, 403);
    assert_null(strstr(r.body, "id=\"totals\""));
    resp_fini(&r);
    req("POST", "/operator/login", NULL, "csrf=x&token=" OP_TOKEN, &r);
    assert_int_equal(r.status, 403);
    resp_fini(&r);
    h_teardown(&pf);
    pf = saved;
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refuses_non_operators),
        cmocka_unit_test(login_form),
        cmocka_unit_test(totals_and_charts),
        cmocka_unit_test(off_without_token),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
