/* The key folder of a server (keydir.h). */
#include "crypto/keydir.h"
#include "core/buf.h"
#include "core/limits.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void path_of(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

/* Writes a key pair as key (0600) and certificate (0644). */
static int write_pair(const char *kp, const char *cp, const struct pay_x509_pair *p)
{
    return pay_file_write(kp, p->key_pem, strlen(p->key_pem), 0600) |
           pay_file_write(cp, p->cert_pem, strlen(p->cert_pem), 0644);
}

enum pay_err pay_keydir_certs_load(const char *dir, const char *org, const char *sign_cn,
                                   struct pay_keydir_certs *out, struct pay_error *err)
{
    char cp[4096], kp[4096], sp[4096], skp[4096];
    path_of(cp, sizeof cp, dir, "ca.crt");
    path_of(kp, sizeof kp, dir, "ca.key");
    path_of(sp, sizeof sp, dir, "sign.crt");
    path_of(skp, sizeof skp, dir, "sign.key");
    memset(out, 0, sizeof *out);
    if (access(cp, R_OK) != 0) {
        struct pay_x509_pair ca = {0};
        char cn[PAY_X509_NAME_MAX + 1];
        snprintf(cn, sizeof cn, "%.50s Root CA", org);
        enum pay_err rc = pay_x509_ca_create(cn, org, PAY_X509_DAYS_MAX, &ca, err);
        if (rc != PAY_ERR_OK)
            return rc;
        int w = write_pair(kp, cp, &ca);
        pay_x509_pair_fini(&ca);
        if (w != 0)
            return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot write %s", cp);
        unlink(sp); /* a new CA: the old signing certificate no longer chains to it */
    }
    out->ca_cert_pem = pay_file_read(cp, PAY_CRYPTO_PEM_MAX, NULL);
    out->ca_key_pem = pay_file_read(kp, PAY_CRYPTO_PEM_MAX, NULL);
    if (!out->ca_cert_pem || !out->ca_key_pem)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot read the CA in %s", dir);
    if (access(sp, R_OK) != 0) {
        struct pay_x509_pair s = {0};
        enum pay_err rc = pay_x509_issue(out->ca_cert_pem, out->ca_key_pem, sign_cn, org,
                                         PAY_X509_DAYS_MAX, PAY_X509_KEY_RSA2048, &s, err);
        if (rc != PAY_ERR_OK)
            return rc;
        int w = write_pair(skp, sp, &s);
        pay_x509_pair_fini(&s);
        if (w != 0)
            return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot write %s", sp);
    }
    out->sign_cert_pem = pay_file_read(sp, PAY_CRYPTO_PEM_MAX, NULL);
    if (!out->sign_cert_pem || pay_rsa_key_load(skp, &out->sign_key) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot read the signing key in %s", dir);
    return PAY_ERR_OK;
}

void pay_keydir_certs_fini(struct pay_keydir_certs *c)
{
    free(c->ca_cert_pem);
    if (c->ca_key_pem) {
        pay_wipe(c->ca_key_pem, strlen(c->ca_key_pem));
        free(c->ca_key_pem);
    }
    free(c->sign_cert_pem);
    pay_rsa_key_free(c->sign_key);
    memset(c, 0, sizeof *c);
}

int pay_keydir_secret(const char *dir, const char *name, uint8_t out[32])
{
    char path[4096];
    path_of(path, sizeof path, dir, name);
    char *text = pay_file_read(path, 256, NULL);
    if (!text) {
        uint8_t k[32];
        char hex[PAY_HEX_LEN(32)];
        pay_random_bytes(k, sizeof k);
        int w = pay_hex_encode(hex, sizeof hex, k, sizeof k) == 0 &&
                        pay_file_write(path, hex, strlen(hex), 0600) == 0
                    ? 0
                    : -1;
        pay_wipe(k, sizeof k);
        pay_wipe(hex, sizeof hex);
        if (w != 0 || !(text = pay_file_read(path, 256, NULL)))
            return -1;
    }
    size_t len = 0;
    int rc = pay_hex_decode(out, 32, text, strlen(text), &len) == 0 && len == 32 ? 0 : -1;
    pay_wipe(text, strlen(text));
    free(text);
    return rc;
}
