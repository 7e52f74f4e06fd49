/* The sandbox chain for the platform's tests (chain/node.mjs: ganache with the PTD token and
 * funded accounts): started on a port of the system's choosing (or a given one, to come back
 * after a stop with the same --db), JSON-RPC to it, blocks mined on demand. */
#ifndef PAY_TESTS_PLATFORM_CHAIN_NODE_H
#define PAY_TESTS_PLATFORM_CHAIN_NODE_H

#include "chain/rpc.h"

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

struct chain_node {
    pid_t pid;
    char dir[300]; /* under the test's tmp: node.json, node.log, db/ */
    int port;
    struct pay_chain_rpc rpc;
    char token[43];
    char payer[43], payer2[43]; /* funded test accounts 1 and 2 (unlocked on the node) */
};

/* Exits 77 (skip), or 1 when PAYGATE_REQUIRE_CHAIN / _BROWSER is set, when chain/ has no
 * node_modules (scripts/deps.sh test runs npm ci there). */
void chain_node_require(void);
/* Starts the node in n->dir (made by the caller) on port (0: any); 0 or -1. */
int chain_node_start(struct chain_node *n, int port);
/* method(params) on the node (params stolen); asserts it answered; the result (a new reference). */
json_t *chain_node_rpc(struct chain_node *n, const char *method, json_t *params);
void chain_node_mine(struct chain_node *n, int blocks);
int64_t chain_node_block_number(struct chain_node *n);

#endif
