/* The log read back: leaves and their hashes, signed tree heads and the witnesses'
 * co-signatures (docs/receipts.md). */
#include "translog/translog.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

static void leaf_from_row(struct pay_store_stmt *st, int col, struct pay_translog_leaf *l)
{
    memset(l, 0, sizeof *l);
    pay_store_col_copy(st, col, l->trade_id, sizeof l->trade_id);
    pay_store_col_copy(st, col + 1, l->merchant_id, sizeof l->merchant_id);
    pay_store_col_copy(st, col + 2, l->out_trade_no, sizeof l->out_trade_no);
    l->amount_minor = pay_store_col_int64(st, col + 3);
    pay_store_col_copy(st, col + 4, l->currency, sizeof l->currency);
    pay_store_col_copy(st, col + 5, l->method, sizeof l->method);
    l->paid_ms = pay_store_col_int64(st, col + 6);
}

#define LEAF_COLS "trade_id, merchant_id, out_trade_no, amount_minor, currency, method, paid_ms"

enum pay_err pay_translog_leaf_hashes(struct pay_store_tx *tx, int64_t n, pay_merkle_hash **out,
                                      struct pay_error *err)
{
    *out = NULL;
    if (n <= 0)
        return PAY_ERR_OK;
    if (n > PAY_TRANSLOG_TREE_MAX)
        return pay_error_set(err, PAY_ERR_UNAVAILABLE, "", "the log is larger than %d leaves",
                             PAY_TRANSLOG_TREE_MAX);
    pay_merkle_hash *h = calloc((size_t)n, sizeof *h);
    if (!h)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT idx, " LEAF_COLS " FROM translog_leaves WHERE idx < $1 ORDER BY idx", "i",
        n);
    if (!st) {
        free(h);
        return err->code;
    }
    int64_t next = 0;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1 && pay_store_col_int64(st, 0) == next) {
        struct pay_translog_leaf l;
        leaf_from_row(st, 1, &l);
        pay_translog_leaf_hash(&l, h[next++]);
    }
    pay_store_done(st);
    if (rc >= 0 && next != n) {
        PAY_ERROR("translog.corrupt", "leaf=%lld missing or out of place", (long long)next);
        rc = -1;
        pay_error_set(err, PAY_ERR_TRANSLOG_CORRUPT, "", "leaf %lld is missing", (long long)next);
    }
    if (rc < 0) {
        free(h);
        return err->code;
    }
    *out = h;
    return PAY_ERR_OK;
}

enum pay_err pay_translog_leaf_of(struct pay_store_tx *tx, const char *trade_id,
                                  struct pay_translog_leaf *l, int64_t *index,
                                  struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT idx, " LEAF_COLS " FROM translog_leaves WHERE trade_id = $1", "t",
        trade_id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    if (rc == 1) {
        *index = pay_store_col_int64(st, 0);
        leaf_from_row(st, 1, l);
    }
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    return rc == 1 ? PAY_ERR_OK
                   : pay_error_set(err, PAY_ERR_NOT_FOUND, "trade_id", "no receipt for this trade");
}

/* --- heads ---------------------------------------------------------------------------------- */

static enum pay_err head_from_row(struct pay_store_stmt *st, struct pay_translog_head *h,
                                  struct pay_error *err)
{
    memset(h, 0, sizeof *h);
    h->tree_size = pay_store_col_int64(st, 0);
    h->timestamp_ms = pay_store_col_int64(st, 1);
    const char *root = pay_store_col_text(st, 2), *sig = pay_store_col_text(st, 5);
    pay_store_col_copy(st, 3, h->origin, sizeof h->origin);
    pay_store_col_copy(st, 4, h->key_id, sizeof h->key_id);
    size_t n = 0, m = 0;
    if (!root || !sig || pay_hex_decode(h->root, sizeof h->root, root, strlen(root), &n) != 0 ||
        n != PAY_SHA256_LEN ||
        pay_base64_decode(h->sig, sizeof h->sig, sig, strlen(sig), &m) != 0 ||
        m != PAY_ED25519_SIG_LEN)
        return pay_error_set(err, PAY_ERR_TRANSLOG_CORRUPT, "", "tree head %lld is damaged",
                             (long long)h->tree_size);
    return PAY_ERR_OK;
}

#define HEAD_COLS "tree_size, timestamp_ms, root_hash, origin, key_id, signature"

static enum pay_err head_query(struct pay_store_tx *tx, const char *sql, int64_t size,
                               struct pay_translog_head *out, bool *found, struct pay_error *err)
{
    memset(out, 0, sizeof *out);
    struct pay_store_stmt *st = pay_store_query(tx, err, sql, size >= 0 ? "i" : "", size);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    enum pay_err e = rc < 0 ? err->code : PAY_ERR_OK;
    if (rc == 1)
        e = head_from_row(st, out, err);
    pay_store_done(st);
    *found = rc == 1;
    return e;
}

enum pay_err pay_translog_head_latest(struct pay_store_tx *tx, struct pay_translog_head *out,
                                      struct pay_error *err)
{
    bool found;
    return head_query(tx,
                      "SELECT " HEAD_COLS " FROM translog_heads ORDER BY tree_size DESC LIMIT 1",
                      -1, out, &found, err);
}

enum pay_err pay_translog_head_at(struct pay_store_tx *tx, int64_t tree_size,
                                  struct pay_translog_head *out, struct pay_error *err)
{
    bool found;
    enum pay_err e = head_query(tx, "SELECT " HEAD_COLS " FROM translog_heads WHERE tree_size = $1",
                                tree_size, out, &found, err);
    if (e == PAY_ERR_OK && !found)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "tree_size", "no signed head of this size");
    return e;
}

static enum pay_err head_store(struct pay_store_tx *tx, const struct pay_translog_head *h,
                               struct pay_error *err)
{
    char root[PAY_HEX_LEN(PAY_SHA256_LEN)], sig[PAY_BASE64_LEN(PAY_ED25519_SIG_LEN)];
    (void)pay_hex_encode(root, sizeof root, h->root, PAY_SHA256_LEN);
    (void)pay_base64_encode(sig, sizeof sig, h->sig, PAY_ED25519_SIG_LEN);
    PAY_INFO("translog.head", "origin=%s size=%lld root=%s", h->origin, (long long)h->tree_size,
             root); /* a copy of the head outside the database */
    return pay_store_exec(tx, err,
                          "INSERT INTO translog_heads (tree_size, timestamp_ms, root_hash, origin,"
                          " key_id, signature) VALUES ($1, $2, $3, $4, $5, $6)",
                          "iitttt", h->tree_size, h->timestamp_ms, root, h->origin, h->key_id, sig);
}

enum pay_err pay_translog_head_issue(struct pay_store_tx *tx, const struct pay_sig_signer *signer,
                                     const char *origin, int64_t now_ms,
                                     struct pay_translog_head *out, bool *issued,
                                     struct pay_error *err)
{
    PAY_ASSERT(signer->alg == PAY_SIG_ED25519 && strlen(origin) <= PAY_TRANSLOG_TEXT_MAX);
    *issued = false;
    int64_t size = 0;
    enum pay_err e = pay_translog_head_latest(tx, out, err);
    if (e == PAY_ERR_OK)
        e = pay_translog_size(tx, &size, err);
    if (e != PAY_ERR_OK || size == out->tree_size)
        return e;
    PAY_ASSERT_MSG(size > out->tree_size, "the log shrank from %lld to %lld leaves",
                   (long long)out->tree_size, (long long)size);
    pay_merkle_hash *leaves = NULL;
    if ((e = pay_translog_leaf_hashes(tx, size, &leaves, err)) != PAY_ERR_OK)
        return e;
    /* Never sign a history that differs from the last signed one: the first leaves must still
     * hash to the last head's root (a row edited in the store stops here). */
    struct pay_translog_head h = {.tree_size = size, .timestamp_ms = now_ms};
    pay_merkle_root(leaves, (uint64_t)out->tree_size, h.root);
    bool same = out->tree_size == 0 || pay_ct_equal(h.root, out->root, PAY_SHA256_LEN);
    pay_merkle_root(leaves, (uint64_t)size, h.root);
    free(leaves);
    if (!same) {
        PAY_ERROR("translog.corrupt", "size=%lld the leaves do not hash to the signed root",
                  (long long)out->tree_size);
        return pay_error_set(err, PAY_ERR_TRANSLOG_CORRUPT, "",
                             "the log's leaves no longer hash to its signed head of size %lld",
                             (long long)out->tree_size);
    }
    pay_str_copy(h.origin, sizeof h.origin, origin);
    pay_str_copy(h.key_id, sizeof h.key_id, signer->key_id);
    uint8_t msg[PAY_TRANSLOG_HEAD_MSG_MAX], sig[PAY_RSA_SIG_MAX];
    size_t len = pay_translog_head_message(&h, msg, sizeof msg), sig_len = 0;
    if ((e = pay_translog_sign(signer, msg, len, sig, &sig_len, err)) != PAY_ERR_OK)
        return e;
    memcpy(h.sig, sig, PAY_ED25519_SIG_LEN);
    if ((e = head_store(tx, &h, err)) != PAY_ERR_OK)
        return e;
    *out = h;
    *issued = true;
    return PAY_ERR_OK;
}

enum pay_err pay_translog_cosig_add(struct pay_store_tx *tx, int64_t tree_size,
                                    const struct pay_translog_cosig *c, int64_t now_ms,
                                    struct pay_error *err)
{
    char sig[PAY_BASE64_LEN(PAY_RSA_SIG_MAX)];
    if (pay_base64_encode(sig, sizeof sig, c->sig, c->sig_len) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "signature too long");
    return pay_store_exec(tx, err,
                          "INSERT INTO translog_cosignatures (tree_size, witness, alg, signature,"
                          " at_ms) VALUES ($1, $2, $3, $4, $5)"
                          " ON CONFLICT (tree_size, witness) DO NOTHING",
                          "ittti", tree_size, c->witness, pay_translog_alg_name(c->alg), sig,
                          now_ms);
}
