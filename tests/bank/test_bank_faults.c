/* Integration: the real `paygate bank` when its disk fails (issue 11, point 6). The bank runs
 * on the test clock, so its database goes through the fault-injection VFS and /sandbox/faults
 * fails its writes and fsyncs (docs/store.md, "Fault injection"). A B2C payment whose
 * confirmation meets a disk that fills at its k-th disk call (k = 1, 2, ...) shows a 503 page
 * and debits nothing, or succeeds; either way the consumer's next confirmation leaves exactly
 * one debit and one notification. An API refund likewise: a signed 503 DB_FULL /
 * DB_UNAVAILABLE with Retry-After, then, with the same refundId, exactly one refund, replayed
 * byte for byte after that. `ledger verify` is clean at the end. */
#include "harness.h"
#include "lib/clock.h"
#include "lib/faults.h"

#include "core/clock.h"
#include "crypto/crypto.h"
#include "crypto/sig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REFERER    "http://shop.test/checkout"
#define ROUNDS_MAX 80 /* far more than the disk calls of one confirmation */

static struct bank_proc bank;
static struct pay_rsa_key *bank_pub;

static void arm(uint64_t nth, const char *error)
{
    char plan[128];
    snprintf(plan, sizeof plan,
             "{\"ops\":[\"write\",\"sync\"],\"error\":\"%s\",\"nth\":%llu,\"sticky\":true}", error,
             (unsigned long long)nth);
    assert_int_equal(th_faults_arm(bank.url, plan), 0);
}

static void clear(void)
{
    assert_int_equal(th_faults_clear(bank.url), 0);
}

/* --- the consumer's pages ------------------------------------------------------------------- */

struct flow {
    char cookie[256];
    char csrf[128];
    struct h_resp r;
};

/* Posts form to the gateway. The rounds of this test are many payments of 5-6 steps each from
 * one address, more than the gateway's PAY_BANK_RATE_PER_IP_PER_MIN. Its bucket refills on the
 * bank's test clock (pay_clock_window_ms), 2 tokens a second: a 429 RATE_LIMITED, which the
 * gateway answers before it looks at anything, is waited out by moving that clock one second
 * and the same form sent again, as a consumer would after a pause. */
static void post_past_rate_limit(const char *url, const char *form, char *cookie, size_t n,
                                 const char *referer, struct h_resp *r)
{
    for (int i = 0; i < 3; i++) {
        assert_int_equal(h_post(url, form, cookie, n, referer, r), 0);
        if (r->status != 429)
            return;
        h_resp_fini(r);
        assert_int_equal(th_clock_advance(bank.url, 1000), 0);
    }
    fail_msg("%s: still 429 RATE_LIMITED after the bucket refilled", url);
}

static long step(struct flow *f, const char *path, const char *field, const char *value)
{
    char url[256], form[512];
    if (f->r.body)
        h_csrf(f->r.body, f->csrf, sizeof f->csrf);
    snprintf(url, sizeof url, "%s%s", bank.url, path);
    snprintf(form, sizeof form, "csrf=%s%s%s%s%s", f->csrf, field ? "&" : "", field ? field : "",
             field ? "=" : "", field ? value : "");
    h_resp_fini(&f->r);
    post_past_rate_limit(url, form, f->cookie, sizeof f->cookie, NULL, &f->r);
    return f->r.status;
}

/* A credit card of a new customer with this phone (a card a round: the gateway lets one card
 * try only so often a minute); its number into pan. */
static void new_card(const char *phone, char pan[20])
{
    struct pay_buf out;
    pay_buf_init(&out, 65536);
    assert_int_equal(h_paygate(&out, "bank customer add --data-dir %s/data --name F --phone %s",
                               bank.dir, phone),
                     0);
    char cus[64] = "";
    assert_int_equal(sscanf(pay_buf_str(&out), "customer %63s", cus), 1);
    pay_buf_reset(&out);
    assert_int_equal(h_paygate(&out,
                               "bank card add --data-dir %s/data --customer %s --kind credit"
                               " --limit 100000 --fast-hash",
                               bank.dir, cus),
                     0);
    const char *num = strstr(pay_buf_str(&out), "number ");
    assert_non_null(num);
    assert_int_equal(sscanf(num, "number %19s", pan), 1);
    pay_buf_fini(&out);
}

/* An order of 1.00 through card, password and SMS code: ends on the confirmation page. */
static void to_confirm(struct flow *f, const char *order_id, int round)
{
    char phone[24], pan[20];
    snprintf(phone, sizeof phone, "1390001%04d", round % 10000);
    new_card(phone, pan);
    memset(f, 0, sizeof *f);
    char *doc = h_order_doc(&bank, "M1", order_id, 100, "HS", NULL);
    char *form = doc ? h_order_form(&bank, "M1", doc, false) : NULL;
    assert_non_null(form);
    char url[256];
    snprintf(url, sizeof url, "%s/b2c/pay", bank.url);
    post_past_rate_limit(url, form, f->cookie, sizeof f->cookie, REFERER, &f->r);
    assert_int_equal(f->r.status, 200);
    free(doc);
    free(form);
    assert_int_equal(step(f, "/b2c/card", "cardNo", pan), 200);
    assert_int_equal(step(f, "/b2c/password", "password", "123456"), 200);
    char code[7];
    assert_int_equal(h_sms_code(&bank, phone, code), 0);
    assert_int_equal(step(f, "/b2c/sms", "smsCode", code), 200);
    assert_non_null(strstr(f->r.body, "data-page=\"confirm\""));
    h_csrf(f->r.body, f->csrf, sizeof f->csrf); /* the confirmation's form, for every retry */
}

/* How often order_id appears in M1's account movements (`paygate bank movements`). */
static int movements_of(const char *order_id)
{
    char path[300], js[512] = "";
    snprintf(path, sizeof path, "%s/M1/merchant.json", bank.dir);
    FILE *fj = fopen(path, "r");
    assert_non_null(fj);
    js[fread(js, 1, sizeof js - 1, fj)] = '\0';
    fclose(fj);
    char *acct = strstr(js, "acct_");
    assert_non_null(acct);
    acct[strcspn(acct, "\"")] = '\0';
    struct pay_buf out;
    pay_buf_init(&out, 1 << 20);
    assert_int_equal(h_paygate(&out, "bank movements --data-dir %s/data --account %s 2>/dev/null",
                               bank.dir, acct),
                     0);
    int n = 0;
    for (const char *p = pay_buf_str(&out); (p = strstr(p, order_id)) != NULL; p++)
        n++;
    pay_buf_fini(&out);
    return n;
}

static char paid_order[32];

static void b2c_confirm_fails_at_each_step(void **state)
{
    (void)state;
    int failed = 0, ok_in_a_row = 0;
    for (int k = 1; ok_in_a_row < 3; k++) {
        assert_true(k <= ROUNDS_MAX);
        char order_id[32];
        snprintf(order_id, sizeof order_id, "FX-%d", k);
        struct flow f;
        to_confirm(&f, order_id, k);
        int notified = h_merchant_notified();
        arm((uint64_t)k, k % 2 ? "full" : "io");
        long st = step(&f, "/b2c/confirm", NULL, NULL);
        clear();
        if (st == 503) {
            assert_non_null(strstr(f.r.body, k % 2 ? "<code id=\"code\">DB_FULL</code>"
                                                   : "<code id=\"code\">DB_UNAVAILABLE</code>"));
            assert_null(strstr(f.r.body, "data-status=\"paid\""));
            assert_int_equal(movements_of(order_id), 0); /* nothing debited */
            failed++;
            ok_in_a_row = 0;
            /* the consumer presses "confirm" again once the disk is back */
            assert_int_equal(step(&f, "/b2c/confirm", NULL, NULL), 200);
        } else {
            assert_int_equal(st, 200);
            ok_in_a_row++;
        }
        assert_non_null(strstr(f.r.body, "data-status=\"paid\""));
        assert_int_equal(movements_of(order_id), 1); /* exactly one debit */
        assert_int_equal(h_merchant_notified(), notified + 1);
        snprintf(paid_order, sizeof paid_order, "%s", order_id);
        h_resp_fini(&f.r);
    }
    fprintf(stderr, "b2c: %d confirmations failed first\n", failed);
    assert_true(failed > 0);
    assert_int_equal(h_merchant_bad_signatures(), 0);
}

/* --- the merchant's API ---------------------------------------------------------------------- */

struct answer {
    long status;
    json_t *json;
    char *raw;
    char retry_after[16];
};

static void answer_fini(struct answer *a)
{
    json_decref(a->json);
    free(a->raw);
    memset(a, 0, sizeof *a);
}

/* POST target as merchant M1 (its certificate's key); the bank's answer signature is checked. */
static void post(const char *target, const char *body, struct answer *a)
{
    char path[400];
    snprintf(path, sizeof path, "%s/M1/merchant.key", bank.dir);
    struct pay_rsa_key *k = NULL;
    assert_int_equal(pay_rsa_key_load(path, &k), 0);
    char nonce[PAY_SIG_NONCE_MAX + 1], hdr[PAY_SIG_HEADER_MAX], auth[PAY_SIG_HEADER_MAX + 32];
    pay_sig_nonce_generate(nonce);
    struct pay_sig_signer s = {PAY_SIG_RSA_SHA256, "M1", NULL, k};
    assert_int_equal(pay_sig_sign_request(&s, "POST", target, body, strlen(body),
                                          pay_clock_real_ms() / 1000, nonce, hdr, sizeof hdr, NULL),
                     PAY_ERR_OK);
    pay_rsa_key_free(k);
    snprintf(auth, sizeof auth, "Authorization: %s", hdr);
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    char url[PAY_URL_MAX];
    snprintf(url, sizeof url, "%s%s", bank.url, target);
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    assert_int_equal(
        pay_http_client_request("POST", url, headers, body, strlen(body), &opt, &r, NULL),
        PAY_ERR_OK);
    char sig[PAY_SIG_HEADER_MAX];
    const char *sh = pay_http_client_response_header(&r, PAY_SIG_RESPONSE_HEADER, sig, sizeof sig);
    assert_true(h_bank_answer_signed(bank_pub, sh, r.status, nonce, r.body.data, r.body.len));
    memset(a, 0, sizeof *a);
    a->status = r.status;
    a->raw = strdup(pay_buf_str(&r.body));
    a->json = json_loads(a->raw, 0, NULL);
    if (!pay_http_client_response_header(&r, "Retry-After", a->retry_after, sizeof a->retry_after))
        a->retry_after[0] = '\0';
    pay_http_client_response_fini(&r);
}

static const char *err_code(const struct answer *a)
{
    const char *c = json_string_value(json_object_get(json_object_get(a->json, "error"), "code"));
    return c ? c : "";
}

static void api_refund_fails_at_each_step(void **state)
{
    (void)state;
    int failed = 0, ok_in_a_row = 0, refunds = 0;
    for (int k = 1; ok_in_a_row < 3; k++) {
        assert_true(k <= ROUNDS_MAX);
        char body[160];
        snprintf(body, sizeof body, "{\"orderId\":\"%s\",\"refundId\":\"fr-%d\",\"amount\":1}",
                 paid_order, k);
        arm((uint64_t)k, k % 2 ? "full" : "io");
        struct answer first, again, third;
        post("/api/v1/refunds", body, &first);
        clear();
        if (first.status == 503) {
            assert_string_equal(err_code(&first), k % 2 ? "DB_FULL" : "DB_UNAVAILABLE");
            assert_string_equal(first.retry_after, "5");
            failed++;
            ok_in_a_row = 0;
        } else {
            assert_int_equal(first.status, 200);
            ok_in_a_row++;
        }
        post("/api/v1/refunds", body, &again); /* the merchant's retry, same refundId */
        assert_int_equal(again.status, 200);
        if (first.status == 200)
            assert_true(json_equal(again.json, first.json));
        post("/api/v1/refunds", body, &third);
        assert_true(json_equal(third.json, again.json)); /* a replay, not a second refund */
        refunds++;
        assert_int_equal(json_integer_value(json_object_get(again.json, "refundedAmount")),
                         refunds);
        answer_fini(&first);
        answer_fini(&again);
        answer_fini(&third);
    }
    fprintf(stderr, "refunds: %d failed first of %d\n", failed, refunds);
    assert_true(failed > 0);
    char q[96];
    snprintf(q, sizeof q, "{\"orderId\":\"%s\"}", paid_order);
    struct answer a;
    post("/api/v1/orders/query", q, &a);
    assert_int_equal(a.status, 200);
    assert_int_equal(json_integer_value(json_object_get(a.json, "refundedAmount")), refunds);
    answer_fini(&a);
}

static void ledger_is_clean(void **state)
{
    (void)state;
    h_bank_stop(&bank);
    assert_int_equal(h_bank_ledger_verify(&bank), 0);
}

static int group_setup(void **state)
{
    (void)state;
    if (pay_crypto_init() != 0 || h_bank_start(&bank, "--fake-clock") != 0)
        return -1;
    bank_pub = h_bank_signing_key(&bank);
    return bank_pub && h_merchant_start(&bank) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    h_bank_stop(&bank);
    h_merchant_stop();
    pay_rsa_key_free(bank_pub);
    return h_bank_remove(&bank);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(b2c_confirm_fails_at_each_step),
        cmocka_unit_test(api_refund_fails_at_each_step),
        cmocka_unit_test(ledger_is_clean),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
