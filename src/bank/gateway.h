/* Shared by the gateway's page handlers (gateway.c: the order's arrival and the routes;
 * gateway_session.c: the session and the page frame; gateway_steps.c, gateway_net.c,
 * gateway_upop.c: the ways to pay; gateway_result.c: the result page). */
#ifndef PAY_BANK_GATEWAY_H
#define PAY_BANK_GATEWAY_H

#include "bank/bank.h"
#include "http/server.h"

#include <jansson.h>

struct gw_session {
    char id[PAY_BANK_SESSION_MAX];
    bool found;
    char order_pk[PAY_ID_MAX];
    char csrf[PAY_BANK_SESSION_MAX];
    char stage[16];
    char card_id[PAY_ID_MAX];
    char sms_hash[PAY_OTP_HASH_LEN];
    int64_t sms_expires_ms, created_ms, paid_ms;
    char mer_id[PAY_MERCHANT_ID_FIELD_MAX + 1];
    char order_id[PAY_MERCHANT_ID_FIELD_MAX + 1];
    int64_t amount_minor;
    char currency[4];
    char goods_name[PAY_TEXT_FIELD_MAX + 1];
    char notify_type[3];
    char mer_url[PAY_URL_MAX + 1];
    char return_url[PAY_URL_MAX + 1];
    char status[16];
    char merchant_name[PAY_TEXT_FIELD_MAX + 1];
};

/* gateway_session.c */
/* The cookie that carries a payment's session from step to step. */
#define GW_SESSION_COOKIE "bank_session"
enum pay_err gw_session_load(struct pay_bank *b, const char *id, struct gw_session *s,
                             struct pay_error *err);
enum pay_err gw_step_begin(struct pay_http_request *req, struct gw_session *s,
                           struct pay_error *err);
/* The page context in the request's language: bank, order summary, CSRF token. */
json_t *gw_page_ctx(struct pay_http_request *req, const struct gw_session *s, const char *error);
void gw_card_ctx(json_t *ctx, const struct pay_bank_card *c);

enum pay_err gw_card_handler(struct pay_http_request *req, struct pay_error *err);
enum pay_err gw_password_handler(struct pay_http_request *req, struct pay_error *err);
enum pay_err gw_sms_handler(struct pay_http_request *req, struct pay_error *err);
enum pay_err gw_confirm_handler(struct pay_http_request *req, struct pay_error *err);
/* gateway_result.c: the result page of the session's order. */
void gw_render_result(struct pay_http_request *req, struct pay_bank *b, const char *session);
/* A step posted after the order was paid (back button, double submit) shows the result: true. */
bool gw_already_paid(struct pay_http_request *req, const struct gw_session *s);

/* gateway_net.c: another bank's card, paid through the card network (docs/switch.md). */
/* True when the bank acquires through the network and card_no is not of its own BIN. */
bool gw_net_offered(const struct pay_bank *b, const char *card_no);
/* The network card page (number, expiry, CVN2) with the number typed so far, an error and the
 * response code (data-rc) of a decline; error and rc may be NULL. */
void gw_net_card_page(struct pay_http_request *req, const struct gw_session *s, int status,
                      const char *card_no, const char *error, const char *rc);
/* What the shopper reads for a response code (data element 39): a msgid to translate. */
const char *gw_net_decline_text(const char *rc);
/* An approval through the network, in the transaction that records it (the on_approved of
 * pay_bank_net_auth, ctx a struct gw_net_paid): the order paid, the merchant credited from the
 * interbank receivable (the network owes us until settlement), the notification queued. */
struct gw_net_paid {
    struct pay_bank *b;
    const struct gw_session *s;
    char notify_id[PAY_ID_MAX];
};
enum pay_err gw_net_paid_apply(struct pay_store_tx *tx, void *ctx, const char *trace, bool *taken,
                               struct pay_error *err);
/* POST /b2c/net: the authorization through the switch, then the result. */
enum pay_err gw_net_handler(struct pay_http_request *req, struct pay_error *err);
/* The card network's online payment page (银联在线支付): opens the switch's session for the
 * order and sends the browser there (a page that moves on by itself). */
enum pay_err gw_upop_start(struct pay_http_request *req, const struct gw_session *s,
                           struct pay_error *err);
/* GET /b2c/upop/return: back from the switch's page; the payment authorized with the card the
 * issuer verified there, then the result (or the switch's page again when it is not done). */
enum pay_err gw_upop_return_handler(struct pay_http_request *req, struct pay_error *err);
/* Where "back to the merchant" goes: returnURL, else merURL's origin ("" when neither). */
void gw_back_url(const struct gw_session *s, char out[PAY_URL_MAX + 1]);
/* POST /b2c/restart: another card (after a refusal, or a change of mind): the session goes back
 * to the card number step and forgets the card and its SMS code. */
enum pay_err gw_restart_handler(struct pay_http_request *req, struct pay_error *err);
/* GET /b2c/page: the session's current step again (a reload, or the language switch). */
enum pay_err gw_page_handler(struct pay_http_request *req, struct pay_error *err);

#endif
