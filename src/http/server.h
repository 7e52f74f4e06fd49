/* The HTTP server framework every paygate server (bank, platform, shop) is built on:
 * libmicrohttpd underneath, a static route table on top, one place that turns errors into
 * responses, built-in /healthz and /metrics, security headers, TLS, clean shutdown.
 *
 * Threading: a few event threads (libmicrohttpd's epoll loop, one per CPU) read requests and
 * write answers; handlers run on a pool of worker threads with their connection suspended, so
 * a handler may block on a database commit or an outbound HTTP call without stalling other
 * clients. Routes added with pay_http_server_add_inline_routes run on the event thread and
 * must never block; a handler that waits for work done elsewhere suspends its request and is
 * answered later (pay_http_req_suspend). Handlers run concurrently; anything they share must
 * be thread-safe. See docs/http.md. */
#ifndef PAY_HTTP_SERVER_H
#define PAY_HTTP_SERVER_H

#include "core/errors.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct pay_http_server;  /* opaque */
struct pay_http_request; /* opaque; one per request, also carries its response */
struct pay_form;         /* http/codec.h */

/* Signs an answer (docs/protocol.md): called once for every response that is not an HTML
 * page — the handlers' answers and the framework's own (404, 405, 413, 415, 431, 400
 * JSON_INVALID) alike — after everything else, with the final status and body. It adds its
 * header with pay_http_respond_header(); a failure to sign should answer nothing false, so it
 * logs and leaves the answer unsigned (the client then refuses it). */
typedef void (*pay_http_sign_fn)(void *ctx, struct pay_http_request *req, int status,
                                 const void *body, size_t len);

/* How errors of a route are rendered and which headers its responses carry. */
enum pay_http_kind {
    PAY_HTTP_API = 0, /* errors as JSON {"error":{...}} */
    PAY_HTTP_PAGE,    /* errors as an HTML page; security headers, Cache-Control: no-store */
};

/* How the body of a request to a route is decoded before the handler runs. A decoding
 * failure is answered by the framework (400 JSON_INVALID / JSON_TOO_DEEP / FORM_INVALID) and
 * the handler is not called. */
enum pay_http_body {
    PAY_HTTP_BODY_AUTO = 0, /* by Content-Type: application/json or urlencoded form; else raw */
    PAY_HTTP_BODY_JSON,     /* always JSON (an object); an empty body gives json == NULL */
    PAY_HTTP_BODY_FORM,     /* always an urlencoded form */
    PAY_HTTP_BODY_RAW,      /* never decoded: pay_http_req_body() only */
};

/* A handler answers with one of the pay_http_respond_* functions and returns PAY_ERR_OK, or
 * returns an error code (usually `return pay_error_set(err, PAY_ERR_X, "field", ...)`), and
 * the framework answers with pay_http_respond_error(req, err). *err arrives zeroed. */
typedef enum pay_err (*pay_http_handler)(struct pay_http_request *req, struct pay_error *err);

struct pay_http_route {
    const char *method;  /* "GET", "POST", ...; HEAD is served by GET routes */
    const char *pattern; /* "/v1/trades/{id}/refunds": {name} matches one non-empty segment */
    enum pay_http_kind kind;
    enum pay_http_body body;
    pay_http_handler handler;
    void *ctx; /* handed to the handler through pay_http_req_ctx() */
};

struct pay_http_config {
    const char *name;          /* server's name for logs, e.g. "bank-icbc"; NULL: "http" */
    const char *listen;        /* "127.0.0.1:8080", "[::1]:0", "0.0.0.0:8443"; port 0 picks one */
    const char *tls_cert_file; /* PEM; both set: serve HTTPS only */
    const char *tls_key_file;
    bool insecure_http; /* allow plain HTTP on a non-loopback address (else INSECURE_LISTEN) */
    /* Directory holding templates/ (*.html, see http/template.h) and static/ (served at
     * GET /static/<file>). NULL: neither. */
    const char *web_root;
    /* Extra origins this server's pages may post forms to ("https://bank.example:8443"),
     * added to CSP form-action after 'self'. NULL-terminated; NULL: none. Copied. */
    const char *const *form_action_origins;
    /* Optional check run by GET /healthz (e.g. a database ping) on a worker, at most once per
     * health_cache_ms (0: PAY_HTTP_HEALTH_CACHE_MS); nonzero → 503. */
    int (*health_check)(void *ctx, struct pay_error *err);
    void *health_ctx;
    long health_cache_ms;
    /* Optional: signs every non-HTML answer (see pay_http_sign_fn); NULL: none signed. */
    pay_http_sign_fn sign_response;
    void *sign_ctx;
    /* Slow clients (docs/http.md, "Connections and slow clients"); 0 takes the default. */
    unsigned max_connections;        /* PAY_HTTP_CONNECTIONS_MAX */
    unsigned max_connections_per_ip; /* PAY_HTTP_CONNECTIONS_PER_IP_MAX */
    long read_timeout_ms;            /* PAY_HTTP_READ_TIMEOUT_MS: a whole request arrives */
    unsigned idle_timeout_s;         /* PAY_HTTP_CONNECTION_TIMEOUT_S: no traffic at all */
    /* GnuTLS priority string of the TLS server; NULL: PAY_HTTP_TLS_PRIORITIES. */
    const char *tls_priorities;
    /* Event threads (1..PAY_HTTP_THREADS_MAX); 0: one per online CPU. */
    unsigned threads;
    /* Pages in people's languages (docs/i18n.md). language: the default ("zh-CN", "en");
     * NULL: zh-CN when its catalog is there, else English. time_zone: where pages show times
     * (IANA name); NULL: Asia/Shanghai. po_dir: the catalogs; NULL: <web_root>/../po. */
    const char *language;
    const char *time_zone;
    const char *po_dir;
};

/* Parses a listen address: "a.b.c.d:port", "localhost:port" or "[v6]:port" (port 0 picks
 * one). Sets *loopback when the address is a loopback one. CONFIG_INVALID (field "listen")
 * when malformed. */
enum pay_err pay_http_listen_parse(const char *listen, struct sockaddr_storage *addr,
                                   socklen_t *addr_len, bool *loopback, struct pay_error *err);

/* CONFIG_INVALID (field "tls_priorities") naming the place GnuTLS cannot read in a priority
 * string; OK when it can. */
enum pay_err pay_http_tls_priorities_check(const char *priorities, struct pay_error *err);

/* Creates a server (not yet listening): validates the address, the limits, the TLS files and
 * priorities, and refuses a non-loopback address without TLS unless insecure_http
 * (PAY_ERR_INSECURE_LISTEN).
 * The caller frees *out with pay_http_server_free(). */
enum pay_err pay_http_server_new(const struct pay_http_config *cfg, struct pay_http_server **out,
                                 struct pay_error *err);

/* Adds routes (copied; strings must outlive the server). Only before start. Patterns are
 * checked: a malformed one or more than PAY_HTTP_PATH_PARAMS_MAX parameters is an error. */
enum pay_err pay_http_server_add_routes(struct pay_http_server *srv,
                                        const struct pay_http_route *routes, size_t n,
                                        struct pay_error *err);

/* The same for routes whose handlers never block (no database write, no outbound call, no
 * password hashing, no lock held by a blocking thread): they run on the event thread that read
 * the request, with no hand-off to a worker, which is what a fast path such as GET /healthz
 * needs. Such a handler answers at once, continues on a worker (pay_http_req_offload) or
 * suspends its request until work done elsewhere completes (pay_http_req_suspend). */
enum pay_err pay_http_server_add_inline_routes(struct pay_http_server *srv,
                                               const struct pay_http_route *routes, size_t n,
                                               struct pay_error *err);

/* Adds an origin to CSP form-action for every page of this server. Only before start. */
enum pay_err pay_http_server_add_form_action(struct pay_http_server *srv, const char *origin);

/* Binds and starts serving (returns at once; requests run on libmicrohttpd's threads). */
enum pay_err pay_http_server_start(struct pay_http_server *srv, struct pay_error *err);

/* The bound port (useful after listening on port 0) and base URL ("https://127.0.0.1:4431",
 * owned by the server). Valid after start. */
int pay_http_server_port(const struct pay_http_server *srv);
const char *pay_http_server_url(const struct pay_http_server *srv);

/* Stops accepting, waits up to PAY_HTTP_SHUTDOWN_GRACE_S for in-flight requests to finish,
 * then closes every connection and returns. Idempotent. */
void pay_http_server_stop(struct pay_http_server *srv);
void pay_http_server_free(struct pay_http_server *srv); /* stops first if needed; NULL ok */

/* Signals: call pay_http_signals_block() at the top of main, before any thread starts (the
 * mask is inherited, so only the waiting thread sees SIGTERM/SIGINT), then
 * pay_http_signals_wait() blocks until one arrives and returns its number. */
void pay_http_signals_block(void);
int pay_http_signals_wait(void);

/* --- the request (valid inside the handler only) ---------------------------------------- */

const char *pay_http_req_method(const struct pay_http_request *req);
const char *pay_http_req_path(const struct pay_http_request *req); /* decoded, no query */
/* The request target exactly as the client sent it (path and query, not decoded): what a
 * signed request's canonical string covers (docs/protocol.md). */
const char *pay_http_req_target(const struct pay_http_request *req);
const char *pay_http_req_id(const struct pay_http_request *req); /* also X-Request-Id */
const char *pay_http_req_remote_ip(const struct pay_http_request *req);
bool pay_http_req_is_tls(const struct pay_http_request *req);
void *pay_http_req_ctx(const struct pay_http_request *req); /* the route's ctx */

/* Look-ups; NULL when absent. Strings are owned by the request. Header names are
 * case-insensitive. */
const char *pay_http_req_param(const struct pay_http_request *req, const char *name); /* {name} */
const char *pay_http_req_query(const struct pay_http_request *req, const char *name);
const char *pay_http_req_header(const struct pay_http_request *req, const char *name);
const char *pay_http_req_cookie(const struct pay_http_request *req, const char *name);

/* True when the Content-Type is application/json, with no parameter but an optional
 * charset=utf-8 (any case): what JSON APIs accept (else 415 UNSUPPORTED_MEDIA_TYPE). */
bool pay_http_req_is_json(const struct pay_http_request *req);

/* The raw body (NUL-terminated for convenience; may contain NULs), "" when none. */
const char *pay_http_req_body(const struct pay_http_request *req, size_t *len);
/* The decoded body: JSON object (borrowed; NULL when the body was not JSON) or form (NULL
 * when not a form). */
json_t *pay_http_req_json(const struct pay_http_request *req);
const struct pay_form *pay_http_req_form(const struct pay_http_request *req);
const char *pay_http_req_form_get(const struct pay_http_request *req, const char *name);

/* Per-request memory, freed when the request ends: never free it yourself. NULL when out of
 * memory. */
void *pay_http_req_alloc(struct pay_http_request *req, size_t n);
char *pay_http_req_strdup(struct pay_http_request *req, const char *s);
char *pay_http_req_printf(struct pay_http_request *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Runs fn(arg) when the request ends (after the response is sent), in reverse order. */
int pay_http_req_defer(struct pay_http_request *req, void (*fn)(void *), void *arg);

/* --- answering later ------------------------------------------------------------------- */

/* A handler whose answer depends on work done elsewhere (e.g. a commit by the ledger's
 * committer) suspends its request, hands the work on, and returns PAY_ERR_OK without
 * answering; no thread waits meanwhile. Whoever finishes the work answers with the
 * pay_http_respond_* functions and then calls pay_http_req_resume(req), from any thread,
 * exactly once; the framework signs and sends the answer on the event thread. After handing
 * the work on, the handler must not touch req (it may already be answered) and must return
 * PAY_ERR_OK; after pay_http_req_resume nobody may touch it. At most once per request. */
void pay_http_req_suspend(struct pay_http_request *req);
void pay_http_req_resume(struct pay_http_request *req);

/* In an inline route's handler: the rest may block, so next(req, err) runs on a worker as a
 * handler would (it answers, returns an error or suspends). The handler returns what this
 * returns (PAY_ERR_OK) at once. */
enum pay_err pay_http_req_offload(struct pay_http_request *req, pay_http_handler next);
/* --- the request's language (docs/i18n.md) ---------------------------------------------- */

/* The language of this request: the lang cookie (set by the switch, GET /lang/{tag}), else
 * Accept-Language, else the server's default. Negotiated once, on first use. */
struct pay_i18n_lang;
struct pay_tz;
const struct pay_i18n_lang *pay_http_req_lang(struct pay_http_request *req);

/* msgid (English, marked for extraction by these names) in the request's language; the
 * result lives as long as the server. trc: with a msgctxt. */
const char *pay_http_req_tr(struct pay_http_request *req, const char *msgid);
const char *pay_http_req_trc(struct pay_http_request *req, const char *ctxt, const char *msgid);
struct pay_i18n_msg;
const char *pay_http_req_msg(struct pay_http_request *req, const struct pay_i18n_msg *m);
/* As pay_http_req_tr, with {name} placeholders filled from NULL-terminated name, value pairs.
 * Request memory. */
const char *pay_http_req_trf(struct pay_http_request *req, const char *msgid, ...)
    __attribute__((sentinel));

/* An error as its reader should see it: a detail marked N_() where it was set, in the
 * request's language; in English any detail; else the registry's message (msgctxt "error")
 * translated. Never NULL. */
const char *pay_http_req_error_text(struct pay_http_request *req, const struct pay_error *e);

/* "¥1,234.50" (pay_money_format_display), "?" for an unknown currency. Request memory. */
const char *pay_http_req_money(struct pay_http_request *req, int64_t minor, const char *currency);
/* A stored UTC time (Unix ms) as the server's zone shows it, "2026-02-01 07:30:00"; "" when
 * utc_ms <= 0. Request memory. */
const char *pay_http_req_time(struct pay_http_request *req, int64_t utc_ms);
const struct pay_tz *pay_http_req_tz(const struct pay_http_request *req);

/* --- the response (one per request; a second respond replaces the first) ---------------- */

/* The GET URL that shows this page again (default: the request's own target for GET, "/"
 * otherwise). The language switch returns there, so a page rendered by a POST sets it. */
void pay_http_respond_page_url(struct pay_http_request *req, const char *url);

/* Takes ownership of body (json_decref'd by the framework, also on failure); body == NULL
 * (e.g. a failed json_pack) answers 500 INTERNAL. */
void pay_http_respond_json(struct pay_http_request *req, int status, json_t *body);
void pay_http_respond_html(struct pay_http_request *req, int status, const char *html);
void pay_http_respond_text(struct pay_http_request *req, int status, const char *text);
void pay_http_respond_bytes(struct pay_http_request *req, int status, const char *content_type,
                            const void *data, size_t len);
void pay_http_respond_redirect(struct pay_http_request *req, const char *location); /* 303 */
/* Renders template `name` (from web_root/templates) with ctx (borrowed) as an HTML page;
 * a rendering failure answers 500. */
void pay_http_respond_template(struct pay_http_request *req, int status, const char *name,
                               const json_t *ctx);

/* THE one place errors become responses: API routes get JSON
 * {"error":{"code":"AMOUNT_INVALID","message":"...","field":"amount"}} with the registry's
 * status; PAGE routes get an escaped HTML error page. message is e->detail when set, else the
 * registry's message. Also counts the error in /metrics. */
void pay_http_respond_error(struct pay_http_request *req, const struct pay_error *e);
/* Shorthand: pay_http_respond_error with just a code. */
void pay_http_respond_code(struct pay_http_request *req, enum pay_err code);
/* The JSON body pay_http_respond_error gives an API route for e (heap text, caller frees;
 * NULL when out of memory) and its status in *status: for a server that must keep an error
 * answer before it sends it (the platform stores its API answers for Idempotency-Key
 * replays) and then sends it with pay_http_respond_error, byte for byte the same. No other
 * code builds error bodies (check_source.sh). */
char *pay_http_error_json(const struct pay_error *e, int *status);

/* Extra response headers (copied). Names/values with CR or LF are refused (-1). */
int pay_http_respond_header(struct pay_http_request *req, const char *name, const char *value);

/* Cookies: always Path=/ and HttpOnly (unless PAY_HTTP_COOKIE_SCRIPT), SameSite=Lax (or
 * Strict), Secure when the server serves TLS. max_age_s < 0: session cookie; 0: delete. */
enum {
    PAY_HTTP_COOKIE_STRICT = 1 << 0, /* SameSite=Strict instead of Lax */
    PAY_HTTP_COOKIE_SCRIPT = 1 << 1, /* readable by JavaScript (no HttpOnly); rarely right */
};
int pay_http_respond_cookie(struct pay_http_request *req, const char *name, const char *value,
                            long max_age_s, unsigned flags);

/* Adds an origin to this page's CSP form-action (e.g. the bank gateway the page posts to). */
int pay_http_respond_form_action(struct pay_http_request *req, const char *origin);

#endif
