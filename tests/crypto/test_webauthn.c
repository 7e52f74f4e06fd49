/* WebAuthn's server-side checks (crypto/webauthn.h) against credentials made here the way an
 * authenticator makes them: attestation objects and COSE keys built with libcbor, ES256
 * signatures by OpenSSL on P-256, EdDSA by libsodium. Each check is shown to hold (a good
 * registration and assertion of both algorithms) and to bite: client data of the wrong type,
 * challenge, origin or cross-origin; authenticator data for another RP, without UP, without UV,
 * cut short, with another credential id or bytes after the key; attestation formats other than
 * "none"; algorithms other than ES256 and EdDSA; a point off the curve; a signature by another
 * key or over other data; the counter rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "crypto/webauthn.h"

#define RP_ID     "pay.example.com"
#define ORIGIN    "https://pay.example.com"
#define CHALLENGE "q1Yv3b7oW2cYg1N0hW8m9kS0r2uXbT5sV9pZx1c2d3E"
#define UPUV      (PAY_WEBAUTHN_FLAG_UP | PAY_WEBAUTHN_FLAG_UV)

static const struct pay_webauthn_expect X = {RP_ID, ORIGIN, CHALLENGE};

/* An authenticator holding one credential. */
struct authn {
    int alg;
    EVP_PKEY *ec;
    struct pay_ed25519_key ed;
    uint8_t id[16];
    uint32_t count;
};

static void authn_new(struct authn *a, int alg)
{
    memset(a, 0, sizeof *a);
    a->alg = alg;
    pay_random_bytes(a->id, sizeof a->id);
    if (alg == PAY_WEBAUTHN_ES256) {
        a->ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        assert_non_null(a->ec);
    } else {
        pay_ed25519_generate(&a->ed);
    }
}

static void authn_free(struct authn *a)
{
    EVP_PKEY_free(a->ec);
}

/* The credential public key as a COSE_Key; *x_tamper flips a bit of x (off the curve). */
static cbor_item_t *cose(const struct authn *a, int alg_override, bool off_curve)
{
    cbor_item_t *m = cbor_new_definite_map(5);
    int alg = alg_override ? alg_override : a->alg;
    uint8_t pt[65];
    size_t n = 0;
    if (a->alg == PAY_WEBAUTHN_ES256) {
        assert_int_equal(
            EVP_PKEY_get_octet_string_param(a->ec, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &n), 1);
        assert_int_equal(n, 65);
        if (off_curve)
            pt[64] ^= 1;
    }
    bool ec = a->alg == PAY_WEBAUTHN_ES256;
    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_uint8(1)),
                                       cbor_move(cbor_build_uint8(ec ? 2 : 1))});
    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_uint8(3)),
                                       cbor_move(alg < 0 ? cbor_build_negint16((uint16_t)(-1 - alg))
                                                         : cbor_build_uint8((uint8_t)alg))});
    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_negint8(0)),
                                       cbor_move(cbor_build_uint8(ec ? 1 : 6))});
    cbor_map_add(m,
                 (struct cbor_pair){cbor_move(cbor_build_negint8(1)),
                                    cbor_move(cbor_build_bytestring(ec ? pt + 1 : a->ed.pk, 32))});
    if (ec)
        cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_negint8(2)),
                                           cbor_move(cbor_build_bytestring(pt + 33, 32))});
    return m;
}

/* Authenticator data: RP ID hash, flags, counter, and for a registration the attested
 * credential data (id, key) plus `extra` trailing bytes. Returns the length. */
static size_t auth_data(const struct authn *a, const char *rp_id, uint8_t flags, bool attested,
                        cbor_item_t *key, size_t extra, uint8_t *out)
{
    pay_sha256(out, rp_id, strlen(rp_id));
    out[32] = flags | (attested ? PAY_WEBAUTHN_FLAG_AT : 0);
    out[33] = (uint8_t)(a->count >> 24), out[34] = (uint8_t)(a->count >> 16);
    out[35] = (uint8_t)(a->count >> 8), out[36] = (uint8_t)a->count;
    size_t n = 37;
    if (!attested)
        return n;
    memset(out + n, 0xAA, 16); /* AAGUID */
    n += 16;
    out[n++] = 0, out[n++] = sizeof a->id;
    memcpy(out + n, a->id, sizeof a->id);
    n += sizeof a->id;
    unsigned char *buf = NULL;
    size_t size = 0, len = cbor_serialize_alloc(key, &buf, &size);
    memcpy(out + n, buf, len);
    free(buf);
    n += len;
    memset(out + n, 0, extra);
    return n + extra;
}

/* The attestation object {fmt, attStmt, authData}; returns its length in out. */
static size_t attestation(const char *fmt, bool stmt, const uint8_t *ad, size_t ad_len,
                          uint8_t *out, size_t size)
{
    cbor_item_t *m = cbor_new_definite_map(3), *st = cbor_new_definite_map(1);
    if (stmt)
        cbor_map_add(st, (struct cbor_pair){cbor_move(cbor_build_string("alg")),
                                            cbor_move(cbor_build_negint8(6))});
    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("fmt")),
                                       cbor_move(cbor_build_string(fmt))});
    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("attStmt")), cbor_move(st)});
    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("authData")),
                                       cbor_move(cbor_build_bytestring(ad, ad_len))});
    size_t n = cbor_serialize(m, out, size);
    cbor_decref(&m);
    assert_true(n > 0);
    return n;
}

static size_t client_data(const char *type, const char *challenge, const char *origin,
                          const char *extra, char *out, size_t size)
{
    return (size_t)snprintf(out, size, "{\"type\":\"%s\",\"challenge\":\"%s\",\"origin\":\"%s\"%s}",
                            type, challenge, origin, extra ? extra : "");
}

/* A registration made from these parts; returns the result, *cred filled. */
static enum pay_err reg(struct authn *a, const char *fmt, const char *rp_id, uint8_t flags,
                        int alg_override, bool off_curve, size_t extra, const char *cd,
                        struct pay_webauthn_credential *cred, struct pay_error *err)
{
    uint8_t ad[1024], att[2048];
    char cdj[512];
    cbor_item_t *key = cose(a, alg_override, off_curve);
    size_t ad_len = auth_data(a, rp_id, flags, true, key, extra, ad);
    cbor_decref(&key);
    size_t att_len = attestation(fmt, false, ad, ad_len, att, sizeof att);
    size_t cd_len =
        cd ? strlen(cd) : client_data("webauthn.create", CHALLENGE, ORIGIN, NULL, cdj, sizeof cdj);
    memset(err, 0, sizeof *err);
    return pay_webauthn_register(att, att_len, (const uint8_t *)(cd ? cd : cdj), cd_len, a->id,
                                 sizeof a->id, &X, cred, err);
}

static size_t sign(const struct authn *a, const uint8_t *msg, size_t len, uint8_t *sig)
{
    if (a->alg == PAY_WEBAUTHN_EDDSA) {
        pay_ed25519_sign(sig, msg, len, &a->ed);
        return PAY_ED25519_SIG_LEN;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t n = 128;
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, a->ec), 1);
    assert_int_equal(EVP_DigestSign(ctx, sig, &n, msg, len), 1);
    EVP_MD_CTX_free(ctx);
    return n;
}

/* An assertion by a (or signed by `signer` when not NULL) over these parts, checked against
 * cred. */
static enum pay_err assert_by(struct authn *a, const struct authn *signer, const char *rp_id,
                              uint8_t flags, const char *cd, bool tamper,
                              const struct pay_webauthn_credential *cred, uint32_t *count,
                              struct pay_error *err)
{
    uint8_t ad[64], msg[64 + 32], sig[128];
    char cdj[512];
    size_t ad_len = auth_data(a, rp_id, flags, false, NULL, 0, ad);
    size_t cd_len =
        cd ? strlen(cd) : client_data("webauthn.get", CHALLENGE, ORIGIN, NULL, cdj, sizeof cdj);
    const uint8_t *c = (const uint8_t *)(cd ? cd : cdj);
    memcpy(msg, ad, ad_len);
    pay_sha256(msg + ad_len, c, cd_len);
    size_t sig_len = sign(signer ? signer : a, msg, ad_len + 32, sig);
    if (tamper)
        ad[36] ^= 1; /* the counter changed after signing */
    memset(err, 0, sizeof *err);
    return pay_webauthn_assert(ad, ad_len, c, cd_len, sig, sig_len, &X, cred->alg, cred->public_key,
                               cred->public_key_len, count, err);
}

static void good(int alg)
{
    struct authn a;
    authn_new(&a, alg);
    struct pay_webauthn_credential cred;
    struct pay_error err;
    assert_int_equal(reg(&a, "none", RP_ID, UPUV, 0, false, 0, NULL, &cred, &err), PAY_ERR_OK);
    assert_int_equal(cred.alg, alg);
    assert_int_equal(cred.public_key_len, alg == PAY_WEBAUTHN_ES256 ? 65 : 32);
    assert_int_equal(cred.id_len, sizeof a.id);
    assert_memory_equal(cred.id, a.id, sizeof a.id);
    uint32_t count = 99;
    a.count = 7;
    assert_int_equal(assert_by(&a, NULL, RP_ID, UPUV, NULL, false, &cred, &count, &err),
                     PAY_ERR_OK);
    assert_int_equal(count, 7);
    /* a signature by another key, or over changed data */
    struct authn other;
    authn_new(&other, alg);
    assert_int_equal(assert_by(&a, &other, RP_ID, UPUV, NULL, false, &cred, &count, &err),
                     PAY_ERR_PASSKEY_INVALID);
    assert_string_equal(err.field, "signature");
    assert_int_equal(assert_by(&a, NULL, RP_ID, UPUV, NULL, true, &cred, &count, &err),
                     PAY_ERR_PASSKEY_INVALID);
    assert_string_equal(err.field, "signature");
    authn_free(&other);
    authn_free(&a);
}

static void es256(void **state)
{
    (void)state;
    good(PAY_WEBAUTHN_ES256);
}

static void eddsa(void **state)
{
    (void)state;
    good(PAY_WEBAUTHN_EDDSA);
}

static void expect_refused(enum pay_err e, const struct pay_error *err, const char *field,
                           const char *detail)
{
    assert_int_equal(e, PAY_ERR_PASSKEY_INVALID);
    assert_string_equal(err->field, field);
    if (!strstr(err->detail, detail))
        print_error("detail \"%s\" lacks \"%s\"\n", err->detail, detail);
    assert_non_null(strstr(err->detail, detail));
}

static void client_data_checks(void **state)
{
    (void)state;
    struct authn a;
    authn_new(&a, PAY_WEBAUTHN_ES256);
    struct pay_webauthn_credential cred;
    struct pay_error err;
    char cd[512];
    client_data("webauthn.get", CHALLENGE, ORIGIN, NULL, cd, sizeof cd);
    expect_refused(reg(&a, "none", RP_ID, UPUV, 0, false, 0, cd, &cred, &err), &err,
                   "clientDataJSON", "type webauthn.get is not webauthn.create");
    client_data("webauthn.create", "AAAA" CHALLENGE, ORIGIN, NULL, cd, sizeof cd);
    expect_refused(reg(&a, "none", RP_ID, UPUV, 0, false, 0, cd, &cred, &err), &err,
                   "clientDataJSON", "challenge");
    client_data("webauthn.create", CHALLENGE, "https://pay.example.com.evil.cn", NULL, cd,
                sizeof cd);
    expect_refused(reg(&a, "none", RP_ID, UPUV, 0, false, 0, cd, &cred, &err), &err,
                   "clientDataJSON", "origin https://pay.example.com.evil.cn is not");
    client_data("webauthn.create", CHALLENGE, "http://pay.example.com", NULL, cd, sizeof cd);
    expect_refused(reg(&a, "none", RP_ID, UPUV, 0, false, 0, cd, &cred, &err), &err,
                   "clientDataJSON", "origin http://pay.example.com is not");
    client_data("webauthn.create", CHALLENGE, ORIGIN, ",\"crossOrigin\":true", cd, sizeof cd);
    expect_refused(reg(&a, "none", RP_ID, UPUV, 0, false, 0, cd, &cred, &err), &err,
                   "clientDataJSON", "cross-origin");
    expect_refused(reg(&a, "none", RP_ID, UPUV, 0, false, 0, "[1,2]", &cred, &err), &err,
                   "clientDataJSON", "not a JSON object");
    client_data("webauthn.create", CHALLENGE, ORIGIN, ",\"crossOrigin\":false", cd, sizeof cd);
    assert_int_equal(reg(&a, "none", RP_ID, UPUV, 0, false, 0, cd, &cred, &err), PAY_ERR_OK);
    /* and for an assertion: its own type */
    uint32_t count;
    client_data("webauthn.create", CHALLENGE, ORIGIN, NULL, cd, sizeof cd);
    expect_refused(assert_by(&a, NULL, RP_ID, UPUV, cd, false, &cred, &count, &err), &err,
                   "clientDataJSON", "type webauthn.create is not webauthn.get");
    authn_free(&a);
}

static void auth_data_checks(void **state)
{
    (void)state;
    struct authn a;
    authn_new(&a, PAY_WEBAUTHN_ES256);
    struct pay_webauthn_credential cred;
    struct pay_error err;
    uint32_t count;
    expect_refused(reg(&a, "none", "evil.example.com", UPUV, 0, false, 0, NULL, &cred, &err), &err,
                   "authenticatorData", "RP ID hash");
    expect_refused(reg(&a, "none", RP_ID, PAY_WEBAUTHN_FLAG_UV, 0, false, 0, NULL, &cred, &err),
                   &err, "authenticatorData", "not present");
    expect_refused(reg(&a, "none", RP_ID, PAY_WEBAUTHN_FLAG_UP, 0, false, 0, NULL, &cred, &err),
                   &err, "authenticatorData", "not verified");
    expect_refused(reg(&a, "none", RP_ID, UPUV, 0, false, 3, NULL, &cred, &err), &err,
                   "authenticatorData", "bytes after the public key");
    assert_int_equal(reg(&a, "none", RP_ID, UPUV, 0, false, 0, NULL, &cred, &err), PAY_ERR_OK);
    expect_refused(assert_by(&a, NULL, "evil.example.com", UPUV, NULL, false, &cred, &count, &err),
                   &err, "authenticatorData", "RP ID hash");
    expect_refused(
        assert_by(&a, NULL, RP_ID, PAY_WEBAUTHN_FLAG_UP, NULL, false, &cred, &count, &err), &err,
        "authenticatorData", "not verified");
    expect_refused(
        assert_by(&a, NULL, RP_ID, PAY_WEBAUTHN_FLAG_UV, NULL, false, &cred, &count, &err), &err,
        "authenticatorData", "not present");
    /* another credential id than the browser reported */
    uint8_t ad[1024], att[2048];
    char cd[256];
    cbor_item_t *key = cose(&a, 0, false);
    size_t ad_len = auth_data(&a, RP_ID, UPUV, true, key, 0, ad);
    cbor_decref(&key);
    size_t att_len = attestation("none", false, ad, ad_len, att, sizeof att);
    size_t cd_len = client_data("webauthn.create", CHALLENGE, ORIGIN, NULL, cd, sizeof cd);
    uint8_t other_id[16] = {1};
    memset(&err, 0, sizeof err);
    expect_refused(pay_webauthn_register(att, att_len, (uint8_t *)cd, cd_len, other_id,
                                         sizeof other_id, &X, &cred, &err),
                   &err, "authenticatorData", "not the one reported");
    /* cut short: no attested data although AT is set */
    att_len = attestation("none", false, ad, 40, att, sizeof att);
    memset(&err, 0, sizeof err);
    expect_refused(pay_webauthn_register(att, att_len, (uint8_t *)cd, cd_len, a.id, sizeof a.id, &X,
                                         &cred, &err),
                   &err, "authenticatorData", "cut short");
    authn_free(&a);
}

static void attestation_checks(void **state)
{
    (void)state;
    struct authn a;
    authn_new(&a, PAY_WEBAUTHN_ES256);
    struct pay_webauthn_credential cred;
    struct pay_error err;
    expect_refused(reg(&a, "packed", RP_ID, UPUV, 0, false, 0, NULL, &cred, &err), &err,
                   "attestationObject", "not \"none\"");
    expect_refused(reg(&a, "none", RP_ID, UPUV, -257, false, 0, NULL, &cred, &err), &err,
                   "attestationObject", "algorithm -257");
    expect_refused(reg(&a, "none", RP_ID, UPUV, 0, true, 0, NULL, &cred, &err), &err,
                   "attestationObject", "not a point of P-256");
    /* a statement with "none", and bytes that are not CBOR */
    uint8_t ad[1024], att[2048];
    char cd[256];
    cbor_item_t *key = cose(&a, 0, false);
    size_t ad_len = auth_data(&a, RP_ID, UPUV, true, key, 0, ad);
    cbor_decref(&key);
    size_t att_len = attestation("none", true, ad, ad_len, att, sizeof att);
    size_t cd_len = client_data("webauthn.create", CHALLENGE, ORIGIN, NULL, cd, sizeof cd);
    memset(&err, 0, sizeof err);
    expect_refused(pay_webauthn_register(att, att_len, (uint8_t *)cd, cd_len, a.id, sizeof a.id, &X,
                                         &cred, &err),
                   &err, "attestationObject", "with a statement");
    memset(&err, 0, sizeof err);
    expect_refused(pay_webauthn_register((const uint8_t *)"\xff\x00", 2, (uint8_t *)cd, cd_len,
                                         a.id, sizeof a.id, &X, &cred, &err),
                   &err, "attestationObject", "not one CBOR item");
    authn_free(&a);
    /* an EdDSA key offered as ES256 */
    authn_new(&a, PAY_WEBAUTHN_EDDSA);
    expect_refused(reg(&a, "none", RP_ID, UPUV, PAY_WEBAUTHN_ES256, false, 0, NULL, &cred, &err),
                   &err, "attestationObject", "algorithm -7 (key type 1, curve 6)");
    authn_free(&a);
}

static void counter_rule(void **state)
{
    (void)state;
    assert_true(pay_webauthn_counter_ok(0, 0)); /* no counter at all (synced passkeys) */
    assert_true(pay_webauthn_counter_ok(0, 1));
    assert_true(pay_webauthn_counter_ok(5, 6));
    assert_false(pay_webauthn_counter_ok(5, 5)); /* the same signature count twice */
    assert_false(pay_webauthn_counter_ok(5, 4)); /* a copy that started again */
    assert_false(pay_webauthn_counter_ok(5, 0));
}

int main(void)
{
    assert_int_equal(pay_crypto_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(es256),
        cmocka_unit_test(eddsa),
        cmocka_unit_test(client_data_checks),
        cmocka_unit_test(auth_data_checks),
        cmocka_unit_test(attestation_checks),
        cmocka_unit_test(counter_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
