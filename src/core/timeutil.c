/* RFC 3339 formatting and the duration syntax of config files (the clocks: core/clock.h). */
#include "core/timeutil.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TEN_YEARS_MS (INT64_C(3653) * 24 * 3600 * 1000)

int pay_time_format_rfc3339(int64_t ms, char out[PAY_TIME_TEXT_MAX])
{
    out[0] = '\0';
    /* Years 0000-9999 only, so the text always has the fixed RFC 3339 shape. */
    if (ms < INT64_C(-62167219200000) || ms > INT64_C(253402300799999))
        return -1;
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL)
        return -1;
    size_t n = strftime(out, PAY_TIME_TEXT_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return n > 0 ? (int)n : -1;
}

static int64_t unit_ms(const char *unit)
{
    static const struct {
        const char *name;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(unit, units[i].name) == 0)
            return units[i].ms;
    return -1;
}

/* Parses exactly len bytes of text as one duration. */
static enum pay_err parse_one(const char *text, size_t len, int64_t *ms_out, struct pay_error *err)
{
    size_t i = 0;
    int64_t n = 0;
    while (i < len && text[i] >= '0' && text[i] <= '9') {
        if (n > TEN_YEARS_MS)
            break; /* reported as too long below; stops the digits from overflowing */
        n = n * 10 + (text[i] - '0');
        i++;
    }
    char unit[4] = "";
    if (i == 0 || len - i == 0 || len - i >= sizeof unit)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, NULL,
                             "'%.*s' is not a duration like 30s, 4m or 1h", (int)len, text);
    if (i > 1 && text[0] == '0')
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, NULL, "duration '%.*s' has a leading zero",
                             (int)len, text);
    memcpy(unit, text + i, len - i);
    int64_t per = unit_ms(unit);
    if (per < 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, NULL,
                             "'%.*s': unit must be ms, s, m, h or d", (int)len, text);
    if (n > TEN_YEARS_MS / per)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, NULL,
                             "duration '%.*s' is longer than 10 years", (int)len, text);
    *ms_out = n * per;
    return PAY_ERR_OK;
}

enum pay_err pay_time_parse_duration_ms(const char *text, int64_t *ms_out, struct pay_error *err)
{
    if (text == NULL)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, NULL, "duration is missing");
    return parse_one(text, strlen(text), ms_out, err);
}

enum pay_err pay_time_parse_durations(const char *text, int64_t *out, size_t max, size_t *n_out,
                                      struct pay_error *err)
{
    if (text == NULL || text[0] == '\0')
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, NULL, "duration list is empty");
    size_t n = 0;
    for (const char *p = text;; p++) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (n == max)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, NULL,
                                 "more than %zu durations in the list", max);
        enum pay_err rc = parse_one(p, len, &out[n], err);
        if (rc != PAY_ERR_OK)
            return rc;
        n++;
        if (end == NULL)
            break;
        p = end;
    }
    *n_out = n;
    return PAY_ERR_OK;
}
