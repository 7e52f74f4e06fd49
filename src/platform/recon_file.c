/* The bank's daily statement file as the platform reads it (docs/reconciliation.md, "The
 * bank's statement file"): a header record, one record per movement, a trailer. Every field is
 * checked, and so are the trailer's count, totals, the balances and the checksum: a file that
 * does not add up is refused as a whole (STATEMENT_INVALID), never half read. */
#include "platform/connector.h"
#include "platform/recon.h"

#include "core/buf.h"
#include "core/money.h"
#include "crypto/crypto.h"
#include "i18n/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool pay_recon_time_parse(const char *text, int64_t *ms)
{
    int y, mo, d, h, mi, s;
    char z, tail;
    if (strlen(text) != 20 ||
        sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%c%c", &y, &mo, &d, &h, &mi, &s, &z, &tail) != 7 ||
        z != 'Z' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59)
        return false;
    *ms = ((pay_tz_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000LL + s * 1000LL;
    return true;
}

/* Splits one record (NUL-terminated, without its line break) into fields, in place: RFC 4180
 * quotes are removed ("a""b" -> a"b). The number of fields, or -1 for a broken quote or more
 * than max. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    char *r = line, *w = line;
    while (n < max) {
        f[n++] = w;
        if (*r == '"') {
            for (r++;; r++) {
                if (*r == '\0')
                    return -1;
                if (*r == '"' && r[1] == '"')
                    *w++ = *r++;
                else if (*r == '"')
                    break;
                else
                    *w++ = *r;
            }
            r++;
            if (*r != ',' && *r != '\0')
                return -1;
        } else {
            while (*r && *r != ',')
                *w++ = *r++;
        }
        bool more = *r == ',';
        *w++ = '\0';
        if (!more)
            return n;
        r++;
    }
    return -1;
}

/* A decimal integer field (optionally negative when neg) into *v. */
static bool integer(const char *s, bool neg, int64_t *v)
{
    size_t digits = strspn(s + (neg && s[0] == '-'), "0123456789");
    if (digits == 0 || digits > 18 || s[(neg && s[0] == '-') + digits] != '\0')
        return false;
    *v = strtoll(s, NULL, 10);
    return true;
}

static enum pay_err bad(struct pay_error *err, const char *what, size_t line)
{
    return pay_error_set(err, PAY_ERR_STATEMENT_INVALID, "statement", "line %zu: %s", line, what);
}

static bool copy(char *dst, size_t n, const char *src)
{
    return pay_str_copy(dst, n, src);
}

static enum pay_err header(const struct pay_platform_bank *b, const char *date, char **f, int n,
                           struct pay_recon_file *out, struct pay_error *err)
{
    if (n != 11 || strcmp(f[0], "H") != 0 || strcmp(f[1], "PAYGATE-STATEMENT") != 0 ||
        strcmp(f[2], "1") != 0)
        return bad(err, "not a PAYGATE-STATEMENT version 1 header", 1);
    if (!copy(out->bank, sizeof out->bank, f[3]) || !copy(out->mer_id, sizeof out->mer_id, f[4]) ||
        !copy(out->account, sizeof out->account, f[5]) ||
        !copy(out->currency, sizeof out->currency, f[6]) ||
        !copy(out->date, sizeof out->date, f[7]))
        return bad(err, "a header field is too long", 1);
    if (strcmp(out->bank, b->code) != 0 || strcmp(out->mer_id, b->mer_id) != 0 ||
        strcmp(out->account, b->mer_acct) != 0)
        return bad(err, "the file is not of our account at this bank", 1);
    if (strcmp(out->date, date) != 0)
        return bad(err, "the file is of another day", 1);
    if (!pay_recon_time_parse(f[8], &out->from_ms) || !pay_recon_time_parse(f[9], &out->to_ms) ||
        out->to_ms <= out->from_ms || !integer(f[10], true, &out->opening_minor))
        return bad(err, "bad day bounds or opening balance", 1);
    return PAY_ERR_OK;
}

static enum pay_err record(char **f, int n, size_t at, const struct pay_recon_file *file,
                           struct pay_recon_line *l, struct pay_error *err)
{
    if (n != 7 || strcmp(f[0], "D") != 0)
        return bad(err, "not a D record of 7 fields", at);
    if (!pay_recon_time_parse(f[1], &l->time_ms) || l->time_ms < file->from_ms ||
        l->time_ms >= file->to_ms)
        return bad(err, "time outside the file's day", at);
    if (!copy(l->serial, sizeof l->serial, f[2]) || !l->serial[0] ||
        !copy(l->kind, sizeof l->kind, f[3]) || !copy(l->reference, sizeof l->reference, f[6]))
        return bad(err, "a field is empty or too long", at);
    if (strcmp(f[4], "CREDIT") != 0 && strcmp(f[4], "DEBIT") != 0)
        return bad(err, "direction is neither CREDIT nor DEBIT", at);
    l->credit = f[4][0] == 'C';
    if (!integer(f[5], false, &l->amount_minor) || l->amount_minor <= 0 ||
        l->amount_minor > PAY_AMOUNT_MAX_MINOR)
        return bad(err, "amount is not 1..PAY_AMOUNT_MAX_MINOR minor units", at);
    return PAY_ERR_OK;
}

/* The trailer against the records: count, totals, balances. */
static enum pay_err trailer(char **f, int n, size_t at, struct pay_recon_file *out,
                            struct pay_error *err)
{
    int64_t v[6];
    if (n != 8 || strcmp(f[0], "T") != 0)
        return bad(err, "the file does not end with its T record", at);
    for (int i = 0; i < 6; i++)
        if (!integer(f[1 + i], i == 5, &v[i]))
            return bad(err, "a trailer number is malformed", at);
    int64_t credits = 0, debits = 0, nc = 0, net = 0;
    for (size_t i = 0; i < out->n; i++) {
        struct pay_recon_line *l = &out->lines[i];
        nc += l->credit;
        if (pay_money_add(l->credit ? credits : debits, l->amount_minor,
                          l->credit ? &credits : &debits) != PAY_ERR_OK)
            return bad(err, "the records' total overflows", at);
    }
    if (v[0] != (int64_t)out->n || v[1] != nc || v[3] != (int64_t)out->n - nc)
        return bad(err, "the trailer's counts differ from the records", at);
    if (v[2] != credits || v[4] != debits)
        return bad(err, "the trailer's totals differ from the records", at);
    out->credit_minor = credits;
    out->debit_minor = debits;
    out->closing_minor = v[5];
    if (pay_money_sub(credits, debits, &net) != PAY_ERR_OK ||
        pay_money_add(out->opening_minor, net, &net) != PAY_ERR_OK || net != out->closing_minor)
        return bad(err, "opening + credits - debits is not the closing balance", at);
    if (strlen(f[7]) != PAY_SHA256_HEX_LEN - 1 || !copy(out->sha256, sizeof out->sha256, f[7]))
        return bad(err, "the checksum is not a SHA-256", at);
    return PAY_ERR_OK;
}

/* One record (line number at) of the file into its place. */
static enum pay_err one_line(const struct pay_platform_bank *b, const char *date, char *line,
                             size_t at, struct pay_recon_file *out, bool *done,
                             struct pay_error *err)
{
    char *f[PAY_RECON_RECORD_FIELDS_MAX];
    int n = split(line, f, PAY_RECON_RECORD_FIELDS_MAX);
    if (n < 0)
        return bad(err, "a broken quoted field", at);
    if (at == 1)
        return header(b, date, f, n, out, err);
    if (n > 0 && strcmp(f[0], "T") == 0) {
        *done = true;
        return trailer(f, n, at, out, err);
    }
    if (out->n >= PAY_STATEMENT_FILE_MAX / 32)
        return bad(err, "too many records", at);
    if (out->n % 256 == 0) {
        struct pay_recon_line *g = realloc(out->lines, (out->n + 256) * sizeof *g);
        if (!g)
            return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
        out->lines = g;
    }
    memset(&out->lines[out->n], 0, sizeof out->lines[0]);
    enum pay_err e = record(f, n, at, out, &out->lines[out->n], err);
    out->n += e == PAY_ERR_OK;
    return e;
}

enum pay_err pay_recon_file_parse(const struct pay_platform_bank *b, const char *date,
                                  const char *text, size_t len, struct pay_recon_file *out,
                                  struct pay_error *err)
{
    memset(out, 0, sizeof *out);
    if (len == 0 || memchr(text, '\0', len))
        return bad(err, "empty, or not text", 1);
    char *copy_of = malloc(len + 1);
    if (!copy_of)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    memcpy(copy_of, text, len);
    copy_of[len] = '\0';
    enum pay_err e = PAY_ERR_OK;
    bool done = false;
    size_t at = 0, start = 0, trailer_at = 0;
    while (e == PAY_ERR_OK && !done && start < len) {
        char *eol = strstr(copy_of + start, "\r\n");
        if (!eol) {
            e = bad(err, "a record without its CRLF", at + 1);
            break;
        }
        *eol = '\0';
        trailer_at = start;
        e = one_line(b, date, copy_of + start, ++at, out, &done, err);
        start = (size_t)(eol - copy_of) + 2;
    }
    if (e == PAY_ERR_OK && (!done || start != len))
        e = bad(err, done ? "bytes after the trailer" : "no trailer", at);
    char hex[PAY_SHA256_HEX_LEN];
    if (e == PAY_ERR_OK) {
        pay_sha256_hex(hex, text, trailer_at);
        if (strcmp(hex, out->sha256) != 0)
            e = bad(err, "the checksum does not match the file", at);
    }
    free(copy_of);
    return e;
}

void pay_recon_file_fini(struct pay_recon_file *f)
{
    free(f->lines);
    f->lines = NULL;
    f->n = 0;
}
