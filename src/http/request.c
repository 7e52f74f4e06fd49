/* One request and its response: accessors, the per-request arena, the respond_* helpers, the
 * one function that turns errors into responses, and the security headers. */
#include "http/internal.h"

#include "core/log.h"

#include <assert.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ARENA_BLOCK 4096

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
};

struct deferred {
    struct deferred *next;
    void (*fn)(void *);
    void *arg;
};

/* --- lifecycle -------------------------------------------------------------------------- */

struct pay_http_request *pay_http_req_new(struct pay_http_server *srv, struct MHD_Connection *conn,
                                          const char *method, const char *path)
{
    struct pay_http_request *req = calloc(1, sizeof *req);
    if (req == NULL)
        return NULL;
    req->srv = srv;
    req->conn = conn;
    req->method = method;
    req->path = path;
    pay_buf_init(&req->body, PAY_HTTP_BODY_MAX);
    pay_buf_init(&req->form_action, 1024);
    clock_gettime(CLOCK_MONOTONIC, &req->t0);
    return req;
}

void pay_http_req_free(struct pay_http_request *req)
{
    if (req == NULL)
        return;
    for (struct deferred *d = req->defers; d != NULL; d = d->next)
        d->fn(d->arg); /* pushed at the head, so this runs in reverse order */
    json_decref(req->json);
    free(req->target);
    pay_form_fini(&req->form);
    pay_buf_fini(&req->body);
    pay_buf_fini(&req->form_action);
    free(req->resp_body);
    if (req->answer != NULL) /* built by a worker for a connection closed before it was queued */
        MHD_destroy_response(req->answer);
    for (struct arena_block *b = req->arena, *next; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    free(req);
}

void *pay_http_req_alloc(struct pay_http_request *req, size_t n)
{
    const size_t align = alignof(max_align_t);
    n = (n + align - 1) / align * align;
    struct arena_block *b = req->arena;
    if (b == NULL || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = malloc(sizeof *b + cap);
        if (b == NULL)
            return NULL;
        *b = (struct arena_block){.next = req->arena, .cap = cap};
        req->arena = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

char *pay_http_req_strdup(struct pay_http_request *req, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = pay_http_req_alloc(req, n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

char *pay_http_req_printf(struct pay_http_request *req, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = n >= 0 ? pay_http_req_alloc(req, (size_t)n + 1) : NULL;
    if (p != NULL)
        vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

int pay_http_req_defer(struct pay_http_request *req, void (*fn)(void *), void *arg)
{
    struct deferred *d = pay_http_req_alloc(req, sizeof *d);
    if (d == NULL)
        return -1;
    *d = (struct deferred){req->defers, fn, arg};
    req->defers = d;
    return 0;
}

/* --- accessors -------------------------------------------------------------------------- */

const char *pay_http_req_method(const struct pay_http_request *req)
{
    return req->method;
}

const char *pay_http_req_target(const struct pay_http_request *req)
{
    return req->target ? req->target : req->path;
}

const char *pay_http_req_path(const struct pay_http_request *req)
{
    return req->path;
}

const char *pay_http_req_id(const struct pay_http_request *req)
{
    return req->id;
}

const char *pay_http_req_remote_ip(const struct pay_http_request *req)
{
    return req->remote_ip;
}

bool pay_http_req_is_tls(const struct pay_http_request *req)
{
    return req->srv->tls;
}

void *pay_http_req_ctx(const struct pay_http_request *req)
{
    return req->route ? req->route->r.ctx : NULL;
}

const char *pay_http_req_param(const struct pay_http_request *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->n_params; i++) {
        const struct pay_http_param *p = &req->params[i];
        if (p->name_len == n && memcmp(p->name, name, n) == 0)
            return p->value; /* NUL-terminated copies made by the dispatcher */
    }
    return NULL;
}

const char *pay_http_req_query(const struct pay_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *pay_http_req_header(const struct pay_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *pay_http_req_cookie(const struct pay_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

bool pay_http_req_is_json(const struct pay_http_request *req)
{
    const char *ct = pay_http_req_header(req, "Content-Type");
    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0)
        return false;
    const char *p = ct + 16;
    p += strspn(p, " \t");
    if (*p == '\0')
        return true;
    if (*p++ != ';')
        return false;
    p += strspn(p, " \t");
    if (strncasecmp(p, "charset=", 8) != 0)
        return false;
    p += 8;
    size_t quoted = *p == '"';
    if (strncasecmp(p + quoted, "utf-8", 5) != 0)
        return false;
    p += quoted + 5;
    if (quoted && *p++ != '"')
        return false;
    return p[strspn(p, " \t")] == '\0';
}

const char *pay_http_req_body(const struct pay_http_request *req, size_t *len)
{
    if (len != NULL)
        *len = req->body.len;
    return pay_buf_str(&req->body);
}

json_t *pay_http_req_json(const struct pay_http_request *req)
{
    return req->json;
}

const struct pay_form *pay_http_req_form(const struct pay_http_request *req)
{
    return req->has_form ? &req->form : NULL;
}

const char *pay_http_req_form_get(const struct pay_http_request *req, const char *name)
{
    return req->has_form ? pay_form_get(&req->form, name) : NULL;
}
