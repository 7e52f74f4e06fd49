/* Structured, redacting logger. It is the failure path of PAY_ASSERT (assertions.c logs one
 * line, then aborts), so it calls nothing in core that may assert: an assertion failing
 * inside the report of another would recurse, and the call graph would loop (log -> buf ->
 * assertions -> log; tests/tools/call_loops.py). */
#include "core/log.h"

#include "core/limits.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static FILE *log_out;
static enum pay_log_level log_min = PAY_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local char request_id[PAY_ID_MAX + 8] = "-";

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void pay_log_init(FILE *out, enum pay_log_level min_level)
{
    log_out = out;
    log_min = min_level;
}

void pay_log_set_level(enum pay_log_level min_level)
{
    log_min = min_level;
}

int pay_log_level_parse(const char *s, enum pay_log_level *out)
{
    for (int i = 0; i <= PAY_LOG_ERROR; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum pay_log_level)i;
            return 0;
        }
    }
    return -1;
}

/* Copied here rather than with pay_str_copy (buf.c asserts; see the top). A request id is
 * ASCII, shorter than PAY_ID_MAX (server.c makes or checks it), so it always fits whole; a
 * longer one would be cut at a byte, which for ASCII is a character. */
void pay_log_set_request_id(const char *rid)
{
    const char *src = (rid && *rid) ? rid : "-";
    size_t n = strnlen(src, sizeof request_id - 1);
    memcpy(request_id, src, n);
    request_id[n] = '\0';
}

const char *pay_log_request_id(void)
{
    return request_id;
}

/* Key names whose values are secrets. A key matches when it contains one of these
 * (case-insensitive), so "card_password", "api_secret", "sms_code", "smsCode" and "totp" (it
 * contains "otp") are all masked. A safety net only: code must not log secrets at all. */
static const char *const secret_keys[] = {
    "password", "passwd",      "pin",    "cvv",           "cvn",     "secret",
    "token",    "key",         "otp",    "sms_code",      "smscode", "verify_code",
    "pan",      "card_number", "cardno", "authorization", "cookie",  "session",
};

static bool key_is_secret(const char *key, size_t n)
{
    char k[64];
    if (n >= sizeof k)
        n = sizeof k - 1;
    for (size_t i = 0; i < n; i++)
        k[i] = (char)tolower((unsigned char)key[i]);
    k[n] = '\0';
    if (n >= 3 && strcmp(k + n - 3, "_id") == 0)
        return false; /* identifiers such as key_id and session_id name secrets, never hold them */
    /* one pass over the key, trying only the names that start with the letter at hand: a
     * strstr per name and key was a tenth of a request's CPU in /healthz profiles */
    for (size_t at = 0; at < n; at++)
        for (size_t i = 0; i < sizeof secret_keys / sizeof secret_keys[0]; i++)
            if (secret_keys[i][0] == k[at] &&
                strncmp(k + at, secret_keys[i], strlen(secret_keys[i])) == 0)
                return true;
    return false;
}

static bool luhn_ok(const char *digits, size_t n)
{
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int d = digits[n - 1 - i] - '0';
        if (i % 2 == 1) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return sum % 10 == 0;
}

/* Masks PAN-like digit runs. Digits may be separated by single spaces or dashes, as people
 * type card numbers. A run of 13-19 digits passing Luhn becomes '#' except its first 6 and
 * last 4 digits (what PCI DSS allows to display). Longer runs are masked entirely: they may
 * contain a PAN anywhere inside. */
static void redact_pans(char *line)
{
    size_t i = 0;
    while (line[i]) {
        if (!isdigit((unsigned char)line[i])) {
            i++;
            continue;
        }
        char digits[64];
        size_t pos[64];
        size_t n = 0, j = i;
        while (line[j]) {
            if (isdigit((unsigned char)line[j])) {
                if (n < sizeof digits) {
                    digits[n] = line[j];
                    pos[n] = j;
                }
                n++;
                j++;
            } else if ((line[j] == ' ' || line[j] == '-') && isdigit((unsigned char)line[j + 1]) &&
                       n > 0) {
                j++;
            } else {
                break;
            }
        }
        if (n > 19) {
            for (size_t k = 0; k < n && k < sizeof digits; k++)
                line[pos[k]] = '#';
        } else if (n >= 13 && luhn_ok(digits, n)) {
            for (size_t k = 6; k + 4 < n; k++)
                line[pos[k]] = '#';
        }
        i = j;
    }
}

/* Masks values of secret keys: "card_password=123456" -> "card_password=[redacted]". The value
 * ends at the next space (or the closing quote when quoted). */
static void redact_secrets(char *line)
{
    char *p = line;
    while ((p = strchr(p, '=')) != NULL) {
        char *key_end = p;
        char *key = p;
        while (key > line && !isspace((unsigned char)key[-1]))
            key--;
        char *val = p + 1;
        char *end;
        if (*val == '"') {
            end = strchr(val + 1, '"');
            end = end ? end + 1 : val + strlen(val);
        } else {
            end = val;
            while (*end && !isspace((unsigned char)*end))
                end++;
        }
        if (key_end > key && key_is_secret(key, (size_t)(key_end - key)) && end > val) {
            static const char mask[] = "[redacted]";
            size_t vlen = (size_t)(end - val);
            size_t mlen = sizeof mask - 1;
            if (vlen >= mlen) {
                memcpy(val, mask, mlen);
                memmove(val + mlen, end, strlen(end) + 1);
                end = val + mlen;
            } else {
                memset(val, '*', vlen);
            }
        }
        p = end;
    }
}

void pay_log_redact(char *line)
{
    redact_secrets(line);
    redact_pans(line);
}

/* One line out. To a file descriptor (a file, a pipe, a terminal) it is one write(2) of the
 * line and its newline, with no lock of ours: the kernel keeps concurrent writes whole (and,
 * on a shared descriptor, at separate offsets), and a thread whose write waits on the disk
 * does not hold every other logging thread behind a mutex. A stream without a descriptor
 * (tests' memory streams) takes the lock. */
static void write_line(char *line)
{
    FILE *out = log_out ? log_out : stderr;
    int fd = fileno(out);
    if (fd < 0) {
        pthread_mutex_lock(&log_lock);
        fputs(line, out);
        fputc('\n', out);
        fflush(out);
        pthread_mutex_unlock(&log_lock);
        return;
    }
    size_t len = strlen(line);
    line[len++] = '\n'; /* the line is at most PAY_LOG_LINE_MAX - 1 with its NUL */
    for (size_t done = 0; done < len;) {
        ssize_t w = write(fd, line + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere to log that logging failed */
        done += (size_t)w;
    }
}

void pay_log(enum pay_log_level level, const char *event, const char *fmt, ...)
{
    if (level < log_min)
        return;
    char line[PAY_LOG_LINE_MAX];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* the date and time to the second, formatted once a second per thread */
    static _Thread_local time_t second = -1;
    static _Thread_local char stamp[64];
    if (ts.tv_sec != second) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        second = ts.tv_sec;
    }
    int n = snprintf(line, sizeof line, "%s.%03ldZ %s %s rid=%s ", stamp, ts.tv_nsec / 1000000,
                     level_names[level], event, request_id);
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    if ((size_t)(n + m) >= sizeof line)
        memcpy(line + sizeof line - 4, "...", 4);
    pay_log_redact(line);
    write_line(line);
}
