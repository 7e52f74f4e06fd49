/* The chain rail (docs/chain.md) end to end on a real local EVM node (ganache, chain/node.mjs)
 * and the real platform on the test clock: a trade paid in PTD from a funded test account,
 * credited after 3 confirmations with the merchant notified once; a payment removed by a
 * reorganisation (evm_snapshot / evm_revert) goes back to waiting and is never credited; a
 * platform stopped while a payment confirms, and a payment made while it is down, are each
 * credited once after the restart; the node stopped and started again mid-watch; under-, over-
 * and late payment; a refund of a chain trade refused; the ledger's token and currency sides
 * checked to the unit, and `paygate ledger verify` clean. Each watcher pass is one move of the
 * test clock (the watcher is a clock worker): no sleeps. */
#include "chain_node.h"
#include "harness.h"
#include "lib/clock.h"
#include "lib/harness.h"

#include "chain/keys.h"
#include "chain/rpc.h"
#include "crypto/crypto.h"
#include "http/client.h"
#include "ledger/ledger.h"
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIRMATIONS 3
#define PTD           1000000LL /* minor units of one PTD (6 decimals) */

static struct h_platform pf;
static struct h_merchant ma;
static struct h_notify_sink sink;
static struct pay_chain_xprv account; /* the test's m/44'/60'/0'/0: the platform gets its xpub */
static struct pay_chain_xprv account_root; /* m/44'/60'/0': the return job's key file */
static struct chain_node node;
static int64_t expect_held;     /* tokens owed back to payers (over, late) */
static int64_t expect_returned; /* tokens returned to them on chain */

/* --- the node ------------------------------------------------------------------------------ */

static int node_start(int port)
{
    return chain_node_start(&node, port);
}

static json_t *rpc(const char *method, json_t *params)
{
    return chain_node_rpc(&node, method, params);
}

static void mine(int n)
{
    chain_node_mine(&node, n);
}

/* transfer(to, amount) of the token from `from` (an unlocked test account): a wallet paying. */
static void pay(const char *from, const char *to, int64_t amount_minor)
{
    char data[200], lower[43];
    for (int i = 0; i < 43; i++)
        lower[i] = (char)((to[i] >= 'A' && to[i] <= 'F') ? to[i] + 32 : to[i]);
    snprintf(data, sizeof data, "0xa9059cbb000000000000000000000000%s%064llx", lower + 2,
             (unsigned long long)amount_minor);
    json_t *tx = json_pack("{s:s, s:s, s:s, s:s}", "from", from, "to", node.token, "data", data,
                           "gas", "0x30000");
    json_t *hash = rpc("eth_sendTransaction", json_pack("[o]", tx));
    json_t *receipt = rpc("eth_getTransactionReceipt", json_pack("[O]", hash));
    assert_string_equal(json_string_value(json_object_get(receipt, "status")), "0x1");
    json_decref(receipt);
    json_decref(hash);
}

static int64_t block_number(void)
{
    return chain_node_block_number(&node);
}

/* One watcher pass: the test clock moves, and every worker (the watcher too) has looked. */
static void pass(void)
{
    assert_int_equal(th_clock_advance(pf.url, 1000), 0);
}

/* --- the platform's side --------------------------------------------------------------------- */

static const char *create(const char *otn, const char *amount)
{
    static char id[64];
    char body[512];
    snprintf(body, sizeof body,
             "{\"out_trade_no\":\"%s\",\"amount\":{\"value\":\"%s\",\"currency\":\"CNY\"},"
             "\"subject\":\"Kettle\",\"notify_url\":\"%s\",\"timeout\":\"1h\"}",
             otn, amount, sink.url);
    struct h_reply r;
    h_call(&pf, &ma, "POST", "/v1/trades", body, otn, &r);
    assert_int_equal(r.status, 201);
    snprintf(id, sizeof id, "%s", h_str(r.json, "trade_id"));
    h_reply_fini(&r);
    return id;
}

static void trade_state(const char *id, const char *want_state)
{
    char path[128];
    struct h_reply r;
    snprintf(path, sizeof path, "/v1/trades/%s", id);
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(r.sig_ok);
    assert_string_equal(h_str(r.json, "state"), want_state);
    if (strcmp(want_state, "TRADE_SUCCESS") == 0)
        assert_string_equal(h_str(r.json, "pay_method"), "chain");
    h_reply_fini(&r);
}

/* The value of attribute `name` in the page's #chain-pay section. */
static void attr(const char *page, const char *name, char *out, size_t n)
{
    char key[64];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *sec = strstr(page, "id=\"chain-pay\"");
    assert_non_null(sec);
    const char *v = strstr(sec, key);
    assert_non_null(v);
    v += strlen(key);
    size_t len = strcspn(v, "\"");
    assert_true(len < n);
    memcpy(out, v, len);
    out[len] = '\0';
}

struct deposit {
    char address[43], due[32], status[16], uri[256];
};

/* GET /cashier/{id}/chain as a consumer's browser; asserts 200. */
static void chain_page(const char *trade_id, struct deposit *d)
{
    struct h_browser b = {0};
    char url[300];
    snprintf(url, sizeof url, "%s/cashier/%s/chain", pf.url, trade_id);
    h_browser_req(&b, "GET", url, NULL, false);
    if (b.status != 200)
        fprintf(stderr, "%s\n", b.page);
    assert_int_equal(b.status, 200);
    attr(b.page, "data-address", d->address, sizeof d->address);
    attr(b.page, "data-due", d->due, sizeof d->due);
    attr(b.page, "data-status", d->status, sizeof d->status);
    attr(b.page, "data-uri", d->uri, sizeof d->uri);
    assert_non_null(strstr(b.page, "<svg")); /* the QR code of the URI */
    h_browser_fini(&b);
}

/* The address of child i of the test's account key: what the platform must have derived from
 * the xpub alone. */
static void child_address(uint32_t i, char out[43])
{
    struct pay_chain_xprv c;
    struct pay_error err;
    uint8_t a[PAY_CHAIN_ADDRESS_LEN];
    assert_int_equal(pay_chain_xprv_child(&account, i, &c, &err), PAY_ERR_OK);
    pay_chain_address_of(c.pub.pubkey, a);
    pay_chain_address_format(a, out);
    pay_chain_xprv_wipe(&c);
}

/* --- set-up ------------------------------------------------------------------------------------
 */

static int group_setup(void **state)
{
    (void)state;
    chain_node_require();
    assert_int_equal(pay_crypto_init(), 0);
    assert_int_equal(th_tmpdir(node.dir, sizeof node.dir, "paygate-chain"), 0);
    assert_int_equal(node_start(0), 0);
    /* the platform's key: m/44'/60'/0'/0 of a test seed; it is given only the xpub */
    uint8_t seed[32];
    memset(seed, 7, sizeof seed);
    struct pay_chain_xprv m, k;
    struct pay_error err;
    assert_int_equal(pay_chain_xprv_from_seed(seed, sizeof seed, &m, &err), PAY_ERR_OK);
    uint32_t path[] = {PAY_CHAIN_HARDENED | 44, PAY_CHAIN_HARDENED | 60, PAY_CHAIN_HARDENED, 0};
    for (size_t i = 0; i < 4; i++) {
        if (i == 3)
            account_root = m;
        assert_int_equal(pay_chain_xprv_child(&m, path[i], &k, &err), PAY_ERR_OK);
        m = k;
    }
    account = m;
    char xpub[PAY_CHAIN_XKEY_TEXT_LEN], ini[2048];
    assert_int_equal(pay_chain_xpub_format(&account.pub, xpub, sizeof xpub), 0);
    snprintf(ini, sizeof ini,
             "timeout_min = 1s\n[server]\nfake_clock = true\n[chain]\nrpc_url = %s\n"
             "allow_private = true\nchain_id = 1337\ntoken = %s\nasset = PTD\ndecimals = 6\n"
             "xpub = %s\nconfirmations = %d\npoll_interval = 1h\nrate = 7.25\n"
             "rate_currency = CNY\n",
             node.rpc.url, node.token, xpub, CONFIRMATIONS);
    h_setup(&pf, &ma, NULL, ini);
    h_start(&pf);
    h_sink_start(&sink, pf.pk, 0);
    pass(); /* the watcher's first pass: it starts at the node's head */
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    h_sink_stop(&sink);
    h_teardown(&pf);
    th_stop(&node.pid, SIGTERM);
    th_tmpdir_done(node.dir);
    pay_chain_xprv_wipe(&account);
    pay_chain_xprv_wipe(&account_root);
    return 0;
}

/* --- the tests ----------------------------------------------------------------------------- */

static int64_t paid_minor, fees_minor; /* CNY the merchant was credited, and the fees */

/* 72.50 CNY at 7.25 CNY per PTD is 10 PTD, to the trade's own address (child 0 of the xpub);
 * seen, confirming, then credited at the third confirmation, notified once. */
static void paid_end_to_end(void **state)
{
    (void)state;
    const char *id = create("chain-1", "72.50");
    char trade[64];
    pay_str_copy(trade, sizeof trade, id);
    struct h_browser b = {0};
    char url[300];
    snprintf(url, sizeof url, "%s/cashier/%s", pf.url, trade);
    h_browser_req(&b, "GET", url, NULL, false);
    assert_non_null(strstr(b.page, "id=\"pay-chain\""));
    h_browser_fini(&b);
    struct deposit d, again;
    chain_page(trade, &d);
    char want[43];
    child_address(0, want);
    assert_string_equal(d.address, want);
    assert_string_equal(d.due, "10.000000");
    assert_string_equal(d.status, "waiting");
    /* EIP-681: ethereum:<token>@<chain id>/transfer?address=<deposit>&uint256=<units> */
    assert_true(strncmp(d.uri, "ethereum:0x", 11) == 0);
    assert_non_null(strstr(d.uri, "@1337/transfer?address="));
    assert_non_null(strstr(d.uri, want));
    assert_non_null(strstr(d.uri, "uint256=10000000"));
    chain_page(trade, &again); /* the same deposit on every view */
    assert_string_equal(again.address, d.address);

    pay(node.payer, d.address, 10 * PTD);
    pass();
    chain_page(trade, &d);
    assert_string_equal(d.status, "confirming");
    trade_state(trade, "WAIT_BUYER_PAY");
    mine(CONFIRMATIONS - 2);
    pass();
    trade_state(trade, "WAIT_BUYER_PAY"); /* two confirmations of three */
    mine(1);
    pass();
    trade_state(trade, "TRADE_SUCCESS");
    chain_page(trade, &d);
    assert_string_equal(d.status, "paid");
    assert_true(h_notifications_delivered(&pf, &ma, trade, 60000));
    assert_int_equal(h_sink_wait(&sink, 1, 60000), 1);
    mine(5); /* more confirmations change nothing */
    pass();
    pass();
    assert_int_equal(sink.n_ids, 1);
    paid_minor = 7250;
    fees_minor = 44; /* 60 bp of 72.50 is 43.5 fen: half to even, 44 */
}

/* Seen, then removed by a reorganisation: back to waiting, never credited; paid again on the
 * new chain, it is credited once. */
static void reorg_drops_payment(void **state)
{
    (void)state;
    const char *id = create("chain-2", "7.25");
    char trade[64];
    pay_str_copy(trade, sizeof trade, id);
    struct deposit d;
    chain_page(trade, &d);
    assert_string_equal(d.due, "1.000000");
    json_t *snap = rpc("evm_snapshot", NULL);
    pay(node.payer, d.address, 1 * PTD);
    mine(1);
    pass();
    chain_page(trade, &d);
    assert_string_equal(d.status, "confirming"); /* 2 of 3 confirmations */
    int64_t before = block_number();
    json_t *ok = rpc("evm_revert", json_pack("[O]", snap));
    assert_true(json_is_true(ok));
    json_decref(ok);
    json_decref(snap);
    mine(4); /* a longer chain without the payment */
    assert_true(block_number() > before);
    pass();
    chain_page(trade, &d);
    assert_string_equal(d.status, "waiting");
    mine(CONFIRMATIONS);
    pass();
    trade_state(trade, "WAIT_BUYER_PAY");
    /* paid on the chain as it now is */
    pay(node.payer2, d.address, 1 * PTD);
    mine(CONFIRMATIONS - 1);
    pass();
    trade_state(trade, "TRADE_SUCCESS");
    paid_minor += 725;
    fees_minor += 4; /* 4.35 fen */
}

/* Stopped while a payment confirms; another paid while it is down: after the restart both are
 * credited, each once. */
static void restart_neither_misses_nor_repeats(void **state)
{
    (void)state;
    char t1[64], t2[64];
    pay_str_copy(t1, sizeof t1, create("chain-3", "14.50"));
    pay_str_copy(t2, sizeof t2, create("chain-4", "21.75"));
    struct deposit d1, d2;
    chain_page(t1, &d1);
    chain_page(t2, &d2);
    pay(node.payer, d1.address, 2 * PTD);
    pass();
    chain_page(t1, &d1);
    assert_string_equal(d1.status, "confirming");
    h_stop(&pf, SIGTERM);
    pay(node.payer, d2.address, 3 * PTD);
    mine(CONFIRMATIONS);
    h_start(&pf);
    pass();
    trade_state(t1, "TRADE_SUCCESS");
    trade_state(t2, "TRADE_SUCCESS");
    pass();
    chain_page(t1, &d1);
    assert_string_equal(d1.status, "paid");
    paid_minor += 1450 + 2175;
    fees_minor += 9 + 13; /* 8.7 and 13.05 fen */
}

/* The node stops mid-watch (passes fail and say so) and comes back on its port with its
 * database: the watcher goes on where it was. */
static void node_restarted(void **state)
{
    (void)state;
    char t[64];
    pay_str_copy(t, sizeof t, create("chain-5", "7.25"));
    struct deposit d;
    chain_page(t, &d);
    pay(node.payer, d.address, 1 * PTD);
    pass();
    int port = node.port;
    th_stop(&node.pid, SIGTERM);
    pass(); /* the node is gone: the pass fails, nothing changes */
    trade_state(t, "WAIT_BUYER_PAY");
    assert_int_equal(node_start(port), 0); /* the port it had, freed by its own stop */
    mine(CONFIRMATIONS - 1);
    pass();
    trade_state(t, "TRADE_SUCCESS");
    paid_minor += 725;
    fees_minor += 4;
}

/* Short, then the rest and one more: paid at the total, the extra held for the payer; a
 * payment after the trade closed is held too; neither is a second credit. */
static void under_over_late(void **state)
{
    (void)state;
    char t[64], late[64];
    pay_str_copy(t, sizeof t, create("chain-6", "36.25")); /* 5 PTD */
    struct deposit d, dl;
    chain_page(t, &d);
    assert_string_equal(d.due, "5.000000");
    pay(node.payer, d.address, 3 * PTD);
    mine(CONFIRMATIONS - 1);
    pass();
    chain_page(t, &d);
    assert_string_equal(d.status, "short");
    trade_state(t, "WAIT_BUYER_PAY");
    pay(node.payer, d.address, 3 * PTD); /* 6 of 5 */
    mine(CONFIRMATIONS - 1);
    pass();
    trade_state(t, "TRADE_SUCCESS");
    expect_held += 1 * PTD;
    paid_minor += 3625;
    fees_minor += 22; /* 21.75 fen */
    /* late: the address is made, the trade expires (1h), then the tokens arrive */
    pay_str_copy(late, sizeof late, create("chain-7", "7.25"));
    chain_page(late, &dl);
    assert_int_equal(th_clock_advance(pf.url, 3600 * 1000), 0);
    trade_state(late, "TRADE_CLOSED");
    pay(node.payer, dl.address, 1 * PTD);
    mine(CONFIRMATIONS - 1);
    pass();
    trade_state(late, "TRADE_CLOSED");
    expect_held += 1 * PTD;
    /* a refund of a chain trade is refused, and changes nothing */
    char path[128], body[256];
    struct h_reply r;
    snprintf(path, sizeof path, "/v1/trades/%s/refunds", t);
    snprintf(body, sizeof body,
             "{\"out_refund_no\":\"r1\",\"amount\":{\"value\":\"1.00\",\"currency\":\"CNY\"}}");
    h_call(&pf, &ma, "POST", path, body, "chain-r1", &r);
    assert_int_equal(r.status, 409);
    assert_string_equal(h_err_code(&r), "TRADE_STATE_INVALID");
    h_reply_fini(&r);
    /* a trade in another currency cannot be paid on chain */
    char body2[512];
    snprintf(body2, sizeof body2,
             "{\"out_trade_no\":\"chain-usd\",\"amount\":{\"value\":\"1.00\",\"currency\":\"USD\"},"
             "\"subject\":\"Kettle\",\"notify_url\":\"%s\"}",
             sink.url);
    h_call(&pf, &ma, "POST", "/v1/trades", body2, "chain-usd", &r);
    assert_int_equal(r.status, 201);
    struct h_browser b = {0};
    char url[300];
    snprintf(url, sizeof url, "%s/cashier/%s/chain", pf.url, h_str(r.json, "trade_id"));
    h_browser_req(&b, "GET", url, NULL, false);
    assert_int_equal(b.status, 400);
    h_browser_fini(&b);
    h_reply_fini(&r);
}

/* The token balance of addr on chain (balanceOf), in minor units. */
static int64_t token_balance(const char *addr)
{
    char data[80], lower[43];
    for (int i = 0; i < 43; i++)
        lower[i] = (char)((addr[i] >= 'A' && addr[i] <= 'F') ? addr[i] + 32 : addr[i]);
    snprintf(data, sizeof data, "0x70a08231000000000000000000000000%s", lower + 2);
    json_t *r =
        rpc("eth_call", json_pack("[{s:s, s:s}, s]", "to", node.token, "data", data, "latest"));
    int64_t v = -1;
    assert_int_equal(pay_chain_word_amount(json_string_value(r), &v), 0);
    json_decref(r);
    return v;
}

/* `paygate platform chain return` with key file `key`: its exit status; its output in *out. */
static int return_job(const char *key, char *out, size_t n)
{
    char cmd[2048], log[400];
    snprintf(log, sizeof log, "%s/return.out", node.dir);
    snprintf(cmd, sizeof cmd,
             "'%s' platform chain return --config '%s/platform.ini' --data-dir '%s'"
             " --database '%s' --key-file '%s' >'%s' 2>&1",
             h_paygate, pf.dir, pf.dir, pf.db, key, log);
    int rc = th_sh("%s", cmd);
    th_read_text(log, out, n);
    return rc;
}

static void write_key(const char *path, const struct pay_chain_xprv *k, int mode)
{
    char text[PAY_CHAIN_XKEY_TEXT_LEN + 1];
    assert_int_equal(pay_chain_xprv_format(k, text, sizeof text), 0);
    unlink(path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", text);
    fclose(f);
    assert_int_equal(chmod(path, (mode_t)mode), 0);
}

/* The held tokens (1 PTD over-paid, 1 PTD late) go back to their payer in signed EIP-1559
 * transactions from the deposits' own keys, gas paid from the gas wallet; booked in flight when
 * signed, out of our holdings at 3 confirmations; a rerun sends nothing twice. A key file
 * others can read, or another wallet's key, is refused and changes nothing. */
static void returns_on_chain(void **state)
{
    (void)state;
    char key[400], out[2048];
    snprintf(key, sizeof key, "%s/account.key", node.dir);
    write_key(key, &account_root, 0644);
    assert_int_not_equal(return_job(key, out, sizeof out), 0);
    assert_non_null(strstr(out, "chmod 600"));
    uint8_t seed[32];
    memset(seed, 8, sizeof seed);
    struct pay_chain_xprv other;
    struct pay_error err;
    assert_int_equal(pay_chain_xprv_from_seed(seed, sizeof seed, &other, &err), PAY_ERR_OK);
    write_key(key, &other, 0600);
    assert_int_not_equal(return_job(key, out, sizeof out), 0);
    assert_non_null(strstr(out, "another wallet"));
    write_key(key, &account_root, 0600);
    /* the gas wallet (account/1/0) gets 1 ether from a test account */
    struct pay_chain_xprv branch, gas;
    uint8_t a[PAY_CHAIN_ADDRESS_LEN];
    char gas_addr[43];
    assert_int_equal(pay_chain_xprv_child(&account_root, 1, &branch, &err), PAY_ERR_OK);
    assert_int_equal(pay_chain_xprv_child(&branch, 0, &gas, &err), PAY_ERR_OK);
    pay_chain_address_of(gas.pub.pubkey, a);
    pay_chain_address_format(a, gas_addr);
    json_t *tx = json_pack("{s:s, s:s, s:s}", "from", node.payer2, "to", gas_addr, "value",
                           "0xde0b6b3a7640000");
    json_decref(rpc("eth_sendTransaction", json_pack("[o]", tx)));
    int64_t before = token_balance(node.payer);
    assert_int_equal(return_job(key, out, sizeof out), 0);
    assert_non_null(strstr(out, "2 signed and sent, 0 confirmed"));
    assert_int_equal(token_balance(node.payer), before + 2 * PTD);
    /* one block each: the first deposit's gas, its return, the second's gas, its return; so
     * the first return has its 3 confirmations now, the second 1 */
    assert_int_equal(return_job(key, out, sizeof out), 0);
    assert_non_null(strstr(out, "0 signed and sent, 1 confirmed, 0 failed"));
    mine(CONFIRMATIONS - 2); /* 2 of 3 */
    assert_int_equal(return_job(key, out, sizeof out), 0);
    assert_non_null(strstr(out, "0 signed and sent, 0 confirmed, 0 failed"));
    mine(1);
    assert_int_equal(return_job(key, out, sizeof out), 0);
    assert_non_null(strstr(out, "0 signed and sent, 1 confirmed, 0 failed"));
    assert_int_equal(return_job(key, out, sizeof out), 0);
    assert_non_null(strstr(out, "0 signed and sent, 0 confirmed, 0 failed"));
    assert_int_equal(token_balance(node.payer), before + 2 * PTD);
    expect_returned = expect_held;
    expect_held = 0;
}

static int64_t debit_balance(struct pay_ledger *lg, const char *id)
{
    return h_ledger_debit_balance(lg, id);
}

/* Every token the node says the deposit addresses hold is in the books, on both sides. */
static void ledger_at_the_end(void **state)
{
    (void)state;
    h_stop(&pf, SIGTERM);
    struct pay_store *s = NULL;
    struct pay_ledger *lg = h_ledger_open(&pf, &s);
    int64_t in = 10 * PTD + 1 * PTD + 2 * PTD + 3 * PTD + 1 * PTD + 6 * PTD + 1 * PTD;
    int64_t applied = in - expect_held - expect_returned;
    assert_int_equal(debit_balance(lg, "pf.reserve.chain.PTD"), in - expect_returned);
    assert_int_equal(-debit_balance(lg, "pf.refunds.PTD"), 0); /* nothing left in flight */
    assert_int_equal(-debit_balance(lg, "pf.held.PTD"), expect_held);
    assert_int_equal(-debit_balance(lg, "pf.fx.chain.PTD"), applied);
    assert_int_equal(debit_balance(lg, "pf.fx.chain.CNY"), paid_minor);
    assert_int_equal(-debit_balance(lg, "pf.merchant.m_a.CNY"), paid_minor - fees_minor);
    assert_int_equal(-debit_balance(lg, "pf.fees.CNY"), fees_minor);
    h_ledger_close(s, lg);
    assert_int_equal(h_ledger_verify(&pf), 0);
}

int main(int argc, char **argv)
{
    h_paygate = argc > 1 ? argv[1] : "./paygate";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paid_end_to_end),
        cmocka_unit_test(reorg_drops_payment),
        cmocka_unit_test(restart_neither_misses_nor_repeats),
        cmocka_unit_test(node_restarted),
        cmocka_unit_test(under_over_late),
        cmocka_unit_test(returns_on_chain),
        cmocka_unit_test(ledger_at_the_end),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
