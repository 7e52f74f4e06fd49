/* Returning held tokens (docs/chain.md, "Returning held tokens"): the job behind `paygate
 * platform chain return`, the only code that loads a private key of the rail. For each deposit
 * whose trade is no longer open and which holds more than it paid (an over-payment, a payment
 * too short or too late), it signs an EIP-1559 transaction from the deposit's own key sending
 * what is held back to the sender of its last confirmed transfer, and stores it with the
 * ledger's move into "in flight" in one transaction before sending it; a rerun sends that same
 * transaction again (same nonce), never a second one. A later run books it once the
 * transaction has the rail's confirmations (in flight -> out of our holdings), or gives the
 * tokens back to "held" when it failed on chain. Gas: a deposit address without enough ether
 * is first paid gas from the gas wallet (account key /1/0). */
#include "platform/chain.h"
#include "platform/platform.h"

#include "chain/tx.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "crypto/crypto.h"
#include "crypto/ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define RETURN_GAS_LIMIT 100000 /* an ERC-20 transfer takes 35-52k */
#define ETHER_GAS_LIMIT  21000  /* a plain ether transfer, exactly */

struct returner {
    struct pay_platform *p;
    const struct pay_platform_chain_settings *cs;
    struct pay_chain_xprv deposits, gas; /* account/0 and account/1/0; wiped at the end */
    uint64_t max_fee, prio_fee;
    struct pay_platform_chain_return_stats *st;
};

/* --- the node ------------------------------------------------------------------------------- */

static enum pay_err address_quantity(struct returner *rt, const char *method, const char *addr,
                                     int64_t *out, struct pay_error *err)
{
    return pay_chain_rpc_quantity(&rt->cs->rpc, method, json_pack("[s, s]", addr, "pending"), out,
                                  err);
}

static enum pay_err send_raw(struct returner *rt, const char *raw, struct pay_error *err)
{
    return pay_chain_rpc_send_raw(&rt->cs->rpc, raw, err);
}

/* Gas for a deposit address that has less than a return costs: ether from the gas wallet. */
static enum pay_err fund_gas(struct returner *rt, const uint8_t to[PAY_CHAIN_ADDRESS_LEN],
                             bool *ready, struct pay_error *err)
{
    char addr[PAY_CHAIN_ADDRESS_TEXT_LEN], from[PAY_CHAIN_ADDRESS_TEXT_LEN];
    pay_chain_address_lower(to, addr);
    int64_t have = 0, nonce = 0;
    uint64_t need = RETURN_GAS_LIMIT * rt->max_fee;
    enum pay_err e = address_quantity(rt, "eth_getBalance", addr, &have, err);
    *ready = e == PAY_ERR_OK && (uint64_t)have >= need;
    if (e != PAY_ERR_OK || *ready)
        return e;
    uint8_t gas_addr[PAY_CHAIN_ADDRESS_LEN];
    pay_chain_address_of(rt->gas.pub.pubkey, gas_addr);
    pay_chain_address_lower(gas_addr, from);
    if ((e = address_quantity(rt, "eth_getTransactionCount", from, &nonce, err)) != PAY_ERR_OK)
        return e;
    struct pay_chain_tx tx = {.chain_id = (uint64_t)rt->cs->chain_id,
                              .nonce = (uint64_t)nonce,
                              .max_priority_fee_per_gas = rt->prio_fee,
                              .max_fee_per_gas = rt->max_fee,
                              .gas_limit = ETHER_GAS_LIMIT,
                              .value_wei = need - (uint64_t)have};
    memcpy(tx.to, to, sizeof tx.to);
    char raw[PAY_CHAIN_RAW_TX_MAX], hash[67];
    if (pay_chain_tx_sign(&tx, rt->gas.key, raw, sizeof raw, hash) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot sign the gas transfer");
    PAY_INFO("chain.gas", "to=%s wei=%llu tx=%s", addr, (unsigned long long)tx.value_wei, hash);
    if ((e = send_raw(rt, raw, err)) != PAY_ERR_OK)
        return e;
    e = address_quantity(rt, "eth_getBalance", addr, &have, err); /* mined yet? */
    *ready = e == PAY_ERR_OK && (uint64_t)have >= need;
    return e;
}

/* --- the books ------------------------------------------------------------------------------ */

struct ret {
    char id[PAY_ID_MAX];
    char trade_id[PAY_ID_MAX];
    char to[PAY_CHAIN_ADDRESS_TEXT_LEN];
    int64_t amount_minor;
    int64_t nonce;
    char raw[PAY_CHAIN_RAW_TX_MAX];
    char hash[67];
    char status[16];
};

struct store_cmd {
    struct pay_platform *p;
    const struct ret *r;
};

/* The signed return, stored with its move held -> in flight, before it is sent. */
static enum pay_err store_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct store_cmd *c = ctx;
    const struct ret *r = c->r;
    char id[PAY_LEDGER_ID_MAX + 1], detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(id, sizeof id, "%s.out", r->id);
    snprintf(detail, sizeof detail, "amount_minor=%lld asset=%s to=%s tx=%s trade=%s",
             (long long)r->amount_minor, c->p->set.chain.asset, r->to, r->hash, r->trade_id);
    enum pay_err e = pay_store_exec(
        tx, err,
        "INSERT INTO pf_chain_returns (id, trade_id, to_address, amount_minor, nonce, raw_tx,"
        " tx_hash, status, created_ms) VALUES ($1,$2,$3,$4,$5,$6,$7,'signed',$8)",
        "tttiitti", r->id, r->trade_id, r->to, r->amount_minor, r->nonce, r->raw, r->hash,
        pay_clock_now_ms());
    if (e == PAY_ERR_OK)
        e = pay_store_exec(tx, err,
                           "UPDATE pf_chain_deposits SET returned_minor = returned_minor + $1"
                           " WHERE trade_id = $2",
                           "it", r->amount_minor, r->trade_id);
    if (e == PAY_ERR_OK)
        e = pay_platform_chain_book(c->p, tx, id, PAY_PF_ACCT_CHAIN_HELD, "",
                                    PAY_PF_ACCT_REFUND_FLIGHT, "", r->amount_minor,
                                    PAY_PF_XFER_CHAIN_RETURN, r->trade_id, err);
    if (e == PAY_ERR_OK)
        e = pay_platform_audit(c->p, tx,
                               &(struct pay_audit_entry){.actor = "system",
                                                         .action = "chain.return",
                                                         .target = r->id,
                                                         .source = "cli",
                                                         .detail = detail},
                               err);
    return e;
}

/* A sent return's outcome: confirmed (in flight -> out of our holdings) or failed on chain (in
 * flight -> held again). Only from 'signed' or 'sent': once. */
static enum pay_err settle_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct store_cmd *c = ctx;
    const struct ret *r = c->r;
    bool ok = strcmp(r->status, "confirmed") == 0;
    PAY_ASSERT(ok || strcmp(r->status, "failed") == 0);
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "UPDATE pf_chain_returns SET status = $1, done_ms = $2 WHERE id = $3"
                        " AND status IN ('signed','sent') RETURNING id",
                        "tit", r->status, pay_clock_now_ms(), r->id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    pay_store_done(st);
    if (rc != 1)
        return rc < 0 ? err->code : PAY_ERR_OK; /* settled already */
    char id[PAY_LEDGER_ID_MAX + 1];
    snprintf(id, sizeof id, "%s.%s", r->id, ok ? "done" : "back");
    enum pay_err e = ok ? pay_platform_chain_book(c->p, tx, id, PAY_PF_ACCT_REFUND_FLIGHT, "",
                                                  PAY_PF_ACCT_RESERVE, "chain", r->amount_minor,
                                                  PAY_PF_XFER_CHAIN_RETURN_DONE, r->trade_id, err)
                        : pay_platform_chain_book(c->p, tx, id, PAY_PF_ACCT_REFUND_FLIGHT, "",
                                                  PAY_PF_ACCT_CHAIN_HELD, "", r->amount_minor,
                                                  PAY_PF_XFER_CHAIN_RETURN_BACK, r->trade_id, err);
    if (e == PAY_ERR_OK && !ok)
        e = pay_store_exec(tx, err,
                           "UPDATE pf_chain_deposits SET returned_minor = returned_minor - $1"
                           " WHERE trade_id = $2",
                           "it", r->amount_minor, r->trade_id);
    return e;
}

/* --- the phases ------------------------------------------------------------------------------- */

struct list_cmd {
    struct ret *rows;
    size_t max, n;
};

static enum pay_err open_returns_read(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct list_cmd *c = ctx;
    c->n = 0;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT id, trade_id, to_address, amount_minor, nonce, raw_tx, tx_hash, status"
        " FROM pf_chain_returns WHERE status IN ('signed','sent') ORDER BY created_ms LIMIT $1",
        "i", (int64_t)c->max);
    if (!st)
        return err->code;
    int rc;
    while (c->n < c->max && (rc = pay_store_step(st, err)) == 1) {
        struct ret *r = &c->rows[c->n++];
        pay_store_col_copy(st, 0, r->id, sizeof r->id);
        pay_store_col_copy(st, 1, r->trade_id, sizeof r->trade_id);
        pay_store_col_copy(st, 2, r->to, sizeof r->to);
        r->amount_minor = pay_store_col_int64(st, 3);
        r->nonce = pay_store_col_int64(st, 4);
        pay_store_col_copy(st, 5, r->raw, sizeof r->raw);
        pay_store_col_copy(st, 6, r->hash, sizeof r->hash);
        pay_store_col_copy(st, 7, r->status, sizeof r->status);
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

static enum pay_err sent_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    const struct ret *r = ctx;
    return pay_store_exec(tx, err,
                          "UPDATE pf_chain_returns SET status = 'sent' WHERE id = $1"
                          " AND status = 'signed'",
                          "t", r->id);
}

static enum pay_err mark_sent(struct pay_platform *p, struct ret *r, struct pay_error *err)
{
    enum pay_err e = pay_platform_write(p, sent_apply, r, err);
    if (e == PAY_ERR_OK)
        pay_str_copy(r->status, sizeof r->status, "sent");
    return e;
}

/* A stored return: sent (again, when it has no receipt yet), then settled by its receipt. */
static enum pay_err follow_return(struct returner *rt, struct ret *r, int64_t head,
                                  struct pay_error *err)
{
    struct pay_chain_tx_receipt rc;
    enum pay_err e = pay_chain_rpc_tx_receipt(&rt->cs->rpc, r->hash, &rc, err);
    if (e != PAY_ERR_OK)
        return e;
    bool ok = rc.succeeded, mined = rc.mined;
    int64_t block = rc.block_number;
    if (!mined) { /* not on chain (yet, or dropped): send it again, the same bytes */
        if ((e = send_raw(rt, r->raw, err)) == PAY_ERR_OK && strcmp(r->status, "signed") == 0)
            e = mark_sent(rt->p, r, err);
        return e;
    }
    if (head - block + 1 < rt->cs->confirmations)
        return PAY_ERR_OK; /* waits for its confirmations, like a payment */
    pay_str_copy(r->status, sizeof r->status, ok ? "confirmed" : "failed");
    struct store_cmd c = {.p = rt->p, .r = r};
    if ((e = pay_platform_write(rt->p, settle_apply, &c, err)) == PAY_ERR_OK) {
        ok ? rt->st->confirmed++ : rt->st->failed++;
        PAY_INFO("chain.returned", "return=%s tx=%s outcome=%s", r->id, r->hash, r->status);
    }
    return e;
}

/* A deposit that holds more than it paid and whose trade is no longer open (an open trade's
 * short payment may still be completed). */
struct due {
    char trade_id[PAY_ID_MAX];
    int64_t addr_index;
    int64_t owed_minor;
    char payer[PAY_CHAIN_ADDRESS_TEXT_LEN];
};

struct due_cmd {
    struct due *rows;
    size_t max, n;
};

static enum pay_err due_read(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct due_cmd *c = ctx;
    c->n = 0;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT d.trade_id, d.addr_index, d.received_minor - d.applied_minor - d.returned_minor,"
        " (SELECT x.from_address FROM pf_chain_transfers x WHERE x.trade_id = d.trade_id"
        "  AND x.status = 'credited' ORDER BY x.block_number DESC, x.log_index DESC LIMIT 1)"
        " FROM pf_chain_deposits d JOIN pf_trades t ON t.id = d.trade_id"
        " WHERE d.received_minor - d.applied_minor - d.returned_minor > 0"
        " AND t.state <> 'WAIT_BUYER_PAY'"
        " AND NOT EXISTS (SELECT 1 FROM pf_chain_returns r WHERE r.trade_id = d.trade_id"
        "  AND r.status IN ('signed','sent'))"
        " ORDER BY d.addr_index LIMIT $1",
        "i", (int64_t)c->max);
    if (!st)
        return err->code;
    int rc;
    while (c->n < c->max && (rc = pay_store_step(st, err)) == 1) {
        struct due *d = &c->rows[c->n++];
        pay_store_col_copy(st, 0, d->trade_id, sizeof d->trade_id);
        d->addr_index = pay_store_col_int64(st, 1);
        d->owed_minor = pay_store_col_int64(st, 2);
        pay_store_col_copy(st, 3, d->payer, sizeof d->payer);
        PAY_ASSERT_MSG(d->owed_minor > 0, "deposit %s", d->trade_id);
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

/* Signs the return of what deposit d holds to its payer, stores it, then sends it. */
static enum pay_err start_return(struct returner *rt, const struct due *d, struct pay_error *err)
{
    struct pay_chain_xprv k;
    enum pay_err e = pay_chain_xprv_child(&rt->deposits, (uint32_t)d->addr_index, &k, err);
    if (e != PAY_ERR_OK)
        return e;
    uint8_t from[PAY_CHAIN_ADDRESS_LEN], to[PAY_CHAIN_ADDRESS_LEN];
    pay_chain_address_of(k.pub.pubkey, from);
    bool ready = false;
    static struct ret r; /* the raw transaction is large: off the stack, one job at a time */
    memset(&r, 0, sizeof r);
    char from_text[PAY_CHAIN_ADDRESS_TEXT_LEN];
    pay_chain_address_lower(from, from_text);
    if ((e = pay_chain_address_parse(d->payer, "payer", to, err)) != PAY_ERR_OK ||
        (e = fund_gas(rt, from, &ready, err)) != PAY_ERR_OK || !ready ||
        (e = address_quantity(rt, "eth_getTransactionCount", from_text, &r.nonce, err)) !=
            PAY_ERR_OK) {
        pay_chain_xprv_wipe(&k);
        return e; /* not ready: its gas is on the way, the next run goes on */
    }
    uint8_t call[PAY_CHAIN_TRANSFER_CALL_LEN];
    pay_chain_transfer_call(to, (uint64_t)d->owed_minor, call);
    struct pay_chain_tx tx = {.chain_id = (uint64_t)rt->cs->chain_id,
                              .nonce = (uint64_t)r.nonce,
                              .max_priority_fee_per_gas = rt->prio_fee,
                              .max_fee_per_gas = rt->max_fee,
                              .gas_limit = RETURN_GAS_LIMIT,
                              .data = call,
                              .data_len = sizeof call};
    memcpy(tx.to, rt->cs->token, sizeof tx.to);
    int bad = pay_chain_tx_sign(&tx, k.key, r.raw, sizeof r.raw, r.hash);
    pay_chain_xprv_wipe(&k);
    if (bad || (e = pay_id_new("cr", r.id)) != PAY_ERR_OK)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot sign the return");
    pay_str_copy(r.trade_id, sizeof r.trade_id, d->trade_id);
    pay_chain_address_format(to, r.to);
    r.amount_minor = d->owed_minor;
    pay_str_copy(r.status, sizeof r.status, "signed");
    struct store_cmd c = {.p = rt->p, .r = &r};
    if ((e = pay_platform_write(rt->p, store_apply, &c, err)) != PAY_ERR_OK)
        return e;
    rt->st->signed_n++;
    if ((e = send_raw(rt, r.raw, err)) == PAY_ERR_OK) /* else: sent by the next run */
        e = mark_sent(rt->p, &r, err);
    return e;
}

/* account/0 must be the configured xpub: the key the deposits were derived from. */
static enum pay_err keys_of(struct returner *rt, const struct pay_chain_xprv *account,
                            struct pay_error *err)
{
    struct pay_chain_xprv gas_branch;
    enum pay_err e = pay_chain_xprv_child(account, 0, &rt->deposits, err);
    if (e == PAY_ERR_OK && (memcmp(rt->deposits.pub.pubkey, rt->cs->xpub.pubkey, 33) != 0 ||
                            memcmp(rt->deposits.pub.chain_code, rt->cs->xpub.chain_code, 32) != 0))
        e = pay_error_set(err, PAY_ERR_FIELD_INVALID, "key",
                          "the key's /0 is not the [chain] xpub: another wallet's key");
    if (e == PAY_ERR_OK && (e = pay_chain_xprv_child(account, 1, &gas_branch, err)) == PAY_ERR_OK)
        e = pay_chain_xprv_child(&gas_branch, 0, &rt->gas, err);
    pay_chain_xprv_wipe(&gas_branch);
    return e;
}

static enum pay_err run(struct returner *rt, struct pay_error *err)
{
    int64_t chain_id = 0, head = 0;
    enum pay_err e = pay_chain_rpc_chain_id(&rt->cs->rpc, &chain_id, err);
    if (e == PAY_ERR_OK && chain_id != rt->cs->chain_id) /* signed for this chain only */
        return pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "chain_id",
                             "the node is on chain %lld, not %lld", (long long)chain_id,
                             (long long)rt->cs->chain_id);
    if (e != PAY_ERR_OK || (e = pay_chain_rpc_head(&rt->cs->rpc, &head, err)) != PAY_ERR_OK ||
        (e = pay_chain_rpc_fees(&rt->cs->rpc, &rt->max_fee, &rt->prio_fee, err)) != PAY_ERR_OK)
        return e;
    static struct ret open_rows[PAY_CHAIN_RETURNS_BATCH];
    struct list_cmd l = {.rows = open_rows, .max = PAY_CHAIN_RETURNS_BATCH};
    if ((e = pay_store_run_read(rt->p->store, open_returns_read, &l, err)) != PAY_ERR_OK)
        return e;
    for (size_t i = 0; i < l.n && e == PAY_ERR_OK; i++)
        e = follow_return(rt, &open_rows[i], head, err);
    struct due due_rows[PAY_CHAIN_RETURNS_BATCH];
    struct due_cmd d = {.rows = due_rows, .max = PAY_CHAIN_RETURNS_BATCH};
    if (e == PAY_ERR_OK)
        e = pay_store_run_read(rt->p->store, due_read, &d, err);
    for (size_t i = 0; i < d.n && e == PAY_ERR_OK; i++)
        e = start_return(rt, &due_rows[i], err);
    return e;
}

enum pay_err pay_platform_chain_return_run(struct pay_platform *p,
                                           const struct pay_chain_xprv *account,
                                           struct pay_platform_chain_return_stats *out,
                                           struct pay_error *err)
{
    memset(out, 0, sizeof *out);
    if (!p->set.chain.enabled)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "chain", "no [chain] section");
    struct returner rt = {.p = p, .cs = &p->set.chain, .st = out};
    enum pay_err e = keys_of(&rt, account, err);
    if (e == PAY_ERR_OK)
        e = run(&rt, err);
    pay_chain_xprv_wipe(&rt.deposits);
    pay_chain_xprv_wipe(&rt.gas);
    return e;
}
