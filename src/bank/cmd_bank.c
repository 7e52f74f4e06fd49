/* `paygate bank`: the sandbox bank server and its offline administration commands, which
 * open bank.db directly with the same code as the server (docs/bank.md). */
#include "bank/bank.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/cli_opts.h"
#include "core/config.h"
#include "core/log.h"
#include "core/money.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The options of the bank commands: tables the parser and --help share (core/cli_opts.h); the
 * values go to struct opts (opts_init). The server's [bank] flags are the [bank] keys with '-'
 * for '_'. */
static const struct pay_cli_opt serve_flags[] = {
    PAY_CLI_OPT("--config", "FILE", "INI file with [server] and [bank] (etc/bank.example.ini)",
                NULL),
    PAY_CLI_OPT("--check-config", NULL, "check the file and the flags, then exit: 0 ok, 2 not",
                NULL),
    PAY_CLI_OPT("--name", "NAME", "the bank's display name (default: stored, else Sandbox Bank)",
                NULL),
    PAY_CLI_OPT("--name-en", "NAME", "the bank's name on English pages (default: --name)", NULL),
    PAY_CLI_OPT("--brand-color", "#RRGGBB", "colour of its pages' header and buttons (#9b1c1c)",
                NULL),
    PAY_CLI_OPT("--code", "CODE",
                "short code, [a-z0-9]{2,16}: keyId of its signatures (default sandbox)", NULL),
    PAY_CLI_OPT("--bin", "NNNNNN", "6-digit BIN of the bank's card numbers (default 622202)", NULL),
    PAY_CLI_OPT("--demo-data", NULL, "seed the demo customers, cards and merchant (idempotent)",
                NULL),
    PAY_CLI_OPT("--notify-timeout", "DURATION",
                "wait this long for a merchant's answer (default 5s)", NULL),
    PAY_CLI_OPT("--notify-retry", "D1,D2,...",
                "retry schedule of notifications (default 1m,5m,...,6h)", NULL),
    PAY_CLI_OPT("--allow-private-notify", "yes|no",
                "allow merURL on loopback/private addresses (yes)", NULL),
    PAY_CLI_OPT("--fast-hash", NULL, "Argon2id at its minimum cost (test suites only)", NULL),
    PAY_CLI_OPT("--admin-token", "TOKEN",
                "token for /admin from non-loopback clients (default: none)", NULL),
    PAY_CLI_OPT("--sms-ttl", "DURATION",
                "lifetime of SMS codes (default 5m; shorter to test expiry)", NULL),
    PAY_CLI_OPT("--web-root", "DIR", "templates and static files (default: the source tree's)",
                NULL),
    PAY_CLI_OPT("--switch-url", "URL",
                "the card network switch: with --switch-member-dir a member (docs/switch.md)",
                NULL),
    PAY_CLI_OPT("--switch-member-dir", "DIR",
                "the folder `paygate switch member add --out` wrote for this bank", NULL),
    PAY_CLI_END};

/* What every offline command takes besides its own options (and the [server] flags, of which
 * --data-dir is the one they need). */
static const struct pay_cli_opt offline_flags[] = {
    PAY_CLI_OPT("--config", "FILE", "INI file, for its [server] data_dir and [bank] code and bin",
                NULL),
    PAY_CLI_OPT("--code", "CODE",
                "the bank's code, on the first use of a data dir (default sandbox)", NULL),
    PAY_CLI_OPT("--bin", "NNNNNN",
                "the bank's BIN, on the first use of a data dir (default 622202)", NULL),
    PAY_CLI_OPT("--fast-hash", NULL, "Argon2id at its minimum cost (test suites only)", NULL),
    PAY_CLI_END};

static const struct pay_cli_opt merchant_add_flags[] = {
    PAY_CLI_REQ("--mer-id", "M", "merchant number on the contract", NULL),
    PAY_CLI_REQ("--name", "NAME", "the merchant's name", NULL),
    PAY_CLI_REQ("--referrer-domain", "HOST", "host its payment forms must come from (Referer)",
                NULL),
    PAY_CLI_REQ("--notify-domain", "HOST", "host of its merURL (where notifications go)", NULL),
    PAY_CLI_OPT("--allow-no-referer", NULL, "also accept forms without a Referer header", NULL),
    PAY_CLI_OPT("--out", "DIR", "where merchant.key, merchant.crt and merchant.json go (default .)",
                NULL),
    PAY_CLI_END};
static const struct pay_cli_opt merchant_revoke_flags[] = {
    PAY_CLI_OPT("--serial", "HEX", "the certificate to revoke", NULL),
    PAY_CLI_OPT("--mer-id", "M", "or every certificate of this merchant", NULL), PAY_CLI_END};
static const struct pay_cli_opt customer_add_flags[] = {
    PAY_CLI_REQ("--name", "NAME", "the customer's name", NULL),
    PAY_CLI_REQ("--phone", "PHONE", "mobile number for SMS codes: 5-20 digits, optional '+'", NULL),
    PAY_CLI_END};
static const struct pay_cli_opt customer_reserved_flags[] = {
    PAY_CLI_REQ("--customer", "C", "the customer id (cus_...)", NULL),
    PAY_CLI_REQ("--message", "TEXT",
                "the customer's reserved message (预留信息), 1-30 characters, shown on the "
                "payment pages before the card password",
                NULL),
    PAY_CLI_END};
static const struct pay_cli_opt account_add_flags[] = {
    PAY_CLI_REQ("--customer", "C", "the customer id (cust_...)", NULL),
    PAY_CLI_OPT("--kind", "deposit|credit", "account kind (default deposit)", NULL),
    PAY_CLI_OPT("--limit", "MINOR", "credit limit of a credit account, minor units", NULL),
    PAY_CLI_END};
static const struct pay_cli_opt card_add_flags[] = {
    PAY_CLI_OPT("--customer", "C", "issue on a new account of this customer", NULL),
    PAY_CLI_OPT("--account", "A", "or on this account", NULL),
    PAY_CLI_OPT("--kind", "debit|credit", "card kind (default debit)", NULL),
    PAY_CLI_OPT("--password", "NNNNNN", "6-digit card password (default 123456)", NULL),
    PAY_CLI_OPT("--expiry", "MM/YY", "expiry (default 12/30)", NULL),
    PAY_CLI_OPT("--limit", "MINOR", "credit limit of a new credit account, minor units", NULL),
    PAY_CLI_END};
static const struct pay_cli_opt deposit_flags[] = {
    PAY_CLI_REQ("--account", "A", "the account credited", NULL),
    PAY_CLI_REQ("--amount", "MINOR", "amount in minor units (10000 = 100.00)", NULL), PAY_CLI_END};
static const struct pay_cli_opt movements_flags[] = {
    PAY_CLI_REQ("--account", "A", "the account", NULL),
    PAY_CLI_OPT("--cursor", "N", "continue where the last page ended", NULL), PAY_CLI_END};

static const struct pay_cli_opt demo_cards_flags[] = {PAY_CLI_END};

/* The commands: the words, the synopsis, what it does, its own options. */
static const struct bank_cmd {
    const char *noun, *verb, *synopsis, *about;
    const struct pay_cli_opt *flags;
} bank_cmds[] = {
    {"serve", NULL, "[--config FILE] [options] [server options]",
     "Runs a sandbox bank (docs/bank.md); `paygate bank --opt ...` is the same.", serve_flags},
    {"merchant", "add",
     "--data-dir D --mer-id M --name N\n      --referrer-domain H --notify-domain H "
     "[--allow-no-referer] [--out DIR]",
     "Signs a merchant contract: issues its key and certificate.", merchant_add_flags},
    {"merchant", "revoke", "--data-dir D (--serial HEX | --mer-id M)",
     "Revokes merchant certificates.", merchant_revoke_flags},
    {"customer", "add", "--data-dir D --name N --phone P", "Adds a customer.", customer_add_flags},
    {"customer", "reserved-message", "--data-dir D --customer C --message TEXT",
     "Sets a customer's reserved message (shown, never printed or logged).",
     customer_reserved_flags},
    {"account", "add", "--data-dir D --customer C [--kind deposit|credit] [--limit MINOR]",
     "Opens an account.", account_add_flags},
    {"card", "add", "--data-dir D (--customer C | --account A) [--kind debit|credit] ...",
     "Issues a card and prints its number, expiry and CVV2 once.", card_add_flags},
    {"deposit", NULL, "--data-dir D --account A --amount MINOR", "Deposits cash into an account.",
     deposit_flags},
    {"movements", NULL, "--data-dir D --account A [--cursor N]",
     "Lists an account's transfers, 100 at a time.", movements_flags},
    {"demo-cards", NULL, "--data-dir D",
     "Lists the --demo-data cards with their numbers, expiry and CVV2s (sandbox only).",
     demo_cards_flags},
};
#define BANK_N_CMDS (sizeof bank_cmds / sizeof bank_cmds[0])

static void usage_line(FILE *out, const struct bank_cmd *c)
{
    fprintf(out, "  paygate bank %s%s%s %s\n", c->noun, c->verb ? " " : "", c->verb ? c->verb : "",
            c->synopsis);
}

/* The parsed command line: the options of one command (its own, then offline_flags unless it
 * serves) with their values, in the order of the table. */
struct opts {
    struct pay_cli_opt t[40];
    const char *v[40];
    bool set[40];
};

static void opts_add(struct opts *o, size_t *n, const struct pay_cli_opt *f)
{
    for (; f->name; f++) {
        bool dup = false; /* --fast-hash, --code... of offline_flags appear once */
        for (size_t k = 0; k < *n && !dup; k++)
            dup = strcmp(o->t[k].name, f->name) == 0;
        if (dup)
            continue;
        PAY_ASSERT(*n + 1 < sizeof o->t / sizeof o->t[0]);
        o->t[*n] = (struct pay_cli_opt){.name = f->name,
                                        .arg = f->arg,
                                        .help = f->help,
                                        .value = f->arg ? &o->v[*n] : NULL,
                                        .set = &o->set[*n],
                                        .flags = f->flags};
        (*n)++;
    }
    o->t[*n] = (struct pay_cli_opt)PAY_CLI_END;
}

/* The table of command c into o. */
static void opts_init(struct opts *o, const struct bank_cmd *c)
{
    size_t n = 0;
    memset(o, 0, sizeof *o);
    opts_add(o, &n, c->flags);
    if (c->flags != serve_flags)
        opts_add(o, &n, offline_flags);
}

static void usage(FILE *out, const struct bank_cmd *c)
{
    struct opts o;
    if (c == NULL) {
        fprintf(out, "usage:\n");
        for (size_t i = 0; i < BANK_N_CMDS; i++)
            usage_line(out, &bank_cmds[i]);
        fprintf(out, "  (`paygate bank <command> --help` describes each command's options;\n"
                     "   the offline commands do what the forms of /admin do)\n\n");
        c = &bank_cmds[0];
    } else {
        fprintf(out, "usage:\n");
        usage_line(out, c);
        fprintf(out, "\n");
    }
    opts_init(&o, c);
    fprintf(out, "%s\n\nOptions:\n", c->about);
    pay_cli_usage(out, o.t);
    fprintf(out, "\nServer options (the [server] keys; the offline commands need --data-dir):\n%s",
            pay_server_settings_usage);
}

/* The [server] flags, for pay_cli_parse. */
static int server_flag(void *ctx, int argc, char **argv, int i)
{
    return pay_server_settings_flag(ctx, argc, argv, i);
}

/* Parses argv[start..) against command c's table into o, the [server] flags into *srv.
 * 0, or PAY_CLI_USAGE after printing why. */
static int parse(const struct bank_cmd *c, int argc, char **argv, int start, struct opts *o,
                 struct pay_server_settings *srv)
{
    char name[40];
    snprintf(name, sizeof name, "bank %s%s%s", c->noun, c->verb ? " " : "", c->verb ? c->verb : "");
    opts_init(o, c);
    return pay_cli_parse(name, o->t, argc, argv, start, server_flag, srv);
}

/* The value of --k ("yes" for a switch that was given), or NULL when not given. */
static const char *get(const struct opts *o, const char *k)
{
    for (size_t i = 0; o->t[i].name; i++)
        if (o->set[i] && strcmp(o->t[i].name + 2, k) == 0)
            return o->t[i].arg ? o->v[i] : "yes";
    return NULL;
}

/* A [bank] text key into dst (empty keeps the default); too long is CONFIG_INVALID naming
 * the line. */
static enum pay_err cfg_text(const struct pay_config *c, const char *key, char *dst, size_t n,
                             struct pay_error *e)
{
    const char *v = pay_config_get(c, "bank", key, NULL);
    if (v == NULL || v[0] == '\0')
        return PAY_ERR_OK;
    if (!pay_str_copy(dst, n, v))
        return pay_config_error(c, "bank", key, e, "longer than %zu bytes", n - 1);
    return PAY_ERR_OK;
}

/* The typed [bank] keys: booleans, durations and the retry schedule. */
static enum pay_err cfg_typed(const struct pay_config *c, struct pay_bank_options *o,
                              struct pay_error *e)
{
    enum pay_err rc;
    if ((rc = pay_config_get_bool(c, "bank", "demo_data", o->demo_data, &o->demo_data, e)) ||
        (rc = pay_config_get_bool(c, "bank", "fast_hash", o->fast_hash, &o->fast_hash, e)) ||
        (rc = pay_config_get_bool(c, "bank", "allow_private_notify", o->allow_private_notify,
                                  &o->allow_private_notify, e)) ||
        (rc = pay_config_get_duration_ms(c, "bank", "notify_timeout", o->notify_timeout_ms,
                                         &o->notify_timeout_ms, e)) ||
        (rc = pay_config_get_duration_ms(c, "bank", "sms_ttl", o->sms_ttl_ms, &o->sms_ttl_ms, e)))
        return rc;
    const char *v = pay_config_get(c, "bank", "notify_retry", NULL);
    struct pay_error pe = {0};
    if (v && pay_time_parse_durations(v, o->retry_ms, PAY_BANK_RETRY_MAX, &o->retry_n, &pe))
        return pay_config_error(c, "bank", "notify_retry", e, "%s", pe.detail);
    return PAY_ERR_OK;
}

/* --config FILE: [server] through the shared reader, [bank] here; flags come later and win. */
static enum pay_err read_config(const struct pay_config *c, struct pay_bank_options *o,
                                struct pay_error *e)
{
    static const char *const sections[] = {"server", "bank", NULL};
    static const char *const keys[] = {
        "name",        "name_en",        "brand_color",       "code",
        "bin",         "notify_timeout", "notify_retry",      "allow_private_notify",
        "admin_token", "sms_ttl",        "demo_data",         "fast_hash",
        "web_root",    "switch_url",     "switch_member_dir", NULL};
    enum pay_err rc;
    if ((rc = pay_config_check_sections(c, sections, e)) ||
        (rc = pay_server_settings_read(&o->server, c, e)))
        return rc;
    /* listen, data_dir and print_url_file used to live in [bank]: say where they went */
    static const char *const moved[] = {"listen", "data_dir", "print_url_file"};
    for (size_t i = 0; i < sizeof moved / sizeof moved[0]; i++)
        if (pay_config_get(c, "bank", moved[i], NULL))
            return pay_config_error(c, "bank", moved[i], e, "moved to the [server] section");
    if ((rc = pay_config_check_keys(c, "bank", keys, e)) ||
        (rc = cfg_text(c, "name", o->name, sizeof o->name, e)) ||
        (rc = cfg_text(c, "name_en", o->name_en, sizeof o->name_en, e)) ||
        (rc = cfg_text(c, "brand_color", o->brand_color, sizeof o->brand_color, e)) ||
        (rc = cfg_text(c, "code", o->code, sizeof o->code, e)) ||
        (rc = cfg_text(c, "bin", o->bin, sizeof o->bin, e)) ||
        (rc = cfg_text(c, "admin_token", o->admin_token, sizeof o->admin_token, e)) ||
        (rc = cfg_text(c, "web_root", o->web_root, sizeof o->web_root, e)) ||
        (rc = cfg_text(c, "switch_url", o->switch_url, sizeof o->switch_url, e)) ||
        (rc = cfg_text(c, "switch_member_dir", o->switch_member_dir, sizeof o->switch_member_dir,
                       e)))
        return rc;
    return cfg_typed(c, o, e);
}

/* Command-line [bank] flags over the options (flag errors name the flag). */
static enum pay_err apply_flags(const struct opts *in, struct pay_bank_options *o,
                                struct pay_error *e)
{
    const char *v;
    struct pay_error pe = {0}; /* the parser's reason, quoted into *e with the flag */
#define STR(key, f)                                                                                \
    if ((v = get(in, key)) != NULL && !pay_str_copy(o->f, sizeof o->f, v))                         \
        return pay_error_set(e, PAY_ERR_CONFIG_INVALID, key, "--%s: longer than %zu bytes", key,   \
                             sizeof o->f - 1);
    STR("name", name)
    STR("name-en", name_en)
    STR("brand-color", brand_color)
    STR("code", code)
    STR("bin", bin)
    STR("web-root", web_root)
    STR("admin-token", admin_token)
    STR("switch-url", switch_url)
    STR("switch-member-dir", switch_member_dir)
#undef STR
    o->demo_data = o->demo_data || get(in, "demo-data") != NULL;
    o->fast_hash = o->fast_hash || get(in, "fast-hash") != NULL;
    if ((v = get(in, "allow-private-notify")) != NULL)
        o->allow_private_notify = strcmp(v, "no") != 0;
    if ((v = get(in, "notify-timeout")) != NULL &&
        pay_time_parse_duration_ms(v, &o->notify_timeout_ms, &pe) != PAY_ERR_OK)
        return pay_error_set(e, PAY_ERR_CONFIG_INVALID, "notify-timeout", "--notify-timeout: %s",
                             pe.detail);
    if ((v = get(in, "sms-ttl")) != NULL &&
        pay_time_parse_duration_ms(v, &o->sms_ttl_ms, &pe) != PAY_ERR_OK)
        return pay_error_set(e, PAY_ERR_CONFIG_INVALID, "sms-ttl", "--sms-ttl: %s", pe.detail);
    if ((v = get(in, "notify-retry")) != NULL &&
        pay_time_parse_durations(v, o->retry_ms, PAY_BANK_RETRY_MAX, &o->retry_n, &pe))
        return pay_error_set(e, PAY_ERR_CONFIG_INVALID, "notify-retry", "--notify-retry: %s",
                             pe.detail);
    return PAY_ERR_OK;
}

/* What the merged settings must satisfy; a bad value from the file names its line. */
static enum pay_err validate(const struct pay_config *c, const struct opts *in,
                             struct pay_bank_options *o, struct pay_error *e)
{
    /* Checked before anything is opened, so --check-config reports it and a refused start
     * creates no data folder. */
    enum pay_err sc = pay_server_settings_check(&o->server, e);
    if (sc != PAY_ERR_OK)
        return sc;
    pay_str_copy(o->data_dir, sizeof o->data_dir, o->server.data_dir);
    enum pay_err rc = pay_bank_options_check(o, e);
    if (rc == PAY_ERR_OK || strcmp(e->field, "data_dir") == 0)
        return rc;
    struct pay_error was = *e; /* name the flag, or the file's line the value came from */
    if (get(in, was.field) || !c)
        return pay_error_set(e, rc, was.field, "--%s: %s", was.field, was.detail);
    return pay_config_error(c, "bank", was.field, e, "%s", was.detail);
    return rc;
}

/* Config file, then flags, then the checks; prints the error and returns 2 if any fails. */
static int load_options(const struct bank_cmd *c, int argc, char **argv, int at, struct opts *in,
                        struct pay_bank_options *o)
{
    pay_bank_options_defaults(o);
    struct pay_config *cfg = NULL;
    struct pay_error e = {0};
    enum pay_err rc = PAY_ERR_OK;
    for (int i = at; i + 1 < argc && rc == PAY_ERR_OK; i++) /* the config first */
        if (strcmp(argv[i], "--config") == 0) {
            rc = pay_config_load(argv[i + 1], &cfg, &e);
            if (rc == PAY_ERR_OK)
                rc = read_config(cfg, o, &e);
            break;
        }
    if (rc == PAY_ERR_OK && parse(c, argc, argv, at, in, &o->server) != 0) {
        pay_config_free(cfg);
        return 2;
    }
    if (rc == PAY_ERR_OK)
        rc = apply_flags(in, o, &e);
    if (rc == PAY_ERR_OK)
        rc = validate(cfg, in, o, &e);
    pay_config_free(cfg);
    if (rc == PAY_ERR_OK)
        return 0;
    fprintf(stderr, "paygate bank: %s\n", e.detail[0] ? e.detail : pay_err_message(rc));
    return 2;
}

static int fail(const char *what, enum pay_err rc, const struct pay_error *e)
{
    fprintf(stderr, "paygate bank %s: %s: %s%s%s\n", what, pay_err_name(rc),
            e->detail[0] ? e->detail : pay_err_message(rc), e->field[0] ? " field=" : "", e->field);
    return 1;
}

/* Copies option k (absent: "") into dst; false, with FIELD_TOO_LONG naming it in *e, when it
 * does not fit (never cut). */
static bool opt_copy(const struct opts *in, const char *k, char *dst, size_t n, struct pay_error *e)
{
    if (pay_str_copy(dst, n, get(in, k)))
        return true;
    pay_error_set(e, PAY_ERR_FIELD_TOO_LONG, k, "--%s: longer than %zu bytes", k, n - 1);
    return false;
}

static int merchant_cmd(struct pay_bank *b, const char *verb, const struct opts *in)
{
    struct pay_error e = {0};
    enum pay_err rc;
    if (strcmp(verb, "add") == 0) {
        struct pay_bank_merchant m = {.allow_no_referer = get(in, "allow-no-referer") != NULL};
        if (!opt_copy(in, "mer-id", m.mer_id, sizeof m.mer_id, &e) ||
            !opt_copy(in, "name", m.name, sizeof m.name, &e) ||
            !opt_copy(in, "referrer-domain", m.referrer_domain, sizeof m.referrer_domain, &e) ||
            !opt_copy(in, "notify-domain", m.notify_domain, sizeof m.notify_domain, &e))
            return fail("merchant add", e.code, &e);
        const char *out = get(in, "out") ? get(in, "out") : ".";
        char serial[64];
        rc = pay_bank_merchant_add(b, &m, out, serial, &e);
        if (rc != PAY_ERR_OK)
            return fail("merchant add", rc, &e);
        printf("merchant %s: certificate serial %s; key, certificate and merchant.json in %s\n",
               m.mer_id, serial, out);
        return 0;
    }
    if (strcmp(verb, "revoke") == 0) {
        int n = 0;
        if (!get(in, "serial") && !get(in, "mer-id"))
            return fail("merchant revoke", PAY_ERR_FIELD_MISSING, &e);
        rc = pay_bank_merchant_revoke(b, get(in, "mer-id"), get(in, "serial"), &n, &e);
        if (rc != PAY_ERR_OK)
            return fail("merchant revoke", rc, &e);
        printf("revoked %d certificate(s)\n", n);
        return 0;
    }
    return PAY_CLI_USAGE; /* pay_cmd_bank knows only add and revoke */
}

/* A whole-number option in minor units, strictly digits ("" or absent: dflt). */
static enum pay_err minor_arg(const struct opts *in, const char *k, int64_t dflt, int64_t *out,
                              struct pay_error *e)
{
    const char *v = get(in, k);
    *out = dflt;
    if (!v)
        return PAY_ERR_OK;
    size_t n = strlen(v);
    if (n == 0 || n > 18 || strspn(v, "0123456789") != n || (n > 1 && v[0] == '0'))
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, k,
                             "--%s: whole minor units (10000 = 100.00)", k);
    *out = strtoll(v, NULL, 10);
    return PAY_ERR_OK;
}

/* customer add / customer reserved-message / account add / card add / deposit: the shared
 * operations of admin_ops.c. */
static int admin_cmd(struct pay_bank *b, const char *what, const char *verb, const struct opts *in)
{
    struct pay_error e = {0};
    char id[PAY_LEDGER_ID_MAX + 1] = "";
    int64_t minor = 0;
    enum pay_err rc;
    if (strcmp(what, "customer") == 0 && verb && strcmp(verb, "reserved-message") == 0) {
        rc = pay_bank_admin_customer_reserved(b, get(in, "customer"), get(in, "message"), &e);
        if (rc == PAY_ERR_OK)
            printf("reserved message set for %s\n", get(in, "customer")); /* never the text */
    } else if (strcmp(what, "customer") == 0) {
        rc = pay_bank_admin_customer_add(b, get(in, "name"), get(in, "phone"), id, &e);
        if (rc == PAY_ERR_OK)
            printf("customer %s\n", id);
    } else if (strcmp(what, "account") == 0) {
        rc = minor_arg(in, "limit", 0, &minor, &e);
        if (rc == PAY_ERR_OK)
            rc = pay_bank_admin_account_open(b, get(in, "customer"),
                                             get(in, "kind") ? get(in, "kind") : "deposit", minor,
                                             id, &e);
        if (rc == PAY_ERR_OK)
            printf("account %s\n", id);
    } else if (strcmp(what, "deposit") == 0) {
        rc = minor_arg(in, "amount", 0, &minor, &e);
        if (rc == PAY_ERR_OK)
            rc = pay_bank_admin_deposit(b, get(in, "account"), minor, id, &e);
        if (rc == PAY_ERR_OK)
            printf("deposited %s\n", id);
    } else {
        struct pay_bank_admin_card c = {.customer_id = get(in, "customer"),
                                        .account_id = get(in, "account"),
                                        .kind = get(in, "kind") ? get(in, "kind") : "debit",
                                        .password =
                                            get(in, "password") ? get(in, "password") : "123456",
                                        .expiry = get(in, "expiry") ? get(in, "expiry") : "12/30"};
        struct pay_bank_issued out;
        rc = minor_arg(in, "limit", 0, &c.limit_minor, &e);
        if (rc == PAY_ERR_OK)
            rc = pay_bank_admin_card_issue(b, &c, &out, &e);
        if (rc == PAY_ERR_OK) /* shown once, on stdout only */
            printf("card %s\naccount %s\nnumber %s\nexpiry %s\ncvv2 %s\n", out.card_id,
                   out.account_id, out.pan, out.expiry, out.cvv);
        pay_wipe(&out, sizeof out);
    }
    return rc == PAY_ERR_OK ? 0 : fail(what, rc, &e);
}

static int movements_cmd(struct pay_bank *b, const struct opts *in)
{
    const char *acct = get(in, "account");
    struct pay_ledger_transfer t[100];
    size_t n = 0;
    int64_t next = 0, cursor = 0;
    struct pay_error e = {0};
    enum pay_err rc = minor_arg(in, "cursor", 0, &cursor, &e);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_admin_movements(b, acct, cursor, t, 100, &n, &next, &e);
    if (rc != PAY_ERR_OK)
        return fail("movements", rc, &e);
    for (size_t i = 0; i < n; i++) {
        char when[PAY_TIME_TEXT_MAX];
        pay_time_format_rfc3339(t[i].created_ms, when);
        bool credit = strcmp(t[i].credit_account_id, acct) == 0;
        printf("%s %-40s %s %12lld %s %s\n", when, t[i].id, credit ? "CR" : "DR",
               (long long)t[i].amount_minor, t[i].currency, t[i].user_data);
    }
    if (next)
        printf("more: --cursor %lld\n", (long long)next);
    return 0;
}

/* The command argv names (serve when it starts with an option), its first option in *at; NULL
 * after saying what is wrong. */
static const struct bank_cmd *find_cmd(int argc, char **argv, int *at)
{
    *at = 1;
    if (argc < 2 || argv[1][0] == '-')
        return &bank_cmds[0];
    bool noun_known = false;
    for (size_t i = 0; i < BANK_N_CMDS; i++) {
        const struct bank_cmd *c = &bank_cmds[i];
        if (strcmp(argv[1], c->noun) != 0)
            continue;
        noun_known = true;
        *at = c->verb ? 3 : 2;
        if (!c->verb || (argc > 2 && strcmp(argv[2], c->verb) == 0))
            return c;
    }
    if (noun_known)
        fprintf(stderr, "paygate bank %s: %s%s%s (see --help)\n", argv[1],
                argc > 2 ? "unknown command '" : "the command is missing", argc > 2 ? argv[2] : "",
                argc > 2 ? "'" : "");
    else
        fprintf(stderr, "paygate bank: unknown command '%s' (see --help)\n", argv[1]);
    return NULL;
}

int pay_cmd_bank(int argc, char **argv)
{
    int at = 1;
    const struct bank_cmd *c = find_cmd(argc, argv, &at);
    if (pay_cli_wants_help(argc, argv)) {
        usage(stdout, c && at > 1 ? c : NULL);
        return 0;
    }
    if (!c)
        return PAY_CLI_USAGE;
    const char *cmd = c->noun;
    struct opts in;
    struct pay_bank_options o;
    if (load_options(c, argc, argv, at, &in, &o) != 0)
        return PAY_CLI_USAGE;
    if (get(&in, "check-config")) /* nothing opened: the database stays untouched */
        return pay_cli_config_ok("bank", get(&in, "config"));
    if (c == &bank_cmds[0])
        return pay_bank_serve(&o);
    o.name[0] = '\0'; /* --name of the offline commands names a merchant, not the bank */
    struct pay_bank *b = NULL;
    struct pay_error e = {0};
    enum pay_err rc = pay_bank_open(&o, &b, &e);
    int status;
    if (rc != PAY_ERR_OK)
        status = fail(cmd, rc, &e);
    else if (strcmp(cmd, "merchant") == 0)
        status = merchant_cmd(b, c->verb, &in);
    else if (strcmp(cmd, "movements") == 0)
        status = movements_cmd(b, &in);
    else if (strcmp(cmd, "demo-cards") == 0)
        status =
            pay_bank_demo_cards_print(b, stdout) == 0
                ? 0
                : (fprintf(stderr, "paygate bank demo-cards: no demo cards (--demo-data)\n"), 1);
    else
        status = admin_cmd(b, cmd, c->verb, &in);
    pay_bank_close(b);
    return status;
}
