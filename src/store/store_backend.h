/* The store's backend interface (a struct of function pointers, after GNU Taler's DB plugin):
 * store.c holds everything backend-neutral (pools, statement cache, retry loop, migrations,
 * hooks); a backend only opens connections and runs statements. Internal to src/store. */
#ifndef PAY_STORE_BACKEND_H
#define PAY_STORE_BACKEND_H

#include "core/errors.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pay_store_backend {
    const char *name;
    enum pay_store_dialect dialect;
    /* Opens one connection to `path`; *conn is backend-owned until conn_close. */
    enum pay_err (*conn_open)(const char *path, bool writer, int busy_timeout_ms, bool no_sync,
                              void **conn, struct pay_error *err);
    void (*conn_close)(void *conn);
    /* Runs one or more statements without parameters (migrations, BEGIN, COMMIT). */
    enum pay_err (*exec_script)(void *conn, const char *sql, struct pay_error *err);
    /* The statement text that starts a write / read transaction. */
    const char *begin_write_sql;
    const char *begin_read_sql;
    /* A statement whose one integer column changes when another connection changed the
     * database (SQLite: PRAGMA data_version); NULL if the backend cannot tell. Run first in
     * every write transaction. */
    const char *data_version_sql;
    /* The value also counts this connection's own write transactions, one each (PostgreSQL's
     * store_generation row): nobody else wrote when it is the last value + 1. */
    bool data_version_counts_writes;
    void *(*prepare)(void *conn, const char *sql, struct pay_error *err);
    void (*finalize)(void *stmt);
    void (*reset)(void *stmt); /* also clears bindings */
    /* The backend's position of our parameter $n, and whether that is n for every parameter
     * (store.c asks once per prepared statement and then binds by position). */
    int (*param_slot)(void *stmt, int n);
    bool (*params_in_order)(void *stmt);
    /* idx: a position from param_slot (or n when params_in_order). */
    enum pay_err (*bind_int64)(void *stmt, int idx, int64_t v);
    enum pay_err (*bind_text)(void *stmt, int idx, const char *s);
    enum pay_err (*bind_blob)(void *stmt, int idx, const void *p, size_t n);
    enum pay_err (*bind_null)(void *stmt, int idx);
    int (*step)(void *stmt, struct pay_error *err); /* 1 row, 0 done, -1 error */
    /* A statement whose answer is not needed now (pay_store_exec_deferred): sent later with the
     * next one, 0 queued (or run), -1 error. NULL: the backend runs it at once (step). */
    int (*step_deferred)(void *stmt, struct pay_error *err);
    /* Collects the queued statements' answers: OK, or the first that failed since the last
     * call (also one whose failure a later statement already reported). NULL: none queue. */
    enum pay_err (*settle)(void *conn, struct pay_error *err);
    int64_t (*col_int64)(void *stmt, int col);
    const char *(*col_text)(void *stmt, int col);
    const void *(*col_blob)(void *stmt, int col, size_t *len);
    bool (*col_is_null)(void *stmt, int col);
    int64_t (*changes)(void *conn);
    /* The row id of the last row an INSERT added on conn (SQLite's rowid); NULL when the
     * backend has none (PostgreSQL: INSERT ... RETURNING). */
    int64_t (*last_insert_rid)(void *conn);
    /* A seat (store.h, pay_store_seat) on conn, a connection of its own: when held is false,
     * tries to take the session lock key (*now true when taken); when true, checks that the
     * session is still there (*now false when it is gone: the lock went with it). NULL: one
     * process per database (SQLite), always held. */
    enum pay_err (*seat_hold)(void *conn, int64_t key, bool held, bool *now, struct pay_error *err);
    /* Gives the lock back before conn closes, so that it is free when the call returns (a
     * closing session frees it a moment later). */
    void (*seat_release)(void *conn, int64_t key);
};

extern const struct pay_store_backend pay_store_sqlite_backend;
#ifdef PAY_STORE_HAVE_PG
extern const struct pay_store_backend pay_store_pg_backend;
#endif

#endif
