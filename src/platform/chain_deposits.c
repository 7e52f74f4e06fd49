/* Deposits of the chain rail (docs/chain.md): a trade's own address and the tokens it asks at
 * the rate locked when it was made; and the credit of a confirmed transfer, which books the
 * tokens, pays the trade when enough has arrived and notifies the merchant, in one
 * transaction. */
#include "platform/chain.h"
#include "platform/platform.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/money.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

__extension__ typedef unsigned __int128 u128;

#define DEPOSIT_COLS                                                                               \
    "trade_id, address, addr_index, asset, due_minor, received_minor, applied_minor, status,"      \
    " rate_minor, created_ms"

static void deposit_row(struct pay_store_stmt *st, struct pay_platform_chain_deposit *d)
{
    memset(d, 0, sizeof *d);
    pay_store_col_copy(st, 0, d->trade_id, sizeof d->trade_id);
    pay_store_col_copy(st, 1, d->address, sizeof d->address);
    d->addr_index = pay_store_col_int64(st, 2);
    pay_store_col_copy(st, 3, d->asset, sizeof d->asset);
    d->due_minor = pay_store_col_int64(st, 4);
    d->received_minor = pay_store_col_int64(st, 5);
    d->applied_minor = pay_store_col_int64(st, 6);
    pay_store_col_copy(st, 7, d->status, sizeof d->status);
    d->rate_minor = pay_store_col_int64(st, 8);
    d->created_ms = pay_store_col_int64(st, 9);
    PAY_ASSERT_MSG(d->due_minor > 0 && d->received_minor >= 0 && d->applied_minor >= 0 &&
                       d->applied_minor <= d->received_minor,
                   "deposit %s", d->trade_id);
}

/* The deposit of trade_id inside tx, with the tokens seen but not yet confirmed; *found. */
static enum pay_err deposit_load(struct pay_store_tx *tx, const char *trade_id,
                                 struct pay_platform_chain_deposit *d, bool *found,
                                 struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT " DEPOSIT_COLS " FROM pf_chain_deposits WHERE trade_id = $1", "t",
        trade_id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    if (rc == 1)
        deposit_row(st, d);
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    *found = rc == 1;
    if (!*found)
        return PAY_ERR_OK;
    st = pay_store_query(tx, err,
                         "SELECT COALESCE(SUM(amount_minor), 0) FROM pf_chain_transfers"
                         " WHERE trade_id = $1 AND status = 'seen'",
                         "t", trade_id);
    if (!st)
        return err->code;
    rc = pay_store_step(st, err);
    d->pending_minor = rc == 1 ? pay_store_col_int64(st, 0) : 0;
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

/* Tokens for amount_minor of the rate's currency: rounded up, so the merchant never gets less
 * than the price. AMOUNT_TOO_LARGE when it does not fit a ledger amount. */
static enum pay_err tokens_due(const struct pay_platform_chain_settings *cs, int64_t amount_minor,
                               int64_t *out, struct pay_error *err)
{
    u128 scale = 1;
    for (int i = 0; i < cs->decimals; i++)
        scale *= 10;
    PAY_ASSERT(amount_minor > 0 && cs->rate_minor > 0);
    u128 num = (u128)amount_minor * scale, rate = (u128)cs->rate_minor;
    u128 due = num / rate + (num % rate != 0);
    if (due > (u128)PAY_AMOUNT_MAX_MINOR)
        return pay_error_set(err, PAY_ERR_AMOUNT_TOO_LARGE, "amount",
                             "the trade is more tokens than one payment may be");
    *out = (int64_t)due;
    return PAY_ERR_OK;
}

struct open_cmd {
    struct pay_platform *p;
    const char *trade_id;
    struct pay_platform_chain_deposit *d;
};

/* The next unused child of the xpub (a child that is not a valid key is skipped, BIP-32). */
static enum pay_err next_address(struct pay_store_tx *tx, const struct pay_chain_xpub *xpub,
                                 struct pay_platform_chain_deposit *d,
                                 uint8_t a[PAY_CHAIN_ADDRESS_LEN], struct pay_error *err)
{
    struct pay_store_stmt *st =
        pay_store_query(tx, err, "SELECT COALESCE(MAX(addr_index), -1) FROM pf_chain_deposits", "");
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    int64_t last = rc == 1 ? pay_store_col_int64(st, 0) : -1;
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    for (int64_t i = last + 1; i < (int64_t)PAY_CHAIN_HARDENED; i++) {
        struct pay_chain_xpub child;
        if (pay_chain_xpub_child(xpub, (uint32_t)i, &child, err) != PAY_ERR_OK)
            continue;
        pay_chain_address_of(child.pubkey, a);
        pay_chain_address_format(a, d->address);
        d->addr_index = i;
        return PAY_ERR_OK;
    }
    return pay_error_set(err, PAY_ERR_INTERNAL, "", "the xpub has no more addresses");
}

static enum pay_err open_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct open_cmd *c = ctx;
    const struct pay_platform_chain_settings *cs = &c->p->set.chain;
    bool found = false;
    enum pay_err e = deposit_load(tx, c->trade_id, c->d, &found, err);
    if (e != PAY_ERR_OK || found)
        return e;
    struct pay_platform_trade t;
    if ((e = pay_platform_trade_load(tx, NULL, c->trade_id, NULL, &t, err)) != PAY_ERR_OK)
        return e;
    if (strcmp(t.state, PAY_TRADE_WAIT_BUYER_PAY) != 0 || pay_clock_now_ms() >= t.expire_ms)
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "trade_id",
                             "only an open trade gets a deposit address");
    if (strcmp(t.currency, cs->rate_currency) != 0)
        return pay_error_set(err, PAY_ERR_CURRENCY_MISMATCH, "currency",
                             "only trades in %s can be paid in %s", cs->rate_currency, cs->asset);
    struct pay_platform_chain_deposit *d = c->d;
    uint8_t a[PAY_CHAIN_ADDRESS_LEN];
    memset(d, 0, sizeof *d);
    if ((e = tokens_due(cs, t.amount_minor, &d->due_minor, err)) != PAY_ERR_OK ||
        (e = next_address(tx, &cs->xpub, d, a, err)) != PAY_ERR_OK)
        return e;
    pay_str_copy(d->trade_id, sizeof d->trade_id, t.id);
    memcpy(d->asset, cs->asset, 4);
    pay_str_copy(d->status, sizeof d->status, "waiting");
    d->rate_minor = cs->rate_minor;
    d->created_ms = pay_clock_now_ms();
    char lower[PAY_CHAIN_ADDRESS_TEXT_LEN];
    pay_chain_address_lower(a, lower);
    return pay_store_exec(tx, err,
                          "INSERT INTO pf_chain_deposits (" DEPOSIT_COLS
                          ") VALUES ($1,$2,$3,$4,$5,0,0,'waiting',$6,$7)",
                          "ttitiii", d->trade_id, lower, d->addr_index, d->asset, d->due_minor,
                          d->rate_minor, d->created_ms);
}

enum pay_err pay_platform_chain_deposit_open(struct pay_platform *p, const char *trade_id,
                                             struct pay_platform_chain_deposit *out,
                                             struct pay_error *err)
{
    if (!p->set.chain.enabled)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "", "the chain rail is off");
    struct open_cmd c = {.p = p, .trade_id = trade_id, .d = out};
    enum pay_err e = pay_platform_write(p, open_apply, &c, err);
    if (e == PAY_ERR_OK)
        e = pay_platform_chain_deposit_get(p, trade_id, out, err); /* EIP-55 form, pending */
    return e;
}

struct get_cmd {
    const char *trade_id;
    struct pay_platform_chain_deposit *d;
    bool found;
};

static enum pay_err get_read(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct get_cmd *c = ctx;
    return deposit_load(tx, c->trade_id, c->d, &c->found, err);
}

enum pay_err pay_platform_chain_deposit_get(struct pay_platform *p, const char *trade_id,
                                            struct pay_platform_chain_deposit *out,
                                            struct pay_error *err)
{
    struct get_cmd c = {.trade_id = trade_id, .d = out};
    enum pay_err e = pay_store_run_read(p->store, get_read, &c, err);
    if (e == PAY_ERR_OK && !c.found)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "trade_id", "the trade has no deposit");
    if (e == PAY_ERR_OK) { /* stored lower case: shown with its EIP-55 checksum */
        uint8_t a[PAY_CHAIN_ADDRESS_LEN];
        if (pay_chain_address_parse(out->address, "address", a, err) != PAY_ERR_OK)
            return pay_error_set(err, PAY_ERR_INTERNAL, "", "stored address %s", out->address);
        pay_chain_address_format(a, out->address);
    }
    return e;
}
