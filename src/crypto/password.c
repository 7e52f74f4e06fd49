/* Argon2id password hashes, Base32, TOTP (RFC 6238) and hashed one-time codes. */
#include "crypto/password.h"
#include "crypto/crypto.h"
#include "crypto/internal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include <openssl/hmac.h>
#include <sodium.h>

static enum pay_pwhash_level level = PAY_PWHASH_INTERACTIVE;

static unsigned long long opslimit(void)
{
    return level == PAY_PWHASH_TEST_MIN ? crypto_pwhash_argon2id_OPSLIMIT_MIN
                                        : crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
}

static size_t memlimit(void)
{
    return level == PAY_PWHASH_TEST_MIN ? crypto_pwhash_argon2id_MEMLIMIT_MIN
                                        : crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
}

void pay_pwhash_set_level(enum pay_pwhash_level l)
{
    level = l;
}

int pay_pwhash_hash(char out[PAY_PWHASH_STR_LEN], const char *password, size_t len)
{
    pay_crypto_assert_ready();
    if (len == 0 || len > PAY_PASSWORD_MAX)
        return -1;
    return crypto_pwhash_argon2id_str(out, password, len, opslimit(), memlimit()) == 0 ? 0 : -1;
}

static int is_argon2id(const char *stored)
{
    return strnlen(stored, PAY_PWHASH_STR_LEN) < PAY_PWHASH_STR_LEN &&
           strncmp(stored, "$argon2id$", 10) == 0;
}

int pay_pwhash_verify(const char *stored, const char *password, size_t len)
{
    if (!is_argon2id(stored) || len == 0 || len > PAY_PASSWORD_MAX)
        return -1;
    return crypto_pwhash_argon2id_str_verify(stored, password, len) == 0 ? 0 : -1;
}

int pay_pwhash_needs_rehash(const char *stored)
{
    if (!is_argon2id(stored))
        return -1;
    return crypto_pwhash_argon2id_str_needs_rehash(stored, opslimit(), memlimit());
}

/* --- Base32 ------------------------------------------------------------------------------ */

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int pay_base32_encode(char *out, size_t out_size, const void *in, size_t in_len)
{
    if (in_len > SIZE_MAX / 8 || out_size < PAY_BASE32_LEN(in_len))
        return -1;
    const uint8_t *p = in;
    size_t o = 0;
    unsigned acc = 0, bits = 0;
    for (size_t i = 0; i < in_len; i++) {
        acc = (acc << 8) | p[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = b32[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[o++] = b32[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return 0;
}

static int b32_value(char c)
{
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    const char *p = c ? strchr(b32, c) : NULL;
    return p != NULL ? (int)(p - b32) : -1;
}

int pay_base32_decode(void *out, size_t out_size, const char *in, size_t in_len, size_t *out_len)
{
    size_t n = in_len;
    if (n % 8 == 0) /* '=' padding only on a full 8-char group */
        while (n > 0 && in[n - 1] == '=' && in_len - n < 6)
            n--;
    /* Lengths 1, 3, 6 (mod 8) cannot come from whole bytes. */
    if (n % 8 == 1 || n % 8 == 3 || n % 8 == 6)
        return -1;
    uint8_t *o = out;
    size_t w = 0;
    unsigned acc = 0, bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b32_value(in[i]);
        if (v < 0)
            return -1;
        acc = ((acc << 5) | (unsigned)v) & 0xfff;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (w == out_size)
                return -1;
            o[w++] = (uint8_t)(acc >> bits);
        }
    }
    if ((acc & ((1u << bits) - 1)) != 0)
        return -1; /* non-canonical trailing bits */
    *out_len = w;
    return 0;
}
