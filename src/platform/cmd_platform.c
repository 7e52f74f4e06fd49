/* `paygate platform`: runs the payment platform server, and its admin subcommands
 * (`merchant add`, `keygen`). Offline subcommands open the database directly; SQLite's locking
 * makes them safe next to a running server. */
#include "platform/platform.h"
#include "platform/portal.h"
#include "platform/connector.h"
#include "platform/recon.h"

#include "core/buf.h"
#include "core/cli_opts.h"

#include "core/money.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "http/server.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* The subcommands of `paygate platform` (each has its own --help); without one, it serves. The
 * offline ones take --database DB to open the database the server uses. */
static const char platform_commands[] =
    "usage: paygate platform [--config FILE] [--check-config] [server options]\n"
    "       paygate platform merchant add --data-dir DIR [--database DB] --id ID --name NAME\n"
    "                        --public-key-file FILE [--notify-host HOST]... [--fee-bp N]\n"
    "                        [--settle-bank CODE --settle-account NO] [--allow-private-hosts]\n"
    "       paygate platform merchant suspend|activate --data-dir DIR [--database DB] --id ID\n"
    "       paygate platform keygen --out FILE [--rsa]\n"
    "       paygate platform member add --data-dir DIR [--database DB] --merchant ID\n"
    "                        --login EMAIL --role owner|finance|support --password PW (portal)\n"
    "       paygate platform consumer add --data-dir DIR [--database DB] --login PHONE|EMAIL\n"
    "                        --password PW --pay-password NNNNNN\n"
    "       paygate platform wallet credit --data-dir DIR [--database DB] --consumer LOGIN\n"
    "                        --amount 100.00 [--currency CNY]   (SANDBOX funding)\n"
    "       paygate platform reconcile --config FILE --date YYYY-MM-DD [--bank CODE]\n"
    "       paygate platform chain return --config FILE --data-dir DIR [--database DB]\n"
    "                        --key-file FILE   (returns held tokens on chain, docs/chain.md)\n"
    "       paygate platform chain anchor --config FILE --data-dir DIR [--database DB]\n"
    "                        (anchors the payment log's newest head now, docs/receipts.md)\n"
    "  (`paygate platform <command> --help` describes each command's options)\n\n";

/* --database of the offline commands */
#define PF_DATABASE_HELP                                                                           \
    "the database the server uses, as its [server] database (a postgresql:// URL);"                \
    " default DIR/platform.db"

static void serve_usage(const struct pay_cli_opt *opts)
{
    printf("%s"
           "Runs the third-party payment platform (merchant API, cashier, wallets,\n"
           "notifications). It prints its URL once it listens and stops cleanly on SIGTERM.\n\n"
           "Options:\n",
           platform_commands);
    pay_cli_usage(stdout, opts);
    printf("\nServer options (override [server] of the INI file; see "
           "etc/platform.example.ini):\n%s",
           pay_server_settings_usage);
}

/* --help of an offline command: "paygate platform WORDS" + synopsis, what it does, options. */
static int command_usage(const char *words, const char *about, const struct pay_cli_opt *opts)
{
    printf("usage: paygate platform %s [options]\n\n%s\nOptions:\n", words, about);
    pay_cli_usage(stdout, opts);
    return 0;
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

/* --notify-host, repeatable: one more host in the merchant's list. */
static int add_notify_host(void *ctx, const char *host)
{
    if (append_host(ctx, host) == 0)
        return 0;
    fprintf(stderr, "paygate platform merchant add: --notify-host: too many hosts\n");
    return -1;
}

/* Copies the value of --opt (NULL: "") into dst; -1, saying so, when it does not fit (never
 * cut: a cut id could be another valid one). */
static int opt_copy(char *dst, size_t size, const char *opt, const char *value)
{
    if (pay_str_copy(dst, size, value))
        return 0;
    fprintf(stderr, "paygate platform merchant add: --%s is too long (at most %zu bytes)\n", opt,
            size - 1);
    return -1;
}

/* --fee-bp and --escrow-confirm (either NULL: the default) into m; -1, saying why, when one
 * does not parse. */
static int merchant_values(struct pay_platform_merchant *m, const char *fee, const char *confirm)
{
    char *end = NULL;
    if (fee && ((m->fee_bp = strtoll(fee, &end, 10)), !*fee || *end)) {
        fprintf(stderr, "paygate platform merchant add: --fee-bp '%s': a whole number\n", fee);
        return -1;
    }
    struct pay_error perr = {0};
    if (confirm &&
        pay_time_parse_duration_ms(confirm, &m->escrow_confirm_ms, &perr) != PAY_ERR_OK) {
        fprintf(stderr, "paygate platform merchant add: --escrow-confirm '%s': a duration (10d)\n",
                confirm);
        return -1;
    }
    return 0;
}

/* A fee term given in yuan ("0.10", "0"): its minor units into *out; absent: untouched. 0, or
 * -1 after saying why. */
static int fee_amount(const char *cmd, const char *flag, const char *text, int64_t *out)
{
    struct pay_error err = {0};
    if (!text)
        return 0;
    if (pay_money_parse(text, "CNY", out, &err) == PAY_ERR_OK)
        return 0;
    fprintf(stderr, "paygate platform %s: %s '%s': %s\n", cmd, flag, text,
            err.detail[0] ? err.detail : "an amount such as 0.10");
    return -1;
}

static int merchant_add(int argc, char **argv)
{
    struct pay_platform_merchant m = {.fee_bp = 60, .settle_days = 1};
    const char *dir = NULL, *keyfile = NULL, *id = NULL, *name = NULL, *fee = NULL, *bank = NULL,
               *acct = NULL, *confirm = NULL, *database = NULL, *fee_min = NULL, *fee_cap = NULL;
    bool allow_private = false;
    const struct pay_cli_opt opts[] = {
        PAY_CLI_REQ("--data-dir", "DIR", "the platform's data folder", &dir),
        PAY_CLI_OPT("--database", "DB", PF_DATABASE_HELP, &database),
        PAY_CLI_REQ("--id", "ID", "merchant id: 1-32 of a-z, 0-9 and _", &id),
        PAY_CLI_REQ("--name", "NAME", "the merchant's name, shown on the cashier", &name),
        PAY_CLI_REQ("--public-key-file", "FILE", "its Ed25519 (base64 or PEM) or RSA public key",
                    &keyfile),
        PAY_CLI_EACH("--notify-host", "HOST", "a host its notify URLs may use (repeat for more)",
                     add_notify_host),
        PAY_CLI_OPT("--fee-bp", "N", "fee in basis points, 0-10000 (default 60 = 0.60%)", &fee),
        PAY_CLI_OPT("--fee-min", "AMOUNT", "least fee of a payment (e.g. 0.10; default 0)",
                    &fee_min),
        PAY_CLI_OPT("--fee-cap", "AMOUNT", "most fee of a payment (e.g. 25.00; default 0: none)",
                    &fee_cap),
        PAY_CLI_OPT("--settle-bank", "CODE", "the bank of its settlement account", &bank),
        PAY_CLI_OPT("--settle-account", "NO", "its settlement account at that bank", &acct),
        PAY_CLI_SWITCH("--allow-private-hosts",
                       "allow notify hosts that are special-purpose IP literals (sandboxes)",
                       &allow_private),
        PAY_CLI_OPT("--escrow-confirm", "DURATION",
                    "escrow trades: receipt confirmed this long after shipping (1h-90d; default "
                    "[platform] escrow_confirm_timeout)",
                    &confirm),
        PAY_CLI_END};
    if (pay_cli_wants_help(argc, argv))
        return command_usage(
            "merchant add",
            "Registers a merchant: its signing key (Ed25519, base64 or PEM, or RSA 2048+,\n"
            "PEM), notify hosts and fee. A notify host that is a special-purpose\n"
            "IP literal (127.0.0.1, 10.x, 192.0.2.x, ...) needs\n"
            "--allow-private-hosts (as [notify] allow_private_hosts).\n",
            opts);
    int bad = pay_cli_parse("platform merchant add", opts, argc, argv, 1, NULL, &m);
    if (bad)
        return bad;
    if (merchant_values(&m, fee, confirm) ||
        fee_amount("merchant add", "--fee-min", fee_min, &m.fee_min_minor) ||
        fee_amount("merchant add", "--fee-cap", fee_cap, &m.fee_cap_minor) ||
        opt_copy(m.id, sizeof m.id, "id", id) || opt_copy(m.name, sizeof m.name, "name", name) ||
        opt_copy(m.settle_bank, sizeof m.settle_bank, "settle-bank", bank) ||
        opt_copy(m.settle_account, sizeof m.settle_account, "settle-account", acct))
        return PAY_CLI_USAGE;
    struct pay_error err = {0};
    if (pay_crypto_init() != 0 || key_from_file(keyfile, &m, &err) != PAY_ERR_OK) {
        fprintf(stderr, "paygate platform: %s: %s\n", keyfile,
                err.detail[0] ? err.detail : "not an Ed25519 or RSA public key");
        pay_platform_merchant_fini(&m);
        return 1;
    }
    struct pay_platform *p = NULL;
    enum pay_err e = pay_platform_open_offline(dir, database, &p, &err);
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
    const struct pay_cli_opt opts[] = {
        PAY_CLI_REQ("--out", "FILE", "the private key (mode 0600); the public one goes to FILE.pub",
                    &out),
        PAY_CLI_SWITCH("--rsa", "an RSA-2048 pair instead of Ed25519", &rsa), PAY_CLI_END};
    if (pay_cli_wants_help(argc, argv))
        return command_usage("keygen",
                             "Makes a merchant key pair and prints the public key, for\n"
                             "`merchant add --public-key-file FILE.pub`.\n",
                             opts);
    int bad = pay_cli_parse("platform keygen", opts, argc, argv, 1, NULL, NULL);
    if (bad)
        return bad;
    if (pay_crypto_init() != 0) {
        fprintf(stderr, "paygate platform keygen: the crypto library did not start\n");
        return 1;
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

static int report(enum pay_err e, const struct pay_error *err)
{
    if (e == PAY_ERR_OK)
        return 0;
    fprintf(stderr, "paygate platform: %s %s: %s\n", pay_err_name(e), err->field,
            err->detail[0] ? err->detail : pay_err_message(e));
    return 1;
}

/* `merchant suspend|activate --data-dir D [--database DB] --id M` (argv[0] is the verb) */
static int merchant_status(int argc, char **argv, const char *status)
{
    const char *v[3] = {NULL, NULL, NULL};
    const struct pay_cli_opt opts[] = {
        PAY_CLI_REQ("--data-dir", "DIR", "the platform's data folder", &v[0]),
        PAY_CLI_REQ("--id", "ID", "the merchant", &v[1]),
        PAY_CLI_OPT("--database", "DB", PF_DATABASE_HELP, &v[2]), PAY_CLI_END};
    char words[32];
    snprintf(words, sizeof words, "merchant %s", argv[0]);
    if (pay_cli_wants_help(argc, argv))
        return command_usage(
            words, "suspend: the merchant's API calls are refused until `activate`.\n", opts);
    char cmd[48];
    snprintf(cmd, sizeof cmd, "platform %s", words);
    int bad = pay_cli_parse(cmd, opts, argc, argv, 1, NULL, NULL);
    if (bad)
        return bad;
    struct pay_platform *p = NULL;
    struct pay_error err = {0};
    enum pay_err e = pay_platform_open_offline(v[0], v[2], &p, &err);
    if (e == PAY_ERR_OK)
        e = pay_platform_merchant_set_status(p, v[1], status, &err);
    pay_platform_close(p);
    if (e == PAY_ERR_OK)
        printf("merchant %s is %s\n", v[1], status);
    return report(e, &err);
}

/* `consumer add --data-dir D [--database DB] --login L --password P --pay-password NNNNNN` */
static int consumer_add(int argc, char **argv)
{
    const char *v[5] = {NULL};
    const struct pay_cli_opt opts[] = {
        PAY_CLI_REQ("--data-dir", "DIR", "the platform's data folder", &v[0]),
        PAY_CLI_REQ("--login", "LOGIN", "the consumer's phone number or e-mail address", &v[1]),
        PAY_CLI_REQ("--password", "PW", "login password of the wallet", &v[2]),
        PAY_CLI_REQ("--pay-password", "NNNNNN", "6-digit payment password", &v[3]),
        PAY_CLI_OPT("--database", "DB", PF_DATABASE_HELP, &v[4]),
        PAY_CLI_END};
    if (pay_cli_wants_help(argc, argv))
        return command_usage("consumer add", "Adds a consumer with an empty wallet.\n", opts);
    int bad = pay_cli_parse("platform consumer add", opts, argc, argv, 1, NULL, NULL);
    if (bad)
        return bad;
    struct pay_platform *p = NULL;
    struct pay_error err = {0};
    char id[PAY_ID_MAX];
    enum pay_err e = pay_platform_open_offline(v[0], v[4], &p, &err);
    if (e == PAY_ERR_OK)
        e = pay_platform_consumer_add(p, v[1], v[2], v[3], id, &err);
    pay_platform_close(p);
    if (e == PAY_ERR_OK)
        printf("consumer %s added as %s\n", v[1], id);
    return report(e, &err);
}

/* `wallet credit --data-dir D [--database DB] --consumer LOGIN --amount 100.00
 * [--currency CNY]`: SANDBOX funding, booked from pf.sandbox.<cur>. */
static int wallet_credit(int argc, char **argv)
{
    const char *v[5] = {NULL, NULL, NULL, "CNY", NULL};
    const struct pay_cli_opt opts[] = {
        PAY_CLI_REQ("--data-dir", "DIR", "the platform's data folder", &v[0]),
        PAY_CLI_REQ("--consumer", "LOGIN", "the consumer's login", &v[1]),
        PAY_CLI_REQ("--amount", "100.00", "amount in major units", &v[2]),
        PAY_CLI_OPT("--currency", "CUR", "ISO 4217 currency (default CNY)", &v[3]),
        PAY_CLI_OPT("--database", "DB", PF_DATABASE_HELP, &v[4]),
        PAY_CLI_END};
    if (pay_cli_wants_help(argc, argv))
        return command_usage("wallet credit",
                             "SANDBOX funding: credits a wallet from pf.sandbox.<currency>.\n",
                             opts);
    int bad = pay_cli_parse("platform wallet credit", opts, argc, argv, 1, NULL, NULL);
    if (bad)
        return bad;
    struct pay_platform *p = NULL;
    struct pay_error err = {0};
    char id[PAY_ID_MAX];
    int64_t minor = 0;
    /* > 0 and at most PAY_AMOUNT_MAX_MINOR, like every amount that moves money */
    enum pay_err e = pay_money_parse_amount(v[2], v[3], "amount", &minor, &err);
    if (e == PAY_ERR_OK)
        e = pay_platform_open_offline(v[0], v[4], &p, &err);
    if (e == PAY_ERR_OK)
        e = pay_platform_consumer_find(p, v[1], id, &err);
    if (e == PAY_ERR_OK)
        e = pay_platform_wallet_credit_sandbox(p, id, minor, v[3], &err);
    pay_platform_close(p);
    if (e == PAY_ERR_OK)
        printf("sandbox credit: %s %s to %s\n", v[2], v[3], v[1]);
    return report(e, &err);
}

/* The [server] flags, for pay_cli_parse. */
static int server_flag(void *ctx, int argc, char **argv, int i)
{
    return pay_server_settings_flag(ctx, argc, argv, i);
}

/* Settings from --config FILE (wherever it stands), then the flags in order, then the checks
 * of the final values (log level, TLS files, listen address, plain HTTP off loopback) before
 * any file is opened. 0, or 2 after printing why. */
static int load_settings(int argc, char **argv, struct pay_platform_settings *s, bool *check)
{
    const char *config = NULL;
    *check = false;
    const struct pay_cli_opt opts[] = {
        PAY_CLI_OPT("--config", "FILE", "INI file: [server], [platform], [notify], [bank.<code>]",
                    &config),
        PAY_CLI_SWITCH("--check-config", "check the file and the flags, then exit: 0 ok, 2 not",
                       check),
        PAY_CLI_END};
    if (pay_cli_wants_help(argc, argv)) {
        serve_usage(opts);
        return -1;
    }
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--config") == 0)
            config = argv[i + 1];
    struct pay_error err = {0};
    enum pay_err e = pay_platform_settings_load(s, config, &err);
    if (e != PAY_ERR_OK) {
        fprintf(stderr, "paygate platform: %s %s: %s\n", pay_err_name(e), err.field,
                err.detail[0] ? err.detail : pay_err_message(e));
        return 2;
    }
    if (pay_cli_parse("platform", opts, argc, argv, 1, server_flag, &s->server) != 0 ||
        (e = pay_server_settings_check(&s->server, &err)) != PAY_ERR_OK) {
        if (e != PAY_ERR_OK)
            fprintf(stderr, "paygate platform: %s %s: %s\n", pay_err_name(e), err.field,
                    err.detail[0] ? err.detail : pay_err_message(e));
        pay_platform_settings_fini(s);
        return 2;
    }
    if (*check)
        pay_cli_config_ok("platform", config);
    return 0;
}

/* Waits for SIGTERM or SIGINT (returned); a SIGHUP meanwhile reloads the risk rules. */
static int stop_or_reload(struct pay_platform *p)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGHUP);
    for (;;) {
        int sig = 0;
        if (sigwait(&s, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            return sig;
        pay_platform_risk_reload(p);
    }
}

static int serve(int argc, char **argv)
{
    struct pay_platform_settings s;
    bool check = false;
    int bad = load_settings(argc, argv, &s, &check);
    if (bad)
        return bad < 0 ? 0 : bad;
    if (check) {
        pay_platform_settings_fini(&s);
        return 0;
    }
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &hup,
                    NULL); /* every thread inherits it: only stop_or_reload sees it */
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
    e = pay_server_settings_announce(&p->set.server, pay_http_server_url(p->http), &err);
    if (e != PAY_ERR_OK) {
        fprintf(stderr, "paygate platform: %s %s: %s\n", pay_err_name(e), err.field, err.detail);
        pay_platform_close(p);
        return 1;
    }
    int sig = stop_or_reload(p);
    PAY_INFO("platform.stopping", "signal=%d", sig);
    pay_platform_close(p);
    return 0;
}

/* `merchant settlement --data-dir D [--database DB] --id M --bank B --account A [--days N]
 * [--min 100.00]` */
static int merchant_settlement(int argc, char **argv)
{
    const char *v[7] = {NULL};
    const struct pay_cli_opt opts[] = {
        PAY_CLI_REQ("--data-dir", "DIR", "the platform's data folder", &v[0]),
        PAY_CLI_REQ("--id", "ID", "the merchant", &v[1]),
        PAY_CLI_REQ("--bank", "CODE", "the bank of its settlement account ([bank.<code>])", &v[2]),
        PAY_CLI_REQ("--account", "NO", "its settlement account at that bank", &v[3]),
        PAY_CLI_OPT("--days", "N", "paid out T+N business days (0-30, default 1)", &v[4]),
        PAY_CLI_OPT("--min", "AMOUNT", "no payout below this (CNY, default 0)", &v[5]),
        PAY_CLI_OPT("--database", "DB", PF_DATABASE_HELP, &v[6]),
        PAY_CLI_END};
    if (pay_cli_wants_help(argc, argv))
        return command_usage("merchant settlement",
                             "Sets where and when a merchant's balance is paid out"
                             " (docs/settlement.md).\n",
                             opts);
    int bad = pay_cli_parse("platform merchant settlement", opts, argc, argv, 1, NULL, NULL);
    if (bad)
        return bad;
    struct pay_platform_merchant m = {.settle_days = 1};
    struct pay_error err = {0};
    char *end = NULL;
    if (v[4] && ((m.settle_days = strtoll(v[4], &end, 10)), !*v[4] || *end)) {
        fprintf(stderr, "paygate platform merchant settlement: --days '%s': a whole number\n",
                v[4]);
        return PAY_CLI_USAGE;
    }
    if (v[5] &&
        pay_money_parse_amount(v[5], "CNY", "min", &m.settle_min_minor, &err) != PAY_ERR_OK) {
        fprintf(stderr, "paygate platform merchant settlement: --min '%s': %s\n", v[5], err.detail);
        return PAY_CLI_USAGE;
    }
    pay_str_copy(m.id, sizeof m.id, v[1]);
    pay_str_copy(m.settle_bank, sizeof m.settle_bank, v[2]);
    pay_str_copy(m.settle_account, sizeof m.settle_account, v[3]);
    struct pay_platform *p = NULL;
    enum pay_err e = pay_platform_open_offline(v[0], v[6], &p, &err);
    if (e == PAY_ERR_OK)
        e = pay_platform_merchant_set_settlement(p, &m, &err);
    pay_platform_close(p);
    if (e == PAY_ERR_OK)
        printf("merchant %s is paid out to %s %s, T+%lld\n", m.id, m.settle_bank, m.settle_account,
               (long long)m.settle_days);
    return report(e, &err);
}

/* One bank's run of `reconcile`; prints its outcome. 0 when stored, 1 when it failed. */
static int reconcile_bank(struct pay_platform *p, const char *bank, const char *date)
{
    char id[PAY_ID_MAX] = "", status[16] = "";
    struct pay_error err = {0};
    enum pay_err e = pay_platform_reconcile(p, bank, date, "command", id, status, &err);
    if (e == PAY_ERR_OK)
        printf("reconciliation %s %s: %s (run %s)\n", bank, date, status, id);
    else if (id[0])
        printf("reconciliation %s %s: failed (run %s)\n", bank, date, id);
    return report(e, &err);
}

/* `reconcile --config FILE --date D [--bank B] [--data-dir DIR] [--database DB]` */
static int reconcile(int argc, char **argv)
{
    const char *v[5] = {NULL};
    const struct pay_cli_opt opts[] = {
        PAY_CLI_REQ("--config", "FILE", "the platform's INI file (its [bank.<code>] sections)",
                    &v[0]),
        PAY_CLI_REQ("--date", "YYYY-MM-DD", "the bank's day to reconcile", &v[1]),
        PAY_CLI_OPT("--bank", "CODE", "one bank (default: every bank of the file)", &v[2]),
        PAY_CLI_OPT("--data-dir", "DIR", "the data folder (default: [server] data_dir)", &v[3]),
        PAY_CLI_OPT("--database", "DB", PF_DATABASE_HELP, &v[4]),
        PAY_CLI_END};
    if (pay_cli_wants_help(argc, argv))
        return command_usage("reconcile",
                             "Fetches each bank's statement file of the day, matches it with the"
                             " platform's\nrecords and stores the run and its differences"
                             " (docs/reconciliation.md);\nagain for the same day, it updates"
                             " them. Moves no money. Exit 0: every run\nstored (matched or with"
                             " differences, shown on the console); 1: a run failed.\n",
                             opts);
    int bad = pay_cli_parse("platform reconcile", opts, argc, argv, 1, NULL, NULL);
    if (bad)
        return bad;
    struct pay_platform_settings s;
    struct pay_error err = {0};
    enum pay_err e = pay_platform_settings_load(&s, v[0], &err);
    if (e == PAY_ERR_OK && v[3] && !pay_str_copy(s.server.data_dir, sizeof s.server.data_dir, v[3]))
        e = pay_error_set(&err, PAY_ERR_FIELD_TOO_LONG, "data-dir", NULL);
    if (e == PAY_ERR_OK && v[4] && !pay_str_copy(s.server.database, sizeof s.server.database, v[4]))
        e = pay_error_set(&err, PAY_ERR_FIELD_TOO_LONG, "database", NULL);
    struct pay_platform *p = NULL;
    if (e == PAY_ERR_OK)
        e = pay_platform_open(&s, &p, &err); /* p owns s.banks from here */
    else
        pay_platform_settings_fini(&s);
    if (e != PAY_ERR_OK) {
        pay_platform_close(p);
        return report(e, &err);
    }
    int rc = v[2] ? reconcile_bank(p, v[2], v[1]) : 0;
    for (size_t i = 0; !v[2] && i < p->set.n_banks; i++)
        rc |= reconcile_bank(p, p->set.banks[i].code, v[1]);
    pay_platform_close(p);
    return rc;
}

/* `merchant fee --data-dir D --id M --fee-bp N [--fee-min X] [--fee-cap Y]` */
static int merchant_fee(int argc, char **argv)
{
    const char *v[6] = {NULL};
    const struct pay_cli_opt opts[] = {
        PAY_CLI_REQ("--data-dir", "DIR", "the platform's data folder", &v[0]),
        PAY_CLI_OPT("--database", "DB", PF_DATABASE_HELP, &v[1]),
        PAY_CLI_REQ("--id", "ID", "the merchant", &v[2]),
        PAY_CLI_REQ("--fee-bp", "N", "fee in basis points, 0-10000 (60 = 0.60%)", &v[3]),
        PAY_CLI_OPT("--fee-min", "AMOUNT", "least fee of a payment (e.g. 0.10; default 0)", &v[4]),
        PAY_CLI_OPT("--fee-cap", "AMOUNT", "most fee of a payment (e.g. 25.00; default 0: none)",
                    &v[5]),
        PAY_CLI_END};
    if (pay_cli_wants_help(argc, argv))
        return command_usage("merchant fee",
                             "Sets a merchant's fee: a rate, a minimum and a cap per payment\n"
                             "(docs/platform.md, \"Fees\"); payments from now on pay it.\n",
                             opts);
    int bad = pay_cli_parse("platform merchant fee", opts, argc, argv, 1, NULL, NULL);
    if (bad)
        return bad;
    struct pay_platform_merchant m = {0};
    char *end = NULL;
    if (((m.fee_bp = strtoll(v[3], &end, 10)), !*v[3] || *end)) {
        fprintf(stderr, "paygate platform merchant fee: --fee-bp '%s': a whole number\n", v[3]);
        return PAY_CLI_USAGE;
    }
    if (fee_amount("merchant fee", "--fee-min", v[4], &m.fee_min_minor) ||
        fee_amount("merchant fee", "--fee-cap", v[5], &m.fee_cap_minor) ||
        opt_copy(m.id, sizeof m.id, "id", v[2]))
        return PAY_CLI_USAGE;
    struct pay_platform *p = NULL;
    struct pay_error err = {0};
    enum pay_err e = pay_platform_open_offline(v[0], v[1], &p, &err);
    if (e == PAY_ERR_OK)
        e = pay_platform_merchant_set_fee(p, &m, &err);
    pay_platform_close(p);
    if (e == PAY_ERR_OK)
        printf("merchant %s pays %lld bp, at least %lld and at most %lld minor units a payment\n",
               m.id, (long long)m.fee_bp, (long long)m.fee_min_minor, (long long)m.fee_cap_minor);
    return report(e, &err);
}

static int merchant_suspend(int argc, char **argv)
{
    return merchant_status(argc, argv, "suspended");
}

static int merchant_activate(int argc, char **argv)
{
    return merchant_status(argc, argv, "active");
}

/* The offline commands: one or two words, then their options. */
static const struct {
    const char *noun, *verb; /* verb NULL: one word */
    int (*run)(int argc, char **argv);
} platform_cmds[] = {
    {"merchant", "add", merchant_add},
    {"merchant", "suspend", merchant_suspend},
    {"merchant", "activate", merchant_activate},
    {"consumer", "add", consumer_add},
    {"wallet", "credit", wallet_credit},
    {"keygen", NULL, keygen},
    {"merchant", "settlement", merchant_settlement},
    {"member", "add", pay_portal_cli_member_add},
    {"reconcile", NULL, reconcile},
    {"merchant", "fee", merchant_fee},
    {"chain", "return", pay_platform_chain_cli_return},
    {"chain", "anchor", pay_platform_chain_cli_anchor},
};

int pay_cmd_platform(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-')
        return serve(argc, argv);
    bool noun_known = false;
    for (size_t i = 0; i < sizeof platform_cmds / sizeof platform_cmds[0]; i++) {
        if (strcmp(argv[1], platform_cmds[i].noun) != 0)
            continue;
        noun_known = true;
        if (!platform_cmds[i].verb)
            return platform_cmds[i].run(argc - 1, argv + 1);
        if (argc >= 3 && strcmp(argv[2], platform_cmds[i].verb) == 0)
            return platform_cmds[i].run(argc - 2, argv + 2);
    }
    if (pay_cli_wants_help(argc, argv)) {
        fputs(platform_commands, stdout);
        return 0;
    }
    if (noun_known)
        fprintf(stderr, "paygate platform %s: %s%s%s (see --help)\n", argv[1],
                argc >= 3 ? "unknown command '" : "the command is missing",
                argc >= 3 ? argv[2] : "", argc >= 3 ? "'" : "");
    else
        fprintf(stderr, "paygate platform: unknown command '%s' (see --help)\n", argv[1]);
    return PAY_CLI_USAGE;
}
