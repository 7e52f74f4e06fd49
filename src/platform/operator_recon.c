/* The operator console's reconciliation page (docs/reconciliation.md, "The console"): the
 * latest runs of every bank with both sides' balances, the differences still open with a form
 * each to resolve them, and those resolved with how and by whom. Same access as the dashboard;
 * the forms carry the console's double-submit CSRF token. */
#include "platform/platform.h"
#include "platform/recon.h"

#include "core/limits.h"
#include "core/money.h"
#include "crypto/crypto.h"
#include "http/server.h"
#include "http/template.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

struct page_ctx {
    struct pay_http_request *req;
    json_t *runs, *open, *resolved;
};

/* Signed minor units as {value "-1.00", text "-¥1.00"}. */
static json_t *money(struct pay_http_request *req, int64_t minor, const char *cur)
{
    char v[PAY_MONEY_TEXT_MAX + 2] = "";
    v[0] = minor < 0 ? '-' : '\0';
    if (minor != INT64_MIN)
        pay_money_format(minor < 0 ? -minor : minor, cur, v + (minor < 0), sizeof v - 1);
    return json_pack("{s:s, s:s}", "value", v, "text", pay_http_req_money(req, minor, cur));
}

static enum pay_err runs_tx(struct pay_store_tx *tx, struct page_ctx *c, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT id, bank, business_date, source, status, error, bank_count, bank_closing_minor,"
        " our_closing_minor, matched, differences, created_ms FROM pf_recon_runs"
        " ORDER BY created_ms DESC, id DESC LIMIT $1",
        "i", (int64_t)PAY_RECON_RUNS_SHOWN_MAX);
    if (!st)
        return err->code;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1) {
        int64_t bank = pay_store_col_int64(st, 7), ours = pay_store_col_int64(st, 8);
        bool failed = strcmp(pay_store_col_text(st, 4), "failed") == 0;
        json_array_append_new(
            c->runs,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:b, s:I, s:I, s:s}", "id",
                      pay_store_col_text(st, 0), "bank", pay_store_col_text(st, 1), "date",
                      pay_store_col_text(st, 2), "source", pay_store_col_text(st, 3), "status",
                      pay_store_col_text(st, 4), "error", pay_store_col_text(st, 5), "movements",
                      (json_int_t)pay_store_col_int64(st, 6), "bank_closing",
                      money(c->req, bank, "CNY"), "our_closing", money(c->req, ours, "CNY"),
                      "balanced", failed || bank == ours, "matched",
                      (json_int_t)pay_store_col_int64(st, 9), "differences",
                      (json_int_t)pay_store_col_int64(st, 10), "when",
                      pay_http_req_time(c->req, pay_store_col_int64(st, 11))));
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

static enum pay_err diffs_tx(struct pay_store_tx *tx, struct page_ctx *c, bool open,
                             struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT id, bank, business_date, reference, class, kind, currency, bank_minor, our_minor,"
        " bank_serial, our_status, status, resolution, note, resolved_by, transfer_id"
        " FROM pf_recon_diffs WHERE (CASE WHEN status = 'open' THEN 1 ELSE 0 END) = $1"
        " ORDER BY business_date DESC, created_ms DESC, id LIMIT $2",
        "ii", (int64_t)open, (int64_t)PAY_RECON_DIFFS_SHOWN_MAX);
    if (!st)
        return err->code;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1) {
        const char *cur = pay_store_col_text(st, 6);
        json_t *row = json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
            pay_store_col_text(st, 0), "bank", pay_store_col_text(st, 1), "date",
            pay_store_col_text(st, 2), "reference", pay_store_col_text(st, 3), "class",
            pay_store_col_text(st, 4), "kind", pay_store_col_text(st, 5), "bank_amount",
            money(c->req, pay_store_col_int64(st, 7), cur), "our_amount",
            money(c->req, pay_store_col_int64(st, 8), cur), "serial", pay_store_col_text(st, 9),
            "our_status", pay_store_col_text(st, 10), "status", pay_store_col_text(st, 11),
            "resolution", pay_store_col_text(st, 12), "note", pay_store_col_text(st, 13),
            "resolved_by", pay_store_col_text(st, 14), "transfer_id", pay_store_col_text(st, 15));
        json_array_append_new(open ? c->open : c->resolved, row);
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

static enum pay_err read_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct page_ctx *c = ctx;
    json_array_clear(c->runs);
    json_array_clear(c->open);
    json_array_clear(c->resolved);
    enum pay_err e = runs_tx(tx, c, err);
    if (e == PAY_ERR_OK)
        e = diffs_tx(tx, c, true, err);
    if (e == PAY_ERR_OK)
        e = diffs_tx(tx, c, false, err);
    return e;
}

/* The page (status, with an error or a notice after a resolution). */
static enum pay_err render(struct pay_platform *p, struct pay_http_request *req, int status,
                           const char *error, const char *notice, struct pay_error *err)
{
    char fresh[PAY_PLATFORM_TOKEN_TEXT_MAX];
    const char *csrf = pay_platform_operator_csrf(req, fresh);
    if (!csrf)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    struct page_ctx c = {req, json_array(), json_array(), json_array()};
    enum pay_err e = pay_store_run_read(p->store, read_tx, &c, err);
    json_t *ctx = json_pack("{s:s, s:s, s:o, s:o, s:o}", "platform", p->set.name, "csrf", csrf,
                            "runs", c.runs, "open", c.open, "resolved", c.resolved);
    if (e == PAY_ERR_OK && ctx && error)
        json_object_set_new(ctx, "error", json_string(error));
    if (e == PAY_ERR_OK && ctx && notice)
        json_object_set_new(ctx, "notice", json_string(notice));
    if (e == PAY_ERR_OK) {
        pay_http_respond_page_url(req, "/operator/reconciliation");
        pay_http_respond_template(req, status, "operator_recon", ctx);
    }
    json_decref(ctx);
    return e;
}

static enum pay_err h_page(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    bool allowed = false;
    enum pay_err gate = pay_platform_operator_gate(req, p, &allowed, err);
    if (gate != PAY_ERR_OK || !allowed)
        return gate;
    return render(p, req, 200, NULL, NULL, err);
}

/* POST /operator/reconciliation/{diff_id}/resolve (csrf, resolution, note). */
static enum pay_err h_resolve(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    bool allowed = false;
    enum pay_err gate = pay_platform_operator_form_gate(req, p, &allowed, err);
    if (gate != PAY_ERR_OK || !allowed)
        return gate;
    const char *id = pay_http_req_param(req, "diff_id"),
               *resolution = pay_http_req_form_get(req, "resolution");
    enum pay_err e = pay_platform_recon_resolve(
        p, id, resolution, pay_http_req_form_get(req, "note"), "operator", err);
    return render(p, req, pay_err_http_status(e), pay_platform_error_for(req, e, err),
                  e == PAY_ERR_OK ? resolution : NULL, err);
}

const struct pay_http_route *pay_platform_operator_recon_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/operator/reconciliation", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_page, NULL},
        {"POST", "/operator/reconciliation/{diff_id}/resolve", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM,
         h_resolve, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
