/* Shared by the signed API's files (api.c, api_cards.c, statement_file.c): authentication of
 * the merchant and signed replies (api_call.c). */
#ifndef PAY_BANK_API_H
#define PAY_BANK_API_H

#include "bank/bank.h"
#include "crypto/sig.h"
#include "http/server.h"

#include <jansson.h>

/* One API call: the authenticated merchant and its JSON body. */
struct api_call {
    struct pay_http_request *req;
    struct pay_bank *b;
    struct pay_bank_merchant m;
    json_t *body; /* owned; NULL for GET */
};

/* Verifies the signature, the Content-Type of a body, and loads the merchant; on failure it
 * has answered. */
bool api_begin(struct pay_http_request *req, struct api_call *c);
void api_end(struct api_call *c);
/* The http framework's response signer (pay_http_sign_fn; ctx = the bank). */
void pay_bank_sign_answer(void *ctx, struct pay_http_request *req, int status, const void *body,
                          size_t len);
/* Answers (signed on their way out by pay_bank_sign_answer); they take ownership of j. */
void api_reply(struct api_call *c, int status, json_t *j);
void api_reply_bytes(struct api_call *c, int status, const char *type, const char *data,
                     size_t len);
void api_fail(struct api_call *c, const struct pay_error *e);
/* Body field helpers: a string of 1..max chars, or an integer amount 1..PAY_AMOUNT_MAX_MINOR. */
const char *api_str(struct api_call *c, const char *k, size_t max, struct pay_error *e);
bool api_amount(struct api_call *c, const char *k, int64_t *out, struct pay_error *e);

/* GET /api/v1/statement-file?date=YYYY-MM-DD (statement_file.c) */
enum pay_err pay_bank_statement_file_get(struct pay_http_request *req, struct pay_error *err);
enum pay_err api_cards_verify(struct pay_http_request *req, struct pay_error *err);
enum pay_err api_cards_confirm(struct pay_http_request *req, struct pay_error *err);
enum pay_err api_agreements_revoke(struct pay_http_request *req, struct pay_error *err);
enum pay_err api_agreements_debit(struct pay_http_request *req, struct pay_error *err);

#endif
