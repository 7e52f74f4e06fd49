/* A witness's side of the log (docs/receipts.md, "Witnesses"): it remembers, per log, the
 * last head it co-signed, and co-signs a new head only when the log's key signed it and a
 * consistency proof shows the last head's tree is a prefix of the new one. A head that would
 * rewrite history — smaller, another root at the same size, a proof that fails, an older
 * time, another log key — is refused with LOG_INCONSISTENT and changes nothing. */
#include "translog/translog.h"

#include "core/buf.h"
#include "core/log.h"

#include <string.h>

static const struct pay_store_migration migrations[] = {
    {1, "CREATE TABLE witness_logs ("
        " log_id TEXT PRIMARY KEY," /* who submits it: the platform's merchant id at the bank */
        " origin TEXT NOT NULL, log_key TEXT NOT NULL," /* the log's Ed25519 key, pinned */
        " tree_size BIGINT NOT NULL, root_hash TEXT NOT NULL, timestamp_ms BIGINT NOT NULL,"
        " signed_ms BIGINT NOT NULL)"},
};
const struct pay_store_component pay_translog_witness_schema = {
    "witness", migrations, sizeof migrations / sizeof migrations[0], NULL};

struct last_head {
    bool found;
    char log_key[PAY_BASE64_LEN(PAY_ED25519_PK_LEN)];
    struct pay_translog_head h;
};

static enum pay_err last_of(struct pay_store_tx *tx, const char *log_id, struct last_head *l,
                            struct pay_error *err)
{
    memset(l, 0, sizeof *l);
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT log_key, tree_size, root_hash, timestamp_ms FROM witness_logs WHERE log_id = $1",
        "t", log_id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    size_t n = 0;
    if (rc == 1) {
        l->found = true;
        pay_store_col_copy(st, 0, l->log_key, sizeof l->log_key);
        l->h.tree_size = pay_store_col_int64(st, 1);
        const char *root = pay_store_col_text(st, 2);
        if (!root || pay_hex_decode(l->h.root, sizeof l->h.root, root, strlen(root), &n) != 0 ||
            n != PAY_SHA256_LEN) {
            pay_error_set(err, PAY_ERR_INTERNAL, "", "witness state damaged");
            rc = -1;
        }
        l->h.timestamp_ms = pay_store_col_int64(st, 3);
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

static enum pay_err refuse(const char *log_id, struct pay_witness_request *r, struct pay_error *err,
                           const char *why, long long last)
{
    PAY_WARN("witness.refused", "log=%s size=%lld last=%lld why=\"%s\"", log_id,
             (long long)r->head.tree_size, last, why);
    return pay_error_set(err, PAY_ERR_LOG_INCONSISTENT, "head", "%s (last co-signed size %lld)",
                         why, last);
}

/* The new head against the last one co-signed: the same tree, or a consistent extension. */
static enum pay_err check_history(const char *log_id, const struct last_head *l,
                                  struct pay_witness_request *r, struct pay_error *err)
{
    long long last = (long long)l->h.tree_size;
    if (r->head.tree_size < l->h.tree_size)
        return refuse(log_id, r, err, "the head is smaller than one already co-signed", last);
    if (r->head.timestamp_ms < l->h.timestamp_ms)
        return refuse(log_id, r, err, "the head is older than one already co-signed", last);
    if (r->head.tree_size == l->h.tree_size) {
        if (!pay_ct_equal(r->head.root, l->h.root, PAY_SHA256_LEN))
            return refuse(log_id, r, err, "another root for a size already co-signed (a fork)",
                          last);
        return PAY_ERR_OK;
    }
    if (r->proof_from != l->h.tree_size)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "consistencyFrom",
                             "must be %lld, the size this witness co-signed last", last);
    if (!pay_merkle_verify_consistency((uint64_t)l->h.tree_size, (uint64_t)r->head.tree_size,
                                       l->h.root, r->head.root, r->proof, r->proof_len))
        return refuse(log_id, r, err,
                      "the consistency proof fails: the new tree does not extend the old one",
                      last);
    return PAY_ERR_OK;
}

static enum pay_err remember(struct pay_store_tx *tx, const char *log_id, const char *log_key,
                             const struct pay_translog_head *h, int64_t now_ms,
                             struct pay_error *err)
{
    char root[PAY_HEX_LEN(PAY_SHA256_LEN)];
    (void)pay_hex_encode(root, sizeof root, h->root, PAY_SHA256_LEN);
    return pay_store_exec(tx, err,
                          "INSERT INTO witness_logs (log_id, origin, log_key, tree_size, root_hash,"
                          " timestamp_ms, signed_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                          " ON CONFLICT (log_id) DO UPDATE SET tree_size = excluded.tree_size,"
                          " root_hash = excluded.root_hash, timestamp_ms = excluded.timestamp_ms,"
                          " signed_ms = excluded.signed_ms",
                          "tttitii", log_id, h->origin, log_key, h->tree_size, root,
                          h->timestamp_ms, now_ms);
}

enum pay_err pay_translog_witness_cosign(struct pay_store_tx *tx,
                                         const struct pay_sig_signer *witness,
                                         struct pay_witness_request *r, int64_t now_ms,
                                         struct pay_translog_cosig *out, struct pay_error *err)
{
    char key[PAY_BASE64_LEN(PAY_ED25519_PK_LEN)];
    (void)pay_base64_encode(key, sizeof key, r->log_key, PAY_ED25519_PK_LEN);
    struct pay_sig_pubkey pk = {.alg = PAY_SIG_ED25519};
    memcpy(pk.ed25519, r->log_key, PAY_ED25519_PK_LEN);
    uint8_t msg[PAY_TRANSLOG_COSIG_MSG_MAX];
    size_t len = pay_translog_head_message(&r->head, msg, sizeof msg);
    if (!pay_translog_verify_sig(&pk, msg, len, r->head.sig, PAY_ED25519_SIG_LEN))
        return pay_error_set(err, PAY_ERR_SIGNATURE_INVALID, "head.signature",
                             "the head is not signed by logKey");
    struct last_head l;
    enum pay_err e = last_of(tx, r->log_id, &l, err);
    if (e != PAY_ERR_OK)
        return e;
    if (l.found && strcmp(l.log_key, key) != 0)
        return refuse(r->log_id, r, err, "another log key than the one this witness pinned",
                      (long long)l.h.tree_size);
    if (l.found && (e = check_history(r->log_id, &l, r, err)) != PAY_ERR_OK)
        return e;
    if ((e = remember(tx, r->log_id, key, &r->head, now_ms, err)) != PAY_ERR_OK)
        return e;
    memset(out, 0, sizeof *out);
    pay_str_copy(out->witness, sizeof out->witness, witness->key_id);
    out->alg = witness->alg;
    len = pay_translog_cosig_message(witness->key_id, &r->head, msg, sizeof msg);
    return pay_translog_sign(witness, msg, len, out->sig, &out->sig_len, err);
}
