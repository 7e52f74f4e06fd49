/* `paygate shop`: runs the demo shop (src/shop/shop.h) against a platform and, optionally,
 * the shop's own bank. Stops cleanly on SIGINT/SIGTERM. */
#include "shop/shop.h"
#include "shop/shop_internal.h"
#include "core/buf.h"

#include "core/cli_opts.h"

#include "core/config.h"
#include "crypto/crypto.h"
#include "http/settings.h"
/* after errors.h: log.h defines PAY_ERROR, which errors.def also uses */
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The shop's own settings: [shop] keys of the INI file, or the matching --flags. The
 * pointers point into argv or into cfg, which lives as long as the opts. */
struct shop_opts {
    const char *platform_url, *merchant_id, *key_file, *platform_key, *bank_url, *bank_name,
        *bank_merchant_dir, *bank_cert, *bank_ca, *bank_code, *web_root, *bank_name_en, *staff_from;
    struct pay_server_settings srv; /* [server]: listen, TLS, public URL, data dir, log */
    struct pay_config *cfg;         /* --config FILE, or NULL */
    const char *config;             /* its path */
    bool check;                     /* --check-config */
};

/* [shop] keys, in the order of the pointers of struct shop_opts. */
static const char *const shop_keys[] = {
    "platform_url",      "merchant_id", "key_file", "platform_key", "bank_url", "bank_name",
    "bank_merchant_dir", "bank_cert",   "bank_ca",  "bank_code",    "web_root", "bank_name_en",
    "staff_from",        NULL};

static void shop_usage(const struct pay_cli_opt *opts)
{
    printf("usage: paygate shop [--config FILE] [--check-config] [options] [server options]\n\n"
           "Runs the demo shop: catalogue, cart, checkout through the platform's cashier or the\n"
           "shop's own bank (the --bank-* options), order pages, my orders, and behind the staff\n"
           "login (/admin/login) the order admin with refunds, the courier page and the books.\n"
           "Orders live in DIR/shop.db. A shop without staff makes login admin on first start\n"
           "(password in DIR/shop-admin.txt); `paygate shop staff --help` sets passwords and\n"
           "adds couriers. `paygate demo` starts it with\n"
           "everything configured. Each option overrides its [shop] key of the INI file\n"
           "(--platform-url is platform_url, and so on); --data-dir (or [server] data_dir),\n"
           "--platform-url, --merchant-id and --key-file are required.\n\n"
           "Options:\n");
    pay_cli_usage(stdout, opts);
    printf("\nServer options (override [server]; default listen 127.0.0.1:8084):\n%s",
           pay_server_settings_usage);
}

/* Reads FILE's [server] and [shop] into o. 0, or 2 after printing why. */
static int shop_read_config(struct shop_opts *o, const char *path)
{
    struct pay_error err = {0};
    static const char *const sections[] = {"server", "shop", NULL};
    enum pay_err e = pay_config_load(path, &o->cfg, &err);
    if (e == PAY_ERR_OK && (e = pay_config_check_sections(o->cfg, sections, &err)) == PAY_ERR_OK &&
        (e = pay_server_settings_read(&o->srv, o->cfg, &err)) == PAY_ERR_OK)
        e = pay_config_check_keys(o->cfg, "shop", shop_keys, &err);
    const char **slots = (const char **)o;
    for (size_t k = 0; e == PAY_ERR_OK && shop_keys[k]; k++)
        if ((slots[k] = pay_config_get(o->cfg, "shop", shop_keys[k], NULL)) && !slots[k][0])
            slots[k] = NULL; /* "key =" is the default */
    for (size_t k = 0; e == PAY_ERR_OK && k < 2; k++) {
        const char *key = k ? "bank_url" : "platform_url", *v = slots[k ? 4 : 0];
        if (v && strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
            e = pay_config_error(o->cfg, "shop", key, &err, "not an http(s) URL");
    }
    if (e == PAY_ERR_OK)
        return 0;
    fprintf(stderr, "paygate shop: %s %s: %s\n", pay_err_name(e), err.field,
            err.detail[0] ? err.detail : pay_err_message(e));
    return 2;
}

/* The [server] flags, for pay_cli_parse. */
static int server_flag(void *ctx, int argc, char **argv, int i)
{
    return pay_server_settings_flag(&((struct shop_opts *)ctx)->srv, argc, argv, i);
}

/* The checks of the final values (flags included), before any file is opened; a missing
 * setting is named with its flag and its key. */
static int shop_check(const struct shop_opts *o)
{
    struct pay_error err = {0};
    enum pay_err e = pay_server_settings_check(&o->srv, &err);
    if (e != PAY_ERR_OK) {
        fprintf(stderr, "paygate shop: %s %s: %s\n", pay_err_name(e), err.field,
                err.detail[0] ? err.detail : pay_err_message(e));
        return 2;
    }
    const struct {
        const char *value, *flag, *key;
    } required[] = {
        {o->srv.data_dir[0] ? o->srv.data_dir : NULL, "--data-dir", "[server] data_dir"},
        {o->platform_url, "--platform-url", "[shop] platform_url"},
        {o->merchant_id, "--merchant-id", "[shop] merchant_id"},
        {o->key_file, "--key-file", "[shop] key_file"}};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!required[i].value) {
            fprintf(stderr, "paygate shop: %s (or %s) is required (see --help)\n", required[i].flag,
                    required[i].key);
            return 2;
        }
    if (o->staff_from && strcmp(o->staff_from, "loopback") != 0 &&
        strcmp(o->staff_from, "any") != 0) {
        fprintf(stderr, "paygate shop: staff_from: loopback or any\n");
        return 2;
    }
    if (strlen(o->srv.public_url) >= sizeof((struct shop *)0)->public_url) {
        fprintf(stderr, "paygate shop: public_url: longer than 255 bytes\n");
        return 2;
    }
    return 0;
}

/* --config FILE first (wherever it stands), then the flags in order. 0, or 2. */
static int shop_args(int argc, char **argv, struct shop_opts *o, const struct pay_cli_opt *opts)
{
    pay_server_settings_init(&o->srv, "127.0.0.1:8084", NULL);
    o->srv.data_dir[0] = '\0'; /* no default: a shop's orders must not land somewhere odd */
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--config") == 0 && shop_read_config(o, argv[i + 1]))
            return 2;
    if (pay_cli_parse("shop", opts, argc, argv, 1, server_flag, o) != 0)
        return 2;
    return shop_check(o);
}

/* Opens the database and the payment clients. */
static int shop_open(struct shop *s, const struct shop_opts *o)
{
    char path[PAY_DATABASE_MAX + 1], shown[PAY_DATABASE_MAX + 1];
    struct pay_error err = {0};
    mkdir(o->srv.data_dir, 0700);
    if (pay_server_settings_database(&o->srv, "shop.db", path, sizeof path) != 0)
        return fprintf(stderr, "paygate shop: data_dir: path too long\n"), -1;
    pay_store_redact(path, shown, sizeof shown);
    if (shop_db_open(s, path, &err) != 0)
        return fprintf(stderr, "paygate shop: cannot open %s: %s %s\n", shown,
                       pay_err_name(err.code), err.detail),
               -1;
    s->staff_from_anywhere = o->staff_from && strcmp(o->staff_from, "any") == 0;
    if (shop_staff_first(s, o->srv.data_dir) != 0)
        return -1;
    if (!pay_str_copy(s->platform_url, sizeof s->platform_url, o->platform_url))
        return fprintf(stderr, "paygate shop: platform_url: longer than %zu bytes\n",
                       sizeof s->platform_url - 1),
               -1;
    snprintf(path, sizeof path, "%s/notify-seen.db", o->srv.data_dir);
    s->seen = paygate_seen_db_open(path);
    paygate_error e = {0};
    paygate_config pc = {.platform_url = o->platform_url,
                         .merchant_id = o->merchant_id,
                         .key_file = o->key_file,
                         .platform_public_key = o->platform_key,
                         .allow_loopback = 1};
    s->platform = paygate_client_new(&pc, &e);
    if (!s->seen || !s->platform)
        return fprintf(stderr, "paygate shop: platform client: %s %s\n", e.code, e.message), -1;
    if (o->bank_url) {
        paygate_bank_config bc = {.gateway_url = o->bank_url,
                                  .merchant_dir = o->bank_merchant_dir,
                                  .bank_cert_file = o->bank_cert,
                                  .ca_file = o->bank_ca,
                                  .bank_code = o->bank_code,
                                  .allow_loopback = 1};
        s->bank = paygate_bank_new(&bc, &e);
        if (!s->bank)
            return fprintf(stderr, "paygate shop: bank: %s %s\n", e.code, e.message), -1;
        if (!pay_str_copy(s->bank_name, sizeof s->bank_name, o->bank_name) ||
            !pay_str_copy(s->bank_name_en, sizeof s->bank_name_en, o->bank_name_en))
            return fprintf(stderr, "paygate shop: a bank name is longer than %zu bytes\n",
                           sizeof s->bank_name - 1),
                   -1;
    }
    return 0;
}

static void shop_close(struct shop *s)
{
    paygate_bank_free(s->bank);
    paygate_client_free(s->platform);
    paygate_seen_db_close(s->seen);
    if (s->store)
        shop_db_close(s);
}

enum pay_err shop_add_routes(struct shop *s, struct pay_http_server *srv, struct pay_error *err)
{
    enum pay_err (*const tables[])(struct shop *, struct pay_http_server *, struct pay_error *) = {
        shop_add_login_routes, shop_add_page_routes, shop_add_pay_routes, shop_add_admin_routes,
        shop_add_courier_routes};
    enum pay_err e = PAY_ERR_OK;
    for (size_t i = 0; i < sizeof tables / sizeof tables[0] && e == PAY_ERR_OK; i++)
        e = tables[i](s, srv, err);
    return e;
}

static int shop_serve(struct shop *s, const struct shop_opts *o)
{
    const char *origins[] = {o->platform_url, o->bank_url, NULL};
    struct pay_http_config cfg = {.name = "shop",
                                  .web_root = o->web_root ? o->web_root : PAYGATE_SHOP_WEB_ROOT,
                                  .form_action_origins = origins};
    pay_server_settings_apply(&o->srv, &cfg);
    struct pay_http_server *srv = NULL;
    struct pay_error err = {0};
    if (pay_http_server_new(&cfg, &srv, &err) != PAY_ERR_OK ||
        shop_add_routes(s, srv, &err) != PAY_ERR_OK ||
        pay_http_server_start(srv, &err) != PAY_ERR_OK) {
        fprintf(stderr, "paygate shop: %s: %s\n", pay_err_name(err.code),
                err.detail[0] ? err.detail : pay_err_message(err.code));
        pay_http_server_free(srv);
        return 1;
    }
    /* shop_check keeps a configured public_url within the field */
    snprintf(s->public_url, sizeof s->public_url, "%.*s", (int)sizeof s->public_url - 1,
             o->srv.public_url[0] ? o->srv.public_url : pay_http_server_url(srv));
    printf("shop listening on %s\n", pay_http_server_url(srv));
    fflush(stdout);
    if (pay_server_settings_announce(&o->srv, pay_http_server_url(srv), &err) != PAY_ERR_OK) {
        fprintf(stderr, "paygate shop: %s: %s\n", pay_err_name(err.code), err.detail);
        pay_http_server_free(srv);
        return 1;
    }
    int sig = pay_http_signals_wait();
    PAY_INFO("shop.stopping", "signal=%d", sig);
    pay_http_server_free(srv);
    return 0;
}

int pay_cmd_shop(int argc, char **argv)
{
    struct shop_opts o = {0};
    /* each value option but the first is the [shop] key of the same name */
    const struct pay_cli_opt opts[] = {
        PAY_CLI_OPT("--config", "FILE", "INI file with [server] and [shop] (etc/shop.example.ini)",
                    &o.config),
        PAY_CLI_SWITCH("--check-config", "check the file and the flags, then exit: 0 ok, 2 not",
                       &o.check),
        PAY_CLI_OPT("--platform-url", "URL", "the platform's base URL", &o.platform_url),
        PAY_CLI_OPT("--merchant-id", "ID", "the shop's merchant id at the platform",
                    &o.merchant_id),
        PAY_CLI_OPT("--key-file", "FILE", "the shop's private signing key", &o.key_file),
        PAY_CLI_OPT("--platform-key", "BASE64", "the platform's public key (default: fetched)",
                    &o.platform_key),
        PAY_CLI_OPT("--bank-url", "URL", "the shop's own bank: offers direct card payment",
                    &o.bank_url),
        PAY_CLI_OPT("--bank-name", "NAME", "that bank's name on the checkout page", &o.bank_name),
        PAY_CLI_OPT("--bank-name-en", "NAME", "its name on English pages (default: --bank-name)",
                    &o.bank_name_en),
        PAY_CLI_OPT("--bank-merchant-dir", "DIR", "the shop's contract (bank merchant add --out)",
                    &o.bank_merchant_dir),
        PAY_CLI_OPT("--bank-cert", "FILE", "the bank's signing certificate", &o.bank_cert),
        PAY_CLI_OPT("--bank-ca", "FILE", "the bank's CA certificate", &o.bank_ca),
        PAY_CLI_OPT("--bank-code", "CODE", "the bank's code (keyId of its signatures)",
                    &o.bank_code),
        PAY_CLI_OPT("--web-root", "DIR", "templates and static files (default: the source tree)",
                    &o.web_root),
        PAY_CLI_OPT("--staff-from", "WHO",
                    "loopback (default): staff pages for loopback clients only; any: all",
                    &o.staff_from),
        PAY_CLI_END};
    if (argc > 1 && strcmp(argv[1], "staff") == 0)
        return shop_cmd_staff(argc - 1, argv + 1);
    if (pay_cli_wants_help(argc, argv)) {
        shop_usage(opts);
        return 0;
    }
    int bad = shop_args(argc, argv, &o, opts);
    if (bad || o.check) {
        if (!bad)
            pay_cli_config_ok("shop", o.config);
        pay_config_free(o.cfg);
        return bad ? 2 : 0;
    }
    if (pay_crypto_init() != 0) {
        fprintf(stderr, "paygate shop: the crypto library did not start\n");
        pay_config_free(o.cfg);
        return 1;
    }
    pay_http_signals_block(); /* before any thread exists */
    struct shop s = {0};
    int rc = shop_open(&s, &o) == 0 ? shop_serve(&s, &o) : 1;
    shop_close(&s);
    pay_config_free(o.cfg);
    return rc;
}
