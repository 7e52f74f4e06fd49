/* The bank as a witness of the platform's payment log (docs/receipts.md, "Witnesses"):
 * POST /api/v1/witness/cosign, signed by the merchant whose log it is (the platform, with its
 * merchant certificate), co-signs a tree head with the bank's signing key when it is
 * consistent with the last head the bank co-signed for that merchant; else 409
 * LOG_INCONSISTENT, and the bank's memory of the log is unchanged. */
#include "bank/api.h"
#include "core/clock.h"
#include "translog/translog.h"

#include <string.h>

struct cosign_op {
    struct pay_bank *b;
    struct pay_witness_request r;
    struct pay_translog_cosig out;
};

static enum pay_err cosign_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct cosign_op *o = ctx;
    struct pay_sig_signer s = {PAY_SIG_RSA_SHA256, o->b->opt.code, NULL, o->b->keys.certs.sign_key};
    return pay_translog_witness_cosign(tx, &s, &o->r, pay_clock_now_ms(), &o->out, err);
}

/* The body: {"logKey": base64 Ed25519 key, "head": a tree head (docs/receipts.md),
 * "consistencyFrom": the size the proof starts from, "consistencyProof": [hex, ...]}. */
static bool parse(struct api_call *c, struct pay_witness_request *r, struct pay_error *err)
{
    const char *key = api_str(c, "logKey", PAY_BASE64_LEN(PAY_ED25519_PK_LEN), err);
    size_t n = 0;
    if (!key)
        return false;
    if (pay_base64_decode(r->log_key, sizeof r->log_key, key, strlen(key), &n) != 0 ||
        n != PAY_ED25519_PK_LEN) {
        pay_error_set(err, PAY_ERR_FIELD_INVALID, "logKey", "base64 of a 32-byte Ed25519 key");
        return false;
    }
    json_t *from = json_object_get(c->body, "consistencyFrom");
    if (from && (!json_is_integer(from) || json_integer_value(from) < 0)) {
        pay_error_set(err, PAY_ERR_FIELD_INVALID, "consistencyFrom", "an integer >= 0");
        return false;
    }
    r->proof_from = from ? json_integer_value(from) : 0;
    json_t *proof = json_object_get(c->body, "consistencyProof");
    if (pay_translog_head_from_json(json_object_get(c->body, "head"), "head", &r->head, err) !=
            PAY_ERR_OK ||
        (proof &&
         pay_translog_hashes_from_json(proof, "consistencyProof", r->proof, PAY_MERKLE_PROOF_MAX,
                                       &r->proof_len, err) != PAY_ERR_OK)) {
        err->code = PAY_ERR_FIELD_INVALID; /* the receipt's form, as a request field here */
        return false;
    }
    return true;
}

static enum pay_err cosign_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct api_call c;
    if (!api_begin(req, &c))
        return PAY_ERR_OK;
    struct cosign_op o = {.b = c.b, .r = {.log_id = c.m.mer_id}};
    if (parse(&c, &o.r, err) &&
        pay_committer_submit(c.b->committer, cosign_apply, &o, err) == PAY_ERR_OK) {
        char sig[PAY_BASE64_LEN(PAY_RSA_SIG_MAX)];
        (void)pay_base64_encode(sig, sizeof sig, o.out.sig, o.out.sig_len);
        api_reply(&c, 200,
                  json_pack("{s:s, s:s, s:s, s:I}", "witness", o.out.witness, "alg",
                            pay_translog_alg_name(o.out.alg), "signature", sig, "treeSize",
                            (json_int_t)o.r.head.tree_size));
    } else {
        api_fail(&c, err);
    }
    api_end(&c);
    return PAY_ERR_OK;
}

static struct pay_http_route routes[] = {
    {"POST", "/api/v1/witness/cosign", PAY_HTTP_API, PAY_HTTP_BODY_RAW, cosign_handler, NULL},
};

const struct pay_http_route *pay_bank_witness_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
