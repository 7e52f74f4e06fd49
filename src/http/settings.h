/* The [server] section that every paygate server (bank, platform, shop) reads from its INI
 * file, and the matching command-line flags: where to listen, TLS and its priorities, the
 * public URL, the data folder, the database, the log level, and the connection limits and
 * timeouts that keep slow clients from taking the server down. One place, so the servers
 * cannot drift apart. */
#ifndef PAY_HTTP_SETTINGS_H
#define PAY_HTTP_SETTINGS_H

#include "core/config.h"
#include "core/errors.h"
#include "core/limits.h"
#include "http/server.h"

#include <stdbool.h>
#include <stdint.h>

struct pay_server_settings {
    char listen[128];                 /* host:port; port 0 picks a free one */
    char public_url[PAY_URL_MAX + 1]; /* "" means the bound URL */
    char data_dir[512];               /* database (unless `database`), keys, logs */
    /* "": the SQLite file <data_dir>/<server>.db; else a path of an SQLite file, or a
     * postgresql:// (postgres://) URL of a PostgreSQL database (docs/store.md). */
    char database[PAY_DATABASE_MAX + 1];
    char tls_cert_file[512]; /* both set: HTTPS only */
    char tls_key_file[512];
    bool insecure_http; /* plain HTTP on a non-loopback address */
    bool fake_clock;    /* tests: business time is a test clock moved by POST /sandbox/clock */
    char log_level[8];  /* debug, info, warn, error */
    /* docs/http.md, "Connections and slow clients"; defaults from core/limits.h */
    int64_t max_connections;        /* PAY_HTTP_CONNECTIONS_MAX */
    int64_t max_connections_per_ip; /* PAY_HTTP_CONNECTIONS_PER_IP_MAX */
    int64_t read_timeout_ms;        /* PAY_HTTP_READ_TIMEOUT_MS */
    int64_t idle_timeout_ms;        /* PAY_HTTP_CONNECTION_TIMEOUT_S, whole seconds */
    int64_t threads;                /* event threads, 0..PAY_HTTP_THREADS_MAX; 0: one per CPU */
    char tls_priorities[PAY_HTTP_TLS_PRIORITIES_MAX + 1]; /* PAY_HTTP_TLS_PRIORITIES */
    char print_url_file[512]; /* "" = none; see pay_server_settings_announce */
    char flag_error[160];     /* a flag with a bad value, reported by _check */
    char flag_error_key[32];  /* and its key */
    char language[16];        /* default language of pages, "zh-CN"; "": the built-in default */
    char time_zone[64];       /* zone pages show times in, "Asia/Shanghai"; "": the default */
};

/* Defaults: listen, data_dir as given; no TLS; info; the limits of core/limits.h. */
void pay_server_settings_init(struct pay_server_settings *s, const char *listen,
                              const char *data_dir);

/* Reads [server] (listen, public_url, data_dir, database, tls_cert, tls_key, tls_priorities,
 * insecure_http, fake_clock, log_level, max_connections, max_connections_per_ip, read_timeout,
 * idle_timeout, threads, language, time_zone, print_url_file) over what *s holds; an unknown key,
 * a bad boolean, level, number, duration or priority string, or only one of the TLS files is
 * CONFIG_INVALID naming the file, line and key. cfg may be NULL (nothing to read). */
enum pay_err pay_server_settings_read(struct pay_server_settings *s, const struct pay_config *cfg,
                                      struct pay_error *err);

/* Takes one command-line option if it is a [server] one: --listen, --public-url, --data-dir,
 * --database, --tls-cert, --tls-key, --tls-priorities, --insecure-http, --fake-clock,
 * --log-level, --max-connections, --max-connections-per-ip, --read-timeout, --idle-timeout,
 * --threads, --language, --time-zone, --print-url-file. Returns the number of argv entries used
 * (1 or 2), 0 when the option is not one of these, -1 when its value is missing or too long. A
 * bad number or duration is kept in flag_error for _check. */
int pay_server_settings_flag(struct pay_server_settings *s, int argc, char **argv, int i);

/* Everything about *s that can be checked without starting: the log level, the language tag's
 * form and the time zone (loaded from tzdata), TLS files given together and readable, the TLS
 * priorities readable by GnuTLS, the limits in range, the listen address well-formed, no plain
 * HTTP on a non-loopback address unless insecure_http (INSECURE_LISTEN), the test clock only
 * on a loopback address (CONFIG_INVALID, "fake_clock": a server anyone can reach must not let
 * anyone move its time), and a database URL of a known scheme. The field names the key. */
enum pay_err pay_server_settings_check(const struct pay_server_settings *s, struct pay_error *err);

/* The database the server opens: `database`, or <data_dir>/<file> (its SQLite default, e.g.
 * "bank.db"). Into out (n bytes); -1 when it does not fit. Pass it to pay_store_open; log it
 * only through pay_store_redact (a URL may hold a password). */
int pay_server_settings_database(const struct pay_server_settings *s, const char *file, char *out,
                                 size_t n);

/* The usage lines of those flags, for --help texts. */
extern const char pay_server_settings_usage[];

/* The URL others reach the server at: public_url when set, else bound_url (the server's
 * pay_http_server_url). Points into s or is bound_url. */
const char *pay_server_settings_url(const struct pay_server_settings *s, const char *bound_url);

/* Once the server listens: writes bound_url (the server's pay_http_server_url; no newline) to
 * print_url_file, when set, atomically (pay_file_write; mode 0600, like the rest of a data
 * folder), so whoever started the server (a test, `paygate demo`) learns the port it really
 * bound (port 0) and that this process, not another one on the same port, is the one
 * answering there. The bound URL, not public_url: the file says where this very process
 * listens. CONFIG_INVALID naming print_url_file when it cannot be written. */
enum pay_err pay_server_settings_announce(const struct pay_server_settings *s,
                                          const char *bound_url, struct pay_error *err);

/* Applies the log level, switches the process to the test clock when fake_clock (kept in
 * <data_dir>/fake-clock across restarts; a loud warning in the log; /healthz says
 * "clock":"fake" and /sandbox/clock appears), and fills the listen, TLS, limit, language and
 * zone fields of an http config (pointers into s, which must outlive cfg). Call it before the
 * server is created. */
void pay_server_settings_apply(const struct pay_server_settings *s, struct pay_http_config *cfg);

#endif
