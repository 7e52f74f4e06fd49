/* Internals of the http module shared by its .c files (and its unit tests): the router, the
 * server and request structures, metrics. Not for other modules: use server.h. */
#ifndef PAY_HTTP_INTERNAL_H
#define PAY_HTTP_INTERNAL_H

#include "core/buf.h"
#include "core/limits.h"
#include "http/codec.h"
#include "http/server.h"
#include "http/template.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
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

/* --- server and request ----------------------------------------------------------------- */

struct route_rt {
    struct pay_http_route r;
    char *label; /* "METHOD pattern", owned */
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
    atomic_ulong errors[PAY_ERR__COUNT];
    atomic_long in_flight;
    atomic_bool stopping;
    struct MHD_Daemon *daemon;
    int port;
    char url[96];
    struct pay_buf form_action; /* " https://a https://b" */
    struct pay_tpl_set *templates;
    char *static_dir;
    int (*health_check)(void *ctx, struct pay_error *err);
    void *health_ctx;
    pay_http_sign_fn sign_response;
    void *sign_ctx;
    pthread_mutex_t mu; /* with cv: shutdown waits for in_flight == 0 */
    pthread_cond_t cv;
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
};

/* request.c */
struct pay_http_request *pay_http_req_new(struct pay_http_server *srv, struct MHD_Connection *conn,
                                          const char *method, const char *path);
void pay_http_req_free(struct pay_http_request *req); /* runs defers, frees everything */
/* Builds libmicrohttpd's response with every header; NULL when out of memory. */
struct MHD_Response *pay_http_req_build_response(struct pay_http_request *req);

/* metrics.c */
void pay_http_metric_observe(struct pay_http_metric *m, int status, long elapsed_us);
/* Appends the Prometheus text of srv's metrics; 0 or -1 (cap). */
int pay_http_metrics_write(struct pay_http_server *srv, struct pay_buf *out);

#endif
