/* The database nonce cache (store/nonces.h) on a real SQLite file (in the pg suite,
 * PostgreSQL): a nonce is accepted once per key, also across two stores on one database (two
 * processes), and once only when 20 threads on the two stores send it at once; it is kept for
 * two windows after its timestamp and fresh again after that, its row purged by the next purge
 * (at most one per PAY_STORE_NONCES_PURGE_S; time is the now argument: no sleeping); a table name
 * that is not a plain name is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/testdb.h"
#include "store/nonces.h"
#include "store/store.h"

#define TS       1764000000LL /* a message's timestamp, seconds */
#define WINDOW   300
#define PARALLEL 20

static const struct pay_store_migration mig[] = {
    {1, "CREATE TABLE seen (key_id TEXT NOT NULL, nonce TEXT NOT NULL,"
        " expires_s BIGINT NOT NULL, PRIMARY KEY (key_id, nonce));"
        "CREATE INDEX seen_expires ON seen(expires_s)"},
};
static const struct pay_store_component comp = {"nonces", mig, 1, NULL};

struct fixture {
    char dir[64], path[300];
    struct pay_store *s[2]; /* two stores on one database: two processes */
    struct pay_nonce_cache *c[2];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/paygate-nonces-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char file[96];
    snprintf(file, sizeof file, "%s/db", f->dir);
    assert_int_equal(th_db_new("nonces", file, f->path, sizeof f->path), 0);
    const struct pay_store_component *list[] = {&comp, NULL};
    struct pay_store_options o = {.unsafe_no_sync = true};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pay_store_open(f->path, &o, list, &f->s[i], NULL), PAY_ERR_OK);
        f->c[i] = pay_store_nonces_new(f->s[i], "seen", WINDOW, NULL, NULL);
        assert_non_null(f->c[i]);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 2; i++) {
        pay_nonce_cache_free(f->c[i]);
        pay_store_close(f->s[i]);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static enum pay_err check(struct pay_nonce_cache *c, const char *key, const char *nonce, int64_t ts,
                          int64_t now)
{
    return c->check_and_add(c, key, nonce, ts, now);
}

static enum pay_err count_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(tx, err, "SELECT COUNT(*) FROM seen", "");
    if (!st)
        return err->code;
    if (pay_store_step(st, err) == 1)
        *(int64_t *)ctx = pay_store_col_int64(st, 0);
    pay_store_done(st);
    return PAY_ERR_OK;
}

static int64_t rows(struct fixture *f)
{
    int64_t n = -1;
    assert_int_equal(pay_store_run_read(f->s[0], count_tx, &n, NULL), PAY_ERR_OK);
    return n;
}

static void once_per_key_and_across_stores(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(check(f->c[0], "m_a", "n1", TS, TS), PAY_ERR_OK);
    assert_int_equal(check(f->c[0], "m_a", "n1", TS, TS + 1), PAY_ERR_NONCE_REPLAYED);
    assert_int_equal(check(f->c[1], "m_a", "n1", TS, TS + 1), PAY_ERR_NONCE_REPLAYED);
    assert_int_equal(check(f->c[1], "m_b", "n1", TS, TS + 1), PAY_ERR_OK); /* another key */
    assert_int_equal(check(f->c[1], "m_a", "n2", TS, TS + 1), PAY_ERR_OK);
    assert_int_equal(check(f->c[0], "m_a", "n2", TS, TS + 2), PAY_ERR_NONCE_REPLAYED);
    assert_int_equal(rows(f), 3);
}

/* Kept while its message can still pass another node's window check (ts + 2 windows), purged
 * by the first check after that. */
static void kept_two_windows_then_purged(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(check(f->c[0], "m_a", "old", TS, TS), PAY_ERR_OK);
    assert_int_equal(check(f->c[1], "m_a", "old", TS, TS + 2 * WINDOW), PAY_ERR_NONCE_REPLAYED);
    assert_int_equal(rows(f), 1);
    int64_t later = TS + 2 * WINDOW + 1;
    assert_int_equal(check(f->c[0], "m_a", "new", later, later), PAY_ERR_OK);
    assert_int_equal(rows(f), 1); /* "old" purged (c[0]'s first purge since TS), "new" kept */
    assert_int_equal(check(f->c[1], "m_a", "new", later, later + 1), PAY_ERR_NONCE_REPLAYED);
}

static uint64_t statements(struct fixture *f, int i)
{
    struct pay_store_stats st;
    pay_store_get_stats(f->s[i], &st);
    return st.prepares + st.cache_hits;
}

/* The purge runs at most once per PAY_STORE_NONCES_PURGE_S per cache, so a check between
 * purges is one statement (after the write transaction's own); meanwhile an expired nonce's
 * row is still there, and the nonce is fresh again all the same (once). */
static void expired_fresh_again_between_purges(void **state)
{
    struct fixture *f = *state;
    assert_true(PAY_STORE_NONCES_PURGE_S > 1 && PAY_STORE_NONCES_PURGE_S <= 2 * WINDOW);
    assert_int_equal(check(f->c[0], "m_a", "old", TS, TS), PAY_ERR_OK); /* c[0] purged */
    uint64_t n0 = statements(f, 1);
    assert_int_equal(check(f->c[1], "m_a", "x", TS, TS + 2 * WINDOW), PAY_ERR_OK); /* purged */
    uint64_t n1 = statements(f, 1);
    assert_int_equal(n1 - n0, 3);        /* its transaction's generation, the purge, the insert */
    int64_t later = TS + 2 * WINDOW + 1; /* "old" expired; c[1]'s next purge is not due */
    assert_int_equal(check(f->c[1], "m_a", "old", later, later), PAY_ERR_OK);
    assert_int_equal(statements(f, 1) - n1, 2); /* no purge */
    assert_int_equal(rows(f), 2);               /* "old" taken over, "x" there */
    assert_int_equal(check(f->c[1], "m_a", "old", later, later + 1), PAY_ERR_NONCE_REPLAYED);
    /* c[0]'s purge is due: "x" (expired) goes, "old" (fresh again) stays */
    assert_int_equal(check(f->c[0], "m_a", "old", later, later + 1), PAY_ERR_NONCE_REPLAYED);
    assert_int_equal(rows(f), 1);
}

struct racer {
    struct pay_nonce_cache *c;
    pthread_barrier_t *start;
    enum pay_err result;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    pthread_barrier_wait(r->start);
    r->result = check(r->c, "m_a", "raced", TS, TS);
    return NULL;
}

static void parallel_on_two_stores_accept_one(void **state)
{
    struct fixture *f = *state;
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, PARALLEL);
    struct racer r[PARALLEL];
    pthread_t t[PARALLEL];
    for (int i = 0; i < PARALLEL; i++) {
        r[i] = (struct racer){f->c[i % 2], &start, PAY_ERR_INTERNAL};
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    int ok = 0, replayed = 0;
    for (int i = 0; i < PARALLEL; i++) {
        pthread_join(t[i], NULL);
        ok += r[i].result == PAY_ERR_OK;
        replayed += r[i].result == PAY_ERR_NONCE_REPLAYED;
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(ok, 1);
    assert_int_equal(replayed, PARALLEL - 1);
}

static void table_name_checked(void **state)
{
    struct fixture *f = *state;
    assert_null(pay_store_nonces_new(f->s[0], "seen; DROP TABLE seen", WINDOW, NULL, NULL));
    assert_null(pay_store_nonces_new(f->s[0], "", WINDOW, NULL, NULL));
    assert_null(pay_store_nonces_new(f->s[0], "Seen", WINDOW, NULL, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(once_per_key_and_across_stores, setup, teardown),
        cmocka_unit_test_setup_teardown(kept_two_windows_then_purged, setup, teardown),
        cmocka_unit_test_setup_teardown(expired_fresh_again_between_purges, setup, teardown),
        cmocka_unit_test_setup_teardown(parallel_on_two_stores_accept_one, setup, teardown),
        cmocka_unit_test_setup_teardown(table_name_checked, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
