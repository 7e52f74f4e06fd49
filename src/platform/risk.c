/* The risk engine (docs/risk.md): every payment attempt is judged by the rules in force, with
 * counters read from pf_risk_attempts inside the transaction that then records the attempt and
 * its decision. The counters live in the database, not in this process: two platform processes
 * on one database, or one restarted, count the same attempts. */
#include "platform/risk.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/money.h"
#include "crypto/ids.h"
#include "store/store.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum pay_err pay_risk_init(struct pay_risk *r, const char *path, struct pay_error *err)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    if (!pay_str_copy(r->path, sizeof r->path, path ? path : ""))
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "risk_rules", "path too long");
    if (!r->path[0])
        return PAY_ERR_OK;
    return pay_risk_rules_load(r->path, &r->rules, err);
}

void pay_risk_fini(struct pay_risk *r)
{
    pay_risk_rules_free(r->rules);
    r->rules = NULL;
    pthread_mutex_destroy(&r->mu);
}

enum pay_err pay_risk_reload(struct pay_risk *r, struct pay_error *err)
{
    struct pay_risk_rules *fresh = NULL;
    if (!r->path[0])
        return PAY_ERR_OK;
    enum pay_err e = pay_risk_rules_load(r->path, &fresh, err);
    if (e != PAY_ERR_OK) {
        PAY_WARN("risk.reload_failed", "file=%s why=\"%s\" kept=old rules", r->path, err->detail);
        return e;
    }
    pthread_mutex_lock(&r->mu);
    struct pay_risk_rules *old = r->rules;
    r->rules = fresh;
    pthread_mutex_unlock(&r->mu);
    PAY_INFO("risk.reloaded", "file=%s rules=%zu sha256=%.12s", r->path, fresh->n, fresh->sha256);
    pay_risk_rules_free(old);
    return PAY_ERR_OK;
}

/* --- counters ------------------------------------------------------------------------------ */

/* One statement per scope (constant SQL: the store's statement cache keeps each prepared). */
static const char *const count_sql[PAY_RISK_SCOPES] = {
    "SELECT COUNT(*) FROM pf_risk_attempts WHERE consumer_id = $1 AND at_ms > $2",
    "SELECT COUNT(*) FROM pf_risk_attempts WHERE card = $1 AND at_ms > $2",
    "SELECT COUNT(*) FROM pf_risk_attempts WHERE device = $1 AND at_ms > $2",
    "SELECT COUNT(*) FROM pf_risk_attempts WHERE ip = $1 AND at_ms > $2",
    "SELECT COUNT(*) FROM pf_risk_attempts WHERE merchant_id = $1 AND at_ms > $2",
};
static const char *const sum_sql[PAY_RISK_SCOPES] = {
    "SELECT COALESCE(SUM(amount_minor), 0) FROM pf_risk_attempts WHERE consumer_id = $1"
    " AND at_ms > $2 AND currency = $3 AND paid = 1",
    "SELECT COALESCE(SUM(amount_minor), 0) FROM pf_risk_attempts WHERE card = $1"
    " AND at_ms > $2 AND currency = $3 AND paid = 1",
    "SELECT COALESCE(SUM(amount_minor), 0) FROM pf_risk_attempts WHERE device = $1"
    " AND at_ms > $2 AND currency = $3 AND paid = 1",
    "SELECT COALESCE(SUM(amount_minor), 0) FROM pf_risk_attempts WHERE ip = $1"
    " AND at_ms > $2 AND currency = $3 AND paid = 1",
    "SELECT COALESCE(SUM(amount_minor), 0) FROM pf_risk_attempts WHERE merchant_id = $1"
    " AND at_ms > $2 AND currency = $3 AND paid = 1",
};

/* The single integer a counter query answers, into *out. */
static enum pay_err one_int(struct pay_store_stmt *st, int64_t *out, struct pay_error *err)
{
    if (!st)
        return err->code;
    int r = pay_store_step(st, err);
    *out = r == 1 ? pay_store_col_int64(st, 0) : 0;
    pay_store_done(st);
    return r < 0 ? err->code : PAY_ERR_OK;
}

/* Whether the consumer has paid from this device before. */
static enum pay_err device_known(struct pay_store_tx *tx, const struct pay_risk_attempt *a,
                                 bool *known, struct pay_error *err)
{
    int64_t n = 0;
    enum pay_err e =
        one_int(pay_store_query(tx, err,
                                "SELECT COUNT(*) FROM (SELECT 1 FROM pf_risk_attempts WHERE"
                                " consumer_id = $1 AND device = $2 AND paid = 1 LIMIT 1) AS seen",
                                "tt", a->value[PAY_RISK_CONSUMER], a->value[PAY_RISK_DEVICE]),
                &n, err);
    *known = n > 0;
    return e;
}

/* --- the learned score's features (docs/risk.md, "The learned score") ---------------------- */

#define MINUTE_MS  (60LL * 1000)
#define HOUR_MS    (60 * MINUTE_MS)
#define DAY_MS     (24 * HOUR_MS)
#define HISTORY_MS (30 * DAY_MS) /* "the consumer's usual": their last 30 days */

/* Features are numbers for the score only (never money): log2 of a positive integer. */
static double log2_of(int64_t v)
{
    return v > 0 ? log2((double)v) : 0;
}

/* log2 of v over the mean of n values summing to sum (0 without history). */
static double log2_vs_mean(int64_t v, int64_t sum, int64_t n)
{
    return n > 0 && sum > 0 && v > 0 ? log2((double)v * (double)n / (double)sum) : 0;
}

/* The consumer's counters in one range scan of their last 30 days. */
static enum pay_err consumer_features(struct pay_store_tx *tx, const struct pay_risk_attempt *a,
                                      int64_t now, double x[PAY_RISK_FEATURES],
                                      struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT COALESCE(SUM(CASE WHEN at_ms > $2 THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN at_ms > $3 THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN at_ms > $4 THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN at_ms > $3 AND paid = 0 THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN paid = 1 AND currency = $6 THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN paid = 1 AND currency = $6 THEN amount_minor ELSE 0 END), 0)"
        " FROM pf_risk_attempts WHERE consumer_id = $1 AND at_ms > $5",
        "tiiiit", a->value[PAY_RISK_CONSUMER], now - MINUTE_MS, now - HOUR_MS, now - DAY_MS,
        now - HISTORY_MS, a->currency);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    int64_t v[6] = {0};
    for (int i = 0; rc == 1 && i < 6; i++)
        v[i] = pay_store_col_int64(st, i);
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    x[PAY_RISK_F_CONSUMER_1M] = (double)v[0];
    x[PAY_RISK_F_CONSUMER_1H] = (double)v[1];
    x[PAY_RISK_F_CONSUMER_24H] = (double)v[2];
    x[PAY_RISK_F_UNPAID_1H] = (double)v[3];
    x[PAY_RISK_F_HISTORY_LOG2] = log2(1.0 + (double)v[4]);
    x[PAY_RISK_F_AMOUNT_VS_USUAL] = log2_vs_mean(a->amount_minor, v[5], v[4]);
    return PAY_ERR_OK;
}

enum pay_err pay_risk_features_tx(struct pay_store_tx *tx, const struct pay_risk_attempt *a,
                                  int64_t now_ms, double x[PAY_RISK_FEATURES],
                                  struct pay_error *err)
{
    int64_t now = now_ms ? now_ms : pay_clock_now_ms();
    memset(x, 0, PAY_RISK_FEATURES * sizeof *x);
    x[PAY_RISK_F_AMOUNT_LOG2] = log2_of(a->amount_minor);
    x[PAY_RISK_F_WITHDRAWAL] = a->method && strcmp(a->method, "withdrawal") == 0;
    enum pay_err e = PAY_ERR_OK;
    if (a->value[PAY_RISK_CONSUMER] && a->value[PAY_RISK_CONSUMER][0])
        e = consumer_features(tx, a, now, x, err);
    static const struct {
        enum pay_risk_scope scope;
        enum pay_risk_feature f;
    } per_hour[] = {{PAY_RISK_DEVICE, PAY_RISK_F_DEVICE_1H},
                    {PAY_RISK_IP, PAY_RISK_F_IP_1H},
                    {PAY_RISK_CARD, PAY_RISK_F_CARD_1H}};
    for (size_t i = 0; i < sizeof per_hour / sizeof per_hour[0] && e == PAY_ERR_OK; i++) {
        const char *v = a->value[per_hour[i].scope];
        int64_t n = 0;
        if (v && v[0])
            e = one_int(
                pay_store_query(tx, err, count_sql[per_hour[i].scope], "ti", v, now - HOUR_MS), &n,
                err);
        x[per_hour[i].f] = (double)n;
    }
    bool known = true;
    if (e == PAY_ERR_OK && a->value[PAY_RISK_DEVICE] && a->value[PAY_RISK_DEVICE][0] &&
        a->value[PAY_RISK_CONSUMER] && a->value[PAY_RISK_CONSUMER][0])
        e = device_known(tx, a, &known, err);
    x[PAY_RISK_F_NEW_DEVICE] = known ? 0 : 1;
    return e;
}

/* What the rules read of the database for one decision: the features, read once for all its
 * score rules. */
struct judging {
    const struct pay_risk_attempt *a;
    int64_t now_ms;
    bool features_read;
    double x[PAY_RISK_FEATURES];
};

/* Whether rule u fires on the attempt being judged. */
static enum pay_err fires(struct pay_store_tx *tx, const struct pay_risk_rule *u, struct judging *j,
                          bool *hit, struct pay_error *err)
{
    const struct pay_risk_attempt *a = j->a;
    const char *v = a->value[u->scope] ? a->value[u->scope] : "";
    bool money = u->kind == PAY_RISK_VELOCITY_AMOUNT || u->kind == PAY_RISK_SINGLE ||
                 u->kind == PAY_RISK_NEW_DEVICE;
    int64_t n = 0, total = 0;
    enum pay_err e = PAY_ERR_OK;
    *hit = false;
    bool any_scope = u->kind == PAY_RISK_SINGLE || u->kind == PAY_RISK_SCORE;
    if ((money && strcmp(u->currency, a->currency) != 0) || (!any_scope && !v[0]))
        return PAY_ERR_OK; /* another currency, or nothing known of this scope */
    switch (u->kind) {
    case PAY_RISK_SCORE:
        if (!j->features_read &&
            (e = pay_risk_features_tx(tx, a, j->now_ms, j->x, err)) == PAY_ERR_OK)
            j->features_read = true;
        *hit = e == PAY_ERR_OK && pay_risk_model_score(u->model, j->x) > u->threshold;
        break;
    case PAY_RISK_SINGLE:
        *hit = a->amount_minor > u->threshold;
        break;
    case PAY_RISK_BLACKLIST:
        *hit = strcmp(v, u->value) == 0 ||
               (u->scope == PAY_RISK_CONSUMER && a->login && strcmp(a->login, u->value) == 0);
        break;
    case PAY_RISK_VELOCITY_COUNT:
        e = one_int(
            pay_store_query(tx, err, count_sql[u->scope], "ti", v, j->now_ms - u->window_ms), &n,
            err);
        *hit = e == PAY_ERR_OK && n + 1 > u->threshold;
        break;
    case PAY_RISK_VELOCITY_AMOUNT:
        e = one_int(pay_store_query(tx, err, sum_sql[u->scope], "tit", v, j->now_ms - u->window_ms,
                                    a->currency),
                    &n, err);
        *hit = e == PAY_ERR_OK &&
               (pay_money_add(n, a->amount_minor, &total) != PAY_ERR_OK || total > u->threshold);
        break;
    case PAY_RISK_NEW_DEVICE: {
        bool known = true;
        if (a->amount_minor > u->threshold && (e = device_known(tx, a, &known, err)) == PAY_ERR_OK)
            *hit = !known;
        break;
    }
    }
    return e;
}

/* Adds a fired rule's name to the reasons (a full list ends in "+" rather than overflow). */
static void reason_add(struct pay_risk_decision *d, const char *name)
{
    size_t len = strlen(d->reasons);
    size_t need = strlen(name) + (len ? 1 : 0);
    if (len + need + 2 > sizeof d->reasons) {
        if (len + 2 <= sizeof d->reasons && (len == 0 || d->reasons[len - 1] != '+'))
            memcpy(d->reasons + len, "+", 2);
        return;
    }
    snprintf(d->reasons + len, sizeof d->reasons - len, "%s%s", len ? " " : "", name);
}

static enum pay_err judge(struct pay_risk *r, struct pay_store_tx *tx,
                          const struct pay_risk_attempt *a, int64_t now_ms,
                          struct pay_risk_decision *d, char sha[PAY_SHA256_HEX_LEN],
                          struct pay_error *err)
{
    enum pay_err e = PAY_ERR_OK;
    pthread_mutex_lock(&r->mu);
    const struct pay_risk_rules *rs = r->rules;
    struct judging j = {.a = a, .now_ms = now_ms};
    pay_str_copy(sha, PAY_SHA256_HEX_LEN, rs ? rs->sha256 : "");
    for (size_t i = 0; rs && i < rs->n && e == PAY_ERR_OK; i++) {
        bool hit = false;
        e = fires(tx, &rs->rule[i], &j, &hit, err);
        if (e != PAY_ERR_OK || !hit)
            continue;
        reason_add(d, rs->rule[i].name);
        if (rs->rule[i].action > d->action)
            d->action = rs->rule[i].action;
    }
    pthread_mutex_unlock(&r->mu);
    return e;
}

enum pay_err pay_risk_decide_tx(struct pay_risk *r, struct pay_store_tx *tx,
                                const struct pay_risk_attempt *a, struct pay_risk_decision *d,
                                struct pay_error *err)
{
    PAY_ASSERT(a->amount_minor > 0 && a->currency && a->trade_id && a->method);
    memset(d, 0, sizeof *d);
    int64_t now = a->at_ms ? a->at_ms : pay_clock_now_ms();
    char sha[PAY_SHA256_HEX_LEN];
    enum pay_err e = judge(r, tx, a, now, d, sha, err);
    bool stepped = d->action == PAY_RISK_STEP_UP && a->stepped_up;
    if (stepped)
        d->action = PAY_RISK_ALLOW; /* the passkey was the second factor the rule asked for */
    if (e == PAY_ERR_OK)
        e = pay_id_new("ra", d->id);
    /* a review's features before it is recorded, as training reads them (reviews are rare) */
    if (e == PAY_ERR_OK && d->action == PAY_RISK_REVIEW &&
        (e = pay_risk_features_tx(tx, a, now, d->x, err)) == PAY_ERR_OK)
        d->have_features = true;
    if (e != PAY_ERR_OK)
        return e;
    const char *const *v = a->value;
    e = pay_store_exec(
        tx, err,
        "INSERT INTO pf_risk_attempts (id, at_ms, trade_id, method, consumer_id,"
        " card, device, ip, merchant_id, amount_minor, currency, decision, reasons,"
        " stepped_up, rules_sha256, paid)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,"
        " 0)",
        "titttttttitttit", d->id, now, a->trade_id, a->method,
        v[PAY_RISK_CONSUMER] ? v[PAY_RISK_CONSUMER] : "", v[PAY_RISK_CARD] ? v[PAY_RISK_CARD] : "",
        v[PAY_RISK_DEVICE] ? v[PAY_RISK_DEVICE] : "", v[PAY_RISK_IP] ? v[PAY_RISK_IP] : "",
        v[PAY_RISK_MERCHANT] ? v[PAY_RISK_MERCHANT] : "", a->amount_minor, a->currency,
        pay_risk_action_name(d->action), d->reasons, (int64_t)(stepped ? 1 : 0), sha);
    if (e == PAY_ERR_OK && d->action != PAY_RISK_ALLOW)
        PAY_INFO("risk.decision", "id=%s trade=%s decision=%s reasons=\"%s\"", d->id, a->trade_id,
                 pay_risk_action_name(d->action), d->reasons);
    return e;
}

enum pay_err pay_risk_paid_tx(struct pay_store_tx *tx, const char *id, struct pay_error *err)
{
    enum pay_err e =
        pay_store_exec(tx, err, "UPDATE pf_risk_attempts SET paid = 1 WHERE id = $1", "t", id);
    PAY_ASSERT(e != PAY_ERR_OK || pay_store_changes(tx) == 1);
    return e;
}

enum pay_err pay_risk_refusal(const struct pay_risk_decision *d, struct pay_error *err)
{
    switch (d->action) {
    case PAY_RISK_ALLOW:
        return PAY_ERR_OK;
    case PAY_RISK_STEP_UP:
        return pay_error_set(err, PAY_ERR_RISK_STEP_UP, "risk", NULL);
    case PAY_RISK_REVIEW:
        return pay_error_set(err, PAY_ERR_RISK_REVIEW, "risk", NULL);
    case PAY_RISK_DENY:
        break;
    }
    return pay_error_set(err, PAY_ERR_RISK_DENIED, "risk", NULL);
}
