/* The courier's page and the shop's books (docs/shop.md "Cash on delivery"). The courier sees
 * the cash-on-delivery orders out for delivery and records each: cash collected (exactly the
 * order's amount) or refused: staff with a courier's or an admin's login (shop_login.c). The
 * books page, an admin's, shows what couriers owe (COD owed), the cash they collected and every
 * entry. */
#include "shop/shop_internal.h"

#include "core/assertions.h"
#include "core/log.h"
#include "core/money.h"
#include "i18n/i18n.h"

#include <stdlib.h>
#include <string.h>

struct out_ctx {
    struct pay_http_request *req;
    json_t *rows;
};

static void out_row(void *ctx, const struct shop_order *o)
{
    struct out_ctx *c = ctx;
    if (strcmp(o->method, "cod") == 0 &&
        (strcmp(o->state, "cod") == 0 || strcmp(o->state, "shipped") == 0))
        json_array_append_new(c->rows, shop_order_json(c->req, o));
}

/* GET /courier: the COD orders out for delivery, newest first. */
static enum pay_err h_courier(struct pay_http_request *req, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    enum pay_err e;
    const struct shop_staff *who = shop_staff_page(req, SHOP_ROLE_COURIER, &e, err);
    if (!who)
        return e;
    struct out_ctx c = {req, json_array()};
    shop_order_list(s, NULL, out_row, &c);
    shop_render(req, 200, "courier",
                shop_staff_ctx(req, who, json_pack("{s:o}", "orders", c.rows)));
    return PAY_ERR_OK;
}

/* POST /courier/orders/{id}/delivered (collected: the cash taken, exactly the amount) and
 * POST /courier/orders/{id}/refused. */
static enum pay_err deliver(struct pay_http_request *req, bool collected, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    enum pay_err e;
    if (!shop_staff_page(req, SHOP_ROLE_COURIER, &e, err)) {
        PAY_ASSERT(e != PAY_ERR_OK); /* POST routes only: refused, never redirected */
        return e;
    }
    struct shop_order o;
    const char *id = pay_http_req_param(req, "id");
    if (!id || shop_order_get(s, id, &o) != 0 || strcmp(o.method, "cod") != 0)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, NULL, "no such cash-on-delivery order");
    if (collected) {
        const char *text = pay_http_req_form_get(req, "collected");
        int64_t cash = 0;
        e = pay_money_parse_amount(text ? text : "", "CNY", "collected", &cash, err);
        if (e != PAY_ERR_OK)
            return e;
        if (cash != o.amount)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, "collected",
                                 N_("collect exactly the order's amount"));
    }
    int rc = shop_cod_deliver(s, o.id, collected);
    if (rc < 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, NULL, "cannot record the delivery");
    if (rc == 0)
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, NULL,
                             N_("this order's delivery is recorded already"));
    PAY_INFO("shop.cod_delivered", "order=%s outcome=%s amount=%lld", o.id,
             collected ? "collected" : "refused", (long long)o.amount);
    pay_http_respond_redirect(req, "/courier");
    return PAY_ERR_OK;
}

static enum pay_err h_delivered(struct pay_http_request *req, struct pay_error *err)
{
    return deliver(req, true, err);
}

static enum pay_err h_refused(struct pay_http_request *req, struct pay_error *err)
{
    return deliver(req, false, err);
}

/* The books' accounts and entries by name. */
static const struct pay_i18n_msg account_names[SHOP_BOOK_ACCOUNTS] = {
    NC_("shop books", "COD owed by couriers"), NC_("shop books", "Cash collected"),
    NC_("shop books", "Sales")};
static const struct pay_i18n_msg kind_names[] = {NC_("shop books", "Sent out unpaid"),
                                                 NC_("shop books", "Cash collected"),
                                                 NC_("shop books", "Refused")};
static const char *const kinds[] = {"owed", "collected", "refused"};

static const char *account_name(struct pay_http_request *req, const char *account)
{
    for (size_t i = 0; i < SHOP_BOOK_ACCOUNTS; i++)
        if (strcmp(account, shop_book_accounts[i]) == 0)
            return pay_http_req_msg(req, &account_names[i]);
    return account;
}

static json_t *entry_json(struct pay_http_request *req, const struct shop_book_entry *en)
{
    const char *kind = en->kind;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(en->kind, kinds[i]) == 0)
            kind = pay_http_req_msg(req, &kind_names[i]);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "order_id", en->order_id, "kind", en->kind,
                          "kind_text", kind, "debit", account_name(req, en->debit), "credit",
                          account_name(req, en->credit));
    return shop_money_json(req, j, "amount", en->amount);
}

/* GET /admin/books: every account's balance (debits - credits) and the newest entries. */
static enum pay_err h_books(struct pay_http_request *req, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    enum pay_err e;
    const struct shop_staff *who = shop_staff_page(req, SHOP_ROLE_ADMIN, &e, err);
    if (!who)
        return e;
    struct shop_books *b = malloc(sizeof *b); /* ~25 KB: the heap */
    if (!b || shop_books_read(s, b) != 0) {
        free(b);
        return pay_error_set(err, PAY_ERR_INTERNAL, NULL, "cannot read the books");
    }
    json_t *accounts = json_array(), *entries = json_array();
    for (size_t i = 0; i < SHOP_BOOK_ACCOUNTS; i++) {
        json_t *a = json_pack("{s:s, s:s}", "account", shop_book_accounts[i], "name",
                              account_name(req, shop_book_accounts[i]));
        json_array_append_new(accounts, shop_money_json(req, a, "balance", b->balance[i]));
    }
    for (size_t i = 0; i < b->n; i++)
        json_array_append_new(entries, entry_json(req, &b->entries[i]));
    free(b);
    shop_render(req, 200, "books",
                shop_staff_ctx(req, who,
                               json_pack("{s:o, s:o, s:b}", "accounts", accounts, "entries",
                                         entries, "has_entries", json_array_size(entries) > 0)));
    return PAY_ERR_OK;
}

enum pay_err shop_add_courier_routes(struct shop *s, struct pay_http_server *srv,
                                     struct pay_error *err)
{
    const struct pay_http_route r[] = {
        {"GET", "/courier", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_courier, s},
        {"POST", "/courier/orders/{id}/delivered", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_delivered,
         s},
        {"POST", "/courier/orders/{id}/refused", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_refused, s},
        {"GET", "/admin/books", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_books, s},
    };
    return pay_http_server_add_routes(srv, r, sizeof r / sizeof r[0], err);
}
