/* The shop's pages: catalogue, cart (a cookie), "my orders" (orders of the browser's session
 * cookie) and the admin list. HTML is built here with every value escaped; the styles are in
 * web/shop/static/shop.css (the CSP allows no inline style or script). */
#include "shop/shop_internal.h"

#include "core/money.h"
#include "crypto/crypto.h"
#include "http/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct shop_product shop_products[] = {
    {"tea", "Longjing green tea, 100 g", 6800},
    {"cup", "Celadon tea cup", 3500},
    {"pot", "Yixing clay teapot", 28800},
    {"fan", "Silk folding fan", 4500},
};
const size_t shop_n_products = sizeof shop_products / sizeof shop_products[0];

const struct shop_product *shop_product_find(const char *id)
{
    for (size_t i = 0; id && i < shop_n_products; i++)
        if (strcmp(shop_products[i].id, id) == 0)
            return &shop_products[i];
    return NULL;
}

void shop_money(int64_t minor, char out[40])
{
    char t[32];
    if (pay_money_format(minor, "CNY", t, sizeof t) < 0)
        snprintf(t, sizeof t, "?");
    snprintf(out, 40, "¥%s", t);
}

void shop_page_begin(struct pay_buf *b, const char *title)
{
    shop_ok(pay_buf_puts(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                            "<meta name=\"viewport\" content=\"width=device-width, "
                            "initial-scale=1\"><title>") |
            pay_html_escape(b, title) |
            pay_buf_puts(b, " · Teahouse demo shop</title><link rel=\"stylesheet\" "
                            "href=\"/static/shop.css\"><script src=\"/static/autosubmit.js\" "
                            "defer></script></head>\n<body><header><a class=\"brand\" href=\"/\">"
                            "Teahouse</a><nav><a href=\"/\">Catalogue</a> <a id=\"nav-cart\" "
                            "href=\"/cart\">Cart</a> <a id=\"nav-orders\" href=\"/orders\">My "
                            "orders</a> <a href=\"/admin\">Admin</a></nav></header><main>\n"));
}

void shop_page_send(struct pay_http_request *req, struct pay_buf *b, int status)
{
    shop_ok(pay_buf_puts(b, "</main><footer>paygate demo shop — payments through libpaygate"
                            "</footer></body></html>\n"));
    pay_http_respond_html(req, status, pay_buf_str(b));
    pay_buf_fini(b);
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
    struct pay_buf b;
    pay_buf_init(&b, 1 << 20);
    shop_page_begin(&b, "Catalogue");
    shop_ok(pay_buf_puts(&b, "<h1>Catalogue</h1><ul class=\"products\">"));
    for (size_t i = 0; i < shop_n_products; i++) {
        char price[40];
        shop_money(shop_products[i].price, price);
        shop_ok(pay_buf_printf(&b,
                               "<li class=\"product\" id=\"product-%s\"><h2>%s</h2><p "
                               "class=\"price\">%s</p><form method=\"post\" action=\"/cart/add\">"
                               "<input type=\"hidden\" name=\"product\" value=\"%s\"><button "
                               "type=\"submit\" id=\"add-%s\">Add to cart</button></form></li>",
                               shop_products[i].id, shop_products[i].name, price,
                               shop_products[i].id, shop_products[i].id));
    }
    shop_ok(pay_buf_puts(&b, "</ul>"));
    shop_page_send(req, &b, 200);
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

static void cart_table(struct shop *s, struct pay_buf *b, const int qty[], int64_t *total)
{
    *total = 0;
    shop_ok(
        pay_buf_puts(b, "<table class=\"cart\"><tr><th>Item</th><th>Qty</th><th>Price</th></tr>"));
    for (size_t i = 0; i < shop_n_products; i++) {
        if (qty[i] <= 0)
            continue;
        char price[40];
        shop_money(shop_products[i].price * qty[i], price);
        *total += shop_products[i].price * qty[i];
        shop_ok(pay_buf_printf(b, "<tr><td>%s</td><td>%d</td><td>%s</td></tr>",
                               shop_products[i].name, qty[i], price));
    }
    char t[40];
    shop_money(*total, t);
    shop_ok(pay_buf_printf(b,
                           "<tr class=\"total\"><td>Total</td><td></td><td id=\"cart-total\">%s"
                           "</td></tr></table>",
                           t));
}

static enum pay_err h_cart(struct pay_http_request *req, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    int qty[16];
    shop_cart_read(req, qty);
    struct pay_buf b;
    pay_buf_init(&b, 1 << 20);
    shop_page_begin(&b, "Cart");
    shop_ok(pay_buf_puts(&b, "<h1>Your cart</h1>"));
    int64_t total;
    cart_table(s, &b, qty, &total);
    if (total == 0) {
        shop_ok(pay_buf_puts(&b, "<p id=\"cart-empty\">Your cart is empty.</p>"));
    } else {
        shop_ok(pay_buf_puts(&b, "<form method=\"post\" action=\"/checkout\" class=\"checkout\">"
                                 "<fieldset><legend>Pay with</legend><label><input type=\"radio\" "
                                 "name=\"method\" value=\"platform\" id=\"pay-platform\" checked> "
                                 "PayGate (wallet or any bank, on the PayGate cashier)</label>"));
        if (s->bank)
            shop_ok(pay_buf_puts(&b, "<label><input type=\"radio\" name=\"method\" value=\"bank\" "
                                     "id=\"pay-bank\"> Online banking at ") |
                    pay_html_escape(&b, s->bank_name) | pay_buf_puts(&b, " (direct)</label>"));
        shop_ok(pay_buf_puts(&b,
                             "</fieldset><button type=\"submit\" id=\"checkout\">Place order and "
                             "pay</button></form><form method=\"post\" action=\"/cart/clear\">"
                             "<button type=\"submit\" class=\"link\">Empty the cart</button>"
                             "</form>"));
    }
    shop_page_send(req, &b, 200);
    return PAY_ERR_OK;
}

static const char *state_label(const struct shop_order *o)
{
    return strcmp(o->state, "pending") == 0 ? "awaiting payment" : o->state;
}

struct list_ctx {
    struct pay_buf *b;
    int admin;
    int n;
};

static void order_row(void *ctx, const struct shop_order *o)
{
    struct list_ctx *l = ctx;
    char amt[40], ref[40];
    shop_money(o->amount, amt);
    shop_money(o->refunded, ref);
    l->n++;
    shop_ok(pay_buf_printf(l->b, "<tr id=\"row-%s\"><td><a href=\"/orders/%s\">%s</a></td><td>",
                           o->id, o->id, o->id) |
            pay_html_escape(l->b, o->items) |
            pay_buf_printf(l->b, "</td><td>%s</td><td>%s</td><td class=\"state state-%s\">%s</td>",
                           amt, o->method, o->state, state_label(o)));
    if (l->admin) {
        shop_ok(pay_buf_printf(l->b,
                               "<td>%s</td><td class=\"fulfilments\">%d</td><td class=\"via\">"
                               "%s</td><td>",
                               ref, o->fulfilments, o->paid_via));
        if (strcmp(o->state, "paid") == 0)
            shop_ok(pay_buf_printf(l->b,
                                   "<form method=\"post\" action=\"/admin/orders/%s/refund\">"
                                   "<button type=\"submit\" id=\"refund-%s\">Refund %s</button>"
                                   "</form>",
                                   o->id, o->id, amt));
        shop_ok(pay_buf_puts(l->b, "</td>"));
    }
    shop_ok(pay_buf_puts(l->b, "</tr>"));
}

static enum pay_err h_orders(struct pay_http_request *req, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    const char *sid = shop_sid(req);
    struct pay_buf b;
    pay_buf_init(&b, 1 << 20);
    shop_page_begin(&b, "My orders");
    shop_ok(pay_buf_puts(&b, "<h1>My orders</h1><table class=\"orders\" id=\"my-orders\"><tr><th>"
                             "Order</th><th>Items</th><th>Amount</th><th>Paid with</th><th>State"
                             "</th></tr>"));
    struct list_ctx l = {&b, 0, 0};
    shop_order_list(s, sid, order_row, &l);
    shop_ok(pay_buf_puts(&b, "</table>"));
    shop_page_send(req, &b, 200);
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

/* The admin page: loopback clients only (the demo's operator). */
int shop_is_admin(struct pay_http_request *req)
{
    const char *ip = pay_http_req_remote_ip(req);
    return ip && (strcmp(ip, "127.0.0.1") == 0 || strcmp(ip, "::1") == 0);
}

/* The shop's balance at the platform (what the platform owes it), asked through the SDK
 * (GET /v1/balance) each time the page is shown. */
static void platform_balance(struct shop *s, struct pay_buf *b)
{
    shop_ok(pay_buf_puts(b, "<h2>Platform balance</h2>"));
    paygate_balance bal[8];
    size_t n = 0;
    paygate_error pe = {0};
    int rc = s->platform ? paygate_balance_query(s->platform, NULL, bal, 8, &n, &pe) : PAYGATE_OK;
    if (rc != PAYGATE_OK) {
        shop_ok(pay_buf_puts(b, "<p class=\"error\" id=\"platform-balance-error\">") |
                pay_html_escape(b, pe.message) | pay_buf_puts(b, "</p>"));
        return;
    }
    shop_ok(pay_buf_puts(b, "<table class=\"orders\" id=\"platform-balance\"><tr><th>Currency"
                            "</th><th>Available</th><th>Fees charged</th></tr>"));
    for (size_t i = 0; i < n; i++) {
        char avail[48] = "", fees[48] = "";
        if (pay_money_format(bal[i].available, bal[i].currency, avail, sizeof avail) < 0 ||
            pay_money_format(bal[i].fees_charged, bal[i].currency, fees, sizeof fees) < 0)
            continue;
        shop_ok(pay_buf_printf(b,
                               "<tr data-currency=\"%s\"><td>%s</td><td class=\"available\">%s"
                               "</td><td class=\"fees\">%s</td></tr>",
                               bal[i].currency, bal[i].currency, avail, fees));
    }
    shop_ok(pay_buf_puts(b, "</table>"));
}

static enum pay_err h_admin(struct pay_http_request *req, struct pay_error *err)
{
    struct shop *s = pay_http_req_ctx(req);
    if (!shop_is_admin(req))
        return pay_error_set(err, PAY_ERR_FORBIDDEN, NULL, "admin is for loopback clients");
    struct pay_buf b;
    pay_buf_init(&b, 1 << 20);
    shop_page_begin(&b, "Order admin");
    shop_ok(pay_buf_puts(
        &b, "<h1>Order admin</h1><table class=\"orders\" id=\"all-orders\"><tr><th>"
            "Order</th><th>Items</th><th>Amount</th><th>Paid with</th><th>State"
            "</th><th>Refunded</th><th>Fulfilled</th><th>Marked paid by</th><th></th></tr>"));
    struct list_ctx l = {&b, 1, 0};
    shop_order_list(s, NULL, order_row, &l);
    shop_ok(pay_buf_puts(&b, "</table>"));
    platform_balance(s, &b);
    shop_page_send(req, &b, 200);
    return PAY_ERR_OK;
}

enum pay_err shop_add_routes(struct shop *s, struct pay_http_server *srv, struct pay_error *err)
{
    const struct pay_http_route r[] = {
        {"GET", "/", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_catalogue, s},
        {"GET", "/cart", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_cart, s},
        {"POST", "/cart/add", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_cart_add, s},
        {"POST", "/cart/clear", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_cart_clear, s},
        {"GET", "/orders", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_orders, s},
        {"GET", "/admin", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_admin, s},
    };
    enum pay_err e = pay_http_server_add_routes(srv, r, sizeof r / sizeof r[0], err);
    return e != PAY_ERR_OK ? e : shop_add_pay_routes(s, srv, err);
}
