/* libpaygate: the low-level signature functions (docs/protocol.md) for custom transports and
 * the published test vectors. */
#include "sdk/internal.h"

#include "crypto/sig.h"
#include "crypto/sign.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int pay_sdk_sig_status(enum pay_err e);

int paygate_sign_request(const paygate_signer *s, const char *method, const char *target,
                         int64_t ts, const char *nonce, const void *body, size_t len, char *out,
                         size_t out_size)
{
    if (!s || !s->key_id || !method || !target || !out || (!body && len) ||
        (!s->ed25519_seed && !s->rsa_private_pem))
        return PAYGATE_ERR_ARG;
    char fresh[PAY_SIG_NONCE_MAX + 1];
    if (!nonce) {
        pay_sig_nonce_generate(fresh);
        nonce = fresh;
    }
    struct pay_ed25519_key k;
    struct pay_rsa_key *rsa = NULL;
    struct pay_sig_signer sg = {.key_id = s->key_id};
    if (s->ed25519_seed) {
        pay_ed25519_from_seed(&k, s->ed25519_seed);
        sg.alg = PAY_SIG_ED25519;
        sg.ed25519 = &k;
    } else {
        if (pay_rsa_key_from_pem(s->rsa_private_pem, strlen(s->rsa_private_pem), &rsa) != 0)
            return PAYGATE_ERR_ARG;
        sg.alg = PAY_SIG_RSA_SHA256;
        sg.rsa = rsa;
    }
    enum pay_err e =
        pay_sig_sign_request(&sg, method, target, body ? body : "", len,
                             ts ? ts : (int64_t)time(NULL), nonce, out, out_size, NULL);
    if (s->ed25519_seed)
        pay_ed25519_key_fini(&k);
    pay_rsa_key_free(rsa);
    return e == PAY_ERR_OK ? PAYGATE_OK : PAYGATE_ERR_ARG;
}

struct one_key {
    const char *key_id;
    uint8_t pk[PAY_ED25519_PK_LEN];
};

static enum pay_err lookup_one(void *ctx, const char *key_id, struct pay_sig_pubkey *out)
{
    const struct one_key *k = ctx;
    if (strcmp(key_id, k->key_id) != 0)
        return PAY_ERR_SIGNATURE_INVALID;
    out->alg = PAY_SIG_ED25519;
    memcpy(out->ed25519, k->pk, sizeof k->pk);
    return PAY_ERR_OK;
}

int paygate_verify_response(const char *key_id, const char *public_key_b64, const char *header,
                            int status, const char *request_nonce, const void *body, size_t len,
                            int64_t now)
{
    struct one_key k = {.key_id = key_id};
    if (!key_id || !public_key_b64 || (!body && len) ||
        pay_ed25519_pk_from_text(k.pk, public_key_b64) != 0)
        return PAYGATE_ERR_ARG;
    struct pay_sig_verifier v = {.lookup = lookup_one, .ctx = &k};
    enum pay_err e =
        pay_sig_verify_response(&v, header, status, request_nonce ? request_nonce : "",
                                body ? body : "", len, now ? now : (int64_t)time(NULL), NULL, NULL);
    return e == PAY_ERR_OK ? PAYGATE_OK : pay_sdk_sig_status(e);
}
