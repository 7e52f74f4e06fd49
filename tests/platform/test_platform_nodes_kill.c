/* Two platform processes on one PostgreSQL database, one of them killed with SIGKILL under load
 * (docs/store.md, "Several nodes on one database"). CLIENTS merchant clients each run 16
 * signed operations, alternately an agreement payment of 5.00 from its own consumer's wallet
 * and a refund of 1.00 of the payment before it, each with its own Idempotency-Key, sent to the
 * nodes in turn. A client retries an operation that got no answer (the node died under it), a
 * 5xx or 409 IDEMPOTENCY_IN_PROGRESS with the same key and body on the other node, as a merchant
 * behind a load balancer would, until a final answer; every final answer must be 201 with a
 * verified signature (the acknowledgement). Once a random number of operations were
 * acknowledged (the event the test waits for; the seed is printed, PAYGATE_KILL_SEED repeats
 * it), a random node is killed with SIGKILL while the clients go on. Afterwards, the survivor
 * stopped: every acknowledged payment is in the database exactly once as answered (one trade
 * of its out_trade_no, paid, one ledger transfer) and every acknowledged refund exactly once;
 * the database holds no operation that was not acknowledged; every wallet holds its credit
 * minus its payments plus its refunds to the cent, the merchant and the fees the rest; and
 * `ledger verify` is clean. The survivor sweeps (expires a trade: it holds the sweeper's seat or
 * takes it over) and delivers every notification, also those the killed node had claimed; and
 * the killed node, restarted, serves again. The pg suite only.
 * argv: the paygate binary. */
#include "harness.h"
#include "lib/clock.h"
#include "lib/harness.h"
#include "op_load.h"

#include "core/limits.h"
#include "ledger/ledger.h"
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENTS    8
#define TRIES_MAX  60 /* answers a client accepts before an operation counts as failed */
#define ROUNDS_MAX 50 /* sweeper rounds the survivor gets to take the seat over */
#define OPS_ALL    (CLIENTS * OP_LOAD_OPS)

/* Whether r is a final answer: anything but no answer (the other node at once), a 5xx or the
 * key still in progress (the other node, after a moment). */
static enum op_verdict verdict(bool answered, const struct h_reply *r)
{
    if (!answered)
        return OP_RETRY_AT_ONCE;
    if (r->status >= 500 ||
        (r->status == 409 && strcmp(h_err_code(r), "IDEMPOTENCY_IN_PROGRESS") == 0))
        return OP_RETRY_PAUSED;
    return OP_FINAL;
}

static struct op_load load = {
    .clients = CLIENTS, .tries_max = TRIES_MAX, .pause_us = 20000, .verdict = verdict};
static struct h_platform *const node = load.node;
static struct h_notify_sink sink; /* the merchant's notify_url */

static int group_setup(void **state)
{
    (void)state;
    /* on the test clock (each node's, kept in the shared data dir's fake-clock file) */
    op_load_setup(&load, "timeout_min = 1s\n[server]\nfake_clock = true");
    h_sink_start(&sink, node[0].pk, 0);
    load.notify_url = sink.url;
    return 0;
}

static int victim = -1;

/* The load, and the kill at a random acknowledged count while it runs. */
static void kill_one_under_load(void **state)
{
    (void)state;
    unsigned seed = op_load_seed();
    /* between a tenth and two thirds of the operations: the load is on both sides of it */
    int at = OPS_ALL / 10 + rand() % (OPS_ALL * 2 / 3 - OPS_ALL / 10);
    victim = rand() % 2;
    printf("seed %u: node %d killed after %d acknowledged operations\n", seed, victim, at);
    op_load_start(&load);
    int acked_at_kill = op_load_wait_acked(&load, at);
    h_stop(&node[victim], SIGKILL);
    int retried = op_load_join(&load);
    printf("%d operations acknowledged, %d at the kill, %d retried on the other node\n", load.acked,
           acked_at_kill, retried);
    assert_true(acked_at_kill < OPS_ALL); /* the kill came under load */
    assert_int_equal(load.acked, OPS_ALL);
}

/* The survivor sweeps: a trade of 1 s made on it is closed as expired once its clock passes
 * the timeout. The sweeper runs on the node that holds its seat (docs/store.md); if that was
 * the killed one, the survivor takes the seat over on one of its next rounds (each move of
 * the test clock is a round it has finished when th_clock_advance returns). */
static void survivor_sweeps(void **state)
{
    (void)state;
    bool up[2] = {victim != 0, victim != 1};
    op_load_sweeper_runs(&load, up, ROUNDS_MAX);
}

/* Rows of the merchant's outbox: all, and those not delivered yet. */
static enum pay_err outbox_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    int64_t *n = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT count(*), COALESCE(SUM(CASE WHEN status = 'delivered' THEN 0 ELSE 1 END), 0)"
        " FROM pf_notify_outbox WHERE merchant_id = 'm_a'",
        NULL);
    if (st && pay_store_step(st, err) == 1) {
        n[0] = pay_store_col_int64(st, 0);
        n[1] = pay_store_col_int64(st, 1);
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

/* Every notification (one per payment, one per refund) is delivered in the end, signed, also
 * those the killed node had claimed and not sent: their lease runs out on the survivor's
 * clock, and its notifier claims and sends them. */
static void every_notification_delivered(void **state)
{
    (void)state;
    struct h_platform *n = &node[1 - victim];
    struct pay_store *s = NULL;
    struct pay_ledger *lg = h_ledger_open(n, &s);
    int64_t rows[2] = {0, -1}; /* all, not delivered */
    for (int round = 0; round < ROUNDS_MAX; round++) {
        assert_int_equal(pay_store_run_read(s, outbox_tx, rows, NULL), PAY_ERR_OK);
        if (rows[1] == 0)
            break;
        /* past a dead claim's lease (and the 2 s delivery timeout of this test's ini) */
        assert_int_equal(th_clock_advance(n->url, PAY_PLATFORM_NOTIFY_LEASE_MS + 2000), 0);
    }
    h_ledger_close(s, lg);
    printf("%lld notifications, %lld not delivered; the merchant got %d requests\n",
           (long long)rows[0], (long long)rows[1], sink.hits);
    assert_int_equal(rows[0], OPS_ALL);
    assert_int_equal(rows[1], 0);
    pthread_mutex_lock(&sink.mu);
    assert_int_equal(sink.bad_sigs, 0);
    assert_true(sink.hits >= OPS_ALL);
    pthread_mutex_unlock(&sink.mu);
}

/* --- the database once the survivor stopped ------------------------------------------------ */

static void every_ack_once_and_ledger_exact(void **state)
{
    (void)state;
    h_stop(&node[1 - victim], SIGTERM);
    op_load_check_db(&load, &node[0]);
}

/* The killed node, started again on the same database, serves a payment. */
static void killed_node_serves_again(void **state)
{
    (void)state;
    struct h_platform *n = &node[victim];
    n->url[0] = '\0';
    h_start(n);
    struct h_reply r;
    char body[512];
    snprintf(body, sizeof body,
             "{\"out_trade_no\":\"after\",\"amount\":{\"value\":\"5.00\",\"currency\":\"CNY\"},"
             "\"subject\":\"monthly\",\"product\":\"agreement\",\"agreement_no\":\"%s\"}",
             load.agreement[0]);
    h_call(n, &load.ma, "POST", "/v1/trades", body, "after", &r);
    assert_int_equal(r.status, 201);
    assert_true(r.sig_ok);
    assert_string_equal(h_str(r.json, "state"), "TRADE_SUCCESS");
    h_reply_fini(&r);
    h_stop(n, SIGTERM);
    assert_int_equal(h_ledger_verify(&node[0]), 0);
}

static int group_teardown(void **state)
{
    (void)state;
    op_load_teardown(&load); /* the nodes first: the sink is theirs to call */
    h_sink_stop(&sink);
    return 0;
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kill_one_under_load),
        cmocka_unit_test(survivor_sweeps),
        cmocka_unit_test(every_notification_delivered),
        cmocka_unit_test(every_ack_once_and_ledger_exact), /* the survivor stopped */
        cmocka_unit_test(killed_node_serves_again),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
