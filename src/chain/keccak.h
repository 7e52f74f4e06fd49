/* Keccak-256 as Ethereum uses it: the original Keccak padding (0x01), not SHA3-256's (0x06).
 * It names addresses, event topics and function selectors, and hashes transactions to sign.
 * Debian packages no library with it; test vectors in tests/chain/test_chain_keys.c. */
#ifndef PAY_CHAIN_KECCAK_H
#define PAY_CHAIN_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#define PAY_KECCAK256_LEN 32

void pay_keccak256(uint8_t out[PAY_KECCAK256_LEN], const void *data, size_t len);

#endif
