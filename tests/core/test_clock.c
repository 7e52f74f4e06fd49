/* The clock (core/clock.h): business time real or a test clock, steps refused beyond the cap,
 * monotonic timed waits, and a worker woken at once by a move of the test clock (a sleep of a
 * minute ends as soon as the clock moves), reporting what it has looked at. */
#include "lib/tmp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/limits.h"

static void real_clock(void **state)
{
    (void)state;
    pay_clock_use_real();
    assert_false(pay_clock_is_fake());
    int64_t a = pay_clock_real_ms(), b = pay_clock_now_ms(), c = pay_clock_real_ms();
    assert_true(a <= b && b <= c);
    struct pay_error err = {0};
    assert_int_equal(pay_clock_advance(1000, &err), PAY_ERR_NOT_FOUND);
    assert_int_equal(pay_clock_moves(), 0);
    int64_t m1 = pay_clock_mono_ms(), m2 = pay_clock_mono_ms();
    assert_true(m2 >= m1);
    int64_t w = pay_clock_window_ms(), m3 = pay_clock_mono_ms(); /* windows: monotonic */
    assert_true(w >= m2 && w <= m3);
}

static void test_clock_moves_only_when_moved(void **state)
{
    (void)state;
    pay_clock_use_fake(1700000000000LL);
    assert_true(pay_clock_is_fake());
    assert_int_equal(pay_clock_now_ms(), 1700000000000LL);
    uint64_t moves = pay_clock_moves();
    assert_int_equal(pay_clock_advance(1500, NULL), PAY_ERR_OK);
    assert_int_equal(pay_clock_now_ms(), 1700000001500LL);
    assert_int_equal(pay_clock_advance(-500, NULL), PAY_ERR_OK); /* a step back */
    assert_int_equal(pay_clock_now_ms(), 1700000001000LL);
    assert_int_equal(pay_clock_window_ms(), 1700000001000LL); /* windows follow the test clock */
    assert_int_equal(pay_clock_moves(), moves + 2);
    struct pay_error err = {0};
    assert_int_equal(pay_clock_advance(PAY_CLOCK_STEP_MAX_MS + 1, &err), PAY_ERR_FIELD_INVALID);
    assert_string_equal(err.field, "advance_ms");
    assert_int_equal(pay_clock_advance(-PAY_CLOCK_STEP_MAX_MS - 1, NULL), PAY_ERR_FIELD_INVALID);
    assert_int_equal(pay_clock_now_ms(), 1700000001000LL); /* refused steps change nothing */
    assert_int_equal(pay_clock_moves(), moves + 2);
    assert_int_equal(pay_clock_advance(PAY_CLOCK_STEP_MAX_MS, NULL), PAY_ERR_OK);
    pay_clock_use_fake(0); /* 0: starts at the real time */
    int64_t real = pay_clock_real_ms();
    assert_true(pay_clock_now_ms() <= real && pay_clock_now_ms() > real - 60000);
    pay_clock_use_real();
}

/* A server's test clock is kept in a file: after a restart it goes on from where it stood,
 * not from the real time (which may be earlier than the moves made it). */
static void test_clock_survives_restart(void **state)
{
    (void)state;
    char dir[256], path[320];
    assert_int_equal(th_tmpdir(dir, sizeof dir, "paygate-clock"), 0);
    snprintf(path, sizeof path, "%s/fake-clock", dir);
    assert_int_equal(pay_clock_use_fake_file(path), 0); /* no file yet: the real time */
    int64_t start = pay_clock_now_ms();
    assert_true(start <= pay_clock_real_ms());
    assert_int_equal(pay_clock_advance(30LL * 24 * 3600 * 1000, NULL), PAY_ERR_OK);
    int64_t later = pay_clock_now_ms();
    pay_clock_use_real();                               /* the server stops */
    assert_int_equal(pay_clock_use_fake_file(path), 0); /* and starts again */
    assert_int_equal(pay_clock_now_ms(), later);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("yesterday\n", f);
    fclose(f);
    assert_int_equal(pay_clock_use_fake_file(path), -1);
    pay_clock_use_real();
    th_tmpdir_done(dir);
}

static void monotonic_timed_wait(void **state)
{
    (void)state;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv;
    pay_clock_cond_init(&cv);
    int64_t t0 = pay_clock_mono_ms();
    struct timespec deadline = pay_clock_deadline_us(50000);
    pthread_mutex_lock(&mu);
    int rc = 0;
    while (rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&cv, &mu, &deadline);
    pthread_mutex_unlock(&mu);
    assert_true(pay_clock_mono_ms() - t0 >= 50);
    pthread_cond_destroy(&cv);
}

/* A worker that evaluates (counting its evaluations), then sleeps a minute at a time. */
struct worker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pay_clock_worker w;
    bool stop;
    atomic_int evaluations;
};

static void *worker_main(void *arg)
{
    struct worker *k = arg;
    pthread_mutex_lock(&k->mu);
    while (!k->stop) {
        pay_clock_worker_begin(&k->w);
        atomic_fetch_add(&k->evaluations, 1);
        pay_clock_worker_end(&k->w);
        if (!k->stop)
            pay_clock_worker_sleep(&k->w, 60000);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

static uint64_t seen_by(const char *name)
{
    struct pay_clock_worker_state s[8];
    size_t n = pay_clock_workers(s, 8);
    for (size_t i = 0; i < n && i < 8; i++)
        if (strcmp(s[i].name, name) == 0)
            return s[i].done;
    fail_msg("worker %s is not listed", name);
    return 0;
}

/* Polls (1 ms apart) up to 10 s for cond: the event, with a bound far above what it takes. */
#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        int64_t until_ = pay_clock_mono_ms() + 10000;                                              \
        while (!(cond) && pay_clock_mono_ms() < until_) {                                          \
            struct timespec ms_ = {0, 1000000L};                                                   \
            nanosleep(&ms_, NULL);                                                                 \
        }                                                                                          \
        assert_true(cond);                                                                         \
    } while (0)

static void worker_wakes_when_the_clock_moves(void **state)
{
    (void)state;
    pay_clock_use_fake(1700000000000LL);
    struct worker k = {.mu = PTHREAD_MUTEX_INITIALIZER};
    pay_clock_cond_init(&k.cv);
    pay_clock_worker_add(&k.w, "test-worker", &k.mu, &k.cv);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, worker_main, &k), 0);
    WAIT_FOR(atomic_load(&k.evaluations) == 1); /* then asleep for a minute */
    int64_t t0 = pay_clock_mono_ms();
    assert_int_equal(pay_clock_advance(1000, NULL), PAY_ERR_OK);
    uint64_t m = pay_clock_moves();
    WAIT_FOR(seen_by("test-worker") >= m); /* it looked after the move */
    assert_int_equal(atomic_load(&k.evaluations), 2);
    assert_true(pay_clock_mono_ms() - t0 < 30000); /* not the minute's sleep */
    pthread_mutex_lock(&k.mu);
    k.stop = true;
    pthread_cond_broadcast(&k.cv);
    pthread_mutex_unlock(&k.mu);
    pthread_join(th, NULL);
    pay_clock_worker_remove(&k.w);
    pay_clock_worker_remove(&k.w); /* twice is harmless */
    struct pay_clock_worker_state s[8];
    for (size_t i = 0, n = pay_clock_workers(s, 8); i < n && i < 8; i++)
        assert_string_not_equal(s[i].name, "test-worker");
    pthread_cond_destroy(&k.cv);
    pay_clock_use_real();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_clock),
        cmocka_unit_test(test_clock_moves_only_when_moved),
        cmocka_unit_test(test_clock_survives_restart),
        cmocka_unit_test(monotonic_timed_wait),
        cmocka_unit_test(worker_wakes_when_the_clock_moves),
    };
    return th_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
