/* The operator console: GET /operator/dashboard, a server-rendered page (no JavaScript) with
 * totals per currency, trades by state, inline-SVG charts (paid amount per day, payment method
 * mix), the notification outbox's health and a per-merchant table. Everything is read in one
 * read transaction on a reader connection (a consistent snapshot; never the committer).
 *
 * Access: only with [platform] operator_token set (else 403: there is no operator). The token
 * is accepted as `Authorization: Bearer` (as the operator API, for scripts) or through the
 * login form: POST /operator/login (double-submit CSRF cookie) sets pf_operator, a session
 * cookie "<expiry>.<HMAC-SHA256(token, expiry)>" (HttpOnly, SameSite=Strict, 1 hour), so the
 * token itself never sits in the browser, and changing the token ends every session. Never
 * in the query string: URLs end up in logs, history and Referer headers. */
#include "platform/platform.h"

#include "platform/svgchart.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/money.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "http/server.h"
#include "http/template.h"
#include "i18n/tz.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"

#define OP_COOKIE      "pf_operator"
#define OP_CSRF_COOKIE "pf_op_csrf"
#define DAY_MS         86400000LL
#define CHART_DAYS     14

static const char *const states[] = {PAY_TRADE_WAIT_BUYER_PAY, PAY_TRADE_SUCCESS,
                                     PAY_TRADE_WAIT_SEND,      PAY_TRADE_WAIT_CONFIRM,
                                     PAY_TRADE_CLOSED,         PAY_TRADE_FINISHED};
#define STATES_N (sizeof states / sizeof states[0])
/* The payment method mix: agreement debits are paid from the wallet, so they count there. */
static const char *const methods[] = {"wallet", "card", "bank", "qr"};

struct cur_row {
    char cur[4];
    int64_t today_n, today_amt, week_n, week_amt, refunds_week, fees;
    int64_t daily[CHART_DAYS];
};

struct merch_row {
    char id[PAY_ID_MAX], name[128], cur[4];
    int64_t trades, paid_n, volume, balance;
};

/* Days are the configured zone's (docs/i18n.md): "today" starts at local midnight. */
struct dash {
    const struct pay_tz *tz;
    int64_t now, today, week, chart_start;
    int64_t chart_day0; /* days since 1970 of chart_start's local date */
    struct cur_row cur[PAY_DASHBOARD_CURRENCIES_MAX];
    size_t n_cur;
    int64_t by_state[STATES_N], by_method[4];
    int64_t out_pending, out_failed, out_delivered_hour;
    struct merch_row *m; /* PAY_DASHBOARD_MERCHANTS_MAX, heap */
    size_t n_m;
};

/* --- access --------------------------------------------------------------------------- */

static void session_mac(const struct pay_platform *p, long long exp, char hex[65])
{
    char msg[64];
    int n = snprintf(msg, sizeof msg, "paygate operator dashboard|%lld", exp);
    uint8_t mac[PAY_HMAC_SHA256_LEN];
    pay_hmac_sha256(mac, p->set.operator_token, strlen(p->set.operator_token), msg, (size_t)n);
    pay_hex_encode(hex, 65, mac, sizeof mac);
}

static bool session_ok(const struct pay_platform *p, const char *c)
{
    char *end = NULL;
    long long exp = c ? strtoll(c, &end, 10) : 0, now = pay_clock_now_ms() / 1000;
    if (!c || end == c || *end != '.' || exp < now || exp > now + PAY_OPERATOR_SESSION_S + 60)
        return false;
    char hex[65];
    session_mac(p, exp, hex);
    return strlen(end + 1) == 64 && pay_ct_equal(end + 1, hex, 64);
}

static bool bearer_ok(const struct pay_platform *p, const char *h)
{
    size_t n = strlen(p->set.operator_token);
    return h && strncmp(h, "Bearer ", 7) == 0 && strlen(h + 7) == n &&
           pay_ct_equal(h + 7, p->set.operator_token, n);
}

/* The login form (status 401) with a fresh double-submit CSRF cookie. */
static enum pay_err login_page(struct pay_http_request *req, struct pay_platform *p,
                               const char *error, struct pay_error *err)
{
    char csrf[PAY_PLATFORM_TOKEN_TEXT_MAX];
    if (pay_random_token(csrf, sizeof csrf, 32) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    pay_http_respond_cookie(req, OP_CSRF_COOKIE, csrf, -1, PAY_HTTP_COOKIE_STRICT);
    json_t *ctx = json_pack("{s:s, s:s}", "platform", p->set.name, "csrf", csrf);
    if (ctx && error)
        json_object_set_new(ctx, "error", json_string(error));
    pay_http_respond_page_url(req, "/operator/dashboard");
    pay_http_respond_template(req, 401, "dashboard_login", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

static enum pay_err h_login(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    if (!p->set.operator_token[0])
        return pay_error_set(err, PAY_ERR_FORBIDDEN, "", "the operator console is off");
    const char *c = pay_http_req_cookie(req, OP_CSRF_COOKIE),
               *f = pay_http_req_form_get(req, "csrf"), *tok = pay_http_req_form_get(req, "token");
    if (!c || !f || strlen(c) < 16 || strlen(c) != strlen(f) || !pay_ct_equal(c, f, strlen(c)))
        return pay_error_set(err, PAY_ERR_CSRF_INVALID, "csrf", NULL);
    size_t n = strlen(p->set.operator_token);
    const char *ip = pay_http_req_remote_ip(req);
    if (!tok || strlen(tok) != n || !pay_ct_equal(tok, p->set.operator_token, n)) {
        PAY_WARN("operator.login_failed", "ip=%s", ip);
        pay_platform_audit_event(p, &(struct pay_audit_entry){.actor = "operator",
                                                              .action = "operator.login",
                                                              .outcome = "CREDENTIALS_INVALID",
                                                              .source = ip});
        return login_page(req, p, pay_http_req_tr(req, "Wrong operator token."), err);
    }
    pay_platform_audit_event(p, &(struct pay_audit_entry){
                                    .actor = "operator", .action = "operator.login", .source = ip});
    long long exp = pay_clock_now_ms() / 1000 + PAY_OPERATOR_SESSION_S;
    char hex[65], value[96];
    session_mac(p, exp, hex);
    snprintf(value, sizeof value, "%lld.%s", exp, hex);
    PAY_INFO("operator.login", "ip=%s", ip);
    pay_http_respond_cookie(req, OP_COOKIE, value, PAY_OPERATOR_SESSION_S, PAY_HTTP_COOKIE_STRICT);
    pay_http_respond_redirect(req, "/operator/dashboard");
    return PAY_ERR_OK;
}

/* --- reading ---------------------------------------------------------------------------- */

static struct cur_row *cur_of(struct dash *d, const char *cur)
{
    for (size_t i = 0; i < d->n_cur; i++)
        if (strcmp(d->cur[i].cur, cur) == 0)
            return &d->cur[i];
    if (d->n_cur == PAY_DASHBOARD_CURRENCIES_MAX || strlen(cur) != 3)
        return NULL;
    struct cur_row *r = &d->cur[d->n_cur++];
    pay_str_copy(r->cur, sizeof r->cur, cur);
    return r;
}

/* Runs sql (types "", "i" or "ii": a1, a2 bound as $1, $2) and calls row() for each row. */
static enum pay_err each(struct pay_store_tx *tx, struct pay_error *err, struct dash *d,
                         void (*row)(struct dash *, struct pay_store_stmt *), const char *sql,
                         const char *types, int64_t a1, int64_t a2)
{
    struct pay_store_stmt *st = pay_store_query(tx, err, sql, types, a1, a2);
    if (!st)
        return err->code;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1)
        row(d, st);
    pay_store_done(st);
    return rc < 0 ? (err->code) : PAY_ERR_OK;
}

static void row_paid(struct dash *d, struct pay_store_stmt *st)
{
    struct cur_row *r = cur_of(d, pay_store_col_text(st, 0));
    int64_t paid = pay_store_col_int64(st, 1), amt = pay_store_col_int64(st, 2);
    if (!r)
        return;
    if (paid >= d->week)
        r->week_n++, r->week_amt += amt;
    if (paid >= d->today)
        r->today_n++, r->today_amt += amt;
    struct pay_tz_civil c;
    pay_tz_civil(d->tz, paid, &c);
    int64_t day = pay_tz_days_from_civil(c.year, c.month, c.day) - d->chart_day0;
    if (day >= 0 && day < CHART_DAYS)
        r->daily[day] += amt;
}

static void row_refund(struct dash *d, struct pay_store_stmt *st)
{
    struct cur_row *r = cur_of(d, pay_store_col_text(st, 0));
    if (r)
        r->refunds_week = pay_store_col_int64(st, 1);
}

static void fees_balance(void *ctx, const char *id, int64_t net_credit)
{
    struct dash *d = ctx; /* id: pf.fees.<cur> */
    struct cur_row *r = strlen(id) == 11 ? cur_of(d, id + 8) : NULL;
    if (r)
        r->fees = net_credit;
}

static void merchant_balance(void *ctx, const char *id, int64_t net_credit)
{
    (void)id;
    *(int64_t *)ctx = net_credit;
}

static void row_state(struct dash *d, struct pay_store_stmt *st)
{
    for (size_t i = 0; i < STATES_N; i++)
        if (strcmp(pay_store_col_text(st, 0), states[i]) == 0)
            d->by_state[i] = pay_store_col_int64(st, 1);
}

static void row_method(struct dash *d, struct pay_store_stmt *st)
{
    const char *m = pay_store_col_text(st, 0);
    if (strcmp(m, "agreement") == 0)
        m = "wallet";
    for (size_t i = 0; i < 4; i++)
        if (strcmp(m, methods[i]) == 0)
            d->by_method[i] += pay_store_col_int64(st, 1);
}

static void row_outbox(struct dash *d, struct pay_store_stmt *st)
{
    d->out_pending = pay_store_col_int64(st, 0);
    d->out_failed = pay_store_col_int64(st, 1);
    d->out_delivered_hour = pay_store_col_int64(st, 2);
}

static void row_merchant(struct dash *d, struct pay_store_stmt *st)
{
    if (d->n_m == PAY_DASHBOARD_MERCHANTS_MAX)
        return;
    struct merch_row *m = &d->m[d->n_m++];
    pay_store_col_copy(st, 0, m->id, sizeof m->id);
    pay_store_col_copy(st, 1, m->name, sizeof m->name);
    pay_store_col_copy(st, 2, m->cur, sizeof m->cur);
    m->trades = pay_store_col_int64(st, 3);
    m->paid_n = pay_store_col_int64(st, 4);
    m->volume = pay_store_col_int64(st, 5);
}

/* Each merchant row's balance in its currency, from the ledger (its account
 * pf.merchant.<id>.<cur>; none yet: 0). */
static enum pay_err merchant_balances(struct pay_store_tx *tx, struct dash *d,
                                      struct pay_error *err)
{
    for (size_t i = 0; i < d->n_m; i++) {
        struct merch_row *m = &d->m[i];
        m->balance = 0;
        if (m->cur[0] == '\0')
            continue;
        char acct[PAY_LEDGER_ID_MAX + 1];
        if (snprintf(acct, sizeof acct, "pf.merchant.%s.%s", m->id, m->cur) >= (int)sizeof acct)
            continue; /* not an account id: it has none */
        enum pay_err e = pay_ledger_tx_each_balance(tx, acct, PAY_PF_ACCT_MERCHANT,
                                                    merchant_balance, &m->balance, err);
        if (e != PAY_ERR_OK)
            return e;
    }
    return PAY_ERR_OK;
}

static enum pay_err read_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct dash *d = ctx;
    enum pay_err s = PAY_ERR_OK;
    if (s == PAY_ERR_OK)
        s = each(tx, err, d, row_paid,
                 "SELECT currency, paid_ms, amount_minor FROM pf_trades"
                 " WHERE paid_ms >= $1 ORDER BY currency",
                 "i", d->chart_start, 0);
    if (s == PAY_ERR_OK)
        s = each(tx, err, d, row_refund,
                 "SELECT currency, SUM(amount_minor) FROM pf_refunds WHERE created_ms >= $1"
                 " GROUP BY currency ORDER BY currency",
                 "i", d->week, 0);
    if (s == PAY_ERR_OK)
        s = pay_ledger_tx_each_balance(tx, "pf.fees.", PAY_PF_ACCT_FEES, fees_balance, d, err);
    if (s == PAY_ERR_OK)
        s = each(tx, err, d, row_state, "SELECT state, COUNT(*) FROM pf_trades GROUP BY state", "",
                 0, 0);
    if (s == PAY_ERR_OK)
        s = each(
            tx, err, d, row_method,
            "SELECT pay_method, COUNT(*) FROM pf_trades WHERE paid_ms >= $1 GROUP BY pay_method",
            "i", d->chart_start, 0);
    if (s == PAY_ERR_OK)
        s = each(tx, err, d, row_outbox,
                 "SELECT COUNT(*) FILTER (WHERE status = 'pending'),"
                 " COUNT(*) FILTER (WHERE status = 'failed'),"
                 " COUNT(*) FILTER (WHERE status = 'delivered' AND delivered_ms >= $1)"
                 " FROM pf_notify_outbox",
                 "i", d->now - 3600000, 0);
    if (s == PAY_ERR_OK)
        s = each(tx, err, d, row_merchant,
                 "SELECT m.id, m.name, COALESCE(t.currency, ''), COUNT(t.id),"
                 " COUNT(t.id) FILTER (WHERE t.paid_ms > 0),"
                 " COALESCE(SUM(CASE WHEN t.paid_ms > 0 THEN t.amount_minor END), 0)"
                 " FROM pf_merchants m LEFT JOIN pf_trades t ON t.merchant_id = m.id"
                 " GROUP BY m.id, t.currency ORDER BY m.id, t.currency LIMIT $1",
                 "i", (int64_t)PAY_DASHBOARD_MERCHANTS_MAX, 0);
    if (s == PAY_ERR_OK)
        s = merchant_balances(tx, d, err);
    return s;
}

/* --- rendering -------------------------------------------------------------------------- */

/* An amount as {"value": "20.00" (for scripts), "text": "¥20.00" (for people)}. */
static json_t *money(struct pay_http_request *req, int64_t minor, const char *cur)
{
    char t[PAY_MONEY_TEXT_MAX + 1];
    if (pay_money_format(minor, cur, t, sizeof t) < 0)
        snprintf(t, sizeof t, "?");
    return json_pack("{s:s, s:s}", "value", t, "text", pay_http_req_money(req, minor, cur));
}

/* One chart per currency: paid amount per local day, the last CHART_DAYS days. */
static json_t *daily_chart(struct pay_http_request *req, const struct dash *d,
                           const struct cur_row *r)
{
    struct pay_svg_bar bars[CHART_DAYS];
    char labels[CHART_DAYS][8], vals[CHART_DAYS][PAY_MONEY_TEXT_MAX + 1];
    for (size_t i = 0; i < CHART_DAYS; i++) {
        int64_t y;
        int m, day;
        pay_tz_civil_from_days(d->chart_day0 + (int64_t)i, &y, &m, &day);
        snprintf(labels[i], sizeof labels[i], "%02d-%02d", m, day);
        if (pay_money_format(r->daily[i], r->cur, vals[i], sizeof vals[i]) < 0)
            vals[i][0] = '\0';
        bars[i] = (struct pay_svg_bar){labels[i], r->daily[i], vals[i]};
    }
    const char *title = pay_http_req_trf(req, "Paid {currency} per day, last 14 days ({zone})",
                                         "currency", r->cur, "zone", pay_tz_name(d->tz), NULL);
    char *svg = pay_svg_bar_chart(title, bars, CHART_DAYS);
    json_t *o = json_pack("{s:s, s:o}", "currency", r->cur, "svg", pay_tpl_trusted(svg ? svg : ""));
    free(svg);
    return o;
}

static json_t *method_chart(struct pay_http_request *req, const struct dash *d)
{
    struct pay_svg_bar bars[4];
    char vals[4][24];
    for (size_t i = 0; i < 4; i++) {
        snprintf(vals[i], sizeof vals[i], "%" PRId64, d->by_method[i]);
        bars[i] = (struct pay_svg_bar){pay_platform_method_text(req, methods[i]), d->by_method[i],
                                       vals[i]};
    }
    char *svg = pay_svg_bar_chart(
        pay_http_req_tr(req, "Paid trades by payment method, last 14 days"), bars, 4);
    json_t *o = pay_tpl_trusted(svg ? svg : "");
    free(svg);
    return o;
}

static json_t *currencies_json(struct pay_http_request *req, const struct dash *d)
{
    json_t *a = json_array();
    for (size_t i = 0; i < d->n_cur; i++) {
        const struct cur_row *r = &d->cur[i];
        json_array_append_new(
            a, json_pack("{s:s, s:I, s:o, s:I, s:o, s:o, s:o}", "currency", r->cur, "today_n",
                         (json_int_t)r->today_n, "today_amount", money(req, r->today_amt, r->cur),
                         "week_n", (json_int_t)r->week_n, "week_amount",
                         money(req, r->week_amt, r->cur), "refunds_week",
                         money(req, r->refunds_week, r->cur), "fees", money(req, r->fees, r->cur)));
    }
    return a;
}

static json_t *merchants_json(struct pay_http_request *req, const struct dash *d)
{
    json_t *a = json_array();
    for (size_t i = 0; i < d->n_m; i++) {
        const struct merch_row *m = &d->m[i];
        bool c = m->cur[0] != '\0';
        json_t *none = json_pack("{s:s, s:s}", "value", "", "text", "-");
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:o}", "id", m->id, "name", m->name,
                         "currency", m->cur, "trades", (json_int_t)m->trades, "paid",
                         (json_int_t)m->paid_n, "volume",
                         c ? money(req, m->volume, m->cur) : json_incref(none), "balance",
                         c ? money(req, m->balance, m->cur) : json_incref(none)));
        json_decref(none);
    }
    return a;
}

static json_t *page_json(struct pay_http_request *req, const struct pay_platform *p,
                         const struct dash *d)
{
    json_t *st = json_array(), *charts = json_array();
    for (size_t i = 0; i < STATES_N; i++)
        json_array_append_new(st, json_pack("{s:s, s:s, s:I}", "state", states[i], "state_text",
                                            pay_platform_state_text(req, states[i]), "count",
                                            (json_int_t)d->by_state[i]));
    for (size_t i = 0; i < d->n_cur; i++)
        json_array_append_new(charts, daily_chart(req, d, &d->cur[i]));
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I}}", "platform",
                     p->set.name, "now", pay_http_req_time(req, d->now), "zone", pay_tz_name(d->tz),
                     "currencies", currencies_json(req, d), "states", st, "daily_charts", charts,
                     "method_chart", method_chart(req, d), "merchants", merchants_json(req, d),
                     "outbox", "pending", (json_int_t)d->out_pending, "failed",
                     (json_int_t)d->out_failed, "delivered_hour",
                     (json_int_t)d->out_delivered_hour);
}

enum pay_err pay_platform_operator_gate(struct pay_http_request *req, struct pay_platform *p,
                                        bool *allowed, struct pay_error *err)
{
    *allowed = false;
    if (!p->set.operator_token[0])
        return pay_error_set(err, PAY_ERR_FORBIDDEN, "",
                             "the operator console is off: set [platform] operator_token");
    if (!bearer_ok(p, pay_http_req_header(req, "Authorization")) &&
        !session_ok(p, pay_http_req_cookie(req, OP_COOKIE)))
        return login_page(req, p, NULL, err);
    *allowed = true;
    return PAY_ERR_OK;
}

enum pay_err pay_platform_operator_form_gate(struct pay_http_request *req, struct pay_platform *p,
                                             bool *allowed, struct pay_error *err)
{
    enum pay_err e = pay_platform_operator_gate(req, p, allowed, err);
    if (e != PAY_ERR_OK || !*allowed)
        return e;
    if (pay_http_req_header(req, "Authorization") != NULL)
        return PAY_ERR_OK; /* a script with the Bearer token sends no cookie: nothing to forge */
    const char *c = pay_http_req_cookie(req, OP_CSRF_COOKIE),
               *f = pay_http_req_form_get(req, "csrf");
    if (!c || !f || strlen(c) < 16 || strlen(c) != strlen(f) || !pay_ct_equal(c, f, strlen(c))) {
        *allowed = false;
        return pay_error_set(err, PAY_ERR_CSRF_INVALID, "csrf", NULL);
    }
    return PAY_ERR_OK;
}

const char *pay_platform_operator_csrf(struct pay_http_request *req,
                                       char fresh[PAY_PLATFORM_TOKEN_TEXT_MAX])
{
    const char *csrf = pay_http_req_cookie(req, OP_CSRF_COOKIE);
    if (csrf && strlen(csrf) >= 16 && strlen(csrf) < PAY_PLATFORM_TOKEN_TEXT_MAX)
        return csrf;
    if (pay_random_token(fresh, PAY_PLATFORM_TOKEN_TEXT_MAX, 32) != 0)
        return NULL;
    pay_http_respond_cookie(req, OP_CSRF_COOKIE, fresh, -1, PAY_HTTP_COOKIE_STRICT);
    return fresh;
}

static enum pay_err h_dashboard(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    bool allowed = false;
    enum pay_err gate = pay_platform_operator_gate(req, p, &allowed, err);
    if (gate != PAY_ERR_OK || !allowed)
        return gate;
    struct dash d = {.now = pay_clock_now_ms(), .tz = pay_http_req_tz(req)};
    /* local midnights: of today, and of the days 6 and 13 before (noon of a day is safely
     * inside it even when a daylight saving change makes it 23 or 25 hours long) */
    d.today = pay_tz_day_start_ms(d.tz, d.now);
    d.week = pay_tz_day_start_ms(d.tz, d.today + DAY_MS / 2 - 6 * DAY_MS);
    d.chart_start = pay_tz_day_start_ms(d.tz, d.today + DAY_MS / 2 - (CHART_DAYS - 1) * DAY_MS);
    struct pay_tz_civil c0;
    pay_tz_civil(d.tz, d.chart_start + DAY_MS / 2, &c0);
    d.chart_day0 = pay_tz_days_from_civil(c0.year, c0.month, c0.day);
    d.m = pay_http_req_alloc(req, PAY_DASHBOARD_MERCHANTS_MAX * sizeof *d.m);
    if (!d.m)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    enum pay_err e = pay_store_run_read(p->store, read_tx, &d, err);
    if (e != PAY_ERR_OK)
        return e;
    json_t *ctx = page_json(req, p, &d);
    if (!ctx)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    pay_http_respond_template(req, 200, "dashboard", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

const struct pay_http_route *pay_platform_dashboard_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/operator/dashboard", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_dashboard, NULL},
        {"POST", "/operator/login", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_login, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
