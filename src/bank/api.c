/* The signed server-to-server API (/api/v1/..., docs/bank.md): merchants sign requests with
 * their certificate's key (PAYGATE-RSA-SHA256, keyId = merID); every answer, errors too, is
 * signed with the bank's key (keyId = bank code). Order query, refunds, transfers and the
 * daily statement live here, with the route table of the whole API; card binding and
 * agreements in api_cards.c, the statement file in statement_file.c, the frame of every call
 * (signature, merchant, signed answers) in api_call.c. */
#include "bank/api.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "crypto/ids.h"
#include "core/log.h"
#include "core/money.h"
#include "core/timeutil.h"
#include "http/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- POST /api/v1/orders/query ---------------------------------------------------------------- */

struct order_q {
    const char *mer_id, *order_id;
    json_t *out;
};

static json_t *notify_json(struct pay_store_tx *tx, const char *order_pk, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT id, status, attempts, last_status, last_error FROM bank_notifications"
        " WHERE order_pk = $1",
        "t", order_pk);
    json_t *n = json_null();
    if (st && pay_store_step(st, err) == 1)
        n = json_pack("{s:s, s:s, s:I, s:I, s:s}", "notifyId", pay_store_col_text(st, 0), "status",
                      pay_store_col_text(st, 1), "attempts", (json_int_t)pay_store_col_int64(st, 2),
                      "lastStatus", (json_int_t)pay_store_col_int64(st, 3), "lastError",
                      pay_store_col_text(st, 4));
    pay_store_done(st);
    return n;
}

static enum pay_err query_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct order_q *q = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT o.id, o.status, o.amount_minor, o.currency, o.refunded_minor, o.paid_ms,"
        " COALESCE(c.bin, ''), COALESCE(c.last4, ''), o.channel FROM bank_orders o"
        " LEFT JOIN bank_cards c ON c.id = o.card_id WHERE o.mer_id = $1 AND o.order_id = $2",
        "tt", q->mer_id, q->order_id);
    if (!st)
        return err->code;
    if (pay_store_step(st, err) == 1) {
        char when[PAY_TIME_TEXT_MAX] = "";
        if (pay_store_col_int64(st, 5))
            pay_time_format_rfc3339(pay_store_col_int64(st, 5), when);
        char pk[PAY_ID_MAX];
        pay_store_col_copy(st, 0, pk, sizeof pk);
        q->out =
            json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:s, s:s, s:s}", "orderId", q->order_id,
                      "tranSerialNo", pk, "status", pay_store_col_text(st, 1), "amount",
                      (json_int_t)pay_store_col_int64(st, 2), "currency", pay_store_col_text(st, 3),
                      "refundedAmount", (json_int_t)pay_store_col_int64(st, 4), "tranTime", when,
                      "cardBin", pay_store_col_text(st, 6), "cardLast4", pay_store_col_text(st, 7),
                      "channel", pay_store_col_text(st, 8));
        pay_store_done(st);
        if (q->out)
            json_object_set_new(q->out, "notify", notify_json(tx, pk, err));
        return PAY_ERR_OK;
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

static enum pay_err query_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct api_call c;
    if (!api_begin(req, &c))
        return PAY_ERR_OK;
    struct order_q q = {c.m.mer_id, api_str(&c, "orderId", PAY_MERCHANT_ID_FIELD_MAX, err), NULL};
    if (q.order_id && pay_store_run_read(c.b->store, query_tx, &q, err) == PAY_ERR_OK && !q.out)
        pay_error_set(err, PAY_ERR_NOT_FOUND, "orderId", "no such order");
    if (q.out)
        api_reply(&c, 200, q.out);
    else
        api_fail(&c, err);
    api_end(&c);
    return PAY_ERR_OK;
}

/* --- POST /api/v1/refunds --------------------------------------------------------------------- */

struct refund_op {
    struct pay_bank *b;
    const char *mer_id, *mer_acct, *order_id, *refund_id;
    int64_t amount_minor;
    char serial[PAY_ID_MAX];
    int64_t refunded_after_minor;
    char status[16];
};

static enum pay_err refund_replay(struct pay_store_tx *tx, struct refund_op *r, bool *found,
                                  struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT f.id, f.amount_minor, o.order_id, f.refunded_after_minor, f.status"
        " FROM bank_refunds f"
        " JOIN bank_orders o ON o.id = f.order_pk WHERE f.mer_id = $1 AND f.refund_id = $2",
        "tt", r->mer_id, r->refund_id);
    if (!st)
        return err->code;
    *found = pay_store_step(st, err) == 1;
    enum pay_err rc = PAY_ERR_OK;
    if (*found) {
        pay_store_col_copy(st, 0, r->serial, sizeof r->serial);
        r->refunded_after_minor = pay_store_col_int64(st, 3); /* as it was then, not now */
        pay_store_col_copy(st, 4, r->status, sizeof r->status);
        if (pay_store_col_int64(st, 1) != r->amount_minor ||
            strcmp(pay_store_col_text(st, 2), r->order_id) != 0)
            rc = pay_error_set(err, PAY_ERR_IDEMPOTENCY_KEY_REUSED, "refundId",
                               "refund %s was made with another order or amount", r->refund_id);
    }
    pay_store_done(st);
    return rc;
}

static enum pay_err refund_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct refund_op *r = ctx;
    bool found = false;
    enum pay_err rc = refund_replay(tx, r, &found, err);
    if (rc != PAY_ERR_OK || found)
        return rc;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT o.id, o.amount_minor, o.refunded_minor, COALESCE(a.account_id, ''), o.status"
        " FROM bank_orders o LEFT JOIN bank_cards a ON a.id = o.card_id WHERE o.mer_id = $1"
        " AND o.order_id = $2 AND o.status IN ('PAID', 'REFUNDED')",
        "tt", r->mer_id, r->order_id);
    if (!st)
        return err->code;
    if (pay_store_step(st, err) != 1) {
        pay_store_done(st);
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "orderId", "no paid order %s", r->order_id);
    }
    char pk[PAY_ID_MAX], acct[PAY_LEDGER_ID_MAX + 1];
    pay_store_col_copy(st, 0, pk, sizeof pk);
    int64_t paid_minor = pay_store_col_int64(st, 1), refunded_minor = pay_store_col_int64(st, 2);
    int64_t left_minor = 0;
    pay_store_col_copy(st, 3, acct, sizeof acct);
    char status[16];
    pay_store_col_copy(st, 4, status, sizeof status);
    pay_store_done(st);
    rc = pay_money_sub(paid_minor, refunded_minor, &left_minor);
    /* refunded <= paid, as every refund before this one left it */
    PAY_ASSERT_MSG(rc == PAY_ERR_OK && refunded_minor >= 0 && left_minor >= 0, "order %s", pk);
    if (r->amount_minor > left_minor)
        return pay_error_set(err, PAY_ERR_REFUND_EXCEEDS, "amount",
                             "at most %lld minor units are left to refund", (long long)left_minor);
    rc = pay_money_add(refunded_minor, r->amount_minor, &r->refunded_after_minor);
    PAY_ASSERT_MSG(rc == PAY_ERR_OK && r->refunded_after_minor <= paid_minor, "order %s", pk);
    /* refunded in full: PAID -> REFUNDED (the UPDATE below) */
    PAY_ASSERT_MSG(r->refunded_after_minor < paid_minor ||
                       pay_bank_order_move_legal(status, "REFUNDED"),
                   "order %s is %s", pk, status);
    snprintf(r->status, sizeof r->status, "SUCCESS");
    char tid[PAY_ID_MAX + 8];
    rc = pay_id_new("rf", r->serial);
    snprintf(tid, sizeof tid, "rf:%s", r->serial);
    if (rc == PAY_ERR_OK && acct[0])
        rc = pay_bank_transfer(r->b, tx, tid, r->mer_acct, acct, r->amount_minor,
                               PAY_BANK_XFER_REFUND, r->refund_id, err);
    else if (rc == PAY_ERR_OK) /* another bank's card: back through the card network */
        rc = pay_bank_net_refund_tx(r->b, tx, pk, tid, r->mer_acct, r->amount_minor, err);
    if (rc == PAY_ERR_OK)
        rc = pay_store_exec(tx, err,
                            "UPDATE bank_orders SET refunded_minor = $2, status = CASE WHEN $2 ="
                            " amount_minor THEN 'REFUNDED' ELSE status END WHERE id = $1",
                            "ti", pk, r->refunded_after_minor);
    if (rc == PAY_ERR_OK)
        rc = pay_store_exec(tx, err,
                            "INSERT INTO bank_refunds (id, mer_id, refund_id, order_pk,"
                            " amount_minor, created_ms, refunded_after_minor, status)"
                            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                            "ttttiiit", r->serial, r->mer_id, r->refund_id, pk, r->amount_minor,
                            pay_clock_now_ms(), r->refunded_after_minor, r->status);
    char note[PAY_AUDIT_TEXT_MAX * 2];
    snprintf(note, sizeof note, "order=%.64s refund=%.64s", r->order_id, r->refund_id);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_audit_money(r->b, tx, "merchant", r->mer_id, "refund", r->serial,
                                  r->amount_minor, note, err);
    return rc;
}

static enum pay_err refund_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct api_call c;
    if (!api_begin(req, &c))
        return PAY_ERR_OK;
    struct refund_op r = {.b = c.b, .mer_id = c.m.mer_id, .mer_acct = c.m.account_id};
    r.order_id = api_str(&c, "orderId", PAY_MERCHANT_ID_FIELD_MAX, err);
    r.refund_id = r.order_id ? api_str(&c, "refundId", PAY_MERCHANT_ID_FIELD_MAX, err) : NULL;
    if (r.refund_id && api_amount(&c, "amount", &r.amount_minor, err) &&
        pay_committer_submit(c.b->committer, refund_apply, &r, err) == PAY_ERR_OK)
        api_reply(&c, 200,
                  json_pack("{s:s, s:s, s:I, s:s, s:s, s:I, s:s}", "refundId", r.refund_id,
                            "orderId", r.order_id, "amount", (json_int_t)r.amount_minor, "currency",
                            PAY_BANK_CURRENCY, "status", r.status, "refundedAmount",
                            (json_int_t)r.refunded_after_minor, "refundSerialNo", r.serial));
    else
        api_fail(&c, err);
    api_end(&c);
    return PAY_ERR_OK;
}

/* --- POST /api/v1/transfers ------------------------------------------------------------------- */

struct xfer_op {
    struct pay_bank *b;
    const char *mer_id, *mer_acct, *transfer_id, *from, *to;
    const char *agreement_hash; /* or, instead of toAccount, the card of an agreement */
    char to_acct[PAY_LEDGER_ID_MAX + 1];
    char card_last4[5];
    int64_t amount_minor;
    char serial[PAY_ID_MAX];
};

/* The account behind the merchant's agreement (a bound card). A revoked agreement still names
 * its card for the replay of a transfer made before the revocation, never for a new one. */
static enum pay_err agreement_account(struct pay_store_tx *tx, struct xfer_op *x, bool *revoked,
                                      struct pay_error *err)
{
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT c.account_id, c.last4, a.revoked_ms FROM bank_agreements a"
                        " JOIN bank_cards c ON c.id = a.card_id WHERE a.token_hash = $1"
                        " AND a.mer_id = $2",
                        "tt", x->agreement_hash, x->mer_id);
    if (!st)
        return err->code;
    int r = pay_store_step(st, err);
    if (r == 1) {
        pay_store_col_copy(st, 0, x->to_acct, sizeof x->to_acct);
        pay_store_col_copy(st, 1, x->card_last4, sizeof x->card_last4);
        *revoked = pay_store_col_int64(st, 2) != 0;
    }
    pay_store_done(st);
    if (r < 0)
        return err->code;
    return r == 1 ? PAY_ERR_OK
                  : pay_error_set(err, PAY_ERR_AGREEMENT_INVALID, "agreementToken", NULL);
}

/* A transfer with this id already: the same one (OK, x->serial set) or another (REUSED). */
static enum pay_err xfer_replay(struct pay_store_tx *tx, struct xfer_op *x, bool *found,
                                struct pay_error *err)
{
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT serial, from_account, to_account, amount_minor FROM bank_transfers"
                        " WHERE mer_id = $1 AND transfer_id = $2",
                        "tt", x->mer_id, x->transfer_id);
    if (!st)
        return err->code;
    *found = pay_store_step(st, err) == 1;
    bool same = *found && strcmp(pay_store_col_text(st, 1), x->from) == 0 &&
                strcmp(pay_store_col_text(st, 2), x->to) == 0 &&
                pay_store_col_int64(st, 3) == x->amount_minor;
    if (*found)
        pay_store_col_copy(st, 0, x->serial, sizeof x->serial);
    pay_store_done(st);
    return !*found || same
               ? PAY_ERR_OK
               : pay_error_set(err, PAY_ERR_IDEMPOTENCY_KEY_REUSED, "transferId",
                               "transfer %s was made with other fields", x->transfer_id);
}

static enum pay_err xfer_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct xfer_op *x = ctx;
    bool revoked = false, found = false;
    enum pay_err rc = PAY_ERR_OK;
    if (x->agreement_hash && (rc = agreement_account(tx, x, &revoked, err)) == PAY_ERR_OK)
        x->to = x->to_acct;
    if (rc == PAY_ERR_OK)
        rc = xfer_replay(tx, x, &found, err);
    if (rc != PAY_ERR_OK || found)
        return rc;
    if (revoked)
        return pay_error_set(err, PAY_ERR_AGREEMENT_INVALID, "agreementToken", "revoked");
    if (strcmp(x->from, x->mer_acct) != 0)
        return pay_error_set(err, PAY_ERR_FORBIDDEN, "fromAccount",
                             "fromAccount must be your own account");
    struct pay_store_stmt *st =
        pay_store_query(tx, err, "SELECT 1 FROM bank_accounts WHERE id = $1", "t", x->to);
    int r = st ? pay_store_step(st, err) : -1;
    pay_store_done(st);
    if (r != 1)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "toAccount", "no such account");
    rc = pay_id_new("bt", x->serial);
    char tid[PAY_ID_MAX + 8];
    snprintf(tid, sizeof tid, "xfer:%s", x->serial);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_transfer(x->b, tx, tid, x->from, x->to, x->amount_minor,
                               PAY_BANK_XFER_TRANSFER, x->transfer_id, err);
    if (rc == PAY_ERR_OK)
        rc = pay_store_exec(tx, err,
                            "INSERT INTO bank_transfers (mer_id, transfer_id, serial, from_account,"
                            " to_account, amount_minor, currency, created_ms)"
                            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                            "tttttiti", x->mer_id, x->transfer_id, x->serial, x->from, x->to,
                            x->amount_minor, PAY_BANK_CURRENCY, pay_clock_now_ms());
    char note[PAY_AUDIT_TEXT_MAX * 3];
    snprintf(note, sizeof note, "from=%.64s to=%.64s transfer=%.64s", x->from, x->to,
             x->transfer_id);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_audit_money(x->b, tx, "merchant", x->mer_id, "transfer", x->serial,
                                  x->amount_minor, note, err);
    return rc;
}

/* The answer names the destination as it was given: the account, or the card's last four. */
static json_t *xfer_reply(const struct xfer_op *x)
{
    json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "transferId", x->transfer_id, "status",
                          "SUCCESS", "amount", (json_int_t)x->amount_minor, "currency",
                          PAY_BANK_CURRENCY, "fromAccount", x->from, "tranSerialNo", x->serial);
    if (j && x->agreement_hash)
        json_object_set_new(j, "cardLast4", json_string(x->card_last4));
    else if (j)
        json_object_set_new(j, "toAccount", json_string(x->to));
    return j;
}

static enum pay_err transfer_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct api_call c;
    if (!api_begin(req, &c))
        return PAY_ERR_OK;
    struct xfer_op x = {.b = c.b, .mer_id = c.m.mer_id, .mer_acct = c.m.account_id};
    char hash[PAY_SHA256_HEX_LEN];
    x.transfer_id = api_str(&c, "transferId", PAY_MERCHANT_ID_FIELD_MAX, err);
    x.from = x.transfer_id ? api_str(&c, "fromAccount", PAY_LEDGER_ID_MAX, err) : NULL;
    bool by_card = json_object_get(c.body, "agreementToken") != NULL;
    if (x.from && by_card && json_object_get(c.body, "toAccount"))
        x.from = NULL, pay_error_set(err, PAY_ERR_FIELD_INVALID, "toAccount",
                                     "give toAccount or agreementToken, not both");
    const char *token = x.from && by_card ? api_str(&c, "agreementToken", 64, err) : NULL;
    if (token) {
        pay_sha256_hex(hash, token, strlen(token));
        x.agreement_hash = hash;
        x.to = "";
    } else if (x.from && !by_card) {
        x.to = api_str(&c, "toAccount", PAY_LEDGER_ID_MAX, err);
    }
    const char *cur = x.to ? api_str(&c, "currency", 3, err) : NULL;
    if (cur && strcmp(cur, PAY_BANK_CURRENCY) != 0) {
        pay_error_set(err, PAY_ERR_CURRENCY_MISMATCH, "currency", "accounts hold CNY");
        cur = NULL;
    }
    if (cur && api_amount(&c, "amount", &x.amount_minor, err) &&
        pay_committer_submit(c.b->committer, xfer_apply, &x, err) == PAY_ERR_OK)
        api_reply(&c, 200, xfer_reply(&x));
    else
        api_fail(&c, err);
    api_end(&c);
    return PAY_ERR_OK;
}

/* --- GET /api/v1/statements?date=YYYY-MM-DD --------------------------------------------------- */

static const char *kind_name(int32_t code)
{
    switch (code) {
    case PAY_BANK_XFER_PAYMENT:
        return "PAYMENT";
    case PAY_BANK_XFER_REFUND:
        return "REFUND";
    case PAY_BANK_XFER_AGREEMENT:
        return "AGREEMENT_DEBIT";
    case PAY_BANK_XFER_TRANSFER:
        return "TRANSFER";
    default:
        return "DEPOSIT";
    }
}

static int day_bounds(const char *date, int64_t *from_ms)
{
    struct tm tm = {0};
    int y, m, d;
    char tail;
    if (!date || strlen(date) != 10 || sscanf(date, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
        m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    *from_ms = (int64_t)timegm(&tm) * 1000;
    return 0;
}

#define STATEMENT_PAGE 256

static enum pay_err statement_csv(struct api_call *c, int64_t from, struct pay_buf *csv,
                                  struct pay_error *err)
{
    static struct pay_ledger_transfer t[STATEMENT_PAGE];
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* one statement at a time */
    pthread_mutex_lock(&lock);
    /* newest first: collect the day's rows, then write them oldest first */
    json_t *rows = json_array();
    int64_t cursor = 0, to = from + 86400000LL;
    enum pay_err rc = PAY_ERR_OK;
    bool more = true;
    while (more && rc == PAY_ERR_OK) {
        size_t n = 0;
        int64_t next = 0;
        rc = pay_ledger_account_transfers(c->b->ledger, c->m.account_id, cursor, t, STATEMENT_PAGE,
                                          &n, &next, err);
        for (size_t i = 0; rc == PAY_ERR_OK && i < n; i++) {
            if (t[i].created_ms < from) {
                more = false;
                break;
            }
            if (t[i].created_ms >= to)
                continue;
            char when[PAY_TIME_TEXT_MAX];
            pay_time_format_rfc3339(t[i].created_ms, when);
            bool credit = strcmp(t[i].credit_account_id, c->m.account_id) == 0;
            json_array_append_new(
                rows, json_sprintf("%s,%s,%s,%s,%lld,%s,%s\n", when, t[i].id, kind_name(t[i].code),
                                   credit ? "CREDIT" : "DEBIT", (long long)t[i].amount_minor,
                                   t[i].currency, t[i].user_data));
        }
        cursor = next;
        more = more && next != 0;
    }
    pthread_mutex_unlock(&lock);
    if (pay_buf_puts(csv, "time,transfer_id,kind,direction,amount,currency,reference\n") != 0)
        rc = PAY_ERR_INTERNAL;
    for (size_t i = json_array_size(rows); rc == PAY_ERR_OK && i > 0; i--)
        if (pay_buf_puts(csv, json_string_value(json_array_get(rows, i - 1))) != 0)
            rc = pay_error_set(err, PAY_ERR_INTERNAL, "", "statement too large");
    json_decref(rows);
    return rc;
}

static enum pay_err statement_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct api_call c;
    if (!api_begin(req, &c))
        return PAY_ERR_OK;
    int64_t from = 0;
    struct pay_buf csv;
    pay_buf_init(&csv, 64 << 20);
    if (day_bounds(pay_http_req_query(req, "date"), &from) != 0)
        pay_error_set(err, PAY_ERR_FIELD_INVALID, "date", "date must be YYYY-MM-DD");
    else if (statement_csv(&c, from, &csv, err) == PAY_ERR_OK)
        api_reply_bytes(&c, 200, "text/csv; charset=utf-8", pay_buf_str(&csv), csv.len);
    if (err->code != PAY_ERR_OK)
        api_fail(&c, err);
    pay_buf_fini(&csv);
    api_end(&c);
    return PAY_ERR_OK;
}

static struct pay_http_route routes[] = {
    {"POST", "/api/v1/orders/query", PAY_HTTP_API, PAY_HTTP_BODY_RAW, query_handler, NULL},
    {"POST", "/api/v1/refunds", PAY_HTTP_API, PAY_HTTP_BODY_RAW, refund_handler, NULL},
    {"POST", "/api/v1/transfers", PAY_HTTP_API, PAY_HTTP_BODY_RAW, transfer_handler, NULL},
    {"GET", "/api/v1/statements", PAY_HTTP_API, PAY_HTTP_BODY_RAW, statement_handler, NULL},
    {"GET", "/api/v1/statement-file", PAY_HTTP_API, PAY_HTTP_BODY_RAW, pay_bank_statement_file_get,
     NULL},
    {"POST", "/api/v1/cards/verify", PAY_HTTP_API, PAY_HTTP_BODY_RAW, api_cards_verify, NULL},
    {"POST", "/api/v1/cards/confirm", PAY_HTTP_API, PAY_HTTP_BODY_RAW, api_cards_confirm, NULL},
    {"POST", "/api/v1/agreements/revoke", PAY_HTTP_API, PAY_HTTP_BODY_RAW, api_agreements_revoke,
     NULL},
    {"POST", "/api/v1/agreements/debit", PAY_HTTP_API, PAY_HTTP_BODY_RAW, api_agreements_debit,
     NULL},
};

const struct pay_http_route *pay_bank_api_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
