/* The error registry: names, statuses, the detail record, the generated Markdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"

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
    const char *root = getenv("PAYGATE_SOURCE_ROOT");
    if (root == NULL)
        skip();
    char path[4096];
    snprintf(path, sizeof path, "%s/docs/errors.md", root);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry_lookups),
        cmocka_unit_test(every_code_is_unique_and_sane),
        cmocka_unit_test(error_set_fills_detail),
        cmocka_unit_test(docs_errors_md_is_current),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
