/* The sandbox bank (docs/bank.md): one process per bank with its own database, ledger, keys
 * and HTTP server. This header is internal to src/bank: the module's files share the bank
 * object, the committer helper and the domain operations declared here. */
#ifndef PAY_BANK_BANK_H
#define PAY_BANK_BANK_H

#include "audit/audit.h"
#include "core/clock.h"
#include "core/errors.h"
#include "core/limits.h"
#include "crypto/aead.h"
#include "crypto/keydir.h"
#include "crypto/password.h"
#include "crypto/sign.h"
#include "http/settings.h"
#include "ledger/ledger.h"
#include "store/store.h"
#include "switch/net.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>

#define PAY_BANK_PAN_LEN  16    /* BIN 6 + serial 9 + Luhn 1 */
#define PAY_BANK_CURRENCY "CNY" /* the sandbox banks hold CNY accounts */

/* Ledger codes of the bank's transfers (docs/bank.md statement "kind"). */
enum pay_bank_xfer_code {
    PAY_BANK_XFER_DEPOSIT = 1,
    PAY_BANK_XFER_PAYMENT = 2,
    PAY_BANK_XFER_REFUND = 3,
    PAY_BANK_XFER_AGREEMENT = 4,
    PAY_BANK_XFER_TRANSFER = 5,
    PAY_BANK_XFER_CREDIT_LINE = 6,
    PAY_BANK_XFER_NET_PURCHASE = 7,   /* issuer: a card's authorization hold and its capture */
    PAY_BANK_XFER_NET_REFUND = 8,     /* issuer: a refund to a card through the network */
    PAY_BANK_XFER_NET_SETTLEMENT = 9, /* a business day's interbank positions settled */
    PAY_BANK_XFER_ADJUSTMENT = 10,    /* the bank's own correction of an account (调账) */
};

/* Ledger codes of accounts. */
enum pay_bank_acct_code {
    PAY_BANK_ACCT_DEPOSIT = 1,
    PAY_BANK_ACCT_CREDIT = 2,
    PAY_BANK_ACCT_MERCHANT = 3,
    PAY_BANK_ACCT_INTERNAL = 9,
};

struct pay_bank_options {
    char name[PAY_BANK_NAME_MAX + 1];    /* shown on its pages and SMS: 中国工商银行 */
    char name_en[PAY_BANK_NAME_MAX + 1]; /* on English pages and SMS; "": name */
    char brand_color[8];                 /* "#c7000b": its pages' header and buttons */
    char code[PAY_BANK_CODE_MAX + 1];
    char bin[7];
    char data_dir[PAY_BANK_PATH_MAX];
    struct pay_server_settings server; /* [server]: listen, TLS, public URL, log level */
    char web_root[PAY_BANK_PATH_MAX];
    char admin_token[128];
    bool demo_data;
    bool fast_hash;
    bool allow_private_notify;
    int64_t notify_timeout_ms;
    int64_t sms_ttl_ms; /* PAY_OTP_TTL_S; shorter only for tests of expiry */
    int64_t retry_ms[PAY_BANK_RETRY_MAX];
    size_t retry_n;
    /* the card network (docs/switch.md): both set makes the bank a member */
    char switch_url[PAY_URL_MAX + 1];
    char switch_member_dir[PAY_BANK_PATH_MAX];
};

/* The bank's keys, loaded from (or created in) <data_dir>/keys. */
struct pay_bank_keys {
    struct pay_keydir_certs certs; /* ca.crt/ca.key (merchants), sign.crt/sign.key (CN = code) */
    struct pay_keyring aead;
    uint8_t index_key[PAY_KEYED_HASH_KEY_LEN];
    uint8_t cvv_key[32];
    uint8_t otp_key[PAY_OTP_KEY_LEN];
};

struct pay_bank_sms {
    int64_t time_ms;
    char phone[24];
    char text[400];
    char code[8]; /* the code in the text, for test scripts (sandbox only, like the text) */
};

struct pay_bank_rate; /* rate.c */

/* The bank as a member of the card network (net.c): what `paygate switch member add` wrote to
 * its member folder, and its interbank accounts. */
struct pay_bank_net {
    bool enabled;
    bool issuer, acquirer;
    char switch_url[PAY_URL_MAX + 1];
    char switch_code[PAY_NET_CODE_MAX + 1];
    char *member_cert_pem;              /* CN = our code, issued by the switch's CA */
    struct pay_rsa_key *member_key;     /* signs our messages and our answers to the switch */
    char *switch_cert_pem;              /* the switch's signing certificate (checked at start) */
    struct pay_net_cert_key switch_key; /* verifies the switch's requests */
    struct pay_seal_key seal;           /* card data is sealed to us with its public half */
    uint8_t switch_seal_pk[PAY_SEAL_PK_LEN]; /* card data we seal to the switch */
    /* ledger: what the network owes us (acquired), what we owe it (issued), our settlement
     * account at the switch (its mirror), interchange and network fees */
    char receivable[PAY_LEDGER_ID_MAX + 1], payable[PAY_LEDGER_ID_MAX + 1];
    char settlement[PAY_LEDGER_ID_MAX + 1], fees[PAY_LEDGER_ID_MAX + 1];
    _Atomic bool signed_on;
    int64_t signon_after_ms; /* monotonic: the worker's next try after a failed sign-on */
};

/* A card issued at /admin, kept in memory only until its result page shows it once. */
#define PAY_BANK_REVEAL_SLOTS 8
struct pay_bank_reveal {
    char ticket[40]; /* "" = free */
    char card_id[PAY_ID_MAX];
    char account_id[PAY_LEDGER_ID_MAX + 1];
    char pan[20];
    char cvv[4];
    char expiry[6];
    int64_t created_ms;
};

struct pay_bank {
    struct pay_bank_options opt;
    struct pay_bank_keys keys;
    struct pay_store *store;
    struct pay_ledger *ledger;
    struct pay_committer *committer;
    pay_audit_signer audit_signer; /* the signing key, for the audit log's checkpoints */
    struct pay_http_server *http;
    struct pay_nonce_cache *nonces;
    struct pay_bank_rate *rate;
    struct pay_bank_net net;
    char url[PAY_URL_MAX + 1]; /* our base URL (public_url, else the bound one), once listening */
    char cash_account[PAY_LEDGER_ID_MAX + 1];
    char credit_lines_account[PAY_LEDGER_ID_MAX + 1];
    /* sandbox SMS outbox: a ring of the latest messages */
    pthread_mutex_t sms_lock;
    struct pay_bank_sms sms[PAY_BANK_SMS_OUTBOX_MAX];
    size_t sms_next, sms_count;
    /* notification worker */
    pthread_t worker;
    bool worker_running;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond; /* stop, or a move of the test clock (notify_clock) */
    bool stopping;
    struct pay_clock_worker notify_clock;
    /* /admin: CSRF tokens are HMAC(admin_key, the admin cookie); issued cards wait here */
    uint8_t admin_key[32];
    pthread_mutex_t reveal_lock;
    struct pay_bank_reveal reveal[PAY_BANK_REVEAL_SLOTS];
};

/* --- bank.c: lifecycle ---------------------------------------------- */
void pay_bank_options_defaults(struct pay_bank_options *o);
/* The bank's name in the language of req (name_en on English pages when set, else name). */
struct pay_http_request;
const char *pay_bank_display_name(const struct pay_bank *b, struct pay_http_request *req);
#define PAY_BANK_BRAND_COLOR "#9b1c1c" /* the sandbox's red when none is configured */
/* The checks pay_bank_open makes before touching the data dir: data_dir set, code and BIN
 * well-formed when given. CONFIG_INVALID with err->field the option's key ("bin"). */
enum pay_err pay_bank_options_check(const struct pay_bank_options *o, struct pay_error *err);
/* Opens the data dir (keys, database, ledger, committer); *out is freed with
 * pay_bank_close(). */
enum pay_err pay_bank_open(const struct pay_bank_options *o, struct pay_bank **out,
                           struct pay_error *err);
void pay_bank_close(struct pay_bank *b);

/* --- schema.c ------------------------------------------------------------------------------ */
extern const struct pay_store_component pay_bank_schema;

/* --- cards.c ------------------------------------------------------------------------------- */
int pay_bank_luhn_digit(const char *digits); /* check digit for digits (no check digit yet) */
bool pay_bank_luhn_valid(const char *pan);
/* Normalises user input ("6222 0200 ...") into out (digits only); -1 when not 13-19 digits. */
int pay_bank_pan_normalise(const char *in, char out[20]);
void pay_bank_pan_mask(const char *pan, char out[PAY_BANK_MASKED_MAX]);
void pay_bank_cvv2(const struct pay_bank *b, const char *pan, const char *expiry_mmyy, char out[4]);
/* True when "MM/YY" is past its month's end at now_ms; -1 when malformed. */
int pay_bank_expiry_past(const char *expiry, int64_t now_ms);
void pay_bank_pan_index(const struct pay_bank *b, const char *pan, char out[PAY_SHA256_HEX_LEN]);

/* A card as the bank code sees it (the PAN is never loaded into this). */
struct pay_bank_card {
    char id[PAY_ID_MAX];
    char bin[7];
    char last4[5];
    char expiry[6];
    char kind[8]; /* DEBIT / CREDIT */
    char account_id[PAY_LEDGER_ID_MAX + 1];
    char phone[24];
    char password_hash[PAY_PWHASH_STR_LEN];
    int64_t locked_until_ms; /* from bank_attempts; in the past or 0 when not locked */
    char customer_id[PAY_ID_MAX];
    /* the customer's reserved message, sealed ("" when none): pay_bank_reserved_open */
    char reserved_sealed[PAY_AEAD_SEALED_LEN(PAY_RESERVED_MESSAGE_MAX)];
};
/* Looks a card up by PAN inside tx. PAY_ERR_CARD_INVALID when unknown. */
enum pay_err pay_bank_card_find(struct pay_bank *b, struct pay_store_tx *tx, const char *pan,
                                struct pay_bank_card *out, struct pay_error *err);
enum pay_err pay_bank_card_get(struct pay_store_tx *tx, const char *card_id,
                               struct pay_bank_card *out, struct pay_error *err);
/* The card's attempt guard (store/attempts.h, table bank_attempts, subject "card:<id>"): one
 * count over its password, SMS codes and CVV2. reserve counts a try before its secret is
 * checked (LOCKED: refused, nothing counted, check nothing); succeeded records a right one. */
struct pay_store_attempt;
enum pay_err pay_bank_card_attempt_reserve(struct pay_store_tx *tx, const char *card_id,
                                           int64_t now_ms, struct pay_store_attempt *out,
                                           struct pay_error *err);
enum pay_err pay_bank_card_attempt_succeeded(struct pay_store_tx *tx, const char *card_id,
                                             const struct pay_store_attempt *a,
                                             struct pay_error *err);
/* LOCKED / CARD_EXPIRED / OK for using the card at now_ms. */
enum pay_err pay_bank_card_usable(const struct pay_bank_card *c, int64_t now_ms,
                                  struct pay_error *err);

/* Issues a card (inside tx). pan_out receives the number (caller shows it once), cvv_out the
 * CVV2. serial < 0 picks a random serial. */
struct pay_bank_card_new {
    const char *customer_id;
    const char *kind; /* "debit" or "credit" */
    const char *password;
    const char *expiry; /* "MM/YY" */
    const char *phone;
    const char *account_id;     /* NULL or "": open a new account (of the card's kind) */
    int64_t credit_limit_minor; /* new credit accounts only */
    int64_t serial;
    int64_t locked_until_ms;
};
enum pay_err pay_bank_card_issue(struct pay_bank *b, struct pay_store_tx *tx,
                                 const struct pay_bank_card_new *c, char pan_out[20],
                                 char cvv_out[4], char card_id_out[PAY_ID_MAX],
                                 struct pay_error *err);

/* --- accounts (bank.c) ------------------------------------------------------------------- */
/* Creates a ledger account + its row; kind "deposit", "credit", "merchant". */
enum pay_err pay_bank_account_create(struct pay_bank *b, struct pay_store_tx *tx, const char *kind,
                                     const char *owner, char id_out[PAY_LEDGER_ID_MAX + 1],
                                     struct pay_error *err);
/* The bank order state machine (docs/bank.md): CREATED -> PAID (the consumer confirmed and
 * the money moved), PAID -> REFUNDED (refunded in full). Every change asserts its move. */
bool pay_bank_order_move_legal(const char *from, const char *to);
/* One ledger transfer inside tx of amount_minor (> 0, at most PAY_AMOUNT_MAX_MINOR: checked
 * where it came in, asserted here); maps EXCEEDS_CREDITS to INSUFFICIENT_FUNDS. */
enum pay_err pay_bank_transfer(struct pay_bank *b, struct pay_store_tx *tx, const char *id,
                               const char *from, const char *to, int64_t amount_minor, int32_t code,
                               const char *user_data, struct pay_error *err);
enum pay_err pay_bank_customer_create(struct pay_bank *b, struct pay_store_tx *tx, const char *name,
                                      const char *phone, char id_out[PAY_ID_MAX],
                                      struct pay_error *err);

/* --- reserved.c: the customer's reserved message (预留信息, docs/bank.md) ------------------ */
/* Seals message (checked by pay_reserved_message_check) for customer_id and stores it inside tx;
 * NOT_FOUND (field "customer") when there is no such customer. The text goes nowhere else: not the
 * log, not the audit trail. */
enum pay_err pay_bank_reserved_set(struct pay_bank *b, struct pay_store_tx *tx,
                                   const char *customer_id, const char *message,
                                   struct pay_error *err);
/* Opens the reserved message of card c's customer into out; false (out "") when the customer
 * has none or it cannot be opened (a key gone from the keyring). The caller wipes out. */
bool pay_bank_reserved_open(const struct pay_bank *b, const struct pay_bank_card *c,
                            char out[PAY_RESERVED_MESSAGE_MAX + 1]);

/* --- admin_ops.c: sandbox administration, shared by the CLI and the /admin forms -------- */
/* Each validates its input (err->field names the bad one) and commits one write. */
enum pay_err pay_bank_admin_customer_add(struct pay_bank *b, const char *name, const char *phone,
                                         char id_out[PAY_ID_MAX], struct pay_error *err);
/* Sets (replaces) a customer's reserved message, as a customer asks at the counter. */
enum pay_err pay_bank_admin_customer_reserved(struct pay_bank *b, const char *customer_id,
                                              const char *message, struct pay_error *err);
/* kind "deposit" or "credit"; limit_minor: the credit line (credit only, >= 0). */
enum pay_err pay_bank_admin_account_open(struct pay_bank *b, const char *customer_id,
                                         const char *kind, int64_t limit_minor,
                                         char id_out[PAY_LEDGER_ID_MAX + 1], struct pay_error *err);
struct pay_bank_admin_card {
    const char *customer_id; /* with account_id NULL: a new account for this customer */
    const char *account_id;  /* an existing deposit (debit card) or credit account */
    const char *kind;        /* "debit" / "credit" */
    const char *password;    /* 6 digits */
    const char *expiry;      /* "MM/YY" */
    int64_t limit_minor;     /* new credit accounts only */
};
struct pay_bank_issued {
    char card_id[PAY_ID_MAX];
    char account_id[PAY_LEDGER_ID_MAX + 1];
    char pan[20]; /* shown once by the caller, never logged */
    char cvv[4];
    char expiry[6];
};
/* out holds the card number and CVV2: the caller wipes it (pay_wipe) once shown. */
enum pay_err pay_bank_admin_card_issue(struct pay_bank *b, const struct pay_bank_admin_card *c,
                                       struct pay_bank_issued *out, struct pay_error *err);
/* Cash -> a customer account; amount_minor 1..PAY_AMOUNT_MAX_MINOR. */
enum pay_err pay_bank_admin_deposit(struct pay_bank *b, const char *account_id,
                                    int64_t amount_minor, char id_out[PAY_LEDGER_ID_MAX + 1],
                                    struct pay_error *err);
/* A page of an account's movements, newest first (cursor 0 = first page; *next 0 = last). */
/* An adjustment (调账) of account_id by the bank itself: credit (money in from the bank's cash)
 * or debit (out to it) of amount_minor, naming the movement it corrects in reference (1-64 of
 * [A-Za-z0-9_.:-], or "": the statement's reference column) with a note (audit trail). The
 * transfer's id into id_out (may be NULL). */
struct pay_bank_adjustment {
    const char *account_id, *direction, *reference, *note;
    int64_t amount_minor;
};
enum pay_err pay_bank_admin_adjust(struct pay_bank *b, const struct pay_bank_adjustment *a,
                                   char id_out[PAY_LEDGER_ID_MAX + 1], struct pay_error *err);
enum pay_err pay_bank_admin_movements(struct pay_bank *b, const char *account_id, int64_t cursor,
                                      struct pay_ledger_transfer *out, size_t max, size_t *n,
                                      int64_t *next, struct pay_error *err);

/* --- merchants.c --------------------------------------------------------------------------- */
struct pay_bank_merchant {
    char mer_id[PAY_MERCHANT_ID_FIELD_MAX + 1];
    char name[PAY_TEXT_FIELD_MAX + 1];
    char account_id[PAY_LEDGER_ID_MAX + 1];
    char referrer_domain[256];
    char notify_domain[256];
    bool allow_no_referer;
};
enum pay_err pay_bank_merchant_get(struct pay_store_tx *tx, const char *mer_id,
                                   struct pay_bank_merchant *out, struct pay_error *err);
/* Checks a presented certificate PEM for mer_id: CA, CN, not revoked. */
enum pay_err pay_bank_cert_check(struct pay_bank *b, struct pay_store_tx *tx, const char *cert_pem,
                                 const char *mer_id, struct pay_error *err);
/* Creates the contract, account and certificate; writes merchant.key/.crt/.json to out_dir. */
enum pay_err pay_bank_merchant_add(struct pay_bank *b, const struct pay_bank_merchant *m,
                                   const char *out_dir, char serial_out[64], struct pay_error *err);
enum pay_err pay_bank_merchant_revoke(struct pay_bank *b, const char *mer_id, const char *serial,
                                      int *revoked_out, struct pay_error *err);
bool pay_bank_domain_match(const char *host, const char *domain);

/* --- sms (notify.c) ------------------------------------------------------------------------ */
/* "Sends" text to phone: the sandbox outbox and the log. code is the one-time code in it,
 * kept apart for test scripts (GET /sandbox/sms?format=json), whatever the text's language. */
void pay_bank_sms_send(struct pay_bank *b, const char *phone, const char *text, const char *code);

/* --- notify.c ------------------------------------------------------------------------------ */
/* Tries one delivery of notification id now (bounded by notify_timeout_ms) and records it. */
void pay_bank_notify_attempt(struct pay_bank *b, const char *notify_id);
int pay_bank_notify_worker_start(struct pay_bank *b);
void pay_bank_notify_worker_stop(struct pay_bank *b);
/* Builds the signed notification fields of an order inside tx and inserts the row. */
enum pay_err pay_bank_notify_create(struct pay_bank *b, struct pay_store_tx *tx,
                                    const char *order_pk, int64_t now_ms, char id_out[PAY_ID_MAX],
                                    struct pay_error *err);

/* --- net.c: membership of the card network (docs/switch.md) ------------------------------- */
/* Loads the member folder (certificates checked against the switch's CA, our code) and makes
 * the interbank accounts; nothing when no switch is configured. CONFIG_INVALID naming the
 * option when the folder does not fit. */
enum pay_err pay_bank_net_open(struct pay_bank *b, struct pay_error *err);
void pay_bank_net_close(struct pay_bank *b);
/* Network management (0800 sign-on): tells the switch where our issuer endpoints are (b->url).
 * OK once the switch answered 00. */
enum pay_err pay_bank_net_signon(struct pay_bank *b, struct pay_error *err);
/* The worker's share: sign on until it worked; the acquirer's captures and reversals. */
void pay_bank_net_run(struct pay_bank *b);
/* A signed call to the switch (as pay_net_call). */
enum pay_err pay_bank_net_call(struct pay_bank *b, const char *path, const char *body, long *status,
                               json_t **answer, struct pay_error *err);
/* The key our answers on /net/ paths are signed with (the member key), NULL when no member. */
const struct pay_rsa_key *pay_bank_net_answer_key(struct pay_bank *b, const char *path);
/* --- net_acquirer.c: the bank as acquirer: another bank's card through the switch -------- */
struct pay_net_card;
/* One authorization for an order of ours. in: order, amount, merchant, card (sealed here to
 * the switch, never stored). on_approved runs in the transaction that records an approval (the
 * order paid, the merchant credited from the interbank receivable); *taken false when the
 * order was no longer payable, and the approval is reversed. out: rc ("91" when the switch did
 * not answer: a reversal is sent until it does), text, trace, last4. */
struct pay_bank_net_auth {
    const char *order_pk, *mer_id, *mer_name;
    int64_t amount_minor;
    const struct pay_net_card *card; /* the card data (CVN2), or: */
    const char *token, *vid;         /* the token and verification of an SMS-verified card */
    enum pay_err (*on_approved)(struct pay_store_tx *tx, void *ctx, const char *trace, bool *taken,
                                struct pay_error *err);
    void *ctx;
    char trace[PAY_NET_TRACE_LEN + 1];
    char rc[PAY_NET_RC_LEN];
    char text[PAY_TEXT_FIELD_MAX + 1];
    char last4[5];
    bool approved; /* 00 and the order taken */
};
/* ORDER_STATE when the order is not payable or a payment of it is in flight. */
enum pay_err pay_bank_net_authorize(struct pay_bank *b, struct pay_bank_net_auth *a,
                                    struct pay_error *err);
/* A refund of an order paid with another bank's card (inside tx, with the bank's refund row):
 * the merchant debited to the interbank receivable (transfer id tid), and a refund (0200) of the
 * order's authorization queued for the switch; sent after the capture, until it is answered.
 * NOT_FOUND when the order has no approved network authorization. */
enum pay_err pay_bank_net_refund_tx(struct pay_bank *b, struct pay_store_tx *tx,
                                    const char *order_pk, const char *tid, const char *mer_acct,
                                    int64_t amount_minor, struct pay_error *err);
/* Sends the captures, refunds and reversals that are due (the worker; also right after an
 * approval). */
void pay_bank_net_send_due(struct pay_bank *b);
/* --- net_clearing.c: the daily clearing file, reconciled and booked ----------------------- */
struct pay_bank_net_import {
    bool booked; /* false: the same file was booked before, nothing changed */
    int64_t records, acquired_minor, issued_minor, interchange_minor, fees_minor, net_minor;
    char sha256[PAY_SHA256_HEX_LEN];
};
/* Downloads the clearing file of settled business day date from the switch, checks it, reconciles
 * every line against our records and books the day's position against net:settlement (one
 * transaction, once per day). SETTLEMENT_NOT_FOUND when the switch has not settled the day;
 * FIELD_INVALID (file) naming the line or record that does not fit or reconcile; DUPLICATE
 * (date) when another file was booked for the day. Nothing moves on any error. */
enum pay_err pay_bank_net_clearing_import(struct pay_bank *b, const char *date,
                                          struct pay_bank_net_import *out, struct pay_error *err);
/* POST /admin/net/clearing. */
const struct pay_http_route *pay_bank_net_clearing_routes(size_t *n);
/* The issuer endpoints the switch calls (net_issuer.c). */
const struct pay_http_route *pay_bank_net_issuer_routes(size_t *n);

/* --- demo_data.c --------------------------------------------------------------------------- */
/* Seeds the demo cards and merchant (idempotent); print: a line pointing to demo-cards. */
enum pay_err pay_bank_demo_data(struct pay_bank *b, bool print, struct pay_error *err);
/* `paygate bank demo-cards`: the demo cards with expiry, CVV2 and phone, on out (a terminal,
 * never a log). 0, or -1 when the bank has none. */
int pay_bank_demo_cards_print(struct pay_bank *b, FILE *out);

/* --- server.c ------------------------------------------------------------------------------ */
int pay_bank_serve(struct pay_bank_options *o);

/* --- rate.c -------------------------------------------------------------------------------- */
/* The rate limiter's buckets: in the database (bank_rates: the bank processes sharing a
 * PostgreSQL database share them) or in this process's memory. NULL when out of memory. */
struct pay_bank_rate *pay_bank_rate_new(bool in_db);
void pay_bank_rate_free(struct pay_bank_rate *r);
/* Token bucket: true when the key may go on (per-IP / per-card limits of per_min a minute). */
bool pay_bank_rate_allow(struct pay_bank *b, const char *kind, const char *key, int per_min);

/* --- routes (gateway.c, api.c, admin.c) ---------------------------------------------------- */
struct pay_http_route;
const struct pay_http_route *pay_bank_gateway_routes(size_t *n);
const struct pay_http_route *pay_bank_api_routes(size_t *n);
const struct pay_http_route *pay_bank_admin_routes(size_t *n);
const struct pay_http_route *pay_bank_admin_form_routes(size_t *n);
const struct pay_http_route *
pay_bank_audit_routes(size_t *n); /* GET /admin/audit (admin_audit.c) */
/* POST /api/v1/witness/cosign (witness.c): co-signs the platform's payment log's heads. */
const struct pay_http_route *pay_bank_witness_routes(size_t *n);

/* --- audit_log.c: the audit trail (docs/audit.md) ------------------------------------------ */
/* Appends e to the bank's audit log inside tx, the transaction of what it records. */
enum pay_err pay_bank_audit(struct pay_bank *b, struct pay_store_tx *tx,
                            const struct pay_audit_entry *e, struct pay_error *err);
/* Records e in a write of its own (an event that changes nothing else); a failure is logged. */
void pay_bank_audit_event(struct pay_bank *b, const struct pay_audit_entry *e);
/* A refused admin request (action "admin.access" or "admin.form", outcome code's name). */
struct pay_http_request;
void pay_bank_audit_refused(struct pay_bank *b, struct pay_http_request *req, const char *action,
                            enum pay_err code);
/* The server's start (not the command-line tools'): its entry with a checkpoint,
 * "server.start", or "config.change" when the options differ from the previous start's. */
enum pay_err pay_bank_audit_start(struct pay_bank *b, struct pay_error *err);
/* A refused card secret (PCI DSS 10.2.1.4: CVV2, card password, SMS code): actor "<who>:<who_id>"
 * (who alone when who_id is NULL), the card by id, outcome the refusal's code. Inside tx, the
 * transaction that keeps the attempt counted; with tx NULL in a write of its own. */
enum pay_err pay_bank_audit_card_refused(struct pay_bank *b, struct pay_store_tx *tx,
                                         const char *who, const char *who_id, const char *action,
                                         const char *card_id, enum pay_err code,
                                         struct pay_error *err);
/* A money-moving entry inside tx: actor "<who>:<who_id>" (who alone when who_id is NULL),
 * detail "amount_minor=N currency=CNY <note>". */
enum pay_err pay_bank_audit_money(struct pay_bank *b, struct pay_store_tx *tx, const char *who,
                                  const char *who_id, const char *action, const char *target,
                                  int64_t amount_minor, const char *note, struct pay_error *err);

/* --- admin_forms.c: helpers of the /admin pages -------------------------------------------- */
struct pay_http_request;
/* Loopback clients, or ?token= equal to admin_token. */
bool pay_bank_admin_allowed(struct pay_http_request *req, struct pay_bank *b);
/* The CSRF token for this browser's forms (sets the admin cookie on a first visit);
 * request-owned. */
const char *pay_bank_admin_csrf(struct pay_http_request *req, struct pay_bank *b);
/* "token=..." (escaped) when the request carried ?token=, else ""; request-owned. */
const char *pay_bank_admin_tq(struct pay_http_request *req);

/* Reads a whole file (at most max bytes) into a heap string (caller frees); NULL on error. */
char *pay_bank_read_file(const char *path, size_t max);

/* --- order_doc.c: the B2C order document (tranData) -------------------------------------- */
struct pay_bank_order_doc {
    char order_id[PAY_MERCHANT_ID_FIELD_MAX + 1];
    char order_date[16];
    int64_t amount_minor;
    char currency[4];
    char mer_id[PAY_MERCHANT_ID_FIELD_MAX + 1];
    char mer_acct[PAY_LEDGER_ID_MAX + 1];
    char mer_url[PAY_URL_MAX + 1];
    char notify_type[3];
    char result_type[2];
    char mer_var[PAY_TEXT_FIELD_MAX + 1];
    char goods_name[PAY_TEXT_FIELD_MAX + 1];
    char return_url[PAY_URL_MAX + 1];
};
/* Verifies the gateway form (tranData, merSignMsg, merCert) inside tx: certificate,
 * signature, strict document fields, contract, merURL domain, Referer. Fills doc and m. */
enum pay_err pay_bank_order_verify(struct pay_bank *b, struct pay_store_tx *tx,
                                   const char *tran_data, const char *sign_msg,
                                   const char *mer_cert, const char *referer,
                                   struct pay_bank_order_doc *doc, struct pay_bank_merchant *m,
                                   struct pay_error *err);
/* True when s is 1..max chars of [A-Za-z0-9_.:-]. */
bool pay_bank_id_ok(const char *s, size_t max);

/* `paygate bank` (cmd_bank.c, linked into the paygate binary, src/cli): run a bank; merchants,
 * customers, cards, deposits. Takes the arguments after the command's name (argv[0] is it), handles
 * --help, returns the exit status. */
int pay_cmd_bank(int argc, char **argv);

#endif
