/* Payment receipts (支付凭证, docs/platform.md "Receipts"): one printable page per paid trade,
 * for the shopper at /cashier/{trade_id}/receipt (linked from the cashier once paid, and from
 * the wallet's trade page) and for the merchant's staff at /portal/trades/{id}/receipt (with
 * the fee and what the merchant keeps). The page has a print stylesheet (receipt.css): on
 * paper only the receipt, black on white. Nothing on it identifies the payer beyond the
 * method: the shopper's link is as public as the cashier's. */
#include "platform/platform.h"
#include "platform/portal.h"

#include "core/money.h"
#include "http/server.h"
#include "i18n/i18n.h"

#include <string.h>

/* Paid, in escrow, finished or (partly or fully) refunded: a trade money moved for. */
static bool has_receipt(const struct pay_platform_trade *t)
{
    return t->paid_ms > 0 && t->pay_method[0] != '\0';
}

/* The receipt of t for req's page (merchant_view adds fee and net). NULL when out of memory. */
static json_t *receipt_ctx(struct pay_http_request *req, struct pay_platform *p,
                           const struct pay_platform_trade *t, bool merchant_view)
{
    struct pay_platform_merchant m;
    struct pay_error err = {0};
    bool have_m = pay_platform_merchant_get(p, t->merchant_id, &m, &err) == PAY_ERR_OK;
    char amount[PAY_MONEY_TEXT_MAX + 1];
    pay_money_format(t->amount_minor, t->currency, amount, sizeof amount);
    json_t *ctx =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
                  "platform", p->set.name, "trade_id", t->id, "out_trade_no", t->out_trade_no,
                  "subject", t->subject, "merchant", have_m ? m.name : t->merchant_id,
                  "merchant_id", t->merchant_id, "amount", amount, "currency", t->currency,
                  "amount_text", pay_http_req_money(req, t->amount_minor, t->currency), "paid_text",
                  pay_http_req_time(req, t->paid_ms), "method", t->pay_method, "method_text",
                  pay_platform_method_text(req, t->pay_method), "state", t->state, "state_text",
                  pay_platform_state_text(req, t->state), "merchant_view", merchant_view);
    if (have_m)
        pay_platform_merchant_fini(&m);
    if (!ctx)
        return NULL;
    if (t->refunded_minor > 0)
        json_object_set_new(ctx, "refunded_text",
                            json_string(pay_http_req_money(req, t->refunded_minor, t->currency)));
    if (merchant_view) {
        int64_t fee = 0, net = 0;
        bool ok = pay_money_sub(t->fee_minor, t->fee_refunded_minor, &fee) == PAY_ERR_OK &&
                  pay_money_sub(t->amount_minor, t->refunded_minor, &net) == PAY_ERR_OK &&
                  pay_money_sub(net, fee, &net) == PAY_ERR_OK;
        json_object_set_new(ctx, "fee_text",
                            json_string(ok ? pay_http_req_money(req, fee, t->currency) : ""));
        json_object_set_new(ctx, "net_text",
                            json_string(ok ? pay_http_req_money(req, net, t->currency) : ""));
    }
    return ctx;
}

static enum pay_err render(struct pay_http_request *req, struct pay_platform *p,
                           const struct pay_platform_trade *t, bool merchant_view, const char *back,
                           struct pay_error *err)
{
    if (!has_receipt(t))
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "trade_id",
                             N_("This trade is not paid, so it has no receipt."));
    json_t *ctx = receipt_ctx(req, p, t, merchant_view);
    if (!ctx)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    json_object_set_new(ctx, "back_url", json_string(back));
    pay_http_respond_page_url(req, pay_http_req_path(req));
    pay_http_respond_template(req, 200, "receipt", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

/* GET /cashier/{trade_id}/receipt: the shopper's, from the paid cashier page. */
static enum pay_err h_cashier_receipt(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    const char *id = pay_http_req_param(req, "trade_id");
    struct pay_platform_trade t;
    enum pay_err e = pay_platform_trade_get(p, NULL, id, NULL, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    return render(req, p, &t, false, pay_http_req_printf(req, "/cashier/%s", t.id), err);
}

/* GET /portal/trades/{id}/receipt: the merchant's copy, any role. */
static enum pay_err h_portal_receipt(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e;
    struct pay_portal_user *u = pay_portal_page_user(req, &e, err);
    if (!u)
        return e;
    struct pay_platform_trade t;
    if ((e = pay_platform_trade_get(p, u->merchant_id, pay_http_req_param(req, "id"), NULL, &t,
                                    err)) != PAY_ERR_OK)
        return e;
    return render(req, p, &t, true, pay_http_req_printf(req, "/portal/trades/%s", t.id), err);
}

const struct pay_http_route *pay_platform_payment_receipt_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/cashier/{trade_id}/receipt", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_cashier_receipt,
         NULL},
        {"GET", "/portal/trades/{id}/receipt", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_portal_receipt,
         NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
