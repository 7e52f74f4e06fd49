/* Refunds of paid trades: partial and repeated, never above what was paid (checked inside
 * the committer's serial transaction, so concurrent requests cannot overshoot), idempotent
 * per (trade, out_refund_no), with the refunded share of the fee returned by the fee account
 * so a fully refunded trade leaves no fee behind. */
#include "platform/platform.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "crypto/ids.h"
#include "core/money.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <string.h>

#define REFUND_COLS                                                                                \
    "id, trade_id, merchant_id, out_refund_no, amount_minor, fee_minor, currency, reason,"         \
    " status, created_ms"

static void refund_from_row(struct pay_store_stmt *st, struct pay_platform_refund *r)
{
    pay_store_col_copy(st, 0, r->id, sizeof r->id);
    pay_store_col_copy(st, 1, r->trade_id, sizeof r->trade_id);
    pay_store_col_copy(st, 2, r->merchant_id, sizeof r->merchant_id);
    pay_store_col_copy(st, 3, r->out_refund_no, sizeof r->out_refund_no);
    r->amount_minor = pay_store_col_int64(st, 4);
    r->fee_minor = pay_store_col_int64(st, 5);
    pay_store_col_copy(st, 6, r->currency, sizeof r->currency);
    pay_store_col_copy(st, 7, r->reason, sizeof r->reason);
    pay_store_col_copy(st, 8, r->status, sizeof r->status);
    r->created_ms = pay_store_col_int64(st, 9);
}

/* 1 found (into *r), 0 not found, -1 error. */
static int refund_load(struct pay_store_tx *tx, const char *trade_id, const char *id,
                       const char *out_refund_no, struct pay_platform_refund *r,
                       struct pay_error *err)
{
    struct pay_store_stmt *st =
        id ? pay_store_query(
                 tx, err, "SELECT " REFUND_COLS " FROM pf_refunds WHERE id = $1 AND trade_id = $2",
                 "tt", id, trade_id)
           : pay_store_query(tx, err,
                             "SELECT " REFUND_COLS
                             " FROM pf_refunds WHERE trade_id = $1 AND out_refund_no = $2",
                             "tt", trade_id, out_refund_no);
    if (!st)
        return -1;
    int rc = pay_store_step(st, err);
    if (rc == 1)
        refund_from_row(st, r);
    pay_store_done(st);
    return rc;
}

/* The fee share refunded once `refunded` of `amount` is back: proportional, rounded toward
 * zero so the running total never decreases and never passes the fee; all of it at the end. */
static int64_t fee_share_total(int64_t fee, int64_t refunded, int64_t amount)
{
    if (refunded >= amount)
        return fee;
    __extension__ typedef __int128 wide;
    return (int64_t)((wide)fee * (wide)refunded / (wide)amount);
}

struct cmd {
    struct pay_platform *p;
    struct pay_platform_refund *r;
};

static enum pay_err book_refund(struct cmd *c, struct pay_store_tx *tx,
                                const struct pay_platform_trade *t, bool to_wallet,
                                struct pay_error *err)
{
    char mch[PAY_LEDGER_ID_MAX + 1], fees[PAY_LEDGER_ID_MAX + 1], dst[PAY_LEDGER_ID_MAX + 1];
    enum pay_err e;
    /* Money still in escrow comes back from there (its fee is not taken yet: fee_minor 0). */
    bool escrow = pay_platform_trade_in_escrow(t);
    PAY_ASSERT_MSG(!escrow || c->r->fee_minor == 0, "refund %s from escrow", c->r->id);
    if ((e = pay_platform_account_ensure(c->p, tx,
                                         escrow ? PAY_PF_ACCT_ESCROW : PAY_PF_ACCT_MERCHANT,
                                         t->merchant_id, t->currency, mch, err)) != PAY_ERR_OK ||
        (e = pay_platform_account_ensure(c->p, tx, PAY_PF_ACCT_FEES, "", t->currency, fees, err)) !=
            PAY_ERR_OK ||
        (e = pay_platform_account_ensure(
             c->p, tx, to_wallet ? PAY_PF_ACCT_WALLET : PAY_PF_ACCT_REFUND_FLIGHT,
             to_wallet ? t->payer : "", t->currency, dst, err)) != PAY_ERR_OK)
        return e;
    struct pay_ledger_transfer x[2];
    enum pay_ledger_result res[2] = {PAY_LEDGER_OK, PAY_LEDGER_OK};
    size_t n = 0;
    int64_t net = 0; /* to the payer from the merchant; the fee share comes from the fees */
    enum pay_err ne = pay_money_sub(c->r->amount_minor, c->r->fee_minor, &net);
    PAY_ASSERT_MSG(ne == PAY_ERR_OK && net >= 0, "refund %s", c->r->id);
    memset(x, 0, sizeof x);
    if (net > 0) {
        snprintf(x[n].id, sizeof x[n].id, "%s.refund", c->r->id);
        pay_str_copy(x[n].debit_account_id, sizeof x[n].debit_account_id, mch);
        x[n].amount_minor = net;
        x[n++].code = PAY_PF_XFER_REFUND;
    }
    if (c->r->fee_minor > 0) {
        snprintf(x[n].id, sizeof x[n].id, "%s.fee", c->r->id);
        pay_str_copy(x[n].debit_account_id, sizeof x[n].debit_account_id, fees);
        x[n].amount_minor = c->r->fee_minor;
        x[n++].code = PAY_PF_XFER_REFUND_FEE;
    }
    for (size_t i = 0; i < n; i++) {
        pay_str_copy(x[i].credit_account_id, sizeof x[i].credit_account_id, dst);
        pay_str_copy(x[i].currency, sizeof x[i].currency, t->currency);
        pay_str_copy(x[i].user_data, sizeof x[i].user_data, t->id);
        if (i + 1 < n)
            x[i].flags |= PAY_LEDGER_TF_LINKED;
    }
    if ((e = pay_ledger_tx_transfers(c->p->ledger, tx, x, n, res, err)) != PAY_ERR_OK)
        return e;
    for (size_t i = 0; i < n; i++)
        if (res[i] != PAY_LEDGER_OK && res[i] != PAY_LEDGER_LINKED_EVENT_FAILED)
            return pay_platform_ledger_error(res[i], err);
    return PAY_ERR_OK;
}

static enum pay_err refund_check(struct cmd *c, struct pay_store_tx *tx,
                                 struct pay_platform_trade *t, struct pay_error *err)
{
    struct pay_platform_refund *r = c->r;
    enum pay_err e = pay_platform_trade_load(tx, r->merchant_id, r->trade_id, NULL, t, err);
    if (e != PAY_ERR_OK)
        return e;
    struct pay_platform_refund old;
    int rc = refund_load(tx, t->id, NULL, r->out_refund_no, &old, err);
    if (rc < 0)
        return err->code;
    if (rc == 1) { /* a retry of the same refund answers with the first one */
        if (old.amount_minor != r->amount_minor)
            return pay_error_set(err, PAY_ERR_DUPLICATE, "out_refund_no",
                                 "out_refund_no %s was used with another amount", r->out_refund_no);
        *r = old;
        return PAY_ERR_DUPLICATE; /* the caller turns this into success */
    }
    if (strcmp(r->currency, t->currency) != 0)
        return pay_error_set(err, PAY_ERR_CURRENCY_MISMATCH, "amount.currency", NULL);
    bool paid = strcmp(t->state, PAY_TRADE_SUCCESS) == 0 || pay_platform_trade_in_escrow(t);
    if (!paid && !(strcmp(t->state, PAY_TRADE_CLOSED) == 0 && t->paid_ms > 0))
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "trade_id",
                             "trade is %s; only a paid trade can be refunded", t->state);
    if (strcmp(t->pay_method, "chain") == 0) /* docs/chain.md, "Refunds": not built yet */
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "trade_id",
                             "a trade paid on chain is refunded on chain, which this version does"
                             " not do yet");
    pay_platform_trade_check(t); /* refunded <= paid, as written */
    int64_t left = 0;
    e = pay_money_sub(t->amount_minor, t->refunded_minor, &left);
    PAY_ASSERT(e == PAY_ERR_OK && left >= 0);
    if (r->amount_minor > left)
        return pay_error_set(err, PAY_ERR_REFUND_EXCEEDS_PAID, "amount.value",
                             "at most %lld minor units are left to refund", (long long)left);
    return PAY_ERR_OK;
}

static enum pay_err refund_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct cmd *c = ctx;
    struct pay_platform_refund *r = c->r;
    struct pay_platform_trade t;
    r->created_ms = 0; /* apply may run again if the batch is retried */
    enum pay_err e = refund_check(c, tx, &t, err);
    if (e == PAY_ERR_DUPLICATE && r->created_ms > 0)
        return PAY_ERR_OK;
    if (e != PAY_ERR_OK)
        return e;
    int64_t refunded = 0; /* refund_check: at most what is left, so no overflow */
    e = pay_money_add(t.refunded_minor, r->amount_minor, &refunded);
    PAY_ASSERT_MSG(e == PAY_ERR_OK && refunded <= t.amount_minor, "trade %s", t.id);
    int64_t fee_total = fee_share_total(t.fee_minor, refunded, t.amount_minor);
    PAY_ASSERT_MSG(fee_total >= t.fee_refunded_minor && fee_total <= t.fee_minor, "trade %s", t.id);
    e = pay_money_sub(fee_total, t.fee_refunded_minor, &r->fee_minor);
    /* the fee share refunded is part of the refund: never more than it */
    PAY_ASSERT_MSG(e == PAY_ERR_OK && r->fee_minor <= r->amount_minor, "refund %s", r->id);
    bool to_wallet = strcmp(t.pay_method, "wallet") == 0 || strcmp(t.pay_method, "qr") == 0 ||
                     strcmp(t.pay_method, "agreement") == 0;
    pay_str_copy(r->status, sizeof r->status, to_wallet ? "SUCCESS" : "PROCESSING");
    r->created_ms = pay_clock_now_ms();
    if ((e = book_refund(c, tx, &t, to_wallet, err)) != PAY_ERR_OK)
        return e;
    e = pay_store_exec(tx, err,
                       "INSERT INTO pf_refunds (" REFUND_COLS ") VALUES"
                       " ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
                       "ttttiittti", r->id, t.id, r->merchant_id, r->out_refund_no, r->amount_minor,
                       r->fee_minor, r->currency, r->reason, r->status, r->created_ms);
    if (e != PAY_ERR_OK)
        return e;
    t.refunded_minor = refunded;
    t.fee_refunded_minor = fee_total;
    bool closes = refunded == t.amount_minor && strcmp(t.state, PAY_TRADE_CLOSED) != 0;
    if (closes) { /* fully refunded: TRADE_SUCCESS (or an escrow state) -> TRADE_CLOSED */
        pay_platform_trade_move(&t, PAY_TRADE_CLOSED);
        t.closed_ms = r->created_ms;
        pay_str_copy(t.close_reason, sizeof t.close_reason, "refunded");
    }
    pay_platform_trade_check(&t);
    e = pay_store_exec(tx, err,
                       "UPDATE pf_trades SET refunded_minor = $1, fee_refunded_minor = $2,"
                       " state = $3, closed_ms = $4, close_reason = $5 WHERE id = $6",
                       "iititt", t.refunded_minor, t.fee_refunded_minor, t.state, t.closed_ms,
                       t.close_reason, t.id);
    if (e != PAY_ERR_OK)
        return e;
    char actor[PAY_AUDIT_TEXT_MAX], detail[PAY_AUDIT_DETAIL_MAX];
    if (r->actor[0]) /* the platform's own refunds: "system", "operator" */
        pay_str_copy(actor, sizeof actor, r->actor);
    else
        snprintf(actor, sizeof actor, "merchant:%s", r->merchant_id);
    snprintf(detail, sizeof detail,
             "trade=%s amount_minor=%lld currency=%s fee_minor=%lld out_refund_no=%s status=%s",
             t.id, (long long)r->amount_minor, r->currency, (long long)r->fee_minor,
             r->out_refund_no, r->status);
    e = pay_platform_audit(
        c->p, tx,
        &(struct pay_audit_entry){
            .actor = actor, .action = "refund.create", .target = r->id, .detail = detail},
        err);
    if (e == PAY_ERR_OK)
        e = pay_platform_notify_enqueue(tx, &t, "refund", r->id, err);
    /* a state change like any other: its trade.state notification, in the same transaction */
    if (e == PAY_ERR_OK && closes)
        e = pay_platform_notify_enqueue(tx, &t, "trade.state", NULL, err);
    return e;
}

enum pay_err pay_platform_refund_create_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                           struct pay_platform_refund *r, struct pay_error *err)
{
    struct cmd c = {.p = p, .r = r};
    return refund_apply(tx, &c, err);
}

enum pay_err pay_platform_refund_create(struct pay_platform *p, struct pay_platform_refund *r,
                                        struct pay_error *err)
{
    enum pay_err e = pay_id_new("rf", r->id);
    if (e != PAY_ERR_OK)
        return pay_error_set(err, e, "", "no randomness for an id");
    r->created_ms = 0;
    struct cmd c = {.p = p, .r = r};
    return pay_committer_submit(p->committer, refund_apply, &c, err);
}

struct get_ctx {
    const char *merchant_id, *trade_id, *id, *out_refund_no;
    struct pay_platform_refund *r;
};

static enum pay_err get_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct get_ctx *g = ctx;
    struct pay_platform_trade t;
    enum pay_err e = pay_platform_trade_load(tx, g->merchant_id, g->trade_id, NULL, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    int rc = refund_load(tx, t.id, g->id, g->out_refund_no, g->r, err);
    if (rc < 0)
        return err->code;
    if (rc == 0)
        return pay_error_set(err, PAY_ERR_REFUND_NOT_FOUND, g->id ? "refund_id" : "out_refund_no",
                             NULL);
    return PAY_ERR_OK;
}

enum pay_err pay_platform_refund_get(struct pay_platform *p, const char *merchant_id,
                                     const char *trade_id, const char *id,
                                     const char *out_refund_no, struct pay_platform_refund *r,
                                     struct pay_error *err)
{
    struct get_ctx g = {merchant_id, trade_id, id, out_refund_no, r};
    return pay_store_run_read(p->store, get_tx, &g, err);
}

json_t *pay_platform_refund_json(const struct pay_platform_refund *r)
{
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:o}", "refund_id", r->id, "trade_id",
                     r->trade_id, "out_refund_no", r->out_refund_no, "amount",
                     pay_platform_money_json(r->amount_minor, r->currency), "fee_refunded",
                     pay_platform_money_json(r->fee_minor, r->currency), "reason", r->reason,
                     "status", r->status, "created_at", pay_platform_time_json(r->created_ms));
}
