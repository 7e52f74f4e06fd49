/* Secrets people type: passwords (Argon2id), TOTP (RFC 6238) for authenticator apps, and
 * 6-digit one-time codes sent by SMS, stored only as keyed hashes. */
#ifndef PAY_CRYPTO_PASSWORD_H
#define PAY_CRYPTO_PASSWORD_H

#include "core/limits.h"

#include <stddef.h>
#include <stdint.h>

/* --- Argon2id ------------------------------------------------------------------------------
 * INTERACTIVE: libsodium's interactive limits, opslimit 2 and memlimit 64 MiB: about 0.1 s and
 * 64 MiB per hash on one core of a small server, so a 2-core server can check ~20 logins/s
 * while the lockout (PAY_LOCKOUT_ATTEMPTS) stops online guessing. TEST_MIN: Argon2id's minimum
 * (opslimit 1, memlimit 8 KiB); for test suites only, never in production. */
enum pay_pwhash_level {
    PAY_PWHASH_INTERACTIVE,
    PAY_PWHASH_TEST_MIN,
};

#define PAY_PWHASH_STR_LEN 128 /* "$argon2id$v=19$m=...": crypto_pwhash_STRBYTES */

/* Chooses the limits for new hashes and for needs_rehash (process-wide; default
 * INTERACTIVE). Call before starting threads. */
void pay_pwhash_set_level(enum pay_pwhash_level level);

/* Hashes password (len bytes, 1..PAY_PASSWORD_MAX) into out as an "$argon2id$..." string
 * with a random salt. Returns 0, or -1 (bad length, out of memory). */
int pay_pwhash_hash(char out[PAY_PWHASH_STR_LEN], const char *password, size_t len)
    __attribute__((warn_unused_result));
/* Returns 0 when password matches stored, else -1 (also for a malformed stored string). */
int pay_pwhash_verify(const char *stored, const char *password, size_t len)
    __attribute__((warn_unused_result));
/* 1 when stored was made with other limits than the current level (re-hash on next login),
 * 0 when not, -1 when stored is not an Argon2id string. */
int pay_pwhash_needs_rehash(const char *stored);

/* --- Base32 (RFC 4648, upper case, no padding; what authenticator apps expect) --------- */
#define PAY_BASE32_LEN(n) (((size_t)(n)*8 + 4) / 5 + 1)
int pay_base32_encode(char *out, size_t out_size, const void *in, size_t in_len);
/* Accepts upper or lower case, no padding or '=' padding; rejects anything else. */
int pay_base32_decode(void *out, size_t out_size, const char *in, size_t in_len, size_t *out_len);

/* --- TOTP (RFC 6238: HMAC-SHA1, 30-second steps) --------------------------------------- */
#define PAY_TOTP_SECRET_LEN 20 /* 160 bits, RFC 4226's recommendation */
#define PAY_TOTP_STEP_S     30
#define PAY_TOTP_DIGITS     6

void pay_totp_secret_generate(uint8_t secret[PAY_TOTP_SECRET_LEN]);
/* The code for time unix_s with digits (6..8) digits, written as text into out
 * (out_size > digits). 0 or -1. */
int pay_totp_code(const uint8_t *secret, size_t secret_len, int64_t unix_s, int digits, char *out,
                  size_t out_size) __attribute__((warn_unused_result));
/* Accepts code at now's step or one step either side (clock drift), constant time.
 * Returns 0 with *step_out (if not NULL) set to the matched time step, or -1. The caller
 * stores the last accepted step and refuses a step <= it, so a code cannot be used twice. */
int pay_totp_verify(const uint8_t *secret, size_t secret_len, const char *code, int64_t now,
                    int digits, int64_t *step_out) __attribute__((warn_unused_result));
/* otpauth://totp/<issuer>:<account>?secret=<base32>&issuer=<issuer>&algorithm=SHA1&digits=6
 * &period=30 with issuer and account percent-encoded, for a QR code. 0 or -1 (too small). */
int pay_totp_uri(char *out, size_t out_size, const char *issuer, const char *account,
                 const uint8_t *secret, size_t secret_len) __attribute__((warn_unused_result));

/* --- one-time codes (SMS) ---------------------------------------------------------------- */
#define PAY_OTP_DIGITS   6
#define PAY_OTP_KEY_LEN  32
#define PAY_OTP_HASH_LEN 65 /* lowercase hex of HMAC-SHA256 + NUL */

/* A uniform random 6-digit code ("000000".."999999"). */
void pay_otp_generate(char out[PAY_OTP_DIGITS + 1]);
/* HMAC-SHA256(key, context || 0x00 || code) as hex: store this, never the code. context
 * binds the code to its purpose (e.g. the challenge id), so it cannot be used elsewhere. */
void pay_otp_hash(char out[PAY_OTP_HASH_LEN], const uint8_t key[PAY_OTP_KEY_LEN],
                  const char *context, const char *code);
/* Returns 0 when code hashes to stored (constant time), else -1. */
int pay_otp_verify(const char *stored, const uint8_t key[PAY_OTP_KEY_LEN], const char *context,
                   const char *code) __attribute__((warn_unused_result));

#endif
