/* The forms of the sandbox admin page (/admin, docs/bank.md "Sandbox administration"):
 * create customers, open accounts, issue cards, deposit money, list an account's movements.
 * Same access rule as /admin (loopback or ?token=<admin_token>); every form carries a CSRF
 * token = HMAC(admin_key, the "bank_admin" cookie); POST answers 303 to a GET page. An issued
 * card's number and CVV2 wait in memory (never in the database or the logs) until its result
 * page shows them once. The operations themselves are admin_ops.c, shared with the CLI. */
#include "bank/bank.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/money.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "http/codec.h"
#include "http/server.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_COOKIE "bank_admin"

bool pay_bank_admin_allowed(struct pay_http_request *req, struct pay_bank *b)
{
    const char *ip = pay_http_req_remote_ip(req);
    if (ip && (strcmp(ip, "127.0.0.1") == 0 || strcmp(ip, "::1") == 0))
        return true;
    const char *t = pay_http_req_query(req, "token");
    size_t n = strlen(b->opt.admin_token);
    return n > 0 && t && strlen(t) == n && pay_ct_equal(t, b->opt.admin_token, n);
}

static void csrf_of(const struct pay_bank *b, const char *cookie, char out[65])
{
    uint8_t mac[PAY_HMAC_SHA256_LEN];
    pay_hmac_sha256(mac, b->admin_key, sizeof b->admin_key, cookie, strlen(cookie));
    pay_hex_encode(out, 65, mac, sizeof mac);
}

const char *pay_bank_admin_csrf(struct pay_http_request *req, struct pay_bank *b)
{
    const char *ck = pay_http_req_cookie(req, ADMIN_COOKIE);
    char fresh[33];
    if (!ck || strlen(ck) != 32) { /* first visit: a new random cookie for this browser */
        uint8_t r[16];
        pay_random_bytes(r, sizeof r);
        pay_hex_encode(fresh, sizeof fresh, r, sizeof r);
        pay_http_respond_cookie(req, ADMIN_COOKIE, fresh, -1, PAY_HTTP_COOKIE_STRICT);
        ck = fresh;
    }
    char tok[65];
    csrf_of(b, ck, tok);
    return pay_http_req_strdup(req, tok);
}

/* Access rule, then the form's csrf field against the cookie. */
static enum pay_err admin_post_begin(struct pay_http_request *req, struct pay_bank *b,
                                     struct pay_error *err)
{
    if (!pay_bank_admin_allowed(req, b)) {
        pay_bank_audit_refused(b, req, "admin.form", PAY_ERR_FORBIDDEN);
        return pay_error_set(err, PAY_ERR_FORBIDDEN, "", "the admin page is for loopback clients");
    }
    const char *ck = pay_http_req_cookie(req, ADMIN_COOKIE);
    const char *got = pay_http_req_form_get(req, "csrf");
    char want[65];
    if (!ck || !got || strlen(got) != 64)
        return pay_error_set(err, PAY_ERR_CSRF_INVALID, "csrf", NULL);
    csrf_of(b, ck, want);
    if (!pay_ct_equal(got, want, 64))
        return pay_error_set(err, PAY_ERR_CSRF_INVALID, "csrf", NULL);
    return PAY_ERR_OK;
}

/* "token=<escaped>" when the request came with ?token=, else ""; request-owned. */
const char *pay_bank_admin_tq(struct pay_http_request *req)
{
    const char *t = pay_http_req_query(req, "token");
    if (!t || !t[0])
        return "";
    struct pay_buf q;
    pay_buf_init(&q, 1024);
    const char *out = pay_form_append(&q, "token", t) == 0 ? pay_buf_str(&q) : "";
    out = pay_http_req_strdup(req, out);
    pay_buf_fini(&q);
    return out;
}

/* 303 to path (with "?" or "&" already in it as needed) plus name=value and the token. */
static void redirect_to(struct pay_http_request *req, const char *path, const char *name,
                        const char *value)
{
    struct pay_buf q;
    pay_buf_init(&q, 2048);
    if (pay_form_append(&q, name, value) != 0)
        pay_buf_reset(&q);
    const char *tq = pay_bank_admin_tq(req);
    pay_http_respond_redirect(
        req, pay_http_req_printf(req, "%s%s%s%s", path, pay_buf_str(&q), tq[0] ? "&" : "", tq));
    pay_buf_fini(&q);
}

/* An optional decimal amount field ("" = 0), parsed strictly (pay_money_parse). */
static enum pay_err amount_field(struct pay_http_request *req, const char *name, bool required,
                                 int64_t *out, struct pay_error *err)
{
    const char *v = pay_http_req_form_get(req, name);
    *out = 0;
    if (!v || !v[0]) {
        if (required)
            return pay_error_set(err, PAY_ERR_FIELD_MISSING, name, "%s is required", name);
        return PAY_ERR_OK;
    }
    enum pay_err rc = pay_money_parse(v, PAY_BANK_CURRENCY, out, err);
    if (rc != PAY_ERR_OK)
        pay_str_copy(err->field, sizeof err->field, name);
    return rc;
}

static enum pay_err customer_post(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    char id[PAY_ID_MAX];
    enum pay_err rc = admin_post_begin(req, b, err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_admin_customer_add(b, pay_http_req_form_get(req, "name"),
                                         pay_http_req_form_get(req, "phone"), id, err);
    if (rc == PAY_ERR_OK)
        redirect_to(req, "/admin?done=customer&", "id", id);
    return rc;
}

static enum pay_err reserved_post(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    const char *customer = pay_http_req_form_get(req, "customer");
    enum pay_err rc = admin_post_begin(req, b, err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_admin_customer_reserved(b, customer, pay_http_req_form_get(req, "message"),
                                              err);
    if (rc == PAY_ERR_OK)
        redirect_to(req, "/admin?done=reserved&", "id", customer);
    return rc;
}

static enum pay_err account_post(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    char id[PAY_LEDGER_ID_MAX + 1];
    int64_t limit = 0;
    enum pay_err rc = admin_post_begin(req, b, err);
    if (rc == PAY_ERR_OK)
        rc = amount_field(req, "limit", false, &limit, err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_admin_account_open(b, pay_http_req_form_get(req, "customer"),
                                         pay_http_req_form_get(req, "kind"), limit, id, err);
    if (rc == PAY_ERR_OK)
        redirect_to(req, "/admin?done=account&", "id", id);
    return rc;
}

/* Keeps an issued card for its one showing; writes the ticket. */
static void reveal_put(struct pay_bank *b, const struct pay_bank_issued *c, char ticket[33])
{
    uint8_t r[16];
    pay_random_bytes(r, sizeof r);
    pay_hex_encode(ticket, 33, r, sizeof r);
    int64_t now = pay_clock_now_ms();
    pthread_mutex_lock(&b->reveal_lock);
    size_t at = 0; /* a free or expired slot, else the oldest */
    for (size_t i = 0; i < PAY_BANK_REVEAL_SLOTS; i++) {
        const struct pay_bank_reveal *s = &b->reveal[i];
        if (!s->ticket[0] || now - s->created_ms > PAY_BANK_CARD_REVEAL_TTL_MS) {
            at = i;
            break;
        }
        if (s->created_ms < b->reveal[at].created_ms)
            at = i;
    }
    struct pay_bank_reveal *s = &b->reveal[at];
    pay_wipe(s, sizeof *s);
    pay_str_copy(s->ticket, sizeof s->ticket, ticket);
    pay_str_copy(s->card_id, sizeof s->card_id, c->card_id);
    pay_str_copy(s->account_id, sizeof s->account_id, c->account_id);
    memcpy(s->pan, c->pan, sizeof s->pan);
    memcpy(s->cvv, c->cvv, sizeof s->cvv);
    memcpy(s->expiry, c->expiry, sizeof s->expiry);
    s->created_ms = now;
    pthread_mutex_unlock(&b->reveal_lock);
}

/* Takes (and forgets) the card of ticket; false when unknown, already shown or expired. */
static bool reveal_take(struct pay_bank *b, const char *ticket, struct pay_bank_reveal *out)
{
    bool found = false;
    int64_t now = pay_clock_now_ms();
    pthread_mutex_lock(&b->reveal_lock);
    for (size_t i = 0; ticket && strlen(ticket) == 32 && i < PAY_BANK_REVEAL_SLOTS; i++) {
        struct pay_bank_reveal *s = &b->reveal[i];
        if (!s->ticket[0] || !pay_ct_equal(s->ticket, ticket, 32))
            continue;
        found = now - s->created_ms <= PAY_BANK_CARD_REVEAL_TTL_MS;
        if (found)
            *out = *s;
        pay_wipe(s, sizeof *s);
        break;
    }
    pthread_mutex_unlock(&b->reveal_lock);
    return found;
}

static enum pay_err card_post(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    enum pay_err rc = admin_post_begin(req, b, err);
    if (rc != PAY_ERR_OK)
        return rc;
    struct pay_bank_admin_card c = {.account_id = pay_http_req_form_get(req, "account"),
                                    .kind = pay_http_req_form_get(req, "kind"),
                                    .password = pay_http_req_form_get(req, "password"),
                                    .expiry = pay_http_req_form_get(req, "expiry")};
    if (!c.account_id || !c.account_id[0]) /* the form always names an existing account */
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "account", "account is required");
    struct pay_bank_issued out;
    rc = pay_bank_admin_card_issue(b, &c, &out, err);
    if (rc != PAY_ERR_OK)
        return rc;
    char ticket[33];
    reveal_put(b, &out, ticket);
    pay_wipe(&out, sizeof out);
    redirect_to(req, "/admin/cards/issued?", "ticket", ticket);
    return PAY_ERR_OK;
}

static enum pay_err card_issued_get(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    if (!pay_bank_admin_allowed(req, b))
        return pay_error_set(err, PAY_ERR_FORBIDDEN, "", "the admin page is for loopback clients");
    struct pay_bank_reveal r;
    if (!reveal_take(b, pay_http_req_query(req, "ticket"), &r))
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "ticket",
                             "a new card is shown once; this one was already shown or has "
                             "expired (see the card list on /admin, masked)");
    pay_http_respond_header(req, "Cache-Control", "no-store");
    json_t *ctx =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "bank_name", pay_bank_display_name(b, req),
                  "card_id", r.card_id, "account_id", r.account_id, "number", r.pan, "expiry",
                  r.expiry, "cvv2", r.cvv, "tq", pay_bank_admin_tq(req));
    pay_wipe(&r, sizeof r);
    pay_http_respond_template(req, 200, "admin_card", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

static enum pay_err deposit_post(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    int64_t amount = 0;
    const char *acct = pay_http_req_form_get(req, "account");
    enum pay_err rc = admin_post_begin(req, b, err);
    if (rc == PAY_ERR_OK)
        rc = amount_field(req, "amount", true, &amount, err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_admin_deposit(b, acct, amount, NULL, err);
    if (rc == PAY_ERR_OK)
        redirect_to(req, "/admin/movements?", "account", acct);
    return rc;
}

/* POST /admin/adjustments: the bank corrects an account (调账), naming what it corrects. */
static enum pay_err adjustment_post(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    struct pay_bank_adjustment a = {.account_id = pay_http_req_form_get(req, "account"),
                                    .direction = pay_http_req_form_get(req, "direction"),
                                    .reference = pay_http_req_form_get(req, "reference"),
                                    .note = pay_http_req_form_get(req, "note")};
    enum pay_err rc = admin_post_begin(req, b, err);
    if (rc == PAY_ERR_OK)
        rc = amount_field(req, "amount", true, &a.amount_minor, err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_admin_adjust(b, &a, NULL, err);
    if (rc == PAY_ERR_OK)
        redirect_to(req, "/admin/movements?", "account", a.account_id);
    return rc;
}

static json_t *movement_rows(struct pay_http_request *req, const char *acct,
                             const struct pay_ledger_transfer *t, size_t n)
{
    static const char *const kinds[] = {
        "",         "DEPOSIT",     "PAYMENT",   "REFUND", "AGREEMENT_DEBIT",
        "TRANSFER", "CREDIT_LINE", "ADJUSTMENT"};
    static const struct pay_i18n_msg kind_texts[] = {
        NC_("movement", "Other"),           NC_("movement", "Deposit"),
        NC_("movement", "Card payment"),    NC_("movement", "Refund"),
        NC_("movement", "Agreement debit"), NC_("movement", "Transfer"),
        NC_("movement", "Credit line"),     NC_("movement", "Adjustment")};
    json_t *rows = json_array();
    for (size_t i = 0; i < n; i++) {
        char when[PAY_TIME_TEXT_MAX], amt[PAY_MONEY_TEXT_MAX];
        pay_time_format_rfc3339(t[i].created_ms, when);
        if (pay_money_format(t[i].amount_minor, t[i].currency, amt, sizeof amt) < 0)
            snprintf(amt, sizeof amt, "%lld", (long long)t[i].amount_minor);
        bool credit = strcmp(t[i].credit_account_id, acct) == 0;
        int32_t k = t[i].code == PAY_BANK_XFER_ADJUSTMENT ? 7 : t[i].code;
        bool known = k >= 1 && k <= 7;
        json_array_append_new(
            rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "time", when,
                            "time_text", pay_http_req_time(req, t[i].created_ms), "id", t[i].id,
                            "kind", known ? kinds[k] : "OTHER", "kind_text",
                            pay_http_req_msg(req, &kind_texts[known ? k : 0]), "direction",
                            credit ? "CREDIT" : "DEBIT", "direction_text",
                            credit ? pay_http_req_trc(req, "movement", "In")
                                   : pay_http_req_trc(req, "movement", "Out"),
                            "amount", amt, "amount_text",
                            pay_http_req_money(req, t[i].amount_minor, t[i].currency), "currency",
                            t[i].currency, "reference", t[i].user_data));
    }
    return rows;
}

static enum pay_err movements_get(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    if (!pay_bank_admin_allowed(req, b))
        return pay_error_set(err, PAY_ERR_FORBIDDEN, "", "the admin page is for loopback clients");
    const char *acct = pay_http_req_query(req, "account"), *cur = pay_http_req_query(req, "cursor");
    int64_t cursor = 0, next = 0;
    if (cur) {
        size_t len = strlen(cur);
        if (len == 0 || len > 18 || strspn(cur, "0123456789") != len)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, "cursor", "not a page cursor");
        cursor = strtoll(cur, NULL, 10);
    }
    struct pay_ledger_transfer *t = calloc(PAY_BANK_MOVEMENTS_PAGE_MAX, sizeof *t);
    size_t n = 0;
    if (!t)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    enum pay_err rc =
        pay_bank_admin_movements(b, acct, cursor, t, PAY_BANK_MOVEMENTS_PAGE_MAX, &n, &next, err);
    struct pay_ledger_account a;
    bool found = false;
    if (rc == PAY_ERR_OK)
        rc = pay_ledger_account_get(b->ledger, acct, &a, &found, err);
    if (rc == PAY_ERR_OK) {
        char bal[PAY_MONEY_TEXT_MAX], nx[24];
        if (pay_money_format(pay_ledger_account_net_credit(&a), PAY_BANK_CURRENCY, bal,
                             sizeof bal) < 0)
            bal[0] = '\0';
        snprintf(nx, sizeof nx, "%lld", (long long)next);
        json_t *ctx = json_pack(
            "{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s}", "bank_name", pay_bank_display_name(b, req),
            "account_id", acct, "balance", bal, "balance_text",
            pay_http_req_money(req, a.credits_posted - a.debits_posted, PAY_BANK_CURRENCY), "rows",
            movement_rows(req, acct, t, n), "next", next ? nx : "", "csrf",
            pay_bank_admin_csrf(req, b), "tq", pay_bank_admin_tq(req));
        pay_http_respond_template(req, 200, "admin_movements", ctx);
        json_decref(ctx);
    }
    free(t);
    return rc;
}

static struct pay_http_route routes[] = {
    {"POST", "/admin/customers", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, customer_post, NULL},
    {"POST", "/admin/customers/reserved", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, reserved_post, NULL},
    {"POST", "/admin/accounts", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, account_post, NULL},
    {"POST", "/admin/cards", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, card_post, NULL},
    {"GET", "/admin/cards/issued", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, card_issued_get, NULL},
    {"POST", "/admin/deposits", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, deposit_post, NULL},
    {"POST", "/admin/adjustments", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, adjustment_post, NULL},
    {"GET", "/admin/movements", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, movements_get, NULL},
};

const struct pay_http_route *pay_bank_admin_form_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
