/* Internals shared by the ledger's files: the ledger object and its account cache. The cache
 * holds every account a write transaction touched with its balances; the changed ones (the
 * dirty list) are written back once per account just before the commit (the before_commit
 * hook) and an undo log restores them when a savepoint is rolled back. Between transactions
 * the cache keeps what fits in its byte budget, evicting by CLOCK (second chance). Not for use
 * outside src/ledger. */
#ifndef PAY_LEDGER_INTERNAL_H
#define PAY_LEDGER_INTERNAL_H

#include "ledger/ledger.h"
#include "core/limits.h"

enum { BAL_DP, BAL_DPO, BAL_CP, BAL_CPO }; /* debits pending/posted, credits pending/posted */

struct acct {
    int64_t rid; /* row id; 0 when the entry is a tombstone (creation rolled back) */
    char id[PAY_LEDGER_ID_MAX + 1];
    char currency[4];
    char owner[PAY_LEDGER_ID_MAX + 1];
    int32_t code;
    uint32_t flags;
    int64_t bal[4];
    int64_t created_ms;
    /* The newest transfer naming this account (0: none); each transfer row links to the one
     * before it per side (debit_prev, credit_prev), so no per-account index exists. */
    int64_t last_rid;
    uint32_t hash;
    bool dirty; /* balances, flags or last_rid differ from the row (then on the dirty list) */
    bool ref;   /* used since the eviction hand last passed (CLOCK's second chance) */
};

/* Memory one cached account costs at most: the entry, and its share of the hash table (a
 * power of two at least twice the entries: at most four slots per entry). */
#define LEDGER_ACCT_BYTES (sizeof(struct acct) + 4 * sizeof(int32_t))

struct undo {
    int32_t idx; /* into accts */
    bool created;
    uint32_t flags;
    int64_t bal[4];
    int64_t last_rid;
    bool dirty;
};

struct pay_ledger {
    struct pay_store *s;
    struct pay_store_tx *tx; /* the write transaction the cache belongs to, or NULL */
    struct acct *accts;
    size_t n_accts, cap_accts;
    int32_t *slots; /* open addressing, -1 empty */
    size_t cap_slots;
    struct undo *undo;
    size_t n_undo, cap_undo;
    int32_t *dirty; /* entries that became dirty in this transaction (may repeat one) */
    size_t n_dirty, cap_dirty;
    size_t keep_max; /* entries kept between transactions: the byte budget / LEDGER_ACCT_BYTES */
    size_t hand;     /* CLOCK hand: the next entry eviction looks at */
    struct pay_ledger_cache_stats stats; /* written by the transaction's thread only */
    size_t marks[PAY_LEDGER_SAVEPOINT_DEPTH_MAX + 1];
    /* Debits minus credits this transaction moved, pending [0] and posted [1]: every transfer
     * debits and credits the same amount, so both are 0 when it commits (asserted). Saved per
     * savepoint like the undo log. */
    int64_t net[2], net_marks[PAY_LEDGER_SAVEPOINT_DEPTH_MAX + 1][2];
    int depth;
    /* The cache outlives a committed transaction: it is still exact in the store's next
     * write transaction if nothing else wrote in between (pay_store_tx_generation). */
    uint64_t generation; /* of the transaction the cache was last exact in; 0: cold */
};

/* Joins tx (registers the hooks) and returns the cache entry of account `id`, loading it from
 * the database on first use; NULL with *e == OK when there is no such account. */
enum pay_err ledger_begin(struct pay_ledger *lg, struct pay_store_tx *tx, struct pay_error *err);
struct acct *ledger_acct(struct pay_ledger *lg, const char *id, enum pay_err *e,
                         struct pay_error *err);
/* Records a's current state in the undo log (when inside a savepoint), before a change. */
void ledger_undo_push(struct pay_ledger *lg, struct acct *a, bool created);
/* Marks a as changed (to be written before the commit); call after ledger_undo_push. */
void ledger_mark_dirty(struct pay_ledger *lg, struct acct *a);

/* Reads transfer `id` as stored (accounts and pending id as text ids); *pending_amount (may be
 * NULL) receives the amount of the pending transfer it resolves. Works on any transaction. */
enum pay_err ledger_transfer_load(struct pay_store_tx *tx, const char *id,
                                  struct pay_ledger_transfer *out, int64_t *pending_amount,
                                  bool *found, struct pay_error *err);

bool ledger_id_valid(const char *id, size_t cap);
bool ledger_text_valid(const char *s, size_t cap);
bool ledger_currency_valid(const char *c);

#endif
