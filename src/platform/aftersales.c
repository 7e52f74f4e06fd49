/* After-sales refund requests (售后, docs/api.md "Refund requests"): the consumer asks for a
 * refund of a paid trade in the wallet; the merchant approves (the refund runs, in the same
 * transaction) or rejects with a reason; a request the merchant leaves past its deadline goes
 * to the operator, who decides in the console. Every step is notified to the merchant with the
 * request (event refund_request). An open request holds the escrow's clocks (escrow.c).
 *
 *   WAIT_MERCHANT --merchant approves / rejects--> APPROVED / REJECTED
 *   WAIT_MERCHANT --deadline--> WAIT_OPERATOR --operator approves / rejects--> APPROVED / REJECTED
 */
#include "platform/platform.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "crypto/ids.h"
#include "core/money.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

#define RR_COLS                                                                                    \
    "id, trade_id, merchant_id, consumer_id, amount_minor, currency, reason, goods_returned,"      \
    " status, deadline_ms, created_ms, decided_ms, decided_by, reject_reason, refund_id"

static const struct pay_state_move request_moves[] = {
    {PAY_RR_WAIT_MERCHANT, PAY_RR_APPROVED},      {PAY_RR_WAIT_MERCHANT, PAY_RR_REJECTED},
    {PAY_RR_WAIT_MERCHANT, PAY_RR_WAIT_OPERATOR}, {PAY_RR_WAIT_OPERATOR, PAY_RR_APPROVED},
    {PAY_RR_WAIT_OPERATOR, PAY_RR_REJECTED},
};

static void request_move(struct pay_platform_refund_request *r, const char *to)
{
    PAY_ASSERT_MSG(
        pay_state_move_legal(request_moves, PAY_STATE_MOVES(request_moves), r->status, to),
        "refund request %s: %s -> %s", r->id, r->status, to);
    PAY_ASSERT_MSG(r->amount_minor > 0 && r->amount_minor <= PAY_AMOUNT_MAX_MINOR, "request %s",
                   r->id);
    pay_str_copy(r->status, sizeof r->status, to);
}

static void request_from_row(struct pay_store_stmt *st, struct pay_platform_refund_request *r)
{
    pay_store_col_copy(st, 0, r->id, sizeof r->id);
    pay_store_col_copy(st, 1, r->trade_id, sizeof r->trade_id);
    pay_store_col_copy(st, 2, r->merchant_id, sizeof r->merchant_id);
    pay_store_col_copy(st, 3, r->consumer_id, sizeof r->consumer_id);
    r->amount_minor = pay_store_col_int64(st, 4);
    pay_store_col_copy(st, 5, r->currency, sizeof r->currency);
    pay_store_col_copy(st, 6, r->reason, sizeof r->reason);
    r->goods_returned = pay_store_col_int64(st, 7) != 0;
    pay_store_col_copy(st, 8, r->status, sizeof r->status);
    r->deadline_ms = pay_store_col_int64(st, 9);
    r->created_ms = pay_store_col_int64(st, 10);
    r->decided_ms = pay_store_col_int64(st, 11);
    pay_store_col_copy(st, 12, r->decided_by, sizeof r->decided_by);
    pay_store_col_copy(st, 13, r->reject_reason, sizeof r->reject_reason);
    pay_store_col_copy(st, 14, r->refund_id, sizeof r->refund_id);
}

json_t *pay_platform_refund_request_json(const struct pay_platform_refund_request *r)
{
    return json_pack(
        "{s:s, s:s, s:o, s:s, s:b, s:s, s:o, s:o, s:o, s:s, s:s, s:s}", "request_id", r->id,
        "trade_id", r->trade_id, "amount", pay_platform_money_json(r->amount_minor, r->currency),
        "reason", r->reason, "goods_returned", r->goods_returned, "status", r->status, "created_at",
        pay_platform_time_json(r->created_ms), "deadline", pay_platform_time_json(r->deadline_ms),
        "decided_at", pay_platform_time_json(r->decided_ms), "decided_by", r->decided_by,
        "reject_reason", r->reject_reason, "refund_id", r->refund_id);
}

enum pay_err pay_platform_refund_request_open_tx(struct pay_store_tx *tx, const char *trade_id,
                                                 bool *open, struct pay_error *err)
{
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT 1 FROM pf_refund_requests WHERE trade_id = $1"
                        " AND status IN ('WAIT_MERCHANT','WAIT_OPERATOR')",
                        "t", trade_id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    pay_store_done(st);
    *open = rc == 1;
    return rc < 0 ? err->code : PAY_ERR_OK;
}

static enum pay_err request_save(struct pay_store_tx *tx,
                                 const struct pay_platform_refund_request *r, struct pay_error *err)
{
    return pay_store_exec(tx, err,
                          "UPDATE pf_refund_requests SET status = $1, decided_ms = $2,"
                          " decided_by = $3, reject_reason = $4, refund_id = $5 WHERE id = $6",
                          "tittt"
                          "t",
                          r->status, r->decided_ms, r->decided_by, r->reject_reason, r->refund_id,
                          r->id);
}

/* The merchant hears of every step, with the request and the trade as they are now; the audit
 * trail records it (action: refund_request.<step>). */
static enum pay_err request_notify(struct pay_platform *p, struct pay_store_tx *tx,
                                   const char *trade_id,
                                   const struct pay_platform_refund_request *r, const char *actor,
                                   const char *step, struct pay_error *err)
{
    struct pay_platform_trade t;
    enum pay_err e = pay_platform_trade_load(tx, NULL, trade_id, NULL, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    char action[48], detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(action, sizeof action, "refund_request.%s", step);
    snprintf(detail, sizeof detail,
             "trade=%s amount_minor=%lld currency=%s status=%s goods_returned=%d refund=%s",
             r->trade_id, (long long)r->amount_minor, r->currency, r->status, r->goods_returned,
             r->refund_id);
    e = pay_platform_audit(p, tx,
                           &(struct pay_audit_entry){
                               .actor = actor, .action = action, .target = r->id, .detail = detail},
                           err);
    if (e != PAY_ERR_OK)
        return e;
    return pay_platform_notify_enqueue_with(tx, &t, "refund_request", "refund_request",
                                            pay_platform_refund_request_json(r), err);
}

/* --- the consumer asks ------------------------------------------------------------------ */

struct create_cmd {
    struct pay_platform *p;
    struct pay_platform_refund_request *r;
};

static enum pay_err create_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct create_cmd *c = ctx;
    struct pay_platform_refund_request *r = c->r;
    struct pay_platform_trade t;
    enum pay_err e = pay_platform_trade_load(tx, NULL, r->trade_id, NULL, &t, err);
    if (e == PAY_ERR_OK && strcmp(t.buyer_id, r->consumer_id) != 0)
        e = pay_error_set(err, PAY_ERR_TRADE_NOT_FOUND, "trade_id", NULL); /* not theirs */
    if (e != PAY_ERR_OK)
        return e;
    if (strcmp(t.state, PAY_TRADE_SUCCESS) != 0 && !pay_platform_trade_in_escrow(&t))
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "trade_id",
                             "trade is %s; only a paid trade can be refunded", t.state);
    if (strcmp(r->currency, t.currency) != 0)
        return pay_error_set(err, PAY_ERR_CURRENCY_MISMATCH, "amount", NULL);
    int64_t left = 0;
    e = pay_money_sub(t.amount_minor, t.refunded_minor, &left);
    PAY_ASSERT(e == PAY_ERR_OK && left >= 0);
    if (r->amount_minor > left)
        return pay_error_set(err, PAY_ERR_REFUND_EXCEEDS_PAID, "amount",
                             "at most %lld minor units are left to refund", (long long)left);
    pay_str_copy(r->merchant_id, sizeof r->merchant_id, t.merchant_id);
    pay_str_copy(r->status, sizeof r->status, PAY_RR_WAIT_MERCHANT);
    r->created_ms = pay_clock_now_ms();
    r->deadline_ms = r->created_ms + c->p->set.refund_request_timeout_ms; /* bounded */
    e = pay_store_exec(tx, err,
                       "INSERT INTO pf_refund_requests (id, trade_id, merchant_id, consumer_id,"
                       " amount_minor, currency, reason, goods_returned, status, deadline_ms,"
                       " created_ms) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
                       "ttttittitii", r->id, r->trade_id, r->merchant_id, r->consumer_id,
                       r->amount_minor, r->currency, r->reason, (int64_t)r->goods_returned,
                       r->status, r->deadline_ms, r->created_ms);
    if (e == PAY_ERR_DB_CONSTRAINT) /* pf_refund_requests_open: one open request per trade */
        return pay_error_set(err, PAY_ERR_REFUND_REQUEST_OPEN, "trade_id", NULL);
    if (e != PAY_ERR_OK)
        return e;
    char actor[PAY_AUDIT_TEXT_MAX];
    snprintf(actor, sizeof actor, "consumer:%s", r->consumer_id);
    return request_notify(c->p, tx, t.id, r, actor, "create", err);
}

enum pay_err pay_platform_refund_request_create(struct pay_platform *p,
                                                struct pay_platform_refund_request *r,
                                                struct pay_error *err)
{
    if (r->amount_minor <= 0 || r->amount_minor > PAY_AMOUNT_MAX_MINOR)
        return pay_error_set(err, PAY_ERR_AMOUNT_NOT_POSITIVE, "amount", NULL);
    if (r->reason[0] == '\0')
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "reason", "say why");
    enum pay_err e = pay_id_new("rq", r->id);
    if (e != PAY_ERR_OK)
        return pay_error_set(err, e, "", "no randomness for an id");
    struct create_cmd c = {p, r};
    e = pay_committer_submit(p->committer, create_apply, &c, err);
    if (e == PAY_ERR_OK)
        pay_platform_wake(p);
    return e;
}

/* --- reading ---------------------------------------------------------------------------- */

static int request_load(struct pay_store_tx *tx, const char *id,
                        struct pay_platform_refund_request *r, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT " RR_COLS " FROM pf_refund_requests WHERE id = $1", "t", id);
    if (!st)
        return -1;
    int rc = pay_store_step(st, err);
    if (rc == 1)
        request_from_row(st, r);
    pay_store_done(st);
    return rc;
}

struct list_ctx {
    const char *trade_id, *status, *merchant_id;
    struct pay_platform_refund_request *out;
    size_t max, n;
};

static enum pay_err list_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct list_ctx *l = ctx;
    l->n = 0;
    struct pay_store_stmt *st =
        l->merchant_id /* open ones first, then newest first */
            ? pay_store_query(tx, err,
                              "SELECT " RR_COLS " FROM pf_refund_requests WHERE merchant_id = $1"
                              " ORDER BY CASE WHEN status IN ('WAIT_MERCHANT', 'WAIT_OPERATOR')"
                              " THEN 0 ELSE 1 END, created_ms DESC, id DESC LIMIT $2",
                              "ti", l->merchant_id, (int64_t)l->max)
            : l->trade_id
                  ? pay_store_query(tx, err,
                                    "SELECT " RR_COLS " FROM pf_refund_requests WHERE trade_id = $1"
                                    " ORDER BY created_ms, id LIMIT $2",
                                    "ti", l->trade_id, (int64_t)l->max)
                  : pay_store_query(tx, err,
                                    "SELECT " RR_COLS " FROM pf_refund_requests WHERE status = $1"
                                    " ORDER BY created_ms DESC, id DESC LIMIT $2",
                                    "ti", l->status, (int64_t)l->max);
    if (!st)
        return err->code;
    int rc;
    while (l->n < l->max && (rc = pay_store_step(st, err)) == 1)
        request_from_row(st, &l->out[l->n++]);
    pay_store_done(st);
    return PAY_ERR_OK;
}

enum pay_err pay_platform_refund_requests_list(struct pay_platform *p, const char *trade_id,
                                               const char *status,
                                               struct pay_platform_refund_request *out, size_t max,
                                               size_t *n_out, struct pay_error *err)
{
    struct list_ctx l = {trade_id, status, NULL, out, max, 0};
    enum pay_err e = pay_store_run_read(p->store, list_tx, &l, err);
    *n_out = l.n;
    return e;
}

enum pay_err pay_platform_refund_requests_of_merchant(struct pay_platform *p,
                                                      const char *merchant_id,
                                                      struct pay_platform_refund_request *out,
                                                      size_t max, size_t *n_out,
                                                      struct pay_error *err)
{
    struct list_ctx l = {NULL, NULL, merchant_id, out, max, 0};
    enum pay_err e = pay_store_run_read(p->store, list_tx, &l, err);
    *n_out = l.n;
    return e;
}

struct get_ctx {
    const char *merchant_id, *id;
    struct pay_platform_refund_request *r;
};

static enum pay_err get_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct get_ctx *g = ctx;
    int rc = request_load(tx, g->id, g->r, err);
    if (rc < 0)
        return err->code;
    if (rc == 0 || strcmp(g->r->merchant_id, g->merchant_id) != 0) /* not the caller's */
        return pay_error_set(err, PAY_ERR_REFUND_REQUEST_NOT_FOUND, "request_id", NULL);
    return PAY_ERR_OK;
}

enum pay_err pay_platform_refund_request_get(struct pay_platform *p, const char *merchant_id,
                                             const char *request_id,
                                             struct pay_platform_refund_request *r,
                                             struct pay_error *err)
{
    if (!request_id || !pay_id_valid(request_id, "rq"))
        return pay_error_set(err, PAY_ERR_REFUND_REQUEST_NOT_FOUND, "request_id", NULL);
    struct get_ctx g = {merchant_id, request_id, r};
    return pay_store_run_read(p->store, get_tx, &g, err);
}

/* --- deciding --------------------------------------------------------------------------- */

struct decide_cmd {
    struct pay_platform *p;
    const char *merchant_id, *trade_id, *request_id, *reason;
    bool approve;
    struct pay_platform_refund_request *out;
    char refund_id[PAY_ID_MAX];
};

/* The refund of an approval: out_refund_no is the request's id, so it is made once. */
static enum pay_err run_refund(struct decide_cmd *c, struct pay_store_tx *tx,
                               struct pay_platform_refund_request *r, struct pay_error *err)
{
    struct pay_platform_refund f = {.amount_minor = r->amount_minor};
    pay_str_copy(f.id, sizeof f.id, c->refund_id);
    pay_str_copy(f.trade_id, sizeof f.trade_id, r->trade_id);
    pay_str_copy(f.merchant_id, sizeof f.merchant_id, r->merchant_id);
    pay_str_copy(f.out_refund_no, sizeof f.out_refund_no, r->id);
    pay_str_copy(f.currency, sizeof f.currency, r->currency);
    pay_str_copy(f.reason, sizeof f.reason, r->reason);
    if (!c->merchant_id)
        pay_str_copy(f.actor, sizeof f.actor, "operator");
    enum pay_err e = pay_platform_refund_create_tx(c->p, tx, &f, err);
    if (e == PAY_ERR_OK)
        pay_str_copy(r->refund_id, sizeof r->refund_id, f.id);
    return e;
}

static enum pay_err decide_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct decide_cmd *c = ctx;
    struct pay_platform_refund_request *r = c->out;
    if (!c->approve && (!c->reason || !c->reason[0]))
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "reason", "a rejection says why");
    int rc = request_load(tx, c->request_id, r, err);
    if (rc < 0)
        return err->code;
    /* another merchant's request, or one of another trade, does not exist for the caller */
    if (rc == 0 || strcmp(r->trade_id, c->trade_id) != 0 ||
        (c->merchant_id && strcmp(r->merchant_id, c->merchant_id) != 0))
        return pay_error_set(err, PAY_ERR_REFUND_REQUEST_NOT_FOUND, "request_id", NULL);
    const char *waiting = c->merchant_id ? PAY_RR_WAIT_MERCHANT : PAY_RR_WAIT_OPERATOR;
    if (strcmp(r->status, waiting) != 0)
        return pay_error_set(err, PAY_ERR_REFUND_REQUEST_STATE_INVALID, "request_id",
                             "the request is %s; %s decides only while it is %s", r->status,
                             c->merchant_id ? "the merchant" : "the operator", waiting);
    enum pay_err e = PAY_ERR_OK;
    request_move(r, c->approve ? PAY_RR_APPROVED : PAY_RR_REJECTED);
    r->decided_ms = pay_clock_now_ms();
    pay_str_copy(r->decided_by, sizeof r->decided_by, c->merchant_id ? "merchant" : "operator");
    if (c->approve)
        e = run_refund(c, tx, r, err);
    else
        pay_str_copy(r->reject_reason, sizeof r->reject_reason, c->reason);
    if (e == PAY_ERR_OK)
        e = request_save(tx, r, err);
    char actor[PAY_AUDIT_TEXT_MAX];
    snprintf(actor, sizeof actor, "%s%s", c->merchant_id ? "merchant:" : "operator",
             c->merchant_id ? c->merchant_id : "");
    if (e == PAY_ERR_OK)
        e = request_notify(c->p, tx, r->trade_id, r, actor, c->approve ? "approve" : "reject", err);
    return e;
}

enum pay_err pay_platform_refund_request_decide_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                                   const char *merchant_id, const char *trade_id,
                                                   const char *request_id, bool approve,
                                                   const char *reason, const char *refund_id,
                                                   struct pay_platform_refund_request *out,
                                                   struct pay_error *err)
{
    struct decide_cmd c = {p, merchant_id, trade_id, request_id, reason, approve, out, ""};
    pay_str_copy(c.refund_id, sizeof c.refund_id, refund_id);
    return decide_apply(tx, &c, err);
}

enum pay_err pay_platform_refund_request_decide(struct pay_platform *p, const char *merchant_id,
                                                const char *trade_id, const char *request_id,
                                                bool approve, const char *reason,
                                                struct pay_platform_refund_request *out,
                                                struct pay_error *err)
{
    struct decide_cmd c = {p, merchant_id, trade_id, request_id, reason, approve, out, ""};
    enum pay_err e = pay_id_new("rf", c.refund_id);
    if (e != PAY_ERR_OK)
        return pay_error_set(err, e, "", "no randomness for an id");
    e = pay_committer_submit(p->committer, decide_apply, &c, err);
    if (e == PAY_ERR_OK)
        pay_platform_wake(p);
    return e;
}

/* --- the deadline ----------------------------------------------------------------------- */

struct escalate_cmd {
    struct pay_platform *p;
    const char *id;
};

static enum pay_err escalate_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    const struct escalate_cmd *c = ctx;
    struct pay_platform_refund_request r;
    int rc = request_load(tx, c->id, &r, err);
    if (rc < 0)
        return err->code;
    if (rc == 0 || strcmp(r.status, PAY_RR_WAIT_MERCHANT) != 0 ||
        pay_clock_now_ms() < r.deadline_ms)
        return pay_error_set(err, PAY_ERR_REFUND_REQUEST_STATE_INVALID, "request_id", "not due");
    request_move(&r, PAY_RR_WAIT_OPERATOR);
    enum pay_err e = request_save(tx, &r, err);
    return e == PAY_ERR_OK ? request_notify(c->p, tx, r.trade_id, &r, "system", "to_operator", err)
                           : e;
}

void pay_platform_refund_request_work(struct pay_platform *p)
{
    char ids[PAY_PLATFORM_SWEEP_BATCH][PAY_ID_MAX];
    struct pay_error err = {0};
    size_t n = pay_platform_due_ids(p,
                                    "SELECT id FROM pf_refund_requests WHERE status ="
                                    " 'WAIT_MERCHANT' AND deadline_ms <= $1"
                                    " ORDER BY deadline_ms LIMIT $2",
                                    pay_clock_now_ms(), ids, PAY_PLATFORM_SWEEP_BATCH);
    for (size_t i = 0; i < n && !atomic_load(&p->stopping); i++) {
        struct escalate_cmd c = {p, ids[i]};
        enum pay_err e = pay_committer_submit(p->committer, escalate_apply, &c, &err);
        PAY_INFO("refund_request.to_operator", "request=%s result=%s", ids[i], pay_err_name(e));
    }
    if (n > 0)
        pay_platform_wake(p);
}
