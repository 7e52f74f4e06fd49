/* Endpoints of the open API (docs/api.md): trades (create, get, query by out_trade_no,
 * close), refunds (create, get, query by out_refund_no) and notification attempts. Strict
 * validation: unknown fields, wrong types and bad values are refused with the field named. */
#include "platform/api.h"

#include "crypto/ids.h"
#include "core/buf.h"
#include "core/money.h"
#include "core/timeutil.h"
#include "http/codec.h"
#include "http/server.h"

#include <stdio.h>
#include <string.h>

/* A string field: absent -> *out = NULL (FIELD_MISSING if required). Control characters are
 * refused; length is in bytes. */
static enum pay_err str_field(json_t *o, const char *name, const char *field, bool required,
                              size_t max, const char **out, struct pay_error *err)
{
    json_t *v = json_object_get(o, name);
    *out = NULL;
    if (!v)
        return required ? pay_error_set(err, PAY_ERR_FIELD_MISSING, field, NULL) : PAY_ERR_OK;
    if (!json_is_string(v))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, field, "must be a string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n > max)
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, field, "at most %zu bytes", max);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return pay_error_set(err, PAY_ERR_ENCODING_INVALID, field, NULL);
    if (required && n == 0)
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, field, "must not be empty");
    *out = s;
    return PAY_ERR_OK;
}

/* "amount": {"value": "12.30", "currency": "CNY"}, positive, at most PAY_AMOUNT_MAX_MINOR. */
static enum pay_err amount_field(json_t *o, int64_t *minor, char currency[4], struct pay_error *err)
{
    static const char *const keys[] = {"value", "currency", NULL};
    json_t *a = json_object_get(o, "amount");
    if (!a)
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "amount", NULL);
    if (!json_is_object(a))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "amount",
                             "must be {\"value\": \"12.30\", \"currency\": \"CNY\"}");
    const char *value, *cur;
    enum pay_err e;
    json_t *v = json_object_get(a, "value");
    if ((e = pay_platform_json_only_fields(a, keys, "amount.", err)) != PAY_ERR_OK)
        return e;
    /* docs/api.md, "Money": value is never a number; a malformed value is AMOUNT_INVALID */
    if (v && !json_is_string(v))
        return pay_error_set(err, PAY_ERR_AMOUNT_INVALID, "amount.value",
                             "a decimal string such as \"12.30\", not a JSON %s",
                             json_is_number(v) ? "number" : "value of another type");
    /* optional here only so that "" is parsed, and refused as the money parser does
     * (docs/money.md: AMOUNT_INVALID), not as an empty string field */
    if ((e = str_field(a, "value", "amount.value", false, PAY_MONEY_TEXT_MAX, &value, err)) !=
            PAY_ERR_OK ||
        (e = str_field(a, "currency", "amount.currency", true, 3, &cur, err)) != PAY_ERR_OK)
        return e;
    if (value == NULL)
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "amount.value", NULL);
    if (pay_currency_lookup(cur) < 0)
        return pay_error_set(err, PAY_ERR_CURRENCY_UNKNOWN, "amount.currency", NULL);
    if ((e = pay_money_parse_amount(value, cur, "amount.value", minor, err)) != PAY_ERR_OK)
        return e;
    memcpy(currency, cur, 4);
    return PAY_ERR_OK;
}

/* notify_url: checked as every notify URL is (notify.c). */
static enum pay_err notify_url_check(struct api_call *c, const char *url, struct pay_error *err)
{
    return pay_platform_notify_url_check(c->p, c->notify_hosts, url, err);
}

static enum pay_err product_check(const char *product, struct pay_error *err)
{
    static const char *const ok[] = {"page", "mobile_page", "qr", "agreement", "escrow", NULL};
    for (size_t i = 0; ok[i]; i++)
        if (strcmp(product, ok[i]) == 0)
            return PAY_ERR_OK;
    return pay_error_set(err, PAY_ERR_FIELD_INVALID, "product",
                         "one of page, mobile_page, qr, agreement, escrow");
}

static enum pay_err create_parse(struct api_call *c, struct pay_platform_trade *t,
                                 struct pay_error *err)
{
    static const char *const keys[] = {"out_trade_no", "amount",     "subject", "body",
                                       "notify_url",   "return_url", "timeout", "product",
                                       "agreement_no", NULL};
    json_t *o = c->json;
    const char *otn, *subject, *body, *notify, *ret, *timeout, *product;
    enum pay_err e;
    if ((e = pay_platform_json_only_fields(o, keys, "", err)) != PAY_ERR_OK ||
        (e = str_field(o, "out_trade_no", "out_trade_no", true, PAY_MERCHANT_ID_FIELD_MAX, &otn,
                       err)) != PAY_ERR_OK ||
        (e = amount_field(o, &t->amount_minor, t->currency, err)) != PAY_ERR_OK ||
        (e = str_field(o, "subject", "subject", true, PAY_TEXT_FIELD_MAX, &subject, err)) !=
            PAY_ERR_OK ||
        (e = str_field(o, "body", "body", false, PAY_TEXT_FIELD_MAX, &body, err)) != PAY_ERR_OK ||
        (e = str_field(o, "notify_url", "notify_url", false, PAY_URL_MAX, &notify, err)) !=
            PAY_ERR_OK ||
        (e = str_field(o, "return_url", "return_url", false, PAY_URL_MAX, &ret, err)) !=
            PAY_ERR_OK ||
        (e = str_field(o, "timeout", "timeout", false, 16, &timeout, err)) != PAY_ERR_OK ||
        (e = str_field(o, "product", "product", false, 16, &product, err)) != PAY_ERR_OK)
        return e;
    if (!pay_platform_api_token_valid(otn, PAY_MERCHANT_ID_FIELD_MAX))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "out_trade_no",
                             "1-64 of A-Z a-z 0-9 _ - .");
    if (notify && (e = notify_url_check(c, notify, err)) != PAY_ERR_OK)
        return e;
    struct pay_url u;
    if (ret && (e = pay_url_parse(ret, "return_url", &u, err)) != PAY_ERR_OK)
        return e;
    if ((e = product_check(product ? product : "page", err)) != PAY_ERR_OK)
        return e;
    int64_t timeout_ms = c->p->set.trade_timeout_ms;
    if (timeout && pay_time_parse_duration_ms(timeout, &timeout_ms, err) != PAY_ERR_OK)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "timeout", "a duration such as 15m");
    if (timeout_ms < c->p->set.timeout_min_ms || timeout_ms > PAY_PLATFORM_TIMEOUT_MAX_MS)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "timeout", "between 1m and 15d");
    pay_str_copy(t->merchant_id, sizeof t->merchant_id, c->merchant_id);
    pay_str_copy(t->out_trade_no, sizeof t->out_trade_no, otn);
    pay_str_copy(t->subject, sizeof t->subject, subject);
    pay_str_copy(t->body, sizeof t->body, body ? body : "");
    pay_str_copy(t->notify_url, sizeof t->notify_url, notify ? notify : "");
    pay_str_copy(t->return_url, sizeof t->return_url, ret ? ret : "");
    pay_str_copy(t->product, sizeof t->product, product ? product : "page");
    t->expire_ms = timeout_ms; /* made absolute by pay_platform_trade_create */
    return PAY_ERR_OK;
}

static json_t *trade_out(struct api_call *c, const struct pay_platform_trade *t)
{
    json_t *o = pay_platform_trade_json(t);
    if (o && strcmp(t->state, PAY_TRADE_WAIT_BUYER_PAY) == 0)
        json_object_set_new(o, "cashier_url",
                            json_sprintf("%s/cashier/%s", c->p->set.public_url, t->id));
    if (o && strcmp(t->state, PAY_TRADE_WAIT_BUYER_PAY) == 0 && strcmp(t->product, "qr") == 0)
        json_object_set_new(o, "qr_url", json_sprintf("%s/m/pay/%s", c->p->set.public_url, t->id));
    return o;
}

/* POST /v1/trades: the trade parsed and given its id outside the command. */
struct create_op {
    struct pay_platform_trade t;
    const char *agreement_no; /* product agreement: paid from the consumer's wallet at once */
};

static enum pay_err prepare_trade_create(struct api_call *c, struct pay_error *err)
{
    struct create_op *op = pay_http_req_alloc(c->req, sizeof *op);
    if (!op)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    memset(op, 0, sizeof *op);
    enum pay_err e = create_parse(c, &op->t, err);
    bool agreement = e == PAY_ERR_OK && strcmp(op->t.product, "agreement") == 0;
    const char *ag = NULL;
    if (e == PAY_ERR_OK)
        e = str_field(c->json, "agreement_no", "agreement_no", agreement, PAY_ID_MAX - 1, &ag, err);
    if (e == PAY_ERR_OK && ag && !agreement)
        e = pay_error_set(err, PAY_ERR_FIELD_INVALID, "agreement_no",
                          "only with product agreement");
    if (e == PAY_ERR_OK)
        e = pay_platform_trade_prepare(&op->t, err);
    op->agreement_no = agreement ? ag : NULL;
    c->op = op;
    return e;
}

/* Server-to-server: paid from the consumer's wallet at once, if risk control allows it, in a
 * savepoint of its own. A refusal (risk, balance) leaves the trade open for the cashier and the
 * attempt recorded, and is the answer. */
static enum pay_err pay_by_agreement(struct api_call *c, struct pay_store_tx *tx,
                                     const struct create_op *op, const char *consumer,
                                     struct pay_error *err)
{
    struct pay_platform_payment pm = {
        "agreement", PAY_PF_ACCT_WALLET, consumer, op->agreement_no, false, NULL, NULL};
    struct pay_risk_attempt a = {.trade_id = op->t.id, .method = "agreement"};
    a.value[PAY_RISK_CONSUMER] = consumer;
    enum pay_err e = pay_platform_risk_pay_tx(c->p, tx, &a, &pm, err);
    if (e == PAY_ERR_RISK_STEP_UP) /* the buyer is not here: a code to their phone */
        e = pay_platform_api_stepup_send_tx(c, tx, op->t.id, consumer, err);
    c->keep = pay_platform_is_refusal(e);    /* the trade stays, open */
    c->wake = pay_platform_risk_notifies(e); /* paid, or held for review: the merchant is told */
    return e;
}

static enum pay_err apply_trade_create(struct api_call *c, struct pay_store_tx *tx, int *status,
                                       json_t **out, struct pay_error *err)
{
    const struct create_op *op = c->op;
    struct pay_platform_trade t = op->t;
    char consumer[PAY_ID_MAX] = "";
    enum pay_err e = PAY_ERR_OK;
    if (op->agreement_no)
        e = pay_platform_agreement_consumer_tx(tx, op->agreement_no, c->merchant_id, consumer, err);
    if (e == PAY_ERR_OK)
        e = pay_platform_trade_create_tx(c->p, tx, &t, err);
    if (e == PAY_ERR_OK && op->agreement_no &&
        (e = pay_by_agreement(c, tx, op, consumer, err)) == PAY_ERR_OK)
        e = pay_platform_trade_load(tx, c->merchant_id, t.id, NULL, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    *status = 201;
    *out = trade_out(c, &t);
    return PAY_ERR_OK;
}

static enum pay_err trade_id_param(struct api_call *c, const char **id, struct pay_error *err)
{
    *id = pay_http_req_param(c->req, "trade_id");
    if (!*id || !pay_id_valid(*id, "tr"))
        return pay_error_set(err, PAY_ERR_TRADE_NOT_FOUND, "trade_id", NULL);
    return PAY_ERR_OK;
}

static enum pay_err op_trade_get(struct api_call *c, int *status, json_t **out,
                                 struct pay_error *err)
{
    struct pay_platform_trade t;
    const char *id;
    enum pay_err e = trade_id_param(c, &id, err);
    if (e == PAY_ERR_OK)
        e = pay_platform_trade_get(c->p, c->merchant_id, id, NULL, &t, err);
    if (e == PAY_ERR_OK)
        *out = trade_out(c, &t);
    return e;
}

/* GET /v1/trades/{trade_id}/receipt: the paid trade's receipt (docs/receipts.md). */
static enum pay_err op_trade_receipt(struct api_call *c, int *status, json_t **out,
                                     struct pay_error *err)
{
    struct pay_platform_trade t;
    const char *id;
    enum pay_err e = trade_id_param(c, &id, err);
    if (e == PAY_ERR_OK) /* the merchant's own trade: another's is TRADE_NOT_FOUND */
        e = pay_platform_trade_get(c->p, c->merchant_id, id, NULL, &t, err);
    if (e == PAY_ERR_OK)
        e = pay_platform_receipt_json(c->p, t.id, out, err);
    return e;
}

static enum pay_err op_trade_query(struct api_call *c, int *status, json_t **out,
                                   struct pay_error *err)
{
    struct pay_platform_trade t;
    enum pay_err e = pay_platform_trade_get(c->p, c->merchant_id, NULL, c->query_value, &t, err);
    if (e == PAY_ERR_OK)
        *out = trade_out(c, &t);
    return e;
}

/* POST /v1/trades/{trade_id}/close */
static enum pay_err prepare_trade_close(struct api_call *c, struct pay_error *err)
{
    static const char *const keys[] = {NULL};
    const char *id;
    enum pay_err e = trade_id_param(c, &id, err);
    if (e == PAY_ERR_OK)
        e = pay_platform_json_only_fields(c->json, keys, "", err);
    c->op = (void *)id;
    return e;
}

static enum pay_err apply_trade_close(struct api_call *c, struct pay_store_tx *tx, int *status,
                                      json_t **out, struct pay_error *err)
{
    const char *id = c->op;
    struct pay_platform_trade t;
    enum pay_err e = pay_platform_trade_close_tx(c->p, tx, c->merchant_id, id, "closed", err);
    if (e == PAY_ERR_OK)
        e = pay_platform_trade_load(tx, c->merchant_id, id, NULL, &t, err);
    if (e == PAY_ERR_OK)
        *out = trade_out(c, &t);
    return e;
}

/* POST /v1/trades/{trade_id}/refunds: parsed and given its id outside the command. */
static enum pay_err prepare_refund_create(struct api_call *c, struct pay_error *err)
{
    static const char *const keys[] = {"out_refund_no", "amount", "reason", NULL};
    struct pay_platform_refund *r = pay_http_req_alloc(c->req, sizeof *r);
    if (!r)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    memset(r, 0, sizeof *r);
    const char *id, *orn, *reason;
    enum pay_err e;
    if ((e = trade_id_param(c, &id, err)) != PAY_ERR_OK ||
        (e = pay_platform_json_only_fields(c->json, keys, "", err)) != PAY_ERR_OK ||
        (e = str_field(c->json, "out_refund_no", "out_refund_no", true, PAY_MERCHANT_ID_FIELD_MAX,
                       &orn, err)) != PAY_ERR_OK ||
        (e = amount_field(c->json, &r->amount_minor, r->currency, err)) != PAY_ERR_OK ||
        (e = str_field(c->json, "reason", "reason", false, PAY_TEXT_FIELD_MAX, &reason, err)) !=
            PAY_ERR_OK)
        return e;
    if (!pay_platform_api_token_valid(orn, PAY_MERCHANT_ID_FIELD_MAX))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "out_refund_no",
                             "1-64 of A-Z a-z 0-9 _ - .");
    pay_str_copy(r->trade_id, sizeof r->trade_id, id);
    pay_str_copy(r->merchant_id, sizeof r->merchant_id, c->merchant_id);
    pay_str_copy(r->out_refund_no, sizeof r->out_refund_no, orn);
    pay_str_copy(r->reason, sizeof r->reason, reason ? reason : "");
    if ((e = pay_id_new("rf", r->id)) != PAY_ERR_OK)
        return pay_error_set(err, e, "", "no randomness for an id");
    c->op = r;
    return PAY_ERR_OK;
}

static enum pay_err apply_refund_create(struct api_call *c, struct pay_store_tx *tx, int *status,
                                        json_t **out, struct pay_error *err)
{
    struct pay_platform_refund r = *(const struct pay_platform_refund *)c->op; /* a fresh copy
                                                                                * per run */
    r.created_ms = 0;
    enum pay_err e = pay_platform_refund_create_tx(c->p, tx, &r, err);
    if (e != PAY_ERR_OK)
        return e;
    *status = 201;
    *out = pay_platform_refund_json(&r);
    return PAY_ERR_OK;
}

static enum pay_err op_refund_get(struct api_call *c, int *status, json_t **out,
                                  struct pay_error *err)
{
    struct pay_platform_refund r;
    const char *id, *rid = pay_http_req_param(c->req, "refund_id");
    enum pay_err e = trade_id_param(c, &id, err);
    if (e == PAY_ERR_OK && (!rid || !pay_id_valid(rid, "rf")))
        e = pay_error_set(err, PAY_ERR_REFUND_NOT_FOUND, "refund_id", NULL);
    if (e == PAY_ERR_OK)
        e = pay_platform_refund_get(c->p, c->merchant_id, id, rid, NULL, &r, err);
    if (e == PAY_ERR_OK)
        *out = pay_platform_refund_json(&r);
    return e;
}

static enum pay_err op_refund_query(struct api_call *c, int *status, json_t **out,
                                    struct pay_error *err)
{
    struct pay_platform_refund r;
    const char *id;
    enum pay_err e = trade_id_param(c, &id, err);
    if (e == PAY_ERR_OK)
        e = pay_platform_refund_get(c->p, c->merchant_id, id, NULL, c->query_value, &r, err);
    if (e == PAY_ERR_OK)
        *out = pay_platform_refund_json(&r);
    return e;
}

/* POST /v1/trades/{trade_id}/ship: an escrow trade's goods are on their way. */
struct ship_op {
    const char *trade_id, *company, *tracking_no;
};

static enum pay_err prepare_trade_ship(struct api_call *c, struct pay_error *err)
{
    static const char *const keys[] = {"logistics_company", "tracking_no", NULL};
    struct ship_op *op = pay_http_req_alloc(c->req, sizeof *op);
    if (!op)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    enum pay_err e;
    if ((e = trade_id_param(c, &op->trade_id, err)) != PAY_ERR_OK ||
        (e = pay_platform_json_only_fields(c->json, keys, "", err)) != PAY_ERR_OK ||
        (e = str_field(c->json, "logistics_company", "logistics_company", true,
                       PAY_PLATFORM_LOGISTICS_MAX, &op->company, err)) != PAY_ERR_OK ||
        (e = str_field(c->json, "tracking_no", "tracking_no", true, PAY_PLATFORM_LOGISTICS_MAX,
                       &op->tracking_no, err)) != PAY_ERR_OK)
        return e;
    c->op = op;
    return PAY_ERR_OK;
}

static enum pay_err apply_trade_ship(struct api_call *c, struct pay_store_tx *tx, int *status,
                                     json_t **out, struct pay_error *err)
{
    const struct ship_op *op = c->op;
    struct pay_platform_trade t;
    enum pay_err e = pay_platform_escrow_ship_tx(c->p, tx, c->merchant_id, op->trade_id,
                                                 op->company, op->tracking_no, err);
    if (e == PAY_ERR_OK)
        e = pay_platform_trade_load(tx, c->merchant_id, op->trade_id, NULL, &t, err);
    if (e == PAY_ERR_OK) {
        *out = trade_out(c, &t);
        c->wake = true;
    }
    return e;
}

/* GET /v1/trades/{trade_id}/refund_requests: the consumer's requests, oldest first. */
static enum pay_err op_requests_list(struct api_call *c, int *status, json_t **out,
                                     struct pay_error *err)
{
    struct pay_platform_trade t;
    const char *id;
    enum pay_err e = trade_id_param(c, &id, err);
    if (e == PAY_ERR_OK) /* the merchant's own trade, else TRADE_NOT_FOUND */
        e = pay_platform_trade_get(c->p, c->merchant_id, id, NULL, &t, err);
    struct pay_platform_refund_request rr[PAY_PLATFORM_REQUESTS_PER_TRADE_MAX];
    size_t n = 0;
    if (e == PAY_ERR_OK)
        e = pay_platform_refund_requests_list(c->p, t.id, NULL, rr,
                                              PAY_PLATFORM_REQUESTS_PER_TRADE_MAX, &n, err);
    if (e != PAY_ERR_OK)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, pay_platform_refund_request_json(&rr[i]));
    *out = json_pack("{s:s, s:o}", "trade_id", t.id, "refund_requests", arr);
    return PAY_ERR_OK;
}

/* POST .../refund_requests/{request_id}/approve and /reject {"reason"}: the refund an approval
 * runs gets its id here, outside the command (apply may run again). */
struct decide_op {
    const char *trade_id, *request_id, *reason;
    bool approve;
    char refund_id[PAY_ID_MAX];
};

static enum pay_err prepare_decide(struct api_call *c, bool approve, struct pay_error *err)
{
    static const char *const approve_keys[] = {NULL}, *const reject_keys[] = {"reason", NULL};
    struct decide_op *op = pay_http_req_alloc(c->req, sizeof *op);
    if (!op)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    memset(op, 0, sizeof *op);
    op->approve = approve;
    op->request_id = pay_http_req_param(c->req, "request_id");
    enum pay_err e = trade_id_param(c, &op->trade_id, err);
    if (e == PAY_ERR_OK && (!op->request_id || !pay_id_valid(op->request_id, "rq")))
        e = pay_error_set(err, PAY_ERR_REFUND_REQUEST_NOT_FOUND, "request_id", NULL);
    if (e == PAY_ERR_OK)
        e = pay_platform_json_only_fields(c->json, approve ? approve_keys : reject_keys, "", err);
    if (e == PAY_ERR_OK && !approve)
        e = str_field(c->json, "reason", "reason", true, PAY_TEXT_FIELD_MAX, &op->reason, err);
    if (e == PAY_ERR_OK && (e = pay_id_new("rf", op->refund_id)) != PAY_ERR_OK)
        e = pay_error_set(err, e, "", "no randomness for an id");
    c->op = op;
    return e;
}

static enum pay_err prepare_request_approve(struct api_call *c, struct pay_error *err)
{
    return prepare_decide(c, true, err);
}

static enum pay_err prepare_request_reject(struct api_call *c, struct pay_error *err)
{
    return prepare_decide(c, false, err);
}

static enum pay_err apply_request_decide(struct api_call *c, struct pay_store_tx *tx, int *status,
                                         json_t **out, struct pay_error *err)
{
    const struct decide_op *op = c->op;
    struct pay_platform_refund_request r;
    enum pay_err e = pay_platform_refund_request_decide_tx(c->p, tx, c->merchant_id, op->trade_id,
                                                           op->request_id, op->approve, op->reason,
                                                           op->refund_id, &r, err);
    if (e == PAY_ERR_OK) {
        *out = pay_platform_refund_request_json(&r);
        c->wake = true;
    }
    return e;
}

/* GET /v1/bills?date=YYYY-MM-DD&type=trade|settlement: the day's bill as CSV, signed like
 * every answer (docs/api.md). */
static enum pay_err op_bill(struct api_call *c, int *status, json_t **out, struct pay_error *err)
{
    struct pay_buf b;
    pay_buf_init(&b, PAY_PLATFORM_BILL_ROWS_MAX * 256);
    enum pay_err e = pay_platform_bill_csv(c->p, c->merchant_id, pay_http_req_query(c->req, "date"),
                                           pay_http_req_query(c->req, "type"), &b, err);
    if (e == PAY_ERR_OK) {
        pay_http_respond_bytes(c->req, 200, "text/csv; charset=utf-8", b.data, b.len);
        *status = API_ANSWERED;
    }
    pay_buf_fini(&b);
    return e;
}

/* GET /v1/settlements and GET /v1/settlements/{settlement_id} (docs/settlement.md). */
static enum pay_err op_settlements(struct api_call *c, int *status, json_t **out,
                                   struct pay_error *err)
{
    return pay_platform_settlements_json(c->p, c->merchant_id, NULL, out, err);
}

static enum pay_err op_settlement_get(struct api_call *c, int *status, json_t **out,
                                      struct pay_error *err)
{
    const char *id = pay_http_req_param(c->req, "settlement_id");
    if (!id || !pay_id_valid(id, "st"))
        return pay_error_set(err, PAY_ERR_SETTLEMENT_NOT_FOUND, "settlement_id", NULL);
    return pay_platform_settlements_json(c->p, c->merchant_id, id, out, err);
}

static enum pay_err op_notifications(struct api_call *c, int *status, json_t **out,
                                     struct pay_error *err)
{
    if (!pay_id_valid(c->query_value, "tr"))
        return pay_error_set(err, PAY_ERR_TRADE_NOT_FOUND, "trade_id", NULL);
    return pay_platform_notify_list(c->p, c->merchant_id, c->query_value, out, err);
}

/* GET /v1/balance[?currency=CNY]: the currency parameter is optional, so the route names no
 * query parameter; the signature covers the target as sent either way. */
static enum pay_err op_balance(struct api_call *c, int *status, json_t **out, struct pay_error *err)
{
    const char *cur = pay_http_req_query(c->req, "currency");
    return pay_platform_merchant_balance(c->p, c->merchant_id, cur, out, err);
}

/* The open API's route table (docs/hacking.md, "Platform routes"): every endpoint runs api.c's
 * request phases (pay_platform_api_entry) with its definition as the route's own argument. */
#define API_GET(pattern, op, query_param)                                                          \
    {                                                                                              \
        "GET", pattern, PAY_HTTP_API, PAY_HTTP_BODY_RAW, pay_platform_api_entry,                   \
            &(struct api_op_def)                                                                   \
        {                                                                                          \
            op, query_param, NULL, NULL                                                            \
        }                                                                                          \
    }
#define API_POST(pattern, prepare, apply)                                                          \
    {                                                                                              \
        "POST", pattern, PAY_HTTP_API, PAY_HTTP_BODY_RAW, pay_platform_api_entry,                  \
            &(struct api_op_def)                                                                   \
        {                                                                                          \
            NULL, NULL, prepare, apply                                                             \
        }                                                                                          \
    }

static const struct pay_http_route routes[] = {
    API_POST("/v1/trades", prepare_trade_create, apply_trade_create),
    API_GET("/v1/trades", op_trade_query, "out_trade_no"),
    API_GET("/v1/trades/{trade_id}", op_trade_get, NULL),
    API_GET("/v1/trades/{trade_id}/receipt", op_trade_receipt, NULL),
    API_POST("/v1/trades/{trade_id}/close", prepare_trade_close, apply_trade_close),
    API_POST("/v1/trades/{trade_id}/confirm", pay_platform_api_confirm_prepare,
             pay_platform_api_confirm_apply),
    API_POST("/v1/trades/{trade_id}/refunds", prepare_refund_create, apply_refund_create),
    API_GET("/v1/trades/{trade_id}/refunds", op_refund_query, "out_refund_no"),
    API_GET("/v1/trades/{trade_id}/refunds/{refund_id}", op_refund_get, NULL),
    API_POST("/v1/trades/{trade_id}/ship", prepare_trade_ship, apply_trade_ship),
    API_GET("/v1/trades/{trade_id}/refund_requests", op_requests_list, NULL),
    API_POST("/v1/trades/{trade_id}/refund_requests/{request_id}/approve", prepare_request_approve,
             apply_request_decide),
    API_POST("/v1/trades/{trade_id}/refund_requests/{request_id}/reject", prepare_request_reject,
             apply_request_decide),
    API_GET("/v1/bills", op_bill, NULL),
    API_GET("/v1/settlements", op_settlements, NULL),
    API_GET("/v1/settlements/{settlement_id}", op_settlement_get, NULL),
    API_GET("/v1/notifications", op_notifications, "trade_id"),
    API_GET("/v1/balance", op_balance, NULL),
};

const struct pay_http_route *pay_platform_api_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
