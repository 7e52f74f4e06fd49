/* docs/api.md is checked against the real platform: every endpoint of the route table is
 * documented, and every example runs (that every "NNN CODE" the page names is the registry's
 * is checked for all docs by tests/core/test_errors.c). Each ```http request is sent (signed by the
 * test merchant, or with the operator's Bearer token when the block says `Authorization: Bearer
 * <operator token>`), and its answer must have the documented status, a valid Paygate-Signature and
 * exactly the documented fields, nested ones and array elements included (tests/lib/docs.h); values
 * such as ids and times differ. `tr_`/`rf_` in example paths stand for the current trade and
 * refund; `https://shop.example/notify` in a request is this test's notify endpoint. Markers in the
 * prose between examples: `<!-- test: pay OUT_TRADE_NO -->` pays that trade on the cashier
 * and makes it the current one; `<!-- test: notified -->` waits until every notification of
 * the current trade is delivered. Last, each ```notification block must have the shape of a
 * body the notify endpoint received for that event. */
#include "harness.h"
#include "lib/docs.h"
#include "lib/harness.h"

#include "core/clock.h"
#include "core/errors.h"
#include "core/timeutil.h"
#include "platform/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OP_TOKEN "docs-operator-token-0123456789"

static struct h_platform pf;
static struct h_merchant ma;
static struct h_notify_sink sink;
static char *doc;

static int group_setup(void **state)
{
    doc = th_doc_read("api.md");
    assert_non_null(doc);
    h_setup(&pf, &ma, NULL, "operator_token = " OP_TOKEN);
    h_add_consumer(&pf, "13800000001", "correct horse", "246810");
    h_wallet_credit(&pf, "13800000001", "100.00");
    h_start(&pf);
    h_sink_start(&sink, pf.pk, 0);
    return 0;
}

static int group_teardown(void **state)
{
    h_sink_stop(&sink);
    h_teardown_verified(&pf);
    free(doc);
    return 0;
}

static void every_endpoint_documented(void **state)
{
    size_t n = 0;
    const struct pay_http_route *routes = pay_platform_api_routes(&n);
    assert_true(n >= 8);
    for (size_t i = 0; i < n; i++) {
        char heading[256];
        snprintf(heading, sizeof heading, "%s %s", routes[i].method, routes[i].pattern);
        if (!strstr(doc, heading))
            fprintf(stderr, "not in docs/api.md: %s\n", heading);
        assert_non_null(strstr(doc, heading));
    }
}

/* Replaces the placeholders "tr_" and "rf_" (not followed by an id) with the current ids and
 * the docs' notify URL with the test's endpoint. Heap result. */
static char *fill_ids(const char *in, const char *trade, const char *refund)
{
    static const char notify[] = "https://shop.example/notify";
    size_t n = strlen(in) * 2 + 1024, o = 0;
    char *out = malloc(n);
    assert_non_null(out);
    for (const char *p = in; *p && o + 200 < n;) {
        const char *id = NULL;
        bool tr = strncmp(p, "tr_", 3) == 0, rf = strncmp(p, "rf_", 3) == 0;
        /* "tr_" alone is the placeholder (p[3] is readable once the prefix matched) */
        if ((tr || rf) && !isalnum((unsigned char)p[3]))
            id = tr ? trade : refund;
        if (id) {
            o += (size_t)snprintf(out + o, n - o, "%s", id);
            p += 3;
        } else if (strncmp(p, notify, sizeof notify - 1) == 0) {
            o += (size_t)snprintf(out + o, n - o, "%s", sink.url);
            p += sizeof notify - 1;
        } else
            out[o++] = *p++;
    }
    out[o] = '\0';
    return out;
}

/* Sends the example's request: with the operator token, or signed by the test merchant with
 * the block's Content-Type (default application/json). */
static void send_example(const struct th_doc_request *q, struct h_reply *r)
{
    const char *idem = th_doc_request_header(q, "Idempotency-Key");
    const char *auth = th_doc_request_header(q, "Authorization");
    const char *ctype = th_doc_request_header(q, "Content-Type");
    if (!ctype)
        ctype = "application/json";
    if (auth && strcmp(auth, "Bearer <operator token>") == 0) {
        h_call_typed(&pf, q->method, q->target, ctype, q->body, "Bearer " OP_TOKEN, idem, "", r);
        return;
    }
    char nonce[PAY_SIG_NONCE_MAX + 1], sig[PAY_SIG_HEADER_MAX];
    pay_sig_nonce_generate(nonce);
    struct pay_sig_signer s = {PAY_SIG_ED25519, ma.id, &ma.key, NULL};
    assert_int_equal(pay_sig_sign_request(&s, q->method, q->target, q->body,
                                          q->body ? strlen(q->body) : 0, pay_clock_real_ms() / 1000,
                                          nonce, sig, sizeof sig, NULL),
                     PAY_ERR_OK);
    h_call_typed(&pf, q->method, q->target, ctype, q->body, sig, idem, nonce, r);
}

/* The markers between the previous example and this one. */
static void run_markers(const char *before, char *trade, size_t trade_n)
{
    char otn[80];
    if (th_doc_marker(before, "pay", otn, sizeof otn)) {
        char path[128];
        snprintf(path, sizeof path, "/v1/trades?out_trade_no=%s", otn);
        struct h_reply r;
        h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
        snprintf(trade, trade_n, "%s", h_str(r.json, "trade_id"));
        h_reply_fini(&r);
        assert_int_equal(h_cashier_pay_wallet(&pf, trade, "13800000001", "correct+horse", "246810"),
                         200);
    }
    if (th_doc_marker(before, "notified", otn, sizeof otn) &&
        !h_notifications_delivered(&pf, &ma, trade, 15000))
        fail_msg("the notifications of %s were not delivered", trade);
}

static void examples_run(void **state)
{
    char trade[64] = "tr_", refund[64] = "rf_", where[128];
    int ran = 0, rc;
    size_t diffs = 0;
    const char *pos = doc;
    struct th_doc_example ex;
    while ((rc = th_doc_next_example(doc, &pos, &ex)) == 1) {
        run_markers(ex.before, trade, sizeof trade);
        char *filled = fill_ids(ex.request, trade, refund);
        struct th_doc_request q;
        long want_status;
        const char *want_body;
        assert_int_equal(th_doc_request_parse(filled, &q), 0);
        assert_int_equal(th_doc_response_parse(ex.response, &want_status, &want_body), 0);
        struct h_reply r;
        send_example(&q, &r);
        snprintf(where, sizeof where, "docs/api.md:%d %s %s", ex.line, q.method, q.target);
        if (r.status != want_status || !r.sig_ok)
            fprintf(stderr, "%s -> %ld (signature %s) %s\n", where, r.status,
                    r.sig_ok ? "ok" : "BAD", r.body);
        assert_int_equal(r.status, want_status);
        assert_true(r.sig_ok); /* every answer, the framework's 404/405/415 included */
        json_t *want = json_loads(want_body, 0, NULL);
        diffs += th_json_shape_diff(want, r.json, where);
        json_decref(want);
        if (strcmp(q.method, "POST") == 0 && strcmp(q.target, "/v1/trades") == 0 && r.status == 201)
            snprintf(trade, sizeof trade, "%s", h_str(r.json, "trade_id"));
        if (r.status == 201 && h_str(r.json, "refund_id")[0])
            snprintf(refund, sizeof refund, "%s", h_str(r.json, "refund_id"));
        h_reply_fini(&r);
        free(filled);
        th_doc_example_fini(&ex);
        ran++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(diffs, 0);
    int blocks = 0; /* every example ran */
    for (const char *b = doc; (b = strstr(b, "```http\n")) != NULL; b++)
        blocks++;
    assert_int_equal(ran, blocks);
    assert_true(ran >= 20);
}

/* The documented notification bodies against the ones the platform delivered above. */
static void notifications_as_documented(void **state)
{
    int checked = 0;
    size_t diffs = 0;
    const char *p = doc;
    while ((p = strstr(p, "```notification\n")) != NULL) {
        p += 16;
        char *text = strndup(p, (size_t)(strstr(p, "```") - p));
        json_t *want = json_loads(text, 0, NULL);
        assert_non_null(want);
        const char *event = h_str(want, "event");
        json_t *got = NULL;
        pthread_mutex_lock(&sink.mu);
        for (int i = 0; i < sink.n_ids && !got; i++) {
            json_t *j = json_loads(sink.bodies[i], 0, NULL);
            if (strcmp(h_str(j, "event"), event) == 0)
                got = j;
            else
                json_decref(j);
        }
        pthread_mutex_unlock(&sink.mu);
        if (!got)
            for (int i = 0; i < sink.n_ids; i++)
                fprintf(stderr, "no %s notification among: %s\n", event, sink.bodies[i]);
        assert_non_null(got);
        char where[64];
        snprintf(where, sizeof where, "docs/api.md notification %s", event);
        diffs += th_json_shape_diff(want, got, where);
        json_decref(got);
        json_decref(want);
        free(text);
        checked++;
    }
    assert_int_equal(diffs, 0);
    assert_int_equal(sink.bad_sigs, 0);
    assert_true(checked >= 2);
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_endpoint_documented),
        cmocka_unit_test(examples_run),
        cmocka_unit_test(notifications_as_documented),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
