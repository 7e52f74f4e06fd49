/* libpaygate's refusals, as a merchant meets them: every bad argument of the public API is
 * PAYGATE_ERR_ARG and changes nothing; unreadable keys and certificates are PAYGATE_ERR_IO; a
 * platform or bank that refuses connections, never answers or answers unsigned is
 * PAYGATE_ERR_NETWORK or PAYGATE_ERR_SIGNATURE; notifications signed with the pinned platform
 * key (or the bank's real key) but for another merchant, amount or without the needed fields
 * are refused with the right status; the seen store's failures are reported. The servers
 * here are sockets and an in-process HTTP server on ports they chose; the platform key is
 * one this test holds, pinned in the client; the bank's keys come from
 * `paygate bank merchant add`. */
#include "paygate.h"

#include "core/buf.h"
#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "crypto/x509.h"
#include "http/codec.h"
#include "http/server.h"
#include "lib/harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static const char *bin;
static char dir[256], key_file[300], pk_text[64];
static char refused_url[64], silent_url[64], unsigned_url[128];
static int refused_fd = -1, silent_fd = -1;
static struct pay_http_server *plain; /* answers, but signs nothing */
static uint8_t platform_seed[32];

static const char *p(const char *name)
{
    static char out[4][400];
    static int i;
    i = (i + 1) % 4;
    snprintf(out[i], sizeof out[i], "%s/%s", dir, name);
    return out[i];
}

static enum pay_err never_called(struct pay_http_request *req, struct pay_error *err)
{
    return pay_error_set(err, PAY_ERR_INTERNAL, NULL, "unexpected");
}

static int group_setup(void **state)
{
    assert_int_equal(pay_crypto_init(), 0);
    assert_int_equal(th_tmpdir(dir, sizeof dir, "paygate-sdkerr"), 0);
    struct pay_ed25519_key k;
    pay_ed25519_generate(&k);
    snprintf(key_file, sizeof key_file, "%s", p("merchant.key"));
    assert_int_equal(pay_ed25519_key_save(key_file, &k), 0);
    pay_ed25519_key_fini(&k);
    memset(platform_seed, 9, sizeof platform_seed);
    struct pay_ed25519_key pf;
    pay_ed25519_from_seed(&pf, platform_seed);
    pay_ed25519_pk_to_text(pk_text, pf.pk);
    pay_ed25519_key_fini(&pf);
    assert_int_equal(th_sh("mkdir -p %s && '%s' bank merchant add --data-dir %s --code sdkb "
                           "--bin 622202 --fast-hash --mer-id SDK0001 --name SDK "
                           "--referrer-domain 127.0.0.1 --notify-domain 127.0.0.1 --out %s "
                           ">%s 2>&1",
                           p("bank"), bin, p("bank/data"), p("mer"), p("bank/cli.log")),
                     0);
    refused_fd = th_loopback_socket(false, refused_url, sizeof refused_url);
    silent_fd = th_loopback_socket(true, silent_url, sizeof silent_url);
    assert_true(refused_fd >= 0 && silent_fd >= 0);
    assert_int_equal(th_notify_server_start("sdk-plain", never_called, NULL, &plain, unsigned_url,
                                            sizeof unsigned_url),
                     0);
    *strrchr(unsigned_url, '/') = '\0'; /* the server's base URL */
    return 0;
}

static int group_teardown(void **state)
{
    pay_http_server_free(plain);
    close(refused_fd);
    close(silent_fd);
    th_tmpdir_done(dir);
    return 0;
}

static paygate_client *client_at(const char *url, long timeout_ms, paygate_error *e)
{
    paygate_config cfg = {.platform_url = url,
                          .merchant_id = "m_sdk",
                          .key_file = key_file,
                          .platform_public_key = pk_text,
                          .timeout_ms = timeout_ms,
                          .allow_loopback = 1};
    return paygate_client_new(&cfg, e);
}

/* --- the platform client ------------------------------------------------------------------ */

static void status_names(void **state)
{
    static const struct {
        int status;
        const char *name;
    } names[] = {{PAYGATE_OK, "OK"},
                 {PAYGATE_ERR_ARG, "ARG"},
                 {PAYGATE_ERR_IO, "IO"},
                 {PAYGATE_ERR_NETWORK, "NETWORK"},
                 {PAYGATE_ERR_SIGNATURE, "SIGNATURE"},
                 {PAYGATE_ERR_STALE, "STALE"},
                 {PAYGATE_ERR_REFUSED, "REFUSED"},
                 {PAYGATE_ERR_MISMATCH, "MISMATCH"},
                 {PAYGATE_DUPLICATE, "DUPLICATE"},
                 {PAYGATE_ERR_INTERNAL, "INTERNAL"},
                 {-1000, "INTERNAL"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_string_equal(paygate_status_name(names[i].status), names[i].name);
}

static void client_config_refused(void **state)
{
    paygate_error e = {0};
    assert_null(paygate_client_new(NULL, &e));
    assert_string_equal(e.message, "platform_url, merchant_id, key_file needed");
    paygate_config cfg = {.platform_url = refused_url, .merchant_id = "m", .key_file = NULL};
    assert_null(paygate_client_new(&cfg, &e));
    char long_id[200];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    cfg =
        (paygate_config){.platform_url = refused_url, .merchant_id = long_id, .key_file = key_file};
    assert_null(paygate_client_new(&cfg, &e));
    cfg = (paygate_config){
        .platform_url = refused_url, .merchant_id = "m", .key_file = p("no-such.key")};
    memset(&e, 0, sizeof e);
    assert_null(paygate_client_new(&cfg, &e));
    assert_non_null(strstr(e.message, "cannot read key"));
    cfg.key_file = key_file;
    cfg.platform_public_key = "not base64 at all";
    assert_null(paygate_client_new(&cfg, &e));
    assert_string_equal(e.message, "platform_public_key malformed");
    paygate_client_free(NULL); /* harmless */
}

/* Without a pinned key the client fetches it: a refused connection is NETWORK, a server
 * without the key (404) REFUSED; a pinned key is used as given, trailing slashes dropped. */
static void platform_key_fetch_fails(void **state)
{
    paygate_error e = {0};
    paygate_config cfg = {.platform_url = refused_url,
                          .merchant_id = "m_sdk",
                          .key_file = key_file,
                          .allow_loopback = 1};
    assert_null(paygate_client_new(&cfg, &e));
    assert_non_null(strstr(e.message, "platform key"));
    cfg.platform_url = unsigned_url;
    memset(&e, 0, sizeof e);
    assert_null(paygate_client_new(&cfg, &e));
    assert_int_equal(e.http_status, 404);
    assert_non_null(strstr(e.message, "no platform key at"));
    char slashed[160];
    snprintf(slashed, sizeof slashed, "%s//", unsigned_url);
    paygate_client *c = client_at(slashed, 0, &e);
    assert_non_null(c);
    assert_string_equal(paygate_client_platform_key(c), pk_text);
    paygate_client_free(c);
}

static void api_arguments_refused(void **state)
{
    paygate_error e = {0};
    paygate_client *c = client_at(refused_url, 0, &e);
    assert_non_null(c);
    paygate_trade t;
    paygate_trade_request ok = {.out_trade_no = "O-1", .amount = 100, .subject = "s"};
    paygate_trade_request bad[] = {
        {.out_trade_no = "O 1", .amount = 100, .subject = "s"},  /* space */
        {.out_trade_no = "", .amount = 100, .subject = "s"},     /* empty */
        {.out_trade_no = NULL, .amount = 100, .subject = "s"},   /* none */
        {.out_trade_no = "O-1", .amount = 0, .subject = "s"},    /* not positive */
        {.out_trade_no = "O-1", .amount = 100, .subject = NULL}, /* no subject */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(paygate_trade_create(c, &bad[i], &t, &e), PAYGATE_ERR_ARG);
    char long_no[80];
    memset(long_no, '7', 65);
    long_no[65] = '\0';
    bad[0].out_trade_no = long_no;
    assert_int_equal(paygate_trade_create(c, &bad[0], &t, &e), PAYGATE_ERR_ARG);
    ok.currency = "XX";
    assert_int_equal(paygate_trade_create(c, &ok, &t, &e), PAYGATE_ERR_ARG);
    assert_string_equal(e.message, "bad amount or currency");
    assert_int_equal(paygate_trade_create(NULL, &ok, &t, &e), PAYGATE_ERR_ARG);
    assert_int_equal(paygate_trade_query(c, "bad/no", &t, &e), PAYGATE_ERR_ARG);
    assert_int_equal(paygate_trade_close(c, NULL, &t, &e), PAYGATE_ERR_ARG);
    paygate_refund r;
    assert_int_equal(paygate_trade_refund(c, "tr_1", "R?", 100, "CNY", NULL, &r, &e),
                     PAYGATE_ERR_ARG);
    assert_int_equal(paygate_trade_refund(c, "tr_1", "R-1", -5, "CNY", NULL, &r, &e),
                     PAYGATE_ERR_ARG);
    assert_int_equal(paygate_trade_refund(c, "tr_1", "R-1", 5, "cny", NULL, &r, &e),
                     PAYGATE_ERR_ARG);
    paygate_balance bal[2];
    size_t n = 7;
    assert_int_equal(paygate_balance_query(c, "usd", bal, 2, &n, &e), PAYGATE_ERR_ARG);
    assert_int_equal(n, 0);
    assert_int_equal(paygate_balance_query(c, NULL, NULL, 2, &n, &e), PAYGATE_ERR_ARG);
    assert_int_equal(paygate_balance_query(c, "USDX", bal, 2, &n, &e), PAYGATE_ERR_ARG);
    paygate_client_free(c);
}

/* No answer (refused, or nothing within timeout_ms) is NETWORK; an answer without the
 * platform's signature is SIGNATURE, whatever it says. */
static void calls_without_a_signed_answer(void **state)
{
    paygate_error e = {0};
    paygate_trade_request req = {.out_trade_no = "O-2", .amount = 100, .subject = "s"};
    paygate_trade t;
    paygate_client *c = client_at(refused_url, 0, &e);
    assert_int_equal(paygate_trade_create(c, &req, &t, &e), PAYGATE_ERR_NETWORK);
    assert_int_equal(e.http_status, 0);
    paygate_client_free(c);

    c = client_at(silent_url, 300, &e);
    time_t t0 = time(NULL);
    assert_int_equal(paygate_trade_query(c, "O-2", &t, &e), PAYGATE_ERR_NETWORK);
    assert_true(time(NULL) - t0 < 5); /* bounded by timeout_ms */
    paygate_client_free(c);

    c = client_at(unsigned_url, 0, &e);
    assert_int_equal(paygate_trade_create(c, &req, &t, &e), PAYGATE_ERR_SIGNATURE);
    assert_int_equal(e.http_status, 404);
    paygate_refund r;
    assert_int_equal(paygate_trade_refund(c, "tr_1", "R-1", 5, NULL, "why", &r, &e),
                     PAYGATE_ERR_SIGNATURE);
    assert_int_equal(paygate_trade_close(c, "tr_1", &t, &e), PAYGATE_ERR_SIGNATURE);
    paygate_balance bal[1];
    size_t n = 0;
    assert_int_equal(paygate_balance_query(c, "CNY", bal, 1, &n, &e), PAYGATE_ERR_SIGNATURE);
    paygate_client_free(c);
}

/* --- platform notifications --------------------------------------------------------------- */

/* A notification signed with the pinned platform key (this test's), verified by c. */
static int notify(paygate_client *c, const char *body, int64_t expected, paygate_notification *n,
                  paygate_error *e)
{
    paygate_signer s = {.key_id = "paygate-platform", .ed25519_seed = platform_seed};
    char sig[1100];
    assert_int_equal(
        paygate_sign_request(&s, "POST", "/notify", 0, NULL, body, strlen(body), sig, sizeof sig),
        PAYGATE_OK);
    return paygate_notify_verify(c, "/notify", sig, body, strlen(body), expected, n, e);
}

static void notifications_checked(void **state)
{
    paygate_error e = {0};
    paygate_client *c = client_at(refused_url, 0, &e);
    paygate_notification n;
    const char *good = "{\"event\":\"trade.state\",\"notify_id\":\"nt_1\",\"trade\":{"
                       "\"trade_id\":\"tr_1\",\"merchant_id\":\"m_sdk\",\"out_trade_no\":\"O-1\","
                       "\"state\":\"TRADE_SUCCESS\",\"amount\":{\"value\":\"12.30\","
                       "\"currency\":\"CNY\"},\"fee\":{\"value\":\"0.07\",\"currency\":\"CNY\"}}}";
    assert_int_equal(notify(c, good, 1230, &n, &e), PAYGATE_OK);
    assert_string_equal(n.notify_id, "nt_1");
    assert_int_equal(n.trade.amount, 1230);
    assert_int_equal(n.trade.fee, 7);
    assert_int_equal(notify(c, good, 1231, &n, &e), PAYGATE_ERR_MISMATCH);
    assert_string_equal(e.code, "AMOUNT_MISMATCH");
    assert_int_equal(notify(c, "{\"notify_id\":\"nt_2\"}", 0, &n, &e), PAYGATE_ERR_ARG);
    assert_string_equal(e.code, "JSON_INVALID");
    assert_int_equal(notify(c, "[1,2", 0, &n, &e), PAYGATE_ERR_ARG); /* not even JSON */
    const char *other = "{\"notify_id\":\"nt_3\",\"trade\":{\"merchant_id\":\"m_other\","
                        "\"amount\":{\"value\":\"1.00\",\"currency\":\"CNY\"}}}";
    assert_int_equal(notify(c, other, 0, &n, &e), PAYGATE_ERR_MISMATCH);
    assert_string_equal(e.code, "MERCHANT_MISMATCH");
    const char *no_id = "{\"trade\":{\"merchant_id\":\"m_sdk\","
                        "\"amount\":{\"value\":\"1.00\",\"currency\":\"CNY\"}}}";
    assert_int_equal(notify(c, no_id, 0, &n, &e), PAYGATE_ERR_ARG);
    const char *no_amount = "{\"notify_id\":\"nt_4\",\"trade\":{\"merchant_id\":\"m_sdk\","
                            "\"amount\":{\"value\":\"1.001\",\"currency\":\"CNY\"}}}";
    assert_int_equal(notify(c, no_amount, 0, &n, &e), PAYGATE_ERR_ARG);
    assert_string_equal(e.code, "FIELD_INVALID");
    assert_int_equal(paygate_notify_verify(c, NULL, "x", "{}", 2, 0, &n, &e), PAYGATE_ERR_ARG);
    assert_int_equal(paygate_notify_verify(c, "/notify", "x", NULL, 2, 0, &n, &e), PAYGATE_ERR_ARG);
    assert_int_equal(paygate_notify_verify(c, "/notify", NULL, good, strlen(good), 0, &n, &e),
                     PAYGATE_ERR_SIGNATURE);
    paygate_client_free(c);
}

static int failing_seen(void *ctx, const char *id)
{
    return -1;
}

static void seen_store_failures(void **state)
{
    assert_null(paygate_seen_db_open(dir)); /* a directory is no database */
    assert_int_equal(paygate_seen_db_fn(NULL, "nt_1"), -1);
    assert_int_equal(paygate_notify_once("nt_1", failing_seen, NULL), PAYGATE_ERR_INTERNAL);
    assert_int_equal(paygate_notify_once("", failing_seen, NULL), PAYGATE_ERR_ARG);
    assert_int_equal(paygate_notify_once("nt_1", NULL, NULL), PAYGATE_ERR_ARG);
    paygate_seen_db *db = paygate_seen_db_open(p("seen.db"));
    assert_non_null(db);
    assert_int_equal(paygate_notify_once("nt_1", paygate_seen_db_fn, db), PAYGATE_OK);
    assert_int_equal(paygate_notify_once("nt_1", paygate_seen_db_fn, db), PAYGATE_DUPLICATE);
    paygate_seen_db_close(db);
    paygate_seen_db_close(NULL);
}

static void low_level_arguments(void **state)
{
    char out[1100];
    paygate_signer none = {.key_id = "k"};
    assert_int_equal(paygate_sign_request(&none, "GET", "/", 0, NULL, NULL, 0, out, sizeof out),
                     PAYGATE_ERR_ARG);
    assert_int_equal(paygate_sign_request(NULL, "GET", "/", 0, NULL, NULL, 0, out, sizeof out),
                     PAYGATE_ERR_ARG);
    paygate_signer seed = {.key_id = "k", .ed25519_seed = platform_seed};
    assert_int_equal(paygate_sign_request(&seed, "GET", "/", 0, NULL, NULL, 3, out, sizeof out),
                     PAYGATE_ERR_ARG); /* a length without a body */
    assert_int_equal(paygate_sign_request(&seed, "GET", "/", 0, NULL, NULL, 0, out, 10),
                     PAYGATE_ERR_ARG); /* no room */
    paygate_signer rsa = {.key_id = "k", .rsa_private_pem = "-----BEGIN PRIVATE KEY-----\nx"};
    assert_int_equal(paygate_sign_request(&rsa, "GET", "/", 0, NULL, NULL, 0, out, sizeof out),
                     PAYGATE_ERR_ARG);
    assert_int_equal(paygate_verify_response("k", "short", "h", 200, "n", "", 0, 0),
                     PAYGATE_ERR_ARG);
    assert_int_equal(paygate_verify_response(NULL, pk_text, "h", 200, "n", "", 0, 0),
                     PAYGATE_ERR_ARG);
    assert_int_equal(paygate_verify_response("k", pk_text, NULL, 200, NULL, "", 0, 0),
                     PAYGATE_ERR_SIGNATURE);
}

/* --- a bank's B2C gateway ----------------------------------------------------------------- */

static paygate_bank *bank_at(const char *url, const char *ca, const char *code, paygate_error *e)
{
    paygate_bank_config bc = {.gateway_url = url,
                              .merchant_dir = p("mer"),
                              .bank_cert_file = p("bank/data/keys/sign.crt"),
                              .ca_file = ca,
                              .bank_code = code,
                              .timeout_ms = 300,
                              .allow_loopback = 1};
    return paygate_bank_new(&bc, e);
}

static void bank_config_refused(void **state)
{
    paygate_error e = {0};
    assert_null(paygate_bank_new(NULL, &e));
    char cert[400], mer[400];
    snprintf(cert, sizeof cert, "%s", p("bank/data/keys/sign.crt"));
    snprintf(mer, sizeof mer, "%s", p("nowhere"));
    paygate_bank_config bc = {
        .gateway_url = refused_url, .merchant_dir = mer, .bank_cert_file = cert};
    assert_null(paygate_bank_new(&bc, &e));
    assert_non_null(strstr(e.message, "cannot read merchant.key"));
    /* a directory whose merchant.key is not an RSA key */
    snprintf(mer, sizeof mer, "%s", p("mer-ed"));
    assert_int_equal(th_sh("mkdir -p %s && cp %s/merchant.crt %s/merchant.json %s/ && "
                           "cp %s %s/merchant.key",
                           mer, p("mer"), p("mer"), mer, key_file, mer),
                     0);
    assert_null(paygate_bank_new(&bc, &e));
    assert_string_equal(e.message, "merchant.key is not an RSA key");
    /* the bank's certificate checked against a CA that is missing, or for another bank */
    assert_null(bank_at(refused_url, p("no-ca.crt"), "sdkb", &e));
    assert_string_equal(e.code, "CERT_INVALID");
    assert_null(bank_at(refused_url, p("bank/data/keys/ca.crt"), "icbc", &e));
    assert_string_equal(e.code, "CERT_INVALID");
    paygate_bank *b = bank_at(refused_url, p("bank/data/keys/ca.crt"), "sdkb", &e);
    assert_non_null(b);
    paygate_bank_free(b);
    paygate_bank_free(NULL);
}

static void bank_calls_refused(void **state)
{
    paygate_error e = {0};
    paygate_bank *b = bank_at(refused_url, NULL, NULL, &e);
    assert_non_null(b);
    paygate_bank_order o = {.order_id = "B-1", .amount = 100, .goods_name = "g"};
    assert_null(paygate_bank_order_form(b, &o, &e)); /* no notify_url */
    assert_null(paygate_bank_order_form(NULL, &o, &e));
    assert_int_equal(paygate_bank_refund(b, "B-1", NULL, 100, &e), PAYGATE_ERR_ARG);
    assert_int_equal(paygate_bank_refund(b, "B-1", "R-1", 0, &e), PAYGATE_ERR_ARG);
    paygate_bank_order_status st;
    assert_int_equal(paygate_bank_query(b, NULL, &st, &e), PAYGATE_ERR_ARG);
    assert_int_equal(paygate_bank_refund(b, "B-1", "R-1", 100, &e), PAYGATE_ERR_NETWORK);
    assert_int_equal(paygate_bank_query(b, "B-1", &st, &e), PAYGATE_ERR_NETWORK);
    paygate_bank_free(b);
    b = bank_at(silent_url, NULL, NULL, &e);
    assert_int_equal(paygate_bank_query(b, "B-1", &st, &e), PAYGATE_ERR_NETWORK);
    paygate_bank_free(b);
    b = bank_at(unsigned_url, NULL, NULL, &e);
    assert_int_equal(paygate_bank_query(b, "B-1", &st, &e), PAYGATE_ERR_SIGNATURE);
    assert_string_equal(e.code, "SIGNATURE_MISSING");
    paygate_bank_free(b);
}

/* A bank notification whose notifyData is doc, signed with the key in key_file. */
static int bank_notify(paygate_bank *b, const char *key_file_, const char *doc, int64_t expected,
                       paygate_bank_notification *n, paygate_error *e)
{
    char sig[1024], b64[2048];
    char *key = pay_file_read(key_file_, 1 << 16, NULL);
    assert_non_null(key);
    assert_int_equal(pay_x509_sign(key, doc, strlen(doc), sig, sizeof sig), 0);
    free(key);
    assert_int_equal(pay_base64_encode(b64, sizeof b64, doc, strlen(doc)), 0);
    struct pay_buf f;
    pay_buf_init(&f, 8192);
    assert_int_equal(pay_form_append(&f, "notifyData", b64) | pay_form_append(&f, "signMsg", sig),
                     0);
    int rc = paygate_bank_notify_verify(b, f.data, f.len, expected, n, e);
    pay_buf_fini(&f);
    return rc;
}

static void bank_notifications_checked(void **state)
{
    paygate_error e = {0};
    paygate_bank *b = bank_at(refused_url, NULL, NULL, &e);
    paygate_bank_notification n;
    const char *bank_key = p("bank/data/keys/sign.key");
    const char *good = "{\"merID\":\"SDK0001\",\"orderId\":\"B-1\",\"tranSerialNo\":\"T1\","
                       "\"notifyId\":\"bn_1\",\"tranStatus\":\"SUCCESS\",\"currency\":\"CNY\","
                       "\"amount\":28800,\"merVAR\":\"v\"}";
    assert_int_equal(bank_notify(b, bank_key, good, 28800, &n, &e), PAYGATE_OK);
    assert_string_equal(n.order_id, "B-1");
    assert_string_equal(n.mer_var, "v");
    assert_int_equal(bank_notify(b, bank_key, good, 100, &n, &e), PAYGATE_ERR_MISMATCH);
    assert_string_equal(e.code, "AMOUNT_MISMATCH");
    assert_int_equal(bank_notify(b, p("mer/merchant.key"), good, 0, &n, &e),
                     PAYGATE_ERR_SIGNATURE); /* not the bank's key */
    const char *other = "{\"merID\":\"OTHER01\",\"orderId\":\"B-1\",\"notifyId\":\"bn_2\","
                        "\"amount\":100}";
    assert_int_equal(bank_notify(b, bank_key, other, 0, &n, &e), PAYGATE_ERR_MISMATCH);
    assert_string_equal(e.code, "MERCHANT_MISMATCH");
    const char *partial = "{\"merID\":\"SDK0001\",\"orderId\":\"B-1\",\"amount\":\"100\"}";
    assert_int_equal(bank_notify(b, bank_key, partial, 0, &n, &e), PAYGATE_ERR_ARG);
    assert_string_equal(e.code, "FIELD_INVALID");
    const char *no_sig = "notifyData=e30%3D";
    assert_int_equal(paygate_bank_notify_verify(b, no_sig, strlen(no_sig), 0, &n, &e),
                     PAYGATE_ERR_SIGNATURE);
    assert_string_equal(e.code, "SIGNATURE_MISSING");
    assert_int_equal(paygate_bank_notify_verify(b, "a=%zz", 5, 0, &n, &e), PAYGATE_ERR_ARG);
    assert_int_equal(paygate_bank_notify_verify(b, NULL, 0, 0, &n, &e), PAYGATE_ERR_ARG);
    paygate_bank_free(b);
}

int main(int argc, char **argv)
{
    bin = th_binary_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_names),
        cmocka_unit_test(client_config_refused),
        cmocka_unit_test(platform_key_fetch_fails),
        cmocka_unit_test(api_arguments_refused),
        cmocka_unit_test(calls_without_a_signed_answer),
        cmocka_unit_test(notifications_checked),
        cmocka_unit_test(seen_store_failures),
        cmocka_unit_test(low_level_arguments),
        cmocka_unit_test(bank_config_refused),
        cmocka_unit_test(bank_calls_refused),
        cmocka_unit_test(bank_notifications_checked),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
