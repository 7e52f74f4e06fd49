/* The chain watcher (docs/chain.md, "Watching the chain"). Its position is the last block it
 * read, kept with the block's hash in pf_chain_blocks in the same transaction as the transfers
 * it found there: a restart goes on from there, neither missing nor reading a block twice.
 * Before reading further it checks that its last block is still the node's block of that
 * number; when not, a reorganisation replaced it: the block is forgotten with the unconfirmed
 * transfers seen in it, and the check goes one block back, until it meets the fork. A transfer
 * is credited once it has the configured confirmations (its block and the blocks after it up
 * to the last one read), which no reorganisation shallower than that can undo. */
#include "platform/chain.h"
#include "platform/platform.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "crypto/ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static pthread_mutex_t pass_mu = PTHREAD_MUTEX_INITIALIZER; /* one pass at a time */

struct tip {
    bool have;
    int64_t number;
    char hash[67];
};

static enum pay_err tip_read(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct tip *t = ctx;
    t->have = false;
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT number, hash FROM pf_chain_blocks ORDER BY number DESC LIMIT 1", "");
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    if (rc == 1) {
        t->have = true;
        t->number = pay_store_col_int64(st, 0);
        pay_store_col_copy(st, 1, t->hash, sizeof t->hash);
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

/* --- reorganisations ------------------------------------------------------------------------- */

struct rollback_cmd {
    int64_t number;
    int64_t dropped, kept; /* outputs: unconfirmed transfers deleted, credited ones left */
};

static enum pay_err rollback_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct rollback_cmd *c = ctx;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT COALESCE(SUM(CASE WHEN status = 'seen' THEN 1 ELSE 0 END), 0),"
                        " COALESCE(SUM(CASE WHEN status = 'credited' THEN 1 ELSE 0 END), 0)"
                        " FROM pf_chain_transfers WHERE block_number >= $1",
                        "i", c->number);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    c->dropped = rc == 1 ? pay_store_col_int64(st, 0) : 0;
    c->kept = rc == 1 ? pay_store_col_int64(st, 1) : 0;
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    st = pay_store_query(tx, err, "SELECT COUNT(*) FROM pf_chain_blocks WHERE number < $1", "i",
                         c->number);
    if (!st)
        return err->code;
    rc = pay_store_step(st, err);
    int64_t below = rc == 1 ? pay_store_col_int64(st, 0) : 0;
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    if (below == 0) /* nothing left to compare with: the fork is older than what we remember */
        return pay_error_set(err, PAY_ERR_INTERNAL, "chain",
                             "a reorganisation deeper than the %d blocks remembered replaced"
                             " block %lld; the watcher cannot follow it by itself (docs/chain.md)",
                             PAY_CHAIN_REORG_DEPTH_MAX, (long long)c->number);
    enum pay_err e = pay_store_exec(
        tx, err, "DELETE FROM pf_chain_transfers WHERE block_number >= $1 AND status = 'seen'", "i",
        c->number);
    if (e == PAY_ERR_OK)
        e = pay_store_exec(tx, err, "DELETE FROM pf_chain_blocks WHERE number >= $1", "i",
                           c->number);
    return e;
}

/* Forgets block `number` (and anything after it): a reorganisation replaced it. */
static enum pay_err rollback(struct pay_platform *p, int64_t number, struct pay_error *err)
{
    struct rollback_cmd c = {.number = number};
    enum pay_err e = pay_platform_write(p, rollback_apply, &c, err);
    if (e != PAY_ERR_OK)
        return e;
    PAY_WARN("chain.reorg", "block=%lld dropped_unconfirmed=%lld", (long long)number,
             (long long)c.dropped);
    if (c.kept > 0) /* deeper than the confirmations: the books say what the chain no longer does */
        PAY_ERROR("chain.reorg_credited",
                  "block=%lld credited_transfers=%lld: a reorganisation deeper than the"
                  " confirmations removed credited payments; reconcile by hand (docs/chain.md)",
                  (long long)number, (long long)c.kept);
    return PAY_ERR_OK;
}

/* --- reading a block ----------------------------------------------------------------------- */

struct block_cmd {
    struct pay_platform *p;
    const struct pay_chain_block *b;
    const struct pay_chain_transfer_log *logs;
    size_t n;
    size_t recorded; /* output */
};

/* The deposit whose address is `to` (lower-case 0x hex), or *found false. */
static enum pay_err deposit_of(struct pay_store_tx *tx, const char *to, char trade_id[PAY_ID_MAX],
                               bool *found, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT trade_id FROM pf_chain_deposits WHERE address = $1", "t", to);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    if (rc == 1)
        pay_store_col_copy(st, 0, trade_id, PAY_ID_MAX);
    pay_store_done(st);
    *found = rc == 1;
    return rc < 0 ? err->code : PAY_ERR_OK;
}

static enum pay_err record_log(struct block_cmd *c, struct pay_store_tx *tx,
                               const struct pay_chain_transfer_log *l, struct pay_error *err)
{
    char to[43], from[43], trade_id[PAY_ID_MAX], id[PAY_ID_MAX];
    bool found = false;
    pay_chain_address_lower(l->to, to);
    enum pay_err e = deposit_of(tx, to, trade_id, &found, err);
    if (e != PAY_ERR_OK || !found)
        return e;
    if (l->too_large || l->amount_minor <= 0 || l->amount_minor > PAY_AMOUNT_MAX_MINOR) {
        PAY_ERROR("chain.transfer_refused",
                  "tx=%s log=%lld trade=%s: zero, or more than one payment may be; not credited,"
                  " to be returned by hand",
                  l->tx_hash, (long long)l->log_index, trade_id);
        return PAY_ERR_OK;
    }
    if ((e = pay_id_new("ct", id)) != PAY_ERR_OK)
        return pay_error_set(err, e, "", "no randomness for an id");
    pay_chain_address_lower(l->from, from);
    c->recorded++;
    return pay_store_exec(tx, err,
                          "INSERT INTO pf_chain_transfers (id, tx_hash, log_index, block_number,"
                          " block_hash, trade_id, from_address, amount_minor, status, seen_ms)"
                          " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'seen',$9)"
                          " ON CONFLICT (tx_hash, log_index) DO NOTHING",
                          "ttiitttii", id, l->tx_hash, l->log_index, c->b->number, c->b->hash,
                          trade_id, from, l->amount_minor, pay_clock_now_ms());
}

static enum pay_err block_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct block_cmd *c = ctx;
    c->recorded = 0;
    enum pay_err e =
        pay_store_exec(tx, err, "INSERT INTO pf_chain_blocks (number, hash) VALUES ($1, $2)", "it",
                       c->b->number, c->b->hash);
    for (size_t i = 0; i < c->n && e == PAY_ERR_OK; i++)
        e = record_log(c, tx, &c->logs[i], err);
    if (e == PAY_ERR_OK) /* what no reorganisation we follow can reach any more */
        e = pay_store_exec(tx, err, "DELETE FROM pf_chain_blocks WHERE number < $1", "i",
                           c->b->number - PAY_CHAIN_REORG_DEPTH_MAX);
    return e;
}

/* Reads block b: its token transfers to deposit addresses, and b as the new position. */
static enum pay_err read_block(struct pay_platform *p, const struct pay_chain_block *b,
                               struct pay_error *err)
{
    struct pay_chain_transfer_log *logs = NULL;
    size_t n = 0;
    enum pay_err e = pay_chain_rpc_transfer_logs(&p->set.chain.rpc, p->set.chain.token_text,
                                                 b->hash, &logs, &n, err);
    if (e != PAY_ERR_OK)
        return e;
    struct block_cmd c = {.p = p, .b = b, .logs = logs, .n = n};
    e = pay_platform_write(p, block_apply, &c, err);
    free(logs);
    if (e == PAY_ERR_OK && c.recorded > 0)
        PAY_INFO("chain.seen", "block=%lld transfers=%zu", (long long)b->number, c.recorded);
    return e;
}

/* --- following the chain ---------------------------------------------------------------------- */

static enum pay_err node_block(struct pay_platform *p, int64_t number, struct pay_chain_block *b,
                               bool *found, struct pay_error *err)
{
    return pay_chain_rpc_block(&p->set.chain.rpc, number, b, found, err);
}

/* The first pass ever: the watcher starts at the node's head (there are no deposits from
 * before the rail was on), its parent recorded as the position so that the head is read. */
static enum pay_err start_at(struct pay_platform *p, int64_t head, struct pay_error *err)
{
    struct pay_chain_block b;
    bool found = false;
    if (head == 0) { /* a new chain: block 0 has no parent, and no transfers either */
        enum pay_err e = node_block(p, 0, &b, &found, err);
        return e != PAY_ERR_OK ? e : found ? read_block(p, &b, err) : PAY_ERR_OK;
    }
    enum pay_err e = node_block(p, head - 1, &b, &found, err);
    if (e != PAY_ERR_OK || !found)
        return e;
    struct block_cmd c = {.p = p, .b = &b, .logs = NULL, .n = 0};
    PAY_INFO("chain.start", "block=%lld", (long long)head);
    return pay_platform_write(p, block_apply, &c, err);
}

/* One step: undo one replaced block, or read the next one; *done at the head. */
static enum pay_err follow_step(struct pay_platform *p, int64_t head, bool *done,
                                struct pay_error *err)
{
    struct tip t;
    enum pay_err e = pay_store_run_read(p->store, tip_read, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    if (!t.have) {
        *done = true;
        return start_at(p, head, err);
    }
    struct pay_chain_block b;
    bool found = false;
    if ((e = node_block(p, t.number, &b, &found, err)) != PAY_ERR_OK)
        return e;
    if (!found || strcmp(b.hash, t.hash) != 0)
        return rollback(p, t.number, err);
    if (t.number >= head) {
        *done = true;
        return PAY_ERR_OK;
    }
    if ((e = node_block(p, t.number + 1, &b, &found, err)) != PAY_ERR_OK)
        return e;
    if (!found || strcmp(b.parent_hash, t.hash) != 0)
        return PAY_ERR_OK; /* the chain moved between the two calls: the next step sees how */
    return read_block(p, &b, err);
}

/* Credits every recorded transfer that has its confirmations below the position `tip`. */
static enum pay_err credit_confirmed(struct pay_platform *p, int64_t tip, struct pay_error *err)
{
    char ids[PAY_PLATFORM_SWEEP_BATCH][PAY_ID_MAX];
    int64_t deepest = tip - p->set.chain.confirmations + 1; /* both bounded: no overflow */
    size_t n = pay_platform_due_ids(p,
                                    "SELECT id FROM pf_chain_transfers WHERE status = 'seen'"
                                    " AND block_number <= $1 ORDER BY block_number, log_index"
                                    " LIMIT $2",
                                    deepest, ids, PAY_PLATFORM_SWEEP_BATCH);
    for (size_t i = 0; i < n; i++) {
        enum pay_err e = pay_platform_chain_credit(p, ids[i], err);
        if (e != PAY_ERR_OK)
            return e;
    }
    return PAY_ERR_OK;
}

static enum pay_err pass_locked(struct pay_platform *p, struct pay_error *err)
{
    const struct pay_platform_chain_settings *cs = &p->set.chain;
    int64_t chain_id = 0, head = 0;
    enum pay_err e = pay_chain_rpc_chain_id(&cs->rpc, &chain_id, err);
    if (e != PAY_ERR_OK)
        return e;
    if (chain_id != cs->chain_id) /* never credit payments made on another chain */
        return pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "chain_id",
                             "the node is on chain %lld, not %lld", (long long)chain_id,
                             (long long)cs->chain_id);
    if ((e = pay_chain_rpc_head(&cs->rpc, &head, err)) != PAY_ERR_OK)
        return e;
    bool done = false;
    for (int i = 0; i < 2 * PAY_CHAIN_PASS_BLOCKS_MAX && !done && e == PAY_ERR_OK; i++)
        e = follow_step(p, head, &done, err);
    struct tip t;
    if (e == PAY_ERR_OK)
        e = pay_store_run_read(p->store, tip_read, &t, err);
    if (e == PAY_ERR_OK && t.have)
        e = credit_confirmed(p, t.number, err);
    return e;
}

enum pay_err pay_platform_chain_pass(struct pay_platform *p, struct pay_error *err)
{
    PAY_ASSERT(p->set.chain.enabled);
    pthread_mutex_lock(&pass_mu);
    enum pay_err e = pass_locked(p, err);
    pthread_mutex_unlock(&pass_mu);
    return e;
}

void *pay_platform_chain_watcher(void *arg)
{
    struct pay_platform *p = arg;
    /* Several platform nodes on one database: the one holding the seat follows the chain
     * (docs/store.md); without a seat (out of memory) every node does, each write checking its
     * rows again. */
    struct pay_store_seat *seat = pay_store_seat_new(p->store, PAY_PLATFORM_CHAIN_SEAT);
    while (!atomic_load(&p->stopping)) {
        struct pay_error err = {0};
        bool seated = !seat || pay_store_seat_hold(seat);
        enum pay_err e = seated ? pay_platform_chain_pass(p, &err) : PAY_ERR_OK;
        if (e != PAY_ERR_OK)
            PAY_WARN("chain.pass_failed", "code=%s detail=\"%s\"", pay_err_name(e), err.detail);
        else if (seated && p->set.chain.anchoring && /* docs/receipts.md, "Anchoring" */
                 (e = pay_platform_chain_anchor_step(p, false, NULL, &err)) != PAY_ERR_OK)
            PAY_WARN("chain.anchor_step_failed", "code=%s detail=\"%s\"", pay_err_name(e),
                     err.detail);
        pay_platform_wait(p, &p->chain_clock, p->set.chain.poll_ms);
    }
    pay_store_seat_free(seat);
    return NULL;
}
