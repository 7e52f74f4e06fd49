/* Bounded buffers: growth, the cap, printf, steal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

static void append_and_cap(void **state)
{
    (void)state;
    struct pay_buf b;
    pay_buf_init(&b, 10);
    assert_string_equal(pay_buf_str(&b), "");
    assert_int_equal(pay_buf_puts(&b, "hello"), 0);
    assert_int_equal(pay_buf_puts(&b, "world"), 0);
    assert_int_equal(b.len, 10);
    assert_int_equal(pay_buf_puts(&b, "!"), -1); /* over the cap: refused, unchanged */
    assert_string_equal(pay_buf_str(&b), "helloworld");
    pay_buf_reset(&b);
    assert_int_equal(pay_buf_printf(&b, "%d-%s", 42, "x"), 0);
    assert_string_equal(pay_buf_str(&b), "42-x");
    assert_int_equal(pay_buf_printf(&b, "%s", "0123456789"), -1);
    assert_string_equal(pay_buf_str(&b), "42-x");
    char *s = pay_buf_steal(&b);
    assert_string_equal(s, "42-x");
    free(s);
    assert_null(b.data);
    pay_buf_fini(&b);
}

static void large_growth(void **state)
{
    (void)state;
    struct pay_buf b;
    pay_buf_init(&b, 1 << 20);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(pay_buf_append(&b, "0123456789", 10), 0);
    assert_int_equal(b.len, 1000000);
    assert_int_equal(pay_buf_append(&b, "x", 1 << 20), -1);
    pay_buf_fini(&b);
}

/* pay_str_copy: whole copies say so, cut ones say so and never split a UTF-8 character. */
static void str_copy(void **state)
{
    (void)state;
    char d[6];
    assert_true(pay_str_copy(d, sizeof d, "abcde"));
    assert_string_equal(d, "abcde");
    assert_false(pay_str_copy(d, sizeof d, "abcdef"));
    assert_string_equal(d, "abcde");
    assert_true(pay_str_copy(d, sizeof d, NULL));
    assert_string_equal(d, "");
    assert_false(pay_str_copy(d, sizeof d, "ab中文")); /* 2 + 3 + 3 bytes: 中 fits, 文 not */
    assert_string_equal(d, "ab中");
    assert_false(pay_str_copy(d, sizeof d, "abcd中")); /* 中 would be cut: left out whole */
    assert_string_equal(d, "abcd");
    char one[1];
    assert_false(pay_str_copy(one, sizeof one, "x"));
    assert_string_equal(one, "");
    assert_true(pay_str_copy(one, sizeof one, ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(append_and_cap),
        cmocka_unit_test(large_growth),
        cmocka_unit_test(str_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
