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
/* The member of staff of req, who may do what need's role may (an admin may do everything), or
 * NULL: a GET without a session was answered with a redirect to the login page (*e OK); a POST
 * without one gets UNAUTHENTICATED, a POST whose csrf is not the session's CSRF_INVALID, a
 * client not on loopback (unless [shop] staff_from = any) or a courier on an admin's page
 * FORBIDDEN. The struct is request memory (shop_login.c). */
struct shop_staff *shop_staff_page(struct pay_http_request *req, enum shop_role need,
                                   enum pay_err *e, struct pay_error *err);
/* Adds ctx.staff {login, role, role_text, csrf, admin} for the staff's bar (its logout form) and
 * every form's csrf; returns ctx (NULL stays NULL). */
json_t *shop_staff_ctx(struct pay_http_request *req, const struct shop_staff *who, json_t *ctx);
int shop_same_origin(struct pay_http_request *req, const struct shop *s);
/* The newest PAY_SHOP_STAFF_EVENTS_SHOWN entries of the staff's audit trail as the admin's page
 * shows them (local time, the event in the reader's language), newest first; NULL when the
 * store cannot be read. New reference (shop_staff_audit.c). */
json_t *shop_staff_events_json(struct pay_http_request *req, struct shop *s);
/* Each file's routes, added in this order by shop_add_routes (cmd_shop.c): no file adds
 * another's, so none calls back into the files that use its helpers (docs/hacking.md, "Call
 * loops"). */
enum pay_err shop_add_login_routes(struct shop *s, struct pay_http_server *srv,
                                   struct pay_error *err);
enum pay_err shop_add_page_routes(struct shop *s, struct pay_http_server *srv,
                                  struct pay_error *err);
enum pay_err shop_add_courier_routes(struct shop *s, struct pay_http_server *srv,
                                     struct pay_error *err);
enum pay_err shop_add_admin_routes(struct shop *s, struct pay_http_server *srv,
                                   struct pay_error *err);
enum pay_err shop_add_pay_routes(struct shop *s, struct pay_http_server *srv,
                                 struct pay_error *err);

#endif
