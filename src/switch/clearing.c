/* Clearing and settlement (docs/switch.md). Clearing: every approved capture moves its amount
 * from the issuer's clearing account to the acquirer's in the switch's ledger, every approved
 * refund back, in the transaction that records the issuer's answer; a clearing account's
 * balance is the member's position towards the network. Settlement: once a business day has
 * ended, each member's net position of that day moves between its clearing account and its
 * settlement account (the central bank's role), one balanced transfer per member, all in one
 * transaction with the run's rows; the positions of a day sum to zero. */
#include "switch/switch.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/money.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum pay_err transfer(struct pay_switch *sw, struct pay_store_tx *tx, const char *id,
                             const char *from, const char *to, int64_t amount_minor, int32_t code,
                             const char *user_data, struct pay_error *err)
{
    PAY_ASSERT(amount_minor > 0);
    struct pay_ledger_transfer t;
    memset(&t, 0, sizeof t);
    pay_str_copy(t.id, sizeof t.id, id);
    pay_str_copy(t.debit_account_id, sizeof t.debit_account_id, from);
    pay_str_copy(t.credit_account_id, sizeof t.credit_account_id, to);
    snprintf(t.currency, sizeof t.currency, PAY_SWITCH_CURRENCY);
    pay_str_copy(t.user_data, sizeof t.user_data, user_data);
    t.amount_minor = amount_minor;
    t.code = code;
    enum pay_ledger_result res;
    enum pay_err rc = pay_ledger_tx_transfer(sw->ledger, tx, &t, &res, err);
    if (rc == PAY_ERR_OK && res == PAY_LEDGER_EXCEEDS_CREDITS)
        return pay_error_set(err, PAY_ERR_INSUFFICIENT_FUNDS, "member",
                             "%s cannot pay %lld minor units", from, (long long)amount_minor);
    if (rc == PAY_ERR_OK && res != PAY_LEDGER_OK)
        rc = pay_error_set(err, PAY_ERR_INTERNAL, "", "transfer %s: %s", id,
                           pay_ledger_result_name(res));
    return rc;
}

/* The fees of a cleared purchase of amount: the interchange and the network's fee of each side
 * (each rounded as fees are, docs/money.md), written on the message's row. */
static enum pay_err purchase_fees(struct pay_switch *sw, struct pay_store_tx *tx,
                                  const char *acquirer, const char *trace, int64_t amount,
                                  int64_t *interchange, int64_t *network_fee, struct pay_error *err)
{
    if (pay_money_mul_bp(amount, sw->opt.interchange_bp, PAY_ROUND_FEE, interchange) !=
            PAY_ERR_OK ||
        pay_money_mul_bp(amount, sw->opt.network_fee_bp, PAY_ROUND_FEE, network_fee) != PAY_ERR_OK)
        return pay_error_set(err, PAY_ERR_AMOUNT_OVERFLOW, "de4", NULL);
    /* the rates are at most PAY_NET_FEE_BP_MAX (10%) each: the fees never pass the amount */
    PAY_ASSERT(*interchange >= 0 && *network_fee >= 0 && *interchange + *network_fee <= amount);
    return pay_store_exec(tx, err,
                          "UPDATE switch_msgs SET interchange_minor = $3, acq_fee_minor = $4,"
                          " iss_fee_minor = $4 WHERE acquirer = $1 AND trace = $2",
                          "ttii", acquirer, trace, *interchange, *network_fee);
}

enum pay_err pay_switch_clear_tx(struct pay_switch *sw, struct pay_store_tx *tx,
                                 const char *acquirer, const char *trace, const char *proc,
                                 const char *issuer, int64_t amount_minor, const char *settle_date,
                                 struct pay_error *err)
{
    char acq[PAY_LEDGER_ID_MAX + 1], iss[PAY_LEDGER_ID_MAX + 1], id[PAY_LEDGER_ID_MAX + 1];
    pay_switch_clearing_account(acquirer, acq);
    pay_switch_clearing_account(issuer, iss);
    bool refund = strcmp(proc, PAY_NET_PROC_REFUND) == 0;
    snprintf(id, sizeof id, "clr:%s:%s", acquirer, trace);
    enum pay_err rc = transfer(sw, tx, id, refund ? acq : iss, refund ? iss : acq, amount_minor,
                               PAY_SWITCH_XFER_CLEARING, settle_date, err);
    if (rc != PAY_ERR_OK || refund) /* refunds carry no fees */
        return rc;
    int64_t interchange = 0, fee = 0;
    rc = purchase_fees(sw, tx, acquirer, trace, amount_minor, &interchange, &fee, err);
    const struct {
        char kind;
        const char *from, *to;
        int64_t amount;
        int32_t code;
    } fees[] = {{'i', acq, iss, interchange, PAY_SWITCH_XFER_INTERCHANGE},
                {'a', acq, sw->fees_account, fee, PAY_SWITCH_XFER_NETWORK_FEE},
                {'s', iss, sw->fees_account, fee, PAY_SWITCH_XFER_NETWORK_FEE}};
    for (size_t i = 0; rc == PAY_ERR_OK && i < 3; i++) {
        if (fees[i].amount == 0)
            continue;
        snprintf(id, sizeof id, "fee%c:%s:%s", fees[i].kind, acquirer, trace);
        rc = transfer(sw, tx, id, fees[i].from, fees[i].to, fees[i].amount, fees[i].code,
                      settle_date, err);
    }
    return rc;
}

/* --- settlement ------------------------------------------------------------------------------ */

struct position {
    char member[PAY_NET_CODE_MAX + 1];
    char settle_account[PAY_LEDGER_ID_MAX + 1];
    int64_t acquired, issued; /* what the day brought it as acquirer, as issuer (net of refunds) */
    int64_t interchange;      /* received as issuer less paid as acquirer */
    int64_t fees;             /* the network's fees it paid, on both sides */
};

struct settle_op {
    struct pay_switch *sw;
    const char *date;
    struct position p[PAY_SWITCH_SETTLE_MEMBERS_MAX];
    size_t n;
    int settled;
    int64_t fees; /* the network's fee income of the day */
};

/* The position of member code in o (added when new). NULL when there are too many members. */
static struct position *position_of(struct settle_op *o, const char *code, const char *settle)
{
    size_t i = 0;
    while (i < o->n && strcmp(o->p[i].member, code) != 0)
        i++;
    if (i < o->n)
        return &o->p[i];
    if (o->n == PAY_SWITCH_SETTLE_MEMBERS_MAX)
        return NULL;
    memset(&o->p[i], 0, sizeof o->p[i]);
    pay_str_copy(o->p[i].member, sizeof o->p[i].member, code);
    pay_str_copy(o->p[i].settle_account, sizeof o->p[i].settle_account, settle);
    o->n++;
    return &o->p[i];
}

/* Sums of one side: approved captures less approved refunds of the day, the interchange and the
 * network's fees, per member. */
static enum pay_err add_side(struct pay_store_tx *tx, struct settle_op *o, bool acquirer,
                             struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        acquirer ? "SELECT m.acquirer, SUM(CASE WHEN m.proc = '200000' THEN -m.amount_minor ELSE"
                   " m.amount_minor END), b.settle_account, SUM(m.interchange_minor),"
                   " SUM(m.acq_fee_minor) FROM switch_msgs m JOIN switch_members b ON b.code ="
                   " m.acquirer WHERE m.settle_date = $1 AND m.state = 'ANSWERED' AND"
                   " m.response_code = '00' AND m.mti IN ('0220', '0200') GROUP BY m.acquirer,"
                   " b.settle_account ORDER BY m.acquirer"
                 : "SELECT m.issuer, SUM(CASE WHEN m.proc = '200000' THEN -m.amount_minor ELSE"
                   " m.amount_minor END), b.settle_account, SUM(m.interchange_minor),"
                   " SUM(m.iss_fee_minor) FROM switch_msgs m JOIN switch_members b ON b.code ="
                   " m.issuer WHERE m.settle_date = $1 AND m.state = 'ANSWERED' AND"
                   " m.response_code = '00' AND m.mti IN ('0220', '0200') GROUP BY m.issuer,"
                   " b.settle_account ORDER BY m.issuer",
        "t", o->date);
    if (!st)
        return err->code;
    int r;
    while ((r = pay_store_step(st, err)) == 1) {
        struct position *p = position_of(o, pay_store_col_text(st, 0), pay_store_col_text(st, 2));
        if (!p) {
            pay_store_done(st);
            return pay_error_set(err, PAY_ERR_INTERNAL, "", "more than %d members",
                                 PAY_SWITCH_SETTLE_MEMBERS_MAX);
        }
        int64_t sum = pay_store_col_int64(st, 1), ic = pay_store_col_int64(st, 3), neg = 0;
        *(acquirer ? &p->acquired : &p->issued) = sum;
        PAY_ASSERT(pay_money_sub(0, ic, &neg) == PAY_ERR_OK);
        PAY_ASSERT(pay_money_add(p->interchange, acquirer ? neg : ic, &p->interchange) ==
                   PAY_ERR_OK);
        PAY_ASSERT(pay_money_add(p->fees, pay_store_col_int64(st, 4), &p->fees) == PAY_ERR_OK);
        PAY_ASSERT(pay_money_add(o->fees, pay_store_col_int64(st, 4), &o->fees) == PAY_ERR_OK);
    }
    pay_store_done(st);
    return r < 0 ? err->code : PAY_ERR_OK;
}

/* A member's net position: acquired less issued, plus the interchange, less the fees. */
static int64_t net_of(const struct position *p)
{
    int64_t net = 0;
    PAY_ASSERT(pay_money_sub(p->acquired, p->issued, &net) == PAY_ERR_OK);
    PAY_ASSERT(pay_money_add(net, p->interchange, &net) == PAY_ERR_OK);
    PAY_ASSERT(pay_money_sub(net, p->fees, &net) == PAY_ERR_OK);
    return net;
}

/* One member's net position moved between its clearing and settlement accounts. */
static enum pay_err settle_member(struct pay_store_tx *tx, struct settle_op *o,
                                  const struct position *p, int64_t net, struct pay_error *err)
{
    char clear[PAY_LEDGER_ID_MAX + 1], id[PAY_LEDGER_ID_MAX + 1] = "";
    pay_switch_clearing_account(p->member, clear);
    enum pay_err rc = PAY_ERR_OK;
    if (net != 0) {
        snprintf(id, sizeof id, "settle:%s:%s", o->date, p->member);
        int64_t abs_net = 0;
        PAY_ASSERT(pay_money_sub(0, net, &abs_net) == PAY_ERR_OK);
        rc = net > 0 ? transfer(o->sw, tx, id, clear, p->settle_account, net,
                                PAY_SWITCH_XFER_SETTLEMENT, o->date, err)
                     : transfer(o->sw, tx, id, p->settle_account, clear, abs_net,
                                PAY_SWITCH_XFER_SETTLEMENT, o->date, err);
    }
    if (rc == PAY_ERR_OK)
        rc = pay_store_exec(tx, err,
                            "INSERT INTO switch_settlements (settle_date, member, acquired_minor,"
                            " issued_minor, interchange_minor, fees_minor, net_minor, transfer_id,"
                            " created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                            "ttiiiiiti", o->date, p->member, p->acquired, p->issued, p->interchange,
                            p->fees, net, id, pay_clock_now_ms());
    return rc;
}

static enum pay_err settle_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct settle_op *o = ctx;
    o->n = 0;
    o->settled = 0;
    o->fees = 0;
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT 1 FROM switch_settlement_runs WHERE settle_date = $1", "t", o->date);
    if (!st)
        return err->code;
    int r = pay_store_step(st, err);
    pay_store_done(st);
    if (r != 0)
        return r < 0 ? err->code : PAY_ERR_OK; /* settled before */
    enum pay_err rc = add_side(tx, o, true, err);
    if (rc == PAY_ERR_OK)
        rc = add_side(tx, o, false, err);
    int64_t sum = 0, moved = 0;
    for (size_t i = 0; rc == PAY_ERR_OK && i < o->n; i++) {
        int64_t net = net_of(&o->p[i]), abs_net = 0;
        PAY_ASSERT(pay_money_add(sum, net, &sum) == PAY_ERR_OK);
        PAY_ASSERT(pay_money_sub(0, net, &abs_net) == PAY_ERR_OK);
        PAY_ASSERT(pay_money_add(moved, net > 0 ? net : abs_net, &moved) == PAY_ERR_OK);
        rc = settle_member(tx, o, &o->p[i], net, err);
    }
    if (rc != PAY_ERR_OK)
        return rc;
    /* what the members paid the network is its fee income: the rest sums to zero */
    PAY_ASSERT(pay_money_add(sum, o->fees, &sum) == PAY_ERR_OK);
    PAY_ASSERT_MSG(sum == 0, "positions of %s and the fees sum to %lld", o->date, (long long)sum);
    o->settled = (int)o->n;
    return pay_store_exec(tx, err,
                          "INSERT INTO switch_settlement_runs (settle_date, members, moved_minor,"
                          " fees_minor, created_ms) VALUES ($1, $2, $3, $4, $5)",
                          "tiiii", o->date, (int64_t)o->n, moved, o->fees, pay_clock_now_ms());
}

enum pay_err pay_switch_settle(struct pay_switch *sw, const char *date, int *members,
                               struct pay_error *err)
{
    int64_t day_ms = 0;
    char today[PAY_NET_DATE_LEN];
    pay_net_date(pay_clock_now_ms(), today);
    *members = 0;
    if (!pay_net_date_parse(date, &day_ms) || strcmp(date, today) >= 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "date",
                             "date must be an ended business day YYYY-MM-DD (today is %s)", today);
    struct settle_op *o = calloc(1, sizeof *o);
    if (!o)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    o->sw = sw;
    o->date = date;
    enum pay_err rc = pay_committer_submit(sw->committer, settle_apply, o, err);
    *members = o->settled;
    if (rc == PAY_ERR_OK && o->settled > 0)
        PAY_INFO("switch.settled", "date=%s members=%d", date, o->settled);
    free(o);
    return rc;
}

struct due_days {
    char dates[8][PAY_NET_DATE_LEN];
    size_t n;
    const char *today;
};

static enum pay_err due_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct due_days *d = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT DISTINCT m.settle_date FROM switch_msgs m WHERE m.settle_date <> '' AND"
        " m.settle_date < $1 AND NOT EXISTS (SELECT 1 FROM switch_settlement_runs r WHERE"
        " r.settle_date = m.settle_date) ORDER BY m.settle_date LIMIT 8",
        "t", d->today);
    if (!st)
        return err->code;
    while (d->n < 8 && pay_store_step(st, err) == 1)
        pay_store_col_copy(st, 0, d->dates[d->n++], PAY_NET_DATE_LEN);
    pay_store_done(st);
    return PAY_ERR_OK;
}

void pay_switch_clearing_run(struct pay_switch *sw)
{
    char today[PAY_NET_DATE_LEN];
    pay_net_date(pay_clock_now_ms(), today);
    struct due_days d = {.today = today};
    struct pay_error err = {0};
    if (pay_store_run_read(sw->store, due_tx, &d, &err) != PAY_ERR_OK)
        return;
    for (size_t i = 0; i < d.n; i++) {
        int members = 0;
        memset(&err, 0, sizeof err);
        if (pay_switch_settle(sw, d.dates[i], &members, &err) != PAY_ERR_OK)
            PAY_ERROR("switch.settle_failed", "date=%s code=%s error=\"%s\"", d.dates[i],
                      pay_err_name(err.code), err.detail);
    }
}

/* --- GET /net/v1/settlements/{date}: a member's settlement of a business day ---------------- */

struct position_io {
    const char *date, *member;
    bool run, found;
    int64_t acquired, issued, interchange, fees, net;
    char transfer_id[PAY_LEDGER_ID_MAX + 1];
};

static enum pay_err position_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct position_io *io = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT 1 FROM switch_settlement_runs WHERE settle_date = $1", "t", io->date);
    if (!st)
        return err->code;
    io->run = pay_store_step(st, err) == 1;
    pay_store_done(st);
    st = pay_store_query(tx, err,
                         "SELECT acquired_minor, issued_minor, net_minor, transfer_id,"
                         " interchange_minor, fees_minor FROM switch_settlements WHERE"
                         " settle_date = $1 AND member = $2",
                         "tt", io->date, io->member);
    if (!st)
        return err->code;
    if ((io->found = pay_store_step(st, err) == 1)) {
        io->acquired = pay_store_col_int64(st, 0);
        io->issued = pay_store_col_int64(st, 1);
        io->net = pay_store_col_int64(st, 2);
        pay_store_col_copy(st, 3, io->transfer_id, sizeof io->transfer_id);
        io->interchange = pay_store_col_int64(st, 4);
        io->fees = pay_store_col_int64(st, 5);
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

static enum pay_err settlement_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_switch *sw = pay_http_req_ctx(req);
    struct pay_switch_member m;
    json_t *body = NULL;
    if (!pay_switch_api_begin(req, &m, &body))
        return PAY_ERR_OK;
    struct position_io io = {.date = pay_http_req_param(req, "date"), .member = m.code};
    int64_t day_ms = 0;
    enum pay_err rc =
        pay_net_date_parse(io.date, &day_ms)
            ? pay_store_run_read(sw->store, position_tx, &io, err)
            : pay_error_set(err, PAY_ERR_FIELD_INVALID, "date", "date must be YYYY-MM-DD");
    if (rc == PAY_ERR_OK)
        pay_net_reply(req, 200,
                      json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:s, s:s}", "de15",
                                io.date, "member", m.code, "de49", PAY_SWITCH_CURRENCY, "settled",
                                io.run, "acquiredMinor", (json_int_t)io.acquired, "issuedMinor",
                                (json_int_t)io.issued, "interchangeMinor",
                                (json_int_t)io.interchange, "feesMinor", (json_int_t)io.fees,
                                "netMinor", (json_int_t)io.net, "transferId", io.transfer_id,
                                "de100", sw->opt.code));
    else
        pay_net_fail(req, err);
    json_decref(body);
    pay_switch_member_fini(&m);
    return PAY_ERR_OK;
}

static struct pay_http_route routes[] = {
    {"GET", "/net/v1/settlements/{date}", PAY_HTTP_API, PAY_HTTP_BODY_RAW, settlement_handler,
     NULL},
    {"GET", "/net/v1/clearing/{date}", PAY_HTTP_API, PAY_HTTP_BODY_RAW,
     pay_switch_clearing_file_handler, NULL},
};

const struct pay_http_route *pay_switch_clearing_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
