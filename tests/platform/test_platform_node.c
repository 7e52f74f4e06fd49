/* The Node.js example of docs/integration.md (examples/node/paygate.mjs) against the real
 * platform, run by `node` as a merchant would run it: it reproduces the test vector of
 * docs/protocol.md; it creates a trade with a key given as a raw seed (the PKCS#8 prefix),
 * the platform accepts its signature and it accepts the platform's signed answer; its notify
 * endpoint, on a notify_url with a query, verifies the real notification of the paid trade and
 * answers "success", and refuses a notification signed with another key and an unsigned one;
 * and every ```js block of docs/integration.md is a piece of that file.
 * argv: the paygate binary, the node binary. */
#include "harness.h"
#include "lib/docs.h"
#include "lib/harness.h"

#include "core/clock.h"
#include "core/timeutil.h"
#include "http/client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct h_platform pf;
static struct h_merchant ma;
static const char *node;
static char example[512], seed_file[300], log_file[300], notify_url[256];
static pid_t notify_pid;

static int group_setup(void **state)
{
    const char *root = getenv("PAYGATE_SOURCE_ROOT");
    snprintf(example, sizeof example, "%s/examples/node/paygate.mjs", root ? root : "..");
    h_setup(&pf, &ma, NULL, NULL);
    h_add_consumer(&pf, "13800000001", "correct horse", "246810");
    h_wallet_credit(&pf, "13800000001", "100.00");
    /* the merchant's key as the standard base64 of its raw 32-byte seed */
    char seed[PAY_ED25519_KEY_TEXT_LEN];
    pay_ed25519_sk_to_text(seed, &ma.key);
    snprintf(seed_file, sizeof seed_file, "%s/m_a.seed", pf.dir);
    FILE *f = fopen(seed_file, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", seed);
    fclose(f);
    h_start(&pf);
    return 0;
}

static int group_teardown(void **state)
{
    th_stop(&notify_pid, SIGTERM);
    h_teardown_verified(&pf);
    return 0;
}

/* The code docs/integration.md shows is the code this test runs. */
static void docs_code_is_the_example(void **state)
{
    char *doc = th_doc_read("integration.md"), *code = calloc(1, 65536);
    assert_non_null(doc);
    assert_non_null(code);
    assert_true(th_read_text(example, code, 65536) > 0);
    int blocks = 0;
    for (const char *p = doc; (p = strstr(p, "```js\n")) != NULL; blocks++) {
        p += 6;
        char *block = strndup(p, (size_t)(strstr(p, "\n```") - p));
        if (!strstr(code, block))
            fprintf(stderr, "docs/integration.md shows code that is not in %s:\n%s\n", example,
                    block);
        assert_non_null(strstr(code, block));
        free(block);
    }
    assert_true(blocks >= 5);
    free(code);
    free(doc);
}

static void test_vector(void **state)
{
    assert_int_equal(th_sh("'%s' '%s' selftest >/dev/null", node, example), 0);
}

static void notify_endpoint_starts(void **state)
{
    char cmd[2048], url_file[300];
    snprintf(url_file, sizeof url_file, "%s/node-notify.url", pf.dir);
    snprintf(log_file, sizeof log_file, "%s/node-notify.log", pf.dir);
    snprintf(cmd, sizeof cmd, "exec '%s' '%s' notify-server '%s' m_a '%s' >'%s' 2>&1", node,
             example, pf.url, url_file, log_file);
    notify_pid = th_spawn_sh(cmd);
    assert_true(notify_pid > 0);
    char base[128];
    assert_int_equal(th_wait_url_file(notify_pid, url_file, base, sizeof base, TH_START_TIMEOUT_MS),
                     0);
    snprintf(notify_url, sizeof notify_url, "%s/notify?shop=1&v=2", base);
}

static void create_and_notify(void **state)
{
    char out[300], text[8192];
    snprintf(out, sizeof out, "%s/node-create.json", pf.dir);
    assert_int_equal(th_sh("'%s' '%s' create '%s' m_a '%s' node-1 12.30 '%s' >'%s'", node, example,
                           pf.url, seed_file, notify_url, out),
                     0);
    assert_true(th_read_text(out, text, sizeof text) > 0);
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 201);
    char trade[64];
    snprintf(trade, sizeof trade, "%s", h_str(json_object_get(j, "json"), "trade_id"));
    assert_string_equal(h_str(json_object_get(j, "json"), "out_trade_no"), "node-1");
    json_decref(j);
    /* the platform sees the trade the Node code signed */
    struct h_reply r;
    h_call(&pf, &ma, "GET", "/v1/trades?out_trade_no=node-1", NULL, NULL, &r);
    assert_string_equal(h_str(r.json, "trade_id"), trade);
    h_reply_fini(&r);
    assert_int_equal(h_cashier_pay_wallet(&pf, trade, "13800000001", "correct+horse", "246810"),
                     200);
    /* delivered means the Node endpoint verified it and answered "success" */
    assert_true(h_notifications_delivered(&pf, &ma, trade, 15000));
    assert_true(th_read_text(log_file, text, sizeof text) > 0);
    assert_non_null(strstr(text, "verified trade.state"));
    assert_non_null(strstr(text, "node-1 TRADE_SUCCESS"));
    assert_null(strstr(text, "refused"));
}

/* POSTs a notification body with the header value sig (NULL: none); the endpoint's status. */
static long post_notification(const char *sig)
{
    const char *body = "{\"event\":\"trade.state\",\"notify_id\":\"nt_x\",\"trade\":{}}";
    char hdr[PAY_SIG_HEADER_MAX + 32];
    snprintf(hdr, sizeof hdr, "Paygate-Signature: %s", sig ? sig : "");
    const char *headers[] = {"Content-Type: application/json", sig ? hdr : NULL, NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response resp = {0};
    assert_int_equal(
        pay_http_client_request("POST", notify_url, headers, body, strlen(body), &opt, &resp, NULL),
        PAY_ERR_OK);
    long status = resp.status;
    pay_http_client_response_fini(&resp);
    return status;
}

static void forged_notifications_refused(void **state)
{
    /* the platform's keyId with the merchant's key, over the right target and body */
    const char *target = strstr(notify_url + 8, "/notify");
    const char *body = "{\"event\":\"trade.state\",\"notify_id\":\"nt_x\",\"trade\":{}}";
    char nonce[PAY_SIG_NONCE_MAX + 1], sig[PAY_SIG_HEADER_MAX];
    pay_sig_nonce_generate(nonce);
    struct pay_sig_signer s = {PAY_SIG_ED25519, "paygate-platform", &ma.key, NULL};
    assert_int_equal(pay_sig_sign_request(&s, "POST", target, body, strlen(body),
                                          pay_clock_real_ms() / 1000, nonce, sig, sizeof sig, NULL),
                     PAY_ERR_OK);
    assert_int_equal(post_notification(sig), 400);
    assert_int_equal(post_notification(NULL), 400);
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    if (argc < 3) {
        fprintf(stderr, "usage: %s PAYGATE NODE\n", argv[0]);
        return 2;
    }
    node = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(docs_code_is_the_example),     cmocka_unit_test(test_vector),
        cmocka_unit_test(notify_endpoint_starts),       cmocka_unit_test(create_and_notify),
        cmocka_unit_test(forged_notifications_refused),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
