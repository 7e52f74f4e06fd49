/* The bank's side of the card network's daily clearing (docs/switch.md, "Clearing files"): the
 * clearing file of a settled business day is downloaded from the switch (signed GET
 * /net/v1/clearing/{date}, the answer checked with the switch's certificate), parsed and checked
 * (its header names us, the day and the switch; every line's net, the trailer's count and sums),
 * reconciled line by line against our own records (what we acquired: bank_net_acquired; what we
 * issued: bank_net_issued), and booked in one transaction: the day's acquired amount from the
 * interbank receivable, the issued amount from the interbank payable, the interchange and the
 * network's fees, all against our settlement account at the switch (net:settlement), whose
 * movement is then the net position the switch settled. Once per day: a second import of the
 * same file changes nothing; another file for a day booked is refused. */
#include "bank/bank.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/money.h"
#include "crypto/crypto.h"
#include "http/codec.h"
#include "http/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_FIELDS 13 /* a detail line has 12; one more marks a line with too many */

struct rec {
    char role; /* 'A' acquired, 'I' issued */
    char mti[5], trace[PAY_NET_TRACE_LEN + 1], orig[PAY_NET_TRACE_LEN + 1];
    char acq[PAY_NET_CODE_MAX + 1], iss[PAY_NET_CODE_MAX + 1];
    int64_t amount, interchange, fee, net;
};

/* A parsed file; recs is heap (free). */
struct cfile {
    const char *date;
    struct rec *recs;
    size_t n, cap;
    int64_t acquired, issued, interchange, fees, net; /* what it does to our position */
    char sha256[PAY_SHA256_HEX_LEN];
};

/* Splits line (modified) at '|' into at most LINE_FIELDS fields; their number. */
static size_t split(char *line, char *f[LINE_FIELDS])
{
    size_t n = 0;
    for (char *p = line; n < LINE_FIELDS; n++) {
        f[n] = p;
        char *bar = strchr(p, '|');
        if (!bar)
            return n + 1;
        *bar = '\0';
        p = bar + 1;
    }
    return n + 1; /* more fields than any line has: refused by the caller */
}

static bool int_of(const char *s, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!s[0] || *end || errno || v < -PAY_AMOUNT_MAX_MINOR || v > PAY_AMOUNT_MAX_MINOR)
        return false;
    *out = v;
    return true;
}

/* One D line into r, its net checked against the amounts (docs/switch.md). */
static bool parse_detail(const struct pay_bank *b, char **f, size_t n, struct rec *r)
{
    memset(r, 0, sizeof *r);
    if (n != 12 || strlen(f[1]) != 1 || (f[1][0] != 'A' && f[1][0] != 'I') ||
        (strcmp(f[2], PAY_NET_MTI_CAPTURE) != 0 && strcmp(f[2], PAY_NET_MTI_REFUND) != 0) ||
        !pay_net_trace_valid(f[3]) || !pay_net_trace_valid(f[4]) || !pay_net_code_valid(f[6]) ||
        !pay_net_code_valid(f[7]) || !int_of(f[8], &r->amount) || !int_of(f[9], &r->interchange) ||
        !int_of(f[10], &r->fee) || !int_of(f[11], &r->net) || r->amount <= 0 ||
        r->interchange < 0 || r->fee < 0 || r->interchange > r->amount || r->fee > r->amount)
        return false;
    r->role = f[1][0];
    pay_str_copy(r->mti, sizeof r->mti, f[2]);
    pay_str_copy(r->trace, sizeof r->trace, f[3]);
    pay_str_copy(r->orig, sizeof r->orig, f[4]);
    pay_str_copy(r->acq, sizeof r->acq, f[6]);
    pay_str_copy(r->iss, sizeof r->iss, f[7]);
    bool refund = strcmp(r->mti, PAY_NET_MTI_REFUND) == 0, acquired = r->role == 'A';
    if (strcmp(acquired ? r->acq : r->iss, b->opt.code) != 0 ||
        (refund && (r->interchange || r->fee)))
        return false;
    int64_t net = pay_net_clearing_net(acquired, refund, r->amount, r->interchange, r->fee);
    return net == r->net;
}

/* Adds r to the file's sums and what it does to our position. */
static void add_rec(struct cfile *c, const struct rec *r, int64_t sums[3])
{
    bool refund = strcmp(r->mti, PAY_NET_MTI_REFUND) == 0;
    int64_t signed_amount = r->amount, ic = r->interchange;
    if (refund)
        PAY_ASSERT(pay_money_sub(0, r->amount, &signed_amount) == PAY_ERR_OK);
    if (r->role == 'A')
        PAY_ASSERT(pay_money_sub(0, ic, &ic) == PAY_ERR_OK);
    int64_t *side = r->role == 'A' ? &c->acquired : &c->issued;
    PAY_ASSERT(pay_money_add(*side, signed_amount, side) == PAY_ERR_OK);
    PAY_ASSERT(pay_money_add(c->interchange, ic, &c->interchange) == PAY_ERR_OK);
    PAY_ASSERT(pay_money_add(c->fees, r->fee, &c->fees) == PAY_ERR_OK);
    PAY_ASSERT(pay_money_add(c->net, r->net, &c->net) == PAY_ERR_OK);
    PAY_ASSERT(pay_money_add(sums[0], r->amount, &sums[0]) == PAY_ERR_OK);
    PAY_ASSERT(pay_money_add(sums[1], r->interchange, &sums[1]) == PAY_ERR_OK);
    PAY_ASSERT(pay_money_add(sums[2], r->fee, &sums[2]) == PAY_ERR_OK);
}

static enum pay_err bad_file(struct pay_error *err, size_t line, const char *why)
{
    return pay_error_set(err, PAY_ERR_FIELD_INVALID, "file", "clearing file line %zu: %s", line,
                         why);
}

/* The trailer: T|count|sum of amounts|sum of interchange|sum of fees|net. */
static enum pay_err check_trailer(struct cfile *c, char **f, size_t n, const int64_t sums[3],
                                  size_t line, struct pay_error *err)
{
    int64_t v[5];
    for (size_t i = 0; n == 6 && i < 5; i++)
        if (!int_of(f[i + 1], &v[i]))
            return bad_file(err, line, "a trailer field is not a number");
    if (n != 6 || v[0] != (int64_t)c->n || v[1] != sums[0] || v[2] != sums[1] || v[3] != sums[2] ||
        v[4] != c->net)
        return bad_file(err, line, "the trailer's count or sums are not the lines'");
    return PAY_ERR_OK;
}

/* Parses text (modified) into c: header, details, trailer, nothing after it. */
static enum pay_err parse_file(const struct pay_bank *b, char *text, struct cfile *c,
                               struct pay_error *err)
{
    int64_t sums[3] = {0, 0, 0};
    size_t line = 0;
    bool trailer = false;
    for (char *p = text, *nl; *p; p = nl + 1) {
        if (trailer || !(nl = strchr(p, '\n')))
            return bad_file(err, line + 1, trailer ? "lines after the trailer" : "no newline");
        *nl = '\0';
        char *f[LINE_FIELDS];
        size_t n = split(p, f);
        line++;
        if (line == 1 && (n != 6 || strcmp(f[0], "H") != 0 || strcmp(f[1], "1") != 0 ||
                          strcmp(f[2], b->net.switch_code) != 0 || strcmp(f[3], b->opt.code) != 0 ||
                          strcmp(f[4], c->date) != 0 || strcmp(f[5], PAY_BANK_CURRENCY) != 0))
            return bad_file(err, line, "the header is not of this switch, member, day");
        if (line == 1)
            continue;
        if (strcmp(f[0], "T") == 0) {
            enum pay_err rc = check_trailer(c, f, n, sums, line, err);
            if (rc != PAY_ERR_OK)
                return rc;
            trailer = true;
            continue;
        }
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 64;
            struct rec *r = realloc(c->recs, cap * sizeof *r);
            if (!r)
                return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
            c->recs = r;
            c->cap = cap;
        }
        if (strcmp(f[0], "D") != 0 || !parse_detail(b, f, n, &c->recs[c->n]))
            return bad_file(err, line, "not a detail line of ours, or its net is wrong");
        add_rec(c, &c->recs[c->n++], sums);
    }
    return trailer ? PAY_ERR_OK : bad_file(err, line, "no trailer");
}

/* --- reconciling and booking ---------------------------------------------------------------- */

/* r against our own record of it: the capture or refund we sent (acquired) or applied
 * (issued), approved, for the same amount (and original). */
static enum pay_err reconcile(struct pay_store_tx *tx, const struct rec *r, size_t i,
                              struct pay_error *err)
{
    struct pay_store_stmt *st =
        r->role == 'A'
            ? pay_store_query(tx, err,
                              "SELECT amount_minor, original_trace, response_code, state FROM"
                              " bank_net_acquired WHERE trace = $1 AND mti = $2",
                              "tt", r->trace, r->mti)
            : pay_store_query(tx, err,
                              "SELECT amount_minor, original_trace, response_code, 'DONE' FROM"
                              " bank_net_issued WHERE acquirer = $1 AND trace = $2 AND mti = $3",
                              "ttt", r->acq, r->trace, r->mti);
    if (!st)
        return err->code;
    int q = pay_store_step(st, err);
    bool same = q == 1 && pay_store_col_int64(st, 0) == r->amount &&
                strcmp(pay_store_col_text(st, 1), r->orig) == 0 &&
                strcmp(pay_store_col_text(st, 2), "00") == 0 &&
                strcmp(pay_store_col_text(st, 3), "DONE") == 0;
    pay_store_done(st);
    if (q < 0)
        return err->code;
    if (!same)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "file",
                             "clearing file record %zu (%c %s %s): %s", i + 1, r->role, r->mti,
                             r->trace, q == 1 ? "our record of it differs" : "not in our records");
    return PAY_ERR_OK;
}

struct book_op {
    struct pay_bank *b;
    struct cfile *c;
    bool booked; /* false: the same file was booked before */
};

/* amount (either sign) between our settlement account and account: positive moves into the
 * settlement account (debit it), negative out of it. */
static enum pay_err book(struct book_op *o, struct pay_store_tx *tx, const char *kind,
                         const char *account, int64_t amount, struct pay_error *err)
{
    if (amount == 0)
        return PAY_ERR_OK;
    char id[PAY_LEDGER_ID_MAX + 1];
    int64_t abs_amount = amount;
    if (amount < 0)
        PAY_ASSERT(pay_money_sub(0, amount, &abs_amount) == PAY_ERR_OK);
    snprintf(id, sizeof id, "nset:%s:%s", o->c->date, kind);
    const char *settle = o->b->net.settlement;
    return pay_bank_transfer(o->b, tx, id, amount > 0 ? settle : account,
                             amount > 0 ? account : settle, abs_amount,
                             PAY_BANK_XFER_NET_SETTLEMENT, o->c->date, err);
}

static enum pay_err book_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct book_op *o = ctx;
    struct cfile *c = o->c;
    o->booked = false;
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT file_sha256 FROM bank_net_clearing WHERE settle_date = $1", "t", c->date);
    if (!st)
        return err->code;
    int q = pay_store_step(st, err);
    bool same = q == 1 && strcmp(pay_store_col_text(st, 0), c->sha256) == 0;
    pay_store_done(st);
    if (q != 0)
        return q < 0  ? err->code
               : same ? PAY_ERR_OK
                      : pay_error_set(err, PAY_ERR_DUPLICATE, "date",
                                      "%s was booked from another clearing file", c->date);
    enum pay_err rc = PAY_ERR_OK;
    for (size_t i = 0; rc == PAY_ERR_OK && i < c->n; i++)
        rc = reconcile(tx, &c->recs[i], i, err);
    int64_t issued = 0, fees = 0;
    PAY_ASSERT(pay_money_sub(0, c->issued, &issued) == PAY_ERR_OK);
    PAY_ASSERT(pay_money_sub(0, c->fees, &fees) == PAY_ERR_OK);
    struct pay_bank_net *n = &o->b->net;
    if (rc == PAY_ERR_OK) /* the network pays what we acquired: out of the receivable */
        rc = book(o, tx, "acquired", n->receivable, c->acquired, err);
    if (rc == PAY_ERR_OK) /* we pay what we issued: out of the payable */
        rc = book(o, tx, "issued", n->payable, issued, err);
    if (rc == PAY_ERR_OK)
        rc = book(o, tx, "interchange", n->fees, c->interchange, err);
    if (rc == PAY_ERR_OK)
        rc = book(o, tx, "fees", n->fees, fees, err);
    if (rc == PAY_ERR_OK)
        rc = pay_store_exec(tx, err,
                            "INSERT INTO bank_net_clearing (settle_date, file_sha256, records,"
                            " acquired_minor, issued_minor, interchange_minor, fees_minor,"
                            " net_minor, imported_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                            "ttiiiiiii", c->date, c->sha256, (int64_t)c->n, c->acquired, c->issued,
                            c->interchange, c->fees, c->net, pay_clock_now_ms());
    o->booked = rc == PAY_ERR_OK;
    return rc;
}

/* The file of date from the switch: its text (heap, caller frees), checked against the
 * answer's sha256, record count and net. */
static enum pay_err download(struct pay_bank *b, const char *date, char **text,
                             struct pay_error *err)
{
    char path[64];
    long status = 0;
    json_t *a = NULL;
    *text = NULL;
    snprintf(path, sizeof path, "/net/v1/clearing/%s", date);
    enum pay_err rc = pay_bank_net_call(b, path, NULL, &status, &a, err);
    const char *file = json_string_value(json_object_get(a, "file"));
    const char *sha = json_string_value(json_object_get(a, "sha256"));
    char want[PAY_SHA256_HEX_LEN];
    if (file)
        pay_sha256_hex(want, file, strlen(file));
    if (rc == PAY_ERR_OK && status != 200) {
        const char *code = json_string_value(json_object_get(json_object_get(a, "error"), "code"));
        rc = code && strcmp(code, "SETTLEMENT_NOT_FOUND") == 0
                 ? pay_error_set(err, PAY_ERR_SETTLEMENT_NOT_FOUND, "date",
                                 "the switch has not settled %s yet", date)
                 : pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "", "the switch answered %ld",
                                 status);
    } else if (rc == PAY_ERR_OK && (!file || !sha || strcmp(sha, want) != 0))
        rc = pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "", "the switch's answer holds no file");
    if (rc == PAY_ERR_OK && !(*text = strdup(file)))
        rc = pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    json_decref(a);
    return rc;
}

enum pay_err pay_bank_net_clearing_import(struct pay_bank *b, const char *date,
                                          struct pay_bank_net_import *out, struct pay_error *err)
{
    int64_t day_ms = 0;
    memset(out, 0, sizeof *out);
    if (!b->net.enabled)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "", "not a card network member");
    if (!pay_net_date_parse(date, &day_ms))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "date", "date must be YYYY-MM-DD");
    char *text = NULL;
    struct cfile c = {.date = date};
    enum pay_err rc = download(b, date, &text, err);
    if (rc == PAY_ERR_OK) {
        pay_sha256_hex(c.sha256, text, strlen(text));
        rc = parse_file(b, text, &c, err);
    }
    struct book_op o = {.b = b, .c = &c};
    if (rc == PAY_ERR_OK)
        rc = pay_committer_submit(b->committer, book_apply, &o, err);
    if (rc == PAY_ERR_OK) {
        out->booked = o.booked;
        out->records = (int64_t)c.n;
        out->acquired_minor = c.acquired;
        out->issued_minor = c.issued;
        out->interchange_minor = c.interchange;
        out->fees_minor = c.fees;
        out->net_minor = c.net;
        pay_str_copy(out->sha256, sizeof out->sha256, c.sha256);
        PAY_INFO("bank.net_clearing", "date=%s records=%zu net=%lld booked=%d", date, c.n,
                 (long long)c.net, o.booked);
    } else {
        PAY_ERROR("bank.net_clearing_refused", "date=%s code=%s detail=\"%s\"", date,
                  pay_err_name(rc), err->detail);
    }
    free(c.recs);
    free(text);
    return rc;
}

/* POST /admin/net/clearing {"date":"YYYY-MM-DD"} (the admin page's access rule; a JSON body, so
 * no other site's form can send it): imports that day's clearing file. */
static enum pay_err import_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    if (!pay_bank_admin_allowed(req, b))
        return pay_error_set(err, PAY_ERR_FORBIDDEN, "", "the admin API is for loopback clients");
    if (!pay_http_req_is_json(req))
        return pay_error_set(err, PAY_ERR_UNSUPPORTED_MEDIA_TYPE, "Content-Type",
                             "send the body as application/json");
    size_t len = 0;
    const char *raw = pay_http_req_body(req, &len);
    json_t *in = NULL;
    enum pay_err rc = pay_json_decode(raw, len, &in, err);
    const char *date = json_string_value(json_object_get(in, "date"));
    struct pay_bank_net_import r;
    if (rc == PAY_ERR_OK && !date)
        rc = pay_error_set(err, PAY_ERR_FIELD_MISSING, "date", NULL);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_net_clearing_import(b, date, &r, err);
    if (rc == PAY_ERR_OK)
        pay_http_respond_json(req, 200,
                              json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "date",
                                        date, "booked", r.booked, "records", (json_int_t)r.records,
                                        "acquiredMinor", (json_int_t)r.acquired_minor,
                                        "issuedMinor", (json_int_t)r.issued_minor,
                                        "interchangeMinor", (json_int_t)r.interchange_minor,
                                        "feesMinor", (json_int_t)r.fees_minor, "netMinor",
                                        (json_int_t)r.net_minor, "sha256", r.sha256));
    json_decref(in);
    return rc;
}

static struct pay_http_route routes[] = {
    {"POST", "/admin/net/clearing", PAY_HTTP_API, PAY_HTTP_BODY_RAW, import_handler, NULL},
};

const struct pay_http_route *pay_bank_net_clearing_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
