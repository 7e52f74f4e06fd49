/* The staff's way in (docs/shop.md "Staff login"): the login page, logout, and the guard every
 * back-office page and form goes through (shop_staff_page): the client's address when staff
 * pages are for loopback clients only ([shop] staff_from), a live session (cookie shop_staff:
 * HttpOnly, SameSite=Strict, Secure under TLS), the role, and on every form the session's CSRF
 * token. The login form itself carries a double-submit token (cookie shop_login_csrf). */
#include "shop/shop_internal.h"

#include "core/log.h"
#include "crypto/crypto.h"
#include "i18n/i18n.h"

#include <string.h>

#define STAFF_COOKIE      "shop_staff"
#define LOGIN_CSRF_COOKIE "shop_login_csrf"

/* Equal tokens, compared in constant time; a short or missing one never matches. */
static bool token_eq(const char *a, const char *b)
{
    size_t n = a ? strlen(a) : 0;
    return a && b && n >= 16 && n == strlen(b) && pay_ct_equal(a, b, n);
}

/* Staff pages answer loopback clients only unless [shop] staff_from = any. */
static bool client_allowed(struct pay_http_request *req, const struct shop *s)
{
    if (s->staff_from_anywhere)
        return true;
    const char *ip = pay_http_req_remote_ip(req);
    return ip && (strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0);
}

/* Where a member of staff starts: the admin's orders, the courier's deliveries. */
static const char *home_of(enum shop_role role)
{
    return role == SHOP_ROLE_COURIER ? "/courier" : "/admin";
}

struct shop_staff *shop_staff_page(struct pay_http_request *req, enum shop_role need,
                                   enum pay_err *e, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    struct shop_staff *who = pay_http_req_alloc(req, sizeof *who);
    struct pay_error ignore = {0};
    bool post = strcmp(pay_http_req_method(req), "POST") == 0;
    *e = PAY_ERR_OK;
    if (!who) {
        *e = pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
        return NULL;
    }
    if (!client_allowed(req, s)) {
        *e = pay_error_set(err, PAY_ERR_FORBIDDEN, NULL,
                           "staff pages are for loopback clients ([shop] staff_from)");
        return NULL;
    }
    if (post && !shop_same_origin(req, s)) {
        *e = pay_error_set(err, PAY_ERR_FORBIDDEN, NULL, "form posted from another site");
        return NULL;
    }
    if (shop_staff_session(s, pay_http_req_cookie(req, STAFF_COOKIE), who, &ignore) !=
        PAY_ERR_OK) { /* a page goes to the login form; a form post is refused */
        if (post)
            *e = pay_error_set(err, PAY_ERR_UNAUTHENTICATED, "session", N_("Log in again."));
        else
            pay_http_respond_redirect(req, "/admin/login");
        return NULL;
    }
    if (post && !token_eq(pay_http_req_form_get(req, "csrf"), who->csrf)) {
        *e = pay_error_set(err, PAY_ERR_CSRF_INVALID, "csrf", NULL);
        return NULL;
    }
    if (need == SHOP_ROLE_ADMIN && who->role != SHOP_ROLE_ADMIN) {
        PAY_WARN("shop.staff_forbidden", "login=%s path=%s", who->login, pay_http_req_path(req));
        *e = pay_error_set(err, PAY_ERR_FORBIDDEN, "role",
                           N_("a courier's login opens the courier page only"));
        return NULL;
    }
    return who;
}

json_t *shop_staff_ctx(struct pay_http_request *req, const struct shop_staff *who, json_t *ctx)
{
    if (!ctx)
        return NULL;
    const char *role = who->role == SHOP_ROLE_ADMIN
                           ? pay_http_req_trc(req, "shop staff", "Admin")
                           : pay_http_req_trc(req, "shop staff", "Courier");
    json_object_set_new(ctx, "staff",
                        json_pack("{s:s, s:s, s:s, s:s, s:b}", "login", who->login, "role",
                                  shop_role_name(who->role), "role_text", role, "csrf", who->csrf,
                                  "admin", who->role == SHOP_ROLE_ADMIN));
    return ctx;
}

/* The login form with a fresh double-submit token (status 200, or the refusal's). */
static enum pay_err login_page(struct pay_http_request *req, int status, const char *error,
                               struct pay_error *err)
{
    char csrf[PAY_SHOP_TOKEN_TEXT_MAX];
    if (pay_random_token(csrf, sizeof csrf, PAY_SHOP_TOKEN_BYTES) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    pay_http_respond_cookie(req, LOGIN_CSRF_COOKIE, csrf, -1, PAY_HTTP_COOKIE_STRICT);
    json_t *ctx = json_pack("{s:s}", "csrf", csrf);
    if (ctx && error)
        json_object_set_new(ctx, "error", json_string(error));
    pay_http_respond_page_url(req, "/admin/login");
    shop_render(req, status, "login", ctx);
    return PAY_ERR_OK;
}

static enum pay_err h_login_get(struct pay_http_request *req, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    struct shop_staff who;
    struct pay_error ignore = {0};
    if (!client_allowed(req, s))
        return pay_error_set(err, PAY_ERR_FORBIDDEN, NULL,
                             "staff pages are for loopback clients ([shop] staff_from)");
    if (shop_staff_session(s, pay_http_req_cookie(req, STAFF_COOKIE), &who, &ignore) ==
        PAY_ERR_OK) {
        pay_http_respond_redirect(req, home_of(who.role));
        return PAY_ERR_OK;
    }
    return login_page(req, 200, NULL, err);
}

static enum pay_err h_login_post(struct pay_http_request *req, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    if (!client_allowed(req, s))
        return pay_error_set(err, PAY_ERR_FORBIDDEN, NULL,
                             "staff pages are for loopback clients ([shop] staff_from)");
    if (!shop_same_origin(req, s) ||
        !token_eq(pay_http_req_cookie(req, LOGIN_CSRF_COOKIE), pay_http_req_form_get(req, "csrf")))
        return pay_error_set(err, PAY_ERR_CSRF_INVALID, "csrf", NULL);
    char token[PAY_SHOP_TOKEN_TEXT_MAX];
    struct shop_staff who;
    struct pay_error lerr = {0};
    enum pay_err e = shop_staff_login(s, pay_http_req_form_get(req, "login"),
                                      pay_http_req_form_get(req, "password"),
                                      pay_http_req_remote_ip(req), token, &who, &lerr);
    if (e != PAY_ERR_OK) {
        PAY_WARN("shop.login_failed", "ip=%s result=%s", pay_http_req_remote_ip(req),
                 pay_err_name(e));
        if (e != PAY_ERR_CREDENTIALS_INVALID && e != PAY_ERR_LOCKED) {
            *err = lerr;
            return e;
        }
        return login_page(req, pay_err_http_status(e), pay_http_req_error_text(req, &lerr), err);
    }
    PAY_INFO("shop.login", "ip=%s login=%s role=%s", pay_http_req_remote_ip(req), who.login,
             shop_role_name(who.role));
    pay_http_respond_cookie(req, STAFF_COOKIE, token, -1, PAY_HTTP_COOKIE_STRICT);
    pay_http_respond_cookie(req, LOGIN_CSRF_COOKIE, "", 0, PAY_HTTP_COOKIE_STRICT);
    pay_wipe(token, sizeof token);
    pay_http_respond_redirect(req, home_of(who.role));
    return PAY_ERR_OK;
}

/* POST /admin/logout (csrf): the session ends here and in the store. */
static enum pay_err h_logout(struct pay_http_request *req, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    enum pay_err e;
    struct shop_staff *who = shop_staff_page(req, SHOP_ROLE_COURIER, &e, err);
    if (!who)
        return e;
    shop_staff_logout(s, pay_http_req_cookie(req, STAFF_COOKIE), who->login,
                      pay_http_req_remote_ip(req));
    pay_http_respond_cookie(req, STAFF_COOKIE, "", 0, PAY_HTTP_COOKIE_STRICT);
    PAY_INFO("shop.logout", "ip=%s", pay_http_req_remote_ip(req));
    pay_http_respond_redirect(req, "/admin/login");
    return PAY_ERR_OK;
}

enum pay_err shop_add_login_routes(struct shop *s, struct pay_http_server *srv,
                                   struct pay_error *err)
{
    const struct pay_http_route r[] = {
        {"GET", "/admin/login", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_login_get, s},
        {"POST", "/admin/login", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_login_post, s},
        {"POST", "/admin/logout", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_logout, s},
    };
    return pay_http_server_add_routes(srv, r, sizeof r / sizeof r[0], err);
}
