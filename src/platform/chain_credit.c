/* The credit of a confirmed token transfer (docs/chain.md, "Money in the ledger"). In one
 * transaction: the tokens go from the platform's holdings on chain (an asset) to the tokens
 * held for payers (a liability); when the deposit has received what the trade asks and the
 * trade is still open, the quoted tokens move on to the conversion account and the trade is
 * paid in its own currency at the locked rate (the fee, the merchant's balance, the
 * notification: pay_platform_trade_pay_tx). What stays held (an over-payment, a payment that
 * came too late or too short) is owed back to the payer. */
#include "platform/chain.h"
#include "platform/platform.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/money.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

struct credit_cmd {
    struct pay_platform *p;
    const char *transfer_id;
    bool paid_trade; /* output */
};

struct chain_transfer {
    char trade_id[PAY_ID_MAX];
    int64_t amount_minor;
    char status[16];
    char tx_hash[67];
};

static enum pay_err transfer_load(struct pay_store_tx *tx, const char *id, struct chain_transfer *x,
                                  struct pay_error *err)
{
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT trade_id, amount_minor, status, tx_hash FROM pf_chain_transfers"
                        " WHERE id = $1",
                        "t", id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    if (rc == 1) {
        pay_store_col_copy(st, 0, x->trade_id, sizeof x->trade_id);
        x->amount_minor = pay_store_col_int64(st, 1);
        pay_store_col_copy(st, 2, x->status, sizeof x->status);
        pay_store_col_copy(st, 3, x->tx_hash, sizeof x->tx_hash);
    }
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    if (rc == 0)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "transfer", "no chain transfer %s", id);
    PAY_ASSERT_MSG(x->amount_minor > 0 && x->amount_minor <= PAY_AMOUNT_MAX_MINOR, "transfer %s",
                   id);
    return PAY_ERR_OK;
}

enum pay_err pay_platform_chain_book(struct pay_platform *p, struct pay_store_tx *tx,
                                     const char *id, enum pay_platform_account_kind from,
                                     const char *from_owner, enum pay_platform_account_kind to,
                                     const char *to_owner, int64_t amount, int32_t code,
                                     const char *trade_id, struct pay_error *err)
{
    const char *asset = p->set.chain.asset;
    struct pay_ledger_transfer x;
    memset(&x, 0, sizeof x);
    enum pay_err e;
    if ((e = pay_platform_account_ensure(p, tx, from, from_owner, asset, x.debit_account_id,
                                         err)) != PAY_ERR_OK ||
        (e = pay_platform_account_ensure(p, tx, to, to_owner, asset, x.credit_account_id, err)) !=
            PAY_ERR_OK)
        return e;
    PAY_ASSERT(amount > 0 && amount <= PAY_AMOUNT_MAX_MINOR);
    pay_str_copy(x.id, sizeof x.id, id);
    memcpy(x.currency, asset, 4);
    x.amount_minor = amount;
    x.code = code;
    pay_str_copy(x.user_data, sizeof x.user_data, trade_id);
    enum pay_ledger_result r;
    if ((e = pay_ledger_tx_transfer(p->ledger, tx, &x, &r, err)) != PAY_ERR_OK)
        return e;
    return pay_platform_ledger_error(r, err);
}

/* The deposit has all it asks and its trade is open: pay the trade from the conversion
 * account. A trade that cannot be paid any more (closed, expired, paid otherwise) leaves the
 * tokens held. */
static enum pay_err apply_to_trade(struct credit_cmd *c, struct pay_store_tx *tx,
                                   const char *trade_id, int64_t due, struct pay_error *err)
{
    struct pay_platform_trade t;
    enum pay_err e = pay_platform_trade_load(tx, NULL, trade_id, NULL, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    if (strcmp(t.state, PAY_TRADE_WAIT_BUYER_PAY) != 0 || pay_clock_now_ms() >= t.expire_ms) {
        PAY_WARN("chain.late", "trade=%s state=%s: the tokens stay held for the payer", t.id,
                 t.state);
        return PAY_ERR_OK;
    }
    char id[PAY_LEDGER_ID_MAX + 1];
    snprintf(id, sizeof id, "%s.chain", trade_id);
    if ((e = pay_platform_chain_book(c->p, tx, id, PAY_PF_ACCT_CHAIN_HELD, "", PAY_PF_ACCT_FX,
                                     "chain", due, PAY_PF_XFER_CHAIN_APPLY, trade_id, err)) !=
        PAY_ERR_OK)
        return e;
    /* the trade's currency side: conversion account -> merchant, fee and notification */
    struct pay_platform_payment pm = {.method = "chain",
                                      .source_kind = PAY_PF_ACCT_FX,
                                      .source_owner = "chain",
                                      .reference = trade_id};
    if ((e = pay_platform_trade_pay_tx(c->p, tx, trade_id, &pm, err)) != PAY_ERR_OK)
        return e;
    c->paid_trade = true;
    return pay_store_exec(tx, err,
                          "UPDATE pf_chain_deposits SET applied_minor = due_minor, status = 'paid'"
                          " WHERE trade_id = $1 AND status = 'waiting'",
                          "t", trade_id);
}

static enum pay_err credit_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct credit_cmd *c = ctx;
    c->paid_trade = false;
    struct chain_transfer x;
    enum pay_err e = transfer_load(tx, c->transfer_id, &x, err);
    if (e != PAY_ERR_OK || strcmp(x.status, "seen") != 0)
        return e; /* credited already: once only */
    char id[PAY_LEDGER_ID_MAX + 1];
    snprintf(id, sizeof id, "%s.in", c->transfer_id);
    if ((e = pay_platform_chain_book(c->p, tx, id, PAY_PF_ACCT_RESERVE, "chain",
                                     PAY_PF_ACCT_CHAIN_HELD, "", x.amount_minor,
                                     PAY_PF_XFER_CHAIN_IN, x.trade_id, err)) != PAY_ERR_OK ||
        (e = pay_store_exec(tx, err,
                            "UPDATE pf_chain_transfers SET status = 'credited', credited_ms = $1"
                            " WHERE id = $2 AND status = 'seen'",
                            "it", pay_clock_now_ms(), c->transfer_id)) != PAY_ERR_OK ||
        (e = pay_store_exec(tx, err,
                            "UPDATE pf_chain_deposits SET received_minor = received_minor + $1"
                            " WHERE trade_id = $2",
                            "it", x.amount_minor, x.trade_id)) != PAY_ERR_OK)
        return e;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT received_minor, due_minor, status FROM pf_chain_deposits"
                        " WHERE trade_id = $1",
                        "t", x.trade_id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    int64_t received = rc == 1 ? pay_store_col_int64(st, 0) : 0;
    int64_t due = rc == 1 ? pay_store_col_int64(st, 1) : 0;
    bool waiting = rc == 1 && strcmp(pay_store_col_text(st, 2), "waiting") == 0;
    pay_store_done(st);
    if (rc != 1)
        return rc < 0 ? err->code : pay_error_set(err, PAY_ERR_INTERNAL, "", "deposit");
    PAY_ASSERT_MSG(received >= x.amount_minor && due > 0, "deposit %s", x.trade_id);
    char detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(detail, sizeof detail, "amount_minor=%lld asset=%s tx=%s trade=%s",
             (long long)x.amount_minor, c->p->set.chain.asset, x.tx_hash, x.trade_id);
    e = pay_platform_audit(c->p, tx,
                           &(struct pay_audit_entry){.actor = "system",
                                                     .action = "chain.credit",
                                                     .target = c->transfer_id,
                                                     .source = "worker",
                                                     .detail = detail},
                           err);
    if (e == PAY_ERR_OK && waiting && received >= due)
        e = apply_to_trade(c, tx, x.trade_id, due, err);
    return e;
}

enum pay_err pay_platform_chain_credit(struct pay_platform *p, const char *transfer_id,
                                       struct pay_error *err)
{
    struct credit_cmd c = {.p = p, .transfer_id = transfer_id};
    enum pay_err e = pay_platform_write(p, credit_apply, &c, err);
    PAY_INFO("chain.credited", "transfer=%s result=%s paid_trade=%d", transfer_id, pay_err_name(e),
             c.paid_trade);
    return e;
}
