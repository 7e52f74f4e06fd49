/* Optional TOTP (authenticator app) for the consumer's login. The secret is stored sealed like
 * every other secret (XChaCha20-Poly1305 with the keyring of platform-aead.keys, associated
 * data "totp:<consumer id>", so a sealed secret cannot be moved to another consumer); "" means
 * TOTP is off. A new secret waits in totp_pending until its first code confirms it; those
 * tries are counted like every other secret's (store/attempts.h, subject "totp:<id>"). */
#include "platform/platform.h"

#include "core/clock.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "store/attempts.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <string.h>

static int aad_of(const char *consumer_id, char *out, size_t n)
{
    int len = snprintf(out, n, "totp:%s", consumer_id);
    return len > 0 && (size_t)len < n ? len : -1;
}

int pay_platform_totp_seal(const struct pay_platform *p, const char *consumer_id,
                           const char *secret, char out[PAY_PLATFORM_TOTP_SEALED_MAX])
{
    char aad[PAY_ID_MAX + 8];
    int an = aad_of(consumer_id, aad, sizeof aad);
    if (!secret[0]) { /* off stays off */
        out[0] = '\0';
        return 0;
    }
    return an < 0 ? -1
                  : pay_aead_seal(&p->aead, secret, strlen(secret), aad, (size_t)an, out,
                                  PAY_PLATFORM_TOTP_SEALED_MAX);
}

int pay_platform_totp_open(const struct pay_platform *p, const char *consumer_id,
                           const char *sealed, char out[PAY_PLATFORM_TOTP_TEXT_MAX])
{
    char aad[PAY_ID_MAX + 8];
    int an = aad_of(consumer_id, aad, sizeof aad);
    size_t n = 0;
    out[0] = '\0';
    if (!sealed[0])
        return 0;
    if (an < 0 || pay_aead_open(&p->aead, sealed, aad, (size_t)an, out,
                                PAY_PLATFORM_TOTP_TEXT_MAX - 1, &n) != 0)
        return -1;
    out[n] = '\0';
    return 0;
}

struct totp_ctx {
    struct pay_platform *p;
    const char *consumer_id, *sealed, *code;
    char subject[PAY_ID_MAX + 8];
    struct pay_store_attempt attempt;
};

static enum pay_err totp_begin_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct totp_ctx *t = ctx;
    return (pay_store_exec(tx, err, "UPDATE pf_consumers SET totp_pending = $1 WHERE id = $2", "tt",
                           t->sealed, t->consumer_id));
}

enum pay_err pay_platform_totp_begin(struct pay_platform *p, const char *consumer_id,
                                     char secret_out[64], struct pay_error *err)
{
    uint8_t key[PAY_TOTP_SECRET_LEN];
    char sealed[PAY_PLATFORM_TOTP_SEALED_MAX];
    pay_totp_secret_generate(key);
    int rc = pay_base32_encode(secret_out, 64, key, sizeof key);
    pay_wipe(key, sizeof key);
    if (rc != 0 || pay_platform_totp_seal(p, consumer_id, secret_out, sealed) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot make or seal a TOTP secret");
    struct totp_ctx t = {.p = p, .consumer_id = consumer_id, .sealed = sealed};
    return pay_platform_write(p, totp_begin_tx, &t, err);
}

/* The pending secret's code, checked under the writer lock after its attempt is counted. */
static bool pending_code_ok(struct totp_ctx *t, const char *sealed, int64_t *step)
{
    char secret[PAY_PLATFORM_TOTP_TEXT_MAX];
    uint8_t key[PAY_TOTP_SECRET_LEN + 8];
    size_t n = 0;
    bool ok =
        sealed[0] && pay_platform_totp_open(t->p, t->consumer_id, sealed, secret) == 0 &&
        pay_base32_decode(key, sizeof key, secret, strlen(secret), &n) == 0 &&
        pay_totp_verify(key, n, t->code, pay_clock_real_ms() / 1000, PAY_TOTP_DIGITS, step) == 0;
    pay_wipe(key, sizeof key);
    pay_wipe(secret, sizeof secret);
    return ok;
}

/* A counted wrong code: how many tries are left, or locked at the limit (translatable). */
static enum pay_err wrong_code(const struct totp_ctx *t, struct pay_error *err)
{
    char left[24], minutes[24];
    snprintf(left, sizeof left, "%lld", (long long)t->attempt.left);
    snprintf(minutes, sizeof minutes, "%d", PAY_LOCKOUT_DURATION_S / 60);
    if (t->attempt.left == 0)
        return pay_i18n_error_set(err, PAY_ERR_LOCKED, "totp",
                                  "the code does not match; locked for {minutes} minutes",
                                  "minutes", minutes, NULL);
    return t->attempt.left == 1
               ? pay_i18n_error_set(err, PAY_ERR_CREDENTIALS_INVALID, "totp",
                                    "the code does not match; {left} attempt left", "left", left,
                                    NULL)
               : pay_i18n_error_set(err, PAY_ERR_CREDENTIALS_INVALID, "totp",
                                    "the code does not match; {left} attempts left", "left", left,
                                    NULL);
}

static enum pay_err totp_confirm_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct totp_ctx *t = ctx;
    enum pay_err e = pay_store_attempt_reserve(tx, "pf_attempts", t->subject, pay_clock_now_ms(),
                                               &t->attempt, err);
    if (e == PAY_ERR_LOCKED) /* nothing counted, nothing checked */
        return pay_platform_locked_error(err, "totp", false);
    if (e != PAY_ERR_OK)
        return e;
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT totp_pending FROM pf_consumers WHERE id = $1", "t", t->consumer_id);
    if (!st)
        return err->code;
    char pending[PAY_PLATFORM_TOTP_SEALED_MAX] = "";
    if (pay_store_step(st, err) == 1)
        pay_store_col_copy(st, 0, pending, sizeof pending);
    pay_store_done(st);
    int64_t step = 0;
    if (!pending_code_ok(t, pending, &step)) /* the reservation stays: a failure */
        return pay_store_keep(tx, wrong_code(t, err));
    e = pay_store_attempt_succeeded(tx, "pf_attempts", t->subject, &t->attempt, err);
    if (e == PAY_ERR_OK)
        e = pay_store_exec(tx, err,
                           "UPDATE pf_consumers SET totp_secret = totp_pending, totp_pending = '',"
                           " totp_last_step = $1 WHERE id = $2",
                           "it", step, t->consumer_id);
    return e;
}

enum pay_err pay_platform_totp_confirm(struct pay_platform *p, const char *consumer_id,
                                       const char *code, struct pay_error *err)
{
    struct totp_ctx t = {.p = p, .consumer_id = consumer_id, .code = code ? code : ""};
    snprintf(t.subject, sizeof t.subject, "totp:%s", consumer_id);
    return pay_platform_write(p, totp_confirm_tx, &t, err);
}

/* Migration 11: secrets stored in clear by older versions (totp_sealed = 0), sealed at open
 * with the associated data aad_of gives. */
const struct pay_platform_legacy pay_platform_legacy_totp = {
    "pf_consumers", "totp_sealed", {"totp_secret", "totp_pending"}, "totp:"};
