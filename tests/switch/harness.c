/* See harness.h. */
#include "harness.h"

#include "core/buf.h"
#include "core/clock.h"
#include "crypto/crypto.h"
#include "store/store.h"
#include "lib/testdb.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *bin(void)
{
    return th_binary_env();
}

static int add_member(struct sw_proc *s, const char *code, const char *name, const char *bin_)
{
    return h_paygate(NULL,
                     "switch member add --data-dir %s/data%s --member %s --name '%s' --roles"
                     " issuer,acquirer --bin %s --funds 1000000000 --out %s/%s 2>>%s/cli.log",
                     s->dir, s->db_flag, code, name, bin_, s->dir, code, s->dir);
}

static int spawn_switch(struct sw_proc *s)
{
    char cmd[4096], path[300];
    snprintf(path, sizeof path, "%s/url", s->dir);
    unlink(path);
    snprintf(cmd, sizeof cmd,
             "exec '%s' switch serve --data-dir %s/data%s --fake-clock --print-url-file %s %s"
             " >>%s/stdout.txt 2>>%s/switch.log",
             bin(), s->dir, s->db_flag, path, s->extra, s->dir, s->dir);
    s->pid = th_spawn_sh(cmd);
    return th_wait_url_file(s->pid, path, s->url, sizeof s->url, TH_START_TIMEOUT_MS);
}

int sw_start(struct sw_proc *s, const char *extra)
{
    memset(s, 0, sizeof *s);
    if (th_tmpdir(s->dir, sizeof s->dir, "paygate-switch-test") != 0)
        return -1;
    snprintf(s->extra, sizeof s->extra, "%s", extra ? extra : "");
    char file[300];
    snprintf(file, sizeof file, "%s/data/switch.db", s->dir);
    if (th_db_new("switch", file, s->db, sizeof s->db) != 0)
        return -1;
    th_db_flag(s->db, s->db_flag, sizeof s->db_flag);
    if (add_member(s, "icbc", "ICBC Sandbox", SW_ICBC_BIN) != 0 ||
        add_member(s, "ccb", "CCB Sandbox", SW_CCB_BIN) != 0)
        return -1;
    return spawn_switch(s);
}

int sw_restart(struct sw_proc *s, const char *extra)
{
    /* the same port: the banks keep the switch's URL they were started with */
    const char *colon = strrchr(s->url, ':');
    char listen[64] = "";
    if (colon)
        snprintf(listen, sizeof listen, "--listen 127.0.0.1:%s", colon + 1);
    char kept[sizeof s->extra];
    snprintf(kept, sizeof kept, "%s", extra ? extra : s->extra);
    snprintf(s->extra, sizeof s->extra, "%.60s %.190s", listen, kept);
    int rc = spawn_switch(s);
    snprintf(s->extra, sizeof s->extra, "%s", kept);
    return rc;
}

void sw_stop(struct sw_proc *s, int sig)
{
    th_stop(&s->pid, sig);
}

void sw_member_dir(const struct sw_proc *s, const char *code, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", s->dir, code);
}

static int spawn_bank(struct bank_proc *b, const struct sw_proc *s, const char *code,
                      const char *bin_, const char *extra)
{
    char cmd[4096], path[300];
    snprintf(path, sizeof path, "%s/url", b->dir);
    unlink(path);
    snprintf(cmd, sizeof cmd,
             "exec '%s' bank serve --data-dir %s/data%s --code %s --bin %s --name '%s Sandbox'"
             " --demo-data --fast-hash --fake-clock --print-url-file %s --notify-timeout 1s"
             " --notify-retry 1s,1s,1s,1s --switch-url %s --switch-member-dir %s/%s %s"
             " >>%s/stdout.txt 2>>%s/bank.log",
             bin(), b->dir, b->db_flag, code, bin_, code, path, s->url, s->dir, code,
             extra ? extra : "", b->dir, b->dir);
    b->pid = th_spawn_sh(cmd);
    return th_wait_url_file(b->pid, path, b->url, sizeof b->url, TH_START_TIMEOUT_MS);
}

int sw_bank_start(struct bank_proc *b, const struct sw_proc *s, const char *code, const char *bin_,
                  const char *extra)
{
    memset(b, 0, sizeof *b);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "paygate-switch-%s", code);
    if (th_tmpdir(b->dir, sizeof b->dir, prefix) != 0)
        return -1;
    char file[300];
    snprintf(file, sizeof file, "%s/data/bank.db", b->dir);
    if (th_db_new("bank", file, b->db, sizeof b->db) != 0)
        return -1;
    th_db_flag(b->db, b->db_flag, sizeof b->db_flag);
    /* merchant M1 (the bank harness's test merchant: <dir>/M1, shop.test, notify on loopback) */
    if (h_paygate(NULL,
                  "bank merchant add --data-dir %s/data%s --code %s --bin %s --fast-hash"
                  " --mer-id M1 --name 'Test Shop 1' --referrer-domain shop.test --notify-domain"
                  " 127.0.0.1 --out %s/M1/ 2>>%s/cli.log",
                  b->dir, b->db_flag, code, bin_, b->dir, b->dir) != 0)
        return -1;
    return spawn_bank(b, s, code, bin_, extra);
}

int sw_bank_restart(struct bank_proc *b, const struct sw_proc *s, const char *code,
                    const char *bin_, const char *extra)
{
    return spawn_bank(b, s, code, bin_, extra);
}

/* --- the test acquirer ---------------------------------------------------------------------- */

int sw_acq_open(struct sw_acq *a, const struct sw_proc *s, const char *code)
{
    memset(a, 0, sizeof *a);
    char path[400];
    snprintf(path, sizeof path, "%s/%s/member.key", s->dir, code);
    char *key = pay_file_read(path, 65536, NULL);
    snprintf(path, sizeof path, "%s/%s/switch.crt", s->dir, code);
    a->switch_cert = pay_file_read(path, 65536, NULL);
    snprintf(path, sizeof path, "%s/%s/member.json", s->dir, code);
    json_t *j = json_load_file(path, 0, NULL);
    const char *pk = json_string_value(json_object_get(j, "switchSealKey"));
    const char *sc = json_string_value(json_object_get(j, "switchCode"));
    int rc = key && a->switch_cert && pk && sc &&
                     pay_rsa_key_from_pem(key, strlen(key), &a->key) == 0 &&
                     pay_seal_pk_from_text(a->seal_pk, pk) == 0
                 ? 0
                 : -1;
    snprintf(a->code, sizeof a->code, "%s", code);
    snprintf(a->switch_code, sizeof a->switch_code, "%s", sc ? sc : "");
    snprintf(a->url, sizeof a->url, "%s", s->url);
    /* traces of this acquirer in this test run: from the time, so a rerun never repeats one */
    a->next_trace = (pay_clock_real_ms() % 10000000LL) * 10000LL;
    json_decref(j);
    free(key);
    return rc;
}

void sw_acq_close(struct sw_acq *a)
{
    pay_rsa_key_free(a->key);
    free(a->switch_cert);
    memset(a, 0, sizeof *a);
}

void sw_trace(struct sw_acq *a, char out[PAY_NET_TRACE_LEN + 1])
{
    snprintf(out, PAY_NET_TRACE_LEN + 1, "%012lld", a->next_trace++);
}

json_t *sw_send(const struct sw_acq *a, const char *path, json_t *msg, long *status,
                struct pay_error *err)
{
    char *body = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    struct pay_net_peer p = {.base_url = a->url,
                             .key_id = a->code,
                             .key = a->key,
                             .peer_key_id = a->switch_code,
                             .peer_cert_pem = a->switch_cert,
                             .timeout_ms = 30000,
                             .allow_private = true};
    json_t *answer = NULL;
    struct pay_error e = {0};
    if (!body || pay_net_call(&p, path, body, status, &answer, err ? err : &e) != PAY_ERR_OK)
        answer = NULL;
    free(body);
    return answer;
}

json_t *sw_auth_msg(const struct sw_acq *a, const char *trace, const char *pan, const char *exp,
                    const char *cvn2, int64_t amount)
{
    struct pay_net_card c;
    memset(&c, 0, sizeof c);
    snprintf(c.pan, sizeof c.pan, "%s", pan);
    snprintf(c.exp, sizeof c.exp, "%s", exp);
    snprintf(c.cvn2, sizeof c.cvn2, "%s", cvn2);
    char ctx[128], *sealed = NULL;
    snprintf(ctx, sizeof ctx, "de2:%s:%s", a->code, trace);
    if (pay_net_card_seal(a->seal_pk, ctx, &c, &sealed, NULL) != PAY_ERR_OK)
        return NULL;
    json_t *m = json_pack("{s:s, s:{s:s}, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "mti",
                          "0100", "de2", "sealed", sealed, "de3", "000000", "de4",
                          (json_int_t)amount, "de11", trace, "de32", a->code, "de42", "M1", "de43",
                          "Test Shop", "de49", "CNY", "de61", "method", "CVN2");
    free(sealed);
    return m;
}

json_t *sw_followup_msg(const struct sw_acq *a, const char *mti, const char *trace,
                        const char *orig, int64_t amount)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s}", "mti", mti, "de3",
                     strcmp(mti, "0200") == 0 ? "200000" : "000000", "de4", (json_int_t)amount,
                     "de11", trace, "de32", a->code, "de49", "CNY", "de90", orig);
}

const char *sw_rc(const json_t *answer)
{
    const char *s = json_string_value(json_object_get(answer, "de39"));
    return s ? s : "";
}

/* --- reading a bank's database --------------------------------------------------------------- */

struct q {
    const char *sql, *arg;
    char *out;
    size_t n;
    int64_t ints[4];
    bool ints_mode;
};

static enum pay_err q_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct q *q = ctx;
    struct pay_store_stmt *st = pay_store_query(tx, err, q->sql, "t", q->arg);
    if (!st)
        return err->code;
    if (pay_store_step(st, err) == 1) {
        if (q->ints_mode)
            for (int i = 0; i < 4; i++)
                q->ints[i] = pay_store_col_int64(st, i);
        else
            pay_store_col_copy(st, 0, q->out, q->n);
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

static int run_q(const char *db, struct q *q)
{
    struct pay_store *s = NULL;
    struct pay_error e = {0};
    int rc = pay_store_open(db, NULL, NULL, &s, &e) == PAY_ERR_OK &&
                     pay_store_run_read(s, q_tx, q, &e) == PAY_ERR_OK
                 ? 0
                 : -1;
    if (rc != 0)
        fprintf(stderr, "sw_db: %s: %s\n", db, e.detail);
    pay_store_close(s);
    return rc;
}

int sw_db_text(const char *db, const char *sql, const char *arg, char *out, size_t n)
{
    out[0] = '\0';
    struct q q = {.sql = sql, .arg = arg, .out = out, .n = n};
    return run_q(db, &q);
}

int sw_bank_account(const struct bank_proc *b, const char *account_id, int64_t out[4])
{
    const char *db = b->db;
    struct q q = {.sql = "SELECT debits_pending, debits_posted, credits_pending, credits_posted"
                         " FROM ledger_accounts WHERE id = $1",
                  .arg = account_id,
                  .ints_mode = true};
    int rc = run_q(db, &q);
    memcpy(out, q.ints, sizeof q.ints);
    return rc;
}

int sw_switch_account(const struct sw_proc *s, const char *account_id, int64_t out[4])
{
    const char *db = s->db;
    struct q q = {.sql = "SELECT debits_pending, debits_posted, credits_pending, credits_posted"
                         " FROM ledger_accounts WHERE id = $1",
                  .arg = account_id,
                  .ints_mode = true};
    int rc = run_q(db, &q);
    memcpy(out, q.ints, sizeof q.ints);
    return rc;
}

int sw_card_account(const struct bank_proc *b, int serial, char out[65])
{
    char phone[24];
    const char *db = b->db;
    snprintf(phone, sizeof phone, "1380000000%d", serial);
    int rc = sw_db_text(db,
                        "SELECT c.account_id FROM bank_cards c JOIN bank_customers u"
                        " ON u.id = c.customer_id WHERE u.phone = $1",
                        phone, out, 65);
    return rc == 0 && out[0] ? 0 : -1;
}

void sw_demo_pan(const char *bin_, int serial, char out[20])
{
    char body[20];
    snprintf(body, sizeof body, "%.6s%09d", bin_, serial);
    int sum = 0;
    for (int i = 14; i >= 0; i--) {
        int d = body[i] - '0';
        if ((14 - i) % 2 == 0 && (d *= 2) > 9)
            d -= 9;
        sum += d;
    }
    snprintf(out, 20, "%.15s%c", body, (char)('0' + (10 - sum % 10) % 10));
}

int sw_wait_log(const char *path, const char *needle, int ms)
{
    for (int waited = 0; waited <= ms; waited += 20) {
        if (th_count_in_file(path, needle) > 0)
            return 0;
        usleep(20000);
    }
    return -1;
}

int sw_scan(const char *dir, const char *const *files, size_t n_files, const char (*needles)[64],
            size_t n_needles)
{
    /* control: the cluster's files do hold what the switch stores in clear (a member's name) */
    static const char stored[1][64] = {"CCB Sandbox"};
    if (th_db_is_pg() && th_db_scan_cluster(stored, 1, false) == 0) {
        fprintf(stderr, "sw_scan: the cluster's files lack a stored value: scan is blind\n");
        return 1;
    }
    return th_scan_files(dir, files, n_files, needles, n_needles) +
           (int)th_db_scan_cluster(needles, n_needles, true);
}
