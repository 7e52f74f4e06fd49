/* The shop admin's page (every order, the balance at the platform) and order actions
 * (docs/shop.md): shipping with a tracking number (an escrow
 * order ships on the platform too: POST /v1/trades/{id}/ship, through libpaygate) and refunds
 * of any part of what is left, each shown on a confirmation page before any money moves. A
 * refund has a number (the order's refunds + 1), carried by the confirmation form: the refund's
 * out_refund_no is made of it, so a form posted twice refunds once. */
#include "shop/shop_internal.h"

#include "core/assertions.h"
#include "core/log.h"
#include "core/money.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The admin's order of the path (*who: the admin, request memory); answers the reason it may
 * not act (shop_staff_page: a session, its CSRF token, the admin's role). */
static enum pay_err admin_order(struct pay_http_request *req, struct shop_order *o,
                                const struct shop_staff **who, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    enum pay_err e;
    if (!(*who = shop_staff_page(req, SHOP_ROLE_ADMIN, &e, err))) {
        PAY_ASSERT(e != PAY_ERR_OK); /* POST routes only: refused, never redirected */
        return e;
    }
    const char *id = pay_http_req_param(req, "id");
    if (!id || shop_order_get(s, id, o) != 0)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, NULL, "no such order");
    return PAY_ERR_OK;
}

static const char *form(struct pay_http_request *req, const char *name)
{
    const char *v = pay_http_req_form_get(req, name);
    return v ? v : "";
}

/* A shipment's field: 1-64 bytes, no control characters (the platform's rule). */
static enum pay_err shipment_text(const char *v, const char *field, struct pay_error *err)
{
    size_t n = strlen(v);
    if (n == 0)
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, field, NULL);
    if (n > PAY_PLATFORM_LOGISTICS_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, field, NULL);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, field, N_("no control characters"));
    return PAY_ERR_OK;
}

/* POST /admin/orders/{id}/ship (logistics_company, tracking_no): a paid order shipped. */
static enum pay_err h_ship(struct pay_http_request *req, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    struct shop_order o;
    const struct shop_staff *who;
    enum pay_err e = admin_order(req, &o, &who, err);
    if (e != PAY_ERR_OK)
        return e;
    if (strcmp(o.state, "paid") != 0 && strcmp(o.state, "cod") != 0)
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, NULL,
                             N_("only a paid or cash-on-delivery order ships"));
    const char *company = form(req, "logistics_company"), *tracking = form(req, "tracking_no");
    if ((e = shipment_text(company, "logistics_company", err)) != PAY_ERR_OK ||
        (e = shipment_text(tracking, "tracking_no", err)) != PAY_ERR_OK)
        return e;
    if (strcmp(o.method, "escrow") == 0) { /* the platform holds the money until receipt */
        paygate_error pe = {0};
        paygate_trade t;
        if (paygate_trade_ship(s->platform, o.trade_id, company, tracking, &t, &pe) != PAYGATE_OK)
            return pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, NULL, "ship: %s %s", pe.code,
                                 pe.message);
    }
    if (shop_order_ship(s, o.id, company, tracking) == 1)
        PAY_INFO("shop.order_shipped", "order=%s method=%s", o.id, o.method);
    pay_http_respond_redirect(req, "/admin");
    return PAY_ERR_OK;
}

/* What is left to refund of a paid or shipped order (0: nothing can be). */
static int64_t refundable(const struct shop_order *o)
{
    if (strcmp(o->method, "cod") == 0) /* cash goes back by hand */
        return 0;
    if (strcmp(o->state, "paid") != 0 && strcmp(o->state, "shipped") != 0)
        return 0;
    int64_t left = 0;
    enum pay_err e = pay_money_sub(o->amount, o->refunded, &left);
    PAY_ASSERT_MSG(e == PAY_ERR_OK && o->refunded >= 0 && left >= 0, "order %s", o->id);
    return left;
}

/* The refund's amount: the form's `amount` ("" for all that is left), at most what is left. */
static enum pay_err refund_amount(struct pay_http_request *req, int64_t left, int64_t *amount,
                                  struct pay_error *err)
{
    const char *text = form(req, "amount");
    if (!text[0]) {
        *amount = left;
        return PAY_ERR_OK;
    }
    enum pay_err e = pay_money_parse_amount(text, "CNY", "amount", amount, err);
    if (e == PAY_ERR_OK && *amount > left)
        e = pay_error_set(err, PAY_ERR_REFUND_EXCEEDS_PAID, "amount",
                          N_("more than is left to refund"));
    return e;
}

/* The confirmation page: nothing moves until its button is pressed. */
static void confirm_page(struct pay_http_request *req, const struct shop_staff *who,
                         const struct shop_order *o, int64_t amount, int64_t left)
{
    json_t *ctx = shop_staff_ctx(req, who, shop_order_json(req, o));
    if (ctx) {
        json_object_set_new(ctx, "seq", json_integer(o->refunds + 1));
        shop_money_json(req, ctx, "refund", amount);
        shop_money_json(req, ctx, "after", left - amount); /* 0 < amount <= left */
        json_object_set_new(ctx, "partial", json_boolean(amount < left));
    }
    shop_render(req, 200, "refund_confirm", ctx);
}

/* Refunds amount through whoever took the money; PAYGATE_OK or the failure in *pe. */
static int refund_upstream(struct shop *s, const struct shop_order *o, int seq, int64_t amount,
                           paygate_error *pe)
{
    char rid[64]; /* R + an order id (39 at most) + N + the number: within out_refund_no's 64 */
    snprintf(rid, sizeof rid, "R%.39sN%d", o->id, seq); /* the same for the same confirmation */
    paygate_refund r;
    if (strcmp(o->method, "bank") == 0)
        return s->bank ? paygate_bank_refund(s->bank, o->id, rid, amount, pe) : PAYGATE_ERR_ARG;
    return paygate_trade_refund(s->platform, o->trade_id, rid, amount, "CNY",
                                "refund from the shop admin", &r, pe);
}

/* POST /admin/orders/{id}/refund: amount (optional: all that is left) shows the confirmation
 * page; with confirm=1 and seq (the refund's number from that page) the refund runs. */
static enum pay_err h_refund(struct pay_http_request *req, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    struct shop_order o;
    const struct shop_staff *who;
    enum pay_err e = admin_order(req, &o, &who, err);
    if (e != PAY_ERR_OK)
        return e;
    bool confirmed = strcmp(form(req, "confirm"), "1") == 0;
    long seq = strtol(form(req, "seq"), NULL, 10);
    if (confirmed && seq > 0 && seq <= o.refunds) { /* this confirmation was carried out */
        pay_http_respond_redirect(req, "/admin");
        return PAY_ERR_OK;
    }
    int64_t left = refundable(&o), amount = 0;
    if (left == 0)
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, NULL,
                             N_("only a paid or shipped order with money left is refunded"));
    if ((e = refund_amount(req, left, &amount, err)) != PAY_ERR_OK)
        return e;
    if (!confirmed) {
        confirm_page(req, who, &o, amount, left);
        return PAY_ERR_OK;
    }
    if (seq != o.refunds + 1)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "seq", N_("confirm the refund again"));
    paygate_error pe = {0};
    if (refund_upstream(s, &o, (int)seq, amount, &pe) != PAYGATE_OK)
        return pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, NULL, "refund: %s %s", pe.code,
                             pe.message);
    int64_t total = 0;
    e = pay_money_add(o.refunded, amount, &total);
    PAY_ASSERT_MSG(e == PAY_ERR_OK && total <= o.amount, "order %s", o.id);
    (void)shop_order_refund_add(s, o.id, (int)seq, total);
    PAY_INFO("shop.order_refunded", "order=%s amount=%lld seq=%ld", o.id, (long long)amount, seq);
    pay_http_respond_redirect(req, "/admin");
    return PAY_ERR_OK;
}

/* The shop's balance at the platform (what the platform owes it), asked through the SDK
 * (GET /v1/balance) each time the page is shown. */
static void platform_balance(struct shop *s, struct pay_http_request *req, json_t *ctx)
{
    paygate_balance bal[8];
    size_t n = 0;
    paygate_error pe = {0};
    int rc = s->platform ? paygate_balance_query(s->platform, NULL, bal, 8, &n, &pe) : PAYGATE_OK;
    if (rc != PAYGATE_OK) {
        json_object_set_new(ctx, "balance_error", json_string(pe.message));
        return;
    }
    json_t *rows = json_array();
    for (size_t i = 0; i < n; i++) {
        char avail[48] = "", fees[48] = "";
        if (pay_money_format(bal[i].available, bal[i].currency, avail, sizeof avail) < 0 ||
            pay_money_format(bal[i].fees_charged, bal[i].currency, fees, sizeof fees) < 0)
            continue;
        json_array_append_new(
            rows,
            json_pack("{s:s, s:s, s:s, s:s, s:s}", "currency", bal[i].currency, "available", avail,
                      "available_text", pay_http_req_money(req, bal[i].available, bal[i].currency),
                      "fees", fees, "fees_text",
                      pay_http_req_money(req, bal[i].fees_charged, bal[i].currency)));
    }
    json_object_set_new(ctx, "balances", rows);
}

struct rows_ctx {
    struct pay_http_request *req;
    json_t *rows;
};

static void order_row(void *ctx, const struct shop_order *o)
{
    struct rows_ctx *r = ctx;
    json_array_append_new(r->rows, shop_order_json(r->req, o));
}

/* GET /admin: every order with its actions, the shop's balance at the platform, and the newest
 * entries of the staff's audit trail. */
static enum pay_err h_admin(struct pay_http_request *req, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    enum pay_err e;
    const struct shop_staff *who = shop_staff_page(req, SHOP_ROLE_ADMIN, &e, err);
    if (!who)
        return e;
    struct rows_ctx r = {req, json_array()};
    shop_order_list(s, NULL, order_row, &r);
    json_t *ctx = shop_staff_ctx(req, who, json_pack("{s:o}", "orders", r.rows));
    if (ctx)
        platform_balance(s, req, ctx);
    json_t *events = ctx ? shop_staff_events_json(req, s) : NULL;
    if (ctx) /* without the trail the page still shows the orders, and says so */
        json_object_set_new(ctx, events ? "has_staff_events" : "staff_events_error",
                            json_boolean(!events || json_array_size(events) > 0));
    if (events)
        json_object_set_new(ctx, "staff_events", events);
    shop_render(req, 200, "admin", ctx);
    return PAY_ERR_OK;
}

enum pay_err shop_add_admin_routes(struct shop *s, struct pay_http_server *srv,
                                   struct pay_error *err)
{
    const struct pay_http_route r[] = {
        {"GET", "/admin", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_admin, s},
        {"POST", "/admin/orders/{id}/refund", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_refund, s},
        {"POST", "/admin/orders/{id}/ship", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_ship, s},
    };
    return pay_http_server_add_routes(srv, r, sizeof r / sizeof r[0], err);
}
