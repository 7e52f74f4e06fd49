/* The daily clearing file of a member (docs/switch.md, "Clearing files"): once a business day
 * is settled, every approved capture and refund of that day the member acquired (A) or issued
 * (I), with its interchange and the member's network fee and what it did to the member's
 * position, then a trailer with the count, the sums and the net, which is the position the
 * settlement moved. Served to the member over its signed API (GET /net/v1/clearing/{date}): the
 * answer, and so the file in it, is signed with the switch's key. */
#include "switch/switch.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/money.h"
#include "crypto/crypto.h"
#include "http/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct file_op {
    struct pay_switch *sw;
    const char *member, *date;
    struct pay_buf *b;
    bool settled;
    int64_t records, amount, interchange, fees, net;
    int64_t settled_net; /* the settlement row's net (0 when the member had none) */
};

/* One detail line; what it did to the member's position added to the sums. */
static int detail(struct file_op *o, struct pay_store_stmt *st, bool as_acquirer)
{
    bool refund = strcmp(pay_store_col_text(st, 2), PAY_NET_MTI_REFUND) == 0;
    int64_t amount = pay_store_col_int64(st, 6), ic = pay_store_col_int64(st, 7);
    int64_t fee = pay_store_col_int64(st, as_acquirer ? 8 : 9);
    int64_t net =
        pay_net_clearing_net(as_acquirer, refund, amount, refund ? 0 : ic, refund ? 0 : fee);
    PAY_ASSERT(pay_money_add(o->amount, amount, &o->amount) == PAY_ERR_OK);
    PAY_ASSERT(pay_money_add(o->interchange, refund ? 0 : ic, &o->interchange) == PAY_ERR_OK);
    PAY_ASSERT(pay_money_add(o->fees, refund ? 0 : fee, &o->fees) == PAY_ERR_OK);
    PAY_ASSERT(pay_money_add(o->net, net, &o->net) == PAY_ERR_OK);
    o->records++;
    return pay_buf_printf(
        o->b, "D|%c|%s|%s|%s|%s|%s|%s|%lld|%lld|%lld|%lld\n", as_acquirer ? 'A' : 'I',
        pay_store_col_text(st, 2), pay_store_col_text(st, 1), pay_store_col_text(st, 3),
        pay_store_col_text(st, 4), pay_store_col_text(st, 0), pay_store_col_text(st, 5),
        (long long)amount, (long long)(refund ? 0 : ic), (long long)(refund ? 0 : fee),
        (long long)net);
}

static enum pay_err settled_tx(struct pay_store_tx *tx, struct file_op *o, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT (SELECT COUNT(*) FROM switch_settlement_runs WHERE settle_date = $1),"
        " COALESCE((SELECT net_minor FROM switch_settlements WHERE settle_date = $1 AND"
        " member = $2), 0)",
        "tt", o->date, o->member);
    if (!st)
        return err->code;
    int r = pay_store_step(st, err);
    o->settled = r == 1 && pay_store_col_int64(st, 0) > 0;
    o->settled_net = r == 1 ? pay_store_col_int64(st, 1) : 0;
    pay_store_done(st);
    return r < 0 ? err->code : PAY_ERR_OK;
}

static enum pay_err file_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct file_op *o = ctx;
    enum pay_err rc = settled_tx(tx, o, err);
    if (rc != PAY_ERR_OK || !o->settled)
        return rc;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT acquirer, trace, mti, original_trace, rrn, issuer, amount_minor,"
        " interchange_minor, acq_fee_minor, iss_fee_minor FROM switch_msgs WHERE settle_date = $1"
        " AND state = 'ANSWERED' AND response_code = '00' AND mti IN ('0220', '0200') AND"
        " (acquirer = $2 OR issuer = $2) ORDER BY acquirer, trace",
        "tt", o->date, o->member);
    if (!st)
        return err->code;
    int r, w = pay_buf_printf(o->b, "H|1|%s|%s|%s|%s\n", o->sw->opt.code, o->member, o->date,
                              PAY_SWITCH_CURRENCY);
    while (w == 0 && (r = pay_store_step(st, err)) == 1) {
        if (strcmp(pay_store_col_text(st, 0), o->member) == 0)
            w = detail(o, st, true);
        if (w == 0 && strcmp(pay_store_col_text(st, 5), o->member) == 0)
            w = detail(o, st, false);
    }
    pay_store_done(st);
    if (w != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "the clearing file is too large");
    PAY_ASSERT_MSG(o->net == o->settled_net, "clearing file of %s on %s: net %lld, settled %lld",
                   o->member, o->date, (long long)o->net, (long long)o->settled_net);
    w = pay_buf_printf(o->b, "T|%lld|%lld|%lld|%lld|%lld\n", (long long)o->records,
                       (long long)o->amount, (long long)o->interchange, (long long)o->fees,
                       (long long)o->net);
    return w == 0 ? (r < 0 ? err->code : PAY_ERR_OK)
                  : pay_error_set(err, PAY_ERR_INTERNAL, "", "the clearing file is too large");
}

enum pay_err pay_switch_clearing_file(struct pay_switch *sw, const char *member, const char *date,
                                      char **out, int64_t *records, int64_t *net_minor,
                                      struct pay_error *err)
{
    struct pay_buf b;
    pay_buf_init(&b, PAY_NET_CLEARING_FILE_MAX);
    struct file_op o = {.sw = sw, .member = member, .date = date, .b = &b};
    int64_t day_ms = 0;
    *out = NULL;
    enum pay_err rc =
        pay_net_date_parse(date, &day_ms)
            ? pay_store_run_read(sw->store, file_tx, &o, err)
            : pay_error_set(err, PAY_ERR_FIELD_INVALID, "date", "date must be YYYY-MM-DD");
    if (rc == PAY_ERR_OK && !o.settled)
        rc = pay_error_set(err, PAY_ERR_SETTLEMENT_NOT_FOUND, "date",
                           "%s is not settled (yet): its clearing file comes with its settlement",
                           date);
    if (rc == PAY_ERR_OK && !(*out = strdup(pay_buf_str(&b))))
        rc = pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    *records = o.records;
    *net_minor = o.net;
    pay_buf_fini(&b);
    return rc;
}

enum pay_err pay_switch_clearing_file_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_switch *sw = pay_http_req_ctx(req);
    struct pay_switch_member m;
    json_t *body = NULL;
    if (!pay_switch_api_begin(req, &m, &body))
        return PAY_ERR_OK;
    const char *date = pay_http_req_param(req, "date");
    char *file = NULL, hash[PAY_SHA256_HEX_LEN];
    int64_t records = 0, net = 0;
    enum pay_err rc = pay_switch_clearing_file(sw, m.code, date, &file, &records, &net, err);
    if (rc == PAY_ERR_OK) {
        pay_sha256_hex(hash, file, strlen(file));
        pay_net_reply(req, 200,
                      json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "de15", date, "member",
                                m.code, "de100", sw->opt.code, "de49", PAY_SWITCH_CURRENCY,
                                "records", (json_int_t)records, "netMinor", (json_int_t)net,
                                "sha256", hash, "file", file));
    } else {
        pay_net_fail(req, err);
    }
    free(file);
    json_decref(body);
    pay_switch_member_fini(&m);
    return PAY_ERR_OK;
}
