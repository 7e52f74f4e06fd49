/* The test clock of a running server, moved over HTTP (tests/lib/clock.h). */
#include "clock.h"

#include "core/clock.h"
#include "http/client.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct pay_http_client_options local = {.allow_private_addresses = true,
                                                     .total_timeout_ms = 30000};

/* GET or POST base_url/sandbox/clock; the parsed answer (json_decref it), or NULL. */
static json_t *clock_call(const char *base_url, const char *body)
{
    char url[512];
    snprintf(url, sizeof url, "%s/sandbox/clock", base_url);
    const char *const headers[] = {"Content-Type: application/json", NULL};
    struct pay_http_client_response res = {0};
    struct pay_error err = {0};
    enum pay_err e = pay_http_client_request(body ? "POST" : "GET", url, headers, body,
                                             body ? strlen(body) : 0, &local, &res, &err);
    json_t *j = NULL;
    if (e == PAY_ERR_OK && res.status == 200)
        j = json_loads(pay_buf_str(&res.body), 0, NULL);
    else
        fprintf(stderr, "th_clock: %s /sandbox/clock: %s %ld %s\n", body ? "POST" : "GET",
                pay_err_name(e), res.status, err.detail[0] ? err.detail : pay_buf_str(&res.body));
    pay_http_client_response_fini(&res);
    return j;
}

/* True when every worker in the answer has seen move `moves`. */
static bool settled(json_t *j, json_int_t moves)
{
    json_t *workers = json_object_get(j, "workers"), *w;
    size_t i;
    json_array_foreach(workers, i, w)
    {
        if (json_integer_value(json_object_get(w, "seen_moves")) < moves)
            return false;
    }
    return json_is_array(workers);
}

int th_clock_advance(const char *base_url, int64_t ms)
{
    char body[64];
    snprintf(body, sizeof body, "{\"advance_ms\":%lld}", (long long)ms);
    json_t *j = clock_call(base_url, body);
    if (j == NULL)
        return -1;
    json_int_t moves = json_integer_value(json_object_get(j, "moves"));
    int64_t until = pay_clock_mono_ms() + TH_CLOCK_SETTLE_MS;
    while (!settled(j, moves) && pay_clock_mono_ms() < until) {
        json_decref(j);
        struct timespec pause = {0, 2000000L}; /* polls the event, 2 ms apart */
        nanosleep(&pause, NULL);
        if ((j = clock_call(base_url, NULL)) == NULL)
            return -1;
    }
    bool ok = settled(j, moves);
    if (!ok) {
        char *text = json_dumps(j, 0);
        fprintf(stderr, "th_clock: the workers did not look at move %lld within %d ms: %s\n",
                (long long)moves, TH_CLOCK_SETTLE_MS, text ? text : "?");
        free(text);
    }
    json_decref(j);
    return ok ? 0 : -1;
}

int64_t th_clock_now_ms(const char *base_url)
{
    json_t *j = clock_call(base_url, NULL);
    int64_t now = j ? (int64_t)json_integer_value(json_object_get(j, "now_ms")) : -1;
    json_decref(j);
    return now;
}
