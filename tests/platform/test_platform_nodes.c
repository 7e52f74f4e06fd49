/* Two platform processes on one database behave as one (docs/store.md, "Several nodes on one
 * database"): both real `paygate platform` processes share the data folder's keys and the
 * database, and every request below is spread over the two at once, so that the nodes race:
 * - one trade, its payment posted by 10 consumers to both nodes at once (20 posts): paid once;
 * - a consumer logged in on node A pays on node B (sessions live in the database);
 * - a wallet holding 19 payments, charged by 20 agreement payments at once on both nodes,
 *   pays 19, refuses 1 (BALANCE_INSUFFICIENT) and never goes below zero;
 * - 20 refunds of 1.00 of a 10.00 trade at once on both nodes: 10 accepted, the trade refunded
 *   10.00 and closed;
 * - one Idempotency-Key sent to both nodes at once: one refund, every other answer the replay
 *   of it or "in progress";
 * - a signed request answered by one node is refused by the other as a replay (the nonces
 *   live in the database);
 * and at the end, both stopped, every wallet and the merchant's balance are exact to the cent
 * and `ledger verify` is clean. No sleeps: the counts hold whatever the interleaving. The pg
 * suite only: several nodes need PostgreSQL (on SQLite the nonces stay in each process).
 * argv: the paygate binary. */
#include "harness.h"
#include "lib/harness.h"

#include "core/clock.h"
#include "crypto/sig.h"
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

/* Payment passwords are attempt-guarded (store/attempts.h): parallel tries are counted before
 * they are checked, so each consumer posts fewer than PAY_LOCKOUT_ATTEMPTS at once. */
#define PAYERS   10              /* consumers 139000000<i>, 10.00 each, racing for one trade */
#define CONSUMER "13800000077"   /* 200.00: the second trade, then agreement payments */
#define PASSWORD "correct+horse" /* form-encoded "correct horse" */
#define PAY_PW   "246810"
#define N_SHOTS  20

static struct h_platform node[2]; /* one data folder and one database, two processes */
static struct h_merchant ma;

static int group_setup(void **state)
{
    (void)state;
    assert_true(th_db_is_pg());
    h_setup(&node[0], &ma, NULL, NULL);
    for (int i = 0; i < PAYERS; i++) {
        char login[16];
        snprintf(login, sizeof login, "139000000%02d", i);
        h_add_consumer(&node[0], login, "correct horse", PAY_PW);
        h_wallet_credit(&node[0], login, "10.00");
    }
    h_add_consumer(&node[0], CONSUMER, "correct horse", PAY_PW);
    h_wallet_credit(&node[0], CONSUMER, "200.00");
    h_start(&node[0]);
    node[1] = node[0]; /* the same dir (keys) and database */
    node[1].pid = 0;
    node[1].url[0] = '\0';
    h_start(&node[1]);
    assert_string_not_equal(node[0].url, node[1].url);
    return 0;
}

/* --- the cashier, as one consumer's browser going from node to node ------------------------ */

static void cashier_req(struct h_browser *b, int n, const char *method, const char *trade,
                        const char *tail, const char *form)
{
    char url[512];
    snprintf(url, sizeof url, "%s/cashier/%s%s", node[n].url, trade, tail);
    h_browser_req(b, method, url, form, false);
}

/* Logs b in as login on node n at trade's cashier. */
static void login_on(struct h_browser *b, int n, const char *trade, const char *login)
{
    cashier_req(b, n, "GET", trade, "", NULL);
    assert_int_equal(b->status, 200);
    char form[256];
    snprintf(form, sizeof form, "csrf=%s&login=%s&password=%s", b->last_csrf, login, PASSWORD);
    cashier_req(b, n, "POST", trade, "/login", form);
    assert_true(b->session[0] != '\0');
}

/* A wallet payment of trade on node n by b's session, ready for h_fire_all: the page read on
 * that node must show the consumer logged in (the session made on the other node works). */
static void pay_shot(struct h_browser *b, int n, const char *trade, struct h_shot *s)
{
    cashier_req(b, n, "GET", trade, "", NULL);
    assert_int_equal(b->status, 200);
    assert_non_null(strstr(b->page, "/pay/wallet")); /* the logged-in page's wallet form */
    memset(s, 0, sizeof *s);
    snprintf(s->url, sizeof s->url, "%s/cashier/%s/pay/wallet", node[n].url, trade);
    snprintf(s->form, sizeof s->form, "csrf=%s&pay_password=%s", b->last_csrf, PAY_PW);
    snprintf(s->cookie, sizeof s->cookie, "Cookie: pf_csrf=%s; pf_session=%s", b->csrf_cookie,
             b->session);
}

static const char *trade_field(int n, const char *trade, const char *field)
{
    static char out[64];
    char path[128];
    struct h_reply r;
    snprintf(path, sizeof path, "/v1/trades/%s", trade);
    h_call(&node[n], &ma, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    snprintf(out, sizeof out, "%s", h_str(r.json, field));
    h_reply_fini(&r);
    return out;
}

/* --- signed calls at once over the open API ------------------------------------------------ */

/* One signed POST, sent with the others at once (call_all). */
struct api_call {
    int node;
    char path[128], body[512], idem[48];
    struct h_reply r;
    pthread_barrier_t *start;
};

static void *call_thread(void *arg)
{
    struct api_call *c = arg;
    pthread_barrier_wait(c->start);
    h_call(&node[c->node], &ma, "POST", c->path, c->body, c->idem, &c->r);
    return NULL;
}

static void call_all(struct api_call *calls, int n)
{
    pthread_t t[N_SHOTS];
    pthread_barrier_t start;
    assert_true(n <= N_SHOTS);
    pthread_barrier_init(&start, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        calls[i].start = &start;
        assert_int_equal(pthread_create(&t[i], NULL, call_thread, &calls[i]), 0);
    }
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
}

static void refund_call(struct api_call *c, int n, const char *trade, const char *orn,
                        const char *amount, const char *idem)
{
    c->node = n;
    snprintf(c->path, sizeof c->path, "/v1/trades/%s/refunds", trade);
    snprintf(c->body, sizeof c->body,
             "{\"out_refund_no\":\"%s\",\"amount\":{\"value\":\"%s\",\"currency\":\"CNY\"}}", orn,
             amount);
    snprintf(c->idem, sizeof c->idem, "%s", idem);
}

static char trade_one[64], trade_two[64], agreement[64];

/* One trade, its payment posted by 10 consumers, each to both nodes, all at once: paid once
 * (one 200, every other answer 409 TRADE_STATE_INVALID), as both nodes then say. */
static void one_trade_paid_once(void **state)
{
    (void)state;
    snprintf(trade_one, sizeof trade_one, "%s",
             h_create_trade(&node[0], &ma, "n-1", "10.00", NULL));
    static struct h_browser payer[PAYERS];
    static struct h_shot shots[2 * PAYERS];
    for (int i = 0; i < PAYERS; i++) {
        char login[16];
        snprintf(login, sizeof login, "139000000%02d", i);
        login_on(&payer[i], i % 2, trade_one, login);
        pay_shot(&payer[i], 0, trade_one, &shots[2 * i]);
        pay_shot(&payer[i], 1, trade_one, &shots[2 * i + 1]);
    }
    h_fire_all(shots, 2 * PAYERS);
    int paid = 0, refused = 0;
    for (int i = 0; i < 2 * PAYERS; i++) {
        if (shots[i].status == 200)
            paid++;
        else if (shots[i].status == 409)
            refused++;
        else
            fprintf(stderr, "shot %d: %ld %.300s\n", i, shots[i].status, shots[i].page);
    }
    for (int i = 0; i < PAYERS; i++)
        h_browser_fini(&payer[i]);
    assert_int_equal(paid, 1);
    assert_int_equal(refused, 2 * PAYERS - 1);
    for (int n = 0; n < 2; n++)
        assert_string_equal(trade_field(n, trade_one, "state"), "TRADE_SUCCESS");
}

/* A second trade, the consumer logged in on node A, the payment posted to node B. */
static void session_of_one_node_pays_on_the_other(void **state)
{
    (void)state;
    snprintf(trade_two, sizeof trade_two, "%s",
             h_create_trade(&node[1], &ma, "n-2", "10.00", NULL));
    struct h_browser b = {0};
    login_on(&b, 0, trade_two, CONSUMER);
    static struct h_shot shot;
    pay_shot(&b, 1, trade_two, &shot);
    h_fire_all(&shot, 1);
    assert_int_equal(shot.status, 200);
    assert_string_equal(trade_field(0, trade_two, "state"), "TRADE_SUCCESS");
    h_browser_fini(&b);
}

/* The consumer (190.00 left) signs an agreement with m_a on node B after logging in on node A;
 * then 20 agreement payments of 10.00 at once on both nodes: 19 paid, 1 refused with 409
 * BALANCE_INSUFFICIENT. */
static void wallet_never_overdrawn(void **state)
{
    (void)state;
    struct h_browser b = {0};
    char url[256], form[512];
    snprintf(url, sizeof url, "%s/wallet", node[0].url);
    h_browser_req(&b, "GET", url, NULL, false);
    snprintf(form, sizeof form, "csrf=%s&login=%s&password=%s", b.last_csrf, CONSUMER, PASSWORD);
    snprintf(url, sizeof url, "%s/wallet/login", node[0].url);
    h_browser_req(&b, "POST", url, form, false);
    assert_int_equal(b.status, 303);
    snprintf(url, sizeof url, "%s/wallet", node[1].url);
    h_browser_req(&b, "GET", url, NULL, false);
    snprintf(form, sizeof form, "csrf=%s&merchant_id=m_a&pay_password=%s", b.last_csrf, PAY_PW);
    snprintf(url, sizeof url, "%s/wallet/agreements", node[1].url);
    h_browser_req(&b, "POST", url, form, false);
    assert_int_equal(b.status, 200);
    const char *m = strstr(b.page, "id=\"agreement-no\">");
    assert_non_null(m);
    m += strlen("id=\"agreement-no\">");
    snprintf(agreement, sizeof agreement, "%.*s", (int)strcspn(m, "<"), m);
    h_browser_fini(&b);
    static struct api_call calls[N_SHOTS];
    for (int i = 0; i < N_SHOTS; i++) {
        calls[i].node = i % 2;
        snprintf(calls[i].path, sizeof calls[i].path, "/v1/trades");
        snprintf(calls[i].body, sizeof calls[i].body,
                 "{\"out_trade_no\":\"ag-%d\",\"amount\":{\"value\":\"10.00\","
                 "\"currency\":\"CNY\"},\"subject\":\"monthly\",\"product\":\"agreement\","
                 "\"agreement_no\":\"%s\"}",
                 i, agreement);
        snprintf(calls[i].idem, sizeof calls[i].idem, "ag-%d", i);
    }
    call_all(calls, N_SHOTS);
    int paid = 0, refused = 0;
    for (int i = 0; i < N_SHOTS; i++) {
        if (calls[i].r.status == 201) {
            assert_string_equal(h_str(calls[i].r.json, "state"), "TRADE_SUCCESS");
            paid++;
        } else {
            assert_int_equal(calls[i].r.status, 409);
            assert_string_equal(h_err_code(&calls[i].r), "BALANCE_INSUFFICIENT");
            refused++;
        }
        h_reply_fini(&calls[i].r);
    }
    assert_int_equal(paid, 19);
    assert_int_equal(refused, 1);
}

/* 20 refunds of 1.00 of the 10.00 trade, each its own out_refund_no, on both nodes at once:
 * 10 accepted, 10 refused, the trade refunded 10.00 and closed. */
static void refunds_never_exceed_paid(void **state)
{
    (void)state;
    static struct api_call calls[N_SHOTS];
    for (int i = 0; i < N_SHOTS; i++) {
        char orn[16];
        snprintf(orn, sizeof orn, "r-%d", i);
        refund_call(&calls[i], i % 2, trade_one, orn, "1.00", orn);
    }
    call_all(calls, N_SHOTS);
    int ok = 0, over = 0;
    for (int i = 0; i < N_SHOTS; i++) {
        if (calls[i].r.status == 201)
            ok++;
        else if (strcmp(h_err_code(&calls[i].r), "REFUND_EXCEEDS_PAID") == 0 ||
                 strcmp(h_err_code(&calls[i].r), "TRADE_STATE_INVALID") == 0)
            over++;
        else
            fprintf(stderr, "refund %d: %ld %s\n", i, calls[i].r.status, calls[i].r.body);
        h_reply_fini(&calls[i].r);
    }
    assert_int_equal(ok, 10);
    assert_int_equal(over, 10);
    for (int n = 0; n < 2; n++) {
        assert_string_equal(trade_field(n, trade_one, "refunded.value"), "10.00");
        assert_string_equal(trade_field(n, trade_one, "state"), "TRADE_CLOSED");
    }
}

/* One refund of 4.00 of the second trade under one Idempotency-Key, sent 10 times to each node
 * at once: every answer is the refund (201, the same refund_id) or 409
 * IDEMPOTENCY_IN_PROGRESS, and the trade is refunded 4.00, once. */
static void one_key_one_refund(void **state)
{
    (void)state;
    static struct api_call calls[N_SHOTS];
    for (int i = 0; i < N_SHOTS; i++)
        refund_call(&calls[i], i % 2, trade_two, "once", "4.00", "refund-once");
    call_all(calls, N_SHOTS);
    int created = 0, busy = 0;
    char refund_id[64] = "";
    for (int i = 0; i < N_SHOTS; i++) {
        if (calls[i].r.status == 201) {
            created++;
            const char *id = h_str(calls[i].r.json, "refund_id");
            assert_true(id[0] != '\0');
            if (!refund_id[0])
                snprintf(refund_id, sizeof refund_id, "%s", id);
            assert_string_equal(id, refund_id);
        } else {
            assert_int_equal(calls[i].r.status, 409);
            assert_string_equal(h_err_code(&calls[i].r), "IDEMPOTENCY_IN_PROGRESS");
            busy++;
        }
        h_reply_fini(&calls[i].r);
    }
    assert_true(created >= 1);
    assert_int_equal(created + busy, N_SHOTS);
    for (int n = 0; n < 2; n++) {
        assert_string_equal(trade_field(n, trade_two, "refunded.value"), "4.00");
        assert_string_equal(trade_field(n, trade_two, "state"), "TRADE_SUCCESS");
    }
}

/* The same signed request (one nonce) to node A, then to node B: B refuses it as a replay; a
 * fresh nonce passes on B. */
static void replay_refused_by_the_other_node(void **state)
{
    (void)state;
    char nonce[PAY_SIG_NONCE_MAX + 1], auth[PAY_SIG_HEADER_MAX], path[128];
    snprintf(path, sizeof path, "/v1/trades/%s", trade_one);
    struct pay_sig_signer s = {PAY_SIG_ED25519, ma.id, &ma.key, NULL};
    struct h_reply r;
    pay_sig_nonce_generate(nonce);
    assert_int_equal(pay_sig_sign_request(&s, "GET", path, NULL, 0, pay_clock_real_ms() / 1000,
                                          nonce, auth, sizeof auth, NULL),
                     PAY_ERR_OK);
    h_call_raw(&node[0], "GET", path, NULL, auth, NULL, nonce, &r);
    assert_int_equal(r.status, 200);
    h_reply_fini(&r);
    h_call_raw(&node[1], "GET", path, NULL, auth, NULL, nonce, &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(h_err_code(&r), "NONCE_REPLAYED");
    assert_true(r.sig_ok);
    h_reply_fini(&r);
    assert_string_equal(trade_field(1, trade_one, "state"), "TRADE_CLOSED"); /* fresh nonce */
}

/* --- the ledger once both nodes stopped ---------------------------------------------------- */

struct wallets_ctx {
    char ids[PAYERS + 1][64], logins[PAYERS + 1][16];
    int n;
};

static enum pay_err wallets_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct wallets_ctx *w = ctx;
    w->n = 0;
    struct pay_store_stmt *st =
        pay_store_query(tx, err, "SELECT id, login FROM pf_consumers ORDER BY login", "");
    if (!st)
        return err->code;
    while (w->n <= PAYERS && pay_store_step(st, err) == 1) {
        pay_store_col_copy(st, 0, w->ids[w->n], sizeof w->ids[0]);
        pay_store_col_copy(st, 1, w->logins[w->n], sizeof w->logins[0]);
        w->n++;
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

/* 300.00 credited (10 x 10.00, 200.00). The payers hold their 100.00 again (the one that paid
 * the first trade was refunded all of it); the consumer paid 10.00 and 19 x 10.00 and got
 * 4.00 back; the merchant and the fees hold the other 196.00; nothing else moved. */
static void ledger_exact_after_both(void **state)
{
    (void)state;
    h_stop(&node[1], SIGTERM);
    h_stop(&node[0], SIGTERM);
    struct pay_store *s = NULL;
    struct pay_ledger *lg = h_ledger_open(&node[0], &s);
    struct wallets_ctx w = {.n = 0};
    assert_int_equal(pay_store_run_read(s, wallets_tx, &w, NULL), PAY_ERR_OK);
    assert_int_equal(w.n, PAYERS + 1);
    int64_t payers = 0;
    for (int i = 0; i < w.n; i++) {
        char wallet[128];
        snprintf(wallet, sizeof wallet, "pf.wallet.%s.CNY", w.ids[i]);
        int64_t held = -h_ledger_debit_balance(lg, wallet);
        if (strcmp(w.logins[i], CONSUMER) == 0)
            assert_int_equal(held, 400);
        else
            payers += held;
    }
    assert_int_equal(payers, PAYERS * 1000);
    int64_t m = -h_ledger_debit_balance(lg, "pf.merchant.m_a.CNY");
    int64_t f = -h_ledger_debit_balance(lg, "pf.fees.CNY");
    assert_true(f > 0);
    assert_int_equal(m + f, 30000 - PAYERS * 1000 - 400);
    assert_int_equal(h_ledger_debit_balance(lg, "pf.sandbox.CNY"), 30000);
    assert_int_equal(h_ledger_debit_balance(lg, "pf.refunds.CNY"), 0);
    h_ledger_close(s, lg);
    assert_int_equal(h_ledger_verify(&node[0]), 0);
}

static int group_teardown(void **state)
{
    (void)state;
    if (node[1].pid > 0)
        h_stop(&node[1], SIGTERM);
    h_teardown(&node[0]);
    return 0;
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_trade_paid_once),
        cmocka_unit_test(session_of_one_node_pays_on_the_other),
        cmocka_unit_test(wallet_never_overdrawn),
        cmocka_unit_test(refunds_never_exceed_paid),
        cmocka_unit_test(one_key_one_refund),
        cmocka_unit_test(replay_refused_by_the_other_node),
        cmocka_unit_test(ledger_exact_after_both), /* both nodes stopped */
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
