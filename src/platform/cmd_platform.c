/* `paygate platform`: runs the payment platform server, and its admin subcommands
 * (`merchant add`, `keygen`). Offline subcommands open the database directly; SQLite's locking
 * makes them safe next to a running server. */
#include "cli/commands.h"
#include "platform/platform.h"

#include "core/money.h"
#include "crypto/crypto.h"
#include "http/server.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: paygate platform [--config FILE] [--check-config] [server options]\n"
        "       paygate platform merchant add --data-dir DIR --id ID --name NAME\n"
        "                        --public-key-file FILE --notify-host HOST [--notify-host HOST]\n"
        "                        [--fee-bp N] [--settle-bank CODE --settle-account NO]\n"
        "                        [--allow-private-hosts]\n"
        "       paygate platform merchant suspend|activate --data-dir DIR --id ID\n"
        "       paygate platform keygen --out FILE [--rsa]\n"
        "       paygate platform consumer add --data-dir DIR --login PHONE|EMAIL\n"
        "                        --password PW --pay-password NNNNNN\n"
        "       paygate platform wallet credit --data-dir DIR --consumer LOGIN\n"
        "                        --amount 100.00 [--currency CNY]   (SANDBOX funding)\n\n"
        "Runs the third-party payment platform (merchant API, cashier, notifications).\n"
        "It prints its URL once it listens and stops cleanly on SIGTERM.\n"
        "`merchant add` registers a merchant: the public key file holds an Ed25519 key\n"
        "(base64 or PEM) or an RSA key of 2048+ bits (PEM); a notify host that is a\n"
        "special-purpose IP literal (127.0.0.1, 10.x, 192.0.2.x, ...) needs\n"
        "--allow-private-hosts (sandboxes, as [notify] allow_private_hosts).\n"
        "`keygen` makes a merchant key pair: FILE (private, mode 0600) and FILE.pub,\n"
        "and prints the public key.\n\n"
        "Server options (override [server] of the INI file; see etc/platform.example.ini):\n"
        "  --config FILE          INI file: [server], [platform], [notify], [bank.<code>]\n"
        "  --check-config         check the file and the flags, then exit: 0 ok, 2 not\n"
        "%s",
        pay_server_settings_usage);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 16385);
    size_t n = buf ? fread(buf, 1, 16384, f) : 0;
    bool more = fgetc(f) != EOF;
    fclose(f);
    if (!buf || more) {
        free(buf);
        return NULL;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return buf;
}

/* Reads the key file and normalises it to what pf_merchants stores (the same rules as the
 * operator API's public_key). */
static enum pay_err key_from_file(const char *path, struct pay_platform_merchant *m,
                                  struct pay_error *err)
{
    char *text = read_file(path);
    if (!text)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "public_key", "cannot read %s", path);
    enum pay_err e = pay_platform_merchant_key_set(m, text, err);
    free(text);
    return e;
}

static int append_host(struct pay_platform_merchant *m, const char *h)
{
    size_t used = strlen(m->notify_hosts);
    int n =
        snprintf(m->notify_hosts + used, sizeof m->notify_hosts - used, "%s%s", used ? "," : "", h);
    return n > 0 && (size_t)n < sizeof m->notify_hosts - used ? 0 : -1;
}

static int merchant_add(int argc, char **argv)
{
    static const struct option opts[] = {{"data-dir", required_argument, NULL, 'd'},
                                         {"id", required_argument, NULL, 'i'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"public-key-file", required_argument, NULL, 'k'},
                                         {"notify-host", required_argument, NULL, 'h'},
                                         {"fee-bp", required_argument, NULL, 'f'},
                                         {"settle-bank", required_argument, NULL, 'b'},
                                         {"settle-account", required_argument, NULL, 'a'},
                                         {"allow-private-hosts", no_argument, NULL, 'p'},
                                         {NULL, 0, NULL, 0}};
    struct pay_platform_merchant m = {.fee_bp = 60};
    const char *dir = NULL, *keyfile = NULL;
    bool allow_private = false;
    int c, bad = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'i':
            snprintf(m.id, sizeof m.id, "%s", optarg);
            break;
        case 'n':
            snprintf(m.name, sizeof m.name, "%s", optarg);
            break;
        case 'k':
            keyfile = optarg;
            break;
        case 'h':
            bad |= append_host(&m, optarg);
            break;
        case 'f':
            m.fee_bp = strtoll(optarg, &end, 10);
            bad |= (!*optarg || *end) ? -1 : 0;
            break;
        case 'b':
            snprintf(m.settle_bank, sizeof m.settle_bank, "%s", optarg);
            break;
        case 'a':
            snprintf(m.settle_account, sizeof m.settle_account, "%s", optarg);
            break;
        case 'p':
            allow_private = true;
            break;
        default:
            bad = -1;
        }
    }
    if (bad || !dir || !keyfile || optind != argc) {
        usage(stderr);
        return 2;
    }
    struct pay_error err = {0};
    if (pay_crypto_init() != 0 || key_from_file(keyfile, &m, &err) != PAY_ERR_OK) {
        fprintf(stderr, "paygate platform: %s: %s\n", keyfile,
                err.detail[0] ? err.detail : "not an Ed25519 or RSA public key");
        pay_platform_merchant_fini(&m);
        return 1;
    }
    struct pay_platform *p = NULL;
    enum pay_err e = pay_platform_open_offline(dir, &p, &err);
    if (e == PAY_ERR_OK) {
        p->set.allow_private_hosts = allow_private; /* as [notify] allow_private_hosts */
        e = pay_platform_merchant_add(p, &m, &err);
    }
    pay_platform_close(p);
    pay_platform_merchant_fini(&m);
    if (e != PAY_ERR_OK) {
        fprintf(stderr, "paygate platform: %s %s: %s\n", pay_err_name(e), err.field,
                err.detail[0] ? err.detail : pay_err_message(e));
        return 1;
    }
    printf("merchant %s added\n", m.id);
    return 0;
}

static int keygen(int argc, char **argv)
{
    const char *out = NULL;
    bool rsa = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--rsa") == 0)
            rsa = true;
        else
            out = NULL, i = argc;
    }
    if (!out || pay_crypto_init() != 0) {
        usage(stderr);
        return 2;
    }
    char pub[1024];
    snprintf(pub, sizeof pub, "%s.pub", out);
    if (!rsa) {
        struct pay_ed25519_key k;
        pay_ed25519_generate(&k);
        char text[PAY_ED25519_KEY_TEXT_LEN];
        pay_ed25519_pk_to_text(text, k.pk);
        FILE *f = pay_ed25519_key_save(out, &k) == 0 ? fopen(pub, "w") : NULL;
        pay_ed25519_key_fini(&k);
        if (!f || fprintf(f, "%s\n", text) < 0 || fclose(f) != 0) {
            fprintf(stderr, "paygate platform: cannot write %s\n", out);
            return 1;
        }
        printf("%s\n", text);
        return 0;
    }
    struct pay_rsa_key *k = NULL;
    char *pem = NULL;
    int rc = pay_rsa_generate(2048, &k) == 0 && pay_rsa_key_save(out, k, 0) == 0 &&
                     pay_rsa_key_save(pub, k, 1) == 0 && (pem = pay_rsa_public_pem(k))
                 ? 0
                 : 1;
    if (pem)
        fputs(pem, stdout);
    free(pem);
    pay_rsa_key_free(k);
    if (rc)
        fprintf(stderr, "paygate platform: cannot write %s\n", out);
    return rc;
}

/* --name value pairs into vals[] by position of names[]; 0, or -1 on anything else. */
static int simple_opts(int argc, char **argv, const char *const *names, const char **vals)
{
    for (int i = 1; i < argc; i++) {
        int k = -1;
        for (int j = 0; names[j] && k < 0; j++)
            if (strcmp(argv[i], names[j]) == 0)
                k = j;
        if (k < 0 || i + 1 >= argc)
            return -1;
        vals[k] = argv[++i];
    }
    return 0;
}

static int report(enum pay_err e, const struct pay_error *err)
{
    if (e == PAY_ERR_OK)
        return 0;
    fprintf(stderr, "paygate platform: %s %s: %s\n", pay_err_name(e), err->field,
            err->detail[0] ? err->detail : pay_err_message(e));
    return 1;
}

/* `merchant suspend|activate --data-dir D --id M` */
static int merchant_status(int argc, char **argv, const char *status)
{
    static const char *const names[] = {"--data-dir", "--id", NULL};
    const char *v[2] = {NULL, NULL};
    if (simple_opts(argc, argv, names, v) != 0 || !v[0] || !v[1]) {
        usage(stderr);
        return 2;
    }
    struct pay_platform *p = NULL;
    struct pay_error err = {0};
    enum pay_err e = pay_platform_open_offline(v[0], &p, &err);
    if (e == PAY_ERR_OK)
        e = pay_platform_merchant_set_status(p, v[1], status, &err);
    pay_platform_close(p);
    if (e == PAY_ERR_OK)
        printf("merchant %s is %s\n", v[1], status);
    return report(e, &err);
}

/* `consumer add --data-dir D --login L --password P --pay-password NNNNNN` */
static int consumer_add(int argc, char **argv)
{
    static const char *const names[] = {"--data-dir", "--login", "--password", "--pay-password",
                                        NULL};
    const char *v[4] = {NULL};
    if (simple_opts(argc, argv, names, v) != 0 || !v[0] || !v[1] || !v[2] || !v[3]) {
        usage(stderr);
        return 2;
    }
    struct pay_platform *p = NULL;
    struct pay_error err = {0};
    char id[PAY_ID_MAX];
    enum pay_err e = pay_platform_open_offline(v[0], &p, &err);
    if (e == PAY_ERR_OK)
        e = pay_platform_consumer_add(p, v[1], v[2], v[3], id, &err);
    pay_platform_close(p);
    if (e == PAY_ERR_OK)
        printf("consumer %s added as %s\n", v[1], id);
    return report(e, &err);
}

/* `wallet credit --data-dir D --consumer LOGIN --amount 100.00 [--currency CNY]`: SANDBOX
 * funding, booked from pf.sandbox.<cur>. */
static int wallet_credit(int argc, char **argv)
{
    static const char *const names[] = {"--data-dir", "--consumer", "--amount", "--currency", NULL};
    const char *v[4] = {NULL, NULL, NULL, "CNY"};
    if (simple_opts(argc, argv, names, v) != 0 || !v[0] || !v[1] || !v[2]) {
        usage(stderr);
        return 2;
    }
    struct pay_platform *p = NULL;
    struct pay_error err = {0};
    char id[PAY_ID_MAX];
    int64_t minor = 0;
    /* > 0 and at most PAY_AMOUNT_MAX_MINOR, like every amount that moves money */
    enum pay_err e = pay_money_parse_amount(v[2], v[3], "amount", &minor, &err);
    if (e == PAY_ERR_OK)
        e = pay_platform_open_offline(v[0], &p, &err);
    if (e == PAY_ERR_OK)
        e = pay_platform_consumer_find(p, v[1], id, &err);
    if (e == PAY_ERR_OK)
        e = pay_platform_wallet_credit_sandbox(p, id, minor, v[3], &err);
    pay_platform_close(p);
    if (e == PAY_ERR_OK)
        printf("sandbox credit: %s %s to %s\n", v[2], v[3], v[1]);
    return report(e, &err);
}

/* The [server] flags over what the INI file said, then the checks of the final values (log
 * level, TLS files, listen address, plain HTTP off loopback), before any file is opened.
 * 0, or 2 after printing why. */
static int apply_flags(struct pay_server_settings *srv, int argc, char **argv)
{
    for (int i = 1; i < argc;) {
        int used = pay_server_settings_flag(srv, argc, argv, i);
        if (used == 0 && strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            used = 2;
        else if (used == 0 && strcmp(argv[i], "--check-config") == 0)
            used = 1;
        if (used <= 0) {
            fprintf(stderr, "paygate platform: unknown option or missing value '%s'\n", argv[i]);
            return 2;
        }
        i += used;
    }
    struct pay_error err = {0};
    enum pay_err e = pay_server_settings_check(srv, &err);
    if (e != PAY_ERR_OK) {
        fprintf(stderr, "paygate platform: %s %s: %s\n", pay_err_name(e), err.field,
                err.detail[0] ? err.detail : pay_err_message(e));
        return 2;
    }
    return 0;
}

/* Settings from --config FILE (wherever it stands), then the flags in order. 0, or 2. */
static int load_settings(int argc, char **argv, struct pay_platform_settings *s, bool *check)
{
    const char *config = NULL;
    *check = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[++i];
        else if (strcmp(argv[i], "--check-config") == 0)
            *check = true;
    }
    struct pay_error err = {0};
    enum pay_err e = pay_platform_settings_load(s, config, &err);
    if (e != PAY_ERR_OK) {
        fprintf(stderr, "paygate platform: %s %s: %s\n", pay_err_name(e), err.field,
                err.detail[0] ? err.detail : pay_err_message(e));
        return 2;
    }
    if (apply_flags(&s->server, argc, argv) != 0) {
        pay_platform_settings_fini(s);
        return 2;
    }
    if (*check)
        printf("paygate platform: %s: configuration ok\n", config ? config : "(no --config)");
    return 0;
}

static int serve(int argc, char **argv)
{
    struct pay_platform_settings s;
    bool check = false;
    if (load_settings(argc, argv, &s, &check) != 0)
        return 2;
    if (check) {
        pay_platform_settings_fini(&s);
        return 0;
    }
    pay_http_signals_block();
    struct pay_error err = {0};
    struct pay_platform *p = NULL;
    enum pay_err e = pay_platform_open(&s, &p, &err); /* p owns s.banks from here */
    if (e == PAY_ERR_OK)
        e = pay_platform_start(p, &err);
    if (e != PAY_ERR_OK) {
        fprintf(stderr, "paygate platform: %s %s: %s\n", pay_err_name(e), err.field,
                err.detail[0] ? err.detail : pay_err_message(e));
        pay_platform_close(p);
        return 1;
    }
    printf("platform listening on %s\n", pay_http_server_url(p->http));
    fflush(stdout);
    int sig = pay_http_signals_wait();
    PAY_INFO("platform.stopping", "signal=%d", sig);
    pay_platform_close(p);
    return 0;
}

int pay_cmd_platform(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "merchant") == 0 && strcmp(argv[2], "add") == 0) {
        if (pay_cli_wants_help(argc, argv)) {
            usage(stdout);
            return 0;
        }
        return merchant_add(argc - 2, argv + 2);
    }
    if (pay_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "merchant") == 0 && strcmp(argv[2], "suspend") == 0)
        return merchant_status(argc - 2, argv + 2, "suspended");
    if (argc >= 3 && strcmp(argv[1], "merchant") == 0 && strcmp(argv[2], "activate") == 0)
        return merchant_status(argc - 2, argv + 2, "active");
    if (argc >= 3 && strcmp(argv[1], "consumer") == 0 && strcmp(argv[2], "add") == 0)
        return consumer_add(argc - 2, argv + 2);
    if (argc >= 3 && strcmp(argv[1], "wallet") == 0 && strcmp(argv[2], "credit") == 0)
        return wallet_credit(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
        return keygen(argc - 1, argv + 1);
    return serve(argc, argv);
}
