/* Reconciliation with the banks (对账, docs/reconciliation.md): a run fetches a bank's statement
 * file of one day, groups its movements by reference and matches them with the movements of the
 * ledger's mirror of our reserve at that bank (pf.reserve.<bank>.<cur>), classifies what differs
 * (at the bank only — 长款, ours only — 短款, amount, status), and stores the run and its
 * differences in one command. A run moves no money: only the operator's resolution does
 * (recon_resolve.c). */
#include "platform/connector.h"
#include "platform/platform.h"
#include "platform/recon.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/money.h"
#include "crypto/ids.h"
#include "i18n/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define DAY_MS 86400000LL

/* One reference, as the bank and we have it on the day (nets: money into the reserve > 0). */
struct entry {
    char reference[PAY_LEDGER_ID_MAX + 1]; /* the key: ours, or the bank's serial when empty */
    char kind[24];                         /* the bank's kind, or ours */
    char serial[PAY_LEDGER_ID_MAX + 1];    /* the bank's (first) movement */
    char trade[PAY_ID_MAX];                /* ours: a trade's payment, its order found later */
    int64_t bank_minor, ours_minor, edge_minor;
    bool bank, ours;
    char cls[16];        /* "", bank_only, ours_only, amount, status */
    char our_status[40]; /* what our record says: "order:created", "withdrawal:failed", ... */
};

struct run {
    struct pay_platform *p;
    const struct pay_platform_bank *b;
    const char *date, *source;
    struct pay_recon_file f;
    struct entry *e;
    size_t n;
    json_t *index;   /* reference -> position in e */
    json_t *repairs; /* our transfers that repaired another day (accept_bank): not this day's */
    char reserve[PAY_LEDGER_ID_MAX + 1];
    int64_t our_opening, our_closing;
    int64_t matched, found, open;
    char id[PAY_ID_MAX], status[16], error[300];
};

/* The entry of reference (made when new); NULL when out of memory or too many. */
static struct entry *entry_of(struct run *r, const char *reference)
{
    json_t *at = json_object_get(r->index, reference);
    if (at)
        return &r->e[json_integer_value(at)];
    if (r->n >= PAY_STATEMENT_FILE_MAX / 32)
        return NULL;
    if (r->n % 256 == 0) {
        struct entry *g = realloc(r->e, (r->n + 256) * sizeof *g);
        if (!g)
            return NULL;
        r->e = g;
    }
    struct entry *x = &r->e[r->n];
    memset(x, 0, sizeof *x);
    pay_str_copy(x->reference, sizeof x->reference, reference);
    json_object_set_new(r->index, reference, json_integer((json_int_t)r->n++));
    return x;
}

static enum pay_err add_bank_lines(struct run *r, struct pay_error *err)
{
    for (size_t i = 0; i < r->f.n; i++) {
        const struct pay_recon_line *l = &r->f.lines[i];
        struct entry *x = entry_of(r, l->reference[0] ? l->reference : l->serial);
        if (!x)
            return pay_error_set(err, PAY_ERR_INTERNAL, "", "too many references");
        if (!x->bank) {
            pay_str_copy(x->kind, sizeof x->kind, l->kind);
            pay_str_copy(x->serial, sizeof x->serial, l->serial);
        }
        x->bank = true;
        if ((l->credit
                 ? pay_money_add(x->bank_minor, l->amount_minor, &x->bank_minor)
                 : pay_money_sub(x->bank_minor, l->amount_minor, &x->bank_minor)) != PAY_ERR_OK)
            return pay_error_set(err, PAY_ERR_INTERNAL, "", "reference total overflows");
    }
    return PAY_ERR_OK;
}

/* The bank's reference of one of our reserve movements: "<ref>.late", "<ref>.topup",
 * "<ref>.bank" name it; a trade's payment "<trade>.pay" is named by its paid bank order (found
 * in resolve_trades). Our own write-offs (PAY_PF_XFER_RECON) are no bank movement. */
static bool our_reference(const struct pay_ledger_transfer *t, char *ref, char *trade,
                          const char **kind)
{
    static const struct {
        const char *suffix, *kind;
    } tails[] = {{".late", "PAYMENT"},
                 {".topup", "AGREEMENT_DEBIT"},
                 {".bank", "REFUND"},
                 {".pay", "PAYMENT"}};
    if (t->code == PAY_PF_XFER_RECON)
        return false;
    trade[0] = '\0';
    pay_str_copy(ref, PAY_LEDGER_ID_MAX + 1, t->id);
    *kind = "OTHER";
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        size_t n = strlen(t->id), k = strlen(tails[i].suffix);
        if (n > k && strcmp(t->id + n - k, tails[i].suffix) == 0) {
            ref[n - k] = '\0';
            *kind = t->code == PAY_PF_XFER_WITHDRAW || t->code == PAY_PF_XFER_PAYOUT_BANK
                        ? "TRANSFER"
                        : tails[i].kind;
            if (t->code == PAY_PF_XFER_PAY)
                pay_str_copy(trade, PAY_ID_MAX, ref);
            break;
        }
    }
    return true;
}

/* Adds one of our movements in [from - edge, to + edge). */
static enum pay_err add_ours(struct run *r, const struct pay_ledger_transfer *t,
                             struct pay_error *err)
{
    char ref[PAY_LEDGER_ID_MAX + 1], trade[PAY_ID_MAX];
    const char *kind;
    if (!our_reference(t, ref, trade, &kind) || json_object_get(r->repairs, t->id))
        return PAY_ERR_OK;
    /* a trade's payment is keyed by the trade until its order is known */
    struct entry *x = entry_of(r, trade[0] ? trade : ref);
    if (!x)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "too many references");
    if (!x->ours && !x->bank)
        pay_str_copy(x->kind, sizeof x->kind, kind);
    pay_str_copy(x->trade, sizeof x->trade, trade);
    bool in = strcmp(t->debit_account_id, r->reserve) == 0;
    bool in_day = t->created_ms >= r->f.from_ms && t->created_ms < r->f.to_ms;
    int64_t *sum = in_day ? &x->ours_minor : &x->edge_minor;
    x->ours |= in_day;
    if ((in ? pay_money_add(*sum, t->amount_minor, sum)
            : pay_money_sub(*sum, t->amount_minor, sum)) != PAY_ERR_OK)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "reference total overflows");
    return PAY_ERR_OK;
}

/* The transfers by which accept_bank booked another day's bank movement: they match that day,
 * never the day they were made on. */
static enum pay_err repairs_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct run *r = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT transfer_id FROM pf_recon_diffs WHERE bank = $1 AND resolution = 'accept_bank'"
        " AND business_date <> $2",
        "tt", r->b->code, r->date);
    if (!st)
        return err->code;
    while (pay_store_step(st, err) == 1)
        json_object_set_new(r->repairs, pay_store_col_text(st, 0), json_true());
    pay_store_done(st);
    return err->code;
}

/* Our reserve mirror's movements of the day (and its edges), newest first back to the day's
 * start less the edge; its balance at the day's start and end. */
static enum pay_err collect_ours(struct run *r, struct pay_error *err)
{
    struct pay_ledger_account a;
    bool found = false;
    enum pay_err e = pay_ledger_account_get(r->p->ledger, r->reserve, &a, &found, err);
    int64_t bal = 0, after = 0, day = 0;
    if (found && pay_money_sub(a.debits_posted, a.credits_posted, &bal) != PAY_ERR_OK)
        e = pay_error_set(err, PAY_ERR_INTERNAL, "", "balance overflows");
    size_t cap = PAY_BANK_STATEMENT_PAGE;
    struct pay_ledger_transfer *t = calloc(cap, sizeof *t);
    int64_t cursor = 0, lo = r->f.from_ms - PAY_RECON_EDGE_MS, hi = r->f.to_ms + PAY_RECON_EDGE_MS;
    bool more = found && e == PAY_ERR_OK;
    if (!t)
        e = pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    while (more && e == PAY_ERR_OK) {
        size_t n = 0;
        int64_t next = 0;
        e = pay_ledger_account_transfers(r->p->ledger, r->reserve, cursor, t, cap, &n, &next, err);
        for (size_t i = 0; e == PAY_ERR_OK && i < n && more; i++) {
            more = t[i].created_ms >= lo;
            bool in = strcmp(t[i].debit_account_id, r->reserve) == 0;
            int64_t *sum = t[i].created_ms >= r->f.to_ms ? &after : &day;
            if (more && t[i].created_ms >= r->f.from_ms &&
                (in ? pay_money_add(*sum, t[i].amount_minor, sum)
                    : pay_money_sub(*sum, t[i].amount_minor, sum)) != PAY_ERR_OK)
                e = pay_error_set(err, PAY_ERR_INTERNAL, "", "balance overflows");
            if (more && e == PAY_ERR_OK && t[i].created_ms < hi)
                e = add_ours(r, &t[i], err);
        }
        cursor = next;
        more = more && next != 0;
    }
    free(t);
    if (e == PAY_ERR_OK && (pay_money_sub(bal, after, &r->our_closing) != PAY_ERR_OK ||
                            pay_money_sub(r->our_closing, day, &r->our_opening) != PAY_ERR_OK))
        e = pay_error_set(err, PAY_ERR_INTERNAL, "", "balance overflows");
    return e;
}

/* --- our records: which bank order paid a trade, and what a reference's record says ---------- */

struct lookup {
    struct run *r;
    size_t i;
    char out[PAY_LEDGER_ID_MAX + 1];
};

static enum pay_err order_of_trade_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct lookup *l = ctx;
    l->out[0] = '\0';
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT order_id FROM pf_bank_orders WHERE trade_id = $1 AND bank = $2 AND status = 'paid'",
        "tt", l->r->e[l->i].trade, l->r->b->code);
    if (!st)
        return err->code;
    if (pay_store_step(st, err) == 1)
        pay_store_col_copy(st, 0, l->out, sizeof l->out);
    pay_store_done(st);
    return PAY_ERR_OK;
}

/* Moves our payments keyed by trade to the reference the bank knows: the trade's paid order. */
static enum pay_err resolve_trades(struct run *r, struct pay_error *err)
{
    size_t n = r->n; /* entries made here are orders, never trades */
    for (size_t i = 0; i < n; i++) {
        if (!r->e[i].trade[0] || strcmp(r->e[i].reference, r->e[i].trade) != 0)
            continue;
        struct lookup l = {r, i, ""};
        enum pay_err e = pay_store_run_read(r->p->store, order_of_trade_tx, &l, err);
        if (e != PAY_ERR_OK)
            return e;
        if (!l.out[0])
            continue; /* paid from this reserve without an order: stays ours only */
        struct entry *to = entry_of(r, l.out), *from = &r->e[i];
        if (!to)
            return pay_error_set(err, PAY_ERR_INTERNAL, "", "too many references");
        if ((pay_money_add(to->ours_minor, from->ours_minor, &to->ours_minor) != PAY_ERR_OK) ||
            pay_money_add(to->edge_minor, from->edge_minor, &to->edge_minor) != PAY_ERR_OK)
            return pay_error_set(err, PAY_ERR_INTERNAL, "", "reference total overflows");
        to->ours |= from->ours;
        if (!to->bank)
            pay_str_copy(to->kind, sizeof to->kind, from->kind);
        from->ours = false; /* merged: nothing left under the trade's id */
        from->ours_minor = from->edge_minor = 0;
    }
    return PAY_ERR_OK;
}

/* What our record of reference says, "kind:status" ("" when we have none). */
static enum pay_err status_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct lookup *l = ctx;
    const char *ref = l->r->e[l->i].reference, *bank = l->r->b->code;
    l->out[0] = '\0';
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT 'order', status FROM pf_bank_orders WHERE order_id = $1 AND bank = $2"
        " UNION ALL SELECT 'refund', status FROM pf_refunds WHERE id = $1"
        " UNION ALL SELECT 'withdrawal', status FROM pf_withdrawals WHERE id = $1 AND bank = $2"
        " UNION ALL SELECT 'payout', status FROM pf_settlements WHERE id = $1 AND bank = $2",
        "tt", ref, bank);
    if (!st)
        return err->code;
    if (pay_store_step(st, err) == 1)
        snprintf(l->out, sizeof l->out, "%s:%s", pay_store_col_text(st, 0),
                 pay_store_col_text(st, 1));
    pay_store_done(st);
    return PAY_ERR_OK;
}

/* The class of one reference ("" when it matches): money the bank moved that we did not
 * (nets: a movement the bank reversed counts as none) is a difference of status when we have a
 * record of it (an order whose payment we never heard of, a withdrawal we think failed), else
 * the bank's alone; money we moved that the bank did not is ours alone; both, unequal: amount. */
static enum pay_err classify(struct run *r, size_t i, struct pay_error *err)
{
    struct entry *x = &r->e[i];
    int64_t with_edge = 0;
    x->cls[0] = '\0';
    if (!x->bank && !x->ours && x->edge_minor == 0)
        return PAY_ERR_OK; /* merged, or only at the edges: another day's */
    if (pay_money_add(x->ours_minor, x->edge_minor, &with_edge) != PAY_ERR_OK)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "reference total overflows");
    if (x->bank_minor == x->ours_minor || (x->bank && x->bank_minor == with_edge))
        return PAY_ERR_OK; /* equal, or booked by us just across midnight */
    if (!x->bank && !x->ours)
        return PAY_ERR_OK; /* ours at an edge only: that day's run has it */
    struct lookup l = {r, i, ""};
    enum pay_err e = pay_store_run_read(r->p->store, status_tx, &l, err);
    if (e != PAY_ERR_OK)
        return e;
    pay_str_copy(x->our_status, sizeof x->our_status, l.out);
    bool bank_has = x->bank_minor != 0, ours_has = with_edge != 0;
    const char *cls = !bank_has  ? "ours_only"
                      : ours_has ? "amount"
                      : l.out[0] ? "status"
                                 : "bank_only";
    pay_str_copy(x->cls, sizeof x->cls, cls);
    return PAY_ERR_OK;
}

/* --- storing a run -----------------------------------------------------------------------------
 */

static enum pay_err diff_upsert(struct run *r, struct pay_store_tx *tx, const struct entry *x,
                                struct pay_error *err)
{
    char id[PAY_ID_MAX];
    int64_t ours = 0;
    enum pay_err e = pay_id_new("rd", id);
    if (e != PAY_ERR_OK || pay_money_add(x->ours_minor, x->edge_minor, &ours) != PAY_ERR_OK)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    /* a resolved difference stays as it was resolved; an open or cleared one is this run's */
    return pay_store_exec(
        tx, err,
        "INSERT INTO pf_recon_diffs (id, bank, business_date, reference, class, kind, currency,"
        " bank_minor, our_minor, bank_serial, our_status, status, first_run, last_run, created_ms)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,'open',$12,$12,$13)"
        " ON CONFLICT (bank, business_date, reference) DO UPDATE SET class = excluded.class,"
        " kind = excluded.kind, bank_minor = excluded.bank_minor, our_minor = excluded.our_minor,"
        " bank_serial = excluded.bank_serial, our_status = excluded.our_status,"
        " last_run = excluded.last_run, status = 'open' WHERE pf_recon_diffs.status <> 'resolved'",
        "tttttttiittti", id, r->b->code, r->date, x->reference, x->cls, x->kind, r->f.currency,
        x->bank_minor, ours, x->serial, x->our_status, r->id, pay_clock_now_ms());
}

static enum pay_err count_open(struct run *r, struct pay_store_tx *tx, struct pay_error *err)
{
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT COUNT(*) FROM pf_recon_diffs WHERE bank = $1 AND business_date = $2"
                        " AND status = 'open'",
                        "tt", r->b->code, r->date);
    if (!st)
        return err->code;
    r->open = pay_store_step(st, err) == 1 ? pay_store_col_int64(st, 0) : 0;
    pay_store_done(st);
    return err->code;
}

static enum pay_err run_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct run *r = ctx;
    enum pay_err e = PAY_ERR_OK;
    for (size_t i = 0; e == PAY_ERR_OK && i < r->n && !r->error[0]; i++)
        if (r->e[i].cls[0])
            e = diff_upsert(r, tx, &r->e[i], err);
    if (e == PAY_ERR_OK && !r->error[0])
        e = pay_store_exec(tx, err,
                           "UPDATE pf_recon_diffs SET status = 'cleared', last_run = $3"
                           " WHERE bank = $1 AND business_date = $2 AND status = 'open'"
                           " AND last_run <> $3",
                           "ttt", r->b->code, r->date, r->id);
    if (e == PAY_ERR_OK && !r->error[0])
        e = count_open(r, tx, err);
    pay_str_copy(r->status, sizeof r->status,
                 r->error[0] ? "failed"
                 : r->open   ? "differences"
                 : r->found  ? "resolved"
                             : "matched");
    if (e == PAY_ERR_OK)
        e = pay_store_exec(
            tx, err,
            "INSERT INTO pf_recon_runs (id, bank, business_date, source, status, error, from_ms,"
            " to_ms, bank_count, bank_credit_minor, bank_debit_minor, bank_opening_minor,"
            " bank_closing_minor, our_opening_minor, our_closing_minor, matched, differences,"
            " file_sha256, created_ms) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,"
            "$15,$16,$17,$18,$19)",
            "ttttttiiiiiiiiiiiti", r->id, r->b->code, r->date, r->source, r->status, r->error,
            r->f.from_ms, r->f.to_ms, (int64_t)r->f.n, r->f.credit_minor, r->f.debit_minor,
            r->f.opening_minor, r->f.closing_minor, r->our_opening, r->our_closing, r->matched,
            r->found, r->f.sha256, pay_clock_now_ms());
    char detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(detail, sizeof detail,
             "bank=%s date=%s status=%s movements=%zu differences=%lld%s%.200s", r->b->code,
             r->date, r->status, r->f.n, (long long)r->found, r->error[0] ? " error=" : "",
             r->error);
    if (e == PAY_ERR_OK)
        e = pay_platform_audit(r->p, tx,
                               &(struct pay_audit_entry){.actor = "system",
                                                         .action = "recon.run",
                                                         .target = r->id,
                                                         .source = r->source,
                                                         .detail = detail},
                               err);
    return e;
}

/* --- a run ------------------------------------------------------------------------------------ */

/* The statement file of r's day from the bank, checked; the matching; r->error on a failure of
 * the bank's side (no answer, a file that does not add up), which is stored as a failed run. */
static enum pay_err match_day(struct run *r, struct pay_error *berr, struct pay_error *err)
{
    struct pay_buf text;
    pay_buf_init(&text, PAY_STATEMENT_FILE_MAX);
    enum pay_err e = r->b->conn->statement_file(r->b, r->date, &text, berr);
    if (e == PAY_ERR_OK)
        e = pay_recon_file_parse(r->b, r->date, text.data ? text.data : "", text.len, &r->f, berr);
    pay_buf_fini(&text);
    if (e != PAY_ERR_OK) {
        snprintf(r->error, sizeof r->error, "%s: %s", pay_err_name(e), berr->detail);
        return PAY_ERR_OK; /* stored as a failed run */
    }
    if (pay_platform_account_id(PAY_PF_ACCT_RESERVE, r->b->code, r->f.currency, r->reserve) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "reserve account id");
    if ((e = add_bank_lines(r, err)) != PAY_ERR_OK ||
        (e = pay_store_run_read(r->p->store, repairs_tx, r, err)) != PAY_ERR_OK ||
        (e = collect_ours(r, err)) != PAY_ERR_OK || (e = resolve_trades(r, err)) != PAY_ERR_OK)
        return e;
    for (size_t i = 0; i < r->n && e == PAY_ERR_OK; i++) {
        e = classify(r, i, err);
        bool any = r->e[i].bank || r->e[i].ours;
        r->found += r->e[i].cls[0] != '\0';
        r->matched += any && !r->e[i].cls[0];
    }
    return e;
}

static bool date_valid(const char *date)
{
    int y, m, d;
    char tail;
    if (!date || strlen(date) != 10 || sscanf(date, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        return false;
    int64_t yy;
    int mm, dd;
    pay_tz_civil_from_days(pay_tz_days_from_civil(y, m, d), &yy, &mm, &dd);
    return yy == y && mm == m && dd == d && date[4] == '-' && date[7] == '-';
}

enum pay_err pay_platform_reconcile(struct pay_platform *p, const char *bank, const char *date,
                                    const char *source, char *run_id, char *status,
                                    struct pay_error *err)
{
    const struct pay_platform_bank *b = pay_platform_bank_find(p, bank);
    if (!b)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "bank", "not one of the platform's banks");
    if (!date_valid(date))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "date", "a day, YYYY-MM-DD");
    struct run r = {.p = p,
                    .b = b,
                    .date = date,
                    .source = source,
                    .index = json_object(),
                    .repairs = json_object()};
    struct pay_error bank_err = {0};
    enum pay_err e = r.index && r.repairs && pay_id_new("rc", r.id) == PAY_ERR_OK
                         ? match_day(&r, &bank_err, err)
                         : pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    if (e == PAY_ERR_OK)
        e = pay_platform_write(p, run_apply, &r, err);
    PAY_INFO("recon.run", "id=%s bank=%s date=%s status=%s movements=%zu differences=%lld", r.id,
             bank, date, r.status, r.f.n, (long long)r.found);
    pay_str_copy(run_id, PAY_ID_MAX, r.id);
    pay_str_copy(status, 16, e == PAY_ERR_OK ? r.status : "failed");
    json_decref(r.index);
    json_decref(r.repairs);
    free(r.e);
    pay_recon_file_fini(&r.f);
    if (e == PAY_ERR_OK && r.error[0]) { /* the failed run is stored; the caller hears why */
        *err = bank_err;
        e = bank_err.code;
    }
    return e;
}

/* --- the daily run ------------------------------------------------------------------------------
 */

struct done_ctx {
    const char *bank, *date;
    bool done;
};

static enum pay_err done_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct done_ctx *d = ctx;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT COUNT(*) FROM pf_recon_runs WHERE bank = $1 AND business_date = $2"
                        " AND source = 'scheduler' AND status <> 'failed'",
                        "tt", d->bank, d->date);
    if (!st)
        return err->code;
    d->done = pay_store_step(st, err) == 1 && pay_store_col_int64(st, 0) > 0;
    pay_store_done(st);
    return err->code;
}

void pay_platform_recon_work(struct pay_platform *p)
{
    int64_t now = pay_clock_now_ms();
    if (!p->settle_tz || p->set.n_banks == 0 || now - p->recon_checked_ms < PAY_RECON_LOOK_MS)
        return;
    struct pay_tz_civil c;
    pay_tz_civil(p->settle_tz, now, &c);
    if (c.hour * 60 + c.minute < p->set.recon_minute)
        return;
    p->recon_checked_ms = now;
    int64_t y;
    int m, d;
    pay_tz_civil_from_days(pay_tz_days_from_civil(c.year, c.month, c.day) - 1, &y, &m, &d);
    char date[16];
    snprintf(date, sizeof date, "%04lld-%02d-%02d", (long long)y, m, d);
    for (size_t i = 0; i < p->set.n_banks && !atomic_load(&p->stopping); i++) {
        struct done_ctx dc = {p->set.banks[i].code, date, false};
        struct pay_error err = {0};
        char id[PAY_ID_MAX], status[16];
        if (pay_store_run_read(p->store, done_tx, &dc, &err) == PAY_ERR_OK && !dc.done)
            pay_platform_reconcile(p, dc.bank, date, "scheduler", id, status, &err);
    }
}
