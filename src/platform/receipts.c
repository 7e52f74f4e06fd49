/* The platform's side of the transparency log (docs/receipts.md): each paid trade's leaf,
 * appended in the transaction that records the payment (trades.c), so a payment never exists
 * without its leaf; the sweeper's round that signs tree heads and has the banks co-sign them
 * as witnesses; and the receipts served, with the anchor of their head on the chain when it has
 * one (chain_anchor.c). */
#include "platform/platform.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/x509.h"
#include "http/server.h"
#include "platform/connector.h"
#include "translog/translog.h"

#include <stdlib.h>
#include <string.h>

enum pay_err pay_platform_receipt_leaf(struct pay_store_tx *tx, const struct pay_platform_trade *t,
                                       struct pay_error *err)
{
    struct pay_translog_leaf l = {.amount_minor = t->amount_minor, .paid_ms = t->paid_ms};
    /* Each fits: ids and out_trade_no are at most 64 bytes (limits.h, checked below). */
    pay_str_copy(l.trade_id, sizeof l.trade_id, t->id);
    pay_str_copy(l.merchant_id, sizeof l.merchant_id, t->merchant_id);
    pay_str_copy(l.out_trade_no, sizeof l.out_trade_no, t->out_trade_no);
    pay_str_copy(l.currency, sizeof l.currency, t->currency);
    pay_str_copy(l.method, sizeof l.method, t->pay_method);
    return pay_translog_append(tx, &l, NULL, err);
}

_Static_assert(PAY_ID_MAX <= PAY_TRANSLOG_TEXT_MAX + 1 &&
                   PAY_PLATFORM_MERCHANT_ID_MAX <= PAY_TRANSLOG_TEXT_MAX &&
                   PAY_MERCHANT_ID_FIELD_MAX <= PAY_TRANSLOG_TEXT_MAX,
               "a trade's ids fit a leaf");

/* --- signed tree heads and their witnesses (the sweeper's round) --------------------------- */

struct issue_ctx {
    struct pay_platform *p;
    int64_t now_ms;
    struct pay_translog_head head; /* out: the newest head */
};

/* A head when the log grew and the interval passed since the last head (the first: since the
 * first payment), so heads come at most once an interval and a payment waits at most about
 * one interval for its receipt. */
static enum pay_err issue_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct issue_ctx *c = ctx;
    int64_t since = 0;
    enum pay_err e = pay_translog_head_latest(tx, &c->head, err);
    if (e == PAY_ERR_OK && c->head.tree_size > 0)
        since = c->head.timestamp_ms;
    else if (e == PAY_ERR_OK)
        e = pay_translog_first_paid_ms(tx, &since, err);
    if (e != PAY_ERR_OK || since == 0 || c->now_ms - since < PAY_TRANSLOG_HEAD_INTERVAL_MS)
        return e;
    struct pay_sig_signer s = {PAY_SIG_ED25519, c->p->key_id, &c->p->key, NULL};
    bool issued = false;
    return pay_translog_head_issue(tx, &s, c->p->set.name, c->now_ms, &c->head, &issued, err);
}

/* What a bank is asked: the head, the log's key, and the consistency proof from the last head
 * this bank co-signed (none for its first). */
struct ask_ctx {
    const char *witness;
    const struct pay_translog_head *head;
    bool signed_already;
    int64_t from;
    pay_merkle_hash proof[PAY_MERKLE_PROOF_MAX];
    size_t proof_len;
};

static enum pay_err ask_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct ask_ctx *a = ctx;
    a->signed_already = false;
    a->from = 0;
    a->proof_len = 0;
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT COALESCE(MAX(tree_size), 0) FROM translog_cosignatures WHERE witness = $1",
        "t", a->witness);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    if (rc == 1)
        a->from = pay_store_col_int64(st, 0);
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    a->signed_already = a->from >= a->head->tree_size;
    if (a->signed_already || a->from == 0)
        return PAY_ERR_OK;
    pay_merkle_hash *leaves = NULL;
    enum pay_err e = pay_translog_leaf_hashes(tx, a->head->tree_size, &leaves, err);
    if (e != PAY_ERR_OK)
        return e;
    a->proof_len = pay_merkle_consistency_proof(leaves, (uint64_t)a->head->tree_size,
                                                (uint64_t)a->from, a->proof);
    free(leaves);
    return PAY_ERR_OK;
}

static json_t *ask_json(struct pay_platform *p, const struct ask_ctx *a)
{
    char key[PAY_BASE64_LEN(PAY_ED25519_PK_LEN)], root[PAY_HEX_LEN(PAY_SHA256_LEN)],
        sig[PAY_BASE64_LEN(PAY_ED25519_SIG_LEN)];
    (void)pay_base64_encode(key, sizeof key, p->key.pk, PAY_ED25519_PK_LEN);
    (void)pay_hex_encode(root, sizeof root, a->head->root, PAY_SHA256_LEN);
    (void)pay_base64_encode(sig, sizeof sig, a->head->sig, PAY_ED25519_SIG_LEN);
    json_t *proof = json_array();
    for (size_t i = 0; i < a->proof_len; i++) {
        char h[PAY_HEX_LEN(PAY_SHA256_LEN)];
        (void)pay_hex_encode(h, sizeof h, a->proof[i], PAY_SHA256_LEN);
        json_array_append_new(proof, json_string(h));
    }
    const struct pay_translog_head *h = a->head;
    return json_pack("{s:s, s:{s:s, s:I, s:I, s:s, s:s, s:s}, s:I, s:o}", "logKey", key, "head",
                     "origin", h->origin, "tree_size", (json_int_t)h->tree_size, "timestamp_ms",
                     (json_int_t)h->timestamp_ms, "root_hash", root, "key_id", h->key_id,
                     "signature", sig, "consistencyFrom", (json_int_t)a->from, "consistencyProof",
                     proof);
}

/* The bank's co-signature, checked with its signing certificate before it is kept: a receipt
 * must never carry one that does not verify. */
static enum pay_err cosig_of(const struct pay_platform_bank *b, const struct pay_translog_head *h,
                             json_t *answer, struct pay_translog_cosig *c, struct pay_error *err)
{
    const char *w = json_string_value(json_object_get(answer, "witness"));
    const char *alg = json_string_value(json_object_get(answer, "alg"));
    const char *sig = json_string_value(json_object_get(answer, "signature"));
    uint8_t msg[PAY_TRANSLOG_COSIG_MSG_MAX];
    size_t len = pay_translog_cosig_message(b->code, h, msg, sizeof msg);
    memset(c, 0, sizeof *c);
    if (!w || strcmp(w, b->code) != 0 || pay_translog_alg_parse(alg) != PAY_SIG_RSA_SHA256 ||
        !sig || pay_x509_verify_data(b->bank_cert_pem, msg, len, sig) != 0 ||
        pay_base64_decode(c->sig, sizeof c->sig, sig, strlen(sig), &c->sig_len) != 0)
        return pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "",
                             "bank %s: a co-signature that "
                             "does not verify with its certificate",
                             b->code);
    pay_str_copy(c->witness, sizeof c->witness, b->code);
    c->alg = PAY_SIG_RSA_SHA256;
    return PAY_ERR_OK;
}

struct keep_ctx {
    int64_t tree_size, now_ms;
    const struct pay_translog_cosig *c;
};

static enum pay_err keep_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct keep_ctx *k = ctx;
    return pay_translog_cosig_add(tx, k->tree_size, k->c, k->now_ms, err);
}

/* Asks bank i to co-sign head, once per head (a bank that refused or could not be reached is
 * asked again at the next head), and keeps its co-signature. */
static void ask_witness(struct pay_platform *p, size_t i, const struct pay_translog_head *head)
{
    const struct pay_platform_bank *b = &p->set.banks[i];
    struct ask_ctx a = {.witness = b->code, .head = head};
    struct pay_error err = {0};
    if (p->receipts_asked[i] == head->tree_size || !b->conn->witness_cosign)
        return;
    if (pay_store_run_read(p->store, ask_tx, &a, &err) != PAY_ERR_OK || a.signed_already) {
        if (a.signed_already)
            p->receipts_asked[i] = head->tree_size;
        return;
    }
    p->receipts_asked[i] = head->tree_size;
    json_t *answer = NULL;
    struct pay_translog_cosig c;
    enum pay_err e = b->conn->witness_cosign(b, ask_json(p, &a), &answer, &err);
    if (e == PAY_ERR_OK)
        e = cosig_of(b, head, answer, &c, &err);
    json_decref(answer);
    struct keep_ctx k = {head->tree_size, pay_clock_now_ms(), &c};
    if (e == PAY_ERR_OK)
        e = pay_platform_write(p, keep_tx, &k, &err);
    if (e == PAY_ERR_LOG_INCONSISTENT)
        PAY_ERROR("translog.witness_refused", "bank=%s size=%lld detail=\"%s\"", b->code,
                  (long long)head->tree_size, err.detail);
    else if (e != PAY_ERR_OK)
        PAY_WARN("translog.witness_failed", "bank=%s size=%lld code=%s detail=\"%s\"", b->code,
                 (long long)head->tree_size, pay_err_name(e), err.detail);
    else
        PAY_INFO("translog.cosigned", "bank=%s size=%lld", b->code, (long long)head->tree_size);
}

void pay_platform_receipts_work(struct pay_platform *p)
{
    struct issue_ctx c = {.p = p, .now_ms = pay_clock_now_ms()};
    struct pay_error err = {0};
    if (pay_platform_write(p, issue_tx, &c, &err) != PAY_ERR_OK) {
        PAY_ERROR("translog.head_failed", "code=%s detail=\"%s\"", pay_err_name(err.code),
                  err.detail);
        return;
    }
    if (c.head.tree_size == 0)
        return;
    for (size_t i = 0; i < p->set.n_banks && i < PAY_TRANSLOG_WITNESS_MAX; i++)
        ask_witness(p, i, &c.head);
}

/* --- what the platform serves (docs/receipts.md, "Getting receipts and proofs") ------------- */

struct serve_ctx {
    struct pay_platform *p;
    const char *trade_id; /* a receipt; else the newest head, or a consistency proof */
    int64_t first, second;
    json_t *out;
};

/* A trade's receipt: with the newest head anchored on the chain when that head covers the
 * payment, and its anchor (docs/receipts.md, "Anchoring on the chain"); else with the newest
 * head. */
static enum pay_err receipt_tx(struct pay_store_tx *tx, struct serve_ctx *s, struct pay_error *err)
{
    struct pay_translog_leaf l;
    int64_t index = 0;
    struct pay_platform_chain_anchor a = {0};
    enum pay_err e = pay_translog_leaf_of(tx, s->trade_id, &l, &index, err);
    if (e == PAY_ERR_OK && s->p->set.chain.enabled)
        e = pay_platform_chain_anchor_latest(tx, &a, err);
    if (e != PAY_ERR_OK)
        return e;
    if (a.tree_size <= index)
        return pay_translog_receipt(tx, s->trade_id, &s->out, err);
    if ((e = pay_translog_receipt_at(tx, s->trade_id, a.tree_size, &s->out, err)) != PAY_ERR_OK)
        return e;
    json_t *anchor = json_pack("{s:I, s:s, s:s, s:I}", "chain_id",
                               (json_int_t)s->p->set.chain.chain_id, "address", a.address,
                               "tx_hash", a.tx_hash, "block_number", (json_int_t)a.block_number);
    if (anchor == NULL || json_object_set_new(s->out, "anchor", anchor) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    return PAY_ERR_OK;
}

static enum pay_err serve_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct serve_ctx *s = ctx;
    json_decref(s->out);
    s->out = NULL;
    if (s->trade_id)
        return receipt_tx(tx, s, err);
    if (s->second > 0)
        return pay_translog_consistency(tx, s->first, s->second, &s->out, err);
    struct pay_translog_head h;
    enum pay_err e = pay_translog_head_latest(tx, &h, err);
    if (e == PAY_ERR_OK && h.tree_size == 0)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "", "no tree head signed yet");
    return e == PAY_ERR_OK ? pay_translog_head_json(tx, &h, &s->out, err) : e;
}

enum pay_err pay_platform_receipt_json(struct pay_platform *p, const char *trade_id, json_t **out,
                                       struct pay_error *err)
{
    struct serve_ctx s = {.p = p, .trade_id = trade_id};
    enum pay_err e = pay_store_run_read(p->store, serve_tx, &s, err);
    if (e == PAY_ERR_NOT_FOUND) /* the trade has no leaf: it is not paid */
        e = pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "trade_id",
                          "the trade is not paid: a receipt exists once it is");
    *out = s.out;
    return e;
}

/* A size of the query string: 1..2^53 (what JSON numbers hold exactly). */
static bool size_param(struct pay_http_request *req, const char *name, int64_t *out,
                       struct pay_error *err)
{
    const char *v = pay_http_req_query(req, name);
    char *end = NULL;
    long long n = v && *v >= '1' && *v <= '9' && strlen(v) <= 16 ? strtoll(v, &end, 10) : 0;
    if (n <= 0 || !end || *end) {
        pay_error_set(err, v ? PAY_ERR_FIELD_INVALID : PAY_ERR_FIELD_MISSING, name,
                      "a tree size: a whole number from 1");
        return false;
    }
    *out = n;
    return true;
}

/* GET /v1/log/head and GET /v1/log/consistency?first=M&second=N: public, like the platform's
 * key; signed like every answer. */
static enum pay_err h_log(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    struct serve_ctx s = {.p = p};
    bool consistency = strcmp(pay_http_req_path(req), "/v1/log/consistency") == 0;
    if (consistency &&
        (!size_param(req, "first", &s.first, err) || !size_param(req, "second", &s.second, err)))
        return err->code;
    enum pay_err e = pay_store_run_read(p->store, serve_tx, &s, err);
    if (e == PAY_ERR_OK)
        pay_http_respond_json(req, 200, s.out);
    else
        json_decref(s.out);
    return e;
}

const struct pay_http_route *pay_platform_receipts_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/v1/log/head", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_log, NULL},
        {"GET", "/v1/log/consistency", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_log, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
