/* What the platform's outgoing bank transfers share: payouts to merchants (settlement.c) and
 * withdrawals to consumers' cards (withdrawals.c). Each is a row with status 'pending' and
 * next_attempt_ms; a worker claims a due row with a lease, sends the transfer with the row's
 * id as the bank's idempotent transferId, and books the answer: done, refused (it did not
 * happen), or sent again later with the same id. */
#include "platform/platform.h"

#include "core/assertions.h"

#include <stdio.h>
#include <string.h>

/* The bank did not answer, failed while handling it (any 5xx: its database, its disk, a bug,
 * shutting down) or asked us to come back later (429): the transfer may or may not have
 * happened, so it is sent again later with the same transferId. Any other error (4xx) is the
 * bank refusing the transfer: it did not happen. */
bool pay_platform_bank_error_transient(enum pay_err e)
{
    return e == PAY_ERR_RATE_LIMITED || pay_err_http_status(e) >= 500;
}

enum pay_platform_transfer_outcome pay_platform_transfer_outcome(enum pay_err bank_result)
{
    return bank_result == PAY_ERR_OK                        ? PAY_TRANSFER_SUCCEEDED
           : pay_platform_bank_error_transient(bank_result) ? PAY_TRANSFER_RETRY
                                                            : PAY_TRANSFER_FAILED;
}

int64_t pay_platform_transfer_retry_ms(int64_t attempts, int64_t min_ms, int64_t max_ms)
{
    PAY_ASSERT(0 < min_ms && min_ms <= max_ms);
    int64_t d = min_ms;
    for (int64_t i = 0; i < attempts && d < max_ms; i++)
        d *= 2;
    return d < max_ms ? d : max_ms;
}

enum pay_err pay_platform_transfer_claim_tx(struct pay_store_tx *tx, const char *table,
                                            const char *id, int64_t now_ms, int64_t lease_ms,
                                            bool count_attempt, bool *claimed,
                                            struct pay_error *err)
{
    PAY_ASSERT(strcmp(table, "pf_settlements") == 0 || strcmp(table, "pf_withdrawals") == 0);
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE %s SET next_attempt_ms = $1%s WHERE id = $2 AND status = 'pending'"
             " AND next_attempt_ms <= $3",
             table, count_attempt ? ", attempts = attempts + 1" : "");
    enum pay_err e = pay_store_exec(tx, err, sql, "iti", now_ms + lease_ms, id, now_ms);
    *claimed = e == PAY_ERR_OK && pay_store_changes(tx) == 1;
    return e;
}
