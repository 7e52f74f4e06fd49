/* Sealed boxes to a recipient's X25519 key (crypto/seal.h): round trip, fresh randomness per
 * seal, the wrong key, the wrong context, tampering, malformed text, limits, key texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/seal.h"

static const char CARD[] = "{\"pan\":\"6217000000000018\",\"exp\":\"3012\",\"cvn2\":\"123\"}";

static int setup(void **state)
{
    (void)state;
    return pay_crypto_init();
}

static void round_trip(void **state)
{
    (void)state;
    struct pay_seal_key k;
    pay_seal_key_generate(&k);
    char a[PAY_SEAL_TEXT_LEN(sizeof CARD)], b[sizeof a], pt[PAY_SEAL_PLAIN_MAX + 1];
    size_t n = 0;
    assert_int_equal(pay_seal(k.pk, "de2:icbc:000000000001", CARD, strlen(CARD), a, sizeof a), 0);
    assert_int_equal(pay_seal(k.pk, "de2:icbc:000000000001", CARD, strlen(CARD), b, sizeof b), 0);
    assert_string_not_equal(a, b); /* an ephemeral key per seal */
    assert_null(strstr(a, "6217000000000018"));
    assert_int_equal(pay_seal_open(&k, "de2:icbc:000000000001", a, pt, sizeof pt, &n), 0);
    assert_int_equal(n, strlen(CARD));
    assert_string_equal(pt, CARD);
    assert_int_equal(pay_seal_open(&k, "de2:icbc:000000000001", b, pt, sizeof pt, &n), 0);
    assert_string_equal(pt, CARD);
    pay_seal_key_fini(&k);
}

static void refusals(void **state)
{
    (void)state;
    struct pay_seal_key k, other;
    pay_seal_key_generate(&k);
    pay_seal_key_generate(&other);
    char s[PAY_SEAL_TEXT_LEN(sizeof CARD)], pt[PAY_SEAL_PLAIN_MAX + 1];
    size_t n = 7;
    assert_int_equal(pay_seal(k.pk, "ctx", CARD, strlen(CARD), s, sizeof s), 0);
    assert_int_equal(pay_seal_open(&other, "ctx", s, pt, sizeof pt, &n), -1); /* wrong key */
    assert_int_equal(n, 0);
    assert_int_equal(pay_seal_open(&k, "ctx2", s, pt, sizeof pt, &n), -1); /* other context */
    assert_int_equal(pay_seal_open(&k, "ct", s, pt, sizeof pt, &n), -1);
    assert_int_equal(pay_seal_open(&k, "ctx", s, pt, 10, &n), -1); /* buffer too small */
    char t[sizeof s];
    memcpy(t, s, sizeof s);
    t[20] = t[20] == 'A' ? 'B' : 'A'; /* tampered */
    assert_int_equal(pay_seal_open(&k, "ctx", t, pt, sizeof pt, &n), -1);
    assert_int_equal(pay_seal_open(&k, "ctx", "not base64url!", pt, sizeof pt, &n), -1);
    assert_int_equal(pay_seal_open(&k, "ctx", "", pt, sizeof pt, &n), -1);
    /* limits: empty plaintext or context, too long, too small an output buffer */
    assert_int_equal(pay_seal(k.pk, "ctx", "", 0, s, sizeof s), -1);
    assert_int_equal(pay_seal(k.pk, "", CARD, strlen(CARD), s, sizeof s), -1);
    char big[PAY_SEAL_PLAIN_MAX + 1];
    memset(big, 'x', sizeof big);
    char out[PAY_SEAL_TEXT_LEN(sizeof big)];
    assert_int_equal(pay_seal(k.pk, "ctx", big, sizeof big, out, sizeof out), -1);
    assert_int_equal(pay_seal(k.pk, "ctx", big, PAY_SEAL_PLAIN_MAX, out, sizeof out), 0);
    assert_int_equal(pay_seal(k.pk, "ctx", CARD, strlen(CARD), s, 20), -1);
    pay_seal_key_fini(&k);
    pay_seal_key_fini(&other);
}

static void key_texts(void **state)
{
    (void)state;
    struct pay_seal_key k, back;
    pay_seal_key_generate(&k);
    char pk[PAY_SEAL_KEY_TEXT_LEN], sk[PAY_SEAL_KEY_TEXT_LEN];
    pay_seal_pk_to_text(pk, k.pk);
    pay_seal_sk_to_text(sk, &k);
    assert_int_equal(strlen(pk), 44);
    assert_int_equal(pay_seal_sk_from_text(&back, sk), 0);
    assert_memory_equal(back.pk, k.pk, PAY_SEAL_PK_LEN); /* the public half is derived */
    uint8_t pk2[PAY_SEAL_PK_LEN];
    assert_int_equal(pay_seal_pk_from_text(pk2, pk), 0);
    assert_memory_equal(pk2, k.pk, PAY_SEAL_PK_LEN);
    assert_int_equal(pay_seal_pk_from_text(pk2, "short"), -1);
    assert_int_equal(pay_seal_sk_from_text(&back, "c2hvcnQ="), -1);
    /* sealed to the text form's key, opened by the key read back from its secret text */
    char s[PAY_SEAL_TEXT_LEN(8)], pt[16];
    size_t n = 0;
    assert_int_equal(pay_seal_sk_from_text(&back, sk), 0);
    assert_int_equal(pay_seal(pk2, "sms", "123456", 6, s, sizeof s), 0);
    assert_int_equal(pay_seal_open(&back, "sms", s, pt, sizeof pt, &n), 0);
    assert_string_equal(pt, "123456");
    pay_seal_key_fini(&k);
    pay_seal_key_fini(&back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(round_trip), cmocka_unit_test(refusals),
                                       cmocka_unit_test(key_texts)};
    return cmocka_run_group_tests(tests, setup, NULL);
}
