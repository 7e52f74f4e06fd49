/* The process's clock: business time (real or a test clock), the real wall clock, monotonic
 * time, monotonic condition variables, and the registry of workers a clock move wakes. */
#include "core/buf.h"
#include "core/clock.h"

#include "core/limits.h"
#include "core/log.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static _Atomic bool fake;
static _Atomic int64_t fake_now_ms;
static _Atomic uint64_t moves;

/* Where a server's test clock is kept across restarts ("" when not). Under file_mu. */
static pthread_mutex_t file_mu = PTHREAD_MUTEX_INITIALIZER;
static char state_file[PAY_CLOCK_FILE_MAX];

/* The workers, in registration order. Lock order: list_mu, then a worker's mu. */
static pthread_mutex_t list_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pay_clock_worker *workers;

static int64_t read_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t pay_clock_now_ms(void)
{
    return atomic_load(&fake) ? atomic_load(&fake_now_ms) : read_ms(CLOCK_REALTIME);
}

int64_t pay_clock_real_ms(void)
{
    return read_ms(CLOCK_REALTIME);
}

int64_t pay_clock_mono_ms(void)
{
    return read_ms(CLOCK_MONOTONIC);
}

int64_t pay_clock_window_ms(void)
{
    return atomic_load(&fake) ? atomic_load(&fake_now_ms) : read_ms(CLOCK_MONOTONIC);
}

void pay_clock_use_fake(int64_t start_ms)
{
    atomic_store(&fake_now_ms, start_ms != 0 ? start_ms : read_ms(CLOCK_REALTIME));
    atomic_store(&fake, true);
}

/* Stores the test clock's time in state_file (written aside, then renamed: never half). */
static void store_fake_now(void)
{
    pthread_mutex_lock(&file_mu);
    if (state_file[0] != '\0') {
        char tmp[PAY_CLOCK_FILE_MAX + 8];
        snprintf(tmp, sizeof tmp, "%s.tmp", state_file);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        char text[32];
        int n = snprintf(text, sizeof text, "%" PRId64 "\n", atomic_load(&fake_now_ms));
        bool ok = fd >= 0 && write(fd, text, (size_t)n) == n;
        if (fd >= 0)
            close(fd);
        if (!ok || rename(tmp, state_file) != 0)
            PAY_WARN("clock.not_stored", "file=%s", state_file);
    }
    pthread_mutex_unlock(&file_mu);
}

int pay_clock_use_fake_file(const char *path)
{
    int64_t start = 0; /* no file yet: the real time now */
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        int n = fscanf(f, "%" SCNd64, &start);
        fclose(f);
        if (n != 1 || start <= 0)
            return -1;
    }
    pthread_mutex_lock(&file_mu);
    pay_str_copy(state_file, sizeof state_file, path);
    pthread_mutex_unlock(&file_mu);
    pay_clock_use_fake(start);
    store_fake_now(); /* so a restart before any move starts here too */
    return 0;
}

void pay_clock_use_real(void)
{
    atomic_store(&fake, false);
    pthread_mutex_lock(&file_mu);
    state_file[0] = '\0';
    pthread_mutex_unlock(&file_mu);
}

bool pay_clock_is_fake(void)
{
    return atomic_load(&fake);
}

uint64_t pay_clock_moves(void)
{
    return atomic_load(&moves);
}

/* Wakes every worker: each re-reads the clock at once (its sleep sees the new move count). */
static void wake_workers(void)
{
    pthread_mutex_lock(&list_mu);
    for (struct pay_clock_worker *w = workers; w; w = w->next) {
        pthread_mutex_lock(w->mu);
        pthread_cond_broadcast(w->cv);
        pthread_mutex_unlock(w->mu);
    }
    pthread_mutex_unlock(&list_mu);
}

enum pay_err pay_clock_advance(int64_t delta_ms, struct pay_error *err)
{
    if (!atomic_load(&fake))
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "", "this server runs on the real clock");
    if (delta_ms < -PAY_CLOCK_STEP_MAX_MS || delta_ms > PAY_CLOCK_STEP_MAX_MS)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "advance_ms",
                             "a step of at most %lld ms either way",
                             (long long)PAY_CLOCK_STEP_MAX_MS);
    int64_t now = atomic_fetch_add(&fake_now_ms, delta_ms) + delta_ms;
    uint64_t n = atomic_fetch_add(&moves, 1) + 1;
    store_fake_now();
    PAY_INFO("clock.moved", "by_ms=%lld now_ms=%lld moves=%llu", (long long)delta_ms,
             (long long)now, (unsigned long long)n);
    wake_workers();
    return PAY_ERR_OK;
}

void pay_clock_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(cv, &ca) != 0)
        abort(); /* timed waits on the wall clock would hang for as long as it steps back */
    pthread_condattr_destroy(&ca);
}

struct timespec pay_clock_deadline_us(int64_t timeout_us)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (timeout_us < 0)
        timeout_us = 0;
    ts.tv_sec += (time_t)(timeout_us / 1000000);
    ts.tv_nsec += (long)(timeout_us % 1000000) * 1000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

void pay_clock_worker_add(struct pay_clock_worker *w, const char *name, pthread_mutex_t *mu,
                          pthread_cond_t *cv)
{
    w->name = name;
    w->mu = mu;
    w->cv = cv;
    atomic_store(&w->seen, atomic_load(&moves));
    atomic_store(&w->done, 0);
    w->next = NULL;
    pthread_mutex_lock(&list_mu);
    struct pay_clock_worker **at = &workers;
    while (*at)
        at = &(*at)->next;
    *at = w;
    w->listed = true;
    pthread_mutex_unlock(&list_mu);
}

void pay_clock_worker_remove(struct pay_clock_worker *w)
{
    pthread_mutex_lock(&list_mu);
    for (struct pay_clock_worker **at = &workers; w->listed && *at; at = &(*at)->next)
        if (*at == w) {
            *at = w->next;
            w->listed = false;
            break;
        }
    pthread_mutex_unlock(&list_mu);
}

void pay_clock_worker_begin(struct pay_clock_worker *w)
{
    atomic_store(&w->seen, atomic_load(&moves));
}

void pay_clock_worker_end(struct pay_clock_worker *w)
{
    atomic_store(&w->done, atomic_load(&w->seen));
}

bool pay_clock_worker_sleep(struct pay_clock_worker *w, int64_t timeout_ms)
{
    if (atomic_load(&moves) != atomic_load(&w->seen))
        return true; /* moved while it evaluated: look again at once */
    struct timespec deadline = pay_clock_deadline_us(timeout_ms * 1000);
    int rc = pthread_cond_timedwait(w->cv, w->mu, &deadline);
    return rc != 0 || atomic_load(&moves) != atomic_load(&w->seen);
}

size_t pay_clock_workers(struct pay_clock_worker_state *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&list_mu);
    for (struct pay_clock_worker *w = workers; w; w = w->next, n++)
        if (n < max)
            out[n] = (struct pay_clock_worker_state){w->name, atomic_load(&w->done)};
    pthread_mutex_unlock(&list_mu);
    return n;
}
