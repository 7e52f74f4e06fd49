/* The platform's chart of accounts (docs/platform.md): every ledger account the platform
 * books to, its id scheme "pf.<kind>[.<owner>].<currency>", its flags, and lazy creation inside
 * the transaction that first needs it (so any currency works without set-up). */
#include "platform/platform.h"
#include "core/buf.h"

#include <stdio.h>
#include <string.h>

static const char *kind_tag(enum pay_platform_account_kind kind)
{
    switch (kind) {
    case PAY_PF_ACCT_RESERVE:
        return "reserve";
    case PAY_PF_ACCT_WALLET:
        return "wallet";
    case PAY_PF_ACCT_MERCHANT:
        return "merchant";
    case PAY_PF_ACCT_FEES:
        return "fees";
    case PAY_PF_ACCT_REFUND_FLIGHT:
        return "refunds";
    case PAY_PF_ACCT_SANDBOX:
        return "sandbox";
    case PAY_PF_ACCT_ESCROW:
        return "escrow";
    case PAY_PF_ACCT_PAYOUT_FLIGHT:
        return "payouts";
    case PAY_PF_ACCT_SUSPENSE:
        return "suspense";
    case PAY_PF_ACCT_CHAIN_HELD:
        return "held";
    case PAY_PF_ACCT_FX:
        return "fx";
    }
    return "unknown";
}

/* Liabilities (wallets, merchant balances, refunds in flight) and income may never go below
 * zero: a wallet cannot pay more than it holds. The reserve is an asset mirrored from the
 * bank; the sandbox funding account is the (negative) source of operator-credited money. */
static uint32_t kind_flags(enum pay_platform_account_kind kind)
{
    switch (kind) {
    case PAY_PF_ACCT_WALLET:
    case PAY_PF_ACCT_MERCHANT:
    case PAY_PF_ACCT_FEES:
    case PAY_PF_ACCT_REFUND_FLIGHT:
    case PAY_PF_ACCT_ESCROW:
    case PAY_PF_ACCT_PAYOUT_FLIGHT:
    case PAY_PF_ACCT_CHAIN_HELD:
        return PAY_LEDGER_AF_DEBITS_MUST_NOT_EXCEED_CREDITS;
    case PAY_PF_ACCT_RESERVE:
        return PAY_LEDGER_AF_CREDITS_MUST_NOT_EXCEED_DEBITS;
    case PAY_PF_ACCT_SANDBOX:
    case PAY_PF_ACCT_SUSPENSE: /* a write-off goes either way: the bank had more, or less */
    case PAY_PF_ACCT_FX:       /* a token side in credit, a currency side in debit */
        return 0;
    }
    return 0;
}

int pay_platform_account_id(enum pay_platform_account_kind kind, const char *owner,
                            const char *currency, char *out)
{
    int n;
    if (owner && owner[0])
        n = snprintf(out, PAY_LEDGER_ID_MAX + 1, "pf.%s.%s.%s", kind_tag(kind), owner, currency);
    else
        n = snprintf(out, PAY_LEDGER_ID_MAX + 1, "pf.%s.%s", kind_tag(kind), currency);
    return n > 0 && n <= PAY_LEDGER_ID_MAX ? 0 : -1;
}

enum pay_err pay_platform_account_ensure(struct pay_platform *p, struct pay_store_tx *tx,
                                         enum pay_platform_account_kind kind, const char *owner,
                                         const char *currency, char *id_out, struct pay_error *err)
{
    if (pay_platform_account_id(kind, owner, currency, id_out) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "account id too long");
    struct pay_ledger_account a;
    enum pay_ledger_result r;
    enum pay_err e = pay_ledger_tx_account_get(p->ledger, tx, id_out, &a, &r, err);
    if (e != PAY_ERR_OK || r == PAY_LEDGER_OK)
        return e;
    memset(&a, 0, sizeof a);
    memcpy(a.id, id_out, strlen(id_out) + 1);
    memcpy(a.currency, currency, 4);
    a.code = (int32_t)kind;
    a.flags = kind_flags(kind);
    if (owner)
        pay_str_copy(a.owner, sizeof a.owner, owner);
    e = pay_ledger_tx_create_accounts(p->ledger, tx, &a, 1, &r, err);
    if (e != PAY_ERR_OK)
        return e;
    if (r != PAY_LEDGER_OK && r != PAY_LEDGER_EXISTS)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "create account %s: %s", id_out,
                             pay_ledger_result_name(r));
    return PAY_ERR_OK;
}

enum pay_err pay_platform_ledger_error(enum pay_ledger_result r, struct pay_error *err)
{
    if (r == PAY_LEDGER_OK || r == PAY_LEDGER_EXISTS)
        return PAY_ERR_OK;
    if (r == PAY_LEDGER_EXCEEDS_CREDITS)
        return pay_error_set(err, PAY_ERR_BALANCE_INSUFFICIENT, "", NULL);
    return pay_error_set(err, PAY_ERR_INTERNAL, "", "ledger: %s", pay_ledger_result_name(r));
}
