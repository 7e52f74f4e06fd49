/* bench/risk: what one risk decision costs (docs/risk.md, "Cost"; target: 200 µs at p99).
 * Fills a platform database in DIR with a history of attempts (C consumers, each with devices,
 * cards and addresses, spread over the last 24 hours), then times N decisions of the platform's
 * own engine (pay_risk_decide_tx: every rule's counter read from the database, the attempt
 * recorded) inside write transactions of B decisions each, as the committer batches payments,
 * with the rules file RULES (default bench/risk.rules). Prints p50, p90, p99 and max in µs, by
 * the wall clock and by the thread's CPU clock (what a decision costs when the machine is
 * shared: time spent preempted is not the decision's).
 *
 * usage: bench/risk DIR [N=20000] [C=2000] [HISTORY=100000] [RULES] [B=64]
 * DIR must not hold a platform database yet (it is made there). */
#include "platform/platform.h"
#include "platform/risk.h"

#include "core/clock.h"
#include "crypto/crypto.h"

#include "core/assertions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define HISTORY_BATCH 5000 /* history rows per transaction (not timed) */

struct bench {
    struct pay_platform *p;
    long n, consumers, history, batch;
    long next;       /* the next attempt to make */
    int64_t base_ms; /* "now" of the first timed decision */
    double *us;      /* each timed decision, wall clock */
    double *cpu_us;  /* the same on this thread's CPU clock: without time spent preempted */
    long timed;
    bool timing;
};

static double clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Attempt i: a consumer, one of its 3 devices, cards and addresses, 12 merchants, an amount
 * from 1.00 to 800.00; i orders them in time (history: the last 24 h; timed: from base on). */
static void attempt_of(const struct bench *b, long i, char buf[6][48], struct pay_risk_attempt *a)
{
    unsigned long h = (unsigned long)i * 2654435761UL;
    long c = (long)(h % (unsigned long)b->consumers);
    snprintf(buf[0], 48, "c_%ld", c);
    snprintf(buf[1], 48, "cd_%ld_%lu", c, h % 3);
    snprintf(buf[2], 48, "dv_%ld_%lu", c, (h >> 8) % 3);
    snprintf(buf[3], 48, "10.%ld.%ld.%lu", c / 250, c % 250, (h >> 16) % 3);
    snprintf(buf[4], 48, "m_%lu", (h >> 20) % 12);
    snprintf(buf[5], 48, "tr_bench_%ld", i);
    memset(a, 0, sizeof *a);
    a->trade_id = buf[5];
    a->method = "wallet";
    a->currency = "CNY";
    a->amount_minor = 100 + (int64_t)((h >> 4) % 80000);
    for (int s = 0; s < PAY_RISK_SCOPES; s++)
        a->value[s] = buf[s];
    a->login = buf[0];
    int64_t span = 24LL * 3600 * 1000;
    a->at_ms = i < b->history ? b->base_ms - span + span * i / b->history
                              : b->base_ms + (i - b->history) * 50;
}

static enum pay_err batch_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct bench *b = ctx;
    long end = b->next + (b->next < b->history ? HISTORY_BATCH : b->batch);
    if (b->next < b->history && end > b->history)
        end = b->history; /* the timed ones start a batch of their own */
    for (long i = b->next; i < end && i < b->history + b->n; i++) {
        char buf[6][48];
        struct pay_risk_attempt a;
        struct pay_risk_decision d;
        attempt_of(b, i, buf, &a);
        double t0 = clock_us(CLOCK_MONOTONIC), c0 = clock_us(CLOCK_THREAD_CPUTIME_ID);
        enum pay_err e = pay_risk_decide_tx(&b->p->risk, tx, &a, &d, err);
        if (e == PAY_ERR_OK && d.action == PAY_RISK_ALLOW)
            e = pay_risk_paid_tx(tx, d.id, err);
        if (e != PAY_ERR_OK)
            return e;
        if (i >= b->history && b->timed < b->n) {
            b->cpu_us[b->timed] = clock_us(CLOCK_THREAD_CPUTIME_ID) - c0;
            b->us[b->timed++] = clock_us(CLOCK_MONOTONIC) - t0;
        }
    }
    return PAY_ERR_OK;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, c = *(const double *)y;
    return a < c ? -1 : a > c;
}

static int run(struct bench *b)
{
    struct pay_error err = {0};
    long total = b->history + b->n;
    while (b->next < total) {
        long timed_before = b->timed;
        long step = b->next < b->history ? HISTORY_BATCH : b->batch;
        if (b->next < b->history && b->next + step > b->history)
            step = b->history - b->next;
        if (pay_store_run_tx(b->p->store, batch_tx, b, &err) != PAY_ERR_OK) {
            fprintf(stderr, "bench/risk: %s %s\n", pay_err_name(err.code), err.detail);
            return 1;
        }
        PAY_ASSERT(b->next >= b->history || b->timed == timed_before);
        b->next += step;
    }
    long t = b->timed;
    printf("risk decisions: %ld timed after %ld in history, %ld consumers, batches of %ld\n", t,
           b->history, b->consumers, b->batch);
    double *sets[] = {b->us, b->cpu_us};
    const char *names[] = {"wall", "cpu "};
    for (int k = 0; k < 2; k++) {
        qsort(sets[k], (size_t)t, sizeof *sets[k], cmp_double);
        printf("%s p50 %.1f us  p90 %.1f us  p99 %.1f us  max %.1f us\n", names[k], sets[k][t / 2],
               sets[k][t * 90 / 100], sets[k][t * 99 / 100], sets[k][t - 1]);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr,
                "usage: bench/risk DIR [N=20000] [C=2000] [HISTORY=100000] [RULES] [B=64]\n");
        return 2;
    }
    struct bench b = {.n = argc > 2 ? strtol(argv[2], NULL, 10) : 20000,
                      .consumers = argc > 3 ? strtol(argv[3], NULL, 10) : 2000,
                      .history = argc > 4 ? strtol(argv[4], NULL, 10) : 100000,
                      .batch = argc > 6 ? strtol(argv[6], NULL, 10) : 64};
    const char *rules = argc > 5 ? argv[5] : PAYGATE_SOURCE_ROOT "/bench/risk.rules";
    if (b.n < 100 || b.consumers < 1 || b.history < 0 || b.batch < 1) {
        fprintf(stderr, "bench/risk: N >= 100, C >= 1, HISTORY >= 0, B >= 1\n");
        return 2;
    }
    b.us = calloc((size_t)b.n, sizeof *b.us);
    b.cpu_us = calloc((size_t)b.n, sizeof *b.cpu_us);
    struct pay_error err = {0};
    mkdir(argv[1], 0700);
    enum pay_err e =
        b.us && b.cpu_us ? pay_platform_open_offline(argv[1], NULL, &b.p, &err) : PAY_ERR_INTERNAL;
    if (e == PAY_ERR_OK) { /* an offline platform has no rules file: this one's */
        pay_risk_fini(&b.p->risk);
        e = pay_risk_init(&b.p->risk, rules, &err);
    }
    if (e != PAY_ERR_OK) {
        fprintf(stderr, "bench/risk: %s %s %s\n", pay_err_name(e), err.field, err.detail);
        pay_platform_close(b.p);
        return 1;
    }
    b.base_ms = pay_clock_now_ms();
    int rc = run(&b);
    pay_platform_close(b.p);
    free(b.us);
    free(b.cpu_us);
    return rc;
}
