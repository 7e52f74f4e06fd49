/* The operator console's refund requests (docs/platform.md, "Refund requests"): the requests
 * merchants left past their deadline, each decided here (approve: the refund runs; reject: with
 * a reason), and those still waiting for their merchant. Same access as the dashboard (Bearer
 * token or the console's session); the forms carry a double-submit CSRF token. */
#include "platform/platform.h"

#include "crypto/ids.h"
#include "core/limits.h"
#include "core/money.h"
#include "crypto/crypto.h"
#include "http/server.h"
#include "http/template.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static json_t *list_json(struct pay_platform *p, struct pay_http_request *req, const char *status)
{
    struct pay_platform_refund_request *rr = calloc(PAY_PLATFORM_LIST_MAX, sizeof *rr);
    size_t n = 0;
    struct pay_error e = {0};
    json_t *arr = json_array();
    if (rr && pay_platform_refund_requests_list(p, NULL, status, rr, PAY_PLATFORM_LIST_MAX, &n,
                                                &e) == PAY_ERR_OK)
        for (size_t i = 0; i < n; i++) {
            char amount[PAY_MONEY_TEXT_MAX + 1] = "";
            pay_money_format(rr[i].amount_minor, rr[i].currency, amount, sizeof amount);
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "id", rr[i].id,
                               "trade_id", rr[i].trade_id, "merchant_id", rr[i].merchant_id,
                               "status", rr[i].status, "amount", amount, "amount_text",
                               pay_http_req_money(req, rr[i].amount_minor, rr[i].currency),
                               "reason", rr[i].reason, "goods_returned", rr[i].goods_returned,
                               "created_text", pay_http_req_time(req, rr[i].created_ms),
                               "deadline_text", pay_http_req_time(req, rr[i].deadline_ms)));
        }
    free(rr);
    return arr;
}

/* The page; csrf: the form token (the cookie's, or a new one set here). */
static enum pay_err render(struct pay_platform *p, struct pay_http_request *req, int status,
                           const char *error, json_t *notice, struct pay_error *err)
{
    char fresh[PAY_PLATFORM_TOKEN_TEXT_MAX];
    const char *csrf = pay_platform_operator_csrf(req, fresh);
    if (!csrf) {
        json_decref(notice);
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    }
    json_t *ctx = json_pack("{s:s, s:s, s:o, s:o}", "platform", p->set.name, "csrf", csrf,
                            "waiting_operator", list_json(p, req, PAY_RR_WAIT_OPERATOR),
                            "waiting_merchant", list_json(p, req, PAY_RR_WAIT_MERCHANT));
    if (ctx && error)
        json_object_set_new(ctx, "error", json_string(error));
    if (ctx && notice)
        json_object_set(ctx, "notice", notice);
    json_decref(notice);
    pay_http_respond_page_url(req, "/operator/refund-requests");
    pay_http_respond_template(req, status, "operator_requests", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

static enum pay_err h_list(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    bool allowed = false;
    enum pay_err gate = pay_platform_operator_gate(req, p, &allowed, err);
    if (gate != PAY_ERR_OK || !allowed)
        return gate;
    return render(p, req, 200, NULL, NULL, err);
}

/* POST /operator/refund-requests/{request_id}/decide (csrf, trade_id, decision = approve |
 * reject, reason). The console's cookie session needs the CSRF token; a script with the Bearer
 * token sends no cookie, so there is nothing to forge. */
static enum pay_err h_decide(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    bool allowed = false;
    enum pay_err gate = pay_platform_operator_form_gate(req, p, &allowed, err);
    if (gate != PAY_ERR_OK || !allowed)
        return gate;
    const char *id = pay_http_req_param(req, "request_id"),
               *trade = pay_http_req_form_get(req, "trade_id"),
               *decision = pay_http_req_form_get(req, "decision"),
               *reason = pay_http_req_form_get(req, "reason");
    enum pay_err e = PAY_ERR_OK;
    if (!id || !pay_id_valid(id, "rq") || !trade || !pay_id_valid(trade, "tr"))
        e = pay_error_set(err, PAY_ERR_REFUND_REQUEST_NOT_FOUND, "request_id", NULL);
    else if (!decision || (strcmp(decision, "approve") != 0 && strcmp(decision, "reject") != 0))
        e = pay_error_set(err, PAY_ERR_FIELD_INVALID, "decision", "approve or reject");
    else if (reason && strlen(reason) > PAY_TEXT_FIELD_MAX)
        e = pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, "reason", NULL);
    struct pay_platform_refund_request r;
    if (e == PAY_ERR_OK)
        e = pay_platform_refund_request_decide(p, NULL, trade, id, strcmp(decision, "approve") == 0,
                                               reason, &r, err);
    PAY_INFO("operator.refund_request", "request=%s decision=%s result=%s", id ? id : "",
             decision ? decision : "", pay_err_name(e));
    return render(p, req, pay_err_http_status(e), pay_platform_error_for(req, e, err),
                  e == PAY_ERR_OK ? pay_platform_notice(r.status, pay_http_req_tr(req, "Decided."))
                                  : NULL,
                  err);
}

const struct pay_http_route *pay_platform_operator_requests_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/operator/refund-requests", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_list, NULL},
        {"POST", "/operator/refund-requests/{request_id}/decide", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM,
         h_decide, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
