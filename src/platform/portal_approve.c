/* The operator's decisions on applications (docs/portal.md, "Becoming a merchant"): approving
 * one makes, in one transaction, the merchant (notify host: the website's host), its owner in
 * the portal (the applicant's e-mail and password hash, a fresh TOTP secret) and a sandbox
 * Ed25519 key, and leaves the TOTP secret and the private key sealed for the applicant to see
 * once; rejecting records why. A decided application cannot be decided again. */
#include "platform/portal.h"

#include "core/buf.h"
#include "core/clock.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "http/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The PKCS#8 DER of an Ed25519 private key is this prefix and its 32-byte seed (RFC 8410). */
static const uint8_t pkcs8_prefix[16] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                         0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};

/* k's private key as PEM ("PRIVATE KEY"), what `paygate platform keygen` writes. 0 or -1. */
static int private_pem(const struct pay_ed25519_key *k, char *out, size_t n)
{
    uint8_t der[48];
    char b64[80];
    memcpy(der, pkcs8_prefix, sizeof pkcs8_prefix);
    memcpy(der + 16, k->sk, 32); /* libsodium's secret key is seed || public key */
    int rc = pay_base64_encode(b64, sizeof b64, der, sizeof der);
    int len =
        rc == 0
            ? snprintf(out, n, "-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n", b64)
            : -1;
    pay_wipe(der, sizeof der);
    pay_wipe(b64, sizeof b64);
    return len > 0 && (size_t)len < n ? 0 : -1;
}

struct approve_ctx {
    struct pay_platform *p;
    const char *app_id;
    struct pay_platform_merchant *m;
    const char *private_pem;
    /* read from the application */
    char email[PAY_PLATFORM_LOGIN_MAX + 1], website[PAY_URL_MAX + 1];
    char hash[PAY_PWHASH_STR_LEN];
};

/* The pending application into c and m (name, settlement); FIELD_INVALID when decided. */
static enum pay_err approve_read(struct pay_store_tx *tx, struct approve_ctx *c,
                                 struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT status, company, email, website, settle_bank, settle_account, password_hash"
        " FROM pf_applications WHERE id = $1",
        "t", c->app_id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    bool pending = rc == 1 && strcmp(pay_store_col_text(st, 0), "pending") == 0;
    if (pending) {
        pay_store_col_copy(st, 1, c->m->name, sizeof c->m->name);
        pay_store_col_copy(st, 2, c->email, sizeof c->email);
        pay_store_col_copy(st, 3, c->website, sizeof c->website);
        pay_store_col_copy(st, 4, c->m->settle_bank, sizeof c->m->settle_bank);
        pay_store_col_copy(st, 5, c->m->settle_account, sizeof c->m->settle_account);
        pay_store_col_copy(st, 6, c->hash, sizeof c->hash);
    }
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    if (rc == 0)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "id", "no application %s", c->app_id);
    return pending ? PAY_ERR_OK
                   : pay_error_set(err, PAY_ERR_FIELD_INVALID, "id",
                                   "the application was decided already");
}

/* {merchant_id, key_id, login, totp_secret, private_key} sealed for the application. */
static enum pay_err seal_credentials(struct approve_ctx *c, const char *totp, char **sealed,
                                     struct pay_error *err)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "merchant_id", c->m->id, "key_id", c->m->id,
                          "login", c->email, "totp_secret", totp, "private_key", c->private_pem);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    char aad[PAY_ID_MAX + 16];
    int an = snprintf(aad, sizeof aad, "application:%s", c->app_id);
    size_t tl = text ? strlen(text) : 0;
    *sealed = text ? malloc(PAY_AEAD_SEALED_LEN(tl)) : NULL;
    int rc = *sealed ? pay_aead_seal(&c->p->aead, text, tl, aad, (size_t)an, *sealed,
                                     PAY_AEAD_SEALED_LEN(tl))
                     : -1;
    if (text)
        pay_wipe(text, tl);
    free(text);
    return rc == 0 ? PAY_ERR_OK : pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot seal");
}

static enum pay_err approve_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct approve_ctx *c = ctx;
    char member[PAY_ID_MAX], totp[PAY_PLATFORM_TOTP_TEXT_MAX], *sealed = NULL;
    struct pay_url u;
    enum pay_err e = approve_read(tx, c, err);
    if (e == PAY_ERR_OK && (e = pay_url_parse(c->website, "website", &u, err)) == PAY_ERR_OK)
        pay_str_copy(c->m->notify_hosts, sizeof c->m->notify_hosts, u.host);
    if (e == PAY_ERR_OK)
        e = pay_platform_merchant_check(c->p, c->m, err);
    if (e == PAY_ERR_OK)
        e = pay_platform_merchant_insert_tx(c->p, tx, c->m, err);
    if (e == PAY_ERR_OK)
        e = pay_portal_member_insert_tx(c->p, tx, "operator", c->m->id, c->email, c->hash, "owner",
                                        member, totp, err);
    if (e == PAY_ERR_OK)
        e = seal_credentials(c, totp, &sealed, err);
    pay_wipe(totp, sizeof totp);
    if (e == PAY_ERR_OK)
        e = pay_store_exec(tx, err,
                           "UPDATE pf_applications SET status = 'approved', merchant_id = $2,"
                           " credentials = $3, password_hash = '', decided_ms = $4 WHERE id = $1",
                           "ttti", c->app_id, c->m->id, sealed, pay_clock_now_ms());
    free(sealed);
    if (e == PAY_ERR_OK)
        e = pay_platform_audit(c->p, tx,
                               &(struct pay_audit_entry){.actor = "operator",
                                                         .action = "application.approve",
                                                         .target = c->app_id,
                                                         .detail = c->m->id},
                               err);
    return e;
}

enum pay_err pay_portal_application_approve(struct pay_platform *p, const char *app_id,
                                            const char *merchant_id, int64_t fee_bp,
                                            struct pay_error *err)
{
    struct pay_platform_merchant m = {.fee_bp = fee_bp, .alg = PAY_SIG_ED25519};
    struct pay_ed25519_key k;
    char pk[PAY_ED25519_KEY_TEXT_LEN], pem[256];
    if (!pay_platform_merchant_id_valid(merchant_id ? merchant_id : ""))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "merchant_id", "1-32 of a-z, 0-9 and _");
    pay_str_copy(m.id, sizeof m.id, merchant_id);
    pay_ed25519_generate(&k); /* the sandbox key: the merchant uploads its own in the portal */
    pay_ed25519_pk_to_text(pk, k.pk);
    int rc = private_pem(&k, pem, sizeof pem);
    pay_ed25519_key_fini(&k);
    m.public_key = strdup(pk);
    enum pay_err e = PAY_ERR_OK;
    if (rc != 0 || !m.public_key)
        e = pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot make a key");
    struct approve_ctx c = {.p = p, .app_id = app_id ? app_id : "", .m = &m, .private_pem = pem};
    if (e == PAY_ERR_OK)
        e = pay_platform_write(p, approve_tx, &c, err);
    pay_wipe(pem, sizeof pem);
    pay_wipe(c.hash, sizeof c.hash);
    pay_platform_merchant_fini(&m);
    return e;
}

struct reject_ctx {
    struct pay_platform *p;
    const char *app_id, *note;
};

static enum pay_err reject_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct reject_ctx *c = ctx;
    enum pay_err e = pay_store_exec(tx, err,
                                    "UPDATE pf_applications SET status = 'rejected', note = $2,"
                                    " password_hash = '', decided_ms = $3"
                                    " WHERE id = $1 AND status = 'pending'",
                                    "tti", c->app_id, c->note, pay_clock_now_ms());
    if (e == PAY_ERR_OK && pay_store_changes(tx) != 1)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "id", "no pending application %s",
                             c->app_id);
    return e == PAY_ERR_OK
               ? pay_platform_audit(c->p, tx,
                                    &(struct pay_audit_entry){.actor = "operator",
                                                              .action = "application.reject",
                                                              .target = c->app_id,
                                                              .detail = c->note},
                                    err)
               : e;
}

enum pay_err pay_portal_application_reject(struct pay_platform *p, const char *app_id,
                                           const char *note, struct pay_error *err)
{
    size_t n = note ? strlen(note) : 0;
    if (n == 0)
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "note", "say why, for the applicant");
    if (n > PAY_TEXT_FIELD_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, "note", "at most %d bytes",
                             PAY_TEXT_FIELD_MAX);
    struct reject_ctx c = {p, app_id ? app_id : "", note};
    return pay_platform_write(p, reject_tx, &c, err);
}

struct list_ctx {
    json_t *arr;
};

static enum pay_err list_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct list_ctx *l = ctx;
    json_array_clear(l->arr);
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT id, status, company, contact, email, phone, website, settle_bank, settle_account,"
        " volume_minor, currency, merchant_id, note, created_ms, decided_ms FROM pf_applications"
        " ORDER BY status = 'pending' DESC, created_ms DESC LIMIT 100",
        "");
    if (!st)
        return err->code;
    int rc;
    static const char *const keys[] = {"id",    "status",  "company",     "contact",       "email",
                                       "phone", "website", "settle_bank", "settle_account"};
    while ((rc = pay_store_step(st, err)) == 1) {
        json_t *o = json_object();
        for (int i = 0; i < 9; i++)
            json_object_set_new(o, keys[i], json_string(pay_store_col_text(st, i)));
        json_object_set_new(o, "volume_minor", json_integer(pay_store_col_int64(st, 9)));
        json_object_set_new(o, "currency", json_string(pay_store_col_text(st, 10)));
        json_object_set_new(o, "merchant_id", json_string(pay_store_col_text(st, 11)));
        json_object_set_new(o, "note", json_string(pay_store_col_text(st, 12)));
        json_object_set_new(o, "created_ms", json_integer(pay_store_col_int64(st, 13)));
        json_object_set_new(o, "decided_ms", json_integer(pay_store_col_int64(st, 14)));
        json_array_append_new(l->arr, o);
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

enum pay_err pay_portal_applications_list(struct pay_platform *p, json_t **out,
                                          struct pay_error *err)
{
    struct list_ctx l = {json_array()};
    enum pay_err e = pay_store_run_read(p->store, list_tx, &l, err);
    if (e != PAY_ERR_OK) {
        json_decref(l.arr);
        return e;
    }
    *out = l.arr;
    return PAY_ERR_OK;
}
