/* The SQLite backend of the store: one file (mode 0600, with its -wal and -shm), WAL,
 * synchronous=FULL, foreign keys on, a busy timeout. Maps SQLite's result codes onto paygate's:
 * BUSY/LOCKED → DB_BUSY (retry may help), CONSTRAINT → DB_CONSTRAINT, FULL → DB_FULL, IOERR →
 * DB_UNAVAILABLE (both 503: the disk may recover), a damaged or unopenable file → DB_IO, the
 * rest → INTERNAL. */
#include "store/store_backend.h"

#include "core/limits.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static enum pay_err map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return PAY_ERR_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return PAY_ERR_DB_BUSY;
    case SQLITE_CONSTRAINT:
        return PAY_ERR_DB_CONSTRAINT;
    case SQLITE_FULL:
        return PAY_ERR_DB_FULL;
    case SQLITE_IOERR:
        return PAY_ERR_DB_UNAVAILABLE;
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_READONLY:
        return PAY_ERR_DB_IO;
    default:
        return PAY_ERR_INTERNAL;
    }
}

static enum pay_err fail(sqlite3 *db, int rc, struct pay_error *err)
{
    return pay_error_set(err, map_rc(rc), "", "sqlite: %s (%d)",
                         db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
}

static enum pay_err sq_exec_script(void *conn, const char *sql, struct pay_error *err)
{
    int rc = sqlite3_exec(conn, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? PAY_ERR_OK : fail(conn, rc, err);
}

/* SQLite's memory statistics take a global mutex on every allocation (several per statement
 * step); nothing in paygate reads them. Only possible before SQLite initialises, so the first
 * store opened in a process decides; later calls are refused harmlessly. */
static void sq_once(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* The database, its WAL and its shared-memory index hold everything (money, hashes, sealed
 * secrets): only the owner may read or write them. The file is created 0600 before SQLite
 * opens it (SQLite gives -wal and -shm the mode of the database file), and a file an older
 * version made 0644 is narrowed, with its -wal and -shm.
 *
 * An existing file is never opened here: closing any descriptor of a file drops every POSIX
 * lock the process holds on it, and the store's other connections hold SQLite's shared lock on
 * the database while the writer is reopened after a storage failure. Without that lock another
 * process that closes the database takes it for the last user, checkpoints and deletes the WAL
 * under our feet: our later commits would go to an unlinked file. */
static enum pay_err private_files(const char *path, struct pay_error *err)
{
    if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return PAY_ERR_OK;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        int bad = fchmod(fd, 0600) != 0 ? errno : 0; /* whatever the umask took away */
        close(fd);
        if (bad)
            return pay_error_set(err, PAY_ERR_DB_IO, "", "cannot create %s with mode 0600: %s",
                                 path, strerror(bad));
    } else if (errno != EEXIST) {
        return pay_error_set(err, PAY_ERR_DB_IO, "", "cannot create %s with mode 0600: %s", path,
                             strerror(errno));
    }
    static const char *const files[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[4096];
        if (snprintf(p, sizeof p, "%s%s", path, files[i]) >= (int)sizeof p)
            return pay_error_set(err, PAY_ERR_DB_IO, "", "path too long");
        if (chmod(p, 0600) != 0 && (i == 0 || errno != ENOENT))
            return pay_error_set(err, PAY_ERR_DB_IO, "", "cannot chmod 0600 %s: %s", p,
                                 strerror(errno));
    }
    return PAY_ERR_OK;
}

static enum pay_err sq_conn_open(const char *path, bool writer, int busy_timeout_ms, bool no_sync,
                                 void **conn, struct pay_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sq_once);
    if (writer) {
        enum pay_err pe = private_files(path, err);
        if (pe != PAY_ERR_OK)
            return pe;
    }
    sqlite3 *db = NULL;
    /* We serialise use of each connection ourselves (one thread at a time). */
    int flags = SQLITE_OPEN_NOMUTEX |
                (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY);
    int rc = sqlite3_open_v2(path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        enum pay_err e = fail(db, rc, err);
        sqlite3_close(db);
        return e;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, busy_timeout_ms);
    const char *pragmas = writer ? (no_sync ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
                                              " PRAGMA foreign_keys=ON;"
                                            : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                              " PRAGMA foreign_keys=ON;")
                                 : "PRAGMA foreign_keys=ON;";
    /* A page cache big enough for the hot indexes (64 MiB writer, 16 MiB per reader):
     * SQLite's 2 MiB default makes every batch re-read b-tree pages from the OS. Checkpoint
     * every 8192 WAL pages (32 MiB at 4 KiB) instead of 1000: a ledger batch dirties more
     * than 1000 pages, so the default checkpointed (copy + two fsyncs) after every commit.
     * Temporary storage in memory: every savepoint (each committer command has one, an API
     * request a second) keeps the first image of each page it changes in a statement journal,
     * which is otherwise a temp file written with a pwrite per page (measured: ~40 KB per
     * payment, half the kernel's write work); it lives only until the transaction ends. */
    const char *cache = writer ? "PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=8192;"
                                 " PRAGMA temp_store=MEMORY;"
                               : "PRAGMA cache_size=-16384;";
    enum pay_err e = sq_exec_script(db, pragmas, err);
    if (e == PAY_ERR_OK)
        e = sq_exec_script(db, cache, err);
    if (e != PAY_ERR_OK) {
        sqlite3_close(db);
        return e;
    }
    *conn = db;
    return PAY_ERR_OK;
}

static void sq_conn_close(void *conn)
{
    sqlite3_close(conn);
}

static void *sq_prepare(void *conn, const char *sql, struct pay_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(conn, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        fail(conn, rc, err);
        return NULL;
    }
    return st;
}

static void sq_finalize(void *stmt)
{
    sqlite3_finalize(stmt);
}

static void sq_reset(void *stmt)
{
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

/* SQLite treats `$1` as a *named* parameter and numbers parameters in order of first
 * appearance, so "SET a = $2 WHERE id = $1" would bind backwards. Map our $N to SQLite's slot
 * by name ('?' style statements keep their position). */
static int sq_param_slot(void *stmt, int n)
{
    char name[16];
    snprintf(name, sizeof name, "$%d", n);
    int i = sqlite3_bind_parameter_index(stmt, name);
    return i > 0 ? i : n;
}

static bool sq_params_in_order(void *stmt)
{
    int count = sqlite3_bind_parameter_count(stmt);
    for (int n = 1; n <= count; n++) {
        const char *p = sqlite3_bind_parameter_name(stmt, n);
        if (!p)
            continue; /* '?': positional already */
        int v = 0;
        if (p[0] != '$')
            return false;
        for (p++; *p >= '0' && *p <= '9'; p++)
            v = v * 10 + (*p - '0');
        if (*p != 0 || v != n)
            return false;
    }
    return true;
}

static enum pay_err sq_bind_int64(void *stmt, int idx, int64_t v)
{
    return map_rc(sqlite3_bind_int64(stmt, idx, v));
}

static enum pay_err sq_bind_text(void *stmt, int idx, const char *s)
{
    return map_rc(s ? sqlite3_bind_text(stmt, idx, s, -1, SQLITE_TRANSIENT)
                    : sqlite3_bind_null(stmt, idx));
}

static enum pay_err sq_bind_blob(void *stmt, int idx, const void *p, size_t n)
{
    return map_rc(sqlite3_bind_blob64(stmt, idx, p, n, SQLITE_TRANSIENT));
}

static enum pay_err sq_bind_null(void *stmt, int idx)
{
    return map_rc(sqlite3_bind_null(stmt, idx));
}

static int sq_step(void *stmt, struct pay_error *err)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    fail(sqlite3_db_handle(stmt), rc, err);
    return -1;
}

static int64_t sq_col_int64(void *stmt, int col)
{
    return sqlite3_column_int64(stmt, col);
}

static const char *sq_col_text(void *stmt, int col)
{
    return (const char *)sqlite3_column_text(stmt, col);
}

static const void *sq_col_blob(void *stmt, int col, size_t *len)
{
    const void *p = sqlite3_column_blob(stmt, col);
    *len = (size_t)sqlite3_column_bytes(stmt, col);
    return p;
}

static bool sq_col_is_null(void *stmt, int col)
{
    return sqlite3_column_type(stmt, col) == SQLITE_NULL;
}

static int64_t sq_changes(void *conn)
{
    return sqlite3_changes64(conn);
}

static int64_t sq_last_insert_rid(void *conn)
{
    return sqlite3_last_insert_rowid(conn);
}

const struct pay_store_backend pay_store_sqlite_backend = {
    .name = "sqlite",
    .dialect = PAY_STORE_SQLITE,
    .conn_open = sq_conn_open,
    .conn_close = sq_conn_close,
    .exec_script = sq_exec_script,
    .begin_write_sql = "BEGIN IMMEDIATE",
    .begin_read_sql = "BEGIN",
    .data_version_sql = "PRAGMA data_version",
    .prepare = sq_prepare,
    .finalize = sq_finalize,
    .reset = sq_reset,
    .param_slot = sq_param_slot,
    .params_in_order = sq_params_in_order,
    .bind_int64 = sq_bind_int64,
    .bind_text = sq_bind_text,
    .bind_blob = sq_bind_blob,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .col_int64 = sq_col_int64,
    .col_text = sq_col_text,
    .col_blob = sq_col_blob,
    .col_is_null = sq_col_is_null,
    .changes = sq_changes,
    .last_insert_rid = sq_last_insert_rid,
};
