/* crash_check DB ACKS MERCHANT: after the platform was killed with SIGKILL under load, every
 * payment it acknowledged (a line "out_trade_no trade_id body" that bench/e2e_driver --acks
 * wrote on a verified 201) must be in the database exactly as answered: the trade paid, its
 * ledger transfer there, and its Idempotency-Key record holding the answer a retry would get
 * (the request's hash, 201, this trade). And no command may be half there: every trade of the
 * merchant has its stored answer and every stored 201 its trade (the trade, its payment and
 * the answer commit together or not at all). Prints the problems and a summary; exit 0 when
 * there are none, 1 otherwise, 2 on bad usage. */
#include "crypto/crypto.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES 2048

struct ack {
    const char *merchant, *otn, *trade_id, *body;
    char problem[256];
};

static int64_t count(struct pay_store_tx *tx, const char *sql, const char *types, const char *a,
                     const char *b, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(tx, err, sql, types, a, b);
    if (!st)
        return -1;
    int64_t n = pay_store_step(st, err) == 1 ? pay_store_col_int64(st, 0) : -1;
    pay_store_done(st);
    return n;
}

/* The trade: exactly one with this out_trade_no, the acknowledged id, paid, its transfer. */
static void check_trade(struct pay_store_tx *tx, struct ack *a, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT id, state FROM pf_trades WHERE merchant_id = $1 AND out_trade_no = $2",
        "tt", a->merchant, a->otn);
    int rows = 0;
    while (st && pay_store_step(st, err) == 1) {
        rows++;
        if (strcmp(pay_store_col_text(st, 0), a->trade_id) != 0 ||
            strcmp(pay_store_col_text(st, 1), "TRADE_SUCCESS") != 0)
            snprintf(a->problem, sizeof a->problem, "trade is %s %s", pay_store_col_text(st, 0),
                     pay_store_col_text(st, 1));
    }
    pay_store_done(st);
    if (rows != 1)
        snprintf(a->problem, sizeof a->problem, "%d trades", rows);
    char xfer[96];
    snprintf(xfer, sizeof xfer, "%s.pay", a->trade_id);
    if (!a->problem[0] &&
        count(tx, "SELECT count(*) FROM ledger_transfers WHERE id = $1", "t", xfer, NULL, err) != 1)
        snprintf(a->problem, sizeof a->problem, "no transfer %s", xfer);
}

/* Its Idempotency-Key record: done, this request's hash, 201 and this trade in the body. */
static void check_answer(struct pay_store_tx *tx, struct ack *a, struct pay_error *err)
{
    char material[LINE_MAX_BYTES + 32], hash[PAY_SHA256_HEX_LEN], want[128];
    int n = snprintf(material, sizeof material, "POST /v1/trades\n%s", a->body);
    pay_sha256_hex(hash, material, (size_t)n);
    snprintf(want, sizeof want, "\"trade_id\":\"%s\"", a->trade_id);
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT status, request_hash, response_status, response_body"
                        " FROM pf_idempotency WHERE merchant_id = $1 AND key = $2",
                        "tt", a->merchant, a->otn);
    int rc = st ? pay_store_step(st, err) : -1;
    if (rc != 1)
        snprintf(a->problem, sizeof a->problem, "no Idempotency-Key record");
    else if (strcmp(pay_store_col_text(st, 0), "done") != 0 ||
             strcmp(pay_store_col_text(st, 1), hash) != 0 || pay_store_col_int64(st, 2) != 201 ||
             strstr(pay_store_col_text(st, 3), want) == NULL ||
             strstr(pay_store_col_text(st, 3), "\"state\":\"TRADE_SUCCESS\"") == NULL)
        snprintf(a->problem, sizeof a->problem, "record %s %lld does not hold the answer",
                 pay_store_col_text(st, 0), (long long)pay_store_col_int64(st, 2));
    pay_store_done(st);
}

static enum pay_err check_one(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct ack *a = ctx;
    a->problem[0] = '\0';
    check_trade(tx, a, err);
    if (!a->problem[0])
        check_answer(tx, a, err);
    return PAY_ERR_OK;
}

struct halves {
    const char *merchant;
    int64_t trades_without_answer, answers_without_trade;
};

static enum pay_err check_halves(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct halves *h = ctx;
    h->trades_without_answer = count(
        tx,
        "SELECT count(*) FROM pf_trades t WHERE t.merchant_id = $1 AND NOT EXISTS (SELECT 1 FROM"
        " pf_idempotency i WHERE i.merchant_id = t.merchant_id AND i.key = t.out_trade_no"
        " AND i.status = 'done')",
        "t", h->merchant, NULL, err);
    h->answers_without_trade =
        count(tx,
              "SELECT count(*) FROM pf_idempotency i WHERE i.merchant_id = $1 AND"
              " i.response_status = 201 AND NOT EXISTS (SELECT 1 FROM pf_trades t WHERE"
              " t.merchant_id = i.merchant_id AND t.out_trade_no = i.key)",
              "t", h->merchant, NULL, err);
    return h->trades_without_answer < 0 || h->answers_without_trade < 0 ? PAY_ERR_INTERNAL
                                                                        : PAY_ERR_OK;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: crash_check DB ACKS MERCHANT\n");
        return 2;
    }
    struct pay_store *s = NULL;
    struct pay_error err = {0};
    FILE *f = fopen(argv[2], "r");
    if (!f || pay_store_open(argv[1], NULL, NULL, &s, &err) != PAY_ERR_OK) {
        fprintf(stderr, "crash_check: cannot open %s or %s: %s\n", argv[1], argv[2], err.detail);
        return 2;
    }
    char line[LINE_MAX_BYTES];
    long acked = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        if (!sp2) {
            fprintf(stderr, "crash_check: bad line %.80s\n", line);
            bad++;
            continue;
        }
        *sp1 = *sp2 = '\0';
        struct ack a = {argv[3], line, sp1 + 1, sp2 + 1, ""};
        acked++;
        if (pay_store_run_read(s, check_one, &a, &err) != PAY_ERR_OK)
            snprintf(a.problem, sizeof a.problem, "read failed: %s", err.detail);
        if (a.problem[0]) {
            printf("acknowledged %s (%s): %s\n", a.otn, a.trade_id, a.problem);
            bad++;
        }
    }
    fclose(f);
    struct halves h = {argv[3], 0, 0};
    if (pay_store_run_read(s, check_halves, &h, &err) != PAY_ERR_OK)
        bad++;
    pay_store_close(s);
    printf("crash check: %ld acknowledged, %ld wrong; %lld trades without their stored answer,"
           " %lld stored answers without their trade\n",
           acked, bad, (long long)h.trades_without_answer, (long long)h.answers_without_trade);
    return bad == 0 && h.trades_without_answer == 0 && h.answers_without_trade == 0 ? 0 : 1;
}
