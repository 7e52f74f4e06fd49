/* The bank's CA: issuing merchant certificates, verifying them (chain, validity, CN, not a CA),
 * serial numbers, and signatures with certificate keys (merSignMsg). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "crypto/x509.h"

struct cas {
    struct pay_x509_pair ca, other_ca, merchant;
};

static int setup(void **state)
{
    struct cas *c = calloc(1, sizeof *c);
    struct pay_error e;
    if (pay_x509_ca_create("Paygate Sandbox Bank CA", "Sandbox Bank", 3650, &c->ca, &e) != 0 ||
        pay_x509_ca_create("Foreign CA", "Other Bank", 3650, &c->other_ca, &e) != 0 ||
        pay_x509_issue(c->ca.cert_pem, c->ca.key_pem, "M100001", "Demo Shop Ltd", 365,
                       PAY_X509_KEY_RSA2048, &c->merchant, &e) != 0)
        return -1;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct cas *c = *state;
    pay_x509_pair_fini(&c->ca);
    pay_x509_pair_fini(&c->other_ca);
    pay_x509_pair_fini(&c->merchant);
    free(c);
    return 0;
}

static void issue_and_verify(void **state)
{
    struct cas *c = *state;
    assert_non_null(strstr(c->merchant.cert_pem, "-----BEGIN CERTIFICATE-----"));
    assert_non_null(strstr(c->merchant.key_pem, "-----BEGIN PRIVATE KEY-----"));
    assert_int_equal(strlen(c->merchant.serial_hex), 32);
    char serial[PAY_X509_SERIAL_HEX_MAX], cn[PAY_X509_NAME_MAX + 1];
    struct pay_error e;
    int64_t now = time(NULL);
    assert_int_equal(
        pay_x509_verify(c->merchant.cert_pem, c->ca.cert_pem, "M100001", now, serial, &e),
        PAY_ERR_OK);
    assert_string_equal(serial, c->merchant.serial_hex);
    assert_int_equal(pay_x509_info(c->merchant.cert_pem, serial, cn), 0);
    assert_string_equal(cn, "M100001");
    assert_string_equal(serial, c->merchant.serial_hex);
    /* Two certificates never share a serial. */
    struct pay_x509_pair second;
    assert_int_equal(pay_x509_issue(c->ca.cert_pem, c->ca.key_pem, "M100001", "Demo Shop Ltd", 365,
                                    PAY_X509_KEY_RSA2048, &second, &e),
                     PAY_ERR_OK);
    assert_string_not_equal(second.serial_hex, c->merchant.serial_hex);
    pay_x509_pair_fini(&second);
}

static void verify_rejects(void **state)
{
    struct cas *c = *state;
    struct pay_error e;
    int64_t now = time(NULL);
    char serial[PAY_X509_SERIAL_HEX_MAX];
    /* Wrong merchant id, also a prefix of the real one. */
    assert_int_equal(
        pay_x509_verify(c->merchant.cert_pem, c->ca.cert_pem, "M100002", now, serial, &e),
        PAY_ERR_CERT_INVALID);
    assert_int_equal(
        pay_x509_verify(c->merchant.cert_pem, c->ca.cert_pem, "M10000", now, serial, &e),
        PAY_ERR_CERT_INVALID);
    /* Issued by another CA. */
    assert_int_equal(
        pay_x509_verify(c->merchant.cert_pem, c->other_ca.cert_pem, "M100001", now, serial, &e),
        PAY_ERR_CERT_INVALID);
    /* Expired (checked at a time after notAfter) and not yet valid. */
    assert_int_equal(pay_x509_verify(c->merchant.cert_pem, c->ca.cert_pem, "M100001",
                                     now + 366 * 86400LL, serial, &e),
                     PAY_ERR_CERT_INVALID);
    assert_non_null(strstr(e.detail, "expired"));
    assert_int_equal(
        pay_x509_verify(c->merchant.cert_pem, c->ca.cert_pem, "M100001", now - 86400, serial, &e),
        PAY_ERR_CERT_INVALID);
    /* The CA's own certificate is not a merchant certificate, whatever its CN. */
    assert_int_equal(
        pay_x509_verify(c->ca.cert_pem, c->ca.cert_pem, "Paygate Sandbox Bank CA", now, serial, &e),
        PAY_ERR_CERT_INVALID);
    /* A certificate signed by a foreign CA with the same subject names as ours. */
    struct pay_x509_pair fake_ca, fake;
    assert_int_equal(
        pay_x509_ca_create("Paygate Sandbox Bank CA", "Sandbox Bank", 30, &fake_ca, &e),
        PAY_ERR_OK);
    assert_int_equal(pay_x509_issue(fake_ca.cert_pem, fake_ca.key_pem, "M100001", "Demo Shop Ltd",
                                    30, PAY_X509_KEY_RSA2048, &fake, &e),
                     PAY_ERR_OK);
    assert_int_equal(pay_x509_verify(fake.cert_pem, c->ca.cert_pem, "M100001", now, serial, &e),
                     PAY_ERR_CERT_INVALID);
    /* Garbage and a tampered certificate. */
    assert_int_equal(pay_x509_verify("not a cert", c->ca.cert_pem, "M100001", now, serial, &e),
                     PAY_ERR_CERT_INVALID);
    char *t = strdup(c->merchant.cert_pem);
    char *mid = t + strlen(t) / 2;
    *mid = *mid == 'A' ? 'B' : 'A';
    assert_int_equal(pay_x509_verify(t, c->ca.cert_pem, "M100001", now, serial, &e),
                     PAY_ERR_CERT_INVALID);
    free(t);
    pay_x509_pair_fini(&fake);
    pay_x509_pair_fini(&fake_ca);
}

static void issue_rejects(void **state)
{
    struct cas *c = *state;
    struct pay_x509_pair p;
    struct pay_error e;
    assert_int_equal(
        pay_x509_issue(c->ca.cert_pem, c->ca.key_pem, "", "Org", 30, PAY_X509_KEY_RSA2048, &p, &e),
        PAY_ERR_FIELD_INVALID);
    assert_int_equal(pay_x509_issue(c->ca.cert_pem, c->ca.key_pem, "M1\n", "Org", 30,
                                    PAY_X509_KEY_RSA2048, &p, &e),
                     PAY_ERR_FIELD_INVALID);
    assert_int_equal(
        pay_x509_issue(c->ca.cert_pem, c->ca.key_pem, "M1", "Org", 0, PAY_X509_KEY_RSA2048, &p, &e),
        PAY_ERR_FIELD_INVALID);
    /* The CA key must belong to the CA certificate. */
    assert_int_equal(pay_x509_issue(c->ca.cert_pem, c->other_ca.key_pem, "M1", "Org", 30,
                                    PAY_X509_KEY_RSA2048, &p, &e),
                     PAY_ERR_CONFIG_INVALID);
}

static void sign_with_cert_key(void **state)
{
    struct cas *c = *state;
    const char *tran = "<B2CReq><orderid>T1</orderid><amount>1250</amount></B2CReq>";
    char sig[1024];
    assert_int_equal(pay_x509_sign(c->merchant.key_pem, tran, strlen(tran), sig, sizeof sig), 0);
    assert_int_equal(strlen(sig), 344); /* base64 of a 256-byte RSA signature */
    assert_int_equal(pay_x509_verify_data(c->merchant.cert_pem, tran, strlen(tran), sig), 0);
    assert_int_equal(pay_x509_verify_data(c->merchant.cert_pem, "tampered", 8, sig), -1);
    assert_int_equal(pay_x509_verify_data(c->ca.cert_pem, tran, strlen(tran), sig), -1);
    assert_int_equal(pay_x509_verify_data(c->merchant.cert_pem, tran, strlen(tran), "!!"), -1);
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    assert_int_equal(pay_x509_verify_data(c->merchant.cert_pem, tran, strlen(tran), sig), -1);
    assert_int_equal(pay_x509_sign("junk", tran, strlen(tran), sig, sizeof sig), -1);
    assert_int_equal(pay_x509_sign(c->merchant.key_pem, tran, strlen(tran), sig, 100), -1);
}

static void ed25519_merchant(void **state)
{
    struct cas *c = *state;
    struct pay_x509_pair m;
    struct pay_error e;
    assert_int_equal(pay_x509_issue(c->ca.cert_pem, c->ca.key_pem, "M200", "Ed Shop", 30,
                                    PAY_X509_KEY_ED25519, &m, &e),
                     PAY_ERR_OK);
    assert_int_equal(pay_x509_verify(m.cert_pem, c->ca.cert_pem, "M200", time(NULL), NULL, &e),
                     PAY_ERR_OK);
    char sig[1024];
    assert_int_equal(pay_x509_sign(m.key_pem, "order", 5, sig, sizeof sig), 0);
    assert_int_equal(pay_x509_verify_data(m.cert_pem, "order", 5, sig), 0);
    assert_int_equal(pay_x509_verify_data(m.cert_pem, "ordeR", 5, sig), -1);
    pay_x509_pair_fini(&m);
}

int main(void)
{
    if (pay_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(issue_and_verify), cmocka_unit_test(verify_rejects),
        cmocka_unit_test(issue_rejects),    cmocka_unit_test(sign_with_cert_key),
        cmocka_unit_test(ed25519_merchant),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
