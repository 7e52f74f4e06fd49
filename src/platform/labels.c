/* What people read instead of the platform's codes: human names of trade states, payment
 * methods, wallet movements, withdrawal states and banks, in the request's language
 * (docs/i18n.md). The codes stay in the pages as data-* attributes for scripts. */
#include "platform/connector.h"
#include "platform/platform.h"

#include "http/server.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <string.h>

struct label {
    const char *code;
    struct pay_i18n_msg text;
};

static const char *find(struct pay_http_request *req, const struct label *l, size_t n,
                        const char *code)
{
    for (size_t i = 0; code && i < n; i++)
        if (strcmp(l[i].code, code) == 0)
            return pay_http_req_msg(req, &l[i].text);
    return code ? code : "";
}

const char *pay_platform_state_text(struct pay_http_request *req, const char *state)
{
    static const struct label l[] = {
        {PAY_TRADE_WAIT_BUYER_PAY, NC_("trade state", "Awaiting payment")},
        {PAY_TRADE_SUCCESS, NC_("trade state", "Paid")},
        {PAY_TRADE_CLOSED, NC_("trade state", "Closed")},
        {PAY_TRADE_FINISHED, NC_("trade state", "Completed")},
        {PAY_TRADE_WAIT_SEND, NC_("trade state", "Paid, awaiting shipment")},
        {PAY_TRADE_WAIT_CONFIRM, NC_("trade state", "Shipped, awaiting receipt")},
    };
    return find(req, l, sizeof l / sizeof l[0], state);
}

const char *pay_platform_request_text(struct pay_http_request *req, const char *status)
{
    static const struct label l[] = {
        {PAY_RR_WAIT_MERCHANT, NC_("refund request", "Waiting for the merchant")},
        {PAY_RR_WAIT_OPERATOR, NC_("refund request", "Waiting for the platform's decision")},
        {PAY_RR_APPROVED, NC_("refund request", "Approved: refunded")},
        {PAY_RR_REJECTED, NC_("refund request", "Rejected")},
    };
    return find(req, l, sizeof l / sizeof l[0], status);
}

const char *pay_platform_method_text(struct pay_http_request *req, const char *method)
{
    static const struct label l[] = {
        {"wallet", NC_("payment method", "Wallet balance")},
        {"card", NC_("payment method", "Bound bank card")},
        {"bank", NC_("payment method", "Online banking")},
        {"qr", NC_("payment method", "QR code")},
        {"chain", NC_("payment method", "Stablecoin on chain")},
    };
    return find(req, l, sizeof l / sizeof l[0], method);
}

const char *pay_platform_movement_text(struct pay_http_request *req, const char *kind)
{
    static const struct label l[] = {
        {"payment", NC_("wallet movement", "Payment")},
        {"top-up", NC_("wallet movement", "Top-up")},
        {"withdrawal", NC_("wallet movement", "Withdrawal")},
        {"sandbox credit", NC_("wallet movement", "Sandbox credit")},
        {"refund", NC_("wallet movement", "Refund")},
        {"held", NC_("wallet movement", "Held for a safety check")},
        {"released", NC_("wallet movement", "Hold released")},
    };
    return find(req, l, sizeof l / sizeof l[0], kind);
}

const char *pay_platform_withdrawal_text(struct pay_http_request *req, const char *status)
{
    static const struct label l[] = {
        {"pending", NC_("withdrawal", "Processing")},
        {"succeeded", NC_("withdrawal", "Done")},
        {"failed", NC_("withdrawal", "Failed; the money is back in your wallet")},
    };
    return find(req, l, sizeof l / sizeof l[0], status);
}

const char *pay_platform_bank_text(const struct pay_platform *p, struct pay_http_request *req,
                                   const char *code)
{
    const struct pay_platform_bank *b = pay_platform_bank_find(p, code ? code : "");
    if (b == NULL)
        return code ? code : "";
    bool en = strcmp(pay_i18n_tag(pay_http_req_lang(req)), "en") == 0;
    return en && b->name_en[0] ? b->name_en : b->name;
}

const char *pay_platform_error_for(struct pay_http_request *req, enum pay_err e,
                                   const struct pay_error *err)
{
    if (e == PAY_ERR_OK)
        return NULL;
    struct pay_error copy = {.code = e};
    if (err != NULL && err->code == e)
        copy = *err;
    return pay_http_req_error_text(req, &copy);
}

json_t *pay_platform_notice(const char *key, const char *text)
{
    return json_pack("{s:s, s:s}", "key", key, "text", text);
}

enum pay_err pay_platform_locked_error(struct pay_error *err, const char *field, bool sms)
{
    char attempts[24], minutes[24];
    snprintf(attempts, sizeof attempts, "%d", PAY_LOCKOUT_ATTEMPTS);
    snprintf(minutes, sizeof minutes, "%d", PAY_LOCKOUT_DURATION_S / 60);
    return sms ? pay_i18n_error_set(err, PAY_ERR_LOCKED, field,
                                    "locked after {attempts} wrong codes; try again in {minutes} "
                                    "minutes",
                                    "attempts", attempts, "minutes", minutes, NULL)
               : pay_i18n_error_set(err, PAY_ERR_LOCKED, field,
                                    "locked after {attempts} failed attempts; try again in "
                                    "{minutes} minutes",
                                    "attempts", attempts, "minutes", minutes, NULL);
}
