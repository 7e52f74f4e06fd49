/* Responses: the respond_* helpers, the one function that turns errors into responses (JSON
 * for APIs, an escaped HTML page for browsers), cookies and the security headers. */
#include "http/internal.h"

#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stores a response body (takes ownership of a malloc'd body). */
/* What an API route answers when not even the error could be encoded. */
#define INTERNAL_ERROR_JSON "{\"error\":{\"code\":\"INTERNAL\",\"message\":\"internal error\"}}"

static void set_body(struct pay_http_request *req, int status, const char *type, char *body,
                     size_t len)
{
    free(req->resp_body);
    req->status = status;
    req->content_type = type;
    req->resp_body = body;
    req->resp_len = len;
    req->responded = true;
}

void pay_http_respond_bytes(struct pay_http_request *req, int status, const char *content_type,
                            const void *data, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        set_body(req, 500, "text/plain; charset=utf-8", NULL, 0);
        return;
    }
    if (len > 0)
        memcpy(copy, data, len);
    copy[len] = '\0';
    set_body(req, status, content_type, copy, len);
}

void pay_http_respond_json(struct pay_http_request *req, int status, json_t *body)
{
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (s == NULL) {
        PAY_ERROR("http.json_encode_failed", "path=%s", req->path);
        s = strdup(INTERNAL_ERROR_JSON);
        status = 500;
    }
    set_body(req, status, "application/json", s, s ? strlen(s) : 0);
}

void pay_http_respond_html(struct pay_http_request *req, int status, const char *html)
{
    pay_http_respond_bytes(req, status, "text/html; charset=utf-8", html, strlen(html));
}

void pay_http_respond_text(struct pay_http_request *req, int status, const char *text)
{
    pay_http_respond_bytes(req, status, "text/plain; charset=utf-8", text, strlen(text));
}

void pay_http_respond_redirect(struct pay_http_request *req, const char *location)
{
    if (pay_http_respond_header(req, "Location", location) != 0) {
        pay_http_respond_code(req, PAY_ERR_INTERNAL);
        return;
    }
    pay_http_respond_bytes(req, 303, "text/plain; charset=utf-8", "", 0);
}

/* Renders template name of srv in the request's language, with the values every page has
 * ({{i18n.lang}}, the language switch) under the handler's ctx. */
static enum pay_err render_page(struct pay_http_request *req, const char *name, const json_t *ctx,
                                struct pay_buf *out, struct pay_error *err)
{
    json_t *globals = pay_http_page_globals(req);
    struct pay_tpl_args args = {.globals = globals, .lang = pay_http_req_lang(req)};
    enum pay_err rc = globals ? pay_tpl_render_args(req->srv->templates, name, ctx, &args, out, err)
                              : pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    json_decref(globals);
    return rc;
}

void pay_http_respond_template(struct pay_http_request *req, int status, const char *name,
                               const json_t *ctx)
{
    struct pay_buf out;
    struct pay_error err = {0};
    pay_buf_init(&out, PAY_CLIENT_RESPONSE_MAX);
    if (render_page(req, name, ctx, &out, &err) != PAY_ERR_OK) {
        PAY_ERROR("http.template_failed", "template=%s detail=\"%s\"", name, err.detail);
        pay_buf_fini(&out);
        pay_http_respond_code(req, PAY_ERR_INTERNAL);
        return;
    }
    size_t len = out.len;
    char *html = pay_buf_steal(&out);
    pay_buf_fini(&out);
    if (html == NULL)
        pay_http_respond_code(req, PAY_ERR_INTERNAL);
    else
        set_body(req, status, "text/html; charset=utf-8", html, len);
}

/* The error page (the server's error template, or the built-in one) in the reader's language:
 * the translated message, and the English detail too when the message is not it. */
static void respond_error_page(struct pay_http_request *req, const struct pay_error *e, int status)
{
    const char *message = pay_http_req_error_text(req, e);
    bool detail_shown = e->detail[0] && strcmp(message, e->detail) == 0;
    json_t *ctx = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "page", "error", "status",
                            status, "title",
                            status >= 500 ? pay_http_req_tr(req, "Something went wrong")
                                          : pay_http_req_tr(req, "This request cannot be done"),
                            "message", message, "field", e->field, "code", pay_err_name(e->code),
                            "request_id", req->id, "detail", detail_shown ? "" : e->detail);
    struct pay_buf out;
    pay_buf_init(&out, PAY_CLIENT_RESPONSE_MAX);
    enum pay_err rc = ctx ? render_page(req, "error", ctx, &out, NULL) : PAY_ERR_INTERNAL;
    json_decref(ctx);
    if (rc != PAY_ERR_OK) {
        pay_buf_reset(&out);
        if (pay_buf_printf(&out, "<!doctype html><title>Error</title><p>Error %d</p>", status))
            PAY_ERROR("http.error_page_failed", "status=%d", status);
    }
    size_t len = out.len;
    char *html = pay_buf_steal(&out);
    set_body(req, status, "text/html; charset=utf-8", html, html ? len : 0);
    pay_buf_fini(&out);
}

/* A registered code for e (INTERNAL for none or an unknown one). */
static enum pay_err error_code(const struct pay_error *e)
{
    return e->code <= PAY_ERR_OK || e->code >= PAY_ERR__COUNT ? PAY_ERR_INTERNAL : e->code;
}

char *pay_http_error_json(const struct pay_error *e, int *status)
{
    enum pay_err code = error_code(e);
    *status = pay_err_http_status(code);
    json_t *inner = json_pack("{s:s, s:s}", "code", pay_err_name(code), "message",
                              e->detail[0] ? e->detail : pay_err_message(code));
    if (inner != NULL && e->field[0])
        json_object_set_new(inner, "field", json_string(e->field));
    json_t *o = inner ? json_pack("{s:o}", "error", inner) : NULL;
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

void pay_http_respond_error(struct pay_http_request *req, const struct pay_error *e)
{
    enum pay_err code = error_code(e);
    int status = pay_err_http_status(code);
    atomic_fetch_add_explicit(&req->srv->errors[code], 1, memory_order_relaxed);
    if (status >= 500)
        PAY_ERROR("http.error", "code=%s status=%d detail=\"%s\"", pay_err_name(code), status,
                  e->detail);
    if (req->kind == PAY_HTTP_PAGE) {
        struct pay_error copy = *e;
        copy.code = code;
        respond_error_page(req, &copy, status);
        return;
    }
    char *text = pay_http_error_json(e, &status);
    if (text == NULL) {
        PAY_ERROR("http.json_encode_failed", "path=%s", req->path);
        text = strdup(INTERNAL_ERROR_JSON);
        status = 500;
    }
    set_body(req, status, "application/json", text, text ? strlen(text) : 0);
}

void pay_http_respond_code(struct pay_http_request *req, enum pay_err code)
{
    struct pay_error e = {.code = code};
    pay_http_respond_error(req, &e);
}

/* --- headers and cookies ---------------------------------------------------------------- */

static bool header_safe(const char *s)
{
    return s != NULL && strpbrk(s, "\r\n") == NULL;
}

int pay_http_respond_header(struct pay_http_request *req, const char *name, const char *value)
{
    if (!header_safe(name) || !header_safe(value) || name[0] == '\0')
        return -1;
    struct resp_header *h = pay_http_req_alloc(req, sizeof *h);
    char *n = pay_http_req_strdup(req, name), *v = pay_http_req_strdup(req, value);
    if (h == NULL || n == NULL || v == NULL)
        return -1;
    *h = (struct resp_header){req->headers, n, v};
    req->headers = h;
    return 0;
}

static bool cookie_token(const char *s, bool value)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || *s == ';' || *s == ',' ||
            *s == '"' || *s == '\\' || (!value && strchr("()<>@:/[]?={}", *s)))
            return false;
    return true;
}

int pay_http_respond_cookie(struct pay_http_request *req, const char *name, const char *value,
                            long max_age_s, unsigned flags)
{
    if (name[0] == '\0' || !cookie_token(name, false) || !cookie_token(value, true))
        return -1;
    char age[40] = "";
    if (max_age_s >= 0)
        snprintf(age, sizeof age, "; Max-Age=%ld", max_age_s);
    char *c = pay_http_req_printf(req, "%s=%s; Path=/%s%s; SameSite=%s%s", name, value, age,
                                  (flags & PAY_HTTP_COOKIE_SCRIPT) ? "" : "; HttpOnly",
                                  (flags & PAY_HTTP_COOKIE_STRICT) ? "Strict" : "Lax",
                                  req->srv->tls ? "; Secure" : "");
    return c ? pay_http_respond_header(req, "Set-Cookie", c) : -1;
}

static bool origin_safe(const char *o)
{
    return (strncmp(o, "https://", 8) == 0 || strncmp(o, "http://", 7) == 0) &&
           strpbrk(o, " ;,'\"\r\n\t") == NULL && strlen(o) < 256;
}

int pay_http_respond_form_action(struct pay_http_request *req, const char *origin)
{
    if (!origin_safe(origin))
        return -1;
    return pay_buf_printf(&req->form_action, " %s", origin);
}

enum pay_err pay_http_server_add_form_action(struct pay_http_server *srv, const char *origin)
{
    if (origin == NULL || !origin_safe(origin) ||
        pay_buf_printf(&srv->form_action, " %s", origin) != 0)
        return PAY_ERR_CONFIG_INVALID;
    return PAY_ERR_OK;
}

/* Headers that every HTML page carries (docs/architecture.md, "Security model"): no framing, no
 * sniffing, no caching of pages that show payment data, a CSP that allows only our own resources
 * and form posts to ourselves plus the configured gateways. The Referrer-Policy keeps sending the
 * origin cross-site, because a bank gateway checks the Referer of a merchant's form post. */
static int add_page_headers(struct pay_http_request *req, struct MHD_Response *r)
{
    char *csp = pay_http_req_printf(
        req,
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'%s%s",
        pay_buf_str(&req->srv->form_action), pay_buf_str(&req->form_action));
    if (csp == NULL)
        return -1;
    int ok =
        MHD_add_response_header(r, "Content-Security-Policy", csp) == MHD_YES &&
        MHD_add_response_header(r, "X-Frame-Options", "DENY") == MHD_YES &&
        MHD_add_response_header(r, "Referrer-Policy", "strict-origin-when-cross-origin") == MHD_YES;
    return ok ? 0 : -1;
}

struct MHD_Response *pay_http_req_build_response(struct pay_http_request *req)
{
    if (!req->responded) {
        PAY_ERROR("http.no_response", "route=\"%s\"", req->route ? req->route->label : "-");
        pay_http_respond_code(req, PAY_ERR_INTERNAL);
    }
    bool html = req->content_type && strncmp(req->content_type, "text/html", 9) == 0;
    if (req->srv->sign_response && !html && req->kind == PAY_HTTP_API && !req->probe)
        req->srv->sign_response(req->srv->sign_ctx, req, req->status, req->resp_body,
                                req->resp_len);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(req->resp_len, req->resp_body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL)
        return NULL;
    req->resp_body = NULL; /* libmicrohttpd frees it now */
    int bad = MHD_add_response_header(r, "Content-Type", req->content_type) != MHD_YES;
    bad |= MHD_add_response_header(r, "X-Request-Id", req->id) != MHD_YES;
    bad |= MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") != MHD_YES;
    if (!req->route || strncmp(req->route->r.pattern, "/static/", 8) != 0)
        bad |= MHD_add_response_header(r, "Cache-Control", "no-store") != MHD_YES;
    if (html || req->kind == PAY_HTTP_PAGE)
        bad |= add_page_headers(req, r) != 0;
    if (html && req->lang != NULL) /* the page was negotiated: say in what, and on what */
        bad |= MHD_add_response_header(r, "Content-Language", pay_i18n_tag(req->lang)) != MHD_YES ||
               MHD_add_response_header(r, "Vary", "Accept-Language, Cookie") != MHD_YES;
    if (req->srv->tls)
        bad |=
            MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000") != MHD_YES;
    if (atomic_load(&req->srv->stopping))
        bad |= MHD_add_response_header(r, "Connection", "close") != MHD_YES;
    for (struct resp_header *h = req->headers; h != NULL; h = h->next)
        bad |= MHD_add_response_header(r, h->name, h->value) != MHD_YES;
    /* 503: not completed, send it again later (RFC 9110, 10.2.3); a handler may say when. */
    if (req->status == 503 && !MHD_get_response_header(r, "Retry-After")) {
        char after[16];
        snprintf(after, sizeof after, "%d", PAY_HTTP_RETRY_AFTER_S);
        bad |= MHD_add_response_header(r, "Retry-After", after) != MHD_YES;
    }
    if (bad) {
        MHD_destroy_response(r);
        return NULL;
    }
    return r;
}
