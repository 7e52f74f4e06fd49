/* libpaygate: the merchant SDK of paygate. Talks to the payment platform's open API
 * (docs/api.md) with signed requests and verified answers, checks the platform's
 * notifications, and speaks a paygate bank's B2C protocol (docs/bank.md) for merchants that
 * have their own bank contract. Self-contained: include only this header, link with
 * `pkg-config --libs paygate`.
 *
 * Conventions: functions return PAYGATE_OK (0) or a negative paygate_status; when an error
 * struct is passed, it receives the platform's or bank's error code and a message. Money is
 * always integer minor units (1230 = 12.30 CNY) plus an ISO 4217 currency. Every function
 * is thread-safe on distinct objects; a paygate_client may be shared by threads. */
#ifndef PAYGATE_H
#define PAYGATE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    PAYGATE_OK = 0,
    PAYGATE_ERR_ARG = -1,       /* a bad argument (see err.message) */
    PAYGATE_ERR_IO = -2,        /* a key/cert file could not be read */
    PAYGATE_ERR_NETWORK = -3,   /* no answer: connection failed or timed out; retry or query */
    PAYGATE_ERR_SIGNATURE = -4, /* a signature did not verify: never trust such a message */
    PAYGATE_ERR_STALE = -5,     /* signed timestamp outside the 300 s window, or a replay */
    PAYGATE_ERR_REFUSED = -6,   /* the server answered with an error (err.http_status, err.code) */
    PAYGATE_ERR_MISMATCH = -7,  /* a notification for another merchant or another amount */
    PAYGATE_DUPLICATE = -8,     /* paygate_notify_once: this notify id was handled before */
    PAYGATE_ERR_INTERNAL = -9,
    PAYGATE_TEST = -10, /* paygate_notify_verify: the portal's signed test notification for you
                           (event "test", no trade): answer "success", nothing to fulfil */
} paygate_status;

/* What went wrong, for logs and pages. */
typedef struct {
    int http_status;   /* the server's status, 0 when there was no answer */
    char code[48];     /* "TRADE_NOT_FOUND", "SIGNATURE_INVALID", ... (docs/errors.md) */
    char message[256]; /* human-readable detail */
} paygate_error;

/* The short name of a status ("SIGNATURE", "DUPLICATE"). Static string. */
const char *paygate_status_name(int status);

/* ---- the platform client --------------------------------------------------------------- */

typedef struct paygate_client paygate_client;

typedef struct {
    const char *platform_url; /* base URL, e.g. "http://127.0.0.1:8083" */
    /* your id at the platform, the keyId of your signatures; for a key added in the merchant
     * portal its own keyId, "<merchant id>.k<n>" (docs/portal.md) */
    const char *merchant_id;
    const char *key_file; /* your Ed25519 private key, PEM (`paygate platform keygen`) */
    /* The platform's public key (base64, 44 chars) as published at
     * /.well-known/paygate-platform-key. NULL: fetched once by paygate_client_new (pin it in
     * production: a fetched key is only as trustworthy as the connection). */
    const char *platform_public_key;
    long timeout_ms;    /* per API call; 0: 10000 */
    int allow_loopback; /* non-zero: the platform may be on 127.0.0.1 (demo, tests) */
} paygate_config;

/* Creates a client (reads the key, maybe fetches the platform key). Returns NULL on failure
 * with err filled. Free with paygate_client_free. */
paygate_client *paygate_client_new(const paygate_config *cfg, paygate_error *err);
/* Releases the client and wipes its key. NULL is fine. */
void paygate_client_free(paygate_client *c);

/* The platform key in use (base64), e.g. to pin it in your configuration. */
const char *paygate_client_platform_key(const paygate_client *c);

/* A trade as the platform reports it (docs/api.md "The trade object"). */
typedef struct {
    char trade_id[40];
    char merchant_id[40];
    char out_trade_no[72];
    char state[32]; /* WAIT_BUYER_PAY, WAIT_SELLER_SEND_GOODS, WAIT_BUYER_CONFIRM_GOODS,
                       TRADE_SUCCESS, TRADE_CLOSED, TRADE_FINISHED */
    int64_t amount;
    char currency[4];
    int64_t refunded;
    int64_t fee;
    char pay_method[16];   /* "wallet", "bank" or "" (unpaid) */
    char cashier_url[512]; /* where to send the consumer while WAIT_BUYER_PAY */
    char close_reason[24]; /* closed, expired, refunded, risk_rejected */
} paygate_trade;

typedef struct {
    const char *out_trade_no; /* your order number, 1-64 of A-Z a-z 0-9 _ - . */
    int64_t amount;           /* minor units, > 0 */
    const char *currency;     /* NULL: "CNY" */
    const char *subject;      /* what the consumer sees */
    const char *notify_url;   /* NULL: no notifications (then query) */
    const char *return_url;   /* NULL: none */
    const char *timeout;      /* "30m", "2h"; NULL: the platform's default (15m) */
} paygate_trade_request;

/* POST /v1/trades. Idempotent: the Idempotency-Key is derived from out_trade_no, so calling
 * it again after a network error returns the same trade (or DUPLICATE if the first request
 * differed). */
int paygate_trade_create(paygate_client *c, const paygate_trade_request *req, paygate_trade *out,
                         paygate_error *err);
/* POST /v1/trades with product "escrow" (担保交易, docs/api.md "Escrow trades"): paid on the
 * cashier like paygate_trade_create's, but the money is held until the buyer confirms receipt;
 * paid, the trade is WAIT_SELLER_SEND_GOODS until you ship it (paygate_trade_ship).
 * Idempotent like paygate_trade_create. */
int paygate_trade_create_escrow(paygate_client *c, const paygate_trade_request *req,
                                paygate_trade *out, paygate_error *err);
/* GET /v1/trades?out_trade_no=X: the query fallback when a notification is late. */
int paygate_trade_query(paygate_client *c, const char *out_trade_no, paygate_trade *out,
                        paygate_error *err);
/* POST /v1/trades/{trade_id}/close (only while WAIT_BUYER_PAY). */
int paygate_trade_close(paygate_client *c, const char *trade_id, paygate_trade *out,
                        paygate_error *err);

/* POST /v1/trades/{trade_id}/ship: an escrow trade shipped (logistics company and tracking
 * number, 1-64 bytes each); the buyer confirms receipt next. Shipping again is refused
 * (PAYGATE_ERR_REFUSED, TRADE_STATE_INVALID). */
int paygate_trade_ship(paygate_client *c, const char *trade_id, const char *logistics_company,
                       const char *tracking_no, paygate_trade *out, paygate_error *err);

typedef struct {
    char refund_id[40];
    char out_refund_no[72];
    int64_t amount;
    char currency[4];
    char status[16]; /* SUCCESS, PROCESSING (bank refund in flight) */
} paygate_refund;

/* POST /v1/trades/{trade_id}/refunds; idempotent by out_refund_no. reason may be NULL. */
int paygate_trade_refund(paygate_client *c, const char *trade_id, const char *out_refund_no,
                         int64_t amount, const char *currency, const char *reason,
                         paygate_refund *out, paygate_error *err);

/* The merchant's balance at the platform in one currency (docs/api.md GET /v1/balance). */
typedef struct {
    char currency[4];
    int64_t available;    /* minor units the platform owes you: payments - fees - refunds */
    int64_t fees_charged; /* minor units of fees taken, less the shares refunded */
} paygate_balance;
/* GET /v1/balance[?currency=]: up to max balances (one per currency you have trades in, or
 * only `currency` when not NULL: then exactly one, zeros when none) into out, the count in
 * *n. out and n are the caller's. */
int paygate_balance_query(paygate_client *c, const char *currency, paygate_balance *out, size_t max,
                          size_t *n, paygate_error *err);
/* ---- platform notifications ------------------------------------------------------------ */

typedef struct {
    char notify_id[40]; /* the same on every retry: de-duplicate by it */
    char event[24];     /* "trade.state", "refund" or "test" */
    char refund_id[40]; /* for "refund" */
    paygate_trade trade;
} paygate_notification;

/* Verifies and parses a notification POSTed to your notify_url: `target` is the request
 * target exactly as received on the request line — the path and, when your notify_url has
 * one, "?" and the query, undecoded (what the signature covers) —, `signature` the
 * Paygate-Signature header value
 * (NULL when absent), body/len the raw body. Checks the platform's signature, the 300 s
 * timestamp window and nonce replay, that the trade is yours, and, when expected_amount > 0,
 * that the trade's amount equals it (PAYGATE_ERR_MISMATCH otherwise). On PAYGATE_OK answer
 * the platform HTTP 200 with the body "success" once you have stored the outcome.
 * PAYGATE_TEST: a signed test notification for you sent from the merchant portal (event "test",
 * notify_id set, no trade): answer "success" and do nothing else. */
int paygate_notify_verify(paygate_client *c, const char *target, const char *signature,
                          const void *body, size_t len, int64_t expected_amount,
                          paygate_notification *out, paygate_error *err);

/* Idempotency: `seen` records notify_id and returns 1 if it was new, 0 if it was recorded
 * before, -1 on error. Back it with your database (ideally in the transaction that fulfils
 * the order). */
typedef int (*paygate_seen_fn)(void *ctx, const char *notify_id);

/* Calls seen(ctx, notify_id): PAYGATE_OK the first time (fulfil the order now),
 * PAYGATE_DUPLICATE afterwards (answer "success" and do nothing), PAYGATE_ERR_INTERNAL when
 * seen failed (answer an error: the platform retries). */
int paygate_notify_once(const char *notify_id, paygate_seen_fn seen, void *ctx);

/* A ready `seen` store: a SQLite file (table paygate_seen), created with mode 0600. NULL on
 * error. */
typedef struct paygate_seen_db paygate_seen_db;
paygate_seen_db *paygate_seen_db_open(const char *sqlite_path);
/* Closes the store. NULL is fine. */
void paygate_seen_db_close(paygate_seen_db *db);
int paygate_seen_db_fn(void *db, const char *notify_id); /* a paygate_seen_fn; ctx = the db */

/* ---- low level: the signature scheme itself ------------------------------------------- */
/* For custom transports and for checking the published test vectors of docs/protocol.md.
 * The client functions above do all of this for you. */

typedef struct {
    const char *key_id;                /* the keyId the receiver knows you by */
    const unsigned char *ed25519_seed; /* 32 bytes; or NULL and: */
    const char *rsa_private_pem;       /* an RSA private key, PEM */
} paygate_signer;

/* Writes the Authorization header value for a request (canonical string of docs/protocol.md)
 * into out (1100 bytes are enough). nonce: 16-64 of A-Za-z0-9_- (NULL: a fresh one); ts: Unix
 * seconds (0: now). */
int paygate_sign_request(const paygate_signer *s, const char *method, const char *target,
                         int64_t ts, const char *nonce, const void *body, size_t len, char *out,
                         size_t out_size);

/* Verifies a response's Paygate-Signature value with an Ed25519 public key (base64) whose
 * keyId is key_id, against the status, body and the nonce of the request it answers, at time
 * now (0: the clock). PAYGATE_OK, PAYGATE_ERR_SIGNATURE or PAYGATE_ERR_STALE. */
int paygate_verify_response(const char *key_id, const char *public_key_b64, const char *header,
                            int status, const char *request_nonce, const void *body, size_t len,
                            int64_t now);

/* ---- a bank's B2C gateway (docs/bank.md) ------------------------------------------------ */

typedef struct paygate_bank paygate_bank;

typedef struct {
    const char *gateway_url;    /* the bank's base URL; the form posts to <url>/b2c/pay */
    const char *merchant_dir;   /* from `paygate bank merchant add --out DIR`: merchant.key,
                                   merchant.crt, merchant.json (merID, merAcct) */
    const char *bank_cert_file; /* the bank's signing certificate (GET /b2c/bank-cert.pem) */
    const char *ca_file;        /* the bank's CA (GET /ca.pem); NULL: do not check the chain */
    const char *bank_code;      /* the CN of the bank's certificate (checked with ca_file) */
    long timeout_ms;            /* API calls; 0: 10000 */
    int allow_loopback;
} paygate_bank_config;

/* Reads the merchant key, certificate and merchant.json and the bank certificate (checked
 * against ca_file and bank_code when ca_file is given). NULL on failure with err filled. */
paygate_bank *paygate_bank_new(const paygate_bank_config *cfg, paygate_error *err);
/* Releases the object and wipes the key. NULL is fine. */
void paygate_bank_free(paygate_bank *b);

typedef struct {
    const char *order_id; /* unique per merchant at this bank, [A-Za-z0-9_.:-]{1,64} */
    int64_t amount;       /* minor units */
    const char *currency; /* NULL: "CNY" */
    const char *goods_name;
    const char *notify_url; /* merURL: the bank POSTs the notification here */
    const char *return_url; /* NULL: none */
    const char *mer_var;    /* echoed back; NULL: "" */
} paygate_bank_order;

/* The HTML form (tranData, merSignMsg, merCert) that sends the consumer's browser to the
 * bank's <gateway_url>/b2c/pay. It carries data-autosubmit="1" and a submit button: add a
 * script file that submits form[data-autosubmit] (no inline script, so a strict CSP works)
 * and allow the bank's origin in your CSP form-action. Heap string, free() it; NULL on
 * error (err filled). */
char *paygate_bank_order_form(paygate_bank *b, const paygate_bank_order *o, paygate_error *err);

typedef struct {
    char order_id[72];
    char tran_serial_no[48];
    char notify_id[48]; /* the same on every retry: de-duplicate by it */
    char status[16];    /* "SUCCESS" */
    int64_t amount;
    char currency[4];
    char mer_var[260];
} paygate_bank_notification;

/* Verifies a bank notification: body is the raw x-www-form-urlencoded POST body (notifyData,
 * signMsg, merVAR). Checks the bank's signature and that it is for your merID and, when
 * expected_amount > 0, for that amount. Answer HTTP 200 after storing the outcome. */
int paygate_bank_notify_verify(paygate_bank *b, const void *body, size_t len,
                               int64_t expected_amount, paygate_bank_notification *out,
                               paygate_error *err);

/* POST /api/v1/refunds at the bank (signed with your certificate's key, answer verified).
 * Idempotent by refund_id. */
int paygate_bank_refund(paygate_bank *b, const char *order_id, const char *refund_id,
                        int64_t amount, paygate_error *err);

typedef struct {
    char order_id[72];
    char status[16]; /* CREATED (not paid), PAID, REFUNDED (fully) */
    int64_t amount;
    int64_t refunded;
    char currency[4];
    char tran_serial_no[48];
} paygate_bank_order_status;

/* POST /api/v1/orders/query at the bank (signed, answer verified): the query fallback for a
 * late bank notification. */
int paygate_bank_query(paygate_bank *b, const char *order_id, paygate_bank_order_status *out,
                       paygate_error *err);

#ifdef __cplusplus
}
#endif
#endif
