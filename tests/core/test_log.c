/* Logging: format, request id, and that card numbers and secrets never come out. */
#include "lib/tmp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

/* A new file in the test's dir under PAYGATE_TMP (made on first use), already unlinked. */
static FILE *temp_file(void)
{
    static char dir[256];
    if (!dir[0]) {
        assert_int_equal(th_tmpdir(dir, sizeof dir, "paygate-log"), 0);
        th_tmpdir_done(dir);
    }
    char path[320];
    snprintf(path, sizeof path, "%s/log-XXXXXX", dir);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    FILE *f = fdopen(fd, "w+");
    assert_non_null(f);
    return f;
}

/* What fn logs, through a file (the descriptor path every server takes); caller frees. */
static char *capture(void (*fn)(void))
{
    FILE *f = temp_file();
    pay_log_init(f, PAY_LOG_DEBUG);
    fn();
    pay_log_init(stderr, PAY_LOG_INFO);
    off_t len = lseek(fileno(f), 0, SEEK_END);
    assert_true(len >= 0);
    char *text = calloc(1, (size_t)len + 1);
    assert_int_equal(pread(fileno(f), text, (size_t)len, 0), len);
    fclose(f);
    return text;
}

/* The same through a stream without a descriptor (a memory stream). */
static char *capture_stream(void (*fn)(void))
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
    out = capture_stream(emit_plain);
    assert_non_null(strstr(out, " info trade.created rid=rq_123 trade=tr_abc amount=1230 "
                                "currency=CNY\n"));
    free(out);
}

#define WRITERS 4
#define LINES   2000

static void *write_lines(void *arg)
{
    for (int i = 0; i < LINES; i++)
        PAY_INFO("bulk", "writer=%d line=%d pad=%s", *(int *)arg, i,
                 "................................................................");
    return NULL;
}

static void emit_concurrently(void)
{
    pthread_t t[WRITERS];
    int ids[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        ids[i] = i;
        assert_int_equal(pthread_create(&t[i], NULL, write_lines, &ids[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(t[i], NULL);
}

/* Threads logging at once through one descriptor, with no lock of the logger's: every line
 * arrives whole, none lost. */
static void concurrent_lines_stay_whole(void **state)
{
    (void)state;
    char *out = capture(emit_concurrently);
    int seen[WRITERS] = {0}, lines = 0;
    for (char *line = out, *end; *line != '\0'; line = end + 1) {
        end = strchr(line, '\n');
        assert_non_null(end); /* every line ends with its newline */
        *end = '\0';
        int w, i;
        const char *at = strstr(line, " info bulk rid=- writer=");
        assert_non_null(at);
        assert_int_equal(sscanf(at, " info bulk rid=- writer=%d line=%d", &w, &i), 2);
        assert_true(w >= 0 && w < WRITERS && i == seen[w]); /* in order per writer */
        assert_non_null(strstr(line, "pad=................................................"
                                     "................"));
        seen[w]++;
        lines++;
    }
    assert_int_equal(lines, WRITERS * LINES);
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

static void emit_every_secret_name(void)
{
    PAY_INFO("names", "a_password=s1 passwd=s2 x_pin=s3 cvv=s4 cvn=s5 secret=s6 token=s7 key=s8"
                      " totp=s9 sms_code=s10 SmsCode=s11 verify_code=s12 pan=s13"
                      " card_number=s14 cardno=s15 Authorization=s16 cookie=s17 session=s18"
                      " session_id=keep1 api_key_id=keep2 method=keep3 amount=keep4");
}

/* Every name on the list is masked wherever it stands in a key, in any case; an identifier
 * (`_id`) and other keys are not. */
static void every_secret_name_is_masked(void **state)
{
    (void)state;
    char *out = capture(emit_every_secret_name);
    char v[8];
    for (int i = 1; i <= 18; i++) {
        snprintf(v, sizeof v, "=s%d ", i);
        if (strstr(out, v) != NULL)
            fail_msg("value s%d is not masked: %s", i, out);
    }
    for (int i = 1; i <= 4; i++) {
        snprintf(v, sizeof v, "keep%d", i);
        assert_non_null(strstr(out, v));
    }
    free(out);
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
        cmocka_unit_test(every_secret_name_is_masked),
        cmocka_unit_test(concurrent_lines_stay_whole),
        cmocka_unit_test(level_filter_and_parse),
    };
    return th_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
