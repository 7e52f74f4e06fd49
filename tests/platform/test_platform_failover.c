/* The platform on a highly available PostgreSQL cluster (docs/deploy.md, "High availability";
 * tests/lib/ha_cluster.sh starts it with scripts/cluster: three nodes under Patroni, synchronous
 * replication, HAProxy in front of the primary), its primary lost under load. Two platform
 * nodes on HAProxy's address; CLIENTS merchant clients each run OPS signed operations,
 * alternately an agreement payment of 5.00 and a refund of 1.00 of it, each with its own
 * Idempotency-Key, sent to the nodes in turn and retried with the same key and body until a
 * final answer, as a merchant does. Once a random number of operations were acknowledged, the
 * primary's Patroni and postmaster are killed with SIGKILL (its machine lost); the test waits
 * for the event — Patroni's new leader, reached through HAProxy — and reports the seconds.
 * Checks: every answer during the failover is a 503 with a storage code and Retry-After (a
 * retryable error, never a wrong answer: every final answer is a signed 201); the platform nodes
 * recover on their own (no restart) and finish every operation; afterwards every acknowledged
 * payment and refund is in the database exactly once, nothing else is, every wallet is exact to
 * the cent, and `ledger verify` is clean on the new primary, reached directly. The pg suite only.
 * argv: the paygate binary. */
#include "harness.h"
#include "lib/harness.h"

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

#define CLIENTS     6
#define OPS         16     /* per client: OPS / 2 payments, OPS / 2 refunds */
#define OP_DEADLINE 120000 /* ms an operation may take to get its final answer (a failover) */
#define FAILOVER_S  "90"   /* the most scripts/cluster wait-leader waits for the new primary */
#define PASSWORD    "correct horse"
#define PAY_PW      "246810"

static struct h_platform node[2]; /* one data folder and one database, two processes */
static struct h_merchant ma;
static char agreement[CLIENTS][64], consumer_id[CLIENTS][64];

struct op {
    bool is_refund;
    char key[48]; /* Idempotency-Key, also out_trade_no / out_refund_no */
    char trade[64];
    char refund_id[64];
    long status; /* the final answer */
    int tries;
    int64_t acked_ms, last_try_ms; /* monotonic */
};

static struct op ops[CLIENTS][OPS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t acked_cv = PTHREAD_COND_INITIALIZER;
static int acked, finished;
/* set once scripts/cluster has killed the primary: the second half of each client's operations
 * waits for it, so that some always go through the new primary however fast the first half ran
 * (under load the kill itself can take longer than all the operations) */
static bool primary_killed;
/* the answers that were not final, by kind: the failover's error answers */
static int retryable_503, no_answer, in_progress, wrong;
static char wrong_answer[512];

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Runs `scripts/cluster CMD --dir DIR ARGS` and reads its first line into out. 0 or -1. */
static int cluster(const char *cmd, const char *args, char *out, size_t n)
{
    char line[1024];
    snprintf(line, sizeof line, "'%s' %s --dir '%s' %s", getenv("PAYGATE_CLUSTER"), cmd,
             getenv("PAYGATE_CLUSTER_DIR"), args);
    FILE *p = popen(line, "r");
    if (!p)
        return -1;
    out[0] = '\0';
    if (!fgets(out, (int)n, p))
        out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    return pclose(p) == 0 && out[0] ? 0 : -1;
}

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
    assert_non_null(getenv("PAYGATE_CLUSTER"));
    assert_non_null(getenv("PAYGATE_CLUSTER_DIR"));
    h_setup(&node[0], &ma, NULL, NULL);
    for (int c = 0; c < CLIENTS; c++) {
        char login[16];
        snprintf(login, sizeof login, "137000000%02d", c);
        h_add_consumer(&node[0], login, PASSWORD, PAY_PW);
        h_wallet_credit(&node[0], login, "100.00");
    }
    h_start(&node[0]);
    node[1] = node[0];
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

/* Sorts one answer: final (true), or counted as the failover's (false). A final answer other
 * than a signed 201 is a wrong one; a non-final one must be a retryable 503. */
static bool final_answer(bool answered, const struct h_reply *r)
{
    pthread_mutex_lock(&mu);
    bool final = false;
    if (!answered)
        no_answer++;
    else if (r->status == 409 && strcmp(h_err_code(r), "IDEMPOTENCY_IN_PROGRESS") == 0)
        in_progress++;
    else if (r->status == 503 && r->retry_after[0] && strncmp(h_err_code(r), "DB_", 3) == 0)
        retryable_503++;
    else {
        final = true;
        if (r->status != 201 || !r->sig_ok) {
            wrong++;
            snprintf(wrong_answer, sizeof wrong_answer, "%ld %s", r->status, r->body);
        }
    }
    pthread_mutex_unlock(&mu);
    return final;
}

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
                 "\"subject\":\"monthly\",\"product\":\"agreement\",\"agreement_no\":\"%s\"}",
                 o->key, agreement[c]);
    }
    int n = (c + i) % 2;
    int64_t deadline = now_ms() + OP_DEADLINE;
    for (o->tries = 1; now_ms() < deadline; o->tries++, n = 1 - n) {
        struct h_reply r;
        o->last_try_ms = now_ms();
        bool answered = h_call_try(&node[n], &ma, "POST", path, body, o->key, &r);
        if (final_answer(answered, &r)) {
            o->status = r.status == 201 && r.sig_ok ? 201 : r.status;
            o->acked_ms = now_ms();
            if (o->status == 201 && o->is_refund)
                snprintf(o->refund_id, sizeof o->refund_id, "%s", h_str(r.json, "refund_id"));
            else if (o->status == 201)
                snprintf(o->trade, sizeof o->trade, "%s", h_str(r.json, "trade_id"));
            h_reply_fini(&r);
            return;
        }
        h_reply_fini(&r);
        usleep(100000); /* the client's pace between retries, as Retry-After asks */
    }
    fprintf(stderr, "client %d op %d: no final answer after %d tries\n", c, i, o->tries);
}

static void *client(void *arg)
{
    int c = (int)(intptr_t)arg;
    for (int i = 0; i < OPS; i++) {
        struct op *o = &ops[c][i];
        o->is_refund = i % 2 == 1;
        snprintf(o->key, sizeof o->key, "k%d-%d", c, i);
        if (o->is_refund)
            snprintf(o->trade, sizeof o->trade, "%s", ops[c][i - 1].trade);
        if (i == OPS / 2) {
            pthread_mutex_lock(&mu);
            while (!primary_killed)
                pthread_cond_wait(&acked_cv, &mu);
            pthread_mutex_unlock(&mu);
        }
        run_op(c, i, o);
        pthread_mutex_lock(&mu);
        acked += o->status == 201;
        pthread_cond_broadcast(&acked_cv);
        pthread_mutex_unlock(&mu);
        if (o->status != 201)
            break;
    }
    pthread_mutex_lock(&mu);
    finished++;
    pthread_cond_broadcast(&acked_cv);
    pthread_mutex_unlock(&mu);
    return NULL;
}

static char new_primary[16];

/* The load; the primary killed at a random acknowledged count, below the CLIENTS * OPS / 2
 * operations of the clients' first halves (their second halves start once it is killed); the
 * new one waited for. */
static void primary_lost_under_load(void **state)
{
    (void)state;
    const char *env = getenv("PAYGATE_KILL_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL) ^ getpid();
    srand(seed);
    int at = CLIENTS * OPS / 8 + rand() % (CLIENTS * OPS / 2 - CLIENTS * OPS / 8);
    printf("seed %u: the primary is killed after %d acknowledged operations\n", seed, at);
    pthread_t t[CLIENTS];
    for (int c = 0; c < CLIENTS; c++)
        assert_int_equal(pthread_create(&t[c], NULL, client, (void *)(intptr_t)c), 0);
    pthread_mutex_lock(&mu);
    while (acked < at && finished < CLIENTS)
        pthread_cond_wait(&acked_cv, &mu);
    int acked_at_kill = acked;
    pthread_mutex_unlock(&mu);
    char killed[16], line[64];
    int killed_rc = cluster("kill-primary", "", killed, sizeof killed);
    int64_t kill_ms = now_ms(); /* the script has sent its SIGKILLs */
    pthread_mutex_lock(&mu);
    primary_killed = true; /* even when the kill failed: the clients finish, the test fails */
    pthread_cond_broadcast(&acked_cv);
    pthread_mutex_unlock(&mu);
    assert_int_equal(killed_rc, 0);
    char args[64];
    snprintf(args, sizeof args, "--timeout %s --not %s", FAILOVER_S, killed);
    assert_int_equal(cluster("wait-leader", args, line, sizeof line), 0);
    int64_t elected_ms = now_ms();
    sscanf(line, "%15s", new_primary);
    assert_string_not_equal(new_primary, killed);
    for (int c = 0; c < CLIENTS; c++)
        pthread_join(t[c], NULL);
    /* service resumed: the first acknowledgement of a try sent after the kill */
    int64_t resumed_ms = -1;
    int retried = 0;
    for (int c = 0; c < CLIENTS; c++)
        for (int i = 0; i < OPS; i++) {
            const struct op *o = &ops[c][i];
            assert_int_equal(o->status, 201);
            retried += o->tries > 1;
            if (o->last_try_ms > kill_ms && (resumed_ms < 0 || o->acked_ms < resumed_ms))
                resumed_ms = o->acked_ms;
        }
    printf("killed %s at %d acknowledged; %s primary after %.1f s; first payment acknowledged"
           " through it %.1f s after the kill\n",
           killed, acked_at_kill, new_primary, (double)(elected_ms - kill_ms) / 1000,
           (double)(resumed_ms - kill_ms) / 1000);
    printf("%d operations acknowledged, %d retried; during the failover %d answers were 503"
           " with Retry-After, %d IDEMPOTENCY_IN_PROGRESS, %d none, %d wrong\n",
           acked, retried, retryable_503, in_progress, no_answer, wrong);
    if (wrong)
        fprintf(stderr, "a wrong answer: %s\n", wrong_answer);
    assert_int_equal(wrong, 0);
    assert_int_equal(no_answer, 0); /* the platform nodes never stopped answering */
    assert_true(acked_at_kill < CLIENTS * OPS);
    assert_int_equal(acked, CLIENTS * OPS);
    assert_true(resumed_ms > 0);
}

/* Both nodes answer /healthz (their database is reachable again) without a restart. */
static void nodes_healthy_again(void **state)
{
    (void)state;
    for (int n = 0; n < 2; n++) {
        struct h_reply r;
        h_call_raw(&node[n], "GET", "/healthz", NULL, NULL, NULL, NULL, &r);
        assert_int_equal(r.status, 200);
        h_reply_fini(&r);
        assert_true(node[n].pid > 0 && kill(node[n].pid, 0) == 0);
    }
}

/* --- the database on the new primary ------------------------------------------------------- */

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
        "SELECT (SELECT count(*) FROM pf_trades WHERE merchant_id = 'm_a'),"
        " (SELECT count(*) FROM pf_refunds WHERE merchant_id = 'm_a'),"
        " (SELECT COALESCE(SUM(amount_minor), 0) FROM pf_trades WHERE merchant_id = 'm_a'),"
        " (SELECT COALESCE(SUM(amount_minor), 0) FROM pf_refunds WHERE merchant_id = 'm_a'),"
        " pg_is_in_recovery()",
        "");
    if (st && pay_store_step(st, err) == 1) {
        k->trades = pay_store_col_int64(st, 0);
        k->refunds = pay_store_col_int64(st, 1);
        k->paid_minor = pay_store_col_int64(st, 2);
        k->refunded_minor = pay_store_col_int64(st, 3);
        if (pay_store_col_int64(st, 4) != 0)
            snprintf(k->problem, sizeof k->problem, "the new primary is in recovery");
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

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

/* The database URL of node[0], with HAProxy's port replaced by the new primary's own. */
static void direct_url(char *out, size_t n)
{
    char port[16];
    assert_int_equal(cluster("port", new_primary, port, sizeof port), 0);
    const char *p = strstr(node[0].db, "&port=");
    assert_non_null(p);
    const char *rest = strchr(p + 1, '&');
    snprintf(out, n, "%.*s&port=%s%s", (int)(p - node[0].db), node[0].db, port, rest ? rest : "");
}

static void every_ack_once_on_the_new_primary(void **state)
{
    (void)state;
    for (int n = 0; n < 2; n++)
        h_stop(&node[n], SIGTERM);
    char url[sizeof node[0].db + 32];
    direct_url(url, sizeof url);
    struct h_platform direct = node[0];
    assert_true(strlen(url) < sizeof direct.db);
    memcpy(direct.db, url, strlen(url) + 1);
    struct pay_store *s = NULL;
    struct pay_ledger *lg = h_ledger_open(&direct, &s);
    struct check_ctx k;
    assert_int_equal(pay_store_run_read(s, check_tx, &k, NULL), PAY_ERR_OK);
    if (k.problem[0])
        fprintf(stderr, "%s\n", k.problem);
    assert_string_equal(k.problem, "");
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
    assert_int_equal(th_ledger_verify(h_paygate, url), 0);
}

static int group_teardown(void **state)
{
    (void)state;
    for (int n = 0; n < 2; n++)
        if (node[n].pid > 0)
            h_stop(&node[n], SIGKILL);
    h_teardown(&node[0]);
    return 0;
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(primary_lost_under_load), cmocka_unit_test(nodes_healthy_again),
        cmocka_unit_test(every_ack_once_on_the_new_primary), /* the nodes stopped */
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
