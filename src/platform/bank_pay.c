/* Paying through a bank (the source document's flow, with the platform as the bank's
 * merchant): the cashier sends the consumer's browser to the bank with an order signed for
 * that bank, the bank's signed notification completes the trade (reserve at the bank ->
 * merchant), and refunds of such payments, and payments that arrive after their trade was
 * closed (refunded automatically, never lost), are sent back through the bank's refund API
 * by pay_platform_bank_work. */
#include "platform/connector.h"
#include "core/buf.h"
#include "platform/platform.h"

#include "core/assertions.h"
#include "core/clock.h"
#include "crypto/ids.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "http/codec.h"
#include "http/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct order_ctx {
    const struct pay_platform_trade *t;
    const char *bank;
    char order_id[PAY_MERCHANT_ID_FIELD_MAX + 1];
};

/* One order per attempt: "<trade id>-<n>". */
static enum pay_err order_new_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct order_ctx *o = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT COUNT(*) FROM pf_bank_orders WHERE trade_id = $1", "t", o->t->id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    int64_t n = rc == 1 ? pay_store_col_int64(st, 0) : 0;
    pay_store_done(st);
    if (rc != 1)
        return rc < 0 ? err->code : pay_error_set(err, PAY_ERR_INTERNAL, "", "no row");
    snprintf(o->order_id, sizeof o->order_id, "%s-%lld", o->t->id, (long long)n + 1);
    return (pay_store_exec(
        tx, err,
        "INSERT INTO pf_bank_orders (order_id, trade_id, bank, amount_minor, currency, status,"
        " created_ms) VALUES ($1,$2,$3,$4,$5,'created',$6)",
        "tttiti", o->order_id, o->t->id, o->bank, o->t->amount_minor, o->t->currency,
        pay_clock_now_ms()));
}

/* POST /cashier/{trade_id}/pay/bank (form: bank, csrf = the pf_csrf cookie): the page that
 * takes the browser to the bank with the signed order. */
static enum pay_err h_pay_bank(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    const char *csrf = pay_http_req_form_get(req, "csrf"),
               *cookie = pay_http_req_cookie(req, "pf_csrf");
    if (!csrf || !cookie || strlen(csrf) != strlen(cookie) ||
        !pay_ct_equal(csrf, cookie, strlen(csrf)))
        return pay_error_set(err, PAY_ERR_CSRF_INVALID, "csrf", NULL);
    const struct pay_platform_bank *b =
        pay_platform_bank_find(p, pay_http_req_form_get(req, "bank"));
    if (!b)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "bank", "no such bank");
    const char *method = pay_http_req_form_get(req, "method"); /* "unionpay": 银联卡支付 */
    bool unionpay = method && strcmp(method, "unionpay") == 0;
    if ((method && !unionpay) || (unionpay && !b->unionpay))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "method",
                             "method is unionpay (at a bank that acquires for the card network)"
                             " or absent");
    struct pay_platform_trade t;
    enum pay_err e =
        pay_platform_trade_get(p, NULL, pay_http_req_param(req, "trade_id"), NULL, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    if (strcmp(t.state, PAY_TRADE_WAIT_BUYER_PAY) != 0 || pay_clock_now_ms() >= t.expire_ms)
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "trade_id", "trade is %s", t.state);
    struct order_ctx o = {&t, b->code, ""};
    if ((e = pay_platform_write(p, order_new_tx, &o, err)) != PAY_ERR_OK)
        return e;
    char action[PAY_URL_MAX + 1];
    char *notify = pay_http_req_printf(req, "%s/bank-notify/%s", p->set.public_url, b->code);
    char *ret = pay_http_req_printf(req, "%s/cashier/%s", p->set.public_url, t.id);
    json_t *fields = NULL;
    if ((e = b->conn->gateway_form(b, o.order_id, t.amount_minor, t.currency, t.subject, notify,
                                   ret, t.id, action, &fields, err)) != PAY_ERR_OK)
        return e;
    if (unionpay) /* the bank's gateway sends the shopper on to the card network's page */
        json_object_set_new(fields, "payMethod", json_string("UNIONPAY"));
    json_t *list = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(fields, k, v) json_array_append_new(
        list, json_pack("{s:s, s:s}", "name", k, "value", json_string_value(v)));
    json_decref(fields);
    json_t *ctx = json_pack("{s:s, s:s, s:o, s:s, s:s}", "action", action, "bank",
                            pay_platform_bank_text(p, req, b->code), "fields", list, "platform",
                            p->set.name, "trade_id", t.id);
    pay_http_respond_page_url(req, pay_http_req_printf(req, "/cashier/%s", t.id));
    struct pay_url u;
    if (pay_url_parse(action, "action", &u, err) == PAY_ERR_OK) {
        char *origin = pay_http_req_printf(req, "%s://%s:%d", u.scheme, u.host, u.port);
        pay_http_respond_form_action(req, origin);
    }
    PAY_INFO("cashier.bank_order", "trade=%s bank=%s order=%s", t.id, b->code, o.order_id);
    pay_http_respond_template(req, 200, "bank_redirect", ctx);
    json_decref(ctx);
    return PAY_ERR_OK;
}

/* --- the bank's notification ---------------------------------------------------------------- */

/* A bank order (pf_bank_orders): created, then paid when its money booked the trade, or late
 * when the trade closed first (the money goes back), then late_refunded. */
static const struct pay_state_move order_moves[] = {
    {"created", "paid"},
    {"created", "late"},
    {"late", "late_refunded"},
};

/* A refund through a bank (pf_refunds): PROCESSING until the bank confirms it. */
static const struct pay_state_move refund_moves[] = {
    {"PROCESSING", "SUCCESS"},
};

struct notice_cmd {
    struct pay_platform *p;
    const struct pay_platform_bank *b;
    const struct pay_bank_notice *n;
    const char *method; /* "bank" (online banking) or "card" (agreement debit) */
    const char *buyer;  /* card: the consumer paying; NULL at a bank's pages (unknown) */
    bool late;
};

static enum pay_err xfer_code(struct pay_platform *p, struct pay_store_tx *tx, const char *id,
                              enum pay_platform_account_kind dk, const char *down,
                              enum pay_platform_account_kind ck, const char *cown, int64_t amount,
                              const char *currency, const char *ref, int32_t code,
                              struct pay_error *err)
{
    PAY_ASSERT_MSG(amount > 0 && amount <= PAY_AMOUNT_MAX_MINOR, "transfer %s", id);
    struct pay_ledger_transfer t = {.amount_minor = amount, .code = code};
    enum pay_err e;
    if ((e = pay_platform_account_ensure(p, tx, dk, down, currency, t.debit_account_id, err)) !=
            PAY_ERR_OK ||
        (e = pay_platform_account_ensure(p, tx, ck, cown, currency, t.credit_account_id, err)) !=
            PAY_ERR_OK)
        return e;
    pay_str_copy(t.id, sizeof t.id, id);
    pay_str_copy(t.currency, sizeof t.currency, currency);
    pay_str_copy(t.user_data, sizeof t.user_data, ref);
    enum pay_ledger_result r;
    if ((e = pay_ledger_tx_transfer(p->ledger, tx, &t, &r, err)) != PAY_ERR_OK)
        return e;
    return pay_platform_ledger_error(r, err);
}

static enum pay_err xfer(struct pay_platform *p, struct pay_store_tx *tx, const char *id,
                         enum pay_platform_account_kind dk, const char *down,
                         enum pay_platform_account_kind ck, const char *cown, int64_t amount,
                         const char *currency, const char *ref, struct pay_error *err)
{
    return xfer_code(p, tx, id, dk, down, ck, cown, amount, currency, ref, PAY_PF_XFER_REFUND, err);
}

static enum pay_err notice_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct notice_cmd *c = ctx;
    const struct pay_bank_notice *n = c->n;
    c->late = false;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT trade_id, status, amount_minor, currency FROM pf_bank_orders"
                        " WHERE order_id = $1 AND bank = $2",
                        "tt", n->order_id, c->b->code);
    if (!st)
        return err->code;
    char trade_id[PAY_ID_MAX] = "", status[16] = "", cur[4] = "";
    int64_t amount = 0;
    int rc = pay_store_step(st, err);
    if (rc == 1) {
        pay_store_col_copy(st, 0, trade_id, sizeof trade_id);
        pay_store_col_copy(st, 1, status, sizeof status);
        amount = pay_store_col_int64(st, 2);
        pay_store_col_copy(st, 3, cur, sizeof cur);
    }
    pay_store_done(st);
    if (rc != 1 || amount != n->amount_minor || strcmp(cur, n->currency) != 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "notifyData",
                             "unknown order or amount mismatch");
    if (strcmp(status, "created") != 0)
        return PAY_ERR_OK; /* a repeated notification: already booked */
    struct pay_platform_payment pm = {c->method, PAY_PF_ACCT_RESERVE,      c->b->code, n->order_id,
                                      true,      c->buyer ? c->buyer : "", NULL};
    struct pay_error perr = {0};
    if (pay_store_savepoint(tx, err) != PAY_ERR_OK)
        return err->code;
    enum pay_err e = pay_platform_trade_pay_tx(c->p, tx, trade_id, &pm, &perr);
    if (e == PAY_ERR_TRADE_STATE_INVALID) {
        /* Closed (or paid otherwise) before the bank's money arrived: keep it in flight and
         * send it back. */
        if (pay_store_rollback_to(tx, err) != PAY_ERR_OK)
            return err->code;
        c->late = true;
        char id[PAY_LEDGER_ID_MAX + 1];
        if (snprintf(id, sizeof id, "%s.late", n->order_id) >= (int)sizeof id)
            return pay_error_set(err, PAY_ERR_INTERNAL, "", "id too long");
        e = xfer(c->p, tx, id, PAY_PF_ACCT_RESERVE, c->b->code, PAY_PF_ACCT_REFUND_FLIGHT, "",
                 amount, cur, trade_id, err);
    } else if (e == PAY_ERR_OK) {
        e = pay_store_release(tx, err);
    } else if ((e = pay_store_rollback_to(tx, err)) == PAY_ERR_OK) {
        *err = perr; /* the trade's refusal: close the savepoint, then tell it */
        e = perr.code;
    }
    if (e != PAY_ERR_OK)
        return e;
    const char *to = c->late ? "late" : "paid";
    PAY_ASSERT_MSG(pay_state_move_legal(order_moves, PAY_STATE_MOVES(order_moves), status, to),
                   "order %s: %s -> %s", n->order_id, status, to);
    return pay_store_exec(tx, err,
                          "UPDATE pf_bank_orders SET status = $1, serial = $2"
                          " WHERE order_id = $3",
                          "ttt", to, n->serial, n->order_id);
}

enum pay_err pay_platform_bank_notice_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                         const char *bank, const char *order_id, const char *serial,
                                         int64_t amount_minor, const char *currency, bool card,
                                         bool *late, struct pay_error *err)
{
    const struct pay_platform_bank *b = pay_platform_bank_find(p, bank);
    if (!b)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "bank", "not one of the platform's banks");
    struct pay_bank_notice n = {.amount_minor = amount_minor, .success = true};
    if (!pay_str_copy(n.order_id, sizeof n.order_id, order_id) ||
        !pay_str_copy(n.serial, sizeof n.serial, serial) ||
        !pay_str_copy(n.currency, sizeof n.currency, currency))
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, "reference", NULL);
    struct notice_cmd c = {.p = p, .b = b, .n = &n, .method = card ? "card" : "bank"};
    enum pay_err e = notice_apply(tx, &c, err);
    *late = c.late;
    return e;
}

/* POST /bank-notify/{bank}: answered 200 "success" once booked (the bank retries otherwise). */
static enum pay_err h_bank_notify(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    const struct pay_platform_bank *b = pay_platform_bank_find(p, pay_http_req_param(req, "bank"));
    if (!b)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "bank", NULL);
    const struct pay_form *f = pay_http_req_form(req);
    struct pay_bank_notice n = {0};
    enum pay_err e = f ? b->conn->parse_notice(b, f, &n, err)
                       : pay_error_set(err, PAY_ERR_FORM_INVALID, "", NULL);
    if (e != PAY_ERR_OK) {
        PAY_WARN("bank.notify_refused", "bank=%s code=%s", b->code, pay_err_name(e));
        return e;
    }
    if (!n.success) {
        pay_http_respond_text(req, 200, "success");
        return PAY_ERR_OK;
    }
    struct notice_cmd c = {.p = p, .b = b, .n = &n, .method = "bank"};
    e = pay_committer_submit(p->committer, notice_apply, &c, err);
    PAY_INFO("bank.notify", "bank=%s order=%s late=%d result=%s", b->code, n.order_id, c.late,
             pay_err_name(e));
    if (e != PAY_ERR_OK)
        return e;
    pay_platform_wake(p);
    pay_http_respond_text(req, 200, "success");
    return PAY_ERR_OK;
}

/* --- bound cards ------------------------------------------------------------------------------ */

enum pay_err pay_platform_pay_by_card(struct pay_platform *p, const struct pay_platform_trade *t,
                                      const char *consumer_id, const struct pay_platform_card *card,
                                      struct pay_error *err)
{
    const struct pay_platform_bank *b = pay_platform_bank_find(p, card->bank);
    if (!b)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "card_id", "the card's bank is gone");
    if (strcmp(t->state, PAY_TRADE_WAIT_BUYER_PAY) != 0 || pay_clock_now_ms() >= t->expire_ms)
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "trade_id", "trade is %s", t->state);
    struct order_ctx o = {t, b->code, ""};
    enum pay_err e = pay_platform_write(p, order_new_tx, &o, err);
    if (e == PAY_ERR_OK)
        e = b->conn->agreement_debit(b, card->token, o.order_id, t->amount_minor, t->currency,
                                     t->subject, err);
    if (e != PAY_ERR_OK)
        return e;
    /* The bank has the money: book it exactly as its notification would be booked. */
    struct pay_bank_notice n = {.amount_minor = t->amount_minor, .success = true};
    pay_str_copy(n.order_id, sizeof n.order_id, o.order_id);
    pay_str_copy(n.currency, sizeof n.currency, t->currency);
    struct notice_cmd c = {.p = p, .b = b, .n = &n, .method = "card", .buyer = consumer_id};
    e = pay_committer_submit(p->committer, notice_apply, &c, err);
    if (e == PAY_ERR_OK && c.late)
        e = pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "trade_id",
                          "the trade closed meanwhile; the money goes back to the card");
    pay_platform_wake(p);
    return e;
}

struct topup_cmd {
    struct pay_platform *p;
    const char *consumer_id, *bank, *order_id, *currency;
    int64_t amount_minor;
};

static enum pay_err topup_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct topup_cmd *c = ctx;
    char id[PAY_LEDGER_ID_MAX + 1];
    if (snprintf(id, sizeof id, "%s.topup", c->order_id) >= (int)sizeof id)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "id too long");
    struct pay_ledger_transfer t = {.amount_minor = c->amount_minor, .code = PAY_PF_XFER_TOPUP};
    enum pay_err e;
    if ((e = pay_platform_account_ensure(c->p, tx, PAY_PF_ACCT_RESERVE, c->bank, c->currency,
                                         t.debit_account_id, err)) != PAY_ERR_OK ||
        (e = pay_platform_account_ensure(c->p, tx, PAY_PF_ACCT_WALLET, c->consumer_id, c->currency,
                                         t.credit_account_id, err)) != PAY_ERR_OK)
        return e;
    pay_str_copy(t.id, sizeof t.id, id);
    pay_str_copy(t.currency, sizeof t.currency, c->currency);
    pay_str_copy(t.user_data, sizeof t.user_data, c->order_id);
    enum pay_ledger_result r;
    if ((e = pay_ledger_tx_transfer(c->p->ledger, tx, &t, &r, err)) != PAY_ERR_OK ||
        (e = pay_platform_ledger_error(r, err)) != PAY_ERR_OK)
        return e;
    char actor[PAY_AUDIT_TEXT_MAX], detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(actor, sizeof actor, "consumer:%s", c->consumer_id);
    snprintf(detail, sizeof detail, "amount_minor=%lld currency=%s bank=%s",
             (long long)c->amount_minor, c->currency, c->bank);
    return pay_platform_audit(
        c->p, tx,
        &(struct pay_audit_entry){
            .actor = actor, .action = "wallet.topup", .target = c->order_id, .detail = detail},
        err);
}

enum pay_err pay_platform_topup(struct pay_platform *p, const char *consumer_id,
                                const struct pay_platform_card *card, int64_t amount_minor,
                                const char *currency, struct pay_error *err)
{
    const struct pay_platform_bank *b = pay_platform_bank_find(p, card->bank);
    if (!b)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "card_id", "the card's bank is gone");
    char order_id[PAY_ID_MAX];
    if (pay_id_new("tu", order_id) != PAY_ERR_OK)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    enum pay_err e = b->conn->agreement_debit(b, card->token, order_id, amount_minor, currency,
                                              "Wallet top-up", err);
    if (e != PAY_ERR_OK)
        return e;
    struct topup_cmd c = {p, consumer_id, b->code, order_id, currency, amount_minor};
    e = pay_committer_submit(p->committer, topup_apply, &c, err);
    PAY_INFO("wallet.topup", "consumer=%s order=%s result=%s", consumer_id, order_id,
             pay_err_name(e));
    return e;
}

/* --- refunds through the bank ---------------------------------------------------------------- */

#define BANK_WORK_BATCH 16

struct due {
    char kind;                               /* 'L' late order, 'R' merchant refund */
    char ref[PAY_MERCHANT_ID_FIELD_MAX + 1]; /* order id, or refund id */
    char order_id[PAY_MERCHANT_ID_FIELD_MAX + 1];
    char bank[17];
    char currency[4];
    int64_t amount_minor;
};

struct due_ctx {
    struct due rows[BANK_WORK_BATCH];
    size_t n;
};

static enum pay_err due_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct due_ctx *d = ctx;
    d->n = 0;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT 'L', order_id, order_id, bank, currency, amount_minor FROM pf_bank_orders"
        " WHERE status = 'late'"
        " UNION ALL SELECT 'R', r.id, o.order_id, o.bank, r.currency, r.amount_minor"
        " FROM pf_refunds r JOIN pf_bank_orders o ON o.trade_id = r.trade_id AND o.status = 'paid'"
        " WHERE r.status = 'PROCESSING' LIMIT $1",
        "i", (int64_t)BANK_WORK_BATCH);
    if (!st)
        return err->code;
    while (d->n < BANK_WORK_BATCH && pay_store_step(st, err) == 1) {
        struct due *r = &d->rows[d->n++];
        r->kind = pay_store_col_text(st, 0)[0];
        pay_store_col_copy(st, 1, r->ref, sizeof r->ref);
        pay_store_col_copy(st, 2, r->order_id, sizeof r->order_id);
        pay_store_col_copy(st, 3, r->bank, sizeof r->bank);
        pay_store_col_copy(st, 4, r->currency, sizeof r->currency);
        r->amount_minor = pay_store_col_int64(st, 5);
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

struct done_cmd {
    struct pay_platform *p;
    const struct due *d;
};

/* The bank sent the money back: in flight -> reserve, and the row is done. */
static enum pay_err done_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct done_cmd *c = ctx;
    const struct due *d = c->d;
    PAY_ASSERT(d->kind == 'L' ? pay_state_move_legal(order_moves, PAY_STATE_MOVES(order_moves),
                                                     "late", "late_refunded")
                              : pay_state_move_legal(refund_moves, PAY_STATE_MOVES(refund_moves),
                                                     "PROCESSING", "SUCCESS"));
    PAY_ASSERT_MSG(d->amount_minor > 0, "%s", d->ref);
    enum pay_err e = d->kind == 'L'
                         ? pay_store_exec(tx, err,
                                          "UPDATE pf_bank_orders SET status = 'late_refunded'"
                                          " WHERE order_id = $1 AND status = 'late'",
                                          "t", d->ref)
                         : pay_store_exec(tx, err,
                                          "UPDATE pf_refunds SET status = 'SUCCESS'"
                                          " WHERE id = $1 AND status = 'PROCESSING'",
                                          "t", d->ref);
    if (e != PAY_ERR_OK)
        return e;
    if (pay_store_changes(tx) != 1)
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "", "%s is done already", d->ref);
    char id[PAY_LEDGER_ID_MAX + 1];
    if (snprintf(id, sizeof id, "%s.bank", d->ref) >= (int)sizeof id)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "id too long");
    e = xfer(c->p, tx, id, PAY_PF_ACCT_REFUND_FLIGHT, "", PAY_PF_ACCT_RESERVE, d->bank,
             d->amount_minor, d->currency, d->order_id, err);
    if (e != PAY_ERR_OK || d->kind == 'L')
        return e;
    /* The merchant learns that the refund reached the payer: order ids are "<trade>-<n>". */
    char trade_id[PAY_ID_MAX];
    snprintf(trade_id, sizeof trade_id, "%.*s", (int)strcspn(d->order_id, "-"), d->order_id);
    struct pay_platform_trade t;
    if ((e = pay_platform_trade_load(tx, NULL, trade_id, NULL, &t, err)) != PAY_ERR_OK)
        return e;
    return pay_platform_notify_enqueue(tx, &t, "refund.success", d->ref, err);
}

void pay_platform_bank_work(struct pay_platform *p)
{
    if (p->set.n_banks == 0)
        return;
    struct due_ctx d;
    struct pay_error err = {0};
    if (pay_store_run_read(p->store, due_tx, &d, &err) != PAY_ERR_OK)
        return;
    for (size_t i = 0; i < d.n && !atomic_load(&p->stopping); i++) {
        const struct pay_platform_bank *b = pay_platform_bank_find(p, d.rows[i].bank);
        if (!b)
            continue;
        char refund_id[PAY_MERCHANT_ID_FIELD_MAX + 1];
        pay_str_copy(refund_id, sizeof refund_id, d.rows[i].ref);
        enum pay_err e =
            b->conn->refund(b, d.rows[i].order_id, refund_id, d.rows[i].amount_minor, &err);
        if (e == PAY_ERR_OK) {
            struct done_cmd c = {.p = p, .d = &d.rows[i]};
            e = pay_committer_submit(p->committer, done_apply, &c, &err);
        }
        PAY_INFO("bank.refund", "kind=%c ref=%s order=%s result=%s detail=\"%s\"", d.rows[i].kind,
                 d.rows[i].ref, d.rows[i].order_id, pay_err_name(e), err.detail);
    }
}

const struct pay_http_route *pay_platform_bank_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"POST", "/cashier/{trade_id}/pay/bank", PAY_HTTP_PAGE, PAY_HTTP_BODY_FORM, h_pay_bank,
         NULL},
        {"POST", "/bank-notify/{bank}", PAY_HTTP_API, PAY_HTTP_BODY_FORM, h_bank_notify, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
