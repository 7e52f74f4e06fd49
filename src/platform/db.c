/* The platform's ways to its database that every file shares: the one write path (a command
 * of the committer's next batch while the server runs, docs/store.md) and the workers' reader
 * of due rows. They call nothing else of the platform. */
#include "platform/platform.h"

#include "core/buf.h"

#include "core/log.h"

enum pay_err pay_platform_write(struct pay_platform *p, pay_store_tx_fn fn, void *ctx,
                                struct pay_error *err)
{
    if (p->committer != NULL)
        return pay_committer_submit(p->committer, fn, ctx, err);
    return pay_store_run_tx(p->store, fn, ctx, err);
}

struct due_ctx {
    const char *sql;
    int64_t cutoff_ms;
    char (*ids)[PAY_ID_MAX];
    size_t max, n;
};

static enum pay_err due_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct due_ctx *d = ctx;
    d->n = 0;
    struct pay_store_stmt *st =
        pay_store_query(tx, err, d->sql, "ii", d->cutoff_ms, (int64_t)d->max);
    if (!st)
        return err->code;
    int rc;
    while (d->n < d->max && (rc = pay_store_step(st, err)) == 1)
        pay_str_copy(d->ids[d->n++], PAY_ID_MAX, pay_store_col_text(st, 0));
    pay_store_done(st);
    return PAY_ERR_OK;
}

size_t pay_platform_due_ids(struct pay_platform *p, const char *sql, int64_t cutoff_ms,
                            char (*ids)[PAY_ID_MAX], size_t max)
{
    struct pay_error err = {0};
    struct due_ctx d = {.sql = sql, .cutoff_ms = cutoff_ms, .ids = ids, .max = max};
    if (pay_store_run_read(p->store, due_tx, &d, &err) != PAY_ERR_OK) {
        PAY_WARN("sweep.read_failed", "code=%s", pay_err_name(err.code));
        return 0;
    }
    return d.n;
}
