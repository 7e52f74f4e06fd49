/* WebAuthn (passkeys: 指纹/人脸) checked on the server, after the W3C WebAuthn Level 2
 * "Registering a New Credential" (7.1) and "Verifying an Authentication Assertion" (7.2):
 * clientDataJSON (type, challenge, origin, not cross-origin), authenticator data (RP ID hash,
 * user present, user verified, signature counter), the attestation object (CBOR, format
 * "none"), the credential public key (COSE: ES256 on P-256, EdDSA on Ed25519) and the
 * assertion's signature over authenticatorData || SHA-256(clientDataJSON). CBOR by libcbor,
 * signatures by OpenSSL and libsodium. Storage, challenges and their expiry are the caller's
 * (docs/platform.md "Passkeys").
 *
 * Every refusal is PASSKEY_INVALID with the part in err->field (clientDataJSON,
 * attestationObject, authenticatorData, signature) and the failed check in err->detail. */
#ifndef PAY_CRYPTO_WEBAUTHN_H
#define PAY_CRYPTO_WEBAUTHN_H

#include "core/errors.h"
#include "core/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* COSE algorithm numbers the server accepts (IANA COSE Algorithms). */
#define PAY_WEBAUTHN_ES256 (-7)
#define PAY_WEBAUTHN_EDDSA (-8)
/* Room for a public key, fixed by the formats (not a policy): an uncompressed P-256 point
 * 0x04 || x || y (65), or Ed25519 (32). */
#define PAY_WEBAUTHN_PK_BYTES 65

/* Authenticator data flags (WebAuthn 6.1). */
#define PAY_WEBAUTHN_FLAG_UP 0x01 /* user present: touched */
#define PAY_WEBAUTHN_FLAG_UV 0x04 /* user verified: fingerprint, face or PIN */
#define PAY_WEBAUTHN_FLAG_AT 0x40 /* attested credential data included */
#define PAY_WEBAUTHN_FLAG_ED 0x80 /* extension data included */

/* What the server expects of a ceremony; borrowed. */
struct pay_webauthn_expect {
    const char *rp_id;     /* "pay.example.com": its SHA-256 must lead the authenticator data */
    const char *origin;    /* "https://pay.example.com": exactly clientDataJSON's origin */
    const char *challenge; /* base64url (unpadded) of the challenge bytes the server sent */
};

/* A registered credential. */
struct pay_webauthn_credential {
    uint8_t id[PAY_WEBAUTHN_CRED_ID_MAX];
    size_t id_len;
    int alg; /* PAY_WEBAUTHN_ES256 or PAY_WEBAUTHN_EDDSA */
    uint8_t public_key[PAY_WEBAUTHN_PK_BYTES];
    size_t public_key_len;
    uint32_t sign_count;
    uint8_t flags; /* of the registration's authenticator data */
};

/* Checks clientDataJSON (len bytes, UTF-8 JSON): type ("webauthn.create" or "webauthn.get"),
 * challenge, origin exactly, crossOrigin absent or false. */
enum pay_err pay_webauthn_client_data_check(const uint8_t *cdj, size_t len, const char *type,
                                            const struct pay_webauthn_expect *x,
                                            struct pay_error *err)
    __attribute__((warn_unused_result));

/* Registration (navigator.credentials.create): the attestation object (CBOR {fmt: "none",
 * attStmt: {}, authData}) and clientDataJSON. Checks the client data, the RP ID hash, flags
 * UP, UV and AT, the credential id (equal to raw_id, the id the browser reported) and its
 * public key (a COSE key of an accepted algorithm, a valid point). Fills *out. */
enum pay_err pay_webauthn_register(const uint8_t *att, size_t att_len, const uint8_t *cdj,
                                   size_t cdj_len, const uint8_t *raw_id, size_t raw_id_len,
                                   const struct pay_webauthn_expect *x,
                                   struct pay_webauthn_credential *out, struct pay_error *err)
    __attribute__((warn_unused_result));

/* Authentication (navigator.credentials.get): checks the client data, the authenticator data
 * (RP ID hash, UP, UV, no attested credential data) and the signature by the credential's key
 * (alg, pk of pk_len bytes). *sign_count gets the authenticator's counter (compare it with
 * pay_webauthn_counter_ok). */
enum pay_err pay_webauthn_assert(const uint8_t *auth_data, size_t ad_len, const uint8_t *cdj,
                                 size_t cdj_len, const uint8_t *sig, size_t sig_len,
                                 const struct pay_webauthn_expect *x, int alg, const uint8_t *pk,
                                 size_t pk_len, uint32_t *sign_count, struct pay_error *err)
    __attribute__((warn_unused_result));

/* The signature counter rule (WebAuthn 7.2 step 21): when either the stored or the new count is
 * not zero, the new one must be greater; otherwise the credential may have been cloned. Both
 * zero: an authenticator without a counter (synced passkeys), accepted. */
bool pay_webauthn_counter_ok(uint32_t stored, uint32_t now);

#endif
