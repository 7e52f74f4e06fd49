/* Checking an anchor on the chain (docs/receipts.md, "Anchoring on the chain"): a transaction
 * from an address to itself whose data are given bytes, in a given block of the node's chain,
 * with enough confirmations. What `paygate receipt verify --chain` asks of a receipt's anchor. */
#ifndef PAY_CHAIN_ANCHOR_H
#define PAY_CHAIN_ANCHOR_H

#include "chain/keys.h"
#include "chain/rpc.h"
#include "core/errors.h"

#include <stddef.h>
#include <stdint.h>

struct pay_chain_anchor_expect {
    int64_t chain_id;                       /* the chain trusted (the node must be on it) */
    uint8_t address[PAY_CHAIN_ADDRESS_LEN]; /* the anchor key's address, trusted */
    const char *tx_hash;                    /* what the receipt says: its transaction */
    int64_t block_number;                   /* ... and its block */
    const uint8_t *data;                    /* the bytes the transaction must carry */
    size_t data_len;
    int64_t confirmations; /* at least this many (>= 1) */
};

/* OK when the node (on chain_id, else UPSTREAM_FAILED naming "chain_id") has the transaction
 * tx_hash in its chain, at block_number with `confirmations`, succeeded, from and to `address`,
 * with exactly `data`; else RECEIPT_ANCHOR_INVALID with the field that does not match
 * ("anchor.tx_hash", "anchor.block_number", "anchor.address", "anchor": the data) and why.
 * UPSTREAM_* when the node cannot be asked. */
enum pay_err pay_chain_anchor_check(const struct pay_chain_rpc *c,
                                    const struct pay_chain_anchor_expect *x, struct pay_error *err)
    __attribute__((warn_unused_result));

#endif
