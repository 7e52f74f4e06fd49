/* WebAuthn's server-side checks (webauthn.h): clientDataJSON, authenticator data, the
 * attestation object and COSE keys (libcbor), and the assertion's signature (OpenSSL for
 * ES256, libsodium for EdDSA). */
#include "crypto/webauthn.h"

#include "crypto/crypto.h"
#include "crypto/internal.h"
#include "crypto/sign.h"

#include <cbor.h>
#include <jansson.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#define RP_HASH_LEN      32
#define AUTH_DATA_MIN    (RP_HASH_LEN + 1 + 4) /* rpIdHash, flags, signCount */
#define AAGUID_LEN       16
#define COORD_LEN        32 /* P-256 coordinates and Ed25519 keys */
#define COSE_KTY_OKP     1
#define COSE_KTY_EC2     2
#define COSE_CRV_P256    1
#define COSE_CRV_ED25519 6

static enum pay_err bad(struct pay_error *err, const char *part, const char *why)
{
    return pay_error_set(err, PAY_ERR_PASSKEY_INVALID, part, "%s", why);
}

/* --- clientDataJSON ---------------------------------------------------------------------- */

enum pay_err pay_webauthn_client_data_check(const uint8_t *cdj, size_t len, const char *type,
                                            const struct pay_webauthn_expect *x,
                                            struct pay_error *err)
{
    if (len == 0 || len > PAY_WEBAUTHN_CLIENT_DATA_MAX)
        return bad(err, "clientDataJSON", "empty or too long");
    json_t *o = json_loadb((const char *)cdj, len, JSON_REJECT_DUPLICATES, NULL);
    const char *t = json_string_value(json_object_get(o, "type"));
    const char *ch = json_string_value(json_object_get(o, "challenge"));
    const char *origin = json_string_value(json_object_get(o, "origin"));
    json_t *cross = json_object_get(o, "crossOrigin");
    enum pay_err e = PAY_ERR_OK;
    if (!json_is_object(o))
        e = bad(err, "clientDataJSON", "not a JSON object");
    else if (!t || strcmp(t, type) != 0)
        e = pay_error_set(err, PAY_ERR_PASSKEY_INVALID, "clientDataJSON", "type %s is not %s",
                          t ? t : "(none)", type);
    else if (!ch || strlen(ch) != strlen(x->challenge) ||
             !pay_ct_equal(ch, x->challenge, strlen(ch)))
        e = bad(err, "clientDataJSON", "the challenge is not the one sent");
    else if (!origin || strcmp(origin, x->origin) != 0)
        e = pay_error_set(err, PAY_ERR_PASSKEY_INVALID, "clientDataJSON", "origin %.100s is not %s",
                          origin ? origin : "(none)", x->origin);
    else if (cross && !json_is_false(cross))
        e = bad(err, "clientDataJSON", "a cross-origin (framed) ceremony");
    json_decref(o);
    return e;
}

/* --- authenticator data ------------------------------------------------------------------ */

struct auth_data {
    uint8_t flags;
    uint32_t sign_count;
    const uint8_t *rest; /* after signCount: attested credential data, extensions */
    size_t rest_len;
};

/* The fixed part, the RP ID hash and the flags every ceremony requires (UP and UV: the
 * fingerprint or face that replaces the payment password). */
static enum pay_err auth_data_parse(const uint8_t *ad, size_t len, const char *rp_id,
                                    struct auth_data *out, struct pay_error *err)
{
    if (len < AUTH_DATA_MIN || len > PAY_WEBAUTHN_AUTH_DATA_MAX)
        return bad(err, "authenticatorData", "shorter than 37 bytes or too long");
    uint8_t want[RP_HASH_LEN];
    pay_sha256(want, rp_id, strlen(rp_id));
    if (!pay_ct_equal(ad, want, RP_HASH_LEN))
        return pay_error_set(err, PAY_ERR_PASSKEY_INVALID, "authenticatorData",
                             "the RP ID hash is not SHA-256(\"%s\")", rp_id);
    out->flags = ad[RP_HASH_LEN];
    out->sign_count =
        (uint32_t)ad[33] << 24 | (uint32_t)ad[34] << 16 | (uint32_t)ad[35] << 8 | (uint32_t)ad[36];
    out->rest = ad + AUTH_DATA_MIN;
    out->rest_len = len - AUTH_DATA_MIN;
    if (!(out->flags & PAY_WEBAUTHN_FLAG_UP))
        return bad(err, "authenticatorData", "the user was not present (flag UP)");
    if (!(out->flags & PAY_WEBAUTHN_FLAG_UV))
        return bad(err, "authenticatorData",
                   "the user was not verified (flag UV: fingerprint, face or PIN)");
    return PAY_ERR_OK;
}

bool pay_webauthn_counter_ok(uint32_t stored, uint32_t now)
{
    return (stored == 0 && now == 0) || now > stored;
}

/* --- COSE keys ------------------------------------------------------------------------------- */

/* The value of integer key k in a CBOR map, or NULL. */
static cbor_item_t *map_get_int(cbor_item_t *map, int64_t k)
{
    struct cbor_pair *p = cbor_map_handle(map);
    for (size_t i = 0; i < cbor_map_size(map); i++) {
        cbor_item_t *key = p[i].key;
        int64_t v;
        if (cbor_isa_uint(key))
            v = (int64_t)cbor_get_int(key);
        else if (cbor_isa_negint(key))
            v = -1 - (int64_t)cbor_get_int(key);
        else
            continue;
        if (v == k)
            return p[i].value;
    }
    return NULL;
}

/* An integer item's value into *v (false when it is not a small integer). */
static bool int_of(cbor_item_t *it, int64_t *v)
{
    if (!it || !(cbor_isa_uint(it) || cbor_isa_negint(it)) || cbor_get_int(it) > INT32_MAX)
        return false;
    if (cbor_isa_uint(it))
        *v = (int64_t)cbor_get_int(it);
    else if (cbor_isa_negint(it))
        *v = -1 - (int64_t)cbor_get_int(it);
    else
        return false;
    return true;
}

static bool bytes_of(cbor_item_t *it, size_t want, const uint8_t **p)
{
    if (!it || !cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it) ||
        cbor_bytestring_length(it) != want)
        return false;
    *p = cbor_bytestring_handle(it);
    return true;
}

/* ES256 on P-256 from an uncompressed point; checked to be on the curve. NULL if not. */
static EVP_PKEY *p256_key(const uint8_t pk[PAY_WEBAUTHN_PK_BYTES])
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (b && ctx &&
        OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pk, PAY_WEBAUTHN_PK_BYTES) ==
            1 &&
        (params = OSSL_PARAM_BLD_to_param(b)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1) {
        EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
        if (!check || EVP_PKEY_public_check(check) != 1) {
            EVP_PKEY_free(key);
            key = NULL;
        }
        EVP_PKEY_CTX_free(check);
    }
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return key;
}

/* The credential public key, a COSE_Key map: ES256 (kty 2, crv 1, x, y) or EdDSA (kty 1,
 * crv 6, x). Other algorithms are refused: the options offered only these two. */
static enum pay_err cose_key(cbor_item_t *map, struct pay_webauthn_credential *c,
                             struct pay_error *err)
{
    int64_t kty = 0, alg = 0, crv = 0;
    const uint8_t *x = NULL, *y = NULL;
    if (!cbor_isa_map(map) || !int_of(map_get_int(map, 1), &kty) ||
        !int_of(map_get_int(map, 3), &alg) || !int_of(map_get_int(map, -1), &crv))
        return bad(err, "attestationObject", "the public key is not a COSE key");
    if (alg == PAY_WEBAUTHN_ES256 && kty == COSE_KTY_EC2 && crv == COSE_CRV_P256 &&
        bytes_of(map_get_int(map, -2), COORD_LEN, &x) &&
        bytes_of(map_get_int(map, -3), COORD_LEN, &y)) {
        c->public_key[0] = 0x04;
        memcpy(c->public_key + 1, x, COORD_LEN);
        memcpy(c->public_key + 1 + COORD_LEN, y, COORD_LEN);
        c->public_key_len = PAY_WEBAUTHN_PK_BYTES;
        EVP_PKEY *k = p256_key(c->public_key);
        if (!k)
            return bad(err, "attestationObject", "the ES256 key is not a point of P-256");
        EVP_PKEY_free(k);
    } else if (alg == PAY_WEBAUTHN_EDDSA && kty == COSE_KTY_OKP && crv == COSE_CRV_ED25519 &&
               bytes_of(map_get_int(map, -2), COORD_LEN, &x)) {
        memcpy(c->public_key, x, COORD_LEN);
        c->public_key_len = COORD_LEN;
    } else {
        return pay_error_set(err, PAY_ERR_PASSKEY_INVALID, "attestationObject",
                             "algorithm %lld (key type %lld, curve %lld) is not ES256 or EdDSA",
                             (long long)alg, (long long)kty, (long long)crv);
    }
    c->alg = (int)alg;
    return PAY_ERR_OK;
}

/* --- registration ---------------------------------------------------------------------------- */

/* The value of text key k in a CBOR map, or NULL. */
static cbor_item_t *map_get_text(cbor_item_t *map, const char *k)
{
    struct cbor_pair *p = cbor_map_handle(map);
    size_t n = strlen(k);
    for (size_t i = 0; i < cbor_map_size(map); i++)
        if (cbor_isa_string(p[i].key) && cbor_string_is_definite(p[i].key) &&
            cbor_string_length(p[i].key) == n && memcmp(cbor_string_handle(p[i].key), k, n) == 0)
            return p[i].value;
    return NULL;
}

/* The attested credential data after the fixed part: AAGUID, id length and id, then the COSE
 * key, which must end the data (extensions are not asked for, so none may follow). */
static enum pay_err attested(const struct auth_data *a, const uint8_t *raw_id, size_t raw_id_len,
                             struct pay_webauthn_credential *c, struct pay_error *err)
{
    if (!(a->flags & PAY_WEBAUTHN_FLAG_AT) || (a->flags & PAY_WEBAUTHN_FLAG_ED))
        return bad(err, "authenticatorData", "no attested credential data, or extensions");
    if (a->rest_len < AAGUID_LEN + 2)
        return bad(err, "authenticatorData", "the attested credential data is cut short");
    const uint8_t *p = a->rest + AAGUID_LEN;
    size_t id_len = (size_t)p[0] << 8 | p[1], left = a->rest_len - AAGUID_LEN - 2;
    if (id_len == 0 || id_len > PAY_WEBAUTHN_CRED_ID_MAX || id_len > left)
        return bad(err, "authenticatorData", "the credential id's length is out of bounds");
    if (id_len != raw_id_len || memcmp(p + 2, raw_id, id_len) != 0)
        return bad(err, "authenticatorData", "the credential id is not the one reported");
    memcpy(c->id, p + 2, id_len);
    c->id_len = id_len;
    struct cbor_load_result r;
    cbor_item_t *key = cbor_load(p + 2 + id_len, left - id_len, &r);
    enum pay_err e = PAY_ERR_OK;
    if (!key || r.error.code != CBOR_ERR_NONE)
        e = bad(err, "authenticatorData", "the public key is not CBOR");
    else if (r.read != left - id_len)
        e = bad(err, "authenticatorData", "bytes after the public key");
    else
        e = cose_key(key, c, err);
    if (key)
        cbor_decref(&key);
    return e;
}

/* The attestation object {fmt, attStmt, authData}: only "none" (the options ask for no
 * attestation: paygate trusts the consumer's own device, not its maker). */
static enum pay_err attestation(cbor_item_t *o, const uint8_t **ad, size_t *ad_len,
                                struct pay_error *err)
{
    if (!cbor_isa_map(o))
        return bad(err, "attestationObject", "not a CBOR map");
    cbor_item_t *fmt = map_get_text(o, "fmt"), *st = map_get_text(o, "attStmt"),
                *data = map_get_text(o, "authData");
    if (!fmt || !cbor_isa_string(fmt) || !cbor_string_is_definite(fmt) ||
        cbor_string_length(fmt) != 4 || memcmp(cbor_string_handle(fmt), "none", 4) != 0)
        return bad(err, "attestationObject", "the attestation format is not \"none\"");
    if (!st || !cbor_isa_map(st) || cbor_map_size(st) != 0)
        return bad(err, "attestationObject", "a \"none\" attestation with a statement");
    if (!data || !cbor_isa_bytestring(data) || !cbor_bytestring_is_definite(data))
        return bad(err, "attestationObject", "no authData");
    *ad = cbor_bytestring_handle(data);
    *ad_len = cbor_bytestring_length(data);
    return PAY_ERR_OK;
}

enum pay_err pay_webauthn_register(const uint8_t *att, size_t att_len, const uint8_t *cdj,
                                   size_t cdj_len, const uint8_t *raw_id, size_t raw_id_len,
                                   const struct pay_webauthn_expect *x,
                                   struct pay_webauthn_credential *out, struct pay_error *err)
{
    memset(out, 0, sizeof *out);
    enum pay_err e = pay_webauthn_client_data_check(cdj, cdj_len, "webauthn.create", x, err);
    if (e != PAY_ERR_OK)
        return e;
    if (att_len == 0 || att_len > PAY_WEBAUTHN_ATTESTATION_MAX)
        return bad(err, "attestationObject", "empty or too long");
    struct cbor_load_result r;
    cbor_item_t *o = cbor_load(att, att_len, &r);
    if (!o || r.error.code != CBOR_ERR_NONE || r.read != att_len) {
        if (o)
            cbor_decref(&o);
        return bad(err, "attestationObject", "not one CBOR item");
    }
    const uint8_t *ad = NULL;
    size_t ad_len = 0;
    struct auth_data a;
    if ((e = attestation(o, &ad, &ad_len, err)) == PAY_ERR_OK &&
        (e = auth_data_parse(ad, ad_len, x->rp_id, &a, err)) == PAY_ERR_OK &&
        (e = attested(&a, raw_id, raw_id_len, out, err)) == PAY_ERR_OK) {
        out->sign_count = a.sign_count;
        out->flags = a.flags;
    }
    cbor_decref(&o);
    return e;
}

/* --- authentication -------------------------------------------------------------------------- */

static bool signature_ok(int alg, const uint8_t *pk, size_t pk_len, const uint8_t *msg, size_t len,
                         const uint8_t *sig, size_t sig_len)
{
    if (alg == PAY_WEBAUTHN_EDDSA)
        return pk_len == PAY_ED25519_PK_LEN && sig_len == PAY_ED25519_SIG_LEN &&
               pay_ed25519_verify(sig, msg, len, pk) == 0;
    if (alg != PAY_WEBAUTHN_ES256 || pk_len != PAY_WEBAUTHN_PK_BYTES)
        return false;
    EVP_PKEY *key = p256_key(pk);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = key && ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
              EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1; /* DER ECDSA-Sig-Value */
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return ok;
}

enum pay_err pay_webauthn_assert(const uint8_t *auth_data, size_t ad_len, const uint8_t *cdj,
                                 size_t cdj_len, const uint8_t *sig, size_t sig_len,
                                 const struct pay_webauthn_expect *x, int alg, const uint8_t *pk,
                                 size_t pk_len, uint32_t *sign_count, struct pay_error *err)
{
    *sign_count = 0;
    struct auth_data a;
    enum pay_err e = pay_webauthn_client_data_check(cdj, cdj_len, "webauthn.get", x, err);
    if (e == PAY_ERR_OK)
        e = auth_data_parse(auth_data, ad_len, x->rp_id, &a, err);
    if (e != PAY_ERR_OK)
        return e;
    if (a.flags & PAY_WEBAUTHN_FLAG_AT)
        return bad(err, "authenticatorData", "attested credential data in an assertion");
    /* signed: authenticatorData || SHA-256(clientDataJSON) */
    uint8_t msg[PAY_WEBAUTHN_AUTH_DATA_MAX + PAY_SHA256_LEN];
    memcpy(msg, auth_data, ad_len);
    pay_sha256(msg + ad_len, cdj, cdj_len);
    if (sig_len == 0 || sig_len > 256 ||
        !signature_ok(alg, pk, pk_len, msg, ad_len + PAY_SHA256_LEN, sig, sig_len))
        return bad(err, "signature", "not made by this passkey over this data");
    *sign_count = a.sign_count;
    return PAY_ERR_OK;
}
