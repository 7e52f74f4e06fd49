/* Integration tests of the bank's B2C gateway over real HTTP against the real `paygate bank`
 * process: the ICBC flow (HS and AG), every refusal of docs/bank.md, passwords, SMS codes,
 * lockout, funds, slow and failing merchants, double submits; then a scan of the database,
 * WAL and logs for card numbers and CVV2s, and `paygate ledger verify`. */
#include "harness.h"
#include "lib/clock.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CARD_OK      "6222020000000015"
#define CARD_NOFUNDS "6222020000000023"
#define CARD_EXPIRED "6222020000000031"
#define CARD_LOCKED  "6222020000000049"
#define CARD_CREDIT  "6222020000000056"
#define REFERER      "http://shop.test/checkout"

static struct bank_proc bank;
static char lock_pan[20]; /* a card of its own for the lockout test */

struct flow {
    char cookie[256];
    char csrf[128];
    struct h_resp r;
};

static long start(struct flow *f, const char *keydir, const char *doc, bool tamper,
                  const char *referer)
{
    memset(f, 0, sizeof *f);
    char *form = h_order_form(&bank, keydir, doc, tamper);
    assert_non_null(form);
    char url[256];
    snprintf(url, sizeof url, "%s/b2c/pay", bank.url);
    assert_int_equal(h_post(url, form, f->cookie, sizeof f->cookie, referer, &f->r), 0);
    free(form);
    h_csrf(f->r.body, f->csrf, sizeof f->csrf);
    return f->r.status;
}

static long step(struct flow *f, const char *path, const char *field, const char *value)
{
    char url[256], form[512];
    snprintf(url, sizeof url, "%s%s", bank.url, path);
    snprintf(form, sizeof form, "csrf=%s%s%s%s%s", f->csrf, field ? "&" : "", field ? field : "",
             field ? "=" : "", field ? value : "");
    h_resp_fini(&f->r);
    assert_int_equal(h_post(url, form, f->cookie, sizeof f->cookie, NULL, &f->r), 0);
    return f->r.status;
}

static void order(struct flow *f, const char *id, int64_t amount, const char *type)
{
    char *doc = h_order_doc(&bank, "M1", id, amount, type, NULL);
    assert_int_equal(start(f, "M1", doc, false, REFERER), 200);
    free(doc);
    assert_non_null(strstr(f->r.body, "data-page=\"card\""));
}

/* Card, password, SMS code: ends on the confirmation page. */
static void to_confirm(struct flow *f, const char *pan, const char *phone)
{
    assert_int_equal(step(f, "/b2c/card", "cardNo", pan), 200);
    assert_int_equal(step(f, "/b2c/password", "password", "123456"), 200);
    char code[7];
    assert_int_equal(h_sms_code(&bank, phone, code), 0);
    assert_int_equal(step(f, "/b2c/sms", "smsCode", code), 200);
    assert_non_null(strstr(f->r.body, "data-page=\"confirm\""));
}

static int64_t movements_of(const char *order_id)
{
    struct pay_buf out;
    pay_buf_init(&out, 1 << 20);
    char path[300];
    snprintf(path, sizeof path, "%s/M1/merchant.json", bank.dir);
    FILE *fj = fopen(path, "r");
    char js[512] = "";
    if (fj) {
        size_t n = fread(js, 1, sizeof js - 1, fj);
        js[n] = '\0';
        fclose(fj);
    }
    char *acct = strstr(js, "acct_");
    if (acct)
        acct[strcspn(acct, "\"")] = '\0';
    assert_int_equal(h_paygate(&out, "bank movements --data-dir %s/data%s --account %s 2>/dev/null",
                               bank.dir, bank.db_flag, acct ? acct : "none"),
                     0);
    int64_t n = 0;
    for (const char *p = pay_buf_str(&out); (p = strstr(p, order_id)) != NULL; p++)
        n++;
    pay_buf_fini(&out);
    return n;
}

/* Moves the bank's test clock by ms and returns how many notifications the merchant has
 * received once the bank's notifier has looked at the new time (every retry due is sent). */
static int notified_after(int64_t ms)
{
    assert_int_equal(th_clock_advance(bank.url, ms), 0);
    return h_merchant_notified();
}

/* Past every retry of the schedule (1s,1s,1s,1s): whatever is still to come would have come. */
#define PAST_EVERY_RETRY_MS (3600 * 1000)

static void test_happy_path_hs(void **state)
{
    (void)state;
    h_merchant_mode(H_OK);
    int n0 = h_merchant_notified();
    struct flow f;
    order(&f, "HS-1", 12300, "HS");
    to_confirm(&f, CARD_OK, "13800000001");
    assert_int_equal(step(&f, "/b2c/confirm", NULL, NULL), 200);
    assert_non_null(strstr(f.r.body, "id=\"status\" data-status=\"paid\""));
    assert_non_null(
        strstr(f.r.body, "data-status=\"DELIVERED\"")); /* the result came after the notification */
    assert_int_equal(h_merchant_notified(), n0 + 1);
    /* a double submit shows the result again: no second debit, no second notification */
    assert_int_equal(step(&f, "/b2c/confirm", NULL, NULL), 200);
    assert_non_null(strstr(f.r.body, "id=\"status\" data-status=\"paid\""));
    assert_int_equal(notified_after(PAST_EVERY_RETRY_MS), n0 + 1);
    assert_int_equal(h_merchant_bad_signatures(), 0);
    assert_int_equal(movements_of("HS-1"), 1);
    h_resp_fini(&f.r);
}

static void test_ag_mode(void **state)
{
    (void)state;
    int n0 = h_merchant_notified();
    struct flow f;
    order(&f, "AG-1", 500, "AG");
    to_confirm(&f, CARD_CREDIT, "13800000005");
    assert_int_equal(step(&f, "/b2c/confirm", NULL, NULL), 200);
    assert_non_null(strstr(f.r.body, "id=\"status\" data-status=\"paid\""));
    assert_int_equal(notified_after(PAST_EVERY_RETRY_MS), n0); /* AG: none, ever */
    assert_int_equal(movements_of("AG-1"), 1);
    h_resp_fini(&f.r);
}

static void refused(const char *keydir, const char *doc, bool tamper, const char *referer,
                    long status, const char *code)
{
    struct flow f;
    assert_int_equal(start(&f, keydir, doc, tamper, referer), status);
    assert_non_null(strstr(f.r.body, code));
    h_resp_fini(&f.r);
}

static void test_refusals(void **state)
{
    (void)state;
    char *doc = h_order_doc(&bank, "M1", "R-1", 1000, "HS", NULL);
    refused("M1", doc, true, REFERER, 401, "SIGNATURE_INVALID");
    refused("F1", doc, false, REFERER, 401, "CERT_INVALID"); /* another bank's CA */
    refused("M1", doc, false, "http://evil.test/", 403, "FORBIDDEN");
    refused("M1", doc, false, NULL, 403, "FORBIDDEN");
    free(doc);
    doc = h_order_doc(&bank, "M1", "R-2", 1000, "HS", "http://evil.example/notify");
    refused("M1", doc, false, REFERER, 400, "URL_FORBIDDEN");
    free(doc);
    doc = h_order_doc(&bank, "M1", "R-3", 1000, "HS", NULL);
    struct flow f;
    assert_int_equal(start(&f, "M1", doc, false, REFERER), 200);
    h_resp_fini(&f.r);
    refused("M1", doc, false, REFERER, 409, "DUPLICATE"); /* reused order id */
    free(doc);
    doc = h_order_doc(&bank, "M2", "R-4", 1000, "HS", NULL);
    assert_int_equal(start(&f, "M2", doc, false, REFERER), 200);
    h_resp_fini(&f.r);
    assert_int_equal(h_paygate(NULL,
                               "bank merchant revoke --data-dir %s/data%s --mer-id M2"
                               " >/dev/null 2>&1",
                               bank.dir, bank.db_flag),
                     0);
    free(doc);
    doc = h_order_doc(&bank, "M2", "R-5", 1000, "HS", NULL);
    refused("M2", doc, false, REFERER, 401, "CERT_REVOKED");
    free(doc);
}

/* A valid order document of M1 with key set to the JSON text value (NULL: key removed),
 * signed by M1 after the change, posted: the error page's status, code and field. */
static void doc_refused(const char *key, const char *value, long status, const char *code,
                        const char *field)
{
    static int n;
    char id[32];
    snprintf(id, sizeof id, "D-%d", ++n);
    char *base = h_order_doc(&bank, "M1", id, 1000, "HS", NULL);
    json_t *d = json_loads(base, 0, NULL);
    free(base);
    assert_non_null(d);
    if (value)
        assert_int_equal(json_object_set_new(d, key, json_loads(value, JSON_DECODE_ANY, NULL)), 0);
    else
        json_object_del(d, key);
    char *doc = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    struct flow f;
    long got = start(&f, "M1", doc, false, REFERER);
    char want[80];
    snprintf(want, sizeof want, "<code id=\"field\">%s</code>", field);
    if (got != status || !strstr(f.r.body, code) || !strstr(f.r.body, want))
        fprintf(stderr, "%s=%s -> %ld %.600s\n", key, value ? value : "(none)", got, f.r.body);
    assert_int_equal(got, status);
    assert_non_null(strstr(f.r.body, code));
    assert_non_null(strstr(f.r.body, want));
    h_resp_fini(&f.r);
    free(doc);
}

/* Every field of the order document is checked, and the refusal names it (docs/bank.md). */
static void test_order_document_checked(void **state)
{
    (void)state;
    doc_refused("interfaceName", "\"PAYGATE_B2C_REFUND\"", 400, "FIELD_INVALID", "interfaceName");
    doc_refused("interfaceVersion", NULL, 400, "FIELD_MISSING", "interfaceVersion");
    doc_refused("orderId", "\"bad id!\"", 400, "FIELD_INVALID", "orderId");
    doc_refused("orderDate", "\"2026-11-25\"", 400, "FIELD_INVALID", "orderDate");
    doc_refused("amount", NULL, 400, "FIELD_MISSING", "amount");
    doc_refused("amount", "\"10.00\"", 400, "AMOUNT_INVALID", "amount");
    doc_refused("amount", "0", 400, "AMOUNT_NOT_POSITIVE", "amount");
    doc_refused("amount", "10000000000001", 400, "AMOUNT_TOO_LARGE", "amount");
    doc_refused("currency", "\"XYZ\"", 400, "CURRENCY_UNKNOWN", "currency");
    doc_refused("currency", "\"USD\"", 400, "CURRENCY_MISMATCH", "currency");
    doc_refused("notifyType", "\"XY\"", 400, "FIELD_INVALID", "notifyType");
    doc_refused("notifyType", "\"SMS\"", 400, "FIELD_TOO_LONG", "notifyType");
    doc_refused("resultType", "\"2\"", 400, "FIELD_INVALID", "resultType");
    doc_refused("goodsName", "\"\"", 400, "FIELD_MISSING", "goodsName");
    doc_refused("goodsName", "5", 400, "FIELD_INVALID", "goodsName");
    char long_name[600];
    memset(long_name, 'g', sizeof long_name - 1);
    long_name[0] = long_name[sizeof long_name - 2] = '"';
    long_name[sizeof long_name - 1] = '\0';
    doc_refused("goodsName", long_name, 400, "FIELD_TOO_LONG", "goodsName");
    doc_refused("merAcct", "\"acct_not_m1\"", 400, "FIELD_INVALID", "merAcct");
    doc_refused("merURL", "\"not a url\"", 400, "FIELD_INVALID", "merURL");
    doc_refused("returnURL", "\"ftp://shop.test/\"", 400, "FIELD_INVALID", "returnURL");
    doc_refused("merID", NULL, 400, "FIELD_MISSING", "merID");
    doc_refused("couponCode", "\"FREE\"", 400, "FIELD_INVALID", "tranData");

    /* a form whose parts are not base64, or not JSON */
    const struct {
        const char *form;
        long status;
        const char *code, *field;
    } forms[] = {
        {"interfaceName=PAYGATE_B2C_PAY&interfaceVersion=1.0&tranData=%25%25&merSignMsg=x"
         "&merCert=eA%3D%3D",
         400, "FIELD_INVALID", "tranData"},
        {"interfaceName=PAYGATE_B2C_PAY&interfaceVersion=1.0&tranData=eA%3D%3D&merSignMsg=x"
         "&merCert=%25%25",
         401, "CERT_INVALID", "merCert"},
        {"interfaceName=PAYGATE_B2C_PAY&interfaceVersion=1.0&tranData=eyJh&merSignMsg=x"
         "&merCert=eA%3D%3D",
         400, "JSON_INVALID", "tranData"},
    };
    char url[256], cookie[256] = "";
    snprintf(url, sizeof url, "%s/b2c/pay", bank.url);
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        struct h_resp r = {0};
        assert_int_equal(h_post(url, forms[i].form, cookie, sizeof cookie, REFERER, &r), 0);
        char want[80];
        snprintf(want, sizeof want, "<code id=\"field\">%s</code>", forms[i].field);
        if (r.status != forms[i].status || !strstr(r.body, forms[i].code) || !strstr(r.body, want))
            fprintf(stderr, "form %zu -> %ld %.600s\n", i, r.status, r.body);
        assert_int_equal(r.status, forms[i].status);
        assert_non_null(strstr(r.body, forms[i].code));
        assert_non_null(strstr(r.body, want));
        h_resp_fini(&r);
    }
}

static void test_password_lockout(void **state)
{
    (void)state;
    struct flow f;
    order(&f, "L-1", 100, "AG");
    assert_int_equal(step(&f, "/b2c/card", "cardNo", lock_pan), 200);
    for (int i = 1; i < 5; i++)
        assert_int_equal(step(&f, "/b2c/password", "password", "000000"), 401);
    assert_int_equal(step(&f, "/b2c/password", "password", "000000"), 423);
    assert_int_equal(step(&f, "/b2c/password", "password", "123456"), 423);
    h_resp_fini(&f.r);
    order(&f, "L-2", 100, "AG");
    assert_int_equal(step(&f, "/b2c/card", "cardNo", lock_pan), 423);
    assert_int_equal(step(&f, "/b2c/card", "cardNo", CARD_LOCKED), 423);
    h_resp_fini(&f.r);
}

static void test_sms_code_wrong_then_right(void **state)
{
    (void)state;
    struct flow f;
    order(&f, "S-1", 700, "AG");
    assert_int_equal(step(&f, "/b2c/card", "cardNo", CARD_CREDIT), 200);
    assert_int_equal(step(&f, "/b2c/password", "password", "123456"), 200);
    char code[7];
    assert_int_equal(h_sms_code(&bank, "13800000005", code), 0);
    char wrong[7];
    memcpy(wrong, code, sizeof wrong);
    wrong[5] = (char)(wrong[5] == '9' ? '0' : wrong[5] + 1); /* a different code */
    assert_int_equal(step(&f, "/b2c/sms", "smsCode", wrong), 401);
    assert_int_equal(step(&f, "/b2c/sms", "smsCode", code), 200);
    /* single use: the same code cannot pass the step twice */
    assert_int_equal(step(&f, "/b2c/confirm", NULL, NULL), 200);
    h_resp_fini(&f.r);
}

static void test_sms_code_expired(void **state)
{
    (void)state;
    struct flow f;
    order(&f, "X-1", 100, "AG");
    assert_int_equal(step(&f, "/b2c/card", "cardNo", CARD_CREDIT), 200);
    assert_int_equal(step(&f, "/b2c/password", "password", "123456"), 200);
    char code[7];
    assert_int_equal(h_sms_code(&bank, "13800000005", code), 0);
    assert_int_equal(th_clock_advance(bank.url, 3001), 0); /* codes live 3 s (--sms-ttl) */
    assert_int_equal(step(&f, "/b2c/sms", "smsCode", code), 401);
    /* in Chinese, the page's default language (web/po/zh_CN.po) */
    assert_non_null(strstr(f.r.body, "短信验证码已过期或已使用"));
    /* a new code (sent again by the password step) works */
    assert_int_equal(step(&f, "/b2c/password", "password", "123456"), 200);
    assert_int_equal(h_sms_code(&bank, "13800000005", code), 0);
    assert_int_equal(step(&f, "/b2c/sms", "smsCode", code), 200);
    h_resp_fini(&f.r);
}

static void test_refused_cards(void **state)
{
    (void)state;
    struct flow f;
    order(&f, "F-1", 100, "AG");
    to_confirm(&f, CARD_NOFUNDS, "13800000002");
    assert_int_equal(step(&f, "/b2c/confirm", NULL, NULL), 402);
    assert_int_equal(movements_of("F-1"), 0);
    h_resp_fini(&f.r);
    order(&f, "E-1", 100, "AG");
    assert_int_equal(step(&f, "/b2c/card", "cardNo", CARD_EXPIRED), 400);
    assert_int_equal(step(&f, "/b2c/card", "cardNo", "6222020000000010"), 400); /* bad Luhn */
    h_resp_fini(&f.r);
    /* no session cookie, or a wrong CSRF token: refused */
    order(&f, "C-1", 100, "AG");
    snprintf(f.csrf, sizeof f.csrf, "forged");
    assert_int_equal(step(&f, "/b2c/card", "cardNo", CARD_OK), 403);
    h_resp_fini(&f.r);
}

static void test_slow_merchant(void **state)
{
    (void)state;
    h_merchant_mode(H_SLOW);
    int n0 = h_merchant_notified();
    struct flow f;
    order(&f, "SLOW-1", 200, "HS");
    to_confirm(&f, CARD_OK, "13800000001");
    assert_int_equal(step(&f, "/b2c/confirm", NULL, NULL), 200);
    /* bounded: the notify timeout is 1 s; the merchant takes 2.5 s */
    assert_true(f.r.elapsed_ms < 2400);
    assert_non_null(strstr(f.r.body, "id=\"status\" data-status=\"paid\""));
    assert_non_null(strstr(f.r.body, "data-status=\"PENDING\""));
    h_merchant_mode(H_OK);
    assert_int_equal(notified_after(999), n0 + 1);
    assert_int_equal(notified_after(1), n0 + 2); /* retried by the worker, 1 s later */
    assert_int_equal(movements_of("SLOW-1"), 1);
    h_resp_fini(&f.r);
}

static void test_error_merchant(void **state)
{
    (void)state;
    h_merchant_mode(H_ERROR);
    int n0 = h_merchant_notified();
    struct flow f;
    order(&f, "ERR-1", 300, "HS");
    to_confirm(&f, CARD_OK, "13800000001");
    assert_int_equal(step(&f, "/b2c/confirm", NULL, NULL), 200);
    assert_non_null(strstr(f.r.body, "data-status=\"PENDING\""));
    assert_int_equal(h_merchant_notified(), n0 + 1);
    assert_int_equal(notified_after(1000), n0 + 2); /* failed answers are retried too */
    h_merchant_mode(H_OK);
    assert_int_equal(notified_after(1000), n0 + 3);
    assert_int_equal(notified_after(PAST_EVERY_RETRY_MS), n0 + 3); /* delivered: no more */
    assert_int_equal(movements_of("ERR-1"), 1);
    h_resp_fini(&f.r);
}

/* Every test card number (plain and in groups of four) and every CVV2 in its printed forms
 * must be absent from the database, its WAL, the logs and the server's output. */
static void test_no_card_data_at_rest(void **state)
{
    (void)state;
    const char *pans[] = {CARD_OK, CARD_NOFUNDS, CARD_EXPIRED, CARD_LOCKED, CARD_CREDIT, lock_pan};
    const char *files[] = {"data/bank.db", "data/bank.db-wal", "data/bank.db-shm",
                           "bank.log",     "stdout.txt",       "cli.log"};
    char needles[64][64];
    size_t nn = 0;
    for (size_t i = 0; i < 6; i++) {
        snprintf(needles[nn++], 64, "%s", pans[i]);
        snprintf(needles[nn++], 64, "%.4s %.4s %.4s %.4s", pans[i], pans[i] + 4, pans[i] + 8,
                 pans[i] + 12);
    }
    /* the CVV2s of the demo cards, which only `bank demo-cards` shows (on its terminal) */
    struct pay_buf out;
    pay_buf_init(&out, 65536);
    assert_int_equal(
        h_paygate(&out, "bank demo-cards --data-dir %s/data%s", bank.dir, bank.db_flag), 0);
    assert_non_null(strstr(pay_buf_str(&out), CARD_OK)); /* the needles are real ones */
    for (const char *c = pay_buf_str(&out); (c = strstr(c, "cvv2 ")) != NULL && nn < 60; c++) {
        snprintf(needles[nn++], 64, "cvv2=%.3s", c + 5);
        snprintf(needles[nn++], 64, "\"cvv2\":\"%.3s\"", c + 5);
        snprintf(needles[nn++], 64, "cvv2 %.3s", c + 5);
    }
    pay_buf_fini(&out);
    assert_true(nn > 12);
    assert_int_equal(
        h_bank_scan(&bank, files, sizeof files / sizeof files[0], (const char(*)[64])needles, nn),
        0);
}

static void test_ledger_verify(void **state)
{
    (void)state;
    assert_int_equal(h_bank_ledger_verify(&bank), 0);
}

static int group_setup(void **state)
{
    (void)state;
    if (pay_crypto_init() != 0 || h_bank_start(&bank, "--sms-ttl 3s --fake-clock") != 0)
        return -1;
    /* the foreign certificate: merchant M1 of another bank (another CA) */
    if (h_paygate(NULL,
                  "bank merchant add --data-dir %s/other --code other --mer-id M1 --name X"
                  " --referrer-domain shop.test --notify-domain 127.0.0.1 --out %s/F1/"
                  " >/dev/null 2>&1",
                  bank.dir, bank.dir) != 0)
        return -1;
    /* a card of its own for the lockout test, issued by the CLI */
    int rc = h_issue_card(&bank, "Lock", "13900000001", lock_pan);
    return rc == 0 ? h_merchant_start(&bank) : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    h_bank_stop(&bank);
    h_merchant_stop();
    return h_bank_remove(&bank);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_happy_path_hs),
        cmocka_unit_test(test_ag_mode),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_order_document_checked),
        cmocka_unit_test(test_password_lockout),
        cmocka_unit_test(test_sms_code_wrong_then_right),
        cmocka_unit_test(test_sms_code_expired),
        cmocka_unit_test(test_refused_cards),
        cmocka_unit_test(test_slow_merchant),
        cmocka_unit_test(test_error_merchant),
        cmocka_unit_test(test_no_card_data_at_rest),
        cmocka_unit_test(test_ledger_verify),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
