/* X.509 for the bank as a small certificate authority (docs/bank.md): the bank makes a
 * CA, issues each merchant a certificate whose subject CN is the merchant id (merID), and
 * checks the certificate a merchant presents with its signed order (merCert + merSignMsg).
 * Revocation is the bank's own table keyed by serial number; this code reports the serial.
 * All PEM strings are NUL-terminated text. */
#ifndef PAY_CRYPTO_X509_H
#define PAY_CRYPTO_X509_H

#include <stddef.h>
#include <stdint.h>

#include "core/errors.h"
#include "core/limits.h"

enum pay_x509_key_type {
    PAY_X509_KEY_RSA2048, /* what banks issue; merSignMsg is RSA-SHA256 */
    PAY_X509_KEY_ED25519,
};

/* A certificate and its private key, both PEM, heap-allocated; pay_x509_pair_fini wipes and
 * frees both. */
struct pay_x509_pair {
    char *cert_pem;
    char *key_pem;
    char serial_hex[PAY_X509_SERIAL_HEX_MAX];
};
void pay_x509_pair_fini(struct pay_x509_pair *p);

/* Creates a self-signed CA certificate (basicConstraints CA:TRUE, keyCertSign) with an
 * RSA-2048 key, subject CN=cn, O=org, valid from now for days. 0 or an error (FIELD_INVALID
 * for bad names/days, INTERNAL). */
enum pay_err pay_x509_ca_create(const char *cn, const char *org, int days,
                                struct pay_x509_pair *out, struct pay_error *e);

/* Issues a certificate for merchant mer_id (subject CN=mer_id, O=org; CA:FALSE,
 * digitalSignature) valid from now for days, with a new key pair of type kt, signed by the CA
 * (PEM cert and key). The serial is random. out receives cert, key and serial. */
enum pay_err pay_x509_issue(const char *ca_cert_pem, const char *ca_key_pem, const char *mer_id,
                            const char *org, int days, enum pay_x509_key_type kt,
                            struct pay_x509_pair *out, struct pay_error *e);

/* Checks a presented certificate: issued by ca_cert_pem (signature chain), valid at now
 * (Unix seconds), not a CA, and its subject CN equals expected_cn exactly. On success
 * returns PAY_ERR_OK and writes the serial (lowercase hex) to serial_out if not NULL; else
 * PAY_ERR_CERT_INVALID with the reason in e->detail. The caller checks its revocation list
 * with the serial afterwards (PAY_ERR_CERT_REVOKED is the caller's to return). */
enum pay_err pay_x509_verify(const char *cert_pem, const char *ca_cert_pem, const char *expected_cn,
                             int64_t now, char serial_out[PAY_X509_SERIAL_HEX_MAX],
                             struct pay_error *e) __attribute__((warn_unused_result));

/* Serial number and subject CN of a certificate without verifying it (for display/logs). */
int pay_x509_info(const char *cert_pem, char serial_out[PAY_X509_SERIAL_HEX_MAX],
                  char cn_out[PAY_X509_NAME_MAX + 1]) __attribute__((warn_unused_result));

/* The public key of a certificate as SPKI PEM text (for the signed-request verifier, which
 * takes keys, not certificates). Heap, caller frees; NULL when unreadable. Does not verify the
 * certificate: check it with pay_x509_verify first. */
char *pay_x509_public_pem(const char *cert_pem);

/* Signs data with a certificate's private key (PEM): RSA-SHA256 (PKCS#1 v1.5) for RSA keys,
 * Ed25519 for Ed25519 keys. The signature is written as standard base64 text (merSignMsg).
 * Returns 0 or -1 (bad key, buffer too small: 1024 bytes is always enough). */
int pay_x509_sign(const char *key_pem, const void *data, size_t len, char *sig_b64, size_t sig_size)
    __attribute__((warn_unused_result));

/* Verifies a base64 signature of data against the public key in cert_pem (which the caller
 * has checked with pay_x509_verify). Returns 0 when valid, else -1. */
int pay_x509_verify_data(const char *cert_pem, const void *data, size_t len, const char *sig_b64)
    __attribute__((warn_unused_result));

#endif
