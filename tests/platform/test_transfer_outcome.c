/* How the platform reads a bank's answer to a payout or a withdrawal (src/platform/transfers.c),
 * as docs/settlement.md and docs/platform.md promise: success is done; no answer, any 5xx or a
 * 429 may or may not have happened and is sent again with the same transferId; any other error
 * is a refusal (the money goes back). Checked over every code of the registry, so a code added
 * later is classified by its status, never by a list someone must remember to extend. */
#include "platform/platform.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void every_code_classified_by_its_status(void **state)
{
    (void)state;
    for (int i = 0; i < PAY_ERR__COUNT; i++) {
        enum pay_err e = (enum pay_err)i;
        int status = pay_err_http_status(e);
        enum pay_platform_transfer_outcome want = e == PAY_ERR_OK ? PAY_TRANSFER_SUCCEEDED
                                                  : status >= 500 || e == PAY_ERR_RATE_LIMITED
                                                      ? PAY_TRANSFER_RETRY
                                                      : PAY_TRANSFER_FAILED;
        if (pay_platform_transfer_outcome(e) != want)
            fail_msg("%s (%d) classified %d, want %d", pay_err_name(e), status,
                     (int)pay_platform_transfer_outcome(e), (int)want);
    }
}

/* The cases a reader would check first, named: a bank whose disk failed (500 DB_IO) has not
 * refused anything; a bank that says the account is unknown has. */
static void bank_disk_error_is_sent_again(void **state)
{
    (void)state;
    assert_int_equal(pay_platform_transfer_outcome(PAY_ERR_DB_IO), PAY_TRANSFER_RETRY);
    assert_int_equal(pay_platform_transfer_outcome(PAY_ERR_INTERNAL), PAY_TRANSFER_RETRY);
    assert_int_equal(pay_platform_transfer_outcome(PAY_ERR_UPSTREAM_TIMEOUT), PAY_TRANSFER_RETRY);
    assert_int_equal(pay_platform_transfer_outcome(PAY_ERR_RATE_LIMITED), PAY_TRANSFER_RETRY);
    assert_int_equal(pay_platform_transfer_outcome(PAY_ERR_BALANCE_INSUFFICIENT),
                     PAY_TRANSFER_FAILED);
    assert_int_equal(pay_platform_transfer_outcome(PAY_ERR_OK), PAY_TRANSFER_SUCCEEDED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_code_classified_by_its_status),
        cmocka_unit_test(bank_disk_error_is_sent_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
