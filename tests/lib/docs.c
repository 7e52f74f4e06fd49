/* Checking the docs against the servers: examples, markers and the shape of JSON answers
 * (docs.h). */
#include "docs.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DOC_MAX (1 << 20) /* the largest doc read */

char *th_doc_read(const char *name)
{
    const char *root = getenv("PAYGATE_SOURCE_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/docs/%s", root ? root : "..", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *doc = calloc(1, DOC_MAX + 1);
    size_t n = doc ? fread(doc, 1, DOC_MAX, f) : 0;
    fclose(f);
    if (doc)
        doc[n] = '\0';
    return doc;
}

/* The block "```tag\n...```" starting exactly at p: its text (heap) and the end of the fence
 * in *end; NULL when p does not open such a block. */
static char *fenced(const char *p, const char *tag, const char **end)
{
    size_t tl = strlen(tag);
    if (strncmp(p, "```", 3) != 0 || strncmp(p + 3, tag, tl) != 0 || p[3 + tl] != '\n')
        return NULL;
    const char *s = p + 4 + tl, *e = strstr(s, "\n```");
    if (!e)
        return NULL;
    *end = e + 4;
    return strndup(s, (size_t)(e - s));
}

int th_doc_next_example(const char *doc, const char **pos, struct th_doc_example *ex)
{
    memset(ex, 0, sizeof *ex);
    const char *open = strstr(*pos, "```http\n");
    if (!open)
        return 0;
    const char *end = NULL;
    ex->request = fenced(open, "http", &end);
    const char *next = end ? end + strspn(end, "\n") : NULL;
    ex->response = next ? fenced(next, "response", &end) : NULL;
    if (!ex->request || !ex->response)
        return -1;
    ex->before = strndup(*pos, (size_t)(open - *pos));
    ex->line = 1;
    for (const char *c = doc; c < open; c++)
        ex->line += *c == '\n';
    *pos = end;
    return 1;
}

void th_doc_example_fini(struct th_doc_example *ex)
{
    free(ex->before);
    free(ex->request);
    free(ex->response);
    memset(ex, 0, sizeof *ex);
}

int th_doc_request_parse(char *text, struct th_doc_request *r)
{
    memset(r, 0, sizeof *r);
    char *line = text, *nl = strchr(line, '\n');
    if (nl)
        *nl = '\0';
    char *sp = strchr(line, ' ');
    if (!sp)
        return -1;
    *sp = '\0';
    r->method = line;
    r->target = sp + 1;
    for (line = nl ? nl + 1 : NULL; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (*line == '\0') { /* the empty line: the body follows */
            r->body = nl + 1;
            break;
        }
        char *colon = strstr(line, ": ");
        if (!colon || r->n_headers == 8)
            return -1;
        *colon = '\0';
        r->names[r->n_headers] = line;
        r->values[r->n_headers++] = colon + 2;
    }
    return 0;
}

const char *th_doc_request_header(const struct th_doc_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->names[i], name) == 0)
            return r->values[i];
    return NULL;
}

int th_doc_response_parse(const char *text, long *status, const char **body)
{
    char *end;
    *status = strtol(text, &end, 10);
    if (end == text || (*end != '\n' && *end != '\0'))
        return -1;
    *body = *end ? end + 1 : end;
    return 0;
}

int th_doc_marker(const char *prose, const char *verb, char *out, size_t n)
{
    char open[64];
    snprintf(open, sizeof open, "<!-- test: %s", verb);
    const char *m = strstr(prose, open);
    if (!m || n == 0)
        return 0;
    m += strlen(open);
    m += strspn(m, " ");
    const char *e = strstr(m, "-->");
    if (!e)
        return 0;
    while (e > m && e[-1] == ' ')
        e--;
    snprintf(out, n, "%.*s", (int)(e - m), m);
    return 1;
}

static const char *type_name(const json_t *v)
{
    static const char *const names[] = {"object", "array",   "string",  "integer",
                                        "real",   "boolean", "boolean", "null"};
    return names[json_typeof(v)];
}

/* Records every field path of v under prefix into paths (path -> type name); arrays add
 * "prefix[]" for their elements. A path seen as null and as something else keeps the other. */
static void collect(const json_t *v, const char *prefix, json_t *paths)
{
    if (prefix[0]) {
        json_t *had = json_object_get(paths, prefix);
        if (!had || strcmp(json_string_value(had), "null") == 0)
            json_object_set_new(paths, prefix, json_string(type_name(v)));
    }
    char sub[512];
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach((json_t *)v, k, c)
        {
            snprintf(sub, sizeof sub, "%s%s%s", prefix, prefix[0] ? "." : "", k);
            collect(c, sub, paths);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        snprintf(sub, sizeof sub, "%s[]", prefix);
        json_array_foreach((json_t *)v, i, c) collect(c, sub, paths);
    }
}

/* Differences of the paths of a that b lacks (and of types both have), printed as `says`. */
static size_t missing(json_t *a, json_t *b, const char *where, const char *says, bool types)
{
    size_t n = 0;
    const char *k;
    json_t *ta;
    json_object_foreach(a, k, ta)
    {
        json_t *tb = json_object_get(b, k);
        const char *sa = json_string_value(ta), *sb = tb ? json_string_value(tb) : NULL;
        if (!tb) {
            fprintf(stderr, "%s: %s \"%s\"\n", where, says, k);
            n++;
        } else if (types && strcmp(sa, sb) != 0 && strcmp(sa, "null") != 0 &&
                   strcmp(sb, "null") != 0) {
            fprintf(stderr, "%s: \"%s\" is %s in the docs, %s in the answer\n", where, k, sa, sb);
            n++;
        }
    }
    return n;
}

size_t th_json_shape_diff(json_t *want, json_t *got, const char *where)
{
    if (!want || !got) {
        fprintf(stderr, "%s: %s is not JSON\n", where, want ? "the answer" : "the example");
        return 1;
    }
    json_t *pw = json_object(), *pg = json_object();
    collect(want, "", pw);
    collect(got, "", pg);
    size_t n = missing(pw, pg, where, "the answer lacks the documented field", true) +
               missing(pg, pw, where, "undocumented field", false);
    json_decref(pw);
    json_decref(pg);
    const char *wc = json_string_value(json_object_get(json_object_get(want, "error"), "code"));
    const char *gc = json_string_value(json_object_get(json_object_get(got, "error"), "code"));
    if (wc && (!gc || strcmp(wc, gc) != 0)) {
        fprintf(stderr, "%s: error %s documented, %s answered\n", where, wc, gc ? gc : "none");
        n++;
    }
    return n;
}

char *th_doc_fill(const char *text, const char *const *vars)
{
    size_t cap = strlen(text) + 1;
    for (size_t i = 0; vars[i]; i += 2)
        cap += strlen(vars[i + 1]) * 8;
    char *out = malloc(cap), *o = out;
    if (!out)
        return NULL;
    for (const char *p = text; *p;) {
        const char *val = NULL;
        size_t skip = 0;
        for (size_t i = 0; *p == '<' && vars[i] && !val; i += 2) {
            size_t len = strlen(vars[i]);
            if (strncmp(p + 1, vars[i], len) == 0 && p[len + 1] == '>')
                val = vars[i + 1], skip = len + 2;
        }
        if (val && (size_t)(o - out) + strlen(val) < cap) {
            o += snprintf(o, cap - (size_t)(o - out), "%s", val);
            p += skip;
        } else if ((size_t)(o - out) + 1 < cap) {
            *o++ = *p++;
        } else {
            break;
        }
    }
    *o = '\0';
    return out;
}
