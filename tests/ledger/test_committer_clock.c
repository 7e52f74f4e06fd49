/* The committer's timed waits do not follow the wall clock: when the system clock steps back,
 * a deadline taken from CLOCK_REALTIME lies that much further away and the committer sleeps
 * for the whole step (issue 11: 15 s stalls). This test binary replaces clock_gettime so that
 * CLOCK_REALTIME reads STEP_S seconds ahead of the kernel's wall clock, which is exactly what a
 * deadline computed just before a step back of STEP_S looks like to the kernel; the monotonic
 * clock is left alone. The committer must still run its expiry scan within its interval. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "ledger/ledger.h"
#include "lib/harness.h"

#define STEP_S 30

static atomic_int realtime_ahead_s;

/* Interposes libc's clock_gettime for this executable (the ledger library is linked in
 * statically, so its calls land here). */
int clock_gettime(clockid_t id, struct timespec *ts)
{
    int rc = (int)syscall(SYS_clock_gettime, id, ts);
    if (rc == 0 && id == CLOCK_REALTIME)
        ts->tv_sec += atomic_load(&realtime_ahead_s);
    return rc;
}

static double mono_s(void)
{
    struct timespec ts;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A ledger on a fresh store with a committer, and two CNY accounts "bank" and "shop". */
struct rig {
    char dir[256], path[300];
    struct pay_store *s;
    struct pay_ledger *lg;
    struct pay_committer *c;
};

static void rig_open(struct rig *r, const struct pay_committer_options *o)
{
    atomic_store(&realtime_ahead_s, 0); /* a failed test may have left it stepped */
    assert_int_equal(th_tmpdir(r->dir, sizeof r->dir, "paygate-clock"), 0);
    snprintf(r->path, sizeof r->path, "%s/l.db", r->dir);
    const struct pay_store_component *schema[] = {&pay_ledger_schema, NULL};
    assert_int_equal(pay_store_open(r->path, NULL, schema, &r->s, NULL), PAY_ERR_OK);
    assert_int_equal(pay_ledger_new(r->s, &r->lg, NULL), PAY_ERR_OK);
    assert_int_equal(pay_committer_start(r->lg, o, &r->c, NULL), PAY_ERR_OK);
    struct pay_ledger_account a[2] = {{.id = "bank", .currency = "CNY"},
                                      {.id = "shop", .currency = "CNY"}};
    enum pay_ledger_result res[2];
    assert_int_equal(pay_committer_create_accounts(r->c, a, 2, res, NULL), PAY_ERR_OK);
    assert_int_equal(res[0], PAY_LEDGER_OK);
}

static void rig_close(struct rig *r)
{
    pay_committer_stop(r->c);
    size_t v = 99;
    assert_int_equal(pay_ledger_verify(r->s, stderr, &v, NULL), PAY_ERR_OK);
    assert_int_equal(v, 0);
    pay_ledger_free(r->lg);
    pay_store_close(r->s);
    assert_int_equal(th_tmpdir_done(r->dir), 0);
}

/* A pending bank -> shop transfer of 100 with a timeout of timeout_s. */
static struct pay_ledger_transfer hold(const char *id, uint32_t timeout_s)
{
    struct pay_ledger_transfer t = {.debit_account_id = "bank",
                                    .credit_account_id = "shop",
                                    .currency = "CNY",
                                    .amount_minor = 100,
                                    .flags = PAY_LEDGER_TF_PENDING,
                                    .timeout_s = timeout_s};
    snprintf(t.id, sizeof t.id, "%s", id);
    return t;
}

/* Polls (1 ms apart) until the committer has expired `want` pending transfers or max_s
 * seconds have passed; returns the count. */
static uint64_t wait_expired(struct pay_committer *c, uint64_t want, double max_s)
{
    struct pay_committer_stats st = {0};
    double deadline = mono_s() + max_s;
    for (pay_committer_get_stats(c, &st); st.expired < want && mono_s() < deadline;) {
        struct timespec pause = {0, 1000000L};
        nanosleep(&pause, NULL);
        pay_committer_get_stats(c, &st);
    }
    return st.expired;
}

/* On the real clock (business time is CLOCK_REALTIME, shifted here with it): h1 falls due one
 * second after the step, with no batch and no wake-up to announce it; only the committer's
 * idle deadline, taken after the step, can find it. */
static void expiry_runs_on_time_after_a_clock_step_back(void **state)
{
    (void)state;
    pay_clock_use_real();
    struct rig r;
    rig_open(&r, &(struct pay_committer_options){.expire_interval_ms = 20});
    struct pay_ledger_transfer h = hold("h1", STEP_S + 1);
    enum pay_ledger_result res;
    assert_int_equal(pay_committer_transfers(r.c, &h, 1, &res, NULL), PAY_ERR_OK);
    assert_int_equal(res, PAY_LEDGER_OK);

    atomic_store(&realtime_ahead_s, STEP_S); /* the system clock steps back */
    /* One more batch, so that the committer's next idle deadline is taken after the step
     * (h1 is not due yet: this batch expires nothing). */
    struct pay_ledger_account again = {.id = "bank", .currency = "CNY"};
    assert_int_equal(pay_committer_create_accounts(r.c, &again, 1, &res, NULL), PAY_ERR_OK);
    assert_int_equal(res, PAY_LEDGER_EXISTS);
    struct pay_committer_stats st;
    pay_committer_get_stats(r.c, &st);
    assert_int_equal(st.expired, 0);
    /* Due a second later; expired within a third of the step: far above the 20 ms interval. */
    assert_int_equal(wait_expired(r.c, 1, 1 + STEP_S / 3.0), 1);
    atomic_store(&realtime_ahead_s, 0);
    rig_close(&r);
}

/* The scan interval is measured on the ledger's clock (expiry deadlines are wall time); when
 * that clock goes back, the committer scans at once instead of pausing for the step. One
 * expiry per scan (batch_max 1) and a frozen clock make the count exact. */
static void expiry_scan_continues_when_the_ledger_clock_goes_back(void **state)
{
    (void)state;
    pay_clock_use_fake(1700000000000LL);
    struct rig r;
    rig_open(&r, &(struct pay_committer_options){.expire_interval_ms = 20, .batch_max = 1});
    struct pay_ledger_transfer h[3] = {hold("h0", 1), hold("h1", 1), hold("h2", 1)};
    enum pay_ledger_result res[3];
    assert_int_equal(pay_committer_transfers(r.c, h, 3, res, NULL), PAY_ERR_OK);
    /* all three due; one per scan, then frozen */
    assert_int_equal(pay_clock_advance(2000, NULL), PAY_ERR_OK);
    assert_int_equal(wait_expired(r.c, 1, 10), 1);
    /* steps back; the other two are still due */
    assert_int_equal(pay_clock_advance(-500, NULL), PAY_ERR_OK);
    assert_int_equal(wait_expired(r.c, 2, 10), 2);
    rig_close(&r);
    pay_clock_use_real();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(expiry_runs_on_time_after_a_clock_step_back),
        cmocka_unit_test(expiry_scan_continues_when_the_ledger_clock_goes_back),
    };
    return th_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
