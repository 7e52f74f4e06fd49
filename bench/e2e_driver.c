/* bench/e2e_driver: the merchant side of bench/e2e. N keep-alive connections (libcurl multi,
 * spread over T threads) each loop one payment after another: a signed `POST /v1/trades`
 * with product=agreement (created and paid from the consumer's wallet at once; fresh
 * Idempotency-Key and out_trade_no), then a signed `GET /v1/trades/{id}`. Every answer's
 * Paygate-Signature is verified against the platform key and the request's nonce, and its
 * content checked (201/200, TRADE_SUCCESS, the same trade); anything else is a failure.
 *
 * It measures only what completes inside the measured window (after a warm-up): payments/s,
 * the latency of a payment (create + query) and of the create alone, the driver's own CPU
 * per payment (getrusage: it must never be the bottleneck), and with --server-pid the
 * server's CPU (/proc/<pid>/stat: user and kernel) and context switches (summed over the
 * status files of its threads) per payment. The last line is machine-readable:
 *   RESULT payments=... rate=... p50_ms=... p99_ms=... server_cpu_us=... failures=...
 * Exit 0 when every answer verified and nothing failed, 1 otherwise, 2 on bad usage. */
#include "core/buf.h"
#include "core/ids.h"
#include "crypto/crypto.h"
#include "crypto/sig.h"
#include "crypto/sign.h"

#include <curl/curl.h>
#include <dirent.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define CONNECTIONS_MAX  4096
#define THREADS_MAX      64
#define RESPONSE_MAX     65536
#define FAILURES_SHOWN   5
#define REQUEST_TIMEOUT  30000L /* ms: a stuck answer is a failure, not a hang */
#define DRAIN_TIMEOUT_MS 35000

enum phase { WARMUP, MEASURE, DRAIN };
enum failure { F_TRANSPORT, F_STATUS, F_SIGNATURE, F_CONTENT, F_KINDS };
static const char *const failure_names[F_KINDS] = {"transport", "status", "signature", "content"};

struct config {
    const char *url, *merchant, *key_file, *agreements_file, *platform_key, *amount;
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
static _Atomic int phase = WARMUP;
static atomic_int failures_shown;

/* A sorted-at-the-end list of latencies, microseconds. */
struct lat {
    int64_t *us;
    size_t n, cap;
};

struct worker;

struct conn {
    struct worker *w;
    CURL *h;
    struct curl_slist *hdrs;
    bool querying; /* false: the create is in flight; true: the query */
    char nonce[PAY_SIG_NONCE_MAX + 1];
    char otn[80];
    char trade_id[PAY_ID_MAX];
    char url[1200];
    char body[512];
    char sig[PAY_SIG_HEADER_MAX + 1]; /* the answer's Paygate-Signature */
    struct pay_buf resp;
    int64_t start_us, create_done_us;
};

struct worker {
    int index;
    pthread_t th;
    CURLM *multi;
    struct conn *conns;
    int n_conns;
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

/* --- requests ------------------------------------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    struct conn *c = ctx;
    return pay_buf_append(&c->resp, p, size * n) == 0 ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    struct conn *c = ctx;
    size_t len = size * n, name = strlen(PAY_SIG_RESPONSE_HEADER);
    if (len > name + 1 && strncasecmp(p, PAY_SIG_RESPONSE_HEADER, name) == 0 && p[name] == ':') {
        const char *v = p + name + 1;
        size_t vl = len - name - 1;
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl < sizeof c->sig) {
            memcpy(c->sig, v, vl);
            c->sig[vl] = '\0';
        }
    }
    return len;
}

/* Signs METHOD target body into an Authorization header and (re)starts c's transfer. */
static int send_signed(struct conn *c, const char *method, const char *target, const char *body,
                       const char *idem_key)
{
    char auth[PAY_SIG_HEADER_MAX], line[PAY_SIG_HEADER_MAX + 32];
    struct pay_sig_signer s = {PAY_SIG_ED25519, cfg.merchant, &merchant_key, NULL};
    size_t len = body ? strlen(body) : 0;
    pay_sig_nonce_generate(c->nonce);
    if (pay_sig_sign_request(&s, method, target, body ? body : "", len, (int64_t)time(NULL),
                             c->nonce, auth, sizeof auth, NULL) != PAY_ERR_OK)
        return -1;
    curl_slist_free_all(c->hdrs);
    snprintf(line, sizeof line, "%s: %s", PAY_SIG_REQUEST_HEADER, auth);
    c->hdrs = curl_slist_append(NULL, line);
    c->hdrs = curl_slist_append(c->hdrs, "Expect:");
    if (body) {
        c->hdrs = curl_slist_append(c->hdrs, "Content-Type: application/json");
        snprintf(line, sizeof line, "Idempotency-Key: %s", idem_key);
        c->hdrs = curl_slist_append(c->hdrs, line);
    }
    snprintf(c->url, sizeof c->url, "%s%s", cfg.url, target);
    pay_buf_reset(&c->resp);
    c->sig[0] = '\0';
    curl_multi_remove_handle(c->w->multi, c->h);
    curl_easy_setopt(c->h, CURLOPT_URL, c->url);
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->hdrs);
    if (body) {
        curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE, (long)len);
    } else {
        curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
    }
    return curl_multi_add_handle(c->w->multi, c->h) == CURLM_OK ? 0 : -1;
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

static void show_failure(const struct conn *c, enum failure f, long status, const char *why)
{
    if (atomic_fetch_add(&failures_shown, 1) >= FAILURES_SHOWN)
        return;
    fprintf(stderr, "e2e_driver: %s failure (%s) on %s %s: HTTP %ld %.300s\n", failure_names[f],
            why, c->querying ? "GET" : "POST", c->otn, status, pay_buf_str(&c->resp));
}

/* Checks a finished transfer: transport, status, signature, content. Fills c->trade_id after
 * the create. F_KINDS when it is good. */
static enum failure check_answer(struct conn *c, CURLcode rc)
{
    struct worker *w = c->w;
    long status = 0;
    if (rc != CURLE_OK) {
        show_failure(c, F_TRANSPORT, 0, curl_easy_strerror(rc));
        return F_TRANSPORT;
    }
    w->answers++;
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
    struct pay_sig_verifier v = {platform_lookup, NULL, NULL, NULL, 0};
    struct pay_error err = {0};
    if (pay_sig_verify_response(&v, c->sig[0] ? c->sig : NULL, (int)status, c->nonce,
                                c->resp.data ? c->resp.data : "", c->resp.len, (int64_t)time(NULL),
                                NULL, &err) != PAY_ERR_OK) {
        show_failure(c, F_SIGNATURE, status, err.detail[0] ? err.detail : pay_err_name(err.code));
        return F_SIGNATURE;
    }
    w->verified++;
    if (status != (c->querying ? 200 : 201)) {
        show_failure(c, F_STATUS, status, "unexpected status");
        return F_STATUS;
    }
    json_t *j = json_loadb(c->resp.data, c->resp.len, 0, NULL);
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
        show_failure(c, F_CONTENT, status, "not the paid trade");
        return F_CONTENT;
    }
    return F_KINDS;
}

/* One transfer of c finished: check it, then go on (query, or the next payment). Returns -1
 * when c stops (draining, or it could not start a request). */
static int on_done(struct conn *c, CURLcode rc)
{
    struct worker *w = c->w;
    enum failure f = check_answer(c, rc);
    int64_t now = mono_us();
    bool measuring = atomic_load(&phase) == MEASURE;
    if (f == F_KINDS && !c->querying) {
        c->create_done_us = now;
        char target[64];
        snprintf(target, sizeof target, "/v1/trades/%s", c->trade_id);
        c->querying = true;
        return send_signed(c, "GET", target, NULL, NULL);
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
        return -1;
    if (start_payment(c) == 0)
        return 0;
    w->failures[F_TRANSPORT]++; /* could not even send: this connection stops */
    return -1;
}

/* --- workers --------------------------------------------------------------------------------- */

static int conn_init(struct conn *c, struct worker *w)
{
    c->w = w;
    c->h = curl_easy_init();
    pay_buf_init(&c->resp, RESPONSE_MAX);
    if (!c->h)
        return -1;
    curl_easy_setopt(c->h, CURLOPT_PRIVATE, c);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT);
    curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->h, CURLOPT_TCP_NODELAY, 1L);
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    int active = 0;
    for (int i = 0; i < w->n_conns; i++)
        active += start_payment(&w->conns[i]) == 0 ? 1 : 0;
    int64_t drain_deadline = 0;
    while (active > 0) {
        int running = 0, msgs = 0;
        curl_multi_perform(w->multi, &running);
        for (CURLMsg *m; (m = curl_multi_info_read(w->multi, &msgs));) {
            if (m->msg != CURLMSG_DONE)
                continue;
            struct conn *c = NULL;
            CURL *h = m->easy_handle;
            CURLcode rc = m->data.result;
            curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&c);
            if (on_done(c, rc) != 0) {
                curl_multi_remove_handle(w->multi, h);
                active--;
            }
        }
        if (atomic_load(&phase) == DRAIN && drain_deadline == 0)
            drain_deadline = mono_us() + DRAIN_TIMEOUT_MS * 1000LL;
        if (drain_deadline && mono_us() > drain_deadline)
            break; /* answers that never come are transport failures, counted below */
        curl_multi_poll(w->multi, NULL, 0, 100, NULL);
    }
    w->failures[F_TRANSPORT] += (uint64_t)active;
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
        w->multi = curl_multi_init();
        if (!w->conns || !w->multi)
            return -1;
        curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, (long)w->n_conns * 2);
        for (int i = 0; i < w->n_conns; i++)
            if (conn_init(&w->conns[i], w) != 0)
                return -1;
        if (pthread_create(&w->th, NULL, worker_main, w) != 0)
            return -1;
    }
    return 0;
}

static void worker_free(struct worker *w)
{
    for (int i = 0; i < w->n_conns; i++) {
        curl_easy_cleanup(w->conns[i].h);
        curl_slist_free_all(w->conns[i].hdrs);
        pay_buf_fini(&w->conns[i].resp);
    }
    if (w->multi)
        curl_multi_cleanup(w->multi);
    free(w->conns);
    free(w->pay_lat.us);
    free(w->create_lat.us);
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
            "                  [--server-pid PID] [--platform-key BASE64] [--amount 1.00]\n");
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
    qsort(t->pay_lat.us, t->pay_lat.n, sizeof(int64_t), cmp_i64);
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
        load_agreements(cfg.agreements_file) != 0 || load_platform_key() != 0) {
        fprintf(stderr,
                "e2e_driver: cannot load the merchant key %s, the agreements %s or the "
                "platform key\n",
                cfg.key_file, cfg.agreements_file);
        return 1;
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
    return good ? 0 : 1;
}
