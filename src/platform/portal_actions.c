/* The merchant portal's actions (docs/portal.md): a refund in two steps (the amount, then a
 * confirmation page whose form carries the refund's out_refund_no, so submitting it twice
 * refunds once: the platform's own refund path, idempotent per out_refund_no), sending a
 * notification again, the keys and notify hosts, and the team. Each checks the member's role
 * first (pay_portal_may); a refusal changes nothing. */
#include "platform/portal.h"
#include "core/buf.h"
#include "platform/api.h"

#include "core/money.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "http/server.h"
#include "http/template.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* The member, checked for action; NULL after answering (login page, CSRF or role refusal). */
static struct pay_portal_user *member(struct pay_http_request *req, enum pay_portal_action action,
                                      enum pay_err *e, struct pay_error *err)
{
    struct pay_portal_user *u = pay_portal_page_user(req, e, err);
    if (u && !pay_portal_may(u->role, action)) {
        *e = pay_portal_forbidden(req, u, err);
        return NULL;
    }
    return u;
}

/* The member as the audit trail names it. Request memory. */
static const char *actor_of(struct pay_http_request *req, const struct pay_portal_user *u)
{
    return pay_http_req_printf(req, "portal:%s", u->id);
}

static const char *form(struct pay_http_request *req, const char *name)
{
    const char *v = pay_http_req_form_get(req, name);
    return v ? v : "";
}

/* --- refunds ------------------------------------------------------------------------------ */

/* The form's amount and reason, checked against what is left of t (nothing written). */
static enum pay_err refund_read(struct pay_http_request *req, const struct pay_platform_trade *t,
                                int64_t *minor, struct pay_error *err)
{
    int64_t left = 0;
    enum pay_err e = pay_money_parse_amount(form(req, "amount"), t->currency, "amount", minor, err);
    if (e != PAY_ERR_OK)
        return e;
    if (strlen(form(req, "reason")) > PAY_TEXT_FIELD_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, "reason", "at most %d bytes",
                             PAY_TEXT_FIELD_MAX);
    if (pay_money_sub(t->amount_minor, t->refunded_minor, &left) != PAY_ERR_OK || *minor > left)
        return pay_error_set(err, PAY_ERR_REFUND_EXCEEDS_PAID, "amount",
                             "at most %lld minor units are left to refund", (long long)left);
    return PAY_ERR_OK;
}

/* Step 1: the confirmation page, with a fresh out_refund_no in its form. */
static enum pay_err refund_confirm_page(struct pay_http_request *req, struct pay_platform *p,
                                        const struct pay_portal_user *u,
                                        const struct pay_platform_trade *t, int64_t minor,
                                        struct pay_error *err)
{
    char no[PAY_PLATFORM_TOKEN_TEXT_MAX], amount[PAY_MONEY_TEXT_MAX + 1];
    if (pay_random_token(no + 7, sizeof no - 7, 16) != 0 ||
        pay_money_format(minor, t->currency, amount, sizeof amount) < 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    memcpy(no, "portal-", 7);
    json_t *ctx = pay_portal_page_ctx(req, p, u, "nav_trades");
    json_object_set_new(ctx, "trade",
                        json_pack("{s:s, s:s, s:s, s:o}", "id", t->id, "out_trade_no",
                                  t->out_trade_no, "subject", t->subject, "amount",
                                  pay_portal_money(req, t->amount_minor, t->currency)));
    json_object_set_new(ctx, "refund",
                        json_pack("{s:s, s:s, s:s, s:s}", "amount", amount, "amount_text",
                                  pay_http_req_money(req, minor, t->currency), "reason",
                                  form(req, "reason"), "out_refund_no", no));
    pay_http_respond_page_url(req, pay_http_req_printf(req, "/portal/trades/%s", t->id));
    pay_http_respond_template(req, 200, "portal_refund_confirm", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

/* Step 2: the refund itself, through the platform's refund path (ledger transfers, trade,
 * notification in one transaction; the same out_refund_no again returns the first refund). */
static enum pay_err refund_do(struct pay_http_request *req, struct pay_platform *p,
                              const struct pay_portal_user *u, const struct pay_platform_trade *t,
                              int64_t minor, struct pay_error *err)
{
    const char *no = form(req, "out_refund_no");
    if (strncmp(no, "portal-", 7) != 0 || !pay_platform_api_token_valid(no, 64))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "out_refund_no",
                             "the confirmation form's number");
    struct pay_platform_refund r = {.amount_minor = minor};
    pay_str_copy(r.trade_id, sizeof r.trade_id, t->id);
    pay_str_copy(r.merchant_id, sizeof r.merchant_id, u->merchant_id);
    pay_str_copy(r.out_refund_no, sizeof r.out_refund_no, no);
    pay_str_copy(r.currency, sizeof r.currency, t->currency);
    pay_str_copy(r.reason, sizeof r.reason, form(req, "reason"));
    enum pay_err e = pay_platform_refund_create(p, &r, err);
    PAY_INFO("portal.refund", "user=%s trade=%s refund=%s amount_minor=%lld result=%s", u->id,
             t->id, r.id, (long long)minor, pay_err_name(e));
    if (e != PAY_ERR_OK)
        return e;
    /* who in the merchant's team asked (refunds.c records the refund itself) */
    pay_platform_audit_event(p, &(struct pay_audit_entry){
                                    .actor = actor_of(req, u),
                                    .action = "portal.refund",
                                    .target = r.id,
                                    .source = pay_http_req_remote_ip(req),
                                    .detail = pay_http_req_printf(req, "trade=%s amount_minor=%lld",
                                                                  t->id, (long long)minor)});
    pay_platform_wake(p); /* the refund's notification */
    pay_http_respond_redirect(req,
                              pay_http_req_printf(req, "/portal/trades/%s?done=refunded", t->id));
    return PAY_ERR_OK;
}

static enum pay_err h_refund(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e;
    struct pay_portal_user *u = member(req, PAY_PORTAL_REFUND, &e, err);
    if (!u)
        return e;
    struct pay_platform_trade t;
    int64_t minor = 0;
    if ((e = pay_platform_trade_get(p, u->merchant_id, pay_http_req_param(req, "id"), NULL, &t,
                                    err)) != PAY_ERR_OK ||
        (e = refund_read(req, &t, &minor, err)) != PAY_ERR_OK)
        return e;
    if (strcmp(form(req, "confirm"), "yes") != 0)
        return refund_confirm_page(req, p, u, &t, minor, err);
    return refund_do(req, p, u, &t, minor, err);
}

/* --- notifications ------------------------------------------------------------------------- */

struct resend_ctx {
    struct pay_platform *p;
    const char *actor, *merchant_id, *trade_id, *notify_id;
    bool found;
};

/* A new outbox row for the same event (and refund) with the trade as it is now; the old row
 * keeps its history. */
static enum pay_err resend_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct resend_ctx *r = ctx;
    struct pay_platform_trade t;
    enum pay_err e = pay_platform_trade_load(tx, r->merchant_id, r->trade_id, NULL, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT event, payload FROM pf_notify_outbox WHERE id = $1 AND trade_id = $2"
        " AND merchant_id = $3",
        "ttt", r->notify_id, t.id, r->merchant_id);
    if (!st)
        return err->code;
    char event[32] = "", refund[PAY_ID_MAX] = "";
    int rc = pay_store_step(st, err);
    if (rc == 1) {
        pay_store_col_copy(st, 0, event, sizeof event);
        json_t *o = json_loads(pay_store_col_text(st, 1), 0, NULL);
        pay_str_copy(refund, sizeof refund, json_string_value(json_object_get(o, "refund_id")));
        json_decref(o);
    }
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    if (rc == 0)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "notify_id", NULL);
    enum pay_err e2 = pay_platform_notify_enqueue(tx, &t, event, refund[0] ? refund : NULL, err);
    return e2 == PAY_ERR_OK
               ? pay_platform_audit(r->p, tx,
                                    &(struct pay_audit_entry){.actor = r->actor,
                                                              .action = "portal.resend",
                                                              .target = r->notify_id,
                                                              .detail = t.id},
                                    err)
               : e2;
}

static enum pay_err h_resend(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e;
    struct pay_portal_user *u = member(req, PAY_PORTAL_RESEND, &e, err);
    if (!u)
        return e;
    struct resend_ctx r = {p,
                           actor_of(req, u),
                           u->merchant_id,
                           pay_http_req_param(req, "id"),
                           pay_http_req_param(req, "nid"),
                           false};
    e = pay_platform_write(p, resend_tx, &r, err);
    PAY_INFO("portal.resend", "user=%s trade=%s notify=%s result=%s", u->id, r.trade_id,
             r.notify_id, pay_err_name(e));
    if (e != PAY_ERR_OK)
        return e;
    pay_platform_wake(p);
    pay_http_respond_redirect(
        req, pay_http_req_printf(req, "/portal/trades/%s?done=resent", r.trade_id));
    return PAY_ERR_OK;
}

/* --- keys and notify hosts ----------------------------------------------------------------- */

static void keys_humanise(struct pay_http_request *req, json_t *keys)
{
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        const char *state = json_string_value(json_object_get(k, "state"));
        int64_t created = json_integer_value(json_object_get(k, "created_ms")),
                end = json_integer_value(json_object_get(k, "not_after_ms")),
                revoked = json_integer_value(json_object_get(k, "revoked_ms"));
        const char *text = strcmp(state, "active") == 0   ? pay_http_req_trc(req, "key", "In use")
                           : strcmp(state, "ending") == 0 ? pay_http_req_trc(req, "key", "Ending")
                           : strcmp(state, "ended") == 0  ? pay_http_req_trc(req, "key", "Ended")
                                                          : pay_http_req_trc(req, "key", "Revoked");
        json_object_set_new(k, "state_text", json_string(text));
        json_object_set_new(k, "created", json_string(pay_http_req_time(req, created)));
        json_object_set_new(k, "ends",
                            json_string(pay_http_req_time(req, revoked ? revoked : end)));
        /* the newest key ("active") goes by uploading its successor (portal_keys.c) */
        json_object_set_new(k, "revocable", json_boolean(strcmp(state, "ending") == 0));
    }
}

/* The keys page; test: the answer to a test notification to show (taken), or NULL. */
static enum pay_err keys_page(struct pay_http_request *req, struct pay_platform *p,
                              const struct pay_portal_user *u, json_t *test, struct pay_error *err)
{
    enum pay_err e;
    json_t *keys = NULL;
    struct pay_platform_merchant m;
    if ((e = pay_portal_keys_list(p, u->merchant_id, &keys, err)) != PAY_ERR_OK) {
        json_decref(test);
        return e;
    }
    if ((e = pay_platform_merchant_get(p, u->merchant_id, &m, err)) != PAY_ERR_OK) {
        json_decref(keys);
        json_decref(test);
        return e;
    }
    keys_humanise(req, keys);
    json_t *ctx = pay_portal_page_ctx(req, p, u, "nav_keys");
    json_object_set_new(ctx, "keys", keys);
    json_object_set_new(ctx, "notify_hosts", json_string(m.notify_hosts));
    json_object_set_new(ctx, "overlap_max", json_integer(PAY_PORTAL_KEY_OVERLAP_DAYS_MAX));
    const char *added = pay_http_req_query(req, "key_id");
    if (added && strlen(added) <= PAY_SIG_KEY_ID_MAX && pay_platform_api_token_valid(added, 64))
        json_object_set_new(ctx, "added_key_id", json_string(added));
    if (ctx && test)
        json_object_set(ctx, "test", test);
    json_decref(test);
    json_object_set_new(
        ctx, "test_url",
        json_string(pay_http_req_printf(req, "http://%.*s/notify",
                                        (int)strcspn(m.notify_hosts, ","), m.notify_hosts)));
    pay_platform_merchant_fini(&m);
    pay_http_respond_template(req, 200, "portal_keys", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

static enum pay_err h_keys(struct pay_http_request *req, struct pay_error *err)
{
    enum pay_err e;
    struct pay_portal_user *u = member(req, PAY_PORTAL_KEYS, &e, err);
    return u ? keys_page(req, pay_http_req_ctx(req), u, NULL, err) : e;
}

/* POST /portal/notify-test (url): a test notification, sent now; the answer on the keys page. */
static enum pay_err h_notify_test(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e;
    struct pay_portal_user *u = member(req, PAY_PORTAL_KEYS, &e, err);
    if (!u)
        return e;
    struct pay_platform_merchant m;
    if ((e = pay_platform_merchant_get(p, u->merchant_id, &m, err)) != PAY_ERR_OK)
        return e;
    long status = 0;
    const char *result = "";
    struct pay_error terr = {0};
    e = pay_platform_notify_test(p, u->merchant_id, m.notify_hosts, form(req, "url"), &status,
                                 &result, &terr);
    pay_platform_merchant_fini(&m);
    if (e != PAY_ERR_OK && e != PAY_ERR_UPSTREAM_FAILED) { /* the URL itself: which field, why */
        *err = terr;
        return e;
    }
    char st[24];
    snprintf(st, sizeof st, "%ld", status);
    return keys_page(req, p, u,
                     json_pack("{s:b, s:s, s:s, s:s}", "ok", e == PAY_ERR_OK, "url",
                               form(req, "url"), "status", status ? st : "-", "result",
                               e == PAY_ERR_OK
                                   ? pay_http_req_tr(req, "The merchant answered \"success\".")
                                   : result),
                     err);
}

static enum pay_err h_key_add(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e;
    struct pay_portal_user *u = member(req, PAY_PORTAL_KEYS, &e, err);
    if (!u)
        return e;
    const char *days = form(req, "overlap_days");
    char *end = NULL, key_id[PAY_SIG_KEY_ID_MAX + 1];
    long long d = strtoll(days, &end, 10);
    if (!days[0] || *end)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "overlap_days", "a number of days");
    e = pay_portal_key_add(p, actor_of(req, u), u->merchant_id, form(req, "public_key"), d, key_id,
                           err);
    PAY_INFO("portal.key_add", "user=%s merchant=%s key=%s result=%s", u->id, u->merchant_id,
             e == PAY_ERR_OK ? key_id : "-", pay_err_name(e));
    if (e != PAY_ERR_OK)
        return e;
    pay_http_respond_redirect(
        req, pay_http_req_printf(req, "/portal/keys?done=key_added&key_id=%s", key_id));
    return PAY_ERR_OK;
}

static enum pay_err h_key_revoke(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e;
    struct pay_portal_user *u = member(req, PAY_PORTAL_KEYS, &e, err);
    if (!u)
        return e;
    e = pay_portal_key_revoke(p, actor_of(req, u), u->merchant_id, form(req, "key_id"), err);
    PAY_INFO("portal.key_revoke", "user=%s merchant=%s result=%s", u->id, u->merchant_id,
             pay_err_name(e));
    if (e != PAY_ERR_OK)
        return e;
    pay_http_respond_redirect(req, "/portal/keys?done=key_revoked");
    return PAY_ERR_OK;
}

static enum pay_err h_hosts(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e;
    struct pay_portal_user *u = member(req, PAY_PORTAL_KEYS, &e, err);
    if (!u)
        return e;
    /* as typed: "a.example, b.example" -> "a.example,b.example" */
    char hosts[PAY_PLATFORM_NOTIFY_HOSTS_TEXT_MAX + 1];
    size_t o = 0;
    for (const char *c = form(req, "notify_hosts"); *c; c++)
        if (*c != ' ' && *c != '\r' && *c != '\n' && o + 1 < sizeof hosts)
            hosts[o++] = *c;
    hosts[o] = '\0';
    e = pay_portal_hosts_set(p, actor_of(req, u), u->merchant_id, hosts, err);
    PAY_INFO("portal.hosts", "user=%s merchant=%s result=%s", u->id, u->merchant_id,
             pay_err_name(e));
    if (e != PAY_ERR_OK)
        return e;
    pay_http_respond_redirect(req, "/portal/keys?done=hosts_saved");
    return PAY_ERR_OK;
}

/* --- the team ------------------------------------------------------------------------------- */

static enum pay_err team_page(struct pay_http_request *req, struct pay_platform *p,
                              const struct pay_portal_user *u, json_t *added, struct pay_error *err)
{
    json_t *members = NULL;
    enum pay_err e = pay_portal_members_list(p, u->merchant_id, &members, err);
    if (e != PAY_ERR_OK) {
        json_decref(added);
        return e;
    }
    size_t i;
    json_t *m;
    json_array_foreach(members, i, m)
    {
        const char *role = json_string_value(json_object_get(m, "role"));
        json_object_set_new(m, "role_text",
                            json_string(pay_portal_role_text(req, pay_portal_role_parse(role))));
    }
    json_t *ctx = pay_portal_page_ctx(req, p, u, "nav_team");
    json_object_set_new(ctx, "members", members);
    if (added)
        json_object_set_new(ctx, "added", added);
    pay_http_respond_page_url(req, "/portal/team");
    pay_http_respond_template(req, 200, "portal_team", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

static enum pay_err h_team(struct pay_http_request *req, struct pay_error *err)
{
    enum pay_err e;
    struct pay_portal_user *u = member(req, PAY_PORTAL_TEAM, &e, err);
    return u ? team_page(req, pay_http_req_ctx(req), u, NULL, err) : e;
}

/* A new member: the TOTP secret (and its QR code) is shown on this answer only. */
static enum pay_err h_team_add(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e;
    struct pay_portal_user *u = member(req, PAY_PORTAL_TEAM, &e, err);
    if (!u)
        return e;
    char id[PAY_ID_MAX], totp[PAY_PLATFORM_TOTP_TEXT_MAX], uri[512];
    uint8_t key[PAY_TOTP_SECRET_LEN + 8];
    size_t kn = 0;
    const char *login = form(req, "login");
    e = pay_portal_member_add(p, actor_of(req, u), u->merchant_id, login, form(req, "password"),
                              form(req, "role"), id, totp, err);
    PAY_INFO("portal.member_add", "user=%s merchant=%s member=%s result=%s", u->id, u->merchant_id,
             e == PAY_ERR_OK ? id : "-", pay_err_name(e));
    if (e != PAY_ERR_OK)
        return e;
    int rc = pay_base32_decode(key, sizeof key, totp, strlen(totp), &kn) == 0
                 ? pay_totp_uri(uri, sizeof uri, p->set.name, login, key, kn)
                 : -1;
    pay_wipe(key, sizeof key);
    char *svg = rc == 0 ? pay_platform_qr_svg(uri) : NULL;
    json_t *added =
        json_pack("{s:s, s:s, s:s, s:o}", "login", login, "totp_secret", totp, "totp_uri",
                  rc == 0 ? uri : "", "qr", pay_tpl_trusted(svg ? svg : ""));
    free(svg);
    pay_wipe(totp, sizeof totp);
    pay_wipe(uri, sizeof uri);
    return team_page(req, p, u, added, err);
}

const struct pay_http_route *pay_portal_actions_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"POST", "/portal/trades/{id}/refund", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_refund, NULL},
        {"POST", "/portal/trades/{id}/notifications/{nid}/resend", PAY_HTTP_PAGE,
         PAY_HTTP_BODY_FORM, h_resend, NULL},
        {"GET", "/portal/keys", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_keys, NULL},
        {"POST", "/portal/keys", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_key_add, NULL},
        {"POST", "/portal/keys/revoke", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_key_revoke, NULL},
        {"POST", "/portal/notify-hosts", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_hosts, NULL},
        {"POST", "/portal/notify-test", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_notify_test, NULL},
        {"GET", "/portal/team", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_team, NULL},
        {"POST", "/portal/team", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_team_add, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
