/* Concurrency test: 16 threads move money among 100 accounts through one committer for at
 * least 10 seconds (PAYGATE_CONCURRENCY_S overrides), half as pure-ledger commands and half as
 * generic callbacks; afterwards total money is conserved, no flagged account is negative, every
 * OK answer is a stored transfer and every stored transfer got an OK answer, verify is
 * clean, and the store committed exactly once per batch (the committer's promise: one durable
 * commit, one fsync, for many commands). In the pg suite on PostgreSQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger/ledger.h"
#include "lib/harness.h"
#include "lib/testdb.h"

#define THREADS  16
#define ACCOUNTS 100
#define FUNDING  100000

struct shared {
    struct pay_ledger *lg;
    struct pay_committer *c;
    double deadline;
    unsigned long ok[THREADS], refused[THREADS];
};

struct worker {
    struct shared *sh;
    int index;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct generic {
    struct pay_ledger *lg;
    struct pay_ledger_transfer t;
    enum pay_ledger_result r;
};

static enum pay_err generic_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct generic *g = ctx;
    struct pay_ledger_transfer copy = g->t; /* may run again on a retry: keep the input */
    enum pay_err e = pay_ledger_tx_transfer(g->lg, tx, &copy, &g->r, err);
    if (e == PAY_ERR_OK && g->r != PAY_LEDGER_OK)
        e = pay_error_set(err, PAY_ERR_BALANCE_INSUFFICIENT, "", "%s",
                          pay_ledger_result_name(g->r));
    return e;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    unsigned seed = (unsigned)w->index * 7919u + 1;
    for (unsigned long n = 0; now_s() < sh->deadline; n++) {
        int from = rand_r(&seed) % ACCOUNTS, to = rand_r(&seed) % (ACCOUNTS - 1);
        to = to >= from ? to + 1 : to;
        struct pay_ledger_transfer t = {.currency = "CNY",
                                        .amount_minor = 1 + rand_r(&seed) % 5000};
        snprintf(t.id, sizeof t.id, "w%d-%lu", w->index, n);
        snprintf(t.debit_account_id, sizeof t.debit_account_id, "acc%d", from);
        snprintf(t.credit_account_id, sizeof t.credit_account_id, "acc%d", to);
        enum pay_ledger_result r;
        if (n % 2 == 0) {
            assert_int_equal(pay_committer_transfers(sh->c, &t, 1, &r, NULL), PAY_ERR_OK);
        } else {
            struct generic g = {sh->lg, t, PAY_LEDGER_OK};
            enum pay_err rc = pay_committer_submit(sh->c, generic_apply, &g, NULL);
            assert_true(rc == PAY_ERR_OK || rc == PAY_ERR_BALANCE_INSUFFICIENT);
            r = g.r;
        }
        if (r == PAY_LEDGER_OK)
            sh->ok[w->index]++;
        else if (r == PAY_LEDGER_EXCEEDS_CREDITS)
            sh->refused[w->index]++;
        else
            fail_msg("unexpected result %s", pay_ledger_result_name(r));
    }
    return NULL;
}

static enum pay_err count_transfers(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pay_store_stmt *st =
        pay_store_query(tx, err, "SELECT count(*) FROM ledger_transfers WHERE id LIKE 'w%'", NULL);
    assert_int_equal(pay_store_step(st, err), 1);
    *(int64_t *)ctx = pay_store_col_int64(st, 0);
    pay_store_done(st);
    return PAY_ERR_OK;
}

static void setup_accounts(struct pay_committer *c)
{
    struct pay_ledger_account a[ACCOUNTS + 1];
    struct pay_ledger_transfer t[ACCOUNTS];
    enum pay_ledger_result r[ACCOUNTS + 1];
    memset(a, 0, sizeof a);
    memset(t, 0, sizeof t);
    snprintf(a[ACCOUNTS].id, sizeof a[ACCOUNTS].id, "mint");
    memcpy(a[ACCOUNTS].currency, "CNY", 4);
    for (int i = 0; i < ACCOUNTS; i++) {
        snprintf(a[i].id, sizeof a[i].id, "acc%d", i);
        memcpy(a[i].currency, "CNY", 4);
        a[i].flags = PAY_LEDGER_AF_DEBITS_MUST_NOT_EXCEED_CREDITS;
        snprintf(t[i].id, sizeof t[i].id, "fund%d", i);
        snprintf(t[i].debit_account_id, sizeof t[i].debit_account_id, "mint");
        snprintf(t[i].credit_account_id, sizeof t[i].credit_account_id, "acc%d", i);
        memcpy(t[i].currency, "CNY", 4);
        t[i].amount_minor = FUNDING;
    }
    assert_int_equal(pay_committer_create_accounts(c, a, ACCOUNTS + 1, r, NULL), PAY_ERR_OK);
    for (int i = 0; i <= ACCOUNTS; i++)
        assert_int_equal(r[i], PAY_LEDGER_OK);
    assert_int_equal(pay_committer_transfers(c, t, ACCOUNTS, r, NULL), PAY_ERR_OK);
    for (int i = 0; i < ACCOUNTS; i++)
        assert_int_equal(r[i], PAY_LEDGER_OK);
}

static void money_is_conserved(void **state)
{
    (void)state;
    char dir[256], file[300], path[300];
    assert_int_equal(th_tmpdir(dir, sizeof dir, "paygate-conc"), 0);
    snprintf(file, sizeof file, "%s/l.db", dir);
    assert_int_equal(th_db_new("conc", file, path, sizeof path), 0);
    const struct pay_store_component *schema[] = {&pay_ledger_schema, NULL};
    struct pay_store *s;
    struct shared sh = {0};
    assert_int_equal(pay_store_open(path, NULL, schema, &s, NULL), PAY_ERR_OK);
    assert_int_equal(pay_ledger_new(s, &sh.lg, NULL), PAY_ERR_OK);
    assert_int_equal(pay_committer_start(sh.lg, NULL, &sh.c, NULL), PAY_ERR_OK);
    setup_accounts(sh.c);
    const char *env = getenv("PAYGATE_CONCURRENCY_S");
    double seconds = env ? strtod(env, NULL) : 10.0;
    sh.deadline = now_s() + seconds;
    pthread_t th[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){&sh, i};
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    struct pay_committer_stats st;
    struct pay_store_stats ss;
    pay_committer_get_stats(sh.c, &st);
    pay_committer_stop(sh.c);
    pay_store_get_stats(s, &ss);
    /* every write transaction but the migrations at open was one batch */
    assert_int_equal(ss.commits, st.batches + 1);
    assert_true(st.batches < st.commands);
    unsigned long ok = 0, refused = 0;
    for (int i = 0; i < THREADS; i++) {
        ok += sh.ok[i];
        refused += sh.refused[i];
    }
    fprintf(stderr,
            "concurrency on %s: %.0f s, %lu ok, %lu refused (overdraft), %llu batches, %llu"
            " commits, %llu retries\n",
            th_db_is_pg() ? "postgresql" : "sqlite", seconds, ok, refused,
            (unsigned long long)st.batches, (unsigned long long)ss.commits,
            (unsigned long long)ss.retries);
    assert_true(ok > 1000);
    int64_t total = 0;
    for (int i = 0; i < ACCOUNTS; i++) {
        char id[16];
        snprintf(id, sizeof id, "acc%d", i);
        struct pay_ledger_account a;
        bool found;
        assert_int_equal(pay_ledger_account_get(sh.lg, id, &a, &found, NULL), PAY_ERR_OK);
        assert_true(found);
        int64_t bal = a.credits_posted - a.debits_posted;
        assert_true(bal >= 0);
        assert_int_equal(a.debits_pending, 0);
        total += bal;
    }
    assert_int_equal(total, (int64_t)ACCOUNTS * FUNDING);
    int64_t stored = -1;
    assert_int_equal(pay_store_run_read(s, count_transfers, &stored, NULL), PAY_ERR_OK);
    assert_int_equal(stored, (int64_t)ok);
    size_t v = 99;
    assert_int_equal(pay_ledger_verify(s, stderr, &v, NULL), PAY_ERR_OK);
    assert_int_equal(v, 0);
    pay_ledger_free(sh.lg);
    pay_store_close(s);
    th_tmpdir_done(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(money_is_conserved),
    };
    return th_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
