/* Logging: format, request id, and that card numbers and secrets never come out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static char *capture(void (*fn)(void))
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    pay_log_init(mem, PAY_LOG_DEBUG);
    fn();
    fclose(mem);
    pay_log_init(stderr, PAY_LOG_INFO);
    return text;
}

static void emit_plain(void)
{
    pay_log_set_request_id("rq_123");
    PAY_INFO("trade.created", "trade=%s amount=%d currency=CNY", "tr_abc", 1230);
    pay_log_set_request_id(NULL);
}

static void line_format(void **state)
{
    (void)state;
    char *out = capture(emit_plain);
    assert_non_null(strstr(out, " info trade.created rid=rq_123 trade=tr_abc amount=1230 "
                                "currency=CNY\n"));
    free(out);
}

static void emit_pans(void)
{
    PAY_WARN("oops",
             "raw=4242424242424242 spaced=\"4000 0000 0000 0002\" dashed=5555-5555-5555-4444");
    PAY_INFO("ok", "amount=123456789012 order=20261125000001");
}

static void card_numbers_are_masked(void **state)
{
    (void)state;
    char *out = capture(emit_pans);
    assert_null(strstr(out, "4242424242424242"));
    assert_non_null(strstr(out, "424242######4242"));
    assert_null(strstr(out, "4000 0000 0000 0002"));
    assert_null(strstr(out, "5555-5555-5555-4444"));
    /* 12-digit amounts and non-Luhn order numbers stay readable */
    assert_non_null(strstr(out, "amount=123456789012"));
    free(out);
}

static void emit_secrets(void)
{
    PAY_INFO("login", "user=alice password=hunter2 card_password=123456 cvv2=123 "
                      "api_secret=\"s e c r e t\" key_id=k1 sms_code=654321 smsCode=765432"
                      " totp=876543");
}

static void secrets_are_masked(void **state)
{
    (void)state;
    char *out = capture(emit_secrets);
    assert_null(strstr(out, "hunter2"));
    assert_null(strstr(out, "123456"));
    assert_null(strstr(out, "cvv2=123"));
    assert_null(strstr(out, "s e c r e t"));
    assert_null(strstr(out, "654321"));
    assert_null(strstr(out, "765432"));
    assert_null(strstr(out, "876543"));
    assert_non_null(strstr(out, "user=alice"));
    assert_non_null(strstr(out, "key_id=k1"));
    free(out);
}

static void level_filter_and_parse(void **state)
{
    (void)state;
    enum pay_log_level l;
    assert_int_equal(pay_log_level_parse("warn", &l), 0);
    assert_int_equal(l, PAY_LOG_WARN);
    assert_int_equal(pay_log_level_parse("loud", &l), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(line_format),
        cmocka_unit_test(card_numbers_are_masked),
        cmocka_unit_test(secrets_are_masked),
        cmocka_unit_test(level_filter_and_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
