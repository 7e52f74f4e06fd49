/* `paygate platform chain return` (docs/chain.md, "Returning held tokens"): the one process
 * that loads a key of the deposits, from a file of mode 0600 given on its command line, for one
 * run of the return job; the platform server never reads that file. And `paygate platform chain
 * anchor` (docs/receipts.md, "Anchoring on the chain"): the payment log's newest head anchored
 * now, with the anchor key of the [chain] section. */
#include "platform/chain.h"
#include "platform/platform.h"

#include "core/buf.h"
#include "core/cli_opts.h"
#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The account key: one line "xprv..." in a file only its owner may read. */
static enum pay_err key_load(const char *path, struct pay_chain_xprv *out, struct pay_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "key-file", "cannot read %s", path);
    if ((st.st_mode & 077) != 0)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "key-file",
                             "%s can be read by others: chmod 600 it", path);
    size_t len = 0;
    char *text = pay_file_read(path, PAY_CHAIN_XKEY_TEXT_LEN + 2, &len);
    if (text == NULL)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "key-file", "cannot read %s", path);
    text[strcspn(text, "\r\n")] = '\0';
    enum pay_err e = pay_chain_xprv_parse(text, "key-file", out, err);
    pay_wipe(text, len);
    free(text);
    return e;
}

static enum pay_err open_platform(const char *config, const char *data_dir, const char *database,
                                  struct pay_platform **p, struct pay_error *err)
{
    struct pay_platform_settings s;
    enum pay_err e = pay_platform_settings_load(&s, config, err);
    if (e != PAY_ERR_OK)
        return e;
    if (!pay_str_copy(s.server.data_dir, sizeof s.server.data_dir, data_dir) ||
        (database && !pay_str_copy(s.server.database, sizeof s.server.database, database))) {
        pay_platform_settings_fini(&s);
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, "data-dir", NULL);
    }
    return pay_platform_open(&s, p, err); /* *p owns s's banks from here */
}

int pay_platform_chain_cli_return(int argc, char **argv)
{
    const char *v[4] = {NULL};
    const struct pay_cli_opt opts[] = {
        PAY_CLI_REQ("--config", "FILE", "the platform's INI file (its [chain] section)", &v[0]),
        PAY_CLI_REQ("--data-dir", "DIR", "the platform's data folder", &v[1]),
        PAY_CLI_OPT("--database", "DB",
                    "the database the server uses, as its [server] database; default"
                    " DIR/platform.db",
                    &v[3]),
        PAY_CLI_REQ("--key-file", "FILE",
                    "the account key (xprv) whose /0 is the [chain] xpub, mode 0600", &v[2]),
        PAY_CLI_END};
    if (pay_cli_wants_help(argc, argv)) {
        printf("usage: paygate platform chain return [options]\n\nReturns held tokens (over-,"
               " short and late payments) on chain, and books\nthe returns sent before once"
               " confirmed (docs/chain.md).\nOptions:\n");
        pay_cli_usage(stdout, opts);
        return 0;
    }
    int bad = pay_cli_parse("platform chain return", opts, argc, argv, 1, NULL, NULL);
    if (bad)
        return bad;
    struct pay_error err = {0};
    struct pay_chain_xprv account;
    struct pay_platform *p = NULL;
    struct pay_platform_chain_return_stats st = {0};
    enum pay_err e = key_load(v[2], &account, &err);
    if (e == PAY_ERR_OK)
        e = open_platform(v[0], v[1], v[3], &p, &err);
    if (e == PAY_ERR_OK)
        e = pay_platform_chain_return_run(p, &account, &st, &err);
    pay_chain_xprv_wipe(&account);
    pay_platform_close(p);
    printf("returns: %d signed and sent, %d confirmed, %d failed on chain\n", st.signed_n,
           st.confirmed, st.failed);
    if (e != PAY_ERR_OK) {
        fprintf(stderr, "paygate platform chain return: %s %s: %s\n", pay_err_name(e), err.field,
                err.detail[0] ? err.detail : pay_err_message(e));
        return 1;
    }
    return 0;
}

int pay_platform_chain_cli_anchor(int argc, char **argv)
{
    const char *v[3] = {NULL};
    const struct pay_cli_opt opts[] = {
        PAY_CLI_REQ("--config", "FILE", "the platform's INI file (its [chain] section)", &v[0]),
        PAY_CLI_REQ("--data-dir", "DIR", "the platform's data folder", &v[1]),
        PAY_CLI_OPT("--database", "DB",
                    "the database the server uses, as its [server] database; default"
                    " DIR/platform.db",
                    &v[2]),
        PAY_CLI_END};
    if (pay_cli_wants_help(argc, argv)) {
        printf("usage: paygate platform chain anchor [options]\n\nAnchors the payment log's"
               " newest signed head on the chain now (or follows\nthe anchor in flight), with"
               " [chain] anchor_key_file (docs/receipts.md).\nOptions:\n");
        pay_cli_usage(stdout, opts);
        return 0;
    }
    int bad = pay_cli_parse("platform chain anchor", opts, argc, argv, 1, NULL, NULL);
    if (bad)
        return bad;
    struct pay_error err = {0};
    struct pay_platform *p = NULL;
    struct pay_platform_chain_anchor a = {0};
    enum pay_err e = open_platform(v[0], v[1], v[2], &p, &err);
    if (e == PAY_ERR_OK)
        e = pay_platform_chain_anchor_step(p, true, &a, &err);
    pay_platform_close(p);
    if (e != PAY_ERR_OK) {
        fprintf(stderr, "paygate platform chain anchor: %s %s: %s\n", pay_err_name(e), err.field,
                err.detail[0] ? err.detail : pay_err_message(e));
        return 1;
    }
    if (a.tree_size == 0)
        printf("anchor: no signed head yet\n");
    else if (strcmp(a.status, "confirmed") == 0)
        printf("anchor: head of %lld leaves confirmed in block %lld, tx %s\n",
               (long long)a.tree_size, (long long)a.block_number, a.tx_hash);
    else
        printf("anchor: head of %lld leaves %s, tx %s\n", (long long)a.tree_size, a.status,
               a.tx_hash);
    return 0;
}
