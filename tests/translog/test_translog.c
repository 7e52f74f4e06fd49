/* The transparency log on a real SQLite file (docs/receipts.md): the leaf's encoding and hash
 * against the docs' vector, appends that roll back with their transaction, one leaf per trade,
 * signed heads issued only when the tree grew, receipts that verify offline with the platform's
 * key and the witnesses' (Ed25519 and RSA), and each kind of tampering caught by its own error:
 * a receipt's leaf, proof, index, root or co-signature altered, a witness missing, a wrong key;
 * a leaf row edited with the sqlite3 tool (no receipt is served and no new head is signed
 * over it); consistency proofs between every two sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "lib/harness.h"
#include "translog/translog.h"

/* docs/receipts.md's vector (its Python reference gives the same). */
#define LEAF_VECTOR_HEX                                                                            \
    "70617967617465207061796d656e74207631000000001d74725f30314a443030303030303030303030303030"     \
    "3030303030303030000000066d5f73686f700000000a6f726465722d31303031000000000000300c00000003"     \
    "434e590000000677616c6c65740000019ab697e800"
#define LEAF_VECTOR_HASH "a894e8bf4410b0b38bb0ac14d84399d16e660b4a40b328c9702b5563e1a482b8"
#define HEAD_VECTOR_HEX                                                                            \
    "706179676174652074726565206865616420763100000000077061796761746500000000000000010000019a"     \
    "b698d260a894e8bf4410b0b38bb0ac14d84399d16e660b4a40b328c9702b5563e1a482b8"

static struct pay_ed25519_key platform_key, witness_ed, other_key;
static struct pay_rsa_key *witness_rsa;

struct fixture {
    char dir[256], path[300];
    struct pay_store *s;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_int_equal(th_tmpdir(f->dir, sizeof f->dir, "paygate-translog"), 0);
    snprintf(f->path, sizeof f->path, "%s/log.db", f->dir);
    const struct pay_store_component *schema[] = {&pay_translog_schema, NULL};
    struct pay_store_options o = {.readers = 1, .unsafe_no_sync = true};
    struct pay_error err = {0};
    assert_int_equal(pay_store_open(f->path, &o, schema, &f->s, &err), PAY_ERR_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pay_store_close(f->s);
    th_tmpdir_done(f->dir);
    free(f);
    return 0;
}

static void leaf_of(int i, struct pay_translog_leaf *l)
{
    memset(l, 0, sizeof *l);
    snprintf(l->trade_id, sizeof l->trade_id, "tr_%04d", i);
    snprintf(l->merchant_id, sizeof l->merchant_id, "m_%d", i % 3);
    snprintf(l->out_trade_no, sizeof l->out_trade_no, "order-%d", i);
    l->amount_minor = 100 + i;
    snprintf(l->currency, sizeof l->currency, "CNY");
    snprintf(l->method, sizeof l->method, "%s", i % 2 ? "card" : "wallet");
    l->paid_ms = 1764000000000 + i;
}

struct op {
    int from, n;
    bool fail;         /* roll back after appending */
    bool head;         /* issue a head after appending */
    int64_t now_ms;    /* the head's time */
    bool issued;       /* out */
    int64_t head_size; /* out */
};

static enum pay_err op_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct op *o = ctx;
    for (int i = o->from; i < o->from + o->n; i++) {
        struct pay_translog_leaf l;
        leaf_of(i, &l);
        int64_t idx = -1;
        enum pay_err e = pay_translog_append(tx, &l, &idx, err);
        if (e != PAY_ERR_OK)
            return e;
        assert_int_equal(idx, i);
    }
    if (o->head) {
        struct pay_sig_signer s = {PAY_SIG_ED25519, "paygate-platform", &platform_key, NULL};
        struct pay_translog_head h;
        enum pay_err e = pay_translog_head_issue(tx, &s, "paygate", o->now_ms, &h, &o->issued, err);
        if (e != PAY_ERR_OK)
            return e;
        o->head_size = h.tree_size;
        /* the witnesses co-sign it (here directly; over HTTP in the platform's tests) */
        struct pay_translog_cosig c[2] = {{.witness = "bank-ed", .alg = PAY_SIG_ED25519},
                                          {.witness = "bank-rsa", .alg = PAY_SIG_RSA_SHA256}};
        struct pay_sig_signer ws[2] = {{PAY_SIG_ED25519, "bank-ed", &witness_ed, NULL},
                                       {PAY_SIG_RSA_SHA256, "bank-rsa", NULL, witness_rsa}};
        for (int w = 0; w < 2 && o->issued; w++) {
            uint8_t msg[PAY_TRANSLOG_COSIG_MSG_MAX];
            size_t len = pay_translog_cosig_message(c[w].witness, &h, msg, sizeof msg);
            assert_int_equal(pay_translog_sign(&ws[w], msg, len, c[w].sig, &c[w].sig_len, err),
                             PAY_ERR_OK);
            assert_int_equal(pay_translog_cosig_add(tx, h.tree_size, &c[w], o->now_ms, err),
                             PAY_ERR_OK);
        }
    }
    return o->fail ? pay_error_set(err, PAY_ERR_INTERNAL, "x", "roll back") : PAY_ERR_OK;
}

static enum pay_err run(struct pay_store *s, struct op *o)
{
    struct pay_error err = {0};
    return pay_store_run_tx(s, op_tx, o, &err);
}

static void test_vector(void **state)
{
    (void)state;
    struct pay_translog_leaf l = {.trade_id = "tr_01JD0000000000000000000000",
                                  .merchant_id = "m_shop",
                                  .out_trade_no = "order-1001",
                                  .amount_minor = 12300,
                                  .currency = "CNY",
                                  .method = "wallet",
                                  .paid_ms = 1764000000000};
    uint8_t buf[PAY_TRANSLOG_LEAF_MAX];
    char hex[2 * PAY_TRANSLOG_LEAF_MAX + 1];
    size_t n = pay_translog_leaf_encode(&l, buf, sizeof buf);
    assert_int_equal(pay_hex_encode(hex, sizeof hex, buf, n), 0);
    assert_string_equal(hex, LEAF_VECTOR_HEX);
    pay_merkle_hash h;
    pay_translog_leaf_hash(&l, h);
    assert_int_equal(pay_hex_encode(hex, sizeof hex, h, sizeof h), 0);
    assert_string_equal(hex, LEAF_VECTOR_HASH);
    /* a tree of this one leaf, signed at 1764000060000 by log "paygate" */
    struct pay_translog_head head = {
        .origin = "paygate", .tree_size = 1, .timestamp_ms = 1764000060000};
    memcpy(head.root, h, sizeof h);
    n = pay_translog_head_message(&head, buf, PAY_TRANSLOG_HEAD_MSG_MAX);
    assert_int_equal(pay_hex_encode(hex, sizeof hex, buf, n), 0);
    assert_string_equal(hex, HEAD_VECTOR_HEX);
}

static struct pay_translog_trust trust(void)
{
    struct pay_translog_trust t = {
        .platform = {.alg = PAY_SIG_ED25519}, .n_witnesses = 2, .quorum = 2};
    memcpy(t.platform.ed25519, platform_key.pk, PAY_ED25519_PK_LEN);
    snprintf(t.witnesses[0].name, sizeof t.witnesses[0].name, "bank-ed");
    t.witnesses[0].key.alg = PAY_SIG_ED25519;
    memcpy(t.witnesses[0].key.ed25519, witness_ed.pk, PAY_ED25519_PK_LEN);
    snprintf(t.witnesses[1].name, sizeof t.witnesses[1].name, "bank-rsa");
    t.witnesses[1].key.alg = PAY_SIG_RSA_SHA256;
    t.witnesses[1].key.rsa = witness_rsa;
    return t;
}

struct receipt_ctx {
    const char *trade_id;
    json_t *out;
    int64_t first, second; /* a consistency proof instead, when second > 0 */
};

static enum pay_err receipt_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct receipt_ctx *r = ctx;
    json_decref(r->out);
    r->out = NULL;
    if (r->second > 0)
        return pay_translog_consistency(tx, r->first, r->second, &r->out, err);
    return pay_translog_receipt(tx, r->trade_id, &r->out, err);
}

static enum pay_err receipt(struct pay_store *s, int i, json_t **out, struct pay_error *err)
{
    char id[16];
    snprintf(id, sizeof id, "tr_%04d", i);
    struct receipt_ctx r = {.trade_id = id};
    enum pay_err e = pay_store_run_read(s, receipt_tx, &r, err);
    *out = r.out;
    return e;
}

static enum pay_err verify(json_t *r, const struct pay_translog_trust *t)
{
    struct pay_error err = {0};
    return pay_translog_receipt_verify(r, t, &err);
}

static void test_appends_and_heads(void **state)
{
    struct fixture *f = *state;
    struct op o = {.from = 0, .n = 3, .fail = true};
    assert_int_equal(run(f->s, &o), PAY_ERR_INTERNAL); /* rolled back: no leaf */
    json_t *r = NULL;
    struct pay_error err = {0};
    assert_int_equal(receipt(f->s, 0, &r, &err), PAY_ERR_NOT_FOUND);
    o = (struct op){.from = 0, .n = 3};
    assert_int_equal(run(f->s, &o), PAY_ERR_OK);
    /* in the log, not yet in a signed head */
    assert_int_equal(receipt(f->s, 0, &r, &err), PAY_ERR_RECEIPT_PENDING);
    o = (struct op){.from = 2, .n = 1}; /* tr_0002 has its leaf: once only */
    assert_int_equal(run(f->s, &o), PAY_ERR_DB_CONSTRAINT);
    o = (struct op){.from = 3, .n = 2, .head = true, .now_ms = 1000};
    assert_int_equal(run(f->s, &o), PAY_ERR_OK);
    assert_true(o.issued);
    assert_int_equal(o.head_size, 5);
    o = (struct op){.from = 5, .n = 0, .head = true, .now_ms = 2000};
    assert_int_equal(run(f->s, &o), PAY_ERR_OK);
    assert_false(o.issued); /* nothing new: no new head */
    assert_int_equal(o.head_size, 5);
    struct pay_translog_trust t = trust();
    for (int i = 0; i < 5; i++) {
        assert_int_equal(receipt(f->s, i, &r, &err), PAY_ERR_OK);
        assert_int_equal(verify(r, &t), PAY_ERR_OK);
        assert_int_equal(json_integer_value(json_object_get(r, "leaf_index")), i);
        json_decref(r);
    }
    o = (struct op){.from = 5, .n = 4, .head = true, .now_ms = 3000};
    assert_int_equal(run(f->s, &o), PAY_ERR_OK);
    assert_int_equal(o.head_size, 9);
    assert_int_equal(receipt(f->s, 8, &r, &err), PAY_ERR_OK);
    assert_int_equal(verify(r, &t), PAY_ERR_OK);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r, "tree_head"), "tree_size")), 9);
    json_decref(r);
}

/* A copy of r with path (object keys, "#n" for array items) set to v (consumed). */
static json_t *altered(json_t *r, const char *a, const char *b, json_t *v)
{
    json_t *c = json_deep_copy(r);
    json_t *parent = b ? json_object_get(c, a) : c;
    const char *key = b ? b : a;
    size_t at = key[0] == '#' ? (size_t)strtol(key + 1, NULL, 10) : 0;
    if (json_is_array(parent) && v)
        json_array_set_new(parent, at, v);
    else if (json_is_array(parent))
        json_array_remove(parent, at);
    else if (v)
        json_object_set_new(parent, key, v);
    else
        json_object_del(parent, key);
    return c;
}

static void expect(json_t *r, const struct pay_translog_trust *t, enum pay_err want)
{
    enum pay_err got = verify(r, t);
    if (got != want)
        fail_msg("verify: %s, wanted %s", pay_err_name(got), pay_err_name(want));
    json_decref(r);
}

static void test_tampered_receipts(void **state)
{
    struct fixture *f = *state;
    struct op o = {.from = 0, .n = 7, .head = true, .now_ms = 1000};
    assert_int_equal(run(f->s, &o), PAY_ERR_OK);
    json_t *r = NULL;
    struct pay_error err = {0};
    assert_int_equal(receipt(f->s, 4, &r, &err), PAY_ERR_OK);
    struct pay_translog_trust t = trust();
    assert_int_equal(verify(r, &t), PAY_ERR_OK);
    const char *proof0 =
        json_string_value(json_array_get(json_object_get(r, "inclusion_proof"), 0));
    char flipped[65];
    snprintf(flipped, sizeof flipped, "%s", proof0);
    flipped[0] = flipped[0] == '0' ? '1' : '0';
    expect(altered(r, "leaf", "amount_minor", json_integer(10400)), &t,
           PAY_ERR_RECEIPT_PROOF_INVALID);
    expect(altered(r, "leaf", "merchant_id", json_string("m_9")), &t,
           PAY_ERR_RECEIPT_PROOF_INVALID);
    expect(altered(r, "leaf_index", NULL, json_integer(5)), &t, PAY_ERR_RECEIPT_PROOF_INVALID);
    expect(altered(r, "inclusion_proof", "#0", json_string(flipped)), &t,
           PAY_ERR_RECEIPT_PROOF_INVALID);
    expect(altered(r, "tree_head", "tree_size", json_integer(8)), &t,
           PAY_ERR_RECEIPT_HEAD_SIGNATURE_INVALID);
    expect(altered(r, "tree_head", "root_hash", json_string(flipped)), &t,
           PAY_ERR_RECEIPT_HEAD_SIGNATURE_INVALID);
    expect(altered(r, "cosignatures", "#1", NULL), &t, PAY_ERR_RECEIPT_WITNESS_INVALID);
    expect(altered(r, "cosignatures", NULL, json_array()), &t, PAY_ERR_RECEIPT_WITNESS_INVALID);
    /* a co-signature moved to another witness's name */
    json_t *moved = json_deep_copy(json_array_get(json_object_get(r, "cosignatures"), 0));
    json_object_set_new(moved, "witness", json_string("bank-rsa"));
    expect(altered(r, "cosignatures", "#1", moved), &t, PAY_ERR_RECEIPT_WITNESS_INVALID);
    json_t *w = json_deep_copy(json_array_get(json_object_get(r, "cosignatures"), 0));
    json_object_set_new(w, "signature", json_string("AAAA")); /* base64, not its signature */
    expect(altered(r, "cosignatures", "#0", w), &t, PAY_ERR_RECEIPT_WITNESS_INVALID);
    expect(altered(r, "leaf", "paid_ms", json_string("soon")), &t, PAY_ERR_RECEIPT_MALFORMED);
    expect(altered(r, "inclusion_proof", NULL, NULL), &t, PAY_ERR_RECEIPT_MALFORMED);
    /* one witness trusted and required: still valid; another platform key: not */
    t.n_witnesses = 1;
    t.quorum = 1;
    assert_int_equal(verify(r, &t), PAY_ERR_OK);
    memcpy(t.platform.ed25519, other_key.pk, PAY_ED25519_PK_LEN);
    assert_int_equal(verify(r, &t), PAY_ERR_RECEIPT_HEAD_SIGNATURE_INVALID);
    json_decref(r);
}

/* A leaf row edited in the database (the sqlite3 tool, as someone with the file would): the
 * leaves no longer hash to the signed root, so no receipt is served and no head is signed over
 * the edited history; receipts issued before still verify. */
static void test_edited_row(void **state)
{
    struct fixture *f = *state;
    struct op o = {.from = 0, .n = 6, .head = true, .now_ms = 1000};
    assert_int_equal(run(f->s, &o), PAY_ERR_OK);
    json_t *before = NULL, *r = NULL;
    struct pay_error err = {0};
    assert_int_equal(receipt(f->s, 1, &before, &err), PAY_ERR_OK);
    assert_int_equal(th_sh("sqlite3 '%s' \"UPDATE translog_leaves SET amount_minor = 1"
                           " WHERE idx = 2\"",
                           f->path),
                     0);
    assert_int_equal(receipt(f->s, 1, &r, &err), PAY_ERR_TRANSLOG_CORRUPT);
    assert_int_equal(receipt(f->s, 2, &r, &err), PAY_ERR_TRANSLOG_CORRUPT);
    o = (struct op){.from = 6, .n = 1, .head = true, .now_ms = 2000};
    assert_int_equal(run(f->s, &o), PAY_ERR_TRANSLOG_CORRUPT);
    struct pay_translog_trust t = trust();
    assert_int_equal(verify(before, &t), PAY_ERR_OK);
    json_decref(before);
}

static void test_consistency(void **state)
{
    struct fixture *f = *state;
    pay_merkle_hash roots[12];
    for (int n = 1; n <= 11; n++) {
        struct op o = {.from = n - 1, .n = 1, .head = true, .now_ms = n};
        assert_int_equal(run(f->s, &o), PAY_ERR_OK);
        struct receipt_ctx r = {.trade_id = "tr_0000"};
        struct pay_error err = {0};
        assert_int_equal(pay_store_run_read(f->s, receipt_tx, &r, &err), PAY_ERR_OK);
        size_t len = 0;
        const char *hex =
            json_string_value(json_object_get(json_object_get(r.out, "tree_head"), "root_hash"));
        assert_int_equal(pay_hex_decode(roots[n], PAY_SHA256_LEN, hex, 64, &len), 0);
        json_decref(r.out);
    }
    for (int64_t m = 1; m <= 11; m++)
        for (int64_t n = m; n <= 11; n++) {
            struct receipt_ctx r = {.first = m, .second = n};
            struct pay_error err = {0};
            assert_int_equal(pay_store_run_read(f->s, receipt_tx, &r, &err), PAY_ERR_OK);
            pay_merkle_hash proof[PAY_MERKLE_PROOF_MAX];
            size_t len = 0;
            assert_int_equal(pay_translog_hashes_from_json(json_object_get(r.out, "proof"), "proof",
                                                           proof, PAY_MERKLE_PROOF_MAX, &len, &err),
                             PAY_ERR_OK);
            assert_true(pay_merkle_verify_consistency((uint64_t)m, (uint64_t)n, roots[m], roots[n],
                                                      proof, len));
            json_decref(r.out);
        }
    struct receipt_ctx r = {.first = 3, .second = 12};
    struct pay_error err = {0};
    assert_int_equal(pay_store_run_read(f->s, receipt_tx, &r, &err), PAY_ERR_FIELD_INVALID);
    assert_string_equal(err.field, "second");
    r = (struct receipt_ctx){.first = 0, .second = 4};
    assert_int_equal(pay_store_run_read(f->s, receipt_tx, &r, &err), PAY_ERR_FIELD_INVALID);
    assert_string_equal(err.field, "first");
}

/* --- the witness (witness.c) --------------------------------------------------------------- */

struct wit {
    struct pay_store *log, *bank; /* the platform's log and the bank's memory of it */
    struct pay_witness_request r;
    struct pay_translog_cosig out;
    const struct pay_ed25519_key *log_key;
};

static enum pay_err cosign_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct wit *w = ctx;
    struct pay_sig_signer s = {PAY_SIG_RSA_SHA256, "icbc", NULL, witness_rsa};
    return pay_translog_witness_cosign(tx, &s, &w->r, 5000, &w->out, err);
}

/* The newest head of the log and the proof from size `from` into w->r. */
static enum pay_err head_and_proof_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct wit *w = ctx;
    enum pay_err e = pay_translog_head_latest(tx, &w->r.head, err);
    w->r.proof_len = 0;
    if (e != PAY_ERR_OK || w->r.proof_from == 0 || w->r.proof_from >= w->r.head.tree_size)
        return e;
    pay_merkle_hash *leaves = NULL;
    if ((e = pay_translog_leaf_hashes(tx, w->r.head.tree_size, &leaves, err)) != PAY_ERR_OK)
        return e;
    w->r.proof_len = pay_merkle_consistency_proof(leaves, (uint64_t)w->r.head.tree_size,
                                                  (uint64_t)w->r.proof_from, w->r.proof);
    free(leaves);
    return PAY_ERR_OK;
}

/* Asks the witness to co-sign the log's newest head with a proof from size `from`. */
static enum pay_err ask(struct wit *w, int64_t from, struct pay_error *err)
{
    w->r.proof_from = from;
    assert_int_equal(pay_store_run_read(w->log, head_and_proof_tx, w, err), PAY_ERR_OK);
    memcpy(w->r.log_key, w->log_key->pk, PAY_ED25519_PK_LEN);
    return pay_store_run_tx(w->bank, cosign_tx, w, err);
}

/* Re-signs w->r.head with the log's key (a head the log really signed, whatever it says). */
static void resign(struct wit *w)
{
    uint8_t msg[PAY_TRANSLOG_HEAD_MSG_MAX];
    size_t len = pay_translog_head_message(&w->r.head, msg, sizeof msg);
    pay_ed25519_sign(w->r.head.sig, msg, len, w->log_key);
}

static void test_witness(void **state)
{
    struct fixture *f = *state;
    char path[320];
    snprintf(path, sizeof path, "%s/bank.db", f->dir);
    const struct pay_store_component *schema[] = {&pay_translog_witness_schema, NULL};
    struct pay_store_options o = {.readers = 1, .unsafe_no_sync = true};
    struct pay_error err = {0};
    struct wit w = {.log = f->s, .r = {.log_id = "PAYGATE"}, .log_key = &platform_key};
    assert_int_equal(pay_store_open(path, &o, schema, &w.bank, &err), PAY_ERR_OK);
    struct op op = {.from = 0, .n = 3, .head = true, .now_ms = 1000};
    assert_int_equal(run(f->s, &op), PAY_ERR_OK);
    assert_int_equal(ask(&w, 0, &err), PAY_ERR_OK); /* the first head: trusted as it comes */
    struct pay_translog_head three = w.r.head;
    /* its co-signature verifies with the bank's key over the co-signature message */
    uint8_t msg[PAY_TRANSLOG_COSIG_MSG_MAX];
    size_t len = pay_translog_cosig_message("icbc", &w.r.head, msg, sizeof msg);
    struct pay_sig_pubkey bank_pk = {.alg = PAY_SIG_RSA_SHA256, .rsa = witness_rsa};
    assert_true(pay_translog_verify_sig(&bank_pk, msg, len, w.out.sig, w.out.sig_len));
    assert_string_equal(w.out.witness, "icbc");
    assert_int_equal(ask(&w, 0, &err), PAY_ERR_OK); /* the same head again: co-signed again */
    op = (struct op){.from = 3, .n = 4, .head = true, .now_ms = 2000};
    assert_int_equal(run(f->s, &op), PAY_ERR_OK);
    assert_int_equal(ask(&w, 2, &err), PAY_ERR_FIELD_INVALID); /* not from its last size */
    assert_string_equal(err.field, "consistencyFrom");
    w.r.proof[0][0] ^= 1; /* a proof that fails */
    w.r.proof_from = 3;
    assert_int_equal(pay_store_run_tx(w.bank, cosign_tx, &w, &err), PAY_ERR_LOG_INCONSISTENT);
    /* a fork: another tree of 7 leaves, signed by the log's key, whose first 3 are not the
     * ones co-signed (a proof computed over it cannot exist; the honest one fails) */
    assert_int_equal(ask(&w, 3, &err), PAY_ERR_OK); /* the honest extension: 3 -> 7 */
    struct pay_translog_head seven = w.r.head;
    w.r.head.root[5] ^= 1;
    resign(&w);
    w.r.proof_len = 0;
    assert_int_equal(pay_store_run_tx(w.bank, cosign_tx, &w, &err), PAY_ERR_LOG_INCONSISTENT);
    assert_non_null(strstr(err.detail, "fork"));
    w.r.head = three; /* back to a smaller tree */
    assert_int_equal(pay_store_run_tx(w.bank, cosign_tx, &w, &err), PAY_ERR_LOG_INCONSISTENT);
    assert_non_null(strstr(err.detail, "smaller"));
    w.r.head = seven; /* the same head, older */
    w.r.head.timestamp_ms = 1500;
    resign(&w);
    assert_int_equal(pay_store_run_tx(w.bank, cosign_tx, &w, &err), PAY_ERR_LOG_INCONSISTENT);
    w.r.head = seven; /* not signed by the log's key */
    w.r.head.sig[0] ^= 1;
    assert_int_equal(pay_store_run_tx(w.bank, cosign_tx, &w, &err), PAY_ERR_SIGNATURE_INVALID);
    w.r.head = seven; /* another log key for the same log */
    w.log_key = &other_key;
    resign(&w);
    memcpy(w.r.log_key, other_key.pk, PAY_ED25519_PK_LEN);
    assert_int_equal(pay_store_run_tx(w.bank, cosign_tx, &w, &err), PAY_ERR_LOG_INCONSISTENT);
    assert_non_null(strstr(err.detail, "key"));
    /* the refusals changed nothing: the next honest head extends 7 */
    w.log_key = &platform_key;
    op = (struct op){.from = 7, .n = 2, .head = true, .now_ms = 3000};
    assert_int_equal(run(f->s, &op), PAY_ERR_OK);
    assert_int_equal(ask(&w, 7, &err), PAY_ERR_OK);
    assert_int_equal(w.r.head.tree_size, 9);
    pay_store_close(w.bank);
}

int main(void)
{
    assert_int_equal(pay_crypto_init(), 0);
    pay_ed25519_generate(&platform_key);
    pay_ed25519_generate(&witness_ed);
    pay_ed25519_generate(&other_key);
    assert_int_equal(pay_rsa_generate(2048, &witness_rsa), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector),
        cmocka_unit_test_setup_teardown(test_appends_and_heads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_receipts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edited_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consistency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_witness, setup, teardown),
    };
    int failures = cmocka_run_group_tests(tests, NULL, NULL);
    pay_rsa_key_free(witness_rsa);
    return th_finish(failures);
}
