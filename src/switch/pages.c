/* The online payment page (银联在线支付), hosted by the switch (docs/switch.md): the acquirer
 * sends the shopper's browser to /upop/{session}; the shopper types the card (number, expiry,
 * CVN2, cardholder's name and phone), the card's bank checks it and texts a code, the shopper
 * types the code, and the browser goes back to the acquirer, which authorizes the payment. The
 * session id in the path is the browser's bearer secret; each form carries the session's CSRF
 * token. Pages in Chinese or English like every page (GET /upop/{session} shows the current
 * step again, also for the language switch). */
#include "switch/switch.h"
#include "core/buf.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "http/codec.h"
#include "http/server.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <string.h>

/* The page of step tpl ("upop_card" or "upop_sms") with the order and an error (may be NULL)
 * and the response code (data-rc) of a decline (may be NULL). */
static void render(struct pay_http_request *req, const struct pay_switch_online *s, int status,
                   const char *tpl, const char *error, const char *rc)
{
    struct pay_switch *sw = pay_http_req_ctx(req);
    json_t *ctx =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "switch_name", sw->opt.name,
                  "merchant_name", s->merchant_name, "amount_text",
                  pay_http_req_money(req, s->amount_minor, PAY_SWITCH_CURRENCY), "session", s->id,
                  "csrf", s->csrf, "phone_hint", s->phone_hint, "bin", s->bin, "last4", s->last4);
    if (ctx && error)
        json_object_set_new(ctx, "error", json_string(error));
    if (ctx && rc)
        json_object_set_new(ctx, "rc", json_string(rc));
    pay_http_respond_template(req, status, tpl, ctx);
    json_decref(ctx);
}

/* Every page's prologue: the session, the page URL for the language switch and errors, and for
 * a form the CSRF token. */
static enum pay_err begin(struct pay_http_request *req, struct pay_switch_online *s, bool form,
                          struct pay_error *err)
{
    struct pay_switch *sw = pay_http_req_ctx(req);
    const char *id = pay_http_req_param(req, "session");
    enum pay_err rc = pay_switch_online_load(sw, id, s, err);
    if (rc != PAY_ERR_OK)
        return rc;
    pay_http_respond_page_url(req, pay_http_req_printf(req, "/upop/%s", s->id));
    struct pay_url u; /* a right code's form answers with a redirect to the acquirer */
    struct pay_error ue = {0};
    if (pay_url_parse(s->return_url, "returnUrl", &u, &ue) == PAY_ERR_OK)
        pay_http_respond_form_action(
            req, pay_http_req_printf(req, "%s://%s:%d", u.scheme, u.host, u.port));
    const char *csrf = form ? pay_http_req_form_get(req, "csrf") : s->csrf;
    if (!csrf || strlen(csrf) != strlen(s->csrf) || !pay_ct_equal(csrf, s->csrf, strlen(csrf)))
        return pay_error_set(err, PAY_ERR_CSRF_INVALID, "csrf", NULL);
    return PAY_ERR_OK;
}

/* GET /upop/{session}: the step the session is at. */
static enum pay_err page_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_switch_online s;
    enum pay_err rc = begin(req, &s, false, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (strcmp(s.state, "VERIFIED") == 0)
        pay_http_respond_redirect(req, s.return_url);
    else
        render(req, &s, 200, strcmp(s.state, "CODE_SENT") == 0 ? "upop_sms" : "upop_card", NULL,
               NULL);
    return PAY_ERR_OK;
}

/* What the shopper reads for the issuer's response code. */
static const char *decline_text(const char *rc)
{
    static const struct {
        const char *rc, *text;
    } texts[] = {
        {"N7", N_("The card's bank says the expiry date, CVN2 or phone number does not match the "
                  "card.")},
        {"54", N_("The card has expired.")},
        {"75", N_("The card is locked after too many wrong tries; try again later.")},
        {"14", N_("The card's bank does not know this card number.")},
        {"92", N_("This card cannot be used here: no bank of the card network issues it.")},
        {"91", N_("The card's bank did not answer in time. Nothing was debited; try again later.")},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (strcmp(texts[i].rc, rc) == 0)
            return texts[i].text;
    return N_("The card's bank declined the card.");
}

/* The cardholder's name (1-64 characters) and phone (6-20 digits, a leading +) into c. */
static const char *read_holder(struct pay_http_request *req, struct pay_net_card *c)
{
    const char *name = pay_http_req_form_get(req, "name");
    const char *phone = pay_http_req_form_get(req, "phone");
    size_t pn = phone ? strlen(phone) : 0, digits = pn && phone[0] == '+' ? 1 : 0;
    if (!name || !name[0] || !pay_str_copy(c->name, sizeof c->name, name))
        return N_("Enter the cardholder's name as on the card.");
    if (pn < 6 || pn > 20 || strspn(phone + digits, "0123456789") != pn - digits)
        return N_("Enter the phone number the card's bank has for you.");
    pay_str_copy(c->phone, sizeof c->phone, phone);
    return NULL;
}

/* POST /upop/{session}/card: the card, checked by its bank, which texts a code. */
static enum pay_err card_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_switch *sw = pay_http_req_ctx(req);
    struct pay_switch_online s;
    enum pay_err rc = begin(req, &s, true, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (strcmp(s.state, "VERIFIED") == 0) { /* a double submit after the code */
        pay_http_respond_redirect(req, s.return_url);
        return PAY_ERR_OK;
    }
    struct pay_net_card card;
    const char *bad = pay_net_card_read(pay_http_req_form_get(req, "cardNo"),
                                        pay_http_req_form_get(req, "expiry"),
                                        pay_http_req_form_get(req, "cvn2"), &card);
    if (!bad)
        bad = read_holder(req, &card);
    struct pay_switch_online_answer a;
    if (!bad)
        rc = pay_switch_online_card(sw, &s, &card, &a, err);
    pay_net_card_wipe(&card);
    if (rc != PAY_ERR_OK)
        return rc;
    if (bad)
        render(req, &s, 400, "upop_card", pay_http_req_tr(req, bad), NULL);
    else if (strcmp(a.rc, "00") != 0)
        render(req, &s, 402, "upop_card", pay_http_req_tr(req, decline_text(a.rc)), a.rc);
    else
        render(req, &s, 200, "upop_sms", NULL, NULL);
    return PAY_ERR_OK;
}

/* "Wrong SMS code. 3 attempts left.", in the reader's language (one message per count form:
 * the catalogs have no plural forms; the bank's own pages say the same). */
static const char *wrong_code_text(struct pay_http_request *req, int left)
{
    const char *n = pay_http_req_printf(req, "%d", left);
    return left == 1
               ? pay_http_req_trf(req, "Wrong SMS code. {left} attempt left.", "left", n, NULL)
               : pay_http_req_trf(req, "Wrong SMS code. {left} attempts left.", "left", n, NULL);
}

/* POST /upop/{session}/sms: the code; a right one sends the browser back to the acquirer. */
static enum pay_err sms_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_switch *sw = pay_http_req_ctx(req);
    struct pay_switch_online s;
    enum pay_err rc = begin(req, &s, true, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (strcmp(s.state, "VERIFIED") == 0) {
        pay_http_respond_redirect(req, s.return_url);
        return PAY_ERR_OK;
    }
    if (strcmp(s.state, "CODE_SENT") != 0) {
        render(req, &s, 409, "upop_card", pay_http_req_tr(req, N_("Enter the card first.")), NULL);
        return PAY_ERR_OK;
    }
    const char *code = pay_http_req_form_get(req, "smsCode");
    if (!code || strlen(code) != PAY_OTP_DIGITS || strspn(code, "0123456789") != PAY_OTP_DIGITS) {
        render(req, &s, 400, "upop_sms",
               pay_http_req_tr(req, N_("Enter the 6-digit code from the text message.")), NULL);
        return PAY_ERR_OK;
    }
    struct pay_switch_online_answer a;
    rc = pay_switch_online_code(sw, &s, code, &a, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (strcmp(s.state, "VERIFIED") == 0)
        pay_http_respond_redirect(req, s.return_url);
    else if (strcmp(s.state, "NEW") == 0) /* expired, or too many wrong codes */
        render(req, &s, 402, "upop_card",
               pay_http_req_tr(req, strcmp(a.state, "EXPIRED") == 0
                                        ? N_("The code has expired. Enter the card again for a "
                                             "new code.")
                                        : N_("Too many wrong codes. Enter the card again for a "
                                             "new code.")),
               a.rc);
    else if (strcmp(a.rc, "91") == 0)
        render(req, &s, 402, "upop_sms", pay_http_req_tr(req, decline_text(a.rc)), a.rc);
    else
        render(req, &s, 402, "upop_sms", wrong_code_text(req, a.tries_left), a.rc);
    return PAY_ERR_OK;
}

static struct pay_http_route routes[] = {
    {"GET", "/upop/{session}", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, page_handler, NULL},
    {"POST", "/upop/{session}/card", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, card_handler, NULL},
    {"POST", "/upop/{session}/sms", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, sms_handler, NULL},
};

const struct pay_http_route *pay_switch_page_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
