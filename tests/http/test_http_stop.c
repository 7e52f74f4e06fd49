/* Integration: a server stops cleanly however busy it is. Many rounds of start, a stream of
 * clients connecting (each connection wakes an event thread), stop, with the event threads
 * on one CPU and the stopping thread on another, so that event threads are in their epoll
 * loops at the very moment the server stops accepting. libmicrohttpd's MHD_quiesce_daemon
 * races those loops (both take the listen socket out of the same epoll set; the loser aborts
 * the process with "Failed to remove listen FD from epoll set"), which once killed
 * test_platform_escrow at its stop; with quiescing, this test aborted in every run of 6.
 * Each round also checks what stopping means: a request in flight is answered, a connection
 * made while stopping gets no answer, and once stopped the port refuses connections.
 * Nothing waits on a sleep: every step waits for its event, polled with a bound. */
#include "lib/tmp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "http/server.h"
/* after errors.h: log.h defines PAY_ERROR, which errors.def also uses */
#include "core/log.h"

#define ROUNDS   400 /* start/stop rounds: before the fix 6 runs in 6 aborted, 150 rounds 2 in 6 */
#define CLIENTS  3   /* threads connecting in a loop during each round */
#define THREADS  8   /* event threads of the server: each its own epoll loop to race */
#define BOUND_MS 30000 /* upper bound on waiting for an event that must happen */

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* /hold: in flight until the test releases it, so that stop has a request to wait for. */
static pthread_mutex_t hold_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cv; /* pay_clock_cond_init in main */
static int hold_entered, hold_released;

static enum pay_err h_hold(struct pay_http_request *req, struct pay_error *err)
{
    (void)err;
    struct timespec deadline = pay_clock_deadline_us(BOUND_MS * 1000LL);
    pthread_mutex_lock(&hold_mu);
    int mine = ++hold_entered;
    pthread_cond_broadcast(&hold_cv);
    int rc = 0;
    while (hold_released < mine && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&hold_cv, &hold_mu, &deadline);
    pthread_mutex_unlock(&hold_mu);
    pay_http_respond_text(req, 200, "held");
    return PAY_ERR_OK;
}

static const struct pay_http_route routes[] = {
    {"GET", "/hold", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_hold, NULL}};

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &d.sin_addr);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&d, sizeof d) == 0)
        return fd;
    int saved = errno;
    if (fd >= 0)
        close(fd);
    errno = saved;
    return -1;
}

/* Sends GET path on fd (Connection: close) and reads to the end: the status, 0 when the
 * server closed without an answer, -1 when nothing came within BOUND_MS. */
static int get_on(int fd, const char *path)
{
    char req[128], resp[4096];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
        return 0;
    size_t len = 0;
    long end = now_ms() + BOUND_MS;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long left = end - now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return -1;
        ssize_t r = recv(fd, resp + len, sizeof resp - 1 - len, 0);
        if (r <= 0 || len + (size_t)r >= sizeof resp - 1)
            break;
        len += (size_t)r;
    }
    resp[len] = '\0';
    int status = 0;
    return sscanf(resp, "HTTP/1.1 %d", &status) == 1 ? status : 0;
}

struct round {
    int port;
    atomic_bool done;     /* the round is over: clients stop */
    atomic_long answered; /* 200s the clients got */
    atomic_long hung;     /* connections that got nothing within BOUND_MS */
};

static void *client(void *arg)
{
    struct round *r = arg;
    while (!atomic_load(&r->done)) {
        int fd = connect_to(r->port);
        if (fd < 0)
            break; /* refused: stopped (a full backlog drops, it does not refuse) */
        int status = get_on(fd, "/healthz");
        close(fd);
        if (status == 200)
            atomic_fetch_add(&r->answered, 1);
        else if (status < 0)
            atomic_fetch_add(&r->hung, 1);
    }
    return NULL;
}

struct held {
    int fd;
    int status;
};

static void *held_call(void *arg)
{
    struct held *h = arg;
    h->status = get_on(h->fd, "/hold");
    return NULL;
}

static void wait_hold_entered(int n)
{
    struct timespec deadline = pay_clock_deadline_us(BOUND_MS * 1000LL);
    pthread_mutex_lock(&hold_mu);
    int rc = 0;
    while (hold_entered < n && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&hold_cv, &hold_mu, &deadline);
    int entered = hold_entered;
    pthread_mutex_unlock(&hold_mu);
    assert_true(entered >= n);
}

/* Pins the calling thread to cpu (the threads it creates inherit that), or frees it (-1). */
static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c = 0; c < CPU_SETSIZE && c < 64; c++)
        if (cpu < 0 ? c < sysconf(_SC_NPROCESSORS_ONLN) : c == cpu)
            CPU_SET(c, &set);
    (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *stopper(void *arg)
{
    if (sysconf(_SC_NPROCESSORS_ONLN) > 1)
        pin(0);
    pay_http_server_stop(arg);
    return NULL;
}

/* One round: start, clients stream in, (every 10th round) a request held in flight, stop. */
static void one_round(int i)
{
    struct pay_http_config cfg = {.name = "stop", .listen = "127.0.0.1:0", .threads = THREADS};
    struct pay_http_server *srv = NULL;
    struct pay_error e = {0};
    assert_int_equal(pay_http_server_new(&cfg, &srv, &e), PAY_ERR_OK);
    assert_int_equal(pay_http_server_add_routes(srv, routes, 1, &e), PAY_ERR_OK);
    bool two = sysconf(_SC_NPROCESSORS_ONLN) > 1;
    if (two)
        pin(1); /* the event threads on another CPU than the stopper's */
    assert_int_equal(pay_http_server_start(srv, &e), PAY_ERR_OK);
    if (two)
        pin(-1);
    struct round r = {.port = pay_http_server_port(srv)};
    pthread_t c[CLIENTS];
    for (int k = 0; k < CLIENTS; k++)
        assert_int_equal(pthread_create(&c[k], NULL, client, &r), 0);
    long end = now_ms() + BOUND_MS; /* the event: the clients are being served */
    while (atomic_load(&r.answered) < CLIENTS && now_ms() < end)
        sched_yield();
    assert_true(atomic_load(&r.answered) >= CLIENTS);
    bool hold = i % 10 == 0;
    struct held h = {.fd = hold ? connect_to(r.port) : -1};
    pthread_t ht, st;
    if (hold) {
        assert_true(h.fd >= 0);
        pthread_mutex_lock(&hold_mu);
        int entered = hold_entered;
        pthread_mutex_unlock(&hold_mu);
        assert_int_equal(pthread_create(&ht, NULL, held_call, &h), 0);
        wait_hold_entered(entered + 1);
    }
    assert_int_equal(pthread_create(&st, NULL, stopper, srv), 0);
    if (hold) { /* stopping, waiting for /hold: a newcomer gets no answer */
        int late = -1, status = 200;
        for (end = now_ms() + BOUND_MS; status != 0 && now_ms() < end;) {
            late = connect_to(r.port);
            status = late < 0 ? 0 : get_on(late, "/healthz");
            if (late >= 0)
                close(late);
        }
        assert_int_equal(status, 0);
        pthread_mutex_lock(&hold_mu);
        hold_released = hold_entered;
        pthread_cond_broadcast(&hold_cv);
        pthread_mutex_unlock(&hold_mu);
        pthread_join(ht, NULL);
        close(h.fd);
        assert_int_equal(h.status, 200); /* the request in flight was answered */
    }
    pthread_join(st, NULL);
    int after = connect_to(r.port); /* stopped: nothing listens */
    int refused = errno;
    if (after >= 0)
        close(after);
    atomic_store(&r.done, true);
    for (int k = 0; k < CLIENTS; k++)
        pthread_join(c[k], NULL);
    assert_int_equal(after, -1);
    assert_int_equal(refused, ECONNREFUSED);
    assert_int_equal(atomic_load(&r.hung), 0);
    pay_http_server_free(srv);
}

static void stop_under_connections(void **state)
{
    (void)state;
    long t0 = now_ms();
    for (int i = 0; i < ROUNDS; i++)
        one_round(i);
    print_message("%d start/stop rounds under %d connecting clients in %ld ms\n", ROUNDS, CLIENTS,
                  now_ms() - t0);
}

int main(void)
{
    pay_log_init(stderr, PAY_LOG_ERROR);
    pay_http_signals_block();
    pay_clock_cond_init(&hold_cv);
    const struct CMUnitTest tests[] = {cmocka_unit_test(stop_under_connections)};
    return th_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
