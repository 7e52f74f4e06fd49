/* GET /lang/{tag}: the language switch every page shows (lang.c builds its links). Apart from
 * lang.c because it answers through response.c, which itself asks lang.c for the request's
 * language: one file each way, no loop of calls (docs/hacking.md, "Call loops"). */
#include "http/internal.h"

#include "i18n/i18n.h"

#define LANG_COOKIE_AGE_S (365L * 86400) /* the choice sticks for a year */

/* GET /lang/{tag}?back=/path: remembers the choice in the lang cookie, then goes back. */
enum pay_err pay_http_lang_switch(struct pay_http_request *req, struct pay_error *err)
{
    const struct pay_i18n_lang *l = pay_i18n_find(req->srv->i18n, pay_http_req_param(req, "tag"));
    if (l == NULL)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "lang", "no pages in this language");
    if (pay_http_respond_cookie(req, PAY_HTTP_LANG_COOKIE, pay_i18n_tag(l), LANG_COOKIE_AGE_S, 0) !=
        0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    req->lang = l;
    pay_http_respond_redirect(req, pay_http_local_path(pay_http_req_query(req, "back")));
    return PAY_ERR_OK;
}
