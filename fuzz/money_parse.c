/* Fuzz target: strict money parsing never crashes or reads past its input, and every amount it
 * accepts formats back to text that parses to the same value (and, for the canonical form,
 * to the same text). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/money.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *text, const char *currency)
{
    int64_t v = 0, back = 0;
    struct pay_error e;
    enum pay_err rc = pay_money_parse_signed(text, currency, &v, &e);
    int64_t u = 0;
    enum pay_err urc = pay_money_parse(text, currency, &u, NULL);
    /* The unsigned parser agrees wherever the text has no sign. */
    if (text[0] != '-' && (urc != rc || (rc == PAY_ERR_OK && u != v)))
        abort();
    if (rc != PAY_ERR_OK) {
        if (rc != PAY_ERR_AMOUNT_INVALID && rc != PAY_ERR_AMOUNT_OVERFLOW)
            abort();
        return;
    }
    char out[PAY_MONEY_TEXT_MAX];
    int n = pay_money_format(v, currency, out, sizeof out);
    if (n <= 0 || (size_t)n != strlen(out))
        abort();
    if (pay_money_parse_signed(out, currency, &back, NULL) != PAY_ERR_OK || back != v) {
        fprintf(stderr, "round trip: '%s' -> %lld -> '%s' -> %lld\n", text, (long long)v, out,
                (long long)back);
        abort();
    }
    /* Accepted text with all the currency's decimals is already canonical. */
    const char *dot = strchr(text, '.');
    int exp = pay_currency_lookup(currency);
    if (((dot == NULL && exp == 0) || (dot != NULL && (int)strlen(dot + 1) == exp)) &&
        strcmp(out, text) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    static const char *const currencies[] = {"CNY", "JPY", "KWD", "CLF", "USD"};
    for (size_t i = 0; i < sizeof currencies / sizeof currencies[0]; i++)
        check(text, currencies[i]);
    free(text);
    return 0;
}
