/* docs/bank.md's server-to-server API is checked against the real bank: every example runs.
 * Each ```http request is signed as merchant M1 (RSA, its certificate's key) and sent; the
 * answer must carry a valid Paygate-Signature by the bank's key over the request's nonce,
 * have the documented status and exactly the documented fields (tests/lib/docs.h), or, for the
 * CSV statement, the documented header line and column count. `<name>` in a request is filled
 * from what the test knows (docs/bank.md says which); `<!-- test: b2c-pay ORDER AMOUNT -->`
 * pays an HS order of M1 through the gateway's pages first. (That every "NNN CODE" the page
 * names is the registry's is checked for all docs by tests/core/test_errors.c.) */
#include "harness.h"
#include "lib/docs.h"

#include "core/clock.h"
#include "core/errors.h"
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
static char *doc;
static json_t *vars; /* placeholder name -> value */

static void set_var(const char *name, const char *value)
{
    json_object_set_new(vars, name, json_string(value));
}

static void mer_acct(const char *mer, const char *var)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s/merchant.json", bank.dir, mer);
    json_t *j = json_load_file(path, 0, NULL);
    assert_non_null(j);
    set_var(var, json_string_value(json_object_get(j, "merAcct")));
    json_decref(j);
}

static int group_setup(void **state)
{
    (void)state;
    if (pay_crypto_init() != 0 || h_bank_start(&bank, NULL) != 0 || h_merchant_start(&bank) != 0)
        return -1;
    bank_pub = h_bank_signing_key(&bank);
    doc = th_doc_read("bank.md");
    vars = json_object();
    if (!bank_pub || !doc || !vars)
        return -1;
    char day[16];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    set_var("date", day);
    mer_acct("M1", "merAcct");
    mer_acct("M2", "toAccount");
    char cvv[4];
    if (h_demo_cvv2(&bank, "6222020000000015", cvv) != 0)
        return -1;
    set_var("cvv2", cvv);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    h_merchant_stop();
    h_bank_stop(&bank);
    pay_rsa_key_free(bank_pub);
    json_decref(vars);
    free(doc);
    return h_bank_remove(&bank);
}

/* The request with every <name> the test knows filled in; heap. */
static char *fill(const char *request)
{
    if (strstr(request, "<smsCode>")) { /* the code of the latest SMS to the demo phone */
        char code[7];
        assert_int_equal(h_sms_code(&bank, "13800000001", code), 0);
        set_var("smsCode", code);
    }
    const char *list[64];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(vars, k, v)
    {
        if (n + 3 > sizeof list / sizeof list[0])
            break;
        list[n++] = k;
        list[n++] = json_string_value(v);
    }
    list[n] = NULL;
    return th_doc_fill(request, list);
}

/* Sends the example signed by M1; *status, *body (heap) and whether the answer's signature
 * verified over our nonce. */
static bool send_example(const struct th_doc_request *q, long *status, char **body)
{
    char path[400], nonce[PAY_SIG_NONCE_MAX + 1], sig[PAY_SIG_HEADER_MAX],
        auth[PAY_SIG_HEADER_MAX + 32], ctype[128], url[PAY_URL_MAX];
    snprintf(path, sizeof path, "%s/M1/merchant.key", bank.dir);
    struct pay_rsa_key *k = NULL;
    assert_int_equal(pay_rsa_key_load(path, &k), 0);
    pay_sig_nonce_generate(nonce);
    struct pay_sig_signer s = {PAY_SIG_RSA_SHA256, "M1", NULL, k};
    size_t blen = q->body ? strlen(q->body) : 0;
    assert_int_equal(pay_sig_sign_request(&s, q->method, q->target, q->body, blen,
                                          pay_clock_real_ms() / 1000, nonce, sig, sizeof sig, NULL),
                     PAY_ERR_OK);
    pay_rsa_key_free(k);
    const char *ct = th_doc_request_header(q, "Content-Type");
    snprintf(auth, sizeof auth, "Authorization: %s", sig);
    snprintf(ctype, sizeof ctype, "Content-Type: %s", ct ? ct : "application/json");
    const char *headers[] = {auth, ctype, NULL};
    snprintf(url, sizeof url, "%s%s", bank.url, q->target);
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    assert_int_equal(
        pay_http_client_request(q->method, url, headers, q->body, blen, &opt, &r, NULL),
        PAY_ERR_OK);
    char hdr[PAY_SIG_HEADER_MAX];
    const char *sh = pay_http_client_response_header(&r, PAY_SIG_RESPONSE_HEADER, hdr, sizeof hdr);
    bool ok = h_bank_answer_signed(bank_pub, sh, r.status, nonce, r.body.data, r.body.len);
    *status = r.status;
    *body = strdup(pay_buf_str(&r.body));
    pay_http_client_response_fini(&r);
    return ok;
}

static size_t count_char(const char *s, size_t n, char c)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += s[i] == c;
    return k;
}

/* A CSV answer: the documented header line, and every row with as many columns. */
static size_t csv_diff(const char *want, const char *got, const char *where)
{
    size_t hl = strcspn(want, "\n"), cols = count_char(want, hl, ',');
    if (strncmp(want, got, hl) != 0 || got[hl] != '\n') {
        fprintf(stderr, "%s: the CSV header is not \"%.*s\"\n", where, (int)hl, want);
        return 1;
    }
    size_t rows = 0, bad = 0;
    for (const char *l = got + hl + 1; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != 0)) {
        rows++;
        if (count_char(l, strcspn(l, "\n"), ',') != cols) {
            fprintf(stderr, "%s: row \"%.*s\" has another column count\n", where,
                    (int)strcspn(l, "\n"), l);
            bad++;
        }
    }
    if (rows == 0)
        fprintf(stderr, "%s: no rows\n", where);
    return bad + (rows == 0);
}

/* Remembers the string fields of an answer for the next examples' placeholders. */
static void remember(json_t *answer)
{
    const char *k;
    json_t *v;
    json_object_foreach(answer, k, v) if (json_is_string(v)) set_var(k, json_string_value(v));
}

static void examples_run(void **state)
{
    (void)state;
    int ran = 0, rc, blocks = 0;
    size_t diffs = 0;
    const char *pos = doc;
    struct th_doc_example ex;
    while ((rc = th_doc_next_example(doc, &pos, &ex)) == 1) {
        char marker[128], order[80];
        long amount = 0;
        if (th_doc_marker(ex.before, "b2c-pay", marker, sizeof marker)) {
            assert_int_equal(sscanf(marker, "%79s %ld", order, &amount), 2);
            assert_int_equal(
                h_b2c_pay(&bank, "M1", order, amount, "6222020000000015", "13800000001"), 0);
        }
        char *filled = fill(ex.request), where[200], *body = NULL;
        struct th_doc_request q;
        long want_status, status = 0;
        const char *want_body;
        assert_int_equal(th_doc_request_parse(filled, &q), 0);
        assert_int_equal(th_doc_response_parse(ex.response, &want_status, &want_body), 0);
        bool signed_ok = send_example(&q, &status, &body);
        snprintf(where, sizeof where, "docs/bank.md:%d %s %s", ex.line, q.method, q.target);
        if (status != want_status || !signed_ok)
            fprintf(stderr, "%s -> %ld (signature %s) %s\n", where, status,
                    signed_ok ? "ok" : "BAD", body);
        assert_int_equal(status, want_status);
        assert_true(signed_ok); /* every answer of the API, the server's own 404/415 too */
        if (want_body[0] == '{') {
            json_t *want = json_loads(want_body, 0, NULL), *got = json_loads(body, 0, NULL);
            diffs += th_json_shape_diff(want, got, where);
            remember(got);
            json_decref(want);
            json_decref(got);
        } else {
            diffs += csv_diff(want_body, body, where);
        }
        free(body);
        free(filled);
        th_doc_example_fini(&ex);
        ran++;
    }
    assert_int_equal(rc, 0);
    for (const char *b = doc; (b = strstr(b, "```http\n")) != NULL; b++)
        blocks++;
    assert_int_equal(ran, blocks);
    assert_true(ran >= 12);
    assert_int_equal(diffs, 0);
    assert_int_equal(h_merchant_bad_signatures(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(examples_run),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
