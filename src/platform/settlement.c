/* Settlement to merchants (资金结算, docs/settlement.md): on each business day, once the local
 * clock passes [platform] settle_time, every merchant with a settlement account is paid what
 * its cycle (T+N business days) has made due: its available balance as it stood at the cut-off,
 * less what open refund requests may need, if that reaches its minimum. A payout is recorded
 * and its money moved merchant -> payouts in flight in one command, then sent to the bank
 * (transferId = the settlement id, so a retry never pays twice) until the bank answers
 * definitively: paid (in flight -> reserve) or refused (in flight -> merchant, flagged). */
#include "platform/connector.h"
#include "core/buf.h"
#include "platform/platform.h"

#include "core/assertions.h"
#include "core/clock.h"
#include "crypto/ids.h"
#include "core/limits.h"
#include "core/money.h"
#include "i18n/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define DAY_MS 86400000LL

bool pay_platform_business_day(const struct pay_platform *p, int64_t days)
{
    int64_t y;
    int m, d;
    pay_tz_civil_from_days(days, &y, &m, &d);
    int weekday = (int)(((days % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday (4) */
    if (weekday == 0 || weekday == 6)
        return false;
    char date[16];
    snprintf(date, sizeof date, "%04lld-%02d-%02d", (long long)y, m, d);
    return strstr(p->set.holidays, date) == NULL;
}

/* The local midnight starting day number days (noon UTC of a date lies inside the local date
 * for every offset from -12 h to +12 h). */
static int64_t day_start_ms(const struct pay_tz *tz, int64_t days)
{
    return pay_tz_day_start_ms(tz, days * DAY_MS + DAY_MS / 2);
}

int64_t pay_platform_settle_cutoff_ms(const struct pay_platform *p, const struct pay_tz *tz,
                                      int64_t run_day, int64_t cycle_days, int64_t now_ms)
{
    if (cycle_days == 0) /* T+0: everything up to the run */
        return now_ms;
    int64_t d = run_day;
    for (int64_t k = 0; k < cycle_days; k++)
        do
            d--;
        while (!pay_platform_business_day(p, d));
    return day_start_ms(tz, d + 1); /* the end of business day T (and of the days off after) */
}

/* --- one merchant's payout ------------------------------------------------------------------ */

struct payee {
    char id[PAY_PLATFORM_MERCHANT_ID_MAX + 1];
    char bank[16], account[64];
    int64_t days, min_minor;
};

struct pay_cmd {
    struct pay_platform *p;
    const struct payee *m;
    const char *date, *currency;
    char id[PAY_ID_MAX];
    int64_t cutoff_ms, credits_seen, debits_seen, net_after;
    int64_t amount; /* out: 0 when nothing was due */
    bool moved;     /* out: the balance moved since the walk; nothing written, walk again */
};

/* The merchant's account's net credit since the cut-off, from the ledger's newest transfers,
 * and its posted balances as read just before (the command checks nothing moved since). */
static enum pay_err walk(struct pay_platform *p, struct pay_cmd *c, const char *acct,
                         struct pay_error *err)
{
    struct pay_ledger_account a;
    bool found = false;
    enum pay_err e = pay_ledger_account_get(p->ledger, acct, &a, &found, err);
    c->credits_seen = found ? a.credits_posted : 0;
    c->debits_seen = found ? a.debits_posted : 0;
    c->net_after = 0;
    struct pay_ledger_transfer t[PAY_PLATFORM_SETTLE_WALK_PAGE];
    int64_t cursor = 0;
    bool older = false;
    while (e == PAY_ERR_OK && found && !older) {
        size_t n = 0;
        int64_t next = 0;
        e = pay_ledger_account_transfers(p->ledger, acct, cursor, t, PAY_PLATFORM_SETTLE_WALK_PAGE,
                                         &n, &next, err);
        for (size_t i = 0; e == PAY_ERR_OK && i < n && !older; i++) {
            older = t[i].created_ms < c->cutoff_ms;
            bool in = strcmp(t[i].credit_account_id, acct) == 0;
            if (!older)
                e = in ? pay_money_add(c->net_after, t[i].amount_minor, &c->net_after)
                       : pay_money_sub(c->net_after, t[i].amount_minor, &c->net_after);
        }
        if (next == 0)
            break;
        cursor = next;
    }
    return e;
}

/* What open refund requests of the merchant's paid (not escrow) trades may still take. */
static enum pay_err reserved(struct pay_store_tx *tx, const char *merchant_id, const char *cur,
                             int64_t *out, struct pay_error *err)
{
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT COALESCE(SUM(r.amount_minor), 0) FROM pf_refund_requests r"
                        " JOIN pf_trades t ON t.id = r.trade_id WHERE r.merchant_id = $1"
                        " AND r.currency = $2 AND r.status IN ('WAIT_MERCHANT','WAIT_OPERATOR')"
                        " AND t.state = 'TRADE_SUCCESS'",
                        "tt", merchant_id, cur);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    *out = rc == 1 ? pay_store_col_int64(st, 0) : 0;
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

static enum pay_err payout_xfer(struct pay_platform *p, struct pay_store_tx *tx, const char *id,
                                const char *suffix, enum pay_platform_account_kind dk,
                                const char *down, enum pay_platform_account_kind ck,
                                const char *cown, int64_t amount, const char *cur, int32_t code,
                                struct pay_error *err)
{
    struct pay_ledger_transfer t = {.amount_minor = amount, .code = code};
    enum pay_err e;
    if ((e = pay_platform_account_ensure(p, tx, dk, down, cur, t.debit_account_id, err)) !=
            PAY_ERR_OK ||
        (e = pay_platform_account_ensure(p, tx, ck, cown, cur, t.credit_account_id, err)) !=
            PAY_ERR_OK)
        return e;
    snprintf(t.id, sizeof t.id, "%s.%s", id, suffix);
    pay_str_copy(t.currency, sizeof t.currency, cur);
    pay_str_copy(t.user_data, sizeof t.user_data, id);
    enum pay_ledger_result r;
    if ((e = pay_ledger_tx_transfer(p->ledger, tx, &t, &r, err)) != PAY_ERR_OK)
        return e;
    return pay_platform_ledger_error(r, err);
}

/* What the platform's books say its reserve at bank can still pay out in cur: the mirror's
 * balance less the payouts from it still in flight. The bank may hold more (money never booked
 * here), but a payout beyond this could not be booked once the bank paid it (the mirror never
 * crosses zero), so it is not sent. */
static enum pay_err reserve_free(struct pay_platform *p, struct pay_store_tx *tx, const char *bank,
                                 const char *cur, int64_t *out, struct pay_error *err)
{
    char acct[PAY_LEDGER_ID_MAX + 1];
    struct pay_ledger_account a;
    enum pay_ledger_result r;
    enum pay_err e = pay_platform_account_ensure(p, tx, PAY_PF_ACCT_RESERVE, bank, cur, acct, err);
    if (e == PAY_ERR_OK)
        e = pay_ledger_tx_account_get(p->ledger, tx, acct, &a, &r, err);
    if (e != PAY_ERR_OK)
        return e;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT COALESCE(SUM(amount_minor), 0) FROM pf_settlements WHERE status = 'pending'"
        " AND bank = $1 AND currency = $2",
        "tt", bank, cur);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    int64_t flight = rc == 1 ? pay_store_col_int64(st, 0) : 0;
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    if (pay_money_sub(-pay_ledger_account_net_credit(&a), flight, out) != PAY_ERR_OK)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "reserve arithmetic");
    return PAY_ERR_OK;
}

/* A payout the reserve's books cannot cover is refused as a bank's refusal is: recorded
 * failed, its money out and back in the same transaction, to wait for the next run. */
static enum pay_err refuse_uncovered(struct pay_cmd *c, struct pay_store_tx *tx, int64_t due,
                                     int64_t can_pay, struct pay_error *err)
{
    char why[200], have[40], want[40];
    pay_money_format(can_pay > 0 ? can_pay : 0, c->currency, have, sizeof have);
    pay_money_format(due, c->currency, want, sizeof want);
    snprintf(why, sizeof why,
             "the platform's reserve at %s can pay %s of %s by its books: reconcile or fund it",
             c->m->bank, have, want);
    enum pay_err e = pay_store_exec(tx, err,
                                    "UPDATE pf_settlements SET status = 'failed', last_error = $1,"
                                    " done_ms = created_ms WHERE id = $2",
                                    "tt", why, c->id);
    if (e == PAY_ERR_OK)
        e = payout_xfer(c->p, tx, c->id, "back", PAY_PF_ACCT_PAYOUT_FLIGHT, "",
                        PAY_PF_ACCT_MERCHANT, c->m->id, due, c->currency, PAY_PF_XFER_PAYOUT_BACK,
                        err);
    if (e == PAY_ERR_OK)
        e = pay_platform_audit(c->p, tx,
                               &(struct pay_audit_entry){.actor = "system",
                                                         .action = "settlement.result",
                                                         .target = c->id,
                                                         .source = "worker",
                                                         .detail = why},
                               err);
    PAY_WARN("settlement.uncovered", "id=%s merchant=%s bank=%s due=%s free=%s", c->id, c->m->id,
             c->m->bank, want, have);
    return e;
}

/* The previous payout's cut-off: where this one's trades start. */
static enum pay_err last_cutoff(struct pay_store_tx *tx, const char *merchant_id, const char *cur,
                                int64_t *out, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT COALESCE(MAX(cutoff_ms), 0) FROM pf_settlements WHERE merchant_id = $1"
        " AND currency = $2 AND status <> 'failed'",
        "tt", merchant_id, cur);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    *out = rc == 1 ? pay_store_col_int64(st, 0) : 0;
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

static enum pay_err record_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pay_cmd *c = ctx;
    c->amount = 0;
    c->moved = false;
    char acct[PAY_LEDGER_ID_MAX + 1];
    enum pay_err e = pay_platform_account_ensure(c->p, tx, PAY_PF_ACCT_MERCHANT, c->m->id,
                                                 c->currency, acct, err);
    struct pay_ledger_account a;
    enum pay_ledger_result r;
    if (e == PAY_ERR_OK)
        e = pay_ledger_tx_account_get(c->p->ledger, tx, acct, &a, &r, err);
    if (e != PAY_ERR_OK)
        return e;
    if (a.credits_posted != c->credits_seen || a.debits_posted != c->debits_seen) {
        c->moved = true;
        return PAY_ERR_OK;
    }
    int64_t avail = pay_ledger_account_net_credit(&a), hold = 0, due = 0, from = 0;
    if ((e = reserved(tx, c->m->id, c->currency, &hold, err)) != PAY_ERR_OK ||
        (e = last_cutoff(tx, c->m->id, c->currency, &from, err)) != PAY_ERR_OK)
        return e;
    /* the balance at the cut-off, never more than there is now, less the refunds' reserve */
    int64_t at_cutoff = 0;
    if (pay_money_sub(avail, c->net_after > 0 ? c->net_after : 0, &at_cutoff) != PAY_ERR_OK ||
        pay_money_sub(at_cutoff, hold, &due) != PAY_ERR_OK)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "settlement arithmetic");
    if (due <= 0 || due < c->m->min_minor)
        return PAY_ERR_OK; /* nothing due, or below the minimum: it waits for the next run */
    PAY_ASSERT_MSG(due <= avail, "settlement %s: %lld > %lld", c->id, (long long)due,
                   (long long)avail);
    int64_t can_pay = 0;
    if ((e = reserve_free(c->p, tx, c->m->bank, c->currency, &can_pay, err)) != PAY_ERR_OK)
        return e;
    int64_t now = pay_clock_now_ms();
    e = pay_store_exec(tx, err,
                       "INSERT INTO pf_settlements (id, merchant_id, business_date, currency, bank,"
                       " to_account, amount_minor, from_ms, cutoff_ms, reserved_minor, status,"
                       " next_attempt_ms, created_ms) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,"
                       "'pending',$11,$12)",
                       "ttttttiiiiii", c->id, c->m->id, c->date, c->currency, c->m->bank,
                       c->m->account, due, from, c->cutoff_ms, hold, now, now);
    if (e == PAY_ERR_DB_CONSTRAINT) /* this day's payout exists: a rerun pays nothing more */
        return pay_error_set(err, PAY_ERR_DUPLICATE, "business_date", "paid already");
    if (e == PAY_ERR_OK)
        e = payout_xfer(c->p, tx, c->id, "out", PAY_PF_ACCT_MERCHANT, c->m->id,
                        PAY_PF_ACCT_PAYOUT_FLIGHT, "", due, c->currency, PAY_PF_XFER_PAYOUT, err);
    char detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(detail, sizeof detail,
             "merchant=%s amount_minor=%lld currency=%s bank=%s date=%s cutoff_ms=%lld", c->m->id,
             (long long)due, c->currency, c->m->bank, c->date, (long long)c->cutoff_ms);
    if (e == PAY_ERR_OK)
        e = pay_platform_audit(c->p, tx,
                               &(struct pay_audit_entry){.actor = "system",
                                                         .action = "settlement.create",
                                                         .target = c->id,
                                                         .source = "worker",
                                                         .detail = detail},
                               err);
    if (e == PAY_ERR_OK && due > can_pay)
        e = refuse_uncovered(c, tx, due, can_pay, err);
    if (e == PAY_ERR_OK)
        c->amount = due;
    return e;
}

/* Records merchant m's payout of business day date (local day number run_day). */
static void settle_merchant(struct pay_platform *p, const struct pay_tz *tz, const struct payee *m,
                            const char *date, int64_t run_day, int64_t now)
{
    struct pay_cmd c = {.p = p, .m = m, .date = date, .currency = "CNY"};
    c.cutoff_ms = pay_platform_settle_cutoff_ms(p, tz, run_day, m->days, now);
    char acct[PAY_LEDGER_ID_MAX + 1];
    struct pay_error err = {0};
    enum pay_err e = pay_id_new("st", c.id);
    if (e == PAY_ERR_OK && pay_platform_account_id(PAY_PF_ACCT_MERCHANT, m->id, "CNY", acct) != 0)
        e = PAY_ERR_INTERNAL;
    for (int attempt = 0; e == PAY_ERR_OK && attempt < 5; attempt++) {
        if ((e = walk(p, &c, acct, &err)) != PAY_ERR_OK)
            break;
        e = pay_committer_submit(p->committer, record_apply, &c, &err);
        if (e != PAY_ERR_OK || !c.moved) /* moved: a payment or refund came between */
            break;
    }
    PAY_INFO("settlement.record", "merchant=%s date=%s amount_minor=%lld result=%s", m->id, date,
             (long long)c.amount, pay_err_name(e));
}

/* --- the day's run ---------------------------------------------------------------------------- */

struct payees_ctx {
    struct payee *m;
    size_t n;
};

static enum pay_err payees_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct payees_ctx *l = ctx;
    l->n = 0;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT id, settle_bank, settle_account, settle_days, settle_min_minor FROM pf_merchants"
        " WHERE settle_bank <> '' AND settle_account <> '' AND status = 'active' ORDER BY id"
        " LIMIT $1",
        "i", (int64_t)PAY_PLATFORM_SETTLE_MERCHANTS_MAX);
    if (!st)
        return err->code;
    while (l->n < PAY_PLATFORM_SETTLE_MERCHANTS_MAX && pay_store_step(st, err) == 1) {
        struct payee *m = &l->m[l->n++];
        pay_store_col_copy(st, 0, m->id, sizeof m->id);
        pay_store_col_copy(st, 1, m->bank, sizeof m->bank);
        pay_store_col_copy(st, 2, m->account, sizeof m->account);
        m->days = pay_store_col_int64(st, 3);
        m->min_minor = pay_store_col_int64(st, 4);
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

struct run_cmd {
    const char *date;
    int64_t now;
    bool fresh; /* out: this run is the day's first */
};

static enum pay_err run_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct run_cmd *c = ctx;
    enum pay_err e =
        pay_store_exec(tx, err,
                       "INSERT INTO pf_settlement_runs (business_date, ran_ms) VALUES ($1, $2)"
                       " ON CONFLICT (business_date) DO NOTHING",
                       "ti", c->date, c->now);
    c->fresh = e == PAY_ERR_OK && pay_store_changes(tx) == 1;
    return e;
}

/* The run of the local day of now, once it is a business day past settle_time. A run that
 * died half way is finished by its next round: each merchant's payout of the day is unique. */
static void settle_run(struct pay_platform *p, const struct pay_tz *tz, int64_t now)
{
    struct pay_tz_civil c;
    pay_tz_civil(tz, now, &c);
    int64_t today = pay_tz_days_from_civil(c.year, c.month, c.day);
    if (!pay_platform_business_day(p, today) || c.hour * 60 + c.minute < p->set.settle_minute)
        return;
    char date[16];
    snprintf(date, sizeof date, "%04lld-%02d-%02d", (long long)c.year, c.month, c.day);
    struct run_cmd run = {.date = date, .now = now};
    struct pay_error err = {0};
    if (pay_committer_submit(p->committer, run_apply, &run, &err) != PAY_ERR_OK)
        return;
    if (!run.fresh && now - p->settle_checked_ms < DAY_MS / 24)
        return; /* done today; look again (an interrupted run) at most hourly */
    p->settle_checked_ms = now;
    struct payees_ctx l = {calloc(PAY_PLATFORM_SETTLE_MERCHANTS_MAX, sizeof *l.m), 0};
    if (l.m && pay_store_run_read(p->store, payees_tx, &l, &err) == PAY_ERR_OK)
        for (size_t i = 0; i < l.n && !atomic_load(&p->stopping); i++)
            settle_merchant(p, tz, &l.m[i], date, today, now);
    free(l.m);
}

/* --- sending the payouts ------------------------------------------------------------------- */

struct due_payout {
    char id[PAY_ID_MAX], merchant[PAY_PLATFORM_MERCHANT_ID_MAX + 1], bank[16], account[64];
    char currency[4];
    int64_t amount, attempts;
};

enum payout_step {
    CLAIM = 0,
    PAID = PAY_TRANSFER_SUCCEEDED,
    REFUSED = PAY_TRANSFER_FAILED,
    RETRY = PAY_TRANSFER_RETRY,
};

struct step_cmd {
    struct pay_platform *p;
    const struct due_payout *d;
    enum payout_step step;
    const char *detail;
    bool claimed; /* out (CLAIM) */
};

static enum pay_err step_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct step_cmd *c = ctx;
    const struct due_payout *d = c->d;
    int64_t now = pay_clock_now_ms();
    if (c->step == CLAIM) /* a lease: nobody else sends it meanwhile */
        return pay_platform_transfer_claim_tx(tx, "pf_settlements", d->id, now,
                                              PAY_PLATFORM_SETTLE_LEASE_MS, true, &c->claimed, err);
    static const char *const status[] = {"", "paid", "failed", "pending"};
    enum pay_err e = pay_store_exec(
        tx, err,
        "UPDATE pf_settlements SET status = $1, last_error = $2, next_attempt_ms = $3,"
        " done_ms = $4 WHERE id = $5 AND status = 'pending'",
        "ttiit", status[c->step], c->detail,
        now + pay_platform_transfer_retry_ms(d->attempts, PAY_PLATFORM_SETTLE_RETRY_MIN_MS,
                                             PAY_PLATFORM_SETTLE_RETRY_MAX_MS),
        c->step == RETRY ? (int64_t)0 : now, d->id);
    if (e != PAY_ERR_OK || c->step == RETRY)
        return e;
    if (pay_store_changes(tx) != 1)
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "", "%s is done", d->id);
    e = c->step == PAID ? payout_xfer(c->p, tx, d->id, "bank", PAY_PF_ACCT_PAYOUT_FLIGHT, "",
                                      PAY_PF_ACCT_RESERVE, d->bank, d->amount, d->currency,
                                      PAY_PF_XFER_PAYOUT_BANK, err)
                        : payout_xfer(c->p, tx, d->id, "back", PAY_PF_ACCT_PAYOUT_FLIGHT, "",
                                      PAY_PF_ACCT_MERCHANT, d->merchant, d->amount, d->currency,
                                      PAY_PF_XFER_PAYOUT_BACK, err);
    char detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(detail, sizeof detail, "status=%s amount_minor=%lld bank=%s%s%.200s", status[c->step],
             (long long)d->amount, d->bank, c->detail[0] ? " answer=" : "", c->detail);
    if (e == PAY_ERR_OK)
        e = pay_platform_audit(c->p, tx,
                               &(struct pay_audit_entry){.actor = "system",
                                                         .action = "settlement.result",
                                                         .target = d->id,
                                                         .source = "worker",
                                                         .detail = detail},
                               err);
    return e;
}

struct due_ctx {
    struct due_payout rows[16];
    size_t n;
    int64_t now;
};

static enum pay_err due_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct due_ctx *c = ctx;
    c->n = 0;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT id, merchant_id, bank, to_account, currency, amount_minor, attempts"
                        " FROM pf_settlements WHERE status = 'pending' AND next_attempt_ms <= $1"
                        " ORDER BY next_attempt_ms LIMIT 16",
                        "i", c->now);
    if (!st)
        return err->code;
    while (c->n < 16 && pay_store_step(st, err) == 1) {
        struct due_payout *d = &c->rows[c->n++];
        pay_store_col_copy(st, 0, d->id, sizeof d->id);
        pay_store_col_copy(st, 1, d->merchant, sizeof d->merchant);
        pay_store_col_copy(st, 2, d->bank, sizeof d->bank);
        pay_store_col_copy(st, 3, d->account, sizeof d->account);
        pay_store_col_copy(st, 4, d->currency, sizeof d->currency);
        d->amount = pay_store_col_int64(st, 5);
        d->attempts = pay_store_col_int64(st, 6);
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

/* One attempt: claimed, sent from our reserve account at the merchant's bank to its account,
 * and the answer booked. */
static void send_payout(struct pay_platform *p, const struct due_payout *d)
{
    struct pay_error err = {0}, berr = {0};
    struct step_cmd c = {.p = p, .d = d, .step = CLAIM, .detail = ""};
    if (pay_committer_submit(p->committer, step_apply, &c, &err) != PAY_ERR_OK || !c.claimed)
        return;
    const struct pay_platform_bank *b = pay_platform_bank_find(p, d->bank);
    enum pay_err be =
        b ? b->conn->transfer(b, d->id, NULL, d->account, d->amount, d->currency, &berr)
          : pay_error_set(&berr, PAY_ERR_FIELD_INVALID, "settle_bank",
                          "bank %s is not one of the platform's banks", d->bank);
    c.step = (enum payout_step)pay_platform_transfer_outcome(be);
    char detail[300] = "";
    if (be != PAY_ERR_OK)
        snprintf(detail, sizeof detail, "%s: %s", pay_err_name(be), berr.detail);
    c.detail = detail;
    enum pay_err e = pay_committer_submit(p->committer, step_apply, &c, &err);
    PAY_INFO("settlement.payout", "id=%s merchant=%s bank=%s result=%s booked=%s", d->id,
             d->merchant, d->bank, pay_err_name(be), pay_err_name(e));
}

void pay_platform_settle_work(struct pay_platform *p)
{
    int64_t now = pay_clock_now_ms();
    if (p->settle_tz)
        settle_run(p, p->settle_tz, now);
    struct due_ctx d = {.now = now};
    struct pay_error err = {0};
    if (pay_store_run_read(p->store, due_tx, &d, &err) != PAY_ERR_OK)
        return;
    for (size_t i = 0; i < d.n && !atomic_load(&p->stopping); i++)
        send_payout(p, &d.rows[i]);
}

/* --- reading --------------------------------------------------------------------------------- */

#define SETTLE_COLS                                                                                \
    "id, business_date, currency, bank, to_account, amount_minor, from_ms, cutoff_ms,"             \
    " reserved_minor, status, last_error, created_ms, done_ms"

static json_t *settlement_row(struct pay_store_stmt *st)
{
    const char *cur = pay_store_col_text(st, 2);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:o}", "settlement_id",
                  pay_store_col_text(st, 0), "business_date", pay_store_col_text(st, 1), "bank",
                  pay_store_col_text(st, 3), "to_account", pay_store_col_text(st, 4), "amount",
                  pay_platform_money_json(pay_store_col_int64(st, 5), cur), "period_start",
                  pay_platform_time_json(pay_store_col_int64(st, 6)), "cutoff",
                  pay_platform_time_json(pay_store_col_int64(st, 7)), "reserved",
                  pay_platform_money_json(pay_store_col_int64(st, 8), cur), "status",
                  pay_store_col_text(st, 9), "created_at",
                  pay_platform_time_json(pay_store_col_int64(st, 11)), "done_at",
                  pay_platform_time_json(pay_store_col_int64(st, 12)));
    if (o && strcmp(pay_store_col_text(st, 9), "failed") == 0)
        json_object_set_new(o, "failure", json_string(pay_store_col_text(st, 10)));
    return o;
}

/* The trades whose money reached the merchant's balance in [from, cutoff): paid (or, escrow,
 * confirmed), with their fee; and the refunds made in it. */
static enum pay_err covered(struct pay_store_tx *tx, const char *merchant_id, int64_t from,
                            int64_t cutoff, json_t *o, struct pay_error *err)
{
    json_t *trades = json_array(), *refunds = json_array();
    json_object_set_new(o, "trades", trades);
    json_object_set_new(o, "refunds", refunds);
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT id, out_trade_no, amount_minor, fee_minor, currency FROM pf_trades"
        " WHERE merchant_id = $1 AND ((product <> 'escrow' AND paid_ms >= $2 AND paid_ms < $3)"
        " OR (product = 'escrow' AND state = 'TRADE_FINISHED' AND finished_ms >= $2"
        " AND finished_ms < $3)) ORDER BY paid_ms LIMIT $4",
        "tiii", merchant_id, from, cutoff, (int64_t)PAY_PLATFORM_SETTLE_ITEMS_MAX);
    if (!st)
        return err->code;
    while (pay_store_step(st, err) == 1) {
        const char *cur = pay_store_col_text(st, 4);
        json_array_append_new(
            trades, json_pack("{s:s, s:s, s:o, s:o}", "trade_id", pay_store_col_text(st, 0),
                              "out_trade_no", pay_store_col_text(st, 1), "amount",
                              pay_platform_money_json(pay_store_col_int64(st, 2), cur), "fee",
                              pay_platform_money_json(pay_store_col_int64(st, 3), cur)));
    }
    pay_store_done(st);
    st = pay_store_query(tx, err,
                         "SELECT r.id, r.trade_id, r.amount_minor, r.fee_minor, r.currency"
                         " FROM pf_refunds r JOIN pf_trades t ON t.id = r.trade_id"
                         " WHERE r.merchant_id = $1 AND r.created_ms >= $2 AND r.created_ms < $3"
                         " AND NOT (t.product = 'escrow' AND t.state <> 'TRADE_FINISHED'"
                         " AND t.finished_ms = 0) ORDER BY r.created_ms LIMIT $4",
                         "tiii", merchant_id, from, cutoff, (int64_t)PAY_PLATFORM_SETTLE_ITEMS_MAX);
    if (!st)
        return err->code;
    while (pay_store_step(st, err) == 1) {
        const char *cur = pay_store_col_text(st, 4);
        json_array_append_new(
            refunds,
            json_pack("{s:s, s:s, s:o, s:o}", "refund_id", pay_store_col_text(st, 0), "trade_id",
                      pay_store_col_text(st, 1), "amount",
                      pay_platform_money_json(pay_store_col_int64(st, 2), cur), "fee_refunded",
                      pay_platform_money_json(pay_store_col_int64(st, 3), cur)));
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

struct list_ctx {
    const char *merchant_id, *id;
    json_t *out;
};

static enum pay_err list_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct list_ctx *l = ctx;
    json_decref(l->out);
    l->out = NULL;
    struct pay_store_stmt *st =
        l->id ? pay_store_query(tx, err,
                                "SELECT " SETTLE_COLS
                                " FROM pf_settlements WHERE id = $1 AND merchant_id = $2",
                                "tt", l->id, l->merchant_id)
              : pay_store_query(tx, err,
                                "SELECT " SETTLE_COLS " FROM pf_settlements WHERE merchant_id = $1"
                                " ORDER BY created_ms DESC, id DESC LIMIT $2",
                                "ti", l->merchant_id, (int64_t)PAY_PLATFORM_SETTLE_LIST_MAX);
    if (!st)
        return err->code;
    json_t *arr = json_array();
    int64_t from = 0, cutoff = 0;
    while (pay_store_step(st, err) == 1) {
        json_array_append_new(arr, settlement_row(st));
        from = pay_store_col_int64(st, 6);
        cutoff = pay_store_col_int64(st, 7);
    }
    pay_store_done(st);
    if (!l->id) {
        l->out = json_pack("{s:s, s:o}", "merchant_id", l->merchant_id, "settlements", arr);
        return PAY_ERR_OK;
    }
    l->out = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    if (!l->out)
        return pay_error_set(err, PAY_ERR_SETTLEMENT_NOT_FOUND, "settlement_id", NULL);
    return covered(tx, l->merchant_id, from, cutoff, l->out, err);
}

enum pay_err pay_platform_settlements_json(struct pay_platform *p, const char *merchant_id,
                                           const char *id, json_t **out, struct pay_error *err)
{
    struct list_ctx l = {merchant_id, id, NULL};
    enum pay_err e = pay_store_run_read(p->store, list_tx, &l, err);
    if (e != PAY_ERR_OK) {
        json_decref(l.out);
        l.out = NULL;
    }
    *out = l.out;
    return e;
}
