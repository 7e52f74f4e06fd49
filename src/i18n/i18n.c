/* Languages: catalogs loaded once, look-ups by binary search, the per-request negotiation and
 * the {name} placeholders (see i18n.h). */
#include "i18n/i18n.h"

#include "core/buf.h"
#include "core/limits.h"
#include "i18n/po.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

struct pay_i18n_lang {
    char tag[16];  /* "zh-CN" */
    char name[64]; /* "中文" */
    char file[32]; /* "zh_CN.po"; "" for the source language without a catalog */
    struct pay_po *po;
    const struct pay_po_entry **sorted; /* by (ctxt, msgid), for bsearch */
};

struct pay_i18n {
    struct pay_i18n_lang langs[PAY_I18N_LANGS_MAX];
    size_t n;
};

/* --- look-ups --------------------------------------------------------------------------- */

struct key {
    const char *ctxt, *id;
};

static int entry_cmp(const char *ctxt_a, const char *id_a, const struct pay_po_entry *b)
{
    int c = strcmp(ctxt_a ? ctxt_a : "", b->ctxt ? b->ctxt : "");
    if (c == 0)
        c = (ctxt_a != NULL) - (b->ctxt != NULL);
    return c != 0 ? c : strcmp(id_a, b->id);
}

static int key_cmp(const void *k, const void *e)
{
    const struct key *key = k;
    return entry_cmp(key->ctxt, key->id, *(const struct pay_po_entry *const *)e);
}

static int sort_cmp(const void *a, const void *b)
{
    const struct pay_po_entry *x = *(const struct pay_po_entry *const *)a;
    return entry_cmp(x->ctxt, x->id, *(const struct pay_po_entry *const *)b);
}

static const struct pay_po_entry *find(const struct pay_i18n_lang *l, const char *ctxt,
                                       const char *id)
{
    if (l == NULL || l->po == NULL || id == NULL)
        return NULL;
    struct key k = {ctxt, id};
    const struct pay_po_entry *const *e =
        bsearch(&k, l->sorted, l->po->n, sizeof *l->sorted, key_cmp);
    return e ? *e : NULL;
}

int pay_i18n_lookup(const struct pay_i18n_lang *l, const char *ctxt, const char *msgid)
{
    if (l != NULL && l->po == NULL)
        return 2;
    const struct pay_po_entry *e = find(l, ctxt, msgid);
    return e == NULL ? 0 : (e->str[0] && !e->fuzzy) ? 2 : 1;
}

const char *pay_i18n_trc(const struct pay_i18n_lang *l, const char *ctxt, const char *msgid)
{
    const struct pay_po_entry *e = find(l, ctxt, msgid);
    return e && e->str[0] && !e->fuzzy ? e->str : msgid;
}

const char *pay_i18n_msg(const struct pay_i18n_lang *l, const struct pay_i18n_msg *m)
{
    return pay_i18n_trc(l, m->ctxt, m->id);
}

const char *pay_i18n_tr(const struct pay_i18n_lang *l, const char *msgid)
{
    return pay_i18n_trc(l, NULL, msgid);
}

const char *pay_i18n_tag(const struct pay_i18n_lang *l)
{
    return l ? l->tag : PAY_I18N_SOURCE_TAG;
}

const char *pay_i18n_name(const struct pay_i18n_lang *l)
{
    return l ? l->name : "English";
}

const char *pay_i18n_catalog_name(const struct pay_i18n_lang *l)
{
    return l ? l->file : "";
}

/* --- loading ---------------------------------------------------------------------------- */

/* "zh_CN.po" -> tag "zh-CN"; 0, or -1 when the name is not a catalog's (ll.po, ll_CC.po). */
static int tag_of_file(const char *file, char tag[16])
{
    size_t n = strlen(file);
    if (n < 5 || n > 12 || strcmp(file + n - 3, ".po") != 0)
        return -1;
    size_t ll = strspn(file, "abcdefghijklmnopqrstuvwxyz");
    bool region =
        file[ll] == '_' && strspn(file + ll + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 2 && ll + 6 == n;
    if (ll < 2 || ll > 3 || (!region && ll + 3 != n))
        return -1;
    snprintf(tag, 16, "%.*s", (int)(n - 3), file);
    if (region)
        tag[ll] = '-';
    return 0;
}

static enum pay_err add_catalog(struct pay_i18n *i18n, const char *dir, const char *file,
                                struct pay_error *err)
{
    char tag[16], path[4096];
    if (tag_of_file(file, tag) != 0)
        return PAY_ERR_OK; /* not a catalog (paygate.pot, README) */
    struct pay_i18n_lang *l = (struct pay_i18n_lang *)pay_i18n_find(i18n, tag);
    if (l == NULL && i18n->n == PAY_I18N_LANGS_MAX)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "po", "more than %d languages in %.100s",
                             PAY_I18N_LANGS_MAX, dir);
    if (l == NULL)
        l = &i18n->langs[i18n->n++];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    pay_str_copy(l->tag, sizeof l->tag, tag);
    pay_str_copy(l->file, sizeof l->file, file);
    enum pay_err rc = pay_po_load(path, &l->po, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (strncmp(l->po->language, file, strlen(file) - 3) != 0 ||
        strlen(l->po->language) != strlen(file) - 3)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "po",
                             "%.60s: its header says Language: %s; rename the file or fix it", file,
                             l->po->language);
    if ((l->sorted = malloc((l->po->n + 1) * sizeof *l->sorted)) == NULL)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    for (size_t i = 0; i < l->po->n; i++)
        l->sorted[i] = &l->po->entries[i];
    qsort(l->sorted, l->po->n, sizeof *l->sorted, sort_cmp);
    pay_str_copy(l->name, sizeof l->name, pay_i18n_trc(l, PAY_I18N_NAME_CTXT, "English"));
    return PAY_ERR_OK;
}

static enum pay_err load_dir(struct pay_i18n *i18n, const char *dir, struct pay_error *err)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return PAY_ERR_OK; /* no catalogs: English only */
    char *names[PAY_I18N_LANGS_MAX * 2];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < sizeof names / sizeof names[0])
        if (e->d_name[0] != '.' && strlen(e->d_name) > 3 &&
            strcmp(e->d_name + strlen(e->d_name) - 3, ".po") == 0)
            names[n++] = strdup(e->d_name);
    closedir(d);
    enum pay_err rc = PAY_ERR_OK;
    for (size_t i = 0; i < n; i++) {
        if (rc == PAY_ERR_OK)
            rc = names[i] ? add_catalog(i18n, dir, names[i], err)
                          : pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
        free(names[i]);
    }
    return rc;
}

static int lang_order(const void *a, const void *b)
{
    return strcmp(((const struct pay_i18n_lang *)a)->tag, ((const struct pay_i18n_lang *)b)->tag);
}

enum pay_err pay_i18n_load(const char *po_dir, const char *default_tag, struct pay_i18n **out,
                           struct pay_error *err)
{
    struct pay_i18n *i18n = calloc(1, sizeof *i18n);
    *out = NULL;
    if (i18n == NULL)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    struct pay_i18n_lang *src = &i18n->langs[i18n->n++];
    snprintf(src->tag, sizeof src->tag, PAY_I18N_SOURCE_TAG);
    snprintf(src->name, sizeof src->name, "English");
    enum pay_err rc = po_dir ? load_dir(i18n, po_dir, err) : PAY_ERR_OK;
    if (rc != PAY_ERR_OK) {
        pay_i18n_free(i18n);
        return rc;
    }
    qsort(i18n->langs, i18n->n, sizeof i18n->langs[0], lang_order);
    const struct pay_i18n_lang *def = default_tag && default_tag[0]
                                          ? pay_i18n_find(i18n, default_tag)
                                          : pay_i18n_find(i18n, PAY_I18N_DEFAULT_TAG);
    if (def == NULL && default_tag && default_tag[0]) {
        char have[80] = "";
        for (size_t i = 0; i < i18n->n; i++)
            snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", i ? ", " : "",
                     i18n->langs[i].tag);
        pay_error_set(err, PAY_ERR_CONFIG_INVALID, "language",
                      "language %.20s: no catalog for it in %.90s (available: %s)", default_tag,
                      po_dir ? po_dir : "(none)", have);
        pay_i18n_free(i18n);
        return PAY_ERR_CONFIG_INVALID;
    }
    if (def == NULL)
        def = pay_i18n_find(i18n, PAY_I18N_SOURCE_TAG);
    struct pay_i18n_lang first = *def; /* the default first: the switch lists it first */
    size_t at = (size_t)(def - i18n->langs);
    memmove(&i18n->langs[1], &i18n->langs[0], at * sizeof first);
    i18n->langs[0] = first;
    *out = i18n;
    return PAY_ERR_OK;
}

void pay_i18n_free(struct pay_i18n *i18n)
{
    if (i18n == NULL)
        return;
    for (size_t i = 0; i < i18n->n; i++) {
        free(i18n->langs[i].sorted);
        pay_po_free(i18n->langs[i].po);
    }
    free(i18n);
}

size_t pay_i18n_count(const struct pay_i18n *i18n)
{
    return i18n ? i18n->n : 0;
}

const struct pay_i18n_lang *pay_i18n_at(const struct pay_i18n *i18n, size_t i)
{
    return i18n && i < i18n->n ? &i18n->langs[i] : NULL;
}

const struct pay_i18n_lang *pay_i18n_default(const struct pay_i18n *i18n)
{
    return pay_i18n_at(i18n, 0);
}

/* Tags compare case-insensitively with '_' as '-' over n bytes of a (b whole). */
static bool tag_eq(const char *a, size_t n, const char *b)
{
    if (strlen(b) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char x = a[i] == '_' ? '-' : a[i], y = b[i];
        if ((x | 0x20) != (y | 0x20) && !(x == '-' && y == '-'))
            return false;
    }
    return true;
}

const struct pay_i18n_lang *pay_i18n_find(const struct pay_i18n *i18n, const char *tag)
{
    for (size_t i = 0; tag && i18n && i < i18n->n; i++)
        if (tag_eq(tag, strlen(tag), i18n->langs[i].tag))
            return &i18n->langs[i];
    return NULL;
}

/* --- negotiation ------------------------------------------------------------------------ */

/* A language whose tag the range (n bytes) matches: exactly, else by primary subtag
 * ("zh", "zh-TW", "zh-Hans" → zh-CN; "en-GB" → en). */
static const struct pay_i18n_lang *match_range(const struct pay_i18n *i18n, const char *r, size_t n)
{
    if (n == 1 && r[0] == '*')
        return pay_i18n_default(i18n);
    for (size_t i = 0; i < i18n->n; i++)
        if (tag_eq(r, n, i18n->langs[i].tag))
            return &i18n->langs[i];
    size_t primary = 0;
    while (primary < n && r[primary] != '-' && r[primary] != '_')
        primary++;
    for (size_t i = 0; i < i18n->n; i++) {
        const char *t = i18n->langs[i].tag;
        size_t tp = strcspn(t, "-");
        if (primary > 0 && primary == tp && strncasecmp(r, t, tp) == 0)
            return &i18n->langs[i];
    }
    return NULL;
}

/* The weight of ";q=0.8" as thousandths (RFC 9110 qvalue); 1000 when absent, -1 when bad. */
static int qvalue(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p == end)
        return 1000;
    if (end - p < 3 || *p != ';')
        return -1;
    for (p++; p < end && (*p == ' ' || *p == '\t'); p++)
        ;
    if (end - p < 3 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=' || (p[2] != '0' && p[2] != '1'))
        return -1;
    int q = (p[2] - '0') * 1000, scale = 100;
    p += 3;
    if (p < end && *p == '.')
        for (p++; p < end && *p >= '0' && *p <= '9' && scale > 0; p++, scale /= 10)
            q += (*p - '0') * scale;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p == end && q <= 1000 ? q : -1;
}

const struct pay_i18n_lang *pay_i18n_negotiate(const struct pay_i18n *i18n, const char *cookie,
                                               const char *accept_language)
{
    const struct pay_i18n_lang *best = cookie ? pay_i18n_find(i18n, cookie) : NULL;
    if (best != NULL)
        return best;
    int best_q = 0;
    const char *p = accept_language;
    for (int items = 0; p && *p && items < PAY_I18N_ACCEPT_ITEMS_MAX; items++) {
        const char *end = p + strcspn(p, ",");
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        size_t n = strcspn(p, ";, \t");
        if (p + n > end)
            n = (size_t)(end - p);
        int q = n > 0 ? qvalue(p + n, end) : -1;
        const struct pay_i18n_lang *l = q > best_q ? match_range(i18n, p, n) : NULL;
        if (l != NULL) {
            best = l;
            best_q = q;
        }
        p = *end ? end + 1 : end;
    }
    return best ? best : pay_i18n_default(i18n);
}

/* --- placeholders ----------------------------------------------------------------------- */

int pay_i18n_expand(const char *text, pay_i18n_value_fn value, void *value_ctx,
                    pay_i18n_emit_fn emit, void *emit_ctx, char missing[64])
{
    const char *run = text;
    for (const char *p = strchr(text, '{'); p != NULL; p = strchr(run, '{')) {
        const char *close = strchr(p, '}');
        if (close == NULL)
            break; /* catalogs and templates are checked: cannot happen; shown as text */
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(close - p - 1), p + 1);
        const char *v = value ? value(value_ctx, name) : NULL;
        if (v == NULL) {
            pay_str_copy(missing, 64, name);
            return -2;
        }
        if (emit(emit_ctx, run, (size_t)(p - run), false) != 0 ||
            emit(emit_ctx, v, strlen(v), true) != 0)
            return -1;
        run = close + 1;
    }
    return emit(emit_ctx, run, strlen(run), false) != 0 ? -1 : 0;
}

struct pairs {
    const char *names[16], *values[16];
    size_t n;
};

static const char *pair_value(void *ctx, const char *name)
{
    const struct pairs *p = ctx;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->names[i], name) == 0)
            return p->values[i] ? p->values[i] : "";
    return NULL;
}

static int buf_emit(void *ctx, const char *s, size_t n, bool is_value)
{
    (void)is_value;
    return pay_buf_append(ctx, s, n);
}

int pay_i18n_vtrf(const struct pay_i18n_lang *l, struct pay_buf *out, const char *ctxt,
                  const char *msgid, va_list ap)
{
    struct pairs p = {.n = 0};
    const char *name;
    while ((name = va_arg(ap, const char *)) != NULL && p.n < 16) {
        p.names[p.n] = name;
        p.values[p.n++] = va_arg(ap, const char *);
    }
    char missing[64];
    return pay_i18n_expand(pay_i18n_trc(l, ctxt, msgid), pair_value, &p, buf_emit, out, missing) ==
                   0
               ? 0
               : -1;
}

struct fixed {
    char *out;
    size_t n, len;
};

static int fixed_emit(void *ctx, const char *s, size_t n, bool is_value)
{
    struct fixed *f = ctx;
    (void)is_value;
    if (f->len + n + 1 > f->n)
        return -1;
    memcpy(f->out + f->len, s, n);
    f->len += n;
    f->out[f->len] = '\0';
    return 0;
}

int pay_i18n_trfn(const struct pay_i18n_lang *l, char *out, size_t n, const char *msgid, ...)
{
    struct pairs p = {.n = 0};
    struct fixed f = {out, n, 0};
    const char *name;
    char missing[64];
    va_list ap;
    va_start(ap, msgid);
    while ((name = va_arg(ap, const char *)) != NULL && p.n < 16) {
        p.names[p.n] = name;
        p.values[p.n++] = va_arg(ap, const char *);
    }
    va_end(ap);
    if (n == 0)
        return -1;
    out[0] = '\0';
    if (pay_i18n_expand(pay_i18n_trc(l, NULL, msgid), pair_value, &p, fixed_emit, &f, missing) == 0)
        return 0;
    out[0] = '\0';
    return -1;
}

int pay_i18n_trf(const struct pay_i18n_lang *l, struct pay_buf *out, const char *msgid, ...)
{
    va_list ap;
    va_start(ap, msgid);
    int rc = pay_i18n_vtrf(l, out, NULL, msgid, ap);
    va_end(ap);
    return rc;
}

enum pay_err pay_i18n_error_set(struct pay_error *e, enum pay_err code, const char *field,
                                const char *msgid, ...)
{
    struct pairs p = {.n = 0};
    char text[sizeof e->detail], missing[64];
    struct fixed f = {text, sizeof text, 0};
    const char *name;
    va_list ap;
    va_start(ap, msgid);
    while ((name = va_arg(ap, const char *)) != NULL && p.n < 16) {
        p.names[p.n] = name;
        p.values[p.n++] = va_arg(ap, const char *);
    }
    va_end(ap);
    text[0] = '\0';
    if (pay_i18n_expand(msgid, pair_value, &p, fixed_emit, &f, missing) != 0)
        pay_str_copy(text, sizeof text, msgid); /* a bug in the caller: still say something */
    return pay_error_set(e, code, field, "%s", text);
}

/* Matches text against msgid's shape: literal parts equal, each {name} a non-empty run up to
 * the next literal part (the whole rest for a last one). Captures into *p. */
static bool shape_match(const char *m, const char *t, struct pairs *p, char store[][96])
{
    while (*m) {
        if (*m != '{') {
            if (*m++ != *t++)
                return false;
            continue;
        }
        const char *close = strchr(m, '}');
        if (close == NULL || p->n == 8)
            return false;
        const char *lit = close + 1, *lit_end = lit + strcspn(lit, "{");
        if (lit == lit_end && *lit == '{')
            return false; /* two placeholders in a row: no shape to match */
        size_t cap;
        if (lit == lit_end) {
            cap = strlen(t);
        } else {
            char want[128];
            snprintf(want, sizeof want, "%.*s", (int)(lit_end - lit), lit);
            const char *at = t[0] ? strstr(t + 1, want) : NULL;
            if (at == NULL)
                return false;
            cap = (size_t)(at - t);
        }
        if (cap == 0 || cap >= 96)
            return false;
        snprintf(store[p->n], 96, "%.*s", (int)cap, t);
        snprintf(store[p->n + 8], 96, "%.*s", (int)(close - m - 1), m + 1);
        p->names[p->n] = store[p->n + 8];
        p->values[p->n] = store[p->n];
        p->n++;
        t += cap;
        m = close + 1;
    }
    return *t == '\0';
}

int pay_i18n_tr_detail(const struct pay_i18n_lang *l, const char *text, struct pay_buf *out)
{
    const struct pay_po_entry *e = find(l, NULL, text);
    char missing[64];
    if (e != NULL && e->str[0] && !e->fuzzy)
        return pay_buf_puts(out, e->str) == 0 ? 1 : -1;
    for (size_t i = 0; l != NULL && l->po != NULL && i < l->po->n; i++) {
        const struct pay_po_entry *c = &l->po->entries[i];
        struct pairs p = {.n = 0};
        char store[16][96];
        if (c->ctxt != NULL || !c->str[0] || c->fuzzy || strchr(c->id, '{') == NULL ||
            !shape_match(c->id, text, &p, store))
            continue;
        return pay_i18n_expand(c->str, pair_value, &p, buf_emit, out, missing) == 0 ? 1 : -1;
    }
    return 0;
}
