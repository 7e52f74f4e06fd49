/* The database nonce cache (nonces.h): one write per check, so the check and the insert are
 * one step under the store's writer lock, whichever process runs it. The insert takes over an
 * expired row of the same nonce (it is fresh again, as after a purge), so the purge of expired
 * rows is housekeeping only and runs at most once every PAY_STORE_NONCES_PURGE_S of the
 * checks' time: one statement per check instead of two (a client-server round trip each on
 * PostgreSQL, inside the committer's batch; docs/performance.md). */
#include "store/nonces.h"

#include "core/assertions.h"
#include "core/limits.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct db_nonces {
    struct pay_nonce_cache base; /* first, so the interface pointer converts back */
    struct pay_store *s;
    pay_store_write_fn write; /* NULL: pay_store_run_tx */
    void *owner;
    int64_t window_s;
    _Atomic int64_t next_purge_s; /* the check whose now reaches it purges (0: the first) */
    char purge_sql[PAY_STORE_NONCES_SQL_MAX], insert_sql[PAY_STORE_NONCES_SQL_MAX];
};

struct check_ctx {
    const struct db_nonces *n;
    const char *key_id, *nonce;
    int64_t expires_s, now_s;
    bool purge, fresh;
};

static enum pay_err check_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct check_ctx *c = ctx;
    c->fresh = false;
    enum pay_err e =
        c->purge ? pay_store_exec(tx, err, c->n->purge_sql, "i", c->now_s) : PAY_ERR_OK;
    if (e != PAY_ERR_OK)
        return e;
    struct pay_store_stmt *st = pay_store_query(tx, err, c->n->insert_sql, "ttii", c->key_id,
                                                c->nonce, c->expires_s, c->now_s);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err); /* a row: inserted; none: the nonce was there */
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    c->fresh = rc == 1;
    return PAY_ERR_OK;
}

static enum pay_err db_check_and_add(struct pay_nonce_cache *base, const char *key_id,
                                     const char *nonce, int64_t ts, int64_t now)
{
    struct db_nonces *n = (struct db_nonces *)base;
    /* kept while the message can pass the window check (until ts + window) and one window
     * more, for another node whose clock is ahead and purges at its own now */
    struct check_ctx c = {n, key_id, nonce, ts + 2 * n->window_s, now, false, false};
    /* One thread of several wins the purge; a clock that went back purges at once. */
    int64_t due = atomic_load(&n->next_purge_s);
    if ((now >= due || now < due - PAY_STORE_NONCES_PURGE_S) &&
        atomic_compare_exchange_strong(&n->next_purge_s, &due, now + PAY_STORE_NONCES_PURGE_S))
        c.purge = true;
    struct pay_error err = {0};
    enum pay_err e = n->write ? n->write(n->owner, check_tx, &c, &err)
                              : pay_store_run_tx(n->s, check_tx, &c, &err);
    if (e != PAY_ERR_OK)
        return e;
    return c.fresh ? PAY_ERR_OK : PAY_ERR_NONCE_REPLAYED;
}

static void db_destroy(struct pay_nonce_cache *base)
{
    free(base);
}

struct pay_nonce_cache *pay_store_nonces_new(struct pay_store *s, const char *table,
                                             int64_t window_s, pay_store_write_fn write,
                                             void *owner)
{
    PAY_ASSERT(s != NULL && window_s > 0);
    if (!pay_store_table_name_ok(table))
        return NULL;
    struct db_nonces *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->base.check_and_add = db_check_and_add;
    n->base.destroy = db_destroy;
    n->s = s;
    n->write = write;
    n->owner = owner;
    n->window_s = window_s;
    snprintf(n->purge_sql, sizeof n->purge_sql, "DELETE FROM %s WHERE expires_s < $1", table);
    snprintf(n->insert_sql, sizeof n->insert_sql,
             "INSERT INTO %s (key_id, nonce, expires_s) VALUES ($1, $2, $3)"
             " ON CONFLICT (key_id, nonce) DO UPDATE SET expires_s = excluded.expires_s"
             " WHERE %s.expires_s < $4 RETURNING key_id",
             table, table);
    return &n->base;
}
