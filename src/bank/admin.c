/* Public certificates (/ca.pem, /b2c/bank-cert.pem), the sandbox SMS outbox (/sandbox/sms)
 * and the sandbox admin page (/admin: loopback clients, or ?token=<admin_token>). */
#include "bank/bank.h"
#include "core/clock.h"
#include "core/money.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "http/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum pay_err ca_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    const char *pem = strcmp(pay_http_req_path(req), "/ca.pem") == 0 ? b->keys.certs.ca_cert_pem
                                                                     : b->keys.certs.sign_cert_pem;
    pay_http_respond_bytes(req, 200, "application/x-pem-file", pem, strlen(pem));
    return PAY_ERR_OK;
}

/* The signing key as SPKI PEM, for clients that verify Paygate-Signature without parsing the
 * certificate (the same key as /b2c/bank-cert.pem). */
static enum pay_err key_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    char *pem = pay_rsa_public_pem(b->keys.certs.sign_key);
    if (!pem)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    pay_http_respond_bytes(req, 200, "application/x-pem-file", pem, strlen(pem));
    free(pem);
    return PAY_ERR_OK;
}

static enum pay_err sms_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    const char *fmt = pay_http_req_query(req, "format");
    bool json = fmt && strcmp(fmt, "json") == 0;
    json_t *list = json_array();
    pthread_mutex_lock(&b->sms_lock);
    for (size_t i = 0; i < b->sms_count; i++) {
        size_t at = (b->sms_next + PAY_BANK_SMS_OUTBOX_MAX - 1 - i) % PAY_BANK_SMS_OUTBOX_MAX;
        char when[PAY_TIME_TEXT_MAX];
        pay_time_format_rfc3339(b->sms[at].time_ms, when);
        json_t *m = json_pack("{s:s, s:s, s:s, s:s}", "time", when, "phone", b->sms[at].phone,
                              "text", b->sms[at].text, "code", b->sms[at].code);
        if (m && !json)
            json_object_set_new(m, "time_text",
                                json_string(pay_http_req_time(req, b->sms[at].time_ms)));
        json_array_append_new(list, m);
    }
    pthread_mutex_unlock(&b->sms_lock);
    if (json) {
        pay_http_respond_json(req, 200, json_pack("{s:o}", "messages", list));
        return PAY_ERR_OK;
    }
    json_t *ctx =
        json_pack("{s:s, s:o}", "bank_name", pay_bank_display_name(b, req), "messages", list);
    pay_http_respond_template(req, 200, "sms_outbox", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

static void money_text(int64_t minor, char out[PAY_MONEY_TEXT_MAX])
{
    if (pay_money_format(minor, PAY_BANK_CURRENCY, out, PAY_MONEY_TEXT_MAX) < 0)
        snprintf(out, PAY_MONEY_TEXT_MAX, "%lld", (long long)minor);
}

struct admin_ctx {
    struct pay_bank *b;
    struct pay_http_request *req;
    json_t *cards, *merchants, *orders, *customers, *accounts;
};

/* An amount for a table cell: the plain decimal as data, the ¥ text to read. */
static json_t *with_money(struct admin_ctx *a, json_t *row, const char *key, int64_t minor)
{
    char plain[PAY_MONEY_TEXT_MAX], text_key[40];
    money_text(minor, plain);
    snprintf(text_key, sizeof text_key, "%s_text", key);
    json_object_set_new(row, key, json_string(plain));
    json_object_set_new(row, text_key,
                        json_string(pay_http_req_money(a->req, minor, PAY_BANK_CURRENCY)));
    return row;
}

static const char *account_kind_text(struct pay_http_request *req, const char *kind)
{
    return strcmp(kind, "credit") == 0
               ? pay_http_req_trc(req, "account kind", "Credit card account")
           : strcmp(kind, "deposit") == 0 ? pay_http_req_trc(req, "account kind", "Deposit account")
                                          : kind;
}

static const char *order_status_text(struct pay_http_request *req, const char *status)
{
    return strcmp(status, "CREATED") == 0    ? pay_http_req_trc(req, "bank order", "Not paid")
           : strcmp(status, "PAID") == 0     ? pay_http_req_trc(req, "bank order", "Paid")
           : strcmp(status, "REFUNDED") == 0 ? pay_http_req_trc(req, "bank order", "Refunded")
                                             : status;
}

static int64_t balance_of(struct pay_bank *b, const char *acct)
{
    struct pay_ledger_account a;
    bool found = false;
    struct pay_error e = {0};
    if (pay_ledger_account_get(b->ledger, acct, &a, &found, &e) != PAY_ERR_OK || !found)
        return 0;
    return pay_ledger_account_net_credit(&a);
}

/* Customers and their accounts (the ids the forms ask for), newest first. */
static enum pay_err people_tx(struct pay_store_tx *tx, struct admin_ctx *a, struct pay_error *err)
{
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT id, name, phone, CASE WHEN reserved_sealed = '' THEN 0 ELSE 1 END"
                        " FROM bank_customers"
                        " ORDER BY created_ms DESC LIMIT 200",
                        "");
    if (!st)
        return err->code;
    while (pay_store_step(st, err) == 1) /* whether a reserved message is set, never what */
        json_array_append_new(
            a->customers, json_pack("{s:s, s:s, s:s, s:b}", "id", pay_store_col_text(st, 0), "name",
                                    pay_store_col_text(st, 1), "phone", pay_store_col_text(st, 2),
                                    "reserved", pay_store_col_int64(st, 3) != 0));
    pay_store_done(st);
    st = pay_store_query(tx, err,
                         "SELECT id, kind, owner FROM bank_accounts WHERE kind <> 'merchant'"
                         " ORDER BY created_ms DESC LIMIT 200",
                         "");
    if (!st)
        return err->code;
    while (pay_store_step(st, err) == 1) {
        const char *kind = pay_store_col_text(st, 1);
        json_t *row = json_pack("{s:s, s:s, s:s, s:s}", "id", pay_store_col_text(st, 0), "kind",
                                kind, "kind_text", account_kind_text(a->req, kind), "owner",
                                pay_store_col_text(st, 2));
        json_array_append_new(a->accounts, with_money(a, row, "balance",
                                                      balance_of(a->b, pay_store_col_text(st, 0))));
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

static enum pay_err admin_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct admin_ctx *a = ctx;
    enum pay_err ps = people_tx(tx, a, err);
    if (ps != PAY_ERR_OK)
        return ps;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT c.customer_id, u.name, c.bin, c.last4, c.kind, c.expiry, c.account_id,"
        " COALESCE(a.locked_until_ms, 0) FROM bank_cards c JOIN bank_customers u"
        " ON u.id = c.customer_id LEFT JOIN bank_attempts a ON a.subject = 'card:' || c.id"
        " ORDER BY c.created_ms LIMIT 200",
        "");
    if (!st)
        return err->code;
    while (pay_store_step(st, err) == 1) {
        char masked[PAY_BANK_MASKED_MAX];
        snprintf(masked, sizeof masked, "%s******%s", pay_store_col_text(st, 2),
                 pay_store_col_text(st, 3));
        const char *kind = pay_store_col_text(st, 4);
        json_t *row = json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "customer_id", pay_store_col_text(st, 0),
            "name", pay_store_col_text(st, 1), "masked", masked, "kind", kind, "kind_text",
            strcmp(kind, "credit") == 0 ? pay_http_req_trc(a->req, "card kind", "Credit card")
                                        : pay_http_req_trc(a->req, "card kind", "Debit card"),
            "expiry", pay_store_col_text(st, 5), "account_id", pay_store_col_text(st, 6), "locked",
            pay_store_col_int64(st, 7) > pay_clock_now_ms());
        json_array_append_new(
            a->cards, with_money(a, row, "balance", balance_of(a->b, pay_store_col_text(st, 6))));
    }
    pay_store_done(st);
    st = pay_store_query(tx, err,
                         "SELECT mer_id, name, account_id, referrer_domain, notify_domain"
                         " FROM bank_merchants ORDER BY mer_id LIMIT 200",
                         "");
    if (!st)
        return err->code;
    while (pay_store_step(st, err) == 1) {
        json_t *row = json_pack(
            "{s:s, s:s, s:s, s:s, s:s}", "mer_id", pay_store_col_text(st, 0), "name",
            pay_store_col_text(st, 1), "account_id", pay_store_col_text(st, 2), "referrer_domain",
            pay_store_col_text(st, 3), "notify_domain", pay_store_col_text(st, 4));
        json_array_append_new(
            a->merchants,
            with_money(a, row, "balance", balance_of(a->b, pay_store_col_text(st, 2))));
    }
    pay_store_done(st);
    st = pay_store_query(tx, err,
                         "SELECT id, mer_id, order_id, amount_minor, status, refunded_minor"
                         " FROM bank_orders ORDER BY created_ms DESC LIMIT 50",
                         "");
    if (!st)
        return err->code;
    while (pay_store_step(st, err) == 1) {
        const char *status = pay_store_col_text(st, 4);
        json_t *row =
            json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", pay_store_col_text(st, 0), "mer_id",
                      pay_store_col_text(st, 1), "order_id", pay_store_col_text(st, 2), "status",
                      status, "status_text", order_status_text(a->req, status));
        with_money(a, row, "amount", pay_store_col_int64(st, 3));
        json_array_append_new(a->orders,
                              with_money(a, row, "refunded", pay_store_col_int64(st, 5)));
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

static enum pay_err admin_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    if (!pay_bank_admin_allowed(req, b)) {
        pay_bank_audit_refused(b, req, "admin.access", PAY_ERR_FORBIDDEN);
        return pay_error_set(err, PAY_ERR_FORBIDDEN, "", "the admin page is for loopback clients");
    }
    struct admin_ctx a = {b,           req, json_array(), json_array(), json_array(), json_array(),
                          json_array()};
    enum pay_err rc = pay_store_run_read(b->store, admin_tx, &a, err);
    json_t *ctx = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:s}", "bank_name",
                            pay_bank_display_name(b, req), "bank_code", b->opt.code, "bin",
                            b->opt.bin, "cards", a.cards, "merchants", a.merchants, "orders",
                            a.orders, "customers", a.customers, "accounts", a.accounts, "csrf",
                            pay_bank_admin_csrf(req, b), "tq", pay_bank_admin_tq(req));
    const char *done = pay_http_req_query(req, "done"), *id = pay_http_req_query(req, "id");
    const char *tok = pay_http_req_query(req, "token"); /* allowed: it is the admin token */
    if (ctx && tok && tok[0])
        json_object_set_new(ctx, "token", json_string(tok));
    const char *done_text =
        !done                           ? NULL
        : strcmp(done, "customer") == 0 ? pay_http_req_tr(req, "Customer created")
        : strcmp(done, "account") == 0  ? pay_http_req_tr(req, "Account opened")
        : strcmp(done, "reserved") == 0 ? pay_http_req_tr(req, "Reserved message set")
                                        : NULL;
    if (ctx && done_text && id)
        json_object_set_new(ctx, "done",
                            json_pack("{s:s, s:s, s:s}", "what", done, "what_text", done_text, "id",
                                      id)); /* escaped */
    if (rc == PAY_ERR_OK)
        pay_http_respond_template(req, 200, "admin", ctx);
    json_decref(ctx);
    return rc;
}

/* GET /brand.css: the bank's colour for its pages ([bank] brand_color), as a stylesheet since
 * the pages' CSP allows no inline style. */
static enum pay_err brand_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    char *css = pay_http_req_printf(req, ":root { --brand: %s; }\n", b->opt.brand_color);
    if (!css)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    pay_http_respond_bytes(req, 200, "text/css; charset=utf-8", css, strlen(css));
    return PAY_ERR_OK;
}

/* GET /: the bank's start page, where its error pages lead: what this server is, where a
 * payment starts, and its sandbox pages. */
static enum pay_err home_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    json_t *ctx = json_pack("{s:s, s:s}", "bank_name", pay_bank_display_name(b, req), "bank_code",
                            b->opt.code);
    if (!ctx)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    pay_http_respond_template(req, 200, "home", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

static struct pay_http_route routes[] = {
    {"GET", "/", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, home_handler, NULL},
    {"GET", "/brand.css", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, brand_handler, NULL},
    {"GET", "/ca.pem", PAY_HTTP_API, PAY_HTTP_BODY_AUTO, ca_handler, NULL},
    {"GET", "/b2c/bank-cert.pem", PAY_HTTP_API, PAY_HTTP_BODY_AUTO, ca_handler, NULL},
    {"GET", "/api/v1/bank-key.pem", PAY_HTTP_API, PAY_HTTP_BODY_AUTO, key_handler, NULL},
    {"GET", "/sandbox/sms", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, sms_handler, NULL},
    {"GET", "/admin", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, admin_handler, NULL},
};

const struct pay_http_route *pay_bank_admin_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
