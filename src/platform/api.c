/* The open API's request phases, in one place for every endpoint: authenticate (the merchant's
 * signature; keyId = merchant id), check the merchant, claim the Idempotency-Key (POST), run
 * the endpoint, store the answer for replays, and answer with a body signed by the platform.
 * Error answers are signed too, so a merchant can trust a refusal as much as a success. */
#include "platform/api.h"

#include "core/clock.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "http/codec.h"
#include "http/server.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* Every non-HTML answer of the platform is signed here (the http framework's hook), the
 * framework's own 404/405/413/415 included, so a merchant can trust a refusal as much as a
 * success and treat anything unsigned as a network error (docs/api.md). */
void pay_platform_sign_answer(void *ctx, struct pay_http_request *req, int status, const void *body,
                              size_t len)
{
    struct pay_platform *p = ctx;
    char sig[PAY_SIG_HEADER_MAX];
    struct pay_error err = {0};
    struct pay_sig_signer s = {PAY_SIG_ED25519, p->key_id, &p->key, NULL};
    if (pay_sig_sign_answer(&s, pay_http_req_header(req, PAY_SIG_REQUEST_HEADER), status, body, len,
                            pay_clock_real_ms() / 1000, sig, sizeof sig, &err) != PAY_ERR_OK ||
        pay_http_respond_header(req, PAY_SIG_RESPONSE_HEADER, sig) != 0)
        PAY_ERROR("api.sign_failed", "status=%d detail=\"%s\"", status, err.detail);
}

/* Sends body (JSON text) with status; signed on its way out by pay_platform_sign_answer. */
static void send_raw(struct api_call *c, int status, const char *body)
{
    pay_http_respond_bytes(c->req, status, "application/json", body, strlen(body));
}

/* The registry's JSON error shape; heap text, caller frees. */
static char *error_text(const struct pay_error *e)
{
    json_t *inner = json_pack("{s:s, s:s}", "code", pay_err_name(e->code), "message",
                              e->detail[0] ? e->detail : pay_err_message(e->code));
    if (inner && e->field[0])
        json_object_set_new(inner, "field", json_string(e->field));
    json_t *o = inner ? json_pack("{s:o}", "error", inner) : NULL;
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return s;
}

static char *answer_text(enum pay_err e, const struct pay_error *err, json_t *out, int *status)
{
    char *s = NULL;
    if (e == PAY_ERR_OK && out)
        s = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    if (e != PAY_ERR_OK || !s) {
        struct pay_error fallback = {.code = PAY_ERR_INTERNAL};
        const struct pay_error *use = (e != PAY_ERR_OK && err->code == e) ? err : &fallback;
        if (e != PAY_ERR_OK && err->code != e)
            fallback.code = e;
        free(s);
        s = error_text(use);
        *status = pay_err_http_status(use->code);
    }
    return s;
}

static void send_answer(struct api_call *c, enum pay_err e, const struct pay_error *err,
                        json_t *out, int status)
{
    char *s = answer_text(e, err, out, &status);
    send_raw(c, s ? status : 500, s ? s : "{}");
    free(s);
}

/* The signed target is the request target exactly as sent (docs/protocol.md); a GET by
 * merchant key also needs its one query parameter, checked here. */
static enum pay_err build_target(struct api_call *c, const struct api_route *r,
                                 struct pay_error *err)
{
    if (r->query_param) {
        const char *v = pay_http_req_query(c->req, r->query_param);
        if (!v)
            return pay_error_set(err, PAY_ERR_FIELD_MISSING, r->query_param, NULL);
        if (!pay_platform_api_token_valid(v, PAY_MERCHANT_ID_FIELD_MAX))
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, r->query_param,
                                 "1-64 of A-Z a-z 0-9 _ - .");
        c->query_value = v;
    }
    int n = snprintf(c->target, sizeof c->target, "%s", pay_http_req_target(c->req));
    if (n < 0 || (size_t)n >= sizeof c->target)
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, "path", NULL);
    return PAY_ERR_OK;
}

static enum pay_err authenticate(struct api_call *c, const struct api_route *r,
                                 struct pay_error *err)
{
    const char *hdr = pay_http_req_header(c->req, PAY_SIG_REQUEST_HEADER);
    struct pay_sig_header parsed;
    enum pay_err e = build_target(c, r, err);
    if (e != PAY_ERR_OK)
        return e;
    struct pay_sig_verifier v = {pay_platform_merchant_key_lookup,
                                 pay_platform_merchant_key_release, c->p, c->p->nonces, 0};
    e = pay_sig_verify_request(&v, hdr, pay_http_req_method(c->req), c->target, c->body,
                               c->body_len, pay_clock_real_ms() / 1000, &parsed, err);
    if (e != PAY_ERR_OK)
        return err->code == e ? e : pay_error_set(err, e, "Authorization", NULL);
    if (strlen(parsed.key_id) >= sizeof c->merchant_id) /* lookup refuses these already */
        return pay_error_set(err, PAY_ERR_SIGNATURE_INVALID, "Authorization", NULL);
    memcpy(c->merchant_id, parsed.key_id, strlen(parsed.key_id) + 1);
    struct pay_platform_merchant m;
    if ((e = pay_platform_merchant_get(c->p, c->merchant_id, &m, err)) != PAY_ERR_OK)
        return e;
    c->fee_bp = m.fee_bp;
    snprintf(c->notify_hosts, sizeof c->notify_hosts, "%s", m.notify_hosts);
    bool active = strcmp(m.status, "active") == 0;
    pay_platform_merchant_fini(&m);
    if (!active)
        return pay_error_set(err, PAY_ERR_MERCHANT_SUSPENDED, "", NULL);
    return PAY_ERR_OK;
}

static enum pay_err idem_key(struct api_call *c, struct pay_error *err)
{
    const char *k = pay_http_req_header(c->req, "Idempotency-Key");
    if (!k)
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "Idempotency-Key",
                             "every POST needs an Idempotency-Key header");
    if (!pay_platform_api_token_valid(k, PAY_MERCHANT_ID_FIELD_MAX))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "Idempotency-Key",
                             "1-64 of A-Z a-z 0-9 _ - .");
    c->idem_key = k;
    return PAY_ERR_OK;
}

/* POST: claim the key, run, store the answer, send. */
static void run_post(struct api_call *c, const struct api_route *r, struct pay_error *err)
{
    enum pay_err e = PAY_ERR_OK;
    /* JSON only: a form or text/plain body would otherwise be read as JSON by accident. */
    if (c->body_len > 0 && !pay_http_req_is_json(c->req))
        e = pay_error_set(err, PAY_ERR_UNSUPPORTED_MEDIA_TYPE, "Content-Type",
                          "send the body as application/json");
    if (e == PAY_ERR_OK)
        e = idem_key(c, err);
    if (e != PAY_ERR_OK) {
        send_answer(c, e, err, NULL, 0);
        return;
    }
    char hash[PAY_SHA256_HEX_LEN];
    char *material = pay_http_req_printf(c->req, "POST %s\n", c->target);
    struct pay_buf b;
    pay_buf_init(&b, PAY_HTTP_BODY_MAX + PAY_URL_MAX + 16);
    if (!material || pay_buf_puts(&b, material) != 0 ||
        pay_buf_append(&b, c->body, c->body_len) != 0) {
        pay_buf_fini(&b);
        send_answer(c, PAY_ERR_INTERNAL, err, NULL, 0);
        return;
    }
    pay_sha256_hex(hash, b.data, b.len);
    pay_buf_fini(&b);
    enum pay_idem_state state;
    int status = 0;
    char *stored = NULL;
    e = pay_platform_idem_begin(c->p, c->merchant_id, c->idem_key, hash, &state, &status, &stored,
                                err);
    if (e != PAY_ERR_OK) {
        send_answer(c, e, err, NULL, 0);
        return;
    }
    if (state == PAY_IDEM_REPLAY) {
        pay_http_respond_header(c->req, "Idempotent-Replayed", "true");
        send_raw(c, status, stored);
        free(stored);
        return;
    }
    json_t *out = NULL;
    status = 200;
    if (c->body_len == 0) /* a POST without fields (close) may send no body */
        c->json = json_object();
    else
        e = pay_json_decode(c->body, c->body_len, &c->json, err);
    if (e == PAY_ERR_OK)
        e = r->op(c, &status, &out, err);
    char *text = answer_text(e, err, out, &status);
    json_decref(out);
    struct pay_error ferr = {0};
    if (!text || pay_platform_idem_finish(c->p, c->merchant_id, c->idem_key, status, text, &ferr) !=
                     PAY_ERR_OK)
        PAY_WARN("api.idempotency_store_failed", "key=%s", c->idem_key);
    send_raw(c, text ? status : 500, text ? text : "{}");
    free(text);
}

static enum pay_err api_entry(struct pay_http_request *req, struct pay_error *err)
{
    const struct api_route *r = pay_http_req_ctx(req);
    struct api_call c = {.p = r->p, .req = req};
    c.body = pay_http_req_body(req, &c.body_len);
    enum pay_err e = authenticate(&c, r, err);
    if (e != PAY_ERR_OK) {
        PAY_INFO("api.refused", "path=%s code=%s", pay_http_req_path(req), pay_err_name(e));
        send_answer(&c, e, err, NULL, 0);
    } else if (r->post) {
        run_post(&c, r, err);
    } else {
        json_t *out = NULL;
        int status = 200;
        e = r->op(&c, &status, &out, err);
        send_answer(&c, e, err, out, status);
        json_decref(out);
    }
    json_decref(c.json);
    return PAY_ERR_OK;
}

bool pay_platform_api_token_valid(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.'))
            return false;
    return true;
}

/* GET /.well-known/paygate-platform-key: how merchants learn the key that signs our answers
 * and notifications. */
static enum pay_err h_key(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    char text[PAY_ED25519_KEY_TEXT_LEN];
    pay_ed25519_pk_to_text(text, p->key.pk);
    char *pem = pay_ed25519_pk_to_pem(p->key.pk);
    if (!pem)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    pay_http_respond_json(req, 200,
                          json_pack("{s:s, s:s, s:s, s:s}", "key_id", p->key_id, "alg", "ed25519",
                                    "public_key", text, "public_key_pem", pem));
    free(pem);
    return PAY_ERR_OK;
}

enum pay_err pay_platform_routes_add(struct pay_platform *p, struct pay_error *err)
{
    size_t n = 0;
    const struct api_op_def *defs = pay_platform_api_ops(&n);
    struct api_route *ctx = calloc(n, sizeof *ctx);
    struct pay_http_route *routes = calloc(n + 1, sizeof *routes);
    if (!ctx || !routes) {
        free(ctx);
        free(routes);
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        ctx[i] = (struct api_route){p, defs[i].op, strcmp(defs[i].method, "POST") == 0,
                                    defs[i].query_param};
        routes[i] = (struct pay_http_route){defs[i].method,    defs[i].pattern, PAY_HTTP_API,
                                            PAY_HTTP_BODY_RAW, api_entry,       &ctx[i]};
    }
    routes[n] = (struct pay_http_route){
        "GET", "/.well-known/paygate-platform-key", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_key, p};
    p->api_routes = ctx;
    enum pay_err e = pay_http_server_add_routes(p->http, routes, n + 1, err);
    free(routes);
    return e;
}
