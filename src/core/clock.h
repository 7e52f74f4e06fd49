/* The clock every server reads, and the one way to wait for time (issue 11).
 *
 * Three kinds of time:
 *  - pay_clock_now_ms(): business time, Unix ms. Every record's timestamp, every expiry,
 *    session, retry schedule and lockout reads it. The real wall clock in production; a test
 *    clock (pay_clock_use_fake) only moves when pay_clock_advance moves it.
 *  - pay_clock_real_ms(): the real wall clock, never faked, for what another clock checks:
 *    signature timestamps, TOTP codes, certificates, ids, logs.
 *  - pay_clock_mono_ms(): CLOCK_MONOTONIC, for timeouts and intervals. It never steps, so a
 *    timed wait on it never stretches when the system clock is set back.
 *
 * Waiting: every condition variable that is waited on with a deadline is made by
 * pay_clock_cond_init (CLOCK_MONOTONIC) and given a deadline from pay_clock_deadline_us. A
 * thread that waits for a business time (a retry, an expiry) registers as a struct
 * pay_clock_worker: a move of the test clock wakes it at once, and it reports the last move
 * its evaluation saw, so that a test can wait until every worker has looked after a move
 * (GET /sandbox/clock) instead of sleeping.
 *
 * Threads: every function may be called from any thread. */
#ifndef PAY_CORE_CLOCK_H
#define PAY_CORE_CLOCK_H

#include "core/errors.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Business time in Unix ms (see above). */
int64_t pay_clock_now_ms(void);

/* The real wall clock in Unix ms (CLOCK_REALTIME); may step. */
int64_t pay_clock_real_ms(void);

/* Milliseconds since an arbitrary start (CLOCK_MONOTONIC). */
int64_t pay_clock_mono_ms(void);

/* The clock of abuse windows (rate-limit buckets): the test clock when one is in use, so a
 * test refills a bucket by moving time instead of sleeping; otherwise CLOCK_MONOTONIC, so a
 * step of the system clock neither empties nor refills one. Callers treat a step back of
 * the test clock as no time passed. */
int64_t pay_clock_window_ms(void);

/* --- the test clock ------------------------------------------------------------------------ */

/* Makes business time a test clock standing at start_ms (0: the real time now) that moves only
 * with pay_clock_advance. Process-wide; call it before the threads that read the clock start.
 * Servers do so only when configured with fake_clock = true (and say so loudly). */
void pay_clock_use_fake(int64_t start_ms);

/* A server's test clock (fake_clock = true): as pay_clock_use_fake(0), but it survives
 * restarts of the server: it starts at the time stored in path (its data dir's "fake-clock"
 * file) when there is one, and its time is stored there at start and at every move (mode
 * 0600). A test that kills and restarts a server finds its business time exactly where it
 * left it. -1 when the file exists but does not hold a time. */
int pay_clock_use_fake_file(const char *path);

/* Back to the real clock (unit tests that used the test clock). */
void pay_clock_use_real(void);

bool pay_clock_is_fake(void);

/* Moves the test clock by delta_ms (negative: a step back of the wall clock, to test that
 * nothing hangs or misbehaves), then wakes every registered worker. NOT_FOUND when the clock
 * is real; FIELD_INVALID (field "advance_ms") when |delta_ms| > PAY_CLOCK_STEP_MAX_MS. */
enum pay_err pay_clock_advance(int64_t delta_ms, struct pay_error *err);

/* How many times the test clock has moved (0 with the real clock). */
uint64_t pay_clock_moves(void);

/* --- waiting --------------------------------------------------------------------------------- */

/* Initialises cv so that its timed waits use CLOCK_MONOTONIC. Aborts when the system cannot
 * (a process that cannot time its waits must not run). */
void pay_clock_cond_init(pthread_cond_t *cv);

/* The CLOCK_MONOTONIC time timeout_us from now, for pthread_cond_timedwait on a condition
 * variable made by pay_clock_cond_init. */
struct timespec pay_clock_deadline_us(int64_t timeout_us);

/* A thread that waits for business time to pass: it evaluates what is due (begin ... end) and
 * sleeps between evaluations on its own mutex and condition variable (shared with whatever
 * else wakes it); the clock only borrows them to wake it when it moves. */
struct pay_clock_worker {
    const char *name;      /* shown by GET /sandbox/clock: "notifier", "committer", ... */
    pthread_mutex_t *mu;   /* held by the worker while it sleeps */
    pthread_cond_t *cv;    /* made by pay_clock_cond_init */
    _Atomic uint64_t seen; /* pay_clock_moves() when its evaluation in progress began */
    _Atomic uint64_t done; /* `seen` of its last finished evaluation */
    bool listed;           /* in the clock's list */
    struct pay_clock_worker *next;
};

/* Registers w (storage owned by the caller until pay_clock_worker_remove). Call it without
 * *mu held, before the worker's first evaluation. */
void pay_clock_worker_add(struct pay_clock_worker *w, const char *name, pthread_mutex_t *mu,
                          pthread_cond_t *cv);

/* Unregisters w (without *mu held); w may be unregistered already. */
void pay_clock_worker_remove(struct pay_clock_worker *w);

/* Bracket one evaluation of due work: begin notes the clock it sees, end publishes it as
 * looked at. Called by the worker's thread only. */
void pay_clock_worker_begin(struct pay_clock_worker *w);
void pay_clock_worker_end(struct pay_clock_worker *w);

/* *mu held. Sleeps until *cv is signalled, the test clock has moved since the last begin, or
 * timeout_ms of monotonic time has passed (no sleep at all when the clock has moved already).
 * Returns true when it returned for the clock or the timeout (time to evaluate due work),
 * false when signalled (the caller checks why). */
bool pay_clock_worker_sleep(struct pay_clock_worker *w, int64_t timeout_ms);

/* What GET /sandbox/clock shows of each worker. */
struct pay_clock_worker_state {
    const char *name;
    uint64_t done; /* the last move its finished evaluation saw */
};

/* Copies up to max registered workers into out; returns how many are registered. */
size_t pay_clock_workers(struct pay_clock_worker_state *out, size_t max);

#endif
