/* Integration tests of the sandbox admin forms (/admin) against the real `paygate bank`
 * process over HTTP: customer -> account -> card (shown once) -> deposit -> movements; a
 * missing or forged CSRF token is refused; bad input ("1.234") gets an error page naming the
 * field and changes nothing; the new card's number is absent from the database and the logs;
 * the CLI and the forms work on the same accounts. */
#include "harness.h"

#include "bank/bank.h" /* PAY_BANK_NAME_MAX */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct bank_proc bank;
static char cookie[512];
static char acct[64], cus[64], pan[20], cvv[4];

struct resp {
    long status;
    char *body;
    char location[512];
};

static void resp_fini(struct resp *r)
{
    free(r->body);
    r->body = NULL;
}

/* One request with the admin cookie (kept from Set-Cookie); form NULL = GET. */
static void req(const char *path, const char *form, bool with_cookie, struct resp *r)
{
    char url[800], ck[600];
    snprintf(url, sizeof url, "%s%s", bank.url, path);
    const char *headers[3] = {"Content-Type: application/x-www-form-urlencoded", NULL, NULL};
    if (with_cookie && cookie[0]) {
        snprintf(ck, sizeof ck, "Cookie: %s", cookie);
        headers[1] = ck;
    }
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response resp;
    memset(&resp, 0, sizeof resp);
    memset(r, 0, sizeof *r);
    struct pay_error e = {0};
    assert_int_equal(pay_http_client_request(form ? "POST" : "GET", url, headers, form,
                                             form ? strlen(form) : 0, &opt, &resp, &e),
                     PAY_ERR_OK);
    r->status = resp.status;
    r->body = strdup(pay_buf_str(&resp.body));
    char buf[512];
    if (pay_http_client_response_header(&resp, "Location", buf, sizeof buf))
        snprintf(r->location, sizeof r->location, "%s", buf);
    if (pay_http_client_response_header(&resp, "Set-Cookie", buf, sizeof buf) &&
        strncmp(buf, "bank_admin=", 11) == 0) {
        buf[strcspn(buf, ";")] = '\0';
        snprintf(cookie, sizeof cookie, "%s", buf);
    }
    pay_http_client_response_fini(&resp);
}

/* The csrf token of the admin page (fetched with the cookie). */
static void csrf(char out[80])
{
    struct resp r;
    req("/admin", NULL, true, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(h_csrf(r.body, out, 80), 0);
    resp_fini(&r);
}

/* Text after "key=" in a Location, up to '&' or the end. */
static void loc_param(const struct resp *r, const char *key, char *out, size_t n)
{
    char k[32];
    snprintf(k, sizeof k, "%s=", key);
    const char *p = strstr(r->location, k);
    assert_non_null(p);
    p += strlen(k);
    size_t len = strcspn(p, "&");
    assert_true(len > 0 && len < n);
    memcpy(out, p, len);
    out[len] = '\0';
}

/* The text of <code id="ID">...</code> in html. */
static void code_of(const char *html, const char *id, char *out, size_t n)
{
    char k[64];
    snprintf(k, sizeof k, "<code id=\"%s\">", id);
    const char *p = strstr(html, k);
    assert_non_null(p);
    p += strlen(k);
    size_t len = strcspn(p, "<");
    assert_true(len > 0 && len < n);
    memcpy(out, p, len);
    out[len] = '\0';
}

static int count_rows(const char *html)
{
    int n = 0;
    const char *row = "data-kind=\"DEPOSIT\""; /* the kind's code; people read 存款 */
    for (const char *p = strstr(html, row); p; p = strstr(p + 1, row))
        n++;
    return n;
}

static void movements(struct resp *r)
{
    char path[200];
    snprintf(path, sizeof path, "/admin/movements?account=%s", acct);
    req(path, NULL, true, r);
    assert_int_equal(r->status, 200);
}

static void test_flow(void **state)
{
    (void)state;
    char tok[80], form[600], path[512];
    struct resp r;
    csrf(tok);
    snprintf(form, sizeof form, "csrf=%s&name=Han+Meimei&phone=13800000077", tok);
    req("/admin/customers", form, true, &r);
    assert_int_equal(r.status, 303);
    loc_param(&r, "id", cus, sizeof cus);
    resp_fini(&r);
    req("/admin", NULL, true, &r); /* the new customer is listed */
    assert_non_null(strstr(r.body, "Han Meimei"));
    assert_non_null(strstr(r.body, cus));
    resp_fini(&r);
    snprintf(form, sizeof form, "csrf=%s&customer=%s&kind=deposit&limit=", tok, cus);
    req("/admin/accounts", form, true, &r);
    assert_int_equal(r.status, 303);
    loc_param(&r, "id", acct, sizeof acct);
    resp_fini(&r);
    snprintf(form, sizeof form, "csrf=%s&account=%s&kind=debit&password=654321&expiry=11%%2F31",
             tok, acct);
    req("/admin/cards", form, true, &r);
    assert_int_equal(r.status, 303);
    snprintf(path, sizeof path, "%s", r.location);
    resp_fini(&r);
    req(path, NULL, true, &r); /* shown once ... */
    assert_int_equal(r.status, 200);
    code_of(r.body, "card-number", pan, sizeof pan);
    code_of(r.body, "card-cvv2", cvv, sizeof cvv);
    assert_int_equal(strlen(pan), 16);
    assert_memory_equal(pan, "622202", 6);
    assert_int_equal(strlen(cvv), 3);
    assert_non_null(strstr(r.body, "11/31"));
    assert_non_null(strstr(r.body, acct));
    resp_fini(&r);
    req(path, NULL, true, &r); /* ... and never again */
    assert_int_equal(r.status, 404);
    assert_null(strstr(r.body, pan));
    resp_fini(&r);
    req("/admin", NULL, true, &r); /* the list shows it masked only */
    assert_null(strstr(r.body, pan));
    char masked[24];
    snprintf(masked, sizeof masked, "622202******%s", pan + 12);
    assert_non_null(strstr(r.body, masked));
    resp_fini(&r);
    snprintf(form, sizeof form, "csrf=%s&account=%s&amount=123.45", tok, acct);
    req("/admin/deposits", form, true, &r);
    assert_int_equal(r.status, 303);
    assert_non_null(strstr(r.location, "/admin/movements?account="));
    resp_fini(&r);
    snprintf(form, sizeof form, "csrf=%s&account=%s&amount=1", tok, acct);
    req("/admin/deposits", form, true, &r);
    assert_int_equal(r.status, 303);
    resp_fini(&r);
    movements(&r);
    assert_int_equal(count_rows(r.body), 2);
    assert_non_null(
        strstr(r.body, "<strong id=\"balance\" data-amount=\"124.45\">¥124.45</strong>"));
    const char *newer = strstr(r.body, "data-amount=\"1.00\""),
               *older = strstr(r.body, "data-amount=\"123.45\"");
    assert_true(newer && older && newer < older); /* newest first */
    resp_fini(&r);
}

static void test_csrf_refused(void **state)
{
    (void)state;
    char tok[80], form[300];
    struct resp r;
    csrf(tok);
    const char *forms[] = {"name=Mallory&phone=13800000066",
                           "csrf=0000000000000000000000000000000000000000000000000000000000000000"
                           "&name=Mallory&phone=13800000066"};
    for (size_t i = 0; i < 2; i++) {
        req("/admin/customers", forms[i], true, &r);
        assert_int_equal(r.status, 403);
        assert_non_null(strstr(r.body, "CSRF_INVALID"));
        resp_fini(&r);
    }
    /* a valid token without the cookie it belongs to */
    snprintf(form, sizeof form, "csrf=%s&name=Mallory&phone=13800000066", tok);
    req("/admin/customers", form, false, &r);
    assert_int_equal(r.status, 403);
    resp_fini(&r);
    snprintf(form, sizeof form, "account=%s&amount=5", acct);
    req("/admin/deposits", form, true, &r);
    assert_int_equal(r.status, 403);
    resp_fini(&r);
    req("/admin", NULL, true, &r);
    assert_null(strstr(r.body, "Mallory"));
    resp_fini(&r);
    movements(&r);
    assert_int_equal(count_rows(r.body), 2);
    resp_fini(&r);
}

static void test_bad_input(void **state)
{
    (void)state;
    char tok[80], form[300];
    struct resp r;
    csrf(tok);
    const char *bad[] = {"1.234", "-5", "1e3", "0", "", " 5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(form, sizeof form, "csrf=%s&account=%s&amount=%s", tok, acct, bad[i]);
        req("/admin/deposits", form, true, &r);
        assert_int_equal(r.status, 400);
        assert_non_null(strstr(r.body, "<code id=\"field\">amount</code>"));
        if (i == 0) /* and why: the message in Chinese, the specific reason in English */
            assert_non_null(strstr(r.body, "金额格式不符合该币种的要求") &&
                            strstr(r.body, "decimal"));
        resp_fini(&r);
    }
    movements(&r); /* nothing changed */
    assert_int_equal(count_rows(r.body), 2);
    assert_non_null(
        strstr(r.body, "<strong id=\"balance\" data-amount=\"124.45\">¥124.45</strong>"));
    resp_fini(&r);
    snprintf(form, sizeof form, "csrf=%s&name=X&phone=12ab", tok);
    req("/admin/customers", form, true, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "<code id=\"field\">phone</code>"));
    resp_fini(&r);
    /* a credit card needs a credit account */
    snprintf(form, sizeof form, "csrf=%s&account=%s&kind=credit&password=123456&expiry=12%%2F30",
             tok, acct);
    req("/admin/cards", form, true, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "<code id=\"field\">kind</code>"));
    resp_fini(&r);
    snprintf(form, sizeof form, "csrf=%s&account=acct_nope&amount=1.00", tok);
    req("/admin/deposits", form, true, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "<code id=\"field\">account</code>"));
    resp_fini(&r);
}

static int count_of(const char *html, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(html, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Every form refuses each bad field with its status and names it; nothing is created. */
static void test_refusals_name_the_field(void **state)
{
    (void)state;
    char tok[80], form[600];
    struct resp r;
    csrf(tok);
    req("/admin", NULL, true, &r);
    int customers = count_of(r.body, "cus_"), accounts = count_of(r.body, "acct_");
    resp_fini(&r);
    const struct {
        const char *path, *fields; /* {cus}, {acct}, {long}: see vars */
        long status;
        const char *field, *why;
    } cases[] = {
        {"/admin/customers", "name=&phone=13800000099", 400, "name", "required"},
        {"/admin/customers", "name={long}&phone=13800000099", 400, "name", "at most 64"},
        /* control characters: refused by the form decoder already */
        {"/admin/customers", "name=Li%01Lei&phone=13800000099", 400, "name", "FORM_INVALID"},
        {"/admin/customers", "name=Li+Lei&phone=", 400, "phone", "required"},
        {"/admin/customers", "name=Li+Lei&phone=%2B1234", 400, "phone", "5 to 20 digits"},
        {"/admin/accounts", "customer=&kind=deposit", 400, "customer", "required"},
        {"/admin/accounts", "customer=cus_nope&kind=deposit", 404, "customer", "no customer"},
        {"/admin/accounts", "customer={cus}&kind=savings", 400, "kind", "deposit or credit"},
        {"/admin/accounts", "customer={cus}&kind=deposit&limit=10.00", 400, "limit",
         "credit accounts only"},
        {"/admin/accounts", "customer={cus}&kind=credit&limit=1.234", 400, "limit", "decimal"},
        {"/admin/accounts", "customer={cus}&kind=credit&limit=-5", 400, "limit", ""},
        {"/admin/cards", "account=&kind=debit&password=123456&expiry=12%2F30", 400, "account",
         "required"},
        {"/admin/cards", "account={acct}&kind=gold&password=123456&expiry=12%2F30", 400, "kind",
         "debit or credit"},
        {"/admin/cards", "account={acct}&kind=debit&password=&expiry=12%2F30", 400, "password",
         "required"},
        {"/admin/cards", "account={acct}&kind=debit&password=123456&expiry=", 400, "expiry",
         "required"},
        {"/admin/cards", "account={acct}&kind=debit&password=123456&expiry=01%2F20", 400, "expiry",
         "not in the past"},
        {"/admin/cards", "account=acct_nope&kind=debit&password=123456&expiry=12%2F30", 404,
         "account", "no account"},
        {"/admin/deposits", "account={acct}&amount=100000000000.01", 400, "amount", ""},
        {"/admin/deposits", "account={acct}&amount=", 400, "amount", "required"},
        {"/admin/deposits", "account=&amount=1.00", 400, "account", "required"},
    };
    char long_name[PAY_BANK_NAME_MAX + 2]; /* one byte more than the bank allows */
    memset(long_name, 'x', PAY_BANK_NAME_MAX + 1);
    long_name[PAY_BANK_NAME_MAX + 1] = '\0';
    const char *const vars[] = {"cus", cus, "acct", acct, "long", long_name, NULL};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char fields[400];
        h_fill(cases[i].fields, vars, fields, sizeof fields);
        snprintf(form, sizeof form, "csrf=%s&%s", tok, fields);
        req(cases[i].path, form, true, &r);
        char want[64];
        snprintf(want, sizeof want, "<code id=\"field\">%s</code>", cases[i].field);
        if (r.status != cases[i].status || !strstr(r.body, want) || !strstr(r.body, cases[i].why))
            fprintf(stderr, "case %zu: %s %s -> %ld %.300s\n", i, cases[i].path, fields, r.status,
                    r.body);
        assert_int_equal(r.status, cases[i].status);
        assert_non_null(strstr(r.body, want));
        assert_non_null(strstr(r.body, cases[i].why));
        resp_fini(&r);
    }
    char path[200];
    snprintf(path, sizeof path, "/admin/movements?account=%s&cursor=12x", acct);
    req(path, NULL, true, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "<code id=\"field\">cursor</code>"));
    resp_fini(&r);
    req("/admin/movements?account=acct_nope", NULL, true, &r);
    assert_int_equal(r.status, 404);
    resp_fini(&r);
    req("/admin/cards/issued?ticket=short", NULL, true, &r);
    assert_int_equal(r.status, 404);
    resp_fini(&r);
    req("/admin", NULL, true, &r); /* nothing was created */
    assert_int_equal(count_of(r.body, "cus_"), customers);
    assert_int_equal(count_of(r.body, "acct_"), accounts);
    resp_fini(&r);
    movements(&r);
    assert_non_null(strstr(r.body, "id=\"balance\" data-amount=\"124.45\""));
    resp_fini(&r);
}

/* The CLI runs the same operations on the same data: a deposit by `paygate bank deposit`
 * shows on the page; an account and card by the CLI for the form's customer. */
static void test_cli_same_operations(void **state)
{
    (void)state;
    assert_int_equal(h_paygate(NULL,
                               "bank deposit --data-dir %s/data%s --account %s --amount 55"
                               " >/dev/null 2>>%s/cli.log",
                               bank.dir, bank.db_flag, acct, bank.dir),
                     0);
    assert_int_not_equal(h_paygate(NULL,
                                   "bank deposit --data-dir %s/data%s --account %s --amount 1.5"
                                   " >/dev/null 2>>%s/cli.log",
                                   bank.dir, bank.db_flag, acct, bank.dir),
                         0);
    struct resp r;
    movements(&r);
    assert_int_equal(count_rows(r.body), 3);
    assert_non_null(
        strstr(r.body, "<strong id=\"balance\" data-amount=\"125.00\">¥125.00</strong>"));
    resp_fini(&r);
    struct pay_buf out;
    pay_buf_init(&out, 4096);
    assert_int_equal(h_paygate(&out,
                               "bank account add --data-dir %s/data%s --customer %s --kind credit"
                               " --limit 500000 2>>%s/cli.log",
                               bank.dir, bank.db_flag, cus, bank.dir),
                     0);
    char credit[64] = "";
    assert_int_equal(sscanf(pay_buf_str(&out), "account %63s", credit), 1);
    pay_buf_fini(&out);
    req("/admin", NULL, true, &r);
    assert_non_null(strstr(r.body, credit));
    assert_non_null(strstr(r.body, "¥5,000.00")); /* the credit line, as its balance */
    resp_fini(&r);
}

/* The value of "key":"..." in a merchant.json of the bank's temp dir ("" when absent). */
static void merchant_json(const char *sub, const char *key, char *out, size_t n)
{
    char path[400], text[1024], k[64];
    snprintf(path, sizeof path, "%s/%s/merchant.json", bank.dir, sub);
    th_read_text(path, text, sizeof text);
    snprintf(k, sizeof k, "\"%s\":\"", key);
    const char *p = strstr(text, k);
    snprintf(out, n, "%.*s", p ? (int)strcspn(p + strlen(k), "\"") : 0, p ? p + strlen(k) : "");
}

/* `paygate bank merchant add` names a bad field and writes nothing; adding a merchant again
 * issues a new certificate for the same account. */
#define LONG_ID "M123456789012345678901234567890123456789012345678901234567890123"
static void test_merchant_cli(void **state)
{
    (void)state;
    struct pay_buf out;
    pay_buf_init(&out, 4096);
    static const struct {
        const char *args, *says; /* the refusal names the field, or the missing option */
    } bad[] = {
        {"--mer-id 'bad id!' --name X --referrer-domain a.test --notify-domain a.test",
         "field=mer-id"},
        {"--mer-id M9 --name '' --referrer-domain a.test --notify-domain a.test", "field=name"},
        {"--mer-id M9 --name X --notify-domain a.test", "--referrer-domain is required"},
        /* 65 characters: refused, not cut to a valid 64-character id */
        {"--mer-id " LONG_ID "X --name X --referrer-domain a.test --notify-domain a.test",
         "field=mer-id"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pay_buf_reset(&out);
        assert_int_not_equal(h_paygate(&out,
                                       "bank merchant add --data-dir %s/data%s %s --out %s/MX 2>&1",
                                       bank.dir, bank.db_flag, bad[i].args, bank.dir),
                             0);
        if (!strstr(pay_buf_str(&out), bad[i].says))
            fail_msg("%s: no \"%s\" in: %s", bad[i].args, bad[i].says, pay_buf_str(&out));
    }
    char path[400], text[16];
    snprintf(path, sizeof path, "%s/MX/merchant.json", bank.dir);
    assert_int_equal(th_read_text(path, text, sizeof text), 0); /* nothing written */
    pay_buf_fini(&out);

    assert_int_equal(
        h_paygate(NULL,
                  "bank merchant add --data-dir %s/data%s --mer-id M1 --name 'Test Shop 1'"
                  " --referrer-domain shop.test --notify-domain 127.0.0.1 --out %s/M1b"
                  " >/dev/null 2>>%s/cli.log",
                  bank.dir, bank.db_flag, bank.dir, bank.dir),
        0);
    char acct1[64], acct1b[64], serial1[64], serial1b[64];
    merchant_json("M1", "merAcct", acct1, sizeof acct1);
    merchant_json("M1b", "merAcct", acct1b, sizeof acct1b);
    merchant_json("M1", "certSerial", serial1, sizeof serial1);
    merchant_json("M1b", "certSerial", serial1b, sizeof serial1b);
    assert_true(acct1[0] != '\0');
    assert_string_equal(acct1b, acct1);         /* the same account ... */
    assert_string_not_equal(serial1b, serial1); /* ... under a new certificate */
}

/* n characters of 字 (3 bytes each), percent-encoded, into out (n * 9 + 1 bytes). */
static void zi_times(char *out, int n)
{
    for (int i = 0; i < n; i++)
        memcpy(out + 9 * i, "%E5%AD%97", 9);
    out[9 * n] = '\0';
}

/* POSTs the reserved message form; the status. */
static long reserved_post(const char *tok, const char *customer, const char *message,
                          struct resp *r)
{
    char form[900];
    snprintf(form, sizeof form, "csrf=%s&customer=%s&message=%s", tok, customer, message);
    req("/admin/customers/reserved", form, true, r);
    return r->status;
}

/* The reserved message (预留信息): refusals name the field and change nothing; set at the
 * counter (the form) and by the CLI, 30 Chinese characters fit; the admin page says only
 * whether one is set; the audit trail records that it changed, never the text; and the text is
 * in neither the database, its WAL nor the logs (stored sealed). */
static const char reserved_form[] = "%E7%8C%AB%E5%92%AA%E5%8F%AB%E5%B0%8F%E7%99%BD42";
static const char reserved_text[] = "猫咪叫小白42"; /* reserved_form decoded */
static const char reserved_cli[] = "tea-at-four-o-clock";

static void test_reserved_message(void **state)
{
    (void)state;
    char tok[80], zi30[30 * 9 + 1], zi31[31 * 9 + 1];
    struct resp r;
    csrf(tok);
    zi_times(zi30, 30);
    zi_times(zi31, 31);
    const struct {
        const char *customer, *message;
        long status;
        const char *field, *why;
    } refused[] = {
        {"", "abc", 400, "customer", "required"},
        {cus, "", 400, "message", "required"},
        {cus, zi31, 400, "message", "at most 30 characters"},
        {"cus_nope", "abc", 404, "customer", "no customer"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "<code id=\"field\">%s</code>", refused[i].field);
        assert_int_equal(reserved_post(tok, refused[i].customer, refused[i].message, &r),
                         refused[i].status);
        assert_non_null(strstr(r.body, want));
        assert_non_null(strstr(r.body, refused[i].why));
        resp_fini(&r);
    }
    req("/admin", NULL, true, &r);
    char want[200];
    snprintf(want, sizeof want, "<td>%s</td>", cus);
    assert_non_null(strstr(strstr(r.body, want), "data-reserved=\"false\""));
    resp_fini(&r);
    assert_int_equal(reserved_post(tok, cus, zi30, &r), 303); /* 30 characters, 90 bytes */
    assert_non_null(strstr(r.location, "done=reserved"));
    resp_fini(&r);
    assert_int_equal(reserved_post(tok, cus, reserved_form, &r), 303);
    resp_fini(&r);
    req("/admin", NULL, true, &r);
    assert_non_null(strstr(strstr(r.body, want), "data-reserved=\"true\""));
    assert_null(strstr(r.body, reserved_text));
    resp_fini(&r);
    assert_int_equal(h_paygate(NULL,
                               "bank customer reserved-message --data-dir %s/data%s --customer %s"
                               " --message %s >>%s/cli.log 2>&1",
                               bank.dir, bank.db_flag, cus, reserved_cli, bank.dir),
                     0);
    assert_int_not_equal(h_paygate(NULL,
                                   "bank customer reserved-message --data-dir %s/data%s --customer"
                                   " cus_nope --message x >>%s/cli.log 2>&1",
                                   bank.dir, bank.db_flag, bank.dir),
                         0);
    req("/admin/audit?action=customer.reserved_message", NULL, true, &r);
    assert_int_equal(count_of(r.body, "class=\"audit-entry\""), 3); /* 2 forms, 1 CLI */
    assert_null(strstr(r.body, reserved_text));
    assert_null(strstr(r.body, reserved_cli));
    resp_fini(&r);
    char needles[2][64];
    snprintf(needles[0], 64, "%s", reserved_text);
    snprintf(needles[1], 64, "%s", reserved_cli);
    const char *files[] = {"data/bank.db", "data/bank.db-wal", "bank.log", "cli.log"};
    assert_int_equal(
        h_bank_scan(&bank, files, sizeof files / sizeof files[0], (const char(*)[64])needles, 2),
        0);
}

static void test_card_not_at_rest(void **state)
{
    (void)state;
    assert_int_equal(strlen(pan), 16);
    char needles[5][64];
    snprintf(needles[0], 64, "%s", pan);
    snprintf(needles[1], 64, "%.4s %.4s %.4s %.4s", pan, pan + 4, pan + 8, pan + 12);
    snprintf(needles[2], 64, "cvv2=%s", cvv);
    snprintf(needles[3], 64, "\"cvv2\":\"%s\"", cvv);
    snprintf(needles[4], 64, "cvv2 %s", cvv);
    const char *files[] = {"data/bank.db", "data/bank.db-wal", "bank.log", "cli.log"};
    assert_int_equal(
        h_bank_scan(&bank, files, sizeof files / sizeof files[0], (const char(*)[64])needles, 5),
        0);
    /* the scan can fail: the bank's log is where it should be and has the admin requests */
    char path[400];
    snprintf(path, sizeof path, "%s/bank.log", bank.dir);
    assert_true(th_count_in_file(path, "/admin/cards") > 0);
}

/* The audit trail (docs/audit.md) at /admin/audit: every admin action of test_flow with its
 * amount, the card by id and last digits only, filters; and `paygate audit verify` checks the
 * RSA-signed checkpoints with the key beside the database. */
static void test_audit_trail(void **state)
{
    (void)state;
    struct resp r;
    req("/admin/audit", NULL, true, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "审计日志"));
    assert_non_null(strstr(r.body, "data-action=\"server.start\""));
    assert_non_null(strstr(r.body, "data-action=\"customer.add\" data-actor=\"admin\""));
    assert_non_null(strstr(r.body, "data-action=\"account.open\""));
    assert_non_null(strstr(r.body, "data-action=\"card.issue\""));
    char last4[16];
    snprintf(last4, sizeof last4, "last4=%s", pan + 12);
    assert_non_null(strstr(r.body, last4));
    assert_null(strstr(r.body, pan)); /* never the card number */
    resp_fini(&r);
    char path[200];
    snprintf(path, sizeof path, "/admin/audit?action=deposit&target=%s", acct);
    req(path, NULL, true, &r);
    assert_int_equal(count_of(r.body, "class=\"audit-entry\""), 3); /* the CLI's too */
    assert_non_null(strstr(r.body, "amount_minor=55 currency=CNY"));
    assert_non_null(strstr(r.body, "amount_minor=12345 currency=CNY"));
    assert_non_null(strstr(r.body, "amount_minor=100 currency=CNY"));
    resp_fini(&r);
    req("/admin/audit?to=31-12-2026", NULL, true, &r);
    assert_int_equal(r.status, 400);
    resp_fini(&r);
    /* verify with the key the bank publishes (beside an SQLite file it finds its own) */
    req("/api/v1/bank-key.pem", NULL, false, &r);
    assert_int_equal(r.status, 200);
    char key[300];
    snprintf(key, sizeof key, "%s/bank-key.pem", bank.dir);
    FILE *f = fopen(key, "w");
    assert_non_null(f);
    fputs(r.body, f);
    fclose(f);
    resp_fini(&r);
    struct pay_buf out;
    pay_buf_init(&out, 65536);
    assert_int_equal(h_paygate(&out, "audit verify --database '%s'%s%s", bank.db,
                               th_db_is_pg() ? " --public-key " : "", th_db_is_pg() ? key : ""),
                     0);
    assert_non_null(strstr(pay_buf_str(&out), "is intact"));
    assert_null(strstr(pay_buf_str(&out), TH_DB_PASSWORD)); /* a URL is shown masked */
    pay_buf_fini(&out);
}

static void test_ledger_verify(void **state)
{
    (void)state;
    assert_int_equal(h_bank_ledger_verify(&bank), 0);
}

static int group_setup(void **state)
{
    (void)state;
    return h_bank_start(&bank, NULL);
}

static int group_teardown(void **state)
{
    (void)state;
    h_bank_stop(&bank);
    return h_bank_remove(&bank);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow),
        cmocka_unit_test(test_csrf_refused),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_refusals_name_the_field),
        cmocka_unit_test(test_reserved_message),
        cmocka_unit_test(test_cli_same_operations),
        cmocka_unit_test(test_merchant_cli),
        cmocka_unit_test(test_card_not_at_rest),
        cmocka_unit_test(test_audit_trail),
        cmocka_unit_test(test_ledger_verify),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
