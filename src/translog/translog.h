/* The transparency log of payments (docs/receipts.md is the contract): every completed
 * payment is a leaf of an RFC 9162 Merkle tree, appended by pay_translog_append inside the
 * transaction that completes the payment, so a payment never exists without its leaf. Signed
 * tree heads (Ed25519, the platform's key) are issued from time to time and co-signed by
 * witnesses (the banks), each of which signs a head only when it is consistent with the last
 * one it signed. A receipt is a leaf, its index, a co-signed head and the inclusion proof; it
 * verifies offline with the published keys (pay_translog_receipt_verify).
 *
 * Threads: as the store; the caller's transaction serialises appends. */
#ifndef PAY_TRANSLOG_TRANSLOG_H
#define PAY_TRANSLOG_TRANSLOG_H

#include "core/errors.h"
#include "core/limits.h"
#include "crypto/sig.h"
#include "crypto/sign.h"
#include "store/store.h"
#include "translog/merkle.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* The schema (component "translog"): translog_leaves, translog_heads, translog_cosignatures.
 * Pass it to pay_store_open beside the server's own. */
extern const struct pay_store_component pay_translog_schema;

/* One completed payment: what its leaf says. Texts are UTF-8 without NUL, at most
 * PAY_TRANSLOG_TEXT_MAX bytes. */
struct pay_translog_leaf {
    char trade_id[PAY_TRANSLOG_TEXT_MAX + 1];
    char merchant_id[PAY_TRANSLOG_TEXT_MAX + 1];
    char out_trade_no[PAY_TRANSLOG_TEXT_MAX + 1];
    int64_t amount_minor;
    char currency[PAY_TRANSLOG_TEXT_MAX + 1];
    char method[PAY_TRANSLOG_TEXT_MAX + 1]; /* wallet, card, bank, qr, ... */
    int64_t paid_ms;
};

/* The leaf's canonical bytes (docs/receipts.md, "The leaf") into buf (PAY_TRANSLOG_LEAF_MAX);
 * returns their length. */
size_t pay_translog_leaf_encode(const struct pay_translog_leaf *l, uint8_t *buf, size_t size);
/* SHA-256(0x00 || the leaf's bytes). */
void pay_translog_leaf_hash(const struct pay_translog_leaf *l, pay_merkle_hash out);

/* Appends l as the next leaf inside tx (the transaction that completes the payment).
 * index_out (may be NULL) gets its index. FIELD_INVALID (field "translog.<name>") for a text
 * out of bounds; DB_CONSTRAINT when the trade already has its leaf; DB errors as the store's. */
enum pay_err pay_translog_append(struct pay_store_tx *tx, const struct pay_translog_leaf *l,
                                 int64_t *index_out, struct pay_error *err);

/* A signed tree head. */
struct pay_translog_head {
    char origin[PAY_TRANSLOG_TEXT_MAX + 1]; /* the log's name: the platform's */
    int64_t tree_size;
    int64_t timestamp_ms;
    pay_merkle_hash root;
    char key_id[PAY_TRANSLOG_TEXT_MAX + 1];
    uint8_t sig[PAY_ED25519_SIG_LEN];
};

/* A witness's co-signature of a head. */
struct pay_translog_cosig {
    char witness[PAY_TRANSLOG_TEXT_MAX + 1]; /* the bank's code */
    enum pay_sig_alg alg;
    uint8_t sig[PAY_RSA_SIG_MAX];
    size_t sig_len;
};

/* The bytes the platform signs (buf: PAY_TRANSLOG_HEAD_MSG_MAX) and those a witness signs
 * (PAY_TRANSLOG_COSIG_MSG_MAX); return their length. */
size_t pay_translog_head_message(const struct pay_translog_head *h, uint8_t *buf, size_t size);
size_t pay_translog_cosig_message(const char *witness, const struct pay_translog_head *h,
                                  uint8_t *buf, size_t size);

/* The bytes a head's anchor transaction carries as its data (docs/receipts.md, "Anchoring on
 * the chain"): the head's message, then its Ed25519 signature. buf: PAY_TRANSLOG_ANCHOR_DATA_MAX;
 * returns the length. */
size_t pay_translog_anchor_data(const struct pay_translog_head *h, uint8_t *buf, size_t size);

/* Signs msg with s (Ed25519 or RSA-SHA256) into sig (PAY_RSA_SIG_MAX); verifies with key. */
enum pay_err pay_translog_sign(const struct pay_sig_signer *s, const uint8_t *msg, size_t len,
                               uint8_t *sig, size_t *sig_len, struct pay_error *err);
bool pay_translog_verify_sig(const struct pay_sig_pubkey *key, const uint8_t *msg, size_t len,
                             const uint8_t *sig, size_t sig_len)
    __attribute__((warn_unused_result));
const char *pay_translog_alg_name(enum pay_sig_alg alg);   /* "ed25519", "rsa-sha256" */
enum pay_sig_alg pay_translog_alg_parse(const char *name); /* PAY_SIG_ALG_NONE: unknown */

/* --- the log's store ------------------------------------------------------------------------- */

/* Leaves in the log inside tx. */
enum pay_err pay_translog_size(struct pay_store_tx *tx, int64_t *size, struct pay_error *err);
/* When the log's first payment was paid (its leaf's paid_ms; 0 for an empty log). */
enum pay_err pay_translog_first_paid_ms(struct pay_store_tx *tx, int64_t *ms,
                                        struct pay_error *err);
/* The hashes of leaves 0..n-1 (malloc'd into *out, caller frees; NULL for n = 0).
 * UNAVAILABLE above PAY_TRANSLOG_TREE_MAX; TRANSLOG_CORRUPT when a leaf is missing. */
enum pay_err pay_translog_leaf_hashes(struct pay_store_tx *tx, int64_t n, pay_merkle_hash **out,
                                      struct pay_error *err);
/* The leaf of a trade and its index; NOT_FOUND when it has none. */
enum pay_err pay_translog_leaf_of(struct pay_store_tx *tx, const char *trade_id,
                                  struct pay_translog_leaf *l, int64_t *index,
                                  struct pay_error *err);

/* Signs and stores a head of the whole tree as it is in tx, timestamped now_ms, when the tree
 * grew since the last head (*issued true); else leaves *out the last head (*issued false; size
 * 0 and no head when the log is empty). signer is the platform's Ed25519 key. */
enum pay_err pay_translog_head_issue(struct pay_store_tx *tx, const struct pay_sig_signer *signer,
                                     const char *origin, int64_t now_ms,
                                     struct pay_translog_head *out, bool *issued,
                                     struct pay_error *err);
/* The newest head (tree_size 0 when none), or the head of a given size (NOT_FOUND). */
enum pay_err pay_translog_head_latest(struct pay_store_tx *tx, struct pay_translog_head *out,
                                      struct pay_error *err);
enum pay_err pay_translog_head_at(struct pay_store_tx *tx, int64_t tree_size,
                                  struct pay_translog_head *out, struct pay_error *err);
/* Stores a witness's co-signature of the head of tree_size (once per witness). */
enum pay_err pay_translog_cosig_add(struct pay_store_tx *tx, int64_t tree_size,
                                    const struct pay_translog_cosig *c, int64_t now_ms,
                                    struct pay_error *err);

/* --- what the log serves (JSON, docs/receipts.md) --------------------------------------------- */

/* A head and its co-signatures as JSON (new reference). */
enum pay_err pay_translog_head_json(struct pay_store_tx *tx, const struct pay_translog_head *h,
                                    json_t **out, struct pay_error *err);
/* The receipt of a trade (new reference in *out): its leaf, index, the newest signed head and
 * its co-signatures, and the inclusion proof. NOT_FOUND: no leaf for the trade;
 * RECEIPT_PENDING: no signed head covers it yet; TRANSLOG_CORRUPT: the stored leaves no longer
 * hash to the signed root (a row was edited). */
enum pay_err pay_translog_receipt(struct pay_store_tx *tx, const char *trade_id, json_t **out,
                                  struct pay_error *err);
/* The same with the head of tree_size (NOT_FOUND when there is none; RECEIPT_PENDING when it
 * does not cover the payment); 0 is the newest. */
enum pay_err pay_translog_receipt_at(struct pay_store_tx *tx, const char *trade_id,
                                     int64_t tree_size, json_t **out, struct pay_error *err);
/* The consistency proof between sizes first and second (0 < first <= second <= the newest
 * head's size) as {first, second, proof} (new reference). FIELD_INVALID naming "first" or
 * "second" otherwise. */
enum pay_err pay_translog_consistency(struct pay_store_tx *tx, int64_t first, int64_t second,
                                      json_t **out, struct pay_error *err);

/* --- offline verification ----------------------------------------------------------------------
 */

/* Whom a verifier trusts: the platform's key and the witnesses' (borrowed). */
struct pay_translog_trust {
    struct pay_sig_pubkey platform;
    struct {
        char name[PAY_TRANSLOG_TEXT_MAX + 1];
        struct pay_sig_pubkey key;
    } witnesses[PAY_TRANSLOG_WITNESS_MAX];
    size_t n_witnesses;
    size_t quorum; /* valid co-signatures of known witnesses required */
};

/* Checks a receipt (docs/receipts.md, "Verifying a receipt"): its form, the platform's
 * signature of the head, the witnesses' co-signatures (quorum), and the leaf's inclusion in
 * the signed root. Returns OK or the first failure with err naming it: RECEIPT_MALFORMED
 * (field), RECEIPT_HEAD_SIGNATURE_INVALID, RECEIPT_WITNESS_INVALID,
 * RECEIPT_PROOF_INVALID. */
enum pay_err pay_translog_receipt_verify(const json_t *receipt, const struct pay_translog_trust *t,
                                         struct pay_error *err);

/* Reads a head from its JSON form (the receipt's tree_head; the witness API's head). */
enum pay_err pay_translog_head_from_json(const json_t *o, const char *field,
                                         struct pay_translog_head *h, struct pay_error *err);
/* Reads up to max hex hashes from a JSON array (field names it in errors). */
enum pay_err pay_translog_hashes_from_json(const json_t *a, const char *field, pay_merkle_hash *out,
                                           size_t max, size_t *n, struct pay_error *err);

/* --- witnesses (witness.c) ----------------------------------------------------------------------
 */

/* A witness's schema (component "witness"): table witness_logs, the last head it co-signed
 * per log. Pass it to pay_store_open beside the witness's own (the banks'). */
extern const struct pay_store_component pay_translog_witness_schema;

/* A head a log asks a witness to co-sign. */
struct pay_witness_request {
    const char *log_id;                  /* who asks (authenticated by the caller) */
    uint8_t log_key[PAY_ED25519_PK_LEN]; /* the log's public key: pinned at the first head */
    struct pay_translog_head head;
    int64_t proof_from; /* the size the consistency proof starts from: the witness's last */
    pay_merkle_hash proof[PAY_MERKLE_PROOF_MAX];
    size_t proof_len;
};

/* Inside tx: checks r (the head signed by log_key; the key the one pinned for log_id; the head
 * consistent with the last one co-signed for log_id: not smaller, not older, the same root at
 * the same size, a consistency proof from the last size that verifies), remembers it as the
 * last, and co-signs it with witness (key_id = the witness's name) into *out.
 * SIGNATURE_INVALID (field head.signature), LOG_INCONSISTENT (field head, the detail says why
 * and the last size), FIELD_INVALID (consistencyFrom: not the last size); nothing is changed
 * then. The first head of a log is co-signed as it comes (trust on first use). */
enum pay_err pay_translog_witness_cosign(struct pay_store_tx *tx,
                                         const struct pay_sig_signer *witness,
                                         struct pay_witness_request *r, int64_t now_ms,
                                         struct pay_translog_cosig *out, struct pay_error *err);

/* `paygate receipt` (cmd_receipt.c, linked into the paygate binary): verify a receipt. Takes
 * the arguments after the command's name (argv[0] is it), returns the exit status. */
int pay_cmd_receipt(int argc, char **argv);

#endif
