/* Escrow trades (担保交易, docs/platform.md "Escrow"): the buyer's money waits in the merchant's
 * escrow account (pf.escrow.<merchant>.<cur>) from payment until the buyer confirms receipt,
 * or the clock does; only then is it the merchant's, less the fee. A merchant that does not
 * ship in time refunds in full, by itself. Each move is one committer command: the trade's
 * row, its transfers and its notification together. */
#include "platform/platform.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "crypto/ids.h"
#include "core/money.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

/* The merchant's own auto-confirmation time, or the platform's. */
static enum pay_err confirm_time_ms(struct pay_platform *p, struct pay_store_tx *tx,
                                    const char *merchant_id, int64_t *out, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT escrow_confirm_ms FROM pf_merchants WHERE id = $1", "t", merchant_id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    int64_t own = rc == 1 ? pay_store_col_int64(st, 0) : 0;
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    *out = own > 0 ? own : p->set.escrow_confirm_timeout_ms;
    return PAY_ERR_OK;
}

struct ship_cmd {
    struct pay_platform *p;
    const char *merchant_id, *trade_id, *company, *tracking_no;
};

static enum pay_err ship_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct ship_cmd *c = ctx;
    struct pay_platform_trade t;
    enum pay_err e = pay_platform_trade_load(tx, c->merchant_id, c->trade_id, NULL, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    if (strcmp(t.state, PAY_TRADE_WAIT_SEND) != 0)
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "trade_id",
                             "trade is %s; only a paid escrow trade (%s) can be shipped", t.state,
                             PAY_TRADE_WAIT_SEND);
    int64_t wait_ms = 0, now = pay_clock_now_ms();
    if ((e = confirm_time_ms(c->p, tx, t.merchant_id, &wait_ms, err)) != PAY_ERR_OK)
        return e;
    pay_platform_trade_move(&t, PAY_TRADE_WAIT_CONFIRM);
    t.shipped_ms = now;
    t.confirm_due_ms = now + wait_ms; /* both bounded: no overflow */
    pay_str_copy(t.logistics_company, sizeof t.logistics_company, c->company);
    pay_str_copy(t.tracking_no, sizeof t.tracking_no, c->tracking_no);
    if ((e = pay_platform_trade_save(tx, &t, err)) != PAY_ERR_OK)
        return e;
    char actor[PAY_AUDIT_TEXT_MAX], detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(actor, sizeof actor, "merchant:%s", t.merchant_id);
    snprintf(detail, sizeof detail, "logistics_company=%s tracking_no=%s", t.logistics_company,
             t.tracking_no);
    if ((e = pay_platform_audit(
             c->p, tx,
             &(struct pay_audit_entry){
                 .actor = actor, .action = "trade.ship", .target = t.id, .detail = detail},
             err)) != PAY_ERR_OK)
        return e;
    return pay_platform_notify_enqueue(tx, &t, "trade.state", NULL, err);
}

enum pay_err pay_platform_escrow_ship_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                         const char *merchant_id, const char *trade_id,
                                         const char *company, const char *tracking_no,
                                         struct pay_error *err)
{
    struct ship_cmd c = {p, merchant_id, trade_id, company, tracking_no};
    return ship_apply(tx, &c, err);
}

enum pay_err pay_platform_escrow_ship(struct pay_platform *p, const char *merchant_id,
                                      const char *trade_id, const char *company,
                                      const char *tracking_no, struct pay_error *err)
{
    struct ship_cmd c = {p, merchant_id, trade_id, company, tracking_no};
    return pay_committer_submit(p->committer, ship_apply, &c, err);
}

/* escrow -> merchant (what was not refunded), merchant -> fees (its fee), linked. */
static enum pay_err release(struct pay_platform *p, struct pay_store_tx *tx,
                            struct pay_platform_trade *t, int64_t *released_out,
                            struct pay_error *err)
{
    int64_t released = 0;
    enum pay_err e = pay_money_sub(t->amount_minor, t->refunded_minor, &released);
    /* a fully refunded escrow trade is closed, never confirmed */
    PAY_ASSERT_MSG(e == PAY_ERR_OK && released > 0 && t->fee_minor == 0, "trade %s", t->id);
    *released_out = released;
    if ((e = pay_platform_merchant_fee_tx(tx, t->merchant_id, released, &t->fee_minor, err)) !=
        PAY_ERR_OK)
        return e;
    char esc[PAY_LEDGER_ID_MAX + 1], mch[PAY_LEDGER_ID_MAX + 1], fees[PAY_LEDGER_ID_MAX + 1];
    if ((e = pay_platform_account_ensure(p, tx, PAY_PF_ACCT_ESCROW, t->merchant_id, t->currency,
                                         esc, err)) != PAY_ERR_OK ||
        (e = pay_platform_account_ensure(p, tx, PAY_PF_ACCT_MERCHANT, t->merchant_id, t->currency,
                                         mch, err)) != PAY_ERR_OK ||
        (e = pay_platform_account_ensure(p, tx, PAY_PF_ACCT_FEES, "", t->currency, fees, err)) !=
            PAY_ERR_OK)
        return e;
    struct pay_ledger_transfer x[2];
    enum pay_ledger_result r[2] = {PAY_LEDGER_OK, PAY_LEDGER_OK};
    memset(x, 0, sizeof x);
    const char *from[2] = {esc, mch}, *to[2] = {mch, fees}, *suffix[2] = {"release", "fee"};
    int64_t amount[2] = {released, t->fee_minor};
    int32_t code[2] = {PAY_PF_XFER_ESCROW_RELEASE, PAY_PF_XFER_FEE};
    size_t n = t->fee_minor > 0 ? 2 : 1;
    for (size_t i = 0; i < n; i++) {
        snprintf(x[i].id, sizeof x[i].id, "%s.%s", t->id, suffix[i]);
        pay_str_copy(x[i].debit_account_id, sizeof x[i].debit_account_id, from[i]);
        pay_str_copy(x[i].credit_account_id, sizeof x[i].credit_account_id, to[i]);
        pay_str_copy(x[i].currency, sizeof x[i].currency, t->currency);
        pay_str_copy(x[i].user_data, sizeof x[i].user_data, t->id);
        x[i].amount_minor = amount[i];
        x[i].code = code[i];
        x[i].flags = i + 1 < n ? PAY_LEDGER_TF_LINKED : 0;
    }
    if ((e = pay_ledger_tx_transfers(p->ledger, tx, x, n, r, err)) != PAY_ERR_OK)
        return e;
    for (size_t i = 0; i < n; i++)
        if (r[i] != PAY_LEDGER_OK && r[i] != PAY_LEDGER_LINKED_EVENT_FAILED)
            return pay_platform_ledger_error(r[i], err);
    return PAY_ERR_OK;
}

struct confirm_cmd {
    struct pay_platform *p;
    const char *consumer_id; /* NULL: by the clock */
    const char *trade_id;
};

static enum pay_err confirm_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct confirm_cmd *c = ctx;
    struct pay_platform_trade t;
    enum pay_err e = pay_platform_trade_load(tx, NULL, c->trade_id, NULL, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    if (c->consumer_id && strcmp(t.buyer_id, c->consumer_id) != 0) /* not theirs to confirm */
        return pay_error_set(err, PAY_ERR_TRADE_NOT_FOUND, "trade_id", NULL);
    int64_t now = pay_clock_now_ms();
    if (strcmp(t.state, PAY_TRADE_WAIT_CONFIRM) != 0 || (!c->consumer_id && now < t.confirm_due_ms))
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "trade_id",
                             "trade is %s; receipt is confirmed once shipped (%s)", t.state,
                             PAY_TRADE_WAIT_CONFIRM);
    bool open = false;
    if ((e = pay_platform_refund_request_open_tx(tx, t.id, &open, err)) != PAY_ERR_OK)
        return e;
    if (open) /* the request is decided first: it may take the money back */
        return pay_error_set(err, PAY_ERR_REFUND_REQUEST_OPEN, "trade_id", NULL);
    int64_t released = 0;
    if ((e = release(c->p, tx, &t, &released, err)) != PAY_ERR_OK)
        return e;
    pay_platform_trade_move(&t, PAY_TRADE_FINISHED);
    t.finished_ms = now;
    if ((e = pay_platform_trade_save(tx, &t, err)) != PAY_ERR_OK)
        return e;
    char actor[PAY_AUDIT_TEXT_MAX], detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(actor, sizeof actor, "%s%s", c->consumer_id ? "consumer:" : "system",
             c->consumer_id ? c->consumer_id : "");
    snprintf(detail, sizeof detail, "released_minor=%lld fee_minor=%lld currency=%s merchant=%s",
             (long long)released, (long long)t.fee_minor, t.currency, t.merchant_id);
    if ((e = pay_platform_audit(
             c->p, tx,
             &(struct pay_audit_entry){
                 .actor = actor, .action = "trade.confirm", .target = t.id, .detail = detail},
             err)) != PAY_ERR_OK)
        return e;
    return pay_platform_notify_enqueue(tx, &t, "trade.state", NULL, err);
}

enum pay_err pay_platform_escrow_confirm(struct pay_platform *p, const char *consumer_id,
                                         const char *trade_id, struct pay_error *err)
{
    struct confirm_cmd c = {p, consumer_id, trade_id};
    return pay_committer_submit(p->committer, confirm_apply, &c, err);
}

/* Not shipped by its deadline: everything not refunded yet goes back to the buyer. */
struct unshipped_cmd {
    struct pay_platform *p;
    const char *trade_id;
    char refund_id[PAY_ID_MAX];
};

static enum pay_err unshipped_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct unshipped_cmd *c = ctx;
    struct pay_platform_trade t;
    enum pay_err e = pay_platform_trade_load(tx, NULL, c->trade_id, NULL, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    bool open = false;
    if ((e = pay_platform_refund_request_open_tx(tx, t.id, &open, err)) != PAY_ERR_OK)
        return e;
    if (strcmp(t.state, PAY_TRADE_WAIT_SEND) != 0 || pay_clock_now_ms() < t.ship_due_ms || open)
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "trade_id", "not due");
    struct pay_platform_refund r = {.amount_minor = 0};
    PAY_ASSERT_MSG(pay_money_sub(t.amount_minor, t.refunded_minor, &r.amount_minor) == PAY_ERR_OK &&
                       r.amount_minor > 0,
                   "trade %s", t.id);
    pay_str_copy(r.id, sizeof r.id, c->refund_id);
    pay_str_copy(r.trade_id, sizeof r.trade_id, t.id);
    pay_str_copy(r.merchant_id, sizeof r.merchant_id, t.merchant_id);
    pay_str_copy(r.out_refund_no, sizeof r.out_refund_no, "escrow-not-shipped");
    pay_str_copy(r.currency, sizeof r.currency, t.currency);
    pay_str_copy(r.reason, sizeof r.reason, "not shipped in time");
    pay_str_copy(r.actor, sizeof r.actor, "system");
    return pay_platform_refund_create_tx(c->p, tx, &r, err);
}

#define OPEN_REQUEST                                                                               \
    " AND NOT EXISTS (SELECT 1 FROM pf_refund_requests r WHERE r.trade_id = t.id"                  \
    " AND r.status IN ('WAIT_MERCHANT','WAIT_OPERATOR'))"

void pay_platform_escrow_work(struct pay_platform *p)
{
    char ids[PAY_PLATFORM_SWEEP_BATCH][PAY_ID_MAX];
    int64_t now = pay_clock_now_ms();
    struct pay_error err = {0};
    size_t n =
        pay_platform_due_ids(p,
                             "SELECT id FROM pf_trades t WHERE state = 'WAIT_SELLER_SEND_GOODS' "
                             "AND ship_due_ms <= $1" OPEN_REQUEST " ORDER BY ship_due_ms LIMIT $2",
                             now, ids, PAY_PLATFORM_SWEEP_BATCH);
    for (size_t i = 0; i < n && !atomic_load(&p->stopping); i++) {
        struct unshipped_cmd c = {.p = p, .trade_id = ids[i]};
        enum pay_err e = pay_id_new("rf", c.refund_id);
        if (e == PAY_ERR_OK)
            e = pay_committer_submit(p->committer, unshipped_apply, &c, &err);
        PAY_INFO("escrow.not_shipped", "trade=%s result=%s", ids[i], pay_err_name(e));
    }
    size_t done = n;
    n = pay_platform_due_ids(p,
                             "SELECT id FROM pf_trades t WHERE state = 'WAIT_BUYER_CONFIRM_GOODS'"
                             " AND confirm_due_ms <= $1" OPEN_REQUEST
                             " ORDER BY confirm_due_ms LIMIT $2",
                             now, ids, PAY_PLATFORM_SWEEP_BATCH);
    for (size_t i = 0; i < n && !atomic_load(&p->stopping); i++) {
        enum pay_err e = pay_platform_escrow_confirm(p, NULL, ids[i], &err);
        PAY_INFO("escrow.auto_confirmed", "trade=%s result=%s", ids[i], pay_err_name(e));
    }
    if (done + n > 0)
        pay_platform_wake(p); /* the notifier: new outbox rows */
}
