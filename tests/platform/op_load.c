/* See op_load.h. */
#include "op_load.h"

#include "lib/clock.h"
#include "lib/harness.h"

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
#include <time.h>
#include <unistd.h>

int64_t op_load_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Client c's consumer: 13700000000, 13700000001, ... */
static void consumer_login(int c, char login[16])
{
    snprintf(login, 16, "137000000%02d", c % 100);
}

/* Signs client c's consumer's agreement with m_a on node 0 (the wallet, as its browser would). */
static void sign_agreement(struct op_load *l, int c)
{
    struct h_browser b = {0};
    char login[16], url[256], form[512];
    consumer_login(c, login);
    snprintf(url, sizeof url, "%s/wallet", l->node[0].url);
    h_browser_req(&b, "GET", url, NULL, false);
    snprintf(form, sizeof form, "csrf=%s&login=%s&password=correct+horse", b.last_csrf, login);
    snprintf(url, sizeof url, "%s/wallet/login", l->node[0].url);
    h_browser_req(&b, "POST", url, form, false);
    assert_int_equal(b.status, 303);
    snprintf(url, sizeof url, "%s/wallet", l->node[0].url);
    h_browser_req(&b, "GET", url, NULL, false);
    snprintf(form, sizeof form, "csrf=%s&merchant_id=m_a&pay_password=%s", b.last_csrf,
             OP_LOAD_PAY_PW);
    snprintf(url, sizeof url, "%s/wallet/agreements", l->node[0].url);
    h_browser_req(&b, "POST", url, form, false);
    assert_int_equal(b.status, 200);
    const char *m = strstr(b.page, "id=\"agreement-no\">");
    assert_non_null(m);
    m += strlen("id=\"agreement-no\">");
    snprintf(l->agreement[c], sizeof l->agreement[c], "%.*s", (int)strcspn(m, "<"), m);
    h_browser_fini(&b);
}

void op_load_setup(struct op_load *l, const char *extra_ini)
{
    assert_true(th_db_is_pg());
    assert_true(l->clients > 0 && l->clients <= OP_LOAD_CLIENTS_MAX);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->acked_cv, NULL);
    h_setup(&l->node[0], &l->ma, NULL, extra_ini);
    for (int c = 0; c < l->clients; c++) {
        char login[16];
        consumer_login(c, login);
        h_add_consumer(&l->node[0], login, OP_LOAD_PASSWORD, OP_LOAD_PAY_PW);
        h_wallet_credit(&l->node[0], login, "100.00");
    }
    h_start(&l->node[0]);
    l->node[1] = l->node[0]; /* the same dir (keys) and database */
    l->node[1].pid = 0;
    l->node[1].url[0] = '\0';
    h_start(&l->node[1]);
    for (int c = 0; c < l->clients; c++)
        sign_agreement(l, c);
}

unsigned op_load_seed(void)
{
    const char *env = getenv("PAYGATE_KILL_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL) ^ getpid();
    srand(seed);
    return seed;
}

/* --- the clients --------------------------------------------------------------------------- */

static void op_request(const struct op_load *l, int c, const struct op *o, char *path, size_t np,
                       char *body, size_t nb)
{
    if (o->is_refund) {
        snprintf(path, np, "/v1/trades/%s/refunds", o->trade);
        snprintf(body, nb,
                 "{\"out_refund_no\":\"%s\",\"amount\":{\"value\":\"1.00\",\"currency\":\"CNY\"}}",
                 o->key);
        return;
    }
    char notify[192] = "";
    if (l->notify_url)
        snprintf(notify, sizeof notify, ",\"notify_url\":\"%s\"", l->notify_url);
    snprintf(path, np, "/v1/trades");
    snprintf(body, nb,
             "{\"out_trade_no\":\"%s\",\"amount\":{\"value\":\"5.00\",\"currency\":\"CNY\"},"
             "\"subject\":\"monthly\",\"product\":\"agreement\",\"agreement_no\":\"%s\"%s}",
             o->key, l->agreement[c], notify);
}

/* Runs one operation to its final answer, switching node after each try that was not. */
static void run_op(struct op_load *l, int c, int i, struct op *o)
{
    char path[128], body[512];
    op_request(l, c, o, path, sizeof path, body, sizeof body);
    int n = (c + i) % 2;
    int64_t deadline = l->deadline_ms ? op_load_now_ms() + l->deadline_ms : INT64_MAX;
    for (o->tries = 1;
         (l->tries_max == 0 || o->tries <= l->tries_max) && op_load_now_ms() < deadline;
         o->tries++, n = 1 - n) {
        struct h_reply r;
        o->last_try_ms = op_load_now_ms();
        bool answered = h_call_try(&l->node[n], &l->ma, "POST", path, body, o->key, &r);
        enum op_verdict v = l->verdict(answered, &r);
        if (v == OP_FINAL) {
            o->status = r.status == 201 && r.sig_ok ? 201 : r.status;
            o->acked_ms = op_load_now_ms();
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
        if (v == OP_RETRY_PAUSED) /* the client's pace between retries */
            usleep(l->pause_us);
    }
    fprintf(stderr, "client %d op %d: no final answer after %d tries\n", c, i, o->tries - 1);
}

static void *client(void *arg)
{
    struct op_client *me = arg;
    struct op_load *l = me->l;
    int c = me->c;
    for (int i = 0; i < OP_LOAD_OPS; i++) {
        struct op *o = &l->ops[c][i];
        o->is_refund = i % 2 == 1;
        snprintf(o->key, sizeof o->key, "k%d-%d", c, i);
        if (o->is_refund) /* 1.00 back of the payment just made */
            snprintf(o->trade, sizeof o->trade, "%s", l->ops[c][i - 1].trade);
        if (l->hold_second_half && i == OP_LOAD_OPS / 2) {
            pthread_mutex_lock(&l->mu);
            while (!l->released)
                pthread_cond_wait(&l->acked_cv, &l->mu);
            pthread_mutex_unlock(&l->mu);
        }
        run_op(l, c, i, o);
        pthread_mutex_lock(&l->mu);
        l->acked += o->status == 201;
        pthread_cond_broadcast(&l->acked_cv);
        pthread_mutex_unlock(&l->mu);
        if (o->status != 201)
            break; /* a refund needs its payment */
    }
    pthread_mutex_lock(&l->mu);
    l->finished++;
    pthread_cond_broadcast(&l->acked_cv);
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

void op_load_start(struct op_load *l)
{
    assert_non_null(l->verdict);
    assert_true(l->tries_max > 0 || l->deadline_ms > 0); /* an operation ends */
    for (int c = 0; c < l->clients; c++) {
        l->client[c] = (struct op_client){.l = l, .c = c};
        assert_int_equal(pthread_create(&l->client[c].thread, NULL, client, &l->client[c]), 0);
    }
}

int op_load_wait_acked(struct op_load *l, int at)
{
    pthread_mutex_lock(&l->mu);
    while (l->acked < at && l->finished < l->clients)
        pthread_cond_wait(&l->acked_cv, &l->mu);
    int acked = l->acked;
    pthread_mutex_unlock(&l->mu);
    return acked;
}

void op_load_release(struct op_load *l)
{
    pthread_mutex_lock(&l->mu);
    l->released = true;
    pthread_cond_broadcast(&l->acked_cv);
    pthread_mutex_unlock(&l->mu);
}

int op_load_join(struct op_load *l)
{
    for (int c = 0; c < l->clients; c++)
        pthread_join(l->client[c].thread, NULL);
    int retried = 0;
    for (int c = 0; c < l->clients; c++)
        for (int i = 0; i < OP_LOAD_OPS; i++) {
            assert_int_equal(l->ops[c][i].status, 201);
            retried += l->ops[c][i].tries > 1;
        }
    return retried;
}

/* --- the sweeper --------------------------------------------------------------------------- */

/* Moves the clock of every node up by ms (0: one more sweeper round each) and waits for it. */
static void advance_up(struct op_load *l, const bool up[2], int64_t ms)
{
    for (int n = 0; n < 2; n++)
        if (up[n])
            assert_int_equal(th_clock_advance(l->node[n].url, ms), 0);
}

void op_load_sweeper_runs(struct op_load *l, const bool up[2], int rounds_max)
{
    int first = up[0] ? 0 : 1;
    assert_true(up[first]);
    struct h_platform *n = &l->node[first];
    struct h_reply r;
    h_call(n, &l->ma, "POST", "/v1/trades",
           "{\"out_trade_no\":\"" OP_LOAD_SWEEP_OTN "\",\"amount\":{\"value\":\"1.00\","
           "\"currency\":\"CNY\"},\"subject\":\"short\",\"timeout\":\"1s\"}",
           OP_LOAD_SWEEP_OTN, &r);
    assert_int_equal(r.status, 201);
    char path[128];
    snprintf(path, sizeof path, "/v1/trades/%s", h_str(r.json, "trade_id"));
    h_reply_fini(&r);
    advance_up(l, up, 1000);
    char state_now[32] = "";
    for (int round = 0; round < rounds_max; round++) {
        h_call(n, &l->ma, "GET", path, NULL, NULL, &r);
        snprintf(state_now, sizeof state_now, "%s", h_str(r.json, "state"));
        h_reply_fini(&r);
        if (strcmp(state_now, "TRADE_CLOSED") == 0) {
            printf("the trade expired on sweeper round %d\n", round);
            break;
        }
        advance_up(l, up, 0); /* one more round */
    }
    assert_string_equal(state_now, "TRADE_CLOSED");
}

size_t op_load_seats_taken(const struct op_load *l)
{
    char log[300];
    snprintf(log, sizeof log, "%s/platform.log", l->node[0].dir);
    return th_count_in_file(log, "store.seat_taken");
}

/* --- the database afterwards --------------------------------------------------------------- */

struct check_ctx {
    const struct op_load *l;
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
    const struct op_load *l = k->l;
    *k = (struct check_ctx){.l = l}; /* a transaction run again starts afresh */
    for (int c = 0; c < l->clients && !k->problem[0]; c++)
        for (int i = 0; i < OP_LOAD_OPS && !k->problem[0]; i++)
            check_op(tx, &l->ops[c][i], k, err);
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT (SELECT count(*) FROM pf_trades WHERE merchant_id = 'm_a'"
        "  AND out_trade_no <> '" OP_LOAD_SWEEP_OTN "'),"
        " (SELECT count(*) FROM pf_refunds WHERE merchant_id = 'm_a'),"
        " (SELECT COALESCE(SUM(amount_minor), 0) FROM pf_trades WHERE merchant_id = 'm_a'"
        "  AND out_trade_no <> '" OP_LOAD_SWEEP_OTN "'),"
        " (SELECT COALESCE(SUM(amount_minor), 0) FROM pf_refunds WHERE merchant_id = 'm_a'),"
        " pg_is_in_recovery()",
        "");
    if (st && pay_store_step(st, err) == 1) {
        k->trades = pay_store_col_int64(st, 0);
        k->refunds = pay_store_col_int64(st, 1);
        k->paid_minor = pay_store_col_int64(st, 2);
        k->refunded_minor = pay_store_col_int64(st, 3);
        if (pay_store_col_int64(st, 4) != 0)
            snprintf(k->problem, sizeof k->problem, "the database is in recovery (no primary)");
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

struct ids_ctx {
    const struct op_load *l;
    char consumer_id[OP_LOAD_CLIENTS_MAX][64];
};

/* The consumers' ids by login, for their wallet accounts. */
static enum pay_err ids_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct ids_ctx *ids = ctx;
    for (int c = 0; c < ids->l->clients; c++) {
        char login[16];
        consumer_login(c, login);
        struct pay_store_stmt *st =
            pay_store_query(tx, err, "SELECT id FROM pf_consumers WHERE login = $1", "t", login);
        if (!st)
            return err->code;
        if (pay_store_step(st, err) == 1)
            pay_store_col_copy(st, 0, ids->consumer_id[c], sizeof ids->consumer_id[c]);
        pay_store_done(st);
    }
    return PAY_ERR_OK;
}

void op_load_check_db(struct op_load *l, struct h_platform *db)
{
    const int64_t pays = (int64_t)l->clients * OP_LOAD_OPS / 2;
    struct pay_store *s = NULL;
    struct pay_ledger *lg = h_ledger_open(db, &s);
    struct check_ctx k = {.l = l};
    assert_int_equal(pay_store_run_read(s, check_tx, &k, NULL), PAY_ERR_OK);
    if (k.problem[0])
        fprintf(stderr, "%s\n", k.problem);
    assert_string_equal(k.problem, "");
    /* nothing but the acknowledged operations */
    assert_int_equal(k.trades, pays);
    assert_int_equal(k.refunds, pays);
    assert_int_equal(k.paid_minor, pays * 500);
    assert_int_equal(k.refunded_minor, pays * 100);
    struct ids_ctx ids = {.l = l};
    assert_int_equal(pay_store_run_read(s, ids_tx, &ids, NULL), PAY_ERR_OK);
    for (int c = 0; c < l->clients; c++) {
        char wallet[128];
        snprintf(wallet, sizeof wallet, "pf.wallet.%.63s.CNY", ids.consumer_id[c]);
        assert_int_equal(-h_ledger_debit_balance(lg, wallet), 10000 - OP_LOAD_OPS / 2 * 400);
    }
    int64_t m = -h_ledger_debit_balance(lg, "pf.merchant.m_a.CNY");
    int64_t f = -h_ledger_debit_balance(lg, "pf.fees.CNY");
    assert_int_equal(m + f, pays * 400);
    h_ledger_close(s, lg);
    assert_int_equal(h_ledger_verify(db), 0);
}

void op_load_teardown(struct op_load *l)
{
    for (int n = 0; n < 2; n++)
        if (l->node[n].pid > 0)
            h_stop(&l->node[n], SIGKILL);
    h_teardown(&l->node[0]);
}
