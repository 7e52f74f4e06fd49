/* The transparency log's store: the leaves' canonical encoding, appends in the payment's
 * transaction, the leaves' hashes, signed tree heads and the witnesses' co-signatures
 * (docs/receipts.md). */
#include "translog/translog.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

/* Portable SQL (docs/store.md): BIGINT and TEXT only, hashes and signatures as text. No
 * triggers: a row edited behind the platform's back is found by the signed heads (the
 * leaves no longer hash to a signed root) and by the witnesses (a new head is not consistent
 * with the last one they signed). */
static const struct pay_store_migration migrations[] = {
    {1, "CREATE TABLE translog_leaves ("
        " idx BIGINT PRIMARY KEY," /* 0, 1, 2, ... without gaps */
        " trade_id TEXT NOT NULL UNIQUE, merchant_id TEXT NOT NULL, out_trade_no TEXT NOT NULL,"
        " amount_minor BIGINT NOT NULL, currency TEXT NOT NULL, method TEXT NOT NULL,"
        " paid_ms BIGINT NOT NULL);"
        "CREATE TABLE translog_heads ("
        " tree_size BIGINT PRIMARY KEY, timestamp_ms BIGINT NOT NULL, root_hash TEXT NOT NULL,"
        " origin TEXT NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL);"
        "CREATE TABLE translog_cosignatures ("
        " tree_size BIGINT NOT NULL, witness TEXT NOT NULL, alg TEXT NOT NULL,"
        " signature TEXT NOT NULL, at_ms BIGINT NOT NULL, PRIMARY KEY (tree_size, witness))"},
};
const struct pay_store_component pay_translog_schema = {
    "translog", migrations, sizeof migrations / sizeof migrations[0], NULL};

static const char LEAF_TAG[] = "paygate payment v1";          /* + its NUL */
static const char HEAD_TAG[] = "paygate tree head v1";        /* + its NUL */
static const char COSIG_TAG[] = "paygate tree head cosig v1"; /* + its NUL */

size_t pay_translog_leaf_encode(const struct pay_translog_leaf *l, uint8_t *buf, size_t size)
{
    PAY_ASSERT(size >= PAY_TRANSLOG_LEAF_MAX);
    struct pay_enc w = {buf, 0, size};
    pay_enc_bytes(&w, LEAF_TAG, sizeof LEAF_TAG); /* with its NUL: no tag is a prefix of another */
    pay_enc_text(&w, l->trade_id);
    pay_enc_text(&w, l->merchant_id);
    pay_enc_text(&w, l->out_trade_no);
    pay_enc_u64(&w, (uint64_t)l->amount_minor);
    pay_enc_text(&w, l->currency);
    pay_enc_text(&w, l->method);
    pay_enc_u64(&w, (uint64_t)l->paid_ms);
    return w.len;
}

void pay_translog_leaf_hash(const struct pay_translog_leaf *l, pay_merkle_hash out)
{
    uint8_t buf[PAY_TRANSLOG_LEAF_MAX];
    size_t n = pay_translog_leaf_encode(l, buf, sizeof buf);
    pay_merkle_leaf_hash(buf, n, out);
}

size_t pay_translog_head_message(const struct pay_translog_head *h, uint8_t *buf, size_t size)
{
    PAY_ASSERT(size >= PAY_TRANSLOG_HEAD_MSG_MAX);
    struct pay_enc w = {buf, 0, size};
    pay_enc_bytes(&w, HEAD_TAG, sizeof HEAD_TAG);
    pay_enc_text(&w, h->origin);
    pay_enc_u64(&w, (uint64_t)h->tree_size);
    pay_enc_u64(&w, (uint64_t)h->timestamp_ms);
    pay_enc_bytes(&w, h->root, PAY_SHA256_LEN);
    return w.len;
}

size_t pay_translog_anchor_data(const struct pay_translog_head *h, uint8_t *buf, size_t size)
{
    PAY_ASSERT(size >= PAY_TRANSLOG_ANCHOR_DATA_MAX);
    size_t n = pay_translog_head_message(h, buf, size);
    memcpy(buf + n, h->sig, PAY_ED25519_SIG_LEN);
    return n + PAY_ED25519_SIG_LEN;
}

size_t pay_translog_cosig_message(const char *witness, const struct pay_translog_head *h,
                                  uint8_t *buf, size_t size)
{
    PAY_ASSERT(size >= PAY_TRANSLOG_COSIG_MSG_MAX);
    struct pay_enc w = {buf, 0, size};
    pay_enc_bytes(&w, COSIG_TAG, sizeof COSIG_TAG);
    pay_enc_text(&w, witness);
    uint8_t head[PAY_TRANSLOG_HEAD_MSG_MAX];
    size_t n = pay_translog_head_message(h, head, sizeof head);
    pay_enc_bytes(&w, head, n);
    return w.len;
}

const char *pay_translog_alg_name(enum pay_sig_alg alg)
{
    return alg == PAY_SIG_RSA_SHA256 ? "rsa-sha256" : "ed25519";
}

enum pay_sig_alg pay_translog_alg_parse(const char *name)
{
    if (name && strcmp(name, "ed25519") == 0)
        return PAY_SIG_ED25519;
    if (name && strcmp(name, "rsa-sha256") == 0)
        return PAY_SIG_RSA_SHA256;
    return PAY_SIG_ALG_NONE;
}

enum pay_err pay_translog_sign(const struct pay_sig_signer *s, const uint8_t *msg, size_t len,
                               uint8_t *sig, size_t *sig_len, struct pay_error *err)
{
    *sig_len = PAY_ED25519_SIG_LEN;
    if (s->alg == PAY_SIG_ED25519) {
        pay_ed25519_sign(sig, msg, len, s->ed25519);
        return PAY_ERR_OK;
    }
    if (s->alg != PAY_SIG_RSA_SHA256 ||
        pay_rsa_sign(s->rsa, msg, len, sig, PAY_RSA_SIG_MAX, sig_len) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "translog", "cannot sign");
    return PAY_ERR_OK;
}

bool pay_translog_verify_sig(const struct pay_sig_pubkey *key, const uint8_t *msg, size_t len,
                             const uint8_t *sig, size_t sig_len)
{
    if (key->alg == PAY_SIG_ED25519)
        return sig_len == PAY_ED25519_SIG_LEN &&
               pay_ed25519_verify(sig, msg, len, key->ed25519) == 0;
    return key->alg == PAY_SIG_RSA_SHA256 && key->rsa &&
           pay_rsa_verify(key->rsa, msg, len, sig, sig_len) == 0;
}

/* --- appends ------------------------------------------------------------------------------ */

static enum pay_err check_leaf(const struct pay_translog_leaf *l, struct pay_error *err)
{
    const struct {
        const char *name, *v;
    } f[] = {{"translog.trade_id", l->trade_id},
             {"translog.merchant_id", l->merchant_id},
             {"translog.out_trade_no", l->out_trade_no},
             {"translog.currency", l->currency},
             {"translog.method", l->method}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (strnlen(f[i].v, PAY_TRANSLOG_TEXT_MAX + 1) > PAY_TRANSLOG_TEXT_MAX)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, f[i].name, "longer than %d bytes",
                                 PAY_TRANSLOG_TEXT_MAX);
    if (!l->trade_id[0])
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "translog.trade_id", "empty");
    return PAY_ERR_OK;
}

/* The one integer a query without parameters answers (0 when it answers no row). */
static enum pay_err scalar(struct pay_store_tx *tx, const char *sql, int64_t *out,
                           struct pay_error *err)
{
    *out = 0;
    struct pay_store_stmt *st = pay_store_query(tx, err, sql, "");
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    if (rc == 1)
        *out = pay_store_col_int64(st, 0);
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

/* The leaves are 0..n-1 without gaps, so the size is the last index + 1: a look-up in the primary
 * key's index. COUNT(*) read every leaf (PostgreSQL scans the table): one per payment under the
 * writer lock, growing with the log (docs/performance.md). */
#define NEXT_IDX "COALESCE(MAX(idx) + 1, 0)"

enum pay_err pay_translog_size(struct pay_store_tx *tx, int64_t *size, struct pay_error *err)
{
    return scalar(tx, "SELECT " NEXT_IDX " FROM translog_leaves", size, err);
}

enum pay_err pay_translog_first_paid_ms(struct pay_store_tx *tx, int64_t *ms, struct pay_error *err)
{
    return scalar(tx, "SELECT paid_ms FROM translog_leaves WHERE idx = 0", ms, err);
}

enum pay_err pay_translog_append(struct pay_store_tx *tx, const struct pay_translog_leaf *l,
                                 int64_t *index_out, struct pay_error *err)
{
    /* One statement: the next index is read by the insert. Without index_out nobody needs its
     * answer now: queued on PostgreSQL, its failure the body's (pay_store_exec_deferred). */
    enum pay_err e = check_leaf(l, err);
    enum pay_err (*exec)(struct pay_store_tx *, struct pay_error *, const char *, const char *,
                         ...) = index_out ? pay_store_exec : pay_store_exec_deferred;
    if (e == PAY_ERR_OK)
        e = exec(tx, err,
                 "INSERT INTO translog_leaves (idx, trade_id, merchant_id, out_trade_no,"
                 " amount_minor, currency, method, paid_ms)"
                 " SELECT " NEXT_IDX ", $1, $2, $3, $4, $5, $6, $7 FROM translog_leaves",
                 "tttitti", l->trade_id, l->merchant_id, l->out_trade_no, l->amount_minor,
                 l->currency, l->method, l->paid_ms);
    int64_t size = 0;
    if (e == PAY_ERR_OK && index_out && (e = pay_translog_size(tx, &size, err)) == PAY_ERR_OK)
        *index_out = size - 1;
    return e;
}
