/* The chain rail of the platform (docs/chain.md): trades paid in an ERC-20 token on an EVM
 * chain. Each trade paid this way gets a deposit address of its own, derived from the
 * platform's extended public key; the watcher follows the chain's blocks, records the token's
 * Transfer logs to deposit addresses, follows reorganisations, and credits a payment once it
 * has the configured number of confirmations: the tokens in the ledger, the trade paid at the
 * rate locked when its deposit was made, and the merchant's notification, in one transaction.
 * No private key is ever loaded by the platform. */
#ifndef PAY_PLATFORM_CHAIN_H
#define PAY_PLATFORM_CHAIN_H

#include "chain/keys.h"
#include "chain/rpc.h"
#include "core/errors.h"
#include "core/limits.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct pay_config;
struct pay_platform;
struct pay_platform_trade;

/* [chain] of the platform's INI file; enabled when the section is there. */
struct pay_platform_chain_settings {
    bool enabled;
    struct pay_chain_rpc rpc;             /* rpc_url, allow_private */
    int64_t chain_id;                     /* checked against the node's at each pass */
    uint8_t token[PAY_CHAIN_ADDRESS_LEN]; /* the ERC-20 contract */
    char token_text[PAY_CHAIN_ADDRESS_TEXT_LEN];
    char asset[4];              /* its ledger asset code, e.g. PTD */
    int decimals;               /* its scale (the token's decimals()) */
    struct pay_chain_xpub xpub; /* deposit addresses: child i of this key */
    int64_t confirmations;      /* credited at this many confirmations */
    int64_t poll_ms;            /* the watcher's period */
    char rate_currency[4];      /* trades in this currency may be paid on chain */
    int64_t rate_minor;         /* minor units of rate_currency per whole token */
    /* Anchoring of the payment log's heads (chain_anchor.c); on when anchor_key_file is set. */
    bool anchoring;
    uint8_t anchor_key[32]; /* secp256k1: spends only the gas of anchor transactions */
    char anchor_address[PAY_CHAIN_ADDRESS_TEXT_LEN]; /* its address, EIP-55 */
    int64_t anchor_interval_ms;                      /* at most one anchor this often */
};

/* Reads [chain] (every key checked; nothing enabled without the section) and registers the
 * asset with the money layer. */
enum pay_err pay_platform_chain_settings_read(struct pay_platform_chain_settings *s,
                                              const struct pay_config *c, struct pay_error *err);

/* A trade's deposit (pf_chain_deposits). */
struct pay_platform_chain_deposit {
    char trade_id[PAY_ID_MAX];
    char address[PAY_CHAIN_ADDRESS_TEXT_LEN]; /* EIP-55 */
    int64_t addr_index;
    char asset[4];
    int64_t due_minor;      /* tokens asked, at the locked rate */
    int64_t received_minor; /* confirmed so far */
    int64_t applied_minor;  /* of which paid the trade (due_minor once paid, else 0) */
    int64_t pending_minor;  /* seen on chain, not yet confirmed */
    char status[16];        /* waiting | paid */
    int64_t rate_minor;     /* the locked rate: minor units of the trade's currency per token */
    int64_t created_ms;
};

/* The deposit of trade_id, made on first call (a fresh address, the amount at the current
 * rate); the trade must be open, unexpired and in the rate's currency (TRADE_STATE_INVALID,
 * CURRENCY_MISMATCH otherwise). */
enum pay_err pay_platform_chain_deposit_open(struct pay_platform *p, const char *trade_id,
                                             struct pay_platform_chain_deposit *out,
                                             struct pay_error *err);
/* The deposit as it is (NOT_FOUND when the trade has none). */
enum pay_err pay_platform_chain_deposit_get(struct pay_platform *p, const char *trade_id,
                                            struct pay_platform_chain_deposit *out,
                                            struct pay_error *err);

/* Credits a recorded transfer that has its confirmations (chain_credit.c); idempotent. */
enum pay_err pay_platform_chain_credit(struct pay_platform *p, const char *transfer_id,
                                       struct pay_error *err);

/* One pass of the watcher: follow the chain to its head (at most PAY_CHAIN_PASS_BLOCKS_MAX
 * blocks), undo what a reorganisation removed, credit what has its confirmations. */
enum pay_err pay_platform_chain_pass(struct pay_platform *p, struct pay_error *err);

/* The watcher thread (started by pay_platform_start when [chain] is on). */
void *pay_platform_chain_watcher(void *arg);

/* `paygate platform chain return` (chain_return.c): returns held tokens on chain, signed with
 * the deposits' keys derived from `account` (the account key whose /0 is the [chain] xpub; its
 * /1/0 pays gas). One run: follows the returns sent before (settled at the rail's
 * confirmations), then starts the returns now due. */
struct pay_platform_chain_return_stats {
    int signed_n;  /* returns signed and stored (and sent) by this run */
    int confirmed; /* returns this run found confirmed and booked */
    int failed;    /* returns that failed on chain: the tokens are held again */
};
enum pay_err pay_platform_chain_return_run(struct pay_platform *p,
                                           const struct pay_chain_xprv *account,
                                           struct pay_platform_chain_return_stats *out,
                                           struct pay_error *err);

/* Anchoring the payment log's signed heads on the chain (chain_anchor.c, docs/receipts.md):
 * follows the anchor in flight (sent again while not mined; confirmed at the rail's
 * confirmations; a dropped one is forgotten), else anchors the newest head when it is newer than
 * the last anchored one and, unless `now`, anchor_interval has passed since. One anchor at a
 * time, in a transaction from the anchor key to itself whose data is the head's message and
 * signature, stored before it is sent. */
struct pay_platform_chain_anchor {
    int64_t tree_size;
    char address[PAY_CHAIN_ADDRESS_TEXT_LEN]; /* the anchor key's, EIP-55 */
    char tx_hash[67];
    char status[16]; /* signed | sent | confirmed | dropped */
    int64_t block_number;
};
enum pay_err pay_platform_chain_anchor_step(struct pay_platform *p, bool now,
                                            struct pay_platform_chain_anchor *last,
                                            struct pay_error *err);
/* The newest confirmed anchor (tree_size 0 when none), inside tx. */
struct pay_store_tx;
enum pay_err pay_platform_chain_anchor_latest(struct pay_store_tx *tx,
                                              struct pay_platform_chain_anchor *out,
                                              struct pay_error *err);

/* The command line of the return job (chain_cli.c), argv[0] being "return". */
int pay_platform_chain_cli_return(int argc, char **argv);
/* `paygate platform chain anchor`: anchors the newest head now (chain_cli.c). */
int pay_platform_chain_cli_anchor(int argc, char **argv);

/* The cashier's chain page (chain_pages.c): its route table (docs/hacking.md, "Platform
 * routes"); the page is NOT_FOUND while [chain] is off. */
struct pay_http_route;
const struct pay_http_route *pay_platform_chain_routes(size_t *n);

#endif
