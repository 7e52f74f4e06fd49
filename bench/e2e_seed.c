/* bench/e2e_seed: fills a (stopped) platform's data folder for bench/e2e, fast enough for a
 * million consumers: consumers with a funded wallet and an agreement with one merchant, and
 * optionally trades already paid from those wallets, in batched transactions (thousands of
 * rows per commit) instead of one HTTP call or one commit each.
 *
 * The money goes through the platform's own code (its chart of accounts and the ledger; the
 * trades are paid by pay_platform_trade_pay_tx, the same booking as an agreement payment),
 * so `paygate ledger verify` stays clean. Rows without money (consumer, agreement, the trade
 * before payment, its Idempotency-Key record) are inserted as the platform's code writes
 * them; every consumer shares one Argon2id hash (hashing a million passwords would take a day).
 *
 * usage: e2e_seed --data-dir D --merchant ID --consumers N [--trades M] [--credit 1000.00]
 *                 [--agreements FILE] [--batch 5000] [--database URL]
 * --database: the platform's database when not the data folder's SQLite file (a
 * postgresql:// URL, docs/store.md).
 * The merchant must exist (`paygate platform merchant add`). FILE receives the agreement
 * numbers, one a line, for bench/e2e_driver. */
#include "platform/platform.h"

#include "core/clock.h"
#include "crypto/ids.h"
#include "core/money.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "crypto/password.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEED_PASSWORD     "bench-pass-1"
#define SEED_PAY_PASSWORD "123456"
#define SEED_CURRENCY     "CNY"
#define TRADE_AMOUNT      100 /* minor units: 1.00 CNY, as bench/e2e_driver pays */

struct ids {
    char consumer[PAY_ID_MAX];
    char agreement[PAY_ID_MAX];
    char credit[PAY_ID_MAX];
};

struct seed {
    struct pay_platform *p;
    const char *merchant;
    size_t consumers, trades, batch;
    int64_t credit_minor;
    struct ids *ids; /* one per consumer, made before the transactions (a retry reuses them) */
    char hash[PAY_PWHASH_STR_LEN], pay_hash[PAY_PWHASH_STR_LEN];
    size_t from, to; /* the rows of the current batch */
    char (*trade_ids)[PAY_ID_MAX];
    int64_t now_ms;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The sandbox credit of the platform (sandbox -> wallet), as `paygate platform wallet credit`
 * books it. */
static enum pay_err credit(struct seed *s, struct pay_store_tx *tx, const struct ids *id,
                           struct pay_error *err)
{
    struct pay_ledger_transfer t = {.amount_minor = s->credit_minor,
                                    .code = PAY_PF_XFER_SANDBOX_CREDIT};
    enum pay_err e;
    if ((e = pay_platform_account_ensure(s->p, tx, PAY_PF_ACCT_SANDBOX, "", SEED_CURRENCY,
                                         t.debit_account_id, err)) != PAY_ERR_OK ||
        (e = pay_platform_account_ensure(s->p, tx, PAY_PF_ACCT_WALLET, id->consumer, SEED_CURRENCY,
                                         t.credit_account_id, err)) != PAY_ERR_OK)
        return e;
    snprintf(t.id, sizeof t.id, "%s", id->credit);
    snprintf(t.currency, sizeof t.currency, "%s", SEED_CURRENCY);
    snprintf(t.user_data, sizeof t.user_data, "sandbox-credit");
    enum pay_ledger_result r;
    if ((e = pay_ledger_tx_transfer(s->p->ledger, tx, &t, &r, err)) != PAY_ERR_OK)
        return e;
    return pay_platform_ledger_error(r, err);
}

static enum pay_err consumers_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct seed *s = ctx;
    for (size_t i = s->from; i < s->to; i++) {
        const struct ids *id = &s->ids[i];
        char login[64];
        snprintf(login, sizeof login, "b%zu@e2e.test", i);
        enum pay_err e =
            pay_store_exec(tx, err,
                           "INSERT INTO pf_consumers (id, login, password_hash,"
                           " pay_password_hash, created_ms, totp_sealed)"
                           " VALUES ($1,$2,$3,$4,$5,1)",
                           "tttti", id->consumer, login, s->hash, s->pay_hash, s->now_ms);
        if (e == PAY_ERR_OK)
            e = pay_store_exec(tx, err,
                               "INSERT INTO pf_agreements (id, consumer_id, merchant_id, status,"
                               " created_ms) VALUES ($1,$2,$3,'active',$4)",
                               "ttti", id->agreement, id->consumer, s->merchant, s->now_ms);
        if (e == PAY_ERR_OK)
            e = credit(s, tx, id, err);
        if (e != PAY_ERR_OK)
            return e;
    }
    return PAY_ERR_OK;
}

/* The Idempotency-Key record an API create leaves behind (key = out_trade_no, as the SDK
 * sends it), with the paid trade as its stored answer. */
static enum pay_err idem_record(struct seed *s, struct pay_store_tx *tx, const char *otn,
                                const char *trade_id, struct pay_error *err)
{
    struct pay_platform_trade t;
    enum pay_err e = pay_platform_trade_load(tx, s->merchant, trade_id, NULL, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    json_t *o = pay_platform_trade_json(&t);
    char *answer = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    char request[256], hash[PAY_SHA256_HEX_LEN];
    int n = snprintf(request, sizeof request,
                     "POST /v1/trades\n{\"out_trade_no\":\"%s\",\"amount\":{\"value\":\"1.00\","
                     "\"currency\":\"CNY\"},\"subject\":\"seed\",\"product\":\"agreement\"}",
                     otn);
    pay_sha256_hex(hash, request, (size_t)n);
    e = answer ? pay_store_exec(tx, err,
                                "INSERT INTO pf_idempotency (merchant_id, key, request_hash,"
                                " status, response_status, response_body, created_ms)"
                                " VALUES ($1,$2,$3,'done',201,$4,$5)",
                                "tttti", s->merchant, otn, hash, answer, s->now_ms)
               : pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    free(answer);
    return e;
}

/* Trade i: created as the API creates it, then paid from consumer i's wallet by the
 * platform's payment code. */
static enum pay_err one_trade(struct seed *s, struct pay_store_tx *tx, size_t i,
                              struct pay_error *err)
{
    const struct ids *id = &s->ids[i % s->consumers];
    const char *trade_id = s->trade_ids[i - s->from];
    char otn[48];
    snprintf(otn, sizeof otn, "seed-%zu", i);
    enum pay_err e = pay_store_exec(
        tx, err,
        "INSERT INTO pf_trades (id, merchant_id, out_trade_no, amount_minor, currency, subject,"
        " product, state, created_ms, expire_ms) VALUES "
        "($1,$2,$3,$4,$5,'seed','agreement',$6,$7,$8)",
        "tttittii", trade_id, s->merchant, otn, (int64_t)TRADE_AMOUNT, SEED_CURRENCY,
        PAY_TRADE_WAIT_BUYER_PAY, s->now_ms, s->now_ms + 15 * 60 * 1000);
    struct pay_platform_payment pm = {
        "agreement", PAY_PF_ACCT_WALLET, id->consumer, id->agreement, false, NULL, NULL};
    if (e == PAY_ERR_OK)
        e = pay_platform_trade_pay_tx(s->p, tx, trade_id, &pm, err);
    if (e == PAY_ERR_OK)
        e = idem_record(s, tx, otn, trade_id, err);
    return e;
}

static enum pay_err trades_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct seed *s = ctx;
    for (size_t i = s->from; i < s->to; i++) {
        enum pay_err e = one_trade(s, tx, i, err);
        if (e != PAY_ERR_OK)
            return e;
    }
    return PAY_ERR_OK;
}

/* Runs body over rows [0, total) in batches of s->batch, printing progress; 0 or -1. */
static int batched(struct seed *s, const char *what, size_t total, pay_store_tx_fn body)
{
    double t0 = now_s();
    for (s->from = 0; s->from < total; s->from = s->to) {
        s->to = s->from + s->batch < total ? s->from + s->batch : total;
        s->now_ms = pay_clock_real_ms();
        for (size_t i = s->from; s->trade_ids && i < s->to; i++)
            if (pay_id_new("tr", s->trade_ids[i - s->from]) != PAY_ERR_OK)
                return -1;
        struct pay_error err = {0};
        enum pay_err e = pay_store_run_tx(s->p->store, body, s, &err);
        if (e != PAY_ERR_OK) {
            fprintf(stderr, "e2e_seed: %s %zu..%zu: %s %s: %s\n", what, s->from, s->to,
                    pay_err_name(e), err.field, err.detail);
            return -1;
        }
        if (s->to % (s->batch * 20) == 0 || s->to == total)
            fprintf(stderr, "e2e_seed: %zu/%zu %s (%.1f s)\n", s->to, total, what, now_s() - t0);
    }
    printf("seeded %zu %s in %.1f s\n", total, what, now_s() - t0);
    return 0;
}

static int make_ids(struct seed *s)
{
    s->ids = calloc(s->consumers, sizeof *s->ids);
    if (!s->ids)
        return -1;
    for (size_t i = 0; i < s->consumers; i++)
        if (pay_id_new("cu", s->ids[i].consumer) != PAY_ERR_OK ||
            pay_id_new("ag", s->ids[i].agreement) != PAY_ERR_OK ||
            pay_id_new("sbx", s->ids[i].credit) != PAY_ERR_OK)
            return -1;
    return 0;
}

static int write_agreements(const struct seed *s, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (size_t i = 0; i < s->consumers; i++)
        fprintf(f, "%s\n", s->ids[i].agreement);
    return fclose(f) == 0 ? 0 : -1;
}

static int usage(void)
{
    fprintf(stderr, "usage: e2e_seed --data-dir D --merchant ID --consumers N [--trades M]\n"
                    "                [--credit 1000.00] [--agreements FILE] [--batch 5000]\n"
                    "                [--database URL]\n");
    return 2;
}

static size_t count_arg(const char *v)
{
    char *end = NULL;
    unsigned long long n = strtoull(v, &end, 10);
    return *v && !*end ? (size_t)n : 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"data-dir", required_argument, NULL, 'd'},
                                         {"merchant", required_argument, NULL, 'm'},
                                         {"consumers", required_argument, NULL, 'c'},
                                         {"trades", required_argument, NULL, 't'},
                                         {"credit", required_argument, NULL, 'a'},
                                         {"agreements", required_argument, NULL, 'o'},
                                         {"batch", required_argument, NULL, 'b'},
                                         {"database", required_argument, NULL, 'D'},
                                         {NULL, 0, NULL, 0}};
    struct seed s = {.batch = 5000, .credit_minor = 100000};
    const char *dir = NULL, *out = NULL, *amount = "1000.00", *database = NULL;
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'm')
            s.merchant = optarg;
        else if (c == 'c')
            s.consumers = count_arg(optarg);
        else if (c == 't')
            s.trades = count_arg(optarg);
        else if (c == 'a')
            amount = optarg;
        else if (c == 'o')
            out = optarg;
        else if (c == 'b')
            s.batch = count_arg(optarg);
        else if (c == 'D')
            database = optarg;
        else
            return usage();
    }
    struct pay_error err = {0};
    if (!dir || !s.merchant || s.consumers == 0 || s.batch == 0 || optind != argc ||
        pay_money_parse(amount, SEED_CURRENCY, &s.credit_minor, &err) != PAY_ERR_OK)
        return usage();
    if (pay_crypto_init() != 0 || make_ids(&s) != 0 ||
        pay_pwhash_hash(s.hash, SEED_PASSWORD, strlen(SEED_PASSWORD)) != 0 ||
        pay_pwhash_hash(s.pay_hash, SEED_PAY_PASSWORD, strlen(SEED_PAY_PASSWORD)) != 0) {
        fprintf(stderr, "e2e_seed: cannot prepare (memory, randomness)\n");
        return 1;
    }
    struct pay_platform_merchant m;
    enum pay_err e = pay_platform_open_offline(dir, database, &s.p, &err);
    if (e == PAY_ERR_OK && (e = pay_platform_merchant_get(s.p, s.merchant, &m, &err)) == PAY_ERR_OK)
        pay_platform_merchant_fini(&m);
    int rc = e == PAY_ERR_OK ? 0 : 1;
    if (rc)
        fprintf(stderr, "e2e_seed: %s: %s %s\n", dir, pay_err_name(e), err.detail);
    if (rc == 0)
        rc = batched(&s, "consumers", s.consumers, consumers_tx);
    s.trade_ids = rc == 0 && s.trades ? calloc(s.batch, sizeof *s.trade_ids) : NULL;
    if (rc == 0 && s.trades)
        rc = s.trade_ids ? batched(&s, "trades", s.trades, trades_tx) : -1;
    if (rc == 0 && out && write_agreements(&s, out) != 0) {
        fprintf(stderr, "e2e_seed: cannot write %s\n", out);
        rc = 1;
    }
    pay_platform_close(s.p);
    free(s.trade_ids);
    free(s.ids);
    return rc == 0 ? 0 : 1;
}
