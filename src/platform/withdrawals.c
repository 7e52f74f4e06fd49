/* Withdrawals from a wallet to one of the consumer's bound cards (chosen from a list, never a
 * typed account: the bank credits the card of the agreement token), made reliable like the
 * notification outbox. The request records the withdrawal (its id is the bank's transferId,
 * the row names the card, not its token) in the same
 * transaction that moves wallet -> in flight (pf.refunds). The bank's transfer API is
 * idempotent by transferId, so the transfer is sent, and after a timeout or an unreachable
 * bank sent again, always with that id, until the bank answers definitively: success moves
 * in flight -> reserve(bank), a refusal moves the money back to the wallet. A row is claimed
 * with a lease (next_attempt_ms moved past the bank call) before each attempt, so a process
 * killed mid-call loses nothing: the row is due again when the lease runs out. Rows of older
 * versions went to a typed account; it is kept sealed (migration 12) so that a pending one is
 * still retried to the same place. */
#include "platform/connector.h"
#include "platform/platform.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "i18n/i18n.h"
#include "crypto/ids.h"
#include "core/limits.h"
#include "core/money.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

#define WD_BATCH 16

#define ACCOUNT_SEALED_MAX PAY_AEAD_SEALED_LEN(PAY_MERCHANT_ID_FIELD_MAX)

struct wd_row {
    char id[PAY_ID_MAX];
    char consumer_id[PAY_ID_MAX];
    char bank[17];
    char card_id[PAY_ID_MAX];                /* the bound card it goes to */
    char account_sealed[ACCOUNT_SEALED_MAX]; /* older rows: a typed account, sealed; else "" */
    char currency[4];
    int64_t amount_minor;
    int64_t attempts;
};

enum wd_outcome {
    WD_RECORD = 0,
    WD_SUCCEEDED = PAY_TRANSFER_SUCCEEDED,
    WD_FAILED = PAY_TRANSFER_FAILED,
    WD_RETRY = PAY_TRANSFER_RETRY,
};

struct wd_cmd {
    struct pay_platform *p;
    const struct wd_row *w;
    enum wd_outcome what;
    const char *detail; /* the bank's last answer */
};

static enum pay_err wd_xfer(struct wd_cmd *c, struct pay_store_tx *tx, const char *suffix,
                            enum pay_platform_account_kind dk, const char *down,
                            enum pay_platform_account_kind ck, const char *cown,
                            struct pay_error *err)
{
    struct pay_ledger_transfer t = {.amount_minor = c->w->amount_minor,
                                    .code = PAY_PF_XFER_WITHDRAW};
    enum pay_err e;
    if ((e = pay_platform_account_ensure(c->p, tx, dk, down, c->w->currency, t.debit_account_id,
                                         err)) != PAY_ERR_OK ||
        (e = pay_platform_account_ensure(c->p, tx, ck, cown, c->w->currency, t.credit_account_id,
                                         err)) != PAY_ERR_OK)
        return e;
    snprintf(t.id, sizeof t.id, "%s.%s", c->w->id, suffix);
    pay_str_copy(t.currency, sizeof t.currency, c->w->currency);
    pay_str_copy(t.user_data, sizeof t.user_data, c->w->id);
    enum pay_ledger_result r;
    if ((e = pay_ledger_tx_transfer(c->p->ledger, tx, &t, &r, err)) != PAY_ERR_OK)
        return e;
    return pay_platform_ledger_error(r, err);
}

/* A withdrawal's states: pending until the bank took it (succeeded) or refused it (failed);
 * a retry stays pending. */
static const struct pay_state_move wd_moves[] = {
    {"pending", "succeeded"},
    {"pending", "failed"},
    {"pending", "pending"},
};

/* The row and wallet -> in flight, claimed for the caller's first attempt. */
static enum pay_err record_apply(struct pay_store_tx *tx, struct wd_cmd *c, struct pay_error *err)
{
    const struct wd_row *w = c->w;
    PAY_ASSERT_MSG(w->amount_minor > 0 && w->amount_minor <= PAY_AMOUNT_MAX_MINOR, "withdrawal %s",
                   w->id); /* parsed as an amount */
    int64_t now = pay_clock_now_ms();
    enum pay_err e = pay_store_exec(
        tx, err,
        "INSERT INTO pf_withdrawals (id, consumer_id, bank, to_account, card_id,"
        " to_account_sealed, amount_minor, currency, status, next_attempt_ms, created_ms)"
        " VALUES ($1,$2,$3,'',$4,1,$5,$6,'pending',$7,$8)",
        "ttttitii", w->id, w->consumer_id, w->bank, w->card_id, w->amount_minor, w->currency,
        now + PAY_WITHDRAWAL_LEASE_MS, now);
    if (e == PAY_ERR_OK)
        e = wd_xfer(c, tx, "out", PAY_PF_ACCT_WALLET, w->consumer_id, PAY_PF_ACCT_REFUND_FLIGHT, "",
                    err);
    if (e != PAY_ERR_OK)
        return e;
    char actor[PAY_AUDIT_TEXT_MAX], detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(actor, sizeof actor, "consumer:%s", w->consumer_id);
    snprintf(detail, sizeof detail, "amount_minor=%lld currency=%s bank=%s card=%s",
             (long long)w->amount_minor, w->currency, w->bank, w->card_id);
    return pay_platform_audit(
        c->p, tx,
        &(struct pay_audit_entry){
            .actor = actor, .action = "wallet.withdraw", .target = w->id, .detail = detail},
        err);
}

static enum pay_err wd_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct wd_cmd *c = ctx;
    if (c->what == WD_RECORD)
        return record_apply(tx, c, err);
    const struct wd_row *w = c->w;
    int64_t now = pay_clock_now_ms();
    static const char *const status[] = {"", "succeeded", "failed", "pending"};
    PAY_ASSERT(
        pay_state_move_legal(wd_moves, PAY_STATE_MOVES(wd_moves), "pending", status[c->what]));
    enum pay_err e = pay_store_exec(
        tx, err,
        "UPDATE pf_withdrawals SET status = $1, attempts = attempts + 1, last_error = $2,"
        " next_attempt_ms = $3, done_ms = $4 WHERE id = $5 AND status = 'pending'",
        "ttiit", status[c->what], c->detail ? c->detail : "",
        c->what == WD_RETRY
            ? now + pay_platform_transfer_retry_ms(w->attempts, PAY_WITHDRAWAL_RETRY_MIN_MS,
                                                   PAY_WITHDRAWAL_RETRY_MAX_MS)
            : now,
        c->what == WD_RETRY ? (int64_t)0 : now, w->id);
    if (e != PAY_ERR_OK)
        return e;
    if (pay_store_changes(tx) != 1) /* resolved already (cannot happen with the lease) */
        return pay_error_set(err, PAY_ERR_TRADE_STATE_INVALID, "", "withdrawal %s not pending",
                             w->id);
    char detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(detail, sizeof detail, "status=%s amount_minor=%lld currency=%s bank=%s%s%.200s",
             status[c->what], (long long)w->amount_minor, w->currency, w->bank,
             c->detail && c->detail[0] ? " answer=" : "", c->detail ? c->detail : "");
    if ((e = pay_platform_audit(c->p, tx,
                                &(struct pay_audit_entry){.actor = "system",
                                                          .action = "wallet.withdraw_result",
                                                          .target = w->id,
                                                          .source = "worker",
                                                          .detail = detail},
                                err)) != PAY_ERR_OK)
        return e;
    if (c->what == WD_SUCCEEDED)
        return wd_xfer(c, tx, "bank", PAY_PF_ACCT_REFUND_FLIGHT, "", PAY_PF_ACCT_RESERVE, w->bank,
                       err);
    if (c->what == WD_FAILED)
        return wd_xfer(c, tx, "back", PAY_PF_ACCT_REFUND_FLIGHT, "", PAY_PF_ACCT_WALLET,
                       w->consumer_id, err);
    return PAY_ERR_OK;
}

/* Sends the transfer of w to its card (its agreement token, opened from the card row only for
 * the call) or, for an older row, to its sealed account. A card or account that cannot be
 * read is INTERNAL, i.e. retried: the transfer may have been made already. */
static enum pay_err wd_send(struct pay_platform *p, const struct pay_platform_bank *b,
                            const struct wd_row *w, struct pay_error *berr)
{
    enum pay_err be;
    if (w->card_id[0]) {
        struct pay_platform_card c;
        size_t n = 0;
        be = pay_platform_cards_list(p, w->consumer_id, w->card_id, &c, 1, &n, berr);
        if (be == PAY_ERR_OK && n == 1)
            be = b->conn->transfer(b, w->id, c.token, NULL, w->amount_minor, w->currency, berr);
        else if (be == PAY_ERR_OK)
            be = pay_error_set(berr, PAY_ERR_INTERNAL, "", "card %s unreadable", w->card_id);
        pay_wipe(&c, sizeof c);
        return be;
    }
    char account[PAY_MERCHANT_ID_FIELD_MAX + 1], aad[PAY_ID_MAX + 4];
    size_t n = 0;
    int an = snprintf(aad, sizeof aad, "wd:%s", w->id);
    if (an < 0 || pay_aead_open(&p->aead, w->account_sealed, aad, (size_t)an, account,
                                sizeof account - 1, &n) != 0)
        return pay_error_set(berr, PAY_ERR_INTERNAL, "", "withdrawal %s unreadable", w->id);
    account[n] = '\0';
    be = b->conn->transfer(b, w->id, NULL, account, w->amount_minor, w->currency, berr);
    pay_wipe(account, sizeof account);
    return be;
}

/* One attempt on a claimed row; returns the bank's answer and sets *outcome. */
static enum pay_err wd_attempt(struct pay_platform *p, const struct wd_row *w,
                               enum wd_outcome *outcome, struct pay_error *berr)
{
    const struct pay_platform_bank *b = pay_platform_bank_find(p, w->bank);
    enum pay_err be =
        b ? wd_send(p, b, w, berr)
          : pay_error_set(berr, PAY_ERR_UPSTREAM_FAILED, "", "bank %s is not configured", w->bank);
    *outcome = (enum wd_outcome)pay_platform_transfer_outcome(be);
    struct pay_error err = {0};
    struct wd_cmd c = {.p = p, .w = w, .what = *outcome, .detail = be ? berr->detail : ""};
    enum pay_err e = pay_committer_submit(p->committer, wd_apply, &c, &err);
    PAY_INFO("wallet.withdraw", "id=%s bank=%s attempt=%lld result=%s booked=%s detail=\"%s\"",
             w->id, w->bank, (long long)w->attempts + 1, pay_err_name(be), pay_err_name(e),
             be == PAY_ERR_OK ? "" : berr->detail);
    return be;
}

enum pay_err pay_platform_withdraw(struct pay_platform *p, const char *consumer_id,
                                   const char *card_id, int64_t amount_minor, const char *currency,
                                   char status_out[16], struct pay_error *err)
{
    struct pay_platform_card c = {0};
    size_t n = 0;
    enum pay_err e =
        pay_platform_cards_list(p, consumer_id, card_id ? card_id : "", &c, 1, &n, err);
    pay_wipe(c.token, sizeof c.token); /* wd_send opens it again for each attempt */
    if (e == PAY_ERR_OK && n == 0)
        e = pay_error_set(err, PAY_ERR_FIELD_INVALID, "card_id",
                          N_("choose one of your bound cards"));
    if (e == PAY_ERR_OK && !pay_platform_bank_find(p, c.bank))
        e = pay_error_set(err, PAY_ERR_FIELD_INVALID, "card_id",
                          "the card's bank is not configured");
    struct wd_row w = {.amount_minor = amount_minor};
    if (e == PAY_ERR_OK && pay_id_new("wd", w.id) != PAY_ERR_OK)
        e = pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    if (e != PAY_ERR_OK)
        return e;
    pay_str_copy(w.consumer_id, sizeof w.consumer_id, consumer_id);
    pay_str_copy(w.bank, sizeof w.bank, c.bank);
    pay_str_copy(w.card_id, sizeof w.card_id, c.id);
    pay_str_copy(w.currency, sizeof w.currency, currency);
    struct wd_cmd record = {.p = p, .w = &w, .what = WD_RECORD};
    e = pay_committer_submit(p->committer, wd_apply, &record, err);
    if (e != PAY_ERR_OK)
        return e;
    enum wd_outcome outcome;
    enum pay_err be = wd_attempt(p, &w, &outcome, err);
    pay_str_copy(status_out, 16,
                 outcome == WD_SUCCEEDED ? "succeeded"
                 : outcome == WD_FAILED  ? "failed"
                                         : "pending");
    /* pending is not an error: the money is held and the worker finishes the transfer */
    return outcome == WD_FAILED ? be : PAY_ERR_OK;
}

/* --- the worker ------------------------------------------------------------------------------ */

struct due_ctx {
    struct wd_row rows[WD_BATCH];
    size_t n;
};

static enum pay_err due_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct due_ctx *d = ctx;
    d->n = 0;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT id, consumer_id, bank, card_id, to_account, currency, amount_minor,"
                        " attempts FROM pf_withdrawals WHERE status = 'pending'"
                        " AND next_attempt_ms <= $1 AND to_account_sealed = 1"
                        " ORDER BY next_attempt_ms LIMIT $2",
                        "ii", pay_clock_now_ms(), (int64_t)WD_BATCH);
    if (!st)
        return err->code;
    while (d->n < WD_BATCH && pay_store_step(st, err) == 1) {
        struct wd_row *w = &d->rows[d->n++];
        pay_store_col_copy(st, 0, w->id, sizeof w->id);
        pay_store_col_copy(st, 1, w->consumer_id, sizeof w->consumer_id);
        pay_store_col_copy(st, 2, w->bank, sizeof w->bank);
        pay_store_col_copy(st, 3, w->card_id, sizeof w->card_id);
        pay_store_col_copy(st, 4, w->account_sealed, sizeof w->account_sealed);
        pay_store_col_copy(st, 5, w->currency, sizeof w->currency);
        w->amount_minor = pay_store_col_int64(st, 6);
        w->attempts = pay_store_col_int64(st, 7);
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

struct claim_ctx {
    const char *id;
    bool claimed;
};

/* Takes the lease on a due row (attempts are counted when the answer is booked). */
static enum pay_err claim_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct claim_ctx *c = ctx;
    return pay_platform_transfer_claim_tx(tx, "pf_withdrawals", c->id, pay_clock_now_ms(),
                                          PAY_WITHDRAWAL_LEASE_MS, false, &c->claimed, err);
}

void pay_platform_withdraw_work(struct pay_platform *p)
{
    struct due_ctx d;
    struct pay_error err = {0};
    if (pay_store_run_read(p->store, due_tx, &d, &err) != PAY_ERR_OK)
        return;
    for (size_t i = 0; i < d.n && !atomic_load(&p->stopping); i++) {
        struct claim_ctx c = {d.rows[i].id, false};
        if (pay_platform_write(p, claim_tx, &c, &err) != PAY_ERR_OK || !c.claimed)
            continue;
        enum wd_outcome outcome;
        struct pay_error berr = {0};
        wd_attempt(p, &d.rows[i], &outcome, &berr);
    }
}

/* --- the consumer's list --------------------------------------------------------------------- */

struct list_ctx {
    const char *consumer_id;
    json_t *arr;
};

static enum pay_err list_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct list_ctx *l = ctx;
    json_array_clear(l->arr);
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT w.id, w.bank, COALESCE(c.last4, ''), w.amount_minor, w.currency, w.status,"
        " w.created_ms FROM pf_withdrawals w LEFT JOIN pf_cards c ON c.id = w.card_id"
        " WHERE w.consumer_id = $1 ORDER BY w.created_ms DESC, w.id DESC LIMIT 20",
        "t", l->consumer_id);
    if (!st)
        return err->code;
    while (pay_store_step(st, err) == 1) {
        char amount[PAY_MONEY_TEXT_MAX + 1] = "";
        pay_money_format(pay_store_col_int64(st, 3), pay_store_col_text(st, 4), amount,
                         sizeof amount);
        json_array_append_new(l->arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:I}", "id",
                                                pay_store_col_text(st, 0), "bank",
                                                pay_store_col_text(st, 1), "card_last4",
                                                pay_store_col_text(st, 2), "amount", amount,
                                                "status", pay_store_col_text(st, 5), "at",
                                                pay_platform_time_json(pay_store_col_int64(st, 6)),
                                                "at_ms", (json_int_t)pay_store_col_int64(st, 6)));
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

enum pay_err pay_platform_withdrawals_list(struct pay_platform *p, const char *consumer_id,
                                           json_t **out, struct pay_error *err)
{
    struct list_ctx l = {consumer_id, json_array()};
    if (!l.arr)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    enum pay_err e = pay_store_run_read(p->store, list_tx, &l, err);
    if (e != PAY_ERR_OK) {
        json_decref(l.arr);
        l.arr = NULL;
    }
    *out = l.arr;
    return e;
}

/* Migration 12: the typed account of withdrawals made by older versions, sealed at open with
 * "wd:<id>" as associated data (wd_send opens it for a pending one's retry). */
const struct pay_platform_legacy pay_platform_legacy_withdrawals = {
    "pf_withdrawals", "to_account_sealed", {"to_account", NULL}, "wd:"};
