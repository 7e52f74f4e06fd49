/* `paygate switch`: the card network switch server and its offline administration commands
 * (members, the BIN table, funding settlement accounts, settling a business day), which open
 * switch.db directly with the same code as the server (docs/switch.md). Every command's options
 * are one table (core/cli_opts.h) that the parser and --help share. */
#include "core/cli_opts.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "switch/switch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The values of the options (the parser points them at argv; the last one given wins). */
static struct {
    const char *config, *name, *code, *web_root, *test_fault, *allow_private;
    const char *interchange_bp, *network_fee_bp, *issuer_timeout;
    const char *member, *roles, *bin, *funds, *out, *amount, *prefix, *date;
    bool check_config;
} v;

static const struct pay_cli_opt serve_flags[] = {
    PAY_CLI_OPT("--config", "FILE", "INI file with [server] and [switch]", &v.config),
    PAY_CLI_SWITCH("--check-config", "check the file and the flags, then exit: 0 ok, 2 not",
                   &v.check_config),
    PAY_CLI_OPT("--name", "NAME", "the network's name (default: stored, else UnionPay Sandbox)",
                &v.name),
    PAY_CLI_OPT("--code", "CODE", "its code, [a-z0-9]{2,16}: keyId of its signatures (cup)",
                &v.code),
    PAY_CLI_OPT("--interchange-bp", "N", "interchange, basis points of a purchase (50)",
                &v.interchange_bp),
    PAY_CLI_OPT("--network-fee-bp", "N", "the network's fee, basis points (5)", &v.network_fee_bp),
    PAY_CLI_OPT("--issuer-timeout", "DURATION", "wait this long for an issuer (8s; at most 10s)",
                &v.issuer_timeout),
    PAY_CLI_OPT("--allow-private-members", "yes|no",
                "member URLs on loopback/private addresses (yes)", &v.allow_private),
    PAY_CLI_OPT("--web-root", "DIR", "templates and static files (default: the source tree's)",
                &v.web_root),
    PAY_CLI_OPT("--test-fault", "FAULT", "tests only, with --fake-clock: stall-after-issuer",
                &v.test_fault),
    PAY_CLI_END};
static const struct pay_cli_opt member_add_flags[] = {
    PAY_CLI_REQ("--member", "CODE", "the member's code, [a-z0-9]{2,16} (its bank's code)",
                &v.member),
    PAY_CLI_REQ("--name", "NAME", "the member's name", &v.name),
    PAY_CLI_REQ("--roles", "ROLES", "issuer, acquirer or issuer,acquirer", &v.roles),
    PAY_CLI_OPT("--bin", "PREFIX", "a first BIN table entry (2-11 digits)", &v.bin),
    PAY_CLI_OPT("--funds", "MINOR", "sandbox: central bank money into its settlement account",
                &v.funds),
    PAY_CLI_REQ("--out", "DIR", "the member folder: its keys, certificates, member.json", &v.out),
    PAY_CLI_END};
static const struct pay_cli_opt member_fund_flags[] = {
    PAY_CLI_REQ("--member", "CODE", "the member", &v.member),
    PAY_CLI_REQ("--amount", "MINOR", "central bank money into its settlement account", &v.amount),
    PAY_CLI_END};
static const struct pay_cli_opt bin_add_flags[] = {
    PAY_CLI_REQ("--prefix", "DIGITS", "2-11 digits; the longest matching prefix routes a card",
                &v.prefix),
    PAY_CLI_REQ("--member", "CODE", "the issuer of the cards it starts", &v.member), PAY_CLI_END};
static const struct pay_cli_opt settle_flags[] = {
    PAY_CLI_REQ("--date", "YYYY-MM-DD", "an ended business day (UTC)", &v.date), PAY_CLI_END};
static const struct pay_cli_opt no_flags[] = {PAY_CLI_END};

static const struct switch_cmd {
    const char *noun, *verb, *about;
    const struct pay_cli_opt *flags;
} cmds[] = {
    {"serve", NULL, "Runs the card network switch (docs/switch.md).", serve_flags},
    {"member", "add", "Admits a member bank: certificate, sealing key, settlement account.",
     member_add_flags},
    {"member", "fund", "Sandbox: central bank money into a member's settlement account.",
     member_fund_flags},
    {"member", "list", "Lists the members and the BIN table.", no_flags},
    {"bin", "add", "Adds (or moves) a BIN table entry.", bin_add_flags},
    {"settle", NULL,
     "Settles an ended business day now (the server's worker does it after the cut-off).",
     settle_flags},
};
#define N_CMDS (sizeof cmds / sizeof cmds[0])

static void usage(FILE *out, const struct switch_cmd *only)
{
    fprintf(out, "usage:\n");
    for (size_t i = 0; i < N_CMDS; i++) {
        const struct switch_cmd *c = &cmds[i];
        if (!only || c == only)
            fprintf(out, "  paygate switch %s%s%s%s\n      %s\n", c->noun, c->verb ? " " : "",
                    c->verb ? c->verb : "",
                    c == &cmds[0] ? " [options]" : " --data-dir D [options]", c->about);
    }
    if (!only)
        fprintf(out, "  (`paygate switch <command> --help` lists each command's options)\n");
    fprintf(out, "\nOptions:\n");
    pay_cli_usage(out, (only ? only : &cmds[0])->flags);
    fprintf(out, "\nServer options (the [server] keys; the offline commands need --data-dir):\n%s",
            pay_server_settings_usage);
}

/* The command argv names (serve when it starts with an option), its first option in *at. */
static const struct switch_cmd *find_cmd(int argc, char **argv, int *at)
{
    *at = 1;
    if (argc < 2 || argv[1][0] == '-')
        return &cmds[0];
    for (size_t i = 0; i < N_CMDS; i++) {
        const struct switch_cmd *c = &cmds[i];
        if (strcmp(argv[1], c->noun) != 0)
            continue;
        *at = c->verb ? 3 : 2;
        if (!c->verb || (argc > 2 && strcmp(argv[2], c->verb) == 0))
            return c;
    }
    fprintf(stderr, "paygate switch: unknown command '%s%s%s' (see --help)\n", argv[1],
            argc > 2 ? " " : "", argc > 2 ? argv[2] : "");
    return NULL;
}

static int server_flag(void *ctx, int argc, char **argv, int i)
{
    return pay_server_settings_flag(ctx, argc, argv, i);
}

static enum pay_err cfg_text(const struct pay_config *c, const char *key, char *dst, size_t n,
                             struct pay_error *e)
{
    const char *val = pay_config_get(c, "switch", key, NULL);
    if (val == NULL || val[0] == '\0')
        return PAY_ERR_OK;
    if (strlen(val) >= n)
        return pay_config_error(c, "switch", key, e, "longer than %zu bytes", n - 1);
    pay_str_copy(dst, n, val);
    return PAY_ERR_OK;
}

static enum pay_err read_config(const struct pay_config *c, struct pay_switch_options *o,
                                struct pay_error *e)
{
    static const char *const sections[] = {"server", "switch", NULL};
    static const char *const keys[] = {"name",
                                       "code",
                                       "interchange_bp",
                                       "network_fee_bp",
                                       "issuer_timeout",
                                       "web_root",
                                       "allow_private_members",
                                       "test_fault",
                                       NULL};
    enum pay_err rc;
    if ((rc = pay_config_check_sections(c, sections, e)) ||
        (rc = pay_server_settings_read(&o->server, c, e)) ||
        (rc = pay_config_check_keys(c, "switch", keys, e)) ||
        (rc = cfg_text(c, "name", o->name, sizeof o->name, e)) ||
        (rc = cfg_text(c, "code", o->code, sizeof o->code, e)) ||
        (rc = cfg_text(c, "web_root", o->web_root, sizeof o->web_root, e)) ||
        (rc = cfg_text(c, "test_fault", o->test_fault, sizeof o->test_fault, e)) ||
        (rc = pay_config_get_int(c, "switch", "interchange_bp", o->interchange_bp, 0,
                                 PAY_NET_FEE_BP_MAX, &o->interchange_bp, e)) ||
        (rc = pay_config_get_int(c, "switch", "network_fee_bp", o->network_fee_bp, 0,
                                 PAY_NET_FEE_BP_MAX, &o->network_fee_bp, e)) ||
        (rc = pay_config_get_duration_ms(c, "switch", "issuer_timeout", o->issuer_timeout_ms,
                                         &o->issuer_timeout_ms, e)))
        return rc;
    return pay_config_get_bool(c, "switch", "allow_private_members", o->allow_private_members,
                               &o->allow_private_members, e);
}

/* A whole number option (digits only); absent: dflt. */
static enum pay_err int_arg(const char *val, const char *k, int64_t dflt, int64_t *out,
                            struct pay_error *e)
{
    *out = dflt;
    if (!val)
        return PAY_ERR_OK;
    size_t n = strlen(val);
    if (n == 0 || n > 18 || strspn(val, "0123456789") != n || (n > 1 && val[0] == '0'))
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, k, "--%s: a whole number", k);
    *out = strtoll(val, NULL, 10);
    return PAY_ERR_OK;
}

static enum pay_err apply_flags(struct pay_switch_options *o, struct pay_error *e)
{
    struct pay_error pe = {0};
#define STR(val, f)                                                                                \
    if ((val) != NULL)                                                                             \
    pay_str_copy(o->f, sizeof o->f, (val))
    STR(v.name, name);
    STR(v.code, code);
    STR(v.web_root, web_root);
    STR(v.test_fault, test_fault);
#undef STR
    if (v.allow_private)
        o->allow_private_members = strcmp(v.allow_private, "no") != 0;
    enum pay_err rc =
        int_arg(v.interchange_bp, "interchange-bp", o->interchange_bp, &o->interchange_bp, e);
    if (rc == PAY_ERR_OK)
        rc = int_arg(v.network_fee_bp, "network-fee-bp", o->network_fee_bp, &o->network_fee_bp, e);
    if (rc == PAY_ERR_OK && v.issuer_timeout &&
        pay_time_parse_duration_ms(v.issuer_timeout, &o->issuer_timeout_ms, &pe) != PAY_ERR_OK)
        rc = pay_error_set(e, PAY_ERR_CONFIG_INVALID, "issuer-timeout", "--issuer-timeout: %s",
                           pe.detail);
    return rc;
}

/* Config file, then flags, then the checks; PAY_CLI_USAGE after saying what is wrong. */
static int load_options(const struct switch_cmd *c, int argc, char **argv, int at,
                        struct pay_switch_options *o)
{
    pay_switch_options_defaults(o);
    struct pay_config *cfg = NULL;
    struct pay_error e = {0};
    char name[32];
    snprintf(name, sizeof name, "switch %s%s%s", c->noun, c->verb ? " " : "",
             c->verb ? c->verb : "");
    if (pay_cli_parse(name, c->flags, argc, argv, at, server_flag, &o->server) != 0)
        return PAY_CLI_USAGE;
    enum pay_err rc = v.config ? pay_config_load(v.config, &cfg, &e) : PAY_ERR_OK;
    if (rc == PAY_ERR_OK && cfg)
        rc = read_config(cfg, o, &e);
    if (rc == PAY_ERR_OK && cfg) /* the flags again: they win over the file */
        rc = pay_cli_parse(name, c->flags, argc, argv, at, server_flag, &o->server) == 0
                 ? PAY_ERR_OK
                 : PAY_ERR_CONFIG_INVALID;
    if (rc == PAY_ERR_OK && c == &cmds[0])
        rc = apply_flags(o, &e);
    if (rc == PAY_ERR_OK)
        rc = pay_server_settings_check(&o->server, &e);
    if (rc == PAY_ERR_OK) {
        pay_str_copy(o->data_dir, sizeof o->data_dir, o->server.data_dir);
        rc = pay_switch_options_check(o, &e);
    }
    pay_config_free(cfg);
    if (rc == PAY_ERR_OK)
        return 0;
    fprintf(stderr, "paygate switch: %s\n", e.detail[0] ? e.detail : pay_err_message(rc));
    return PAY_CLI_USAGE;
}

static int fail(const struct switch_cmd *c, enum pay_err rc, const struct pay_error *e)
{
    fprintf(stderr, "paygate switch %s%s%s: %s: %s%s%s\n", c->noun, c->verb ? " " : "",
            c->verb ? c->verb : "", pay_err_name(rc),
            e->detail[0] ? e->detail : pay_err_message(rc), e->field[0] ? " field=" : "", e->field);
    return 1;
}

/* One offline command on the open switch. */
static int run(struct pay_switch *sw, const struct switch_cmd *c)
{
    struct pay_error e = {0};
    enum pay_err rc = PAY_ERR_OK;
    int64_t n = 0;
    int members = 0;
    if (c->flags == member_add_flags) {
        struct pay_switch_member_new m = {v.member, v.name, v.roles, v.bin, 0};
        rc = int_arg(v.funds, "funds", 0, &m.funds_minor, &e);
        if (rc == PAY_ERR_OK)
            rc = pay_switch_member_add(sw, &m, v.out, &e);
        if (rc == PAY_ERR_OK)
            printf("member %s (%s): certificate, keys and member.json in %s\n", m.code, m.roles,
                   v.out);
    } else if (c->flags == member_fund_flags) {
        rc = int_arg(v.amount, "amount", 0, &n, &e);
        if (rc == PAY_ERR_OK)
            rc = pay_switch_member_fund(sw, v.member, n, &e);
        if (rc == PAY_ERR_OK)
            printf("funded %s with %lld\n", v.member, (long long)n);
    } else if (c->flags == bin_add_flags) {
        rc = pay_switch_bin_add(sw, v.prefix, v.member, &e);
        if (rc == PAY_ERR_OK)
            printf("BIN %s -> %s\n", v.prefix, v.member);
    } else if (c->flags == settle_flags) {
        rc = pay_switch_settle(sw, v.date, &members, &e);
        if (rc == PAY_ERR_OK)
            printf(members ? "settled %s: %d members\n"
                           : "%s: nothing to settle (or settled before)\n",
                   v.date, members);
    } else {
        rc = pay_switch_members_print(sw, stdout, &e);
    }
    return rc == PAY_ERR_OK ? 0 : fail(c, rc, &e);
}

int pay_cmd_switch(int argc, char **argv)
{
    int at = 1;
    const struct switch_cmd *c = find_cmd(argc, argv, &at);
    if (pay_cli_wants_help(argc, argv)) {
        usage(stdout, c && at > 1 ? c : NULL);
        return 0;
    }
    if (!c)
        return PAY_CLI_USAGE;
    struct pay_switch_options o;
    if (load_options(c, argc, argv, at, &o) != 0)
        return PAY_CLI_USAGE;
    if (v.check_config)
        return pay_cli_config_ok("switch", v.config);
    if (c == &cmds[0])
        return pay_switch_serve(&o);
    o.name[0] = '\0'; /* --name of the offline commands names a member, not the switch */
    struct pay_switch *sw = NULL;
    struct pay_error e = {0};
    enum pay_err rc = pay_switch_open(&o, &sw, &e);
    int status = rc != PAY_ERR_OK ? fail(c, rc, &e) : run(sw, c);
    pay_switch_close(sw);
    return status;
}
