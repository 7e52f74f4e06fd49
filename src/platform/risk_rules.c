/* The risk rules file (docs/risk.md, "Rules"): one rule a line, whitespace-separated words,
 * `#` to the end of a line a comment. Read whole and checked before anything uses it, so that a
 * mistake is found at start or reload, never in the middle of a payment. */
#include "platform/risk.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/money.h"
#include "core/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RULE_WORDS 10 /* room for the longest rule: velocity by amount has 8 words */

static const char *const action_names[] = {"allow", "step-up", "review", "deny"};
static const char *const scope_names[] = {"consumer", "card", "device", "ip", "merchant"};

const char *pay_risk_action_name(enum pay_risk_action a)
{
    PAY_ASSERT(a >= PAY_RISK_ALLOW && a <= PAY_RISK_DENY);
    return action_names[a];
}

const char *pay_risk_scope_name(enum pay_risk_scope s)
{
    PAY_ASSERT(s >= PAY_RISK_CONSUMER && s < PAY_RISK_SCOPES);
    return scope_names[s];
}

void pay_risk_rules_free(struct pay_risk_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->rule && i < r->n; i++)
        free(r->rule[i].model);
    free(r->rule);
    free(r);
}

/* The line being read: where it is, for errors. */
struct line {
    const char *origin;
    int no;
    char *w[RULE_WORDS];
    int n;
};

static enum pay_err bad(const struct line *l, struct pay_error *err, const char *why)
{
    return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "rules", "%s:%d: %s", l->origin, l->no, why);
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > PAY_RISK_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

static enum pay_err word_action(const struct line *l, const char *w, struct pay_risk_rule *r,
                                struct pay_error *err)
{
    for (int a = PAY_RISK_STEP_UP; a <= PAY_RISK_DENY; a++)
        if (strcmp(w, action_names[a]) == 0) {
            r->action = (enum pay_risk_action)a;
            return PAY_ERR_OK;
        }
    return bad(l, err, "the action is step-up, review or deny");
}

static enum pay_err word_scope(const struct line *l, const char *w, struct pay_risk_rule *r,
                               struct pay_error *err)
{
    for (int s = 0; s < PAY_RISK_SCOPES; s++)
        if (strcmp(w, scope_names[s]) == 0) {
            r->scope = (enum pay_risk_scope)s;
            return PAY_ERR_OK;
        }
    return bad(l, err, "the scope is consumer, card, device, ip or merchant");
}

/* "5000.00 CNY": an amount in a currency, more than zero. */
static enum pay_err words_amount(const struct line *l, char *const w[2], struct pay_risk_rule *r,
                                 struct pay_error *err)
{
    struct pay_error perr = {0};
    if (strlen(w[1]) != 3 ||
        pay_money_parse_amount(w[0], w[1], "amount", &r->threshold, &perr) != PAY_ERR_OK)
        return bad(l, err, "an amount and its currency, such as 5000.00 CNY");
    memcpy(r->currency, w[1], 4);
    return PAY_ERR_OK;
}

static enum pay_err word_window(const struct line *l, const char *w, struct pay_risk_rule *r,
                                struct pay_error *err)
{
    struct pay_error perr = {0};
    if (pay_time_parse_duration_ms(w, &r->window_ms, &perr) != PAY_ERR_OK || r->window_ms < 1000 ||
        r->window_ms > PAY_RISK_WINDOW_MAX_MS)
        return bad(l, err, "the window is a duration from 1s to 30d, such as 1m, 1h or 24h");
    return PAY_ERR_OK;
}

static enum pay_err word_count(const struct line *l, const char *w, struct pay_risk_rule *r,
                               struct pay_error *err)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(w, &end, 10);
    if (!isdigit((unsigned char)w[0]) || errno != 0 || *end != '\0' || v < 1 ||
        v > PAY_RISK_COUNT_MAX)
        return bad(l, err, "the count is a whole number from 1 to 1000000");
    r->threshold = v;
    return PAY_ERR_OK;
}

/* NAME velocity SCOPE WINDOW count N ACTION | NAME velocity SCOPE WINDOW amount A CUR ACTION */
static enum pay_err rule_velocity(const struct line *l, struct pay_risk_rule *r,
                                  struct pay_error *err)
{
    bool by_count = l->n == 7 && strcmp(l->w[4], "count") == 0;
    bool by_amount = l->n == 8 && strcmp(l->w[4], "amount") == 0;
    if (!by_count && !by_amount)
        return bad(l, err,
                   "velocity SCOPE WINDOW count N ACTION, or velocity SCOPE WINDOW amount AMOUNT "
                   "CURRENCY ACTION");
    r->kind = by_count ? PAY_RISK_VELOCITY_COUNT : PAY_RISK_VELOCITY_AMOUNT;
    enum pay_err e = word_scope(l, l->w[2], r, err);
    if (e == PAY_ERR_OK)
        e = word_window(l, l->w[3], r, err);
    if (e == PAY_ERR_OK)
        e = by_count ? word_count(l, l->w[5], r, err) : words_amount(l, &l->w[5], r, err);
    return e == PAY_ERR_OK ? word_action(l, l->w[l->n - 1], r, err) : e;
}

/* NAME daily SCOPE AMOUNT CUR ACTION: velocity by amount over 24 hours. */
static enum pay_err rule_daily(const struct line *l, struct pay_risk_rule *r, struct pay_error *err)
{
    if (l->n != 6)
        return bad(l, err, "daily SCOPE AMOUNT CURRENCY ACTION");
    r->kind = PAY_RISK_VELOCITY_AMOUNT;
    r->window_ms = 24LL * 3600 * 1000;
    enum pay_err e = word_scope(l, l->w[2], r, err);
    if (e == PAY_ERR_OK)
        e = words_amount(l, &l->w[3], r, err);
    return e == PAY_ERR_OK ? word_action(l, l->w[5], r, err) : e;
}

/* NAME single AMOUNT CUR ACTION | NAME new_device AMOUNT CUR ACTION */
static enum pay_err rule_amount(const struct line *l, struct pay_risk_rule *r,
                                struct pay_error *err)
{
    if (l->n != 5)
        return bad(l, err, "single AMOUNT CURRENCY ACTION, or new_device AMOUNT CURRENCY ACTION");
    r->kind = strcmp(l->w[1], "single") == 0 ? PAY_RISK_SINGLE : PAY_RISK_NEW_DEVICE;
    r->scope = r->kind == PAY_RISK_SINGLE ? PAY_RISK_CONSUMER : PAY_RISK_DEVICE;
    enum pay_err e = words_amount(l, &l->w[2], r, err);
    return e == PAY_ERR_OK ? word_action(l, l->w[4], r, err) : e;
}

/* NAME blacklist SCOPE VALUE ACTION */
static enum pay_err rule_blacklist(const struct line *l, struct pay_risk_rule *r,
                                   struct pay_error *err)
{
    if (l->n != 5)
        return bad(l, err, "blacklist SCOPE VALUE ACTION");
    r->kind = PAY_RISK_BLACKLIST;
    enum pay_err e = word_scope(l, l->w[2], r, err);
    if (e == PAY_ERR_OK && !pay_str_copy(r->value, sizeof r->value, l->w[3]))
        e = bad(l, err, "the listed value is longer than 64 bytes");
    return e == PAY_ERR_OK ? word_action(l, l->w[4], r, err) : e;
}

/* "0.85": a score threshold from 0.001 to 0.999, kept in thousandths. */
static bool word_threshold(const char *w, int64_t *out)
{
    size_t n = strlen(w);
    if (n < 3 || n > 5 || w[0] != '0' || w[1] != '.')
        return false;
    int64_t v = 0;
    for (size_t i = 2; i < 5; i++) {
        if (i < n && !isdigit((unsigned char)w[i]))
            return false;
        v = v * 10 + (i < n ? w[i] - '0' : 0);
    }
    *out = v;
    return v > 0 && v < 1000;
}

/* NAME score MODEL THRESHOLD ACTION: the learned score of the model file (relative to the
 * rules file's folder) above the threshold. The model is read with the rules: a reload reads
 * it again, and a bad model refuses the file. */
static enum pay_err rule_score(const struct line *l, struct pay_risk_rule *r, struct pay_error *err)
{
    if (l->n != 5)
        return bad(l, err, "score MODEL_FILE THRESHOLD ACTION");
    r->kind = PAY_RISK_SCORE;
    r->scope = PAY_RISK_CONSUMER;
    if (!word_threshold(l->w[3], &r->threshold))
        return bad(l, err, "the threshold is a score from 0.001 to 0.999, such as 0.85");
    enum pay_err e = word_action(l, l->w[4], r, err);
    if (e != PAY_ERR_OK)
        return e;
    const char *slash = strrchr(l->origin, '/');
    char path[PAY_RISK_PATH_MAX + 1];
    bool fits = l->w[2][0] == '/' || !slash
                    ? pay_str_copy(path, sizeof path, l->w[2])
                    : snprintf(path, sizeof path, "%.*s/%s", (int)(slash - l->origin), l->origin,
                               l->w[2]) < (int)sizeof path;
    if (!fits)
        return bad(l, err, "the model file's path is too long");
    struct pay_error merr = {0};
    if (pay_risk_model_load(path, &r->model, &merr) != PAY_ERR_OK)
        return bad(l, err, merr.detail);
    return PAY_ERR_OK;
}

static enum pay_err rule_of_line(const struct line *l, struct pay_risk_rule *r,
                                 struct pay_error *err)
{
    memset(r, 0, sizeof *r);
    r->line = l->no;
    if (l->n < 2 || !name_ok(l->w[0]))
        return bad(l, err, "a rule starts with its name ([a-z0-9_], at most 32) and its kind");
    pay_str_copy(r->name, sizeof r->name, l->w[0]);
    const char *kind = l->w[1];
    if (strcmp(kind, "velocity") == 0)
        return rule_velocity(l, r, err);
    if (strcmp(kind, "daily") == 0)
        return rule_daily(l, r, err);
    if (strcmp(kind, "single") == 0 || strcmp(kind, "new_device") == 0)
        return rule_amount(l, r, err);
    if (strcmp(kind, "blacklist") == 0)
        return rule_blacklist(l, r, err);
    if (strcmp(kind, "score") == 0)
        return rule_score(l, r, err);
    return bad(l, err, "the kind is velocity, daily, single, new_device, blacklist or score");
}

/* Splits line s (modified) into words up to a `#`; too many words is an error. */
static enum pay_err split(struct line *l, char *s, struct pay_error *err)
{
    char *hash = strchr(s, '#');
    if (hash)
        *hash = '\0';
    l->n = 0;
    for (char *p = s; *p;) {
        while (*p && isspace((unsigned char)*p))
            *p++ = '\0';
        if (!*p)
            break;
        if (l->n == RULE_WORDS)
            return bad(l, err, "too many words for a rule");
        l->w[l->n++] = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
    }
    return PAY_ERR_OK;
}

static enum pay_err add_line(struct pay_risk_rules *rs, struct line *l, char *text,
                             struct pay_error *err)
{
    enum pay_err e = split(l, text, err);
    if (e != PAY_ERR_OK || l->n == 0)
        return e;
    if (rs->n == PAY_RISK_RULES_MAX)
        return bad(l, err, "more than 256 rules");
    struct pay_risk_rule *r = &rs->rule[rs->n];
    e = rule_of_line(l, r, err);
    rs->n++; /* from here on the set owns the rule and its model (freed with it) */
    if (e != PAY_ERR_OK)
        return e;
    for (int i = 0, used = 0; i < l->n; i++) {
        int w =
            snprintf(r->text + used, sizeof r->text - (size_t)used, "%s%s", i ? " " : "", l->w[i]);
        if (w < 0 || (size_t)w >= sizeof r->text - (size_t)used)
            return bad(l, err, "the rule is longer than 160 bytes");
        used += w;
    }
    for (size_t i = 0; i + 1 < rs->n; i++)
        if (strcmp(rs->rule[i].name, r->name) == 0)
            return bad(l, err, "a rule of this name is above: names are unique");
    return PAY_ERR_OK;
}

enum pay_err pay_risk_rules_parse(const char *text, const char *origin, struct pay_risk_rules **out,
                                  struct pay_error *err)
{
    *out = NULL;
    struct pay_risk_rules *rs = calloc(1, sizeof *rs);
    char *copy = strdup(text);
    if (rs)
        rs->rule = calloc(PAY_RISK_RULES_MAX, sizeof *rs->rule);
    if (!rs || !rs->rule || !copy) {
        free(copy);
        pay_risk_rules_free(rs);
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    }
    pay_sha256_hex(rs->sha256, text, strlen(text));
    struct line l = {.origin = origin};
    enum pay_err e = PAY_ERR_OK;
    for (char *s = copy, *nl; s && e == PAY_ERR_OK; s = nl) {
        nl = strchr(s, '\n');
        if (nl)
            *nl++ = '\0';
        l.no++;
        e = add_line(rs, &l, s, err);
    }
    free(copy);
    if (e != PAY_ERR_OK) {
        pay_risk_rules_free(rs);
        return e;
    }
    *out = rs;
    return PAY_ERR_OK;
}

enum pay_err pay_risk_rules_load(const char *path, struct pay_risk_rules **out,
                                 struct pay_error *err)
{
    size_t len = 0;
    char *text = pay_file_read(path, PAY_RISK_FILE_MAX, &len);
    if (!text)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "rules",
                             "%s: cannot read it (missing, unreadable or over 256 KiB)", path);
    if (strlen(text) != len) {
        free(text);
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "rules", "%s: a NUL byte", path);
    }
    enum pay_err e = pay_risk_rules_parse(text, path, out, err);
    free(text);
    return e;
}
