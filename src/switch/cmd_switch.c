/* `paygate switch`: the card network switch server and its offline administration commands
 * (members, the BIN table, funding settlement accounts), which open switch.db directly with the
 * same code as the server (docs/switch.md). */
#include "cli/commands.h"
#include "core/config.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "switch/switch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: paygate switch [serve] [options]     run the card network switch\n"
            "       paygate switch member add --data-dir D --member C --name N\n"
            "            --roles issuer|acquirer|issuer,acquirer [--bin PREFIX] [--funds MINOR]\n"
            "            --out DIR\n"
            "       paygate switch member fund --data-dir D --member C --amount MINOR\n"
            "       paygate switch member list --data-dir D    (members and the BIN table)\n"
            "       paygate switch bin add --data-dir D --prefix DIGITS --member C\n"
            "       paygate switch settle --data-dir D --date YYYY-MM-DD   (an ended business\n"
            "            day; the server's worker settles each day after its cut-off itself)\n"
            "  (docs/switch.md)\n\n"
            "server options: --config switch.ini ([server] and [switch] keys: the options with\n"
            "  '_'), --check-config (validate config and flags, then exit)\n"
            "%s"
            "  --name N --code C --print-url-file F --web-root DIR\n"
            "  --interchange-bp 50 --network-fee-bp 5 --issuer-timeout 8s\n"
            "  --allow-private-members yes|no --test-fault stall-after-issuer (tests only)\n",
            pay_server_settings_usage);
}

struct opts {
    const char *k[32], *v[32];
    int n;
};

static const char *get(const struct opts *o, const char *k)
{
    for (int i = o->n - 1; i >= 0; i--)
        if (strcmp(o->k[i], k) == 0)
            return o->v[i];
    return NULL;
}

static int parse(int argc, char **argv, int start, struct opts *o, struct pay_server_settings *srv)
{
    for (int i = start; i < argc; i++) {
        const char *a = argv[i];
        int used = pay_server_settings_flag(srv, argc, argv, i);
        if (used < 0) {
            fprintf(stderr, "paygate switch: %s needs a value (or it is too long)\n", a);
            return -1;
        }
        if (used > 0) {
            i += used - 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || o->n >= 32) {
            fprintf(stderr, "paygate switch: unexpected argument '%s'\n", a);
            return -1;
        }
        if (strcmp(a, "--check-config") == 0) {
            o->k[o->n] = a + 2;
            o->v[o->n++] = "yes";
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "paygate switch: %s needs a value\n", a);
            return -1;
        }
        o->k[o->n] = a + 2;
        o->v[o->n++] = argv[++i];
    }
    return 0;
}

static enum pay_err cfg_text(const struct pay_config *c, const char *key, char *dst, size_t n,
                             struct pay_error *e)
{
    const char *v = pay_config_get(c, "switch", key, NULL);
    if (v == NULL || v[0] == '\0')
        return PAY_ERR_OK;
    if (strlen(v) >= n)
        return pay_config_error(c, "switch", key, e, "longer than %zu bytes", n - 1);
    snprintf(dst, n, "%s", v);
    return PAY_ERR_OK;
}

static enum pay_err read_config(const struct pay_config *c, struct pay_switch_options *o,
                                struct pay_error *e)
{
    static const char *const sections[] = {"server", "switch", NULL};
    static const char *const keys[] = {
        "name",     "code",           "interchange_bp",        "network_fee_bp", "issuer_timeout",
        "web_root", "print_url_file", "allow_private_members", "test_fault",     NULL};
    enum pay_err rc;
    if ((rc = pay_config_check_sections(c, sections, e)) ||
        (rc = pay_server_settings_read(&o->server, c, e)) ||
        (rc = pay_config_check_keys(c, "switch", keys, e)) ||
        (rc = cfg_text(c, "name", o->name, sizeof o->name, e)) ||
        (rc = cfg_text(c, "code", o->code, sizeof o->code, e)) ||
        (rc = cfg_text(c, "web_root", o->web_root, sizeof o->web_root, e)) ||
        (rc = cfg_text(c, "print_url_file", o->print_url_file, sizeof o->print_url_file, e)) ||
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

/* A whole number option (digits only); "" or absent: dflt. */
static enum pay_err int_arg(const struct opts *in, const char *k, int64_t dflt, int64_t *out,
                            struct pay_error *e)
{
    const char *v = get(in, k);
    *out = dflt;
    if (!v)
        return PAY_ERR_OK;
    size_t n = strlen(v);
    if (n == 0 || n > 18 || strspn(v, "0123456789") != n || (n > 1 && v[0] == '0'))
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, k, "--%s: a whole number", k);
    *out = strtoll(v, NULL, 10);
    return PAY_ERR_OK;
}

static enum pay_err apply_flags(const struct opts *in, struct pay_switch_options *o,
                                struct pay_error *e)
{
    const char *v;
    struct pay_error pe = {0};
#define STR(key, f)                                                                                \
    if ((v = get(in, key)) != NULL)                                                                \
    snprintf(o->f, sizeof o->f, "%s", v)
    STR("name", name);
    STR("code", code);
    STR("web-root", web_root);
    STR("print-url-file", print_url_file);
    STR("test-fault", test_fault);
#undef STR
    if ((v = get(in, "allow-private-members")) != NULL)
        o->allow_private_members = strcmp(v, "no") != 0;
    enum pay_err rc = int_arg(in, "interchange-bp", o->interchange_bp, &o->interchange_bp, e);
    if (rc == PAY_ERR_OK)
        rc = int_arg(in, "network-fee-bp", o->network_fee_bp, &o->network_fee_bp, e);
    if (rc == PAY_ERR_OK && (v = get(in, "issuer-timeout")) != NULL &&
        pay_time_parse_duration_ms(v, &o->issuer_timeout_ms, &pe) != PAY_ERR_OK)
        rc = pay_error_set(e, PAY_ERR_CONFIG_INVALID, "issuer-timeout", "--issuer-timeout: %s",
                           pe.detail);
    return rc;
}

static int load_options(int argc, char **argv, int at, struct opts *in,
                        struct pay_switch_options *o)
{
    pay_switch_options_defaults(o);
    struct pay_config *cfg = NULL;
    struct pay_error e = {0};
    enum pay_err rc = PAY_ERR_OK;
    for (int i = at; i + 1 < argc && rc == PAY_ERR_OK; i++)
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
        rc = pay_server_settings_check(&o->server, &e);
    if (rc == PAY_ERR_OK) {
        snprintf(o->data_dir, sizeof o->data_dir, "%s", o->server.data_dir);
        rc = pay_switch_options_check(o, &e);
    }
    pay_config_free(cfg);
    if (rc == PAY_ERR_OK)
        return 0;
    fprintf(stderr, "paygate switch: %s\n", e.detail[0] ? e.detail : pay_err_message(rc));
    return 2;
}

static int fail(const char *what, enum pay_err rc, const struct pay_error *e)
{
    fprintf(stderr, "paygate switch %s: %s: %s%s%s\n", what, pay_err_name(rc),
            e->detail[0] ? e->detail : pay_err_message(rc), e->field[0] ? " field=" : "", e->field);
    return 1;
}

static int member_cmd(struct pay_switch *sw, const char *verb, const struct opts *in)
{
    struct pay_error e = {0};
    enum pay_err rc;
    if (strcmp(verb, "add") == 0) {
        struct pay_switch_member_new m = {.code = get(in, "member"),
                                          .name = get(in, "name"),
                                          .roles = get(in, "roles"),
                                          .bin = get(in, "bin")};
        const char *out = get(in, "out") ? get(in, "out") : ".";
        rc = int_arg(in, "funds", 0, &m.funds_minor, &e);
        if (rc == PAY_ERR_OK)
            rc = pay_switch_member_add(sw, &m, out, &e);
        if (rc != PAY_ERR_OK)
            return fail("member add", rc, &e);
        printf("member %s (%s): certificate, keys and member.json in %s\n", m.code, m.roles, out);
        return 0;
    }
    if (strcmp(verb, "fund") == 0) {
        int64_t amount = 0;
        rc = int_arg(in, "amount", 0, &amount, &e);
        if (rc == PAY_ERR_OK)
            rc = pay_switch_member_fund(sw, get(in, "member"), amount, &e);
        if (rc != PAY_ERR_OK)
            return fail("member fund", rc, &e);
        printf("funded %s with %lld\n", get(in, "member"), (long long)amount);
        return 0;
    }
    if (strcmp(verb, "list") == 0) {
        rc = pay_switch_members_print(sw, stdout, &e);
        return rc == PAY_ERR_OK ? 0 : fail("member list", rc, &e);
    }
    usage(stderr);
    return 2;
}

static int bin_cmd(struct pay_switch *sw, const char *verb, const struct opts *in)
{
    struct pay_error e = {0};
    if (strcmp(verb, "add") != 0) {
        usage(stderr);
        return 2;
    }
    enum pay_err rc = pay_switch_bin_add(sw, get(in, "prefix"), get(in, "member"), &e);
    if (rc != PAY_ERR_OK)
        return fail("bin add", rc, &e);
    printf("BIN %s -> %s\n", get(in, "prefix"), get(in, "member"));
    return 0;
}

static int settle_cmd(struct pay_switch *sw, const struct opts *in)
{
    struct pay_error e = {0};
    int members = 0;
    const char *date = get(in, "date");
    enum pay_err rc = pay_switch_settle(sw, date ? date : "", &members, &e);
    if (rc != PAY_ERR_OK)
        return fail("settle", rc, &e);
    printf(members ? "settled %s: %d members\n" : "%s: nothing to settle (or settled before)\n",
           date, members);
    return 0;
}

int pay_cmd_switch(int argc, char **argv)
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
    if (strcmp(cmd, "member") == 0 || strcmp(cmd, "bin") == 0)
        verb = at < argc ? argv[at++] : "";
    else if (strcmp(cmd, "serve") != 0 && strcmp(cmd, "settle") != 0) {
        usage(stderr);
        return 2;
    }
    struct opts in = {0};
    struct pay_switch_options o;
    if (load_options(argc, argv, at, &in, &o) != 0)
        return 2;
    if (get(&in, "check-config")) {
        printf("paygate switch: configuration OK\n");
        return 0;
    }
    if (strcmp(cmd, "serve") == 0)
        return pay_switch_serve(&o);
    o.name[0] = '\0'; /* --name of the offline commands names a member, not the switch */
    struct pay_switch *sw = NULL;
    struct pay_error e = {0};
    enum pay_err rc = pay_switch_open(&o, &sw, &e);
    int status = rc != PAY_ERR_OK             ? fail(cmd, rc, &e)
                 : strcmp(cmd, "member") == 0 ? member_cmd(sw, verb, &in)
                 : strcmp(cmd, "settle") == 0 ? settle_cmd(sw, &in)
                                              : bin_cmd(sw, verb, &in);
    pay_switch_close(sw);
    return status;
}
