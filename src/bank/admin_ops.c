/* Sandbox administration (docs/bank.md "Sandbox administration"): customers, accounts, cards,
 * deposits and an account's movements. The one implementation behind both the offline CLI
 * (`paygate bank customer|account|card|deposit|movements`) and the /admin forms: each
 * function checks its input (err->field names the bad field) and commits one write. */
#include "bank/bank.h"
#include "core/buf.h"
#include "core/clock.h"
#include "crypto/ids.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "http/codec.h"

#include <stdio.h>
#include <string.h>

static const char *nz(const char *s)
{
    return s ? s : "";
}

static enum pay_err need(const char *v, const char *field, struct pay_error *err)
{
    if (!v || !v[0])
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, field, "%s is required", field);
    return PAY_ERR_OK;
}

/* Printable text without control characters, 1..max bytes. */
static enum pay_err text_ok(const char *v, const char *field, size_t max, struct pay_error *err)
{
    enum pay_err rc = need(v, field, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (strlen(v) > max)
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, field, "at most %zu characters", max);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, field, "control characters");
    return PAY_ERR_OK;
}

/* --- customers ------------------------------------------------------------------------------ */

struct customer_op {
    struct pay_bank *b;
    const char *name, *phone;
    char id[PAY_ID_MAX];
};

static enum pay_err customer_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct customer_op *c = ctx;
    enum pay_err rc = pay_bank_customer_create(c->b, tx, c->name, c->phone, c->id, err);
    if (rc != PAY_ERR_OK)
        return rc;
    return pay_bank_audit(
        c->b, tx,
        &(struct pay_audit_entry){
            .actor = "admin", .action = "customer.add", .target = c->id, .detail = c->name},
        err);
}

enum pay_err pay_bank_admin_customer_add(struct pay_bank *b, const char *name, const char *phone,
                                         char id_out[PAY_ID_MAX], struct pay_error *err)
{
    enum pay_err rc = text_ok(name, "name", PAY_BANK_NAME_MAX, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if ((rc = need(phone, "phone", err)) != PAY_ERR_OK)
        return rc;
    size_t n = strlen(phone), digits = strspn(phone + (phone[0] == '+'), "0123456789");
    if (digits + (phone[0] == '+') != n || digits < 5 || digits > 20)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "phone",
                             "5 to 20 digits, optionally after a '+'");
    struct customer_op c = {.b = b, .name = name, .phone = phone};
    rc = pay_committer_submit(b->committer, customer_apply, &c, err);
    if (rc == PAY_ERR_OK)
        pay_str_copy(id_out, PAY_ID_MAX, c.id);
    return rc;
}

struct reserved_op {
    struct pay_bank *b;
    const char *customer_id, *message;
};

static enum pay_err reserved_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct reserved_op *r = ctx;
    enum pay_err rc = pay_bank_reserved_set(r->b, tx, r->customer_id, r->message, err);
    if (rc != PAY_ERR_OK)
        return rc;
    return pay_bank_audit(r->b, tx,
                          &(struct pay_audit_entry){.actor = "admin",
                                                    .action = "customer.reserved_message",
                                                    .target = r->customer_id},
                          err); /* that it changed, never what it says */
}

enum pay_err pay_bank_admin_customer_reserved(struct pay_bank *b, const char *customer_id,
                                              const char *message, struct pay_error *err)
{
    enum pay_err rc = need(customer_id, "customer", err);
    if (rc == PAY_ERR_OK)
        rc = pay_reserved_message_check(message, err);
    if (rc != PAY_ERR_OK)
        return rc;
    struct reserved_op r = {.b = b, .customer_id = customer_id, .message = message};
    return pay_committer_submit(b->committer, reserved_apply, &r, err);
}

/* --- accounts ------------------------------------------------------------------------------- */

/* The phone of customer_id into phone (sized 24); NOT_FOUND (field "customer") if none. */
static enum pay_err customer_phone(struct pay_store_tx *tx, const char *customer_id, char phone[24],
                                   struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT phone FROM bank_customers WHERE id = $1", "t", nz(customer_id));
    if (!st)
        return err->code;
    phone[0] = '\0';
    if (pay_store_step(st, err) == 1)
        pay_str_copy(phone, 24, pay_store_col_text(st, 0));
    pay_store_done(st);
    if (!phone[0])
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "customer", "no customer %s", nz(customer_id));
    return PAY_ERR_OK;
}

/* Kind and owner of one of the bank's accounts; NOT_FOUND (field "account") if none. */
static enum pay_err account_row(struct pay_store_tx *tx, const char *account_id, char kind[16],
                                char owner[PAY_ID_MAX], struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT kind, owner FROM bank_accounts WHERE id = $1", "t", nz(account_id));
    if (!st)
        return err->code;
    bool found = pay_store_step(st, err) == 1;
    if (found) {
        pay_str_copy(kind, 16, pay_store_col_text(st, 0));
        pay_str_copy(owner, PAY_ID_MAX, pay_store_col_text(st, 1));
    }
    pay_store_done(st);
    if (!found)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "account", "no account %s", nz(account_id));
    return PAY_ERR_OK;
}

struct account_op {
    struct pay_bank *b;
    const char *customer_id, *kind;
    int64_t limit_minor;
    char id[PAY_LEDGER_ID_MAX + 1];
};

static enum pay_err account_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct account_op *a = ctx;
    struct pay_bank *b = a->b;
    char phone[24];
    enum pay_err rc = customer_phone(tx, a->customer_id, phone, err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_account_create(b, tx, a->kind, a->customer_id, a->id, err);
    char note[PAY_AUDIT_TEXT_MAX];
    snprintf(note, sizeof note, "kind=%s customer=%s", a->kind, a->customer_id);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_audit_money(b, tx, "admin", NULL, "account.open", a->id, a->limit_minor, note,
                                  err);
    if (rc != PAY_ERR_OK || a->limit_minor == 0)
        return rc;
    char tid[PAY_LEDGER_ID_MAX + 16];
    snprintf(tid, sizeof tid, "limit:%s", a->id);
    return pay_bank_transfer(b, tx, tid, b->credit_lines_account, a->id, a->limit_minor,
                             PAY_BANK_XFER_CREDIT_LINE, "", err);
}

enum pay_err pay_bank_admin_account_open(struct pay_bank *b, const char *customer_id,
                                         const char *kind, int64_t limit_minor,
                                         char id_out[PAY_LEDGER_ID_MAX + 1], struct pay_error *err)
{
    enum pay_err rc = need(customer_id, "customer", err);
    if (rc != PAY_ERR_OK)
        return rc;
    bool credit = kind && strcmp(kind, "credit") == 0;
    if (!credit && !(kind && strcmp(kind, "deposit") == 0))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "kind", "deposit or credit");
    if (limit_minor < 0 || limit_minor > PAY_AMOUNT_MAX_MINOR)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "limit", "0 to %lld minor units",
                             (long long)PAY_AMOUNT_MAX_MINOR);
    if (!credit && limit_minor != 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "limit",
                             "a credit limit is for credit accounts only");
    struct account_op a = {
        .b = b, .customer_id = customer_id, .kind = kind, .limit_minor = limit_minor};
    rc = pay_committer_submit(b->committer, account_apply, &a, err);
    if (rc == PAY_ERR_OK)
        pay_str_copy(id_out, PAY_LEDGER_ID_MAX + 1, a.id);
    return rc;
}

/* --- cards ---------------------------------------------------------------------------------- */

struct card_op {
    struct pay_bank *b;
    const struct pay_bank_admin_card *in;
    struct pay_bank_issued *out;
};

static enum pay_err card_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct card_op *c = ctx;
    const struct pay_bank_admin_card *in = c->in;
    bool credit = strcmp(in->kind, "credit") == 0;
    char kind[16] = "", owner[PAY_ID_MAX] = "", phone[24];
    const char *customer = in->customer_id;
    bool existing = in->account_id && in->account_id[0];
    enum pay_err rc = PAY_ERR_OK;
    if (existing) {
        rc = account_row(tx, in->account_id, kind, owner, err);
        if (rc != PAY_ERR_OK)
            return rc;
        if (strcmp(kind, credit ? "credit" : "deposit") != 0)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, "kind",
                                 "a %s card needs a %s account; %s is a %s account", in->kind,
                                 credit ? "credit" : "deposit", in->account_id, kind);
        customer = owner;
    }
    rc = customer_phone(tx, customer, phone, err);
    if (rc != PAY_ERR_OK)
        return rc;
    struct pay_bank_card_new n = {.customer_id = customer,
                                  .kind = in->kind,
                                  .password = in->password,
                                  .expiry = in->expiry,
                                  .phone = phone,
                                  .account_id = existing ? in->account_id : NULL,
                                  .credit_limit_minor = in->limit_minor,
                                  .serial = -1};
    rc = pay_bank_card_issue(c->b, tx, &n, c->out->pan, c->out->cvv, c->out->card_id, err);
    struct pay_bank_card card; /* for the id of the account it opened (or was given) */
    if (rc == PAY_ERR_OK)
        rc = pay_bank_card_get(tx, c->out->card_id, &card, err);
    if (rc == PAY_ERR_OK)
        pay_str_copy(c->out->account_id, sizeof c->out->account_id, card.account_id);
    pay_wipe(&card, sizeof card);
    char note[PAY_AUDIT_TEXT_MAX]; /* the card by id and its last 4 digits, never the number */
    snprintf(note, sizeof note, "kind=%s account=%s last4=%s", in->kind, c->out->account_id,
             rc == PAY_ERR_OK ? c->out->pan + strlen(c->out->pan) - 4 : "");
    if (rc == PAY_ERR_OK)
        rc = pay_bank_audit_money(c->b, tx, "admin", NULL, "card.issue", c->out->card_id,
                                  in->limit_minor, note, err);
    return rc;
}

enum pay_err pay_bank_admin_card_issue(struct pay_bank *b, const struct pay_bank_admin_card *c,
                                       struct pay_bank_issued *out, struct pay_error *err)
{
    memset(out, 0, sizeof *out);
    bool existing = c->account_id && c->account_id[0];
    enum pay_err rc =
        need(existing ? c->account_id : c->customer_id, existing ? "account" : "customer", err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (!c->kind || (strcmp(c->kind, "debit") != 0 && strcmp(c->kind, "credit") != 0))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "kind", "debit or credit");
    if (c->limit_minor < 0 || c->limit_minor > PAY_AMOUNT_MAX_MINOR)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "limit", "0 to %lld minor units",
                             (long long)PAY_AMOUNT_MAX_MINOR);
    if ((rc = need(c->password, "password", err)) != PAY_ERR_OK ||
        (rc = need(c->expiry, "expiry", err)) != PAY_ERR_OK)
        return rc;
    if (pay_bank_expiry_past(c->expiry, pay_clock_now_ms()) != 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "expiry", "MM/YY, not in the past");
    struct card_op op = {.b = b, .in = c, .out = out};
    rc = pay_committer_submit(b->committer, card_apply, &op, err);
    if (rc != PAY_ERR_OK) {
        pay_wipe(out, sizeof *out);
        return rc;
    }
    pay_str_copy(out->expiry, sizeof out->expiry, c->expiry);
    return PAY_ERR_OK;
}

/* --- deposits and movements ----------------------------------------------------------------- */

struct deposit_op {
    struct pay_bank *b;
    const char *account_id;
    int64_t amount_minor;
    char id[PAY_LEDGER_ID_MAX + 1];
};

static enum pay_err deposit_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct deposit_op *d = ctx;
    struct pay_bank *b = d->b;
    char kind[16], owner[PAY_ID_MAX];
    enum pay_err rc = account_row(tx, d->account_id, kind, owner, err);
    if (rc == PAY_ERR_OK)
        rc = pay_id_new("dep", d->id);
    if (rc != PAY_ERR_OK)
        return rc;
    rc = pay_bank_transfer(b, tx, d->id, b->cash_account, d->account_id, d->amount_minor,
                           PAY_BANK_XFER_DEPOSIT, "deposit", err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_audit_money(b, tx, "admin", NULL, "deposit", d->account_id, d->amount_minor,
                                  d->id, err);
    return rc;
}

enum pay_err pay_bank_admin_deposit(struct pay_bank *b, const char *account_id,
                                    int64_t amount_minor, char id_out[PAY_LEDGER_ID_MAX + 1],
                                    struct pay_error *err)
{
    enum pay_err rc = need(account_id, "account", err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (amount_minor <= 0)
        return pay_error_set(err, PAY_ERR_AMOUNT_NOT_POSITIVE, "amount", NULL);
    if (amount_minor > PAY_AMOUNT_MAX_MINOR)
        return pay_error_set(err, PAY_ERR_AMOUNT_TOO_LARGE, "amount", "at most %lld minor units",
                             (long long)PAY_AMOUNT_MAX_MINOR);
    struct deposit_op d = {.b = b, .account_id = account_id, .amount_minor = amount_minor};
    rc = pay_committer_submit(b->committer, deposit_apply, &d, err);
    if (rc == PAY_ERR_OK && id_out)
        pay_str_copy(id_out, PAY_LEDGER_ID_MAX + 1, d.id);
    return rc;
}

/* --- adjustments (调账) ------------------------------------------------------------------------
 */

struct adjust_op {
    struct pay_bank *b;
    const struct pay_bank_adjustment *a;
    char id[PAY_LEDGER_ID_MAX + 1];
};

static enum pay_err adjust_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct adjust_op *o = ctx;
    const struct pay_bank_adjustment *a = o->a;
    char kind[16], owner[PAY_ID_MAX];
    enum pay_err rc = account_row(tx, a->account_id, kind, owner, err);
    if (rc == PAY_ERR_OK)
        rc = pay_id_new("adj", o->id);
    if (rc != PAY_ERR_OK)
        return rc;
    bool credit = strcmp(a->direction, "credit") == 0;
    rc = pay_bank_transfer(o->b, tx, o->id, credit ? o->b->cash_account : a->account_id,
                           credit ? a->account_id : o->b->cash_account, a->amount_minor,
                           PAY_BANK_XFER_ADJUSTMENT, a->reference, err);
    char note[PAY_AUDIT_DETAIL_MAX / 2];
    snprintf(note, sizeof note, "%s %s reference=%.64s note=%.64s", o->id, a->direction,
             a->reference, nz(a->note));
    if (rc == PAY_ERR_OK)
        rc = pay_bank_audit_money(o->b, tx, "admin", NULL, "adjustment", a->account_id,
                                  a->amount_minor, note, err);
    return rc;
}

/* A reference names another movement: the charset of order, refund and transfer ids. */
static bool reference_ok(const char *r)
{
    size_t n = strlen(r);
    return n <= 64 &&
           strspn(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-") == n;
}

enum pay_err pay_bank_admin_adjust(struct pay_bank *b, const struct pay_bank_adjustment *a,
                                   char id_out[PAY_LEDGER_ID_MAX + 1], struct pay_error *err)
{
    enum pay_err rc = need(a->account_id, "account", err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (!a->direction || (strcmp(a->direction, "credit") != 0 && strcmp(a->direction, "debit")))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "direction", "credit or debit");
    if (a->amount_minor <= 0)
        return pay_error_set(err, PAY_ERR_AMOUNT_NOT_POSITIVE, "amount", NULL);
    if (a->amount_minor > PAY_AMOUNT_MAX_MINOR)
        return pay_error_set(err, PAY_ERR_AMOUNT_TOO_LARGE, "amount", "at most %lld minor units",
                             (long long)PAY_AMOUNT_MAX_MINOR);
    if (!a->reference || !reference_ok(a->reference))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "reference",
                             "up to 64 of A-Z a-z 0-9 _ . : -");
    if (a->note && a->note[0] &&
        (rc = text_ok(a->note, "note", PAY_BANK_NAME_MAX, err)) != PAY_ERR_OK)
        return rc;
    struct adjust_op o = {.b = b, .a = a};
    rc = pay_committer_submit(b->committer, adjust_apply, &o, err);
    if (rc == PAY_ERR_OK && id_out)
        pay_str_copy(id_out, PAY_LEDGER_ID_MAX + 1, o.id);
    return rc;
}

enum pay_err pay_bank_admin_movements(struct pay_bank *b, const char *account_id, int64_t cursor,
                                      struct pay_ledger_transfer *out, size_t max, size_t *n,
                                      int64_t *next, struct pay_error *err)
{
    *n = 0;
    *next = 0;
    enum pay_err rc = need(account_id, "account", err);
    if (rc != PAY_ERR_OK)
        return rc;
    struct pay_ledger_account a;
    bool found = false;
    rc = pay_ledger_account_get(b->ledger, account_id, &a, &found, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (!found)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "account", "no account %s", account_id);
    if (cursor < 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "cursor", "not a page cursor");
    return pay_ledger_account_transfers(b->ledger, account_id, cursor, out, max, n, next, err);
}
