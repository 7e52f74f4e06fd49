/* Fees with a minimum and a cap per merchant against the real platform: `merchant fee` sets a
 * rate, a minimum and a cap (and refuses terms out of range, naming the term); wallet payments
 * pay the rate's fee raised to the minimum, lowered to the cap, never more than the payment;
 * refunds return the fee in proportion and the last one the rest; the day's bill shows each fee
 * and totals what the balance did; the merchant portal shows the terms; ledger verify. */
#include "harness.h"
#include "lib/harness.h"

#include "core/clock.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "http/client.h"
#include "http/codec.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUYER "13900000009"
#define PAYPW "135790"
#define PW    "portal-pass-1234"

static struct h_platform pf;
static struct h_merchant ma, mb;
static char small[64], big[64], tiny[64], plain[64];

static int fee_cmd(const char *args)
{
    return th_sh("'%s' platform merchant fee --data-dir %s %s >>%s/cli.log 2>&1", h_paygate, pf.dir,
                 args, pf.dir);
}

static int group_setup(void **state)
{
    h_setup(&pf, &ma, &mb, NULL);
    /* m_a: 0.60%, at least 1.00, at most 2.00 a payment */
    assert_int_equal(fee_cmd("--id m_a --fee-bp 60 --fee-min 1.00 --fee-cap 2.00"), 0);
    h_add_consumer(&pf, BUYER, "correct horse", PAYPW);
    h_wallet_credit(&pf, BUYER, "2000.00");
    h_start(&pf);
    return 0;
}

static int group_teardown(void **state)
{
    h_teardown_verified(&pf);
    return 0;
}

/* Terms out of range are refused, naming the term, and change nothing. */
static void terms_refused(void **state)
{
    char log[4096], path[300];
    snprintf(path, sizeof path, "%s/cli.log", pf.dir);
    assert_int_equal(fee_cmd("--id m_a --fee-bp 60 --fee-min 3.00 --fee-cap 2.00"), 1);
    assert_int_equal(fee_cmd("--id m_a --fee-bp 10001"), 1);
    assert_int_equal(fee_cmd("--id m_a --fee-bp 60 --fee-min 1.234"), 2);
    assert_int_equal(fee_cmd("--id nobody --fee-bp 60"), 1);
    th_read_text(path, log, sizeof log);
    assert_non_null(strstr(log, "FIELD_INVALID fee_cap"));
    assert_non_null(strstr(log, "FIELD_INVALID fee_bp"));
    assert_non_null(strstr(log, "--fee-min '1.234'"));
    assert_non_null(strstr(log, "NOT_FOUND id"));
}

static const char *trade_fee(const char *id)
{
    static char out[32];
    char path[128];
    struct h_reply r;
    snprintf(path, sizeof path, "/v1/trades/%s", id);
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    snprintf(out, sizeof out, "%s", h_str(r.json, "fee.value"));
    h_reply_fini(&r);
    return out;
}

static void pay(const char *otn, const char *amount, char *id)
{
    snprintf(id, 64, "%s", h_create_trade(&pf, &ma, otn, amount, NULL));
    assert_int_equal(h_cashier_pay_wallet(&pf, id, BUYER, "correct+horse", PAYPW), 200);
}

/* 10.00 pays the minimum, 1000.00 the cap, 0.50 all of itself (below the minimum), 200.00
 * the rate (1.20). */
static void fees_by_the_terms(void **state)
{
    pay("fee-small", "10.00", small);
    pay("fee-big", "1000.00", big);
    pay("fee-tiny", "0.50", tiny);
    pay("fee-plain", "200.00", plain);
    assert_string_equal(trade_fee(small), "1.00");
    assert_string_equal(trade_fee(big), "2.00");
    assert_string_equal(trade_fee(tiny), "0.50");
    assert_string_equal(trade_fee(plain), "1.20");
}

static void refund(const char *trade, const char *no, const char *amount, const char *fee_back)
{
    char body[256], path[128];
    snprintf(body, sizeof body,
             "{\"out_refund_no\":\"%s\",\"amount\":{\"value\":\"%s\",\"currency\":\"CNY\"}}", no,
             amount);
    snprintf(path, sizeof path, "/v1/trades/%s/refunds", trade);
    struct h_reply r;
    h_call(&pf, &ma, "POST", path, body, no, &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(h_str(r.json, "fee_refunded.value"), fee_back);
    h_reply_fini(&r);
}

/* Half of the 10.00 trade: half its minimum fee back; the other half: the rest. */
static void refunds_return_the_fee(void **state)
{
    refund(small, "r-1", "5.00", "0.50");
    refund(small, "r-2", "5.00", "0.50");
    struct h_reply r;
    h_call(&pf, &ma, "GET", "/v1/balance?currency=CNY", NULL, NULL, &r);
    /* 1000 - 2 + 0.50 - 0.50 + 200 - 1.20; the refunded trade leaves nothing */
    assert_string_equal(
        h_str(json_array_get(json_object_get(r.json, "balances"), 0), "available.value"),
        "1196.80");
    h_reply_fini(&r);
}

/* The day's bill: each fee as charged, the total what the balance did. */
static void the_bill(void **state)
{
    char date[16], path[128];
    int64_t now = pay_clock_real_ms() / 1000 + 8 * 3600; /* Asia/Shanghai */
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    snprintf(path, sizeof path, "/v1/bills?date=%s&type=trade", date);
    struct h_reply r;
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(r.sig_ok);
    const char *fees[] = {",FEE,",          ",-1.00,CNY\r\n", ",-2.00,CNY\r\n",  ",-0.50,CNY\r\n",
                          ",-1.20,CNY\r\n", "TOTAL,",         ",1196.80,CNY\r\n"};
    for (size_t i = 0; i < sizeof fees / sizeof fees[0]; i++)
        if (!strstr(r.body, fees[i]))
            fail_msg("the bill has no \"%s\":\n%s", fees[i], r.body);
    h_reply_fini(&r);
}

/* The portal's trades page shows the terms (an owner logs in with password and TOTP). */
static void the_portal_shows_the_terms(void **state)
{
    char cmd[1024], line[512], secret[64] = "";
    snprintf(cmd, sizeof cmd,
             "'%s' platform member add --data-dir '%s' --merchant m_a --login boss@a.example"
             " --role owner --password " PW,
             h_paygate, pf.dir);
    /* the platform runs: the member is added through the same database */
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "totp_secret ", 12) == 0)
            snprintf(secret, sizeof secret, "%.*s", (int)strcspn(line + 12, "\n"), line + 12);
    assert_int_equal(pclose(f), 0);
    uint8_t key[40];
    size_t n = 0;
    char code[8], url[256], csrf[128], cookie[600], form[512], hv[600];
    assert_int_equal(pay_base32_decode(key, sizeof key, secret, strlen(secret), &n), 0);
    assert_int_equal(
        pay_totp_code(key, n, pay_clock_real_ms() / 1000, PAY_TOTP_DIGITS, code, sizeof code), 0);
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response res = {0};
    const char *lang = "Accept-Language: en";
    snprintf(url, sizeof url, "%s/portal/login", pf.url);
    const char *h1[] = {lang, NULL};
    assert_int_equal(pay_http_client_request("GET", url, h1, NULL, 0, &opt, &res, NULL), 0);
    th_input_value(pay_buf_str(&res.body), "csrf", csrf, sizeof csrf);
    const char *sc = pay_http_client_response_header(&res, "Set-Cookie", hv, sizeof hv);
    snprintf(cookie, sizeof cookie, "Cookie: %.*s", sc ? (int)strcspn(sc, ";") : 0, sc ? sc : "");
    pay_http_client_response_fini(&res);
    snprintf(form, sizeof form, "csrf=%s&login=boss%%40a.example&password=%s&totp=%s", csrf, PW,
             code);
    const char *h2[] = {lang, cookie, "Content-Type: application/x-www-form-urlencoded", NULL};
    assert_int_equal(pay_http_client_request("POST", url, h2, form, strlen(form), &opt, &res, NULL),
                     0);
    assert_int_equal(res.status, 303);
    sc = pay_http_client_response_header(&res, "Set-Cookie", hv, sizeof hv);
    snprintf(cookie, sizeof cookie, "Cookie: %.*s", sc ? (int)strcspn(sc, ";") : 0, sc ? sc : "");
    pay_http_client_response_fini(&res);
    snprintf(url, sizeof url, "%s/portal/trades", pf.url);
    const char *h3[] = {lang, cookie, NULL};
    assert_int_equal(pay_http_client_request("GET", url, h3, NULL, 0, &opt, &res, NULL), 0);
    assert_int_equal(res.status, 200);
    const char *page = pay_buf_str(&res.body);
    assert_non_null(strstr(page, "id=\"fee-terms\" class=\"muted\" data-fee-bp=\"60\""
                                 " data-fee-min=\"1.00\" data-fee-cap=\"2.00\""));
    assert_non_null(strstr(page, "0.60%"));
    pay_http_client_response_fini(&res);
}

int main(int argc, char **argv)
{
    h_paygate = argc > 1 ? argv[1] : "./paygate";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(terms_refused),
        cmocka_unit_test(fees_by_the_terms),
        cmocka_unit_test(refunds_return_the_fee),
        cmocka_unit_test(the_bill),
        cmocka_unit_test(the_portal_shows_the_terms),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
