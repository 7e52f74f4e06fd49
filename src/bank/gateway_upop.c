/* The card network's online payment page (银联在线支付, docs/switch.md) for an order of ours:
 * a B2C order form with payMethod=UNIONPAY opens a session at the switch (signed, keyed by our
 * order) and sends the shopper there (a page that moves on by itself); the switch's page takes any
 * member bank's card and the card's bank checks it by SMS code; back here (GET /b2c/upop/return,
 * the session cookie of the order) we read the switch's session (signed) and authorize the payment
 * with the card's token and the issuer's verification (net_acquirer.c). An approval pays the order
 * as the network card page does (gateway_net.c): the merchant credited, notified, the result page.
 */
#include "bank/gateway.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the session at the switch ------------------------------------------------------------- */

struct online_row {
    const char *session_id, *order_pk, *bank_session;
    char found[PAY_NET_ONLINE_ID_MAX + 1]; /* read: the order's latest session */
};

static enum pay_err online_save_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct online_row *r = ctx;
    return pay_store_exec(tx, err,
                          "INSERT INTO bank_net_online (session_id, order_pk, bank_session,"
                          " created_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (session_id) DO"
                          " NOTHING",
                          "ttti", r->session_id, r->order_pk, r->bank_session, pay_clock_now_ms());
}

static enum pay_err online_find_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct online_row *r = ctx;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT session_id FROM bank_net_online WHERE order_pk = $1 AND"
                        " bank_session = $2 ORDER BY created_ms DESC LIMIT 1",
                        "tt", r->order_pk, r->bank_session);
    if (!st)
        return err->code;
    if (pay_store_step(st, err) == 1)
        pay_store_col_copy(st, 0, r->found, sizeof r->found);
    pay_store_done(st);
    return PAY_ERR_OK;
}

/* A signed call to the switch for the online page: its answer (caller decrefs) when it is a
 * 200 with a sessionId and url, else UPSTREAM_FAILED. */
static enum pay_err switch_session(struct pay_bank *b, const char *path, const char *body,
                                   json_t **out, struct pay_error *err)
{
    long status = 0;
    json_t *a = NULL;
    struct pay_error ce = {0};
    enum pay_err rc = pay_bank_net_call(b, path, body, &status, &a, &ce);
    const char *id = json_string_value(json_object_get(a, "sessionId"));
    const char *url = json_string_value(json_object_get(a, "url"));
    if (rc != PAY_ERR_OK || status != 200 || !id || !url || strlen(id) > PAY_NET_ONLINE_ID_MAX ||
        strlen(url) > PAY_URL_MAX) {
        PAY_WARN("bank.upop_switch_failed", "path=%s status=%ld error=\"%s\"", path, status,
                 ce.detail);
        json_decref(a);
        return pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "",
                             N_("The card network is not available now; try again later or pay "
                                "with a card of this bank."));
    }
    *out = a;
    return PAY_ERR_OK;
}

enum pay_err gw_upop_start(struct pay_http_request *req, const struct gw_session *s,
                           struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    json_t *m = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "ref", s->order_pk, "de4",
                          (json_int_t)s->amount_minor, "de42", s->mer_id, "de43", s->merchant_name,
                          "de49", PAY_BANK_CURRENCY, "returnUrl", "");
    if (m)
        json_object_set_new(m, "returnUrl", json_sprintf("%s/b2c/upop/return", b->url));
    char *body = m ? json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(m);
    json_t *a = NULL;
    enum pay_err rc = body ? switch_session(b, "/net/v1/online/sessions", body, &a, err)
                           : pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    free(body);
    if (rc != PAY_ERR_OK)
        return rc;
    struct online_row r = {json_string_value(json_object_get(a, "sessionId")), s->order_pk, s->id,
                           ""};
    rc = pay_committer_submit(b->committer, online_save_apply, &r, err);
    json_t *ctx = rc == PAY_ERR_OK ? gw_page_ctx(req, s, NULL) : NULL;
    if (ctx) { /* a page that moves on by itself, not a 303: the merchant's page posted the
                * order here, and its CSP form-action (the platform's cashier) names only us */
        PAY_INFO("bank.upop_started", "order=%s", s->order_pk);
        json_object_set(ctx, "url", json_object_get(a, "url"));
        pay_http_respond_template(req, 200, "upop_redirect", ctx);
        json_decref(ctx);
    }
    json_decref(a);
    return rc;
}

/* --- back from the switch ---------------------------------------------------------------- */

/* The verified card of the switch's session a (VERIFIED: its token, verification and last
 * four), or false when the shopper has not finished there. */
static bool verified_card(json_t *a, const char **token, const char **vid)
{
    const char *state = json_string_value(json_object_get(a, "state"));
    *token = json_string_value(json_object_get(json_object_get(a, "de2"), "token"));
    *vid = json_string_value(json_object_get(json_object_get(a, "de61"), "verificationId"));
    return state && strcmp(state, "VERIFIED") == 0 && *token &&
           strlen(*token) <= PAY_NET_TOKEN_MAX && *vid && strlen(*vid) <= PAY_NET_ONLINE_ID_MAX;
}

/* The authorization with the verified card; the result page, or the decline on the bank's
 * network card page. */
static enum pay_err authorize(struct pay_http_request *req, const struct gw_session *s,
                              const char *token, const char *vid, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    struct gw_net_paid p = {.b = b, .s = s};
    struct pay_bank_net_auth a = {.order_pk = s->order_pk,
                                  .mer_id = s->mer_id,
                                  .mer_name = s->merchant_name,
                                  .amount_minor = s->amount_minor,
                                  .token = token,
                                  .vid = vid,
                                  .on_approved = gw_net_paid_apply,
                                  .ctx = &p};
    enum pay_err rc = pay_bank_net_authorize(b, &a, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (!a.approved) {
        PAY_WARN("bank.payment_refused", "order=%s trace=%s rc=%s", s->order_pk, a.trace, a.rc);
        gw_net_card_page(req, s, 402, NULL, pay_http_req_tr(req, gw_net_decline_text(a.rc)), a.rc);
        return PAY_ERR_OK;
    }
    PAY_INFO("bank.order_paid", "order=%s mer_id=%s order_id=%s amount=%lld network_trace=%s",
             s->order_pk, s->mer_id, s->order_id, (long long)s->amount_minor, a.trace);
    if (p.notify_id[0])
        pay_bank_notify_attempt(b, p.notify_id);
    gw_render_result(req, b, s->id);
    return PAY_ERR_OK;
}

enum pay_err gw_upop_return_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    struct gw_session s;
    pay_http_respond_page_url(req, "/b2c/page");
    enum pay_err rc = gw_session_load(b, pay_http_req_cookie(req, "bank_session"), &s, err);
    if (rc != PAY_ERR_OK || gw_already_paid(req, &s))
        return rc;
    struct online_row r = {.order_pk = s.order_pk, .bank_session = s.id};
    rc = pay_store_run_read(b->store, online_find_tx, &r, err);
    if (rc == PAY_ERR_OK && !r.found[0])
        rc = pay_error_set(err, PAY_ERR_NOT_FOUND, "session",
                           N_("This order was not sent to the card network's payment page."));
    char path[PAY_NET_ONLINE_ID_MAX + 32];
    snprintf(path, sizeof path, "/net/v1/online/sessions/%s", r.found);
    json_t *a = NULL;
    if (rc == PAY_ERR_OK)
        rc = switch_session(b, path, NULL, &a, err);
    const char *token = NULL, *vid = NULL;
    if (rc == PAY_ERR_OK && verified_card(a, &token, &vid))
        rc = authorize(req, &s, token, vid, err);
    else if (rc == PAY_ERR_OK) /* not finished there: back to the switch's page */
        pay_http_respond_redirect(req, json_string_value(json_object_get(a, "url")));
    json_decref(a);
    return rc;
}
