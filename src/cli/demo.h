/* `paygate demo`'s state, shared by cmd_demo.c (the servers) and demo_chain.c (the sandbox
 * chain: a local EVM node run by Node.js, docs/chain.md). */
#ifndef PAY_CLI_DEMO_H
#define PAY_CLI_DEMO_H

#include "chain/keys.h"
#include "core/limits.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct demo_bank {
    const char *code, *name, *name_en, *color, *bin; /* name: on Chinese pages and SMS */
    char acct[64]; /* the platform's merchant account at this bank */
};

/* The children, in start order; a child's index is also its port's offset from --base-port
 * (the chain's wallet page takes the next one). */
enum { DEMO_BANK0, DEMO_BANK1, DEMO_PLATFORM, DEMO_SHOP, DEMO_SWITCH, DEMO_CHAIN, DEMO_N };
#define DEMO_WALLET_PORT_OFFSET DEMO_N

/* The sandbox chain, when it runs (demo_chain.c). */
struct demo_chain {
    bool on;
    char wallet_url[PAY_URL_MAX + 1];
    char token[PAY_CHAIN_ADDRESS_TEXT_LEN];
    char funder[PAY_CHAIN_ADDRESS_TEXT_LEN]; /* the node's account 0: pays the demo's gas */
    char xpub[PAY_CHAIN_XKEY_TEXT_LEN];      /* the deposits' key, from DIR/chain/account.key */
    char anchor_key_file[1200];
    char anchor_address[PAY_CHAIN_ADDRESS_TEXT_LEN];
    int64_t started_ms; /* when the node was started (monotonic) */
};

struct demo {
    char self[1024];
    char dir[1024];
    int base_port; /* 0: every server on a free port of the kernel's choosing */
    const char *urls_file;
    struct demo_bank banks[2];
    pid_t pids[DEMO_N];
    const char *names[DEMO_N];
    char urls[DEMO_N][PAY_URL_MAX + 1]; /* what each child announced once it listened */
    char operator_token[33]; /* the platform's operator console, kept in the data folder */
    struct demo_chain chain;
};

/* DIR/<fmt...> into out. */
void demo_path(const struct demo *d, char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Starts argv[0] (found on PATH when not a path) with argv, its output appended to
 * DIR/logs/<log>.log, in a process group of its own; private: files it makes are its owner's
 * only (umask 077). Returns the pid (-1 when fork failed). */
pid_t demo_spawn(const struct demo *d, const char *log, char *const argv[], bool private);

/* "paygate demo: NAME up at URL (N.N s)": progress while the demo starts ("ready" is said once,
 * when all are). */
void demo_progress(const char *name, const char *url, int64_t t0_ms);

/* The sandbox chain: chain/node.mjs beside the binary's source tree (or in $PAYGATE_CHAIN_DIR)
 * on the demo's port N+5 (its wallet page N+6). begin makes the demo's keys once (DIR/chain:
 * the deposits' account key, the anchor key) and starts the node, which deploys its token while
 * the other servers start; when Node.js or the chain's npm packages are missing it says so and
 * leaves the chain off. ready waits for the node and funds the keys with ether for gas. Each
 * returns 0 (also when the chain is off), or -1 when the chain is there but does not start. */
int demo_chain_begin(struct demo *d);
int demo_chain_ready(struct demo *d);
/* The platform's [chain] section for the running chain (nothing when it is off). */
void demo_chain_ini(const struct demo *d, FILE *f);

#endif
