/* Keyring and XChaCha20-Poly1305 sealing: round trip, rotation, wrong key id, wrong aad,
 * tampering, malformed text, config text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/crypto.h"

static const char PAN[] = "6222020000000001234";

static void keyring_with(struct pay_keyring *kr, const char *id)
{
    uint8_t key[PAY_AEAD_KEY_LEN];
    pay_random_bytes(key, sizeof key);
    assert_int_equal(pay_keyring_add(kr, id, key, 1), 0);
}

static void seal_open_and_rotate(void **state)
{
    (void)state;
    struct pay_keyring kr;
    pay_keyring_init(&kr);
    char sealed[PAY_AEAD_SEALED_LEN(sizeof PAN)], sealed2[sizeof sealed];
    assert_int_equal(pay_aead_seal(&kr, PAN, strlen(PAN), "card:1", 6, sealed, sizeof sealed), -1);
    keyring_with(&kr, "k1");
    assert_int_equal(pay_aead_seal(&kr, PAN, strlen(PAN), "card:1", 6, sealed, sizeof sealed), 0);
    assert_int_equal(strncmp(sealed, "k1:", 3), 0);
    assert_null(strstr(sealed, PAN));
    assert_int_equal(pay_aead_seal(&kr, PAN, strlen(PAN), "card:1", 6, sealed2, sizeof sealed2), 0);
    assert_string_not_equal(sealed, sealed2); /* random nonce each time */
    char pt[64];
    size_t n = 0;
    assert_int_equal(pay_aead_open(&kr, sealed, "card:1", 6, pt, sizeof pt, &n), 0);
    assert_int_equal(n, strlen(PAN));
    assert_memory_equal(pt, PAN, n);

    /* Rotation: k2 becomes current; k1 data stays readable. */
    keyring_with(&kr, "k2");
    assert_int_equal(pay_aead_seal(&kr, PAN, strlen(PAN), "card:1", 6, sealed2, sizeof sealed2), 0);
    assert_int_equal(strncmp(sealed2, "k2:", 3), 0);
    assert_int_equal(pay_aead_open(&kr, sealed, "card:1", 6, pt, sizeof pt, &n), 0);
    assert_int_equal(pay_aead_open(&kr, sealed2, "card:1", 6, pt, sizeof pt, &n), 0);
    assert_memory_equal(pt, PAN, n);
    /* Empty plaintext. */
    char empty[PAY_AEAD_SEALED_LEN(0)];
    assert_int_equal(pay_aead_seal(&kr, "", 0, NULL, 0, empty, sizeof empty), 0);
    assert_int_equal(pay_aead_open(&kr, empty, NULL, 0, pt, sizeof pt, &n), 0);
    assert_int_equal(n, 0);
    pay_keyring_fini(&kr);
}

static void open_rejects(void **state)
{
    (void)state;
    struct pay_keyring kr, other;
    pay_keyring_init(&kr);
    pay_keyring_init(&other);
    keyring_with(&kr, "k1");
    keyring_with(&other, "k1"); /* same id, different key */
    char sealed[PAY_AEAD_SEALED_LEN(sizeof PAN)], bad[sizeof sealed + 8], pt[64];
    size_t n = 0;
    assert_int_equal(pay_aead_seal(&kr, PAN, strlen(PAN), "card:1", 6, sealed, sizeof sealed), 0);
    assert_int_equal(pay_aead_open(&kr, sealed, "card:2", 6, pt, sizeof pt, &n), -1); /* aad */
    assert_int_equal(pay_aead_open(&other, sealed, "card:1", 6, pt, sizeof pt, &n), -1);
    memcpy(bad, sealed, sizeof sealed);
    bad[1] = '9'; /* unknown key id k9 */
    assert_int_equal(pay_aead_open(&kr, bad, "card:1", 6, pt, sizeof pt, &n), -1);
    for (size_t i = 3; i < strlen(sealed); i += 7) { /* tamper anywhere in the payload */
        memcpy(bad, sealed, sizeof sealed);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        assert_int_equal(pay_aead_open(&kr, bad, "card:1", 6, pt, sizeof pt, &n), -1);
    }
    memcpy(bad, sealed, sizeof sealed);
    bad[strlen(bad) - 5] = '\0'; /* truncated */
    assert_int_equal(pay_aead_open(&kr, bad, "card:1", 6, pt, sizeof pt, &n), -1);
    assert_int_equal(pay_aead_open(&kr, "k1", NULL, 0, pt, sizeof pt, &n), -1);
    assert_int_equal(pay_aead_open(&kr, "k1:", NULL, 0, pt, sizeof pt, &n), -1);
    assert_int_equal(pay_aead_open(&kr, "k1:!!!!", NULL, 0, pt, sizeof pt, &n), -1);
    assert_int_equal(pay_aead_open(&kr, sealed, "card:1", 6, pt, 4, &n), -1); /* small buffer */
    assert_int_equal(pay_aead_seal(&kr, PAN, strlen(PAN), NULL, 0, bad, 20), -1);
    pay_keyring_fini(&kr);
    pay_keyring_fini(&other);
}

static void keyring_rules_and_text(void **state)
{
    (void)state;
    struct pay_keyring kr;
    pay_keyring_init(&kr);
    uint8_t key[32] = {1};
    assert_int_equal(pay_keyring_add(&kr, "", key, 0), -1);
    assert_int_equal(pay_keyring_add(&kr, "bad:id", key, 0), -1);
    assert_int_equal(pay_keyring_add(&kr, "0123456789abcdefX", key, 0), -1); /* 17 chars */
    assert_int_equal(pay_keyring_add(&kr, "k1", key, 0), 0);
    assert_int_equal(pay_keyring_add(&kr, "k1", key, 0), -1); /* duplicate */
    char text[64];
    assert_int_equal(pay_keyring_generate_text("k2", text, sizeof text), 0);
    assert_int_equal(strncmp(text, "k2:", 3), 0);
    assert_int_equal(pay_keyring_add_text(&kr, text, 0), 0);
    assert_int_equal(kr.current, 0);                               /* not made current */
    assert_int_equal(pay_keyring_add_text(&kr, "k3:AAAA", 0), -1); /* short key */
    assert_int_equal(pay_keyring_add_text(&kr, "no-colon", 0), -1);
    char id[16];
    for (int i = 0; kr.count < PAY_AEAD_KEYS_MAX; i++) {
        snprintf(id, sizeof id, "x%d", i);
        assert_int_equal(pay_keyring_add(&kr, id, key, 0), 0);
    }
    assert_int_equal(pay_keyring_add(&kr, "full", key, 0), -1);
    pay_keyring_fini(&kr);
    assert_int_equal(kr.count, 0);
}

int main(void)
{
    if (pay_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seal_open_and_rotate),
        cmocka_unit_test(open_rejects),
        cmocka_unit_test(keyring_rules_and_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
