/* Helpers shared by the shop's page and payment handlers. */
#ifndef PAY_SHOP_INTERNAL_H
#define PAY_SHOP_INTERNAL_H

#include "core/buf.h"
#include "shop/shop.h"

/* Uses a result that only an out-of-memory page would lack (the page is then cut short). */
static inline void shop_ok(int r)
{
    (void)r;
}

#include <jansson.h>

const struct shop_product *shop_product_find(const char *id);
/* Sets o[key] = "12.30" (for scripts) and o[key_text] = "¥12.30" (for people); returns o. */
json_t *shop_money_json(struct pay_http_request *req, json_t *o, const char *key, int64_t minor);
/* Renders template `page` (also the body's data-page) with ctx (taken; NULL answers 500). */
void shop_render(struct pay_http_request *req, int status, const char *page, json_t *ctx);
/* An order as the templates show it (human state, method, money). New reference. */
json_t *shop_order_json(struct pay_http_request *req, const struct shop_order *o);
/* The shop's bank in the reader's language (bank_name_en on English pages when set). */
const char *shop_bank_name(const struct shop *s, struct pay_http_request *req);
const char *shop_sid(struct pay_http_request *req);
void shop_cart_read(struct pay_http_request *req, int qty[]);
int shop_is_admin(struct pay_http_request *req);
int shop_same_origin(struct pay_http_request *req, const struct shop *s);
/* Each file's routes, added in this order by shop_add_routes (cmd_shop.c): no file adds
 * another's, so none calls back into the files that use its helpers (docs/hacking.md, "Call
 * loops"). */
enum pay_err shop_add_page_routes(struct shop *s, struct pay_http_server *srv,
                                  struct pay_error *err);
enum pay_err shop_add_courier_routes(struct shop *s, struct pay_http_server *srv,
                                     struct pay_error *err);
enum pay_err shop_add_admin_routes(struct shop *s, struct pay_http_server *srv,
                                   struct pay_error *err);
enum pay_err shop_add_pay_routes(struct shop *s, struct pay_http_server *srv,
                                 struct pay_error *err);

#endif
