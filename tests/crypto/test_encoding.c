/* Basic crypto: randomness, strict hex/base64/base64url, SHA-256 and HMAC-SHA256 against
 * published vectors, keyed hash, constant-time compare and wipe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "crypto/crypto.h"

static void init_is_idempotent(void **state)
{
    (void)state;
    assert_int_equal(pay_crypto_init(), 0);
    assert_int_equal(pay_crypto_init(), 0);
}

static void random_values(void **state)
{
    (void)state;
    uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};
    pay_random_bytes(a, sizeof a);
    pay_random_bytes(b, sizeof b);
    assert_memory_not_equal(a, b, sizeof a);
    assert_memory_not_equal(a, zero, sizeof a);
    int seen[10] = {0};
    for (int i = 0; i < 1000; i++) {
        uint32_t v = pay_random_uniform(10);
        assert_true(v < 10);
        seen[v]++;
    }
    for (int i = 0; i < 10; i++)
        assert_true(seen[i] > 40); /* 100 expected each; 40 is ~6 sigma below */
    char t1[PAY_BASE64URL_LEN(16)], t2[PAY_BASE64URL_LEN(16)];
    assert_int_equal(pay_random_token(t1, sizeof t1, 16), 0);
    assert_int_equal(pay_random_token(t2, sizeof t2, 16), 0);
    assert_int_equal(strlen(t1), 22);
    assert_string_not_equal(t1, t2);
    assert_int_equal(strspn(t1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                     22);
    assert_int_equal(pay_random_token(t1, 22, 16), -1); /* no room for the NUL */
}

static void hex(void **state)
{
    (void)state;
    char out[16];
    uint8_t bin[8];
    size_t n = 0;
    assert_int_equal(pay_hex_encode(out, sizeof out, "\x01\xab\xff", 3), 0);
    assert_string_equal(out, "01abff");
    assert_int_equal(pay_hex_encode(out, 6, "\x01\xab\xff", 3), -1);
    assert_int_equal(pay_hex_decode(bin, sizeof bin, "01abFF", 6, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(bin, "\x01\xab\xff", 3);
    assert_int_equal(pay_hex_decode(bin, sizeof bin, "", 0, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(pay_hex_decode(bin, sizeof bin, "abc", 3, &n), -1);   /* odd */
    assert_int_equal(pay_hex_decode(bin, sizeof bin, "zz", 2, &n), -1);    /* not hex */
    assert_int_equal(pay_hex_decode(bin, sizeof bin, "ab cd", 5, &n), -1); /* space */
    assert_int_equal(pay_hex_decode(bin, 2, "abcdef", 6, &n), -1);         /* too long */
}

/* RFC 4648 section 10 vectors. */
static void base64(void **state)
{
    (void)state;
    static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *std[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    static const char *url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char out[16];
        uint8_t bin[16];
        size_t n = 0, len = strlen(plain[i]);
        assert_int_equal(pay_base64_encode(out, PAY_BASE64_LEN(len), plain[i], len), 0);
        assert_string_equal(out, std[i]);
        assert_int_equal(pay_base64url_encode(out, PAY_BASE64URL_LEN(len), plain[i], len), 0);
        assert_string_equal(out, url[i]);
        assert_int_equal(pay_base64_decode(bin, sizeof bin, std[i], strlen(std[i]), &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(bin, plain[i], len);
        assert_int_equal(pay_base64url_decode(bin, sizeof bin, url[i], strlen(url[i]), &n), 0);
        assert_int_equal(n, len);
        if (len > 0)
            assert_int_equal(pay_base64_encode(out, PAY_BASE64_LEN(len) - 1, plain[i], len), -1);
    }
    uint8_t b[16];
    size_t n;
#define REJECT(fn, s) assert_int_equal(fn(b, sizeof b, s, strlen(s), &n), -1)
    REJECT(pay_base64_decode, "Zg");     /* missing padding */
    REJECT(pay_base64_decode, "Zg=");    /* short padding */
    REJECT(pay_base64_decode, "Zg===");  /* extra padding */
    REJECT(pay_base64_decode, "Zh==");   /* non-zero trailing bits */
    REJECT(pay_base64_decode, "Zm9v\n"); /* whitespace */
    REJECT(pay_base64_decode, "Zm-v");   /* url alphabet in standard */
    REJECT(pay_base64_decode, "Zm9v!");
    REJECT(pay_base64url_decode, "Zg=="); /* padding in unpadded variant */
    REJECT(pay_base64url_decode, "Zm+v"); /* standard alphabet in url */
    REJECT(pay_base64url_decode, "Z");    /* impossible length */
    REJECT(pay_base64url_decode, "Zh");   /* non-zero trailing bits */
#undef REJECT
    assert_int_equal(pay_base64_decode(b, 2, "Zm9v", 4, &n), -1); /* output too small */
}

static void sha256_and_hmac(void **state)
{
    (void)state;
    char h[PAY_SHA256_HEX_LEN];
    pay_sha256_hex(h, "", 0);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    pay_sha256_hex(h, "abc", 3);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* RFC 4231 test cases 2 (short key) and 6 (key longer than the block). */
    uint8_t mac[32];
    char mh[65];
    pay_hmac_sha256(mac, "Jefe", 4, "what do ya want for nothing?", 28);
    assert_int_equal(pay_hex_encode(mh, sizeof mh, mac, 32), 0);
    assert_string_equal(mh, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    uint8_t key[131];
    memset(key, 0xaa, sizeof key);
    const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
    pay_hmac_sha256(mac, key, sizeof key, msg, strlen(msg));
    assert_int_equal(pay_hex_encode(mh, sizeof mh, mac, 32), 0);
    assert_string_equal(mh, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void keyed_hash(void **state)
{
    (void)state;
    uint8_t k1[32], k2[32];
    pay_random_bytes(k1, 32);
    pay_random_bytes(k2, 32);
    char a[65], b[65], c[65];
    pay_keyed_hash_hex(a, k1, "6222020000000001", 16);
    pay_keyed_hash_hex(b, k1, "6222020000000001", 16);
    pay_keyed_hash_hex(c, k2, "6222020000000001", 16);
    assert_string_equal(a, b); /* deterministic: usable as a lookup index */
    assert_string_not_equal(a, c);
    pay_keyed_hash_hex(c, k1, "6222020000000002", 16);
    assert_string_not_equal(a, c);
    /* Known answer, computed with Python's hashlib.blake2b(digest_size=32, key=00..1f). */
    uint8_t k[32];
    for (int i = 0; i < 32; i++)
        k[i] = (uint8_t)i;
    pay_keyed_hash_hex(a, k, "6222020000000001", 16);
    assert_string_equal(a, "c0b0a90e0e39d86b6f98814c37bb450f17c27919ceb2b5c49ecf52b62a010ec9");
}

static void ct_equal_and_wipe(void **state)
{
    (void)state;
    assert_true(pay_ct_equal("abcdef", "abcdef", 6));
    assert_false(pay_ct_equal("abcdef", "abcdeg", 6));
    assert_false(pay_ct_equal("xbcdef", "abcdef", 6));
    assert_true(pay_ct_equal("a", "b", 0));
    char secret[16] = "top secret";
    pay_wipe(secret, sizeof secret);
    static const char zero[16];
    assert_memory_equal(secret, zero, sizeof secret);
}

int main(void)
{
    if (pay_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_is_idempotent),
        cmocka_unit_test(random_values),
        cmocka_unit_test(hex),
        cmocka_unit_test(base64),
        cmocka_unit_test(sha256_and_hmac),
        cmocka_unit_test(keyed_hash),
        cmocka_unit_test(ct_equal_and_wipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
