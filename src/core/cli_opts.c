/* Command-line options from one table per command; see cli_opts.h. */
#include "core/cli_opts.h"

#include "core/assertions.h"
#include "core/limits.h"

#include <string.h>

static int find(const struct pay_cli_opt *opts, const char *name)
{
    for (int k = 0; opts[k].name; k++)
        if (strcmp(opts[k].name, name) == 0)
            return k;
    return -1;
}

/* Takes opts[k] at argv[i]: the entries used (1 or 2), or -1 after printing why not. */
static int take(const char *cmd, const struct pay_cli_opt *o, int argc, char **argv, int i,
                void *ctx)
{
    if (o->arg == NULL) {
        if (o->set)
            *o->set = true;
        return 1;
    }
    if (i + 1 >= argc) {
        fprintf(stderr, "paygate %s: %s needs a value (%s)\n", cmd, o->name, o->arg);
        return -1;
    }
    const char *v = argv[i + 1];
    if (o->value)
        *o->value = v;
    if (o->set)
        *o->set = true;
    if (o->each && o->each(ctx, v) != 0)
        return -1;
    return 2;
}

int pay_cli_parse(const char *cmd, const struct pay_cli_opt *opts, int argc, char **argv, int start,
                  pay_cli_other_fn other, void *ctx)
{
    bool seen[PAY_CLI_OPTS_MAX] = {false};
    for (int i = start; i < argc;) {
        int k = find(opts, argv[i]), used = 0;
        PAY_ASSERT(k < PAY_CLI_OPTS_MAX);
        if (k >= 0) {
            used = take(cmd, &opts[k], argc, argv, i, ctx);
            if (used < 0)
                return PAY_CLI_USAGE;
            seen[k] = true;
        } else if (other && (used = other(ctx, argc, argv, i)) < 0) {
            fprintf(stderr, "paygate %s: %s needs a value (or it is too long)\n", cmd, argv[i]);
            return PAY_CLI_USAGE;
        }
        if (used == 0) {
            fprintf(stderr, "paygate %s: %s '%s' (see --help)\n", cmd,
                    strncmp(argv[i], "-", 1) == 0 ? "unknown option" : "unexpected argument",
                    argv[i]);
            return PAY_CLI_USAGE;
        }
        i += used;
    }
    for (int k = 0; opts[k].name; k++)
        if ((opts[k].flags & PAY_CLI_REQUIRED) && !seen[k]) {
            fprintf(stderr, "paygate %s: %s is required (see --help)\n", cmd, opts[k].name);
            return PAY_CLI_USAGE;
        }
    return 0;
}

void pay_cli_usage(FILE *out, const struct pay_cli_opt *opts)
{
    for (int k = 0; opts[k].name; k++) {
        char left[64];
        int len = snprintf(left, sizeof left, "  %s%s%s", opts[k].name, opts[k].arg ? " " : "",
                           opts[k].arg ? opts[k].arg : "");
        /* a long option and value: the help goes on the next line, at the column */
        int pad = len < PAY_CLI_HELP_COLUMN - 1 ? PAY_CLI_HELP_COLUMN - len : 0;
        fprintf(out, "%s%s%*s%s%s\n", left, pad ? "" : "\n", pad ? pad : PAY_CLI_HELP_COLUMN, "",
                opts[k].help, (opts[k].flags & PAY_CLI_REQUIRED) ? " (required)" : "");
    }
}

bool pay_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

int pay_cli_config_ok(const char *cmd, const char *file)
{
    printf("paygate %s: configuration OK: %s\n", cmd, file ? file : "(no --config file)");
    fflush(stdout);
    return 0;
}
