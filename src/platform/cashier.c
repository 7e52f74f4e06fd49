/* The cashier (收银台): server-rendered pages where a consumer pays a trade. Today: log in and
 * pay by wallet balance with the payment password. Every form carries a CSRF token (the
 * session's, or before login a double-submit cookie); the session cookie is HttpOnly and
 * SameSite=Strict. After payment the consumer goes back to the merchant's return_url with a
 * query string signed by the platform. */
#include "platform/platform.h"

#include "platform/connector.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/money.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "http/codec.h"
#include "http/server.h"
#include "http/template.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define SESSION_COOKIE "pf_session"
#define CSRF_COOKIE    "pf_csrf"

struct page {
    struct pay_platform *p;
    struct pay_http_request *req;
    struct pay_platform_trade t;
    char consumer_id[PAY_ID_MAX];
    char csrf[PAY_PLATFORM_TOKEN_TEXT_MAX];
    char anon_csrf[PAY_PLATFORM_TOKEN_TEXT_MAX]; /* the pf_csrf cookie: forms without login */
    char login[PAY_PLATFORM_LOGIN_MAX + 1];
    bool logged_in;
    bool mobile;                          /* the /m/pay page a scanned QR code opens */
    const char *device;                   /* the pf_device cookie's id (risk control) */
    const char *sms_challenge, *sms_card; /* a card payment waiting for its SMS code */
    const char *stepup_challenge;         /* a wallet payment's risk step-up by SMS code */
};

static bool same_token(const char *a, const char *b)
{
    size_t n = a ? strlen(a) : 0;
    return a && b && n > 0 && n == strlen(b) && pay_ct_equal(a, b, n);
}

/* The return_url with trade_id, out_trade_no, state, amount, currency, ts and sign (base64url
 * Ed25519 by the platform key over the query string before "&sign="). Request memory. */
static const char *signed_return(struct page *pg)
{
    if (!pg->t.return_url[0])
        return NULL;
    char amount[PAY_MONEY_TEXT_MAX + 1], ts[24];
    pay_money_format(pg->t.amount_minor, pg->t.currency, amount, sizeof amount);
    snprintf(ts, sizeof ts, "%lld", (long long)(pay_clock_real_ms() / 1000));
    struct pay_buf q;
    pay_buf_init(&q, 2048);
    int bad = pay_form_append(&q, "trade_id", pg->t.id) |
              pay_form_append(&q, "out_trade_no", pg->t.out_trade_no) |
              pay_form_append(&q, "state", pg->t.state) | pay_form_append(&q, "amount", amount) |
              pay_form_append(&q, "currency", pg->t.currency) | pay_form_append(&q, "ts", ts);
    uint8_t sig[PAY_ED25519_SIG_LEN];
    char sig64[PAY_BASE64URL_LEN(PAY_ED25519_SIG_LEN)];
    pay_ed25519_sign(sig, q.data, q.len, &pg->p->key);
    bad |= pay_base64url_encode(sig64, sizeof sig64, sig, sizeof sig);
    bad |= pay_form_append(&q, "sign", sig64);
    const char *url =
        bad ? NULL
            : pay_http_req_printf(pg->req, "%s%c%s", pg->t.return_url,
                                  strchr(pg->t.return_url, '?') ? '&' : '?', pay_buf_str(&q));
    pay_buf_fini(&q);
    return url;
}

/* The desktop cashier of a QR trade shows the code of /m/pay/{id} and refreshes until the
 * phone has paid. */
static void add_qr(struct page *pg, json_t *ctx)
{
    char *url = pay_http_req_printf(pg->req, "%s/m/pay/%s", pg->p->set.public_url, pg->t.id);
    char *svg = url ? pay_platform_qr_svg(url) : NULL;
    if (svg)
        json_object_set_new(ctx, "qr_svg", pay_tpl_trusted(svg));
    json_object_set_new(ctx, "qr_url", json_string(url ? url : ""));
    free(svg);
}

/* The page's data-page marker (docs/integration.md, for merchants' test automation): which
 * step the consumer is at, like the bank's pages have. */
static const char *page_marker(const struct page *pg, bool open, bool paid)
{
    static const char *const desk[] = {"cashier-login", "cashier-pay", "cashier-sms",
                                       "cashier-paid", "cashier-closed"};
    static const char *const mobile[] = {"mobile-login", "mobile-confirm", "mobile-confirm",
                                         "mobile-paid", "mobile-closed"};
    int step = !open            ? (paid ? 3 : 4)
               : !pg->logged_in ? 0
               : (pg->sms_challenge && pg->sms_challenge[0]) ||
                       (pg->stepup_challenge && pg->stepup_challenge[0])
                   ? 2
                   : 1;
    return pg->mobile ? mobile[step] : desk[step];
}

/* The URL that shows this page again (the language switch returns there after a POST). */
static const char *page_path(const struct page *pg)
{
    return pay_http_req_printf(pg->req, "%s/%s", pg->mobile ? "/m/pay" : "/cashier", pg->t.id);
}

/* The logged-in part: balance and bound cards. */
static void add_wallet(struct page *pg, json_t *ctx)
{
    struct pay_error err = {0};
    int64_t bal = 0;
    char text[PAY_MONEY_TEXT_MAX + 1] = "";
    if (pay_platform_wallet_balance(pg->p, pg->consumer_id, pg->t.currency, &bal, NULL, &err) ==
        PAY_ERR_OK)
        pay_money_format(bal, pg->t.currency, text, sizeof text);
    json_object_set_new(ctx, "login", json_string(pg->login));
    json_object_set_new(ctx, "balance", json_string(text));
    json_object_set_new(ctx, "balance_text",
                        json_string(pay_http_req_money(pg->req, bal, pg->t.currency)));
    json_object_set_new(ctx, "enough", json_boolean(bal >= pg->t.amount_minor));
    /* the user's reserved message, before the payment password is asked (docs/platform.md) */
    char reserved[PAY_RESERVED_MESSAGE_MAX + 1];
    json_object_set_new(ctx, "reserved",
                        pay_platform_reserved_get(pg->p, pg->consumer_id, reserved)
                            ? json_string(reserved)
                            : json_false());
    pay_wipe(reserved, sizeof reserved);
    struct pay_platform_card cards[8];
    size_t n = 0;
    json_t *arr = json_array();
    if (pay_platform_cards_list(pg->p, pg->consumer_id, NULL, cards, 8, &n, &err) == PAY_ERR_OK)
        for (size_t i = 0; i < n; i++)
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:s, s:s}", "id", cards[i].id, "bank", cards[i].bank,
                               "bank_name", pay_platform_bank_text(pg->p, pg->req, cards[i].bank),
                               "last4", cards[i].last4));
    pay_wipe(cards, sizeof cards);
    json_object_set_new(ctx, "has_cards", json_boolean(n > 0));
    json_t *keys = pay_platform_passkeys_list(pg->p, pg->consumer_id);
    json_object_set_new(ctx, "has_passkeys", json_boolean(json_array_size(keys) > 0));
    json_decref(keys);
    json_object_set_new(ctx, "cards", arr);
}

/* error: shown in #error; notice: a pay_platform_notice() (taken). */
/* 银联卡支付 (docs/platform.md): any member bank's card, on the card network's page, through the
 * first bank that acquires for the network (CNY trades: the network clears CNY). */
static void add_unionpay(struct page *pg, json_t *ctx)
{
    for (size_t i = 0; i < pg->p->set.n_banks; i++) {
        const struct pay_platform_bank *b = &pg->p->set.banks[i];
        if (!b->unionpay || strcmp(pg->t.currency, "CNY") != 0)
            continue;
        json_object_set_new(ctx, "unionpay",
                            json_pack("{s:s, s:s, s:s}", "bank", b->code, "trade_id", pg->t.id,
                                      "csrf", pg->anon_csrf));
        return;
    }
}

/* The forms that ask for an SMS code: a bound card's payment, a risk step-up. */
static void add_code_forms(struct page *pg, json_t *ctx)
{
    if (pg->sms_challenge && pg->sms_challenge[0])
        json_object_set_new(ctx, "sms",
                            json_pack("{s:s, s:s, s:s, s:s}", "challenge", pg->sms_challenge,
                                      "card_id", pg->sms_card ? pg->sms_card : "", "csrf", pg->csrf,
                                      "trade_id", pg->t.id));
    if (pg->stepup_challenge && pg->stepup_challenge[0])
        json_object_set_new(ctx, "stepup",
                            json_pack("{s:s, s:s, s:s}", "challenge", pg->stepup_challenge, "csrf",
                                      pg->csrf, "action", page_path(pg)));
}

static void render(struct page *pg, int status, const char *error, json_t *notice)
{
    char amount[PAY_MONEY_TEXT_MAX + 1] = "";
    pay_money_format(pg->t.amount_minor, pg->t.currency, amount, sizeof amount);
    struct pay_platform_merchant m;
    struct pay_error err = {0};
    const char *mname = pg->t.merchant_id;
    bool have_m = pay_platform_merchant_get(pg->p, pg->t.merchant_id, &m, &err) == PAY_ERR_OK;
    if (have_m)
        mname = m.name;
    bool open = strcmp(pg->t.state, PAY_TRADE_WAIT_BUYER_PAY) == 0;
    bool paid = strcmp(pg->t.state, PAY_TRADE_SUCCESS) == 0 ||
                strcmp(pg->t.state, PAY_TRADE_FINISHED) == 0 ||
                pay_platform_trade_in_escrow(&pg->t);
    json_t *ctx = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:s, s:s, s:s}", "platform",
        pg->p->set.name, "trade_id", pg->t.id, "out_trade_no", pg->t.out_trade_no, "subject",
        pg->t.subject, "merchant", mname, "amount", amount, "amount_text",
        pay_http_req_money(pg->req, pg->t.amount_minor, pg->t.currency), "currency", pg->t.currency,
        "open", open, "paid", paid, "logged_in", pg->logged_in, "csrf", pg->csrf, "state",
        pg->t.state, "state_text", pay_platform_state_text(pg->req, pg->t.state));
    if (have_m)
        pay_platform_merchant_fini(&m);
    if (ctx)
        json_object_set_new(ctx, "page", json_string(page_marker(pg, open, paid)));
    if (ctx && pg->logged_in)
        add_wallet(pg, ctx);
    json_t *banks = json_array();
    for (size_t i = 0; i < pg->p->set.n_banks; i++)
        json_array_append_new(
            banks, json_pack("{s:s, s:s, s:s, s:s}", "code", pg->p->set.banks[i].code, "name",
                             pay_platform_bank_text(pg->p, pg->req, pg->p->set.banks[i].code),
                             "trade_id", pg->t.id, "csrf", pg->anon_csrf));
    if (ctx) {
        json_object_set_new(ctx, "banks", banks);
        json_object_set_new(ctx, "has_banks", json_boolean(pg->p->set.n_banks > 0));
        add_unionpay(pg, ctx);
    } else
        json_decref(banks);
    if (ctx)
        add_code_forms(pg, ctx);
    if (ctx && error)
        json_object_set_new(ctx, "error", json_string(error));
    if (ctx && notice)
        json_object_set(ctx, "notice", notice);
    json_decref(notice);
    /* paid: back to the merchant and the receipt; open: a way out, back to the merchant (the
     * signed state says unpaid) */
    const char *ret = paid || open ? signed_return(pg) : NULL;
    if (ctx && ret)
        json_object_set_new(ctx, paid ? "return_url" : "cancel_url", json_string(ret));
    if (ctx && paid)
        json_object_set_new(
            ctx, "receipt_url",
            json_string(pay_http_req_printf(pg->req, "/cashier/%s/receipt", pg->t.id)));
    if (ctx && open && pg->p->set.chain.enabled && !pg->mobile &&
        strcmp(pg->t.currency, pg->p->set.chain.rate_currency) == 0) { /* docs/chain.md */
        json_object_set_new(ctx, "has_chain", json_true());
        json_object_set_new(ctx, "chain_asset", json_string(pg->p->set.chain.asset));
    }
    if (ctx && open && strcmp(pg->t.product, "qr") == 0 && !pg->mobile)
        add_qr(pg, ctx);
    pay_http_respond_page_url(pg->req, page_path(pg));
    pay_http_respond_template(pg->req, status, pg->mobile ? "mobile_pay" : "cashier", ctx);
    json_decref(ctx);
}

/* Loads the trade and the session (or the pre-login CSRF cookie, set when missing). */
static enum pay_err page_load(struct page *pg, struct pay_http_request *req, struct pay_error *err)
{
    memset(pg, 0, sizeof *pg);
    pg->p = pay_http_req_ctx(req);
    pg->req = req;
    pg->mobile = strncmp(pay_http_req_path(req), "/m/", 3) == 0;
    const char *id = pay_http_req_param(req, "trade_id");
    pay_http_respond_page_url(/* also the error pages' way back after the language switch */
                              req,
                              pay_http_req_printf(req, "%s/%s", pg->mobile ? "/m/pay" : "/cashier",
                                                  id ? id : ""));
    enum pay_err e = pay_platform_trade_get(pg->p, NULL, id, NULL, &pg->t, err);
    if (e != PAY_ERR_OK)
        return e;
    struct pay_error ignore = {0};
    pg->logged_in =
        pay_platform_session_get(pg->p, pay_http_req_cookie(req, SESSION_COOKIE), pg->consumer_id,
                                 pg->csrf, pg->login, &ignore) == PAY_ERR_OK;
    const char *c = pay_http_req_cookie(req, CSRF_COOKIE);
    if (c && strlen(c) > 16 && strlen(c) < sizeof pg->anon_csrf) {
        pay_str_copy(pg->anon_csrf, sizeof pg->anon_csrf, c);
    } else {
        if (pay_random_token(pg->anon_csrf, sizeof pg->anon_csrf, 32) != 0)
            return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
        pay_http_respond_cookie(req, CSRF_COOKIE, pg->anon_csrf, -1, PAY_HTTP_COOKIE_STRICT);
    }
    if (!pg->logged_in)
        pay_str_copy(pg->csrf, sizeof pg->csrf, pg->anon_csrf);
    pg->device = pay_platform_device_id(req);
    return PAY_ERR_OK;
}

/* page_load for a form post by a logged-in consumer: the session and its CSRF token. */
static enum pay_err page_load_post(struct page *pg, struct pay_http_request *req,
                                   struct pay_error *err)
{
    enum pay_err e = page_load(pg, req, err);
    if (e != PAY_ERR_OK)
        return e;
    if (!pg->logged_in)
        return pay_error_set(err, PAY_ERR_UNAUTHENTICATED, "", N_("Please log in again."));
    if (!same_token(pay_http_req_form_get(req, "csrf"), pg->csrf))
        return pay_error_set(err, PAY_ERR_CSRF_INVALID, "csrf", NULL);
    return PAY_ERR_OK;
}

static enum pay_err h_cashier(struct pay_http_request *req, struct pay_error *err)
{
    struct page pg;
    enum pay_err e = page_load(&pg, req, err);
    if (e != PAY_ERR_OK)
        return e;
    render(&pg, 200, NULL, NULL);
    return PAY_ERR_OK;
}

static enum pay_err h_login(struct pay_http_request *req, struct pay_error *err)
{
    struct page pg;
    enum pay_err e = page_load(&pg, req, err);
    if (e != PAY_ERR_OK)
        return e;
    if (!same_token(pay_http_req_form_get(req, "csrf"), pg.csrf))
        return pay_error_set(err, PAY_ERR_CSRF_INVALID, "csrf", NULL);
    const char *login = pay_http_req_form_get(req, "login");
    const char *pw = pay_http_req_form_get(req, "password");
    char token[PAY_PLATFORM_TOKEN_TEXT_MAX];
    e = pay_platform_consumer_login(pg.p, login ? login : "", pw ? pw : "",
                                    pay_http_req_form_get(req, "totp"), pay_http_req_remote_ip(req),
                                    token, err);
    if (e == PAY_ERR_CREDENTIALS_INVALID || e == PAY_ERR_LOCKED) {
        render(&pg, pay_err_http_status(e), pay_platform_error_for(req, e, err), NULL);
        return PAY_ERR_OK;
    }
    if (e != PAY_ERR_OK)
        return e;
    pay_http_respond_cookie(req, SESSION_COOKIE, token, -1, PAY_HTTP_COOKIE_STRICT);
    pay_http_respond_redirect(
        req, pay_http_req_printf(req, "%s/%s", pg.mobile ? "/m/pay" : "/cashier", pg.t.id));
    return PAY_ERR_OK;
}

/* The wallet payment of a logged-in consumer, judged by risk control; stepped_up: the SMS code
 * of a step-up was right. The answer's code. */
static enum pay_err wallet_pay(struct page *pg, bool stepped_up, struct pay_error *err)
{
    struct pay_platform_payment pm = {
        pg->mobile ? "qr" : "wallet", PAY_PF_ACCT_WALLET, pg->consumer_id, "", false, NULL, NULL};
    struct pay_risk_attempt a = {
        .trade_id = pg->t.id, .method = pm.method, .login = pg->login, .stepped_up = stepped_up};
    a.value[PAY_RISK_CONSUMER] = pg->consumer_id;
    a.value[PAY_RISK_DEVICE] = pg->device;
    a.value[PAY_RISK_IP] = pay_http_req_remote_ip(pg->req);
    enum pay_err e = pay_platform_risk_pay(pg->p, &a, &pm, err);
    PAY_INFO("cashier.pay", "trade=%s method=wallet stepped_up=%d result=%s", pg->t.id, stepped_up,
             pay_err_name(e));
    return e;
}

/* A step-up asked of a consumer without a passkey: a code to their phone instead (purpose
 * "stepup:<trade>"), the page then asks for it. A consumer with a passkey is asked for it. */
static enum pay_err stepup_by_sms(struct page *pg, char challenge[PAY_ID_MAX],
                                  struct pay_error *err)
{
    json_t *keys = pay_platform_passkeys_list(pg->p, pg->consumer_id);
    bool has_passkey = json_array_size(keys) > 0;
    json_decref(keys);
    if (has_passkey)
        return PAY_ERR_RISK_STEP_UP;
    char *purpose = pay_http_req_printf(pg->req, "stepup:%s", pg->t.id);
    struct pay_error sms = {0};
    enum pay_err e = pay_platform_sms_challenge(pg->p, pg->req, pg->consumer_id, pg->login, purpose,
                                                challenge, &sms);
    if (e != PAY_ERR_OK) {
        *err = sms;
        return e;
    }
    pg->stepup_challenge = challenge;
    return pay_error_set(err, PAY_ERR_RISK_STEP_UP, "risk",
                         N_("For your safety, confirm this payment with the code we sent to"
                            " your phone."));
}

/* The answer to a wallet payment (paid, or the page with the refusal). */
static enum pay_err wallet_answer(struct page *pg, enum pay_err e, struct pay_error *err)
{
    if (e != PAY_ERR_OK && e != PAY_ERR_CREDENTIALS_INVALID && e != PAY_ERR_LOCKED &&
        e != PAY_ERR_BALANCE_INSUFFICIENT && e != PAY_ERR_TRADE_STATE_INVALID &&
        e != PAY_ERR_RISK_DENIED && e != PAY_ERR_RISK_REVIEW && e != PAY_ERR_RISK_STEP_UP)
        return e;
    if (pay_platform_risk_notifies(e))
        pay_platform_wake(pg->p); /* the notifier: trade.state, or trade.review when held */
    if (e == PAY_ERR_OK) {
        struct pay_error ignore = {0};
        (void)pay_platform_trade_get(pg->p, NULL, pg->t.id, NULL, &pg->t, &ignore);
    }
    render(pg, pay_err_http_status(e), pay_platform_error_for(pg->req, e, err),
           e == PAY_ERR_OK
               ? pay_platform_notice("paid", pay_http_req_tr(pg->req, "Payment successful."))
               : NULL);
    return PAY_ERR_OK;
}

static enum pay_err h_pay_wallet(struct pay_http_request *req, struct pay_error *err)
{
    struct page pg;
    char challenge[PAY_ID_MAX] = "";
    enum pay_err e = page_load_post(&pg, req, err);
    if (e != PAY_ERR_OK)
        return e;
    const char *pw = pay_http_req_form_get(req, "pay_password");
    e = pay_platform_consumer_check_pay_password(pg.p, pg.consumer_id, pw ? pw : "", err);
    if (e == PAY_ERR_OK)
        e = wallet_pay(&pg, false, err);
    if (e == PAY_ERR_RISK_STEP_UP)
        e = stepup_by_sms(&pg, challenge, err);
    return wallet_answer(&pg, e, err);
}

/* The step-up's SMS code (docs/risk.md, "Step-up"): right, the payment is tried again with the
 * step-up satisfied; wrong, counted towards the lock of the consumer's codes, and asked again. */
static enum pay_err h_pay_wallet_sms(struct pay_http_request *req, struct pay_error *err)
{
    struct page pg;
    enum pay_err e = page_load_post(&pg, req, err);
    if (e != PAY_ERR_OK)
        return e;
    const char *challenge = pay_http_req_form_get(req, "challenge");
    char *purpose = pay_http_req_printf(req, "stepup:%s", pg.t.id);
    e = pay_platform_sms_verify(pg.p, pg.consumer_id, challenge ? challenge : "", purpose,
                                pay_http_req_form_get(req, "smsCode"), err);
    if (e == PAY_ERR_OK)
        e = wallet_pay(&pg, true, err);
    else if (e == PAY_ERR_CREDENTIALS_INVALID && challenge && strlen(challenge) < PAY_ID_MAX)
        pg.stepup_challenge = challenge; /* let them try the code again */
    return wallet_answer(&pg, e, err);
}

/* Bound card, step 1: the payment password; then a code goes to the consumer's phone. */
static enum pay_err h_pay_card(struct pay_http_request *req, struct pay_error *err)
{
    struct page pg;
    enum pay_err e = page_load_post(&pg, req, err);
    if (e != PAY_ERR_OK)
        return e;
    const char *pw = pay_http_req_form_get(req, "pay_password");
    const char *card_id = pay_http_req_form_get(req, "card_id");
    struct pay_platform_card card;
    size_t n = 0;
    char challenge[PAY_ID_MAX] = "";
    e = pay_platform_cards_list(pg.p, pg.consumer_id, card_id ? card_id : "", &card, 1, &n, err);
    pay_wipe(&card, sizeof card);
    if (e == PAY_ERR_OK && n == 0)
        e = pay_error_set(err, PAY_ERR_FIELD_INVALID, "card_id", N_("No such card."));
    if (e == PAY_ERR_OK)
        e = pay_platform_consumer_check_pay_password(pg.p, pg.consumer_id, pw ? pw : "", err);
    char *purpose = pay_http_req_printf(req, "card:%s:%s", pg.t.id, card_id ? card_id : "");
    if (e == PAY_ERR_OK)
        e = pay_platform_sms_challenge(pg.p, req, pg.consumer_id, pg.login, purpose, challenge,
                                       err);
    if (e == PAY_ERR_INTERNAL || e == PAY_ERR_DB_BUSY || pay_store_failure(e))
        return e;
    pg.sms_challenge = challenge;
    pg.sms_card = card_id;
    render(&pg, pay_err_http_status(e), pay_platform_error_for(req, e, err),
           e == PAY_ERR_OK ? pay_platform_notice(
                                 "code-sent", pay_http_req_tr(req, "We sent a code to your phone."))
                           : NULL);
    return PAY_ERR_OK;
}

/* Bound card, step 2: the SMS code, then the bank's agreement debit. */
static enum pay_err h_pay_card_confirm(struct pay_http_request *req, struct pay_error *err)
{
    struct page pg;
    enum pay_err e = page_load_post(&pg, req, err);
    if (e != PAY_ERR_OK)
        return e;
    const char *card_id = pay_http_req_form_get(req, "card_id");
    const char *challenge = pay_http_req_form_get(req, "challenge");
    char *purpose = pay_http_req_printf(req, "card:%s:%s", pg.t.id, card_id ? card_id : "");
    struct pay_platform_card card;
    size_t n = 0;
    e = pay_platform_sms_verify(pg.p, pg.consumer_id, challenge ? challenge : "", purpose,
                                pay_http_req_form_get(req, "smsCode"), err);
    if (e == PAY_ERR_OK)
        e = pay_platform_cards_list(pg.p, pg.consumer_id, card_id ? card_id : "", &card, 1, &n,
                                    err);
    if (e == PAY_ERR_OK && n == 0)
        e = pay_error_set(err, PAY_ERR_FIELD_INVALID, "card_id", N_("No such card."));
    if (e == PAY_ERR_OK)
        e = pay_platform_pay_by_card(pg.p, &pg.t, pg.consumer_id, &card, err);
    pay_wipe(&card, sizeof card);
    PAY_INFO("cashier.pay", "trade=%s method=card result=%s", pg.t.id, pay_err_name(e));
    if (e == PAY_ERR_INTERNAL || e == PAY_ERR_DB_BUSY || pay_store_failure(e))
        return e;
    if (e == PAY_ERR_CREDENTIALS_INVALID && challenge) { /* let them try the code again */
        pg.sms_challenge = challenge;
        pg.sms_card = card_id;
    }
    struct pay_error ignore = {0};
    (void)pay_platform_trade_get(pg.p, NULL, pg.t.id, NULL, &pg.t, &ignore);
    render(&pg, pay_err_http_status(e), pay_platform_error_for(req, e, err),
           e == PAY_ERR_OK
               ? pay_platform_notice("paid", pay_http_req_tr(req, "Payment successful."))
               : NULL);
    return PAY_ERR_OK;
}

const struct pay_http_route *pay_platform_cashier_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/m/pay/{trade_id}", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_cashier, NULL},
        {"POST", "/m/pay/{trade_id}/login", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_login, NULL},
        {"POST", "/m/pay/{trade_id}/confirm", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_pay_wallet,
         NULL},
        {"POST", "/m/pay/{trade_id}/stepup", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_pay_wallet_sms,
         NULL},
        {"GET", "/cashier/{trade_id}", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_cashier, NULL},
        {"POST", "/cashier/{trade_id}/login", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_login, NULL},
        {"POST", "/cashier/{trade_id}/pay/wallet", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_pay_wallet,
         NULL},
        {"POST", "/cashier/{trade_id}/stepup", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_pay_wallet_sms,
         NULL},
        {"POST", "/cashier/{trade_id}/pay/card", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_pay_card,
         NULL},
        {"POST", "/cashier/{trade_id}/pay/card/confirm", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM,
         h_pay_card_confirm, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
