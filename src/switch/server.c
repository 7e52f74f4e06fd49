/* The switch server: opens the data dir, assembles the routes of the members' API, the
 * financial messages and the online payment page, starts the worker (the switch's own
 * reversals, the daily clearing) and serves until SIGTERM/SIGINT. */
#include "switch/switch.h"
#include "core/buf.h"
#include "core/log.h"
#include "crypto/sig.h"
#include "http/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int health(void *ctx, struct pay_error *err)
{
    (void)ctx;
    (void)err;
    return 0;
}

static enum pay_err add_routes(struct pay_switch *sw, struct pay_error *err)
{
    const struct pay_http_route *(*lists[])(size_t *) = {
        pay_switch_api_routes, pay_switch_route_routes, pay_switch_page_routes,
        pay_switch_clearing_routes, pay_switch_online_routes};
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        size_t n = 0;
        const struct pay_http_route *src = lists[l](&n);
        struct pay_http_route copy[16];
        if (n > 16)
            return pay_error_set(err, PAY_ERR_INTERNAL, "", "too many routes");
        for (size_t i = 0; i < n; i++) {
            copy[i] = src[i];
            copy[i].ctx = sw;
        }
        enum pay_err rc = pay_http_server_add_routes(sw->http, copy, n, err);
        if (rc != PAY_ERR_OK)
            return rc;
    }
    return PAY_ERR_OK;
}

static enum pay_err start_http(struct pay_switch *sw, struct pay_error *err)
{
    char name[PAY_NET_CODE_MAX + 8];
    snprintf(name, sizeof name, "switch-%s", sw->opt.code);
    struct pay_http_config cfg = {.name = name,
                                  .web_root = sw->opt.web_root,
                                  .health_check = health,
                                  .health_ctx = sw,
                                  .sign_response = pay_switch_sign_answer,
                                  .sign_ctx = sw};
    pay_server_settings_apply(&sw->opt.server, &cfg);
    enum pay_err rc = pay_http_server_new(&cfg, &sw->http, err);
    if (rc == PAY_ERR_OK)
        rc = add_routes(sw, err);
    if (rc == PAY_ERR_OK)
        rc = pay_http_server_start(sw->http, err);
    if (rc != PAY_ERR_OK)
        return rc;
    const char *url = pay_server_settings_url(&sw->opt.server, pay_http_server_url(sw->http));
    pay_str_copy(sw->url, sizeof sw->url, url);
    printf("%s (%s, card network switch) listening on %s\n", sw->opt.name, sw->opt.code, url);
    fflush(stdout);
    rc = pay_server_settings_announce(&sw->opt.server, pay_http_server_url(sw->http), err);
    if (rc != PAY_ERR_OK)
        return rc;
    PAY_INFO("switch.started", "code=%s url=%s", sw->opt.code, url);
    return PAY_ERR_OK;
}

int pay_switch_serve(struct pay_switch_options *o)
{
    pay_http_signals_block();
    struct pay_switch *sw = NULL;
    struct pay_error err = {0};
    enum pay_err rc = pay_switch_open(o, &sw, &err);
    if (rc == PAY_ERR_OK) {
        sw->nonces = pay_nonce_cache_mem_new(PAY_NONCE_CACHE_MAX, PAY_SIGNATURE_WINDOW_S);
        if (!sw->nonces)
            rc = pay_error_set(&err, PAY_ERR_INTERNAL, "", "out of memory");
    }
    if (rc == PAY_ERR_OK)
        rc = start_http(sw, &err);
    if (rc == PAY_ERR_OK && pay_switch_worker_start(sw) != 0)
        rc = pay_error_set(&err, PAY_ERR_INTERNAL, "", "cannot start the worker");
    if (rc != PAY_ERR_OK) {
        fprintf(stderr, "paygate switch: %s: %s%s%s\n", pay_err_name(rc),
                err.detail[0] ? err.detail : pay_err_message(rc), err.field[0] ? " field=" : "",
                err.field);
    } else {
        int sig = pay_http_signals_wait();
        PAY_INFO("switch.stopping", "signal=%d", sig);
    }
    if (sw) {
        pay_http_server_free(sw->http);
        pay_switch_worker_stop(sw);
        pay_nonce_cache_free(sw->nonces);
    }
    pay_switch_close(sw);
    return rc == PAY_ERR_OK ? 0 : 1;
}
