/* JSON-RPC 2.0 to an EVM node over HTTP (libcurl through http/client.h: bounded answer size
 * and time, no redirects), and the few calls the chain rail makes. */
#ifndef PAY_CHAIN_RPC_H
#define PAY_CHAIN_RPC_H

#include "chain/keys.h"
#include "core/errors.h"
#include "core/limits.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct pay_chain_rpc {
    char url[PAY_URL_MAX + 1];
    bool allow_private; /* a node on loopback or a private address (the sandbox, tests) */
};

/* Calls method with params (a JSON array; stolen, may be NULL for []). On OK *result is a new
 * reference the caller releases (json null when the node answered null). UPSTREAM_TIMEOUT,
 * UPSTREAM_FAILED (no answer, an HTTP error, not JSON-RPC, or the node's error, whose message
 * is in err->detail), URL_FORBIDDEN. */
enum pay_err pay_chain_rpc_call(const struct pay_chain_rpc *c, const char *method, json_t *params,
                                json_t **result, struct pay_error *err)
    __attribute__((warn_unused_result));

/* "0x1a" -> 26: a JSON-RPC quantity (0x, lower-case hex, no leading zeros but "0x0") that fits
 * 63 bits. -1 otherwise. */
int pay_chain_quantity_parse(const char *text, int64_t *out);

/* A 32-byte ABI word (64 hex digits after 0x) as an amount of minor units: -1 when it is not
 * such a word, 1 when its value does not fit int64_t (a transfer no trade can be for), else 0. */
int pay_chain_word_amount(const char *text, int64_t *out);

/* A block's number, hash and parent hash (0x + 64 hex digits). */
struct pay_chain_block {
    int64_t number;
    char hash[67];
    char parent_hash[67];
};

enum pay_err pay_chain_rpc_head(const struct pay_chain_rpc *c, int64_t *number,
                                struct pay_error *err) __attribute__((warn_unused_result));
enum pay_err pay_chain_rpc_chain_id(const struct pay_chain_rpc *c, int64_t *chain_id,
                                    struct pay_error *err) __attribute__((warn_unused_result));
/* *found is false when the node has no block `number` (its chain is shorter). */
enum pay_err pay_chain_rpc_block(const struct pay_chain_rpc *c, int64_t number,
                                 struct pay_chain_block *out, bool *found, struct pay_error *err)
    __attribute__((warn_unused_result));

/* An ERC-20 Transfer log of the token in one block. */
struct pay_chain_transfer_log {
    char tx_hash[67];
    int64_t log_index;
    uint8_t from[PAY_CHAIN_ADDRESS_LEN];
    uint8_t to[PAY_CHAIN_ADDRESS_LEN];
    int64_t amount_minor; /* valid when !too_large */
    bool too_large;       /* the value does not fit int64_t */
};

/* The token's Transfer logs in the block with hash block_hash (eth_getLogs by blockHash,
 * EIP-234, so a reorganised-away block never answers with the new block's logs). *out is
 * malloc'ed (the caller frees it), *n its length (at most PAY_CHAIN_LOGS_PER_BLOCK_MAX). */
enum pay_err pay_chain_rpc_transfer_logs(const struct pay_chain_rpc *c, const char *token,
                                         const char *block_hash,
                                         struct pay_chain_transfer_log **out, size_t *n,
                                         struct pay_error *err) __attribute__((warn_unused_result));

/* --- sending transactions (the return job, anchoring) ------------------------------------------
 */

/* A quantity answered by method(params) (params stolen): eth_getBalance, eth_getTransactionCount.
 * A value beyond 63 bits saturates at INT64_MAX (more than any amount here). */
enum pay_err pay_chain_rpc_quantity(const struct pay_chain_rpc *c, const char *method,
                                    json_t *params, int64_t *out, struct pay_error *err)
    __attribute__((warn_unused_result));

/* The fees a new EIP-1559 transaction offers: twice the latest block's base fee plus the node's
 * suggested tip (1 gwei when it has none). */
enum pay_err pay_chain_rpc_fees(const struct pay_chain_rpc *c, uint64_t *max_fee,
                                uint64_t *priority_fee, struct pay_error *err)
    __attribute__((warn_unused_result));

/* eth_sendRawTransaction of raw (0x-hex). "Already known" and "nonce too low" mean it (or its
 * nonce's transaction) was sent before: OK, the receipt tells how it went. */
enum pay_err pay_chain_rpc_send_raw(const struct pay_chain_rpc *c, const char *raw,
                                    struct pay_error *err) __attribute__((warn_unused_result));

/* A transaction's receipt: mined false when the node has none, or one without a block (pending,
 * dropped, or removed by a reorganisation); else its block, that block's hash (67) and whether it
 * succeeded. */
struct pay_chain_tx_receipt {
    bool mined;
    int64_t block_number;
    char block_hash[67];
    bool succeeded;
};
enum pay_err pay_chain_rpc_tx_receipt(const struct pay_chain_rpc *c, const char *tx_hash,
                                      struct pay_chain_tx_receipt *out, struct pay_error *err)
    __attribute__((warn_unused_result));

#endif
