/* The [server] settings every server reads: defaults, the INI section, flags, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "core/log.h"
#include "http/settings.h"

static struct pay_config *parse(const char *text)
{
    struct pay_config *c = NULL;
    struct pay_error e = {0};
    assert_int_equal(pay_config_parse_string(text, "test.ini", &c, &e), PAY_ERR_OK);
    return c;
}

static void defaults_and_section(void **state)
{
    (void)state;
    struct pay_server_settings s;
    pay_server_settings_init(&s, "127.0.0.1:9000", "/tmp/x");
    assert_string_equal(s.listen, "127.0.0.1:9000");
    assert_false(s.insecure_http);
    struct pay_config *c = parse("[server]\nlisten = 0.0.0.0:8443\ntls_cert = c.pem\n"
                                 "tls_key = k.pem\nlog_level = warn\n");
    struct pay_error e = {0};
    assert_int_equal(pay_server_settings_read(&s, c, &e), PAY_ERR_OK);
    assert_string_equal(s.listen, "0.0.0.0:8443");
    assert_string_equal(s.tls_cert_file, "c.pem");
    assert_string_equal(s.data_dir, "/tmp/x"); /* not in the file: unchanged */
    struct pay_http_config hc = {0};
    pay_server_settings_apply(&s, &hc);
    assert_string_equal(hc.tls_key_file, "k.pem");
    assert_string_equal(hc.listen, "0.0.0.0:8443");
    pay_log_set_level(PAY_LOG_INFO);
    pay_config_free(c);
}

static void refusals_name_the_key(void **state)
{
    (void)state;
    const char *bad[][2] = {
        {"[server]\nlisen = 1\n", "lisen"},
        {"[server]\ninsecure_http = maybe\n", "insecure_http"},
        {"[server]\nlog_level = loud\n", "log_level"},
        {"[server]\ntls_cert = c.pem\n", "tls_key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct pay_server_settings s;
        pay_server_settings_init(&s, NULL, NULL);
        struct pay_config *c = parse(bad[i][0]);
        struct pay_error e = {0};
        assert_int_equal(pay_server_settings_read(&s, c, &e), PAY_ERR_CONFIG_INVALID);
        if (strstr(e.detail, bad[i][1]) == NULL && strstr(e.field, bad[i][1]) == NULL)
            fail_msg("error for %s does not name it: %s / %s", bad[i][1], e.field, e.detail);
        pay_config_free(c);
    }
}

static void flags(void **state)
{
    (void)state;
    struct pay_server_settings s;
    pay_server_settings_init(&s, NULL, NULL);
    char *argv[] = {"x", "--tls-cert", "a.pem", "--insecure-http", "--name", "--listen"};
    assert_int_equal(pay_server_settings_flag(&s, 6, argv, 1), 2);
    assert_string_equal(s.tls_cert_file, "a.pem");
    assert_int_equal(pay_server_settings_flag(&s, 6, argv, 3), 1);
    assert_true(s.insecure_http);
    assert_int_equal(pay_server_settings_flag(&s, 6, argv, 4), 0);  /* not ours */
    assert_int_equal(pay_server_settings_flag(&s, 6, argv, 5), -1); /* value missing */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_and_section),
        cmocka_unit_test(refusals_name_the_key),
        cmocka_unit_test(flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
