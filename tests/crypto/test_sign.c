/* Ed25519 and RSA-SHA256 keys and signatures: RFC 8032 vector, tampering, wrong keys, text
 * and PEM forms, key files (mode 0600). */
#include "lib/tmp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/sign.h"

static char dir[256];

static void path_in_dir(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static void unhex(uint8_t *out, size_t n, const char *hex)
{
    size_t got = 0;
    assert_int_equal(pay_hex_decode(out, n, hex, strlen(hex), &got), 0);
    assert_int_equal(got, n);
}

/* RFC 8032 section 7.1, TEST 1 (empty message). */
static void ed25519_rfc8032(void **state)
{
    (void)state;
    uint8_t seed[32], pk[32], sig[64], expect[64];
    unhex(seed, 32, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    unhex(pk, 32, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    unhex(expect, 64,
          "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e"
          "39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    struct pay_ed25519_key k;
    pay_ed25519_from_seed(&k, seed);
    assert_memory_equal(k.pk, pk, 32);
    pay_ed25519_sign(sig, "", 0, &k);
    assert_memory_equal(sig, expect, 64);
    assert_int_equal(pay_ed25519_verify(sig, "", 0, pk), 0);
    pay_ed25519_key_fini(&k);
    static const uint8_t zero[sizeof k];
    assert_memory_equal(&k, zero, sizeof k);
}

static void ed25519_rejects(void **state)
{
    (void)state;
    struct pay_ed25519_key k, other;
    pay_ed25519_generate(&k);
    pay_ed25519_generate(&other);
    assert_memory_not_equal(k.pk, other.pk, 32);
    uint8_t sig[64];
    pay_ed25519_sign(sig, "pay 100", 7, &k);
    assert_int_equal(pay_ed25519_verify(sig, "pay 100", 7, k.pk), 0);
    assert_int_equal(pay_ed25519_verify(sig, "pay 900", 7, k.pk), -1);     /* tampered */
    assert_int_equal(pay_ed25519_verify(sig, "pay 100", 7, other.pk), -1); /* wrong key */
    sig[10] ^= 1;
    assert_int_equal(pay_ed25519_verify(sig, "pay 100", 7, k.pk), -1); /* corrupted */
}

static void ed25519_text_and_files(void **state)
{
    (void)state;
    struct pay_ed25519_key k, back;
    pay_ed25519_generate(&k);
    char pk_text[PAY_ED25519_KEY_TEXT_LEN], sk_text[PAY_ED25519_KEY_TEXT_LEN];
    pay_ed25519_pk_to_text(pk_text, k.pk);
    assert_int_equal(strlen(pk_text), 44);
    uint8_t pk[32];
    assert_int_equal(pay_ed25519_pk_from_text(pk, pk_text), 0);
    assert_memory_equal(pk, k.pk, 32);
    assert_int_equal(pay_ed25519_pk_from_text(pk, "AAAA"), -1);
    assert_int_equal(pay_ed25519_pk_from_text(pk, "not base64 at all!!"), -1);
    pay_ed25519_sk_to_text(sk_text, &k);
    assert_int_equal(pay_ed25519_sk_from_text(&back, sk_text), 0);
    assert_memory_equal(&back, &k, sizeof k);

    char path[320];
    path_in_dir(path, sizeof path, "ed.pem");
    assert_int_equal(pay_ed25519_key_save(path, &k), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    memset(&back, 0, sizeof back);
    assert_int_equal(pay_ed25519_key_load(path, &back), 0);
    assert_memory_equal(&back, &k, sizeof k);

    char *pem = pay_ed25519_pk_to_pem(k.pk);
    assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
    assert_int_equal(pay_ed25519_pk_from_pem(pk, pem, strlen(pem)), 0);
    assert_memory_equal(pk, k.pk, 32);
    free(pem);
    path_in_dir(path, sizeof path, "missing.pem");
    assert_int_equal(pay_ed25519_key_load(path, &back), -1);
    path_in_dir(path, sizeof path, "garbage.pem");
    FILE *f = fopen(path, "w");
    fputs("-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----\n", f);
    fclose(f);
    assert_int_equal(pay_ed25519_key_load(path, &back), -1);
}

static void rsa_sign_verify(void **state)
{
    (void)state;
    struct pay_rsa_key *k = NULL, *other = NULL;
    assert_int_equal(pay_rsa_generate(1024, &k), -1); /* below PAY_RSA_BITS_MIN */
    assert_int_equal(pay_rsa_generate(2048, &k), 0);
    assert_int_equal(pay_rsa_generate(2048, &other), 0);
    assert_true(pay_rsa_key_is_private(k));
    assert_int_equal(pay_rsa_key_bits(k), 2048);
    uint8_t sig[PAY_RSA_SIG_MAX], sig2[PAY_RSA_SIG_MAX];
    size_t n = 0, n2 = 0;
    assert_int_equal(pay_rsa_sign(k, "tranData", 8, sig, 100, &n), -1); /* buffer too small */
    assert_int_equal(pay_rsa_sign(k, "tranData", 8, sig, sizeof sig, &n), 0);
    assert_int_equal(n, 256);
    assert_int_equal(pay_rsa_sign(k, "tranData", 8, sig2, sizeof sig2, &n2), 0);
    assert_memory_equal(sig, sig2, n); /* PKCS#1 v1.5 is deterministic */
    assert_int_equal(pay_rsa_verify(k, "tranData", 8, sig, n), 0);
    assert_int_equal(pay_rsa_verify(k, "tranDatb", 8, sig, n), -1);
    assert_int_equal(pay_rsa_verify(other, "tranData", 8, sig, n), -1);
    assert_int_equal(pay_rsa_verify(k, "tranData", 8, sig, n - 1), -1);
    sig[100] ^= 0x40;
    assert_int_equal(pay_rsa_verify(k, "tranData", 8, sig, n), -1);
    pay_rsa_key_free(other);
    pay_rsa_key_free(k);
}

static void rsa_pem_and_files(void **state)
{
    (void)state;
    struct pay_rsa_key *k = NULL, *pub = NULL, *priv = NULL, *loaded = NULL;
    assert_int_equal(pay_rsa_generate(2048, &k), 0);
    char *pub_pem = pay_rsa_public_pem(k), *priv_pem = pay_rsa_private_pem(k);
    assert_non_null(strstr(pub_pem, "BEGIN PUBLIC KEY"));
    assert_non_null(strstr(priv_pem, "BEGIN PRIVATE KEY"));
    assert_int_equal(pay_rsa_key_from_pem(pub_pem, strlen(pub_pem), &pub), 0);
    assert_int_equal(pay_rsa_key_from_pem(priv_pem, strlen(priv_pem), &priv), 0);
    assert_false(pay_rsa_key_is_private(pub));
    assert_null(pay_rsa_private_pem(pub));
    uint8_t sig[PAY_RSA_SIG_MAX];
    size_t n = 0;
    assert_int_equal(pay_rsa_sign(pub, "x", 1, sig, sizeof sig, &n), -1); /* public: no signing */
    assert_int_equal(pay_rsa_sign(priv, "x", 1, sig, sizeof sig, &n), 0);
    assert_int_equal(pay_rsa_verify(pub, "x", 1, sig, n), 0);
    assert_int_equal(pay_rsa_key_from_pem("garbage", 7, &loaded), -1);
    /* An Ed25519 key is not an RSA key. */
    struct pay_ed25519_key ed;
    pay_ed25519_generate(&ed);
    char *ed_pem = pay_ed25519_pk_to_pem(ed.pk);
    assert_int_equal(pay_rsa_key_from_pem(ed_pem, strlen(ed_pem), &loaded), -1);
    free(ed_pem);

    char path[320];
    path_in_dir(path, sizeof path, "rsa.pem");
    assert_int_equal(pay_rsa_key_save(path, k, 0), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(pay_rsa_key_load(path, &loaded), 0);
    assert_true(pay_rsa_key_is_private(loaded));
    assert_int_equal(pay_rsa_sign(loaded, "x", 1, sig, sizeof sig, &n), 0);
    assert_int_equal(pay_rsa_verify(k, "x", 1, sig, n), 0);
    pay_rsa_key_free(loaded);
    path_in_dir(path, sizeof path, "rsa.pub");
    assert_int_equal(pay_rsa_key_save(path, k, 1), 0);
    assert_int_equal(pay_rsa_key_load(path, &loaded), 0);
    assert_false(pay_rsa_key_is_private(loaded));
    pay_rsa_key_free(loaded);
    free(pub_pem);
    pay_wipe(priv_pem, strlen(priv_pem));
    free(priv_pem);
    pay_rsa_key_free(pub);
    pay_rsa_key_free(priv);
    pay_rsa_key_free(k);
}

static int cleanup(void **state)
{
    (void)state;
    return th_tmpdir_done(dir);
}

int main(void)
{
    if (pay_crypto_init() != 0 || th_tmpdir(dir, sizeof dir, "paygate-test-sign") != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ed25519_rfc8032),        cmocka_unit_test(ed25519_rejects),
        cmocka_unit_test(ed25519_text_and_files), cmocka_unit_test(rsa_sign_verify),
        cmocka_unit_test(rsa_pem_and_files),
    };
    return th_finish(cmocka_run_group_tests(tests, NULL, th_teardown(cleanup)));
}
