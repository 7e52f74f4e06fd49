/* The switch's background worker: the reversals it owes issuers (authorizations it forwarded
 * and could not answer: it answered 91, so whatever the issuer held must be released), sent
 * until the issuer answers, with backoff on business time; and the daily clearing (clearing.c).
 * It sleeps as a clock worker, so a test that moves the switch's clock wakes it at once. */
#include "switch/switch.h"
#include "core/clock.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DUE_BATCH 16
#define POLL_MS   500 /* due work is looked for this often without a wake-up */

struct due {
    char acquirer[PAY_NET_CODE_MAX + 1], trace[PAY_NET_TRACE_LEN + 1];
    char issuer[PAY_NET_CODE_MAX + 1], rrn[PAY_NET_RRN_LEN + 1];
    int64_t amount_minor, attempts;
};

struct claim_op {
    struct pay_switch *sw;
    struct due d[DUE_BATCH];
    size_t n;
};

/* Claims due reversals by moving their next attempt past a call's timeout (a lease): a slow
 * attempt is not started twice. */
static enum pay_err claim_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct claim_op *c = ctx;
    int64_t now = pay_clock_now_ms();
    c->n = 0;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT r.acquirer, r.trace, r.issuer, m.rrn, m.amount_minor, r.attempts"
        " FROM switch_reversals r JOIN switch_msgs m ON m.acquirer = r.acquirer"
        " AND m.trace = r.trace WHERE r.state = 'PENDING' AND r.next_attempt_ms <= $1"
        " ORDER BY r.next_attempt_ms LIMIT 16",
        "i", now);
    if (!st)
        return err->code;
    while (c->n < DUE_BATCH && pay_store_step(st, err) == 1) {
        struct due *d = &c->d[c->n++];
        pay_store_col_copy(st, 0, d->acquirer, sizeof d->acquirer);
        pay_store_col_copy(st, 1, d->trace, sizeof d->trace);
        pay_store_col_copy(st, 2, d->issuer, sizeof d->issuer);
        pay_store_col_copy(st, 3, d->rrn, sizeof d->rrn);
        d->amount_minor = pay_store_col_int64(st, 4);
        d->attempts = pay_store_col_int64(st, 5);
    }
    pay_store_done(st);
    for (size_t i = 0; i < c->n; i++) {
        enum pay_err rc = pay_store_exec(
            tx, err,
            "UPDATE switch_reversals SET next_attempt_ms = $3 WHERE acquirer = $1 AND trace = $2",
            "tti", c->d[i].acquirer, c->d[i].trace, now + 2 * c->sw->opt.issuer_timeout_ms);
        if (rc != PAY_ERR_OK)
            return rc;
    }
    return PAY_ERR_OK;
}

struct done_op {
    const struct due *d;
    const char *rc; /* NULL: no answer */
    const char *error;
};

static enum pay_err done_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct done_op *o = ctx;
    int64_t now = pay_clock_now_ms(), backoff = PAY_NET_RETRY_FIRST_MS;
    for (int64_t i = 0; i < o->d->attempts && backoff < PAY_NET_RETRY_MAX_MS; i++)
        backoff *= 2;
    if (backoff > PAY_NET_RETRY_MAX_MS)
        backoff = PAY_NET_RETRY_MAX_MS;
    return pay_store_exec(tx, err,
                          "UPDATE switch_reversals SET state = $3, attempts = attempts + 1,"
                          " next_attempt_ms = $4, response_code = $5, last_error = $6"
                          " WHERE acquirer = $1 AND trace = $2 AND state = 'PENDING'",
                          "tttitt", o->d->acquirer, o->d->trace, o->rc ? "DONE" : "PENDING",
                          now + backoff, o->rc ? o->rc : "", o->error);
}

/* One reversal (0400) of the switch's own: de11 = de90 = the authorization's trace, de33 the
 * switch (the issuer keeps it apart from the acquirer's messages by its MTI). */
static void send_reversal(struct pay_switch *sw, const struct due *d)
{
    struct pay_switch_member iss;
    struct pay_error e = {0};
    long status = 0;
    json_t *answer = NULL;
    const char *rc = NULL;
    char error[200] = "";
    enum pay_err r = pay_switch_member_load(sw, d->issuer, &iss, &e);
    json_t *msg =
        json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "mti", PAY_NET_MTI_REVERSAL,
                  "de3", PAY_NET_PROC_PURCHASE, "de4", (json_int_t)d->amount_minor, "de11",
                  d->trace, "de32", d->acquirer, "de33", sw->opt.code, "de37", d->rrn, "de49",
                  PAY_SWITCH_CURRENCY, "de90", d->trace);
    if (r == PAY_ERR_OK && msg)
        r = pay_switch_call(sw, &iss, "/net/v1/issuer/reversals", msg, &status, &answer, &e);
    const char *got = json_string_value(json_object_get(answer, "de39"));
    if (r == PAY_ERR_OK && status == 200 && got && pay_net_rc_text(got))
        rc = got;
    else
        snprintf(error, sizeof error, "%s: %.150s (HTTP %ld)", pay_err_name(r ? r : e.code),
                 e.detail, status);
    struct done_op o = {d, rc, error};
    struct pay_error de = {0};
    if (pay_committer_submit(sw->committer, done_apply, &o, &de) != PAY_ERR_OK)
        PAY_ERROR("switch.reversal_record_failed", "acquirer=%s trace=%s code=%s", d->acquirer,
                  d->trace, pay_err_name(de.code));
    PAY_INFO("switch.reversal", "acquirer=%s trace=%s issuer=%s rc=%s error=\"%s\"", d->acquirer,
             d->trace, d->issuer, rc ? rc : "", error);
    json_decref(msg);
    json_decref(answer);
    pay_switch_member_fini(&iss);
}

void pay_switch_reversals_run(struct pay_switch *sw)
{
    struct claim_op *c = calloc(1, sizeof *c);
    struct pay_error err = {0};
    if (!c)
        return;
    c->sw = sw;
    if (pay_committer_submit(sw->committer, claim_apply, c, &err) == PAY_ERR_OK)
        for (size_t i = 0; i < c->n; i++)
            send_reversal(sw, &c->d[i]);
    free(c);
}

static void *worker_main(void *arg)
{
    struct pay_switch *sw = arg;
    for (;;) {
        pthread_mutex_lock(&sw->stop_lock);
        if (!sw->stopping)
            pay_clock_worker_sleep(&sw->worker_clock, POLL_MS);
        bool stop = sw->stopping;
        pthread_mutex_unlock(&sw->stop_lock);
        if (stop)
            break;
        pay_clock_worker_begin(&sw->worker_clock);
        pay_switch_reversals_run(sw);
        pay_switch_clearing_run(sw);
        pay_clock_worker_end(&sw->worker_clock);
    }
    return NULL;
}

int pay_switch_worker_start(struct pay_switch *sw)
{
    pay_clock_worker_add(&sw->worker_clock, "switch-worker", &sw->stop_lock, &sw->stop_cond);
    if (pthread_create(&sw->worker, NULL, worker_main, sw) != 0) {
        pay_clock_worker_remove(&sw->worker_clock);
        return -1;
    }
    sw->worker_running = true;
    return 0;
}

void pay_switch_worker_stop(struct pay_switch *sw)
{
    if (!sw->worker_running)
        return;
    pthread_mutex_lock(&sw->stop_lock);
    sw->stopping = true;
    pthread_cond_signal(&sw->stop_cond);
    pthread_mutex_unlock(&sw->stop_lock);
    pthread_join(sw->worker, NULL);
    pay_clock_worker_remove(&sw->worker_clock);
    sw->worker_running = false;
}
