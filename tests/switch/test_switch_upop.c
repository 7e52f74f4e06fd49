/* The online payment page (银联在线支付, docs/switch.md) over HTTP against the real switch and a
 * real CCB bank (the issuer), with the test acquirer (ICBC's member key) opening sessions and
 * authorizing: the sessions API refuses bad input by field and keeps a reference to one order;
 * the card typed on the switch's page gets an SMS code from CCB (its sandbox outbox) that is kept
 * only as a keyed hash; wrong codes are counted and lock the card; a code expires on CCB's test
 * clock; a verified card pays one authorization of its amount for its acquirer, once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "harness.h"

#include "core/limits.h"
#include "crypto/crypto.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sw_proc sw;
static struct bank_proc ccb;
static struct sw_acq acq;   /* icbc */
static struct sw_acq other; /* ccb as an acquirer */
static char pan1[20], cvv1[4], pan5[20], cvv5[4];
static int refs;
static char codes[3][7]; /* the codes texted, for the scan at the end */
static size_t n_codes;

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    if (pay_crypto_init() != 0 || sw_start(&sw, "") != 0 ||
        sw_bank_start(&ccb, &sw, "ccb", SW_CCB_BIN, "") != 0 || sw_acq_open(&acq, &sw, "icbc") ||
        sw_acq_open(&other, &sw, "ccb"))
        return -1;
    sw_demo_pan(SW_CCB_BIN, 1, pan1);
    sw_demo_pan(SW_CCB_BIN, 5, pan5); /* demo card 5: a credit card, phone 13800000005 */
    return h_demo_cvv2(&ccb, pan1, cvv1) | h_demo_cvv2(&ccb, pan5, cvv5);
}

static int teardown(void **state)
{
    (void)state;
    sw_acq_close(&acq);
    sw_acq_close(&other);
    h_bank_stop(&ccb);
    sw_stop(&sw, SIGTERM);
    const char *db = sw.db;
    int rc = h_bank_ledger_verify(&ccb) | th_ledger_verify(th_binary_env(), db);
    if (rc == 0) {
        h_bank_remove(&ccb);
        th_tmpdir_done(sw.dir);
    }
    return rc;
}

/* POST /net/v1/online/sessions as a; the answer (caller decrefs), *status. */
static json_t *open_session(struct sw_acq *a, const char *ref, int64_t amount, const char *cur,
                            const char *return_url, long *status)
{
    json_t *m = json_pack("{s:s, s:I, s:s, s:s, s:s}", "de42", "M1", "de4", (json_int_t)amount,
                          "de43", "Test Shop 1", "de49", cur, "returnUrl", return_url);
    if (ref)
        json_object_set_new(m, "ref", json_string(ref));
    json_t *r = sw_send(a, "/net/v1/online/sessions", m, status, NULL);
    assert_non_null(r);
    return r;
}

/* A new session of amount for ICBC's order; its id (caller frees). */
static char *new_session(int64_t amount)
{
    char ref[32];
    long status = 0;
    snprintf(ref, sizeof ref, "bo_test_%d", ++refs);
    json_t *r =
        open_session(&acq, ref, amount, "CNY", "http://127.0.0.1:9/b2c/upop/return", &status);
    assert_int_equal(status, 200);
    char *id = strdup(json_string_value(json_object_get(r, "sessionId")));
    json_decref(r);
    return id;
}

/* A signed GET of path as a (the test acquirer's sw_send only POSTs). */
static json_t *get_as(const struct sw_acq *a, const char *path, long *status)
{
    struct pay_net_peer p = {.base_url = a->url,
                             .key_id = a->code,
                             .key = a->key,
                             .peer_key_id = a->switch_code,
                             .peer_cert_pem = a->switch_cert,
                             .allow_private = true};
    json_t *answer = NULL;
    struct pay_error e = {0};
    *status = 0;
    assert_int_equal(pay_net_call(&p, path, NULL, status, &answer, &e), PAY_ERR_OK);
    return answer;
}

static const char *err_field(const json_t *r)
{
    const char *f = json_string_value(json_object_get(json_object_get(r, "error"), "field"));
    return f ? f : "";
}

static void sessions_api_refuses_and_keeps_one_order(void **state)
{
    (void)state;
    long status = 0;
    json_t *r = open_session(&acq, NULL, 100, "CNY", "http://127.0.0.1:9/r", &status);
    assert_int_equal(status, 400);
    assert_string_equal(err_field(r), "ref");
    json_decref(r);
    r = open_session(&acq, "o1", 100, "USD", "http://127.0.0.1:9/r", &status);
    assert_string_equal(err_field(r), "de49");
    json_decref(r);
    r = open_session(&acq, "o1", 100, "CNY", "javascript:alert(1)", &status);
    assert_int_equal(status, 400);
    assert_string_equal(err_field(r), "returnUrl");
    json_decref(r);
    r = open_session(&acq, "o 1", 100, "CNY", "http://127.0.0.1:9/r", &status);
    assert_string_equal(err_field(r), "ref");
    json_decref(r);
    r = open_session(&acq, "o1", 100, "CNY", "http://127.0.0.1:9/r", &status);
    assert_int_equal(status, 200);
    assert_string_equal(json_string_value(json_object_get(r, "state")), "NEW");
    char id[80], path[160];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r, "sessionId")));
    json_decref(r);
    r = open_session(&acq, "o1", 100, "CNY", "http://127.0.0.1:9/r", &status); /* a repeat */
    assert_int_equal(status, 200);
    assert_string_equal(json_string_value(json_object_get(r, "sessionId")), id);
    json_decref(r);
    r = open_session(&acq, "o1", 200, "CNY", "http://127.0.0.1:9/r", &status); /* another order */
    assert_int_equal(status, 409);
    assert_string_equal(err_field(r), "ref");
    json_decref(r);
    snprintf(path, sizeof path, "/net/v1/online/sessions/%s", id);
    r = get_as(&other, path, &status); /* another acquirer's session: none */
    assert_int_equal(status, 404);
    json_decref(r);
    r = get_as(&acq, path, &status);
    assert_int_equal(status, 200);
    assert_null(json_object_get(r, "de61")); /* nothing verified yet */
    json_decref(r);
}

/* The switch's page of session id: GET it, then post the card; the answer page in r. */
static void post_card(const char *id, const char *pan, const char *cvn2, const char *phone,
                      struct h_resp *r)
{
    char url[256], body[512], csrf[128];
    snprintf(url, sizeof url, "%s/upop/%s", sw.url, id);
    assert_int_equal(h_get(url, r), 0);
    assert_int_equal(r->status, 200);
    assert_non_null(strstr(r->body, "data-page=\"upop_card\""));
    assert_int_equal(h_csrf(r->body, csrf, sizeof csrf), 0);
    h_resp_fini(r);
    snprintf(url, sizeof url, "%s/upop/%s/card", sw.url, id);
    snprintf(body, sizeof body, "csrf=%s&cardNo=%s&expiry=12%%2F30&cvn2=%s&name=Zhang&phone=%s",
             csrf, pan, cvn2, phone);
    assert_int_equal(h_post(url, body, NULL, 0, NULL, r), 0);
}

static void post_code(const char *id, const char *code, struct h_resp *r)
{
    char url[256], body[256], csrf[128];
    assert_int_equal(h_csrf(r->body, csrf, sizeof csrf), 0);
    h_resp_fini(r);
    snprintf(url, sizeof url, "%s/upop/%s/sms", sw.url, id);
    snprintf(body, sizeof body, "csrf=%s&smsCode=%s", csrf, code);
    assert_int_equal(h_post(url, body, NULL, 0, NULL, r), 0);
}

/* A new session of amount, the card posted on its page (the code page in r) and the code the
 * card's bank texted to phone (kept for the scan at the end). The session's id: caller frees. */
static char *code_sent(int64_t amount, const char *pan, const char *cvn2, const char *phone,
                       struct h_resp *r, char code[7])
{
    char *id = new_session(amount);
    post_card(id, pan, cvn2, phone, r);
    assert_int_equal(r->status, 200);
    assert_non_null(strstr(r->body, "data-page=\"upop_sms\""));
    assert_int_equal(h_sms_code(&ccb, phone, code), 0);
    if (n_codes < 3)
        memcpy(codes[n_codes++], code, 7);
    return id;
}

static void codes_are_hashed_and_wrong_ones_lock_the_card(void **state)
{
    (void)state;
    struct h_resp r = {0};
    char code[7], bad[7], hash[80] = "";
    const char *db = ccb.db;
    char *id = code_sent(500, pan5, cvv5, "13800000005", &r, code);
    snprintf(bad, sizeof bad, "%s", strcmp(code, "000000") == 0 ? "111111" : "000000");
    assert_int_equal(sw_db_text(db,
                                "SELECT code_hash FROM bank_net_verifications WHERE state ="
                                " $1",
                                "SENT", hash, sizeof hash),
                     0);
    assert_int_equal(strlen(hash), 64); /* the keyed hash, never the code */
    assert_null(strstr(hash, code));
    for (int i = 0; i < PAY_LOCKOUT_ATTEMPTS - 1; i++) {
        post_code(id, bad, &r);
        assert_int_equal(r.status, 402);
        assert_non_null(strstr(r.body, "data-rc=\"55\""));
        assert_non_null(strstr(r.body, "data-page=\"upop_sms\""));
    }
    post_code(id, bad, &r); /* the last try locks the card: back to the card */
    assert_int_equal(r.status, 402);
    assert_non_null(strstr(r.body, "data-rc=\"75\""));
    assert_non_null(strstr(r.body, "data-page=\"upop_card\""));
    h_resp_fini(&r);
    post_card(id, pan5, cvv5, "13800000005", &r); /* locked: no new code */
    assert_int_equal(r.status, 402);
    assert_non_null(strstr(r.body, "data-rc=\"75\""));
    h_resp_fini(&r);
    assert_int_equal(th_clock_advance(ccb.url, (PAY_LOCKOUT_DURATION_S + 60) * 1000LL), 0);
    free(id);
}

static void a_code_expires_on_the_issuers_clock(void **state)
{
    (void)state;
    struct h_resp r = {0};
    char code[7];
    char *id = code_sent(700, pan1, cvv1, "13800000001", &r, code);
    assert_int_equal(th_clock_advance(ccb.url, PAY_OTP_TTL_S * 1000LL + 1000), 0);
    post_code(id, code, &r); /* right, but too late */
    assert_int_equal(r.status, 402);
    assert_non_null(strstr(r.body, "data-page=\"upop_card\""));
    h_resp_fini(&r);
    free(id);
}

/* The test acquirer's authorization of a verified card (new trace); its de39. */
static void auth_sms(const char *token, const char *vid, int64_t amount, char rc[3])
{
    char trace[PAY_NET_TRACE_LEN + 1];
    sw_trace(&acq, trace);
    json_t *m = json_pack("{s:s, s:{s:s}, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "mti",
                          "0100", "de2", "token", token, "de3", "000000", "de4", (json_int_t)amount,
                          "de11", trace, "de32", "icbc", "de42", "M1", "de43", "Test Shop 1",
                          "de49", "CNY", "de61", "method", "SMS", "verificationId", vid);
    long status = 0;
    json_t *a = sw_send(&acq, "/net/v1/authorizations", m, &status, NULL);
    assert_int_equal(status, 200);
    snprintf(rc, 3, "%s", sw_rc(a));
    json_decref(a);
}

static void a_verified_card_pays_once(void **state)
{
    (void)state;
    struct h_resp r = {0};
    char code[7], path[160], rc[3], token[40], vid[80];
    char *id = code_sent(900, pan1, cvv1, "13800000001", &r, code);
    post_code(id, code, &r);
    assert_int_equal(r.status, 303); /* back to the acquirer */
    h_resp_fini(&r);
    snprintf(path, sizeof path, "/net/v1/online/sessions/%s", id);
    long status = 0;
    json_t *s = get_as(&acq, path, &status);
    assert_int_equal(status, 200);
    assert_string_equal(json_string_value(json_object_get(s, "state")), "VERIFIED");
    json_t *de2 = json_object_get(s, "de2");
    assert_string_equal(json_string_value(json_object_get(de2, "last4")), pan1 + 12);
    snprintf(token, sizeof token, "%s", json_string_value(json_object_get(de2, "token")));
    snprintf(vid, sizeof vid, "%s",
             json_string_value(json_object_get(json_object_get(s, "de61"), "verificationId")));
    json_decref(s);
    char acct[65];
    int64_t before[4], after[4];
    assert_int_equal(sw_card_account(&ccb, 1, acct), 0);
    assert_int_equal(sw_bank_account(&ccb, acct, before), 0);
    auth_sms(token, vid, 901, rc); /* not the amount it was verified for */
    assert_string_equal(rc, "12");
    auth_sms(token, vid, 900, rc);
    assert_string_equal(rc, "00");
    assert_int_equal(sw_bank_account(&ccb, acct, after), 0);
    assert_int_equal(after[0] - before[0], 900); /* held on the card */
    auth_sms(token, vid, 900, rc);               /* the verification is used */
    assert_string_equal(rc, "55");
    assert_int_equal(sw_bank_account(&ccb, acct, before), 0);
    assert_int_equal(before[0], after[0]);
    free(id);
}

/* Last: no card number or code in the switch's data or logs, nor in the issuer's logs. */
static void no_card_data_or_codes_kept(void **state)
{
    (void)state;
    char needles[8][64];
    size_t n = 0;
    snprintf(needles[n++], 64, "%s", pan1);
    snprintf(needles[n++], 64, "%s", pan5);
    for (size_t i = 0; i < n_codes; i++) {
        snprintf(needles[n++], 64, "code=%s", codes[i]);
        snprintf(needles[n++], 64, "\"%s\"", codes[i]);
    }
    const char *files[] = {"data/switch.db", "data/switch.db-wal", "switch.log", "stdout.txt"};
    assert_int_equal(sw_scan(sw.dir, files, 4, (const char(*)[64])needles, n), 0);
    const char *bank_files[] = {"bank.log", "stdout.txt"};
    assert_int_equal(sw_scan(ccb.dir, bank_files, 2, (const char(*)[64])needles, n), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sessions_api_refuses_and_keeps_one_order),
        cmocka_unit_test(codes_are_hashed_and_wrong_ones_lock_the_card),
        cmocka_unit_test(a_code_expires_on_the_issuers_clock),
        cmocka_unit_test(a_verified_card_pays_once),
        cmocka_unit_test(no_card_data_or_codes_kept),
    };
    return th_finish(cmocka_run_group_tests(tests, setup, teardown));
}
