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

#include "ledger/ledger.h"

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

static _Atomic int64_t ledger_now_ms = 1700000000000LL;

static int64_t fake_now(void *ctx)
{
    (void)ctx;
    return atomic_load(&ledger_now_ms);
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

static void expiry_runs_on_time_after_a_clock_step_back(void **state)
{
    (void)state;
    char dir[64], path[96];
    snprintf(dir, sizeof dir, "/tmp/paygate-clock-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/l.db", dir);
    const struct pay_store_component *schema[] = {&pay_ledger_schema, NULL};
    struct pay_store *s;
    struct pay_ledger *lg;
    struct pay_committer *c;
    assert_int_equal(pay_store_open(path, NULL, schema, &s, NULL), PAY_ERR_OK);
    assert_int_equal(pay_ledger_new(s, fake_now, NULL, &lg, NULL), PAY_ERR_OK);
    struct pay_committer_options o = {.expire_interval_ms = 20};
    assert_int_equal(pay_committer_start(lg, &o, &c, NULL), PAY_ERR_OK);
    struct pay_ledger_account a[2] = {{.id = "bank", .currency = "CNY"},
                                      {.id = "shop", .currency = "CNY"}};
    enum pay_ledger_result r[2];
    assert_int_equal(pay_committer_create_accounts(c, a, 2, r, NULL), PAY_ERR_OK);
    struct pay_ledger_transfer hold = {.id = "h1",
                                       .debit_account_id = "bank",
                                       .credit_account_id = "shop",
                                       .currency = "CNY",
                                       .amount_minor = 100,
                                       .flags = PAY_LEDGER_TF_PENDING,
                                       .timeout_s = 1};
    assert_int_equal(pay_committer_transfers(c, &hold, 1, r, NULL), PAY_ERR_OK);
    assert_int_equal(r[0], PAY_LEDGER_OK);

    atomic_store(&realtime_ahead_s, STEP_S);               /* the system clock steps back */
    atomic_fetch_add(&ledger_now_ms, 2000);                /* h1's timeout has passed */
    assert_int_equal(wait_expired(c, 1, STEP_S / 3.0), 1); /* far above the 20 ms interval */

    atomic_store(&realtime_ahead_s, 0);
    pay_committer_stop(c);
    size_t v = 99;
    assert_int_equal(pay_ledger_verify(s, stderr, &v, NULL), PAY_ERR_OK);
    assert_int_equal(v, 0);
    pay_ledger_free(lg);
    pay_store_close(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* The scan interval is measured on the ledger's clock (expiry deadlines are wall time); when
 * that clock goes back, the committer scans at once instead of pausing for the step. One
 * expiry per scan (batch_max 1) and a frozen clock make the count exact. */
static void expiry_scan_continues_when_the_ledger_clock_goes_back(void **state)
{
    (void)state;
    char dir[64], path[96];
    snprintf(dir, sizeof dir, "/tmp/paygate-clock-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/l.db", dir);
    const struct pay_store_component *schema[] = {&pay_ledger_schema, NULL};
    struct pay_store *s;
    struct pay_ledger *lg;
    struct pay_committer *c;
    assert_int_equal(pay_store_open(path, NULL, schema, &s, NULL), PAY_ERR_OK);
    assert_int_equal(pay_ledger_new(s, fake_now, NULL, &lg, NULL), PAY_ERR_OK);
    struct pay_committer_options o = {.expire_interval_ms = 20, .batch_max = 1};
    assert_int_equal(pay_committer_start(lg, &o, &c, NULL), PAY_ERR_OK);
    struct pay_ledger_account a[2] = {{.id = "bank", .currency = "CNY"},
                                      {.id = "shop", .currency = "CNY"}};
    enum pay_ledger_result r[3];
    assert_int_equal(pay_committer_create_accounts(c, a, 2, r, NULL), PAY_ERR_OK);
    int64_t t0 = atomic_load(&ledger_now_ms);
    struct pay_ledger_transfer hold[3];
    for (int i = 0; i < 3; i++) {
        hold[i] = (struct pay_ledger_transfer){.debit_account_id = "bank",
                                               .credit_account_id = "shop",
                                               .currency = "CNY",
                                               .amount_minor = 100,
                                               .flags = PAY_LEDGER_TF_PENDING,
                                               .timeout_s = 1};
        snprintf(hold[i].id, sizeof hold[i].id, "h%d", i);
    }
    assert_int_equal(pay_committer_transfers(c, hold, 3, r, NULL), PAY_ERR_OK);
    atomic_store(&ledger_now_ms, t0 + 2000); /* all three due; one per scan, then frozen */
    assert_int_equal(wait_expired(c, 1, 10), 1);
    atomic_store(&ledger_now_ms, t0 + 1500); /* steps back; the other two are still due */
    assert_int_equal(wait_expired(c, 2, 10), 2);

    pay_committer_stop(c);
    size_t v = 99;
    assert_int_equal(pay_ledger_verify(s, stderr, &v, NULL), PAY_ERR_OK);
    assert_int_equal(v, 0);
    pay_ledger_free(lg);
    pay_store_close(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(expiry_runs_on_time_after_a_clock_step_back),
        cmocka_unit_test(expiry_scan_continues_when_the_ledger_clock_goes_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
