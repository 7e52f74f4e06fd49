/* The shop's payment handlers, all through libpaygate: checkout (a platform trade and a
 * redirect to its cashier, or the signed order form of the shop's own bank), the two
 * notification endpoints (verified, amount checked, order marked paid exactly once), the
 * order page (asks the platform when a notification is late). An escrow order (担保交易) is a
 * platform trade of product escrow: paid, the platform holds the money until the shopper
 * confirms receipt in the wallet, which the shop hears as TRADE_FINISHED. */
#include "shop/shop_internal.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/money.h"
#include "crypto/crypto.h"
#include "http/codec.h"
#include "http/template.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Order ids: S + UTC date-time + 6 random characters (valid as out_trade_no and orderId). */
static void new_order_id(char out[40])
{
    char rnd[16], ts[20];
    time_t now = (time_t)(pay_clock_now_ms() / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y%m%d%H%M%S", &tm);
    (void)pay_random_token(rnd, sizeof rnd, 6);
    for (char *p = rnd; *p; p++)
        if (*p == '-' || *p == '_')
            *p = 'x';
    snprintf(out, 40, "S%s%s", ts, rnd);
}

/* Builds the order from the cart; 0, or -1 when the cart is empty. The items are written in
 * the shopper's language: they become the trade's subject on the cashier and the bank. */
static int order_from_cart(struct pay_http_request *req, struct shop_order *o)
{
    int qty[16];
    shop_cart_read(req, qty);
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < shop_n_products; i++) {
        if (qty[i] <= 0)
            continue;
        /* at most 16 products of 99 each at catalogue prices: far inside int64_t */
        int64_t line = 0;
        enum pay_err e = pay_money_mul(shop_products[i].price, qty[i], &line);
        if (e == PAY_ERR_OK)
            e = pay_money_add(o->amount, line, &o->amount);
        PAY_ASSERT_MSG(e == PAY_ERR_OK, "order total");
        snprintf(o->items + strlen(o->items), sizeof o->items - strlen(o->items), "%s%d × %s",
                 o->items[0] ? pay_http_req_trc(req, "list separator", ", ") : "", qty[i],
                 pay_http_req_tr(req, shop_products[i].name));
    }
    new_order_id(o->id);
    pay_str_copy(o->sid, sizeof o->sid, shop_sid(req));
    return o->amount > 0 ? 0 : -1;
}

static enum pay_err pay_platform(struct shop *s, struct pay_http_request *req,
                                 const struct shop_order *o, struct pay_error *err)
{
    char notify[400], ret[400];
    snprintf(notify, sizeof notify, "%s/notify/platform", s->public_url);
    snprintf(ret, sizeof ret, "%s/orders/%s", s->public_url, o->id);
    paygate_trade_request tr = {.out_trade_no = o->id,
                                .amount = o->amount,
                                .subject = o->items,
                                .notify_url = notify,
                                .return_url = ret,
                                .timeout = "30m"};
    paygate_trade t;
    paygate_error pe = {0};
    int rc = strcmp(o->method, "escrow") == 0
                 ? paygate_trade_create_escrow(s->platform, &tr, &t, &pe)
                 : paygate_trade_create(s->platform, &tr, &t, &pe);
    if (rc != PAYGATE_OK) {
        PAY_WARN("shop.trade_create_failed", "order=%s code=%s msg=\"%s\"", o->id, pe.code,
                 pe.message);
        return pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, NULL, "the platform: %s", pe.code);
    }
    (void)shop_order_set_trade(s, o->id, t.trade_id);
    pay_http_respond_redirect(req, t.cashier_url);
    return PAY_ERR_OK;
}

static enum pay_err pay_bank(struct shop *s, struct pay_http_request *req,
                             const struct shop_order *o, struct pay_error *err)
{
    char notify[400], ret[400];
    snprintf(notify, sizeof notify, "%s/notify/bank", s->public_url);
    snprintf(ret, sizeof ret, "%s/orders/%s", s->public_url, o->id);
    paygate_bank_order bo = {.order_id = o->id,
                             .amount = o->amount,
                             .goods_name = o->items,
                             .notify_url = notify,
                             .return_url = ret,
                             .mer_var = o->id};
    paygate_error pe = {0};
    char *form = paygate_bank_order_form(s->bank, &bo, &pe);
    if (!form)
        return pay_error_set(err, PAY_ERR_INTERNAL, NULL, "bank form: %s", pe.message);
    /* the SDK's form (our own markup, values escaped by it) goes in as trusted HTML */
    json_t *ctx =
        json_pack("{s:s, s:o}", "bank_name", shop_bank_name(s, req), "form", pay_tpl_trusted(form));
    free(form);
    pay_http_respond_page_url(req, pay_http_req_printf(req, "/orders/%s", o->id));
    shop_render(req, 200, "to_bank", ctx);
    return PAY_ERR_OK;
}

/* Cash on delivery: the order goes to fulfilment unpaid, owed in the books; the shopper sees
 * its page. */
static enum pay_err checkout_cod(struct shop *s, struct pay_http_request *req,
                                 const struct shop_order *o, struct pay_error *err)
{
    if (shop_cod_place(s, o) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, NULL, "cannot store the order");
    (void)pay_http_respond_cookie(req, "shop_cart", "", 0, 0);
    PAY_INFO("shop.order_created", "order=%s amount=%lld method=cod", o->id, (long long)o->amount);
    pay_http_respond_redirect(req, pay_http_req_printf(req, "/orders/%s", o->id));
    return PAY_ERR_OK;
}

static enum pay_err h_checkout(struct pay_http_request *req, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    if (!shop_same_origin(req, s))
        return pay_error_set(err, PAY_ERR_FORBIDDEN, NULL, "form posted from another site");
    const char *method = pay_http_req_form_get(req, "method");
    int bank = method && strcmp(method, "bank") == 0,
        escrow = method && strcmp(method, "escrow") == 0;
    if (bank && !s->bank)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "method", "no bank contract");
    struct shop_order o;
    if (order_from_cart(req, &o) != 0) {
        pay_http_respond_redirect(req, "/cart");
        return PAY_ERR_OK;
    }
    if (method && strcmp(method, "cod") == 0)
        return checkout_cod(s, req, &o, err);
    pay_str_copy(o.method, sizeof o.method, bank ? "bank" : escrow ? "escrow" : "platform");
    if (shop_order_insert(s, &o) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, NULL, "cannot store the order");
    (void)pay_http_respond_cookie(req, "shop_cart", "", 0, 0);
    PAY_INFO("shop.order_created", "order=%s amount=%lld method=%s", o.id, (long long)o.amount,
             o.method);
    return bank ? pay_bank(s, req, &o, err) : pay_platform(s, req, &o, err);
}

/* A platform trade's state that means the order is paid: TRADE_SUCCESS, and an escrow trade's
 * money in escrow (WAIT_SELLER_SEND_GOODS, WAIT_BUYER_CONFIRM_GOODS) or released
 * (TRADE_FINISHED). */
static bool trade_paid(const char *state)
{
    return strcmp(state, "TRADE_SUCCESS") == 0 || strcmp(state, "TRADE_FINISHED") == 0 ||
           strcmp(state, "WAIT_SELLER_SEND_GOODS") == 0 ||
           strcmp(state, "WAIT_BUYER_CONFIRM_GOODS") == 0;
}

/* The query fallback: a pending order whose notification has not arrived yet is looked up
 * at whoever took the payment (the platform, or the shop's bank). */
static void query_if_late(struct shop *s, struct shop_order *o)
{
    if (strcmp(o->state, "pending") != 0)
        return;
    paygate_error pe = {0};
    int paid = 0;
    char ref[48] = "";
    if (strcmp(o->method, "bank") != 0) {
        paygate_trade t;
        paid = paygate_trade_query(s->platform, o->id, &t, &pe) == PAYGATE_OK &&
               trade_paid(t.state) && t.amount == o->amount;
        pay_str_copy(ref, sizeof ref, paid ? t.trade_id : "");
    } else if (s->bank) {
        paygate_bank_order_status st;
        paid = paygate_bank_query(s->bank, o->id, &st, &pe) == PAYGATE_OK &&
               strcmp(st.status, "PAID") == 0 && st.amount == o->amount;
        pay_str_copy(ref, sizeof ref, paid ? st.tran_serial_no : "");
    }
    /* not found (never paid, or the payer is away): the page says pending */
    if (paid && shop_order_mark_paid(s, o->id, ref, "query") == 1)
        PAY_INFO("shop.order_paid", "order=%s via=query", o->id);
    (void)shop_order_get(s, o->id, o);
}

static enum pay_err h_order(struct pay_http_request *req, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    struct shop_order o;
    const char *id = pay_http_req_param(req, "id");
    if (!id || shop_order_get(s, id, &o) != 0)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, NULL, "no such order");
    query_if_late(s, &o);
    shop_render(req, 200, "order", shop_order_json(req, &o));
    return PAY_ERR_OK;
}

/* What a verified platform notification (a trade's state, a refund, an after-sales step: each
 * carries the trade as it is now) changes in order o: paid once; an escrow order received when
 * the shopper confirmed receipt (TRADE_FINISHED); what was refunded, whoever refunded it (the
 * admin, an approved refund request, the platform's refund of an escrow trade never shipped). */
static void platform_outcome(struct shop *s, const struct shop_order *o,
                             const paygate_notification *n)
{
    if (trade_paid(n->trade.state) &&
        shop_order_mark_paid(s, o->id, n->trade.trade_id, "notify") == 1)
        PAY_INFO("shop.order_paid", "order=%s via=notify notify_id=%s", o->id, n->notify_id);
    if (strcmp(n->trade.state, "TRADE_FINISHED") == 0 && strcmp(o->method, "escrow") == 0 &&
        shop_order_received(s, o->id) == 1)
        PAY_INFO("shop.order_received", "order=%s notify_id=%s", o->id, n->notify_id);
    if (n->trade.refunded > 0 && n->trade.refunded <= o->amount &&
        shop_order_refund_sync(s, o->id, n->trade.refunded) == 1)
        PAY_INFO("shop.order_refund_synced", "order=%s refunded=%lld event=%s", o->id,
                 (long long)n->trade.refunded, n->event);
}

/* POST /notify/platform: answer "success" only once the outcome is stored. */
static enum pay_err h_notify_platform(struct pay_http_request *req, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    size_t len = 0;
    const char *body = pay_http_req_body(req, &len);
    paygate_notification n;
    paygate_error pe = {0};
    struct shop_order o;
    int rc =
        paygate_notify_verify(s->platform, pay_http_req_target(req),
                              pay_http_req_header(req, "Paygate-Signature"), body, len, 0, &n, &pe);
    if (rc == PAYGATE_TEST) { /* the merchant portal's "send a test notification" */
        PAY_INFO("shop.notify_test", "notify_id=%s", n.notify_id);
        pay_http_respond_text(req, 200, "success");
        return PAY_ERR_OK;
    }
    if (rc == PAYGATE_OK && shop_order_get(s, n.trade.out_trade_no, &o) != 0)
        rc = PAYGATE_ERR_MISMATCH;
    if (rc == PAYGATE_OK && (n.trade.amount != o.amount || strcmp(n.trade.currency, "CNY") != 0))
        rc = PAYGATE_ERR_MISMATCH; /* never fulfil another amount than the order's */
    if (rc != PAYGATE_OK) {
        PAY_WARN("shop.notify_refused", "source=platform status=%s code=%s msg=\"%s\"",
                 paygate_status_name(rc), pe.code, pe.message);
        pay_http_respond_text(req, 400, "refused");
        return PAY_ERR_OK;
    }
    rc = paygate_notify_once(n.notify_id, paygate_seen_db_fn, s->seen);
    if (rc == PAYGATE_OK)
        platform_outcome(s, &o, &n);
    if (rc == PAYGATE_DUPLICATE)
        PAY_INFO("shop.notify_duplicate", "order=%s notify_id=%s", o.id, n.notify_id);
    pay_http_respond_text(req, rc == PAYGATE_ERR_INTERNAL ? 500 : 200,
                          rc == PAYGATE_ERR_INTERNAL ? "retry" : "success");
    return PAY_ERR_OK;
}

/* POST /notify/bank: the shop's own bank contract (HS notification). */
static enum pay_err h_notify_bank(struct pay_http_request *req, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    size_t len = 0;
    const char *body = pay_http_req_body(req, &len);
    paygate_bank_notification n;
    paygate_error pe = {0};
    struct shop_order o;
    int rc = s->bank ? paygate_bank_notify_verify(s->bank, body ? body : "", len, 0, &n, &pe)
                     : PAYGATE_ERR_ARG;
    if (rc == PAYGATE_OK && (shop_order_get(s, n.order_id, &o) != 0 || n.amount != o.amount ||
                             strcmp(o.method, "bank") != 0))
        rc = PAYGATE_ERR_MISMATCH;
    if (rc != PAYGATE_OK) {
        PAY_WARN("shop.notify_refused", "source=bank status=%s code=%s msg=\"%s\"",
                 paygate_status_name(rc), pe.code, pe.message);
        pay_http_respond_text(req, 400, "refused");
        return PAY_ERR_OK;
    }
    rc = paygate_notify_once(n.notify_id, paygate_seen_db_fn, s->seen);
    if (rc == PAYGATE_OK && strcmp(n.status, "SUCCESS") == 0 &&
        shop_order_mark_paid(s, o.id, n.tran_serial_no, "notify") == 1)
        PAY_INFO("shop.order_paid", "order=%s via=bank-notify notify_id=%s", o.id, n.notify_id);
    pay_http_respond_text(req, rc == PAYGATE_ERR_INTERNAL ? 500 : 200,
                          rc == PAYGATE_ERR_INTERNAL ? "retry" : "OK");
    return PAY_ERR_OK;
}

enum pay_err shop_add_pay_routes(struct shop *s, struct pay_http_server *srv, struct pay_error *err)
{
    const struct pay_http_route r[] = {
        {"POST", "/checkout", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_checkout, s},
        {"GET", "/orders/{id}", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_order, s},
        {"POST", "/notify/platform", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_notify_platform, s},
        {"POST", "/notify/bank", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_notify_bank, s},
    };
    return pay_http_server_add_routes(srv, r, sizeof r / sizeof r[0], err);
}
