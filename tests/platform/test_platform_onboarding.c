/* Integration test of self-service onboarding (docs/portal.md, "Becoming a merchant") against
 * the real `paygate platform`: a company applies on the public page (bad fields refused by
 * name, nothing written), follows its application by its private link, the operator approves
 * it in the console (only with the operator's token; once), the applicant sees its login and
 * sandbox key exactly once, signs a trade with that key, a consumer pays it, and the new owner
 * logs in to the portal (password and TOTP) and finds the paid trade. A second application is
 * rejected with a reason the applicant reads. Ends with ledger and audit verification. */
#include "harness.h"
#include "lib/harness.h"

#include "core/clock.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "http/client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OP_TOKEN "op-token-onboarding-0123456789abcdef"
#define BUYER    "onboard-buyer@example.com"

static struct h_platform pf;
static char follow[256]; /* the application's private path */

struct resp {
    long status;
    char *body;
    char set_cookie[512];
    char location[256];
};

static void resp_fini(struct resp *r)
{
    free(r->body);
    r->body = NULL;
}

/* One request: a Cookie header value (or NULL), an extra header (or NULL), a form (or NULL). */
static void req(const char *method, const char *path, const char *cookie, const char *extra,
                const char *form, struct resp *out)
{
    char url[512], ch[700];
    snprintf(url, sizeof url, "%s%s", pf.url, path);
    snprintf(ch, sizeof ch, "Cookie: %s", cookie ? cookie : "");
    const char *headers[5] = {"Accept-Language: en", NULL, NULL, NULL, NULL};
    size_t n = 1;
    if (cookie)
        headers[n++] = ch;
    if (extra)
        headers[n++] = extra;
    if (form)
        headers[n++] = "Content-Type: application/x-www-form-urlencoded";
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    assert_int_equal(pay_http_client_request(method, url, headers, form, form ? strlen(form) : 0,
                                             &opt, &r, NULL),
                     0);
    memset(out, 0, sizeof *out);
    out->status = r.status;
    out->body = strdup(pay_buf_str(&r.body));
    char buf[1024];
    const char *v = pay_http_client_response_header(&r, "Set-Cookie", buf, sizeof buf);
    snprintf(out->set_cookie, sizeof out->set_cookie, "%.*s", v ? (int)strcspn(v, ";") : 0,
             v ? v : "");
    v = pay_http_client_response_header(&r, "Location", buf, sizeof buf);
    snprintf(out->location, sizeof out->location, "%s", v ? v : "");
    pay_http_client_response_fini(&r);
}

static const char *page_code(const char *html)
{
    static char code[64];
    const char *p = strstr(html, "<code id=\"code\">");
    snprintf(code, sizeof code, "%.*s", p ? (int)strcspn(p + 16, "<") : 0, p ? p + 16 : "");
    return code;
}

/* The text of the element with id (up to its first '<'), or "". */
static void by_id(const char *html, const char *id, char *out, size_t n)
{
    char key[64];
    snprintf(key, sizeof key, "id=\"%s\"", id);
    const char *p = strstr(html, key);
    p = p ? strchr(p, '>') : NULL;
    snprintf(out, n, "%.*s", p ? (int)strcspn(p + 1, "<") : 0, p ? p + 1 : "");
}

/* GET the form (its CSRF cookie), then POST fields; the POST's answer into *r. */
static void apply(const char *fields, struct resp *r)
{
    char csrf[128], cookie[600], body[2048];
    req("GET", "/portal/apply", NULL, NULL, NULL, r);
    assert_int_equal(r->status, 200);
    th_input_value(r->body, "csrf", csrf, sizeof csrf);
    snprintf(cookie, sizeof cookie, "%s", r->set_cookie);
    resp_fini(r);
    snprintf(body, sizeof body, "csrf=%s&%s", csrf, fields);
    req("POST", "/portal/apply", cookie, NULL, body, r);
}

#define FIELDS(email, website)                                                                     \
    "company=%E8%8C%B6%E9%A6%86+Tea+House&contact=Li+Ming&email=" email                            \
    "&phone=%2B8613800000009&website=" website "&settle_bank=icbc&settle_account=6222020000001234" \
    "&volume=50000.00&password=owner-pass-123&password2=owner-pass-123"

static int group_setup(void **state)
{
    (void)state;
    h_setup(&pf, NULL, NULL, "operator_token = " OP_TOKEN);
    h_start(&pf);
    h_add_consumer(&pf, BUYER, "password-123", "123456");
    h_wallet_credit(&pf, BUYER, "100.00");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    h_teardown(&pf);
    return 0;
}

/* Refusals name their field and write nothing: the operator sees no application. */
static void apply_refusals(void **state)
{
    (void)state;
    struct resp r;
    apply(FIELDS("not-an-email", "http%3A%2F%2F127.0.0.1%3A9"), &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "data-field=\"email\""));
    assert_non_null(strstr(r.body, "value=\"Li Ming\"")); /* the form keeps what was typed */
    resp_fini(&r);
    apply("company=X&contact=Y&email=a%40b.example&phone=123&website=http%3A%2F%2F127.0.0.1"
          "&settle_bank=icbc&settle_account=6222020000001234&volume=1.00&password=owner-pass-123"
          "&password2=owner-pass-123",
          &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "data-field=\"phone\""));
    resp_fini(&r);
    apply(FIELDS("a%40tea.example", "http%3A%2F%2F127.0.0.1%3A9") "x", &r); /* password2 differs */
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "data-field=\"password2\""));
    resp_fini(&r);
    req("POST", "/portal/apply", NULL, NULL, FIELDS("a%40tea.example", "http%3A%2F%2Fx.example"),
        &r);
    assert_int_equal(r.status, 403); /* no CSRF cookie */
    resp_fini(&r);
    req("GET", "/operator/applications", NULL, "Authorization: Bearer " OP_TOKEN, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "No applications."));
    resp_fini(&r);
}

/* A good application: a private link, pending; nothing to reveal yet; the same e-mail cannot
 * apply twice while it waits. */
static void apply_and_follow(void **state)
{
    (void)state;
    struct resp r;
    apply(FIELDS("boss%40tea.example", "http%3A%2F%2F127.0.0.1%3A9%2Fshop"), &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "data-notice=\"applied\""));
    const char *p = strstr(r.body, "id=\"follow\" href=\"");
    assert_non_null(p);
    snprintf(follow, sizeof follow, "%.*s", (int)strcspn(p + 18, "\""), p + 18);
    assert_true(strncmp(follow, "/portal/apply/", 14) == 0);
    resp_fini(&r);
    req("GET", follow, NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "data-status=\"pending\""));
    assert_null(strstr(r.body, "reveal-form"));
    resp_fini(&r);
    apply(FIELDS("boss%40tea.example", "http%3A%2F%2F127.0.0.1%3A9"), &r);
    assert_int_equal(r.status, 409);
    assert_non_null(strstr(r.body, "data-field=\"email\""));
    resp_fini(&r);
    req("GET", "/portal/apply/not-a-token-of-anyone", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    resp_fini(&r);
}

static void application_id(char *out, size_t n)
{
    struct resp r;
    req("GET", "/operator/applications", NULL, "Authorization: Bearer " OP_TOKEN, NULL, &r);
    const char *p = strstr(r.body, "data-application=\"");
    assert_non_null(p);
    snprintf(out, n, "%.*s", (int)strcspn(p + 18, "\""), p + 18);
    assert_non_null(strstr(r.body, "value=\"tea\"")); /* the suggested merchant id */
    resp_fini(&r);
}

/* Only the operator approves, once; the merchant exists after it. */
static void operator_approves(void **state)
{
    (void)state;
    struct resp r;
    char id[64], path[128];
    application_id(id, sizeof id);
    snprintf(path, sizeof path, "/operator/applications/%s/approve", id);
    req("POST", path, NULL, NULL, "merchant_id=tea_house&fee_bp=60", &r);
    assert_int_equal(r.status, 401); /* the console's login page: no token, no session */
    resp_fini(&r);
    req("POST", path, NULL, "Authorization: Bearer " OP_TOKEN, "merchant_id=Bad-Id&fee_bp=60", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(page_code(r.body), "FIELD_INVALID");
    resp_fini(&r);
    req("POST", path, NULL, "Authorization: Bearer " OP_TOKEN, "merchant_id=tea_house&fee_bp=60",
        &r);
    assert_int_equal(r.status, 303);
    resp_fini(&r);
    req("POST", path, NULL, "Authorization: Bearer " OP_TOKEN, "merchant_id=tea_house2", &r);
    assert_int_equal(r.status, 400); /* decided already */
    resp_fini(&r);
}

/* The credentials, once; then a signed trade with the sandbox key, paid by a consumer; the
 * owner logs in to the portal and sees it. */
static void first_paid_sandbox_trade(void **state)
{
    (void)state;
    struct resp r;
    char csrf[128], cookie[600], form[256], path[300];
    req("GET", follow, NULL, NULL, NULL, &r);
    assert_non_null(strstr(r.body, "data-status=\"approved\""));
    th_input_value(r.body, "csrf", csrf, sizeof csrf);
    snprintf(cookie, sizeof cookie, "%s", r.set_cookie);
    resp_fini(&r);
    snprintf(form, sizeof form, "csrf=%s", csrf);
    snprintf(path, sizeof path, "%s/reveal", follow);
    req("POST", path, cookie, NULL, form, &r);
    assert_int_equal(r.status, 200);
    char merchant[64], secret[64], pem[512], keyfile[400];
    by_id(r.body, "merchant-id", merchant, sizeof merchant);
    by_id(r.body, "totp-secret", secret, sizeof secret);
    by_id(r.body, "private-key", pem, sizeof pem);
    assert_string_equal(merchant, "tea_house");
    assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
    resp_fini(&r);
    req("POST", path, cookie, NULL, form, &r); /* once only */
    assert_int_equal(r.status, 403);
    assert_null(strstr(r.body, "BEGIN PRIVATE KEY"));
    resp_fini(&r);
    snprintf(keyfile, sizeof keyfile, "%s/tea.pem", pf.dir);
    FILE *f = fopen(keyfile, "w");
    assert_non_null(f);
    fputs(pem, f);
    fclose(f);
    struct h_merchant m = {.id = "tea_house"};
    assert_int_equal(pay_ed25519_key_load(keyfile, &m.key), 0);
    char trade[64];
    snprintf(trade, sizeof trade, "%s", h_create_trade(&pf, &m, "tea-first", "12.30", NULL));
    assert_int_equal(h_cashier_pay_wallet(&pf, trade, BUYER, "password-123", "123456"), 200);
    struct h_reply t;
    snprintf(path, sizeof path, "/v1/trades/%s", trade);
    h_call(&pf, &m, "GET", path, NULL, NULL, &t);
    assert_int_equal(t.status, 200);
    assert_string_equal(h_str(t.json, "state"), "TRADE_SUCCESS");
    h_reply_fini(&t);
    /* the owner's portal */
    uint8_t key[40];
    size_t kn = 0;
    char code[8];
    assert_int_equal(pay_base32_decode(key, sizeof key, secret, strlen(secret), &kn), 0);
    assert_int_equal(pay_totp_code(key, kn, pay_clock_real_ms() / 1000, 6, code, sizeof code), 0);
    req("GET", "/portal/login", NULL, NULL, NULL, &r);
    th_input_value(r.body, "csrf", csrf, sizeof csrf);
    snprintf(cookie, sizeof cookie, "%s", r.set_cookie);
    resp_fini(&r);
    snprintf(form, sizeof form, "csrf=%s&login=boss%%40tea.example&password=owner-pass-123&totp=%s",
             csrf, code);
    req("POST", "/portal/login", cookie, NULL, form, &r);
    assert_int_equal(r.status, 303);
    snprintf(cookie, sizeof cookie, "%s", r.set_cookie);
    resp_fini(&r);
    req("GET", "/portal/trades", cookie, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "data-role=\"owner\""));
    assert_non_null(strstr(r.body, "data-state=\"TRADE_SUCCESS\""));
    assert_non_null(strstr(r.body, "tea-first"));
    resp_fini(&r);
    pay_ed25519_key_fini(&m.key);
}

/* A rejection needs a reason, which the applicant reads on its page. */
static void operator_rejects(void **state)
{
    (void)state;
    struct resp r;
    char path[300], id[64], mine[256];
    apply(FIELDS("other%40shop.example", "http%3A%2F%2F127.0.0.1%3A9"), &r);
    const char *p = strstr(r.body, "id=\"follow\" href=\"");
    assert_non_null(p);
    snprintf(mine, sizeof mine, "%.*s", (int)strcspn(p + 18, "\""), p + 18);
    resp_fini(&r);
    req("GET", "/operator/applications", NULL, "Authorization: Bearer " OP_TOKEN, NULL, &r);
    p = strstr(r.body, "data-status=\"pending\"");
    assert_non_null(p);
    const char *a = p;
    while (a > r.body && strncmp(a, "data-application=\"", 18) != 0)
        a--;
    snprintf(id, sizeof id, "%.*s", (int)strcspn(a + 18, "\""), a + 18);
    resp_fini(&r);
    snprintf(path, sizeof path, "/operator/applications/%s/reject", id);
    req("POST", path, NULL, "Authorization: Bearer " OP_TOKEN, "note=", &r);
    assert_int_equal(r.status, 400);
    resp_fini(&r);
    req("POST", path, NULL, "Authorization: Bearer " OP_TOKEN, "note=no+website+yet", &r);
    assert_int_equal(r.status, 303);
    resp_fini(&r);
    req("GET", mine, NULL, NULL, NULL, &r);
    assert_non_null(strstr(r.body, "data-status=\"rejected\""));
    assert_non_null(strstr(r.body, "no website yet"));
    resp_fini(&r);
}

static void ledger_and_audit(void **state)
{
    (void)state;
    h_stop(&pf, SIGTERM);
    assert_int_equal(h_ledger_verify(&pf), 0);
    char db[300];
    snprintf(db, sizeof db, "%s/platform.db", pf.dir);
    const char *verify[] = {h_paygate, "audit", "verify", "--database", db, NULL};
    assert_int_equal(h_run(verify), 0);
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(apply_refusals),    cmocka_unit_test(apply_and_follow),
        cmocka_unit_test(operator_approves), cmocka_unit_test(first_paid_sandbox_trade),
        cmocka_unit_test(operator_rejects),  cmocka_unit_test(ledger_and_audit),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
