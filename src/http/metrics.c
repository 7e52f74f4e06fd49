/* /metrics in the Prometheus text format: requests by route and status class, a latency
 * histogram per route, errors by code, requests in flight. Counters are relaxed atomics:
 * each is exact on its own, and a scrape may see one request counted in one metric but not
 * yet in another, which Prometheus tolerates. */
#include "http/internal.h"

#include <stdio.h>

/* Upper bounds in microseconds: 1 ms .. 10 s, then +Inf. */
static const long bucket_us[PAY_HTTP_BUCKETS] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 10000000,
};

void pay_http_metric_observe(struct pay_http_metric *m, int status, long elapsed_us)
{
    int cls = status / 100;
    if (cls >= 1 && cls <= 5)
        atomic_fetch_add_explicit(&m->by_class[cls], 1, memory_order_relaxed);
    int b = 0;
    while (b < PAY_HTTP_BUCKETS && elapsed_us > bucket_us[b])
        b++;
    atomic_fetch_add_explicit(&m->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_us, (unsigned long)(elapsed_us > 0 ? elapsed_us : 0),
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
}

static unsigned long load(atomic_ulong *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

static int write_metric(const char *srv, struct pay_http_metric *m, struct pay_buf *out)
{
    int rc = 0;
    for (int c = 1; c <= 5; c++)
        if (load(&m->by_class[c]) > 0)
            rc |= pay_buf_printf(out,
                                 "paygate_http_requests_total{server=\"%s\",route=\"%s\","
                                 "class=\"%dxx\"} %lu\n",
                                 srv, m->label, c, load(&m->by_class[c]));
    if (load(&m->count) == 0)
        return rc;
    unsigned long cum = 0;
    for (int b = 0; b <= PAY_HTTP_BUCKETS; b++) {
        cum += load(&m->buckets[b]);
        char le[24];
        if (b < PAY_HTTP_BUCKETS)
            snprintf(le, sizeof le, "%g", (double)bucket_us[b] / 1e6);
        else
            snprintf(le, sizeof le, "+Inf");
        rc |= pay_buf_printf(out,
                             "paygate_http_request_duration_seconds_bucket{server=\"%s\","
                             "route=\"%s\",le=\"%s\"} %lu\n",
                             srv, m->label, le, cum);
    }
    rc |= pay_buf_printf(out,
                         "paygate_http_request_duration_seconds_sum{server=\"%s\",route=\"%s\"} "
                         "%lu.%06lu\n",
                         srv, m->label, load(&m->sum_us) / 1000000, load(&m->sum_us) % 1000000);
    rc |= pay_buf_printf(out,
                         "paygate_http_request_duration_seconds_count{server=\"%s\","
                         "route=\"%s\"} %lu\n",
                         srv, m->label, load(&m->count));
    return rc;
}

int pay_http_metrics_write(struct pay_http_server *srv, struct pay_buf *out)
{
    int rc = pay_buf_puts(out, "# HELP paygate_http_requests_total HTTP requests by route "
                               "pattern and status class.\n"
                               "# TYPE paygate_http_requests_total counter\n"
                               "# HELP paygate_http_request_duration_seconds Time from the "
                               "first byte of a request to its completion.\n"
                               "# TYPE paygate_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < srv->n_routes; i++)
        rc |= write_metric(srv->name, &srv->routes[i].m, out);
    rc |= write_metric(srv->name, &srv->unmatched, out);
    rc |= pay_buf_puts(out, "# HELP paygate_http_errors_total Error responses by error code.\n"
                            "# TYPE paygate_http_errors_total counter\n");
    for (int e = 1; e < PAY_ERR__COUNT; e++)
        if (load(&srv->errors[e]) > 0)
            rc |= pay_buf_printf(out, "paygate_http_errors_total{server=\"%s\",code=\"%s\"} %lu\n",
                                 srv->name, pay_err_name((enum pay_err)e), load(&srv->errors[e]));
    rc |= pay_buf_printf(out,
                         "# HELP paygate_http_in_flight Requests being handled now.\n"
                         "# TYPE paygate_http_in_flight gauge\n"
                         "paygate_http_in_flight{server=\"%s\"} %ld\n",
                         srv->name, atomic_load(&srv->in_flight));
    rc |= pay_buf_printf(
        out,
        "# HELP paygate_http_connections Open client connections.\n"
        "# TYPE paygate_http_connections gauge\n"
        "paygate_http_connections{server=\"%s\"} %u\n"
        "# HELP paygate_http_connections_cut_total Connections the server "
        "closed: read_timeout (the request did not arrive in time), "
        "displaced (at the connection cap, for a newer one).\n"
        "# TYPE paygate_http_connections_cut_total counter\n"
        "paygate_http_connections_cut_total{server=\"%s\",reason=\"read_timeout\"} "
        "%lu\n"
        "paygate_http_connections_cut_total{server=\"%s\",reason=\"displaced\"} "
        "%lu\n",
        srv->name, pay_http_conns_open(&srv->conns), srv->name, load(&srv->conns.cut_read_timeout),
        srv->name, load(&srv->conns.cut_displaced));
    return rc ? -1 : 0;
}
