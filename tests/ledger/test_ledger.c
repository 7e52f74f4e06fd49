/* Ledger scenarios through the committer: generic callbacks that change their own tables and
 * the ledger in one transaction (a failing one undoes only itself, balances included), linked
 * chains, two-phase with expiry on the committer's scan, paging an account's transfers, and
 * verify catching a tampered balance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "ledger/ledger.h"
#include "lib/harness.h"
#include "lib/testdb.h"

static const struct pay_store_migration app_migrations[] = {
    {1, "CREATE TABLE orders (id TEXT PRIMARY KEY, state TEXT NOT NULL)"},
};
static const struct pay_store_component app_schema = {"app", app_migrations, 1, NULL};

struct env {
    char dir[256], path[300];
    struct pay_store *s;
    struct pay_ledger *lg;
    struct pay_committer *c;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    assert_int_equal(th_tmpdir(e->dir, sizeof e->dir, "paygate-ledger"), 0);
    char file[300];
    snprintf(file, sizeof file, "%s/l.db", e->dir);
    assert_int_equal(th_db_new("ledger", file, e->path, sizeof e->path), 0);
    const struct pay_store_component *schema[] = {&pay_ledger_schema, &app_schema, NULL};
    assert_int_equal(pay_store_open(e->path, NULL, schema, &e->s, NULL), PAY_ERR_OK);
    pay_clock_use_fake(1700000000000LL);
    assert_int_equal(pay_ledger_new(e->s, &e->lg, NULL), PAY_ERR_OK);
    struct pay_committer_options o = {.expire_interval_ms = 1};
    assert_int_equal(pay_committer_start(e->lg, &o, &e->c, NULL), PAY_ERR_OK);
    struct pay_ledger_account a[3] = {
        {.id = "bank", .currency = "CNY"},
        {.id = "alice", .currency = "CNY", .flags = PAY_LEDGER_AF_DEBITS_MUST_NOT_EXCEED_CREDITS},
        {.id = "shop", .currency = "CNY", .flags = PAY_LEDGER_AF_DEBITS_MUST_NOT_EXCEED_CREDITS},
    };
    enum pay_ledger_result r[3];
    assert_int_equal(pay_committer_create_accounts(e->c, a, 3, r, NULL), PAY_ERR_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(r[i], PAY_LEDGER_OK);
    struct pay_ledger_transfer t = {.id = "fund",
                                    .debit_account_id = "bank",
                                    .credit_account_id = "alice",
                                    .currency = "CNY",
                                    .amount_minor = 10000};
    assert_int_equal(pay_committer_transfers(e->c, &t, 1, r, NULL), PAY_ERR_OK);
    assert_int_equal(r[0], PAY_LEDGER_OK);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    pay_committer_stop(e->c);
    size_t v = 99;
    assert_int_equal(pay_ledger_verify(e->s, stderr, &v, NULL), PAY_ERR_OK);
    assert_int_equal(v, 0);
    pay_ledger_free(e->lg);
    pay_store_close(e->s);
    th_tmpdir_done(e->dir);
    free(e);
    return 0;
}

static int64_t available(struct env *e, const char *id)
{
    struct pay_ledger_account a;
    bool found;
    assert_int_equal(pay_ledger_account_get(e->lg, id, &a, &found, NULL), PAY_ERR_OK);
    assert_true(found);
    return a.credits_posted - a.debits_posted - a.debits_pending;
}

/* An order payment: order row → PAID and the ledger transfer, in one transaction. */
enum order_end {
    END_COMMIT,       /* returns OK */
    END_FAIL_AFTER,   /* fails after writing: everything of this command must vanish */
    END_KEEP_AFTER,   /* refuses after writing, kept: the caller hears the refusal, rows stay */
    END_DEFERRED,     /* after the transfer, two rows queued (pay_store_exec_deferred); OK */
    END_DEFERRED_DUP, /* the same, the second a duplicate key: the command returns OK anyway */
};

struct pay_order {
    struct env *e;
    const char *order_id;
    int64_t amount;
    enum order_end end;
    enum pay_ledger_result result;
    enum pay_err code;    /* what pay_committer_submit returned */
    struct pay_error err; /* and its error */
};

static enum pay_err pay_order_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pay_order *p = ctx;
    enum pay_err e = pay_store_exec(tx, err, "INSERT INTO orders (id, state) VALUES ($1, 'PAID')",
                                    "t", p->order_id);
    if (e != PAY_ERR_OK)
        return e;
    struct pay_ledger_transfer t = {.debit_account_id = "alice",
                                    .credit_account_id = "shop",
                                    .currency = "CNY",
                                    .amount_minor = p->amount};
    snprintf(t.id, sizeof t.id, "pay-%s", p->order_id);
    snprintf(t.user_data, sizeof t.user_data, "%s", p->order_id);
    if ((e = pay_ledger_tx_transfer(p->e->lg, tx, &t, &p->result, err)) != PAY_ERR_OK)
        return e;
    if (p->result != PAY_LEDGER_OK)
        return pay_error_set(err, PAY_ERR_BALANCE_INSUFFICIENT, "amount", "%s",
                             pay_ledger_result_name(p->result));
    if (p->end == END_FAIL_AFTER)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "failed after writing");
    if (p->end == END_DEFERRED || p->end == END_DEFERRED_DUP) {
        static const char add[] = "INSERT INTO orders (id, state) VALUES ($1 || $2, 'NOTED')";
        const char *second = p->end == END_DEFERRED_DUP ? "-note" : "-note2";
        if ((e = pay_store_exec_deferred(tx, err, add, "tt", p->order_id, "-note")) != PAY_ERR_OK ||
            (e = pay_store_exec_deferred(tx, err, add, "tt", p->order_id, second)) != PAY_ERR_OK)
            return e; /* SQLite: the duplicate fails here, PostgreSQL's at the settle */
    }
    if (p->end == END_KEEP_AFTER)
        return pay_store_keep(
            tx, pay_error_set(err, PAY_ERR_CREDENTIALS_INVALID, "password", "wrong, and counted"));
    return PAY_ERR_OK;
}

static void *submit_thread(void *arg)
{
    struct pay_order *p = arg;
    p->err = (struct pay_error){.code = PAY_ERR_INTERNAL, .detail = "stale"};
    p->code = pay_committer_submit(p->e->c, pay_order_apply, p, &p->err);
    return NULL;
}

static enum pay_err count_orders(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(tx, err, "SELECT count(*) FROM orders", NULL);
    assert_int_equal(pay_store_step(st, err), 1);
    *(int64_t *)ctx = pay_store_col_int64(st, 0);
    pay_store_done(st);
    return PAY_ERR_OK;
}

/* One contract (pay_store_tx_fn): OK commits the command, an error rolls back that command
 * only and reaches its caller exactly (code, field, detail), a kept error commits and still
 * reaches the caller; the others in the batch are not touched. */
static void generic_commands_isolated(void **state)
{
    struct env *e = *state;
    struct pay_order o[6];
    pthread_t th[6];
    for (int i = 0; i < 6; i++) {
        static const char *const ids[] = {"o1", "o2", "o3", "o4", "o5", "o6"};
        o[i] = (struct pay_order){e, ids[i], 1000, END_COMMIT, PAY_LEDGER_OK, PAY_ERR_OK, {0}};
        if (i == 2)
            o[i].end = END_FAIL_AFTER;
        if (i == 4)
            o[i].amount = 1000000; /* more than alice has */
        if (i == 5)
            o[i].end = END_KEEP_AFTER;
        pthread_create(&th[i], NULL, submit_thread, &o[i]);
    }
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(o[0].code, PAY_ERR_OK);
    assert_int_equal(o[0].err.code, PAY_ERR_OK); /* cleared: no stale error after success */
    assert_string_equal(o[0].err.detail, "");
    assert_int_equal(o[2].code, PAY_ERR_INTERNAL);
    assert_string_equal(o[2].err.detail, "failed after writing");
    assert_int_equal(o[4].code, PAY_ERR_BALANCE_INSUFFICIENT);
    assert_int_equal(o[4].err.code, PAY_ERR_BALANCE_INSUFFICIENT);
    assert_string_equal(o[4].err.field, "amount");
    assert_string_equal(o[4].err.detail, "EXCEEDS_CREDITS");
    assert_int_equal(o[4].result, PAY_LEDGER_EXCEEDS_CREDITS);
    assert_int_equal(o[5].code, PAY_ERR_CREDENTIALS_INVALID);
    assert_string_equal(o[5].err.field, "password");
    /* 4 committed (3 plain + the kept one): alice 10000 - 4000; the failed commands' order rows
     * and transfers are gone. */
    assert_int_equal(available(e, "alice"), 6000);
    assert_int_equal(available(e, "shop"), 4000);
    int64_t n = 0;
    assert_int_equal(pay_store_run_read(e->s, count_orders, &n, NULL), PAY_ERR_OK);
    assert_int_equal(n, 4);
    struct pay_ledger_transfer t;
    bool found = true;
    assert_int_equal(pay_ledger_transfer_get(e->lg, "pay-o3", &t, &found, NULL), PAY_ERR_OK);
    assert_false(found);
    assert_int_equal(pay_ledger_transfer_get(e->lg, "pay-o6", &t, &found, NULL), PAY_ERR_OK);
    assert_true(found); /* kept */
    assert_int_equal(pay_ledger_transfer_get(e->lg, "pay-o1", &t, &found, NULL), PAY_ERR_OK);
    assert_true(found);
    assert_string_equal(t.user_data, "o1");
    assert_int_equal(t.amount_minor, 1000);
}

/* A statement the command queued (pay_store_exec_deferred, pipelined on PostgreSQL) fails after
 * the command returned OK: the command is rolled back whole — its transfer and rows gone — and
 * its caller hears the statement's DB_CONSTRAINT; the commands around it commit. */
static void deferred_failure_rolls_back_its_command(void **state)
{
    struct env *e = *state;
    struct pay_order o[3];
    pthread_t th[3];
    static const char *const ids[] = {"d1", "d2", "d3"};
    for (int i = 0; i < 3; i++) {
        o[i] = (struct pay_order){e, ids[i], 1000, END_DEFERRED, PAY_LEDGER_OK, PAY_ERR_OK, {0}};
        if (i == 1)
            o[i].end = END_DEFERRED_DUP;
        pthread_create(&th[i], NULL, submit_thread, &o[i]);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(o[0].code, PAY_ERR_OK);
    assert_int_equal(o[2].code, PAY_ERR_OK);
    assert_int_equal(o[1].code, PAY_ERR_DB_CONSTRAINT);
    assert_int_equal(o[1].err.code, PAY_ERR_DB_CONSTRAINT);
    assert_non_null(strstr(o[1].err.detail, th_db_is_pg() ? "23505" : "UNIQUE"));
    assert_int_equal(available(e, "alice"), 8000);
    assert_int_equal(available(e, "shop"), 2000);
    int64_t n = 0;
    assert_int_equal(pay_store_run_read(e->s, count_orders, &n, NULL), PAY_ERR_OK);
    assert_int_equal(n, 6); /* d1, d3 and two notes each */
    struct pay_ledger_transfer t;
    bool found = true;
    assert_int_equal(pay_ledger_transfer_get(e->lg, "pay-d2", &t, &found, NULL), PAY_ERR_OK);
    assert_false(found);
    assert_int_equal(pay_ledger_transfer_get(e->lg, "pay-d3", &t, &found, NULL), PAY_ERR_OK);
    assert_true(found);
}

/* --- asynchronous commands -------------------------------------------------------------- */

struct async_seen {
    struct env *e;
    struct pay_order *o;
    enum pay_err code;
    struct pay_error err;
    bool visible;      /* the order row was there for another connection when done ran */
    bool on_committer; /* done ran on the committer thread */
    int calls;
};

static sem_t async_done;

static enum pay_err order_visible(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct async_seen *a = ctx;
    struct pay_store_stmt *st =
        pay_store_query(tx, err, "SELECT count(*) FROM orders WHERE id = $1", "t", a->o->order_id);
    assert_int_equal(pay_store_step(st, err), 1);
    a->visible = pay_store_col_int64(st, 0) == 1;
    pay_store_done(st);
    return PAY_ERR_OK;
}

static void async_done_cb(void *ctx, enum pay_err code, const struct pay_error *err)
{
    struct async_seen *a = ctx;
    a->code = code;
    a->err = *err;
    a->calls++;
    char name[16] = "";
    pthread_getname_np(pthread_self(), name, sizeof name);
    a->on_committer = strcmp(name, "pay-committer") == 0;
    /* committed before anyone hears of it: a reader sees the row (test only: done must not
     * block in real use) */
    assert_int_equal(pay_store_run_read(a->e->s, order_visible, a, NULL), PAY_ERR_OK);
    sem_post(&async_done);
}

/* pay_committer_submit_async: the command joins a batch with waiting callers; done runs once,
 * on the committer thread, after the commit, with exactly the code and error a waiting caller
 * would get; the waiting callers of the same batches are still woken. After stop nothing is
 * queued and done is not called. */
static void async_commands_answered_after_commit(void **state)
{
    struct env *e = *state;
    enum { N = 8 };
    static const char *const ids[N] = {"a1", "a2", "a3", "a4", "s1", "s2", "s3", "s4"};
    struct pay_order o[N];
    struct async_seen seen[N];
    pthread_t th[N];
    sem_init(&async_done, 0, 0);
    for (int i = 0; i < N; i++) {
        o[i] = (struct pay_order){e, ids[i], 500, END_COMMIT, PAY_LEDGER_OK, PAY_ERR_OK, {0}};
        seen[i] = (struct async_seen){e, &o[i], PAY_ERR_INTERNAL, {0}, false, false, 0};
    }
    o[1].end = END_FAIL_AFTER;
    o[2].amount = 1000000; /* more than alice has */
    o[5].end = END_FAIL_AFTER;
    for (int i = 0; i < N; i++) {
        if (i < 4)
            assert_int_equal(pay_committer_submit_async(e->c, pay_order_apply, &o[i], async_done_cb,
                                                        &seen[i], NULL),
                             PAY_ERR_OK);
        else
            pthread_create(&th[i], NULL, submit_thread, &o[i]);
    }
    for (int i = 4; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++)
        while (sem_wait(&async_done) != 0)
            ;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(seen[i].calls, 1);
        assert_true(seen[i].on_committer);
    }
    assert_int_equal(seen[0].code, PAY_ERR_OK);
    assert_int_equal(seen[0].err.code, PAY_ERR_OK);
    assert_true(seen[0].visible);
    assert_int_equal(seen[3].code, PAY_ERR_OK);
    assert_true(seen[3].visible);
    assert_int_equal(seen[1].code, PAY_ERR_INTERNAL);
    assert_string_equal(seen[1].err.detail, "failed after writing");
    assert_false(seen[1].visible);
    assert_int_equal(seen[2].code, PAY_ERR_BALANCE_INSUFFICIENT);
    assert_string_equal(seen[2].err.field, "amount");
    assert_int_equal(o[4].code, PAY_ERR_OK);
    assert_int_equal(o[5].code, PAY_ERR_INTERNAL);
    assert_int_equal(o[7].code, PAY_ERR_OK);
    /* a1, a4, s1, s3, s4 paid 500 each */
    assert_int_equal(available(e, "alice"), 10000 - 5 * 500);

    /* stop finishes what was submitted: every done has run when it returns */
    struct pay_order late[3];
    struct async_seen late_seen[3];
    static const char *const late_ids[3] = {"z1", "z2", "z3"};
    for (int i = 0; i < 3; i++) {
        late[i] = (struct pay_order){e, late_ids[i], 100, END_COMMIT, PAY_LEDGER_OK, 0, {0}};
        late_seen[i] = (struct async_seen){e, &late[i], PAY_ERR_INTERNAL, {0}, false, false, 0};
        assert_int_equal(pay_committer_submit_async(e->c, pay_order_apply, &late[i], async_done_cb,
                                                    &late_seen[i], NULL),
                         PAY_ERR_OK);
    }
    pay_committer_stop(e->c);
    e->c = NULL; /* teardown has nothing more to stop */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(late_seen[i].calls, 1);
        assert_int_equal(late_seen[i].code, PAY_ERR_OK);
        assert_true(late_seen[i].visible);
    }
    sem_destroy(&async_done);
}

/* A command queued while the committer is running a batch joins that batch (the commands
 * are applied as they arrive, inside the one transaction, while the batch waits for the
 * previous batch's count or the gather window ends): the first command's body blocks until the
 * second is queued, and both run in the same write transaction (one generation, one commit).
 * Before, a batch was fixed when it began, and the second command waited for the next. */
struct joiner {
    sem_t started, go;
    uint64_t generation;
    bool block;
};

static enum pay_err joiner_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    (void)err;
    struct joiner *j = ctx;
    j->generation = pay_store_tx_generation(tx);
    if (j->block) {
        j->block = false; /* a retried batch does not wait again */
        sem_post(&j->started);
        while (sem_wait(&j->go) != 0)
            ;
    }
    return PAY_ERR_OK;
}

static void joiner_done(void *ctx, enum pay_err code, const struct pay_error *err)
{
    (void)ctx, (void)err;
    assert_int_equal(code, PAY_ERR_OK);
    sem_post(&async_done);
}

static void command_queued_during_a_batch_joins_it(void **state)
{
    struct env *e = *state;
    struct joiner first = {.block = true}, second = {0};
    sem_init(&first.started, 0, 0);
    sem_init(&first.go, 0, 0);
    sem_init(&async_done, 0, 0);
    assert_int_equal(
        pay_committer_submit_async(e->c, joiner_apply, &first, joiner_done, NULL, NULL),
        PAY_ERR_OK);
    while (sem_wait(&first.started) != 0) /* the committer is inside the first's body */
        ;
    assert_int_equal(
        pay_committer_submit_async(e->c, joiner_apply, &second, joiner_done, NULL, NULL),
        PAY_ERR_OK);
    sem_post(&first.go);
    for (int i = 0; i < 2; i++)
        while (sem_wait(&async_done) != 0)
            ;
    assert_true(first.generation > 0);
    assert_int_equal(second.generation, first.generation);
    sem_destroy(&first.started);
    sem_destroy(&first.go);
    sem_destroy(&async_done);
}

/* A retryable code from a command reruns the whole batch (the store's retry loop): the caller
 * sees only the successful run. */
struct busy_once {
    struct env *e;
    int runs;
};

static enum pay_err busy_once_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct busy_once *b = ctx;
    if (b->runs++ == 0)
        return pay_error_set(err, PAY_ERR_DB_BUSY, "", "pretend: a serialisation failure");
    return pay_store_exec(tx, err, "INSERT INTO orders (id, state) VALUES ('busy', 'PAID')", NULL);
}

static void retryable_reruns_the_batch(void **state)
{
    struct env *e = *state;
    struct busy_once b = {e, 0};
    struct pay_error err;
    assert_int_equal(pay_committer_submit(e->c, busy_once_apply, &b, &err), PAY_ERR_OK);
    assert_int_equal(b.runs, 2);
    int64_t n = 0;
    assert_int_equal(pay_store_run_read(e->s, count_orders, &n, NULL), PAY_ERR_OK);
    assert_int_equal(n, 1);
}

static void linked_and_idempotent(void **state)
{
    struct env *e = *state;
    struct pay_ledger_transfer t[2] = {
        {.id = "l1",
         .debit_account_id = "alice",
         .credit_account_id = "shop",
         .currency = "CNY",
         .amount_minor = 6000,
         .flags = PAY_LEDGER_TF_LINKED},
        {.id = "l2",
         .debit_account_id = "alice",
         .credit_account_id = "shop",
         .currency = "CNY",
         .amount_minor = 6000},
    };
    enum pay_ledger_result r[2];
    assert_int_equal(pay_committer_transfers(e->c, t, 2, r, NULL), PAY_ERR_OK);
    assert_int_equal(r[0], PAY_LEDGER_LINKED_EVENT_FAILED);
    assert_int_equal(r[1], PAY_LEDGER_EXCEEDS_CREDITS);
    assert_int_equal(available(e, "alice"), 10000);
    t[1].amount_minor = 4000;
    assert_int_equal(pay_committer_transfers(e->c, t, 2, r, NULL), PAY_ERR_OK);
    assert_int_equal(r[0], PAY_LEDGER_OK);
    assert_int_equal(r[1], PAY_LEDGER_OK);
    assert_int_equal(pay_committer_transfers(e->c, t, 2, r, NULL), PAY_ERR_OK);
    assert_int_equal(r[0], PAY_LEDGER_EXISTS);
    assert_int_equal(r[1], PAY_LEDGER_EXISTS);
    t[1].amount_minor = 1;
    assert_int_equal(pay_committer_transfers(e->c, &t[1], 1, r, NULL), PAY_ERR_OK);
    assert_int_equal(r[0], PAY_LEDGER_EXISTS_WITH_DIFFERENT_AMOUNT);
    assert_int_equal(available(e, "alice"), 0);
}

/* pay_ledger_tx_each_balance: the accounts with the prefix and the code, in id order, with
 * their net credit; '_' in a prefix is a character (not LIKE's wildcard), and the code and
 * the prefix's end are respected. */
struct seen {
    char ids[8][PAY_LEDGER_ID_MAX + 1];
    int64_t net[8];
    int n;
};

static void see(void *ctx, const char *id, int64_t net_credit)
{
    struct seen *s = ctx;
    assert_true(s->n < 8);
    snprintf(s->ids[s->n], sizeof s->ids[s->n], "%s", id);
    s->net[s->n++] = net_credit;
}

struct each_ctx {
    const char *prefix;
    uint32_t code;
    struct seen seen;
};

static enum pay_err each_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct each_ctx *c = ctx;
    c->seen.n = 0;
    return pay_ledger_tx_each_balance(tx, c->prefix, c->code, see, &c->seen, err);
}

static void balances_by_prefix(void **state)
{
    struct env *e = *state;
    struct pay_ledger_account a[5] = {
        {.id = "m_a.CNY", .currency = "CNY", .code = 3},
        {.id = "m_a.USD", .currency = "USD", .code = 3},
        {.id = "mXa.CNY", .currency = "CNY", .code = 3}, /* m_a as a LIKE pattern matches it */
        {.id = "m_a.fee", .currency = "CNY", .code = 4},
        {.id = "m_ab.CNY", .currency = "CNY", .code = 3},
    };
    enum pay_ledger_result r[5];
    assert_int_equal(pay_committer_create_accounts(e->c, a, 5, r, NULL), PAY_ERR_OK);
    struct pay_ledger_transfer t = {.id = "pay-m_a",
                                    .debit_account_id = "alice",
                                    .credit_account_id = "m_a.CNY",
                                    .currency = "CNY",
                                    .amount_minor = 1234};
    assert_int_equal(pay_committer_transfers(e->c, &t, 1, r, NULL), PAY_ERR_OK);
    assert_int_equal(r[0], PAY_LEDGER_OK);
    struct each_ctx c = {.prefix = "m_a.", .code = 3};
    assert_int_equal(pay_store_run_read(e->s, each_body, &c, NULL), PAY_ERR_OK);
    assert_int_equal(c.seen.n, 2);
    assert_string_equal(c.seen.ids[0], "m_a.CNY");
    assert_int_equal(c.seen.net[0], 1234);
    assert_string_equal(c.seen.ids[1], "m_a.USD");
    assert_int_equal(c.seen.net[1], 0);
    c = (struct each_ctx){.prefix = "alice"};
    assert_int_equal(pay_store_run_read(e->s, each_body, &c, NULL), PAY_ERR_OK);
    assert_int_equal(c.seen.n, 1);
    assert_int_equal(c.seen.net[0], 10000 - 1234);
    c = (struct each_ctx){.prefix = "nobody"};
    assert_int_equal(pay_store_run_read(e->s, each_body, &c, NULL), PAY_ERR_OK);
    assert_int_equal(c.seen.n, 0);
}

static void two_phase_and_expiry(void **state)
{
    struct env *e = *state;
    struct pay_ledger_transfer hold = {.id = "h1",
                                       .debit_account_id = "alice",
                                       .credit_account_id = "shop",
                                       .currency = "CNY",
                                       .amount_minor = 3000,
                                       .flags = PAY_LEDGER_TF_PENDING};
    struct pay_ledger_transfer hold2 = hold;
    snprintf(hold2.id, sizeof hold2.id, "h2");
    hold2.timeout_s = 60;
    enum pay_ledger_result r;
    assert_int_equal(pay_committer_transfers(e->c, &hold, 1, &r, NULL), PAY_ERR_OK);
    assert_int_equal(r, PAY_LEDGER_OK);
    assert_int_equal(pay_committer_transfers(e->c, &hold2, 1, &r, NULL), PAY_ERR_OK);
    assert_int_equal(r, PAY_LEDGER_OK);
    assert_int_equal(available(e, "alice"), 4000);
    struct pay_ledger_transfer post = {
        .id = "p1", .pending_id = "h1", .amount_minor = 1000, .flags = PAY_LEDGER_TF_POST_PENDING};
    assert_int_equal(pay_committer_transfers(e->c, &post, 1, &r, NULL), PAY_ERR_OK);
    assert_int_equal(r, PAY_LEDGER_OK);
    assert_int_equal(available(e, "alice"), 6000); /* 2000 of the hold released */
    struct pay_ledger_transfer void1 = {
        .id = "v1", .pending_id = "h1", .flags = PAY_LEDGER_TF_VOID_PENDING};
    assert_int_equal(pay_committer_transfers(e->c, &void1, 1, &r, NULL), PAY_ERR_OK);
    assert_int_equal(r, PAY_LEDGER_PENDING_TRANSFER_ALREADY_POSTED);
    /* h2 times out; the move wakes the committer, whose next batch scans and expires it */
    assert_int_equal(pay_clock_advance(61 * 1000, NULL), PAY_ERR_OK);
    struct pay_ledger_transfer nop = {.id = "after",
                                      .debit_account_id = "bank",
                                      .credit_account_id = "alice",
                                      .currency = "CNY",
                                      .amount_minor = 1};
    assert_int_equal(pay_committer_transfers(e->c, &nop, 1, &r, NULL), PAY_ERR_OK);
    struct pay_committer_stats st;
    pay_committer_get_stats(e->c, &st);
    assert_int_equal(st.expired, 1);
    assert_int_equal(available(e, "alice"), 9001);
    void1.pending_id[1] = '2';
    assert_int_equal(pay_committer_transfers(e->c, &void1, 1, &r, NULL), PAY_ERR_OK);
    assert_int_equal(r, PAY_LEDGER_PENDING_TRANSFER_EXPIRED);
}

static void paging_newest_first(void **state)
{
    struct env *e = *state;
    for (int i = 0; i < 25; i++) {
        struct pay_ledger_transfer t = {.debit_account_id = "bank",
                                        .credit_account_id = "shop",
                                        .currency = "CNY",
                                        .amount_minor = i + 1};
        snprintf(t.id, sizeof t.id, "pg%02d", i);
        enum pay_ledger_result r;
        assert_int_equal(pay_committer_transfers(e->c, &t, 1, &r, NULL), PAY_ERR_OK);
        assert_int_equal(r, PAY_LEDGER_OK);
    }
    struct pay_ledger_transfer page[10];
    int64_t cursor = 0;
    int seen = 0;
    do {
        size_t n = 0;
        assert_int_equal(
            pay_ledger_account_transfers(e->lg, "shop", cursor, page, 10, &n, &cursor, NULL),
            PAY_ERR_OK);
        for (size_t i = 0; i < n; i++, seen++) {
            char want[16];
            snprintf(want, sizeof want, "pg%02d", 24 - seen);
            assert_string_equal(page[i].id, want);
        }
    } while (cursor);
    assert_int_equal(seen, 25);
}

static enum pay_err tamper(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    (void)ctx;
    return (pay_store_exec(
        tx, err, "UPDATE ledger_accounts SET credits_posted = credits_posted + 7 WHERE id = 'bank'",
        NULL));
}

static void verify_reports_tampering(void **state)
{
    struct env *e = *state;
    assert_int_equal(pay_store_run_tx(e->s, tamper, NULL, NULL), PAY_ERR_OK);
    char *buf = NULL;
    size_t len = 0, v = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(pay_ledger_verify(e->s, f, &v, NULL), PAY_ERR_OK);
    fclose(f);
    assert_int_equal(v, 2); /* the account's sum and the currency's balance */
    assert_non_null(
        strstr(buf, "account bank (CNY): credits_posted expected 0 (sum of transfers) found 7"));
    assert_non_null(strstr(buf, "currency CNY: posted debits"));
    free(buf);
}

static enum pay_err untamper(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    (void)ctx;
    return (pay_store_exec(
        tx, err, "UPDATE ledger_accounts SET credits_posted = 0 WHERE id = 'bank'", NULL));
}

static void verify_reports_tampering_then_fix(void **state)
{
    struct env *e = *state;
    verify_reports_tampering(state);
    assert_int_equal(pay_store_run_tx(e->s, untamper, NULL, NULL), PAY_ERR_OK);
}

static enum pay_err dangle(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    (void)ctx;
    /* No foreign keys on the hot table (migration 2): only verify can catch this. */
    return (pay_store_exec(
        tx, err,
        "INSERT INTO ledger_transfers (id, debit_rid, credit_rid, amount, currency, code, flags,"
        " pending_rid, timeout_s, user_data, created_ms)"
        " VALUES ('dangling', 999999, 999998, 1, 'CNY', 0, 4, 888888, 0, '', 0)",
        NULL));
}

static enum pay_err undangle(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    (void)ctx;
    return (pay_store_exec(tx, err, "DELETE FROM ledger_transfers WHERE id = 'dangling'", NULL));
}

static void verify_reports_dangling_references(void **state)
{
    struct env *e = *state;
    assert_int_equal(pay_store_run_tx(e->s, dangle, NULL, NULL), PAY_ERR_OK);
    char *buf = NULL;
    size_t len = 0, v = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(pay_ledger_verify(e->s, f, &v, NULL), PAY_ERR_OK);
    fclose(f);
    assert_true(v >= 2);
    assert_non_null(strstr(buf, "transfer names a missing account: dangling"));
    assert_non_null(strstr(buf, "resolution names a missing pending transfer: dangling"));
    free(buf);
    assert_int_equal(pay_store_run_tx(e->s, undangle, NULL, NULL), PAY_ERR_OK);
}

static enum pay_err set_closed(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    const char *sql = ctx;
    return (pay_store_exec(tx, err, sql, NULL));
}

static enum pay_ledger_result pay_alice_to_shop(struct env *e, const char *id)
{
    struct pay_ledger_transfer t = {.debit_account_id = "alice",
                                    .credit_account_id = "shop",
                                    .currency = "CNY",
                                    .amount_minor = 100};
    snprintf(t.id, sizeof t.id, "%s", id);
    enum pay_ledger_result r = PAY_LEDGER_OK;
    assert_int_equal(pay_committer_transfers(e->c, &t, 1, &r, NULL), PAY_ERR_OK);
    return r;
}

/* The committer keeps accounts cached across batches; a write by anyone else (another
 * transaction on the store, another connection or process) must make it read them again. */
static void account_cache_sees_other_writers(void **state)
{
    struct env *e = *state;
    assert_int_equal(pay_alice_to_shop(e, "warm1"), PAY_LEDGER_OK);
    char close_alice[] = "UPDATE ledger_accounts SET flags = flags | 4 WHERE id = 'alice'";
    char open_alice[] = "UPDATE ledger_accounts SET flags = flags & ~4 WHERE id = 'alice'";
    assert_int_equal(pay_store_run_tx(e->s, set_closed, close_alice, NULL), PAY_ERR_OK);
    assert_int_equal(pay_alice_to_shop(e, "warm2"), PAY_LEDGER_ACCOUNT_CLOSED);
    assert_int_equal(pay_store_run_tx(e->s, set_closed, open_alice, NULL), PAY_ERR_OK);
    assert_int_equal(pay_alice_to_shop(e, "warm3"), PAY_LEDGER_OK);
    /* Another connection to the same file, as another process would be. */
    const struct pay_store_component *schema[] = {&pay_ledger_schema, &app_schema, NULL};
    struct pay_store *s2 = NULL;
    assert_int_equal(pay_store_open(e->path, NULL, schema, &s2, NULL), PAY_ERR_OK);
    assert_int_equal(pay_store_run_tx(s2, set_closed, close_alice, NULL), PAY_ERR_OK);
    assert_int_equal(pay_alice_to_shop(e, "warm4"), PAY_LEDGER_ACCOUNT_CLOSED);
    assert_int_equal(pay_store_run_tx(s2, set_closed, open_alice, NULL), PAY_ERR_OK);
    pay_store_close(s2);
    assert_int_equal(pay_alice_to_shop(e, "warm5"), PAY_LEDGER_OK);
}

/* --- migration 3: transfer chains instead of per-account indexes ------------------------------ */

static const char *const chain_accts[] = {"bank", "alice", "shop"};
#define CHAIN_N 40

/* Transfers i = 0..CHAIN_N-1 between the three accounts (every 5th two-phase), created in
 * order: the k-th committed one has the k-th greatest rid. */
static void chain_transfers(struct env *e, int from, int count)
{
    for (int i = from; i < from + count; i++) {
        struct pay_ledger_transfer t = {.currency = "CNY", .amount_minor = 1 + i % 3};
        snprintf(t.id, sizeof t.id, "ch%02d", i);
        snprintf(t.debit_account_id, sizeof t.debit_account_id, "%s",
                 chain_accts[i % 3 == 1 ? 1 : 0]);
        snprintf(t.credit_account_id, sizeof t.credit_account_id, "%s",
                 chain_accts[i % 3 == 2 ? 1 : 2]);
        if (i % 5 == 4)
            t.flags = PAY_LEDGER_TF_PENDING;
        enum pay_ledger_result r;
        assert_int_equal(pay_committer_transfers(e->c, &t, 1, &r, NULL), PAY_ERR_OK);
        assert_int_equal(r, PAY_LEDGER_OK);
        if (i % 10 == 9) { /* post the pending one just made: a resolution links too */
            struct pay_ledger_transfer p = {.flags = PAY_LEDGER_TF_POST_PENDING};
            snprintf(p.id, sizeof p.id, "po%02d", i);
            snprintf(p.pending_id, sizeof p.pending_id, "ch%02d", i);
            assert_int_equal(pay_committer_transfers(e->c, &p, 1, &r, NULL), PAY_ERR_OK);
            assert_int_equal(r, PAY_LEDGER_OK);
        }
    }
}

/* All transfer ids of account, newest first, read page by page (pages of 7). */
static int chain_page_all(struct env *e, const char *account, char ids[][PAY_LEDGER_ID_MAX + 1],
                          int cap)
{
    struct pay_ledger_transfer page[7];
    int64_t cursor = 0;
    int n_all = 0;
    do {
        size_t n = 0;
        assert_int_equal(
            pay_ledger_account_transfers(e->lg, account, cursor, page, 7, &n, &cursor, NULL),
            PAY_ERR_OK);
        for (size_t i = 0; i < n; i++) {
            assert_true(n_all < cap);
            assert_true(strcmp(page[i].debit_account_id, account) == 0 ||
                        strcmp(page[i].credit_account_id, account) == 0);
            snprintf(ids[n_all++], PAY_LEDGER_ID_MAX + 1, "%.*s", PAY_LEDGER_ID_MAX, page[i].id);
        }
    } while (cursor);
    return n_all;
}

static enum pay_err downgrade_to_v2(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    (void)ctx;
    /* The schema exactly as migration 2 left it. */
    return (
        pay_store_exec(tx, err,
                       "CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_rid);"
                       "CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_rid);"
                       "ALTER TABLE ledger_transfers DROP COLUMN debit_prev;"
                       "ALTER TABLE ledger_transfers DROP COLUMN credit_prev;"
                       "ALTER TABLE ledger_accounts DROP COLUMN last_transfer_rid;"
                       "DELETE FROM schema_migrations WHERE component = 'ledger' AND version = 3",
                       NULL));
}

static void reopen(struct env *e)
{
    pay_committer_stop(e->c);
    pay_ledger_free(e->lg);
    pay_store_close(e->s);
    const struct pay_store_component *schema[] = {&pay_ledger_schema, &app_schema, NULL};
    assert_int_equal(pay_store_open(e->path, NULL, schema, &e->s, NULL), PAY_ERR_OK);
    assert_int_equal(pay_ledger_new(e->s, &e->lg, NULL), PAY_ERR_OK);
    struct pay_committer_options o = {.expire_interval_ms = 1};
    assert_int_equal(pay_committer_start(e->lg, &o, &e->c, NULL), PAY_ERR_OK);
}

static void upgrade_from_v2_links_existing_transfers(void **state)
{
    struct env *e = *state;
    static char before[3][CHAIN_N * 2][PAY_LEDGER_ID_MAX + 1];
    static char after[CHAIN_N * 2][PAY_LEDGER_ID_MAX + 1];
    chain_transfers(e, 0, CHAIN_N);
    int n[3];
    for (int a = 0; a < 3; a++)
        n[a] = chain_page_all(e, chain_accts[a], before[a], CHAIN_N * 2);
    assert_int_equal(n[1], 1 + 26 + 2); /* fund, ch* with i % 3 != 0, po19 and po29 */
    assert_int_equal(pay_store_run_tx(e->s, downgrade_to_v2, NULL, NULL), PAY_ERR_OK);
    reopen(e); /* migration 3 runs on the v2 data */
    size_t v = 99;
    assert_int_equal(pay_ledger_verify(e->s, stderr, &v, NULL), PAY_ERR_OK);
    assert_int_equal(v, 0);
    for (int a = 0; a < 3; a++) {
        assert_int_equal(chain_page_all(e, chain_accts[a], after, CHAIN_N * 2), n[a]);
        for (int i = 0; i < n[a]; i++)
            assert_string_equal(after[i], before[a][i]);
    }
    chain_transfers(e, CHAIN_N, 3); /* new transfers continue the upgraded chains */
    assert_int_equal(chain_page_all(e, "alice", after, CHAIN_N * 2), n[1] + 2);
    assert_string_equal(after[0], "ch41"); /* ch42 is bank->shop */
    assert_string_equal(after[2], before[1][0]);
}

/* A cursor that is not one of the account's transfers still pages exactly. */
static void paging_with_foreign_cursor(void **state)
{
    struct env *e = *state;
    chain_transfers(e, 0, 12);
    struct pay_ledger_transfer page[3];
    size_t n = 0;
    int64_t cursor = 0;
    /* shop's newest: ch10, po09, ch09 (bank->shop, not alice's: the cursor is foreign). */
    assert_int_equal(pay_ledger_account_transfers(e->lg, "shop", 0, page, 3, &n, &cursor, NULL),
                     PAY_ERR_OK);
    assert_string_equal(page[2].id, "ch09");
    assert_int_equal(
        pay_ledger_account_transfers(e->lg, "alice", cursor, page, 3, &n, &cursor, NULL),
        PAY_ERR_OK);
    assert_int_equal(n, 3);
    assert_string_equal(page[0].id, "ch08");
    assert_string_equal(page[1].id, "ch07");
    assert_string_equal(page[2].id, "ch05");
}

static enum pay_err break_chain(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    return (pay_store_exec(tx, err, "UPDATE ledger_transfers SET debit_prev = $1 WHERE id = 'ch03'",
                           "i", *(int64_t *)ctx));
}

static void verify_reports_broken_chain(void **state)
{
    struct env *e = *state;
    chain_transfers(e, 0, 4);
    int64_t zero = 0, link;
    char ids[8][PAY_LEDGER_ID_MAX + 1];
    assert_int_equal(chain_page_all(e, "bank", ids, 8), 4); /* ch03 ch02 ch00 fund */
    assert_int_equal(pay_store_run_tx(e->s, break_chain, &zero, NULL), PAY_ERR_OK);
    char *buf = NULL;
    size_t len = 0, v = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(pay_ledger_verify(e->s, f, &v, NULL), PAY_ERR_OK);
    fclose(f);
    assert_int_equal(v, 1);
    assert_non_null(strstr(buf, "account's transfer chain does not match its transfers: bank"));
    free(buf);
    assert_int_equal(chain_page_all(e, "bank", ids, 8), 1); /* the walk stops, no loop */
    link = 4;                                               /* ch02's rid: fund 1, ch00 2, ch01 3 */
    assert_int_equal(pay_store_run_tx(e->s, break_chain, &link, NULL), PAY_ERR_OK);
    assert_int_equal(chain_page_all(e, "bank", ids, 8), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(generic_commands_isolated, setup, teardown),
        cmocka_unit_test_setup_teardown(retryable_reruns_the_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(deferred_failure_rolls_back_its_command, setup, teardown),
        cmocka_unit_test_setup_teardown(async_commands_answered_after_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(command_queued_during_a_batch_joins_it, setup, teardown),
        cmocka_unit_test_setup_teardown(linked_and_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(two_phase_and_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(balances_by_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(paging_newest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_reports_tampering_then_fix, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_reports_dangling_references, setup, teardown),
        cmocka_unit_test_setup_teardown(account_cache_sees_other_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(paging_with_foreign_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_reports_broken_chain, setup, teardown),
        /* SQLite only: databases made before migration 3 (PostgreSQL starts at its shape) */
        cmocka_unit_test_setup_teardown(upgrade_from_v2_links_existing_transfers, setup, teardown),
    };
    size_t n = sizeof tests / sizeof tests[0] - (th_db_is_pg() ? 1 : 0);
    return th_finish(_cmocka_run_group_tests(
        th_db_is_pg() ? "ledger on postgresql" : "ledger on sqlite", tests, n, NULL, NULL));
}
