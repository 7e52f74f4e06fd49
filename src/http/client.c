/* Outbound HTTP on libcurl: bounded, no redirects, SSRF guard on every resolved address. */
#include "http/client.h"

#include "core/assertions.h"
#include "core/limits.h"
#include "core/log.h"
#include "http/codec.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct call {
    const struct pay_http_client_options *opt;
    struct pay_http_client_response *out;
    bool refused;   /* the SSRF guard refused an address */
    bool too_large; /* the body went over the cap */
    char refused_ip[INET6_ADDRSTRLEN];
    const struct pay_addr_range *refused_range;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_ALL);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct call *c = arg;
    if (pay_buf_append(&c->out->body, p, size * n) != 0) {
        c->too_large = true;
        return 0; /* aborts the transfer */
    }
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct call *c = arg;
    if (n * size >= 5 && strncmp(p, "HTTP/", 5) == 0)
        pay_buf_reset(&c->out->headers); /* a new response (e.g. after 100 Continue) */
    else if (pay_buf_append(&c->out->headers, p, size * n) != 0)
        return 0;
    return size * n;
}

static void addr_text(const struct sockaddr *sa, char *out, size_t n)
{
    const void *raw = NULL;
    if (sa->sa_family == AF_INET)
        raw = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa->sa_family == AF_INET6)
        raw = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (raw == NULL || inet_ntop(sa->sa_family, raw, out, (socklen_t)n) == NULL)
        snprintf(out, n, "?");
}

/* Called with each resolved address right before connect(): the place where a DNS answer
 * pointing at 127.0.0.1 (rebinding) is caught too. No socket exists for a refused address. */
static curl_socket_t on_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct call *c = arg;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    const struct pay_addr_range *r = pay_addr_special(&a->addr);
    if (!c->opt->allow_private_addresses && r != NULL) {
        c->refused = true;
        c->refused_range = r;
        addr_text(&a->addr, c->refused_ip, sizeof c->refused_ip);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

static enum pay_err setup(CURL *h, struct call *c, const char *method, const char *url,
                          struct curl_slist *hdrs, const char *body, size_t body_len)
{
    const struct pay_http_client_options *o = c->opt;
    CURLcode rc = CURLE_OK;
    rc |= curl_easy_setopt(h, CURLOPT_URL, url);
    rc |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    rc |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    rc |= curl_easy_setopt(h, CURLOPT_PROXY, ""); /* no environment proxy around the guard */
    rc |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                           o->connect_timeout_ms ? o->connect_timeout_ms
                                                 : (long)PAY_CLIENT_CONNECT_TIMEOUT_MS);
    rc |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                           o->total_timeout_ms ? o->total_timeout_ms
                                               : (long)PAY_CLIENT_TOTAL_TIMEOUT_MS);
    rc |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        rc |= curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (body != NULL) {
        rc |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        rc |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    rc |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    rc |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    rc |= curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    rc |= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    rc |= curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    rc |= curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    rc |= curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, c);
    rc |= curl_easy_setopt(h, CURLOPT_USERAGENT, "paygate");
    if (o->ca_file != NULL)
        rc |= curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
    if (o->insecure_skip_verify) {
        rc |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        rc |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return rc == CURLE_OK ? PAY_ERR_OK : PAY_ERR_INTERNAL;
}

static enum pay_err map_curl_error(CURLcode rc, const struct call *c, const char *host,
                                   struct pay_error *err)
{
    if (c->refused) {
        char why[160];
        return pay_error_set(err, PAY_ERR_URL_FORBIDDEN, "url",
                             "%.100s resolves to %s, a special-purpose address (%s)", host,
                             c->refused_ip,
                             pay_addr_range_describe(c->refused_range, why, sizeof why));
    }
    if (c->too_large)
        return pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "", "response body is over %zu bytes",
                             c->out->body.max);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return pay_error_set(err, PAY_ERR_UPSTREAM_TIMEOUT, "", "%.100s did not answer in time",
                             host);
    return pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "", "%.100s: %.80s", host,
                         curl_easy_strerror(rc));
}

enum pay_err pay_http_client_request(const char *method, const char *url,
                                     const char *const *headers, const char *body, size_t body_len,
                                     const struct pay_http_client_options *opt,
                                     struct pay_http_client_response *out, struct pay_error *err)
{
    static const struct pay_http_client_options defaults;
    PAY_ASSERT(method != NULL && out != NULL);
    struct call c = {.opt = opt ? opt : &defaults, .out = out};
    out->status = 0;
    pay_buf_init(&out->headers, PAY_CLIENT_HEADERS_MAX);
    pay_buf_init(&out->body, c.opt->response_max ? c.opt->response_max : PAY_CLIENT_RESPONSE_MAX);
    struct pay_url u;
    enum pay_err rc = pay_url_parse(url, "url", &u, err);
    if (rc != PAY_ERR_OK)
        return rc;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "curl_global_init failed");
    struct curl_slist *hdrs = NULL;
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        struct curl_slist *n = curl_slist_append(hdrs, headers[i]);
        if (n == NULL) {
            curl_slist_free_all(hdrs);
            return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
        }
        hdrs = n;
    }
    CURL *h = curl_easy_init();
    rc = h ? setup(h, &c, method, url, hdrs, body, body_len) : PAY_ERR_INTERNAL;
    if (rc == PAY_ERR_OK) {
        CURLcode cc = curl_easy_perform(h);
        if (cc == CURLE_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
        else
            rc = map_curl_error(cc, &c, u.host, err);
    } else {
        pay_error_set(err, rc, "", "cannot set up the HTTP client");
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    if (rc != PAY_ERR_OK)
        PAY_WARN("http.client.failed", "method=%s host=%s code=%s", method, u.host,
                 pay_err_name(rc));
    return rc;
}

void pay_http_client_response_fini(struct pay_http_client_response *r)
{
    if (r == NULL)
        return;
    pay_buf_fini(&r->headers);
    pay_buf_fini(&r->body);
}

const char *pay_http_client_response_header(const struct pay_http_client_response *r,
                                            const char *name, char *buf, size_t n)
{
    size_t nl = strlen(name);
    const char *p = pay_buf_str(&r->headers);
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        if (ll > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = (size_t)(p + ll - v);
            while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                vl--;
            snprintf(buf, n, "%.*s", (int)vl, v);
            return buf;
        }
        p += ll + (eol ? 1 : 0);
    }
    return NULL;
}
