/* Money: the currency table, strict parsing, exact formatting, checked arithmetic, basis-point
 * fees with banker's rounding, and splitting a total into parts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/money.h"

/* Parses text in currency and expects success with the given value. */
static void expect_ok(const char *text, const char *currency, int64_t want)
{
    struct pay_error e = {0};
    int64_t got = -12345;
    enum pay_err rc = pay_money_parse_signed(text, currency, &got, &e);
    if (rc != PAY_ERR_OK)
        fail_msg("'%s' %s: %s (%s)", text, currency, pay_err_name(rc), e.detail);
    assert_int_equal(got, want);
    if (want >= 0) {
        assert_int_equal(pay_money_parse(text, currency, &got, &e), PAY_ERR_OK);
        assert_int_equal(got, want);
    }
}

/* Expects both parsers to fail with code, leave the output alone and say why. */
static void expect_bad(const char *text, const char *currency, enum pay_err code)
{
    struct pay_error e = {0};
    int64_t got = 777;
    enum pay_err rc = pay_money_parse_signed(text, currency, &got, &e);
    if (rc != code)
        fail_msg("'%s' %s: got %s, want %s", text ? text : "(null)", currency ? currency : "",
                 pay_err_name(rc), pay_err_name(code));
    assert_int_equal(e.code, code);
    assert_true(strlen(e.detail) > 0);
    /* The unsigned parser refuses any '-' as invalid, whatever follows it. */
    enum pay_err unsigned_code = text != NULL && text[0] == '-' && code == PAY_ERR_AMOUNT_OVERFLOW
                                     ? PAY_ERR_AMOUNT_INVALID
                                     : code;
    assert_int_equal(pay_money_parse(text, currency, &got, NULL), unsigned_code);
    assert_int_equal(got, 777);
}

static void expect_format(int64_t minor, const char *currency, const char *want)
{
    char out[PAY_MONEY_TEXT_MAX];
    int n = pay_money_format(minor, currency, out, sizeof out);
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(out, want);
}

static void currency_table(void **state)
{
    (void)state;
    assert_int_equal(pay_currency_lookup("CNY"), 2);
    assert_int_equal(pay_currency_lookup("USD"), 2);
    assert_int_equal(pay_currency_lookup("EUR"), 2);
    assert_int_equal(pay_currency_lookup("JPY"), 0);
    assert_int_equal(pay_currency_lookup("KRW"), 0);
    assert_int_equal(pay_currency_lookup("VND"), 0);
    assert_int_equal(pay_currency_lookup("ISK"), 0);
    assert_int_equal(pay_currency_lookup("UGX"), 0);
    assert_int_equal(pay_currency_lookup("XOF"), 0);
    assert_int_equal(pay_currency_lookup("KWD"), 3);
    assert_int_equal(pay_currency_lookup("BHD"), 3);
    assert_int_equal(pay_currency_lookup("TND"), 3);
    assert_int_equal(pay_currency_lookup("CLF"), 4);
    assert_int_equal(pay_currency_lookup("UYW"), 4);
    assert_int_equal(pay_currency_lookup("AED"), 2);  /* first */
    assert_int_equal(pay_currency_lookup("ZWG"), 2);  /* last */
    assert_int_equal(pay_currency_lookup("cny"), -1); /* codes are upper case */
    assert_int_equal(pay_currency_lookup("CN"), -1);
    assert_int_equal(pay_currency_lookup("CNYY"), -1);
    assert_int_equal(pay_currency_lookup(""), -1);
    assert_int_equal(pay_currency_lookup(NULL), -1);
    assert_int_equal(pay_currency_lookup("XAU"), -1); /* gold has no minor unit */
    assert_int_equal(pay_currency_lookup("XXX"), -1);
    assert_int_equal(pay_currency_lookup("HRK"), -1); /* withdrawn 2023 */
    assert_int_equal(pay_currency_lookup("ABC"), -1);
}

/* The binary search needs a strictly sorted table; every row must be findable. */
static void currency_table_sorted_and_complete(void **state)
{
    (void)state;
    size_t n = 0;
    const struct pay_currency *t = pay_currency_table(&n);
    assert_true(n >= 150);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(strlen(t[i].code), 3);
        assert_true(t[i].exponent >= 0 && t[i].exponent <= 4);
        assert_int_equal(pay_currency_lookup(t[i].code), t[i].exponent);
        if (i > 0)
            assert_true(strcmp(t[i - 1].code, t[i].code) < 0);
    }
}

static void parse_good(void **state)
{
    (void)state;
    expect_ok("12.30", "CNY", 1230);
    expect_ok("12.3", "CNY", 1230);
    expect_ok("0.01", "CNY", 1);
    expect_ok("0.1", "CNY", 10);
    expect_ok("5", "CNY", 500);
    expect_ok("0", "CNY", 0);
    expect_ok("0.00", "CNY", 0);
    expect_ok("100", "JPY", 100);
    expect_ok("1.005", "KWD", 1005);
    expect_ok("1.5", "KWD", 1500);
    expect_ok("0.0001", "CLF", 1);
    expect_ok("-12.30", "CNY", -1230);
    expect_ok("-0.01", "CNY", -1);
    expect_ok("92233720368547758.07", "CNY", INT64_MAX);
    expect_ok("-92233720368547758.08", "CNY", INT64_MIN);
    expect_ok("9223372036854775807", "JPY", INT64_MAX);
    expect_ok("-9223372036854775808", "JPY", INT64_MIN);
}

static void parse_bad(void **state)
{
    (void)state;
    const char *bad[] = {
        "",      " 5",  "5 ",   "+5",   ".5",       "5.",  "01",  "00",    "00.1", "1e3",
        "1E3",   "1,0", "1..0", "0x10", "1.2.3",    "5\n", "\t5", "--5",   "-",    "-.5",
        "1 000", "1_0", "NaN",  "inf",  "\xd9\xa1", "١٢",  "５",  "12.3a", "1.-1", "0-",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_bad(bad[i], "CNY", PAY_ERR_AMOUNT_INVALID);
    expect_bad("1.234", "CNY", PAY_ERR_AMOUNT_INVALID);
    expect_bad("1.0", "JPY", PAY_ERR_AMOUNT_INVALID);
    expect_bad("1.", "JPY", PAY_ERR_AMOUNT_INVALID);
    expect_bad("1.0001", "KWD", PAY_ERR_AMOUNT_INVALID);
    expect_bad("-0", "CNY", PAY_ERR_AMOUNT_INVALID);
    expect_bad("-0.00", "CNY", PAY_ERR_AMOUNT_INVALID);
    expect_bad("-0", "JPY", PAY_ERR_AMOUNT_INVALID);
    expect_bad(NULL, "CNY", PAY_ERR_AMOUNT_INVALID);
    expect_bad("5", "XYZ", PAY_ERR_CURRENCY_UNKNOWN);
    expect_bad("5", "cny", PAY_ERR_CURRENCY_UNKNOWN);
    expect_bad("5", NULL, PAY_ERR_CURRENCY_UNKNOWN);
    expect_bad("5", "", PAY_ERR_CURRENCY_UNKNOWN);
    /* Text longer than the limit is refused before any digit is read. */
    char longtext[PAY_MONEY_TEXT_MAX + 2];
    memset(longtext, '1', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    expect_bad(longtext, "CNY", PAY_ERR_AMOUNT_INVALID);
}

/* Unsigned parsing refuses any sign; the error names the field and says why. */
static void parse_sign_and_details(void **state)
{
    (void)state;
    struct pay_error e = {0};
    int64_t v = 0;
    assert_int_equal(pay_money_parse("-5", "CNY", &v, &e), PAY_ERR_AMOUNT_INVALID);
    assert_string_equal(e.field, "amount");
    assert_int_equal(pay_money_parse("1.234", "CNY", &v, &e), PAY_ERR_AMOUNT_INVALID);
    assert_non_null(strstr(e.detail, "at most 2"));
    assert_int_equal(pay_money_parse("1.5", "JPY", &v, &e), PAY_ERR_AMOUNT_INVALID);
    assert_non_null(strstr(e.detail, "JPY"));
    assert_int_equal(pay_money_parse("1", "QQQ", &v, &e), PAY_ERR_CURRENCY_UNKNOWN);
    assert_string_equal(e.field, "currency");
    assert_non_null(strstr(e.detail, "QQQ"));
}

static void parse_overflow_edges(void **state)
{
    (void)state;
    expect_bad("92233720368547758.08", "CNY", PAY_ERR_AMOUNT_OVERFLOW);
    expect_bad("-92233720368547758.09", "CNY", PAY_ERR_AMOUNT_OVERFLOW);
    expect_bad("9223372036854775808", "JPY", PAY_ERR_AMOUNT_OVERFLOW);
    expect_bad("-9223372036854775809", "JPY", PAY_ERR_AMOUNT_OVERFLOW);
    expect_bad("99999999999999999999999999999999", "CLF", PAY_ERR_AMOUNT_OVERFLOW);
    expect_bad("922337203685477.5808", "CLF", PAY_ERR_AMOUNT_OVERFLOW);
    expect_ok("922337203685477.5807", "CLF", INT64_MAX);
    /* Unsigned parsing cannot reach INT64_MIN's magnitude. */
    int64_t v = 0;
    assert_int_equal(pay_money_parse("92233720368547758.08", "CNY", &v, NULL),
                     PAY_ERR_AMOUNT_OVERFLOW);
}

static void format_exact(void **state)
{
    (void)state;
    expect_format(1230, "CNY", "12.30");
    expect_format(1, "CNY", "0.01");
    expect_format(0, "CNY", "0.00");
    expect_format(-5, "CNY", "-0.05");
    expect_format(-1230, "CNY", "-12.30");
    expect_format(1200, "JPY", "1200");
    expect_format(-7, "JPY", "-7");
    expect_format(0, "JPY", "0");
    expect_format(1005, "KWD", "1.005");
    expect_format(5, "KWD", "0.005");
    expect_format(1, "CLF", "0.0001");
    expect_format(INT64_MAX, "CNY", "92233720368547758.07");
    expect_format(INT64_MIN, "CNY", "-92233720368547758.08");
    expect_format(INT64_MIN, "JPY", "-9223372036854775808");
    expect_format(INT64_MIN, "CLF", "-922337203685477.5808");
}

/* What people read: the symbol, thousands separators, every decimal; exact for any int64. */
static void format_display(void **state)
{
    (void)state;
    char out[PAY_MONEY_DISPLAY_MAX];
    const struct {
        int64_t minor;
        const char *cur, *want;
    } cases[] = {
        {123450, "CNY", "¥1,234.50"},
        {10300, "CNY", "¥103.00"},
        {5, "CNY", "¥0.05"},
        {0, "CNY", "¥0.00"},
        {-5, "CNY", "-¥0.05"},
        {-123456789, "CNY", "-¥1,234,567.89"},
        {100000000, "CNY", "¥1,000,000.00"},
        {99999, "CNY", "¥999.99"},
        {1200, "JPY", "JP¥1,200"},
        {100, "USD", "US$1.00"},
        {123456, "EUR", "€1,234.56"},
        {1005, "KWD",
         "1.005\xc2\xa0"
         "KWD"}, /* no symbol: the code after a no-break space */
        {12345678, "CLF",
         "1,234.5678\xc2\xa0"
         "CLF"},
        {INT64_MAX, "CNY", "¥92,233,720,368,547,758.07"},
        {INT64_MIN, "CNY", "-¥92,233,720,368,547,758.08"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = pay_money_format_display(cases[i].minor, cases[i].cur, out, sizeof out);
        assert_string_equal(out, cases[i].want);
        assert_int_equal(n, (int)strlen(cases[i].want));
    }
    assert_int_equal(pay_money_format_display(100, "XYZ", out, sizeof out), -1);
    assert_string_equal(out, "");
    /* "¥1,234.50" is 10 bytes (¥ is two in UTF-8), 11 with its NUL */
    assert_int_equal(pay_money_format_display(123450, "CNY", out, 10), -1);
    assert_string_equal(out, "");
    assert_int_equal(pay_money_format_display(123450, "CNY", out, 11), 10);
}

static void format_errors(void **state)
{
    (void)state;
    char out[8];
    assert_int_equal(pay_money_format(1, "XYZ", out, sizeof out), -1);
    assert_string_equal(out, "");
    assert_int_equal(pay_money_format(123456789, "CNY", out, sizeof out), -1); /* 1234567.89 */
    assert_string_equal(out, "");
    assert_int_equal(pay_money_format(12345, "CNY", out, sizeof out), 6); /* fits exactly */
    assert_string_equal(out, "123.45");
    assert_int_equal(pay_money_format(123456, "CNY", out, sizeof out), 7);
    assert_int_equal(pay_money_format(1, "CNY", NULL, 0), -1);
}

/* xorshift64*: a fixed-seed generator, so a failure reproduces. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* format then parse returns the same value, for every exponent and many magnitudes. */
static void round_trip_random(void **state)
{
    (void)state;
    const char *currencies[] = {"CNY", "JPY", "KWD", "CLF", "USD"};
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    char text[PAY_MONEY_TEXT_MAX];
    for (int i = 0; i < 200000; i++) {
        uint64_t r = next_random(&seed);
        int64_t v = (int64_t)(r >> (r % 64)); /* spread over every magnitude */
        if (r & 1)
            v = -v;
        if (i < 4)
            v = (int64_t[]){INT64_MAX, INT64_MIN, 0, -1}[i];
        const char *cur = currencies[i % 5];
        assert_true(pay_money_format(v, cur, text, sizeof text) > 0);
        int64_t back = 0;
        enum pay_err rc = pay_money_parse_signed(text, cur, &back, NULL);
        if (rc != PAY_ERR_OK || back != v)
            fail_msg("%" PRId64 " %s -> '%s' -> %" PRId64, v, cur, text, back);
    }
}

static void add_sub_overflow(void **state)
{
    (void)state;
    int64_t r = 42;
    assert_int_equal(pay_money_add(1, 2, &r), PAY_ERR_OK);
    assert_int_equal(r, 3);
    assert_int_equal(pay_money_add(INT64_MAX, 0, &r), PAY_ERR_OK);
    assert_int_equal(r, INT64_MAX);
    r = 42;
    assert_int_equal(pay_money_add(INT64_MAX, 1, &r), PAY_ERR_AMOUNT_OVERFLOW);
    assert_int_equal(r, 42);
    assert_int_equal(pay_money_add(INT64_MIN, -1, &r), PAY_ERR_AMOUNT_OVERFLOW);
    assert_int_equal(pay_money_add(INT64_MIN, INT64_MAX, &r), PAY_ERR_OK);
    assert_int_equal(r, -1);
    assert_int_equal(pay_money_sub(5, 7, &r), PAY_ERR_OK);
    assert_int_equal(r, -2);
    assert_int_equal(pay_money_sub(INT64_MIN, 1, &r), PAY_ERR_AMOUNT_OVERFLOW);
    assert_int_equal(pay_money_sub(0, INT64_MIN, &r), PAY_ERR_AMOUNT_OVERFLOW);
    assert_int_equal(pay_money_sub(-1, INT64_MIN, &r), PAY_ERR_OK);
    assert_int_equal(r, INT64_MAX);
}

static int64_t bp(int64_t minor, int64_t points, enum pay_rounding rounding)
{
    int64_t out = 0;
    assert_int_equal(pay_money_mul_bp(minor, points, rounding, &out), PAY_ERR_OK);
    return out;
}

static void fee_rounding_half_even(void **state)
{
    (void)state;
    assert_int_equal(bp(10000, 60, PAY_ROUND_FEE), 60); /* 100.00 at 0.6% = 0.60 */
    assert_int_equal(bp(12345, 60, PAY_ROUND_FEE), 74); /* 74.07 -> 74 */
    assert_int_equal(bp(12500, 60, PAY_ROUND_FEE), 75); /* exact */
    assert_int_equal(bp(250, 60, PAY_ROUND_FEE), 2);    /* 0.6% of 2.50 = 1.5 fen -> 2 */
    assert_int_equal(bp(750, 60, PAY_ROUND_FEE), 4);    /* 0.6% of 7.50 = 4.5 fen -> 4 */
    assert_int_equal(bp(1, 5000, PAY_ROUND_FEE), 0);    /* 0.5 -> 0 (even) */
    assert_int_equal(bp(3, 5000, PAY_ROUND_FEE), 2);    /* 1.5 -> 2 */
    assert_int_equal(bp(5, 5000, PAY_ROUND_FEE), 2);    /* 2.5 -> 2 */
    assert_int_equal(bp(7, 5000, PAY_ROUND_FEE), 4);    /* 3.5 -> 4 */
    assert_int_equal(bp(-3, 5000, PAY_ROUND_FEE), -2);  /* -1.5 -> -2 */
    assert_int_equal(bp(-5, 5000, PAY_ROUND_FEE), -2);  /* -2.5 -> -2 */
    assert_int_equal(bp(5001, 1, PAY_ROUND_FEE), 1);    /* 0.5001 -> 1 */
    assert_int_equal(bp(4999, 1, PAY_ROUND_FEE), 0);    /* 0.4999 -> 0 */
    assert_int_equal(bp(15000, 1, PAY_ROUND_FEE), 2);   /* 1.5 -> 2 */
    assert_int_equal(bp(25000, 1, PAY_ROUND_FEE), 2);   /* 2.5 -> 2 */
    assert_int_equal(bp(0, 60, PAY_ROUND_FEE), 0);
    assert_int_equal(bp(1234, 0, PAY_ROUND_FEE), 0);
    assert_int_equal(bp(1234, 10000, PAY_ROUND_FEE), 1234); /* 100% */
    assert_int_equal(bp(12345, 60, PAY_ROUND_TOWARD_ZERO), 74);
    assert_int_equal(bp(12345, 60, PAY_ROUND_AWAY_FROM_ZERO), 75);
    assert_int_equal(bp(12500, 60, PAY_ROUND_AWAY_FROM_ZERO), 75);
    assert_int_equal(bp(-12345, 60, PAY_ROUND_TOWARD_ZERO), -74);
    assert_int_equal(bp(-12345, 60, PAY_ROUND_AWAY_FROM_ZERO), -75);
    assert_int_equal(bp(12345, -60, PAY_ROUND_FEE), -74);
}

/* Over every amount 0..N, half-even's total error stays near zero; half-up would drift. */
static void fee_rounding_is_unbiased(void **state)
{
    (void)state;
    int64_t exact_sum_x10000 = 0, rounded_sum = 0;
    for (int64_t m = 0; m < 200000; m++) {
        exact_sum_x10000 += m * 5000;
        rounded_sum += bp(m, 5000, PAY_ROUND_FEE);
    }
    int64_t drift = rounded_sum * 10000 - exact_sum_x10000;
    assert_true(drift >= -10000 && drift <= 10000);
}

static void fee_extremes_do_not_overflow(void **state)
{
    (void)state;
    assert_int_equal(bp(INT64_MAX, 10000, PAY_ROUND_FEE), INT64_MAX);
    assert_int_equal(bp(INT64_MIN, 10000, PAY_ROUND_FEE), INT64_MIN);
    assert_int_equal(bp(INT64_MAX, 1, PAY_ROUND_FEE), 922337203685478); /* ...477.5807 */
    assert_int_equal(bp(INT64_MAX, 5000, PAY_ROUND_FEE), 4611686018427387904);
    assert_int_equal(bp(INT64_MIN, -1, PAY_ROUND_FEE), 922337203685478);
    int64_t out = 99;
    assert_int_equal(pay_money_mul_bp(INT64_MAX, 10001, PAY_ROUND_FEE, &out),
                     PAY_ERR_AMOUNT_OVERFLOW);
    assert_int_equal(pay_money_mul_bp(INT64_MIN, INT64_MIN, PAY_ROUND_FEE, &out),
                     PAY_ERR_AMOUNT_OVERFLOW);
    assert_int_equal(pay_money_mul_bp(INT64_MIN, -10000, PAY_ROUND_FEE, &out),
                     PAY_ERR_AMOUNT_OVERFLOW);
    assert_int_equal(out, 99);
}

static int64_t fee(int64_t amount, int64_t bp, int64_t min, int64_t cap)
{
    int64_t out = -1;
    struct pay_fee_terms t = {bp, min, cap};
    assert_int_equal(pay_money_fee(amount, &t, &out), PAY_ERR_OK);
    return out;
}

/* A fee with a minimum and a cap: the rate's fee, raised to the minimum, lowered to the cap,
 * never more than the payment; terms out of range refused, naming the term. */
static void fee_min_cap(void **state)
{
    (void)state;
    assert_int_equal(fee(10000, 60, 0, 0), 60);          /* 100.00 at 0.6% */
    assert_int_equal(fee(10000, 60, 100, 0), 100);       /* raised to the minimum 1.00 */
    assert_int_equal(fee(1000000, 60, 100, 2500), 2500); /* 10 000.00: capped at 25.00 */
    assert_int_equal(fee(416667, 60, 100, 2500), 2500);  /* 2 500.00x at 0.6% is 25.00 */
    assert_int_equal(fee(416583, 60, 100, 2500), 2499);  /* 24.99495 -> 24.99 */
    assert_int_equal(fee(50, 60, 100, 2500), 50);        /* below the minimum: all of it */
    assert_int_equal(fee(0, 60, 100, 2500), 0);
    assert_int_equal(fee(250, 200, 0, 0), 5); /* 5.0: exact */
    assert_int_equal(fee(125, 200, 0, 0), 2); /* 2.5 -> 2, half to even */
    assert_int_equal(fee(PAY_AMOUNT_MAX_MINOR, 10000, 0, PAY_AMOUNT_MAX_MINOR),
                     PAY_AMOUNT_MAX_MINOR);
    struct pay_fee_terms bad[] = {{-1, 0, 0},  {10001, 0, 0},  {60, -1, 0},
                                  {60, 0, -1}, {60, 200, 100}, {60, PAY_AMOUNT_MAX_MINOR + 1, 0}};
    const char *field[] = {"fee_bp", "fee_bp", "fee_min", "fee_cap", "fee_cap", "fee_min"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *f = NULL;
        int64_t out = 7;
        assert_int_equal(pay_money_fee_terms_check(&bad[i], &f), PAY_ERR_FIELD_INVALID);
        assert_string_equal(f, field[i]);
        assert_int_equal(pay_money_fee(100, &bad[i], &out), PAY_ERR_FIELD_INVALID);
        assert_int_equal(out, 7);
    }
    int64_t out = 7;
    assert_int_equal(pay_money_fee(-1, &(struct pay_fee_terms){60, 0, 0}, &out),
                     PAY_ERR_FIELD_INVALID);
}

static void split_parts(void **state)
{
    (void)state;
    int64_t parts[4];
    assert_int_equal(pay_money_split(100, (const int64_t[]){1, 1, 1}, 3, parts), PAY_ERR_OK);
    assert_int_equal(parts[0], 34);
    assert_int_equal(parts[1], 33);
    assert_int_equal(parts[2], 33);
    /* 10 by 1:2 -> 3.33 and 6.67: the larger remainder gets the extra unit. */
    assert_int_equal(pay_money_split(10, (const int64_t[]){1, 2}, 2, parts), PAY_ERR_OK);
    assert_int_equal(parts[0], 3);
    assert_int_equal(parts[1], 7);
    assert_int_equal(pay_money_split(5, (const int64_t[]){0, 3, 0, 1}, 4, parts), PAY_ERR_OK);
    assert_int_equal(parts[0] + parts[1] + parts[2] + parts[3], 5);
    assert_int_equal(parts[0], 0);
    assert_int_equal(parts[2], 0);
    assert_int_equal(pay_money_split(INT64_MAX, (const int64_t[]){INT64_MAX - 1, 1}, 2, parts),
                     PAY_ERR_OK);
    assert_int_equal(parts[0], INT64_MAX - 1);
    assert_int_equal(parts[1], 1);
    assert_int_equal(pay_money_split(0, (const int64_t[]){1, 2}, 2, parts), PAY_ERR_OK);
    assert_int_equal(parts[0] + parts[1], 0);
    assert_int_equal(pay_money_split(-1, (const int64_t[]){1}, 1, parts), PAY_ERR_FIELD_INVALID);
    assert_int_equal(pay_money_split(5, (const int64_t[]){0, 0}, 2, parts), PAY_ERR_FIELD_INVALID);
    assert_int_equal(pay_money_split(5, (const int64_t[]){1, -1}, 2, parts), PAY_ERR_FIELD_INVALID);
    assert_int_equal(pay_money_split(5, (const int64_t[]){INT64_MAX, 1}, 2, parts),
                     PAY_ERR_FIELD_INVALID);
    assert_int_equal(pay_money_split(5, parts, 0, parts), PAY_ERR_FIELD_INVALID);
}

/* Random splits always add up to the total, and no part strays a unit from its share. */
static void split_random_conserves(void **state)
{
    (void)state;
    uint64_t seed = 12345;
    int64_t w[16], parts[16];
    for (int round = 0; round < 5000; round++) {
        size_t n = 1 + next_random(&seed) % 16;
        int64_t sum_w = 0;
        for (size_t i = 0; i < n; i++)
            sum_w += w[i] = (int64_t)(next_random(&seed) % 1000);
        if (sum_w == 0)
            w[0] = sum_w = 1;
        int64_t total = (int64_t)(next_random(&seed) >> (next_random(&seed) % 63 + 1));
        assert_int_equal(pay_money_split(total, w, n, parts), PAY_ERR_OK);
        int64_t sum = 0;
        for (size_t i = 0; i < n; i++) {
            __extension__ __int128 share_floor = (__int128)total * w[i] / sum_w;
            assert_true(parts[i] == share_floor || parts[i] == share_floor + 1);
            sum += parts[i];
        }
        assert_int_equal(sum, total);
    }
}

/* Amounts of payments: strict parse, then positive and bounded, every error naming the field. */
static void parse_amount_bounds(void **state)
{
    (void)state;
    int64_t m = -1;
    struct pay_error e = {0};
    assert_int_equal(pay_money_parse_amount("12.30", "CNY", "amount.value", &m, &e), PAY_ERR_OK);
    assert_int_equal(m, 1230);
    const struct {
        const char *text;
        enum pay_err want;
    } bad[] = {{"0", PAY_ERR_AMOUNT_NOT_POSITIVE},
               {"0.00", PAY_ERR_AMOUNT_NOT_POSITIVE},
               {"1.234", PAY_ERR_AMOUNT_INVALID},
               {"100000000000.01", PAY_ERR_AMOUNT_TOO_LARGE},
               {"-5", PAY_ERR_AMOUNT_INVALID}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = -1;
        memset(&e, 0, sizeof e);
        assert_int_equal(pay_money_parse_amount(bad[i].text, "CNY", "amount.value", &m, &e),
                         bad[i].want);
        assert_string_equal(e.field, "amount.value");
        assert_int_equal(m, -1); /* untouched on failure */
    }
    assert_int_equal(pay_money_parse_amount("100000000000.00", "CNY", "a", &m, &e), PAY_ERR_OK);
}

/* Non-ISO assets (tokens, docs/chain.md) with an explicit scale: unknown until registered,
 * then parsed, formatted and shown like a currency; ISO codes and bad scales are refused. */
static void assets_registered(void **state)
{
    (void)state;
    struct pay_error err;
    int64_t v = 0;
    assert_int_equal(pay_currency_lookup("PTD"), -1);
    expect_bad("1", "PTD", PAY_ERR_CURRENCY_UNKNOWN);
    assert_int_equal(pay_asset_register("PTD", 6, &err), PAY_ERR_OK);
    assert_int_equal(pay_asset_register("PTD", 6, &err), PAY_ERR_OK); /* again: same */
    assert_int_equal(pay_currency_lookup("PTD"), 6);
    expect_ok("12.5", "PTD", 12500000);
    expect_ok("0.000001", "PTD", 1);
    expect_bad("0.0000001", "PTD", PAY_ERR_AMOUNT_INVALID);
    expect_format(12500000, "PTD", "12.500000");
    expect_format(INT64_MIN, "PTD", "-9223372036854.775808");
    char shown[PAY_MONEY_DISPLAY_MAX];
    assert_true(pay_money_format_display(123456789000, "PTD", shown, sizeof shown) > 0);
    assert_string_equal(shown, "123,456.789000\u00a0PTD");
    /* 18 decimals (most ERC-20 tokens): at most 9.2 tokens fit, and more is an overflow even
     * with more digits than 128 bits hold */
    assert_int_equal(pay_asset_register("WEI", 18, &err), PAY_ERR_OK);
    expect_ok("9.223372036854775807", "WEI", INT64_MAX);
    expect_bad("9.223372036854775808", "WEI", PAY_ERR_AMOUNT_OVERFLOW);
    expect_bad("99999999999999999999999999999.9", "WEI", PAY_ERR_AMOUNT_OVERFLOW);
    expect_format(1, "WEI", "0.000000000000000001");
    expect_format(INT64_MIN, "WEI", "-9.223372036854775808");
    /* refusals */
    assert_int_equal(pay_asset_register("PTD", 2, &err), PAY_ERR_FIELD_INVALID);
    assert_int_equal(pay_currency_lookup("PTD"), 6);
    assert_int_equal(pay_asset_register("CNY", 2, &err), PAY_ERR_CURRENCY_UNKNOWN);
    assert_string_equal(err.field, "asset");
    assert_int_equal(pay_currency_lookup("CNY"), 2);
    assert_int_equal(pay_asset_register("ptd", 6, &err), PAY_ERR_CURRENCY_UNKNOWN);
    assert_int_equal(pay_asset_register("PTDX", 6, &err), PAY_ERR_CURRENCY_UNKNOWN);
    assert_int_equal(pay_asset_register("ABC", 19, &err), PAY_ERR_FIELD_INVALID);
    assert_int_equal(pay_asset_register("ABC", -1, &err), PAY_ERR_FIELD_INVALID);
    assert_int_equal(pay_currency_lookup("ABC"), -1);
    (void)v;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(currency_table),
        cmocka_unit_test(currency_table_sorted_and_complete),
        cmocka_unit_test(parse_good),
        cmocka_unit_test(parse_bad),
        cmocka_unit_test(parse_sign_and_details),
        cmocka_unit_test(parse_overflow_edges),
        cmocka_unit_test(format_exact),
        cmocka_unit_test(format_errors),
        cmocka_unit_test(format_display),
        cmocka_unit_test(round_trip_random),
        cmocka_unit_test(add_sub_overflow),
        cmocka_unit_test(fee_rounding_half_even),
        cmocka_unit_test(fee_rounding_is_unbiased),
        cmocka_unit_test(fee_extremes_do_not_overflow),
        cmocka_unit_test(fee_min_cap),
        cmocka_unit_test(split_parts),
        cmocka_unit_test(split_random_conserves),
        cmocka_unit_test(parse_amount_bounds),
        cmocka_unit_test(assets_registered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
