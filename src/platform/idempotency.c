/* Idempotency-Key on every POST of the open API (after Stripe): the first answer to a
 * (merchant, key) is stored and replayed byte for byte to a retry with the same request; the
 * same key with a different request is refused (422), and a retry while the first is still
 * running gets 409. */
#include "platform/platform.h"

#include "core/clock.h"
#include "core/timeutil.h"

#include <stdlib.h>
#include <string.h>

struct begin_ctx {
    const char *merchant_id, *key, *hash;
    enum pay_idem_state state;
    int status;
    char *body;
};

static enum pay_err begin_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct begin_ctx *b = ctx;
    free(b->body);
    b->body = NULL;
    b->state = PAY_IDEM_NEW;
    int64_t now = pay_clock_now_ms();
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT status, request_hash, response_status, response_body, created_ms"
                        " FROM pf_idempotency WHERE merchant_id = $1 AND key = $2",
                        "tt", b->merchant_id, b->key);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    bool stale = false;
    enum pay_err refusal = PAY_ERR_OK;
    if (rc == 1) {
        bool done = strcmp(pay_store_col_text(st, 0), "done") == 0;
        if (strcmp(pay_store_col_text(st, 1), b->hash) != 0)
            refusal = pay_error_set(err, PAY_ERR_IDEMPOTENCY_KEY_REUSED, "Idempotency-Key", NULL);
        else if (done) {
            b->state = PAY_IDEM_REPLAY;
            b->status = (int)pay_store_col_int64(st, 2);
            b->body = strdup(pay_store_col_text(st, 3));
        } else if (now - pay_store_col_int64(st, 4) < PAY_PLATFORM_IDEMPOTENCY_STALE_MS)
            refusal = pay_error_set(err, PAY_ERR_IDEMPOTENCY_IN_PROGRESS, "Idempotency-Key", NULL);
        else
            stale = true;
    }
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    if (b->state == PAY_IDEM_REPLAY && !b->body)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    if (refusal != PAY_ERR_OK || b->state == PAY_IDEM_REPLAY)
        return refusal; /* nothing written */
    enum pay_err e =
        stale ? pay_store_exec(tx, err,
                               "UPDATE pf_idempotency SET created_ms = $1"
                               " WHERE merchant_id = $2 AND key = $3",
                               "itt", now, b->merchant_id, b->key)
              : pay_store_exec(tx, err,
                               "INSERT INTO pf_idempotency (merchant_id, key, request_hash,"
                               " status, created_ms) VALUES ($1,$2,$3,'in_progress',$4)",
                               "ttti", b->merchant_id, b->key, b->hash, now);
    return e;
}

enum pay_err pay_platform_idem_begin(struct pay_platform *p, const char *merchant_id,
                                     const char *key, const char *request_hash,
                                     enum pay_idem_state *state, int *status, char **body,
                                     struct pay_error *err)
{
    struct begin_ctx b = {merchant_id, key, request_hash, PAY_IDEM_NEW, 0, NULL};
    enum pay_err e = pay_store_run_tx(p->store, begin_tx, &b, err);
    if (e != PAY_ERR_OK) {
        free(b.body);
        return e;
    }
    *state = b.state;
    *status = b.status;
    *body = b.body;
    return PAY_ERR_OK;
}

struct finish_ctx {
    const char *merchant_id, *key, *body;
    int status;
};

static enum pay_err finish_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct finish_ctx *f = ctx;
    enum pay_err e =
        f->status >= 500
            ? pay_store_exec(tx, err,
                             "DELETE FROM pf_idempotency WHERE merchant_id = $1 AND key = $2", "tt",
                             f->merchant_id, f->key)
            : pay_store_exec(tx, err,
                             "UPDATE pf_idempotency SET status = 'done', response_status = $1,"
                             " response_body = $2 WHERE merchant_id = $3 AND key = $4",
                             "itt"
                             "t",
                             (int64_t)f->status, f->body, f->merchant_id, f->key);
    return e;
}

enum pay_err pay_platform_idem_finish(struct pay_platform *p, const char *merchant_id,
                                      const char *key, int status, const char *body,
                                      struct pay_error *err)
{
    struct finish_ctx f = {merchant_id, key, body, status};
    return pay_store_run_tx(p->store, finish_tx, &f, err);
}
