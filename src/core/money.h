/* Money: an exact count of minor units (int64_t) plus an ISO 4217 currency. No floating point
 * anywhere. Strict decimal parsing and formatting, checked arithmetic, and fee computation in
 * basis points with one documented rounding rule. See docs/money.md. */
#ifndef PAY_CORE_MONEY_H
#define PAY_CORE_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/errors.h"
#include "core/limits.h"

/* An amount: 12.30 CNY is {1230, "CNY"}. currency is an upper-case ISO 4217 code, NUL-ended. */
struct pay_money {
    int64_t minor;
    char currency[4];
};

/* One row of the currency table (ISO 4217 list A, active codes; see docs/money.md). */
struct pay_currency {
    char code[4];
    int exponent; /* decimal places of the minor unit: CNY 2, JPY 0, KWD 3, CLF 4 */
};

/* The exponent of an active ISO 4217 code ("CNY" -> 2, "JPY" -> 0, "KWD" -> 3) or of a
 * registered asset (pay_asset_register: "PTD" -> 6), or -1 when code is NULL, not three
 * upper-case letters, or neither. */
int pay_currency_lookup(const char *code);

/* Registers a non-ISO asset (a token, docs/chain.md) with its own code and scale, so that
 * lookup, parsing and formatting accept it like a currency: three upper-case letters that are
 * no ISO 4217 code, exponent 0..PAY_MONEY_ASSET_EXPONENT_MAX. Call it at start-up, before other
 * threads use the money layer (the registry is only read after that). Registering the same
 * code with the same exponent again is OK; CURRENCY_UNKNOWN (field "asset") when the code is
 * malformed or an ISO code, FIELD_INVALID for a bad exponent, a different exponent for a known
 * asset, or a full registry (PAY_MONEY_ASSETS_MAX). */
enum pay_err pay_asset_register(const char *code, int exponent, struct pay_error *err)
    __attribute__((warn_unused_result));

/* The table, sorted by code, for listings and tests. Static storage; never freed. */
const struct pay_currency *pay_currency_table(size_t *count_out);

/* Parses a non-negative decimal amount exactly: "12.30", "0.01", "5", "12.3" (fewer decimals
 * than the exponent are fine), "0". Rejects (AMOUNT_INVALID, with the reason in err->detail)
 * "", " 5", "5 ", "+5", "-5", ".5", "5.", "01", "1e3", "1,000", more decimals than the currency
 * has ("1.234" CNY, "1.0" JPY) and any text longer than PAY_MONEY_TEXT_MAX. Values beyond
 * int64_t minor units are AMOUNT_OVERFLOW; an unknown currency is CURRENCY_UNKNOWN.
 * Zero is accepted: whether zero is allowed is the caller's rule (AMOUNT_NOT_POSITIVE).
 * err->field is "amount" or "currency"; callers may overwrite it with their own field name.
 * *minor_out is written only on success. */
enum pay_err pay_money_parse(const char *text, const char *currency, int64_t *minor_out,
                             struct pay_error *err) __attribute__((warn_unused_result));

/* The amount of a payment, refund, top-up or withdrawal: as pay_money_parse, then more than
 * zero (AMOUNT_NOT_POSITIVE) and at most PAY_AMOUNT_MAX_MINOR (AMOUNT_TOO_LARGE). Every error
 * names `field` (e.g. "amount.value"). */
enum pay_err pay_money_parse_amount(const char *text, const char *currency, const char *field,
                                    int64_t *minor_out, struct pay_error *err)
    __attribute__((warn_unused_result));

/* As pay_money_parse, but also accepts a leading '-' ("-12.30") for balances and adjustments.
 * Negative zero ("-0", "-0.00") is still rejected: every amount has one spelling. */
enum pay_err pay_money_parse_signed(const char *text, const char *currency, int64_t *minor_out,
                                    struct pay_error *err) __attribute__((warn_unused_result));

/* Writes minor as a decimal with exactly the currency's decimals: 1230 CNY -> "12.30",
 * -5 CNY -> "-0.05", 1200 JPY -> "1200", 1005 KWD -> "1.005". The text parses back to the
 * same value. Returns the length written (without NUL), or -1 if the currency is unknown or
 * out is too small (then out is "" when out_len > 0). PAY_MONEY_TEXT_MAX bytes always fit. */
int pay_money_format(int64_t minor, const char *currency, char *out, size_t out_len);

/* The amount as people read it on pages and in messages: the currency's symbol, thousands
 * separated, all its decimals: 123450 CNY -> "¥1,234.50", -5 CNY -> "-¥0.05", 1200 JPY ->
 * "JP¥1,200", 100 USD -> "US$1.00"; a currency without a symbol in the table gets its code
 * after a no-break space: 1005 KWD -> "1.005\u00a0KWD". Exact (from the integer, never a
 * float). Returns the length, or -1 if the currency is unknown or out is too small (then
 * out is ""). PAY_MONEY_DISPLAY_MAX bytes always fit. */
int pay_money_format_display(int64_t minor, const char *currency, char *out, size_t out_len);

/* Checked arithmetic on minor units of one currency: AMOUNT_OVERFLOW (and *out untouched)
 * when the result does not fit in int64_t, else OK. */
enum pay_err pay_money_add(int64_t a, int64_t b, int64_t *out) __attribute__((warn_unused_result));
enum pay_err pay_money_sub(int64_t a, int64_t b, int64_t *out) __attribute__((warn_unused_result));
/* minor * count (a unit price times a quantity), checked the same way. */
enum pay_err pay_money_mul(int64_t minor, int64_t count, int64_t *out)
    __attribute__((warn_unused_result));

/* Rounding of a fractional number of minor units.
 *
 * Fees use PAY_ROUND_HALF_EVEN (banker's rounding), exported as PAY_ROUND_FEE: exact halves go
 * to the even neighbour, so over many payments the rounding errors cancel out instead of
 * drifting in favour of the platform (half-up) or the merchant (down). 0.5 -> 0, 1.5 -> 2,
 * 2.5 -> 2, -1.5 -> -2. The two directed modes exist for caps where the direction matters
 * (e.g. a refunded share of a fee must never exceed the fee: PAY_ROUND_TOWARD_ZERO). */
enum pay_rounding {
    PAY_ROUND_HALF_EVEN,
    PAY_ROUND_TOWARD_ZERO,
    PAY_ROUND_AWAY_FROM_ZERO,
};
#define PAY_ROUND_FEE PAY_ROUND_HALF_EVEN

/* minor * basis_points / 10000 (1 bp = 0.01%, so 60 bp is a 0.6% fee), rounded as asked.
 * Computed in 128 bits, so no intermediate overflows; AMOUNT_OVERFLOW only if the rounded
 * result does not fit in int64_t (*out then untouched). 10000 CNY minor units at 60 bp ->
 * 60; 1 minor unit at 5000 bp (half) -> 0 with HALF_EVEN. */
enum pay_err pay_money_mul_bp(int64_t minor, int64_t basis_points, enum pay_rounding rounding,
                              int64_t *out) __attribute__((warn_unused_result));

/* A merchant's fee terms: a rate in basis points (0..10000), a minimum and a cap in minor units
 * of the payment's currency (cap 0: none; else at least the minimum). */
struct pay_fee_terms {
    int64_t bp, min_minor, cap_minor;
};
/* FIELD_INVALID naming the bad term ("fee_bp", "fee_min", "fee_cap") when terms are out of
 * range. */
enum pay_err pay_money_fee_terms_check(const struct pay_fee_terms *terms, const char **field)
    __attribute__((warn_unused_result));
/* The fee of a payment of amount_minor (>= 0) under terms: amount x bp / 10000 rounded half to
 * even (PAY_ROUND_FEE), raised to the minimum, lowered to the cap, and never more than the
 * amount itself (a payment below the minimum pays all of it). FIELD_INVALID for bad terms or
 * a negative amount (*out untouched). 100.00 at 60 bp, min 1.00 -> 1.00; 10 000.00 at 60 bp,
 * cap 25.00 -> 25.00; 0.50 at min 1.00 -> 0.50. */
enum pay_err pay_money_fee(int64_t amount_minor, const struct pay_fee_terms *terms, int64_t *out)
    __attribute__((warn_unused_result));

/* Splits total (>= 0) into n parts in proportion to weights (each >= 0, sum > 0 and fitting
 * int64_t), so that the parts add up to total exactly: each part gets the floor of its share
 * and the units left over go one each to the parts with the largest remainders (ties: lower
 * index first). 100 by {1,1,1} -> {34,33,33}. parts_out has n elements, caller-owned.
 * FIELD_INVALID for bad arguments (n == 0 or > PAY_MONEY_SPLIT_PARTS_MAX, negative total or
 * weight, zero or overflowing weight sum). Takes O(n * n) time at worst; n is capped. */
enum pay_err pay_money_split(int64_t total, const int64_t *weights, size_t n, int64_t *parts_out)
    __attribute__((warn_unused_result));

#endif
