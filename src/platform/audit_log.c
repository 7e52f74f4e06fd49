/* The platform's audit trail (docs/audit.md): appends signed with the platform's key, events
 * recorded on their own, the start-up entry that notes configuration changes, and the
 * operator console's audit page, GET /operator/audit (filters in the query string). */
#include "platform/platform.h"

#include "core/clock.h"
#include "core/log.h"
#include "http/server.h"
#include "http/template.h"
#include "audit/audit_page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum pay_err pay_platform_audit(struct pay_platform *p, struct pay_store_tx *tx,
                                const struct pay_audit_entry *e, struct pay_error *err)
{
    return pay_audit_append(tx, &p->audit_signer, e, NULL, err);
}

void pay_platform_audit_event(struct pay_platform *p, const struct pay_audit_entry *e)
{
    struct pay_error err = {0};
    if (pay_audit_record(p->store, &p->audit_signer, e, &err) != PAY_ERR_OK)
        PAY_ERROR("audit.write_failed", "action=%s err=%s detail=%s", e->action,
                  pay_err_name(err.code), err.detail);
}

/* --- start-up: the configuration in force ------------------------------------------------- */

struct start_ctx {
    struct pay_platform *p;
    const char *config_sha256;
};

/* The config hash the previous start recorded (detail "config=<hex> ..."), "" when none. */
static enum pay_err last_config(struct pay_store_tx *tx, char out[PAY_SHA256_HEX_LEN],
                                struct pay_error *err)
{
    out[0] = '\0';
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT detail FROM audit_log WHERE action IN ('server.start', 'config.change')"
        " ORDER BY seq DESC LIMIT 1",
        "");
    if (!st)
        return err->code;
    int r = pay_store_step(st, err);
    const char *d = r == 1 ? pay_store_col_text(st, 0) : NULL;
    if (d && strncmp(d, "config=", 7) == 0)
        snprintf(out, PAY_SHA256_HEX_LEN, "%.64s", d + 7);
    pay_store_done(st);
    return r < 0 ? err->code : PAY_ERR_OK;
}

static enum pay_err start_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct start_ctx *s = ctx;
    char before[PAY_SHA256_HEX_LEN], detail[PAY_AUDIT_DETAIL_MAX];
    enum pay_err e = last_config(tx, before, err);
    if (e != PAY_ERR_OK)
        return e;
    bool changed = before[0] && strcmp(before, s->config_sha256) != 0;
    snprintf(detail, sizeof detail, "config=%s%s%s", s->config_sha256, changed ? " was=" : "",
             changed ? before : "");
    struct pay_audit_entry a = {.actor = "system",
                                .action = changed ? "config.change" : "server.start",
                                .target = s->p->set.name,
                                .source = "local",
                                .detail = detail,
                                .checkpoint = true};
    return pay_platform_audit(s->p, tx, &a, err);
}

enum pay_err pay_platform_audit_start(struct pay_platform *p, struct pay_error *err)
{
    struct start_ctx s = {p, p->set.config_sha256[0] ? p->set.config_sha256 : "none"};
    return pay_store_run_tx(p->store, start_tx, &s, err);
}

/* --- the console's page -------------------------------------------------------------------- */

struct list_ctx {
    const struct pay_audit_filter *f;
    json_t *entries;
    int64_t total;
};

static enum pay_err list_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct list_ctx *l = ctx;
    json_decref(l->entries);
    l->entries = NULL;
    return pay_audit_list(tx, l->f, &l->entries, &l->total, err);
}

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
    struct list_ctx l = {.f = &f};
    if ((e = pay_store_run_read(p->store, list_tx, &l, err)) != PAY_ERR_OK)
        return e;
    json_t *ctx = pay_audit_page_json(req, &f, l.entries, l.total);
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
