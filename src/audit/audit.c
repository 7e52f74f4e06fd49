/* The audit log's writing side: the canonical encoding, the hash chain, signed checkpoints
 * and the consoles' filtered listing (docs/audit.md). */
#include "audit/audit.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/sign.h"

#include <string.h>

static const struct pay_store_migration migrations[] = {
    {1, "CREATE TABLE audit_log ("
        " seq INTEGER PRIMARY KEY," /* 1, 2, 3, ... without gaps */
        " at_ms INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,"
        " target TEXT NOT NULL, outcome TEXT NOT NULL, source TEXT NOT NULL,"
        " detail TEXT NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL);"
        "CREATE INDEX audit_log_at ON audit_log(at_ms);"
        "CREATE TABLE audit_checkpoints ("
        " seq INTEGER PRIMARY KEY, hash BLOB NOT NULL, at_ms INTEGER NOT NULL,"
        " key_id TEXT NOT NULL, alg TEXT NOT NULL, sig BLOB NOT NULL);"
        /* Append-only for everyone who goes through SQL without dropping these first; whoever
         * does is caught by `paygate audit verify`. */
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
        " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
        " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
        "CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints"
        " BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;"
        "CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints"
        " BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END"},
};
/* PostgreSQL: BIGINT and BYTEA for SQLite's INTEGER and BLOB, and the append-only rule as a
 * trigger function (also against TRUNCATE) that fails as a constraint does (SQLSTATE 23000,
 * DB_CONSTRAINT, as SQLite's RAISE(ABORT)). */
static const struct pay_store_migration migrations_pg[] = {
    {1, "CREATE TABLE audit_log ("
        " seq BIGINT PRIMARY KEY,"
        " at_ms BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,"
        " target TEXT NOT NULL, outcome TEXT NOT NULL, source TEXT NOT NULL,"
        " detail TEXT NOT NULL, prev_hash BYTEA NOT NULL, hash BYTEA NOT NULL);"
        "CREATE INDEX audit_log_at ON audit_log(at_ms);"
        "CREATE TABLE audit_checkpoints ("
        " seq BIGINT PRIMARY KEY, hash BYTEA NOT NULL, at_ms BIGINT NOT NULL,"
        " key_id TEXT NOT NULL, alg TEXT NOT NULL, sig BYTEA NOT NULL);"
        "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
        " RAISE EXCEPTION '% is append-only', TG_TABLE_NAME"
        " USING ERRCODE = 'integrity_constraint_violation'; END $f$;"
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log"
        " FOR EACH ROW EXECUTE FUNCTION audit_append_only();"
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log"
        " FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();"
        "CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE"
        " ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION audit_append_only();"
        "CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints"
        " FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"},
    {0, NULL},
};
const struct pay_store_component pay_audit_schema = {
    "audit", migrations, sizeof migrations / sizeof migrations[0], migrations_pg};

static const char ENTRY_TAG[] = "paygate audit entry v1";           /* + its NUL */
static const char CHECKPOINT_TAG[] = "paygate audit checkpoint v1"; /* + its NUL */

static const char *or_empty(const char *s)
{
    return s ? s : "";
}
static const char *outcome_of(const struct pay_audit_entry *e)
{
    return e->outcome && e->outcome[0] ? e->outcome : PAY_AUDIT_OK;
}

#define ENTRY_ENC_MAX                                                                              \
    (sizeof ENTRY_TAG + PAY_SHA256_LEN + 16 + 6 * 4 + 5 * PAY_AUDIT_TEXT_MAX + PAY_AUDIT_DETAIL_MAX)

void pay_audit_entry_hash(const uint8_t prev[PAY_SHA256_LEN], int64_t at_ms,
                          const struct pay_audit_entry *e, uint8_t hash_out[PAY_SHA256_LEN])
{
    uint8_t buf[ENTRY_ENC_MAX];
    struct pay_enc w = {buf, 0, sizeof buf};
    pay_enc_bytes(&w, ENTRY_TAG,
                  sizeof ENTRY_TAG); /* with its NUL: no tag is a prefix of another */
    pay_enc_bytes(&w, prev, PAY_SHA256_LEN);
    pay_enc_u64(&w, (uint64_t)at_ms);
    pay_enc_text(&w, e->actor);
    pay_enc_text(&w, e->action);
    pay_enc_text(&w, e->target);
    pay_enc_text(&w, outcome_of(e));
    pay_enc_text(&w, e->source);
    pay_enc_text(&w, e->detail);
    pay_sha256(hash_out, buf, w.len);
}

size_t pay_audit_checkpoint_message(int64_t seq, const uint8_t hash[PAY_SHA256_LEN], int64_t at_ms,
                                    const char *key_id, uint8_t *buf, size_t size)
{
    PAY_ASSERT(size >= PAY_AUDIT_CHECKPOINT_MSG_MAX && strlen(key_id) <= PAY_AUDIT_TEXT_MAX);
    struct pay_enc w = {buf, 0, size};
    pay_enc_bytes(&w, CHECKPOINT_TAG, sizeof CHECKPOINT_TAG);
    pay_enc_u64(&w, (uint64_t)seq);
    pay_enc_bytes(&w, hash, PAY_SHA256_LEN);
    pay_enc_u64(&w, (uint64_t)at_ms);
    pay_enc_text(&w, key_id);
    return w.len;
}

static bool action_valid(const char *a)
{
    size_t n = a ? strlen(a) : 0;
    if (n == 0 || n > 48)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= '0' && a[i] <= '9') || a[i] == '_' ||
              a[i] == '.'))
            return false;
    return true;
}

static enum pay_err check_entry(const struct pay_audit_entry *e, struct pay_error *err)
{
    const struct {
        const char *name, *v;
        size_t max;
    } f[] = {{"audit.actor", e->actor, PAY_AUDIT_TEXT_MAX},
             {"audit.target", e->target, PAY_AUDIT_TEXT_MAX},
             {"audit.outcome", e->outcome, PAY_AUDIT_TEXT_MAX},
             {"audit.source", e->source, PAY_AUDIT_TEXT_MAX},
             {"audit.detail", e->detail, PAY_AUDIT_DETAIL_MAX}};
    if (!action_valid(e->action))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "audit.action", "not [a-z0-9_.]{1,48}");
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v && strlen(f[i].v) > f[i].max)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, f[i].name, "longer than %zu bytes",
                                 f[i].max);
    return PAY_ERR_OK;
}

/* The chain's head as this thread's open write transaction last left it, so that its next
 * append does not read it again: the committer's batch appends twice per payment, and on
 * PostgreSQL each read is a round trip under the writer lock (docs/performance.md). Valid only
 * in the transaction (store and generation) that wrote it; forgotten when that transaction ends
 * and when any of its savepoints is rolled back (the head may be one of the undone entries).
 * Nothing else writes audit_log inside a write transaction: every writer holds the store's
 * write lock and appends through here. */
struct head_memo {
    const struct pay_store *s;
    uint64_t generation;
    bool valid;
    int64_t seq;
    uint8_t hash[PAY_SHA256_LEN];
};
static _Thread_local struct head_memo memo;

static void memo_after_end(void *ctx, bool committed)
{
    (void)committed;
    ((struct head_memo *)ctx)->valid = false;
}

static void memo_rollback_to(void *ctx, int depth)
{
    (void)depth;
    ((struct head_memo *)ctx)->valid = false;
}

static const struct pay_store_tx_hooks memo_hooks = {.after_end = memo_after_end,
                                                     .rollback_to = memo_rollback_to};

static bool memo_holds(struct pay_store_tx *tx)
{
    return memo.valid && memo.s == pay_store_tx_store(tx) &&
           memo.generation == pay_store_tx_generation(tx);
}

/* After an append: the head is (seq, hash) until tx ends or rolls a savepoint back. */
static void memo_keep(struct pay_store_tx *tx, int64_t seq, const uint8_t hash[PAY_SHA256_LEN])
{
    struct pay_error ignored;
    memo.valid = false;
    if (pay_store_tx_observe(tx, &memo_hooks, &memo, &ignored) != PAY_ERR_OK)
        return; /* no observer slot left: read the head each time */
    memo = (struct head_memo){pay_store_tx_store(tx), pay_store_tx_generation(tx), true, seq, {0}};
    memcpy(memo.hash, hash, PAY_SHA256_LEN);
}

/* The chain's head inside tx: its number and hash (0 and zeros for an empty log). */
static enum pay_err head(struct pay_store_tx *tx, int64_t *seq, uint8_t hash[PAY_SHA256_LEN],
                         struct pay_error *err)
{
    if (memo_holds(tx)) {
        *seq = memo.seq;
        memcpy(hash, memo.hash, PAY_SHA256_LEN);
        return PAY_ERR_OK;
    }
    *seq = 0;
    memset(hash, 0, PAY_SHA256_LEN);
    struct pay_store_stmt *st =
        pay_store_query(tx, err, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", "");
    if (!st)
        return err->code;
    int r = pay_store_step(st, err);
    if (r == 1) {
        size_t n = 0;
        const void *h = pay_store_col_blob(st, 1, &n);
        *seq = pay_store_col_int64(st, 0);
        if (n == PAY_SHA256_LEN)
            memcpy(hash, h, n);
    }
    pay_store_done(st);
    return r < 0 ? err->code : PAY_ERR_OK;
}

static const char *alg_name(enum pay_sig_alg a)
{
    return a == PAY_SIG_RSA_SHA256 ? "rsa-sha256" : "ed25519";
}

static enum pay_err checkpoint(struct pay_store_tx *tx, const pay_audit_signer *signer, int64_t seq,
                               const uint8_t hash[PAY_SHA256_LEN], int64_t at_ms,
                               struct pay_error *err)
{
    uint8_t msg[PAY_AUDIT_CHECKPOINT_MSG_MAX], sig[PAY_RSA_SIG_MAX];
    size_t len = pay_audit_checkpoint_message(seq, hash, at_ms, signer->key_id, msg, sizeof msg);
    size_t sig_len = PAY_ED25519_SIG_LEN;
    if (signer->alg == PAY_SIG_ED25519)
        pay_ed25519_sign(sig, msg, len, signer->ed25519);
    else if (signer->alg != PAY_SIG_RSA_SHA256 ||
             pay_rsa_sign(signer->rsa, msg, len, sig, sizeof sig, &sig_len) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "audit", "cannot sign the checkpoint");
    char head[PAY_HEX_LEN(PAY_SHA256_LEN)]; /* logged: a copy of the chain's head off the box */
    (void)pay_hex_encode(head, sizeof head, hash, PAY_SHA256_LEN);
    PAY_INFO("audit.checkpoint", "seq=%lld head=%s signer=%s", (long long)seq, head,
             signer->key_id);
    return pay_store_exec(tx, err,
                          "INSERT INTO audit_checkpoints (seq, hash, at_ms, key_id, alg, sig)"
                          " VALUES ($1, $2, $3, $4, $5, $6)",
                          "ibittb", seq, hash, (size_t)PAY_SHA256_LEN, at_ms, signer->key_id,
                          alg_name(signer->alg), sig, sig_len);
}

enum pay_err pay_audit_append(struct pay_store_tx *tx, const pay_audit_signer *signer,
                              const struct pay_audit_entry *e, int64_t *seq_out,
                              struct pay_error *err)
{
    PAY_ASSERT(tx && signer && e && pay_store_tx_is_write(tx));
    PAY_ASSERT(signer->key_id && strlen(signer->key_id) <= PAY_AUDIT_TEXT_MAX);
    enum pay_err rc = check_entry(e, err);
    int64_t seq = 0;
    uint8_t prev[PAY_SHA256_LEN], hash[PAY_SHA256_LEN];
    if (rc != PAY_ERR_OK || (rc = head(tx, &seq, prev, err)) != PAY_ERR_OK)
        return rc;
    seq++;
    int64_t at_ms = pay_clock_now_ms();
    pay_audit_entry_hash(prev, at_ms, e, hash);
    /* Its answer is not needed to go on (the next entry's head is memo): queued on PostgreSQL,
     * its failure the caller's body's (pay_store_exec_deferred). */
    rc = pay_store_exec_deferred(
        tx, err,
        "INSERT INTO audit_log (seq, at_ms, actor, action, target, outcome,"
        " source, detail, prev_hash, hash)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        "iittttttbb", seq, at_ms, or_empty(e->actor), e->action, or_empty(e->target), outcome_of(e),
        or_empty(e->source), or_empty(e->detail), prev, (size_t)PAY_SHA256_LEN, hash,
        (size_t)PAY_SHA256_LEN);
    if (rc == PAY_ERR_OK && (e->checkpoint || seq % PAY_AUDIT_CHECKPOINT_EVERY == 0))
        rc = checkpoint(tx, signer, seq, hash, at_ms, err);
    if (rc == PAY_ERR_OK)
        memo_keep(tx, seq, hash);
    else
        memo.valid = false; /* whatever the caller makes of it, read the head again */
    if (rc == PAY_ERR_OK && seq_out)
        *seq_out = seq;
    return rc;
}

struct record_ctx {
    const pay_audit_signer *signer;
    const struct pay_audit_entry *e;
};

static enum pay_err record_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct record_ctx *r = ctx;
    return pay_audit_append(tx, r->signer, r->e, NULL, err);
}

enum pay_err pay_audit_record(struct pay_store *s, const pay_audit_signer *signer,
                              const struct pay_audit_entry *e, struct pay_error *err)
{
    struct record_ctx r = {signer, e};
    return pay_store_run_tx(s, record_tx, &r, err);
}

/* The config hash the previous start recorded (detail "config=<hex> ..."), "" when none. */
static enum pay_err last_config(struct pay_store_tx *tx, char out[PAY_SHA256_HEX_LEN],
                                struct pay_error *err)
{
    out[0] = '\0';
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT detail FROM audit_log WHERE action IN ('server.start', 'config.change')"
        " ORDER BY seq DESC LIMIT 1",
        "");
    if (!st)
        return err->code;
    int r = pay_store_step(st, err);
    const char *d = r == 1 ? pay_store_col_text(st, 0) : NULL;
    if (d && strncmp(d, "config=", 7) == 0)
        snprintf(out, PAY_SHA256_HEX_LEN, "%.64s", d + 7);
    pay_store_done(st);
    return r < 0 ? err->code : PAY_ERR_OK;
}

enum pay_err pay_audit_start_tx(struct pay_store_tx *tx, const pay_audit_signer *signer,
                                const char *server, const char *config_sha256,
                                struct pay_error *err)
{
    char before[PAY_SHA256_HEX_LEN], detail[PAY_AUDIT_DETAIL_MAX];
    enum pay_err e = last_config(tx, before, err);
    if (e != PAY_ERR_OK)
        return e;
    bool changed = before[0] && strcmp(before, config_sha256) != 0;
    snprintf(detail, sizeof detail, "config=%.64s%s%s", config_sha256, changed ? " was=" : "",
             changed ? before : "");
    struct pay_audit_entry a = {.actor = "system",
                                .action = changed ? "config.change" : "server.start",
                                .target = server,
                                .source = "local",
                                .detail = detail,
                                .checkpoint = true};
    return pay_audit_append(tx, signer, &a, NULL, err);
}
