/* The ledger object, its schema, the per-transaction account cache with its undo log, and
 * accounts (create, close, read inside a transaction). Transfers are in ledger_transfer.c. */
#include "ledger/ledger_internal.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/money.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct pay_store_migration ledger_migrations[] = {
    {1, "CREATE TABLE ledger_accounts ("
        " rid INTEGER PRIMARY KEY,"
        " id TEXT NOT NULL UNIQUE,"
        " currency TEXT NOT NULL CHECK (length(currency) = 3),"
        " code INTEGER NOT NULL,"
        " flags INTEGER NOT NULL CHECK ((flags & 3) <> 3),"
        " owner TEXT NOT NULL,"
        " debits_pending INTEGER NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),"
        " debits_posted INTEGER NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),"
        " credits_pending INTEGER NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),"
        " credits_posted INTEGER NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),"
        " created_ms INTEGER NOT NULL,"
        " CHECK ((flags & 1) = 0 OR debits_pending + debits_posted <= credits_posted),"
        " CHECK ((flags & 2) = 0 OR credits_pending + credits_posted <= debits_posted));"
        "CREATE TABLE ledger_transfers ("
        " rid INTEGER PRIMARY KEY,"
        " id TEXT NOT NULL UNIQUE,"
        " debit_rid INTEGER NOT NULL REFERENCES ledger_accounts (rid),"
        " credit_rid INTEGER NOT NULL REFERENCES ledger_accounts (rid),"
        " amount INTEGER NOT NULL CHECK (amount > 0),"
        " currency TEXT NOT NULL,"
        " code INTEGER NOT NULL,"
        " flags INTEGER NOT NULL,"
        " pending_rid INTEGER REFERENCES ledger_transfers (rid),"
        " timeout_s INTEGER NOT NULL CHECK (timeout_s >= 0),"
        " user_data TEXT NOT NULL,"
        " created_ms INTEGER NOT NULL,"
        " CHECK (debit_rid <> credit_rid),"
        " CHECK ((pending_rid IS NULL) = ((flags & 28) = 0)));"
        /* A pending transfer is resolved (posted, voided, expired) at most once. */
        "CREATE UNIQUE INDEX ledger_transfers_pending ON ledger_transfers (pending_rid)"
        " WHERE pending_rid IS NOT NULL;"
        "CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_rid);"
        "CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_rid);"
        /* Unresolved pending transfers with a timeout: what the expiry scan reads. */
        "CREATE TABLE ledger_pending_timeouts ("
        " transfer_rid INTEGER PRIMARY KEY REFERENCES ledger_transfers (rid),"
        " expires_ms INTEGER NOT NULL);"
        "CREATE INDEX ledger_pending_timeouts_expires ON ledger_pending_timeouts (expires_ms)"},
    /* 2: the hot tables without foreign keys. Each FK cost two b-tree probes per transfer
     * insert; the ledger only writes rids it has just read in the same transaction, and
     * `ledger verify` checks every reference (see ledger_read.c). SQLite cannot drop a
     * constraint, so the tables are rebuilt (instant on a new database). */
    {2, "CREATE TABLE ledger_transfers_v2 ("
        " rid INTEGER PRIMARY KEY,"
        " id TEXT NOT NULL UNIQUE,"
        " debit_rid INTEGER NOT NULL,"
        " credit_rid INTEGER NOT NULL,"
        " amount INTEGER NOT NULL CHECK (amount > 0),"
        " currency TEXT NOT NULL,"
        " code INTEGER NOT NULL,"
        " flags INTEGER NOT NULL,"
        " pending_rid INTEGER,"
        " timeout_s INTEGER NOT NULL CHECK (timeout_s >= 0),"
        " user_data TEXT NOT NULL,"
        " created_ms INTEGER NOT NULL,"
        " CHECK (debit_rid <> credit_rid),"
        " CHECK ((pending_rid IS NULL) = ((flags & 28) = 0)));"
        "INSERT INTO ledger_transfers_v2 SELECT * FROM ledger_transfers;"
        "CREATE TABLE ledger_pending_timeouts_v2 ("
        " transfer_rid INTEGER PRIMARY KEY,"
        " expires_ms INTEGER NOT NULL);"
        "INSERT INTO ledger_pending_timeouts_v2 SELECT * FROM ledger_pending_timeouts;"
        "DROP TABLE ledger_pending_timeouts;"
        "DROP TABLE ledger_transfers;"
        "ALTER TABLE ledger_transfers_v2 RENAME TO ledger_transfers;"
        "ALTER TABLE ledger_pending_timeouts_v2 RENAME TO ledger_pending_timeouts;"
        "CREATE UNIQUE INDEX ledger_transfers_pending ON ledger_transfers (pending_rid)"
        " WHERE pending_rid IS NOT NULL;"
        "CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_rid);"
        "CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_rid);"
        "CREATE INDEX ledger_pending_timeouts_expires ON ledger_pending_timeouts (expires_ms)"},
    /* 3: no per-account indexes on transfers. The two (debit_rid, credit_rid) indexes took
     * two random b-tree inserts per transfer and dirtied ~2 pages each per batch (most of the
     * WAL written). Instead each transfer links to the previous transfer of its debit and of
     * its credit account, and each account names its newest transfer (written back with the
     * balances, once per account per batch). Existing rows are linked here. */
    {3, "ALTER TABLE ledger_transfers ADD COLUMN debit_prev INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE ledger_transfers ADD COLUMN credit_prev INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE ledger_accounts ADD COLUMN last_transfer_rid INTEGER NOT NULL DEFAULT 0;"
        "CREATE TEMP TABLE ledger_m3 AS SELECT rid, acct,"
        " lag(rid, 1, 0) OVER (PARTITION BY acct ORDER BY rid) AS prev FROM"
        " (SELECT rid, debit_rid AS acct FROM ledger_transfers"
        "  UNION ALL SELECT rid, credit_rid FROM ledger_transfers);"
        "CREATE UNIQUE INDEX temp.ledger_m3_key ON ledger_m3 (acct, rid);"
        "UPDATE ledger_transfers SET"
        " debit_prev = (SELECT prev FROM ledger_m3 m WHERE m.rid = ledger_transfers.rid"
        "  AND m.acct = ledger_transfers.debit_rid),"
        " credit_prev = (SELECT prev FROM ledger_m3 m WHERE m.rid = ledger_transfers.rid"
        "  AND m.acct = ledger_transfers.credit_rid);"
        "UPDATE ledger_accounts SET last_transfer_rid ="
        " coalesce((SELECT max(rid) FROM ledger_m3 m WHERE m.acct = ledger_accounts.rid), 0);"
        "DROP TABLE ledger_m3;"
        "DROP INDEX ledger_transfers_debit;"
        "DROP INDEX ledger_transfers_credit;"},
};

/* PostgreSQL came with schema version 3: its migration 1 makes the tables as SQLite's 1..3
 * left them (migrations 2 and 3 rebuild SQLite tables and link old rows; nothing to do on a
 * new database), with BIGINT integers and identity row ids. */
static const struct pay_store_migration ledger_migrations_pg[] = {
    {1, "CREATE TABLE ledger_accounts ("
        " rid BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
        " id TEXT NOT NULL UNIQUE,"
        " currency TEXT NOT NULL CHECK (length(currency) = 3),"
        " code BIGINT NOT NULL,"
        " flags BIGINT NOT NULL CHECK ((flags & 3) <> 3),"
        " owner TEXT NOT NULL,"
        " debits_pending BIGINT NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),"
        " debits_posted BIGINT NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),"
        " credits_pending BIGINT NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),"
        " credits_posted BIGINT NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),"
        " created_ms BIGINT NOT NULL,"
        " last_transfer_rid BIGINT NOT NULL DEFAULT 0,"
        " CHECK ((flags & 1) = 0 OR debits_pending + debits_posted <= credits_posted),"
        " CHECK ((flags & 2) = 0 OR credits_pending + credits_posted <= debits_posted));"
        "CREATE TABLE ledger_transfers ("
        " rid BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
        " id TEXT NOT NULL UNIQUE,"
        " debit_rid BIGINT NOT NULL,"
        " credit_rid BIGINT NOT NULL,"
        " amount BIGINT NOT NULL CHECK (amount > 0),"
        " currency TEXT NOT NULL,"
        " code BIGINT NOT NULL,"
        " flags BIGINT NOT NULL,"
        " pending_rid BIGINT,"
        " timeout_s BIGINT NOT NULL CHECK (timeout_s >= 0),"
        " user_data TEXT NOT NULL,"
        " created_ms BIGINT NOT NULL,"
        " debit_prev BIGINT NOT NULL DEFAULT 0,"
        " credit_prev BIGINT NOT NULL DEFAULT 0,"
        " CHECK (debit_rid <> credit_rid),"
        " CHECK ((pending_rid IS NULL) = ((flags & 28) = 0)));"
        "CREATE UNIQUE INDEX ledger_transfers_pending ON ledger_transfers (pending_rid)"
        " WHERE pending_rid IS NOT NULL;"
        "CREATE TABLE ledger_pending_timeouts ("
        " transfer_rid BIGINT PRIMARY KEY,"
        " expires_ms BIGINT NOT NULL);"
        "CREATE INDEX ledger_pending_timeouts_expires ON ledger_pending_timeouts (expires_ms)"},
    {2, ""},
    {3, ""},
    {0, NULL},
};

const struct pay_store_component pay_ledger_schema = {
    .name = "ledger",
    .migrations = ledger_migrations,
    .count = sizeof ledger_migrations / sizeof ledger_migrations[0],
    .pg = ledger_migrations_pg,
};

enum pay_err pay_ledger_new(struct pay_store *s, struct pay_ledger **out, struct pay_error *err)
{
    PAY_ASSERT(s && out);
    struct pay_ledger *lg = calloc(1, sizeof *lg);
    if (!lg)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    lg->s = s;
    pay_ledger_set_account_cache_bytes(lg, PAY_LEDGER_ACCOUNT_CACHE_BYTES);
    *out = lg;
    return PAY_ERR_OK;
}

void pay_ledger_free(struct pay_ledger *lg)
{
    if (!lg)
        return;
    PAY_ASSERT(!lg->tx);
    free(lg->accts);
    free(lg->slots);
    free(lg->undo);
    free(lg->dirty);
    free(lg);
}

void pay_ledger_set_account_cache_bytes(struct pay_ledger *lg, size_t bytes)
{
    PAY_ASSERT(!lg->tx);
    lg->keep_max = bytes / LEDGER_ACCT_BYTES;
}

void pay_ledger_get_cache_stats(struct pay_ledger *lg, struct pay_ledger_cache_stats *out)
{
    *out = lg->stats;
    out->entries = lg->n_accts;
}

struct pay_store *pay_ledger_store(struct pay_ledger *lg)
{
    return lg->s;
}

const char *pay_ledger_result_name(enum pay_ledger_result r)
{
    static const char *const names[] = {
#define PAY_LEDGER_RESULT_NAME(name) #name,
        PAY_LEDGER_RESULTS(PAY_LEDGER_RESULT_NAME)
#undef PAY_LEDGER_RESULT_NAME
    };
    return (unsigned)r < PAY_LEDGER__RESULT_COUNT ? names[r] : "UNKNOWN";
}

/* --- validation of identifiers ------------------------------------------------------------ */

bool ledger_id_valid(const char *id, size_t cap)
{
    const char *end = memchr(id, 0, cap);
    if (!end || end == id)
        return false;
    for (const char *p = id; p < end; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || *p == ':' || *p == '-'))
            return false;
    return true;
}

bool ledger_text_valid(const char *s, size_t cap)
{
    const char *end = memchr(s, 0, cap);
    if (!end)
        return false;
    for (const char *p = s; p < end; p++)
        if (*p < 0x20 || *p > 0x7e)
            return false;
    return true;
}

bool ledger_currency_valid(const char *c)
{
    return c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' && c[2] >= 'A' && c[2] <= 'Z' &&
           c[3] == 0;
}

/* --- the cache ---------------------------------------------------------------------------- */

static uint32_t hash_id(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void cache_clear(struct pay_ledger *lg)
{
    if (lg->slots && lg->n_accts)
        memset(lg->slots, 0xff, lg->cap_slots * sizeof *lg->slots);
    if (lg->n_accts)
        lg->stats.cleared++;
    lg->n_accts = 0;
    lg->n_undo = 0;
    lg->n_dirty = 0;
    lg->depth = 0;
    lg->tx = NULL;
    lg->generation = 0;
    lg->hand = 0;
}

static void slots_insert(int32_t *slots, size_t cap, uint32_t hash, int32_t idx)
{
    size_t j = hash & (cap - 1);
    while (slots[j] >= 0)
        j = (j + 1) & (cap - 1);
    slots[j] = idx;
}

static void slots_rebuild(struct pay_ledger *lg)
{
    memset(lg->slots, 0xff, lg->cap_slots * sizeof *lg->slots);
    for (size_t i = 0; i < lg->n_accts; i++)
        slots_insert(lg->slots, lg->cap_slots, lg->accts[i].hash, (int32_t)i);
}

/* Room for one more entry. Below the budget the array grows no further than keep_max, so the
 * budget bounds the memory; a transaction that touches more grows it and the surplus is
 * evicted at its end. The hash table stays at most half full. */
static bool cache_grow(struct pay_ledger *lg)
{
    if (lg->n_accts == lg->cap_accts) {
        size_t cap = lg->cap_accts ? lg->cap_accts * 2 : 256;
        if (cap > lg->keep_max && lg->n_accts < lg->keep_max)
            cap = lg->keep_max;
        struct acct *a = realloc(lg->accts, cap * sizeof *a);
        if (!a)
            return false;
        lg->accts = a;
        lg->cap_accts = cap;
    }
    if ((lg->n_accts + 1) * 2 <= lg->cap_slots)
        return true;
    size_t cap = lg->cap_slots ? lg->cap_slots * 2 : 512;
    int32_t *slots = malloc(cap * sizeof *slots);
    if (!slots)
        return false;
    free(lg->slots);
    lg->slots = slots;
    lg->cap_slots = cap;
    slots_rebuild(lg);
    return true;
}

/* Between transactions (every entry clean, no undo log): drops entries until an eighth of
 * the budget is free, so eviction runs once per keep_max / 8 new accounts. CLOCK: the hand
 * sweeps the array; an entry used since its last pass (ref) gets a second chance, others and
 * entries for accounts that do not exist go. Survivors keep their order; the hash table is
 * rebuilt. */
static void cache_evict(struct pay_ledger *lg)
{
    PAY_ASSERT(lg->n_dirty == 0 && lg->n_undo == 0);
    size_t target = lg->keep_max - lg->keep_max / 8, drop = lg->n_accts - target;
    size_t n = lg->n_accts, h = lg->hand < n ? lg->hand : 0;
    PAY_ASSERT(lg->n_accts > lg->keep_max);
    while (drop > 0) { /* ends within two sweeps: the first clears every ref */
        struct acct *a = &lg->accts[h];
        if (a->rid != -1 && a->ref && a->rid != 0) {
            a->ref = false;
        } else if (a->rid != -1) {
            a->rid = -1; /* marked: dropped below (real row ids are > 0) */
            drop--;
        }
        h = (h + 1) % n;
    }
    size_t kept = 0, hand = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == h)
            hand = kept;
        if (lg->accts[i].rid != -1)
            lg->accts[kept++] = lg->accts[i];
    }
    lg->stats.evicted += n - kept;
    lg->n_accts = kept;
    lg->hand = hand;
    slots_rebuild(lg);
}

static enum pay_err acct_load(struct pay_ledger *lg, struct acct *a, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        lg->tx, err,
        "SELECT rid, currency, code, flags, owner, debits_pending, debits_posted,"
        " credits_pending, credits_posted, created_ms, last_transfer_rid FROM ledger_accounts"
        " WHERE id = $1",
        "t", a->id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    a->rid = 0;
    if (rc == 1) {
        a->rid = pay_store_col_int64(st, 0);
        memcpy(a->currency, pay_store_col_text(st, 1), 4);
        a->code = (int32_t)pay_store_col_int64(st, 2);
        a->flags = (uint32_t)pay_store_col_int64(st, 3);
        pay_store_col_copy(st, 4, a->owner, sizeof a->owner);
        for (int i = 0; i < 4; i++)
            a->bal[i] = pay_store_col_int64(st, 5 + i);
        a->created_ms = pay_store_col_int64(st, 9);
        a->last_rid = pay_store_col_int64(st, 10);
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

struct acct *ledger_acct(struct pay_ledger *lg, const char *id, enum pay_err *e,
                         struct pay_error *err)
{
    PAY_ASSERT(lg->tx);
    *e = PAY_ERR_OK;
    uint32_t h = hash_id(id);
    size_t j = lg->cap_slots ? h & (lg->cap_slots - 1) : 0;
    for (; lg->cap_slots && lg->slots[j] >= 0; j = (j + 1) & (lg->cap_slots - 1)) {
        struct acct *a = &lg->accts[lg->slots[j]];
        if (a->hash == h && strcmp(a->id, id) == 0) {
            a->ref = true;
            if (a->rid != 0) {
                lg->stats.hits++;
                return a;
            }
            lg->stats.loads++; /* no such account when last looked: look again */
            if ((*e = acct_load(lg, a, err)) != PAY_ERR_OK)
                return NULL;
            return a->rid ? a : NULL;
        }
    }
    if (!cache_grow(lg)) {
        *e = pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
        return NULL;
    }
    struct acct *a = &lg->accts[lg->n_accts];
    memset(a, 0, sizeof *a);
    pay_str_copy(a->id, sizeof a->id, id);
    a->hash = h;
    a->ref = false; /* a second use earns it the second chance: one-off accounts go first */
    lg->stats.loads++;
    if ((*e = acct_load(lg, a, err)) != PAY_ERR_OK)
        return NULL;
    /* Cache misses too (rid 0): a later creation in this transaction fills the entry. */
    slots_insert(lg->slots, lg->cap_slots, h, (int32_t)lg->n_accts++);
    return a->rid ? a : NULL;
}

/* The entry of an account known not to exist (after ledger_acct returned NULL). */
static struct acct *acct_slot(struct pay_ledger *lg, const char *id)
{
    uint32_t h = hash_id(id);
    for (size_t j = h & (lg->cap_slots - 1); lg->slots[j] >= 0; j = (j + 1) & (lg->cap_slots - 1))
        if (strcmp(lg->accts[lg->slots[j]].id, id) == 0)
            return &lg->accts[lg->slots[j]];
    PAY_ASSERT_MSG(false, "acct_slot: no entry");
    return NULL;
}

/* --- undo log and transaction hooks ------------------------------------------------------ */

void ledger_undo_push(struct pay_ledger *lg, struct acct *a, bool created)
{
    if (lg->depth == 0)
        return; /* a failure outside savepoints rolls back the whole transaction */
    if (lg->n_undo == lg->cap_undo) {
        size_t cap = lg->cap_undo ? lg->cap_undo * 2 : 256;
        struct undo *u = realloc(lg->undo, cap * sizeof *u);
        if (!u)
            abort(); /* cannot keep the cache consistent without it */
        lg->undo = u;
        lg->cap_undo = cap;
    }
    struct undo *u = &lg->undo[lg->n_undo++];
    u->idx = (int32_t)(a - lg->accts);
    u->created = created;
    u->flags = a->flags;
    u->dirty = a->dirty;
    u->last_rid = a->last_rid;
    memcpy(u->bal, a->bal, sizeof u->bal);
}

void ledger_mark_dirty(struct pay_ledger *lg, struct acct *a)
{
    if (a->dirty)
        return; /* already listed */
    if (lg->n_dirty == lg->cap_dirty) {
        size_t cap = lg->cap_dirty ? lg->cap_dirty * 2 : 256;
        int32_t *d = realloc(lg->dirty, cap * sizeof *d);
        if (!d)
            abort(); /* a change the commit would not write: cannot go on */
        lg->dirty = d;
        lg->cap_dirty = cap;
    }
    lg->dirty[lg->n_dirty++] = (int32_t)(a - lg->accts);
    a->dirty = true;
}

static void hook_savepoint(void *ctx, int depth)
{
    struct pay_ledger *lg = ctx;
    PAY_ASSERT(depth == lg->depth + 1 && depth <= PAY_LEDGER_SAVEPOINT_DEPTH_MAX);
    lg->marks[depth] = lg->n_undo;
    memcpy(lg->net_marks[depth], lg->net, sizeof lg->net);
    lg->depth = depth;
}

static void hook_rollback_to(void *ctx, int depth)
{
    struct pay_ledger *lg = ctx;
    PAY_ASSERT(depth == lg->depth);
    while (lg->n_undo > lg->marks[depth]) {
        struct undo *u = &lg->undo[--lg->n_undo];
        struct acct *a = &lg->accts[u->idx];
        if (u->created) {
            a->rid = 0; /* tombstone: the row is gone too */
            continue;
        }
        a->flags = u->flags;
        a->dirty = u->dirty;
        a->last_rid = u->last_rid;
        memcpy(a->bal, u->bal, sizeof a->bal);
    }
    memcpy(lg->net, lg->net_marks[depth], sizeof lg->net);
    lg->depth = depth - 1;
}

static void hook_release(void *ctx, int depth)
{
    struct pay_ledger *lg = ctx;
    PAY_ASSERT(depth == lg->depth);
    /* The entries stay: an enclosing savepoint's rollback must still undo them. */
    if (depth == 1)
        lg->n_undo = 0;
    lg->depth = depth - 1;
}

/* a + b <= limit, without overflowing (the sum of two balances of one side). */
static bool sum_at_most(int64_t a, int64_t b, int64_t limit)
{
    int64_t sum;
    return pay_money_add(a, b, &sum) == PAY_ERR_OK && sum <= limit;
}

static enum pay_err hook_before_commit(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pay_ledger *lg = ctx;
    /* Every transfer of the transaction moved as much to debits as to credits. */
    PAY_ASSERT_MSG(lg->net[0] == 0 && lg->net[1] == 0, "pending %lld posted %lld",
                   (long long)lg->net[0], (long long)lg->net[1]);
    /* Only the entries this transaction changed: the cache may hold a million. A rolled-back
     * savepoint may have made a listed entry clean again, or listed it twice. */
    for (size_t i = 0; i < lg->n_dirty; i++) {
        struct acct *a = &lg->accts[lg->dirty[i]];
        if (!a->dirty || a->rid == 0)
            continue;
        /* Invariants before they reach the disk (the CHECK constraints say the same). */
        PAY_ASSERT_MSG(a->bal[BAL_DP] >= 0 && a->bal[BAL_DPO] >= 0 && a->bal[BAL_CP] >= 0 &&
                           a->bal[BAL_CPO] >= 0,
                       "account %s", a->id);
        PAY_ASSERT_MSG(!(a->flags & PAY_LEDGER_AF_DEBITS_MUST_NOT_EXCEED_CREDITS) ||
                           sum_at_most(a->bal[BAL_DP], a->bal[BAL_DPO], a->bal[BAL_CPO]),
                       "account %s", a->id);
        PAY_ASSERT_MSG(!(a->flags & PAY_LEDGER_AF_CREDITS_MUST_NOT_EXCEED_DEBITS) ||
                           sum_at_most(a->bal[BAL_CP], a->bal[BAL_CPO], a->bal[BAL_DPO]),
                       "account %s", a->id);
        /* Parameters numbered in the order they appear: the store then binds by position
         * instead of looking each name up (two UPDATEs per transfer at 1 per command). Nobody
         * reads the answers: queued on PostgreSQL and sent with the COMMIT in one round trip,
         * which commits only when all of them succeeded (pay_store_exec_deferred). */
        enum pay_err e = pay_store_exec_deferred(
            tx, err,
            "UPDATE ledger_accounts SET flags = $1, debits_pending = $2, debits_posted = $3,"
            " credits_pending = $4, credits_posted = $5, last_transfer_rid = $6 WHERE rid = $7",
            "iiiiiii", (int64_t)a->flags, a->bal[0], a->bal[1], a->bal[2], a->bal[3], a->last_rid,
            a->rid);
        if (e != PAY_ERR_OK)
            return e;
        a->dirty = false;
    }
    return PAY_ERR_OK;
}

static void hook_after_end(void *ctx, bool committed)
{
    struct pay_ledger *lg = ctx;
    /* After a commit every entry equals its row (before_commit wrote the dirty ones), so the
     * next transaction may reuse them if nobody else writes first; a rollback leaves entries
     * that never reached the disk. */
    if (!committed || lg->keep_max == 0) {
        cache_clear(lg);
        return;
    }
    lg->n_undo = 0;
    lg->n_dirty = 0;
    lg->depth = 0;
    lg->tx = NULL;
    if (lg->n_accts > lg->keep_max)
        cache_evict(lg);
}

static const struct pay_store_tx_hooks ledger_hooks = {
    .before_commit = hook_before_commit,
    .after_end = hook_after_end,
    .savepoint = hook_savepoint,
    .rollback_to = hook_rollback_to,
    .release = hook_release,
};

enum pay_err ledger_begin(struct pay_ledger *lg, struct pay_store_tx *tx, struct pay_error *err)
{
    PAY_ASSERT(pay_store_tx_is_write(tx) && pay_store_tx_store(tx) == lg->s);
    if (lg->tx == tx)
        return PAY_ERR_OK;
    PAY_ASSERT(!lg->tx); /* one write transaction at a time per store */
    /* Savepoints opened before we joined are invisible to the undo log; refuse them. */
    PAY_ASSERT(pay_store_savepoint_depth(tx) <= 1);
    enum pay_err e = pay_store_tx_observe(tx, &ledger_hooks, lg, err);
    if (e != PAY_ERR_OK)
        return e;
    uint64_t gen = pay_store_tx_generation(tx);
    if (lg->generation == 0 || gen != lg->generation + 1)
        cache_clear(lg); /* another transaction or process may have changed accounts */
    lg->generation = gen;
    lg->tx = tx;
    lg->depth = pay_store_savepoint_depth(tx);
    lg->marks[lg->depth] = 0;
    memset(lg->net, 0, sizeof lg->net);
    memset(lg->net_marks[lg->depth], 0, sizeof lg->net_marks[lg->depth]);
    return PAY_ERR_OK;
}

/* --- accounts ------------------------------------------------------------------------------ */

static enum pay_ledger_result account_static_check(const struct pay_ledger_account *a)
{
    if (!ledger_id_valid(a->id, sizeof a->id))
        return PAY_LEDGER_ID_INVALID;
    if (!ledger_currency_valid(a->currency))
        return PAY_LEDGER_CURRENCY_INVALID;
    const uint32_t both =
        PAY_LEDGER_AF_DEBITS_MUST_NOT_EXCEED_CREDITS | PAY_LEDGER_AF_CREDITS_MUST_NOT_EXCEED_DEBITS;
    if ((a->flags & ~both) || (a->flags & both) == both)
        return PAY_LEDGER_FLAGS_INVALID;
    if (!ledger_text_valid(a->owner, sizeof a->owner))
        return PAY_LEDGER_USER_DATA_INVALID;
    return PAY_LEDGER_OK;
}

static enum pay_ledger_result account_compare(const struct acct *have,
                                              const struct pay_ledger_account *want)
{
    if ((have->flags & ~(uint32_t)PAY_LEDGER_AF_CLOSED) != want->flags)
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_FLAGS;
    if (strcmp(have->currency, want->currency) != 0)
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_CURRENCY;
    if (have->code != want->code)
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_CODE;
    if (strcmp(have->owner, want->owner) != 0)
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_OWNER;
    return PAY_LEDGER_EXISTS;
}

static enum pay_err create_account(struct pay_ledger *lg, struct pay_ledger_account *want,
                                   enum pay_ledger_result *res, struct pay_error *err)
{
    if ((*res = account_static_check(want)) != PAY_LEDGER_OK)
        return PAY_ERR_OK;
    enum pay_err e;
    struct acct *have = ledger_acct(lg, want->id, &e, err);
    if (e != PAY_ERR_OK)
        return e;
    if (have) {
        *res = account_compare(have, want);
        return PAY_ERR_OK;
    }
    int64_t now = pay_clock_now_ms();
    struct pay_store_stmt *st =
        pay_store_query(lg->tx, err,
                        "INSERT INTO ledger_accounts (id, currency, code, flags, owner, created_ms)"
                        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING rid",
                        "ttiiti", want->id, want->currency, (int64_t)want->code,
                        (int64_t)want->flags, want->owner, now);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    int64_t rid = rc == 1 ? pay_store_col_int64(st, 0) : 0;
    pay_store_done(st);
    if (rc != 1)
        return rc < 0 ? err->code : pay_error_set(err, PAY_ERR_INTERNAL, "", "no rid returned");
    struct acct *a = acct_slot(lg, want->id);
    ledger_undo_push(lg, a, true);
    a->rid = rid;
    memcpy(a->currency, want->currency, 4);
    pay_str_copy(a->owner, sizeof a->owner, want->owner);
    a->code = want->code;
    a->flags = want->flags;
    memset(a->bal, 0, sizeof a->bal);
    a->created_ms = now;
    a->dirty = false;
    want->created_ms = now;
    *res = PAY_LEDGER_OK;
    return PAY_ERR_OK;
}

enum pay_err pay_ledger_tx_create_accounts(struct pay_ledger *lg, struct pay_store_tx *tx,
                                           struct pay_ledger_account *accounts, size_t n,
                                           enum pay_ledger_result *results, struct pay_error *err)
{
    enum pay_err e = ledger_begin(lg, tx, err);
    for (size_t i = 0; i < n && e == PAY_ERR_OK; i++)
        e = create_account(lg, &accounts[i], &results[i], err);
    return e;
}

enum pay_err pay_ledger_tx_close_account(struct pay_ledger *lg, struct pay_store_tx *tx,
                                         const char *account_id, enum pay_ledger_result *result,
                                         struct pay_error *err)
{
    enum pay_err e = ledger_begin(lg, tx, err);
    if (e != PAY_ERR_OK)
        return e;
    *result = PAY_LEDGER_ACCOUNT_NOT_FOUND;
    if (!ledger_id_valid(account_id, PAY_LEDGER_ID_MAX + 1))
        return PAY_ERR_OK;
    struct acct *a = ledger_acct(lg, account_id, &e, err);
    if (!a)
        return e;
    if (!(a->flags & PAY_LEDGER_AF_CLOSED)) {
        ledger_undo_push(lg, a, false);
        a->flags |= PAY_LEDGER_AF_CLOSED;
        ledger_mark_dirty(lg, a);
    }
    *result = PAY_LEDGER_OK;
    return PAY_ERR_OK;
}

enum pay_err pay_ledger_tx_account_get(struct pay_ledger *lg, struct pay_store_tx *tx,
                                       const char *account_id, struct pay_ledger_account *out,
                                       enum pay_ledger_result *result, struct pay_error *err)
{
    enum pay_err e = ledger_begin(lg, tx, err);
    if (e != PAY_ERR_OK)
        return e;
    *result = PAY_LEDGER_ACCOUNT_NOT_FOUND;
    if (!ledger_id_valid(account_id, PAY_LEDGER_ID_MAX + 1))
        return PAY_ERR_OK;
    struct acct *a = ledger_acct(lg, account_id, &e, err);
    if (!a)
        return e;
    memset(out, 0, sizeof *out);
    pay_str_copy(out->id, sizeof out->id, a->id);
    memcpy(out->currency, a->currency, 4);
    pay_str_copy(out->owner, sizeof out->owner, a->owner);
    out->code = a->code;
    out->flags = a->flags;
    out->debits_pending = a->bal[BAL_DP];
    out->debits_posted = a->bal[BAL_DPO];
    out->credits_pending = a->bal[BAL_CP];
    out->credits_posted = a->bal[BAL_CPO];
    out->created_ms = a->created_ms;
    *result = PAY_LEDGER_OK;
    return PAY_ERR_OK;
}
