/* The committer when the disk fails (issue 11, point 6), on a real SQLite file through the
 * fault-injection VFS (store/faults.h). Round after round, 8 threads submit at once (so that
 * they share batches) pure-ledger transfers and generic commands (an order row plus a linked
 * pair of transfers, whose chain opens a savepoint), while a plan fails the Nth write or fsync
 * (N across a whole batch, once or from then on), every read from the Nth on (inside the
 * bodies), or calls at random. Every caller must hear OK or the storage failure (DB_FULL,
 * DB_UNAVAILABLE), nothing else; every command of a failed batch hears it (nothing
 * acknowledged); once the disk is back the committer works again and retries with the same
 * ids land exactly once (EXISTS, never a double). At the end, in a copy of the files taken as
 * a crash would leave them and in the database reopened after a clean close: every
 * acknowledged transfer is there, every balance is the sum of its transfers counted once, and
 * `pay_ledger_verify` finds nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/faults.h"
#include "ledger/ledger.h"
#include "store/faults.h"
#include "lib/harness.h"

#define THREADS 8
#define DESTS   4

static const struct pay_store_migration order_sql[] = {
    {1, "CREATE TABLE fx_orders (id TEXT PRIMARY KEY, amount_minor INTEGER NOT NULL)"},
};
static const struct pay_store_component order_schema = {"fx", order_sql, 1, NULL};

struct env {
    char dir[256], path[300];
    struct pay_store *s;
    struct pay_ledger *lg;
    struct pay_committer *c;
};

/* One submitted command and what its caller heard. */
struct cmd {
    int round, index;
    bool generic; /* an order row + a linked pair; else one pure-ledger transfer */
    struct pay_ledger_transfer t[2];
    enum pay_ledger_result r[2];
    bool existed;       /* generic: the order row was there already (a retry) */
    enum pay_err first; /* what the first submission answered */
    bool acked;         /* OK, from the first submission or a retry */
};

struct round_ctx {
    struct env *e;
    struct cmd *cmds;
    pthread_barrier_t *go;
};

static void make_transfer(struct pay_ledger_transfer *t, const char *id, int dest, int64_t amount,
                          uint32_t flags)
{
    memset(t, 0, sizeof *t);
    snprintf(t->id, sizeof t->id, "%s", id);
    snprintf(t->debit_account_id, sizeof t->debit_account_id, "src");
    snprintf(t->credit_account_id, sizeof t->credit_account_id, "dst%d", dest);
    memcpy(t->currency, "CNY", 4);
    t->amount_minor = amount;
    t->flags = flags;
}

static void cmd_init(struct cmd *m, int round, int index)
{
    memset(m, 0, sizeof *m);
    m->round = round;
    m->index = index;
    m->generic = index % 2 == 1;
    char id[32];
    int64_t amount = (int64_t)round * 100 + index + 1;
    snprintf(id, sizeof id, "r%d-c%d-a", round, index);
    make_transfer(&m->t[0], id, index % DESTS, amount, m->generic ? PAY_LEDGER_TF_LINKED : 0);
    snprintf(id, sizeof id, "r%d-c%d-b", round, index);
    make_transfer(&m->t[1], id, (index + 1) % DESTS, amount + 1000, 0);
}

struct generic_run {
    struct pay_ledger *lg;
    struct cmd *m;
};

/* The generic command: idempotent by its order id, as the servers' commands are. */
static enum pay_err generic_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct generic_run *g = ctx;
    struct cmd *m = g->m;
    m->existed = false;
    m->r[0] = m->r[1] = PAY_LEDGER_OK;
    char id[32];
    snprintf(id, sizeof id, "r%d-c%d", m->round, m->index);
    struct pay_store_stmt *st =
        pay_store_query(tx, err, "SELECT 1 FROM fx_orders WHERE id = $1", "t", id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    if (rc == 1) {
        m->existed = true;
        return PAY_ERR_OK;
    }
    enum pay_err e =
        pay_store_exec(tx, err, "INSERT INTO fx_orders (id, amount_minor) VALUES ($1, $2)", "ti",
                       id, m->t[0].amount_minor);
    struct pay_ledger_transfer copy[2] = {m->t[0], m->t[1]}; /* may run again: keep the input */
    if (e == PAY_ERR_OK)
        e = pay_ledger_tx_transfers(g->lg, tx, copy, 2, m->r, err);
    if (e == PAY_ERR_OK && (m->r[0] != PAY_LEDGER_OK || m->r[1] != PAY_LEDGER_OK))
        e = pay_error_set(err, PAY_ERR_INTERNAL, "", "%s", pay_ledger_result_name(m->r[0]));
    return e;
}

static enum pay_err submit(struct env *e, struct cmd *m)
{
    if (m->generic) {
        struct generic_run g = {e->lg, m};
        return pay_committer_submit(e->c, generic_body, &g, NULL);
    }
    struct pay_ledger_transfer copy = m->t[0];
    return pay_committer_transfers(e->c, &copy, 1, m->r, NULL);
}

struct worker {
    struct round_ctx *rc;
    int index;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct cmd *m = &w->rc->cmds[w->index];
    pthread_barrier_wait(w->rc->go);
    m->first = submit(w->rc->e, m);
    return NULL;
}

/* The plans, in order: the Nth write-or-fsync across a batch (sticky every third), the Nth
 * fsync, every read from the Nth on with a stale cache (the bodies' own statements fail),
 * then calls at random. */
struct plan_row {
    struct pay_fault_plan p;
    bool stale; /* have another connection write first, so that the bodies read the file */
};

static size_t plans(struct plan_row *out, size_t max)
{
    size_t n = 0;
    for (uint64_t k = 1; k <= 24 && n < max; k++)
        out[n++] = (struct plan_row){{.ops = PAY_FAULT_WRITE | PAY_FAULT_SYNC,
                                      .error = k % 2 ? PAY_FAULT_FULL : PAY_FAULT_IO,
                                      .nth = k,
                                      .sticky = k % 3 == 0},
                                     false};
    for (uint64_t k = 1; k <= 3 && n < max; k++)
        out[n++] = (struct plan_row){
            {.ops = PAY_FAULT_SYNC, .error = PAY_FAULT_IO, .nth = k, .sticky = false}, false};
    for (uint64_t k = 1; k <= 8 && n < max; k++)
        out[n++] = (struct plan_row){
            {.ops = PAY_FAULT_READ, .error = PAY_FAULT_IO, .nth = k, .sticky = true}, true};
    for (uint64_t k = 1; k <= 6 && n < max; k++)
        out[n++] = (struct plan_row){{.ops = PAY_FAULT_READ | PAY_FAULT_WRITE | PAY_FAULT_SYNC,
                                      .error = k % 2 ? PAY_FAULT_FULL : PAY_FAULT_IO,
                                      .one_in = 5,
                                      .seed = k},
                                     true};
    return n;
}

static void open_env(struct env *e)
{
    const struct pay_store_component *schema[] = {&pay_ledger_schema, &order_schema, NULL};
    struct pay_error err = {0};
    assert_int_equal(pay_store_open(e->path, NULL, schema, &e->s, &err), PAY_ERR_OK);
    assert_int_equal(pay_ledger_new(e->s, &e->lg, NULL), PAY_ERR_OK);
    /* no expiry scans of their own: every batch in a round carries commands */
    struct pay_committer_options o = {.expire_interval_ms = 3600 * 1000};
    assert_int_equal(pay_committer_start(e->lg, &o, &e->c, NULL), PAY_ERR_OK);
}

static void close_env(struct env *e)
{
    pay_committer_stop(e->c);
    pay_ledger_free(e->lg);
    pay_store_close(e->s);
    e->c = NULL;
    e->lg = NULL;
    e->s = NULL;
}

static void create_accounts(struct env *e)
{
    struct pay_ledger_account a[DESTS + 1];
    enum pay_ledger_result r[DESTS + 1];
    memset(a, 0, sizeof a);
    for (int i = 0; i <= DESTS; i++) {
        if (i == DESTS)
            snprintf(a[i].id, sizeof a[i].id, "src");
        else
            snprintf(a[i].id, sizeof a[i].id, "dst%d", i);
        memcpy(a[i].currency, "CNY", 4);
    }
    assert_int_equal(pay_committer_create_accounts(e->c, a, DESTS + 1, r, NULL), PAY_ERR_OK);
}

/* Another connection writes: the committer's connection must read the file again. */
static enum pay_err outside_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    return pay_store_exec(tx, err, "INSERT INTO fx_orders (id, amount_minor) VALUES ($1, 0)", "t",
                          (const char *)ctx);
}

static void touch_from_outside(struct env *e, int round)
{
    const struct pay_store_component *schema[] = {&pay_ledger_schema, &order_schema, NULL};
    struct pay_store *other = NULL;
    assert_int_equal(pay_store_open(e->path, NULL, schema, &other, NULL), PAY_ERR_OK);
    char id[32];
    snprintf(id, sizeof id, "outside-%d", round);
    assert_int_equal(pay_store_run_tx(other, outside_body, id, NULL), PAY_ERR_OK);
    pay_store_close(other);
}

static void run_round(struct env *e, int round, const struct plan_row *row, struct cmd *cmds,
                      int *failed_total)
{
    if (row->stale)
        touch_from_outside(e, round);
    for (int i = 0; i < THREADS; i++)
        cmd_init(&cmds[i], round, i);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, THREADS);
    struct round_ctx rc = {e, cmds, &go};
    struct worker w[THREADS];
    pthread_t th[THREADS];
    assert_int_equal(pay_fault_arm(&row->p, NULL), PAY_ERR_OK);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){&rc, i};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    struct pay_fault_state st;
    pay_fault_get(&st);
    pay_fault_clear(); /* the disk is back */
    int failed = 0;
    for (int i = 0; i < THREADS; i++) {
        struct cmd *m = &cmds[i];
        if (m->first == PAY_ERR_OK) {
            m->acked = true;
            assert_int_equal(m->r[0], PAY_LEDGER_OK);
            assert_false(m->existed);
            continue;
        }
        /* the storage failure, nothing else */
        if (m->first != PAY_ERR_DB_FULL && m->first != PAY_ERR_DB_UNAVAILABLE)
            fail_msg("round %d command %d: %s", round, i, pay_err_name(m->first));
        failed++;
    }
    /* each injected failure failed a batch, and every command of it heard so */
    if (st.injected > 0)
        assert_true(failed > 0);
    else
        assert_int_equal(failed, 0);
    *failed_total += failed;
    /* the clients retry with the same ids: exactly once */
    for (int i = 0; i < THREADS; i++) {
        struct cmd *m = &cmds[i];
        enum pay_err again = submit(e, m);
        assert_int_equal(again, PAY_ERR_OK);
        if (m->acked) { /* a repeat of an acknowledged command is a no-op */
            if (m->generic)
                assert_true(m->existed);
            else
                assert_int_equal(m->r[0], PAY_LEDGER_EXISTS);
        } else { /* done now, or done already by the failed batch (its data may be there) */
            if (!m->generic)
                assert_true(m->r[0] == PAY_LEDGER_OK || m->r[0] == PAY_LEDGER_EXISTS);
            m->acked = true;
        }
    }
}

/* What the database must hold after every round's commands landed exactly once. */
static void check_db(const char *path, struct cmd *all, int n_cmds)
{
    const struct pay_store_component *schema[] = {&pay_ledger_schema, &order_schema, NULL};
    struct pay_store *s = NULL;
    struct pay_ledger *lg = NULL;
    assert_int_equal(pay_store_open(path, NULL, schema, &s, NULL), PAY_ERR_OK);
    assert_int_equal(pay_ledger_new(s, &lg, NULL), PAY_ERR_OK);
    int64_t credit[DESTS] = {0}, total = 0;
    for (int i = 0; i < n_cmds; i++) {
        struct cmd *m = &all[i];
        assert_true(m->acked);
        for (int k = 0; k < (m->generic ? 2 : 1); k++) {
            struct pay_ledger_transfer t;
            bool found = false;
            assert_int_equal(pay_ledger_transfer_get(lg, m->t[k].id, &t, &found, NULL), PAY_ERR_OK);
            if (!found)
                fail_msg("%s: acknowledged transfer %s is missing", path, m->t[k].id);
            assert_int_equal(t.amount_minor, m->t[k].amount_minor);
            assert_string_equal(t.credit_account_id, m->t[k].credit_account_id);
            credit[(m->index + k) % DESTS] += t.amount_minor;
            total += t.amount_minor;
        }
    }
    for (int d = 0; d < DESTS; d++) {
        char id[8];
        snprintf(id, sizeof id, "dst%d", d);
        struct pay_ledger_account a;
        bool found = false;
        assert_int_equal(pay_ledger_account_get(lg, id, &a, &found, NULL), PAY_ERR_OK);
        assert_true(found);
        assert_int_equal(a.credits_posted, credit[d]); /* each transfer counted once */
    }
    struct pay_ledger_account src;
    bool found = false;
    assert_int_equal(pay_ledger_account_get(lg, "src", &src, &found, NULL), PAY_ERR_OK);
    assert_int_equal(src.debits_posted, total);
    size_t v = 99;
    assert_int_equal(pay_ledger_verify(s, stderr, &v, NULL), PAY_ERR_OK);
    assert_int_equal(v, 0);
    pay_ledger_free(lg);
    pay_store_close(s);
}

static void committer_through_failing_disk(void **state)
{
    (void)state;
    struct env e = {0};
    assert_int_equal(th_tmpdir(e.dir, sizeof e.dir, "paygate-lfaults"), 0);
    snprintf(e.path, sizeof e.path, "%s/l.db", e.dir);
    open_env(&e);
    create_accounts(&e);
    struct plan_row rows[64];
    size_t n_rows = plans(rows, 64);
    struct cmd *all = calloc(n_rows * THREADS, sizeof *all);
    assert_non_null(all);
    int failed = 0;
    for (size_t r = 0; r < n_rows; r++)
        run_round(&e, (int)r, &rows[r], &all[r * THREADS], &failed);
    fprintf(stderr, "ledger faults: %zu rounds, %zu commands, %d failed first\n", n_rows,
            n_rows * THREADS, failed);
    assert_true(failed >= (int)n_rows / 2); /* the plans did hit */
    /* the files as a crash now would leave them (the committer is idle: nothing half-written) */
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "cp %s/l.db %s/crash.db && (cp %s/l.db-wal %s/crash.db-wal || true)",
             e.dir, e.dir, e.dir, e.dir);
    assert_int_equal(system(cmd), 0);
    close_env(&e);
    char crash[320];
    snprintf(crash, sizeof crash, "%s/crash.db", e.dir);
    check_db(crash, all, (int)(n_rows * THREADS));
    check_db(e.path, all, (int)(n_rows * THREADS));
    free(all);
    th_tmpdir_done(e.dir);
}

int main(void)
{
    assert_int_equal(pay_store_faults_install(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(committer_through_failing_disk),
    };
    return th_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
