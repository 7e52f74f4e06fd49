/* Idempotency-Key on every POST of the open API (after Stripe): the first answer to a
 * (merchant, key) is stored and replayed byte for byte to a retry with the same request; the
 * same key with a different request is refused (422). The check, the request's own writes and
 * the stored answer are one committer command (api.c), so a record is never seen half done:
 * a retry that comes while the first is being applied is applied after it and replays its
 * answer. Records "in_progress" come only from versions that claimed the key in a transaction
 * of its own: one younger than PAY_PLATFORM_IDEMPOTENCY_STALE_MS still answers 409, an older
 * one (its process died mid-request) is taken over. */
#include "platform/platform.h"

#include "core/assertions.h"
#include "core/clock.h"

#include <stdlib.h>
#include <string.h>

enum pay_err pay_platform_idem_check_tx(struct pay_store_tx *tx, struct pay_platform_idem *id,
                                        struct pay_error *err)
{
    free(id->body);
    id->body = NULL;
    id->state = PAY_IDEM_NEW;
    id->status = 0;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT status, request_hash, response_status, response_body, created_ms"
                        " FROM pf_idempotency WHERE merchant_id = $1 AND key = $2",
                        "tt", id->merchant_id, id->key);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    enum pay_err refusal = PAY_ERR_OK;
    if (rc == 1) {
        bool done = strcmp(pay_store_col_text(st, 0), "done") == 0;
        if (strcmp(pay_store_col_text(st, 1), id->hash) != 0)
            refusal = pay_error_set(err, PAY_ERR_IDEMPOTENCY_KEY_REUSED, "Idempotency-Key", NULL);
        else if (done) {
            id->state = PAY_IDEM_REPLAY;
            id->status = (int)pay_store_col_int64(st, 2);
            id->body = strdup(pay_store_col_text(st, 3));
        } else if (pay_clock_now_ms() - pay_store_col_int64(st, 4) <
                   PAY_PLATFORM_IDEMPOTENCY_STALE_MS)
            refusal = pay_error_set(err, PAY_ERR_IDEMPOTENCY_IN_PROGRESS, "Idempotency-Key", NULL);
        else
            id->state = PAY_IDEM_STALE;
    }
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    if (id->state == PAY_IDEM_REPLAY && !id->body)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    return refusal;
}

enum pay_err pay_platform_idem_store_tx(struct pay_store_tx *tx, const struct pay_platform_idem *id,
                                        int status, const char *body, struct pay_error *err)
{
    PAY_ASSERT(id->state == PAY_IDEM_NEW || id->state == PAY_IDEM_STALE);
    PAY_ASSERT(status < 500); /* a failure is not an answer to keep: the request may run again */
    int64_t now = pay_clock_now_ms();
    if (id->state == PAY_IDEM_STALE)
        return pay_store_exec(tx, err,
                              "UPDATE pf_idempotency SET status = 'done', response_status = $1,"
                              " response_body = $2, created_ms = $3"
                              " WHERE merchant_id = $4 AND key = $5",
                              "itit"
                              "t",
                              (int64_t)status, body, now, id->merchant_id, id->key);
    return pay_store_exec(tx, err,
                          "INSERT INTO pf_idempotency (merchant_id, key, request_hash, status,"
                          " response_status, response_body, created_ms)"
                          " VALUES ($1,$2,$3,'done',$4,$5,$6)",
                          "tttiti", id->merchant_id, id->key, id->hash, (int64_t)status, body, now);
}
