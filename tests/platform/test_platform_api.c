/* Integration tests of the platform's open API against the real `paygate platform` process:
 * signed requests and answers, create/query/close, duplicate out_trade_no, Idempotency-Key
 * replay/mismatch/concurrency, strict validation, merchant isolation, forged/stale/replayed
 * signatures, expiry, SSRF refusal, and notification delivery with retries and a restart. */
#include "harness.h"
#include "lib/clock.h"
#include "lib/harness.h"

#include "core/clock.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "crypto/sig.h"
#include "http/client.h"
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OP_TOKEN "op-token-0123456789abcdefghij"

static struct h_platform pf;
static struct h_merchant ma, mb;

static int group_setup(void **state)
{
    /* on the test clock: time moves only when a test moves it (th_clock_advance) */
    h_setup(&pf, &ma, &mb,
            "timeout_min = 1s\noperator_token = " OP_TOKEN "\n[server]\nfake_clock = true");
    h_start(&pf);
    return 0;
}

static int group_teardown(void **state)
{
    h_teardown_verified(&pf);
    return 0;
}

static void create_query_close(void **state)
{
    const char *id0 = h_create_trade(&pf, &ma, "order-1", "12.30", NULL);
    char id[64];
    snprintf(id, sizeof id, "%s", id0);
    assert_int_equal(strncmp(id, "tr_", 3), 0);
    struct h_reply r;
    char path[128];
    snprintf(path, sizeof path, "/v1/trades/%s", id);
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(r.sig_ok);
    assert_string_equal(h_str(r.json, "state"), "WAIT_BUYER_PAY");
    assert_string_equal(h_str(r.json, "amount.value"), "12.30");
    assert_string_equal(h_str(r.json, "amount.currency"), "CNY");
    assert_non_null(strstr(h_str(r.json, "cashier_url"), "/cashier/tr_"));
    h_reply_fini(&r);
    h_call(&pf, &ma, "GET", "/v1/trades?out_trade_no=order-1", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(h_str(r.json, "trade_id"), id);
    h_reply_fini(&r);
    /* close, then close again: only an unpaid trade can be closed */
    snprintf(path, sizeof path, "/v1/trades/%s/close", id);
    h_call(&pf, &ma, "POST", path, NULL, "close-1", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(h_str(r.json, "state"), "TRADE_CLOSED");
    assert_string_equal(h_str(r.json, "close_reason"), "closed");
    h_reply_fini(&r);
    h_call(&pf, &ma, "POST", path, NULL, "close-2", &r);
    assert_int_equal(r.status, 409);
    assert_true(r.sig_ok);
    assert_string_equal(h_err_code(&r), "TRADE_STATE_INVALID");
    h_reply_fini(&r);
    /* a refund of an unpaid trade is refused */
    snprintf(path, sizeof path, "/v1/trades/%s/refunds", id);
    h_call(&pf, &ma, "POST", path,
           "{\"out_refund_no\":\"r1\",\"amount\":{\"value\":\"1.00\",\"currency\":\"CNY\"}}",
           "refund-unpaid", &r);
    assert_int_equal(r.status, 409);
    assert_string_equal(h_err_code(&r), "TRADE_STATE_INVALID");
    h_reply_fini(&r);
}

static void duplicate_out_trade_no(void **state)
{
    h_create_trade(&pf, &ma, "dup-1", "1.00", NULL);
    struct h_reply r;
    h_call(&pf, &ma, "POST", "/v1/trades",
           "{\"out_trade_no\":\"dup-1\",\"amount\":{\"value\":\"1.00\",\"currency\":\"CNY\"},"
           "\"subject\":\"again\"}",
           "dup-other-key", &r);
    assert_int_equal(r.status, 409);
    assert_string_equal(h_err_code(&r), "DUPLICATE");
    assert_string_equal(h_str(r.json, "error.field"), "out_trade_no");
    h_reply_fini(&r);
    /* the same out_trade_no is fine for another merchant */
    h_create_trade(&pf, &mb, "dup-1", "1.00", NULL);
}

static const char idem_body[] =
    "{\"out_trade_no\":\"idem-1\",\"amount\":{\"value\":\"5.00\",\"currency\":\"CNY\"},"
    "\"subject\":\"idem\"}";

static void idempotency_replay_and_mismatch(void **state)
{
    struct h_reply a, b, c;
    h_call(&pf, &ma, "POST", "/v1/trades", idem_body, "key-idem-1", &a);
    assert_int_equal(a.status, 201);
    assert_false(a.replayed);
    h_call(&pf, &ma, "POST", "/v1/trades", idem_body, "key-idem-1", &b);
    assert_int_equal(b.status, 201);
    assert_true(b.replayed);
    assert_true(b.sig_ok); /* re-signed for the new request */
    assert_string_equal(a.body, b.body);
    h_call(&pf, &ma, "POST", "/v1/trades",
           "{\"out_trade_no\":\"idem-2\",\"amount\":{\"value\":\"5.00\",\"currency\":\"CNY\"},"
           "\"subject\":\"idem\"}",
           "key-idem-1", &c);
    assert_int_equal(c.status, 422);
    assert_string_equal(h_err_code(&c), "IDEMPOTENCY_KEY_REUSED");
    h_reply_fini(&a);
    h_reply_fini(&b);
    h_reply_fini(&c);
    /* another merchant's key space is its own */
    h_call(&pf, &mb, "POST", "/v1/trades", idem_body, "key-idem-1", &a);
    assert_int_equal(a.status, 201);
    assert_false(a.replayed);
    h_reply_fini(&a);
    /* a POST without the header is refused */
    h_call(&pf, &ma, "POST", "/v1/trades", idem_body, NULL, &a);
    assert_int_equal(a.status, 400);
    assert_string_equal(h_str(a.json, "error.field"), "Idempotency-Key");
    h_reply_fini(&a);
}

#define N_CONC 16
static struct h_reply conc[N_CONC];
static void *conc_call(void *arg)
{
    struct h_reply *r = arg;
    h_call(&pf, &ma, "POST", "/v1/trades",
           "{\"out_trade_no\":\"conc-1\",\"amount\":{\"value\":\"7.00\",\"currency\":\"CNY\"},"
           "\"subject\":\"c\"}",
           "key-conc", r);
    return NULL;
}

/* The same key and bytes from 16 threads at once: the Idempotency-Key check, the trade and
 * the stored answer are one committer command, so whichever is applied first creates the trade
 * and every other gets its answer replayed byte for byte; none waits with 409. */
static void idempotency_concurrent(void **state)
{
    pthread_t t[N_CONC];
    for (int i = 0; i < N_CONC; i++)
        pthread_create(&t[i], NULL, conc_call, &conc[i]);
    for (int i = 0; i < N_CONC; i++)
        pthread_join(t[i], NULL);
    int first = -1, replayed = 0;
    for (int i = 0; i < N_CONC; i++) {
        assert_int_equal(conc[i].status, 201);
        assert_true(conc[i].sig_ok);
        if (conc[i].replayed) {
            replayed++;
        } else {
            assert_int_equal(first, -1); /* one trade, made once */
            first = i;
        }
    }
    assert_true(first >= 0);
    assert_int_equal(replayed, N_CONC - 1);
    for (int i = 0; i < N_CONC; i++)
        assert_string_equal(conc[i].body, conc[first].body); /* byte for byte */
    for (int i = 0; i < N_CONC; i++)
        h_reply_fini(&conc[i]);
}

struct legacy_claim {
    const char *key, *hash;
    int64_t created_ms;
};

static enum pay_err insert_claim(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    const struct legacy_claim *l = ctx;
    return pay_store_exec(tx, err,
                          "INSERT INTO pf_idempotency (merchant_id, key, request_hash, status,"
                          " created_ms) VALUES ('m_a', $1, $2, 'in_progress', $3)",
                          "tti", l->key, l->hash, l->created_ms);
}

/* Writes the claim an older platform made in a transaction of its own before running the
 * request (the running platform sees it like any other writer's row). */
static void legacy_claim(const char *key, const char *body, int64_t age_ms)
{
    char material[512], hash[PAY_SHA256_HEX_LEN];
    int n = snprintf(material, sizeof material, "POST /v1/trades\n%s", body);
    pay_sha256_hex(hash, material, (size_t)n);
    struct pay_store *st = NULL;
    assert_int_equal(pay_store_open(pf.db, NULL, NULL, &st, NULL), PAY_ERR_OK); /* or its URL */
    int64_t now = th_clock_now_ms(pf.url); /* the platform's business time (a test clock) */
    assert_true(now > 0);
    struct legacy_claim l = {key, hash, now - age_ms};
    assert_int_equal(pay_store_run_tx(st, insert_claim, &l, NULL), PAY_ERR_OK);
    pay_store_close(st);
}

/* Records "in_progress" come only from versions that claimed the key in a transaction of
 * its own: a young one still answers 409; one older than a minute (its process died) is taken
 * over, and its answer then stored and replayed. */
static void idempotency_legacy_claims(void **state)
{
    const char *young = "{\"out_trade_no\":\"legacy-1\",\"amount\":{\"value\":\"1.00\","
                        "\"currency\":\"CNY\"},\"subject\":\"l\"}";
    const char *old = "{\"out_trade_no\":\"legacy-2\",\"amount\":{\"value\":\"1.00\","
                      "\"currency\":\"CNY\"},\"subject\":\"l\"}";
    legacy_claim("key-legacy-young", young, 0);
    legacy_claim("key-legacy-old", old, 61000);
    struct h_reply a, b;
    h_call(&pf, &ma, "POST", "/v1/trades", young, "key-legacy-young", &a);
    assert_int_equal(a.status, 409);
    assert_string_equal(h_err_code(&a), "IDEMPOTENCY_IN_PROGRESS");
    assert_true(a.sig_ok);
    h_reply_fini(&a);
    h_call(&pf, &ma, "POST", "/v1/trades", old, "key-legacy-old", &a);
    assert_int_equal(a.status, 201);
    assert_false(a.replayed);
    h_call(&pf, &ma, "POST", "/v1/trades", old, "key-legacy-old", &b);
    assert_int_equal(b.status, 201);
    assert_true(b.replayed);
    assert_string_equal(a.body, b.body);
    h_reply_fini(&a);
    h_reply_fini(&b);
}

static void expect_field_error(const char *body, long status, const char *code, const char *field)
{
    static int n;
    char idem[32];
    snprintf(idem, sizeof idem, "bad-%d", n++);
    struct h_reply r;
    h_call(&pf, &ma, "POST", "/v1/trades", body, idem, &r);
    if (r.status != status || strcmp(h_err_code(&r), code) != 0)
        fprintf(stderr, "body %s -> %ld %s\n", body, r.status, r.body);
    assert_int_equal(r.status, status);
    assert_true(r.sig_ok);
    assert_string_equal(h_err_code(&r), code);
    assert_string_equal(h_str(r.json, "error.field"), field);
    h_reply_fini(&r);
}

/* paygate_http_errors_total of code on the platform's /metrics (0 when not there yet). */
static long errors_counted(const char *code)
{
    struct h_reply r;
    h_call_raw(&pf, "GET", "/metrics", NULL, NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    char key[96];
    snprintf(key, sizeof key, ",code=\"%s\"} ", code);
    const char *at = strstr(r.body, key);
    long n = at ? strtol(at + strlen(key), NULL, 10) : 0;
    h_reply_fini(&r);
    return n;
}

static void validation(void **state)
{
    /* API refusals go through the one error path: each counted in /metrics */
    long currency0 = errors_counted("CURRENCY_UNKNOWN"), json0 = errors_counted("JSON_INVALID");
    expect_field_error("{\"out_trade_no\":\"v1\",\"subject\":\"s\"}", 400, "FIELD_MISSING",
                       "amount");
    expect_field_error("{\"out_trade_no\":\"v1\",\"subject\":\"s\",\"amount\":{\"value\":"
                       "\"1.234\",\"currency\":\"CNY\"}}",
                       400, "AMOUNT_INVALID", "amount.value");
    expect_field_error("{\"out_trade_no\":\"v1\",\"subject\":\"s\",\"amount\":{\"value\":"
                       "\"0.00\",\"currency\":\"CNY\"}}",
                       400, "AMOUNT_NOT_POSITIVE", "amount.value");
    expect_field_error("{\"out_trade_no\":\"v1\",\"subject\":\"s\",\"amount\":{\"value\":"
                       "\"1.00\",\"currency\":\"XXY\"}}",
                       400, "CURRENCY_UNKNOWN", "amount.currency");
    expect_field_error("{\"out_trade_no\":\"v 1\",\"subject\":\"s\",\"amount\":{\"value\":"
                       "\"1.00\",\"currency\":\"CNY\"}}",
                       400, "FIELD_INVALID", "out_trade_no");
    expect_field_error("{\"out_trade_no\":\"v1\",\"subject\":\"s\",\"amount\":{\"value\":"
                       "\"1.00\",\"currency\":\"CNY\"},\"timeout\":\"16d\"}",
                       400, "FIELD_INVALID", "timeout");
    expect_field_error("{\"out_trade_no\":\"v1\",\"subject\":\"s\",\"amount\":{\"value\":"
                       "\"1.00\",\"currency\":\"CNY\"},\"product\":\"barter\"}",
                       400, "FIELD_INVALID", "product");
    expect_field_error("{\"out_trade_no\":\"v1\",\"subject\":\"s\",\"amount\":{\"value\":"
                       "\"1.00\",\"currency\":\"CNY\"},\"notify_url\":\"http://evil.example/n\"}",
                       400, "NOTIFY_URL_INVALID", "notify_url");
    expect_field_error("{\"out_trade_no\":\"v1\",\"subject\":\"s\",\"amount\":{\"value\":"
                       "\"1.00\",\"currency\":\"CNY\"},\"notify_ur1\":\"x\"}",
                       400, "FIELD_INVALID", "notify_ur1");
    expect_field_error("{\"out_trade_no\":\"v1\",\"subject\":\"s\",\"amount\":{\"value\":"
                       "\"1.00\",\"currency\":\"CNY\",\"scale\":2}}",
                       400, "FIELD_INVALID", "amount.scale");
    expect_field_error("{\"out_trade_no\":\"v1\",\"subject\":\"s\",\"amount\":{\"value\":"
                       "\"1.00000000000000000000000000000000000000\",\"currency\":\"CNY\"}}",
                       400, "FIELD_TOO_LONG", "amount.value");
    expect_field_error("{\"out_trade_no\":\"v1\"", 400, "JSON_INVALID", "");
    assert_int_equal(errors_counted("CURRENCY_UNKNOWN"), currency0 + 1);
    assert_int_equal(errors_counted("JSON_INVALID"), json0 + 1);
}

static void isolation(void **state)
{
    char id[64], path[128];
    snprintf(id, sizeof id, "%s", h_create_trade(&pf, &ma, "iso-1", "3.00", NULL));
    struct h_reply r;
    snprintf(path, sizeof path, "/v1/trades/%s", id);
    h_call(&pf, &mb, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(h_err_code(&r), "TRADE_NOT_FOUND");
    assert_string_equal(h_str(r.json, "error.field"), "trade_id"); /* as docs/api.md shows */
    h_reply_fini(&r);
    h_call(&pf, &mb, "GET", "/v1/trades?out_trade_no=iso-1", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(h_str(r.json, "error.field"), "out_trade_no");
    h_reply_fini(&r);
    snprintf(path, sizeof path, "/v1/trades/%s/refunds?out_refund_no=none", id);
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(h_err_code(&r), "REFUND_NOT_FOUND");
    assert_string_equal(h_str(r.json, "error.field"), "out_refund_no");
    h_reply_fini(&r);
    snprintf(path, sizeof path, "/v1/trades/%s/close", id);
    h_call(&pf, &mb, "POST", path, NULL, "iso-close", &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(h_err_code(&r), "TRADE_NOT_FOUND");
    h_reply_fini(&r);
    snprintf(path, sizeof path, "/v1/notifications?trade_id=%s", id);
    h_call(&pf, &mb, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(h_str(r.json, "error.field"), "trade_id");
    h_reply_fini(&r);
    snprintf(path, sizeof path, "/v1/trades/%s", id); /* still open for its owner */
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_string_equal(h_str(r.json, "state"), "WAIT_BUYER_PAY");
    h_reply_fini(&r);
}

static void signatures(void **state)
{
    struct h_reply r;
    h_call_raw(&pf, "GET", "/v1/trades?out_trade_no=x", NULL, NULL, NULL, "", &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(h_err_code(&r), "SIGNATURE_MISSING");
    assert_true(r.sig_ok);
    h_reply_fini(&r);
    /* forged: m_a's keyId, another key */
    struct h_merchant forger = mb;
    snprintf(forger.id, sizeof forger.id, "m_a");
    h_call(&pf, &forger, "GET", "/v1/trades?out_trade_no=x", NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(h_err_code(&r), "SIGNATURE_INVALID");
    h_reply_fini(&r);
    /* stale: ten minutes old */
    char nonce[PAY_SIG_NONCE_MAX + 1], auth[PAY_SIG_HEADER_MAX];
    struct pay_sig_signer s = {PAY_SIG_ED25519, ma.id, &ma.key, NULL};
    pay_sig_nonce_generate(nonce);
    assert_int_equal(pay_sig_sign_request(&s, "GET", "/v1/trades?out_trade_no=x", NULL, 0,
                                          pay_clock_real_ms() / 1000 - 600, nonce, auth,
                                          sizeof auth, NULL),
                     PAY_ERR_OK);
    h_call_raw(&pf, "GET", "/v1/trades?out_trade_no=x", NULL, auth, NULL, nonce, &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(h_err_code(&r), "TIMESTAMP_STALE");
    h_reply_fini(&r);
    /* replayed: the same signed request twice */
    pay_sig_nonce_generate(nonce);
    assert_int_equal(pay_sig_sign_request(&s, "GET", "/v1/trades?out_trade_no=x", NULL, 0,
                                          pay_clock_real_ms() / 1000, nonce, auth, sizeof auth,
                                          NULL),
                     PAY_ERR_OK);
    h_call_raw(&pf, "GET", "/v1/trades?out_trade_no=x", NULL, auth, NULL, nonce, &r);
    assert_int_equal(r.status, 404);
    h_reply_fini(&r);
    h_call_raw(&pf, "GET", "/v1/trades?out_trade_no=x", NULL, auth, NULL, nonce, &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(h_err_code(&r), "NONCE_REPLAYED");
    h_reply_fini(&r);
    /* a body changed after signing */
    pay_sig_nonce_generate(nonce);
    assert_int_equal(pay_sig_sign_request(&s, "POST", "/v1/trades", idem_body, strlen(idem_body),
                                          pay_clock_real_ms() / 1000, nonce, auth, sizeof auth,
                                          NULL),
                     PAY_ERR_OK);
    h_call_raw(&pf, "POST", "/v1/trades", "{\"out_trade_no\":\"tampered\"}", auth, "tamper", nonce,
               &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(h_err_code(&r), "SIGNATURE_INVALID");
    h_reply_fini(&r);
}

/* The trade's 1 s timeout: open until the clock reaches it, closed by the sweeper at once
 * when it does. */
static void expiry(void **state)
{
    struct h_reply r;
    h_call(&pf, &ma, "POST", "/v1/trades",
           "{\"out_trade_no\":\"exp-1\",\"amount\":{\"value\":\"1.00\",\"currency\":\"CNY\"},"
           "\"subject\":\"short\",\"timeout\":\"1s\"}",
           "exp-1", &r);
    assert_int_equal(r.status, 201);
    char path[128];
    snprintf(path, sizeof path, "/v1/trades/%s", h_str(r.json, "trade_id"));
    h_reply_fini(&r);
    assert_int_equal(th_clock_advance(pf.url, 999), 0);
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_string_equal(h_str(r.json, "state"), "WAIT_BUYER_PAY"); /* 1 ms before its timeout */
    h_reply_fini(&r);
    assert_int_equal(th_clock_advance(pf.url, 1), 0);
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_string_equal(h_str(r.json, "state"), "TRADE_CLOSED");
    assert_string_equal(h_str(r.json, "close_reason"), "expired");
    h_reply_fini(&r);
}

/* "2026-12-06T19:07:49Z" as Unix seconds. */
static int64_t rfc3339_s(const char *text)
{
    struct tm tm = {0};
    assert_int_equal(sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
                     6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

/* Polls (the event, with a bound far above what it takes) until the sink got n requests. */
static void sink_hits_wait(struct h_notify_sink *s, int n)
{
    for (int i = 0; i < 30000; i++) {
        pthread_mutex_lock(&s->mu);
        int hits = s->hits;
        pthread_mutex_unlock(&s->mu);
        if (hits >= n)
            return;
        usleep(2000);
    }
    fail_msg("the sink got fewer than %d requests", n);
}

static void notify_retry_and_attempts(void **state)
{
    struct h_notify_sink sink;
    h_sink_start(&sink, pf.pk, 3);
    char id[64], path[160];
    snprintf(id, sizeof id, "%s", h_create_trade(&pf, &ma, "ntf-1", "2.00", sink.url));
    struct h_reply r;
    snprintf(path, sizeof path, "/v1/trades/%s/close", id);
    h_call(&pf, &ma, "POST", path, "{}", "ntf-close", &r);
    assert_int_equal(r.status, 200);
    h_reply_fini(&r);
    /* the retry schedule is 1s,1s,1s: each retry comes exactly when the clock reaches it */
    sink_hits_wait(&sink, 1);
    assert_int_equal(th_clock_advance(pf.url, 0), 0); /* the first failure is recorded */
    for (int attempt = 2; attempt <= 4; attempt++) {
        assert_int_equal(th_clock_advance(pf.url, 999), 0);
        assert_int_equal(sink.hits, attempt - 1); /* not yet: 1 ms early */
        assert_int_equal(th_clock_advance(pf.url, 1), 0);
        assert_int_equal(sink.hits, attempt); /* the retry happened */
    }
    assert_int_equal(h_sink_wait(&sink, 1, 1), 1); /* the fourth attempt succeeded */
    /* far past every retry time, after the notifier has looked: nothing more */
    assert_int_equal(th_clock_advance(pf.url, 24LL * 3600 * 1000), 0);
    assert_int_equal(sink.hits, 4); /* three failures, then success, then nothing more */
    assert_int_equal(sink.bad_sigs, 0);
    assert_string_equal(sink.last_state, "TRADE_CLOSED");
    snprintf(path, sizeof path, "/v1/notifications?trade_id=%s", id);
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *n = json_array_get(json_object_get(r.json, "notifications"), 0);
    assert_non_null(n);
    assert_string_equal(h_str(n, "status"), "delivered");
    assert_string_equal(h_str(n, "notify_id"), sink.ids[0]);
    json_t *log = json_object_get(n, "attempt_log");
    assert_int_equal(json_array_size(log), 4);
    /* on the test clock the attempts are exactly one second apart */
    for (size_t i = 1; i < 4; i++)
        assert_int_equal(rfc3339_s(h_str(json_array_get(log, i), "at")) -
                             rfc3339_s(h_str(json_array_get(log, i - 1), "at")),
                         1);
    h_reply_fini(&r);
    h_sink_stop(&sink);
}

static void notify_survives_kill(void **state)
{
    struct h_notify_sink sink;
    h_sink_start(&sink, pf.pk, 1); /* the first attempt fails; the retry is due 1 s later */
    char id[64], path[160];
    snprintf(id, sizeof id, "%s", h_create_trade(&pf, &ma, "ntf-kill", "2.00", sink.url));
    struct h_reply r;
    snprintf(path, sizeof path, "/v1/trades/%s/close", id);
    h_call(&pf, &ma, "POST", path, NULL, "ntf-kill-close", &r);
    assert_int_equal(r.status, 200);
    h_reply_fini(&r);
    sink_hits_wait(&sink, 1);
    /* once the notifier has looked again, the failed attempt is recorded (retry in 1 s) */
    assert_int_equal(th_clock_advance(pf.url, 0), 0);
    h_stop(&pf, SIGKILL); /* dies between the failed attempt and the retry */
    assert_int_equal(sink.n_ids, 0);
    h_start(&pf); /* its test clock goes on from where it was (<data dir>/fake-clock) */
    assert_int_equal(th_clock_advance(pf.url, 1000), 0); /* the retry is due */
    assert_int_equal(h_sink_wait(&sink, 1, 1), 1);
    assert_int_equal(sink.hits, 2);
    h_sink_stop(&sink);
}

/* A call of the operator API of platform `at`; its answer must carry the platform's signature
 * (over an empty request nonce: the Bearer token is not a signature). */
static long operator_add_at(struct h_platform *at, const char *token, const char *body,
                            struct h_reply *r)
{
    char auth[128];
    snprintf(auth, sizeof auth, "Bearer %s", token);
    h_call_raw(at, "POST", "/operator/v1/merchants", body, auth, NULL, "", r);
    if (!r->sig_ok)
        fprintf(stderr, "unsigned operator answer: %ld %s\n", r->status, r->body);
    assert_true(r->sig_ok);
    return r->status;
}

static long operator_add(const char *token, const char *body, struct h_reply *r)
{
    return operator_add_at(&pf, token, body, r);
}

/* Outside sandboxes (allow_private_hosts = false) merchant registration, by the operator API
 * and by the command line, refuses notify hosts that are special-purpose IP literals in any
 * spelling, and accepts names. */
static void special_notify_hosts_refused(struct h_platform *p2)
{
    const char *const hosts[] = {"192.0.2.1",   "0xc0000201",     "3221225985",      "0300.0.2.1",
                                 "127.1",       "10.1.2.3",       "::ffff:c000:201", "fe80::1",
                                 "2001:db8::1", "64:ff9b::a00:1", "198.51.100.7."};
    char pk[PAY_ED25519_KEY_TEXT_LEN], body[512], id[32];
    struct h_reply r;
    struct pay_ed25519_key key;
    uint8_t seed[PAY_ED25519_SEED_LEN];
    memset(seed, 9, sizeof seed);
    pay_ed25519_from_seed(&key, seed);
    pay_ed25519_pk_to_text(pk, key.pk);
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        snprintf(body, sizeof body,
                 "{\"id\":\"m_ip%zu\",\"name\":\"IP\",\"public_key\":\"%s\","
                 "\"notify_hosts\":[\"shop.example\",\"%s\"]}",
                 i, pk, hosts[i]);
        if (operator_add_at(p2, OP_TOKEN, body, &r) != 400 ||
            strcmp(h_str(r.json, "error.code"), "URL_FORBIDDEN") != 0 ||
            strcmp(h_str(r.json, "error.field"), "notify_hosts") != 0)
            fail_msg("operator API accepted notify host %s: %s", hosts[i], r.body);
        h_reply_fini(&r);
    }
    snprintf(body, sizeof body,
             "{\"id\":\"m_name\",\"name\":\"N\",\"public_key\":\"%s\","
             "\"notify_hosts\":[\"shop.example\",\"8.8.8.8\"]}",
             pk);
    assert_int_equal(operator_add_at(p2, OP_TOKEN, body, &r), 201);
    h_reply_fini(&r);
    char pub[300];
    snprintf(pub, sizeof pub, "%s/ip.pub", p2->dir);
    FILE *f = fopen(pub, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", pk);
    fclose(f);
    for (size_t i = 0; i < 2; i++) { /* the command line: refused, then allowed by the flag */
        snprintf(id, sizeof id, "m_cli%zu", i);
        const char *add[] = {h_paygate,
                             "platform",
                             "merchant",
                             "add",
                             "--data-dir",
                             p2->dir,
                             "--id",
                             id,
                             "--name",
                             "CLI",
                             "--public-key-file",
                             pub,
                             "--notify-host",
                             "0xc0000201",
                             i ? "--allow-private-hosts" : NULL,
                             NULL};
        assert_int_equal(h_run_pf(p2, add), i ? 0 : 1);
    }
}

static void ssrf_refused(void **state)
{
    struct h_platform p2;
    struct h_merchant m;
    h_setup(&p2, &m, NULL, NULL);
    char ini[300];
    snprintf(ini, sizeof ini, "%s/platform.ini", p2.dir);
    FILE *f = fopen(ini, "w");
    assert_non_null(f);
    fprintf(f, "[platform]\noperator_token = %s\n[notify]\nallow_private_hosts = false\n",
            OP_TOKEN);
    fclose(f);
    h_start(&p2);
    const char *urls[] = {"http://127.0.0.1:9/n",   "http://127.1/n",
                          "http://[::1]/n",         "http://169.254.169.254/latest",
                          "http://10.0.0.1/n",      "file:///etc/passwd",
                          "http://user@127.0.0.1/n"};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        char body[512], idem[32];
        snprintf(body, sizeof body,
                 "{\"out_trade_no\":\"s%zu\",\"amount\":{\"value\":\"1.00\",\"currency\":"
                 "\"CNY\"},\"subject\":\"s\",\"notify_url\":\"%s\"}",
                 i, urls[i]);
        snprintf(idem, sizeof idem, "ssrf-%zu", i);
        struct h_reply r;
        h_call(&p2, &m, "POST", "/v1/trades", body, idem, &r);
        if (r.status != 400)
            fprintf(stderr, "%s -> %ld %s\n", urls[i], r.status, r.body);
        assert_int_equal(r.status, 400);
        assert_string_equal(h_str(r.json, "error.field"), "notify_url");
        h_reply_fini(&r);
    }
    special_notify_hosts_refused(&p2);
    h_teardown(&p2);
}

/* A platform with a 1 s refund window and 1 s session idle time. */
static void refund_window_and_session_idle(void **state)
{
    struct h_platform p2;
    struct h_merchant m;
    h_setup(&p2, &m, NULL, "refund_window = 1s\nsession_idle = 1s\n[server]\nfake_clock = true");
    h_add_consumer(&p2, "13700000001", "correct horse", "246810");
    h_wallet_credit(&p2, "13700000001", "10.00");
    h_start(&p2);
    char id[64], path[128];
    snprintf(id, sizeof id, "%s", h_create_trade(&p2, &m, "rw-1", "2.00", NULL));
    assert_int_equal(h_cashier_pay_wallet(&p2, id, "13700000001", "correct+horse", "246810"), 200);
    snprintf(path, sizeof path, "/v1/trades/%s", id);
    struct h_reply r;
    assert_int_equal(th_clock_advance(p2.url, 999), 0);
    h_call(&p2, &m, "GET", path, NULL, NULL, &r);
    assert_string_equal(h_str(r.json, "state"), "TRADE_SUCCESS"); /* refundable for 1 ms more */
    h_reply_fini(&r);
    assert_int_equal(th_clock_advance(p2.url, 1), 0); /* the window is over: the sweeper */
    h_call(&p2, &m, "GET", path, NULL, NULL, &r);
    assert_string_equal(h_str(r.json, "state"), "TRADE_FINISHED");
    h_reply_fini(&r);
    snprintf(path, sizeof path, "/v1/trades/%s/refunds", id);
    h_call(&p2, &m, "POST", path,
           "{\"out_refund_no\":\"late\",\"amount\":{\"value\":\"1.00\",\"currency\":"
           "\"CNY\"}}",
           "rw-refund", &r);
    assert_int_equal(r.status, 409);
    assert_string_equal(h_err_code(&r), "TRADE_STATE_INVALID");
    h_reply_fini(&r);
    /* a session idle for longer than session_idle is over */
    char session[128];
    snprintf(session, sizeof session, "%s", h_wallet_login(&p2, "13700000001", "correct+horse"));
    assert_true(session[0] != '\0');
    assert_int_equal(h_wallet_logged_in(&p2, session), 1);
    assert_int_equal(th_clock_advance(p2.url, 999), 0);
    assert_int_equal(h_wallet_logged_in(&p2, session), 1); /* use keeps it alive: 999 ms more */
    assert_int_equal(th_clock_advance(p2.url, 999), 0);
    assert_int_equal(h_wallet_logged_in(&p2, session), 1);
    assert_int_equal(th_clock_advance(p2.url, 1000), 0); /* idle for exactly session_idle */
    assert_int_equal(h_wallet_logged_in(&p2, session), 0);
    h_teardown(&p2);
}

/* A merchant registered with an RSA-2048 key signs with PAYGATE-RSA-SHA256. */
static void rsa_merchant(void **state)
{
    char key[300], pub[310];
    snprintf(key, sizeof key, "%s/rsa.key", pf.dir);
    snprintf(pub, sizeof pub, "%s/rsa.key.pub", pf.dir);
    const char *gen[] = {h_paygate, "platform", "keygen", "--out", key, "--rsa", NULL};
    assert_int_equal(h_run(gen), 0);
    const char *add[] = {h_paygate,
                         "platform",
                         "merchant",
                         "add",
                         "--data-dir",
                         pf.dir,
                         "--id",
                         "m_rsa",
                         "--name",
                         "RSA shop",
                         "--public-key-file",
                         pub,
                         "--notify-host",
                         "127.0.0.1",
                         "--allow-private-hosts",
                         NULL};
    assert_int_equal(h_run_pf(&pf, add), 0);
    struct pay_rsa_key *k = NULL;
    assert_int_equal(pay_rsa_key_load(key, &k), 0);
    const char *body = "{\"out_trade_no\":\"rsa-1\",\"amount\":{\"value\":\"1.00\","
                       "\"currency\":\"CNY\"},\"subject\":\"rsa\"}";
    char nonce[PAY_SIG_NONCE_MAX + 1], auth[PAY_SIG_HEADER_MAX];
    pay_sig_nonce_generate(nonce);
    struct pay_sig_signer s = {PAY_SIG_RSA_SHA256, "m_rsa", NULL, k};
    assert_int_equal(pay_sig_sign_request(&s, "POST", "/v1/trades", body, strlen(body),
                                          pay_clock_real_ms() / 1000, nonce, auth, sizeof auth,
                                          NULL),
                     PAY_ERR_OK);
    struct h_reply r;
    h_call_raw(&pf, "POST", "/v1/trades", body, auth, "rsa-1", nonce, &r);
    assert_int_equal(r.status, 201);
    assert_true(r.sig_ok);
    h_reply_fini(&r);
    /* an Ed25519 signature under the RSA merchant's keyId is refused */
    struct h_merchant fake = ma;
    snprintf(fake.id, sizeof fake.id, "m_rsa");
    h_call(&pf, &fake, "GET", "/v1/trades?out_trade_no=rsa-1", NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    h_reply_fini(&r);
    pay_rsa_key_free(k);
}

static void suspended_merchant(void **state)
{
    const char *sus[] = {h_paygate, "platform", "merchant", "suspend", "--data-dir",
                         pf.dir,    "--id",     "m_b",      NULL};
    const char *act[] = {h_paygate, "platform", "merchant", "activate", "--data-dir",
                         pf.dir,    "--id",     "m_b",      NULL};
    const char *none[] = {h_paygate, "platform", "merchant", "suspend", "--data-dir",
                          pf.dir,    "--id",     "nobody",   NULL};
    assert_int_equal(h_run_pf(&pf, sus), 0);
    assert_int_not_equal(h_run_pf(&pf, none), 0);
    struct h_reply r;
    h_call(&pf, &mb, "GET", "/v1/trades?out_trade_no=dup-1", NULL, NULL, &r);
    assert_int_equal(r.status, 403);
    assert_string_equal(h_err_code(&r), "MERCHANT_SUSPENDED");
    h_reply_fini(&r);
    assert_int_equal(h_run_pf(&pf, act), 0);
    h_call(&pf, &mb, "GET", "/v1/trades?out_trade_no=dup-1", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    h_reply_fini(&r);
}

/* Refused with 400 FIELD_INVALID naming the field, the detail mentioning `says`. */
static void operator_refuses(const char *body, const char *field, const char *says)
{
    struct h_reply r;
    assert_int_equal(operator_add(OP_TOKEN, body, &r), 400);
    assert_string_equal(h_str(r.json, "error.field"), field);
    if (!strstr(h_str(r.json, "error.message"), says))
        fprintf(stderr, "%s: %s\n", says, r.body);
    assert_non_null(strstr(h_str(r.json, "error.message"), says));
    h_reply_fini(&r);
}

/* A public key in a PEM file made by `openssl` (the test has no other way to make EC keys). */
static char *openssl_pub_pem(const char *genpkey_args)
{
    char dir[256], cmd[1024], path[300];
    assert_int_equal(th_tmpdir(dir, sizeof dir, "paygate-key"), 0);
    snprintf(path, sizeof path, "%s/pub.pem", dir);
    snprintf(cmd, sizeof cmd,
             "openssl genpkey %s -out %s/key.pem 2>/dev/null && openssl pkey -in %s/key.pem "
             "-pubout -out %s 2>/dev/null",
             genpkey_args, dir, dir, path);
    assert_int_equal(system(cmd), 0);
    char *pem = calloc(1, 4096);
    assert_non_null(pem);
    assert_true(th_read_text(path, pem, 4096) > 0);
    th_tmpdir_done(dir);
    return pem;
}

static void operator_api(void **state)
{
    struct h_merchant mc;
    uint8_t seed[PAY_ED25519_SEED_LEN];
    memset(seed, 3, sizeof seed);
    pay_ed25519_from_seed(&mc.key, seed);
    snprintf(mc.id, sizeof mc.id, "m_c");
    char pk[PAY_ED25519_KEY_TEXT_LEN], body[2048];
    pay_ed25519_pk_to_text(pk, mc.key.pk);
    snprintf(body, sizeof body,
             "{\"id\":\"m_c\",\"name\":\"Shop C\",\"public_key\":\"%s\","
             "\"notify_hosts\":[\"shop-c.example\",\"127.0.0.1\"],\"fee_bp\":30}",
             pk);
    struct h_reply r;
    assert_int_equal(operator_add("wrong-token-0123456789abcdef", body, &r), 401);
    h_reply_fini(&r);
    assert_int_equal(operator_add(OP_TOKEN, body, &r), 201);
    assert_string_equal(h_str(r.json, "key_alg"), "ed25519");
    /* notify_hosts comes back as it was sent: an array */
    json_t *hosts = json_object_get(r.json, "notify_hosts");
    assert_true(json_is_array(hosts));
    assert_int_equal(json_array_size(hosts), 2);
    assert_string_equal(json_string_value(json_array_get(hosts, 1)), "127.0.0.1");
    h_reply_fini(&r);
    assert_int_equal(operator_add(OP_TOKEN, body, &r), 409);
    h_reply_fini(&r);
    operator_refuses("{\"id\":\"m_d\",\"name\":\"D\",\"public_key\":\"bad\","
                     "\"notify_hosts\":[\"d.example\"]}",
                     "public_key", "base64");
    operator_refuses("{\"id\":\"m_d\",\"name\":\"D\",\"public_key\":\"bad\","
                     "\"notify_hosts\":[\"d.example\"],\"fee\":1}",
                     "fee", "unknown field");
    /* Ed25519 in PEM, as docs/platform.md and the CLI take it */
    char *pem = pay_ed25519_pk_to_pem(mc.key.pk);
    json_t *j = json_pack("{s:s, s:s, s:s, s:[s]}", "id", "m_pem", "name", "PEM", "public_key", pem,
                          "notify_hosts", "pem.example");
    char *text = json_dumps(j, 0);
    assert_int_equal(operator_add(OP_TOKEN, text, &r), 201);
    assert_string_equal(h_str(r.json, "key_alg"), "ed25519");
    h_reply_fini(&r);
    free(text);
    json_decref(j);
    free(pem);
    /* keys of a wrong kind are named, not called "not an RSA public key" */
    const struct {
        const char *args, *says;
    } wrong[] = {
        {"-algorithm EC -pkeyopt ec_paramgen_curve:P-256", "type EC"},
        {"-algorithm RSA -pkeyopt rsa_keygen_bits:1024", "RSA key of 1024 bits"},
        {"-algorithm ED448", "type ED448"},
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        pem = openssl_pub_pem(wrong[i].args);
        j = json_pack("{s:s, s:s, s:s, s:[s]}", "id", "m_wrong", "name", "W", "public_key", pem,
                      "notify_hosts", "w.example");
        text = json_dumps(j, 0);
        operator_refuses(text, "public_key", wrong[i].says);
        free(text);
        json_decref(j);
        free(pem);
    }
    /* a private key is refused as one, never stored */
    j = json_pack(
        "{s:s, s:s, s:s, s:[s]}", "id", "m_priv", "name", "P", "public_key",
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIK85Wkugcg6UIHbxq2+/0gHJodzPySdxHY/"
        "tdLhFKkOW\n-----END PRIVATE KEY-----\n",
        "notify_hosts", "p.example");
    text = json_dumps(j, 0);
    operator_refuses(text, "public_key", "private key");
    free(text);
    json_decref(j);
    /* a body that is not application/json is 415, signed */
    h_call_typed(&pf, "POST", "/operator/v1/merchants", "text/plain", body, "Bearer " OP_TOKEN,
                 NULL, "", &r);
    assert_int_equal(r.status, 415);
    assert_string_equal(h_err_code(&r), "UNSUPPORTED_MEDIA_TYPE");
    assert_true(r.sig_ok);
    h_reply_fini(&r);
    h_create_trade(&pf, &mc, "op-1", "1.00", NULL); /* the new merchant signs and is served */
}

/* The platform names its database in its log once, a URL's password masked (in the pg suite
 * the URL carries TH_DB_PASSWORD). */
static void database_logged_without_password(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/platform.log", pf.dir);
    assert_true(th_count_in_file(path, "store.opened") > 0);
    if (!th_db_is_pg()) {
        assert_true(th_count_in_file(path, "backend=sqlite") > 0);
        return;
    }
    assert_non_null(strstr(pf.db, TH_DB_PASSWORD)); /* the secret was there to leak */
    assert_true(th_count_in_file(path, "backend=postgresql") > 0);
    assert_true(th_count_in_file(path, "password=***") > 0);
    assert_int_equal(th_count_in_file(path, TH_DB_PASSWORD), 0);
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_query_close),
        cmocka_unit_test(duplicate_out_trade_no),
        cmocka_unit_test(idempotency_replay_and_mismatch),
        cmocka_unit_test(idempotency_concurrent),
        cmocka_unit_test(idempotency_legacy_claims),
        cmocka_unit_test(validation),
        cmocka_unit_test(isolation),
        cmocka_unit_test(signatures),
        cmocka_unit_test(expiry),
        cmocka_unit_test(notify_retry_and_attempts),
        cmocka_unit_test(notify_survives_kill),
        cmocka_unit_test(ssrf_refused),
        cmocka_unit_test(operator_api),
        cmocka_unit_test(rsa_merchant),
        cmocka_unit_test(suspended_merchant),
        cmocka_unit_test(refund_window_and_session_idle),
        cmocka_unit_test(database_logged_without_password),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
