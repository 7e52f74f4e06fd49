/* XChaCha20-Poly1305 sealing of stored secrets with a keyring of named keys (aead.h). */
#include "crypto/aead.h"
#include "core/assertions.h"
#include "crypto/crypto.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN   crypto_aead_xchacha20poly1305_ietf_ABYTES

static int valid_id(const char *id, size_t len)
{
    if (len == 0 || len > PAY_AEAD_KEY_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Index of the key named id[0..len), or -1. */
static int find_key(const struct pay_keyring *kr, const char *id, size_t len)
{
    for (size_t i = 0; i < kr->count; i++)
        if (strlen(kr->keys[i].id) == len && memcmp(kr->keys[i].id, id, len) == 0)
            return (int)i;
    return -1;
}

void pay_keyring_init(struct pay_keyring *kr)
{
    memset(kr, 0, sizeof *kr);
}

void pay_keyring_fini(struct pay_keyring *kr)
{
    pay_wipe(kr, sizeof *kr);
}

int pay_keyring_add(struct pay_keyring *kr, const char *id, const uint8_t key[PAY_AEAD_KEY_LEN],
                    int make_current)
{
    size_t len = strnlen(id, PAY_AEAD_KEY_ID_MAX + 1);
    if (!valid_id(id, len) || kr->count == PAY_AEAD_KEYS_MAX || find_key(kr, id, len) >= 0)
        return -1;
    memcpy(kr->keys[kr->count].id, id, len + 1);
    memcpy(kr->keys[kr->count].key, key, PAY_AEAD_KEY_LEN);
    if (kr->count == 0 || make_current)
        kr->current = kr->count;
    kr->count++;
    return 0;
}

int pay_keyring_add_text(struct pay_keyring *kr, const char *text, int make_current)
{
    const char *colon = strchr(text, ':');
    if (colon == NULL || (size_t)(colon - text) > PAY_AEAD_KEY_ID_MAX)
        return -1;
    char id[PAY_AEAD_KEY_ID_MAX + 1];
    memcpy(id, text, (size_t)(colon - text));
    id[colon - text] = '\0';
    uint8_t key[PAY_AEAD_KEY_LEN];
    size_t n = 0;
    int rc = -1;
    if (pay_base64_decode(key, sizeof key, colon + 1, strlen(colon + 1), &n) == 0 &&
        n == sizeof key)
        rc = pay_keyring_add(kr, id, key, make_current);
    pay_wipe(key, sizeof key);
    return rc;
}

int pay_keyring_generate_text(const char *id, char *out, size_t out_size)
{
    size_t len = strnlen(id, PAY_AEAD_KEY_ID_MAX + 1);
    if (!valid_id(id, len) || out_size < len + 1 + PAY_BASE64_LEN(PAY_AEAD_KEY_LEN))
        return -1;
    uint8_t key[PAY_AEAD_KEY_LEN];
    pay_random_bytes(key, sizeof key);
    memcpy(out, id, len);
    out[len] = ':';
    int rc = pay_base64_encode(out + len + 1, out_size - len - 1, key, sizeof key);
    pay_wipe(key, sizeof key);
    return rc;
}

int pay_aead_seal(const struct pay_keyring *kr, const void *pt, size_t pt_len, const void *aad,
                  size_t aad_len, char *out, size_t out_size)
{
    if (kr->count == 0 || pt_len > SIZE_MAX / 2 || out_size < PAY_AEAD_SEALED_LEN(pt_len))
        return -1;
    const char *id = kr->keys[kr->current].id;
    size_t id_len = strlen(id);
    size_t blob_len = NONCE_LEN + pt_len + TAG_LEN;
    uint8_t *blob = malloc(blob_len);
    if (blob == NULL)
        return -1;
    pay_random_bytes(blob, NONCE_LEN);
    unsigned long long ct_len = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(blob + NONCE_LEN, &ct_len, pt, pt_len, aad, aad_len,
                                               NULL, blob, kr->keys[kr->current].key);
    PAY_ASSERT(ct_len == pt_len + TAG_LEN);
    memcpy(out, id, id_len);
    out[id_len] = ':';
    int rc = pay_base64url_encode(out + id_len + 1, out_size - id_len - 1, blob, blob_len);
    free(blob);
    return rc;
}

int pay_aead_open(const struct pay_keyring *kr, const char *sealed, const void *aad, size_t aad_len,
                  void *pt, size_t pt_size, size_t *pt_len)
{
    const char *colon = strchr(sealed, ':');
    if (colon == NULL)
        return -1;
    int k = find_key(kr, sealed, (size_t)(colon - sealed));
    size_t text_len = strlen(colon + 1);
    size_t blob_max = text_len / 4 * 3 + 3;
    if (k < 0 || blob_max < NONCE_LEN + TAG_LEN)
        return -1;
    uint8_t *blob = malloc(blob_max);
    size_t blob_len = 0;
    int rc = -1;
    if (blob != NULL && pay_base64url_decode(blob, blob_max, colon + 1, text_len, &blob_len) == 0 &&
        blob_len >= NONCE_LEN + TAG_LEN && pt_size >= blob_len - NONCE_LEN - TAG_LEN) {
        unsigned long long n = 0;
        rc = crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &n, NULL, blob + NONCE_LEN,
                                                        blob_len - NONCE_LEN, aad, aad_len, blob,
                                                        kr->keys[k].key);
        if (rc == 0)
            *pt_len = (size_t)n;
        else
            pay_wipe(pt, pt_size);
    }
    free(blob);
    return rc == 0 ? 0 : -1;
}
