/* Members and the BIN table: admitting a member (a certificate from the switch's CA, a sealing
 * key, a settlement account), funding its settlement account (sandbox), BIN table entries and
 * routing a card number to its issuer by the longest matching prefix. */
#include "switch/switch.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "crypto/ids.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MEMBER_CERT_DAYS 825 /* as the bank's merchant certificates: renew every two years */

/* Here, with the member it belongs to, rather than in clearing.c, which calls this file (the
 * member's certificate) and must not be called back (docs/hacking.md, "Call loops"). */
void pay_switch_clearing_account(const char *code, char out[PAY_LEDGER_ID_MAX + 1])
{
    snprintf(out, PAY_LEDGER_ID_MAX + 1, "clear:%s", code);
}

void pay_switch_member_fini(struct pay_switch_member *m)
{
    free(m->cert_pem);
    m->cert_pem = NULL;
}

enum pay_err pay_switch_member_get(struct pay_store_tx *tx, const char *code,
                                   struct pay_switch_member *out, struct pay_error *err)
{
    memset(out, 0, sizeof *out);
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT code, name, roles, url, seal_pk, settle_account, cert_pem, revoked_ms"
        " FROM switch_members WHERE code = $1",
        "t", code);
    if (!st)
        return err->code;
    int r = pay_store_step(st, err);
    if (r == 1) {
        pay_store_col_copy(st, 0, out->code, sizeof out->code);
        pay_store_col_copy(st, 1, out->name, sizeof out->name);
        const char *roles = pay_store_col_text(st, 2);
        out->issuer = strstr(roles, "issuer") != NULL;
        out->acquirer = strstr(roles, "acquirer") != NULL;
        pay_store_col_copy(st, 3, out->url, sizeof out->url);
        if (pay_seal_pk_from_text(out->seal_pk, pay_store_col_text(st, 4)) != 0)
            r = -2;
        pay_store_col_copy(st, 5, out->settle_account, sizeof out->settle_account);
        out->cert_pem = strdup(pay_store_col_text(st, 6));
        out->revoked = pay_store_col_int64(st, 7) != 0;
    }
    pay_store_done(st);
    if (r == 1 && out->cert_pem)
        return PAY_ERR_OK;
    pay_switch_member_fini(out);
    if (r == 0)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "member", "no member %s", code);
    return r == -1 ? err->code : pay_error_set(err, PAY_ERR_INTERNAL, "", "member %s", code);
}

struct load_op {
    const char *code;
    struct pay_switch_member *out;
};

static enum pay_err load_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct load_op *l = ctx;
    pay_switch_member_fini(l->out); /* a rerun */
    return pay_switch_member_get(tx, l->code, l->out, err);
}

enum pay_err pay_switch_member_load(struct pay_switch *sw, const char *code,
                                    struct pay_switch_member *out, struct pay_error *err)
{
    memset(out, 0, sizeof *out);
    struct load_op l = {code, out};
    return pay_store_run_read(sw->store, load_tx, &l, err);
}

static bool prefix_ok(const char *p)
{
    size_t n = p ? strlen(p) : 0;
    return n >= PAY_NET_BIN_PREFIX_MIN && n <= PAY_NET_BIN_PREFIX_MAX &&
           strspn(p, "0123456789") == n;
}

static bool roles_ok(const char *r)
{
    return r && (strcmp(r, "issuer") == 0 || strcmp(r, "acquirer") == 0 ||
                 strcmp(r, "issuer,acquirer") == 0);
}

/* --- admitting a member --------------------------------------------------------------------- */

struct add_op {
    struct pay_switch *sw;
    const struct pay_switch_member_new *m;
    const struct pay_x509_pair *pair;
    const char *public_pem, *seal_pk;
    char account[PAY_LEDGER_ID_MAX + 1];
};

/* The member's settlement account (no overdraft: it settles with money it has) and its clearing
 * account (a position either way until the day is settled). */
static enum pay_err member_accounts_create(struct pay_switch *sw, struct pay_store_tx *tx,
                                           const char *code, const char *settle_id,
                                           struct pay_error *err)
{
    struct pay_ledger_account a[2];
    memset(a, 0, sizeof a);
    pay_str_copy(a[0].id, sizeof a[0].id, settle_id);
    a[0].code = PAY_SWITCH_ACCT_SETTLEMENT;
    a[0].flags = PAY_LEDGER_AF_DEBITS_MUST_NOT_EXCEED_CREDITS;
    pay_switch_clearing_account(code, a[1].id);
    a[1].code = PAY_SWITCH_ACCT_CLEARING;
    for (int i = 0; i < 2; i++) {
        snprintf(a[i].currency, sizeof a[i].currency, PAY_SWITCH_CURRENCY);
        pay_str_copy(a[i].owner, sizeof a[i].owner, code);
    }
    enum pay_ledger_result res[2];
    enum pay_err rc = pay_ledger_tx_create_accounts(sw->ledger, tx, a, 2, res, err);
    for (int i = 0; rc == PAY_ERR_OK && i < 2; i++)
        if (res[i] != PAY_LEDGER_OK)
            rc = pay_error_set(err, PAY_ERR_INTERNAL, "", "account %s: %s", a[i].id,
                               pay_ledger_result_name(res[i]));
    return rc;
}

/* Central bank money into a settlement account (inside tx). */
static enum pay_err fund_tx(struct pay_switch *sw, struct pay_store_tx *tx, const char *account,
                            int64_t amount_minor, struct pay_error *err)
{
    PAY_ASSERT(amount_minor > 0 && amount_minor <= PAY_AMOUNT_MAX_MINOR);
    struct pay_ledger_transfer t;
    memset(&t, 0, sizeof t);
    char id[PAY_ID_MAX];
    enum pay_err rc = pay_id_new("fund", id);
    if (rc != PAY_ERR_OK)
        return pay_error_set(err, rc, "", "no random id");
    pay_str_copy(t.id, sizeof t.id, id);
    pay_str_copy(t.debit_account_id, sizeof t.debit_account_id, sw->central_account);
    pay_str_copy(t.credit_account_id, sizeof t.credit_account_id, account);
    snprintf(t.currency, sizeof t.currency, PAY_SWITCH_CURRENCY);
    t.amount_minor = amount_minor;
    t.code = PAY_SWITCH_XFER_FUNDING;
    enum pay_ledger_result res;
    rc = pay_ledger_tx_transfer(sw->ledger, tx, &t, &res, err);
    if (rc == PAY_ERR_OK && res != PAY_LEDGER_OK)
        rc = pay_error_set(err, PAY_ERR_FIELD_INVALID, "member", "funding refused: %s",
                           pay_ledger_result_name(res));
    return rc;
}

static enum pay_err add_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct add_op *a = ctx;
    const struct pay_switch_member_new *m = a->m;
    int64_t now = pay_clock_now_ms();
    snprintf(a->account, sizeof a->account, "settle:%s", m->code);
    enum pay_err rc = pay_store_exec(
        tx, err,
        "INSERT INTO switch_members (code, name, roles, cert_serial, cert_pem, public_pem,"
        " seal_pk, settle_account, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        "tttttttti", m->code, m->name, m->roles, a->pair->serial_hex, a->pair->cert_pem,
        a->public_pem, a->seal_pk, a->account, now);
    if (rc == PAY_ERR_DB_CONSTRAINT)
        return pay_error_set(err, PAY_ERR_DUPLICATE, "code", "member %s exists", m->code);
    if (rc == PAY_ERR_OK)
        rc = member_accounts_create(a->sw, tx, m->code, a->account, err);
    if (rc == PAY_ERR_OK && m->funds_minor > 0)
        rc = fund_tx(a->sw, tx, a->account, m->funds_minor, err);
    if (rc == PAY_ERR_OK && m->bin && m->bin[0])
        rc = pay_store_exec(
            tx, err,
            "INSERT INTO switch_bins (prefix, member, created_ms) VALUES ($1, $2, $3)"
            " ON CONFLICT (prefix) DO UPDATE SET member = $2",
            "tti", m->bin, m->code, now);
    return rc;
}

static enum pay_err add_check(const struct pay_switch_member_new *m, struct pay_error *err)
{
    if (!pay_net_code_valid(m->code))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "code", "code must be [a-z0-9]{2,16}");
    if (!m->name || !m->name[0] || strlen(m->name) > PAY_SWITCH_NAME_MAX)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "name", "name must be 1-%d characters",
                             PAY_SWITCH_NAME_MAX);
    if (!roles_ok(m->roles))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "roles",
                             "roles must be issuer, acquirer or issuer,acquirer");
    if (m->bin && m->bin[0] && !prefix_ok(m->bin))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "bin", "a BIN prefix is %d-%d digits",
                             PAY_NET_BIN_PREFIX_MIN, PAY_NET_BIN_PREFIX_MAX);
    if (m->bin && m->bin[0] && !strstr(m->roles, "issuer"))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "bin", "only an issuer has BINs");
    if (m->funds_minor < 0 || m->funds_minor > PAY_AMOUNT_MAX_MINOR)
        return pay_error_set(err, PAY_ERR_AMOUNT_INVALID, "funds", "funds: 0..%lld minor units",
                             (long long)PAY_AMOUNT_MAX_MINOR);
    return PAY_ERR_OK;
}

/* member.json: what the member's configuration needs to know of itself and the switch. */
static char *member_json(struct pay_switch *sw, const struct pay_switch_member_new *m,
                         const char *serial, const char *account)
{
    char pk[PAY_SEAL_KEY_TEXT_LEN];
    pay_seal_pk_to_text(pk, sw->keys.seal.pk);
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "code", m->code, "name", m->name,
                  "roles", m->roles, "certSerial", serial, "settlementAccount", account,
                  "switchCode", sw->opt.code, "switchName", sw->opt.name, "switchSealKey", pk);
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    return text;
}

static int write_out(struct pay_switch *sw, const char *dir, const char *name, const char *text,
                     int mode)
{
    char path[PAY_SWITCH_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return text ? pay_file_write(path, text, strlen(text), mode) : -1;
}

static enum pay_err write_member_dir(struct pay_switch *sw, const struct pay_switch_member_new *m,
                                     const struct pay_x509_pair *pair, const char *seal_sk,
                                     const char *account, const char *dir, struct pay_error *err)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "out", "cannot create %s", dir);
    char *json = member_json(sw, m, pair->serial_hex, account);
    int w = write_out(sw, dir, "member.key", pair->key_pem, 0600) |
            write_out(sw, dir, "seal.key", seal_sk, 0600) |
            write_out(sw, dir, "member.crt", pair->cert_pem, 0644) |
            write_out(sw, dir, "switch.crt", sw->keys.certs.sign_cert_pem, 0644) |
            write_out(sw, dir, "switch-ca.crt", sw->keys.certs.ca_cert_pem, 0644) |
            write_out(sw, dir, "member.json", json, 0600); /* the member's configuration */
    free(json);
    return w == 0
               ? PAY_ERR_OK
               : pay_error_set(err, PAY_ERR_INTERNAL, "out", "cannot write the files in %s", dir);
}

enum pay_err pay_switch_member_add(struct pay_switch *sw, const struct pay_switch_member_new *m,
                                   const char *out_dir, struct pay_error *err)
{
    enum pay_err rc = add_check(m, err);
    if (rc != PAY_ERR_OK)
        return rc;
    struct pay_x509_pair pair = {0};
    rc = pay_x509_issue(sw->keys.certs.ca_cert_pem, sw->keys.certs.ca_key_pem, m->code, m->name,
                        MEMBER_CERT_DAYS, PAY_X509_KEY_RSA2048, &pair, err);
    if (rc != PAY_ERR_OK)
        return rc;
    struct pay_seal_key seal;
    pay_seal_key_generate(&seal);
    char seal_pk[PAY_SEAL_KEY_TEXT_LEN], seal_sk[PAY_SEAL_KEY_TEXT_LEN];
    pay_seal_pk_to_text(seal_pk, seal.pk);
    pay_seal_sk_to_text(seal_sk, &seal);
    pay_seal_key_fini(&seal); /* the switch keeps only the public half */
    char *pub = pay_x509_public_pem(pair.cert_pem);
    struct add_op a = {.sw = sw, .m = m, .pair = &pair, .public_pem = pub, .seal_pk = seal_pk};
    rc = pub ? pay_committer_submit(sw->committer, add_apply, &a, err)
             : pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot read the new certificate");
    if (rc == PAY_ERR_OK)
        rc = write_member_dir(sw, m, &pair, seal_sk, a.account, out_dir, err);
    if (rc == PAY_ERR_OK)
        PAY_INFO("switch.member_added", "member=%s roles=%s serial=%s", m->code, m->roles,
                 pair.serial_hex);
    free(pub);
    pay_wipe(seal_sk, sizeof seal_sk);
    pay_x509_pair_fini(&pair);
    return rc;
}

/* --- BIN table, funding ----------------------------------------------------------------------- */

struct bin_op {
    const char *prefix, *member;
};

static enum pay_err bin_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct bin_op *b = ctx;
    struct pay_switch_member m;
    enum pay_err rc = pay_switch_member_get(tx, b->member, &m, err);
    if (rc != PAY_ERR_OK)
        return rc;
    bool issuer = m.issuer;
    pay_switch_member_fini(&m);
    if (!issuer)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "member", "%s is not an issuer",
                             b->member);
    return pay_store_exec(tx, err,
                          "INSERT INTO switch_bins (prefix, member, created_ms) VALUES ($1, $2, $3)"
                          " ON CONFLICT (prefix) DO UPDATE SET member = $2",
                          "tti", b->prefix, b->member, pay_clock_now_ms());
}

enum pay_err pay_switch_bin_add(struct pay_switch *sw, const char *prefix, const char *member,
                                struct pay_error *err)
{
    if (!prefix_ok(prefix))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "prefix", "a BIN prefix is %d-%d digits",
                             PAY_NET_BIN_PREFIX_MIN, PAY_NET_BIN_PREFIX_MAX);
    if (!member)
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "member", "--member is required");
    struct bin_op b = {prefix, member};
    return pay_committer_submit(sw->committer, bin_apply, &b, err);
}

struct fund_op {
    struct pay_switch *sw;
    const char *member;
    int64_t amount_minor;
};

static enum pay_err fund_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct fund_op *f = ctx;
    struct pay_switch_member m;
    enum pay_err rc = pay_switch_member_get(tx, f->member, &m, err);
    if (rc == PAY_ERR_OK)
        rc = fund_tx(f->sw, tx, m.settle_account, f->amount_minor, err);
    pay_switch_member_fini(&m);
    return rc;
}

enum pay_err pay_switch_member_fund(struct pay_switch *sw, const char *member, int64_t amount_minor,
                                    struct pay_error *err)
{
    if (amount_minor <= 0 || amount_minor > PAY_AMOUNT_MAX_MINOR)
        return pay_error_set(err, PAY_ERR_AMOUNT_INVALID, "amount", "amount: 1..%lld minor units",
                             (long long)PAY_AMOUNT_MAX_MINOR);
    struct fund_op f = {sw, member ? member : "", amount_minor};
    return pay_committer_submit(sw->committer, fund_apply, &f, err);
}

enum pay_err pay_switch_route(struct pay_store_tx *tx, const char *pan,
                              char member[PAY_NET_CODE_MAX + 1], struct pay_error *err)
{
    char head[PAY_NET_BIN_PREFIX_MAX + 1]; /* only the digits a prefix can match */
    pay_str_copy(head, sizeof head, pan);
    struct pay_store_stmt *st = pay_store_query(tx, err,
                                                "SELECT member FROM switch_bins"
                                                " WHERE $1 LIKE prefix || '%'"
                                                " ORDER BY LENGTH(prefix) DESC LIMIT 1",
                                                "t", head);
    if (!st)
        return err->code;
    int r = pay_store_step(st, err);
    if (r == 1)
        pay_store_col_copy(st, 0, member, PAY_NET_CODE_MAX + 1);
    pay_store_done(st);
    if (r < 0)
        return err->code;
    return r == 1 ? PAY_ERR_OK
                  : pay_error_set(err, PAY_ERR_NOT_FOUND, "de2", "no member issues this card");
}

/* --- listing -------------------------------------------------------------------------------- */

static void print_balance(void *ctx, const char *account_id, int64_t net_credit)
{
    fprintf(ctx, "  %-22s %lld\n", account_id, (long long)net_credit);
}

static enum pay_err print_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    FILE *out = ctx;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT code, name, roles, url, signed_on_ms, settle_account, revoked_ms"
                        " FROM switch_members ORDER BY code",
                        "");
    if (!st)
        return err->code;
    fprintf(out, "members:\n");
    while (pay_store_step(st, err) == 1)
        fprintf(out, "  %-16s %-24s %-16s %s%s %s\n", pay_store_col_text(st, 0),
                pay_store_col_text(st, 1), pay_store_col_text(st, 2),
                pay_store_col_text(st, 3)[0] ? pay_store_col_text(st, 3) : "(not signed on)",
                pay_store_col_int64(st, 6) ? " REVOKED" : "", pay_store_col_text(st, 5));
    pay_store_done(st);
    st = pay_store_query(tx, err, "SELECT prefix, member FROM switch_bins ORDER BY prefix", "");
    if (!st)
        return err->code;
    fprintf(out, "BIN table:\n");
    while (pay_store_step(st, err) == 1)
        fprintf(out, "  %-12s %s\n", pay_store_col_text(st, 0), pay_store_col_text(st, 1));
    pay_store_done(st);
    /* The money, as of the same read: what each member holds at the central bank and its
     * position towards the network since the last settlement (docs/switch.md). */
    fprintf(out, "balances (minor units; settle: money held, clear: owed to (+) or by (-) the "
                 "member until settlement):\n");
    enum pay_err rc = pay_ledger_tx_each_balance(tx, "settle:", PAY_SWITCH_ACCT_SETTLEMENT,
                                                 print_balance, out, err);
    return rc != PAY_ERR_OK ? rc
                            : pay_ledger_tx_each_balance(tx, "clear:", PAY_SWITCH_ACCT_CLEARING,
                                                         print_balance, out, err);
}

enum pay_err pay_switch_members_print(struct pay_switch *sw, FILE *out, struct pay_error *err)
{
    return pay_store_run_read(sw->store, print_tx, out, err);
}
