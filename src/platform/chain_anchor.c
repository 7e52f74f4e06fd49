/* Anchoring the payment log on the chain (docs/receipts.md, "Anchoring on the chain"): the
 * newest signed tree head, message and signature, as the data of a transaction from the anchor
 * key to itself. Whoever holds a receipt then finds its head in a block of a public chain: the
 * platform cannot later show anyone another head of that size without it being seen. One anchor
 * is in flight at a time; it is stored, signed, before it is sent, sent again (the same bytes)
 * while the node has no receipt of it, and confirmed at the rail's confirmations. The anchor
 * key can only spend the ether it holds for gas: it has no power over tokens or deposits. */
#include "platform/chain.h"
#include "platform/platform.h"

#include "chain/tx.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "crypto/crypto.h"
#include "crypto/ids.h"
#include "translog/translog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* Intrinsic gas of a call to an account without code: 21000 and at most 40 per byte of data
 * (16 per non-zero byte since EIP-2028; the calldata floor of EIP-7623 is 40). */
#define ANCHOR_GAS_PER_BYTE 40
#define ANCHOR_GAS_BASE     21000

static pthread_mutex_t anchor_mu = PTHREAD_MUTEX_INITIALIZER; /* one step at a time */

struct anchor_row {
    bool have;
    char id[PAY_ID_MAX];
    int64_t tree_size, nonce, block_number, created_ms;
    char raw[PAY_CHAIN_RAW_TX_MAX];
    char hash[67];
    char status[16];
    char address[PAY_CHAIN_ADDRESS_TEXT_LEN];
};

static void row_public(const struct anchor_row *r, struct pay_platform_chain_anchor *out)
{
    memset(out, 0, sizeof *out);
    if (!r->have)
        return;
    out->tree_size = r->tree_size;
    out->block_number = r->block_number;
    pay_str_copy(out->tx_hash, sizeof out->tx_hash, r->hash);
    pay_str_copy(out->status, sizeof out->status, r->status);
    pay_str_copy(out->address, sizeof out->address, r->address);
}

/* The newest anchor that is not dropped (in flight or confirmed), or only a confirmed one. */
static enum pay_err row_read(struct pay_store_tx *tx, bool confirmed_only, struct anchor_row *r,
                             struct pay_error *err)
{
    memset(r, 0, sizeof *r);
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT id, tree_size, nonce, block_number, created_ms, raw_tx, tx_hash, status, address"
        " FROM pf_chain_anchors WHERE status <> 'dropped' AND ($1 = 0 OR status = 'confirmed')"
        " ORDER BY tree_size DESC, created_ms DESC LIMIT 1",
        "i", (int64_t)confirmed_only);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    if (rc == 1) {
        r->have = true;
        pay_store_col_copy(st, 0, r->id, sizeof r->id);
        r->tree_size = pay_store_col_int64(st, 1);
        r->nonce = pay_store_col_int64(st, 2);
        r->block_number = pay_store_col_int64(st, 3);
        r->created_ms = pay_store_col_int64(st, 4);
        pay_store_col_copy(st, 5, r->raw, sizeof r->raw);
        pay_store_col_copy(st, 6, r->hash, sizeof r->hash);
        pay_store_col_copy(st, 7, r->status, sizeof r->status);
        pay_store_col_copy(st, 8, r->address, sizeof r->address);
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

enum pay_err pay_platform_chain_anchor_latest(struct pay_store_tx *tx,
                                              struct pay_platform_chain_anchor *out,
                                              struct pay_error *err)
{
    struct anchor_row *r = malloc(sizeof *r);
    if (r == NULL)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    enum pay_err e = row_read(tx, true, r, err);
    row_public(r, out);
    free(r);
    return e;
}

struct state_cmd {
    struct anchor_row *row;        /* in: the newest anchor; the head to anchor: its new row */
    struct pay_translog_head head; /* out of state_read: the newest head */
    const struct pay_chain_tx_receipt *rc; /* settle: its receipt */
    const char *to_status;                 /* settle: the status it moves to */
    const char *address;                   /* insert: the anchor key's address */
    bool inserted;                         /* out of insert_apply */
};

static enum pay_err state_read(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct state_cmd *c = ctx;
    enum pay_err e = row_read(tx, false, c->row, err);
    return e == PAY_ERR_OK ? pay_translog_head_latest(tx, &c->head, err) : e;
}

/* A row moves once: signed -> sent, in flight -> confirmed or dropped. */
static enum pay_err settle_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct state_cmd *c = ctx;
    bool confirmed = strcmp(c->to_status, "confirmed") == 0;
    return pay_store_exec(tx, err,
                          "UPDATE pf_chain_anchors SET status = $1, block_number = $2,"
                          " block_hash = $3, done_ms = $4 WHERE id = $5"
                          " AND status IN ('signed','sent')",
                          "titit", c->to_status, confirmed ? c->rc->block_number : 0,
                          confirmed ? c->rc->block_hash : "",
                          strcmp(c->to_status, "sent") == 0 ? 0 : pay_clock_now_ms(), c->row->id);
}

static enum pay_err settle(struct pay_platform *p, struct anchor_row *r, const char *to_status,
                           const struct pay_chain_tx_receipt *rc, struct pay_error *err)
{
    struct state_cmd c = {.row = r, .rc = rc, .to_status = to_status};
    enum pay_err e = pay_platform_write(p, settle_apply, &c, err);
    if (e == PAY_ERR_OK)
        pay_str_copy(r->status, sizeof r->status, to_status);
    return e;
}

/* The anchor in flight: sent again while not mined (unless another transaction took its nonce:
 * dropped), confirmed once it has the rail's confirmations. */
static enum pay_err follow(struct pay_platform *p, struct anchor_row *r, struct pay_error *err)
{
    const struct pay_platform_chain_settings *cs = &p->set.chain;
    struct pay_chain_tx_receipt rc;
    int64_t head = 0, used = 0;
    enum pay_err e = pay_chain_rpc_tx_receipt(&cs->rpc, r->hash, &rc, err);
    if (e != PAY_ERR_OK)
        return e;
    if (!rc.mined) {
        e = pay_chain_rpc_quantity(&cs->rpc, "eth_getTransactionCount",
                                   json_pack("[s, s]", cs->anchor_address, "latest"), &used, err);
        if (e == PAY_ERR_OK && used > r->nonce) { /* its nonce went to another transaction */
            PAY_WARN("chain.anchor_dropped", "size=%lld tx=%s nonce=%lld", (long long)r->tree_size,
                     r->hash, (long long)r->nonce);
            return settle(p, r, "dropped", NULL, err);
        }
        if (e == PAY_ERR_OK && (e = pay_chain_rpc_send_raw(&cs->rpc, r->raw, err)) == PAY_ERR_OK)
            PAY_INFO("chain.anchor_resent", "size=%lld tx=%s (not in the node's chain)",
                     (long long)r->tree_size, r->hash);
        if (e == PAY_ERR_OK && strcmp(r->status, "signed") == 0)
            e = settle(p, r, "sent", NULL, err);
        return e;
    }
    if ((e = pay_chain_rpc_head(&cs->rpc, &head, err)) != PAY_ERR_OK ||
        head - rc.block_number + 1 < cs->confirmations)
        return e;        /* waits for its confirmations, like a payment */
    if (!rc.succeeded) { /* a call to an account without code fails only without gas */
        PAY_ERROR("chain.anchor_failed", "size=%lld tx=%s block=%lld", (long long)r->tree_size,
                  r->hash, (long long)rc.block_number);
        return settle(p, r, "dropped", NULL, err);
    }
    if ((e = settle(p, r, "confirmed", &rc, err)) == PAY_ERR_OK) {
        r->block_number = rc.block_number;
        PAY_INFO("chain.anchored", "size=%lld tx=%s block=%lld", (long long)r->tree_size, r->hash,
                 (long long)rc.block_number);
    }
    return e;
}

/* The new anchor, unless another process stored one in flight meanwhile. */
static enum pay_err insert_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct state_cmd *c = ctx;
    const struct anchor_row *r = c->row;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "INSERT INTO pf_chain_anchors (id, tree_size, address, nonce, raw_tx, tx_hash, status,"
        " created_ms) SELECT $1, $2, $3, $4, $5, $6, 'signed', $7 WHERE NOT EXISTS (SELECT 1"
        " FROM pf_chain_anchors WHERE status IN ('signed','sent')"
        " OR (status = 'confirmed' AND tree_size >= $2))"
        " RETURNING id",
        "tititti", r->id, r->tree_size, c->address, r->nonce, r->raw, r->hash, r->created_ms);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    pay_store_done(st);
    c->inserted = rc == 1;
    return rc < 0 ? err->code : PAY_ERR_OK;
}

/* Signs the anchor of head, stores it, then sends it. */
static enum pay_err start(struct pay_platform *p, const struct pay_translog_head *head,
                          struct anchor_row *r, struct pay_error *err)
{
    const struct pay_platform_chain_settings *cs = &p->set.chain;
    uint8_t data[PAY_TRANSLOG_ANCHOR_DATA_MAX];
    size_t len = pay_translog_anchor_data(head, data, sizeof data);
    struct pay_chain_tx tx = {.chain_id = (uint64_t)cs->chain_id,
                              .gas_limit = ANCHOR_GAS_BASE + ANCHOR_GAS_PER_BYTE * len,
                              .data = data,
                              .data_len = len};
    int64_t nonce = 0;
    enum pay_err e =
        pay_chain_rpc_fees(&cs->rpc, &tx.max_fee_per_gas, &tx.max_priority_fee_per_gas, err);
    if (e == PAY_ERR_OK)
        e = pay_chain_rpc_quantity(&cs->rpc, "eth_getTransactionCount",
                                   json_pack("[s, s]", cs->anchor_address, "pending"), &nonce, err);
    if (e != PAY_ERR_OK)
        return e;
    tx.nonce = (uint64_t)nonce;
    PAY_ASSERT(pay_chain_address_parse(cs->anchor_address, "", tx.to, NULL) == PAY_ERR_OK);
    memset(r, 0, sizeof *r);
    if (pay_chain_tx_sign(&tx, cs->anchor_key, r->raw, sizeof r->raw, r->hash) != 0 ||
        pay_id_new("an", r->id) != PAY_ERR_OK)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot sign the anchor");
    r->have = true;
    r->tree_size = head->tree_size;
    r->nonce = nonce;
    r->created_ms = pay_clock_now_ms();
    pay_str_copy(r->status, sizeof r->status, "signed");
    pay_str_copy(r->address, sizeof r->address, cs->anchor_address);
    struct state_cmd c = {.row = r, .address = cs->anchor_address};
    if ((e = pay_platform_write(p, insert_apply, &c, err)) != PAY_ERR_OK || !c.inserted)
        return e; /* another process anchors: it follows its own */
    PAY_INFO("chain.anchor_sent", "size=%lld tx=%s nonce=%lld", (long long)r->tree_size, r->hash,
             (long long)nonce);
    if ((e = pay_chain_rpc_send_raw(&cs->rpc, r->raw, err)) == PAY_ERR_OK) /* else: next step */
        e = settle(p, r, "sent", NULL, err);
    return e;
}

static enum pay_err step_locked(struct pay_platform *p, bool now, struct anchor_row *r,
                                struct pay_error *err)
{
    const struct pay_platform_chain_settings *cs = &p->set.chain;
    int64_t chain_id = 0;
    enum pay_err e = pay_chain_rpc_chain_id(&cs->rpc, &chain_id, err);
    if (e == PAY_ERR_OK && chain_id != cs->chain_id) /* signed for this chain only */
        e = pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "chain_id",
                          "the node is on chain %lld, not %lld", (long long)chain_id,
                          (long long)cs->chain_id);
    struct state_cmd c = {.row = r};
    if (e == PAY_ERR_OK)
        e = pay_store_run_read(p->store, state_read, &c, err);
    if (e != PAY_ERR_OK)
        return e;
    bool in_flight =
        r->have && (strcmp(r->status, "signed") == 0 || strcmp(r->status, "sent") == 0);
    if (in_flight)
        return follow(p, r, err);
    if (c.head.tree_size == 0 || (r->have && c.head.tree_size <= r->tree_size))
        return PAY_ERR_OK; /* nothing new to anchor */
    if (!now && r->have && pay_clock_now_ms() - r->created_ms < cs->anchor_interval_ms)
        return PAY_ERR_OK;
    return start(p, &c.head, r, err);
}

enum pay_err pay_platform_chain_anchor_step(struct pay_platform *p, bool now,
                                            struct pay_platform_chain_anchor *last,
                                            struct pay_error *err)
{
    if (!p->set.chain.enabled || !p->set.chain.anchoring)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "anchor_key_file",
                             "anchoring is off: [chain] anchor_key_file is not set");
    struct anchor_row *r = malloc(sizeof *r); /* the raw transaction is large: off the stack */
    if (r == NULL)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    pthread_mutex_lock(&anchor_mu);
    enum pay_err e = step_locked(p, now, r, err);
    pthread_mutex_unlock(&anchor_mu);
    if (last)
        row_public(r, last);
    free(r);
    return e;
}
