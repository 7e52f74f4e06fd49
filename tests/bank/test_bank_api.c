/* Integration tests of the bank's signed server-to-server API against the real `paygate bank`
 * process: card binding (verify + SMS confirm → agreement token), agreement debit (idempotent),
 * order query, refunds (partial, over-refund, replay), transfers, the signed daily statement,
 * bad signatures and revoked agreements. Every response signature is checked. */
#include "harness.h"
#include "core/clock.h"
#include "core/timeutil.h"
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

static struct bank_proc bank;
static struct pay_rsa_key *bank_pub;
static char token[80];

static struct pay_rsa_key *load_key(const char *mer)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s/merchant.key", bank.dir, mer);
    struct pay_rsa_key *k = NULL;
    assert_int_equal(pay_rsa_key_load(path, &k), 0);
    return k;
}

/* One signed call as merchant key_id signing with the key of keydir; the response's signature
 * is verified. Returns the status; *body is the parsed JSON (or NULL), *raw the text. */
static long call(const char *keydir, const char *key_id, const char *method, const char *target,
                 const char *body, json_t **json, char **raw)
{
    struct pay_rsa_key *k = load_key(keydir);
    char nonce[PAY_SIG_NONCE_MAX + 1], hdr[PAY_SIG_HEADER_MAX], auth[PAY_SIG_HEADER_MAX + 32];
    pay_sig_nonce_generate(nonce);
    struct pay_sig_signer s = {PAY_SIG_RSA_SHA256, key_id, NULL, k};
    struct pay_error e = {0};
    size_t blen = body ? strlen(body) : 0;
    assert_int_equal(pay_sig_sign_request(&s, method, target, body, blen,
                                          pay_clock_real_ms() / 1000, nonce, hdr, sizeof hdr, &e),
                     PAY_ERR_OK);
    pay_rsa_key_free(k);
    snprintf(auth, sizeof auth, "Authorization: %s", hdr);
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    char url[PAY_URL_MAX];
    snprintf(url, sizeof url, "%s%s", bank.url, target);
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r;
    memset(&r, 0, sizeof r);
    assert_int_equal(pay_http_client_request(method, url, headers, body, blen, &opt, &r, &e),
                     PAY_ERR_OK);
    char sig[PAY_SIG_HEADER_MAX];
    const char *sh = pay_http_client_response_header(&r, PAY_SIG_RESPONSE_HEADER, sig, sizeof sig);
    assert_true(h_bank_answer_signed(bank_pub, sh, r.status, nonce, r.body.data, r.body.len));
    if (json)
        *json = json_loads(pay_buf_str(&r.body), 0, NULL);
    if (raw)
        *raw = strdup(pay_buf_str(&r.body));
    long status = r.status;
    pay_http_client_response_fini(&r);
    return status;
}

static long post(const char *target, const char *body, json_t **json)
{
    return call("M1", "M1", "POST", target, body, json, NULL);
}

static const char *jstr(json_t *j, const char *path)
{
    json_t *v = json_object_get(j, path);
    if (!v)
        v = json_object_get(json_object_get(j, "error"), path);
    return json_string_value(v);
}

static void test_bind_card(void **state)
{
    (void)state;
    json_t *j = NULL;
    char cvv[4]; /* the CVV2 of the demo card, as `bank demo-cards` shows it */
    assert_int_equal(h_demo_cvv2(&bank, "6222020000000015", cvv), 0);
    char body[512];
    snprintf(body, sizeof body,
             "{\"cardNo\":\"6222020000000015\",\"expiry\":\"12/30\",\"cvv2\":\"%s\"}",
             strcmp(cvv, "000") == 0 ? "001" : "000");
    if (strcmp(cvv, "000") != 0) { /* a wrong CVV2 is refused */
        assert_int_equal(post("/api/v1/cards/verify", body, &j), 400);
        assert_string_equal(jstr(j, "code"), "CARD_INVALID");
        json_decref(j);
    }
    snprintf(body, sizeof body,
             "{\"cardNo\":\"6222020000000015\",\"expiry\":\"12/30\",\"cvv2\":\"%s\"}", cvv);
    assert_int_equal(post("/api/v1/cards/verify", body, &j), 200);
    char vid[64];
    snprintf(vid, sizeof vid, "%s", jstr(j, "verificationId"));
    json_decref(j);
    char code[7];
    assert_int_equal(h_sms_code(&bank, "13800000001", code), 0);
    snprintf(body, sizeof body, "{\"verificationId\":\"%s\",\"smsCode\":\"%s\"}", vid, code);
    assert_int_equal(post("/api/v1/cards/confirm", body, &j), 200);
    snprintf(token, sizeof token, "%s", jstr(j, "agreementToken"));
    assert_string_equal(jstr(j, "cardLast4"), "0015");
    json_decref(j);
    /* single use */
    assert_int_equal(post("/api/v1/cards/confirm", body, &j), 401);
    json_decref(j);
}

static void test_debit_query_refund(void **state)
{
    (void)state;
    json_t *j = NULL;
    char body[512];
    snprintf(body, sizeof body,
             "{\"agreementToken\":\"%s\",\"orderId\":\"A-1\",\"amount\":5000,"
             "\"currency\":\"CNY\",\"goodsName\":\"Top-up\"}",
             token);
    assert_int_equal(post("/api/v1/agreements/debit", body, &j), 200);
    char serial[64];
    snprintf(serial, sizeof serial, "%s", jstr(j, "tranSerialNo"));
    json_decref(j);
    assert_int_equal(post("/api/v1/agreements/debit", body, &j), 200); /* replay */
    assert_string_equal(jstr(j, "tranSerialNo"), serial);
    json_decref(j);
    assert_int_equal(post("/api/v1/orders/query", "{\"orderId\":\"A-1\"}", &j), 200);
    assert_string_equal(jstr(j, "status"), "PAID");
    assert_int_equal(json_integer_value(json_object_get(j, "amount")), 5000);
    json_decref(j);
    assert_int_equal(post("/api/v1/orders/query", "{\"orderId\":\"nope\"}", &j), 404);
    json_decref(j);
    const char *r1 = "{\"orderId\":\"A-1\",\"refundId\":\"r-1\",\"amount\":2000}";
    json_t *first = NULL;
    assert_int_equal(post("/api/v1/refunds", r1, &first), 200);
    assert_int_equal(json_integer_value(json_object_get(first, "refundedAmount")), 2000);
    assert_int_equal(post("/api/v1/refunds", r1, &j), 200); /* replay: same result */
    assert_true(json_equal(j, first));
    json_decref(j);
    assert_int_equal(
        post("/api/v1/refunds", "{\"orderId\":\"A-1\",\"refundId\":\"r-1\",\"amount\":10}", &j),
        422);
    json_decref(j);
    assert_int_equal(
        post("/api/v1/refunds", "{\"orderId\":\"A-1\",\"refundId\":\"r-2\",\"amount\":3001}", &j),
        409);
    assert_string_equal(jstr(j, "code"), "REFUND_EXCEEDS");
    json_decref(j);
    assert_int_equal(
        post("/api/v1/refunds", "{\"orderId\":\"A-1\",\"refundId\":\"r-3\",\"amount\":3000}", &j),
        200);
    assert_int_equal(json_integer_value(json_object_get(j, "refundedAmount")), 5000);
    json_decref(j);
    /* a replay after another refund still answers exactly the first answer (refundedAmount
     * as it was then: 2000, not the order's current 5000) */
    assert_int_equal(post("/api/v1/refunds", r1, &j), 200);
    assert_true(json_equal(j, first));
    assert_int_equal(json_integer_value(json_object_get(j, "refundedAmount")), 2000);
    json_decref(j);
    json_decref(first);
    assert_int_equal(post("/api/v1/orders/query", "{\"orderId\":\"A-1\"}", &j), 200);
    assert_string_equal(jstr(j, "status"), "REFUNDED");
    json_decref(j);
}

static void mer_acct(const char *mer, char out[64])
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s/merchant.json", bank.dir, mer);
    json_t *j = json_load_file(path, 0, NULL);
    snprintf(out, 64, "%s", jstr(j, "merAcct"));
    json_decref(j);
}

static void test_transfers(void **state)
{
    (void)state;
    char a1[64], a2[64], body[512];
    mer_acct("M1", a1);
    mer_acct("M2", a2);
    json_t *j = NULL;
    snprintf(body, sizeof body,
             "{\"transferId\":\"p-1\",\"fromAccount\":\"%s\",\"toAccount\":\"%s\","
             "\"amount\":1000,\"currency\":\"CNY\"}",
             a1, a2);
    assert_int_equal(post("/api/v1/transfers", body, &j), 402); /* M1 holds 0 after refunds */
    json_decref(j);
    snprintf(body, sizeof body,
             "{\"agreementToken\":\"%s\",\"orderId\":\"A-2\",\"amount\":4000,"
             "\"currency\":\"CNY\",\"goodsName\":\"Top-up\"}",
             token);
    assert_int_equal(post("/api/v1/agreements/debit", body, &j), 200);
    json_decref(j);
    snprintf(body, sizeof body,
             "{\"transferId\":\"p-1\",\"fromAccount\":\"%s\",\"toAccount\":\"%s\","
             "\"amount\":1000,\"currency\":\"CNY\"}",
             a1, a2);
    assert_int_equal(post("/api/v1/transfers", body, &j), 200);
    char serial[64];
    snprintf(serial, sizeof serial, "%s", jstr(j, "tranSerialNo"));
    json_decref(j);
    assert_int_equal(post("/api/v1/transfers", body, &j), 200); /* idempotent */
    assert_string_equal(jstr(j, "tranSerialNo"), serial);
    json_decref(j);
    snprintf(body, sizeof body,
             "{\"transferId\":\"p-2\",\"fromAccount\":\"%s\",\"toAccount\":\"%s\","
             "\"amount\":1000,\"currency\":\"CNY\"}",
             a2, a1);
    assert_int_equal(post("/api/v1/transfers", body, &j), 403); /* not M1's account */
    json_decref(j);
    /* to the card of an agreement (a platform's withdrawal to a bound card): the answer names
     * the card's last four, never its account */
    snprintf(body, sizeof body,
             "{\"transferId\":\"p-3\",\"fromAccount\":\"%s\",\"agreementToken\":\"%s\","
             "\"amount\":500,\"currency\":\"CNY\"}",
             a1, token);
    assert_int_equal(post("/api/v1/transfers", body, &j), 200);
    assert_string_equal(jstr(j, "cardLast4"), "0015");
    assert_null(jstr(j, "toAccount"));
    snprintf(serial, sizeof serial, "%s", jstr(j, "tranSerialNo"));
    json_decref(j);
    assert_int_equal(post("/api/v1/transfers", body, &j), 200); /* idempotent */
    assert_string_equal(jstr(j, "tranSerialNo"), serial);
    json_decref(j);
    snprintf(body, sizeof body,
             "{\"transferId\":\"p-4\",\"fromAccount\":\"%s\",\"agreementToken\":\"agt_x\","
             "\"amount\":500,\"currency\":\"CNY\"}",
             a1);
    assert_int_equal(post("/api/v1/transfers", body, &j), 403);
    assert_string_equal(jstr(j, "code"), "AGREEMENT_INVALID");
    json_decref(j);
    snprintf(body, sizeof body,
             "{\"transferId\":\"p-5\",\"fromAccount\":\"%s\",\"agreementToken\":\"%s\","
             "\"toAccount\":\"%s\",\"amount\":500,\"currency\":\"CNY\"}",
             a1, token, a2);
    assert_int_equal(post("/api/v1/transfers", body, &j), 400); /* one destination only */
    json_decref(j);
}

static void test_statement(void **state)
{
    (void)state;
    char target[128], day[16];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    snprintf(target, sizeof target, "/api/v1/statements?date=%s", day);
    char *csv = NULL;
    assert_int_equal(call("M1", "M1", "GET", target, NULL, NULL, &csv), 200);
    assert_non_null(strstr(csv, "time,transfer_id,kind,direction,amount,currency,reference\n"));
    assert_non_null(strstr(csv, ",AGREEMENT_DEBIT,CREDIT,5000,CNY,A-1\n"));
    assert_non_null(strstr(csv, ",REFUND,DEBIT,2000,CNY,r-1\n"));
    assert_non_null(strstr(csv, ",TRANSFER,DEBIT,1000,CNY,p-1\n"));
    /* the agreement debit comes before its refunds: oldest first */
    assert_true(strstr(csv, "A-1\n") < strstr(csv, "r-1\n"));
    free(csv);
    assert_int_equal(
        call("M1", "M1", "GET", "/api/v1/statements?date=2026-13-01", NULL, NULL, NULL), 400);
}

/* Each endpoint refuses bad input with the documented status, code and field, in a signed
 * answer (call() checks every signature), and moves no money. */
static void test_refusals(void **state)
{
    (void)state;
    char acct[64];
    mer_acct("M1", acct);
    const struct {
        const char *target, *body;
        long status;
        const char *code, *field;
    } cases[] = {
        {"/api/v1/orders/query", "{}", 400, "FIELD_MISSING", "orderId"},
        {"/api/v1/orders/query", "{\"orderId\":5}", 400, "FIELD_INVALID", "orderId"},
        {"/api/v1/orders/query", "{\"orderId\":", 400, "JSON_INVALID", NULL},
        {"/api/v1/refunds", "{\"orderId\":\"nope\",\"refundId\":\"r-x\",\"amount\":1}", 404,
         "NOT_FOUND", "orderId"},
        {"/api/v1/refunds", "{\"orderId\":\"A-1\",\"refundId\":\"r-x\",\"amount\":0}", 400,
         "AMOUNT_INVALID", "amount"},
        {"/api/v1/refunds", "{\"orderId\":\"A-1\",\"refundId\":\"r-x\",\"amount\":\"5\"}", 400,
         "AMOUNT_INVALID", "amount"},
        {"/api/v1/refunds", "{\"orderId\":\"A-1\",\"refundId\":\"r-x\",\"amount\":10000000000001}",
         400, "AMOUNT_INVALID", "amount"},
        {"/api/v1/refunds", "{\"orderId\":\"A-1\",\"amount\":5}", 400, "FIELD_MISSING", "refundId"},
        {"/api/v1/agreements/debit",
         "{\"agreementToken\":\"agt_nope\",\"orderId\":\"A-9\",\"amount\":100,"
         "\"currency\":\"CNY\",\"goodsName\":\"x\"}",
         403, "AGREEMENT_INVALID", "agreementToken"},
        {"/api/v1/agreements/debit",
         "{\"agreementToken\":\"{token}\",\"orderId\":\"bad id!\",\"amount\":100,"
         "\"currency\":\"CNY\",\"goodsName\":\"x\"}",
         400, "FIELD_INVALID", "orderId"},
        {"/api/v1/agreements/debit",
         "{\"agreementToken\":\"{token}\",\"orderId\":\"A-9\",\"amount\":100,"
         "\"currency\":\"USD\",\"goodsName\":\"x\"}",
         400, "CURRENCY_MISMATCH", "currency"},
        {"/api/v1/agreements/debit",
         "{\"agreementToken\":\"{token}\",\"orderId\":\"A-1\",\"amount\":77,"
         "\"currency\":\"CNY\",\"goodsName\":\"x\"}",
         409, "DUPLICATE", "orderId"},
        {"/api/v1/transfers",
         "{\"transferId\":\"p-x\",\"fromAccount\":\"{acct}\",\"toAccount\":\"acct_nope\","
         "\"amount\":1,\"currency\":\"CNY\"}",
         404, "NOT_FOUND", "toAccount"},
        {"/api/v1/transfers",
         "{\"transferId\":\"p-x\",\"fromAccount\":\"{acct}\",\"toAccount\":\"{acct}\","
         "\"amount\":1,\"currency\":\"USD\"}",
         400, "CURRENCY_MISMATCH", "currency"},
        {"/api/v1/cards/verify", "{}", 400, "FIELD_MISSING", "cardNo"},
        {"/api/v1/cards/verify",
         "{\"cardNo\":\"6222020000000016\",\"expiry\":\"12/30\","
         "\"cvv2\":\"123\"}",
         400, "CARD_INVALID", "cardNo"},
        {"/api/v1/cards/confirm", "{\"verificationId\":\"cv_nope\",\"smsCode\":\"123456\"}", 401,
         "SMS_CODE_INVALID", NULL},
    };
    const char *const vars[] = {"token", token, "acct", acct, NULL}; /* in the bodies */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[512];
        h_fill(cases[i].body, vars, body, sizeof body);
        json_t *j = NULL;
        long status = post(cases[i].target, body, &j);
        const char *code = jstr(j, "code"), *field = jstr(j, "field");
        if (status != cases[i].status || !code || strcmp(code, cases[i].code) != 0 ||
            (cases[i].field && (!field || strcmp(field, cases[i].field) != 0)))
            fprintf(stderr, "case %zu: %s %s -> %ld %s %s\n", i, cases[i].target, body, status,
                    code ? code : "-", field ? field : "-");
        assert_int_equal(status, cases[i].status);
        assert_string_equal(code, cases[i].code);
        if (cases[i].field)
            assert_string_equal(field, cases[i].field);
        json_decref(j);
    }
    json_t *j = NULL;
    /* a keyId the bank does not know */
    assert_int_equal(
        call("M1", "NOPE", "POST", "/api/v1/orders/query", "{\"orderId\":\"A-1\"}", &j, NULL), 401);
    assert_string_equal(jstr(j, "code"), "SIGNATURE_INVALID");
    json_decref(j);
    assert_int_equal(call("M1", "M1", "GET", "/api/v1/statements", NULL, NULL, NULL), 400);
    /* no money moved: A-1 still as test_debit_query_refund left it */
    assert_int_equal(post("/api/v1/orders/query", "{\"orderId\":\"A-1\"}", &j), 200);
    assert_string_equal(jstr(j, "status"), "REFUNDED");
    assert_int_equal(json_integer_value(json_object_get(j, "refundedAmount")), 5000);
    json_decref(j);
}

/* paygate_http_errors_total of code on the bank's /metrics (0 when not there yet). */
static long errors_counted(const char *code)
{
    char url[300], key[96];
    snprintf(url, sizeof url, "%s/metrics", bank.url);
    struct h_resp r = {0};
    assert_int_equal(h_get(url, &r), 0);
    assert_int_equal(r.status, 200);
    snprintf(key, sizeof key, ",code=\"%s\"} ", code);
    const char *at = strstr(r.body, key);
    long n = at ? strtol(at + strlen(key), NULL, 10) : 0;
    h_resp_fini(&r);
    return n;
}

/* API refusals go through the one error path: each is counted in /metrics. */
static void test_refusals_counted(void **state)
{
    (void)state;
    long missing = errors_counted("FIELD_MISSING"), json = errors_counted("JSON_INVALID");
    json_t *j = NULL;
    assert_int_equal(post("/api/v1/orders/query", "{}", &j), 400);
    json_decref(j);
    j = NULL;
    assert_int_equal(post("/api/v1/orders/query", "{\"orderId\":", &j), 400);
    json_decref(j);
    assert_int_equal(errors_counted("FIELD_MISSING"), missing + 1);
    assert_int_equal(errors_counted("JSON_INVALID"), json + 1);
}

static void test_bad_signatures_and_revoke(void **state)
{
    (void)state;
    json_t *j = NULL;
    /* M2's key claiming to be M1 */
    assert_int_equal(
        call("M2", "M1", "POST", "/api/v1/orders/query", "{\"orderId\":\"A-1\"}", &j, NULL), 401);
    assert_string_equal(jstr(j, "code"), "SIGNATURE_INVALID");
    json_decref(j);
    /* M2 cannot use M1's agreement */
    char body[512];
    snprintf(body, sizeof body,
             "{\"agreementToken\":\"%s\",\"orderId\":\"X-1\",\"amount\":100,"
             "\"currency\":\"CNY\",\"goodsName\":\"x\"}",
             token);
    assert_int_equal(call("M2", "M2", "POST", "/api/v1/agreements/debit", body, &j, NULL), 403);
    json_decref(j);
    char rv[200];
    snprintf(rv, sizeof rv, "{\"agreementToken\":\"%s\"}", token);
    assert_int_equal(post("/api/v1/agreements/revoke", rv, &j), 200);
    json_decref(j);
    snprintf(body, sizeof body,
             "{\"agreementToken\":\"%s\",\"orderId\":\"A-3\",\"amount\":100,"
             "\"currency\":\"CNY\",\"goodsName\":\"x\"}",
             token);
    assert_int_equal(post("/api/v1/agreements/debit", body, &j), 403);
    assert_string_equal(jstr(j, "code"), "AGREEMENT_INVALID");
    json_decref(j);
}

static void test_ledger_verify(void **state)
{
    (void)state;
    assert_int_equal(h_bank_ledger_verify(&bank), 0);
}

static int group_setup(void **state)
{
    (void)state;
    if (pay_crypto_init() != 0 || h_bank_start(&bank, NULL) != 0)
        return -1;
    bank_pub = h_bank_signing_key(&bank);
    return bank_pub ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    h_bank_stop(&bank);
    pay_rsa_key_free(bank_pub);
    return h_bank_remove(&bank);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bind_card),
        cmocka_unit_test(test_debit_query_refund),
        cmocka_unit_test(test_transfers),
        cmocka_unit_test(test_statement),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_refusals_counted),
        cmocka_unit_test(test_bad_signatures_and_revoke),
        cmocka_unit_test(test_ledger_verify),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
