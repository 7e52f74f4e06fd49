/* Integration: slow clients cannot take a server down. A real server on a random loopback
 * port; slowloris clients from 127.0.0.1 and from a dozen other loopback addresses (the whole
 * of 127/8 is loopback on Linux) open more connections than the per-address limit and than
 * the server's cap, and trickle header lines without ever finishing; meanwhile a normal
 * client on 127.0.0.2 gets every GET /healthz answered within 1 s. A client that trickles
 * its headers is cut at the read timeout however often it sends, a kept-alive idle
 * connection too, while a request that arrived whole is served however long its handler
 * takes. Nothing here waits on a sleep: closures are observed with poll and a bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/server.h"
/* after errors.h: log.h defines PAY_ERROR, which errors.def also uses */
#include "core/log.h"

#define CAP           64    /* max_connections of the server under attack */
#define PER_IP        8     /* max_connections_per_ip */
#define ATTACKERS     12    /* other loopback addresses, PER_IP connections each */
#define ANSWER_MS     1000  /* what a normal client must get: every answer within 1 s */
#define BOUND_MS      20000 /* upper bound on waiting for an event that must happen */
#define SLOW_PHASE_MS 3000  /* how long the attack runs while the normal client asks */

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* A TCP connection from src (a loopback address) to 127.0.0.1:port; -1 on failure. */
static int connect_from(const char *src, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET}, d = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &a.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &d.sin_addr);
    d.sin_port = htons((uint16_t)port);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        connect(fd, (struct sockaddr *)&d, sizeof d) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int send_text(int fd, const char *s)
{
    size_t n = strlen(s);
    return send(fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)n ? 0 : -1;
}

/* True when the server has closed fd (end of stream or reset); reads and drops any data.
 * Waits at most wait_ms for that. */
static bool closed_by_server(int fd, int wait_ms)
{
    long end = now_ms() + wait_ms;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long left = end - now_ms();
        if (poll(&p, 1, left > 0 ? (int)left : 0) <= 0)
            return false;
        char buf[512];
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return true;
        if (left <= 0)
            return false;
    }
}

/* GET path from src over a fresh connection (Connection: close): the status, or 0 when the
 * answer did not come whole within BOUND_MS; the body into body (n bytes) when not NULL;
 * the time it took into *ms. */
static int http_get(int port, const char *src, const char *path, char *body, size_t n, long *ms)
{
    long t0 = now_ms();
    static char resp[65536];
    size_t len = 0;
    int fd = connect_from(src, port), status = 0;
    char req[256];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
    if (fd < 0 || send_text(fd, req) != 0)
        goto out;
    while (len + 1 < sizeof resp) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long left = t0 + BOUND_MS - now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            goto out;
        ssize_t r = recv(fd, resp + len, sizeof resp - 1 - len, 0);
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        len += (size_t)r;
    }
    resp[len] = '\0';
    if (sscanf(resp, "HTTP/1.1 %d", &status) != 1)
        status = 0;
    const char *b = strstr(resp, "\r\n\r\n");
    if (body != NULL)
        snprintf(body, n, "%s", b ? b + 4 : "");
out:
    if (fd >= 0)
        close(fd);
    *ms = now_ms() - t0;
    return status;
}

/* The value of a /metrics line that starts with `prefix`, or -1. */
static long metric(int port, const char *prefix)
{
    static char body[65536];
    long ms;
    if (http_get(port, "127.0.0.2", "/metrics", body, sizeof body, &ms) != 200)
        return -1;
    const char *p = strstr(body, prefix);
    return p ? strtol(p + strlen(prefix), NULL, 10) : -1;
}

static struct pay_http_server *start(const struct pay_http_config *cfg,
                                     const struct pay_http_route *routes, size_t n)
{
    struct pay_http_server *srv = NULL;
    struct pay_error e = {0};
    assert_int_equal(pay_http_server_new(cfg, &srv, &e), PAY_ERR_OK);
    assert_int_equal(pay_http_server_add_routes(srv, routes, n, &e), PAY_ERR_OK);
    assert_int_equal(pay_http_server_start(srv, &e), PAY_ERR_OK);
    return srv;
}

/* --- the attack ------------------------------------------------------------------------- */

struct slow {
    int fd;
    char src[16];
};

static int slow_open(struct slow *s, const char *src, int port)
{
    snprintf(s->src, sizeof s->src, "%s", src);
    s->fd = connect_from(src, port);
    if (s->fd >= 0 && send_text(s->fd, "GET /healthz HTTP/1.1\r\n") != 0) {
        close(s->fd);
        s->fd = -1;
    }
    return s->fd;
}

/* One round of the attack, wait_ms long: every slow connection sends one more header line;
 * the ones the server closes meanwhile reconnect at the end of the round, as a slowloris
 * tool does. Returns how many were closed. */
static int slow_round(struct slow *s, size_t n, int port, int round, int wait_ms)
{
    struct pollfd p[CAP * 4];
    assert_true(n <= sizeof p / sizeof p[0]);
    char line[64];
    snprintf(line, sizeof line, "X-Slow-%d: a\r\n", round);
    for (size_t i = 0; i < n; i++)
        if (s[i].fd >= 0)
            (void)send_text(s[i].fd, line); /* a closed one fails here or below */
    int closed = 0;
    for (long end = now_ms() + wait_ms, left = wait_ms; left > 0; left = end - now_ms()) {
        for (size_t i = 0; i < n; i++)
            p[i] = (struct pollfd){.fd = s[i].fd, .events = POLLIN};
        if (poll(p, n, (int)left) <= 0)
            break;
        for (size_t i = 0; i < n; i++)
            if (p[i].revents != 0 && closed_by_server(s[i].fd, 0)) {
                close(s[i].fd);
                s[i].fd = -1; /* poll skips it for the rest of the round */
                closed++;
            }
    }
    for (size_t i = 0; i < n; i++)
        if (s[i].fd < 0)
            slow_open(&s[i], s[i].src, port);
    return closed;
}

static void slowloris_others_served(void **state)
{
    (void)state;
    struct pay_http_config cfg = {.name = "slow",
                                  .listen = "127.0.0.1:0",
                                  .max_connections = CAP,
                                  .max_connections_per_ip = PER_IP,
                                  .read_timeout_ms = 120000}; /* cuts here: limit and cap */
    struct pay_http_server *srv = start(&cfg, NULL, 0);
    int port = pay_http_server_port(srv);
    static struct slow s[PER_IP * 2 + ATTACKERS * PER_IP];
    size_t n = 0;

    /* 1. twice the per-address limit from 127.0.0.1: the extra ones are closed at once, the
     *    others stay open, and the server still answers everyone else */
    for (int i = 0; i < 2 * PER_IP; i++, n++)
        assert_true(slow_open(&s[n], "127.0.0.1", port) >= 0);
    for (int i = PER_IP; i < 2 * PER_IP; i++)
        if (!closed_by_server(s[i].fd, BOUND_MS))
            fail_msg("connection %d from 127.0.0.1 over the per-address limit stays open", i);
    for (int i = 0; i < PER_IP; i++)
        assert_false(closed_by_server(s[i].fd, 0));
    assert_int_equal(metric(port, "paygate_http_connections_cut_total{server=\"slow\","
                                  "reason=\"displaced\"} "),
                     0);
    for (int i = PER_IP; i < 2 * PER_IP; i++)
        slow_open(&s[i], "127.0.0.1", port); /* keeps trying, refused again and again */

    /* 2. a dozen more addresses, PER_IP each: more than the cap in all */
    for (int a = 0; a < ATTACKERS; a++) {
        char src[16];
        snprintf(src, sizeof src, "127.0.1.%d", a + 1);
        for (int i = 0; i < PER_IP; i++, n++)
            slow_open(&s[n], src, port);
    }
    assert_true(n > CAP);

    /* 3. while they trickle and reconnect, the normal client is answered within 1 s */
    long t0 = now_ms(), worst = 0;
    int rounds = 0, cut = 0;
    while (rounds < 20 || now_ms() - t0 < SLOW_PHASE_MS) {
        cut += slow_round(s, n, port, rounds, 100);
        long ms;
        int status = http_get(port, "127.0.0.2", "/healthz", NULL, 0, &ms);
        if (status != 200 || ms >= ANSWER_MS)
            fail_msg("round %d: GET /healthz answered %d after %ld ms", rounds, status, ms);
        worst = ms > worst ? ms : worst;
        rounds++;
    }
    print_message("%d rounds over %ld ms, %d slow connections closed, slowest answer %ld ms\n",
                  rounds, now_ms() - t0, cut, worst);
    long displaced =
        metric(port, "paygate_http_connections_cut_total{server=\"slow\",reason=\"displaced\"} ");
    long open = metric(port, "paygate_http_connections{server=\"slow\"} ");
    assert_true(displaced > 0); /* the cap was reached, and newcomers got in */
    assert_true(open > 0 && open <= CAP + 64);
    for (size_t i = 0; i < n; i++)
        if (s[i].fd >= 0)
            close(s[i].fd);
    pay_http_server_free(srv);
}

/* --- the read deadline ------------------------------------------------------------------- */

/* /busy: a handler that takes longer than the read timeout (a commit, an outbound call). It
 * runs until the test releases it, which the test does once a connection opened after this
 * request arrived has been cut at the read timeout: by then this one's deadline has passed
 * too, had it counted. The events, not a time guessed long enough. */
static sem_t busy_entered, busy_release;

static enum pay_err h_busy(struct pay_http_request *req, struct pay_error *err)
{
    (void)err;
    sem_post(&busy_entered);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until); /* sem_timedwait's clock */
    until.tv_sec += BOUND_MS / 1000;
    while (sem_timedwait(&busy_release, &until) != 0 && errno == EINTR)
        continue;
    pay_http_respond_text(req, 200, "done");
    return PAY_ERR_OK;
}

struct busy_call {
    int port, status;
    long ms;
    char body[64];
};

static void *busy_thread(void *arg)
{
    struct busy_call *c = arg;
    c->status = http_get(c->port, "127.0.0.3", "/busy", c->body, sizeof c->body, &c->ms);
    return NULL;
}

/* Waits (bounded) for the semaphore the handler posts. */
static void wait_posted(sem_t *s)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += BOUND_MS / 1000;
    int rc;
    while ((rc = sem_timedwait(s, &until)) != 0 && errno == EINTR)
        continue;
    assert_int_equal(rc, 0);
}

/* Trickles a header line every 100 ms (paced by waiting for the close) until the server
 * closes the connection; the time from connecting to the close, or -1 past BOUND_MS. */
static long trickle_until_closed(int port, const char *src)
{
    long t0 = now_ms();
    int fd = connect_from(src, port);
    assert_true(fd >= 0);
    assert_int_equal(send_text(fd, "GET /healthz HTTP/1.1\r\nHost: t\r\n"), 0);
    for (int i = 0; now_ms() - t0 < BOUND_MS; i++) {
        if (closed_by_server(fd, 100)) {
            close(fd);
            return now_ms() - t0;
        }
        char line[32];
        snprintf(line, sizeof line, "X-Trickle-%d: a\r\n", i);
        (void)send_text(fd, line);
    }
    close(fd);
    return -1;
}

static void slow_request_cut_at_read_timeout(void **state)
{
    (void)state;
    static const struct pay_http_route routes[] = {
        {"GET", "/busy", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_busy, NULL},
    };
    struct pay_http_config cfg = {.name = "deadline",
                                  .listen = "127.0.0.1:0",
                                  .read_timeout_ms = 1000,
                                  .idle_timeout_s = 60}; /* never the one that fires here */
    struct pay_http_server *srv = start(&cfg, routes, 1);
    int port = pay_http_server_port(srv);

    /* a request that arrived whole is in its handler... */
    struct busy_call busy = {.port = port};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, busy_thread, &busy), 0);
    wait_posted(&busy_entered);

    /* ...while a header line every 100 ms does not extend the deadline */
    long ms = trickle_until_closed(port, "127.0.0.3");
    print_message("trickling client closed after %ld ms\n", ms);
    if (ms < 0 || ms < 950)
        fail_msg("trickling client: closed after %ld ms, not at the 1 s read timeout", ms);

    /* the request in its handler is served though it has outlasted the deadline: only the
     * trickling connection was cut */
    sem_post(&busy_release);
    pthread_join(t, NULL);
    assert_int_equal(busy.status, 200);
    assert_string_equal(busy.body, "done");
    assert_true(busy.ms >= ms);
    assert_int_equal(metric(port, "paygate_http_connections_cut_total{server=\"deadline\","
                                  "reason=\"read_timeout\"} "),
                     1);

    /* a kept-alive connection is ready for the next request once answered: idle, it is cut
     * at the read timeout too */
    int fd = connect_from("127.0.0.3", port);
    assert_true(fd >= 0);
    assert_int_equal(send_text(fd, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    char resp[512];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, BOUND_MS), 1);
    assert_true(recv(fd, resp, sizeof resp, 0) > 0);
    long t_answered = now_ms();
    assert_true(closed_by_server(fd, BOUND_MS));
    ms = now_ms() - t_answered;
    assert_true(ms >= 900);
    close(fd);
    assert_int_equal(metric(port, "paygate_http_connections_cut_total{server=\"deadline\","
                                  "reason=\"read_timeout\"} "),
                     2);
    pay_http_server_free(srv);
}

int main(void)
{
    sem_init(&busy_entered, 0, 0);
    sem_init(&busy_release, 0, 0);
    /* the attack needs a few hundred descriptors on both ends (server and clients share this
     * process) */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
        rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    pay_log_set_level(PAY_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slowloris_others_served),
        cmocka_unit_test(slow_request_cut_at_read_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
