/* The switch object: options, opening a data dir (keys, database, ledger, committer), its
 * internal ledger accounts, and the sequences it numbers messages with. */
#include "switch/switch.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "crypto/keydir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef PAY_SWITCH_WEB_ROOT
#define PAY_SWITCH_WEB_ROOT "web/switch"
#endif

void pay_switch_options_defaults(struct pay_switch_options *o)
{
    memset(o, 0, sizeof *o);
    pay_server_settings_init(&o->server, "127.0.0.1:0", "");
    pay_str_copy(o->web_root, sizeof o->web_root, PAY_SWITCH_WEB_ROOT);
    o->interchange_bp = 50; /* 0.50% of a purchase, from the acquirer to the issuer */
    o->network_fee_bp = 5;  /* 0.05% of a purchase, from each side to the network */
    o->issuer_timeout_ms = PAY_NET_ISSUER_TIMEOUT_MS;
    o->allow_private_members = true;
}

int pay_switch_write_file(const char *path, const char *data, size_t len, int mode)
{
    return pay_file_write(path, data, len, mode);
}

enum pay_err pay_switch_options_check(const struct pay_switch_options *o, struct pay_error *err)
{
    if (!o->data_dir[0])
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "data_dir", "--data-dir is required");
    if (o->code[0] && !pay_net_code_valid(o->code))
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "code", "code must be [a-z0-9]{2,16}");
    if (o->interchange_bp < 0 || o->interchange_bp > PAY_NET_FEE_BP_MAX)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "interchange_bp",
                             "interchange_bp must be 0..%d basis points", PAY_NET_FEE_BP_MAX);
    if (o->network_fee_bp < 0 || o->network_fee_bp > PAY_NET_FEE_BP_MAX)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "network_fee_bp",
                             "network_fee_bp must be 0..%d basis points", PAY_NET_FEE_BP_MAX);
    if (o->issuer_timeout_ms < 1 || o->issuer_timeout_ms > PAY_NET_CALL_TIMEOUT_MS)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "issuer_timeout",
                             "issuer_timeout must be 1ms..%ds", PAY_NET_CALL_TIMEOUT_MS / 1000);
    if (o->test_fault[0] && strcmp(o->test_fault, "stall-after-issuer") != 0)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "test_fault",
                             "the only test fault is stall-after-issuer");
    if (o->test_fault[0] && !o->server.fake_clock)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "test_fault",
                             "test faults are for tests: only with fake_clock");
    return PAY_ERR_OK;
}

static enum pay_err load_keys(struct pay_switch *sw, struct pay_error *err)
{
    char dir[PAY_SWITCH_PATH_MAX + 8], path[PAY_SWITCH_PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/keys", sw->opt.data_dir);
    if ((mkdir(sw->opt.data_dir, 0700) != 0 && errno != EEXIST) ||
        (mkdir(dir, 0700) != 0 && errno != EEXIST))
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "data_dir", "cannot create %s", dir);
    if (pay_keydir_secret(dir, "index.key", sw->keys.index_key) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot read or create %s/index.key", dir);
    /* seal.key: the secret half of the key members seal card data to (X25519) */
    snprintf(path, sizeof path, "%s/seal.key", dir);
    char *text = pay_file_read(path, 256, NULL);
    if (!text) {
        char t[PAY_SEAL_KEY_TEXT_LEN];
        pay_seal_key_generate(&sw->keys.seal);
        pay_seal_sk_to_text(t, &sw->keys.seal);
        int w = pay_file_write(path, t, strlen(t), 0600);
        pay_wipe(t, sizeof t);
        if (w != 0 || !(text = pay_file_read(path, 256, NULL)))
            return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot write %s", path);
    }
    text[strcspn(text, "\r\n")] = '\0';
    int rc = pay_seal_sk_from_text(&sw->keys.seal, text);
    pay_wipe(text, strlen(text));
    free(text);
    if (rc != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "%s is not a sealing key", path);
    return pay_keydir_certs_load(dir, sw->opt.name, sw->opt.code, &sw->keys.certs, err);
}

/* switch_info holds name and code from the first start: one data dir = one switch. The code is
 * fixed (it names the switch's keys and accounts); a name given later replaces the stored one,
 * as a bank's does. */
static enum pay_err info_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pay_switch_options *o = ctx;
    struct {
        const char *k;
        char *v;
        size_t n;
        const char *def;
    } f[] = {{"name", o->name, sizeof o->name, "UnionPay Sandbox"},
             {"code", o->code, sizeof o->code, "cup"}};
    for (size_t i = 0; i < 2; i++) {
        struct pay_store_stmt *st =
            pay_store_query(tx, err, "SELECT v FROM switch_info WHERE k = $1", "t", f[i].k);
        if (!st)
            return err->code;
        int r = pay_store_step(st, err);
        if (r == 1) {
            const char *v = pay_store_col_text(st, 0);
            bool differs = f[i].v[0] && strcmp(v, f[i].v) != 0;
            bool clash = differs && strcmp(f[i].k, "code") == 0;
            if (clash)
                pay_error_set(err, PAY_ERR_CONFIG_INVALID, "code",
                              "this data dir belongs to the switch with code %s", v);
            else if (!differs)
                pay_str_copy(f[i].v, f[i].n, v);
            pay_store_done(st);
            if (clash)
                return err->code;
            if (differs && pay_store_exec(tx, err, "UPDATE switch_info SET v = $2 WHERE k = $1",
                                          "tt", f[i].k, f[i].v) != PAY_ERR_OK)
                return err->code;
            continue;
        }
        pay_store_done(st);
        if (r < 0)
            return err->code;
        if (!f[i].v[0])
            pay_str_copy(f[i].v, f[i].n, f[i].def);
        enum pay_err rc = pay_store_exec(tx, err, "INSERT INTO switch_info (k, v) VALUES ($1, $2)",
                                         "tt", f[i].k, f[i].v);
        if (rc != PAY_ERR_OK)
            return rc;
    }
    return PAY_ERR_OK;
}

static enum pay_err internal_accounts(struct pay_switch *sw, struct pay_error *err)
{
    snprintf(sw->central_account, sizeof sw->central_account, "%s:central", sw->opt.code);
    snprintf(sw->fees_account, sizeof sw->fees_account, "%s:fees", sw->opt.code);
    struct pay_ledger_account a[2];
    memset(a, 0, sizeof a);
    for (int i = 0; i < 2; i++) {
        pay_str_copy(a[i].id, sizeof a[i].id, i ? sw->fees_account : sw->central_account);
        snprintf(a[i].currency, sizeof a[i].currency, PAY_SWITCH_CURRENCY);
        a[i].code = PAY_SWITCH_ACCT_INTERNAL;
        pay_str_copy(a[i].owner, sizeof a[i].owner, sw->opt.code);
    }
    enum pay_ledger_result res[2];
    enum pay_err rc = pay_committer_create_accounts(sw->committer, a, 2, res, err);
    for (int i = 0; rc == PAY_ERR_OK && i < 2; i++)
        if (res[i] != PAY_LEDGER_OK && res[i] != PAY_LEDGER_EXISTS)
            rc = pay_error_set(err, PAY_ERR_INTERNAL, "", "internal account: %s",
                               pay_ledger_result_name(res[i]));
    return rc;
}

enum pay_err pay_switch_open(const struct pay_switch_options *o, struct pay_switch **out,
                             struct pay_error *err)
{
    *out = NULL;
    if (pay_crypto_init() != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "crypto library did not start");
    enum pay_err rc = pay_switch_options_check(o, err);
    if (rc != PAY_ERR_OK)
        return rc;
    struct pay_switch *sw = calloc(1, sizeof *sw);
    if (!sw)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    sw->opt = *o;
    pthread_mutex_init(&sw->stop_lock, NULL);
    pay_clock_cond_init(&sw->stop_cond);
    *out = sw;
    if (mkdir(o->data_dir, 0700) != 0 && errno != EEXIST)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "data_dir", "cannot create %s",
                             o->data_dir);
    char db[PAY_DATABASE_MAX + PAY_SWITCH_PATH_MAX + 16]; /* [server] database, else the file */
    if (pay_server_settings_database(&o->server, "switch.db", db, sizeof db) != 0)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "data_dir", "data_dir too long");
    const struct pay_store_component *comps[] = {&pay_ledger_schema, &pay_switch_schema, NULL};
    rc = pay_store_open(db, NULL, comps, &sw->store, err);
    if (rc == PAY_ERR_OK)
        rc = pay_store_run_tx(sw->store, info_tx, &sw->opt, err);
    if (rc == PAY_ERR_OK)
        rc = load_keys(sw, err);
    if (rc == PAY_ERR_OK)
        rc = pay_ledger_new(sw->store, &sw->ledger, err);
    if (rc == PAY_ERR_OK)
        rc = pay_committer_start(sw->ledger, NULL, &sw->committer, err);
    if (rc == PAY_ERR_OK)
        rc = internal_accounts(sw, err);
    return rc;
}

void pay_switch_close(struct pay_switch *sw)
{
    if (!sw)
        return;
    pay_committer_stop(sw->committer);
    pay_ledger_free(sw->ledger);
    pay_store_close(sw->store);
    pay_keydir_certs_fini(&sw->keys.certs);
    pay_wipe(&sw->keys, sizeof sw->keys);
    pthread_mutex_destroy(&sw->stop_lock);
    pthread_cond_destroy(&sw->stop_cond);
    free(sw);
}

enum pay_err pay_switch_seq_next(struct pay_store_tx *tx, const char *name, int64_t *out,
                                 struct pay_error *err)
{
    enum pay_err rc = pay_store_exec(tx, err,
                                     "INSERT INTO switch_seq (name, next) VALUES ($1, 1)"
                                     " ON CONFLICT (name) DO UPDATE SET next = switch_seq.next + 1",
                                     "t", name);
    struct pay_store_stmt *st =
        rc == PAY_ERR_OK
            ? pay_store_query(tx, err, "SELECT next FROM switch_seq WHERE name = $1", "t", name)
            : NULL;
    if (!st)
        return err->code ? err->code : rc;
    int r = pay_store_step(st, err);
    if (r == 1)
        *out = pay_store_col_int64(st, 0);
    pay_store_done(st);
    PAY_ASSERT_MSG(r != 0, "sequence %s vanished", name);
    return r == 1 ? PAY_ERR_OK : err->code;
}
