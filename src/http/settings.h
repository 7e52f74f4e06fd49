/* The [server] section that every paygate server (bank, platform, shop) reads from its INI
 * file, and the matching command-line flags: where to listen, TLS, the public URL, the data
 * folder and the log level. One place, so the servers cannot drift apart. */
#ifndef PAY_HTTP_SETTINGS_H
#define PAY_HTTP_SETTINGS_H

#include "core/config.h"
#include "core/errors.h"
#include "core/limits.h"
#include "http/server.h"

#include <stdbool.h>

struct pay_server_settings {
    char listen[128];                 /* host:port; port 0 picks a free one */
    char public_url[PAY_URL_MAX + 1]; /* "" means the bound URL */
    char data_dir[512];               /* database, keys, logs */
    char tls_cert_file[512];          /* both set: HTTPS only */
    char tls_key_file[512];
    bool insecure_http; /* plain HTTP on a non-loopback address */
    char log_level[8];  /* debug, info, warn, error */
};

/* Defaults: listen, data_dir as given; no TLS; info. */
void pay_server_settings_init(struct pay_server_settings *s, const char *listen,
                              const char *data_dir);

/* Reads [server] (listen, public_url, data_dir, tls_cert, tls_key, insecure_http, log_level)
 * over what *s holds; an unknown key, a bad boolean or level, or only one of the TLS files is
 * CONFIG_INVALID naming the file, line and key. cfg may be NULL (nothing to read). */
enum pay_err pay_server_settings_read(struct pay_server_settings *s, const struct pay_config *cfg,
                                      struct pay_error *err);

/* Takes one command-line option if it is a [server] one: --listen, --public-url, --data-dir,
 * --tls-cert, --tls-key, --insecure-http, --log-level. Returns the number of argv entries
 * used (1 or 2), 0 when the option is not one of these, -1 when its value is missing. */
int pay_server_settings_flag(struct pay_server_settings *s, int argc, char **argv, int i);

/* Everything about *s that can be checked without starting: the log level, TLS files given
 * together and readable, the listen address well-formed, and no plain HTTP on a non-loopback
 * address unless insecure_http (INSECURE_LISTEN). The field names the key. */
enum pay_err pay_server_settings_check(const struct pay_server_settings *s, struct pay_error *err);

/* The usage lines of those flags, for --help texts. */
extern const char pay_server_settings_usage[];

/* Applies the log level and fills the listen and TLS fields of an http config (pointers into
 * s, which must outlive cfg). */
void pay_server_settings_apply(const struct pay_server_settings *s, struct pay_http_config *cfg);

#endif
