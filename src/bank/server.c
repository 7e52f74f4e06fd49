/* The bank server: opens the data dir, seeds demo data if asked, assembles the routes of the
 * gateway, the API and the sandbox/admin pages, starts the notification worker and serves
 * until SIGTERM/SIGINT. */
#include "bank/api.h"
#include "bank/bank.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "crypto/sig.h"
#include "http/server.h"
#include "store/nonces.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int health(void *ctx, struct pay_error *err)
{
    (void)ctx;
    (void)err;
    return 0;
}

static enum pay_err add_routes(struct pay_bank *b, struct pay_error *err)
{
    const struct pay_http_route *(*lists[])(size_t *) = {
        pay_bank_gateway_routes,    pay_bank_api_routes,         pay_bank_admin_routes,
        pay_bank_admin_form_routes, pay_bank_audit_routes,       pay_bank_net_issuer_routes,
        pay_bank_witness_routes,    pay_bank_net_clearing_routes};
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        size_t n = 0;
        const struct pay_http_route *src = lists[l](&n);
        struct pay_http_route copy[32];
        if (n > 32)
            return pay_error_set(err, PAY_ERR_INTERNAL, "", "too many routes");
        for (size_t i = 0; i < n; i++) {
            copy[i] = src[i];
            copy[i].ctx = b;
        }
        enum pay_err rc = pay_http_server_add_routes(b->http, copy, n, err);
        if (rc != PAY_ERR_OK)
            return rc;
    }
    return PAY_ERR_OK;
}

static enum pay_err start_http(struct pay_bank *b, struct pay_error *err)
{
    char name[PAY_BANK_CODE_MAX + 8];
    snprintf(name, sizeof name, "bank-%s", b->opt.code);
    struct pay_http_config cfg = {.name = name,
                                  .web_root = b->opt.web_root,
                                  .health_check = health,
                                  .health_ctx = b,
                                  .sign_response = pay_bank_sign_answer,
                                  .sign_ctx = b};
    pay_server_settings_apply(&b->opt.server, &cfg);
    enum pay_err rc = pay_http_server_new(&cfg, &b->http, err);
    if (rc == PAY_ERR_OK)
        rc = add_routes(b, err);
    if (rc == PAY_ERR_OK)
        rc = pay_http_server_start(b->http, err);
    if (rc != PAY_ERR_OK)
        return rc;
    const char *url = pay_server_settings_url(&b->opt.server, pay_http_server_url(b->http));
    pay_str_copy(b->url, sizeof b->url, url);
    struct pay_error se = {0}; /* the switch down: the worker signs on later */
    if (b->net.enabled && pay_bank_net_signon(b, &se) != PAY_ERR_OK)
        PAY_WARN("bank.net_signon_failed", "switch=%s error=\"%s\"", b->net.switch_code, se.detail);
    printf("%s (%s, BIN %s) listening on %s\n", b->opt.name, b->opt.code, b->opt.bin, url);
    fflush(stdout);
    rc = pay_server_settings_announce(&b->opt.server, pay_http_server_url(b->http), err);
    if (rc != PAY_ERR_OK)
        return rc;
    PAY_INFO("bank.started", "code=%s url=%s", b->opt.code, url);
    return PAY_ERR_OK;
}

/* The bank's committer as the nonce cache's write path (store/nonces.h). */
static enum pay_err bank_write(void *owner, pay_store_tx_fn fn, void *ctx, struct pay_error *err)
{
    return pay_committer_submit(owner, fn, ctx, err);
}

int pay_bank_serve(struct pay_bank_options *o)
{
    pay_http_signals_block();
    struct pay_bank *b = NULL;
    struct pay_error err = {0};
    enum pay_err rc = pay_bank_open(o, &b, &err);
    if (rc == PAY_ERR_OK)
        rc = pay_store_serve_alone(b->store, "bank", &err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_audit_start(b, &err);
    if (rc == PAY_ERR_OK && o->demo_data)
        rc = pay_bank_demo_data(b, true, &err);
    if (rc == PAY_ERR_OK) {
        /* several bank processes may share a PostgreSQL database: their nonces and rate
         * buckets with it */
        bool shared = pay_store_dialect(b->store) == PAY_STORE_POSTGRESQL;
        b->rate = pay_bank_rate_new(shared);
        b->nonces = shared ? pay_store_nonces_new(b->store, "bank_nonces", PAY_SIGNATURE_WINDOW_S,
                                                  bank_write, b->committer)
                           : pay_nonce_cache_mem_new(65536, PAY_SIGNATURE_WINDOW_S);
        if (!b->rate || !b->nonces)
            rc = pay_error_set(&err, PAY_ERR_INTERNAL, "", "out of memory");
    }
    if (rc == PAY_ERR_OK)
        rc = start_http(b, &err);
    if (rc == PAY_ERR_OK && pay_bank_notify_worker_start(b) != 0)
        rc = pay_error_set(&err, PAY_ERR_INTERNAL, "", "cannot start the notification worker");
    if (rc != PAY_ERR_OK) {
        fprintf(stderr, "paygate bank: %s: %s%s%s\n", pay_err_name(rc),
                err.detail[0] ? err.detail : pay_err_message(rc), err.field[0] ? " field=" : "",
                err.field);
    } else {
        int sig = pay_http_signals_wait();
        PAY_INFO("bank.stopping", "signal=%d", sig);
    }
    if (b) {
        pay_http_server_free(b->http);
        pay_bank_notify_worker_stop(b);
        pay_bank_rate_free(b->rate);
        pay_nonce_cache_free(b->nonces);
    }
    pay_bank_close(b);
    return rc == PAY_ERR_OK ? 0 : 1;
}
