/* GET /admin/audit: the bank's audit trail on the admin pages (filters in the query string, as
 * the platform's; docs/audit.md). Apart from audit_log.c, which the admin pages call to record
 * what they do, so that the writer calls nothing of theirs back (docs/hacking.md, "Call
 * loops"). */
#include "bank/bank.h"

#include "audit/audit_page.h"
#include "http/server.h"

static enum pay_err audit_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    if (!pay_bank_admin_allowed(req, b)) {
        pay_bank_audit_refused(b, req, "admin.access", PAY_ERR_FORBIDDEN);
        return pay_error_set(err, PAY_ERR_FORBIDDEN, "", "the admin page is for loopback clients");
    }
    struct pay_audit_filter f;
    enum pay_err rc = pay_audit_filter_from_query(req, &f, err);
    json_t *entries = NULL;
    int64_t total = 0;
    if (rc == PAY_ERR_OK)
        rc = pay_audit_read(b->store, &f, &entries, &total, err);
    if (rc != PAY_ERR_OK)
        return rc;
    json_t *ctx = pay_audit_page_json(req, &f, entries, total);
    json_object_set_new(ctx, "bank_name", json_string(pay_bank_display_name(b, req)));
    json_object_set_new(ctx, "tq", json_string(pay_bank_admin_tq(req)));
    const char *tok = pay_http_req_query(req, "token"); /* the admin token: kept in the form */
    if (tok && tok[0])
        json_object_set_new(ctx, "token", json_string(tok));
    pay_http_respond_template(req, 200, "admin_audit", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

static struct pay_http_route routes[] = {
    {"GET", "/admin/audit", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, audit_handler, NULL},
};

const struct pay_http_route *pay_bank_audit_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
