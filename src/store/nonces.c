/* The database nonce cache (nonces.h): one write per check, so the check and the insert are
 * one step under the store's writer lock, whichever process runs it. */
#include "store/nonces.h"

#include "core/assertions.h"
#include "core/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct db_nonces {
    struct pay_nonce_cache base; /* first, so the interface pointer converts back */
    struct pay_store *s;
    pay_store_write_fn write; /* NULL: pay_store_run_tx */
    void *owner;
    int64_t window_s;
    char purge_sql[PAY_STORE_NONCES_SQL_MAX], insert_sql[PAY_STORE_NONCES_SQL_MAX];
};

struct check_ctx {
    const struct db_nonces *n;
    const char *key_id, *nonce;
    int64_t expires_s, now_s;
    bool fresh;
};

static enum pay_err check_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct check_ctx *c = ctx;
    c->fresh = false;
    enum pay_err e = pay_store_exec(tx, err, c->n->purge_sql, "i", c->now_s);
    if (e != PAY_ERR_OK)
        return e;
    struct pay_store_stmt *st =
        pay_store_query(tx, err, c->n->insert_sql, "tti", c->key_id, c->nonce, c->expires_s);
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
    struct check_ctx c = {n, key_id, nonce, ts + 2 * n->window_s, now, false};
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
             " ON CONFLICT (key_id, nonce) DO NOTHING RETURNING key_id",
             table);
    return &n->base;
}
