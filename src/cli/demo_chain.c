/* The sandbox chain of `paygate demo` (docs/chain.md, "The sandbox chain"): chain/node.mjs (a
 * local EVM node, ganache, with the PTD token and funded test accounts, and the sandbox wallet
 * page) started as one more child, and what the platform needs to take payments on it and to
 * anchor its payment log there: the deposits' extended public key and the anchor key, made once
 * in DIR/chain and funded with ether from the node's first account. Without Node.js or the
 * chain's npm packages the demo runs without the chain and says how to add it. */
#include "cli/demo.h"

#include "chain/rpc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "crypto/crypto.h"

#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEMO_CHAIN_ID  1337
#define DEMO_GAS_GIVEN "0x8ac7230489e80000" /* 10 ether: PAY_DEMO_CHAIN_GAS_MIN_WEI times 10 */

/* Whether an executable `name` is on PATH. */
static bool on_path(const char *name)
{
    const char *path = getenv("PATH");
    while (path && *path) {
        size_t len = strcspn(path, ":");
        char file[1200];
        snprintf(file, sizeof file, "%.*s/%s", (int)(len < 1000 ? len : 1000), path, name);
        if (len > 0 && access(file, X_OK) == 0)
            return true;
        path += len + (path[len] == ':');
    }
    return false;
}

/* node.mjs, with its npm packages, and `node` on PATH; else *why says what is missing. */
static bool chain_found(const struct demo *d, char *mjs, size_t n, const char **why)
{
    char self[sizeof d->self], dir[1100], probe[1300];
    const char *env = getenv("PAYGATE_CHAIN_DIR");
    pay_str_copy(self, sizeof self, d->self);
    if (env == NULL) /* <source>/build/paygate: the chain is <source>/chain */
        snprintf(dir, sizeof dir, "%.1000s/../chain", dirname(self));
    else
        snprintf(dir, sizeof dir, "%.1000s", env);
    snprintf(mjs, n, "%s/node.mjs", dir);
    snprintf(probe, sizeof probe, "%s/node_modules/ganache/package.json", dir);
    *why = NULL;
    if (access(mjs, R_OK) != 0)
        *why = "no chain/node.mjs beside this binary's source (set PAYGATE_CHAIN_DIR)";
    else if (!on_path("node"))
        *why = "no Node.js (scripts/deps.sh demo installs it)";
    else if (access(probe, R_OK) != 0)
        *why = "its npm packages are not installed (scripts/deps.sh demo, or npm ci in chain/)";
    return *why == NULL;
}

/* The account key (xprv of m/44'/60'/0') of a fresh random seed into out. */
static enum pay_err account_new(struct pay_chain_xprv *out, struct pay_error *err)
{
    uint8_t seed[32];
    pay_random_bytes(seed, sizeof seed);
    struct pay_chain_xprv k;
    enum pay_err e = pay_chain_xprv_from_seed(seed, sizeof seed, out, err);
    pay_wipe(seed, sizeof seed);
    const uint32_t path[] = {PAY_CHAIN_HARDENED | 44, PAY_CHAIN_HARDENED | 60, PAY_CHAIN_HARDENED};
    for (size_t i = 0; i < 3 && e == PAY_ERR_OK; i++)
        if ((e = pay_chain_xprv_child(out, path[i], &k, err)) == PAY_ERR_OK)
            *out = k;
    pay_chain_xprv_wipe(&k);
    return e;
}

/* DIR/chain/account.key (mode 0600, made once): what `paygate platform chain return --key-file`
 * takes; its /0 is the platform's xpub. */
static int account_key(struct demo *d)
{
    char path[1200], text[PAY_CHAIN_XKEY_TEXT_LEN + 2];
    demo_path(d, path, sizeof path, "chain/account.key");
    struct pay_chain_xprv account = {0}, deposits = {0};
    struct pay_error err = {0};
    char *saved = pay_file_read(path, PAY_CHAIN_XKEY_TEXT_LEN + 2, NULL);
    enum pay_err e;
    if (saved != NULL) {
        saved[strcspn(saved, "\r\n")] = '\0';
        e = pay_chain_xprv_parse(saved, "account.key", &account, &err);
        pay_wipe(saved, strlen(saved));
        free(saved);
    } else if ((e = account_new(&account, &err)) == PAY_ERR_OK) {
        if (pay_chain_xprv_format(&account, text, sizeof text - 1) != 0)
            e = pay_error_set(&err, PAY_ERR_INTERNAL, "", "cannot format the key");
        size_t len = strlen(text);
        text[len] = '\n';
        if (e == PAY_ERR_OK && pay_file_write(path, text, len + 1, 0600) != 0)
            e = pay_error_set(&err, PAY_ERR_INTERNAL, "", "%s", strerror(errno));
        pay_wipe(text, sizeof text);
    }
    if (e == PAY_ERR_OK)
        e = pay_chain_xprv_child(&account, 0, &deposits, &err);
    if (e == PAY_ERR_OK &&
        pay_chain_xpub_format(&deposits.pub, d->chain.xpub, sizeof d->chain.xpub) != 0)
        e = pay_error_set(&err, PAY_ERR_INTERNAL, "", "cannot format the xpub");
    pay_chain_xprv_wipe(&account);
    pay_chain_xprv_wipe(&deposits);
    if (e != PAY_ERR_OK)
        fprintf(stderr, "paygate demo: %s: %s\n", path, err.detail);
    return e == PAY_ERR_OK ? 0 : -1;
}

/* DIR/chain/anchor.key (64 hex digits, mode 0600, made once): the platform's anchor key. */
static int anchor_key(struct demo *d)
{
    demo_path(d, d->chain.anchor_key_file, sizeof d->chain.anchor_key_file, "chain/anchor.key");
    uint8_t key[32], pub[33], addr[PAY_CHAIN_ADDRESS_LEN];
    char hex[66];
    size_t n = 0;
    char *saved = pay_file_read(d->chain.anchor_key_file, sizeof hex, NULL);
    bool ok = saved && pay_hex_decode(key, sizeof key, saved, 64, &n) == 0 && n == 32 &&
              pay_chain_key_public(key, pub) == 0;
    if (saved)
        pay_wipe(saved, strlen(saved));
    free(saved);
    while (!ok) {
        pay_random_bytes(key, sizeof key);
        ok = pay_chain_key_public(key, pub) == 0;
        (void)pay_hex_encode(hex, sizeof hex, key, sizeof key);
        hex[64] = '\n';
        if (ok && pay_file_write(d->chain.anchor_key_file, hex, 65, 0600) != 0) {
            fprintf(stderr, "paygate demo: cannot write %s: %s\n", d->chain.anchor_key_file,
                    strerror(errno));
            return -1;
        }
    }
    pay_wipe(key, sizeof key);
    pay_wipe(hex, sizeof hex);
    pay_chain_address_of(pub, addr);
    pay_chain_address_format(addr, d->chain.anchor_address);
    return 0;
}

/* Ether for gas to `to` from the node's first account, unless it has at least 1 ether. */
static int fund(const struct demo *d, const struct pay_chain_rpc *rpc, const char *to)
{
    int64_t have = 0;
    struct pay_error err = {0};
    json_t *r = NULL;
    enum pay_err e = pay_chain_rpc_quantity(rpc, "eth_getBalance",
                                            json_pack("[s, s]", to, "latest"), &have, &err);
    if (e == PAY_ERR_OK && have < PAY_DEMO_CHAIN_GAS_MIN_WEI)
        e = pay_chain_rpc_call(rpc, "eth_sendTransaction",
                               json_pack("[{s:s, s:s, s:s}]", "from", d->chain.funder, "to", to,
                                         "value", DEMO_GAS_GIVEN),
                               &r, &err);
    json_decref(r);
    if (e != PAY_ERR_OK)
        fprintf(stderr, "paygate demo: cannot fund %s on the chain: %s\n", to, err.detail);
    return e == PAY_ERR_OK ? 0 : -1;
}

/* The gas wallet of the return job: /1/0 of the account key (docs/chain.md). */
static int gas_wallet(const struct demo *d, char out[PAY_CHAIN_ADDRESS_TEXT_LEN])
{
    char path[1200];
    demo_path(d, path, sizeof path, "chain/account.key");
    char *text = pay_file_read(path, PAY_CHAIN_XKEY_TEXT_LEN + 2, NULL);
    struct pay_chain_xprv account = {0}, branch = {0}, gas = {0};
    struct pay_error err = {0};
    if (text)
        text[strcspn(text, "\r\n")] = '\0';
    bool ok = text && pay_chain_xprv_parse(text, "", &account, &err) == PAY_ERR_OK &&
              pay_chain_xprv_child(&account, 1, &branch, &err) == PAY_ERR_OK &&
              pay_chain_xprv_child(&branch, 0, &gas, &err) == PAY_ERR_OK;
    if (ok) {
        uint8_t addr[PAY_CHAIN_ADDRESS_LEN];
        pay_chain_address_of(gas.pub.pubkey, addr);
        pay_chain_address_format(addr, out);
    }
    if (text)
        pay_wipe(text, strlen(text));
    free(text);
    pay_chain_xprv_wipe(&account);
    pay_chain_xprv_wipe(&branch);
    pay_chain_xprv_wipe(&gas);
    return ok ? 0 : -1;
}

/* The node's info file ({url, token, accounts, wallet_url}) into d. */
static int read_info(struct demo *d, const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    const char *url = json_string_value(json_object_get(j, "url"));
    const char *token = json_string_value(json_object_get(j, "token"));
    const char *wallet = json_string_value(json_object_get(j, "wallet_url"));
    const char *funder = json_string_value(json_array_get(json_object_get(j, "accounts"), 0));
    bool ok = url && token && wallet && funder &&
              pay_str_copy(d->urls[DEMO_CHAIN], sizeof d->urls[DEMO_CHAIN], url) &&
              pay_str_copy(d->chain.token, sizeof d->chain.token, token) &&
              pay_str_copy(d->chain.wallet_url, sizeof d->chain.wallet_url, wallet) &&
              pay_str_copy(d->chain.funder, sizeof d->chain.funder, funder);
    json_decref(j);
    return ok ? 0 : -1;
}

/* Waits for the node's info file (written once it listens, the token deployed). */
static int wait_info(struct demo *d, const char *info)
{
    for (int waited = 0; waited < PAY_DEMO_START_TIMEOUT_MS; waited += 50) {
        int st = 0;
        if (waitpid(d->pids[DEMO_CHAIN], &st, WNOHANG) == d->pids[DEMO_CHAIN]) {
            d->pids[DEMO_CHAIN] = 0;
            fprintf(stderr, "paygate demo: the chain exited at start (see %s/logs/chain.log)\n",
                    d->dir);
            return -1;
        }
        char *text = pay_file_read(info, 65536, NULL);
        int rc = text ? read_info(d, text) : -1;
        free(text);
        if (rc == 0)
            return 0;
        usleep(50000);
    }
    fprintf(stderr,
            "paygate demo: the chain did not get ready within %d s (see %s/logs/chain.log)\n",
            PAY_DEMO_START_TIMEOUT_MS / 1000, d->dir);
    return -1;
}

int demo_chain_begin(struct demo *d)
{
    char mjs[1200], info[1200], db[1200], port[16], wport[16];
    const char *why = NULL;
    if (!chain_found(d, mjs, sizeof mjs, &why)) {
        printf("paygate demo: chain     off: %s; the demo runs without it\n", why);
        fflush(stdout);
        return 0;
    }
    demo_path(d, db, sizeof db, "chain");
    if ((mkdir(db, 0700) != 0 && errno != EEXIST) || account_key(d) != 0 || anchor_key(d) != 0)
        return -1;
    demo_path(d, info, sizeof info, "run/chain.json");
    demo_path(d, db, sizeof db, "chain/db");
    unlink(info); /* an old run's must not pass for this one's */
    snprintf(port, sizeof port, "%d", d->base_port ? d->base_port + DEMO_CHAIN : 0);
    snprintf(wport, sizeof wport, "%d", d->base_port ? d->base_port + DEMO_WALLET_PORT_OFFSET : 0);
    char *argv[] = {"node",   mjs,  "--info-file",   info,  "--db", db,
                    "--port", port, "--wallet-port", wport, NULL};
    d->chain.started_ms = pay_clock_mono_ms();
    d->pids[DEMO_CHAIN] = demo_spawn(d, "chain", argv, true);
    return d->pids[DEMO_CHAIN] > 0 ? 0 : -1;
}

int demo_chain_ready(struct demo *d)
{
    char info[1200], gas[PAY_CHAIN_ADDRESS_TEXT_LEN];
    if (d->pids[DEMO_CHAIN] <= 0)
        return 0; /* off */
    demo_path(d, info, sizeof info, "run/chain.json");
    if (wait_info(d, info) != 0)
        return -1;
    struct pay_chain_rpc rpc = {.allow_private = true};
    pay_str_copy(rpc.url, sizeof rpc.url, d->urls[DEMO_CHAIN]);
    if (fund(d, &rpc, d->chain.anchor_address) != 0 || gas_wallet(d, gas) != 0 ||
        fund(d, &rpc, gas) != 0)
        return -1;
    d->chain.on = true;
    demo_progress("chain", d->urls[DEMO_CHAIN], d->chain.started_ms);
    return 0;
}

void demo_chain_ini(const struct demo *d, FILE *f)
{
    if (!d->chain.on)
        return;
    /* one confirmation: the sandbox mines a block per transaction and none in between */
    fprintf(f,
            "[chain]\nrpc_url = %s\nallow_private = true\nchain_id = %d\ntoken = %s\n"
            "asset = PTD\ndecimals = 6\nxpub = %s\nconfirmations = 1\npoll_interval = 1s\n"
            "rate = 7.25\nrate_currency = CNY\nanchor_key_file = %s\nanchor_interval = 1m\n",
            d->urls[DEMO_CHAIN], DEMO_CHAIN_ID, d->chain.token, d->chain.xpub,
            d->chain.anchor_key_file);
}
