/* The store: paygate's database behind one small interface (after GNU Taler's DB plugin).
 * A store is one database (an SQLite file, or a PostgreSQL database) with one writer connection
 * and a pool of reader connections, numbered per-component migrations, one retry loop for
 * busy/serialisation failures (pay_store_run_tx) and a thin query API with a prepared
 * statement cache. SQL uses `$1`, `$2`, ... parameters so that it runs on both backends.
 *
 * Threads: every function may be called from any thread. A transaction (struct pay_store_tx)
 * belongs to the thread that runs it; statements belong to their transaction. */
#ifndef PAY_STORE_STORE_H
#define PAY_STORE_STORE_H

#include "core/errors.h"
#include "core/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pay_store;      /* one database: a writer connection + reader pool (opaque) */
struct pay_store_tx;   /* an open transaction on one connection (opaque) */
struct pay_store_stmt; /* a prepared statement inside a transaction (opaque) */

/* One numbered migration: `version` starts at 1 and increases by 1; `sql` may hold several
 * statements separated by ';' and runs on both backends (docs/store.md, "Portable SQL"). */
struct pay_store_migration {
    int version;
    const char *sql;
};

/* Which SQL a store speaks, for the rare statement that must differ. */
enum pay_store_dialect { PAY_STORE_SQLITE, PAY_STORE_POSTGRESQL };

/* A module's schema: its name (the key in table schema_migrations) and its migrations in
 * version order. Static storage; the store keeps the pointer. `pg`, for the rare migration
 * that one dialect cannot write for both: NULL, or migrations 1..k as PostgreSQL runs them
 * instead (same versions in order; "" applies nothing, NULL runs the common one), ended by
 * {0, NULL}; versions after k run `migrations` on both. */
struct pay_store_component {
    const char *name; /* "ledger", "bank", "platform", ... */
    const struct pay_store_migration *migrations;
    size_t count;
    const struct pay_store_migration *pg;
};

struct pay_store_options {
    int readers; /* reader connections; 0 means 4 */
    /* Tests only: synchronous=OFF. Durability is gone; never set it in a server. */
    bool unsafe_no_sync;
    int busy_timeout_ms; /* 0 means PAY_STORE_BUSY_TIMEOUT_MS */
};

/* Opens a database, then applies every component's pending migrations in one transaction.
 * `database` is a PostgreSQL URL (postgresql://... or postgres://..., see
 * pay_store_is_postgres; the database must exist) or else the path of an SQLite file, created
 * if needed, opened with WAL, synchronous=FULL, foreign_keys=ON and the busy timeout.
 * `components` is NULL-terminated and may be NULL. Refuses with PAY_ERR_DB_SCHEMA_TOO_NEW
 * when the database has a version newer than a component knows, CONFIG_INVALID (field
 * "database") for a PostgreSQL URL when this binary was built without libpq or the server
 * is unfit (encoding, fsync off, too old), DB_IO when it cannot connect. opts may be NULL.
 * On success *out is the store; free it with pay_store_close(). */
enum pay_err pay_store_open(const char *database, const struct pay_store_options *opts,
                            const struct pay_store_component *const *components,
                            struct pay_store **out, struct pay_error *err);

/* true when database names a PostgreSQL database: it starts with postgresql:// or
 * postgres:// (libpq's URL forms). Anything else is an SQLite path. */
bool pay_store_is_postgres(const char *database);

/* database as it may be logged or shown: the password of a URL (user:PASSWORD@ or a
 * password= parameter) replaced by "***". Always NUL-terminates out (n > 0). */
void pay_store_redact(const char *database, char *out, size_t n);

/* Which backend s runs on. */
enum pay_store_dialect pay_store_dialect(const struct pay_store *s);

/* For a server (not an offline command): on SQLite, makes this process the only server of the
 * database for the life of s, by an exclusive lock (flock) on the file "<path>.lock" (0600),
 * which the kernel frees when the process ends however it ends. CONFIG_INVALID (field
 * "database", naming role) when another live process holds it: the nonces of signed requests
 * and the rate-limit buckets of a server on SQLite are in its memory, so a second server of
 * the file would accept what the first refused. PostgreSQL: OK, several processes per role
 * share the database (docs/store.md, "Several nodes on one database"). */
enum pay_err pay_store_serve_alone(struct pay_store *s, const char *role, struct pay_error *err);

/* A table name the helpers that build SQL around one (attempts.h, nonces.h) accept: a
 * constant of the caller's code, never input; lowercase letters and '_', 1..63 of them. */
bool pay_store_table_name_ok(const char *table);

/* A claim of due work rows by a background worker that may run in several processes on one
 * database: sql (a SELECT of the rows to claim, in a write transaction) as SQLite runs it (one
 * writer at a time), and on PostgreSQL the same with FOR UPDATE SKIP LOCKED, so that rows
 * another process's claim holds are passed over instead of waited for. sql must be a string
 * literal. */
#define PAY_STORE_CLAIM_SQL(tx, sql)                                                               \
    (pay_store_dialect(pay_store_tx_store(tx)) == PAY_STORE_POSTGRESQL ? sql                       \
         " FOR UPDATE SKIP LOCKED"                                                                 \
                                                                       : sql)

/* A seat for work that one process of a role should do at a time (the platform's sweeper),
 * among the processes that share a database (docs/store.md, "Several nodes on one
 * database"). On PostgreSQL a session-level advisory lock (pg_try_advisory_lock(key)) on a
 * connection of the seat's own: held until the seat is freed or that session ends (the process
 * died, the connection broke), and then free for another process's next try. On SQLite, one
 * process per database file: always held. */
struct pay_store_seat;

/* A seat on s for the lock key (a constant of the caller's code, one per kind of work); not
 * tried yet. NULL when out of memory. Free it (and so release it) before closing s. */
struct pay_store_seat *pay_store_seat_new(struct pay_store *s, int64_t key);

/* Whether this process holds the seat now: takes it when it is free, or checks that the
 * session holding it is still there (one round trip). A lost connection loses the seat; the
 * next call connects again and tries. Never blocks on another holder. */
bool pay_store_seat_hold(struct pay_store_seat *seat);

/* Releases the seat (closes its connection) and frees it. seat may be NULL. */
void pay_store_seat_free(struct pay_store_seat *seat);

/* Applies one component's pending migrations (same rules as at open). */
enum pay_err pay_store_migrate(struct pay_store *s, const struct pay_store_component *c,
                               struct pay_error *err);

/* Highest applied version of a component, 0 when none. */
enum pay_err pay_store_schema_version(struct pay_store *s, const char *component, int *version,
                                      struct pay_error *err);

/* Closes every connection. No transaction may be running. s may be NULL. */
void pay_store_close(struct pay_store *s);

/* --- transactions ------------------------------------------------------------------------ */

/* A transaction body: the one contract for "run this in a transaction", used by
 * pay_store_run_tx, pay_store_run_read and pay_committer_submit. It returns
 *   PAY_ERR_OK        commit (in the committer: release the command's savepoint);
 *   a retryable code  (pay_store_retryable: DB_BUSY) roll back and run the body again;
 *   any other code    roll back (in the committer: to the command's savepoint only), and the
 *                     caller gets exactly that code and *err (field, detail).
 * A refusal whose changes must last (a wrong password: its attempt stays counted) returns
 * pay_store_keep(tx, code): committed, and the caller still gets code and *err.
 * The body may run more than once (a retry): it must have no effects outside tx and must
 * reset its outputs in ctx each time. */
typedef enum pay_err (*pay_store_tx_fn)(struct pay_store_tx *tx, void *ctx, struct pay_error *err);

/* True for the codes after which rerunning the whole transaction may succeed (DB_BUSY:
 * a busy database, a serialisation failure). */
bool pay_store_retryable(enum pay_err code);

/* True for the storage failures: DB_FULL (no space left), DB_UNAVAILABLE (an I/O error),
 * DB_IO (a damaged or unreadable database), DB_UNREACHABLE (a PostgreSQL server that cannot be
 * reached: stopped, restarting, failing over; or a COMMIT whose outcome it could not learn).
 * Once a statement, BEGIN or COMMIT of a
 * transaction fails so, the transaction cannot commit whatever its body returns (every later
 * statement in it is refused with the same failure, its savepoints end as rolled back), the
 * caller hears the failure, and the connection is closed and opened again before it is used
 * next (docs/store.md, "When the disk fails"). Not retryable: a full disk does not empty in
 * milliseconds; the client retries (HTTP 503). */
bool pay_store_failure(enum pay_err code);

/* For a body that refuses but must commit what it did so far (the attempt counter of a wrong
 * secret): marks the innermost open level of tx (the transaction, or the savepoint the
 * committer opened for a command) to be kept although the body fails, and returns code, which
 * must not be OK or retryable. */
enum pay_err pay_store_keep(struct pay_store_tx *tx, enum pay_err code);

/* Whether pay_store_keep was called at tx's current savepoint depth (for the committer). */
bool pay_store_tx_kept(const struct pay_store_tx *tx);

/* Runs fn inside a write transaction (BEGIN IMMEDIATE on SQLite) on the writer connection and
 * commits when fn returns OK (or kept its refusal). Retries the whole body, rolled back, when
 * it returns a retryable code or the commit is busy, up to PAY_STORE_RETRY_MAX times with
 * backoff. Returns PAY_ERR_OK once the commit is durable (*err cleared); fn's code and *err
 * when it failed (rolled back, or committed when kept); DB_BUSY when the retries ran out; a
 * storage failure (pay_store_failure) when the disk failed, rolled back whatever fn returned.
 * Only one write transaction runs at a time per store (others wait). */
enum pay_err pay_store_run_tx(struct pay_store *s, pay_store_tx_fn fn, void *ctx,
                              struct pay_error *err);

/* Same, read-only, on a reader connection (a consistent snapshot; many run in parallel). */
enum pay_err pay_store_run_read(struct pay_store *s, pay_store_tx_fn fn, void *ctx,
                                struct pay_error *err);

/* Savepoints inside a write transaction; they nest. rollback undoes everything since the
 * matching savepoint and ends it; release keeps the changes and ends it. */
enum pay_err pay_store_savepoint(struct pay_store_tx *tx, struct pay_error *err);
enum pay_err pay_store_release(struct pay_store_tx *tx, struct pay_error *err);
enum pay_err pay_store_rollback_to(struct pay_store_tx *tx, struct pay_error *err);
int pay_store_savepoint_depth(const struct pay_store_tx *tx);

/* Observers of a write transaction, for modules that keep per-transaction state in memory
 * (the ledger's balance cache). Called on the transaction's thread. before_commit may fail
 * (then the transaction rolls back with its error); the others cannot. At most
 * PAY_STORE_TX_HOOKS_MAX per transaction; registering the same (hooks, ctx) twice is a no-op. */
struct pay_store_tx_hooks {
    enum pay_err (*before_commit)(struct pay_store_tx *tx, void *ctx, struct pay_error *err);
    void (*after_end)(void *ctx, bool committed); /* commit done or rolled back */
    void (*savepoint)(void *ctx, int depth);      /* a savepoint at this depth was opened */
    void (*rollback_to)(void *ctx, int depth);    /* ... was rolled back (and ended) */
    void (*release)(void *ctx, int depth);        /* ... was released */
};
enum pay_err pay_store_tx_observe(struct pay_store_tx *tx, const struct pay_store_tx_hooks *hooks,
                                  void *ctx, struct pay_error *err);

bool pay_store_tx_is_write(const struct pay_store_tx *tx);
struct pay_store *pay_store_tx_store(struct pay_store_tx *tx);

/* The write transaction's generation: counts up by one per write transaction on this store
 * and by more when another connection or process changed the database in between. A cache
 * kept from write transaction g is still exact in transaction g + 1 (nothing else wrote).
 * 0 for a read transaction. */
uint64_t pay_store_tx_generation(const struct pay_store_tx *tx);

/* --- queries ----------------------------------------------------------------------------- */

/* Prepares sql (from the connection's statement cache) and binds its parameters from the
 * varargs as described by `types`, one letter per parameter $1, $2, ...:
 *   'i' int64_t, 't' const char * (NULL binds NULL), 'b' const void *, size_t (blob),
 *   'n' no argument: NULL.
 * Text and blobs are copied. Returns the statement, or NULL with *err filled. Step it with
 * pay_store_step() and give it back with pay_store_done() (always, also after an error). */
struct pay_store_stmt *pay_store_query(struct pay_store_tx *tx, struct pay_error *err,
                                       const char *sql, const char *types, ...);

/* Runs a statement that returns no rows (or whose rows are ignored). Returns PAY_ERR_OK,
 * DB_CONSTRAINT (unique, check, foreign key, not null), DB_BUSY, a storage failure (DB_FULL,
 * DB_UNAVAILABLE, DB_IO: see pay_store_failure) or INTERNAL. */
enum pay_err pay_store_exec(struct pay_store_tx *tx, struct pay_error *err, const char *sql,
                            const char *types, ...);

/* pay_store_exec for a statement whose answer the caller does not need before going on (an
 * INSERT or UPDATE with no RETURNING it reads, whose pay_store_changes it does not look at,
 * and whose only possible failure it would return at once as the body's error). On SQLite it
 * runs at once, exactly as pay_store_exec. In a PostgreSQL write transaction it is queued
 * (libpq's pipeline mode) and goes to the server with the next statement that needs an answer;
 * its answer is collected then, or at the latest by pay_store_settle, which the committer calls
 * after every command and pay_store_run_tx after the body (docs/store.md, "Round trips on
 * PostgreSQL"). Its failure is the failure of the body that sent it, whatever the body returned:
 * the command (the transaction) is rolled back and its caller hears that statement's code and
 * detail. Until then a later statement of the body may fail with that error instead of its own
 * (it did not run). OK, or an error at once (as pay_store_exec) when it could not be queued. */
enum pay_err pay_store_exec_deferred(struct pay_store_tx *tx, struct pay_error *err,
                                     const char *sql, const char *types, ...);

/* For whatever runs a body (pay_store_run_tx, the committer), after it returned `body`: collects
 * the answers of every statement it queued with pay_store_exec_deferred (one round trip when any
 * is queued; nothing on SQLite, where they ran at once). Returns body, or the code of the first
 * queued statement that failed (*err filled), also when a later statement already reported it:
 * then the body has failed, whatever it returned, and its level must be rolled back (a
 * pay_store_keep of the level is forgotten). A retryable code or a storage failure is returned
 * as it is (the transaction is lost anyway). */
enum pay_err pay_store_settle(struct pay_store_tx *tx, enum pay_err body, struct pay_error *err);

/* Returns 1 when a row is ready, 0 when done, -1 on error (*err filled; code as above). */
int pay_store_step(struct pay_store_stmt *st, struct pay_error *err);

/* Columns of the current row, 0-based. Text and blob pointers stay valid until the next
 * step or done; NULL text reads as NULL, NULL integers as 0. */
int64_t pay_store_col_int64(struct pay_store_stmt *st, int col);
const char *pay_store_col_text(struct pay_store_stmt *st, int col);
/* Copies a text column into dst (size bytes, always NUL-terminated; NULL reads as "").
 * Returns false when the text did not fit and was cut. */
bool pay_store_col_copy(struct pay_store_stmt *st, int col, char *dst, size_t size);
const void *pay_store_col_blob(struct pay_store_stmt *st, int col, size_t *len);
bool pay_store_col_is_null(struct pay_store_stmt *st, int col);

/* Resets the statement and returns it to the cache. st may be NULL. */
void pay_store_done(struct pay_store_stmt *st);

/* Rows changed by the last INSERT/UPDATE/DELETE on the transaction's connection. (A new
 * row's generated key: INSERT ... RETURNING, which both backends run.) Not after
 * pay_store_exec_deferred (an assertion): its answer may not be there yet. */
int64_t pay_store_changes(struct pay_store_tx *tx);

/* The row id of the newest row an INSERT added on the transaction's connection (after an
 * INSERT whose pay_store_changes is 1): true on SQLite, false on PostgreSQL (use RETURNING).
 * For hot inserts: SQLite runs INSERT ... RETURNING through a temporary table opened and
 * closed for every execution (measured: a fifth of the ledger's transfer insert). */
bool pay_store_last_insert_rid(struct pay_store_tx *tx, int64_t *rid);

/* Counters for tests and the bench (summed over connections). */
struct pay_store_stats {
    uint64_t prepares;   /* statements compiled */
    uint64_t cache_hits; /* statements reused from the cache */
    uint64_t commits;    /* write transactions committed */
    uint64_t retries;    /* write transaction attempts retried (a retryable code or busy) */
    uint64_t reopens;    /* connections reopened after a storage failure */
};
void pay_store_get_stats(struct pay_store *s, struct pay_store_stats *out);

#endif
