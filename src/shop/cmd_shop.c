/* `paygate shop`: runs the demo shop (src/shop/shop.h) against a platform and, optionally,
 * the shop's own bank. Stops cleanly on SIGINT/SIGTERM. */
#include "cli/commands.h"
#include "shop/shop.h"
/* after errors.h: log.h defines PAY_ERROR, which errors.def also uses */
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct shop_opts {
    const char *data_dir, *listen, *public_url, *platform_url, *merchant_id, *key_file,
        *platform_key, *bank_url, *bank_name, *bank_merchant_dir, *bank_cert, *bank_ca, *bank_code,
        *web_root, *print_url_file;
};

static void shop_usage(void)
{
    printf("usage: paygate shop --data-dir DIR --platform-url URL --merchant-id ID\n"
           "                    --key-file FILE [--platform-key BASE64] [--listen ADDR:PORT]\n"
           "                    [--public-url URL] [--bank-url URL --bank-name NAME\n"
           "                     --bank-merchant-dir DIR --bank-cert FILE [--bank-ca FILE\n"
           "                     --bank-code CODE]] [--web-root DIR] [--print-url-file F]\n\n"
           "Runs the demo shop: catalogue, cart, checkout through the platform's cashier or the\n"
           "shop's own bank (the --bank-* options; DIR from `paygate bank merchant add --out`),\n"
           "order pages, my orders and /admin (loopback only) with refunds. Orders live in\n"
           "DIR/shop.db. `paygate demo` starts it with everything configured.\n");
}

static int shop_args(int argc, char **argv, struct shop_opts *o)
{
    static const char *const names[] = {
        "--data-dir",  "--listen",       "--public-url", "--platform-url", "--merchant-id",
        "--key-file",  "--platform-key", "--bank-url",   "--bank-name",    "--bank-merchant-dir",
        "--bank-cert", "--bank-ca",      "--bank-code",  "--web-root",     "--print-url-file"};
    const char **slots = (const char **)o;
    for (int i = 1; i < argc; i++) {
        size_t k = 0;
        while (k < sizeof names / sizeof names[0] && strcmp(argv[i], names[k]) != 0)
            k++;
        if (k == sizeof names / sizeof names[0] || i + 1 >= argc) {
            fprintf(stderr, "paygate shop: unknown option or missing value '%s'\n", argv[i]);
            return 2;
        }
        slots[k] = argv[++i];
    }
    if (!o->data_dir || !o->platform_url || !o->merchant_id || !o->key_file) {
        fprintf(stderr, "paygate shop: --data-dir, --platform-url, --merchant-id and --key-file "
                        "are required (see --help)\n");
        return 2;
    }
    return 0;
}

/* Opens the database and the payment clients. */
static int shop_open(struct shop *s, const struct shop_opts *o)
{
    char path[1024];
    mkdir(o->data_dir, 0700);
    snprintf(path, sizeof path, "%s/shop.db", o->data_dir);
    if (shop_db_open(s, path) != 0)
        return fprintf(stderr, "paygate shop: cannot open %s\n", path), -1;
    snprintf(path, sizeof path, "%s/notify-seen.db", o->data_dir);
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
        snprintf(s->bank_name, sizeof s->bank_name, "%s", o->bank_name ? o->bank_name : "the bank");
    }
    return 0;
}

static void shop_close(struct shop *s)
{
    paygate_bank_free(s->bank);
    paygate_client_free(s->platform);
    paygate_seen_db_close(s->seen);
    if (s->db)
        shop_db_close(s);
}

static int shop_serve(struct shop *s, const struct shop_opts *o)
{
    const char *origins[] = {o->platform_url, o->bank_url, NULL};
    struct pay_http_config cfg = {.name = "shop",
                                  .listen = o->listen ? o->listen : "127.0.0.1:8084",
                                  .web_root = o->web_root ? o->web_root : PAYGATE_SHOP_WEB_ROOT,
                                  .form_action_origins = origins};
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
    snprintf(s->public_url, sizeof s->public_url, "%s",
             o->public_url ? o->public_url : pay_http_server_url(srv));
    printf("shop listening on %s\n", pay_http_server_url(srv));
    fflush(stdout);
    if (o->print_url_file) {
        FILE *f = fopen(o->print_url_file, "w");
        if (f) {
            fputs(pay_http_server_url(srv), f);
            fclose(f);
        }
    }
    int sig = pay_http_signals_wait();
    PAY_INFO("shop.stopping", "signal=%d", sig);
    pay_http_server_free(srv);
    return 0;
}

int pay_cmd_shop(int argc, char **argv)
{
    if (pay_cli_wants_help(argc, argv)) {
        shop_usage();
        return 0;
    }
    struct shop_opts o = {0};
    if (shop_args(argc, argv, &o) != 0)
        return 2;
    pay_http_signals_block(); /* before any thread exists */
    struct shop s = {0};
    int rc = shop_open(&s, &o) == 0 ? shop_serve(&s, &o) : 1;
    shop_close(&s);
    return rc;
}
