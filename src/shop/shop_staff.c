/* The shop's staff (docs/shop.md "Staff login"): accounts with Argon2id password hashes and a
 * role, the login whose every try is counted before its password is checked (store/attempts.h),
 * and sessions kept in the store as the SHA-256 of their token (a copy of the database opens
 * none), each with its CSRF token, ending after PAY_SESSION_IDLE_S without a request. */
#include "shop/shop.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "i18n/i18n.h"
#include "store/attempts.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"

#define ATTEMPTS_TABLE "staff_attempts"

enum shop_role shop_role_parse(const char *s)
{
    if (s && strcmp(s, "admin") == 0)
        return SHOP_ROLE_ADMIN;
    if (s && strcmp(s, "courier") == 0)
        return SHOP_ROLE_COURIER;
    return 0;
}

const char *shop_role_name(enum shop_role r)
{
    return r == SHOP_ROLE_ADMIN ? "admin" : r == SHOP_ROLE_COURIER ? "courier" : "";
}

bool shop_login_valid(const char *login)
{
    size_t n = login ? strnlen(login, PAY_SHOP_LOGIN_MAX + 1) : 0;
    if (n == 0 || n > PAY_SHOP_LOGIN_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((login[i] >= 'a' && login[i] <= 'z') || (login[i] >= '0' && login[i] <= '9') ||
              login[i] == '.' || login[i] == '_' || login[i] == '-'))
            return false;
    return true;
}

/* --- accounts ------------------------------------------------------------------------------ */

struct set_ctx {
    const char *login, *hash, *role, *source;
};

/* Whether login has an account (into *found). */
static enum pay_err account_exists(struct pay_store_tx *tx, const char *login, bool *found,
                                   struct pay_error *err)
{
    struct pay_store_stmt *st =
        pay_store_query(tx, err, "SELECT 1 FROM staff WHERE login = $1", "t", login);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    pay_store_done(st);
    *found = rc == 1;
    return rc < 0 ? err->code : PAY_ERR_OK;
}

static enum pay_err set_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct set_ctx *c = ctx;
    bool existed = false;
    char detail[32];
    snprintf(detail, sizeof detail, "role=%s", c->role);
    enum pay_err e = account_exists(tx, c->login, &existed, err);
    if (e == PAY_ERR_OK)
        e = shop_staff_audit_tx(tx, c->login, existed ? "password_changed" : "account_created",
                                c->source, detail, err);
    if (e == PAY_ERR_OK)
        e = pay_store_exec(
            tx, err,
            "INSERT INTO staff(login, password_hash, role, created_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (login) DO UPDATE SET password_hash = excluded.password_hash,"
            " role = excluded.role",
            "ttti", c->login, c->hash, c->role, pay_clock_now_ms() / 1000);
    /* a new password ends the sessions the old one opened */
    return e == PAY_ERR_OK ? pay_store_exec(tx, err, "DELETE FROM staff_sessions WHERE login = $1",
                                            "t", c->login)
                           : e;
}

enum pay_err shop_staff_set(struct shop *s, const char *login, const char *password,
                            enum shop_role role, const char *source, struct pay_error *err)
{
    if (!shop_login_valid(login))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "login", "1 to %d of a-z 0-9 . _ -",
                             PAY_SHOP_LOGIN_MAX);
    size_t n = password ? strlen(password) : 0;
    if (n < PAY_SHOP_PASSWORD_MIN || n > PAY_PASSWORD_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "password", "%d to %d characters",
                             PAY_SHOP_PASSWORD_MIN, PAY_PASSWORD_MAX);
    if (!shop_role_name(role)[0])
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "role", "admin or courier");
    char hash[PAY_PWHASH_STR_LEN];
    if (pay_pwhash_hash(hash, password, n) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot hash the password");
    struct set_ctx c = {login, hash, shop_role_name(role), source};
    return pay_store_run_tx(s->store, set_tx, &c, err);
}

static enum pay_err count_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(tx, err, "SELECT COUNT(*) FROM staff", "");
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    *(int64_t *)ctx = rc == 1 ? pay_store_col_int64(st, 0) : 0;
    pay_store_done(st);
    return rc == 1 ? PAY_ERR_OK : rc < 0 ? err->code : PAY_ERR_INTERNAL;
}

enum pay_err shop_staff_count(struct shop *s, int64_t *n, struct pay_error *err)
{
    return pay_store_run_read(s->store, count_tx, n, err);
}

/* --- login --------------------------------------------------------------------------------- */

struct login_ctx {
    const char *login, *source;
    char subject[PAY_SHOP_LOGIN_MAX + 8];
    char hash[PAY_PWHASH_STR_LEN];
    char role[16];
    bool found;
    struct pay_store_attempt attempt;
    char token_hash[PAY_SHA256_HEX_LEN], csrf[PAY_SHOP_TOKEN_TEXT_MAX];
};

/* The account (found) and, in the same write transaction, the try reserved. */
static enum pay_err reserve_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct login_ctx *l = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT password_hash, role FROM staff WHERE login = $1", "t", l->login);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    l->found = rc == 1;
    if (rc == 1) {
        pay_store_col_copy(st, 0, l->hash, sizeof l->hash);
        pay_store_col_copy(st, 1, l->role, sizeof l->role);
    }
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    /* unknown logins share one counter: they answer as a real one would, and an attacker's
     * list of names adds no rows */
    snprintf(l->subject, sizeof l->subject, "staff:%s", l->found ? l->login : "?");
    return pay_store_attempt_reserve(tx, ATTEMPTS_TABLE, l->subject, pay_clock_now_ms(),
                                     &l->attempt, err);
}

static enum pay_err success_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct login_ctx *l = ctx;
    enum pay_err e = pay_store_attempt_succeeded(tx, ATTEMPTS_TABLE, l->subject, &l->attempt, err);
    int64_t now = pay_clock_now_ms();
    if (e == PAY_ERR_OK) /* sessions idle past their end go when someone logs in */
        e = pay_store_exec(tx, err, "DELETE FROM staff_sessions WHERE last_seen_ms <= $1", "i",
                           now - PAY_SESSION_IDLE_S * 1000LL);
    if (e == PAY_ERR_OK)
        e = pay_store_exec(tx, err,
                           "INSERT INTO staff_sessions(token_hash, login, csrf, created_ms,"
                           " last_seen_ms) VALUES ($1, $2, $3, $4, $5)",
                           "tttii", l->token_hash, l->login, l->csrf, now, now);
    char detail[32];
    snprintf(detail, sizeof detail, "role=%s", l->role);
    return e == PAY_ERR_OK ? shop_staff_audit_tx(tx, l->login, "login", l->source, detail, err) : e;
}

/* A hash no password matches, checked for unknown logins so that they take as long. */
static char dummy_hash[PAY_PWHASH_STR_LEN];
static void dummy_init(void)
{
    char pw[PAY_BASE64URL_LEN(PAY_SHOP_PASSWORD_BYTES)];
    if (pay_random_token(pw, sizeof pw, PAY_SHOP_PASSWORD_BYTES) != 0 ||
        pay_pwhash_hash(dummy_hash, pw, strlen(pw)) != 0)
        dummy_hash[0] = '\0';
    pay_wipe(pw, sizeof pw);
}

/* A wrong password: how many tries are left, or the lock this try set; audited (the name
 * tried, never the password). */
static enum pay_err wrong(struct shop *s, const struct login_ctx *l, struct pay_error *err)
{
    char left[24], minutes[24], attempts[24], detail[32];
    snprintf(left, sizeof left, "%lld", (long long)l->attempt.left);
    snprintf(detail, sizeof detail, "left=%lld", (long long)l->attempt.left);
    shop_staff_audit(s, l->login, l->attempt.left == 0 ? "lockout" : "login_failed", l->source,
                     detail);
    snprintf(minutes, sizeof minutes, "%d", PAY_LOCKOUT_DURATION_S / 60);
    snprintf(attempts, sizeof attempts, "%d", PAY_LOCKOUT_ATTEMPTS);
    if (l->attempt.left == 0)
        return pay_i18n_error_set(
            err, PAY_ERR_LOCKED, "password",
            "wrong password; locked for {minutes} minutes after {attempts} failed attempts",
            "minutes", minutes, "attempts", attempts, NULL);
    return l->attempt.left == 1
               ? pay_i18n_error_set(err, PAY_ERR_CREDENTIALS_INVALID, "password",
                                    "wrong user name or password; {left} attempt left", "left",
                                    left, NULL)
               : pay_i18n_error_set(err, PAY_ERR_CREDENTIALS_INVALID, "password",
                                    "wrong user name or password; {left} attempts left", "left",
                                    left, NULL);
}

static enum pay_err locked(struct pay_error *err)
{
    char minutes[24], attempts[24];
    snprintf(minutes, sizeof minutes, "%d", PAY_LOCKOUT_DURATION_S / 60);
    snprintf(attempts, sizeof attempts, "%d", PAY_LOCKOUT_ATTEMPTS);
    return pay_i18n_error_set(err, PAY_ERR_LOCKED, "password",
                              "locked after {attempts} failed attempts; try again in {minutes} "
                              "minutes",
                              "attempts", attempts, "minutes", minutes, NULL);
}

enum pay_err shop_staff_login(struct shop *s, const char *login, const char *password,
                              const char *source, char token_out[PAY_SHOP_TOKEN_TEXT_MAX],
                              struct shop_staff *who, struct pay_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    memset(who, 0, sizeof *who);
    token_out[0] = '\0';
    struct login_ctx l = {.login = shop_login_valid(login) ? login : "?", .source = source};
    enum pay_err e = pay_store_run_tx(s->store, reserve_tx, &l, err);
    if (e == PAY_ERR_LOCKED) {
        shop_staff_audit(s, l.login, "login_locked", source, "not checked");
        return locked(err);
    }
    if (e != PAY_ERR_OK)
        return e;
    if (!l.found)
        pthread_once(&once, dummy_init);
    size_t n = password ? strnlen(password, PAY_PASSWORD_MAX + 1) : 0;
    bool right =
        pay_pwhash_verify(l.found ? l.hash : dummy_hash, password ? password : "", n) == 0 &&
        l.found && shop_role_parse(l.role) != 0;
    pay_wipe(l.hash, sizeof l.hash);
    if (!right)
        return wrong(s, &l, err);
    if (pay_random_token(token_out, PAY_SHOP_TOKEN_TEXT_MAX, PAY_SHOP_TOKEN_BYTES) != 0 ||
        pay_random_token(l.csrf, sizeof l.csrf, PAY_SHOP_TOKEN_BYTES) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "no randomness for a session");
    pay_sha256_hex(l.token_hash, token_out, strlen(token_out));
    if ((e = pay_store_run_tx(s->store, success_tx, &l, err)) != PAY_ERR_OK) {
        pay_wipe(token_out, PAY_SHOP_TOKEN_TEXT_MAX);
        return e;
    }
    /* both fit: a valid login (shop_login_valid), a token of the same size */
    bool fit = pay_str_copy(who->login, sizeof who->login, l.login) &&
               pay_str_copy(who->csrf, sizeof who->csrf, l.csrf);
    PAY_ASSERT(fit);
    who->role = shop_role_parse(l.role);
    return PAY_ERR_OK;
}

/* --- sessions ------------------------------------------------------------------------------ */

struct session_ctx {
    char token_hash[PAY_SHA256_HEX_LEN];
    struct shop_staff *who;
    bool found;
};

static enum pay_err session_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct session_ctx *c = ctx;
    int64_t now = pay_clock_now_ms();
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT a.login, a.role, s.csrf FROM staff_sessions s JOIN staff a ON a.login = s.login"
        " WHERE s.token_hash = $1 AND s.last_seen_ms > $2",
        "ti", c->token_hash, now - PAY_SESSION_IDLE_S * 1000LL);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    c->found = rc == 1;
    if (rc == 1) {
        pay_store_col_copy(st, 0, c->who->login, sizeof c->who->login);
        c->who->role = shop_role_parse(pay_store_col_text(st, 1));
        pay_store_col_copy(st, 2, c->who->csrf, sizeof c->who->csrf);
    }
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    return c->found ? pay_store_exec(tx, err,
                                     "UPDATE staff_sessions SET last_seen_ms = $1"
                                     " WHERE token_hash = $2",
                                     "it", now, c->token_hash)
                    : pay_store_exec(tx, err, "DELETE FROM staff_sessions WHERE token_hash = $1",
                                     "t", c->token_hash);
}

enum pay_err shop_staff_session(struct shop *s, const char *token, struct shop_staff *who,
                                struct pay_error *err)
{
    memset(who, 0, sizeof *who);
    if (!token || !token[0] || strlen(token) >= PAY_SHOP_TOKEN_TEXT_MAX)
        return pay_error_set(err, PAY_ERR_UNAUTHENTICATED, "session", NULL);
    struct session_ctx c = {.who = who};
    pay_sha256_hex(c.token_hash, token, strlen(token));
    enum pay_err e = pay_store_run_tx(s->store, session_tx, &c, err);
    if (e == PAY_ERR_OK && (!c.found || !who->role))
        return pay_error_set(err, PAY_ERR_UNAUTHENTICATED, "session", NULL);
    return e;
}

struct end_ctx {
    char token_hash[PAY_SHA256_HEX_LEN];
    const char *login, *source;
};

static enum pay_err end_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    const struct end_ctx *c = ctx;
    enum pay_err e = pay_store_exec(tx, err, "DELETE FROM staff_sessions WHERE token_hash = $1",
                                    "t", c->token_hash);
    if (e != PAY_ERR_OK || pay_store_changes(tx) == 0) /* no live session: nothing ended */
        return e;
    return shop_staff_audit_tx(tx, c->login, "logout", c->source, "", err);
}

void shop_staff_logout(struct shop *s, const char *token, const char *login, const char *source)
{
    if (!token || !token[0] || strlen(token) >= PAY_SHOP_TOKEN_TEXT_MAX)
        return;
    struct end_ctx c = {.login = login, .source = source};
    struct pay_error err = {0};
    pay_sha256_hex(c.token_hash, token, strlen(token));
    if (pay_store_run_tx(s->store, end_tx, &c, &err) != PAY_ERR_OK)
        PAY_WARN("shop.logout_failed", "login=%s code=%s", login, pay_err_name(err.code));
}
