/* The consumer's trades in the wallet (docs/platform.md, "Escrow" and "Refund requests"): the
 * list of what they paid, each trade's page with its shipment, refunds and refund requests,
 * confirming receipt of an escrow trade with the payment password, and asking for a refund. */
#include "platform/platform.h"

#include "core/buf.h"
#include "crypto/ids.h"
#include "core/limits.h"
#include "core/money.h"
#include "crypto/crypto.h"
#include "http/server.h"
#include "http/template.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct tpage {
    struct pay_platform *p;
    struct pay_http_request *req;
    char consumer_id[PAY_ID_MAX];
    char csrf[PAY_PLATFORM_TOKEN_TEXT_MAX];
    char login[PAY_PLATFORM_LOGIN_MAX + 1];
    struct pay_platform_trade t;
};

/* The session; a page without one goes to the wallet's login. false when answered. */
static bool tload(struct tpage *w, struct pay_http_request *req)
{
    memset(w, 0, sizeof *w);
    w->p = pay_http_req_ctx(req);
    w->req = req;
    struct pay_error ignore = {0};
    if (pay_platform_session_get(w->p, pay_http_req_cookie(req, "pf_session"), w->consumer_id,
                                 w->csrf, w->login, &ignore) == PAY_ERR_OK)
        return true;
    /* back to this trade after the login (a shop's "confirm receipt" link, say) */
    const char *id = pay_http_req_param(req, "trade_id");
    pay_http_respond_redirect(req,
                              id && pay_id_valid(id, "tr")
                                  ? pay_http_req_printf(req, "/wallet?next=/wallet/trades/%s", id)
                                  : "/wallet");
    return false;
}

/* Whether the trade's receipt can be had now: a signed head covers its payment (until the
 * sweeper's next head, about a minute after paying, the receipt answers RECEIPT_PENDING). */
static bool receipt_ready(struct pay_platform *p, const char *trade_id)
{
    json_t *r = NULL;
    struct pay_error e = {0};
    bool ready = pay_platform_receipt_json(p, trade_id, &r, &e) == PAY_ERR_OK;
    json_decref(r);
    return ready;
}

/* The consumer's own trade of the path; TRADE_NOT_FOUND for anyone else's. */
static enum pay_err tget(struct tpage *w, struct pay_error *err)
{
    const char *id = pay_http_req_param(w->req, "trade_id");
    if (!id || !pay_id_valid(id, "tr"))
        return pay_error_set(err, PAY_ERR_TRADE_NOT_FOUND, "trade_id", NULL);
    enum pay_err e = pay_platform_trade_get(w->p, NULL, id, NULL, &w->t, err);
    if (e == PAY_ERR_OK && strcmp(w->t.buyer_id, w->consumer_id) != 0)
        e = pay_error_set(err, PAY_ERR_TRADE_NOT_FOUND, "trade_id", NULL);
    return e;
}

static json_t *requests_json(struct tpage *w, bool *open)
{
    struct pay_platform_refund_request rr[PAY_PLATFORM_REQUESTS_PER_TRADE_MAX];
    size_t n = 0;
    struct pay_error e = {0};
    json_t *arr = json_array();
    *open = false;
    if (pay_platform_refund_requests_list(
            w->p, w->t.id, NULL, rr, PAY_PLATFORM_REQUESTS_PER_TRADE_MAX, &n, &e) != PAY_ERR_OK)
        return arr;
    for (size_t i = 0; i < n; i++) {
        char amount[PAY_MONEY_TEXT_MAX + 1] = "";
        pay_money_format(rr[i].amount_minor, rr[i].currency, amount, sizeof amount);
        *open |= strcmp(rr[i].status, PAY_RR_WAIT_MERCHANT) == 0 ||
                 strcmp(rr[i].status, PAY_RR_WAIT_OPERATOR) == 0;
        json_array_append_new(
            arr,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "id", rr[i].id, "status",
                      rr[i].status, "status_text", pay_platform_request_text(w->req, rr[i].status),
                      "amount", amount, "amount_text",
                      pay_http_req_money(w->req, rr[i].amount_minor, rr[i].currency), "reason",
                      rr[i].reason, "reject_reason", rr[i].reject_reason, "goods_returned",
                      rr[i].goods_returned));
    }
    return arr;
}

static void trender(struct tpage *w, int status, const char *error, json_t *notice)
{
    const struct pay_platform_trade *t = &w->t;
    char amount[PAY_MONEY_TEXT_MAX + 1] = "", left[PAY_MONEY_TEXT_MAX + 1] = "";
    int64_t left_minor = 0;
    if (pay_money_sub(t->amount_minor, t->refunded_minor, &left_minor) != PAY_ERR_OK)
        left_minor = 0;
    pay_money_format(t->amount_minor, t->currency, amount, sizeof amount);
    pay_money_format(left_minor, t->currency, left, sizeof left);
    struct pay_platform_merchant m = {0};
    struct pay_error e = {0};
    bool have_m = pay_platform_merchant_get(w->p, t->merchant_id, &m, &e) == PAY_ERR_OK;
    bool open = false;
    json_t *reqs = requests_json(w, &open);
    bool refundable =
        (strcmp(t->state, PAY_TRADE_SUCCESS) == 0 || pay_platform_trade_in_escrow(t)) &&
        left_minor > 0;
    json_t *ctx = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:b, s:b,"
        " s:b}",
        "platform", w->p->set.name, "csrf", w->csrf, "login", w->login, "trade_id", t->id,
        "subject", t->subject, "merchant", have_m ? m.name : t->merchant_id, "amount", amount,
        "amount_text", pay_http_req_money(w->req, t->amount_minor, t->currency), "refunded_text",
        pay_http_req_money(w->req, t->refunded_minor, t->currency), "left", left, "state", t->state,
        "state_text", pay_platform_state_text(w->req, t->state), "logistics_company",
        t->logistics_company, "tracking_no", t->tracking_no, "requests", reqs, "can_confirm",
        strcmp(t->state, PAY_TRADE_WAIT_CONFIRM) == 0 && !open, "can_request", refundable && !open,
        "escrow", strcmp(t->product, "escrow") == 0);
    if (have_m)
        pay_platform_merchant_fini(&m);
    if (ctx) /* a paid trade has its receipt (docs/receipts.md) */
        json_object_set_new(ctx, "paid", json_boolean(t->paid_ms > 0));
    if (ctx && t->paid_ms > 0) /* its link once a signed head covers it, else when it will */
        json_object_set_new(ctx, "receipt_ready", json_boolean(receipt_ready(w->p, t->id)));
    if (ctx && t->confirm_due_ms > 0)
        json_object_set_new(ctx, "confirm_by",
                            json_string(pay_http_req_time(w->req, t->confirm_due_ms)));
    if (ctx && error)
        json_object_set_new(ctx, "error", json_string(error));
    if (ctx && notice)
        json_object_set(ctx, "notice", notice);
    json_decref(notice);
    pay_http_respond_page_url(w->req, pay_http_req_printf(w->req, "/wallet/trades/%s", t->id));
    pay_http_respond_template(w->req, status, "wallet_trade", ctx);
    json_decref(ctx);
}

static enum pay_err h_trade(struct pay_http_request *req, struct pay_error *err)
{
    struct tpage w;
    if (!tload(&w, req))
        return PAY_ERR_OK;
    enum pay_err e = tget(&w, err);
    if (e == PAY_ERR_OK)
        trender(&w, 200, NULL, NULL);
    return e;
}

/* A POST of the trade's page: the session, the form's CSRF token and the trade. */
static enum pay_err tpost(struct tpage *w, struct pay_http_request *req, struct pay_error *err)
{
    if (!tload(w, req))
        return pay_error_set(err, PAY_ERR_UNAUTHENTICATED, "", N_("Please log in again."));
    const char *csrf = pay_http_req_form_get(req, "csrf");
    size_t n = strlen(w->csrf);
    if (!csrf || n < 16 || strlen(csrf) != n || !pay_ct_equal(csrf, w->csrf, n))
        return pay_error_set(err, PAY_ERR_CSRF_INVALID, "csrf", NULL);
    return tget(w, err);
}

static const char *f(struct pay_http_request *req, const char *name)
{
    const char *v = pay_http_req_form_get(req, name);
    return v ? v : "";
}

/* POST /wallet/trades/{trade_id}/confirm (pay_password): receipt confirmed, the money is the
 * merchant's. */
static enum pay_err h_confirm(struct pay_http_request *req, struct pay_error *err)
{
    struct tpage w;
    enum pay_err e = tpost(&w, req, err);
    if (e != PAY_ERR_OK)
        return e;
    e = pay_platform_consumer_check_pay_password(w.p, w.consumer_id, f(req, "pay_password"), err);
    if (e == PAY_ERR_OK)
        e = pay_platform_escrow_confirm(w.p, w.consumer_id, w.t.id, err);
    PAY_INFO("wallet.receipt_confirmed", "trade=%s result=%s", w.t.id, pay_err_name(e));
    if (e == PAY_ERR_OK)
        pay_platform_wake(w.p);
    struct pay_error gerr = {0};
    if (pay_platform_trade_get(w.p, NULL, w.t.id, NULL, &w.t, &gerr) != PAY_ERR_OK)
        return gerr.code;
    trender(&w, pay_err_http_status(e), pay_platform_error_for(req, e, err),
            e == PAY_ERR_OK ? pay_platform_notice("receipt-confirmed",
                                                  pay_http_req_tr(req, "Receipt confirmed."))
                            : NULL);
    return PAY_ERR_OK;
}

/* POST /wallet/trades/{trade_id}/refund-request (amount, reason, goods_returned). */
static enum pay_err h_request(struct pay_http_request *req, struct pay_error *err)
{
    struct tpage w;
    enum pay_err e = tpost(&w, req, err);
    if (e != PAY_ERR_OK)
        return e;
    struct pay_platform_refund_request r = {0};
    pay_str_copy(r.trade_id, sizeof r.trade_id, w.t.id);
    pay_str_copy(r.consumer_id, sizeof r.consumer_id, w.consumer_id);
    pay_str_copy(r.currency, sizeof r.currency, w.t.currency);
    r.goods_returned = strcmp(f(req, "goods_returned"), "1") == 0;
    const char *reason = f(req, "reason");
    e = pay_money_parse_amount(f(req, "amount"), w.t.currency, "amount", &r.amount_minor, err);
    if (e == PAY_ERR_OK && strlen(reason) > PAY_TEXT_FIELD_MAX)
        e = pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, "reason", NULL);
    if (e == PAY_ERR_OK) {
        pay_str_copy(r.reason, sizeof r.reason, reason);
        e = pay_platform_refund_request_create(w.p, &r, err);
    }
    PAY_INFO("wallet.refund_requested", "trade=%s result=%s", w.t.id, pay_err_name(e));
    struct pay_error gerr = {0};
    if (pay_platform_trade_get(w.p, NULL, w.t.id, NULL, &w.t, &gerr) != PAY_ERR_OK)
        return gerr.code;
    trender(&w, pay_err_http_status(e), pay_platform_error_for(req, e, err),
            e == PAY_ERR_OK
                ? pay_platform_notice("refund-requested",
                                      pay_http_req_tr(req, "Refund requested: the merchant will "
                                                           "answer."))
                : NULL);
    return PAY_ERR_OK;
}

struct list_ctx {
    const char *consumer_id;
    struct pay_platform_trade *t;
    size_t n;
};

static enum pay_err list_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct list_ctx *l = ctx;
    char ids[PAY_PLATFORM_WALLET_TRADES_MAX][PAY_ID_MAX];
    size_t n = 0;
    l->n = 0;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT id FROM pf_trades WHERE buyer_id = $1 ORDER BY created_ms DESC, id DESC LIMIT $2",
        "ti", l->consumer_id, (int64_t)PAY_PLATFORM_WALLET_TRADES_MAX);
    if (!st)
        return err->code;
    while (n < PAY_PLATFORM_WALLET_TRADES_MAX && pay_store_step(st, err) == 1)
        pay_str_copy(ids[n++], PAY_ID_MAX, pay_store_col_text(st, 0));
    pay_store_done(st);
    for (size_t i = 0; i < n; i++) {
        enum pay_err e = pay_platform_trade_load(tx, NULL, ids[i], NULL, &l->t[l->n], err);
        if (e != PAY_ERR_OK)
            return e;
        l->n++;
    }
    return PAY_ERR_OK;
}

json_t *pay_platform_wallet_trades_json(struct pay_platform *p, struct pay_http_request *req,
                                        const char *consumer_id)
{
    struct pay_platform_trade *t =
        calloc(PAY_PLATFORM_WALLET_TRADES_MAX, sizeof *t); /* ~60 KB: heap */
    json_t *arr = json_array();
    struct pay_error err = {0};
    struct list_ctx l = {consumer_id, t, 0};
    if (t && pay_store_run_read(p->store, list_tx, &l, &err) == PAY_ERR_OK)
        for (size_t i = 0; i < l.n; i++)
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", t[i].id, "subject", t[i].subject,
                               "state", t[i].state, "state_text",
                               pay_platform_state_text(req, t[i].state), "amount_text",
                               pay_http_req_money(req, t[i].amount_minor, t[i].currency)));
    free(t);
    return arr;
}

/* GET /wallet/trades/{trade_id}/receipt: the payer's copy of the trade's receipt
 * (docs/receipts.md), a JSON file to keep; the same the merchant gets. */
static enum pay_err h_receipt(struct pay_http_request *req, struct pay_error *err)
{
    struct tpage w;
    if (!tload(&w, req))
        return PAY_ERR_OK;
    json_t *r = NULL;
    enum pay_err e = tget(&w, err);
    if (e == PAY_ERR_OK)
        e = pay_platform_receipt_json(w.p, w.t.id, &r, err);
    char *text = e == PAY_ERR_OK ? json_dumps(r, JSON_COMPACT) : NULL;
    json_decref(r);
    if (e == PAY_ERR_OK && !text)
        e = pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    if (e != PAY_ERR_OK)
        return e;
    pay_http_respond_header(
        req, "Content-Disposition",
        pay_http_req_printf(req, "attachment; filename=\"receipt-%s.json\"", w.t.id));
    pay_http_respond_bytes(req, 200, "application/json", text, strlen(text));
    free(text);
    return PAY_ERR_OK;
}

const struct pay_http_route *pay_platform_wallet_trade_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/wallet/trades/{trade_id}", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_trade, NULL},
        {"GET", "/wallet/trades/{trade_id}/receipt", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_receipt,
         NULL},
        {"POST", "/wallet/trades/{trade_id}/confirm", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_confirm,
         NULL},
        {"POST", "/wallet/trades/{trade_id}/refund-request", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM,
         h_request, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
