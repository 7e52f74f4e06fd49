/* The bank object: opening a data dir (keys, database, ledger, committer) and closing it. The
 * account, customer and transfer primitives every money path uses are books.c. */
#include "bank/bank.h"
#include "translog/translog.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "crypto/ids.h"
#include "crypto/x509.h"
#include "http/server.h"
#include "i18n/i18n.h"
#include "crypto/keydir.h"
#include "store/faults.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PAY_BANK_WEB_ROOT
#define PAY_BANK_WEB_ROOT "web/bank"
#endif

void pay_bank_options_defaults(struct pay_bank_options *o)
{
    memset(o, 0, sizeof *o);
    pay_server_settings_init(&o->server, "127.0.0.1:0", "");
    pay_str_copy(o->web_root, sizeof o->web_root, PAY_BANK_WEB_ROOT);
    pay_str_copy(o->brand_color, sizeof o->brand_color, PAY_BANK_BRAND_COLOR);
    o->allow_private_notify = true;
    o->notify_timeout_ms = PAY_BANK_NOTIFY_TIMEOUT_MS;
    o->sms_ttl_ms = PAY_OTP_TTL_S * 1000LL;
    static const int64_t sched[] = {60000, 300000, 900000, 3600000, 7200000, 21600000};
    o->retry_n = sizeof sched / sizeof sched[0];
    memcpy(o->retry_ms, sched, sizeof sched);
}

char *pay_bank_read_file(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    fclose(f);
    if (!buf || n > max) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static int key_path(const struct pay_bank *b, const char *name, char *out, size_t n)
{
    return snprintf(out, n, "%s/keys/%s", b->opt.data_dir, name) < (int)n ? 0 : -1;
}

static int load_aead(struct pay_bank *b)
{
    char path[PAY_BANK_PATH_MAX + 16];
    if (key_path(b, "aead.key", path, sizeof path) != 0)
        return -1;
    char *text = pay_bank_read_file(path, 256);
    if (!text) {
        char gen[128];
        if (pay_keyring_generate_text("k1", gen, sizeof gen) != 0 ||
            pay_file_write(path, gen, strlen(gen), 0600) != 0)
            return -1;
        pay_wipe(gen, sizeof gen);
        text = pay_bank_read_file(path, 256);
        if (!text)
            return -1;
    }
    text[strcspn(text, "\r\n")] = '\0';
    int rc = pay_keyring_add_text(&b->keys.aead, text, 1);
    pay_wipe(text, strlen(text));
    free(text);
    return rc;
}

static enum pay_err load_keys(struct pay_bank *b, struct pay_error *err)
{
    char dir[PAY_BANK_PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/keys", b->opt.data_dir);
    if ((mkdir(b->opt.data_dir, 0700) != 0 && errno != EEXIST) ||
        (mkdir(dir, 0700) != 0 && errno != EEXIST))
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "data_dir", "cannot create %s", dir);
    pay_keyring_init(&b->keys.aead);
    if (load_aead(b) != 0 || pay_keydir_secret(dir, "index.key", b->keys.index_key) != 0 ||
        pay_keydir_secret(dir, "cvv.key", b->keys.cvv_key) != 0 ||
        pay_keydir_secret(dir, "otp.key", b->keys.otp_key) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot read or create keys in %s", dir);
    /* the CA issues merchants' certificates; sign.crt (CN = bank code) signs the bank's words */
    return pay_keydir_certs_load(dir, b->opt.name, b->opt.code, &b->keys.certs, err);
}

/* bank_info holds name, code and BIN from the first start: one data dir = one bank. The name
 * is only what people read, so a configured name replaces the stored one (a bank renamed in
 * its config shows the new name; before, an offline command's default "Sandbox Bank" stuck). */
static enum pay_err info_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pay_bank_options *o = ctx;
    struct {
        const char *k;
        char *v;
        size_t n;
        const char *def;
    } f[] = {{"name", o->name, sizeof o->name, "Sandbox Bank"},
             {"code", o->code, sizeof o->code, "sandbox"},
             {"bin", o->bin, sizeof o->bin, "622202"}};
    for (size_t i = 0; i < 3; i++) {
        struct pay_store_stmt *st =
            pay_store_query(tx, err, "SELECT v FROM bank_info WHERE k = $1", "t", f[i].k);
        if (!st)
            return err->code;
        int r = pay_store_step(st, err);
        bool rename = false;
        if (r == 1) {
            const char *v = pay_store_col_text(st, 0);
            bool differs = f[i].v[0] && strcmp(v, f[i].v) != 0;
            if (differs && strcmp(f[i].k, "name") != 0) {
                pay_error_set(err, PAY_ERR_CONFIG_INVALID, f[i].k,
                              "this data dir belongs to the bank with %s %s", f[i].k, v);
                pay_store_done(st);
                return err->code;
            }
            rename = differs;
            if (!differs)
                pay_str_copy(f[i].v, f[i].n, v);
        }
        pay_store_done(st);
        if (rename && pay_store_exec(tx, err, "UPDATE bank_info SET v = $2 WHERE k = $1", "tt",
                                     f[i].k, f[i].v) != PAY_ERR_OK)
            return err->code;
        if (r < 0)
            return err->code;
        if (r == 0) {
            if (!f[i].v[0])
                pay_str_copy(f[i].v, f[i].n, f[i].def);
            enum pay_err rc = pay_store_exec(
                tx, err, "INSERT INTO bank_info (k, v) VALUES ($1, $2)", "tt", f[i].k, f[i].v);
            if (rc != PAY_ERR_OK)
                return rc;
        }
    }
    return PAY_ERR_OK;
}

const char *pay_bank_display_name(const struct pay_bank *b, struct pay_http_request *req)
{
    bool en = strcmp(pay_i18n_tag(pay_http_req_lang(req)), "en") == 0;
    return en && b->opt.name_en[0] ? b->opt.name_en : b->opt.name;
}

static bool color_valid(const char *c)
{
    return strlen(c) == 7 && c[0] == '#' && strspn(c + 1, "0123456789abcdefABCDEF") == 6;
}

enum pay_err pay_bank_options_check(const struct pay_bank_options *o, struct pay_error *err)
{
    if (!o->data_dir[0])
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "data_dir", "--data-dir is required");
    if (o->brand_color[0] && !color_valid(o->brand_color))
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "brand_color",
                             "a colour such as #c7000b (# and 6 hex digits)");
    if (o->bin[0] && (strlen(o->bin) != 6 || strspn(o->bin, "0123456789") != 6))
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "bin", "BIN must be 6 digits");
    size_t n = strlen(o->code);
    if (o->code[0] && (n < 2 || strspn(o->code, "abcdefghijklmnopqrstuvwxyz0123456789") != n))
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "code", "code must be [a-z0-9]{2,16}");
    return PAY_ERR_OK;
}

static enum pay_err check_identity(const struct pay_bank_options *o, struct pay_error *err)
{
    if (strlen(o->bin) != 6 || strspn(o->bin, "0123456789") != 6)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "bin", "BIN must be 6 digits");
    size_t n = strlen(o->code);
    if (n < 2 || strspn(o->code, "abcdefghijklmnopqrstuvwxyz0123456789") != n)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "code", "code must be [a-z0-9]{2,16}");
    return PAY_ERR_OK;
}

static enum pay_err internal_accounts(struct pay_bank *b, struct pay_error *err)
{
    snprintf(b->cash_account, sizeof b->cash_account, "%s:cash", b->opt.code);
    snprintf(b->credit_lines_account, sizeof b->credit_lines_account, "%s:credit-lines",
             b->opt.code);
    struct pay_ledger_account a[2];
    memset(a, 0, sizeof a);
    for (int i = 0; i < 2; i++) {
        pay_str_copy(a[i].id, sizeof a[i].id, i ? b->credit_lines_account : b->cash_account);
        snprintf(a[i].currency, sizeof a[i].currency, PAY_BANK_CURRENCY);
        a[i].code = PAY_BANK_ACCT_INTERNAL;
        pay_str_copy(a[i].owner, sizeof a[i].owner, b->opt.code);
    }
    enum pay_ledger_result res[2];
    enum pay_err rc = pay_committer_create_accounts(b->committer, a, 2, res, err);
    if (rc != PAY_ERR_OK)
        return rc;
    for (int i = 0; i < 2; i++)
        if (res[i] != PAY_LEDGER_OK && res[i] != PAY_LEDGER_EXISTS)
            return pay_error_set(err, PAY_ERR_INTERNAL, "", "internal account: %s",
                                 pay_ledger_result_name(res[i]));
    return PAY_ERR_OK;
}

enum pay_err pay_bank_open(const struct pay_bank_options *o, struct pay_bank **out,
                           struct pay_error *err)
{
    *out = NULL;
    if (pay_crypto_init() != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "crypto library did not start");
    enum pay_err bad = pay_bank_options_check(o, err);
    if (bad != PAY_ERR_OK)
        return bad;
    if (o->fast_hash)
        pay_pwhash_set_level(PAY_PWHASH_TEST_MIN);
    struct pay_bank *b = calloc(1, sizeof *b);
    if (!b)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    b->opt = *o;
    pthread_mutex_init(&b->sms_lock, NULL);
    pthread_mutex_init(&b->reveal_lock, NULL);
    pay_random_bytes(b->admin_key, sizeof b->admin_key);
    pthread_mutex_init(&b->stop_lock, NULL);
    pay_clock_cond_init(&b->stop_cond);
    *out = b;
    if (mkdir(o->data_dir, 0700) != 0 && errno != EEXIST)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "data_dir", "cannot create %s",
                             o->data_dir);
    /* [server] database, else the data dir's file */
    char db[PAY_DATABASE_MAX + PAY_BANK_PATH_MAX + 16];
    if (o->server.database[0])
        pay_str_copy(db, sizeof db, o->server.database); /* db holds any database */
    else
        snprintf(db, sizeof db, "%s/bank.db", o->data_dir);
    const struct pay_store_component *comps[] = {&pay_ledger_schema, &pay_bank_schema,
                                                 &pay_audit_schema, &pay_translog_witness_schema,
                                                 NULL};
    /* A test server (on the test clock) opens its database through the fault-injection layer,
     * so that tests can fail its disk (POST /sandbox/faults, docs/store.md). */
    if (o->server.fake_clock && pay_store_faults_install() != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot install the fault-injection VFS");
    enum pay_err rc = pay_store_open(db, NULL, comps, &b->store, err);
    if (rc == PAY_ERR_OK)
        rc = pay_store_run_tx(b->store, info_tx, &b->opt, err);
    if (rc == PAY_ERR_OK)
        rc = check_identity(&b->opt, err);
    if (rc == PAY_ERR_OK)
        rc = load_keys(b, err);
    if (rc == PAY_ERR_OK) /* the audit log's checkpoints are signed with the signing key */
        b->audit_signer = (pay_audit_signer){
            .alg = PAY_SIG_RSA_SHA256, .key_id = b->opt.code, .rsa = b->keys.certs.sign_key};
    if (rc == PAY_ERR_OK)
        rc = pay_ledger_new(b->store, &b->ledger, err);
    if (rc == PAY_ERR_OK)
        rc = pay_committer_start(b->ledger, NULL, &b->committer, err);
    if (rc == PAY_ERR_OK)
        rc = internal_accounts(b, err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_net_open(b, err);
    return rc;
}

void pay_bank_close(struct pay_bank *b)
{
    if (!b)
        return;
    pay_committer_stop(b->committer);
    pay_bank_net_close(b);
    pay_ledger_free(b->ledger);
    pay_store_close(b->store);
    pay_keydir_certs_fini(&b->keys.certs);
    pay_keyring_fini(&b->keys.aead);
    pay_wipe(&b->keys, sizeof b->keys);
    pthread_mutex_destroy(&b->sms_lock);
    pthread_mutex_destroy(&b->reveal_lock);
    pay_wipe(b->reveal, sizeof b->reveal);
    pthread_mutex_destroy(&b->stop_lock);
    pthread_cond_destroy(&b->stop_cond);
    free(b);
}
