/* Digital signatures: Ed25519 (libsodium; paygate's default) and RSA-SHA256 (OpenSSL 3,
 * PKCS#1 v1.5; for merchants and banks that need RSA). Keys as text for config files and
 * database columns, and as files. */
#ifndef PAY_CRYPTO_SIGN_H
#define PAY_CRYPTO_SIGN_H

#include "core/limits.h"

#include <stddef.h>
#include <stdint.h>

#define PAY_ED25519_PK_LEN   32
#define PAY_ED25519_SK_LEN   64 /* libsodium form: seed || public key */
#define PAY_ED25519_SEED_LEN 32
#define PAY_ED25519_SIG_LEN  64
/* Text form of a public key or seed: standard base64 with padding, 44 chars + NUL. */
#define PAY_ED25519_KEY_TEXT_LEN 45

/* An Ed25519 key pair; caller-owned storage. Wipe it with pay_ed25519_key_fini. */
struct pay_ed25519_key {
    uint8_t pk[PAY_ED25519_PK_LEN];
    uint8_t sk[PAY_ED25519_SK_LEN];
};

void pay_ed25519_generate(struct pay_ed25519_key *k);
/* Derives the key pair from a 32-byte seed (deterministic; used for test vectors). */
void pay_ed25519_from_seed(struct pay_ed25519_key *k, const uint8_t seed[PAY_ED25519_SEED_LEN]);
void pay_ed25519_key_fini(struct pay_ed25519_key *k); /* wipes */

void pay_ed25519_sign(uint8_t sig[PAY_ED25519_SIG_LEN], const void *msg, size_t len,
                      const struct pay_ed25519_key *k);
/* Returns 0 when sig is a valid signature of msg by pk, else -1. */
int pay_ed25519_verify(const uint8_t sig[PAY_ED25519_SIG_LEN], const void *msg, size_t len,
                       const uint8_t pk[PAY_ED25519_PK_LEN]) __attribute__((warn_unused_result));

/* Public key <-> base64 text (44 chars). from_text returns 0 or -1 (bad text). */
void pay_ed25519_pk_to_text(char out[PAY_ED25519_KEY_TEXT_LEN],
                            const uint8_t pk[PAY_ED25519_PK_LEN]);
int pay_ed25519_pk_from_text(uint8_t pk[PAY_ED25519_PK_LEN], const char *text)
    __attribute__((warn_unused_result));
/* Secret key <-> base64 text of its 32-byte seed (keep it secret: config with mode 0600). */
void pay_ed25519_sk_to_text(char out[PAY_ED25519_KEY_TEXT_LEN], const struct pay_ed25519_key *k);
int pay_ed25519_sk_from_text(struct pay_ed25519_key *k, const char *text)
    __attribute__((warn_unused_result));

/* Key files in standard PEM (PKCS#8 "PRIVATE KEY" / SPKI "PUBLIC KEY"), so that `openssl` and
 * other languages read them. save writes atomically with mode 0600; load of a private key
 * file fills both halves. Return 0 or -1 (I/O error or not an Ed25519 key). */
int pay_ed25519_key_save(const char *path, const struct pay_ed25519_key *k)
    __attribute__((warn_unused_result));
int pay_ed25519_key_load(const char *path, struct pay_ed25519_key *k)
    __attribute__((warn_unused_result));
/* The public key as SPKI PEM text, heap-allocated (caller frees with free()); NULL on OOM. */
char *pay_ed25519_pk_to_pem(const uint8_t pk[PAY_ED25519_PK_LEN]);
/* Parses SPKI PEM text (len bytes) into pk; 0 or -1. */
int pay_ed25519_pk_from_pem(uint8_t pk[PAY_ED25519_PK_LEN], const char *pem, size_t len)
    __attribute__((warn_unused_result));

/* Says what a PEM text holds, for error messages: "an RSA key of 1024 bits", "a key of type EC", "a
 * private key (send the public key)", ... (out, at most out_size bytes). Returns 0 when it is a
 * public key OpenSSL reads (of whatever type), else -1. Never parses a private key. */
int pay_pem_key_describe(const char *pem, size_t len, char *out, size_t out_size);

/* --- RSA-SHA256 -------------------------------------------------------------------------- */

/* An RSA public key, or key pair; heap object (wraps OpenSSL's EVP_PKEY). */
struct pay_rsa_key;

/* Generates a key of bits (2048..4096, multiple of 8) into *out; 0 or -1. Free with
 * pay_rsa_key_free. */
int pay_rsa_generate(unsigned bits, struct pay_rsa_key **out) __attribute__((warn_unused_result));
/* Parses PEM text (len bytes): a private key (PKCS#8 or PKCS#1) or a public key (SPKI or
 * PKCS#1 "RSA PUBLIC KEY"). Rejects keys shorter than PAY_RSA_BITS_MIN. 0 or -1. */
int pay_rsa_key_from_pem(const char *pem, size_t len, struct pay_rsa_key **out)
    __attribute__((warn_unused_result));
void pay_rsa_key_free(struct pay_rsa_key *k);
int pay_rsa_key_is_private(const struct pay_rsa_key *k);
unsigned pay_rsa_key_bits(const struct pay_rsa_key *k);
/* PEM text of the public key (SPKI), or of the private key (PKCS#8, unencrypted).
 * Heap-allocated, caller frees with free() (wipe a private one first); NULL on error. */
char *pay_rsa_public_pem(const struct pay_rsa_key *k);
char *pay_rsa_private_pem(const struct pay_rsa_key *k);
/* Files: save writes the private key (mode 0600) or, with public_only, the public key. */
int pay_rsa_key_save(const char *path, const struct pay_rsa_key *k, int public_only)
    __attribute__((warn_unused_result));
int pay_rsa_key_load(const char *path, struct pay_rsa_key **out)
    __attribute__((warn_unused_result));

/* RSASSA-PKCS1-v1_5 with SHA-256 over msg (deterministic). sig_size >= key bytes.
 * Returns 0 with *sig_len set, or -1. */
int pay_rsa_sign(const struct pay_rsa_key *k, const void *msg, size_t len, uint8_t *sig,
                 size_t sig_size, size_t *sig_len) __attribute__((warn_unused_result));
/* Returns 0 when sig is valid for msg, else -1. */
int pay_rsa_verify(const struct pay_rsa_key *k, const void *msg, size_t len, const uint8_t *sig,
                   size_t sig_len) __attribute__((warn_unused_result));

#endif
