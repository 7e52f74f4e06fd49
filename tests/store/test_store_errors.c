/* The store's error paths on real SQLite files: a full disk, a failing fsync and a failing
 * read injected under SQLite (a VFS that passes every call to the real one until a fault is
 * armed), migrations that fail half-way, transaction observers that refuse the commit,
 * malformed SQL, blobs, and the statement cache when it is full. Each failure must reach the
 * caller as the right error, leave nothing half-done and leave the store usable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/faults.h"
#include "core/limits.h"
#include "store/faults.h"
#include "store/store.h"
#include "lib/harness.h"

/* --- fault injection: the store's VFS shim (store/faults.h), one plan per process ------------ */

static int install_vfs(void **state)
{
    (void)state;
    return pay_store_faults_install();
}

/* Every call of the kinds in ops fails with e from now on, until disarm(). */
static void fail_from_now(unsigned ops, enum pay_fault_error e)
{
    struct pay_fault_plan p = {.ops = ops, .error = e, .nth = 1, .sticky = true};
    assert_int_equal(pay_fault_arm(&p, NULL), PAY_ERR_OK);
}

static uint64_t injected(void)
{
    struct pay_fault_state st;
    pay_fault_get(&st);
    return st.injected;
}

static void disarm(void)
{
    pay_fault_clear();
}

/* --- fixtures ----------------------------------------------------------------------------- */

static const struct pay_store_migration mig[] = {
    {1, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, data BLOB)"},
    {2, "CREATE TABLE u (id INTEGER PRIMARY KEY, t_id INTEGER NOT NULL REFERENCES t(id))"},
};
static const struct pay_store_component comp = {"test", mig, 2, NULL};
/* A second component whose second migration fails after its first one ran. */
static const struct pay_store_migration bad_mig[] = {
    {1, "CREATE TABLE w (id INTEGER PRIMARY KEY)"},
    {2, "CREATE TABLE w (id INTEGER PRIMARY KEY)"}, /* already exists */
};
static const struct pay_store_component bad = {"bad", bad_mig, 2, NULL};

static char *temp_db(void)
{
    char dir[256];
    assert_int_equal(th_tmpdir(dir, sizeof dir, "paygate-store-err"), 0);
    size_t n = strlen(dir) + 8;
    char *path = malloc(n);
    assert_non_null(path);
    snprintf(path, n, "%s/db", dir);
    return path;
}

static void rm_db(char *path)
{
    *strrchr(path, '/') = '\0';
    th_tmpdir_done(path);
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

/* A read fails on a reader's cold cache: DB_UNAVAILABLE from run_read (the reader is reopened);
 * the next read works. */
static void read_error(void **state)
{
    char *path = temp_db();
    struct pay_store *s = open_ok(path);
    assert_int_equal(insert(s, "a", NULL), PAY_ERR_OK);
    pay_store_close(s);
    s = open_ok(path); /* fresh connections: nothing cached yet */
    fail_from_now(PAY_FAULT_READ, PAY_FAULT_IO);
    int64_t n = 0;
    struct pay_error err = {0};
    assert_int_equal(pay_store_run_read(s, count_body, &n, &err), PAY_ERR_DB_UNAVAILABLE);
    assert_true(injected() > 0);
    disarm();
    assert_int_equal(rows(s), 1);
    pay_store_close(s);
    rm_db(path);
}

/* The disk is full while the migrations commit at open (the file exists already, so that the
 * commit is the open's only write): the open fails with DB_FULL and applies none of them; the
 * next open applies all. */
static void disk_full_during_migrations(void **state)
{
    char *path = temp_db();
    const struct pay_store_component *list[] = {&comp, NULL};
    struct pay_store *s = NULL;
    struct pay_error err = {0};
    assert_int_equal(pay_store_open(path, NULL, NULL, &s, &err), PAY_ERR_OK);
    pay_store_close(s);
    s = NULL;
    fail_from_now(PAY_FAULT_SYNC, PAY_FAULT_FULL);
    assert_int_equal(pay_store_open(path, NULL, list, &s, &err), PAY_ERR_DB_FULL);
    assert_null(s);
    assert_true(injected() > 0);
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
    static const struct pay_store_component good = {"bad", bad_mig, 1, NULL};
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
        cmocka_unit_test(read_error),
        cmocka_unit_test(disk_full_during_migrations),
        cmocka_unit_test(failed_migration_applies_nothing),
        cmocka_unit_test(unopenable_file),
        cmocka_unit_test(observer_refuses_commit),
        cmocka_unit_test(malformed_sql),
        cmocka_unit_test(blobs_round_trip),
        cmocka_unit_test(statement_cache_full),
    };
    return th_finish(cmocka_run_group_tests(tests, install_vfs, NULL));
}
