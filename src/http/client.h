/* The outbound HTTP client (libcurl) for server-to-server calls: bounded time and response
 * size, never follows redirects, and by default refuses to connect to any special-purpose
 * address (loopback, private, link-local, documentation, ...: http/addr.h), checked on each
 * resolved address at connect time, so DNS rebinding cannot bypass it. Thread-safe: each call
 * uses its own handle. */
#ifndef PAY_HTTP_CLIENT_H
#define PAY_HTTP_CLIENT_H

#include "core/buf.h"
#include "core/errors.h"

#include <stdbool.h>
#include <stddef.h>

struct pay_http_client_options {
    long connect_timeout_ms;      /* 0: PAY_CLIENT_CONNECT_TIMEOUT_MS */
    long total_timeout_ms;        /* 0: PAY_CLIENT_TOTAL_TIMEOUT_MS */
    size_t response_max;          /* 0: PAY_CLIENT_RESPONSE_MAX; a longer body is UPSTREAM_FAILED */
    const char *ca_file;          /* PEM bundle to trust instead of the system's; NULL: system */
    bool insecure_skip_verify;    /* do not verify the server's certificate (tests only) */
    bool allow_private_addresses; /* allow special-purpose addresses: the demo and tests */
};

struct pay_http_client_response {
    long status;            /* HTTP status; 3xx is returned as is (never followed) */
    struct pay_buf headers; /* raw "Name: value\r\n" lines of the final response */
    struct pay_buf body;    /* NUL-terminated */
};

/* Performs one request. headers: NULL-terminated "Name: value" strings, or NULL. body may be
 * NULL (no body). opt may be NULL (defaults: private addresses refused). On PAY_ERR_OK the
 * caller releases *out with pay_http_client_response_fini() (also safe after an error).
 * Errors: FIELD_INVALID (bad URL), URL_FORBIDDEN (address refused), UPSTREAM_TIMEOUT,
 * UPSTREAM_FAILED (connection, TLS, oversized response). An HTTP error status is not an
 * error here: check out->status. */
enum pay_err pay_http_client_request(const char *method, const char *url,
                                     const char *const *headers, const char *body, size_t body_len,
                                     const struct pay_http_client_options *opt,
                                     struct pay_http_client_response *out, struct pay_error *err);
void pay_http_client_response_fini(struct pay_http_client_response *r);

/* A response header's value (case-insensitive name), copied into buf (cap n); NULL when
 * absent. */
const char *pay_http_client_response_header(const struct pay_http_client_response *r,
                                            const char *name, char *buf, size_t n);

#endif
