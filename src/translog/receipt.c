/* Receipts and proofs as JSON (built from the store), and a receipt's offline verification
 * (docs/receipts.md, "A receipt" and "Verifying a receipt"). */
#include "translog/translog.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

static json_t *hashes_json(pay_merkle_hash *h, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        char hex[PAY_HEX_LEN(PAY_SHA256_LEN)];
        (void)pay_hex_encode(hex, sizeof hex, h[i], PAY_SHA256_LEN);
        json_array_append_new(a, json_string(hex));
    }
    return a;
}

static json_t *leaf_json(const struct pay_translog_leaf *l)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:I}", "trade_id", l->trade_id, "merchant_id",
                     l->merchant_id, "out_trade_no", l->out_trade_no, "amount_minor",
                     (json_int_t)l->amount_minor, "currency", l->currency, "method", l->method,
                     "paid_ms", (json_int_t)l->paid_ms);
}

/* The co-signatures stored for the head of tree_size, as a JSON array. */
static enum pay_err cosigs_json(struct pay_store_tx *tx, int64_t tree_size, json_t *out,
                                struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT witness, alg, signature FROM translog_cosignatures WHERE tree_size = $1"
        " ORDER BY witness",
        "i", tree_size);
    if (!st)
        return err->code;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1)
        json_array_append_new(
            out, json_pack("{s:s, s:s, s:s}", "witness", pay_store_col_text(st, 0), "alg",
                           pay_store_col_text(st, 1), "signature", pay_store_col_text(st, 2)));
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

enum pay_err pay_translog_head_json(struct pay_store_tx *tx, const struct pay_translog_head *h,
                                    json_t **out, struct pay_error *err)
{
    char root[PAY_HEX_LEN(PAY_SHA256_LEN)], sig[PAY_BASE64_LEN(PAY_ED25519_SIG_LEN)];
    (void)pay_hex_encode(root, sizeof root, h->root, PAY_SHA256_LEN);
    (void)pay_base64_encode(sig, sizeof sig, h->sig, PAY_ED25519_SIG_LEN);
    json_t *cosigs = json_array();
    *out =
        json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:o}", "origin", h->origin, "tree_size",
                  (json_int_t)h->tree_size, "timestamp_ms", (json_int_t)h->timestamp_ms,
                  "root_hash", root, "key_id", h->key_id, "signature", sig, "cosignatures", cosigs);
    if (!*out)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    enum pay_err e = h->tree_size > 0 ? cosigs_json(tx, h->tree_size, cosigs, err) : PAY_ERR_OK;
    if (e != PAY_ERR_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return e;
}

/* The hashes of the first head->tree_size leaves, checked against the head's signed root: a
 * leaf edited, removed or inserted in the store since the head was signed shows here. */
static enum pay_err signed_leaves(struct pay_store_tx *tx, const struct pay_translog_head *head,
                                  pay_merkle_hash **leaves, struct pay_error *err)
{
    enum pay_err e = pay_translog_leaf_hashes(tx, head->tree_size, leaves, err);
    if (e != PAY_ERR_OK)
        return e;
    pay_merkle_hash root;
    pay_merkle_root(*leaves, (uint64_t)head->tree_size, root);
    if (pay_ct_equal(root, head->root, PAY_SHA256_LEN))
        return PAY_ERR_OK;
    free(*leaves);
    *leaves = NULL;
    PAY_ERROR("translog.corrupt", "size=%lld the leaves do not hash to the signed root",
              (long long)head->tree_size);
    return pay_error_set(err, PAY_ERR_TRANSLOG_CORRUPT, "",
                         "the log's leaves no longer hash to its signed head of size %lld",
                         (long long)head->tree_size);
}

enum pay_err pay_translog_receipt(struct pay_store_tx *tx, const char *trade_id, json_t **out,
                                  struct pay_error *err)
{
    return pay_translog_receipt_at(tx, trade_id, 0, out, err);
}

enum pay_err pay_translog_receipt_at(struct pay_store_tx *tx, const char *trade_id,
                                     int64_t tree_size, json_t **out, struct pay_error *err)
{
    *out = NULL;
    struct pay_translog_leaf l;
    struct pay_translog_head head;
    int64_t index = 0;
    enum pay_err e = pay_translog_leaf_of(tx, trade_id, &l, &index, err);
    if (e == PAY_ERR_OK)
        e = tree_size > 0 ? pay_translog_head_at(tx, tree_size, &head, err)
                          : pay_translog_head_latest(tx, &head, err);
    if (e != PAY_ERR_OK)
        return e;
    if (head.tree_size <= index)
        return pay_error_set(err, PAY_ERR_RECEIPT_PENDING, "trade_id",
                             "the payment is leaf %lld; the newest signed head has %lld leaves",
                             (long long)index, (long long)head.tree_size);
    pay_merkle_hash *leaves = NULL, proof[PAY_MERKLE_PROOF_MAX];
    if ((e = signed_leaves(tx, &head, &leaves, err)) != PAY_ERR_OK)
        return e;
    size_t n = pay_merkle_inclusion_proof(leaves, (uint64_t)head.tree_size, (uint64_t)index, proof);
    free(leaves);
    json_t *h = NULL;
    if ((e = pay_translog_head_json(tx, &head, &h, err)) != PAY_ERR_OK)
        return e;
    json_t *cosigs = json_incref(json_object_get(h, "cosignatures"));
    json_object_del(h, "cosignatures");
    *out = json_pack("{s:i, s:o, s:I, s:o, s:o, s:o}", "receipt_version", 1, "leaf", leaf_json(&l),
                     "leaf_index", (json_int_t)index, "tree_head", h, "cosignatures", cosigs,
                     "inclusion_proof", hashes_json(proof, n));
    return *out ? PAY_ERR_OK : pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
}

enum pay_err pay_translog_consistency(struct pay_store_tx *tx, int64_t first, int64_t second,
                                      json_t **out, struct pay_error *err)
{
    *out = NULL;
    struct pay_translog_head head;
    enum pay_err e = pay_translog_head_latest(tx, &head, err);
    if (e != PAY_ERR_OK)
        return e;
    if (second < 1 || second > head.tree_size)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "second",
                             "must be 1 to the newest signed head's size (%lld)",
                             (long long)head.tree_size);
    if (first < 1 || first > second)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "first", "must be 1 to second");
    pay_merkle_hash *leaves = NULL, proof[PAY_MERKLE_PROOF_MAX];
    if ((e = signed_leaves(tx, &head, &leaves, err)) != PAY_ERR_OK)
        return e;
    size_t n = pay_merkle_consistency_proof(leaves, (uint64_t)second, (uint64_t)first, proof);
    free(leaves);
    *out = json_pack("{s:I, s:I, s:o}", "first", (json_int_t)first, "second", (json_int_t)second,
                     "proof", hashes_json(proof, n));
    return *out ? PAY_ERR_OK : pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
}
