/* Pages in the reader's language (docs/i18n.md): the server's catalogs and time zone, loaded
 * at start and checked against its templates; the language of each request (lang cookie >
 * Accept-Language > the configured default); the values the language switch shows on every
 * page (the route itself is lang_switch.c); and the helpers handlers use to translate, show
 * money and show times. */
#include "http/internal.h"

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/money.h"
#include "i18n/i18n.h"
#include "i18n/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The switch every page shows (a web root may bring its own lang_switch.html). */
static const char lang_switch_tpl[] =
    "{{#i18n.switch}}<nav class=\"lang-switch\" id=\"lang-switch\" aria-label=\"{{t "
    "\"Language\"}}\">"
    "{{#i18n.languages}}{{#current}}<span lang=\"{{tag}}\" aria-current=\"true\">{{name}}</span>"
    "{{/current}}{{^current}}<a href=\"{{href}}\" lang=\"{{tag}}\" hreflang=\"{{tag}}\" "
    "id=\"lang-{{tag}}\">{{name}}</a>{{/current}} {{/i18n.languages}}</nav>{{/i18n.switch}}";

/* The error page of a server without its own error.html. */
static const char error_tpl[] =
    "<!doctype html>\n<html lang=\"{{i18n.lang}}\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<title>{{status}} {{title}}</title><link rel=\"stylesheet\" href=\"/static/paygate.css\">"
    "</head>\n<body data-page=\"error\">{{> lang_switch}}<main class=\"error\"><h1>{{title}}</h1>"
    "<p id=\"error\">{{message}}</p>"
    "{{#field}}<p>{{t \"Field\"}}: <code id=\"field\">{{field}}</code></p>{{/field}}"
    "{{#detail}}<p class=\"muted\" lang=\"en\">{{detail}}</p>{{/detail}}"
    "<p class=\"muted\">{{t \"Error {code} · request {request_id}\"}}</p>"
    "<p><a href=\"/\">{{t \"Back to the start page\"}}</a></p></main></body></html>\n";

/* --- loading ---------------------------------------------------------------------------- */

struct check {
    const struct pay_i18n_lang *lang;
    const char *tpl;
    int line, untranslated;
    char msgid[80];
};

static int check_message(void *ctx, const char *tpl, int line, const char *msgctxt,
                         const char *msgid)
{
    struct check *c = ctx;
    int have = pay_i18n_lookup(c->lang, msgctxt, msgid);
    c->untranslated += have == 1;
    if (have != 0)
        return 0;
    c->tpl = tpl;
    c->line = line;
    pay_str_copy(c->msgid, sizeof c->msgid, msgid);
    return 1;
}

/* Every {{t}} message of every template must have an entry in every catalog: a page never
 * shows English by mistake because a catalog lags behind its templates. */
static enum pay_err check_templates(struct pay_http_server *srv, struct pay_error *err)
{
    for (size_t i = 0; i < pay_i18n_count(srv->i18n); i++) {
        struct check c = {.lang = pay_i18n_at(srv->i18n, i)};
        struct pay_error e = {0};
        if (pay_tpl_set_messages(srv->templates, check_message, &c, &e) == PAY_ERR_OK) {
            if (c.untranslated > 0)
                PAY_WARN("i18n.untranslated", "catalog=%s messages=%d",
                         pay_i18n_catalog_name(c.lang), c.untranslated);
            continue;
        }
        if (c.tpl == NULL) /* a malformed tag */
            return pay_error_set(err, e.code, e.field, "%s", e.detail);
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "po",
                             "%.40s.html:%d: \"%.70s\" is not in %.20s (docs/i18n.md)", c.tpl,
                             c.line, c.msgid, pay_i18n_catalog_name(c.lang));
    }
    return PAY_ERR_OK;
}

enum pay_err pay_http_templates_builtin(struct pay_tpl_set *set)
{
    if (!pay_tpl_set_has(set, "lang_switch") &&
        pay_tpl_set_add(set, "lang_switch", lang_switch_tpl) != PAY_ERR_OK)
        return PAY_ERR_INTERNAL;
    if (!pay_tpl_set_has(set, "error") && pay_tpl_set_add(set, "error", error_tpl) != PAY_ERR_OK)
        return PAY_ERR_INTERNAL;
    return PAY_ERR_OK;
}

enum pay_err pay_http_lang_load(struct pay_http_server *srv, const struct pay_http_config *cfg,
                                struct pay_error *err)
{
    char dir[4096];
    const char *po = cfg->po_dir;
    if (po == NULL && cfg->web_root != NULL) {
        snprintf(dir, sizeof dir, "%s/../po", cfg->web_root);
        po = dir;
    }
    enum pay_err rc = pay_i18n_load(po, cfg->language, &srv->i18n, err);
    if (rc == PAY_ERR_OK)
        rc = pay_tz_load(cfg->time_zone, &srv->tz, err);
    if (rc == PAY_ERR_OK && pay_http_templates_builtin(srv->templates) != PAY_ERR_OK)
        rc = pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    if (rc == PAY_ERR_OK)
        rc = check_templates(srv, err);
    if (rc == PAY_ERR_OK && cfg->web_root != NULL && pay_i18n_count(srv->i18n) < 2)
        PAY_WARN("i18n.no_catalogs", "po_dir=%s pages=en-only", po);
    return rc;
}

void pay_http_lang_free(struct pay_http_server *srv)
{
    pay_i18n_free(srv->i18n);
    pay_tz_free(srv->tz);
    srv->i18n = NULL;
    srv->tz = NULL;
}

/* --- the request's language ------------------------------------------------------------- */

const struct pay_i18n_lang *pay_http_req_lang(struct pay_http_request *req)
{
    if (req->lang == NULL)
        req->lang =
            pay_i18n_negotiate(req->srv->i18n, pay_http_req_cookie(req, PAY_HTTP_LANG_COOKIE),
                               pay_http_req_header(req, "Accept-Language"));
    return req->lang;
}

const char *pay_http_req_tr(struct pay_http_request *req, const char *msgid)
{
    return pay_i18n_tr(pay_http_req_lang(req), msgid);
}

const char *pay_http_req_trc(struct pay_http_request *req, const char *ctxt, const char *msgid)
{
    return pay_i18n_trc(pay_http_req_lang(req), ctxt, msgid);
}

const char *pay_http_req_msg(struct pay_http_request *req, const struct pay_i18n_msg *m)
{
    return pay_i18n_msg(pay_http_req_lang(req), m);
}

const char *pay_http_req_trf(struct pay_http_request *req, const char *msgid, ...)
{
    struct pay_buf b;
    pay_buf_init(&b, PAY_I18N_MESSAGE_MAX);
    va_list ap;
    va_start(ap, msgid);
    int rc = pay_i18n_vtrf(pay_http_req_lang(req), &b, NULL, msgid, ap);
    va_end(ap);
    const char *s = rc == 0 ? pay_http_req_strdup(req, pay_buf_str(&b)) : NULL;
    pay_buf_fini(&b);
    return s ? s : msgid;
}

const char *pay_http_req_error_text(struct pay_http_request *req, const struct pay_error *e)
{
    const struct pay_i18n_lang *l = pay_http_req_lang(req);
    enum pay_err code =
        e->code > PAY_ERR_OK && e->code < PAY_ERR__COUNT ? e->code : PAY_ERR_INTERNAL;
    if (e->detail[0] && pay_i18n_catalog_name(l)[0]) { /* marked N_() or pay_i18n_error_set */
        struct pay_buf b;
        pay_buf_init(&b, PAY_I18N_MESSAGE_MAX);
        const char *s = pay_i18n_tr_detail(l, e->detail, &b) == 1
                            ? pay_http_req_strdup(req, pay_buf_str(&b))
                            : NULL;
        pay_buf_fini(&b);
        if (s != NULL)
            return s;
    }
    if (e->detail[0] && strcmp(pay_i18n_tag(l), PAY_I18N_SOURCE_TAG) == 0)
        return pay_http_req_strdup(req, e->detail);
    return pay_i18n_trc(l, "error", pay_err_message(code));
}

const char *pay_http_req_money(struct pay_http_request *req, int64_t minor, const char *currency)
{
    char t[PAY_MONEY_DISPLAY_MAX];
    if (pay_money_format_display(minor, currency, t, sizeof t) < 0)
        return "?";
    const char *s = pay_http_req_strdup(req, t);
    return s ? s : "?";
}

const char *pay_http_req_time(struct pay_http_request *req, int64_t utc_ms)
{
    char t[PAY_TZ_TEXT_MAX];
    if (utc_ms <= 0 || pay_tz_format(req->srv->tz, utc_ms, t) < 0)
        return "";
    const char *s = pay_http_req_strdup(req, t);
    return s ? s : "";
}

const struct pay_tz *pay_http_req_tz(const struct pay_http_request *req)
{
    return req->srv->tz;
}

void pay_http_respond_page_url(struct pay_http_request *req, const char *url)
{
    req->page_url = url ? pay_http_req_strdup(req, url) : NULL;
}

/* --- the switch on every page
 * ------------------------------------------------------------------------- */

const char *pay_http_local_path(const char *p)
{
    if (p == NULL || p[0] != '/' || p[1] == '/' || p[1] == '\\' ||
        strlen(p) > PAY_HTTP_LANG_BACK_MAX)
        return "/";
    for (const char *c = p; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f || *c == '\\')
            return "/";
    return p;
}

/* The GET URL that shows this page again, for the switch's ?back=. */
static const char *page_url(const struct pay_http_request *req)
{
    if (req->page_url != NULL)
        return req->page_url;
    bool get = req->method && (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0);
    return get && req->target ? pay_http_local_path(req->target) : "/";
}

json_t *pay_http_page_globals(struct pay_http_request *req)
{
    const struct pay_i18n_lang *cur = pay_http_req_lang(req);
    json_t *langs = json_array();
    struct pay_buf back;
    pay_buf_init(&back, 4 * PAY_HTTP_LANG_BACK_MAX);
    int bad = pay_url_escape(&back, page_url(req));
    for (size_t i = 0; langs && i < pay_i18n_count(req->srv->i18n); i++) {
        const struct pay_i18n_lang *l = pay_i18n_at(req->srv->i18n, i);
        const char *href = pay_http_req_printf(req, "/lang/%s?back=%s", pay_i18n_tag(l),
                                               bad ? "%2F" : pay_buf_str(&back));
        json_array_append_new(langs, json_pack("{s:s, s:s, s:s, s:b}", "tag", pay_i18n_tag(l),
                                               "name", pay_i18n_name(l), "href", href ? href : "/",
                                               "current", l == cur));
    }
    pay_buf_fini(&back);
    return json_pack("{s:{s:s, s:o, s:b}}", "i18n", "lang", pay_i18n_tag(cur), "languages",
                     langs ? langs : json_array(), "switch", pay_i18n_count(req->srv->i18n) > 1);
}
