/* The operator console's settlements (docs/settlement.md): the latest payouts of every
 * merchant with their state; refused ones are flagged with the bank's answer. Same access as
 * the dashboard. */
#include "platform/platform.h"

#include "core/limits.h"
#include "core/money.h"
#include "http/server.h"
#include "http/template.h"

#include <stdio.h>
#include <string.h>

struct page_ctx {
    struct pay_http_request *req;
    json_t *rows;
};

static enum pay_err read_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct page_ctx *c = ctx;
    json_array_clear(c->rows);
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT id, merchant_id, business_date, bank, amount_minor, currency, status, last_error,"
        " attempts FROM pf_settlements ORDER BY created_ms DESC, id DESC LIMIT $1",
        "i", (int64_t)PAY_OPERATOR_SETTLEMENTS_MAX);
    if (!st)
        return err->code;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1) {
        char amount[PAY_MONEY_TEXT_MAX + 1] = "";
        int64_t minor = pay_store_col_int64(st, 4);
        const char *cur = pay_store_col_text(st, 5);
        pay_money_format(minor, cur, amount, sizeof amount);
        json_array_append_new(
            c->rows,
            json_pack(
                "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "id", pay_store_col_text(st, 0),
                "merchant_id", pay_store_col_text(st, 1), "date", pay_store_col_text(st, 2), "bank",
                pay_platform_bank_text(pay_http_req_ctx(c->req), c->req, pay_store_col_text(st, 3)),
                "amount", amount, "amount_text", pay_http_req_money(c->req, minor, cur), "status",
                pay_store_col_text(st, 6), "failure", pay_store_col_text(st, 7), "attempts",
                (json_int_t)pay_store_col_int64(st, 8)));
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

static enum pay_err h_settlements(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    bool allowed = false;
    enum pay_err gate = pay_platform_operator_gate(req, p, &allowed, err);
    if (gate != PAY_ERR_OK || !allowed)
        return gate;
    struct page_ctx c = {req, json_array()};
    enum pay_err e = pay_store_run_read(p->store, read_tx, &c, err);
    if (e != PAY_ERR_OK) {
        json_decref(c.rows);
        return e;
    }
    json_t *ctx = json_pack("{s:s, s:o}", "platform", p->set.name, "settlements", c.rows);
    pay_http_respond_template(req, 200, "operator_settlements", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

const struct pay_http_route *pay_platform_operator_settlements_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/operator/settlements", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_settlements, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
