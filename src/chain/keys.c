/* BIP-32 extended keys (serialisation in base58check, CKDpub, CKDpriv), Ethereum addresses
 * and EIP-55 checksums. libsecp256k1 does the curve arithmetic; src/crypto the hashes. */
#include "chain/keys.h"

#include "chain/keccak.h"
#include "core/assertions.h"
#include "core/limits.h"
#include "crypto/crypto.h"

#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <string.h>

#define XKEY_LEN     78 /* version 4, depth 1, fingerprint 4, child 4, chain code 32, key 33 */
#define XKEY_CHECKED (XKEY_LEN + 4)
#define VERSION_XPUB 0x0488B21Eu
#define VERSION_XPRV 0x0488ADE4u

static secp256k1_context *ctx;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

/* One context for the process, randomised against side channels (secp256k1 docs): it is
 * read-only after that, so threads share it. */
static void ctx_start(void)
{
    PAY_ASSERT(pay_crypto_init() == 0);
    ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    PAY_ASSERT(ctx != NULL);
    uint8_t seed[32];
    pay_random_bytes(seed, sizeof seed);
    PAY_ASSERT(secp256k1_context_randomize(ctx, seed) == 1);
    pay_wipe(seed, sizeof seed);
}

static secp256k1_context *curve(void)
{
    PAY_ASSERT(pthread_once(&ctx_once, ctx_start) == 0);
    return ctx;
}

/* --- base58check ---------------------------------------------------------------------------- */

static const char b58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static int b58_encode(const uint8_t *in, size_t len, char *out, size_t n)
{
    uint8_t digits[XKEY_CHECKED * 138 / 100 + 1] = {0}; /* base 58 digits, most significant last */
    size_t nd = 0, zeros = 0;
    PAY_ASSERT(len <= XKEY_CHECKED);
    while (zeros < len && in[zeros] == 0)
        zeros++;
    for (size_t i = zeros; i < len; i++) {
        unsigned carry = in[i];
        for (size_t j = 0; j < nd; j++) {
            carry += (unsigned)digits[j] << 8;
            digits[j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        while (carry > 0) {
            PAY_ASSERT(nd < sizeof digits);
            digits[nd++] = (uint8_t)(carry % 58);
            carry /= 58;
        }
    }
    if (zeros + nd + 1 > n)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < zeros; i++)
        out[k++] = '1';
    for (size_t i = nd; i > 0; i--)
        out[k++] = b58[digits[i - 1]];
    out[k] = '\0';
    return 0;
}

/* Decodes exactly XKEY_CHECKED bytes; -1 for any other length or a foreign character. */
static int b58_decode(const char *text, uint8_t out[XKEY_CHECKED])
{
    uint8_t bytes[XKEY_CHECKED + 1] = {0}; /* little-endian while building */
    size_t nb = 0, zeros = 0, len = strnlen(text, PAY_CHAIN_XKEY_TEXT_LEN);
    if (len >= PAY_CHAIN_XKEY_TEXT_LEN)
        return -1;
    while (zeros < len && text[zeros] == '1')
        zeros++;
    for (size_t i = zeros; i < len; i++) {
        const char *d = text[i] ? strchr(b58, text[i]) : NULL;
        if (d == NULL)
            return -1;
        unsigned carry = (unsigned)(d - b58);
        for (size_t j = 0; j < nb; j++) {
            carry += (unsigned)bytes[j] * 58;
            bytes[j] = (uint8_t)carry;
            carry >>= 8;
        }
        while (carry > 0) {
            if (nb == sizeof bytes)
                return -1;
            bytes[nb++] = (uint8_t)carry;
            carry >>= 8;
        }
    }
    if (zeros + nb != XKEY_CHECKED)
        return -1;
    memset(out, 0, zeros);
    for (size_t i = 0; i < nb; i++)
        out[zeros + i] = bytes[nb - 1 - i];
    pay_wipe(bytes, sizeof bytes);
    return 0;
}

/* --- serialisation -------------------------------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int xkey_format(uint32_t version, const struct pay_chain_xpub *k, const uint8_t key33[33],
                       char *out, size_t n)
{
    uint8_t raw[XKEY_CHECKED], sum[PAY_SHA256_LEN];
    put_be32(raw, version);
    raw[4] = k->depth;
    memcpy(raw + 5, k->parent_fingerprint, 4);
    put_be32(raw + 9, k->child_number);
    memcpy(raw + 13, k->chain_code, 32);
    memcpy(raw + 45, key33, 33);
    pay_sha256(sum, raw, XKEY_LEN);
    pay_sha256(sum, sum, sizeof sum);
    memcpy(raw + XKEY_LEN, sum, 4);
    int rc = b58_encode(raw, sizeof raw, out, n);
    pay_wipe(raw, sizeof raw);
    return rc;
}

/* The 78 checked bytes of text with version `version`, or FIELD_INVALID. */
static enum pay_err xkey_parse(const char *text, const char *field, uint32_t version,
                               struct pay_chain_xpub *k, uint8_t key33[33], struct pay_error *err)
{
    uint8_t raw[XKEY_CHECKED], sum[PAY_SHA256_LEN];
    if (text == NULL || b58_decode(text, raw) != 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, field,
                             "not a base58 extended key of 82 bytes");
    pay_sha256(sum, raw, XKEY_LEN);
    pay_sha256(sum, sum, sizeof sum);
    enum pay_err e = PAY_ERR_OK;
    if (!pay_ct_equal(sum, raw + XKEY_LEN, 4))
        e = pay_error_set(err, PAY_ERR_FIELD_INVALID, field, "the checksum does not match");
    else if (get_be32(raw) != version)
        e = pay_error_set(err, PAY_ERR_FIELD_INVALID, field, "not an %s (version %08x)",
                          version == VERSION_XPUB ? "xpub" : "xprv", (unsigned)get_be32(raw));
    else if (raw[4] == 0 && (get_be32(raw + 5) != 0 || get_be32(raw + 9) != 0))
        e = pay_error_set(err, PAY_ERR_FIELD_INVALID, field,
                          "a master key with a parent fingerprint or child number");
    if (e == PAY_ERR_OK) {
        k->depth = raw[4];
        memcpy(k->parent_fingerprint, raw + 5, 4);
        k->child_number = get_be32(raw + 9);
        memcpy(k->chain_code, raw + 13, 32);
        memcpy(key33, raw + 45, 33);
    }
    pay_wipe(raw, sizeof raw);
    return e;
}

enum pay_err pay_chain_xpub_parse(const char *text, const char *field, struct pay_chain_xpub *out,
                                  struct pay_error *err)
{
    struct pay_chain_xpub k;
    enum pay_err e = xkey_parse(text, field, VERSION_XPUB, &k, k.pubkey, err);
    if (e != PAY_ERR_OK)
        return e;
    secp256k1_pubkey pk;
    if (!secp256k1_ec_pubkey_parse(curve(), &pk, k.pubkey, 33) ||
        (k.pubkey[0] != 2 && k.pubkey[0] != 3))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, field,
                             "its key is not a compressed point on secp256k1");
    *out = k;
    return PAY_ERR_OK;
}

int pay_chain_xpub_format(const struct pay_chain_xpub *k, char *out, size_t n)
{
    return xkey_format(VERSION_XPUB, k, k->pubkey, out, n);
}

static void serialize_compressed(const secp256k1_pubkey *pk, uint8_t out[33])
{
    size_t len = 33;
    PAY_ASSERT(secp256k1_ec_pubkey_serialize(curve(), out, &len, pk, SECP256K1_EC_COMPRESSED) &&
               len == 33);
}

/* BIP-32's fingerprint of a parent: the first 4 bytes of HASH160 of its public key. */
static void fingerprint(const uint8_t pubkey[33], uint8_t out[4])
{
    uint8_t h[20];
    pay_hash160(h, pubkey, 33);
    memcpy(out, h, 4);
}

enum pay_err pay_chain_xpub_child(const struct pay_chain_xpub *parent, uint32_t index,
                                  struct pay_chain_xpub *out, struct pay_error *err)
{
    if (index >= PAY_CHAIN_HARDENED)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "index",
                             "a public key has no hardened children");
    uint8_t data[37], I[PAY_HMAC_SHA512_LEN];
    memcpy(data, parent->pubkey, 33);
    put_be32(data + 33, index);
    pay_hmac_sha512(I, parent->chain_code, 32, data, sizeof data);
    secp256k1_pubkey pk;
    PAY_ASSERT(secp256k1_ec_pubkey_parse(curve(), &pk, parent->pubkey, 33));
    if (!secp256k1_ec_pubkey_tweak_add(curve(), &pk, I))
        return pay_error_set(err, PAY_ERR_INTERNAL, "index", "child %u is not a valid key",
                             (unsigned)index);
    struct pay_chain_xpub c = {.depth = (uint8_t)(parent->depth + 1), .child_number = index};
    fingerprint(parent->pubkey, c.parent_fingerprint);
    memcpy(c.chain_code, I + 32, 32);
    serialize_compressed(&pk, c.pubkey);
    *out = c;
    return PAY_ERR_OK;
}

static enum pay_err xprv_fill_public(struct pay_chain_xprv *k, struct pay_error *err)
{
    secp256k1_pubkey pk;
    if (!secp256k1_ec_pubkey_create(curve(), &pk, k->key))
        return pay_error_set(err, PAY_ERR_INTERNAL, "key", "not a valid secp256k1 key");
    serialize_compressed(&pk, k->pub.pubkey);
    return PAY_ERR_OK;
}

enum pay_err pay_chain_xprv_from_seed(const uint8_t *seed, size_t seed_len,
                                      struct pay_chain_xprv *out, struct pay_error *err)
{
    if (seed_len < PAY_CHAIN_SEED_MIN || seed_len > PAY_CHAIN_SEED_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "seed", "a seed has 16 to 64 bytes");
    uint8_t I[PAY_HMAC_SHA512_LEN];
    static const char salt[] = "Bitcoin seed";
    pay_hmac_sha512(I, salt, sizeof salt - 1, seed, seed_len);
    struct pay_chain_xprv k = {0};
    memcpy(k.key, I, 32);
    memcpy(k.pub.chain_code, I + 32, 32);
    pay_wipe(I, sizeof I);
    enum pay_err e = xprv_fill_public(&k, err);
    if (e == PAY_ERR_OK)
        *out = k;
    pay_chain_xprv_wipe(&k);
    return e;
}

enum pay_err pay_chain_xprv_child(const struct pay_chain_xprv *parent, uint32_t index,
                                  struct pay_chain_xprv *out, struct pay_error *err)
{
    uint8_t data[37], I[PAY_HMAC_SHA512_LEN];
    if (index >= PAY_CHAIN_HARDENED) {
        data[0] = 0;
        memcpy(data + 1, parent->key, 32);
    } else {
        memcpy(data, parent->pub.pubkey, 33);
    }
    put_be32(data + 33, index);
    pay_hmac_sha512(I, parent->pub.chain_code, 32, data, sizeof data);
    pay_wipe(data, sizeof data);
    struct pay_chain_xprv k = {0};
    memcpy(k.key, parent->key, 32);
    enum pay_err e = PAY_ERR_OK;
    if (!secp256k1_ec_seckey_tweak_add(curve(), k.key, I))
        e = pay_error_set(err, PAY_ERR_INTERNAL, "index", "child %u is not a valid key",
                          (unsigned)index);
    k.pub.depth = (uint8_t)(parent->pub.depth + 1);
    k.pub.child_number = index;
    fingerprint(parent->pub.pubkey, k.pub.parent_fingerprint);
    memcpy(k.pub.chain_code, I + 32, 32);
    pay_wipe(I, sizeof I);
    if (e == PAY_ERR_OK)
        e = xprv_fill_public(&k, err);
    if (e == PAY_ERR_OK)
        *out = k;
    pay_chain_xprv_wipe(&k);
    return e;
}

enum pay_err pay_chain_xprv_parse(const char *text, const char *field, struct pay_chain_xprv *out,
                                  struct pay_error *err)
{
    struct pay_chain_xprv k = {0};
    uint8_t key33[33];
    enum pay_err e = xkey_parse(text, field, VERSION_XPRV, &k.pub, key33, err);
    if (e == PAY_ERR_OK && (key33[0] != 0 || !secp256k1_ec_seckey_verify(curve(), key33 + 1)))
        e = pay_error_set(err, PAY_ERR_FIELD_INVALID, field, "its key is not a secp256k1 key");
    if (e == PAY_ERR_OK) {
        memcpy(k.key, key33 + 1, 32);
        e = xprv_fill_public(&k, err);
    }
    if (e == PAY_ERR_OK)
        *out = k;
    pay_wipe(key33, sizeof key33);
    pay_chain_xprv_wipe(&k);
    return e;
}

int pay_chain_xprv_format(const struct pay_chain_xprv *k, char *out, size_t n)
{
    uint8_t key33[33] = {0};
    memcpy(key33 + 1, k->key, 32);
    int rc = xkey_format(VERSION_XPRV, &k->pub, key33, out, n);
    pay_wipe(key33, sizeof key33);
    return rc;
}

void pay_chain_xprv_wipe(struct pay_chain_xprv *k)
{
    pay_wipe(k->key, sizeof k->key);
}

int pay_chain_key_public(const uint8_t key[32], uint8_t pubkey[33])
{
    secp256k1_pubkey pk;
    if (!secp256k1_ec_pubkey_create(curve(), &pk, key))
        return -1;
    serialize_compressed(&pk, pubkey);
    return 0;
}

/* --- addresses ------------------------------------------------------------------------------ */

void pay_chain_address_of(const uint8_t pubkey[33], uint8_t addr[PAY_CHAIN_ADDRESS_LEN])
{
    secp256k1_pubkey pk;
    uint8_t full[65], h[PAY_KECCAK256_LEN];
    size_t len = sizeof full;
    PAY_ASSERT(secp256k1_ec_pubkey_parse(curve(), &pk, pubkey, 33));
    PAY_ASSERT(secp256k1_ec_pubkey_serialize(curve(), full, &len, &pk, SECP256K1_EC_UNCOMPRESSED) &&
               len == 65);
    pay_keccak256(h, full + 1, 64);
    memcpy(addr, h + 12, PAY_CHAIN_ADDRESS_LEN);
}

void pay_chain_address_lower(const uint8_t addr[PAY_CHAIN_ADDRESS_LEN], char *out)
{
    out[0] = '0', out[1] = 'x';
    PAY_ASSERT(
        pay_hex_encode(out + 2, PAY_CHAIN_ADDRESS_TEXT_LEN - 2, addr, PAY_CHAIN_ADDRESS_LEN) == 0);
}

void pay_chain_address_format(const uint8_t addr[PAY_CHAIN_ADDRESS_LEN], char *out)
{
    char lower[41];
    uint8_t h[PAY_KECCAK256_LEN];
    PAY_ASSERT(pay_hex_encode(lower, sizeof lower, addr, PAY_CHAIN_ADDRESS_LEN) == 0);
    pay_keccak256(h, lower, 40);
    out[0] = '0', out[1] = 'x';
    for (int i = 0; i < 40; i++) {
        int nibble = (h[i / 2] >> (i % 2 ? 0 : 4)) & 0xf;
        char c = lower[i];
        out[2 + i] = (c >= 'a' && c <= 'f' && nibble >= 8) ? (char)(c - 'a' + 'A') : c;
    }
    out[42] = '\0';
}

enum pay_err pay_chain_address_parse(const char *text, const char *field,
                                     uint8_t addr[PAY_CHAIN_ADDRESS_LEN], struct pay_error *err)
{
    if (text == NULL || strnlen(text, 43) != 42 || text[0] != '0' || text[1] != 'x')
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, field,
                             "an address is 0x and 40 hexadecimal digits");
    char lower[41];
    bool has_lower = false, has_upper = false;
    for (int i = 0; i < 40; i++) {
        char c = text[2 + i];
        has_lower |= c >= 'a' && c <= 'f';
        has_upper |= c >= 'A' && c <= 'F';
        lower[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
    }
    lower[40] = '\0';
    uint8_t a[PAY_CHAIN_ADDRESS_LEN];
    size_t n = 0;
    if (pay_hex_decode(a, sizeof a, lower, 40, &n) != 0 || n != sizeof a)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, field,
                             "an address is 0x and 40 hexadecimal digits");
    if (has_lower && has_upper) {
        char want[PAY_CHAIN_ADDRESS_TEXT_LEN];
        pay_chain_address_format(a, want);
        if (strcmp(want, text) != 0)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, field,
                                 "the mixed-case (EIP-55) checksum does not match: mistyped?");
    }
    memcpy(addr, a, sizeof a);
    return PAY_ERR_OK;
}

int pay_chain_sign(const uint8_t key[32], const uint8_t hash[32], uint8_t r[32], uint8_t s[32],
                   int *recid)
{
    secp256k1_ecdsa_recoverable_signature sig;
    uint8_t compact[64];
    if (!secp256k1_ecdsa_sign_recoverable(curve(), &sig, hash, key, NULL, NULL))
        return -1;
    PAY_ASSERT(
        secp256k1_ecdsa_recoverable_signature_serialize_compact(curve(), compact, recid, &sig));
    memcpy(r, compact, 32);
    memcpy(s, compact + 32, 32);
    return 0;
}
