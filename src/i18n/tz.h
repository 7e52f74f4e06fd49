/* Time zones for showing times to people (docs/i18n.md). Times are stored and sent in UTC
 * everywhere; only pages and messages show them in the server's configured zone (default
 * Asia/Shanghai). A zone is a value read once from the system's tzdata (TZif files under
 * $TZDIR or /usr/share/zoneinfo, including the POSIX rule of their footer for years after the
 * last transition), so converting is thread-safe and never touches the process-global TZ
 * (no setenv, no tzset, no localtime). Without tzdata, UTC and Asia/Shanghai still work. */
#ifndef PAY_I18N_TZ_H
#define PAY_I18N_TZ_H

#include "core/errors.h"
#include "core/limits.h"

#include <stdint.h>

#define PAY_TZ_DEFAULT "Asia/Shanghai"

struct pay_tz; /* immutable after loading: shared by threads */

/* Loads the zone with this IANA name ("Asia/Shanghai", "Europe/Berlin", "UTC"). NULL or "":
 * PAY_TZ_DEFAULT. An unknown or malformed name is CONFIG_INVALID (field "time_zone"). The
 * caller frees *out with pay_tz_free(). */
enum pay_err pay_tz_load(const char *name, struct pay_tz **out, struct pay_error *err)
    __attribute__((warn_unused_result));
void pay_tz_free(struct pay_tz *tz); /* NULL is fine */

const char *pay_tz_name(const struct pay_tz *tz);

/* The zone's offset from UTC in seconds (east positive: +28800 for Shanghai) at the instant
 * utc_s (Unix seconds). tz NULL: 0 (UTC). */
int32_t pay_tz_offset_s(const struct pay_tz *tz, int64_t utc_s);

/* The local date and time of a UTC instant. */
struct pay_tz_civil {
    int64_t year;
    int month, day, hour, minute, second; /* 1-12, 1-31, 0-23, 0-59, 0-59 */
    int weekday;                          /* 0 Sunday .. 6 Saturday */
    int32_t offset_s;
};
void pay_tz_civil(const struct pay_tz *tz, int64_t utc_ms, struct pay_tz_civil *out);

/* utc_ms as local "YYYY-MM-DD HH:MM:SS" (what pages show). Returns the length, or -1 for a
 * year outside 0000-9999 (out is then ""). */
int pay_tz_format(const struct pay_tz *tz, int64_t utc_ms, char out[PAY_TZ_TEXT_MAX]);

/* The UTC instant (ms) at which the local day holding utc_ms began: "today" of a dashboard. */
int64_t pay_tz_day_start_ms(const struct pay_tz *tz, int64_t utc_ms);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (no overflow for |year| <
 * 10^9). For tests and callers that count days. */
int64_t pay_tz_days_from_civil(int64_t year, int month, int day);
void pay_tz_civil_from_days(int64_t days, int64_t *year, int *month, int *day);

#endif
