/* The operator console's risk page (docs/risk.md, "The console"): the payments held for review,
 * each with a form to approve or reject it, the decisions of the last 24 hours, the rules in
 * force with how often each fired, and the reviews decided lately. Same access as the dashboard;
 * the forms carry the console's double-submit CSRF token. */
#include "platform/platform.h"
#include "platform/risk.h"

#include "core/clock.h"
#include "core/limits.h"
#include "core/money.h"
#include "crypto/crypto.h"
#include "http/server.h"
#include "http/template.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

#define DAY_MS (24LL * 3600 * 1000)

struct page_ctx {
    struct pay_http_request *req;
    int64_t since_ms; /* 24 hours ago */
    json_t *pending, *decided, *decisions;
    const struct pay_risk_rules *rules; /* under p->risk.mu */
    json_int_t *hits_day, *hits_all;    /* per rule */
};

static json_t *money(struct pay_http_request *req, int64_t minor, const char *cur)
{
    char v[PAY_MONEY_TEXT_MAX + 1] = "";
    pay_money_format(minor, cur, v, sizeof v);
    return json_pack("{s:s, s:s}", "value", v, "text", pay_http_req_money(req, minor, cur));
}

static enum pay_err reviews_tx(struct pay_store_tx *tx, struct page_ctx *c, bool pending,
                               struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        pending ? "SELECT r.trade_id, COALESCE(c.login, r.consumer_id), r.merchant_id, r.method,"
                  " r.amount_minor, r.currency, r.reasons, r.status, r.note, r.decided_by,"
                  " r.created_ms, r.decided_ms FROM pf_risk_reviews r LEFT JOIN pf_consumers c"
                  " ON c.id = r.consumer_id WHERE r.status = 'pending'"
                  " ORDER BY r.created_ms, r.trade_id LIMIT $1"
                : "SELECT r.trade_id, COALESCE(c.login, r.consumer_id), r.merchant_id, r.method,"
                  " r.amount_minor, r.currency, r.reasons, r.status, r.note, r.decided_by,"
                  " r.created_ms, r.decided_ms FROM pf_risk_reviews r LEFT JOIN pf_consumers c"
                  " ON c.id = r.consumer_id WHERE r.status <> 'pending'"
                  " ORDER BY r.decided_ms DESC, r.trade_id LIMIT $1",
        "i", (int64_t)PAY_RISK_REVIEWS_SHOWN_MAX);
    if (!st)
        return err->code;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1) {
        const char *cur = pay_store_col_text(st, 5);
        json_array_append_new(
            pending ? c->pending : c->decided,
            json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:s}", "trade_id",
                      pay_store_col_text(st, 0), "consumer", pay_store_col_text(st, 1),
                      "merchant_id", pay_store_col_text(st, 2), "method", pay_store_col_text(st, 3),
                      "amount", money(c->req, pay_store_col_int64(st, 4), cur), "reasons",
                      pay_store_col_text(st, 6), "status", pay_store_col_text(st, 7), "note",
                      pay_store_col_text(st, 8), "decided_by", pay_store_col_text(st, 9),
                      "created_text", pay_http_req_time(c->req, pay_store_col_int64(st, 10)),
                      "decided_text", pay_http_req_time(c->req, pay_store_col_int64(st, 11))));
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

/* Adds n (and day, those of the last 24 hours) to each rule named in reasons (space-separated;
 * a cut list ends in "+"). A name no longer among the rules is not shown. */
static void count_reasons(struct page_ctx *c, const char *reasons, int64_t n, int64_t day)
{
    for (const char *s = reasons; c->rules && *s;) {
        size_t len = strcspn(s, " +");
        for (size_t i = 0; len && i < c->rules->n; i++)
            if (strlen(c->rules->rule[i].name) == len &&
                memcmp(c->rules->rule[i].name, s, len) == 0) {
                c->hits_all[i] += n;
                c->hits_day[i] += day;
            }
        s += len;
        s += strspn(s, " +");
    }
}

static enum pay_err hits_tx(struct pay_store_tx *tx, struct page_ctx *c, struct pay_error *err)
{
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT reasons, COUNT(*), SUM(CASE WHEN at_ms > $1 THEN 1 ELSE 0 END)"
                        " FROM pf_risk_attempts WHERE reasons <> '' GROUP BY reasons",
                        "i", c->since_ms);
    if (!st)
        return err->code;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1)
        count_reasons(c, pay_store_col_text(st, 0), pay_store_col_int64(st, 1),
                      pay_store_col_int64(st, 2));
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    st = pay_store_query(tx, err,
                         "SELECT decision, COUNT(*) FROM pf_risk_attempts WHERE at_ms > $1"
                         " GROUP BY decision",
                         "i", c->since_ms);
    if (!st)
        return err->code;
    while ((rc = pay_store_step(st, err)) == 1) { /* "step-up" as step_up: a template's key */
        const char *d = pay_store_col_text(st, 0);
        json_object_set_new(c->decisions, strcmp(d, "step-up") == 0 ? "step_up" : d,
                            json_integer(pay_store_col_int64(st, 1)));
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

static enum pay_err read_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct page_ctx *c = ctx;
    json_array_clear(c->pending);
    json_array_clear(c->decided);
    json_object_clear(c->decisions);
    static const char *const decisions[] = {"allow", "step_up", "review", "deny"};
    for (size_t i = 0; i < sizeof decisions / sizeof decisions[0]; i++)
        json_object_set_new(c->decisions, decisions[i], json_integer(0));
    size_t n = c->rules ? c->rules->n : 0;
    memset(c->hits_all, 0, n * sizeof *c->hits_all);
    memset(c->hits_day, 0, n * sizeof *c->hits_day);
    enum pay_err e = reviews_tx(tx, c, true, err);
    if (e == PAY_ERR_OK)
        e = reviews_tx(tx, c, false, err);
    return e == PAY_ERR_OK ? hits_tx(tx, c, err) : e;
}

static json_t *rules_json(const struct page_ctx *c)
{
    json_t *a = json_array();
    for (size_t i = 0; c->rules && i < c->rules->n; i++) {
        const struct pay_risk_rule *u = &c->rules->rule[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:i, s:I, s:I}", "name", u->name,
                                           "text", u->text, "action",
                                           pay_risk_action_name(u->action), "line", u->line,
                                           "hits_day", c->hits_day[i], "hits_all", c->hits_all[i]));
    }
    return a;
}

/* Reads everything in one snapshot, the rules held meanwhile (a reload waits for the page);
 * the context's members into ctx. */
static enum pay_err page_read(struct pay_platform *p, struct page_ctx *c, json_t *ctx,
                              struct pay_error *err)
{
    pthread_mutex_lock(&p->risk.mu);
    c->rules = p->risk.rules;
    size_t n = c->rules ? c->rules->n : 0;
    c->hits_all = pay_http_req_alloc(c->req, (n + 1) * sizeof *c->hits_all);
    c->hits_day = pay_http_req_alloc(c->req, (n + 1) * sizeof *c->hits_day);
    enum pay_err e = c->hits_all && c->hits_day
                         ? pay_store_run_read(p->store, read_tx, c, err)
                         : pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    if (e == PAY_ERR_OK) {
        json_object_set_new(ctx, "rules", rules_json(c));
        json_object_set_new(ctx, "rules_file", json_string(p->risk.path));
        json_object_set_new(ctx, "rules_sha256", json_string(c->rules ? c->rules->sha256 : ""));
    }
    pthread_mutex_unlock(&p->risk.mu);
    return e;
}

/* The page (status, with an error or a notice after a decision). */
static enum pay_err render(struct pay_platform *p, struct pay_http_request *req, enum pay_err code,
                           const char *error, const char *notice, struct pay_error *err)
{
    char fresh[PAY_PLATFORM_TOKEN_TEXT_MAX];
    const char *csrf = pay_platform_operator_csrf(req, fresh);
    if (!csrf)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    struct page_ctx c = {.req = req,
                         .since_ms = pay_clock_now_ms() - DAY_MS,
                         .pending = json_array(),
                         .decided = json_array(),
                         .decisions = json_object()};
    json_t *ctx = json_pack("{s:s, s:s, s:o, s:o, s:o}", "platform", p->set.name, "csrf", csrf,
                            "pending", c.pending, "decided", c.decided, "decisions", c.decisions);
    enum pay_err e =
        ctx ? page_read(p, &c, ctx, err) : pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    if (e == PAY_ERR_OK && error) {
        json_object_set_new(ctx, "error", json_string(error));
        json_object_set_new(ctx, "error_code", json_string(pay_err_name(code)));
    }
    if (e == PAY_ERR_OK && notice)
        json_object_set_new(ctx, "notice", json_string(notice));
    if (e == PAY_ERR_OK) {
        pay_http_respond_page_url(req, "/operator/risk");
        pay_http_respond_template(req, pay_err_http_status(code), "operator_risk", ctx);
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
    return render(p, req, PAY_ERR_OK, NULL, NULL, err);
}

/* POST /operator/risk/reviews/{trade_id}/decide (csrf, decision = approve | reject, note). */
static enum pay_err h_decide(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    bool allowed = false;
    enum pay_err gate = pay_platform_operator_form_gate(req, p, &allowed, err);
    if (gate != PAY_ERR_OK || !allowed)
        return gate;
    const char *decision = pay_http_req_form_get(req, "decision");
    enum pay_err e = PAY_ERR_OK;
    if (!decision || (strcmp(decision, "approve") != 0 && strcmp(decision, "reject") != 0))
        e = pay_error_set(err, PAY_ERR_FIELD_INVALID, "decision", "approve or reject");
    bool approve = e == PAY_ERR_OK && strcmp(decision, "approve") == 0;
    if (e == PAY_ERR_OK)
        e = pay_platform_risk_review_decide(p, pay_http_req_param(req, "trade_id"), approve,
                                            pay_http_req_form_get(req, "note"), "operator",
                                            pay_http_req_remote_ip(req), err);
    if (e != PAY_ERR_OK && !pay_platform_is_refusal(e))
        return e;
    return render(p, req, e, pay_platform_error_for(req, e, err),
                  e == PAY_ERR_OK ? (approve ? "approved" : "rejected") : NULL, err);
}

const struct pay_http_route *pay_platform_operator_risk_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/operator/risk", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_page, NULL},
        {"POST", "/operator/risk/reviews/{trade_id}/decide", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM,
         h_decide, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
