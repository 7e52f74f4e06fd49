/* `paygate ledger verify DB`: checks every ledger invariant of a database (an SQLite file or
 * a postgresql:// URL) and prints a readable report; exit 0 when clean, 1 when an invariant is
 * violated, 2 on usage or I/O errors. */
#include "core/cli_opts.h"
#include "ledger/ledger.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int usage(FILE *out, int status)
{
    fprintf(out, "usage: paygate ledger verify DB\n\n"
                 "Checks the ledger in DB (an SQLite file, or a postgresql:// URL as in a\n"
                 "server's `database` setting): debits equal credits per currency\n"
                 "(posted and pending), every account's balances equal the sums over its\n"
                 "transfers, no flagged account crosses zero, every pending transfer resolved\n"
                 "at most once. Exit 0 when clean, 1 with a report of each violation, 2 when\n"
                 "DB cannot be opened. It has no options.\n");
    return status;
}

/* `verify DB`: the database (path or URL), or NULL after saying what is wrong with the command
 * line. */
static const char *verify_args(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "verify") != 0) {
        if (argc < 2)
            fprintf(stderr, "paygate ledger: which command? (verify; see --help)\n");
        else
            fprintf(stderr, "paygate ledger: unknown command '%s' (see --help)\n", argv[1]);
        return NULL;
    }
    const char *path = NULL;
    for (int i = 2; i < argc; i++) {
        if (argv[i][0] == '-' || path) {
            fprintf(stderr, "paygate ledger verify: %s '%s' (see --help)\n",
                    argv[i][0] == '-' ? "unknown option" : "unexpected argument", argv[i]);
            return NULL;
        }
        path = argv[i];
    }
    if (!path)
        fprintf(stderr, "paygate ledger verify: the database DB is required (see --help)\n");
    return path;
}

int pay_cmd_ledger(int argc, char **argv)
{
    if (pay_cli_wants_help(argc, argv))
        return usage(stdout, 0);
    const char *db = verify_args(argc, argv);
    if (!db)
        return PAY_CLI_USAGE;
    char path[600]; /* what we print: a URL's password masked */
    pay_store_redact(db, path, sizeof path);
    if (!pay_store_is_postgres(db) && access(db, R_OK | W_OK) != 0) {
        fprintf(stderr, "paygate ledger verify: cannot open %s\n", path);
        return 2;
    }
    const struct pay_store_component *schema[] = {&pay_ledger_schema, NULL};
    struct pay_store_options opts = {.readers = 1};
    struct pay_store *s = NULL;
    struct pay_error err = {0};
    enum pay_err e = pay_store_open(db, &opts, schema, &s, &err);
    size_t violations = 0;
    if (e == PAY_ERR_OK)
        e = pay_ledger_verify(s, stdout, &violations, &err);
    pay_store_close(s);
    if (e != PAY_ERR_OK) {
        fprintf(stderr, "paygate ledger verify: %s: %s\n", pay_err_name(e),
                err.detail[0] ? err.detail : pay_err_message(e));
        return 2;
    }
    if (violations) {
        printf("ledger verify: %zu violation(s) in %s\n", violations, path);
        return 1;
    }
    printf("ledger verify: %s is clean\n", path);
    return 0;
}
