/* Resolving a reconciliation difference (docs/reconciliation.md, "Resolution"): the operator's
 * decision, in one command with what it moves and its audit entry. accept_ours moves nothing;
 * write_off moves the difference between the reserve's mirror and pf.suspense.<cur> (balanced,
 * named by the difference); accept_bank books a bank payment we never heard of exactly as its
 * notification would have (the trade paid, or refunded when it had closed). */
#include "platform/platform.h"
#include "platform/recon.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/money.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

struct diff {
    char bank[PAY_BANK_CODE_MAX + 1], date[16], reference[PAY_LEDGER_ID_MAX + 1], cls[16];
    char kind[24], currency[4], serial[PAY_LEDGER_ID_MAX + 1], our_status[40], status[16];
    int64_t bank_minor, our_minor;
};

struct resolve_cmd {
    struct pay_platform *p;
    const char *id, *resolution, *note, *actor;
    struct diff d;
    char transfer_id[PAY_LEDGER_ID_MAX + 1];
};

static enum pay_err load(struct pay_store_tx *tx, const char *id, struct diff *d,
                         struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT bank, business_date, reference, class, kind, currency, bank_serial, our_status,"
        " status, bank_minor, our_minor FROM pf_recon_diffs WHERE id = $1",
        "t", id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    if (rc == 1) {
        char *f[] = {d->bank,     d->date,   d->reference,  d->cls,   d->kind,
                     d->currency, d->serial, d->our_status, d->status};
        size_t n[] = {sizeof d->bank,   sizeof d->date,       sizeof d->reference,
                      sizeof d->cls,    sizeof d->kind,       sizeof d->currency,
                      sizeof d->serial, sizeof d->our_status, sizeof d->status};
        for (int i = 0; i < 9; i++)
            pay_store_col_copy(st, i, f[i], n[i]);
        d->bank_minor = pay_store_col_int64(st, 9);
        d->our_minor = pay_store_col_int64(st, 10);
    }
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    return rc == 1 ? PAY_ERR_OK
                   : pay_error_set(err, PAY_ERR_RECON_DIFFERENCE_NOT_FOUND, "diff_id", NULL);
}

/* The difference (bank - ours) between the reserve's mirror and the suspense account. */
static enum pay_err write_off(struct resolve_cmd *c, struct pay_store_tx *tx, struct pay_error *err)
{
    int64_t d = 0;
    if (pay_money_sub(c->d.bank_minor, c->d.our_minor, &d) != PAY_ERR_OK || d == 0 ||
        d == INT64_MIN)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "resolution",
                             "nothing to write off: the two sides are equal");
    struct pay_ledger_transfer t = {.amount_minor = d > 0 ? d : -d, .code = PAY_PF_XFER_RECON};
    PAY_ASSERT_MSG(t.amount_minor > 0, "write-off of %s", c->id);
    char reserve[PAY_LEDGER_ID_MAX + 1], suspense[PAY_LEDGER_ID_MAX + 1];
    enum pay_err e;
    if ((e = pay_platform_account_ensure(c->p, tx, PAY_PF_ACCT_RESERVE, c->d.bank, c->d.currency,
                                         reserve, err)) != PAY_ERR_OK ||
        (e = pay_platform_account_ensure(c->p, tx, PAY_PF_ACCT_SUSPENSE, "", c->d.currency,
                                         suspense, err)) != PAY_ERR_OK)
        return e;
    /* the bank had more: the mirror grows to it, the excess waits in suspense; or less */
    pay_str_copy(t.debit_account_id, sizeof t.debit_account_id, d > 0 ? reserve : suspense);
    pay_str_copy(t.credit_account_id, sizeof t.credit_account_id, d > 0 ? suspense : reserve);
    snprintf(t.id, sizeof t.id, "%s.writeoff", c->id);
    pay_str_copy(t.currency, sizeof t.currency, c->d.currency);
    pay_str_copy(t.user_data, sizeof t.user_data, c->d.reference);
    enum pay_ledger_result r;
    if ((e = pay_ledger_tx_transfer(c->p->ledger, tx, &t, &r, err)) != PAY_ERR_OK ||
        (e = pay_platform_ledger_error(r, err)) != PAY_ERR_OK)
        return e;
    pay_str_copy(c->transfer_id, sizeof c->transfer_id, t.id);
    return PAY_ERR_OK;
}

/* Our records follow the bank: only for a bank payment of one of our orders that we never
 * booked (its notification lost); anything else has no record of ours to complete. */
static enum pay_err accept_bank(struct resolve_cmd *c, struct pay_store_tx *tx,
                                struct pay_error *err)
{
    if (strcmp(c->d.cls, "status") != 0 || strcmp(c->d.our_status, "order:created") != 0 ||
        c->d.bank_minor <= 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "resolution",
                             "accept_bank completes a bank payment of one of our orders that we "
                             "never booked; resolve this one with write_off or accept_ours");
    bool late = false;
    enum pay_err e = pay_platform_bank_notice_tx(
        c->p, tx, c->d.bank, c->d.reference, c->d.serial, c->d.bank_minor, c->d.currency,
        strcmp(c->d.kind, "AGREEMENT_DEBIT") == 0, &late, err);
    /* the ledger transfer that booked it: "<order>.late", or the trade's "<trade>.pay" */
    if (e == PAY_ERR_OK && late)
        snprintf(c->transfer_id, sizeof c->transfer_id, "%.58s.late", c->d.reference);
    else if (e == PAY_ERR_OK) { /* order ids are "<trade id>-<n>" */
        char trade[PAY_ID_MAX];
        snprintf(trade, sizeof trade, "%.*s", (int)strcspn(c->d.reference, "-"), c->d.reference);
        snprintf(c->transfer_id, sizeof c->transfer_id, "%s.pay", trade);
    }
    return e;
}

static enum pay_err resolve_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct resolve_cmd *c = ctx;
    c->transfer_id[0] = '\0';
    enum pay_err e = load(tx, c->id, &c->d, err);
    if (e == PAY_ERR_OK && strcmp(c->d.status, "open") != 0)
        e = pay_error_set(err, PAY_ERR_RECON_DIFFERENCE_RESOLVED, "diff_id", "it is %s",
                          c->d.status);
    if (e == PAY_ERR_OK && strcmp(c->resolution, "write_off") == 0)
        e = write_off(c, tx, err);
    else if (e == PAY_ERR_OK && strcmp(c->resolution, "accept_bank") == 0)
        e = accept_bank(c, tx, err);
    if (e != PAY_ERR_OK)
        return e;
    e = pay_store_exec(tx, err,
                       "UPDATE pf_recon_diffs SET status = 'resolved', resolution = $1, note = $2,"
                       " resolved_by = $3, transfer_id = $4, resolved_ms = $5"
                       " WHERE id = $6 AND status = 'open'",
                       "ttttit", c->resolution, c->note, c->actor, c->transfer_id,
                       pay_clock_now_ms(), c->id);
    char detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(detail, sizeof detail,
             "resolution=%s bank=%s date=%s reference=%.64s class=%s bank_minor=%lld"
             " our_minor=%lld%s%.64s note=%.160s",
             c->resolution, c->d.bank, c->d.date, c->d.reference, c->d.cls,
             (long long)c->d.bank_minor, (long long)c->d.our_minor,
             c->transfer_id[0] ? " booked=" : "", c->transfer_id, c->note);
    if (e == PAY_ERR_OK)
        e = pay_platform_audit(
            c->p, tx,
            &(struct pay_audit_entry){
                .actor = c->actor, .action = "recon.resolve", .target = c->id, .detail = detail},
            err);
    return e;
}

enum pay_err pay_platform_recon_resolve(struct pay_platform *p, const char *diff_id,
                                        const char *resolution, const char *note, const char *actor,
                                        struct pay_error *err)
{
    static const char *const known[] = {"accept_bank", "accept_ours", "write_off"};
    bool ok = false;
    for (size_t i = 0; resolution && i < 3; i++)
        ok |= strcmp(resolution, known[i]) == 0;
    if (!ok)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "resolution",
                             "accept_bank, accept_ours or write_off");
    if (!diff_id || strlen(diff_id) >= PAY_ID_MAX)
        return pay_error_set(err, PAY_ERR_RECON_DIFFERENCE_NOT_FOUND, "diff_id", NULL);
    if (note && strlen(note) > PAY_RECON_NOTE_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, "note", "at most %d bytes",
                             PAY_RECON_NOTE_MAX);
    struct resolve_cmd c = {
        .p = p, .id = diff_id, .resolution = resolution, .note = note ? note : "", .actor = actor};
    enum pay_err e = pay_platform_write(p, resolve_apply, &c, err);
    PAY_INFO("recon.resolve", "diff=%s resolution=%s result=%s", diff_id, resolution,
             pay_err_name(e));
    if (e == PAY_ERR_OK)
        pay_platform_wake(p); /* a late payment's refund goes to the bank */
    return e;
}
