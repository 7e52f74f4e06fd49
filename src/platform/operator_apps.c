/* The operator console's merchant applications (docs/portal.md, "Becoming a merchant"):
 * GET /operator/applications lists them, pending first; POST .../{id}/approve (merchant_id,
 * fee_bp) and .../{id}/reject (note) decide one (portal_approve.c). Access as the rest of the
 * console (pay_platform_operator_gate: the operator token or the console's session); the forms
 * carry the console's double-submit CSRF token, a script with the Bearer token sends none. */
#include "platform/portal.h"

#include "crypto/crypto.h"
#include "http/server.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* A merchant id to suggest: the first label of the e-mail's domain, [a-z0-9_] only. */
static void suggest_id(const char *email, char out[PAY_PLATFORM_MERCHANT_ID_MAX + 1])
{
    const char *at = strchr(email, '@');
    size_t o = 0;
    for (const char *c = at ? at + 1 : ""; *c && *c != '.' && o < PAY_PLATFORM_MERCHANT_ID_MAX;
         c++) {
        int ch = tolower((unsigned char)*c);
        out[o++] = (char)(isalnum(ch) ? ch : '_');
    }
    out[o] = '\0';
}

static void humanise(struct pay_http_request *req, json_t *apps)
{
    size_t i;
    json_t *a;
    json_array_foreach(apps, i, a)
    {
        const char *email = json_string_value(json_object_get(a, "email"));
        const char *status = json_string_value(json_object_get(a, "status"));
        char id[PAY_PLATFORM_MERCHANT_ID_MAX + 1];
        suggest_id(email ? email : "", id);
        json_object_set_new(a, "suggested_id", json_string(id));
        json_object_set_new(a, "pending", json_boolean(status && strcmp(status, "pending") == 0));
        json_object_set_new(
            a, "volume",
            json_string(pay_http_req_money(
                req, json_integer_value(json_object_get(a, "volume_minor")), "CNY")));
        json_object_set_new(a, "created",
                            json_string(pay_http_req_time(
                                req, json_integer_value(json_object_get(a, "created_ms")))));
        json_object_set_new(
            a, "status_text",
            json_string(status && strcmp(status, "approved") == 0
                            ? pay_http_req_trc(req, "application", "Approved")
                        : status && strcmp(status, "rejected") == 0
                            ? pay_http_req_trc(req, "application", "Rejected")
                            : pay_http_req_trc(req, "application", "Under review")));
    }
}

static enum pay_err h_list(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    bool allowed = false;
    enum pay_err e = pay_platform_operator_gate(req, p, &allowed, err);
    if (e != PAY_ERR_OK || !allowed)
        return e;
    char fresh[PAY_PLATFORM_TOKEN_TEXT_MAX];
    const char *csrf = pay_platform_operator_csrf(req, fresh);
    if (!csrf)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    json_t *apps = NULL;
    if ((e = pay_portal_applications_list(p, &apps, err)) != PAY_ERR_OK)
        return e;
    humanise(req, apps);
    json_t *ctx = json_pack("{s:s, s:s, s:o, s:I}", "platform", p->set.name, "csrf", csrf,
                            "applications", apps, "fee_bp", (json_int_t)p->set.default_fee_bp);
    const char *done = pay_http_req_query(req, "done");
    if (ctx && done && (strcmp(done, "approved") == 0 || strcmp(done, "rejected") == 0))
        json_object_set_new(ctx, "done", json_string(done));
    pay_http_respond_template(req, 200, "operator_applications", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

static enum pay_err h_approve(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    bool allowed = false;
    enum pay_err e = pay_platform_operator_form_gate(req, p, &allowed, err);
    if (e != PAY_ERR_OK || !allowed)
        return e;
    const char *fee = pay_http_req_form_get(req, "fee_bp"), *id = pay_http_req_param(req, "id");
    char *end = NULL;
    long long bp = fee && fee[0] ? strtoll(fee, &end, 10) : p->set.default_fee_bp;
    if ((fee && fee[0] && *end) || bp < 0 || bp > 10000)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "fee_bp", "0..10000 basis points");
    e = pay_portal_application_approve(p, id, pay_http_req_form_get(req, "merchant_id"), bp, err);
    PAY_INFO("operator.application_approve", "application=%s result=%s", id, pay_err_name(e));
    if (e != PAY_ERR_OK)
        return e;
    pay_http_respond_redirect(req, "/operator/applications?done=approved");
    return PAY_ERR_OK;
}

static enum pay_err h_reject(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    bool allowed = false;
    enum pay_err e = pay_platform_operator_form_gate(req, p, &allowed, err);
    if (e != PAY_ERR_OK || !allowed)
        return e;
    const char *id = pay_http_req_param(req, "id");
    e = pay_portal_application_reject(p, id, pay_http_req_form_get(req, "note"), err);
    PAY_INFO("operator.application_reject", "application=%s result=%s", id, pay_err_name(e));
    if (e != PAY_ERR_OK)
        return e;
    pay_http_respond_redirect(req, "/operator/applications?done=rejected");
    return PAY_ERR_OK;
}

const struct pay_http_route *pay_platform_operator_apps_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/operator/applications", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_list, NULL},
        {"POST", "/operator/applications/{id}/approve", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM,
         h_approve, NULL},
        {"POST", "/operator/applications/{id}/reject", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_reject,
         NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
