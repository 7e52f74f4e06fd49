/* Strict wire codecs: JSON request bodies, urlencoded forms, URLs, HTML escaping. The SSRF
 * guard's address tables are in addr.c. */
#include "http/codec.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/limits.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- JSON ------------------------------------------------------------------------------- */

/* Finds the first place where nesting exceeds max, scanning outside strings. jansson has no
 * run-time depth limit, so we check before it recurses. Returns the offset or -1. */
static long json_too_deep_at(const char *s, size_t len, int max)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return (long)i;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return -1;
}

enum pay_err pay_json_decode(const char *data, size_t len, json_t **out, struct pay_error *err)
{
    PAY_ASSERT(out != NULL);
    *out = NULL;
    long deep = json_too_deep_at(data, len, PAY_JSON_DEPTH_MAX);
    if (deep >= 0)
        return pay_error_set(err, PAY_ERR_JSON_TOO_DEEP, "",
                             "JSON nesting deeper than %d levels at byte %ld", PAY_JSON_DEPTH_MAX,
                             deep);
    json_error_t je;
    json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL)
        return pay_error_set(err, PAY_ERR_JSON_INVALID, "",
                             "invalid JSON at line %d, column %d (byte %d): %.120s", je.line,
                             je.column, je.position, je.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return pay_error_set(err, PAY_ERR_JSON_INVALID, "", "request body must be a JSON object");
    }
    *out = j;
    return PAY_ERR_OK;
}

/* --- text people choose -------------------------------------------------------------------- */

enum pay_err pay_reserved_message_check(const char *message, struct pay_error *err)
{
    if (!message || !message[0])
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "message", "message is required");
    long chars = pay_utf8_chars(message);
    if (chars < 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "message",
                             "text without control characters");
    if (chars > PAY_RESERVED_MESSAGE_CHARS_MAX || strlen(message) > PAY_RESERVED_MESSAGE_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, "message", "at most %d characters",
                             PAY_RESERVED_MESSAGE_CHARS_MAX);
    return PAY_ERR_OK;
}

/* --- forms ------------------------------------------------------------------------------ */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into a new NUL-terminated string (caller frees); NULL on a bad
 * escape (or no memory), with *bad_at set to the offset. */
static char *pct_decode(const char *s, size_t n, size_t *out_len, long *bad_at)
{
    char *o = malloc(n + 1);
    size_t k = 0;
    *bad_at = -1;
    if (o == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            o[k++] = ' ';
        } else if (s[i] == '%') {
            int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int lo = hi >= 0 ? hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                *bad_at = (long)i;
                free(o);
                return NULL;
            }
            o[k++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            o[k++] = s[i];
        }
    }
    o[k] = '\0';
    *out_len = k;
    return o;
}

void pay_form_fini(struct pay_form *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->fields[i].name);
        free(f->fields[i].value);
    }
    free(f->fields);
    f->fields = NULL;
    f->n = 0;
}

const char *pay_form_get(const struct pay_form *f, const char *name)
{
    if (f == NULL)
        return NULL;
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->fields[i].name, name) == 0)
            return f->fields[i].value;
    return NULL;
}

/* Decodes one "name=value" pair into field; index is 1-based for messages. */
static enum pay_err form_pair(const char *p, size_t n, size_t index, struct pay_form_field *field,
                              struct pay_error *err)
{
    const char *eq = memchr(p, '=', n);
    if (n == 0)
        return pay_error_set(err, PAY_ERR_FORM_INVALID, "", "field #%zu is empty", index);
    if (eq == NULL || eq == p)
        return pay_error_set(err, PAY_ERR_FORM_INVALID, "", "field #%zu has no name=value form",
                             index);
    size_t name_len, value_len;
    long bad;
    char *name = pct_decode(p, (size_t)(eq - p), &name_len, &bad);
    if (name == NULL || pay_utf8_bad_at(name, name_len, "") >= 0) {
        free(name);
        return pay_error_set(err, PAY_ERR_FORM_INVALID, "",
                             "field #%zu: name has a bad %%-escape or is not UTF-8", index);
    }
    char *value = pct_decode(eq + 1, n - (size_t)(eq - p) - 1, &value_len, &bad);
    if (value == NULL) {
        pay_error_set(err, PAY_ERR_FORM_INVALID, name, "bad %%-escape at offset %ld of the value",
                      bad);
        free(name);
        return PAY_ERR_FORM_INVALID;
    }
    long u = pay_utf8_bad_at(value, value_len, "\t\r\n");
    if (u >= 0) {
        pay_error_set(err, PAY_ERR_FORM_INVALID, name,
                      "value is not UTF-8 text (bad byte at offset %ld)", u);
        free(name);
        free(value);
        return PAY_ERR_FORM_INVALID;
    }
    *field = (struct pay_form_field){name, value, value_len};
    return PAY_ERR_OK;
}

enum pay_err pay_form_decode(const char *data, size_t len, struct pay_form *out,
                             struct pay_error *err)
{
    PAY_ASSERT(out != NULL);
    *out = (struct pay_form){0};
    if (len == 0)
        return PAY_ERR_OK;
    out->fields = calloc(PAY_HTTP_FORM_FIELDS_MAX, sizeof *out->fields);
    if (out->fields == NULL)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    const char *p = data, *end = data + len;
    while (p <= end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if (out->n == PAY_HTTP_FORM_FIELDS_MAX) {
            pay_form_fini(out);
            return pay_error_set(err, PAY_ERR_FORM_INVALID, "", "more than %d fields",
                                 PAY_HTTP_FORM_FIELDS_MAX);
        }
        struct pay_form_field f;
        enum pay_err rc = form_pair(p, (size_t)(stop - p), out->n + 1, &f, err);
        if (rc == PAY_ERR_OK && pay_form_get(out, f.name) != NULL) {
            rc = pay_error_set(err, PAY_ERR_FORM_INVALID, f.name, "field appears more than once");
            free(f.name);
            free(f.value);
        }
        if (rc != PAY_ERR_OK) {
            pay_form_fini(out);
            return rc;
        }
        out->fields[out->n++] = f;
        p = stop + 1;
    }
    return PAY_ERR_OK;
}

int pay_url_escape(struct pay_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            if (pay_buf_append(out, p, 1) != 0)
                return -1;
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            if (pay_buf_append(out, e, 3) != 0)
                return -1;
        }
    }
    return 0;
}

int pay_form_append(struct pay_buf *out, const char *name, const char *value)
{
    size_t before = out->len;
    if ((out->len > 0 && pay_buf_puts(out, "&") != 0) || pay_url_escape(out, name) != 0 ||
        pay_buf_puts(out, "=") != 0 || pay_url_escape(out, value) != 0) {
        out->len = before; /* all or nothing */
        if (out->data)
            out->data[before] = '\0';
        return -1;
    }
    return 0;
}

/* --- HTML ------------------------------------------------------------------------------- */

int pay_html_escape(struct pay_buf *out, const char *s)
{
    const char *run = s;
    for (const char *p = s;; p++) {
        const char *rep = NULL;
        switch (*p) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        case '`':
            rep = "&#96;";
            break;
        case '=':
            rep = "&#61;";
            break;
        case '\0':
            return pay_buf_append(out, run, (size_t)(p - run));
        default:
            continue;
        }
        if (pay_buf_append(out, run, (size_t)(p - run)) != 0 || pay_buf_puts(out, rep) != 0)
            return -1;
        run = p + 1;
    }
}

/* --- URLs ------------------------------------------------------------------------------- */

static bool host_name_valid(const char *h, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (isalnum(c) || c == '-') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0 || n > 1; /* a trailing dot is allowed, a lone "." is not */
}

/* Splits "host[:port]" or "[v6][:port]" into out->host / out->port. */
static enum pay_err url_authority(const char *a, size_t n, const char *field, struct pay_url *out,
                                  struct pay_error *err)
{
    const char *port = NULL;
    size_t hn;
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (close == NULL)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, field, "unclosed [ in host");
        hn = (size_t)(close - a - 1);
        if (hn >= sizeof out->host)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, field, "host is too long");
        memcpy(out->host, a + 1, hn);
        out->host[hn] = '\0';
        struct in6_addr a6;
        if (inet_pton(AF_INET6, out->host, &a6) != 1)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, field, "bad IPv6 address");
        if (close + 1 < a + n && close[1] != ':')
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, field, "junk after ]");
        port = close + 1 < a + n ? close + 2 : NULL;
    } else {
        const char *colon = memchr(a, ':', n);
        hn = colon ? (size_t)(colon - a) : n;
        if (!host_name_valid(a, hn) || hn >= sizeof out->host)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, field, "host is not a valid name");
        for (size_t i = 0; i < hn; i++)
            out->host[i] = (char)tolower((unsigned char)a[i]);
        out->host[hn] = '\0';
        port = colon ? colon + 1 : NULL;
    }
    if (port != NULL) {
        size_t pn = (size_t)(a + n - port);
        long v = 0;
        if (pn == 0 || pn > 5)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, field, "bad port");
        for (size_t i = 0; i < pn; i++) {
            if (!isdigit((unsigned char)port[i]))
                return pay_error_set(err, PAY_ERR_FIELD_INVALID, field, "bad port");
            v = v * 10 + (port[i] - '0');
        }
        if (v < 1 || v > 65535)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, field, "port out of range");
        out->port = (int)v;
    }
    return PAY_ERR_OK;
}

enum pay_err pay_url_parse(const char *url, const char *field, struct pay_url *out,
                           struct pay_error *err)
{
    PAY_ASSERT(out != NULL);
    *out = (struct pay_url){0};
    size_t len = url ? strlen(url) : 0;
    if (len == 0 || len > PAY_URL_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, field, "URL is empty or too long");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f || url[i] == '#' ||
            url[i] == '\\')
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, field,
                                 "URL has a character that is not allowed at offset %zu", i);
    const char *rest;
    if (strncasecmp(url, "https://", 8) == 0)
        rest = url + 8, out->tls = true, out->port = 443;
    else if (strncasecmp(url, "http://", 7) == 0)
        rest = url + 7, out->port = 80;
    else
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, field, "URL must start with http(s)://");
    pay_str_copy(out->scheme, sizeof out->scheme, out->tls ? "https" : "http");
    size_t an = strcspn(rest, "/?");
    if (memchr(rest, '@', an) != NULL)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, field, "URL must not contain user info");
    enum pay_err rc = url_authority(rest, an, field, out, err);
    if (rc != PAY_ERR_OK)
        return rc;
    snprintf(out->path, sizeof out->path, "%s%s", rest[an] == '/' ? "" : "/", rest + an);
    return PAY_ERR_OK;
}
