/* Ed25519 (libsodium) and RSA-SHA256 (OpenSSL 3 EVP) keys and signatures. */
#include "crypto/sign.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/limits.h"
#include "crypto/crypto.h"
#include "crypto/internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <sodium.h>

void pay_ed25519_generate(struct pay_ed25519_key *k)
{
    pay_crypto_assert_ready();
    crypto_sign_keypair(k->pk, k->sk);
}

void pay_ed25519_from_seed(struct pay_ed25519_key *k, const uint8_t seed[PAY_ED25519_SEED_LEN])
{
    crypto_sign_seed_keypair(k->pk, k->sk, seed);
}

void pay_ed25519_key_fini(struct pay_ed25519_key *k)
{
    pay_wipe(k, sizeof *k);
}

void pay_ed25519_sign(uint8_t sig[PAY_ED25519_SIG_LEN], const void *msg, size_t len,
                      const struct pay_ed25519_key *k)
{
    crypto_sign_detached(sig, NULL, msg, len, k->sk);
}

int pay_ed25519_verify(const uint8_t sig[PAY_ED25519_SIG_LEN], const void *msg, size_t len,
                       const uint8_t pk[PAY_ED25519_PK_LEN])
{
    return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : -1;
}

void pay_ed25519_pk_to_text(char out[PAY_ED25519_KEY_TEXT_LEN],
                            const uint8_t pk[PAY_ED25519_PK_LEN])
{
    int rc = pay_base64_encode(out, PAY_ED25519_KEY_TEXT_LEN, pk, PAY_ED25519_PK_LEN);
    PAY_ASSERT(rc == 0);
}

static int decode_32(uint8_t out[32], const char *text)
{
    size_t n = 0;
    if (pay_base64_decode(out, 32, text, strlen(text), &n) != 0 || n != 32)
        return -1;
    return 0;
}

int pay_ed25519_pk_from_text(uint8_t pk[PAY_ED25519_PK_LEN], const char *text)
{
    return decode_32(pk, text);
}

void pay_ed25519_sk_to_text(char out[PAY_ED25519_KEY_TEXT_LEN], const struct pay_ed25519_key *k)
{
    /* libsodium's secret key is seed || public key: the seed is the first half. */
    int rc = pay_base64_encode(out, PAY_ED25519_KEY_TEXT_LEN, k->sk, PAY_ED25519_SEED_LEN);
    PAY_ASSERT(rc == 0);
}

int pay_ed25519_sk_from_text(struct pay_ed25519_key *k, const char *text)
{
    uint8_t seed[PAY_ED25519_SEED_LEN];
    if (decode_32(seed, text) != 0)
        return -1;
    pay_ed25519_from_seed(k, seed);
    pay_wipe(seed, sizeof seed);
    return 0;
}

int pay_ed25519_key_save(const char *path, const struct pay_ed25519_key *k)
{
    EVP_PKEY *pkey =
        EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, k->sk, PAY_ED25519_SEED_LEN);
    if (pkey == NULL)
        return -1;
    char *pem = pay_pkey_to_pem(pkey, 1);
    EVP_PKEY_free(pkey);
    if (pem == NULL)
        return -1;
    size_t len = strlen(pem);
    int rc = pay_secret_file_write(path, pem, len);
    pay_wipe(pem, len);
    free(pem);
    return rc;
}

int pay_ed25519_key_load(const char *path, struct pay_ed25519_key *k)
{
    size_t len = 0;
    char *pem = pay_secret_file_read(path, PAY_KEY_FILE_MAX, &len);
    if (pem == NULL)
        return -1;
    EVP_PKEY *pkey = pay_pkey_from_pem(pem, len, 1);
    pay_wipe(pem, len);
    free(pem);
    uint8_t seed[PAY_ED25519_SEED_LEN];
    size_t n = sizeof seed;
    int ok = pkey != NULL && EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519 &&
             EVP_PKEY_get_raw_private_key(pkey, seed, &n) == 1 && n == sizeof seed;
    EVP_PKEY_free(pkey);
    if (ok)
        pay_ed25519_from_seed(k, seed);
    pay_wipe(seed, sizeof seed);
    return ok ? 0 : -1;
}

char *pay_ed25519_pk_to_pem(const uint8_t pk[PAY_ED25519_PK_LEN])
{
    EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, PAY_ED25519_PK_LEN);
    if (pkey == NULL)
        return NULL;
    char *pem = pay_pkey_to_pem(pkey, 0);
    EVP_PKEY_free(pkey);
    return pem;
}

int pay_ed25519_pk_from_pem(uint8_t pk[PAY_ED25519_PK_LEN], const char *pem, size_t len)
{
    EVP_PKEY *pkey = pay_pkey_from_pem(pem, len, 0);
    size_t n = PAY_ED25519_PK_LEN;
    int ok = pkey != NULL && EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519 &&
             EVP_PKEY_get_raw_public_key(pkey, pk, &n) == 1 && n == PAY_ED25519_PK_LEN;
    EVP_PKEY_free(pkey);
    return ok ? 0 : -1;
}

int pay_pem_key_describe(const char *pem, size_t len, char *out, size_t out_size)
{
    EVP_PKEY *pkey = pay_pkey_from_pem(pem, len, 0);
    if (pkey == NULL) {
        /* Say what it is without parsing a secret: the PEM label is enough. */
        bool secret = memmem(pem, len, "PRIVATE KEY-----", 16) != NULL;
        bool cert = memmem(pem, len, "-----BEGIN CERTIFICATE", 22) != NULL;
        pay_str_copy(out, out_size,
                     secret ? "a private key (send the public key)"
                     : cert ? "a certificate, not a public key"
                            : "not a readable PEM public key");
        return -1;
    }
    const char *name = EVP_PKEY_get0_type_name(pkey);
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA)
        snprintf(out, out_size, "an RSA key of %d bits", EVP_PKEY_get_bits(pkey));
    else
        snprintf(out, out_size, "a key of type %s", name ? name : "unknown");
    EVP_PKEY_free(pkey);
    return 0;
}

/* --- RSA-SHA256 -------------------------------------------------------------------------- */

static struct pay_rsa_key *rsa_wrap(EVP_PKEY *pkey, int is_private)
{
    if (pkey == NULL)
        return NULL;
    int bits = EVP_PKEY_get_bits(pkey);
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA || bits < PAY_RSA_BITS_MIN ||
        bits > PAY_RSA_BITS_MAX) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    struct pay_rsa_key *k = malloc(sizeof *k);
    if (k == NULL) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    k->pkey = pkey;
    k->is_private = is_private;
    return k;
}

int pay_rsa_generate(unsigned bits, struct pay_rsa_key **out)
{
    pay_crypto_assert_ready();
    if (bits < PAY_RSA_BITS_MIN || bits > PAY_RSA_BITS_MAX || bits % 8 != 0)
        return -1;
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    ERR_clear_error();
    *out = rsa_wrap(pkey, 1);
    return *out != NULL ? 0 : -1;
}

int pay_rsa_key_from_pem(const char *pem, size_t len, struct pay_rsa_key **out)
{
    /* A private key PEM also works where only the public half is needed. */
    EVP_PKEY *pkey = pay_pkey_from_pem(pem, len, 1);
    int is_private = pkey != NULL;
    if (pkey == NULL)
        pkey = pay_pkey_from_pem(pem, len, 0);
    *out = rsa_wrap(pkey, is_private);
    return *out != NULL ? 0 : -1;
}

void pay_rsa_key_free(struct pay_rsa_key *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

int pay_rsa_key_is_private(const struct pay_rsa_key *k)
{
    return k->is_private;
}

unsigned pay_rsa_key_bits(const struct pay_rsa_key *k)
{
    return (unsigned)EVP_PKEY_get_bits(k->pkey);
}

char *pay_rsa_public_pem(const struct pay_rsa_key *k)
{
    return pay_pkey_to_pem(k->pkey, 0);
}

char *pay_rsa_private_pem(const struct pay_rsa_key *k)
{
    return k->is_private ? pay_pkey_to_pem(k->pkey, 1) : NULL;
}

int pay_rsa_key_save(const char *path, const struct pay_rsa_key *k, int public_only)
{
    char *pem = public_only ? pay_rsa_public_pem(k) : pay_rsa_private_pem(k);
    if (pem == NULL)
        return -1;
    size_t len = strlen(pem);
    int rc = pay_secret_file_write(path, pem, len);
    pay_wipe(pem, len);
    free(pem);
    return rc;
}

int pay_rsa_key_load(const char *path, struct pay_rsa_key **out)
{
    size_t len = 0;
    char *pem = pay_secret_file_read(path, PAY_KEY_FILE_MAX, &len);
    if (pem == NULL)
        return -1;
    int rc = pay_rsa_key_from_pem(pem, len, out);
    pay_wipe(pem, len);
    free(pem);
    return rc;
}

int pay_rsa_sign(const struct pay_rsa_key *k, const void *msg, size_t len, uint8_t *sig,
                 size_t sig_size, size_t *sig_len)
{
    if (!k->is_private)
        return -1;
    return pay_pkey_sign(k->pkey, msg, len, sig, sig_size, sig_len);
}

int pay_rsa_verify(const struct pay_rsa_key *k, const void *msg, size_t len, const uint8_t *sig,
                   size_t sig_len)
{
    return pay_pkey_verify(k->pkey, msg, len, sig, sig_len);
}
