/* The sweeper: closes unpaid trades whose timeout has passed (WAIT_BUYER_PAY -> TRADE_CLOSED,
 * reason "expired") and finishes paid trades whose refund window is over (TRADE_SUCCESS ->
 * TRADE_FINISHED). Each transition goes through the state machine in trades.c, which checks
 * the state again inside its transaction, so a payment racing an expiry cannot both win. */
#include "platform/platform.h"

#include "core/clock.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

#define SWEEP_BATCH 64

struct due_ctx {
    const char *sql;
    int64_t cutoff_ms;
    char ids[SWEEP_BATCH][PAY_ID_MAX];
    size_t n;
};

static enum pay_err due_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct due_ctx *d = ctx;
    d->n = 0;
    struct pay_store_stmt *st =
        pay_store_query(tx, err, d->sql, "ii", d->cutoff_ms, (int64_t)SWEEP_BATCH);
    if (!st)
        return err->code;
    int rc;
    while (d->n < SWEEP_BATCH && (rc = pay_store_step(st, err)) == 1)
        snprintf(d->ids[d->n++], PAY_ID_MAX, "%s", pay_store_col_text(st, 0));
    pay_store_done(st);
    return PAY_ERR_OK;
}

static void sweep_once(struct pay_platform *p)
{
    struct pay_error err = {0};
    int64_t now = pay_clock_now_ms();
    struct due_ctx d = {.sql = "SELECT id FROM pf_trades WHERE state = 'WAIT_BUYER_PAY'"
                               " AND expire_ms <= $1 ORDER BY expire_ms LIMIT $2",
                        .cutoff_ms = now};
    if (pay_store_run_read(p->store, due_tx, &d, &err) == PAY_ERR_OK)
        for (size_t i = 0; i < d.n; i++) {
            enum pay_err e = pay_platform_trade_close(p, NULL, d.ids[i], "expired", &err);
            PAY_INFO("trade.expired", "trade=%s result=%s", d.ids[i], pay_err_name(e));
        }
    struct due_ctx f = {.sql = "SELECT id FROM pf_trades WHERE state = 'TRADE_SUCCESS'"
                               " AND paid_ms <= $1 ORDER BY paid_ms LIMIT $2",
                        .cutoff_ms = now - p->set.refund_window_ms};
    if (pay_store_run_read(p->store, due_tx, &f, &err) == PAY_ERR_OK)
        for (size_t i = 0; i < f.n; i++) {
            enum pay_err e = pay_platform_trade_finish(p, f.ids[i], &err);
            PAY_INFO("trade.finished", "trade=%s result=%s", f.ids[i], pay_err_name(e));
        }
}

void *pay_platform_sweeper(void *arg)
{
    struct pay_platform *p = arg;
    while (!atomic_load(&p->stopping)) {
        sweep_once(p);
        pay_platform_bank_work(p);
        pay_platform_withdraw_work(p);
        pay_platform_wait(p, &p->sweeper_clock, p->set.sweep_interval_ms);
    }
    return NULL;
}
