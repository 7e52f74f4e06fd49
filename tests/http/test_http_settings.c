/* The [server] settings every server reads: defaults, the INI section, flags, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "core/clock.h"
#include "core/limits.h"
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

/* The test clock: a key and a flag, refused on an address that is not loopback (anyone could
 * move the server's time), and switched on by apply. */
static void fake_clock(void **state)
{
    (void)state;
    struct pay_server_settings s;
    pay_server_settings_init(&s, "127.0.0.1:0", "/tmp/x");
    assert_false(s.fake_clock);
    struct pay_config *c = parse("[server]\nfake_clock = true\n");
    struct pay_error e = {0};
    assert_int_equal(pay_server_settings_read(&s, c, &e), PAY_ERR_OK);
    pay_config_free(c);
    assert_true(s.fake_clock);
    assert_int_equal(pay_server_settings_check(&s, &e), PAY_ERR_OK);
    pay_server_settings_init(&s, "0.0.0.0:8080", "/tmp/x");
    char *argv[] = {"x", "--fake-clock", "--insecure-http"};
    assert_int_equal(pay_server_settings_flag(&s, 3, argv, 1), 1);
    assert_int_equal(pay_server_settings_flag(&s, 3, argv, 2), 1);
    assert_true(s.fake_clock);
    assert_int_equal(pay_server_settings_check(&s, &e), PAY_ERR_CONFIG_INVALID);
    assert_string_equal(e.field, "fake_clock");
    snprintf(s.listen, sizeof s.listen, "[::1]:0");
    assert_int_equal(pay_server_settings_check(&s, &e), PAY_ERR_OK);
    assert_false(pay_clock_is_fake());
    struct pay_http_config hc = {0};
    pay_server_settings_apply(&s, &hc);
    assert_true(pay_clock_is_fake());
    pay_clock_use_real();
    pay_log_set_level(PAY_LOG_INFO);
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

/* The connection limits, timeouts and TLS priorities: defaults from core/limits.h, read from
 * [server], handed to the server's config, and bad values refused naming the key. */
static void limits_and_tls_priorities(void **state)
{
    (void)state;
    struct pay_server_settings s;
    pay_server_settings_init(&s, NULL, NULL);
    assert_int_equal(s.max_connections, PAY_HTTP_CONNECTIONS_MAX);
    assert_int_equal(s.max_connections_per_ip, PAY_HTTP_CONNECTIONS_PER_IP_MAX);
    assert_int_equal(s.threads, 0); /* one per CPU */
    assert_int_equal(s.read_timeout_ms, PAY_HTTP_READ_TIMEOUT_MS);
    assert_int_equal(s.idle_timeout_ms, PAY_HTTP_CONNECTION_TIMEOUT_S * 1000);
    assert_string_equal(s.tls_priorities, PAY_HTTP_TLS_PRIORITIES);
    struct pay_error e = {0};
    assert_int_equal(pay_server_settings_check(&s, &e), PAY_ERR_OK);
    struct pay_config *c =
        parse("[server]\nmax_connections = 200\nmax_connections_per_ip = 10\n"
              "read_timeout = 5s\nidle_timeout = 1m\ntls_priorities = SECURE256:-VERS-ALL:"
              "+VERS-TLS1.3\nthreads = 3\n");
    assert_int_equal(pay_server_settings_read(&s, c, &e), PAY_ERR_OK);
    pay_config_free(c);
    struct pay_http_config hc = {0};
    pay_server_settings_apply(&s, &hc);
    assert_int_equal(hc.max_connections, 200);
    assert_int_equal(hc.max_connections_per_ip, 10);
    assert_int_equal(hc.read_timeout_ms, 5000);
    assert_int_equal(hc.idle_timeout_s, 60);
    assert_string_equal(hc.tls_priorities, "SECURE256:-VERS-ALL:+VERS-TLS1.3");
    assert_int_equal(hc.threads, 3);
    pay_log_set_level(PAY_LOG_INFO);

    const char *bad[][2] = {
        {"[server]\nmax_connections = 0\n", "max_connections"},
        {"[server]\nmax_connections = 100000\n", "max_connections"},
        {"[server]\nmax_connections_per_ip = many\n", "max_connections_per_ip"},
        {"[server]\nread_timeout = 5\n", "read_timeout"},
        {"[server]\nread_timeout = 2h\n", "read_timeout"},
        {"[server]\nidle_timeout = 1500ms\n", "idle_timeout"},
        {"[server]\nthreads = 65\n", "threads"},
        {"[server]\nthreads = -1\n", "threads"},
        {"[server]\ntls_priorities = SECURE128:+NO-SUCH-THING\n", "tls_priorities"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pay_server_settings_init(&s, NULL, NULL);
        c = parse(bad[i][0]);
        memset(&e, 0, sizeof e);
        assert_int_equal(pay_server_settings_read(&s, c, &e), PAY_ERR_CONFIG_INVALID);
        if (strstr(e.detail, bad[i][1]) == NULL || strstr(e.detail, "test.ini:2") == NULL)
            fail_msg("error for %s does not name file, line and key: %s", bad[i][1], e.detail);
        pay_config_free(c);
    }
    c = parse("[server]\ntls_priorities = SECURE128:+NO-SUCH-THING\n");
    pay_server_settings_init(&s, NULL, NULL);
    assert_int_equal(pay_server_settings_read(&s, c, &e), PAY_ERR_CONFIG_INVALID);
    assert_non_null(strstr(e.detail, "NO-SUCH-THING")); /* where GnuTLS stopped reading */
    pay_config_free(c);
}

static void limit_flags(void **state)
{
    (void)state;
    struct pay_server_settings s;
    pay_server_settings_init(&s, NULL, NULL);
    char *argv[] = {"x", "--read-timeout",   "2s",     "--max-connections-per-ip",
                    "4", "--tls-priorities", "NORMAL", "--idle-timeout"};
    assert_int_equal(pay_server_settings_flag(&s, 8, argv, 1), 2);
    assert_int_equal(pay_server_settings_flag(&s, 8, argv, 3), 2);
    assert_int_equal(pay_server_settings_flag(&s, 8, argv, 5), 2);
    assert_int_equal(pay_server_settings_flag(&s, 8, argv, 7), -1); /* value missing */
    assert_int_equal(s.read_timeout_ms, 2000);
    assert_int_equal(s.max_connections_per_ip, 4);
    assert_string_equal(s.tls_priorities, "NORMAL");
    struct pay_error e = {0};
    assert_int_equal(pay_server_settings_check(&s, &e), PAY_ERR_OK);

    const char *bad[][3] = {{"--max-connections", "lots", "max_connections"},
                            {"--read-timeout", "15", "read_timeout"},
                            {"--idle-timeout", "0s", "idle_timeout"},
                            {"--threads", "65", "threads"},
                            {"--tls-priorities", "NORMAL:+VERS-TLS9", "tls_priorities"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pay_server_settings_init(&s, NULL, NULL);
        char *av[] = {"x", (char *)bad[i][0], (char *)bad[i][1]};
        assert_int_equal(pay_server_settings_flag(&s, 3, av, 1), 2);
        memset(&e, 0, sizeof e);
        assert_int_equal(pay_server_settings_check(&s, &e), PAY_ERR_CONFIG_INVALID);
        assert_string_equal(e.field, bad[i][2]);
    }

    /* the defaults the usage text names are the ones in core/limits.h */
    char want[4][64];
    snprintf(want[0], sizeof want[0], "(default %d)", PAY_HTTP_CONNECTIONS_MAX);
    snprintf(want[1], sizeof want[1], "(default %d)", PAY_HTTP_CONNECTIONS_PER_IP_MAX);
    snprintf(want[2], sizeof want[2], "(default %ds)", PAY_HTTP_READ_TIMEOUT_MS / 1000);
    snprintf(want[3], sizeof want[3], "(default %ds)", PAY_HTTP_CONNECTION_TIMEOUT_S);
    for (int i = 0; i < 4; i++)
        if (strstr(pay_server_settings_usage, want[i]) == NULL)
            fail_msg("usage does not say %s", want[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_and_section),
        cmocka_unit_test(refusals_name_the_key),
        cmocka_unit_test(fake_clock),
        cmocka_unit_test(flags),
        cmocka_unit_test(limits_and_tls_priorities),
        cmocka_unit_test(limit_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
