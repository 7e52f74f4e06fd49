/* Anchoring the payment log on the chain (docs/receipts.md, "Anchoring on the chain"), end to
 * end on a real local EVM node (ganache, chain/node.mjs) and the real platform on the test
 * clock: a wallet payment's head is anchored by the chain watcher in a transaction of the anchor
 * key, confirmed at the rail's confirmations; the receipt then carries the anchor and `paygate
 * receipt verify --chain` (and the Python verifier of the docs) finds the head, signature and
 * all, in that transaction on the node. Each tampering is caught by its own error: another
 * transaction, another block, another address or chain, too few confirmations, and a head
 * re-signed with the platform's own key (which every offline check accepts). Anchors come at
 * most once an anchor_interval, or at once with `paygate platform chain anchor`; a restarted
 * platform follows the anchor in flight without sending another; an anchor removed by a
 * reorganisation is sent again, the same transaction. `ledger verify` at the end. */
#include "chain_node.h"
#include "harness.h"
#include "lib/clock.h"
#include "lib/harness.h"

#include "chain/keys.h"
#include "core/buf.h"
#include "core/limits.h"
#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "http/client.h"
#include "translog/translog.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONFIRMATIONS 2
#define CONSUMER      "13900000031"

static struct h_platform pf;
static struct h_merchant ma;
static struct chain_node node;
static char anchor_addr[PAY_CHAIN_ADDRESS_TEXT_LEN]; /* EIP-55, as the platform reports it */
static char funding_tx[67];                          /* a transaction that is not an anchor */
static char paid[3][64];                             /* trades paid by wallet */

/* --- helpers ------------------------------------------------------------------------------- */

static void pass(int64_t ms)
{
    assert_int_equal(th_clock_advance(pf.url, ms), 0);
}

/* Transactions the anchor key has had mined: one per anchor. */
static int64_t anchors_mined(void)
{
    json_t *r = chain_node_rpc(&node, "eth_getTransactionCount",
                               json_pack("[s, s]", anchor_addr, "latest"));
    int64_t n = -1;
    assert_int_equal(pay_chain_quantity_parse(json_string_value(r), &n), 0);
    json_decref(r);
    return n;
}

static void pay_trade(int i)
{
    char otn[32];
    snprintf(otn, sizeof otn, "an-%d", i);
    pay_str_copy(paid[i], sizeof paid[i], h_create_trade(&pf, &ma, otn, "12.30", NULL));
    assert_int_equal(h_cashier_pay_wallet(&pf, paid[i], CONSUMER, "correct horse", "135790"), 200);
}

/* GET /v1/trades/{id}/receipt into file; asserts 200; the receipt (new reference). */
static json_t *receipt(int i, const char *file)
{
    char path[128];
    struct h_reply r;
    snprintf(path, sizeof path, "/v1/trades/%s/receipt", paid[i]);
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_true(r.sig_ok);
    if (r.status != 200)
        fail_msg("receipt %d: %ld %s", i, r.status, r.body);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs(r.body, f);
    fclose(f);
    h_reply_fini(&r);
    json_t *j = json_load_file(file, 0, NULL);
    assert_non_null(j);
    return j;
}

static void path_of(const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", pf.dir, name);
}

/* `paygate receipt verify FILE --platform-key ... [chain options]`: exit status, output. */
static int verify(const char *file, const char *chain_opts, char *out, size_t n)
{
    char log[400];
    snprintf(log, sizeof log, "%s.out", file);
    int rc = th_sh("'%s' receipt verify '%s' --platform-key '%s/platform.pem' %s >'%s' 2>&1",
                   h_paygate, file, pf.dir, chain_opts ? chain_opts : "", log);
    th_read_text(log, out, n);
    return rc;
}

/* The chain options of a verifier that trusts the anchor address and chain 1337. */
static const char *trusted(void)
{
    static char opts[400];
    snprintf(opts, sizeof opts, "--chain '%.200s' --chain-id 1337 --anchor-address %s",
             node.rpc.url, anchor_addr);
    return opts;
}

/* Verifies file with chain options; expects exit `want` and `needle` in the output. */
static void expect_verify(const char *file, const char *opts, int want, const char *needle)
{
    char out[2048];
    int rc = verify(file, opts, out, sizeof out);
    if (rc != want || strstr(out, needle) == NULL)
        fail_msg("verify %s %s: exit %d (want %d), no \"%s\" in: %s", file, opts, rc, want, needle,
                 out);
}

static int anchor_cli(char *out, size_t n)
{
    char log[400];
    snprintf(log, sizeof log, "%s/anchor.out", pf.dir);
    int rc = th_sh("'%s' platform chain anchor --config '%s/platform.ini' --data-dir '%s'"
                   " --database '%s' >'%s' 2>&1",
                   h_paygate, pf.dir, pf.dir, pf.db, log);
    th_read_text(log, out, n);
    return rc;
}

/* --- set-up ------------------------------------------------------------------------------ */

/* A fresh anchor key in a 0600 file, its address funded with 1 ether for gas. */
static void anchor_key(const char *path)
{
    uint8_t key[32], pub[33], addr[PAY_CHAIN_ADDRESS_LEN];
    do
        pay_random_bytes(key, sizeof key);
    while (pay_chain_key_public(key, pub) != 0);
    pay_chain_address_of(pub, addr);
    pay_chain_address_format(addr, anchor_addr);
    char hex[65];
    assert_int_equal(pay_hex_encode(hex, sizeof hex, key, sizeof key), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", hex);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
    json_t *tx = json_pack("{s:s, s:s, s:s}", "from", node.payer, "to", anchor_addr, "value",
                           "0xde0b6b3a7640000");
    json_t *h = chain_node_rpc(&node, "eth_sendTransaction", json_pack("[o]", tx));
    pay_str_copy(funding_tx, sizeof funding_tx, json_string_value(h));
    json_decref(h);
}

static int group_setup(void **state)
{
    (void)state;
    chain_node_require();
    assert_int_equal(pay_crypto_init(), 0);
    assert_int_equal(th_tmpdir(node.dir, sizeof node.dir, "paygate-anchor"), 0);
    assert_int_equal(chain_node_start(&node, 0), 0);
    char key_path[400], xpub[PAY_CHAIN_XKEY_TEXT_LEN], ini[2048];
    snprintf(key_path, sizeof key_path, "%s/anchor.key", node.dir);
    anchor_key(key_path);
    uint8_t seed[32];
    memset(seed, 9, sizeof seed);
    struct pay_chain_xprv m;
    struct pay_error err;
    assert_int_equal(pay_chain_xprv_from_seed(seed, sizeof seed, &m, &err), PAY_ERR_OK);
    assert_int_equal(pay_chain_xpub_format(&m.pub, xpub, sizeof xpub), 0);
    pay_chain_xprv_wipe(&m);
    snprintf(ini, sizeof ini,
             "timeout_min = 1s\n[server]\nfake_clock = true\n[chain]\nrpc_url = %s\n"
             "allow_private = true\nchain_id = 1337\ntoken = %s\nasset = PTD\ndecimals = 6\n"
             "xpub = %s\nconfirmations = %d\npoll_interval = 1h\nrate = 7.25\n"
             "rate_currency = CNY\nanchor_key_file = %s\nanchor_interval = 10m\n",
             node.rpc.url, node.token, xpub, CONFIRMATIONS, key_path);
    h_setup(&pf, &ma, NULL, ini);
    h_add_consumer(&pf, CONSUMER, "correct horse", "135790");
    h_wallet_credit(&pf, CONSUMER, "500.00");
    h_start(&pf);
    char url[300], pem[400];
    snprintf(url, sizeof url, "%s/.well-known/paygate-platform-key", pf.url);
    path_of("platform.pem", pem, sizeof pem);
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    assert_int_equal(pay_http_client_request("GET", url, NULL, NULL, 0, &opt, &r, NULL), 0);
    json_t *j = json_loads(pay_buf_str(&r.body), 0, NULL);
    FILE *f = fopen(pem, "w");
    assert_non_null(f);
    fputs(h_str(j, "public_key_pem"), f);
    fclose(f);
    /* the anchor address is published with the key */
    assert_string_equal(h_str(j, "anchor.address"), anchor_addr);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "anchor"), "chain_id")),
                     1337);
    json_decref(j);
    pay_http_client_response_fini(&r);
    pass(1000); /* the watcher's first pass */
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    h_teardown_verified(&pf);
    th_stop(&node.pid, SIGTERM);
    th_tmpdir_done(node.dir);
    return 0;
}

/* --- the tests ----------------------------------------------------------------------------- */

/* The first head is anchored at once; its receipt carries the anchor once confirmed, and both
 * verifiers find the head in the transaction on the node. */
static void anchored_and_verified(void **state)
{
    (void)state;
    pay_trade(0);
    assert_int_equal(anchors_mined(), 0);
    /* the chain page of a trade paid otherwise sends the browser back to the cashier */
    struct h_browser b = {0};
    char url[300];
    snprintf(url, sizeof url, "%s/cashier/%s/chain", pf.url, paid[0]);
    h_browser_req(&b, "GET", url, NULL, false);
    assert_int_equal(b.status, 303);
    h_browser_fini(&b);
    pass(PAY_TRANSLOG_HEAD_INTERVAL_MS); /* the sweeper signs the head of 1 */
    pass(1000);                          /* the watcher has seen it: anchored */
    assert_int_equal(anchors_mined(), 1);
    char file[300];
    path_of("receipt-0.json", file, sizeof file);
    json_t *r = receipt(0, file);
    assert_null(json_object_get(r, "anchor")); /* 1 confirmation of 2: not yet */
    json_decref(r);
    expect_verify(file, NULL, 0, "valid");
    expect_verify(file, trusted(), 1, "RECEIPT_ANCHOR_INVALID at anchor:");
    chain_node_mine(&node, CONFIRMATIONS - 1);
    pass(1000);
    r = receipt(0, file);
    json_t *a = json_object_get(r, "anchor");
    assert_non_null(a);
    assert_int_equal(json_integer_value(json_object_get(a, "chain_id")), 1337);
    assert_string_equal(h_str(a, "address"), anchor_addr);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r, "tree_head"), "tree_size")), 1);
    json_t *rc =
        chain_node_rpc(&node, "eth_getTransactionReceipt", json_pack("[s]", h_str(a, "tx_hash")));
    int64_t block = -1;
    assert_int_equal(pay_chain_quantity_parse(h_str(rc, "blockNumber"), &block), 0);
    assert_int_equal(json_integer_value(json_object_get(a, "block_number")), block);
    json_decref(rc);
    json_decref(r);
    expect_verify(file, trusted(), 0, "the head is anchored on chain 1337");
}

/* The receipt of anchored_and_verified, edited by fn, into name; the file's path in out. */
static void edited(const char *name, void (*fn)(json_t *r), char *out, size_t n)
{
    char src[300];
    path_of("receipt-0.json", src, sizeof src);
    json_t *r = json_load_file(src, 0, NULL);
    assert_non_null(r);
    fn(r);
    path_of(name, out, n);
    assert_int_equal(json_dump_file(r, out, JSON_COMPACT), 0);
    json_decref(r);
}

static void other_tx(json_t *r)
{
    json_object_set_new(json_object_get(r, "anchor"), "tx_hash", json_string(funding_tx));
}

static void no_tx(json_t *r)
{
    json_object_set_new(
        json_object_get(r, "anchor"), "tx_hash",
        json_string("0x00000000000000000000000000000000000000000000000000000000000000aa"));
}

static void other_block(json_t *r)
{
    json_t *a = json_object_get(r, "anchor");
    json_object_set_new(a, "block_number",
                        json_integer(json_integer_value(json_object_get(a, "block_number")) - 1));
}

static void no_anchor(json_t *r)
{
    json_object_del(r, "anchor");
}

/* The head's timestamp moved and the head signed again with the platform's own key (its key
 * file, as a platform gone rogue would): every offline check still passes. */
static void resigned(json_t *r)
{
    json_t *jh = json_object_get(r, "tree_head");
    struct pay_translog_head h;
    struct pay_error err;
    assert_int_equal(pay_translog_head_from_json(jh, "tree_head", &h, &err), PAY_ERR_OK);
    h.timestamp_ms += 1000;
    char path[300], sig[100];
    path_of("platform-signing-key.pem", path, sizeof path);
    struct pay_ed25519_key k;
    assert_int_equal(pay_ed25519_key_load(path, &k), 0);
    uint8_t msg[PAY_TRANSLOG_HEAD_MSG_MAX];
    pay_ed25519_sign(h.sig, msg, pay_translog_head_message(&h, msg, sizeof msg), &k);
    pay_ed25519_key_fini(&k);
    assert_int_equal(pay_base64_encode(sig, sizeof sig, h.sig, PAY_ED25519_SIG_LEN), 0);
    json_object_set_new(jh, "timestamp_ms", json_integer(h.timestamp_ms));
    json_object_set_new(jh, "signature", json_string(sig));
}

static void tampering_caught(void **state)
{
    (void)state;
    char file[300], opts[600];
    edited("other-tx.json", other_tx, file, sizeof file);
    expect_verify(file, trusted(), 1, "RECEIPT_ANCHOR_INVALID at anchor.address:");
    edited("no-tx.json", no_tx, file, sizeof file);
    expect_verify(file, trusted(), 1, "RECEIPT_ANCHOR_INVALID at anchor.tx_hash:");
    edited("other-block.json", other_block, file, sizeof file);
    expect_verify(file, trusted(), 1, "RECEIPT_ANCHOR_INVALID at anchor.block_number:");
    edited("no-anchor.json", no_anchor, file, sizeof file);
    expect_verify(file, trusted(), 1, "RECEIPT_ANCHOR_INVALID at anchor:");
    edited("resigned.json", resigned, file, sizeof file);
    expect_verify(file, NULL, 0, "valid"); /* offline, a rogue platform's head passes */
    expect_verify(file, trusted(), 1, "RECEIPT_ANCHOR_INVALID at anchor: the transaction's data");
    /* the receipt as it came, against a verifier that trusts another address, chain, depth */
    path_of("receipt-0.json", file, sizeof file);
    snprintf(opts, sizeof opts, "--chain '%.200s' --chain-id 1337 --anchor-address %s",
             node.rpc.url, node.payer);
    expect_verify(file, opts, 1, "RECEIPT_ANCHOR_INVALID at anchor.address:");
    snprintf(opts, sizeof opts, "--chain '%.200s' --chain-id 5 --anchor-address %s", node.rpc.url,
             anchor_addr);
    expect_verify(file, opts, 1, "RECEIPT_ANCHOR_INVALID at anchor.chain_id:");
    snprintf(opts, sizeof opts, "%.400s --confirmations 64", trusted());
    expect_verify(file, opts, 1, "confirmation(s), 64 asked");
    expect_verify(file, "--chain http://127.0.0.1:1 --chain-id 1337 --anchor-address 0x0", 2,
                  "--anchor-address is an address");
    snprintf(opts, sizeof opts, "--chain-id 1337");
    expect_verify(file, opts, 2, "go with --chain");
}

/* The verifier docs/receipts.md gives in Python, copied from the page, with its --chain. */
static void docs_python_verifier_checks_the_anchor(void **state)
{
    (void)state;
    const char *root = getenv("PAYGATE_SOURCE_ROOT");
    assert_non_null(root);
    if (th_sh("python3 -c 'import cryptography' 2>/dev/null") != 0)
        fail_msg("python3's cryptography package is missing (scripts/deps.sh test installs it)");
    char script[300], out[300], text[512];
    path_of("verify_receipt.py", script, sizeof script);
    path_of("py.out", out, sizeof out);
    assert_int_equal(
        th_sh("awk '/^# verify_receipt.py/{f=1} f&&/^```/{exit} f' '%s/docs/receipts.md'"
              " >'%s' && test -s '%s'",
              root, script, script),
        0);
    const char *files[] = {"receipt-0.json", "resigned.json", "other-tx.json"};
    const char *want[] = {"valid\n", "RECEIPT_ANCHOR_INVALID\n", "RECEIPT_ANCHOR_INVALID\n"};
    for (int i = 0; i < 3; i++) {
        char file[300];
        path_of(files[i], file, sizeof file);
        int rc = th_sh("python3 '%s' '%s' '%s/platform.pem' --chain '%.200s' 1337 %s >'%s' 2>&1",
                       script, file, pf.dir, node.rpc.url, anchor_addr, out);
        th_read_text(out, text, sizeof text);
        if (rc != (i == 0 ? 0 : 1) || strcmp(text, want[i]) != 0)
            fail_msg("%s: exit %d: %s", files[i], rc, text);
    }
}

/* A new head waits for the interval; the command anchors it at once; a restarted platform
 * confirms the command's anchor without sending another; the next head is anchored when the
 * interval has passed; removed by a reorganisation, it is sent again, the same transaction. */
static void interval_command_restart_reorg(void **state)
{
    (void)state;
    char file[300], out[1024];
    pay_trade(1);
    pass(PAY_TRANSLOG_HEAD_INTERVAL_MS); /* head of 2 */
    pass(1000);
    assert_int_equal(anchors_mined(), 1); /* 10 minutes have not passed */
    path_of("receipt-1.json", file, sizeof file);
    json_t *r = receipt(1, file); /* leaf 1 is not under the anchored head: the newest head */
    assert_null(json_object_get(r, "anchor"));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r, "tree_head"), "tree_size")), 2);
    json_decref(r);
    if (anchor_cli(out, sizeof out) != 0 || !strstr(out, "anchor: head of 2 leaves sent, tx 0x"))
        fail_msg("%s", out);
    assert_int_equal(anchors_mined(), 2);
    h_stop(&pf, SIGTERM);
    h_start(&pf);
    chain_node_mine(&node, CONFIRMATIONS - 1);
    pass(1000);
    r = receipt(1, file);
    assert_non_null(json_object_get(r, "anchor"));
    json_decref(r);
    expect_verify(file, trusted(), 0, "the head is anchored");
    if (anchor_cli(out, sizeof out) != 0 || !strstr(out, "anchor: head of 2 leaves confirmed"))
        fail_msg("%s", out);
    assert_int_equal(anchors_mined(), 2); /* nothing sent twice */

    pay_trade(2);
    pass(PAY_TRANSLOG_HEAD_INTERVAL_MS); /* head of 3 */
    json_t *snap = chain_node_rpc(&node, "evm_snapshot", NULL);
    pass(3600 * 1000); /* the interval has passed: anchored */
    assert_int_equal(anchors_mined(), 3);
    json_t *b = chain_node_rpc(&node, "eth_getBlockByNumber", json_pack("[s, b]", "latest", 0));
    char tx[67];
    pay_str_copy(tx, sizeof tx,
                 json_string_value(json_array_get(json_object_get(b, "transactions"), 0)));
    json_decref(b);
    json_t *reverted = chain_node_rpc(&node, "evm_revert", json_pack("[O]", snap));
    assert_true(json_is_true(reverted));
    json_decref(reverted);
    json_decref(snap);
    assert_int_equal(anchors_mined(), 2); /* the anchor is gone from the chain */
    pass(1000);                           /* sent again: the same bytes, the same hash */
    assert_int_equal(anchors_mined(), 3);
    json_t *t = chain_node_rpc(&node, "eth_getTransactionByHash", json_pack("[s]", tx));
    assert_false(json_is_null(t));
    json_decref(t);
    chain_node_mine(&node, CONFIRMATIONS - 1);
    pass(1000);
    path_of("receipt-0-again.json", file, sizeof file);
    r = receipt(0, file); /* the newest anchored head covers leaf 0 too */
    assert_string_equal(h_str(json_object_get(r, "anchor"), "tx_hash"), tx);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r, "tree_head"), "tree_size")), 3);
    json_decref(r);
    expect_verify(file, trusted(), 0, "the head is anchored");
}

int main(int argc, char **argv)
{
    h_paygate = argc > 1 ? argv[1] : "./paygate";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(anchored_and_verified),
        cmocka_unit_test(tampering_caught),
        cmocka_unit_test(docs_python_verifier_checks_the_anchor),
        cmocka_unit_test(interval_command_restart_reorg),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
