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

struct bank {
    char code[16], bin[8], dir[256], url[128], acct[80], shop_acct[80];
    pid_t pid;
};

static struct h_platform pf;
static struct h_merchant ma, mb;
static struct bank bk = {.code = "icbc", .bin = "622202"};
static int64_t thursday_ms; /* 09:00 local of the Thursday the story starts on (UTC ms) */
static int64_t thursday;    /* its local day number */

/* A merchant of the bank (its certificate in dir/name, its account into acct). */
static void bank_merchant(const char *mer_id, const char *name, char acct[80])
{
    assert_int_equal(th_sh("'%s' bank merchant add --data-dir %s/data --code %s --bin %s"
                           " --fast-hash --mer-id %s --name %s --referrer-domain 127.0.0.1"
                           " --notify-domain 127.0.0.1 --allow-no-referer --out %s/%s"
                           " >>%s/cli.log 2>&1",
                           h_paygate, bk.dir, bk.code, bk.bin, mer_id, mer_id, bk.dir, name,
                           bk.dir),
                     0);
    char json[1024], path[300];
    snprintf(path, sizeof path, "%s/%s/merchant.json", bk.dir, name);
    th_read_text(path, json, sizeof json);
    json_t *j = json_loads(json, 0, NULL);
    snprintf(acct, 80, "%s", h_str(j, "merAcct"));
    json_decref(j);
    assert_true(acct[0] != '\0');
}

static void bank_start(void)
{
    assert_int_equal(th_tmpdir(bk.dir, sizeof bk.dir, "paygate-stbank"), 0);
    bank_merchant("PAYGATE", "mer", bk.acct);
    bank_merchant("TEASHOP", "shop", bk.shop_acct);
    char path[300], cmd[4096];
    snprintf(path, sizeof path, "%s/url", bk.dir);
    snprintf(cmd, sizeof cmd,
             "exec '%s' bank serve --data-dir %s/data --code %s --bin %s --demo-data"
             " --fast-hash --listen 127.0.0.1:0 --print-url-file %s/url >>%s/stdout.txt"
             " 2>>%s/bank.log",
             h_paygate, bk.dir, bk.code, bk.bin, bk.dir, bk.dir, bk.dir);
    bk.pid = th_spawn_sh(cmd);
    assert_int_equal(th_wait_url_file(bk.pid, path, bk.url, sizeof bk.url, TH_START_TIMEOUT_MS), 0);
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
    char ini[300];
    snprintf(ini, sizeof ini, "%s/platform.ini", pf.dir);
    FILE *f = fopen(ini, "a");
    assert_non_null(f);
    fprintf(f,
            "[bank.icbc]\nname = Bank icbc\ngateway_url = %s\nmer_id = PAYGATE\nmer_acct = %s\n"
            "key_file = %s/mer/merchant.key\ncert_file = %s/mer/merchant.crt\n"
            "bank_cert_file = %s/data/keys/sign.crt\nca_file = %s/data/keys/ca.crt\n"
            "allow_private = true\n",
            bk.url, bk.acct, bk.dir, bk.dir, bk.dir, bk.dir);
    fclose(f);
    /* on the platform's own database (its PostgreSQL one in the pg suite) */
    assert_int_equal(th_sh("'%s' platform merchant settlement --data-dir %s --database '%s'"
                           " --id m_a --bank icbc --account %s --days 1 --min 10.00 >/dev/null",
                           h_paygate, pf.dir, pf.db, bk.shop_acct),
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
    th_stop(&bk.pid, SIGTERM);
    th_tmpdir_done(bk.dir);
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
    char body[512];
    snprintf(body, sizeof body,
             "{\"out_trade_no\":\"%s\",\"amount\":{\"value\":\"%s\",\"currency\":\"CNY\"},"
             "\"subject\":\"Tea\",\"timeout\":\"1d\"}",
             otn, amount);
    struct h_reply r;
    h_call(&pf, m, "POST", "/v1/trades", body, otn, &r);
    assert_int_equal(r.status, 201);
    char id[64];
    snprintf(id, sizeof id, "%s", h_str(r.json, "trade_id"));
    h_reply_fini(&r);
    assert_int_equal(h_cashier_pay_wallet(&pf, id, BUYER, "correct+horse", PAYPW), 200);
}

static int64_t minor(const char *v)
{
    long long yuan = 0, fen = 0;
    assert_int_equal(sscanf(v, "%lld.%lld", &yuan, &fen), 2);
    return yuan * 100 + fen;
}

static int64_t available(const struct h_merchant *m)
{
    struct h_reply r;
    h_call(&pf, m, "GET", "/v1/balance?currency=CNY", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    int64_t v =
        minor(h_str(json_array_get(json_object_get(r.json, "balances"), 0), "available.value"));
    h_reply_fini(&r);
    return v;
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
    h_pf_get(&pf, &b, "/wallet");
    h_pf_post(&pf, &b, "/wallet/login", "login=" BUYER "&password=correct+horse");
    assert_int_equal(b.status, 303);
    h_pf_get(&pf, &b, "/wallet");
    char cvv[4] = "", form[256], pan[20], cmd[600], text[4096] = "";
    snprintf(pan, sizeof pan, "%s0000000015", bk.bin);
    snprintf(cmd, sizeof cmd, "'%s' bank demo-cards --data-dir %s/data", h_paygate, bk.dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    text[fread(text, 1, sizeof text - 1, p)] = '\0';
    assert_int_equal(pclose(p), 0);
    const char *c = strstr(text, pan) ? strstr(strstr(text, pan), "cvv2 ") : NULL;
    assert_non_null(c);
    snprintf(cvv, sizeof cvv, "%.3s", c + 5);
    snprintf(form, sizeof form, "bank=icbc&cardNo=%s&expiry=12%%2F30&cvv2=%s", pan, cvv);
    h_pf_post(&pf, &b, "/wallet/cards/verify", form);
    assert_int_equal(b.status, 200);
    char vid[80], code[7];
    th_input_value(b.page, "verification_id", vid, sizeof vid);
    h_bank_sms_code(bk.url, "13800000001", code);
    snprintf(form, sizeof form, "bank=icbc&verification_id=%s&smsCode=%s", vid, code);
    h_pf_post(&pf, &b, "/wallet/cards/confirm", form);
    assert_int_equal(b.status, 200);
    const char *card = strstr(b.page, "data-card=\"");
    assert_non_null(card);
    snprintf(form, sizeof form, "card_id=%.*s&amount=500.00&pay_password=" PAYPW,
             (int)strcspn(card + 11, "\""), card + 11);
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
    assert_string_equal(h_str(s, "to_account"), bk.shop_acct);
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
             bk.dir, bk.shop_acct);
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
