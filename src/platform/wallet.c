/* The consumer's wallet pages: log in, balance, bound cards, binding a card (the bank checks
 * it and texts a code; the platform keeps the agreement token and BIN + last four only), and
 * topping up from a bound card with the payment password. */
#include "platform/connector.h"
#include "platform/platform.h"

#include "crypto/ids.h"
#include "core/buf.h"
#include "core/limits.h"
#include "core/money.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "http/codec.h"
#include "http/server.h"
#include "http/template.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct wpage {
    struct pay_platform *p;
    struct pay_http_request *req;
    char consumer_id[PAY_ID_MAX];
    char csrf[PAY_PLATFORM_TOKEN_TEXT_MAX];
    char login[PAY_PLATFORM_LOGIN_MAX + 1];
    bool logged_in;
};

static bool token_ok(const char *a, const char *b)
{
    size_t n = a ? strlen(a) : 0;
    return a && b && n > 16 && n == strlen(b) && pay_ct_equal(a, b, n);
}

/* Session, or the pre-login CSRF cookie (set when missing). */
static enum pay_err wload(struct wpage *w, struct pay_http_request *req, struct pay_error *err)
{
    memset(w, 0, sizeof *w);
    w->p = pay_http_req_ctx(req);
    w->req = req;
    struct pay_error ignore = {0};
    w->logged_in =
        pay_platform_session_get(w->p, pay_http_req_cookie(req, "pf_session"), w->consumer_id,
                                 w->csrf, w->login, &ignore) == PAY_ERR_OK;
    if (w->logged_in)
        return PAY_ERR_OK;
    const char *c = pay_http_req_cookie(req, "pf_csrf");
    if (c && strlen(c) > 16 && strlen(c) < sizeof w->csrf) {
        pay_str_copy(w->csrf, sizeof w->csrf, c);
        return PAY_ERR_OK;
    }
    if (pay_random_token(w->csrf, sizeof w->csrf, 32) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    pay_http_respond_cookie(req, "pf_csrf", w->csrf, -1, PAY_HTTP_COOKIE_STRICT);
    return PAY_ERR_OK;
}

/* The wallet's latest movements, newest first, from its ledger account. */
static json_t *history(struct wpage *w)
{
    char id[PAY_LEDGER_ID_MAX + 1];
    struct pay_ledger_transfer t[20];
    size_t n = 0;
    int64_t next = 0;
    struct pay_error e = {0};
    json_t *arr = json_array();
    if (pay_platform_account_id(PAY_PF_ACCT_WALLET, w->consumer_id, "CNY", id) != 0 ||
        pay_ledger_account_transfers(w->p->ledger, id, 0, t, 20, &n, &next, &e) != PAY_ERR_OK)
        return arr;
    for (size_t i = 0; i < n; i++) {
        bool in = strcmp(t[i].credit_account_id, id) == 0;
        /* a risk hold and its release move nothing (docs/risk.md, "Review"): no sign; its
         * approval is the payment */
        bool hold = t[i].code == PAY_PF_XFER_RISK_HOLD || t[i].code == PAY_PF_XFER_RISK_RELEASE;
        char amount[PAY_MONEY_TEXT_MAX + 2] = "";
        amount[0] = hold ? '\0' : in ? '+' : '-';
        pay_money_format(t[i].amount_minor, t[i].currency, amount + !hold, sizeof amount - 1);
        const char *kind = t[i].code == PAY_PF_XFER_PAY              ? "payment"
                           : t[i].code == PAY_PF_XFER_TOPUP          ? "top-up"
                           : t[i].code == PAY_PF_XFER_WITHDRAW       ? "withdrawal"
                           : t[i].code == PAY_PF_XFER_SANDBOX_CREDIT ? "sandbox credit"
                           : t[i].code == PAY_PF_XFER_RISK_HOLD      ? "held"
                           : t[i].code == PAY_PF_XFER_RISK_RELEASE   ? "released"
                                                                     : "refund";
        json_array_append_new(
            arr,
            json_pack(
                "{s:o, s:s, s:s, s:s, s:s, s:s, s:s}", "at",
                pay_platform_time_json(t[i].created_ms), "at_text",
                pay_http_req_time(w->req, t[i].created_ms), "kind", kind, "kind_text",
                pay_platform_movement_text(w->req, kind), "amount", amount, "amount_text",
                pay_http_req_printf(w->req, "%s%s",
                                    hold ? ""
                                    : in ? "+"
                                         : "-",
                                    pay_http_req_money(w->req, t[i].amount_minor, t[i].currency)),
                "ref", t[i].user_data));
    }
    return arr;
}

/* The withdrawals list (withdrawals.c) with what people read added: bank name, state, money,
 * local time. */
static void humanise_withdrawals(struct wpage *w, json_t *list)
{
    size_t i;
    json_t *row;
    json_array_foreach(list, i, row)
    {
        const char *bank = json_string_value(json_object_get(row, "bank"));
        const char *status = json_string_value(json_object_get(row, "status"));
        const char *amount = json_string_value(json_object_get(row, "amount"));
        int64_t minor = 0, ms = json_integer_value(json_object_get(row, "at_ms"));
        struct pay_error e = {0};
        if (pay_money_parse(amount ? amount : "", "CNY", &minor, &e) != PAY_ERR_OK)
            minor = 0;
        json_object_set_new(row, "bank_name",
                            json_string(pay_platform_bank_text(w->p, w->req, bank)));
        json_object_set_new(row, "status_text",
                            json_string(pay_platform_withdrawal_text(w->req, status)));
        json_object_set_new(row, "amount_text",
                            json_string(pay_http_req_money(w->req, minor, "CNY")));
        json_object_set_new(row, "at_text", json_string(pay_http_req_time(w->req, ms)));
    }
}

/* The logged-in wallet: balance, cards, banks, movements, withdrawals. */
static void add_wallet(struct wpage *w, json_t *ctx)
{
    int64_t bal = 0, held = 0;
    char text[PAY_MONEY_TEXT_MAX + 1] = "0.00", held_text[PAY_MONEY_TEXT_MAX + 1] = "0.00";
    struct pay_error e = {0};
    if (pay_platform_wallet_balance(w->p, w->consumer_id, "CNY", &bal, &held, &e) == PAY_ERR_OK) {
        pay_money_format(bal, "CNY", text, sizeof text);
        pay_money_format(held, "CNY", held_text, sizeof held_text);
    }
    json_object_set_new(ctx, "balance", json_string(text));
    json_object_set_new(ctx, "balance_text", json_string(pay_http_req_money(w->req, bal, "CNY")));
    if (held > 0) /* payments held for a risk review: not spendable until decided */
        json_object_set_new(ctx, "held",
                            json_pack("{s:s, s:s}", "amount", held_text, "text",
                                      pay_http_req_money(w->req, held, "CNY")));
    struct pay_platform_card cards[PAY_WALLET_CARDS_MAX];
    size_t n = 0;
    json_t *arr = json_array();
    if (pay_platform_cards_list(w->p, w->consumer_id, NULL, cards, PAY_WALLET_CARDS_MAX, &n, &e) ==
        PAY_ERR_OK)
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr,
                                  json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", cards[i].id, "bank",
                                            cards[i].bank, "bank_name",
                                            pay_platform_bank_text(w->p, w->req, cards[i].bank),
                                            "bin", cards[i].bin, "last4", cards[i].last4));
    json_object_set_new(ctx, "cards", arr);
    json_t *banks = json_array();
    for (size_t i = 0; i < w->p->set.n_banks; i++)
        json_array_append_new(
            banks, json_pack("{s:s, s:s}", "code", w->p->set.banks[i].code, "name",
                             pay_platform_bank_text(w->p, w->req, w->p->set.banks[i].code)));
    json_object_set_new(ctx, "banks", banks);
    json_object_set_new(ctx, "history", history(w));
    char reserved[PAY_RESERVED_MESSAGE_MAX + 1];
    json_object_set_new(ctx, "reserved",
                        pay_platform_reserved_get(w->p, w->consumer_id, reserved)
                            ? json_string(reserved)
                            : json_false());
    pay_wipe(reserved, sizeof reserved);
    json_object_set_new(ctx, "trades",
                        pay_platform_wallet_trades_json(w->p, w->req, w->consumer_id));
    json_t *keys = pay_platform_passkeys_list(w->p, w->consumer_id);
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) /* when, as people read it; the remove form's token */
    {
        json_object_set_new(k, "csrf", json_string(w->csrf));
        json_object_set_new(k, "created_text",
                            json_string(pay_http_req_time(
                                w->req, json_integer_value(json_object_get(k, "created_ms")))));
    }
    json_object_set_new(ctx, "passkeys", keys);
    json_t *wds = NULL;
    if (pay_platform_withdrawals_list(w->p, w->consumer_id, &wds, &e) == PAY_ERR_OK) {
        humanise_withdrawals(w, wds);
        json_object_set_new(ctx, "withdrawals", wds);
    }
}

/* error: shown in #error; notice: a pay_platform_notice() (taken); extra: more values
 * (taken). */
/* Where the login goes on to (next, from the query or the login form): one of the consumer's
 * trade pages (a shop's "confirm receipt" or "request a refund" link), else NULL (the wallet).
 * Nothing else: an open redirect would send a phishing page the wallet's logins. */
static const char *login_next(struct pay_http_request *req)
{
    const char *next = pay_http_req_form_get(req, "next");
    if (!next || !next[0])
        next = pay_http_req_query(req, "next");
    static const char prefix[] = "/wallet/trades/";
    if (!next || strncmp(next, prefix, sizeof prefix - 1) != 0 ||
        !pay_id_valid(next + sizeof prefix - 1, "tr"))
        return NULL;
    return next;
}

static void wrender(struct wpage *w, int status, const char *error, json_t *notice, json_t *extra)
{
    json_t *ctx = json_pack("{s:s, s:b, s:s, s:s}", "platform", w->p->set.name, "logged_in",
                            w->logged_in, "csrf", w->csrf, "login", w->login);
    if (ctx && w->logged_in)
        add_wallet(w, ctx);
    if (ctx && error)
        json_object_set_new(ctx, "error", json_string(error));
    if (ctx && !w->logged_in && login_next(w->req))
        json_object_set_new(ctx, "next", json_string(login_next(w->req)));
    if (ctx && notice)
        json_object_set(ctx, "notice", notice);
    json_decref(notice);
    if (ctx && extra)
        json_object_update(ctx, extra);
    json_decref(extra);
    bool reg = extra && json_is_true(json_object_get(ctx, "register"));
    pay_http_respond_page_url(w->req, reg ? "/register" : "/wallet");
    pay_http_respond_template(w->req, status, "wallet", ctx);
    json_decref(ctx);
}

static enum pay_err h_wallet(struct pay_http_request *req, struct pay_error *err)
{
    struct wpage w;
    enum pay_err e = wload(&w, req, err);
    if (e == PAY_ERR_OK)
        wrender(&w, 200, NULL, NULL, NULL);
    return e;
}

static enum pay_err h_login(struct pay_http_request *req, struct pay_error *err)
{
    struct wpage w;
    enum pay_err e = wload(&w, req, err);
    if (e != PAY_ERR_OK)
        return e;
    if (!token_ok(pay_http_req_form_get(req, "csrf"), w.csrf))
        return pay_error_set(err, PAY_ERR_CSRF_INVALID, "csrf", NULL);
    const char *login = pay_http_req_form_get(req, "login"),
               *pw = pay_http_req_form_get(req, "password");
    char token[PAY_PLATFORM_TOKEN_TEXT_MAX];
    e = pay_platform_consumer_login(w.p, login ? login : "", pw ? pw : "",
                                    pay_http_req_form_get(req, "totp"), pay_http_req_remote_ip(req),
                                    token, err);
    if (e == PAY_ERR_CREDENTIALS_INVALID || e == PAY_ERR_LOCKED) {
        wrender(&w, pay_err_http_status(e), pay_platform_error_for(req, e, err), NULL, NULL);
        return PAY_ERR_OK;
    }
    if (e != PAY_ERR_OK)
        return e;
    pay_http_respond_cookie(req, "pf_session", token, -1, PAY_HTTP_COOKIE_STRICT);
    const char *next = login_next(req);
    pay_http_respond_redirect(req, next ? next : "/wallet");
    return PAY_ERR_OK;
}

/* Checks the session and the form's CSRF token. */
static enum pay_err wpost(struct wpage *w, struct pay_http_request *req, struct pay_error *err)
{
    enum pay_err e = wload(w, req, err);
    if (e != PAY_ERR_OK)
        return e;
    if (!w->logged_in)
        return pay_error_set(err, PAY_ERR_UNAUTHENTICATED, "", N_("Please log in again."));
    if (!token_ok(pay_http_req_form_get(req, "csrf"), w->csrf))
        return pay_error_set(err, PAY_ERR_CSRF_INVALID, "csrf", NULL);
    return PAY_ERR_OK;
}

static const char *f(struct pay_http_request *req, const char *name)
{
    const char *v = pay_http_req_form_get(req, name);
    return v ? v : "";
}

static enum pay_err h_card_verify(struct pay_http_request *req, struct pay_error *err)
{
    struct wpage w;
    enum pay_err e = wpost(&w, req, err);
    if (e != PAY_ERR_OK)
        return e;
    const struct pay_platform_bank *b = pay_platform_bank_find(w.p, f(req, "bank"));
    if (!b)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "bank", N_("No such bank."));
    char vid[PAY_MERCHANT_ID_FIELD_MAX + 1];
    e = b->conn->card_verify(b, f(req, "cardNo"), f(req, "expiry"), f(req, "cvv2"), vid, err);
    if (e != PAY_ERR_OK) {
        wrender(&w, pay_err_http_status(e), pay_platform_error_for(req, e, err), NULL, NULL);
        return PAY_ERR_OK;
    }
    wrender(&w, 200, NULL,
            pay_platform_notice("code-sent",
                                pay_http_req_tr(req, "We sent a code to the phone of this card.")),
            json_pack("{s:s, s:s}", "verification_id", vid, "verify_bank", b->code));
    return PAY_ERR_OK;
}

static enum pay_err h_card_confirm(struct pay_http_request *req, struct pay_error *err)
{
    struct wpage w;
    enum pay_err e = wpost(&w, req, err);
    if (e != PAY_ERR_OK)
        return e;
    const struct pay_platform_bank *b = pay_platform_bank_find(w.p, f(req, "bank"));
    if (!b)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "bank", N_("No such bank."));
    struct pay_platform_card c = {0};
    pay_str_copy(c.bank, sizeof c.bank, b->code);
    e = b->conn->card_confirm(b, f(req, "verification_id"), f(req, "smsCode"), c.token, c.bin,
                              c.last4, err);
    if (e == PAY_ERR_OK)
        e = pay_id_new("cd", c.id);
    if (e == PAY_ERR_OK)
        e = pay_platform_card_add(w.p, w.consumer_id, &c, err);
    pay_wipe(c.token, sizeof c.token);
    PAY_INFO("wallet.card_bound", "consumer=%s bank=%s result=%s", w.consumer_id, b->code,
             pay_err_name(e));
    wrender(&w, pay_err_http_status(e), pay_platform_error_for(req, e, err),
            e == PAY_ERR_OK ? pay_platform_notice("card-bound", pay_http_req_tr(req, "Card bound."))
                            : NULL,
            NULL);
    return PAY_ERR_OK;
}

static enum pay_err h_topup(struct pay_http_request *req, struct pay_error *err)
{
    struct wpage w;
    enum pay_err e = wpost(&w, req, err);
    if (e != PAY_ERR_OK)
        return e;
    struct pay_platform_card c;
    size_t n = 0;
    int64_t minor = 0;
    e = pay_money_parse_amount(f(req, "amount"), "CNY", "amount", &minor, err);
    if (e == PAY_ERR_OK &&
        (e = pay_platform_cards_list(w.p, w.consumer_id, f(req, "card_id"), &c, 1, &n, err)) ==
            PAY_ERR_OK &&
        n == 0)
        e = pay_error_set(err, PAY_ERR_FIELD_INVALID, "card_id", N_("No such card."));
    if (e == PAY_ERR_OK)
        e = pay_platform_consumer_check_pay_password(w.p, w.consumer_id, f(req, "pay_password"),
                                                     err);
    if (e == PAY_ERR_OK)
        e = pay_platform_topup(w.p, w.consumer_id, &c, minor, "CNY", err);
    pay_wipe(&c, sizeof c);
    wrender(&w, pay_err_http_status(e), pay_platform_error_for(req, e, err),
            e == PAY_ERR_OK
                ? pay_platform_notice("topped-up", pay_http_req_tr(req, "Top-up successful."))
                : NULL,
            NULL);
    return PAY_ERR_OK;
}

/* POST /wallet/withdraw (card_id, amount, pay_password): to a bound card chosen from the
 * list; the form has no field for a typed account. */
static enum pay_err h_withdraw(struct pay_http_request *req, struct pay_error *err)
{
    struct wpage w;
    enum pay_err e = wpost(&w, req, err);
    if (e != PAY_ERR_OK)
        return e;
    int64_t minor = 0;
    e = pay_money_parse_amount(f(req, "amount"), "CNY", "amount", &minor, err);
    if (e == PAY_ERR_OK)
        e = pay_platform_consumer_check_pay_password(w.p, w.consumer_id, f(req, "pay_password"),
                                                     err);
    char status[16] = "";
    if (e == PAY_ERR_OK)
        e = pay_platform_withdraw(w.p, w.consumer_id, f(req, "card_id"), minor, "CNY", status, err);
    /* pending: the bank has not answered yet; the money is held and the transfer is retried */
    wrender(&w, pay_err_http_status(e), pay_platform_error_for(req, e, err),
            e != PAY_ERR_OK ? NULL
            : strcmp(status, "pending") == 0
                ? pay_platform_notice(
                      "withdrawal-pending",
                      pay_http_req_tr(req, "Withdrawal pending: the bank has not confirmed it "
                                           "yet; it completes automatically."))
                : pay_platform_notice("withdrawal-sent", pay_http_req_tr(req, "Withdrawal sent.")),
            NULL);
    return PAY_ERR_OK;
}

/* POST /wallet/agreements (merchant_id, pay_password): lets a merchant charge this wallet. */
static enum pay_err h_agreement(struct pay_http_request *req, struct pay_error *err)
{
    struct wpage w;
    enum pay_err e = wpost(&w, req, err);
    if (e != PAY_ERR_OK)
        return e;
    char id[PAY_ID_MAX] = "";
    e = pay_platform_consumer_check_pay_password(w.p, w.consumer_id, f(req, "pay_password"), err);
    if (e == PAY_ERR_OK)
        e = pay_platform_agreement_sign(w.p, w.consumer_id, f(req, "merchant_id"), id, err);
    wrender(&w, pay_err_http_status(e), pay_platform_error_for(req, e, err),
            e == PAY_ERR_OK
                ? pay_platform_notice("agreement-signed", pay_http_req_tr(req, "Agreement signed."))
                : NULL,
            e == PAY_ERR_OK ? json_pack("{s:s}", "agreement_no", id) : NULL);
    return PAY_ERR_OK;
}

/* POST /wallet/reserved (message, pay_password): the reserved message the cashier shows before
 * it asks for the payment password; changing it takes the payment password. */
static enum pay_err h_reserved(struct pay_http_request *req, struct pay_error *err)
{
    struct wpage w;
    enum pay_err e = wpost(&w, req, err);
    if (e != PAY_ERR_OK)
        return e;
    e = pay_reserved_message_check(f(req, "message"), err);
    if (e == PAY_ERR_OK)
        e = pay_platform_consumer_check_pay_password(w.p, w.consumer_id, f(req, "pay_password"),
                                                     err);
    if (e == PAY_ERR_OK)
        e = pay_platform_reserved_set(w.p, w.consumer_id, f(req, "message"), err);
    wrender(&w, pay_err_http_status(e), pay_platform_error_for(req, e, err),
            e == PAY_ERR_OK
                ? pay_platform_notice("reserved-set", pay_http_req_tr(req, "Reserved message set."))
                : NULL,
            NULL);
    return PAY_ERR_OK;
}

/* POST /wallet/totp: a new authenticator secret, shown as text and as a QR code. */
static enum pay_err h_totp(struct pay_http_request *req, struct pay_error *err)
{
    struct wpage w;
    enum pay_err e = wpost(&w, req, err);
    if (e != PAY_ERR_OK)
        return e;
    char secret[64], uri[512];
    if ((e = pay_platform_totp_begin(w.p, w.consumer_id, secret, err)) != PAY_ERR_OK)
        return e;
    uint8_t key[PAY_TOTP_SECRET_LEN + 8];
    size_t n = 0;
    int rc = pay_base32_decode(key, sizeof key, secret, strlen(secret), &n) == 0
                 ? pay_totp_uri(uri, sizeof uri, w.p->set.name, w.login, key, n)
                 : -1;
    pay_wipe(key, sizeof key);
    char *svg = rc == 0 ? pay_platform_qr_svg(uri) : NULL;
    json_t *extra = json_pack("{s:s}", "totp_secret", secret);
    if (extra && svg)
        json_object_set_new(extra, "totp_qr", pay_tpl_trusted(svg));
    free(svg);
    wrender(
        &w, 200, NULL,
        pay_platform_notice(
            "totp-scan",
            pay_http_req_tr(req, "Scan the code with an authenticator app, then enter a code.")),
        extra);
    return PAY_ERR_OK;
}

static enum pay_err h_totp_confirm(struct pay_http_request *req, struct pay_error *err)
{
    struct wpage w;
    enum pay_err e = wpost(&w, req, err);
    if (e != PAY_ERR_OK)
        return e;
    e = pay_platform_totp_confirm(w.p, w.consumer_id, f(req, "code"), err);
    wrender(&w, pay_err_http_status(e), pay_platform_error_for(req, e, err),
            e == PAY_ERR_OK
                ? pay_platform_notice("totp-on", pay_http_req_tr(req, "Two-step login is on."))
                : NULL,
            NULL);
    return PAY_ERR_OK;
}

/* GET/POST /register: a new consumer (phone or e-mail), logged in at once. */
static enum pay_err h_register_page(struct pay_http_request *req, struct pay_error *err)
{
    struct wpage w;
    enum pay_err e = wload(&w, req, err);
    if (e == PAY_ERR_OK)
        wrender(&w, 200, NULL, NULL, json_pack("{s:b}", "register", 1));
    return e;
}

static enum pay_err h_register(struct pay_http_request *req, struct pay_error *err)
{
    struct wpage w;
    enum pay_err e = wload(&w, req, err);
    if (e != PAY_ERR_OK)
        return e;
    if (w.logged_in || !token_ok(pay_http_req_form_get(req, "csrf"), w.csrf))
        return pay_error_set(err, PAY_ERR_CSRF_INVALID, "csrf", NULL);
    char id[PAY_ID_MAX], token[PAY_PLATFORM_TOKEN_TEXT_MAX];
    e = pay_platform_consumer_add(w.p, f(req, "login"), f(req, "password"), f(req, "pay_password"),
                                  id, err);
    if (e == PAY_ERR_OK)
        e = pay_platform_consumer_login(w.p, f(req, "login"), f(req, "password"), NULL,
                                        pay_http_req_remote_ip(req), token, err);
    if (e != PAY_ERR_OK) {
        wrender(&w, pay_err_http_status(e), pay_platform_error_for(req, e, err), NULL,
                json_pack("{s:b}", "register", 1));
        return PAY_ERR_OK;
    }
    PAY_INFO("wallet.registered", "consumer=%s", id);
    pay_http_respond_cookie(req, "pf_session", token, -1, PAY_HTTP_COOKIE_STRICT);
    pay_http_respond_redirect(req, "/wallet");
    return PAY_ERR_OK;
}

const struct pay_http_route *pay_platform_wallet_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/wallet", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_wallet, NULL},
        {"GET", "/register", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_register_page, NULL},
        {"POST", "/register", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_register, NULL},
        {"POST", "/wallet/login", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_login, NULL},
        {"POST", "/wallet/cards/verify", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_card_verify, NULL},
        {"POST", "/wallet/cards/confirm", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_card_confirm, NULL},
        {"POST", "/wallet/topup", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_topup, NULL},
        {"POST", "/wallet/withdraw", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_withdraw, NULL},
        {"POST", "/wallet/agreements", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_agreement, NULL},
        {"POST", "/wallet/totp", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_totp, NULL},
        {"POST", "/wallet/totp/confirm", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_totp_confirm, NULL},
        {"POST", "/wallet/reserved", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_reserved, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
