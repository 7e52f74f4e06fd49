/* Two platform processes on one PostgreSQL database, one of them killed with SIGKILL under load
 * (docs/store.md, "Several nodes on one database"). CLIENTS merchant clients each run OPS
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

#include "core/clock.h"
#include "core/limits.h"
#include "ledger/ledger.h"
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CLIENTS    8
#define OPS        16 /* per client: OPS / 2 payments, OPS / 2 refunds */
#define TRIES_MAX  60 /* answers a client accepts before an operation counts as failed */
#define ROUNDS_MAX 50 /* sweeper rounds the survivor gets to take the seat over */
#define PASSWORD   "correct horse"
#define PAY_PW     "246810"

static struct h_platform node[2]; /* one data folder and one database, two processes */
static struct h_merchant ma;
static char agreement[CLIENTS][64], consumer_id[CLIENTS][64];

/* What the clients did, for the checks after the kill. */
struct op {
    bool is_refund;
    char key[48];   /* Idempotency-Key, also out_trade_no / out_refund_no */
    char trade[64]; /* the payment's trade id (of a refund: the trade refunded) */
    char refund_id[64];
    long status; /* the final answer */
    int tries;
};

static struct op ops[CLIENTS][OPS];
static struct h_notify_sink sink; /* the merchant's notify_url */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t acked_cv = PTHREAD_COND_INITIALIZER;
static int acked, finished; /* operations acknowledged; clients done */

/* Signs the consumer's agreement with m_a on node 0 (the wallet, as its browser would). */
static void sign_agreement(int c, const char *login)
{
    struct h_browser b = {0};
    char url[256], form[512];
    snprintf(url, sizeof url, "%s/wallet", node[0].url);
    h_browser_req(&b, "GET", url, NULL, false);
    snprintf(form, sizeof form, "csrf=%s&login=%s&password=correct+horse", b.last_csrf, login);
    snprintf(url, sizeof url, "%s/wallet/login", node[0].url);
    h_browser_req(&b, "POST", url, form, false);
    assert_int_equal(b.status, 303);
    snprintf(url, sizeof url, "%s/wallet", node[0].url);
    h_browser_req(&b, "GET", url, NULL, false);
    snprintf(form, sizeof form, "csrf=%s&merchant_id=m_a&pay_password=%s", b.last_csrf, PAY_PW);
    snprintf(url, sizeof url, "%s/wallet/agreements", node[0].url);
    h_browser_req(&b, "POST", url, form, false);
    assert_int_equal(b.status, 200);
    const char *m = strstr(b.page, "id=\"agreement-no\">");
    assert_non_null(m);
    m += strlen("id=\"agreement-no\">");
    snprintf(agreement[c], sizeof agreement[c], "%.*s", (int)strcspn(m, "<"), m);
    h_browser_fini(&b);
}

static int group_setup(void **state)
{
    (void)state;
    assert_true(th_db_is_pg());
    /* on the test clock (each node's, kept in the shared data dir's fake-clock file) */
    h_setup(&node[0], &ma, NULL, "timeout_min = 1s\n[server]\nfake_clock = true");
    for (int c = 0; c < CLIENTS; c++) {
        char login[16];
        snprintf(login, sizeof login, "137000000%02d", c);
        h_add_consumer(&node[0], login, PASSWORD, PAY_PW);
        h_wallet_credit(&node[0], login, "100.00");
    }
    h_start(&node[0]);
    h_sink_start(&sink, node[0].pk, 0);
    node[1] = node[0]; /* the same dir (keys) and database */
    node[1].pid = 0;
    node[1].url[0] = '\0';
    h_start(&node[1]);
    for (int c = 0; c < CLIENTS; c++) {
        char login[16];
        snprintf(login, sizeof login, "137000000%02d", c);
        sign_agreement(c, login);
    }
    return 0;
}

/* --- the clients --------------------------------------------------------------------------- */

/* Whether r is a final answer: anything but no answer, a 5xx or the key still in progress. */
static bool final_answer(bool answered, const struct h_reply *r)
{
    if (!answered || r->status >= 500)
        return false;
    return !(r->status == 409 && strcmp(h_err_code(r), "IDEMPOTENCY_IN_PROGRESS") == 0);
}

/* Runs one operation to its final answer, switching node after each try that got none. */
static void run_op(int c, int i, struct op *o)
{
    char path[128], body[512];
    if (o->is_refund) {
        snprintf(path, sizeof path, "/v1/trades/%s/refunds", o->trade);
        snprintf(body, sizeof body,
                 "{\"out_refund_no\":\"%s\",\"amount\":{\"value\":\"1.00\",\"currency\":\"CNY\"}}",
                 o->key);
    } else {
        snprintf(path, sizeof path, "/v1/trades");
        snprintf(body, sizeof body,
                 "{\"out_trade_no\":\"%s\",\"amount\":{\"value\":\"5.00\",\"currency\":\"CNY\"},"
                 "\"subject\":\"monthly\",\"product\":\"agreement\",\"agreement_no\":\"%s\","
                 "\"notify_url\":\"%s\"}",
                 o->key, agreement[c], sink.url);
    }
    int n = (c + i) % 2;
    for (o->tries = 1; o->tries <= TRIES_MAX; o->tries++, n = 1 - n) {
        struct h_reply r;
        bool answered = h_call_try(&node[n], &ma, "POST", path, body, o->key, &r);
        if (final_answer(answered, &r)) {
            o->status = r.status == 201 && r.sig_ok ? 201 : r.status;
            if (o->status != 201)
                fprintf(stderr, "client %d op %d: %ld %s\n", c, i, r.status, r.body);
            else if (o->is_refund)
                snprintf(o->refund_id, sizeof o->refund_id, "%s", h_str(r.json, "refund_id"));
            else
                snprintf(o->trade, sizeof o->trade, "%s", h_str(r.json, "trade_id"));
            h_reply_fini(&r);
            return;
        }
        h_reply_fini(&r);
        if (answered) /* 503 or in progress: the other node, after a moment */
            usleep(20000);
    }
    fprintf(stderr, "client %d op %d: no final answer after %d tries\n", c, i, TRIES_MAX);
}

static void *client(void *arg)
{
    int c = (int)(intptr_t)arg;
    for (int i = 0; i < OPS; i++) {
        struct op *o = &ops[c][i];
        o->is_refund = i % 2 == 1;
        snprintf(o->key, sizeof o->key, "k%d-%d", c, i);
        if (o->is_refund) /* 1.00 back of the payment just made */
            snprintf(o->trade, sizeof o->trade, "%s", ops[c][i - 1].trade);
        run_op(c, i, o);
        pthread_mutex_lock(&mu);
        acked += o->status == 201;
        pthread_cond_broadcast(&acked_cv);
        pthread_mutex_unlock(&mu);
        if (o->status != 201)
            break; /* a refund needs its payment */
    }
    pthread_mutex_lock(&mu);
    finished++;
    pthread_cond_broadcast(&acked_cv);
    pthread_mutex_unlock(&mu);
    return NULL;
}

static int victim = -1;

/* The load, and the kill at a random acknowledged count while it runs. */
static void kill_one_under_load(void **state)
{
    (void)state;
    const char *env = getenv("PAYGATE_KILL_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL) ^ getpid();
    srand(seed);
    /* between a tenth and two thirds of the operations: the load is on both sides of it */
    int at = CLIENTS * OPS / 10 + rand() % (CLIENTS * OPS * 2 / 3 - CLIENTS * OPS / 10);
    victim = rand() % 2;
    printf("seed %u: node %d killed after %d acknowledged operations\n", seed, victim, at);
    pthread_t t[CLIENTS];
    for (int c = 0; c < CLIENTS; c++)
        assert_int_equal(pthread_create(&t[c], NULL, client, (void *)(intptr_t)c), 0);
    pthread_mutex_lock(&mu);
    while (acked < at && finished < CLIENTS)
        pthread_cond_wait(&acked_cv, &mu);
    int acked_at_kill = acked;
    pthread_mutex_unlock(&mu);
    h_stop(&node[victim], SIGKILL);
    for (int c = 0; c < CLIENTS; c++)
        pthread_join(t[c], NULL);
    int retried = 0;
    for (int c = 0; c < CLIENTS; c++)
        for (int i = 0; i < OPS; i++) {
            assert_int_equal(ops[c][i].status, 201);
            retried += ops[c][i].tries > 1;
        }
    printf("%d operations acknowledged, %d at the kill, %d retried on the other node\n", acked,
           acked_at_kill, retried);
    assert_true(acked_at_kill < CLIENTS * OPS); /* the kill came under load */
    assert_int_equal(acked, CLIENTS * OPS);
}

/* The survivor sweeps: a trade of 1 s made on it is closed as expired once its clock passes
 * the timeout. The sweeper runs on the node that holds its seat (docs/store.md); if that was
 * the killed one, the survivor takes the seat over on one of its next rounds (each move of
 * the test clock is a round it has finished when th_clock_advance returns). */
static void survivor_sweeps(void **state)
{
    (void)state;
    struct h_platform *n = &node[1 - victim];
    struct h_reply r;
    h_call(n, &ma, "POST", "/v1/trades",
           "{\"out_trade_no\":\"sweep-1\",\"amount\":{\"value\":\"1.00\",\"currency\":\"CNY\"},"
           "\"subject\":\"short\",\"timeout\":\"1s\"}",
           "sweep-1", &r);
    assert_int_equal(r.status, 201);
    char path[128];
    snprintf(path, sizeof path, "/v1/trades/%s", h_str(r.json, "trade_id"));
    h_reply_fini(&r);
    assert_int_equal(th_clock_advance(n->url, 1000), 0);
    char state_now[32] = "";
    for (int round = 0; round < ROUNDS_MAX; round++) {
        h_call(n, &ma, "GET", path, NULL, NULL, &r);
        snprintf(state_now, sizeof state_now, "%s", h_str(r.json, "state"));
        h_reply_fini(&r);
        if (strcmp(state_now, "TRADE_CLOSED") == 0)
            break;
        assert_int_equal(th_clock_advance(n->url, 0), 0); /* one more round */
    }
    assert_string_equal(state_now, "TRADE_CLOSED");
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
    assert_int_equal(rows[0], CLIENTS * OPS);
    assert_int_equal(rows[1], 0);
    pthread_mutex_lock(&sink.mu);
    assert_int_equal(sink.bad_sigs, 0);
    assert_true(sink.hits >= CLIENTS * OPS);
    pthread_mutex_unlock(&sink.mu);
}

/* --- the database once the survivor stopped ------------------------------------------------ */

struct check_ctx {
    int64_t trades, refunds, paid_minor, refunded_minor;
    char problem[256];
};

static int64_t count2(struct pay_store_tx *tx, const char *sql, const char *a, const char *b,
                      struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(tx, err, sql, "tt", a, b);
    int64_t n = st && pay_store_step(st, err) == 1 ? pay_store_col_int64(st, 0) : -1;
    pay_store_done(st);
    return n;
}

/* Each acknowledged operation there once, as answered. */
static void check_op(struct pay_store_tx *tx, const struct op *o, struct check_ctx *k,
                     struct pay_error *err)
{
    char xfer[96];
    if (o->is_refund) {
        if (count2(tx,
                   "SELECT count(*) FROM pf_refunds WHERE trade_id = $1 AND out_refund_no = $2"
                   " AND status = 'SUCCESS' AND amount_minor = 100",
                   o->trade, o->key, err) != 1 ||
            count2(tx, "SELECT count(*) FROM pf_refunds WHERE id = $1 AND trade_id = $2",
                   o->refund_id, o->trade, err) != 1)
            snprintf(k->problem, sizeof k->problem, "refund %s of %s not there once", o->key,
                     o->trade);
        return;
    }
    snprintf(xfer, sizeof xfer, "%s.pay", o->trade);
    if (count2(tx,
               "SELECT count(*) FROM pf_trades WHERE merchant_id = 'm_a' AND out_trade_no = $1"
               " AND id = $2 AND amount_minor = 500 AND state = 'TRADE_SUCCESS'",
               o->key, o->trade, err) != 1 ||
        count2(tx, "SELECT count(*) FROM ledger_transfers WHERE id = $1 AND $2 <> ''", xfer,
               o->trade, err) != 1)
        snprintf(k->problem, sizeof k->problem, "payment %s (%s) not there once", o->key, o->trade);
}

static enum pay_err check_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct check_ctx *k = ctx;
    memset(k, 0, sizeof *k);
    for (int c = 0; c < CLIENTS && !k->problem[0]; c++)
        for (int i = 0; i < OPS && !k->problem[0]; i++)
            check_op(tx, &ops[c][i], k, err);
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT (SELECT count(*) FROM pf_trades WHERE merchant_id = 'm_a'"
        "  AND out_trade_no <> 'sweep-1'),"
        " (SELECT count(*) FROM pf_refunds WHERE merchant_id = 'm_a'),"
        " (SELECT COALESCE(SUM(amount_minor), 0) FROM pf_trades WHERE merchant_id = 'm_a'"
        "  AND out_trade_no <> 'sweep-1'),"
        " (SELECT COALESCE(SUM(amount_minor), 0) FROM pf_refunds WHERE merchant_id = 'm_a')",
        "");
    if (st && pay_store_step(st, err) == 1) {
        k->trades = pay_store_col_int64(st, 0);
        k->refunds = pay_store_col_int64(st, 1);
        k->paid_minor = pay_store_col_int64(st, 2);
        k->refunded_minor = pay_store_col_int64(st, 3);
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

/* The consumer's id by login, for its wallet account. */
static enum pay_err ids_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    (void)ctx;
    for (int c = 0; c < CLIENTS; c++) {
        char login[16];
        snprintf(login, sizeof login, "137000000%02d", c);
        struct pay_store_stmt *st =
            pay_store_query(tx, err, "SELECT id FROM pf_consumers WHERE login = $1", "t", login);
        if (!st)
            return err->code;
        if (pay_store_step(st, err) == 1)
            pay_store_col_copy(st, 0, consumer_id[c], sizeof consumer_id[c]);
        pay_store_done(st);
    }
    return PAY_ERR_OK;
}

static void every_ack_once_and_ledger_exact(void **state)
{
    (void)state;
    h_stop(&node[1 - victim], SIGTERM);
    struct pay_store *s = NULL;
    struct pay_ledger *lg = h_ledger_open(&node[0], &s);
    struct check_ctx k;
    assert_int_equal(pay_store_run_read(s, check_tx, &k, NULL), PAY_ERR_OK);
    if (k.problem[0])
        fprintf(stderr, "%s\n", k.problem);
    assert_string_equal(k.problem, "");
    /* nothing but the acknowledged operations */
    assert_int_equal(k.trades, CLIENTS * OPS / 2);
    assert_int_equal(k.refunds, CLIENTS * OPS / 2);
    assert_int_equal(k.paid_minor, CLIENTS * OPS / 2 * 500);
    assert_int_equal(k.refunded_minor, CLIENTS * OPS / 2 * 100);
    assert_int_equal(pay_store_run_read(s, ids_tx, NULL, NULL), PAY_ERR_OK);
    for (int c = 0; c < CLIENTS; c++) {
        char wallet[128];
        snprintf(wallet, sizeof wallet, "pf.wallet.%.63s.CNY", consumer_id[c]);
        assert_int_equal(-h_ledger_debit_balance(lg, wallet), 10000 - OPS / 2 * 400);
    }
    int64_t m = -h_ledger_debit_balance(lg, "pf.merchant.m_a.CNY");
    int64_t f = -h_ledger_debit_balance(lg, "pf.fees.CNY");
    assert_int_equal(m + f, CLIENTS * OPS / 2 * 400);
    h_ledger_close(s, lg);
    assert_int_equal(h_ledger_verify(&node[0]), 0);
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
             agreement[0]);
    h_call(n, &ma, "POST", "/v1/trades", body, "after", &r);
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
    for (int n = 0; n < 2; n++)
        if (node[n].pid > 0)
            h_stop(&node[n], SIGKILL);
    h_sink_stop(&sink);
    h_teardown(&node[0]);
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
