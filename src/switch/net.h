/* The card network's message layer (docs/switch.md), shared by the switch and its member
 * banks: the ISO 8583-named JSON fields and their checks, the response codes (data element
 * 39), card data sealed to a recipient, and signed calls between members and the switch
 * (docs/protocol.md: every request and every answer signed, PAYGATE-RSA-SHA256, keyId = the
 * member's or the switch's code). */
#ifndef PAY_SWITCH_NET_H
#define PAY_SWITCH_NET_H

#include "core/errors.h"
#include "core/limits.h"
#include "crypto/seal.h"
#include "crypto/sig.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pay_http_request;

#define PAY_NET_RC_LEN   3  /* two characters + NUL */
#define PAY_NET_DATE_LEN 11 /* "2026-11-25" + NUL */

/* Message type indicators (MTI). */
#define PAY_NET_MTI_AUTH          "0100"
#define PAY_NET_MTI_AUTH_RESP     "0110"
#define PAY_NET_MTI_REFUND        "0200"
#define PAY_NET_MTI_REFUND_RESP   "0210"
#define PAY_NET_MTI_CAPTURE       "0220"
#define PAY_NET_MTI_CAPTURE_RESP  "0230"
#define PAY_NET_MTI_REVERSAL      "0400"
#define PAY_NET_MTI_REVERSAL_RESP "0410"
#define PAY_NET_MTI_NETMGMT       "0800"
#define PAY_NET_MTI_NETMGMT_RESP  "0810"

/* Processing codes (data element 3). */
#define PAY_NET_PROC_PURCHASE "000000"
#define PAY_NET_PROC_REFUND   "200000"
#define PAY_NET_PROC_VERIFY   "330000"

/* --- response codes (data element 39) -------------------------------------------------- */

struct pay_net_rc {
    const char *code; /* "00" */
    const char *text; /* "approved" */
};
/* The table of every code paygate answers (docs/switch.md lists the same). */
const struct pay_net_rc *pay_net_rc_table(size_t *n);
/* The text of a code, NULL when it is not one of ours. */
const char *pay_net_rc_text(const char *code);

/* --- fields ------------------------------------------------------------------------------- */

/* True when s is exactly PAY_NET_TRACE_LEN digits (data element 11). */
bool pay_net_trace_valid(const char *s);
/* True when s is a member or switch code, [a-z0-9]{2,16}. */
bool pay_net_code_valid(const char *s);
/* A string field: 1..max characters; FIELD_MISSING / FIELD_INVALID naming the field (de11). */
const char *pay_net_str(const json_t *m, const char *k, size_t max, struct pay_error *e);
/* A trace field (de11, de90): PAY_NET_TRACE_LEN digits. */
const char *pay_net_trace(const json_t *m, const char *k, struct pay_error *e);
/* Data element 4: an integer of minor units, 1..PAY_AMOUNT_MAX_MINOR (AMOUNT_INVALID). */
bool pay_net_amount(const json_t *m, const char *k, int64_t *out, struct pay_error *e);
/* The fields of a message that make it that transaction (mti, de3, de4, de49, de42, de90, the
 * token and the verification id), hashed: a repeat with the same trace must have the same
 * fingerprint, or it is another message under a used trace (response code 94). */
void pay_net_fingerprint(const json_t *m, char out[PAY_SHA256_HEX_LEN]);
/* The business date (settlement date, data element 15) of a business time: "YYYY-MM-DD" in
 * UTC, the day the switch closes at its cut-off (midnight UTC). */
void pay_net_date(int64_t ms, char out[PAY_NET_DATE_LEN]);
/* True when s is a date "YYYY-MM-DD" that pay_net_date could write; *day_ms its midnight. */
bool pay_net_date_parse(const char *s, int64_t *day_ms);

/* What one record of a clearing file (docs/switch.md, "Clearing files") does to its member's
 * position: an acquired capture amount - interchange - fee, an issued one interchange - amount
 * - fee, an acquired refund -amount, an issued one +amount. The values are a cleared message's
 * (0 < amount <= PAY_AMOUNT_MAX_MINOR, fees within it: asserted). */
int64_t pay_net_clearing_net(bool acquired, bool refund, int64_t amount, int64_t interchange,
                             int64_t fee);

/* --- card data (data element 2, sealed) -------------------------------------------------- */

/* Card data as it travels sealed: the number, expiry YYMM (data element 14), CVN2, and for
 * the online payment page the cardholder's name and phone. Caller-owned; wipe after use. */
struct pay_net_card {
    char pan[20];
    char exp[5];  /* YYMM; "" when not given */
    char cvn2[4]; /* "" when not given */
    char name[65];
    char phone[24];
};
void pay_net_card_wipe(struct pay_net_card *c);
/* Seals c to pk under context (e.g. "de2:icbc:000000000001") into out (a heap string, caller
 * frees). INTERNAL on failure. */
enum pay_err pay_net_card_seal(const uint8_t pk[PAY_SEAL_PK_LEN], const char *context,
                               const struct pay_net_card *c, char **out, struct pay_error *e);
/* Opens sealed card data with k under context; FIELD_INVALID (field de2) when it does not open
 * or is not card data (a number of 13-19 digits with a right Luhn digit, an expiry YYMM). */
enum pay_err pay_net_card_open(const struct pay_seal_key *k, const char *context,
                               const char *sealed, struct pay_net_card *c, struct pay_error *e);
/* Luhn check of a 13-19 digit number. */
bool pay_net_luhn_valid(const char *pan);

/* The card data a shopper typed on a page: the number (spaces and dashes allowed, Luhn
 * checked), the expiry "MM/YY" (or MMYY) into YYMM, the 3-digit CVN2; into c. NULL when it is
 * all right, else the message (a msgid to translate) that says what is wrong; c is wiped by the
 * caller either way. */
const char *pay_net_card_read(const char *no, const char *exp, const char *cvn2,
                              struct pay_net_card *c);

/* --- signed calls -------------------------------------------------------------------------- */

/* The other side of a call and who we are to it. Strings borrowed. */
struct pay_net_peer {
    const char *base_url;          /* "http://127.0.0.1:8200" */
    const char *key_id;            /* our code: keyId of our requests */
    const struct pay_rsa_key *key; /* our private key */
    const char *peer_key_id;       /* the keyId the answer must be signed with */
    const char *peer_cert_pem;     /* the certificate its answers are checked with */
    long timeout_ms;               /* the whole call; 0: PAY_NET_CALL_TIMEOUT_MS */
    size_t response_max;           /* 0: PAY_CLIENT_RESPONSE_MAX */
    bool allow_private;            /* the peer on a loopback/private address (sandbox) */
};

/* Sends one signed request (POST with body, or GET when body is NULL) to base_url + path and
 * checks the signed answer. OK: *status and *answer (a JSON object, caller decrefs) for any
 * HTTP status (200 carries data element 39; 4xx the error object). UPSTREAM_TIMEOUT or
 * UPSTREAM_FAILED: no answer that can be trusted (not reached, nothing in time, unsigned,
 * badly signed, not JSON): what the card network calls "no answer". */
enum pay_err pay_net_call(const struct pay_net_peer *p, const char *path, const char *body,
                          long *status, json_t **answer, struct pay_error *e);

/* --- the serving side ---------------------------------------------------------------------- */

/* Checks a signed JSON request: the signature (v, our nonce cache), for a POST the
 * Content-Type and a JSON object body. OK: key_id holds the caller's code and *body the object
 * (NULL for a GET; caller decrefs). Otherwise the error to answer. */
enum pay_err pay_net_request_check(struct pay_http_request *req, const struct pay_sig_verifier *v,
                                   char key_id[PAY_SIG_KEY_ID_MAX + 1], json_t **body,
                                   struct pay_error *e);
/* Answers j (consumed) as compact JSON with status; signed on its way out by the server. */
void pay_net_reply(struct pay_http_request *req, int status, json_t *j);
/* Answers the same bytes as stored (a repeated message gets its first answer). */
void pay_net_reply_text(struct pay_http_request *req, const char *json_text);
/* Answers an error as {"error":{"code","message","field"}} with the registry's status. */
void pay_net_fail(struct pay_http_request *req, const struct pay_error *e);

/* A verifier's key look-up over one certificate (ctx: struct pay_net_cert_key): the peer whose
 * code is `code` and whose key is in cert_pem. */
struct pay_net_cert_key {
    const char *code;
    struct pay_rsa_key *key; /* the certificate's public key, loaded once */
};
enum pay_err pay_net_cert_key_lookup(void *ctx, const char *key_id, struct pay_sig_pubkey *out);

#endif
