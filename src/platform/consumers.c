/* Consumers of the platform: registration, login with lockout, web sessions that end after
 * PAY_SESSION_IDLE_S of idleness, the payment password (separate from the login password,
 * with its own lockout) and the wallet's balance. Every try of a secret is counted before it
 * is checked (store/attempts.h); password hashing (Argon2id, ~0.1 s) runs outside any
 * transaction. */
#include "platform/platform.h"
#include "core/buf.h"

#include "core/assertions.h"
#include "core/clock.h"
#include "crypto/ids.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "store/attempts.h"
#include "i18n/i18n.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static bool login_valid(const char *s)
{
    size_t n = strnlen(s, PAY_PLATFORM_LOGIN_MAX + 1), digits = 0, at = 0;
    if (n == 0 || n > PAY_PLATFORM_LOGIN_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        digits += isdigit(c) ? 1 : 0;
        at += c == '@' ? 1 : 0;
        if (!(isalnum(c) || c == '@' || c == '.' || c == '_' || c == '-' || c == '+'))
            return false;
    }
    if (at == 1) /* e-mail: something@something.tld */
        return s[0] != '@' && strchr(strchr(s, '@'), '.') != NULL;
    return at == 0 && digits == n - (s[0] == '+' ? 1 : 0) && digits >= 6 && digits <= 15;
}

static bool pay_password_valid(const char *s)
{
    if (strlen(s) != 6)
        return false;
    for (size_t i = 0; i < 6; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

struct add_ctx {
    const char *id, *login, *hash, *pay_hash;
};

static enum pay_err add_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct add_ctx *a = ctx;
    enum pay_err e =
        pay_store_exec(tx, err,
                       "INSERT INTO pf_consumers (id, login, password_hash,"
                       " pay_password_hash, created_ms, totp_sealed) VALUES ($1,$2,$3,$4,$5,1)",
                       "tttti", a->id, a->login, a->hash, a->pay_hash, pay_clock_now_ms());
    if (e == PAY_ERR_DB_CONSTRAINT)
        pay_error_set(err, PAY_ERR_DUPLICATE, "login", "this login is already registered");
    return e;
}

enum pay_err pay_platform_consumer_add(struct pay_platform *p, const char *login,
                                       const char *password, const char *pay_password,
                                       char id_out[PAY_ID_MAX], struct pay_error *err)
{
    if (!login_valid(login))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "login",
                             "a phone number (6-15 digits) or an e-mail address");
    size_t pl = strlen(password);
    if (pl < 8 || pl > PAY_PASSWORD_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "password", "8 to %d characters",
                             PAY_PASSWORD_MAX);
    if (!pay_password_valid(pay_password))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "pay_password", "exactly 6 digits");
    if (strcmp(password, pay_password) == 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "pay_password",
                             "must differ from the login password");
    char hash[PAY_PWHASH_STR_LEN], pay_hash[PAY_PWHASH_STR_LEN];
    if (pay_pwhash_hash(hash, password, pl) != 0 ||
        pay_pwhash_hash(pay_hash, pay_password, strlen(pay_password)) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "password hashing failed");
    if (pay_id_new("cu", id_out) != PAY_ERR_OK)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "no randomness for an id");
    struct add_ctx a = {id_out, login, hash, pay_hash};
    return pay_platform_write(p, add_tx, &a, err);
}

/* --- secrets with lockout (store/attempts.h) ---------------------------------------------- */

#define ATTEMPTS_TABLE "pf_attempts"

struct secret_ctx {
    const char *by_col, *key; /* "login" or "id", and its value */
    const char *hash_col;
    const char *kind; /* "login" or "pay": the attempt subject is "<kind>:<consumer id>" */
    char id[PAY_ID_MAX];
    char subject[PAY_ID_MAX + 8];
    char hash[PAY_PWHASH_STR_LEN];
    bool found;
    struct pay_store_attempt attempt;
    const char *totp_code; /* login: the authenticator code; NULL for the payment password */
    char totp_sealed[PAY_PLATFORM_TOTP_SEALED_MAX]; /* "" when TOTP is off */
    int64_t totp_last_step, totp_step;
    const char *field;  /* of the secret, for the answer */
    const char *source; /* the client's IP, for the audit trail ("" unknown) */
};

/* A refused secret's audit entry (PCI DSS 10.2: invalid access attempts): the consumer when
 * known, else the login that was tried. */
static void audit_refusal(struct pay_platform *p, const struct secret_ctx *s, enum pay_err e)
{
    char actor[PAY_AUDIT_TEXT_MAX], target[PAY_PLATFORM_LOGIN_MAX + 1];
    bool login = strcmp(s->kind, "login") == 0;
    snprintf(actor, sizeof actor, "consumer:%s", s->found ? s->id : "");
    pay_str_copy(target, sizeof target, login ? s->key : s->id); /* a login is at most this */
    pay_platform_audit_event(p,
                             &(struct pay_audit_entry){.actor = actor,
                                                       .action = login ? "login" : "pay_password",
                                                       .target = target,
                                                       .outcome = pay_err_name(e),
                                                       .source = s->source,
                                                       .detail = s->found ? "" : "no such login"});
}

static enum pay_err secret_read_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct secret_ctx *s = ctx;
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT id, %s, totp_secret, totp_last_step FROM pf_consumers WHERE %s = $1",
             s->hash_col, s->by_col);
    struct pay_store_stmt *st = pay_store_query(tx, err, sql, "t", s->key);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    s->found = rc == 1;
    if (rc == 1) {
        pay_store_col_copy(st, 0, s->id, sizeof s->id);
        pay_store_col_copy(st, 1, s->hash, sizeof s->hash);
        pay_store_col_copy(st, 2, s->totp_sealed, sizeof s->totp_sealed);
        s->totp_last_step = pay_store_col_int64(st, 3);
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

/* Counts the attempt before the secret is checked; LOCKED (nothing counted) past the limit. */
static enum pay_err reserve_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct secret_ctx *s = ctx;
    return (pay_store_attempt_reserve(tx, ATTEMPTS_TABLE, s->subject, pay_clock_now_ms(),
                                      &s->attempt, err));
}

static enum pay_err wrong(const struct secret_ctx *s, struct pay_error *err);

/* The secret was right: forgive the attempt. A TOTP code is taken only if its step is still
 * newer than the last one used, checked here under the writer lock, so two parallel logins
 * cannot both use one code (the loser stays counted as a failure: nothing is written). */
static enum pay_err success_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct secret_ctx *s = ctx;
    if (s->totp_step > 0) {
        enum pay_err e = pay_store_exec(tx, err,
                                        "UPDATE pf_consumers SET totp_last_step = $2"
                                        " WHERE id = $1 AND totp_last_step < $2",
                                        "ti", s->id, s->totp_step);
        if (e != PAY_ERR_OK)
            return e;
        if (pay_store_changes(tx) != 1)
            return wrong(s, err);
    }
    return pay_store_attempt_succeeded(tx, ATTEMPTS_TABLE, s->subject, &s->attempt, err);
}

/* The login's second factor: a code for the current step (+-1), newer than the last used. */
static bool totp_ok(struct pay_platform *p, struct secret_ctx *s)
{
    char secret[PAY_PLATFORM_TOTP_TEXT_MAX];
    uint8_t key[PAY_TOTP_SECRET_LEN + 8];
    size_t n = 0;
    int64_t step = 0;
    bool ok = pay_platform_totp_open(p, s->id, s->totp_sealed, secret) == 0 &&
              pay_base32_decode(key, sizeof key, secret, strlen(secret), &n) == 0 &&
              pay_totp_verify(key, n, s->totp_code, pay_clock_real_ms() / 1000, PAY_TOTP_DIGITS,
                              &step) == 0 &&
              step > s->totp_last_step;
    pay_wipe(key, sizeof key);
    pay_wipe(secret, sizeof secret);
    s->totp_step = ok ? step : 0;
    return ok;
}

/* The answer to a wrong secret. A login says no more than "wrong" (an unknown login gets the
 * same answer and has no count to show); the payment password, asked of a logged-in
 * consumer, says how many tries are left. */
static enum pay_err wrong(const struct secret_ctx *s, struct pay_error *err)
{
    const char *field = s->field;
    bool pay = strcmp(s->kind, "pay") == 0;
    char left[24], minutes[24], attempts[24]; /* pages show these details translated */
    snprintf(left, sizeof left, "%lld", (long long)s->attempt.left);
    snprintf(minutes, sizeof minutes, "%d", PAY_LOCKOUT_DURATION_S / 60);
    snprintf(attempts, sizeof attempts, "%d", PAY_LOCKOUT_ATTEMPTS);
    if (s->attempt.left == 0 && pay)
        return pay_i18n_error_set(
            err, PAY_ERR_LOCKED, field,
            "wrong payment password; locked for {minutes} minutes after {attempts} failed attempts",
            "minutes", minutes, "attempts", attempts, NULL);
    if (s->attempt.left == 0)
        return pay_i18n_error_set(
            err, PAY_ERR_LOCKED, field,
            "wrong password; locked for {minutes} minutes after {attempts} failed attempts",
            "minutes", minutes, "attempts", attempts, NULL);
    if (!pay)
        return pay_error_set(err, PAY_ERR_CREDENTIALS_INVALID, field, NULL);
    return s->attempt.left == 1 ? pay_i18n_error_set(err, PAY_ERR_CREDENTIALS_INVALID, field,
                                                     "wrong payment password; {left} attempt left",
                                                     "left", left, NULL)
                                : pay_i18n_error_set(err, PAY_ERR_CREDENTIALS_INVALID, field,
                                                     "wrong payment password; {left} attempts left",
                                                     "left", left, NULL);
}

/* Reserve (one write transaction), check outside any transaction (Argon2id is slow), then
 * record a success (another). Past the limit nothing is checked. */
static enum pay_err secret_check(struct pay_platform *p, struct secret_ctx *s, const char *secret,
                                 const char *field, struct pay_error *err)
{
    s->field = field;
    enum pay_err e = pay_store_run_read(p->store, secret_read_tx, s, err);
    if (e == PAY_ERR_OK && !s->found) /* the same answer as a wrong password: no probing */
        e = pay_error_set(err, PAY_ERR_CREDENTIALS_INVALID, field, NULL);
    snprintf(s->subject, sizeof s->subject, "%s:%s", s->kind, s->id);
    if (e == PAY_ERR_OK && (e = pay_platform_write(p, reserve_tx, s, err)) == PAY_ERR_LOCKED)
        pay_platform_locked_error(err, field, false);
    if (e != PAY_ERR_OK) {
        pay_wipe(s->hash, sizeof s->hash);
        if (e == PAY_ERR_CREDENTIALS_INVALID || e == PAY_ERR_LOCKED)
            audit_refusal(p, s, e);
        return e;
    }
    bool right = pay_pwhash_verify(s->hash, secret, strlen(secret)) == 0;
    pay_wipe(s->hash, sizeof s->hash);
    if (right && s->totp_code && s->totp_sealed[0])
        right = totp_ok(p, s);
    if (right)
        return pay_platform_write(p, success_tx, s, err);
    e = wrong(s, err);
    audit_refusal(p, s, e);
    return e;
}

enum pay_err pay_platform_consumer_check_pay_password(struct pay_platform *p,
                                                      const char *consumer_id,
                                                      const char *pay_password,
                                                      struct pay_error *err)
{
    struct secret_ctx s = {
        .by_col = "id", .key = consumer_id, .hash_col = "pay_password_hash", .kind = "pay"};
    return secret_check(p, &s, pay_password, "pay_password", err);
}

/* --- sessions ---------------------------------------------------------------------------- */

struct session_ctx {
    struct pay_platform *p; /* session_new_tx: the login's audit entry */
    const char *login_tried, *source;
    char token_hash[PAY_SHA256_HEX_LEN];
    char consumer_id[PAY_ID_MAX];
    char csrf[PAY_PLATFORM_TOKEN_TEXT_MAX];
    char login[PAY_PLATFORM_LOGIN_MAX + 1];
    bool found;
    int64_t idle_ms;
};

static enum pay_err session_new_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct session_ctx *s = ctx;
    int64_t now = pay_clock_now_ms();
    enum pay_err e = pay_store_exec(tx, err,
                                    "INSERT INTO pf_sessions (token_hash, consumer_id, csrf,"
                                    " created_ms, last_seen_ms) VALUES ($1,$2,$3,$4,$5)",
                                    "tttii", s->token_hash, s->consumer_id, s->csrf, now, now);
    char actor[PAY_AUDIT_TEXT_MAX];
    snprintf(actor, sizeof actor, "consumer:%s", s->consumer_id);
    if (e == PAY_ERR_OK)
        e = pay_platform_audit(
            s->p, tx,
            &(struct pay_audit_entry){
                .actor = actor, .action = "login", .target = s->login_tried, .source = s->source},
            err);
    return e;
}

enum pay_err pay_platform_consumer_login(struct pay_platform *p, const char *login,
                                         const char *password, const char *totp, const char *source,
                                         char token_out[PAY_PLATFORM_TOKEN_TEXT_MAX],
                                         struct pay_error *err)
{
    struct secret_ctx s = {.by_col = "login",
                           .key = login,
                           .hash_col = "password_hash",
                           .kind = "login",
                           .totp_code = totp ? totp : "",
                           .source = source ? source : ""};
    enum pay_err e = secret_check(p, &s, password, "password", err);
    if (e != PAY_ERR_OK)
        return e;
    struct session_ctx sc = {.p = p, .login_tried = login, .source = s.source};
    pay_str_copy(sc.consumer_id, sizeof sc.consumer_id, s.id);
    if (pay_random_token(token_out, PAY_PLATFORM_TOKEN_TEXT_MAX,
                         PAY_PLATFORM_SESSION_TOKEN_BYTES) != 0 ||
        pay_random_token(sc.csrf, sizeof sc.csrf, PAY_PLATFORM_SESSION_TOKEN_BYTES) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    pay_sha256_hex(sc.token_hash, token_out, strlen(token_out));
    return pay_platform_write(p, session_new_tx, &sc, err);
}

static enum pay_err session_get_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct session_ctx *s = ctx;
    int64_t now = pay_clock_now_ms();
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT s.consumer_id, s.csrf, c.login FROM pf_sessions s JOIN pf_consumers c"
        " ON c.id = s.consumer_id WHERE s.token_hash = $1 AND s.last_seen_ms > $2",
        "ti", s->token_hash, now - s->idle_ms);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    s->found = rc == 1;
    if (rc == 1) {
        pay_store_col_copy(st, 0, s->consumer_id, sizeof s->consumer_id);
        pay_store_col_copy(st, 1, s->csrf, sizeof s->csrf);
        pay_store_col_copy(st, 2, s->login, sizeof s->login);
    }
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    /* Expired sessions are removed when seen; live ones are touched. */
    enum pay_err e =
        s->found ? pay_store_exec(tx, err,
                                  "UPDATE pf_sessions SET last_seen_ms = $1 WHERE token_hash = $2",
                                  "it", now, s->token_hash)
                 : pay_store_exec(tx, err, "DELETE FROM pf_sessions WHERE token_hash = $1", "t",
                                  s->token_hash);
    return e;
}

enum pay_err pay_platform_session_get(struct pay_platform *p, const char *token,
                                      char consumer_id[PAY_ID_MAX],
                                      char csrf[PAY_PLATFORM_TOKEN_TEXT_MAX],
                                      char login[PAY_PLATFORM_LOGIN_MAX + 1], struct pay_error *err)
{
    if (!token || !token[0] || strlen(token) >= PAY_PLATFORM_TOKEN_TEXT_MAX)
        return pay_error_set(err, PAY_ERR_UNAUTHENTICATED, "", NULL);
    struct session_ctx s = {.idle_ms = p->set.session_idle_ms};
    pay_sha256_hex(s.token_hash, token, strlen(token));
    enum pay_err e = pay_platform_write(p, session_get_tx, &s, err);
    if (e != PAY_ERR_OK)
        return e;
    if (!s.found)
        return pay_error_set(err, PAY_ERR_UNAUTHENTICATED, "", "please log in again");
    pay_str_copy(consumer_id, PAY_ID_MAX, s.consumer_id);
    pay_str_copy(csrf, PAY_PLATFORM_TOKEN_TEXT_MAX, s.csrf);
    pay_str_copy(login, PAY_PLATFORM_LOGIN_MAX + 1, s.login);
    return PAY_ERR_OK;
}

static enum pay_err session_end_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    return (pay_store_exec(tx, err, "DELETE FROM pf_sessions WHERE token_hash = $1", "t", ctx));
}

void pay_platform_session_end(struct pay_platform *p, const char *token)
{
    char h[PAY_SHA256_HEX_LEN];
    struct pay_error err = {0};
    pay_sha256_hex(h, token, strlen(token));
    (void)pay_platform_write(p, session_end_tx, h, &err);
}

/* --- look-ups and the wallet ----------------------------------------------------------------- */

enum pay_err pay_platform_consumer_find(struct pay_platform *p, const char *login,
                                        char id_out[PAY_ID_MAX], struct pay_error *err)
{
    struct secret_ctx s = {.by_col = "login", .key = login, .hash_col = "password_hash"};
    enum pay_err e = pay_store_run_read(p->store, secret_read_tx, &s, err);
    pay_wipe(s.hash, sizeof s.hash);
    if (e == PAY_ERR_OK && !s.found)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "consumer", "no consumer %s", login);
    if (e == PAY_ERR_OK)
        pay_str_copy(id_out, PAY_ID_MAX, s.id);
    return e;
}

enum pay_err pay_platform_wallet_balance(struct pay_platform *p, const char *consumer_id,
                                         const char *currency, int64_t *minor, int64_t *held,
                                         struct pay_error *err)
{
    char id[PAY_LEDGER_ID_MAX + 1];
    if (pay_platform_account_id(PAY_PF_ACCT_WALLET, consumer_id, currency, id) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    struct pay_ledger_account a;
    bool found = false;
    enum pay_err e = pay_ledger_account_get(p->ledger, id, &a, &found, err);
    bool have = e == PAY_ERR_OK && found;
    /* The platform's only pending debits of a wallet are risk holds (docs/risk.md, "Review"):
     * the ledger keeps debits_pending + debits_posted <= credits_posted, so this is >= 0. */
    *minor = have ? pay_ledger_account_net_credit(&a) - a.debits_pending : 0;
    PAY_ASSERT_MSG(*minor >= 0, "wallet %s spendable below zero", id);
    if (held)
        *held = have ? a.debits_pending : 0;
    return e;
}

struct credit_ctx {
    struct pay_platform *p;
    const char *consumer_id, *currency;
    int64_t minor;
};

static enum pay_err credit_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct credit_ctx *c = ctx;
    PAY_ASSERT_MSG(c->minor > 0 && c->minor <= PAY_AMOUNT_MAX_MINOR, "sandbox credit");
    struct pay_ledger_transfer t = {.amount_minor = c->minor, .code = PAY_PF_XFER_SANDBOX_CREDIT};
    enum pay_err e;
    if ((e = pay_platform_account_ensure(c->p, tx, PAY_PF_ACCT_SANDBOX, "", c->currency,
                                         t.debit_account_id, err)) != PAY_ERR_OK ||
        (e = pay_platform_account_ensure(c->p, tx, PAY_PF_ACCT_WALLET, c->consumer_id, c->currency,
                                         t.credit_account_id, err)) != PAY_ERR_OK)
        return e;
    char id[PAY_ID_MAX];
    if (pay_id_new("sbx", id) != PAY_ERR_OK)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "no randomness for an id");
    pay_str_copy(t.id, sizeof t.id, id);
    pay_str_copy(t.currency, sizeof t.currency, c->currency);
    snprintf(t.user_data, sizeof t.user_data, "sandbox-credit");
    enum pay_ledger_result r;
    if ((e = pay_ledger_tx_transfer(c->p->ledger, tx, &t, &r, err)) != PAY_ERR_OK ||
        (e = pay_platform_ledger_error(r, err)) != PAY_ERR_OK)
        return e;
    char detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(detail, sizeof detail, "amount_minor=%lld currency=%s transfer=%s",
             (long long)c->minor, c->currency, t.id);
    return pay_platform_audit(c->p, tx,
                              &(struct pay_audit_entry){.actor = "operator",
                                                        .action = "wallet.sandbox_credit",
                                                        .target = c->consumer_id,
                                                        .detail = detail},
                              err);
}

enum pay_err pay_platform_wallet_credit_sandbox(struct pay_platform *p, const char *consumer_id,
                                                int64_t minor, const char *currency,
                                                struct pay_error *err)
{
    struct credit_ctx c = {p, consumer_id, currency, minor};
    return pay_platform_write(p, credit_tx, &c, err);
}
