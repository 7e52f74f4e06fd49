/* `paygate risk generate` and `paygate risk train` (docs/risk.md, "The learned score"): labelled
 * traffic for `risk simulate` — normal shoppers, card testing, account takeover ending in a
 * withdrawal, velocity bursts — from a seed, and a logistic regression fitted on such a file:
 * each attempt's features read by the platform's own code (pay_risk_features_tx) from the
 * attempts before it, a held-out part kept aside to report precision, recall and false
 * positives, the model written for a score rule. */
#include "core/buf.h"
#include "core/cli_opts.h"
#include "ledger/ledger.h"
#include "audit/audit.h"
#include "platform/platform.h"
#include "platform/risk.h"
#include "store/store.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- generate --------------------------------------------------------------------------------- */

/* splitmix64: the same seed gives the same traffic (a simulation, not a secret). */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static long uniform(uint64_t *s, long lo, long hi) /* lo..hi inclusive */
{
    return lo + (long)(next_u64(s) % (uint64_t)(hi - lo + 1));
}

struct gen_row {
    long t_s;
    char line[200];
};

struct gen {
    uint64_t seed;
    struct gen_row *rows;
    size_t n, cap;
};

static void emit(struct gen *g, long t_s, const char *label, const char *consumer,
                 const char *device, const char *ip, const char *card, long merchant,
                 long amount_cents, const char *method, bool paid)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 4096;
        struct gen_row *r = realloc(g->rows, cap * sizeof *r);
        if (!r)
            return; /* out of memory: the file is shorter, the run reports its count */
        g->rows = r;
        g->cap = cap;
    }
    struct gen_row *r = &g->rows[g->n++];
    r->t_s = t_s;
    snprintf(r->line, sizeof r->line,
             "t=%lds label=%s consumer=%s device=%s ip=%s%s%s merchant=m%ld amount=%ld.%02ld"
             " method=%s%s",
             t_s, label, consumer, device, ip, card[0] ? " card=" : "", card, merchant,
             amount_cents / 100, amount_cents % 100, method, paid ? "" : " paid=0");
}

/* A shopper: their phone and home address, a usual amount, a few payments a day; now and then
 * a new phone, a bigger buy or a declined try. Their usual amount in *base. */
static void gen_shopper(struct gen *g, long c, long days, long *base)
{
    char who[24], dev[32], ip[24];
    snprintf(who, sizeof who, "c%ld", c);
    *base = uniform(&g->seed, 2000, 40000);
    long merchant = uniform(&g->seed, 1, 20);
    for (long d = 0; d < days; d++)
        for (long k = uniform(&g->seed, 0, 3); k > 0; k--) {
            long t = d * 86400 + uniform(&g->seed, 8 * 3600, 23 * 3600);
            long amount = *base * uniform(&g->seed, 50, 150) / 100;
            bool travel = uniform(&g->seed, 1, 100) <= 3;
            if (uniform(&g->seed, 1, 100) <= 2)
                amount *= uniform(&g->seed, 3, 6);
            snprintf(dev, sizeof dev, "d%ld%s", c, travel ? "_new" : "");
            snprintf(ip, sizeof ip, "10.%ld.%ld.%d", c / 250, c % 250, travel ? 9 : 1);
            emit(g, t, "normal", who, dev, ip, "",
                 uniform(&g->seed, 0, 3) ? merchant : (c % 20) + 1, amount, "wallet",
                 uniform(&g->seed, 1, 100) > 1);
        }
}

/* Card testing: a throwaway account tries one card with many small amounts within minutes, most
 * declined by the bank. */
static void gen_card_testing(struct gen *g, long k, long days)
{
    char who[24], dev[24], ip[24], card[24];
    snprintf(who, sizeof who, "ct%ld", k);
    snprintf(dev, sizeof dev, "dct%ld", k);
    snprintf(ip, sizeof ip, "203.0.113.%ld", k % 250);
    snprintf(card, sizeof card, "card_ct%ld", k);
    long t = uniform(&g->seed, 0, days * 86400 - 3600), m = uniform(&g->seed, 1, 20);
    for (long i = uniform(&g->seed, 8, 25); i > 0; i--) {
        t += uniform(&g->seed, 5, 20);
        emit(g, t, "card_testing", who, dev, ip, card, m, uniform(&g->seed, 50, 999), "wallet",
             uniform(&g->seed, 1, 100) <= 20);
    }
}

/* Account takeover: someone else's account from a new device and address, a few payments far
 * above its usual amounts, then the balance taken out. */
static void gen_takeover(struct gen *g, long k, long victim, long base, long days)
{
    char who[24], dev[24], ip[24];
    snprintf(who, sizeof who, "c%ld", victim);
    snprintf(dev, sizeof dev, "dato%ld", k);
    snprintf(ip, sizeof ip, "198.51.100.%ld", k % 250);
    /* after the victim's first two days of history (from the start in a shorter run) */
    long t = uniform(&g->seed, days > 2 ? 2 * 86400 : 0, days * 86400 - 3600);
    for (long i = uniform(&g->seed, 1, 3); i > 0; i--) {
        t += uniform(&g->seed, 60, 600);
        emit(g, t, "account_takeover", who, dev, ip, "", uniform(&g->seed, 1, 20),
             base * uniform(&g->seed, 3, 8), "wallet", true);
    }
    emit(g, t + uniform(&g->seed, 60, 900), "account_takeover", who, dev, ip, "", 0,
         base * uniform(&g->seed, 5, 12), "withdrawal", true);
}

/* A velocity burst: a new account pays many times within ten minutes. */
static void gen_burst(struct gen *g, long k, long days)
{
    char who[24], dev[24], ip[24];
    snprintf(who, sizeof who, "vb%ld", k);
    snprintf(dev, sizeof dev, "dvb%ld", k);
    snprintf(ip, sizeof ip, "192.0.2.%ld", k % 250);
    long t = uniform(&g->seed, 0, days * 86400 - 3600), m = uniform(&g->seed, 1, 20);
    for (long i = uniform(&g->seed, 6, 15); i > 0; i--) {
        t += uniform(&g->seed, 10, 60);
        emit(g, t, "velocity_burst", who, dev, ip, "", m, uniform(&g->seed, 5000, 30000), "wallet",
             true);
    }
}

static int by_time(const void *a, const void *b)
{
    const struct gen_row *x = a, *y = b;
    return (x->t_s > y->t_s) - (x->t_s < y->t_s);
}

static int generate(long seed, long consumers, long days, const char *out_path)
{
    struct gen g = {.seed = (uint64_t)seed};
    long *base = calloc((size_t)consumers, sizeof *base);
    if (!base)
        return 1;
    for (long c = 0; c < consumers; c++)
        gen_shopper(&g, c, days, &base[c]);
    for (long k = 0; k < consumers * 3 / 100 + 1; k++)
        gen_card_testing(&g, k, days);
    for (long k = 0; k < consumers * 2 / 100 + 1; k++) {
        long victim = uniform(&g.seed, 0, consumers - 1);
        gen_takeover(&g, k, victim, base[victim], days);
    }
    for (long k = 0; k < consumers * 2 / 100 + 1; k++)
        gen_burst(&g, k, days);
    free(base);
    qsort(g.rows, g.n, sizeof *g.rows, by_time); /* the counters need them in time order */
    FILE *f = out_path ? fopen(out_path, "w") : stdout;
    if (!f) {
        fprintf(stderr, "paygate risk generate: %s: %s\n", out_path, strerror(errno));
        free(g.rows);
        return 1;
    }
    fprintf(f, "# paygate risk generate --seed %ld --consumers %ld --days %ld\n", seed, consumers,
            days);
    for (size_t i = 0; i < g.n; i++)
        fprintf(f, "%s\n", g.rows[i].line);
    int rc = (out_path ? fclose(f) : fflush(f)) == 0 ? 0 : 1;
    fprintf(stderr, "risk generate: %zu attempts\n", g.n);
    free(g.rows);
    return rc;
}

/* --- train ----------------------------------------------------------------------------------- */

struct sample {
    double x[PAY_RISK_FEATURES];
    bool fraud, held_out;
};

struct train {
    struct pay_risk risk; /* no rules: every attempt recorded as allowed */
    char *text;
    struct sample *s;
    size_t n, cap;
    long holdout_every;
    int bad_line;
    const char *why;
};

static uint64_t consumer_hash(const char *s) /* FNV-1a */
{
    uint64_t h = 1469598103934665603ULL;
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* A new sample at the end of t's (zeroed), or NULL out of memory. */
static struct sample *sample_new(struct train *t)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4096;
        struct sample *m = realloc(t->s, cap * sizeof *m);
        if (!m)
            return NULL;
        t->s = m;
        t->cap = cap;
    }
    struct sample *x = &t->s[t->n++];
    memset(x, 0, sizeof *x);
    return x;
}

/* Each attempt's features from the attempts before it, then the attempt recorded (and marked
 * paid unless paid=0), exactly as the platform would see them. */
static enum pay_err features_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct train *t = ctx;
    int no = 0;
    enum pay_err e = PAY_ERR_OK;
    for (char *s = t->text, *nl; s && e == PAY_ERR_OK; s = nl) {
        nl = strchr(s, '\n');
        if (nl)
            *nl++ = '\0';
        struct pay_risk_sim_line l;
        struct pay_risk_decision d;
        int r = pay_risk_sim_parse(s, ++no, &l, &t->why);
        if (r < 0) {
            t->bad_line = no;
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, "attempts", "line %d", no);
        }
        if (r > 0)
            continue;
        struct sample *x = sample_new(t);
        if (!x)
            return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
        x->fraud = strcmp(l.label, "normal") != 0;
        x->held_out = consumer_hash(l.a.value[PAY_RISK_CONSUMER]) % (uint64_t)t->holdout_every ==
                      0; /* by consumer: none of a held-out consumer's attempts is learnt from */
        if ((e = pay_risk_features_tx(tx, &l.a, l.a.at_ms, x->x, err)) == PAY_ERR_OK)
            e = pay_risk_decide_tx(&t->risk, tx, &l.a, &d, err);
        if (e == PAY_ERR_OK && !l.unpaid)
            e = pay_risk_paid_tx(tx, d.id, err);
    }
    return e;
}

/* Labels from the operator's reviews (docs/risk.md, "A learned score"): each decided review's
 * features as its attempt was judged, approved = legitimate, rejected = fraud. All of them are
 * learnt from (the held-out figures stay those of the attempts file). */
struct reviews {
    struct train *t;
    long approved, rejected, skipped; /* skipped: held before features were kept */
};

static enum pay_err reviews_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct reviews *r = ctx;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT status, features FROM pf_risk_reviews WHERE status IN"
                        " ('approved', 'rejected') ORDER BY decided_ms DESC, trade_id LIMIT $1",
                        "i", (int64_t)PAY_RISK_TRAIN_REVIEWS_MAX);
    if (!st)
        return err->code;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1) {
        double x[PAY_RISK_FEATURES];
        bool fraud = strcmp(pay_store_col_text(st, 0), "rejected") == 0;
        if (pay_risk_features_parse(pay_store_col_text(st, 1), x) != 0) {
            r->skipped++;
            continue;
        }
        struct sample *s = sample_new(r->t);
        if (!s) {
            pay_store_done(st);
            return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
        }
        memcpy(s->x, x, sizeof x);
        s->fraud = fraud;
        s->held_out = false;
        *(fraud ? &r->rejected : &r->approved) += 1;
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

/* The decided reviews of the platform whose data dir or database is given. */
static enum pay_err read_reviews(const char *data_dir, const char *database, struct reviews *r,
                                 struct pay_error *err)
{
    struct pay_platform *p = NULL;
    enum pay_err e = pay_platform_open_offline(data_dir ? data_dir : ".", database, &p, err);
    if (e == PAY_ERR_OK)
        e = pay_store_run_read(p->store, reviews_tx, r, err);
    pay_platform_close(p);
    return e;
}

/* Mean and standard deviation of each feature over the training part. */
static void standardise(const struct train *t, struct pay_risk_model *m)
{
    double n = 0;
    for (size_t i = 0; i < t->n; i++)
        if (!t->s[i].held_out) {
            n++;
            for (int f = 0; f < PAY_RISK_FEATURES; f++)
                m->mean[f] += t->s[i].x[f];
        }
    for (int f = 0; f < PAY_RISK_FEATURES; f++)
        m->mean[f] /= n > 0 ? n : 1;
    for (size_t i = 0; i < t->n; i++)
        for (int f = 0; f < PAY_RISK_FEATURES && !t->s[i].held_out; f++)
            m->sd[f] += (t->s[i].x[f] - m->mean[f]) * (t->s[i].x[f] - m->mean[f]);
    for (int f = 0; f < PAY_RISK_FEATURES; f++) {
        m->sd[f] = sqrt(m->sd[f] / (n > 1 ? n - 1 : 1));
        if (!(m->sd[f] > 1e-9))
            m->sd[f] = 1; /* a constant feature: its weight stays 0 */
    }
}

#define TRAIN_ROUNDS 2000
#define TRAIN_RATE   0.5
#define TRAIN_L2     1e-4

/* Batch gradient descent on the log loss with a small L2 penalty. */
static void fit(const struct train *t, struct pay_risk_model *m)
{
    double z[PAY_RISK_FEATURES];
    for (int round = 0; round < TRAIN_ROUNDS; round++) {
        double gb = 0, gw[PAY_RISK_FEATURES] = {0}, n = 0;
        for (size_t i = 0; i < t->n; i++) {
            if (t->s[i].held_out)
                continue;
            double y = m->bias;
            for (int f = 0; f < PAY_RISK_FEATURES; f++) {
                z[f] = (t->s[i].x[f] - m->mean[f]) / m->sd[f];
                y += m->w[f] * z[f];
            }
            double diff = 1.0 / (1.0 + exp(-y)) - (t->s[i].fraud ? 1.0 : 0.0);
            gb += diff;
            for (int f = 0; f < PAY_RISK_FEATURES; f++)
                gw[f] += diff * z[f];
            n++;
        }
        if (n == 0)
            return;
        m->bias -= TRAIN_RATE * gb / n;
        for (int f = 0; f < PAY_RISK_FEATURES; f++)
            m->w[f] -= TRAIN_RATE * (gw[f] / n + TRAIN_L2 * m->w[f]);
    }
}

/* Precision, recall and false-positive rate on the held-out part at a score threshold (in
 * thousandths), as text into out. */
static void evaluate(const struct train *t, const struct pay_risk_model *m, int threshold,
                     char *out, size_t size)
{
    long tp = 0, fp = 0, fn = 0, tn = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (!t->s[i].held_out)
            continue;
        bool flagged = pay_risk_model_score(m, t->s[i].x) > threshold;
        tp += flagged && t->s[i].fraud;
        fp += flagged && !t->s[i].fraud;
        fn += !flagged && t->s[i].fraud;
        tn += !flagged && !t->s[i].fraud;
    }
    snprintf(out, size,
             "held-out at %d.%03d: precision %.3f recall %.3f false-positive rate %.4f"
             " (tp %ld fp %ld fn %ld tn %ld)",
             threshold / 1000, threshold % 1000, tp + fp ? (double)tp / (double)(tp + fp) : 0.0,
             tp + fn ? (double)tp / (double)(tp + fn) : 0.0,
             fp + tn ? (double)fp / (double)(fp + tn) : 0.0, tp, fp, fn, tn);
}

static enum pay_err read_features(struct train *t, struct pay_error *err)
{
    char tmp[] = "/tmp/paygate-risk-train-XXXXXX", db[64];
    if (!mkdtemp(tmp))
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "mkdtemp: %s", strerror(errno));
    snprintf(db, sizeof db, "%s/train.db", tmp);
    const struct pay_store_component *comps[] = {&pay_ledger_schema, &pay_platform_schema,
                                                 &pay_audit_schema, NULL};
    struct pay_store_options o = {.unsafe_no_sync = true}; /* a throwaway: nothing to keep */
    struct pay_store *st = NULL;
    enum pay_err e = pay_store_open(db, &o, comps, &st, err);
    if (e == PAY_ERR_OK)
        e = pay_store_run_tx(st, features_tx, t, err);
    pay_store_close(st);
    const char *ext[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char f[sizeof db + 8];
        snprintf(f, sizeof f, "%s%s", db, ext[i]);
        unlink(f);
    }
    rmdir(tmp);
    return e;
}

static int train(const char *attempts, const char *out, long holdout_every, const char *data_dir,
                 const char *database)
{
    struct train t = {.holdout_every = holdout_every};
    struct reviews rv = {.t = &t};
    struct pay_error err = {0};
    size_t len = 0;
    if (!(t.text = pay_file_read(attempts, PAY_RISK_SIM_FILE_MAX, &len))) {
        fprintf(stderr, "paygate risk train: cannot read %s (missing, or over 64 MiB)\n", attempts);
        return 1;
    }
    char sha[PAY_SHA256_HEX_LEN];
    pay_sha256_hex(sha, t.text, len);
    enum pay_err e = pay_risk_init(&t.risk, "", &err);
    if (e == PAY_ERR_OK)
        e = read_features(&t, &err);
    size_t n_file = t.n; /* the file's attempts; the reviews' labels come after them */
    bool reviews = e == PAY_ERR_OK && (data_dir || database);
    if (reviews)
        e = read_reviews(data_dir, database, &rv, &err);
    pay_risk_fini(&t.risk);
    free(t.text);
    if (e != PAY_ERR_OK) {
        if (t.bad_line)
            fprintf(stderr, "paygate risk train: %s:%d: %s\n", attempts, t.bad_line, t.why);
        else
            fprintf(stderr, "paygate risk train: %s%s: %s\n",
                    reviews ? "the platform's reviews: " : "", pay_err_name(e), err.detail);
        free(t.s);
        return 1;
    }
    struct pay_risk_model m = {0};
    standardise(&t, &m);
    fit(&t, &m);
    char report[4][200], comments[1200];
    static const int at[4] = {300, 500, 700, 900};
    long held = 0, fraud = 0;
    for (size_t i = 0; i < n_file; i++) {
        held += t.s[i].held_out;
        fraud += t.s[i].fraud;
    }
    char from_reviews[160] = "";
    if (data_dir || database)
        snprintf(from_reviews, sizeof from_reviews,
                 "%ld labels from operator reviews (%ld approved: legitimate, %ld rejected: fraud;"
                 " %ld without features skipped)",
                 rv.approved + rv.rejected, rv.approved, rv.rejected, rv.skipped);
    int used = snprintf(comments, sizeof comments,
                        "trained on %s (sha256 %.16s...): %zu attempts, %ld labelled fraud;"
                        " the consumers of one hash bucket in %ld held out (%ld attempts)\n%s%s",
                        attempts, sha, n_file, fraud, holdout_every, held, from_reviews,
                        from_reviews[0] ? "\n" : "");
    for (int i = 0; i < 4; i++) {
        evaluate(&t, &m, at[i], report[i], sizeof report[i]);
        printf("%s\n", report[i]);
        used += snprintf(comments + used, sizeof comments - (size_t)used, "%s\n", report[i]);
    }
    free(t.s);
    if (pay_risk_model_write(out, &m, comments) != 0) {
        fprintf(stderr, "paygate risk train: %s: %s\n", out, strerror(errno));
        return 1;
    }
    if (from_reviews[0])
        printf("risk train: %s\n", from_reviews);
    printf("risk train: %zu attempts (%ld fraud), %ld held out; model written to %s\n", n_file,
           fraud, held, out);
    return 0;
}

int pay_cmd_risk_train(int argc, char **argv)
{
    const char *attempts = NULL, *out = NULL, *every = "4", *seed = "1", *consumers = "500",
               *days = "7", *data_dir = NULL, *database = NULL;
    bool gen = argc >= 2 && strcmp(argv[1], "generate") == 0;
    const struct pay_cli_opt train_opts[] = {
        PAY_CLI_REQ("--attempts", "FILE", "the labelled attempts (label=normal is legitimate)",
                    &attempts),
        PAY_CLI_REQ("--out", "FILE", "where to write the model (0600)", &out),
        PAY_CLI_OPT("--holdout-every", "N",
                    "hold out the attempts of 1 consumer in N, by a hash (default 4)", &every),
        PAY_CLI_OPT("--data-dir", "DIR",
                    "a platform's data dir: its decided risk reviews are labels too", &data_dir),
        PAY_CLI_OPT("--database", "PATH|URL",
                    "that platform's database (default: the data dir's platform.db)", &database),
        PAY_CLI_END};
    const struct pay_cli_opt gen_opts[] = {
        PAY_CLI_OPT("--seed", "N", "the same seed gives the same traffic (default 1)", &seed),
        PAY_CLI_OPT("--consumers", "N", "normal shoppers (default 500)", &consumers),
        PAY_CLI_OPT("--days", "N", "days of traffic (default 7)", &days),
        PAY_CLI_OPT("--out", "FILE", "write here (default: standard output)", &out), PAY_CLI_END};
    if (pay_cli_parse(gen ? "risk generate" : "risk train", gen ? gen_opts : train_opts, argc, argv,
                      2, NULL, NULL) != 0)
        return PAY_CLI_USAGE;
    char *end[4];
    long n_every = strtol(every, &end[0], 10), n_seed = strtol(seed, &end[1], 10),
         n_consumers = strtol(consumers, &end[2], 10), n_days = strtol(days, &end[3], 10);
    if (*end[0] || *end[1] || *end[2] || *end[3] || n_every < 2 || n_every > 100 ||
        n_consumers < 1 || n_consumers > 100000 || n_days < 1 || n_days > 60) {
        fprintf(stderr,
                "paygate risk %s: --holdout-every 2..100, --consumers 1..100000,"
                " --days 1..60, --seed a whole number\n",
                gen ? "generate" : "train");
        return PAY_CLI_USAGE;
    }
    return gen ? generate(n_seed, n_consumers, n_days, out)
               : train(attempts, out, n_every, data_dir, database);
}
