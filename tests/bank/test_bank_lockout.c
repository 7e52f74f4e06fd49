/* Card lockouts that hold under parallel attempts, against the real `paygate bank` process:
 * wrong card passwords and wrong SMS codes posted all at once on one payment page. At most
 * the limit are checked (the answers say "N attempts left" or "now locked"; the others are
 * refused unchecked, and bank_attempts counts exactly the limit since the last right secret)
 * and the right secret sent after them is refused. The bursts stay under the bank's per-card rate
 * limit (PAY_BANK_RATE_PER_CARD_PER_MIN), which would otherwise answer before the lock does. */
#include "harness.h"
#include "core/limits.h"
#include "crypto/crypto.h"
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the password or SMS step itself plus the burst plus the right secret stay within the limit */
#define BURST   (PAY_BANK_RATE_PER_CARD_PER_MIN - 2)
#define REFERER "http://shop.test/checkout"

static struct bank_proc bank;
static char pan_pw[20], pan_sms[20]; /* cards of their own, issued by the CLI */
static const char phone_sms[] = "13900000072";

struct flow {
    char cookie[256];
    char csrf[128];
    struct h_resp r;
};

static long step(struct flow *f, const char *path, const char *field, const char *value)
{
    char url[256], form[512];
    snprintf(url, sizeof url, "%s%s", bank.url, path);
    snprintf(form, sizeof form, "csrf=%s&%s=%s", f->csrf, field, value);
    h_resp_fini(&f->r);
    assert_int_equal(h_post(url, form, f->cookie, sizeof f->cookie, NULL, &f->r), 0);
    return f->r.status;
}

/* A new order's payment page, then the card number: the password page. */
static void to_password(struct flow *f, const char *order_id, const char *pan)
{
    memset(f, 0, sizeof *f);
    char *doc = h_order_doc(&bank, "M1", order_id, 100, "AG", NULL);
    char *form = h_order_form(&bank, "M1", doc, false);
    char url[256];
    snprintf(url, sizeof url, "%s/b2c/pay", bank.url);
    assert_int_equal(h_post(url, form, f->cookie, sizeof f->cookie, REFERER, &f->r), 0);
    free(form);
    free(doc);
    assert_int_equal(f->r.status, 200);
    assert_int_equal(h_csrf(f->r.body, f->csrf, sizeof f->csrf), 0);
    assert_int_equal(step(f, "/b2c/card", "cardNo", pan), 200);
}

/* --- a burst of posts on one page ------------------------------------------------------------ */

struct shot {
    pthread_barrier_t *start;
    char url[256], form[256], cookie[256];
    struct h_resp r;
    int sent;
};

static void *fire(void *arg)
{
    struct shot *s = arg;
    pthread_barrier_wait(s->start);
    s->sent = h_post(s->url, s->form, s->cookie, sizeof s->cookie, NULL, &s->r) == 0;
    return NULL;
}

struct tally {
    int left, now_locked, refused;
};

/* BURST posts of field=value to path at once; sorts the answers by what they say. */
static struct tally burst(const struct flow *f, const char *path, const char *field,
                          const char *value)
{
    static struct shot shots[BURST];
    pthread_t t[BURST];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, BURST);
    for (int i = 0; i < BURST; i++) {
        memset(&shots[i], 0, sizeof shots[i]);
        shots[i].start = &start;
        snprintf(shots[i].url, sizeof shots[i].url, "%s%s", bank.url, path);
        snprintf(shots[i].form, sizeof shots[i].form, "csrf=%s&%s=%s", f->csrf, field, value);
        /* in English: the answers' wording tells checked tries from refused ones */
        snprintf(shots[i].cookie, sizeof shots[i].cookie, "%.240s; lang=en", f->cookie);
        assert_int_equal(pthread_create(&t[i], NULL, fire, &shots[i]), 0);
    }
    struct tally n = {0};
    for (int i = 0; i < BURST; i++) {
        pthread_join(t[i], NULL);
        assert_true(shots[i].sent);
        const char *b = shots[i].r.body;
        if (shots[i].r.status == 401 && strstr(b, " left."))
            n.left++; /* checked: "Wrong ... N attempts left." */
        else if (shots[i].r.status == 423 && strstr(b, "The card is now locked"))
            n.now_locked++; /* checked: the limit-th, which set the lock */
        else if (shots[i].r.status == 423 && strstr(b, "the card is locked after"))
            n.refused++; /* not checked */
        else
            fprintf(stderr, "unexpected answer %ld: %.300s\n", shots[i].r.status, b);
        h_resp_fini(&shots[i].r);
    }
    pthread_barrier_destroy(&start);
    return n;
}

/* --- the card's counters in the bank's database ----------------------------------------------- */

struct seq_ctx {
    const char *pan_last4;
    int64_t seq;
};

static enum pay_err seq_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct seq_ctx *c = ctx;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT a.seq - a.forgiven_seq FROM bank_attempts a JOIN bank_cards c"
                        " ON a.subject = 'card:' || c.id WHERE c.last4 = $1",
                        "t", c->pan_last4);
    if (!st)
        return err->code;
    if (pay_store_step(st, err) == 1)
        c->seq = pay_store_col_int64(st, 0);
    pay_store_done(st);
    return PAY_ERR_OK;
}

/* How many tries of the card were counted (= checked) since its last right secret. */
static int64_t tries_counted(const char *pan)
{
    struct pay_store *s = NULL; /* bank.db: data/bank.db, or its PostgreSQL database */
    assert_int_equal(pay_store_open(bank.db, NULL, NULL, &s, NULL), PAY_ERR_OK);
    struct seq_ctx c = {pan + strlen(pan) - 4, -1};
    struct pay_error err = {0};
    assert_int_equal(pay_store_run_read(s, seq_tx, &c, &err), PAY_ERR_OK);
    pay_store_close(s);
    return c.seq;
}

static void assert_limit_checked(struct tally n, const char *pan)
{
    assert_int_equal(n.left, PAY_LOCKOUT_ATTEMPTS - 1);
    assert_int_equal(n.now_locked, 1);
    assert_int_equal(n.refused, BURST - PAY_LOCKOUT_ATTEMPTS);
    assert_int_equal(tries_counted(pan), PAY_LOCKOUT_ATTEMPTS);
}

/* --- the tests ------------------------------------------------------------------------------ */

static void parallel_wrong_card_passwords(void **state)
{
    (void)state;
    struct flow f;
    to_password(&f, "PL-1", pan_pw);
    assert_limit_checked(burst(&f, "/b2c/password", "password", "000000"), pan_pw);
    assert_int_equal(step(&f, "/b2c/password", "password", "123456"), 423); /* the right one */
    assert_non_null(strstr(f.r.body, "失败次数过多，银行卡已被锁定"));      /* zh-CN, the default */
    assert_int_equal(tries_counted(pan_pw), PAY_LOCKOUT_ATTEMPTS);
    h_resp_fini(&f.r);
}

static void parallel_wrong_sms_codes(void **state)
{
    (void)state;
    struct flow f;
    to_password(&f, "PS-1", pan_sms);
    assert_int_equal(step(&f, "/b2c/password", "password", "123456"), 200);
    char code[7], wrong[7];
    assert_int_equal(h_sms_code(&bank, phone_sms, code), 0);
    memcpy(wrong, code, sizeof wrong);
    wrong[5] = (char)(wrong[5] == '9' ? '0' : wrong[5] + 1); /* a different code */
    assert_limit_checked(burst(&f, "/b2c/sms", "smsCode", wrong), pan_sms);
    assert_int_equal(step(&f, "/b2c/sms", "smsCode", code), 423); /* the right one */
    assert_int_equal(tries_counted(pan_sms), PAY_LOCKOUT_ATTEMPTS);
    h_resp_fini(&f.r);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Every refused card secret is in the audit trail (docs/audit.md): each wrong or locked
 * password try (checked or refused unchecked, the right one after the lock too), and each
 * counted wrong SMS code in the transaction that keeps it counted; the log intact. */
static void refusals_audited(void **state)
{
    (void)state;
    char url[300];
    struct h_resp r = {0};
    snprintf(url, sizeof url, "%s/admin/audit?action=card.password&outcome=refused", bank.url);
    assert_int_equal(h_get(url, &r), 0);
    assert_int_equal(count(r.body, "data-action=\"card.password\""), BURST + 1);
    assert_int_equal(count(r.body, "data-outcome=\"CREDENTIALS_INVALID\""),
                     PAY_LOCKOUT_ATTEMPTS - 1);
    h_resp_fini(&r);
    snprintf(url, sizeof url, "%s/admin/audit?action=card.sms_code", bank.url);
    assert_int_equal(h_get(url, &r), 0);
    assert_int_equal(count(r.body, "data-action=\"card.sms_code\""), PAY_LOCKOUT_ATTEMPTS);
    h_resp_fini(&r);
    /* the key the bank publishes: a PostgreSQL database (pg suite) has no key beside it */
    snprintf(url, sizeof url, "%s/api/v1/bank-key.pem", bank.url);
    assert_int_equal(h_get(url, &r), 0);
    char key[300];
    snprintf(key, sizeof key, "%s/bank-key.pem", bank.dir);
    FILE *f = fopen(key, "w");
    assert_non_null(f);
    fputs(r.body, f);
    assert_int_equal(fclose(f), 0);
    h_resp_fini(&r);
    struct pay_buf out;
    pay_buf_init(&out, 65536);
    assert_int_equal(
        h_paygate(&out, "audit verify --database '%s' --public-key '%s'", bank.db, key), 0);
    assert_non_null(strstr(pay_buf_str(&out), "is intact"));
    pay_buf_fini(&out);
}

static int group_setup(void **state)
{
    (void)state;
    if (pay_crypto_init() != 0 || h_bank_start(&bank, NULL) != 0)
        return -1;
    if (h_issue_card(&bank, "Burst", "13900000071", pan_pw) != 0 ||
        h_issue_card(&bank, "Codes", phone_sms, pan_sms) != 0)
        return -1;
    return h_merchant_start(&bank);
}

static int group_teardown(void **state)
{
    (void)state;
    h_bank_stop(&bank);
    h_merchant_stop();
    return h_bank_remove(&bank);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parallel_wrong_card_passwords),
        cmocka_unit_test(parallel_wrong_sms_codes),
        cmocka_unit_test(refusals_audited),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
