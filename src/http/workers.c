/* The handler pool: threads that run the handlers which may block (a commit, an outbound call,
 * Argon2id) off the event threads, so one slow handler never stalls the connections an event
 * thread serves. It grows on demand, up to one thread per connection that can be in a handler
 * at once (its bound), and threads above `keep` exit after PAY_HTTP_WORKER_IDLE_MS without
 * work: a burst of blocking handlers costs threads only while it lasts, and no handler ever
 * waits for a thread that is itself waiting for another request (as a fixed pool could, when a
 * handler's outbound call comes back to this server). */
#include "http/internal.h"

#include "core/assertions.h"
#include "core/clock.h"
#include "core/log.h"

#include <errno.h>
#include <string.h>

void pay_http_workers_init(struct pay_http_workers *w, unsigned keep, unsigned max)
{
    PAY_ASSERT(keep >= 1 && keep <= max);
    memset(w, 0, sizeof *w);
    w->keep = keep;
    w->max = max;
    pthread_mutex_init(&w->mu, NULL);
    pay_clock_cond_init(&w->work);
    pay_clock_cond_init(&w->gone);
}

/* Takes the oldest queued job; w->mu held. */
static struct pay_http_job *pop(struct pay_http_workers *w)
{
    struct pay_http_job *j = w->head;
    if (j != NULL) {
        w->head = j->next;
        if (w->head == NULL)
            w->tail = NULL;
        j->next = NULL;
        w->queued--;
    }
    return j;
}

/* Waits for work until the idle deadline; false when the thread should exit. w->mu held. */
static bool wait_for_work(struct pay_http_workers *w)
{
    struct timespec due = pay_clock_deadline_us(PAY_HTTP_WORKER_IDLE_MS * 1000LL);
    w->idle++;
    int rc = 0;
    while (!w->stop && w->head == NULL && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w->work, &w->mu, &due);
    w->idle--;
    return !w->stop && (w->head != NULL || w->threads > w->keep);
}

static void *worker_main(void *arg)
{
    struct pay_http_workers *w = arg;
    pthread_setname_np(pthread_self(), "pay-http-work");
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct pay_http_job *j = pop(w);
        if (j == NULL) {
            if (!wait_for_work(w))
                break;
            continue;
        }
        pthread_mutex_unlock(&w->mu);
        j->run(j);
        pthread_mutex_lock(&w->mu);
    }
    PAY_ASSERT(w->threads > 0);
    if (--w->threads == 0)
        pthread_cond_broadcast(&w->gone);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* One more thread; w->mu held. 0, or -1 when the system refuses one. */
static int spawn(struct pay_http_workers *w)
{
    pthread_attr_t a;
    pthread_t t;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &a, worker_main, w);
    pthread_attr_destroy(&a);
    if (rc != 0)
        return -1;
    w->threads++;
    w->started++;
    return 0;
}

int pay_http_workers_start(struct pay_http_workers *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop = false;
    int rc = 0;
    while (rc == 0 && w->threads < w->keep)
        rc = spawn(w);
    pthread_mutex_unlock(&w->mu);
    if (rc != 0)
        pay_http_workers_stop(w);
    return rc;
}

void pay_http_workers_submit(struct pay_http_workers *w, struct pay_http_job *j)
{
    PAY_ASSERT(j->run != NULL);
    j->next = NULL;
    pthread_mutex_lock(&w->mu);
    PAY_ASSERT(!w->stop);
    if (w->tail != NULL)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    w->queued++;
    /* More jobs waiting than idle threads to take them: one more thread, up to the bound (the
     * queue only grows past it when every connection is in a handler). A refusal leaves the
     * job queued for the next free thread; `keep` threads always exist. */
    if (w->queued > w->idle && w->threads < w->max && spawn(w) != 0)
        PAY_WARN("http.worker_spawn_failed", "threads=%u errno=%d", w->threads, errno);
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
}

void pay_http_workers_stop(struct pay_http_workers *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->work);
    while (w->threads > 0)
        pthread_cond_wait(&w->gone, &w->mu);
    PAY_ASSERT(w->head == NULL); /* the server let every handler finish first */
    pthread_mutex_unlock(&w->mu);
}

void pay_http_workers_fini(struct pay_http_workers *w)
{
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->gone);
}

void pay_http_workers_counts(struct pay_http_workers *w, unsigned *threads, unsigned *busy)
{
    pthread_mutex_lock(&w->mu);
    *threads = w->threads;
    *busy = w->threads - w->idle;
    pthread_mutex_unlock(&w->mu);
}
