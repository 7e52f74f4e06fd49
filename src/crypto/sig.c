/* The signed-message scheme of server-to-server calls: strict header parsing, canonical
 * strings, signing and verification (docs/protocol.md is the specification). */
#include "crypto/sig.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/limits.h"
#include "crypto/crypto.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Unix seconds, bounded so the parse cannot overflow int64; far more digits than a real
 * time needs, so that a millisecond timestamp (13 digits) parses and is refused as
 * TIMESTAMP_STALE, the error that tells the sender what is wrong. */
#define SIG_TEXT_MAX PAY_BASE64URL_LEN(PAY_RSA_SIG_MAX)

static int is_alnum(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_nonce_char(int c)
{
    return is_alnum(c) || c == '-' || c == '_';
}

static int is_key_id_char(int c)
{
    return is_nonce_char(c) || c == '.' || c == ':';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int valid_text(const char *s, size_t min, size_t max, int (*ok)(int))
{
    size_t n = strnlen(s, max + 1);
    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!ok((unsigned char)s[i]))
            return 0;
    return 1;
}

static int valid_nonce(const char *s)
{
    return valid_text(s, PAY_SIG_NONCE_MIN, PAY_SIG_NONCE_MAX, is_nonce_char);
}

static int is_upper(int c)
{
    return c >= 'A' && c <= 'Z';
}

static int is_target_char(int c)
{
    return c > 0x20 && c < 0x7f; /* printable ASCII without space: a request target as sent */
}

void pay_sig_nonce_generate(char out[PAY_SIG_NONCE_MAX + 1])
{
    int rc = pay_random_token(out, PAY_SIG_NONCE_MAX + 1, 16);
    PAY_ASSERT(rc == 0);
}

/* --- canonical strings ------------------------------------------------------------------- */

static int finish(char *out, size_t out_size, int n)
{
    return n < 0 || (size_t)n >= out_size ? -1 : n;
}

int pay_sig_canonical_request(char *out, size_t out_size, const char *method, const char *target,
                              int64_t ts, const char *nonce, const void *body, size_t body_len)
{
    if (!valid_text(method, 1, PAY_SIG_METHOD_MAX, is_upper) || target[0] != '/' ||
        !valid_text(target, 1, PAY_URL_MAX, is_target_char) || ts < 0 || !valid_nonce(nonce))
        return -1;
    char hash[PAY_SHA256_HEX_LEN];
    pay_sha256_hex(hash, body, body_len);
    int n =
        snprintf(out, out_size, "%s\n%s\n%" PRId64 "\n%s\n%s\n", method, target, ts, nonce, hash);
    return finish(out, out_size, n);
}

int pay_sig_canonical_response(char *out, size_t out_size, int status, int64_t ts,
                               const char *nonce, const char *request_nonce, const void *body,
                               size_t body_len)
{
    if (status < 100 || status > 599 || ts < 0 || !valid_nonce(nonce) ||
        (request_nonce[0] != '\0' && !valid_nonce(request_nonce)))
        return -1;
    char hash[PAY_SHA256_HEX_LEN];
    pay_sha256_hex(hash, body, body_len);
    int n = snprintf(out, out_size, "%d\n%" PRId64 "\n%s\n%s\n%s\n", status, ts, nonce,
                     request_nonce, hash);
    return finish(out, out_size, n);
}

/* --- header parsing ---------------------------------------------------------------------- */

struct cursor {
    const char *p, *end;
};

/* Reads the scheme and the one space after it. */
static enum pay_sig_alg parse_scheme(struct cursor *c)
{
    static const struct {
        const char *name;
        enum pay_sig_alg alg;
    } schemes[] = {{PAY_SIG_SCHEME_ED25519 " ", PAY_SIG_ED25519},
                   {PAY_SIG_SCHEME_RSA " ", PAY_SIG_RSA_SHA256}};
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t n = strlen(schemes[i].name);
        if ((size_t)(c->end - c->p) >= n && memcmp(c->p, schemes[i].name, n) == 0) {
            c->p += n;
            return schemes[i].alg;
        }
    }
    return PAY_SIG_ALG_NONE;
}

/* Reads name="value"; the value's characters must pass ok, its length in [1, max]. Writes
 * the name (up to 7 chars) and value (NUL-terminated) out. Returns a reason or NULL. */
static const char *parse_param(struct cursor *c, char name[8], char *value, size_t max)
{
    size_t n = 0;
    while (c->p < c->end && (is_alnum((unsigned char)*c->p)) && n < 7)
        name[n++] = *c->p++;
    name[n] = '\0';
    if (n == 0 || c->p + 2 > c->end || c->p[0] != '=' || c->p[1] != '"')
        return "expected name=\"value\"";
    c->p += 2;
    const char *v = c->p;
    while (c->p < c->end && *c->p != '"')
        c->p++;
    if (c->p == c->end)
        return "unterminated quoted value";
    size_t len = (size_t)(c->p - v);
    c->p++; /* closing quote */
    if (len == 0 || len > max)
        return "value empty or too long";
    memcpy(value, v, len);
    value[len] = '\0';
    return NULL;
}

enum param_id { P_KEY_ID, P_TS, P_NONCE, P_SIG, P_COUNT };

static enum pay_err bad(struct pay_error *e, const char *why)
{
    return pay_error_set(e, PAY_ERR_SIGNATURE_MALFORMED, "signature", "%s", why);
}

static const char *store_ts(const char *v, int64_t *ts)
{
    size_t n = strlen(v);
    if (n > PAY_SIG_TS_DIGITS_MAX || (n > 1 && v[0] == '0'))
        return "ts must be decimal Unix seconds";
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit((unsigned char)v[i]))
            return "ts must be decimal Unix seconds";
        x = x * 10 + (v[i] - '0');
    }
    *ts = x;
    return NULL;
}

static const char *store_sig(const char *v, struct pay_sig_header *h)
{
    if (pay_base64url_decode(h->sig, sizeof h->sig, v, strlen(v), &h->sig_len) != 0)
        return "sig is not unpadded base64url";
    if (h->alg == PAY_SIG_ED25519 && h->sig_len != PAY_ED25519_SIG_LEN)
        return "Ed25519 signature must be 64 bytes";
    if (h->alg == PAY_SIG_RSA_SHA256 && (h->sig_len < PAY_RSA_BITS_MIN / 8))
        return "RSA signature too short";
    return NULL;
}

/* Validates and stores one parameter value. Returns a reason or NULL. */
static const char *store_param(enum param_id id, const char *v, struct pay_sig_header *h)
{
    switch (id) {
    case P_KEY_ID:
        if (!valid_text(v, 1, PAY_SIG_KEY_ID_MAX, is_key_id_char))
            return "keyId has characters outside [A-Za-z0-9._:-]";
        memcpy(h->key_id, v, strlen(v) + 1);
        return NULL;
    case P_TS:
        return store_ts(v, &h->ts);
    case P_NONCE:
        if (!valid_nonce(v))
            return "nonce must be 16-64 chars of [A-Za-z0-9_-]";
        memcpy(h->nonce, v, strlen(v) + 1);
        return NULL;
    case P_SIG:
        return store_sig(v, h);
    case P_COUNT:
        break;
    }
    return "unknown parameter";
}

static enum param_id param_of(const char *name)
{
    static const char *const names[P_COUNT] = {"keyId", "ts", "nonce", "sig"};
    for (int i = 0; i < P_COUNT; i++)
        if (strcmp(name, names[i]) == 0)
            return (enum param_id)i;
    return P_COUNT;
}

enum pay_err pay_sig_header_parse(const char *value, size_t len, struct pay_sig_header *out,
                                  struct pay_error *e)
{
    memset(out, 0, sizeof *out);
    if (value == NULL || len == 0)
        return pay_error_set(e, PAY_ERR_SIGNATURE_MISSING, "signature", NULL);
    if (len > PAY_SIG_HEADER_MAX)
        return bad(e, "header too long");
    struct cursor c = {value, value + len};
    out->alg = parse_scheme(&c);
    if (out->alg == PAY_SIG_ALG_NONE)
        return bad(e, "unknown scheme (PAYGATE-ED25519 or PAYGATE-RSA-SHA256)");
    int seen[P_COUNT] = {0};
    for (;;) {
        char name[8], v[SIG_TEXT_MAX];
        const char *why = parse_param(&c, name, v, sizeof v - 1);
        if (why != NULL)
            return bad(e, why);
        enum param_id id = param_of(name);
        if (id == P_COUNT)
            return bad(e, "unknown parameter");
        if (seen[id]++)
            return bad(e, "duplicate parameter");
        if ((why = store_param(id, v, out)) != NULL)
            return bad(e, why);
        if (c.p == c.end)
            break;
        if (*c.p++ != ',')
            return bad(e, "expected ',' between parameters");
        while (c.p < c.end && *c.p == ' ')
            c.p++;
    }
    for (int i = 0; i < P_COUNT; i++)
        if (!seen[i])
            return bad(e, "missing parameter (keyId, ts, nonce and sig are required)");
    return PAY_ERR_OK;
}

/* --- signing ----------------------------------------------------------------------------- */

static enum pay_err sign_canonical(const struct pay_sig_signer *s, const char *canonical,
                                   size_t len, int64_t ts, const char *nonce, char *out,
                                   size_t out_size, struct pay_error *e)
{
    if (!valid_text(s->key_id, 1, PAY_SIG_KEY_ID_MAX, is_key_id_char))
        return pay_error_set(e, PAY_ERR_INTERNAL, "keyId", "signer keyId is invalid");
    uint8_t sig[PAY_RSA_SIG_MAX];
    size_t sig_len = 0;
    const char *scheme = PAY_SIG_SCHEME_ED25519;
    if (s->alg == PAY_SIG_ED25519 && s->ed25519 != NULL) {
        pay_ed25519_sign(sig, canonical, len, s->ed25519);
        sig_len = PAY_ED25519_SIG_LEN;
    } else if (s->alg == PAY_SIG_RSA_SHA256 && s->rsa != NULL &&
               pay_rsa_sign(s->rsa, canonical, len, sig, sizeof sig, &sig_len) == 0) {
        scheme = PAY_SIG_SCHEME_RSA;
    } else {
        return pay_error_set(e, PAY_ERR_INTERNAL, "signature", "signer has no usable key");
    }
    char sig_text[SIG_TEXT_MAX];
    int rc = pay_base64url_encode(sig_text, sizeof sig_text, sig, sig_len);
    PAY_ASSERT(rc == 0);
    int n = snprintf(out, out_size, "%s keyId=\"%s\", ts=\"%" PRId64 "\", nonce=\"%s\", sig=\"%s\"",
                     scheme, s->key_id, ts, nonce, sig_text);
    if (n < 0 || (size_t)n >= out_size)
        return pay_error_set(e, PAY_ERR_INTERNAL, "signature", "header buffer too small");
    return PAY_ERR_OK;
}

enum pay_err pay_sig_sign_request(const struct pay_sig_signer *s, const char *method,
                                  const char *target, const void *body, size_t body_len, int64_t ts,
                                  const char *nonce, char *out, size_t out_size,
                                  struct pay_error *e)
{
    char canonical[PAY_SIG_CANONICAL_MAX];
    int n = pay_sig_canonical_request(canonical, sizeof canonical, method, target, ts, nonce, body,
                                      body_len);
    if (n < 0)
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "signature",
                             "method, target, ts or nonce cannot be signed");
    return sign_canonical(s, canonical, (size_t)n, ts, nonce, out, out_size, e);
}

enum pay_err pay_sig_sign_response(const struct pay_sig_signer *s, int status,
                                   const char *request_nonce, const void *body, size_t body_len,
                                   int64_t ts, const char *nonce, char *out, size_t out_size,
                                   struct pay_error *e)
{
    char canonical[PAY_SIG_CANONICAL_MAX];
    int n = pay_sig_canonical_response(canonical, sizeof canonical, status, ts, nonce,
                                       request_nonce, body, body_len);
    if (n < 0)
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "signature",
                             "status, ts or nonces cannot be signed");
    return sign_canonical(s, canonical, (size_t)n, ts, nonce, out, out_size, e);
}

enum pay_err pay_sig_sign_answer(const struct pay_sig_signer *s, const char *request_header,
                                 int status, const void *body, size_t body_len, int64_t now,
                                 char *out, size_t out_size, struct pay_error *e)
{
    struct pay_sig_header h;
    struct pay_error ignore = {0};
    size_t hlen = request_header ? strnlen(request_header, PAY_SIG_HEADER_MAX + 1) : 0;
    const char *request_nonce =
        pay_sig_header_parse(request_header, hlen, &h, &ignore) == PAY_ERR_OK ? h.nonce : "";
    char nonce[PAY_SIG_NONCE_MAX + 1];
    pay_sig_nonce_generate(nonce);
    return pay_sig_sign_response(s, status, request_nonce, body, body_len, now, nonce, out,
                                 out_size, e);
}

/* --- verification ------------------------------------------------------------------------ */

/* Checks the parsed signature over canonical with the key the caller maps keyId to. */
static enum pay_err check_signature(const struct pay_sig_verifier *v,
                                    const struct pay_sig_header *h, const char *canonical,
                                    size_t len, struct pay_error *e)
{
    struct pay_sig_pubkey pk;
    memset(&pk, 0, sizeof pk);
    enum pay_err rc = v->lookup(v->ctx, h->key_id, &pk);
    if (rc != PAY_ERR_OK)
        return pay_error_set(e, rc, "signature", "no usable key for this keyId");
    int ok = 0;
    if (pk.alg != h->alg)
        ok = 0; /* a key is bound to one algorithm: no downgrade by choosing the scheme */
    else if (h->alg == PAY_SIG_ED25519)
        ok = h->sig_len == PAY_ED25519_SIG_LEN &&
             pay_ed25519_verify(h->sig, canonical, len, pk.ed25519) == 0;
    else if (h->alg == PAY_SIG_RSA_SHA256 && pk.rsa != NULL)
        ok = pay_rsa_verify(pk.rsa, canonical, len, h->sig, h->sig_len) == 0;
    if (v->release != NULL)
        v->release(v->ctx, &pk);
    if (!ok)
        return pay_error_set(e, PAY_ERR_SIGNATURE_INVALID, "signature", NULL);
    return PAY_ERR_OK;
}

/* Parse and window check, shared by requests and responses. */
static enum pay_err parse_and_check_time(const struct pay_sig_verifier *v, const char *header,
                                         int64_t now, struct pay_sig_header *h, struct pay_error *e)
{
    size_t len = header != NULL ? strnlen(header, PAY_SIG_HEADER_MAX + 1) : 0;
    enum pay_err rc = pay_sig_header_parse(header, len, h, e);
    if (rc != PAY_ERR_OK)
        return rc;
    int64_t window = v->window_s > 0 ? v->window_s : PAY_SIGNATURE_WINDOW_S;
    int64_t skew = h->ts > now ? h->ts - now : now - h->ts;
    if (skew > window)
        return pay_error_set(e, PAY_ERR_TIMESTAMP_STALE, "signature",
                             "ts is %" PRId64 " s from the server clock (window %" PRId64 " s)%s",
                             skew, window,
                             h->ts / 1000 > now - window && h->ts / 1000 < now + window
                                 ? "; ts must be in seconds, this looks like milliseconds"
                                 : "");
    return PAY_ERR_OK;
}

/* Signature first, nonce last: only authentic messages can occupy the nonce cache. */
static enum pay_err finish_verify(const struct pay_sig_verifier *v, const struct pay_sig_header *h,
                                  const char *canonical, int n, int64_t now, struct pay_error *e)
{
    if (n < 0)
        return pay_error_set(e, PAY_ERR_SIGNATURE_INVALID, "signature",
                             "message parts cannot form a canonical string");
    enum pay_err rc = check_signature(v, h, canonical, (size_t)n, e);
    if (rc != PAY_ERR_OK || v->nonces == NULL)
        return rc;
    rc = v->nonces->check_and_add(v->nonces, h->key_id, h->nonce, h->ts, now);
    if (rc != PAY_ERR_OK)
        return pay_error_set(e, rc, "signature", NULL);
    return PAY_ERR_OK;
}

/* A refused signature blames the header it came in (docs/api.md, "Errors": `field` names the
 * request field, a header such as Idempotency-Key), not a field called "signature", which no
 * request has. */
static enum pay_err blame_header(enum pay_err rc, struct pay_error *e, const char *header_name)
{
    if (rc != PAY_ERR_OK && e != NULL && e->field[0] != '\0')
        pay_str_copy(e->field, sizeof e->field, header_name);
    return rc;
}

enum pay_err pay_sig_verify_request(const struct pay_sig_verifier *v, const char *header,
                                    const char *method, const char *target, const void *body,
                                    size_t body_len, int64_t now, struct pay_sig_header *out,
                                    struct pay_error *e)
{
    PAY_ASSERT(v->lookup != NULL && v->nonces != NULL);
    struct pay_sig_header h;
    enum pay_err rc = parse_and_check_time(v, header, now, &h, e);
    if (rc != PAY_ERR_OK)
        return blame_header(rc, e, PAY_SIG_REQUEST_HEADER);
    char canonical[PAY_SIG_CANONICAL_MAX];
    int n = pay_sig_canonical_request(canonical, sizeof canonical, method, target, h.ts, h.nonce,
                                      body, body_len);
    rc = finish_verify(v, &h, canonical, n, now, e);
    if (rc == PAY_ERR_OK && out != NULL)
        *out = h;
    return blame_header(rc, e, PAY_SIG_REQUEST_HEADER);
}

enum pay_err pay_sig_verify_response(const struct pay_sig_verifier *v, const char *header,
                                     int status, const char *request_nonce, const void *body,
                                     size_t body_len, int64_t now, struct pay_sig_header *out,
                                     struct pay_error *e)
{
    PAY_ASSERT(v->lookup != NULL);
    struct pay_sig_header h;
    enum pay_err rc = parse_and_check_time(v, header, now, &h, e);
    if (rc != PAY_ERR_OK)
        return blame_header(rc, e, PAY_SIG_RESPONSE_HEADER);
    char canonical[PAY_SIG_CANONICAL_MAX];
    int n = pay_sig_canonical_response(canonical, sizeof canonical, status, h.ts, h.nonce,
                                       request_nonce, body, body_len);
    rc = finish_verify(v, &h, canonical, n, now, e);
    if (rc == PAY_ERR_OK && out != NULL)
        *out = h;
    return blame_header(rc, e, PAY_SIG_RESPONSE_HEADER);
}

int pay_sig_pubkey_from_pem(const char *pem, size_t len, struct pay_sig_pubkey *key,
                            struct pay_rsa_key **rsa)
{
    memset(key, 0, sizeof *key);
    if (pay_ed25519_pk_from_pem(key->ed25519, pem, len) == 0) {
        key->alg = PAY_SIG_ED25519;
        return 0;
    }
    if (pay_rsa_key_from_pem(pem, len, rsa) != 0)
        return -1;
    key->alg = PAY_SIG_RSA_SHA256;
    key->rsa = *rsa;
    return 0;
}
