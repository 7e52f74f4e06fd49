/* The store's error paths on real SQLite files: a full disk, a failing fsync and a failing
 * read injected under SQLite (a VFS that passes every call to the real one until a fault is
 * armed), migrations that fail half-way, transaction observers that refuse the commit,
 * malformed SQL, blobs, and the statement cache when it is full. Each failure must reach the
 * caller as the right error, leave nothing half-done and leave the store usable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "store/store.h"

/* --- fault injection: a VFS in front of the default one ----------------------------------- */

/* What the next calls do: 0 passes them through, else the SQLite error they return. Only files
 * whose name ends with `suffix` ("" for every file) are affected. */
static struct {
    int write_rc, sync_rc, read_rc;
    const char *suffix;
    int hits; /* calls that failed */
} fault;

struct faulty_file {
    sqlite3_file base;
    const char *name;
    sqlite3_file *real; /* the real VFS's file, right after this struct */
};

static sqlite3_vfs *real_vfs;

static int armed(const struct faulty_file *f, int rc)
{
    size_t n = f->name ? strlen(f->name) : 0, s = strlen(fault.suffix ? fault.suffix : "");
    if (rc == 0 || n < s || strcmp(f->name + n - s, fault.suffix ? fault.suffix : "") != 0)
        return 0;
    fault.hits++;
    return rc;
}

#define REAL(f)        (((struct faulty_file *)(f))->real)
#define FWD(f, m, ...) REAL(f)->pMethods->m(REAL(f), __VA_ARGS__)

static int f_close(sqlite3_file *f)
{
    return REAL(f)->pMethods->xClose(REAL(f));
}
static int f_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
    int rc = armed((struct faulty_file *)f, fault.read_rc);
    return rc ? rc : FWD(f, xRead, p, n, off);
}
static int f_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
    int rc = armed((struct faulty_file *)f, fault.write_rc);
    return rc ? rc : FWD(f, xWrite, p, n, off);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return FWD(f, xTruncate, size);
}
static int f_sync(sqlite3_file *f, int flags)
{
    int rc = armed((struct faulty_file *)f, fault.sync_rc);
    return rc ? rc : FWD(f, xSync, flags);
}
static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return FWD(f, xFileSize, size);
}
static int f_lock(sqlite3_file *f, int l)
{
    return FWD(f, xLock, l);
}
static int f_unlock(sqlite3_file *f, int l)
{
    return FWD(f, xUnlock, l);
}
static int f_check(sqlite3_file *f, int *out)
{
    return FWD(f, xCheckReservedLock, out);
}
static int f_control(sqlite3_file *f, int op, void *arg)
{
    return FWD(f, xFileControl, op, arg);
}
static int f_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int f_caps(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int f_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **p)
{
    return FWD(f, xShmMap, pg, sz, extend, p);
}
static int f_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return FWD(f, xShmLock, off, n, flags);
}
static void f_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int f_shm_unmap(sqlite3_file *f, int del)
{
    return FWD(f, xShmUnmap, del);
}
static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **p)
{
    return FWD(f, xFetch, off, n, p);
}
static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return FWD(f, xUnfetch, off, p);
}

static const sqlite3_io_methods faulty_io = {
    3,          f_close,       f_read,      f_write,   f_truncate, f_sync, f_size,
    f_lock,     f_unlock,      f_check,     f_control, f_sector,   f_caps, f_shm_map,
    f_shm_lock, f_shm_barrier, f_shm_unmap, f_fetch,   f_unfetch};

static int f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out)
{
    struct faulty_file *f = (struct faulty_file *)file;
    f->name = name;
    f->real = (sqlite3_file *)(f + 1);
    int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out);
    f->base.pMethods = rc == SQLITE_OK && f->real->pMethods ? &faulty_io : NULL;
    return rc;
}

static sqlite3_vfs faulty_vfs;

/* Registers the faulty VFS as the default, so the store's connections use it. */
static int install_vfs(void **state)
{
    (void)state;
    real_vfs = sqlite3_vfs_find(NULL);
    faulty_vfs = *real_vfs;
    faulty_vfs.zName = "faulty";
    faulty_vfs.szOsFile = (int)sizeof(struct faulty_file) + real_vfs->szOsFile;
    faulty_vfs.xOpen = f_open;
    faulty_vfs.pAppData = NULL;
    return sqlite3_vfs_register(&faulty_vfs, 1) == SQLITE_OK ? 0 : -1;
}

static void disarm(void)
{
    memset(&fault, 0, sizeof fault);
}

/* --- fixtures ----------------------------------------------------------------------------- */

static const struct pay_store_migration mig[] = {
    {1, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, data BLOB)"},
    {2, "CREATE TABLE u (id INTEGER PRIMARY KEY, t_id INTEGER NOT NULL REFERENCES t(id))"},
};
static const struct pay_store_component comp = {"test", mig, 2};
/* A second component whose second migration fails after its first one ran. */
static const struct pay_store_migration bad_mig[] = {
    {1, "CREATE TABLE w (id INTEGER PRIMARY KEY)"},
    {2, "CREATE TABLE w (id INTEGER PRIMARY KEY)"}, /* already exists */
};
static const struct pay_store_component bad = {"bad", bad_mig, 2};

static char *temp_db(void)
{
    char tmpl[] = "/tmp/paygate-store-err-XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    size_t n = strlen(dir) + 8;
    char *path = malloc(n);
    assert_non_null(path);
    snprintf(path, n, "%s/db", dir);
    return path;
}

static void rm_db(char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strrchr(path, '/') - path), path);
    assert_int_equal(system(cmd), 0);
    free(path);
}

static struct pay_store *open_ok(const char *path)
{
    const struct pay_store_component *list[] = {&comp, NULL};
    struct pay_store *s = NULL;
    struct pay_error err = {0};
    enum pay_err e = pay_store_open(path, NULL, list, &s, &err);
    if (e != PAY_ERR_OK)
        fprintf(stderr, "open: %s %s\n", pay_err_name(e), err.detail);
    assert_int_equal(e, PAY_ERR_OK);
    return s;
}

struct row {
    const char *name;
    const void *data;
    size_t len;
};

static enum pay_err insert_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    const struct row *r = ctx;
    return pay_store_exec(tx, err, "INSERT INTO t (name, data) VALUES ($1, $2)", "tb", r->name,
                          r->data, r->len);
}

static enum pay_err count_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(tx, err, "SELECT count(*) FROM t", NULL);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    *(int64_t *)ctx = rc == 1 ? pay_store_col_int64(st, 0) : -1;
    pay_store_done(st);
    return rc == 1 ? PAY_ERR_OK : rc < 0 ? err->code : PAY_ERR_INTERNAL;
}

static int64_t rows(struct pay_store *s)
{
    int64_t n = -1;
    assert_int_equal(pay_store_run_read(s, count_body, &n, NULL), PAY_ERR_OK);
    return n;
}

static enum pay_err insert(struct pay_store *s, const char *name, struct pay_error *err)
{
    static char big[64 * 1024]; /* more than a page: the commit writes several WAL frames */
    struct row r = {name, big, sizeof big};
    return pay_store_run_tx(s, insert_body, &r, err);
}

/* --- injected faults ---------------------------------------------------------------------- */

/* The disk fills up while the commit writes the WAL: DB_IO, no retry (it would fail again),
 * nothing of the transaction visible, and once there is room again the store goes on. */
static void disk_full_at_commit(void **state)
{
    char *path = temp_db();
    struct pay_store *s = open_ok(path);
    assert_int_equal(insert(s, "before", NULL), PAY_ERR_OK);
    struct pay_store_stats st0, st1;
    pay_store_get_stats(s, &st0);

    fault.write_rc = SQLITE_FULL;
    struct pay_error err = {0};
    assert_int_equal(insert(s, "lost", &err), PAY_ERR_DB_IO);
    assert_true(fault.hits > 0);
    assert_non_null(strstr(err.detail, "full"));
    pay_store_get_stats(s, &st1);
    assert_int_equal(st1.retries, st0.retries); /* HARD: not retried */
    assert_int_equal(st1.commits, st0.commits);
    disarm();

    assert_int_equal(rows(s), 1);
    assert_int_equal(insert(s, "after", NULL), PAY_ERR_OK);
    assert_int_equal(insert(s, "lost", NULL), PAY_ERR_OK); /* its name was never taken */
    pay_store_close(s);
    s = open_ok(path); /* and on disk: exactly the three committed rows */
    assert_int_equal(rows(s), 3);
    pay_store_close(s);
    rm_db(path);
}

/* fsync fails at commit (synchronous=FULL syncs the WAL): the caller is never told OK. */
static void fsync_error_at_commit(void **state)
{
    char *path = temp_db();
    struct pay_store *s = open_ok(path);
    fault.sync_rc = SQLITE_IOERR_FSYNC;
    fault.suffix = "-wal";
    struct pay_error err = {0};
    assert_int_equal(insert(s, "unsure", &err), PAY_ERR_DB_IO);
    assert_true(fault.hits > 0);
    disarm();
    assert_int_equal(insert(s, "next", NULL), PAY_ERR_OK);
    pay_store_close(s);
    rm_db(path);
}

/* A read fails on a reader's cold cache: DB_IO from run_read; the next read works. */
static void read_error(void **state)
{
    char *path = temp_db();
    struct pay_store *s = open_ok(path);
    assert_int_equal(insert(s, "a", NULL), PAY_ERR_OK);
    pay_store_close(s);
    s = open_ok(path); /* fresh connections: nothing cached yet */
    fault.read_rc = SQLITE_IOERR_READ;
    int64_t n = 0;
    struct pay_error err = {0};
    assert_int_equal(pay_store_run_read(s, count_body, &n, &err), PAY_ERR_DB_IO);
    assert_true(fault.hits > 0);
    disarm();
    assert_int_equal(rows(s), 1);
    pay_store_close(s);
    rm_db(path);
}

/* The disk is full while the migrations commit at open: the open fails with DB_IO and applies
 * none of them; the next open applies all. */
static void disk_full_during_migrations(void **state)
{
    char *path = temp_db();
    const struct pay_store_component *list[] = {&comp, NULL};
    struct pay_store *s = NULL;
    struct pay_error err = {0};
    fault.write_rc = SQLITE_FULL;
    fault.suffix = "-wal";
    assert_int_equal(pay_store_open(path, NULL, list, &s, &err), PAY_ERR_DB_IO);
    assert_null(s);
    disarm();
    s = open_ok(path);
    int v = 0;
    assert_int_equal(pay_store_schema_version(s, "test", &v, NULL), PAY_ERR_OK);
    assert_int_equal(v, 2);
    assert_int_equal(rows(s), 0);
    pay_store_close(s);
    rm_db(path);
}

/* --- error paths without faults ----------------------------------------------------------- */

/* One component's failing migration undoes every component's migrations of that open. */
static void failed_migration_applies_nothing(void **state)
{
    char *path = temp_db();
    const struct pay_store_component *list[] = {&comp, &bad, NULL};
    struct pay_store *s = NULL;
    struct pay_error err = {0};
    assert_int_not_equal(pay_store_open(path, NULL, list, &s, &err), PAY_ERR_OK);
    assert_null(s);
    assert_non_null(strstr(err.detail, "already exists"));
    s = open_ok(path); /* without the bad component: all of test, nothing of bad */
    int v = -1;
    assert_int_equal(pay_store_schema_version(s, "test", &v, NULL), PAY_ERR_OK);
    assert_int_equal(v, 2);
    assert_int_equal(pay_store_schema_version(s, "bad", &v, NULL), PAY_ERR_OK);
    assert_int_equal(v, 0);
    /* a component migrated later, on its own, refuses the same way */
    assert_int_not_equal(pay_store_migrate(s, &bad, &err), PAY_ERR_OK);
    assert_int_equal(pay_store_schema_version(s, "bad", &v, NULL), PAY_ERR_OK);
    assert_int_equal(v, 0);
    static const struct pay_store_component good = {"bad", bad_mig, 1};
    assert_int_equal(pay_store_migrate(s, &good, NULL), PAY_ERR_OK);
    assert_int_equal(pay_store_schema_version(s, "bad", &v, NULL), PAY_ERR_OK);
    assert_int_equal(v, 1);
    pay_store_close(s);
    rm_db(path);
}

static void unopenable_file(void **state)
{
    struct pay_store *s = NULL;
    struct pay_error err = {0};
    assert_int_equal(pay_store_open("/nonexistent-dir/x/db", NULL, NULL, &s, &err), PAY_ERR_DB_IO);
    assert_null(s);
}

static int ends, commits_seen;
static enum pay_err refuse_commit(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    return pay_error_set(err, PAY_ERR_UNAVAILABLE, "hook", "refused by an observer");
}
static void count_end(void *ctx, bool committed)
{
    ends++;
    commits_seen += committed;
}
static const struct pay_store_tx_hooks refusing = {.before_commit = refuse_commit,
                                                   .after_end = count_end};
static const struct pay_store_tx_hooks counting = {.after_end = count_end};

static enum pay_err observed_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    const struct pay_store_tx_hooks *h = ctx;
    assert_int_equal(pay_store_tx_observe(tx, h, NULL, err), PAY_ERR_OK);
    assert_int_equal(pay_store_tx_observe(tx, h, NULL, err), PAY_ERR_OK); /* once only */
    static int slots[PAY_STORE_TX_HOOKS_MAX];
    for (int i = 1; i < PAY_STORE_TX_HOOKS_MAX; i++)
        assert_int_equal(pay_store_tx_observe(tx, &counting, &slots[i], err), PAY_ERR_OK);
    assert_int_equal(pay_store_tx_observe(tx, &counting, &slots[0], err), PAY_ERR_INTERNAL);
    return pay_store_exec(tx, err, "INSERT INTO t (name) VALUES ('observed')", NULL);
}

/* An observer refusing the commit rolls the transaction back with its error; every observer
 * hears the end, as not committed; the same observer registered twice counts once. */
static void observer_refuses_commit(void **state)
{
    char *path = temp_db();
    struct pay_store *s = open_ok(path);
    struct pay_error err = {0};
    ends = commits_seen = 0;
    assert_int_equal(pay_store_run_tx(s, observed_body, (void *)&refusing, &err),
                     PAY_ERR_UNAVAILABLE);
    assert_string_equal(err.field, "hook");
    assert_int_equal(ends, PAY_STORE_TX_HOOKS_MAX);
    assert_int_equal(commits_seen, 0);
    assert_int_equal(rows(s), 0);
    ends = 0;
    assert_int_equal(pay_store_run_tx(s, observed_body, (void *)&counting, &err), PAY_ERR_OK);
    assert_int_equal(ends, PAY_STORE_TX_HOOKS_MAX);
    assert_int_equal(commits_seen, PAY_STORE_TX_HOOKS_MAX);
    assert_int_equal(rows(s), 1);
    pay_store_close(s);
    rm_db(path);
}

static enum pay_err bad_sql_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    assert_null(pay_store_query(tx, err, "SELEC nothing", NULL));
    assert_int_equal(err->code, PAY_ERR_INTERNAL);
    assert_non_null(strstr(err->detail, "syntax error"));
    assert_int_equal(pay_store_exec(tx, err, "INSERT INTO nowhere VALUES (1)", NULL),
                     PAY_ERR_INTERNAL);
    pay_store_done(NULL); /* harmless */
    return pay_error_set(err, PAY_ERR_INTERNAL, "sql", "malformed");
}

/* Malformed SQL is INTERNAL (a bug, not a retry); the body's code and field are what the
 * caller gets. */
static void malformed_sql(void **state)
{
    char *path = temp_db();
    struct pay_store *s = open_ok(path);
    struct pay_error err = {0};
    assert_int_equal(pay_store_run_tx(s, bad_sql_body, NULL, &err), PAY_ERR_INTERNAL);
    assert_string_equal(err.field, "sql");
    pay_store_close(s);
    rm_db(path);
}

static enum pay_err blob_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pay_store_stmt *st =
        pay_store_query(tx, err, "SELECT data FROM t WHERE name = $1", "t", "blob");
    assert_non_null(st);
    assert_int_equal(pay_store_step(st, err), 1);
    size_t len = 0;
    const unsigned char *p = pay_store_col_blob(st, 0, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(p, "a\0b\0c", 5);
    assert_false(pay_store_col_is_null(st, 0));
    pay_store_done(st);
    return PAY_ERR_OK;
}

/* Blobs keep their bytes, zeros included. */
static void blobs_round_trip(void **state)
{
    char *path = temp_db();
    struct pay_store *s = open_ok(path);
    struct row r = {"blob", "a\0b\0c", 5};
    assert_int_equal(pay_store_run_tx(s, insert_body, &r, NULL), PAY_ERR_OK);
    assert_int_equal(pay_store_run_read(s, blob_body, NULL, NULL), PAY_ERR_OK);
    pay_store_close(s);
    rm_db(path);
}

enum { N_HELD = PAY_STORE_STMT_CACHE_MAX + 1 };
static char held_sql[N_HELD][48];

static enum pay_err cache_full_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    static struct pay_store_stmt *held[N_HELD];
    for (int i = 0; i < N_HELD; i++) { /* every cached statement in use, then one more */
        snprintf(held_sql[i], sizeof held_sql[i], "SELECT %d + $1", i);
        held[i] = pay_store_query(tx, err, held_sql[i], "i", (int64_t)1);
        assert_non_null(held[i]);
        assert_int_equal(pay_store_step(held[i], err), 1);
        assert_int_equal(pay_store_col_int64(held[i], 0), i + 1);
    }
    for (int i = 0; i < N_HELD; i++)
        pay_store_done(held[i]); /* the last, uncached, is finalised */
    return PAY_ERR_OK;
}

static enum pay_err one_cached_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    return pay_store_exec(tx, err, held_sql[N_HELD - 2], "i", (int64_t)1);
}

/* With every cache slot in use a statement still runs, uncached; later ones evict the least
 * recently used, so the cache stays at its limit and keeps the recent ones. */
static void statement_cache_full(void **state)
{
    char *path = temp_db();
    struct pay_store *s = open_ok(path);
    struct pay_store_stats a, b;
    for (int run = 0; run < 2; run++) {
        pay_store_get_stats(s, &a);
        assert_int_equal(pay_store_run_tx(s, cache_full_body, NULL, NULL), PAY_ERR_OK);
        pay_store_get_stats(s, &b);
        /* the second time each lookup evicts the one needed next (a cycle longer than the
         * cache): all are prepared again */
        assert_true(b.prepares - a.prepares >= N_HELD);
    }
    assert_int_equal(pay_store_run_tx(s, one_cached_body, NULL, NULL), PAY_ERR_OK);
    pay_store_get_stats(s, &a);
    assert_int_equal(a.cache_hits - b.cache_hits, 1); /* the recent one was kept */
    pay_store_close(s);
    rm_db(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(disk_full_at_commit),
        cmocka_unit_test(fsync_error_at_commit),
        cmocka_unit_test(read_error),
        cmocka_unit_test(disk_full_during_migrations),
        cmocka_unit_test(failed_migration_applies_nothing),
        cmocka_unit_test(unopenable_file),
        cmocka_unit_test(observer_refuses_commit),
        cmocka_unit_test(malformed_sql),
        cmocka_unit_test(blobs_round_trip),
        cmocka_unit_test(statement_cache_full),
    };
    return cmocka_run_group_tests(tests, install_vfs, NULL);
}
