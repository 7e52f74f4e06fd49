/* paygate's error codes: one enum generated from errors.def, plus a small detail record. */
#ifndef PAY_CORE_ERRORS_H
#define PAY_CORE_ERRORS_H

#include <stddef.h>
#include <stdio.h>

enum pay_err {
/* log.h has a PAY_ERROR log macro too: set it aside while the registry expands. */
#pragma push_macro("PAY_ERROR")
#undef PAY_ERROR
#define PAY_ERROR(name, status, msg) PAY_ERR_##name,
#include "core/errors.def"
#undef PAY_ERROR
#pragma pop_macro("PAY_ERROR")
    PAY_ERR__COUNT
};

/* A failure with the field it concerns, for the "which field, why" answers of every API.
 * Caller-owned, fixed size: never allocates. */
struct pay_error {
    enum pay_err code;
    char field[64];   /* JSON path or form field name, "" when none */
    char detail[192]; /* specific reason, "" to use the registry message */
};

/* Registry look-ups. Never NULL; an out-of-range code maps to INTERNAL. */
const char *pay_err_name(enum pay_err code);    /* "AMOUNT_INVALID" */
int pay_err_http_status(enum pay_err code);     /* 400 */
const char *pay_err_message(enum pay_err code); /* registry text */

/* Fills *e (if not NULL) and returns code, so that `return pay_error_set(e, ...)` reads well.
 * detail_fmt may be NULL. */
enum pay_err pay_error_set(struct pay_error *e, enum pay_err code, const char *field,
                           const char *detail_fmt, ...) __attribute__((format(printf, 4, 5)));

/* Writes the Markdown table of every error (docs/errors.md) to fp. */
int pay_err_write_markdown(FILE *fp);

#endif
