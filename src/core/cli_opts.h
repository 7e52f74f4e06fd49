/* The command-line options of the `paygate` subcommands: each command describes its options in
 * one table (name, value, what it does, where the value goes); one parser reads argv against
 * it and names what is wrong (an unknown option, a missing value, a missing required option),
 * and one printer lists every option with what it does for --help. Parser and help read the
 * same table, so they cannot disagree. Errors go to stderr as "paygate <cmd>: <why>". */
#ifndef PAY_CORE_CLI_OPTS_H
#define PAY_CORE_CLI_OPTS_H

#include <stdbool.h>
#include <stdio.h>

/* Exit status of a command line that cannot be used (unknown option, missing value or
 * option, bad value): what getopt-based tools use. */
#define PAY_CLI_USAGE 2

/* The column at which pay_cli_usage starts the help texts ("  --bank-merchant-dir DIR" fits
 * before it); other lists of options (pay_server_settings_usage) line up with it. */
#define PAY_CLI_HELP_COLUMN 28

enum pay_cli_flags {
    PAY_CLI_REQUIRED = 1, /* the parser refuses a command line without it */
};

struct pay_cli_opt {
    const char *name;   /* "--data-dir"; NULL ends the table */
    const char *arg;    /* name of the value in the help ("DIR"); NULL for a switch */
    const char *help;   /* what it does, one short line (the printer wraps nothing) */
    const char **value; /* options with a value: set to the argv entry (the last one given
                           wins); may be NULL when each is set */
    bool *set;          /* switches: set to true; options with a value: true once given */
    unsigned flags;     /* enum pay_cli_flags */
    /* Optional, options with a value: called with each value in order (repeatable options,
     * values checked on the spot); non-zero refuses the command line after the callback has
     * printed why. */
    int (*each)(void *ctx, const char *value);
};

/* Table entries: an option with a value, the same required, a switch, an option whose
 * values go to a callback, the end of the table. */
#define PAY_CLI_OPT(name_, arg_, help_, value_)                                                    \
    {                                                                                              \
        .name = (name_), .arg = (arg_), .help = (help_), .value = (value_)                         \
    }
#define PAY_CLI_REQ(name_, arg_, help_, value_)                                                    \
    {                                                                                              \
        .name = (name_), .arg = (arg_), .help = (help_), .value = (value_),                        \
        .flags = PAY_CLI_REQUIRED                                                                  \
    }
#define PAY_CLI_SWITCH(name_, help_, set_)                                                         \
    {                                                                                              \
        .name = (name_), .help = (help_), .set = (set_)                                            \
    }
#define PAY_CLI_EACH(name_, arg_, help_, each_)                                                    \
    {                                                                                              \
        .name = (name_), .arg = (arg_), .help = (help_), .each = (each_)                           \
    }
#define PAY_CLI_END                                                                                \
    {                                                                                              \
        .name = NULL                                                                               \
    }

/* Options that are not in the table: a command with a second family of options (the [server]
 * flags, src/http/settings.h) passes a function that takes argv[i] when it is one of them and
 * returns how many entries it used (1 or 2), 0 when it is not one, -1 when its value is missing
 * or unusable. */
typedef int (*pay_cli_other_fn)(void *ctx, int argc, char **argv, int i);

/* Parses argv[start..argc) against opts. Every entry must be an option of opts or taken by
 * other (may be NULL); ctx goes to other and to the each callbacks. Returns 0, or PAY_CLI_USAGE
 * after printing one of: "unknown option '--x' (see --help)", "unexpected argument 'x' (see
 * --help)", "--x needs a value", "--x is required". */
int pay_cli_parse(const char *cmd, const struct pay_cli_opt *opts, int argc, char **argv, int start,
                  pay_cli_other_fn other, void *ctx);

/* Prints one line per option of opts: "  --name ARG", padded to PAY_CLI_HELP_COLUMN, then the
 * help (on the next line when the option and its value do not fit before the column). */
void pay_cli_usage(FILE *out, const struct pay_cli_opt *opts);

/* True when argv[1..argc) holds -h or --help; the command then prints its usage to stdout and
 * returns 0. */
bool pay_cli_wants_help(int argc, char **argv);

/* The one answer of every --check-config that passed, on stdout:
 * "paygate <cmd>: configuration OK: <file>" (file NULL: "(no --config file)"). Returns 0, the
 * exit status. */
int pay_cli_config_ok(const char *cmd, const char *file);

#endif
