/* Trades: creation, reading, and the state machine of docs/platform.md (escrow's own moves are
 * made in escrow.c).
 * Every transition runs in ONE committer command (pay_committer_submit): the row update, its
 * ledger transfers and its notification outbox row commit together or not at all. */
#include "platform/platform.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "crypto/ids.h"
#include "core/money.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <string.h>

#define TRADE_COLS                                                                                 \
    "id, merchant_id, out_trade_no, amount_minor, currency, subject, body, notify_url,"            \
    " return_url, product, state, created_ms, expire_ms, paid_ms, closed_ms, finished_ms,"         \
    " pay_method, payer, fee_minor, refunded_minor, fee_refunded_minor, close_reason,"             \
    " buyer_id, ship_due_ms, shipped_ms, confirm_due_ms, logistics_company, tracking_no,"          \
    " COALESCE((SELECT r.status FROM pf_risk_reviews r WHERE r.trade_id = pf_trades.id), '')"

static const struct pay_state_move trade_moves[] = {
    {PAY_TRADE_WAIT_BUYER_PAY, PAY_TRADE_SUCCESS},
    {PAY_TRADE_WAIT_BUYER_PAY, PAY_TRADE_CLOSED},
    {PAY_TRADE_SUCCESS, PAY_TRADE_FINISHED},
    {PAY_TRADE_SUCCESS, PAY_TRADE_CLOSED},
    /* escrow: paid into escrow, shipped, received (or refunded in full) */
    {PAY_TRADE_WAIT_BUYER_PAY, PAY_TRADE_WAIT_SEND},
    {PAY_TRADE_WAIT_SEND, PAY_TRADE_WAIT_CONFIRM},
    {PAY_TRADE_WAIT_CONFIRM, PAY_TRADE_FINISHED},
    {PAY_TRADE_WAIT_SEND, PAY_TRADE_CLOSED},
    {PAY_TRADE_WAIT_CONFIRM, PAY_TRADE_CLOSED},
};

bool pay_platform_trade_in_escrow(const struct pay_platform_trade *t)
{
    return strcmp(t->state, PAY_TRADE_WAIT_SEND) == 0 ||
           strcmp(t->state, PAY_TRADE_WAIT_CONFIRM) == 0;
}

bool pay_platform_trade_move_legal(const char *from, const char *to)
{
    return pay_state_move_legal(trade_moves, PAY_STATE_MOVES(trade_moves), from, to);
}

void pay_platform_trade_check(const struct pay_platform_trade *t)
{
    PAY_ASSERT_MSG(t->amount_minor > 0 && t->amount_minor <= PAY_AMOUNT_MAX_MINOR, "trade %s",
                   t->id);
    PAY_ASSERT_MSG(t->fee_minor >= 0 && t->fee_minor <= t->amount_minor, "trade %s fee", t->id);
    PAY_ASSERT_MSG(t->refunded_minor >= 0 && t->refunded_minor <= t->amount_minor,
                   "trade %s refunded", t->id);
    PAY_ASSERT_MSG(t->fee_refunded_minor >= 0 && t->fee_refunded_minor <= t->fee_minor,
                   "trade %s fee refunded", t->id);
}

void pay_platform_trade_move(struct pay_platform_trade *t, const char *to)
{
    PAY_ASSERT_MSG(pay_platform_trade_move_legal(t->state, to), "trade %s: %s -> %s", t->id,
                   t->state, to);
    pay_platform_trade_check(t);
    pay_str_copy(t->state, sizeof t->state, to);
}

static void trade_from_row(struct pay_store_stmt *st, struct pay_platform_trade *t)
{
    pay_store_col_copy(st, 0, t->id, sizeof t->id);
    pay_store_col_copy(st, 1, t->merchant_id, sizeof t->merchant_id);
    pay_store_col_copy(st, 2, t->out_trade_no, sizeof t->out_trade_no);
    t->amount_minor = pay_store_col_int64(st, 3);
    pay_store_col_copy(st, 4, t->currency, sizeof t->currency);
    pay_store_col_copy(st, 5, t->subject, sizeof t->subject);
    pay_store_col_copy(st, 6, t->body, sizeof t->body);
    pay_store_col_copy(st, 7, t->notify_url, sizeof t->notify_url);
    pay_store_col_copy(st, 8, t->return_url, sizeof t->return_url);
    pay_store_col_copy(st, 9, t->product, sizeof t->product);
    pay_store_col_copy(st, 10, t->state, sizeof t->state);
    t->created_ms = pay_store_col_int64(st, 11);
    t->expire_ms = pay_store_col_int64(st, 12);
    t->paid_ms = pay_store_col_int64(st, 13);
    t->closed_ms = pay_store_col_int64(st, 14);
    t->finished_ms = pay_store_col_int64(st, 15);
    pay_store_col_copy(st, 16, t->pay_method, sizeof t->pay_method);
    pay_store_col_copy(st, 17, t->payer, sizeof t->payer);
    t->fee_minor = pay_store_col_int64(st, 18);
    t->refunded_minor = pay_store_col_int64(st, 19);
    t->fee_refunded_minor = pay_store_col_int64(st, 20);
    pay_store_col_copy(st, 21, t->close_reason, sizeof t->close_reason);
    pay_store_col_copy(st, 22, t->buyer_id, sizeof t->buyer_id);
    t->ship_due_ms = pay_store_col_int64(st, 23);
    t->shipped_ms = pay_store_col_int64(st, 24);
    t->confirm_due_ms = pay_store_col_int64(st, 25);
    pay_store_col_copy(st, 26, t->logistics_company, sizeof t->logistics_company);
    pay_store_col_copy(st, 27, t->tracking_no, sizeof t->tracking_no);
    pay_store_col_copy(st, 28, t->risk_review, sizeof t->risk_review);
}

enum pay_err pay_platform_trade_save(struct pay_store_tx *tx, const struct pay_platform_trade *t,
                                     struct pay_error *err)
{
    pay_platform_trade_check(t);
    /* Nobody reads its answer (the row is the caller's, loaded in this transaction): queued on
     * PostgreSQL, its failure the body's (pay_store_exec_deferred). */
    return pay_store_exec_deferred(
        tx, err,
        "UPDATE pf_trades SET state = $1, paid_ms = $2, closed_ms = $3, finished_ms = $4,"
        " pay_method = $5, payer = $6, fee_minor = $7, refunded_minor = $8,"
        " fee_refunded_minor = $9, close_reason = $10, buyer_id = $11, ship_due_ms = $12,"
        " shipped_ms = $13, confirm_due_ms = $14, logistics_company = $15, tracking_no = $16"
        " WHERE id = $17",
        "tiiittiiittiiittt", t->state, t->paid_ms, t->closed_ms, t->finished_ms, t->pay_method,
        t->payer, t->fee_minor, t->refunded_minor, t->fee_refunded_minor, t->close_reason,
        t->buyer_id, t->ship_due_ms, t->shipped_ms, t->confirm_due_ms, t->logistics_company,
        t->tracking_no, t->id);
}

enum pay_err pay_platform_trade_load(struct pay_store_tx *tx, const char *merchant_id,
                                     const char *id, const char *out_trade_no,
                                     struct pay_platform_trade *t, struct pay_error *err)
{
    struct pay_store_stmt *st;
    if (id)
        st =
            pay_store_query(tx, err, "SELECT " TRADE_COLS " FROM pf_trades WHERE id = $1", "t", id);
    else
        st = pay_store_query(tx, err,
                             "SELECT " TRADE_COLS
                             " FROM pf_trades WHERE merchant_id = $1 AND out_trade_no = $2",
                             "tt", merchant_id, out_trade_no);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    if (rc == 1)
        trade_from_row(st, t);
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    /* Another merchant's trade is "not found": its existence is not theirs to learn. */
    if (rc == 0 || (merchant_id && strcmp(t->merchant_id, merchant_id) != 0))
        return pay_error_set(err, PAY_ERR_TRADE_NOT_FOUND, id ? "trade_id" : "out_trade_no", NULL);
    return PAY_ERR_OK;
}

struct get_ctx {
    const char *merchant_id, *id, *out_trade_no;
    struct pay_platform_trade *t;
};

static enum pay_err get_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct get_ctx *g = ctx;
    return pay_platform_trade_load(tx, g->merchant_id, g->id, g->out_trade_no, g->t, err);
}

enum pay_err pay_platform_trade_get(struct pay_platform *p, const char *merchant_id, const char *id,
                                    const char *out_trade_no, struct pay_platform_trade *t,
                                    struct pay_error *err)
{
    struct get_ctx g = {merchant_id, id, out_trade_no, t};
    return pay_store_run_read(p->store, get_tx, &g, err);
}

/* --- create ---------------------------------------------------------------------------- */

struct cmd {
    struct pay_platform *p;
    struct pay_platform_trade *t;
    const struct pay_platform_payment *pm;
    const char *merchant_id, *trade_id, *reason;
};

static enum pay_err create_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct cmd *c = ctx;
    struct pay_platform_trade *t = c->t;
    enum pay_err e = pay_store_exec(
        tx, err,
        "INSERT INTO pf_trades (id, merchant_id, out_trade_no, amount_minor, currency, subject,"
        " body, notify_url, return_url, product, state, created_ms, expire_ms)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
        "tttitttttttii", t->id, t->merchant_id, t->out_trade_no, t->amount_minor, t->currency,
        t->subject, t->body, t->notify_url, t->return_url, t->product, t->state, t->created_ms,
        t->expire_ms);
    if (e == PAY_ERR_DB_CONSTRAINT)
        e = pay_error_set(err, PAY_ERR_DUPLICATE, "out_trade_no", "out_trade_no %s was used before",
                          t->out_trade_no);
    if (e != PAY_ERR_OK)
        return e;
    char actor[PAY_AUDIT_TEXT_MAX], detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(actor, sizeof actor, "merchant:%s", t->merchant_id);
    snprintf(detail, sizeof detail, "amount_minor=%lld currency=%s out_trade_no=%s",
             (long long)t->amount_minor, t->currency, t->out_trade_no);
    return pay_platform_audit(
        c->p, tx,
        &(struct pay_audit_entry){
            .actor = actor, .action = "trade.create", .target = t->id, .detail = detail},
        err);
}

enum pay_err pay_platform_trade_prepare(struct pay_platform_trade *t, struct pay_error *err)
{
    enum pay_err e = pay_id_new("tr", t->id);
    if (e != PAY_ERR_OK)
        return pay_error_set(err, e, "", "no randomness for an id");
    pay_str_copy(t->state, sizeof t->state, PAY_TRADE_WAIT_BUYER_PAY);
    t->fee_minor = t->refunded_minor = t->fee_refunded_minor = 0;
    pay_platform_trade_check(t); /* the amount's cap was checked when it was parsed */
    t->created_ms = pay_clock_now_ms();
    t->expire_ms += t->created_ms; /* the caller put the timeout there */
    return PAY_ERR_OK;
}

enum pay_err pay_platform_trade_create_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                          const struct pay_platform_trade *t, struct pay_error *err)
{
    struct cmd c = {.p = p, .t = (struct pay_platform_trade *)t}; /* create_apply only reads it */
    return create_apply(tx, &c, err);
}

enum pay_err pay_platform_trade_create(struct pay_platform *p, struct pay_platform_trade *t,
                                       struct pay_error *err)
{
    enum pay_err e = pay_platform_trade_prepare(t, err);
    if (e != PAY_ERR_OK)
        return e;
    struct cmd c = {.p = p, .t = t};
    return pay_committer_submit(p->committer, create_apply, &c, err);
}

/* --- pay ------------------------------------------------------------------------------- */

/* The first failing result of a linked chain (the others say LINKED_EVENT_FAILED). */
static enum pay_ledger_result first_failure(const enum pay_ledger_result *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (r[i] != PAY_LEDGER_OK && r[i] != PAY_LEDGER_LINKED_EVENT_FAILED)
            return r[i];
    return PAY_LEDGER_OK;
}

static void xfer(struct pay_ledger_transfer *x, const char *suffix, const char *trade_id,
                 const char *debit, const char *credit, int64_t amount, const char *currency,
                 int32_t code)
{
    memset(x, 0, sizeof *x);
    snprintf(x->id, sizeof x->id, "%s.%s", trade_id, suffix);
    pay_str_copy(x->debit_account_id, sizeof x->debit_account_id, debit);
    pay_str_copy(x->credit_account_id, sizeof x->credit_account_id, credit);
    pay_str_copy(x->currency, sizeof x->currency, currency);
    x->amount_minor = amount;
    x->code = code;
    pay_str_copy(x->user_data, sizeof x->user_data, trade_id);
}

/* Source -> merchant (amount), then merchant -> fees (fee), linked: all or nothing. An escrow
 * trade's money goes to the merchant's escrow account instead, without a fee (fee 0 here; it
 * is taken when the money is released, escrow.c). */
static enum pay_err book_payment(struct cmd *c, struct pay_store_tx *tx,
                                 struct pay_platform_trade *t, bool escrow, struct pay_error *err)
{
    char src[PAY_LEDGER_ID_MAX + 1], mch[PAY_LEDGER_ID_MAX + 1], fees[PAY_LEDGER_ID_MAX + 1];
    enum pay_err e;
    PAY_ASSERT_MSG(!escrow || t->fee_minor == 0, "trade %s: escrow fee at payment", t->id);
    if ((e = pay_platform_account_ensure(c->p, tx, c->pm->source_kind, c->pm->source_owner,
                                         t->currency, src, err)) != PAY_ERR_OK ||
        (e = pay_platform_account_ensure(c->p, tx,
                                         escrow ? PAY_PF_ACCT_ESCROW : PAY_PF_ACCT_MERCHANT,
                                         t->merchant_id, t->currency, mch, err)) != PAY_ERR_OK ||
        (e = pay_platform_account_ensure(c->p, tx, PAY_PF_ACCT_FEES, "", t->currency, fees, err)) !=
            PAY_ERR_OK)
        return e;
    pay_platform_trade_check(t); /* 0 <= fee <= amount: the fee is part of the payment */
    struct pay_ledger_transfer x[2];
    enum pay_ledger_result r[2] = {PAY_LEDGER_OK, PAY_LEDGER_OK};
    size_t n = t->fee_minor > 0 ? 2 : 1;
    xfer(&x[0], "pay", t->id, src, mch, t->amount_minor, t->currency, PAY_PF_XFER_PAY);
    xfer(&x[1], "fee", t->id, mch, fees, t->fee_minor, t->currency, PAY_PF_XFER_FEE);
    if (c->pm->hold_id && c->pm->hold_id[0]) { /* an approved risk review: the money held */
        x[0].flags = PAY_LEDGER_TF_POST_PENDING;
        pay_str_copy(x[0].pending_id, sizeof x[0].pending_id, c->pm->hold_id);
    }
    if (n == 2)
        x[0].flags |= PAY_LEDGER_TF_LINKED;
    e = pay_ledger_tx_transfers(c->p->ledger, tx, x, n, r, err);
    if (e != PAY_ERR_OK)
        return e;
    return pay_platform_ledger_error(first_failure(r, n), err);
}

/* The payment's audit entry: the consumer paid from their wallet or card, a bank's
 * notification or QR payment names the bank. */
static enum pay_err audit_payment(struct cmd *c, struct pay_store_tx *tx,
                                  const struct pay_platform_trade *t, struct pay_error *err)
{
    bool consumer = c->pm->source_kind == PAY_PF_ACCT_WALLET;
    char actor[PAY_AUDIT_TEXT_MAX], detail[PAY_AUDIT_DETAIL_MAX];
    bool chain = strcmp(c->pm->method, "chain") == 0; /* docs/chain.md: the watcher */
    snprintf(actor, sizeof actor, "%s:%s",
             consumer ? "consumer"
             : chain  ? "chain"
                      : "bank",
             c->pm->source_owner);
    snprintf(detail, sizeof detail,
             "amount_minor=%lld currency=%s method=%s fee_minor=%lld merchant=%s%s%s",
             (long long)t->amount_minor, t->currency, c->pm->method, (long long)t->fee_minor,
             t->merchant_id, c->pm->reference && c->pm->reference[0] ? " reference=" : "",
             c->pm->reference ? c->pm->reference : "");
    return pay_platform_audit(
        c->p, tx,
        &(struct pay_audit_entry){
            .actor = actor, .action = "trade.pay", .target = t->id, .detail = detail},
        err);
}

static enum pay_err pay_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct cmd *c = ctx;
    struct pay_platform_trade t;
    enum pay_err e = pay_platform_trade_load(tx, NULL, c->trade_id, NULL, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    int64_t now = pay_clock_now_ms();
    /* Money a bank already took is accepted until the sweeper closes the trade. */
    bool expired = now >= t.expire_ms && !c->pm->allow_expired;
    if (strcmp(t.state, PAY_TRADE_WAIT_BUYER_PAY) != 0 || expired)
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "trade_id", "trade is %s",
                             expired && strcmp(t.state, PAY_TRADE_WAIT_BUYER_PAY) == 0 ? "expired"
                                                                                       : t.state);
    /* Held for a risk review: only the operator's approval pays it (its money is reserved in
     * the consumer's wallet); a bank's money for it is sent back as for a closed trade. */
    if (strcmp(t.risk_review, "pending") == 0 && !c->pm->hold_id)
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "trade_id",
                             "its payment is held for a risk review");
    bool escrow = strcmp(t.product, "escrow") == 0;
    t.fee_minor = 0;
    /* The fee terms are read inside the transaction so they are those at payment time. */
    if (!escrow && (e = pay_platform_merchant_fee_tx(tx, t.merchant_id, t.amount_minor,
                                                     &t.fee_minor, err)) != PAY_ERR_OK)
        return e;
    if ((e = book_payment(c, tx, &t, escrow, err)) != PAY_ERR_OK)
        return e;
    pay_platform_trade_move(&t, escrow ? PAY_TRADE_WAIT_SEND : PAY_TRADE_SUCCESS);
    t.paid_ms = now;
    if (escrow) /* both bounded (settings), no overflow */
        t.ship_due_ms = now + c->p->set.escrow_ship_timeout_ms;
    pay_str_copy(t.pay_method, sizeof t.pay_method, c->pm->method);
    pay_str_copy(t.payer, sizeof t.payer, c->pm->source_owner);
    const char *buyer = c->pm->buyer
                            ? c->pm->buyer
                            : (c->pm->source_kind == PAY_PF_ACCT_WALLET ? c->pm->source_owner : "");
    pay_str_copy(t.buyer_id, sizeof t.buyer_id, buyer);
    e = pay_platform_trade_save(tx, &t, err);
    if (e == PAY_ERR_OK)
        e = audit_payment(c, tx, &t, err);
    if (e == PAY_ERR_OK) /* its leaf in the transparency log: with the payment or not at all */
        e = pay_platform_receipt_leaf(tx, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    return pay_platform_notify_enqueue(tx, &t, "trade.state", NULL, err);
}

enum pay_err pay_platform_trade_pay_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                       const char *trade_id, const struct pay_platform_payment *pm,
                                       struct pay_error *err)
{
    struct cmd c = {.p = p, .pm = pm, .trade_id = trade_id};
    return pay_apply(tx, &c, err);
}

enum pay_err pay_platform_trade_pay(struct pay_platform *p, const char *trade_id,
                                    const struct pay_platform_payment *pm, struct pay_error *err)
{
    struct cmd c = {.p = p, .pm = pm, .trade_id = trade_id};
    return pay_committer_submit(p->committer, pay_apply, &c, err);
}

/* --- close and finish -------------------------------------------------------------------- */

static enum pay_err close_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct cmd *c = ctx;
    struct pay_platform_trade t;
    enum pay_err e = pay_platform_trade_load(tx, c->merchant_id, c->trade_id, NULL, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    int64_t now = pay_clock_now_ms();
    bool expire = strcmp(c->reason, "expired") == 0;
    bool rejected = strcmp(c->reason, "risk_rejected") == 0; /* the operator's risk review */
    if (strcmp(t.state, PAY_TRADE_WAIT_BUYER_PAY) != 0 || (expire && now < t.expire_ms))
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "trade_id",
                             "trade is %s; only an unpaid trade can be closed", t.state);
    /* Its payment is held (the consumer's money reserved): the operator's decision closes or
     * pays it, neither the merchant nor the clock (docs/risk.md, "Review"). */
    if (strcmp(t.risk_review, "pending") == 0)
        return pay_error_set(err, PAY_ERR_RISK_REVIEW, "trade_id",
                             "its payment is held for a risk review: the platform approves it"
                             " (then refund it) or rejects it (then it closes)");
    pay_platform_trade_move(&t, PAY_TRADE_CLOSED);
    t.closed_ms = now;
    pay_str_copy(t.close_reason, sizeof t.close_reason, c->reason);
    e = pay_store_exec(tx, err,
                       "UPDATE pf_trades SET state = $1, closed_ms = $2, close_reason = $3"
                       " WHERE id = $4",
                       "titt", t.state, t.closed_ms, t.close_reason, t.id);
    char actor[PAY_AUDIT_TEXT_MAX];
    snprintf(actor, sizeof actor, "merchant:%s", t.merchant_id);
    if (e == PAY_ERR_OK)
        e = pay_platform_audit(c->p, tx,
                               &(struct pay_audit_entry){.actor = expire     ? "system"
                                                                  : rejected ? "operator"
                                                                             : actor,
                                                         .action = "trade.close",
                                                         .target = t.id,
                                                         .detail = c->reason},
                               err);
    if (e != PAY_ERR_OK)
        return e;
    return pay_platform_notify_enqueue(tx, &t, "trade.state", NULL, err);
}

enum pay_err pay_platform_trade_close_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                         const char *merchant_id, const char *trade_id,
                                         const char *reason, struct pay_error *err)
{
    struct cmd c = {.p = p, .merchant_id = merchant_id, .trade_id = trade_id, .reason = reason};
    return close_apply(tx, &c, err);
}

enum pay_err pay_platform_trade_close(struct pay_platform *p, const char *merchant_id,
                                      const char *trade_id, const char *reason,
                                      struct pay_error *err)
{
    struct cmd c = {.p = p, .merchant_id = merchant_id, .trade_id = trade_id, .reason = reason};
    return pay_committer_submit(p->committer, close_apply, &c, err);
}

static enum pay_err finish_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct cmd *c = ctx;
    struct pay_platform_trade t;
    enum pay_err e = pay_platform_trade_load(tx, NULL, c->trade_id, NULL, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    int64_t now = pay_clock_now_ms();
    if (strcmp(t.state, PAY_TRADE_SUCCESS) != 0 || now < t.paid_ms + c->p->set.refund_window_ms)
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "trade_id", NULL);
    pay_platform_trade_move(&t, PAY_TRADE_FINISHED);
    t.finished_ms = now;
    e = pay_store_exec(tx, err, "UPDATE pf_trades SET state = $1, finished_ms = $2 WHERE id = $3",
                       "tit", t.state, t.finished_ms, t.id);
    if (e != PAY_ERR_OK)
        return e;
    return pay_platform_notify_enqueue(tx, &t, "trade.state", NULL, err);
}

enum pay_err pay_platform_trade_finish(struct pay_platform *p, const char *trade_id,
                                       struct pay_error *err)
{
    struct cmd c = {.p = p, .trade_id = trade_id};
    return pay_committer_submit(p->committer, finish_apply, &c, err);
}
