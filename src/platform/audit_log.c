/* The platform's audit trail (docs/audit.md): appends signed with the platform's key, events
 * recorded on their own, the start-up entry that notes configuration changes, and the
 * operator console's audit page, GET /operator/audit (filters in the query string). */
#include "platform/platform.h"

#include "audit/audit_page.h"
#include "core/log.h"
#include "http/server.h"

enum pay_err pay_platform_audit(struct pay_platform *p, struct pay_store_tx *tx,
                                const struct pay_audit_entry *e, struct pay_error *err)
{
    return pay_audit_append(tx, &p->audit_signer, e, NULL, err);
}

struct event_ctx {
    struct pay_platform *p;
    const struct pay_audit_entry *e;
};

static enum pay_err event_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct event_ctx *c = ctx;
    return pay_platform_audit(c->p, tx, c->e, err);
}

void pay_platform_audit_event(struct pay_platform *p, const struct pay_audit_entry *e)
{
    struct pay_error err = {0};
    struct event_ctx c = {p, e};
    if (pay_platform_write(p, event_tx, &c, &err) != PAY_ERR_OK)
        PAY_ERROR("audit.write_failed", "action=%s err=%s detail=%s", e->action,
                  pay_err_name(err.code), err.detail);
}

struct start_ctx {
    struct pay_platform *p;
    const char *config_sha256;
};

/* What the platform runs with is its INI file: its SHA-256 (server.c). */
static enum pay_err start_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct start_ctx *s = ctx;
    return pay_audit_start_tx(tx, &s->p->audit_signer, s->p->set.name, s->config_sha256, err);
}

enum pay_err pay_platform_audit_start(struct pay_platform *p, struct pay_error *err)
{
    struct start_ctx s = {p, p->set.config_sha256[0] ? p->set.config_sha256 : "none"};
    return pay_platform_write(p, start_tx, &s, err);
}

/* --- the console's page -------------------------------------------------------------------- */

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

enum pay_err pay_platform_audit_routes_add(struct pay_platform *p, struct pay_error *err)
{
    const struct pay_http_route routes[] = {
        {"GET", "/operator/audit", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_audit, p},
    };
    return pay_http_server_add_routes(p->http, routes, 1, err);
}
