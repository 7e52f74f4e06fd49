/* `paygate receipt verify FILE --platform-key PEM [--witness NAME=PEM]... [--quorum N]
 * [--chain URL --chain-id N --anchor-address ADDR [--confirmations K]]`: checks a payment's
 * receipt offline (docs/receipts.md, "Verifying a receipt") with the published keys, and with
 * --chain its head's anchor on the chain, asking the node given. Exit 0 when it verifies, 1 when
 * it does not (the error says which check failed), 2 on usage or I/O errors (a node that cannot
 * be asked). */
#include "chain/anchor.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/cli_opts.h"
#include "translog/translog.h"

#include <stdlib.h>
#include <string.h>

static int usage(FILE *out, int status, const struct pay_cli_opt *opts)
{
    fprintf(out, "usage: paygate receipt verify FILE --platform-key PEM [--witness NAME=PEM]...\n"
                 "                              [--quorum N] [--chain URL --chain-id N\n"
                 "                              --anchor-address ADDR [--confirmations K]]\n\n"
                 "Checks the payment receipt in FILE (JSON, docs/receipts.md) offline: the tree\n"
                 "head signed by the platform's key, the witnesses' co-signatures, and the\n"
                 "payment's inclusion proof into the signed root. With --chain, also that the\n"
                 "head is the one anchored on the chain where the receipt's anchor says.\n\n"
                 "Options:\n");
    pay_cli_usage(out, opts);
    fprintf(out, "\nThe platform's key: public_key_pem of GET /.well-known/paygate-platform-key.\n"
                 "A bank's: GET /api/v1/bank-key.pem. Exit 0 when the receipt verifies, 1 when it\n"
                 "does not (the error names the check), 2 on usage or I/O errors.\n");
    return status;
}

struct keys {
    struct pay_translog_trust t;
    const char *chain_url, *chain_id, *anchor_address, *confirmations; /* --chain and its kin */
    struct pay_rsa_key *rsa[PAY_TRANSLOG_WITNESS_MAX + 1];
    size_t n_rsa;
};

static int load_key(struct keys *k, const char *file, struct pay_sig_pubkey *out)
{
    size_t len = 0;
    char *pem = pay_file_read(file, PAY_TRANSLOG_KEY_FILE_MAX, &len);
    struct pay_rsa_key *rsa = NULL;
    int rc = pem ? pay_sig_pubkey_from_pem(pem, len, out, &rsa) : -1;
    free(pem);
    if (rsa)
        k->rsa[k->n_rsa++] = rsa;
    if (rc != 0)
        fprintf(stderr, "paygate receipt verify: %s: not an Ed25519 or RSA key in PEM\n", file);
    return rc;
}

/* --witness NAME=PEM, repeatable. */
static int add_witness(void *ctx, const char *value)
{
    struct keys *k = ctx;
    const char *eq = strchr(value, '=');
    if (!eq || eq == value || (size_t)(eq - value) > PAY_TRANSLOG_TEXT_MAX ||
        k->t.n_witnesses == PAY_TRANSLOG_WITNESS_MAX) {
        fprintf(stderr, "paygate receipt verify: --witness wants NAME=PEM (at most %d)\n",
                PAY_TRANSLOG_WITNESS_MAX);
        return -1;
    }
    size_t i = k->t.n_witnesses;
    memcpy(k->t.witnesses[i].name, value, (size_t)(eq - value));
    k->t.witnesses[i].name[eq - value] = '\0';
    if (load_key(k, eq + 1, &k->t.witnesses[i].key) != 0)
        return -1;
    k->t.n_witnesses++;
    return 0;
}

/* The receipt's anchor (docs/receipts.md, "Anchoring on the chain") against the node at
 * --chain: its transaction from --anchor-address carries the receipt's head, signature and all.
 * The head's form was checked by the receipt's verification before. */
static enum pay_err anchor_verify(const json_t *r, const struct keys *k, struct pay_error *err)
{
    struct pay_chain_anchor_expect x = {.confirmations = 1};
    struct pay_chain_rpc rpc = {.allow_private = true}; /* the node the verifier chose */
    const json_t *a = json_object_get(r, "anchor");
    struct pay_translog_head h;
    uint8_t data[PAY_TRANSLOG_ANCHOR_DATA_MAX];
    x.chain_id = strtoll(k->chain_id, NULL, 10);
    x.confirmations = k->confirmations ? strtoll(k->confirmations, NULL, 10) : 1;
    (void)pay_str_copy(rpc.url, sizeof rpc.url, k->chain_url);
    PAY_ASSERT(pay_chain_address_parse(k->anchor_address, "", x.address, NULL) == PAY_ERR_OK);
    if (!json_is_object(a))
        return pay_error_set(err, PAY_ERR_RECEIPT_ANCHOR_INVALID, "anchor",
                             "the receipt has no anchor: its head is not anchored yet (ask the"
                             " platform for the receipt again later)");
    x.tx_hash = json_string_value(json_object_get(a, "tx_hash"));
    x.block_number = json_integer_value(json_object_get(a, "block_number"));
    if (!x.tx_hash || strlen(x.tx_hash) != 66 ||
        !json_is_integer(json_object_get(a, "block_number")))
        return pay_error_set(err, PAY_ERR_RECEIPT_MALFORMED, "anchor",
                             "tx_hash (0x + 64 hex digits) and block_number are required");
    if (json_integer_value(json_object_get(a, "chain_id")) != x.chain_id)
        return pay_error_set(err, PAY_ERR_RECEIPT_ANCHOR_INVALID, "anchor.chain_id",
                             "anchored on another chain than --chain-id");
    enum pay_err e =
        pay_translog_head_from_json(json_object_get(r, "tree_head"), "tree_head", &h, err);
    if (e != PAY_ERR_OK)
        return e;
    x.data = data;
    x.data_len = pay_translog_anchor_data(&h, data, sizeof data);
    return pay_chain_anchor_check(&rpc, &x, err);
}

static int verify(const char *file, struct keys *k)
{
    size_t len = 0;
    char *text = pay_file_read(file, PAY_TRANSLOG_RECEIPT_FILE_MAX, &len);
    if (!text) {
        fprintf(stderr, "paygate receipt verify: cannot read %s\n", file);
        return 2;
    }
    json_error_t je;
    json_t *r = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    free(text);
    struct pay_error err = {0};
    enum pay_err e =
        r ? pay_translog_receipt_verify(r, &k->t, &err)
          : pay_error_set(&err, PAY_ERR_RECEIPT_MALFORMED, "", "not JSON: %s", je.text);
    if (e == PAY_ERR_OK && k->chain_url)
        e = anchor_verify(r, k, &err);
    if (e == PAY_ERR_UPSTREAM_FAILED || e == PAY_ERR_UPSTREAM_TIMEOUT ||
        e == PAY_ERR_URL_FORBIDDEN) { /* the node, not the receipt */
        fprintf(stderr, "paygate receipt verify: the node at %s: %s\n", k->chain_url,
                err.detail[0] ? err.detail : pay_err_message(e));
        json_decref(r);
        return 2;
    }
    if (e != PAY_ERR_OK) {
        printf("receipt verify: %s: %s%s%s: %s\n", file, pay_err_name(e),
               err.field[0] ? " at " : "", err.field,
               err.detail[0] ? err.detail : pay_err_message(e));
        json_decref(r);
        return 1;
    }
    const json_t *leaf = json_object_get(r, "leaf"), *head = json_object_get(r, "tree_head");
    printf("receipt verify: %s: trade %s, leaf %lld of %lld, signed by %s, %zu witness(es) "
           "required: valid\n",
           file, json_string_value(json_object_get(leaf, "trade_id")),
           (long long)json_integer_value(json_object_get(r, "leaf_index")),
           (long long)json_integer_value(json_object_get(head, "tree_size")),
           json_string_value(json_object_get(head, "key_id")), k->t.quorum);
    const json_t *a = json_object_get(r, "anchor");
    if (k->chain_url)
        printf("receipt verify: %s: the head is anchored on chain %s in block %lld by %s,"
               " tx %s\n",
               file, k->chain_id, (long long)json_integer_value(json_object_get(a, "block_number")),
               k->anchor_address, json_string_value(json_object_get(a, "tx_hash")));
    json_decref(r);
    return 0;
}

/* --chain wants --chain-id and --anchor-address, each well formed; they mean nothing alone. */
static bool chain_options_bad(const struct keys *k)
{
    const char *why = NULL;
    char *end = NULL;
    uint8_t addr[PAY_CHAIN_ADDRESS_LEN];
    if (!k->chain_url && (k->chain_id || k->anchor_address || k->confirmations))
        why = "--chain-id, --anchor-address and --confirmations go with --chain";
    else if (k->chain_url && (!k->chain_id || !k->anchor_address))
        why = "--chain wants --chain-id and --anchor-address";
    else if (k->chain_url && (strtoll(k->chain_id, &end, 10) <= 0 || *end))
        why = "--chain-id is a chain id, a whole number from 1";
    else if (k->chain_url &&
             pay_chain_address_parse(k->anchor_address, "", addr, NULL) != PAY_ERR_OK)
        why = "--anchor-address is an address: 0x and 40 hex digits (EIP-55 when mixed case)";
    else if (k->confirmations &&
             (strtoll(k->confirmations, &end, 10) < 1 || *end ||
              strtoll(k->confirmations, NULL, 10) > PAY_CHAIN_CONFIRMATIONS_MAX))
        why = "--confirmations is 1 to 64";
    else if (k->chain_url && strlen(k->chain_url) > PAY_URL_MAX)
        why = "--chain is too long a URL";
    if (why)
        fprintf(stderr, "paygate receipt verify: %s\n", why);
    return why != NULL;
}

static int run(int argc, char **argv, struct keys *k)
{
    const char *platform_key = NULL, *quorum = NULL;
    const struct pay_cli_opt opts[] = {
        PAY_CLI_REQ("--platform-key", "PEM", "the platform's public key (Ed25519, PEM)",
                    &platform_key),
        PAY_CLI_EACH("--witness", "NAME=PEM", "a witness trusted: its name (bank code) and key",
                     add_witness),
        PAY_CLI_OPT("--quorum", "N", "co-signatures required (default: every --witness)", &quorum),
        PAY_CLI_OPT("--chain", "URL", "check the head's anchor with this node (JSON-RPC URL)",
                    &k->chain_url),
        PAY_CLI_OPT("--chain-id", "N", "the chain the anchor must be on (with --chain)",
                    &k->chain_id),
        PAY_CLI_OPT("--anchor-address", "ADDR",
                    "the platform's anchor address, as it publishes it (with --chain)",
                    &k->anchor_address),
        PAY_CLI_OPT("--confirmations", "K", "confirmations the anchor must have (default 1)",
                    &k->confirmations),
        PAY_CLI_END};
    if (pay_cli_wants_help(argc, argv))
        return usage(stdout, 0, opts);
    if (argc < 3 || strcmp(argv[1], "verify") != 0 || argv[2][0] == '-') {
        fprintf(stderr, "paygate receipt: %s (see --help)\n",
                argc < 2 || strcmp(argv[1], "verify") != 0 ? "the one command is verify FILE"
                                                           : "which receipt? verify FILE");
        return PAY_CLI_USAGE;
    }
    if (pay_cli_parse("receipt verify", opts, argc, argv, 3, NULL, k) != 0)
        return PAY_CLI_USAGE;
    if (chain_options_bad(k))
        return PAY_CLI_USAGE;
    if (pay_crypto_init() != 0 || load_key(k, platform_key, &k->t.platform) != 0)
        return 2;
    k->t.quorum = k->t.n_witnesses;
    if (quorum) {
        char *end = NULL;
        long q = strtol(quorum, &end, 10);
        if (!*quorum || *end || q < 0 || (size_t)q > k->t.n_witnesses) {
            fprintf(stderr,
                    "paygate receipt verify: --quorum must be 0..%zu (the witnesses given)\n",
                    k->t.n_witnesses);
            return PAY_CLI_USAGE;
        }
        k->t.quorum = (size_t)q;
    }
    return verify(argv[2], k);
}

int pay_cmd_receipt(int argc, char **argv)
{
    struct keys *k = calloc(1, sizeof *k);
    if (!k)
        return 2;
    int rc = run(argc, argv, k);
    for (size_t i = 0; i < k->n_rsa; i++)
        pay_rsa_key_free(k->rsa[i]);
    free(k);
    return rc;
}
