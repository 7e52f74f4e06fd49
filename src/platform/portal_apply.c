/* Self-service onboarding (docs/portal.md, "Becoming a merchant"): a company applies on a
 * public page and follows its application by a private link; the operator approves it in the
 * console (operator_apps.c), which makes the merchant, its owner in the portal and a sandbox
 * signing key in one transaction; the applicant then sees, once, the owner's TOTP secret and
 * the private key. Only hashes of the link's token and of the password are stored; what is
 * shown once waits sealed and is gone when shown. */
#include "platform/portal.h"

#include "core/clock.h"
#include "crypto/ids.h"
#include "core/money.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "http/codec.h"
#include "i18n/i18n.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Text a person typed: 1..max bytes, no control characters (FIELD_MISSING, FIELD_TOO_LONG,
 * ENCODING_INVALID naming the field). */
static enum pay_err text_check(const char *s, const char *field, size_t max, struct pay_error *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0)
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, field, NULL);
    if (n > max)
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, field, "at most %zu bytes", max);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return pay_error_set(err, PAY_ERR_ENCODING_INVALID, field, NULL);
    return PAY_ERR_OK;
}

/* n..m characters, each passing ok (and an optional leading '+' when plus). */
static bool chars_ok(const char *s, size_t min, size_t max, int (*ok)(int), bool plus)
{
    if (plus && s[0] == '+')
        s++;
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (!ok((unsigned char)s[i]))
            return false;
    return n >= min && n <= max;
}

static int lower_or_digit(int c)
{
    return islower(c) || isdigit(c);
}

enum pay_err pay_portal_application_check(const struct pay_portal_application *a,
                                          const char *password2, char host[256],
                                          struct pay_error *err)
{
    struct pay_url u;
    enum pay_err e;
    if ((e = text_check(a->company, "company", PAY_TEXT_FIELD_MAX, err)) != PAY_ERR_OK ||
        (e = text_check(a->contact, "contact", 64, err)) != PAY_ERR_OK)
        return e;
    if (!pay_portal_email_valid(a->email))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "email", "an e-mail address");
    if (!chars_ok(a->phone, 6, 15, isdigit, true))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "phone",
                             "6 to 15 digits, + first allowed");
    if ((e = pay_url_parse(a->website, "website", &u, err)) != PAY_ERR_OK)
        return e;
    if (!chars_ok(a->settle_bank, 2, 15, lower_or_digit, false))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "settle_bank",
                             "the bank's code, 2 to 15 of a-z 0-9 (icbc, ccb)");
    if (!chars_ok(a->settle_account, 8, 32, isdigit, false))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "settle_account", "8 to 32 digits");
    size_t pl = strlen(a->password);
    if (pl < 10 || pl > PAY_PASSWORD_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "password", "10 to %d characters",
                             PAY_PASSWORD_MAX);
    if (!password2 || strcmp(a->password, password2) != 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "password2", "the passwords differ");
    pay_str_copy(host, 256, u.host);
    return PAY_ERR_OK;
}

/* --- applying ------------------------------------------------------------------------------ */

struct apply_ctx {
    struct pay_platform *p;
    const struct pay_portal_application *a;
    const char *id, *token_hash, *hash, *source;
};

static int64_t count_of(struct pay_store_tx *tx, const char *sql, const char *arg,
                        struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(tx, err, sql, arg ? "t" : "", arg);
    int64_t n = st && pay_store_step(st, err) == 1 ? pay_store_col_int64(st, 0) : -1;
    pay_store_done(st);
    return n;
}

static enum pay_err apply_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct apply_ctx *c = ctx;
    const struct pay_portal_application *a = c->a;
    int64_t pending =
        count_of(tx, "SELECT COUNT(*) FROM pf_applications WHERE status = 'pending'", NULL, err);
    int64_t taken = pending < 0 ? -1
                                : count_of(tx,
                                           "SELECT (SELECT COUNT(*) FROM pf_portal_users WHERE"
                                           " login = $1) + (SELECT COUNT(*) FROM pf_applications"
                                           " WHERE email = $1 AND status = 'pending')",
                                           a->email, err);
    if (pending < 0 || taken < 0)
        return err->code;
    if (pending >= PAY_PORTAL_APPLICATIONS_PENDING_MAX)
        return pay_error_set(err, PAY_ERR_RATE_LIMITED, "",
                             N_("Too many applications are waiting; try again tomorrow."));
    if (taken > 0)
        return pay_error_set(err, PAY_ERR_DUPLICATE, "email",
                             N_("This e-mail address has an application or an account already."));
    enum pay_err e = pay_store_exec(
        tx, err,
        "INSERT INTO pf_applications (id, status, company, contact, email, phone, website,"
        " settle_bank, settle_account, volume_minor, currency, password_hash, token_hash,"
        " created_ms) VALUES ($1,'pending',$2,$3,$4,$5,$6,$7,$8,$9,'CNY',$10,$11,$12)",
        "ttttttttitti", c->id, a->company, a->contact, a->email, a->phone, a->website,
        a->settle_bank, a->settle_account, a->volume_minor, c->hash, c->token_hash,
        pay_clock_now_ms());
    if (e != PAY_ERR_OK)
        return e;
    return pay_platform_audit(c->p, tx,
                              &(struct pay_audit_entry){.actor = "public",
                                                        .action = "application.submit",
                                                        .target = c->id,
                                                        .source = c->source,
                                                        .detail = a->email},
                              err);
}

enum pay_err pay_portal_apply(struct pay_platform *p, const struct pay_portal_application *a,
                              const char *password2, const char *source,
                              char token_out[PAY_PLATFORM_TOKEN_TEXT_MAX], struct pay_error *err)
{
    char host[256], id[PAY_ID_MAX], hash[PAY_PWHASH_STR_LEN], token_hash[PAY_SHA256_HEX_LEN];
    enum pay_err e = pay_portal_application_check(a, password2, host, err);
    if (e != PAY_ERR_OK)
        return e;
    if (pay_id_new("ap", id) != PAY_ERR_OK ||
        pay_random_token(token_out, PAY_PLATFORM_TOKEN_TEXT_MAX, 32) != 0 ||
        pay_pwhash_hash(hash, a->password, strlen(a->password)) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "no randomness or hashing failed");
    pay_sha256_hex(token_hash, token_out, strlen(token_out));
    struct apply_ctx c = {p, a, id, token_hash, hash, source};
    return pay_platform_write(p, apply_tx, &c, err);
}

/* --- following ----------------------------------------------------------------------------- */

struct status_ctx {
    char token_hash[PAY_SHA256_HEX_LEN];
    struct pay_portal_application_status *s;
    bool found;
};

static enum pay_err status_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct status_ctx *c = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT id, status, company, email, merchant_id, note, created_ms, decided_ms,"
        " revealed_ms FROM pf_applications WHERE token_hash = $1",
        "t", c->token_hash);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    c->found = rc == 1;
    if (rc == 1) {
        struct pay_portal_application_status *s = c->s;
        pay_store_col_copy(st, 0, s->id, sizeof s->id);
        pay_store_col_copy(st, 1, s->status, sizeof s->status);
        pay_store_col_copy(st, 2, s->company, sizeof s->company);
        pay_store_col_copy(st, 3, s->email, sizeof s->email);
        pay_store_col_copy(st, 4, s->merchant_id, sizeof s->merchant_id);
        pay_store_col_copy(st, 5, s->note, sizeof s->note);
        s->created_ms = pay_store_col_int64(st, 6);
        s->decided_ms = pay_store_col_int64(st, 7);
        s->revealed_ms = pay_store_col_int64(st, 8);
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

enum pay_err pay_portal_application_status(struct pay_platform *p, const char *token,
                                           struct pay_portal_application_status *s,
                                           struct pay_error *err)
{
    struct status_ctx c = {.s = s};
    memset(s, 0, sizeof *s);
    if (!token || strlen(token) >= PAY_PLATFORM_TOKEN_TEXT_MAX)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "token", NULL);
    pay_sha256_hex(c.token_hash, token, strlen(token));
    enum pay_err e = pay_store_run_read(p->store, status_tx, &c, err);
    if (e == PAY_ERR_OK && !c.found)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "token", NULL);
    return e;
}

static int aad_of(const char *id, char *out, size_t n)
{
    int len = snprintf(out, n, "application:%s", id);
    return len > 0 && (size_t)len < n ? len : -1;
}

struct reveal_ctx {
    struct pay_platform *p;
    char token_hash[PAY_SHA256_HEX_LEN];
    char id[PAY_ID_MAX];
    char *sealed; /* heap */
    const char *source;
};

/* Takes the sealed credentials out of the row in the same transaction that empties it, so
 * they are shown at most once. */
static enum pay_err reveal_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct reveal_ctx *c = ctx;
    free(c->sealed);
    c->sealed = NULL;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT id, credentials FROM pf_applications WHERE token_hash = $1"
                        " AND status = 'approved' AND credentials != ''",
                        "t", c->token_hash);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    if (rc == 1) {
        pay_store_col_copy(st, 0, c->id, sizeof c->id);
        c->sealed = strdup(pay_store_col_text(st, 1));
    }
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    if (rc == 0 || !c->sealed)
        return pay_error_set(err, PAY_ERR_FORBIDDEN, "token",
                             N_("Nothing to show: the application is not approved, or its "
                                "credentials were shown once already."));
    enum pay_err e = pay_store_exec(tx, err,
                                    "UPDATE pf_applications SET credentials = '', revealed_ms = $2"
                                    " WHERE id = $1",
                                    "ti", c->id, pay_clock_now_ms());
    if (e != PAY_ERR_OK)
        return e;
    return pay_platform_audit(c->p, tx,
                              &(struct pay_audit_entry){.actor = "public",
                                                        .action = "application.reveal",
                                                        .target = c->id,
                                                        .source = c->source},
                              err);
}

enum pay_err pay_portal_application_reveal(struct pay_platform *p, const char *token,
                                           const char *source, json_t **out, struct pay_error *err)
{
    struct reveal_ctx c = {.p = p, .source = source};
    *out = NULL;
    if (!token || strlen(token) >= PAY_PLATFORM_TOKEN_TEXT_MAX)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "token", NULL);
    pay_sha256_hex(c.token_hash, token, strlen(token));
    enum pay_err e = pay_platform_write(p, reveal_tx, &c, err);
    char aad[PAY_ID_MAX + 16], text[2048];
    size_t n = 0;
    int an = aad_of(c.id, aad, sizeof aad);
    if (e == PAY_ERR_OK && (an < 0 || pay_aead_open(&p->aead, c.sealed, aad, (size_t)an, text,
                                                    sizeof text - 1, &n) != 0))
        e = pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot open the sealed credentials");
    if (e == PAY_ERR_OK) {
        text[n] = '\0';
        *out = json_loads(text, 0, NULL);
        if (!*out)
            e = pay_error_set(err, PAY_ERR_INTERNAL, "", "credentials unreadable");
    }
    pay_wipe(text, sizeof text);
    free(c.sealed);
    return e;
}
