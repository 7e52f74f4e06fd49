/* The payment page for another bank's card (docs/switch.md): when the card number typed on the
 * card step is not of our BIN and the bank acquires through the card network, the shopper
 * gives the card's expiry and CVN2, and the payment is authorized by the card's bank through
 * the switch (net_acquirer.c). An approval pays the order as the bank's own cards do (the
 * merchant credited, notified); a decline or no answer leaves it unpaid and says why. */
#include "bank/gateway.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <string.h>

bool gw_net_offered(const struct pay_bank *b, const char *card_no)
{
    char pan[20];
    if (!b->net.enabled || !b->net.acquirer || !card_no || pay_bank_pan_normalise(card_no, pan))
        return false;
    bool other = strncmp(pan, b->opt.bin, strlen(b->opt.bin)) != 0;
    pay_wipe(pan, sizeof pan);
    return other;
}

void gw_net_card_page(struct pay_http_request *req, const struct gw_session *s, int status,
                      const char *card_no, const char *error, const char *rc)
{
    json_t *ctx = gw_page_ctx(req, s, error);
    if (ctx && card_no)
        json_object_set_new(ctx, "card_no", json_string(card_no));
    if (ctx && rc)
        json_object_set_new(ctx, "rc", json_string(rc));
    pay_http_respond_template(req, status, "net_card", ctx);
    json_decref(ctx);
}

/* The card data from the form, or the message that says what is wrong with it. */
static const char *read_card(struct pay_http_request *req, struct pay_net_card *c)
{
    return pay_net_card_read(pay_http_req_form_get(req, "cardNo"),
                             pay_http_req_form_get(req, "expiry"),
                             pay_http_req_form_get(req, "cvn2"), c);
}

const char *gw_net_decline_text(const char *rc)
{
    static const struct {
        const char *rc, *text;
    } texts[] = {
        {"51", N_("The card's bank declined the payment: insufficient funds.")},
        {"54", N_("The card has expired.")},
        {"55", N_("The expiry date or CVN2 does not match the card.")},
        {"N7", N_("The expiry date or CVN2 does not match the card.")},
        {"75", N_("The card is locked after too many wrong tries; try again later.")},
        {"14", N_("The card's bank does not know this card number.")},
        {"92", N_("This card cannot be used here: no bank of the card network issues it.")},
        {"91", N_("The card network did not answer in time. Nothing was debited; try again "
                  "later.")},
        {"96", N_("The card network did not answer in time. Nothing was debited; try again "
                  "later.")},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (strcmp(texts[i].rc, rc) == 0)
            return texts[i].text;
    return N_("The card's bank declined the payment.");
}

enum pay_err gw_net_paid_apply(struct pay_store_tx *tx, void *ctx, const char *trace, bool *taken,
                               struct pay_error *err)
{
    struct gw_net_paid *p = ctx;
    const struct gw_session *s = p->s;
    int64_t now = pay_clock_now_ms();
    *taken = false;
    p->notify_id[0] = '\0';
    struct pay_bank_merchant m;
    enum pay_err rc = pay_bank_merchant_get(tx, s->mer_id, &m, err);
    if (rc == PAY_ERR_OK)
        rc = pay_store_exec(tx, err,
                            "UPDATE bank_orders SET status = 'PAID', paid_ms = $2 WHERE id = $1"
                            " AND status = 'CREATED'",
                            "ti", s->order_pk, now);
    if (rc != PAY_ERR_OK || pay_store_changes(tx) == 0)
        return rc; /* paid meanwhile: the approval is reversed */
    char tid[PAY_ID_MAX + 8];
    snprintf(tid, sizeof tid, "pay:%s", s->order_pk);
    rc = pay_bank_transfer(p->b, tx, tid, p->b->net.receivable, m.account_id, s->amount_minor,
                           PAY_BANK_XFER_NET_PURCHASE, trace, err);
    if (rc == PAY_ERR_OK)
        rc = pay_store_exec(tx, err, "UPDATE bank_sessions SET stage = 'done' WHERE id = $1", "t",
                            s->id);
    if (rc == PAY_ERR_OK && strcmp(s->notify_type, "HS") == 0)
        rc = pay_bank_notify_create(p->b, tx, s->order_pk, now, p->notify_id, err);
    *taken = rc == PAY_ERR_OK;
    return rc;
}

enum pay_err gw_net_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    struct gw_session s;
    enum pay_err rc = gw_step_begin(req, &s, err);
    if (rc != PAY_ERR_OK || gw_already_paid(req, &s))
        return rc;
    const char *no = pay_http_req_form_get(req, "cardNo");
    if (!gw_net_offered(b, no)) {
        gw_net_card_page(req, &s, 400, no, pay_http_req_tr(req, "This is not a valid card number."),
                         NULL);
        return PAY_ERR_OK;
    }
    struct pay_net_card card;
    const char *bad = read_card(req, &card);
    if (!bad && strcmp(s.currency, PAY_BANK_CURRENCY) != 0)
        bad = N_("Cards of other banks pay in CNY only.");
    char idx[PAY_SHA256_HEX_LEN];
    if (!bad) {
        pay_bank_pan_index(b, card.pan, idx);
        if (!pay_bank_rate_allow(b, "card", idx, PAY_BANK_RATE_PER_CARD_PER_MIN))
            rc = pay_error_set(err, PAY_ERR_RATE_LIMITED, "cardNo", NULL);
    }
    if (bad || rc != PAY_ERR_OK) {
        pay_net_card_wipe(&card);
        if (bad)
            gw_net_card_page(req, &s, 400, no, pay_http_req_tr(req, bad), NULL);
        return rc;
    }
    struct gw_net_paid p = {.b = b, .s = &s};
    struct pay_bank_net_auth a = {.order_pk = s.order_pk,
                                  .mer_id = s.mer_id,
                                  .mer_name = s.merchant_name,
                                  .amount_minor = s.amount_minor,
                                  .card = &card,
                                  .on_approved = gw_net_paid_apply,
                                  .ctx = &p};
    rc = pay_bank_net_authorize(b, &a, err);
    pay_net_card_wipe(&card);
    if (rc != PAY_ERR_OK)
        return rc;
    if (!a.approved) {
        PAY_WARN("bank.payment_refused", "order=%s trace=%s rc=%s", s.order_pk, a.trace, a.rc);
        gw_net_card_page(req, &s, 402, no, pay_http_req_tr(req, gw_net_decline_text(a.rc)), a.rc);
        return PAY_ERR_OK;
    }
    PAY_INFO("bank.order_paid", "order=%s mer_id=%s order_id=%s amount=%lld network_trace=%s",
             s.order_pk, s.mer_id, s.order_id, (long long)s.amount_minor, a.trace);
    if (p.notify_id[0])
        pay_bank_notify_attempt(b, p.notify_id);
    gw_render_result(req, b, s.id);
    return PAY_ERR_OK;
}
