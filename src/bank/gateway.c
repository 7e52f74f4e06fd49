/* The B2C gateway pages (docs/bank.md, ICBC steps 3-8): the merchant's signed order form, then card
 * number → card password (sends the SMS code) → SMS code → confirmation → debit → (HS: the
 * notification, bounded) → result page. A session cookie bound to the order and a CSRF token
 * per session protect every step; the committer makes each step one transaction. This file: the
 * order's arrival (POST /b2c/pay) and the gateway's route table. The session and the page frame
 * every step uses are gateway_session.c, the result page gateway_result.c: the steps' files
 * call those and this one calls the steps, never the other way (docs/hacking.md, "Call
 * loops"). */
#include "bank/bank.h"
#include "bank/gateway.h"
#include "core/buf.h"
#include "core/clock.h"
#include "crypto/ids.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/money.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "http/codec.h"
#include "http/server.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <string.h>

/* --- POST /b2c/pay -------------------------------------------------------------------------- */

struct verify_ctx {
    struct pay_bank *b;
    const char *tran_data, *sign_msg, *mer_cert, *referer;
    struct pay_bank_order_doc doc;
    struct pay_bank_merchant m;
};

static enum pay_err verify_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct verify_ctx *v = ctx;
    return pay_bank_order_verify(v->b, tx, v->tran_data, v->sign_msg, v->mer_cert, v->referer,
                                 &v->doc, &v->m, err);
}

struct create_op {
    struct pay_bank *b;
    const struct pay_bank_order_doc *d;
    char order_pk[PAY_ID_MAX];
    char session[48];
    char csrf[48];
};

static enum pay_err create_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct create_op *c = ctx;
    const struct pay_bank_order_doc *d = c->d;
    int64_t now = pay_clock_now_ms();
    enum pay_err rc = pay_store_exec(
        tx, err,
        "INSERT INTO bank_orders (id, mer_id, order_id, amount_minor, currency, channel, mer_url,"
        " notify_type, result_type, mer_var, goods_name, order_date, return_url, status,"
        " created_ms) VALUES ($1, $2, $3, $4, $5, 'b2c', $6, $7, $8, $9, $10, $11, $12,"
        " 'CREATED', $13)",
        "tttitttttttti", c->order_pk, d->mer_id, d->order_id, d->amount_minor, d->currency,
        d->mer_url, d->notify_type, d->result_type, d->mer_var, d->goods_name, d->order_date,
        d->return_url, now);
    if (rc == PAY_ERR_DB_CONSTRAINT)
        return pay_error_set(err, PAY_ERR_DUPLICATE, "orderId",
                             "order %s was already submitted to the bank; a merchant order id"
                             " can be used once",
                             d->order_id);
    if (rc != PAY_ERR_OK)
        return rc;
    return pay_store_exec(tx, err,
                          "INSERT INTO bank_sessions (id, order_pk, csrf, stage, created_ms)"
                          " VALUES ($1, $2, $3, 'card', $4)",
                          "ttti", c->session, c->order_pk, c->csrf, now);
}

/* payMethod (outside tranData; docs/bank.md): absent for the bank's own pages, UNIONPAY for the
 * card network's online payment page, which needs a member acquirer and an order in CNY. */
static enum pay_err pay_method(struct pay_http_request *req, const struct pay_bank_order_doc *d,
                               bool *unionpay, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    const char *m = pay_http_req_form_get(req, "payMethod");
    *unionpay = m && strcmp(m, "UNIONPAY") == 0;
    if (m && !*unionpay)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "payMethod",
                             "payMethod is UNIONPAY or absent");
    if (*unionpay && (!b->net.enabled || !b->net.acquirer))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "payMethod",
                             "this bank takes no cards of the card network");
    if (*unionpay && strcmp(d->currency, PAY_BANK_CURRENCY) != 0)
        return pay_error_set(err, PAY_ERR_CURRENCY_MISMATCH, "currency",
                             "the card network clears CNY only");
    return PAY_ERR_OK;
}

static enum pay_err pay_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    if (!pay_bank_rate_allow(b, "ip", pay_http_req_remote_ip(req), PAY_BANK_RATE_PER_IP_PER_MIN))
        return pay_error_set(err, PAY_ERR_RATE_LIMITED, "", NULL);
    const char *iname = pay_http_req_form_get(req, "interfaceName");
    const char *iver = pay_http_req_form_get(req, "interfaceVersion");
    if (!iname || strcmp(iname, "PAYGATE_B2C_PAY") != 0 || !iver || strcmp(iver, "1.0") != 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "interfaceName",
                             "interfaceName must be PAYGATE_B2C_PAY and interfaceVersion 1.0");
    struct verify_ctx v = {.b = b,
                           .tran_data = pay_http_req_form_get(req, "tranData"),
                           .sign_msg = pay_http_req_form_get(req, "merSignMsg"),
                           .mer_cert = pay_http_req_form_get(req, "merCert"),
                           .referer = pay_http_req_header(req, "Referer")};
    if (!v.tran_data || !v.sign_msg || !v.mer_cert)
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "tranData",
                             "tranData, merSignMsg and merCert are required");
    bool unionpay = false;
    enum pay_err rc = pay_store_run_read(b->store, verify_tx, &v, err);
    if (rc == PAY_ERR_OK)
        rc = pay_method(req, &v.doc, &unionpay, err);
    if (rc != PAY_ERR_OK) {
        PAY_WARN("bank.order_refused", "code=%s field=%s detail=\"%s\"", pay_err_name(rc),
                 err->field, err->detail);
        return rc;
    }
    struct create_op c = {.b = b, .d = &v.doc};
    if (pay_id_new("bo", c.order_pk) != PAY_ERR_OK ||
        pay_random_token(c.session, sizeof c.session, 24) ||
        pay_random_token(c.csrf, sizeof c.csrf, 24))
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    rc = pay_committer_submit(b->committer, create_apply, &c, err);
    if (rc != PAY_ERR_OK)
        return rc;
    PAY_INFO("bank.order_received", "order=%s mer_id=%s order_id=%s amount=%lld notify=%s",
             c.order_pk, v.doc.mer_id, v.doc.order_id, (long long)v.doc.amount_minor,
             v.doc.notify_type);
    struct gw_session s;
    rc = gw_session_load(b, c.session, &s, err);
    if (rc != PAY_ERR_OK)
        return rc;
    pay_http_respond_cookie(req, GW_SESSION_COOKIE, c.session, -1, 0);
    pay_http_respond_page_url(req, "/b2c/page");
    if (unionpay)
        return gw_upop_start(req, &s, err);
    json_t *ctx = gw_page_ctx(req, &s, NULL);
    pay_http_respond_template(req, 200, "card", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

/* GET on the gateway (a bookmarked or reloaded page): explain instead of a bare 405. */
static enum pay_err pay_get_handler(struct pay_http_request *req, struct pay_error *err)
{
    return pay_error_set(err, PAY_ERR_METHOD_NOT_ALLOWED, "",
                         N_("The payment page opens from the merchant's order form."));
}

static struct pay_http_route routes[] = {
    {"POST", "/b2c/pay", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, pay_handler, NULL},
    {"GET", "/b2c/pay", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, pay_get_handler, NULL},
    {"POST", "/b2c/card", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, gw_card_handler, NULL},
    {"POST", "/b2c/password", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, gw_password_handler, NULL},
    {"POST", "/b2c/sms", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, gw_sms_handler, NULL},
    {"GET", "/b2c/upop/return", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, gw_upop_return_handler, NULL},
    {"POST", "/b2c/confirm", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, gw_confirm_handler, NULL},
    {"POST", "/b2c/net", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, gw_net_handler, NULL},
    {"GET", "/b2c/page", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, gw_page_handler, NULL},
    {"POST", "/b2c/restart", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, gw_restart_handler, NULL},
};

const struct pay_http_route *pay_bank_gateway_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
