/* Bank connectors: how the platform talks to each bank it integrates. A connector builds the
 * signed B2C order form the consumer's browser posts to the bank, checks the bank's signed
 * payment notification, and calls the bank's signed APIs (refund). A bank that speaks another
 * protocol is one new connector_<protocol>.c with a `struct pay_platform_connector`. */
#ifndef PAY_PLATFORM_CONNECTOR_H
#define PAY_PLATFORM_CONNECTOR_H

#include "core/errors.h"
#include "core/limits.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct pay_buf;
struct pay_form;
struct pay_platform_bank;

/* A payment the bank reports (already verified). */
struct pay_bank_notice {
    char order_id[PAY_MERCHANT_ID_FIELD_MAX + 1];
    char serial[PAY_MERCHANT_ID_FIELD_MAX + 1]; /* the bank's transaction serial */
    char notify_id[PAY_MERCHANT_ID_FIELD_MAX + 1];
    int64_t amount_minor;
    char currency[4];
    bool success;
};

struct pay_platform_connector {
    const char *protocol; /* "paygate-bank" */
    /* The browser form for order_id: action URL (caller buffer PAY_URL_MAX + 1) and fields as
     * a JSON object name -> string (new reference). */
    enum pay_err (*gateway_form)(const struct pay_platform_bank *b, const char *order_id,
                                 int64_t amount_minor, const char *currency, const char *goods,
                                 const char *notify_url, const char *return_url,
                                 const char *mer_var, char *action, json_t **fields,
                                 struct pay_error *err);
    /* Verifies and decodes a notification POSTed by the bank. */
    enum pay_err (*parse_notice)(const struct pay_platform_bank *b, const struct pay_form *f,
                                 struct pay_bank_notice *out, struct pay_error *err);
    /* Refunds amount of order_id, idempotent by refund_id. OK only when the bank confirms. */
    enum pay_err (*refund)(const struct pay_platform_bank *b, const char *order_id,
                           const char *refund_id, int64_t amount_minor, struct pay_error *err);
    /* Card binding: the bank checks the card and sends an SMS code to its phone; out receives
     * the verification id (PAY_MERCHANT_ID_FIELD_MAX + 1). */
    enum pay_err (*card_verify)(const struct pay_platform_bank *b, const char *card_no,
                                const char *expiry, const char *cvv2, char *verification_id,
                                struct pay_error *err);
    /* ... and the code confirms it: an agreement token (PAY_MERCHANT_ID_FIELD_MAX + 1), the
     * card's BIN (7) and last four (5). */
    enum pay_err (*card_confirm)(const struct pay_platform_bank *b, const char *verification_id,
                                 const char *sms_code, char *token, char *bin, char *last4,
                                 struct pay_error *err);
    /* Debits the bound card (synchronous); idempotent by order_id. */
    enum pay_err (*agreement_debit)(const struct pay_platform_bank *b, const char *token,
                                    const char *order_id, int64_t amount_minor,
                                    const char *currency, const char *goods, struct pay_error *err);
    /* Pays amount from our reserve account at this bank to the card of a bound card's
     * agreement token, or (withdrawals recorded by older versions only) to to_account: exactly
     * one of the two is given. Idempotent by transfer_id. */
    enum pay_err (*transfer)(const struct pay_platform_bank *b, const char *transfer_id,
                             const char *agreement_token, const char *to_account,
                             int64_t amount_minor, const char *currency, struct pay_error *err);
    /* Asks the bank, as a witness of the payment log, to co-sign a tree head (docs/receipts.md,
     * "Witnesses"): req is the body (consumed); *out the bank's answer object (caller decrefs).
     * LOG_INCONSISTENT when the bank refuses the head as rewriting history. */
    enum pay_err (*witness_cosign)(const struct pay_platform_bank *b, json_t *req, json_t **out,
                                   struct pay_error *err);
    /* The bank's statement file of our reserve account for date (YYYY-MM-DD, the bank's day)
     * into out, as the bank signed it (docs/reconciliation.md); not yet checked. */
    enum pay_err (*statement_file)(const struct pay_platform_bank *b, const char *date,
                                   struct pay_buf *out, struct pay_error *err);
};

/* A bank the platform integrates ([bank.<code>] in the INI file). */
struct pay_platform_bank {
    char code[17];
    char name[64];                     /* shown to consumers: 中国工商银行 */
    char name_en[64];                  /* on English pages; "": name */
    char gateway_url[PAY_URL_MAX + 1]; /* base URL of the B2C gateway */
    char api_url[PAY_URL_MAX + 1];     /* base URL of the signed API */
    char mer_id[65];                   /* the platform's merchant id at this bank */
    char mer_acct[65];                 /* the platform's reserve account at this bank */
    char *key_pem;                     /* our merchant certificate's private key */
    char *cert_pem;                    /* our merchant certificate */
    char *bank_cert_pem;               /* the bank's signing certificate (checked against ca) */
    char *ca_pem;                      /* the bank's CA certificate */
    bool allow_private;                /* the bank's API on a loopback address (sandbox) */
    bool unionpay; /* a card network acquirer: the cashier's 银联卡支付 goes through it */
    const struct pay_platform_connector *conn;
};

extern const struct pay_platform_connector pay_connector_paygate_bank;

#endif
