/* Consumers of the platform: registration, login with lockout, web sessions that end after
 * PAY_SESSION_IDLE_S of idleness, the payment password (separate from the login password,
 * with its own lockout) and the wallet's balance. Password hashing (Argon2id, ~0.1 s) runs
 * outside any transaction; only the counters are written under the writer lock. */
#include "platform/platform.h"

#include "core/ids.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "crypto/password.h"

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

static enum pay_store_status add_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct add_ctx *a = ctx;
    enum pay_err e =
        pay_store_exec(tx, err,
                       "INSERT INTO pf_consumers (id, login, password_hash,"
                       " pay_password_hash, created_ms) VALUES ($1,$2,$3,$4,$5)",
                       "tttti", a->id, a->login, a->hash, a->pay_hash, pay_time_now_ms());
    if (e == PAY_ERR_DB_CONSTRAINT)
        pay_error_set(err, PAY_ERR_DUPLICATE, "login", "this login is already registered");
    return pay_store_status_of(e);
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
    return pay_store_run_tx(p->store, add_tx, &a, err);
}

/* --- secrets with lockout ------------------------------------------------------------------ */

struct secret_ctx {
    const char *by_col, *key; /* "login" or "id", and its value */
    const char *hash_col, *fail_col, *lock_col;
    char id[PAY_ID_MAX];
    char hash[PAY_PWHASH_STR_LEN];
    int64_t locked_until_ms;
    bool found;
    bool ok;               /* for record_tx */
    const char *totp_code; /* login: the authenticator code ("" when none given) */
    char totp_secret[64];  /* base32, "" when TOTP is off */
    int64_t totp_last_step, totp_step;
};

static enum pay_store_status secret_read_tx(struct pay_store_tx *tx, void *ctx,
                                            struct pay_error *err)
{
    struct secret_ctx *s = ctx;
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT id, %s, %s, totp_secret, totp_last_step FROM pf_consumers WHERE %s = $1",
             s->hash_col, s->lock_col, s->by_col);
    struct pay_store_stmt *st = pay_store_query(tx, err, sql, "t", s->key);
    if (!st)
        return pay_store_status_of(err->code);
    int rc = pay_store_step(st, err);
    s->found = rc == 1;
    if (rc == 1) {
        pay_store_col_copy(st, 0, s->id, sizeof s->id);
        pay_store_col_copy(st, 1, s->hash, sizeof s->hash);
        s->locked_until_ms = pay_store_col_int64(st, 2);
        pay_store_col_copy(st, 3, s->totp_secret, sizeof s->totp_secret);
        s->totp_last_step = pay_store_col_int64(st, 4);
    }
    pay_store_done(st);
    return rc < 0 ? PAY_STORE_HARD : PAY_STORE_COMMIT;
}

/* A failure counts toward the lock; a success clears the count. */
static enum pay_store_status secret_record_tx(struct pay_store_tx *tx, void *ctx,
                                              struct pay_error *err)
{
    struct secret_ctx *s = ctx;
    char sql[320];
    if (s->ok && s->totp_step > 0)
        return pay_store_status_of(pay_store_exec(
            tx, err, "UPDATE pf_consumers SET failed_logins = 0, totp_last_step = $2 WHERE id = $1",
            "ti", s->id, s->totp_step));
    if (s->ok)
        snprintf(sql, sizeof sql, "UPDATE pf_consumers SET %s = 0 WHERE id = $1 AND $2 >= 0",
                 s->fail_col);
    else
        snprintf(sql, sizeof sql,
                 "UPDATE pf_consumers SET %s = CASE WHEN %s + 1 >= %d THEN 0 ELSE %s + 1 END,"
                 " %s = CASE WHEN %s + 1 >= %d THEN $2 ELSE %s END WHERE id = $1",
                 s->fail_col, s->fail_col, PAY_LOCKOUT_ATTEMPTS, s->fail_col, s->lock_col,
                 s->fail_col, PAY_LOCKOUT_ATTEMPTS, s->lock_col);
    return pay_store_status_of(pay_store_exec(tx, err, sql, "ti", s->id,
                                              pay_time_now_ms() + PAY_LOCKOUT_DURATION_S * 1000LL));
}

/* The login's second factor: a code for the current step (+-1), newer than the last used. */
static bool totp_ok(struct secret_ctx *s)
{
    uint8_t key[PAY_TOTP_SECRET_LEN + 8];
    size_t n = 0;
    int64_t step = 0;
    bool ok = pay_base32_decode(key, sizeof key, s->totp_secret, strlen(s->totp_secret), &n) == 0 &&
              pay_totp_verify(key, n, s->totp_code, pay_time_now_ms() / 1000, PAY_TOTP_DIGITS,
                              &step) == 0 &&
              step > s->totp_last_step;
    pay_wipe(key, sizeof key);
    s->totp_step = ok ? step : 0;
    return ok;
}

static enum pay_err secret_check(struct pay_platform *p, struct secret_ctx *s, const char *secret,
                                 const char *field, struct pay_error *err)
{
    enum pay_err e = pay_store_run_read(p->store, secret_read_tx, s, err);
    if (e != PAY_ERR_OK)
        return e;
    if (!s->found) {
        /* The same answer as a wrong password, so logins cannot be probed. */
        return pay_error_set(err, PAY_ERR_CREDENTIALS_INVALID, field, NULL);
    }
    if (s->locked_until_ms > pay_time_now_ms())
        return pay_error_set(err, PAY_ERR_LOCKED, field, NULL);
    s->ok = pay_pwhash_verify(s->hash, secret, strlen(secret)) == 0;
    pay_wipe(s->hash, sizeof s->hash);
    if (s->ok && s->totp_code && s->totp_secret[0])
        s->ok = totp_ok(s);
    if ((e = pay_store_run_tx(p->store, secret_record_tx, s, err)) != PAY_ERR_OK)
        return e;
    return s->ok ? PAY_ERR_OK : pay_error_set(err, PAY_ERR_CREDENTIALS_INVALID, field, NULL);
}

enum pay_err pay_platform_consumer_check_pay_password(struct pay_platform *p,
                                                      const char *consumer_id,
                                                      const char *pay_password,
                                                      struct pay_error *err)
{
    struct secret_ctx s = {.by_col = "id",
                           .key = consumer_id,
                           .hash_col = "pay_password_hash",
                           .fail_col = "failed_pays",
                           .lock_col = "pay_locked_until_ms"};
    return secret_check(p, &s, pay_password, "pay_password", err);
}

/* --- sessions ---------------------------------------------------------------------------- */

struct session_ctx {
    char token_hash[PAY_SHA256_HEX_LEN];
    char consumer_id[PAY_ID_MAX];
    char csrf[PAY_PLATFORM_TOKEN_TEXT_MAX];
    char login[PAY_PLATFORM_LOGIN_MAX + 1];
    bool found;
    int64_t idle_ms;
};

static enum pay_store_status session_new_tx(struct pay_store_tx *tx, void *ctx,
                                            struct pay_error *err)
{
    struct session_ctx *s = ctx;
    int64_t now = pay_time_now_ms();
    return pay_store_status_of(
        pay_store_exec(tx, err,
                       "INSERT INTO pf_sessions (token_hash, consumer_id, csrf, created_ms,"
                       " last_seen_ms) VALUES ($1,$2,$3,$4,$5)",
                       "tttii", s->token_hash, s->consumer_id, s->csrf, now, now));
}

enum pay_err pay_platform_consumer_login(struct pay_platform *p, const char *login,
                                         const char *password, const char *totp,
                                         char token_out[PAY_PLATFORM_TOKEN_TEXT_MAX],
                                         struct pay_error *err)
{
    struct secret_ctx s = {.by_col = "login",
                           .key = login,
                           .hash_col = "password_hash",
                           .fail_col = "failed_logins",
                           .lock_col = "login_locked_until_ms",
                           .totp_code = totp ? totp : ""};
    enum pay_err e = secret_check(p, &s, password, "password", err);
    if (e != PAY_ERR_OK)
        return e;
    struct session_ctx sc = {0};
    snprintf(sc.consumer_id, sizeof sc.consumer_id, "%s", s.id);
    if (pay_random_token(token_out, PAY_PLATFORM_TOKEN_TEXT_MAX,
                         PAY_PLATFORM_SESSION_TOKEN_BYTES) != 0 ||
        pay_random_token(sc.csrf, sizeof sc.csrf, PAY_PLATFORM_SESSION_TOKEN_BYTES) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    pay_sha256_hex(sc.token_hash, token_out, strlen(token_out));
    return pay_store_run_tx(p->store, session_new_tx, &sc, err);
}

static enum pay_store_status session_get_tx(struct pay_store_tx *tx, void *ctx,
                                            struct pay_error *err)
{
    struct session_ctx *s = ctx;
    int64_t now = pay_time_now_ms();
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT s.consumer_id, s.csrf, c.login FROM pf_sessions s JOIN pf_consumers c"
        " ON c.id = s.consumer_id WHERE s.token_hash = $1 AND s.last_seen_ms > $2",
        "ti", s->token_hash, now - s->idle_ms);
    if (!st)
        return pay_store_status_of(err->code);
    int rc = pay_store_step(st, err);
    s->found = rc == 1;
    if (rc == 1) {
        pay_store_col_copy(st, 0, s->consumer_id, sizeof s->consumer_id);
        pay_store_col_copy(st, 1, s->csrf, sizeof s->csrf);
        pay_store_col_copy(st, 2, s->login, sizeof s->login);
    }
    pay_store_done(st);
    if (rc < 0)
        return PAY_STORE_HARD;
    /* Expired sessions are removed when seen; live ones are touched. */
    enum pay_err e =
        s->found ? pay_store_exec(tx, err,
                                  "UPDATE pf_sessions SET last_seen_ms = $1 WHERE token_hash = $2",
                                  "it", now, s->token_hash)
                 : pay_store_exec(tx, err, "DELETE FROM pf_sessions WHERE token_hash = $1", "t",
                                  s->token_hash);
    return pay_store_status_of(e);
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
    enum pay_err e = pay_store_run_tx(p->store, session_get_tx, &s, err);
    if (e != PAY_ERR_OK)
        return e;
    if (!s.found)
        return pay_error_set(err, PAY_ERR_UNAUTHENTICATED, "", "please log in again");
    snprintf(consumer_id, PAY_ID_MAX, "%s", s.consumer_id);
    snprintf(csrf, PAY_PLATFORM_TOKEN_TEXT_MAX, "%s", s.csrf);
    snprintf(login, PAY_PLATFORM_LOGIN_MAX + 1, "%s", s.login);
    return PAY_ERR_OK;
}

static enum pay_store_status session_end_tx(struct pay_store_tx *tx, void *ctx,
                                            struct pay_error *err)
{
    return pay_store_status_of(
        pay_store_exec(tx, err, "DELETE FROM pf_sessions WHERE token_hash = $1", "t", ctx));
}

void pay_platform_session_end(struct pay_platform *p, const char *token)
{
    char h[PAY_SHA256_HEX_LEN];
    struct pay_error err = {0};
    pay_sha256_hex(h, token, strlen(token));
    (void)pay_store_run_tx(p->store, session_end_tx, h, &err);
}

/* --- look-ups and the wallet ----------------------------------------------------------------- */

enum pay_err pay_platform_consumer_find(struct pay_platform *p, const char *login,
                                        char id_out[PAY_ID_MAX], struct pay_error *err)
{
    struct secret_ctx s = {.by_col = "login",
                           .key = login,
                           .hash_col = "password_hash",
                           .lock_col = "login_locked_until_ms"};
    enum pay_err e = pay_store_run_read(p->store, secret_read_tx, &s, err);
    pay_wipe(s.hash, sizeof s.hash);
    if (e == PAY_ERR_OK && !s.found)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "consumer", "no consumer %s", login);
    if (e == PAY_ERR_OK)
        snprintf(id_out, PAY_ID_MAX, "%s", s.id);
    return e;
}

enum pay_err pay_platform_wallet_balance(struct pay_platform *p, const char *consumer_id,
                                         const char *currency, int64_t *minor,
                                         struct pay_error *err)
{
    char id[PAY_LEDGER_ID_MAX + 1];
    if (pay_platform_account_id(PAY_PF_ACCT_WALLET, consumer_id, currency, id) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    struct pay_ledger_account a;
    bool found = false;
    enum pay_err e = pay_ledger_account_get(p->ledger, id, &a, &found, err);
    *minor = e == PAY_ERR_OK && found ? a.credits_posted - a.debits_posted : 0;
    return e;
}

struct credit_ctx {
    struct pay_platform *p;
    const char *consumer_id, *currency;
    int64_t minor;
};

static enum pay_store_status credit_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct credit_ctx *c = ctx;
    struct pay_ledger_transfer t = {.amount_minor = c->minor, .code = PAY_PF_XFER_SANDBOX_CREDIT};
    enum pay_err e;
    if ((e = pay_platform_account_ensure(c->p, tx, PAY_PF_ACCT_SANDBOX, "", c->currency,
                                         t.debit_account_id, err)) != PAY_ERR_OK ||
        (e = pay_platform_account_ensure(c->p, tx, PAY_PF_ACCT_WALLET, c->consumer_id, c->currency,
                                         t.credit_account_id, err)) != PAY_ERR_OK)
        return pay_store_status_of(e);
    char id[PAY_ID_MAX];
    if (pay_id_new("sbx", id) != PAY_ERR_OK)
        return PAY_STORE_HARD;
    snprintf(t.id, sizeof t.id, "%s", id);
    snprintf(t.currency, sizeof t.currency, "%s", c->currency);
    snprintf(t.user_data, sizeof t.user_data, "sandbox-credit");
    enum pay_ledger_result r;
    if ((e = pay_ledger_tx_transfer(c->p->ledger, tx, &t, &r, err)) != PAY_ERR_OK)
        return pay_store_status_of(e);
    return pay_platform_ledger_error(r, err) == PAY_ERR_OK ? PAY_STORE_COMMIT : PAY_STORE_HARD;
}

enum pay_err pay_platform_wallet_credit_sandbox(struct pay_platform *p, const char *consumer_id,
                                                int64_t minor, const char *currency,
                                                struct pay_error *err)
{
    struct credit_ctx c = {p, consumer_id, currency, minor};
    return pay_store_run_tx(p->store, credit_tx, &c, err);
}

/* --- TOTP set-up ------------------------------------------------------------------------------ */

struct totp_ctx {
    const char *consumer_id, *secret, *code;
    bool ok;
};

static enum pay_store_status totp_begin_tx(struct pay_store_tx *tx, void *ctx,
                                           struct pay_error *err)
{
    struct totp_ctx *t = ctx;
    return pay_store_status_of(
        pay_store_exec(tx, err, "UPDATE pf_consumers SET totp_pending = $1 WHERE id = $2", "tt",
                       t->secret, t->consumer_id));
}

enum pay_err pay_platform_totp_begin(struct pay_platform *p, const char *consumer_id,
                                     char secret_out[64], struct pay_error *err)
{
    uint8_t key[PAY_TOTP_SECRET_LEN];
    pay_totp_secret_generate(key);
    int rc = pay_base32_encode(secret_out, 64, key, sizeof key);
    pay_wipe(key, sizeof key);
    if (rc != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    struct totp_ctx t = {consumer_id, secret_out, NULL, false};
    return pay_store_run_tx(p->store, totp_begin_tx, &t, err);
}

static enum pay_store_status totp_confirm_tx(struct pay_store_tx *tx, void *ctx,
                                             struct pay_error *err)
{
    struct totp_ctx *t = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT totp_pending FROM pf_consumers WHERE id = $1", "t", t->consumer_id);
    if (!st)
        return pay_store_status_of(err->code);
    char pending[64] = "";
    if (pay_store_step(st, err) == 1)
        pay_store_col_copy(st, 0, pending, sizeof pending);
    pay_store_done(st);
    uint8_t key[PAY_TOTP_SECRET_LEN + 8];
    size_t n = 0;
    int64_t step = 0;
    t->ok = pending[0] && pay_base32_decode(key, sizeof key, pending, strlen(pending), &n) == 0 &&
            pay_totp_verify(key, n, t->code, pay_time_now_ms() / 1000, PAY_TOTP_DIGITS, &step) == 0;
    pay_wipe(key, sizeof key);
    if (!t->ok)
        return PAY_STORE_COMMIT;
    return pay_store_status_of(
        pay_store_exec(tx, err,
                       "UPDATE pf_consumers SET totp_secret = totp_pending, totp_pending = '',"
                       " totp_last_step = $1 WHERE id = $2",
                       "it", step, t->consumer_id));
}

enum pay_err pay_platform_totp_confirm(struct pay_platform *p, const char *consumer_id,
                                       const char *code, struct pay_error *err)
{
    struct totp_ctx t = {consumer_id, NULL, code, false};
    enum pay_err e = pay_store_run_tx(p->store, totp_confirm_tx, &t, err);
    if (e == PAY_ERR_OK && !t.ok)
        return pay_error_set(err, PAY_ERR_CREDENTIALS_INVALID, "totp", "the code does not match");
    return e;
}
