/* Languages: loading a catalog directory, the default, translation with contexts and fallbacks,
 * {name} placeholders, and the negotiation of a request's language (cookie beats
 * Accept-Language; q-values; primary-subtag matches; the default). */
#include "lib/tmp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "i18n/i18n.h"

static char dir[256];

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

#define HEADER(lang)                                                                               \
    "msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=UTF-8\\n\"\n"                    \
    "\"Language: " lang "\\n\"\n\n"

static int setup(void **state)
{
    (void)state;
    assert_int_equal(th_tmpdir(dir, sizeof dir, "paygate-i18n"), 0);
    write_file("zh_CN.po", HEADER("zh_CN") "msgctxt \"language name\"\nmsgid \"English\"\n"
                                           "msgstr \"中文\"\n\n"
                                           "msgid \"Pay {amount} to {merchant}\"\n"
                                           "msgstr \"向{merchant}支付 {amount}\"\n\n"
                                           "msgctxt \"trade state\"\nmsgid \"Paid\"\n"
                                           "msgstr \"已支付\"\n\n"
                                           "msgid \"Paid\"\nmsgstr \"付了\"\n\n"
                                           "#, fuzzy\nmsgid \"Guess\"\nmsgstr \"猜\"\n\n"
                                           "msgid \"Later\"\nmsgstr \"\"\n\n"
                                           "msgid \"wrong code; {left} attempts left\"\n"
                                           "msgstr \"验证码错误，还可尝试 {left} 次\"\n\n"
                                           "msgid \"locked {m} min after {n} tries\"\n"
                                           "msgstr \"{n} 次后锁定 {m} 分钟\"\n\n"
                                           "msgid \"Wrong code.\"\nmsgstr \"验证码错误。\"\n");
    write_file("ja.po", HEADER("ja") "msgctxt \"language name\"\nmsgid \"English\"\n"
                                     "msgstr \"日本語\"\n");
    write_file("paygate.pot", "not a catalog: ignored"); /* and README etc. */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return th_tmpdir_done(dir);
}

static struct pay_i18n *load(const char *def)
{
    struct pay_i18n *i18n = NULL;
    struct pay_error e = {0};
    if (pay_i18n_load(dir, def, &i18n, &e) != PAY_ERR_OK)
        fail_msg("load: %s", e.detail);
    return i18n;
}

static void loads_languages_default_first(void **state)
{
    (void)state;
    struct pay_i18n *i18n = load(NULL);
    assert_int_equal(pay_i18n_count(i18n), 3);
    assert_string_equal(pay_i18n_tag(pay_i18n_default(i18n)), "zh-CN"); /* the default default */
    assert_string_equal(pay_i18n_tag(pay_i18n_at(i18n, 1)), "en");
    assert_string_equal(pay_i18n_tag(pay_i18n_at(i18n, 2)), "ja");
    assert_string_equal(pay_i18n_name(pay_i18n_at(i18n, 0)), "中文");
    assert_string_equal(pay_i18n_name(pay_i18n_at(i18n, 1)), "English");
    assert_string_equal(pay_i18n_name(pay_i18n_at(i18n, 2)), "日本語");
    assert_string_equal(pay_i18n_catalog_name(pay_i18n_at(i18n, 0)), "zh_CN.po");
    assert_ptr_equal(pay_i18n_find(i18n, "zh_cn"), pay_i18n_default(i18n));
    assert_null(pay_i18n_find(i18n, "fr"));
    pay_i18n_free(i18n);
    i18n = load("en");
    assert_string_equal(pay_i18n_tag(pay_i18n_default(i18n)), "en");
    pay_i18n_free(i18n);
    /* a default without a catalog is refused; no directory: English only */
    struct pay_error e = {0};
    assert_int_equal(pay_i18n_load(dir, "fr", &i18n, &e), PAY_ERR_CONFIG_INVALID);
    assert_string_equal(e.field, "language");
    assert_non_null(strstr(e.detail, "available: en, ja, zh-CN"));
    assert_int_equal(pay_i18n_load("/nonexistent", NULL, &i18n, &e), PAY_ERR_OK);
    assert_int_equal(pay_i18n_count(i18n), 1);
    assert_string_equal(pay_i18n_tag(pay_i18n_default(i18n)), "en");
    pay_i18n_free(i18n);
}

static void a_bad_catalog_stops_the_load(void **state)
{
    (void)state;
    struct pay_i18n *i18n = NULL;
    struct pay_error e = {0};
    write_file("xx_YY.po", HEADER("zh_TW") "msgid \"a\"\nmsgstr \"b\"\n");
    assert_int_equal(pay_i18n_load(dir, NULL, &i18n, &e), PAY_ERR_CONFIG_INVALID);
    assert_non_null(strstr(e.detail, "xx_YY.po: its header says Language: zh_TW"));
    write_file("xx_YY.po", HEADER("xx_YY") "msgid \"a\"\nmsgstr \"{b}\"\n");
    assert_int_equal(pay_i18n_load(dir, NULL, &i18n, &e), PAY_ERR_CONFIG_INVALID);
    assert_non_null(strstr(e.detail, "xx_YY.po:7: msgstr must use exactly"));
    char path[512];
    snprintf(path, sizeof path, "%s/xx_YY.po", dir);
    unlink(path);
}

static void translates_with_contexts_and_falls_back(void **state)
{
    (void)state;
    struct pay_i18n *i18n = load(NULL);
    const struct pay_i18n_lang *zh = pay_i18n_find(i18n, "zh-CN"), *en = pay_i18n_find(i18n, "en");
    assert_string_equal(pay_i18n_trc(zh, "trade state", "Paid"), "已支付");
    assert_string_equal(pay_i18n_tr(zh, "Paid"), "付了"); /* another context, another entry */
    static const struct pay_i18n_msg m = NC_("trade state", "Paid");
    assert_string_equal(pay_i18n_msg(zh, &m), "已支付");
    assert_string_equal(pay_i18n_tr(zh, "Guess"), "Guess"); /* fuzzy: not used */
    assert_string_equal(pay_i18n_tr(zh, "Later"), "Later"); /* not translated yet */
    assert_string_equal(pay_i18n_tr(zh, "Unknown"), "Unknown");
    assert_string_equal(pay_i18n_tr(en, "Paid"), "Paid");
    assert_string_equal(pay_i18n_tr(NULL, "Paid"), "Paid");
    assert_int_equal(pay_i18n_lookup(zh, "trade state", "Paid"), 2);
    assert_int_equal(pay_i18n_lookup(zh, NULL, "Guess"), 1);
    assert_int_equal(pay_i18n_lookup(zh, NULL, "Later"), 1);
    assert_int_equal(pay_i18n_lookup(zh, NULL, "Unknown"), 0);
    assert_int_equal(pay_i18n_lookup(en, NULL, "Unknown"), 2); /* English is the source */
    struct pay_buf b;
    pay_buf_init(&b, 256);
    assert_int_equal(pay_i18n_trf(zh, &b, "Pay {amount} to {merchant}", "amount", "¥3.00",
                                  "merchant", "茶舍", NULL),
                     0);
    assert_string_equal(pay_buf_str(&b), "向茶舍支付 ¥3.00");
    pay_buf_reset(&b);
    assert_int_equal(pay_i18n_trf(en, &b, "Pay {amount} to {merchant}", "amount", "¥3.00",
                                  "merchant", "Teahouse", NULL),
                     0);
    assert_string_equal(pay_buf_str(&b), "Pay ¥3.00 to Teahouse");
    pay_buf_reset(&b);
    assert_int_equal(pay_i18n_trf(en, &b, "Pay {amount}", "merchant", "x", NULL), -1);
    pay_buf_fini(&b);
    pay_i18n_free(i18n);
}

static const char *neg(const struct pay_i18n *i18n, const char *cookie, const char *accept)
{
    return pay_i18n_tag(pay_i18n_negotiate(i18n, cookie, accept));
}

static void negotiates_a_language(void **state)
{
    (void)state;
    struct pay_i18n *i18n = load(NULL);
    /* nothing: the default */
    assert_string_equal(neg(i18n, NULL, NULL), "zh-CN");
    assert_string_equal(neg(i18n, NULL, ""), "zh-CN");
    /* Accept-Language, exact and by primary subtag */
    assert_string_equal(neg(i18n, NULL, "en"), "en");
    assert_string_equal(neg(i18n, NULL, "en-US,en;q=0.9"), "en");
    assert_string_equal(neg(i18n, NULL, "zh-TW"), "zh-CN"); /* Simplified for every zh */
    assert_string_equal(neg(i18n, NULL, "zh-Hans-CN"), "zh-CN");
    assert_string_equal(neg(i18n, NULL, "fr-FR, ja;q=0.5"), "ja");
    /* q-values: the highest wins, ties go to the first; q=0 is "not this" */
    assert_string_equal(neg(i18n, NULL, "en;q=0.5, zh-CN;q=0.8"), "zh-CN");
    assert_string_equal(neg(i18n, NULL, "en;q=0.8, zh-CN;q=0.8"), "en");
    assert_string_equal(neg(i18n, NULL, "zh-CN;q=0.1, en;q=0.800"), "en");
    assert_string_equal(neg(i18n, NULL, "en;q=0"), "zh-CN");
    assert_string_equal(neg(i18n, NULL, "en ; Q=1.0"), "en");
    assert_string_equal(neg(i18n, NULL, "fr, *;q=0.5"), "zh-CN"); /* "*": the default */
    /* malformed items are skipped, not fatal */
    assert_string_equal(neg(i18n, NULL, "en;q=2, ja;q=abc, zh;x=1"), "zh-CN");
    assert_string_equal(neg(i18n, NULL, ",,;q=1, en"), "en");
    /* the cookie (the reader's choice on the switch) beats Accept-Language */
    assert_string_equal(neg(i18n, "en", "zh-CN"), "en");
    assert_string_equal(neg(i18n, "zh-CN", "en"), "zh-CN");
    assert_string_equal(neg(i18n, "fr", "en"), "en"); /* an unknown cookie is ignored */
    assert_string_equal(neg(i18n, "", "ja"), "ja");
    /* a long header is read only as far as PAY_I18N_ACCEPT_ITEMS_MAX items */
    char many[2048] = "";
    for (int i = 0; i < 40; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "x%d;q=0.9, ", i);
    snprintf(many + strlen(many), sizeof many - strlen(many), "en");
    assert_string_equal(neg(i18n, NULL, many), "zh-CN");
    pay_i18n_free(i18n);
}

static int expand_value(void *ctx, const char *s, size_t n, bool is_value)
{
    struct pay_buf *b = ctx;
    return pay_buf_append(b, is_value ? "[" : "", is_value) | pay_buf_append(b, s, n) |
           pay_buf_append(b, is_value ? "]" : "", is_value);
}

static const char *value_of(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "a.b") == 0 ? "V" : NULL;
}

/* Error details with values: English for the APIs, translated back on pages by their shape. */
static void details_with_values(void **state)
{
    (void)state;
    struct pay_i18n *i18n = load(NULL);
    const struct pay_i18n_lang *zh = pay_i18n_find(i18n, "zh-CN"), *en = pay_i18n_find(i18n, "en");
    struct pay_error e = {0};
    assert_int_equal(pay_i18n_error_set(&e, PAY_ERR_CREDENTIALS_INVALID, "smsCode",
                                        "wrong code; {left} attempts left", "left", "3", NULL),
                     PAY_ERR_CREDENTIALS_INVALID);
    assert_string_equal(e.detail, "wrong code; 3 attempts left");
    assert_string_equal(e.field, "smsCode");
    struct pay_buf b;
    pay_buf_init(&b, 256);
    assert_int_equal(pay_i18n_tr_detail(zh, e.detail, &b), 1);
    assert_string_equal(pay_buf_str(&b), "验证码错误，还可尝试 3 次");
    pay_buf_reset(&b);
    assert_int_equal(pay_i18n_tr_detail(zh, "locked 30 min after 5 tries", &b), 1);
    assert_string_equal(pay_buf_str(&b), "5 次后锁定 30 分钟"); /* reordered */
    pay_buf_reset(&b);
    assert_int_equal(pay_i18n_tr_detail(zh, "Wrong code.", &b), 1); /* a plain N_() detail */
    assert_string_equal(pay_buf_str(&b), "验证码错误。");
    /* what no entry has the shape of stays untranslated */
    pay_buf_reset(&b);
    const char *none[] = {"wrong code; attempts left", "wrong code;  attempts left!",
                          "wrong code; 3 attempts", "locked 30 min after 5 tries ago", "Later"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        assert_int_equal(pay_i18n_tr_detail(zh, none[i], &b), 0);
    assert_int_equal(pay_i18n_tr_detail(en, "wrong code; 3 attempts left", &b), 0);
    assert_string_equal(pay_buf_str(&b), "");
    pay_buf_fini(&b);
    pay_i18n_free(i18n);
}

static void expands_placeholders(void **state)
{
    (void)state;
    struct pay_buf b;
    char missing[64] = "";
    pay_buf_init(&b, 256);
    assert_int_equal(pay_i18n_expand("x {a.b} y {a.b}", value_of, NULL, expand_value, &b, missing),
                     0);
    assert_string_equal(pay_buf_str(&b), "x [V] y [V]");
    pay_buf_reset(&b);
    assert_int_equal(pay_i18n_expand("x {c}", value_of, NULL, expand_value, &b, missing), -2);
    assert_string_equal(missing, "c");
    pay_buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_languages_default_first),
        cmocka_unit_test(a_bad_catalog_stops_the_load),
        cmocka_unit_test(translates_with_contexts_and_falls_back),
        cmocka_unit_test(negotiates_a_language),
        cmocka_unit_test(expands_placeholders),
        cmocka_unit_test(details_with_values),
    };
    return th_finish(cmocka_run_group_tests(tests, setup, th_teardown(teardown)));
}
