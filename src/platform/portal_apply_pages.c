/* The public onboarding pages (docs/portal.md, "Becoming a merchant"): the application form
 * (GET/POST /portal/apply), the application's private page (GET /portal/apply/{token}) and the
 * one-time display of the new owner's credentials (POST /portal/apply/{token}/reveal). Forms
 * carry a double-submit CSRF cookie; nobody is logged in here. */
#include "platform/portal.h"

#include "core/money.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "http/server.h"
#include "http/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define APPLY_CSRF_COOKIE "pf_apply_csrf"

static const char *form(struct pay_http_request *req, const char *name)
{
    const char *v = pay_http_req_form_get(req, name);
    return v ? v : "";
}

/* The double-submit token of the page: the cookie's, or a new one set now. NULL when out of
 * randomness. */
static const char *csrf_of(struct pay_http_request *req)
{
    const char *c = pay_http_req_cookie(req, APPLY_CSRF_COOKIE);
    if (c && strlen(c) >= 16 && strlen(c) < PAY_PLATFORM_TOKEN_TEXT_MAX)
        return c;
    char *t = pay_http_req_alloc(req, PAY_PLATFORM_TOKEN_TEXT_MAX);
    if (!t || pay_random_token(t, PAY_PLATFORM_TOKEN_TEXT_MAX, 32) != 0)
        return NULL;
    pay_http_respond_cookie(req, APPLY_CSRF_COOKIE, t, -1, PAY_HTTP_COOKIE_STRICT);
    return t;
}

static enum pay_err csrf_check(struct pay_http_request *req, struct pay_error *err)
{
    const char *c = pay_http_req_cookie(req, APPLY_CSRF_COOKIE), *f = form(req, "csrf");
    size_t n = c ? strlen(c) : 0;
    if (n < 16 || n != strlen(f) || !pay_ct_equal(c, f, n))
        return pay_error_set(err, PAY_ERR_CSRF_INVALID, "csrf", NULL);
    return PAY_ERR_OK;
}

static json_t *base_ctx(struct pay_http_request *req, const char *csrf)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    return json_pack("{s:s, s:s}", "platform", p->set.name, "csrf", csrf ? csrf : "");
}

/* The form, empty or as sent with the refusal's text and field. */
static enum pay_err apply_page(struct pay_http_request *req, int status, const struct pay_error *e,
                               struct pay_error *err)
{
    const char *csrf = csrf_of(req);
    if (!csrf)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    json_t *ctx = base_ctx(req, csrf);
    static const char *const keep[] = {"company", "contact",     "email",          "phone",
                                       "website", "settle_bank", "settle_account", "volume"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        json_object_set_new(ctx, keep[i], json_string(form(req, keep[i])));
    if (e) {
        json_object_set_new(ctx, "error", json_string(pay_platform_error_for(req, e->code, e)));
        json_object_set_new(ctx, "error_field", json_string(e->field));
        json_object_set_new(ctx, "error_code", json_string(pay_err_name(e->code)));
    }
    pay_http_respond_page_url(req, "/portal/apply");
    pay_http_respond_template(req, status, "portal_apply", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

static enum pay_err h_apply_get(struct pay_http_request *req, struct pay_error *err)
{
    return apply_page(req, 200, NULL, err);
}

static enum pay_err h_apply_post(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e = csrf_check(req, err);
    if (e != PAY_ERR_OK)
        return e;
    struct pay_error aerr = {0};
    struct pay_portal_application a = {
        .company = form(req, "company"),
        .contact = form(req, "contact"),
        .email = form(req, "email"),
        .phone = form(req, "phone"),
        .website = form(req, "website"),
        .settle_bank = form(req, "settle_bank"),
        .settle_account = form(req, "settle_account"),
        .password = form(req, "password"),
    };
    char token[PAY_PLATFORM_TOKEN_TEXT_MAX];
    e = pay_money_parse_amount(form(req, "volume"), "CNY", "volume", &a.volume_minor, &aerr);
    if (e == PAY_ERR_OK)
        e = pay_portal_apply(p, &a, form(req, "password2"), pay_http_req_remote_ip(req), token,
                             &aerr);
    PAY_INFO("portal.apply", "ip=%s result=%s", pay_http_req_remote_ip(req), pay_err_name(e));
    if (e != PAY_ERR_OK) {
        if (pay_err_http_status(e) >= 500) {
            *err = aerr;
            return e;
        }
        return apply_page(req, pay_err_http_status(e), &aerr, err);
    }
    json_t *ctx = base_ctx(req, "");
    json_object_set_new(
        ctx, "link",
        json_string(pay_http_req_printf(req, "%s/portal/apply/%s", p->set.public_url, token)));
    json_object_set_new(ctx, "path",
                        json_string(pay_http_req_printf(req, "/portal/apply/%s", token)));
    pay_wipe(token, sizeof token);
    pay_http_respond_page_url(req, "/portal/apply");
    pay_http_respond_template(req, 200, "portal_applied", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

static const char *status_text(struct pay_http_request *req, const char *status)
{
    return strcmp(status, "approved") == 0   ? pay_http_req_trc(req, "application", "Approved")
           : strcmp(status, "rejected") == 0 ? pay_http_req_trc(req, "application", "Rejected")
                                             : pay_http_req_trc(req, "application", "Under review");
}

static enum pay_err h_status(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    struct pay_portal_application_status s;
    const char *token = pay_http_req_param(req, "token");
    enum pay_err e = pay_portal_application_status(p, token, &s, err);
    const char *csrf = e == PAY_ERR_OK ? csrf_of(req) : NULL;
    if (e != PAY_ERR_OK)
        return e;
    json_t *ctx = base_ctx(req, csrf);
    json_object_set_new(ctx, "application",
                        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b}", "token",
                                  token, "status", s.status, "status_text",
                                  status_text(req, s.status), "company", s.company, "merchant_id",
                                  s.merchant_id, "note", s.note, "created",
                                  pay_http_req_time(req, s.created_ms), "revealed",
                                  pay_http_req_time(req, s.revealed_ms), "approved",
                                  strcmp(s.status, "approved") == 0, "to_reveal",
                                  strcmp(s.status, "approved") == 0 && s.revealed_ms == 0));
    pay_http_respond_template(req, 200, "portal_application", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

static enum pay_err h_reveal(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e = csrf_check(req, err);
    json_t *cred = NULL;
    if (e == PAY_ERR_OK)
        e = pay_portal_application_reveal(p, pay_http_req_param(req, "token"),
                                          pay_http_req_remote_ip(req), &cred, err);
    if (e != PAY_ERR_OK)
        return e;
    const char *secret = json_string_value(json_object_get(cred, "totp_secret"));
    const char *login = json_string_value(json_object_get(cred, "login"));
    char uri[512] = "";
    uint8_t key[PAY_TOTP_SECRET_LEN + 8];
    size_t kn = 0;
    if (secret && login && pay_base32_decode(key, sizeof key, secret, strlen(secret), &kn) == 0 &&
        pay_totp_uri(uri, sizeof uri, p->set.name, login, key, kn) != 0)
        uri[0] = '\0';
    pay_wipe(key, sizeof key);
    char *svg = uri[0] ? pay_platform_qr_svg(uri) : NULL;
    json_object_set_new(cred, "qr", pay_tpl_trusted(svg ? svg : ""));
    json_object_set_new(cred, "totp_uri", json_string(uri));
    free(svg);
    pay_wipe(uri, sizeof uri);
    json_t *ctx = base_ctx(req, "");
    json_object_set_new(ctx, "cred", cred);
    json_object_set_new(ctx, "platform_url", json_string(p->set.public_url));
    pay_http_respond_page_url(req, "/portal/login");
    pay_http_respond_template(req, 200, "portal_credentials", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

const struct pay_http_route *pay_portal_apply_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/portal/apply", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_apply_get, NULL},
        {"POST", "/portal/apply", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_apply_post, NULL},
        {"GET", "/portal/apply/{token}", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_status, NULL},
        {"POST", "/portal/apply/{token}/reveal", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_reveal, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
