/* The gateway's session and page frame, used by every step's file (gateway_steps.c,
 * gateway_net.c, gateway_upop.c, gateway_result.c): the session and its order loaded, a step's
 * session cookie and CSRF token checked, the context every page shows (bank, order summary,
 * CSRF token, the card). Calls none of the steps. */
#include "bank/gateway.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/money.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "http/codec.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <string.h>

/* --- loading the session and its order ------------------------------------------------------ */

static enum pay_err load_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct gw_session *s = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT s.order_pk, s.csrf, s.stage, COALESCE(s.card_id, ''), COALESCE(s.sms_hash, ''),"
        " s.sms_expires_ms, s.created_ms, o.mer_id, o.order_id, o.amount_minor, o.currency,"
        " o.goods_name, o.notify_type, o.mer_url, o.return_url, o.status, m.name, o.paid_ms"
        " FROM bank_sessions s JOIN bank_orders o ON o.id = s.order_pk"
        " JOIN bank_merchants m ON m.mer_id = o.mer_id WHERE s.id = $1",
        "t", s->id);
    if (!st)
        return err->code;
    int r = pay_store_step(st, err);
    if (r == 1) {
#define COPY(f, i) pay_str_copy(s->f, sizeof s->f, pay_store_col_text(st, i))
        COPY(order_pk, 0);
        COPY(csrf, 1);
        COPY(stage, 2);
        COPY(card_id, 3);
        COPY(sms_hash, 4);
        s->sms_expires_ms = pay_store_col_int64(st, 5);
        s->created_ms = pay_store_col_int64(st, 6);
        COPY(mer_id, 7);
        COPY(order_id, 8);
        s->amount_minor = pay_store_col_int64(st, 9);
        COPY(currency, 10);
        COPY(goods_name, 11);
        COPY(notify_type, 12);
        COPY(mer_url, 13);
        COPY(return_url, 14);
        COPY(status, 15);
        COPY(merchant_name, 16);
        s->paid_ms = pay_store_col_int64(st, 17);
#undef COPY
        s->found = true;
    }
    pay_store_done(st);
    return r < 0 ? (err->code) : PAY_ERR_OK;
}

enum pay_err gw_session_load(struct pay_bank *b, const char *id, struct gw_session *s,
                             struct pay_error *err)
{
    memset(s, 0, sizeof *s);
    if (!id || strlen(id) >= sizeof s->id)
        return pay_error_set(err, PAY_ERR_UNAUTHENTICATED, "session",
                             N_("Your payment session has expired; start again from the "
                                "merchant's page."));
    pay_str_copy(s->id, sizeof s->id, id);
    enum pay_err rc = pay_store_run_read(b->store, load_tx, s, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (!s->found || pay_clock_now_ms() - s->created_ms > PAY_BANK_SESSION_TTL_MS)
        return pay_error_set(err, PAY_ERR_UNAUTHENTICATED, "session",
                             N_("Your payment session has expired; start again from the "
                                "merchant's page."));
    return PAY_ERR_OK;
}

/* Every step's prologue: rate limit, session from the cookie, CSRF token. */
enum pay_err gw_step_begin(struct pay_http_request *req, struct gw_session *s,
                           struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    pay_http_respond_page_url(req, "/b2c/page"); /* every step's page, and its errors */
    if (!pay_bank_rate_allow(b, "ip", pay_http_req_remote_ip(req), PAY_BANK_RATE_PER_IP_PER_MIN))
        return pay_error_set(err, PAY_ERR_RATE_LIMITED, "", NULL);
    enum pay_err rc = gw_session_load(b, pay_http_req_cookie(req, GW_SESSION_COOKIE), s, err);
    if (rc != PAY_ERR_OK)
        return rc;
    const char *csrf = pay_http_req_form_get(req, "csrf");
    if (!csrf || strlen(csrf) != strlen(s->csrf) || !pay_ct_equal(csrf, s->csrf, strlen(csrf)))
        return pay_error_set(err, PAY_ERR_CSRF_INVALID, "csrf", NULL);
    return PAY_ERR_OK;
}

void gw_back_url(const struct gw_session *s, char out[PAY_URL_MAX + 1])
{
    struct pay_url u;
    struct pay_error err = {0};
    if (s->return_url[0])
        pay_str_copy(out, PAY_URL_MAX + 1, s->return_url);
    else if (pay_url_parse(s->mer_url, "merURL", &u, &err) == PAY_ERR_OK)
        snprintf(out, PAY_URL_MAX + 1, "%s://%s:%d/", u.scheme, u.host, u.port);
    else
        out[0] = '\0';
}

/* The page context: bank, order summary, the way back to the merchant and the CSRF token.
 * Caller json_decref()s. */
json_t *gw_page_ctx(struct pay_http_request *req, const struct gw_session *s, const char *error)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    char amount[PAY_MONEY_TEXT_MAX];
    if (pay_money_format(s->amount_minor, s->currency, amount, sizeof amount) < 0)
        snprintf(amount, sizeof amount, "%lld", (long long)s->amount_minor);
    json_t *ctx =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "bank_name",
                  pay_bank_display_name(b, req), "merchant_name", s->merchant_name, "mer_id",
                  s->mer_id, "order_id", s->order_id, "goods_name", s->goods_name, "amount_value",
                  amount, "amount_text", pay_http_req_money(req, s->amount_minor, s->currency),
                  "currency", s->currency, "csrf", s->csrf);
    if (ctx && error)
        json_object_set_new(ctx, "error", json_string(error));
    char back[PAY_URL_MAX + 1];
    gw_back_url(s, back);
    if (ctx && back[0]) /* every step can be given up: back to the merchant */
        json_object_set_new(ctx, "back_url", json_string(back));
    return ctx;
}

void gw_card_ctx(json_t *ctx, const struct pay_bank_card *c)
{
    char masked[PAY_BANK_MASKED_MAX];
    snprintf(masked, sizeof masked, "%s******%s", c->bin, c->last4);
    size_t pl = strlen(c->phone);
    json_object_set_new(ctx, "card_masked", json_string(masked));
    json_object_set_new(ctx, "phone_last4", json_string(pl >= 4 ? c->phone + pl - 4 : ""));
}
