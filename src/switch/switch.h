/* The card network switch (docs/switch.md): members join with certificates from its CA, a BIN
 * table routes each card to its issuer, it forwards authorizations, captures, reversals and
 * refunds between acquirers and issuers (each idempotent on the acquirer's trace), hosts the
 * online payment page (银联在线支付), clears each business day and settles the net positions
 * through the members' settlement accounts it keeps. Internal to src/switch. */
#ifndef PAY_SWITCH_SWITCH_H
#define PAY_SWITCH_SWITCH_H

#include "core/clock.h"
#include "core/errors.h"
#include "core/limits.h"
#include "crypto/keydir.h"
#include "crypto/seal.h"
#include "crypto/sign.h"
#include "http/settings.h"
#include "ledger/ledger.h"
#include "store/store.h"
#include "switch/net.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define PAY_SWITCH_CURRENCY "CNY" /* the sandbox network clears in CNY */

/* Ledger codes of the switch's transfers and accounts. */
enum pay_switch_xfer_code {
    PAY_SWITCH_XFER_FUNDING = 1,     /* central bank money into a settlement account */
    PAY_SWITCH_XFER_SETTLEMENT = 2,  /* a member's net position of one business day */
    PAY_SWITCH_XFER_CLEARING = 3,    /* an approved capture or refund: issuer <-> acquirer */
    PAY_SWITCH_XFER_INTERCHANGE = 4, /* a cleared purchase's interchange: acquirer -> issuer */
    PAY_SWITCH_XFER_NETWORK_FEE = 5, /* the network's fee of one side of a cleared purchase */
};
enum pay_switch_acct_code {
    PAY_SWITCH_ACCT_SETTLEMENT = 1, /* a member's settlement account */
    PAY_SWITCH_ACCT_CLEARING = 2,   /* a member's clearing position until settlement */
    PAY_SWITCH_ACCT_INTERNAL = 9,   /* central bank funding, the network's fee income */
};

struct pay_switch_options {
    char name[PAY_SWITCH_NAME_MAX + 1];
    char code[PAY_NET_CODE_MAX + 1];
    char data_dir[PAY_SWITCH_PATH_MAX];
    struct pay_server_settings server;
    char web_root[PAY_SWITCH_PATH_MAX];
    int64_t interchange_bp;     /* acquirer -> issuer, of each purchase */
    int64_t network_fee_bp;     /* each side -> the switch, of each purchase */
    int64_t issuer_timeout_ms;  /* PAY_NET_ISSUER_TIMEOUT_MS */
    bool allow_private_members; /* member URLs on loopback/private addresses (sandbox) */
    char test_fault[32];        /* tests only (with fake_clock): "stall-after-issuer" */
};

struct pay_switch_keys {
    /* ca: issues the members' certificates; sign (CN = the switch's code): signs answers,
     * requests to issuers and clearing files */
    struct pay_keydir_certs certs;
    struct pay_seal_key seal; /* card data is sealed to the switch with its public half */
    uint8_t index_key[PAY_KEYED_HASH_KEY_LEN]; /* keyed hash of card numbers (tokens) */
};

struct pay_switch {
    struct pay_switch_options opt;
    struct pay_switch_keys keys;
    struct pay_store *store;
    struct pay_ledger *ledger;
    struct pay_committer *committer;
    struct pay_http_server *http;
    struct pay_nonce_cache *nonces;
    char url[PAY_URL_MAX + 1];                   /* our base URL (public_url, else the bound one) */
    char central_account[PAY_LEDGER_ID_MAX + 1]; /* funds settlement accounts (sandbox) */
    char fees_account[PAY_LEDGER_ID_MAX + 1];    /* the network's fee income */
    /* the background worker: the switch's own reversals, the daily clearing */
    pthread_t worker;
    bool worker_running;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    bool stopping;
    struct pay_clock_worker worker_clock;
};

/* --- switch.c: lifecycle ------------------------------------------------------------------- */
void pay_switch_options_defaults(struct pay_switch_options *o);
/* data_dir set, code, fee rates and the test fault well-formed (CONFIG_INVALID naming it). */
enum pay_err pay_switch_options_check(const struct pay_switch_options *o, struct pay_error *err);
/* Opens the data dir: keys (created on first use), database, ledger, committer. *out is freed
 * with pay_switch_close(), also after a failure. */
enum pay_err pay_switch_open(const struct pay_switch_options *o, struct pay_switch **out,
                             struct pay_error *err);
void pay_switch_close(struct pay_switch *sw);
/* Writes a file atomically with mode; 0 or -1. */
int pay_switch_write_file(const char *path, const char *data, size_t len, int mode);
/* A new number of sequence name (allocated in tx): "rrn", ... */
enum pay_err pay_switch_seq_next(struct pay_store_tx *tx, const char *name, int64_t *out,
                                 struct pay_error *err);

/* --- schema.c ------------------------------------------------------------------------------ */
extern const struct pay_store_component pay_switch_schema;

/* --- members.c ----------------------------------------------------------------------------- */
struct pay_switch_member {
    char code[PAY_NET_CODE_MAX + 1];
    char name[PAY_SWITCH_NAME_MAX + 1];
    bool issuer, acquirer;
    char url[PAY_URL_MAX + 1]; /* "" until it signed on */
    uint8_t seal_pk[PAY_SEAL_PK_LEN];
    char settle_account[PAY_LEDGER_ID_MAX + 1];
    char *cert_pem; /* heap, freed by pay_switch_member_fini */
    bool revoked;
};
void pay_switch_member_fini(struct pay_switch_member *m);
/* NOT_FOUND (field "member") when there is no such member. */
enum pay_err pay_switch_member_get(struct pay_store_tx *tx, const char *code,
                                   struct pay_switch_member *out, struct pay_error *err);

/* The same in a read transaction of its own. */
enum pay_err pay_switch_member_load(struct pay_switch *sw, const char *code,
                                    struct pay_switch_member *out, struct pay_error *err);

struct pay_switch_member_new {
    const char *code, *name;
    const char *roles;   /* "issuer", "acquirer" or "issuer,acquirer" */
    const char *bin;     /* optional: a first BIN table entry */
    int64_t funds_minor; /* sandbox: central bank money into its settlement account */
};
/* Admits a member: its certificate (CN = code) from the switch's CA, its X25519 sealing key,
 * its settlement account; writes member.key, member.crt, seal.key, switch.crt, switch-ca.crt
 * and member.json to out_dir (the member's configuration, docs/switch.md). */
enum pay_err pay_switch_member_add(struct pay_switch *sw, const struct pay_switch_member_new *m,
                                   const char *out_dir, struct pay_error *err);
/* Adds (or moves) a BIN table entry: prefix of PAY_NET_BIN_PREFIX_MIN..MAX digits. */
enum pay_err pay_switch_bin_add(struct pay_switch *sw, const char *prefix, const char *member,
                                struct pay_error *err);
/* Sandbox: central bank money into a member's settlement account. */
enum pay_err pay_switch_member_fund(struct pay_switch *sw, const char *member, int64_t amount_minor,
                                    struct pay_error *err);
/* The issuer of a card number: the member of the longest BIN table prefix that matches
 * (inside tx). NOT_FOUND when none matches. */
enum pay_err pay_switch_route(struct pay_store_tx *tx, const char *pan,
                              char member[PAY_NET_CODE_MAX + 1], struct pay_error *err);
/* Lists members and the BIN table on out (the `member list` command). */
enum pay_err pay_switch_members_print(struct pay_switch *sw, FILE *out, struct pay_error *err);

/* --- api.c: members' signed requests ------------------------------------------------------- */
struct pay_http_request;
/* The member a request comes from, after its signature, type and JSON are checked; on failure
 * it has answered. body: owned by the caller (NULL for GET). */
bool pay_switch_api_begin(struct pay_http_request *req, struct pay_switch_member *m, json_t **body);
/* The http framework's answer signer (ctx = the switch). */
void pay_switch_sign_answer(void *ctx, struct pay_http_request *req, int status, const void *body,
                            size_t len);
/* A signed call from the switch to a member (an issuer); the answer checked with the member's
 * certificate. As pay_net_call. */
enum pay_err pay_switch_call(struct pay_switch *sw, const struct pay_switch_member *to,
                             const char *path, json_t *msg, long *status, json_t **answer,
                             struct pay_error *err);
const struct pay_http_route *pay_switch_api_routes(size_t *n);

/* --- route.c: the financial messages -------------------------------------------------------- */
const struct pay_http_route *pay_switch_route_routes(size_t *n);
/* The text of an answer to an acquirer (JSON, keys sorted); heap, caller frees. */
char *pay_switch_answer_text(json_t *answer);

/* The card with pan_index (or, when token is not NULL, with that token): its token, issuer,
 * BIN and last four digits; *known false when the network has not seen it (inside tx). */
enum pay_err pay_switch_token_find(struct pay_store_tx *tx, const char *token,
                                   const char *pan_index, char token_out[PAY_NET_TOKEN_MAX + 1],
                                   char issuer[PAY_NET_CODE_MAX + 1], char bin[7], char last4[5],
                                   bool *known, struct pay_error *e);
/* A new token for a card the network has not seen, routed by the BIN table (inside tx);
 * NOT_FOUND when no member issues it. */
enum pay_err pay_switch_token_make(struct pay_store_tx *tx, const char *pan, const char *pan_index,
                                   char token[PAY_NET_TOKEN_MAX + 1],
                                   char issuer[PAY_NET_CODE_MAX + 1], char bin[7], char last4[5],
                                   struct pay_error *e);

/* --- online.c: the online payment page's sessions (银联在线支付) ----------------------------- */
/* One session of the page: opened by the acquirer for one of its orders (ref). */
struct pay_switch_online {
    char id[PAY_NET_ONLINE_ID_MAX + 1];
    char acquirer[PAY_NET_CODE_MAX + 1];
    char ref[PAY_NET_ONLINE_ID_MAX + 1];
    int64_t amount_minor, expires_ms;
    char merchant_id[PAY_MERCHANT_ID_FIELD_MAX + 1];
    char merchant_name[PAY_TEXT_FIELD_MAX + 1];
    char return_url[PAY_URL_MAX + 1];
    char csrf[PAY_NET_ONLINE_ID_MAX + 1];
    char state[16]; /* NEW, CODE_SENT, VERIFIED */
    char issuer[PAY_NET_CODE_MAX + 1];
    char token[PAY_NET_TOKEN_MAX + 1], bin[7], last4[5];
    char phone_hint[24];
    char verification_id[PAY_NET_ONLINE_ID_MAX + 1];
};
/* The session id (a bearer secret of the shopper's browser): UNAUTHENTICATED (field session)
 * when there is no such session or it has expired (the switch's clock). */
enum pay_err pay_switch_online_load(struct pay_switch *sw, const char *id,
                                    struct pay_switch_online *out, struct pay_error *err);
/* What the issuer answered the page: its response code and text; for a code, the state of the
 * verification (SENT: another try, VERIFIED, FAILED or EXPIRED: back to the card) and the
 * tries left. */
struct pay_switch_online_answer {
    char rc[PAY_NET_RC_LEN];
    char text[PAY_TEXT_FIELD_MAX + 1];
    char state[16];
    int tries_left;
};
/* The card the shopper typed: routed by the BIN table to its issuer (92 when none), sealed to
 * it with the verification request; an issuer that checks it (00) has sent an SMS code to the
 * card's phone and the session is CODE_SENT. No answer: 91. */
enum pay_err pay_switch_online_card(struct pay_switch *sw, struct pay_switch_online *s,
                                    const struct pay_net_card *card,
                                    struct pay_switch_online_answer *a, struct pay_error *err);
/* The SMS code, sealed to the issuer: a right one makes the session VERIFIED. */
enum pay_err pay_switch_online_code(struct pay_switch *sw, struct pay_switch_online *s,
                                    const char *code, struct pay_switch_online_answer *a,
                                    struct pay_error *err);
/* POST /net/v1/online/sessions and GET /net/v1/online/sessions/{id} (acquirers, signed). */
const struct pay_http_route *pay_switch_online_routes(size_t *n);

/* --- pages.c: the online payment page (银联在线支付) ---------------------------------------- */
const struct pay_http_route *pay_switch_page_routes(size_t *n);

/* --- worker.c: the switch's own reversals, the daily clearing ------------------------------ */
int pay_switch_worker_start(struct pay_switch *sw);
void pay_switch_worker_stop(struct pay_switch *sw);
/* Sends the due reversals the switch owes issuers (authorizations it could not answer). */
void pay_switch_reversals_run(struct pay_switch *sw);

/* --- clearing.c: the daily clearing and settlement ----------------------------------------- */
/* A member's clearing account: "clear:<code>" (members.c). */
void pay_switch_clearing_account(const char *code, char out[PAY_LEDGER_ID_MAX + 1]);
/* Books an approved capture (de3 000000) or refund (200000) of amount between the issuer's and
 * the acquirer's clearing accounts (inside tx, with the answer; transfer ids from the
 * acquirer's trace). A capture's fees too: the interchange (interchange_bp, acquirer ->
 * issuer) and the network's fee from each side (network_fee_bp -> the fee account), kept on
 * the message's row. */
enum pay_err pay_switch_clear_tx(struct pay_switch *sw, struct pay_store_tx *tx,
                                 const char *acquirer, const char *trace, const char *proc,
                                 const char *issuer, int64_t amount_minor, const char *settle_date,
                                 struct pay_error *err);
/* Settles business day date ("YYYY-MM-DD", ended: before today's business date): each member's
 * net position moves between its clearing and its settlement account, one balanced transfer
 * each, in one transaction with the run's rows. *members: how many settled; 0 and OK when the
 * day was settled before (a rerun moves nothing). A message belongs to the business day of its
 * answer, so an ended day gains no messages. FIELD_INVALID (date) for a day that has not ended;
 * INSUFFICIENT_FUNDS (member) when a member's settlement account cannot pay its position
 * (nothing moves). */
enum pay_err pay_switch_settle(struct pay_switch *sw, const char *date, int *members,
                               struct pay_error *err);
/* Settles every ended business day that has cleared messages and no run yet (the worker). */
void pay_switch_clearing_run(struct pay_switch *sw);
/* GET /net/v1/settlements/{date}: the calling member's position and settlement of a day;
 * GET /net/v1/clearing/{date}: its clearing file (clearing_file.c). */
const struct pay_http_route *pay_switch_clearing_routes(size_t *n);
/* --- clearing_file.c ------------------------------------------------------------------------- */
/* The clearing file of member for settled day date (docs/switch.md, "Clearing files"): heap text,
 * caller frees; *records and *net_minor its count and the member's net. SETTLEMENT_NOT_FOUND
 * (field date) when the day is not settled. */
enum pay_err pay_switch_clearing_file(struct pay_switch *sw, const char *member, const char *date,
                                      char **out, int64_t *records, int64_t *net_minor,
                                      struct pay_error *err);
enum pay_err pay_switch_clearing_file_handler(struct pay_http_request *req, struct pay_error *err);

/* --- server.c ------------------------------------------------------------------------------ */
int pay_switch_serve(struct pay_switch_options *o);

/* `paygate switch` (cmd_switch.c, linked into the paygate binary, src/cli): run the card
 * network's switch. Takes the arguments after the command's name (argv[0] is it), handles
 * --help, returns the exit status. */
int pay_cmd_switch(int argc, char **argv);

#endif
