/* An anchor transaction checked against the node (docs/receipts.md): every field the node
 * answers is compared with what the verifier trusts or computed itself, never taken from it. */
#include "chain/anchor.h"

#include "core/assertions.h"
#include "crypto/crypto.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static enum pay_err invalid(struct pay_error *err, const char *field, const char *why)
{
    return pay_error_set(err, PAY_ERR_RECEIPT_ANCHOR_INVALID, field, "%s", why);
}

/* The transaction's from, to and input against what is expected. */
static enum pay_err check_tx(json_t *tx, const struct pay_chain_anchor_expect *x,
                             struct pay_error *err)
{
    uint8_t from[PAY_CHAIN_ADDRESS_LEN], to[PAY_CHAIN_ADDRESS_LEN];
    if (pay_chain_address_parse(json_string_value(json_object_get(tx, "from")), "", from, NULL) !=
            PAY_ERR_OK ||
        pay_chain_address_parse(json_string_value(json_object_get(tx, "to")), "", to, NULL) !=
            PAY_ERR_OK ||
        memcmp(from, x->address, sizeof from) != 0 || memcmp(to, x->address, sizeof to) != 0)
        return invalid(err, "anchor.address",
                       "the transaction is not from the anchor address to itself");
    const char *input = json_string_value(json_object_get(tx, "input"));
    size_t want = 2 + 2 * x->data_len;
    char *hex = malloc(want + 1);
    if (hex == NULL)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    memcpy(hex, "0x", 2);
    (void)pay_hex_encode(hex + 2, want - 1, x->data, x->data_len);
    bool same = input && strlen(input) == want && strcasecmp(input, hex) == 0;
    free(hex);
    if (!same)
        return invalid(err, "anchor",
                       "the transaction's data is not this tree head and its signature: the head"
                       " was altered, or the anchor is another head's");
    return PAY_ERR_OK;
}

/* The block: the one the receipt says, in the node's chain, with the confirmations asked. */
static enum pay_err check_block(const struct pay_chain_rpc *c, json_t *tx,
                                const struct pay_chain_anchor_expect *x, struct pay_error *err)
{
    int64_t number = -1, head = 0;
    const char *hash = json_string_value(json_object_get(tx, "blockHash"));
    if (pay_chain_quantity_parse(json_string_value(json_object_get(tx, "blockNumber")), &number) !=
            0 ||
        hash == NULL)
        return invalid(err, "anchor.tx_hash", "the transaction is not in a block yet");
    if (number != x->block_number)
        return invalid(err, "anchor.block_number", "the transaction is in another block");
    struct pay_chain_block b;
    bool found = false;
    enum pay_err e = pay_chain_rpc_block(c, number, &b, &found, err);
    if (e == PAY_ERR_OK)
        e = pay_chain_rpc_head(c, &head, err);
    if (e != PAY_ERR_OK)
        return e;
    if (!found || strcasecmp(b.hash, hash) != 0)
        return invalid(err, "anchor.block_number", "the block is no longer in the node's chain");
    if (head - number + 1 < x->confirmations)
        return pay_error_set(err, PAY_ERR_RECEIPT_ANCHOR_INVALID, "anchor.block_number",
                             "%lld confirmation(s), %lld asked", (long long)(head - number + 1),
                             (long long)x->confirmations);
    struct pay_chain_tx_receipt rc;
    if ((e = pay_chain_rpc_tx_receipt(c, x->tx_hash, &rc, err)) != PAY_ERR_OK)
        return e;
    if (!rc.mined || !rc.succeeded)
        return invalid(err, "anchor.tx_hash", "the transaction failed on chain");
    return PAY_ERR_OK;
}

enum pay_err pay_chain_anchor_check(const struct pay_chain_rpc *c,
                                    const struct pay_chain_anchor_expect *x, struct pay_error *err)
{
    PAY_ASSERT(c != NULL && x != NULL && x->tx_hash != NULL && x->confirmations >= 1);
    int64_t chain_id = 0;
    enum pay_err e = pay_chain_rpc_chain_id(c, &chain_id, err);
    if (e != PAY_ERR_OK)
        return e;
    if (chain_id != x->chain_id)
        return pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "chain_id",
                             "the node is on chain %lld, not %lld", (long long)chain_id,
                             (long long)x->chain_id);
    json_t *tx = NULL;
    if ((e = pay_chain_rpc_call(c, "eth_getTransactionByHash", json_pack("[s]", x->tx_hash), &tx,
                                err)) != PAY_ERR_OK)
        return e;
    if (json_is_null(tx))
        e = invalid(err, "anchor.tx_hash", "the node's chain has no such transaction");
    else if ((e = check_tx(tx, x, err)) == PAY_ERR_OK)
        e = check_block(c, tx, x, err);
    json_decref(tx);
    return e;
}
