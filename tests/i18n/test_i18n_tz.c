/* Time zones: times stored in UTC shown in the configured zone, from the system's tzdata and
 * the POSIX rule of its footer, without the process-global TZ; the calendar arithmetic under
 * it; names refused; the built-in zones without tzdata. */
#include "lib/tmp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "i18n/tz.h"

static struct pay_tz *zone(const char *name)
{
    struct pay_tz *tz = NULL;
    struct pay_error e = {0};
    if (pay_tz_load(name, &tz, &e) != PAY_ERR_OK)
        fail_msg("%s: %s", name, e.detail);
    return tz;
}

/* Unix ms of a UTC date and time. */
static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
    return (pay_tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000;
}

static const char *fmt(const struct pay_tz *tz, int64_t ms)
{
    static char out[PAY_TZ_TEXT_MAX];
    pay_tz_format(tz, ms, out);
    return out;
}

static void shanghai_is_eight_hours_ahead(void **state)
{
    (void)state;
    struct pay_tz *sh = zone(NULL); /* the default: Asia/Shanghai */
    assert_string_equal(pay_tz_name(sh), "Asia/Shanghai");
    /* 23:30 UTC is already the next day in Shanghai */
    assert_string_equal(fmt(sh, utc(2026, 1, 31, 23, 30, 0)), "2026-02-01 07:30:00");
    assert_string_equal(fmt(sh, utc(2026, 12, 31, 16, 0, 0)), "2027-01-01 00:00:00");
    assert_string_equal(fmt(sh, utc(2026, 12, 31, 15, 59, 59)), "2026-12-31 23:59:59");
    assert_string_equal(fmt(sh, utc(2028, 2, 28, 16, 0, 0)), "2028-02-29 00:00:00"); /* leap */
    assert_int_equal(pay_tz_offset_s(sh, utc(2026, 6, 1, 0, 0, 0) / 1000), 8 * 3600);
    /* "today" in Shanghai began at 16:00 UTC the day before */
    assert_true(pay_tz_day_start_ms(sh, utc(2026, 1, 31, 23, 30, 0)) == utc(2026, 1, 31, 16, 0, 0));
    assert_true(pay_tz_day_start_ms(sh, utc(2026, 1, 31, 15, 59, 0)) == utc(2026, 1, 30, 16, 0, 0));
    /* China observed daylight saving time 1986-1991: the TZif transitions know it */
    assert_int_equal(pay_tz_offset_s(sh, utc(1988, 7, 1, 0, 0, 0) / 1000), 9 * 3600);
    struct pay_tz_civil c;
    pay_tz_civil(sh, utc(2026, 1, 31, 23, 30, 5), &c);
    assert_true(c.year == 2026 && c.month == 2 && c.day == 1 && c.hour == 7 && c.minute == 30 &&
                c.second == 5 && c.weekday == 0 && c.offset_s == 28800); /* a Sunday */
    pay_tz_free(sh);
}

static void daylight_saving_both_hemispheres(void **state)
{
    (void)state;
    struct pay_tz *be = zone("Europe/Berlin");
    /* 2026-03-29 01:00 UTC: CET (+1) to CEST (+2) */
    assert_string_equal(fmt(be, utc(2026, 3, 29, 0, 59, 59)), "2026-03-29 01:59:59");
    assert_string_equal(fmt(be, utc(2026, 3, 29, 1, 0, 0)), "2026-03-29 03:00:00");
    assert_string_equal(fmt(be, utc(2026, 10, 25, 0, 59, 59)), "2026-10-25 02:59:59");
    assert_string_equal(fmt(be, utc(2026, 10, 25, 1, 0, 0)), "2026-10-25 02:00:00");
    /* far beyond the file's transitions: the footer rule CET-1CEST,M3.5.0,M10.5.0/3 */
    assert_string_equal(fmt(be, utc(2100, 3, 28, 0, 59, 59)), "2100-03-28 01:59:59");
    assert_string_equal(fmt(be, utc(2100, 3, 28, 1, 0, 0)), "2100-03-28 03:00:00");
    assert_int_equal(pay_tz_offset_s(be, utc(2100, 12, 1, 0, 0, 0) / 1000), 3600);
    /* a 23-hour day: its start is still local midnight */
    assert_true(pay_tz_day_start_ms(be, utc(2026, 3, 29, 12, 0, 0)) == utc(2026, 3, 28, 23, 0, 0));
    pay_tz_free(be);
    struct pay_tz *sy = zone("Australia/Sydney"); /* summer in January */
    assert_int_equal(pay_tz_offset_s(sy, utc(2030, 1, 15, 0, 0, 0) / 1000), 11 * 3600);
    assert_int_equal(pay_tz_offset_s(sy, utc(2030, 7, 15, 0, 0, 0) / 1000), 10 * 3600);
    assert_int_equal(pay_tz_offset_s(sy, utc(2120, 1, 15, 0, 0, 0) / 1000), 11 * 3600);
    assert_int_equal(pay_tz_offset_s(sy, utc(2120, 7, 15, 0, 0, 0) / 1000), 10 * 3600);
    pay_tz_free(sy);
}

/* The process-global TZ is neither used nor needed: a different one changes nothing. */
static void ignores_the_process_tz(void **state)
{
    (void)state;
    setenv("TZ", "America/New_York", 1);
    tzset();
    struct pay_tz *sh = zone("Asia/Shanghai"), *u = zone("UTC");
    assert_string_equal(fmt(sh, utc(2026, 1, 31, 23, 30, 0)), "2026-02-01 07:30:00");
    assert_string_equal(fmt(u, utc(2026, 1, 31, 23, 30, 0)), "2026-01-31 23:30:00");
    assert_string_equal(getenv("TZ"), "America/New_York");
    unsetenv("TZ");
    pay_tz_free(sh);
    pay_tz_free(u);
}

static void refuses_bad_names(void **state)
{
    (void)state;
    const char *bad[] = {"../../etc/passwd", "/etc/localtime", "Asia/Nowhere",
                         "Asia//Shanghai",   "Asia/Shang hai", "Asia/../UTC"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct pay_tz *tz = NULL;
        struct pay_error e = {0};
        assert_int_equal(pay_tz_load(bad[i], &tz, &e), PAY_ERR_CONFIG_INVALID);
        assert_null(tz);
        assert_string_equal(e.field, "time_zone");
    }
    struct stat st;
    if (stat("/usr/share/zoneinfo/right/UTC", &st) == 0) { /* leap seconds would shift times */
        struct pay_tz *tz = NULL;
        struct pay_error e = {0};
        assert_int_equal(pay_tz_load("right/UTC", &tz, &e), PAY_ERR_CONFIG_INVALID);
        assert_non_null(strstr(e.detail, "leap seconds"));
    }
}

/* Without tzdata (a minimal container): UTC and Asia/Shanghai still work, others say why. */
static void builtin_zones_without_tzdata(void **state)
{
    (void)state;
    char empty[256];
    assert_int_equal(th_tmpdir(empty, sizeof empty, "paygate-tz"), 0);
    setenv("TZDIR", empty, 1);
    struct pay_tz *sh = zone("Asia/Shanghai"), *u = zone("UTC"), *be = NULL;
    assert_string_equal(fmt(sh, utc(2026, 1, 31, 23, 30, 0)), "2026-02-01 07:30:00");
    assert_string_equal(fmt(u, utc(2026, 1, 31, 23, 30, 0)), "2026-01-31 23:30:00");
    struct pay_error e = {0};
    assert_int_equal(pay_tz_load("Europe/Berlin", &be, &e), PAY_ERR_CONFIG_INVALID);
    assert_non_null(strstr(e.detail, "install tzdata"));
    unsetenv("TZDIR");
    th_tmpdir_done(empty);
    pay_tz_free(sh);
    pay_tz_free(u);
}

static void calendar_round_trips(void **state)
{
    (void)state;
    assert_true(pay_tz_days_from_civil(1970, 1, 1) == 0);
    assert_true(pay_tz_days_from_civil(2000, 3, 1) == 11017);
    assert_true(pay_tz_days_from_civil(1969, 12, 31) == -1);
    for (int64_t d = -800000; d < 800000; d += 97) {
        int64_t y;
        int m, day;
        pay_tz_civil_from_days(d, &y, &m, &day);
        assert_true(pay_tz_days_from_civil(y, m, day) == d);
        assert_true(m >= 1 && m <= 12 && day >= 1 && day <= 31);
    }
    /* compared with the C library's UTC calendar on a spread of instants */
    for (int64_t t = -2000000000LL; t < 4000000000LL; t += 86399 * 37) {
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        char want[PAY_TZ_TEXT_MAX];
        strftime(want, sizeof want, "%Y-%m-%d %H:%M:%S", &tm);
        assert_string_equal(fmt(NULL, t * 1000), want); /* NULL zone: UTC */
    }
    char out[PAY_TZ_TEXT_MAX];
    assert_int_equal(pay_tz_format(NULL, utc(10000, 1, 1, 0, 0, 0), out), -1);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shanghai_is_eight_hours_ahead),
        cmocka_unit_test(daylight_saving_both_hemispheres),
        cmocka_unit_test(ignores_the_process_tz),
        cmocka_unit_test(refuses_bad_names),
        cmocka_unit_test(builtin_zones_without_tzdata),
        cmocka_unit_test(calendar_round_trips),
    };
    return th_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
