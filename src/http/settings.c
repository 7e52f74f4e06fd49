/* [server] settings shared by every paygate server. */
#include "http/settings.h"

#include "core/log.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char pay_server_settings_usage[] =
    "  --listen HOST:PORT     address to listen on (port 0 picks one)\n"
    "  --public-url URL       base URL others reach this server at (default: bound URL)\n"
    "  --data-dir DIR         folder for the database, keys and logs\n"
    "  --tls-cert FILE        PEM certificate chain; with --tls-key, serve HTTPS only\n"
    "  --tls-key FILE         PEM private key\n"
    "  --insecure-http        allow plain HTTP on a non-loopback address\n"
    "  --log-level LEVEL      debug, info, warn or error (default info)\n";

void pay_server_settings_init(struct pay_server_settings *s, const char *listen,
                              const char *data_dir)
{
    memset(s, 0, sizeof *s);
    snprintf(s->listen, sizeof s->listen, "%s", listen ? listen : "127.0.0.1:8080");
    snprintf(s->data_dir, sizeof s->data_dir, "%s", data_dir ? data_dir : "./paygate-data");
    snprintf(s->log_level, sizeof s->log_level, "info");
}

static enum pay_err copy_key(const struct pay_config *c, const char *key, char *dst, size_t n,
                             struct pay_error *err)
{
    const char *v = pay_config_get(c, "server", key, NULL);
    if (v == NULL)
        return PAY_ERR_OK;
    if (strlen(v) >= n)
        return pay_config_error(c, "server", key, err, "longer than %zu bytes", n - 1);
    snprintf(dst, n, "%s", v);
    return PAY_ERR_OK;
}

enum pay_err pay_server_settings_read(struct pay_server_settings *s, const struct pay_config *cfg,
                                      struct pay_error *err)
{
    static const char *const keys[] = {"listen",  "public_url",    "data_dir",  "tls_cert",
                                       "tls_key", "insecure_http", "log_level", NULL};
    if (cfg == NULL)
        return PAY_ERR_OK;
    enum pay_err e;
    if ((e = pay_config_check_keys(cfg, "server", keys, err)) != PAY_ERR_OK ||
        (e = copy_key(cfg, "listen", s->listen, sizeof s->listen, err)) != PAY_ERR_OK ||
        (e = copy_key(cfg, "public_url", s->public_url, sizeof s->public_url, err)) != PAY_ERR_OK ||
        (e = copy_key(cfg, "data_dir", s->data_dir, sizeof s->data_dir, err)) != PAY_ERR_OK ||
        (e = copy_key(cfg, "tls_cert", s->tls_cert_file, sizeof s->tls_cert_file, err)) !=
            PAY_ERR_OK ||
        (e = copy_key(cfg, "tls_key", s->tls_key_file, sizeof s->tls_key_file, err)) !=
            PAY_ERR_OK ||
        (e = copy_key(cfg, "log_level", s->log_level, sizeof s->log_level, err)) != PAY_ERR_OK ||
        (e = pay_config_get_bool(cfg, "server", "insecure_http", s->insecure_http,
                                 &s->insecure_http, err)) != PAY_ERR_OK)
        return e;
    enum pay_log_level level;
    if (pay_log_level_parse(s->log_level, &level) != 0)
        return pay_config_error(cfg, "server", "log_level", err, "debug, info, warn or error");
    if ((s->tls_cert_file[0] != '\0') != (s->tls_key_file[0] != '\0'))
        return pay_config_error(cfg, "server", s->tls_cert_file[0] ? "tls_key" : "tls_cert", err,
                                "tls_cert and tls_key go together");
    return PAY_ERR_OK;
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
        {"--tls-cert", offsetof(struct pay_server_settings, tls_cert_file),
         sizeof s->tls_cert_file},
        {"--tls-key", offsetof(struct pay_server_settings, tls_key_file), sizeof s->tls_key_file},
        {"--log-level", offsetof(struct pay_server_settings, log_level), sizeof s->log_level},
    };
    if (strcmp(argv[i], "--insecure-http") == 0) {
        s->insecure_http = true;
        return 1;
    }
    for (size_t k = 0; k < sizeof text / sizeof text[0]; k++) {
        if (strcmp(argv[i], text[k].flag) != 0)
            continue;
        if (i + 1 >= argc || strlen(argv[i + 1]) >= text[k].size)
            return -1;
        snprintf((char *)s + text[k].off, text[k].size, "%s", argv[i + 1]);
        return 2;
    }
    return 0;
}

enum pay_err pay_server_settings_check(const struct pay_server_settings *s, struct pay_error *err)
{
    enum pay_log_level level;
    if (pay_log_level_parse(s->log_level, &level) != 0)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "log_level",
                             "log_level %s: debug, info, warn or error", s->log_level);
    if ((s->tls_cert_file[0] != '\0') != (s->tls_key_file[0] != '\0'))
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID,
                             s->tls_cert_file[0] ? "tls_key" : "tls_cert",
                             "tls_cert and tls_key go together");
    const char *const files[][2] = {{"tls_cert", s->tls_cert_file}, {"tls_key", s->tls_key_file}};
    for (size_t i = 0; i < 2; i++)
        if (files[i][1][0] && access(files[i][1], R_OK) != 0)
            return pay_error_set(err, PAY_ERR_CONFIG_INVALID, files[i][0], "%s: cannot read %s",
                                 files[i][0], files[i][1]);
    struct sockaddr_storage addr;
    socklen_t len;
    bool loopback = false;
    enum pay_err e = pay_http_listen_parse(s->listen, &addr, &len, &loopback, err);
    if (e != PAY_ERR_OK)
        return e;
    if (!loopback && !s->tls_cert_file[0] && !s->insecure_http)
        return pay_error_set(err, PAY_ERR_INSECURE_LISTEN, "listen",
                             "listen %s: %s (or --insecure-http)", s->listen,
                             pay_err_message(PAY_ERR_INSECURE_LISTEN));
    return PAY_ERR_OK;
}

void pay_server_settings_apply(const struct pay_server_settings *s, struct pay_http_config *cfg)
{
    enum pay_log_level level = PAY_LOG_INFO;
    if (pay_log_level_parse(s->log_level, &level) == 0)
        pay_log_set_level(level);
    cfg->listen = s->listen;
    cfg->tls_cert_file = s->tls_cert_file[0] ? s->tls_cert_file : NULL;
    cfg->tls_key_file = s->tls_key_file[0] ? s->tls_key_file : NULL;
    cfg->insecure_http = s->insecure_http;
}
