/* Always-on assertions (after Redis's serverAssert): PAY_ASSERT stays in release builds,
 * whatever NDEBUG says, because the invariants it guards are those of money — refunded <=
 * paid, fee <= amount, balances that may not go negative, transfers that balance, legal
 * state transitions. A failure is a bug in paygate, never a bad request: it logs the file,
 * line, function, expression and the request id of the thread (assert.failed, level error)
 * and aborts, so that nothing more is written on a state that cannot be. Bad input from
 * outside is an error value (core/errors.h), never an assertion. */
#ifndef PAY_CORE_ASSERTIONS_H
#define PAY_CORE_ASSERTIONS_H

#include <stdbool.h>
#include <stddef.h>

/* Logs and aborts; fmt (may be NULL) adds a printf-style note. Never returns. */
_Noreturn void pay_assert_fail(const char *expr, const char *file, int line, const char *func,
                               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define PAY_ASSERT(cond)                                                                           \
    ((cond) ? (void)0 : pay_assert_fail(#cond, __FILE__, __LINE__, __func__, NULL))

/* With a note: PAY_ASSERT_MSG(refunded <= paid, "trade %s", id). */
#define PAY_ASSERT_MSG(cond, ...)                                                                  \
    ((cond) ? (void)0 : pay_assert_fail(#cond, __FILE__, __LINE__, __func__, __VA_ARGS__))

/* State machines whose states are stored as text: each keeps one table of its legal moves,
 * and every state change asserts that its move is in it:
 *   PAY_ASSERT_MSG(pay_state_move_legal(trade_moves, N, from, to), "trade %s", id); */
struct pay_state_move {
    const char *from, *to;
};
#define PAY_STATE_MOVES(table) (sizeof(table) / sizeof((table)[0]))
bool pay_state_move_legal(const struct pay_state_move *table, size_t n, const char *from,
                          const char *to);

#endif
