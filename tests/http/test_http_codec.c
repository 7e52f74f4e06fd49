/* Codecs: form decoding (escapes, UTF-8, limits, duplicates), JSON depth and errors, URL
 * validation, HTML escaping. The SSRF guard's addresses: test_http_addr.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "http/codec.h"

static enum pay_err form(const char *s, struct pay_form *f, struct pay_error *e)
{
    memset(e, 0, sizeof *e);
    return pay_form_decode(s, strlen(s), f, e);
}

static void form_good(void **state)
{
    (void)state;
    struct pay_form f;
    struct pay_error e;
    assert_int_equal(form("a=1&name=J%C3%BCrgen+M%c3%BCller&empty=&t=x%0D%0Ay", &f, &e),
                     PAY_ERR_OK);
    assert_int_equal(f.n, 4);
    assert_string_equal(pay_form_get(&f, "a"), "1");
    assert_string_equal(pay_form_get(&f, "name"), "J\xc3\xbcrgen M\xc3\xbcller");
    assert_string_equal(pay_form_get(&f, "empty"), "");
    assert_string_equal(pay_form_get(&f, "t"), "x\r\ny");
    assert_null(pay_form_get(&f, "missing"));
    pay_form_fini(&f);
    assert_int_equal(form("", &f, &e), PAY_ERR_OK);
    assert_int_equal(f.n, 0);
    pay_form_fini(&f);
}

static void form_bad(void **state)
{
    (void)state;
    static const struct {
        const char *in, *field;
    } cases[] = {
        {"a=%zz", "a"},           /* not hex */
        {"a=%4", "a"},            /* truncated escape */
        {"amount=12%", "amount"}, /* lone percent */
        {"a=%C3%28", "a"},        /* invalid UTF-8 continuation */
        {"a=%C0%AF", "a"},        /* overlong encoding of '/' */
        {"a=%ED%A0%80", "a"},     /* UTF-16 surrogate */
        {"a=%00", "a"},           /* NUL */
        {"a=%07", "a"},           /* control character */
        {"a=\xff", "a"},          /* raw invalid byte */
        {"a=1&a=2", "a"},         /* duplicate */
        {"a=1&&b=2", ""},         /* empty pair */
        {"noequals", ""},         /* no '=' */
        {"=1", ""},               /* empty name */
        {"%zz=1", ""},            /* bad name */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pay_form f;
        struct pay_error e;
        assert_int_equal(form(cases[i].in, &f, &e), PAY_ERR_FORM_INVALID);
        assert_string_equal(e.field, cases[i].field);
        assert_true(e.detail[0] != '\0');
        assert_int_equal(f.n, 0);
        assert_null(f.fields);
    }
}

static void form_too_many_fields(void **state)
{
    (void)state;
    char buf[4096] = "";
    size_t n = 0;
    for (int i = 0; i <= PAY_HTTP_FORM_FIELDS_MAX; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%sf%d=1", i ? "&" : "", i);
    struct pay_form f;
    struct pay_error e;
    assert_int_equal(form(buf, &f, &e), PAY_ERR_FORM_INVALID);
    assert_non_null(strstr(e.detail, "fields"));
    buf[strlen(buf) - strlen("&f64=1")] = '\0'; /* exactly the limit */
    assert_int_equal(form(buf, &f, &e), PAY_ERR_OK);
    assert_int_equal(f.n, PAY_HTTP_FORM_FIELDS_MAX);
    pay_form_fini(&f);
}

static void form_encode_roundtrip(void **state)
{
    (void)state;
    struct pay_buf b;
    pay_buf_init(&b, 1024);
    assert_int_equal(pay_form_append(&b, "tranData", "a b&c=d/\xc3\xa9"), 0);
    assert_int_equal(pay_form_append(&b, "x", "~-._"), 0);
    assert_string_equal(pay_buf_str(&b), "tranData=a%20b%26c%3Dd%2F%C3%A9&x=~-._");
    struct pay_form f;
    struct pay_error e;
    assert_int_equal(form(pay_buf_str(&b), &f, &e), PAY_ERR_OK);
    assert_string_equal(pay_form_get(&f, "tranData"), "a b&c=d/\xc3\xa9");
    pay_form_fini(&f);
    pay_buf_fini(&b);
}

/* {"a":[[...]]} with `arrays` nested arrays: depth arrays + 1. */
static const char *nested(char *buf, size_t cap, int arrays)
{
    size_t n = (size_t)snprintf(buf, cap, "{\"a\":");
    for (int i = 0; i < arrays; i++)
        buf[n++] = '[';
    for (int i = 0; i < arrays; i++)
        buf[n++] = ']';
    buf[n++] = '}';
    buf[n] = '\0';
    return buf;
}

static void json_depth_and_errors(void **state)
{
    (void)state;
    char deep[256];
    json_t *j = NULL;
    struct pay_error e = {0};
    nested(deep, sizeof deep, PAY_JSON_DEPTH_MAX - 1); /* exactly the limit */
    assert_int_equal(pay_json_decode(deep, strlen(deep), &j, &e), PAY_ERR_OK);
    json_decref(j);
    nested(deep, sizeof deep, PAY_JSON_DEPTH_MAX);
    assert_int_equal(pay_json_decode(deep, strlen(deep), &j, &e), PAY_ERR_JSON_TOO_DEEP);
    assert_null(j);
    /* brackets inside strings do not count */
    const char *str = "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[[\"}";
    assert_int_equal(pay_json_decode(str, strlen(str), &j, &e), PAY_ERR_OK);
    json_decref(j);
    const char *bad = "{\"amount\": 12,\n \"x\": }";
    assert_int_equal(pay_json_decode(bad, strlen(bad), &j, &e), PAY_ERR_JSON_INVALID);
    assert_non_null(strstr(e.detail, "line 2"));
    const char *dup = "{\"a\":1,\"a\":2}";
    assert_int_equal(pay_json_decode(dup, strlen(dup), &j, &e), PAY_ERR_JSON_INVALID);
    assert_int_equal(pay_json_decode("[1]", 3, &j, &e), PAY_ERR_JSON_INVALID);
    assert_non_null(strstr(e.detail, "object"));
    assert_int_equal(pay_json_decode("{\"a\":\"\xff\"}", 9, &j, &e), PAY_ERR_JSON_INVALID);
    assert_int_equal(pay_json_decode("{\"a\":\"\\u0000\"}", 14, &j, &e), PAY_ERR_JSON_INVALID);
}

static void url_validation(void **state)
{
    (void)state;
    struct pay_url u;
    struct pay_error e;
    assert_int_equal(
        pay_url_parse("https://Shop.Example.com:8443/notify?x=1", "notify_url", &u, &e),
        PAY_ERR_OK);
    assert_string_equal(u.scheme, "https");
    assert_string_equal(u.host, "shop.example.com");
    assert_int_equal(u.port, 8443);
    assert_string_equal(u.path, "/notify?x=1");
    assert_true(u.tls);
    assert_int_equal(pay_url_parse("http://127.0.0.1", "u", &u, &e), PAY_ERR_OK);
    assert_int_equal(u.port, 80);
    assert_string_equal(u.path, "/");
    assert_int_equal(pay_url_parse("http://[::1]:9000/x", "u", &u, &e), PAY_ERR_OK);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 9000);
    static const char *const bad[] = {
        "ftp://x.example/",
        "javascript:alert(1)",
        "http://",
        "http://user:pw@x.example/",
        "http://x.example:0/",
        "http://x.example:65536/",
        "http://x.example:8a/",
        "http://x .example/",
        "http://x.example/#frag",
        "http://[::1/",
        "http://[zz::1]/",
        "http://x..example/",
        "http://x_y.example/",
        "//x.example/",
        "http://x.example/\r\n",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&e, 0, sizeof e);
        assert_int_equal(pay_url_parse(bad[i], "notify_url", &u, &e), PAY_ERR_FIELD_INVALID);
        assert_string_equal(e.field, "notify_url");
    }
    char longurl[PAY_URL_MAX + 32] = "http://x.example/";
    memset(longurl + 17, 'a', PAY_URL_MAX);
    longurl[PAY_URL_MAX + 1] = '\0';
    assert_int_equal(pay_url_parse(longurl, "u", &u, &e), PAY_ERR_FIELD_INVALID);
}

static void html_escaping(void **state)
{
    (void)state;
    struct pay_buf b;
    pay_buf_init(&b, 256);
    assert_int_equal(pay_html_escape(&b, "<script>alert('x')</script> & \"q\" `b` a=b"), 0);
    assert_string_equal(pay_buf_str(&b), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
                                         "&quot;q&quot; &#96;b&#96; a&#61;b");
    pay_buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(form_good),
        cmocka_unit_test(form_bad),
        cmocka_unit_test(form_too_many_fields),
        cmocka_unit_test(form_encode_roundtrip),
        cmocka_unit_test(json_depth_and_errors),
        cmocka_unit_test(url_validation),
        cmocka_unit_test(html_escaping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
