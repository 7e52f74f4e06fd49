/* Basic cryptography of paygate: start-up, randomness, encodings, hashes, constant-time
 * comparison and wiping. src/crypto is the only code that includes libsodium or OpenSSL;
 * everything else uses these headers (crypto.h, sign.h, x509.h, aead.h, password.h, sig.h). */
#ifndef PAY_CRYPTO_CRYPTO_H
#define PAY_CRYPTO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define PAY_SHA256_LEN         32
#define PAY_SHA256_HEX_LEN     65 /* 64 lowercase hex digits + NUL */
#define PAY_HMAC_SHA256_LEN    32
#define PAY_HMAC_SHA512_LEN    64
#define PAY_KEYED_HASH_LEN     32 /* BLAKE2b-256 */
#define PAY_KEYED_HASH_KEY_LEN 32

/* Buffer sizes (including the NUL) for the text encodings of n bytes. */
#define PAY_HEX_LEN(n)       ((size_t)(n)*2 + 1)
#define PAY_BASE64_LEN(n)    ((((size_t)(n) + 2) / 3) * 4 + 1) /* standard, '=' padded */
#define PAY_BASE64URL_LEN(n) (((size_t)(n)*4 + 2) / 3 + 1)     /* url-safe, unpadded */

/* Initialises libsodium and OpenSSL once; safe to call again and from several threads.
 * Returns 0, or -1 when the library cannot start (no entropy source): then nothing here may
 * be used. Every other function asserts that it ran, except the pay_random_* functions, which
 * run it themselves (they are the process's only source of randomness, used by modules that
 * have no start-up of their own: ids, request ids, the store's retry jitter). */
int pay_crypto_init(void) __attribute__((warn_unused_result));

/* n bytes from the OS's CSPRNG (libsodium randombytes). The only randomness in src/ outside
 * this module (tests/tools/check_source.sh). */
void pay_random_bytes(void *buf, size_t n);

/* A uniform number in [0, upper_bound) without modulo bias; upper_bound > 0. */
uint32_t pay_random_uniform(uint32_t upper_bound);

/* A random token: nbytes (1..64) of randomness as unpadded base64url text, written to out
 * (out_size >= PAY_BASE64URL_LEN(nbytes)). 16 bytes give 22 characters and 128 bits.
 * Returns 0, or -1 when out is too small. */
int pay_random_token(char *out, size_t out_size, size_t nbytes);

/* --- encodings ---------------------------------------------------------------------------
 * Encoders write NUL-terminated text into a caller buffer and return 0, or -1 when it is too
 * small. Decoders are strict: they reject any character outside the alphabet, whitespace,
 * wrong padding and non-canonical trailing bits, write at most out_size bytes, set *out_len,
 * and return 0, or -1 (out unspecified) on bad input or a too small buffer. */
int pay_hex_encode(char *out, size_t out_size, const void *in, size_t in_len);
int pay_hex_decode(void *out, size_t out_size, const char *in, size_t in_len, size_t *out_len);

int pay_base64_encode(char *out, size_t out_size, const void *in, size_t in_len);
int pay_base64_decode(void *out, size_t out_size, const char *in, size_t in_len, size_t *out_len);

int pay_base64url_encode(char *out, size_t out_size, const void *in, size_t in_len);
int pay_base64url_decode(void *out, size_t out_size, const char *in, size_t in_len,
                         size_t *out_len);

/* --- hashes ------------------------------------------------------------------------------ */
void pay_sha256(uint8_t out[PAY_SHA256_LEN], const void *data, size_t len);
/* SHA-256 as 64 lowercase hex digits (the form used in signed-request canonical strings). */
void pay_sha256_hex(char out[PAY_SHA256_HEX_LEN], const void *data, size_t len);

/* HMAC-SHA256 with a key of any length. */
void pay_hmac_sha256(uint8_t out[PAY_HMAC_SHA256_LEN], const void *key, size_t key_len,
                     const void *data, size_t len);
/* HMAC-SHA512 with a key of any length (BIP-32 key derivation, src/chain). */
void pay_hmac_sha512(uint8_t out[PAY_HMAC_SHA512_LEN], const void *key, size_t key_len,
                     const void *data, size_t len);

/* HASH160 = RIPEMD-160(SHA-256(data)): BIP-32 key fingerprints (src/chain). */
#define PAY_HASH160_LEN 20
void pay_hash160(uint8_t out[PAY_HASH160_LEN], const void *data, size_t len);

/* Keyed BLAKE2b-256: a lookup index for secrets (e.g. card numbers) that cannot be computed
 * without the key. Use a key of its own, never the AEAD key. */
void pay_keyed_hash(uint8_t out[PAY_KEYED_HASH_LEN], const uint8_t key[PAY_KEYED_HASH_KEY_LEN],
                    const void *data, size_t len);
/* The same as 64 lowercase hex digits, for database columns. */
void pay_keyed_hash_hex(char out[PAY_SHA256_HEX_LEN], const uint8_t key[PAY_KEYED_HASH_KEY_LEN],
                        const void *data, size_t len);

/* --- memory ------------------------------------------------------------------------------ */

/* 1 when the n bytes at a and b are equal, else 0; time depends only on n. */
int pay_ct_equal(const void *a, const void *b, size_t n) __attribute__((warn_unused_result));

/* Zeroes n bytes in a way the compiler cannot optimise away (secrets, after use). */
void pay_wipe(void *p, size_t n);

#endif
