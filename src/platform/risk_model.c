/* The learned score (docs/risk.md, "The learned score"): a logistic regression that `paygate
 * risk train` fits on labelled attempts, kept in a small text file a score rule names. Loading
 * checks every line; scoring is a dot product and one exp(), a microsecond. Floating point lives
 * here only, in the score: never in money. */
#include "platform/risk.h"

#include "core/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MODEL_MAGIC "paygate-risk-model 1"

const char *const pay_risk_feature_names[PAY_RISK_FEATURES] = {
    "amount_log2",     "consumer_1m", "consumer_1h", "consumer_24h", "unpaid_1h", "history_log2",
    "amount_vs_usual", "new_device",  "device_1h",   "ip_1h",        "card_1h",   "withdrawal",
};

int pay_risk_model_score(const struct pay_risk_model *m, const double x[PAY_RISK_FEATURES])
{
    double z = m->bias;
    for (int i = 0; i < PAY_RISK_FEATURES; i++)
        z += m->w[i] * (x[i] - m->mean[i]) / m->sd[i];
    if (z > 40)
        z = 40;
    if (z < -40)
        z = -40;
    long s = lround(1000.0 / (1.0 + exp(-z)));
    return (int)(s < 0 ? 0 : s > 1000 ? 1000 : s);
}

void pay_risk_features_text(const double x[PAY_RISK_FEATURES], char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < PAY_RISK_FEATURES && used < size; i++) {
        int n = snprintf(out + used, size - used, "%s%s=%.17g", i ? " " : "",
                         pay_risk_feature_names[i], x[i]);
        used += n > 0 ? (size_t)n : 0;
    }
}

static bool number(const char *s, double *out);

int pay_risk_features_parse(const char *text, double x[PAY_RISK_FEATURES])
{
    bool seen[PAY_RISK_FEATURES] = {false};
    char buf[PAY_RISK_FEATURES_TEXT_MAX], *save = NULL;
    if (strlen(text) >= sizeof buf)
        return -1;
    memcpy(buf, text, strlen(text) + 1);
    for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(w, '=');
        int i = 0;
        if (eq)
            *eq = '\0';
        while (i < PAY_RISK_FEATURES && strcmp(w, pay_risk_feature_names[i]) != 0)
            i++;
        if (!eq || i == PAY_RISK_FEATURES || seen[i] || !number(eq + 1, &x[i]))
            return -1;
        seen[i] = true;
    }
    for (int i = 0; i < PAY_RISK_FEATURES; i++)
        if (!seen[i])
            return -1;
    return 0;
}

static enum pay_err bad(const char *path, int no, struct pay_error *err, const char *why)
{
    return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "model", "%s:%d: %s", path, no, why);
}

static bool number(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (!s[0] || errno != 0 || *end != '\0' || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* One line (modified): "bias B" or "feature NAME W MEAN SD"; seen marks the features read. */
static enum pay_err model_line(char *line, const char *path, int no, struct pay_risk_model *m,
                               bool seen[PAY_RISK_FEATURES + 1], struct pay_error *err)
{
    char *w[6], *save = NULL;
    int n = 0;
    for (char *t = strtok_r(line, " \t\r", &save); t && n < 6; t = strtok_r(NULL, " \t\r", &save))
        w[n++] = t;
    if (n == 2 && strcmp(w[0], "bias") == 0) {
        seen[PAY_RISK_FEATURES] = true;
        return number(w[1], &m->bias) ? PAY_ERR_OK : bad(path, no, err, "bias NUMBER");
    }
    if (n != 5 || strcmp(w[0], "feature") != 0)
        return bad(path, no, err, "bias NUMBER, or feature NAME WEIGHT MEAN SD");
    for (int i = 0; i < PAY_RISK_FEATURES; i++)
        if (strcmp(w[1], pay_risk_feature_names[i]) == 0) {
            if (seen[i])
                return bad(path, no, err, "this feature is above already");
            seen[i] = true;
            if (!number(w[2], &m->w[i]) || !number(w[3], &m->mean[i]) || !number(w[4], &m->sd[i]) ||
                !(m->sd[i] > 0))
                return bad(path, no, err, "WEIGHT MEAN SD are numbers, SD more than 0");
            return PAY_ERR_OK;
        }
    return bad(path, no, err, "not a feature this platform computes (docs/risk.md)");
}

static enum pay_err model_parse(char *text, const char *path, struct pay_risk_model *m,
                                struct pay_error *err)
{
    bool seen[PAY_RISK_FEATURES + 1] = {0}, magic = false;
    int no = 0;
    enum pay_err e = PAY_ERR_OK;
    for (char *s = text, *nl; s && e == PAY_ERR_OK; s = nl) {
        nl = strchr(s, '\n');
        if (nl)
            *nl++ = '\0';
        no++;
        char *hash = strchr(s, '#');
        if (hash)
            *hash = '\0';
        s += strspn(s, " \t\r");
        if (!*s)
            continue;
        if (!magic) {
            magic = strncmp(s, MODEL_MAGIC, strlen(MODEL_MAGIC)) == 0;
            if (!magic)
                e = bad(path, no, err, "not a model of `paygate risk train` (" MODEL_MAGIC ")");
            continue;
        }
        e = model_line(s, path, no, m, seen, err);
    }
    for (int i = 0; i <= PAY_RISK_FEATURES && e == PAY_ERR_OK; i++)
        if (!seen[i])
            e = pay_error_set(err, PAY_ERR_CONFIG_INVALID, "model", "%s: no line for %s", path,
                              i < PAY_RISK_FEATURES ? pay_risk_feature_names[i] : "bias");
    return e;
}

enum pay_err pay_risk_model_load(const char *path, struct pay_risk_model **out,
                                 struct pay_error *err)
{
    *out = NULL;
    size_t len = 0;
    char *text = pay_file_read(path, PAY_RISK_MODEL_FILE_MAX, &len);
    if (!text)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "model",
                             "%s: cannot read it (missing, unreadable or over 64 KiB)", path);
    struct pay_risk_model *m = calloc(1, sizeof *m);
    enum pay_err e = m ? PAY_ERR_OK : pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    if (e == PAY_ERR_OK && strlen(text) != len)
        e = pay_error_set(err, PAY_ERR_CONFIG_INVALID, "model", "%s: a NUL byte", path);
    if (e == PAY_ERR_OK)
        pay_sha256_hex(m->sha256, text, len);
    if (e == PAY_ERR_OK)
        e = model_parse(text, path, m, err);
    free(text);
    if (e != PAY_ERR_OK) {
        free(m);
        return e;
    }
    *out = m;
    return PAY_ERR_OK;
}

int pay_risk_model_write(const char *path, const struct pay_risk_model *m, const char *comments)
{
    char tmp[PAY_RISK_PATH_MAX + 8];
    if (snprintf(tmp, sizeof tmp, "%s.new", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    fprintf(f, "%s\n", MODEL_MAGIC);
    for (const char *c = comments; c && *c;) {
        size_t n = strcspn(c, "\n");
        fprintf(f, "# %.*s\n", (int)n, c);
        c += n + (c[n] == '\n');
    }
    fprintf(f, "bias %.17g\n", m->bias);
    for (int i = 0; i < PAY_RISK_FEATURES; i++)
        fprintf(f, "feature %-16s %.17g %.17g %.17g\n", pay_risk_feature_names[i], m->w[i],
                m->mean[i], m->sd[i]);
    int rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc == 0)
        rc = rename(tmp, path);
    if (rc != 0)
        unlink(tmp);
    return rc;
}
