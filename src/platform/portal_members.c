/* Team members of a merchant in the portal: adding one (Argon2id password, a TOTP secret
 * sealed like the consumers' ones), the login that needs both (every try counted before it is
 * checked, store/attempts.h, subject "portal:<id>"; a TOTP code used once), and sessions that
 * end after [platform] session_idle of idleness. Roles are checked by pay_portal_may only. */
#include "platform/portal.h"

#include "core/clock.h"
#include "core/limits.h"
#include "crypto/ids.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "store/attempts.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define ATTEMPTS_TABLE "pf_attempts"

bool pay_portal_may(enum pay_portal_role role, enum pay_portal_action action)
{
    switch (action) {
    case PAY_PORTAL_VIEW:
    case PAY_PORTAL_RESEND:
        return role == PAY_PORTAL_OWNER || role == PAY_PORTAL_FINANCE || role == PAY_PORTAL_SUPPORT;
    case PAY_PORTAL_REFUND:
    case PAY_PORTAL_PAYOUTS:
        return role == PAY_PORTAL_OWNER || role == PAY_PORTAL_FINANCE;
    case PAY_PORTAL_KEYS:
    case PAY_PORTAL_TEAM:
        return role == PAY_PORTAL_OWNER;
    }
    return false;
}

enum pay_portal_role pay_portal_role_parse(const char *s)
{
    if (s && strcmp(s, "owner") == 0)
        return PAY_PORTAL_OWNER;
    if (s && strcmp(s, "finance") == 0)
        return PAY_PORTAL_FINANCE;
    if (s && strcmp(s, "support") == 0)
        return PAY_PORTAL_SUPPORT;
    return 0;
}

const char *pay_portal_role_name(enum pay_portal_role r)
{
    return r == PAY_PORTAL_OWNER     ? "owner"
           : r == PAY_PORTAL_FINANCE ? "finance"
           : r == PAY_PORTAL_SUPPORT ? "support"
                                     : "";
}

bool pay_portal_email_valid(const char *s)
{
    size_t n = strnlen(s, PAY_PLATFORM_LOGIN_MAX + 1), at = 0;
    if (n < 3 || n > PAY_PLATFORM_LOGIN_MAX || s[0] == '@')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        at += c == '@';
        if (!(isalnum(c) || c == '@' || c == '.' || c == '_' || c == '-' || c == '+'))
            return false;
    }
    const char *a = strchr(s, '@');
    return at == 1 && strchr(a, '.') != NULL && a[1] != '.' && s[n - 1] != '.';
}

struct add_ctx {
    struct pay_platform *p;
    const char *actor, *id, *merchant_id, *login, *hash, *role, *sealed;
};

static enum pay_err add_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct add_ctx *a = ctx;
    struct pay_store_stmt *st =
        pay_store_query(tx, err, "SELECT COUNT(*) FROM pf_portal_users WHERE merchant_id = $1", "t",
                        a->merchant_id);
    if (!st)
        return err->code;
    int64_t n = pay_store_step(st, err) == 1 ? pay_store_col_int64(st, 0) : -1;
    pay_store_done(st);
    if (n < 0)
        return err->code;
    if (n >= PAY_PORTAL_MEMBERS_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "login", "at most %d members",
                             PAY_PORTAL_MEMBERS_MAX);
    enum pay_err e = pay_store_exec(tx, err,
                                    "INSERT INTO pf_portal_users (id, merchant_id, login,"
                                    " password_hash, role, totp_secret, status, created_ms)"
                                    " VALUES ($1,$2,$3,$4,$5,$6,'active',$7)",
                                    "tttttti", a->id, a->merchant_id, a->login, a->hash, a->role,
                                    a->sealed, pay_clock_now_ms());
    if (e == PAY_ERR_DB_CONSTRAINT)
        pay_error_set(err, PAY_ERR_DUPLICATE, "login", "this login is already a member");
    char detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(detail, sizeof detail, "merchant=%s login=%.64s role=%s", a->merchant_id, a->login,
             a->role);
    if (e == PAY_ERR_OK)
        e = pay_platform_audit(a->p, tx,
                               &(struct pay_audit_entry){.actor = a->actor,
                                                         .action = "portal.member_add",
                                                         .target = a->id,
                                                         .detail = detail},
                               err);
    return e;
}

static enum pay_err member_check(struct pay_platform *p, const char *merchant_id, const char *login,
                                 const char *password, const char *role, struct pay_error *err)
{
    struct pay_platform_merchant m;
    if (!pay_portal_email_valid(login))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "login", "an e-mail address");
    size_t pl = strlen(password);
    if (pl < PAY_PLATFORM_PORTAL_PASSWORD_MIN || pl > PAY_PASSWORD_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "password", "%d to %d characters",
                             PAY_PLATFORM_PORTAL_PASSWORD_MIN, PAY_PASSWORD_MAX);
    if (!pay_portal_role_parse(role))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "role", "owner, finance or support");
    enum pay_err e = pay_platform_merchant_get(p, merchant_id, &m, err);
    pay_platform_merchant_fini(&m);
    return e;
}

/* A fresh TOTP secret of member id: its text into totp_out, sealed into sealed. 0 or -1. */
static int totp_new(const struct pay_platform *p, const char *id,
                    char totp_out[PAY_PLATFORM_TOTP_TEXT_MAX],
                    char sealed[PAY_PLATFORM_TOTP_SEALED_MAX])
{
    uint8_t key[PAY_TOTP_SECRET_LEN];
    pay_totp_secret_generate(key);
    int rc = pay_base32_encode(totp_out, PAY_PLATFORM_TOTP_TEXT_MAX, key, sizeof key);
    pay_wipe(key, sizeof key);
    return rc == 0 && pay_platform_totp_seal(p, id, totp_out, sealed) == 0 ? 0 : -1;
}

enum pay_err pay_portal_member_add(struct pay_platform *p, const char *actor,
                                   const char *merchant_id, const char *login, const char *password,
                                   const char *role, char id_out[PAY_ID_MAX],
                                   char totp_out[PAY_PLATFORM_TOTP_TEXT_MAX], struct pay_error *err)
{
    enum pay_err e = member_check(p, merchant_id, login, password, role, err);
    if (e != PAY_ERR_OK)
        return e;
    char hash[PAY_PWHASH_STR_LEN], sealed[PAY_PLATFORM_TOTP_SEALED_MAX];
    if (pay_id_new("pu", id_out) != PAY_ERR_OK)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "no randomness for an id");
    if (totp_new(p, id_out, totp_out, sealed) != 0 ||
        pay_pwhash_hash(hash, password, strlen(password)) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot hash or seal a secret");
    struct add_ctx a = {p, actor, id_out, merchant_id, login, hash, role, sealed};
    e = pay_platform_write(p, add_tx, &a, err);
    if (e != PAY_ERR_OK)
        pay_wipe(totp_out, PAY_PLATFORM_TOTP_TEXT_MAX);
    return e;
}

enum pay_err pay_portal_member_insert_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                         const char *actor, const char *merchant_id,
                                         const char *login, const char *password_hash,
                                         const char *role, char id_out[PAY_ID_MAX],
                                         char totp_out[PAY_PLATFORM_TOTP_TEXT_MAX],
                                         struct pay_error *err)
{
    char sealed[PAY_PLATFORM_TOTP_SEALED_MAX];
    if (pay_id_new("pu", id_out) != PAY_ERR_OK || totp_new(p, id_out, totp_out, sealed) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot make or seal a TOTP secret");
    struct add_ctx a = {p, actor, id_out, merchant_id, login, password_hash, role, sealed};
    return add_tx(tx, &a, err);
}

/* --- login ----------------------------------------------------------------------------- */

struct login_ctx {
    struct pay_platform *p;
    const char *login, *totp, *source;
    char id[PAY_ID_MAX], subject[PAY_ID_MAX + 8];
    char hash[PAY_PWHASH_STR_LEN];
    char sealed[PAY_PLATFORM_TOTP_SEALED_MAX];
    int64_t last_step, step;
    bool found;
    struct pay_store_attempt attempt;
    /* the session */
    char token_hash[PAY_SHA256_HEX_LEN], csrf[PAY_PLATFORM_TOKEN_TEXT_MAX];
};

static enum pay_err read_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct login_ctx *l = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT u.id, u.password_hash, u.totp_secret, u.totp_last_step FROM pf_portal_users u"
        " JOIN pf_merchants m ON m.id = u.merchant_id WHERE u.login = $1"
        " AND u.status = 'active' AND m.status = 'active'",
        "t", l->login);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    l->found = rc == 1;
    if (rc == 1) {
        pay_store_col_copy(st, 0, l->id, sizeof l->id);
        pay_store_col_copy(st, 1, l->hash, sizeof l->hash);
        pay_store_col_copy(st, 2, l->sealed, sizeof l->sealed);
        l->last_step = pay_store_col_int64(st, 3);
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

static enum pay_err reserve_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct login_ctx *l = ctx;
    return pay_store_attempt_reserve(tx, ATTEMPTS_TABLE, l->subject, pay_clock_now_ms(),
                                     &l->attempt, err);
}

/* Password and code were right: the code's step is taken only if still newer than the last
 * one used (checked under the writer lock, so one code opens one session), the attempt is
 * forgiven and the session written, in one transaction. */
static enum pay_err success_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct login_ctx *l = ctx;
    enum pay_err e = pay_store_exec(tx, err,
                                    "UPDATE pf_portal_users SET totp_last_step = $2"
                                    " WHERE id = $1 AND totp_last_step < $2",
                                    "ti", l->id, l->step);
    if (e != PAY_ERR_OK)
        return e;
    if (pay_store_changes(tx) != 1)
        return pay_error_set(err, PAY_ERR_CREDENTIALS_INVALID, "totp", NULL);
    if ((e = pay_store_attempt_succeeded(tx, ATTEMPTS_TABLE, l->subject, &l->attempt, err)) !=
        PAY_ERR_OK)
        return e;
    int64_t now = pay_clock_now_ms();
    char actor[PAY_AUDIT_TEXT_MAX];
    snprintf(actor, sizeof actor, "portal:%s", l->id);
    e = pay_store_exec(tx, err,
                       "INSERT INTO pf_portal_sessions (token_hash, user_id, csrf, created_ms,"
                       " last_seen_ms) VALUES ($1,$2,$3,$4,$5)",
                       "tttii", l->token_hash, l->id, l->csrf, now, now);
    if (e == PAY_ERR_OK)
        e = pay_platform_audit(
            l->p, tx,
            &(struct pay_audit_entry){
                .actor = actor, .action = "portal.login", .target = l->login, .source = l->source},
            err);
    return e;
}

static bool totp_ok(struct login_ctx *l)
{
    char secret[PAY_PLATFORM_TOTP_TEXT_MAX];
    uint8_t key[PAY_TOTP_SECRET_LEN + 8];
    size_t n = 0;
    int64_t step = 0;
    bool ok =
        pay_platform_totp_open(l->p, l->id, l->sealed, secret) == 0 && secret[0] &&
        pay_base32_decode(key, sizeof key, secret, strlen(secret), &n) == 0 &&
        pay_totp_verify(key, n, l->totp, pay_clock_real_ms() / 1000, PAY_TOTP_DIGITS, &step) == 0 &&
        step > l->last_step;
    pay_wipe(key, sizeof key);
    pay_wipe(secret, sizeof secret);
    l->step = ok ? step : 0;
    return ok;
}

/* A wrong password or code: no more than "wrong" (an unknown login gets the same answer),
 * and the lock when this try was the last. */
static enum pay_err wrong(const struct login_ctx *l, struct pay_error *err)
{
    if (l->found && l->attempt.left == 0)
        return pay_platform_locked_error(err, "password", false);
    return pay_error_set(err, PAY_ERR_CREDENTIALS_INVALID, "password", NULL);
}

/* A refused login in the audit trail (its own transaction). */
static enum pay_err refused(const struct login_ctx *l, enum pay_err e)
{
    pay_platform_audit_event(l->p, &(struct pay_audit_entry){.actor = "portal",
                                                             .action = "portal.login",
                                                             .target = l->login,
                                                             .outcome = pay_err_name(e),
                                                             .source = l->source});
    return e;
}

enum pay_err pay_portal_login(struct pay_platform *p, const char *login, const char *password,
                              const char *totp, const char *source,
                              char token_out[PAY_PLATFORM_TOKEN_TEXT_MAX], struct pay_error *err)
{
    struct login_ctx l = {
        .p = p, .login = login ? login : "", .totp = totp ? totp : "", .source = source};
    enum pay_err e = pay_store_run_read(p->store, read_tx, &l, err);
    if (e == PAY_ERR_OK && !l.found)
        return refused(&l, pay_error_set(err, PAY_ERR_CREDENTIALS_INVALID, "password", NULL));
    snprintf(l.subject, sizeof l.subject, "portal:%s", l.id);
    if (e == PAY_ERR_OK && (e = pay_platform_write(p, reserve_tx, &l, err)) == PAY_ERR_LOCKED)
        pay_platform_locked_error(err, "password", false);
    if (e != PAY_ERR_OK) {
        pay_wipe(l.hash, sizeof l.hash);
        return e == PAY_ERR_LOCKED ? refused(&l, e) : e;
    }
    bool right =
        pay_pwhash_verify(l.hash, password ? password : "", password ? strlen(password) : 0) == 0 &&
        totp_ok(&l);
    pay_wipe(l.hash, sizeof l.hash);
    if (!right)
        return refused(&l, wrong(&l, err));
    if (pay_random_token(token_out, PAY_PLATFORM_TOKEN_TEXT_MAX,
                         PAY_PLATFORM_SESSION_TOKEN_BYTES) != 0 ||
        pay_random_token(l.csrf, sizeof l.csrf, PAY_PLATFORM_SESSION_TOKEN_BYTES) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    pay_sha256_hex(l.token_hash, token_out, strlen(token_out));
    e = pay_platform_write(p, success_tx, &l, err);
    return e == PAY_ERR_CREDENTIALS_INVALID ? refused(&l, wrong(&l, err)) : e;
}

/* --- sessions -------------------------------------------------------------------------- */

struct session_ctx {
    char token_hash[PAY_SHA256_HEX_LEN];
    int64_t idle_ms;
    struct pay_portal_user *u;
    bool found;
};

static void user_from_row(struct pay_store_stmt *st, struct pay_portal_user *u)
{
    pay_store_col_copy(st, 0, u->id, sizeof u->id);
    pay_store_col_copy(st, 1, u->merchant_id, sizeof u->merchant_id);
    pay_store_col_copy(st, 2, u->merchant_name, sizeof u->merchant_name);
    pay_store_col_copy(st, 3, u->login, sizeof u->login);
    u->role = pay_portal_role_parse(pay_store_col_text(st, 4));
    pay_store_col_copy(st, 5, u->csrf, sizeof u->csrf);
}

static enum pay_err session_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct session_ctx *s = ctx;
    int64_t now = pay_clock_now_ms();
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT u.id, u.merchant_id, m.name, u.login, u.role, s.csrf FROM pf_portal_sessions s"
        " JOIN pf_portal_users u ON u.id = s.user_id JOIN pf_merchants m ON m.id = u.merchant_id"
        " WHERE s.token_hash = $1 AND s.last_seen_ms > $2 AND u.status = 'active'"
        " AND m.status = 'active'",
        "ti", s->token_hash, now - s->idle_ms);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    s->found = rc == 1;
    if (rc == 1)
        user_from_row(st, s->u);
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    /* live sessions are touched; dead ones removed when seen */
    return s->found
               ? pay_store_exec(tx, err,
                                "UPDATE pf_portal_sessions SET last_seen_ms = $1"
                                " WHERE token_hash = $2",
                                "it", now, s->token_hash)
               : pay_store_exec(tx, err, "DELETE FROM pf_portal_sessions WHERE token_hash = $1",
                                "t", s->token_hash);
}

enum pay_err pay_portal_session_get(struct pay_platform *p, const char *token,
                                    struct pay_portal_user *u, struct pay_error *err)
{
    memset(u, 0, sizeof *u);
    if (!token || !token[0] || strlen(token) >= PAY_PLATFORM_TOKEN_TEXT_MAX)
        return pay_error_set(err, PAY_ERR_UNAUTHENTICATED, "", NULL);
    struct session_ctx s = {.idle_ms = p->set.session_idle_ms, .u = u};
    pay_sha256_hex(s.token_hash, token, strlen(token));
    enum pay_err e = pay_platform_write(p, session_tx, &s, err);
    if (e == PAY_ERR_OK && (!s.found || !u->role))
        return pay_error_set(err, PAY_ERR_UNAUTHENTICATED, "", NULL);
    return e;
}

static enum pay_err end_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    return pay_store_exec(tx, err, "DELETE FROM pf_portal_sessions WHERE token_hash = $1", "t",
                          (const char *)ctx);
}

void pay_portal_session_end(struct pay_platform *p, const char *token)
{
    if (!token || !token[0] || strlen(token) >= PAY_PLATFORM_TOKEN_TEXT_MAX)
        return;
    char h[PAY_SHA256_HEX_LEN];
    struct pay_error err = {0};
    pay_sha256_hex(h, token, strlen(token));
    (void)pay_platform_write(p, end_tx, h, &err);
}

struct list_ctx {
    const char *merchant_id;
    json_t *arr;
};

static enum pay_err list_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct list_ctx *l = ctx;
    json_array_clear(l->arr);
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT id, login, role, status FROM pf_portal_users WHERE merchant_id = $1 ORDER BY"
        " created_ms, id",
        "t", l->merchant_id);
    if (!st)
        return err->code;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1)
        json_array_append_new(
            l->arr, json_pack("{s:s, s:s, s:s, s:s}", "id", pay_store_col_text(st, 0), "login",
                              pay_store_col_text(st, 1), "role", pay_store_col_text(st, 2),
                              "status", pay_store_col_text(st, 3)));
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

enum pay_err pay_portal_members_list(struct pay_platform *p, const char *merchant_id, json_t **out,
                                     struct pay_error *err)
{
    struct list_ctx l = {merchant_id, json_array()};
    enum pay_err e = l.arr ? pay_store_run_read(p->store, list_tx, &l, err)
                           : pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    if (e != PAY_ERR_OK) {
        json_decref(l.arr);
        return e;
    }
    *out = l.arr;
    return PAY_ERR_OK;
}
