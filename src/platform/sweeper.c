/* The sweeper (on one node at a time: the holder of its seat, store.h): closes unpaid trades whose
 * timeout has passed (WAIT_BUYER_PAY -> TRADE_CLOSED, reason "expired") and finishes paid trades
 * whose refund window is over (TRADE_SUCCESS -> TRADE_FINISHED) — a trade whose payment waits for a
 * risk review does not expire (docs/risk.md, "Review") —; each round also runs the escrow
 * deadlines (escrow.c), the refund requests' deadlines (aftersales.c), bank refunds and withdrawal
 * retries. Each transition goes through the state machine, which checks the state again inside its
 * transaction, so a payment racing an expiry cannot both win. */
#include "platform/platform.h"
#include "platform/recon.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

static void sweep_once(struct pay_platform *p)
{
    struct pay_error err = {0};
    int64_t now = pay_clock_now_ms();
    char ids[PAY_PLATFORM_SWEEP_BATCH][PAY_ID_MAX];
    size_t n = pay_platform_due_ids(p,
                                    "SELECT id FROM pf_trades WHERE state = 'WAIT_BUYER_PAY'"
                                    " AND expire_ms <= $1 AND NOT EXISTS (SELECT 1 FROM"
                                    " pf_risk_reviews r WHERE r.trade_id = pf_trades.id AND"
                                    " r.status = 'pending') ORDER BY expire_ms LIMIT $2",
                                    now, ids, PAY_PLATFORM_SWEEP_BATCH);
    for (size_t i = 0; i < n; i++) {
        enum pay_err e = pay_platform_trade_close(p, NULL, ids[i], "expired", &err);
        PAY_INFO("trade.expired", "trade=%s result=%s", ids[i], pay_err_name(e));
    }
    n = pay_platform_due_ids(p,
                             "SELECT id FROM pf_trades WHERE state = 'TRADE_SUCCESS'"
                             " AND paid_ms <= $1 ORDER BY paid_ms LIMIT $2",
                             now - p->set.refund_window_ms, ids, PAY_PLATFORM_SWEEP_BATCH);
    for (size_t i = 0; i < n; i++) {
        enum pay_err e = pay_platform_trade_finish(p, ids[i], &err);
        PAY_INFO("trade.finished", "trade=%s result=%s", ids[i], pay_err_name(e));
    }
}

void *pay_platform_sweeper(void *arg)
{
    struct pay_platform *p = arg;
    /* Several platform nodes on one database: one of them sweeps, the one holding the seat
     * (docs/store.md); when it dies, another takes the seat on its next round. Without a seat
     * (out of memory) every round sweeps: each transition checks its state anyway. */
    struct pay_store_seat *seat = pay_store_seat_new(p->store, PAY_PLATFORM_SWEEPER_SEAT);
    while (!atomic_load(&p->stopping)) {
        if (!seat || pay_store_seat_hold(seat)) {
            sweep_once(p);
            pay_platform_refund_request_work(p);
            pay_platform_escrow_work(p);
            pay_platform_bank_work(p);
            pay_platform_withdraw_work(p);
            pay_platform_settle_work(p);
            pay_platform_receipts_work(p); /* heads signed on one node only */
            pay_platform_recon_work(p);
        }
        pay_platform_wait(p, &p->sweeper_clock, p->set.sweep_interval_ms);
    }
    pay_store_seat_free(seat);
    return NULL;
}
