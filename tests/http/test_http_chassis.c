/* Integration: the event-driven chassis. A real server on a random loopback port: handlers that
 * block run on workers while the event threads keep serving; inline routes run on the event
 * thread; a suspended request is answered from another thread (also before its handler has
 * returned); many connections cost no thread each; /healthz runs its check at most once per
 * period, on a worker; shutdown waits for a suspended request. Nothing waits on a sleep: the
 * tests hold handlers with semaphores, and the monotonic clock is moved by this binary's own
 * clock_gettime (the http library is linked in statically, so its calls land here). */
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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/limits.h"
#include "http/client.h"
#include "http/server.h"
/* after errors.h: log.h defines PAY_ERROR, which errors.def also uses */
#include "core/log.h"

#define BOUND_MS 20000 /* upper bound on waiting for something that must happen */
#define BLOCKED  8     /* handlers held at once: more than the workers a server keeps */

static atomic_llong mono_ahead_ms;

/* CLOCK_MONOTONIC runs mono_ahead_ms ahead of the kernel's; everything else is untouched. */
int clock_gettime(clockid_t id, struct timespec *ts)
{
    int rc = (int)syscall(SYS_clock_gettime, id, ts);
    long long ahead = atomic_load(&mono_ahead_ms);
    if (rc == 0 && id == CLOCK_MONOTONIC && ahead > 0) {
        ts->tv_sec += (time_t)(ahead / 1000);
        ts->tv_nsec += (long)(ahead % 1000) * 1000000L;
        if (ts->tv_nsec >= 1000000000L) {
            ts->tv_sec++;
            ts->tv_nsec -= 1000000000L;
        }
    }
    return rc;
}

static const struct pay_http_client_options local = {.allow_private_addresses = true};

static bool on_worker(void)
{
    char name[16] = "";
    pthread_getname_np(pthread_self(), name, sizeof name);
    return strcmp(name, "pay-http-work") == 0;
}

/* --- handlers ----------------------------------------------------------------------------- */

static sem_t entered, release_blocked;
static atomic_int health_checks, health_on_worker;

/* Blocks until the test lets it go, as a commit or an outbound call would. */
static enum pay_err h_block(struct pay_http_request *req, struct pay_error *err)
{
    sem_post(&entered);
    sem_wait(&release_blocked);
    pay_http_respond_text(req, 200, on_worker() ? "worker" : "event");
    return PAY_ERR_OK;
}

static enum pay_err h_where(struct pay_http_request *req, struct pay_error *err)
{
    pay_http_respond_text(req, 200, on_worker() ? "worker" : "event");
    return PAY_ERR_OK;
}

/* Suspended requests handed to the completer thread. */
static struct pay_http_request *pending[64];
static size_t n_pending;
static pthread_mutex_t pending_mu = PTHREAD_MUTEX_INITIALIZER;
static sem_t pending_sem;

static enum pay_err h_later(struct pay_http_request *req, struct pay_error *err)
{
    pay_http_req_suspend(req);
    pthread_mutex_lock(&pending_mu);
    pending[n_pending++] = req;
    pthread_mutex_unlock(&pending_mu);
    sem_post(&pending_sem); /* from here on req belongs to the completer */
    return PAY_ERR_OK;
}

/* Answers before the handler has even returned: the framework must still resume once. */
static enum pay_err h_at_once(struct pay_http_request *req, struct pay_error *err)
{
    pay_http_req_suspend(req);
    pay_http_respond_json(req, 202, json_pack("{s:b}", "at_once", 1));
    pay_http_req_resume(req);
    return PAY_ERR_OK;
}

static struct pay_http_request *take_pending(void)
{
    struct timespec due;
    clock_gettime(CLOCK_REALTIME, &due);
    due.tv_sec += BOUND_MS / 1000;
    if (sem_timedwait(&pending_sem, &due) != 0)
        fail_msg("no suspended request arrived");
    pthread_mutex_lock(&pending_mu);
    struct pay_http_request *req = pending[0];
    memmove(pending, pending + 1, --n_pending * sizeof pending[0]);
    pthread_mutex_unlock(&pending_mu);
    return req;
}

static int health(void *ctx, struct pay_error *err)
{
    atomic_fetch_add(&health_checks, 1);
    if (on_worker())
        atomic_fetch_add(&health_on_worker, 1);
    if (atomic_load((atomic_int *)ctx) == 0)
        return 0;
    pay_error_set(err, PAY_ERR_INTERNAL, "", "database gone");
    return 1;
}

static void sign(void *ctx, struct pay_http_request *req, int status, const void *body, size_t len)
{
    char *v = pay_http_req_printf(req, "%d %zu", status, len);
    assert_int_equal(pay_http_respond_header(req, "X-Test-Signed", v), 0);
}

/* --- the rig -------------------------------------------------------------------------------- */

static atomic_int db_down;

static struct pay_http_server *start(unsigned threads)
{
    static const struct pay_http_route blocking[] = {
        {"GET", "/block", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_block, NULL},
        {"GET", "/where", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_where, NULL},
        {"POST", "/later/worker", PAY_HTTP_API, PAY_HTTP_BODY_JSON, h_later, NULL},
    };
    static const struct pay_http_route fast[] = {
        {"GET", "/where/inline", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_where, NULL},
        {"POST", "/later", PAY_HTTP_API, PAY_HTTP_BODY_JSON, h_later, NULL},
        {"GET", "/at-once", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_at_once, NULL},
    };
    struct pay_http_config cfg = {.name = "chassis",
                                  .listen = "127.0.0.1:0",
                                  .health_check = health,
                                  .health_ctx = &db_down,
                                  .health_cache_ms = 3600 * 1000,
                                  .sign_response = sign,
                                  .threads = threads};
    struct pay_http_server *srv = NULL;
    struct pay_error e = {0};
    assert_int_equal(pay_http_server_new(&cfg, &srv, &e), PAY_ERR_OK);
    assert_int_equal(pay_http_server_add_routes(srv, blocking, 3, &e), PAY_ERR_OK);
    assert_int_equal(pay_http_server_add_inline_routes(srv, fast, 3, &e), PAY_ERR_OK);
    assert_int_equal(pay_http_server_start(srv, &e), PAY_ERR_OK);
    return srv;
}

struct call {
    struct pay_http_server *srv;
    const char *method, *path, *body;
    long status;
    char text[128], signed_[32];
};

static void *call_thread(void *arg)
{
    struct call *c = arg;
    char url[256];
    snprintf(url, sizeof url, "%s%s", pay_http_server_url(c->srv), c->path);
    const char *const headers[] = {"Content-Type: application/json", NULL};
    struct pay_http_client_response r;
    struct pay_error e = {0};
    size_t len = c->body ? strlen(c->body) : 0;
    c->status =
        pay_http_client_request(c->method, url, headers, c->body, len, &local, &r, &e) == PAY_ERR_OK
            ? r.status
            : 0;
    if (c->status != 0) {
        snprintf(c->text, sizeof c->text, "%s", pay_buf_str(&r.body));
        const char *s =
            pay_http_client_response_header(&r, "X-Test-Signed", c->signed_, sizeof c->signed_);
        if (s == NULL)
            c->signed_[0] = '\0';
        pay_http_client_response_fini(&r);
    }
    return NULL;
}

static long get(struct pay_http_server *srv, const char *path, char *text, size_t n)
{
    struct call c = {.srv = srv, .method = "GET", .path = path};
    call_thread(&c);
    if (text != NULL && n > 0) {
        size_t len = strnlen(c.text, n - 1);
        memcpy(text, c.text, len);
        text[len] = '\0';
    }
    return c.status;
}

static void wait_sem(sem_t *s)
{
    struct timespec due;
    clock_gettime(CLOCK_REALTIME, &due);
    due.tv_sec += BOUND_MS / 1000;
    if (sem_timedwait(s, &due) != 0)
        fail_msg("an event that must happen did not within %d ms", BOUND_MS);
}

static long process_threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long n = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "Threads: %ld", &n) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return n;
}

/* --- tests ---------------------------------------------------------------------------------- */

/* Handlers that block run on workers: while BLOCKED of them wait (more than the workers a
 * server keeps, so the pool grows), an inline route and one more blocking request are served. */
static void blocking_handlers_run_on_workers(void **state)
{
    struct pay_http_server *srv = start(1); /* one event thread: a stall would show */
    char text[64];
    assert_int_equal(get(srv, "/where", text, sizeof text), 200);
    assert_string_equal(text, "worker");
    assert_int_equal(get(srv, "/where/inline", text, sizeof text), 200);
    assert_string_equal(text, "event");

    struct call calls[BLOCKED];
    pthread_t t[BLOCKED];
    for (int i = 0; i < BLOCKED; i++) {
        calls[i] = (struct call){.srv = srv, .method = "GET", .path = "/block"};
        assert_int_equal(pthread_create(&t[i], NULL, call_thread, &calls[i]), 0);
    }
    for (int i = 0; i < BLOCKED; i++)
        wait_sem(&entered); /* all of them are in their handler at once */
    assert_int_equal(get(srv, "/where/inline", text, sizeof text), 200);
    assert_int_equal(get(srv, "/healthz", text, sizeof text), 200);
    assert_string_equal(text, "{\"status\":\"ok\"}");
    assert_int_equal(get(srv, "/where", text, sizeof text), 200);
    for (int i = 0; i < BLOCKED; i++)
        sem_post(&release_blocked);
    for (int i = 0; i < BLOCKED; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(calls[i].status, 200);
        assert_string_equal(calls[i].text, "worker");
        assert_string_equal(calls[i].signed_, "200 6");
    }
    pay_http_server_free(srv);
}

/* A suspended request is answered by another thread, signed like any answer, from an inline
 * and from a worker route; one answered before its handler returned is sent once. */
static void suspended_requests(void **state)
{
    struct pay_http_server *srv = start(0);
    const char *paths[] = {"/later", "/later/worker"};
    for (size_t k = 0; k < 2; k++) {
        struct call c = {.srv = srv, .method = "POST", .path = paths[k], .body = "{\"n\":7}"};
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, call_thread, &c), 0);
        struct pay_http_request *req = take_pending();
        json_t *in = pay_http_req_json(req);
        pay_http_respond_json(req, 201, json_pack("{s:O}", "got", in));
        pay_http_req_resume(req); /* req is the framework's again */
        pthread_join(t, NULL);
        assert_int_equal(c.status, 201);
        assert_string_equal(c.text, "{\"got\":{\"n\":7}}");
        assert_string_equal(c.signed_, "201 15");
    }
    for (int i = 0; i < 50; i++) {
        char text[64];
        assert_int_equal(get(srv, "/at-once", text, sizeof text), 202);
        assert_string_equal(text, "{\"at_once\":true}");
    }
    pay_http_server_free(srv);
}

/* 200 kept-alive connections, each answered, cost no thread each. */
static void no_thread_per_connection(void **state)
{
    struct pay_http_server *srv = start(2);
    long before = process_threads();
    enum { CONNS = 200 };
    static int fd[CONNS];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(pay_http_server_port(srv))};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    const char req[] = "GET /where/inline HTTP/1.1\r\nHost: t\r\n\r\n";
    for (int i = 0; i < CONNS; i++) {
        fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd[i] >= 0);
        assert_int_equal(connect(fd[i], (struct sockaddr *)&a, sizeof a), 0);
        assert_int_equal(send(fd[i], req, sizeof req - 1, MSG_NOSIGNAL), (ssize_t)(sizeof req - 1));
    }
    for (int i = 0; i < CONNS; i++) { /* every one answered, the connection kept open */
        struct pollfd p = {.fd = fd[i], .events = POLLIN};
        assert_int_equal(poll(&p, 1, BOUND_MS), 1);
        char buf[1024];
        ssize_t n = recv(fd[i], buf, sizeof buf - 1, 0);
        assert_true(n > 0);
        buf[n] = '\0';
        assert_non_null(strstr(buf, "HTTP/1.1 200"));
    }
    long during = process_threads();
    print_message("threads: %ld before, %ld with %d open connections\n", before, during, CONNS);
    assert_true(during - before < 8); /* the reaper, the keep of workers: none per connection */
    for (int i = 0; i < CONNS; i++)
        close(fd[i]);
    pay_http_server_free(srv);
}

/* /healthz answers from the last check for health_cache_ms; the check runs on a worker, once
 * per period however many ask, and a failure shows at the next period. */
static void healthz_checks_at_most_once_per_period(void **state)
{
    atomic_store(&health_checks, 0);
    atomic_store(&health_on_worker, 0);
    atomic_store(&db_down, 0);
    struct pay_http_server *srv = start(0);
    char text[128];
    for (int i = 0; i < 50; i++) {
        assert_int_equal(get(srv, "/healthz", text, sizeof text), 200);
        assert_string_equal(text, "{\"status\":\"ok\"}");
    }
    assert_int_equal(atomic_load(&health_checks), 1);
    assert_int_equal(atomic_load(&health_on_worker), 1);
    atomic_store(&db_down, 1);
    assert_int_equal(get(srv, "/healthz", text, sizeof text), 200); /* within the period */
    atomic_fetch_add(&mono_ahead_ms, 3600 * 1000);                  /* the period is over */
    assert_int_equal(get(srv, "/healthz", text, sizeof text), 503);
    assert_string_equal(text, "{\"status\":\"fail\",\"detail\":\"database gone\"}");
    assert_int_equal(get(srv, "/healthz", text, sizeof text), 503);
    assert_int_equal(atomic_load(&health_checks), 2);
    assert_int_equal(atomic_load(&health_on_worker), 2);
    /* probes are not signed (docs/http.md); everything else is */
    struct call c = {.srv = srv, .method = "GET", .path = "/healthz"};
    call_thread(&c);
    assert_string_equal(c.signed_, "");
    c = (struct call){.srv = srv, .method = "GET", .path = "/where/inline"};
    call_thread(&c);
    assert_string_equal(c.signed_, "200 5");
    pay_http_server_free(srv);
}

/* Whether the server still takes new connections: a GET on a fresh one is answered. Once
 * stop is under way a newcomer is closed unread (docs/http.md, "Shutdown"), and once stopped
 * it is refused. */
static bool still_accepting(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    static const char get[] = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    char answer[16] = "";
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
              send(fd, get, sizeof get - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof get - 1);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ok = ok && poll(&p, 1, BOUND_MS) == 1 && recv(fd, answer, sizeof answer - 1, 0) > 0;
    close(fd);
    return ok && strncmp(answer, "HTTP/1.1 ", 9) == 0;
}

static atomic_bool resumed;

struct late {
    struct pay_http_request *req;
    int port;
};

/* The completer: answers the suspended request only once the server has stopped accepting,
 * i.e. once stop is under way. */
static void *complete_after_stop_began(void *arg)
{
    struct late *l = arg;
    int port = l->port;
    struct pay_http_request *req = l->req;
    for (int i = 0; i < BOUND_MS && still_accepting(port); i++) {
        struct timespec ts = {0, 1000000}; /* polling an event with a bound, not a stand-in */
        nanosleep(&ts, NULL);
    }
    assert_false(still_accepting(port));
    pay_http_respond_text(req, 200, "late but answered");
    atomic_store(&resumed, true);
    pay_http_req_resume(req);
    return NULL;
}

/* Stop waits for a suspended request (libmicrohttpd must not stop with one) and it is
 * answered. */
static void shutdown_waits_for_suspended(void **state)
{
    struct pay_http_server *srv = start(0);
    int port = pay_http_server_port(srv);
    struct call c = {.srv = srv, .method = "POST", .path = "/later", .body = "{}"};
    pthread_t client, completer;
    assert_int_equal(pthread_create(&client, NULL, call_thread, &c), 0);
    struct late l = {take_pending(), port}; /* suspended: in flight with no thread on it */
    assert_int_equal(pthread_create(&completer, NULL, complete_after_stop_began, &l), 0);
    pay_http_server_stop(srv);
    assert_true(atomic_load(&resumed));
    pthread_join(completer, NULL);
    pthread_join(client, NULL);
    assert_int_equal(c.status, 200);
    assert_string_equal(c.text, "late but answered");
    pay_http_server_free(srv);
}

int main(void)
{
    pay_log_set_level(PAY_LOG_WARN);
    sem_init(&entered, 0, 0);
    sem_init(&release_blocked, 0, 0);
    sem_init(&pending_sem, 0, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blocking_handlers_run_on_workers),
        cmocka_unit_test(suspended_requests),
        cmocka_unit_test(no_thread_per_connection),
        cmocka_unit_test(healthz_checks_at_most_once_per_period),
        cmocka_unit_test(shutdown_waits_for_suspended),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
