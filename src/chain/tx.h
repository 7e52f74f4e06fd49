/* EIP-1559 (type 2) transactions: RLP encoding, the signing hash, and the signed raw
 * transaction that eth_sendRawTransaction takes. The chain id is part of what is signed
 * (EIP-155), so a transaction signed for one chain is invalid on every other. */
#ifndef PAY_CHAIN_TX_H
#define PAY_CHAIN_TX_H

#include "chain/keys.h"
#include "core/limits.h"

#include <stddef.h>
#include <stdint.h>

struct pay_chain_tx {
    uint64_t chain_id; /* > 0 */
    uint64_t nonce;
    uint64_t max_priority_fee_per_gas; /* wei */
    uint64_t max_fee_per_gas;          /* wei, >= the priority fee */
    uint64_t gas_limit;
    uint8_t to[PAY_CHAIN_ADDRESS_LEN];
    uint64_t value_wei;
    const uint8_t *data; /* call data, data_len bytes (may be NULL when 0) */
    size_t data_len;     /* at most PAY_CHAIN_TX_DATA_MAX */
};

/* The call data of the ERC-20 transfer(to, amount) (68 bytes) into out. */
#define PAY_CHAIN_TRANSFER_CALL_LEN 68
void pay_chain_transfer_call(const uint8_t to[PAY_CHAIN_ADDRESS_LEN], uint64_t amount,
                             uint8_t out[PAY_CHAIN_TRANSFER_CALL_LEN]);

/* Signs tx with key: the raw transaction as 0x-hex into raw (raw_size; PAY_CHAIN_RAW_TX_MAX
 * fits every tx) and its hash (0x + 64 hex digits) into hash (67). Returns 0, or -1 when the key
 * is invalid, the fields are (chain id 0, max fee below the priority fee, data too long) or raw
 * is too small. */
int pay_chain_tx_sign(const struct pay_chain_tx *tx, const uint8_t key[32], char *raw,
                      size_t raw_size, char hash[67]);

#endif
