/* Encryption of stored secrets (card numbers, agreement tokens) with XChaCha20-Poly1305 and
 * key ids, so keys can be rotated: new data is sealed with the current key, old data stays
 * readable while its key is still in the keyring.
 *
 * Sealed text: "<key id>:" + unpadded base64url(24-byte nonce || ciphertext || 16-byte tag),
 * e.g. "k1:Zm9v...". The associated data (aad: e.g. the row's id and column name) is
 * authenticated but not stored, so a sealed value cannot be moved to another row. */
#ifndef PAY_CRYPTO_AEAD_H
#define PAY_CRYPTO_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "core/limits.h"

#define PAY_AEAD_KEY_LEN  32
#define PAY_AEAD_OVERHEAD 40 /* nonce 24 + tag 16 */
/* Buffer size of the sealed text of n plaintext bytes, NUL included. */
#define PAY_AEAD_SEALED_LEN(n)                                                                     \
    (PAY_AEAD_KEY_ID_MAX + 1 + PAY_BASE64URL_LEN((n) + PAY_AEAD_OVERHEAD))

/* Caller-owned keyring; wipe with pay_keyring_fini. */
struct pay_keyring {
    struct {
        char id[PAY_AEAD_KEY_ID_MAX + 1];
        uint8_t key[PAY_AEAD_KEY_LEN];
    } keys[PAY_AEAD_KEYS_MAX];
    size_t count;
    size_t current; /* index of the key that seals */
};

void pay_keyring_init(struct pay_keyring *kr);
void pay_keyring_fini(struct pay_keyring *kr);
/* Adds a key; the first key added, or any with make_current, becomes current. Returns 0, or
 * -1 (bad id, duplicate id, keyring full). */
int pay_keyring_add(struct pay_keyring *kr, const char *id, const uint8_t key[PAY_AEAD_KEY_LEN],
                    int make_current) __attribute__((warn_unused_result));
/* Adds a key from config text "<id>:<base64 of 32 bytes>"; 0 or -1. */
int pay_keyring_add_text(struct pay_keyring *kr, const char *text, int make_current)
    __attribute__((warn_unused_result));
/* Makes a new random key text "<id>:<base64>" for config files (out >= 64 bytes). 0 or -1. */
int pay_keyring_generate_text(const char *id, char *out, size_t out_size);

/* Seals plaintext with the current key. out_size >= PAY_AEAD_SEALED_LEN(pt_len). 0 or -1
 * (empty keyring, buffer too small). */
int pay_aead_seal(const struct pay_keyring *kr, const void *pt, size_t pt_len, const void *aad,
                  size_t aad_len, char *out, size_t out_size) __attribute__((warn_unused_result));
/* Opens sealed text with the key named in it. Writes the plaintext (pt_size >= its length)
 * and *pt_len. Returns 0, or -1: unknown key id, malformed text, wrong aad, tampered data or
 * too small a buffer (pt is wiped then). */
int pay_aead_open(const struct pay_keyring *kr, const char *sealed, const void *aad, size_t aad_len,
                  void *pt, size_t pt_size, size_t *pt_len) __attribute__((warn_unused_result));

#endif
