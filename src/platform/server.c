/* Life of the platform process: settings (defaults, INI file), the data directory with its
 * database and signing key, the committer, the HTTP server and the two workers (sweeper,
 * notifier), and an orderly stop. */
#include "platform/platform.h"
#include "platform/risk.h"
#include "translog/translog.h"
#include "platform/portal.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/limits.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "http/server.h"
#include "i18n/tz.h"
#include "store/faults.h"
#include "store/nonces.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

#define KEY_FILE  "platform-signing-key.pem"
#define DB_FILE   "platform.db"
#define AEAD_FILE "platform-aead.keys"

static void defaults(struct pay_platform_settings *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "PayGate");
    pay_server_settings_init(&s->server, "127.0.0.1:8080", "./paygate-data");
    s->default_fee_bp = 60;
    pay_str_copy(s->web_root, sizeof s->web_root, PAYGATE_PLATFORM_WEB_ROOT);
    s->trade_timeout_ms = 15LL * 60 * 1000;
    s->timeout_min_ms = PAY_PLATFORM_TIMEOUT_MIN_MS;
    s->session_idle_ms = PAY_SESSION_IDLE_S * 1000LL;
    s->refund_window_ms = 90LL * 24 * 3600 * 1000;
    s->escrow_ship_timeout_ms = 3LL * 24 * 3600 * 1000;     /* Taobao: ship within 72 hours */
    s->escrow_confirm_timeout_ms = 10LL * 24 * 3600 * 1000; /* Taobao: 10 days after shipping */
    s->refund_request_timeout_ms = 2LL * 24 * 3600 * 1000;  /* the merchant answers in 48 h */
    s->settle_minute = 10 * 60;                             /* payouts from 10:00 local */
    s->recon_minute = 9 * 60; /* yesterday's statements reconciled from 09:00 local */
    s->sweep_interval_ms = 1000;
    static const int64_t alipay[] = {4, 10, 10, 60, 120, 360, 900}; /* minutes */
    for (size_t i = 0; i < sizeof alipay / sizeof alipay[0]; i++)
        s->notify_schedule_ms[i] = alipay[i] * 60 * 1000;
    s->notify_schedule_n = sizeof alipay / sizeof alipay[0];
    s->notify_timeout_ms = 10000;
    s->notify_poll_ms = 1000;
}

static void copy_opt(const struct pay_config *c, const char *sec, const char *key, char *dst,
                     size_t n)
{
    const char *v = pay_config_get(c, sec, key, NULL);
    if (v && v[0])
        pay_str_copy(dst, n, v);
}

/* [server], [platform], [notify] and one [bank.<code>] per code in [platform] banks; any other
 * section is a typo (or a bank left out of the list). */
static enum pay_err check_sections(const struct pay_config *c, struct pay_error *err)
{
    char names[PAY_PLATFORM_BANK_SECTIONS_MAX][40];
    const char *allowed[PAY_PLATFORM_BANK_SECTIONS_MAX + 5] = {"server", "platform", "notify",
                                                               "chain"};
    size_t n = 4;
    char buf[256];
    pay_str_copy(buf, sizeof buf, pay_config_get(c, "platform", "banks", ""));
    char *save = NULL;
    for (char *code = strtok_r(buf, ",", &save); code && n - 4 < PAY_PLATFORM_BANK_SECTIONS_MAX;
         code = strtok_r(NULL, ",", &save)) {
        snprintf(names[n - 4], sizeof names[0], "bank.%.30s", code);
        allowed[n] = names[n - 4];
        n++;
    }
    allowed[n] = NULL;
    return pay_config_check_sections(c, allowed, err);
}

/* settle_time, reconcile_time = HH:MM (local); holidays = YYYY-MM-DD,... (each a real date). */
static enum pay_err read_settlement(struct pay_platform_settings *s, const struct pay_config *c,
                                    struct pay_error *err)
{
    static const char *const keys[] = {"settle_time", "reconcile_time"};
    int *minutes[] = {&s->settle_minute, &s->recon_minute};
    for (size_t i = 0; i < 2; i++) {
        const char *t = pay_config_get(c, "platform", keys[i], NULL);
        int h = -1, m = -1, n = 0;
        if (!t)
            continue;
        if (sscanf(t, "%2d:%2d%n", &h, &m, &n) != 2 || t[n] || h < 0 || h > 23 || m < 0 || m > 59)
            return pay_config_error(c, "platform", keys[i], err, "HH:MM, e.g. 10:00");
        *minutes[i] = h * 60 + m;
    }
    const char *hol = pay_config_get(c, "platform", "holidays", "");
    if (strlen(hol) >= sizeof s->holidays)
        return pay_config_error(c, "platform", "holidays", err, "too long");
    for (const char *d = hol; *d;) {
        int y = 0, mo = 0, da = 0, n = 0;
        if (sscanf(d, "%4d-%2d-%2d%n", &y, &mo, &da, &n) != 3 || n != 10 || mo < 1 || mo > 12 ||
            da < 1 || da > 31 || (d[n] && d[n] != ','))
            return pay_config_error(c, "platform", "holidays", err,
                                    "dates YYYY-MM-DD separated by commas");
        d += n + (d[n] == ',');
    }
    pay_str_copy(s->holidays, sizeof s->holidays, hol);
    return PAY_ERR_OK;
}

/* Escrow and after-sales durations, each bounded so that a deadline never overflows. */
static enum pay_err read_escrow(struct pay_platform_settings *s, const struct pay_config *c,
                                struct pay_error *err)
{
    static const char *const keys[] = {"escrow_ship_timeout", "escrow_confirm_timeout",
                                       "refund_request_timeout"};
    int64_t *vals[] = {&s->escrow_ship_timeout_ms, &s->escrow_confirm_timeout_ms,
                       &s->refund_request_timeout_ms};
    for (size_t i = 0; i < 3; i++) {
        enum pay_err e = pay_config_get_duration_ms(c, "platform", keys[i], *vals[i], vals[i], err);
        if (e != PAY_ERR_OK)
            return e;
        if (*vals[i] < 1000 || *vals[i] > PAY_PLATFORM_ESCROW_CONFIRM_MAX_MS)
            return pay_config_error(c, "platform", keys[i], err, "from 1s to 90d");
    }
    return read_settlement(s, c, err);
}

/* [platform] risk_rules: the file is read and checked now, so that --check-config and a start
 * with a bad file both fail naming its line (the platform reads it again when it opens). */
static enum pay_err risk_rules_setting(struct pay_platform_settings *s, const struct pay_config *c,
                                       struct pay_error *err)
{
    const char *v = pay_config_get(c, "platform", "risk_rules", "");
    struct pay_risk_rules *rules = NULL;
    if (!pay_str_copy(s->risk_rules, sizeof s->risk_rules, v))
        return pay_config_error(c, "platform", "risk_rules", err, "path too long");
    enum pay_err e = v[0] ? pay_risk_rules_load(v, &rules, err) : PAY_ERR_OK;
    pay_risk_rules_free(rules);
    return e;
}

static enum pay_err read_config(struct pay_platform_settings *s, const struct pay_config *c,
                                struct pay_error *err)
{
    static const char *const platform_keys[] = {"name",
                                                "fee_bp",
                                                "trade_timeout",
                                                "refund_window",
                                                "sweep_interval",
                                                "timeout_min",
                                                "web_root",
                                                "banks",
                                                "operator_token",
                                                "session_idle",
                                                "sandbox_sms",
                                                "escrow_ship_timeout",
                                                "escrow_confirm_timeout",
                                                "refund_request_timeout",
                                                "settle_time",
                                                "reconcile_time",
                                                "holidays",
                                                "passkey_rp_id",
                                                "passkey_origin",
                                                "risk_rules",
                                                NULL};
    static const char *const notify_keys[] = {"retry_schedule", "timeout", "allow_private_hosts",
                                              "poll_interval", NULL};
    enum pay_err e;
    if ((e = check_sections(c, err)) != PAY_ERR_OK ||
        (e = pay_server_settings_read(&s->server, c, err)) != PAY_ERR_OK ||
        (e = pay_config_check_keys(c, "platform", platform_keys, err)) != PAY_ERR_OK ||
        (e = pay_config_check_keys(c, "notify", notify_keys, err)) != PAY_ERR_OK)
        return e;
    copy_opt(c, "platform", "name", s->name, sizeof s->name);
    copy_opt(c, "platform", "web_root", s->web_root, sizeof s->web_root);
    copy_opt(c, "platform", "operator_token", s->operator_token, sizeof s->operator_token);
    copy_opt(c, "platform", "passkey_rp_id", s->passkey_rp_id, sizeof s->passkey_rp_id);
    copy_opt(c, "platform", "passkey_origin", s->passkey_origin, sizeof s->passkey_origin);
    if ((e = risk_rules_setting(s, c, err)) != PAY_ERR_OK)
        return e;
    if (s->operator_token[0] && strlen(s->operator_token) < 24)
        return pay_config_error(c, "platform", "operator_token", err, "at least 24 characters");
    if ((e = pay_config_get_int(c, "platform", "fee_bp", s->default_fee_bp, 0, 10000,
                                &s->default_fee_bp, err)) != PAY_ERR_OK ||
        (e = pay_config_get_duration_ms(c, "platform", "trade_timeout", s->trade_timeout_ms,
                                        &s->trade_timeout_ms, err)) != PAY_ERR_OK ||
        (e = pay_config_get_duration_ms(c, "platform", "session_idle", s->session_idle_ms,
                                        &s->session_idle_ms, err)) != PAY_ERR_OK ||
        (e = pay_config_get_duration_ms(c, "platform", "timeout_min", s->timeout_min_ms,
                                        &s->timeout_min_ms, err)) != PAY_ERR_OK ||
        (e = pay_config_get_duration_ms(c, "platform", "refund_window", s->refund_window_ms,
                                        &s->refund_window_ms, err)) != PAY_ERR_OK ||
        (e = pay_config_get_duration_ms(c, "platform", "sweep_interval", s->sweep_interval_ms,
                                        &s->sweep_interval_ms, err)) != PAY_ERR_OK ||
        (e = read_escrow(s, c, err)) != PAY_ERR_OK ||
        (e = pay_config_get_duration_ms(c, "notify", "timeout", s->notify_timeout_ms,
                                        &s->notify_timeout_ms, err)) != PAY_ERR_OK ||
        (e = pay_config_get_duration_ms(c, "notify", "poll_interval", s->notify_poll_ms,
                                        &s->notify_poll_ms, err)) != PAY_ERR_OK ||
        (e = pay_config_get_bool(c, "notify", "allow_private_hosts", s->allow_private_hosts,
                                 &s->allow_private_hosts, err)) != PAY_ERR_OK)
        return e;
    if ((e = pay_config_get_bool(c, "platform", "sandbox_sms", false, &s->sandbox_sms, err)) !=
        PAY_ERR_OK)
        return e;
    if ((e = pay_platform_banks_load(s, c, err)) != PAY_ERR_OK ||
        (e = pay_platform_chain_settings_read(&s->chain, c, err)) != PAY_ERR_OK)
        return e;
    const char *sched = pay_config_get(c, "notify", "retry_schedule", NULL);
    if (sched &&
        pay_time_parse_durations(sched, s->notify_schedule_ms, PAY_PLATFORM_NOTIFY_SCHEDULE_MAX,
                                 &s->notify_schedule_n, err) != PAY_ERR_OK)
        return pay_config_error(c, "notify", "retry_schedule", err, "%s", err->detail);
    return PAY_ERR_OK;
}

enum pay_err pay_platform_settings_load(struct pay_platform_settings *s, const char *config_path,
                                        struct pay_error *err)
{
    defaults(s);
    if (!config_path)
        return PAY_ERR_OK;
    struct pay_config *c = NULL;
    enum pay_err e = pay_config_load(config_path, &c, err);
    if (e == PAY_ERR_OK)
        e = read_config(s, c, err);
    pay_config_free(c);
    size_t len = 0; /* what the audit trail's start entry records (docs/audit.md) */
    char *text = e == PAY_ERR_OK ? pay_file_read(config_path, PAY_CONFIG_FILE_MAX, &len) : NULL;
    if (text)
        pay_sha256_hex(s->config_sha256, text, len);
    free(text);
    if (e != PAY_ERR_OK)
        pay_platform_settings_fini(s);
    return e;
}

void pay_platform_settings_fini(struct pay_platform_settings *s)
{
    pay_platform_banks_free(s->banks, s->n_banks);
    s->banks = NULL;
    s->n_banks = 0;
}

static enum pay_err open_store(struct pay_platform *p, struct pay_error *err)
{
    if (pay_crypto_init() != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "crypto start-up failed");
    if (mkdir(p->set.server.data_dir, 0700) != 0 && errno != EEXIST)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "data_dir", "cannot create %s: %s",
                             p->set.server.data_dir, strerror(errno));
    char db[PAY_DATABASE_MAX + 1];
    if (pay_server_settings_database(&p->set.server, DB_FILE, db, sizeof db) != 0)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "data_dir", "path too long");
    const struct pay_store_component *comps[] = {&pay_ledger_schema, &pay_platform_schema,
                                                 &pay_audit_schema, &pay_translog_schema, NULL};
    /* A test server (on the test clock) opens its database through the fault-injection layer,
     * so that tests can fail its disk (POST /sandbox/faults, docs/store.md). */
    if (p->set.server.fake_clock && pay_store_faults_install() != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot install the fault-injection VFS");
    enum pay_err e = pay_store_open(db, NULL, comps, &p->store, err);
    if (e != PAY_ERR_OK)
        return e;
    return pay_ledger_new(p->store, &p->ledger, err);
}

/* SMS code hashes are keyed by a key derived from the signing key (no extra file to keep). */
static void derive_otp_key(struct pay_platform *p)
{
    static const char label[] = "paygate-platform sms codes";
    pay_hmac_sha256(p->otp_key, p->key.sk, sizeof p->key.sk, label, sizeof label - 1);
}

/* The signing key lives in the data dir (0600); generated on first start. */
static enum pay_err open_key(struct pay_platform *p, struct pay_error *err)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", p->set.server.data_dir, KEY_FILE);
    snprintf(p->key_id, sizeof p->key_id, "paygate-platform");
    p->audit_signer =
        (pay_audit_signer){.alg = PAY_SIG_ED25519, .key_id = p->key_id, .ed25519 = &p->key};
    if (pay_ed25519_key_load(path, &p->key) == 0) {
        derive_otp_key(p);
        return PAY_ERR_OK;
    }
    struct stat st;
    if (stat(path, &st) == 0)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "data_dir",
                             "%s exists but is not an Ed25519 private key", path);
    pay_ed25519_generate(&p->key);
    if (pay_ed25519_key_save(path, &p->key) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot write %s", path);
    PAY_INFO("platform.key_generated", "file=%s", path);
    derive_otp_key(p);
    return PAY_ERR_OK;
}

/* The AEAD keyring of stored secrets: AEAD_FILE in the data dir (0600), one key a line,
 * "<id>:<base64 of 32 bytes>"; the last line seals, the earlier ones still open old data
 * (rotation: append a new line, restart). Generated with key "k1" on first start. */
static int aead_file_create(const char *path)
{
    char gen[128];
    if (pay_keyring_generate_text("k1", gen, sizeof gen) != 0)
        return -1;
    size_t n = strlen(gen);
    gen[n++] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    int rc = fd >= 0 && write(fd, gen, n) == (ssize_t)n && fsync(fd) == 0 ? 0 : -1;
    if (fd >= 0)
        close(fd);
    pay_wipe(gen, sizeof gen);
    if (rc == 0)
        PAY_INFO("platform.aead_key_generated", "file=%s", path);
    return rc;
}

static enum pay_err open_aead(struct pay_platform *p, struct pay_error *err)
{
    char path[600], line[256];
    snprintf(path, sizeof path, "%s/%s", p->set.server.data_dir, AEAD_FILE);
    if (access(path, F_OK) != 0 && aead_file_create(path) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot write %s", path);
    FILE *f = fopen(path, "r");
    if (!f)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot read %s", path);
    int bad = 0;
    while (!bad && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] && line[0] != '#')
            bad = pay_keyring_add_text(&p->aead, line, 1);
    }
    fclose(f);
    pay_wipe(line, sizeof line);
    if (bad || p->aead.count == 0)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "data_dir", "bad key in %s", path);
    const struct pay_platform_legacy *legacy[] = {
        &pay_platform_legacy_cards, &pay_platform_legacy_totp, &pay_platform_legacy_withdrawals};
    enum pay_err e = PAY_ERR_OK;
    for (size_t i = 0; i < sizeof legacy / sizeof legacy[0] && e == PAY_ERR_OK; i++)
        e = pay_platform_seal_legacy(p, legacy[i], err);
    return e;
}

static struct pay_platform *platform_alloc(const struct pay_platform_settings *s)
{
    struct pay_platform *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->set = *s;
    pay_keyring_init(&p->aead);
    pthread_mutex_init(&p->wake_mu, NULL);
    pthread_mutex_init(&p->sms_mu, NULL);
    pay_clock_cond_init(&p->wake_cv);
    return p;
}

enum pay_err pay_platform_open_offline(const char *data_dir, const char *database,
                                       struct pay_platform **out, struct pay_error *err)
{
    struct pay_platform_settings s;
    defaults(&s);
    pay_str_copy(s.server.data_dir, sizeof s.server.data_dir, data_dir);
    pay_str_copy(s.server.database, sizeof s.server.database, database ? database : "");
    return pay_platform_open(&s, out, err);
}

enum pay_err pay_platform_open(const struct pay_platform_settings *s, struct pay_platform **out,
                               struct pay_error *err)
{
    *out = NULL;
    struct pay_platform *p = platform_alloc(s);
    if (!p)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    enum pay_err e = pay_risk_init(&p->risk, s->risk_rules, err);
    p->risk_ready = true;
    if (e == PAY_ERR_OK)
        e = open_store(p, err);
    if (e == PAY_ERR_OK)
        e = open_key(p, err);
    if (e == PAY_ERR_OK)
        e = open_aead(p, err);
    /* business days and the settlement's cut-off are days of the configured zone */
    if (e == PAY_ERR_OK)
        e = pay_tz_load(s->server.time_zone[0] ? s->server.time_zone : "Asia/Shanghai",
                        &p->settle_tz, err);
    if (e != PAY_ERR_OK) {
        pay_platform_close(p);
        return e;
    }
    *out = p;
    return PAY_ERR_OK;
}

static int health(void *ctx, struct pay_error *err)
{
    struct pay_platform *p = ctx;
    int v = 0;
    return pay_store_schema_version(p->store, "platform", &v, err) == PAY_ERR_OK ? 0 : 1;
}

/* Every file's route table (docs/hacking.md, "Platform routes"), in the order they are
 * matched. A new page or endpoint goes into its file's table; a new file's table, here. */
static const pay_platform_routes_fn route_tables[] = {
    pay_platform_api_routes,                  /* api_trades.c: /v1/... */
    pay_platform_api_key_routes,              /* api.c: /.well-known/paygate-platform-key */
    pay_platform_cashier_routes,              /* cashier.c: /cashier/..., /m/pay/... */
    pay_platform_bank_routes,                 /* bank_pay.c: online banking, /bank-notify */
    pay_platform_wallet_routes,               /* wallet.c: /wallet, /register */
    pay_platform_wallet_trade_routes,         /* wallet_trades.c: /wallet/trades/... */
    pay_platform_operator_routes,             /* operator.c: /operator/v1/merchants */
    pay_platform_dashboard_routes,            /* dashboard.c: /operator/dashboard, login */
    pay_platform_audit_routes,                /* operator_audit.c: /operator/audit */
    pay_platform_operator_requests_routes,    /* operator_requests.c: /operator/refund-... */
    pay_platform_trial_balance_routes,        /* trial_balance.c: /operator/trial-balance */
    pay_portal_pages_routes,                  /* portal_pages.c: /portal, trades */
    pay_portal_actions_routes,                /* portal_actions.c: refunds, keys, team */
    pay_portal_apply_routes,                  /* portal_apply_pages.c: /portal/apply... */
    pay_platform_operator_apps_routes,        /* operator_apps.c: /operator/applications */
    pay_platform_operator_settlements_routes, /* operator_settlements.c */
    pay_platform_operator_recon_routes,       /* operator_recon.c: /operator/reconciliation */
    pay_platform_operator_risk_routes,        /* operator_risk.c: /operator/risk */
    pay_platform_passkey_routes,              /* passkeys.c: /wallet/passkeys, /cashier/... */
    pay_platform_sms_routes,                  /* sms.c: /sandbox/sms */
    pay_platform_receipts_routes,             /* receipts.c: /v1/log/head, /v1/log/consistency */
    pay_platform_home_routes,                 /* home.c: / */
    pay_platform_payment_receipt_routes,      /* payment_receipt.c: .../receipt */
    pay_portal_money_routes,                  /* portal_money.c: /portal/payouts, bills */
    pay_portal_requests_routes,               /* portal_requests.c: /portal/refund-requests */
    pay_portal_overview_routes,               /* portal_overview.c: /portal/overview */
    pay_platform_chain_routes,                /* chain_pages.c: /cashier/{id}/chain */
};

/* Adds every route of every table to p->http: a route whose ctx is NULL gets the platform as
 * its pay_http_req_ctx(); one with an argument of its own gets a struct pay_platform_route_ctx
 * holding the platform and that argument (p->route_ctx, freed by pay_platform_close). */
static enum pay_err add_routes(struct pay_platform *p, struct pay_error *err)
{
    const size_t n_tables = sizeof route_tables / sizeof route_tables[0];
    size_t total = 0, used = 0;
    for (size_t t = 0; t < n_tables; t++) {
        size_t n = 0;
        route_tables[t](&n);
        total += n;
    }
    p->route_ctx = calloc(total, sizeof *p->route_ctx);
    if (!p->route_ctx)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    for (size_t t = 0; t < n_tables; t++) {
        size_t n = 0;
        const struct pay_http_route *table = route_tables[t](&n);
        for (size_t i = 0; i < n; i++) {
            struct pay_http_route r = table[i];
            if (r.ctx != NULL) {
                PAY_ASSERT(used < total);
                p->route_ctx[used] = (struct pay_platform_route_ctx){p, r.ctx};
                r.ctx = &p->route_ctx[used++];
            } else {
                r.ctx = p;
            }
            enum pay_err e = pay_http_server_add_routes(p->http, &r, 1, err);
            if (e != PAY_ERR_OK)
                return e;
        }
    }
    return PAY_ERR_OK;
}

/* pay_platform_write for the nonce cache (store/nonces.h). */
static enum pay_err platform_write(void *owner, pay_store_tx_fn fn, void *ctx,
                                   struct pay_error *err)
{
    return pay_platform_write(owner, fn, ctx, err);
}

enum pay_err pay_platform_start(struct pay_platform *p, struct pay_error *err)
{
    enum pay_err e = pay_store_serve_alone(p->store, "platform", err);
    if (e == PAY_ERR_OK)
        e = pay_platform_audit_start(p, err);
    if (e == PAY_ERR_OK)
        e = pay_committer_start(p->ledger, NULL, &p->committer, err);
    if (e != PAY_ERR_OK)
        return e;
    /* several platform processes may share a PostgreSQL database: their nonces with it */
    p->nonces =
        pay_store_dialect(p->store) == PAY_STORE_POSTGRESQL
            ? pay_store_nonces_new(p->store, "pf_nonces", PAY_SIGNATURE_WINDOW_S, platform_write, p)
            : pay_nonce_cache_mem_new(PAY_NONCE_CACHE_MAX, PAY_SIGNATURE_WINDOW_S);
    if (!p->nonces)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    struct pay_http_config hc = {.name = "platform",
                                 .web_root = p->set.web_root,
                                 .health_check = health,
                                 .health_ctx = p,
                                 .sign_response = pay_platform_sign_answer,
                                 .sign_ctx = p};
    pay_server_settings_apply(&p->set.server, &hc);
    if ((e = pay_http_server_new(&hc, &p->http, err)) != PAY_ERR_OK ||
        (e = add_routes(p, err)) != PAY_ERR_OK ||
        (e = pay_http_server_start(p->http, err)) != PAY_ERR_OK)
        return e;
    pay_str_copy(p->set.public_url, sizeof p->set.public_url, p->set.server.public_url);
    if (p->set.public_url[0] == '\0')
        pay_str_copy(p->set.public_url, sizeof p->set.public_url, pay_http_server_url(p->http));
    pay_platform_passkeys_configure(p);
    pay_clock_worker_add(&p->sweeper_clock, "sweeper", &p->wake_mu, &p->wake_cv);
    if (pthread_create(&p->sweeper, NULL, pay_platform_sweeper, p) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot start the sweeper");
    p->sweeper_started = true;
    pay_clock_worker_add(&p->notifier_clock, "notifier", &p->wake_mu, &p->wake_cv);
    if (pthread_create(&p->notifier, NULL, pay_platform_notify_worker, p) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot start the notifier");
    p->notifier_started = true;
    if (p->set.chain.enabled) { /* docs/chain.md */
        pay_clock_worker_add(&p->chain_clock, "chain", &p->wake_mu, &p->wake_cv);
        if (pthread_create(&p->chain_watcher, NULL, pay_platform_chain_watcher, p) != 0)
            return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot start the chain watcher");
        p->chain_watcher_started = true;
    }
    return PAY_ERR_OK;
}

void pay_platform_close(struct pay_platform *p)
{
    if (!p)
        return;
    if (p->http)
        pay_http_server_stop(p->http);
    pthread_mutex_lock(&p->wake_mu);
    atomic_store(&p->stopping, true);
    pthread_cond_broadcast(&p->wake_cv);
    pthread_mutex_unlock(&p->wake_mu);
    if (p->sweeper_started)
        pthread_join(p->sweeper, NULL);
    if (p->notifier_started)
        pthread_join(p->notifier, NULL);
    if (p->chain_watcher_started)
        pthread_join(p->chain_watcher, NULL);
    pay_clock_worker_remove(&p->sweeper_clock);
    pay_clock_worker_remove(&p->notifier_clock);
    pay_clock_worker_remove(&p->chain_clock);
    pay_tz_free(p->settle_tz);
    pay_http_server_free(p->http);
    pay_committer_stop(p->committer);
    pay_nonce_cache_free(p->nonces);
    pay_ledger_free(p->ledger);
    pay_store_close(p->store);
    pay_ed25519_key_fini(&p->key);
    free(p->route_ctx);
    pay_platform_banks_free(p->set.banks, p->set.n_banks);
    pthread_mutex_destroy(&p->wake_mu);
    pthread_mutex_destroy(&p->sms_mu);
    pay_wipe(p->otp_key, sizeof p->otp_key);
    pay_keyring_fini(&p->aead);
    pthread_cond_destroy(&p->wake_cv);
    if (p->risk_ready)
        pay_risk_fini(&p->risk);
    free(p);
}
