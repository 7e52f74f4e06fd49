/* The platform tests' read of the ledger in a stopped platform's database (balances checked
 * at the end of a test); see harness.h. Its own file so that only tests that use it link the
 * ledger. */
#include "harness.h"

#include "ledger/ledger.h"
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>

struct pay_ledger *h_ledger_open(struct h_platform *pf, struct pay_store **s)
{
    const struct pay_store_component *comps[] = {&pay_ledger_schema, NULL};
    struct pay_ledger *lg = NULL;
    *s = NULL;
    struct pay_error err = {0}; /* pf->db: platform.db, or its PostgreSQL URL */
    if (pay_store_open(pf->db, NULL, comps, s, &err) != PAY_ERR_OK)
        fail_msg("pay_store_open %s: %s %s", pf->db, pay_err_name(err.code), err.detail);
    assert_int_equal(pay_ledger_new(*s, &lg, NULL), PAY_ERR_OK);
    return lg;
}

void h_ledger_close(struct pay_store *s, struct pay_ledger *lg)
{
    pay_ledger_free(lg);
    pay_store_close(s);
}

int64_t h_ledger_debit_balance(struct pay_ledger *lg, const char *id)
{
    struct pay_ledger_account a;
    bool found = false;
    assert_int_equal(pay_ledger_account_get(lg, id, &a, &found, NULL), PAY_ERR_OK);
    return found ? a.debits_posted - a.credits_posted : 0;
}
