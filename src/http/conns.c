/* Slow clients cannot take a server down: every connection must deliver its request (TLS
 * handshake, headers, body) within the read timeout of becoming ready for one, however it
 * trickles its bytes, and at the connection cap a newcomer displaces the connection that has
 * waited longest for its request. A connection is cut with shutdown(2) on its socket: its
 * libmicrohttpd thread (or event loop) then sees the end of the stream and closes it the
 * usual way, so this works the same in thread-per-connection and in epoll mode. The per-IP
 * limit and the idle timeout are libmicrohttpd's own (server.c). */
#include "http/internal.h"

#include "core/assertions.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/timeutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void pay_http_conns_init(struct pay_http_conns *c, unsigned max, int64_t read_timeout_ms)
{
    PAY_ASSERT(max > 0 && read_timeout_ms > 0);
    memset(c, 0, sizeof *c);
    c->max = max;
    c->read_timeout_ms = read_timeout_ms;
    pthread_mutex_init(&c->mu, NULL);
    pay_clock_cond_init(&c->cv);
}

/* --- the reading list (oldest first; c->mu held) --------------------------------------- */

static void reading_add(struct pay_http_conns *c, struct pay_http_conn *e)
{
    PAY_ASSERT(!e->reading);
    e->since_ms = pay_clock_mono_ms();
    e->prev = c->tail;
    e->next = NULL;
    if (c->tail != NULL)
        c->tail->next = e;
    else
        c->head = e;
    c->tail = e;
    e->reading = true;
    if (c->head == e) /* the reaper may be waiting with nothing to watch */
        pthread_cond_signal(&c->cv);
}

static void reading_remove(struct pay_http_conns *c, struct pay_http_conn *e)
{
    if (!e->reading)
        return;
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
    e->reading = false;
}

/* Ends a connection that is still reading. libmicrohttpd closes the socket only after it has
 * told us (pay_http_conns_closed, under the same lock), so e->fd is still this connection's. */
static void cut(struct pay_http_conns *c, struct pay_http_conn *e, atomic_ulong *counter)
{
    reading_remove(c, e);
    e->cut = true;
    if (shutdown(e->fd, SHUT_RDWR) != 0 && errno != ENOTCONN)
        PAY_WARN("http.conn_cut_failed", "fd=%d errno=%d", e->fd, errno);
    atomic_fetch_add(counter, 1);
}

/* --- events from the server -------------------------------------------------------------- */

struct pay_http_conn *pay_http_conns_opened(struct pay_http_conns *c, int fd)
{
    struct pay_http_conn *e = calloc(1, sizeof *e);
    if (e == NULL) {
        shutdown(fd, SHUT_RDWR); /* untracked connections would escape the limits */
        return NULL;
    }
    e->fd = fd;
    pthread_mutex_lock(&c->mu);
    c->open++;
    reading_add(c, e);
    if (c->open > c->max) /* the head is the longest waiting; it is e when nobody else reads */
        cut(c, c->head, &c->cut_displaced);
    pthread_mutex_unlock(&c->mu);
    return e;
}

void pay_http_conns_closed(struct pay_http_conns *c, struct pay_http_conn *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    reading_remove(c, e);
    PAY_ASSERT(c->open > 0);
    c->open--;
    pthread_mutex_unlock(&c->mu);
    free(e);
}

void pay_http_conns_request_read(struct pay_http_conns *c, struct pay_http_conn *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    reading_remove(c, e);
    pthread_mutex_unlock(&c->mu);
}

void pay_http_conns_request_done(struct pay_http_conns *c, struct pay_http_conn *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    if (!e->cut && !e->reading)
        reading_add(c, e);
    pthread_mutex_unlock(&c->mu);
}

unsigned pay_http_conns_open(struct pay_http_conns *c)
{
    pthread_mutex_lock(&c->mu);
    unsigned n = c->open;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* --- the reaper: cuts connections whose request did not arrive in time ------------------- */

static void *reaper_main(void *arg)
{
    struct pay_http_conns *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        int64_t now = pay_clock_mono_ms();
        while (c->head != NULL && c->head->since_ms + c->read_timeout_ms <= now)
            cut(c, c->head, &c->cut_read_timeout);
        if (c->head == NULL) {
            pthread_cond_wait(&c->cv, &c->mu);
            continue;
        }
        int64_t due = c->head->since_ms + c->read_timeout_ms; /* the list is oldest first */
        struct timespec ts = pay_clock_deadline_us((due - now) * 1000);
        pthread_cond_timedwait(&c->cv, &c->mu, &ts);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int pay_http_conns_start(struct pay_http_conns *c)
{
    PAY_ASSERT(!c->reaper_started);
    c->stop = false;
    if (pthread_create(&c->reaper, NULL, reaper_main, c) != 0)
        return -1;
    c->reaper_started = true;
    return 0;
}

void pay_http_conns_stop(struct pay_http_conns *c)
{
    if (!c->reaper_started)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->reaper, NULL);
    c->reaper_started = false;
}

void pay_http_conns_fini(struct pay_http_conns *c)
{
    pay_http_conns_stop(c);
    PAY_ASSERT(c->head == NULL); /* libmicrohttpd has closed every connection */
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
}
