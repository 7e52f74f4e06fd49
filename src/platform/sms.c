/* One-time SMS codes for payments that need a second factor (a bound card on the cashier).
 * Only a keyed hash of each code is stored; the text goes to the consumer's phone — in this
 * sandbox to an in-memory outbox shown at /sandbox/sms when [platform] sandbox_sms is on —
 * and never to the log. Wrong codes count towards a lock of the consumer's codes. */
#include "platform/platform.h"

#include "core/buf.h"
#include "core/clock.h"
#include "crypto/ids.h"
#include "core/timeutil.h"
#include "crypto/password.h"
#include "http/server.h"
#include "store/attempts.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "i18n/i18n.h"

struct ch_ctx {
    const char *id, *consumer_id, *purpose, *hash;
};

static enum pay_err ch_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct ch_ctx *c = ctx;
    int64_t now = pay_clock_now_ms();
    return (pay_store_exec(
        tx, err,
        "INSERT INTO pf_sms_codes (id, consumer_id, purpose, code_hash, expires_ms, created_ms)"
        " VALUES ($1,$2,$3,$4,$5,$6)",
        "ttttii", c->id, c->consumer_id, c->purpose, c->hash, now + PAY_OTP_TTL_S * 1000LL, now));
}

static void outbox_add(struct pay_platform *p, struct pay_http_request *req, const char *to,
                       const char *code)
{
    const char *text = pay_http_req_trf(
        req, "[{platform}] Your payment code is {code}, valid for 5 minutes. Never share it.",
        "platform", p->set.name, "code", code, NULL);
    pthread_mutex_lock(&p->sms_mu);
    size_t at = p->sms_next;
    p->sms[at].ms = pay_clock_now_ms();
    pay_str_copy(p->sms[at].to, sizeof p->sms[at].to, to);
    pay_str_copy(p->sms[at].text, sizeof p->sms[at].text, text);
    pay_str_copy(p->sms[at].code, sizeof p->sms[at].code, code);
    p->sms_next = (at + 1) % (sizeof p->sms / sizeof p->sms[0]);
    if (p->sms_count < sizeof p->sms / sizeof p->sms[0])
        p->sms_count++;
    pthread_mutex_unlock(&p->sms_mu);
}

/* A new code for consumer_id (purpose), its hash written inside tx, the code into code. */
static enum pay_err challenge_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                 const char *consumer_id, const char *purpose,
                                 char id_out[PAY_ID_MAX], char code[PAY_OTP_DIGITS + 1],
                                 struct pay_error *err)
{
    char hash[PAY_OTP_HASH_LEN];
    if (pay_id_new("sm", id_out) != PAY_ERR_OK)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    pay_otp_generate(code);
    pay_otp_hash(hash, p->otp_key, id_out, code);
    struct ch_ctx c = {id_out, consumer_id, purpose, hash};
    return ch_tx(tx, &c, err);
}

struct challenge_cmd {
    struct pay_platform *p;
    const char *consumer_id, *purpose;
    char *id_out, code[PAY_OTP_DIGITS + 1];
};

static enum pay_err challenge_cmd_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct challenge_cmd *c = ctx;
    return challenge_tx(c->p, tx, c->consumer_id, c->purpose, c->id_out, c->code, err);
}

enum pay_err pay_platform_sms_challenge(struct pay_platform *p, struct pay_http_request *req,
                                        const char *consumer_id, const char *to,
                                        const char *purpose, char id_out[PAY_ID_MAX],
                                        struct pay_error *err)
{
    struct challenge_cmd c = {p, consumer_id, purpose, id_out, ""};
    enum pay_err e = pay_platform_write(p, challenge_cmd_tx, &c, err);
    if (e == PAY_ERR_OK) {
        outbox_add(p, req, to, c.code);
        PAY_INFO("sms.sent", "challenge=%s purpose=%s", id_out, purpose);
    }
    pay_wipe(c.code, sizeof c.code);
    return e;
}

enum pay_err pay_platform_sms_challenge_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                           struct pay_http_request *req, const char *consumer_id,
                                           const char *to, const char *purpose,
                                           char id_out[PAY_ID_MAX], struct pay_error *err)
{
    char code[PAY_OTP_DIGITS + 1];
    enum pay_err e = challenge_tx(p, tx, consumer_id, purpose, id_out, code, err);
    if (e == PAY_ERR_OK) { /* a rolled back code cannot be checked: a text sent for nothing */
        outbox_add(p, req, to, code);
        PAY_INFO("sms.sent", "challenge=%s purpose=%s", id_out, purpose);
    }
    pay_wipe(code, sizeof code);
    return e;
}

struct vf_ctx {
    const char *id, *consumer_id, *purpose, *code;
    const uint8_t *key;
    char subject[PAY_ID_MAX + 8]; /* "sms:<consumer id>": one count over all their codes */
    struct pay_store_attempt attempt;
    char live_id[PAY_ID_MAX]; /* the challenge checked: id, or the purpose's newest */
};

/* The challenge's hash if it is live (not used, not expired); "" otherwise. Without an id
 * ("" : an API caller relays a code, not its challenge), the purpose's newest live code. */
static int live_hash(struct pay_store_tx *tx, struct vf_ctx *v, char hash[PAY_OTP_HASH_LEN],
                     struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT code_hash, id FROM pf_sms_codes WHERE ($1 = '' OR id = $1) AND consumer_id = $2"
        " AND purpose = $3 AND used = 0 AND expires_ms > $4 ORDER BY created_ms DESC LIMIT 1",
        "ttti", v->id, v->consumer_id, v->purpose, pay_clock_now_ms());
    if (!st)
        return -1;
    hash[0] = '\0';
    int rc = pay_store_step(st, err);
    if (rc == 1) {
        pay_store_col_copy(st, 0, hash, PAY_OTP_HASH_LEN);
        pay_store_col_copy(st, 1, v->live_id, sizeof v->live_id);
    }
    pay_store_done(st);
    return rc < 0 ? -1 : 0;
}

/* Counts the try (store/attempts.h), then checks the code, in one write transaction: the
 * check is a keyed hash, quick enough to run under the writer lock. *counted: a wrong code's
 * failure, which must be kept although the answer is a refusal. */
static enum pay_err verify_tx(struct pay_store_tx *tx, struct vf_ctx *v, bool *counted,
                              struct pay_error *err)
{
    char hash[PAY_OTP_HASH_LEN];
    *counted = false;
    if (live_hash(tx, v, hash, err) != 0)
        return err->code;
    if (!hash[0])
        return pay_error_set(err, PAY_ERR_CREDENTIALS_INVALID, "smsCode",
                             "the code has expired; ask for a new one");
    enum pay_err e = pay_store_attempt_reserve(tx, "pf_attempts", v->subject, pay_clock_now_ms(),
                                               &v->attempt, err);
    if (e == PAY_ERR_LOCKED) /* nothing counted, the code not checked */
        return pay_platform_locked_error(err, "smsCode", true);
    if (e != PAY_ERR_OK)
        return e;
    if (pay_otp_verify(hash, v->key, v->live_id, v->code) != 0) { /* the reservation is it */
        char left[24], minutes[24]; /* pages show these details translated */
        snprintf(left, sizeof left, "%lld", (long long)v->attempt.left);
        snprintf(minutes, sizeof minutes, "%d", PAY_LOCKOUT_DURATION_S / 60);
        *counted = true;
        return v->attempt.left == 0 ? pay_i18n_error_set(err, PAY_ERR_LOCKED, "smsCode",
                                                         "wrong code; locked for {minutes} minutes",
                                                         "minutes", minutes, NULL)
               : v->attempt.left == 1
                   ? pay_i18n_error_set(err, PAY_ERR_CREDENTIALS_INVALID, "smsCode",
                                        "wrong code; {left} attempt left", "left", left, NULL)
                   : pay_i18n_error_set(err, PAY_ERR_CREDENTIALS_INVALID, "smsCode",
                                        "wrong code; {left} attempts left", "left", left, NULL);
    }
    e = pay_store_attempt_succeeded(tx, "pf_attempts", v->subject, &v->attempt, err);
    if (e == PAY_ERR_OK)
        e = pay_store_exec(tx, err, "UPDATE pf_sms_codes SET used = 1 WHERE id = $1", "t",
                           v->live_id);
    return e;
}

static enum pay_err vf_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    bool counted = false;
    enum pay_err e = verify_tx(tx, ctx, &counted, err);
    return counted ? pay_store_keep(tx, e) : e;
}

enum pay_err pay_platform_sms_verify(struct pay_platform *p, const char *consumer_id,
                                     const char *id, const char *purpose, const char *code,
                                     struct pay_error *err)
{
    if (!id || !id[0]) /* a page's form names its challenge: none is none live */
        return pay_error_set(err, PAY_ERR_CREDENTIALS_INVALID, "smsCode",
                             "the code has expired; ask for a new one");
    struct vf_ctx v = {id, consumer_id, purpose, code ? code : "", p->otp_key, "", {0}, ""};
    snprintf(v.subject, sizeof v.subject, "sms:%s", consumer_id);
    return pay_platform_write(p, vf_tx, &v, err);
}

enum pay_err pay_platform_sms_verify_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                        const char *consumer_id, const char *purpose,
                                        const char *code, bool *counted, struct pay_error *err)
{
    struct vf_ctx v = {"", consumer_id, purpose, code ? code : "", p->otp_key, "", {0}, ""};
    snprintf(v.subject, sizeof v.subject, "sms:%s", consumer_id);
    return verify_tx(tx, &v, counted, err);
}

static enum pay_err h_outbox(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    if (!p->set.sandbox_sms)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "", NULL);
    json_t *list = json_array();
    pthread_mutex_lock(&p->sms_mu);
    size_t cap = sizeof p->sms / sizeof p->sms[0];
    for (size_t i = 0; i < p->sms_count; i++) { /* newest first */
        size_t at = (p->sms_next + cap - 1 - i) % cap;
        json_array_append_new(
            list, json_pack("{s:o, s:s, s:s, s:s}", "time", pay_platform_time_json(p->sms[at].ms),
                            "to", p->sms[at].to, "text", p->sms[at].text, "code", p->sms[at].code));
    }
    pthread_mutex_unlock(&p->sms_mu);
    pay_http_respond_json(req, 200, json_pack("{s:o}", "messages", list));
    return PAY_ERR_OK;
}

const struct pay_http_route *pay_platform_sms_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/sandbox/sms", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_outbox, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
