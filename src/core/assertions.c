/* The failure path of PAY_ASSERT: one log line with where and what, then abort. */
#include "core/assertions.h"

#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pay_assert_fail(const char *expr, const char *file, int line, const char *func,
                     const char *fmt, ...)
{
    char note[256] = "";
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(note, sizeof note, fmt, ap);
        va_end(ap);
    }
    /* pay_log stamps the thread's request id and masks card numbers in the note. */
    pay_log(PAY_LOG_ERROR, "assert.failed", "at=%s:%d func=%s expr=\"%s\" note=\"%s\"", file, line,
            func, expr, note);
    fflush(NULL);
    abort();
}

bool pay_state_move_legal(const struct pay_state_move *table, size_t n, const char *from,
                          const char *to)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].from, from) == 0 && strcmp(table[i].to, to) == 0)
            return true;
    return false;
}
