/* GET /: the platform's start page, where its error pages lead: the ways in for each of its
 * people — shoppers (the wallet, registering), merchants (the portal, applying to become one)
 * and the operator (the console). */
#include "platform/platform.h"

#include "http/server.h"

static enum pay_err h_home(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    json_t *ctx =
        json_pack("{s:s, s:b}", "platform", p->set.name, "sandbox_sms", p->set.sandbox_sms);
    if (!ctx)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    pay_http_respond_template(req, 200, "home", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

const struct pay_http_route *pay_platform_home_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/", PAY_HTTP_PAGE, PAY_HTTP_BODY_AUTO, h_home, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
