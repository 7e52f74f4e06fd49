/* `paygate risk check|simulate` (docs/risk.md): checks a rules file, or replays a file of
 * payment attempts against it and prints each decision, with the same engine and the same
 * counters (in a throwaway database) as the platform. */
#include "audit/audit.h"
#include "core/buf.h"
#include "core/cli_opts.h"
#include "core/money.h"
#include "core/timeutil.h"
#include "ledger/ledger.h"
#include "platform/platform.h"
#include "platform/risk.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIM_LABELS 32

static int usage(FILE *out, int status, const struct pay_cli_opt *opts)
{
    fprintf(out, "usage: paygate risk check --rules FILE\n"
                 "       paygate risk simulate --rules FILE --attempts FILE [--database PATH]\n"
                 "       paygate risk generate [--seed N] [--consumers N] [--days N] [--out FILE]\n"
                 "       paygate risk train --attempts FILE --out MODEL [--holdout-every N]\n\n"
                 "check reads a risk rules file (docs/risk.md, \"Rules\") and names the first\n"
                 "mistake by line. simulate replays the payment attempts of a file, one a line:\n"
                 "  t=90s label=normal consumer=c1 device=d1 ip=10.0.0.1 merchant=m1 amount=35.00\n"
                 "  (also login=, card=, currency= (CNY), method= (wallet), stepped_up=1, paid=0)\n"
                 "through the platform's risk engine, counters included, and prints each decision\n"
                 "and a summary by label. An allowed attempt counts as paid unless paid=0.\n"
                 "generate writes labelled traffic for simulate (normal shoppers, card testing,\n"
                 "account takeover, velocity bursts); train fits the learned score on such a file\n"
                 "and prints precision and recall on a held-out part (docs/risk.md).\n\n"
                 "Options:\n");
    pay_cli_usage(out, opts);
    fprintf(out, "\nExit 0, 1 when a file is refused (naming its line), 2 on usage errors.\n");
    return status;
}

#define sim_line pay_risk_sim_line

static int sim_word(struct sim_line *s, char *w)
{
    char *eq = strchr(w, '=');
    if (!eq)
        return -1;
    *eq = '\0';
    const char *v = eq + 1;
    static const char *const scopes[PAY_RISK_SCOPES] = {"consumer", "card", "device", "ip",
                                                        "merchant"};
    for (int i = 0; i < PAY_RISK_SCOPES; i++)
        if (strcmp(w, scopes[i]) == 0) {
            s->a.value[i] = v;
            return 0;
        }
    struct pay_error ignore = {0};
    if (strcmp(w, "t") == 0)
        return pay_time_parse_duration_ms(v, &s->t_ms, &ignore) == PAY_ERR_OK ? 0 : -1;
    const char **text[] = {&s->label, &s->amount, &s->a.currency, &s->a.method, &s->a.login};
    const char *names[] = {"label", "amount", "currency", "method", "login"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(w, names[i]) == 0) {
            *text[i] = v;
            return 0;
        }
    if (strcmp(w, "stepped_up") == 0 || strcmp(w, "paid") == 0) {
        bool one = strcmp(v, "1") == 0;
        if (!one && strcmp(v, "0") != 0)
            return -1;
        if (w[0] == 's')
            s->a.stepped_up = one;
        else
            s->unpaid = !one;
        return 0;
    }
    return -1;
}

int pay_risk_sim_parse(char *line, int no, struct pay_risk_sim_line *s, const char **why)
{
    memset(s, 0, sizeof *s);
    s->a.currency = "CNY";
    s->a.method = "wallet";
    s->label = "-";
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    int words = 0;
    for (char *w = strtok_r(line, " \t\r", &hash); w; w = strtok_r(NULL, " \t\r", &hash), words++)
        if (sim_word(s, w) != 0) {
            *why = "a word is not one of key=value (see --help)";
            return -1;
        }
    if (words == 0)
        return 1;
    struct pay_error perr = {0};
    if (!s->amount || pay_money_parse_amount(s->amount, s->a.currency, "amount", &s->a.amount_minor,
                                             &perr) != PAY_ERR_OK) {
        *why = "amount= is missing or not an amount of the currency";
        return -1;
    }
    snprintf(s->trade_id, sizeof s->trade_id, "sim-%d", no);
    s->a.trade_id = s->trade_id;
    s->a.at_ms = PAY_RISK_SIM_EPOCH_MS + s->t_ms;
    return 0;
}

struct sim {
    struct pay_risk risk;
    char *text; /* the attempts file; its lines are cut in place */
    const char *path;
    char labels[SIM_LABELS][PAY_RISK_NAME_MAX + 1];
    long counts[SIM_LABELS][PAY_RISK_DENY + 1];
    int n_labels;
    int bad_line;
    const char *why;
};

static void sim_count(struct sim *sim, const char *label, enum pay_risk_action a)
{
    int i = 0;
    while (i < sim->n_labels && strcmp(sim->labels[i], label) != 0)
        i++;
    if (i == sim->n_labels) {
        if (sim->n_labels == SIM_LABELS)
            i = SIM_LABELS - 1; /* the last row gathers the labels past the table */
        else
            pay_str_copy(sim->labels[sim->n_labels++], sizeof sim->labels[0], label);
    }
    sim->counts[i][a]++;
}

/* The whole file in one transaction of a throwaway database (nothing else writes to it, so
 * the body runs once): each attempt judged with the counters of those before it. */
static enum pay_err sim_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct sim *sim = ctx;
    int no = 0;
    enum pay_err e = PAY_ERR_OK;
    for (char *s = sim->text, *nl; s && e == PAY_ERR_OK; s = nl) {
        nl = strchr(s, '\n');
        if (nl)
            *nl++ = '\0';
        no++;
        struct sim_line l;
        struct pay_risk_decision d;
        int r = pay_risk_sim_parse(s, no, &l, &sim->why);
        if (r < 0) {
            sim->bad_line = no;
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, "attempts", "line %d", no);
        }
        if (r > 0)
            continue;
        e = pay_risk_decide_tx(&sim->risk, tx, &l.a, &d, err);
        if (e == PAY_ERR_OK && d.action == PAY_RISK_ALLOW && !l.unpaid)
            e = pay_risk_paid_tx(tx, d.id, err);
        if (e == PAY_ERR_OK) {
            printf("%d\t%s\t%s\t%s\n", no, l.label, pay_risk_action_name(d.action),
                   d.reasons[0] ? d.reasons : "-");
            sim_count(sim, l.label, d.action);
        }
    }
    return e;
}

static void sim_summary(const struct sim *sim)
{
    printf("\n%-24s %8s %8s %8s %8s\n", "label", "allow", "step-up", "review", "deny");
    for (int i = 0; i < sim->n_labels; i++)
        printf("%-24s %8ld %8ld %8ld %8ld\n", sim->labels[i], sim->counts[i][0], sim->counts[i][1],
               sim->counts[i][2], sim->counts[i][3]);
}

/* The throwaway database: the platform's schema (its risk table), unsynchronised. */
static enum pay_err sim_run(struct sim *sim, const char *db, struct pay_error *err)
{
    const struct pay_store_component *comps[] = {&pay_ledger_schema, &pay_platform_schema,
                                                 &pay_audit_schema, NULL};
    struct pay_store_options o = {.unsafe_no_sync = true}; /* a simulation: nothing to keep */
    struct pay_store *st = NULL;
    enum pay_err e = pay_store_open(db, &o, comps, &st, err);
    if (e == PAY_ERR_OK)
        e = pay_store_run_tx(st, sim_tx, sim, err);
    pay_store_close(st);
    if (e == PAY_ERR_OK)
        sim_summary(sim);
    return e;
}

static int simulate(const char *rules, const char *attempts, const char *database)
{
    struct sim sim = {.path = attempts};
    struct pay_error err = {0};
    char tmp[] = "/tmp/paygate-risk-sim-XXXXXX";
    char db[sizeof tmp + 16];
    size_t len = 0;
    sim.text = pay_file_read(attempts, PAY_RISK_SIM_FILE_MAX, &len);
    if (!sim.text) {
        fprintf(stderr, "paygate risk simulate: cannot read %s (missing, or over 64 MiB)\n",
                attempts);
        return 1;
    }
    bool own = database == NULL;
    if (own && !mkdtemp(tmp)) {
        free(sim.text);
        perror("paygate risk simulate: mkdtemp");
        return 1;
    }
    snprintf(db, sizeof db, "%s/sim.db", tmp);
    enum pay_err e = pay_risk_init(&sim.risk, rules, &err);
    if (e == PAY_ERR_OK)
        e = sim_run(&sim, own ? db : database, &err);
    pay_risk_fini(&sim.risk);
    free(sim.text);
    if (own) {
        const char *ext[] = {"", "-wal", "-shm"};
        for (int i = 0; i < 3; i++) {
            char f[sizeof db + 8];
            snprintf(f, sizeof f, "%s%s", db, ext[i]);
            unlink(f);
        }
        rmdir(tmp);
    }
    if (sim.bad_line)
        fprintf(stderr, "paygate risk simulate: %s:%d: %s\n", attempts, sim.bad_line, sim.why);
    else if (e != PAY_ERR_OK)
        fprintf(stderr, "paygate risk simulate: %s %s: %s\n", pay_err_name(e), err.field,
                err.detail[0] ? err.detail : pay_err_message(e));
    return e == PAY_ERR_OK ? 0 : 1;
}

static int check(const char *rules)
{
    struct pay_risk_rules *r = NULL;
    struct pay_error err = {0};
    if (pay_risk_rules_load(rules, &r, &err) != PAY_ERR_OK) {
        fprintf(stderr, "paygate risk check: %s\n", err.detail);
        return 1;
    }
    printf("risk check: %s: %zu rules, sha256 %s\n", rules, r->n, r->sha256);
    pay_risk_rules_free(r);
    return 0;
}

int pay_cmd_risk(int argc, char **argv)
{
    const char *rules = NULL, *attempts = NULL, *database = NULL;
    const struct pay_cli_opt opts[] = {
        PAY_CLI_REQ("--rules", "FILE", "the risk rules file (docs/risk.md)", &rules),
        PAY_CLI_OPT("--attempts", "FILE", "simulate: the attempts to replay, one a line",
                    &attempts),
        PAY_CLI_OPT("--database", "PATH",
                    "simulate: keep the counters in this SQLite file (default: a temporary one)",
                    &database),
        PAY_CLI_END};
    if (argc >= 2 && (strcmp(argv[1], "train") == 0 || strcmp(argv[1], "generate") == 0))
        return pay_cmd_risk_train(argc, argv); /* cmd_risk_train.c */
    if (pay_cli_wants_help(argc, argv))
        return usage(stdout, 0, opts);
    bool sim = argc >= 2 && strcmp(argv[1], "simulate") == 0;
    if (argc < 2 || (!sim && strcmp(argv[1], "check") != 0)) {
        fprintf(stderr, "paygate risk: %s (see --help)\n",
                argc < 2 ? "which command? check, simulate, generate or train" : "unknown command");
        return PAY_CLI_USAGE;
    }
    if (pay_cli_parse(sim ? "risk simulate" : "risk check", opts, argc, argv, 2, NULL, NULL) != 0)
        return PAY_CLI_USAGE;
    if (sim && !attempts) {
        fprintf(stderr, "paygate risk simulate: --attempts is required\n");
        return PAY_CLI_USAGE;
    }
    return sim ? simulate(rules, attempts, database) : check(rules);
}
