/* The cashier's chain page (docs/chain.md, "Paying"): GET /cashier/{trade_id}/chain makes the
 * trade's deposit on first view and shows its address, the tokens to send at the locked
 * rate, the EIP-681 payment URI as a link and a QR code for wallets, and where the payment
 * is (waiting, seen and confirming, paid). */
#include "platform/chain.h"
#include "platform/platform.h"

#include "chain/uri.h"
#include "core/buf.h"
#include "core/money.h"
#include "core/timeutil.h"
#include "http/server.h"
#include "http/template.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the payment is, in words and as a code for scripts (data-status). */
static const char *status_code(const struct pay_platform_chain_deposit *d)
{
    if (strcmp(d->status, "paid") == 0)
        return "paid";
    if (d->pending_minor > 0)
        return "confirming";
    return d->received_minor > 0 ? "short" : "waiting";
}

static const char *status_text(struct pay_http_request *req, const char *code)
{
    if (strcmp(code, "paid") == 0)
        return pay_http_req_tr(req, N_("Paid"));
    if (strcmp(code, "confirming") == 0)
        return pay_http_req_tr(req, N_("Seen on chain, waiting for confirmations"));
    if (strcmp(code, "short") == 0)
        return pay_http_req_tr(req, N_("Received less than asked: send the rest"));
    return pay_http_req_tr(req, N_("Waiting for your payment"));
}

static void add_payment(struct pay_platform *p, struct pay_http_request *req,
                        const struct pay_platform_chain_deposit *d, json_t *ctx)
{
    const struct pay_platform_chain_settings *cs = &p->set.chain;
    uint8_t to[PAY_CHAIN_ADDRESS_LEN];
    char uri[PAY_CHAIN_URI_MAX], due[PAY_MONEY_TEXT_MAX + 1];
    struct pay_error ignore = {0};
    if (pay_chain_address_parse(d->address, "address", to, &ignore) != PAY_ERR_OK ||
        pay_chain_payment_uri(cs->token, cs->chain_id, to, d->due_minor, uri, sizeof uri) < 0)
        uri[0] = '\0';
    pay_money_format(d->due_minor, d->asset, due, sizeof due);
    char *svg = uri[0] ? pay_platform_qr_svg(uri) : NULL;
    if (svg)
        json_object_set_new(ctx, "qr_svg", pay_tpl_trusted(svg));
    free(svg);
    const char *code = status_code(d);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:b}", "address",
                  d->address, "uri", uri, "due", due, "due_text",
                  pay_http_req_money(req, d->due_minor, d->asset), "asset", d->asset, "token",
                  cs->token_text, "status", code, "status_text", status_text(req, code),
                  "received_text", pay_http_req_money(req, d->received_minor, d->asset), "chain_id",
                  (json_int_t)cs->chain_id, "confirmations", (json_int_t)cs->confirmations,
                  "rate_text", pay_http_req_money(req, d->rate_minor, cs->rate_currency), "waiting",
                  strcmp(code, "paid") != 0);
    if (o)
        json_object_set_new(ctx, "chain", o);
}

static enum pay_err h_chain_page(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    const char *id = pay_http_req_param(req, "trade_id");
    pay_http_respond_page_url(req, pay_http_req_printf(req, "/cashier/%s/chain", id ? id : ""));
    struct pay_platform_trade t;
    struct pay_platform_chain_deposit d;
    enum pay_err e = pay_platform_trade_get(p, NULL, id, NULL, &t, err);
    if (e == PAY_ERR_OK)
        e = pay_platform_chain_deposit_open(p, t.id, &d, err);
    if (e == PAY_ERR_TRADE_STATE_INVALID) { /* paid otherwise, closed, expired: the cashier says */
        pay_http_respond_redirect(req, pay_http_req_printf(req, "/cashier/%s", t.id));
        return PAY_ERR_OK;
    }
    if (e != PAY_ERR_OK)
        return e;
    char amount[PAY_MONEY_TEXT_MAX + 1] = "";
    pay_money_format(t.amount_minor, t.currency, amount, sizeof amount);
    json_t *ctx =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "platform", p->set.name, "trade_id",
                  t.id, "subject", t.subject, "amount", amount, "currency", t.currency,
                  "amount_text", pay_http_req_money(req, t.amount_minor, t.currency), "state",
                  t.state, "state_text", pay_platform_state_text(req, t.state));
    if (!ctx)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    add_payment(p, req, &d, ctx);
    pay_http_respond_template(req, 200, "cashier_chain", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

const struct pay_http_route *pay_platform_chain_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/cashier/{trade_id}/chain", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_chain_page, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
