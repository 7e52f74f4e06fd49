/* [server] settings shared by every paygate server. */
#include "http/settings.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "i18n/tz.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The defaults named here are checked against core/limits.h by tests/http/test_http_settings.c;
 * the help starts at PAY_CLI_HELP_COLUMN, as pay_cli_usage prints the commands' own options. */
const char pay_server_settings_usage[] =
    "  --listen HOST:PORT        address to listen on (port 0 picks a free one)\n"
    "  --public-url URL          base URL others reach this server at (default: bound URL)\n"
    "  --data-dir DIR            folder for the database, keys and logs\n"
    "  --database DB             SQLite file or postgresql:// URL (default: in --data-dir)\n"
    "  --tls-cert FILE           PEM certificate chain; with --tls-key, serve HTTPS only\n"
    "  --tls-key FILE            PEM private key\n"
    "  --tls-priorities TEXT     GnuTLS priority string of HTTPS (default: TLS 1.2 and 1.3,\n"
    "                            ECDHE, AEAD ciphers only, in the server's order)\n"
    "  --insecure-http           allow plain HTTP on a non-loopback address\n"
    "  --fake-clock              tests only: a test clock moved by POST /sandbox/clock\n"
    "                            (loopback addresses only)\n"
    "  --log-level LEVEL         debug, info, warn or error (default info)\n"
    "  --max-connections N       open connections at most (default 1024)\n"
    "  --max-connections-per-ip N\n"
    "                            open connections from one client address (default 256)\n"
    "  --read-timeout DURATION   a whole request must arrive within this (default 15s)\n"
    "  --idle-timeout DURATION   close a connection without traffic for this (default 30s)\n"
    "  --threads N               event threads (default 0: one per CPU)\n"
    "  --language TAG            default language of pages: zh-CN or en (default zh-CN)\n"
    "  --time-zone ZONE          zone pages show times in (default Asia/Shanghai)\n"
    "  --print-url-file FILE     once listening, write the bound URL (no newline) to FILE\n";

void pay_server_settings_init(struct pay_server_settings *s, const char *listen,
                              const char *data_dir)
{
    memset(s, 0, sizeof *s);
    pay_str_copy(s->listen, sizeof s->listen, listen ? listen : "127.0.0.1:8080");
    pay_str_copy(s->data_dir, sizeof s->data_dir, data_dir ? data_dir : "./paygate-data");
    snprintf(s->log_level, sizeof s->log_level, "info");
    pay_str_copy(s->tls_priorities, sizeof s->tls_priorities, PAY_HTTP_TLS_PRIORITIES);
    s->max_connections = PAY_HTTP_CONNECTIONS_MAX;
    s->max_connections_per_ip = PAY_HTTP_CONNECTIONS_PER_IP_MAX;
    s->read_timeout_ms = PAY_HTTP_READ_TIMEOUT_MS;
    s->idle_timeout_ms = PAY_HTTP_CONNECTION_TIMEOUT_S * 1000LL;
}

/* The key of the first connection limit out of range, with the reason in why; NULL when
 * all are fine. */
static const char *limit_invalid(const struct pay_server_settings *s, char *why, size_t n)
{
    const int64_t ceiling_ms = PAY_HTTP_TIMEOUT_CEILING_S * 1000LL;
    if (s->max_connections < 1 || s->max_connections > PAY_HTTP_CONNECTIONS_CEILING) {
        snprintf(why, n, "must be 1..%d", PAY_HTTP_CONNECTIONS_CEILING);
        return "max_connections";
    }
    if (s->max_connections_per_ip < 1 || s->max_connections_per_ip > PAY_HTTP_CONNECTIONS_CEILING) {
        snprintf(why, n, "must be 1..%d", PAY_HTTP_CONNECTIONS_CEILING);
        return "max_connections_per_ip";
    }
    if (s->read_timeout_ms < 1 || s->read_timeout_ms > ceiling_ms) {
        snprintf(why, n, "must be 1ms..%ds", PAY_HTTP_TIMEOUT_CEILING_S);
        return "read_timeout";
    }
    if (s->idle_timeout_ms < 1000 || s->idle_timeout_ms > ceiling_ms ||
        s->idle_timeout_ms % 1000 != 0) {
        snprintf(why, n, "must be whole seconds, 1s..%ds", PAY_HTTP_TIMEOUT_CEILING_S);
        return "idle_timeout";
    }
    if (s->threads < 0 || s->threads > PAY_HTTP_THREADS_MAX) {
        snprintf(why, n, "must be 0 (one per CPU)..%d", PAY_HTTP_THREADS_MAX);
        return "threads";
    }
    return NULL;
}

static enum pay_err read_limits(struct pay_server_settings *s, const struct pay_config *c,
                                struct pay_error *err)
{
    enum pay_err e;
    if ((e = pay_config_get_int(c, "server", "max_connections", s->max_connections, 1,
                                PAY_HTTP_CONNECTIONS_CEILING, &s->max_connections, err)) !=
            PAY_ERR_OK ||
        (e = pay_config_get_int(c, "server", "max_connections_per_ip", s->max_connections_per_ip, 1,
                                PAY_HTTP_CONNECTIONS_CEILING, &s->max_connections_per_ip, err)) !=
            PAY_ERR_OK ||
        (e = pay_config_get_duration_ms(c, "server", "read_timeout", s->read_timeout_ms,
                                        &s->read_timeout_ms, err)) != PAY_ERR_OK ||
        (e = pay_config_get_duration_ms(c, "server", "idle_timeout", s->idle_timeout_ms,
                                        &s->idle_timeout_ms, err)) != PAY_ERR_OK ||
        (e = pay_config_get_int(c, "server", "threads", s->threads, 0, PAY_HTTP_THREADS_MAX,
                                &s->threads, err)) != PAY_ERR_OK)
        return e;
    char why[64];
    const char *bad = limit_invalid(s, why, sizeof why);
    if (bad != NULL)
        return pay_config_error(c, "server", bad, err, "%s", why);
    struct pay_error tls = {0};
    if (pay_http_tls_priorities_check(s->tls_priorities, &tls) != PAY_ERR_OK)
        return pay_config_error(c, "server", "tls_priorities", err, "%s", tls.detail);
    return PAY_ERR_OK;
}

/* The language's form (whether its catalog exists is known when the server loads them) and
 * the time zone, loaded once to see that it exists. */
static enum pay_err check_language(const struct pay_server_settings *s, struct pay_error *err)
{
    size_t ll = strspn(s->language, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
    if (s->language[0] &&
        (ll < 2 || ll > 3 ||
         (s->language[ll] &&
          ((s->language[ll] != '-' && s->language[ll] != '_') || strlen(s->language + ll) != 3))))
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "language",
                             "language %s: a tag such as zh-CN or en", s->language);
    struct pay_tz *tz = NULL;
    enum pay_err e = pay_tz_load(s->time_zone, &tz, err);
    pay_tz_free(tz);
    return e;
}

static enum pay_err copy_key(const struct pay_config *c, const char *key, char *dst, size_t n,
                             struct pay_error *err)
{
    const char *v = pay_config_get(c, "server", key, NULL);
    if (v == NULL)
        return PAY_ERR_OK;
    if (!pay_str_copy(dst, n, v))
        return pay_config_error(c, "server", key, err, "longer than %zu bytes", n - 1);
    return PAY_ERR_OK;
}

enum pay_err pay_server_settings_read(struct pay_server_settings *s, const struct pay_config *cfg,
                                      struct pay_error *err)
{
    static const char *const keys[] = {"listen",
                                       "public_url",
                                       "data_dir",
                                       "database",
                                       "tls_cert",
                                       "tls_key",
                                       "tls_priorities",
                                       "insecure_http",
                                       "log_level",
                                       "max_connections",
                                       "max_connections_per_ip",
                                       "read_timeout",
                                       "idle_timeout",
                                       "fake_clock",
                                       "threads",
                                       "language",
                                       "time_zone",
                                       "print_url_file",
                                       NULL};
    if (cfg == NULL)
        return PAY_ERR_OK;
    enum pay_err e;
    if ((e = pay_config_check_keys(cfg, "server", keys, err)) != PAY_ERR_OK ||
        (e = copy_key(cfg, "listen", s->listen, sizeof s->listen, err)) != PAY_ERR_OK ||
        (e = copy_key(cfg, "public_url", s->public_url, sizeof s->public_url, err)) != PAY_ERR_OK ||
        (e = copy_key(cfg, "data_dir", s->data_dir, sizeof s->data_dir, err)) != PAY_ERR_OK ||
        (e = copy_key(cfg, "database", s->database, sizeof s->database, err)) != PAY_ERR_OK ||
        (e = copy_key(cfg, "tls_cert", s->tls_cert_file, sizeof s->tls_cert_file, err)) !=
            PAY_ERR_OK ||
        (e = copy_key(cfg, "tls_key", s->tls_key_file, sizeof s->tls_key_file, err)) !=
            PAY_ERR_OK ||
        (e = copy_key(cfg, "log_level", s->log_level, sizeof s->log_level, err)) != PAY_ERR_OK ||
        (e = copy_key(cfg, "tls_priorities", s->tls_priorities, sizeof s->tls_priorities, err)) !=
            PAY_ERR_OK ||
        (e = copy_key(cfg, "language", s->language, sizeof s->language, err)) != PAY_ERR_OK ||
        (e = copy_key(cfg, "time_zone", s->time_zone, sizeof s->time_zone, err)) != PAY_ERR_OK ||
        (e = copy_key(cfg, "print_url_file", s->print_url_file, sizeof s->print_url_file, err)) !=
            PAY_ERR_OK ||
        (e = pay_config_get_bool(cfg, "server", "insecure_http", s->insecure_http,
                                 &s->insecure_http, err)) != PAY_ERR_OK ||
        (e = pay_config_get_bool(cfg, "server", "fake_clock", s->fake_clock, &s->fake_clock,
                                 err)) != PAY_ERR_OK ||
        (e = read_limits(s, cfg, err)) != PAY_ERR_OK)
        return e;
    enum pay_log_level level;
    if (pay_log_level_parse(s->log_level, &level) != 0)
        return pay_config_error(cfg, "server", "log_level", err, "debug, info, warn or error");
    if ((s->tls_cert_file[0] != '\0') != (s->tls_key_file[0] != '\0'))
        return pay_config_error(cfg, "server", s->tls_cert_file[0] ? "tls_key" : "tls_cert", err,
                                "tls_cert and tls_key go together");
    struct pay_error le = {0};
    if (check_language(s, &le) != PAY_ERR_OK)
        return pay_config_error(cfg, "server", le.field, err, "%s", le.detail);
    return PAY_ERR_OK;
}

/* A number or duration flag; a bad value is kept in flag_error for _check. */
static int limit_flag(struct pay_server_settings *s, int argc, char **argv, int i)
{
    static const struct {
        const char *flag, *key;
        size_t off;
        bool duration;
    } limits[] = {
        {"--max-connections", "max_connections",
         offsetof(struct pay_server_settings, max_connections), false},
        {"--max-connections-per-ip", "max_connections_per_ip",
         offsetof(struct pay_server_settings, max_connections_per_ip), false},
        {"--read-timeout", "read_timeout", offsetof(struct pay_server_settings, read_timeout_ms),
         true},
        {"--idle-timeout", "idle_timeout", offsetof(struct pay_server_settings, idle_timeout_ms),
         true},
        {"--threads", "threads", offsetof(struct pay_server_settings, threads), false},
    };
    for (size_t k = 0; k < sizeof limits / sizeof limits[0]; k++) {
        if (strcmp(argv[i], limits[k].flag) != 0)
            continue;
        if (i + 1 >= argc)
            return -1;
        int64_t v = 0;
        struct pay_error e = {0};
        char *end = NULL;
        errno = 0;
        bool ok = limits[k].duration ? pay_time_parse_duration_ms(argv[i + 1], &v, &e) == PAY_ERR_OK
                                     : (v = strtoll(argv[i + 1], &end, 10),
                                        errno == 0 && *argv[i + 1] != '\0' && *end == '\0');
        if (ok) {
            memcpy((char *)s + limits[k].off, &v, sizeof v);
        } else if (s->flag_error[0] == '\0') { /* the first bad flag is the one reported */
            snprintf(s->flag_error, sizeof s->flag_error, "%s %.40s: not a %s", limits[k].flag,
                     argv[i + 1], limits[k].duration ? "duration (15s, 500ms)" : "number");
            pay_str_copy(s->flag_error_key, sizeof s->flag_error_key, limits[k].key);
        }
        return 2;
    }
    return 0;
}

int pay_server_settings_flag(struct pay_server_settings *s, int argc, char **argv, int i)
{
    static const struct {
        const char *flag;
        size_t off, size;
    } text[] = {
        {"--listen", offsetof(struct pay_server_settings, listen), sizeof s->listen},
        {"--public-url", offsetof(struct pay_server_settings, public_url), sizeof s->public_url},
        {"--data-dir", offsetof(struct pay_server_settings, data_dir), sizeof s->data_dir},
        {"--database", offsetof(struct pay_server_settings, database), sizeof s->database},
        {"--tls-cert", offsetof(struct pay_server_settings, tls_cert_file),
         sizeof s->tls_cert_file},
        {"--tls-key", offsetof(struct pay_server_settings, tls_key_file), sizeof s->tls_key_file},
        {"--log-level", offsetof(struct pay_server_settings, log_level), sizeof s->log_level},
        {"--tls-priorities", offsetof(struct pay_server_settings, tls_priorities),
         sizeof s->tls_priorities},
        {"--language", offsetof(struct pay_server_settings, language), sizeof s->language},
        {"--time-zone", offsetof(struct pay_server_settings, time_zone), sizeof s->time_zone},
        {"--print-url-file", offsetof(struct pay_server_settings, print_url_file),
         sizeof s->print_url_file},
    };
    if (strcmp(argv[i], "--insecure-http") == 0) {
        s->insecure_http = true;
        return 1;
    }
    if (strcmp(argv[i], "--fake-clock") == 0) {
        s->fake_clock = true;
        return 1;
    }
    int used = limit_flag(s, argc, argv, i);
    if (used != 0)
        return used;
    for (size_t k = 0; k < sizeof text / sizeof text[0]; k++) {
        if (strcmp(argv[i], text[k].flag) != 0)
            continue;
        if (i + 1 >= argc || !pay_str_copy((char *)s + text[k].off, text[k].size, argv[i + 1]))
            return -1; /* missing or too long: a usage error */
        return 2;
    }
    return 0;
}

enum pay_err pay_server_settings_check(const struct pay_server_settings *s, struct pay_error *err)
{
    if (s->flag_error[0] != '\0')
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, s->flag_error_key, "%s", s->flag_error);
    char why[64];
    const char *bad = limit_invalid(s, why, sizeof why);
    if (bad != NULL)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, bad, "%s: %s", bad, why);
    struct pay_error tls = {0};
    enum pay_err e = pay_http_tls_priorities_check(s->tls_priorities, &tls);
    if (e != PAY_ERR_OK)
        return pay_error_set(err, e, "tls_priorities", "tls_priorities: %s", tls.detail);
    enum pay_log_level level;
    if (pay_log_level_parse(s->log_level, &level) != 0)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "log_level",
                             "log_level %s: debug, info, warn or error", s->log_level);
    if ((s->tls_cert_file[0] != '\0') != (s->tls_key_file[0] != '\0'))
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID,
                             s->tls_cert_file[0] ? "tls_key" : "tls_cert",
                             "tls_cert and tls_key go together");
    if ((e = check_language(s, err)) != PAY_ERR_OK)
        return e;
    const char *const files[][2] = {{"tls_cert", s->tls_cert_file}, {"tls_key", s->tls_key_file}};
    for (size_t i = 0; i < 2; i++)
        if (files[i][1][0] && access(files[i][1], R_OK) != 0)
            return pay_error_set(err, PAY_ERR_CONFIG_INVALID, files[i][0], "%s: cannot read %s",
                                 files[i][0], files[i][1]);
    /* a URL of another scheme (or a typo) would otherwise become an odd SQLite file name */
    if (strstr(s->database, "://") && strncmp(s->database, "postgresql://", 13) != 0 &&
        strncmp(s->database, "postgres://", 11) != 0)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "database",
                             "database: a postgresql:// URL or the path of an SQLite file");
    struct sockaddr_storage addr;
    socklen_t len;
    bool loopback = false;
    e = pay_http_listen_parse(s->listen, &addr, &len, &loopback, err);
    if (e != PAY_ERR_OK)
        return e;
    if (!loopback && !s->tls_cert_file[0] && !s->insecure_http)
        return pay_error_set(err, PAY_ERR_INSECURE_LISTEN, "listen",
                             "listen %s: %s (or --insecure-http)", s->listen,
                             pay_err_message(PAY_ERR_INSECURE_LISTEN));
    if (s->fake_clock && !loopback)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "fake_clock",
                             "fake_clock: the test clock is for tests on a loopback address;"
                             " listen %s is not one",
                             s->listen);
    return PAY_ERR_OK;
}

const char *pay_server_settings_url(const struct pay_server_settings *s, const char *bound_url)
{
    /* behind a proxy the announced URL is the public one */
    return s->public_url[0] ? s->public_url : bound_url;
}

enum pay_err pay_server_settings_announce(const struct pay_server_settings *s,
                                          const char *bound_url, struct pay_error *err)
{
    if (s->print_url_file[0] &&
        pay_file_write(s->print_url_file, bound_url, strlen(bound_url), 0600) != 0)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "print_url_file", "cannot write %s: %s",
                             s->print_url_file, strerror(errno));
    return PAY_ERR_OK;
}

int pay_server_settings_database(const struct pay_server_settings *s, const char *file, char *out,
                                 size_t n)
{
    if (s->database[0])
        return pay_str_copy(out, n, s->database) ? 0 : -1;
    int len = snprintf(out, n, "%s/%s", s->data_dir, file);
    return len >= 0 && (size_t)len < n ? 0 : -1;
}

void pay_server_settings_apply(const struct pay_server_settings *s, struct pay_http_config *cfg)
{
    enum pay_log_level level = PAY_LOG_INFO;
    if (pay_log_level_parse(s->log_level, &level) == 0)
        pay_log_set_level(level);
    if (s->fake_clock) {
        /* kept in the data dir, so that a restarted test server's time does not go back */
        char path[PAY_CLOCK_FILE_MAX];
        snprintf(path, sizeof path, "%s/fake-clock", s->data_dir);
        if (pay_clock_use_fake_file(path) != 0) {
            PAY_WARN("clock.file_ignored", "file=%s", path);
            pay_clock_use_fake(0);
        }
        PAY_WARN("clock.fake",
                 "msg=\"business time is a TEST CLOCK that only POST /sandbox/clock"
                 " moves: never run a real server like this\" now_ms=%lld",
                 (long long)pay_clock_now_ms());
    }
    cfg->listen = s->listen;
    cfg->tls_cert_file = s->tls_cert_file[0] ? s->tls_cert_file : NULL;
    cfg->tls_key_file = s->tls_key_file[0] ? s->tls_key_file : NULL;
    cfg->insecure_http = s->insecure_http;
    cfg->tls_priorities = s->tls_priorities;
    cfg->max_connections = (unsigned)s->max_connections;
    cfg->max_connections_per_ip = (unsigned)s->max_connections_per_ip;
    cfg->read_timeout_ms = (long)s->read_timeout_ms;
    cfg->idle_timeout_s = (unsigned)(s->idle_timeout_ms / 1000);
    cfg->threads = (unsigned)s->threads;
    cfg->language = s->language[0] ? s->language : NULL;
    cfg->time_zone = s->time_zone[0] ? s->time_zone : NULL;
}
