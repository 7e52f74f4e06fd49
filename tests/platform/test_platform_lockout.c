/* Lockouts that hold under parallel attempts, against the real `paygate platform` process:
 * 50 parallel wrong logins check at most the limit (the counters in pf_attempts say how many
 * were checked) and a right password after them is refused; a right password among 49 wrong
 * ones is admitted only among the first `limit` tries, and the account ends locked unless it
 * was the limit-th (its success lifts its own lock, and the wrong ones it held off are not
 * counted);
 * 50 parallel wrong payment passwords on the cashier: the answers say "N attempts left" for
 * at most the limit, every other one is refused unchecked, and the right one after is refused
 * with the trade still unpaid. No sleeps: the assertions hold whatever the interleaving. */
#include "harness.h"
#include "lib/harness.h"

#include "core/clock.h"
#include "core/limits.h"
#include "core/timeutil.h"
#include "http/client.h"
#include "http/codec.h"
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

#define PARALLEL 50
#define CSRF     "lockout-test-csrf-token-0123456789" /* the pre-login double-submit cookie */

static struct h_platform pf;
static struct h_merchant ma;

static int group_setup(void **state)
{
    (void)state;
    h_setup(&pf, &ma, NULL, NULL);
    h_add_consumer(&pf, "burst@example.com", "correct horse", "246810");
    h_add_consumer(&pf, "mixed@example.com", "correct horse", "246810");
    h_add_consumer(&pf, "payer@example.com", "correct horse", "246810");
    h_wallet_credit(&pf, "payer@example.com", "100.00");
    h_start(&pf);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    h_teardown_verified(&pf);
    return 0;
}

static void login_shot(struct h_shot *s, const char *login, const char *password)
{
    memset(s, 0, sizeof *s);
    snprintf(s->url, sizeof s->url, "%s/wallet/login", pf.url);
    struct pay_buf f;
    pay_buf_init(&f, sizeof s->form);
    assert_int_equal(pay_form_append(&f, "csrf", CSRF) | pay_form_append(&f, "login", login) |
                         pay_form_append(&f, "password", password),
                     0);
    snprintf(s->form, sizeof s->form, "%s", pay_buf_str(&f));
    pay_buf_fini(&f);
    /* in English: the answers' wording tells checked tries from refused ones */
    snprintf(s->cookie, sizeof s->cookie, "Cookie: pf_csrf=%s; lang=en", CSRF);
}

/* --- the counters in the platform's database ------------------------------------------------ */

struct counters {
    const char *subject;
    int64_t seq, forgiven_seq, lock_seq, locked_until_ms;
};

static enum pay_err counters_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct counters *c = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT a.seq, a.forgiven_seq, a.lock_seq, a.locked_until_ms FROM pf_attempts a"
        " JOIN pf_consumers c ON a.subject = 'login:' || c.id WHERE c.login = $1",
        "t", c->subject);
    if (!st)
        return err->code;
    if (pay_store_step(st, err) == 1) {
        c->seq = pay_store_col_int64(st, 0);
        c->forgiven_seq = pay_store_col_int64(st, 1);
        c->lock_seq = pay_store_col_int64(st, 2);
        c->locked_until_ms = pay_store_col_int64(st, 3);
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

/* The login counters of a consumer, read from the running platform's database. */
static struct counters login_counters(const char *login)
{
    struct pay_store *s = NULL; /* pf.db: platform.db, or its PostgreSQL database */
    assert_int_equal(pay_store_open(pf.db, NULL, NULL, &s, NULL), PAY_ERR_OK);
    struct counters c = {.subject = login};
    struct pay_error err = {0};
    assert_int_equal(pay_store_run_read(s, counters_tx, &c, &err), PAY_ERR_OK);
    pay_store_close(s);
    return c;
}

static long login_once(const char *login, const char *password)
{
    struct h_shot s;
    login_shot(&s, login, password);
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", s.cookie, NULL};
    assert_int_equal(
        pay_http_client_request("POST", s.url, headers, s.form, strlen(s.form), &opt, &r, NULL),
        PAY_ERR_OK);
    long status = r.status;
    pay_http_client_response_fini(&r);
    return status;
}

/* --- the tests ------------------------------------------------------------------------------ */

static void parallel_wrong_logins_check_at_most_the_limit(void **state)
{
    (void)state;
    static struct h_shot shots[PARALLEL];
    for (int i = 0; i < PARALLEL; i++)
        login_shot(&shots[i], "burst@example.com", "wrong horse");
    h_fire_all(shots, PARALLEL);
    int wrong = 0, locked = 0;
    for (int i = 0; i < PARALLEL; i++) {
        wrong += shots[i].status == 401;
        locked += shots[i].status == 423;
    }
    assert_int_equal(wrong + locked, PARALLEL);
    assert_true(wrong <= PAY_LOCKOUT_ATTEMPTS - 1); /* the limit-th wrong one answers 423 */
    struct counters c = login_counters("burst@example.com");
    assert_int_equal(c.seq, PAY_LOCKOUT_ATTEMPTS); /* checked: exactly the limit */
    assert_int_equal(c.forgiven_seq, 0);
    assert_true(c.locked_until_ms > pay_clock_real_ms());
    /* the right password after the limit is refused, unchecked (nothing more counted) */
    assert_int_equal(login_once("burst@example.com", "correct horse"), 423);
    assert_int_equal(login_counters("burst@example.com").seq, PAY_LOCKOUT_ATTEMPTS);
}

static void right_login_among_wrong_ones(void **state)
{
    (void)state;
    static struct h_shot shots[PARALLEL];
    const int right = 17;
    for (int i = 0; i < PARALLEL; i++)
        login_shot(&shots[i], "mixed@example.com", i == right ? "correct horse" : "wrong horse");
    h_fire_all(shots, PARALLEL);
    for (int i = 0; i < PARALLEL; i++)
        if (i != right)
            assert_true(shots[i].status == 401 || shots[i].status == 423);
    struct counters c = login_counters("mixed@example.com");
    if (shots[right].status == 303 && c.forgiven_seq == PAY_LOCKOUT_ATTEMPTS &&
        c.seq < 2 * PAY_LOCKOUT_ATTEMPTS) {
        /* admitted as the limit-th try: its own try set the lock, which refused the wrong ones
         * arriving while its password was checked, unchecked and uncounted; its success lifted
         * it, and fewer than `limit` wrong ones came after (how many is the interleaving's): no
         * lock, and the right password is admitted again */
        assert_true(c.locked_until_ms <= pay_clock_real_ms());
        assert_int_equal(login_once("mixed@example.com", "correct horse"), 303);
        return;
    }
    if (shots[right].status == 303) {
        /* admitted among the first `limit` tries: its number k is what it forgave; the wrong
         * ones after it were counted on and reached the lock by themselves: at try `limit`
         * when it was admitted after that lock (which its success leaves: not its lock), at
         * try k + limit when before */
        int64_t k = c.forgiven_seq;
        assert_true(k >= 1 && k <= PAY_LOCKOUT_ATTEMPTS);
        assert_true((k < PAY_LOCKOUT_ATTEMPTS && c.seq == PAY_LOCKOUT_ATTEMPTS) ||
                    c.seq == k + PAY_LOCKOUT_ATTEMPTS);
    } else {
        assert_int_equal(shots[right].status, 423); /* after the limit: refused unchecked */
        assert_int_equal(c.seq, PAY_LOCKOUT_ATTEMPTS);
        assert_int_equal(c.forgiven_seq, 0);
    }
    assert_true(c.locked_until_ms > pay_clock_real_ms());
    assert_int_equal(login_once("mixed@example.com", "correct horse"), 423);
}

/* Logs in on the cashier of trade_id; the session cookie and CSRF token go into s. */
static void cashier_session(const char *trade_id, char cookie[400], char csrf[128])
{
    struct h_browser b = {0};
    char url[256], form[512];
    snprintf(url, sizeof url, "%s/cashier/%s", pf.url, trade_id);
    h_browser_req(&b, "GET", url, NULL, false);
    snprintf(form, sizeof form, "csrf=%s&login=payer%%40example.com&password=correct+horse",
             b.last_csrf);
    snprintf(url, sizeof url, "%s/cashier/%s/login", pf.url, trade_id);
    h_browser_req(&b, "POST", url, form, false);
    assert_int_equal(b.status, 303);
    snprintf(url, sizeof url, "%s/cashier/%s", pf.url, trade_id);
    h_browser_req(&b, "GET", url, NULL, false);
    assert_non_null(strstr(b.page, "wallet-form"));
    snprintf(cookie, 400, "Cookie: pf_csrf=%s; pf_session=%s", b.csrf_cookie, b.session);
    snprintf(csrf, 128, "%s", b.last_csrf);
    h_browser_fini(&b);
}

static void parallel_wrong_payment_passwords(void **state)
{
    (void)state;
    char id[64], cookie[400], csrf[128];
    snprintf(id, sizeof id, "%s", h_create_trade(&pf, &ma, "lockout-1", "10.00", NULL));
    cashier_session(id, cookie, csrf);
    static struct h_shot shots[PARALLEL];
    for (int i = 0; i < PARALLEL; i++) {
        memset(&shots[i], 0, sizeof shots[i]);
        snprintf(shots[i].url, sizeof shots[i].url, "%s/cashier/%s/pay/wallet", pf.url, id);
        snprintf(shots[i].form, sizeof shots[i].form, "csrf=%s&pay_password=111111", csrf);
        snprintf(shots[i].cookie, sizeof shots[i].cookie, "%.380s; lang=en", cookie); /* English */
    }
    h_fire_all(shots, PARALLEL);
    int left = 0, last = 0, refused = 0;
    for (int i = 0; i < PARALLEL; i++) {
        const char *p = shots[i].page;
        if (shots[i].status == 401 && strstr(p, "wrong payment password;") && strstr(p, " left"))
            left++; /* checked: "N attempts left" */
        else if (shots[i].status == 423 && strstr(p, "wrong payment password; locked for"))
            last++; /* checked: the limit-th, which set the lock */
        else if (shots[i].status == 423 && strstr(p, "locked after"))
            refused++; /* not checked */
    }
    assert_int_equal(left, PAY_LOCKOUT_ATTEMPTS - 1);
    assert_int_equal(last, 1);
    assert_int_equal(refused, PARALLEL - PAY_LOCKOUT_ATTEMPTS);
    /* the right payment password after the limit is refused and pays nothing */
    struct h_shot s = shots[0];
    snprintf(s.form, sizeof s.form, "csrf=%s&pay_password=246810", csrf);
    h_fire_all(&s, 1);
    assert_int_equal(s.status, 423);
    struct h_reply r;
    char path[128];
    snprintf(path, sizeof path, "/v1/trades/%s", id);
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_string_equal(h_str(r.json, "state"), "WAIT_BUYER_PAY");
    h_reply_fini(&r);
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parallel_wrong_logins_check_at_most_the_limit),
        cmocka_unit_test(right_login_among_wrong_ones),
        cmocka_unit_test(parallel_wrong_payment_passwords),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
