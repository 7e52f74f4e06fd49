/* The SMS step-up of an agreement debit (docs/risk.md, "Step-up"; docs/api.md "POST
 * /v1/trades/{trade_id}/confirm"): the merchant's server debits, the buyer is not there, so a
 * step-up the rules ask for sends a one-time code to the consumer's phone and the answer says
 * so (401 RISK_STEP_UP); the merchant relays the code the buyer typed, signed like every call,
 * and the right code has the debit judged again with the step-up satisfied. Wrong codes count
 * towards the lock of the consumer's codes exactly as on the cashier (the try reserved before
 * the code is checked: issue 9), and a code is used once and only for its trade. */
#include "platform/api.h"

#include "core/buf.h"
#include "crypto/ids.h"
#include "crypto/password.h"
#include "http/server.h"

#include <stdio.h>
#include <string.h>

/* The purpose of a trade's step-up codes: the cashier's too (cashier.c), one lock for both. */
static void purpose_of(const char *trade_id, char out[PAY_ID_MAX + 8])
{
    snprintf(out, PAY_ID_MAX + 8, "stepup:%s", trade_id);
}

enum pay_err pay_platform_api_stepup_send_tx(struct api_call *c, struct pay_store_tx *tx,
                                             const char *trade_id, const char *consumer_id,
                                             struct pay_error *err)
{
    char login[PAY_PLATFORM_LOGIN_MAX + 1] = "", purpose[PAY_ID_MAX + 8], challenge[PAY_ID_MAX];
    struct pay_store_stmt *st =
        pay_store_query(tx, err, "SELECT login FROM pf_consumers WHERE id = $1", "t", consumer_id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    if (rc == 1)
        pay_store_col_copy(st, 0, login, sizeof login);
    pay_store_done(st);
    if (rc != 1)
        return rc < 0 ? err->code : pay_error_set(err, PAY_ERR_INTERNAL, "", "no consumer");
    purpose_of(trade_id, purpose);
    enum pay_err e = pay_platform_sms_challenge_tx(c->p, tx, c->req, consumer_id, login, purpose,
                                                   challenge, err);
    if (e != PAY_ERR_OK)
        return e;
    return pay_error_set(err, PAY_ERR_RISK_STEP_UP, "risk",
                         "a code was sent to the consumer's phone: relay the code they type with"
                         " POST /v1/trades/%s/confirm",
                         trade_id);
}

/* The consumer a trade's step-up codes went to, "" when none ever did. */
static enum pay_err stepup_consumer_tx(struct pay_store_tx *tx, const char *purpose,
                                       char consumer_id[PAY_ID_MAX], struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT consumer_id FROM pf_sms_codes WHERE purpose = $1 ORDER BY created_ms DESC LIMIT 1",
        "t", purpose);
    if (!st)
        return err->code;
    consumer_id[0] = '\0';
    int rc = pay_store_step(st, err);
    if (rc == 1)
        pay_store_col_copy(st, 0, consumer_id, PAY_ID_MAX);
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

/* The consumer's active agreement with the merchant (one per pair): AGREEMENT_INVALID when it
 * was revoked meanwhile. */
static enum pay_err agreement_of_tx(struct pay_store_tx *tx, const char *consumer_id,
                                    const char *merchant_id, char agreement_no[PAY_ID_MAX],
                                    struct pay_error *err)
{
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT id FROM pf_agreements WHERE consumer_id = $1 AND merchant_id = $2"
                        " AND status = 'active'",
                        "tt", consumer_id, merchant_id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    if (rc == 1)
        pay_store_col_copy(st, 0, agreement_no, PAY_ID_MAX);
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    return rc == 1 ? PAY_ERR_OK
                   : pay_error_set(err, PAY_ERR_AGREEMENT_INVALID, "agreement_no", NULL);
}

struct confirm_op {
    const char *trade_id;
    const char *sms_code; /* NULL: judge the debit again (a step-up sends a new code) */
};

enum pay_err pay_platform_api_confirm_prepare(struct api_call *c, struct pay_error *err)
{
    static const char *const keys[] = {"sms_code", NULL};
    struct confirm_op *op = pay_http_req_alloc(c->req, sizeof *op);
    if (!op)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    memset(op, 0, sizeof *op);
    c->op = op;
    op->trade_id = pay_http_req_param(c->req, "trade_id");
    if (!op->trade_id || !pay_id_valid(op->trade_id, "tr"))
        return pay_error_set(err, PAY_ERR_TRADE_NOT_FOUND, "trade_id", NULL);
    enum pay_err e = pay_platform_json_only_fields(c->json, keys, "", err);
    json_t *v = json_object_get(c->json, "sms_code");
    if (e != PAY_ERR_OK || !v)
        return e;
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    size_t n = strlen(s);
    if (n != PAY_OTP_DIGITS || strspn(s, "0123456789") != n)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "sms_code", "the %d digits of the code",
                             PAY_OTP_DIGITS);
    op->sms_code = s;
    return PAY_ERR_OK;
}

/* The code's check: right, the debit may be judged again with the step-up satisfied; wrong,
 * CREDENTIALS_INVALID or LOCKED (field sms_code), the counted try kept. */
static enum pay_err check_code(struct api_call *c, struct pay_store_tx *tx, const char *consumer,
                               const char *purpose, const char *code, struct pay_error *err)
{
    bool counted = false;
    enum pay_err e = pay_platform_sms_verify_tx(c->p, tx, consumer, purpose, code, &counted, err);
    c->keep = counted;
    if (e != PAY_ERR_OK && strcmp(err->field, "smsCode") == 0)
        pay_str_copy(err->field, sizeof err->field, "sms_code"); /* the API's name for it */
    return e;
}

enum pay_err pay_platform_api_confirm_apply(struct api_call *c, struct pay_store_tx *tx,
                                            int *status, json_t **out, struct pay_error *err)
{
    const struct confirm_op *op = c->op;
    char purpose[PAY_ID_MAX + 8], consumer[PAY_ID_MAX], agreement[PAY_ID_MAX];
    struct pay_platform_trade t;
    c->keep = false;
    purpose_of(op->trade_id, purpose);
    enum pay_err e = pay_platform_trade_load(tx, c->merchant_id, op->trade_id, NULL, &t, err);
    if (e == PAY_ERR_OK &&
        (strcmp(t.product, "agreement") != 0 || strcmp(t.state, PAY_TRADE_WAIT_BUYER_PAY) != 0))
        e = pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "trade_id",
                          "only an unpaid agreement debit is confirmed (trade is %s)", t.state);
    if (e == PAY_ERR_OK)
        e = stepup_consumer_tx(tx, purpose, consumer, err);
    if (e == PAY_ERR_OK && !consumer[0])
        e = pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "trade_id",
                          "no step-up was asked for this trade");
    if (e == PAY_ERR_OK && op->sms_code)
        e = check_code(c, tx, consumer, purpose, op->sms_code, err);
    if (e == PAY_ERR_OK)
        e = agreement_of_tx(tx, consumer, c->merchant_id, agreement, err);
    if (e != PAY_ERR_OK)
        return e;
    struct pay_platform_payment pm = {
        "agreement", PAY_PF_ACCT_WALLET, consumer, agreement, false, NULL, NULL};
    struct pay_risk_attempt a = {
        .trade_id = t.id, .method = "agreement", .stepped_up = op->sms_code != NULL};
    a.value[PAY_RISK_CONSUMER] = consumer;
    e = pay_platform_risk_pay_tx(c->p, tx, &a, &pm, err);
    if (e == PAY_ERR_RISK_STEP_UP) /* no code relayed: a new one for the buyer */
        e = pay_platform_api_stepup_send_tx(c, tx, t.id, consumer, err);
    if (pay_platform_is_refusal(e)) {
        c->keep = true; /* the attempt recorded, the code used or the new one sent */
        c->wake = pay_platform_risk_notifies(e); /* held for review: trade.review */
        return e;
    }
    if (e == PAY_ERR_OK)
        e = pay_platform_trade_load(tx, c->merchant_id, t.id, NULL, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    c->wake = true;
    *out = pay_platform_trade_json(&t);
    return PAY_ERR_OK;
}
