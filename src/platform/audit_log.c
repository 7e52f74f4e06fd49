/* The platform's audit trail (docs/audit.md): appends signed with the platform's key, events
 * recorded on their own, the start-up entry that notes configuration changes (the console's
 * page that shows them is operator_audit.c). */
#include "platform/platform.h"

#include "core/log.h"

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
