/* The daily trial balance (试算平衡, docs/platform.md "Trial balance"), in the operator console:
 * per currency, from the ledger's balances, what the platform holds (its reserves at the banks,
 * and in a sandbox the funding account) against what it owes (wallets, merchants' balances,
 * escrow, money in flight) and has earned (fees). The two sides must be equal; a difference is
 * flagged on the page (data-balanced="false"). */
#include "platform/platform.h"

#include "core/buf.h"
#include "core/limits.h"
#include "core/money.h"
#include "http/server.h"
#include "http/template.h"

#include <stdio.h>
#include <string.h>

/* Account kinds in the page's order, with the side they count on. */
static const struct {
    enum pay_platform_account_kind kind;
    const char *key; /* data-kind */
    bool asset;
} kinds[] = {
    {PAY_PF_ACCT_RESERVE, "reserve", true},
    {PAY_PF_ACCT_SANDBOX, "sandbox", true},
    {PAY_PF_ACCT_WALLET, "wallets", false},
    {PAY_PF_ACCT_MERCHANT, "merchants", false},
    {PAY_PF_ACCT_ESCROW, "escrow", false},
    {PAY_PF_ACCT_FEES, "fees", false},
    {PAY_PF_ACCT_REFUND_FLIGHT, "refunds_in_flight", false},
    {PAY_PF_ACCT_PAYOUT_FLIGHT, "payouts_in_flight", false},
    {PAY_PF_ACCT_SUSPENSE, "suspense", false},
};
#define KINDS (sizeof kinds / sizeof kinds[0])

struct tb_row {
    char cur[4];
    int64_t debit_balance[KINDS]; /* debits - credits of every account of the kind */
};

struct tb {
    struct tb_row rows[PAY_PLATFORM_TB_CURRENCIES_MAX];
    size_t n;
};

struct tb_read {
    struct tb *t;
    bool overflow;
};

static void tb_total(void *ctx, const char *cur, uint32_t code, int64_t debits, int64_t credits)
{
    struct tb_read *rd = ctx;
    struct tb *t = rd->t;
    struct tb_row *r = t->n ? &t->rows[t->n - 1] : NULL;
    if (!r || strcmp(r->cur, cur) != 0) {
        if (t->n == PAY_PLATFORM_TB_CURRENCIES_MAX)
            return;
        r = &t->rows[t->n++];
        memset(r, 0, sizeof *r);
        pay_str_copy(r->cur, sizeof r->cur, cur);
    }
    int64_t bal = 0;
    if (pay_money_sub(debits, credits, &bal) != PAY_ERR_OK)
        rd->overflow = true;
    for (size_t k = 0; k < KINDS; k++)
        if (code == kinds[k].kind)
            r->debit_balance[k] = bal;
}

static enum pay_err read_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct tb_read rd = {ctx, false};
    rd.t->n = 0;
    enum pay_err e = pay_ledger_tx_each_total(tx, "pf.", tb_total, &rd, err);
    if (e == PAY_ERR_OK && rd.overflow)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "balance out of range");
    return e;
}

static json_t *money(struct pay_http_request *req, int64_t minor, const char *cur)
{
    char v[PAY_MONEY_TEXT_MAX + 2];
    v[0] = minor < 0 ? '-' : '\0';
    pay_money_format(minor < 0 ? -minor : minor, cur, v + (minor < 0), sizeof v - 1);
    return json_pack("{s:s, s:s}", "value", v, "text", pay_http_req_money(req, minor, cur));
}

static json_t *row_json(struct pay_http_request *req, const struct tb_row *r)
{
    int64_t assets = 0, owed = 0, diff = 0;
    json_t *lines = json_array();
    for (size_t k = 0; k < KINDS; k++) {
        /* assets count their debit balance, the rest their credit balance */
        int64_t v = kinds[k].asset ? r->debit_balance[k] : -r->debit_balance[k];
        if (pay_money_add(kinds[k].asset ? assets : owed, v, kinds[k].asset ? &assets : &owed) !=
            PAY_ERR_OK)
            v = 0;
        json_array_append_new(lines, json_pack("{s:s, s:b, s:o}", "kind", kinds[k].key, "asset",
                                               kinds[k].asset, "amount", money(req, v, r->cur)));
    }
    bool balanced = pay_money_sub(assets, owed, &diff) == PAY_ERR_OK && diff == 0;
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:b}", "currency", r->cur, "lines", lines, "assets",
                     money(req, assets, r->cur), "owed", money(req, owed, r->cur), "difference",
                     money(req, diff, r->cur), "balanced", balanced);
}

static enum pay_err h_trial_balance(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    bool allowed = false;
    enum pay_err gate = pay_platform_operator_gate(req, p, &allowed, err);
    if (gate != PAY_ERR_OK || !allowed)
        return gate;
    struct tb t;
    enum pay_err e = pay_store_run_read(p->store, read_tx, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    json_t *cur = json_array();
    for (size_t i = 0; i < t.n; i++)
        json_array_append_new(cur, row_json(req, &t.rows[i]));
    json_t *ctx = json_pack("{s:s, s:s, s:o}", "platform", p->set.name, "now",
                            pay_http_req_time(req, pay_clock_now_ms()), "currencies", cur);
    pay_http_respond_template(req, 200, "trial_balance", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

const struct pay_http_route *pay_platform_trial_balance_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/operator/trial-balance", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_trial_balance,
         NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
