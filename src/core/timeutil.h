/* Times as text: RFC 3339 timestamps and the strict duration syntax of config files ("30s",
 * "4m", "1h"). The clocks themselves are in core/clock.h. */
#ifndef PAY_CORE_TIMEUTIL_H
#define PAY_CORE_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/errors.h"
#include "core/limits.h"

/* Formats Unix ms as RFC 3339 UTC with seconds: "2026-01-31T23:59:59Z" (20 chars).
 * out must hold PAY_TIME_TEXT_MAX bytes. Returns the length, or -1 if ms is out of range. */
int pay_time_format_rfc3339(int64_t ms, char out[PAY_TIME_TEXT_MAX]);

/* Parses a duration "<digits><unit>" with unit ms, s, m, h or d ("250ms", "30s", "4m", "1h",
 * "2d"). No sign, no spaces, no leading zeros, no fractions, at most 10 years.
 * FIELD_INVALID with the reason otherwise; *ms_out is written only on success. */
enum pay_err pay_time_parse_duration_ms(const char *text, int64_t *ms_out, struct pay_error *err)
    __attribute__((warn_unused_result));

/* Parses a comma-separated list of durations ("4m,10m,10m,1h,2h,6h,15h"; no spaces, no empty
 * items) into out[0..max), count in *n_out. FIELD_INVALID if an item is bad or there are more
 * than max. */
enum pay_err pay_time_parse_durations(const char *text, int64_t *out, size_t max, size_t *n_out,
                                      struct pay_error *err) __attribute__((warn_unused_result));

#endif
