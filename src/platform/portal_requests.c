/* The merchant portal's refund requests (售后, docs/portal.md "Refund requests"): the consumers'
 * after-sales requests of the merchant's trades, open ones first. Every member sees them; only
 * a role that may refund (owner, finance) decides: accept — a confirmation page first, then the
 * platform's own decision (aftersales.c), whose refund has the request's id as out_refund_no
 * and which refuses a request decided already, so the money moves once — or refuse with a note
 * the consumer reads in the wallet. */
#include "platform/portal.h"

#include "core/limits.h"
#include "core/money.h"
#include "http/server.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static const char *form(struct pay_http_request *req, const char *name)
{
    const char *v = pay_http_req_form_get(req, name);
    return v ? v : "";
}

static bool request_open(const struct pay_platform_refund_request *r)
{
    return strcmp(r->status, PAY_RR_WAIT_MERCHANT) == 0 ||
           strcmp(r->status, PAY_RR_WAIT_OPERATOR) == 0;
}

/* A request as the page shows it, with its trade's order number and subject. */
static json_t *request_json(struct pay_http_request *req, struct pay_platform *p,
                            const struct pay_platform_refund_request *r, bool may_decide)
{
    struct pay_platform_trade t;
    struct pay_error ignore = {0};
    bool have_t =
        pay_platform_trade_get(p, r->merchant_id, r->trade_id, NULL, &t, &ignore) == PAY_ERR_OK;
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:b}", "id",
                          r->id, "trade_id", r->trade_id, "out_trade_no",
                          have_t ? t.out_trade_no : "", "subject", have_t ? t.subject : "",
                          "amount", pay_portal_money(req, r->amount_minor, r->currency), "reason",
                          r->reason, "goods_returned", r->goods_returned, "status", r->status,
                          "status_text", pay_platform_request_text(req, r->status), "created",
                          pay_http_req_time(req, r->created_ms), "deadline",
                          pay_http_req_time(req, r->deadline_ms), "reject_reason", r->reject_reason,
                          "decide", may_decide && strcmp(r->status, PAY_RR_WAIT_MERCHANT) == 0);
    if (j && strcmp(r->status, PAY_RR_WAIT_OPERATOR) == 0) /* past the merchant's deadline */
        json_object_set_new(j, "with_operator", json_true());
    return j;
}

/* GET /portal/refund-requests: the merchant's requests, open ones first. */
static enum pay_err h_list(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e;
    struct pay_portal_user *u = pay_portal_page_user(req, &e, err);
    if (!u)
        return e;
    struct pay_platform_refund_request *rr = calloc(PAY_PORTAL_PAGE_ROWS, sizeof *rr);
    size_t n = 0;
    if (!rr)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    e = pay_platform_refund_requests_of_merchant(p, u->merchant_id, rr, PAY_PORTAL_PAGE_ROWS, &n,
                                                 err);
    bool may = pay_portal_may(u->role, PAY_PORTAL_REFUND);
    json_t *rows = json_array();
    size_t open = 0;
    for (size_t i = 0; e == PAY_ERR_OK && i < n; i++) {
        open += request_open(&rr[i]);
        json_array_append_new(rows, request_json(req, p, &rr[i], may));
    }
    free(rr);
    if (e != PAY_ERR_OK) {
        json_decref(rows);
        return e;
    }
    json_t *ctx = pay_portal_page_ctx(req, p, u, "nav_requests");
    json_object_set_new(ctx, "requests", rows);
    json_object_set_new(ctx, "open", json_integer((json_int_t)open));
    pay_http_respond_page_url(req, "/portal/refund-requests");
    pay_http_respond_template(req, 200, "portal_requests", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

/* The member (may refund), the request of the path (the merchant's own, else
 * REFUND_REQUEST_NOT_FOUND) into *r. NULL after answering. */
static struct pay_portal_user *decider(struct pay_http_request *req,
                                       struct pay_platform_refund_request *r, enum pay_err *e,
                                       struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    struct pay_portal_user *u = pay_portal_page_user(req, e, err);
    if (u && !pay_portal_may(u->role, PAY_PORTAL_REFUND)) {
        *e = pay_portal_forbidden(req, u, err);
        return NULL;
    }
    if (u && (*e = pay_platform_refund_request_get(
                  p, u->merchant_id, pay_http_req_param(req, "request_id"), r, err)) != PAY_ERR_OK)
        return NULL;
    return u;
}

/* The confirmation page of an acceptance: what will be refunded to whom. */
static enum pay_err accept_page(struct pay_http_request *req, struct pay_platform *p,
                                const struct pay_portal_user *u,
                                const struct pay_platform_refund_request *r)
{
    json_t *ctx = pay_portal_page_ctx(req, p, u, "nav_requests");
    json_object_set_new(ctx, "request", request_json(req, p, r, true));
    pay_http_respond_page_url(req, "/portal/refund-requests");
    pay_http_respond_template(req, 200, "portal_request_accept", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

/* POST /portal/refund-requests/{request_id}/accept: without confirm=yes the confirmation page;
 * with it the decision (the refund runs in the same transaction, once). */
static enum pay_err h_accept(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    struct pay_platform_refund_request r;
    enum pay_err e;
    struct pay_portal_user *u = decider(req, &r, &e, err);
    if (!u)
        return e;
    if (strcmp(form(req, "confirm"), "yes") != 0) {
        if (strcmp(r.status, PAY_RR_WAIT_MERCHANT) != 0)
            return pay_error_set(err, PAY_ERR_REFUND_REQUEST_STATE_INVALID, "request_id",
                                 N_("this request is decided already, or with the platform"));
        return accept_page(req, p, u, &r);
    }
    struct pay_platform_refund_request out;
    e = pay_platform_refund_request_decide(p, u->merchant_id, r.trade_id, r.id, true, NULL, &out,
                                           err);
    PAY_INFO("portal.refund_request", "user=%s request=%s decision=accept result=%s", u->id, r.id,
             pay_err_name(e));
    if (e != PAY_ERR_OK)
        return e;
    pay_platform_audit_event(
        p, &(struct pay_audit_entry){.actor = pay_http_req_printf(req, "portal:%s", u->id),
                                     .action = "portal.refund_request.accept",
                                     .target = r.id,
                                     .source = pay_http_req_remote_ip(req),
                                     .detail = pay_http_req_printf(req, "trade=%s refund=%s",
                                                                   r.trade_id, out.refund_id)});
    pay_http_respond_redirect(req, "/portal/refund-requests?done=request_accepted");
    return PAY_ERR_OK;
}

/* POST /portal/refund-requests/{request_id}/refuse (note: why, shown to the consumer). */
static enum pay_err h_refuse(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    struct pay_platform_refund_request r;
    enum pay_err e;
    struct pay_portal_user *u = decider(req, &r, &e, err);
    if (!u)
        return e;
    const char *note = form(req, "note");
    if (!note[0])
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "note",
                             N_("say why: the consumer reads it"));
    if (strlen(note) > PAY_TEXT_FIELD_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, "note", NULL);
    struct pay_platform_refund_request out;
    e = pay_platform_refund_request_decide(p, u->merchant_id, r.trade_id, r.id, false, note, &out,
                                           err);
    PAY_INFO("portal.refund_request", "user=%s request=%s decision=refuse result=%s", u->id, r.id,
             pay_err_name(e));
    if (e != PAY_ERR_OK)
        return e;
    pay_platform_audit_event(
        p, &(struct pay_audit_entry){.actor = pay_http_req_printf(req, "portal:%s", u->id),
                                     .action = "portal.refund_request.refuse",
                                     .target = r.id,
                                     .source = pay_http_req_remote_ip(req),
                                     .detail = pay_http_req_printf(req, "trade=%s", r.trade_id)});
    pay_http_respond_redirect(req, "/portal/refund-requests?done=request_refused");
    return PAY_ERR_OK;
}

const struct pay_http_route *pay_portal_requests_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/portal/refund-requests", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_list, NULL},
        {"POST", "/portal/refund-requests/{request_id}/accept", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM,
         h_accept, NULL},
        {"POST", "/portal/refund-requests/{request_id}/refuse", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM,
         h_refuse, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
