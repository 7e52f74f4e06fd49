/* The platform's side of the transparency log (docs/receipts.md): each paid trade's leaf,
 * appended in the transaction that records the payment (trades.c), so a payment never exists
 * without its leaf. */
#include "platform/platform.h"

#include "core/buf.h"
#include "translog/translog.h"

#include <string.h>

enum pay_err pay_platform_receipt_leaf(struct pay_store_tx *tx, const struct pay_platform_trade *t,
                                       struct pay_error *err)
{
    struct pay_translog_leaf l = {.amount_minor = t->amount_minor, .paid_ms = t->paid_ms};
    /* Each fits: ids and out_trade_no are at most 64 bytes (limits.h, checked below). */
    pay_str_copy(l.trade_id, sizeof l.trade_id, t->id);
    pay_str_copy(l.merchant_id, sizeof l.merchant_id, t->merchant_id);
    pay_str_copy(l.out_trade_no, sizeof l.out_trade_no, t->out_trade_no);
    pay_str_copy(l.currency, sizeof l.currency, t->currency);
    pay_str_copy(l.method, sizeof l.method, t->pay_method);
    return pay_translog_append(tx, &l, NULL, err);
}

_Static_assert(PAY_ID_MAX <= PAY_TRANSLOG_TEXT_MAX + 1 &&
                   PAY_PLATFORM_MERCHANT_ID_MAX <= PAY_TRANSLOG_TEXT_MAX &&
                   PAY_MERCHANT_ID_FIELD_MAX <= PAY_TRANSLOG_TEXT_MAX,
               "a trade's ids fit a leaf");
