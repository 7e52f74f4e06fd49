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

const struct shop_product *shop_product_find(const char *id);
void shop_money(int64_t minor, char out[40]); /* "¥12.30" */
void shop_page_begin(struct pay_buf *b, const char *title);
/* Closes the page, sends it and frees b. */
void shop_page_send(struct pay_http_request *req, struct pay_buf *b, int status);
const char *shop_sid(struct pay_http_request *req);
void shop_cart_read(struct pay_http_request *req, int qty[]);
int shop_is_admin(struct pay_http_request *req);
int shop_same_origin(struct pay_http_request *req, const struct shop *s);
enum pay_err shop_add_pay_routes(struct shop *s, struct pay_http_server *srv,
                                 struct pay_error *err);

#endif
