/* The merchant portal's reading pages (docs/portal.md): login and logout, the trade list with
 * search and filters, its CSV export, and a trade's detail with its refunds and notifications.
 * Every page needs a session of a team member (pf_portal cookie, SameSite=Strict, HttpOnly);
 * every POST carries the session's CSRF token; every read is the member's merchant's only. */
#include "platform/portal.h"
#include "platform/api.h"

#include "core/clock.h"
#include "core/money.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "http/codec.h"
#include "http/server.h"
#include "i18n/i18n.h"
#include "i18n/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define DAY_MS 86400000LL

static bool token_eq(const char *a, const char *b)
{
    size_t n = a ? strlen(a) : 0;
    return a && b && n >= 16 && n == strlen(b) && pay_ct_equal(a, b, n);
}

/* The login form with a fresh double-submit CSRF cookie (status: 401, or the refusal's). */
static enum pay_err login_page(struct pay_http_request *req, int status, const char *error,
                               struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    char csrf[PAY_PLATFORM_TOKEN_TEXT_MAX];
    if (pay_random_token(csrf, sizeof csrf, 32) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    pay_http_respond_cookie(req, PAY_PORTAL_CSRF_COOKIE, csrf, -1, PAY_HTTP_COOKIE_STRICT);
    json_t *ctx = json_pack("{s:s, s:s}", "platform", p->set.name, "csrf", csrf);
    if (ctx && error)
        json_object_set_new(ctx, "error", json_string(error));
    pay_http_respond_page_url(req, "/portal/login");
    pay_http_respond_template(req, status, "portal_login", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

struct pay_portal_user *pay_portal_page_user(struct pay_http_request *req, enum pay_err *e,
                                             struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    struct pay_portal_user *u = pay_http_req_alloc(req, sizeof *u);
    struct pay_error ignore = {0};
    *e = PAY_ERR_OK;
    if (!u) {
        *e = pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
        return NULL;
    }
    bool post = strcmp(pay_http_req_method(req), "POST") == 0;
    if (pay_portal_session_get(p, pay_http_req_cookie(req, PAY_PORTAL_COOKIE), u, &ignore) !=
        PAY_ERR_OK) { /* a page goes to the login form; a form post is refused */
        if (post)
            *e = pay_error_set(err, PAY_ERR_UNAUTHENTICATED, "session", N_("Log in again."));
        else
            pay_http_respond_redirect(req, "/portal/login");
        return NULL;
    }
    if (post && !token_eq(pay_http_req_form_get(req, "csrf"), u->csrf)) {
        *e = pay_error_set(err, PAY_ERR_CSRF_INVALID, "csrf", NULL);
        return NULL;
    }
    return u;
}

enum pay_err pay_portal_forbidden(struct pay_http_request *req, const struct pay_portal_user *u,
                                  struct pay_error *err)
{
    PAY_WARN("portal.forbidden", "user=%s role=%s path=%s", u->id, pay_portal_role_name(u->role),
             pay_http_req_path(req));
    return pay_i18n_error_set(err, PAY_ERR_FORBIDDEN, "role",
                              "your role ({role}) may not do this; ask the owner", "role",
                              pay_portal_role_name(u->role), NULL);
}

const char *pay_portal_role_text(struct pay_http_request *req, enum pay_portal_role r)
{
    return r == PAY_PORTAL_OWNER     ? pay_http_req_trc(req, "portal role", "Owner")
           : r == PAY_PORTAL_FINANCE ? pay_http_req_trc(req, "portal role", "Finance")
                                     : pay_http_req_trc(req, "portal role", "Support");
}

json_t *pay_portal_page_ctx(struct pay_http_request *req, const struct pay_platform *p,
                            const struct pay_portal_user *u, const char *section)
{
    json_t *ctx = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:b}", "platform", p->set.name,
        "merchant_id", u->merchant_id, "merchant_name", u->merchant_name, "login", u->login, "role",
        pay_portal_role_name(u->role), "role_text", pay_portal_role_text(req, u->role), "csrf",
        u->csrf, "may_refund", pay_portal_may(u->role, PAY_PORTAL_REFUND), "may_payouts",
        pay_portal_may(u->role, PAY_PORTAL_PAYOUTS), "may_keys",
        pay_portal_may(u->role, PAY_PORTAL_KEYS), "may_team",
        pay_portal_may(u->role, PAY_PORTAL_TEAM));
    if (ctx)
        json_object_set_new(ctx, section, json_true()); /* the nav's current entry */
    static const struct {
        const char *key, *msgid;
    } notices[] = {
        {"refunded", N_("Refunded. The money is on its way back to the payer.")},
        {"resent", N_("The notification is queued and will be sent in a moment.")},
        {"key_added", N_("Key added. Sign with its key ID from now on.")},
        {"key_revoked", N_("Key revoked. Requests signed with it are refused.")},
        {"hosts_saved", N_("Notify hosts saved.")},
        {"request_accepted", N_("Accepted: the refund is made and the consumer told.")},
        {"request_refused", N_("Refused: the consumer sees your note.")},
    };
    const char *done = pay_http_req_query(req, "done");
    for (size_t i = 0; ctx && done && i < sizeof notices / sizeof notices[0]; i++)
        if (strcmp(done, notices[i].key) == 0)
            json_object_set_new(ctx, "notice",
                                pay_platform_notice(done, pay_http_req_tr(req, notices[i].msgid)));
    return ctx;
}

json_t *pay_portal_money(struct pay_http_request *req, int64_t minor, const char *currency)
{
    char t[PAY_MONEY_TEXT_MAX + 1];
    if (pay_money_format(minor, currency, t, sizeof t) < 0)
        snprintf(t, sizeof t, "?");
    return json_pack("{s:s, s:s}", "value", t, "text", pay_http_req_money(req, minor, currency));
}

/* --- login, logout --------------------------------------------------------------------- */

static enum pay_err h_login_get(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    struct pay_portal_user u;
    struct pay_error ignore = {0};
    if (pay_portal_session_get(p, pay_http_req_cookie(req, PAY_PORTAL_COOKIE), &u, &ignore) ==
        PAY_ERR_OK) {
        pay_http_respond_redirect(req, "/portal/trades");
        return PAY_ERR_OK;
    }
    return login_page(req, 200, NULL, err);
}

static enum pay_err h_login_post(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    if (!token_eq(pay_http_req_cookie(req, PAY_PORTAL_CSRF_COOKIE),
                  pay_http_req_form_get(req, "csrf")))
        return pay_error_set(err, PAY_ERR_CSRF_INVALID, "csrf", NULL);
    const char *login = pay_http_req_form_get(req, "login");
    char token[PAY_PLATFORM_TOKEN_TEXT_MAX];
    struct pay_error lerr = {0};
    enum pay_err e = pay_portal_login(p, login, pay_http_req_form_get(req, "password"),
                                      pay_http_req_form_get(req, "totp"),
                                      pay_http_req_remote_ip(req), token, &lerr);
    if (e != PAY_ERR_OK) {
        PAY_WARN("portal.login_failed", "ip=%s result=%s", pay_http_req_remote_ip(req),
                 pay_err_name(e));
        if (e != PAY_ERR_CREDENTIALS_INVALID && e != PAY_ERR_LOCKED) {
            *err = lerr;
            return e;
        }
        return login_page(req, pay_err_http_status(e), pay_platform_error_for(req, e, &lerr), err);
    }
    PAY_INFO("portal.login", "ip=%s", pay_http_req_remote_ip(req));
    pay_http_respond_cookie(req, PAY_PORTAL_COOKIE, token, -1, PAY_HTTP_COOKIE_STRICT);
    pay_wipe(token, sizeof token);
    pay_http_respond_redirect(req, "/portal/trades");
    return PAY_ERR_OK;
}

static enum pay_err h_logout(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e;
    struct pay_portal_user *u = pay_portal_page_user(req, &e, err);
    if (!u)
        return e;
    pay_portal_session_end(p, pay_http_req_cookie(req, PAY_PORTAL_COOKIE));
    pay_http_respond_cookie(req, PAY_PORTAL_COOKIE, "", 0, PAY_HTTP_COOKIE_STRICT);
    pay_http_respond_redirect(req, "/portal/login");
    return PAY_ERR_OK;
}

static enum pay_err h_root(struct pay_http_request *req, struct pay_error *err)
{
    (void)err;
    pay_http_respond_redirect(req, "/portal/trades");
    return PAY_ERR_OK;
}

/* --- the trade list ---------------------------------------------------------------------- */

struct filter {
    const char *q, *state, *method, *from, *to;
    char like[2 * PAY_MERCHANT_ID_FIELD_MAX + 3];
    int64_t from_ms, to_ms; /* [from, to) in UTC; 0: open */
    int64_t page;
};

/* A local date "YYYY-MM-DD" as the UTC instant its day begins (next: of the day after). */
static enum pay_err date_ms(struct pay_http_request *req, const char *s, const char *field,
                            bool next, int64_t *out, struct pay_error *err)
{
    int y = 0, m = 0, d = 0, used = 0;
    if (!s || !s[0]) {
        *out = 0;
        return PAY_ERR_OK;
    }
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &used) != 3 || (size_t)used != strlen(s) ||
        y < 2000 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, field, "a date YYYY-MM-DD");
    const struct pay_tz *tz = pay_http_req_tz(req);
    int64_t noon = (pay_tz_days_from_civil(y, m, d) + (next ? 1 : 0)) * DAY_MS + DAY_MS / 2;
    noon -= (int64_t)pay_tz_offset_s(tz, noon / 1000) * 1000;
    *out = pay_tz_day_start_ms(tz, noon);
    return PAY_ERR_OK;
}

static const char *q_or_empty(struct pay_http_request *req, const char *name)
{
    const char *v = pay_http_req_query(req, name);
    return v ? v : "";
}

static enum pay_err filter_read(struct pay_http_request *req, struct filter *f,
                                struct pay_error *err)
{
    static const char *const states[] = {
        "",  PAY_TRADE_WAIT_BUYER_PAY, PAY_TRADE_SUCCESS, PAY_TRADE_CLOSED, PAY_TRADE_FINISHED,
        NULL};
    static const char *const methods[] = {"", "wallet", "card", "bank", "qr", "agreement", NULL};
    memset(f, 0, sizeof *f);
    f->q = q_or_empty(req, "q"), f->state = q_or_empty(req, "state");
    f->method = q_or_empty(req, "method");
    f->from = q_or_empty(req, "from"), f->to = q_or_empty(req, "to");
    bool st = false, me = false;
    for (size_t i = 0; states[i]; i++)
        st |= strcmp(f->state, states[i]) == 0;
    for (size_t i = 0; methods[i]; i++)
        me |= strcmp(f->method, methods[i]) == 0;
    if (!st)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "state", "a trade state");
    if (!me)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "method", "a payment method");
    if (strlen(f->q) > PAY_MERCHANT_ID_FIELD_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, "q", "at most %d bytes",
                             PAY_MERCHANT_ID_FIELD_MAX);
    size_t o = 0; /* subject LIKE %q% with the wildcards of q escaped */
    f->like[o++] = '%';
    for (const char *c = f->q; *c; c++) {
        if (*c == '%' || *c == '_' || *c == '\\')
            f->like[o++] = '\\';
        f->like[o++] = *c;
    }
    f->like[o++] = '%';
    f->like[o] = '\0';
    const char *page = q_or_empty(req, "page");
    char *end = NULL;
    f->page = page[0] ? strtoll(page, &end, 10) : 1;
    if (f->page < 1 || f->page > 100000 || (page[0] && *end))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "page", "a page number");
    enum pay_err e = date_ms(req, f->from, "from", false, &f->from_ms, err);
    return e == PAY_ERR_OK ? date_ms(req, f->to, "to", true, &f->to_ms, err) : e;
}

#define TRADE_COLS                                                                                 \
    "id, out_trade_no, created_ms, state, amount_minor, currency, fee_minor, refunded_minor,"      \
    " pay_method, paid_ms, subject"

struct list_ctx {
    const char *merchant_id;
    const struct filter *f;
    int64_t limit, offset;
    void (*row)(void *arg, struct pay_store_stmt *st);
    void *arg;
    int64_t n;
};

static enum pay_err list_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct list_ctx *l = ctx;
    const struct filter *f = l->f;
    l->n = 0;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT " TRADE_COLS " FROM pf_trades WHERE merchant_id = $1 AND ($2 = '' OR state = $2)"
        " AND ($3 = '' OR pay_method = $3) AND ($4 = 0 OR created_ms >= $4)"
        " AND ($5 = 0 OR created_ms < $5) AND ($6 = '' OR id = $6 OR out_trade_no = $6"
        " OR subject LIKE $7 ESCAPE '\\') ORDER BY created_ms DESC, id DESC LIMIT $8 OFFSET $9",
        "tttiittii", l->merchant_id, f->state, f->method, f->from_ms, f->to_ms, f->q, f->like,
        l->limit, l->offset);
    if (!st)
        return err->code;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1) {
        l->n++;
        l->row(l->arg, st);
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

struct page_rows {
    struct pay_http_request *req;
    json_t *arr;
};

static void page_row(void *arg, struct pay_store_stmt *st)
{
    struct page_rows *r = arg;
    if ((int64_t)json_array_size(r->arr) >= PAY_PORTAL_PAGE_ROWS)
        return; /* the one past the page: there is a next page */
    const char *cur = pay_store_col_text(st, 5), *state = pay_store_col_text(st, 3),
               *method = pay_store_col_text(st, 8);
    json_array_append_new(
        r->arr,
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:s}", "id",
                  pay_store_col_text(st, 0), "out_trade_no", pay_store_col_text(st, 1), "created",
                  pay_http_req_time(r->req, pay_store_col_int64(st, 2)), "state", state,
                  "state_text", pay_platform_state_text(r->req, state), "amount",
                  pay_portal_money(r->req, pay_store_col_int64(st, 4), cur), "refunded",
                  pay_portal_money(r->req, pay_store_col_int64(st, 7), cur), "method", method,
                  "method_text", method[0] ? pay_platform_method_text(r->req, method) : "",
                  "subject", pay_store_col_text(st, 10)));
}

/* The query string of f with page n ("" when n is 0: the filters only). Request memory. */
static const char *filter_query(struct pay_http_request *req, const struct filter *f, int64_t n)
{
    const char *kv[][2] = {
        {"q", f->q}, {"state", f->state}, {"method", f->method}, {"from", f->from}, {"to", f->to}};
    struct pay_buf b;
    char page[24];
    int rc = 0;
    pay_buf_init(&b, 1024);
    for (size_t i = 0; rc == 0 && i < sizeof kv / sizeof kv[0]; i++)
        if (kv[i][1][0])
            rc = pay_form_append(&b, kv[i][0], kv[i][1]);
    snprintf(page, sizeof page, "%lld", (long long)n);
    if (rc == 0 && n > 0)
        rc = pay_form_append(&b, "page", page);
    const char *out = pay_http_req_strdup(req, rc == 0 ? pay_buf_str(&b) : "");
    pay_buf_fini(&b);
    return out ? out : "";
}

static json_t *filter_json(struct pay_http_request *req, const struct filter *f)
{
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "q", f->q, "state", f->state, "method",
                  f->method, "from", f->from, "to", f->to, "query", filter_query(req, f, 0));
    static const char *const states[] = {PAY_TRADE_WAIT_BUYER_PAY, PAY_TRADE_SUCCESS,
                                         PAY_TRADE_CLOSED, PAY_TRADE_FINISHED};
    static const char *const methods[] = {"wallet", "card", "bank", "qr"};
    json_t *so = json_array(), *mo = json_array();
    for (size_t i = 0; i < 4; i++) {
        json_array_append_new(so, json_pack("{s:s, s:s, s:b}", "code", states[i], "text",
                                            pay_platform_state_text(req, states[i]), "selected",
                                            strcmp(f->state, states[i]) == 0));
        json_array_append_new(mo, json_pack("{s:s, s:s, s:b}", "code", methods[i], "text",
                                            pay_platform_method_text(req, methods[i]), "selected",
                                            strcmp(f->method, methods[i]) == 0));
    }
    json_object_set_new(o, "states", so);
    json_object_set_new(o, "methods", mo);
    return o;
}

/* The member asking for a list (the page or its CSV) and the list's filter; NULL with *e set
 * (the login page, or the refused filter) otherwise. */
static struct pay_portal_user *list_request(struct pay_http_request *req, struct filter *f,
                                            enum pay_err *e, struct pay_error *err)
{
    struct pay_portal_user *u = pay_portal_page_user(req, e, err);
    if (u && (*e = filter_read(req, f, err)) != PAY_ERR_OK)
        return NULL;
    return u;
}

/* The merchant's fee terms for the trades page: rate, minimum and cap (data-* for scripts). */
static void fee_terms_ctx(struct pay_http_request *req, struct pay_platform *p, const char *id,
                          json_t *ctx)
{
    struct pay_platform_merchant m;
    struct pay_error err = {0};
    if (pay_platform_merchant_get(p, id, &m, &err) != PAY_ERR_OK)
        return;
    char rate[32], min[PAY_MONEY_TEXT_MAX + 1] = "", cap[PAY_MONEY_TEXT_MAX + 1] = "";
    snprintf(rate, sizeof rate, "%lld.%02lld%%", (long long)(m.fee_bp / 100),
             (long long)(m.fee_bp % 100));
    pay_money_format(m.fee_min_minor, "CNY", min, sizeof min);
    pay_money_format(m.fee_cap_minor, "CNY", cap, sizeof cap);
    json_object_set_new(ctx, "fee_bp", json_integer((json_int_t)m.fee_bp));
    json_object_set_new(ctx, "fee_rate", json_string(rate));
    json_object_set_new(ctx, "fee_min", json_string(min));
    json_object_set_new(ctx, "fee_cap", json_string(cap));
    if (m.fee_min_minor > 0)
        json_object_set_new(ctx, "fee_min_text",
                            json_string(pay_http_req_money(req, m.fee_min_minor, "CNY")));
    if (m.fee_cap_minor > 0)
        json_object_set_new(ctx, "fee_cap_text",
                            json_string(pay_http_req_money(req, m.fee_cap_minor, "CNY")));
    pay_platform_merchant_fini(&m);
}

static enum pay_err h_trades(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e;
    struct filter f;
    struct pay_portal_user *u = list_request(req, &f, &e, err);
    if (!u)
        return e;
    struct page_rows rows = {req, json_array()};
    struct list_ctx l = {
        u->merchant_id, &f, PAY_PORTAL_PAGE_ROWS + 1, (f.page - 1) * PAY_PORTAL_PAGE_ROWS, page_row,
        &rows,          0};
    if ((e = pay_store_run_read(p->store, list_tx, &l, err)) != PAY_ERR_OK) {
        json_decref(rows.arr);
        return e;
    }
    json_t *ctx = pay_portal_page_ctx(req, p, u, "nav_trades");
    json_object_set_new(ctx, "trades", rows.arr);
    json_object_set_new(ctx, "filter", filter_json(req, &f));
    json_object_set_new(ctx, "page", json_integer(f.page));
    fee_terms_ctx(req, p, u->merchant_id, ctx);
    if (f.page > 1)
        json_object_set_new(ctx, "prev", json_string(filter_query(req, &f, f.page - 1)));
    if (l.n > PAY_PORTAL_PAGE_ROWS)
        json_object_set_new(ctx, "next", json_string(filter_query(req, &f, f.page + 1)));
    pay_http_respond_template(req, 200, "portal_trades", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

/* --- CSV export -------------------------------------------------------------------------- */

struct csv {
    struct pay_buf b;
    bool failed;
};

/* One cell: quoted when it holds a separator, quote or line break; a cell a spreadsheet would
 * read as a formula (= + - @, tab, CR first) gets a leading ' (CSV injection). */
static void csv_cell(struct csv *c, const char *s, bool last)
{
    bool formula = strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0';
    bool quote = formula || strpbrk(s, ",\"\r\n") != NULL;
    int rc = quote ? pay_buf_puts(&c->b, formula ? "\"'" : "\"") : 0;
    for (const char *q = s; rc == 0 && *q; q++)
        rc = *q == '"' ? pay_buf_puts(&c->b, "\"\"") : pay_buf_append(&c->b, q, 1);
    if (rc == 0 && quote)
        rc = pay_buf_puts(&c->b, "\"");
    if (rc == 0)
        rc = pay_buf_puts(&c->b, last ? "\r\n" : ",");
    c->failed |= rc != 0;
}

static void csv_row(void *arg, struct pay_store_stmt *st)
{
    struct csv *c = arg;
    char created[PAY_TIME_TEXT_MAX] = "", paid[PAY_TIME_TEXT_MAX] = "";
    char amount[PAY_MONEY_TEXT_MAX + 1], fee[PAY_MONEY_TEXT_MAX + 1],
        refunded[PAY_MONEY_TEXT_MAX + 1];
    const char *cur = pay_store_col_text(st, 5);
    pay_time_format_rfc3339(pay_store_col_int64(st, 2), created);
    if (pay_store_col_int64(st, 9) > 0)
        pay_time_format_rfc3339(pay_store_col_int64(st, 9), paid);
    if (pay_money_format(pay_store_col_int64(st, 4), cur, amount, sizeof amount) < 0 ||
        pay_money_format(pay_store_col_int64(st, 6), cur, fee, sizeof fee) < 0 ||
        pay_money_format(pay_store_col_int64(st, 7), cur, refunded, sizeof refunded) < 0)
        c->failed = true;
    const char *cells[] = {pay_store_col_text(st, 0),
                           pay_store_col_text(st, 1),
                           created,
                           pay_store_col_text(st, 3),
                           amount,
                           cur,
                           fee,
                           refunded,
                           pay_store_col_text(st, 8),
                           paid,
                           pay_store_col_text(st, 10)};
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++)
        csv_cell(c, cells[i], i + 1 == sizeof cells / sizeof cells[0]);
}

static enum pay_err h_trades_csv(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e;
    struct filter f;
    struct pay_portal_user *u = list_request(req, &f, &e, err);
    if (!u)
        return e;
    struct csv c = {.failed = false};
    pay_buf_init(&c.b, (size_t)PAY_PORTAL_EXPORT_ROWS_MAX * 1024);
    /* a BOM so spreadsheets read the UTF-8 subjects right */
    c.failed |= pay_buf_puts(&c.b, "\xEF\xBB\xBFtrade_id,out_trade_no,created_at,state,amount,"
                                   "currency,fee,refunded,pay_method,paid_at,subject\r\n") != 0;
    struct list_ctx l = {u->merchant_id, &f, PAY_PORTAL_EXPORT_ROWS_MAX + 1, 0, csv_row, &c, 0};
    e = pay_store_run_read(p->store, list_tx, &l, err);
    if (e == PAY_ERR_OK && l.n > PAY_PORTAL_EXPORT_ROWS_MAX)
        e = pay_error_set(err, PAY_ERR_FIELD_INVALID, "from",
                          "more than %d trades; narrow the dates", PAY_PORTAL_EXPORT_ROWS_MAX);
    if (e == PAY_ERR_OK && c.failed)
        e = pay_error_set(err, PAY_ERR_INTERNAL, "", "the export did not fit");
    if (e == PAY_ERR_OK) {
        PAY_INFO("portal.export", "user=%s rows=%lld", u->id, (long long)l.n);
        pay_http_respond_header(
            req, "Content-Disposition",
            pay_http_req_printf(req, "attachment; filename=\"trades-%s.csv\"", u->merchant_id));
        pay_http_respond_bytes(req, 200, "text/csv; charset=utf-8", c.b.data, c.b.len);
    }
    pay_buf_fini(&c.b);
    return e;
}

/* --- a trade ----------------------------------------------------------------------------- */

struct refunds_ctx {
    struct pay_http_request *req;
    const char *trade_id;
    json_t *arr;
};

static enum pay_err refunds_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct refunds_ctx *r = ctx;
    json_array_clear(r->arr);
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT id, out_refund_no, amount_minor, fee_minor, currency, reason, status, created_ms"
        " FROM pf_refunds WHERE trade_id = $1 ORDER BY created_ms, id",
        "t", r->trade_id);
    if (!st)
        return err->code;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1) {
        const char *cur = pay_store_col_text(st, 4);
        json_array_append_new(
            r->arr,
            json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:s}", "id", pay_store_col_text(st, 0),
                      "out_refund_no", pay_store_col_text(st, 1), "amount",
                      pay_portal_money(r->req, pay_store_col_int64(st, 2), cur), "fee",
                      pay_portal_money(r->req, pay_store_col_int64(st, 3), cur), "reason",
                      pay_store_col_text(st, 5), "status", pay_store_col_text(st, 6), "created",
                      pay_http_req_time(r->req, pay_store_col_int64(st, 7))));
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

static const char *notify_text(struct pay_http_request *req, const char *status)
{
    return strcmp(status, "delivered") == 0 ? pay_http_req_trc(req, "notification", "Delivered")
           : strcmp(status, "failed") == 0
               ? pay_http_req_trc(req, "notification", "Failed (retries used up)")
               : pay_http_req_trc(req, "notification", "Pending");
}

static enum pay_err notify_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct refunds_ctx *r = ctx;
    json_array_clear(r->arr);
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT o.id, o.event, o.status, o.attempts, o.created_ms, o.delivered_ms,"
        " COALESCE((SELECT a.http_status || ' ' || a.result FROM pf_notify_attempts a"
        "  WHERE a.notify_id = o.id ORDER BY a.attempt DESC LIMIT 1), '')"
        " FROM pf_notify_outbox o WHERE o.trade_id = $1 ORDER BY o.created_ms, o.id",
        "t", r->trade_id);
    if (!st)
        return err->code;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1) {
        const char *status = pay_store_col_text(st, 2);
        json_array_append_new(
            r->arr, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s}", "id",
                              pay_store_col_text(st, 0), "event", pay_store_col_text(st, 1),
                              "status", status, "status_text", notify_text(r->req, status),
                              "attempts", (json_int_t)pay_store_col_int64(st, 3), "created",
                              pay_http_req_time(r->req, pay_store_col_int64(st, 4)), "delivered",
                              pay_http_req_time(r->req, pay_store_col_int64(st, 5)), "last",
                              pay_store_col_text(st, 6)));
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

/* The trade as its page shows it, and what may still be refunded. */
static json_t *trade_json(struct pay_http_request *req, const struct pay_platform_trade *t)
{
    int64_t left = 0;
    if (pay_money_sub(t->amount_minor, t->refunded_minor, &left) != PAY_ERR_OK)
        left = 0;
    bool refundable = left > 0 && (strcmp(t->state, PAY_TRADE_SUCCESS) == 0 ||
                                   (strcmp(t->state, PAY_TRADE_CLOSED) == 0 && t->paid_ms > 0));
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:b}",
        "id", t->id, "out_trade_no", t->out_trade_no, "subject", t->subject, "state", t->state,
        "state_text", pay_platform_state_text(req, t->state), "amount",
        pay_portal_money(req, t->amount_minor, t->currency), "fee",
        pay_portal_money(req, t->fee_minor, t->currency), "refunded",
        pay_portal_money(req, t->refunded_minor, t->currency), "left",
        pay_portal_money(req, left, t->currency), "method", t->pay_method, "method_text",
        t->pay_method[0] ? pay_platform_method_text(req, t->pay_method) : "", "created",
        pay_http_req_time(req, t->created_ms), "paid", pay_http_req_time(req, t->paid_ms), "closed",
        pay_http_req_time(req, t->closed_ms), "refundable", refundable, "currency", t->currency,
        "has_receipt", t->paid_ms > 0 && t->pay_method[0] != '\0');
}

static enum pay_err h_trade(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e;
    struct pay_portal_user *u = pay_portal_page_user(req, &e, err);
    if (!u)
        return e;
    struct pay_platform_trade t;
    if ((e = pay_platform_trade_get(p, u->merchant_id, pay_http_req_param(req, "id"), NULL, &t,
                                    err)) != PAY_ERR_OK)
        return e;
    struct refunds_ctx r = {req, t.id, json_array()}, n = {req, t.id, json_array()};
    if ((e = pay_store_run_read(p->store, refunds_tx, &r, err)) != PAY_ERR_OK ||
        (e = pay_store_run_read(p->store, notify_tx, &n, err)) != PAY_ERR_OK) {
        json_decref(r.arr);
        json_decref(n.arr);
        return e;
    }
    json_t *ctx = pay_portal_page_ctx(req, p, u, "nav_trades");
    json_object_set_new(ctx, "trade", trade_json(req, &t));
    json_object_set_new(ctx, "refunds", r.arr);
    json_object_set_new(ctx, "notifications", n.arr);
    pay_http_respond_template(req, 200, "portal_trade", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

const struct pay_http_route *pay_portal_pages_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/portal", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_root, NULL},
        {"GET", "/portal/login", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_login_get, NULL},
        {"POST", "/portal/login", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_login_post, NULL},
        {"POST", "/portal/logout", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_logout, NULL},
        {"GET", "/portal/trades", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_trades, NULL},
        {"GET", "/portal/trades.csv", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_trades_csv, NULL},
        {"GET", "/portal/trades/{id}", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_trade, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
