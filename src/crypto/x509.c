/* The bank's small certificate authority (x509.h) over OpenSSL 3: CA creation, merchant
 * certificates for a CSR-less flow, verification against the CA, signatures with cert keys. */
#include "crypto/x509.h"
#include "crypto/crypto.h"
#include "crypto/internal.h"
#include "core/limits.h"

#include <assert.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define SERIAL_LEN 16
#define BACKDATE_S 60 /* notBefore a minute early: tolerates small clock steps */

void pay_x509_pair_fini(struct pay_x509_pair *p)
{
    if (p->key_pem != NULL)
        pay_wipe(p->key_pem, strlen(p->key_pem));
    free(p->key_pem);
    free(p->cert_pem);
    memset(p, 0, sizeof *p);
}

static X509 *cert_from_pem(const char *pem)
{
    if (pem == NULL)
        return NULL;
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    return x;
}

static char *cert_to_pem(X509 *x)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *s = bio != NULL && PEM_write_bio_X509(bio, x) == 1 ? pay_bio_to_string(bio) : NULL;
    BIO_free(bio);
    return s;
}

/* Names are 1..64 printable ASCII characters: they end up in DNs and logs. */
static int valid_name(const char *s)
{
    size_t n = s != NULL ? strnlen(s, PAY_X509_NAME_MAX + 1) : 0;
    if (n == 0 || n > PAY_X509_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    return 1;
}

static int serial_hex(const X509 *x, char out[PAY_X509_SERIAL_HEX_MAX])
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *h = bn != NULL ? BN_bn2hex(bn) : NULL;
    BN_free(bn);
    size_t n = h != NULL ? strlen(h) : 0;
    int ok = n > 0 && n < PAY_X509_SERIAL_HEX_MAX && h[0] != '-';
    if (ok)
        for (size_t i = 0; i <= n; i++)
            out[i] = (char)tolower((unsigned char)h[i]);
    OPENSSL_free(h);
    return ok ? 0 : -1;
}

static int set_random_serial(X509 *x)
{
    uint8_t b[SERIAL_LEN];
    pay_random_bytes(b, sizeof b);
    b[0] = (uint8_t)((b[0] & 0x7f) | 0x40); /* positive, and always 32 hex digits */
    BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
    ASN1_INTEGER *ai = bn != NULL ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    int ok = ai != NULL && X509_set_serialNumber(x, ai) == 1;
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return ok;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    int ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

static int set_subject(X509 *x, const char *cn, const char *org)
{
    X509_NAME *name = X509_get_subject_name(x);
    return X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)org, -1, -1,
                                      0) == 1 &&
           X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                      0) == 1;
}

/* Makes a certificate for key: self-signed when issuer is NULL (then issuer_key == key). */
static X509 *build_cert(EVP_PKEY *key, const char *cn, const char *org, int days, X509 *issuer,
                        EVP_PKEY *issuer_key, int is_ca)
{
    X509 *x = X509_new();
    int ok = x != NULL && X509_set_version(x, X509_VERSION_3) == 1 && set_random_serial(x) &&
             X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_S) != NULL &&
             X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) != NULL &&
             X509_set_pubkey(x, key) == 1 && set_subject(x, cn, org) &&
             X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x)) == 1;
    X509 *iss = issuer ? issuer : x;
    ok = ok &&
         add_ext(x, iss, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    ok = ok && add_ext(x, iss, NID_key_usage,
                       is_ca ? "critical,keyCertSign,cRLSign"
                             : "critical,digitalSignature,nonRepudiation");
    ok = ok && add_ext(x, iss, NID_subject_key_identifier, "hash");
    ok = ok && add_ext(x, iss, NID_authority_key_identifier, "keyid:always");
    ok =
        ok && X509_sign(x, issuer_key,
                        EVP_PKEY_get_base_id(issuer_key) == EVP_PKEY_RSA ? EVP_sha256() : NULL) > 0;
    ERR_clear_error();
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Fills out from a fresh certificate and its key; takes nothing over. */
static enum pay_err fill_pair(X509 *x, EVP_PKEY *key, struct pay_x509_pair *out,
                              struct pay_error *e)
{
    memset(out, 0, sizeof *out);
    out->cert_pem = cert_to_pem(x);
    out->key_pem = pay_pkey_to_pem(key, 1);
    if (out->cert_pem == NULL || out->key_pem == NULL || serial_hex(x, out->serial_hex) != 0) {
        pay_x509_pair_fini(out);
        return pay_error_set(e, PAY_ERR_INTERNAL, "certificate", "cannot encode certificate");
    }
    return PAY_ERR_OK;
}

static enum pay_err check_args(const char *cn, const char *org, int days, struct pay_error *e)
{
    if (!valid_name(cn))
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "cn", "1-64 printable ASCII characters");
    if (!valid_name(org))
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "org", "1-64 printable ASCII characters");
    if (days < 1 || days > PAY_X509_DAYS_MAX)
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "days", "1..%d", PAY_X509_DAYS_MAX);
    return PAY_ERR_OK;
}

enum pay_err pay_x509_ca_create(const char *cn, const char *org, int days,
                                struct pay_x509_pair *out, struct pay_error *e)
{
    pay_crypto_assert_ready();
    enum pay_err rc = check_args(cn, org, days, e);
    if (rc != PAY_ERR_OK)
        return rc;
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    X509 *x = key != NULL ? build_cert(key, cn, org, days, NULL, key, 1) : NULL;
    rc = x != NULL ? fill_pair(x, key, out, e)
                   : pay_error_set(e, PAY_ERR_INTERNAL, "certificate", "cannot create CA");
    X509_free(x);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return rc;
}

static EVP_PKEY *generate_key(enum pay_x509_key_type kt)
{
    EVP_PKEY *k = kt == PAY_X509_KEY_ED25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
                                             : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ERR_clear_error();
    return k;
}

enum pay_err pay_x509_issue(const char *ca_cert_pem, const char *ca_key_pem, const char *mer_id,
                            const char *org, int days, enum pay_x509_key_type kt,
                            struct pay_x509_pair *out, struct pay_error *e)
{
    pay_crypto_assert_ready();
    enum pay_err rc = check_args(mer_id, org, days, e);
    if (rc != PAY_ERR_OK)
        return rc;
    X509 *ca = cert_from_pem(ca_cert_pem);
    EVP_PKEY *ca_key =
        ca_key_pem != NULL ? pay_pkey_from_pem(ca_key_pem, strlen(ca_key_pem), 1) : NULL;
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    if (ca == NULL || ca_key == NULL || X509_check_private_key(ca, ca_key) != 1) {
        rc = pay_error_set(e, PAY_ERR_CONFIG_INVALID, "ca", "CA certificate or key unusable");
    } else if ((key = generate_key(kt)) == NULL ||
               (x = build_cert(key, mer_id, org, days, ca, ca_key, 0)) == NULL) {
        rc = pay_error_set(e, PAY_ERR_INTERNAL, "certificate", "cannot issue certificate");
    } else {
        rc = fill_pair(x, key, out, e);
    }
    X509_free(x);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    X509_free(ca);
    ERR_clear_error();
    return rc;
}

/* The subject's one CN as text; -1 when absent, repeated, too long or holding a NUL. */
static int subject_cn(X509 *x, char out[PAY_X509_NAME_MAX + 1])
{
    X509_NAME *name = X509_get_subject_name(x);
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (i < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0)
        return -1;
    unsigned char *u = NULL;
    int n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    int ok = n > 0 && n <= PAY_X509_NAME_MAX && memchr(u, 0, (size_t)n) == NULL;
    if (ok) {
        memcpy(out, u, (size_t)n);
        out[n] = '\0';
    }
    OPENSSL_free(u);
    return ok ? 0 : -1;
}

/* Chain and validity period at now. Returns NULL or the reason. */
static const char *check_chain(X509 *cert, X509 *ca, int64_t now)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    const char *why = "cannot set up verification";
    if (store != NULL && ctx != NULL && X509_STORE_add_cert(store, ca) == 1 &&
        X509_STORE_CTX_init(ctx, store, cert, NULL) == 1) {
        X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)now);
        if (X509_verify_cert(ctx) == 1)
            why = NULL;
        else
            why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return why;
}

enum pay_err pay_x509_verify(const char *cert_pem, const char *ca_cert_pem, const char *expected_cn,
                             int64_t now, char serial_out[PAY_X509_SERIAL_HEX_MAX],
                             struct pay_error *e)
{
    X509 *cert = cert_from_pem(cert_pem), *ca = cert_from_pem(ca_cert_pem);
    char cn[PAY_X509_NAME_MAX + 1], serial[PAY_X509_SERIAL_HEX_MAX];
    const char *why = NULL;
    if (ca == NULL)
        why = "CA certificate unreadable";
    else if (cert == NULL)
        why = "not a PEM certificate";
    else if ((why = check_chain(cert, ca, now)) != NULL)
        ;
    else if (X509_check_ca(cert) != 0)
        why = "certificate is a CA, not a merchant certificate";
    else if (subject_cn(cert, cn) != 0 || strcmp(cn, expected_cn) != 0)
        why = "subject CN does not match the merchant id";
    else if (serial_hex(cert, serial) != 0)
        why = "bad serial number";
    X509_free(cert);
    X509_free(ca);
    ERR_clear_error();
    if (why != NULL)
        return pay_error_set(e, PAY_ERR_CERT_INVALID, "merCert", "%s", why);
    if (serial_out != NULL)
        memcpy(serial_out, serial, sizeof serial);
    return PAY_ERR_OK;
}

int pay_x509_info(const char *cert_pem, char serial_out[PAY_X509_SERIAL_HEX_MAX],
                  char cn_out[PAY_X509_NAME_MAX + 1])
{
    X509 *x = cert_from_pem(cert_pem);
    int rc = x != NULL && serial_hex(x, serial_out) == 0 && subject_cn(x, cn_out) == 0 ? 0 : -1;
    X509_free(x);
    return rc;
}

int pay_x509_sign(const char *key_pem, const void *data, size_t len, char *sig_b64, size_t sig_size)
{
    EVP_PKEY *key = key_pem != NULL ? pay_pkey_from_pem(key_pem, strlen(key_pem), 1) : NULL;
    uint8_t sig[PAY_X509_SIG_MAX];
    size_t n = 0;
    int rc = key != NULL && pay_pkey_sign(key, data, len, sig, sizeof sig, &n) == 0
                 ? pay_base64_encode(sig_b64, sig_size, sig, n)
                 : -1;
    EVP_PKEY_free(key);
    return rc;
}

int pay_x509_verify_data(const char *cert_pem, const void *data, size_t len, const char *sig_b64)
{
    X509 *x = cert_from_pem(cert_pem);
    uint8_t sig[PAY_X509_SIG_MAX];
    size_t n = 0;
    int rc = -1;
    if (x != NULL && sig_b64 != NULL &&
        pay_base64_decode(sig, sizeof sig, sig_b64, strlen(sig_b64), &n) == 0)
        rc = pay_pkey_verify(X509_get0_pubkey(x), data, len, sig, n);
    X509_free(x);
    ERR_clear_error();
    return rc;
}

char *pay_x509_public_pem(const char *cert_pem)
{
    X509 *x = cert_pem != NULL ? cert_from_pem(cert_pem) : NULL;
    char *pem = x != NULL ? pay_pkey_to_pem(X509_get0_pubkey(x), 0) : NULL;
    X509_free(x);
    ERR_clear_error();
    return pem;
}
