/* The single committer per process (docs/ledger.md, "The committer"): callers on any thread
 * queue a command and sleep (or, asynchronously, leave a callback); one thread takes everything
 * queued (up to batch_max), applies it in one write transaction (generic callbacks each in their
 * own savepoint, pure-ledger commands validated before they write), commits once, and only then
 * wakes the callers and runs the callbacks. Nobody hears an answer before the batch is durable.
 * Pending-transfer expiry runs in the same thread. */
#include "ledger/ledger_internal.h"

#include "core/assertions.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <time.h>

enum cmd_kind { CMD_APPLY, CMD_TRANSFERS, CMD_ACCOUNTS };

/* The callers of a batch wake each other as a tree: the committer wakes the first, and the
 * caller at position i wakes those at WAKE_FANOUT * i + 1 .. + WAKE_FANOUT. Waking 64 threads
 * one by one cost the committer ~0.5 ms per batch (its single thread bounds the rate); a tree
 * spreads the wake-ups over the callers, 6 levels deep for 64. */
#define WAKE_FANOUT 2

/* Lives on the submitting thread's stack until its semaphore is posted; an asynchronous one
 * (done != NULL) on the heap until its done callback has run. */
struct cmd {
    enum cmd_kind kind;
    pay_store_tx_fn fn;
    void *ctx;
    pay_committer_done_fn done; /* asynchronous: called instead of waking a caller */
    void *done_ctx;
    enum pay_err result;     /* CMD_APPLY: what fn returned in the last run */
    struct pay_error fn_err; /* ... and the error it filled */
    struct pay_ledger_transfer *transfers;
    struct pay_ledger_account *accounts;
    size_t n;
    enum pay_ledger_result *results;
    enum pay_err status;
    struct pay_error err;
    sem_t answered;                /* posted once status and err are final */
    struct cmd *wake[WAKE_FANOUT]; /* callers this one wakes before it returns */
    struct cmd *next;
};

struct pay_committer {
    struct pay_ledger *lg;
    size_t batch_max;
    int expire_interval_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work; /* queue non-empty or stopping */
    struct cmd *head, *tail;
    size_t queued;     /* commands in the queue */
    size_t last_batch; /* commands in the previous batch */
    bool stopping;
    struct cmd **batch;
    size_t n_batch;
    struct cmd *async_head;     /* the batch's asynchronous commands, in order */
    struct cmd **async_tail;    /* where the next one is linked */
    size_t gather_target;       /* commands the batch waits for (the previous batch's count) */
    struct timespec gather_end; /* ... until then (CLOCK_MONOTONIC) */
    int64_t last_expire_ms;
    size_t expired_in_batch; /* set by the batch body (which may run again on a retry) */
    /* Business time is pay_clock_now_ms(): a move of the test clock wakes the committer (its
     * mu and work) and the next batch scans for expired pending transfers at once. */
    struct pay_clock_worker clock;
    uint64_t scanned_moves, scanning_moves; /* clock moves as of the last scan / this batch's */
    struct pay_committer_stats stats;
};

static enum pay_err run_cmd(struct pay_committer *c, struct pay_store_tx *tx, struct cmd *m,
                            struct pay_error *err)
{
    switch (m->kind) {
    case CMD_TRANSFERS:
        return pay_ledger_tx_transfers(c->lg, tx, m->transfers, m->n, m->results, err);
    case CMD_ACCOUNTS:
        return pay_ledger_tx_create_accounts(c->lg, tx, m->accounts, m->n, m->results, err);
    case CMD_APPLY:
        break;
    }
    enum pay_err e = pay_store_savepoint(tx, err);
    if (e != PAY_ERR_OK)
        return e;
    m->fn_err = (struct pay_error){0};
    m->result = m->fn(tx, m->ctx, &m->fn_err);
    if (m->result != PAY_ERR_OK)
        m->fn_err.code = m->result; /* the caller hears exactly fn's code */
    /* A callback must close every savepoint it opened. */
    PAY_ASSERT(pay_store_savepoint_depth(tx) == 1);
    /* The answers of the statements it queued (pay_store_exec_deferred): one that failed is the
     * command's failure, rolled back below like any other. */
    m->result = pay_store_settle(tx, m->result, &m->fn_err);
    if (pay_store_retryable(m->result)) { /* the batch as a whole must run again */
        *err = m->fn_err;
        return m->result;
    }
    if (m->result == PAY_ERR_OK || pay_store_tx_kept(tx))
        return pay_store_release(tx, err);
    return pay_store_rollback_to(tx, err);
}

/* Moves queued commands into the batch (up to batch_max). Called with mu held. */
static void take_queued(struct pay_committer *c)
{
    size_t taken = 0;
    while (c->head && c->n_batch < c->batch_max) {
        struct cmd *m = c->head;
        c->batch[c->n_batch++] = m;
        c->head = m->next;
        taken++;
        if (m->done != NULL) { /* kept in a list of their own for finish_batch */
            *c->async_tail = m;
            c->async_tail = &m->next;
            m->next = NULL;
        }
    }
    c->queued -= taken;
    if (!c->head)
        c->tail = NULL;
}

/* The gather window, inside the batch's transaction: the callers of the previous batch are
 * still being woken when it starts, so wait up to GATHER_US for as many commands as last time
 * (batches stay large: one fsync for more commands; a lone caller, last batch of 1, never
 * waits). The commands taken so far are applied while the others arrive, so on 2 cores the
 * committer's work overlaps the callers' (measured: docs/performance.md, round 4). Returns
 * whether it took more. */
#define GATHER_US 500
static bool gather_more(struct pay_committer *c)
{
    pthread_mutex_lock(&c->mu);
    size_t had = c->n_batch;
    while (!c->head && c->n_batch < c->gather_target && !c->stopping)
        if (pthread_cond_timedwait(&c->work, &c->mu, &c->gather_end) != 0)
            break;
    take_queued(c);
    pthread_mutex_unlock(&c->mu);
    return c->n_batch > had;
}

/* Runs every command taken (all again when the transaction is retried) and those that arrive
 * in the gather window, then the expiry scan. */
static enum pay_err batch_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pay_committer *c = ctx;
    enum pay_err e = ledger_begin(c->lg, tx, err);
    for (size_t i = 0; e == PAY_ERR_OK;) {
        for (; i < c->n_batch && e == PAY_ERR_OK; i++)
            e = run_cmd(c, tx, c->batch[i], err);
        if (e != PAY_ERR_OK || c->n_batch == c->batch_max || !gather_more(c))
            break;
    }
    int64_t now = pay_clock_now_ms();
    c->expired_in_batch = 0;
    c->scanning_moves = c->scanned_moves;
    /* now is business time, which expiry deadlines use; if it went back, or a test moved it,
     * scan now rather than after the interval. */
    uint64_t moves = atomic_load(&c->clock.seen);
    if (e == PAY_ERR_OK && (now - c->last_expire_ms >= c->expire_interval_ms ||
                            now < c->last_expire_ms || moves != c->scanned_moves)) {
        size_t n = 0;
        e = pay_ledger_tx_expire(c->lg, tx, now, c->batch_max, &n, err);
        if (e == PAY_ERR_OK) {
            c->last_expire_ms = now;
            c->expired_in_batch = n;
            c->scanning_moves = moves;
        }
    }
    return e;
}

/* Answers every command of the batch: sets the outcomes and the wake-up tree of the waiting
 * callers, wakes the first of them (see WAKE_FANOUT), then calls the done callback of every
 * asynchronous command and frees it. A waiting caller's command is not touched after the
 * wake-up: its caller may return at once. */
static void finish_batch(struct pay_committer *c, enum pay_err e, const struct pay_error *err)
{
    pthread_mutex_lock(&c->mu);
    if (e == PAY_ERR_OK) {
        c->stats.batches++;
        c->stats.commands += c->n_batch;
        c->stats.expired += c->expired_in_batch;
        c->scanned_moves = c->scanning_moves;
    }
    pthread_mutex_unlock(&c->mu);
    size_t n = c->n_batch, waiting = 0;
    for (size_t i = 0; i < n; i++) {
        struct cmd *m = c->batch[i];
        m->status = e;
        m->err = e == PAY_ERR_OK ? (struct pay_error){0} : *err;
        if (e == PAY_ERR_OK && m->kind == CMD_APPLY && m->result != PAY_ERR_OK) {
            m->status = m->result; /* the batch committed; this command refused */
            m->err = m->fn_err;
        }
        if (m->done == NULL) /* the waiting callers, in order, form the tree */
            c->batch[waiting++] = m;
    }
    for (size_t i = 0; i < waiting; i++)
        for (size_t k = 0; k < WAKE_FANOUT; k++) {
            size_t child = WAKE_FANOUT * i + 1 + k;
            c->batch[i]->wake[k] = child < waiting ? c->batch[child] : NULL;
        }
    if (waiting > 0)
        sem_post(&c->batch[0]->answered);
    for (struct cmd *m = c->async_head, *next; m != NULL; m = next) {
        next = m->next;
        m->done(m->done_ctx, m->status, &m->err);
        free(m);
    }
    c->async_head = NULL;
}

/* Every timed wait here is on CLOCK_MONOTONIC (pay_clock_cond_init in pay_committer_start): a
 * deadline from the wall clock would stretch by however far the system clock is stepped back
 * while we wait (issue 11: 15 s stalls). */

static void *committer_main(void *arg)
{
    struct pay_committer *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->head && !c->stopping)
            if (pay_clock_worker_sleep(&c->clock, c->expire_interval_ms))
                break; /* the interval is over or the clock moved: scan for expired transfers */
        if (!c->head && c->stopping)
            break;
        c->n_batch = 0;
        c->async_head = NULL;
        c->async_tail = &c->async_head;
        c->gather_target = c->last_batch;
        c->gather_end = pay_clock_deadline_us(GATHER_US);
        take_queued(c);
        pthread_mutex_unlock(&c->mu);
        pay_clock_worker_begin(&c->clock);
        struct pay_error err = {0};
        enum pay_err e = pay_store_run_tx(pay_ledger_store(c->lg), batch_body, c, &err);
        if (e != PAY_ERR_OK)
            PAY_ERROR("ledger.batch_failed", "commands=%zu code=%s detail=\"%s\"", c->n_batch,
                      pay_err_name(e), err.detail);
        c->last_batch = c->n_batch;
        finish_batch(c, e, &err);
        pay_clock_worker_end(&c->clock);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

enum pay_err pay_committer_start(struct pay_ledger *lg, const struct pay_committer_options *opts,
                                 struct pay_committer **out, struct pay_error *err)
{
    struct pay_committer *c = calloc(1, sizeof *c);
    if (!c)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    c->lg = lg;
    c->batch_max = opts && opts->batch_max ? opts->batch_max : PAY_LEDGER_BATCH_MAX;
    c->expire_interval_ms = opts && opts->expire_interval_ms > 0 ? opts->expire_interval_ms : 1000;
    c->batch = calloc(c->batch_max, sizeof *c->batch);
    if (!c->batch) {
        free(c);
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    }
    pthread_mutex_init(&c->mu, NULL);
    pay_clock_cond_init(&c->work);
    pay_clock_worker_add(&c->clock, "committer", &c->mu, &c->work);
    if (pthread_create(&c->thread, NULL, committer_main, c) != 0) {
        pay_clock_worker_remove(&c->clock);
        free(c->batch);
        free(c);
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot start the committer thread");
    }
    /* Named before we return, for top, perf and bench/ledger (which reads its CPU time). */
    pthread_setname_np(c->thread, "pay-committer");
    *out = c;
    return PAY_ERR_OK;
}

void pay_committer_stop(struct pay_committer *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stopping = true;
    pthread_cond_signal(&c->work);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pay_clock_worker_remove(&c->clock); /* before its mutex goes */
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->work);
    free(c->batch);
    free(c);
}

/* Queues m; UNAVAILABLE (and nothing queued) when the committer is stopping. */
static enum pay_err enqueue(struct pay_committer *c, struct cmd *m, struct pay_error *err)
{
    pthread_mutex_lock(&c->mu);
    if (c->stopping) {
        pthread_mutex_unlock(&c->mu);
        return pay_error_set(err, PAY_ERR_UNAVAILABLE, "", "the committer is stopping");
    }
    m->next = NULL;
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
    c->queued++;
    pthread_cond_signal(&c->work);
    pthread_mutex_unlock(&c->mu);
    return PAY_ERR_OK;
}

/* Queues m and sleeps until its batch has been committed (or has failed), then wakes the
 * callers m->wake names. */
static enum pay_err submit(struct pay_committer *c, struct cmd *m, struct pay_error *err)
{
    if (sem_init(&m->answered, 0, 0) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "sem_init failed");
    enum pay_err e = enqueue(c, m, err);
    if (e != PAY_ERR_OK) {
        sem_destroy(&m->answered);
        return e;
    }
    while (sem_wait(&m->answered) != 0)
        PAY_ASSERT(errno == EINTR);
    for (size_t k = 0; k < WAKE_FANOUT; k++)
        if (m->wake[k])
            sem_post(&m->wake[k]->answered);
    sem_destroy(&m->answered);
    if (err)
        *err = m->status == PAY_ERR_OK ? (struct pay_error){0} : m->err;
    return m->status;
}

enum pay_err pay_committer_submit(struct pay_committer *c, pay_store_tx_fn fn, void *ctx,
                                  struct pay_error *err)
{
    PAY_ASSERT(fn);
    struct cmd m = {.kind = CMD_APPLY, .fn = fn, .ctx = ctx};
    return submit(c, &m, err);
}

enum pay_err pay_committer_submit_async(struct pay_committer *c, pay_store_tx_fn fn, void *ctx,
                                        pay_committer_done_fn done, void *done_ctx,
                                        struct pay_error *err)
{
    PAY_ASSERT(fn && done);
    struct cmd *m = calloc(1, sizeof *m);
    if (m == NULL)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    *m = (struct cmd){.kind = CMD_APPLY, .fn = fn, .ctx = ctx, .done = done, .done_ctx = done_ctx};
    enum pay_err e = enqueue(c, m, err);
    if (e != PAY_ERR_OK)
        free(m);
    return e;
}

enum pay_err pay_committer_transfers(struct pay_committer *c, struct pay_ledger_transfer *t,
                                     size_t n, enum pay_ledger_result *results,
                                     struct pay_error *err)
{
    struct cmd m = {.kind = CMD_TRANSFERS, .transfers = t, .n = n, .results = results};
    return submit(c, &m, err);
}

enum pay_err pay_committer_create_accounts(struct pay_committer *c, struct pay_ledger_account *a,
                                           size_t n, enum pay_ledger_result *results,
                                           struct pay_error *err)
{
    struct cmd m = {.kind = CMD_ACCOUNTS, .accounts = a, .n = n, .results = results};
    return submit(c, &m, err);
}

void pay_committer_get_stats(struct pay_committer *c, struct pay_committer_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->stats;
    pthread_mutex_unlock(&c->mu);
}
