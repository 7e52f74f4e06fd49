/* docs/api.md is checked against the real platform: every endpoint of the route table is
 * documented, every error code the page names exists in the registry, and every example runs:
 * each ```http request is signed and sent, and the answer must have the documented status and
 * the same field names (values such as ids and times differ). `tr_`/`rf_` in example paths
 * stand for the current trade and refund; `<!-- test: pay OUT_TRADE_NO -->` pays that trade
 * on the cashier and makes it the current one. */
#include "harness.h"
#include "lib/harness.h"

#include "core/errors.h"
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

static struct h_platform pf;
static struct h_merchant ma;
static char *doc;

static int group_setup(void **state)
{
    const char *root = getenv("PAYGATE_SOURCE_ROOT");
    char path[512];
    snprintf(path, sizeof path, "%s/docs/api.md", root ? root : "..");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    doc = calloc(1, 262144);
    size_t n = fread(doc, 1, 262143, f);
    fclose(f);
    doc[n] = '\0';
    h_setup(&pf, &ma, NULL, NULL);
    h_add_consumer(&pf, "13800000001", "correct horse", "246810");
    h_wallet_credit(&pf, "13800000001", "100.00");
    h_start(&pf);
    return 0;
}

static int group_teardown(void **state)
{
    h_teardown_verified(&pf);
    free(doc);
    return 0;
}

static void every_endpoint_documented(void **state)
{
    size_t n = 0;
    const struct api_op_def *ops = pay_platform_api_ops(&n);
    assert_true(n >= 8);
    for (size_t i = 0; i < n; i++) {
        char heading[256];
        snprintf(heading, sizeof heading, "%s %s", ops[i].method, ops[i].pattern);
        if (!strstr(doc, heading))
            fprintf(stderr, "not in docs/api.md: %s\n", heading);
        assert_non_null(strstr(doc, heading));
    }
}

static void every_error_code_exists(void **state)
{
    int checked = 0;
    for (const char *p = doc; (p = strchr(p, '`')) != NULL; p++) {
        /* `409 DUPLICATE` style mentions: a status then a code in one code span */
        if (!(isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
              isdigit((unsigned char)p[3]) && p[4] == ' '))
            continue;
        const char *c = p + 5;
        size_t len = strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
        if (len < 3)
            continue;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)len, c);
        int status = (int)strtol(p + 1, NULL, 10);
        bool found = false;
        for (int i = 0; i < PAY_ERR__COUNT && !found; i++)
            found = strcmp(pay_err_name((enum pay_err)i), name) == 0 &&
                    pay_err_http_status((enum pay_err)i) == status;
        if (!found)
            fprintf(stderr, "docs/api.md names %d %s: not in the registry\n", status, name);
        assert_true(found);
        checked++;
    }
    assert_true(checked >= 10);
}

/* The fenced block starting after "```tag\n" at or after p; returns its text (heap) and
 * moves *next past it, or NULL. */
static char *block(const char *p, const char *tag, const char **next)
{
    char open[32];
    snprintf(open, sizeof open, "```%s\n", tag);
    const char *s = strstr(p, open);
    if (!s)
        return NULL;
    s += strlen(open);
    const char *e = strstr(s, "```");
    assert_non_null(e);
    *next = e + 3;
    return strndup(s, (size_t)(e - s));
}

static void same_keys(json_t *want, json_t *got, const char *where)
{
    const char *k;
    json_t *v;
    json_object_foreach(want, k, v)
    {
        if (!json_object_get(got, k))
            fprintf(stderr, "%s: answer lacks \"%s\"\n", where, k);
        assert_non_null(json_object_get(got, k));
    }
    json_object_foreach(got, k, v)
    {
        if (!json_object_get(want, k))
            fprintf(stderr, "%s: undocumented field \"%s\"\n", where, k);
        assert_non_null(json_object_get(want, k));
    }
    json_t *we = json_object_get(want, "error"), *ge = json_object_get(got, "error");
    if (we)
        assert_string_equal(h_str(we, "code"), h_str(ge, "code"));
}

/* Replaces the placeholders "tr_" and "rf_" (not followed by an id) with the current ids. */
static void fill_ids(const char *in, const char *trade, const char *refund, char *out, size_t n)
{
    size_t o = 0;
    for (const char *p = in; *p && o + 40 < n;) {
        const char *id = NULL;
        bool tr = strncmp(p, "tr_", 3) == 0, rf = strncmp(p, "rf_", 3) == 0;
        /* "tr_" alone is the placeholder (p[3] is readable once the prefix matched) */
        if ((tr || rf) && !isalnum((unsigned char)p[3]))
            id = tr ? trade : refund;
        if (id) {
            o += (size_t)snprintf(out + o, n - o, "%s", id);
            p += 3;
        } else
            out[o++] = *p++;
    }
    out[o] = '\0';
}

static void examples_run(void **state)
{
    char trade[64] = "tr_", refund[64] = "rf_";
    int ran = 0;
    const char *p = doc;
    const char *next = NULL;
    char *req;
    while ((req = block(p, "http", &next)) != NULL) {
        /* a pay marker between the previous example and this one */
        const char *mark = strstr(p, "<!-- test: pay ");
        if (mark && mark < strstr(p, "```http")) {
            char otn[80], path[128];
            sscanf(mark, "<!-- test: pay %79s", otn);
            snprintf(path, sizeof path, "/v1/trades?out_trade_no=%s", otn);
            struct h_reply r;
            h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
            snprintf(trade, sizeof trade, "%s", h_str(r.json, "trade_id"));
            h_reply_fini(&r);
            assert_int_equal(
                h_cashier_pay_wallet(&pf, trade, "13800000001", "correct+horse", "246810"), 200);
        }
        const char *after = next;
        char *resp = block(after, "response", &next);
        assert_non_null(resp);
        p = next;
        char filled[4096], method[8], target[1024], idem[128] = "";
        fill_ids(req, trade, refund, filled, sizeof filled);
        assert_int_equal(sscanf(filled, "%7s %1023s", method, target), 2);
        const char *ih = strstr(filled, "Idempotency-Key: ");
        if (ih)
            sscanf(ih, "Idempotency-Key: %127s", idem);
        const char *body = strstr(filled, "\n{");
        struct h_reply r;
        h_call(&pf, &ma, method, target, body ? body + 1 : NULL, idem[0] ? idem : NULL, &r);
        long want_status = strtol(resp, NULL, 10);
        json_t *want = json_loads(strchr(resp, '\n') + 1, 0, NULL);
        assert_non_null(want);
        if (r.status != want_status)
            fprintf(stderr, "%s %s -> %ld %s\n", method, target, r.status, r.body);
        assert_int_equal(r.status, want_status);
        assert_true(r.sig_ok);
        same_keys(want, r.json, target);
        if (strcmp(method, "POST") == 0 && strcmp(target, "/v1/trades") == 0 && r.status == 201)
            snprintf(trade, sizeof trade, "%s", h_str(r.json, "trade_id"));
        if (r.status == 201 && h_str(r.json, "refund_id")[0])
            snprintf(refund, sizeof refund, "%s", h_str(r.json, "refund_id"));
        json_decref(want);
        h_reply_fini(&r);
        free(req);
        free(resp);
        ran++;
    }
    assert_true(ran >= 10);
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_endpoint_documented),
        cmocka_unit_test(every_error_code_exists),
        cmocka_unit_test(examples_run),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
