/* The sandbox chain for the platform's tests (chain_node.h). */
#include "chain_node.h"

#include "core/buf.h"
#include "lib/harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void chain_node_require(void)
{
    const char *src = getenv("PAYGATE_SOURCE_ROOT");
    char probe[600];
    snprintf(probe, sizeof probe, "%s/chain/node_modules/ganache/package.json", src ? src : ".");
    struct stat st;
    if (src != NULL && stat(probe, &st) == 0)
        return;
    bool required = getenv("PAYGATE_REQUIRE_CHAIN") || getenv("PAYGATE_REQUIRE_BROWSER");
    fprintf(stderr,
            "%s: the sandbox chain is not installed (scripts/deps.sh test runs npm ci in"
            " chain/)\n",
            required ? "FAIL" : "SKIP");
    exit(required ? 1 : 77);
}

int chain_node_start(struct chain_node *n, int port)
{
    const char *src = getenv("PAYGATE_SOURCE_ROOT");
    char cmd[1600], info[400], text[4096];
    snprintf(info, sizeof info, "%s/node.json", n->dir);
    unlink(info);
    snprintf(cmd, sizeof cmd,
             "exec node '%s/chain/node.mjs' --info-file '%s' --db '%s/db' --port %d "
             ">>'%s/node.log' 2>&1",
             src, info, n->dir, port, n->dir);
    n->pid = th_spawn_sh(cmd);
    if (th_wait_url_file(n->pid, info, text, sizeof text, TH_START_TIMEOUT_MS) != 0)
        return -1;
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    pay_str_copy(n->rpc.url, sizeof n->rpc.url, json_string_value(json_object_get(j, "url")));
    n->rpc.allow_private = true;
    pay_str_copy(n->token, sizeof n->token, json_string_value(json_object_get(j, "token")));
    json_t *acc = json_object_get(j, "accounts");
    pay_str_copy(n->payer, sizeof n->payer, json_string_value(json_array_get(acc, 1)));
    pay_str_copy(n->payer2, sizeof n->payer2, json_string_value(json_array_get(acc, 2)));
    const char *colon = strrchr(n->rpc.url, ':');
    n->port = colon ? (int)strtol(colon + 1, NULL, 10) : 0;
    json_decref(j);
    return 0;
}

json_t *chain_node_rpc(struct chain_node *n, const char *method, json_t *params)
{
    json_t *r = NULL;
    struct pay_error err = {0};
    enum pay_err e = pay_chain_rpc_call(&n->rpc, method, params, &r, &err);
    if (e != PAY_ERR_OK)
        fprintf(stderr, "%s: %s\n", method, err.detail);
    assert_int_equal(e, PAY_ERR_OK);
    return r;
}

void chain_node_mine(struct chain_node *n, int blocks)
{
    for (int i = 0; i < blocks; i++)
        json_decref(chain_node_rpc(n, "evm_mine", NULL));
}

int64_t chain_node_block_number(struct chain_node *n)
{
    json_t *r = chain_node_rpc(n, "eth_blockNumber", NULL);
    int64_t number = -1;
    assert_int_equal(pay_chain_quantity_parse(json_string_value(r), &number), 0);
    json_decref(r);
    return number;
}
