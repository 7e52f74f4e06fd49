/* Strict decoders and encoders for what crosses the wire: JSON request bodies (depth-limited),
 * urlencoded forms, URLs, HTML escaping; with http/addr.h, the SSRF guard's address test.
 * Every decoder treats its input as hostile and reports which field was wrong. */
#ifndef PAY_HTTP_CODEC_H
#define PAY_HTTP_CODEC_H

#include "core/buf.h"
#include "core/errors.h"
#include "core/limits.h"
#include "http/addr.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* --- JSON ------------------------------------------------------------------------------- */

/* Decodes a request body that must be one JSON object: valid UTF-8, no duplicate keys, no
 * \u0000, nesting at most PAY_JSON_DEPTH_MAX (JSON_TOO_DEEP), else JSON_INVALID with the
 * line/column/position in err->detail. The caller json_decref()s *out. */
enum pay_err pay_json_decode(const char *data, size_t len, json_t **out, struct pay_error *err);

/* --- urlencoded forms ------------------------------------------------------------------- */

struct pay_form_field {
    char *name;
    char *value; /* NUL-terminated, valid UTF-8, no control characters except \t\r\n */
    size_t value_len;
};

struct pay_form {
    struct pay_form_field *fields; /* owned by the form */
    size_t n;
};

/* Decodes application/x-www-form-urlencoded: '+' is a space, %XX needs two hex digits, names
 * and values must be UTF-8 without control characters (values may hold \t\r\n), names
 * non-empty and unique, at most PAY_HTTP_FORM_FIELDS_MAX fields. An empty input is an empty
 * form. Errors are FORM_INVALID with err->field naming the field (when its name decodes).
 * On success the caller frees with pay_form_fini(); on failure *out is empty. */
enum pay_err pay_form_decode(const char *data, size_t len, struct pay_form *out,
                             struct pay_error *err);
void pay_form_fini(struct pay_form *f);
const char *pay_form_get(const struct pay_form *f, const char *name); /* NULL when absent */

/* Appends "name=value" percent-encoded (RFC 3986 unreserved kept), with a leading '&' when
 * out is not empty. Returns 0 or -1 (cap reached). */
int pay_form_append(struct pay_buf *out, const char *name, const char *value);
/* Appends s percent-encoded (unreserved characters kept). */
int pay_url_escape(struct pay_buf *out, const char *s);

/* --- URLs ------------------------------------------------------------------------------- */

struct pay_url {
    char scheme[8];             /* "http" or "https" */
    char host[256];             /* lower-case name, dotted IPv4, or IPv6 without brackets */
    int port;                   /* explicit or the scheme's default */
    char path[PAY_URL_MAX + 1]; /* path + query, "/" when none; no fragment */
    bool tls;
};

/* Parses and validates an absolute http(s) URL of at most PAY_URL_MAX bytes: no user info,
 * no fragment, no spaces or control characters, a valid host, port 1-65535. Errors are
 * FIELD_INVALID with err->field = field (e.g. "notify_url"). */
enum pay_err pay_url_parse(const char *url, const char *field, struct pay_url *out,
                           struct pay_error *err);

/* --- text people choose -------------------------------------------------------------------- */

/* Checks a reserved message (预留信息: a bank customer's, a wallet user's): 1 to
 * PAY_RESERVED_MESSAGE_CHARS_MAX characters of UTF-8 without control characters. Errors name
 * field "message": FIELD_MISSING, FIELD_INVALID, FIELD_TOO_LONG. */
enum pay_err pay_reserved_message_check(const char *message, struct pay_error *err);

/* --- HTML --------------------------------------------------------------------------------- */

/* Appends s with & < > " ' ` = escaped (safe in element text and in quoted attributes). */
int pay_html_escape(struct pay_buf *out, const char *s);

#endif
