/* Merchants of the platform: onboarding (validated before anything is written; no
 * special-purpose IP literal as a notify host unless private hosts are allowed), look-up, the
 * notify-host allow list, and the key look-up that authenticates every open-API request
 * (keyId = merchant id). */
#include "platform/platform.h"
#include "platform/portal.h"

#include "core/clock.h"
#include "core/timeutil.h"
#include "http/addr.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pay_platform_merchant_fini(struct pay_platform_merchant *m)
{
    free(m->public_key);
    m->public_key = NULL;
}

bool pay_platform_merchant_id_valid(const char *id)
{
    size_t n = strnlen(id, PAY_PLATFORM_MERCHANT_ID_MAX + 1);
    if (n == 0 || n > PAY_PLATFORM_MERCHANT_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)id[i]) || isdigit((unsigned char)id[i]) || id[i] == '_'))
            return false;
    return true;
}

/* Host names: letters, digits, '-', '.', and ':' for IPv6 literals; lower case. */
static bool hosts_valid(const char *list)
{
    size_t n = strlen(list), count = 1;
    if (n == 0 || n > PAY_PLATFORM_NOTIFY_HOSTS_TEXT_MAX || list[0] == ',' || list[n - 1] == ',')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = list[i];
        if (c == ',') {
            if (list[i + 1] == ',')
                return false;
            count++;
        } else if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-' ||
                     c == '.' || c == ':'))
            return false;
    }
    return count <= PAY_PLATFORM_NOTIFY_HOSTS_MAX;
}

bool pay_platform_merchant_host_allowed(const struct pay_platform_merchant *m, const char *host)
{
    size_t hl = strlen(host);
    const char *s = m->notify_hosts;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        if (len == hl && memcmp(s, host, hl) == 0)
            return true;
        s += len + (comma ? 1 : 0);
    }
    return false;
}

enum pay_err pay_platform_merchant_key_set(struct pay_platform_merchant *m, const char *text,
                                           struct pay_error *err)
{
    uint8_t pk[PAY_ED25519_PK_LEN];
    size_t len = strlen(text);
    free(m->public_key);
    m->public_key = NULL;
    if (pay_ed25519_pk_from_text(pk, text) == 0 || pay_ed25519_pk_from_pem(pk, text, len) == 0) {
        char b64[PAY_ED25519_KEY_TEXT_LEN];
        pay_ed25519_pk_to_text(b64, pk);
        m->alg = PAY_SIG_ED25519;
        m->public_key = strdup(b64);
    } else {
        struct pay_rsa_key *k = NULL;
        char what[96];
        if (strncmp(text, "-----BEGIN", 10) != 0)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, "public_key",
                                 "neither base64 of an Ed25519 key (44 characters) nor PEM");
        /* a public key of some type first, so a private key is never parsed here */
        if (pay_pem_key_describe(text, len, what, sizeof what) != 0 ||
            pay_rsa_key_from_pem(text, len, &k) != 0) {
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, "public_key",
                                 "%s; accepted: Ed25519 (base64 or PEM) or RSA of %d-%d bits (PEM)",
                                 what, PAY_RSA_BITS_MIN, PAY_RSA_BITS_MAX);
        }
        m->alg = PAY_SIG_RSA_SHA256;
        m->public_key = pay_rsa_public_pem(k);
        pay_rsa_key_free(k);
    }
    return m->public_key ? PAY_ERR_OK : pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
}

/* Outside sandboxes (allow_private_hosts off) a notify host that is an IP literal of a
 * special-purpose range, in any spelling (decimal, octal, hex, short, IPv6), is refused at
 * registration, so a merchant cannot aim the platform's notifications at itself or its
 * neighbours; names are judged again on every address they resolve to at connect time. */
static enum pay_err hosts_public(const char *list, struct pay_error *err)
{
    while (*list) {
        size_t len = strcspn(list, ",");
        char host[PAY_PLATFORM_NOTIFY_HOSTS_TEXT_MAX + 1], why[160];
        snprintf(host, sizeof host, "%.*s", (int)len, list);
        const struct pay_addr_range *r = NULL;
        if (pay_addr_text_special(host, &r) == 1)
            return pay_error_set(err, PAY_ERR_URL_FORBIDDEN, "notify_hosts",
                                 "%s is a special-purpose address (%s); such hosts need "
                                 "allow_private_hosts",
                                 host, pay_addr_range_describe(r, why, sizeof why));
        list += len + (list[len] == ',');
    }
    return PAY_ERR_OK;
}

enum pay_err pay_platform_merchant_hosts_check(const struct pay_platform *p, const char *list,
                                               struct pay_error *err)
{
    if (!hosts_valid(list))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "notify_hosts",
                             "lower-case host names (a-z 0-9 - . :), at most %d",
                             PAY_PLATFORM_NOTIFY_HOSTS_MAX);
    return p->set.allow_private_hosts ? PAY_ERR_OK : hosts_public(list, err);
}

static enum pay_err key_check(const struct pay_platform_merchant *m, struct pay_error *err)
{
    if (m->alg == PAY_SIG_ED25519) {
        uint8_t pk[PAY_ED25519_PK_LEN];
        if (pay_ed25519_pk_from_text(pk, m->public_key) != 0)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, "public_key",
                                 "not a base64 Ed25519 public key");
        return PAY_ERR_OK;
    }
    struct pay_rsa_key *k = NULL;
    if (m->alg != PAY_SIG_RSA_SHA256 ||
        pay_rsa_key_from_pem(m->public_key, strlen(m->public_key), &k) != 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "public_key",
                             "not an RSA public key (PEM, at least 2048 bits)");
    pay_rsa_key_free(k);
    return PAY_ERR_OK;
}

static enum pay_err merchant_validate(const struct pay_platform_merchant *m, struct pay_error *err)
{
    if (!pay_platform_merchant_id_valid(m->id))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "id", "1-32 of a-z, 0-9 and _");
    if (m->name[0] == '\0')
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "name", NULL);
    if (!hosts_valid(m->notify_hosts))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "notify_hosts",
                             "lower-case host names (a-z 0-9 - . :), at most %d",
                             PAY_PLATFORM_NOTIFY_HOSTS_MAX);
    struct pay_fee_terms terms = pay_platform_merchant_fee_terms(m);
    const char *bad = NULL;
    if (pay_money_fee_terms_check(&terms, &bad) != PAY_ERR_OK)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, bad, "%s",
                             strcmp(bad, "fee_bp") == 0 ? "0..10000 basis points"
                             : strcmp(bad, "fee_min") == 0
                                 ? "0 or more minor units, at most the largest amount"
                                 : "0 (none) or at least the minimum");
    if (m->escrow_confirm_ms != 0 && (m->escrow_confirm_ms < PAY_PLATFORM_ESCROW_CONFIRM_MIN_MS ||
                                      m->escrow_confirm_ms > PAY_PLATFORM_ESCROW_CONFIRM_MAX_MS))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "escrow_confirm_timeout",
                             "a duration from 1h to 90d");
    if (m->settle_days < 0 || m->settle_days > 30)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "settle_days", "0..30 business days");
    if (m->settle_min_minor < 0 || m->settle_min_minor > PAY_AMOUNT_MAX_MINOR)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "settle_min", "0 or more");
    if (!m->public_key)
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "public_key", NULL);
    return key_check(m, err);
}

struct add_ctx {
    struct pay_platform *p;
    const struct pay_platform_merchant *m;
};

static enum pay_err add_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err);

enum pay_err pay_platform_merchant_check(const struct pay_platform *p,
                                         const struct pay_platform_merchant *m,
                                         struct pay_error *err)
{
    enum pay_err e = merchant_validate(m, err);
    if (e == PAY_ERR_OK && !p->set.allow_private_hosts)
        e = hosts_public(m->notify_hosts, err);
    return e;
}

enum pay_err pay_platform_merchant_insert_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                             const struct pay_platform_merchant *m,
                                             struct pay_error *err)
{
    struct add_ctx a = {p, m};
    return add_tx(tx, &a, err);
}

static enum pay_err add_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    const struct add_ctx *a = ctx;
    const struct pay_platform_merchant *m = a->m;
    enum pay_err e = pay_store_exec(
        tx, err,
        "INSERT INTO pf_merchants (id, name, key_alg, public_key, notify_hosts, fee_bp,"
        " settle_bank, settle_account, status, created_ms, escrow_confirm_ms, settle_days,"
        " settle_min_minor, fee_min_minor, fee_cap_minor)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)",
        "tttttittti"
        "iiiii",
        m->id, m->name, m->alg == PAY_SIG_ED25519 ? "ed25519" : "rsa", m->public_key,
        m->notify_hosts, m->fee_bp, m->settle_bank, m->settle_account,
        m->status[0] ? m->status : "active", pay_clock_now_ms(), m->escrow_confirm_ms,
        m->settle_days, m->settle_min_minor, m->fee_min_minor, m->fee_cap_minor);
    if (e == PAY_ERR_DB_CONSTRAINT)
        pay_error_set(err, PAY_ERR_DUPLICATE, "id", "merchant %s exists", m->id);
    if (e != PAY_ERR_OK)
        return e;
    char detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(detail, sizeof detail,
             "name=%.128s fee_bp=%lld fee_min_minor=%lld fee_cap_minor=%lld key=%s"
             " notify_hosts=%.200s",
             m->name, (long long)m->fee_bp, (long long)m->fee_min_minor,
             (long long)m->fee_cap_minor, m->alg == PAY_SIG_ED25519 ? "ed25519" : "rsa",
             m->notify_hosts);
    return pay_platform_audit(
        a->p, tx,
        &(struct pay_audit_entry){
            .actor = "operator", .action = "merchant.add", .target = m->id, .detail = detail},
        err);
}

enum pay_err pay_platform_merchant_add(struct pay_platform *p,
                                       const struct pay_platform_merchant *m, struct pay_error *err)
{
    enum pay_err e = pay_platform_merchant_check(p, m, err);
    if (e != PAY_ERR_OK)
        return e;
    struct add_ctx a = {p, m};
    return pay_platform_write(p, add_tx, &a, err);
}

struct get_ctx {
    const char *id;
    struct pay_platform_merchant *m;
    bool found;
};

static enum pay_err get_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct get_ctx *g = ctx;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT id, name, key_alg, public_key, notify_hosts, fee_bp, settle_bank,"
                        " settle_account, status, escrow_confirm_ms, settle_days, settle_min_minor,"
                        " fee_min_minor, fee_cap_minor FROM pf_merchants WHERE id = $1",
                        "t", g->id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    g->found = rc == 1;
    if (rc == 1) {
        struct pay_platform_merchant *m = g->m;
        pay_store_col_copy(st, 0, m->id, sizeof m->id);
        pay_store_col_copy(st, 1, m->name, sizeof m->name);
        m->alg =
            strcmp(pay_store_col_text(st, 2), "rsa") == 0 ? PAY_SIG_RSA_SHA256 : PAY_SIG_ED25519;
        free(m->public_key);
        m->public_key = strdup(pay_store_col_text(st, 3));
        pay_store_col_copy(st, 4, m->notify_hosts, sizeof m->notify_hosts);
        m->fee_bp = pay_store_col_int64(st, 5);
        pay_store_col_copy(st, 6, m->settle_bank, sizeof m->settle_bank);
        pay_store_col_copy(st, 7, m->settle_account, sizeof m->settle_account);
        pay_store_col_copy(st, 8, m->status, sizeof m->status);
        m->escrow_confirm_ms = pay_store_col_int64(st, 9);
        m->settle_days = pay_store_col_int64(st, 10);
        m->settle_min_minor = pay_store_col_int64(st, 11);
        m->fee_min_minor = pay_store_col_int64(st, 12);
        m->fee_cap_minor = pay_store_col_int64(st, 13);
        if (!m->public_key)
            rc = -1, pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

enum pay_err pay_platform_merchant_get(struct pay_platform *p, const char *id,
                                       struct pay_platform_merchant *m, struct pay_error *err)
{
    memset(m, 0, sizeof *m);
    struct get_ctx g = {id, m, false};
    enum pay_err e = pay_store_run_read(p->store, get_tx, &g, err);
    if (e == PAY_ERR_OK && !g.found)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "merchant_id", "no merchant %s", id);
    return e;
}

enum pay_err pay_platform_merchant_pubkey(const struct pay_platform_merchant *m,
                                          struct pay_sig_pubkey *out)
{
    memset(out, 0, sizeof *out);
    out->alg = m->alg;
    if (m->alg == PAY_SIG_ED25519)
        return pay_ed25519_pk_from_text(out->ed25519, m->public_key) == 0
                   ? PAY_ERR_OK
                   : PAY_ERR_SIGNATURE_INVALID;
    struct pay_rsa_key *k = NULL;
    if (pay_rsa_key_from_pem(m->public_key, strlen(m->public_key), &k) != 0)
        return PAY_ERR_SIGNATURE_INVALID;
    out->rsa = k;
    return PAY_ERR_OK;
}

int pay_platform_merchant_of_key(const char *key_id, char out[PAY_PLATFORM_MERCHANT_ID_MAX + 1])
{
    size_t n = strcspn(key_id, ".");
    if (n == 0 || n > PAY_PLATFORM_MERCHANT_ID_MAX)
        return -1;
    memcpy(out, key_id, n);
    out[n] = '\0';
    return pay_platform_merchant_id_valid(out) ? 0 : -1;
}

void pay_platform_merchant_key_release(void *ctx, struct pay_sig_pubkey *key)
{
    if (key->rsa)
        pay_rsa_key_free((struct pay_rsa_key *)key->rsa);
    key->rsa = NULL;
}

struct status_ctx {
    struct pay_platform *p;
    const char *id, *status;
};

static enum pay_err status_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct status_ctx *c = ctx;
    enum pay_err e = pay_store_exec(tx, err, "UPDATE pf_merchants SET status = $1 WHERE id = $2",
                                    "tt", c->status, c->id);
    if (e == PAY_ERR_OK && pay_store_changes(tx) != 1)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "id", "no merchant %s", c->id);
    if (e != PAY_ERR_OK)
        return e;
    return pay_platform_audit(
        c->p, tx,
        &(struct pay_audit_entry){
            .actor = "operator", .action = "merchant.status", .target = c->id, .detail = c->status},
        err);
}

enum pay_err pay_platform_merchant_set_status(struct pay_platform *p, const char *id,
                                              const char *status, struct pay_error *err)
{
    if (strcmp(status, "active") != 0 && strcmp(status, "suspended") != 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "status", "active or suspended");
    struct status_ctx c = {p, id, status};
    return pay_platform_write(p, status_tx, &c, err);
}

struct settle_ctx {
    struct pay_platform *p;
    const struct pay_platform_merchant *m;
};

static enum pay_err settle_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct settle_ctx *c = ctx;
    const struct pay_platform_merchant *m = c->m;
    enum pay_err e = pay_store_exec(tx, err,
                                    "UPDATE pf_merchants SET settle_bank = $1, settle_account = $2,"
                                    " settle_days = $3, settle_min_minor = $4 WHERE id = $5",
                                    "ttiit", m->settle_bank, m->settle_account, m->settle_days,
                                    m->settle_min_minor, m->id);
    if (e == PAY_ERR_OK && pay_store_changes(tx) != 1)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "id", "no merchant %s", m->id);
    if (e != PAY_ERR_OK)
        return e;
    char detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(detail, sizeof detail, "bank=%s days=%lld min_minor=%lld", m->settle_bank,
             (long long)m->settle_days, (long long)m->settle_min_minor);
    return pay_platform_audit(c->p, tx,
                              &(struct pay_audit_entry){.actor = "operator",
                                                        .action = "merchant.settlement",
                                                        .target = m->id,
                                                        .detail = detail},
                              err);
}

enum pay_err pay_platform_merchant_set_settlement(struct pay_platform *p,
                                                  const struct pay_platform_merchant *m,
                                                  struct pay_error *err)
{
    if (m->settle_days < 0 || m->settle_days > 30)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "settle_days", "0..30 business days");
    if (m->settle_min_minor < 0 || m->settle_min_minor > PAY_AMOUNT_MAX_MINOR)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "settle_min", "0 or more");
    struct settle_ctx c = {p, m};
    return pay_platform_write(p, settle_tx, &c, err);
}

/* --- fees ------------------------------------------------------------------------------------ */

struct pay_fee_terms pay_platform_merchant_fee_terms(const struct pay_platform_merchant *m)
{
    return (struct pay_fee_terms){m->fee_bp, m->fee_min_minor, m->fee_cap_minor};
}

enum pay_err pay_platform_merchant_fee_tx(struct pay_store_tx *tx, const char *merchant_id,
                                          int64_t amount_minor, int64_t *fee_minor,
                                          struct pay_error *err)
{
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT fee_bp, fee_min_minor, fee_cap_minor FROM pf_merchants"
                        " WHERE id = $1",
                        "t", merchant_id);
    if (!st)
        return err->code;
    struct pay_fee_terms t = {0, 0, 0};
    int rc = pay_store_step(st, err);
    if (rc == 1)
        t = (struct pay_fee_terms){pay_store_col_int64(st, 0), pay_store_col_int64(st, 1),
                                   pay_store_col_int64(st, 2)};
    pay_store_done(st);
    if (rc != 1)
        return rc < 0 ? err->code : pay_error_set(err, PAY_ERR_INTERNAL, "", "merchant");
    enum pay_err e = pay_money_fee(amount_minor, &t, fee_minor);
    return e == PAY_ERR_OK ? PAY_ERR_OK : pay_error_set(err, e, "amount", NULL);
}

struct fee_ctx {
    struct pay_platform *p;
    const struct pay_platform_merchant *m;
};

static enum pay_err fee_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct fee_ctx *c = ctx;
    const struct pay_platform_merchant *m = c->m;
    enum pay_err e = pay_store_exec(tx, err,
                                    "UPDATE pf_merchants SET fee_bp = $1, fee_min_minor = $2,"
                                    " fee_cap_minor = $3 WHERE id = $4",
                                    "iiit", m->fee_bp, m->fee_min_minor, m->fee_cap_minor, m->id);
    if (e == PAY_ERR_OK && pay_store_changes(tx) != 1)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "id", "no merchant %s", m->id);
    if (e != PAY_ERR_OK)
        return e;
    char detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(detail, sizeof detail, "fee_bp=%lld fee_min_minor=%lld fee_cap_minor=%lld",
             (long long)m->fee_bp, (long long)m->fee_min_minor, (long long)m->fee_cap_minor);
    return pay_platform_audit(
        c->p, tx,
        &(struct pay_audit_entry){
            .actor = "operator", .action = "merchant.fee", .target = m->id, .detail = detail},
        err);
}

enum pay_err pay_platform_merchant_set_fee(struct pay_platform *p,
                                           const struct pay_platform_merchant *m,
                                           struct pay_error *err)
{
    struct pay_fee_terms terms = pay_platform_merchant_fee_terms(m);
    const char *bad = NULL;
    if (pay_money_fee_terms_check(&terms, &bad) != PAY_ERR_OK)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, bad, "%s",
                             strcmp(bad, "fee_bp") == 0 ? "0..10000 basis points"
                             : strcmp(bad, "fee_min") == 0
                                 ? "0 or more minor units, at most the largest amount"
                                 : "0 (none) or at least the minimum");
    struct fee_ctx c = {p, m};
    return pay_platform_write(p, fee_tx, &c, err);
}
