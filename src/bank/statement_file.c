/* The daily statement file (对账文件, docs/reconciliation.md "The bank's statement file"):
 * GET /api/v1/statement-file?date=YYYY-MM-DD gives a merchant every movement of its account on
 * one day of the bank's time zone, as CSV with a header record (who, which account, the day's
 * bounds in UTC, the opening balance), one record per movement, and a trailer (count, credit and
 * debit totals, closing balance, SHA-256 of everything before it). The answer is signed like
 * every API answer; the checksum lets a stored copy be checked on its own. */
#include "bank/api.h"
#include "core/buf.h"
#include "core/money.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "i18n/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL

/* The kind column: the bank's transfer code by name. */
static const char *kind_name(int32_t code)
{
    static const char *const names[] = {
        [PAY_BANK_XFER_DEPOSIT] = "DEPOSIT",
        [PAY_BANK_XFER_PAYMENT] = "PAYMENT",
        [PAY_BANK_XFER_REFUND] = "REFUND",
        [PAY_BANK_XFER_AGREEMENT] = "AGREEMENT_DEBIT",
        [PAY_BANK_XFER_TRANSFER] = "TRANSFER",
        [PAY_BANK_XFER_CREDIT_LINE] = "CREDIT_LINE",
        [PAY_BANK_XFER_NET_PURCHASE] = "NET_PURCHASE",
        [PAY_BANK_XFER_NET_REFUND] = "NET_REFUND",
        [PAY_BANK_XFER_NET_SETTLEMENT] = "NET_SETTLEMENT",
        [PAY_BANK_XFER_ADJUSTMENT] = "ADJUSTMENT",
    };
    if (code > 0 && (size_t)code < sizeof names / sizeof names[0] && names[code])
        return names[code];
    return "OTHER";
}

/* Whether a transfer moved the posted balance (a two-phase reservation does not until it is
 * posted). */
static bool posted(const struct pay_ledger_transfer *t)
{
    return !(t->flags &
             (PAY_LEDGER_TF_PENDING | PAY_LEDGER_TF_VOID_PENDING | PAY_LEDGER_TF_EXPIRED));
}

/* One CSV field: quoted (RFC 4180) when it holds a comma, a quote or a line break. */
static int put_field(struct pay_buf *b, const char *v, bool last)
{
    int rc = 0;
    if (strpbrk(v, ",\"\r\n")) {
        rc |= pay_buf_puts(b, "\"");
        for (const char *p = v; *p && rc == 0; p++)
            rc |= *p == '"' ? pay_buf_puts(b, "\"\"") : pay_buf_append(b, p, 1);
        rc |= pay_buf_puts(b, "\"");
    } else {
        rc |= pay_buf_puts(b, v);
    }
    return rc | pay_buf_puts(b, last ? "\r\n" : ",");
}

struct day_sums {
    int64_t count, credit_count, credit_minor, debit_count, debit_minor;
    int64_t after_net_minor; /* credits - debits after the day: closing = balance now - this */
};

/* Adds one movement to the sums (checked arithmetic: a total that overflows is refused). */
static enum pay_err sum_one(struct day_sums *s, const struct pay_ledger_transfer *t, bool credit,
                            bool in_day, struct pay_error *err)
{
    enum pay_err e;
    if (!in_day)
        e = credit ? pay_money_add(s->after_net_minor, t->amount_minor, &s->after_net_minor)
                   : pay_money_sub(s->after_net_minor, t->amount_minor, &s->after_net_minor);
    else if (credit)
        e = pay_money_add(s->credit_minor, t->amount_minor, &s->credit_minor);
    else
        e = pay_money_add(s->debit_minor, t->amount_minor, &s->debit_minor);
    if (in_day) {
        s->count++;
        *(credit ? &s->credit_count : &s->debit_count) += 1;
    }
    return e == PAY_ERR_OK ? PAY_ERR_OK
                           : pay_error_set(err, PAY_ERR_INTERNAL, "", "statement totals overflow");
}

/* The day's records ("D,...") oldest first into rows, and the sums. Walks the account's
 * transfers newest first until one is older than the day. */
static enum pay_err day_records(struct api_call *c, int64_t from_ms, int64_t to_ms,
                                struct pay_buf *rows, struct day_sums *s, struct pay_error *err)
{
    size_t cap = PAY_BANK_STATEMENT_PAGE;
    struct pay_ledger_transfer *t = calloc(cap, sizeof *t);
    json_t *lines = json_array(); /* newest first; written reversed */
    int64_t cursor = 0;
    enum pay_err rc = t && lines ? PAY_ERR_OK : pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    bool more = true;
    while (more && rc == PAY_ERR_OK) {
        size_t n = 0;
        int64_t next = 0;
        rc = pay_ledger_account_transfers(c->b->ledger, c->m.account_id, cursor, t, cap, &n, &next,
                                          err);
        for (size_t i = 0; rc == PAY_ERR_OK && i < n && more; i++) {
            if (t[i].created_ms < from_ms) {
                more = false;
                break;
            }
            if (!posted(&t[i]))
                continue;
            bool credit = strcmp(t[i].credit_account_id, c->m.account_id) == 0;
            bool in_day = t[i].created_ms < to_ms;
            rc = sum_one(s, &t[i], credit, in_day, err);
            if (rc != PAY_ERR_OK || !in_day)
                continue;
            char when[PAY_TIME_TEXT_MAX], amount[24];
            pay_time_format_rfc3339(t[i].created_ms, when);
            snprintf(amount, sizeof amount, "%lld", (long long)t[i].amount_minor);
            struct pay_buf line;
            pay_buf_init(&line, 4 * PAY_LEDGER_ID_MAX + 128);
            int w = put_field(&line, "D", false) | put_field(&line, when, false) |
                    put_field(&line, t[i].id, false) |
                    put_field(&line, kind_name(t[i].code), false) |
                    put_field(&line, credit ? "CREDIT" : "DEBIT", false) |
                    put_field(&line, amount, false) | put_field(&line, t[i].user_data, true);
            if (w != 0 || json_array_append_new(lines, json_string(pay_buf_str(&line))) != 0)
                rc = pay_error_set(err, PAY_ERR_INTERNAL, "", "statement line");
            pay_buf_fini(&line);
        }
        cursor = next;
        more = more && next != 0;
    }
    for (size_t i = json_array_size(lines); rc == PAY_ERR_OK && i > 0; i--)
        if (pay_buf_puts(rows, json_string_value(json_array_get(lines, i - 1))) != 0)
            rc = pay_error_set(err, PAY_ERR_INTERNAL, "", "statement too large");
    json_decref(lines);
    free(t);
    return rc;
}

/* The header record, the day's records and the trailer into out. */
static enum pay_err statement_file(struct api_call *c, const char *date, int64_t from_ms,
                                   struct pay_buf *out, struct pay_error *err)
{
    struct pay_ledger_account a;
    bool found = false;
    enum pay_err rc = pay_ledger_account_get(c->b->ledger, c->m.account_id, &a, &found, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (!found)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "account", "the merchant has no account");
    struct pay_buf rows;
    pay_buf_init(&rows, PAY_STATEMENT_FILE_MAX);
    struct day_sums s = {0};
    int64_t to_ms = from_ms + DAY_MS, closing = 0, opening = 0;
    rc = day_records(c, from_ms, to_ms, &rows, &s, err);
    /* balances from the account's posted totals now, walked back */
    if (rc == PAY_ERR_OK && (pay_money_sub(pay_ledger_account_net_credit(&a), s.after_net_minor,
                                           &closing) != PAY_ERR_OK ||
                             pay_money_sub(closing, s.credit_minor, &opening) != PAY_ERR_OK ||
                             pay_money_add(opening, s.debit_minor, &opening) != PAY_ERR_OK))
        rc = pay_error_set(err, PAY_ERR_INTERNAL, "", "balance overflow");
    char from[PAY_TIME_TEXT_MAX], to[PAY_TIME_TEXT_MAX], hex[PAY_SHA256_HEX_LEN];
    pay_time_format_rfc3339(from_ms, from);
    pay_time_format_rfc3339(to_ms, to);
    if (rc == PAY_ERR_OK &&
        (pay_buf_printf(out, "H,PAYGATE-STATEMENT,1,%s,%s,%s,%s,%s,%s,%s,%lld\r\n", c->b->opt.code,
                        c->m.mer_id, c->m.account_id, PAY_BANK_CURRENCY, date, from, to,
                        (long long)opening) != 0 ||
         pay_buf_append(out, rows.data ? rows.data : "", rows.len) != 0))
        rc = pay_error_set(err, PAY_ERR_INTERNAL, "", "statement too large");
    if (rc == PAY_ERR_OK) {
        pay_sha256_hex(hex, out->data, out->len);
        if (pay_buf_printf(out, "T,%lld,%lld,%lld,%lld,%lld,%lld,%s\r\n", (long long)s.count,
                           (long long)s.credit_count, (long long)s.credit_minor,
                           (long long)s.debit_count, (long long)s.debit_minor, (long long)closing,
                           hex) != 0)
            rc = pay_error_set(err, PAY_ERR_INTERNAL, "", "statement too large");
    }
    pay_buf_fini(&rows);
    return rc;
}

/* "YYYY-MM-DD" of a real calendar day into its local midnight (UTC ms) in tz. */
static bool local_day_start(const struct pay_tz *tz, const char *date, int64_t *from_ms)
{
    int y, m, d;
    char tail;
    if (!date || strlen(date) != 10 || sscanf(date, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
        m < 1 || m > 12 || d < 1 || d > 31)
        return false;
    int64_t days = pay_tz_days_from_civil(y, m, d);
    int64_t yy;
    int mm, dd;
    pay_tz_civil_from_days(days, &yy, &mm, &dd);
    if (yy != y || mm != m || dd != d) /* 2026-02-30 */
        return false;
    /* noon UTC of a date lies inside that local date for every offset from -12 h to +12 h */
    *from_ms = pay_tz_day_start_ms(tz, days * DAY_MS + DAY_MS / 2);
    return true;
}

enum pay_err pay_bank_statement_file_get(struct pay_http_request *req, struct pay_error *err)
{
    struct api_call c;
    if (!api_begin(req, &c))
        return PAY_ERR_OK;
    const char *date = pay_http_req_query(req, "date");
    int64_t from_ms = 0;
    struct pay_buf csv;
    pay_buf_init(&csv, PAY_STATEMENT_FILE_MAX);
    if (!local_day_start(pay_http_req_tz(req), date, &from_ms))
        pay_error_set(err, PAY_ERR_FIELD_INVALID, "date", "date must be a day, YYYY-MM-DD");
    else if (statement_file(&c, date, from_ms, &csv, err) == PAY_ERR_OK)
        api_reply_bytes(&c, 200, "text/csv; charset=utf-8", pay_buf_str(&csv), csv.len);
    if (err->code != PAY_ERR_OK)
        api_fail(&c, err);
    pay_buf_fini(&csv);
    api_end(&c);
    return PAY_ERR_OK;
}
