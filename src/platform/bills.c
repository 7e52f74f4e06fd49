/* Merchant bills (对账单, docs/api.md "GET /v1/bills"): one day's movements of the merchant's
 * available balance as CSV, read from the ledger account pf.merchant.<id>.CNY itself, so the
 * bill's total is by construction what the ledger moved that day. type=trade lists payments,
 * fees, escrow releases and refunds; type=settlement the payouts and payouts returned. */
#include "platform/platform.h"

#include "core/buf.h"
#include "core/money.h"
#include "core/timeutil.h"
#include "i18n/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS    86400000LL
#define BILL_PAGE 128

struct bill {
    struct pay_platform *p;
    const char *merchant_id;
    bool settlement; /* type=settlement */
    int64_t from_ms, to_ms;
    struct pay_buf *out;
    int64_t rows, net;
};

/* The row's type, or NULL when the transfer belongs to the other type of bill. */
static const char *row_type(const struct bill *b, int32_t code)
{
    switch (code) {
    case PAY_PF_XFER_PAY:
        return b->settlement ? NULL : "PAYMENT";
    case PAY_PF_XFER_FEE:
        return b->settlement ? NULL : "FEE";
    case PAY_PF_XFER_ESCROW_RELEASE:
        return b->settlement ? NULL : "ESCROW_RELEASE";
    case PAY_PF_XFER_REFUND:
        return b->settlement ? NULL : "REFUND";
    case PAY_PF_XFER_PAYOUT:
        return b->settlement ? "PAYOUT" : NULL;
    case PAY_PF_XFER_PAYOUT_BACK:
        return b->settlement ? "PAYOUT_RETURNED" : NULL;
    }
    return NULL;
}

/* out_trade_no of a trade id, "" when it is not one (a settlement). */
static void out_trade_no(struct pay_platform *p, const char *id, char out[PAY_ID_MAX * 3])
{
    struct pay_platform_trade t;
    struct pay_error err = {0};
    out[0] = '\0';
    if (strncmp(id, "tr_", 3) == 0 &&
        pay_platform_trade_get(p, NULL, id, NULL, &t, &err) == PAY_ERR_OK)
        pay_str_copy(out, PAY_ID_MAX * 3, t.out_trade_no);
}

static int add_row(struct bill *b, const struct pay_ledger_transfer *t, const char *acct)
{
    const char *type = row_type(b, t->code);
    if (!type)
        return 0;
    bool in = strcmp(t->credit_account_id, acct) == 0;
    if ((in ? pay_money_add(b->net, t->amount_minor, &b->net)
            : pay_money_sub(b->net, t->amount_minor, &b->net)) != PAY_ERR_OK)
        return -1;
    char at[PAY_TIME_TEXT_MAX], amount[PAY_MONEY_TEXT_MAX + 2], otn[PAY_ID_MAX * 3], ref[80];
    pay_time_format_rfc3339(t->created_ms, at);
    amount[0] = in ? '\0' : '-';
    pay_money_format(t->amount_minor, t->currency, amount + !in, sizeof amount - 1);
    out_trade_no(b->p, t->user_data, otn);
    /* the object the transfer is for: the refund, the settlement, else the trade itself */
    snprintf(ref, sizeof ref, "%.*s", (int)strcspn(t->id, "."), t->id);
    b->rows++;
    /* ids and out_trade_no are [A-Za-z0-9_.-]: nothing to quote */
    return pay_buf_printf(b->out, "%s,%s,%s,%s,%s,%s,%s\r\n", at, type,
                          strncmp(t->user_data, "tr_", 3) == 0 ? t->user_data : "", otn, ref,
                          amount, t->currency);
}

/* Keeps t in the growing list *all (n of cap). 0, or -1 past PAY_PLATFORM_BILL_ROWS_MAX or
 * out of memory. */
static int keep(struct pay_ledger_transfer **all, size_t *n, size_t *cap,
                const struct pay_ledger_transfer *t)
{
    if (*n == *cap) {
        if (*cap >= PAY_PLATFORM_BILL_ROWS_MAX)
            return -1;
        size_t more = *cap ? *cap * 2 : BILL_PAGE;
        struct pay_ledger_transfer *grown = realloc(*all, more * sizeof **all);
        if (!grown)
            return -1;
        *all = grown, *cap = more;
    }
    (*all)[(*n)++] = *t;
    return 0;
}

/* The day's transfers of the account, oldest first: walked newest first, kept, reversed. */
static enum pay_err collect(struct bill *b, const char *acct, struct pay_error *err)
{
    struct pay_ledger_transfer page[BILL_PAGE], *all = NULL;
    size_t n = 0, cap = 0;
    int64_t cursor = 0;
    bool older = false;
    enum pay_err e = PAY_ERR_OK;
    while (e == PAY_ERR_OK && !older) {
        size_t got = 0;
        int64_t next = 0;
        e = pay_ledger_account_transfers(b->p->ledger, acct, cursor, page, BILL_PAGE, &got, &next,
                                         err);
        for (size_t i = 0; e == PAY_ERR_OK && i < got && !older; i++) {
            older = page[i].created_ms < b->from_ms;
            if (!older && page[i].created_ms < b->to_ms && keep(&all, &n, &cap, &page[i]) != 0)
                e = pay_error_set(err, PAY_ERR_FIELD_INVALID, "date",
                                  "more than %d movements that day", PAY_PLATFORM_BILL_ROWS_MAX);
        }
        if (next == 0)
            break;
        cursor = next;
    }
    for (size_t i = n; e == PAY_ERR_OK && i-- > 0;)
        if (add_row(b, &all[i], acct) != 0)
            e = pay_error_set(err, PAY_ERR_INTERNAL, "", "bill too large");
    free(all);
    return e;
}

enum pay_err pay_platform_bill_csv(struct pay_platform *p, const char *merchant_id,
                                   const char *date, const char *type, struct pay_buf *out,
                                   struct pay_error *err)
{
    if (!type || (strcmp(type, "trade") != 0 && strcmp(type, "settlement") != 0))
        return pay_error_set(err, type ? PAY_ERR_FIELD_INVALID : PAY_ERR_FIELD_MISSING, "type",
                             "trade or settlement");
    int y = 0, m = 0, d = 0, len = 0;
    if (!date || sscanf(date, "%4d-%2d-%2d%n", &y, &m, &d, &len) != 3 || len != 10 || date[10] ||
        m < 1 || m > 12 || d < 1 || d > 31)
        return pay_error_set(err, date ? PAY_ERR_FIELD_INVALID : PAY_ERR_FIELD_MISSING, "date",
                             "a date YYYY-MM-DD");
    /* the day of [server] time_zone: noon UTC of the date lies in it (offsets -12..+12 h) */
    int64_t days = pay_tz_days_from_civil(y, m, d);
    struct bill b = {.p = p, .merchant_id = merchant_id, .settlement = type[0] == 's', .out = out};
    b.from_ms = pay_tz_day_start_ms(p->settle_tz, days * DAY_MS + DAY_MS / 2);
    b.to_ms = pay_tz_day_start_ms(p->settle_tz, (days + 1) * DAY_MS + DAY_MS / 2);
    char acct[PAY_LEDGER_ID_MAX + 1];
    if (pay_platform_account_id(PAY_PF_ACCT_MERCHANT, merchant_id, "CNY", acct) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "account id");
    if (pay_buf_puts(out, "time,type,trade_id,out_trade_no,reference,amount,currency\r\n") != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "bill too large");
    enum pay_err e = collect(&b, acct, err);
    char net[PAY_MONEY_TEXT_MAX + 2];
    net[0] = b.net < 0 ? '-' : '\0';
    pay_money_format(b.net < 0 ? -b.net : b.net, "CNY", net + (b.net < 0), sizeof net - 1);
    if (e == PAY_ERR_OK &&
        pay_buf_printf(out, "TOTAL,%lld,,,,%s,CNY\r\n", (long long)b.rows, net) != 0)
        e = pay_error_set(err, PAY_ERR_INTERNAL, "", "bill too large");
    return e;
}
