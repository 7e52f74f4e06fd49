/* The ledger's account cache between write transactions: a working set larger than the old
 * fixed cap (65,536 accounts, past which the whole cache was dropped) stays in memory; a small
 * byte budget bounds the entries, keeps the accounts every transaction uses (CLOCK) and
 * leaves balances exact. Transactions are run directly on a store without fsync (speed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger/ledger.h"
#include "lib/harness.h"

struct env {
    char dir[256], path[300];
    struct pay_store *s;
    struct pay_ledger *lg;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    assert_int_equal(th_tmpdir(e->dir, sizeof e->dir, "paygate-acache"), 0);
    snprintf(e->path, sizeof e->path, "%s/l.db", e->dir);
    const struct pay_store_component *schema[] = {&pay_ledger_schema, NULL};
    struct pay_store_options o = {.unsafe_no_sync = true};
    assert_int_equal(pay_store_open(e->path, &o, schema, &e->s, NULL), PAY_ERR_OK);
    assert_int_equal(pay_ledger_new(e->s, &e->lg, NULL), PAY_ERR_OK);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    size_t v = 99;
    assert_int_equal(pay_ledger_verify(e->s, stderr, &v, NULL), PAY_ERR_OK);
    assert_int_equal(v, 0);
    pay_ledger_free(e->lg);
    pay_store_close(e->s);
    assert_int_equal(th_tmpdir_done(e->dir), 0);
    free(e);
    return 0;
}

/* One write transaction: accounts a<from>..a<from+n-1>, or transfers (n of them). */
struct job {
    struct pay_ledger *lg;
    bool create;
    int from, n;
    const int *debit, *credit; /* transfers: account numbers */
    int64_t amount;
    int *next_id;
};

static enum pay_err job_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct job *j = ctx;
    int next_id = *j->next_id;
    for (int i = 0; i < j->n; i++) {
        enum pay_ledger_result r;
        enum pay_err e;
        if (j->create) {
            struct pay_ledger_account a = {.currency = "CNY"};
            snprintf(a.id, sizeof a.id, "a%d", j->from + i);
            e = pay_ledger_tx_create_accounts(j->lg, tx, &a, 1, &r, err);
        } else {
            struct pay_ledger_transfer t = {.currency = "CNY", .amount_minor = j->amount};
            snprintf(t.id, sizeof t.id, "t%d", next_id++);
            snprintf(t.debit_account_id, sizeof t.debit_account_id, "a%d", j->debit[i]);
            snprintf(t.credit_account_id, sizeof t.credit_account_id, "a%d", j->credit[i]);
            e = pay_ledger_tx_transfer(j->lg, tx, &t, &r, err);
        }
        if (e == PAY_ERR_OK && r != PAY_LEDGER_OK)
            e = pay_error_set(err, PAY_ERR_INTERNAL, "", "%s", pay_ledger_result_name(r));
        if (e != PAY_ERR_OK)
            return e;
    }
    *j->next_id = next_id; /* only once the body ran through (it may be retried) */
    return PAY_ERR_OK;
}

static void run_job(struct env *e, struct job *j)
{
    j->lg = e->lg;
    assert_int_equal(pay_store_run_tx(e->s, job_body, j, NULL), PAY_ERR_OK);
}

static int64_t posted(struct env *e, int account, bool credits)
{
    char id[16];
    snprintf(id, sizeof id, "a%d", account);
    struct pay_ledger_account a;
    bool found = false;
    assert_int_equal(pay_ledger_account_get(e->lg, id, &a, &found, NULL), PAY_ERR_OK);
    assert_true(found);
    return credits ? a.credits_posted : a.debits_posted;
}

#define LARGE 100000

/* 100,000 accounts, each touched by a transfer, then all of them again: the second pass
 * answers every lookup from memory (the old cache dropped everything past 65,536). */
static void large_working_set_stays_cached(void **state)
{
    struct env *e = *state;
    static int debit[LARGE / 2], credit[LARGE / 2];
    for (int i = 0; i < LARGE / 2; i++) {
        debit[i] = 2 * i;
        credit[i] = 2 * i + 1;
    }
    int next_id = 0;
    struct job create = {.create = true, .from = 0, .n = LARGE, .next_id = &next_id};
    run_job(e, &create);
    struct job pass = {
        .n = LARGE / 2, .debit = debit, .credit = credit, .amount = 3, .next_id = &next_id};
    run_job(e, &pass);
    struct pay_ledger_cache_stats before, after;
    pay_ledger_get_cache_stats(e->lg, &before);
    assert_int_equal(before.entries, LARGE);
    run_job(e, &pass);
    pay_ledger_get_cache_stats(e->lg, &after);
    assert_int_equal(after.loads - before.loads, 0);
    assert_true(after.hits - before.hits >= LARGE);
    assert_int_equal(after.evicted, 0);
    assert_int_equal(posted(e, 0, false), 6);
    assert_int_equal(posted(e, LARGE - 1, true), 6);
}

#define BUDGET_BYTES (64 * 1024)
#define HOT          10
#define COLD_PER_TX  20
#define ROUNDS       60

/* A 64 KiB budget (a few hundred entries): every transaction moves money among 10 hot
 * accounts and touches 20 accounts it never used before. The cache stays inside the budget,
 * evicts, never reloads a hot account once warm, and every balance is exact. */
static void small_budget_keeps_the_hot_accounts(void **state)
{
    struct env *e = *state;
    pay_ledger_set_account_cache_bytes(e->lg, BUDGET_BYTES);
    int next_id = 0;
    int n_accounts = HOT + COLD_PER_TX * ROUNDS;
    struct job create = {.create = true, .from = 0, .n = n_accounts, .next_id = &next_id};
    run_job(e, &create);
    int debit[HOT + COLD_PER_TX], credit[HOT + COLD_PER_TX];
    uint64_t hot_reloads = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (int k = 0; k < HOT; k++) { /* hot: a ring, a_k -> a_(k+1) */
            debit[k] = k;
            credit[k] = (k + 1) % HOT;
        }
        for (int k = 0; k < COLD_PER_TX; k++) { /* cold: from a hot one to a new one */
            debit[HOT + k] = k % HOT;
            credit[HOT + k] = HOT + round * COLD_PER_TX + k;
        }
        struct job j = {.n = HOT + COLD_PER_TX,
                        .debit = debit,
                        .credit = credit,
                        .amount = 1,
                        .next_id = &next_id};
        struct pay_ledger_cache_stats before, after;
        pay_ledger_get_cache_stats(e->lg, &before);
        run_job(e, &j);
        pay_ledger_get_cache_stats(e->lg, &after);
        /* Entries are > 130 bytes (two 65-byte ids alone): the budget bounds their count. */
        assert_true(after.entries <= BUDGET_BYTES / 130);
        if (round >= 2)
            hot_reloads += after.loads - before.loads - COLD_PER_TX;
    }
    struct pay_ledger_cache_stats st;
    pay_ledger_get_cache_stats(e->lg, &st);
    assert_true(st.evicted > 0);
    assert_int_equal(hot_reloads, 0);
    for (int k = 0; k < HOT; k++) { /* each hot: +1 per round from the ring, -2 per round */
        assert_int_equal(posted(e, k, true), ROUNDS);
        assert_int_equal(posted(e, k, false), ROUNDS * (1 + COLD_PER_TX / HOT));
    }
    for (int c = HOT; c < n_accounts; c++)
        assert_int_equal(posted(e, c, true), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(large_working_set_stays_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(small_budget_keeps_the_hot_accounts, setup, teardown),
    };
    return th_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
