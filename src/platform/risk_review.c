/* Risk reviews (docs/risk.md, "Review"): a payment the rules held for a check (risk_pay.c) waits,
 * one per trade, its amount reserved in the consumer's wallet by a pending ledger transfer; the
 * operator approves it (the hold posted as that payment in the same command) or rejects it with a
 * note (the hold voided, the trade closed unpaid). Each
 * decision is one command with its audit entry; a second decision of the same review changes
 * nothing (RISK_REVIEW_DECIDED), so money moves at most once. */
#include "platform/platform.h"
#include "platform/risk.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/ids.h"

#include <stdio.h>
#include <string.h>

/* A review as stored. */
struct review {
    char attempt_id[PAY_ID_MAX], pay_method[16], consumer_id[PAY_ID_MAX], status[16];
    char merchant_id[PAY_PLATFORM_MERCHANT_ID_MAX + 1];
    char reference[PAY_TEXT_FIELD_MAX + 1], reasons[PAY_RISK_REASONS_MAX + 1], currency[4];
    char hold_id[PAY_LEDGER_ID_MAX + 1]; /* its pending transfer ("": held before holds) */
    int64_t amount_minor;
};

struct decide_cmd {
    struct pay_platform *p;
    const char *trade_id, *note, *actor, *source;
    bool approve;
    struct review r;
};

static enum pay_err review_load(struct pay_store_tx *tx, const char *trade_id, struct review *r,
                                struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT attempt_id, pay_method, consumer_id, status, reference, reasons, currency,"
        " merchant_id, amount_minor, hold_id FROM pf_risk_reviews WHERE trade_id = $1",
        "t", trade_id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    if (rc == 1) {
        char *f[] = {r->attempt_id, r->pay_method, r->consumer_id, r->status,
                     r->reference,  r->reasons,    r->currency,    r->merchant_id};
        size_t n[] = {sizeof r->attempt_id, sizeof r->pay_method, sizeof r->consumer_id,
                      sizeof r->status,     sizeof r->reference,  sizeof r->reasons,
                      sizeof r->currency,   sizeof r->merchant_id};
        for (int i = 0; i < 8; i++)
            pay_store_col_copy(st, i, f[i], n[i]);
        r->amount_minor = pay_store_col_int64(st, 8);
        pay_store_col_copy(st, 9, r->hold_id, sizeof r->hold_id);
    }
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    return rc == 1 ? PAY_ERR_OK
                   : pay_error_set(err, PAY_ERR_RISK_REVIEW_NOT_FOUND, "trade_id", NULL);
}

/* Approve: exactly the payment that was held, its money posted from the hold in the consumer's
 * wallet, even past the trade's timeout (the consumer paid in time; the check took longer); an
 * agreement debit only while its agreement is still active. A refusal (the agreement revoked)
 * is the answer and changes nothing: the review still waits. */
static enum pay_err approve_tx(struct decide_cmd *c, struct pay_store_tx *tx, struct pay_error *err)
{
    struct pay_platform_payment pm = {
        c->r.pay_method,  PAY_PF_ACCT_WALLET, c->r.consumer_id, c->r.reference, true,
        c->r.consumer_id, c->r.hold_id};
    enum pay_err e = PAY_ERR_OK;
    if (strcmp(c->r.pay_method, "agreement") == 0) { /* still signed, by the same consumer */
        char owner[PAY_ID_MAX] = "";
        e = pay_platform_agreement_consumer_tx(tx, c->r.reference, c->r.merchant_id, owner, err);
        if (e == PAY_ERR_OK && strcmp(owner, c->r.consumer_id) != 0)
            e = pay_error_set(err, PAY_ERR_AGREEMENT_INVALID, "agreement_no", NULL);
    }
    if (e == PAY_ERR_OK)
        e = pay_platform_trade_pay_tx(c->p, tx, c->trade_id, &pm, err);
    return e == PAY_ERR_OK ? pay_risk_paid_tx(tx, c->r.attempt_id, err) : e;
}

/* The hold voided: the consumer's wallet whole again, to the cent ("<trade>.release"). */
static enum pay_err release_tx(struct decide_cmd *c, struct pay_store_tx *tx, struct pay_error *err)
{
    struct pay_ledger_transfer x = {.code = PAY_PF_XFER_RISK_RELEASE,
                                    .flags = PAY_LEDGER_TF_VOID_PENDING};
    enum pay_ledger_result r = PAY_LEDGER_OK;
    snprintf(x.id, sizeof x.id, "%s.release", c->trade_id);
    pay_str_copy(x.pending_id, sizeof x.pending_id, c->r.hold_id);
    pay_str_copy(x.user_data, sizeof x.user_data, c->trade_id);
    enum pay_err e = pay_ledger_tx_transfer(c->p->ledger, tx, &x, &r, err);
    return e == PAY_ERR_OK ? pay_platform_ledger_error(r, err) : e;
}

/* Reject: the money held goes back to the consumer and the trade closes unpaid
 * ("risk_rejected", the merchant notified) unless it was closed or paid otherwise meanwhile
 * (a review held before holds existed). */
static enum pay_err reject_tx(struct decide_cmd *c, struct pay_store_tx *tx, struct pay_error *err)
{
    struct pay_platform_trade t;
    enum pay_err e = c->r.hold_id[0] ? release_tx(c, tx, err) : PAY_ERR_OK;
    if (e == PAY_ERR_OK)
        e = pay_platform_trade_load(tx, NULL, c->trade_id, NULL, &t, err);
    if (e != PAY_ERR_OK || strcmp(t.state, PAY_TRADE_WAIT_BUYER_PAY) != 0)
        return e;
    return pay_platform_trade_close_tx(c->p, tx, NULL, c->trade_id, "risk_rejected", err);
}

static enum pay_err decide_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct decide_cmd *c = ctx;
    const char *status = c->approve ? "approved" : "rejected";
    enum pay_err e = review_load(tx, c->trade_id, &c->r, err);
    if (e == PAY_ERR_OK && strcmp(c->r.status, "pending") != 0)
        e = pay_error_set(err, PAY_ERR_RISK_REVIEW_DECIDED, "trade_id", "it was %s", c->r.status);
    if (e == PAY_ERR_OK)
        e = pay_store_exec(tx, err,
                           "UPDATE pf_risk_reviews SET status = $1, note = $2, decided_by = $3,"
                           " decided_ms = $4 WHERE trade_id = $5 AND status = 'pending'",
                           "tttit", status, c->note, c->actor, pay_clock_now_ms(), c->trade_id);
    /* another node decided it between our read and our write (PostgreSQL): decided */
    if (e == PAY_ERR_OK && pay_store_changes(tx) != 1)
        e = pay_error_set(err, PAY_ERR_RISK_REVIEW_DECIDED, "trade_id", "it was decided meanwhile");
    if (e != PAY_ERR_OK)
        return e;
    e = c->approve ? approve_tx(c, tx, err) : reject_tx(c, tx, err);
    char detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(detail, sizeof detail,
             "amount_minor=%lld %s consumer=%s method=%s reasons=%.200s note=%.200s",
             (long long)c->r.amount_minor, c->r.currency, c->r.consumer_id, c->r.pay_method,
             c->r.reasons, c->note);
    if (e == PAY_ERR_OK)
        e = pay_platform_audit(c->p, tx,
                               &(struct pay_audit_entry){.actor = c->actor,
                                                         .action = c->approve
                                                                       ? "risk.review_approve"
                                                                       : "risk.review_reject",
                                                         .target = c->trade_id,
                                                         .source = c->source,
                                                         .detail = detail},
                               err);
    return e;
}

/* The refusals a decision can meet before it runs: the trade's id and the note. */
static enum pay_err decide_check(const char *trade_id, bool approve, const char *note,
                                 struct pay_error *err)
{
    if (!trade_id || !pay_id_valid(trade_id, "tr"))
        return pay_error_set(err, PAY_ERR_RISK_REVIEW_NOT_FOUND, "trade_id", NULL);
    if (strlen(note) > PAY_RISK_NOTE_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, "note", "at most %d bytes",
                             PAY_RISK_NOTE_MAX);
    if (!approve && !note[0])
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "note",
                             "a rejection says why (the consumer's support will read it)");
    return PAY_ERR_OK;
}

enum pay_err pay_platform_risk_review_decide(struct pay_platform *p, const char *trade_id,
                                             bool approve, const char *note, const char *actor,
                                             const char *source, struct pay_error *err)
{
    struct decide_cmd c = {.p = p,
                           .trade_id = trade_id,
                           .note = note ? note : "",
                           .actor = actor,
                           .source = source ? source : "",
                           .approve = approve};
    const char *action = approve ? "risk.review_approve" : "risk.review_reject";
    enum pay_err e = decide_check(trade_id, approve, c.note, err);
    if (e == PAY_ERR_OK)
        e = pay_platform_write(p, decide_apply, &c, err);
    PAY_INFO("risk.review", "decision=%s result=%s", action, pay_err_name(e));
    if (e == PAY_ERR_OK)
        pay_platform_wake(p);            /* the notifier: the trade paid or closed */
    else if (pay_platform_is_refusal(e)) /* refused, audited all the same (nothing changed) */
        pay_platform_audit_event(p, &(struct pay_audit_entry){.actor = actor,
                                                              .action = action,
                                                              .target = trade_id ? trade_id : "",
                                                              .outcome = pay_err_name(e),
                                                              .source = c.source,
                                                              .detail = err->detail});
    return e;
}
