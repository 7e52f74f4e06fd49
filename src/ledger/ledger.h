/* The double-entry ledger shared by the bank and the platform (docs/ledger.md),
 * modelled on TigerBeetle: accounts with four balances, immutable transfers with
 * client-chosen ids, two-phase (pending → post / void / expire) and linked transfers, on the
 * store. Writes go through one committer per process (pay_committer_*), which applies a
 * batch of commands in one transaction and answers nobody before the commit is durable.
 * Reads use the store's reader connections. See docs/ledger.md. */
#ifndef PAY_LEDGER_LEDGER_H
#define PAY_LEDGER_LEDGER_H

#include "core/errors.h"
#include "core/limits.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* --- result codes (precise, per transfer / account) ------------------------------------- */
#define PAY_LEDGER_RESULTS(X)                                                                      \
    X(OK)                                                                                          \
    X(EXISTS)                  /* same id, same fields: idempotent success */                      \
    X(LINKED_EVENT_FAILED)     /* another transfer of its chain failed */                          \
    X(LINKED_EVENT_CHAIN_OPEN) /* the last transfer of a command has the LINKED flag */            \
    X(ID_INVALID)              /* empty, too long, or characters outside the set */                \
    X(FLAGS_INVALID)           /* contradictory flags */                                           \
    X(AMOUNT_MUST_BE_POSITIVE)                                                                     \
    X(AMOUNT_TOO_LARGE) /* above PAY_AMOUNT_MAX_MINOR */                                           \
    X(CURRENCY_INVALID) /* not three upper-case letters */                                         \
    X(ACCOUNTS_MUST_DIFFER)                                                                        \
    X(PENDING_ID_REQUIRED)      /* post/void without pending_id */                                 \
    X(PENDING_ID_MUST_BE_EMPTY) /* pending_id on a plain or pending transfer */                    \
    X(TIMEOUT_RESERVED_FOR_PENDING)                                                                \
    X(USER_DATA_INVALID)                                                                           \
    X(DEBIT_ACCOUNT_NOT_FOUND)                                                                     \
    X(CREDIT_ACCOUNT_NOT_FOUND)                                                                    \
    X(CURRENCY_MISMATCH) /* transfer's currency differs from an account's */                       \
    X(ACCOUNT_CLOSED)    /* debit or credit account is closed */                                   \
    X(EXISTS_WITH_DIFFERENT_FLAGS)                                                                 \
    X(EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT)                                                         \
    X(EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT)                                                        \
    X(EXISTS_WITH_DIFFERENT_AMOUNT)                                                                \
    X(EXISTS_WITH_DIFFERENT_CURRENCY)                                                              \
    X(EXISTS_WITH_DIFFERENT_CODE)                                                                  \
    X(EXISTS_WITH_DIFFERENT_PENDING_ID)                                                            \
    X(EXISTS_WITH_DIFFERENT_TIMEOUT)                                                               \
    X(EXISTS_WITH_DIFFERENT_USER_DATA)                                                             \
    X(EXISTS_WITH_DIFFERENT_OWNER)                                                                 \
    X(PENDING_TRANSFER_NOT_FOUND)                                                                  \
    X(PENDING_TRANSFER_NOT_PENDING) /* pending_id names a transfer that is not pending */          \
    X(PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT)                                                \
    X(PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT)                                               \
    X(PENDING_TRANSFER_HAS_DIFFERENT_CURRENCY)                                                     \
    X(PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT) /* void with an amount other than the pending's */    \
    X(EXCEEDS_PENDING_AMOUNT)                /* post of more than was reserved */                  \
    X(PENDING_TRANSFER_ALREADY_POSTED)                                                             \
    X(PENDING_TRANSFER_ALREADY_VOIDED)                                                             \
    X(PENDING_TRANSFER_EXPIRED)                                                                    \
    X(OVERFLOW)          /* a balance would exceed INT64_MAX */                                    \
    X(EXCEEDS_CREDITS)   /* debits_must_not_exceed_credits would be broken */                      \
    X(EXCEEDS_DEBITS)    /* credits_must_not_exceed_debits would be broken */                      \
    X(ACCOUNT_NOT_FOUND) /* close / lookup of an unknown account */

enum pay_ledger_result {
#define PAY_LEDGER_RESULT_ENUM(name) PAY_LEDGER_##name,
    PAY_LEDGER_RESULTS(PAY_LEDGER_RESULT_ENUM)
#undef PAY_LEDGER_RESULT_ENUM
        PAY_LEDGER__RESULT_COUNT
};

/* "EXCEEDS_CREDITS"; never NULL. */
const char *pay_ledger_result_name(enum pay_ledger_result r);

/* --- accounts ---------------------------------------------------------------------------- */

enum {
    PAY_LEDGER_AF_DEBITS_MUST_NOT_EXCEED_CREDITS = 1u << 0, /* assets may not go negative... */
    PAY_LEDGER_AF_CREDITS_MUST_NOT_EXCEED_DEBITS = 1u << 1, /* ...or liabilities */
    PAY_LEDGER_AF_CLOSED = 1u << 2, /* no new transfers; set by pay_ledger_tx_close_account */
};

struct pay_ledger_account {
    char id[PAY_LEDGER_ID_MAX + 1];
    char currency[4];                  /* ISO 4217, the account's "ledger" */
    int32_t code;                      /* kind of account, chosen by the application */
    uint32_t flags;                    /* PAY_LEDGER_AF_* */
    char owner[PAY_LEDGER_ID_MAX + 1]; /* reference to the owner (user, merchant), "" if none */
    int64_t debits_pending;            /* output */
    int64_t debits_posted;             /* output */
    int64_t credits_pending;           /* output */
    int64_t credits_posted;            /* output */
    int64_t created_ms;                /* output: Unix time in ms */
};

/* --- transfers --------------------------------------------------------------------------- */

enum {
    PAY_LEDGER_TF_LINKED = 1u << 0,       /* this and the next transfer succeed or fail as one */
    PAY_LEDGER_TF_PENDING = 1u << 1,      /* reserve: moves into the *_pending balances */
    PAY_LEDGER_TF_POST_PENDING = 1u << 2, /* post all or part of pending_id's amount */
    PAY_LEDGER_TF_VOID_PENDING = 1u << 3, /* release pending_id's reservation */
    PAY_LEDGER_TF_EXPIRED = 1u << 4,      /* system: written when a pending timed out */
};

struct pay_ledger_transfer {
    char id[PAY_LEDGER_ID_MAX + 1]; /* client-chosen, unique; e.g. "tr_01J..." */
    /* Accounts and currency. For post/void they may be "" (taken from the pending transfer);
     * if given they must match it. */
    char debit_account_id[PAY_LEDGER_ID_MAX + 1];
    char credit_account_id[PAY_LEDGER_ID_MAX + 1];
    char currency[4];
    /* > 0. Post: 0 means the whole pending amount, otherwise at most it (the rest is
     * released). Void: 0 or exactly the pending amount. Stored resolved (never 0). */
    int64_t amount_minor;
    int32_t code;                           /* kind of transfer, chosen by the application */
    uint32_t flags;                         /* PAY_LEDGER_TF_* */
    char pending_id[PAY_LEDGER_ID_MAX + 1]; /* post/void: the pending transfer */
    uint32_t timeout_s; /* pending only: expires this long after creation; 0 = never */
    char user_data[PAY_LEDGER_ID_MAX + 1]; /* free reference, e.g. the trade id; "" if none */
    int64_t created_ms;                    /* output */
};

/* --- the ledger object -------------------------------------------------------------------- */

struct pay_ledger; /* opaque: the ledger on one store */

/* The ledger's schema, to pass to pay_store_open() (component "ledger"). */
extern const struct pay_store_component pay_ledger_schema;

/* Creates the ledger on an open store (whose schema includes pay_ledger_schema). Its time
 * (created_ms, pending timeouts) is business time, pay_clock_now_ms() (core/clock.h: tests
 * move a test clock). Free with pay_ledger_free(); the store must outlive it. */
enum pay_err pay_ledger_new(struct pay_store *s, struct pay_ledger **out, struct pay_error *err);
void pay_ledger_free(struct pay_ledger *lg);
struct pay_store *pay_ledger_store(struct pay_ledger *lg);

/* The write path keeps accounts in memory between write transactions, up to `bytes` (default
 * PAY_LEDGER_ACCOUNT_CACHE_BYTES): at the end of a transaction the least recently used ones
 * beyond it are dropped (CLOCK). 0 keeps nothing between transactions. Call it before the
 * committer starts, never while a write transaction may run on lg. */
void pay_ledger_set_account_cache_bytes(struct pay_ledger *lg, size_t bytes);

struct pay_ledger_cache_stats {
    uint64_t hits;    /* account lookups answered from memory */
    uint64_t loads;   /* account lookups that read the database */
    uint64_t evicted; /* entries dropped to stay inside the byte budget */
    uint64_t cleared; /* times the whole cache was dropped (another writer, a rollback) */
    size_t entries;   /* accounts cached now */
};
/* Counters since pay_ledger_new. Call it when no write transaction runs on lg (e.g. after
 * pay_committer_stop). */
void pay_ledger_get_cache_stats(struct pay_ledger *lg, struct pay_ledger_cache_stats *out);

/* --- writes inside a write transaction ------------------------------------------------------
 * For use in a committer callback (or any pay_store_run_tx body). They see and change the
 * transaction's state, honour its savepoints, and keep balances in a per-transaction cache
 * that is written back before the commit: inside a transaction read accounts with
 * pay_ledger_tx_account_get(), not with raw SQL. Each returns PAY_ERR_OK with the precise
 * outcome in *result / results[]; any other code is a database failure: return it from the
 * body (the transaction or savepoint must be abandoned). */

enum pay_err pay_ledger_tx_create_accounts(struct pay_ledger *lg, struct pay_store_tx *tx,
                                           struct pay_ledger_account *accounts, size_t n,
                                           enum pay_ledger_result *results, struct pay_error *err);

/* Applies n transfers in order; a LINKED run is all-or-nothing (the failing one gets its own
 * result, the others LINKED_EVENT_FAILED). created_ms is filled for applied ones. */
enum pay_err pay_ledger_tx_transfers(struct pay_ledger *lg, struct pay_store_tx *tx,
                                     struct pay_ledger_transfer *transfers, size_t n,
                                     enum pay_ledger_result *results, struct pay_error *err);

/* One transfer; shorthand for the above with n = 1. */
enum pay_err pay_ledger_tx_transfer(struct pay_ledger *lg, struct pay_store_tx *tx,
                                    struct pay_ledger_transfer *t, enum pay_ledger_result *result,
                                    struct pay_error *err);

/* Sets the CLOSED flag (idempotent). *result: OK or ACCOUNT_NOT_FOUND. */
enum pay_err pay_ledger_tx_close_account(struct pay_ledger *lg, struct pay_store_tx *tx,
                                         const char *account_id, enum pay_ledger_result *result,
                                         struct pay_error *err);

/* The account as of this transaction (including its uncommitted changes).
 * *result: OK or ACCOUNT_NOT_FOUND. */
enum pay_err pay_ledger_tx_account_get(struct pay_ledger *lg, struct pay_store_tx *tx,
                                       const char *account_id, struct pay_ledger_account *out,
                                       enum pay_ledger_result *result, struct pay_error *err);

/* Expires up to max pending transfers whose timeout has passed at now_ms, oldest first (each
 * writes an EXPIRED transfer with id "!exp:<pending id>" releasing the reservation).
 * *expired receives the count. The committer calls this itself. */
enum pay_err pay_ledger_tx_expire(struct pay_ledger *lg, struct pay_store_tx *tx, int64_t now_ms,
                                  size_t max, size_t *expired, struct pay_error *err);

/* The posted balance of an account as its owner sees a liability: credits_posted -
 * debits_posted (what the ledger holds for them; negative for a debt, e.g. a credit card). */
int64_t pay_ledger_account_net_credit(const struct pay_ledger_account *a);

/* --- reads (reader connections, committed state) ------------------------------------------ */

/* *found is false when there is no such account / transfer. */
enum pay_err pay_ledger_account_get(struct pay_ledger *lg, const char *account_id,
                                    struct pay_ledger_account *out, bool *found,
                                    struct pay_error *err);
enum pay_err pay_ledger_transfer_get(struct pay_ledger *lg, const char *transfer_id,
                                     struct pay_ledger_transfer *out, bool *found,
                                     struct pay_error *err);

/* For reports that must not know the ledger's tables (the platform's dashboard): calls
 * fn(ctx, id, net credit: credits_posted - debits_posted) for each account whose id starts
 * with id_prefix and whose code is `code`, in id order, as committed when tx began. tx: a read
 * transaction (pay_store_run_read) of the ledger's store; in a write transaction the ledger's
 * own uncommitted balances are not seen. */
typedef void (*pay_ledger_balance_fn)(void *ctx, const char *account_id, int64_t net_credit);
enum pay_err pay_ledger_tx_each_balance(struct pay_store_tx *tx, const char *id_prefix,
                                        uint32_t code, pay_ledger_balance_fn fn, void *ctx,
                                        struct pay_error *err);

/* For reports: calls fn(ctx, currency, code, Σ debits_posted, Σ credits_posted) for each
 * (currency, code) of the accounts whose id starts with id_prefix, by currency, as committed
 * when tx (a read transaction of the ledger's store) began. */
typedef void (*pay_ledger_total_fn)(void *ctx, const char *currency, uint32_t code,
                                    int64_t debits_posted, int64_t credits_posted);
enum pay_err pay_ledger_tx_each_total(struct pay_store_tx *tx, const char *id_prefix,
                                      pay_ledger_total_fn fn, void *ctx, struct pay_error *err);

/* An account's transfers (debit or credit side), newest first, at most `max` into out[].
 * Paging: pass cursor 0 for the first page; *next_cursor is 0 when there are no more,
 * otherwise pass it back for the next page. */
enum pay_err pay_ledger_account_transfers(struct pay_ledger *lg, const char *account_id,
                                          int64_t cursor, struct pay_ledger_transfer *out,
                                          size_t max, size_t *n, int64_t *next_cursor,
                                          struct pay_error *err);

/* --- the committer (docs/ledger.md) ------------------------------------------------------ */

struct pay_committer; /* opaque: one per process and database */

struct pay_committer_options {
    size_t batch_max;       /* commands per transaction; 0 means PAY_LEDGER_BATCH_MAX */
    int expire_interval_ms; /* how often pending timeouts are scanned; 0 means 1000 */
};

/* Starts the committer thread for lg. opts may be NULL. Stop with pay_committer_stop(). */
enum pay_err pay_committer_start(struct pay_ledger *lg, const struct pay_committer_options *opts,
                                 struct pay_committer **out, struct pay_error *err);

/* Finishes every command already submitted, stops the thread and frees c. c may be NULL. */
void pay_committer_stop(struct pay_committer *c);

/* The generic command: runs fn(tx, ctx, err) inside the next batch's transaction within its
 * own savepoint, and blocks until that batch's commit is durable. The contract is the store's
 * (pay_store_tx_fn): OK releases the savepoint; any other code rolls back this command only
 * (pay_store_keep: keeps it) and reaches the caller with *err; a retryable code reruns the
 * whole batch. fn may call the pay_ledger_tx_* functions and run its own SQL on tx; it may run
 * more than once if the batch is retried, so it must have no effects outside tx and must reset
 * its outputs each time. Returns PAY_ERR_OK when the batch committed and fn returned OK; fn's
 * code and *err when fn failed (the rest of the batch committed); the batch's error when the
 * batch failed (nothing of it happened). */
enum pay_err pay_committer_submit(struct pay_committer *c, pay_store_tx_fn fn, void *ctx,
                                  struct pay_error *err);

/* What an asynchronous command's submitter hears: code and *err as pay_committer_submit
 * would return them. Runs on the committer thread after the batch's commit is durable (or the
 * batch failed), once per command; every later command waits for it, so it must only hand the
 * outcome on (e.g. resume a suspended HTTP request), never block or write. */
typedef void (*pay_committer_done_fn)(void *done_ctx, enum pay_err code,
                                      const struct pay_error *err);

/* pay_committer_submit without waiting: queues the command and returns PAY_ERR_OK at once;
 * done(done_ctx, code, err) is called exactly once later. ctx must stay valid until then.
 * Any other code (UNAVAILABLE: the committer is stopping; out of memory) means nothing was
 * queued and done will not be called. */
enum pay_err pay_committer_submit_async(struct pay_committer *c, pay_store_tx_fn fn, void *ctx,
                                        pay_committer_done_fn done, void *done_ctx,
                                        struct pay_error *err);

/* Pure-ledger commands (no savepoint unless a linked chain needs one). Block until durable;
 * results[i] is the outcome of element i. */
enum pay_err pay_committer_transfers(struct pay_committer *c, struct pay_ledger_transfer *t,
                                     size_t n, enum pay_ledger_result *results,
                                     struct pay_error *err);
enum pay_err pay_committer_create_accounts(struct pay_committer *c, struct pay_ledger_account *a,
                                           size_t n, enum pay_ledger_result *results,
                                           struct pay_error *err);

struct pay_committer_stats {
    uint64_t batches;  /* transactions committed */
    uint64_t commands; /* commands answered */
    uint64_t expired;  /* pending transfers expired */
};
void pay_committer_get_stats(struct pay_committer *c, struct pay_committer_stats *out);

/* --- verification ------------------------------------------------------------------------- */

/* Checks every invariant in full (Σdebits = Σcredits per currency for posted and pending,
 * each account's balances = the sums over its transfers, no flagged account across zero,
 * each pending resolved at most once, transfer currencies match their accounts) and writes a
 * readable line per violation to report (may be NULL). *violations receives the count. */
enum pay_err pay_ledger_verify(struct pay_store *s, FILE *report, size_t *violations,
                               struct pay_error *err);

/* `paygate ledger` (cmd_ledger.c, linked into the paygate binary, src/cli): verify a ledger
 * database. Takes the arguments after the command's name (argv[0] is it), handles --help, returns
 * the exit status. */
int pay_cmd_ledger(int argc, char **argv);

#endif
