/* The bank's statement file as the platform reads it (src/platform/recon_file.c): the example
 * records of docs/reconciliation.md, given their trailer, are read as documented; every check
 * refuses a file that does not add up (a count, a total, the balance, the checksum, the header's
 * account or day, the version, a missing trailer, bytes after it) with STATEMENT_INVALID. */
#include "platform/connector.h"
#include "platform/recon.h"

#include "core/buf.h"
#include "crypto/crypto.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct pay_platform_bank bank = {
    .code = "icbc", .mer_id = "PAYGATE", .mer_acct = "acct_01KC8ZQ7V4M8Y3G6W2H5N9R1TX"};

/* The header and movement records of the docs' example, each with its CRLF (static). */
static const char *doc_records(void)
{
    static char out[4096];
    const char *root = getenv("PAYGATE_SOURCE_ROOT");
    char path[1024], *text = calloc(1, 1 << 17);
    snprintf(path, sizeof path, "%s/docs/reconciliation.md", root ? root : "..");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    text[fread(text, 1, (1 << 17) - 1, f)] = '\0';
    fclose(f);
    size_t o = 0;
    for (const char *l = strstr(text, "\n    H,"); l && (l[5] == 'H' || l[5] == 'D');
         l = strchr(l + 1, '\n')) {
        int n = (int)strcspn(l + 5, "\n");
        int w = snprintf(out + o, sizeof out - o, "%.*s\r\n", n, l + 5);
        assert_true(w > 0 && (size_t)w < sizeof out - o);
        o += (size_t)w;
    }
    out[o] = '\0';
    free(text);
    assert_non_null(strstr(out, "H,PAYGATE-STATEMENT,1,icbc,"));
    return out;
}

/* records + a trailer "T,<counts...>,<checksum of records>" (the caller's fields). */
static char *with_trailer(const char *records, const char *counts)
{
    char hex[PAY_SHA256_HEX_LEN];
    pay_sha256_hex(hex, records, strlen(records));
    size_t n = strlen(records) + strlen(counts) + 128;
    char *s = malloc(n);
    snprintf(s, n, "%sT,%s,%s\r\n", records, counts, hex);
    return s;
}

static enum pay_err parse(const char *text, struct pay_recon_file *f, struct pay_error *err)
{
    memset(err, 0, sizeof *err);
    return pay_recon_file_parse(&bank, "2026-12-08", text, strlen(text), f, err);
}

static void the_documented_example(void **state)
{
    char *file = with_trailer(doc_records(), "2,1,50000,1,5000,45000");
    struct pay_recon_file f;
    struct pay_error err;
    assert_int_equal(parse(file, &f, &err), PAY_ERR_OK);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.lines[0].kind, "AGREEMENT_DEBIT");
    assert_true(f.lines[0].credit);
    assert_int_equal(f.lines[0].amount_minor, 50000);
    assert_string_equal(f.lines[1].reference, "wd_01KC8ZW2E9F0G1H2J3K4M5N6P7");
    assert_false(f.lines[1].credit);
    assert_int_equal(f.to_ms - f.from_ms, 86400000);
    assert_int_equal(f.opening_minor, 0);
    assert_int_equal(f.closing_minor, 45000);
    assert_string_equal(f.currency, "CNY");
    pay_recon_file_fini(&f);
    free(file);
}

/* A file the bank quotes: a reference with a comma and a quote reads back whole. */
static void quoted_fields(void **state)
{
    char records[1024];
    snprintf(records, sizeof records,
             "H,PAYGATE-STATEMENT,1,icbc,PAYGATE,%s,CNY,2026-12-08,2026-12-07T16:00:00Z,"
             "2026-12-08T16:00:00Z,100\r\nD,2026-12-08T01:00:00Z,dep_1,DEPOSIT,CREDIT,5,"
             "\"a,\"\"b\"\"\"\r\n",
             bank.mer_acct);
    char *file = with_trailer(records, "1,1,5,0,0,105");
    struct pay_recon_file f;
    struct pay_error err;
    assert_int_equal(parse(file, &f, &err), PAY_ERR_OK);
    assert_string_equal(f.lines[0].reference, "a,\"b\"");
    pay_recon_file_fini(&f);
    free(file);
}

/* Each way a file may not add up, refused with the check that failed. */
static void files_that_do_not_add_up(void **state)
{
    const char *rec = doc_records();
    struct {
        char *text;
        const char *why;
    } bad[] = {
        {with_trailer(rec, "3,1,50000,1,5000,45000"), "counts"},
        {with_trailer(rec, "2,1,50001,1,5000,45001"), "totals"},
        {with_trailer(rec, "2,1,50000,1,5000,45001"), "closing"},
        {with_trailer(rec, "2,1,50000,1,5000"), "T record"},
        {strdup(rec), "no trailer"},
    };
    char *good = with_trailer(rec, "2,1,50000,1,5000,45000");
    /* a record changed after the trailer was made: only the checksum tells */
    char *altered = strdup(good);
    *strstr(altered, "wd_01") = 'x';
    char *after = malloc(strlen(good) + 8);
    snprintf(after, strlen(good) + 8, "%sD\r\n", good);
    char *other_day = strdup(good), *other_acct = strdup(good), *v2 = strdup(good);
    memcpy(strstr(other_day, ",2026-12-08,"), ",2026-12-09,", 12);
    *strstr(other_acct, "acct_01") = 'b';
    *strstr(v2, "STATEMENT,1,") = 'X';
    const char *more[][2] = {{altered, "checksum"},
                             {after, "after the trailer"},
                             {other_day, "another day"},
                             {other_acct, "not of our account"},
                             {v2, "version 1"}};
    for (size_t i = 0; i < 5 + 5; i++) {
        const char *text = i < 5 ? bad[i].text : more[i - 5][0];
        const char *why = i < 5 ? bad[i].why : more[i - 5][1];
        struct pay_recon_file f;
        struct pay_error err;
        assert_int_equal(parse(text, &f, &err), PAY_ERR_STATEMENT_INVALID);
        if (!strstr(err.detail, why))
            fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err.detail, why);
        pay_recon_file_fini(&f);
    }
    for (size_t i = 0; i < 5; i++)
        free(bad[i].text);
    free(good);
    free(altered);
    free(after);
    free(other_day);
    free(other_acct);
    free(v2);
}

int main(void)
{
    assert_int_equal(pay_crypto_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_documented_example),
        cmocka_unit_test(quoted_fields),
        cmocka_unit_test(files_that_do_not_add_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
