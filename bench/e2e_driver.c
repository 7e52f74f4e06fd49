/* bench/e2e_driver: the merchant side of bench/e2e. N keep-alive HTTP/1.1 connections (plain
 * non-blocking sockets and epoll, spread over T threads; lighter than libcurl, so the driver
 * leaves the CPU to the server) each loop one payment after another: a signed
 * `POST /v1/trades` with product=agreement (created and paid from the consumer's wallet at
 * once; fresh Idempotency-Key and out_trade_no), then a signed `GET /v1/trades/{id}`. Every
 * answer's Paygate-Signature is verified against the platform key and the request's nonce,
 * and its content checked (201/200, TRADE_SUCCESS, the same trade); anything else is a
 * failure.
 *
 * It measures only what completes inside the measured window (after a warm-up): payments/s,
 * the latency of a payment (create + query) and of the create alone, the driver's own CPU
 * per payment (getrusage: it must never be the bottleneck), and with --server-pid the
 * server's CPU (/proc/<pid>/stat: user and kernel) and context switches (summed over the
 * status files of its threads) per payment. The last line is machine-readable:
 *   RESULT payments=... rate=... p50_ms=... p99_ms=... server_cpu_us=... failures=...
 * With --acks FILE it appends "out_trade_no trade_id body" for every create the platform
 * acknowledged (a verified 201, paid), the moment it is verified: what a crash of the platform
 * must not lose (tests/platform/crash_test.sh).
 * Exit 0 when every answer verified and nothing failed, 1 otherwise, 2 on bad usage. */
#include "core/buf.h"
#include "crypto/ids.h"
#include "crypto/crypto.h"
#include "crypto/sig.h"
#include "crypto/sign.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNECTIONS_MAX  4096
#define THREADS_MAX      64
#define RESPONSE_MAX     16384 /* a trade answer is under 1 KiB */
#define REQUEST_MAX      4096
#define FAILURES_SHOWN   5
#define REQUEST_TIMEOUT  30000L /* ms: a stuck answer is a failure, not a hang */
#define DRAIN_TIMEOUT_MS 35000

enum phase { WARMUP, MEASURE, DRAIN };
enum failure { F_TRANSPORT, F_STATUS, F_SIGNATURE, F_CONTENT, F_KINDS };
static const char *const failure_names[F_KINDS] = {"transport", "status", "signature", "content"};

struct config {
    const char *url, *merchant, *key_file, *agreements_file, *platform_key, *amount;
    const char *acks_file; /* one line per acknowledged payment (crash tests) */
    int connections, threads, server_pid;
    double seconds, warmup_s;
};

static struct config cfg = {
    .connections = 64, .threads = 1, .seconds = 10, .warmup_s = 1, .amount = "1.00"};
static struct pay_ed25519_key merchant_key;
static uint8_t platform_pk[PAY_ED25519_PK_LEN];
static char **agreements;
static size_t n_agreements;
static char run_id[24];
static char host[256]; /* the Host header: host:port of --url */
static struct sockaddr_storage server_addr;
static socklen_t server_addr_len;
static _Atomic int phase = WARMUP;
static FILE *acks; /* --acks: "out_trade_no trade_id body" per verified create, line-buffered */
static atomic_int failures_shown;

/* A sorted-at-the-end list of latencies, microseconds. */
struct lat {
    int64_t *us;
    size_t n, cap;
};

struct worker;

/* One keep-alive connection and the payment it is working on. */
struct conn {
    struct worker *w;
    int fd;         /* -1 while closed: the next request reconnects */
    uint32_t watch; /* the epoll events registered */
    bool active;    /* false once it stopped (draining) */
    bool waiting;   /* a request is out and its answer not complete */
    bool querying;  /* false: the create; true: the query */
    char nonce[PAY_SIG_NONCE_MAX + 1];
    char otn[80];
    char trade_id[PAY_ID_MAX];
    char body[512];
    char out[REQUEST_MAX];
    size_t out_len, out_off;
    char in[RESPONSE_MAX + 1];
    size_t in_len, head_len, content_len; /* head_len 0 until the blank line arrived */
    int status;
    bool close_after;                 /* Connection: close */
    char sig[PAY_SIG_HEADER_MAX + 1]; /* the answer's Paygate-Signature */
    int64_t start_us, create_done_us, sent_us;
};

struct worker {
    int index;
    pthread_t th;
    int ep;
    struct conn *conns;
    int n_conns, n_active;
    uint64_t seq, rng;
    uint64_t payments, completed, started, answers, verified; /* payments: measured only */
    uint64_t failures[F_KINDS];
    struct lat pay_lat, create_lat;
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void lat_add(struct lat *l, int64_t us)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 65536;
        int64_t *p = realloc(l->us, cap * sizeof *p);
        if (!p)
            return; /* out of memory: this sample is lost, the counts are not */
        l->us = p;
        l->cap = cap;
    }
    l->us[l->n++] = us;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile q (0..1] of a sorted list, in milliseconds. */
static double pct_ms(const struct lat *l, double q)
{
    if (l->n == 0)
        return 0;
    size_t i = (size_t)ceil(q * (double)l->n);
    return (double)l->us[i ? i - 1 : 0] / 1000.0;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* --- the connection ---------------------------------------------------------------------- */

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd); /* also leaves the epoll set */
    c->fd = -1;
    c->watch = 0;
}

static int conn_watch(struct conn *c, uint32_t events)
{
    if (c->watch == events)
        return 0;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    int rc = epoll_ctl(c->w->ep, c->watch ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev);
    c->watch = rc == 0 ? events : c->watch;
    return rc;
}

static int conn_open(struct conn *c)
{
    int one = 1;
    c->fd = socket(server_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&server_addr, server_addr_len) != 0 &&
        errno != EINPROGRESS) {
        conn_close(c);
        return -1;
    }
    return 0;
}

/* Writes what is left of the request; watches for writability while some is. 0 or -1. */
static int conn_flush(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN))
            break;
        if (n <= 0)
            return -1;
        c->out_off += (size_t)n;
    }
    return conn_watch(c, EPOLLIN | (c->out_off < c->out_len ? EPOLLOUT : 0));
}

/* The status line and the headers we need (c->in[0..head_len)). -1 when malformed or
 * chunked (our servers send Content-Length). */
static int parse_head(struct conn *c)
{
    c->in[c->head_len - 2] = '\0';
    if (sscanf(c->in, "HTTP/1.%*d %d", &c->status) != 1)
        return -1;
    bool have_len = false;
    for (char *l = strstr(c->in, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
        char *line = l + 2, *colon = strchr(line, ':'), *end = strstr(line, "\r\n");
        if (!colon || (end && colon > end))
            return -1;
        const char *v = colon + 1;
        size_t name = (size_t)(colon - line), vl = end ? (size_t)(end - v) : strlen(v);
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        if (name == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
            c->content_len = strtoul(v, NULL, 10);
            have_len = true;
        } else if (name == 17 && strncasecmp(line, PAY_SIG_RESPONSE_HEADER, 17) == 0 &&
                   vl < sizeof c->sig) {
            memcpy(c->sig, v, vl);
            c->sig[vl] = '\0';
        } else if (name == 10 && strncasecmp(line, "Connection", 10) == 0) {
            c->close_after = vl == 5 && strncasecmp(v, "close", 5) == 0;
        } else if (name == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
            return -1;
        }
    }
    return have_len && c->head_len + c->content_len <= RESPONSE_MAX ? 0 : -1;
}

/* Reads what arrived: 1 when the answer is complete, 0 when more is to come, -1 on a
 * transport error (closed, malformed, too large). */
static int conn_read(struct conn *c)
{
    for (;;) {
        if (c->in_len == RESPONSE_MAX)
            return -1;
        ssize_t n = recv(c->fd, c->in + c->in_len, RESPONSE_MAX - c->in_len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0)
            return -1;
        c->in_len += (size_t)n;
    }
    if (c->head_len == 0) {
        c->in[c->in_len] = '\0';
        char *blank = strstr(c->in, "\r\n\r\n");
        if (!blank)
            return 0;
        c->head_len = (size_t)(blank - c->in) + 4;
        if (parse_head(c) != 0)
            return -1;
    }
    return c->in_len >= c->head_len + c->content_len ? 1 : 0;
}

/* --- requests ------------------------------------------------------------------------------ */

/* Signs METHOD target body into an Authorization header and sends the request on c's
 * connection (opened first when closed). 0 or -1. */
static int send_signed(struct conn *c, const char *method, const char *target, const char *body,
                       const char *idem_key)
{
    char auth[PAY_SIG_HEADER_MAX];
    struct pay_sig_signer s = {PAY_SIG_ED25519, cfg.merchant, &merchant_key, NULL};
    size_t len = body ? strlen(body) : 0;
    pay_sig_nonce_generate(c->nonce);
    if (pay_sig_sign_request(&s, method, target, body ? body : "", len, (int64_t)time(NULL),
                             c->nonce, auth, sizeof auth, NULL) != PAY_ERR_OK)
        return -1;
    int n = body ? snprintf(c->out, sizeof c->out,
                            "%s %s HTTP/1.1\r\nHost: %s\r\n%s: %s\r\nContent-Type: "
                            "application/json\r\nIdempotency-Key: %s\r\nContent-Length: "
                            "%zu\r\n\r\n%s",
                            method, target, host, PAY_SIG_REQUEST_HEADER, auth, idem_key, len, body)
                 : snprintf(c->out, sizeof c->out, "%s %s HTTP/1.1\r\nHost: %s\r\n%s: %s\r\n\r\n",
                            method, target, host, PAY_SIG_REQUEST_HEADER, auth);
    if (n < 0 || (size_t)n >= sizeof c->out)
        return -1;
    c->out_len = (size_t)n;
    c->out_off = c->in_len = c->head_len = c->content_len = 0;
    c->status = 0;
    c->close_after = false;
    c->sig[0] = '\0';
    c->sent_us = mono_us();
    c->waiting = true;
    if (c->fd < 0 && conn_open(c) != 0)
        return -1;
    return conn_flush(c);
}

static int start_payment(struct conn *c)
{
    struct worker *w = c->w;
    snprintf(c->otn, sizeof c->otn, "%s-%d-%llu", run_id, w->index, (unsigned long long)++w->seq);
    const char *ag = agreements[xorshift(&w->rng) % n_agreements];
    snprintf(c->body, sizeof c->body,
             "{\"out_trade_no\":\"%s\",\"amount\":{\"value\":\"%s\",\"currency\":\"CNY\"},"
             "\"subject\":\"bench\",\"product\":\"agreement\",\"agreement_no\":\"%s\"}",
             c->otn, cfg.amount, ag);
    c->querying = false;
    c->start_us = mono_us();
    w->started++;
    return send_signed(c, "POST", "/v1/trades", c->body, c->otn);
}

/* --- answers --------------------------------------------------------------------------------- */

static enum pay_err platform_lookup(void *ctx, const char *key_id, struct pay_sig_pubkey *out)
{
    memset(out, 0, sizeof *out);
    out->alg = PAY_SIG_ED25519;
    memcpy(out->ed25519, platform_pk, sizeof platform_pk);
    return strcmp(key_id, "paygate-platform") == 0 ? PAY_ERR_OK : PAY_ERR_SIGNATURE_INVALID;
}

static void show_failure(const struct conn *c, enum failure f, const char *why)
{
    if (atomic_fetch_add(&failures_shown, 1) >= FAILURES_SHOWN)
        return;
    const char *body = c->head_len ? c->in + c->head_len : "";
    fprintf(stderr, "e2e_driver: %s failure (%s) on %s %s: HTTP %d %.300s\n", failure_names[f], why,
            c->querying ? "GET" : "POST", c->otn, c->status, body);
}

/* Checks a complete answer: signature, status, content. Fills c->trade_id after the create.
 * F_KINDS when it is good. */
static enum failure check_answer(struct conn *c)
{
    struct worker *w = c->w;
    const char *body = c->in + c->head_len;
    c->w->answers++;
    struct pay_sig_verifier v = {platform_lookup, NULL, NULL, NULL, 0};
    struct pay_error err = {0};
    if (pay_sig_verify_response(&v, c->sig[0] ? c->sig : NULL, c->status, c->nonce, body,
                                c->content_len, (int64_t)time(NULL), NULL, &err) != PAY_ERR_OK) {
        show_failure(c, F_SIGNATURE, err.detail[0] ? err.detail : pay_err_name(err.code));
        return F_SIGNATURE;
    }
    w->verified++;
    if (c->status != (c->querying ? 200 : 201)) {
        show_failure(c, F_STATUS, "unexpected status");
        return F_STATUS;
    }
    json_t *j = json_loadb(body, c->content_len, 0, NULL);
    const char *state = json_string_value(json_object_get(j, "state"));
    const char *id = json_string_value(json_object_get(j, "trade_id"));
    const char *otn = json_string_value(json_object_get(j, "out_trade_no"));
    const char *method = json_string_value(json_object_get(j, "pay_method"));
    bool ok = state && id && otn && method && strcmp(state, "TRADE_SUCCESS") == 0 &&
              strcmp(otn, c->otn) == 0 && strcmp(method, "agreement") == 0 &&
              strlen(id) < sizeof c->trade_id && (!c->querying || strcmp(id, c->trade_id) == 0);
    if (ok && !c->querying)
        memcpy(c->trade_id, id, strlen(id) + 1);
    json_decref(j);
    if (!ok) {
        show_failure(c, F_CONTENT, "not the paid trade");
        return F_CONTENT;
    }
    return F_KINDS;
}

static void conn_stop(struct conn *c)
{
    conn_close(c);
    if (c->active)
        c->w->n_active--;
    c->active = false;
    c->waiting = false;
}

/* A request could not even be sent (no connection to the server): a failure, and this
 * connection stops rather than spin. */
static void cannot_send(struct conn *c)
{
    c->w->failures[F_TRANSPORT]++;
    show_failure(c, F_TRANSPORT, "cannot connect or send");
    conn_stop(c);
}

/* c's answer is complete (transport_ok) or lost: check it, then go on (the query, or the
 * next payment), or stop while draining. */
static void on_done(struct conn *c, bool transport_ok)
{
    struct worker *w = c->w;
    enum failure f = transport_ok ? check_answer(c) : F_TRANSPORT;
    int64_t now = mono_us();
    bool measuring = atomic_load(&phase) == MEASURE;
    c->waiting = false;
    if (f == F_TRANSPORT)
        show_failure(c, f, "connection lost, malformed or timed out");
    if (!transport_ok || c->close_after)
        conn_close(c);
    if (f == F_KINDS && !c->querying) {
        char target[64];
        c->create_done_us = now;
        if (acks) /* the platform answered it, signed: it must survive anything from now on */
            fprintf(acks, "%s %s %s\n", c->otn, c->trade_id, c->body);
        snprintf(target, sizeof target, "/v1/trades/%s", c->trade_id);
        c->querying = true;
        if (send_signed(c, "GET", target, NULL, NULL) != 0)
            cannot_send(c);
        return;
    }
    if (f != F_KINDS)
        w->failures[f]++;
    else
        w->completed++;
    if (f == F_KINDS && measuring) {
        w->payments++;
        lat_add(&w->pay_lat, now - c->start_us);
        lat_add(&w->create_lat, c->create_done_us - c->start_us);
    }
    if (atomic_load(&phase) == DRAIN)
        conn_stop(c);
    else if (start_payment(c) != 0)
        cannot_send(c);
}

/* --- workers --------------------------------------------------------------------------------- */

static void on_event(struct conn *c, uint32_t events)
{
    if (!c->waiting)
        return;
    if ((events & EPOLLOUT) && conn_flush(c) != 0) {
        on_done(c, false);
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        int rc = conn_read(c);
        if (rc != 0)
            on_done(c, rc == 1);
    }
}

/* Answers overdue by REQUEST_TIMEOUT are transport failures. */
static void expire(struct worker *w, int64_t now)
{
    for (int i = 0; i < w->n_conns; i++) {
        struct conn *c = &w->conns[i];
        if (c->waiting && now - c->sent_us > REQUEST_TIMEOUT * 1000)
            on_done(c, false);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event evs[64];
    for (int i = 0; i < w->n_conns; i++) {
        w->conns[i].active = true;
        w->n_active++;
        if (start_payment(&w->conns[i]) != 0)
            cannot_send(&w->conns[i]);
    }
    int64_t last_expire = mono_us(), drain_deadline = 0;
    while (w->n_active > 0) {
        int n = epoll_wait(w->ep, evs, 64, 100);
        for (int i = 0; i < n; i++)
            on_event(evs[i].data.ptr, evs[i].events);
        int64_t now = mono_us();
        if (now - last_expire > 100000) {
            expire(w, now);
            last_expire = now;
        }
        if (atomic_load(&phase) == DRAIN && drain_deadline == 0)
            drain_deadline = now + DRAIN_TIMEOUT_MS * 1000LL;
        if (drain_deadline && now > drain_deadline)
            break;
    }
    w->failures[F_TRANSPORT] += (uint64_t)w->n_active; /* answers that never came */
    return NULL;
}

static int workers_start(struct worker *ws)
{
    for (int t = 0; t < cfg.threads; t++) {
        struct worker *w = &ws[t];
        w->index = t;
        w->rng = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)mono_us() * (uint64_t)(t + 1));
        w->n_conns = cfg.connections / cfg.threads + (t < cfg.connections % cfg.threads ? 1 : 0);
        w->conns = calloc((size_t)w->n_conns, sizeof *w->conns);
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        if (!w->conns || w->ep < 0)
            return -1;
        for (int i = 0; i < w->n_conns; i++) {
            w->conns[i].w = w;
            w->conns[i].fd = -1;
        }
        if (pthread_create(&w->th, NULL, worker_main, w) != 0)
            return -1;
    }
    return 0;
}

static void worker_free(struct worker *w)
{
    if (!w->conns)
        return; /* never started */
    for (int i = 0; i < w->n_conns; i++)
        conn_close(&w->conns[i]);
    if (w->ep >= 0)
        close(w->ep);
    free(w->conns);
    free(w->pay_lat.us);
    free(w->create_lat.us);
}

/* "http://host:port" into host and server_addr. 0 or -1 (no TLS: the bench runs on loopback). */
static int resolve_url(void)
{
    const char *p = strncmp(cfg.url, "http://", 7) == 0 ? cfg.url + 7 : NULL;
    size_t n = p ? strcspn(p, "/") : 0;
    const char *colon = p ? memchr(p, ':', n) : NULL;
    if (!colon || n >= sizeof host)
        return -1;
    memcpy(host, p, n);
    host[n] = '\0';
    char name[256], port[16];
    snprintf(name, sizeof name, "%.*s", (int)(colon - p), p);
    snprintf(port, sizeof port, "%.*s", (int)(n - (size_t)(colon - p) - 1), colon + 1);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(name, port, &hints, &ai) != 0 || !ai)
        return -1;
    memcpy(&server_addr, ai->ai_addr, ai->ai_addrlen);
    server_addr_len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

/* --- CPU and context switches ------------------------------------------------------------------
 */

struct usage {
    double user_s, sys_s;
    uint64_t switches;
};

static void self_usage(struct usage *u)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    u->user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    u->sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    u->switches = (uint64_t)(ru.ru_nvcsw + ru.ru_nivcsw);
}

/* Voluntary + involuntary switches of one thread from its status file. */
static uint64_t task_switches(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[256];
    uint64_t sum = 0;
    unsigned long long v;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
            sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
            sum += v;
    if (f)
        fclose(f);
    return sum;
}

/* The server's user and kernel CPU (whole process, dead threads included) from
 * /proc/<pid>/stat, and context switches summed over its live threads. -1 when it is gone. */
static int server_usage(int pid, struct usage *u)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *close = strrchr(buf, ')');
    unsigned long ut = 0, st = 0; /* fields 14 and 15, after the state (field 3) */
    if (!close ||
        sscanf(close + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %lu %lu", &ut, &st) != 2)
        return -1;
    double tick = (double)sysconf(_SC_CLK_TCK);
    u->user_s = (double)ut / tick;
    u->sys_s = (double)st / tick;
    u->switches = 0;
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    for (struct dirent *de; d && (de = readdir(d));) {
        char sp[300];
        if (de->d_name[0] == '.')
            continue;
        snprintf(sp, sizeof sp, "/proc/%d/task/%s/status", pid, de->d_name);
        u->switches += task_switches(sp);
    }
    if (d)
        closedir(d);
    return 0;
}

/* --- set-up ------------------------------------------------------------------------------------
 */

static int load_agreements(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[128];
    size_t cap = 0;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!pay_id_valid(line, "ag"))
            continue;
        if (n_agreements == cap) {
            cap = cap ? cap * 2 : 1024;
            char **p = realloc(agreements, cap * sizeof *p);
            if (!p)
                break;
            agreements = p;
        }
        if (!(agreements[n_agreements] = strdup(line)))
            break;
        n_agreements++;
    }
    if (f)
        fclose(f);
    return n_agreements > 0 ? 0 : -1;
}

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
    return pay_buf_append(ctx, p, size * n) == 0 ? size * n : 0;
}

/* The platform key: --platform-key, else GET /.well-known/paygate-platform-key. */
static int load_platform_key(void)
{
    if (cfg.platform_key)
        return pay_ed25519_pk_from_text(platform_pk, cfg.platform_key);
    struct pay_buf b;
    pay_buf_init(&b, RESPONSE_MAX);
    char url[1200];
    snprintf(url, sizeof url, "%s/.well-known/paygate-platform-key", cfg.url);
    CURL *h = curl_easy_init();
    CURLcode rc = CURLE_FAILED_INIT;
    if (h) {
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT);
        rc = curl_easy_perform(h);
        curl_easy_cleanup(h);
    }
    json_t *j = rc == CURLE_OK ? json_loadb(b.data, b.len, 0, NULL) : NULL;
    const char *text = json_string_value(json_object_get(j, "public_key"));
    int ok = text ? pay_ed25519_pk_from_text(platform_pk, text) : -1;
    json_decref(j);
    pay_buf_fini(&b);
    return ok;
}

static int usage_exit(void)
{
    fprintf(stderr,
            "usage: e2e_driver --url URL --merchant ID --key FILE --agreements FILE\n"
            "                  [--connections 64] [--threads 1] [--seconds 10] [--warmup 1]\n"
            "                  [--server-pid PID] [--platform-key BASE64] [--amount 1.00]\n"
            "                  [--acks FILE]\n");
    return 2;
}

static int parse_args(int argc, char **argv)
{
    static const struct option opts[] = {{"url", required_argument, NULL, 'u'},
                                         {"merchant", required_argument, NULL, 'm'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"agreements", required_argument, NULL, 'a'},
                                         {"connections", required_argument, NULL, 'c'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"seconds", required_argument, NULL, 's'},
                                         {"warmup", required_argument, NULL, 'w'},
                                         {"server-pid", required_argument, NULL, 'p'},
                                         {"platform-key", required_argument, NULL, 'P'},
                                         {"amount", required_argument, NULL, 'A'},
                                         {"acks", required_argument, NULL, 'K'},
                                         {NULL, 0, NULL, 0}};
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (c) {
        case 'u':
            cfg.url = optarg;
            break;
        case 'm':
            cfg.merchant = optarg;
            break;
        case 'k':
            cfg.key_file = optarg;
            break;
        case 'a':
            cfg.agreements_file = optarg;
            break;
        case 'c':
            cfg.connections = (int)strtol(optarg, NULL, 10);
            break;
        case 't':
            cfg.threads = (int)strtol(optarg, NULL, 10);
            break;
        case 's':
            cfg.seconds = strtod(optarg, NULL);
            break;
        case 'w':
            cfg.warmup_s = strtod(optarg, NULL);
            break;
        case 'p':
            cfg.server_pid = (int)strtol(optarg, NULL, 10);
            break;
        case 'P':
            cfg.platform_key = optarg;
            break;
        case 'A':
            cfg.amount = optarg;
            break;
        case 'K':
            cfg.acks_file = optarg;
            break;
        default:
            return -1;
        }
    }
    bool ok = cfg.url && cfg.merchant && cfg.key_file && cfg.agreements_file && optind == argc &&
              cfg.connections > 0 && cfg.connections <= CONNECTIONS_MAX && cfg.threads > 0 &&
              cfg.threads <= THREADS_MAX && cfg.threads <= cfg.connections && cfg.seconds > 0 &&
              cfg.warmup_s >= 0;
    return ok ? 0 : -1;
}

/* --- the run and its report --------------------------------------------------------------------
 */

struct totals {
    uint64_t payments, completed, started, answers, verified, failures, failure[F_KINDS];
    struct lat pay_lat, create_lat;
};

static void merge(struct worker *ws, struct totals *t)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < cfg.threads; i++) {
        struct worker *w = &ws[i];
        t->payments += w->payments;
        t->completed += w->completed;
        t->started += w->started;
        t->answers += w->answers;
        t->verified += w->verified;
        for (int f = 0; f < F_KINDS; f++) {
            t->failure[f] += w->failures[f];
            t->failures += w->failures[f];
        }
        for (size_t k = 0; k < w->pay_lat.n; k++)
            lat_add(&t->pay_lat, w->pay_lat.us[k]);
        for (size_t k = 0; k < w->create_lat.n; k++)
            lat_add(&t->create_lat, w->create_lat.us[k]);
    }
    if (t->pay_lat.n) /* no payment, no list: qsort must not see NULL */
        qsort(t->pay_lat.us, t->pay_lat.n, sizeof(int64_t), cmp_i64);
    if (t->create_lat.n)
        qsort(t->create_lat.us, t->create_lat.n, sizeof(int64_t), cmp_i64);
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void report(const struct totals *t, double secs, const struct usage *d0,
                   const struct usage *d1, const struct usage *s0, const struct usage *s1,
                   bool have_server)
{
    double n = t->payments ? (double)t->payments : 1;
    double drv_us = (d1->user_s + d1->sys_s - d0->user_s - d0->sys_s) * 1e6 / n;
    double srv_user = s1->user_s - s0->user_s, srv_sys = s1->sys_s - s0->sys_s;
    double srv_us = have_server ? (srv_user + srv_sys) * 1e6 / n : 0;
    double srv_kernel =
        have_server && srv_user + srv_sys > 0 ? 100 * srv_sys / (srv_user + srv_sys) : 0;
    double srv_cs = have_server ? (double)(s1->switches - s0->switches) / n : 0;
    double rate = (double)t->payments / secs;
    printf("payments: %llu in %.2f s = %.0f/s with %d connections (%d driver threads)\n",
           (unsigned long long)t->payments, secs, rate, cfg.connections, cfg.threads);
    printf("payment latency (create+query): p50 %.2f ms, p90 %.2f, p99 %.2f, max %.2f\n",
           pct_ms(&t->pay_lat, .5), pct_ms(&t->pay_lat, .9), pct_ms(&t->pay_lat, .99),
           pct_ms(&t->pay_lat, 1));
    printf("create latency: p50 %.2f ms, p99 %.2f\n", pct_ms(&t->create_lat, .5),
           pct_ms(&t->create_lat, .99));
    printf("driver CPU per payment: %.0f us (%.0f%% of one core)\n", drv_us,
           100 * drv_us * rate / 1e6);
    if (have_server)
        printf("server CPU per payment: %.0f us (%.0f%% kernel), %.1f context switches\n", srv_us,
               srv_kernel, srv_cs);
    printf("answers: %llu, signatures verified: %llu; failures: %llu (transport %llu, status "
           "%llu, signature %llu, content %llu)\n",
           (unsigned long long)t->answers, (unsigned long long)t->verified,
           (unsigned long long)t->failures, (unsigned long long)t->failure[F_TRANSPORT],
           (unsigned long long)t->failure[F_STATUS], (unsigned long long)t->failure[F_SIGNATURE],
           (unsigned long long)t->failure[F_CONTENT]);
    printf("RESULT payments=%llu seconds=%.3f rate=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
           "max_ms=%.3f create_p50_ms=%.3f create_p99_ms=%.3f driver_cpu_us=%.1f "
           "server_cpu_us=%.1f server_kernel_pct=%.1f server_cs=%.2f completed=%llu started=%llu "
           "answers=%llu "
           "verified=%llu failures=%llu\n",
           (unsigned long long)t->payments, secs, rate, pct_ms(&t->pay_lat, .5),
           pct_ms(&t->pay_lat, .9), pct_ms(&t->pay_lat, .99), pct_ms(&t->pay_lat, 1),
           pct_ms(&t->create_lat, .5), pct_ms(&t->create_lat, .99), drv_us, srv_us, srv_kernel,
           srv_cs, (unsigned long long)t->completed, (unsigned long long)t->started,
           (unsigned long long)t->answers, (unsigned long long)t->verified,
           (unsigned long long)t->failures);
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv) != 0)
        return usage_exit();
    if (pay_crypto_init() != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
        pay_ed25519_key_load(cfg.key_file, &merchant_key) != 0 ||
        load_agreements(cfg.agreements_file) != 0 || resolve_url() != 0 ||
        load_platform_key() != 0) {
        fprintf(stderr,
                "e2e_driver: cannot load the merchant key %s, the agreements %s, the URL or "
                "the platform key\n",
                cfg.key_file, cfg.agreements_file);
        return 1;
    }
    if (cfg.acks_file) {
        acks = fopen(cfg.acks_file, "a");
        if (!acks || setvbuf(acks, NULL, _IOLBF, 0) != 0) {
            fprintf(stderr, "e2e_driver: cannot append to %s\n", cfg.acks_file);
            return 1;
        }
    }
    snprintf(run_id, sizeof run_id, "e2e%lx%x", (unsigned long)time(NULL), (unsigned)getpid());
    struct worker *ws = calloc((size_t)cfg.threads, sizeof *ws);
    if (!ws || workers_start(ws) != 0) {
        fprintf(stderr, "e2e_driver: cannot start the workers\n");
        return 1;
    }
    struct usage d0, d1, s0 = {0}, s1 = {0};
    sleep_s(cfg.warmup_s);
    bool have_server = cfg.server_pid > 0 && server_usage(cfg.server_pid, &s0) == 0;
    self_usage(&d0);
    int64_t t0 = mono_us();
    atomic_store(&phase, MEASURE);
    sleep_s(cfg.seconds);
    atomic_store(&phase, DRAIN);
    int64_t t1 = mono_us();
    self_usage(&d1);
    have_server = have_server && server_usage(cfg.server_pid, &s1) == 0;
    for (int i = 0; i < cfg.threads; i++)
        pthread_join(ws[i].th, NULL);
    struct totals t;
    merge(ws, &t);
    report(&t, (double)(t1 - t0) / 1e6, &d0, &d1, &s0, &s1, have_server);
    bool good = t.failures == 0 && t.payments > 0 && t.verified == t.answers;
    for (int i = 0; i < cfg.threads; i++)
        worker_free(&ws[i]);
    free(ws);
    free(t.pay_lat.us);
    free(t.create_lat.us);
    for (size_t i = 0; i < n_agreements; i++)
        free(agreements[i]);
    free(agreements);
    pay_ed25519_key_fini(&merchant_key);
    curl_global_cleanup();
    if (acks && fclose(acks) != 0)
        good = false;
    return good ? 0 : 1;
}
