/* The card network's messages end to end (docs/switch.md): the real switch and the real CCB
 * bank as issuer, this test as the acquirer ICBC (signing with the member key the switch
 * issued, sealing card data to the switch). Authorization, capture, refund with the ledger of
 * the issuer; duplicates; out-of-order messages; declines; the issuer down (91 and the switch's
 * own reversal); the switch killed mid-authorization and restarted (the acquirer's reversal:
 * nobody debited twice, nothing lost); no card number or CVN2 in the switch's data or logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "harness.h"

#include "core/clock.h"
#include "crypto/crypto.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sw_proc sw;
static struct bank_proc ccb;
static struct sw_acq acq;
static char pans[8][20]; /* every card number used: none may be stored by the switch */
static char cvvs[8][4];

#define AUTH     "/net/v1/authorizations"
#define CAPTURE  "/net/v1/captures"
#define REVERSAL "/net/v1/reversals"
#define REFUND   "/net/v1/refunds"

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    if (pay_crypto_init() != 0 || sw_start(&sw, "") != 0 ||
        sw_bank_start(&ccb, &sw, "ccb", SW_CCB_BIN, "") != 0 || sw_acq_open(&acq, &sw, "icbc"))
        return -1;
    for (int i = 0; i < 5; i++) {
        sw_demo_pan(SW_CCB_BIN, i + 1, pans[i]);
        if (h_demo_cvv2(&ccb, pans[i], cvvs[i]) != 0)
            return -1;
    }
    sw_demo_pan(SW_CCB_BIN, 77, pans[5]);                        /* in CCB's range, no such card */
    snprintf(pans[6], sizeof pans[6], "%s", "4111111111111111"); /* nobody's BIN */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sw_acq_close(&acq);
    h_bank_stop(&ccb);
    sw_stop(&sw, SIGTERM);
    int rc = h_bank_ledger_verify(&ccb);
    const char *db = sw.db;
    rc |= th_ledger_verify(th_binary_env(), db);
    if (rc == 0) {
        h_bank_remove(&ccb);
        th_tmpdir_done(sw.dir);
    }
    return rc;
}

/* Sends and expects an answer with HTTP 200; returns it (caller decrefs). */
static json_t *send_ok(const char *path, json_t *msg)
{
    long status = 0;
    struct pay_error e = {0};
    json_t *a = sw_send(&acq, path, msg, &status, &e);
    if (!a || status != 200)
        fprintf(stderr, "%s: status %ld %s %s\n", path, status, e.detail,
                a ? json_dumps(a, 0) : "(no answer)");
    assert_non_null(a);
    assert_int_equal(status, 200);
    return a;
}

static json_t *auth(const char *trace, int card, const char *exp, const char *cvv, int64_t amount)
{
    return send_ok(AUTH, sw_auth_msg(&acq, trace, pans[card], exp, cvv, amount));
}

static void balances(int serial, int64_t out[4])
{
    char acct[65];
    assert_int_equal(sw_card_account(&ccb, serial, acct), 0);
    assert_int_equal(sw_bank_account(&ccb, acct, out), 0);
}

static void authorize_capture_refund(void **state)
{
    (void)state;
    int64_t b0[4], b1[4];
    char t1[13], t2[13], t3[13], t4[13], t5[13];
    balances(1, b0);
    sw_trace(&acq, t1);
    json_t *a = auth(t1, 0, "3012", cvvs[0], 12300);
    assert_string_equal(sw_rc(a), "00");
    assert_int_equal(strlen(json_string_value(json_object_get(a, "de38"))), 6);
    assert_int_equal(strlen(json_string_value(json_object_get(a, "de37"))), 12);
    assert_string_equal(json_string_value(json_object_get(json_object_get(a, "de2"), "last4")),
                        "0014");
    assert_string_equal(json_string_value(json_object_get(a, "de100")), "ccb");
    char *answer_text = json_dumps(a, 0);
    assert_non_null(answer_text);
    assert_null(strstr(answer_text, pans[0])); /* the card number never comes back */
    free(answer_text);
    balances(1, b1);
    assert_int_equal(b1[0], b0[0] + 12300); /* held, not posted */
    assert_int_equal(b1[1], b0[1]);
    /* the same message again (sealed anew): the same answer, nothing held twice */
    json_t *again = auth(t1, 0, "3012", cvvs[0], 12300);
    assert_true(json_equal(a, again));
    balances(1, b1);
    assert_int_equal(b1[0], b0[0] + 12300);
    sw_trace(&acq, t2);
    json_t *c = send_ok(CAPTURE, sw_followup_msg(&acq, "0220", t2, t1, 12300));
    assert_string_equal(sw_rc(c), "00");
    assert_int_equal(strlen(json_string_value(json_object_get(c, "de15"))), 10);
    json_t *c2 = send_ok(CAPTURE, sw_followup_msg(&acq, "0220", t2, t1, 12300));
    assert_true(json_equal(c, c2));
    balances(1, b1);
    assert_int_equal(b1[0], b0[0]);
    assert_int_equal(b1[1], b0[1] + 12300); /* posted once */
    sw_trace(&acq, t3);
    json_t *r = send_ok(REFUND, sw_followup_msg(&acq, "0200", t3, t1, 2300));
    assert_string_equal(sw_rc(r), "00");
    balances(1, b1);
    assert_int_equal(b1[3], b0[3] + 2300);
    sw_trace(&acq, t4);
    json_t *r2 = send_ok(REFUND, sw_followup_msg(&acq, "0200", t4, t1, 10001));
    assert_string_equal(sw_rc(r2), "13"); /* 10000 left */
    sw_trace(&acq, t5);
    json_t *c3 = send_ok(CAPTURE, sw_followup_msg(&acq, "0220", t5, t1, 100));
    assert_string_equal(sw_rc(c3), "12"); /* captured already */
    json_decref(a), json_decref(again), json_decref(c), json_decref(c2), json_decref(r);
    json_decref(r2), json_decref(c3);
}

static void expect_rc(int card, const char *exp, const char *cvv, int64_t amount, const char *rc)
{
    char t[13];
    sw_trace(&acq, t);
    json_t *a = auth(t, card, exp, cvv, amount);
    if (strcmp(sw_rc(a), rc) != 0)
        fprintf(stderr, "card %d: %s\n", card, json_dumps(a, 0));
    assert_string_equal(sw_rc(a), rc);
    json_decref(a);
}

static void declines(void **state)
{
    (void)state;
    char wrong[8];
    snprintf(wrong, sizeof wrong, "%03d", (int)((strtol(cvvs[0], NULL, 10) + 1) % 1000));
    int64_t b0[4], b1[4];
    balances(1, b0);
    expect_rc(0, "3012", wrong, 100, "N7");   /* wrong CVN2 (counted on the card's lock) */
    expect_rc(0, "3101", cvvs[0], 100, "N7"); /* wrong expiry */
    expect_rc(1, "3012", cvvs[1], 100, "51"); /* no funds */
    expect_rc(2, "2001", cvvs[2], 100, "54"); /* expired */
    expect_rc(3, "3012", cvvs[3], 100, "75"); /* locked */
    expect_rc(5, "3012", "123", 100, "14");   /* no such card at CCB */
    expect_rc(6, "3012", "123", 100, "92");   /* nobody issues this BIN */
    balances(1, b1);
    assert_int_equal(b1[0], b0[0]);
    /* a trace used again for another message: 94, and the first message stands */
    char t[13];
    sw_trace(&acq, t);
    json_t *a = auth(t, 0, "3012", cvvs[0], 500);
    assert_string_equal(sw_rc(a), "00");
    json_t *b = auth(t, 0, "3012", cvvs[0], 501);
    assert_string_equal(sw_rc(b), "94");
    balances(1, b1);
    assert_int_equal(b1[0], b0[0] + 500);
    char r[13];
    sw_trace(&acq, r);
    json_t *v = send_ok(REVERSAL, sw_followup_msg(&acq, "0400", r, t, 500));
    assert_string_equal(sw_rc(v), "00");
    balances(1, b1);
    assert_int_equal(b1[0], b0[0]);
    /* an acquirer may only speak for itself: de32 is its own code */
    json_t *m = sw_auth_msg(&acq, t, pans[0], "3012", cvvs[0], 500);
    json_object_set_new(m, "de32", json_string("ccb"));
    long status = 0;
    json_t *e = sw_send(&acq, AUTH, m, &status, NULL);
    assert_int_equal(status, 400);
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "error"), "field")),
                        "de32");
    json_decref(a), json_decref(b), json_decref(v), json_decref(e);
}

static void out_of_order(void **state)
{
    (void)state;
    int64_t b0[4], b1[4];
    balances(1, b0);
    char t[13], r[13], c[13];
    /* the reversal overtakes its authorization: 25 now, and the authorization is refused */
    sw_trace(&acq, t);
    sw_trace(&acq, r);
    json_t *v = send_ok(REVERSAL, sw_followup_msg(&acq, "0400", r, t, 700));
    assert_string_equal(sw_rc(v), "25");
    json_t *a = auth(t, 0, "3012", cvvs[0], 700);
    assert_string_equal(sw_rc(a), "12");
    balances(1, b1);
    assert_int_equal(b1[0], b0[0]);
    /* a capture of nothing known */
    sw_trace(&acq, c);
    json_t *x = send_ok(CAPTURE, sw_followup_msg(&acq, "0220", c, "999999999999", 700));
    assert_string_equal(sw_rc(x), "25");
    /* reversed, then captured: 12; captured, then reversed: 12 (refund it) */
    char t2[13], r2[13], c2[13], t3[13], c3[13], r3[13];
    sw_trace(&acq, t2), sw_trace(&acq, r2), sw_trace(&acq, c2);
    json_t *a2 = auth(t2, 0, "3012", cvvs[0], 800);
    json_t *v2 = send_ok(REVERSAL, sw_followup_msg(&acq, "0400", r2, t2, 800));
    json_t *x2 = send_ok(CAPTURE, sw_followup_msg(&acq, "0220", c2, t2, 800));
    assert_string_equal(sw_rc(a2), "00");
    assert_string_equal(sw_rc(v2), "00");
    assert_string_equal(sw_rc(x2), "12");
    sw_trace(&acq, t3), sw_trace(&acq, c3), sw_trace(&acq, r3);
    json_t *a3 = auth(t3, 0, "3012", cvvs[0], 900);
    json_t *x3 = send_ok(CAPTURE, sw_followup_msg(&acq, "0220", c3, t3, 900));
    json_t *v3 = send_ok(REVERSAL, sw_followup_msg(&acq, "0400", r3, t3, 900));
    assert_string_equal(sw_rc(a3), "00");
    assert_string_equal(sw_rc(x3), "00");
    assert_string_equal(sw_rc(v3), "12");
    balances(1, b1);
    assert_int_equal(b1[0], b0[0]);       /* nothing left held */
    assert_int_equal(b1[1], b0[1] + 900); /* only the captured one posted */
    json_decref(v), json_decref(a), json_decref(x), json_decref(a2), json_decref(v2);
    json_decref(x2), json_decref(a3), json_decref(x3), json_decref(v3);
}

/* The issuer down: 91 at once (never a debit without an answer), the switch's own reversal
 * reaches the issuer once it is back, and a repeat of the authorization answers 91 again. */
static void issuer_down(void **state)
{
    (void)state;
    int64_t b0[4], b1[4];
    balances(1, b0);
    h_bank_stop(&ccb);
    char t[13];
    sw_trace(&acq, t);
    json_t *a = auth(t, 0, "3012", cvvs[0], 1000);
    assert_string_equal(sw_rc(a), "91");
    assert_int_equal(sw_bank_restart(&ccb, &sw, "ccb", SW_CCB_BIN, ""), 0);
    assert_int_equal(th_clock_advance(sw.url, 2000), 0); /* the reversal's retry is due */
    char log[300], line[128];
    snprintf(log, sizeof log, "%s/switch.log", sw.dir);
    snprintf(line, sizeof line, "switch.reversal rid=- acquirer=icbc trace=%s issuer=ccb rc=25", t);
    assert_int_equal(sw_wait_log(log, line, 10000), 0);
    json_t *again = auth(t, 0, "3012", cvvs[0], 1000);
    assert_true(json_equal(a, again));
    balances(1, b1);
    assert_int_equal(b1[0], b0[0]);
    assert_int_equal(b1[1], b0[1]);
    json_decref(a), json_decref(again);
}

struct pending_auth {
    char trace[13];
    json_t *answer;
};

static void *auth_thread(void *arg)
{
    struct pending_auth *p = arg;
    long status = 0;
    p->answer = sw_send(&acq, AUTH, sw_auth_msg(&acq, p->trace, pans[0], "3012", cvvs[0], 4200),
                        &status, NULL);
    return NULL;
}

/* The switch killed after the issuer approved and before the acquirer heard: the acquirer
 * reverses; the hold is released, nobody is debited, and a repeat changes nothing. */
static void switch_killed_mid_authorization(void **state)
{
    (void)state;
    int64_t b0[4], b1[4];
    balances(1, b0);
    sw_stop(&sw, SIGTERM);
    assert_int_equal(sw_restart(&sw, "--test-fault stall-after-issuer"), 0);
    struct pending_auth p = {0};
    sw_trace(&acq, p.trace);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, auth_thread, &p), 0);
    char log[300], line[128];
    snprintf(log, sizeof log, "%s/switch.log", sw.dir);
    /* switch.fault_stall's line (its rid is the request's) */
    snprintf(line, sizeof line, "acquirer=icbc trace=%s rc=00", p.trace);
    assert_int_equal(sw_wait_log(log, line, 30000), 0);
    balances(1, b1);
    assert_int_equal(b1[0], b0[0] + 4200); /* the issuer holds it */
    sw_stop(&sw, SIGKILL);
    pthread_join(th, NULL);
    assert_null(p.answer); /* the acquirer heard nothing */
    assert_int_equal(sw_restart(&sw, ""), 0);
    char r[13];
    sw_trace(&acq, r);
    json_t *v = send_ok(REVERSAL, sw_followup_msg(&acq, "0400", r, p.trace, 4200));
    assert_string_equal(sw_rc(v), "00");
    balances(1, b1);
    assert_int_equal(b1[0], b0[0]); /* released */
    assert_int_equal(b1[1], b0[1]); /* never posted */
    json_t *again = auth(p.trace, 0, "3012", cvvs[0], 4200);
    assert_string_equal(sw_rc(again), "00"); /* the first answer, as kept */
    balances(1, b1);
    assert_int_equal(b1[0], b0[0]); /* nothing held again */
    json_decref(v), json_decref(again);
}

static void no_card_data_at_the_switch(void **state)
{
    (void)state;
    char needles[24][64];
    size_t n = 0;
    for (int i = 0; i < 7; i++) {
        snprintf(needles[n++], 64, "%.19s", pans[i]);
        snprintf(needles[n++], 64, "%.4s %.4s %.4s %.4s", pans[i], pans[i] + 4, pans[i] + 8,
                 pans[i] + 12);
    }
    for (int i = 0; i < 5; i++) {
        snprintf(needles[n++], 64, "\"cvn2\":\"%s\"", cvvs[i]);
        snprintf(needles[n++], 64, "cvn2=%s", cvvs[i]);
    }
    const char *files[] = {"data/switch.db", "data/switch.db-wal", "data/switch.db-shm",
                           "switch.log",     "stdout.txt",         "cli.log"};
    assert_int_equal(sw_scan(sw.dir, files, 6, (const char(*)[64])needles, n), 0);
    const char *bank_files[] = {"bank.log", "stdout.txt"};
    assert_int_equal(sw_scan(ccb.dir, bank_files, 2, (const char(*)[64])needles, n), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(authorize_capture_refund),
        cmocka_unit_test(declines),
        cmocka_unit_test(out_of_order),
        cmocka_unit_test(issuer_down),
        cmocka_unit_test(switch_killed_mid_authorization),
        cmocka_unit_test(no_card_data_at_the_switch),
    };
    return th_finish(cmocka_run_group_tests(tests, setup, th_teardown(teardown)));
}
