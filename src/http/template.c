/* Mustache-subset HTML templates that escape by default (see template.h for the syntax). The
 * renderer works straight on the template text, without a compiled form: our pages are a few
 * KiB and rendering is a linear scan. */
#include "http/template.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/limits.h"
#include "http/codec.h"
#include "i18n/i18n.h"
#include "i18n/po.h"

#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRUSTED_KEY "__pay_trusted_html"

struct tpl {
    char *name;
    char *text;
};

struct pay_tpl_set {
    struct tpl *items;
    size_t n;
};

/* Where the output stands in the HTML, for the one rule values need: outside a tag or inside
 * a quoted attribute value, escaping & < > " ' is enough; inside a tag outside quotes it is
 * not (a space or = would start another attribute), so a value there is refused. */
enum html_ctx {
    HTML_TEXT = 0,
    HTML_TAG,      /* after '<', outside quotes */
    HTML_DQ_VALUE, /* inside "..." in a tag */
    HTML_SQ_VALUE, /* inside '...' in a tag */
    HTML_COMMENT,  /* inside <!-- ... --> */
};

struct render {
    const struct pay_tpl_set *set;
    const struct pay_i18n_lang *lang; /* {{t}}; NULL: the English source */
    enum html_ctx html;
    const char *tpl_name; /* for messages */
    const json_t *stack[PAY_HTTP_TPL_STACK_MAX];
    int depth;
    int partials;
    struct pay_buf *out;
    struct pay_error *err;
    char nums[4][40]; /* numbers shown by {{t}} placeholders */
    int next_num;
};

json_t *pay_tpl_trusted(const char *html)
{
    return json_pack("{s:s}", TRUSTED_KEY, html ? html : "");
}

static const char *trusted_html(const json_t *v)
{
    return json_is_object(v) && json_object_size(v) == 1
               ? json_string_value(json_object_get(v, TRUSTED_KEY))
               : NULL;
}

/* --- the set ---------------------------------------------------------------------------- */

static const struct tpl *set_find(const struct pay_tpl_set *set, const char *name)
{
    for (size_t i = 0; set != NULL && i < set->n; i++)
        if (strcmp(set->items[i].name, name) == 0)
            return &set->items[i];
    return NULL;
}

int pay_tpl_set_has(const struct pay_tpl_set *set, const char *name)
{
    return set_find(set, name) != NULL;
}

enum pay_err pay_tpl_set_add(struct pay_tpl_set *set, const char *name, const char *text)
{
    char *t = strdup(text);
    if (t == NULL)
        return PAY_ERR_INTERNAL;
    struct tpl *old = (struct tpl *)set_find(set, name);
    if (old != NULL) {
        free(old->text);
        old->text = t;
        return PAY_ERR_OK;
    }
    struct tpl *items = realloc(set->items, (set->n + 1) * sizeof *items);
    char *nm = strdup(name);
    if (items == NULL || nm == NULL) {
        if (items != NULL)
            set->items = items;
        free(t);
        free(nm);
        return PAY_ERR_INTERNAL;
    }
    set->items = items;
    set->items[set->n++] = (struct tpl){nm, t};
    return PAY_ERR_OK;
}

void pay_tpl_set_free(struct pay_tpl_set *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n; i++) {
        free(set->items[i].name);
        free(set->items[i].text);
    }
    free(set->items);
    free(set);
}

enum pay_err pay_tpl_set_load(const char *dir, struct pay_tpl_set **out, struct pay_error *err)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    if (dir == NULL)
        return PAY_ERR_OK;
    DIR *d = opendir(dir);
    if (d == NULL) {
        pay_tpl_set_free(*out);
        *out = NULL;
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "web_root", "cannot open %.150s", dir);
    }
    enum pay_err rc = PAY_ERR_OK;
    struct dirent *e;
    while (rc == PAY_ERR_OK && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || n <= 5 || n - 5 >= PAY_HTTP_TPL_NAME_MAX ||
            strcmp(e->d_name + n - 5, ".html") != 0)
            continue;
        char path[4096], name[PAY_HTTP_TPL_NAME_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(name, sizeof name, "%.*s", (int)(n - 5), e->d_name);
        char *text = pay_file_read(path, PAY_HTTP_TPL_FILE_MAX, NULL);
        rc = text ? pay_tpl_set_add(*out, name, text)
                  : pay_error_set(err, PAY_ERR_CONFIG_INVALID, "web_root",
                                  "cannot read template %.150s", path);
        free(text);
    }
    closedir(d);
    if (rc != PAY_ERR_OK) {
        pay_tpl_set_free(*out);
        *out = NULL;
    }
    return rc;
}

/* --- rendering -------------------------------------------------------------------------- */

/* One parsed tag: [start, end) covers the whole tag in the text. */
struct tag {
    size_t start, end;
    char sigil; /* 0 for a value, '#', '^', '/', '!', '>', '&' (raw), 't' (translated text) */
    char name[PAY_HTTP_TPL_NAME_MAX];
    /* 't': the message and its optional context, as offsets into the text */
    size_t msg_at, msg_len, ctxt_at, ctxt_len;
    bool has_ctxt;
};

static enum pay_err fail(struct render *r, size_t at, const char *why)
{
    return pay_error_set(r->err, PAY_ERR_INTERNAL, "", "template %s: %s at byte %zu", r->tpl_name,
                         why, at);
}

/* A quoted string at t[*at] (before end), on one line, without '"' inside; its offset and
 * length. 0 or -1. */
static int quoted(const char *t, size_t *at, size_t end, size_t *q_at, size_t *q_len)
{
    if (*at >= end || t[*at] != '"')
        return -1;
    size_t i = *at + 1;
    while (i < end && t[i] != '"' && t[i] != '\n')
        i++;
    if (i >= end || t[i] != '"')
        return -1;
    *q_at = *at + 1;
    *q_len = i - *at - 1;
    *at = i + 1;
    return 0;
}

/* {{t "message"}} or {{t "message" ctx="context"}}, with `body` just after the "t". */
static int translation_tag(const char *t, size_t body, size_t end, struct tag *tg)
{
    size_t at = body;
    tg->ctxt_at = tg->ctxt_len = 0;
    while (at < end && t[at] == ' ')
        at++;
    if (quoted(t, &at, end, &tg->msg_at, &tg->msg_len) != 0 || tg->msg_len == 0 ||
        tg->msg_len >= PAY_HTTP_TPL_MSG_MAX)
        return -1;
    while (at < end && t[at] == ' ')
        at++;
    tg->has_ctxt = end - at > 4 && memcmp(t + at, "ctx=", 4) == 0;
    if (tg->has_ctxt) {
        at += 4;
        if (quoted(t, &at, end, &tg->ctxt_at, &tg->ctxt_len) != 0 || tg->ctxt_len == 0 ||
            tg->ctxt_len >= PAY_HTTP_TPL_CTXT_MAX)
            return -1;
        while (at < end && t[at] == ' ')
            at++;
    }
    if (end - at < 2 || t[at] != '}' || t[at + 1] != '}')
        return -1;
    tg->sigil = 't';
    tg->end = at + 2;
    snprintf(tg->name, sizeof tg->name, "t");
    return 1;
}

/* Finds the next tag at or after `from` before `end`; 0 when none, -1 when malformed. */
static int next_tag(const char *t, size_t from, size_t end, struct tag *tg)
{
    const char *open = NULL;
    for (size_t i = from; i + 1 < end; i++)
        if (t[i] == '{' && t[i + 1] == '{') {
            open = t + i;
            break;
        }
    if (open == NULL)
        return 0;
    tg->start = (size_t)(open - t);
    bool triple = tg->start + 2 < end && open[2] == '{';
    size_t b = tg->start + 2;
    while (!triple && b < end && t[b] == ' ')
        b++;
    if (!triple && end - b > 2 && t[b] == 't' && (t[b + 1] == ' ' || t[b + 1] == '"'))
        return translation_tag(t, b + 1, end, tg);
    const char *body = open + (triple ? 3 : 2);
    const char *close = strstr(body, triple ? "}}}" : "}}");
    if (close == NULL || (size_t)(close - t) >= end)
        return -1;
    tg->end = (size_t)(close - t) + (triple ? 3 : 2);
    while (body < close && *body == ' ')
        body++;
    tg->sigil = triple ? '&' : 0;
    if (!triple && body < close && strchr("#^/!>&", *body)) {
        tg->sigil = *body++;
        while (body < close && *body == ' ')
            body++;
    }
    size_t n = (size_t)(close - body);
    while (n > 0 && body[n - 1] == ' ')
        n--;
    if (tg->sigil == '!')
        n = 0;
    else if (n == 0 || n >= sizeof tg->name)
        return -1;
    memcpy(tg->name, body, n);
    tg->name[n] = '\0';
    return 1;
}

/* Finds the {{/name}} closing the section opened by `open`; returns its tag in *close. */
static int find_close(const char *t, const struct tag *open, size_t end, struct tag *close)
{
    int nest = 0;
    size_t pos = open->end;
    int k;
    while ((k = next_tag(t, pos, end, close)) == 1) {
        if (close->sigil == '#' || close->sigil == '^')
            nest++;
        else if (close->sigil == '/' && nest-- == 0)
            return strcmp(close->name, open->name) == 0 ? 1 : -1;
        pos = close->end;
    }
    return -1;
}

static const json_t *lookup(const struct render *r, const char *name)
{
    if (strcmp(name, ".") == 0)
        return r->depth > 0 ? r->stack[r->depth - 1] : NULL;
    char part[PAY_HTTP_TPL_NAME_MAX];
    size_t n = strcspn(name, ".");
    snprintf(part, sizeof part, "%.*s", (int)n, name);
    const json_t *v = NULL;
    for (int i = r->depth - 1; i >= 0 && v == NULL; i--)
        if (json_is_object(r->stack[i]))
            v = json_object_get(r->stack[i], part);
    for (const char *p = name + n; v != NULL && *p == '.'; p += n + 1) {
        n = strcspn(p + 1, ".");
        snprintf(part, sizeof part, "%.*s", (int)n, p + 1);
        v = json_object_get(v, part);
    }
    return v;
}

static bool truthy(const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_OBJECT:
        return true;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0;
    case JSON_TRUE:
        return true;
    default:
        return false;
    }
}

/* Follows the HTML context over markup appended to the output. A '<' opens a tag only before
 * a letter, '/', '!' or '?' (as in HTML: "a < b" is text); "<!--" opens a comment that only
 * "-->" closes, so quotes in comments do not count. */
static void track(struct render *r, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i], next = i + 1 < n ? s[i + 1] : 'a';
        switch (r->html) {
        case HTML_TEXT:
            if (c == '<' && n - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
                r->html = HTML_COMMENT;
                i += 3;
            } else if (c == '<' && (isalpha((unsigned char)next) || strchr("/!?", next)))
                r->html = HTML_TAG;
            break;
        case HTML_COMMENT:
            if (c == '>' && i >= 2 && s[i - 1] == '-' && s[i - 2] == '-')
                r->html = HTML_TEXT;
            break;
        case HTML_TAG:
            r->html = c == '>'    ? HTML_TEXT
                      : c == '"'  ? HTML_DQ_VALUE
                      : c == '\'' ? HTML_SQ_VALUE
                                  : HTML_TAG;
            break;
        case HTML_DQ_VALUE:
            r->html = c == '"' ? HTML_TAG : HTML_DQ_VALUE;
            break;
        case HTML_SQ_VALUE:
            r->html = c == '\'' ? HTML_TAG : HTML_SQ_VALUE;
            break;
        }
    }
}

/* Appends s escaped for element text and quoted attribute values: & < > " ' and nothing else,
 * so a URL in href="..." reads back byte for byte once the entities are decoded (a page
 * scraper sees "a=b&amp;c=d", never "a&#61;b"). */
static int escape_text(struct pay_buf *out, const char *s)
{
    for (const char *run = s;; s++) {
        const char *rep = *s == '&'    ? "&amp;"
                          : *s == '<'  ? "&lt;"
                          : *s == '>'  ? "&gt;"
                          : *s == '"'  ? "&quot;"
                          : *s == '\'' ? "&#39;"
                                       : NULL;
        if (rep == NULL && *s != '\0')
            continue;
        if (pay_buf_append(out, run, (size_t)(s - run)) != 0 ||
            (rep != NULL && pay_buf_puts(out, rep) != 0))
            return -1;
        if (*s == '\0')
            return 0;
        run = s + 1;
    }
}

static int emit_value(struct render *r, const json_t *v, bool raw)
{
    struct pay_buf *out = r->out;
    char num[40];
    const char *s = "";
    const char *trusted = trusted_html(v);
    if (trusted != NULL && raw) {
        track(r, trusted, strlen(trusted));
        return pay_buf_puts(out, trusted);
    }
    if (trusted != NULL)
        s = trusted;
    else if (json_is_string(v))
        s = json_string_value(v);
    else if (json_is_integer(v))
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v)), s = num;
    else if (json_is_real(v))
        snprintf(num, sizeof num, "%.17g", json_real_value(v)), s = num;
    else if (json_is_boolean(v))
        s = json_is_true(v) ? "true" : "false";
    return escape_text(out, s);
}

static enum pay_err render_range(struct render *r, const char *t, size_t from, size_t end);

/* A {{t}} placeholder's value from the context, as text; NULL when the name is not there. */
static const char *placeholder_value(void *ctx, const char *name)
{
    struct render *r = ctx;
    const json_t *v = lookup(r, name);
    char *num = r->nums[r->next_num++ % 4];
    const char *trusted = trusted_html(v);
    if (v == NULL)
        return NULL;
    if (trusted != NULL)
        return trusted; /* shown as text: messages carry no markup */
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        return snprintf(num, 40, "%lld", (long long)json_integer_value(v)) > 0 ? num : "";
    if (json_is_boolean(v))
        return json_is_true(v) ? "true" : "false";
    return json_is_null(v) ? "" : NULL;
}

static int escaped_emit(void *ctx, const char *s, size_t n, bool is_value)
{
    struct render *r = ctx;
    (void)is_value;
    char piece[PAY_HTTP_TPL_MSG_MAX];
    for (size_t done = 0; done < n;) { /* escape_text wants NUL-terminated pieces */
        size_t k = n - done < sizeof piece - 1 ? n - done : sizeof piece - 1;
        memcpy(piece, s + done, k);
        piece[k] = '\0';
        if (escape_text(r->out, piece) != 0)
            return -1;
        done += k;
    }
    return 0;
}

/* {{t "..."}}: the message in the page's language, placeholders filled, all of it escaped
 * (a translation is text, never markup). */
static enum pay_err render_translation(struct render *r, const char *t, const struct tag *tg)
{
    char msgid[PAY_HTTP_TPL_MSG_MAX], ctxt[PAY_HTTP_TPL_CTXT_MAX], missing[64];
    snprintf(msgid, sizeof msgid, "%.*s", (int)tg->msg_len, t + tg->msg_at);
    snprintf(ctxt, sizeof ctxt, "%.*s", (int)tg->ctxt_len, t + tg->ctxt_at);
    const char *text = pay_i18n_trc(r->lang, tg->has_ctxt ? ctxt : NULL, msgid);
    int rc = pay_i18n_expand(text, placeholder_value, r, escaped_emit, r, missing);
    if (rc == -2) {
        char why[120];
        snprintf(why, sizeof why, "placeholder {%.60s} has no value", missing);
        return fail(r, tg->start, why);
    }
    return rc == 0 ? PAY_ERR_OK : fail(r, tg->start, "output too large");
}

static enum pay_err render_section(struct render *r, const char *t, const struct tag *open,
                                   const struct tag *close)
{
    const json_t *v = lookup(r, open->name);
    bool on = truthy(v);
    if (open->sigil == '^')
        return on ? PAY_ERR_OK : render_range(r, t, open->end, close->start);
    if (!on)
        return PAY_ERR_OK;
    if (r->depth >= PAY_HTTP_TPL_STACK_MAX)
        return fail(r, open->start, "sections nested too deeply");
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    enum pay_err rc = PAY_ERR_OK;
    for (size_t i = 0; i < n && rc == PAY_ERR_OK; i++) {
        const json_t *item = json_is_array(v) ? json_array_get(v, i) : v;
        bool push = json_is_array(v) || json_is_object(v);
        if (push)
            r->stack[r->depth++] = item;
        rc = render_range(r, t, open->end, close->start);
        if (push)
            r->depth--;
    }
    return rc;
}

static enum pay_err render_partial(struct render *r, const struct tag *tg)
{
    const struct tpl *p = set_find(r->set, tg->name);
    if (p == NULL)
        return fail(r, tg->start, "unknown partial");
    if (r->partials >= PAY_HTTP_TPL_PARTIALS_MAX)
        return fail(r, tg->start, "partials nested too deeply");
    const char *saved = r->tpl_name;
    r->partials++;
    r->tpl_name = p->name;
    enum pay_err rc = render_range(r, p->text, 0, strlen(p->text));
    r->tpl_name = saved;
    r->partials--;
    return rc;
}

static enum pay_err render_range(struct render *r, const char *t, size_t from, size_t end)
{
    struct tag tg, close;
    int k;
    while ((k = next_tag(t, from, end, &tg)) == 1) {
        if (pay_buf_append(r->out, t + from, tg.start - from) != 0)
            return fail(r, tg.start, "output too large");
        track(r, t + from, tg.start - from);
        enum pay_err rc = PAY_ERR_OK;
        from = tg.end;
        if (tg.sigil == '#' || tg.sigil == '^') {
            if (find_close(t, &tg, end, &close) != 1)
                return fail(r, tg.start, "section is not closed");
            rc = render_section(r, t, &tg, &close);
            from = close.end;
        } else if (tg.sigil == '/') {
            return fail(r, tg.start, "unexpected closing tag");
        } else if (tg.sigil == '>') {
            rc = render_partial(r, &tg);
        } else if (tg.sigil != '!' && r->html == HTML_TAG) {
            rc = fail(r, tg.start, "a value inside a tag must stand in a quoted attribute");
        } else if (tg.sigil == 't') {
            rc = render_translation(r, t, &tg);
        } else if (tg.sigil != '!' && emit_value(r, lookup(r, tg.name), tg.sigil == '&') != 0) {
            rc = fail(r, tg.start, "output too large");
        }
        if (rc != PAY_ERR_OK)
            return rc;
    }
    if (k < 0)
        return fail(r, from, "malformed tag");
    if (pay_buf_append(r->out, t + from, end - from) != 0)
        return fail(r, end, "output too large");
    track(r, t + from, end - from);
    return PAY_ERR_OK;
}

static enum pay_err render_text(const struct pay_tpl_set *set, const char *name, const char *text,
                                const json_t *ctx, const struct pay_tpl_args *args,
                                struct pay_buf *out, struct pay_error *err)
{
    PAY_ASSERT(text != NULL && out != NULL);
    struct render r = {.set = set, .tpl_name = name, .out = out, .err = err};
    if (args != NULL && args->globals != NULL)
        r.stack[r.depth++] = args->globals; /* looked up last */
    if (args != NULL)
        r.lang = args->lang;
    if (ctx != NULL)
        r.stack[r.depth++] = ctx;
    return render_range(&r, text, 0, strlen(text));
}

enum pay_err pay_tpl_render_string(const struct pay_tpl_set *set, const char *tpl,
                                   const json_t *ctx, struct pay_buf *out, struct pay_error *err)
{
    return render_text(set, "(string)", tpl, ctx, NULL, out, err);
}

enum pay_err pay_tpl_render_args(const struct pay_tpl_set *set, const char *name, const json_t *ctx,
                                 const struct pay_tpl_args *args, struct pay_buf *out,
                                 struct pay_error *err)
{
    const struct tpl *t = set_find(set, name);
    if (t == NULL)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "no template named %.60s", name);
    return render_text(set, t->name, t->text, ctx, args, out, err);
}

enum pay_err pay_tpl_render(const struct pay_tpl_set *set, const char *name, const json_t *ctx,
                            struct pay_buf *out, struct pay_error *err)
{
    return pay_tpl_render_args(set, name, ctx, NULL, out, err);
}

/* --- the messages of a set ---------------------------------------------------------------- */

static int line_of(const char *t, size_t at)
{
    int line = 1;
    for (size_t i = 0; i < at; i++)
        line += t[i] == '\n';
    return line;
}

/* Walks one template's tags: the {{t}} messages to fn, a malformed tag or message to err. */
static enum pay_err template_messages(const struct tpl *tp, pay_tpl_message_fn fn, void *ctx,
                                      struct pay_error *err)
{
    const char *t = tp->text;
    size_t end = strlen(t), from = 0;
    struct tag tg;
    int k;
    while ((k = next_tag(t, from, end, &tg)) == 1) {
        from = tg.end;
        if (tg.sigil != 't')
            continue;
        char msgid[PAY_HTTP_TPL_MSG_MAX], ctxt[PAY_HTTP_TPL_CTXT_MAX];
        snprintf(msgid, sizeof msgid, "%.*s", (int)tg.msg_len, t + tg.msg_at);
        snprintf(ctxt, sizeof ctxt, "%.*s", (int)tg.ctxt_len, t + tg.ctxt_at);
        const char *why = pay_po_placeholders_check(msgid);
        if (why != NULL)
            return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "templates", "%.40s.html:%d: %s",
                                 tp->name, line_of(t, tg.start), why);
        if (fn(ctx, tp->name, line_of(t, tg.start), tg.has_ctxt ? ctxt : NULL, msgid) != 0)
            return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "templates", "%.40s.html:%d: %s",
                                 tp->name, line_of(t, tg.start), "refused by the caller");
    }
    if (k < 0)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "templates",
                             "%.40s.html:%d: a malformed tag (a {{t \"...\"}} message must "
                             "stand on one line, without '\"' inside)",
                             tp->name, line_of(t, from + strcspn(t + from, "{")));
    return PAY_ERR_OK;
}

enum pay_err pay_tpl_set_messages(const struct pay_tpl_set *set, pay_tpl_message_fn fn, void *ctx,
                                  struct pay_error *err)
{
    for (size_t i = 0; set != NULL && i < set->n; i++) {
        enum pay_err rc = template_messages(&set->items[i], fn, ctx, err);
        if (rc != PAY_ERR_OK)
            return rc;
    }
    return PAY_ERR_OK;
}
