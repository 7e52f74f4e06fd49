/* Start-up, randomness, text encodings, hashes and memory helpers over libsodium (and OpenSSL
 * for RIPEMD-160, which libsodium lacks). */
#include "crypto/crypto.h"
#include "core/assertions.h"
#include "crypto/internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

static atomic_int ready;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_sodium(void)
{
    if (sodium_init() >= 0)
        atomic_store(&ready, 1);
}

int pay_crypto_init(void)
{
    pthread_once(&init_once, init_sodium);
    return atomic_load(&ready) ? 0 : -1;
}

void pay_crypto_assert_ready(void)
{
    PAY_ASSERT_MSG(atomic_load(&ready), "pay_crypto_init() must run first");
}

/* Starts the library on first use (see crypto.h); asserts that it started. */
static void random_ready(void)
{
    PAY_ASSERT_MSG(pay_crypto_init() == 0, "libsodium cannot start: no entropy source");
}

void pay_random_bytes(void *buf, size_t n)
{
    random_ready();
    randombytes_buf(buf, n);
}

uint32_t pay_random_uniform(uint32_t upper_bound)
{
    random_ready();
    PAY_ASSERT(upper_bound > 0);
    return randombytes_uniform(upper_bound);
}

int pay_random_token(char *out, size_t out_size, size_t nbytes)
{
    PAY_ASSERT(nbytes >= 1 && nbytes <= 64);
    uint8_t raw[64];
    pay_random_bytes(raw, nbytes);
    int rc = pay_base64url_encode(out, out_size, raw, nbytes);
    pay_wipe(raw, sizeof raw);
    return rc;
}

/* --- encodings --------------------------------------------------------------------------- */

int pay_hex_encode(char *out, size_t out_size, const void *in, size_t in_len)
{
    if (in_len > (SIZE_MAX - 1) / 2 || out_size < PAY_HEX_LEN(in_len))
        return -1;
    sodium_bin2hex(out, out_size, in, in_len);
    return 0;
}

int pay_hex_decode(void *out, size_t out_size, const char *in, size_t in_len, size_t *out_len)
{
    size_t n = 0;
    /* No ignore set and no end pointer: every char must be a hex digit, length even. */
    if (in_len % 2 != 0 || sodium_hex2bin(out, out_size, in, in_len, NULL, &n, NULL) != 0)
        return -1;
    *out_len = n;
    return 0;
}

static int b64_encode(char *out, size_t out_size, const void *in, size_t in_len, int variant)
{
    if (in_len > SIZE_MAX / 2 || out_size < sodium_base64_ENCODED_LEN(in_len, variant))
        return -1; /* sodium_bin2base64 aborts on a short buffer: check first */
    sodium_bin2base64(out, out_size, in, in_len, variant);
    return 0;
}

static int b64_decode(void *out, size_t out_size, const char *in, size_t in_len, size_t *out_len,
                      int variant)
{
    size_t n = 0;
    /* libsodium rejects bad characters, bad padding and non-zero trailing bits, and with
     * b64_end == NULL requires the whole input to be consumed. */
    if (sodium_base642bin(out, out_size, in, in_len, NULL, &n, NULL, variant) != 0)
        return -1;
    *out_len = n;
    return 0;
}

int pay_base64_encode(char *out, size_t out_size, const void *in, size_t in_len)
{
    return b64_encode(out, out_size, in, in_len, sodium_base64_VARIANT_ORIGINAL);
}

int pay_base64_decode(void *out, size_t out_size, const char *in, size_t in_len, size_t *out_len)
{
    return b64_decode(out, out_size, in, in_len, out_len, sodium_base64_VARIANT_ORIGINAL);
}

int pay_base64url_encode(char *out, size_t out_size, const void *in, size_t in_len)
{
    return b64_encode(out, out_size, in, in_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int pay_base64url_decode(void *out, size_t out_size, const char *in, size_t in_len, size_t *out_len)
{
    return b64_decode(out, out_size, in, in_len, out_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* --- hashes ------------------------------------------------------------------------------ */

void pay_sha256(uint8_t out[PAY_SHA256_LEN], const void *data, size_t len)
{
    crypto_hash_sha256(out, data, len);
}

void pay_sha256_hex(char out[PAY_SHA256_HEX_LEN], const void *data, size_t len)
{
    uint8_t h[PAY_SHA256_LEN];
    pay_sha256(h, data, len);
    sodium_bin2hex(out, PAY_SHA256_HEX_LEN, h, sizeof h);
}

void pay_hmac_sha256(uint8_t out[PAY_HMAC_SHA256_LEN], const void *key, size_t key_len,
                     const void *data, size_t len)
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, data, len);
    crypto_auth_hmacsha256_final(&st, out);
    pay_wipe(&st, sizeof st);
}

void pay_hmac_sha512(uint8_t out[PAY_HMAC_SHA512_LEN], const void *key, size_t key_len,
                     const void *data, size_t len)
{
    crypto_auth_hmacsha512_state st;
    crypto_auth_hmacsha512_init(&st, key, key_len);
    crypto_auth_hmacsha512_update(&st, data, len);
    crypto_auth_hmacsha512_final(&st, out);
    pay_wipe(&st, sizeof st);
}

void pay_hash160(uint8_t out[PAY_HASH160_LEN], const void *data, size_t len)
{
    uint8_t sha[PAY_SHA256_LEN];
    unsigned int n = 0;
    pay_sha256(sha, data, len);
    PAY_ASSERT(EVP_Digest(sha, sizeof sha, out, &n, EVP_ripemd160(), NULL) == 1 &&
               n == PAY_HASH160_LEN);
}

void pay_keyed_hash(uint8_t out[PAY_KEYED_HASH_LEN], const uint8_t key[PAY_KEYED_HASH_KEY_LEN],
                    const void *data, size_t len)
{
    crypto_generichash(out, PAY_KEYED_HASH_LEN, data, len, key, PAY_KEYED_HASH_KEY_LEN);
}

void pay_keyed_hash_hex(char out[PAY_SHA256_HEX_LEN], const uint8_t key[PAY_KEYED_HASH_KEY_LEN],
                        const void *data, size_t len)
{
    uint8_t h[PAY_KEYED_HASH_LEN];
    pay_keyed_hash(h, key, data, len);
    sodium_bin2hex(out, PAY_SHA256_HEX_LEN, h, sizeof h);
}

/* --- memory ------------------------------------------------------------------------------ */

int pay_ct_equal(const void *a, const void *b, size_t n)
{
    if (n == 0)
        return 1;
    return sodium_memcmp(a, b, n) == 0;
}

void pay_wipe(void *p, size_t n)
{
    if (n > 0)
        sodium_memzero(p, n);
}
