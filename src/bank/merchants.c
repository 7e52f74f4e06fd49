/* Acquiring contracts: merchants, their accounts and the X.509 certificates the bank's CA
 * issues them (and revokes). The bank keeps each certificate's public key (SPKI PEM) so that
 * the signed API can verify merchants' requests. */
#include "bank/bank.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "crypto/x509.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <sys/stat.h>

bool pay_bank_domain_match(const char *host, const char *domain)
{
    size_t h = strlen(host), d = strlen(domain);
    if (d == 0 || h < d)
        return false;
    if (strcasecmp(host + h - d, domain) != 0)
        return false;
    return h == d || host[h - d - 1] == '.';
}

enum pay_err pay_bank_merchant_get(struct pay_store_tx *tx, const char *mer_id,
                                   struct pay_bank_merchant *out, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT mer_id, name, account_id, referrer_domain, notify_domain, allow_no_referer"
        " FROM bank_merchants WHERE mer_id = $1",
        "t", mer_id);
    if (!st)
        return err->code;
    int r = pay_store_step(st, err);
    if (r == 1) {
        memset(out, 0, sizeof *out);
        pay_store_col_copy(st, 0, out->mer_id, sizeof out->mer_id);
        pay_store_col_copy(st, 1, out->name, sizeof out->name);
        pay_store_col_copy(st, 2, out->account_id, sizeof out->account_id);
        pay_str_copy(out->referrer_domain, sizeof out->referrer_domain, pay_store_col_text(st, 3));
        pay_store_col_copy(st, 4, out->notify_domain, sizeof out->notify_domain);
        out->allow_no_referer = pay_store_col_int64(st, 5) != 0;
    }
    pay_store_done(st);
    if (r < 0)
        return err->code;
    if (r == 0)
        return pay_error_set(err, PAY_ERR_CERT_INVALID, "merID", "no contract for merchant %s",
                             mer_id);
    return PAY_ERR_OK;
}

enum pay_err pay_bank_cert_check(struct pay_bank *b, struct pay_store_tx *tx, const char *cert_pem,
                                 const char *mer_id, struct pay_error *err)
{
    char serial[PAY_X509_SERIAL_HEX_MAX];
    enum pay_err rc = pay_x509_verify(cert_pem, b->keys.certs.ca_cert_pem, mer_id,
                                      pay_clock_real_ms() / 1000, serial, err);
    if (rc != PAY_ERR_OK) {
        snprintf(err->field, sizeof err->field, "merCert");
        return rc;
    }
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT revoked_ms FROM bank_certs WHERE serial = $1 AND mer_id = $2", "tt",
        serial, mer_id);
    if (!st)
        return err->code;
    int r = pay_store_step(st, err);
    int64_t revoked = r == 1 ? pay_store_col_int64(st, 0) : 0;
    pay_store_done(st);
    if (r < 0)
        return err->code;
    if (r == 0) /* issued by our CA but not recorded: refuse, the record is the truth */
        return pay_error_set(err, PAY_ERR_CERT_INVALID, "merCert", "certificate %s is unknown",
                             serial);
    if (revoked != 0)
        return pay_error_set(err, PAY_ERR_CERT_REVOKED, "merCert", "certificate %s was revoked",
                             serial);
    return PAY_ERR_OK;
}

struct add_op {
    struct pay_bank *b;
    const struct pay_bank_merchant *m;
    const struct pay_x509_pair *pair;
    const char *public_pem;
    char account_id[PAY_LEDGER_ID_MAX + 1];
};

static enum pay_err add_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct add_op *a = ctx;
    int64_t now = pay_clock_now_ms();
    /* an existing contract gets a new certificate; a new one also gets an account */
    struct pay_bank_merchant old;
    enum pay_err rc = pay_bank_merchant_get(tx, a->m->mer_id, &old, err);
    if (rc == PAY_ERR_OK) {
        pay_str_copy(a->account_id, sizeof a->account_id, old.account_id);
        memset(err, 0, sizeof *err);
    } else {
        memset(err, 0, sizeof *err);
        rc = pay_bank_account_create(a->b, tx, "merchant", a->m->mer_id, a->account_id, err);
        if (rc == PAY_ERR_OK)
            rc = pay_store_exec(tx, err,
                                "INSERT INTO bank_merchants (mer_id, name, account_id,"
                                " referrer_domain, notify_domain, allow_no_referer, created_ms)"
                                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                                "tttttii", a->m->mer_id, a->m->name, a->account_id,
                                a->m->referrer_domain, a->m->notify_domain,
                                (int64_t)a->m->allow_no_referer, now);
        if (rc != PAY_ERR_OK)
            return rc;
    }
    rc = pay_store_exec(tx, err,
                        "INSERT INTO bank_certs (serial, mer_id, cert_pem, public_pem,"
                        " created_ms) VALUES ($1, $2, $3, $4, $5)",
                        "tttti", a->pair->serial_hex, a->m->mer_id, a->pair->cert_pem,
                        a->public_pem, now);
    char detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(detail, sizeof detail, "serial=%s account=%s", a->pair->serial_hex, a->account_id);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_audit(a->b, tx,
                            &(struct pay_audit_entry){.actor = "admin",
                                                      .action = "merchant.add",
                                                      .target = a->m->mer_id,
                                                      .detail = detail},
                            err);
    return rc;
}

static int write_merchant_files(const char *dir, const struct pay_x509_pair *p, const char *mer_id,
                                const char *acct, const char *code)
{
    char path[PAY_BANK_PATH_MAX + 32], json[512];
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    snprintf(path, sizeof path, "%s/merchant.key", dir);
    if (pay_file_write(path, p->key_pem, strlen(p->key_pem), 0600) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/merchant.crt", dir);
    if (pay_file_write(path, p->cert_pem, strlen(p->cert_pem), 0644) != 0)
        return -1;
    int n = snprintf(json, sizeof json,
                     "{\"merID\":\"%s\",\"merAcct\":\"%s\",\"certSerial\":\"%s\","
                     "\"bankCode\":\"%s\"}\n",
                     mer_id, acct, p->serial_hex, code);
    snprintf(path, sizeof path, "%s/merchant.json", dir);
    return pay_file_write(path, json, (size_t)n, 0644);
}

static enum pay_err check_merchant(const struct pay_bank_merchant *m, struct pay_error *err)
{
    size_t n = strlen(m->mer_id);
    if (n == 0 || n > 32 ||
        strspn(m->mer_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != n)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "mer-id", "1-32 of [A-Za-z0-9_-]");
    if (!m->name[0] || !m->referrer_domain[0] || !m->notify_domain[0])
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "name",
                             "--name, --referrer-domain and --notify-domain are required");
    return PAY_ERR_OK;
}

enum pay_err pay_bank_merchant_add(struct pay_bank *b, const struct pay_bank_merchant *m,
                                   const char *out_dir, char serial_out[64], struct pay_error *err)
{
    enum pay_err rc = check_merchant(m, err);
    if (rc != PAY_ERR_OK)
        return rc;
    struct pay_x509_pair pair = {0};
    rc = pay_x509_issue(b->keys.certs.ca_cert_pem, b->keys.certs.ca_key_pem, m->mer_id, m->name,
                        825, PAY_X509_KEY_RSA2048, &pair, err);
    if (rc != PAY_ERR_OK)
        return rc;
    struct pay_rsa_key *k = NULL;
    char *pub = NULL;
    if (pay_rsa_key_from_pem(pair.key_pem, strlen(pair.key_pem), &k) == 0)
        pub = pay_rsa_public_pem(k);
    pay_rsa_key_free(k);
    if (!pub) {
        pay_x509_pair_fini(&pair);
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot read the issued key");
    }
    struct add_op a = {.b = b, .m = m, .pair = &pair, .public_pem = pub};
    rc = pay_committer_submit(b->committer, add_apply, &a, err);
    if (rc == PAY_ERR_OK &&
        write_merchant_files(out_dir, &pair, m->mer_id, a.account_id, b->opt.code) != 0)
        rc = pay_error_set(err, PAY_ERR_INTERNAL, "out", "cannot write the key files to %s",
                           out_dir);
    if (rc == PAY_ERR_OK) {
        pay_str_copy(serial_out, 64, pair.serial_hex);
        PAY_INFO("bank.merchant_added", "mer_id=%s account=%s serial=%s", m->mer_id, a.account_id,
                 pair.serial_hex);
    }
    free(pub);
    pay_x509_pair_fini(&pair);
    return rc;
}

struct revoke_op {
    struct pay_bank *b;
    const char *mer_id, *serial;
    int revoked;
};

static enum pay_err revoke_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct revoke_op *r = ctx;
    int64_t now = pay_clock_now_ms();
    enum pay_err rc = r->serial && r->serial[0]
                          ? pay_store_exec(tx, err,
                                           "UPDATE bank_certs SET revoked_ms = $2 WHERE serial = $1"
                                           " AND revoked_ms = 0",
                                           "ti", r->serial, now)
                          : pay_store_exec(tx, err,
                                           "UPDATE bank_certs SET revoked_ms = $2 WHERE mer_id = $1"
                                           " AND revoked_ms = 0",
                                           "ti", r->mer_id, now);
    r->revoked = rc == PAY_ERR_OK ? (int)pay_store_changes(tx) : 0;
    char detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(detail, sizeof detail, "serial=%.64s revoked=%d", r->serial ? r->serial : "",
             r->revoked);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_audit(r->b, tx,
                            &(struct pay_audit_entry){.actor = "admin",
                                                      .action = "merchant.revoke",
                                                      .target = r->mer_id ? r->mer_id : "",
                                                      .detail = detail},
                            err);
    return rc;
}

enum pay_err pay_bank_merchant_revoke(struct pay_bank *b, const char *mer_id, const char *serial,
                                      int *revoked_out, struct pay_error *err)
{
    struct revoke_op r = {.b = b, .mer_id = mer_id, .serial = serial};
    enum pay_err rc = pay_committer_submit(b->committer, revoke_apply, &r, err);
    *revoked_out = r.revoked;
    if (rc == PAY_ERR_OK)
        PAY_INFO("bank.cert_revoked", "mer_id=%s serial=%s count=%d", mer_id ? mer_id : "",
                 serial ? serial : "", r.revoked);
    return rc;
}
