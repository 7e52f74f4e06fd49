/* `paygate audit verify --database DB [--public-key FILE]`: checks a server's audit log
 * (docs/audit.md) and names every edited, removed or reordered entry. Exit 0 when intact, 1
 * with a report of each problem, 2 on usage or I/O errors. */
#include "audit/audit.h"
#include "core/buf.h"
#include "core/cli_opts.h"
#include "core/limits.h"
#include "crypto/sign.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int usage(FILE *out, int status, const struct pay_cli_opt *opts)
{
    fprintf(out, "usage: paygate audit verify --database DB [--public-key FILE]\n\n"
                 "Checks the audit log in DB (a platform's platform.db or a bank's bank.db, or\n"
                 "the postgresql:// URL of a server's database): entries numbered 1..n without "
                 "gaps, each entry's SHA-256 over\n"
                 "its contents, each chained to the one before it, every checkpoint signed by the\n"
                 "server's key and matching its entry, none past the end. Prints one line per\n"
                 "problem naming the entry (edited, missing, out of order) and a summary.\n\n"
                 "Options:\n");
    pay_cli_usage(out, opts);
    fprintf(out,
            "\nWithout --public-key the key is read beside the database:\n"
            "platform-signing-key.pem (platform) or keys/sign.key (bank).\n"
            "Exit 0 when the log is intact, 1 with the report of each problem, 2 on errors.\n");
    return status;
}

/* The server's key beside the database (the server's data dir). */
static int key_beside(const char *db, struct pay_sig_pubkey *key, struct pay_rsa_key **rsa)
{
    char copy[4096], path[4200];
    if (!pay_str_copy(copy, sizeof copy, db))
        return -1; /* no such path: no key found */
    const char *dir = dirname(copy);
    struct pay_ed25519_key ed;
    snprintf(path, sizeof path, "%s/platform-signing-key.pem", dir);
    if (access(path, R_OK) == 0 && pay_ed25519_key_load(path, &ed) == 0) {
        memcpy(key->ed25519, ed.pk, sizeof ed.pk);
        pay_ed25519_key_fini(&ed);
        key->alg = PAY_SIG_ED25519;
        return 0;
    }
    snprintf(path, sizeof path, "%s/keys/sign.key", dir);
    if (access(path, R_OK) == 0 && pay_rsa_key_load(path, rsa) == 0) {
        key->alg = PAY_SIG_RSA_SHA256;
        key->rsa = *rsa;
        return 0;
    }
    return -1;
}

static int load_key(const char *db, const char *key_file, struct pay_sig_pubkey *key,
                    struct pay_rsa_key **rsa)
{
    if (!key_file) {
        if (!pay_store_is_postgres(db) && key_beside(db, key, rsa) == 0)
            return 0;
        char shown[600]; /* a URL's password masked */
        pay_store_redact(db, shown, sizeof shown);
        fprintf(stderr, "paygate audit verify: no server key beside %s; give --public-key\n",
                shown);
        return -1;
    }
    size_t len = 0;
    char *pem = pay_file_read(key_file, PAY_AUDIT_KEY_FILE_MAX, &len);
    int rc = pem ? pay_sig_pubkey_from_pem(pem, len, key, rsa) : -1;
    free(pem);
    if (rc != 0)
        fprintf(stderr, "paygate audit verify: %s: not an Ed25519 or RSA key in PEM\n", key_file);
    return rc;
}

static int verify(const char *db, const char *key_file)
{
    char shown[600]; /* what we print: a URL's password masked */
    pay_store_redact(db, shown, sizeof shown);
    if (!pay_store_is_postgres(db) && access(db, R_OK | W_OK) != 0) {
        fprintf(stderr, "paygate audit verify: cannot open %s\n", shown);
        return 2;
    }
    struct pay_sig_pubkey key = {0};
    struct pay_rsa_key *rsa = NULL;
    if (pay_crypto_init() != 0 || load_key(db, key_file, &key, &rsa) != 0)
        return 2;
    const struct pay_store_component *schema[] = {&pay_audit_schema, NULL};
    struct pay_store_options opts = {.readers = 1};
    struct pay_store *s = NULL;
    struct pay_error err = {0};
    size_t problems = 0;
    enum pay_err e = pay_store_open(db, &opts, schema, &s, &err);
    if (e == PAY_ERR_OK)
        e = pay_audit_verify(s, &key, stdout, &problems, &err);
    pay_store_close(s);
    pay_rsa_key_free(rsa);
    if (e != PAY_ERR_OK) {
        fprintf(stderr, "paygate audit verify: %s: %s\n", pay_err_name(e),
                err.detail[0] ? err.detail : pay_err_message(e));
        return 2;
    }
    printf("audit verify: %s is %s\n", shown, problems ? "NOT intact" : "intact");
    return problems ? 1 : 0;
}

int pay_cmd_audit(int argc, char **argv)
{
    const char *db = NULL, *key_file = NULL;
    const struct pay_cli_opt opts[] = {
        PAY_CLI_REQ("--database", "DB",
                    "the server's database: its SQLite file (platform.db or bank.db) or its"
                    " postgresql:// URL (then give --public-key)",
                    &db),
        PAY_CLI_OPT("--public-key", "FILE",
                    "its public key, PEM (Ed25519 or RSA; a bank's: /api/v1/bank-key.pem)",
                    &key_file),
        PAY_CLI_END};
    if (pay_cli_wants_help(argc, argv))
        return usage(stdout, 0, opts);
    if (argc < 2 || strcmp(argv[1], "verify") != 0) {
        fprintf(stderr, "paygate audit: %s (see --help)\n",
                argc < 2 ? "which command? verify" : "unknown command; the one command is verify");
        return PAY_CLI_USAGE;
    }
    if (pay_cli_parse("audit verify", opts, argc, argv, 2, NULL, NULL) != 0)
        return PAY_CLI_USAGE;
    return verify(db, key_file);
}
