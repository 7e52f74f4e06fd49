/* Internals of the open API shared by api.c (request phases) and the endpoint files
 * (api_trades.c): one call's state, the endpoint signature and the route table entry. */
#ifndef PAY_PLATFORM_API_H
#define PAY_PLATFORM_API_H

#include "platform/platform.h"

struct pay_http_request;

/* One authenticated API call. Strings borrowed from the request. */
struct api_call {
    struct pay_platform *p;
    struct pay_http_request *req;
    char merchant_id[PAY_PLATFORM_MERCHANT_ID_MAX + 1]; /* the authenticated merchant */
    int64_t fee_bp;
    char notify_hosts[PAY_PLATFORM_NOTIFY_HOSTS_TEXT_MAX + 1];
    bool merchant_read;           /* the signature's key look-up read the merchant (fields above) */
    bool merchant_active;         /* its status then */
    char target[PAY_URL_MAX + 1]; /* what the signature covers */
    const char *query_value;      /* the route's query parameter, if any */
    const char *idem_key;
    const char *body;
    size_t body_len;
    json_t *json; /* POST body, owned by api.c */
    void *op;     /* POST: what prepare made of the request (in the request's arena) */
    bool keep;    /* POST apply: its error answer keeps the writes made before it */
    bool wake;    /* POST apply: the notifier has a new outbox row */
};

/* A GET endpoint: fills *status (default 200) and *out (a new reference) and returns OK, or
 * returns an error with err filled. One that answered by itself (a CSV bill) returns OK with
 * *out NULL and *status API_ANSWERED. */
#define API_ANSWERED 0
typedef enum pay_err (*api_op)(struct api_call *c, int *status, json_t **out,
                               struct pay_error *err);

/* A POST endpoint, in two parts. prepare checks the path and the body and makes what apply
 * needs (ids, parsed fields) outside any transaction; it writes nothing and may not block.
 * apply runs inside the request's one committer command, after the Idempotency-Key check and
 * before its answer is stored: it makes the writes and fills *status and *out like an
 * api_op, or returns an error (all its writes undone, unless it sets c->keep). It may run
 * more than once (a retried batch): it must not change what prepare made. */
typedef enum pay_err (*api_prepare)(struct api_call *c, struct pay_error *err);
typedef enum pay_err (*api_apply)(struct api_call *c, struct pay_store_tx *tx, int *status,
                                  json_t **out, struct pay_error *err);

/* An endpoint's definition: the argument its route hands pay_platform_api_entry (api_trades.c's
 * table makes both with API_GET / API_POST, so a GET has an op and a POST prepare and apply). */
struct api_op_def {
    api_op op;               /* GET */
    const char *query_param; /* GET by merchant key: the one query parameter signed */
    api_prepare prepare;     /* POST */
    api_apply apply;         /* POST */
};

/* The SMS step-up of an agreement debit (api_stepup.c; docs/risk.md "Step-up"): a code sent to
 * the consumer of trade_id inside the debit's tx, answered RISK_STEP_UP saying so; and POST
 * /v1/trades/{trade_id}/confirm, the code the buyer typed relayed by the merchant. */
enum pay_err pay_platform_api_stepup_send_tx(struct api_call *c, struct pay_store_tx *tx,
                                             const char *trade_id, const char *consumer_id,
                                             struct pay_error *err);
enum pay_err pay_platform_api_confirm_prepare(struct api_call *c, struct pay_error *err);
enum pay_err pay_platform_api_confirm_apply(struct api_call *c, struct pay_store_tx *tx,
                                            int *status, json_t **out, struct pay_error *err);

/* Every endpoint's handler (api.c): runs the request phases above for the route's definition
 * (its pay_http_req_ctx is a struct pay_platform_route_ctx whose arg is the api_op_def). */
enum pay_err pay_platform_api_entry(struct pay_http_request *req, struct pay_error *err);

#endif
