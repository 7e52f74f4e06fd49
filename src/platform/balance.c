/* A merchant's balance at the platform (GET /v1/balance): per currency, the available balance
 * (the ledger account pf.merchant.<id>.<cur>: payments less fees less refunds) and the fees
 * charged (taken at payment less the shares returned with refunds, from the merchant's
 * trades; the ledger's pf.fees.<cur> is shared by all merchants), and what its escrow trades
 * hold until their buyers confirm receipt (pf.escrow.<id>.<cur>: not the merchant's yet). */
#include "platform/platform.h"

#include "core/buf.h"
#include "core/limits.h"
#include "core/money.h"

#include <stdio.h>
#include <string.h>

struct bal_row {
    char currency[4];
    int64_t fees;
    int64_t available, in_escrow;
};

struct bal_ctx {
    const char *merchant_id, *currency;
    struct bal_row rows[PAY_BALANCE_CURRENCIES_MAX];
    size_t n;
};

static enum pay_err fees_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct bal_ctx *b = ctx;
    b->n = 0;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT currency, SUM(fee_minor - fee_refunded_minor) FROM pf_trades"
                        " WHERE merchant_id = $1 AND (CAST($2 AS TEXT) IS NULL OR currency = $2)"
                        " GROUP BY currency ORDER BY currency LIMIT $3",
                        "tti", b->merchant_id, b->currency, (int64_t)PAY_BALANCE_CURRENCIES_MAX);
    if (!st)
        return err->code;
    int rc;
    while (b->n < PAY_BALANCE_CURRENCIES_MAX && (rc = pay_store_step(st, err)) == 1) {
        struct bal_row *r = &b->rows[b->n++];
        pay_store_col_copy(st, 0, r->currency, sizeof r->currency);
        r->fees = pay_store_col_int64(st, 1);
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

/* The net credit of the merchant's account of kind (0 when it has none). */
static enum pay_err net_credit(struct pay_platform *p, enum pay_platform_account_kind kind,
                               const char *merchant_id, const char *currency, int64_t *out,
                               struct pay_error *err)
{
    char id[PAY_LEDGER_ID_MAX + 1];
    if (pay_platform_account_id(kind, merchant_id, currency, id) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "account id too long");
    struct pay_ledger_account a;
    bool found = false;
    enum pay_err e = pay_ledger_account_get(p->ledger, id, &a, &found, err);
    *out = e == PAY_ERR_OK && found ? pay_ledger_account_net_credit(&a) : 0;
    return e;
}

static enum pay_err available(struct pay_platform *p, const char *merchant_id, struct bal_row *r,
                              struct pay_error *err)
{
    enum pay_err e =
        net_credit(p, PAY_PF_ACCT_MERCHANT, merchant_id, r->currency, &r->available, err);
    return e == PAY_ERR_OK
               ? net_credit(p, PAY_PF_ACCT_ESCROW, merchant_id, r->currency, &r->in_escrow, err)
               : e;
}

enum pay_err pay_platform_merchant_balance(struct pay_platform *p, const char *merchant_id,
                                           const char *currency, json_t **out,
                                           struct pay_error *err)
{
    *out = NULL;
    if (currency && pay_currency_lookup(currency) < 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "currency", "an ISO 4217 code");
    struct bal_ctx b = {.merchant_id = merchant_id, .currency = currency};
    enum pay_err e = pay_store_run_read(p->store, fees_tx, &b, err);
    if (e == PAY_ERR_OK && currency && b.n == 0) { /* asked for one: zeros, not nothing */
        pay_str_copy(b.rows[0].currency, sizeof b.rows[0].currency, currency);
        b.rows[0].fees = 0;
        b.n = 1;
    }
    json_t *arr = json_array();
    for (size_t i = 0; e == PAY_ERR_OK && i < b.n; i++) {
        e = available(p, merchant_id, &b.rows[i], err);
        json_array_append_new(
            arr, json_pack("{s:s, s:o, s:o, s:o}", "currency", b.rows[i].currency, "available",
                           pay_platform_money_json(b.rows[i].available, b.rows[i].currency),
                           "fees_charged",
                           pay_platform_money_json(b.rows[i].fees, b.rows[i].currency), "in_escrow",
                           pay_platform_money_json(b.rows[i].in_escrow, b.rows[i].currency)));
    }
    if (e != PAY_ERR_OK) {
        json_decref(arr);
        return e;
    }
    *out = json_pack("{s:s, s:o}", "merchant_id", merchant_id, "balances", arr);
    return *out ? PAY_ERR_OK : pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
}
