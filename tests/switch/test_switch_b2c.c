/* A CCB card pays an ICBC merchant (docs/switch.md): the real switch and two real banks, the
 * shopper on ICBC's gateway pages over HTTP. The authorization goes ICBC -> switch -> CCB with
 * signed messages, CCB debits its cardholder, ICBC credits its merchant from its interbank
 * receivable and notifies it, the switch's ledger books the clearing positions; at the end of
 * the business day (the switch's test clock moved) the settlement moves the net amounts between
 * the banks' settlement accounts. Declines, the switch down (a clear decline, the reversal
 * afterwards, nobody debited), `ledger verify` on all three. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "harness.h"

#include "core/clock.h"
#include "crypto/crypto.h"
#include "crypto/sig.h"
#include "http/client.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sw_proc sw;
static struct bank_proc ccb, icbc;
static char pan[20], cvv[4], pan_poor[20], cvv_poor[4];
static char settled_day[PAY_NET_DATE_LEN]; /* the business day settlement_after_the_cut_off ends */

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    if (pay_crypto_init() != 0 || sw_start(&sw, "") != 0 ||
        sw_bank_start(&ccb, &sw, "ccb", SW_CCB_BIN, "") != 0 ||
        sw_bank_start(&icbc, &sw, "icbc", SW_ICBC_BIN, "") != 0 || h_merchant_start(&icbc) != 0)
        return -1;
    sw_demo_pan(SW_CCB_BIN, 1, pan);
    sw_demo_pan(SW_CCB_BIN, 2, pan_poor); /* demo card 2: no funds */
    return h_demo_cvv2(&ccb, pan, cvv) | h_demo_cvv2(&ccb, pan_poor, cvv_poor);
}

static int teardown(void **state)
{
    (void)state;
    h_merchant_stop();
    h_bank_stop(&icbc);
    h_bank_stop(&ccb);
    sw_stop(&sw, SIGTERM);
    const char *db = sw.db;
    int rc = h_bank_ledger_verify(&ccb) | h_bank_ledger_verify(&icbc) |
             th_ledger_verify(th_binary_env(), db);
    if (rc == 0) {
        h_bank_remove(&ccb);
        h_bank_remove(&icbc);
        th_tmpdir_done(sw.dir);
    }
    return rc;
}

/* The order form posted to ICBC's gateway, then the CCB card number: the network card page. */
static void open_net_page(const char *order_id, int64_t amount, const char *card, char *cookie,
                          size_t cookie_n, struct h_resp *r)
{
    char *doc = h_order_doc(&icbc, "M1", order_id, amount, "HS", NULL);
    char *form = doc ? h_order_form(&icbc, "M1", doc, false) : NULL;
    char url[256], body[512], csrf[128];
    snprintf(url, sizeof url, "%s/b2c/pay", icbc.url);
    assert_int_equal(h_post(url, form, cookie, cookie_n, "http://shop.test/checkout", r), 0);
    assert_int_equal(r->status, 200);
    free(doc);
    free(form);
    assert_int_equal(h_csrf(r->body, csrf, sizeof csrf), 0);
    snprintf(url, sizeof url, "%s/b2c/card", icbc.url);
    snprintf(body, sizeof body, "csrf=%s&cardNo=%s", csrf, card);
    h_resp_fini(r);
    assert_int_equal(h_post(url, body, cookie, cookie_n, NULL, r), 0);
    assert_int_equal(r->status, 200);
    assert_non_null(strstr(r->body, "data-page=\"net_card\""));
}

/* Posts the network card form; the answer page in r. */
static void pay_net(const char *card, const char *expiry, const char *cvn2, char *cookie,
                    size_t cookie_n, struct h_resp *r)
{
    char url[256], body[512], csrf[128];
    assert_int_equal(h_csrf(r->body, csrf, sizeof csrf), 0);
    snprintf(url, sizeof url, "%s/b2c/net", icbc.url);
    snprintf(body, sizeof body, "csrf=%s&cardNo=%s&expiry=%s&cvn2=%s", csrf, card, expiry, cvn2);
    h_resp_fini(r);
    assert_int_equal(h_post(url, body, cookie, cookie_n, NULL, r), 0);
}

static void bank_acct(const struct bank_proc *b, const char *id, int64_t out[4])
{
    assert_int_equal(sw_bank_account(b, id, out), 0);
}

static void switch_acct(const char *id, int64_t out[4])
{
    assert_int_equal(sw_switch_account(&sw, id, out), 0);
}

/* posted credits less posted debits */
static int64_t net_of(const int64_t a[4])
{
    return a[3] - a[1];
}

static void ccb_card_pays_at_icbc(void **state)
{
    (void)state;
    char card_acct[65], mer_acct[65] = "";
    assert_int_equal(sw_card_account(&ccb, 1, card_acct), 0);
    const char *db = icbc.db;
    assert_int_equal(sw_db_text(db, "SELECT account_id FROM bank_merchants WHERE mer_id = $1", "M1",
                                mer_acct, sizeof mer_acct),
                     0);
    int64_t card0[4], card1[4], mer0[4], mer1[4], rec1[4], ci[4], cc[4];
    bank_acct(&ccb, card_acct, card0);
    bank_acct(&icbc, mer_acct, mer0);
    int notified = h_merchant_notified();
    char cookie[256] = "";
    struct h_resp r = {0};
    open_net_page("NET-1", 12345, pan, cookie, sizeof cookie, &r);
    pay_net(pan, "12/30", cvv, cookie, sizeof cookie, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "data-status=\"paid\""));
    assert_non_null(strstr(r.body, "**** 0014")); /* the card by its last four only */
    assert_null(strstr(r.body, pan));
    h_resp_fini(&r);
    bank_acct(&ccb, card_acct, card1);
    assert_int_equal(card1[1], card0[1] + 12345); /* captured at the issuer: posted */
    assert_int_equal(card1[0], card0[0]);         /* nothing left held */
    bank_acct(&icbc, mer_acct, mer1);
    assert_int_equal(mer1[3], mer0[3] + 12345);
    bank_acct(&icbc, "icbc:net:receivable", rec1);
    assert_int_equal(rec1[1], 12345);
    switch_acct("clear:icbc", ci);
    switch_acct("clear:ccb", cc);
    /* the network owes ICBC the amount less the interchange (50 bp: 62) and its fee (5 bp: 6);
     * CCB owes it less the interchange, and its own fee */
    assert_int_equal(net_of(ci), 12345 - 62 - 6);
    assert_int_equal(net_of(cc), -12345 + 62 - 6);
    int64_t fees[4];
    switch_acct("cup:fees", fees);
    assert_int_equal(net_of(fees), 12);
    /* notified before the result page was shown (as for the bank's own cards) */
    assert_int_equal(h_merchant_notified(), notified + 1);
    /* the acquirer keeps a token and the last four, never the number */
    char last4[8] = "";
    assert_int_equal(sw_db_text(db, "SELECT last4 FROM bank_net_acquired WHERE mti = $1", "0100",
                                last4, sizeof last4),
                     0);
    assert_string_equal(last4, pan + strlen(pan) - 4);
}

/* A signed call of ICBC's merchant M1 to its bank's API (docs/bank.md); the answer's JSON. */
static long merchant_post(const char *target, const char *body, json_t **json)
{
    char path[400], url[PAY_URL_MAX], nonce[PAY_SIG_NONCE_MAX + 1], hdr[PAY_SIG_HEADER_MAX];
    char auth[PAY_SIG_HEADER_MAX + 32];
    snprintf(path, sizeof path, "%s/M1/merchant.key", icbc.dir);
    struct pay_rsa_key *k = NULL;
    assert_int_equal(pay_rsa_key_load(path, &k), 0);
    pay_sig_nonce_generate(nonce);
    struct pay_sig_signer s = {PAY_SIG_RSA_SHA256, "M1", NULL, k};
    struct pay_error e = {0};
    assert_int_equal(pay_sig_sign_request(&s, "POST", target, body, strlen(body),
                                          pay_clock_real_ms() / 1000, nonce, hdr, sizeof hdr, &e),
                     PAY_ERR_OK);
    pay_rsa_key_free(k);
    snprintf(auth, sizeof auth, "Authorization: %s", hdr);
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    snprintf(url, sizeof url, "%s%s", icbc.url, target);
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r;
    memset(&r, 0, sizeof r);
    assert_int_equal(
        pay_http_client_request("POST", url, headers, body, strlen(body), &opt, &r, &e),
        PAY_ERR_OK);
    *json = json_loads(pay_buf_str(&r.body), 0, NULL);
    long status = r.status;
    pay_http_client_response_fini(&r);
    return status;
}

/* ICBC's merchant refunds part of NET-1 through its bank's API: the refund goes to CCB through
 * the switch after the capture, and the CCB card is credited; the clearing positions move back. */
static void refund_flows_back_to_the_ccb_card(void **state)
{
    (void)state;
    char card_acct[65];
    assert_int_equal(sw_card_account(&ccb, 1, card_acct), 0);
    int64_t c0[4], c1[4], ci[4], cc[4];
    bank_acct(&ccb, card_acct, c0);
    json_t *j = NULL;
    assert_int_equal(merchant_post("/api/v1/refunds",
                                   "{\"orderId\":\"NET-1\",\"refundId\":\"r-1\",\"amount\":2345}",
                                   &j),
                     200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "SUCCESS");
    json_decref(j);
    assert_int_equal(th_clock_advance(icbc.url, 1000), 0); /* the worker sends it */
    char log[300];
    snprintf(log, sizeof log, "%s/bank.log", icbc.dir);
    assert_int_equal(sw_wait_log(log, "bank.net_sent rid=- mti=0200", 20000), 0);
    bank_acct(&ccb, card_acct, c1);
    assert_int_equal(c1[3], c0[3] + 2345); /* credited back to the card */
    switch_acct("clear:icbc", ci);
    switch_acct("clear:ccb", cc);
    assert_int_equal(net_of(ci), 10000 - 68); /* a refund carries no fees back */
    assert_int_equal(net_of(cc), -10000 + 56);
    /* the same refund again: the bank answers it as before, nothing is sent twice */
    assert_int_equal(merchant_post("/api/v1/refunds",
                                   "{\"orderId\":\"NET-1\",\"refundId\":\"r-1\",\"amount\":2345}",
                                   &j),
                     200);
    json_decref(j);
    assert_int_equal(th_count_in_file(log, "bank.net_sent rid=- mti=0200"), 1);
}

static void declines_leave_the_order_unpaid(void **state)
{
    (void)state;
    char card_acct[65];
    assert_int_equal(sw_card_account(&ccb, 1, card_acct), 0);
    int64_t c0[4], c1[4];
    bank_acct(&ccb, card_acct, c0);
    char cookie[256] = "", wrong[8];
    snprintf(wrong, sizeof wrong, "%03d", (int)((strtol(cvv, NULL, 10) + 1) % 1000));
    struct h_resp r = {0};
    open_net_page("NET-2", 500, pan, cookie, sizeof cookie, &r);
    pay_net(pan, "12/30", wrong, cookie, sizeof cookie, &r);
    assert_int_equal(r.status, 402);
    assert_non_null(strstr(r.body, "data-rc=\"N7\""));
    pay_net(pan_poor, "12/30", cvv_poor, cookie, sizeof cookie, &r);
    assert_int_equal(r.status, 402);
    assert_non_null(strstr(r.body, "data-rc=\"51\""));
    pay_net(pan, "13/30", cvv, cookie, sizeof cookie, &r); /* no month 13: asked again */
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "id=\"error\""));
    h_resp_fini(&r);
    bank_acct(&ccb, card_acct, c1);
    assert_memory_equal(c0, c1, sizeof c0);
}

/* The switch down: the shopper gets a clear decline and nobody is debited; once the switch is
 * back, ICBC's reversal of the unanswered authorization gets through. */
static void switch_down_is_a_clear_decline(void **state)
{
    (void)state;
    char card_acct[65];
    assert_int_equal(sw_card_account(&ccb, 1, card_acct), 0);
    int64_t c0[4], c1[4];
    bank_acct(&ccb, card_acct, c0);
    char cookie[256] = "";
    struct h_resp r = {0};
    open_net_page("NET-3", 700, pan, cookie, sizeof cookie, &r);
    sw_stop(&sw, SIGTERM);
    pay_net(pan, "12/30", cvv, cookie, sizeof cookie, &r);
    assert_int_equal(r.status, 402);
    assert_non_null(strstr(r.body, "data-rc=\"91\""));
    h_resp_fini(&r);
    assert_int_equal(sw_restart(&sw, NULL), 0);
    assert_int_equal(th_clock_advance(icbc.url, 2000), 0); /* the reversal's retry is due */
    char log[300];
    snprintf(log, sizeof log, "%s/bank.log", icbc.dir);
    assert_int_equal(sw_wait_log(log, "bank.net_sent rid=- mti=0400", 20000), 0);
    assert_int_equal(sw_wait_log(log, "rc=25 error=\"\"", 20000), 0);
    bank_acct(&ccb, card_acct, c1);
    assert_memory_equal(c0, c1, sizeof c0);
}

/* The business day ends (the switch's clock moves a day): the switch settles the day by itself;
 * ICBC's settlement account gains what CCB's loses, and the clearing accounts are back at 0. */
static void settlement_after_the_cut_off(void **state)
{
    (void)state;
    int64_t si0[4], sc0[4], si1[4], sc1[4], ci[4], cc[4];
    switch_acct("settle:icbc", si0);
    switch_acct("settle:ccb", sc0);
    pay_net_date(th_clock_now_ms(sw.url), settled_day);
    assert_int_equal(th_clock_advance(sw.url, 24LL * 3600 * 1000), 0);
    char log[300];
    snprintf(log, sizeof log, "%s/switch.log", sw.dir);
    assert_int_equal(sw_wait_log(log, "switch.settled rid=- date=", 20000), 0);
    switch_acct("settle:icbc", si1);
    switch_acct("settle:ccb", sc1);
    /* 12345 paid, 2345 refunded; the interchange (62) and each side's fee (6) */
    assert_int_equal(net_of(si1) - net_of(si0), 10000 - 62 - 6);
    assert_int_equal(net_of(sc1) - net_of(sc0), -10000 + 62 - 6);
    switch_acct("clear:icbc", ci);
    switch_acct("clear:ccb", cc);
    assert_int_equal(net_of(ci), 0);
    assert_int_equal(net_of(cc), 0);
    assert_int_equal(th_count_in_file(log, "switch.settled"), 1);
}

/* POST /admin/net/clearing at bank b (docs/switch.md, "Clearing files"): its JSON answer. */
static json_t *import_clearing(const struct bank_proc *b, const char *date, long *status)
{
    char url[PAY_URL_MAX], body[64];
    snprintf(url, sizeof url, "%s/admin/net/clearing", b->url);
    snprintf(body, sizeof body, "{\"date\":\"%s\"}", date);
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r;
    struct pay_error e = {0};
    memset(&r, 0, sizeof r);
    assert_int_equal(
        pay_http_client_request("POST", url, headers, body, strlen(body), &opt, &r, &e),
        PAY_ERR_OK);
    json_t *j = json_loads(pay_buf_str(&r.body), 0, NULL);
    *status = r.status;
    pay_http_client_response_fini(&r);
    assert_non_null(j);
    return j;
}

static int64_t int_of(const json_t *j, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(j, k));
}

/* Each bank downloads its clearing file of the settled day and books it: the file's nets (and
 * the network's fees) sum to zero and equal what moved on the banks' settlement accounts at the
 * switch and on their own net:settlement; the interbank receivable and payable are back at 0; a
 * second import changes nothing; a day not settled is refused. */
static void clearing_files_booked_once(void **state)
{
    (void)state;
    long status = 0;
    json_t *j = import_clearing(&icbc, settled_day, &status);
    assert_int_equal(status, 200);
    assert_true(json_is_true(json_object_get(j, "booked")));
    assert_int_equal(int_of(j, "records"), 2); /* NET-1's capture and its refund */
    int64_t icbc_net = int_of(j, "netMinor");
    json_decref(j);
    j = import_clearing(&ccb, settled_day, &status);
    assert_int_equal(status, 200);
    int64_t ccb_net = int_of(j, "netMinor");
    json_decref(j);
    assert_int_equal(icbc_net, 10000 - 62 - 6);
    assert_int_equal(ccb_net, -10000 + 62 - 6);
    int64_t fees[4], is[4], cs[4], rec[4], pay[4], is2[4];
    switch_acct("cup:fees", fees);
    assert_int_equal(icbc_net + ccb_net + net_of(fees), 0);
    bank_acct(&icbc, "icbc:net:settlement", is);
    bank_acct(&ccb, "ccb:net:settlement", cs);
    assert_int_equal(is[1] - is[3], icbc_net); /* debits less credits: what the switch paid in */
    assert_int_equal(cs[1] - cs[3], ccb_net);
    bank_acct(&icbc, "icbc:net:receivable", rec);
    bank_acct(&ccb, "ccb:net:payable", pay);
    assert_int_equal(rec[1], rec[3]);                 /* what the network owed ICBC is settled */
    assert_int_equal(pay[1], pay[3]);                 /* what CCB owed it too */
    j = import_clearing(&icbc, settled_day, &status); /* again: nothing changes */
    assert_int_equal(status, 200);
    assert_true(json_is_false(json_object_get(j, "booked")));
    json_decref(j);
    bank_acct(&icbc, "icbc:net:settlement", is2);
    assert_memory_equal(is, is2, sizeof is);
    char today[PAY_NET_DATE_LEN];
    pay_net_date(th_clock_now_ms(sw.url), today);
    j = import_clearing(&icbc, today, &status); /* not settled: refused */
    assert_int_equal(status, 404);
    json_decref(j);
}

/* The card number and CVN2 the shopper typed on ICBC's page are nowhere in ICBC's or the
 * switch's data or logs (the acquirer keeps a token and the last four, the switch a token). */
static void no_card_data_at_the_acquirer_or_the_switch(void **state)
{
    (void)state;
    char needles[6][64];
    size_t n = 0;
    snprintf(needles[n++], 64, "%s", pan);
    snprintf(needles[n++], 64, "%s", pan_poor);
    snprintf(needles[n++], 64, "cvn2=%s", cvv);
    snprintf(needles[n++], 64, "\"cvn2\":\"%s\"", cvv);
    snprintf(needles[n++], 64, "cvn2=%s", cvv_poor);
    const char *bank_files[] = {"data/bank.db", "data/bank.db-wal", "bank.log", "stdout.txt",
                                "cli.log"};
    assert_int_equal(sw_scan(icbc.dir, bank_files, 5, (const char(*)[64])needles, n), 0);
    const char *sw_files[] = {"data/switch.db", "data/switch.db-wal", "switch.log", "stdout.txt",
                              "cli.log"};
    assert_int_equal(sw_scan(sw.dir, sw_files, 5, (const char(*)[64])needles, n), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ccb_card_pays_at_icbc),
        cmocka_unit_test(refund_flows_back_to_the_ccb_card),
        cmocka_unit_test(declines_leave_the_order_unpaid),
        cmocka_unit_test(switch_down_is_a_clear_decline),
        cmocka_unit_test(settlement_after_the_cut_off),
        cmocka_unit_test(clearing_files_booked_once),
        cmocka_unit_test(no_card_data_at_the_acquirer_or_the_switch),
    };
    return th_finish(cmocka_run_group_tests(tests, setup, th_teardown(teardown)));
}
