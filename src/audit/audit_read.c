/* The audit log as the consoles show it: the newest entries matching a filter. */
#include "audit/audit.h"

#include "core/assertions.h"

#include <string.h>

static json_t *row_json(struct pay_store_stmt *st)
{
    size_t n = 0;
    const void *h = pay_store_col_blob(st, 8, &n);
    char hex[PAY_HEX_LEN(PAY_SHA256_LEN)] = "";
    if (n == PAY_SHA256_LEN)
        (void)pay_hex_encode(hex, sizeof hex, h, n);
    return json_pack("{sI sI ss ss ss ss ss ss ss}", "seq", (json_int_t)pay_store_col_int64(st, 0),
                     "at_ms", (json_int_t)pay_store_col_int64(st, 1), "actor",
                     pay_store_col_text(st, 2), "action", pay_store_col_text(st, 3), "target",
                     pay_store_col_text(st, 4), "outcome", pay_store_col_text(st, 5), "source",
                     pay_store_col_text(st, 6), "detail", pay_store_col_text(st, 7), "hash", hex);
}

static enum pay_err count_all(struct pay_store_tx *tx, int64_t *total, struct pay_error *err)
{
    struct pay_store_stmt *st =
        pay_store_query(tx, err, "SELECT coalesce(max(seq), 0) FROM audit_log", "");
    if (!st)
        return err->code;
    int r = pay_store_step(st, err);
    *total = r == 1 ? pay_store_col_int64(st, 0) : 0;
    pay_store_done(st);
    return r < 0 ? err->code : PAY_ERR_OK;
}

enum pay_err pay_audit_list(struct pay_store_tx *tx, const struct pay_audit_filter *f, json_t **out,
                            int64_t *total, struct pay_error *err)
{
    PAY_ASSERT(tx && f && out);
    *out = NULL;
    int limit = f->limit > 0 && f->limit <= PAY_AUDIT_PAGE_MAX ? f->limit : PAY_AUDIT_PAGE_MAX;
    int64_t before = f->before_seq > 0 ? f->before_seq : INT64_MAX;
    int64_t to = f->to_ms > 0 ? f->to_ms : INT64_MAX;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT seq, at_ms, actor, action, target, outcome, source, detail, hash FROM audit_log"
        " WHERE seq < $1 AND substr(actor, 1, length($2)) = $2"
        " AND substr(action, 1, length($3)) = $3 AND ($4 = '' OR target = $4)"
        " AND ($5 = '' OR ($5 = 'refused' AND outcome <> 'ok') OR outcome = $5)"
        " AND at_ms >= $6 AND at_ms < $7 ORDER BY seq DESC LIMIT $8",
        "ittttiii", before, f->actor, f->action, f->target, f->outcome, f->from_ms, to,
        (int64_t)limit);
    if (!st)
        return err->code;
    json_t *a = json_array();
    int r;
    while ((r = pay_store_step(st, err)) == 1)
        json_array_append_new(a, row_json(st));
    pay_store_done(st);
    enum pay_err rc = r < 0 ? err->code : PAY_ERR_OK;
    if (rc == PAY_ERR_OK && total)
        rc = count_all(tx, total, err);
    if (rc != PAY_ERR_OK) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return PAY_ERR_OK;
}

struct read_ctx {
    const struct pay_audit_filter *f;
    json_t *out;
    int64_t *total;
};

static enum pay_err read_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct read_ctx *r = ctx;
    json_decref(r->out); /* a rerun starts over */
    r->out = NULL;
    return pay_audit_list(tx, r->f, &r->out, r->total, err);
}

enum pay_err pay_audit_read(struct pay_store *s, const struct pay_audit_filter *f, json_t **out,
                            int64_t *total, struct pay_error *err)
{
    struct read_ctx r = {f, NULL, total};
    enum pay_err e = pay_store_run_read(s, read_tx, &r, err);
    *out = r.out;
    return e;
}
