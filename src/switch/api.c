/* The members' side of the switch: every request is signed by a member's certificate key
 * (PAYGATE-RSA-SHA256, keyId = member code), every answer by the switch's signing key
 * (keyId = the switch's code); calls from the switch to an issuer the other way round. Also
 * the network management message (0800: sign-on, echo) and the switch's public keys. */
#include "switch/switch.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "http/codec.h"
#include "http/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct key_io {
    const char *code;
    char *public_pem;
};

static enum pay_err key_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct key_io *io = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT public_pem FROM switch_members WHERE code = $1 AND revoked_ms = 0", "t",
        io->code);
    if (!st)
        return err->code;
    if (pay_store_step(st, err) == 1)
        io->public_pem = strdup(pay_store_col_text(st, 0));
    pay_store_done(st);
    return PAY_ERR_OK;
}

static enum pay_err lookup(void *ctx, const char *key_id, struct pay_sig_pubkey *out)
{
    struct pay_switch *sw = ctx;
    struct key_io io = {key_id, NULL};
    struct pay_error e = {0};
    struct pay_rsa_key *k = NULL;
    bool ok = pay_store_run_read(sw->store, key_tx, &io, &e) == PAY_ERR_OK && io.public_pem &&
              pay_rsa_key_from_pem(io.public_pem, strlen(io.public_pem), &k) == 0;
    free(io.public_pem);
    if (!ok)
        return PAY_ERR_SIGNATURE_INVALID;
    memset(out, 0, sizeof *out);
    out->alg = PAY_SIG_RSA_SHA256;
    out->rsa = k;
    return PAY_ERR_OK;
}

static void release(void *ctx, struct pay_sig_pubkey *key)
{
    (void)ctx;
    pay_rsa_key_free((struct pay_rsa_key *)key->rsa);
    key->rsa = NULL;
}

bool pay_switch_api_begin(struct pay_http_request *req, struct pay_switch_member *m, json_t **body)
{
    struct pay_switch *sw = pay_http_req_ctx(req);
    struct pay_sig_verifier v = {lookup, release, sw, sw->nonces, 0};
    char key_id[PAY_SIG_KEY_ID_MAX + 1];
    struct pay_error e = {0};
    memset(m, 0, sizeof *m);
    enum pay_err rc = pay_net_request_check(req, &v, key_id, body, &e);
    if (rc == PAY_ERR_OK) {
        if (pay_switch_member_load(sw, key_id, m, &e) != PAY_ERR_OK || m->revoked)
            rc = pay_error_set(&e, PAY_ERR_SIGNATURE_INVALID, "", "unknown member");
    }
    if (rc == PAY_ERR_OK)
        return true;
    json_decref(*body);
    *body = NULL;
    pay_switch_member_fini(m);
    pay_net_fail(req, &e);
    return false;
}

void pay_switch_sign_answer(void *ctx, struct pay_http_request *req, int status, const void *body,
                            size_t len)
{
    struct pay_switch *sw = ctx;
    char hdr[PAY_SIG_HEADER_MAX];
    struct pay_sig_signer s = {PAY_SIG_RSA_SHA256, sw->opt.code, NULL, sw->keys.certs.sign_key};
    struct pay_error e = {0};
    if (pay_sig_sign_answer(&s, pay_http_req_header(req, PAY_SIG_REQUEST_HEADER), status, body, len,
                            pay_clock_real_ms() / 1000, hdr, sizeof hdr, &e) != PAY_ERR_OK ||
        pay_http_respond_header(req, PAY_SIG_RESPONSE_HEADER, hdr) != 0)
        PAY_ERROR("switch.sign_failed", "status=%d detail=\"%s\"", status, e.detail);
}

enum pay_err pay_switch_call(struct pay_switch *sw, const struct pay_switch_member *to,
                             const char *path, json_t *msg, long *status, json_t **answer,
                             struct pay_error *err)
{
    *status = 0;
    *answer = NULL;
    if (!to->url[0])
        return pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "", "%s has not signed on", to->code);
    char *body = msg ? json_dumps(msg, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (!body)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot write the message");
    struct pay_net_peer p = {.base_url = to->url,
                             .key_id = sw->opt.code,
                             .key = sw->keys.certs.sign_key,
                             .peer_key_id = to->code,
                             .peer_cert_pem = to->cert_pem,
                             .timeout_ms = (long)sw->opt.issuer_timeout_ms,
                             .allow_private = sw->opt.allow_private_members};
    enum pay_err rc = pay_net_call(&p, path, body, status, answer, err);
    pay_wipe(body, strlen(body)); /* it may hold sealed card data: no use to anyone, but tidy */
    free(body);
    return rc;
}

/* --- POST /net/v1/signon: network management (0800) ----------------------------------------- */

struct signon_op {
    const char *code, *url;
};

static enum pay_err signon_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct signon_op *s = ctx;
    return pay_store_exec(tx, err,
                          "UPDATE switch_members SET url = $2, signed_on_ms = $3 WHERE code = $1",
                          "tti", s->code, s->url, pay_clock_now_ms());
}

static enum pay_err signon_url(struct pay_switch *sw, const json_t *msg, const char **url,
                               struct pay_error *err)
{
    *url = pay_net_str(json_object_get(msg, "de48"), "url", PAY_URL_MAX, err);
    if (!*url)
        return pay_error_set(err, err->code, "de48.url", "%s", "de48.url: the member's base URL");
    struct pay_url u;
    enum pay_err rc = pay_url_parse(*url, "de48.url", &u, err);
    if (rc == PAY_ERR_OK && (*url)[strlen(*url) - 1] == '/')
        rc = pay_error_set(err, PAY_ERR_FIELD_INVALID, "de48.url", "no trailing slash");
    (void)sw;
    return rc;
}

static enum pay_err signon_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_switch *sw = pay_http_req_ctx(req);
    struct pay_switch_member m;
    json_t *msg = NULL;
    if (!pay_switch_api_begin(req, &m, &msg))
        return PAY_ERR_OK;
    const char *mti = pay_net_str(msg, "mti", 4, err);
    const char *code = mti ? pay_net_str(msg, "de70", 3, err) : NULL;
    const char *url = NULL;
    if (mti && strcmp(mti, PAY_NET_MTI_NETMGMT) != 0)
        code = NULL, pay_error_set(err, PAY_ERR_FIELD_INVALID, "mti", "mti must be 0800");
    if (code && strcmp(code, "001") != 0 && strcmp(code, "301") != 0)
        code = NULL,
        pay_error_set(err, PAY_ERR_FIELD_INVALID, "de70", "de70: 001 (sign-on) or 301 (echo test)");
    if (code && strcmp(code, "001") == 0 && signon_url(sw, msg, &url, err) == PAY_ERR_OK) {
        struct signon_op s = {m.code, url};
        if (pay_committer_submit(sw->committer, signon_apply, &s, err) == PAY_ERR_OK)
            PAY_INFO("switch.signed_on", "member=%s url=%s", m.code, url);
        else
            code = NULL;
    } else if (code && strcmp(code, "001") == 0) {
        code = NULL;
    }
    char today[PAY_NET_DATE_LEN];
    pay_net_date(pay_clock_now_ms(), today);
    if (code)
        pay_net_reply(req, 200,
                      json_pack("{s:s, s:s, s:s, s:s, s:s}", "mti", PAY_NET_MTI_NETMGMT_RESP,
                                "de15", today, "de39", "00", "de70", code, "de100", sw->opt.code));
    else
        pay_net_fail(req, err);
    json_decref(msg);
    pay_switch_member_fini(&m);
    return PAY_ERR_OK;
}

/* --- the switch's public keys ----------------------------------------------------------------- */

static enum pay_err pem_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_switch *sw = pay_http_req_ctx(req);
    (void)err;
    const char *pem = strcmp(pay_http_req_path(req), "/ca.pem") == 0 ? sw->keys.certs.ca_cert_pem
                                                                     : sw->keys.certs.sign_cert_pem;
    pay_http_respond_bytes(req, 200, "application/x-pem-file", pem, strlen(pem));
    return PAY_ERR_OK;
}

static enum pay_err seal_key_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_switch *sw = pay_http_req_ctx(req);
    char pk[PAY_SEAL_KEY_TEXT_LEN];
    pay_seal_pk_to_text(pk, sw->keys.seal.pk);
    (void)err;
    pay_net_reply(req, 200, json_pack("{s:s, s:s}", "code", sw->opt.code, "sealKey", pk));
    return PAY_ERR_OK;
}

static struct pay_http_route routes[] = {
    {"POST", "/net/v1/signon", PAY_HTTP_API, PAY_HTTP_BODY_RAW, signon_handler, NULL},
    {"GET", "/ca.pem", PAY_HTTP_API, PAY_HTTP_BODY_RAW, pem_handler, NULL},
    {"GET", "/net/v1/switch-cert.pem", PAY_HTTP_API, PAY_HTTP_BODY_RAW, pem_handler, NULL},
    {"GET", "/net/v1/seal-key", PAY_HTTP_API, PAY_HTTP_BODY_RAW, seal_key_handler, NULL},
};

const struct pay_http_route *pay_switch_api_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
