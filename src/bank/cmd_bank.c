/* `paygate bank`: the sandbox bank server and its offline administration commands, which
 * open bank.db directly with the same code as the server (docs/bank.md). */
#include "bank/bank.h"
#include "cli/commands.h"
#include "core/config.h"
#include "core/log.h"
#include "core/money.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: paygate bank [serve] [options]        run a sandbox bank (docs/bank.md)\n"
        "       paygate bank merchant add --data-dir D --mer-id M --name N\n"
        "            --referrer-domain H --notify-domain H [--allow-no-referer] --out DIR\n"
        "       paygate bank merchant revoke --data-dir D (--serial HEX | --mer-id M)\n"
        "       paygate bank customer add --data-dir D --name N --phone P\n"
        "       paygate bank account add --data-dir D --customer C [--kind deposit|credit]\n"
        "            [--limit MINOR]\n"
        "       paygate bank card add --data-dir D (--customer C | --account A)\n"
        "            [--kind debit|credit] [--password 123456] [--expiry MM/YY] [--limit MINOR]\n"
        "       paygate bank deposit --data-dir D --account A --amount MINOR\n"
        "       paygate bank movements --data-dir D --account A [--cursor N]\n"
        "       paygate bank demo-cards --data-dir D   (the --demo-data cards with CVV2s)\n"
        "  (the same operations as the forms of /admin)\n\n"
        "server options: --config bank.ini ([server] and [bank] keys: the options with '_';\n"
        "  etc/bank.example.ini), --check-config (validate config and flags, then exit)\n"
        "%s"
        "  --name N --code C --bin 622202 --demo-data --print-url-file F\n"
        "  --name-en N (the name on English pages) --brand-color '#c7000b'\n"
        "  --notify-timeout 5s --notify-retry 1m,5m,... --allow-private-notify yes|no\n"
        "  --fast-hash (tests only) --admin-token T --web-root DIR\n"
        "  --sms-ttl 5m (shorter only to test expiry)\n",
        pay_server_settings_usage);
}

/* Generic --key value options into a small table; the [server] flags go to *srv. */
struct opts {
    const char *k[32], *v[32];
    int n;
};

static int parse(int argc, char **argv, int start, struct opts *o, struct pay_server_settings *srv)
{
    for (int i = start; i < argc; i++) {
        const char *a = argv[i];
        int used = pay_server_settings_flag(srv, argc, argv, i);
        if (used < 0) {
            fprintf(stderr, "paygate bank: %s needs a value (or it is too long)\n", a);
            return -1;
        }
        if (used > 0) {
            i += used - 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || o->n >= 32) {
            fprintf(stderr, "paygate bank: unexpected argument '%s'\n", a);
            return -1;
        }
        if (strcmp(a, "--demo-data") == 0 || strcmp(a, "--fast-hash") == 0 ||
            strcmp(a, "--allow-no-referer") == 0 || strcmp(a, "--check-config") == 0) {
            o->k[o->n] = a + 2;
            o->v[o->n++] = "yes";
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "paygate bank: %s needs a value\n", a);
            return -1;
        }
        o->k[o->n] = a + 2;
        o->v[o->n++] = argv[++i];
    }
    return 0;
}

static const char *get(const struct opts *o, const char *k)
{
    for (int i = o->n - 1; i >= 0; i--)
        if (strcmp(o->k[i], k) == 0)
            return o->v[i];
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
    if (strlen(v) >= n)
        return pay_config_error(c, "bank", key, e, "longer than %zu bytes", n - 1);
    snprintf(dst, n, "%s", v);
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
    static const char *const keys[] = {"name",
                                       "name_en",
                                       "brand_color",
                                       "code",
                                       "bin",
                                       "notify_timeout",
                                       "notify_retry",
                                       "allow_private_notify",
                                       "admin_token",
                                       "sms_ttl",
                                       "demo_data",
                                       "fast_hash",
                                       "web_root",
                                       "print_url_file",
                                       NULL};
    enum pay_err rc;
    if ((rc = pay_config_check_sections(c, sections, e)) ||
        (rc = pay_server_settings_read(&o->server, c, e)))
        return rc;
    /* listen and data_dir used to live in [bank]: say where they went */
    if (pay_config_get(c, "bank", "listen", NULL) || pay_config_get(c, "bank", "data_dir", NULL))
        return pay_config_error(c, "bank",
                                pay_config_get(c, "bank", "listen", NULL) ? "listen" : "data_dir",
                                e, "moved to the [server] section");
    if ((rc = pay_config_check_keys(c, "bank", keys, e)) ||
        (rc = cfg_text(c, "name", o->name, sizeof o->name, e)) ||
        (rc = cfg_text(c, "name_en", o->name_en, sizeof o->name_en, e)) ||
        (rc = cfg_text(c, "brand_color", o->brand_color, sizeof o->brand_color, e)) ||
        (rc = cfg_text(c, "code", o->code, sizeof o->code, e)) ||
        (rc = cfg_text(c, "bin", o->bin, sizeof o->bin, e)) ||
        (rc = cfg_text(c, "admin_token", o->admin_token, sizeof o->admin_token, e)) ||
        (rc = cfg_text(c, "web_root", o->web_root, sizeof o->web_root, e)) ||
        (rc = cfg_text(c, "print_url_file", o->print_url_file, sizeof o->print_url_file, e)))
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
    if ((v = get(in, key)) != NULL)                                                                \
    snprintf(o->f, sizeof o->f, "%s", v)
    STR("name", name);
    STR("name-en", name_en);
    STR("brand-color", brand_color);
    STR("code", code);
    STR("bin", bin);
    STR("web-root", web_root);
    STR("print-url-file", print_url_file);
    STR("admin-token", admin_token);
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
    snprintf(o->data_dir, sizeof o->data_dir, "%s", o->server.data_dir);
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
static int load_options(int argc, char **argv, int at, struct opts *in, struct pay_bank_options *o)
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
    if (rc == PAY_ERR_OK && parse(argc, argv, at, in, &o->server) != 0) {
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

static int merchant_cmd(struct pay_bank *b, const char *verb, const struct opts *in)
{
    struct pay_error e = {0};
    enum pay_err rc;
    if (strcmp(verb, "add") == 0) {
        struct pay_bank_merchant m = {.allow_no_referer = get(in, "allow-no-referer") != NULL};
        snprintf(m.mer_id, sizeof m.mer_id, "%s", get(in, "mer-id") ? get(in, "mer-id") : "");
        snprintf(m.name, sizeof m.name, "%s", get(in, "name") ? get(in, "name") : "");
        snprintf(m.referrer_domain, sizeof m.referrer_domain, "%s",
                 get(in, "referrer-domain") ? get(in, "referrer-domain") : "");
        snprintf(m.notify_domain, sizeof m.notify_domain, "%s",
                 get(in, "notify-domain") ? get(in, "notify-domain") : "");
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
    usage(stderr);
    return 2;
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

/* customer add / account add / card add / deposit: the shared operations of admin_ops.c. */
static int admin_cmd(struct pay_bank *b, const char *what, const struct opts *in)
{
    struct pay_error e = {0};
    char id[PAY_LEDGER_ID_MAX + 1] = "";
    int64_t minor = 0;
    enum pay_err rc;
    if (strcmp(what, "customer") == 0) {
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

int pay_cmd_bank(int argc, char **argv)
{
    if (pay_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    int at = 1;
    const char *cmd = argc > 1 && strncmp(argv[1], "--", 2) != 0 ? argv[1] : "serve";
    if (argc > 1 && strncmp(argv[1], "--", 2) != 0)
        at = 2;
    const char *verb = "";
    if (strcmp(cmd, "merchant") == 0 || strcmp(cmd, "customer") == 0 || strcmp(cmd, "card") == 0 ||
        strcmp(cmd, "account") == 0)
        verb = at < argc ? argv[at++] : "";
    struct opts in = {0};
    struct pay_bank_options o;
    if (load_options(argc, argv, at, &in, &o) != 0)
        return 2;
    if (get(&in, "check-config")) { /* nothing opened: the database stays untouched */
        printf("paygate bank: configuration OK\n");
        return 0;
    }
    if (strcmp(cmd, "serve") == 0)
        return pay_bank_serve(&o);
    o.name[0] = '\0'; /* --name of the offline commands names a merchant, not the bank */
    struct pay_bank *b = NULL;
    struct pay_error e = {0};
    enum pay_err rc = pay_bank_open(&o, &b, &e);
    int status;
    if (rc != PAY_ERR_OK)
        status = fail(cmd, rc, &e);
    else if (strcmp(cmd, "merchant") == 0)
        status = merchant_cmd(b, verb, &in);
    else if (strcmp(cmd, "customer") == 0 || strcmp(cmd, "card") == 0 ||
             strcmp(cmd, "account") == 0 || strcmp(cmd, "deposit") == 0)
        status = admin_cmd(b, cmd, &in);
    else if (strcmp(cmd, "movements") == 0)
        status = movements_cmd(b, &in);
    else if (strcmp(cmd, "demo-cards") == 0)
        status =
            pay_bank_demo_cards_print(b, stdout) == 0
                ? 0
                : (fprintf(stderr, "paygate bank demo-cards: no demo cards (--demo-data)\n"), 1);
    else {
        usage(stderr);
        status = 2;
    }
    pay_bank_close(b);
    return status;
}
