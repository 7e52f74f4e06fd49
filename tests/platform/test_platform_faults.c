/* Integration: the real `paygate platform` when its disk fails (issue 11, point 6). The server
 * runs on the test clock, so its database goes through the fault-injection VFS and
 * /sandbox/faults fails its writes and fsyncs (docs/store.md, "Fault injection"). Under signed
 * API load with the disk full every answer is 200/201 or a signed 503 DB_FULL with
 * Retry-After; nothing acknowledged is lost (also across a crash); once the disk is back the
 * same requests with their Idempotency-Keys succeed exactly once (a refund failed at each
 * successive disk call of its request, a wallet payment whose commit failed); reads go on while
 * writes fail, and a failing read is a 503 too, never a false "bad signature". */
#include "harness.h"
#include "lib/faults.h"
#include "lib/harness.h"

#include "http/client.h"
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

static struct h_platform pf;
static struct h_merchant ma;

#define FULL_FROM(n)                                                                               \
    "{\"ops\":[\"write\",\"sync\"],\"error\":\"full\",\"nth\":" #n ",\"sticky\":true}"

static int group_setup(void **state)
{
    (void)state;
    h_setup(&pf, &ma, NULL, "timeout_min = 1s\n[server]\nfake_clock = true");
    h_add_consumer(&pf, "13800000009", "correct horse", "246810");
    h_wallet_credit(&pf, "13800000009", "1000.00");
    h_start(&pf);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    assert_int_equal(th_faults_clear(pf.url), 0);
    h_teardown_verified(&pf); /* SIGTERM, exit 0, ledger verify clean */
    return 0;
}

/* After each test, also a failed one: the next starts on a working disk. */
static int disk_back(void **state)
{
    (void)state;
    return pf.pid > 0 ? th_faults_clear(pf.url) : 0;
}

static void arm(const char *plan)
{
    assert_int_equal(th_faults_arm(pf.url, plan), 0);
}

static void clear(void)
{
    assert_int_equal(th_faults_clear(pf.url), 0);
}

/* A signed 503 with the storage failure's code and Retry-After. */
static void assert_storage_503(const struct h_reply *r, const char *code)
{
    if (r->status != 503)
        fprintf(stderr, "expected 503 %s: %ld %s\n", code, r->status, r->body);
    assert_int_equal(r->status, 503);
    assert_true(r->sig_ok);
    assert_string_equal(h_err_code(r), code);
    assert_string_equal(r->retry_after, "5");
}

static void sandbox_route(void **state)
{
    (void)state;
    assert_int_equal(th_faults_injected(pf.url), 0);
    char url[256];
    snprintf(url, sizeof url, "%s/sandbox/faults", pf.url);
    const char *const headers[] = {"Content-Type: application/json", NULL};
    struct pay_http_client_options o = {.allow_private_addresses = true};
    const char *bad[][2] = {
        {"{\"ops\":[\"fsync\"],\"error\":\"full\",\"nth\":1}", "ops"},
        {"{\"ops\":[\"write\"],\"error\":\"enospc\",\"nth\":1}", "error"},
        {"{\"ops\":[\"write\"],\"error\":\"io\"}", "nth"},
        {"{\"ops\":[\"write\"],\"error\":\"io\",\"nth\":1,\"when\":2}", "when"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct pay_http_client_response r = {0};
        assert_int_equal(pay_http_client_request("POST", url, headers, bad[i][0], strlen(bad[i][0]),
                                                 &o, &r, NULL),
                         PAY_ERR_OK);
        assert_int_equal(r.status, 400);
        json_t *j = json_loads(pay_buf_str(&r.body), 0, NULL);
        assert_string_equal(h_str(j, "error.code"), "FIELD_INVALID");
        assert_string_equal(h_str(j, "error.field"), bad[i][1]);
        json_decref(j);
        pay_http_client_response_fini(&r);
    }
}

/* --- trades under load ----------------------------------------------------------------------- */

#define LOAD 24

struct shot {
    char body[256], idem[32], otn[32];
    struct h_reply first, retry;
};

static struct shot shots[LOAD];

static void shot_init(struct shot *s, const char *prefix, int i)
{
    snprintf(s->otn, sizeof s->otn, "%s-%d", prefix, i);
    snprintf(s->idem, sizeof s->idem, "create-%s", s->otn);
    snprintf(s->body, sizeof s->body,
             "{\"out_trade_no\":\"%s\",\"amount\":{\"value\":\"1.%02d\",\"currency\":\"CNY\"},"
             "\"subject\":\"fault test\"}",
             s->otn, i);
}

static void *fire(void *arg)
{
    struct shot *s = arg;
    h_call(&pf, &ma, "POST", "/v1/trades", s->body, s->idem, &s->first);
    return NULL;
}

/* The trade of out_trade_no as the platform has it now: its id (static buffer), "" if none. */
static const char *trade_of(const char *otn)
{
    static char id[64];
    char path[128];
    snprintf(path, sizeof path, "/v1/trades?out_trade_no=%s", otn);
    struct h_reply r;
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_true(r.sig_ok);
    snprintf(id, sizeof id, "%s", r.status == 200 ? h_str(r.json, "trade_id") : "");
    h_reply_fini(&r);
    return id;
}

static void trades_under_load(void **state)
{
    (void)state;
    /* four acknowledged before the disk fills, then 24 at once while it fills */
    struct shot before[4];
    for (int i = 0; i < 4; i++) {
        shot_init(&before[i], "early", i);
        fire(&before[i]);
        assert_int_equal(before[i].first.status, 201);
    }
    for (int i = 0; i < LOAD; i++)
        shot_init(&shots[i], "load", i);
    /* full from the 2nd write or fsync: the first batch to commit fails whatever the batching
     * (each commit writes a frame per changed page, and trades, their keys and the stored
     * answers change several), so the disk fills during the load, not maybe after it */
    arm(FULL_FROM(2));
    pthread_t th[LOAD];
    for (int i = 0; i < LOAD; i++)
        assert_int_equal(pthread_create(&th[i], NULL, fire, &shots[i]), 0);
    for (int i = 0; i < LOAD; i++)
        pthread_join(th[i], NULL);
    assert_true(th_faults_injected(pf.url) > 0);
    int failed = 0;
    for (int i = 0; i < LOAD; i++) {
        struct h_reply *r = &shots[i].first;
        assert_true(r->sig_ok); /* every answer signed, the 503s too */
        if (r->status != 201) {
            assert_storage_503(r, "DB_FULL");
            failed++;
        }
    }
    assert_true(failed > 0);
    /* still full: a retry is refused again, reads go on */
    struct h_reply r;
    h_call(&pf, &ma, "POST", "/v1/trades", shots[0].body, shots[0].idem, &r);
    if (shots[0].first.status == 201) {
        assert_int_equal(r.status, 201); /* its stored answer */
        assert_true(r.replayed);
    } else {
        assert_storage_503(&r, "DB_FULL");
    }
    h_reply_fini(&r);
    for (int i = 0; i < 4; i++)
        assert_string_equal(trade_of(before[i].otn), h_str(before[i].first.json, "trade_id"));
    clear();
    /* the disk is back: every request again, same key and bytes: created exactly once */
    for (int i = 0; i < LOAD; i++) {
        struct shot *s = &shots[i];
        h_call(&pf, &ma, "POST", "/v1/trades", s->body, s->idem, &s->retry);
        assert_int_equal(s->retry.status, 201);
        assert_true(s->retry.sig_ok);
        const char *id = h_str(s->retry.json, "trade_id");
        if (s->first.status == 201) {
            assert_true(s->retry.replayed);
            assert_string_equal(id, h_str(s->first.json, "trade_id"));
            assert_string_equal(s->retry.body, s->first.body); /* byte for byte */
        } else {
            assert_false(s->retry.replayed); /* a 503 is never stored: this one ran */
        }
        assert_string_equal(trade_of(s->otn), id);
    }
    for (int i = 0; i < 4; i++)
        h_reply_fini(&before[i].first);
}

/* --- paying and refunding ------------------------------------------------------------------- */

static char paid_trade[64];

static void b_req(struct h_browser *b, const char *method, const char *path, const char *form)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", pf.url, path);
    h_browser_req(b, method, url, form, false);
}

static const char *trade_state(const char *trade_id, const char *field)
{
    static char v[64];
    char path[128];
    snprintf(path, sizeof path, "/v1/trades/%s", trade_id);
    struct h_reply r;
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    snprintf(v, sizeof v, "%s", h_str(r.json, field));
    h_reply_fini(&r);
    return v;
}

/* The consumer pays by wallet; the first try meets a full disk at its commit. */
static void wallet_payment_on_full_disk(void **state)
{
    (void)state;
    snprintf(paid_trade, sizeof paid_trade, "%s",
             h_create_trade(&pf, &ma, "pay-f", "100.00", NULL));
    struct h_browser b = {0};
    char path[128], form[256];
    snprintf(path, sizeof path, "/cashier/%s", paid_trade);
    b_req(&b, "GET", path, NULL);
    snprintf(form, sizeof form, "csrf=%s&login=13800000009&password=correct+horse", b.last_csrf);
    snprintf(path, sizeof path, "/cashier/%s/login", paid_trade);
    b_req(&b, "POST", path, form);
    assert_int_equal(b.status, 303);
    snprintf(path, sizeof path, "/cashier/%s", paid_trade);
    b_req(&b, "GET", path, NULL);
    assert_int_equal(b.status, 200);
    arm(FULL_FROM(1));
    snprintf(form, sizeof form, "csrf=%s&pay_password=246810", b.last_csrf);
    snprintf(path, sizeof path, "/cashier/%s/pay/wallet", paid_trade);
    b_req(&b, "POST", path, form);
    assert_int_equal(b.status, 503);
    assert_non_null(strstr(b.page, "<code id=\"code\">DB_FULL</code>"));
    assert_null(strstr(b.page, "id=\"paid\""));
    assert_string_equal(trade_state(paid_trade, "state"), "WAIT_BUYER_PAY");
    clear();
    snprintf(path, sizeof path, "/cashier/%s", paid_trade);
    b_req(&b, "GET", path, NULL);
    assert_int_equal(b.status, 200);
    snprintf(form, sizeof form, "csrf=%s&pay_password=246810", b.last_csrf);
    snprintf(path, sizeof path, "/cashier/%s/pay/wallet", paid_trade);
    b_req(&b, "POST", path, form);
    assert_int_equal(b.status, 200);
    assert_non_null(strstr(b.page, "id=\"paid\""));
    assert_string_equal(trade_state(paid_trade, "state"), "TRADE_SUCCESS");
    h_browser_fini(&b);
}

/* Refunds at most, each of 1.00 (the trade is 100.00): far more than the disk calls of one. */
#define REFUNDS_MAX 90
static int refunds;

/* "<refunds>.00" */
static const char *refunded_text(void)
{
    static char v[16];
    snprintf(v, sizeof v, "%d.00", refunds);
    return v;
}

static long refund(const char *orn, struct h_reply *r)
{
    char body[256], path[128];
    snprintf(body, sizeof body,
             "{\"out_refund_no\":\"%s\",\"amount\":{\"value\":\"1.00\",\"currency\":\"CNY\"}}",
             orn);
    snprintf(path, sizeof path, "/v1/trades/%s/refunds", paid_trade);
    h_call(&pf, &ma, "POST", path, body, orn, r);
    assert_true(r->sig_ok);
    return r->status;
}

/* Refund k meets a disk that fills at its k-th write or fsync: in claiming its key, in its
 * commit, or in storing its answer; k grows until six in a row were acknowledged (the disk
 * filled after the request). Whatever it heard, the retry lands it exactly once, and a retry
 * of an acknowledged refund is its replay. */
static void refund_fails_at_each_step(void **state)
{
    (void)state;
    int failed = 0, kept = 0, kept_in_a_row = 0;
    for (int k = 1; kept_in_a_row < 6; k++) {
        assert_true(k <= REFUNDS_MAX);
        refunds = k;
        char orn[32], plan[128];
        snprintf(orn, sizeof orn, "rf-fault-%d", k);
        snprintf(plan, sizeof plan,
                 "{\"ops\":[\"write\",\"sync\"],\"error\":\"%s\",\"nth\":%d,\"sticky\":true}",
                 k % 2 ? "full" : "io", k);
        arm(plan);
        struct h_reply first, again, third;
        long st = refund(orn, &first);
        if (st != 201) {
            assert_storage_503(&first, k % 2 ? "DB_FULL" : "DB_UNAVAILABLE");
            failed++;
        }
        clear();
        assert_int_equal(refund(orn, &again), 201);
        assert_int_equal(again.replayed, st == 201);
        if (st == 201) {
            assert_string_equal(again.body, first.body);
            kept++;
        }
        kept_in_a_row = st == 201 ? kept_in_a_row + 1 : 0;
        assert_int_equal(refund(orn, &third), 201);
        assert_true(third.replayed);
        assert_string_equal(h_str(third.json, "refund_id"), h_str(again.json, "refund_id"));
        h_reply_fini(&first);
        h_reply_fini(&again);
        h_reply_fini(&third);
    }
    fprintf(stderr, "refunds: %d failed first, %d acknowledged first\n", failed, kept);
    assert_true(failed > 0);
    assert_string_equal(trade_state(paid_trade, "refunded.value"), refunded_text());
}

/* A failing read (its cache is stale after a write) is a signed 503 DB_UNAVAILABLE, not a
 * "bad signature" from a merchant look-up that could not read. */
static void read_failure(void **state)
{
    (void)state;
    h_create_trade(&pf, &ma, "read-f", "2.00", NULL); /* a write: every reader reads again */
    arm("{\"ops\":[\"read\"],\"error\":\"io\",\"nth\":1,\"sticky\":true}");
    char path[128];
    snprintf(path, sizeof path, "/v1/trades/%s", paid_trade);
    struct h_reply r;
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_storage_503(&r, "DB_UNAVAILABLE");
    h_reply_fini(&r);
    clear();
    assert_string_equal(trade_state(paid_trade, "state"), "TRADE_SUCCESS");
}

/* A crash after all that: what was acknowledged is there, balances count everything once. */
static void crash_keeps_everything(void **state)
{
    (void)state;
    h_stop(&pf, SIGKILL);
    h_start(&pf);
    for (int i = 0; i < LOAD; i++)
        assert_string_equal(trade_of(shots[i].otn), h_str(shots[i].retry.json, "trade_id"));
    assert_string_equal(trade_state(paid_trade, "refunded.value"), refunded_text());
    h_stop(&pf, SIGTERM);
    struct pay_store *s = NULL;
    struct pay_ledger *lg = h_ledger_open(&pf, &s);
    /* paid 100.00 once, each refund of 1.00 once: the merchant's balance and the fees hold the
     * rest, however the fee was split */
    int64_t merchant = -h_ledger_debit_balance(lg, "pf.merchant.m_a.CNY");
    int64_t fees = -h_ledger_debit_balance(lg, "pf.fees.CNY");
    assert_int_equal(merchant + fees, 10000 - 100 * (int64_t)refunds);
    h_ledger_close(s, lg);
    for (int i = 0; i < LOAD; i++) {
        h_reply_fini(&shots[i].first);
        h_reply_fini(&shots[i].retry);
    }
    h_start(&pf);
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(sandbox_route, disk_back),
        cmocka_unit_test_teardown(trades_under_load, disk_back),
        cmocka_unit_test_teardown(wallet_payment_on_full_disk, disk_back),
        cmocka_unit_test_teardown(refund_fails_at_each_step, disk_back),
        cmocka_unit_test_teardown(read_failure, disk_back),
        cmocka_unit_test_teardown(crash_keeps_everything, disk_back),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
