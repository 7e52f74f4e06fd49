/* The shop's pages: catalogue, cart (a cookie) and "my orders" (orders of the browser's session
 * cookie), rendered from web/shop/templates in the reader's language (docs/i18n.md); the styles
 * are in web/shop/static/shop.css (the CSP allows no inline style or script). */
#include "shop/shop_internal.h"

#include "core/assertions.h"
#include "core/money.h"
#include "crypto/crypto.h"
#include "http/codec.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Product names are English msgids (N_): each page shows them in the reader's language. */
const struct shop_product shop_products[] = {
    {"tea", N_("Longjing green tea, 100 g"), 6800},
    {"cup", N_("Celadon tea cup"), 3500},
    {"pot", N_("Yixing clay teapot"), 28800},
    {"fan", N_("Silk folding fan"), 4500},
};
const size_t shop_n_products = sizeof shop_products / sizeof shop_products[0];

const struct shop_product *shop_product_find(const char *id)
{
    for (size_t i = 0; id && i < shop_n_products; i++)
        if (strcmp(shop_products[i].id, id) == 0)
            return &shop_products[i];
    return NULL;
}

json_t *shop_money_json(struct pay_http_request *req, json_t *o, const char *key, int64_t minor)
{
    char plain[PAY_MONEY_TEXT_MAX], text_key[48];
    if (pay_money_format(minor, "CNY", plain, sizeof plain) < 0)
        plain[0] = '\0';
    snprintf(text_key, sizeof text_key, "%s_text", key);
    json_object_set_new(o, key, json_string(plain));
    json_object_set_new(o, text_key, json_string(pay_http_req_money(req, minor, "CNY")));
    return o;
}

void shop_render(struct pay_http_request *req, int status, const char *page, json_t *ctx)
{
    if (ctx == NULL) {
        pay_http_respond_code(req, PAY_ERR_INTERNAL);
        return;
    }
    json_object_set_new(ctx, "page", json_string(page));
    pay_http_respond_template(req, status, page, ctx);
    json_decref(ctx);
}

const char *shop_bank_name(const struct shop *s, struct pay_http_request *req)
{
    bool en = strcmp(pay_i18n_tag(pay_http_req_lang(req)), "en") == 0;
    if (!s->bank_name[0])
        return pay_http_req_tr(req, "your bank");
    return en && s->bank_name_en[0] ? s->bank_name_en : s->bank_name;
}

/* The browser's session id (cookie shop_sid), created on first use. */
const char *shop_sid(struct pay_http_request *req)
{
    const char *sid = pay_http_req_cookie(req, "shop_sid");
    if (sid && strlen(sid) == 22)
        return sid;
    char t[32];
    if (pay_random_token(t, sizeof t, 16) != 0)
        return "anonymous";
    (void)pay_http_respond_cookie(req, "shop_sid", t, 86400 * 365, 0);
    return pay_http_req_strdup(req, t);
}

/* Cart cookie "tea:2.cup:1": quantities per product id. */
void shop_cart_read(struct pay_http_request *req, int qty[])
{
    memset(qty, 0, sizeof(int) * shop_n_products);
    const char *c = pay_http_req_cookie(req, "shop_cart");
    for (size_t i = 0; c && i < shop_n_products; i++) {
        char key[40];
        snprintf(key, sizeof key, "%s:", shop_products[i].id);
        const char *p = strstr(c, key);
        if (p && (p == c || p[-1] == '.'))
            qty[i] = (int)(strtol(p + strlen(key), NULL, 10) % 100);
    }
}

static void cart_write(struct pay_http_request *req, const int qty[])
{
    char v[256] = "";
    for (size_t i = 0; i < shop_n_products; i++)
        if (qty[i] > 0)
            snprintf(v + strlen(v), sizeof v - strlen(v), "%s%s:%d", v[0] ? "." : "",
                     shop_products[i].id, qty[i]);
    (void)pay_http_respond_cookie(req, "shop_cart", v, v[0] ? 86400 : 0, 0);
}

static enum pay_err h_catalogue(struct pay_http_request *req, struct pay_error *err)
{
    (void)shop_sid(req);
    json_t *list = json_array();
    for (size_t i = 0; i < shop_n_products; i++) {
        json_t *o = json_pack("{s:s, s:s}", "id", shop_products[i].id, "name",
                              pay_http_req_tr(req, shop_products[i].name));
        json_array_append_new(list, shop_money_json(req, o, "price", shop_products[i].price));
    }
    shop_render(req, 200, "catalogue", json_pack("{s:o}", "products", list));
    return PAY_ERR_OK;
}

static enum pay_err h_cart_add(struct pay_http_request *req, struct pay_error *err)
{
    if (!shop_same_origin(req, pay_http_req_ctx(req)))
        return pay_error_set(err, PAY_ERR_FORBIDDEN, NULL, "form posted from another site");
    int qty[16];
    shop_cart_read(req, qty);
    const struct shop_product *p = shop_product_find(pay_http_req_form_get(req, "product"));
    if (!p)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "product", "unknown product");
    qty[p - shop_products]++;
    cart_write(req, qty);
    pay_http_respond_redirect(req, "/cart");
    return PAY_ERR_OK;
}

static enum pay_err h_cart_clear(struct pay_http_request *req, struct pay_error *err)
{
    if (!shop_same_origin(req, pay_http_req_ctx(req)))
        return pay_error_set(err, PAY_ERR_FORBIDDEN, NULL, "form posted from another site");
    int qty[16] = {0};
    cart_write(req, qty);
    pay_http_respond_redirect(req, "/cart");
    return PAY_ERR_OK;
}

static enum pay_err h_cart(struct pay_http_request *req, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    int qty[16];
    shop_cart_read(req, qty);
    json_t *lines = json_array();
    int64_t total = 0;
    for (size_t i = 0; i < shop_n_products; i++) {
        if (qty[i] <= 0)
            continue;
        total += shop_products[i].price * qty[i];
        json_t *o = json_pack("{s:s, s:s, s:i}", "id", shop_products[i].id, "name",
                              pay_http_req_tr(req, shop_products[i].name), "qty", qty[i]);
        json_array_append_new(lines,
                              shop_money_json(req, o, "price", shop_products[i].price * qty[i]));
    }
    json_t *ctx = json_pack("{s:o, s:b, s:b, s:s}", "lines", lines, "has_lines", total > 0,
                            "has_bank", s->bank != NULL, "bank_name", shop_bank_name(s, req));
    shop_render(req, 200, "cart", ctx ? shop_money_json(req, ctx, "total", total) : NULL);
    return PAY_ERR_OK;
}

/* The human name of code in table (n entries), else the code itself. */
struct shop_name {
    const char *code;
    struct pay_i18n_msg text;
};
static const char *name_of(struct pay_http_request *req, const struct shop_name *table, size_t n,
                           const char *code)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(code, table[i].code) == 0)
            return pay_http_req_msg(req, &table[i].text);
    return code;
}

/* What the shopper and the admin may do next with o (docs/shop.md "After-sales"). */
static void order_actions(struct pay_http_request *req, const struct shop_order *o, json_t *j)
{
    const struct shop *s = pay_http_req_ctx(req);
    bool cod = strcmp(o->method, "cod") == 0; /* cash: refunded by hand, not here */
    bool paid_or_shipped =
        !cod && (strcmp(o->state, "paid") == 0 || strcmp(o->state, "shipped") == 0);
    bool on_platform = strcmp(o->method, "bank") != 0 && !cod && o->trade_id[0];
    int64_t left = o->amount - o->refunded; /* 0 <= refunded <= amount: the store's rows */
    PAY_ASSERT_MSG(o->refunded >= 0 && left >= 0, "order %s", o->id);
    json_object_set_new(j, "refundable", json_boolean(paid_or_shipped && left > 0));
    json_object_set_new(
        j, "shippable",
        json_boolean(strcmp(o->state, "paid") == 0 || strcmp(o->state, "cod") == 0));
    json_object_set_new(
        j, "cod_out",
        json_boolean(cod && (strcmp(o->state, "cod") == 0 || strcmp(o->state, "shipped") == 0)));
    json_object_set_new(j, "shipped", json_boolean(o->tracking_no[0] != '\0'));
    json_object_set_new(j, "logistics_company", json_string(o->logistics_company));
    json_object_set_new(j, "tracking_no", json_string(o->tracking_no));
    /* confirming receipt and asking for a refund happen in the shopper's wallet, with its
     * password and the platform's after-sales requests (the shop holds neither) */
    json_object_set_new(j, "can_confirm",
                        json_boolean(on_platform && strcmp(o->method, "escrow") == 0 &&
                                     strcmp(o->state, "shipped") == 0));
    json_object_set_new(j, "can_request", json_boolean(on_platform && paid_or_shipped && left > 0));
    if (on_platform)
        json_object_set_new(j, "wallet_url",
                            json_string(pay_http_req_printf(req, "%s/wallet/trades/%s",
                                                            s->platform_url, o->trade_id)));
    shop_money_json(req, j, "left", left);
}

json_t *shop_order_json(struct pay_http_request *req, const struct shop_order *o)
{
    static const struct shop_name states[] = {{"pending", NC_("shop order", "Awaiting payment")},
                                              {"paid", NC_("shop order", "Paid")},
                                              {"shipped", NC_("shop order", "Shipped")},
                                              {"received", NC_("shop order", "Received")},
                                              {"refunded", NC_("shop order", "Refunded")},
                                              {"cod", NC_("shop order",
                                                          "Cash on delivery: to be delivered")},
                                              {"closed",
                                               NC_("shop order", "Closed: refused on delivery")}},
                                  methods[] = {{"platform", NC_("shop payment", "PayGate")},
                                               {"escrow", NC_("shop payment", "PayGate escrow")},
                                               {"bank", NC_("shop payment", "Online banking")},
                                               {"cod", NC_("shop payment", "Cash on delivery")}},
                                  vias[] = {{"notify", NC_("marked paid by", "Notification")},
                                            {"query", NC_("marked paid by", "Query")},
                                            {"cash", NC_("marked paid by", "Cash to the courier")},
                                            {"cod", NC_("marked paid by", "Not paid yet (COD)")}};
#define N(t) (sizeof t / sizeof t[0])
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:b}", "id", o->id, "items", o->items,
        "method", o->method, "method_text", name_of(req, methods, N(methods), o->method), "state",
        o->state, "state_text", name_of(req, states, N(states), o->state), "fulfilments",
        o->fulfilments, "paid_via", o->paid_via, "paid_via_text",
        name_of(req, vias, N(vias), o->paid_via), "pending", strcmp(o->state, "pending") == 0);
#undef N
    if (!j)
        return NULL;
    shop_money_json(req, j, "amount", o->amount);
    order_actions(req, o, j);
    return o->refunded > 0 ? shop_money_json(req, j, "refunded", o->refunded) : j;
}

struct list_ctx {
    struct pay_http_request *req;
    json_t *rows;
};

static void order_row(void *ctx, const struct shop_order *o)
{
    struct list_ctx *l = ctx;
    json_array_append_new(l->rows, shop_order_json(l->req, o));
}

static enum pay_err h_orders(struct pay_http_request *req, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    const char *sid = shop_sid(req);
    struct list_ctx l = {req, json_array()};
    shop_order_list(s, sid, order_row, &l);
    shop_render(req, 200, "orders", json_pack("{s:o}", "orders", l.rows));
    return PAY_ERR_OK;
}

/* CSRF guard for every form post: browsers send Origin with a POST, and another site's page
 * posting here (to /admin/.../refund on the operator's machine, say) carries its own origin.
 * A missing Origin is a non-browser client, which no other site can drive. */
int shop_same_origin(struct pay_http_request *req, const struct shop *s)
{
    const char *origin = pay_http_req_header(req, "Origin");
    return !origin || strcmp(origin, s->public_url) == 0;
}

enum pay_err shop_add_page_routes(struct shop *s, struct pay_http_server *srv,
                                  struct pay_error *err)
{
    const struct pay_http_route r[] = {
        {"GET", "/", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_catalogue, s},
        {"GET", "/cart", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_cart, s},
        {"POST", "/cart/add", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_cart_add, s},
        {"POST", "/cart/clear", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_cart_clear, s},
        {"GET", "/orders", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_orders, s},
    };
    return pay_http_server_add_routes(srv, r, sizeof r / sizeof r[0], err);
}
