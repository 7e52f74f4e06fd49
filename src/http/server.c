/* The server: configuration, routes, the libmicrohttpd callbacks that run each request through
 * its fixed phases (limits → route → body decoding → handler → response → metrics/log), the
 * built-in routes, TLS, and graceful shutdown. */
#include "http/internal.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/faults.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define DRAIN_MAX (16 * PAY_HTTP_BODY_MAX) /* oversized chunked body read and dropped */

static enum pay_err h_healthz(struct pay_http_request *req, struct pay_error *err);
/* GET /favicon.ico: every browser asks for it on every site; an answer (a small SVG, which
 * browsers take whatever the name says) instead of a 404 in every page's console. */
static enum pay_err h_favicon(struct pay_http_request *req, struct pay_error *err)
{
    (void)err;
    static const char icon[] =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\">"
        "<rect width=\"32\" height=\"32\" rx=\"6\" fill=\"#1d4ed8\"/>"
        "<path d=\"M9 7l7 9 7-9M16 16v10M10 17h12M10 21h12\" stroke=\"#fff\" stroke-width=\"2.5\" "
        "fill=\"none\" stroke-linecap=\"round\"/></svg>";
    req->probe = true; /* not a request worth a log line */
    pay_http_respond_header(req, "Cache-Control", "public, max-age=86400");
    pay_http_respond_bytes(req, 200, "image/svg+xml", icon, sizeof icon - 1);
    return PAY_ERR_OK;
}

static enum pay_err h_metrics(struct pay_http_request *req, struct pay_error *err);
static enum pay_err h_favicon(struct pay_http_request *req, struct pay_error *err);
static enum pay_err h_static(struct pay_http_request *req, struct pay_error *err);
static void stop_threads(struct pay_http_server *srv);

/* --- configuration ---------------------------------------------------------------------- */

enum pay_err pay_http_listen_parse(const char *listen, struct sockaddr_storage *addr,
                                   socklen_t *addr_len, bool *loopback, struct pay_error *err)
{
    char host[64];
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    if (colon == NULL || colon == listen || (size_t)(colon - listen) >= sizeof host)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "listen", "expected host:port");
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 0 || port > 65535)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "listen", "bad port");
    memset(addr, 0, sizeof *addr);
    struct sockaddr_in *s4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)addr;
    size_t hl = strlen(host);
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
            return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "listen", "bad IPv6 address");
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *addr_len = sizeof *s6;
        *loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
        return PAY_ERR_OK;
    }
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "listen",
                             "host must be an IP address or localhost");
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    *addr_len = sizeof *s4;
    *loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    return PAY_ERR_OK;
}

static bool name_valid(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 63)
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
           strlen(s);
}

static enum pay_err load_web_root(struct pay_http_server *srv, const char *root,
                                  struct pay_error *err)
{
    char dir[4096];
    struct stat st;
    if (root == NULL)
        return pay_tpl_set_load(NULL, &srv->templates, err);
    snprintf(dir, sizeof dir, "%s/templates", root);
    enum pay_err rc = pay_tpl_set_load(stat(dir, &st) == 0 ? dir : NULL, &srv->templates, err);
    snprintf(dir, sizeof dir, "%s/static", root);
    if (rc == PAY_ERR_OK && stat(dir, &st) == 0 && (srv->static_dir = strdup(dir)) == NULL)
        rc = pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    return rc;
}

enum pay_err pay_http_tls_priorities_check(const char *priorities, struct pay_error *err)
{
    gnutls_priority_t p = NULL;
    const char *at = NULL;
    if (priorities == NULL || *priorities == '\0')
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "tls_priorities", "empty");
    int rc = gnutls_priority_init(&p, priorities, &at);
    if (rc == GNUTLS_E_SUCCESS) {
        gnutls_priority_deinit(p);
        return PAY_ERR_OK;
    }
    if (rc == GNUTLS_E_INVALID_REQUEST && at != NULL)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "tls_priorities",
                             "GnuTLS cannot read the priority string at \"%.60s\"", at);
    return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "tls_priorities", "GnuTLS: %s",
                         gnutls_strerror(rc));
}

/* The connection limits and timeouts, defaults from limits.h for what cfg leaves at 0. */
static enum pay_err configure_limits(struct pay_http_server *srv, const struct pay_http_config *cfg,
                                     struct pay_error *err)
{
    unsigned max = cfg->max_connections ? cfg->max_connections : PAY_HTTP_CONNECTIONS_MAX;
    unsigned per_ip =
        cfg->max_connections_per_ip ? cfg->max_connections_per_ip : PAY_HTTP_CONNECTIONS_PER_IP_MAX;
    long read_ms = cfg->read_timeout_ms ? cfg->read_timeout_ms : PAY_HTTP_READ_TIMEOUT_MS;
    unsigned idle_s = cfg->idle_timeout_s ? cfg->idle_timeout_s : PAY_HTTP_CONNECTION_TIMEOUT_S;
    if (max > PAY_HTTP_CONNECTIONS_CEILING)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "max_connections", "at most %d",
                             PAY_HTTP_CONNECTIONS_CEILING);
    if (read_ms < 0 || read_ms > PAY_HTTP_TIMEOUT_CEILING_S * 1000L)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "read_timeout", "1 ms to %d s",
                             PAY_HTTP_TIMEOUT_CEILING_S);
    if (idle_s > PAY_HTTP_TIMEOUT_CEILING_S)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "idle_timeout", "at most %d s",
                             PAY_HTTP_TIMEOUT_CEILING_S);
    if (cfg->threads > PAY_HTTP_THREADS_MAX)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "threads", "at most %d",
                             PAY_HTTP_THREADS_MAX);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    srv->threads = cfg->threads                  ? cfg->threads
                   : cpus < 1                    ? 1
                   : cpus > PAY_HTTP_THREADS_MAX ? PAY_HTTP_THREADS_MAX
                                                 : (unsigned)cpus;
    srv->conns.max = max;
    srv->conns.read_timeout_ms = read_ms;
    srv->max_connections_per_ip = per_ip < max ? per_ip : max;
    srv->idle_timeout_s = idle_s;
    const char *prio = cfg->tls_priorities ? cfg->tls_priorities : PAY_HTTP_TLS_PRIORITIES;
    enum pay_err rc = pay_http_tls_priorities_check(prio, err);
    if (rc == PAY_ERR_OK && (srv->tls_priorities = strdup(prio)) == NULL)
        rc = pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    return rc;
}

static enum pay_err configure(struct pay_http_server *srv, const struct pay_http_config *cfg,
                              struct pay_error *err)
{
    bool loopback = false;
    const char *name = cfg->name ? cfg->name : "http";
    if (!name_valid(name))
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "name", "letters, digits, _ . - only");
    if ((srv->name = strdup(name)) == NULL)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    enum pay_err rc =
        pay_http_listen_parse(cfg->listen, &srv->addr, &srv->addr_len, &loopback, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if ((cfg->tls_cert_file == NULL) != (cfg->tls_key_file == NULL))
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "tls_cert_file",
                             "set both tls_cert_file and tls_key_file, or neither");
    srv->tls = cfg->tls_cert_file != NULL;
    if (!srv->tls && !loopback && !cfg->insecure_http)
        return pay_error_set(err, PAY_ERR_INSECURE_LISTEN, "listen", NULL);
    if (srv->tls) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
            return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "tls_cert_file",
                                 "libmicrohttpd was built without TLS");
        srv->cert_pem = pay_file_read(cfg->tls_cert_file, PAY_HTTP_STATIC_FILE_MAX, NULL);
        srv->key_pem = pay_file_read(cfg->tls_key_file, PAY_HTTP_STATIC_FILE_MAX, NULL);
        if (srv->cert_pem == NULL || srv->key_pem == NULL)
            return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "tls_cert_file",
                                 "cannot read the TLS certificate or key file");
    }
    for (size_t i = 0; cfg->form_action_origins && cfg->form_action_origins[i]; i++)
        if (pay_http_server_add_form_action(srv, cfg->form_action_origins[i]) != PAY_ERR_OK)
            return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "form_action_origins",
                                 "not an http(s) origin: %.100s", cfg->form_action_origins[i]);
    srv->health_check = cfg->health_check;
    srv->health_ctx = cfg->health_ctx;
    if (cfg->health_cache_ms < 0)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "health_cache_ms", "negative");
    srv->health_cache_ms = cfg->health_cache_ms ? cfg->health_cache_ms : PAY_HTTP_HEALTH_CACHE_MS;
    srv->sign_response = cfg->sign_response;
    srv->sign_ctx = cfg->sign_ctx;
    if ((rc = configure_limits(srv, cfg, err)) != PAY_ERR_OK)
        return rc;
    rc = load_web_root(srv, cfg->web_root, err);
    return rc == PAY_ERR_OK ? pay_http_lang_load(srv, cfg, err) : rc;
}

enum pay_err pay_http_server_new(const struct pay_http_config *cfg, struct pay_http_server **out,
                                 struct pay_error *err)
{
    PAY_ASSERT(cfg != NULL && out != NULL);
    *out = NULL;
    struct pay_http_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    pay_clock_cond_init(&srv->cv);
    pthread_mutex_init(&srv->mu, NULL);
    pthread_mutex_init(&srv->log_mu, NULL);
    pthread_mutex_init(&srv->health_mu, NULL);
    pthread_mutex_init(&srv->health_check_mu, NULL);
    pay_buf_init(&srv->form_action, 4096);
    pay_http_conns_init(&srv->conns, PAY_HTTP_CONNECTIONS_MAX, PAY_HTTP_READ_TIMEOUT_MS);
    srv->unmatched.label = "unmatched";
    enum pay_err rc = configure(srv, cfg, err);
    if (rc == PAY_ERR_OK) {
        /* /healthz and /metrics answer from memory; a static file may come from disk */
        const struct pay_http_route fast[] = {
            {"GET", "/healthz", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_healthz, srv},
            {"GET", "/metrics", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_metrics, srv},
            {"GET", "/favicon.ico", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_favicon, srv},
        };
        const struct pay_http_route pages[] = {
            {"GET", "/lang/{tag}", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, pay_http_lang_switch, srv},
            {"GET", "/static/{file}", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_static, srv},
        };
        rc = pay_http_server_add_inline_routes(srv, fast, sizeof fast / sizeof fast[0], err);
        if (rc == PAY_ERR_OK)
            rc = pay_http_server_add_routes(srv, pages, srv->static_dir ? 2 : 1, err);
    }
    size_t n = 0;
    const struct pay_http_route *sandbox = NULL;
    if (rc == PAY_ERR_OK && pay_clock_is_fake()) {
        sandbox = pay_http_sandbox_clock_routes(&n);
        rc = pay_http_server_add_routes(srv, sandbox, n, err);
    }
    if (rc == PAY_ERR_OK && pay_clock_is_fake() && pay_fault_layer_present()) {
        sandbox = pay_http_sandbox_faults_routes(&n);
        rc = pay_http_server_add_routes(srv, sandbox, n, err);
    }
    if (rc != PAY_ERR_OK) {
        pay_http_server_free(srv);
        return rc;
    }
    *out = srv;
    return PAY_ERR_OK;
}

static enum pay_err add_routes(struct pay_http_server *srv, const struct pay_http_route *routes,
                               size_t n, bool inline_, struct pay_error *err)
{
    PAY_ASSERT(srv->daemon == NULL); /* routes are fixed once serving: no locking needed */
    for (size_t i = 0; i < n; i++)
        if (!pay_http_pattern_valid(routes[i].pattern) || routes[i].method == NULL ||
            routes[i].handler == NULL)
            return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "route", "bad route %.100s",
                                 routes[i].pattern ? routes[i].pattern : "(null)");
    struct route_rt *r = realloc(srv->routes, (srv->n_routes + n) * sizeof *r);
    if (r == NULL)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    srv->routes = r;
    for (size_t i = 0; i < n; i++) {
        struct route_rt *rt = &srv->routes[srv->n_routes];
        memset(rt, 0, sizeof *rt);
        rt->r = routes[i];
        rt->inline_ = inline_;
        size_t ln = strlen(routes[i].method) + strlen(routes[i].pattern) + 2;
        if ((rt->label = malloc(ln)) == NULL)
            return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
        snprintf(rt->label, ln, "%s %s", routes[i].method, routes[i].pattern);
        rt->m.label = rt->label;
        srv->n_routes++;
    }
    return PAY_ERR_OK;
}

enum pay_err pay_http_server_add_routes(struct pay_http_server *srv,
                                        const struct pay_http_route *routes, size_t n,
                                        struct pay_error *err)
{
    return add_routes(srv, routes, n, false, err);
}

enum pay_err pay_http_server_add_inline_routes(struct pay_http_server *srv,
                                               const struct pay_http_route *routes, size_t n,
                                               struct pay_error *err)
{
    return add_routes(srv, routes, n, true, err);
}

/* --- request phases --------------------------------------------------------------------- */

static bool request_id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 8 && n < PAY_ID_MAX &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

/* Takes the caller's X-Request-Id when it is well formed (so one id follows a payment across
 * our servers), else makes a fresh random one. */
static void assign_request_id(struct pay_http_request *req)
{
    const char *in = pay_http_req_header(req, "X-Request-Id");
    if (request_id_ok(in)) {
        pay_str_copy(req->id, sizeof req->id, in);
        return;
    }
    /* random bytes for 32 ids per call of the CSPRNG: a syscall per request showed in
     * profiles */
    static _Thread_local unsigned char pool[32 * 12];
    static _Thread_local size_t used = sizeof pool;
    if (used == sizeof pool) {
        pay_random_bytes(pool, sizeof pool);
        used = 0;
    }
    const unsigned char *r = pool + used;
    used += 12;
    static const char hex[] = "0123456789abcdef";
    char *p = req->id + snprintf(req->id, sizeof req->id, "req_");
    for (size_t i = 0; i < 12; i++) {
        *p++ = hex[r[i] >> 4];
        *p++ = hex[r[i] & 15];
    }
    *p = '\0';
}

static enum MHD_Result sum_header(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    *(size_t *)cls += strlen(k) + (v ? strlen(v) : 0) + 4;
    return MHD_YES;
}

static void remote_ip(struct pay_http_request *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(req->remote_ip, sizeof req->remote_ip, "-");
    if (ci == NULL || ci->client_addr == NULL)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                  req->remote_ip, sizeof req->remote_ip);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                  req->remote_ip, sizeof req->remote_ip);
}

/* Finds the route; copies path parameters into the arena as strings. Sets *path_known when
 * some route has this path with another method (405 rather than 404). */
static void route_request(struct pay_http_request *req, bool *path_known)
{
    struct pay_http_server *srv = req->srv;
    const char *m = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
    *path_known = false;
    for (size_t i = 0; i < srv->n_routes; i++) {
        struct pay_http_param p[PAY_HTTP_PATH_PARAMS_MAX];
        size_t n;
        if (!pay_http_route_match(srv->routes[i].r.pattern, req->path, p, &n))
            continue;
        *path_known = true;
        if (strcmp(srv->routes[i].r.method, m) != 0) {
            size_t used = strlen(req->allow);
            snprintf(req->allow + used, sizeof req->allow - used, "%s%s", used ? ", " : "",
                     srv->routes[i].r.method);
            continue;
        }
        req->route = &srv->routes[i];
        req->kind = req->route->r.kind;
        for (size_t k = 0; k < n; k++) {
            char *v = pay_http_req_alloc(req, p[k].value_len + 1);
            if (v == NULL)
                continue;
            memcpy(v, p[k].value, p[k].value_len);
            v[p[k].value_len] = '\0';
            p[k].value = v;
            req->params[req->n_params++] = p[k];
        }
        return;
    }
    const char *accept = pay_http_req_header(req, "Accept");
    req->kind = accept && strstr(accept, "text/html") ? PAY_HTTP_PAGE : PAY_HTTP_API;
}

/* libmicrohttpd calls this first with the target as sent, before it decodes the path; its
 * result becomes the request's context, completed by begin(). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct pay_http_request *req = pay_http_req_new(cls, conn, NULL, NULL);
    if (req != NULL)
        req->target = strndup(uri, PAY_HTTP_HEADER_MAX);
    return req;
}

static struct pay_http_request *begin(struct pay_http_server *srv, struct MHD_Connection *conn,
                                      const char *method, const char *url,
                                      struct pay_http_request *req)
{
    if (req == NULL)
        req = pay_http_req_new(srv, conn, method, url);
    if (req == NULL)
        return NULL;
    req->method = method;
    req->path = url;
    req->begun = true;
    atomic_fetch_add(&srv->in_flight, 1);
    assign_request_id(req);
    pay_log_set_request_id(req->id);
    remote_ip(req);
    size_t hdr = strlen(method) + strlen(url) + 12;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, sum_header, &hdr);
    const char *cl = pay_http_req_header(req, "Content-Length");
    char *end;
    if (hdr > PAY_HTTP_HEADER_MAX)
        req->early = PAY_ERR_HEADER_TOO_LARGE;
    else if (cl != NULL && (strtoull(cl, &end, 10) > PAY_HTTP_BODY_MAX || *end != '\0'))
        req->early = PAY_ERR_BODY_TOO_LARGE;
    bool path_known;
    route_request(req, &path_known);
    if (req->early == PAY_ERR_OK && req->route == NULL)
        req->early = path_known ? PAY_ERR_METHOD_NOT_ALLOWED : PAY_ERR_NOT_FOUND;
    return req;
}

/* The connection's entry in srv->conns (its socket context); NULL when untracked. */
static struct pay_http_conn *conn_entry(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct pay_http_request *req = *con_cls;
    if (req == NULL || !req->begun) {
        req = begin(cls, conn, method, url, req);
        if (req == NULL)
            return MHD_NO;
        *con_cls = req;
        /* Answer limit violations at once, without reading a body we will not use. */
        if (req->early == PAY_ERR_HEADER_TOO_LARGE || req->early == PAY_ERR_BODY_TOO_LARGE) {
            pay_http_conns_request_read(&req->srv->conns, conn_entry(conn));
            return pay_http_dispatch(req);
        }
        return MHD_YES;
    }
    pay_log_set_request_id(req->id);
    if (req->parked) /* resumed: its handler has finished */
        return pay_http_answer(req);
    if (*upload_data_size > 0) {
        /* Over the cap (chunked, so not caught by Content-Length): drop the rest and answer
         * 413 at the end, since libmicrohttpd cannot answer mid-body; a client that streams
         * more than DRAIN_MAX is cut off. */
        if (!req->body_too_large && pay_buf_append(&req->body, upload_data, *upload_data_size) != 0)
            req->body_too_large = true;
        if (req->body_too_large && (req->drained += *upload_data_size) > DRAIN_MAX)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->queued)
        return MHD_YES;
    pay_http_conns_request_read(&req->srv->conns, conn_entry(conn)); /* it has arrived */
    return pay_http_dispatch(req);
}

/* Sanitises a path for the access log: no control characters or quotes. */
static void log_safe(char *dst, size_t n, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        dst[i] = ((unsigned char)s[i] < 0x20 || s[i] == '"' || s[i] == 0x7f) ? '?' : s[i];
    dst[i] = '\0';
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct pay_http_server *srv = cls;
    struct pay_http_request *req = *con_cls;
    pay_http_conns_request_done(&srv->conns, conn_entry(conn)); /* the next one may come */
    if (req == NULL)
        return;
    *con_cls = NULL;
    if (!req->begun) { /* ended before the access handler saw it (bad request line) */
        pay_http_req_free(req);
        return;
    }
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long us = (t1.tv_sec - req->t0.tv_sec) * 1000000L + (t1.tv_nsec - req->t0.tv_nsec) / 1000;
    pay_http_metric_observe(req->route ? &req->route->m : &srv->unmatched, req->status, us);
    char path[256];
    log_safe(path, sizeof path, req->path);
    PAY_INFO("http.request", "method=%s path=\"%s\" status=%d us=%ld ip=%s%s", req->method, path,
             req->status, us, req->remote_ip,
             toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
    pay_http_req_free(req);
    if (atomic_fetch_sub(&srv->in_flight, 1) == 1 && atomic_load(&srv->stopping)) {
        pthread_mutex_lock(&srv->mu); /* stop waits for the last one */
        pthread_cond_broadcast(&srv->cv);
        pthread_mutex_unlock(&srv->mu);
    }
    pay_log_set_request_id(NULL);
}

/* --- lifecycle -------------------------------------------------------------------------- */

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct pay_http_server *srv = cls;
    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        pay_http_conns_closed(&srv->conns, *socket_context);
        *socket_context = NULL;
        return;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    *socket_context = ci != NULL ? pay_http_conns_opened(&srv->conns, ci->connect_fd) : NULL;
}

/* The accept policy: once stopping, a newcomer is closed at once, unread. This, not
 * MHD_quiesce_daemon, is how the server stops accepting: with event threads in epoll loops,
 * quiescing races them (both take the listen socket out of the same epoll set and the loser
 * aborts the process with "Failed to remove listen FD from epoll set"), and the socket it
 * hands back must stay open until MHD_stop_daemon anyway. The listen socket closes there. */
static enum MHD_Result accept_unless_stopping(void *cls, const struct sockaddr *addr,
                                              socklen_t addrlen)
{
    (void)addr;
    (void)addrlen;
    const struct pay_http_server *srv = cls;
    return atomic_load(&srv->stopping) ? MHD_NO : MHD_YES;
}

/* Raises the soft limit on open files so that the connection cap, not the file limit, bounds
 * connections (systemd and login shells start services at 1,024). */
static void raise_fd_limit(const struct pay_http_server *srv)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)srv->conns.max + PAY_HTTP_CONNECTIONS_HEADROOM + 256; /* + files */
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
        PAY_WARN("http.fd_limit_low", "server=%s open_files=%lu max_connections=%u", srv->name,
                 (unsigned long)rl.rlim_cur, srv->conns.max);
}

/* libmicrohttpd has a line for every connection that fails or is cut, which under a
 * slowloris attack is a line per connection: at most PAY_HTTP_LIBRARY_LOG_PER_S lines a
 * second per server; the number left out is logged with the next second's first line. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct pay_http_server *srv = cls;
    int64_t second = pay_clock_mono_ms() / 1000;
    unsigned long dropped = 0;
    pthread_mutex_lock(&srv->log_mu);
    if (second != srv->log_second) {
        dropped = srv->log_dropped;
        srv->log_second = second;
        srv->log_lines = srv->log_dropped = 0;
    }
    bool print = srv->log_lines < PAY_HTTP_LIBRARY_LOG_PER_S;
    if (print)
        srv->log_lines++;
    else
        srv->log_dropped++;
    pthread_mutex_unlock(&srv->log_mu);
    if (dropped > 0)
        PAY_WARN("http.mhd_suppressed", "server=%s lines=%lu", srv->name, dropped);
    if (!print)
        return;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\r\n")] = '\0';
    PAY_WARN("http.mhd", "server=%s msg=\"%s\"", srv->name, msg);
}

enum pay_err pay_http_server_start(struct pay_http_server *srv, struct pay_error *err)
{
    PAY_ASSERT(srv->daemon == NULL);
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key_pem},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert_pem},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, srv->tls_priorities},
        {MHD_OPTION_END, 0, NULL},
    };
    /* A few event threads, each its own epoll loop over its share of the connections; the
     * handlers that may block run on the worker pool with their connection suspended
     * (dispatch.c), so no thread per connection and no slow handler stalls a loop. */
    unsigned flags =
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (srv->addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (srv->tls)
        flags |= MHD_USE_TLS;
    raise_fd_limit(srv);
    if (pay_http_conns_start(&srv->conns) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot start the connection reaper");
    /* one handler at most per connection: the pool never needs more threads than that */
    pay_http_workers_init(&srv->workers, PAY_HTTP_WORKERS_KEEP,
                          srv->conns.max + PAY_HTTP_CONNECTIONS_HEADROOM);
    if (pay_http_workers_start(&srv->workers) != 0) {
        pay_http_conns_stop(&srv->conns);
        pay_http_workers_fini(&srv->workers);
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot start the worker threads");
    }
    srv->workers_started = true;
    /* libmicrohttpd's cap sits above ours by the headroom: at our cap a newcomer is accepted
     * and displaces the longest-reading connection (conns.c) rather than being refused. With
     * a pool it splits the cap between the event threads, and one at its share stops
     * accepting while the others take the newcomers. */
    srv->daemon = MHD_start_daemon(
        flags, 0, accept_unless_stopping, srv, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, srv, MHD_OPTION_THREAD_POOL_SIZE, srv->threads, MHD_OPTION_SOCK_ADDR,
        &srv->addr, MHD_OPTION_CONNECTION_LIMIT, srv->conns.max + PAY_HTTP_CONNECTIONS_HEADROOM,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, srv->max_connections_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, srv->idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(4 * PAY_HTTP_HEADER_MAX), MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
        MHD_OPTION_ARRAY, srv->tls ? tls : tls + 3, MHD_OPTION_END);
    if (srv->daemon == NULL) {
        stop_threads(srv);
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "listen",
                             "cannot listen (address in use, or bad TLS key/certificate)");
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : 0;
    char host[INET6_ADDRSTRLEN] = "";
    if (srv->addr.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&srv->addr)->sin6_addr, host, sizeof host);
    else
        inet_ntop(AF_INET, &((struct sockaddr_in *)&srv->addr)->sin_addr, host, sizeof host);
    snprintf(srv->url, sizeof srv->url, "%s://%s%s%s:%d", srv->tls ? "https" : "http",
             srv->addr.ss_family == AF_INET6 ? "[" : "", host,
             srv->addr.ss_family == AF_INET6 ? "]" : "", srv->port);
    PAY_INFO("http.listening", "server=%s url=%s", srv->name, srv->url);
    return PAY_ERR_OK;
}

int pay_http_server_port(const struct pay_http_server *srv)
{
    return srv->port;
}

const char *pay_http_server_url(const struct pay_http_server *srv)
{
    return srv->url;
}

/* Waits for every handler in progress (unbounded, as a handler bounds its own waits) after
 * refusing new ones: libmicrohttpd must not stop with a connection suspended. */
static void wait_for_handlers(struct pay_http_server *srv)
{
    atomic_store(&srv->closing, true);
    pthread_mutex_lock(&srv->mu);
    long waiting = atomic_load(&srv->handling);
    if (waiting > 0)
        PAY_WARN("http.shutdown_waits", "server=%s handlers=%ld", srv->name, waiting);
    while (atomic_load(&srv->handling) > 0)
        pthread_cond_wait(&srv->cv, &srv->mu);
    pthread_mutex_unlock(&srv->mu);
}

void pay_http_server_stop(struct pay_http_server *srv)
{
    if (srv == NULL || srv->daemon == NULL)
        return;
    atomic_store(&srv->stopping, true); /* accept_unless_stopping closes newcomers */
    struct timespec deadline = pay_clock_deadline_us(PAY_HTTP_SHUTDOWN_GRACE_S * 1000000LL);
    pthread_mutex_lock(&srv->mu);
    int rc = 0;
    while (atomic_load(&srv->in_flight) > 0 && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&srv->cv, &srv->mu, &deadline);
    pthread_mutex_unlock(&srv->mu);
    long left = atomic_load(&srv->in_flight);
    if (left > 0)
        PAY_WARN("http.shutdown_grace_over", "server=%s in_flight=%ld", srv->name, left);
    wait_for_handlers(srv);
    MHD_stop_daemon(srv->daemon); /* closes the remaining connections, joins its threads */
    srv->daemon = NULL;
    stop_threads(srv);
    PAY_INFO("http.stopped", "server=%s", srv->name);
}

void pay_http_server_free(struct pay_http_server *srv)
{
    if (srv == NULL)
        return;
    pay_http_server_stop(srv);
    for (size_t i = 0; i < srv->n_routes; i++)
        free(srv->routes[i].label);
    free(srv->routes);
    pay_tpl_set_free(srv->templates);
    pay_http_lang_free(srv);
    pay_buf_fini(&srv->form_action);
    free(srv->static_dir);
    free(srv->cert_pem);
    free(srv->key_pem);
    free(srv->tls_priorities);
    pay_http_conns_fini(&srv->conns);
    free(srv->name);
    pthread_mutex_destroy(&srv->mu);
    pthread_mutex_destroy(&srv->log_mu);
    pthread_mutex_destroy(&srv->health_mu);
    pthread_mutex_destroy(&srv->health_check_mu);
    pthread_cond_destroy(&srv->cv);
    free(srv);
}

static void stop_threads(struct pay_http_server *srv)
{
    if (srv->workers_started) {
        pay_http_workers_stop(&srv->workers);
        pay_http_workers_fini(&srv->workers);
        srv->workers_started = false;
    }
    pay_http_conns_stop(&srv->conns);
}

static void shutdown_signals(sigset_t *s)
{
    sigemptyset(s);
    sigaddset(s, SIGTERM);
    sigaddset(s, SIGINT);
}

void pay_http_signals_block(void)
{
    sigset_t s;
    shutdown_signals(&s);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client that hangs up must not kill the server */
}

int pay_http_signals_wait(void)
{
    sigset_t s;
    int sig = 0;
    shutdown_signals(&s);
    while (sigwait(&s, &sig) != 0)
        ;
    return sig;
}

/* --- built-in routes -------------------------------------------------------------------- */

/* The answer of /healthz from the last check's result. */
static void healthz_answer(struct pay_http_request *req, const struct pay_error *last)
{
    req->probe = true;
    if (last->code == PAY_ERR_OK) {
        /* A server on the test clock says so wherever it is looked at (docs/http.md). */
        pay_http_respond_json(req, 200,
                              pay_clock_is_fake()
                                  ? json_pack("{s:s, s:s}", "status", "ok", "clock", "fake")
                                  : json_pack("{s:s}", "status", "ok"));
        return;
    }
    const char *why = last->detail[0] ? last->detail : pay_err_name(last->code);
    pay_http_respond_json(req, 503, json_pack("{s:s, s:s}", "status", "fail", "detail", why));
}

/* The last check's result when it is recent enough; false when a new check is due. */
static bool health_recent(struct pay_http_server *srv, struct pay_error *last)
{
    int64_t now = pay_clock_mono_ms();
    pthread_mutex_lock(&srv->health_mu);
    bool recent = srv->health_at_ms != 0 && now - srv->health_at_ms < srv->health_cache_ms;
    if (recent)
        *last = srv->health_err;
    pthread_mutex_unlock(&srv->health_mu);
    return recent;
}

/* On a worker: runs the check unless another worker has just done so (one check at a time:
 * the others wait for its result instead of running their own). The result's own lock is held
 * only to copy it, so an event thread reading it never waits for a check. */
static enum pay_err h_healthz_check(struct pay_http_request *req, struct pay_error *err)
{
    (void)err;
    struct pay_http_server *srv = pay_http_req_ctx(req);
    struct pay_error last = {0};
    pthread_mutex_lock(&srv->health_check_mu); /* workers only: event threads never wait here */
    if (!health_recent(srv, &last)) {
        if (srv->health_check(srv->health_ctx, &last) != 0 && last.code == PAY_ERR_OK)
            last.code = PAY_ERR_INTERNAL;
        pthread_mutex_lock(&srv->health_mu);
        srv->health_err = last;
        srv->health_at_ms = pay_clock_mono_ms();
        pthread_mutex_unlock(&srv->health_mu);
    }
    pthread_mutex_unlock(&srv->health_check_mu);
    healthz_answer(req, &last);
    return PAY_ERR_OK;
}

/* Inline: answers from the last check while it is recent, else the check (which may block on
 * the database) runs on a worker. */
static enum pay_err h_healthz(struct pay_http_request *req, struct pay_error *err)
{
    (void)err;
    struct pay_http_server *srv = pay_http_req_ctx(req);
    struct pay_error last = {0};
    if (srv->health_check == NULL) {
        healthz_answer(req, &last);
        return PAY_ERR_OK;
    }
    if (!health_recent(srv, &last))
        return pay_http_req_offload(req, h_healthz_check);
    healthz_answer(req, &last);
    return PAY_ERR_OK;
}

static enum pay_err h_metrics(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_buf out;
    pay_buf_init(&out, PAY_CLIENT_RESPONSE_MAX);
    if (pay_http_metrics_write(pay_http_req_ctx(req), &out) != 0) {
        pay_buf_fini(&out);
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "metrics are larger than the cap");
    }
    req->probe = true;
    pay_http_respond_bytes(req, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
    pay_buf_fini(&out);
    return PAY_ERR_OK;
}

static const char *content_type_of(const char *name)
{
    static const char *const types[][2] = {
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i][0]) == 0)
            return types[i][1];
    return "application/octet-stream";
}

/* GET /static/<file>: flat directory, no dot files, no path tricks. */
static enum pay_err h_static(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_http_server *srv = pay_http_req_ctx(req);
    const char *name = pay_http_req_param(req, "file");
    if (name == NULL || name[0] == '.' || !name_valid(name))
        return PAY_ERR_NOT_FOUND;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", srv->static_dir, name);
    size_t len;
    char *data = pay_file_read(path, PAY_HTTP_STATIC_FILE_MAX, &len);
    if (data == NULL)
        return PAY_ERR_NOT_FOUND;
    pay_http_respond_bytes(req, 200, content_type_of(name), data, len);
    free(data);
    int bad = pay_http_respond_header(req, "Cache-Control", "public, max-age=300");
    return bad ? pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot serve %.60s", name) : PAY_ERR_OK;
}
