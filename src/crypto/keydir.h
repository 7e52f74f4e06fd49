/* A server's key folder (<data dir>/keys), shared by the bank and the switch: its small CA (which
 * issues merchants' or members' certificates), its signing certificate issued by that CA, and
 * 32-byte secrets (index, CVV2, OTP keys). Everything is created on first use: private keys
 * and secrets with mode 0600, certificates 0644 (public on purpose). */
#ifndef PAY_CRYPTO_KEYDIR_H
#define PAY_CRYPTO_KEYDIR_H

#include "core/errors.h"
#include "crypto/sign.h"

#include <stdint.h>

struct pay_keydir_certs {
    char *ca_cert_pem;            /* ca.crt: "<org> Root CA" */
    char *ca_key_pem;             /* ca.key */
    char *sign_cert_pem;          /* sign.crt: CN = sign_cn, issued by the CA */
    struct pay_rsa_key *sign_key; /* sign.key (RSA-2048) */
};

/* Loads (creating on first use) the CA and the signing certificate of dir. A new CA also gets
 * a new signing certificate. INTERNAL naming the file when one cannot be made or read. Free
 * with pay_keydir_certs_fini (also after a failure). */
enum pay_err pay_keydir_certs_load(const char *dir, const char *org, const char *sign_cn,
                                   struct pay_keydir_certs *out, struct pay_error *err);
void pay_keydir_certs_fini(struct pay_keydir_certs *c); /* wipes the CA key */

/* A 32-byte secret kept as hex in dir/name, made on first use. 0 or -1. */
int pay_keydir_secret(const char *dir, const char *name, uint8_t out[32]);

#endif
