/* The backend-neutral half of the store: connection pools (one writer, N readers), the
 * prepared-statement cache, the one retry loop for transactions, savepoints with observers,
 * parameter binding and numbered per-component migrations. */
#include "store/store.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "store/store_backend.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

struct cache_entry;

struct pay_store_stmt {
    struct conn *conn;
    void *raw;
    struct cache_entry *entry; /* NULL: not cached, finalised by pay_store_done */
    bool in_order;             /* parameter $n is the backend's position n */
};

struct cache_entry {
    char *sql;
    const char *key; /* the caller's pointer last seen for sql: a lookup without hashing */
    uint64_t hash;
    uint64_t last_used;
    bool in_use;
    struct pay_store_stmt stmt;
};

/* The transaction-control statements of a connection (struct conn.control). */
enum control { CONTROL_BEGIN_READ, CONTROL_BEGIN_WRITE, CONTROL_COMMIT, CONTROL_N };

struct conn {
    const struct pay_store_backend *be;
    void *raw; /* NULL: closed after a storage failure and not reopened yet */
    bool writer;
    bool busy; /* readers: lent out */
    /* The first storage failure (pay_store_failure) seen since the transaction began, and its
     * detail: the transaction cannot commit, and the connection is reopened after it. */
    struct pay_error failed;
    struct cache_entry *cache[PAY_STORE_STMT_CACHE_MAX];
    size_t cached;
    uint64_t tick;
    /* BEGIN and COMMIT, prepared on first use and kept until the connection closes (outside
     * the cache: they are in every transaction and must never be evicted) */
    void *control[CONTROL_N];
    /* The last statement was pay_store_exec_deferred: pay_store_changes has no answer yet. */
    bool changes_unknown;
    /* The first pay_store_exec_deferred that failed at once (SQLite runs them at once) since the
     * last pay_store_settle: the body's failure all the same, on both backends. */
    struct pay_error deferred_failed;
};

struct hook_slot {
    const struct pay_store_tx_hooks *hooks;
    void *ctx;
};

struct pay_store_tx {
    struct pay_store *s;
    struct conn *c;
    bool write;
    int depth;
    uint64_t kept; /* bit d: pay_store_keep was called at savepoint depth d */
    struct hook_slot hooks[PAY_STORE_TX_HOOKS_MAX];
    int n_hooks;
    uint64_t generation; /* write transactions: see pay_store_tx_generation */
};

struct pay_store {
    const struct pay_store_backend *be;
    char *path;
    int busy_timeout_ms;
    bool no_sync;
    struct conn writer;
    uint64_t write_generation; /* under writer_lock */
    int64_t data_version;      /* the writer connection's last seen, under writer_lock */
    pthread_mutex_t writer_lock;
    struct conn *readers;
    int n_readers;
    pthread_mutex_t readers_lock;
    pthread_cond_t readers_free;
    struct pay_store_stats stats; /* updated with __atomic builtins */
    int serve_lock_fd;            /* pay_store_serve_alone's lock + 1; 0: none */
};

static void stat_add(uint64_t *p, uint64_t n)
{
    __atomic_fetch_add(p, n, __ATOMIC_RELAXED);
}

bool pay_store_failure(enum pay_err code)
{
    return code == PAY_ERR_DB_FULL || code == PAY_ERR_DB_UNAVAILABLE || code == PAY_ERR_DB_IO ||
           code == PAY_ERR_DB_UNREACHABLE;
}

/* Remembers the first storage failure on c (see struct conn.failed). Returns e. */
static enum pay_err note(struct conn *c, enum pay_err e, const struct pay_error *err)
{
    if (pay_store_failure(e) && c->failed.code == PAY_ERR_OK) {
        c->failed = err && err->code == e ? *err : (struct pay_error){.code = e};
        c->failed.code = e;
    }
    return e;
}

static uint64_t hash_sql(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* --- statement cache --------------------------------------------------------------------- */

static void cache_evict_lru(struct pay_store *s, struct conn *c)
{
    size_t victim = SIZE_MAX;
    for (size_t i = 0; i < c->cached; i++)
        if (!c->cache[i]->in_use &&
            (victim == SIZE_MAX || c->cache[i]->last_used < c->cache[victim]->last_used))
            victim = i;
    if (victim == SIZE_MAX)
        return; /* all in use: the new statement goes uncached */
    struct cache_entry *e = c->cache[victim];
    s->be->finalize(e->stmt.raw);
    free(e->sql);
    free(e);
    c->cache[victim] = c->cache[--c->cached];
}

static struct pay_store_stmt *stmt_get(struct pay_store *s, struct conn *c, const char *sql,
                                       struct pay_error *err)
{
    /* Callers pass the same string constant each time: try its address first (confirmed by
     * strcmp, since a caller may reuse a buffer), then the hash of the text. */
    for (size_t i = 0; i < c->cached; i++) {
        struct cache_entry *e = c->cache[i];
        if (e->key == sql && !e->in_use && strcmp(e->sql, sql) == 0) {
            e->in_use = true;
            e->last_used = ++c->tick;
            stat_add(&s->stats.cache_hits, 1);
            return &e->stmt;
        }
    }
    uint64_t h = hash_sql(sql);
    for (size_t i = 0; i < c->cached; i++) {
        struct cache_entry *e = c->cache[i];
        if (e->hash == h && !e->in_use && strcmp(e->sql, sql) == 0) {
            e->key = sql;
            e->in_use = true;
            e->last_used = ++c->tick;
            stat_add(&s->stats.cache_hits, 1);
            return &e->stmt;
        }
    }
    void *raw = s->be->prepare(c->raw, sql, err);
    if (!raw) {
        note(c, err->code, err);
        return NULL;
    }
    stat_add(&s->stats.prepares, 1);
    bool in_order = s->be->params_in_order(raw);
    if (c->cached == PAY_STORE_STMT_CACHE_MAX)
        cache_evict_lru(s, c);
    struct cache_entry *e = calloc(1, sizeof *e);
    char *copy = strdup(sql);
    if (!e || !copy || c->cached == PAY_STORE_STMT_CACHE_MAX) {
        free(e);
        free(copy);
        struct pay_store_stmt *st = malloc(sizeof *st);
        if (!st) {
            s->be->finalize(raw);
            pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
            return NULL;
        }
        *st = (struct pay_store_stmt){.conn = c, .raw = raw, .entry = NULL, .in_order = in_order};
        return st;
    }
    *e = (struct cache_entry){
        .sql = copy, .key = sql, .hash = h, .last_used = ++c->tick, .in_use = true};
    e->stmt = (struct pay_store_stmt){.conn = c, .raw = raw, .entry = e, .in_order = in_order};
    c->cache[c->cached++] = e;
    return &e->stmt;
}

static void conn_close(struct pay_store *s, struct conn *c)
{
    for (size_t i = 0; i < c->cached; i++) {
        PAY_ASSERT(!c->cache[i]->in_use);
        s->be->finalize(c->cache[i]->stmt.raw);
        free(c->cache[i]->sql);
        free(c->cache[i]);
    }
    c->cached = 0;
    for (int i = 0; i < CONTROL_N; i++)
        if (c->control[i])
            s->be->finalize(c->control[i]);
    memset(c->control, 0, sizeof c->control);
    if (c->raw)
        s->be->conn_close(c->raw);
    c->raw = NULL;
}

static const struct pay_store_backend *be_of(const struct pay_store_stmt *st)
{
    return st->conn->be;
}

void pay_store_done(struct pay_store_stmt *st)
{
    if (!st)
        return;
    be_of(st)->reset(st->raw);
    if (st->entry) {
        PAY_ASSERT(st->entry->in_use);
        st->entry->in_use = false;
    } else {
        be_of(st)->finalize(st->raw);
        free(st);
    }
}

/* --- queries ----------------------------------------------------------------------------- */

static enum pay_err bind_args(const struct pay_store_backend *be, const struct pay_store_stmt *st,
                              const char *types, va_list ap)
{
    enum pay_err e = PAY_ERR_OK;
    void *raw = st->raw;
    for (int i = 0; types && types[i] && e == PAY_ERR_OK; i++) {
        int pos = st->in_order ? i + 1 : be->param_slot(raw, i + 1);
        switch (types[i]) {
        case 'i':
            e = be->bind_int64(raw, pos, va_arg(ap, int64_t));
            break;
        case 't':
            e = be->bind_text(raw, pos, va_arg(ap, const char *));
            break;
        case 'b': {
            const void *p = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            e = be->bind_blob(raw, pos, p, n);
            break;
        }
        case 'n':
            e = be->bind_null(raw, pos);
            break;
        default:
            PAY_ASSERT_MSG(false, "pay_store_query: unknown type letter");
            e = PAY_ERR_INTERNAL;
        }
    }
    return e;
}

static struct pay_store_stmt *vquery(struct pay_store_tx *tx, struct pay_error *err,
                                     const char *sql, const char *types, va_list ap)
{
    PAY_ASSERT(tx && sql);
    struct pay_error local;
    if (!err)
        err = &local;
    if (tx->c->failed.code != PAY_ERR_OK) { /* nothing more on a connection that failed */
        *err = tx->c->failed;
        return NULL;
    }
    struct pay_store_stmt *st = stmt_get(tx->s, tx->c, sql, err);
    if (!st)
        return NULL;
    enum pay_err e = bind_args(tx->s->be, st, types, ap);
    if (e != PAY_ERR_OK) {
        pay_store_done(st);
        pay_error_set(err, e, "", "binding parameters of: %.80s", sql);
        return NULL;
    }
    return st;
}

struct pay_store_stmt *pay_store_query(struct pay_store_tx *tx, struct pay_error *err,
                                       const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    struct pay_store_stmt *st = vquery(tx, err, sql, types, ap);
    va_end(ap);
    return st;
}

enum pay_err pay_store_exec(struct pay_store_tx *tx, struct pay_error *err, const char *sql,
                            const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    struct pay_store_stmt *st = vquery(tx, err, sql, types, ap);
    va_end(ap);
    if (!st)
        return err ? err->code : PAY_ERR_INTERNAL;
    struct pay_error local;
    struct pay_error *e = err ? err : &local;
    int rc;
    while ((rc = pay_store_step(st, e)) == 1)
        ;
    pay_store_done(st);
    return rc == 0 ? PAY_ERR_OK : e->code;
}

/* Queues (or, on a backend that does not queue, runs) a statement whose answer is not needed
 * now: store.h. A read transaction has nothing to gain from it and runs it at once. */
enum pay_err pay_store_exec_deferred(struct pay_store_tx *tx, struct pay_error *err,
                                     const char *sql, const char *types, ...)
{
    struct pay_error local;
    struct pay_error *e = err ? err : &local;
    va_list ap;
    va_start(ap, types);
    struct pay_store_stmt *st = vquery(tx, e, sql, types, ap);
    va_end(ap);
    if (!st)
        return e->code;
    const struct pay_store_backend *be = tx->s->be;
    int rc;
    if (tx->write && be->step_deferred) {
        rc = be->step_deferred(st->raw, e);
        if (rc < 0)
            note(tx->c, e->code, e);
    } else {
        while ((rc = pay_store_step(st, e)) == 1)
            ;
    }
    if (rc < 0 && tx->write && tx->c->deferred_failed.code == PAY_ERR_OK)
        tx->c->deferred_failed = *e;
    pay_store_done(st);
    tx->c->changes_unknown = true;
    return rc == 0 ? PAY_ERR_OK : e->code;
}

int pay_store_step(struct pay_store_stmt *st, struct pay_error *err)
{
    struct pay_error local;
    struct pay_error *e = err ? err : &local;
    st->conn->changes_unknown = false;
    int rc = be_of(st)->step(st->raw, e);
    if (rc < 0)
        note(st->conn, e->code, e);
    return rc;
}

int64_t pay_store_col_int64(struct pay_store_stmt *st, int col)
{
    return be_of(st)->col_int64(st->raw, col);
}

const char *pay_store_col_text(struct pay_store_stmt *st, int col)
{
    return be_of(st)->col_text(st->raw, col);
}

bool pay_store_col_copy(struct pay_store_stmt *st, int col, char *dst, size_t size)
{
    PAY_ASSERT(size > 0);
    const char *t = be_of(st)->col_text(st->raw, col);
    return pay_str_copy(dst, size, t);
}

const void *pay_store_col_blob(struct pay_store_stmt *st, int col, size_t *len)
{
    return be_of(st)->col_blob(st->raw, col, len);
}

bool pay_store_col_is_null(struct pay_store_stmt *st, int col)
{
    return be_of(st)->col_is_null(st->raw, col);
}

int64_t pay_store_changes(struct pay_store_tx *tx)
{
    PAY_ASSERT_MSG(!tx->c->changes_unknown, "pay_store_changes after pay_store_exec_deferred");
    return tx->s->be->changes(tx->c->raw);
}

bool pay_store_last_insert_rid(struct pay_store_tx *tx, int64_t *rid)
{
    if (!tx->s->be->last_insert_rid)
        return false;
    *rid = tx->s->be->last_insert_rid(tx->c->raw);
    return true;
}

bool pay_store_tx_is_write(const struct pay_store_tx *tx)
{
    return tx->write;
}

struct pay_store *pay_store_tx_store(struct pay_store_tx *tx)
{
    return tx->s;
}

void pay_store_get_stats(struct pay_store *s, struct pay_store_stats *out)
{
    out->prepares = __atomic_load_n(&s->stats.prepares, __ATOMIC_RELAXED);
    out->cache_hits = __atomic_load_n(&s->stats.cache_hits, __ATOMIC_RELAXED);
    out->commits = __atomic_load_n(&s->stats.commits, __ATOMIC_RELAXED);
    out->retries = __atomic_load_n(&s->stats.retries, __ATOMIC_RELAXED);
    out->reopens = __atomic_load_n(&s->stats.reopens, __ATOMIC_RELAXED);
}

bool pay_store_retryable(enum pay_err code)
{
    return code == PAY_ERR_DB_BUSY;
}

enum pay_err pay_store_keep(struct pay_store_tx *tx, enum pay_err code)
{
    PAY_ASSERT(code != PAY_ERR_OK && !pay_store_retryable(code));
    PAY_ASSERT(tx->depth <= PAY_STORE_KEEP_DEPTH_MAX);
    tx->kept |= UINT64_C(1) << tx->depth;
    return code;
}

bool pay_store_tx_kept(const struct pay_store_tx *tx)
{
    return tx->depth <= PAY_STORE_KEEP_DEPTH_MAX && (tx->kept >> tx->depth & 1u) != 0;
}

/* A savepoint level ends: what was kept inside it is the outer level's business now. */
static void forget_keep(struct pay_store_tx *tx)
{
    if (tx->depth <= PAY_STORE_KEEP_DEPTH_MAX)
        tx->kept &= ~(UINT64_C(1) << tx->depth);
}

/* Collects the answers of the statements queued so far (one round trip when any is) and takes
 * the first failure among them since the last collection into *why: OK when none failed. */
static enum pay_err collect(struct pay_store_tx *tx, struct pay_error *why)
{
    const struct pay_store_backend *be = tx->s->be;
    *why = tx->c->deferred_failed;
    tx->c->deferred_failed = (struct pay_error){0};
    struct pay_error queued = {0};
    if (tx->write && be->settle && tx->c->raw &&
        note(tx->c, be->settle(tx->c->raw, &queued), &queued) != PAY_ERR_OK &&
        why->code == PAY_ERR_OK)
        *why = queued;
    return why->code;
}

enum pay_err pay_store_settle(struct pay_store_tx *tx, enum pay_err body, struct pay_error *err)
{
    struct pay_error why;
    enum pay_err e = collect(tx, &why);
    if (e == PAY_ERR_OK || pay_store_retryable(body) || pay_store_failure(body))
        return body; /* nothing failed; or the transaction is lost anyway */
    forget_keep(tx); /* a kept refusal is not kept: its body failed */
    if (err)
        *err = why;
    return e;
}

/* --- savepoints and observers ------------------------------------------------------------ */

enum pay_err pay_store_tx_observe(struct pay_store_tx *tx, const struct pay_store_tx_hooks *hooks,
                                  void *ctx, struct pay_error *err)
{
    PAY_ASSERT(tx->write);
    for (int i = 0; i < tx->n_hooks; i++)
        if (tx->hooks[i].hooks == hooks && tx->hooks[i].ctx == ctx)
            return PAY_ERR_OK;
    if (tx->n_hooks == PAY_STORE_TX_HOOKS_MAX)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "too many transaction observers");
    tx->hooks[tx->n_hooks++] = (struct hook_slot){hooks, ctx};
    return PAY_ERR_OK;
}

enum pay_err pay_store_savepoint(struct pay_store_tx *tx, struct pay_error *err)
{
    PAY_ASSERT(tx->write);
    /* Queued statements belong to the level they were sent in: their answers come first, and a
     * failure among them stays that level's (for its end) and is this call's error too. */
    struct pay_error why;
    if (collect(tx, &why) != PAY_ERR_OK) {
        tx->c->deferred_failed = why;
        if (err)
            *err = why;
        return why.code;
    }
    enum pay_err e = pay_store_exec(tx, err, "SAVEPOINT pay_sp", NULL);
    if (e != PAY_ERR_OK)
        return e;
    tx->depth++;
    forget_keep(tx); /* a new level starts unmarked */
    for (int i = 0; i < tx->n_hooks; i++)
        if (tx->hooks[i].hooks->savepoint)
            tx->hooks[i].hooks->savepoint(tx->hooks[i].ctx, tx->depth);
    return PAY_ERR_OK;
}

/* The innermost savepoint level has ended: kept (released) or rolled back. */
static void level_ended(struct pay_store_tx *tx, bool kept)
{
    for (int i = 0; i < tx->n_hooks; i++) {
        const struct pay_store_tx_hooks *h = tx->hooks[i].hooks;
        if (kept && h->release)
            h->release(tx->hooks[i].ctx, tx->depth);
        else if (!kept && h->rollback_to)
            h->rollback_to(tx->hooks[i].ctx, tx->depth);
    }
    forget_keep(tx);
    tx->depth--;
}

/* A RELEASE or ROLLBACK TO that failed ends its level anyway, in memory as rolled back (so that
 * the callers' nesting stays straight), and the caller hears why: after a storage failure, or
 * a lost connection (a PostgreSQL server that died or failed over, DB_BUSY), the transaction
 * is lost whatever happens to its savepoints, and a level whose end failed cannot be used
 * again. */
static enum pay_err level_failed(struct pay_store_tx *tx, enum pay_err e)
{
    level_ended(tx, false);
    return e;
}

static enum pay_err rollback_level(struct pay_store_tx *tx, struct pay_error *err);

/* A statement the level queued that failed (pay_store_exec_deferred) makes the release a roll
 * back: the level's failure, as if that statement had failed at once and the body returned it. */
enum pay_err pay_store_release(struct pay_store_tx *tx, struct pay_error *err)
{
    PAY_ASSERT(tx->depth > 0);
    struct pay_error why;
    if (collect(tx, &why) != PAY_ERR_OK) {
        bool lost = pay_store_failure(why.code) || pay_store_retryable(why.code);
        enum pay_err e = lost ? level_failed(tx, why.code) : rollback_level(tx, err);
        if (e != PAY_ERR_OK && !lost)
            return e; /* the roll back failed too: its error */
        if (err)
            *err = why;
        return why.code;
    }
    enum pay_err e = pay_store_exec(tx, err, "RELEASE SAVEPOINT pay_sp", NULL);
    if (e != PAY_ERR_OK)
        return level_failed(tx, e);
    level_ended(tx, true);
    return PAY_ERR_OK;
}

/* What the level queued is undone with it: its answers are read first (a ROLLBACK TO in their
 * pipeline would not run after a failure among them), and a failure among them forgotten. */
enum pay_err pay_store_rollback_to(struct pay_store_tx *tx, struct pay_error *err)
{
    PAY_ASSERT(tx->depth > 0);
    struct pay_error why;
    if (collect(tx, &why) != PAY_ERR_OK &&
        (pay_store_failure(why.code) || pay_store_retryable(why.code))) {
        if (err)
            *err = why;
        return level_failed(tx, why.code); /* lost anyway */
    }
    return rollback_level(tx, err);
}

static enum pay_err rollback_level(struct pay_store_tx *tx, struct pay_error *err)
{
    enum pay_err e = pay_store_exec(tx, err, "ROLLBACK TO SAVEPOINT pay_sp", NULL);
    if (e == PAY_ERR_OK)
        e = pay_store_exec(tx, err, "RELEASE SAVEPOINT pay_sp", NULL);
    if (e != PAY_ERR_OK)
        return level_failed(tx, e);
    level_ended(tx, false);
    return PAY_ERR_OK;
}

int pay_store_savepoint_depth(const struct pay_store_tx *tx)
{
    return tx->depth;
}

/* --- transactions ------------------------------------------------------------------------ */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void end_tx(struct pay_store_tx *tx, bool committed)
{
    if (!committed) {
        struct pay_error ignored;
        tx->s->be->exec_script(tx->c->raw, "ROLLBACK", &ignored);
    }
    for (int i = 0; i < tx->n_hooks; i++)
        if (tx->hooks[i].hooks->after_end)
            tx->hooks[i].hooks->after_end(tx->hooks[i].ctx, committed);
}

static enum pay_err before_commit(struct pay_store_tx *tx, struct pay_error *err)
{
    for (int i = 0; i < tx->n_hooks; i++)
        if (tx->hooks[i].hooks->before_commit) {
            enum pay_err e = tx->hooks[i].hooks->before_commit(tx, tx->hooks[i].ctx, err);
            if (e != PAY_ERR_OK)
                return e;
        }
    return PAY_ERR_OK;
}

/* Numbers the write transaction just begun; skips a number when another connection wrote
 * since the last one (its changes are invisible to the statement counter). */
static enum pay_err number_write(struct pay_store_tx *tx, struct pay_error *err)
{
    struct pay_store *s = tx->s;
    uint64_t step = 1;
    if (s->be->data_version_sql) {
        struct pay_store_stmt *st = stmt_get(s, tx->c, s->be->data_version_sql, err);
        if (!st)
            return err->code;
        int rc = pay_store_step(st, err);
        int64_t v = rc == 1 ? pay_store_col_int64(st, 0) : 0;
        pay_store_done(st);
        if (rc != 1)
            return rc < 0 ? err->code : pay_error_set(err, PAY_ERR_INTERNAL, "", "no data_version");
        int64_t expect = s->data_version + (s->be->data_version_counts_writes ? 1 : 0);
        step = v == expect ? 1 : 2;
        s->data_version = v;
    } else {
        step = 2; /* cannot tell: never claim continuity */
    }
    s->write_generation += step;
    tx->generation = s->write_generation;
    return PAY_ERR_OK;
}

uint64_t pay_store_tx_generation(const struct pay_store_tx *tx)
{
    return tx->generation;
}

/* Runs one statement without parameters on tx's connection, remembering a storage failure. */
static enum pay_err script(struct pay_store_tx *tx, const char *sql, struct pay_error *err)
{
    return note(tx->c, tx->s->be->exec_script(tx->c->raw, sql, err), err);
}

/* Runs BEGIN or COMMIT on tx's connection, remembering a storage failure. Prepared once per
 * connection: sqlite3_exec parsed the text again for every transaction, ~4% of a payment's
 * CPU with three read transactions per payment (docs/performance.md). */
static enum pay_err control(struct pay_store_tx *tx, enum control which, const char *sql,
                            struct pay_error *err)
{
    const struct pay_store_backend *be = tx->s->be;
    /* PostgreSQL's BEGIN and COMMIT are its backend's script: its BEGIN of a write records the
     * transaction's id and its COMMIT asks the server whether a commit whose answer was lost
     * happened (store_pg.c); a prepared statement's step would take a lost COMMIT for "not
     * committed" and let the retry apply the batch twice. */
    if (be->dialect == PAY_STORE_POSTGRESQL)
        return script(tx, sql, err);
    void **stmt = &tx->c->control[which];
    if (*stmt == NULL && (*stmt = be->prepare(tx->c->raw, sql, err)) == NULL)
        return note(tx->c, err->code, err);
    int rc = be->step(*stmt, err);
    be->reset(*stmt);
    return note(tx->c, rc < 0 ? err->code : PAY_ERR_OK, err);
}

/* COMMIT, after the observers' before_commit; false (and *err, the code in *body) when either
 * failed. */
static bool commit(struct pay_store_tx *tx, enum pay_err *body, struct pay_error *err)
{
    struct pay_error cerr = {0};
    enum pay_err e = tx->write ? before_commit(tx, &cerr) : PAY_ERR_OK;
    if (e == PAY_ERR_OK)
        e = control(tx, CONTROL_COMMIT, "COMMIT", &cerr);
    if (e == PAY_ERR_OK)
        return true;
    *body = e;
    *err = cerr;
    return false;
}

/* One attempt: BEGIN, body, COMMIT (or ROLLBACK). Returns the body's code (OK once committed)
 * or the store's, with *err filled. A storage failure on the connection at any point wins over
 * whatever the body made of it: nothing commits, and the caller hears the failure. */
static enum pay_err attempt(struct pay_store_tx *tx, pay_store_tx_fn fn, void *ctx,
                            struct pay_error *err)
{
    const struct pay_store_backend *be = tx->s->be;
    enum pay_err e = tx->write ? control(tx, CONTROL_BEGIN_WRITE, be->begin_write_sql, err)
                               : control(tx, CONTROL_BEGIN_READ, be->begin_read_sql, err);
    if (e == PAY_ERR_OK && tx->write && (e = number_write(tx, err)) != PAY_ERR_OK)
        be->exec_script(tx->c->raw, "ROLLBACK", &(struct pay_error){0});
    if (e != PAY_ERR_OK)
        return e;
    tx->c->deferred_failed = (struct pay_error){0};
    enum pay_err body = fn(tx, ctx, err);
    if (body != PAY_ERR_OK)
        err->code = body; /* the caller hears exactly the body's code */
    body = pay_store_settle(tx, body, err);
    bool failed = tx->c->failed.code != PAY_ERR_OK;
    PAY_ASSERT(tx->depth == 0 || failed || (body != PAY_ERR_OK && !pay_store_tx_kept(tx)));
    bool done =
        !failed && (body == PAY_ERR_OK || (!pay_store_retryable(body) && pay_store_tx_kept(tx)));
    if (done)
        done = commit(tx, &body, err);
    if (tx->c->failed.code != PAY_ERR_OK) {
        done = false;
        body = tx->c->failed.code;
        *err = tx->c->failed;
    }
    end_tx(tx, done);
    if (done && tx->write)
        stat_add(&tx->s->stats.commits, 1);
    return body;
}

/* Closes c after a storage failure and opens it again: after an I/O error or a full disk
 * SQLite's state of the connection is not to be trusted (its transaction may or may not have
 * been rolled back). When the open fails too (the disk is still failing), c stays closed and
 * the next transaction on it tries again first. The writer: called with writer_lock held;
 * a reader: while it is lent to this thread. */
static enum pay_err reopen(struct pay_store *s, struct conn *c, struct pay_error *err)
{
    if (c->raw) {
        PAY_WARN("store.reopen", "connection=%s after=%s detail=\"%s\"",
                 c->writer ? "writer" : "reader", pay_err_name(c->failed.code), c->failed.detail);
        conn_close(s, c);
    }
    c->failed = (struct pay_error){0};
    if (c->writer)
        s->data_version = -1; /* a new connection counts on its own: never claim continuity */
    enum pay_err e = s->be->conn_open(s->path, c->writer, s->busy_timeout_ms,
                                      c->writer && s->no_sync, &c->raw, err);
    if (e != PAY_ERR_OK) {
        c->raw = NULL;
        PAY_WARN("store.reopen_failed", "connection=%s code=%s detail=\"%s\"",
                 c->writer ? "writer" : "reader", pay_err_name(e), err->detail);
        return e;
    }
    stat_add(&s->stats.reopens, 1);
    return PAY_ERR_OK;
}

static enum pay_err run_on(struct pay_store *s, struct conn *c, bool write, pay_store_tx_fn fn,
                           void *ctx, struct pay_error *err)
{
    struct pay_error local;
    struct pay_error *e = err ? err : &local;
    int backoff_ms = 2;
    for (int i = 0; i < PAY_STORE_RETRY_MAX; i++) {
        *e = (struct pay_error){0};
        if (!c->raw) {
            enum pay_err o = reopen(s, c, e);
            if (o != PAY_ERR_OK)
                return o;
        }
        struct pay_store_tx tx = {.s = s, .c = c, .write = write};
        enum pay_err code = attempt(&tx, fn, ctx, e);
        if (code == PAY_ERR_OK)
            *e = (struct pay_error){0};
        if (c->failed.code != PAY_ERR_OK)
            reopen(s, c, &(struct pay_error){0}); /* the caller hears the failure, not this */
        if (!pay_store_retryable(code))
            return code;
        stat_add(&s->stats.retries, 1);
        /* jitter: unsynchronise rivals */
        sleep_ms(backoff_ms + (int)pay_random_uniform((uint32_t)backoff_ms + 1));
        backoff_ms = backoff_ms < 256 ? backoff_ms * 2 : backoff_ms;
    }
    return pay_error_set(err, PAY_ERR_DB_BUSY, "", "gave up after %d attempts",
                         PAY_STORE_RETRY_MAX);
}

enum pay_err pay_store_run_tx(struct pay_store *s, pay_store_tx_fn fn, void *ctx,
                              struct pay_error *err)
{
    pthread_mutex_lock(&s->writer_lock);
    enum pay_err e = run_on(s, &s->writer, true, fn, ctx, err);
    pthread_mutex_unlock(&s->writer_lock);
    return e;
}

enum pay_err pay_store_run_read(struct pay_store *s, pay_store_tx_fn fn, void *ctx,
                                struct pay_error *err)
{
    pthread_mutex_lock(&s->readers_lock);
    struct conn *c = NULL;
    for (;;) {
        for (int i = 0; i < s->n_readers && !c; i++)
            if (!s->readers[i].busy)
                c = &s->readers[i];
        if (c)
            break;
        pthread_cond_wait(&s->readers_free, &s->readers_lock);
    }
    c->busy = true;
    pthread_mutex_unlock(&s->readers_lock);
    enum pay_err e = run_on(s, c, false, fn, ctx, err);
    pthread_mutex_lock(&s->readers_lock);
    c->busy = false;
    pthread_cond_signal(&s->readers_free);
    pthread_mutex_unlock(&s->readers_lock);
    return e;
}

/* --- migrations -------------------------------------------------------------------------- */

static const char schema_migrations_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " component TEXT NOT NULL, version BIGINT NOT NULL, applied_ms BIGINT NOT NULL,"
    " PRIMARY KEY (component, version))";

static enum pay_err read_version(struct pay_store_tx *tx, const char *component, int *version,
                                 struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT coalesce(max(version), 0) FROM schema_migrations WHERE component = $1",
        "t", component);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    if (rc == 1)
        *version = (int)pay_store_col_int64(st, 0);
    pay_store_done(st);
    return rc == 1 ? PAY_ERR_OK : err->code;
}

/* The SQL of c's migration i on s's backend. */
static const char *migration_sql(const struct pay_store *s, const struct pay_store_component *c,
                                 size_t i)
{
    if (s->be->dialect != PAY_STORE_POSTGRESQL || !c->pg)
        return c->migrations[i].sql;
    for (size_t k = 0; k <= i && c->pg[k].version; k++)
        if (k == i) {
            PAY_ASSERT(c->pg[k].version == c->migrations[i].version);
            return c->pg[k].sql ? c->pg[k].sql : c->migrations[i].sql;
        }
    return c->migrations[i].sql;
}

static enum pay_err migrate_one(struct pay_store_tx *tx, const struct pay_store_component *c,
                                struct pay_error *err)
{
    int have = 0;
    enum pay_err e = read_version(tx, c->name, &have, err);
    if (e != PAY_ERR_OK)
        return e;
    int known = c->count ? c->migrations[c->count - 1].version : 0;
    if (have > known)
        return pay_error_set(err, PAY_ERR_DB_SCHEMA_TOO_NEW, c->name,
                             "database has %s schema version %d; this binary knows up to %d",
                             c->name, have, known);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    for (size_t i = 0; i < c->count; i++) {
        const struct pay_store_migration *m = &c->migrations[i];
        PAY_ASSERT(m->version == (int)i + 1); /* numbered 1..n without gaps */
        if (m->version <= have)
            continue;
        const char *sql = migration_sql(tx->s, c, i);
        e = sql[0] ? script(tx, sql, err) : PAY_ERR_OK;
        if (e == PAY_ERR_OK)
            e = pay_store_exec(tx, err,
                               "INSERT INTO schema_migrations (component, version, applied_ms)"
                               " VALUES ($1, $2, $3)",
                               "tii", c->name, (int64_t)m->version,
                               (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
        if (e != PAY_ERR_OK)
            return e;
    }
    return PAY_ERR_OK;
}

/* PostgreSQL's INTEGER is 32 bits: a column declared so would overflow on the first
 * millisecond time or large amount. Refuse such a schema at once, loudly, rather than fail on
 * data later (SQLite's INTEGER is 64 bits: declare BIGINT, which means the same there). */
static enum pay_err check_integer_widths(struct pay_store_tx *tx, struct pay_error *err)
{
    if (tx->s->be->dialect != PAY_STORE_POSTGRESQL)
        return PAY_ERR_OK;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT table_name || '.' || column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND data_type IN ('smallint', 'integer')"
        " AND table_name <> 'store_generation' ORDER BY 1 LIMIT 1",
        NULL);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    enum pay_err e = rc < 0 ? err->code : PAY_ERR_OK;
    if (rc == 1)
        e = pay_error_set(err, PAY_ERR_INTERNAL, "",
                          "column %s is a 32-bit integer on PostgreSQL: declare it BIGINT",
                          pay_store_col_text(st, 0));
    pay_store_done(st);
    return e;
}

struct migrate_ctx {
    const struct pay_store_component *const *list;
    const struct pay_store_component *one;
};

static enum pay_err migrate_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct migrate_ctx *m = ctx;
    enum pay_err e = script(tx, schema_migrations_sql, err);
    if (e == PAY_ERR_OK && m->one)
        e = migrate_one(tx, m->one, err);
    for (size_t i = 0; e == PAY_ERR_OK && m->list && m->list[i]; i++)
        e = migrate_one(tx, m->list[i], err);
    if (e == PAY_ERR_OK)
        e = check_integer_widths(tx, err);
    return e;
}

enum pay_err pay_store_migrate(struct pay_store *s, const struct pay_store_component *c,
                               struct pay_error *err)
{
    struct migrate_ctx m = {.one = c};
    return pay_store_run_tx(s, migrate_body, &m, err);
}

struct version_ctx {
    const char *component;
    int *version;
};

static enum pay_err version_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct version_ctx *v = ctx;
    enum pay_err e = script(tx, schema_migrations_sql, err);
    if (e == PAY_ERR_OK)
        e = read_version(tx, v->component, v->version, err);
    return e;
}

enum pay_err pay_store_schema_version(struct pay_store *s, const char *component, int *version,
                                      struct pay_error *err)
{
    struct version_ctx v = {component, version};
    *version = 0;
    return pay_store_run_tx(s, version_body, &v, err);
}

/* --- open / close ------------------------------------------------------------------------ */

static enum pay_err open_readers(struct pay_store *s, int n, int busy_ms, struct pay_error *err)
{
    s->readers = calloc((size_t)n, sizeof *s->readers);
    if (!s->readers)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    for (int i = 0; i < n; i++) {
        s->readers[i].be = s->be;
        enum pay_err e = s->be->conn_open(s->path, false, busy_ms, false, &s->readers[i].raw, err);
        if (e != PAY_ERR_OK)
            return e;
        s->n_readers = i + 1;
    }
    return PAY_ERR_OK;
}

bool pay_store_is_postgres(const char *database)
{
    return strncmp(database, "postgresql://", 13) == 0 || strncmp(database, "postgres://", 11) == 0;
}

void pay_store_redact(const char *database, char *out, size_t n)
{
    PAY_ASSERT(n > 0);
    (void)pay_str_copy(out, n, database); /* shown: a cut end is fine */
    char *auth = strstr(out, "://");
    if (!pay_store_is_postgres(database) || !auth)
        return;
    /* user:PASSWORD@ in the authority (before the first '/', '?' after the scheme) */
    auth += 3;
    char *end = auth + strcspn(auth, "/?");
    char *at = memrchr(auth, '@', (size_t)(end - auth));
    char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    char tail[1024];
    if (colon) {
        (void)pay_str_copy(tail, sizeof tail, at);
        snprintf(colon + 1, n - (size_t)(colon + 1 - out), "***%s", tail);
    }
    /* password=... among the parameters */
    for (char *p = strchr(out, '?'); p; p = strchr(p + 1, '&')) {
        if (strncmp(p + 1, "password=", 9) != 0)
            continue;
        char *v = p + 10;
        (void)pay_str_copy(tail, sizeof tail, v + strcspn(v, "&"));
        snprintf(v, n - (size_t)(v - out), "***%s", tail);
    }
}

enum pay_store_dialect pay_store_dialect(const struct pay_store *s)
{
    return s->be->dialect;
}

struct pay_store_seat {
    struct pay_store *s;
    int64_t key;
    void *conn; /* the seat's own connection; NULL until opened, or after it broke */
    bool held;
};

struct pay_store_seat *pay_store_seat_new(struct pay_store *s, int64_t key)
{
    struct pay_store_seat *seat = calloc(1, sizeof *seat);
    if (seat) {
        seat->s = s;
        seat->key = key;
    }
    return seat;
}

bool pay_store_seat_hold(struct pay_store_seat *seat)
{
    const struct pay_store_backend *be = seat->s->be;
    if (!be->seat_hold)
        return true;
    struct pay_error err = {0};
    enum pay_err e = PAY_ERR_OK;
    if (!seat->conn)
        e = be->conn_open(seat->s->path, false, seat->s->busy_timeout_ms, false, &seat->conn, &err);
    bool now = false;
    if (e == PAY_ERR_OK)
        e = be->seat_hold(seat->conn, seat->key, seat->held, &now, &err);
    if (e != PAY_ERR_OK) { /* the session (and so the lock) is gone: a new one next time */
        PAY_WARN("store.seat_failed", "seat=%lld code=%s detail=\"%s\"", (long long)seat->key,
                 pay_err_name(e), err.detail);
        if (seat->conn)
            be->conn_close(seat->conn);
        seat->conn = NULL;
        now = false;
    }
    if (now != seat->held)
        PAY_INFO(now ? "store.seat_taken" : "store.seat_lost", "seat=%lld", (long long)seat->key);
    seat->held = now;
    return now;
}

void pay_store_seat_free(struct pay_store_seat *seat)
{
    if (!seat)
        return;
    if (seat->conn) {
        if (seat->held)
            seat->s->be->seat_release(seat->conn, seat->key);
        seat->s->be->conn_close(seat->conn);
    }
    free(seat);
}

enum pay_err pay_store_serve_alone(struct pay_store *s, const char *role, struct pay_error *err)
{
    if (s->be->dialect != PAY_STORE_SQLITE || s->serve_lock_fd > 0)
        return PAY_ERR_OK;
    char lock[PAY_DATABASE_MAX + 8];
    if (snprintf(lock, sizeof lock, "%s.lock", s->path) >= (int)sizeof lock)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "database", "the path is too long");
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return pay_error_set(err, PAY_ERR_DB_IO, "database", "cannot open %s", lock);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) { /* held by a live process: the kernel frees it */
        close(fd);
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "database",
                             "another %s process serves %s: on SQLite one process serves a"
                             " database; several need PostgreSQL (docs/deploy.md)",
                             role, s->path);
    }
    s->serve_lock_fd = fd + 1;
    return PAY_ERR_OK;
}

bool pay_store_table_name_ok(const char *table)
{
    size_t n = strlen(table);
    return n > 0 && n < 64 && strspn(table, "abcdefghijklmnopqrstuvwxyz_") == n;
}

static enum pay_err pick_backend(const char *database, const struct pay_store_backend **be,
                                 struct pay_error *err)
{
    *be = &pay_store_sqlite_backend;
    if (!pay_store_is_postgres(database))
        return PAY_ERR_OK;
#ifdef PAY_STORE_HAVE_PG
    *be = &pay_store_pg_backend;
    return PAY_ERR_OK;
#else
    return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "database",
                         "this paygate was built without PostgreSQL (libpq); rebuild with"
                         " meson -Dpostgres=enabled");
#endif
}

enum pay_err pay_store_open(const char *database, const struct pay_store_options *opts,
                            const struct pay_store_component *const *components,
                            struct pay_store **out, struct pay_error *err)
{
    struct pay_store_options o = opts ? *opts : (struct pay_store_options){0};
    int readers = o.readers > 0 ? o.readers : 4;
    int busy_ms = o.busy_timeout_ms > 0 ? o.busy_timeout_ms : PAY_STORE_BUSY_TIMEOUT_MS;
    const char *path = database;
    *out = NULL;
    const struct pay_store_backend *be;
    enum pay_err pe = pick_backend(database, &be, err);
    if (pe != PAY_ERR_OK)
        return pe;
    struct pay_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    }
    s->be = be;
    s->busy_timeout_ms = busy_ms;
    s->no_sync = o.unsafe_no_sync;
    s->writer.be = s->be;
    s->writer.writer = true;
    pthread_mutex_init(&s->writer_lock, NULL);
    pthread_mutex_init(&s->readers_lock, NULL);
    pthread_cond_init(&s->readers_free, NULL);
    enum pay_err e = s->be->conn_open(path, true, busy_ms, o.unsafe_no_sync, &s->writer.raw, err);
    if (e == PAY_ERR_OK) {
        struct migrate_ctx m = {.list = components};
        e = pay_store_run_tx(s, migrate_body, &m, err);
    }
    if (e == PAY_ERR_OK)
        e = open_readers(s, readers, busy_ms, err);
    if (e != PAY_ERR_OK) {
        pay_store_close(s);
        return e;
    }
    char shown[PAY_DATABASE_MAX + 1]; /* a URL's password masked */
    pay_store_redact(database, shown, sizeof shown);
    PAY_INFO("store.opened", "backend=%s database=\"%s\"", be->name, shown);
    *out = s;
    return PAY_ERR_OK;
}

void pay_store_close(struct pay_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_readers; i++)
        conn_close(s, &s->readers[i]);
    conn_close(s, &s->writer);
    free(s->readers);
    pthread_mutex_destroy(&s->writer_lock);
    pthread_mutex_destroy(&s->readers_lock);
    pthread_cond_destroy(&s->readers_free);
    if (s->serve_lock_fd > 0)
        close(s->serve_lock_fd - 1); /* frees the lock */
    free(s->path);
    free(s);
}
