/* libpaygate: the platform client. Every request is signed with the merchant's Ed25519 key
 * (docs/protocol.md) and every answer is trusted only after its Paygate-Signature verifies
 * against the platform key and our own request nonce. */
#include "sdk/internal.h"

#include "core/buf.h"
#include "core/money.h"
#include "crypto/crypto.h"
#include "crypto/sig.h"
#include "crypto/sign.h"
#include "http/client.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct paygate_client {
    char url[512];
    char key_id[PAY_SIG_KEY_ID_MAX + 1];      /* as configured: "shop" or "shop.k1" */
    char merchant_id[PAY_SIG_KEY_ID_MAX + 1]; /* the merchant: the key id up to its '.' */
    struct pay_ed25519_key key;
    uint8_t platform_pk[PAY_ED25519_PK_LEN];
    char platform_pk_text[PAY_ED25519_KEY_TEXT_LEN];
    struct pay_nonce_cache *nonces; /* for notifications (requests of the platform) */
    struct pay_http_client_options http;
};

int pay_sdk_fail(paygate_error *err, int status, int http_status, const char *code, const char *fmt,
                 ...)
{
    if (err) {
        err->http_status = http_status;
        pay_str_copy(err->code, sizeof err->code, code ? code : paygate_status_name(status));
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

const char *paygate_status_name(int status)
{
    switch (status) {
    case PAYGATE_OK:
        return "OK";
    case PAYGATE_ERR_ARG:
        return "ARG";
    case PAYGATE_ERR_IO:
        return "IO";
    case PAYGATE_ERR_NETWORK:
        return "NETWORK";
    case PAYGATE_ERR_SIGNATURE:
        return "SIGNATURE";
    case PAYGATE_ERR_STALE:
        return "STALE";
    case PAYGATE_ERR_REFUSED:
        return "REFUSED";
    case PAYGATE_ERR_MISMATCH:
        return "MISMATCH";
    case PAYGATE_DUPLICATE:
        return "DUPLICATE";
    case PAYGATE_TEST:
        return "TEST";
    default:
        return "INTERNAL";
    }
}

bool pay_sdk_str(json_t *o, const char *key, char *out, size_t n)
{
    const char *s = json_string_value(json_object_get(o, key));
    return pay_str_copy(out, n, s ? s : "");
}

int pay_sdk_money(json_t *o, const char *key, int64_t *minor, char currency[4])
{
    json_t *m = json_object_get(o, key);
    const char *v = json_string_value(json_object_get(m, "value"));
    const char *cur = json_string_value(json_object_get(m, "currency"));
    if (!v || !cur || strlen(cur) != 3)
        return -1;
    if (pay_money_parse(v, cur, minor, NULL) != PAY_ERR_OK)
        return -1;
    if (currency)
        memcpy(currency, cur, 4);
    return 0;
}

int pay_sdk_trade_from_json(json_t *o, paygate_trade *t, paygate_error *err)
{
    memset(t, 0, sizeof *t);
    struct {
        const char *key;
        char *out;
        size_t n;
    } fields[] = {
        {"trade_id", t->trade_id, sizeof t->trade_id},
        {"merchant_id", t->merchant_id, sizeof t->merchant_id},
        {"out_trade_no", t->out_trade_no, sizeof t->out_trade_no},
        {"state", t->state, sizeof t->state},
        {"pay_method", t->pay_method, sizeof t->pay_method},
        {"cashier_url", t->cashier_url, sizeof t->cashier_url},
        {"close_reason", t->close_reason, sizeof t->close_reason},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (!pay_sdk_str(o, fields[i].key, fields[i].out, fields[i].n)) {
            memset(t, 0, sizeof *t);
            return pay_sdk_fail(err, PAYGATE_ERR_INTERNAL, 0, "FIELD_TOO_LONG",
                                "the trade's %s is longer than paygate_trade holds (%zu bytes): "
                                "upgrade libpaygate",
                                fields[i].key, fields[i].n - 1);
        }
    if (pay_sdk_money(o, "amount", &t->amount, t->currency) != 0)
        t->amount = -1;
    (void)pay_sdk_money(o, "refunded", &t->refunded, NULL);
    (void)pay_sdk_money(o, "fee", &t->fee, NULL);
    return PAYGATE_OK;
}

const unsigned char *pay_sdk_client_pk(const paygate_client *c)
{
    return c->platform_pk;
}
struct pay_nonce_cache *pay_sdk_client_nonces(paygate_client *c)
{
    return c->nonces;
}
const char *pay_sdk_client_merchant(const paygate_client *c)
{
    return c->merchant_id;
}
const char *paygate_client_platform_key(const paygate_client *c)
{
    return c->platform_pk_text;
}

/* GET /.well-known/paygate-platform-key (unsigned; see the header about pinning). */
static int fetch_platform_key(paygate_client *c, paygate_error *err)
{
    char url[600];
    snprintf(url, sizeof url, "%s/.well-known/paygate-platform-key", c->url);
    struct pay_http_client_response r = {0};
    struct pay_error e = {0};
    if (pay_http_client_request("GET", url, NULL, NULL, 0, &c->http, &r, &e) != PAY_ERR_OK) {
        pay_http_client_response_fini(&r);
        return pay_sdk_fail(err, PAYGATE_ERR_NETWORK, 0, NULL, "platform key: %s",
                            e.detail[0] ? e.detail : pay_err_name(e.code));
    }
    json_t *j = r.status == 200 ? json_loads(pay_buf_str(&r.body), 0, NULL) : NULL;
    const char *pk = json_string_value(json_object_get(j, "public_key"));
    int rc = pk && pay_ed25519_pk_from_text(c->platform_pk, pk) == 0 ? 0 : -1;
    json_decref(j);
    pay_http_client_response_fini(&r);
    if (rc != 0)
        return pay_sdk_fail(err, PAYGATE_ERR_REFUSED, (int)r.status, NULL, "no platform key at %s",
                            url);
    return PAYGATE_OK;
}

paygate_client *paygate_client_new(const paygate_config *cfg, paygate_error *err)
{
    if (!cfg || !cfg->platform_url || !cfg->merchant_id || !cfg->key_file ||
        strlen(cfg->merchant_id) > PAY_SIG_KEY_ID_MAX || strlen(cfg->platform_url) >= 512) {
        pay_sdk_fail(err, PAYGATE_ERR_ARG, 0, NULL, "platform_url, merchant_id, key_file needed");
        return NULL;
    }
    if (pay_crypto_init() != 0) {
        pay_sdk_fail(err, PAYGATE_ERR_INTERNAL, 0, NULL, "crypto init failed");
        return NULL;
    }
    paygate_client *c = calloc(1, sizeof *c);
    if (!c) {
        pay_sdk_fail(err, PAYGATE_ERR_INTERNAL, 0, NULL, "out of memory");
        return NULL;
    }
    pay_str_copy(c->url, sizeof c->url, cfg->platform_url);
    size_t ul = strlen(c->url);
    while (ul > 0 && c->url[ul - 1] == '/')
        c->url[--ul] = '\0';
    /* a key added in the merchant portal has its own keyId, "<merchant id>.k<n>" */
    pay_str_copy(c->key_id, sizeof c->key_id, cfg->merchant_id);
    snprintf(c->merchant_id, sizeof c->merchant_id, "%.*s", (int)strcspn(cfg->merchant_id, "."),
             cfg->merchant_id);
    c->http.total_timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
    c->http.allow_private_addresses = cfg->allow_loopback != 0;
    c->nonces = pay_nonce_cache_mem_new(65536, PAY_SIGNATURE_WINDOW_S);
    int rc = PAYGATE_OK;
    if (!c->nonces)
        rc = pay_sdk_fail(err, PAYGATE_ERR_INTERNAL, 0, NULL, "out of memory");
    else if (pay_ed25519_key_load(cfg->key_file, &c->key) != 0)
        rc = pay_sdk_fail(err, PAYGATE_ERR_IO, 0, NULL, "cannot read key %s", cfg->key_file);
    else if (cfg->platform_public_key) {
        if (pay_ed25519_pk_from_text(c->platform_pk, cfg->platform_public_key) != 0)
            rc = pay_sdk_fail(err, PAYGATE_ERR_ARG, 0, NULL, "platform_public_key malformed");
    } else
        rc = fetch_platform_key(c, err);
    if (rc != PAYGATE_OK) {
        paygate_client_free(c);
        return NULL;
    }
    pay_ed25519_pk_to_text(c->platform_pk_text, c->platform_pk);
    return c;
}

void paygate_client_free(paygate_client *c)
{
    if (!c)
        return;
    pay_ed25519_key_fini(&c->key);
    if (c->nonces)
        pay_nonce_cache_free(c->nonces);
    free(c);
}

static enum pay_err lookup_platform(void *ctx, const char *key_id, struct pay_sig_pubkey *out)
{
    const paygate_client *c = ctx;
    if (strcmp(key_id, "paygate-platform") != 0)
        return PAY_ERR_SIGNATURE_INVALID;
    out->alg = PAY_SIG_ED25519;
    memcpy(out->ed25519, c->platform_pk, PAY_ED25519_PK_LEN);
    return PAY_ERR_OK;
}

int pay_sdk_sig_status(enum pay_err e);
int pay_sdk_sig_status(enum pay_err e)
{
    return e == PAY_ERR_TIMESTAMP_STALE || e == PAY_ERR_NONCE_REPLAYED ? PAYGATE_ERR_STALE
                                                                       : PAYGATE_ERR_SIGNATURE;
}

/* Checks the answer's signature, parses its JSON into *out (caller json_decref). */
static int check_answer(paygate_client *c, struct pay_http_client_response *r, const char *nonce,
                        json_t **out, paygate_error *err)
{
    char hdr[PAY_SIG_HEADER_MAX + 1];
    const char *h = pay_http_client_response_header(r, PAY_SIG_RESPONSE_HEADER, hdr, sizeof hdr);
    struct pay_sig_verifier v = {.lookup = lookup_platform, .ctx = c};
    struct pay_error e = {0};
    enum pay_err ve = pay_sig_verify_response(&v, h, (int)r->status, nonce, r->body.data,
                                              r->body.len, (int64_t)time(NULL), NULL, &e);
    if (ve != PAY_ERR_OK)
        return pay_sdk_fail(err, pay_sdk_sig_status(ve), (int)r->status, pay_err_name(ve),
                            "answer not signed by the platform: %s", e.detail);
    *out = json_loads(pay_buf_str(&r->body), 0, NULL);
    if (r->status >= 400) {
        json_t *eo = json_object_get(*out, "error");
        const char *code = json_string_value(json_object_get(eo, "code"));
        const char *msg = json_string_value(json_object_get(eo, "message"));
        int rc = pay_sdk_fail(err, PAYGATE_ERR_REFUSED, (int)r->status, code ? code : "HTTP", "%s",
                              msg ? msg : "refused");
        json_decref(*out); /* after copying code and msg out of it */
        *out = NULL;
        return rc;
    }
    if (!*out)
        return pay_sdk_fail(err, PAYGATE_ERR_INTERNAL, (int)r->status, NULL, "answer not JSON");
    return PAYGATE_OK;
}

/* One signed call; *out receives the parsed 2xx answer. body NULL for GET. */
static int call(paygate_client *c, const char *method, const char *target, const char *body,
                const char *idem, json_t **out, paygate_error *err)
{
    char nonce[PAY_SIG_NONCE_MAX + 1], sig[PAY_SIG_HEADER_MAX + 1];
    pay_sig_nonce_generate(nonce);
    struct pay_sig_signer s = {.alg = PAY_SIG_ED25519, .key_id = c->key_id, .ed25519 = &c->key};
    size_t blen = body ? strlen(body) : 0;
    if (pay_sig_sign_request(&s, method, target, body ? body : "", blen, (int64_t)time(NULL), nonce,
                             sig, sizeof sig, NULL) != PAY_ERR_OK)
        return pay_sdk_fail(err, PAYGATE_ERR_ARG, 0, NULL, "cannot sign %s %s", method, target);
    char auth[PAY_SIG_HEADER_MAX + 32], idem_h[128], url[2048];
    snprintf(auth, sizeof auth, "Authorization: %s", sig);
    snprintf(idem_h, sizeof idem_h, "Idempotency-Key: %s", idem ? idem : "");
    snprintf(url, sizeof url, "%s%s", c->url, target);
    const char *headers[] = {auth, "Content-Type: application/json", idem ? idem_h : NULL, NULL};
    struct pay_http_client_response r = {0};
    struct pay_error e = {0};
    if (pay_http_client_request(method, url, headers, body, blen, &c->http, &r, &e) != PAY_ERR_OK) {
        pay_http_client_response_fini(&r);
        return pay_sdk_fail(err, PAYGATE_ERR_NETWORK, 0, pay_err_name(e.code), "%s %s: %s", method,
                            target, e.detail[0] ? e.detail : pay_err_message(e.code));
    }
    int rc = check_answer(c, &r, nonce, out, err);
    pay_http_client_response_fini(&r);
    return rc;
}

static int valid_ref(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
            !(s[i] >= '0' && s[i] <= '9') && !strchr("_-.", s[i]))
            return 0;
    return 1;
}

/* An Idempotency-Key (at most 64 chars) derived from what makes the request unique. */
static void derived_key(char out[80], const char *what, const char *a, const char *b)
{
    char in[256], hex[PAY_SHA256_HEX_LEN];
    int n = snprintf(in, sizeof in, "%s|%s|%s", what, a, b);
    pay_sha256_hex(hex, in, n > 0 ? (size_t)n : 0);
    snprintf(out, 80, "%.6s-%.40s", what, hex);
}

static int money_json(json_t *o, const char *key, int64_t minor, const char *cur)
{
    char text[48];
    if (pay_money_format(minor, cur, text, sizeof text) < 0)
        return -1;
    return json_object_set_new(o, key, json_pack("{s:s,s:s}", "value", text, "currency", cur));
}

static void set_opt(json_t *o, const char *key, const char *v)
{
    if (v && *v)
        json_object_set_new(o, key, json_string(v));
}

/* POST /v1/trades of product `product` (NULL: the platform's default, page). */
static int trade_create(paygate_client *c, const paygate_trade_request *req, const char *product,
                        paygate_trade *out, paygate_error *err)
{
    if (!c || !req || !valid_ref(req->out_trade_no) || req->amount <= 0 || !req->subject)
        return pay_sdk_fail(err, PAYGATE_ERR_ARG, 0, NULL,
                            "out_trade_no (1-64 of A-Za-z0-9_-.), amount > 0, subject needed");
    const char *cur = req->currency ? req->currency : "CNY";
    json_t *o = json_pack("{s:s,s:s}", "out_trade_no", req->out_trade_no, "subject", req->subject);
    if (!o || money_json(o, "amount", req->amount, cur) != 0) {
        json_decref(o);
        return pay_sdk_fail(err, PAYGATE_ERR_ARG, 0, NULL, "bad amount or currency");
    }
    set_opt(o, "notify_url", req->notify_url);
    set_opt(o, "return_url", req->return_url);
    set_opt(o, "timeout", req->timeout);
    set_opt(o, "product", product);
    char *body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    const char *idem = req->out_trade_no; /* unique per merchant, same alphabet and length */
    json_t *ans = NULL;
    int rc = body ? call(c, "POST", "/v1/trades", body, idem, &ans, err) : PAYGATE_ERR_INTERNAL;
    free(body);
    if (rc == PAYGATE_OK && out)
        rc = pay_sdk_trade_from_json(ans, out, err);
    json_decref(ans);
    return rc;
}

int paygate_trade_create(paygate_client *c, const paygate_trade_request *req, paygate_trade *out,
                         paygate_error *err)
{
    return trade_create(c, req, NULL, out, err);
}

int paygate_trade_create_escrow(paygate_client *c, const paygate_trade_request *req,
                                paygate_trade *out, paygate_error *err)
{
    return trade_create(c, req, "escrow", out, err);
}

static int trade_call(paygate_client *c, const char *method, const char *target, const char *body,
                      const char *idem, paygate_trade *out, paygate_error *err)
{
    json_t *ans = NULL;
    int rc = call(c, method, target, body, idem, &ans, err);
    if (rc == PAYGATE_OK && out)
        rc = pay_sdk_trade_from_json(ans, out, err);
    json_decref(ans);
    return rc;
}

int paygate_trade_query(paygate_client *c, const char *out_trade_no, paygate_trade *out,
                        paygate_error *err)
{
    if (!c || !valid_ref(out_trade_no))
        return pay_sdk_fail(err, PAYGATE_ERR_ARG, 0, NULL, "out_trade_no invalid");
    char target[128];
    snprintf(target, sizeof target, "/v1/trades?out_trade_no=%s", out_trade_no);
    return trade_call(c, "GET", target, NULL, NULL, out, err);
}

int paygate_trade_close(paygate_client *c, const char *trade_id, paygate_trade *out,
                        paygate_error *err)
{
    if (!c || !valid_ref(trade_id))
        return pay_sdk_fail(err, PAYGATE_ERR_ARG, 0, NULL, "trade_id invalid");
    char target[128], idem[80];
    snprintf(target, sizeof target, "/v1/trades/%s/close", trade_id);
    derived_key(idem, "close", trade_id, "");
    return trade_call(c, "POST", target, "{}", idem, out, err);
}

/* 1-64 bytes without control characters (the platform's rule for the shipment's fields). */
static int valid_text(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return n > 0 && n <= 64;
}

int paygate_trade_ship(paygate_client *c, const char *trade_id, const char *logistics_company,
                       const char *tracking_no, paygate_trade *out, paygate_error *err)
{
    if (!c || !valid_ref(trade_id) || !valid_text(logistics_company) || !valid_text(tracking_no))
        return pay_sdk_fail(err, PAYGATE_ERR_ARG, 0, NULL,
                            "trade_id; logistics_company and tracking_no: 1-64 bytes, no controls");
    json_t *o =
        json_pack("{s:s,s:s}", "logistics_company", logistics_company, "tracking_no", tracking_no);
    char *body = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    char target[128], idem[80];
    snprintf(target, sizeof target, "/v1/trades/%s/ship", trade_id);
    derived_key(idem, "ship", trade_id, tracking_no);
    int rc = body ? trade_call(c, "POST", target, body, idem, out, err) : PAYGATE_ERR_INTERNAL;
    free(body);
    return rc;
}

int paygate_trade_refund(paygate_client *c, const char *trade_id, const char *out_refund_no,
                         int64_t amount, const char *currency, const char *reason,
                         paygate_refund *out, paygate_error *err)
{
    if (!c || !valid_ref(trade_id) || !valid_ref(out_refund_no) || amount <= 0)
        return pay_sdk_fail(err, PAYGATE_ERR_ARG, 0, NULL, "trade_id, out_refund_no, amount");
    const char *cur = currency ? currency : "CNY";
    json_t *o = json_pack("{s:s}", "out_refund_no", out_refund_no);
    if (!o || money_json(o, "amount", amount, cur) != 0) {
        json_decref(o);
        return pay_sdk_fail(err, PAYGATE_ERR_ARG, 0, NULL, "bad amount or currency");
    }
    set_opt(o, "reason", reason);
    char *body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    char target[128], idem[80];
    snprintf(target, sizeof target, "/v1/trades/%s/refunds", trade_id);
    derived_key(idem, "refund", trade_id, out_refund_no);
    json_t *ans = NULL;
    int rc = body ? call(c, "POST", target, body, idem, &ans, err) : PAYGATE_ERR_INTERNAL;
    free(body);
    if (rc == PAYGATE_OK && out) {
        memset(out, 0, sizeof *out);
        pay_sdk_str(ans, "refund_id", out->refund_id, sizeof out->refund_id);
        pay_sdk_str(ans, "out_refund_no", out->out_refund_no, sizeof out->out_refund_no);
        pay_sdk_str(ans, "status", out->status, sizeof out->status);
        (void)pay_sdk_money(ans, "amount", &out->amount, out->currency);
    }
    json_decref(ans);
    return rc;
}

int paygate_balance_query(paygate_client *c, const char *currency, paygate_balance *out, size_t max,
                          size_t *n, paygate_error *err)
{
    if (n)
        *n = 0;
    int bad_cur =
        currency && !(strlen(currency) == 3 && isupper((unsigned char)currency[0]) &&
                      isupper((unsigned char)currency[1]) && isupper((unsigned char)currency[2]));
    if (!c || !out || !n || bad_cur)
        return pay_sdk_fail(err, PAYGATE_ERR_ARG, 0, NULL, "client, out, n; currency: 3 letters");
    char target[64];
    snprintf(target, sizeof target, "/v1/balance%s%s", currency ? "?currency=" : "",
             currency ? currency : "");
    json_t *ans = NULL;
    int rc = call(c, "GET", target, NULL, NULL, &ans, err);
    json_t *arr = json_object_get(ans, "balances");
    for (size_t i = 0; rc == PAYGATE_OK && i < json_array_size(arr) && *n < max; i++) {
        json_t *b = json_array_get(arr, i);
        paygate_balance *o = &out[(*n)++];
        memset(o, 0, sizeof *o);
        char cur2[4] = "";
        if (pay_sdk_money(b, "available", &o->available, o->currency) != 0 ||
            pay_sdk_money(b, "fees_charged", &o->fees_charged, cur2) != 0)
            rc = pay_sdk_fail(err, PAYGATE_ERR_INTERNAL, 200, NULL, "malformed balance answer");
    }
    json_decref(ans);
    return rc;
}
