/* Attempt guards (store/attempts.h) on a real SQLite file (in the pg suite, PostgreSQL): 50
 * parallel reservations admit exactly the limit, a success forgives its own try and the earlier
 * ones but never the later ones, it lifts only the lock its own try set, an administrator's lock
 * holds, and an expired lock starts afresh (time is the now_ms argument: no sleeping). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/limits.h"
#include "lib/testdb.h"
#include "store/attempts.h"
#include "store/store.h"
#include "lib/harness.h"

#define T0       1000000000000LL /* a fixed "now" */
#define LOCK_MS  (PAY_LOCKOUT_DURATION_S * 1000LL)
#define PARALLEL 50

static const struct pay_store_migration mig[] = {
    {1, "CREATE TABLE guards (subject TEXT PRIMARY KEY, seq BIGINT NOT NULL DEFAULT 0,"
        " forgiven_seq BIGINT NOT NULL DEFAULT 0, lock_seq BIGINT NOT NULL DEFAULT 0,"
        " locked_until_ms BIGINT NOT NULL DEFAULT 0)"},
};
static const struct pay_store_component comp = {"guards", mig, 1, NULL};

struct fixture {
    char dir[256], path[300];
    struct pay_store *s;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_int_equal(th_tmpdir(f->dir, sizeof f->dir, "paygate-attempts"), 0);
    char file[300];
    snprintf(file, sizeof file, "%s/db", f->dir);
    assert_int_equal(th_db_new("attempts", file, f->path, sizeof f->path), 0);
    const struct pay_store_component *list[] = {&comp, NULL};
    struct pay_store_options o = {.unsafe_no_sync = true};
    assert_int_equal(pay_store_open(f->path, &o, list, &f->s, NULL), PAY_ERR_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pay_store_close(f->s);
    th_tmpdir_done(f->dir);
    free(f);
    return 0;
}

/* One call in its own write transaction. */
struct call {
    enum { RESERVE, SUCCEED, LOCK, STATE } what;
    const char *subject;
    int64_t now_ms;
    struct pay_store_attempt a;
    int64_t locked_until_ms, left;
};

static enum pay_err call_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct call *c = ctx;
    enum pay_err e = PAY_ERR_OK;
    switch (c->what) {
    case RESERVE:
        e = pay_store_attempt_reserve(tx, "guards", c->subject, c->now_ms, &c->a, err);
        break;
    case SUCCEED:
        e = pay_store_attempt_succeeded(tx, "guards", c->subject, &c->a, err);
        break;
    case LOCK:
        e = pay_store_attempt_lock(tx, "guards", c->subject, c->locked_until_ms, err);
        break;
    case STATE:
        e = pay_store_attempt_state(tx, "guards", c->subject, c->now_ms, &c->locked_until_ms,
                                    &c->left, err);
        break;
    }
    return e;
}

static enum pay_err run(struct pay_store *s, struct call *c)
{
    struct pay_error err = {0};
    return pay_store_run_tx(s, call_tx, c, &err);
}

static struct pay_store_attempt reserve(struct pay_store *s, const char *subject, int64_t now)
{
    struct call c = {.what = RESERVE, .subject = subject, .now_ms = now};
    assert_int_equal(run(s, &c), PAY_ERR_OK);
    return c.a;
}

static void refused(struct pay_store *s, const char *subject, int64_t now)
{
    struct call c = {.what = RESERVE, .subject = subject, .now_ms = now};
    assert_int_equal(run(s, &c), PAY_ERR_LOCKED);
    assert_true(c.a.locked_until_ms > now);
}

static void succeed(struct pay_store *s, const char *subject, struct pay_store_attempt a)
{
    struct call c = {.what = SUCCEED, .subject = subject, .a = a};
    assert_int_equal(run(s, &c), PAY_ERR_OK);
}

static int64_t left(struct pay_store *s, const char *subject, int64_t now, int64_t *locked_until)
{
    struct call c = {.what = STATE, .subject = subject, .now_ms = now};
    assert_int_equal(run(s, &c), PAY_ERR_OK);
    if (locked_until)
        *locked_until = c.locked_until_ms;
    return c.left;
}

/* --- 50 parallel tries ------------------------------------------------------------------------ */

struct racer {
    struct pay_store *s;
    pthread_barrier_t *start;
    const char *subject;
    bool right; /* this one's secret is right: it records a success when admitted */
    enum pay_err result;
    struct pay_store_attempt a;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    pthread_barrier_wait(r->start);
    struct call c = {.what = RESERVE, .subject = r->subject, .now_ms = T0};
    r->result = run(r->s, &c);
    r->a = c.a;
    if (r->result == PAY_ERR_OK && r->right) {
        c.what = SUCCEED;
        r->result = run(r->s, &c);
    }
    return NULL;
}

/* Runs PARALLEL racers on subject (racer `right_one` has the right secret, -1: none); returns
 * how many were admitted (reserved: their secret would be checked). */
static int race_all(struct pay_store *s, const char *subject, int right_one,
                    struct racer r[PARALLEL])
{
    pthread_t t[PARALLEL];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, PARALLEL);
    for (int i = 0; i < PARALLEL; i++) {
        r[i] = (struct racer){s, &start, subject, i == right_one, PAY_ERR_OK, {0}};
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    int admitted = 0;
    for (int i = 0; i < PARALLEL; i++) {
        pthread_join(t[i], NULL);
        assert_true(r[i].result == PAY_ERR_OK || r[i].result == PAY_ERR_LOCKED);
        admitted += r[i].result == PAY_ERR_OK;
    }
    pthread_barrier_destroy(&start);
    return admitted;
}

static void parallel_wrong_tries_admit_exactly_the_limit(void **state)
{
    struct fixture *f = *state;
    struct racer r[PARALLEL];
    assert_int_equal(race_all(f->s, "login:x", -1, r), PAY_LOCKOUT_ATTEMPTS);
    int64_t until = 0;
    assert_int_equal(left(f->s, "login:x", T0, &until), 0);
    assert_int_equal(until, T0 + LOCK_MS);
    refused(f->s, "login:x", T0 + LOCK_MS - 1); /* a right secret too: it is not checked */
}

/* A right secret among 49 wrong ones: it is admitted only among the first `limit` tries. If
 * its success came after the limit-th try, that try's lock holds (`limit` checked in all);
 * if before, it forgave the k tries up to its own and the later ones reached the lock by
 * themselves (k + `limit` checked). Locked at the end either way. */
static void parallel_right_among_wrong(void **state)
{
    struct fixture *f = *state;
    struct racer r[PARALLEL];
    int admitted = race_all(f->s, "pay:y", 7, r);
    int64_t until = 0;
    assert_int_equal(left(f->s, "pay:y", T0, &until), 0); /* locked either way */
    assert_true(until > T0);
    if (r[7].result == PAY_ERR_OK) { /* admitted: its number was within the limit */
        int64_t k = r[7].a.seq;
        assert_true(k >= 1 && k <= PAY_LOCKOUT_ATTEMPTS);
        assert_true(admitted == PAY_LOCKOUT_ATTEMPTS || admitted == k + PAY_LOCKOUT_ATTEMPTS);
    } else {
        assert_int_equal(admitted, PAY_LOCKOUT_ATTEMPTS);
    }
}

/* --- the rule, step by step ------------------------------------------------------------------- */

static void success_forgives_earlier_tries_not_later_ones(void **state)
{
    struct fixture *f = *state;
    const char *s = "sms:z";
    assert_int_equal(reserve(f->s, s, T0).left, 4); /* wrong */
    assert_int_equal(reserve(f->s, s, T0).left, 3); /* wrong */
    struct pay_store_attempt right = reserve(f->s, s, T0);
    assert_int_equal(right.left, 2);
    assert_int_equal(reserve(f->s, s, T0).left, 1); /* wrong, reserved after the right one */
    succeed(f->s, s, right);
    assert_int_equal(left(f->s, s, T0, NULL), 4); /* only the later one still counts */
    assert_int_equal(reserve(f->s, s, T0).left, 3);
}

static void last_try_right_lifts_its_own_lock(void **state)
{
    struct fixture *f = *state;
    const char *s = "card:a";
    for (int i = 0; i < PAY_LOCKOUT_ATTEMPTS - 1; i++)
        (void)reserve(f->s, s, T0);
    struct pay_store_attempt last = reserve(f->s, s, T0);
    assert_int_equal(last.left, 0);
    refused(f->s, s, T0); /* while it is being checked, nobody else is */
    succeed(f->s, s, last);
    assert_int_equal(left(f->s, s, T0, NULL), PAY_LOCKOUT_ATTEMPTS);
    assert_int_equal(reserve(f->s, s, T0).left, PAY_LOCKOUT_ATTEMPTS - 1);
}

static void lock_set_by_a_later_try_holds(void **state)
{
    struct fixture *f = *state;
    const char *s = "card:b";
    struct pay_store_attempt right = reserve(f->s, s, T0);
    for (int i = 1; i < PAY_LOCKOUT_ATTEMPTS; i++)
        (void)reserve(f->s, s, T0); /* the limit-th sets the lock */
    succeed(f->s, s, right);
    int64_t until = 0;
    assert_int_equal(left(f->s, s, T0, &until), 0);
    assert_int_equal(until, T0 + LOCK_MS);
    refused(f->s, s, T0 + LOCK_MS - 1);
    /* an expired lock starts afresh */
    assert_int_equal(reserve(f->s, s, T0 + LOCK_MS).left, PAY_LOCKOUT_ATTEMPTS - 1);
}

static void administrator_lock_holds_until_it_ends(void **state)
{
    struct fixture *f = *state;
    const char *s = "card:c";
    struct pay_store_attempt a = reserve(f->s, s, T0);
    struct call c = {.what = LOCK, .subject = s, .locked_until_ms = T0 + 10};
    assert_int_equal(run(f->s, &c), PAY_ERR_OK);
    succeed(f->s, s, a); /* no success lifts it */
    refused(f->s, s, T0 + 9);
    assert_int_equal(reserve(f->s, s, T0 + 10).left, PAY_LOCKOUT_ATTEMPTS - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(parallel_wrong_tries_admit_exactly_the_limit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(parallel_right_among_wrong, setup, teardown),
        cmocka_unit_test_setup_teardown(success_forgives_earlier_tries_not_later_ones, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(last_try_right_lifts_its_own_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(lock_set_by_a_later_try_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(administrator_lock_holds_until_it_ends, setup, teardown),
    };
    return th_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
