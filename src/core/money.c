/* Money: the ISO 4217 exponent table, strict decimal parsing and formatting, checked
 * arithmetic and basis-point fees. Integers only; the 128-bit type keeps products exact. */
#include "core/buf.h"
#include "core/money.h"

#include "core/assertions.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core/limits.h"

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

/* ISO 4217 list A: every active currency code with its minor unit, sorted by code for the
 * binary search. Left out on purpose: codes withdrawn from list A (HRK, ZWL, ANG, SLL, ...)
 * and the entries whose minor unit is "N.A." (precious metals XAU/XAG/XPD/XPT, the bond
 * market units XBA-XBD, XDR, XSU, XUA, the test code XTS and XXX): nothing is paid in them.
 * Funds codes (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW) are in list A and are kept. */
static const struct pay_currency currencies[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2}, {"AWG", 2},
    {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0}, {"BMD", 2},
    {"BND", 2}, {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2}, {"BYN", 2},
    {"BZD", 2}, {"CAD", 2}, {"CDF", 2}, {"CHE", 2}, {"CHF", 2}, {"CHW", 2}, {"CLF", 4}, {"CLP", 0},
    {"CNY", 2}, {"COP", 2}, {"COU", 2}, {"CRC", 2}, {"CUC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2},
    {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2}, {"EUR", 2},
    {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2}, {"GMD", 2}, {"GNF", 0},
    {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2},
    {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0}, {"KES", 2},
    {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2}, {"KZT", 2},
    {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2}, {"MDL", 2},
    {"MGA", 2}, {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2}, {"MVR", 2},
    {"MWK", 2}, {"MXN", 2}, {"MXV", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2},
    {"NOK", 2}, {"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2},
    {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2}, {"RWF", 0},
    {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2}, {"SHP", 2}, {"SLE", 2},
    {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2}, {"SZL", 2}, {"THB", 2},
    {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2}, {"TWD", 2}, {"TZS", 2},
    {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"USN", 2}, {"UYI", 0}, {"UYU", 2}, {"UYW", 4}, {"UZS", 2},
    {"VED", 2}, {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2},
    {"XOF", 0}, {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
};

#define CURRENCY_COUNT (sizeof currencies / sizeof currencies[0])

static bool is_code_shape(const char *code)
{
    for (int i = 0; i < 3; i++)
        if (code[i] < 'A' || code[i] > 'Z')
            return false;
    return code[3] == '\0';
}

/* Registered non-ISO assets: written at start-up only; count published last (release), so a
 * reader that sees an entry sees it whole. */
static struct pay_currency assets[PAY_MONEY_ASSETS_MAX];
static _Atomic size_t assets_n;

static int asset_lookup(const char *code)
{
    size_t n = atomic_load_explicit(&assets_n, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (memcmp(code, assets[i].code, 4) == 0)
            return assets[i].exponent;
    return -1;
}

static int iso_lookup(const char *code)
{
    size_t lo = 0, hi = CURRENCY_COUNT;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(code, currencies[mid].code, 3);
        if (c == 0) {
            PAY_ASSERT(currencies[mid].exponent >= 0 &&
                       currencies[mid].exponent <= PAY_MONEY_EXPONENT_MAX);
            return currencies[mid].exponent;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

enum pay_err pay_asset_register(const char *code, int exponent, struct pay_error *err)
{
    if (code == NULL || !is_code_shape(code) || iso_lookup(code) >= 0)
        return pay_error_set(err, PAY_ERR_CURRENCY_UNKNOWN, "asset",
                             "an asset code is three upper-case letters that are no ISO 4217 code");
    if (exponent < 0 || exponent > PAY_MONEY_ASSET_EXPONENT_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "asset", "an asset has 0 to %d decimals",
                             PAY_MONEY_ASSET_EXPONENT_MAX);
    int have = asset_lookup(code);
    if (have == exponent)
        return PAY_ERR_OK;
    if (have >= 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "asset",
                             "%s is registered with %d decimals", code, have);
    size_t n = atomic_load_explicit(&assets_n, memory_order_acquire);
    if (n == PAY_MONEY_ASSETS_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "asset", "no room for more assets");
    memcpy(assets[n].code, code, 4);
    assets[n].exponent = exponent;
    atomic_store_explicit(&assets_n, n + 1, memory_order_release);
    return PAY_ERR_OK;
}

int pay_currency_lookup(const char *code)
{
    if (code == NULL || !is_code_shape(code))
        return -1;
    int exp = iso_lookup(code);
    return exp >= 0 ? exp : asset_lookup(code);
}

const struct pay_currency *pay_currency_table(size_t *count_out)
{
    if (count_out != NULL)
        *count_out = CURRENCY_COUNT;
    return currencies;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The digits of an amount, split by the parser below. */
struct decimal {
    bool negative;
    const char *int_digits;
    size_t int_len;
    const char *frac_digits;
    size_t frac_len;
};

/* Checks the shape: [-]digits[.digits], no leading zeros, nothing else. */
static enum pay_err split_decimal(const char *s, size_t len, bool allow_sign, struct decimal *d,
                                  struct pay_error *err)
{
    size_t i = 0;
    memset(d, 0, sizeof *d);
    if (len == 0)
        return pay_error_set(err, PAY_ERR_AMOUNT_INVALID, "amount", "amount is empty");
    if (s[0] == '-' && allow_sign) {
        d->negative = true;
        i++;
    }
    d->int_digits = s + i;
    while (i < len && is_digit(s[i]))
        i++;
    d->int_len = (size_t)(s + i - d->int_digits);
    if (d->int_len == 0)
        return pay_error_set(err, PAY_ERR_AMOUNT_INVALID, "amount",
                             "amount must start with a digit%s", allow_sign ? " or '-'" : "");
    if (d->int_len > 1 && d->int_digits[0] == '0')
        return pay_error_set(err, PAY_ERR_AMOUNT_INVALID, "amount", "amount has a leading zero");
    if (i < len && s[i] == '.') {
        i++;
        d->frac_digits = s + i;
        while (i < len && is_digit(s[i]))
            i++;
        d->frac_len = (size_t)(s + i - d->frac_digits);
        if (d->frac_len == 0)
            return pay_error_set(err, PAY_ERR_AMOUNT_INVALID, "amount",
                                 "amount has no digits after the decimal point");
    }
    if (i < len)
        return pay_error_set(err, PAY_ERR_AMOUNT_INVALID, "amount",
                             "unexpected character at position %zu of the amount", i + 1);
    return PAY_ERR_OK;
}

static enum pay_err parse(const char *text, const char *currency, bool allow_sign,
                          int64_t *minor_out, struct pay_error *err)
{
    int exp = pay_currency_lookup(currency);
    if (exp < 0)
        return pay_error_set(err, PAY_ERR_CURRENCY_UNKNOWN, "currency",
                             "'%.8s' is not an active ISO 4217 currency code",
                             currency ? currency : "(null)");
    if (text == NULL)
        return pay_error_set(err, PAY_ERR_AMOUNT_INVALID, "amount", "amount is missing");
    size_t len = strnlen(text, PAY_MONEY_TEXT_MAX + 1);
    if (len > PAY_MONEY_TEXT_MAX)
        return pay_error_set(err, PAY_ERR_AMOUNT_INVALID, "amount",
                             "amount is longer than %d characters", PAY_MONEY_TEXT_MAX);
    struct decimal d;
    enum pay_err rc = split_decimal(text, len, allow_sign, &d, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (d.frac_len > (size_t)exp) {
        if (exp == 0)
            return pay_error_set(err, PAY_ERR_AMOUNT_INVALID, "amount",
                                 "%s has no minor unit: write a whole number", currency);
        return pay_error_set(err, PAY_ERR_AMOUNT_INVALID, "amount",
                             "amount has %zu decimal places; %s allows at most %d", d.frac_len,
                             currency, exp);
    }
    /* Digits are added while the value is at most 2^63, so each step stays below 2^67: with an
     * asset's 18 decimals the text may have more digits than 128 bits hold. */
    u128 mag = 0, cap = (u128)INT64_MAX + 1;
    for (size_t k = 0; k < d.int_len && mag <= cap; k++)
        mag = mag * 10 + (u128)(d.int_digits[k] - '0');
    for (int k = 0; k < exp && mag <= cap; k++)
        mag = mag * 10 + ((size_t)k < d.frac_len ? (u128)(d.frac_digits[k] - '0') : 0);
    if (d.negative && mag == 0)
        return pay_error_set(err, PAY_ERR_AMOUNT_INVALID, "amount",
                             "negative zero: write 0 without a sign");
    u128 limit = d.negative ? (u128)INT64_MAX + 1 : (u128)INT64_MAX;
    if (mag > limit)
        return pay_error_set(err, PAY_ERR_AMOUNT_OVERFLOW, "amount",
                             "amount does not fit in 64-bit minor units of %s", currency);
    *minor_out = d.negative ? (int64_t)(-(i128)mag) : (int64_t)mag;
    return PAY_ERR_OK;
}

enum pay_err pay_money_parse(const char *text, const char *currency, int64_t *minor_out,
                             struct pay_error *err)
{
    PAY_ASSERT(minor_out != NULL);
    return parse(text, currency, false, minor_out, err);
}

enum pay_err pay_money_parse_signed(const char *text, const char *currency, int64_t *minor_out,
                                    struct pay_error *err)
{
    PAY_ASSERT(minor_out != NULL);
    return parse(text, currency, true, minor_out, err);
}

int pay_money_format(int64_t minor, const char *currency, char *out, size_t out_len)
{
    PAY_ASSERT(out != NULL || out_len == 0);
    if (out_len > 0)
        out[0] = '\0';
    int exp = pay_currency_lookup(currency);
    if (exp < 0)
        return -1;
    /* Digits are produced backwards from the magnitude; INT64_MIN's magnitude fits in u64. */
    uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    char tmp[PAY_MONEY_TEXT_MAX];
    size_t n = 0;
    for (int k = 0; k < exp; k++) {
        tmp[n++] = (char)('0' + mag % 10);
        mag /= 10;
    }
    if (exp > 0)
        tmp[n++] = '.';
    do {
        tmp[n++] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag > 0);
    if (minor < 0)
        tmp[n++] = '-';
    PAY_ASSERT(n <= sizeof tmp);
    if (n + 1 > out_len)
        return -1;
    for (size_t k = 0; k < n; k++)
        out[k] = tmp[n - 1 - k];
    out[n] = '\0';
    return (int)n;
}

/* Symbols for people (zh-CN conventions, the system's home market): ¥ is the yuan, so the
 * yen is JP¥ and the dollar US$. Every other currency shows its code. */
static const struct {
    char code[4];
    const char *symbol;
} symbols[] = {
    {"CNY", "¥"}, {"EUR", "€"},    {"GBP", "£"},   {"HKD", "HK$"}, {"JPY", "JP¥"},
    {"KRW", "₩"}, {"MOP", "MOP$"}, {"TWD", "NT$"}, {"USD", "US$"},
};

int pay_money_format_display(int64_t minor, const char *currency, char *out, size_t out_len)
{
    char plain[PAY_MONEY_TEXT_MAX];
    if (out_len > 0)
        out[0] = '\0';
    int n = pay_money_format(minor, currency, plain, sizeof plain);
    if (n < 0)
        return -1;
    const char *sym = NULL;
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0] && sym == NULL; i++)
        if (strcmp(symbols[i].code, currency) == 0)
            sym = symbols[i].symbol;
    const char *digits = plain + (minor < 0);
    size_t whole = strcspn(digits, "."), at = 0;
    char tmp[PAY_MONEY_DISPLAY_MAX];
    /* "-¥1,234.50"; without a symbol "-1,234.500 KWD" (U+00A0 keeps it on one line) */
    at += (size_t)snprintf(tmp, sizeof tmp, "%s%s", minor < 0 ? "-" : "", sym ? sym : "");
    for (size_t i = 0; i < whole; i++) {
        if (i > 0 && (whole - i) % 3 == 0)
            tmp[at++] = ',';
        tmp[at++] = digits[i];
    }
    at += (size_t)snprintf(tmp + at, sizeof tmp - at, "%s%s%s", digits + whole,
                           sym ? "" : "\xc2\xa0", sym ? "" : currency);
    PAY_ASSERT(at < sizeof tmp);
    if (at + 1 > out_len)
        return -1;
    memcpy(out, tmp, at + 1);
    return (int)at;
}

enum pay_err pay_money_add(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return PAY_ERR_AMOUNT_OVERFLOW;
    *out = r;
    return PAY_ERR_OK;
}

enum pay_err pay_money_sub(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return PAY_ERR_AMOUNT_OVERFLOW;
    *out = r;
    return PAY_ERR_OK;
}

enum pay_err pay_money_mul(int64_t minor, int64_t count, int64_t *out)
{
    int64_t r;
    if (__builtin_mul_overflow(minor, count, &r))
        return PAY_ERR_AMOUNT_OVERFLOW;
    *out = r;
    return PAY_ERR_OK;
}

/* Rounds the non-negative quotient q + r/den (0 <= r < den) as the mode says. */
static u128 round_magnitude(u128 q, u128 r, u128 den, enum pay_rounding rounding)
{
    switch (rounding) {
    case PAY_ROUND_TOWARD_ZERO:
        return q;
    case PAY_ROUND_AWAY_FROM_ZERO:
        return r > 0 ? q + 1 : q;
    case PAY_ROUND_HALF_EVEN:
        if (2 * r > den || (2 * r == den && (q & 1) == 1))
            return q + 1;
        return q;
    }
    PAY_ASSERT_MSG(false, "unknown rounding mode");
    return q;
}

enum pay_err pay_money_mul_bp(int64_t minor, int64_t basis_points, enum pay_rounding rounding,
                              int64_t *out)
{
    PAY_ASSERT(out != NULL);
    /* |minor * bp| <= 2^126: exact in 128 bits. */
    i128 product = (i128)minor * (i128)basis_points;
    bool negative = product < 0;
    u128 mag = negative ? (u128)0 - (u128)product : (u128)product;
    u128 q = round_magnitude(mag / 10000, mag % 10000, 10000, rounding);
    u128 limit = negative ? (u128)INT64_MAX + 1 : (u128)INT64_MAX;
    if (q > limit)
        return PAY_ERR_AMOUNT_OVERFLOW;
    *out = negative ? (int64_t)(-(i128)q) : (int64_t)q;
    return PAY_ERR_OK;
}

enum pay_err pay_money_fee_terms_check(const struct pay_fee_terms *terms, const char **field)
{
    *field = terms->bp < 0 || terms->bp > 10000                                ? "fee_bp"
             : terms->min_minor < 0 || terms->min_minor > PAY_AMOUNT_MAX_MINOR ? "fee_min"
             : terms->cap_minor < 0 || terms->cap_minor > PAY_AMOUNT_MAX_MINOR ||
                     (terms->cap_minor > 0 && terms->cap_minor < terms->min_minor)
                 ? "fee_cap"
                 : NULL;
    return *field ? PAY_ERR_FIELD_INVALID : PAY_ERR_OK;
}

enum pay_err pay_money_fee(int64_t amount_minor, const struct pay_fee_terms *terms, int64_t *out)
{
    const char *field;
    int64_t fee = 0;
    if (amount_minor < 0 || pay_money_fee_terms_check(terms, &field) != PAY_ERR_OK)
        return PAY_ERR_FIELD_INVALID;
    enum pay_err e = pay_money_mul_bp(amount_minor, terms->bp, PAY_ROUND_FEE, &fee);
    if (e != PAY_ERR_OK)
        return e;
    if (fee < terms->min_minor)
        fee = terms->min_minor;
    if (terms->cap_minor > 0 && fee > terms->cap_minor)
        fee = terms->cap_minor;
    if (fee > amount_minor)
        fee = amount_minor;
    PAY_ASSERT_MSG(fee >= 0 && fee <= amount_minor, "fee %lld of %lld", (long long)fee,
                   (long long)amount_minor);
    *out = fee;
    return PAY_ERR_OK;
}

enum pay_err pay_money_split(int64_t total, const int64_t *weights, size_t n, int64_t *parts_out)
{
    if (n == 0 || n > PAY_MONEY_SPLIT_PARTS_MAX || total < 0 || weights == NULL ||
        parts_out == NULL)
        return PAY_ERR_FIELD_INVALID;
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        if (weights[i] < 0 || __builtin_add_overflow(sum, weights[i], &sum))
            return PAY_ERR_FIELD_INVALID;
    if (sum == 0)
        return PAY_ERR_FIELD_INVALID;
    int64_t given = 0;
    for (size_t i = 0; i < n; i++) {
        parts_out[i] = (int64_t)((i128)total * weights[i] / sum);
        given += parts_out[i]; /* <= total: the floors never exceed the whole */
    }
    /* Fewer than n units are left; each goes to the largest remainder not yet served. */
    for (int64_t left = total - given; left > 0; left--) {
        size_t best = n;
        i128 best_rem = -1;
        for (size_t i = 0; i < n; i++) {
            i128 share = (i128)total * weights[i];
            if (parts_out[i] != (int64_t)(share / sum))
                continue; /* already got its extra unit */
            if (share % sum > best_rem) {
                best_rem = share % sum;
                best = i;
            }
        }
        PAY_ASSERT(best < n);
        parts_out[best]++;
    }
    return PAY_ERR_OK;
}

enum pay_err pay_money_parse_amount(const char *text, const char *currency, const char *field,
                                    int64_t *minor_out, struct pay_error *err)
{
    int64_t minor = 0;
    enum pay_err e = pay_money_parse(text, currency, &minor, err);
    if (e != PAY_ERR_OK) {
        if (err != NULL && field != NULL)
            pay_str_copy(err->field, sizeof err->field, field);
        return e;
    }
    if (minor <= 0)
        return pay_error_set(err, PAY_ERR_AMOUNT_NOT_POSITIVE, field, NULL);
    if (minor > PAY_AMOUNT_MAX_MINOR)
        return pay_error_set(err, PAY_ERR_AMOUNT_TOO_LARGE, field, "at most %lld minor units",
                             (long long)PAY_AMOUNT_MAX_MINOR);
    *minor_out = minor;
    return PAY_ERR_OK;
}
