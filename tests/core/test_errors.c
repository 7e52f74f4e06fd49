/* The error registry: names, statuses, the detail record, the generated Markdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"

#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <sys/stat.h>

#define FILE_MAX (1 << 20)

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *s = calloc(1, FILE_MAX + 1);
    size_t n = s ? fread(s, 1, FILE_MAX, f) : 0;
    fclose(f);
    if (s)
        s[n] = '\0';
    return s;
}

/* $PAYGATE_SOURCE_ROOT/rel into out; skips the test when the variable is unset. */
static void source_path(char *out, size_t n, const char *rel)
{
    const char *root = getenv("PAYGATE_SOURCE_ROOT");
    if (root == NULL)
        skip();
    snprintf(out, n, "%s/%s", root, rel);
}

static int code_of(const char *name, size_t len)
{
    for (int i = 0; i < PAY_ERR__COUNT; i++)
        if (strlen(pay_err_name((enum pay_err)i)) == len &&
            strncmp(pay_err_name((enum pay_err)i), name, len) == 0)
            return i;
    return -1;
}

/* Calls fn(path, text, ctx) for every file under dir (recursively) whose name ends in suffix. */
static void each_file(const char *dir, const char *suffix,
                      void (*fn)(const char *path, const char *text, void *ctx), void *ctx)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    size_t sl = strlen(suffix);
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        size_t n = strlen(e->d_name);
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_name[0] == '.' || stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            each_file(path, suffix, fn, ctx);
        } else if (n > sl && strcmp(e->d_name + n - sl, suffix) == 0) {
            char *text = slurp(path);
            assert_non_null(text);
            fn(path, text, ctx);
            free(text);
        }
    }
    closedir(d);
}

struct codes_seen {
    bool used[PAY_ERR__COUNT];
    int unknown; /* PAY_ERR_<NAME> that are no registry code (none can be: no compile) */
};

/* Marks every registry code a C file names as PAY_ERR_<NAME>. */
static void scan_source(const char *path, const char *text, void *ctx)
{
    struct codes_seen *c = ctx;
    for (const char *p = text; (p = strstr(p, "PAY_ERR_")) != NULL; p += 8) {
        const char *name = p + 8;
        size_t len = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        if (len == 0 || name[0] == '_' || (len == 2 && strncmp(name, "OK", 2) == 0))
            continue; /* PAY_ERR__COUNT, PAY_ERR_OK, a macro prefix */
        int code = code_of(name, len);
        if (code < 0) {
            fprintf(stderr, "%s: PAY_ERR_%.*s is no registry code\n", path, (int)len, name);
            c->unknown++;
        } else
            c->used[code] = true;
    }
}

struct mentions {
    int checked, wrong;
};

/* "409 DUPLICATE", "`423 LOCKED`" in a doc: the code must be the registry's, with that status. */
static void scan_doc(const char *path, const char *text, void *ctx)
{
    struct mentions *m = ctx;
    for (const char *p = text + 1; p[0] && p[1] && p[2] && p[3]; p++) {
        if (p[0] < '1' || p[0] > '5' || !isdigit((unsigned char)p[1]) ||
            !isdigit((unsigned char)p[2]) || p[3] != ' ' || isalnum((unsigned char)p[-1]))
            continue;
        size_t len = strspn(p + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
        if (len < 4 || isalnum((unsigned char)p[4 + len]) || p[4 + len] == '*') /* FIELD_* */
            continue;
        int c = code_of(p + 4, len), status = (int)strtol(p, NULL, 10);
        if (c < 0 || pay_err_http_status((enum pay_err)c) != status) {
            fprintf(stderr, "%s: %d %.*s is not a registry code with that status\n", path, status,
                    (int)len, p + 4);
            m->wrong++;
        }
        m->checked++;
    }
}

static void registry_lookups(void **state)
{
    (void)state;
    assert_string_equal(pay_err_name(PAY_ERR_AMOUNT_INVALID), "AMOUNT_INVALID");
    assert_int_equal(pay_err_http_status(PAY_ERR_AMOUNT_INVALID), 400);
    assert_int_equal(pay_err_http_status(PAY_ERR_NOT_FOUND), 404);
    assert_int_equal(pay_err_http_status(PAY_ERR_BODY_TOO_LARGE), 413);
    assert_string_equal(pay_err_name((enum pay_err)9999), "INTERNAL");
    assert_string_equal(pay_err_name((enum pay_err) - 1), "INTERNAL");
}

static void every_code_is_unique_and_sane(void **state)
{
    (void)state;
    for (int i = 0; i < PAY_ERR__COUNT; i++) {
        int st = pay_err_http_status((enum pay_err)i);
        assert_true(st >= 200 && st < 600);
        assert_true(strlen(pay_err_message((enum pay_err)i)) > 0);
        for (int j = i + 1; j < PAY_ERR__COUNT; j++)
            assert_string_not_equal(pay_err_name((enum pay_err)i), pay_err_name((enum pay_err)j));
    }
}

static void error_set_fills_detail(void **state)
{
    (void)state;
    struct pay_error e;
    assert_int_equal(pay_error_set(&e, PAY_ERR_FIELD_INVALID, "amount", "must be %d digits", 2),
                     PAY_ERR_FIELD_INVALID);
    assert_string_equal(e.field, "amount");
    assert_string_equal(e.detail, "must be 2 digits");
    assert_int_equal(pay_error_set(NULL, PAY_ERR_LOCKED, NULL, NULL), PAY_ERR_LOCKED);
}

/* docs/errors.md is generated; the checked-in copy must equal what the registry produces. */
static void docs_errors_md_is_current(void **state)
{
    (void)state;
    char path[4096];
    source_path(path, sizeof path, "docs/errors.md");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *want = NULL;
    size_t want_len = 0;
    FILE *mem = open_memstream(&want, &want_len);
    assert_int_equal(pay_err_write_markdown(mem), 0);
    fclose(mem);
    char *have = calloc(1, want_len + 2);
    size_t n = fread(have, 1, want_len + 1, f);
    fclose(f);
    if (n != want_len || memcmp(have, want, want_len) != 0)
        fail_msg("docs/errors.md is stale: run `build/paygate errors --markdown > docs/errors.md`");
    free(have);
    free(want);
}

/* Every error code the servers can send — every PAY_ERR_<NAME> the sources under src/ use —
 * is a row of docs/errors.md with the registry's status, and every row is a code some source
 * sends (no documented code that nothing can answer). */
static void every_code_sent_is_documented(void **state)
{
    (void)state;
    char path[4096];
    source_path(path, sizeof path, "docs/errors.md");
    char *md = slurp(path);
    assert_non_null(md);
    bool listed[PAY_ERR__COUNT] = {false};
    struct codes_seen seen = {{false}, 0};
    int problems = 0;
    source_path(path, sizeof path, "src");
    each_file(path, ".c", scan_source, &seen);
    for (const char *p = md; (p = strstr(p, "\n| `")) != NULL; p += 4) {
        const char *name = p + 4;
        size_t len = strcspn(name, "`");
        int c = code_of(name, len);
        int status = (int)strtol(name + len + 3, NULL, 10);
        if (c < 0 || pay_err_http_status((enum pay_err)c) != status) {
            fprintf(stderr, "docs/errors.md: %.*s %d is not in the registry\n", (int)len, name,
                    status);
            problems++;
        } else
            listed[c] = true;
    }
    for (int i = 1; i < PAY_ERR__COUNT; i++) {
        bool used = seen.used[i];
        if (used && !listed[i])
            fprintf(stderr, "%s is sent but not in docs/errors.md\n",
                    pay_err_name((enum pay_err)i));
        if (listed[i] && !used)
            fprintf(stderr, "%s is documented but nothing sends it\n",
                    pay_err_name((enum pay_err)i));
        problems += used != listed[i];
    }
    free(md);
    assert_int_equal(seen.unknown, 0);
    assert_int_equal(problems, 0);
}

/* "409 DUPLICATE", "`423 LOCKED`": wherever a doc names a status and a code, the code is in the
 * registry with that status. */
static void status_mentions_in_docs_match(void **state)
{
    (void)state;
    char dir[4096];
    source_path(dir, sizeof dir, "docs");
    struct mentions m = {0, 0};
    each_file(dir, ".md", scan_doc, &m);
    assert_int_equal(m.wrong, 0);
    assert_true(m.checked >= 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry_lookups),
        cmocka_unit_test(every_code_is_unique_and_sane),
        cmocka_unit_test(error_set_fills_detail),
        cmocka_unit_test(docs_errors_md_is_current),
        cmocka_unit_test(every_code_sent_is_documented),
        cmocka_unit_test(status_mentions_in_docs_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
