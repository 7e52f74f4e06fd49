/* INI config files through inih, into a bounded table; typed getters with precise errors. */
#include "core/config.h"

#include "core/assertions.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/timeutil.h"

struct entry {
    char section[PAY_CONFIG_NAME_MAX];
    char key[PAY_CONFIG_NAME_MAX];
    char value[PAY_CONFIG_VALUE_MAX];
    int line;
};

struct pay_config {
    char origin[128]; /* file name for messages */
    size_t count;
    struct entry entries[PAY_CONFIG_ENTRIES_MAX];
};

/* State shared by the line reader and the handler during one parse. */
struct parse_ctx {
    struct pay_config *cfg;
    const char *pos, *end; /* unread text */
    int line;              /* number of the line last handed to inih */
    bool indented;         /* that line starts with a blank: inih continues the last value */
    struct pay_error *err;
    bool failed;   /* err already holds the first problem */
    int fail_line; /* ... found on this line */
};

static void fail_at(struct parse_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail_at(struct parse_ctx *c, const char *fmt, ...)
{
    if (c->failed)
        return; /* keep the first problem: later ones are often its echoes */
    c->failed = true;
    c->fail_line = c->line;
    char reason[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    pay_error_set(c->err, PAY_ERR_CONFIG_INVALID, NULL, "%s:%d: %s", c->cfg->origin, c->line,
                  reason);
}

/* fgets-like reader over the text in memory; a line that does not fit inih's buffer is an
 * error instead of being split into two lines. */
static char *read_line(char *str, int num, void *stream)
{
    struct parse_ctx *c = stream;
    if (c->pos >= c->end)
        return NULL;
    const char *nl = memchr(c->pos, '\n', (size_t)(c->end - c->pos));
    size_t len = nl ? (size_t)(nl - c->pos) + 1 : (size_t)(c->end - c->pos);
    c->line++;
    c->indented = len > 0 && (c->pos[0] == ' ' || c->pos[0] == '\t');
    if (num < 2 || len > (size_t)num - 1) {
        fail_at(c, "line is longer than %d bytes", num - 2);
        len = 0;
    }
    memcpy(str, c->pos, len);
    str[len] = '\0';
    c->pos += nl ? (size_t)(nl - c->pos) + 1 : (size_t)(c->end - c->pos);
    return str;
}

static const struct entry *find(const struct pay_config *cfg, const char *section, const char *key)
{
    for (size_t i = 0; i < cfg->count; i++)
        if (strcmp(cfg->entries[i].section, section) == 0 && strcmp(cfg->entries[i].key, key) == 0)
            return &cfg->entries[i];
    return NULL;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    struct parse_ctx *c = user;
    struct pay_config *cfg = c->cfg;
    if (section[0] == '\0') {
        fail_at(c, "'%s' comes before any [section]", name);
        return 0;
    }
    if (strlen(section) >= PAY_CONFIG_NAME_MAX || strlen(name) >= PAY_CONFIG_NAME_MAX ||
        strlen(value) >= PAY_CONFIG_VALUE_MAX) {
        fail_at(c, "name or value is too long (names < %d, values < %d bytes)", PAY_CONFIG_NAME_MAX,
                PAY_CONFIG_VALUE_MAX);
        return 0;
    }
    const struct entry *dup = find(cfg, section, name);
    if (dup != NULL && c->indented) {
        fail_at(c, "indented line would continue [%s] %s; multi-line values are not supported",
                section, name);
        return 0;
    }
    if (dup != NULL) {
        fail_at(c, "[%s] %s is set twice (first on line %d)", section, name, dup->line);
        return 0;
    }
    if (cfg->count == PAY_CONFIG_ENTRIES_MAX) {
        fail_at(c, "more than %d entries", PAY_CONFIG_ENTRIES_MAX);
        return 0;
    }
    struct entry *e = &cfg->entries[cfg->count++];
    pay_str_copy(e->section, sizeof e->section, section);
    pay_str_copy(e->key, sizeof e->key, name);
    pay_str_copy(e->value, sizeof e->value, value);
    e->line = c->line;
    return 1;
}

/* Parses len bytes of text; text need not be NUL-terminated. */
static enum pay_err parse_text(const char *text, size_t len, const char *origin,
                               struct pay_config **out, struct pay_error *err)
{
    *out = NULL;
    struct pay_config *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL)
        return pay_error_set(err, PAY_ERR_INTERNAL, NULL, "out of memory loading %s", origin);
    pay_str_copy(cfg->origin, sizeof cfg->origin, origin);
    struct parse_ctx c = {.cfg = cfg, .pos = text, .end = text + len, .err = err};
    const char *nul = memchr(text, '\0', len);
    if (nul != NULL) {
        c.line = 1;
        for (const char *p = text; p < nul; p++)
            c.line += *p == '\n';
        fail_at(&c, "contains a NUL byte");
    }
    int rc = c.failed ? 0 : ini_parse_stream(read_line, &c, on_entry, &c);
    /* inih reports its own syntax errors only at the end; the earliest problem wins. */
    if (rc != 0 && (!c.failed || (rc > 0 && rc < c.fail_line))) {
        c.failed = false;
        c.line = rc;
        fail_at(&c, rc > 0 ? "expected [section] or key = value" : "parser failed");
    }
    if (c.failed) {
        free(cfg);
        return PAY_ERR_CONFIG_INVALID;
    }
    *out = cfg;
    return PAY_ERR_OK;
}

enum pay_err pay_config_parse_string(const char *text, const char *origin, struct pay_config **out,
                                     struct pay_error *err)
{
    PAY_ASSERT(text != NULL && out != NULL);
    size_t len = strnlen(text, PAY_CONFIG_FILE_MAX + 1);
    if (len > PAY_CONFIG_FILE_MAX) {
        *out = NULL;
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, NULL, "%s is larger than %d bytes",
                             origin, PAY_CONFIG_FILE_MAX);
    }
    return parse_text(text, len, origin ? origin : "<string>", out, err);
}

enum pay_err pay_config_load(const char *path, struct pay_config **out, struct pay_error *err)
{
    PAY_ASSERT(path != NULL && out != NULL);
    *out = NULL;
    size_t len;
    char *text = pay_file_read(path, PAY_CONFIG_FILE_MAX, &len);
    if (text == NULL && errno == EFBIG)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, NULL, "%s is larger than %d bytes", path,
                             PAY_CONFIG_FILE_MAX);
    if (text == NULL)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, NULL, "cannot open %s: %s", path,
                             strerror(errno));
    enum pay_err rc = parse_text(text, len, path, out, err);
    free(text);
    return rc;
}

void pay_config_free(struct pay_config *cfg)
{
    free(cfg);
}

const char *pay_config_get(const struct pay_config *cfg, const char *section, const char *key,
                           const char *def)
{
    const struct entry *e = find(cfg, section, key);
    return e ? e->value : def;
}

bool pay_config_has_section(const struct pay_config *cfg, const char *section)
{
    for (size_t i = 0; i < cfg->count; i++)
        if (strcmp(cfg->entries[i].section, section) == 0)
            return true;
    return false;
}

enum pay_err pay_config_error(const struct pay_config *cfg, const char *section, const char *key,
                              struct pay_error *err, const char *reason_fmt, ...)
{
    char reason[160];
    va_list ap;
    va_start(ap, reason_fmt);
    vsnprintf(reason, sizeof reason, reason_fmt, ap);
    va_end(ap);
    char field[64];
    snprintf(field, sizeof field, "%s.%s", section, key);
    const struct entry *e = find(cfg, section, key);
    if (e == NULL)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, field, "%s: [%s] %s: %s", cfg->origin,
                             section, key, reason);
    return pay_error_set(err, PAY_ERR_CONFIG_INVALID, field, "%s:%d: [%s] %s: %s", cfg->origin,
                         e->line, section, key, reason);
}

/* Strict decimal integer: [-]digits, no leading zeros, no spaces, within int64_t. */
static bool parse_int(const char *s, int64_t *out)
{
    bool neg = s[0] == '-';
    const char *d = s + neg;
    if (d[0] < '0' || d[0] > '9' || (d[0] == '0' && d[1] != '\0') || (neg && d[0] == '0'))
        return false;
    int64_t v = 0;
    for (; *d != '\0'; d++) {
        if (*d < '0' || *d > '9' || __builtin_mul_overflow(v, 10, &v) ||
            __builtin_sub_overflow(v, *d - '0', &v)) /* accumulate negatively: INT64_MIN fits */
            return false;
    }
    if (!neg && __builtin_mul_overflow(v, -1, &v))
        return false;
    *out = v;
    return true;
}

enum pay_err pay_config_get_int(const struct pay_config *cfg, const char *section, const char *key,
                                int64_t def, int64_t min, int64_t max, int64_t *out,
                                struct pay_error *err)
{
    const char *v = pay_config_get(cfg, section, key, NULL);
    if (v == NULL) {
        *out = def;
        return PAY_ERR_OK;
    }
    int64_t n;
    if (!parse_int(v, &n))
        return pay_config_error(cfg, section, key, err, "'%.40s' is not an integer", v);
    if (n < min || n > max)
        return pay_config_error(cfg, section, key, err, "%lld is outside %lld..%lld", (long long)n,
                                (long long)min, (long long)max);
    *out = n;
    return PAY_ERR_OK;
}

enum pay_err pay_config_get_bool(const struct pay_config *cfg, const char *section, const char *key,
                                 bool def, bool *out, struct pay_error *err)
{
    const char *v = pay_config_get(cfg, section, key, NULL);
    if (v == NULL) {
        *out = def;
        return PAY_ERR_OK;
    }
    if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0) {
        *out = true;
        return PAY_ERR_OK;
    }
    if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 || strcmp(v, "0") == 0) {
        *out = false;
        return PAY_ERR_OK;
    }
    return pay_config_error(cfg, section, key, err, "'%.40s' is not true/false/yes/no/1/0", v);
}

enum pay_err pay_config_get_duration_ms(const struct pay_config *cfg, const char *section,
                                        const char *key, int64_t def_ms, int64_t *out_ms,
                                        struct pay_error *err)
{
    const char *v = pay_config_get(cfg, section, key, NULL);
    if (v == NULL) {
        *out_ms = def_ms;
        return PAY_ERR_OK;
    }
    struct pay_error why = {0};
    if (pay_time_parse_duration_ms(v, out_ms, &why) != PAY_ERR_OK)
        return pay_config_error(cfg, section, key, err, "%s", why.detail);
    return PAY_ERR_OK;
}

static bool listed(const char *name, const char *const list[])
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strcmp(name, list[i]) == 0)
            return true;
    return false;
}

enum pay_err pay_config_check_keys(const struct pay_config *cfg, const char *section,
                                   const char *const allowed[], struct pay_error *err)
{
    for (size_t i = 0; i < cfg->count; i++) {
        const struct entry *e = &cfg->entries[i];
        if (strcmp(e->section, section) != 0 || listed(e->key, allowed))
            continue;
        char known[120] = "";
        size_t used = 0;
        for (size_t k = 0; allowed[k] != NULL && used < sizeof known; k++)
            used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", k ? ", " : "",
                                     allowed[k]);
        return pay_config_error(cfg, section, e->key, err, "unknown key (known: %s)", known);
    }
    return PAY_ERR_OK;
}

enum pay_err pay_config_check_sections(const struct pay_config *cfg, const char *const allowed[],
                                       struct pay_error *err)
{
    for (size_t i = 0; i < cfg->count; i++) {
        const struct entry *e = &cfg->entries[i];
        if (!listed(e->section, allowed))
            return pay_error_set(err, PAY_ERR_CONFIG_INVALID, e->section,
                                 "%s:%d: unknown section [%s]", cfg->origin, e->line, e->section);
    }
    return PAY_ERR_OK;
}
