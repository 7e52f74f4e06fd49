/* A receipt checked offline with the published keys (docs/receipts.md, "Verifying a
 * receipt"): its form, the platform's signature of the tree head, the witnesses'
 * co-signatures, and the leaf's inclusion in the signed root. */
#include "translog/translog.h"

#include "core/buf.h"

#include <string.h>

/* A text field of o into dst (PAY_TRANSLOG_TEXT_MAX + 1). */
static enum pay_err text_of(const json_t *o, const char *key, const char *where, char *dst,
                            struct pay_error *err)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || json_string_length(v) > PAY_TRANSLOG_TEXT_MAX ||
        strlen(json_string_value(v)) != json_string_length(v))
        return pay_error_set(err, PAY_ERR_RECEIPT_MALFORMED, where,
                             "%s: a text of at most %d bytes", key, PAY_TRANSLOG_TEXT_MAX);
    pay_str_copy(dst, PAY_TRANSLOG_TEXT_MAX + 1, json_string_value(v));
    return PAY_ERR_OK;
}

static enum pay_err int_of(const json_t *o, const char *key, const char *where, int64_t min,
                           int64_t *out, struct pay_error *err)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < min)
        return pay_error_set(err, PAY_ERR_RECEIPT_MALFORMED, where, "%s: an integer >= %lld", key,
                             (long long)min);
    *out = json_integer_value(v);
    return PAY_ERR_OK;
}

/* A hex hash or base64 signature. */
static bool bytes_of(const json_t *v, bool hex, uint8_t *out, size_t size, size_t *n)
{
    if (!json_is_string(v))
        return false;
    const char *s = json_string_value(v);
    return (hex ? pay_hex_decode(out, size, s, strlen(s), n)
                : pay_base64_decode(out, size, s, strlen(s), n)) == 0;
}

enum pay_err pay_translog_hashes_from_json(const json_t *a, const char *field, pay_merkle_hash *out,
                                           size_t max, size_t *n, struct pay_error *err)
{
    *n = 0;
    if (!json_is_array(a) || json_array_size(a) > max)
        return pay_error_set(err, PAY_ERR_RECEIPT_MALFORMED, field,
                             "an array of at most %zu hex hashes", max);
    for (size_t i = 0; i < json_array_size(a); i++) {
        size_t len = 0;
        if (!bytes_of(json_array_get(a, i), true, out[i], PAY_SHA256_LEN, &len) ||
            len != PAY_SHA256_LEN)
            return pay_error_set(err, PAY_ERR_RECEIPT_MALFORMED, field,
                                 "item %zu: not 64 hex digits", i);
    }
    *n = json_array_size(a);
    return PAY_ERR_OK;
}

enum pay_err pay_translog_head_from_json(const json_t *o, const char *field,
                                         struct pay_translog_head *h, struct pay_error *err)
{
    memset(h, 0, sizeof *h);
    size_t n = 0;
    enum pay_err e;
    if (!json_is_object(o))
        return pay_error_set(err, PAY_ERR_RECEIPT_MALFORMED, field, "not an object");
    if ((e = text_of(o, "origin", field, h->origin, err)) != PAY_ERR_OK ||
        (e = text_of(o, "key_id", field, h->key_id, err)) != PAY_ERR_OK ||
        (e = int_of(o, "tree_size", field, 1, &h->tree_size, err)) != PAY_ERR_OK ||
        (e = int_of(o, "timestamp_ms", field, 0, &h->timestamp_ms, err)) != PAY_ERR_OK)
        return e;
    if (!bytes_of(json_object_get(o, "root_hash"), true, h->root, sizeof h->root, &n) ||
        n != PAY_SHA256_LEN)
        return pay_error_set(err, PAY_ERR_RECEIPT_MALFORMED, field, "root_hash: 64 hex digits");
    if (!bytes_of(json_object_get(o, "signature"), false, h->sig, sizeof h->sig, &n) ||
        n != PAY_ED25519_SIG_LEN)
        return pay_error_set(err, PAY_ERR_RECEIPT_MALFORMED, field,
                             "signature: base64 of 64 bytes (Ed25519)");
    return PAY_ERR_OK;
}

static enum pay_err leaf_from_json(const json_t *o, struct pay_translog_leaf *l,
                                   struct pay_error *err)
{
    memset(l, 0, sizeof *l);
    enum pay_err e;
    if (!json_is_object(o))
        return pay_error_set(err, PAY_ERR_RECEIPT_MALFORMED, "leaf", "not an object");
    if ((e = text_of(o, "trade_id", "leaf", l->trade_id, err)) != PAY_ERR_OK ||
        (e = text_of(o, "merchant_id", "leaf", l->merchant_id, err)) != PAY_ERR_OK ||
        (e = text_of(o, "out_trade_no", "leaf", l->out_trade_no, err)) != PAY_ERR_OK ||
        (e = text_of(o, "currency", "leaf", l->currency, err)) != PAY_ERR_OK ||
        (e = text_of(o, "method", "leaf", l->method, err)) != PAY_ERR_OK ||
        (e = int_of(o, "amount_minor", "leaf", INT64_MIN, &l->amount_minor, err)) != PAY_ERR_OK ||
        (e = int_of(o, "paid_ms", "leaf", INT64_MIN, &l->paid_ms, err)) != PAY_ERR_OK)
        return e;
    return PAY_ERR_OK;
}

/* Every trusted witness's co-signature that verifies is counted; one that is present but does
 * not verify is a failure of its own (a forged or altered co-signature). */
static enum pay_err check_witnesses(const json_t *cosigs, const struct pay_translog_head *h,
                                    const struct pay_translog_trust *t, struct pay_error *err)
{
    if (!json_is_array(cosigs) || json_array_size(cosigs) > PAY_TRANSLOG_WITNESS_MAX)
        return pay_error_set(err, PAY_ERR_RECEIPT_MALFORMED, "cosignatures",
                             "an array of at most %d", PAY_TRANSLOG_WITNESS_MAX);
    size_t valid = 0;
    for (size_t w = 0; w < t->n_witnesses; w++) {
        for (size_t i = 0; i < json_array_size(cosigs); i++) {
            const json_t *c = json_array_get(cosigs, i);
            const json_t *name = json_object_get(c, "witness");
            if (!json_is_string(name) || strcmp(json_string_value(name), t->witnesses[w].name))
                continue;
            uint8_t sig[PAY_RSA_SIG_MAX], msg[PAY_TRANSLOG_COSIG_MSG_MAX];
            size_t sig_len = 0;
            const char *alg = json_string_value(json_object_get(c, "alg"));
            size_t len = pay_translog_cosig_message(t->witnesses[w].name, h, msg, sizeof msg);
            if (pay_translog_alg_parse(alg) != t->witnesses[w].key.alg ||
                !bytes_of(json_object_get(c, "signature"), false, sig, sizeof sig, &sig_len) ||
                !pay_translog_verify_sig(&t->witnesses[w].key, msg, len, sig, sig_len))
                return pay_error_set(err, PAY_ERR_RECEIPT_WITNESS_INVALID, "cosignatures",
                                     "the co-signature of %s does not verify with its key",
                                     t->witnesses[w].name);
            valid++;
            break;
        }
    }
    if (valid < t->quorum)
        return pay_error_set(err, PAY_ERR_RECEIPT_WITNESS_INVALID, "cosignatures",
                             "%zu valid co-signature(s) of the %zu witness(es) trusted; %zu needed",
                             valid, t->n_witnesses, t->quorum);
    return PAY_ERR_OK;
}

enum pay_err pay_translog_receipt_verify(const json_t *r, const struct pay_translog_trust *t,
                                         struct pay_error *err)
{
    struct pay_translog_leaf leaf;
    struct pay_translog_head head;
    pay_merkle_hash proof[PAY_MERKLE_PROOF_MAX];
    size_t n = 0;
    int64_t version = 0, index = 0;
    enum pay_err e;
    if (!json_is_object(r))
        return pay_error_set(err, PAY_ERR_RECEIPT_MALFORMED, "", "not a JSON object");
    if ((e = int_of(r, "receipt_version", "receipt_version", 1, &version, err)) != PAY_ERR_OK)
        return e;
    if (version != 1)
        return pay_error_set(err, PAY_ERR_RECEIPT_MALFORMED, "receipt_version", "unknown version");
    if ((e = leaf_from_json(json_object_get(r, "leaf"), &leaf, err)) != PAY_ERR_OK ||
        (e = int_of(r, "leaf_index", "leaf_index", 0, &index, err)) != PAY_ERR_OK ||
        (e = pay_translog_head_from_json(json_object_get(r, "tree_head"), "tree_head", &head,
                                         err)) != PAY_ERR_OK ||
        (e = pay_translog_hashes_from_json(json_object_get(r, "inclusion_proof"), "inclusion_proof",
                                           proof, PAY_MERKLE_PROOF_MAX, &n, err)) != PAY_ERR_OK)
        return e;
    uint8_t msg[PAY_TRANSLOG_HEAD_MSG_MAX];
    size_t len = pay_translog_head_message(&head, msg, sizeof msg);
    if (!pay_translog_verify_sig(&t->platform, msg, len, head.sig, PAY_ED25519_SIG_LEN))
        return pay_error_set(err, PAY_ERR_RECEIPT_HEAD_SIGNATURE_INVALID, "tree_head",
                             "the tree head is not signed by the platform's key");
    if ((e = check_witnesses(json_object_get(r, "cosignatures"), &head, t, err)) != PAY_ERR_OK)
        return e;
    pay_merkle_hash lh;
    pay_translog_leaf_hash(&leaf, lh);
    if (!pay_merkle_verify_inclusion((uint64_t)index, (uint64_t)head.tree_size, lh, proof, n,
                                     head.root))
        return pay_error_set(err, PAY_ERR_RECEIPT_PROOF_INVALID, "inclusion_proof",
                             "leaf %lld with this proof does not lead to the signed root of %lld "
                             "leaves",
                             (long long)index, (long long)head.tree_size);
    return PAY_ERR_OK;
}
