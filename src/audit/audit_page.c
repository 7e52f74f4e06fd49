/* The consoles' audit pages (platform operator console, bank admin): the filter from the
 * query string and the template's data. */
#include "audit/audit_page.h"
#include "core/buf.h"

#include "http/server.h"
#include "i18n/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL

/* A local date "YYYY-MM-DD" of the page's zone as the Unix ms of its midnight; -1 if bad. */
static int64_t date_ms(const struct pay_tz *tz, const char *s)
{
    int y, m, d, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || s[n] != '\0' || m < 1 || m > 12 ||
        d < 1 || d > 31 || y < 1970)
        return -1;
    return pay_tz_day_start_ms(tz, pay_tz_days_from_civil(y, m, d) * DAY_MS + DAY_MS / 2);
}

static enum pay_err text_param(struct pay_http_request *req, const char *name, char *dst,
                               size_t size, struct pay_error *err)
{
    const char *v = pay_http_req_query(req, name);
    if (!v)
        return PAY_ERR_OK;
    if (!pay_str_copy(dst, size, v))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, name, "longer than %zu bytes", size - 1);
    return PAY_ERR_OK;
}

enum pay_err pay_audit_filter_from_query(struct pay_http_request *req, struct pay_audit_filter *f,
                                         struct pay_error *err)
{
    memset(f, 0, sizeof *f);
    enum pay_err e;
    if ((e = text_param(req, "actor", f->actor, sizeof f->actor, err)) != PAY_ERR_OK ||
        (e = text_param(req, "action", f->action, sizeof f->action, err)) != PAY_ERR_OK ||
        (e = text_param(req, "target", f->target, sizeof f->target, err)) != PAY_ERR_OK ||
        (e = text_param(req, "outcome", f->outcome, sizeof f->outcome, err)) != PAY_ERR_OK)
        return e;
    const struct pay_tz *tz = pay_http_req_tz(req);
    const char *from = pay_http_req_query(req, "from"), *to = pay_http_req_query(req, "to");
    const char *before = pay_http_req_query(req, "before");
    if (from && from[0] && (f->from_ms = date_ms(tz, from)) < 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "from", "not a date YYYY-MM-DD");
    if (to && to[0] && (f->to_ms = date_ms(tz, to)) < 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "to", "not a date YYYY-MM-DD");
    if (to && to[0]) /* "to" is inclusive: up to the end of that day */
        f->to_ms = pay_tz_day_start_ms(tz, f->to_ms + DAY_MS + DAY_MS / 2);
    if (before && before[0]) {
        char *end = NULL;
        f->before_seq = strtoll(before, &end, 10);
        if (*end != '\0' || f->before_seq < 1)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, "before", "not an entry number");
    }
    f->limit = PAY_AUDIT_PAGE_MAX;
    return PAY_ERR_OK;
}

/* Adds each entry's time as the page shows it, and the filter's values for the form. */
json_t *pay_audit_page_json(struct pay_http_request *req, const struct pay_audit_filter *f,
                            json_t *entries, int64_t total)
{
    size_t i;
    json_t *row;
    int64_t oldest = 0;
    json_array_foreach(entries, i, row)
    {
        int64_t at = json_integer_value(json_object_get(row, "at_ms"));
        oldest = json_integer_value(json_object_get(row, "seq"));
        json_object_set_new(row, "at", json_string(pay_http_req_time(req, at)));
        json_object_set_new(row, "refused",
                            json_boolean(strcmp(json_string_value(json_object_get(row, "outcome")),
                                                PAY_AUDIT_OK) != 0));
    }
    const char *q[] = {"actor", "action", "target", "outcome", "from", "to"};
    json_t *filter = json_object();
    for (i = 0; i < sizeof q / sizeof q[0]; i++) {
        const char *v = pay_http_req_query(req, q[i]);
        json_object_set_new(filter, q[i], json_string(v ? v : ""));
    }
    json_t *o = json_pack("{s:o, s:o, s:I, s:I}", "entries", entries, "filter", filter, "total",
                          (json_int_t)total, "shown", (json_int_t)json_array_size(entries));
    if (oldest > 1 && json_array_size(entries) == (size_t)f->limit)
        json_object_set_new(o, "older", json_integer(oldest));
    return o;
}
