/* Sealing to a recipient's public key: card data travels between the card network's members
 * (docs/switch.md) encrypted to the one party that may read it, so a party in the middle (the
 * switch re-sealing a card number to its issuer) handles it without a key that opens it.
 *
 * X25519 sealed boxes (libsodium crypto_box_seal: an ephemeral key pair per message,
 * XSalsa20-Poly1305): only the holder of the recipient's secret key can open one, nobody can
 * tell who sealed it, and two seals of the same plaintext differ. A context string (the purpose
 * and the message it belongs to) is sealed in front of the plaintext and must match when it is
 * opened, so a sealed value cannot be lifted into another message or field.
 *
 * Sealed text: unpadded base64url of the box. Keys as text: standard base64 of 32 bytes. */
#ifndef PAY_CRYPTO_SEAL_H
#define PAY_CRYPTO_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "core/limits.h"

#define PAY_SEAL_PK_LEN       32
#define PAY_SEAL_SK_LEN       32
#define PAY_SEAL_KEY_TEXT_LEN 45 /* base64 of 32 bytes + NUL */
#define PAY_SEAL_OVERHEAD     48 /* crypto_box_SEALBYTES */
/* Buffer size of the sealed text of n plaintext bytes under a context, NUL included. */
#define PAY_SEAL_TEXT_LEN(n) PAY_BASE64URL_LEN((n) + 1 + PAY_SEAL_CONTEXT_MAX + PAY_SEAL_OVERHEAD)

/* An X25519 key pair; caller-owned. Wipe with pay_seal_key_fini. */
struct pay_seal_key {
    uint8_t pk[PAY_SEAL_PK_LEN];
    uint8_t sk[PAY_SEAL_SK_LEN];
};

void pay_seal_key_generate(struct pay_seal_key *k);
void pay_seal_key_fini(struct pay_seal_key *k); /* wipes */

/* Text forms (standard base64, 44 chars). The secret text is a secret: files 0600. from_text
 * returns 0 or -1 (bad text); sk_from_text derives the public half too. */
void pay_seal_pk_to_text(char out[PAY_SEAL_KEY_TEXT_LEN], const uint8_t pk[PAY_SEAL_PK_LEN]);
int pay_seal_pk_from_text(uint8_t pk[PAY_SEAL_PK_LEN], const char *text)
    __attribute__((warn_unused_result));
void pay_seal_sk_to_text(char out[PAY_SEAL_KEY_TEXT_LEN], const struct pay_seal_key *k);
int pay_seal_sk_from_text(struct pay_seal_key *k, const char *text)
    __attribute__((warn_unused_result));

/* Seals pt (1..PAY_SEAL_PLAIN_MAX bytes) under context (1..PAY_SEAL_CONTEXT_MAX bytes, no NUL)
 * to pk; writes the sealed text into out (out_size >= PAY_SEAL_TEXT_LEN(pt_len)). 0 or -1. */
int pay_seal(const uint8_t pk[PAY_SEAL_PK_LEN], const char *context, const void *pt, size_t pt_len,
             char *out, size_t out_size) __attribute__((warn_unused_result));

/* Opens sealed text with k and checks that it was sealed under context. Writes the plaintext
 * NUL-terminated into pt (pt_size > its length) and *pt_len. 0, or -1: not for this key,
 * tampered, another context, malformed, or too small a buffer (pt is wiped then). */
int pay_seal_open(const struct pay_seal_key *k, const char *context, const char *sealed, char *pt,
                  size_t pt_size, size_t *pt_len) __attribute__((warn_unused_result));

#endif
