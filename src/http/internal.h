/* Internals of the http module shared by its .c files (and its unit tests): the router, the
 * server and request structures, metrics. Not for other modules: use server.h. */
#ifndef PAY_HTTP_INTERNAL_H
#define PAY_HTTP_INTERNAL_H

#include "core/buf.h"
#include "core/limits.h"
#include "http/codec.h"
#include "http/server.h"
#include "http/template.h"
#include "i18n/i18n.h"
#include "i18n/tz.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

/* --- router ----------------------------------------------------------------------------- */

struct pay_http_param {
    const char *name; /* points into the pattern, name_len bytes, no braces */
    size_t name_len;
    const char *value; /* points into the path, value_len bytes */
    size_t value_len;
};

/* 1 when pattern is well formed: starts with '/', {name} only as whole segments, names of
 * [a-z0-9_], at most PAY_HTTP_PATH_PARAMS_MAX of them; else 0. */
int pay_http_pattern_valid(const char *pattern);

/* 1 when path matches pattern, filling params[0..*n) (capacity PAY_HTTP_PATH_PARAMS_MAX);
 * 0 otherwise. A {name} matches exactly one non-empty segment. */
int pay_http_route_match(const char *pattern, const char *path, struct pay_http_param *params,
                         size_t *n);

/* --- metrics ---------------------------------------------------------------------------- */

#define PAY_HTTP_BUCKETS 12 /* latency histogram upper bounds, see metrics.c */

struct pay_http_metric {
    const char *label;        /* "GET /v1/trades/{id}" */
    atomic_ulong by_class[6]; /* [1]..[5] = 1xx..5xx */
    atomic_ulong buckets[PAY_HTTP_BUCKETS + 1];
    atomic_ulong sum_us;
    atomic_ulong count;
};

/* --- connections (conns.c) ------------------------------------------------------------- */

/* One client connection: libmicrohttpd's socket context. */
struct pay_http_conn {
    struct pay_http_conn *prev, *next; /* in the reading list, while reading */
    int fd;
    int64_t since_ms; /* monotonic: when the connection became ready for its request */
    bool reading;     /* waiting for a whole request to arrive */
    bool cut;         /* shut down by us; closing */
};

/* The server's connections: how many are open, and which are reading, oldest first. */
struct pay_http_conns {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC; wakes the reaper */
    struct pay_http_conn *head, *tail;
    unsigned open, max;
    int64_t read_timeout_ms;
    bool stop, reaper_started;
    pthread_t reaper;
    atomic_ulong cut_read_timeout; /* the request did not arrive in time */
    atomic_ulong cut_displaced;    /* at the cap, for a newer connection */
};

void pay_http_conns_init(struct pay_http_conns *c, unsigned max, int64_t read_timeout_ms);
int pay_http_conns_start(struct pay_http_conns *c); /* the reaper thread; 0 or -1 */
void pay_http_conns_stop(struct pay_http_conns *c);
void pay_http_conns_fini(struct pay_http_conns *c); /* after every connection closed */
/* A connection was accepted on fd: it starts reading; at the cap the longest-reading
 * connection (perhaps this one) is cut. The entry is freed by pay_http_conns_closed; NULL
 * (out of memory) means the connection was cut at once. */
struct pay_http_conn *pay_http_conns_opened(struct pay_http_conns *c, int fd);
void pay_http_conns_closed(struct pay_http_conns *c, struct pay_http_conn *e);
/* Its request has arrived whole (the read deadline no longer applies) / its response is sent
 * (ready for the next request: the deadline starts again). NULL is ignored. */
void pay_http_conns_request_read(struct pay_http_conns *c, struct pay_http_conn *e);
void pay_http_conns_request_done(struct pay_http_conns *c, struct pay_http_conn *e);
unsigned pay_http_conns_open(struct pay_http_conns *c);

/* --- the handler pool (workers.c) ------------------------------------------------------- */

/* A unit of work for the pool, embedded in what it works on (a request). */
struct pay_http_job {
    struct pay_http_job *next;
    void (*run)(struct pay_http_job *j);
};

struct pay_http_workers {
    pthread_mutex_t mu;
    pthread_cond_t work; /* CLOCK_MONOTONIC; idle threads wait here */
    pthread_cond_t gone; /* stop waits here for the last thread */
    struct pay_http_job *head, *tail;
    unsigned queued, threads, idle;
    unsigned keep, max; /* threads that never exit when idle; threads at most */
    unsigned long started;
    bool stop;
};

void pay_http_workers_init(struct pay_http_workers *w, unsigned keep, unsigned max);
int pay_http_workers_start(struct pay_http_workers *w); /* the `keep` threads; 0 or -1 */
/* Queues j; a thread runs j->run(j) soon, a new one when every thread is busy. */
void pay_http_workers_submit(struct pay_http_workers *w, struct pay_http_job *j);
/* Waits for every thread to exit; the queue must be empty (every handler has finished). */
void pay_http_workers_stop(struct pay_http_workers *w);
void pay_http_workers_fini(struct pay_http_workers *w);
void pay_http_workers_counts(struct pay_http_workers *w, unsigned *threads, unsigned *busy);

/* --- server and request ----------------------------------------------------------------- */

struct route_rt {
    struct pay_http_route r;
    bool inline_;   /* the handler never blocks: it runs on the event thread */
    bool unsigned_; /* /healthz, /metrics: for probes and scrapers, never signed */
    char *label;    /* "METHOD pattern", owned */
    struct pay_http_metric m;
};

struct pay_http_server {
    char *name;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    bool tls;
    char *cert_pem, *key_pem;
    struct route_rt *routes;
    size_t n_routes;
    struct pay_http_metric unmatched;
    struct pay_http_conns conns;
    unsigned max_connections_per_ip, idle_timeout_s;
    char *tls_priorities; /* GnuTLS priority string, owned */
    atomic_ulong errors[PAY_ERR__COUNT];
    atomic_long in_flight;
    atomic_bool stopping;
    /* Handlers running or suspended (their connection waits for pay_http_req_resume);
     * `closing` refuses new ones, so stop can wait for none before the daemon goes. */
    atomic_long handling;
    atomic_bool closing;
    unsigned threads; /* event threads (libmicrohttpd's pool) */
    struct pay_http_workers workers;
    bool workers_started;
    struct MHD_Daemon *daemon;
    int port;
    char url[96];
    struct pay_buf form_action; /* " https://a https://b" */
    struct pay_tpl_set *templates;
    struct pay_i18n *i18n; /* languages of the pages (lang.c) */
    struct pay_tz *tz;     /* the zone pages show times in */
    char *static_dir;
    int (*health_check)(void *ctx, struct pay_error *err);
    void *health_ctx;
    pthread_mutex_t health_mu;       /* the last check's result, reused for health_cache_ms */
    pthread_mutex_t health_check_mu; /* one check at a time, on a worker */
    int64_t health_at_ms;            /* monotonic; 0: never checked */
    int64_t health_cache_ms;
    struct pay_error health_err; /* code OK: healthy */
    pay_http_sign_fn sign_response;
    void *sign_ctx;
    pthread_mutex_t mu; /* with cv: shutdown waits for in_flight == 0 */
    pthread_cond_t cv;
    pthread_mutex_t log_mu; /* libmicrohttpd's log lines this second (server.c) */
    int64_t log_second;
    unsigned log_lines;
    unsigned long log_dropped;
};

struct arena_block;

struct resp_header {
    struct resp_header *next;
    const char *name, *value; /* in the request's arena */
};

struct deferred;

struct pay_http_request {
    struct pay_http_server *srv;
    struct MHD_Connection *conn;
    struct route_rt *route; /* NULL: no route matched */
    enum pay_http_kind kind;
    const char *method, *path; /* owned by libmicrohttpd for the request's life */
    char *target;              /* the request target as sent (path?query, undecoded); owned */
    bool begun;                /* the access handler has seen the request (begin() ran) */
    char id[PAY_ID_MAX];
    char remote_ip[64];
    struct timespec t0;
    struct pay_http_param params[PAY_HTTP_PATH_PARAMS_MAX];
    size_t n_params;
    struct pay_buf body;
    bool body_too_large;
    size_t drained;     /* bytes dropped after the cap */
    enum pay_err early; /* an error found before the body was read (431, 413) */
    char allow[64];     /* methods of the routes with this path, for 405's Allow */
    json_t *json;
    struct pay_form form;
    bool has_form;
    struct arena_block *arena;
    struct deferred *defers;
    /* the response */
    int status;
    char *resp_body; /* malloc'd, handed to libmicrohttpd */
    size_t resp_len;
    const char *content_type;
    struct resp_header *headers;
    struct pay_buf form_action; /* extra CSP form-action origins of this page */
    bool responded;
    bool probe; /* the answer of /healthz or /metrics: for probes and scrapers, not signed */
    /* off the event thread (server.c): the connection is suspended while its handler runs on
     * a worker or its answer is pending; `holds` counts who must let go before it resumes
     * (the framework, and the completer of a suspended handler) */
    struct pay_http_job job;
    atomic_int holds;
    bool suspended;                   /* by pay_http_req_suspend */
    pay_http_handler offload;         /* by pay_http_req_offload: continues on a worker */
    bool parked;                      /* the connection is suspended; resumed when holds reach 0 */
    bool queued;                      /* the response is queued */
    struct MHD_Response *answer;      /* built off the event thread, queued on it */
    const struct pay_i18n_lang *lang; /* negotiated on first use (lang.c) */
    const char *page_url;             /* GET URL of this page, for the language switch */
};

/* request.c */
struct pay_http_request *pay_http_req_new(struct pay_http_server *srv, struct MHD_Connection *conn,
                                          const char *method, const char *path);
void pay_http_req_free(struct pay_http_request *req); /* runs defers, frees everything */
/* Builds libmicrohttpd's response with every header; NULL when out of memory. */
struct MHD_Response *pay_http_req_build_response(struct pay_http_request *req);

/* sandbox_clock.c: GET and POST /sandbox/clock (server.c adds them only on a server on the
 * test clock). Like every file that serves routes, it exports a table and registers nothing
 * itself, so that nothing calls back into server.c. */
const struct pay_http_route *pay_http_sandbox_clock_routes(size_t *n);

/* dispatch.c: runs a request that has arrived whole (its access handler's last call) inline or
 * on a worker; queues a parked request's answer once resumed. Event thread only. */
enum MHD_Result pay_http_dispatch(struct pay_http_request *req);
enum MHD_Result pay_http_answer(struct pay_http_request *req);
/* Counts a handler in progress; false once the server is closing (then none may start). */
bool pay_http_handling_enter(struct pay_http_server *srv);
void pay_http_handling_leave(struct pay_http_server *srv);
/* lang.c: catalogs, zone and the built-in templates (lang_switch, error), checked against the
 * templates; the switch route; the values every page gets ({{i18n.lang}}, a new object). */
enum pay_err pay_http_lang_load(struct pay_http_server *srv, const struct pay_http_config *cfg,
                                struct pay_error *err);
/* Adds the built-in templates a web root does not bring itself (lang_switch, error). Also
 * for the catalog tools (tests/i18n/po_tool.c), which must see every message a page shows. */
enum pay_err pay_http_templates_builtin(struct pay_tpl_set *set);
void pay_http_lang_free(struct pay_http_server *srv);
json_t *pay_http_page_globals(struct pay_http_request *req);
/* The cookie that remembers a reader's language. */
#define PAY_HTTP_LANG_COOKIE "lang"
/* A path on this server to go back to: "/..." but not "//host" or "/\host" (which browsers
 * read as another host), printable ASCII, bounded by PAY_HTTP_LANG_BACK_MAX. Else "/". */
const char *pay_http_local_path(const char *p);
/* lang_switch.c: GET /lang/{tag}?back=/path, remembers the choice and goes back. */
enum pay_err pay_http_lang_switch(struct pay_http_request *req, struct pay_error *err);
/* sandbox_faults.c: GET, POST and DELETE /sandbox/faults (server.c adds them only on a server
 * on the test clock whose store goes through the fault-injection layer) */
const struct pay_http_route *pay_http_sandbox_faults_routes(size_t *n);

/* metrics.c */
void pay_http_metric_observe(struct pay_http_metric *m, int status, long elapsed_us);
/* Appends the Prometheus text of srv's metrics; 0 or -1 (cap). */
int pay_http_metrics_write(struct pay_http_server *srv, struct pay_buf *out);

#endif
