/* X25519 sealed boxes with a context string (seal.h). */
#include "crypto/seal.h"
#include "core/assertions.h"
#include "crypto/crypto.h"
#include "crypto/internal.h"

#include <string.h>

#include <sodium.h>

_Static_assert(PAY_SEAL_PK_LEN == crypto_box_PUBLICKEYBYTES, "X25519 public key size");
_Static_assert(PAY_SEAL_SK_LEN == crypto_box_SECRETKEYBYTES, "X25519 secret key size");
_Static_assert(PAY_SEAL_OVERHEAD == crypto_box_SEALBYTES, "sealed box overhead");

/* The box holds: context length (1 byte), the context, then the plaintext. */
#define BOX_PLAIN_MAX (1 + PAY_SEAL_CONTEXT_MAX + PAY_SEAL_PLAIN_MAX)
#define BOX_MAX       (BOX_PLAIN_MAX + PAY_SEAL_OVERHEAD)

void pay_seal_key_generate(struct pay_seal_key *k)
{
    crypto_box_keypair(k->pk, k->sk);
}

void pay_seal_key_fini(struct pay_seal_key *k)
{
    pay_wipe(k, sizeof *k);
}

void pay_seal_pk_to_text(char out[PAY_SEAL_KEY_TEXT_LEN], const uint8_t pk[PAY_SEAL_PK_LEN])
{
    int rc = pay_base64_encode(out, PAY_SEAL_KEY_TEXT_LEN, pk, PAY_SEAL_PK_LEN);
    PAY_ASSERT(rc == 0);
}

int pay_seal_pk_from_text(uint8_t pk[PAY_SEAL_PK_LEN], const char *text)
{
    uint8_t tmp[PAY_SEAL_PK_LEN]; /* pk stays as it was when the text is bad */
    size_t n = 0;
    if (pay_base64_decode(tmp, sizeof tmp, text, strlen(text), &n) != 0 || n != sizeof tmp)
        return -1;
    memcpy(pk, tmp, sizeof tmp);
    return 0;
}

void pay_seal_sk_to_text(char out[PAY_SEAL_KEY_TEXT_LEN], const struct pay_seal_key *k)
{
    int rc = pay_base64_encode(out, PAY_SEAL_KEY_TEXT_LEN, k->sk, PAY_SEAL_SK_LEN);
    PAY_ASSERT(rc == 0);
}

int pay_seal_sk_from_text(struct pay_seal_key *k, const char *text)
{
    size_t n = 0;
    if (pay_base64_decode(k->sk, PAY_SEAL_SK_LEN, text, strlen(text), &n) != 0 ||
        n != PAY_SEAL_SK_LEN) {
        pay_wipe(k, sizeof *k);
        return -1;
    }
    return crypto_scalarmult_base(k->pk, k->sk) == 0 ? 0 : -1;
}

int pay_seal(const uint8_t pk[PAY_SEAL_PK_LEN], const char *context, const void *pt, size_t pt_len,
             char *out, size_t out_size)
{
    pay_crypto_assert_ready();
    size_t cl = strlen(context);
    if (cl == 0 || cl > PAY_SEAL_CONTEXT_MAX || pt_len == 0 || pt_len > PAY_SEAL_PLAIN_MAX)
        return -1;
    uint8_t plain[BOX_PLAIN_MAX], box[BOX_MAX];
    size_t n = 1 + cl + pt_len;
    plain[0] = (uint8_t)cl;
    memcpy(plain + 1, context, cl);
    memcpy(plain + 1 + cl, pt, pt_len);
    int rc = crypto_box_seal(box, plain, n, pk) == 0 &&
                     pay_base64url_encode(out, out_size, box, n + PAY_SEAL_OVERHEAD) == 0
                 ? 0
                 : -1;
    pay_wipe(plain, sizeof plain);
    return rc;
}

int pay_seal_open(const struct pay_seal_key *k, const char *context, const char *sealed, char *pt,
                  size_t pt_size, size_t *pt_len)
{
    pay_crypto_assert_ready();
    uint8_t box[BOX_MAX], plain[BOX_PLAIN_MAX];
    size_t n = 0, cl = strlen(context);
    *pt_len = 0;
    if (pay_base64url_decode(box, sizeof box, sealed, strlen(sealed), &n) != 0 ||
        n <= PAY_SEAL_OVERHEAD + 1 || crypto_box_seal_open(plain, box, n, k->pk, k->sk) != 0)
        return -1;
    size_t m = n - PAY_SEAL_OVERHEAD;
    int ok = plain[0] == cl && m > 1 + cl && sodium_memcmp(plain + 1, context, cl) == 0 &&
             m - 1 - cl < pt_size;
    size_t body = ok ? m - 1 - cl : 0;
    if (ok) {
        memcpy(pt, plain + 1 + cl, body);
        pt[body] = '\0';
        *pt_len = body;
    } else if (pt_size > 0) {
        pay_wipe(pt, pt_size);
    }
    pay_wipe(plain, sizeof plain);
    return ok ? 0 : -1;
}
