/* /sandbox/clock on a server running on the test clock (core/clock.h, [server] fake_clock):
 * GET shows business time and what every worker has looked at since the clock last moved;
 * POST {"advance_ms": N} moves it and wakes the workers. Tests move time with it instead of
 * sleeping; a server on the real clock has no such route (404). docs/http.md. */
#include "http/internal.h"

#include "core/clock.h"
#include "core/limits.h"
#include "core/timeutil.h"

/* The workers a server process runs: the committer, the platform's sweeper and notifier, the
 * bank's notifier; room for more. */
#define CLOCK_WORKERS_SHOWN 16

static json_t *clock_json(void)
{
    char now[PAY_TIME_TEXT_MAX] = "";
    int64_t ms = pay_clock_now_ms();
    pay_time_format_rfc3339(ms, now);
    json_t *workers = json_array();
    struct pay_clock_worker_state w[CLOCK_WORKERS_SHOWN];
    size_t n = pay_clock_workers(w, CLOCK_WORKERS_SHOWN);
    for (size_t i = 0; i < n && i < CLOCK_WORKERS_SHOWN && workers; i++)
        json_array_append_new(workers, json_pack("{s:s, s:I}", "name", w[i].name, "seen_moves",
                                                 (json_int_t)w[i].done));
    return json_pack("{s:I, s:s, s:I, s:o*}", "now_ms", (json_int_t)ms, "now", now, "moves",
                     (json_int_t)pay_clock_moves(), "workers", workers);
}

static enum pay_err h_clock_get(struct pay_http_request *req, struct pay_error *err)
{
    (void)err;
    pay_http_respond_json(req, 200, clock_json());
    return PAY_ERR_OK;
}

static enum pay_err h_clock_post(struct pay_http_request *req, struct pay_error *err)
{
    json_t *body = pay_http_req_json(req);
    json_t *step = body ? json_object_get(body, "advance_ms") : NULL;
    if (!json_is_integer(step))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "advance_ms",
                             "an integer number of milliseconds");
    enum pay_err e = pay_clock_advance((int64_t)json_integer_value(step), err);
    if (e != PAY_ERR_OK)
        return e;
    pay_http_respond_json(req, 200, clock_json());
    return PAY_ERR_OK;
}

const struct pay_http_route *pay_http_sandbox_clock_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/sandbox/clock", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_clock_get, NULL},
        {"POST", "/sandbox/clock", PAY_HTTP_API, PAY_HTTP_BODY_JSON, h_clock_post, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
