/* Shared by the issuer's files (net_issuer_msg.c: the frame of every message; net_issuer.c:
 * the financial messages; net_verify.c: the cardholder's verification for the online payment
 * page). Internal to src/bank. */
#ifndef PAY_BANK_NET_ISSUER_H
#define PAY_BANK_NET_ISSUER_H

#include "bank/bank.h"

struct pay_http_request;

/* One message from the switch while the issuer handles it. */
struct iss_msg {
    struct pay_bank *b;
    json_t *in; /* owned */
    /* fields (borrowed from in) */
    const char *mti, *proc, *acq, *trace, *orig, *rrn, *token, *method, *vid, *mer_name;
    int64_t amount;
    char fp[PAY_SHA256_HEX_LEN];
    struct pay_net_card data;  /* de2.sealed, opened */
    struct pay_bank_card card; /* the card it names */
    /* the answer */
    char *answer; /* heap */
    char rc[PAY_NET_RC_LEN];
};

/* net_issuer_msg.c: verifies the switch's signature and reads the body; on failure it has
 * answered. */
bool iss_begin(struct pay_http_request *req, struct iss_msg *m);
/* Reads the common fields (mti, de3, de4, de11, de32, de49, de90 unless an authorization) and
 * for an authorization de61 and the card data. */
enum pay_err iss_parse(struct iss_msg *m, const char *mti, const char *proc, struct pay_error *e);
/* Answers m->answer (or the error) and frees what m holds. */
void iss_end(struct pay_http_request *req, struct iss_msg *m, enum pay_err rc,
             const struct pay_error *e);
/* Sets m->answer and m->rc. */
void iss_answer(struct iss_msg *m, const char *rc, const char *auth_code, const char *text);
/* Answers and keeps the row (state: an authorization's, else ""). */
enum pay_err iss_store(struct pay_store_tx *tx, struct iss_msg *m, const char *state,
                       const char *rc, const char *auth_code, const char *text,
                       struct pay_error *e);

/* The card data (m->data) against the card (m->card): expiry (YYMM against MM/YY), CVN2 and,
 * when given, the phone, each try counted on the card's lock before it is checked. *rc: ""
 * when right, else the decline (N7, 75 once the card locks). */
enum pay_err iss_check_card_data(struct pay_store_tx *tx, struct iss_msg *m, int64_t now,
                                 const char **rc, struct pay_error *e);
/* The decline of a card that cannot pay now (*rc "" when it can): 75 locked, 54 expired. */
enum pay_err iss_card_usable(struct iss_msg *m, int64_t now, const char **rc, struct pay_error *e);

/* net_verify.c: an SMS-verified authorization's card (its verification, m->vid, must be
 * verified, unused, for this token, amount and acquirer); *rc "" or the decline. */
enum pay_err iss_verified_card(struct pay_store_tx *tx, struct iss_msg *m, int64_t now,
                               const char **rc, struct pay_error *e);
/* ... and the verification is used by the approved authorization. */
enum pay_err iss_mark_verification_used(struct pay_store_tx *tx, struct iss_msg *m,
                                        struct pay_error *e);
/* POST /net/v1/issuer/verifications and .../verifications/confirm (the switch's page). */
enum pay_err iss_verify_handler(struct pay_http_request *req, struct pay_error *err);
enum pay_err iss_confirm_handler(struct pay_http_request *req, struct pay_error *err);

#endif
