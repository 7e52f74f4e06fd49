/* The third-party payment platform (`paygate platform`): its process-wide state and the
 * internal API shared by the files of src/platform (schema, chart of accounts, merchants,
 * trades and their state machine, idempotency, notifications, the open API). See
 * docs/platform.md for the design and docs/api.md for the merchant API. */
#ifndef PAY_PLATFORM_PLATFORM_H
#define PAY_PLATFORM_PLATFORM_H

#include "audit/audit.h"
#include "core/clock.h"
#include "core/errors.h"
#include "core/limits.h"
#include "core/money.h"
#include "crypto/aead.h"
#include "crypto/sig.h"
#include "crypto/sign.h"
#include "http/settings.h"
#include "ledger/ledger.h"
#include "platform/risk.h"
#include "platform/chain.h"
#include "store/store.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct pay_config;
struct pay_platform_bank;
struct pay_translog_head;
struct pay_http_server;
struct pay_http_route;

/* The platform's schema (component "platform"), to pass to pay_store_open(). */
extern const struct pay_store_component pay_platform_schema;

/* Settings read from the INI file and flags (all have defaults). */
struct pay_platform_settings {
    char name[64];
    struct pay_server_settings server; /* [server]: listen, TLS, public URL, data dir, log */
    char public_url[PAY_URL_MAX + 1];  /* server.public_url, or the bound URL once started */
    int64_t default_fee_bp;
    int64_t trade_timeout_ms;          /* default timeout when a create omits it */
    int64_t timeout_min_ms;            /* shortest timeout a create may ask (sandboxes lower it) */
    int64_t session_idle_ms;           /* consumer web sessions end after this idle time (15m) */
    int64_t refund_window_ms;          /* TRADE_SUCCESS -> TRADE_FINISHED after this */
    int64_t escrow_ship_timeout_ms;    /* escrow: not shipped after this -> refunded in full */
    int64_t escrow_confirm_timeout_ms; /* escrow: receipt confirmed by itself after this */
    int64_t refund_request_timeout_ms; /* a request the merchant leaves unanswered goes to the
                                        * operator after this */
    int settle_minute;         /* settlement runs on business days from this local time (minutes) */
    int recon_minute;          /* yesterday's reconciliation runs from this local time (minutes) */
    char holidays[1024];       /* days off besides weekends: "2026-10-01,2026-10-02" */
    int64_t sweep_interval_ms; /* expiry worker period */
    int64_t notify_schedule_ms[PAY_PLATFORM_NOTIFY_SCHEDULE_MAX];
    size_t notify_schedule_n;
    int64_t notify_timeout_ms;
    int64_t notify_poll_ms;
    bool allow_private_hosts;
    struct pay_platform_bank *banks; /* [platform] banks = a,b; owned by the platform */
    size_t n_banks;
    char web_root[512];                     /* templates/ and static/ of the cashier */
    char operator_token[128];               /* enables the operator API; "" = off */
    bool sandbox_sms;                       /* show SMS codes at /sandbox/sms (sandboxes, tests) */
    char config_sha256[PAY_SHA256_HEX_LEN]; /* of the INI file read ("" none); audit trail */
    char passkey_rp_id[256];                /* WebAuthn RP ID; "" = the public URL's host */
    char passkey_origin[PAY_URL_MAX + 1];   /* the pages' origin; "" = from the public URL */
    char risk_rules[PAY_RISK_PATH_MAX + 1]; /* the risk rules file (docs/risk.md); "" none */
    struct pay_platform_chain_settings chain; /* [chain]: the chain rail (docs/chain.md) */
};

/* The running platform. Created by pay_platform_open, freed by pay_platform_close. */
struct pay_platform {
    struct pay_platform_settings set;
    struct pay_store *store;
    struct pay_ledger *ledger;
    struct pay_committer *committer;
    struct pay_ed25519_key key; /* the platform's signing key */
    char key_id[PAY_SIG_KEY_ID_MAX + 1];
    pay_audit_signer audit_signer; /* signs the audit log's checkpoints with key */
    struct pay_nonce_cache *nonces;
    struct pay_http_server *http;
    pthread_t sweeper, notifier, chain_watcher;
    bool sweeper_started, notifier_started, chain_watcher_started;
    atomic_bool stopping;
    uint8_t otp_key[32];     /* keys the SMS code hashes; derived from the signing key */
    struct pay_keyring aead; /* seals stored secrets (agreement tokens); platform-aead.keys */
    pthread_mutex_t sms_mu;  /* the sandbox SMS outbox (shown when sandbox_sms is on) */
    struct {
        int64_t ms;
        char to[65]; /* a login (PAY_PLATFORM_LOGIN_MAX) */
        char text[256];
        char code[8]; /* the code in the text, apart for test scripts (sandbox only) */
    } sms[32];
    size_t sms_next, sms_count;
    struct pay_platform_route_ctx
        *route_ctx;          /* routes with an argument (server.c); freed at close */
    pthread_mutex_t wake_mu; /* wakes the workers early (stop, new outbox row, clock move) */
    pthread_cond_t wake_cv;
    struct pay_clock_worker sweeper_clock, notifier_clock, chain_clock; /* core/clock.h */
    struct pay_tz *settle_tz;  /* [server] time_zone: business days and the cut-off */
    int64_t settle_checked_ms; /* the sweeper's last look at today's settlement run */
    /* The payment log (receipts.c): the head size each bank was last asked to co-sign (the
     * sweeper's own; a bank is asked again at the next head). Heads are anchored on the chain
     * by the chain watcher (chain_anchor.c). */
    int64_t receipts_asked[PAY_TRANSLOG_WITNESS_MAX];
    int64_t recon_checked_ms; /* ... and at yesterday's reconciliation (recon.c) */
    struct pay_risk risk;     /* the rules in force (risk.h), reloaded on SIGHUP */
    bool risk_ready;          /* risk initialised: pay_platform_close finalises it */
};

/* --- lifecycle (server.c) ----------------------------------------------------------------- */

/* Defaults, then the INI file (may be NULL), into *s. Checks every key and value (an unknown
 * section or key is CONFIG_INVALID naming file:line [section] key) and reads the files of the
 * [bank.<code>] sections; opens no database. Free s->banks with pay_platform_settings_fini. */
enum pay_err pay_platform_settings_load(struct pay_platform_settings *s, const char *config_path,
                                        struct pay_error *err);
void pay_platform_settings_fini(struct pay_platform_settings *s);
/* Opens the data dir's database (creating it), the ledger and the signing key (generated on
 * first start). No threads yet. Caller frees with pay_platform_close. */
enum pay_err pay_platform_open(const struct pay_platform_settings *s, struct pay_platform **out,
                               struct pay_error *err);
/* Starts the committer, the HTTP server and the workers. */
enum pay_err pay_platform_start(struct pay_platform *p, struct pay_error *err);
void pay_platform_close(struct pay_platform *p); /* stops everything; NULL ok */

/* --- routes (docs/hacking.md, "Platform routes") ------------------------------------------- *
 * Every file that serves pages or endpoints exports ONE table of its routes, a function like
 * the bank's: `const struct pay_http_route *pay_platform_<file>_routes(size_t *n)` returning a
 * static array. server.c walks the tables (its list route_tables) and adds them to the HTTP
 * server; no file registers routes itself, so server.c calls handlers' files only through their
 * tables and none of them calls back into server.c. In a table a route's ctx is NULL, and its
 * handler gets the platform from pay_http_req_ctx(); a route that needs an argument of its own
 * (the open API's endpoint definitions) puts it in ctx, and its handler gets a
 * struct pay_platform_route_ctx instead. */
typedef const struct pay_http_route *(*pay_platform_routes_fn)(size_t *n);
struct pay_platform_route_ctx {
    struct pay_platform *p;
    void *arg; /* the table's ctx of the route */
};
const struct pay_http_route *pay_platform_api_routes(size_t *n);          /* api_trades.c: /v1 */
const struct pay_http_route *pay_platform_api_key_routes(size_t *n);      /* api.c: our key */
const struct pay_http_route *pay_platform_cashier_routes(size_t *n);      /* cashier.c */
const struct pay_http_route *pay_platform_bank_routes(size_t *n);         /* bank_pay.c */
const struct pay_http_route *pay_platform_wallet_routes(size_t *n);       /* wallet.c */
const struct pay_http_route *pay_platform_wallet_trade_routes(size_t *n); /* wallet_trades.c */
const struct pay_http_route *pay_platform_operator_routes(size_t *n);     /* operator.c */
const struct pay_http_route *pay_platform_dashboard_routes(size_t *n);    /* dashboard.c */
const struct pay_http_route *pay_platform_audit_routes(size_t *n);        /* operator_audit.c */
const struct pay_http_route *pay_platform_operator_requests_routes(size_t *n);
const struct pay_http_route *pay_platform_trial_balance_routes(size_t *n);
const struct pay_http_route *pay_platform_operator_apps_routes(size_t *n);
const struct pay_http_route *pay_platform_operator_settlements_routes(size_t *n);
const struct pay_http_route *pay_platform_operator_recon_routes(size_t *n); /* operator_recon.c */
/* passkeys.c: POST /wallet/passkeys/options, /wallet/passkeys, /cashier/{id}/passkey/options,
 * /cashier/{id}/pay/passkey */
const struct pay_http_route *pay_platform_passkey_routes(size_t *n);
const struct pay_http_route *pay_platform_sms_routes(size_t *n);      /* sms.c: /sandbox/sms */
const struct pay_http_route *pay_portal_pages_routes(size_t *n);      /* portal_pages.c */
const struct pay_http_route *pay_portal_actions_routes(size_t *n);    /* portal_actions.c */
const struct pay_http_route *pay_portal_apply_routes(size_t *n);      /* portal_apply_pages.c */
const struct pay_http_route *pay_platform_receipts_routes(size_t *n); /* receipts.c: /v1/log */
const struct pay_http_route *pay_portal_money_routes(size_t *n);      /* portal_money.c */
const struct pay_http_route *pay_portal_requests_routes(size_t *n);   /* portal_requests.c */
const struct pay_http_route *pay_portal_overview_routes(size_t *n);   /* portal_overview.c */
const struct pay_http_route *pay_platform_home_routes(size_t *n);     /* home.c: GET / */
/* payment_receipt.c: GET /cashier/{trade_id}/receipt, /portal/trades/{id}/receipt */
const struct pay_http_route *pay_platform_payment_receipt_routes(size_t *n);

/* Opens just the store and ledger (for offline CLI commands) of the platform whose data dir
 * is data_dir and whose database is `database` (a path or postgresql:// URL; NULL or "": the
 * data dir's platform.db). Free with pay_platform_close. */
enum pay_err pay_platform_open_offline(const char *data_dir, const char *database,
                                       struct pay_platform **out, struct pay_error *err);

/* --- chart of accounts (accounts.c) ------------------------------------------------------- */

enum pay_platform_account_kind {
    PAY_PF_ACCT_RESERVE = 1,       /* asset: our reserve (备付金) at a bank */
    PAY_PF_ACCT_WALLET = 2,        /* liability: a consumer's wallet balance */
    PAY_PF_ACCT_MERCHANT = 3,      /* liability: a merchant's available balance */
    PAY_PF_ACCT_FEES = 4,          /* income: fees taken at payment */
    PAY_PF_ACCT_REFUND_FLIGHT = 5, /* liability: refunds sent to a bank, not yet confirmed */
    PAY_PF_ACCT_SANDBOX = 6,       /* sandbox only: operator funding of wallets */
    PAY_PF_ACCT_ESCROW = 7,        /* liability: escrow trades' money until receipt confirmed */
    PAY_PF_ACCT_PAYOUT_FLIGHT = 8, /* liability: payouts to merchants sent, not yet confirmed */
    PAY_PF_ACCT_SUSPENSE = 9,      /* reconciliation differences written off, to be cleared */
    PAY_PF_ACCT_CHAIN_HELD = 10,   /* liability: tokens received on chain, held for payers until
                                    * they pay a trade (else owed back: over, late, short) */
    PAY_PF_ACCT_FX = 11,           /* conversion: tokens taken in (asset side) against trades
                                    * paid in their currency (currency side), docs/chain.md */
};

/* Ledger transfer codes of the platform. */
enum pay_platform_transfer_code {
    PAY_PF_XFER_PAY = 100,            /* source -> merchant available: a trade paid */
    PAY_PF_XFER_FEE = 101,            /* merchant available -> fees */
    PAY_PF_XFER_ESCROW_RELEASE = 102, /* escrow -> merchant available: receipt confirmed */
    PAY_PF_XFER_REFUND = 110,         /* merchant available -> payer (wallet or in flight) */
    PAY_PF_XFER_REFUND_FEE = 111,     /* fees -> payer: the refunded share of the fee */
    PAY_PF_XFER_SANDBOX_CREDIT = 120,
    PAY_PF_XFER_TOPUP = 121,
    PAY_PF_XFER_WITHDRAW = 122,
    PAY_PF_XFER_PAYOUT = 130,            /* merchant available -> payouts in flight: a settlement */
    PAY_PF_XFER_PAYOUT_BANK = 131,       /* payouts in flight -> reserve(bank): the bank paid it */
    PAY_PF_XFER_PAYOUT_BACK = 132,       /* payouts in flight -> merchant: the bank refused it */
    PAY_PF_XFER_RECON = 140,             /* reserve(bank) <-> suspense: a difference written off */
    PAY_PF_XFER_CHAIN_IN = 150,          /* reserve(chain) -> held: a confirmed token transfer */
    PAY_PF_XFER_CHAIN_APPLY = 151,       /* held -> fx(chain): the tokens that paid a trade */
    PAY_PF_XFER_CHAIN_RETURN = 152,      /* held -> refunds: a return signed and stored */
    PAY_PF_XFER_CHAIN_RETURN_DONE = 153, /* refunds -> reserve(chain): it is confirmed */
    PAY_PF_XFER_CHAIN_RETURN_BACK = 154, /* refunds -> held: it failed on chain */
    /* A payment held for a risk review (docs/risk.md, "Review"): a pending transfer
     * "<trade>.hold" from the consumer's wallet to the account the payment would credit (the
     * merchant's, or its escrow's); approval posts it as the payment ("<trade>.pay", code 100),
     * rejection voids it ("<trade>.release", code 161). */
    PAY_PF_XFER_RISK_HOLD = 160,
    PAY_PF_XFER_RISK_RELEASE = 161,
    /* wallet -> in flight -> reserve(bank): a withdrawal */ /* reserve(bank) -> wallet: top-up from
                                                                a bound card */
};

/* Account id of a kind for an owner ("" for platform-wide ones) and a currency, into out
 * (PAY_LEDGER_ID_MAX + 1). Returns 0 or -1 (owner too long). */
int pay_platform_account_id(enum pay_platform_account_kind kind, const char *owner,
                            const char *currency, char *out);
/* Makes sure the account exists inside tx (creating it with the kind's flags); OK or a DB
 * error. */
enum pay_err pay_platform_account_ensure(struct pay_platform *p, struct pay_store_tx *tx,
                                         enum pay_platform_account_kind kind, const char *owner,
                                         const char *currency, char *id_out, struct pay_error *err);

/* One ledger transfer of the chain's asset between two platform accounts (made when missing),
 * with code and the trade in user_data; the ledger's refusal as an error (chain_credit.c). */
enum pay_err pay_platform_chain_book(struct pay_platform *p, struct pay_store_tx *tx,
                                     const char *id, enum pay_platform_account_kind from,
                                     const char *from_owner, enum pay_platform_account_kind to,
                                     const char *to_owner, int64_t amount, int32_t code,
                                     const char *trade_id, struct pay_error *err);

/* --- merchants (merchants.c) -------------------------------------------------------------- */

struct pay_platform_merchant {
    char id[PAY_PLATFORM_MERCHANT_ID_MAX + 1];
    char name[PAY_TEXT_FIELD_MAX + 1];
    enum pay_sig_alg alg;
    char *public_key; /* base64 Ed25519 or RSA SPKI PEM; heap, freed by _fini */
    char notify_hosts[PAY_PLATFORM_NOTIFY_HOSTS_TEXT_MAX + 1]; /* comma-separated */
    int64_t fee_bp;
    int64_t fee_min_minor, fee_cap_minor; /* per payment, minor units; cap 0: none */
    char settle_bank[16];
    char settle_account[64];
    char status[16];           /* active | suspended */
    int64_t escrow_confirm_ms; /* escrow auto-confirmation after shipping; 0: the default */
    int64_t settle_days;       /* paid out T+N business days */
    int64_t settle_min_minor;  /* no payout below this */
};
void pay_platform_merchant_fini(struct pay_platform_merchant *m);
bool pay_platform_merchant_id_valid(const char *id);
/* Sets m->alg and m->public_key (heap, freed by _fini) from a key as a merchant hands it over
 * (the CLI's key file, the operator API's public_key): Ed25519 as base64 of its 32 bytes or as
 * SPKI PEM, stored as base64; RSA of 2048-4096 bits as PEM, stored as SPKI PEM. Anything else
 * is FIELD_INVALID (field public_key) saying what the text holds ("an RSA key of 1024 bits",
 * "a key of type EC", "a private key ..."). */
enum pay_err pay_platform_merchant_key_set(struct pay_platform_merchant *m, const char *text,
                                           struct pay_error *err);
/* Validates and inserts m (public key checked by parsing it). DUPLICATE if the id exists;
 * URL_FORBIDDEN (field notify_hosts) for a notify host that is a special-purpose IP literal
 * (http/addr.h) unless p->set.allow_private_hosts. */
enum pay_err pay_platform_merchant_add(struct pay_platform *p,
                                       const struct pay_platform_merchant *m,
                                       struct pay_error *err);
/* pay_platform_merchant_add in two steps: the checks (nothing written), then the insert
 * inside the caller's transaction (self-service onboarding approves in one). */
enum pay_err pay_platform_merchant_check(const struct pay_platform *p,
                                         const struct pay_platform_merchant *m,
                                         struct pay_error *err);
enum pay_err pay_platform_merchant_insert_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                             const struct pay_platform_merchant *m,
                                             struct pay_error *err);
/* Reads merchant id into *m (caller _fini's it). NOT_FOUND when absent. */
enum pay_err pay_platform_merchant_get(struct pay_platform *p, const char *id,
                                       struct pay_platform_merchant *m, struct pay_error *err);
/* The merchant's fee terms (rate, minimum, cap), as struct pay_fee_terms. */
struct pay_fee_terms pay_platform_merchant_fee_terms(const struct pay_platform_merchant *m);
/* The fee merchant_id pays on amount_minor under its terms as they stand inside tx (the terms
 * at payment, or at an escrow trade's release): pay_money_fee. */
enum pay_err pay_platform_merchant_fee_tx(struct pay_store_tx *tx, const char *merchant_id,
                                          int64_t amount_minor, int64_t *fee_minor,
                                          struct pay_error *err);
/* Sets m's fee terms (m->id, fee_bp, fee_min_minor, fee_cap_minor): FIELD_INVALID naming
 * fee_bp, fee_min or fee_cap; NOT_FOUND for an unknown merchant. Audited (merchant.fee). */
enum pay_err pay_platform_merchant_set_fee(struct pay_platform *p,
                                           const struct pay_platform_merchant *m,
                                           struct pay_error *err);
/* Suspends ("suspended": every API call is refused) or reactivates ("active") a merchant. */
enum pay_err pay_platform_merchant_set_status(struct pay_platform *p, const char *id,
                                              const char *status, struct pay_error *err);
/* Sets where and how the merchant is paid out: m's id, settle_bank, settle_account,
 * settle_days (0..30) and settle_min_minor. NOT_FOUND for an unknown merchant. */
enum pay_err pay_platform_merchant_set_settlement(struct pay_platform *p,
                                                  const struct pay_platform_merchant *m,
                                                  struct pay_error *err);
/* True when host (lower case) is one of the merchant's registered notify hosts. */
bool pay_platform_merchant_host_allowed(const struct pay_platform_merchant *m, const char *host);
/* The signature verifier's key of merchant m (its stored key parsed): SIGNATURE_INVALID when
 * it does not parse. Released by pay_platform_merchant_key_release (ctx unused). */
enum pay_err pay_platform_merchant_pubkey(const struct pay_platform_merchant *m,
                                          struct pay_sig_pubkey *out);
/* FIELD_INVALID (notify_hosts) unless list is a valid comma-separated host list (and, without
 * allow_private_hosts, holds no special-purpose IP literal: URL_FORBIDDEN). */
enum pay_err pay_platform_merchant_hosts_check(const struct pay_platform *p, const char *list,
                                               struct pay_error *err);
/* The merchant a keyId belongs to: the keyId itself, or its part before '.' for a key added
 * in the portal ("shop.k2"). 0, or -1 when that is not a merchant id. */
int pay_platform_merchant_of_key(const char *key_id, char out[PAY_PLATFORM_MERCHANT_ID_MAX + 1]);
void pay_platform_merchant_key_release(void *ctx, struct pay_sig_pubkey *key);

/* --- trades (trades.c): the state machine ------------------------------------------------- */

#define PAY_TRADE_WAIT_BUYER_PAY "WAIT_BUYER_PAY"
#define PAY_TRADE_SUCCESS        "TRADE_SUCCESS"
#define PAY_TRADE_CLOSED         "TRADE_CLOSED"
#define PAY_TRADE_FINISHED       "TRADE_FINISHED"
/* Escrow trades (product "escrow"): paid, the money held until the buyer confirms receipt. */
#define PAY_TRADE_WAIT_SEND    "WAIT_SELLER_SEND_GOODS"
#define PAY_TRADE_WAIT_CONFIRM "WAIT_BUYER_CONFIRM_GOODS"

struct pay_platform_trade {
    char id[PAY_ID_MAX];
    char merchant_id[PAY_PLATFORM_MERCHANT_ID_MAX + 1];
    char out_trade_no[PAY_MERCHANT_ID_FIELD_MAX + 1];
    int64_t amount_minor;
    char currency[4];
    char subject[PAY_TEXT_FIELD_MAX + 1];
    char body[PAY_TEXT_FIELD_MAX + 1];
    char notify_url[PAY_URL_MAX + 1];
    char return_url[PAY_URL_MAX + 1];
    char product[16];
    char state[32]; /* WAIT_BUYER_CONFIRM_GOODS is 24 characters */
    int64_t created_ms, expire_ms, paid_ms, closed_ms, finished_ms;
    char pay_method[16];               /* wallet | card | bank | qr ("" unpaid) */
    char payer[PAY_LEDGER_ID_MAX + 1]; /* consumer id or bank code */
    int64_t fee_minor, refunded_minor, fee_refunded_minor;
    char close_reason[32];
    char buyer_id[PAY_ID_MAX]; /* the consumer who paid ("" when paid at a bank) */
    int64_t ship_due_ms, shipped_ms, confirm_due_ms; /* escrow */
    char logistics_company[PAY_PLATFORM_LOGISTICS_MAX + 1];
    char tracking_no[PAY_PLATFORM_LOGISTICS_MAX + 1];
    char risk_review[16]; /* its payment's risk review: "" none, pending, approved, rejected */
};

/* The trade state machine, the only legal moves (docs/platform.md): WAIT_BUYER_PAY ->
 * TRADE_SUCCESS (paid) or TRADE_CLOSED (closed, expired); TRADE_SUCCESS -> TRADE_FINISHED
 * (refund window over) or TRADE_CLOSED (fully refunded). Every state change asserts it. */
bool pay_platform_trade_move_legal(const char *from, const char *to);
/* Asserts t's money before it is written: 0 < amount <= PAY_AMOUNT_MAX_MINOR, 0 <= fee <=
 * amount, 0 <= refunded <= amount, 0 <= fee refunded <= fee. */
void pay_platform_trade_check(const struct pay_platform_trade *t);
/* Moves t to state `to`, asserting the move is legal and t's money (above). */
void pay_platform_trade_move(struct pay_platform_trade *t, const char *to);

/* Inserts a new WAIT_BUYER_PAY trade (t->id, created_ms, expire_ms, state are set here);
 * DUPLICATE (field out_trade_no) when the merchant used out_trade_no before. */
enum pay_err pay_platform_trade_create(struct pay_platform *p, struct pay_platform_trade *t,
                                       struct pay_error *err);
/* The same in two steps: _prepare sets t->id, state, created_ms and expire_ms (t->expire_ms
 * holds the timeout until then) outside any transaction; _create_tx inserts t in the caller's
 * transaction (it may run again: it only reads t). */
enum pay_err pay_platform_trade_prepare(struct pay_platform_trade *t, struct pay_error *err);
enum pay_err pay_platform_trade_create_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                          const struct pay_platform_trade *t,
                                          struct pay_error *err);
/* Reads a trade by id (merchant_id NULL: any merchant) or by (merchant_id, out_trade_no)
 * when id is NULL. TRADE_NOT_FOUND when absent or another merchant's. */
enum pay_err pay_platform_trade_get(struct pay_platform *p, const char *merchant_id, const char *id,
                                    const char *out_trade_no, struct pay_platform_trade *t,
                                    struct pay_error *err);
/* The same inside a transaction. */
enum pay_err pay_platform_trade_load(struct pay_store_tx *tx, const char *merchant_id,
                                     const char *id, const char *out_trade_no,
                                     struct pay_platform_trade *t, struct pay_error *err);

/* Where the money of a payment comes from. */
struct pay_platform_payment {
    const char *method;                         /* wallet | card | bank | qr */
    enum pay_platform_account_kind source_kind; /* WALLET or RESERVE */
    const char *source_owner;                   /* consumer id or bank code */
    const char *reference;                      /* bank order id etc., may be "" */
    bool allow_expired; /* a bank already took the money: pay until the trade is closed */
    const char *buyer;  /* the consumer paying, when known (NULL: the wallet's owner, if any) */
    /* An approved risk review's pending transfer (docs/risk.md, "Review"): the payment posts the
     * money held there instead of moving it afresh ("" a review held before holds existed).
     * NULL: any other payment, refused while the trade's payment is held. */
    const char *hold_id;
};
/* WAIT_BUYER_PAY -> TRADE_SUCCESS with the ledger transfers, the fee and the notification,
 * in one transaction. TRADE_STATE_INVALID when not payable, BALANCE_INSUFFICIENT. */
enum pay_err pay_platform_trade_pay(struct pay_platform *p, const char *trade_id,
                                    const struct pay_platform_payment *pm, struct pay_error *err);
/* The same inside the caller's transaction (the bank notification's apply). */
enum pay_err pay_platform_trade_pay_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                       const char *trade_id, const struct pay_platform_payment *pm,
                                       struct pay_error *err);
/* The paid trade t's leaf in the transparency log (receipts.c, docs/receipts.md), appended
 * inside the payment's transaction tx. */
enum pay_err pay_platform_receipt_leaf(struct pay_store_tx *tx, const struct pay_platform_trade *t,
                                       struct pay_error *err);
/* WAIT_BUYER_PAY -> TRADE_CLOSED (reason "closed" or "expired"). merchant_id may be NULL. */
enum pay_err pay_platform_trade_close(struct pay_platform *p, const char *merchant_id,
                                      const char *trade_id, const char *reason,
                                      struct pay_error *err);
/* The same inside the caller's transaction (the open API's one command per request). */
enum pay_err pay_platform_trade_close_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                         const char *merchant_id, const char *trade_id,
                                         const char *reason, struct pay_error *err);
/* TRADE_SUCCESS -> TRADE_FINISHED once the refund window has passed. */
enum pay_err pay_platform_trade_finish(struct pay_platform *p, const char *trade_id,
                                       struct pay_error *err);
/* True in the states whose money is in escrow (WAIT_SELLER_SEND_GOODS,
 * WAIT_BUYER_CONFIRM_GOODS): refunds come from pf.escrow, not the merchant's balance. */
bool pay_platform_trade_in_escrow(const struct pay_platform_trade *t);
/* Writes every mutable column of t (state, times, money, shipment) in one UPDATE, after
 * pay_platform_trade_check. */
enum pay_err pay_platform_trade_save(struct pay_store_tx *tx, const struct pay_platform_trade *t,
                                     struct pay_error *err);

/* --- escrow (escrow.c) ------------------------------------------------------------------------ */

/* WAIT_SELLER_SEND_GOODS -> WAIT_BUYER_CONFIRM_GOODS: the merchant shipped (company and tracking
 * number kept); the buyer's time to confirm starts. Inside the caller's transaction. */
enum pay_err pay_platform_escrow_ship_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                         const char *merchant_id, const char *trade_id,
                                         const char *company, const char *tracking_no,
                                         struct pay_error *err);
enum pay_err pay_platform_escrow_ship(struct pay_platform *p, const char *merchant_id,
                                      const char *trade_id, const char *company,
                                      const char *tracking_no, struct pay_error *err);
/* WAIT_BUYER_CONFIRM_GOODS -> TRADE_FINISHED: receipt confirmed by the buyer consumer_id (the
 * caller checked the payment password), or by the clock when consumer_id is NULL (due, and no
 * open refund request). Escrow -> merchant, the fee taken, notified: one command. */
enum pay_err pay_platform_escrow_confirm(struct pay_platform *p, const char *consumer_id,
                                         const char *trade_id, struct pay_error *err);
/* The sweeper's round: refunds escrow trades not shipped in time, confirms those whose
 * buyer's time is over. */
void pay_platform_escrow_work(struct pay_platform *p);

/* --- refunds (refunds.c) -------------------------------------------------------------------- */

struct pay_platform_refund {
    char id[PAY_ID_MAX];
    char trade_id[PAY_ID_MAX];
    char merchant_id[PAY_PLATFORM_MERCHANT_ID_MAX + 1];
    char out_refund_no[PAY_MERCHANT_ID_FIELD_MAX + 1];
    int64_t amount_minor;
    int64_t fee_minor; /* refunded share of the fee */
    char currency[4];
    char reason[PAY_TEXT_FIELD_MAX + 1];
    char status[16]; /* SUCCESS | PROCESSING */
    int64_t created_ms;
    char actor[64]; /* who refunds, for the audit trail: "" = "merchant:<id>" */
};
/* Refunds r->amount_minor of the merchant's trade r->trade_id. The same out_refund_no with the
 * same amount returns the first refund (idempotent); with another amount DUPLICATE.
 * REFUND_EXCEEDS_PAID when above what is left; TRADE_STATE_INVALID when not refundable. */
enum pay_err pay_platform_refund_create(struct pay_platform *p, struct pay_platform_refund *r,
                                        struct pay_error *err);
/* The same inside the caller's transaction, r->id already made (pay_id_new "rf"). */
enum pay_err pay_platform_refund_create_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                           struct pay_platform_refund *r, struct pay_error *err);
/* By id or (when id is NULL) by out_refund_no, of the merchant's trade. REFUND_NOT_FOUND. */
enum pay_err pay_platform_refund_get(struct pay_platform *p, const char *merchant_id,
                                     const char *trade_id, const char *id,
                                     const char *out_refund_no, struct pay_platform_refund *r,
                                     struct pay_error *err);
json_t *pay_platform_refund_json(const struct pay_platform_refund *r);

/* --- after-sales refund requests (aftersales.c) ------------------------------------------- */

#define PAY_RR_WAIT_MERCHANT "WAIT_MERCHANT"
#define PAY_RR_WAIT_OPERATOR "WAIT_OPERATOR"
#define PAY_RR_APPROVED      "APPROVED"
#define PAY_RR_REJECTED      "REJECTED"

struct pay_platform_refund_request {
    char id[PAY_ID_MAX]; /* rq_... */
    char trade_id[PAY_ID_MAX];
    char merchant_id[PAY_PLATFORM_MERCHANT_ID_MAX + 1];
    char consumer_id[PAY_ID_MAX];
    int64_t amount_minor;
    char currency[4];
    char reason[PAY_TEXT_FIELD_MAX + 1];
    bool goods_returned;
    char status[16];
    int64_t deadline_ms, created_ms, decided_ms;
    char decided_by[16]; /* "" | merchant | operator */
    char reject_reason[PAY_TEXT_FIELD_MAX + 1];
    char refund_id[PAY_ID_MAX]; /* the refund an approval ran */
};
/* The consumer asks for a refund of their trade (r: trade_id, consumer_id, amount, currency,
 * reason, goods_returned; id, status, times are set here). TRADE_NOT_FOUND (not theirs),
 * TRADE_STATE_INVALID (not refundable), REFUND_EXCEEDS_PAID, REFUND_REQUEST_OPEN (one is
 * already open). Notified to the merchant (event refund_request). */
enum pay_err pay_platform_refund_request_create(struct pay_platform *p,
                                                struct pay_platform_refund_request *r,
                                                struct pay_error *err);
/* Decides request request_id of trade_id: by the merchant (merchant_id, while WAIT_MERCHANT)
 * or by the operator (merchant_id NULL, while WAIT_OPERATOR). approve runs the refund (its
 * out_refund_no is the request id) in the same transaction; a rejection needs reason. *out
 * gets the request as decided. REFUND_REQUEST_NOT_FOUND, REFUND_REQUEST_STATE_INVALID, and
 * the refund's own errors. */
enum pay_err pay_platform_refund_request_decide(struct pay_platform *p, const char *merchant_id,
                                                const char *trade_id, const char *request_id,
                                                bool approve, const char *reason,
                                                struct pay_platform_refund_request *out,
                                                struct pay_error *err);
/* The same inside the caller's transaction (the open API's command), the approval's refund id
 * made by the caller (pay_id_new "rf": the body may run again). */
enum pay_err pay_platform_refund_request_decide_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                                   const char *merchant_id, const char *trade_id,
                                                   const char *request_id, bool approve,
                                                   const char *reason, const char *refund_id,
                                                   struct pay_platform_refund_request *out,
                                                   struct pay_error *err);
/* Up to max requests of a trade (trade_id) or, with trade_id NULL, of status (newest first). */
enum pay_err pay_platform_refund_requests_list(struct pay_platform *p, const char *trade_id,
                                               const char *status,
                                               struct pay_platform_refund_request *out, size_t max,
                                               size_t *n_out, struct pay_error *err);
/* True when trade_id has a request waiting for a decision (read inside tx). */
enum pay_err pay_platform_refund_request_open_tx(struct pay_store_tx *tx, const char *trade_id,
                                                 bool *open, struct pay_error *err);
/* API JSON of a request (new reference). */
/* The merchant's requests, open ones (WAIT_MERCHANT, WAIT_OPERATOR) first, then newest first:
 * up to max into out (the caller's), the count in *n_out. The merchant portal's list. */
enum pay_err pay_platform_refund_requests_of_merchant(struct pay_platform *p,
                                                      const char *merchant_id,
                                                      struct pay_platform_refund_request *out,
                                                      size_t max, size_t *n_out,
                                                      struct pay_error *err);
/* One request of the merchant's; REFUND_REQUEST_NOT_FOUND (field request_id) for an unknown
 * id or another merchant's. */
enum pay_err pay_platform_refund_request_get(struct pay_platform *p, const char *merchant_id,
                                             const char *request_id,
                                             struct pay_platform_refund_request *r,
                                             struct pay_error *err);
json_t *pay_platform_refund_request_json(const struct pay_platform_refund_request *r);
/* The sweeper's round: requests past their deadline go to the operator. */
void pay_platform_refund_request_work(struct pay_platform *p);

/* --- notifications (notify.c) ------------------------------------------------------------- */

/* notify_url's checks (docs/api.md): http(s), on one of notify_hosts (the merchant's, comma
 * separated), never a special-purpose address literal unless [notify] allow_private_hosts.
 * NOTIFY_URL_INVALID or URL_FORBIDDEN, field "notify_url". */
enum pay_err pay_platform_notify_url_check(const struct pay_platform *p, const char *notify_hosts,
                                           const char *url, struct pay_error *err);
/* A test notification (docs/portal.md, "Send a test notification"): one signed POST of
 * {"event":"test","merchant_id","notify_id","sent_at"} to url (checked as above), sent now and
 * not retried. *http_status gets the answer's status (0: none), result what happened
 * ("success", "answer was not \"success\"", an error name); OK when the merchant answered
 * "success". */
enum pay_err pay_platform_notify_test(struct pay_platform *p, const char *merchant_id,
                                      const char *notify_hosts, const char *url, long *http_status,
                                      const char **result, struct pay_error *err);
/* Queues a notification of trade t's current state inside tx (event "trade.state" or
 * "refund"). No-op when the trade has no notify_url. */
enum pay_err pay_platform_notify_enqueue(struct pay_store_tx *tx,
                                         const struct pay_platform_trade *t, const char *event,
                                         const char *refund_id, struct pay_error *err);
/* The same with one more member in the payload (key: a new reference to value, taken). */
enum pay_err pay_platform_notify_enqueue_with(struct pay_store_tx *tx,
                                              const struct pay_platform_trade *t, const char *event,
                                              const char *key, json_t *value,
                                              struct pay_error *err);
/* The delivery worker's thread body (arg = struct pay_platform *). */
void *pay_platform_notify_worker(void *arg);
/* Ends the evaluation of worker w (core/clock.h), sleeps up to ms of monotonic time or until
 * woken (pay_platform_wake, a move of the test clock, stop), and begins the next one. Returns
 * true when stopping. The notifier and the sweeper wait here. */
bool pay_platform_wait(struct pay_platform *p, struct pay_clock_worker *w, int64_t ms);
/* Wakes the workers now (a new outbox row, a retry due). */
void pay_platform_wake(struct pay_platform *p);
/* Notifications of a merchant's trade with their attempts, as API JSON (new reference;
 * notify_list.c). */
enum pay_err pay_platform_notify_list(struct pay_platform *p, const char *merchant_id,
                                      const char *trade_id, json_t **out, struct pay_error *err);

/* --- merchant balance (balance.c) ------------------------------------------------------------ */

/* The merchant's balance as API JSON {"merchant_id", "balances": [{"currency", "available",
 * "fees_charged"}]} (new reference in *out): every currency it has trades in, or only
 * currency when not NULL (zeros when it has none). FIELD_INVALID for a bad currency. */
enum pay_err pay_platform_merchant_balance(struct pay_platform *p, const char *merchant_id,
                                           const char *currency, json_t **out,
                                           struct pay_error *err);

/* --- consumers (consumers.c) --------------------------------------------------------------- */

#define PAY_PLATFORM_SESSION_TOKEN_BYTES 32

/* Registers a consumer: login is a phone number (+ and 6-15 digits) or an e-mail address;
 * password 8+ characters; pay_password exactly 6 digits. id_out gets "cu_...". DUPLICATE when
 * the login is taken. Argon2id hashes only. */
enum pay_err pay_platform_consumer_add(struct pay_platform *p, const char *login,
                                       const char *password, const char *pay_password,
                                       char id_out[PAY_ID_MAX], struct pay_error *err);
/* Checks login + password (lockout after PAY_LOCKOUT_ATTEMPTS failures for
 * PAY_LOCKOUT_DURATION_S) and opens a session: token_out is the cookie value.
 * CREDENTIALS_INVALID or LOCKED otherwise. */
enum pay_err pay_platform_consumer_login(struct pay_platform *p, const char *login,
                                         const char *password, const char *totp, const char *source,
                                         char token_out[PAY_PLATFORM_TOKEN_TEXT_MAX],
                                         struct pay_error *err);
/* --- TOTP (totp.c) ---------------------------------------------------------------------- */

/* A TOTP secret as text (base32) and sealed (platform-aead.keys). */
#define PAY_PLATFORM_TOTP_SEALED_MAX PAY_AEAD_SEALED_LEN(PAY_PLATFORM_TOTP_TEXT_MAX)
/* Optional TOTP: a new secret (base32, 64 bytes) waits for its first code; confirmed, every
 * login needs a fresh code too. Confirming counts its tries (subject "totp:<consumer id>"). */
enum pay_err pay_platform_totp_begin(struct pay_platform *p, const char *consumer_id,
                                     char secret_out[PAY_PLATFORM_TOTP_TEXT_MAX],
                                     struct pay_error *err);
enum pay_err pay_platform_totp_confirm(struct pay_platform *p, const char *consumer_id,
                                       const char *code, struct pay_error *err);
/* Seals a base32 secret of consumer_id ("" stays ""); opens one back. 0 or -1. */
int pay_platform_totp_seal(const struct pay_platform *p, const char *consumer_id,
                           const char *secret, char out[PAY_PLATFORM_TOTP_SEALED_MAX]);
int pay_platform_totp_open(const struct pay_platform *p, const char *consumer_id,
                           const char *sealed, char out[PAY_PLATFORM_TOTP_TEXT_MAX]);
/* The consumer and CSRF token of a live session (idle for less than PAY_SESSION_IDLE_S),
 * touching it; UNAUTHENTICATED otherwise. */
enum pay_err pay_platform_session_get(struct pay_platform *p, const char *token,
                                      char consumer_id[PAY_ID_MAX],
                                      char csrf[PAY_PLATFORM_TOKEN_TEXT_MAX],
                                      char login[PAY_PLATFORM_LOGIN_MAX + 1],
                                      struct pay_error *err);
void pay_platform_session_end(struct pay_platform *p, const char *token);
/* Checks the payment password, with its own lockout. */
/* The wallet user's reserved message (预留信息, reserved.c; docs/platform.md): set (checked by
 * pay_reserved_message_check, sealed with platform-aead.keys, associated data
 * "reserved:<consumer id>", never logged), and opened into out for the cashier, which shows it
 * before it asks for the payment password (false, out "", when none). The caller wipes out. */
enum pay_err pay_platform_reserved_set(struct pay_platform *p, const char *consumer_id,
                                       const char *message, struct pay_error *err);
bool pay_platform_reserved_get(struct pay_platform *p, const char *consumer_id,
                               char out[PAY_RESERVED_MESSAGE_MAX + 1]);
enum pay_err pay_platform_consumer_check_pay_password(struct pay_platform *p,
                                                      const char *consumer_id,
                                                      const char *pay_password,
                                                      struct pay_error *err);
/* Finds a consumer id by login; NOT_FOUND. */
enum pay_err pay_platform_consumer_find(struct pay_platform *p, const char *login,
                                        char id_out[PAY_ID_MAX], struct pay_error *err);
/* The wallet's spendable balance (posted, less what risk reviews hold) into *minor and the
 * amount held into *held (may be NULL); 0 when the wallet has never been used. */
enum pay_err pay_platform_wallet_balance(struct pay_platform *p, const char *consumer_id,
                                         const char *currency, int64_t *minor, int64_t *held,
                                         struct pay_error *err);
/* SANDBOX ONLY: credits a wallet from pf.sandbox.<cur> (operator funding for tests and demos;
 * real money arrives by top-up from a bound card through the bank). */
enum pay_err pay_platform_wallet_credit_sandbox(struct pay_platform *p, const char *consumer_id,
                                                int64_t minor, const char *currency,
                                                struct pay_error *err);

/* --- banks (banks.c, bank_pay.c) ----------------------------------------------------------- */

/* Reads [platform] banks and each [bank.<code>] section into s->banks. */
enum pay_err pay_platform_banks_load(struct pay_platform_settings *s, const struct pay_config *c,
                                     struct pay_error *err);
void pay_platform_banks_free(struct pay_platform_bank *banks, size_t n);
const struct pay_platform_bank *pay_platform_bank_find(const struct pay_platform *p,
                                                       const char *code);
/* A consumer's bound card. */
struct pay_platform_card {
    char id[PAY_ID_MAX];
    char bank[17];
    char token[PAY_MERCHANT_ID_FIELD_MAX + 1];
    char bin[7], last4[5];
};
/* Up to max cards of a consumer (n_out), or one by id when card_id is not NULL. */
enum pay_err pay_platform_cards_list(struct pay_platform *p, const char *consumer_id,
                                     const char *card_id, struct pay_platform_card *out, size_t max,
                                     size_t *n_out, struct pay_error *err);
enum pay_err pay_platform_card_add(struct pay_platform *p, const char *consumer_id,
                                   const struct pay_platform_card *c, struct pay_error *err);
/* What older versions stored in clear, sealed at open (legacy.c): the columns (one or two) of
 * table's rows whose flag column is 0, with associated data aad_prefix + row id; "" stays "".
 * Then flag = 1. Run after the keyring is loaded. */
struct pay_platform_legacy {
    const char *table, *flag;
    const char *cols[2]; /* cols[1] may be NULL */
    const char *aad_prefix;
};
enum pay_err pay_platform_seal_legacy(struct pay_platform *p,
                                      const struct pay_platform_legacy *spec,
                                      struct pay_error *err);
/* The legacy specs: agreement tokens (migration 8), TOTP secrets (11), withdrawal accounts
 * (12). */
extern const struct pay_platform_legacy pay_platform_legacy_cards, pay_platform_legacy_totp,
    pay_platform_legacy_withdrawals;
/* Pays trade t from consumer_id's bound card by the bank's agreement debit (the bank's answer
 * is synchronous; the booking is the same as for a bank notification, method "card"; the
 * consumer is the trade's buyer). */
enum pay_err pay_platform_pay_by_card(struct pay_platform *p, const struct pay_platform_trade *t,
                                      const char *consumer_id, const struct pay_platform_card *card,
                                      struct pay_error *err);
/* Tops up a wallet from a bound card: agreement debit at the bank, then reserve -> wallet. */
enum pay_err pay_platform_topup(struct pay_platform *p, const char *consumer_id,
                                const struct pay_platform_card *card, int64_t amount_minor,
                                const char *currency, struct pay_error *err);
/* Withdraws from a wallet to the consumer's bound card card_id (withdrawals.c): records the
 * withdrawal (its id is the bank's transferId) and moves wallet -> in flight in one
 * transaction, then asks the card's bank to credit the card (agreement token). status_out:
 * "succeeded" (in flight -> reserve), "pending" (no definitive answer yet: the money stays held
 * and pay_platform_withdraw_work retries with the same transferId) or "failed" (the bank
 * refused; the money is back in the wallet and the bank's error is returned).
 * FIELD_INVALID (card_id) for a card that is not one of theirs; BALANCE_INSUFFICIENT when the
 * wallet holds less (nothing recorded). */
enum pay_err pay_platform_withdraw(struct pay_platform *p, const char *consumer_id,
                                   const char *card_id, int64_t amount_minor, const char *currency,
                                   char status_out[16], struct pay_error *err);
/* Retries pending withdrawals that are due (each claimed with a lease first); the sweeper
 * calls it each round. */
void pay_platform_withdraw_work(struct pay_platform *p);
/* The consumer's latest withdrawals as JSON [{id, bank, card_last4, amount, status, at}]
 * (new reference in *out). */
enum pay_err pay_platform_withdrawals_list(struct pay_platform *p, const char *consumer_id,
                                           json_t **out, struct pay_error *err);
/* The consumer's latest trades for the wallet's page: [{id, subject, state, state_text,
 * amount_text}] (new reference). */
json_t *pay_platform_wallet_trades_json(struct pay_platform *p, struct pay_http_request *req,
                                        const char *consumer_id);

/* Sends pending bank refunds (late payments, refunds of bank-paid trades); the sweeper calls
 * it each round. */
void pay_platform_bank_work(struct pay_platform *p);

/* --- QR codes and the mobile wallet (qr.c, mobile.c) ---------------------------------------- */

/* An SVG drawing of a QR code of text; heap, caller frees; NULL on failure. */
char *pay_platform_qr_svg(const char *text);
/* The mobile confirm pages (/m/pay/{trade_id}) are part of the cashier's routes. */

/* --- agreements (agreements.c) ---------------------------------------------------------------- */

/* The consumer's agreement with merchant_id (created when missing; an existing active one is
 * returned). id_out gets "ag_...". NOT_FOUND for an unknown merchant. */
enum pay_err pay_platform_agreement_sign(struct pay_platform *p, const char *consumer_id,
                                         const char *merchant_id, char id_out[PAY_ID_MAX],
                                         struct pay_error *err);
/* The consumer of an active agreement of merchant_id, read in the caller's transaction;
 * AGREEMENT_INVALID otherwise. */
enum pay_err pay_platform_agreement_consumer_tx(struct pay_store_tx *tx, const char *agreement_no,
                                                const char *merchant_id,
                                                char consumer_id[PAY_ID_MAX],
                                                struct pay_error *err);

/* --- SMS codes (sms.c) ------------------------------------------------------------------------ */

/* Sends a 6-digit code to the consumer (to = their login) for purpose, worded in the language
 * of req's page; id_out names the challenge. Codes live PAY_OTP_TTL_S and are used once;
 * PAY_LOCKOUT_ATTEMPTS wrong codes (over all the consumer's codes) lock them for
 * PAY_LOCKOUT_DURATION_S. */
enum pay_err pay_platform_sms_challenge(struct pay_platform *p, struct pay_http_request *req,
                                        const char *consumer_id, const char *to,
                                        const char *purpose, char id_out[PAY_ID_MAX],
                                        struct pay_error *err);
enum pay_err pay_platform_sms_verify(struct pay_platform *p, const char *consumer_id,
                                     const char *id, const char *purpose, const char *code,
                                     struct pay_error *err);
/* The same inside the caller's transaction (an API call's command): the challenge's row is
 * written in tx (the text sent at once); the check takes the purpose's newest live code (an
 * API caller relays a code, not its challenge), and *counted says a wrong code's try was
 * counted: the caller keeps its writes although the answer is a refusal. */
enum pay_err pay_platform_sms_challenge_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                           struct pay_http_request *req, const char *consumer_id,
                                           const char *to, const char *purpose,
                                           char id_out[PAY_ID_MAX], struct pay_error *err);
enum pay_err pay_platform_sms_verify_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                        const char *consumer_id, const char *purpose,
                                        const char *code, bool *counted, struct pay_error *err);

/* --- risk control at the payment points (risk_pay.c; docs/risk.md) -------------------------- */

struct pay_http_request;
/* The device of a cashier request: the id in its signed pf_device cookie, or (none, or not
 * signed by us) a new id, whose cookie a page (GET) sets on its answer. Request-scoped. */
const char *pay_platform_device_id(struct pay_http_request *req);
/* Judges attempt a (its trade_id, method and scope values set; amount, currency and merchant
 * come from the trade; the consumer's login, when only the id is given, from their account) and,
 * allowed, pays the trade by pm in a savepoint of its own, then marks the attempt paid.
 * Refusals — RISK_DENIED, RISK_REVIEW, RISK_STEP_UP, or the payment's own (balance, state) —
 * come back with the attempt and its decision written in tx: keep them
 * (pay_platform_risk_keep). */
enum pay_err pay_platform_risk_pay_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                      struct pay_risk_attempt *a,
                                      const struct pay_platform_payment *pm, struct pay_error *err);
/* Whether a judged payment that answered e committed a notification to the merchant: paid
 * (trade.state) or held for review (trade.review; a try of a trade already held adds none: a
 * needless wake costs one look at the outbox). The caller then wakes the notifier
 * (pay_platform_wake) once the command is durable, as every other notification's does. */
bool pay_platform_risk_notifies(enum pay_err e);
/* The same as one command of its own, the refusals kept. */
enum pay_err pay_platform_risk_pay(struct pay_platform *p, struct pay_risk_attempt *a,
                                   const struct pay_platform_payment *pm, struct pay_error *err);
/* SIGHUP: reads the risk rules file again (a bad one is logged and the rules in force stay) and
 * records the reload in the audit trail (risk.rules_reload: the file's SHA-256 now in force, or
 * why the new one was refused). */
void pay_platform_risk_reload(struct pay_platform *p);
/* A refusal to keep (pay_store_keep): not OK, a database failure, a retry or a bug. */
bool pay_platform_is_refusal(enum pay_err e);
/* pay_store_keep(tx, e) for a refusal; any other code as it is. */
enum pay_err pay_platform_risk_keep(struct pay_store_tx *tx, enum pay_err e);

/* --- risk reviews (held: risk_pay.c; decided: risk_review.c; docs/risk.md "Review") ------- */

/* The console's risk page (operator_risk.c: /operator/risk, the reviews' decisions). */
const struct pay_http_route *pay_platform_operator_risk_routes(size_t *n);

/* Holds payment pm of attempt a on trade t, which the rules sent to review (decision d), for an
 * operator, inside the attempt's tx: the amount reserved in the consumer's wallet by a pending
 * ledger transfer (PAY_PF_XFER_RISK_HOLD; BALANCE_INSUFFICIENT holds nothing), the review
 * written (one per trade), t->risk_review "pending", audited (risk.review_hold) and the
 * merchant notified (trade.review). */
enum pay_err pay_platform_risk_review_hold_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                              struct pay_platform_trade *t,
                                              const struct pay_risk_attempt *a,
                                              const struct pay_risk_decision *d,
                                              const struct pay_platform_payment *pm,
                                              struct pay_error *err);
/* The operator's decision on the review of trade_id, one command with its audit entry
 * (risk.review_approve / risk.review_reject; a refusal is audited with its code): approve makes
 * the held payment (its money moved, the merchant notified); reject (note required, at most
 * PAY_RISK_NOTE_MAX bytes) closes the trade unpaid ("risk_rejected"). RISK_REVIEW_NOT_FOUND,
 * RISK_REVIEW_DECIDED (decided before: nothing moves twice), FIELD_MISSING / FIELD_TOO_LONG
 * (note), or the payment's refusal (BALANCE_INSUFFICIENT, AGREEMENT_INVALID,
 * TRADE_STATE_INVALID): then
 * nothing changed and the review still waits. */
enum pay_err pay_platform_risk_review_decide(struct pay_platform *p, const char *trade_id,
                                             bool approve, const char *note, const char *actor,
                                             const char *source, struct pay_error *err);

/* --- passkeys (passkeys.c; docs/platform.md "Passkeys") ----------------------------------- */

/* Fills passkey_rp_id and passkey_origin from the public URL where not configured (start). */
void pay_platform_passkeys_configure(struct pay_platform *p);
/* The consumer's passkeys as JSON [{id, alg, name, created_ms, last_used_ms, sign_count}]
 * (new reference; empty on a read error). */
json_t *pay_platform_passkeys_list(struct pay_platform *p, const char *consumer_id);

/* --- audit trail (audit_log.c; docs/audit.md) ---------------------------------------------- */

/* Appends e to the audit log inside tx, the transaction of what it records. */
enum pay_err pay_platform_audit(struct pay_platform *p, struct pay_store_tx *tx,
                                const struct pay_audit_entry *e, struct pay_error *err);
/* Records e in a write of its own: an event that changes nothing else (a refused login). A
 * failure to write is logged; the caller's answer does not depend on it. */
void pay_platform_audit_event(struct pay_platform *p, const struct pay_audit_entry *e);
/* The start's entry, with a checkpoint: "server.start", or "config.change" when the INI file's
 * SHA-256 differs from the one the previous start recorded. */
enum pay_err pay_platform_audit_start(struct pay_platform *p, struct pay_error *err);
/* The operator console's gate (dashboard.c): FORBIDDEN when there is no operator token; the
 * login page (401, *allowed false, OK) without a session or bearer token; else *allowed. */
enum pay_err pay_platform_operator_gate(struct pay_http_request *req, struct pay_platform *p,
                                        bool *allowed, struct pay_error *err);
/* The gate of a console form's POST: pay_platform_operator_gate, then the double-submit CSRF
 * token (form field `csrf` = the console's cookie; CSRF_INVALID naming `csrf`), which a call
 * with the Bearer token does not need. */
enum pay_err pay_platform_operator_form_gate(struct pay_http_request *req, struct pay_platform *p,
                                             bool *allowed, struct pay_error *err);
/* The CSRF token a console page puts in its forms: the cookie's, or a fresh one (in fresh) set
 * on the answer. NULL when no random token could be made. */
const char *pay_platform_operator_csrf(struct pay_http_request *req,
                                       char fresh[PAY_PLATFORM_TOKEN_TEXT_MAX]);

/* --- the database paths every file shares (db.c) and the workers (sweeper.c) ------------- */

/* The platform's one write path: runs a write transaction body as one command of the
 * committer's next batch (sharing its transaction and its fsync) while the server runs, or
 * in a transaction of its own when there is no committer (the command-line tools, before
 * start). Same contract as pay_store_run_tx. Never call it from inside a committer command. */
enum pay_err pay_platform_write(struct pay_platform *p, pay_store_tx_fn fn, void *ctx,
                                struct pay_error *err);

/* A paid trade's receipt (docs/receipts.md; new reference in *out). TRADE_STATE_INVALID when
 * the trade is not paid, RECEIPT_PENDING before a signed head covers it, TRANSLOG_CORRUPT.
 * The caller has checked that the asker may see the trade. */
enum pay_err pay_platform_receipt_json(struct pay_platform *p, const char *trade_id, json_t **out,
                                       struct pay_error *err);
/* The payment log's round (receipts.c, from the sweeper): signs a tree head when the log grew
 * and PAY_TRANSLOG_HEAD_INTERVAL_MS passed since the last one, asks each bank to co-sign the
 * newest head, and calls the anchoring hook. */
void pay_platform_receipts_work(struct pay_platform *p);
/* Books a payment bank reports for our order order_id (its serial, amount, currency; card: an
 * agreement debit, else online banking) inside tx exactly as the bank's notification would
 * have: the trade paid, or, when it closed meanwhile, the money held to go back (*late).
 * Reconciliation's repair of a notification that never came (recon_resolve.c). An order
 * already booked changes nothing; an unknown order or another amount is FIELD_INVALID. */
enum pay_err pay_platform_bank_notice_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                         const char *bank, const char *order_id, const char *serial,
                                         int64_t amount_minor, const char *currency, bool card,
                                         bool *late, struct pay_error *err);

/* Closes expired unpaid trades and finishes trades past their refund window, and runs the
 * other deadlines, bank refunds, withdrawals and settlement; on the one platform node that
 * holds the seat PAY_PLATFORM_SWEEPER_SEAT on the database (store.h, pay_store_seat). */
void *pay_platform_sweeper(void *arg);
/* The sweeper's seat: a PostgreSQL advisory lock key, apart from the one the store takes while
 * it makes its tables (8245917001). */
#define PAY_PLATFORM_SWEEPER_SEAT 8245917101LL
/* The chain watcher's seat (docs/chain.md): one node follows the chain at a time. */
#define PAY_PLATFORM_CHAIN_SEAT 8245917102LL

/* --- settlement (settlement.c; docs/settlement.md) ------------------------------------------ */

/* A business day: not a Saturday or Sunday, not in [platform] holidays (days since 1970). */
bool pay_platform_business_day(const struct pay_platform *p, int64_t days);
/* The cut-off of a T+cycle_days payout run on local day run_day: the end of the business day
 * cycle_days business days before (with the days off after it); T+0: now_ms. */
struct pay_tz;
int64_t pay_platform_settle_cutoff_ms(const struct pay_platform *p, const struct pay_tz *tz,
                                      int64_t run_day, int64_t cycle_days, int64_t now_ms);
/* The sweeper's round: today's run (once past settle_time on a business day) and the pending
 * payouts' bank transfers. */
void pay_platform_settle_work(struct pay_platform *p);
/* Lists the merchant's settlements (newest first) or, with id, one with what it covers, as API
 * JSON (new reference). SETTLEMENT_NOT_FOUND. */
enum pay_err pay_platform_settlements_json(struct pay_platform *p, const char *merchant_id,
                                           const char *id, json_t **out, struct pay_error *err);
/* The merchant's bill of local day date (YYYY-MM-DD) as CSV into out (docs/api.md, "GET
 * /v1/bills"): type "trade" (payments, fees, escrow releases, refunds) or "settlement"
 * (payouts and payouts returned), one row per ledger transfer of pf.merchant.<id>.CNY, and
 * a TOTAL row whose amount is their sum. FIELD_MISSING / FIELD_INVALID naming date or type. */
struct pay_buf;
enum pay_err pay_platform_bill_csv(struct pay_platform *p, const char *merchant_id,
                                   const char *date, const char *type, struct pay_buf *out,
                                   struct pay_error *err);
/* --- outgoing bank transfers (transfers.c): payouts and withdrawals ------------------------ */

/* True for a bank error after which a transfer may or may not have happened (timeouts, 5xx,
 * rate limits): sent again later with the same transferId; anything else is a refusal. */
bool pay_platform_bank_error_transient(enum pay_err e);
/* What a bank's answer to a transfer means for its row (the values the workers' own step
 * enums take for these three). */
enum pay_platform_transfer_outcome {
    PAY_TRANSFER_SUCCEEDED = 1, /* it happened */
    PAY_TRANSFER_FAILED = 2,    /* refused: it did not happen */
    PAY_TRANSFER_RETRY = 3,     /* maybe: sent again later with the same transferId */
};
enum pay_platform_transfer_outcome pay_platform_transfer_outcome(enum pay_err bank_result);
/* The wait before the next try after attempts tries: min_ms doubled per try, at most max_ms. */
int64_t pay_platform_transfer_retry_ms(int64_t attempts, int64_t min_ms, int64_t max_ms);
/* Takes the lease on due row id of table (pf_settlements or pf_withdrawals): next_attempt_ms
 * moved to now_ms + lease_ms (and attempts counted when count_attempt) if the row is still
 * pending and due; *claimed says whether this call took it (another worker or process that
 * took it first wins). Inside the caller's transaction. */
enum pay_err pay_platform_transfer_claim_tx(struct pay_store_tx *tx, const char *table,
                                            const char *id, int64_t now_ms, int64_t lease_ms,
                                            bool count_attempt, bool *claimed,
                                            struct pay_error *err);
/* Trades (or requests) a worker handles per round and per kind. */
#define PAY_PLATFORM_SWEEP_BATCH 64
/* The ids (first column) of up to max rows of sql (db.c), whose $1 is cutoff_ms and $2 the limit,
 * read on a reader connection; the count (0 on a read error, logged). */
size_t pay_platform_due_ids(struct pay_platform *p, const char *sql, int64_t cutoff_ms,
                            char (*ids)[PAY_ID_MAX], size_t max);

/* --- open API (api.c, api_trades.c, idempotency.c) ---------------------------------------- */

enum pay_idem_state {
    PAY_IDEM_NEW,    /* no record: go ahead, then store the answer */
    PAY_IDEM_STALE,  /* a record an older version left in progress, abandoned: take it over */
    PAY_IDEM_REPLAY, /* answered before: status and body hold the answer */
};

/* One Idempotency-Key look-up inside a POST's committer command (idempotency.c). */
struct pay_platform_idem {
    const char *merchant_id, *key, *hash; /* hash: SHA-256 hex of "POST target\n" + body */
    enum pay_idem_state state;            /* set by _check_tx */
    int status;                           /* PAY_IDEM_REPLAY: the stored answer */
    char *body;                           /* ... heap; owner frees (also before a rerun) */
};

/* Looks (merchant, key) up: state NEW, STALE or REPLAY, or IDEMPOTENCY_KEY_REUSED (another
 * request under this key) / IDEMPOTENCY_IN_PROGRESS (an older version's claim, younger than
 * PAY_PLATFORM_IDEMPOTENCY_STALE_MS). Writes nothing; resets id's outputs first. */
enum pay_err pay_platform_idem_check_tx(struct pay_store_tx *tx, struct pay_platform_idem *id,
                                        struct pay_error *err);
/* Stores the answer (status < 500) for a NEW or STALE key, in the same transaction as the
 * request's own writes. */
enum pay_err pay_platform_idem_store_tx(struct pay_store_tx *tx, const struct pay_platform_idem *id,
                                        int status, const char *body, struct pay_error *err);

/* The http framework's response signer (pay_http_sign_fn; ctx = the platform): the platform
 * key's Paygate-Signature on every non-HTML answer. */
void pay_platform_sign_answer(void *ctx, struct pay_http_request *req, int status, const void *body,
                              size_t len);

/* Helpers for the apply callbacks: map a ledger result to an error. */
enum pay_err pay_platform_ledger_error(enum pay_ledger_result r, struct pay_error *err);

/* --- the API's JSON (api_json.c), shared by every file; it calls nothing of the platform --- */

/* Refuses (FIELD_INVALID, field = prefix + the name, "amount.foo") any member of object o
 * not in the NULL-terminated allowed list, so a typo ("notify_ur1") never passes silently. */
enum pay_err pay_platform_json_only_fields(json_t *o, const char *const *allowed,
                                           const char *prefix, struct pay_error *err);

/* Money as API JSON {"value":"12.30","currency":"CNY"} (new reference). */
json_t *pay_platform_money_json(int64_t minor, const char *currency);
/* Unix ms as RFC 3339 JSON string, or null for 0. */
json_t *pay_platform_time_json(int64_t ms);
/* 1..max of [A-Za-z0-9_.-]: out_trade_no, out_refund_no, Idempotency-Key. */
bool pay_platform_api_token_valid(const char *s, size_t max);
/* Trade as API JSON (new reference). */
json_t *pay_platform_trade_json(const struct pay_platform_trade *t);

/* labels.c: human names in the request's language (codes stay in data-* attributes). Each
 * returns the code itself when it does not know it. */
struct pay_http_request;
const char *pay_platform_state_text(struct pay_http_request *req, const char *state);
const char *pay_platform_method_text(struct pay_http_request *req, const char *method);
const char *pay_platform_request_text(struct pay_http_request *req, const char *status);
const char *pay_platform_movement_text(struct pay_http_request *req, const char *kind);
const char *pay_platform_withdrawal_text(struct pay_http_request *req, const char *status);
/* The display name of an integrated bank by code ([bank.<code>] name, name_en on English
 * pages). */
const char *pay_platform_bank_text(const struct pay_platform *p, struct pay_http_request *req,
                                   const char *code);

/* The text of error e (detail in err when it is e's) for the page of req, in its language;
 * NULL when e is OK. */
const char *pay_platform_error_for(struct pay_http_request *req, enum pay_err e,
                                   const struct pay_error *err);
/* LOCKED for field: a secret refused unchecked past the limit ("locked after 5 failed
 * attempts; try again in 30 minutes", or "... 5 wrong codes ..." for SMS codes), translatable
 * on pages (pay_i18n_error_set). Returns PAY_ERR_LOCKED. */
enum pay_err pay_platform_locked_error(struct pay_error *err, const char *field, bool sms);
/* A page's notice: {"key": "paid" (data-notice, for scripts), "text": what people read}. */
json_t *pay_platform_notice(const char *key, const char *text);

/* `paygate platform` (cmd_platform.c, linked into the paygate binary, src/cli): run the platform;
 * merchants, keys. Takes the arguments after the command's name (argv[0] is it), handles --help,
 * returns the exit status. */
int pay_cmd_platform(int argc, char **argv);
/* `paygate risk check|simulate` (cmd_risk.c, docs/risk.md). */
int pay_cmd_risk(int argc, char **argv);
/* `paygate risk generate|train` (cmd_risk_train.c), reached through pay_cmd_risk. */
int pay_cmd_risk_train(int argc, char **argv);

#endif
