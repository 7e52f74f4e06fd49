/* The merchant portal's money pages (docs/portal.md, "Payouts and bills"): the payouts the
 * platform made to the merchant's settlement account (docs/settlement.md), and the daily
 * bills (对账单) as CSV, the same as GET /v1/bills (docs/api.md) — the bill is read from the
 * ledger account itself, so its total is what the ledger moved that day. Owner and finance
 * only (pay_portal_may, PAY_PORTAL_PAYOUTS). */
#include "platform/portal.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/limits.h"
#include "http/server.h"
#include "i18n/i18n.h"
#include "i18n/tz.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

#define DAY_MS    86400000LL
#define BILL_DAYS 14 /* the bills offered as links; any other date by the form */

/* The member of this page, allowed to see money (else the answer is set: NULL). */
static struct pay_portal_user *money_user(struct pay_http_request *req, enum pay_err *e,
                                          struct pay_error *err)
{
    struct pay_portal_user *u = pay_portal_page_user(req, e, err);
    if (u && !pay_portal_may(u->role, PAY_PORTAL_PAYOUTS)) {
        *e = pay_portal_forbidden(req, u, err);
        return NULL;
    }
    return u;
}

static const char *payout_status_text(struct pay_http_request *req, const char *s)
{
    return strcmp(s, "paid") == 0      ? pay_http_req_trc(req, "payout", "Paid out")
           : strcmp(s, "pending") == 0 ? pay_http_req_trc(req, "payout", "On its way")
           : strcmp(s, "failed") == 0  ? pay_http_req_trc(req, "payout", "Refused by the bank")
                                       : s;
}

struct payouts_ctx {
    struct pay_http_request *req;
    const char *merchant_id;
    json_t *arr;
};

static enum pay_err payouts_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct payouts_ctx *c = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT id, business_date, bank, to_account, amount_minor, currency, status, last_error,"
        " created_ms, done_ms FROM pf_settlements WHERE merchant_id = $1"
        " ORDER BY created_ms DESC LIMIT $2",
        "ti", c->merchant_id, (int64_t)PAY_PORTAL_PAGE_ROWS);
    if (!st)
        return err->code;
    int r;
    while ((r = pay_store_step(st, err)) == 1) {
        const char *status = pay_store_col_text(st, 6), *acct = pay_store_col_text(st, 3);
        size_t al = strlen(acct);
        int64_t done = pay_store_col_int64(st, 9);
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s}", "id", pay_store_col_text(st, 0),
            "business_date", pay_store_col_text(st, 1), "bank",
            pay_platform_bank_text(pay_http_req_ctx(c->req), c->req, pay_store_col_text(st, 2)),
            "account_last4", al >= 4 ? acct + al - 4 : acct, "amount",
            pay_portal_money(c->req, pay_store_col_int64(st, 4), pay_store_col_text(st, 5)),
            "status", status, "status_text", payout_status_text(c->req, status), "created",
            pay_http_req_time(c->req, pay_store_col_int64(st, 8)), "done",
            done ? pay_http_req_time(c->req, done) : "");
        if (o && strcmp(status, "failed") == 0)
            json_object_set_new(o, "failure", json_string(pay_store_col_text(st, 7)));
        json_array_append_new(c->arr, o);
    }
    pay_store_done(st);
    return r < 0 ? err->code : PAY_ERR_OK;
}

/* GET /portal/payouts: the newest payouts first. */
static enum pay_err h_payouts(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e;
    struct pay_portal_user *u = money_user(req, &e, err);
    if (!u)
        return e;
    struct payouts_ctx c = {req, u->merchant_id, json_array()};
    if ((e = pay_store_run_read(p->store, payouts_tx, &c, err)) != PAY_ERR_OK) {
        json_decref(c.arr);
        return e;
    }
    json_t *ctx = pay_portal_page_ctx(req, p, u, "nav_payouts");
    json_object_set_new(ctx, "payouts", c.arr);
    pay_http_respond_template(req, 200, "portal_payouts", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

/* GET /portal/bills: links to the last BILL_DAYS days' bills, and a form for any date. */
static enum pay_err h_bills(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e;
    struct pay_portal_user *u = money_user(req, &e, err);
    if (!u)
        return e;
    const struct pay_tz *tz = p->settle_tz ? p->settle_tz : pay_http_req_tz(req);
    int64_t today = pay_tz_day_start_ms(tz, pay_clock_now_ms());
    json_t *days = json_array();
    for (int i = 0; i < BILL_DAYS; i++) {
        struct pay_tz_civil c;
        pay_tz_civil(tz, today + DAY_MS / 2 - (int64_t)i * DAY_MS, &c);
        char date[16];
        snprintf(date, sizeof date, "%04lld-%02d-%02d", (long long)c.year, c.month, c.day);
        json_array_append_new(days, json_pack("{s:s}", "date", date));
    }
    json_t *ctx = pay_portal_page_ctx(req, p, u, "nav_bills");
    json_object_set_new(ctx, "days", days);
    json_object_set_new(ctx, "zone", json_string(pay_tz_name(tz)));
    pay_http_respond_template(req, 200, "portal_bills", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

/* GET /portal/bills.csv?date=YYYY-MM-DD&type=trade|settlement: the bill as a file. */
static enum pay_err h_bill_csv(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e;
    struct pay_portal_user *u = money_user(req, &e, err);
    if (!u)
        return e;
    const char *date = pay_http_req_query(req, "date"), *type = pay_http_req_query(req, "type");
    struct pay_buf out;
    pay_buf_init(&out, (size_t)PAY_PLATFORM_BILL_ROWS_MAX * 256); /* as GET /v1/bills */
    e = pay_platform_bill_csv(p, u->merchant_id, date, type, &out, err);
    if (e == PAY_ERR_OK) {
        PAY_INFO("portal.bill", "user=%s date=%s type=%s", u->id, date, type);
        pay_http_respond_header(req, "Content-Disposition",
                                pay_http_req_printf(req, "attachment; filename=\"%s-%s-%s.csv\"",
                                                    u->merchant_id, type, date));
        pay_http_respond_bytes(req, 200, "text/csv; charset=utf-8", out.data, out.len);
    }
    pay_buf_fini(&out);
    return e;
}

const struct pay_http_route *pay_portal_money_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/portal/payouts", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_payouts, NULL},
        {"GET", "/portal/bills", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_bills, NULL},
        {"GET", "/portal/bills.csv", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_bill_csv, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
