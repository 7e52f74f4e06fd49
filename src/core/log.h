/* Structured logging: one line per event, `TIME LEVEL EVENT rid=REQUEST_ID k=v ...`.
 *
 * Card numbers and secrets cannot reach the log: every line passes through
 * pay_log_redact() before it is written, which masks any run of 13-19 digits that passes the
 * Luhn check (a PAN, also when split by spaces or dashes) and the value of every key whose
 * name marks a secret (password, pin, cvv, secret, token, key, otp, code, ...).
 * Tests in tests/core/test_log.c prove both. */
#ifndef PAY_CORE_LOG_H
#define PAY_CORE_LOG_H

#include <stddef.h>
#include <stdio.h>

enum pay_log_level { PAY_LOG_DEBUG, PAY_LOG_INFO, PAY_LOG_WARN, PAY_LOG_ERROR };

/* Where lines go (default stderr) and the lowest level written (default INFO).
 * Call before starting threads. */
void pay_log_init(FILE *out, enum pay_log_level min_level);

/* Changes only the lowest level written (e.g. from a config file's log_level). */
void pay_log_set_level(enum pay_log_level min_level);

/* Parses "debug", "info", "warn", "error"; returns -1 for anything else. */
int pay_log_level_parse(const char *s, enum pay_log_level *out);

/* The request id stamped on every line written by this thread ("-" when none). Copied. */
void pay_log_set_request_id(const char *rid);
const char *pay_log_request_id(void);

/* fmt holds the key=value pairs: pay_log(PAY_LOG_INFO, "trade.paid", "trade=%s amount=%lld",
 * id, amount). Values with spaces should be quoted by the caller ("subject=\"%s\""). */
void pay_log(enum pay_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define PAY_DEBUG(event, ...) pay_log(PAY_LOG_DEBUG, event, __VA_ARGS__)
#define PAY_INFO(event, ...)  pay_log(PAY_LOG_INFO, event, __VA_ARGS__)
#define PAY_WARN(event, ...)  pay_log(PAY_LOG_WARN, event, __VA_ARGS__)
#define PAY_ERROR(event, ...) pay_log(PAY_LOG_ERROR, event, __VA_ARGS__)

/* Masks card numbers and secret values in line, in place. Exposed for tests and for any other
 * text that leaves the process for humans (e.g. the sandbox SMS outbox page). */
void pay_log_redact(char *line);

#endif
