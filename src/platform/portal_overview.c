/* The merchant portal's overview (概览, docs/portal.md "Overview"): the last OVERVIEW_DAYS local
 * days of the member's merchant in three charts drawn as inline SVG by the server
 * (svgchart.h: no script, no style attribute, nothing fetched): the amount paid per day, the
 * success rate per day (trades created that day that were paid, in percent) and the amount
 * refunded per day; with the totals as numbers beside them. Trades in CNY, the platform's
 * currency. Every role may see it. */
#include "platform/portal.h"
#include "platform/svgchart.h"

#include "core/clock.h"
#include "core/money.h"
#include "http/server.h"
#include "http/template.h"
#include "i18n/i18n.h"
#include "i18n/tz.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS        86400000LL
#define OVERVIEW_DAYS 14
_Static_assert(OVERVIEW_DAYS <= PAY_SVG_BARS_MAX, "one bar a day");

struct overview {
    const char *merchant_id;
    const struct pay_tz *tz;
    int64_t start_ms, day0; /* local midnight of the first day; its day number */
    int64_t paid[OVERVIEW_DAYS], created_n[OVERVIEW_DAYS], paid_n[OVERVIEW_DAYS];
    int64_t refunded[OVERVIEW_DAYS];
};

/* The day index of utc_ms, or -1 outside the window. */
static int day_of(const struct overview *o, int64_t utc_ms)
{
    struct pay_tz_civil c;
    pay_tz_civil(o->tz, utc_ms, &c);
    int64_t d = pay_tz_days_from_civil(c.year, c.month, c.day) - o->day0;
    return d >= 0 && d < OVERVIEW_DAYS ? (int)d : -1;
}

/* Adds v to sums[day of ms]; money is added checked (a day's sum beyond the maximum stops
 * growing: a chart, not a ledger). */
static void add_to(const struct overview *o, int64_t *sums, int64_t ms, int64_t v)
{
    int d = day_of(o, ms);
    int64_t s;
    if (d >= 0 && pay_money_add(sums[d], v, &s) == PAY_ERR_OK)
        sums[d] = s;
}

static enum pay_err overview_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct overview *o = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT created_ms, paid_ms, amount_minor FROM pf_trades WHERE merchant_id = $1"
        " AND currency = 'CNY' AND (created_ms >= $2 OR paid_ms >= $2)",
        "ti", o->merchant_id, o->start_ms);
    if (!st)
        return err->code;
    int r;
    while ((r = pay_store_step(st, err)) == 1) {
        int64_t created = pay_store_col_int64(st, 0), paid = pay_store_col_int64(st, 1);
        int d = created >= o->start_ms ? day_of(o, created) : -1;
        if (d >= 0) {
            o->created_n[d]++;
            o->paid_n[d] += paid > 0;
        }
        if (paid >= o->start_ms)
            add_to(o, o->paid, paid, pay_store_col_int64(st, 2));
    }
    pay_store_done(st);
    if (r < 0)
        return err->code;
    st = pay_store_query(tx, err,
                         "SELECT created_ms, amount_minor FROM pf_refunds WHERE merchant_id = $1"
                         " AND currency = 'CNY' AND status = 'SUCCESS' AND created_ms >= $2",
                         "ti", o->merchant_id, o->start_ms);
    if (!st)
        return err->code;
    while ((r = pay_store_step(st, err)) == 1)
        add_to(o, o->refunded, pay_store_col_int64(st, 0), pay_store_col_int64(st, 1));
    pay_store_done(st);
    return r < 0 ? err->code : PAY_ERR_OK;
}

/* One chart: a bar a day of values (money in minor units, or percent when percent). */
static json_t *chart(struct pay_http_request *req, const struct overview *o, const char *title,
                     const int64_t *values, bool percent)
{
    struct pay_svg_bar bars[OVERVIEW_DAYS];
    char labels[OVERVIEW_DAYS][8], texts[OVERVIEW_DAYS][PAY_MONEY_TEXT_MAX + 2];
    for (int i = 0; i < OVERVIEW_DAYS; i++) {
        int64_t y;
        int m, d;
        pay_tz_civil_from_days(o->day0 + i, &y, &m, &d);
        snprintf(labels[i], sizeof labels[i], "%02d-%02d", m, d);
        if (percent)
            snprintf(texts[i], sizeof texts[i], "%" PRId64 "%%", values[i]);
        else if (pay_money_format(values[i], "CNY", texts[i], sizeof texts[i]) < 0)
            texts[i][0] = '\0';
        bars[i] = (struct pay_svg_bar){labels[i], values[i], texts[i]};
    }
    char *svg = pay_svg_bar_chart(title, bars, OVERVIEW_DAYS);
    json_t *j = pay_tpl_trusted(svg ? svg : "");
    free(svg);
    return j;
}

/* The totals of the window as page values. */
static json_t *totals(struct pay_http_request *req, const struct overview *o, int64_t rate[])
{
    int64_t paid = 0, refunded = 0, created = 0, paid_n = 0;
    for (int i = 0; i < OVERVIEW_DAYS; i++) {
        int64_t s; /* a sum past the maximum stops growing: a chart, not a ledger */
        if (pay_money_add(paid, o->paid[i], &s) == PAY_ERR_OK)
            paid = s;
        if (pay_money_add(refunded, o->refunded[i], &s) == PAY_ERR_OK)
            refunded = s;
        created += o->created_n[i];
        paid_n += o->paid_n[i];
        rate[i] = o->created_n[i] ? o->paid_n[i] * 100 / o->created_n[i] : 0;
    }
    char pct[16];
    snprintf(pct, sizeof pct, "%" PRId64 "%%", created ? paid_n * 100 / created : 0);
    return json_pack("{s:o, s:o, s:I, s:I, s:s}", "paid", pay_portal_money(req, paid, "CNY"),
                     "refunded", pay_portal_money(req, refunded, "CNY"), "created",
                     (json_int_t)created, "paid_n", (json_int_t)paid_n, "rate", pct);
}

/* GET /portal/overview */
static enum pay_err h_overview(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e;
    struct pay_portal_user *u = pay_portal_page_user(req, &e, err);
    if (!u)
        return e;
    struct overview o = {.merchant_id = u->merchant_id, .tz = pay_http_req_tz(req)};
    int64_t today = pay_tz_day_start_ms(o.tz, pay_clock_now_ms());
    o.start_ms = pay_tz_day_start_ms(o.tz, today + DAY_MS / 2 - (OVERVIEW_DAYS - 1) * DAY_MS);
    struct pay_tz_civil c0;
    pay_tz_civil(o.tz, o.start_ms + DAY_MS / 2, &c0);
    o.day0 = pay_tz_days_from_civil(c0.year, c0.month, c0.day);
    if ((e = pay_store_run_read(p->store, overview_tx, &o, err)) != PAY_ERR_OK)
        return e;
    int64_t rate[OVERVIEW_DAYS];
    json_t *ctx = pay_portal_page_ctx(req, p, u, "nav_overview");
    json_object_set_new(ctx, "totals", totals(req, &o, rate));
    json_object_set_new(ctx, "zone", json_string(pay_tz_name(o.tz)));
    json_object_set_new(
        ctx, "chart_paid",
        chart(req, &o, pay_http_req_tr(req, "Paid per day (CNY), last 14 days"), o.paid, false));
    json_object_set_new(ctx, "chart_rate",
                        chart(req, &o,
                              pay_http_req_tr(req, "Success rate per day: trades paid of trades "
                                                   "created (%), last 14 days"),
                              rate, true));
    json_object_set_new(ctx, "chart_refunds",
                        chart(req, &o, pay_http_req_tr(req, "Refunded per day (CNY), last 14 days"),
                              o.refunded, false));
    pay_http_respond_template(req, 200, "portal_overview", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

const struct pay_http_route *pay_portal_overview_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/portal/overview", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_overview, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
