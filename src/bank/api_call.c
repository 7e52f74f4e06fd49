/* The frame of every call of the signed API (api.c, api_cards.c, statement_file.c): the
 * merchant's signature checked and the merchant loaded, the body's fields read, every answer
 * (errors too) signed with the bank's key on its way out. Calls none of the API's files,
 * which all call it (docs/hacking.md, "Call loops"). */
#include "bank/api.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/log.h"
#include "http/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum pay_err key_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    char **io = ctx; /* [0] mer id in, [1] public pem out */
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT public_pem FROM bank_certs WHERE mer_id = $1 AND revoked_ms = 0"
                        " ORDER BY created_ms DESC LIMIT 1",
                        "t", io[0]);
    if (!st)
        return err->code;
    if (pay_store_step(st, err) == 1)
        io[1] = strdup(pay_store_col_text(st, 0));
    pay_store_done(st);
    return PAY_ERR_OK;
}

static enum pay_err lookup(void *ctx, const char *key_id, struct pay_sig_pubkey *out)
{
    struct pay_bank *b = ctx;
    char *io[2] = {(char *)key_id, NULL};
    struct pay_error e = {0};
    enum pay_err read = pay_store_run_read(b->store, key_tx, io, &e);
    if (read != PAY_ERR_OK || !io[1]) {
        free(io[1]);
        /* the database could not say: 503, not "bad signature" */
        return read == PAY_ERR_DB_BUSY || pay_store_failure(read) ? read
                                                                  : PAY_ERR_SIGNATURE_INVALID;
    }
    struct pay_rsa_key *k = NULL;
    int rc = pay_rsa_key_from_pem(io[1], strlen(io[1]), &k);
    free(io[1]);
    if (rc != 0)
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

static enum pay_err mer_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct api_call *c = ctx;
    return pay_bank_merchant_get(tx, c->m.mer_id, &c->m, err);
}

bool api_begin(struct pay_http_request *req, struct api_call *c)
{
    memset(c, 0, sizeof *c);
    c->req = req;
    c->b = pay_http_req_ctx(req);
    c->body = NULL;
    struct pay_error e = {0};
    size_t len = 0;
    const char *body = pay_http_req_body(req, &len);
    const char *target = pay_http_req_target(req); /* as sent: what the signature covers */
    struct pay_sig_verifier v = {lookup, release, c->b, c->b->nonces, 0};
    struct pay_sig_header h;
    enum pay_err rc = pay_sig_verify_request(&v, pay_http_req_header(req, PAY_SIG_REQUEST_HEADER),
                                             pay_http_req_method(req), target, body, len,
                                             pay_clock_real_ms() / 1000, &h, &e);
    if (rc == PAY_ERR_OK) {
        pay_str_copy(c->m.mer_id, sizeof c->m.mer_id, h.key_id);
        rc = pay_store_run_read(c->b->store, mer_tx, c, &e);
        if (rc != PAY_ERR_OK && rc != PAY_ERR_DB_BUSY && !pay_store_failure(rc))
            rc = pay_error_set(&e, PAY_ERR_SIGNATURE_INVALID, "", "unknown merchant");
    }
    bool post = strcmp(pay_http_req_method(req), "POST") == 0;
    if (rc == PAY_ERR_OK && post && len > 0 && !pay_http_req_is_json(req))
        rc = pay_error_set(&e, PAY_ERR_UNSUPPORTED_MEDIA_TYPE, "Content-Type",
                           "send the body as application/json");
    if (rc == PAY_ERR_OK && post)
        rc = pay_json_decode(body, len, &c->body, &e);
    if (rc != PAY_ERR_OK) {
        if (e.code == PAY_ERR_OK)
            e.code = rc;
        api_fail(c, &e);
        return false;
    }
    return true;
}

void api_end(struct api_call *c)
{
    json_decref(c->body);
    c->body = NULL;
}

/* Every non-HTML answer of the bank, errors and the framework's 404/405/413 included, is
 * signed here (the http framework's hook) with the bank's signing key, bound to the nonce of
 * the request it answers (docs/bank.md). */
void pay_bank_sign_answer(void *ctx, struct pay_http_request *req, int status, const void *body,
                          size_t len)
{
    struct pay_bank *b = ctx;
    char hdr[PAY_SIG_HEADER_MAX];
    /* to the card network with the member key its CA issued; to merchants with the bank's */
    const struct pay_rsa_key *net = pay_bank_net_answer_key(b, pay_http_req_path(req));
    struct pay_sig_signer s = {PAY_SIG_RSA_SHA256, b->opt.code, NULL,
                               net ? net : b->keys.certs.sign_key};
    struct pay_error e = {0};
    if (pay_sig_sign_answer(&s, pay_http_req_header(req, PAY_SIG_REQUEST_HEADER), status, body, len,
                            pay_clock_real_ms() / 1000, hdr, sizeof hdr, &e) != PAY_ERR_OK ||
        pay_http_respond_header(req, PAY_SIG_RESPONSE_HEADER, hdr) != 0)
        PAY_ERROR("api.sign_failed", "status=%d detail=\"%s\"", status, e.detail);
}

void api_reply_bytes(struct api_call *c, int status, const char *type, const char *data, size_t len)
{
    pay_http_respond_bytes(c->req, status, type, data, len);
}

void api_reply(struct api_call *c, int status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        pay_http_respond_code(c->req, PAY_ERR_INTERNAL);
        return;
    }
    api_reply_bytes(c, status, "application/json", text, strlen(text));
    free(text);
}

void api_fail(struct api_call *c, const struct pay_error *e)
{
    pay_http_respond_error(c->req, e); /* the one error path; signed by pay_bank_sign_answer */
}

const char *api_str(struct api_call *c, const char *k, size_t max, struct pay_error *e)
{
    json_t *v = json_object_get(c->body, k);
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max) {
        pay_error_set(e, v ? PAY_ERR_FIELD_INVALID : PAY_ERR_FIELD_MISSING, k,
                      "%s must be a string of 1-%zu characters", k, max);
        return NULL;
    }
    return json_string_value(v);
}

bool api_amount(struct api_call *c, const char *k, int64_t *out, struct pay_error *e)
{
    json_t *v = json_object_get(c->body, k);
    if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
        json_integer_value(v) > PAY_AMOUNT_MAX_MINOR) {
        pay_error_set(e, PAY_ERR_AMOUNT_INVALID, k,
                      "%s must be an integer number of minor units, 1..%lld", k,
                      (long long)PAY_AMOUNT_MAX_MINOR);
        return false;
    }
    *out = (int64_t)json_integer_value(v);
    return true;
}
