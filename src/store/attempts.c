/* Attempt guards (attempts.h): the counters of a subject read and written in the caller's
 * write transaction, so a reservation is one atomic step under the store's writer lock. */
#include "store/attempts.h"

#include "core/assertions.h"
#include "core/limits.h"

#include <stdio.h>
#include <string.h>

struct row {
    int64_t seq, forgiven_seq, lock_seq, locked_until_ms;
};

static enum pay_err read_row(struct pay_store_tx *tx, const char *table, const char *subject,
                             struct row *r, struct pay_error *err)
{
    char sql[PAY_STORE_ATTEMPTS_SQL_MAX];
    snprintf(sql, sizeof sql,
             "SELECT seq, forgiven_seq, lock_seq, locked_until_ms FROM %s WHERE subject = $1",
             table);
    struct pay_store_stmt *st = pay_store_query(tx, err, sql, "t", subject);
    if (!st)
        return err->code;
    memset(r, 0, sizeof *r);
    int rc = pay_store_step(st, err);
    if (rc == 1) {
        r->seq = pay_store_col_int64(st, 0);
        r->forgiven_seq = pay_store_col_int64(st, 1);
        r->lock_seq = pay_store_col_int64(st, 2);
        r->locked_until_ms = pay_store_col_int64(st, 3);
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

static enum pay_err write_row(struct pay_store_tx *tx, const char *table, const char *subject,
                              const struct row *r, struct pay_error *err)
{
    char sql[PAY_STORE_ATTEMPTS_SQL_MAX];
    snprintf(sql, sizeof sql,
             "INSERT INTO %s (subject, seq, forgiven_seq, lock_seq, locked_until_ms)"
             " VALUES ($1,$2,$3,$4,$5) ON CONFLICT (subject) DO UPDATE SET seq = excluded.seq,"
             " forgiven_seq = excluded.forgiven_seq, lock_seq = excluded.lock_seq,"
             " locked_until_ms = excluded.locked_until_ms",
             table);
    return pay_store_exec(tx, err, sql, "tiiii", subject, r->seq, r->forgiven_seq, r->lock_seq,
                          r->locked_until_ms);
}

/* An expired lock ends its window: everything before it is forgiven. */
static void expire(struct row *r, int64_t now_ms)
{
    if (r->locked_until_ms != 0 && r->locked_until_ms <= now_ms) {
        r->forgiven_seq = r->seq;
        r->lock_seq = 0;
        r->locked_until_ms = 0;
    }
}

enum pay_err pay_store_attempt_reserve(struct pay_store_tx *tx, const char *table,
                                       const char *subject, int64_t now_ms,
                                       struct pay_store_attempt *out, struct pay_error *err)
{
    PAY_ASSERT(pay_store_table_name_ok(table) && pay_store_tx_is_write(tx));
    memset(out, 0, sizeof *out);
    struct row r;
    enum pay_err e = read_row(tx, table, subject, &r, err);
    if (e != PAY_ERR_OK)
        return e;
    if (r.locked_until_ms > now_ms) {
        out->locked_until_ms = r.locked_until_ms;
        return pay_error_set(err, PAY_ERR_LOCKED, "", NULL);
    }
    expire(&r, now_ms);
    PAY_ASSERT(r.seq - r.forgiven_seq < PAY_LOCKOUT_ATTEMPTS); /* the limit-th one set the lock */
    r.seq++;
    int64_t outstanding = r.seq - r.forgiven_seq;
    if (outstanding >= PAY_LOCKOUT_ATTEMPTS) {
        r.lock_seq = r.seq;
        r.locked_until_ms = now_ms + PAY_LOCKOUT_DURATION_S * 1000LL;
    }
    out->seq = r.seq;
    out->left = PAY_LOCKOUT_ATTEMPTS - outstanding;
    out->locked_until_ms = r.locked_until_ms;
    PAY_ASSERT(out->left >= 0);
    return write_row(tx, table, subject, &r, err);
}

enum pay_err pay_store_attempt_succeeded(struct pay_store_tx *tx, const char *table,
                                         const char *subject, const struct pay_store_attempt *a,
                                         struct pay_error *err)
{
    PAY_ASSERT(pay_store_table_name_ok(table) && pay_store_tx_is_write(tx) && a->seq > 0);
    char sql[PAY_STORE_ATTEMPTS_SQL_MAX];
    snprintf(
        sql, sizeof sql,
        "UPDATE %s SET forgiven_seq = CASE WHEN forgiven_seq > $2 THEN forgiven_seq ELSE $2 END,"
        " locked_until_ms = CASE WHEN lock_seq = $2 THEN 0 ELSE locked_until_ms END,"
        " lock_seq = CASE WHEN lock_seq = $2 THEN 0 ELSE lock_seq END WHERE subject = $1",
        table);
    return pay_store_exec(tx, err, sql, "ti", subject, a->seq);
}

enum pay_err pay_store_attempt_state(struct pay_store_tx *tx, const char *table,
                                     const char *subject, int64_t now_ms, int64_t *locked_until_ms,
                                     int64_t *left, struct pay_error *err)
{
    PAY_ASSERT(pay_store_table_name_ok(table));
    struct row r;
    enum pay_err e = read_row(tx, table, subject, &r, err);
    if (e != PAY_ERR_OK)
        return e;
    if (r.locked_until_ms > now_ms) {
        *locked_until_ms = r.locked_until_ms;
        *left = 0;
        return PAY_ERR_OK;
    }
    expire(&r, now_ms);
    *locked_until_ms = 0;
    *left = PAY_LOCKOUT_ATTEMPTS - (r.seq - r.forgiven_seq);
    return PAY_ERR_OK;
}

enum pay_err pay_store_attempt_lock(struct pay_store_tx *tx, const char *table, const char *subject,
                                    int64_t until_ms, struct pay_error *err)
{
    PAY_ASSERT(pay_store_table_name_ok(table) && pay_store_tx_is_write(tx));
    struct row r;
    enum pay_err e = read_row(tx, table, subject, &r, err);
    if (e != PAY_ERR_OK)
        return e;
    r.lock_seq = 0; /* no reservation set it, so no success lifts it */
    r.locked_until_ms = until_ms;
    return write_row(tx, table, subject, &r, err);
}
