/* The PostgreSQL backend of the store (libpq): one server connection per store connection,
 * statements prepared once per connection (PQprepare on first use, kept by store.c's cache),
 * parameters sent as text (blobs as binary bytea), results read as text.
 *
 * Write transactions: READ COMMITTED, and their first statement (store.c's data_version_sql)
 * bumps the one row of store_generation. That row lock serialises every paygate writer on the
 * database, in this process or another, as SQLite's BEGIN IMMEDIATE does, so a body sees
 * nothing change under it; and the counter tells store.c exactly whether anyone else wrote
 * since this connection's last write transaction (the ledger's account cache depends on it).
 * Several writer processes per database (later) need finer locks instead: docs/store.md.
 *
 * Errors by SQLSTATE: class 23 → DB_CONSTRAINT; serialisation failure, deadlock, lock timeout
 * → DB_BUSY (the store retries); disk full → DB_FULL; other resources (class 53), I/O errors
 * (58) and a read-only server (25006: a standby) → DB_UNAVAILABLE; a lost connection → DB_BUSY
 * while no COMMIT was sent (the server rolled the transaction back; the retry reconnects), and
 * after a COMMIT whose answer was lost the backend reconnects and asks the server (pg_xact_status)
 * whether that transaction committed: OK, DB_BUSY (aborted: safe to retry), or DB_UNREACHABLE
 * when it cannot tell — never a blind retry that could apply a batch twice. A server that cannot
 * be reached (stopped, restarting, failing over to a standby) is DB_UNREACHABLE (503): the
 * connection is made again at the next transaction.
 *
 * Deferred statements: on PostgreSQL every statement is a client-server round trip, and the
 * committer's batch is one chain of them under the writer lock. Statements whose answer nobody
 * reads — a read transaction's BEGIN and the savepoints (SAVEPOINT, RELEASE, ROLLBACK TO) — are
 * held and sent with the next statement in one round trip (libpq's pipeline mode), the first
 * failure among them being that statement's error (those after it do not run: the transaction
 * is failed, and its COMMIT cannot succeed). A write transaction's COMMIT sends what is still
 * held first and waits as before; a read transaction's COMMIT is sent without waiting for its
 * answer (a read-only transaction has nothing to make durable), which is read before the
 * connection's next use.
 *
 * Queued statements (pay_store_exec_deferred, store.h): a write transaction's statements whose
 * answer the caller does not need now go into libpq's pipeline without a sync point, behind
 * what is held, and their answers are read with the next statement that needs one (one round
 * trip), by pg_settle (store.c: when a level ends or opens, after a body) or with the COMMIT.
 * The first failure among them is kept (deferred_failed) for store.c to make the failure of
 * the body that sent them (docs/store.md, "Round trips on PostgreSQL"). */
#include "store/store_backend.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OID_BYTEA 17
#define OID_INT8  20
#define OID_TEXT  25

struct pg_conn {
    PGconn *pg;
    bool writer, no_sync;
    int lock_timeout_ms;
    uint64_t epoch;     /* +1 per (re)connection: statements prepared before are gone */
    uint64_t next_name; /* server-side statement names pay_1, pay_2, ... */
    int64_t changes;    /* rows changed by the last statement */
    char xact_id[24];   /* the open write transaction's id, "" when unknown */
    /* The server's WAL timeline, read at each (re)connection ("" on a standby): a promoted
     * standby writes on a new one. A transaction id names one transaction on one timeline. */
    char timeline[12], xact_timeline[12];
    /* Deferred statements (above), in order; begin_held: the first is a read transaction's
     * BEGIN, so nothing of the transaction reached the server yet. */
    char pending[PAY_STORE_PG_PENDING_MAX][PAY_STORE_PG_PENDING_SQL_MAX];
    int n_pending;
    bool begin_held;
    bool unread; /* a read transaction's COMMIT was sent; its answers are not read */
    /* Statements of a write transaction queued in libpq's pipeline whose answers are not read
     * yet (pay_store_exec_deferred, and the held statements that went before them): while
     * there are any, the connection is in pipeline mode and nothing is held in pending[]. */
    int queued;
    /* The first failure among queued or held statements since the last settle, to be the error
     * of the body that sent them (store.h, pay_store_exec_deferred); code OK: none. */
    struct pay_error deferred_failed;
    bool tx_read, tx_failed; /* the open transaction reads only; one of its statements failed */
};

struct pg_stmt {
    struct pg_conn *c;
    char *sql;
    char name[24];
    uint64_t epoch; /* of c when prepared; 0: not prepared yet */
    int n_params;   /* highest $N in sql */
    Oid types[PAY_STORE_PG_PARAMS_MAX];
    char *values[PAY_STORE_PG_PARAMS_MAX]; /* NULL: SQL NULL; heap copies (ints in num[]) */
    int lengths[PAY_STORE_PG_PARAMS_MAX], formats[PAY_STORE_PG_PARAMS_MAX];
    char num[PAY_STORE_PG_PARAMS_MAX][24];
    bool deferred; /* a savepoint statement: held for the next one (above) */
    PGresult *res;
    int row, rows;
    /* The bytea columns of the current row read so far, decoded (PQfreemem): each stays valid
     * until the next step or reset, as SQLite's column blobs do, so a row's blobs can be read
     * side by side. */
    unsigned char *blob[PAY_STORE_PG_BLOB_COLS];
};

static const char begin_write[] = "BEGIN ISOLATION LEVEL READ COMMITTED";
static const char begin_read[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
static const char generation_sql[] =
    "UPDATE store_generation SET generation = generation + 1 WHERE id = 1 RETURNING generation";

static bool sqlstate_is(const PGresult *r, const char *code, size_t n)
{
    const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return s && strncmp(s, code, n) == 0;
}

static bool conn_lost(const struct pg_conn *c, const PGresult *r)
{
    return PQstatus(c->pg) == CONNECTION_BAD || sqlstate_is(r, "08", 2) ||
           sqlstate_is(r, "57P0", 4); /* admin shutdown, crash shutdown, cannot connect now */
}

static enum pay_err map_state(const struct pg_conn *c, const PGresult *r)
{
    if (conn_lost(c, r))
        return PAY_ERR_DB_BUSY; /* nothing was committed: the retry reconnects */
    if (sqlstate_is(r, "23", 2))
        return PAY_ERR_DB_CONSTRAINT;
    if (sqlstate_is(r, "40001", 5) || sqlstate_is(r, "40P01", 5) || sqlstate_is(r, "55P03", 5))
        return PAY_ERR_DB_BUSY;
    /* the storage failures of docs/store.md, "When the disk fails": 503, retry later */
    if (sqlstate_is(r, "53100", 5))
        return PAY_ERR_DB_FULL; /* disk full */
    if (sqlstate_is(r, "53", 2) || sqlstate_is(r, "58", 2) || sqlstate_is(r, "25006", 5))
        return PAY_ERR_DB_UNAVAILABLE; /* out of resources, I/O error, a read-only server */
    return PAY_ERR_INTERNAL;
}

/* The primary message only: its DETAIL line may quote the values of a row. */
static enum pay_err fail(struct pg_conn *c, const PGresult *r, struct pay_error *err)
{
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg || !msg[0])
        msg = PQerrorMessage(c->pg);
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    size_t n = strcspn(msg, "\n");
    return pay_error_set(err, map_state(c, r), "", "postgresql: %.*s (%s)", (int)n, msg,
                         state ? state : "no sqlstate");
}

/* --- deferred statements (the file's comment) ---------------------------------------------- */

/* Reads the answers of one pipeline up to its sync point (or until the connection is gone). */
static void drain_to_sync(struct pg_conn *c)
{
    for (int nulls = 0; nulls < 2;) {
        PGresult *r = PQgetResult(c->pg);
        if (!r) {
            if (PQstatus(c->pg) == CONNECTION_BAD)
                return;
            nulls++; /* the end of one statement's answers; two in a row: nothing more */
            continue;
        }
        nulls = 0;
        ExecStatusType st = PQresultStatus(r);
        PQclear(r);
        if (st == PGRES_PIPELINE_SYNC)
            return;
    }
}

/* Before anything else goes out on c: the answers of a read transaction's COMMIT sent without
 * waiting (a COMMIT of a read-only transaction cannot lose anything, so they are only read). */
static void settle(struct pg_conn *c)
{
    if (!c->unread)
        return;
    c->unread = false;
    drain_to_sync(c);
    (void)PQexitPipelineMode(c->pg);
}

static void forget_pending(struct pg_conn *c)
{
    c->n_pending = 0;
    c->begin_held = false;
}

/* The transaction is being rolled back (or begins): what is held or queued belongs to the one
 * that ends, and so does a failure among it. Queued statements are ended by a sync point and
 * their answers read and dropped. */
static void forget_queued(struct pg_conn *c)
{
    forget_pending(c);
    c->deferred_failed = (struct pay_error){0};
    if (c->queued == 0)
        return;
    c->queued = 0;
    if (PQpipelineSync(c->pg) == 1)
        drain_to_sync(c);
    (void)PQexitPipelineMode(c->pg);
}

/* Queues the held statements (and then st's execution, unless NULL) and a sync point in
 * pipeline mode, and flushes them: one round trip. false when libpq refused (the connection
 * is gone); the caller reads the answers. */
static bool send_held(struct pg_conn *c, const struct pg_stmt *st, const char *then_sql)
{
    bool ok = PQenterPipelineMode(c->pg) == 1;
    for (int i = 0; ok && i < c->n_pending; i++)
        ok = PQsendQueryParams(c->pg, c->pending[i], 0, NULL, NULL, NULL, NULL, 0) == 1;
    if (ok && st)
        ok = PQsendQueryPrepared(c->pg, st->name, st->n_params, (const char *const *)st->values,
                                 st->lengths, st->formats, 0) == 1;
    if (ok && then_sql)
        ok = PQsendQueryParams(c->pg, then_sql, 0, NULL, NULL, NULL, NULL, 0) == 1;
    return PQpipelineSync(c->pg) == 1 && ok;
}

/* Sends the held statements, then st (NULL: none), in one round trip and reads the answers: the
 * first failure is the error (those after it did not run); st's result goes to *res. */
static enum pay_err flush_with(struct pg_conn *c, const struct pg_stmt *st, PGresult **res,
                               struct pay_error *err)
{
    int before = c->queued + c->n_pending, n = before + (st ? 1 : 0);
    bool sent = send_held(c, st, NULL);
    forget_pending(c);
    c->queued = 0;
    enum pay_err e = sent ? PAY_ERR_OK : fail(c, NULL, err);
    for (int q = 0; sent && q < n; q++) {
        PGresult *r = PQgetResult(c->pg);
        if (!r) { /* the connection broke */
            e = e != PAY_ERR_OK ? e : fail(c, NULL, err);
            break;
        }
        ExecStatusType s = PQresultStatus(r);
        bool ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
        if (!ok && e == PAY_ERR_OK) {
            e = fail(c, r, err);
            if (q < before && c->deferred_failed.code == PAY_ERR_OK)
                c->deferred_failed = *err; /* the body that sent it has failed */
        }
        if (ok && st && q == n - 1)
            *res = r;
        else
            PQclear(r);
        PQclear(PQgetResult(c->pg)); /* NULL: the end of this statement's answers */
    }
    drain_to_sync(c);
    (void)PQexitPipelineMode(c->pg);
    if (e != PAY_ERR_OK)
        c->tx_failed = true;
    return e;
}

/* Queues what is held in pipeline mode: from here on, held statements are queued too. */
static bool queue_pending(struct pg_conn *c)
{
    bool ok = PQenterPipelineMode(c->pg) == 1;
    for (int i = 0; ok && i < c->n_pending; i++)
        ok = PQsendQueryParams(c->pg, c->pending[i], 0, NULL, NULL, NULL, NULL, 0) == 1;
    c->queued += ok ? c->n_pending : 0;
    forget_pending(c);
    return ok;
}

/* Collects every queued answer when the queue is full (PAY_STORE_PG_QUEUED_MAX). */
static enum pay_err make_room(struct pg_conn *c, struct pay_error *err)
{
    return c->queued + c->n_pending < PAY_STORE_PG_QUEUED_MAX ? PAY_ERR_OK
                                                              : flush_with(c, NULL, NULL, err);
}

/* Queues sql (no parameters) behind the queued statements. */
static enum pay_err queue_sql(struct pg_conn *c, const char *sql, struct pay_error *err)
{
    enum pay_err e = make_room(c, err);
    if (e != PAY_ERR_OK)
        return e;
    if (!queue_pending(c) || PQsendQueryParams(c->pg, sql, 0, NULL, NULL, NULL, NULL, 0) != 1) {
        c->tx_failed = true;
        return fail(c, NULL, err);
    }
    c->queued++;
    return PAY_ERR_OK;
}

/* Holds sql (no parameters) for the next statement; sends what is held first when full. */
static enum pay_err hold(struct pg_conn *c, const char *sql, struct pay_error *err)
{
    PAY_ASSERT(strlen(sql) < PAY_STORE_PG_PENDING_SQL_MAX);
    if (c->queued > 0) /* behind the queued statements, in order */
        return queue_sql(c, sql, err);
    if (c->n_pending == PAY_STORE_PG_PENDING_MAX) {
        enum pay_err e = flush_with(c, NULL, NULL, err);
        if (e != PAY_ERR_OK)
            return e;
    }
    (void)pay_str_copy(c->pending[c->n_pending++], PAY_STORE_PG_PENDING_SQL_MAX, sql);
    return PAY_ERR_OK;
}

/* Runs sql (one or more statements, no parameters) and keeps the last result for the caller
 * when want is non-NULL (else clears it). What is held goes first. */
static enum pay_err run(struct pg_conn *c, const char *sql, PGresult **want, struct pay_error *err)
{
    settle(c);
    if (c->n_pending > 0 || c->queued > 0) {
        enum pay_err e = flush_with(c, NULL, NULL, err);
        if (e != PAY_ERR_OK)
            return e;
    }
    PGresult *r = PQexec(c->pg, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        enum pay_err e = fail(c, r, err);
        PQclear(r);
        return e;
    }
    if (want)
        *want = r;
    else
        PQclear(r);
    return PAY_ERR_OK;
}

static enum pay_err setting(struct pg_conn *c, const char *name, char *out, size_t n,
                            struct pay_error *err)
{
    char sql[80];
    snprintf(sql, sizeof sql, "SELECT current_setting('%s')", name);
    PGresult *r = NULL;
    enum pay_err e = run(c, sql, &r, err);
    if (e == PAY_ERR_OK)
        (void)pay_str_copy(out, n, PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return e;
}

/* What every session needs: a server new enough, UTF-8, durable commits, our lock timeout.
 * The store refuses a server that runs with fsync off (nothing it acknowledges would be
 * durable) and never accepts less than synchronous_commit=local (on unless the operator set
 * something stronger, such as remote_apply for a synchronous standby). */
static enum pay_err session_setup(struct pg_conn *c, struct pay_error *err)
{
    if (PQserverVersion(c->pg) < 130000)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "database",
                             "PostgreSQL %d is too old: paygate needs 13 or newer",
                             PQserverVersion(c->pg) / 10000);
    char v[64];
    enum pay_err e = setting(c, "server_encoding", v, sizeof v, err);
    if (e == PAY_ERR_OK && strcmp(v, "UTF8") != 0)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "database",
                             "the database's encoding is %s; create it with ENCODING 'UTF8'", v);
    if (e == PAY_ERR_OK)
        e = setting(c, "fsync", v, sizeof v, err);
    if (e == PAY_ERR_OK && strcmp(v, "on") != 0)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "database",
                             "the PostgreSQL server runs with fsync=%s: commits would not be"
                             " durable",
                             v);
    if (e == PAY_ERR_OK)
        e = setting(c, "synchronous_commit", v, sizeof v, err);
    if (e != PAY_ERR_OK)
        return e;
    bool weak = strcmp(v, "off") == 0;
    char sql[200];
    snprintf(sql, sizeof sql, "SET lock_timeout = %d;%s", c->lock_timeout_ms,
             c->no_sync ? " SET synchronous_commit = off;"
             : weak     ? " SET synchronous_commit = on;"
                        : "");
    return run(c, sql, NULL, err);
}

/* The row whose lock serialises writers and whose counter numbers write transactions; made
 * once, under an advisory lock so that two processes starting together do not race. */
static enum pay_err generation_setup(struct pg_conn *c, struct pay_error *err)
{
    return run(c,
               "BEGIN; SELECT pg_advisory_xact_lock(8245917001);"
               "CREATE TABLE IF NOT EXISTS store_generation (id INTEGER PRIMARY KEY"
               " CHECK (id = 1), generation BIGINT NOT NULL);"
               "INSERT INTO store_generation VALUES (1, 0) ON CONFLICT (id) DO NOTHING; COMMIT",
               NULL, err);
}

/* Server notices ("relation already exists, skipping", "no transaction in progress") are
 * expected chatter; errors come back as results. */
static void ignore_notice(void *arg, const PGresult *r)
{
    (void)arg;
    (void)r;
}

/* Text sorts by the database's collation on PostgreSQL, by bytes on SQLite: lists ordered by
 * an id would differ (and a linguistic collation changes with the C library). Said once. */
static void warn_collation(struct pg_conn *c)
{
    PGresult *r = PQexec(c->pg, "SELECT datcollate FROM pg_database"
                                " WHERE datname = current_database()");
    const char *v =
        PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "C";
    if (strcmp(v, "C") != 0 && strcmp(v, "POSIX") != 0)
        PAY_WARN("store.collation",
                 "collation=%s detail=\"create the database with LC_COLLATE 'C' (docs/store.md)\"",
                 v);
    PQclear(r);
}

/* The connection could not be made (what: "" or "reconnect: "): the server is down, restarting
 * or failing over, and a later try may reach it (or its successor). libpq's message names the
 * host and the user, never the password. */
static enum pay_err conn_failed(struct pg_conn *c, const char *what, struct pay_error *err)
{
    const char *msg = PQerrorMessage(c->pg);
    return pay_error_set(err, PAY_ERR_DB_UNREACHABLE, "database", "postgresql: %s%.*s", what,
                         (int)strcspn(msg, "\n"), msg);
}

/* The timeline the server writes its WAL on (the first 8 hex digits of its current WAL file's
 * name), "" on a standby; into c->timeline. */
static enum pay_err read_timeline(struct pg_conn *c, struct pay_error *err)
{
    PGresult *r = NULL;
    enum pay_err e = run(c,
                         "SELECT CASE WHEN pg_is_in_recovery() THEN '' ELSE"
                         " substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) END",
                         &r, err);
    if (e == PAY_ERR_OK)
        (void)pay_str_copy(c->timeline, sizeof c->timeline,
                           PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return e;
}

static enum pay_err connect_to(struct pg_conn *c, const char *url, struct pay_error *err)
{
    /* Before dbname: defaults the URL may override; after it: what the store relies on. */
    const char *const keys[] = {"application_name", "connect_timeout", "dbname", "client_encoding",
                                NULL};
    const char *const vals[] = {"paygate", "10", url, "UTF8", NULL};
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (!c->pg)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    PQsetNoticeReceiver(c->pg, ignore_notice, NULL);
    if (PQstatus(c->pg) != CONNECTION_OK)
        return conn_failed(c, "", err);
    c->epoch++;
    enum pay_err e = session_setup(c, err);
    return e == PAY_ERR_OK && c->writer ? read_timeline(c, err) : e;
}

static void pg_conn_close(void *conn)
{
    struct pg_conn *c = conn;
    if (!c)
        return;
    PQfinish(c->pg);
    free(c);
}

static enum pay_err pg_conn_open(const char *path, bool writer, int busy_timeout_ms, bool no_sync,
                                 void **conn, struct pay_error *err)
{
    struct pg_conn *c = calloc(1, sizeof *c);
    if (!c)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    c->writer = writer;
    c->no_sync = no_sync;
    c->lock_timeout_ms = busy_timeout_ms;
    enum pay_err e = connect_to(c, path, err);
    if (e == PAY_ERR_OK && writer)
        e = generation_setup(c, err);
    if (e == PAY_ERR_OK && writer)
        warn_collation(c);
    if (e != PAY_ERR_OK) {
        pg_conn_close(c);
        return e;
    }
    *conn = c;
    return PAY_ERR_OK;
}

/* A connection that broke between transactions is made again (a server restart or, later, a
 * failover); its prepared statements are gone, so every statement prepares again (epoch). */
static enum pay_err reconnect(struct pg_conn *c, struct pay_error *err)
{
    /* they belonged to the transaction the broken session rolled back */
    forget_pending(c);
    c->queued = 0;
    c->deferred_failed = (struct pay_error){0};
    c->unread = false;
    PQreset(c->pg);
    if (PQstatus(c->pg) != CONNECTION_OK)
        return conn_failed(c, "reconnect: ", err);
    c->epoch++;
    enum pay_err e = session_setup(c, err);
    return e == PAY_ERR_OK && c->writer ? read_timeline(c, err) : e;
}

static enum pay_err begin(struct pg_conn *c, const char *sql, struct pay_error *err)
{
    settle(c);
    forget_queued(c);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        enum pay_err e = reconnect(c, err);
        if (e != PAY_ERR_OK)
            return e;
    }
    c->xact_id[0] = '\0';
    (void)pay_str_copy(c->xact_timeline, sizeof c->xact_timeline, c->timeline);
    c->tx_read = sql != begin_write;
    c->tx_failed = false;
    if (c->tx_read) { /* goes with the first statement (the file's comment) */
        c->begin_held = true;
        return hold(c, sql, err);
    }
    /* The id lets a COMMIT whose answer was lost be resolved (commit_resolve). */
    PGresult *r = NULL;
    enum pay_err e =
        run(c, "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_current_xact_id()", &r, err);
    if (e == PAY_ERR_OK && PQntuples(r) == 1)
        (void)pay_str_copy(c->xact_id, sizeof c->xact_id, PQgetvalue(r, 0, 0));
    PQclear(r);
    return e;
}

/* What pg_xact_status says of transaction xid on a server whose timeline is not the one the
 * transaction began on (a standby promoted meanwhile). The new primary holds what the old one
 * had replicated to it. If that included our transaction, its status is ours; if not, the new
 * primary never heard of it, and may already have given the same id to a transaction of its
 * own: then "committed" could be someone else's. So only a status that says ours is not there
 * is trusted: an id in its future (22023), aborted, or in progress (ours cannot be: its
 * session died with the old primary). */
static const char *promoted_status(const char *status, const PGresult *r)
{
    if (sqlstate_is(r, "22023", 5) || strcmp(status, "aborted") == 0 ||
        strcmp(status, "in progress") == 0)
        return "aborted";
    return ""; /* "committed", or no answer: unknown */
}

/* The COMMIT of transaction c->xact_id got no answer. Ask a new session what became of it;
 * a transaction the server is still finishing reads "in progress" for a moment. */
static enum pay_err commit_resolve(struct pg_conn *c, struct pay_error *err)
{
    char xid[24], lost[200], began_on[12];
    (void)pay_str_copy(xid, sizeof xid, c->xact_id);
    (void)pay_str_copy(lost, sizeof lost, err->detail);
    (void)pay_str_copy(began_on, sizeof began_on, c->xact_timeline);
    const char *s = "";
    PGresult *r = NULL;
    for (int i = 0; xid[0] && i < 50 && reconnect(c, err) == PAY_ERR_OK; i++) {
        const char *vals[] = {xid};
        PQclear(r);
        r = PQexecParams(c->pg, "SELECT pg_xact_status($1::xid8)", 1, NULL, vals, NULL, NULL, 0);
        bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
        s = ok && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "";
        if (!began_on[0] || strcmp(began_on, c->timeline) != 0) {
            s = promoted_status(s, r);
            break;
        }
        if (strcmp(s, "in progress") != 0)
            break;
        nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
    }
    enum pay_err e = PAY_ERR_OK;
    if (strcmp(s, "aborted") == 0)
        e = pay_error_set(err, PAY_ERR_DB_BUSY, "",
                          "postgresql: connection lost at COMMIT; transaction %s rolled back", xid);
    else if (strcmp(s, "committed") != 0)
        e = pay_error_set(err, PAY_ERR_DB_UNREACHABLE, "",
                          "postgresql: connection lost at COMMIT of transaction %s; whether it"
                          " committed is unknown (%s)",
                          xid[0] ? xid : "(no id)", lost);
    PQclear(r);
    return e;
}

/* A read transaction's COMMIT, sent without waiting (the file's comment): its answers are read
 * by settle before the connection's next use. A transaction none of whose statements was sent
 * has nothing to end. */
static enum pay_err commit_read(struct pg_conn *c)
{
    if (c->begin_held) {
        forget_pending(c);
        return PAY_ERR_OK;
    }
    c->unread = true;
    (void)send_held(c, NULL, "COMMIT"); /* refused: the connection broke; settle reads nothing */
    forget_pending(c);
    return PAY_ERR_OK;
}

/* A write transaction's COMMIT behind queued statements (the ledger's account updates, queued by
 * its before_commit): all in one round trip. After a failure among them the pipeline skips the
 * rest, the COMMIT too, so the transaction commits only when every one succeeded; when the
 * connection breaks on the way, whether it committed is asked as for any lost COMMIT. */
static enum pay_err commit_queued(struct pg_conn *c, struct pay_error *err)
{
    int before = c->queued + c->n_pending;
    bool sent = send_held(c, NULL, "COMMIT"), lost = !sent, committed = false;
    forget_pending(c);
    c->queued = 0;
    enum pay_err e = PAY_ERR_OK;
    for (int q = 0; sent && q <= before; q++) {
        PGresult *r = PQgetResult(c->pg);
        if (!r) {
            lost = true;
            break;
        }
        ExecStatusType s = PQresultStatus(r);
        bool ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
        if (ok && q == before)
            committed = strcmp(PQcmdStatus(r), "COMMIT") == 0;
        if (!ok && e == PAY_ERR_OK) {
            lost = conn_lost(c, r);
            e = fail(c, r, err);
        }
        PQclear(r);
        PQclear(PQgetResult(c->pg)); /* NULL: the end of this statement's answers */
    }
    drain_to_sync(c);
    (void)PQexitPipelineMode(c->pg);
    if (lost) {
        if (e == PAY_ERR_OK)
            e = fail(c, NULL, err);
        return c->writer ? commit_resolve(c, err) : e;
    }
    if (e != PAY_ERR_OK)
        return e;   /* a queued statement failed: the COMMIT did not run */
    if (!committed) /* a COMMIT of a transaction that had failed answers ROLLBACK */
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "postgresql: COMMIT rolled back");
    return PAY_ERR_OK;
}

static enum pay_err commit(struct pg_conn *c, struct pay_error *err)
{
    if (c->tx_read && !c->tx_failed)
        return commit_read(c);
    settle(c);
    if (c->queued > 0)
        return commit_queued(c, err);
    if (c->n_pending > 0) {
        /* nothing reached the server: no statement ran, so there is nothing to commit */
        if (c->begin_held) {
            forget_pending(c);
            return PAY_ERR_OK;
        }
        /* the held statements first; a failure means no COMMIT was sent (DB_BUSY when the
         * connection broke: the server rolled back, the retry is safe) */
        enum pay_err e = flush_with(c, NULL, NULL, err);
        if (e != PAY_ERR_OK)
            return e;
    }
    PGresult *r = PQexec(c->pg, "COMMIT");
    ExecStatusType st = PQresultStatus(r);
    enum pay_err e = PAY_ERR_OK;
    if (st != PGRES_COMMAND_OK) {
        bool lost = conn_lost(c, r);
        e = fail(c, r, err);
        PQclear(r);
        return lost && c->writer ? commit_resolve(c, err) : e;
    }
    /* A COMMIT of a transaction that had failed answers ROLLBACK: not a commit. */
    if (strcmp(PQcmdStatus(r), "COMMIT") != 0)
        e = pay_error_set(err, PAY_ERR_INTERNAL, "", "postgresql: COMMIT rolled back");
    PQclear(r);
    return e;
}

static enum pay_err pg_exec_script(void *conn, const char *sql, struct pay_error *err)
{
    struct pg_conn *c = conn;
    if (sql == begin_write || sql == begin_read)
        return begin(c, sql, err);
    if (strcmp(sql, "COMMIT") == 0)
        return commit(c, err);
    if (strcmp(sql, "ROLLBACK") == 0) {
        bool nothing_sent = c->begin_held;
        forget_queued(c); /* what is held belongs to the transaction being ended */
        if (nothing_sent || PQstatus(c->pg) != CONNECTION_OK)
            return PAY_ERR_OK; /* nothing to end, or the server rolled back as it broke */
    }
    return run(c, sql, NULL, err);
}

/* --- statements --------------------------------------------------------------------------- */

/* The highest $N in sql outside quotes and comments. */
static int count_params(const char *s)
{
    int max = 0;
    while (*s) {
        if (*s == '\'' || *s == '"') {
            char q = *s++;
            while (*s && *s != q)
                s++;
            s += *s ? 1 : 0;
        } else if (s[0] == '-' && s[1] == '-') {
            s += strcspn(s, "\n");
        } else if (*s == '$' && s[1] >= '0' && s[1] <= '9') {
            int n = 0;
            for (s++; *s >= '0' && *s <= '9' && n < 10000; s++)
                n = n * 10 + (*s - '0');
            max = n > max ? n : max;
        } else {
            s++;
        }
    }
    return max;
}

static void *pg_prepare(void *conn, const char *sql, struct pay_error *err)
{
    struct pg_stmt *st = calloc(1, sizeof *st);
    if (st)
        st->sql = strdup(sql);
    if (!st || !st->sql) {
        free(st);
        pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
        return NULL;
    }
    st->c = conn;
    st->n_params = count_params(sql);
    if (st->n_params > PAY_STORE_PG_PARAMS_MAX) {
        free(st->sql);
        free(st);
        pay_error_set(err, PAY_ERR_INTERNAL, "", "more than %d parameters in: %.80s",
                      PAY_STORE_PG_PARAMS_MAX, sql);
        return NULL;
    }
    st->row = -1;
    st->deferred =
        st->n_params == 0 && strlen(sql) < PAY_STORE_PG_PENDING_SQL_MAX &&
        (strncmp(sql, "SAVEPOINT ", 10) == 0 || strncmp(sql, "RELEASE SAVEPOINT ", 18) == 0 ||
         strncmp(sql, "ROLLBACK TO SAVEPOINT ", 22) == 0);
    return st;
}

static void clear_params(struct pg_stmt *st)
{
    for (int i = 0; i < st->n_params; i++) {
        if (st->values[i] && st->values[i] != st->num[i])
            free(st->values[i]);
        st->values[i] = NULL;
    }
}

static void free_blobs(struct pg_stmt *st)
{
    for (int i = 0; i < PAY_STORE_PG_BLOB_COLS; i++) {
        PQfreemem(st->blob[i]);
        st->blob[i] = NULL;
    }
}

static void pg_reset(void *stmt)
{
    struct pg_stmt *st = stmt;
    PQclear(st->res);
    st->res = NULL;
    st->row = -1;
    st->rows = 0;
    free_blobs(st);
    clear_params(st);
}

static void pg_finalize(void *stmt)
{
    struct pg_stmt *st = stmt;
    if (!st)
        return;
    pg_reset(st);
    settle(st->c);
    /* Queued statements first (one may be st's execution): their failure is kept for the body's
     * settle; DEALLOCATE cannot go in the pipeline's middle. */
    if (st->c->queued > 0) {
        struct pay_error ignored;
        (void)flush_with(st->c, NULL, NULL, &ignored);
    }
    /* The server keeps a prepared statement until the session ends; drop an evicted one. */
    if (st->epoch == st->c->epoch && PQstatus(st->c->pg) == CONNECTION_OK &&
        PQtransactionStatus(st->c->pg) != PQTRANS_INERROR) {
        char sql[40];
        snprintf(sql, sizeof sql, "DEALLOCATE %s", st->name);
        PQclear(PQexec(st->c->pg, sql));
    }
    free(st->sql);
    free(st);
}

static int pg_param_slot(void *stmt, int n)
{
    (void)stmt;
    return n;
}

static bool pg_params_in_order(void *stmt)
{
    (void)stmt;
    return true; /* $N is native */
}

static bool param_ok(const struct pg_stmt *st, int idx)
{
    return idx >= 1 && idx <= st->n_params;
}

/* v: NULL for SQL NULL, st->num[idx - 1], or a heap copy (owned by st from here on). */
static void set_param(struct pg_stmt *st, int idx, Oid type, char *v, int len, int fmt)
{
    int i = idx - 1;
    if (st->values[i] && st->values[i] != st->num[i])
        free(st->values[i]);
    /* The type only steers the server's inference when the statement is prepared; a NULL or
     * a text ("unknown") keeps what an earlier binding said. */
    if (type)
        st->types[i] = type;
    st->values[i] = v;
    st->lengths[i] = len;
    st->formats[i] = fmt;
}

static enum pay_err pg_bind_int64(void *stmt, int idx, int64_t v)
{
    struct pg_stmt *st = stmt;
    if (!param_ok(st, idx))
        return PAY_ERR_INTERNAL;
    snprintf(st->num[idx - 1], sizeof st->num[idx - 1], "%lld", (long long)v);
    set_param(st, idx, OID_INT8, st->num[idx - 1], 0, 0);
    return PAY_ERR_OK;
}

static enum pay_err pg_bind_text(void *stmt, int idx, const char *s)
{
    struct pg_stmt *st = stmt;
    char *copy = s ? strdup(s) : NULL;
    if (!param_ok(st, idx) || (s && !copy)) {
        free(copy);
        return PAY_ERR_INTERNAL;
    }
    set_param(st, idx, 0, copy, 0, 0);
    return PAY_ERR_OK;
}

static enum pay_err pg_bind_blob(void *stmt, int idx, const void *p, size_t n)
{
    struct pg_stmt *st = stmt;
    if (!param_ok(st, idx) || n > INT32_MAX)
        return PAY_ERR_INTERNAL;
    char *copy = malloc(n ? n : 1);
    if (!copy)
        return PAY_ERR_INTERNAL;
    if (n)
        memcpy(copy, p, n);
    set_param(st, idx, OID_BYTEA, copy, (int)n, 1);
    return PAY_ERR_OK;
}

static enum pay_err pg_bind_null(void *stmt, int idx)
{
    struct pg_stmt *st = stmt;
    if (!param_ok(st, idx))
        return PAY_ERR_INTERNAL;
    set_param(st, idx, 0, NULL, 0, 0);
    return PAY_ERR_OK;
}

/* Prepares st on its connection (again after a reconnection). A text parameter is sent as
 * "unknown" so the server infers its type from where it stands; where nothing tells (a bare
 * `SELECT $1`), it is prepared again as text. */
static enum pay_err ensure_prepared(struct pg_stmt *st, struct pay_error *err)
{
    struct pg_conn *c = st->c;
    if (st->epoch == c->epoch)
        return PAY_ERR_OK;
    snprintf(st->name, sizeof st->name, "pay_%llu", (unsigned long long)++c->next_name);
    /* A failed prepare would fail the transaction: inside one, it runs in a savepoint (once
     * per statement and connection, so the round trips do not matter). */
    bool in_tx = PQtransactionStatus(c->pg) == PQTRANS_INTRANS;
    struct pay_error ignored;
    if (in_tx && run(c, "SAVEPOINT pay_prepare", NULL, err) != PAY_ERR_OK)
        return err->code;
    PGresult *r = PQprepare(c->pg, st->name, st->sql, st->n_params, st->types);
    /* 42P18 indeterminate, 42P08 ambiguous parameter: the server found no type for one */
    if (PQresultStatus(r) != PGRES_COMMAND_OK &&
        (sqlstate_is(r, "42P18", 5) || sqlstate_is(r, "42P08", 5))) {
        PQclear(r);
        for (int i = 0; i < st->n_params; i++)
            st->types[i] = st->types[i] ? st->types[i] : OID_TEXT;
        r = NULL;
        if (!in_tx || run(c, "ROLLBACK TO SAVEPOINT pay_prepare", NULL, &ignored) == PAY_ERR_OK)
            r = PQprepare(c->pg, st->name, st->sql, st->n_params, st->types);
    }
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (in_tx && !ok)
        run(c, "ROLLBACK TO SAVEPOINT pay_prepare", NULL, &ignored);
    if (in_tx)
        run(c, "RELEASE SAVEPOINT pay_prepare", NULL, &ignored);
    if (!ok) {
        struct pay_error why = {0};
        enum pay_err e = fail(c, r, &why);
        PQclear(r);
        return pay_error_set(err, e, "", "%.200s in: %.100s", why.detail, st->sql);
    }
    PQclear(r);
    st->epoch = c->epoch;
    return PAY_ERR_OK;
}

static int pg_step(void *stmt, struct pay_error *err)
{
    struct pg_stmt *st = stmt;
    struct pg_conn *c = st->c;
    if (st->row < 0 && st->deferred) { /* held for the next statement (the file's comment) */
        c->changes = 0;
        if (hold(c, st->sql, err) != PAY_ERR_OK)
            return -1;
        st->row = st->rows = 0;
        return 0;
    }
    if (st->row < 0) {
        settle(c);
        /* a statement prepared now (once per connection) needs the held ones sent first */
        if (st->epoch != c->epoch && (c->n_pending > 0 || c->queued > 0) &&
            flush_with(c, NULL, NULL, err) != PAY_ERR_OK)
            return -1;
        if (ensure_prepared(st, err) != PAY_ERR_OK)
            return -1;
        if (c->n_pending > 0 || c->queued > 0) {
            if (flush_with(c, st, &st->res, err) != PAY_ERR_OK)
                return -1;
        } else {
            st->res = PQexecPrepared(c->pg, st->name, st->n_params, (const char *const *)st->values,
                                     st->lengths, st->formats, 0);
        }
        ExecStatusType s = PQresultStatus(st->res);
        if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
            fail(c, st->res, err);
            c->tx_failed = true;
            PQclear(st->res);
            st->res = NULL;
            return -1;
        }
        const char *n = PQcmdTuples(st->res);
        st->c->changes = n[0] ? strtoll(n, NULL, 10) : 0;
        st->rows = s == PGRES_TUPLES_OK ? PQntuples(st->res) : 0;
    }
    free_blobs(st); /* the previous row's */
    if (st->row + 1 >= st->rows) {
        st->row = st->rows; /* done; stays done until reset */
        return 0;
    }
    st->row++;
    return 1;
}

/* pay_store_exec_deferred (the file's comment): st's execution is queued behind what is held and
 * queued, without a sync point, and its answer read with the next statement that needs one, or
 * by pg_settle. A statement not prepared on this connection yet (once per connection), a
 * savepoint statement, or one outside a write transaction runs at once. */
static int pg_step_deferred(void *stmt, struct pay_error *err)
{
    struct pg_stmt *st = stmt;
    struct pg_conn *c = st->c;
    PAY_ASSERT(st->row < 0);
    if (!c->writer || c->tx_read || st->deferred || st->epoch != c->epoch) {
        int rc;
        while ((rc = pg_step(st, err)) == 1)
            ;
        return rc;
    }
    c->changes = 0;
    st->row = st->rows = 0; /* done: no rows to read */
    if (make_room(c, err) != PAY_ERR_OK)
        return -1;
    if (!queue_pending(c) ||
        PQsendQueryPrepared(c->pg, st->name, st->n_params, (const char *const *)st->values,
                            st->lengths, st->formats, 0) != 1) {
        fail(c, NULL, err);
        c->tx_failed = true;
        return -1;
    }
    c->queued++;
    return 0;
}

/* The body's statements are all sent: what is queued is sent with a sync point and its answers
 * read (one round trip); then the first failure since the last settle, if any, is the body's. */
static enum pay_err pg_settle(void *conn, struct pay_error *err)
{
    struct pg_conn *c = conn;
    struct pay_error why = {0};
    if (c->queued > 0 && flush_with(c, NULL, NULL, &why) != PAY_ERR_OK &&
        c->deferred_failed.code == PAY_ERR_OK)
        c->deferred_failed = why; /* the connection broke before an answer came */
    if (c->deferred_failed.code == PAY_ERR_OK)
        return PAY_ERR_OK;
    *err = c->deferred_failed;
    c->deferred_failed = (struct pay_error){0};
    return err->code;
}

static bool have_cell(const struct pg_stmt *st, int col)
{
    return st->res && st->row >= 0 && st->row < st->rows && col >= 0 && col < PQnfields(st->res);
}

static int64_t pg_col_int64(void *stmt, int col)
{
    struct pg_stmt *st = stmt;
    if (!have_cell(st, col) || PQgetisnull(st->res, st->row, col))
        return 0;
    const char *v = PQgetvalue(st->res, st->row, col);
    if (v[0] == 't' || v[0] == 'f') /* a boolean expression */
        return v[0] == 't';
    return strtoll(v, NULL, 10); /* bigint; numeric from sum() with no fraction */
}

static const char *pg_col_text(void *stmt, int col)
{
    struct pg_stmt *st = stmt;
    if (!have_cell(st, col) || PQgetisnull(st->res, st->row, col))
        return NULL;
    return PQgetvalue(st->res, st->row, col);
}

static const void *pg_col_blob(void *stmt, int col, size_t *len)
{
    struct pg_stmt *st = stmt;
    *len = 0;
    if (!have_cell(st, col) || PQgetisnull(st->res, st->row, col))
        return NULL;
    const char *v = PQgetvalue(st->res, st->row, col);
    if (PQftype(st->res, col) != OID_BYTEA) {
        *len = (size_t)PQgetlength(st->res, st->row, col);
        return v;
    }
    PAY_ASSERT(col < PAY_STORE_PG_BLOB_COLS);
    PQfreemem(st->blob[col]); /* read twice: decoded again */
    st->blob[col] = PQunescapeBytea((const unsigned char *)v, len);
    return st->blob[col];
}

static bool pg_col_is_null(void *stmt, int col)
{
    struct pg_stmt *st = stmt;
    return !have_cell(st, col) || PQgetisnull(st->res, st->row, col);
}

static int64_t pg_changes(void *conn)
{
    return ((struct pg_conn *)conn)->changes;
}

/* A seat's session lock (store_backend.h): taken with pg_try_advisory_lock, which never
 * waits; once held it lasts as long as the session, so holding it is checked by a round trip
 * on that session. A broken connection is made again only to try anew. */
static enum pay_err pg_seat_hold(void *conn, int64_t key, bool held, bool *now,
                                 struct pay_error *err)
{
    struct pg_conn *c = conn;
    *now = false;
    if (PQstatus(c->pg) != CONNECTION_OK) {
        if (held)
            return PAY_ERR_OK; /* the session, and the lock with it, is gone */
        enum pay_err e = reconnect(c, err);
        if (e != PAY_ERR_OK)
            return e;
    }
    char sql[96];
    if (held)
        snprintf(sql, sizeof sql, "SELECT 1");
    else
        snprintf(sql, sizeof sql, "SELECT CASE WHEN pg_try_advisory_lock(%lld) THEN 1 ELSE 0 END",
                 (long long)key);
    PGresult *r = NULL;
    enum pay_err e = run(c, sql, &r, err);
    if (e == PAY_ERR_OK)
        *now = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "1") == 0;
    PQclear(r);
    return e;
}

static void pg_seat_release(void *conn, int64_t key)
{
    struct pg_conn *c = conn;
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%lld)", (long long)key);
    struct pay_error err = {0};
    (void)run(c, sql, NULL, &err); /* failed: the session is gone, and the lock with it */
}

const struct pay_store_backend pay_store_pg_backend = {
    .name = "postgresql",
    .dialect = PAY_STORE_POSTGRESQL,
    .conn_open = pg_conn_open,
    .conn_close = pg_conn_close,
    .exec_script = pg_exec_script,
    .begin_write_sql = begin_write,
    .begin_read_sql = begin_read,
    .data_version_sql = generation_sql,
    .data_version_counts_writes = true,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .reset = pg_reset,
    .param_slot = pg_param_slot,
    .params_in_order = pg_params_in_order,
    .bind_int64 = pg_bind_int64,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .step_deferred = pg_step_deferred,
    .settle = pg_settle,
    .col_int64 = pg_col_int64,
    .col_text = pg_col_text,
    .col_blob = pg_col_blob,
    .col_is_null = pg_col_is_null,
    .changes = pg_changes,
    .seat_hold = pg_seat_hold,
    .seat_release = pg_seat_release,
};
