/* Reads of committed state on the store's reader connections (balances, a transfer, an
 * account's transfers page by page) and the full invariant check behind
 * `paygate ledger verify`. */
#include "ledger/ledger_internal.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/money.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

struct get_ctx {
    const char *id;
    void *out;
    bool *found;
};

static enum pay_err account_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct get_ctx *g = ctx;
    struct pay_ledger_account *a = g->out;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT currency, code, flags, owner, debits_pending, debits_posted, credits_pending,"
        " credits_posted, created_ms FROM ledger_accounts WHERE id = $1",
        "t", g->id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    *g->found = rc == 1;
    if (rc == 1) {
        memset(a, 0, sizeof *a);
        pay_str_copy(a->id, sizeof a->id, g->id);
        memcpy(a->currency, pay_store_col_text(st, 0), 4);
        a->code = (int32_t)pay_store_col_int64(st, 1);
        a->flags = (uint32_t)pay_store_col_int64(st, 2);
        pay_store_col_copy(st, 3, a->owner, sizeof a->owner);
        a->debits_pending = pay_store_col_int64(st, 4);
        a->debits_posted = pay_store_col_int64(st, 5);
        a->credits_pending = pay_store_col_int64(st, 6);
        a->credits_posted = pay_store_col_int64(st, 7);
        a->created_ms = pay_store_col_int64(st, 8);
    }
    pay_store_done(st);
    return rc < 0 ? (err->code) : PAY_ERR_OK;
}

int64_t pay_ledger_account_net_credit(const struct pay_ledger_account *a)
{
    /* Both are >= 0 (asserted before every commit), so the difference always fits. */
    PAY_ASSERT_MSG(a->credits_posted >= 0 && a->debits_posted >= 0, "account %s", a->id);
    int64_t net = 0;
    enum pay_err e = pay_money_sub(a->credits_posted, a->debits_posted, &net);
    PAY_ASSERT(e == PAY_ERR_OK);
    return net;
}

enum pay_err pay_ledger_account_get(struct pay_ledger *lg, const char *account_id,
                                    struct pay_ledger_account *out, bool *found,
                                    struct pay_error *err)
{
    struct get_ctx g = {account_id, out, found};
    *found = false;
    return pay_store_run_read(lg->s, account_body, &g, err);
}

static enum pay_err transfer_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct get_ctx *g = ctx;
    return (ledger_transfer_load(tx, g->id, g->out, NULL, g->found, err));
}

enum pay_err pay_ledger_transfer_get(struct pay_ledger *lg, const char *transfer_id,
                                     struct pay_ledger_transfer *out, bool *found,
                                     struct pay_error *err)
{
    struct get_ctx g = {transfer_id, out, found};
    *found = false;
    return pay_store_run_read(lg->s, transfer_body, &g, err);
}

/* The end of the id range of a prefix: the prefix followed by 0x7f. ids are ASCII below 0x7f
 * (ledger_id_valid): every id with the prefix sorts in [prefix, end), a range of the primary
 * key, on both engines (bytes on SQLite, collation C on PostgreSQL: docs/store.md). Computed
 * here, not in SQL: SQLite's char(127) is chr(127) on PostgreSQL. -1 when it does not fit. */
static int prefix_end(const char *prefix, char out[PAY_LEDGER_ID_MAX + 2])
{
    size_t n = strlen(prefix);
    if (n > PAY_LEDGER_ID_MAX)
        return -1;
    memcpy(out, prefix, n);
    out[n] = 0x7f;
    out[n + 1] = '\0';
    return 0;
}

enum pay_err pay_ledger_tx_each_balance(struct pay_store_tx *tx, const char *id_prefix,
                                        uint32_t code, pay_ledger_balance_fn fn, void *ctx,
                                        struct pay_error *err)
{
    struct pay_error local;
    if (!err)
        err = &local;
    char end[PAY_LEDGER_ID_MAX + 2];
    if (prefix_end(id_prefix, end) != 0)
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, "id_prefix", NULL);
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT id, credits_posted - debits_posted FROM ledger_accounts"
                        " WHERE id >= $1 AND id < $2 AND code = $3 ORDER BY id",
                        "tti", id_prefix, end, (int64_t)code);
    if (!st)
        return err->code;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1)
        fn(ctx, pay_store_col_text(st, 0), pay_store_col_int64(st, 1));
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

enum pay_err pay_ledger_tx_each_total(struct pay_store_tx *tx, const char *id_prefix,
                                      pay_ledger_total_fn fn, void *ctx, struct pay_error *err)
{
    struct pay_error local;
    if (!err)
        err = &local;
    char end[PAY_LEDGER_ID_MAX + 2];
    if (prefix_end(id_prefix, end) != 0)
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, "id_prefix", NULL);
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT currency, code, SUM(debits_posted), SUM(credits_posted) FROM ledger_accounts"
        " WHERE id >= $1 AND id < $2 GROUP BY currency, code ORDER BY currency",
        "tt", id_prefix, end);
    if (!st)
        return err->code;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1)
        fn(ctx, pay_store_col_text(st, 0), (uint32_t)pay_store_col_int64(st, 1),
           pay_store_col_int64(st, 2), pay_store_col_int64(st, 3));
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

struct page_ctx {
    const char *account_id;
    int64_t cursor;
    struct pay_ledger_transfer *out;
    size_t max, *n;
    int64_t *next;
};

/* *prev: the link to acct's previous transfer (0: none) stored in the transfer at rid, or -1
 * when that row does not name acct or its link is not strictly older (a broken chain, which
 * verify reports). */
static const char step_sql[] =
    "SELECT CASE WHEN debit_rid = $2 THEN debit_prev WHEN credit_rid = $2 THEN credit_prev"
    " ELSE -1 END, id FROM ledger_transfers WHERE rid = $1";

static enum pay_err chain_prev(struct pay_store_tx *tx, int64_t rid, int64_t acct, int64_t *prev,
                               struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(tx, err, step_sql, "ii", rid, acct);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    *prev = rc == 1 ? pay_store_col_int64(st, 0) : -1;
    pay_store_done(st);
    if (*prev >= rid)
        *prev = -1;
    return rc < 0 ? err->code : PAY_ERR_OK;
}

/* *start: the newest transfer of acct older than cursor (0: none), from the cursor's own link
 * when the cursor is one of acct's transfers (as next_cursor always is), else by walking. */
static enum pay_err chain_start(struct pay_store_tx *tx, int64_t acct, int64_t last, int64_t cursor,
                                int64_t *start, struct pay_error *err)
{
    int64_t prev = -1;
    enum pay_err e = PAY_ERR_OK;
    *start = last;
    if (cursor <= 0)
        return e;
    if ((e = chain_prev(tx, cursor, acct, &prev, err)) != PAY_ERR_OK || prev >= 0) {
        *start = prev;
        return e;
    }
    while (*start >= cursor && e == PAY_ERR_OK) {
        e = chain_prev(tx, *start, acct, &prev, err);
        *start = prev < 0 ? 0 : prev;
    }
    return e;
}

static enum pay_err page_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct page_ctx *p = ctx;
    *p->n = 0;
    *p->next = 0;
    struct pay_store_stmt *st =
        pay_store_query(tx, err, "SELECT rid, last_transfer_rid FROM ledger_accounts WHERE id = $1",
                        "t", p->account_id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    int64_t acct = rc == 1 ? pay_store_col_int64(st, 0) : 0;
    int64_t r = rc == 1 ? pay_store_col_int64(st, 1) : 0, prev = 0, last_rid = 0;
    pay_store_done(st);
    enum pay_err e = rc < 0 ? err->code : PAY_ERR_OK;
    if (e == PAY_ERR_OK && acct)
        e = chain_start(tx, acct, r, p->cursor, &r, err);
    /* Newest first along acct's chain; a transfer beyond the page tells that another exists. */
    for (; e == PAY_ERR_OK && r > 0 && *p->n < p->max; r = prev) {
        st = pay_store_query(tx, err, step_sql, "ii", r, acct);
        if (!st)
            return err->code;
        rc = pay_store_step(st, err);
        prev = rc == 1 ? pay_store_col_int64(st, 0) : -1;
        if (prev >= 0) /* the row names acct: a broken chain (verify reports it) ends here */
            pay_store_col_copy(st, 1, p->out[*p->n].id, sizeof p->out[*p->n].id);
        pay_store_done(st);
        if (rc < 0)
            return err->code;
        if (prev < 0)
            break;
        last_rid = r;
        ++*p->n;
        prev = prev < r ? prev : 0;
    }
    r = prev < 0 ? 0 : r; /* after a broken link nothing further is reachable */
    if (e != PAY_ERR_OK)
        return e;
    if (r > 0)
        *p->next = last_rid;
    for (size_t i = 0; i < *p->n; i++) {
        bool found;
        char id[PAY_LEDGER_ID_MAX + 1];
        pay_str_copy(id, sizeof id, p->out[i].id);
        if ((e = ledger_transfer_load(tx, id, &p->out[i], NULL, &found, err)) != PAY_ERR_OK)
            return e;
    }
    return PAY_ERR_OK;
}

enum pay_err pay_ledger_account_transfers(struct pay_ledger *lg, const char *account_id,
                                          int64_t cursor, struct pay_ledger_transfer *out,
                                          size_t max, size_t *n, int64_t *next_cursor,
                                          struct pay_error *err)
{
    struct page_ctx p = {account_id, cursor, out, max, n, next_cursor};
    return pay_store_run_read(lg->s, page_body, &p, err);
}

/* --- verify ---------------------------------------------------------------------------------- */

struct verify_ctx {
    FILE *report;
    size_t violations;
};

static void violation(struct verify_ctx *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void violation(struct verify_ctx *v, const char *fmt, ...)
{
    v->violations++;
    if (!v->report)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("VIOLATION ", v->report);
    vfprintf(v->report, fmt, ap);
    fputc('\n', v->report);
    va_end(ap);
}

#define NOT_RESOLVED "NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_rid = t.rid)"
/* Sums per account from one scan of the transfers per side (there is no per-account index:
 * migration 3). */
static const char balances_sql[] =
    "WITH d AS (SELECT t.debit_rid AS rid,"
    "  sum(CASE WHEN (t.flags & 2) <> 0 AND " NOT_RESOLVED " THEN t.amount ELSE 0 END) AS p,"
    "  sum(CASE WHEN (t.flags & 26) = 0 THEN t.amount ELSE 0 END) AS o"
    "  FROM ledger_transfers t GROUP BY t.debit_rid),"
    " c AS (SELECT t.credit_rid AS rid,"
    "  sum(CASE WHEN (t.flags & 2) <> 0 AND " NOT_RESOLVED " THEN t.amount ELSE 0 END) AS p,"
    "  sum(CASE WHEN (t.flags & 26) = 0 THEN t.amount ELSE 0 END) AS o"
    "  FROM ledger_transfers t GROUP BY t.credit_rid)"
    " SELECT a.id, a.currency, a.debits_pending, a.debits_posted, a.credits_pending,"
    " a.credits_posted, coalesce(d.p, 0), coalesce(d.o, 0), coalesce(c.p, 0), coalesce(c.o, 0),"
    " a.flags FROM ledger_accounts a LEFT JOIN d ON d.rid = a.rid LEFT JOIN c ON c.rid = a.rid"
    " ORDER BY a.rid";

static enum pay_err verify_accounts(struct pay_store_tx *tx, struct verify_ctx *v,
                                    struct pay_error *err)
{
    static const char *const names[] = {"debits_pending", "debits_posted", "credits_pending",
                                        "credits_posted"};
    struct pay_store_stmt *st = pay_store_query(tx, err, balances_sql, NULL);
    if (!st)
        return err->code;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1) {
        const char *id = pay_store_col_text(st, 0), *cur = pay_store_col_text(st, 1);
        int64_t have[4], want[4];
        for (int i = 0; i < 4; i++) {
            have[i] = pay_store_col_int64(st, 2 + i);
            want[i] = pay_store_col_int64(st, 6 + i);
            if (have[i] != want[i])
                violation(
                    v, "account %s (%s): %s expected %" PRId64 " (sum of transfers) found %" PRId64,
                    id, cur, names[i], want[i], have[i]);
            if (have[i] < 0)
                violation(v, "account %s (%s): %s is negative (%" PRId64 ")", id, cur, names[i],
                          have[i]);
        }
        int64_t flags = pay_store_col_int64(st, 10);
        if ((flags & PAY_LEDGER_AF_DEBITS_MUST_NOT_EXCEED_CREDITS) && have[0] + have[1] > have[3])
            violation(v,
                      "account %s (%s): debits %" PRId64 " exceed credits %" PRId64
                      " but the account forbids it",
                      id, cur, have[0] + have[1], have[3]);
        if ((flags & PAY_LEDGER_AF_CREDITS_MUST_NOT_EXCEED_DEBITS) && have[2] + have[3] > have[1])
            violation(v,
                      "account %s (%s): credits %" PRId64 " exceed debits %" PRId64
                      " but the account forbids it",
                      id, cur, have[2] + have[3], have[1]);
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

static enum pay_err verify_currencies(struct pay_store_tx *tx, struct verify_ctx *v,
                                      struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT currency, sum(debits_pending), sum(credits_pending), sum(debits_posted),"
        " sum(credits_posted) FROM ledger_accounts GROUP BY currency ORDER BY currency",
        NULL);
    if (!st)
        return err->code;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1) {
        const char *cur = pay_store_col_text(st, 0);
        int64_t dp = pay_store_col_int64(st, 1), cp = pay_store_col_int64(st, 2);
        int64_t dpo = pay_store_col_int64(st, 3), cpo = pay_store_col_int64(st, 4);
        if (dp != cp)
            violation(v, "currency %s: pending debits %" PRId64 " != pending credits %" PRId64, cur,
                      dp, cp);
        if (dpo != cpo)
            violation(v, "currency %s: posted debits %" PRId64 " != posted credits %" PRId64, cur,
                      dpo, cpo);
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

/* Queries whose every row is a violation, described by the row's first column. */
static const struct {
    const char *what;
    const char *sql;
} row_checks[] = {
    {"transfer's currency differs from an account's",
     "SELECT t.id FROM ledger_transfers t JOIN ledger_accounts d ON d.rid = t.debit_rid"
     " JOIN ledger_accounts c ON c.rid = t.credit_rid"
     " WHERE t.currency <> d.currency OR t.currency <> c.currency"},
    {"resolution does not match its pending transfer (accounts, currency, kind or amount)",
     "SELECT r.id FROM ledger_transfers r JOIN ledger_transfers p ON p.rid = r.pending_rid"
     " WHERE (p.flags & 2) = 0 OR r.debit_rid <> p.debit_rid OR r.credit_rid <> p.credit_rid"
     " OR r.currency <> p.currency OR r.amount > p.amount"
     " OR ((r.flags & 24) <> 0 AND r.amount <> p.amount)"},
    {"timeout row for a resolved or non-pending transfer",
     "SELECT t.id FROM ledger_pending_timeouts pt JOIN ledger_transfers t"
     " ON t.rid = pt.transfer_rid WHERE (t.flags & 2) = 0 OR NOT " NOT_RESOLVED},
    /* The references the schema does not enforce with foreign keys (migration 2). */
    {"transfer names a missing account",
     "SELECT t.id FROM ledger_transfers t WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a"
     " WHERE a.rid = t.debit_rid) OR NOT EXISTS (SELECT 1 FROM ledger_accounts a"
     " WHERE a.rid = t.credit_rid)"},
    {"resolution names a missing pending transfer",
     "SELECT r.id FROM ledger_transfers r WHERE r.pending_rid IS NOT NULL AND NOT EXISTS"
     " (SELECT 1 FROM ledger_transfers p WHERE p.rid = r.pending_rid)"},
    {"timeout row for a missing transfer",
     "SELECT pt.transfer_rid FROM ledger_pending_timeouts pt WHERE NOT EXISTS"
     " (SELECT 1 FROM ledger_transfers t WHERE t.rid = pt.transfer_rid)"},
    /* Each account's chain (last_transfer_rid, then debit_prev / credit_prev, strictly older
     * each step) visits exactly the transfers naming it: as many, all naming it, newest first. */
    {"account's transfer chain does not match its transfers",
     "WITH RECURSIVE walk(acct, rid) AS (SELECT rid, last_transfer_rid FROM ledger_accounts"
     "  WHERE last_transfer_rid > 0 UNION ALL SELECT w.acct, CASE WHEN t.debit_rid = w.acct"
     "  THEN t.debit_prev ELSE t.credit_prev END FROM walk w JOIN ledger_transfers t"
     "  ON t.rid = w.rid WHERE (t.debit_rid = w.acct OR t.credit_rid = w.acct)"
     "  AND (CASE WHEN t.debit_rid = w.acct THEN t.debit_prev ELSE t.credit_prev END)"
     "  BETWEEN 1 AND w.rid - 1),"
     " chain AS (SELECT w.acct, count(*) AS n FROM walk w JOIN ledger_transfers t"
     "  ON t.rid = w.rid AND (t.debit_rid = w.acct OR t.credit_rid = w.acct) GROUP BY w.acct),"
     " scan AS (SELECT acct, count(*) AS n, max(rid) AS m FROM (SELECT debit_rid AS acct, rid"
     "  FROM ledger_transfers UNION ALL SELECT credit_rid, rid FROM ledger_transfers) sides"
     "  GROUP BY acct)"
     " SELECT a.id FROM ledger_accounts a LEFT JOIN scan s ON s.acct = a.rid"
     " LEFT JOIN chain c ON c.acct = a.rid"
     " WHERE coalesce(s.n, 0) <> coalesce(c.n, 0) OR coalesce(s.m, 0) <> a.last_transfer_rid"},
};

/* SQLite's own check of its file (PostgreSQL has no equivalent a client may run: its data
 * checksums and amcheck are the operator's tools, docs/store.md). */
static const char integrity_sql[] =
    "SELECT quick_check FROM pragma_quick_check WHERE quick_check <> 'ok'";

static enum pay_err verify_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct verify_ctx *v = ctx;
    v->violations = 0;
    enum pay_err e = verify_accounts(tx, v, err);
    if (e == PAY_ERR_OK)
        e = verify_currencies(tx, v, err);
    size_t n = sizeof row_checks / sizeof row_checks[0];
    bool sqlite = pay_store_dialect(pay_store_tx_store(tx)) == PAY_STORE_SQLITE;
    for (size_t i = 0; e == PAY_ERR_OK && i < n + sqlite; i++) {
        const char *sql = i < n ? row_checks[i].sql : integrity_sql;
        struct pay_store_stmt *st = pay_store_query(tx, err, sql, NULL);
        if (!st)
            return err->code;
        int rc;
        while ((rc = pay_store_step(st, err)) == 1)
            violation(v, "%s: %s", i < n ? row_checks[i].what : "database integrity",
                      pay_store_col_text(st, 0));
        pay_store_done(st);
        e = rc < 0 ? err->code : PAY_ERR_OK;
    }
    return e;
}

enum pay_err pay_ledger_verify(struct pay_store *s, FILE *report, size_t *violations,
                               struct pay_error *err)
{
    struct verify_ctx v = {report, 0};
    enum pay_err e = pay_store_run_read(s, verify_body, &v, err);
    *violations = v.violations;
    return e;
}
