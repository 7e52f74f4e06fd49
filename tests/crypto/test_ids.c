/* Ids: format, validation of outside input, uniqueness and time order (also across threads),
 * and the clocks and duration syntax of timeutil that ids and config files use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "crypto/ids.h"
#include "core/timeutil.h"

#define MANY 100000

static void id_format(void **state)
{
    (void)state;
    char id[PAY_ID_MAX];
    int64_t before = pay_clock_real_ms();
    assert_int_equal(pay_id_new("tr", id), PAY_ERR_OK);
    int64_t after = pay_clock_real_ms();
    assert_int_equal(strlen(id), 2 + 1 + PAY_ID_BODY_LEN);
    assert_memory_equal(id, "tr_", 3);
    assert_true(strspn(id + 3, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") == PAY_ID_BODY_LEN);
    assert_true(pay_id_valid(id, "tr"));
    assert_true(pay_id_valid(id, NULL));
    assert_false(pay_id_valid(id, "rf"));
    assert_false(pay_id_valid(id, "t"));
    int64_t t = pay_id_time_ms(id);
    assert_true(t >= before && t <= after + 1);
    assert_int_equal(pay_id_new("acct", id), PAY_ERR_OK);
    assert_int_equal(strlen(id), PAY_ID_MAX - 1);
    assert_true(pay_id_valid(id, "acct"));
}

static void id_validation_rejects(void **state)
{
    (void)state;
    const char *good = "tr_01JDQ4V7X3K9M2N8P5R6S7T8VW";
    assert_true(pay_id_valid(good, "tr"));
    assert_int_equal(pay_id_time_ms("tr_0000000001AAAAAAAAAAAAAAAA"), 1);
    assert_int_equal(pay_id_time_ms("tr_7ZZZZZZZZZAAAAAAAAAAAAAAAA"), (INT64_C(1) << 48) - 1);
    const char *bad[] = {
        NULL,
        "",
        "tr_",
        "tr01JDQ4V7X3K9M2N8P5R6S7T8VW",
        "_01JDQ4V7X3K9M2N8P5R6S7T8VW",
        "Tr_01JDQ4V7X3K9M2N8P5R6S7T8VW",        /* prefix must be lower case */
        "abcde_01JDQ4V7X3K9M2N8P5R6S7T8VW",     /* prefix too long */
        "t1_01JDQ4V7X3K9M2N8P5R6S7T8VW",        /* prefix letters only */
        "tr_01JDQ4V7X3K9M2N8P5R6S7T8V",         /* 25 chars */
        "tr_01JDQ4V7X3K9M2N8P5R6S7T8VWX",       /* 27 chars */
        "tr_01jdq4v7x3k9m2n8p5r6s7t8vw",        /* lower case body */
        "tr_01JDQ4V7X3K9M2N8P5R6S7T8VI",        /* I is not Crockford */
        "tr_01JDQ4V7X3K9M2N8P5R6S7T8VU",        /* nor U */
        "tr_81JDQ4V7X3K9M2N8P5R6S7T8VW",        /* above 128 bits */
        "tr_01JDQ4V7X3K9M2N8P5R6S7T8V\n",       /* control character */
        "tr_01JDQ4V7X3K9M2N8P5R6S7T8VW ",       /* trailing space */
        "tr_01JDQ4V7X3K9M2N8P5R6S7T8V\xc3\x9c", /* non-ASCII */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (pay_id_valid(bad[i], NULL) || pay_id_valid(bad[i], "tr"))
            fail_msg("accepted bad id #%zu '%s'", i, bad[i] ? bad[i] : "(null)");
        assert_int_equal(pay_id_time_ms(bad[i]), -1);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* 100k ids from one thread come out strictly increasing (so unique and sorted). */
static void ids_unique_and_sorted(void **state)
{
    (void)state;
    char(*ids)[PAY_ID_MAX] = calloc(MANY, PAY_ID_MAX);
    assert_non_null(ids);
    for (int i = 0; i < MANY; i++) {
        assert_int_equal(pay_id_new("tr", ids[i]), PAY_ERR_OK);
        if (i > 0 && strcmp(ids[i - 1], ids[i]) >= 0)
            fail_msg("not increasing at %d: %s then %s", i, ids[i - 1], ids[i]);
    }
    /* Ids inside one millisecond differ in their random part, not only the last digit. */
    assert_int_equal(pay_id_time_ms(ids[0]) <= pay_id_time_ms(ids[MANY - 1]), 1);
    free(ids);
}

struct worker {
    char (*ids)[PAY_ID_MAX];
    int n;
};

static void *make_ids(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < w->n; i++)
        if (pay_id_new("rf", w->ids[i]) != PAY_ERR_OK)
            return (void *)1;
    return NULL;
}

/* Four threads at once: each thread's ids increase, and no id appears twice overall. */
static void ids_unique_across_threads(void **state)
{
    (void)state;
    enum { THREADS = 4, EACH = MANY / THREADS };
    char(*ids)[PAY_ID_MAX] = calloc(MANY, PAY_ID_MAX);
    assert_non_null(ids);
    pthread_t th[THREADS];
    struct worker w[THREADS];
    for (int t = 0; t < THREADS; t++) {
        w[t] = (struct worker){ids + t * EACH, EACH};
        assert_int_equal(pthread_create(&th[t], NULL, make_ids, &w[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        void *ret = NULL;
        pthread_join(th[t], &ret);
        assert_null(ret);
        for (int i = 1; i < EACH; i++)
            assert_true(strcmp(w[t].ids[i - 1], w[t].ids[i]) < 0);
    }
    qsort(ids, MANY, PAY_ID_MAX, cmp_str);
    for (int i = 1; i < MANY; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            fail_msg("duplicate id %s", ids[i]);
    free(ids);
}

static void clocks(void **state)
{
    (void)state;
    int64_t now = pay_clock_real_ms();
    assert_true(now > INT64_C(1700000000000)); /* after November 2023 */
    int64_t m1 = pay_clock_mono_ms();
    int64_t m2 = pay_clock_mono_ms();
    assert_true(m2 >= m1);
    char text[PAY_TIME_TEXT_MAX];
    assert_int_equal(pay_time_format_rfc3339(0, text), 20);
    assert_string_equal(text, "1970-01-01T00:00:00Z");
    assert_int_equal(pay_time_format_rfc3339(INT64_C(1767225599999), text), 20);
    assert_string_equal(text, "2025-12-31T23:59:59Z");
    assert_int_equal(pay_time_format_rfc3339(-1, text), 20);
    assert_string_equal(text, "1969-12-31T23:59:59Z");
    assert_int_equal(pay_time_format_rfc3339(INT64_MAX, text), -1);
    assert_int_equal(pay_time_format_rfc3339(INT64_MIN, text), -1);
}

static int64_t duration(const char *text)
{
    int64_t ms = -1;
    struct pay_error e = {0};
    if (pay_time_parse_duration_ms(text, &ms, &e) != PAY_ERR_OK)
        fail_msg("'%s': %s", text, e.detail);
    return ms;
}

static void durations(void **state)
{
    (void)state;
    assert_int_equal(duration("250ms"), 250);
    assert_int_equal(duration("30s"), 30000);
    assert_int_equal(duration("4m"), 240000);
    assert_int_equal(duration("1h"), 3600000);
    assert_int_equal(duration("2d"), 172800000);
    assert_int_equal(duration("0s"), 0);
    assert_int_equal(duration("3653d"), INT64_C(3653) * 86400000);
    const char *bad[] = {"",     "5",   "m",    "5 m",   " 5m",
                         "5m ",  "-5m", "+5m",  "05m",   "5mm",
                         "5M",   "5x",  "1.5h", "3654d", "99999999999999999999999s",
                         "5ms5", "5min"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 77;
        struct pay_error e = {0};
        if (pay_time_parse_duration_ms(bad[i], &ms, &e) != PAY_ERR_FIELD_INVALID)
            fail_msg("accepted bad duration '%s'", bad[i]);
        assert_int_equal(ms, 77);
        assert_true(strlen(e.detail) > 0);
    }
}

static void duration_lists(void **state)
{
    (void)state;
    int64_t out[8];
    size_t n = 0;
    assert_int_equal(pay_time_parse_durations("4m,10m,10m,1h,2h,6h,15h", out, 8, &n, NULL),
                     PAY_ERR_OK);
    assert_int_equal(n, 7);
    assert_int_equal(out[0], 240000);
    assert_int_equal(out[3], 3600000);
    assert_int_equal(out[6], 15 * 3600000);
    assert_int_equal(pay_time_parse_durations("1s", out, 1, &n, NULL), PAY_ERR_OK);
    assert_int_equal(n, 1);
    const char *bad[] = {"", ",", "1s,", ",1s", "1s,,2s", "1s, 2s", "1s;2s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (pay_time_parse_durations(bad[i], out, 8, &n, NULL) == PAY_ERR_OK)
            fail_msg("accepted bad list '%s'", bad[i]);
    struct pay_error e = {0};
    assert_int_equal(pay_time_parse_durations("1s,2s,3s", out, 2, &n, &e), PAY_ERR_FIELD_INVALID);
    assert_non_null(strstr(e.detail, "more than 2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(id_format),
        cmocka_unit_test(id_validation_rejects),
        cmocka_unit_test(ids_unique_and_sorted),
        cmocka_unit_test(ids_unique_across_threads),
        cmocka_unit_test(clocks),
        cmocka_unit_test(durations),
        cmocka_unit_test(duration_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
