/* Integration: a real server on a random loopback port, driven by our libcurl client. Covers
 * the built-in routes, limits, error rendering, security headers, no-redirect and SSRF guard
 * of the client, graceful shutdown, TLS with a certificate made by `openssl`, and the refusal
 * to serve plain HTTP on a public address. */
#include "lib/tmp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/limits.h"
#include "http/client.h"
#include "http/server.h"
/* after errors.h: log.h defines PAY_ERROR, which errors.def also uses */
#include "core/log.h"

static const struct pay_http_client_options local = {.allow_private_addresses = true};

static enum pay_err h_json(struct pay_http_request *req, struct pay_error *err)
{
    json_t *in = pay_http_req_json(req);
    pay_http_respond_json(req, 201, json_pack("{s:O?}", "got", in));
    return PAY_ERR_OK;
}

static enum pay_err h_form(struct pay_http_request *req, struct pay_error *err)
{
    const char *amount = pay_http_req_form_get(req, "amount");
    if (amount == NULL)
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "amount", NULL);
    pay_http_respond_json(req, 200, json_pack("{s:s}", "amount", amount));
    return PAY_ERR_OK;
}

static enum pay_err h_page_fail(struct pay_http_request *req, struct pay_error *err)
{
    return pay_error_set(err, PAY_ERR_AMOUNT_INVALID, "amount", "<script>alert(1)</script>");
}

static enum pay_err h_redirect(struct pay_http_request *req, struct pay_error *err)
{
    pay_http_respond_redirect(req, "/healthz");
    return PAY_ERR_OK;
}

/* /slow: in flight until the test releases it (slow_release_all; bounded: a minute). */
static pthread_mutex_t slow_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slow_cv;        /* pay_clock_cond_init in main */
static int slow_calls, slow_released; /* calls entered; calls released */

static enum pay_err h_slow(struct pay_http_request *req, struct pay_error *err)
{
    struct timespec until = pay_clock_deadline_us(60 * 1000000LL);
    pthread_mutex_lock(&slow_mu);
    int me = ++slow_calls;
    pthread_cond_broadcast(&slow_cv);
    while (slow_released < me && pthread_cond_timedwait(&slow_cv, &slow_mu, &until) == 0)
        ;
    pthread_mutex_unlock(&slow_mu);
    pay_http_respond_text(req, 200, "slow done");
    return PAY_ERR_OK;
}

static void slow_release_all(void)
{
    pthread_mutex_lock(&slow_mu);
    slow_released = slow_calls;
    pthread_cond_broadcast(&slow_cv);
    pthread_mutex_unlock(&slow_mu);
}

static enum pay_err h_refunds(struct pay_http_request *req, struct pay_error *err)
{
    const char *id = pay_http_req_param(req, "id");
    const char *q = pay_http_req_query(req, "page");
    const char *c = pay_http_req_cookie(req, "sid");
    char *s = pay_http_req_printf(req, "%s|%s|%s|%s", id, q ? q : "-", c ? c : "-",
                                  pay_http_req_target(req));
    if (s == NULL || pay_http_respond_cookie(req, "sid", "abc", 60, PAY_HTTP_COOKIE_STRICT) != 0)
        return PAY_ERR_INTERNAL;
    pay_http_respond_text(req, 200, s);
    return PAY_ERR_OK;
}

static const struct pay_http_route routes[] = {
    {"POST", "/json", PAY_HTTP_API, PAY_HTTP_BODY_JSON, h_json, NULL},
    {"POST", "/form", PAY_HTTP_API, PAY_HTTP_BODY_FORM, h_form, NULL},
    {"GET", "/page/fail", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_page_fail, NULL},
    {"GET", "/redirect", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_redirect, NULL},
    {"GET", "/slow", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_slow, NULL},
    {"GET", "/v1/trades/{id}/refunds", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_refunds, NULL},
};

/* The response signer of the test server: "status length" of what it signed, so a test can
 * check both that an answer was signed and that the hook saw its final status and body. */
static void test_sign(void *ctx, struct pay_http_request *req, int status, const void *body,
                      size_t len)
{
    assert_ptr_equal(ctx, (void *)routes);
    assert_true(len == 0 || body != NULL);
    char *v = pay_http_req_printf(req, "%d %zu", status, len);
    assert_int_equal(pay_http_respond_header(req, "X-Test-Signed", v), 0);
}

static struct pay_http_server *start(const char *cert, const char *key)
{
    static const char *const gateways[] = {"https://bank.example:8443", NULL};
    struct pay_http_config cfg = {.name = "test",
                                  .listen = "127.0.0.1:0",
                                  .tls_cert_file = cert,
                                  .tls_key_file = key,
                                  .form_action_origins = gateways,
                                  .sign_response = test_sign,
                                  .sign_ctx = (void *)routes};
    struct pay_http_server *srv = NULL;
    struct pay_error e = {0};
    assert_int_equal(pay_http_server_new(&cfg, &srv, &e), PAY_ERR_OK);
    assert_int_equal(pay_http_server_add_routes(srv, routes, sizeof routes / sizeof routes[0], &e),
                     PAY_ERR_OK);
    assert_int_equal(pay_http_server_start(srv, &e), PAY_ERR_OK);
    assert_true(pay_http_server_port(srv) > 0);
    return srv;
}

/* One request against srv; returns the status (0 on a transport error, code in *rc). */
static long call(struct pay_http_server *srv, const char *method, const char *path,
                 const char *ctype, const char *body, size_t len,
                 struct pay_http_client_response *res)
{
    char url[256], hdr[128];
    snprintf(url, sizeof url, "%s%s", pay_http_server_url(srv), path);
    snprintf(hdr, sizeof hdr, "Content-Type: %s", ctype ? ctype : "text/plain");
    const char *const headers[] = {hdr, NULL};
    struct pay_error e = {0};
    enum pay_err rc = pay_http_client_request(method, url, headers, body, len, &local, res, &e);
    if (rc != PAY_ERR_OK)
        print_message("client: %s %s\n", pay_err_name(rc), e.detail);
    return rc == PAY_ERR_OK ? res->status : 0;
}

static const char *header(struct pay_http_client_response *r, const char *name)
{
    static char buf[1024];
    return pay_http_client_response_header(r, name, buf, sizeof buf);
}

static void basics(void **state)
{
    struct pay_http_server *srv = *state;
    struct pay_http_client_response r;
    assert_int_equal(call(srv, "GET", "/healthz", NULL, NULL, 0, &r), 200);
    assert_string_equal(pay_buf_str(&r.body), "{\"status\":\"ok\"}");
    assert_non_null(header(&r, "X-Request-Id"));
    pay_http_client_response_fini(&r);

    assert_int_equal(call(srv, "GET", "/nope", NULL, NULL, 0, &r), 404);
    assert_string_equal(header(&r, "Content-Type"), "application/json");
    assert_non_null(strstr(pay_buf_str(&r.body), "\"code\":\"NOT_FOUND\""));
    pay_http_client_response_fini(&r);

    assert_int_equal(call(srv, "DELETE", "/healthz", NULL, NULL, 0, &r), 405);
    assert_string_equal(header(&r, "Allow"), "GET");
    pay_http_client_response_fini(&r);

    const char *cookie_hdr[] = {"Cookie: sid=old", "X-Request-Id: trace_12345678", NULL};
    char url[256];
    snprintf(url, sizeof url, "%s/v1/trades/T42/refunds?page=3&x=a%%2Fb", pay_http_server_url(srv));
    assert_int_equal(pay_http_client_request("GET", url, cookie_hdr, NULL, 0, &local, &r, NULL),
                     PAY_ERR_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(pay_buf_str(&r.body), "T42|3|old|/v1/trades/T42/refunds?page=3&x=a%2Fb");
    assert_string_equal(header(&r, "X-Request-Id"), "trace_12345678");
    assert_string_equal(header(&r, "Set-Cookie"), "sid=abc; Path=/; Max-Age=60; HttpOnly; "
                                                  "SameSite=Strict");
    pay_http_client_response_fini(&r);

    assert_int_equal(call(srv, "GET", "/metrics", NULL, NULL, 0, &r), 200);
    const char *m = pay_buf_str(&r.body);
    assert_non_null(strstr(m, "paygate_http_requests_total{server=\"test\",route=\"GET "
                              "/healthz\",class=\"2xx\"} 1"));
    assert_non_null(strstr(m, "route=\"unmatched\",class=\"4xx\"} 2"));
    assert_non_null(strstr(m, "paygate_http_errors_total{server=\"test\",code=\"NOT_FOUND\"} 1"));
    assert_non_null(strstr(m, "paygate_http_request_duration_seconds_count{server=\"test\","
                              "route=\"GET /v1/trades/{id}/refunds\"} 1"));
    assert_non_null(strstr(m, "paygate_http_in_flight{server=\"test\"} 1")); /* this one */
    pay_http_client_response_fini(&r);
}

static void bodies(void **state)
{
    struct pay_http_server *srv = *state;
    struct pay_http_client_response r;
    const char *ok = "{\"amount\":\"12.30\"}";
    assert_int_equal(call(srv, "POST", "/json", "application/json", ok, strlen(ok), &r), 201);
    assert_string_equal(pay_buf_str(&r.body), "{\"got\":{\"amount\":\"12.30\"}}");
    pay_http_client_response_fini(&r);

    const char *bad = "{\"amount\": 12,\n \"x\": }";
    assert_int_equal(call(srv, "POST", "/json", "application/json", bad, strlen(bad), &r), 400);
    assert_non_null(strstr(pay_buf_str(&r.body), "\"code\":\"JSON_INVALID\""));
    assert_non_null(strstr(pay_buf_str(&r.body), "line 2"));
    pay_http_client_response_fini(&r);

    char deep[128] = "{\"a\":";
    size_t n = strlen(deep);
    for (int i = 0; i < PAY_JSON_DEPTH_MAX + 2; i++)
        deep[n++] = '[';
    deep[n] = '\0';
    assert_int_equal(call(srv, "POST", "/json", "application/json", deep, n, &r), 400);
    assert_non_null(strstr(pay_buf_str(&r.body), "JSON_TOO_DEEP"));
    pay_http_client_response_fini(&r);

    const char *form = "amount=12%zz";
    assert_int_equal(
        call(srv, "POST", "/form", "application/x-www-form-urlencoded", form, strlen(form), &r),
        400);
    assert_non_null(strstr(pay_buf_str(&r.body), "\"code\":\"FORM_INVALID\""));
    assert_non_null(strstr(pay_buf_str(&r.body), "\"field\":\"amount\""));
    pay_http_client_response_fini(&r);

    assert_int_equal(call(srv, "POST", "/form", NULL, "x=1", 3, &r), 400);
    assert_non_null(strstr(pay_buf_str(&r.body), "\"code\":\"FIELD_MISSING\""));
    pay_http_client_response_fini(&r);

    size_t big_len = PAY_HTTP_BODY_MAX + 1;
    char *big = malloc(big_len);
    memset(big, 'a', big_len);
    assert_int_equal(call(srv, "POST", "/json", "application/json", big, big_len, &r), 413);
    assert_non_null(strstr(pay_buf_str(&r.body), "BODY_TOO_LARGE"));
    pay_http_client_response_fini(&r);
    /* the same without Content-Length: chunked, found while reading */
    char url[256];
    snprintf(url, sizeof url, "%s/json", pay_http_server_url(srv));
    const char *const chunked[] = {"Transfer-Encoding: chunked", NULL};
    assert_int_equal(pay_http_client_request("POST", url, chunked, big, big_len, &local, &r, NULL),
                     PAY_ERR_OK);
    assert_int_equal(r.status, 413);
    pay_http_client_response_fini(&r);
    free(big);
}

static void header_limit(void **state)
{
    struct pay_http_server *srv = *state;
    char *h = malloc(PAY_HTTP_HEADER_MAX + 64);
    int n = snprintf(h, 64, "X-Big: ");
    memset(h + n, 'b', PAY_HTTP_HEADER_MAX);
    h[n + PAY_HTTP_HEADER_MAX] = '\0';
    const char *const headers[] = {h, NULL};
    struct pay_http_client_response r;
    char url[256];
    snprintf(url, sizeof url, "%s/healthz", pay_http_server_url(srv));
    assert_int_equal(pay_http_client_request("GET", url, headers, NULL, 0, &local, &r, NULL),
                     PAY_ERR_OK);
    assert_int_equal(r.status, 431);
    assert_non_null(strstr(pay_buf_str(&r.body), "HEADER_TOO_LARGE"));
    assert_non_null(header(&r, "X-Test-Signed")); /* answered before routing, signed all the same */
    pay_http_client_response_fini(&r);
    free(h);
}

static void page_errors(void **state)
{
    struct pay_http_server *srv = *state;
    struct pay_http_client_response r;
    assert_int_equal(call(srv, "GET", "/page/fail", NULL, NULL, 0, &r), 400);
    const char *body = pay_buf_str(&r.body);
    assert_null(strstr(body, "<script>"));
    assert_non_null(strstr(body, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(body, "AMOUNT_INVALID"));
    assert_string_equal(header(&r, "Content-Type"), "text/html; charset=utf-8");
    assert_string_equal(header(&r, "X-Frame-Options"), "DENY");
    assert_string_equal(header(&r, "X-Content-Type-Options"), "nosniff");
    assert_string_equal(header(&r, "Referrer-Policy"), "strict-origin-when-cross-origin");
    assert_string_equal(header(&r, "Cache-Control"), "no-store");
    const char *csp = header(&r, "Content-Security-Policy");
    assert_non_null(csp);
    assert_non_null(strstr(csp, "default-src 'self'"));
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));
    assert_non_null(strstr(csp, "form-action 'self' https://bank.example:8443"));
    pay_http_client_response_fini(&r);
}

/* The signing hook sees every non-HTML answer, the framework's own errors included, with
 * the status and body that are sent; HTML pages are not signed. */
static void signed_answers(void **state)
{
    struct pay_http_server *srv = *state;
    struct pay_http_client_response r;
    char want[64];
    const char *ok = "{\"a\":1}", *bad = "{\"a\":";
    struct {
        const char *method, *path, *ctype, *body;
        long status;
    } cases[] = {
        {"POST", "/json", "application/json", ok, 201},  /* the handler's answer */
        {"GET", "/nope", NULL, NULL, 404},               /* no route */
        {"DELETE", "/healthz", NULL, NULL, 405},         /* wrong method */
        {"POST", "/json", "text/plain", ok, 415},        /* not JSON */
        {"POST", "/json", "application/json", bad, 400}, /* JSON_INVALID */
        {"POST", "/form", NULL, "x=1", 400},             /* the handler's error */
        {"GET", "/redirect", NULL, NULL, 303},           /* empty body */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = cases[i].body ? strlen(cases[i].body) : 0;
        assert_int_equal(
            call(srv, cases[i].method, cases[i].path, cases[i].ctype, cases[i].body, len, &r),
            cases[i].status);
        snprintf(want, sizeof want, "%ld %zu", cases[i].status, r.body.len);
        assert_non_null(header(&r, "X-Test-Signed"));
        assert_string_equal(header(&r, "X-Test-Signed"), want);
        pay_http_client_response_fini(&r);
    }
    size_t big_len = PAY_HTTP_BODY_MAX + 1; /* 413, answered before the body is read */
    char *big = calloc(1, big_len);
    assert_int_equal(call(srv, "POST", "/json", "application/json", big, big_len, &r), 413);
    snprintf(want, sizeof want, "413 %zu", r.body.len);
    assert_string_equal(header(&r, "X-Test-Signed"), want);
    pay_http_client_response_fini(&r);
    free(big);
    assert_int_equal(call(srv, "GET", "/page/fail", NULL, NULL, 0, &r), 400);
    assert_null(header(&r, "X-Test-Signed"));
    pay_http_client_response_fini(&r);
}

/* A JSON route takes application/json (charset=utf-8 allowed) and nothing else: a form or
 * text/plain body is 415 UNSUPPORTED_MEDIA_TYPE naming Content-Type, never read as JSON. */
static void json_media_type(void **state)
{
    struct pay_http_server *srv = *state;
    struct pay_http_client_response r;
    const char *ok = "{\"a\":1}";
    const char *good[] = {"application/json", "application/json; charset=utf-8",
                          "Application/JSON;charset=\"UTF-8\""};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(call(srv, "POST", "/json", good[i], ok, strlen(ok), &r), 201);
        pay_http_client_response_fini(&r);
    }
    const char *refused[] = {"text/plain", "application/x-www-form-urlencoded",
                             "application/json; charset=latin1", "application/jsonp",
                             "application/json; x=1"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_int_equal(call(srv, "POST", "/json", refused[i], ok, strlen(ok), &r), 415);
        assert_non_null(strstr(pay_buf_str(&r.body), "\"code\":\"UNSUPPORTED_MEDIA_TYPE\""));
        assert_non_null(strstr(pay_buf_str(&r.body), "\"field\":\"Content-Type\""));
        pay_http_client_response_fini(&r);
    }
    /* no Content-Type at all */
    char url[256];
    snprintf(url, sizeof url, "%s/json", pay_http_server_url(srv));
    const char *const none[] = {"Content-Type:", NULL};
    assert_int_equal(pay_http_client_request("POST", url, none, ok, strlen(ok), &local, &r, NULL),
                     PAY_ERR_OK);
    assert_int_equal(r.status, 415);
    pay_http_client_response_fini(&r);
    /* an empty body needs no type: the handler sees no JSON */
    assert_int_equal(call(srv, "POST", "/json", NULL, "", 0, &r), 201);
    pay_http_client_response_fini(&r);
}

static void client_rules(void **state)
{
    struct pay_http_server *srv = *state;
    struct pay_http_client_response r;
    assert_int_equal(call(srv, "GET", "/redirect", NULL, NULL, 0, &r), 303);
    assert_string_equal(header(&r, "Location"), "/healthz");
    assert_string_equal(pay_buf_str(&r.body), "");
    pay_http_client_response_fini(&r);

    char url[256];
    struct pay_error e = {0};
    snprintf(url, sizeof url, "%s/healthz", pay_http_server_url(srv));
    assert_int_equal(pay_http_client_request("GET", url, NULL, NULL, 0, NULL, &r, &e),
                     PAY_ERR_URL_FORBIDDEN);
    pay_http_client_response_fini(&r);
    snprintf(url, sizeof url, "http://localhost:%d/healthz", pay_http_server_port(srv));
    assert_int_equal(pay_http_client_request("GET", url, NULL, NULL, 0, NULL, &r, &e),
                     PAY_ERR_URL_FORBIDDEN);
    pay_http_client_response_fini(&r);
    assert_int_equal(
        pay_http_client_request("GET", "ftp://x.example/", NULL, NULL, 0, NULL, &r, &e),
        PAY_ERR_FIELD_INVALID);
    pay_http_client_response_fini(&r);

    struct pay_http_client_options small = {.allow_private_addresses = true, .response_max = 5};
    assert_int_equal(pay_http_client_request("GET", url, NULL, NULL, 0, &small, &r, &e),
                     PAY_ERR_UPSTREAM_FAILED);
    pay_http_client_response_fini(&r);
    struct pay_http_client_options quick = {.allow_private_addresses = true,
                                            .total_timeout_ms = 200};
    snprintf(url, sizeof url, "%s/slow", pay_http_server_url(srv));
    assert_int_equal(pay_http_client_request("GET", url, NULL, NULL, 0, &quick, &r, &e),
                     PAY_ERR_UPSTREAM_TIMEOUT);
    pay_http_client_response_fini(&r);
    slow_release_all(); /* it timed out while the handler held it: let the handler finish */
}

/* The real client against our loopback server (the only address this test connects to):
 * every spelling of 127.0.0.1, and names that resolve to loopback, are refused by the guard
 * before a socket exists (URL_FORBIDDEN, naming the address and its range), and reach the
 * server when private addresses are allowed. */
static void client_guard_loopback_spellings(void **state)
{
    struct pay_http_server *srv = *state;
    static const char *const hosts[] = {
        "127.0.0.1", "2130706433", "0x7f000001",       "017700000001",       "127.1",
        "127.0.1",   "0177.0.0.1", "0x7f.1",           "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
        "localhost", "LocalHost",  "rebind.localhost", "127.255.255.254",
    };
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        char url[256];
        struct pay_http_client_response r;
        struct pay_error e = {0};
        bool other = strcmp(hosts[i], "127.255.255.254") == 0; /* loopback, nobody listens */
        snprintf(url, sizeof url, "http://%s:%d/healthz", hosts[i], pay_http_server_port(srv));
        assert_int_equal(pay_http_client_request("GET", url, NULL, NULL, 0, NULL, &r, &e),
                         PAY_ERR_URL_FORBIDDEN);
        if (strstr(e.detail, "resolves to ") == NULL || strstr(e.detail, "loopback, RFC") == NULL)
            fail_msg("%s: the refusal does not name the address and range: %s", url, e.detail);
        pay_http_client_response_fini(&r);
        enum pay_err rc = pay_http_client_request("GET", url, NULL, NULL, 0, &local, &r, &e);
        if (other ? rc != PAY_ERR_UPSTREAM_FAILED : rc != PAY_ERR_OK || r.status != 200)
            fail_msg("%s with private addresses allowed: %s %s", url, pay_err_name(rc), e.detail);
        pay_http_client_response_fini(&r);
    }
}

struct slow_call {
    struct pay_http_server *srv;
    long status;
    char body[32];
};

static void *slow_thread(void *arg)
{
    struct slow_call *c = arg;
    struct pay_http_client_response r;
    c->status = call(c->srv, "GET", "/slow", NULL, NULL, 0, &r);
    snprintf(c->body, sizeof c->body, "%s", pay_buf_str(&r.body));
    pay_http_client_response_fini(&r);
    return NULL;
}

static atomic_bool stop_returned;

static void *stop_thread(void *arg)
{
    pay_http_server_stop(arg);
    atomic_store(&stop_returned, true);
    return NULL;
}

/* Stop while a request is in flight: the server stops accepting at once, waits for the
 * request, which completes, and only then returns. Each step is an event the test waits for
 * (polled with a bound far above what it takes), never a fixed time. */
static void shutdown_waits_for_in_flight(void **state)
{
    struct pay_http_server *srv = start(NULL, NULL);
    struct slow_call c = {.srv = srv};
    pthread_t t, st;
    pthread_mutex_lock(&slow_mu);
    int before = slow_calls;
    pthread_mutex_unlock(&slow_mu);
    assert_int_equal(pthread_create(&t, NULL, slow_thread, &c), 0);
    pthread_mutex_lock(&slow_mu);
    while (slow_calls == before) /* the request is in its handler */
        pthread_cond_wait(&slow_cv, &slow_mu);
    pthread_mutex_unlock(&slow_mu);
    assert_int_equal(pthread_create(&st, NULL, stop_thread, srv), 0);
    struct pay_http_client_response r;
    long refused = 200;
    for (int i = 0; i < 30000 && refused != 0; i++) { /* stopping: no new connection */
        refused = call(srv, "GET", "/healthz", NULL, NULL, 0, &r);
        pay_http_client_response_fini(&r);
        if (refused != 0)
            usleep(2000);
    }
    assert_int_equal(refused, 0);
    assert_false(atomic_load(&stop_returned)); /* still waiting for the request in flight */
    slow_release_all();
    pthread_join(st, NULL);
    pthread_join(t, NULL);
    assert_true(atomic_load(&stop_returned));
    assert_int_equal(c.status, 200);
    assert_string_equal(c.body, "slow done");
    /* after stop nothing listens any more */
    assert_int_equal(call(srv, "GET", "/healthz", NULL, NULL, 0, &r), 0);
    pay_http_client_response_fini(&r);
    pay_http_server_free(srv);
}

static void tls_serving(void **state)
{
    char dir[256], cert[320], key[320], cmd[1024];
    assert_int_equal(th_tmpdir(dir, sizeof dir, "paygate-tls"), 0);
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s 2>/dev/null",
             key, cert);
    assert_int_equal(system(cmd), 0);
    struct pay_http_server *srv = start(cert, key);
    assert_int_equal(strncmp(pay_http_server_url(srv), "https://", 8), 0);
    char url[256];
    snprintf(url, sizeof url, "%s/v1/trades/T1/refunds", pay_http_server_url(srv));
    struct pay_http_client_options o = {.allow_private_addresses = true, .ca_file = cert};
    struct pay_http_client_response r;
    struct pay_error e = {0};
    assert_int_equal(pay_http_client_request("GET", url, NULL, NULL, 0, &o, &r, &e), PAY_ERR_OK);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(header(&r, "Set-Cookie"), "; Secure"));
    assert_non_null(header(&r, "Strict-Transport-Security"));
    pay_http_client_response_fini(&r);
    /* without trusting the certificate the client refuses */
    o.ca_file = NULL;
    assert_int_equal(pay_http_client_request("GET", url, NULL, NULL, 0, &o, &r, &e),
                     PAY_ERR_UPSTREAM_FAILED);
    pay_http_client_response_fini(&r);
    pay_http_server_free(srv);
    th_tmpdir_done(dir);
}

static void insecure_listen_refused(void **state)
{
    struct pay_http_config cfg = {.listen = "0.0.0.0:0"};
    struct pay_http_server *srv = NULL;
    struct pay_error e = {0};
    assert_int_equal(pay_http_server_new(&cfg, &srv, &e), PAY_ERR_INSECURE_LISTEN);
    assert_null(srv);
    cfg.listen = "[::]:0";
    assert_int_equal(pay_http_server_new(&cfg, &srv, &e), PAY_ERR_INSECURE_LISTEN);
    cfg.insecure_http = true;
    cfg.listen = "0.0.0.0:0";
    assert_int_equal(pay_http_server_new(&cfg, &srv, &e), PAY_ERR_OK);
    pay_http_server_free(srv);
    cfg.listen = "example.com:80";
    assert_int_equal(pay_http_server_new(&cfg, &srv, &e), PAY_ERR_CONFIG_INVALID);
    cfg.listen = "[::1]:0";
    cfg.insecure_http = false;
    assert_int_equal(pay_http_server_new(&cfg, &srv, &e), PAY_ERR_OK);
    pay_http_server_free(srv);
}

/* Connection limits out of range and priority strings GnuTLS cannot read are refused by
 * pay_http_server_new, naming the field. */
/* /sandbox/clock exists only on a server on the test clock; it moves business time, refuses a
 * bad or oversized step, and /healthz says "clock":"fake". */
static void sandbox_clock(void **state)
{
    struct pay_http_server *real = *state;
    struct pay_http_client_response r;
    assert_int_equal(call(real, "GET", "/sandbox/clock", NULL, NULL, 0, &r), 404);
    pay_http_client_response_fini(&r);
    assert_int_equal(
        call(real, "POST", "/sandbox/clock", "application/json", "{\"advance_ms\":1000}", 19, &r),
        404);
    pay_http_client_response_fini(&r);

    pay_clock_use_fake(1700000000000LL);
    struct pay_http_server *srv = start(NULL, NULL);
    assert_int_equal(call(srv, "GET", "/healthz", NULL, NULL, 0, &r), 200);
    assert_string_equal(pay_buf_str(&r.body), "{\"status\":\"ok\",\"clock\":\"fake\"}");
    pay_http_client_response_fini(&r);
    uint64_t moves = pay_clock_moves();
    assert_int_equal(call(srv, "GET", "/sandbox/clock", NULL, NULL, 0, &r), 200);
    assert_non_null(strstr(pay_buf_str(&r.body), "\"now_ms\":1700000000000,"));
    assert_non_null(strstr(pay_buf_str(&r.body), "\"now\":\"2023-11-14T22:13:20Z\""));
    pay_http_client_response_fini(&r);
    const char *step = "{\"advance_ms\":90000}";
    assert_int_equal(
        call(srv, "POST", "/sandbox/clock", "application/json", step, strlen(step), &r), 200);
    assert_non_null(strstr(pay_buf_str(&r.body), "\"now_ms\":1700000090000,"));
    pay_http_client_response_fini(&r);
    assert_int_equal(pay_clock_now_ms(), 1700000090000LL);
    assert_int_equal(pay_clock_moves(), moves + 1);
    static const char *const bad[] = {"{\"advance_ms\":\"90s\"}", "{}", "{\"advance_ms\":1.5}",
                                      "{\"advance_ms\":99999999999999}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(
            call(srv, "POST", "/sandbox/clock", "application/json", bad[i], strlen(bad[i]), &r),
            400);
        assert_non_null(strstr(pay_buf_str(&r.body), "\"field\":\"advance_ms\""));
        pay_http_client_response_fini(&r);
    }
    assert_int_equal(pay_clock_now_ms(), 1700000090000LL); /* refused: nothing moved */
    pay_http_server_free(srv);
    pay_clock_use_real();
}

static void limits_and_priorities_refused(void **state)
{
    (void)state;
    struct pay_http_config bad[] = {
        {.listen = "127.0.0.1:0", .max_connections = PAY_HTTP_CONNECTIONS_CEILING + 1},
        {.listen = "127.0.0.1:0", .read_timeout_ms = -1},
        {.listen = "127.0.0.1:0", .idle_timeout_s = PAY_HTTP_TIMEOUT_CEILING_S + 1},
        {.listen = "127.0.0.1:0", .tls_priorities = "SECURE128:+NO-SUCH-CIPHER"},
        {.listen = "127.0.0.1:0", .tls_priorities = ""},
    };
    const char *field[] = {"max_connections", "read_timeout", "idle_timeout", "tls_priorities",
                           "tls_priorities"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct pay_http_server *srv = NULL;
        struct pay_error e = {0};
        assert_int_equal(pay_http_server_new(&bad[i], &srv, &e), PAY_ERR_CONFIG_INVALID);
        assert_null(srv);
        assert_string_equal(e.field, field[i]);
    }
}

static int setup(void **state)
{
    *state = start(NULL, NULL);
    return 0;
}

static int teardown(void **state)
{
    pay_http_server_free(*state);
    return 0;
}

int main(void)
{
    pay_log_init(stderr, PAY_LOG_ERROR);
    pay_http_signals_block();
    pay_clock_cond_init(&slow_cv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(basics),
        cmocka_unit_test(bodies),
        cmocka_unit_test(header_limit),
        cmocka_unit_test(page_errors),
        cmocka_unit_test(client_rules),
        cmocka_unit_test(client_guard_loopback_spellings),
        cmocka_unit_test(shutdown_waits_for_in_flight),
        cmocka_unit_test(tls_serving),
        cmocka_unit_test(insecure_listen_refused),
        cmocka_unit_test(limits_and_priorities_refused),
        cmocka_unit_test(sandbox_clock),
        cmocka_unit_test(signed_answers),
        cmocka_unit_test(json_media_type),
    };
    return th_finish(cmocka_run_group_tests(tests, setup, th_teardown(teardown)));
}
