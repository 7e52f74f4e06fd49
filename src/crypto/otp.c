/* TOTP (RFC 6238 over RFC 4226 HOTP, HMAC-SHA1) for authenticator apps, and 6-digit SMS codes
 * that are stored only as keyed hashes. */
#include "crypto/crypto.h"
#include "core/assertions.h"
#include "core/limits.h"
#include "crypto/password.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

void pay_totp_secret_generate(uint8_t secret[PAY_TOTP_SECRET_LEN])
{
    pay_random_bytes(secret, PAY_TOTP_SECRET_LEN);
}

/* RFC 4226 section 5.3: HMAC-SHA1 of the big-endian counter, dynamic truncation. */
static int hotp(const uint8_t *secret, size_t secret_len, uint64_t counter, int digits,
                uint32_t *code)
{
    uint8_t msg[8];
    for (int i = 7; i >= 0; i--, counter >>= 8)
        msg[i] = (uint8_t)(counter & 0xff);
    uint8_t h[EVP_MAX_MD_SIZE];
    unsigned h_len = 0;
    if (HMAC(EVP_sha1(), secret, (int)secret_len, msg, sizeof msg, h, &h_len) == NULL ||
        h_len != 20) {
        ERR_clear_error();
        return -1;
    }
    unsigned off = h[19] & 0x0f;
    uint32_t bin = ((uint32_t)(h[off] & 0x7f) << 24) | ((uint32_t)h[off + 1] << 16) |
                   ((uint32_t)h[off + 2] << 8) | h[off + 3];
    uint32_t mod = 1;
    for (int i = 0; i < digits; i++)
        mod *= 10;
    *code = bin % mod;
    pay_wipe(h, sizeof h);
    return 0;
}

static int totp_args_ok(size_t secret_len, int digits)
{
    return secret_len >= 10 && secret_len <= PAY_TOTP_SECRET_TEXT_MAX && digits >= 6 && digits <= 8;
}

int pay_totp_code(const uint8_t *secret, size_t secret_len, int64_t unix_s, int digits, char *out,
                  size_t out_size)
{
    uint32_t code = 0;
    if (!totp_args_ok(secret_len, digits) || unix_s < 0 || out_size <= (size_t)digits ||
        hotp(secret, secret_len, (uint64_t)(unix_s / PAY_TOTP_STEP_S), digits, &code) != 0)
        return -1;
    snprintf(out, out_size, "%0*" PRIu32, digits, code);
    return 0;
}

int pay_totp_verify(const uint8_t *secret, size_t secret_len, const char *code, int64_t now,
                    int digits, int64_t *step_out)
{
    if (!totp_args_ok(secret_len, digits) || now < PAY_TOTP_STEP_S ||
        strnlen(code, 9) != (size_t)digits)
        return -1;
    for (int i = 0; i < digits; i++)
        if (code[i] < '0' || code[i] > '9')
            return -1;
    int64_t step = now / PAY_TOTP_STEP_S;
    int matched = 0;
    int64_t matched_step = 0;
    for (int64_t s = step - 1; s <= step + 1; s++) {
        char expect[9];
        if (pay_totp_code(secret, secret_len, s * PAY_TOTP_STEP_S, digits, expect, sizeof expect) !=
            0)
            return -1;
        int eq = pay_ct_equal(expect, code, (size_t)digits);
        if (eq && !matched)
            matched_step = s;
        matched |= eq;
    }
    if (matched && step_out != NULL)
        *step_out = matched_step;
    return matched ? 0 : -1;
}

/* Appends s percent-encoded (RFC 3986 unreserved characters kept) at out[*o]. */
static int put_encoded(char *out, size_t out_size, size_t *o, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~';
        if (*o + (plain ? 1 : 3) >= out_size)
            return -1;
        if (plain) {
            out[(*o)++] = (char)c;
        } else {
            out[(*o)++] = '%';
            out[(*o)++] = hex[c >> 4];
            out[(*o)++] = hex[c & 15];
        }
    }
    out[*o] = '\0';
    return 0;
}

static int put_plain(char *out, size_t out_size, size_t *o, const char *s)
{
    size_t n = strlen(s);
    if (*o + n >= out_size)
        return -1;
    memcpy(out + *o, s, n + 1);
    *o += n;
    return 0;
}

int pay_totp_uri(char *out, size_t out_size, const char *issuer, const char *account,
                 const uint8_t *secret, size_t secret_len)
{
    char b32[PAY_BASE32_LEN(PAY_TOTP_SECRET_TEXT_MAX)];
    if (secret_len > PAY_TOTP_SECRET_TEXT_MAX || out_size == 0 ||
        pay_base32_encode(b32, sizeof b32, secret, secret_len) != 0)
        return -1;
    size_t o = 0;
    int rc = put_plain(out, out_size, &o, "otpauth://totp/") ||
             put_encoded(out, out_size, &o, issuer) || put_plain(out, out_size, &o, ":") ||
             put_encoded(out, out_size, &o, account) || put_plain(out, out_size, &o, "?secret=") ||
             put_plain(out, out_size, &o, b32) || put_plain(out, out_size, &o, "&issuer=") ||
             put_encoded(out, out_size, &o, issuer) ||
             put_plain(out, out_size, &o, "&algorithm=SHA1&digits=6&period=30");
    pay_wipe(b32, sizeof b32);
    return rc ? -1 : 0;
}

/* --- SMS one-time codes ------------------------------------------------------------------ */

void pay_otp_generate(char out[PAY_OTP_DIGITS + 1])
{
    uint32_t v = pay_random_uniform(1000000); /* uniform: no modulo bias */
    snprintf(out, PAY_OTP_DIGITS + 1, "%06" PRIu32, v);
}

void pay_otp_hash(char out[PAY_OTP_HASH_LEN], const uint8_t key[PAY_OTP_KEY_LEN],
                  const char *context, const char *code)
{
    /* context NUL code: the separator keeps ("ab","1") and ("a","b1") apart. */
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, PAY_OTP_KEY_LEN);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)context, strlen(context) + 1);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)code, strlen(code));
    uint8_t mac[PAY_HMAC_SHA256_LEN];
    crypto_auth_hmacsha256_final(&st, mac);
    int rc = pay_hex_encode(out, PAY_OTP_HASH_LEN, mac, sizeof mac);
    PAY_ASSERT(rc == 0);
    pay_wipe(&st, sizeof st);
}

int pay_otp_verify(const char *stored, const uint8_t key[PAY_OTP_KEY_LEN], const char *context,
                   const char *code)
{
    if (strnlen(stored, PAY_OTP_HASH_LEN) != PAY_OTP_HASH_LEN - 1)
        return -1;
    char h[PAY_OTP_HASH_LEN];
    pay_otp_hash(h, key, context, code);
    return pay_ct_equal(h, stored, PAY_OTP_HASH_LEN - 1) ? 0 : -1;
}
