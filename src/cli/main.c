/* paygate: one binary, many subcommands (docs/architecture.md, "Processes"). */
#include "audit/audit.h"
#include "bank/bank.h"
#include "cli/commands.h"
#include "translog/translog.h"
#include "core/cli_opts.h"
#include "core/errors.h"
#include "ledger/ledger.h"
#include "platform/platform.h"
#include "store/backup.h"
#include "shop/shop.h"
#include "switch/switch.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const struct pay_command commands[] = {
    {"demo", "run two banks, the platform and the shop on loopback with demo data", pay_cmd_demo},
    {"bank", "run a sandbox bank (B2C gateway); merchant/customer/card add, deposit", pay_cmd_bank},
    {"switch", "run the card network switch (银联); member add, bin add", pay_cmd_switch},
    {"platform", "run the payment platform; merchant add, keygen", pay_cmd_platform},
    {"shop", "run the demo shop (built on libpaygate, the merchant SDK)", pay_cmd_shop},
    {"ledger", "ledger verify <db>: check every ledger invariant", pay_cmd_ledger},
    {"risk", "risk check / simulate: read risk rules, replay payment attempts against them",
     pay_cmd_risk},
    {"audit", "audit verify --database DB: find edited, removed or reordered entries",
     pay_cmd_audit},
    {"backup", "backup --data-dir D --out DIR: copy a server's data folder while it runs",
     pay_cmd_backup},
    {"receipt", "receipt verify FILE: check a payment's receipt offline (docs/receipts.md)",
     pay_cmd_receipt},
    {"errors", "print the error registry (--markdown for docs/errors.md)", pay_cmd_errors},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: paygate <command> [options]\n\n"
                 "paygate is an online payment system: a sandbox bank, a payment platform,\n"
                 "a demo shop and the ledger they share.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`paygate <command> --help` describes one command.\n");
}

int pay_cmd_errors(int argc, char **argv)
{
    bool markdown = false;
    const struct pay_cli_opt opts[] = {
        PAY_CLI_SWITCH("--markdown", "the Markdown table that docs/errors.md holds", &markdown),
        PAY_CLI_END};
    if (pay_cli_wants_help(argc, argv)) {
        printf("usage: paygate errors [--markdown]\n\n"
               "Prints every error code with its HTTP status and message.\n\n");
        pay_cli_usage(stdout, opts);
        return 0;
    }
    int bad = pay_cli_parse("errors", opts, argc, argv, 1, NULL, NULL);
    if (bad)
        return bad;
    if (markdown)
        return pay_err_write_markdown(stdout) == 0 ? 0 : 1;
    for (int i = 1; i < PAY_ERR__COUNT; i++)
        printf("%-28s %d  %s\n", pay_err_name((enum pay_err)i),
               pay_err_http_status((enum pay_err)i), pay_err_message((enum pay_err)i));
    return 0;
}

int main(int argc, char **argv)
{
    /* Whatever a paygate process creates (databases, keys, configs, logs) is its owner's alone
     * unless the code widens it on purpose (certificates and public keys: 0644). */
    umask(077);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("paygate %s\n", PAYGATE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "paygate: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
