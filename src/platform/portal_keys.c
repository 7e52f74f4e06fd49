/* A merchant's signing keys as the portal manages them (docs/portal.md, "Keys"): the key given
 * at onboarding signs under keyId = the merchant id; a key uploaded in the portal gets its own
 * keyId "<merchant>.k<n>". Uploading one starts a rotation: every key in use until then keeps
 * working for the overlap window the owner chose and ends after it; any key can be revoked at
 * once, except the last usable one. Once a rotation began, the onboarding key has a row here
 * too (key_id = merchant id), and the rows decide. Times are the platform clock's. */
#include "platform/portal.h"

#include "core/buf.h"
#include "core/clock.h"
#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL

/* usable at now: not revoked and not past its end */
#define USABLE_SQL " revoked_ms = 0 AND (not_after_ms = 0 OR not_after_ms > $2)"

static enum pay_err key_parse(const char *alg, const char *text, struct pay_sig_pubkey *out)
{
    if (strcmp(alg, "ed25519") == 0) {
        out->alg = PAY_SIG_ED25519;
        return pay_ed25519_pk_from_text(out->ed25519, text) == 0 ? PAY_ERR_OK
                                                                 : PAY_ERR_SIGNATURE_INVALID;
    }
    struct pay_rsa_key *k = NULL;
    out->alg = PAY_SIG_RSA_SHA256;
    if (pay_rsa_key_from_pem(text, strlen(text), &k) != 0)
        return PAY_ERR_SIGNATURE_INVALID;
    out->rsa = k; /* freed by pay_platform_merchant_key_release */
    return PAY_ERR_OK;
}

struct find_ctx {
    const char *key_id, *merchant_id;
    bool found, usable;
    char alg[16];
    char *text; /* heap */
};

static enum pay_err find_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct find_ctx *f = ctx;
    free(f->text);
    f->text = NULL;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT key_alg, public_key, (" USABLE_SQL ") FROM pf_merchant_keys"
                        " WHERE key_id = $1 AND merchant_id = $3",
                        "tit", f->key_id, pay_clock_now_ms(), f->merchant_id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    if (rc == 1) {
        pay_store_col_copy(st, 0, f->alg, sizeof f->alg);
        f->text = strdup(pay_store_col_text(st, 1));
        f->usable = pay_store_col_int64(st, 2) == 1;
        if (!f->text)
            rc = -1, pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    }
    pay_store_done(st);
    f->found = rc == 1;
    return rc < 0 ? err->code : PAY_ERR_OK;
}

enum pay_err pay_portal_key_row(struct pay_platform *p, const char *key_id, const char *merchant_id,
                                bool *found, struct pay_sig_pubkey *out)
{
    struct find_ctx f = {.key_id = key_id, .merchant_id = merchant_id};
    struct pay_error err = {0};
    enum pay_err e = pay_store_run_read(p->store, find_tx, &f, &err);
    *found = e == PAY_ERR_OK && f.found;
    if (*found)
        e = f.usable ? key_parse(f.alg, f.text, out) : PAY_ERR_SIGNATURE_INVALID;
    free(f.text);
    return e;
}

/* --- listing -------------------------------------------------------------------------- */

struct list_ctx {
    const char *merchant_id;
    json_t *arr;
};

static json_t *key_json(const char *key_id, const char *alg, const char *text, int64_t created,
                        int64_t not_after, int64_t revoked, int64_t now)
{
    char fp[PAY_SHA256_HEX_LEN];
    pay_sha256_hex(fp, text, strlen(text));
    fp[16] = '\0'; /* enough to tell keys apart on a page */
    const char *state = revoked                         ? "revoked"
                        : not_after && not_after <= now ? "ended"
                        : not_after                     ? "ending"
                                                        : "active";
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "key_id", key_id, "alg", alg,
                     "fingerprint", fp, "created_ms", (json_int_t)created, "not_after_ms",
                     (json_int_t)not_after, "revoked_ms", (json_int_t)revoked, "state", state);
}

static enum pay_err list_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct list_ctx *l = ctx;
    int64_t now = pay_clock_now_ms();
    json_array_clear(l->arr);
    /* the onboarding key when no rotation has touched it yet, then the rows */
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT id, key_alg, public_key, created_ms, 0, 0 FROM pf_merchants m WHERE id = $1"
        " AND NOT EXISTS (SELECT 1 FROM pf_merchant_keys k WHERE k.key_id = m.id)"
        " UNION ALL SELECT key_id, key_alg, public_key, created_ms, not_after_ms, revoked_ms"
        " FROM pf_merchant_keys WHERE merchant_id = $1 ORDER BY 4, 1",
        "t", l->merchant_id);
    if (!st)
        return err->code;
    int rc;
    while ((rc = pay_store_step(st, err)) == 1)
        json_array_append_new(
            l->arr, key_json(pay_store_col_text(st, 0), pay_store_col_text(st, 1),
                             pay_store_col_text(st, 2), pay_store_col_int64(st, 3),
                             pay_store_col_int64(st, 4), pay_store_col_int64(st, 5), now));
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

enum pay_err pay_portal_keys_list(struct pay_platform *p, const char *merchant_id, json_t **out,
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

/* --- rotation ------------------------------------------------------------------------- */

static enum pay_err audit(struct pay_platform *p, struct pay_store_tx *tx, const char *actor,
                          const char *action, const char *target, const char *detail,
                          struct pay_error *err)
{
    return pay_platform_audit(
        p, tx,
        &(struct pay_audit_entry){
            .actor = actor, .action = action, .target = target, .detail = detail},
        err);
}

struct rot_ctx {
    struct pay_platform *p;
    const char *actor, *merchant_id, *key_id;
    const struct pay_platform_merchant *m; /* the new key (add) */
    int64_t now, end_ms;
    char new_id[PAY_SIG_KEY_ID_MAX + 1];
};

/* The onboarding key gets its row (key_id = merchant id) the first time a rotation touches
 * it, so from then on the rows decide. */
static enum pay_err base_row(struct pay_store_tx *tx, const char *merchant_id,
                             struct pay_error *err)
{
    return pay_store_exec(tx, err,
                          "INSERT INTO pf_merchant_keys (key_id, merchant_id, key_alg,"
                          " public_key, created_ms) SELECT id, id, key_alg, public_key, created_ms"
                          " FROM pf_merchants WHERE id = $1 ON CONFLICT (key_id) DO NOTHING",
                          "t", merchant_id);
}

/* Keys of the merchant usable at now (after base_row). */
static int64_t usable_count(struct pay_store_tx *tx, const struct rot_ctx *r, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT COUNT(*) FROM pf_merchant_keys WHERE merchant_id = $1 AND" USABLE_SQL,
        "ti", r->merchant_id, r->now);
    int64_t n = st && pay_store_step(st, err) == 1 ? pay_store_col_int64(st, 0) : -1;
    pay_store_done(st);
    return n;
}

static enum pay_err add_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct rot_ctx *r = ctx;
    enum pay_err e = base_row(tx, r->merchant_id, err);
    int64_t usable = e == PAY_ERR_OK ? usable_count(tx, r, err) : -1;
    if (usable < 0)
        return err->code;
    if (usable >= PAY_PORTAL_KEYS_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "public_key",
                             "%d keys are in use already; revoke one first", PAY_PORTAL_KEYS_MAX);
    struct pay_store_stmt *st =
        pay_store_query(tx, err, "SELECT COUNT(*) FROM pf_merchant_keys WHERE merchant_id = $1",
                        "t", r->merchant_id);
    int64_t rows = st && pay_store_step(st, err) == 1 ? pay_store_col_int64(st, 0) : -1;
    pay_store_done(st);
    if (rows < 0)
        return err->code;
    snprintf(r->new_id, sizeof r->new_id, "%s.k%lld", r->merchant_id, (long long)rows);
    e = pay_store_exec(tx, err,
                       "UPDATE pf_merchant_keys SET not_after_ms = $3 WHERE merchant_id = $1"
                       " AND" USABLE_SQL " AND (not_after_ms = 0 OR not_after_ms > $3)",
                       "tii", r->merchant_id, r->now, r->end_ms);
    if (e != PAY_ERR_OK)
        return e;
    char detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(detail, sizeof detail, "merchant=%s older keys end at %lld", r->merchant_id,
             (long long)r->end_ms);
    e = audit(r->p, tx, r->actor, "portal.key_add", r->new_id, detail, err);
    if (e != PAY_ERR_OK)
        return e;
    return pay_store_exec(tx, err,
                          "INSERT INTO pf_merchant_keys (key_id, merchant_id, key_alg,"
                          " public_key, created_ms) VALUES ($1,$2,$3,$4,$5)",
                          "tttti", r->new_id, r->merchant_id,
                          r->m->alg == PAY_SIG_ED25519 ? "ed25519" : "rsa", r->m->public_key,
                          r->now);
}

enum pay_err pay_portal_key_add(struct pay_platform *p, const char *actor, const char *merchant_id,
                                const char *public_key, int64_t overlap_days,
                                char key_id_out[PAY_SIG_KEY_ID_MAX + 1], struct pay_error *err)
{
    if (overlap_days < 0 || overlap_days > PAY_PORTAL_KEY_OVERLAP_DAYS_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "overlap_days", "0 to %d days",
                             PAY_PORTAL_KEY_OVERLAP_DAYS_MAX);
    struct pay_platform_merchant m = {0};
    enum pay_err e = pay_platform_merchant_key_set(&m, public_key ? public_key : "", err);
    if (e != PAY_ERR_OK)
        return e;
    struct rot_ctx r = {
        .p = p, .actor = actor, .merchant_id = merchant_id, .m = &m, .now = pay_clock_now_ms()};
    r.end_ms = r.now + overlap_days * DAY_MS;
    e = pay_platform_write(p, add_tx, &r, err);
    pay_platform_merchant_fini(&m);
    if (e == PAY_ERR_OK)
        pay_str_copy(key_id_out, PAY_SIG_KEY_ID_MAX + 1, r.new_id);
    return e;
}

static enum pay_err revoke_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct rot_ctx *r = ctx;
    enum pay_err e = base_row(tx, r->merchant_id, err);
    if (e != PAY_ERR_OK)
        return e;
    e = pay_store_exec(tx, err,
                       "UPDATE pf_merchant_keys SET revoked_ms = $3 WHERE merchant_id = $1"
                       " AND key_id = $2 AND revoked_ms = 0",
                       "tti", r->merchant_id, r->key_id, r->now);
    if (e != PAY_ERR_OK)
        return e;
    if (pay_store_changes(tx) != 1)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "key_id", "no key %s in use", r->key_id);
    /* exactly one key has no end (the newest); without it every key would die at its end */
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT COUNT(*) FROM pf_merchant_keys WHERE merchant_id = $1 AND revoked_ms = 0"
        " AND not_after_ms = 0",
        "t", r->merchant_id);
    int64_t lasting = st && pay_store_step(st, err) == 1 ? pay_store_col_int64(st, 0) : -1;
    pay_store_done(st);
    if (lasting < 0)
        return err->code;
    if (lasting == 0) /* the transaction rolls back: nothing revoked */
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "key_id",
                             "the key in use; upload its successor first");
    return audit(r->p, tx, r->actor, "portal.key_revoke", r->key_id, r->merchant_id, err);
}

enum pay_err pay_portal_key_revoke(struct pay_platform *p, const char *actor,
                                   const char *merchant_id, const char *key_id,
                                   struct pay_error *err)
{
    struct rot_ctx r = {.p = p,
                        .actor = actor,
                        .merchant_id = merchant_id,
                        .key_id = key_id ? key_id : "",
                        .now = pay_clock_now_ms()};
    return pay_platform_write(p, revoke_tx, &r, err);
}

struct hosts_ctx {
    struct pay_platform *p;
    const char *actor, *merchant_id, *hosts;
};

static enum pay_err hosts_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct hosts_ctx *h = ctx;
    enum pay_err e =
        pay_store_exec(tx, err, "UPDATE pf_merchants SET notify_hosts = $1 WHERE id = $2", "tt",
                       h->hosts, h->merchant_id);
    return e == PAY_ERR_OK
               ? audit(h->p, tx, h->actor, "portal.notify_hosts", h->merchant_id, h->hosts, err)
               : e;
}

enum pay_err pay_portal_hosts_set(struct pay_platform *p, const char *actor,
                                  const char *merchant_id, const char *hosts, struct pay_error *err)
{
    enum pay_err e = pay_platform_merchant_hosts_check(p, hosts ? hosts : "", err);
    if (e != PAY_ERR_OK)
        return e;
    struct hosts_ctx h = {p, actor, merchant_id, hosts};
    return pay_platform_write(p, hosts_tx, &h, err);
}
