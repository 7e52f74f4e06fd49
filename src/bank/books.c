/* The bank's books: the account, customer and transfer primitives every money path uses
 * (each inside the caller's transaction), and the order states. Apart from bank.c (the
 * process's life) so that the files that move money call down into it and nothing calls back
 * (docs/hacking.md, "Call loops"). */
#include "bank/bank.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "crypto/ids.h"

#include <stdio.h>
#include <string.h>

enum pay_err pay_bank_account_create(struct pay_bank *b, struct pay_store_tx *tx, const char *kind,
                                     const char *owner, char id_out[PAY_LEDGER_ID_MAX + 1],
                                     struct pay_error *err)
{
    struct pay_ledger_account a;
    memset(&a, 0, sizeof a);
    char id[PAY_ID_MAX];
    enum pay_err rc = pay_id_new("acct", id);
    if (rc != PAY_ERR_OK)
        return pay_error_set(err, rc, "", "no random id");
    pay_str_copy(a.id, sizeof a.id, id);
    snprintf(a.currency, sizeof a.currency, PAY_BANK_CURRENCY);
    a.code = strcmp(kind, "credit") == 0     ? PAY_BANK_ACCT_CREDIT
             : strcmp(kind, "merchant") == 0 ? PAY_BANK_ACCT_MERCHANT
                                             : PAY_BANK_ACCT_DEPOSIT;
    a.flags = PAY_LEDGER_AF_DEBITS_MUST_NOT_EXCEED_CREDITS;
    pay_str_copy(a.owner, sizeof a.owner, owner);
    enum pay_ledger_result res;
    rc = pay_ledger_tx_create_accounts(b->ledger, tx, &a, 1, &res, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (res != PAY_LEDGER_OK)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "account: %s", pay_ledger_result_name(res));
    rc = pay_store_exec(tx, err,
                        "INSERT INTO bank_accounts (id, kind, owner, currency, created_ms)"
                        " VALUES ($1, $2, $3, $4, $5)",
                        "tttti", id, kind, owner, PAY_BANK_CURRENCY, pay_clock_now_ms());
    if (rc == PAY_ERR_OK)
        pay_str_copy(id_out, PAY_LEDGER_ID_MAX + 1, id);
    return rc;
}

static const struct pay_state_move order_moves[] = {
    {"CREATED", "PAID"},
    {"PAID", "REFUNDED"},
};

bool pay_bank_order_move_legal(const char *from, const char *to)
{
    return pay_state_move_legal(order_moves, PAY_STATE_MOVES(order_moves), from, to);
}

enum pay_err pay_bank_transfer(struct pay_bank *b, struct pay_store_tx *tx, const char *id,
                               const char *from, const char *to, int64_t amount_minor, int32_t code,
                               const char *user_data, struct pay_error *err)
{
    PAY_ASSERT_MSG(amount_minor > 0 && amount_minor <= PAY_AMOUNT_MAX_MINOR, "transfer %s", id);
    struct pay_ledger_transfer t;
    memset(&t, 0, sizeof t);
    pay_str_copy(t.id, sizeof t.id, id);
    pay_str_copy(t.debit_account_id, sizeof t.debit_account_id, from);
    pay_str_copy(t.credit_account_id, sizeof t.credit_account_id, to);
    snprintf(t.currency, sizeof t.currency, PAY_BANK_CURRENCY);
    t.amount_minor = amount_minor;
    t.code = code;
    pay_str_copy(t.user_data, sizeof t.user_data, user_data ? user_data : "");
    enum pay_ledger_result res;
    enum pay_err rc = pay_ledger_tx_transfer(b->ledger, tx, &t, &res, err);
    if (rc != PAY_ERR_OK)
        return rc;
    switch (res) {
    case PAY_LEDGER_OK:
    case PAY_LEDGER_EXISTS:
        return PAY_ERR_OK;
    case PAY_LEDGER_EXCEEDS_CREDITS:
        return pay_error_set(err, PAY_ERR_INSUFFICIENT_FUNDS, "amount", NULL);
    case PAY_LEDGER_DEBIT_ACCOUNT_NOT_FOUND:
    case PAY_LEDGER_CREDIT_ACCOUNT_NOT_FOUND:
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "account", "no such account");
    case PAY_LEDGER_ACCOUNTS_MUST_DIFFER:
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "toAccount", "accounts must differ");
    default:
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "", "ledger refused the transfer: %s",
                             pay_ledger_result_name(res));
    }
}

enum pay_err pay_bank_customer_create(struct pay_bank *b, struct pay_store_tx *tx, const char *name,
                                      const char *phone, char id_out[PAY_ID_MAX],
                                      struct pay_error *err)
{
    (void)b;
    enum pay_err rc = pay_id_new("cus", id_out);
    if (rc != PAY_ERR_OK)
        return pay_error_set(err, rc, "", "no random id");
    return pay_store_exec(tx, err,
                          "INSERT INTO bank_customers (id, name, phone, created_ms)"
                          " VALUES ($1, $2, $3, $4)",
                          "ttti", id_out, name, phone, pay_clock_now_ms());
}
