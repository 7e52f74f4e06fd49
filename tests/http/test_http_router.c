/* Route patterns: validity, matching, path parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "http/internal.h"

static void patterns(void **state)
{
    (void)state;
    assert_true(pay_http_pattern_valid("/"));
    assert_true(pay_http_pattern_valid("/healthz"));
    assert_true(pay_http_pattern_valid("/v1/trades/{id}/refunds"));
    assert_true(pay_http_pattern_valid("/a/{a}/{b}/{c}/{d}"));
    assert_false(pay_http_pattern_valid("/a/{a}/{b}/{c}/{d}/{e}")); /* > PATH_PARAMS_MAX */
    assert_false(pay_http_pattern_valid("healthz"));
    assert_false(pay_http_pattern_valid("/v1/{}"));
    assert_false(pay_http_pattern_valid("/v1/{id"));
    assert_false(pay_http_pattern_valid("/v1/x{id}"));
    assert_false(pay_http_pattern_valid("/v1/{Id}"));
    assert_false(pay_http_pattern_valid(NULL));
}

static void matching(void **state)
{
    (void)state;
    struct pay_http_param p[PAY_HTTP_PATH_PARAMS_MAX];
    size_t n;
    assert_true(pay_http_route_match("/v1/trades/{id}/refunds", "/v1/trades/T123/refunds", p, &n));
    assert_int_equal(n, 1);
    assert_int_equal(p[0].name_len, 2);
    assert_memory_equal(p[0].name, "id", 2);
    assert_int_equal(p[0].value_len, 4);
    assert_memory_equal(p[0].value, "T123", 4);
    assert_true(pay_http_route_match("/a/{x}/b/{y}", "/a/1/b/22", p, &n));
    assert_int_equal(n, 2);
    assert_memory_equal(p[1].value, "22", 2);
    assert_true(pay_http_route_match("/", "/", p, &n));
    assert_int_equal(n, 0);
    assert_false(pay_http_route_match("/v1/trades/{id}/refunds", "/v1/trades//refunds", p, &n));
    assert_false(pay_http_route_match("/v1/trades/{id}/refunds", "/v1/trades/T1", p, &n));
    assert_false(pay_http_route_match("/v1/trades/{id}", "/v1/trades/T1/refunds", p, &n));
    assert_false(pay_http_route_match("/v1/trades", "/v1/trades/", p, &n));
    assert_false(pay_http_route_match("/v1/trades", "/v1/tradesX", p, &n));
    assert_false(pay_http_route_match("/healthz", "/", p, &n));
    assert_false(pay_http_route_match("/", "/healthz", p, &n));
    assert_false(pay_http_route_match("/v1/trades", "v1/trades", p, &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(patterns),
        cmocka_unit_test(matching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
