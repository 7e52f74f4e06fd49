/* Passkeys (指纹/人脸, WebAuthn) for the consumer wallet (docs/platform.md "Passkeys"): a
 * consumer registers a passkey in the wallet and confirms a wallet payment at the cashier with
 * it instead of the payment password. The browser asks for options (a fresh challenge, kept
 * here for PAY_WEBAUTHN_CHALLENGE_TTL_MS of business time and used once), the authenticator
 * answers after a fingerprint or face, and the answer comes back in a form; every check of
 * crypto/webauthn.h runs, then the signature counter, in the same committer command as the
 * payment. Pages: the wallet's #passkeys section and the cashier's #pay-passkey button, both
 * driven by /static/passkey.js. */
#include "platform/platform.h"

#include "core/clock.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "crypto/webauthn.h"
#include "http/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHALLENGE_BYTES 32
#define CHALLENGE_TEXT  PAY_BASE64URL_LEN(CHALLENGE_BYTES)
#define CRED_TEXT_MAX   PAY_BASE64URL_LEN(PAY_WEBAUTHN_CRED_ID_MAX)

/* --- configuration ------------------------------------------------------------------------- */

/* The RP ID (a host name: the browser refuses IP addresses) and the exact origin of the pages,
 * from [platform] passkey_rp_id / passkey_origin, else from the public URL: its host, and its
 * scheme, host and port. With only the RP ID set the origin is the public URL's with the
 * RP ID as host (http://localhost:PORT for a test on loopback). */
void pay_platform_passkeys_configure(struct pay_platform *p)
{
    struct pay_platform_settings *s = &p->set;
    const char *url = s->public_url, *host = strstr(url, "://");
    host = host ? host + 3 : url;
    size_t scheme_len = (size_t)(host - url), host_len = strcspn(host, ":/");
    const char *port = host[host_len] == ':' ? host + host_len : "";
    size_t port_len = strcspn(port, "/");
    if (!s->passkey_rp_id[0])
        snprintf(s->passkey_rp_id, sizeof s->passkey_rp_id, "%.*s", (int)host_len, host);
    if (!s->passkey_origin[0])
        snprintf(s->passkey_origin, sizeof s->passkey_origin, "%.*s%s%.*s", (int)scheme_len, url,
                 s->passkey_rp_id, (int)port_len, port);
    PAY_INFO("platform.passkeys", "rp_id=%s origin=%s", s->passkey_rp_id, s->passkey_origin);
}

/* --- the logged-in consumer ---------------------------------------------------------------- */

struct who {
    struct pay_platform *p;
    char consumer_id[PAY_ID_MAX];
    char csrf[PAY_PLATFORM_TOKEN_TEXT_MAX];
    char login[PAY_PLATFORM_LOGIN_MAX + 1];
};

/* The session of a form post and its CSRF token; UNAUTHENTICATED or CSRF_INVALID. */
static enum pay_err who_posts(struct pay_http_request *req, struct who *w, struct pay_error *err)
{
    memset(w, 0, sizeof *w);
    w->p = pay_http_req_ctx(req);
    enum pay_err e = pay_platform_session_get(w->p, pay_http_req_cookie(req, "pf_session"),
                                              w->consumer_id, w->csrf, w->login, err);
    if (e != PAY_ERR_OK)
        return e;
    const char *got = pay_http_req_form_get(req, "csrf");
    size_t n = strlen(w->csrf);
    if (!got || strlen(got) != n || n == 0 || !pay_ct_equal(got, w->csrf, n))
        return pay_error_set(err, PAY_ERR_CSRF_INVALID, "csrf", NULL);
    return PAY_ERR_OK;
}

/* --- challenges ------------------------------------------------------------------------------ */

struct challenge_ctx {
    const char *consumer_id, *purpose;
    char challenge[CHALLENGE_TEXT];
    json_t *creds; /* out: the consumer's credential ids [{type, id}] */
};

static enum pay_err challenge_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct challenge_ctx *c = ctx;
    int64_t now = pay_clock_now_ms();
    json_decref(c->creds);
    c->creds = json_array();
    enum pay_err e =
        pay_store_exec(tx, err, "DELETE FROM pf_webauthn_challenges WHERE expires_ms <= $1", "i",
                       now); /* the stale ones of everybody */
    if (e == PAY_ERR_OK)
        e = pay_store_exec(tx, err,
                           "INSERT INTO pf_webauthn_challenges (challenge, consumer_id, purpose,"
                           " expires_ms) VALUES ($1, $2, $3, $4)",
                           "ttti", c->challenge, c->consumer_id, c->purpose,
                           now + PAY_WEBAUTHN_CHALLENGE_TTL_MS);
    struct pay_store_stmt *st =
        e == PAY_ERR_OK ? pay_store_query(tx, err,
                                          "SELECT id FROM pf_passkeys WHERE consumer_id = $1"
                                          " ORDER BY created_ms",
                                          "t", c->consumer_id)
                        : NULL;
    if (e == PAY_ERR_OK && !st)
        return err->code;
    int r = 0;
    while (st && (r = pay_store_step(st, err)) == 1)
        json_array_append_new(c->creds, json_pack("{s:s, s:s}", "type", "public-key", "id",
                                                  pay_store_col_text(st, 0)));
    pay_store_done(st);
    return e != PAY_ERR_OK ? e : r < 0 ? err->code : PAY_ERR_OK;
}

/* A new challenge for purpose ("register" or "pay:<trade id>"); the consumer's credentials in
 * c->creds (caller decrefs). */
static enum pay_err challenge_new(struct pay_platform *p, struct challenge_ctx *c,
                                  struct pay_error *err)
{
    uint8_t raw[CHALLENGE_BYTES];
    pay_random_bytes(raw, sizeof raw);
    if (pay_base64url_encode(c->challenge, sizeof c->challenge, raw, sizeof raw) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    return pay_platform_write(p, challenge_tx, c, err);
}

/* Takes the challenge out (used once): PASSKEY_INVALID when it is unknown, another consumer's,
 * for something else, used or expired. */
static enum pay_err challenge_take(struct pay_store_tx *tx, const char *challenge,
                                   const char *consumer_id, const char *purpose,
                                   struct pay_error *err)
{
    enum pay_err e = pay_store_exec(tx, err,
                                    "DELETE FROM pf_webauthn_challenges WHERE challenge = $1 AND"
                                    " consumer_id = $2 AND purpose = $3 AND expires_ms > $4",
                                    "ttti", challenge ? challenge : "", consumer_id, purpose,
                                    pay_clock_now_ms());
    if (e == PAY_ERR_OK && pay_store_changes(tx) != 1)
        return pay_error_set(err, PAY_ERR_PASSKEY_INVALID, "challenge",
                             "unknown, used, expired or for something else");
    return e;
}

/* --- registration ---------------------------------------------------------------------------- */

/* POST /wallet/passkeys/options: PublicKeyCredentialCreationOptions as JSON (binary values
 * base64url; passkey.js decodes them). */
static enum pay_err h_register_options(struct pay_http_request *req, struct pay_error *err)
{
    struct who w;
    enum pay_err e = who_posts(req, &w, err);
    struct challenge_ctx c = {.consumer_id = w.consumer_id, .purpose = "register"};
    if (e == PAY_ERR_OK)
        e = challenge_new(w.p, &c, err);
    char user_id[PAY_BASE64URL_LEN(PAY_ID_MAX)];
    if (e == PAY_ERR_OK &&
        pay_base64url_encode(user_id, sizeof user_id, w.consumer_id, strlen(w.consumer_id)) != 0)
        e = pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    if (e != PAY_ERR_OK) {
        json_decref(c.creds);
        return e;
    }
    json_t *o = json_pack(
        "{s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:[{s:s, s:i}, {s:s, s:i}], s:i, s:s,"
        " s:{s:s, s:s}, s:o}",
        "challenge", c.challenge, "rp", "id", w.p->set.passkey_rp_id, "name", w.p->set.name, "user",
        "id", user_id, "name", w.login, "displayName", w.login, "pubKeyCredParams", "type",
        "public-key", "alg", PAY_WEBAUTHN_ES256, "type", "public-key", "alg", PAY_WEBAUTHN_EDDSA,
        "timeout", PAY_WEBAUTHN_CHALLENGE_TTL_MS, "attestation", "none", "authenticatorSelection",
        "residentKey", "preferred", "userVerification", "required", "excludeCredentials", c.creds);
    pay_http_respond_json(req, 200, o); /* takes o */
    return PAY_ERR_OK;
}

/* A base64url form field into buf (size bytes): FIELD_INVALID naming it when absent or bad. */
static enum pay_err field_bytes(struct pay_http_request *req, const char *name, uint8_t *buf,
                                size_t size, size_t *len, struct pay_error *err)
{
    const char *v = pay_http_req_form_get(req, name);
    if (!v || !v[0])
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, name, NULL);
    if (pay_base64url_decode(buf, size, v, strlen(v), len) != 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, name, "not base64url, or too long");
    return PAY_ERR_OK;
}

struct reg_ctx {
    struct pay_platform *p;
    const char *consumer_id, *challenge, *source;
    const struct pay_webauthn_credential *cred;
    char id[CRED_TEXT_MAX];
    const char *name;
};

static enum pay_err reg_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct reg_ctx *r = ctx;
    enum pay_err e = challenge_take(tx, r->challenge, r->consumer_id, "register", err);
    struct pay_store_stmt *st =
        e == PAY_ERR_OK
            ? pay_store_query(tx, err, "SELECT COUNT(*) FROM pf_passkeys WHERE consumer_id = $1",
                              "t", r->consumer_id)
            : NULL;
    if (e != PAY_ERR_OK || !st)
        return e != PAY_ERR_OK ? e : err->code;
    int64_t n = pay_store_step(st, err) == 1 ? pay_store_col_int64(st, 0) : 0;
    pay_store_done(st);
    if (n >= PAY_WEBAUTHN_PASSKEYS_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "passkey", "at most %d passkeys",
                             PAY_WEBAUTHN_PASSKEYS_MAX);
    e = pay_store_exec(tx, err,
                       "INSERT INTO pf_passkeys (id, consumer_id, alg, public_key, sign_count,"
                       " name, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       "ttibiti", r->id, r->consumer_id, (int64_t)r->cred->alg, r->cred->public_key,
                       r->cred->public_key_len, (int64_t)r->cred->sign_count, r->name,
                       pay_clock_now_ms());
    if (e == PAY_ERR_DB_CONSTRAINT)
        return pay_error_set(err, PAY_ERR_DUPLICATE, "id", "this passkey is registered already");
    char actor[PAY_AUDIT_TEXT_MAX], detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(actor, sizeof actor, "consumer:%s", r->consumer_id);
    snprintf(detail, sizeof detail, "alg=%s name=%s",
             r->cred->alg == PAY_WEBAUTHN_ES256 ? "ES256" : "EdDSA", r->name);
    if (e == PAY_ERR_OK)
        e = pay_platform_audit(r->p, tx,
                               &(struct pay_audit_entry){.actor = actor,
                                                         .action = "passkey.add",
                                                         .target = r->id,
                                                         .source = r->source,
                                                         .detail = detail},
                               err);
    return e;
}

static const struct pay_webauthn_expect *
expect_of(const struct pay_platform *p, const char *challenge, struct pay_webauthn_expect *x)
{
    *x = (struct pay_webauthn_expect){p->set.passkey_rp_id, p->set.passkey_origin,
                                      challenge ? challenge : ""};
    return x;
}

/* A refused passkey, on the record (PCI DSS 10.2: a failed authentication). */
static void audit_refused(struct pay_platform *p, struct pay_http_request *req,
                          const char *consumer_id, const char *action, const char *target,
                          const struct pay_error *err)
{
    char actor[PAY_AUDIT_TEXT_MAX], detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(actor, sizeof actor, "consumer:%s", consumer_id);
    snprintf(detail, sizeof detail, "%s: %.300s", err->field, err->detail);
    pay_platform_audit_event(p, &(struct pay_audit_entry){.actor = actor,
                                                          .action = action,
                                                          .target = target,
                                                          .outcome = pay_err_name(err->code),
                                                          .source = pay_http_req_remote_ip(req),
                                                          .detail = detail});
}

/* POST /wallet/passkeys: challenge, id, client_data, attestation (base64url), name. */
static enum pay_err h_register(struct pay_http_request *req, struct pay_error *err)
{
    struct who w;
    enum pay_err e = who_posts(req, &w, err);
    if (e != PAY_ERR_OK)
        return e;
    const char *name = pay_http_req_form_get(req, "name");
    if (name && strlen(name) > PAY_WEBAUTHN_NAME_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, "name", "at most %d bytes",
                             PAY_WEBAUTHN_NAME_MAX);
    uint8_t *att = malloc(PAY_WEBAUTHN_ATTESTATION_MAX), cdj[PAY_WEBAUTHN_CLIENT_DATA_MAX];
    uint8_t raw_id[PAY_WEBAUTHN_CRED_ID_MAX];
    size_t att_len = 0, cdj_len = 0, id_len = 0;
    struct pay_webauthn_credential cred;
    struct pay_webauthn_expect x;
    const char *challenge = pay_http_req_form_get(req, "challenge");
    if (!att)
        e = pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    if (e == PAY_ERR_OK &&
        (e = field_bytes(req, "id", raw_id, sizeof raw_id, &id_len, err)) == PAY_ERR_OK &&
        (e = field_bytes(req, "client_data", cdj, sizeof cdj, &cdj_len, err)) == PAY_ERR_OK &&
        (e = field_bytes(req, "attestation", att, PAY_WEBAUTHN_ATTESTATION_MAX, &att_len, err)) ==
            PAY_ERR_OK)
        e = pay_webauthn_register(att, att_len, cdj, cdj_len, raw_id, id_len,
                                  expect_of(w.p, challenge, &x), &cred, err);
    free(att);
    struct reg_ctx r = {w.p,
                        w.consumer_id,
                        challenge,
                        pay_http_req_remote_ip(req),
                        &cred,
                        "",
                        name && name[0] ? name : "passkey"};
    if (e == PAY_ERR_OK && pay_base64url_encode(r.id, sizeof r.id, cred.id, cred.id_len) != 0)
        e = pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    if (e == PAY_ERR_OK)
        e = pay_platform_write(w.p, reg_tx, &r, err);
    if (e == PAY_ERR_PASSKEY_INVALID)
        audit_refused(w.p, req, w.consumer_id, "passkey.add", "", err);
    if (e != PAY_ERR_OK)
        return e;
    PAY_INFO("wallet.passkey_added", "consumer=%s alg=%d", w.consumer_id, cred.alg);
    pay_http_respond_redirect(req, "/wallet#passkeys");
    return PAY_ERR_OK;
}

struct remove_ctx {
    struct pay_platform *p;
    const char *consumer_id, *id, *source;
};

static enum pay_err remove_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct remove_ctx *r = ctx;
    enum pay_err e =
        pay_store_exec(tx, err, "DELETE FROM pf_passkeys WHERE id = $1 AND consumer_id = $2", "tt",
                       r->id, r->consumer_id);
    if (e == PAY_ERR_OK && pay_store_changes(tx) != 1)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "id", "not a passkey of yours");
    char actor[PAY_AUDIT_TEXT_MAX];
    snprintf(actor, sizeof actor, "consumer:%s", r->consumer_id);
    if (e == PAY_ERR_OK)
        e = pay_platform_audit(
            r->p, tx,
            &(struct pay_audit_entry){
                .actor = actor, .action = "passkey.remove", .target = r->id, .source = r->source},
            err);
    return e;
}

/* POST /wallet/passkeys/remove: csrf, id (a lost phone's passkey pays no more). */
static enum pay_err h_remove(struct pay_http_request *req, struct pay_error *err)
{
    struct who w;
    enum pay_err e = who_posts(req, &w, err);
    if (e != PAY_ERR_OK)
        return e;
    const char *id = pay_http_req_form_get(req, "id");
    if (!id || !id[0] || strlen(id) >= CRED_TEXT_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "id", "not a passkey id");
    struct remove_ctx r = {w.p, w.consumer_id, id, pay_http_req_remote_ip(req)};
    if ((e = pay_platform_write(w.p, remove_tx, &r, err)) != PAY_ERR_OK)
        return e;
    pay_http_respond_redirect(req, "/wallet#passkeys");
    return PAY_ERR_OK;
}

/* --- paying ---------------------------------------------------------------------------------- */

/* POST /cashier/{trade_id}/passkey/options: PublicKeyCredentialRequestOptions as JSON. */
static enum pay_err h_pay_options(struct pay_http_request *req, struct pay_error *err)
{
    struct who w;
    enum pay_err e = who_posts(req, &w, err);
    char purpose[PAY_ID_MAX + 8];
    snprintf(purpose, sizeof purpose, "pay:%.*s", PAY_ID_MAX - 1,
             pay_http_req_param(req, "trade_id"));
    struct challenge_ctx c = {.consumer_id = w.consumer_id, .purpose = purpose};
    if (e == PAY_ERR_OK)
        e = challenge_new(w.p, &c, err);
    if (e == PAY_ERR_OK && json_array_size(c.creds) == 0)
        e = pay_error_set(err, PAY_ERR_NOT_FOUND, "passkey", "no passkey registered");
    if (e != PAY_ERR_OK) {
        json_decref(c.creds);
        return e;
    }
    json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:i}", "challenge", c.challenge, "rpId",
                          w.p->set.passkey_rp_id, "allowCredentials", c.creds, "userVerification",
                          "required", "timeout", PAY_WEBAUTHN_CHALLENGE_TTL_MS);
    pay_http_respond_json(req, 200, o); /* takes o */
    return PAY_ERR_OK;
}

struct pay_ctx {
    struct pay_platform *p;
    const char *consumer_id, *trade_id, *challenge, *source, *device, *login;
    char cred_id[CRED_TEXT_MAX];
    const uint8_t *auth_data, *cdj, *sig;
    size_t ad_len, cdj_len, sig_len;
    char reference[PAY_AUDIT_TEXT_MAX];
};

/* The consumer's credential by id: alg, public key and counter. PASSKEY_INVALID if none. */
static enum pay_err cred_load(struct pay_store_tx *tx, const struct pay_ctx *c, int *alg,
                              uint8_t pk[PAY_WEBAUTHN_PK_BYTES], size_t *pk_len, uint32_t *count,
                              struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT alg, public_key, sign_count FROM pf_passkeys WHERE id = $1 AND consumer_id = $2",
        "tt", c->cred_id, c->consumer_id);
    if (!st)
        return err->code;
    int r = pay_store_step(st, err);
    size_t n = 0;
    const void *b = r == 1 ? pay_store_col_blob(st, 1, &n) : NULL;
    if (r == 1 && n <= PAY_WEBAUTHN_PK_BYTES) {
        *alg = (int)pay_store_col_int64(st, 0);
        memcpy(pk, b, n);
        *pk_len = n;
        *count = (uint32_t)pay_store_col_int64(st, 2);
    }
    pay_store_done(st);
    if (r < 0)
        return err->code;
    return r == 1 && n <= PAY_WEBAUTHN_PK_BYTES
               ? PAY_ERR_OK
               : pay_error_set(err, PAY_ERR_PASSKEY_INVALID, "id", "not a passkey of yours");
}

/* The challenge (taken: used once, whatever follows), the passkey's answer and its counter,
 * then the payment in a savepoint of its own: a payment refused (balance, state) leaves the
 * challenge used and the counter moved, kept with the refusal. */
static enum pay_err pay_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pay_ctx *c = ctx;
    char purpose[PAY_ID_MAX + 8];
    snprintf(purpose, sizeof purpose, "pay:%s", c->trade_id);
    int alg = 0;
    uint8_t pk[PAY_WEBAUTHN_PK_BYTES];
    size_t pk_len = 0;
    uint32_t stored = 0, now = 0;
    struct pay_webauthn_expect x;
    enum pay_err e = challenge_take(tx, c->challenge, c->consumer_id, purpose, err);
    if (e != PAY_ERR_OK)
        return e; /* nothing taken: nothing to keep */
    if ((e = cred_load(tx, c, &alg, pk, &pk_len, &stored, err)) != PAY_ERR_OK ||
        (e = pay_webauthn_assert(c->auth_data, c->ad_len, c->cdj, c->cdj_len, c->sig, c->sig_len,
                                 expect_of(c->p, c->challenge, &x), alg, pk, pk_len, &now, err)) !=
            PAY_ERR_OK)
        return e == PAY_ERR_PASSKEY_INVALID ? pay_store_keep(tx, e) : e;
    if (!pay_webauthn_counter_ok(stored, now))
        return pay_store_keep(tx, pay_error_set(err, PAY_ERR_PASSKEY_INVALID, "authenticatorData",
                                                "the signature counter went from %u to %u: a"
                                                " copied passkey?",
                                                stored, now));
    e = pay_store_exec(tx, err,
                       "UPDATE pf_passkeys SET sign_count = $1, last_used_ms = $2 WHERE id = $3",
                       "iit", (int64_t)now, pay_clock_now_ms(), c->cred_id);
    if (e != PAY_ERR_OK)
        return e;
    snprintf(c->reference, sizeof c->reference, "passkey:%.16s", c->cred_id);
    struct pay_platform_payment pm = {
        "wallet", PAY_PF_ACCT_WALLET, c->consumer_id, c->reference, false, c->consumer_id, NULL};
    /* the fingerprint or face is the second factor a step-up rule asks for */
    struct pay_risk_attempt a = {
        .trade_id = c->trade_id, .method = "passkey", .login = c->login, .stepped_up = true};
    a.value[PAY_RISK_CONSUMER] = c->consumer_id;
    a.value[PAY_RISK_DEVICE] = c->device;
    a.value[PAY_RISK_IP] = c->source;
    return pay_platform_risk_keep(tx, pay_platform_risk_pay_tx(c->p, tx, &a, &pm, err));
}

/* POST /cashier/{trade_id}/pay/passkey: challenge, id, client_data, authenticator_data,
 * signature (base64url). Paid: back to the cashier page, which shows it. */
static enum pay_err h_pay(struct pay_http_request *req, struct pay_error *err)
{
    struct who w;
    enum pay_err e = who_posts(req, &w, err);
    if (e != PAY_ERR_OK)
        return e;
    uint8_t ad[PAY_WEBAUTHN_AUTH_DATA_MAX], cdj[PAY_WEBAUTHN_CLIENT_DATA_MAX], sig[256];
    uint8_t raw_id[PAY_WEBAUTHN_CRED_ID_MAX];
    struct pay_ctx c = {.p = w.p,
                        .consumer_id = w.consumer_id,
                        .trade_id = pay_http_req_param(req, "trade_id"),
                        .challenge = pay_http_req_form_get(req, "challenge"),
                        .source = pay_http_req_remote_ip(req),
                        .device = pay_platform_device_id(req),
                        .login = w.login,
                        .auth_data = ad,
                        .cdj = cdj,
                        .sig = sig};
    size_t id_len = 0;
    if ((e = field_bytes(req, "id", raw_id, sizeof raw_id, &id_len, err)) == PAY_ERR_OK &&
        (e = field_bytes(req, "client_data", cdj, sizeof cdj, &c.cdj_len, err)) == PAY_ERR_OK &&
        (e = field_bytes(req, "authenticator_data", ad, sizeof ad, &c.ad_len, err)) == PAY_ERR_OK &&
        (e = field_bytes(req, "signature", sig, sizeof sig, &c.sig_len, err)) == PAY_ERR_OK &&
        pay_base64url_encode(c.cred_id, sizeof c.cred_id, raw_id, id_len) != 0)
        e = pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    if (e == PAY_ERR_OK)
        e = pay_platform_write(w.p, pay_tx, &c, err);
    PAY_INFO("cashier.pay", "trade=%s method=passkey result=%s", c.trade_id, pay_err_name(e));
    if (e == PAY_ERR_PASSKEY_INVALID)
        audit_refused(w.p, req, w.consumer_id, "passkey.pay", c.trade_id, err);
    if (pay_platform_risk_notifies(e))
        pay_platform_wake(w.p); /* the notifier: trade.state, or trade.review when held */
    if (e != PAY_ERR_OK)
        return e;
    pay_http_respond_redirect(req, pay_http_req_printf(req, "/cashier/%s", c.trade_id));
    return PAY_ERR_OK;
}

/* --- the wallet's list and the routes ------------------------------------------------------- */

struct list_ctx {
    const char *consumer_id;
    json_t *out;
};

static enum pay_err list_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct list_ctx *l = ctx;
    json_decref(l->out);
    l->out = json_array();
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT id, alg, name, created_ms, last_used_ms, sign_count FROM pf_passkeys"
        " WHERE consumer_id = $1 ORDER BY created_ms",
        "t", l->consumer_id);
    if (!st)
        return err->code;
    int r;
    while ((r = pay_store_step(st, err)) == 1)
        json_array_append_new(
            l->out,
            json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "id", pay_store_col_text(st, 0), "alg",
                      pay_store_col_int64(st, 1) == PAY_WEBAUTHN_ES256 ? "ES256" : "EdDSA", "name",
                      pay_store_col_text(st, 2), "created_ms",
                      (json_int_t)pay_store_col_int64(st, 3), "last_used_ms",
                      (json_int_t)pay_store_col_int64(st, 4), "sign_count",
                      (json_int_t)pay_store_col_int64(st, 5)));
    pay_store_done(st);
    return r < 0 ? err->code : PAY_ERR_OK;
}

json_t *pay_platform_passkeys_list(struct pay_platform *p, const char *consumer_id)
{
    struct list_ctx l = {consumer_id, NULL};
    struct pay_error err = {0};
    if (pay_store_run_read(p->store, list_tx, &l, &err) != PAY_ERR_OK) {
        json_decref(l.out);
        return json_array();
    }
    return l.out;
}

const struct pay_http_route *pay_platform_passkey_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"POST", "/wallet/passkeys/options", PAY_HTTP_API, PAY_HTTP_BODY_FORM, h_register_options,
         NULL},
        {"POST", "/wallet/passkeys", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_register, NULL},
        {"POST", "/wallet/passkeys/remove", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_remove, NULL},
        {"POST", "/cashier/{trade_id}/passkey/options", PAY_HTTP_API, PAY_HTTP_BODY_FORM,
         h_pay_options, NULL},
        {"POST", "/cashier/{trade_id}/pay/passkey", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_pay, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
