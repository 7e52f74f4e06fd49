/* The store on a real SQLite file: migrations, pragmas, constraint mapping, the statement
 * cache, savepoints and the retry loop against a second connection holding the lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/limits.h"
#include "store/store.h"
#include "lib/harness.h"

static const struct pay_store_migration v1[] = {
    {1, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        " n INTEGER NOT NULL CHECK (n >= 0))"},
};
static const struct pay_store_migration v2[] = {
    {1, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        " n INTEGER NOT NULL CHECK (n >= 0))"},
    {2, "CREATE TABLE u (id INTEGER PRIMARY KEY, t_id INTEGER NOT NULL REFERENCES t(id));"
        "CREATE INDEX u_t ON u(t_id)"},
};
static const struct pay_store_component comp_v1 = {"test", v1, 1};
static const struct pay_store_component comp_v2 = {"test", v2, 2};

static char *temp_db(void)
{
    char dir[256];
    assert_int_equal(th_tmpdir(dir, sizeof dir, "paygate-store"), 0);
    char *path = malloc(strlen(dir) + 8);
    snprintf(path, strlen(dir) + 8, "%s/db", dir);
    return path;
}

static void rm_db(char *path)
{
    *strrchr(path, '/') = '\0';
    th_tmpdir_done(path);
    free(path);
}

static struct pay_store *open_with(const char *path, const struct pay_store_component *c)
{
    const struct pay_store_component *list[] = {c, NULL};
    struct pay_store *s = NULL;
    struct pay_error err;
    enum pay_err e = pay_store_open(path, NULL, list, &s, &err);
    if (e != PAY_ERR_OK)
        fprintf(stderr, "open: %s %s\n", pay_err_name(e), err.detail);
    assert_int_equal(e, PAY_ERR_OK);
    return s;
}

static void migrations_apply_reopen_too_new(void **state)
{
    (void)state;
    char *path = temp_db();
    struct pay_store *s = open_with(path, &comp_v1);
    int v = -1;
    assert_int_equal(pay_store_schema_version(s, "test", &v, NULL), PAY_ERR_OK);
    assert_int_equal(v, 1);
    pay_store_close(s);
    s = open_with(path, &comp_v2); /* applies only 2 */
    assert_int_equal(pay_store_schema_version(s, "test", &v, NULL), PAY_ERR_OK);
    assert_int_equal(v, 2);
    assert_int_equal(pay_store_schema_version(s, "other", &v, NULL), PAY_ERR_OK);
    assert_int_equal(v, 0);
    pay_store_close(s);
    s = open_with(path, &comp_v2); /* nothing to do */
    pay_store_close(s);
    const struct pay_store_component *list[] = {&comp_v1, NULL};
    struct pay_error err;
    assert_int_equal(pay_store_open(path, NULL, list, &s, &err), PAY_ERR_DB_SCHEMA_TOO_NEW);
    assert_null(s);
    assert_non_null(strstr(err.detail, "version 2"));
    rm_db(path);
}

static enum pay_err pragmas_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    char *out = ctx;
    struct pay_store_stmt *st = pay_store_query(tx, err, "PRAGMA journal_mode", NULL);
    assert_int_equal(pay_store_step(st, err), 1);
    snprintf(out, 16, "%s", pay_store_col_text(st, 0));
    pay_store_done(st);
    st = pay_store_query(tx, err, "PRAGMA synchronous", NULL);
    assert_int_equal(pay_store_step(st, err), 1);
    snprintf(out + 16, 16, "%lld", (long long)pay_store_col_int64(st, 0));
    pay_store_done(st);
    st = pay_store_query(tx, err, "PRAGMA foreign_keys", NULL);
    assert_int_equal(pay_store_step(st, err), 1);
    snprintf(out + 32, 16, "%lld", (long long)pay_store_col_int64(st, 0));
    pay_store_done(st);
    return PAY_ERR_OK;
}

static void pragmas_wal_full(void **state)
{
    (void)state;
    char *path = temp_db();
    struct pay_store *s = open_with(path, &comp_v1);
    char out[48] = {0};
    assert_int_equal(pay_store_run_tx(s, pragmas_body, out, NULL), PAY_ERR_OK);
    assert_string_equal(out, "wal");
    assert_string_equal(out + 16, "2"); /* FULL */
    assert_string_equal(out + 32, "1");
    memset(out, 0, sizeof out);
    assert_int_equal(pay_store_run_read(s, pragmas_body, out, NULL), PAY_ERR_OK);
    assert_string_equal(out, "wal");
    assert_string_equal(out + 32, "1");
    pay_store_close(s);
    rm_db(path);
}

struct insert_ctx {
    const char *name;
    int64_t n;
    int64_t t_id;
};

static enum pay_err insert_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct insert_ctx *c = ctx;
    enum pay_err e =
        pay_store_exec(tx, err, "INSERT INTO t (name, n) VALUES ($1, $2)", "ti", c->name, c->n);
    return e;
}

static enum pay_err fk_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct insert_ctx *c = ctx;
    return (pay_store_exec(tx, err, "INSERT INTO u (t_id) VALUES ($1)", "i", c->t_id));
}

static void constraints_map_to_db_constraint(void **state)
{
    (void)state;
    char *path = temp_db();
    struct pay_store *s = open_with(path, &comp_v2);
    struct insert_ctx c = {"alice", 5, 0};
    struct pay_error err;
    assert_int_equal(pay_store_run_tx(s, insert_body, &c, &err), PAY_ERR_OK);
    assert_int_equal(pay_store_run_tx(s, insert_body, &c, &err), PAY_ERR_DB_CONSTRAINT);
    assert_int_equal(err.code, PAY_ERR_DB_CONSTRAINT);
    c = (struct insert_ctx){"bob", -1, 0}; /* CHECK */
    assert_int_equal(pay_store_run_tx(s, insert_body, &c, &err), PAY_ERR_DB_CONSTRAINT);
    c.t_id = 999; /* FOREIGN KEY */
    assert_int_equal(pay_store_run_tx(s, fk_body, &c, &err), PAY_ERR_DB_CONSTRAINT);
    c.t_id = 1;
    assert_int_equal(pay_store_run_tx(s, fk_body, &c, &err), PAY_ERR_OK);
    struct pay_store_stats st;
    pay_store_get_stats(s, &st);
    assert_int_equal(st.retries, 0); /* constraints are not retryable */
    pay_store_close(s);
    rm_db(path);
}

static enum pay_err many_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    (void)ctx;
    for (int i = 0; i < 1000; i++) {
        char name[32];
        snprintf(name, sizeof name, "n%d", i);
        enum pay_err e = pay_store_exec(tx, err, "INSERT INTO t (name, n) VALUES ($1, $2)", "ti",
                                        name, (int64_t)i);
        if (e != PAY_ERR_OK)
            return e;
    }
    /* Nested use of the same SQL: the second gets its own statement. */
    struct pay_store_stmt *a =
        pay_store_query(tx, err, "SELECT n FROM t WHERE name = $1", "t", "n7");
    struct pay_store_stmt *b =
        pay_store_query(tx, err, "SELECT n FROM t WHERE name = $1", "t", "n9");
    assert_int_equal(pay_store_step(a, err), 1);
    assert_int_equal(pay_store_step(b, err), 1);
    assert_int_equal(pay_store_col_int64(a, 0), 7);
    assert_int_equal(pay_store_col_int64(b, 0), 9);
    assert_int_equal(pay_store_step(a, err), 0);
    pay_store_done(a);
    pay_store_done(b);
    return PAY_ERR_OK;
}

/* $N binds by number even when the SQL names them out of order (SQLite itself numbers them by
 * first appearance). */
static enum pay_err order_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    (void)ctx;
    assert_int_equal(pay_store_exec(tx, err, "INSERT INTO t (name, n) VALUES ('x', 1)", NULL),
                     PAY_ERR_OK);
    assert_int_equal(
        pay_store_exec(tx, err, "UPDATE t SET n = $2 WHERE name = $1", "ti", "x", (int64_t)42),
        PAY_ERR_OK);
    assert_int_equal(pay_store_changes(tx), 1);
    struct pay_store_stmt *st =
        pay_store_query(tx, err, "SELECT n, $2 FROM t WHERE name = $1", "tt", "x", "two");
    assert_int_equal(pay_store_step(st, err), 1);
    assert_int_equal(pay_store_col_int64(st, 0), 42);
    assert_string_equal(pay_store_col_text(st, 1), "two");
    pay_store_done(st);
    return PAY_ERR_OK;
}

static void parameters_by_number(void **state)
{
    (void)state;
    char *path = temp_db();
    struct pay_store *s = open_with(path, &comp_v1);
    assert_int_equal(pay_store_run_tx(s, order_body, NULL, NULL), PAY_ERR_OK);
    pay_store_close(s);
    rm_db(path);
}

static void statement_cache(void **state)
{
    (void)state;
    char *path = temp_db();
    struct pay_store *s = open_with(path, &comp_v1);
    struct pay_store_stats before, after;
    pay_store_get_stats(s, &before);
    assert_int_equal(pay_store_run_tx(s, many_body, NULL, NULL), PAY_ERR_OK);
    pay_store_get_stats(s, &after);
    /* 1000 inserts + 2 selects + BEGIN-less body: at most a handful of compilations. */
    assert_true(after.prepares - before.prepares <= 4);
    assert_true(after.cache_hits - before.cache_hits >= 999);
    pay_store_close(s);
    rm_db(path);
}

static enum pay_err savepoint_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    (void)ctx;
    assert_int_equal(pay_store_exec(tx, err, "INSERT INTO t (name, n) VALUES ('keep', 1)", NULL),
                     PAY_ERR_OK);
    assert_int_equal(pay_store_savepoint(tx, err), PAY_ERR_OK);
    assert_int_equal(pay_store_exec(tx, err, "INSERT INTO t (name, n) VALUES ('drop', 1)", NULL),
                     PAY_ERR_OK);
    assert_int_equal(pay_store_savepoint(tx, err), PAY_ERR_OK);
    assert_int_equal(pay_store_savepoint_depth(tx), 2);
    assert_int_equal(pay_store_exec(tx, err, "INSERT INTO t (name, n) VALUES ('inner', 1)", NULL),
                     PAY_ERR_OK);
    assert_int_equal(pay_store_release(tx, err), PAY_ERR_OK);
    assert_int_equal(pay_store_rollback_to(tx, err), PAY_ERR_OK); /* drops 'drop' and 'inner' */
    assert_int_equal(pay_store_savepoint_depth(tx), 0);
    struct pay_store_stmt *st = pay_store_query(tx, err, "SELECT group_concat(name) FROM t", NULL);
    assert_int_equal(pay_store_step(st, err), 1);
    assert_string_equal(pay_store_col_text(st, 0), "keep");
    pay_store_done(st);
    return PAY_ERR_OK;
}

static void savepoints_nest(void **state)
{
    (void)state;
    char *path = temp_db();
    struct pay_store *s = open_with(path, &comp_v1);
    assert_int_equal(pay_store_run_tx(s, savepoint_body, NULL, NULL), PAY_ERR_OK);
    pay_store_close(s);
    rm_db(path);
}

/* --- the transaction contract (pay_store_tx_fn) ------------------------------------------ */

enum body_end { BODY_OK, BODY_REFUSE, BODY_KEEP, BODY_KEEP_INNER };

struct contract_ctx {
    enum body_end end;
    int runs;
};

static enum pay_err contract_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct contract_ctx *c = ctx;
    c->runs++;
    pay_error_set(err, PAY_ERR_INTERNAL, "stale", "left over from an earlier step");
    static const char *const names[] = {"ok", "refused", "kept", "kept inside"};
    enum pay_err e =
        pay_store_exec(tx, err, "INSERT INTO t (name, n) VALUES ($1, 1)", "t", names[c->end]);
    if (e != PAY_ERR_OK || c->end == BODY_OK)
        return e;
    if (c->end == BODY_REFUSE)
        return pay_error_set(err, PAY_ERR_CREDENTIALS_INVALID, "password", "wrong");
    if (c->end == BODY_KEEP_INNER) { /* kept inside a savepoint, then released: not kept here */
        assert_int_equal(pay_store_savepoint(tx, err), PAY_ERR_OK);
        pay_store_keep(tx, PAY_ERR_CREDENTIALS_INVALID);
        assert_true(pay_store_tx_kept(tx));
        assert_int_equal(pay_store_release(tx, err), PAY_ERR_OK);
        assert_false(pay_store_tx_kept(tx));
        return pay_error_set(err, PAY_ERR_CREDENTIALS_INVALID, "password", "inner");
    }
    return pay_store_keep(tx, pay_error_set(err, PAY_ERR_LOCKED, "password", "wrong, counted"));
}

static enum pay_err count_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(tx, err, "SELECT count(*) FROM t", NULL);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    *(int64_t *)ctx = rc == 1 ? pay_store_col_int64(st, 0) : -1;
    pay_store_done(st);
    return rc == 1 ? PAY_ERR_OK : err->code;
}

static int64_t rows(struct pay_store *s)
{
    int64_t n = -1;
    assert_int_equal(pay_store_run_read(s, count_body, &n, NULL), PAY_ERR_OK);
    return n;
}

/* OK commits and clears *err; any other code rolls back and reaches the caller exactly (code,
 * field, detail), run once; pay_store_keep commits and still refuses; a keep inside a released
 * savepoint does not keep the transaction. */
static void one_contract(void **state)
{
    (void)state;
    char *path = temp_db();
    struct pay_store *s = open_with(path, &comp_v1);
    struct pay_error err;
    struct contract_ctx c = {BODY_OK, 0};
    assert_int_equal(pay_store_run_tx(s, contract_body, &c, &err), PAY_ERR_OK);
    assert_int_equal(err.code, PAY_ERR_OK);
    assert_string_equal(err.field, "");
    assert_string_equal(err.detail, "");
    assert_int_equal(rows(s), 1);

    c = (struct contract_ctx){BODY_REFUSE, 0};
    assert_int_equal(pay_store_run_tx(s, contract_body, &c, &err), PAY_ERR_CREDENTIALS_INVALID);
    assert_int_equal(err.code, PAY_ERR_CREDENTIALS_INVALID);
    assert_string_equal(err.field, "password");
    assert_string_equal(err.detail, "wrong");
    assert_int_equal(c.runs, 1); /* not retryable: run once */
    assert_int_equal(rows(s), 1);

    c = (struct contract_ctx){BODY_KEEP, 0};
    assert_int_equal(pay_store_run_tx(s, contract_body, &c, &err), PAY_ERR_LOCKED);
    assert_int_equal(err.code, PAY_ERR_LOCKED);
    assert_string_equal(err.field, "password");
    assert_string_equal(err.detail, "wrong, counted");
    assert_int_equal(c.runs, 1);
    assert_int_equal(rows(s), 2); /* committed */

    c = (struct contract_ctx){BODY_KEEP_INNER, 0};
    assert_int_equal(pay_store_run_tx(s, contract_body, &c, &err), PAY_ERR_CREDENTIALS_INVALID);
    assert_string_equal(err.detail, "inner");
    assert_int_equal(rows(s), 2); /* rolled back */

    struct pay_store_stats st;
    pay_store_get_stats(s, &st);
    assert_int_equal(st.retries, 0);
    pay_store_close(s);
    rm_db(path);
}

/* --- busy: a second store on the same file holds the write lock until the first retried --- */

struct holder {
    struct pay_store *s;
    struct pay_store *waiter; /* the other store: the lock is held until it has retried */
    volatile int locked;
};

static enum pay_err hold_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct holder *h = ctx;
    enum pay_err e = pay_store_exec(tx, err, "INSERT INTO t (name, n) VALUES ('holder', 1)", NULL);
    __atomic_store_n(&h->locked, 1, __ATOMIC_SEQ_CST);
    struct pay_store_stats st = {0};
    for (int i = 0; i < 10000 && st.retries == 0; i++) { /* the event: it met the lock */
        usleep(1000);
        pay_store_get_stats(h->waiter, &st);
    }
    assert_true(st.retries >= 1);
    return e;
}

static void *holder_thread(void *arg)
{
    struct holder *h = arg;
    assert_int_equal(pay_store_run_tx(h->s, hold_body, h, NULL), PAY_ERR_OK);
    return NULL;
}

static void retry_on_busy(void **state)
{
    (void)state;
    char *path = temp_db();
    struct pay_store *a = open_with(path, &comp_v1);
    const struct pay_store_component *list[] = {&comp_v1, NULL};
    struct pay_store_options o = {.busy_timeout_ms = 10}; /* busy fast: exercise our loop */
    struct pay_store *b = NULL;
    assert_int_equal(pay_store_open(path, &o, list, &b, NULL), PAY_ERR_OK);
    struct holder h = {a, b, 0};
    pthread_t th;
    pthread_create(&th, NULL, holder_thread, &h);
    while (!__atomic_load_n(&h.locked, __ATOMIC_SEQ_CST))
        usleep(1000);
    struct insert_ctx c = {"waiter", 1, 0};
    struct pay_error err;
    assert_int_equal(pay_store_run_tx(b, insert_body, &c, &err), PAY_ERR_OK);
    pthread_join(th, NULL);
    struct pay_store_stats st;
    pay_store_get_stats(b, &st);
    assert_true(st.retries >= 1);
    pay_store_close(a);
    pay_store_close(b);
    rm_db(path);
}

static enum pay_err soft_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    (void)tx;
    (*(int *)ctx)++;
    return pay_error_set(err, PAY_ERR_DB_BUSY, "", "pretend");
}

static void soft_gives_up(void **state)
{
    (void)state;
    char *path = temp_db();
    struct pay_store *s = open_with(path, &comp_v1);
    int runs = 0;
    assert_int_equal(pay_store_run_tx(s, soft_body, &runs, NULL), PAY_ERR_DB_BUSY);
    assert_int_equal(runs, PAY_STORE_RETRY_MAX);
    pay_store_close(s);
    rm_db(path);
}

static unsigned mode_of(const char *path, const char *suffix)
{
    char p[512];
    snprintf(p, sizeof p, "%s%s", path, suffix);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return (unsigned)(st.st_mode & 0777);
}

static void touch_mode(const char *path, const char *suffix, mode_t mode)
{
    char p[512];
    snprintf(p, sizeof p, "%s%s", path, suffix);
    FILE *f = fopen(p, "a");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(chmod(p, mode), 0);
}

/* The database, its WAL and its shm index are the owner's alone: created 0600 whatever the
 * umask, and narrowed to 0600 when an older version left them 0644. */
static void files_are_private(void **state)
{
    (void)state;
    mode_t old = umask(022);
    char *path = temp_db();
    struct pay_store *s = open_with(path, &comp_v1);
    static const char *const parts[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(mode_of(path, parts[i]), 0600);
    pay_store_close(s);
    for (size_t i = 0; i < 3; i++)
        touch_mode(path, parts[i], 0644);
    s = open_with(path, &comp_v1);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(mode_of(path, parts[i]), 0600);
    pay_store_close(s);
    umask(old);
    rm_db(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(migrations_apply_reopen_too_new),
        cmocka_unit_test(pragmas_wal_full),
        cmocka_unit_test(constraints_map_to_db_constraint),
        cmocka_unit_test(statement_cache),
        cmocka_unit_test(parameters_by_number),
        cmocka_unit_test(savepoints_nest),
        cmocka_unit_test(one_contract),
        cmocka_unit_test(retry_on_busy),
        cmocka_unit_test(soft_gives_up),
        cmocka_unit_test(files_are_private),
    };
    return th_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
