/* Templates: escaping by default, trusted raw values, sections, inverted sections, partials,
 * errors, and loading the shipped web/ directory. */
#include "lib/tmp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/template.h"
#include "i18n/i18n.h"

/* Renders tpl with the JSON context text; returns a static copy of the output. */
static const char *render(const struct pay_tpl_set *set, const char *tpl, const char *ctx_json)
{
    static char out[4096];
    json_t *ctx = ctx_json ? json_loads(ctx_json, 0, NULL) : NULL;
    struct pay_buf b;
    struct pay_error e = {0};
    pay_buf_init(&b, sizeof out - 1);
    enum pay_err rc = pay_tpl_render_string(set, tpl, ctx, &b, &e);
    snprintf(out, sizeof out, "%s", rc == PAY_ERR_OK ? pay_buf_str(&b) : "ERROR");
    pay_buf_fini(&b);
    json_decref(ctx);
    return out;
}

static void escapes_by_default(void **state)
{
    (void)state;
    const char *ctx = "{\"name\":\"<script>alert('x')</script>\",\"q\":\"\\\" onmouseover=\\\"x\"}";
    assert_string_equal(render(NULL, "<p>{{name}}</p>", ctx),
                        "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>");
    assert_string_equal(render(NULL, "<a title=\"{{q}}\">", ctx),
                        "<a title=\"&quot; onmouseover=&quot;x\">");
    /* {{{ }}} on a value the code did not mark trusted is still escaped */
    assert_string_equal(render(NULL, "{{{name}}}", ctx),
                        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
    assert_string_equal(render(NULL, "{{&name}}", ctx),
                        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
}

/* Escaping is & < > " ' only, so a URL in an href reads back byte for byte once a scraper
 * decodes the entities (the cashier's signed return_url: "=" must not become "&#61;"); in
 * exchange a value may not stand inside a tag outside quotes, where it could add attributes. */
static void attribute_context(void **state)
{
    (void)state;
    const char *ctx = "{\"u\":\"https://shop.example/done?a=1&b=x%20y&sign=Ab-_0\"}";
    assert_string_equal(
        render(NULL, "<a id=\"r\" href=\"{{u}}\">{{u}}</a>", ctx),
        "<a id=\"r\" href=\"https://shop.example/done?a=1&amp;b=x%20y&amp;sign=Ab-_0\">"
        "https://shop.example/done?a=1&amp;b=x%20y&amp;sign=Ab-_0</a>");
    assert_string_equal(render(NULL, "<a href='{{u}}'>", "{\"u\":\"x'y=z\"}"),
                        "<a href='x&#39;y=z'>");
    /* unquoted: refused, not rendered */
    assert_string_equal(render(NULL, "<a href={{u}}>", ctx), "ERROR");
    assert_string_equal(render(NULL, "<input {{u}}>", ctx), "ERROR");
    assert_string_equal(render(NULL, "<{{u}}>", ctx), "ERROR"); /* a tag name from a value */
    assert_string_equal(render(NULL, "<input value=\"x\" {{#u}}{{u}}{{/u}}>", ctx), "ERROR");
    /* sections that emit literal attributes are fine; so is text that is not a tag */
    assert_string_equal(render(NULL, "<input{{#u}} checked{{/u}}>", ctx), "<input checked>");
    assert_string_equal(render(NULL, "<p>1 < 2 = {{n}}</p>", "{\"n\":\"a=b\"}"),
                        "<p>1 < 2 = a=b</p>");
    assert_string_equal(render(NULL, "<!-- don't \"x -->{{n}}", "{\"n\":\"a=b\"}"),
                        "<!-- don't \"x -->a=b");
}

static void trusted_values(void **state)
{
    (void)state;
    json_t *ctx = json_object();
    json_object_set_new(ctx, "svg", pay_tpl_trusted("<svg><rect/></svg>"));
    struct pay_buf b;
    pay_buf_init(&b, 1024);
    assert_int_equal(pay_tpl_render_string(NULL, "{{{svg}}}|{{svg}}", ctx, &b, NULL), PAY_ERR_OK);
    assert_string_equal(pay_buf_str(&b), "<svg><rect/></svg>|&lt;svg&gt;&lt;rect/&gt;&lt;/svg&gt;");
    pay_buf_fini(&b);
    json_decref(ctx);
}

static void values_and_sections(void **state)
{
    (void)state;
    const char *ctx = "{\"n\":42,\"t\":true,\"f\":false,\"z\":null,\"user\":{\"name\":\"ann\"},"
                      "\"items\":[{\"id\":1,\"tag\":\"<b>\"},{\"id\":2}],\"tags\":[\"x\",\"y\"],"
                      "\"empty\":[],\"s\":\"\"}";
    assert_string_equal(render(NULL, "{{n}} {{t}} [{{z}}] [{{missing}}] {{user.name}}", ctx),
                        "42 true [] [] ann");
    assert_string_equal(render(NULL, "{{#items}}[{{id}}:{{tag}}:{{n}}]{{/items}}", ctx),
                        "[1:&lt;b&gt;:42][2::42]");
    assert_string_equal(render(NULL, "{{#tags}}{{.}},{{/tags}}", ctx), "x,y,");
    assert_string_equal(render(NULL, "{{#user}}hi {{name}}{{/user}}", ctx), "hi ann");
    assert_string_equal(render(NULL, "{{#t}}yes{{/t}}{{#f}}no{{/f}}{{#empty}}no{{/empty}}", ctx),
                        "yes");
    assert_string_equal(render(NULL,
                               "{{^f}}a{{/f}}{{^empty}}b{{/empty}}{{^s}}c{{/s}}"
                               "{{^missing}}d{{/missing}}{{^t}}X{{/t}}",
                               ctx),
                        "abcd");
    assert_string_equal(render(NULL, "{{#items}}{{#tag}}T{{/tag}}{{^tag}}-{{/tag}}{{/items}}", ctx),
                        "T-");
    assert_string_equal(render(NULL, "a{{! a comment }}b", ctx), "ab");
}

static void malformed(void **state)
{
    (void)state;
    assert_string_equal(render(NULL, "{{#a}}never closed", "{}"), "ERROR");
    assert_string_equal(render(NULL, "{{/a}}", "{}"), "ERROR");
    assert_string_equal(render(NULL, "{{#a}}x{{/b}}", "{\"a\":1}"), "ERROR");
    assert_string_equal(render(NULL, "{{name", "{}"), "ERROR");
    assert_string_equal(render(NULL, "{{}}", "{}"), "ERROR");
    assert_string_equal(render(NULL, "{{> nope}}", "{}"), "ERROR");
}

static void partials_and_recursion(void **state)
{
    (void)state;
    struct pay_tpl_set *set = NULL;
    assert_int_equal(pay_tpl_set_load(NULL, &set, NULL), PAY_ERR_OK);
    assert_int_equal(pay_tpl_set_add(set, "head", "<h1>{{title}}</h1>"), PAY_ERR_OK);
    assert_int_equal(pay_tpl_set_add(set, "loop", "{{> loop}}"), PAY_ERR_OK);
    assert_string_equal(render(set, "{{> head}}body", "{\"title\":\"<T>\"}"),
                        "<h1>&lt;T&gt;</h1>body");
    assert_string_equal(render(set, "{{> loop}}", "{}"), "ERROR"); /* bounded, no crash */
    pay_tpl_set_free(set);
}

static int collect(void *ctx, const char *tpl, int line, const char *msgctxt, const char *msgid)
{
    char *seen = ctx;
    size_t n = strlen(seen);
    snprintf(seen + n, 512 - n, "%s:%d:%s:%s|", tpl, line, msgctxt ? msgctxt : "-", msgid);
    return 0;
}

static void loads_directory(void **state)
{
    (void)state;
    char dir[256], path[320];
    assert_int_equal(th_tmpdir(dir, sizeof dir, "paygate-tpl"), 0);
    snprintf(path, sizeof path, "%s/hello.html", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("Hello {{who}}!", f);
    fclose(f);
    struct pay_tpl_set *set = NULL;
    struct pay_error e = {0};
    assert_int_equal(pay_tpl_set_load(dir, &set, &e), PAY_ERR_OK);
    assert_true(pay_tpl_set_has(set, "hello"));
    json_t *ctx = json_pack("{s:s}", "who", "<you>");
    struct pay_buf b;
    pay_buf_init(&b, 256);
    assert_int_equal(pay_tpl_render(set, "hello", ctx, &b, &e), PAY_ERR_OK);
    assert_string_equal(pay_buf_str(&b), "Hello &lt;you&gt;!");
    assert_int_equal(pay_tpl_render(set, "nope", ctx, &b, &e), PAY_ERR_INTERNAL);
    pay_buf_fini(&b);
    json_decref(ctx);
    pay_tpl_set_free(set);
    th_tmpdir_done(dir);
    assert_int_equal(pay_tpl_set_load("/nonexistent/dir", &set, &e), PAY_ERR_CONFIG_INVALID);
}

/* {{t}}: the message in the page's language from a real catalog, placeholders filled from the
 * context, everything escaped; contexts; malformed tags; the messages of a set for the
 * catalog tools. */
static void translation_tag(void **state)
{
    (void)state;
    char dir[256], path[320];
    assert_int_equal(th_tmpdir(dir, sizeof dir, "paygate-tpl-i18n"), 0);
    snprintf(path, sizeof path, "%s/zh_CN.po", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=UTF-8\\n\"\n"
          "\"Language: zh_CN\\n\"\n\n"
          "msgid \"Pay {amount} to {shop.name}\"\nmsgstr \"向{shop.name}支付 {amount}\"\n\n"
          "msgctxt \"button\"\nmsgid \"Pay\"\nmsgstr \"付款\"\n\n"
          "msgid \"Say <b>\"\nmsgstr \"<script>x</script>\"\n",
          f);
    fclose(f);
    struct pay_i18n *i18n = NULL;
    struct pay_error e = {0};
    assert_int_equal(pay_i18n_load(dir, NULL, &i18n, &e), PAY_ERR_OK);
    const struct pay_i18n_lang *zh = pay_i18n_find(i18n, "zh-CN"), *en = pay_i18n_find(i18n, "en");
    json_t *ctx =
        json_pack("{s:s, s:{s:s}, s:i}", "amount", "¥3.00", "shop", "name", "<Tea & Co>", "n", 7);
    const char *tpl =
        "<p title=\"{{t \"Pay\" ctx=\"button\"}}\">{{t \"Pay {amount} to {shop.name}\"}}"
        "</p>{{t \"Say <b>\"}}";
    struct pay_tpl_set *set = NULL;
    assert_int_equal(pay_tpl_set_load(NULL, &set, &e), PAY_ERR_OK);
    assert_int_equal(pay_tpl_set_add(set, "page", tpl), PAY_ERR_OK);
    struct pay_buf b;
    pay_buf_init(&b, 1024);
    struct pay_tpl_args zh_args = {.lang = zh}, en_args = {.lang = en};
    assert_int_equal(pay_tpl_render_args(set, "page", ctx, &zh_args, &b, &e), PAY_ERR_OK);
    assert_string_equal(pay_buf_str(&b), "<p title=\"付款\">向&lt;Tea &amp; Co&gt;支付 ¥3.00</p>"
                                         "&lt;script&gt;x&lt;/script&gt;");
    pay_buf_reset(&b);
    assert_int_equal(pay_tpl_render_args(set, "page", ctx, &en_args, &b, &e), PAY_ERR_OK);
    assert_string_equal(pay_buf_str(&b), "<p title=\"Pay\">Pay ¥3.00 to &lt;Tea &amp; Co&gt;</p>"
                                         "Say &lt;b&gt;");
    /* globals are looked up after the context: {{i18n.lang}} on every page */
    json_t *globals = json_pack("{s:{s:s}, s:s}", "i18n", "lang", "zh-CN", "amount", "hidden");
    struct pay_tpl_args g = {.globals = globals, .lang = zh};
    pay_buf_reset(&b);
    assert_int_equal(pay_tpl_set_add(set, "g", "{{i18n.lang}} {{amount}} {{t \"n={n}\"}}"),
                     PAY_ERR_OK);
    assert_int_equal(pay_tpl_render_args(set, "g", ctx, &g, &b, &e), PAY_ERR_OK);
    assert_string_equal(pay_buf_str(&b), "zh-CN ¥3.00 n=7");
    /* refused: a placeholder without a value, a message outside quotes in a tag, bad tags */
    const char *bad[] = {"{{t \"Hi {who}\"}}", "<a {{t \"x\"}}>", "{{t \"unclosed}}",
                         "{{t \"a\" ctx=}}",   "{{t \"\"}}",      "{{t \"a\nb\"}}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pay_buf_reset(&b);
        assert_int_equal(pay_tpl_render_string(set, bad[i], ctx, &b, &e), PAY_ERR_INTERNAL);
    }
    /* the messages of a set, with template and line, for the catalog check */
    assert_int_equal(pay_tpl_set_add(set, "lines", "x\n\n{{t \"Third\" ctx=\"c\"}}"), PAY_ERR_OK);
    char seen[512] = "";
    assert_int_equal(pay_tpl_set_messages(set, collect, seen, &e), PAY_ERR_OK);
    assert_non_null(strstr(seen, "page:1:button:Pay|"));
    assert_non_null(strstr(seen, "page:1:-:Pay {amount} to {shop.name}|"));
    assert_non_null(strstr(seen, "lines:3:c:Third|"));
    assert_int_equal(pay_tpl_set_add(set, "broken", "ok\n{{t \"Pay {amount\"}}"), PAY_ERR_OK);
    assert_int_equal(pay_tpl_set_messages(set, collect, seen, &e), PAY_ERR_CONFIG_INVALID);
    assert_non_null(strstr(e.detail, "broken.html:2"));
    pay_buf_fini(&b);
    json_decref(ctx);
    json_decref(globals);
    pay_tpl_set_free(set);
    pay_i18n_free(i18n);
    th_tmpdir_done(dir);
}

static void output_cap(void **state)
{
    (void)state;
    json_t *ctx = json_pack("{s:[i,i,i,i,i,i,i,i]}", "a", 1, 2, 3, 4, 5, 6, 7, 8);
    struct pay_buf b;
    pay_buf_init(&b, 10);
    struct pay_error e = {0};
    assert_int_equal(pay_tpl_render_string(NULL, "{{#a}}xx{{.}}{{/a}}", ctx, &b, &e),
                     PAY_ERR_INTERNAL);
    assert_non_null(strstr(e.detail, "too large"));
    pay_buf_fini(&b);
    json_decref(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(escapes_by_default), cmocka_unit_test(attribute_context),
        cmocka_unit_test(trusted_values),     cmocka_unit_test(values_and_sections),
        cmocka_unit_test(malformed),          cmocka_unit_test(partials_and_recursion),
        cmocka_unit_test(loads_directory),    cmocka_unit_test(output_cap),
        cmocka_unit_test(translation_tag),
    };
    return th_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
