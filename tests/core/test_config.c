/* Config files: loading real files, typed getters, and every error naming file, line and key:
 * bad values, syntax errors, duplicates, unknown keys and sections, size limits. */
#include "lib/tmp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/limits.h"

static struct pay_config *parse_ok(const char *text)
{
    struct pay_config *cfg = NULL;
    struct pay_error e = {0};
    if (pay_config_parse_string(text, "test.ini", &cfg, &e) != PAY_ERR_OK)
        fail_msg("parse failed: %s", e.detail);
    assert_non_null(cfg);
    return cfg;
}

/* Expects parsing to fail with a detail that contains want. */
static void parse_bad(const char *text, const char *want)
{
    struct pay_config *cfg = (struct pay_config *)1;
    struct pay_error e = {0};
    assert_int_equal(pay_config_parse_string(text, "test.ini", &cfg, &e), PAY_ERR_CONFIG_INVALID);
    assert_null(cfg);
    assert_int_equal(e.code, PAY_ERR_CONFIG_INVALID);
    if (strstr(e.detail, want) == NULL)
        fail_msg("detail '%s' lacks '%s'", e.detail, want);
}

#define TEMP_PATH_MAX 300

/* Writes text to a new temporary file in the test's dir (made on first use, removed by
 * th_finish); the caller unlinks path. */
static void write_temp(char path[TEMP_PATH_MAX], const char *text, size_t len)
{
    static char dir[256];
    if (!dir[0])
        assert_int_equal(th_tmpdir(dir, sizeof dir, "paygate-test-config"), 0);
    th_tmpdir_done(dir);
    snprintf(path, TEMP_PATH_MAX, "%s/ini-XXXXXX", dir);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

static void values_and_comments(void **state)
{
    (void)state;
    struct pay_config *cfg = parse_ok("; leading comment\n"
                                      "# hash comment\n"
                                      "[server]\n"
                                      "listen = 0.0.0.0:443\n"
                                      "log_level=debug   ; inline comment\n"
                                      "empty =\n"
                                      "\n"
                                      "[notify]\r\n"
                                      "retry_schedule = 4m,10m\r\n"
                                      "[server2]\n"
                                      "listen = x");
    assert_string_equal(pay_config_get(cfg, "server", "listen", "d"), "0.0.0.0:443");
    assert_string_equal(pay_config_get(cfg, "server", "log_level", "d"), "debug");
    assert_string_equal(pay_config_get(cfg, "server", "empty", "d"), "");
    assert_string_equal(pay_config_get(cfg, "server", "missing", "d"), "d");
    assert_null(pay_config_get(cfg, "server", "Listen", NULL)); /* case-sensitive */
    assert_string_equal(pay_config_get(cfg, "notify", "retry_schedule", NULL), "4m,10m");
    assert_string_equal(pay_config_get(cfg, "server2", "listen", NULL), "x");
    assert_true(pay_config_has_section(cfg, "notify"));
    assert_false(pay_config_has_section(cfg, "bank"));
    pay_config_free(cfg);
    pay_config_free(NULL);
}

static void ints(void **state)
{
    (void)state;
    struct pay_config *cfg = parse_ok("[a]\nport = 8080\nneg = -5\nbig = 9223372036854775807\n"
                                      "min = -9223372036854775808\nzero = 0\n"
                                      "b1 = 80x\nb2 = 0x50\nb3 = 080\nb4 = -0\nb5 = +5\n"
                                      "b6 = 9223372036854775808\nb7 =\nb8 = 1 000\nb9 = 1.5\n");
    int64_t v = 0;
    struct pay_error e = {0};
    assert_int_equal(pay_config_get_int(cfg, "a", "port", 1, 1, 65535, &v, &e), PAY_ERR_OK);
    assert_int_equal(v, 8080);
    assert_int_equal(pay_config_get_int(cfg, "a", "neg", 0, -10, 10, &v, &e), PAY_ERR_OK);
    assert_int_equal(v, -5);
    assert_int_equal(pay_config_get_int(cfg, "a", "big", 0, INT64_MIN, INT64_MAX, &v, &e),
                     PAY_ERR_OK);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(pay_config_get_int(cfg, "a", "min", 0, INT64_MIN, INT64_MAX, &v, &e),
                     PAY_ERR_OK);
    assert_int_equal(v, INT64_MIN);
    assert_int_equal(pay_config_get_int(cfg, "a", "zero", 9, 0, 1, &v, &e), PAY_ERR_OK);
    assert_int_equal(v, 0);
    assert_int_equal(pay_config_get_int(cfg, "a", "unset", 42, 0, 1, &v, &e), PAY_ERR_OK);
    assert_int_equal(v, 42);
    const char *bad[] = {"b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 1234;
        if (pay_config_get_int(cfg, "a", bad[i], 0, INT64_MIN, INT64_MAX, &v, &e) !=
            PAY_ERR_CONFIG_INVALID)
            fail_msg("accepted [a] %s", bad[i]);
        assert_int_equal(v, 1234);
        assert_non_null(strstr(e.detail, "is not an integer"));
    }
    /* The error names file, line, section and key, and the field is section.key. */
    assert_int_equal(pay_config_get_int(cfg, "a", "b1", 0, 0, 10, &v, &e), PAY_ERR_CONFIG_INVALID);
    assert_string_equal(e.detail, "test.ini:7: [a] b1: '80x' is not an integer");
    assert_string_equal(e.field, "a.b1");
    assert_int_equal(pay_config_get_int(cfg, "a", "port", 0, 1, 1024, &v, &e),
                     PAY_ERR_CONFIG_INVALID);
    assert_string_equal(e.detail, "test.ini:2: [a] port: 8080 is outside 1..1024");
    pay_config_free(cfg);
}

static void bools_and_durations(void **state)
{
    (void)state;
    struct pay_config *cfg = parse_ok("[b]\nt1 = true\nt2 = YES\nt3 = 1\nf1 = false\nf2 = No\n"
                                      "f3 = 0\nx1 = on\nx2 = 2\nx3 =\nd1 = 4m\nd2 = 4 m\n");
    bool v = false;
    struct pay_error e = {0};
    const char *truthy[] = {"t1", "t2", "t3"}, *falsy[] = {"f1", "f2", "f3"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pay_config_get_bool(cfg, "b", truthy[i], false, &v, &e), PAY_ERR_OK);
        assert_true(v);
        assert_int_equal(pay_config_get_bool(cfg, "b", falsy[i], true, &v, &e), PAY_ERR_OK);
        assert_false(v);
    }
    assert_int_equal(pay_config_get_bool(cfg, "b", "unset", true, &v, &e), PAY_ERR_OK);
    assert_true(v);
    const char *bad[] = {"x1", "x2", "x3"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pay_config_get_bool(cfg, "b", bad[i], true, &v, &e),
                         PAY_ERR_CONFIG_INVALID);
        assert_non_null(strstr(e.detail, "true/false"));
    }
    int64_t ms = 0;
    assert_int_equal(pay_config_get_duration_ms(cfg, "b", "d1", 0, &ms, &e), PAY_ERR_OK);
    assert_int_equal(ms, 240000);
    assert_int_equal(pay_config_get_duration_ms(cfg, "b", "nope", 5, &ms, &e), PAY_ERR_OK);
    assert_int_equal(ms, 5);
    assert_int_equal(pay_config_get_duration_ms(cfg, "b", "d2", 0, &ms, &e),
                     PAY_ERR_CONFIG_INVALID);
    assert_non_null(strstr(e.detail, "test.ini:12: [b] d2:"));
    pay_config_free(cfg);
}

static void syntax_errors(void **state)
{
    (void)state;
    parse_bad("[a]\nok = 1\nthis line has no equals sign\n", "test.ini:3: expected");
    parse_bad("[a\nx = 1\n", "test.ini:1: expected");
    parse_bad("x = 1\n[a]\n", "test.ini:1: 'x' comes before any [section]");
    parse_bad("[a]\nx = 1\ny = 2\nx = 3\n", "test.ini:4: [a] x is set twice (first on line 2)");
    parse_bad("[a]\nx = 1\n  y = 2\n", "test.ini:3: indented line would continue [a] x");
    char line[400];
    snprintf(line, sizeof line, "[a]\nk = %0300d\nz = 1\n", 7);
    parse_bad(line, "test.ini:2: line is longer than");
    char name[200];
    snprintf(name, sizeof name, "[a]\n%0100d = 1\n", 5);
    parse_bad(name, "too long");
}

static void limits(void **state)
{
    (void)state;
    /* One entry more than the limit, each on its own line. */
    size_t cap = 32 + (PAY_CONFIG_ENTRIES_MAX + 1) * 16;
    char *text = malloc(cap);
    size_t len = (size_t)snprintf(text, cap, "[a]\n"), at_limit = 0;
    for (int i = 0; i <= PAY_CONFIG_ENTRIES_MAX; i++) {
        at_limit = len;
        len += (size_t)snprintf(text + len, cap - len, "k%d = %d\n", i, i);
    }
    parse_bad(text, "more than 256 entries");
    text[at_limit] = '\0'; /* drop the last line: exactly at the limit */
    struct pay_config *cfg = parse_ok(text);
    assert_string_equal(pay_config_get(cfg, "a", "k255", NULL), "255");
    pay_config_free(cfg);
    free(text);
    /* A file above the size limit is refused before parsing. */
    char *big = malloc(PAY_CONFIG_FILE_MAX + 2);
    memset(big, ';', PAY_CONFIG_FILE_MAX + 1);
    big[PAY_CONFIG_FILE_MAX + 1] = '\0';
    parse_bad(big, "larger than");
    char path[TEMP_PATH_MAX];
    write_temp(path, big, PAY_CONFIG_FILE_MAX + 1);
    struct pay_error e = {0};
    assert_int_equal(pay_config_load(path, &cfg, &e), PAY_ERR_CONFIG_INVALID);
    assert_non_null(strstr(e.detail, "larger than"));
    unlink(path);
    free(big);
}

static void files(void **state)
{
    (void)state;
    struct pay_config *cfg = (struct pay_config *)1;
    struct pay_error e = {0};
    assert_int_equal(pay_config_load("/nonexistent/paygate.ini", &cfg, &e), PAY_ERR_CONFIG_INVALID);
    assert_null(cfg);
    assert_string_equal(e.detail,
                        "cannot open /nonexistent/paygate.ini: No such file or directory");
    char path[TEMP_PATH_MAX];
    const char good[] = "[server]\nlisten = 127.0.0.1:9000\n";
    write_temp(path, good, sizeof good - 1);
    assert_int_equal(pay_config_load(path, &cfg, &e), PAY_ERR_OK);
    assert_string_equal(pay_config_get(cfg, "server", "listen", NULL), "127.0.0.1:9000");
    pay_config_free(cfg);
    unlink(path);
    const char nul[] = "[server]\nlisten = 1\nx\0y = 2\n";
    write_temp(path, nul, sizeof nul - 1);
    assert_int_equal(pay_config_load(path, &cfg, &e), PAY_ERR_CONFIG_INVALID);
    assert_non_null(strstr(e.detail, ":3: contains a NUL byte"));
    assert_non_null(strstr(e.detail, path));
    unlink(path);
}

static void unknown_keys_and_sections(void **state)
{
    (void)state;
    struct pay_config *cfg = parse_ok("[server]\nlisten = x\nlog_levle = debug\n[sevrer]\na = 1\n");
    static const char *const server_keys[] = {"listen", "log_level", NULL};
    static const char *const sections[] = {"server", "notify", NULL};
    struct pay_error e = {0};
    assert_int_equal(pay_config_check_keys(cfg, "server", server_keys, &e), PAY_ERR_CONFIG_INVALID);
    assert_string_equal(e.detail,
                        "test.ini:3: [server] log_levle: unknown key (known: listen, log_level)");
    assert_string_equal(e.field, "server.log_levle");
    assert_int_equal(pay_config_check_keys(cfg, "notify", server_keys, &e), PAY_ERR_OK);
    assert_int_equal(pay_config_check_sections(cfg, sections, &e), PAY_ERR_CONFIG_INVALID);
    assert_string_equal(e.detail, "test.ini:5: unknown section [sevrer]");
    static const char *const all[] = {"server", "sevrer", NULL};
    assert_int_equal(pay_config_check_sections(cfg, all, &e), PAY_ERR_OK);
    assert_int_equal(pay_config_error(cfg, "server", "listen", &e, "bad port %d", 7),
                     PAY_ERR_CONFIG_INVALID);
    assert_string_equal(e.detail, "test.ini:2: [server] listen: bad port 7");
    pay_config_free(cfg);
}

/* Every key line of the example follows a comment block (perhaps shared with the keys just
 * above it) that states the default, or that there is none. */
static void example_documents_every_key(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    bool comment_has_default = false, in_keys = false;
    int lineno = 0, keys = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        if (line[0] == ';' || line[0] == '#') {
            if (in_keys)
                comment_has_default = false; /* a new block starts */
            in_keys = false;
            comment_has_default |= strcasestr(line, "default") != NULL; /* or "no default" */
        } else if (strchr(line, '=') != NULL) {
            if (!comment_has_default)
                fail_msg("%s:%d: key without a comment stating its default", path, lineno);
            in_keys = true;
            keys++;
        } else {
            comment_has_default = in_keys = false;
        }
    }
    fclose(f);
    assert_true(keys >= 5);
}

/* Every shipped example (etc/<server>.example.ini) loads and documents every key line. Whether
 * each server accepts its example is tested with `--check-config` (tests/platform, tests/bank). */
static void example_file(void **state)
{
    (void)state;
    const char *root = getenv("PAYGATE_SOURCE_ROOT");
    if (root == NULL)
        skip();
    char dir[4096], path[4400];
    snprintf(dir, sizeof dir, "%s/etc", root);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int files = 0;
    for (struct dirent *de = readdir(d); de != NULL; de = readdir(d)) {
        size_t n = strlen(de->d_name), suffix = strlen(".example.ini");
        if (n <= suffix || strcmp(de->d_name + n - suffix, ".example.ini") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        example_documents_every_key(path);
        struct pay_config *cfg = NULL;
        struct pay_error e = {0};
        if (pay_config_load(path, &cfg, &e) != PAY_ERR_OK)
            fail_msg("%s", e.detail);
        assert_true(pay_config_has_section(cfg, "server"));
        bool b = true;
        assert_int_equal(pay_config_get_bool(cfg, "server", "insecure_http", true, &b, &e),
                         PAY_ERR_OK);
        assert_false(b);
        pay_config_free(cfg);
        files++;
    }
    closedir(d);
    assert_true(files >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_and_comments),
        cmocka_unit_test(ints),
        cmocka_unit_test(bools_and_durations),
        cmocka_unit_test(syntax_errors),
        cmocka_unit_test(limits),
        cmocka_unit_test(files),
        cmocka_unit_test(unknown_keys_and_sections),
        cmocka_unit_test(example_file),
    };
    return th_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
