/* The gateway's result page (the order paid or not, the card, the notification's fate), shown
 * at the end of every way to pay (gateway_steps.c, gateway_net.c, gateway_upop.c) and to a step
 * posted after the order was paid. Calls none of those files. */
#include "bank/gateway.h"
#include "core/timeutil.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <string.h>

static const char *notify_text(struct pay_http_request *req, const char *status)
{
    return strcmp(status, "DELIVERED") == 0 ? pay_http_req_trc(req, "notification", "Yes")
           : strcmp(status, "PENDING") == 0
               ? pay_http_req_trc(req, "notification", "Not yet; the bank keeps trying")
           : strcmp(status, "FAILED") == 0 ? pay_http_req_trc(req, "notification", "Failed")
                                           : status;
}

/* --- the result page ------------------------------------------------------------------------ */

struct result_ctx {
    const struct gw_session *s;
    char card_id[PAY_ID_MAX];
    struct pay_bank_card card;
    bool have_card;
    char net_last4[5]; /* paid with another bank's card: its last four (docs/switch.md) */
    char notify_status[16];
};

static enum pay_err result_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct result_ctx *r = ctx;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT COALESCE(o.card_id, ''), COALESCE(n.status, '') FROM bank_orders o"
                        " LEFT JOIN bank_notifications n ON n.order_pk = o.id WHERE o.id = $1",
                        "t", r->s->order_pk);
    if (!st)
        return err->code;
    if (pay_store_step(st, err) == 1) {
        pay_store_col_copy(st, 0, r->card_id, sizeof r->card_id);
        pay_store_col_copy(st, 1, r->notify_status, sizeof r->notify_status);
    }
    pay_store_done(st);
    if (r->card_id[0]) {
        r->have_card = pay_bank_card_get(tx, r->card_id, &r->card, err) == PAY_ERR_OK;
        return PAY_ERR_OK;
    }
    st = pay_store_query(tx, err,
                         "SELECT last4 FROM bank_net_acquired WHERE order_pk = $1 AND mti = '0100'"
                         " AND response_code = '00'",
                         "t", r->s->order_pk);
    if (st && pay_store_step(st, err) == 1)
        pay_store_col_copy(st, 0, r->net_last4, sizeof r->net_last4);
    pay_store_done(st);
    return PAY_ERR_OK;
}

void gw_render_result(struct pay_http_request *req, struct pay_bank *b, const char *session)
{
    struct gw_session s;
    struct pay_error err = {0};
    if (gw_session_load(b, session, &s, &err) != PAY_ERR_OK) {
        pay_http_respond_error(req, &err);
        return;
    }
    struct result_ctx r = {.s = &s};
    (void)pay_store_run_read(b->store, result_tx, &r, &err);
    json_t *ctx = gw_page_ctx(req, &s, NULL);
    if (!ctx) {
        pay_http_respond_code(req, PAY_ERR_INTERNAL);
        return;
    }
    if (r.have_card)
        gw_card_ctx(ctx, &r.card);
    else if (r.net_last4[0]) { /* the acquirer knows only the last four of another bank's card */
        char masked[PAY_BANK_MASKED_MAX];
        snprintf(masked, sizeof masked, "**** %s", r.net_last4);
        json_object_set_new(ctx, "card_masked", json_string(masked));
    }
    char when[PAY_TIME_TEXT_MAX] = "";
    if (s.paid_ms)
        pay_time_format_rfc3339(s.paid_ms, when);
    json_object_set_new(ctx, "paid", json_boolean(strcmp(s.status, "CREATED") != 0));
    json_object_set_new(ctx, "tran_serial_no", json_string(s.order_pk));
    json_object_set_new(ctx, "tran_time", json_string(when));
    json_object_set_new(ctx, "tran_time_text", json_string(pay_http_req_time(req, s.paid_ms)));
    if (r.notify_status[0]) {
        json_object_set_new(ctx, "notify_status", json_string(r.notify_status));
        json_object_set_new(ctx, "notify_text", json_string(notify_text(req, r.notify_status)));
    }
    pay_http_respond_template(req, 200, "result", ctx);
    json_decref(ctx);
}

/* A step posted after the order was paid (back button, double submit) shows the result. */
bool gw_already_paid(struct pay_http_request *req, const struct gw_session *s)
{
    if (strcmp(s->status, "CREATED") == 0)
        return false;
    gw_render_result(req, pay_http_req_ctx(req), s->id);
    return true;
}
