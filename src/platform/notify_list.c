/* The notifications of a merchant's trade with every delivery attempt, as the API's
 * GET /v1/notifications and the portal's trade page show them (docs/api.md). */
#include "platform/platform.h"

#include <string.h>

struct list_ctx {
    const char *merchant_id, *trade_id;
    json_t *arr;
};

static enum pay_err attempts_json(struct pay_store_tx *tx, const char *id, json_t *arr,
                                  struct pay_error *err)
{
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT attempt, started_ms, http_status, result FROM pf_notify_attempts"
                        " WHERE notify_id = $1 ORDER BY attempt",
                        "t", id);
    if (!st)
        return err->code;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1)
        json_array_append_new(arr, json_pack("{s:I, s:o, s:I, s:s}", "attempt",
                                             (json_int_t)pay_store_col_int64(st, 0), "at",
                                             pay_platform_time_json(pay_store_col_int64(st, 1)),
                                             "http_status", (json_int_t)pay_store_col_int64(st, 2),
                                             "result", pay_store_col_text(st, 3)));
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

static enum pay_err list_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct list_ctx *l = ctx;
    struct pay_platform_trade t;
    json_array_clear(l->arr);
    enum pay_err e = pay_platform_trade_load(tx, l->merchant_id, l->trade_id, NULL, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT id, event, status, attempts, next_attempt_ms, delivered_ms, payload"
                        " FROM pf_notify_outbox WHERE trade_id = $1 ORDER BY id",
                        "t", t.id);
    if (!st)
        return err->code;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1) {
        const char *status = pay_store_col_text(st, 2);
        json_t *n = json_pack(
            "{s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:[]}", "notify_id", pay_store_col_text(st, 0),
            "event", pay_store_col_text(st, 1), "status", status, "attempts",
            (json_int_t)pay_store_col_int64(st, 3), "next_attempt_at",
            strcmp(status, "pending") == 0 ? pay_platform_time_json(pay_store_col_int64(st, 4))
                                           : json_null(),
            "delivered_at", pay_platform_time_json(pay_store_col_int64(st, 5)), "payload",
            json_loads(pay_store_col_text(st, 6), 0, NULL), "attempt_log");
        json_array_append_new(l->arr, n);
    }
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    for (size_t i = 0; i < json_array_size(l->arr); i++) {
        json_t *n = json_array_get(l->arr, i);
        e = attempts_json(tx, json_string_value(json_object_get(n, "notify_id")),
                          json_object_get(n, "attempt_log"), err);
        if (e != PAY_ERR_OK)
            return e;
    }
    return PAY_ERR_OK;
}

enum pay_err pay_platform_notify_list(struct pay_platform *p, const char *merchant_id,
                                      const char *trade_id, json_t **out, struct pay_error *err)
{
    struct list_ctx l = {merchant_id, trade_id, json_array()};
    enum pay_err e = pay_store_run_read(p->store, list_tx, &l, err);
    if (e != PAY_ERR_OK) {
        json_decref(l.arr);
        return e;
    }
    *out = json_pack("{s:s, s:o}", "trade_id", trade_id, "notifications", l.arr);
    return PAY_ERR_OK;
}
