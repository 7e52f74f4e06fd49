/* Integration: pages in the reader's language on a real server (docs/i18n.md). A web root in
 * a temporary folder with a template and a zh_CN catalog: no Accept-Language gives Chinese,
 * Accept-Language: en English, the switch (GET /lang/{tag}) sets a cookie that beats the
 * header and only returns to this site, error pages speak the reader's language while the
 * JSON API keeps its English message, times show in the configured zone, and a server whose
 * template uses a message missing from a catalog does not start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/harness.h"

#include "http/client.h"
#include "http/server.h"
#include "i18n/i18n.h"
/* after errors.h: log.h defines PAY_ERROR, which errors.def also uses */
#include "core/log.h"

static const struct pay_http_client_options local = {.allow_private_addresses = true};
static char root[256], web[300], po[300];

static void put(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char page_tpl[] =
    "<!doctype html><html lang=\"{{i18n.lang}}\"><body data-page=\"page\">{{> lang_switch}}"
    "<h1>{{t \"Your order\"}}</h1><p id=\"paid\">{{t \"Paid at {when}\"}}</p></body></html>";

static const char catalog[] =
    "msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=UTF-8\\n\"\n"
    "\"Language: zh_CN\\n\"\n\n"
    "msgctxt \"language name\"\nmsgid \"English\"\nmsgstr \"中文\"\n\n"
    "msgid \"Your order\"\nmsgstr \"您的订单\"\n\n"
    "msgid \"Paid at {when}\"\nmsgstr \"支付时间 {when}\"\n\n"
    "msgid \"Language\"\nmsgstr \"语言\"\n\n"
    "msgid \"This request cannot be done\"\nmsgstr \"无法完成此请求\"\n\n"
    "msgid \"Something went wrong\"\nmsgstr \"出错了\"\n\n"
    "msgid \"Field\"\nmsgstr \"字段\"\n\n"
    "msgid \"Error {code} · request {request_id}\"\nmsgstr \"错误 {code} · 请求 {request_id}\"\n\n"
    "msgid \"Back to the start page\"\nmsgstr \"返回首页\"\n\n"
    "msgctxt \"error\"\nmsgid \"amount is not a valid decimal for its currency\"\n"
    "msgstr \"金额格式不符合该币种的要求\"\n\n"
    "msgid \"Wrong card password.\"\nmsgstr \"银行卡密码错误。\"\n";

/* UTC 2026-01-31 23:30:00: already 1 February in Shanghai */
#define PAID_MS 1769902200000LL

static enum pay_err h_page(struct pay_http_request *req, struct pay_error *err)
{
    json_t *ctx = json_pack("{s:s}", "when", pay_http_req_time(req, PAID_MS));
    pay_http_respond_template(req, 200, "page", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

static enum pay_err h_fail(struct pay_http_request *req, struct pay_error *err)
{
    return pay_error_set(err, PAY_ERR_AMOUNT_INVALID, "amount", "1.234 has 3 decimals; CNY has 2");
}

static enum pay_err h_marked(struct pay_http_request *req, struct pay_error *err)
{
    return pay_error_set(err, PAY_ERR_CREDENTIALS_INVALID, "password", N_("Wrong card password."));
}

static const struct pay_http_route routes[] = {
    {"GET", "/page", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_page, NULL},
    {"GET", "/fail", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_fail, NULL},
    {"GET", "/marked", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_marked, NULL},
    {"GET", "/api/fail", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_fail, NULL},
};

static enum pay_err server_new(const char *language, const char *zone, struct pay_http_server **srv,
                               struct pay_error *e)
{
    struct pay_http_config cfg = {.name = "lang",
                                  .listen = "127.0.0.1:0",
                                  .web_root = web,
                                  .language = language,
                                  .time_zone = zone};
    return pay_http_server_new(&cfg, srv, e);
}

static struct pay_http_server *start(const char *language, const char *zone)
{
    struct pay_http_server *srv = NULL;
    struct pay_error e = {0};
    if (server_new(language, zone, &srv, &e) != PAY_ERR_OK)
        fail_msg("server: %s", e.detail);
    assert_int_equal(pay_http_server_add_routes(srv, routes, 4, &e), PAY_ERR_OK);
    assert_int_equal(pay_http_server_start(srv, &e), PAY_ERR_OK);
    return srv;
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(th_tmpdir(root, sizeof root, "paygate-lang"), 0);
    snprintf(web, sizeof web, "%s/web", root);
    snprintf(po, sizeof po, "%s/po", root);
    char tpl[320];
    snprintf(tpl, sizeof tpl, "%s/templates", web);
    assert_int_equal(mkdir(web, 0700) | mkdir(tpl, 0700) | mkdir(po, 0700), 0);
    put(tpl, "page.html", page_tpl);
    put(po, "zh_CN.po", catalog);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return th_tmpdir_done(root);
}

/* GET path with extra headers (NULL-terminated, may be empty); the status. */
static long get(struct pay_http_server *srv, const char *path, const char *h1, const char *h2,
                struct pay_http_client_response *r)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", pay_http_server_url(srv), path);
    const char *const headers[] = {h1, h2, NULL};
    memset(r, 0, sizeof *r);
    assert_int_equal(
        pay_http_client_request("GET", url, h1 ? headers : NULL, NULL, 0, &local, r, NULL),
        PAY_ERR_OK);
    return r->status;
}

static const char *header(struct pay_http_client_response *r, const char *name)
{
    static char buf[1024];
    return pay_http_client_response_header(r, name, buf, sizeof buf);
}

static bool has(struct pay_http_client_response *r, const char *s)
{
    return strstr(pay_buf_str(&r->body), s) != NULL;
}

static void chinese_by_default_english_on_request(void **state)
{
    (void)state;
    struct pay_http_server *srv = start(NULL, NULL);
    struct pay_http_client_response r;
    assert_int_equal(get(srv, "/page", NULL, NULL, &r), 200);
    assert_true(has(&r, "<html lang=\"zh-CN\">"));
    assert_true(has(&r, "<h1>您的订单</h1>"));
    /* the time in Asia/Shanghai, the default zone: 23:30 UTC is the next morning */
    assert_true(has(&r, "<p id=\"paid\">支付时间 2026-02-01 07:30:00</p>"));
    assert_string_equal(header(&r, "Content-Language"), "zh-CN");
    assert_string_equal(header(&r, "Vary"), "Accept-Language, Cookie");
    /* the switch: the current language as text, the other as a link that comes back here */
    assert_true(has(&r, "<span lang=\"zh-CN\" aria-current=\"true\">中文</span>"));
    assert_true(has(&r, "<a href=\"/lang/en?back=%2Fpage\" lang=\"en\" hreflang=\"en\" "
                        "id=\"lang-en\">English</a>"));
    assert_true(has(&r, "aria-label=\"语言\""));
    pay_http_client_response_fini(&r);

    assert_int_equal(get(srv, "/page", "Accept-Language: en-US,en;q=0.9", NULL, &r), 200);
    assert_true(has(&r, "<html lang=\"en\">"));
    assert_true(has(&r, "<h1>Your order</h1>"));
    assert_true(has(&r, "Paid at 2026-02-01 07:30:00"));
    assert_string_equal(header(&r, "Content-Language"), "en");
    pay_http_client_response_fini(&r);

    /* q-values: Chinese preferred over English */
    assert_int_equal(get(srv, "/page", "Accept-Language: en;q=0.3, zh;q=0.9", NULL, &r), 200);
    assert_true(has(&r, "<h1>您的订单</h1>"));
    pay_http_client_response_fini(&r);
    pay_http_server_free(srv);
}

static void the_switch_sticks(void **state)
{
    (void)state;
    struct pay_http_server *srv = start(NULL, NULL);
    struct pay_http_client_response r;
    assert_int_equal(get(srv, "/lang/en?back=%2Fpage%3Fx%3D1", NULL, NULL, &r), 303);
    assert_string_equal(header(&r, "Location"), "/page?x=1");
    assert_string_equal(header(&r, "Set-Cookie"),
                        "lang=en; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax");
    pay_http_client_response_fini(&r);
    /* the cookie beats the browser's Accept-Language */
    assert_int_equal(get(srv, "/page", "Cookie: lang=en", "Accept-Language: zh-CN", &r), 200);
    assert_true(has(&r, "<h1>Your order</h1>"));
    assert_true(has(&r, "<a href=\"/lang/zh-CN?back=%2Fpage\""));
    pay_http_client_response_fini(&r);
    assert_int_equal(get(srv, "/page", "Cookie: lang=zh-CN", "Accept-Language: en", &r), 200);
    assert_true(has(&r, "<h1>您的订单</h1>"));
    pay_http_client_response_fini(&r);
    /* never back to another site, nor to a language there are no pages in */
    const char *off[] = {"//evil.example/x", "https://evil.example/", "/%5Cevil.example",
                         "%2F%2Fevil.example", "page"};
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/lang/zh-CN?back=%s", off[i]);
        assert_int_equal(get(srv, path, NULL, NULL, &r), 303);
        assert_string_equal(header(&r, "Location"), "/");
        pay_http_client_response_fini(&r);
    }
    assert_int_equal(get(srv, "/lang/fr?back=/page", NULL, NULL, &r), 404);
    assert_null(header(&r, "Set-Cookie"));
    pay_http_client_response_fini(&r);
    pay_http_server_free(srv);
}

static void errors_in_the_readers_language(void **state)
{
    (void)state;
    struct pay_http_server *srv = start(NULL, NULL);
    struct pay_http_client_response r;
    /* the registry's message translated; the specific English reason kept below it */
    assert_int_equal(get(srv, "/fail", NULL, NULL, &r), 400);
    assert_true(has(&r, "<html lang=\"zh-CN\">"));
    assert_true(has(&r, "<body data-page=\"error\">"));
    assert_true(has(&r, "<h1>无法完成此请求</h1>"));
    assert_true(has(&r, "<p id=\"error\">金额格式不符合该币种的要求</p>"));
    assert_true(has(&r, "<p class=\"muted\" lang=\"en\">1.234 has 3 decimals; CNY has 2</p>"));
    assert_true(has(&r, "<code id=\"field\">amount</code>"));
    assert_true(has(&r, "错误 AMOUNT_INVALID · 请求 req_"));
    pay_http_client_response_fini(&r);
    assert_int_equal(get(srv, "/fail", "Accept-Language: en", NULL, &r), 400);
    assert_true(has(&r, "<p id=\"error\">1.234 has 3 decimals; CNY has 2</p>"));
    assert_false(has(&r, "lang=\"en\">1.234")); /* shown once */
    pay_http_client_response_fini(&r);
    /* a detail marked N_() where it was set is translated itself */
    assert_int_equal(get(srv, "/marked", NULL, NULL, &r), 401);
    assert_true(has(&r, "<p id=\"error\">银行卡密码错误。</p>"));
    pay_http_client_response_fini(&r);
    /* the JSON API keeps its English message and stable code, whatever the language */
    assert_int_equal(get(srv, "/api/fail", "Accept-Language: zh-CN", NULL, &r), 400);
    assert_string_equal(pay_buf_str(&r.body),
                        "{\"error\":{\"code\":\"AMOUNT_INVALID\",\"message\":\"1.234 has 3 "
                        "decimals; CNY has 2\",\"field\":\"amount\"}}");
    pay_http_client_response_fini(&r);
    pay_http_server_free(srv);
}

static void configured_default_and_zone(void **state)
{
    (void)state;
    struct pay_http_server *srv = start("en", "UTC");
    struct pay_http_client_response r;
    assert_int_equal(get(srv, "/page", NULL, NULL, &r), 200);
    assert_true(has(&r, "<h1>Your order</h1>"));
    assert_true(has(&r, "Paid at 2026-01-31 23:30:00")); /* UTC */
    pay_http_client_response_fini(&r);
    assert_int_equal(get(srv, "/page", "Accept-Language: zh", NULL, &r), 200);
    assert_true(has(&r, "<h1>您的订单</h1>"));
    pay_http_client_response_fini(&r);
    pay_http_server_free(srv);
    struct pay_error e = {0};
    assert_int_equal(server_new("fr", NULL, &srv, &e), PAY_ERR_CONFIG_INVALID);
    assert_string_equal(e.field, "language");
    assert_int_equal(server_new(NULL, "Mars/Olympus", &srv, &e), PAY_ERR_CONFIG_INVALID);
    assert_string_equal(e.field, "time_zone");
}

/* A template whose message no catalog has refuses to start, naming template and line; so
 * does a catalog with an error. */
static void drift_stops_the_start(void **state)
{
    (void)state;
    char tpl[320];
    snprintf(tpl, sizeof tpl, "%s/templates", web);
    put(tpl, "extra.html", "<p>\n{{t \"Not in the catalog\"}}</p>");
    struct pay_http_server *srv = NULL;
    struct pay_error e = {0};
    assert_int_equal(server_new(NULL, NULL, &srv, &e), PAY_ERR_CONFIG_INVALID);
    assert_non_null(strstr(e.detail, "extra.html:2: \"Not in the catalog\" is not in zh_CN.po"));
    char path[340];
    snprintf(path, sizeof path, "%s/extra.html", tpl);
    unlink(path);
    put(po, "zh_CN.po", "msgid \"\"\nmsgstr \"\"\n\"Language: zh_CN\\n\"\n");
    assert_int_equal(server_new(NULL, NULL, &srv, &e), PAY_ERR_CONFIG_INVALID);
    assert_non_null(strstr(e.detail, "zh_CN.po:1: the header must say"));
    put(po, "zh_CN.po", catalog);
}

int main(void)
{
    pay_http_signals_block();
    pay_log_init(stderr, PAY_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chinese_by_default_english_on_request),
        cmocka_unit_test(the_switch_sticks),
        cmocka_unit_test(errors_in_the_readers_language),
        cmocka_unit_test(configured_default_and_zone),
        cmocka_unit_test(drift_stops_the_start),
    };
    return th_finish(cmocka_run_group_tests(tests, setup, th_teardown(teardown)));
}
