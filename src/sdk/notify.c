/* libpaygate: platform notifications (verify, parse, de-duplicate by notify id) and a small
 * SQLite-backed store of seen notify ids. */
#include "sdk/internal.h"

#include "core/assertions.h"
#include "crypto/sig.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int pay_sdk_sig_status(enum pay_err e);

static enum pay_err lookup(void *ctx, const char *key_id, struct pay_sig_pubkey *out)
{
    if (strcmp(key_id, "paygate-platform") != 0)
        return PAY_ERR_SIGNATURE_INVALID;
    out->alg = PAY_SIG_ED25519;
    memcpy(out->ed25519, pay_sdk_client_pk(ctx), PAY_ED25519_PK_LEN);
    return PAY_ERR_OK;
}

int paygate_notify_verify(paygate_client *c, const char *target, const char *signature,
                          const void *body, size_t len, int64_t expected_amount,
                          paygate_notification *out, paygate_error *err)
{
    if (!c || !target || !out || (!body && len))
        return pay_sdk_fail(err, PAYGATE_ERR_ARG, 0, NULL, "client, target, out needed");
    memset(out, 0, sizeof *out);
    struct pay_sig_verifier v = {.lookup = lookup, .ctx = c, .nonces = pay_sdk_client_nonces(c)};
    struct pay_error e = {0};
    enum pay_err ve = pay_sig_verify_request(&v, signature, "POST", target, body ? body : "", len,
                                             (int64_t)time(NULL), NULL, &e);
    if (ve != PAY_ERR_OK)
        return pay_sdk_fail(err, pay_sdk_sig_status(ve), 401, pay_err_name(ve),
                            "notification refused: %s",
                            e.detail[0] ? e.detail : pay_err_message(ve));
    json_t *j = json_loadb(body, len, 0, NULL);
    json_t *t = json_object_get(j, "trade");
    const char *event = json_string_value(json_object_get(j, "event"));
    const char *merchant = json_string_value(json_object_get(j, "merchant_id"));
    int rc = PAYGATE_OK;
    if (event && strcmp(event, "test") == 0) {
        /* the portal's test notification (docs/portal.md): no trade, but still only ours */
        if (!merchant || strcmp(merchant, pay_sdk_client_merchant(c)) != 0)
            rc = pay_sdk_fail(err, PAYGATE_ERR_MISMATCH, 400, "MERCHANT_MISMATCH",
                              "test notification for merchant %s", merchant ? merchant : "(none)");
        else if (!pay_sdk_str(j, "notify_id", out->notify_id, sizeof out->notify_id) ||
                 !out->notify_id[0])
            rc = pay_sdk_fail(err, PAYGATE_ERR_ARG, 400, "FIELD_INVALID", "notify_id");
        else
            rc = pay_sdk_str(j, "event", out->event, sizeof out->event) ? PAYGATE_TEST
                                                                        : PAYGATE_ERR_INTERNAL;
    } else if (!json_is_object(t)) {
        rc = pay_sdk_fail(err, PAYGATE_ERR_ARG, 400, "JSON_INVALID", "no trade in notification");
    } else if (!pay_sdk_str(j, "notify_id", out->notify_id, sizeof out->notify_id) ||
               !pay_sdk_str(j, "event", out->event, sizeof out->event) ||
               !pay_sdk_str(j, "refund_id", out->refund_id, sizeof out->refund_id)) {
        rc = pay_sdk_fail(err, PAYGATE_ERR_INTERNAL, 0, "FIELD_TOO_LONG",
                          "notify_id, event or refund_id is longer than paygate_notification "
                          "holds: upgrade libpaygate");
    } else if ((rc = pay_sdk_trade_from_json(t, &out->trade, err)) != PAYGATE_OK) {
        /* err says which field */
    } else if (strcmp(out->trade.merchant_id, pay_sdk_client_merchant(c)) != 0) {
        rc = pay_sdk_fail(err, PAYGATE_ERR_MISMATCH, 400, "MERCHANT_MISMATCH",
                          "notification for merchant %s", out->trade.merchant_id);
    } else if (out->trade.amount <= 0 || !out->notify_id[0]) {
        rc = pay_sdk_fail(err, PAYGATE_ERR_ARG, 400, "FIELD_INVALID", "amount or notify_id");
    } else if (expected_amount > 0 && out->trade.amount != expected_amount) {
        rc = pay_sdk_fail(err, PAYGATE_ERR_MISMATCH, 400, "AMOUNT_MISMATCH",
                          "amount %lld, expected %lld", (long long)out->trade.amount,
                          (long long)expected_amount);
    }
    json_decref(j);
    /* What the merchant acts on: verified, theirs, and the amount it expects. */
    PAY_ASSERT(
        rc != PAYGATE_OK ||
        (out->trade.amount > 0 && (expected_amount <= 0 || out->trade.amount == expected_amount)));
    return rc;
}

int paygate_notify_once(const char *notify_id, paygate_seen_fn seen, void *ctx)
{
    if (!notify_id || !*notify_id || !seen)
        return PAYGATE_ERR_ARG;
    int r = seen(ctx, notify_id);
    return r == 1 ? PAYGATE_OK : r == 0 ? PAYGATE_DUPLICATE : PAYGATE_ERR_INTERNAL;
}

struct paygate_seen_db {
    sqlite3 *db;
};

paygate_seen_db *paygate_seen_db_open(const char *sqlite_path)
{
    /* the merchant's own record: created 0600 before SQLite opens it (the -wal and -shm
     * files get the same mode), whatever the process's umask */
    int fd = sqlite_path ? open(sqlite_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
    if (fd < 0)
        return NULL;
    int ok = fchmod(fd, 0600) == 0;
    if (close(fd) != 0 || !ok)
        return NULL;
    paygate_seen_db *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (sqlite3_open(sqlite_path, &s->db) != SQLITE_OK ||
        sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK ||
        sqlite3_exec(s->db,
                     "PRAGMA journal_mode=WAL;"
                     "CREATE TABLE IF NOT EXISTS paygate_seen(notify_id TEXT PRIMARY KEY,"
                     " seen_at INTEGER NOT NULL)",
                     NULL, NULL, NULL) != SQLITE_OK) {
        paygate_seen_db_close(s);
        return NULL;
    }
    return s;
}

void paygate_seen_db_close(paygate_seen_db *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    free(s);
}

/* INSERT OR IGNORE decides atomically, so two concurrent deliveries cannot both be "new". */
int paygate_seen_db_fn(void *ctx, const char *notify_id)
{
    paygate_seen_db *s = ctx;
    sqlite3_stmt *st = NULL;
    if (!s || sqlite3_prepare_v2(s->db,
                                 "INSERT OR IGNORE INTO paygate_seen(notify_id, seen_at) "
                                 "VALUES (?1, ?2)",
                                 -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, notify_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
    int rc = sqlite3_step(st) == SQLITE_DONE ? (sqlite3_changes(s->db) == 1 ? 1 : 0) : -1;
    sqlite3_finalize(st);
    return rc;
}
