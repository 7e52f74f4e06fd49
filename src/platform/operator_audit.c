/* The operator console's audit page, GET /operator/audit: the platform's audit trail
 * (audit_log.c, docs/audit.md) with filters in the query string. */
#include "platform/platform.h"

#include "audit/audit_page.h"
#include "http/server.h"

static enum pay_err h_audit(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    bool allowed = false;
    enum pay_err e = pay_platform_operator_gate(req, p, &allowed, err);
    if (e != PAY_ERR_OK || !allowed)
        return e;
    struct pay_audit_filter f;
    if ((e = pay_audit_filter_from_query(req, &f, err)) != PAY_ERR_OK)
        return e;
    json_t *entries = NULL;
    int64_t total = 0;
    if ((e = pay_audit_read(p->store, &f, &entries, &total, err)) != PAY_ERR_OK)
        return e;
    json_t *ctx = pay_audit_page_json(req, &f, entries, total);
    json_object_set_new(ctx, "platform", json_string(p->set.name));
    pay_http_respond_template(req, 200, "operator_audit", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

const struct pay_http_route *pay_platform_audit_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/operator/audit", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_audit, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
