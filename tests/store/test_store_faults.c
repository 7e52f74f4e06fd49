/* The store when the disk fails (docs/store.md, "When the disk fails"), on a real SQLite file
 * through the fault-injection VFS (store/faults.h): a full disk or an I/O error at COMMIT, at
 * the fsync, or under a statement inside the body becomes DB_FULL / DB_UNAVAILABLE for the
 * caller, nothing of the transaction is committed whatever the body made of the error, the
 * connection is reopened, and the store works again as soon as the disk does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/faults.h"
#include "store/faults.h"
#include "store/store.h"
#include "lib/harness.h"

static const struct pay_store_migration v1[] = {
    {1, "CREATE TABLE t (name TEXT PRIMARY KEY)"},
};
static const struct pay_store_component comp = {"faults", v1, 1, NULL};

struct db {
    char dir[256];
    char path[300];
    struct pay_store *s;
};

static struct pay_store *open_store(const char *path)
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

static int setup(void **state)
{
    struct db *d = calloc(1, sizeof *d);
    assert_int_equal(th_tmpdir(d->dir, sizeof d->dir, "paygate-faults"), 0);
    snprintf(d->path, sizeof d->path, "%s/db", d->dir);
    d->s = open_store(d->path);
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    struct db *d = *state;
    pay_fault_clear();
    pay_store_close(d->s);
    th_tmpdir_done(d->dir);
    free(d);
    return 0;
}

static void arm(unsigned ops, enum pay_fault_error e, uint64_t nth, bool sticky)
{
    struct pay_fault_plan p = {.ops = ops, .error = e, .nth = nth, .sticky = sticky};
    assert_int_equal(pay_fault_arm(&p, NULL), PAY_ERR_OK);
}

static enum pay_err insert_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    return pay_store_exec(tx, err, "INSERT OR IGNORE INTO t (name) VALUES ($1)", "t",
                          (const char *)ctx);
}

static enum pay_err insert(struct pay_store *s, const char *name, struct pay_error *err)
{
    return pay_store_run_tx(s, insert_body, (void *)name, err);
}

/* Inserts name with a payload of more than a page, so that its commit writes several frames. */
static enum pay_err big_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    static char big[64 * 1024];
    memset(big, 'x', sizeof big - 1);
    return pay_store_exec(tx, err, "INSERT OR IGNORE INTO t (name) VALUES ($1 || $2)", "tt",
                          (const char *)ctx, big);
}

static enum pay_err insert_big(struct pay_store *s, const char *name, struct pay_error *err)
{
    return pay_store_run_tx(s, big_body, (void *)name, err);
}

struct count {
    const char *name; /* NULL: every row */
    int64_t n;
};

static enum pay_err count_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct count *c = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT count(*) FROM t WHERE $1 IS NULL OR name = $1", "t", c->name);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    c->n = rc == 1 ? pay_store_col_int64(st, 0) : -1;
    pay_store_done(st);
    return rc == 1 ? PAY_ERR_OK : err->code;
}

static int64_t rows(struct pay_store *s, const char *name)
{
    struct count c = {name, -1};
    assert_int_equal(pay_store_run_read(s, count_body, &c, NULL), PAY_ERR_OK);
    return c.n;
}

static uint64_t reopens(struct pay_store *s)
{
    struct pay_store_stats st;
    pay_store_get_stats(s, &st);
    return st.reopens;
}

static void unarmed_shim_only_forwards(void **state)
{
    struct db *d = *state;
    pay_fault_clear();
    struct pay_fault_state before, after;
    pay_fault_get(&before);
    assert_int_equal(insert(d->s, "a", NULL), PAY_ERR_OK);
    pay_fault_get(&after);
    assert_true(pay_fault_layer_present());
    /* the commit went through the shim: its WAL writes and its fsync */
    assert_true(after.calls[1] > before.calls[1]);
    assert_true(after.calls[2] > before.calls[2]);
    assert_int_equal(after.injected, before.injected);
    assert_int_equal(rows(d->s, "a"), 1);
}

/* A disk that stays full: every write transaction fails with DB_FULL (the registry's message
 * in the detail is SQLite's), reads go on, and once space is back the store writes again and
 * the rows last. */
static void full_disk_until_cleared(void **state)
{
    struct db *d = *state;
    assert_int_equal(insert(d->s, "before", NULL), PAY_ERR_OK);
    uint64_t r0 = reopens(d->s);
    struct pay_store_stats st0, st1;
    pay_store_get_stats(d->s, &st0);
    arm(PAY_FAULT_WRITE | PAY_FAULT_SYNC, PAY_FAULT_FULL, 1, true);
    for (int i = 0; i < 3; i++) {
        struct pay_error err = {0};
        assert_int_equal(insert(d->s, "during", &err), PAY_ERR_DB_FULL);
        assert_int_equal(err.code, PAY_ERR_DB_FULL);
        assert_non_null(strstr(err.detail, "full"));
        assert_int_equal(rows(d->s, NULL), 1); /* reads need no writes */
    }
    /* a commit of several WAL frames (more than a page) fails the same way */
    assert_int_equal(insert_big(d->s, "during", NULL), PAY_ERR_DB_FULL);
    assert_false(pay_store_retryable(PAY_ERR_DB_FULL));
    assert_true(pay_store_failure(PAY_ERR_DB_FULL));
    pay_store_get_stats(d->s, &st1);
    assert_int_equal(st1.retries, st0.retries); /* never retried: it would fail again */
    assert_int_equal(st1.commits, st0.commits);
    assert_true(reopens(d->s) >= r0 + 4); /* the writer, after each failure */
    pay_fault_clear();
    assert_int_equal(insert(d->s, "after", NULL), PAY_ERR_OK);
    assert_int_equal(rows(d->s, "during"), 0);
    pay_store_close(d->s);
    d->s = open_store(d->path);
    assert_int_equal(rows(d->s, "before"), 1);
    assert_int_equal(rows(d->s, "after"), 1);
    assert_int_equal(rows(d->s, NULL), 2); /* nothing of the failed ones, big or small */
}

/* The fsync of one commit fails: the caller hears DB_UNAVAILABLE (not acknowledged); the next
 * commit succeeds without any clearing, and a retry of the failed one leaves exactly one row
 * (whether or not its frames reached the file, which is allowed: nothing acknowledged is lost,
 * not "nothing unacknowledged exists"). */
static void one_failed_fsync(void **state)
{
    struct db *d = *state;
    arm(PAY_FAULT_SYNC, PAY_FAULT_IO, 1, false);
    struct pay_error err = {0};
    assert_int_equal(insert(d->s, "x", &err), PAY_ERR_DB_UNAVAILABLE);
    assert_int_equal(insert(d->s, "y", NULL), PAY_ERR_OK);
    struct pay_fault_state st;
    pay_fault_get(&st);
    assert_int_equal(st.injected, 1);
    int64_t x = rows(d->s, "x");
    assert_true(x == 0 || x == 1);
    assert_int_equal(insert(d->s, "x", NULL), PAY_ERR_OK); /* the client's retry */
    pay_store_close(d->s);
    d->s = open_store(d->path);
    assert_int_equal(rows(d->s, "x"), 1);
    assert_int_equal(rows(d->s, "y"), 1);
}

/* Another connection writes, so that the store's writer must read the changed pages from the
 * file again: statements inside the next body do real reads. */
static void make_cache_stale(struct db *d)
{
    struct pay_store *other = open_store(d->path);
    for (int i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof name, "pad%d", i);
        assert_int_equal(insert(other, name, NULL), PAY_ERR_OK);
    }
    pay_store_close(other);
}

struct swallow {
    enum pay_err select_rc, insert_rc, rollback_rc;
    int depth_after;
};

/* A careless body: the disk fails under its SELECT, it ignores every error and says OK. */
static enum pay_err swallow_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct swallow *w = ctx;
    assert_int_equal(pay_store_savepoint(tx, err), PAY_ERR_OK);
    arm(PAY_FAULT_READ, PAY_FAULT_IO, 1, true);
    struct pay_store_stmt *st = pay_store_query(tx, err, "SELECT count(*), max(name) FROM t", "");
    w->select_rc = st && pay_store_step(st, err) == 1 ? PAY_ERR_OK : err->code;
    pay_store_done(st);
    pay_fault_clear(); /* the disk is back, but this transaction is lost */
    w->insert_rc = pay_store_exec(tx, err, "INSERT INTO t (name) VALUES ('swallowed')", "");
    w->rollback_rc = pay_store_rollback_to(tx, err);
    w->depth_after = pay_store_savepoint_depth(tx);
    (void)pay_store_exec(tx, err, "INSERT INTO t (name) VALUES ('swallowed2')", "");
    return PAY_ERR_OK;
}

static void body_cannot_swallow_a_failure(void **state)
{
    struct db *d = *state;
    make_cache_stale(d);
    uint64_t r0 = reopens(d->s);
    struct swallow w = {0};
    struct pay_error err = {0};
    assert_int_equal(pay_store_run_tx(d->s, swallow_body, &w, &err), PAY_ERR_DB_UNAVAILABLE);
    assert_int_equal(err.code, PAY_ERR_DB_UNAVAILABLE);
    assert_int_equal(w.select_rc, PAY_ERR_DB_UNAVAILABLE);
    assert_int_equal(w.insert_rc, PAY_ERR_DB_UNAVAILABLE); /* refused: the connection failed */
    assert_int_equal(w.rollback_rc, PAY_ERR_DB_UNAVAILABLE);
    assert_int_equal(w.depth_after, 0); /* the savepoint ended all the same */
    assert_int_equal(reopens(d->s), r0 + 1);
    assert_int_equal(rows(d->s, "swallowed"), 0);
    assert_int_equal(rows(d->s, "swallowed2"), 0);
    assert_int_equal(insert(d->s, "next", NULL), PAY_ERR_OK);
    assert_int_equal(rows(d->s, "next"), 1);
}

/* While every read fails, even the reopened connection cannot start; the store keeps
 * answering DB_UNAVAILABLE (and keeps trying to reopen) until the disk is back. */
static void reopen_waits_for_the_disk(void **state)
{
    struct db *d = *state;
    make_cache_stale(d);
    uint64_t r0 = reopens(d->s);
    arm(PAY_FAULT_READ, PAY_FAULT_IO, 1, true);
    for (int i = 0; i < 3; i++)
        assert_int_equal(insert(d->s, "blocked", NULL), PAY_ERR_DB_UNAVAILABLE);
    pay_fault_clear();
    assert_int_equal(insert(d->s, "unblocked", NULL), PAY_ERR_OK);
    assert_true(reopens(d->s) >= r0 + 1);
    assert_int_equal(rows(d->s, "blocked"), 0);
    assert_int_equal(rows(d->s, "unblocked"), 1);
}

/* A kept refusal (a wrong password whose attempt must stay counted) commits; when that commit
 * fails the caller hears the failure, not the refusal, and nothing stayed. */
static enum pay_err keep_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    (void)ctx;
    enum pay_err e = pay_store_exec(tx, err, "INSERT INTO t (name) VALUES ('attempt')", "");
    if (e != PAY_ERR_OK)
        return e;
    arm(PAY_FAULT_WRITE | PAY_FAULT_SYNC, PAY_FAULT_FULL, 1, true);
    pay_error_set(err, PAY_ERR_CREDENTIALS_INVALID, "password", NULL);
    return pay_store_keep(tx, PAY_ERR_CREDENTIALS_INVALID);
}

static void kept_refusal_on_a_full_disk(void **state)
{
    struct db *d = *state;
    struct pay_error err = {0};
    assert_int_equal(pay_store_run_tx(d->s, keep_body, NULL, &err), PAY_ERR_DB_FULL);
    assert_int_equal(err.code, PAY_ERR_DB_FULL);
    pay_fault_clear();
    assert_int_equal(rows(d->s, "attempt"), 0);
}

/* Another process that opens and closes the database after our writer was reopened: were our
 * process's locks on the file gone (a descriptor of it closed by the reopen drops them all),
 * it would take itself for the last user, checkpoint and delete the WAL, and our later
 * commits would go to an unlinked file it never sees. */
static const char *self;

static int64_t rows_seen_by_another_process(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' --count '%s'", self, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    long long n = -1;
    assert_int_equal(fscanf(p, "%lld", &n), 1);
    assert_int_equal(pclose(p), 0);
    return n;
}

static void other_process_after_a_reopen(void **state)
{
    struct db *d = *state;
    assert_int_equal(insert(d->s, "a", NULL), PAY_ERR_OK);
    uint64_t r0 = reopens(d->s);
    arm(PAY_FAULT_WRITE, PAY_FAULT_FULL, 1, false);
    assert_int_equal(insert(d->s, "lost", NULL), PAY_ERR_DB_FULL);
    assert_int_equal(reopens(d->s), r0 + 1);
    pay_fault_clear();
    assert_int_equal(rows_seen_by_another_process(d->path), 1);
    assert_int_equal(insert(d->s, "c", NULL), PAY_ERR_OK);
    assert_int_equal(rows_seen_by_another_process(d->path), 2);
}

/* `test_store_faults --count PATH`: prints the rows of t (the other process above). */
static int count_rows(const char *path)
{
    struct pay_store *s = open_store(path);
    printf("%lld\n", (long long)rows(s, NULL));
    pay_store_close(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--count") == 0)
        return count_rows(argv[2]);
    self = argv[0];
    assert_int_equal(pay_store_faults_install(), 0);
    assert_int_equal(pay_store_faults_install(), 0); /* once per process; again is harmless */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(unarmed_shim_only_forwards, setup, teardown),
        cmocka_unit_test_setup_teardown(full_disk_until_cleared, setup, teardown),
        cmocka_unit_test_setup_teardown(one_failed_fsync, setup, teardown),
        cmocka_unit_test_setup_teardown(body_cannot_swallow_a_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_waits_for_the_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(kept_refusal_on_a_full_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(other_process_after_a_reopen, setup, teardown),
    };
    return th_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
