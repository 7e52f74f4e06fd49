/* Settlement runs killed: a real bank and the platform on the test clock, two merchants paid
 * out T+0 to their accounts at the bank. Five business days in a row, each with payments of
 * its own: the clock is moved to the day's settlement time without waiting for the run, and
 * the platform is killed (SIGKILL) a random few milliseconds later, somewhere in the run (or
 * before it, or after it); restarted, it finishes the run (a payout claimed before the kill
 * when its lease has run out). Each day, each merchant is paid
 * exactly once: at the bank, one transfer per payout, named by its settlement id, for the
 * whole balance; nothing left in flight; both ledgers verify. */
#include "harness.h"
#include "lib/clock.h"
#include "lib/harness.h"
#include "sandbox_bank.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/limits.h"
#include "crypto/crypto.h"
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
#include <time.h>
#include <unistd.h>

#define DAY_MS         86400000LL
#define HOUR_MS        3600000LL
#define LOCAL_MS       (8 * HOUR_MS) /* Asia/Shanghai: no DST */
#define BUYER          "13900000009"
#define PAYPW          "135790"
#define DAYS           5
#define KILL_WITHIN_US 40000 /* the kill comes 0..40 ms after the clock reaches 10:00 */

static struct h_platform pf;
static struct h_merchant ma, mb;
static struct h_bank bk = {.code = "icbc", .bin = "622202"};
static char acct_a[80], acct_b[80]; /* m_a's and m_b's accounts at the bank */
static int64_t monday_ms;           /* 09:00 local of the first day */
static int64_t earned_a, earned_b;

static void bank_start(void)
{
    h_bank_init(&bk, "paygate-scbank");
    h_bank_merchant(&bk, "TEASHOP", "shop_a", acct_a);
    h_bank_merchant(&bk, "COFFEE", "shop_b", acct_b);
    h_bank_serve(&bk, "");
}

static int group_setup(void **state)
{
    assert_int_equal(pay_crypto_init(), 0);
    bank_start();
    /* the first day: the next Monday at least two days away */
    int64_t today = (pay_clock_real_ms() + LOCAL_MS) / DAY_MS;
    int64_t ahead = ((1 - (today + 4) % 7) + 7) % 7; /* day 0 was a Thursday */
    monday_ms = (today + (ahead < 2 ? ahead + 7 : ahead)) * DAY_MS + 9 * HOUR_MS - LOCAL_MS;
    h_setup(&pf, &ma, &mb,
            "banks = icbc\nsandbox_sms = true\nsettle_time = 10:00\nreconcile_time = 23:59\n"
            "[server]\nfake_clock = true");
    h_add_consumer(&pf, BUYER, "correct horse", PAYPW);
    h_bank_configure(&pf, &bk);
    const char *ids[] = {"m_a", "m_b"}, *accts[] = {acct_a, acct_b};
    for (int i = 0; i < 2; i++) /* T+0: everything up to the run */
        assert_int_equal(th_sh("'%s' platform merchant settlement --data-dir %s --database '%s'"
                               " --id %s --bank icbc --account %s --days 0 >/dev/null",
                               h_paygate, pf.dir, pf.db, ids[i], accts[i]),
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

/* --- helpers ------------------------------------------------------------------------------- */

/* The test clock to utc_ms; wait: for every worker to have looked (th_clock_advance), or not
 * at all (the run is in progress when this returns). */
static void clock_to(int64_t utc_ms, bool wait)
{
    int64_t now = th_clock_now_ms(pf.url);
    assert_true(now > 0 && utc_ms >= now);
    if (wait) {
        assert_int_equal(th_clock_advance(pf.url, utc_ms - now), 0);
        return;
    }
    char url[256], body[64];
    snprintf(url, sizeof url, "%s/sandbox/clock", pf.url);
    snprintf(body, sizeof body, "{\"advance_ms\":%lld}", (long long)(utc_ms - now));
    const char *hdr[] = {"Content-Type: application/json", NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response res = {0};
    assert_int_equal(
        pay_http_client_request("POST", url, hdr, body, strlen(body), &opt, &res, NULL), 0);
    assert_int_equal(res.status, 200);
    pay_http_client_response_fini(&res);
}

static int64_t available(const struct h_merchant *m)
{
    return h_available_minor(&pf, m);
}

static void pay(const struct h_merchant *m, const char *otn, int64_t minor)
{
    char amount[32];
    snprintf(amount, sizeof amount, "%lld.%02lld", (long long)(minor / 100),
             (long long)(minor % 100));
    h_pay_by_wallet(&pf, m, otn, amount, BUYER, PAYPW);
}

/* Transfers into account at the bank (its admin page): their count and sum. */
static void bank_credits(const char *account, int *n, int64_t *sum)
{
    struct h_browser b = {0};
    char url[512];
    *n = 0;
    *sum = 0;
    for (char cursor[32] = "";;) {
        snprintf(url, sizeof url, "%s/admin/movements?account=%s%s%s", bk.url, account,
                 cursor[0] ? "&cursor=" : "", cursor);
        h_browser_req(&b, "GET", url, NULL, true);
        assert_int_equal(b.status, 200);
        const char *marker = "data-kind=\"TRANSFER\" data-direction=\"CREDIT\"";
        for (const char *p = strstr(b.page, marker); p; p = strstr(p + 1, marker)) {
            const char *a = strstr(p, "data-amount=\"");
            long long yuan = 0, fen = 0;
            assert_int_equal(sscanf(a + 13, "%lld.%lld", &yuan, &fen), 2);
            (*n)++;
            *sum += yuan * 100 + fen;
        }
        const char *next = strstr(b.page, "&cursor=");
        if (!next)
            break;
        snprintf(cursor, sizeof cursor, "%.*s", (int)strspn(next + 8, "0123456789"), next + 8);
    }
    h_browser_fini(&b);
}

/* The merchant's payouts: how many, how many still pending, the sum of the paid ones. */
static void payouts(const struct h_merchant *m, int *n, int *pending, int64_t *paid)
{
    struct h_reply r;
    h_call(&pf, m, "GET", "/v1/settlements", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *list = json_object_get(r.json, "settlements");
    *n = (int)json_array_size(list);
    *pending = 0;
    *paid = 0;
    for (int i = 0; i < *n; i++) {
        json_t *s = json_array_get(list, (size_t)i);
        long long yuan = 0, fen = 0;
        assert_int_equal(sscanf(h_str(s, "amount.value"), "%lld.%lld", &yuan, &fen), 2);
        if (strcmp(h_str(s, "status"), "paid") == 0)
            *paid += yuan * 100 + fen;
        *pending += strcmp(h_str(s, "status"), "pending") == 0;
        assert_string_not_equal(h_str(s, "status"), "failed");
    }
    h_reply_fini(&r);
}

/* --- the story ----------------------------------------------------------------------------- */

/* A bound card tops the wallet up by 5000.00: the money is at the bank, in our reserve. */
static void money_comes_in(void **state)
{
    clock_to(monday_ms, true);
    struct h_browser b = {0};
    char card[64], form[256];
    h_bank_bind_card(&pf, &bk, &b, BUYER, card);
    snprintf(form, sizeof form, "card_id=%s&amount=5000.00&pay_password=" PAYPW, card);
    h_pf_post(&pf, &b, "/wallet/topup", form);
    assert_int_equal(b.status, 200);
    h_browser_fini(&b);
}

/* One business day: payments at 09:00, the run at 10:00 killed somewhere, the restart
 * finishing it; each merchant paid once, for all it had. */
static void one_day(int d)
{
    clock_to(monday_ms + d * DAY_MS, true);
    char otn[32];
    snprintf(otn, sizeof otn, "a-%d", d);
    pay(&ma, otn, 10000 + (int64_t)pay_random_uniform(20000));
    snprintf(otn, sizeof otn, "b-%d", d);
    pay(&mb, otn, 5000 + (int64_t)pay_random_uniform(15000));
    earned_a += available(&ma);
    earned_b += available(&mb);
    clock_to(monday_ms + d * DAY_MS + HOUR_MS, false); /* 10:00: the run starts */
    usleep((useconds_t)pay_random_uniform(KILL_WITHIN_US));
    h_stop(&pf, SIGKILL);
    h_start(&pf);
    /* a payout claimed before the kill is due again when its lease runs out */
    assert_int_equal(th_clock_advance(pf.url, PAY_PLATFORM_SETTLE_LEASE_MS + 1000), 0);
    int n = 0, pending = 1;
    int64_t paid = 0;
    for (int i = 0; i < 600 && pending; i++) { /* the restarted sweeper finishes the run */
        assert_int_equal(th_clock_advance(pf.url, 0), 0);
        int pa = 0, pb = 0;
        int64_t x;
        payouts(&ma, &n, &pa, &x);
        payouts(&mb, &n, &pb, &x);
        pending = pa + pb + (n < d + 1);
    }
    assert_int_equal(pending, 0);
    const struct h_merchant *ms[] = {&ma, &mb};
    const char *accts[] = {acct_a, acct_b};
    int64_t earned[] = {earned_a, earned_b};
    for (int i = 0; i < 2; i++) {
        int p = 0, count = 0;
        int64_t sum = 0;
        payouts(ms[i], &n, &p, &paid);
        assert_int_equal(n, d + 1); /* one payout a day */
        assert_int_equal(available(ms[i]), 0);
        assert_int_equal(paid, earned[i]); /* all of it, nothing lost */
        bank_credits(accts[i], &count, &sum);
        assert_int_equal(count, d + 1); /* one transfer at the bank for each */
        assert_int_equal(sum, earned[i]);
    }
}

static void days_with_killed_runs(void **state)
{
    for (int d = 0; d < DAYS; d++)
        one_day(d);
}

static void ledgers_verify(void **state)
{
    h_stop(&pf, SIGTERM);
    struct pay_store *s = NULL;
    struct pay_ledger *lg = h_ledger_open(&pf, &s);
    assert_int_equal(h_ledger_debit_balance(lg, "pf.payouts.CNY"), 0);
    assert_int_equal(h_ledger_debit_balance(lg, "pf.reserve.icbc.CNY"),
                     500000 - earned_a - earned_b);
    h_ledger_close(s, lg);
    assert_int_equal(h_ledger_verify(&pf), 0);
    char db[300];
    snprintf(db, sizeof db, "%s/data/bank.db", bk.dir);
    assert_int_equal(th_ledger_verify(h_paygate, db), 0);
    h_start(&pf); /* for the teardown */
}

int main(int argc, char **argv)
{
    h_paygate = argc > 1 ? argv[1] : "./paygate";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(money_comes_in),
        cmocka_unit_test(days_with_killed_runs),
        cmocka_unit_test(ledgers_verify),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
