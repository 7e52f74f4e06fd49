/* Argon2id passwords (at the test-only minimum limits, for speed), Base32 (RFC 4648), TOTP
 * (RFC 6238 test vectors), the otpauth URI and hashed SMS codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/password.h"

static void pwhash(void **state)
{
    (void)state;
    char h[PAY_PWHASH_STR_LEN], h2[PAY_PWHASH_STR_LEN];
    assert_int_equal(pay_pwhash_hash(h, "correct horse", 13), 0);
    assert_int_equal(strncmp(h, "$argon2id$", 10), 0);
    assert_int_equal(pay_pwhash_hash(h2, "correct horse", 13), 0);
    assert_string_not_equal(h, h2); /* random salt */
    assert_int_equal(pay_pwhash_verify(h, "correct horse", 13), 0);
    assert_int_equal(pay_pwhash_verify(h, "correct horsE", 13), -1);
    assert_int_equal(pay_pwhash_verify(h, "correct hors", 12), -1);
    assert_int_equal(pay_pwhash_verify("$argon2id$garbage", "x", 1), -1);
    assert_int_equal(pay_pwhash_verify("$2y$10$bcrypt", "x", 1), -1);
    assert_int_equal(pay_pwhash_hash(h2, "", 0), -1);
    char big[PAY_PASSWORD_MAX + 1];
    memset(big, 'a', sizeof big);
    assert_int_equal(pay_pwhash_hash(h2, big, sizeof big), -1);
    /* Made at the current (test) level: no rehash; the interactive level wants one. */
    assert_int_equal(pay_pwhash_needs_rehash(h), 0);
    pay_pwhash_set_level(PAY_PWHASH_INTERACTIVE);
    assert_int_equal(pay_pwhash_needs_rehash(h), 1);
    pay_pwhash_set_level(PAY_PWHASH_TEST_MIN);
    assert_int_equal(pay_pwhash_needs_rehash("plain"), -1);
}

static void base32(void **state)
{
    (void)state;
    static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *enc[] = {"", "MY", "MZXQ", "MZXW6", "MZXW6YQ", "MZXW6YTB", "MZXW6YTBOI"};
    static const char *padded[] = {
        "", "MY======", "MZXQ====", "MZXW6===", "MZXW6YQ=", "MZXW6YTB", "MZXW6YTBOI======"};
    for (int i = 0; i < 7; i++) {
        char out[32];
        uint8_t bin[16];
        size_t n = 0, len = strlen(plain[i]);
        assert_int_equal(pay_base32_encode(out, PAY_BASE32_LEN(len), plain[i], len), 0);
        assert_string_equal(out, enc[i]);
        assert_int_equal(pay_base32_decode(bin, sizeof bin, enc[i], strlen(enc[i]), &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(bin, plain[i], len);
        assert_int_equal(pay_base32_decode(bin, sizeof bin, padded[i], strlen(padded[i]), &n), 0);
        assert_int_equal(n, len);
    }
    uint8_t b[16];
    size_t n;
    assert_int_equal(pay_base32_decode(b, sizeof b, "mzxw6", 5, &n), 0);  /* lower case */
    assert_int_equal(pay_base32_decode(b, sizeof b, "MZXW1", 5, &n), -1); /* '1' */
    assert_int_equal(pay_base32_decode(b, sizeof b, "MZX", 3, &n), -1);   /* bad length */
    assert_int_equal(pay_base32_decode(b, sizeof b, "MZ", 2, &n), -1);    /* trailing bits */
    assert_int_equal(pay_base32_decode(b, sizeof b, "MY=", 3, &n), -1);   /* partial pad */
    assert_int_equal(pay_base32_decode(b, 2, "MZXW6", 5, &n), -1);        /* too small */
    char out[4];
    assert_int_equal(pay_base32_encode(out, sizeof out, "foo", 3), -1);
}

static const uint8_t *rfc_secret = (const uint8_t *)"12345678901234567890";

/* RFC 6238 appendix B, SHA1 column (8 digits). */
static void totp_rfc6238(void **state)
{
    (void)state;
    static const struct {
        int64_t t;
        const char *code;
    } v[] = {{59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
             {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000LL, "65353130"}};
    char code[16];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_int_equal(pay_totp_code(rfc_secret, 20, v[i].t, 8, code, sizeof code), 0);
        assert_string_equal(code, v[i].code);
        assert_int_equal(pay_totp_verify(rfc_secret, 20, v[i].code, v[i].t, 8, NULL), 0);
    }
    /* RFC 4226 appendix D: HOTP counter 1 = 287082 (TOTP at t=59, 6 digits). */
    assert_int_equal(pay_totp_code(rfc_secret, 20, 59, 6, code, sizeof code), 0);
    assert_string_equal(code, "287082");
    assert_int_equal(pay_totp_code(rfc_secret, 20, 59, 5, code, sizeof code), -1);
    assert_int_equal(pay_totp_code(rfc_secret, 20, 59, 8, code, 8), -1);
}

static void totp_window(void **state)
{
    (void)state;
    uint8_t secret[PAY_TOTP_SECRET_LEN];
    pay_totp_secret_generate(secret);
    const int64_t t = 1764000015; /* middle of a step */
    char code[8];
    int64_t step = 0;
    assert_int_equal(pay_totp_code(secret, sizeof secret, t, 6, code, sizeof code), 0);
    assert_int_equal(pay_totp_verify(secret, sizeof secret, code, t, 6, &step), 0);
    assert_int_equal(step, t / 30);
    assert_int_equal(pay_totp_verify(secret, sizeof secret, code, t + 30, 6, &step), 0);
    assert_int_equal(step, t / 30); /* matched the previous step */
    assert_int_equal(pay_totp_verify(secret, sizeof secret, code, t - 30, 6, NULL), 0);
    assert_int_equal(pay_totp_verify(secret, sizeof secret, code, t + 60, 6, NULL), -1);
    assert_int_equal(pay_totp_verify(secret, sizeof secret, code, t - 60, 6, NULL), -1);
    char wrong[8];
    memcpy(wrong, code, sizeof wrong);
    wrong[5] = wrong[5] == '9' ? '0' : (char)(wrong[5] + 1);
    assert_int_equal(pay_totp_verify(secret, sizeof secret, wrong, t, 6, NULL), -1);
    assert_int_equal(pay_totp_verify(secret, sizeof secret, "12345", t, 6, NULL), -1);
    assert_int_equal(pay_totp_verify(secret, sizeof secret, "12a456", t, 6, NULL), -1);
}

static void totp_uri(void **state)
{
    (void)state;
    char uri[256];
    assert_int_equal(
        pay_totp_uri(uri, sizeof uri, "Paygate Bank", "alice@example.com", rfc_secret, 20), 0);
    assert_string_equal(uri, "otpauth://totp/Paygate%20Bank:alice%40example.com"
                             "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Paygate%20Bank"
                             "&algorithm=SHA1&digits=6&period=30");
    assert_int_equal(pay_totp_uri(uri, 40, "Paygate Bank", "alice", rfc_secret, 20), -1);
}

static void sms_codes(void **state)
{
    (void)state;
    char code[PAY_OTP_DIGITS + 1], other[PAY_OTP_DIGITS + 1];
    int leading_zero = 0;
    for (int i = 0; i < 200; i++) {
        pay_otp_generate(code);
        assert_int_equal(strlen(code), 6);
        assert_int_equal(strspn(code, "0123456789"), 6);
        leading_zero += code[0] == '0';
    }
    assert_true(leading_zero > 0 && leading_zero < 60); /* ~20 expected: zero-padded, uniform */
    uint8_t key[PAY_OTP_KEY_LEN], key2[PAY_OTP_KEY_LEN];
    pay_random_bytes(key, sizeof key);
    pay_random_bytes(key2, sizeof key2);
    char stored[PAY_OTP_HASH_LEN];
    pay_otp_generate(code);
    pay_otp_hash(stored, key, "challenge_42", code);
    assert_int_equal(strlen(stored), 64);
    assert_int_equal(pay_otp_verify(stored, key, "challenge_42", code), 0);
    memcpy(other, code, sizeof other);
    other[0] = other[0] == '9' ? '0' : (char)(other[0] + 1);
    assert_int_equal(pay_otp_verify(stored, key, "challenge_42", other), -1);
    assert_int_equal(pay_otp_verify(stored, key, "challenge_43", code), -1);
    assert_int_equal(pay_otp_verify(stored, key2, "challenge_42", code), -1);
    assert_int_equal(pay_otp_verify("abc", key, "challenge_42", code), -1);
}

int main(void)
{
    if (pay_crypto_init() != 0)
        return 1;
    pay_pwhash_set_level(PAY_PWHASH_TEST_MIN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pwhash),      cmocka_unit_test(base32),   cmocka_unit_test(totp_rfc6238),
        cmocka_unit_test(totp_window), cmocka_unit_test(totp_uri), cmocka_unit_test(sms_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
