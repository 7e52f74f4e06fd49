/* Settlement to merchants against a real `paygate bank` and the platform on the test clock:
 * money comes in through the bank (a bound card tops up a wallet: the bank's reserve account
 * and the ledger's mirror of it grow together), wallet payments reach two merchants, and the
 * days' runs pay them out T+1 business days through the bank's transfer API: nothing on the
 * day itself, Thursday's trades on Friday, a payout to an account the bank does not know
 * refused and returned to the balance, Friday's trade neither on the weekend nor on a
 * holiday Monday but on Tuesday, every day paid once. Money checked at the bank, through
 * the API and in the ledger (ledger verify clean). */
#include "harness.h"
#include "lib/clock.h"
#include "lib/harness.h"
#include "sandbox_bank.h"

#include "core/clock.h"
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
#include <sys/types.h>

#define DAY_MS   86400000LL
#define HOUR_MS  3600000LL
#define LOCAL_MS (8 * HOUR_MS) /* Asia/Shanghai, the platform's default zone: no DST */
#define BUYER    "13900000009"
#define PAYPW    "135790"

static struct h_platform pf;
static struct h_merchant ma, mb;
static struct h_bank bk = {.code = "icbc", .bin = "622202"};
static char shop_acct[80];  /* m_a's account at the bank */
static int64_t thursday_ms; /* 09:00 local of the Thursday the story starts on (UTC ms) */
static int64_t thursday;    /* its local day number */

static void bank_start(void)
{
    h_bank_init(&bk, "paygate-stbank");
    h_bank_merchant(&bk, "TEASHOP", "shop", shop_acct);
    h_bank_serve(&bk, "");
}

/* Local day number (Asia/Shanghai) of a UTC time, and its weekday (0 Sunday). */
static int64_t local_day(int64_t utc_ms)
{
    return (utc_ms + LOCAL_MS) / DAY_MS;
}

static void date_of(int64_t day, char out[16])
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

static int group_setup(void **state)
{
    bank_start();
    /* the story starts on the next Thursday at least a day away; its Monday after is a holiday */
    int64_t today = local_day(pay_clock_real_ms());
    int64_t ahead = ((4 - (today + 4) % 7) + 7) % 7;
    thursday = today + (ahead < 1 ? 7 : ahead);
    thursday_ms = thursday * DAY_MS + 9 * HOUR_MS - LOCAL_MS;
    char holiday[16], extra[512];
    date_of(thursday + 4, holiday);
    snprintf(extra, sizeof extra,
             "banks = icbc\nsandbox_sms = true\nsettle_time = 10:00\nholidays = %s\n"
             "operator_token = op-token-0123456789abcdefghij\n"
             "[server]\nfake_clock = true",
             holiday);
    h_setup(&pf, &ma, &mb, extra);
    h_add_consumer(&pf, BUYER, "correct horse", PAYPW);
    h_bank_configure(&pf, &bk);
    /* on the platform's own database (its PostgreSQL one in the pg suite) */
    assert_int_equal(th_sh("'%s' platform merchant settlement --data-dir %s --database '%s'"
                           " --id m_a --bank icbc --account %s --days 1 --min 10.00 >/dev/null",
                           h_paygate, pf.dir, pf.db, shop_acct),
                     0);
    /* m_b is paid to an account the bank does not have: the bank refuses */
    assert_int_equal(th_sh("'%s' platform merchant settlement --data-dir %s --database '%s'"
                           " --id m_b --bank icbc --account acct_01KC8ZQ7V4M8Y3G6W2H5N9R1TZ"
                           " >/dev/null",
                           h_paygate, pf.dir, pf.db),
                     0);
    h_start(&pf);
    return 0;
}

static int group_teardown(void **state)
{
    h_teardown(&pf);
    h_bank_stop(&bk);
    return 0;
}

/* --- helpers ----------------------------------------------------------------------------- */

static void advance_to(int64_t utc_ms)
{
    int64_t now = th_clock_now_ms(pf.url);
    assert_true(now > 0 && utc_ms > now);
    assert_int_equal(th_clock_advance(pf.url, utc_ms - now), 0);
}

static void pay(const char *otn, const struct h_merchant *m, const char *amount)
{
    h_pay_by_wallet(&pf, m, otn, amount, BUYER, PAYPW);
}

static int64_t available(const struct h_merchant *m)
{
    return h_available_minor(&pf, m);
}

/* The merchant's settlements, newest first (caller h_reply_fini's r). */
static size_t settlements(const struct h_merchant *m, struct h_reply *r)
{
    h_call(&pf, m, "GET", "/v1/settlements", NULL, NULL, r);
    assert_int_equal(r->status, 200);
    assert_true(r->sig_ok);
    return json_array_size(json_object_get(r->json, "settlements"));
}

/* Waits (bounded) for the payouts to leave "pending": the sweeper sends them after the run. */
static void settled(const struct h_merchant *m, size_t n)
{
    for (int i = 0; i < 600; i++) {
        struct h_reply r;
        size_t k = settlements(m, &r);
        bool done = k == n;
        for (size_t j = 0; done && j < k; j++)
            done =
                strcmp(h_str(json_array_get(json_object_get(r.json, "settlements"), j), "status"),
                       "pending") != 0;
        h_reply_fini(&r);
        if (done)
            return;
        assert_int_equal(th_clock_advance(pf.url, 0), 0); /* one more look by the sweeper */
    }
    fail_msg("payouts of %s not settled", m->id);
}

/* --- the story --------------------------------------------------------------------------- */

/* A bound card tops the wallet up by 500.00: that money is at the bank, in our reserve. */
static void money_comes_in_through_the_bank(void **state)
{
    struct h_browser b = {0};
    char card[64], form[256];
    h_bank_bind_card(&pf, &bk, &b, BUYER, card);
    snprintf(form, sizeof form, "card_id=%s&amount=500.00&pay_password=" PAYPW, card);
    h_pf_post(&pf, &b, "/wallet/topup", form);
    assert_int_equal(b.status, 200);
    assert_non_null(strstr(b.page, "id=\"balance\" data-amount=\"500.00\""));
    h_browser_fini(&b);
}

/* Thursday 09:00: paid; at 10:00 the day's run pays nothing of it (T+1). */
static void nothing_on_the_day_itself(void **state)
{
    advance_to(thursday_ms);
    pay("thu-a", &ma, "100.00"); /* m_a gets 99.40 */
    pay("thu-b", &mb, "50.00");  /* m_b gets 49.70 */
    assert_int_equal(available(&ma), 9940);
    advance_to(thursday_ms + HOUR_MS);
    assert_int_equal(th_clock_advance(pf.url, 0), 0);
    struct h_reply r;
    assert_int_equal(settlements(&ma, &r), 0);
    h_reply_fini(&r);
    assert_int_equal(available(&ma), 9940);
}

/* Friday 10:00: Thursday's money is paid to m_a's account at the bank; m_b's account does not
 * exist there, so its payout is refused and the money is back in its balance, flagged. */
static void thursday_paid_on_friday(void **state)
{
    advance_to(thursday_ms + DAY_MS + HOUR_MS);
    settled(&ma, 1);
    settled(&mb, 1);
    struct h_reply r;
    settlements(&ma, &r);
    json_t *s = json_array_get(json_object_get(r.json, "settlements"), 0);
    assert_string_equal(h_str(s, "status"), "paid");
    assert_string_equal(h_str(s, "amount.value"), "99.40");
    assert_string_equal(h_str(s, "to_account"), shop_acct);
    char path[128], id[64];
    snprintf(id, sizeof id, "%s", h_str(s, "settlement_id"));
    h_reply_fini(&r);
    assert_int_equal(available(&ma), 0);
    snprintf(path, sizeof path, "/v1/settlements/%s", id);
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *trades = json_object_get(r.json, "trades");
    assert_int_equal(json_array_size(trades), 1);
    assert_string_equal(h_str(json_array_get(trades, 0), "out_trade_no"), "thu-a");
    assert_string_equal(h_str(json_array_get(trades, 0), "fee.value"), "0.60");
    h_reply_fini(&r);
    h_call(&pf, &mb, "GET", path, NULL, NULL, &r); /* another merchant's */
    assert_int_equal(r.status, 404);
    assert_string_equal(h_err_code(&r), "SETTLEMENT_NOT_FOUND");
    h_reply_fini(&r);
    /* at the bank: the transfer, from our reserve to the shop, named by the settlement id */
    char out[8192] = "", cmd[600];
    snprintf(cmd, sizeof cmd, "'%s' bank movements --data-dir %s/data --account %s", h_paygate,
             bk.dir, shop_acct);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    out[fread(out, 1, sizeof out - 1, p)] = '\0';
    assert_int_equal(pclose(p), 0);
    assert_non_null(strstr(out, id));
    assert_non_null(strstr(out, "9940"));

    settlements(&mb, &r);
    s = json_array_get(json_object_get(r.json, "settlements"), 0);
    assert_string_equal(h_str(s, "status"), "failed");
    assert_non_null(strstr(h_str(s, "failure"), "NOT_FOUND"));
    h_reply_fini(&r);
    assert_int_equal(available(&mb), 4970);
}

/* Friday 11:00 a trade; the weekend and the holiday Monday pay nothing; Tuesday pays it (and
 * m_b's money, refused on Friday, again: it goes to the same unknown account, refused again). */
static void weekend_and_holiday(void **state)
{
    advance_to(thursday_ms + DAY_MS + 2 * HOUR_MS);
    pay("fri-a", &ma, "20.00");    /* 19.88 */
    for (int d = 2; d <= 4; d++) { /* Saturday, Sunday, the holiday Monday, at 10:00 */
        advance_to(thursday_ms + d * DAY_MS + HOUR_MS);
        assert_int_equal(th_clock_advance(pf.url, 0), 0);
        struct h_reply r;
        assert_int_equal(settlements(&ma, &r), 1);
        h_reply_fini(&r);
    }
    assert_int_equal(available(&ma), 1988);
    advance_to(thursday_ms + 5 * DAY_MS + HOUR_MS); /* Tuesday */
    settled(&ma, 2);
    struct h_reply r;
    settlements(&ma, &r);
    json_t *s = json_array_get(json_object_get(r.json, "settlements"), 0);
    assert_string_equal(h_str(s, "amount.value"), "19.88");
    assert_string_equal(h_str(s, "status"), "paid");
    h_reply_fini(&r);
    assert_int_equal(available(&ma), 0);
    /* later the same day: paid once */
    assert_int_equal(th_clock_advance(pf.url, 2 * HOUR_MS), 0);
    assert_int_equal(settlements(&ma, &r), 2);
    h_reply_fini(&r);
}

/* GET /v1/bills?date=D&type=T as text (signed; caller frees). */
static char *bill(const struct h_merchant *m, int64_t day, const char *type)
{
    char date[16], path[128];
    date_of(day, date);
    snprintf(path, sizeof path, "/v1/bills?date=%s&type=%s", date, type);
    struct h_reply r;
    h_call(&pf, m, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(r.sig_ok);
    char *text = strdup(r.body);
    h_reply_fini(&r);
    return text;
}

/* The bills: Thursday's trades of m_a (payment and fee: 99.40), Friday's payout of m_a
 * (-99.40) and m_b's payout returned (0 in all); their totals are what the balances did. */
static void bills_equal_the_ledger(void **state)
{
    char *t = bill(&ma, thursday, "trade");
    assert_non_null(strstr(t, "time,type,trade_id,out_trade_no,reference,amount,currency\r\n"));
    assert_non_null(strstr(t, ",PAYMENT,"));
    assert_non_null(strstr(t, ",thu-a,"));
    assert_non_null(strstr(t, ",-0.60,CNY\r\n"));
    assert_non_null(strstr(t, "TOTAL,2,,,,99.40,CNY\r\n"));
    free(t);
    t = bill(&ma, thursday + 1, "settlement");
    assert_non_null(strstr(t, ",PAYOUT,,,st_"));
    assert_non_null(strstr(t, "TOTAL,1,,,,-99.40,CNY\r\n"));
    free(t);
    t = bill(&ma, thursday + 1, "trade"); /* Friday's trade */
    assert_non_null(strstr(t, "TOTAL,2,,,,19.88,CNY\r\n"));
    free(t);
    t = bill(&mb, thursday + 1, "settlement");
    assert_non_null(strstr(t, ",PAYOUT_RETURNED,"));
    assert_non_null(strstr(t, "TOTAL,2,,,,0.00,CNY\r\n"));
    free(t);
    t = bill(&ma, thursday + 2, "trade"); /* Saturday: nothing */
    assert_non_null(strstr(t, "TOTAL,0,,,,0.00,CNY\r\n"));
    free(t);
    struct h_reply r;
    h_call(&pf, &ma, "GET", "/v1/bills?date=2026-13-01&type=trade", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(h_str(r.json, "error.field"), "date");
    h_reply_fini(&r);
    h_call(&pf, &ma, "GET", "/v1/bills?date=2026-12-01&type=fees", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(h_str(r.json, "error.field"), "type");
    h_reply_fini(&r);
}

/* The operator's trial balance: held = owed, line by line from the ledger. */
static void trial_balance(void **state)
{
    char url[256], auth[128];
    snprintf(url, sizeof url, "%s/operator/trial-balance", pf.url);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", "op-token-0123456789abcdefghij");
    const char *hdr[] = {auth, NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response res = {0};
    assert_int_equal(pay_http_client_request("GET", url, hdr, NULL, 0, &opt, &res, NULL),
                     PAY_ERR_OK);
    assert_int_equal(res.status, 200);
    const char *page = pay_buf_str(&res.body);
    assert_non_null(strstr(page, "data-currency=\"CNY\" data-balanced=\"true\""));
    char want[128];
    snprintf(want, sizeof want, "<code>reserve</code></td><td class=\"num\" data-amount=\"%s\"",
             "380.72"); /* 500.00 - 99.40 - 19.88 */
    assert_non_null(strstr(page, want));
    assert_non_null(strstr(page, "data-kind=\"difference\"><td colspan=\"2\">"));
    assert_non_null(strstr(page, "data-amount=\"0.00\">"));
    pay_http_client_response_fini(&res);
    /* the console's payouts: m_a's paid, m_b's refused and flagged with the bank's answer */
    snprintf(url, sizeof url, "%s/operator/settlements", pf.url);
    assert_int_equal(pay_http_client_request("GET", url, hdr, NULL, 0, &opt, &res, NULL),
                     PAY_ERR_OK);
    assert_int_equal(res.status, 200);
    page = pay_buf_str(&res.body);
    assert_non_null(strstr(page, "data-status=\"paid\"><td>"));
    assert_non_null(strstr(page, "data-status=\"failed\"><td>"));
    assert_non_null(strstr(page, "<span class=\"error\">NOT_FOUND"));
    pay_http_client_response_fini(&res);
    assert_int_equal(pay_http_client_request("GET", url, NULL, NULL, 0, &opt, &res, NULL),
                     PAY_ERR_OK);
    assert_int_equal(res.status, 401); /* the console's login */
    pay_http_client_response_fini(&res);
}

static void ledger_at_the_end(void **state)
{
    h_stop(&pf, SIGTERM);
    struct pay_store *s = NULL;
    struct pay_ledger *lg = h_ledger_open(&pf, &s);
    assert_int_equal(h_ledger_debit_balance(lg, "pf.payouts.CNY"), 0);
    assert_int_equal(-h_ledger_debit_balance(lg, "pf.merchant.m_a.CNY"), 0);
    /* the reserve mirror: 500.00 in, the two payouts out */
    assert_int_equal(h_ledger_debit_balance(lg, "pf.reserve.icbc.CNY"), 50000 - 9940 - 1988);
    h_ledger_close(s, lg);
    assert_int_equal(h_ledger_verify(&pf), 0);
}

int main(int argc, char **argv)
{
    h_paygate = argc > 1 ? argv[1] : "./paygate";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(money_comes_in_through_the_bank),
        cmocka_unit_test(nothing_on_the_day_itself),
        cmocka_unit_test(thursday_paid_on_friday),
        cmocka_unit_test(weekend_and_holiday),
        cmocka_unit_test(bills_equal_the_ledger),
        cmocka_unit_test(trial_balance),
        cmocka_unit_test(ledger_at_the_end),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
