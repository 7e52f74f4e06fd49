/* The staff's audit trail (docs/shop.md "Staff audit trail"): every login, failed try, lockout,
 * logout and password set, with who (the login tried), when, from where and the outcome, in the
 * shop's store (table staff_audit), written in the transaction of what it records where there
 * is one. Never a password: a failed try keeps the login name tried only when it is a valid
 * login (a password typed into the login field is seldom one): the callers (shop_staff.c) pass
 * "?" for anything else. */
#include "shop/shop_internal.h"

#include "core/clock.h"
#include "i18n/i18n.h"
#include "i18n/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

enum pay_err shop_staff_audit_tx(struct pay_store_tx *tx, const char *login, const char *action,
                                 const char *source, const char *detail, struct pay_error *err)
{
    return pay_store_exec(tx, err,
                          "INSERT INTO staff_audit(seq, at_ms, login, action, source, detail)"
                          " VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM staff_audit), $1, $2,"
                          " $3, $4, $5)",
                          "itttt", pay_clock_now_ms(), login, action, source ? source : "",
                          detail ? detail : "");
}

struct record_ctx {
    const char *login, *action, *source, *detail;
};

static enum pay_err record_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    const struct record_ctx *r = ctx;
    return shop_staff_audit_tx(tx, r->login, r->action, r->source, r->detail, err);
}

void shop_staff_audit(struct shop *s, const char *login, const char *action, const char *source,
                      const char *detail)
{
    struct record_ctx r = {login, action, source, detail};
    struct pay_error err = {0};
    if (pay_store_run_tx(s->store, record_tx, &r, &err) != PAY_ERR_OK)
        PAY_WARN("shop.staff_audit_failed", "action=%s login=%s code=%s", action, login,
                 pay_err_name(err.code));
}

struct read_ctx {
    struct shop_staff_event *out;
    size_t max, n;
};

static enum pay_err read_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct read_ctx *r = ctx;
    r->n = 0;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT at_ms, login, action, source, detail FROM staff_audit"
                        " ORDER BY seq DESC LIMIT $1",
                        "i", (int64_t)r->max);
    if (!st)
        return err->code;
    int rc = 0;
    while (r->n < r->max && (rc = pay_store_step(st, err)) == 1) {
        struct shop_staff_event *e = &r->out[r->n++];
        e->at_ms = pay_store_col_int64(st, 0);
        pay_store_col_copy(st, 1, e->login, sizeof e->login);
        pay_store_col_copy(st, 2, e->action, sizeof e->action);
        pay_store_col_copy(st, 3, e->source, sizeof e->source);
        pay_store_col_copy(st, 4, e->detail, sizeof e->detail);
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

int shop_staff_audit_read(struct shop *s, struct shop_staff_event *out, size_t max, size_t *n)
{
    struct read_ctx r = {out, max, 0};
    struct pay_error err = {0};
    *n = 0;
    if (pay_store_run_read(s->store, read_tx, &r, &err) != PAY_ERR_OK)
        return -1;
    *n = r.n;
    return 0;
}

/* The events by name, as the admin reads them. */
static const char *const actions[] = {"login",           "login_failed", "lockout",
                                      "login_locked",    "logout",       "account_created",
                                      "password_changed"};
static const struct pay_i18n_msg action_names[] = {
    NC_("shop staff audit", "Logged in"),
    NC_("shop staff audit", "Wrong password"),
    NC_("shop staff audit", "Locked after too many wrong passwords"),
    NC_("shop staff audit", "Refused: locked"),
    NC_("shop staff audit", "Logged out"),
    NC_("shop staff audit", "Account created"),
    NC_("shop staff audit", "Password changed")};

static json_t *event_json(struct pay_http_request *req, const struct shop_staff_event *ev)
{
    const char *what = ev->action;
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (strcmp(ev->action, actions[i]) == 0)
            what = pay_http_req_msg(req, &action_names[i]);
    char at[PAY_TZ_TEXT_MAX];
    pay_tz_format(pay_http_req_tz(req), ev->at_ms, at);
    const char *from = strcmp(ev->source, "cli") == 0
                           ? pay_http_req_trc(req, "shop staff audit", "command line")
                       : strcmp(ev->source, "start") == 0
                           ? pay_http_req_trc(req, "shop staff audit", "first start")
                           : ev->source;
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "at", at, "login", ev->login, "action",
                     ev->action, "action_text", what, "source", from, "detail", ev->detail);
}

json_t *shop_staff_events_json(struct pay_http_request *req, struct shop *s)
{
    struct shop_staff_event *ev = calloc(PAY_SHOP_STAFF_EVENTS_SHOWN, sizeof *ev); /* ~10 KB */
    size_t n = 0;
    if (!ev || shop_staff_audit_read(s, ev, PAY_SHOP_STAFF_EVENTS_SHOWN, &n) != 0) {
        free(ev);
        return NULL;
    }
    json_t *rows = json_array();
    for (size_t i = 0; rows && i < n; i++)
        json_array_append_new(rows, event_json(req, &ev[i]));
    free(ev);
    return rows;
}
