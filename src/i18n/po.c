/* The strict PO reader (see po.h): one pass over the lines, an entry at a time. */
#include "i18n/po.h"

#include "core/buf.h"
#include "core/limits.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct field {
    struct pay_buf text;
    bool set;
    int line;
};

struct parser {
    const char *origin;
    int line;
    struct pay_error *err;
    struct pay_po *po;
    size_t cap;
    bool header_seen;
    /* the entry being read */
    struct field ctxt, id, str;
    struct field *last; /* where a continuation line goes */
    bool fuzzy;
};

static enum pay_err fail(struct parser *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum pay_err fail(struct parser *ps, int line, const char *fmt, ...)
{
    char why[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return pay_error_set(ps->err, PAY_ERR_CONFIG_INVALID, "po", "%.60s:%d: %s", ps->origin, line,
                         why);
}

/* --- placeholders ----------------------------------------------------------------------- */

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.';
}

const char *pay_po_placeholders_check(const char *s)
{
    for (; *s; s++) {
        if (*s == '}')
            return "a '}' closes no placeholder";
        if (*s != '{')
            continue;
        const char *name = ++s;
        while (name_char(*s))
            s++;
        if (*s != '}')
            return "a '{' opens no {name} placeholder (names: letters, digits, _ and .)";
        if (s == name)
            return "an empty {} placeholder";
    }
    return NULL;
}

/* True when every placeholder of a also occurs in b. */
static bool placeholders_in(const char *a, const char *b)
{
    for (const char *p = strchr(a, '{'); p != NULL; p = strchr(p + 1, '{')) {
        size_t n = strcspn(p, "}") + 1; /* "{name}" */
        bool found = false;
        for (const char *q = strchr(b, '{'); q != NULL && !found; q = strchr(q + 1, '{'))
            found = strncmp(p, q, n) == 0;
        if (!found)
            return false;
    }
    return true;
}

bool pay_po_placeholders_same(const char *a, const char *b)
{
    return placeholders_in(a, b) && placeholders_in(b, a);
}

/* --- entries ---------------------------------------------------------------------------- */

static void field_reset(struct field *f)
{
    pay_buf_reset(&f->text);
    f->set = false;
    f->line = 0;
}

static void entry_reset(struct parser *ps)
{
    field_reset(&ps->ctxt);
    field_reset(&ps->id);
    field_reset(&ps->str);
    ps->last = NULL;
    ps->fuzzy = false;
}

static bool language_valid(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz");
    if (n < 2 || n > 3)
        return false;
    if (s[n] == '\0')
        return true;
    return s[n] == '_' && strlen(s + n + 1) == 2 &&
           strspn(s + n + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 2;
}

/* The header entry: "Key: value\n" lines; Content-Type must be UTF-8, Language must be set. */
static enum pay_err read_header(struct parser *ps, const char *h)
{
    bool utf8 = false;
    for (const char *line = h; *line;
         line += strcspn(line, "\n") + (line[strcspn(line, "\n")] != 0)) {
        size_t n = strcspn(line, "\n");
        if (n > 13 && strncasecmp(line, "Content-Type:", 13) == 0) {
            char v[128];
            snprintf(v, sizeof v, "%.*s", (int)(n < 127 ? n : 127), line);
            for (char *c = v; *c; c++)
                *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
            utf8 = strstr(v, "charset=utf-8") != NULL;
        } else if (n > 9 && strncmp(line, "Language:", 9) == 0) {
            const char *v = line + 9;
            while (*v == ' ')
                v++;
            size_t vn = (size_t)(line + n - v);
            if (vn >= sizeof ps->po->language)
                return fail(ps, ps->id.line, "Language: is too long");
            snprintf(ps->po->language, sizeof ps->po->language, "%.*s", (int)vn, v);
        }
    }
    if (!utf8)
        return fail(ps, ps->id.line, "the header must say Content-Type: ...; charset=UTF-8");
    if (!language_valid(ps->po->language))
        return fail(ps, ps->id.line, "the header needs Language: ll or ll_CC (e.g. zh_CN)");
    return PAY_ERR_OK;
}

static enum pay_err check_entry(struct parser *ps, const char *id, const char *str)
{
    const char *why = pay_po_placeholders_check(id);
    if (why != NULL)
        return fail(ps, ps->id.line, "msgid: %s", why);
    if (str[0] == '\0' || ps->fuzzy)
        return PAY_ERR_OK;
    if ((why = pay_po_placeholders_check(str)) != NULL)
        return fail(ps, ps->str.line, "msgstr: %s", why);
    if (!pay_po_placeholders_same(id, str))
        return fail(ps, ps->str.line,
                    "msgstr must use exactly the {placeholders} of its msgid, untranslated");
    return PAY_ERR_OK;
}

static char *dup_field(const struct field *f)
{
    return strdup(pay_buf_str(&f->text));
}

/* Ends the entry being read (if any) and stores it. */
static enum pay_err finish_entry(struct parser *ps)
{
    if (!ps->ctxt.set && !ps->id.set && !ps->str.set)
        return PAY_ERR_OK;
    if (!ps->id.set)
        return fail(ps, ps->ctxt.line, "msgctxt without msgid");
    if (!ps->str.set)
        return fail(ps, ps->id.line, "msgid without msgstr");
    const char *id = pay_buf_str(&ps->id.text), *str = pay_buf_str(&ps->str.text);
    bool header = id[0] == '\0' && !ps->ctxt.set;
    if (!ps->header_seen && !header)
        return fail(ps, ps->id.line, "the header entry (msgid \"\") must come first");
    if (header && ps->header_seen)
        return fail(ps, ps->id.line, "a second entry with an empty msgid");
    if (header) {
        ps->header_seen = true;
        enum pay_err rc = read_header(ps, str);
        entry_reset(ps);
        return rc;
    }
    if (id[0] == '\0')
        return fail(ps, ps->id.line, "an empty msgid");
    enum pay_err rc = check_entry(ps, id, str);
    if (rc != PAY_ERR_OK)
        return rc;
    if (ps->po->n == PAY_I18N_ENTRIES_MAX)
        return fail(ps, ps->id.line, "more than %d entries", PAY_I18N_ENTRIES_MAX);
    if (ps->po->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 64;
        struct pay_po_entry *e = realloc(ps->po->entries, cap * sizeof *e);
        if (e == NULL)
            return fail(ps, ps->id.line, "out of memory");
        ps->po->entries = e;
        ps->cap = cap;
    }
    struct pay_po_entry *e = &ps->po->entries[ps->po->n];
    *e = (struct pay_po_entry){.ctxt = ps->ctxt.set ? dup_field(&ps->ctxt) : NULL,
                               .id = dup_field(&ps->id),
                               .str = dup_field(&ps->str),
                               .fuzzy = ps->fuzzy,
                               .line = ps->id.line};
    ps->po->n++;
    if (e->id == NULL || e->str == NULL || (ps->ctxt.set && e->ctxt == NULL))
        return fail(ps, ps->id.line, "out of memory");
    entry_reset(ps);
    return PAY_ERR_OK;
}

/* --- lines ------------------------------------------------------------------------------ */

/* Appends the quoted string that starts at s (a line's rest) to f, unescaped. */
static enum pay_err read_string(struct parser *ps, const char *s, const char *end, struct field *f)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    if (s == end || *s != '"')
        return fail(ps, ps->line, "expected a string in double quotes");
    for (s++; s < end && *s != '"'; s++) {
        char c = *s;
        if ((unsigned char)c < 0x20 || c == 0x7f)
            return fail(ps, ps->line, "a control character in a string (write \\n or \\t)");
        if (c == '\\') {
            char e = ++s < end ? *s : '\0';
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == '\\' ? '\\' : e == '"' ? '"' : '\0';
            if (c == '\0')
                return fail(ps, ps->line, "unknown escape \\%c (allowed: \\n \\t \\\\ \\\")",
                            e ? e : ' ');
        }
        if (pay_buf_append(&f->text, &c, 1) != 0)
            return fail(ps, ps->line, "a message longer than %d bytes", PAY_I18N_MESSAGE_MAX);
    }
    if (s == end)
        return fail(ps, ps->line, "the string is not closed on its line");
    for (s++; s < end; s++)
        if (*s != ' ' && *s != '\t')
            return fail(ps, ps->line, "text after the closing quote");
    return PAY_ERR_OK;
}

/* s .. end is one line of the file, not NUL-terminated. */
static enum pay_err keyword_line(struct parser *ps, const char *s, const char *end)
{
    size_t kw = 0;
    while (s + kw < end && s[kw] != ' ' && s[kw] != '\t' && s[kw] != '"')
        kw++;
    if ((kw == 12 && memcmp(s, "msgid_plural", 12) == 0) ||
        (kw >= 7 && memcmp(s, "msgstr[", 7) == 0))
        return fail(ps, ps->line,
                    "plural forms are not supported: write the sentence without a count "
                    "(docs/i18n.md)");
    struct field *f = NULL;
    if (kw == 7 && memcmp(s, "msgctxt", 7) == 0) {
        enum pay_err rc = ps->str.set ? finish_entry(ps) : PAY_ERR_OK;
        if (rc != PAY_ERR_OK)
            return rc;
        if (ps->ctxt.set || ps->id.set)
            return fail(ps, ps->line, "msgctxt must come first in its entry");
        f = &ps->ctxt;
    } else if (kw == 5 && memcmp(s, "msgid", 5) == 0) {
        enum pay_err rc = ps->str.set ? finish_entry(ps) : PAY_ERR_OK;
        if (rc != PAY_ERR_OK)
            return rc;
        if (ps->id.set)
            return fail(ps, ps->line, "a second msgid without msgstr");
        f = &ps->id;
    } else if (kw == 6 && memcmp(s, "msgstr", 6) == 0) {
        if (!ps->id.set || ps->str.set)
            return fail(ps, ps->line, "msgstr must follow its msgid");
        f = &ps->str;
    } else {
        return fail(ps, ps->line, "unknown keyword %.*s", (int)(kw < 20 ? kw : 20), s);
    }
    f->set = true;
    f->line = ps->line;
    ps->last = f;
    return read_string(ps, s + kw, end, f);
}

static enum pay_err comment_line(struct parser *ps, const char *s, const char *end)
{
    if (s + 1 < end && s[1] == '~')
        return fail(ps, ps->line, "an obsolete entry (#~): remove it (msgattrib --no-obsolete)");
    enum pay_err rc = ps->str.set ? finish_entry(ps) : PAY_ERR_OK;
    if (rc != PAY_ERR_OK)
        return rc;
    if (ps->ctxt.set || ps->id.set)
        return fail(ps, ps->line, "a comment inside an entry");
    ps->last = NULL;
    if (s + 1 < end && s[1] == ',') {
        for (const char *f = s + 2; f < end;) {
            while (f < end && (*f == ' ' || *f == ','))
                f++;
            size_t n = 0;
            while (f + n < end && f[n] != ',' && f[n] != ' ')
                n++;
            if (n == 5 && strncmp(f, "fuzzy", 5) == 0)
                ps->fuzzy = true;
            f += n;
        }
    }
    return PAY_ERR_OK;
}

static enum pay_err one_line(struct parser *ps, const char *s, const char *end)
{
    if (memchr(s, '\r', (size_t)(end - s)) != NULL)
        return fail(ps, ps->line, "a CR character: save the file with LF line ends");
    const char *t = s;
    while (t < end && (*t == ' ' || *t == '\t'))
        t++;
    if (t == end)
        return finish_entry(ps);
    if (*t == '#')
        return comment_line(ps, t, end);
    if (*t == '"') {
        if (ps->last == NULL)
            return fail(ps, ps->line, "a string that continues no keyword");
        return read_string(ps, t, end, ps->last);
    }
    return keyword_line(ps, t, end);
}

/* Valid UTF-8 (no overlongs, no surrogates); 0 or the 1-based line of the first bad byte. */
static int utf8_bad_line(const char *s, size_t len)
{
    int line = 1;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80             ? 1
                   : (c & 0xe0) == 0xc0 ? 2
                   : (c & 0xf0) == 0xe0 ? 3
                   : (c & 0xf8) == 0xf0 ? 4
                                        : 0;
        if (n == 0 || i + n > len || (n == 2 && c < 0xc2) || (n == 4 && c > 0xf4))
            return line;
        for (size_t k = 1; k < n; k++)
            if (((unsigned char)s[i + k] & 0xc0) != 0x80)
                return line;
        unsigned char c1 = n > 1 ? (unsigned char)s[i + 1] : 0;
        if ((n == 3 && c == 0xe0 && c1 < 0xa0) || (n == 3 && c == 0xed && c1 >= 0xa0) ||
            (n == 4 && c == 0xf0 && c1 < 0x90) || (n == 4 && c == 0xf4 && c1 >= 0x90))
            return line;
        if (c == '\n')
            line++;
        if (c == '\0')
            return line;
        i += n;
    }
    return 0;
}

static int key_cmp(const void *a, const void *b)
{
    const struct pay_po_entry *x = *(const struct pay_po_entry *const *)a;
    const struct pay_po_entry *y = *(const struct pay_po_entry *const *)b;
    int c = strcmp(x->ctxt ? x->ctxt : "", y->ctxt ? y->ctxt : "");
    if (c == 0)
        c = (x->ctxt != NULL) - (y->ctxt != NULL);
    return c != 0 ? c : strcmp(x->id, y->id);
}

static enum pay_err check_duplicates(struct parser *ps)
{
    struct pay_po *po = ps->po;
    if (po->n < 2)
        return PAY_ERR_OK;
    const struct pay_po_entry **v = malloc(po->n * sizeof *v);
    if (v == NULL)
        return fail(ps, 0, "out of memory");
    for (size_t i = 0; i < po->n; i++)
        v[i] = &po->entries[i];
    qsort(v, po->n, sizeof *v, key_cmp);
    enum pay_err rc = PAY_ERR_OK;
    for (size_t i = 1; i < po->n && rc == PAY_ERR_OK; i++)
        if (key_cmp(&v[i - 1], &v[i]) == 0) {
            int a = v[i - 1]->line, b = v[i]->line;
            rc = fail(ps, a > b ? a : b, "duplicate of the entry at line %d", a < b ? a : b);
        }
    free(v);
    return rc;
}

static enum pay_err parse_all(struct parser *ps, const char *text, size_t len)
{
    int bad = utf8_bad_line(text, len);
    if (bad)
        return fail(ps, bad, "not valid UTF-8 text");
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        return fail(ps, 1, "a byte order mark: save the file as UTF-8 without BOM");
    const char *end = text + len;
    enum pay_err rc = PAY_ERR_OK;
    for (const char *s = text; s < end && rc == PAY_ERR_OK; ps->line++) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *eol = nl ? nl : end;
        rc = one_line(ps, s, eol);
        s = nl ? nl + 1 : end;
    }
    if (rc == PAY_ERR_OK)
        rc = finish_entry(ps);
    if (rc == PAY_ERR_OK && !ps->header_seen)
        rc = fail(ps, 1, "no header entry (msgid \"\" with Content-Type and Language)");
    if (rc == PAY_ERR_OK)
        rc = check_duplicates(ps);
    return rc;
}

enum pay_err pay_po_parse(const char *text, size_t len, const char *origin, struct pay_po **out,
                          struct pay_error *err)
{
    *out = NULL;
    struct parser ps = {.origin = origin ? origin : "(catalog)", .line = 1, .err = err};
    if ((ps.po = calloc(1, sizeof *ps.po)) == NULL)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    pay_buf_init(&ps.ctxt.text, PAY_I18N_MESSAGE_MAX);
    pay_buf_init(&ps.id.text, PAY_I18N_MESSAGE_MAX);
    pay_buf_init(&ps.str.text, PAY_I18N_MESSAGE_MAX);
    enum pay_err rc = len > PAY_I18N_PO_FILE_MAX
                          ? fail(&ps, 0, "larger than %d bytes", PAY_I18N_PO_FILE_MAX)
                          : parse_all(&ps, text, len);
    pay_buf_fini(&ps.ctxt.text);
    pay_buf_fini(&ps.id.text);
    pay_buf_fini(&ps.str.text);
    if (rc != PAY_ERR_OK) {
        pay_po_free(ps.po);
        return rc;
    }
    *out = ps.po;
    return PAY_ERR_OK;
}

enum pay_err pay_po_load(const char *path, struct pay_po **out, struct pay_error *err)
{
    *out = NULL;
    size_t len = 0;
    char *text = pay_file_read(path, PAY_I18N_PO_FILE_MAX, &len);
    if (text == NULL)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "po", "cannot read %.150s: %s", path,
                             strerror(errno));
    const char *base = strrchr(path, '/');
    enum pay_err rc = pay_po_parse(text, len, base ? base + 1 : path, out, err);
    free(text);
    return rc;
}

void pay_po_free(struct pay_po *po)
{
    if (po == NULL)
        return;
    for (size_t i = 0; i < po->n; i++) {
        free(po->entries[i].ctxt);
        free(po->entries[i].id);
        free(po->entries[i].str);
    }
    free(po->entries);
    free(po);
}
