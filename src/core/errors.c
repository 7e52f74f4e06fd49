/* The error registry's tables, generated from errors.def. */
#include "core/buf.h"
#include "core/errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int status;
    const char *message;
} registry[] = {
/* log.h has a PAY_ERROR log macro too: set it aside while the registry expands. */
#pragma push_macro("PAY_ERROR")
#undef PAY_ERROR
#define PAY_ERROR(name, status, msg) {#name, status, msg},
#include "core/errors.def"
#undef PAY_ERROR
#pragma pop_macro("PAY_ERROR")
};

_Static_assert(sizeof registry / sizeof registry[0] == PAY_ERR__COUNT, "registry complete");

static size_t index_of(enum pay_err code)
{
    if ((unsigned)code >= PAY_ERR__COUNT)
        return PAY_ERR_INTERNAL;
    return (size_t)code;
}

const char *pay_err_name(enum pay_err code)
{
    return registry[index_of(code)].name;
}

int pay_err_http_status(enum pay_err code)
{
    return registry[index_of(code)].status;
}

const char *pay_err_message(enum pay_err code)
{
    return registry[index_of(code)].message;
}

enum pay_err pay_error_set(struct pay_error *e, enum pay_err code, const char *field,
                           const char *detail_fmt, ...)
{
    if (e == NULL)
        return code;
    e->code = code;
    pay_str_copy(e->field, sizeof e->field, field ? field : "");
    e->detail[0] = '\0';
    if (detail_fmt != NULL) {
        va_list ap;
        va_start(ap, detail_fmt);
        vsnprintf(e->detail, sizeof e->detail, detail_fmt, ap);
        va_end(ap);
    }
    return code;
}

int pay_err_write_markdown(FILE *fp)
{
    fprintf(fp,
            "# paygate error codes\n\n"
            "Generated from `src/core/errors.def` by `paygate errors --markdown`; do not edit.\n"
            "Every API error is JSON: "
            "`{\"error\":{\"code\":\"AMOUNT_INVALID\",\"message\":\"...\",\"field\":\"amount\"}}`"
            " with the HTTP status below; browser pages show the same code and message.\n\n"
            "| code | HTTP status | meaning |\n| --- | --- | --- |\n");
    for (size_t i = 1; i < PAY_ERR__COUNT; i++)
        fprintf(fp, "| `%s` | %d | %s |\n", registry[i].name, registry[i].status,
                registry[i].message);
    return ferror(fp) ? -1 : 0;
}
