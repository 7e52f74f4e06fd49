/* libpaygate against a real `paygate bank`: the SDK's signed B2C order form is accepted by
 * the bank and paid through its pages (card, password, SMS code, confirm); the bank's
 * notification verifies and fulfils once; the same notification again is a duplicate; a
 * tampered one and one for another amount are refused; refunds through the bank's signed API
 * (idempotent, over-refund refused); a bank certificate for another bank code is refused. */
#include "paygate.h"

#include "core/buf.h"
#include "crypto/crypto.h"
#include "http/client.h"
#include "http/codec.h"
#include "http/server.h"
#include "lib/harness.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static const char *bin;
static char dir[128], bank_url[128], notify_url[160], path_buf[512];
static pid_t bank_pid;
static paygate_bank *bank;
static paygate_seen_db *seen;
static struct pay_http_server *srv;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int fulfilled, refused;
static char raw[8192];

static const char *p(const char *rel)
{
    snprintf(path_buf, sizeof path_buf, "%s/%s", dir, rel);
    return path_buf;
}

static enum pay_err on_notify(struct pay_http_request *req, struct pay_error *err)
{
    size_t len = 0;
    const char *body = pay_http_req_body(req, &len);
    paygate_bank_notification n;
    int rc = paygate_bank_notify_verify(bank, body ? body : "", len, 12300, &n, NULL);
    pthread_mutex_lock(&mu);
    snprintf(raw, sizeof raw, "%.*s", (int)len, body ? body : "");
    if (rc == PAYGATE_OK &&
        paygate_notify_once(n.notify_id, paygate_seen_db_fn, seen) == PAYGATE_OK)
        fulfilled++;
    else if (rc != PAYGATE_OK)
        refused++;
    pthread_mutex_unlock(&mu);
    pay_http_respond_text(req, rc == PAYGATE_OK ? 200 : 400, rc == PAYGATE_OK ? "OK" : "no");
    return PAY_ERR_OK;
}

static paygate_bank *open_bank(const char *code, paygate_error *e)
{
    char mer[256], cert[256], ca[256];
    snprintf(mer, sizeof mer, "%s/mer", dir);
    snprintf(cert, sizeof cert, "%s/data/keys/sign.crt", dir);
    snprintf(ca, sizeof ca, "%s/data/keys/ca.crt", dir);
    paygate_bank_config bc = {.gateway_url = bank_url,
                              .merchant_dir = mer,
                              .bank_cert_file = cert,
                              .ca_file = ca,
                              .bank_code = code,
                              .allow_loopback = 1};
    return paygate_bank_new(&bc, e);
}

static int group_setup(void **state)
{
    assert_int_equal(th_tmpdir(dir, sizeof dir, "paygate-sdkbank"), 0);
    assert_int_equal(
        th_sh("'%s' bank merchant add --data-dir %s/data --code sdkb --bin 622202 "
              "--fast-hash --mer-id SDK0001 --name SDK --referrer-domain 127.0.0.1 "
              "--notify-domain 127.0.0.1 --allow-no-referer --out %s/mer >%s/cli.log 2>&1",
              bin, dir, dir, dir),
        0);
    char cmd[1024], url_file[256];
    snprintf(url_file, sizeof url_file, "%s/url", dir);
    snprintf(cmd, sizeof cmd,
             "exec '%s' bank serve --data-dir %s/data --code sdkb --bin 622202 --demo-data"
             " --fast-hash --listen 127.0.0.1:0 --print-url-file %s --notify-timeout 5s",
             bin, dir, url_file);
    bank_pid = th_spawn_sh(cmd);
    assert_int_equal(
        th_wait_url_file(bank_pid, url_file, bank_url, sizeof bank_url, TH_START_TIMEOUT_MS), 0);
    paygate_error e = {0};
    bank = open_bank("sdkb", &e);
    assert_non_null(bank);
    seen = paygate_seen_db_open(p("seen.db"));
    assert_non_null(seen);
    assert_int_equal(th_notify_server_start("sdk-bank-notify", on_notify, NULL, &srv, notify_url,
                                            sizeof notify_url),
                     0);
    return 0;
}

static int group_teardown(void **state)
{
    pay_http_server_free(srv);
    paygate_bank_free(bank);
    paygate_seen_db_close(seen);
    th_stop(&bank_pid, SIGTERM);
    th_tmpdir_done(dir);
    return 0;
}

static char cookie[300];

/* POSTs a form to the bank with the session cookie; returns the page (free it). */
static char *bank_post(const char *path, const char *form)
{
    char url[256], ch[400];
    snprintf(url, sizeof url, "%s%s", bank_url, path);
    snprintf(ch, sizeof ch, "Cookie: %s", cookie);
    const char *hdr[] = {"Content-Type: application/x-www-form-urlencoded", ch, NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true,
                                          .total_timeout_ms = 30000};
    struct pay_http_client_response r = {0};
    assert_int_equal(pay_http_client_request("POST", url, hdr, form, strlen(form), &opt, &r, NULL),
                     PAY_ERR_OK);
    char v[300];
    if (pay_http_client_response_header(&r, "Set-Cookie", v, sizeof v))
        snprintf(cookie, sizeof cookie, "%.*s", (int)strcspn(v, ";"), v);
    if (r.status != 200)
        fprintf(stderr, "%s -> %ld %.300s\n", path, r.status, pay_buf_str(&r.body));
    assert_int_equal(r.status, 200);
    char *page = strdup(pay_buf_str(&r.body));
    pay_http_client_response_fini(&r);
    return page;
}

static char *step(char *page, const char *path, const char *field, const char *value)
{
    char csrf[128];
    th_input_value(page, "csrf", csrf, sizeof csrf);
    struct pay_buf f;
    pay_buf_init(&f, 4096);
    assert_int_equal(pay_form_append(&f, "csrf", csrf), 0);
    if (field)
        assert_int_equal(pay_form_append(&f, field, value), 0);
    free(page);
    page = bank_post(path, pay_buf_str(&f));
    pay_buf_fini(&f);
    return page;
}

static void sms_code(char out[7])
{
    char url[256];
    snprintf(url, sizeof url, "%s/sandbox/sms?format=json", bank_url);
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    assert_int_equal(pay_http_client_request("GET", url, NULL, NULL, 0, &opt, &r, NULL), 0);
    const char *c = strstr(pay_buf_str(&r.body), "\"code\":\""); /* the newest comes first */
    assert_non_null(c);
    snprintf(out, 7, "%.6s", c + 8);
    pay_http_client_response_fini(&r);
}

static void form_accepted_and_paid_once(void **state)
{
    paygate_error e = {0};
    paygate_bank_order o = {.order_id = "SDK-1",
                            .amount = 12300,
                            .goods_name = "Tea",
                            .notify_url = notify_url,
                            .mer_var = "sdk"};
    char *form = paygate_bank_order_form(bank, &o, &e);
    assert_non_null(form);
    assert_non_null(strstr(form, bank_url));
    struct pay_buf f;
    pay_buf_init(&f, 1 << 16);
    static const char *const names[] = {"interfaceName", "interfaceVersion", "tranData",
                                        "merSignMsg", "merCert"};
    for (size_t i = 0; i < 5; i++) {
        char *v = calloc(1, 16384);
        th_input_value(form, names[i], v, 16384);
        assert_true(v[0] != '\0');
        assert_int_equal(pay_form_append(&f, names[i], v), 0);
        free(v);
    }
    free(form);
    char *page = bank_post("/b2c/pay", pay_buf_str(&f));
    pay_buf_fini(&f);
    assert_non_null(strstr(page, "data-page=\"card\""));
    page = step(page, "/b2c/card", "cardNo", "6222020000000015");
    page = step(page, "/b2c/password", "password", "123456");
    char code[7];
    sms_code(code);
    page = step(page, "/b2c/sms", "smsCode", code);
    page = step(page, "/b2c/confirm", NULL, NULL);
    assert_non_null(strstr(page, "data-page=\"result\""));
    free(page);
    pthread_mutex_lock(&mu);
    assert_int_equal(fulfilled, 1); /* HS: notified before the result page */
    assert_int_equal(refused, 0);
    pthread_mutex_unlock(&mu);
}

static void duplicate_tampered_and_mismatch(void **state)
{
    char body[8192];
    pthread_mutex_lock(&mu);
    snprintf(body, sizeof body, "%s", raw);
    pthread_mutex_unlock(&mu);
    paygate_bank_notification n;
    paygate_error e = {0};
    assert_int_equal(paygate_bank_notify_verify(bank, body, strlen(body), 12300, &n, &e),
                     PAYGATE_OK);
    assert_string_equal(n.order_id, "SDK-1");
    assert_string_equal(n.mer_var, "sdk");
    assert_int_equal(paygate_notify_once(n.notify_id, paygate_seen_db_fn, seen), PAYGATE_DUPLICATE);
    assert_int_equal(paygate_bank_notify_verify(bank, body, strlen(body), 12301, &n, &e),
                     PAYGATE_ERR_MISMATCH);
    char *nd = strstr(body, "notifyData=");
    assert_non_null(nd);
    nd[14] = nd[14] == 'A' ? 'B' : 'A'; /* one base64 character of the signed data */
    assert_int_equal(paygate_bank_notify_verify(bank, body, strlen(body), 0, &n, &e),
                     PAYGATE_ERR_SIGNATURE);
    assert_int_equal(paygate_bank_notify_verify(bank, "merVAR=x", 8, 0, &n, &e),
                     PAYGATE_ERR_SIGNATURE);
}

static void refunds_through_the_bank(void **state)
{
    paygate_error e = {0};
    assert_int_equal(paygate_bank_refund(bank, "SDK-1", "SDK-R1", 2300, &e), PAYGATE_OK);
    assert_int_equal(paygate_bank_refund(bank, "SDK-1", "SDK-R1", 2300, &e), PAYGATE_OK);
    assert_int_equal(paygate_bank_refund(bank, "SDK-1", "SDK-R2", 10001, &e), PAYGATE_ERR_REFUSED);
    assert_string_equal(e.code, "REFUND_EXCEEDS");
    assert_int_equal(paygate_bank_refund(bank, "NOPE", "SDK-R3", 1, &e), PAYGATE_ERR_REFUSED);
    assert_int_equal(e.http_status, 404);
    paygate_bank_order_status st;
    assert_int_equal(paygate_bank_query(bank, "SDK-1", &st, &e), PAYGATE_OK);
    assert_string_equal(st.status, "PAID");
    assert_int_equal(st.amount, 12300);
    assert_int_equal(st.refunded, 2300);
    assert_int_equal(paygate_bank_query(bank, "NOPE", &st, &e), PAYGATE_ERR_REFUSED);
}

static void wrong_bank_code_refused(void **state)
{
    paygate_error e = {0};
    assert_null(open_bank("otherbank", &e));
    assert_string_equal(e.code, "CERT_INVALID");
}

int main(int argc, char **argv)
{
    bin = th_binary_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(form_accepted_and_paid_once),
        cmocka_unit_test(duplicate_tampered_and_mismatch),
        cmocka_unit_test(refunds_through_the_bank),
        cmocka_unit_test(wrong_bank_code_refused),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
