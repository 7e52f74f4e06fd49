/* Shared between the files of src/crypto only (never included from outside it): the RSA key
 * object, generic EVP_PKEY signing, and secret-file I/O. */
#ifndef PAY_CRYPTO_INTERNAL_H
#define PAY_CRYPTO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bio.h>
#include <openssl/evp.h>

struct pay_rsa_key {
    EVP_PKEY *pkey; /* owned */
    int is_private;
};

/* Asserts that pay_crypto_init() ran. */
void pay_crypto_assert_ready(void);

/* Signs msg with pkey: RSA keys use RSASSA-PKCS1-v1_5 with SHA-256, Ed25519 keys pure
 * Ed25519. 0 with *sig_len, or -1. */
int pay_pkey_sign(EVP_PKEY *pkey, const void *msg, size_t len, uint8_t *sig, size_t sig_size,
                  size_t *sig_len);
/* 0 when valid, else -1 (also for unsupported key types). */
int pay_pkey_verify(EVP_PKEY *pkey, const void *msg, size_t len, const uint8_t *sig,
                    size_t sig_len);

/* Parses PEM text into a key: a private key when want_private, else a public key (SPKI).
 * Never prompts for a passphrase (encrypted keys fail). NULL on failure. */
EVP_PKEY *pay_pkey_from_pem(const char *pem, size_t len, int want_private);
/* PEM text of a private (PKCS#8) or public (SPKI) key; heap, caller frees; NULL on error. */
char *pay_pkey_to_pem(EVP_PKEY *pkey, int private_key);

/* The contents of a memory BIO as a NUL-terminated heap string (caller frees); NULL if empty. */
char *pay_bio_to_string(BIO *bio);

/* Writes data to path atomically (temporary file + rename) with mode 0600. 0 or -1. */
int pay_secret_file_write(const char *path, const void *data, size_t len);
/* Reads at most max bytes of path into a NUL-terminated heap buffer (caller wipes and frees);
 * NULL when unreadable or larger than max. */
char *pay_secret_file_read(const char *path, size_t max, size_t *len);

#endif
