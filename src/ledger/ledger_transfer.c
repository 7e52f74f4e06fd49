/* Transfers: validation in a fixed order (static fields, then an existing transfer with the
 * same id, then the state of the accounts), single transfers applied without a savepoint
 * because they are validated fully before anything is written, linked chains inside one
 * savepoint, two-phase resolution (post, void, expiry) exactly once. */
#include "ledger/ledger_internal.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/money.h"

#include <string.h>

#define TF_RESOLVE (PAY_LEDGER_TF_POST_PENDING | PAY_LEDGER_TF_VOID_PENDING | PAY_LEDGER_TF_EXPIRED)
#define TF_CLIENT                                                                                  \
    (PAY_LEDGER_TF_LINKED | PAY_LEDGER_TF_PENDING | PAY_LEDGER_TF_POST_PENDING |                   \
     PAY_LEDGER_TF_VOID_PENDING)

static const char load_sql[] =
    "SELECT t.rid, d.id, c.id, t.amount, t.currency, t.code, t.flags, p.id, t.timeout_s,"
    " t.user_data, t.created_ms, p.amount FROM ledger_transfers t"
    " JOIN ledger_accounts d ON d.rid = t.debit_rid"
    " JOIN ledger_accounts c ON c.rid = t.credit_rid"
    " LEFT JOIN ledger_transfers p ON p.rid = t.pending_rid WHERE t.id = $1";

/* Reads transfer `id` into out (see ledger_internal.h). */
enum pay_err ledger_transfer_load(struct pay_store_tx *tx, const char *id,
                                  struct pay_ledger_transfer *out, int64_t *pending_amount,
                                  bool *found, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(tx, err, load_sql, "t", id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    *found = rc == 1;
    if (rc == 1) {
        memset(out, 0, sizeof *out);
        pay_str_copy(out->id, sizeof out->id, id);
        pay_str_copy(out->debit_account_id, sizeof out->debit_account_id,
                     pay_store_col_text(st, 1));
        pay_str_copy(out->credit_account_id, sizeof out->credit_account_id,
                     pay_store_col_text(st, 2));
        out->amount_minor = pay_store_col_int64(st, 3);
        memcpy(out->currency, pay_store_col_text(st, 4), 4);
        out->code = (int32_t)pay_store_col_int64(st, 5);
        out->flags = (uint32_t)pay_store_col_int64(st, 6);
        if (!pay_store_col_is_null(st, 7))
            pay_store_col_copy(st, 7, out->pending_id, sizeof out->pending_id);
        out->timeout_s = (uint32_t)pay_store_col_int64(st, 8);
        pay_store_col_copy(st, 9, out->user_data, sizeof out->user_data);
        out->created_ms = pay_store_col_int64(st, 10);
        if (pending_amount)
            *pending_amount = pay_store_col_int64(st, 11);
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

static enum pay_ledger_result static_check(const struct pay_ledger_transfer *t)
{
    if (!ledger_id_valid(t->id, sizeof t->id))
        return PAY_LEDGER_ID_INVALID;
    uint32_t kind = t->flags & (PAY_LEDGER_TF_PENDING | PAY_LEDGER_TF_POST_PENDING |
                                PAY_LEDGER_TF_VOID_PENDING);
    if ((t->flags & ~(uint32_t)TF_CLIENT) || (kind & (kind - 1)))
        return PAY_LEDGER_FLAGS_INVALID;
    bool resolve = kind & TF_RESOLVE;
    if (resolve && t->pending_id[0] == 0)
        return PAY_LEDGER_PENDING_ID_REQUIRED;
    if (resolve && !ledger_id_valid(t->pending_id, sizeof t->pending_id))
        return PAY_LEDGER_ID_INVALID;
    if (!resolve && t->pending_id[0] != 0)
        return PAY_LEDGER_PENDING_ID_MUST_BE_EMPTY;
    if (t->timeout_s != 0 && kind != PAY_LEDGER_TF_PENDING)
        return PAY_LEDGER_TIMEOUT_RESERVED_FOR_PENDING;
    if (!ledger_text_valid(t->user_data, sizeof t->user_data))
        return PAY_LEDGER_USER_DATA_INVALID;
    if (t->amount_minor < 0 || (!resolve && t->amount_minor == 0))
        return PAY_LEDGER_AMOUNT_MUST_BE_POSITIVE;
    if (t->amount_minor > PAY_AMOUNT_MAX_MINOR)
        return PAY_LEDGER_AMOUNT_TOO_LARGE;
    bool need = !resolve; /* post/void may leave accounts and currency empty */
    if ((need || t->debit_account_id[0]) &&
        !ledger_id_valid(t->debit_account_id, sizeof t->debit_account_id))
        return PAY_LEDGER_ID_INVALID;
    if ((need || t->credit_account_id[0]) &&
        !ledger_id_valid(t->credit_account_id, sizeof t->credit_account_id))
        return PAY_LEDGER_ID_INVALID;
    if (t->debit_account_id[0] && strcmp(t->debit_account_id, t->credit_account_id) == 0)
        return PAY_LEDGER_ACCOUNTS_MUST_DIFFER;
    if ((need || t->currency[0]) && !ledger_currency_valid(t->currency))
        return PAY_LEDGER_CURRENCY_INVALID;
    return PAY_LEDGER_OK;
}

static enum pay_ledger_result compare(const struct pay_ledger_transfer *have, int64_t p_amount,
                                      const struct pay_ledger_transfer *want)
{
    bool resolve = want->flags & TF_RESOLVE;
    if (have->flags != want->flags)
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_FLAGS;
    if (strcmp(have->pending_id, want->pending_id) != 0)
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_PENDING_ID;
    if ((!resolve || want->debit_account_id[0]) &&
        strcmp(have->debit_account_id, want->debit_account_id) != 0)
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT;
    if ((!resolve || want->credit_account_id[0]) &&
        strcmp(have->credit_account_id, want->credit_account_id) != 0)
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT;
    int64_t amount = resolve && want->amount_minor == 0 ? p_amount : want->amount_minor;
    if (have->amount_minor != amount)
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_AMOUNT;
    if ((!resolve || want->currency[0]) && strcmp(have->currency, want->currency) != 0)
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_CURRENCY;
    if (have->code != want->code)
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_CODE;
    if (have->timeout_s != want->timeout_s)
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_TIMEOUT;
    if (strcmp(have->user_data, want->user_data) != 0)
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_USER_DATA;
    return PAY_LEDGER_EXISTS;
}

/* A transfer with t's id exists: *res becomes EXISTS or EXISTS_WITH_DIFFERENT_*. When it does
 * not exist, *res is left as it was (the state-based failure stands). */
static enum pay_err check_existing(struct pay_ledger *lg, const struct pay_ledger_transfer *t,
                                   enum pay_ledger_result *res, bool *found, struct pay_error *err)
{
    struct pay_ledger_transfer have;
    int64_t p_amount = 0;
    enum pay_err e = ledger_transfer_load(lg->tx, t->id, &have, &p_amount, found, err);
    if (e == PAY_ERR_OK && *found)
        *res = compare(&have, p_amount, t);
    return e;
}

/* The transfer row's columns and values, with and without RETURNING (see insert_row). */
#define INSERT_SQL                                                                                 \
    "INSERT INTO ledger_transfers (id, debit_rid, credit_rid, amount, currency, code,"             \
    " flags, pending_rid, timeout_s, user_data, created_ms, debit_prev, credit_prev)"              \
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"                             \
    " ON CONFLICT (id) DO NOTHING"

/* Runs the INSERT; *inserted tells whether the row went in (else its id existed) and *rid is
 * its row id. SQLite runs RETURNING through a temporary table it opens and closes for every
 * execution, so there the row id comes from the connection instead. */
static enum pay_err insert_exec(struct pay_ledger *lg, const struct pay_ledger_transfer *t,
                                const struct acct *d, const struct acct *c, int64_t amount,
                                const char *currency, int64_t pending_rid, int64_t now,
                                int64_t *rid, bool *inserted, struct pay_error *err)
{
    static const char returning_sql[] = INSERT_SQL " RETURNING rid", plain_sql[] = INSERT_SQL;
    bool returning = pay_store_dialect(lg->s) != PAY_STORE_SQLITE;
    const char *sql = returning ? returning_sql : plain_sql;
    struct pay_store_stmt *st =
        pending_rid
            ? pay_store_query(lg->tx, err, sql, "tiiitiiiitiii", t->id, d->rid, c->rid, amount,
                              currency, (int64_t)t->code, (int64_t)t->flags, pending_rid,
                              (int64_t)t->timeout_s, t->user_data, now, d->last_rid, c->last_rid)
            : pay_store_query(lg->tx, err, sql, "tiiitiinitiii", t->id, d->rid, c->rid, amount,
                              currency, (int64_t)t->code, (int64_t)t->flags, (int64_t)t->timeout_s,
                              t->user_data, now, d->last_rid, c->last_rid);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    *rid = rc == 1 ? pay_store_col_int64(st, 0) : 0;
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    *inserted = returning ? rc == 1 : pay_store_changes(lg->tx) == 1;
    if (!returning && *inserted && !pay_store_last_insert_rid(lg->tx, rid))
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "no row id for transfer %s", t->id);
    return PAY_ERR_OK;
}

/* INSERTs the row, linked to the previous transfer of each account (d->last_rid, c->last_rid),
 * and returns its rid in *rid; an existing id turns into EXISTS / EXISTS_WITH_DIFFERENT_*. The
 * id's conflict is skipped (ON CONFLICT), not raised: on PostgreSQL a failed statement would
 * abort the whole batch's transaction. */
static enum pay_err insert_row(struct pay_ledger *lg, const struct pay_ledger_transfer *t,
                               const struct acct *d, const struct acct *c, int64_t amount,
                               const char *currency, int64_t pending_rid, int64_t now, int64_t *rid,
                               enum pay_ledger_result *res, struct pay_error *err)
{
    bool inserted = false;
    enum pay_err e =
        insert_exec(lg, t, d, c, amount, currency, pending_rid, now, rid, &inserted, err);
    if (e != PAY_ERR_OK)
        return e;
    if (inserted) {
        *res = PAY_LEDGER_OK;
        return PAY_ERR_OK;
    }
    bool found = false;
    e = check_existing(lg, t, res, &found, err);
    if (e == PAY_ERR_OK && !found)
        e = pay_error_set(err, PAY_ERR_INTERNAL, "", "transfer %s: conflict without duplicate",
                          t->id);
    return e;
}

/* The cache entries of both accounts of a transfer (NULL: no such account). Looking up the
 * second may grow the cache and move the first, so the first is kept as an index. */
static enum pay_err acct_pair(struct pay_ledger *lg, const char *debit, const char *credit,
                              struct acct **d, struct acct **c, struct pay_error *err)
{
    enum pay_err e;
    *d = ledger_acct(lg, debit, &e, err);
    if (e != PAY_ERR_OK)
        return e;
    ptrdiff_t di = *d ? *d - lg->accts : -1;
    *c = ledger_acct(lg, credit, &e, err);
    if (di >= 0)
        *d = &lg->accts[di];
    return e;
}

/* Moves one balance up by amount (down when `release`: a pending reservation ends). The
 * caller checked that it fits and stays >= 0 (state_check, resolve_check): anything else here
 * is a bug. Keeps the transaction's debits-minus-credits (lg->net) with it. */
static void move_balance(struct pay_ledger *lg, struct acct *a, int which, int64_t amount,
                         bool release)
{
    PAY_ASSERT_MSG(amount > 0, "account %s", a->id);
    ledger_undo_push(lg, a, false);
    enum pay_err e = release ? pay_money_sub(a->bal[which], amount, &a->bal[which])
                             : pay_money_add(a->bal[which], amount, &a->bal[which]);
    PAY_ASSERT_MSG(e == PAY_ERR_OK, "account %s", a->id);
    PAY_ASSERT_MSG(a->bal[which] >= 0, "account %s balance %d", a->id, which);
    ledger_mark_dirty(lg, a);
    bool debit = which == BAL_DP || which == BAL_DPO, posted = which == BAL_DPO || which == BAL_CPO;
    e = debit == !release ? pay_money_add(lg->net[posted], amount, &lg->net[posted])
                          : pay_money_sub(lg->net[posted], amount, &lg->net[posted]);
    PAY_ASSERT(e == PAY_ERR_OK);
}

static void add_balance(struct pay_ledger *lg, struct acct *a, int which, int64_t amount)
{
    move_balance(lg, a, which, amount, false);
}

static void release_balance(struct pay_ledger *lg, struct acct *a, int which, int64_t amount)
{
    move_balance(lg, a, which, amount, true);
}

/* The account-state checks of a plain or pending transfer, in the documented order. */
static enum pay_ledger_result state_check(const struct pay_ledger_transfer *t, const struct acct *d,
                                          const struct acct *c)
{
    if (!d)
        return PAY_LEDGER_DEBIT_ACCOUNT_NOT_FOUND;
    if (!c)
        return PAY_LEDGER_CREDIT_ACCOUNT_NOT_FOUND;
    if (strcmp(d->currency, t->currency) != 0 || strcmp(c->currency, t->currency) != 0)
        return PAY_LEDGER_CURRENCY_MISMATCH;
    if ((d->flags | c->flags) & PAY_LEDGER_AF_CLOSED)
        return PAY_LEDGER_ACCOUNT_CLOSED;
    bool pending = t->flags & PAY_LEDGER_TF_PENDING;
    int64_t amt = t->amount_minor, x, dtot, ctot;
    if (pay_money_add(d->bal[pending ? BAL_DP : BAL_DPO], amt, &x) != PAY_ERR_OK ||
        pay_money_add(c->bal[pending ? BAL_CP : BAL_CPO], amt, &x) != PAY_ERR_OK ||
        pay_money_add(d->bal[BAL_DP], d->bal[BAL_DPO], &dtot) != PAY_ERR_OK ||
        pay_money_add(dtot, amt, &dtot) != PAY_ERR_OK ||
        pay_money_add(c->bal[BAL_CP], c->bal[BAL_CPO], &ctot) != PAY_ERR_OK ||
        pay_money_add(ctot, amt, &ctot) != PAY_ERR_OK)
        return PAY_LEDGER_OVERFLOW;
    if ((d->flags & PAY_LEDGER_AF_DEBITS_MUST_NOT_EXCEED_CREDITS) && dtot > d->bal[BAL_CPO])
        return PAY_LEDGER_EXCEEDS_CREDITS;
    if ((c->flags & PAY_LEDGER_AF_CREDITS_MUST_NOT_EXCEED_DEBITS) && ctot > c->bal[BAL_DPO])
        return PAY_LEDGER_EXCEEDS_DEBITS;
    return PAY_LEDGER_OK;
}

static enum pay_err apply_new(struct pay_ledger *lg, struct pay_ledger_transfer *t,
                              enum pay_ledger_result *res, struct pay_error *err)
{
    enum pay_err e;
    struct acct *d = NULL, *c = NULL;
    if ((e = acct_pair(lg, t->debit_account_id, t->credit_account_id, &d, &c, err)) != PAY_ERR_OK)
        return e;
    if ((*res = state_check(t, d, c)) != PAY_LEDGER_OK) {
        bool found;
        return check_existing(lg, t, res, &found, err);
    }
    int64_t now = pay_clock_now_ms(), rid = 0;
    e = insert_row(lg, t, d, c, t->amount_minor, t->currency, 0, now, &rid, res, err);
    if (e != PAY_ERR_OK || *res != PAY_LEDGER_OK)
        return e;
    bool pending = t->flags & PAY_LEDGER_TF_PENDING;
    if (pending && t->timeout_s) {
        e = pay_store_exec(lg->tx, err,
                           "INSERT INTO ledger_pending_timeouts (transfer_rid, expires_ms)"
                           " VALUES ($1, $2)",
                           "ii", rid, now + (int64_t)t->timeout_s * 1000);
        if (e != PAY_ERR_OK)
            return e;
    }
    add_balance(lg, d, pending ? BAL_DP : BAL_DPO, t->amount_minor);
    add_balance(lg, c, pending ? BAL_CP : BAL_CPO, t->amount_minor);
    d->last_rid = c->last_rid = rid; /* add_balance recorded the old value for undo */
    t->created_ms = now;
    return PAY_ERR_OK;
}

/* The pending transfer a post/void/expiry names, and how it was resolved (0: not yet). */
struct pending {
    struct pay_ledger_transfer t;
    int64_t rid;
    uint32_t resolved_flags;
};

static enum pay_err load_pending(struct pay_ledger *lg, const char *id, struct pending *p,
                                 bool *found, struct pay_error *err)
{
    enum pay_err e = ledger_transfer_load(lg->tx, id, &p->t, NULL, found, err);
    if (e != PAY_ERR_OK || !*found)
        return e;
    struct pay_store_stmt *st = pay_store_query(
        lg->tx, err,
        "SELECT p.rid, (SELECT r.flags FROM ledger_transfers r WHERE r.pending_rid = p.rid)"
        " FROM ledger_transfers p WHERE p.id = $1",
        "t", id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    if (rc == 1) {
        p->rid = pay_store_col_int64(st, 0);
        p->resolved_flags = (uint32_t)pay_store_col_int64(st, 1);
    }
    pay_store_done(st);
    return rc == 1 ? PAY_ERR_OK : rc == 0 ? PAY_ERR_INTERNAL : err->code;
}

static enum pay_ledger_result resolve_check(const struct pay_ledger_transfer *t,
                                            const struct pending *p, int64_t now, bool expire)
{
    const struct pay_ledger_transfer *pt = &p->t;
    if (!(pt->flags & PAY_LEDGER_TF_PENDING))
        return PAY_LEDGER_PENDING_TRANSFER_NOT_PENDING;
    if (t->debit_account_id[0] && strcmp(t->debit_account_id, pt->debit_account_id) != 0)
        return PAY_LEDGER_PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT;
    if (t->credit_account_id[0] && strcmp(t->credit_account_id, pt->credit_account_id) != 0)
        return PAY_LEDGER_PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT;
    if (t->currency[0] && strcmp(t->currency, pt->currency) != 0)
        return PAY_LEDGER_PENDING_TRANSFER_HAS_DIFFERENT_CURRENCY;
    if (p->resolved_flags & PAY_LEDGER_TF_POST_PENDING)
        return PAY_LEDGER_PENDING_TRANSFER_ALREADY_POSTED;
    if (p->resolved_flags & PAY_LEDGER_TF_VOID_PENDING)
        return PAY_LEDGER_PENDING_TRANSFER_ALREADY_VOIDED;
    if (p->resolved_flags & PAY_LEDGER_TF_EXPIRED)
        return PAY_LEDGER_PENDING_TRANSFER_EXPIRED;
    if (!expire && pt->timeout_s && now >= pt->created_ms + (int64_t)pt->timeout_s * 1000)
        return PAY_LEDGER_PENDING_TRANSFER_EXPIRED;
    if ((t->flags & PAY_LEDGER_TF_POST_PENDING) && t->amount_minor > pt->amount_minor)
        return PAY_LEDGER_EXCEEDS_PENDING_AMOUNT;
    if ((t->flags & PAY_LEDGER_TF_VOID_PENDING) && t->amount_minor != 0 &&
        t->amount_minor != pt->amount_minor)
        return PAY_LEDGER_PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT;
    return PAY_LEDGER_OK;
}

static enum pay_err apply_resolve(struct pay_ledger *lg, struct pay_ledger_transfer *t, bool expire,
                                  enum pay_ledger_result *res, struct pay_error *err)
{
    struct pending p = {0};
    bool found = false;
    int64_t now = pay_clock_now_ms();
    enum pay_err e = load_pending(lg, t->pending_id, &p, &found, err);
    if (e != PAY_ERR_OK)
        return e;
    *res = found ? resolve_check(t, &p, now, expire) : PAY_LEDGER_PENDING_TRANSFER_NOT_FOUND;
    bool post = t->flags & PAY_LEDGER_TF_POST_PENDING;
    int64_t amt = post && t->amount_minor ? t->amount_minor : p.t.amount_minor, x;
    struct acct *d = NULL, *c = NULL;
    if (*res == PAY_LEDGER_OK) {
        e = acct_pair(lg, p.t.debit_account_id, p.t.credit_account_id, &d, &c, err);
        if (e != PAY_ERR_OK)
            return e;
        /* The reservation is still held on both sides, and a post moves at most it. */
        PAY_ASSERT_MSG(d && c && d->bal[BAL_DP] >= p.t.amount_minor &&
                           c->bal[BAL_CP] >= p.t.amount_minor,
                       "pending %s", p.t.id);
        PAY_ASSERT_MSG(amt > 0 && amt <= p.t.amount_minor, "pending %s", p.t.id);
        if (post && (pay_money_add(d->bal[BAL_DPO], amt, &x) != PAY_ERR_OK ||
                     pay_money_add(c->bal[BAL_CPO], amt, &x) != PAY_ERR_OK))
            *res = PAY_LEDGER_OVERFLOW;
    }
    if (*res != PAY_LEDGER_OK)
        return expire ? PAY_ERR_OK : check_existing(lg, t, res, &found, err);
    int64_t rid = 0;
    e = insert_row(lg, t, d, c, amt, p.t.currency, p.rid, now, &rid, res, err);
    if (e != PAY_ERR_OK || *res != PAY_LEDGER_OK)
        return e;
    if (p.t.timeout_s)
        e = pay_store_exec(
            lg->tx, err, "DELETE FROM ledger_pending_timeouts WHERE transfer_rid = $1", "i", p.rid);
    if (e != PAY_ERR_OK)
        return e;
    release_balance(lg, d, BAL_DP, p.t.amount_minor);
    release_balance(lg, c, BAL_CP, p.t.amount_minor);
    if (post) {
        add_balance(lg, d, BAL_DPO, amt);
        add_balance(lg, c, BAL_CPO, amt);
    }
    d->last_rid = c->last_rid = rid; /* add_balance recorded the old value for undo */
    t->created_ms = now;
    return PAY_ERR_OK;
}

static enum pay_err apply_one(struct pay_ledger *lg, struct pay_ledger_transfer *t,
                              enum pay_ledger_result *res, struct pay_error *err)
{
    if ((*res = static_check(t)) != PAY_LEDGER_OK)
        return PAY_ERR_OK;
    if (t->flags & TF_RESOLVE)
        return apply_resolve(lg, t, false, res, err);
    return apply_new(lg, t, res, err);
}

/* transfers[i..j] (inclusive) form one linked chain: all or nothing, in one savepoint. */
static enum pay_err apply_chain(struct pay_ledger *lg, struct pay_ledger_transfer *t, size_t i,
                                size_t j, enum pay_ledger_result *res, struct pay_error *err)
{
    enum pay_err e = pay_store_savepoint(lg->tx, err);
    if (e != PAY_ERR_OK)
        return e;
    size_t failed = SIZE_MAX;
    for (size_t k = i; k <= j && e == PAY_ERR_OK && failed == SIZE_MAX; k++) {
        e = apply_one(lg, &t[k], &res[k], err);
        if (e == PAY_ERR_OK && res[k] != PAY_LEDGER_OK && res[k] != PAY_LEDGER_EXISTS)
            failed = k;
    }
    if (e != PAY_ERR_OK) {
        /* Close our savepoint (the caller abandons its transaction or savepoint, which must
         * be the innermost again) and tell the first error. */
        (void)pay_store_rollback_to(lg->tx, &(struct pay_error){0});
        return e;
    }
    if (failed == SIZE_MAX)
        return pay_store_release(lg->tx, err);
    for (size_t k = i; k <= j; k++)
        if (k != failed)
            res[k] = PAY_LEDGER_LINKED_EVENT_FAILED;
    return pay_store_rollback_to(lg->tx, err);
}

enum pay_err pay_ledger_tx_transfers(struct pay_ledger *lg, struct pay_store_tx *tx,
                                     struct pay_ledger_transfer *transfers, size_t n,
                                     enum pay_ledger_result *results, struct pay_error *err)
{
    enum pay_err e = ledger_begin(lg, tx, err);
    for (size_t i = 0; i < n && e == PAY_ERR_OK; i++) {
        if (!(transfers[i].flags & PAY_LEDGER_TF_LINKED)) {
            e = apply_one(lg, &transfers[i], &results[i], err);
            continue;
        }
        size_t j = i;
        while (j < n && (transfers[j].flags & PAY_LEDGER_TF_LINKED))
            j++;
        if (j == n) { /* the chain never closes */
            for (size_t k = i; k < n; k++)
                results[k] = PAY_LEDGER_LINKED_EVENT_FAILED;
            results[n - 1] = PAY_LEDGER_LINKED_EVENT_CHAIN_OPEN;
            break;
        }
        e = apply_chain(lg, transfers, i, j, results, err);
        i = j;
    }
    return e;
}

enum pay_err pay_ledger_tx_transfer(struct pay_ledger *lg, struct pay_store_tx *tx,
                                    struct pay_ledger_transfer *t, enum pay_ledger_result *result,
                                    struct pay_error *err)
{
    return pay_ledger_tx_transfers(lg, tx, t, 1, result, err);
}

enum pay_err pay_ledger_tx_expire(struct pay_ledger *lg, struct pay_store_tx *tx, int64_t now_ms,
                                  size_t max, size_t *expired, struct pay_error *err)
{
    enum pay_err e = ledger_begin(lg, tx, err);
    *expired = 0;
    while (e == PAY_ERR_OK && *expired < max) {
        struct pay_store_stmt *st = pay_store_query(
            tx, err,
            "SELECT t.id, t.rid FROM ledger_pending_timeouts pt"
            " JOIN ledger_transfers t ON t.rid = pt.transfer_rid WHERE pt.expires_ms <= $1"
            " ORDER BY pt.expires_ms, pt.transfer_rid LIMIT 1",
            "i", now_ms);
        if (!st)
            return err->code;
        struct pay_ledger_transfer t = {.flags = PAY_LEDGER_TF_EXPIRED};
        int rc = pay_store_step(st, err);
        if (rc == 1) {
            pay_store_col_copy(st, 0, t.pending_id, sizeof t.pending_id);
            snprintf(t.id, sizeof t.id, "!exp:%lld", (long long)pay_store_col_int64(st, 1));
        }
        pay_store_done(st);
        if (rc <= 0)
            return rc == 0 ? PAY_ERR_OK : err->code;
        enum pay_ledger_result res;
        e = apply_resolve(lg, &t, true, &res, err);
        PAY_ASSERT(e != PAY_ERR_OK || res == PAY_LEDGER_OK);
        ++*expired;
    }
    return e;
}
