/* Keys and addresses of the chain rail (docs/chain.md, "Keys"): BIP-32 extended keys over
 * secp256k1 (Debian's libsecp256k1), Ethereum addresses (the last 20 bytes of the Keccak-256
 * of the uncompressed public key) and their EIP-55 mixed-case checksum.
 *
 * The platform holds only the extended PUBLIC key (xpub) and derives from it a fresh deposit
 * address per trade (non-hardened child i). The private side (xprv, hardened children) is for
 * the one job that spends: the sweep/refund job, and the tests. */
#ifndef PAY_CHAIN_KEYS_H
#define PAY_CHAIN_KEYS_H

#include "core/errors.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAY_CHAIN_ADDRESS_LEN      20
#define PAY_CHAIN_ADDRESS_TEXT_LEN 43  /* "0x" + 40 hex digits + NUL */
#define PAY_CHAIN_XKEY_TEXT_LEN    112 /* base58 of 82 bytes is 111 characters at most, + NUL */
#define PAY_CHAIN_HARDENED         0x80000000u

struct pay_chain_xpub {
    uint8_t depth;
    uint8_t parent_fingerprint[4];
    uint32_t child_number;
    uint8_t chain_code[32];
    uint8_t pubkey[33]; /* compressed */
};

struct pay_chain_xprv {
    struct pay_chain_xpub pub; /* its public half (pubkey computed from key) */
    uint8_t key[32];           /* wipe with pay_chain_xprv_wipe */
};

/* Parses a base58check "xpub..." (BIP-32 mainnet public version 0x0488B21E): checksum, version,
 * a public key on the curve. FIELD_INVALID naming `field` with the reason otherwise. */
enum pay_err pay_chain_xpub_parse(const char *text, const char *field, struct pay_chain_xpub *out,
                                  struct pay_error *err) __attribute__((warn_unused_result));
/* The base58check text into out (PAY_CHAIN_XKEY_TEXT_LEN). Returns 0, -1 when out is small. */
int pay_chain_xpub_format(const struct pay_chain_xpub *k, char *out, size_t n);

/* CKDpub: the non-hardened child `index` (< 2^31) of parent. FIELD_INVALID for a hardened
 * index; INTERNAL for the (2^-127) index whose tweak is not a valid key: the caller takes the
 * next index, as BIP-32 says. */
enum pay_err pay_chain_xpub_child(const struct pay_chain_xpub *parent, uint32_t index,
                                  struct pay_chain_xpub *out, struct pay_error *err)
    __attribute__((warn_unused_result));

/* The master key of a seed (16..64 bytes), and CKDpriv (hardened when index >= 2^31). */
enum pay_err pay_chain_xprv_from_seed(const uint8_t *seed, size_t seed_len,
                                      struct pay_chain_xprv *out, struct pay_error *err)
    __attribute__((warn_unused_result));
enum pay_err pay_chain_xprv_child(const struct pay_chain_xprv *parent, uint32_t index,
                                  struct pay_chain_xprv *out, struct pay_error *err)
    __attribute__((warn_unused_result));
/* Parses / formats "xprv..." (version 0x0488ADE4). */
enum pay_err pay_chain_xprv_parse(const char *text, const char *field, struct pay_chain_xprv *out,
                                  struct pay_error *err) __attribute__((warn_unused_result));
int pay_chain_xprv_format(const struct pay_chain_xprv *k, char *out, size_t n);
void pay_chain_xprv_wipe(struct pay_chain_xprv *k);

/* The compressed public key of a private key; 0, or -1 when key is not a valid one. */
int pay_chain_key_public(const uint8_t key[32], uint8_t pubkey[33]);
/* The address of a compressed public key. */
void pay_chain_address_of(const uint8_t pubkey[33], uint8_t addr[PAY_CHAIN_ADDRESS_LEN]);
/* "0x" + EIP-55 mixed-case hex into out (PAY_CHAIN_ADDRESS_TEXT_LEN). */
void pay_chain_address_format(const uint8_t addr[PAY_CHAIN_ADDRESS_LEN], char *out);
/* "0x" + 40 lower-case hex digits (how addresses are stored and compared) into out
 * (PAY_CHAIN_ADDRESS_TEXT_LEN). */
void pay_chain_address_lower(const uint8_t addr[PAY_CHAIN_ADDRESS_LEN], char *out);
/* "0x" + 40 hex digits: all lower case, all upper case, or mixed case with a right EIP-55
 * checksum (a mistyped mixed-case address is refused). FIELD_INVALID naming field. */
enum pay_err pay_chain_address_parse(const char *text, const char *field,
                                     uint8_t addr[PAY_CHAIN_ADDRESS_LEN], struct pay_error *err)
    __attribute__((warn_unused_result));

/* An ECDSA signature of a 32-byte hash with a private key, as Ethereum wants it: r, s (low s)
 * and the recovery id (0/1). Returns 0, -1 when the key is invalid. */
int pay_chain_sign(const uint8_t key[32], const uint8_t hash[32], uint8_t r[32], uint8_t s[32],
                   int *recid);

#endif
