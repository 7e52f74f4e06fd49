/* HS notifications (ICBC step 7): a signed form POSTed to merURL, answered 2xx by the merchant
 * within notify_timeout; failures are retried by a worker on the notify_retry schedule, every
 * attempt recorded. Also the sandbox SMS "sender": an in-memory outbox shown at /sandbox/sms.
 * The log says only that a message went to a phone's last four digits: codes and phone
 * numbers never reach a log. */
#include "bank/bank.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "crypto/ids.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "http/client.h"
#include "http/codec.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void pay_bank_sms_send(struct pay_bank *b, const char *phone, const char *text, const char *code)
{
    pthread_mutex_lock(&b->sms_lock);
    struct pay_bank_sms *m = &b->sms[b->sms_next];
    m->time_ms = pay_clock_now_ms();
    pay_str_copy(m->phone, sizeof m->phone, phone);
    pay_str_copy(m->text, sizeof m->text, text);
    pay_str_copy(m->code, sizeof m->code, code);
    b->sms_next = (b->sms_next + 1) % PAY_BANK_SMS_OUTBOX_MAX;
    if (b->sms_count < PAY_BANK_SMS_OUTBOX_MAX)
        b->sms_count++;
    pthread_mutex_unlock(&b->sms_lock);
    size_t n = strlen(phone);
    PAY_INFO("sms.sent", "to=***%s", n >= 4 ? phone + n - 4 : "");
}

/* Builds notifyData (base64 JSON) and signMsg for a paid order and inserts the row, claimed
 * for the synchronous attempt that follows the commit. */
enum pay_err pay_bank_notify_create(struct pay_bank *b, struct pay_store_tx *tx,
                                    const char *order_pk, int64_t now_ms, char id_out[PAY_ID_MAX],
                                    struct pay_error *err)
{
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT mer_id, order_id, amount_minor, currency, mer_var, mer_url, paid_ms"
                        " FROM bank_orders WHERE id = $1",
                        "t", order_pk);
    if (!st)
        return err->code;
    if (pay_store_step(st, err) != 1) {
        pay_store_done(st);
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "order %s vanished", order_pk);
    }
    enum pay_err rc = pay_id_new("nt", id_out);
    char when[PAY_TIME_TEXT_MAX];
    pay_time_format_rfc3339(pay_store_col_int64(st, 6), when);
    json_t *j = json_pack(
        "{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "merID", pay_store_col_text(st, 0),
        "orderId", pay_store_col_text(st, 1), "amount", (json_int_t)pay_store_col_int64(st, 2),
        "currency", pay_store_col_text(st, 3), "tranSerialNo", order_pk, "tranStatus", "SUCCESS",
        "tranTime", when, "merVAR", pay_store_col_text(st, 4), "notifyId", id_out);
    char *url = strdup(pay_store_col_text(st, 5));
    char *mer_var = strdup(pay_store_col_text(st, 4));
    pay_store_done(st);
    char *data = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    size_t dlen = data ? strlen(data) : 0;
    char *data64 = data ? malloc(PAY_BASE64_LEN(dlen)) : NULL;
    uint8_t sig[PAY_RSA_SIG_MAX];
    size_t sig_len = 0;
    char sig64[PAY_BASE64_LEN(PAY_RSA_SIG_MAX)];
    if (rc != PAY_ERR_OK || !url || !mer_var || !data64 ||
        pay_base64_encode(data64, PAY_BASE64_LEN(dlen), data, dlen) != 0 ||
        pay_rsa_sign(b->keys.certs.sign_key, data, dlen, sig, sizeof sig, &sig_len) != 0 ||
        pay_base64_encode(sig64, sizeof sig64, sig, sig_len) != 0)
        rc = pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot build the notification");
    else
        rc = pay_store_exec(tx, err,
                            "INSERT INTO bank_notifications (id, order_pk, url, notify_data,"
                            " sign_msg, mer_var, status, next_attempt_ms)"
                            " VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', $7)",
                            "tttttti", id_out, order_pk, url, data64, sig64, mer_var,
                            now_ms + b->opt.notify_timeout_ms + 10000);
    free(data);
    free(data64);
    free(url);
    free(mer_var);
    return rc;
}

struct note {
    char url[PAY_URL_MAX + 1];
    char *data, *sig, *mer_var;
    int64_t attempts;
    bool found;
};

static enum pay_err note_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct note *n = ((struct note **)ctx)[0];
    const char *id = ((const char **)ctx)[1];
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT url, notify_data, sign_msg, mer_var, attempts FROM bank_notifications"
        " WHERE id = $1 AND status = 'PENDING'",
        "t", id);
    if (!st)
        return err->code;
    if (pay_store_step(st, err) == 1) {
        pay_store_col_copy(st, 0, n->url, sizeof n->url);
        n->data = strdup(pay_store_col_text(st, 1));
        n->sig = strdup(pay_store_col_text(st, 2));
        n->mer_var = strdup(pay_store_col_text(st, 3));
        n->attempts = pay_store_col_int64(st, 4);
        n->found = n->data && n->sig && n->mer_var;
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

struct record_op {
    struct pay_bank *b;
    const char *id;
    int64_t attempts;
    long status;
    const char *error;
};

/* A B2C notification: PENDING until the merchant answered 2xx (DELIVERED) or the retries are
 * spent (FAILED); a failed attempt with retries left stays PENDING. */
static const struct pay_state_move note_moves[] = {
    {"PENDING", "DELIVERED"},
    {"PENDING", "FAILED"},
    {"PENDING", "PENDING"},
};

static enum pay_err record_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct record_op *r = ctx;
    struct pay_bank *b = r->b;
    int64_t now = pay_clock_now_ms();
    bool ok = r->status >= 200 && r->status < 300;
    size_t i = (size_t)r->attempts - 1; /* retries done so far */
    const char *state = ok ? "DELIVERED" : i < b->opt.retry_n ? "PENDING" : "FAILED";
    int64_t next = !ok && i < b->opt.retry_n ? now + b->opt.retry_ms[i] : 0;
    PAY_ASSERT(pay_state_move_legal(note_moves, PAY_STATE_MOVES(note_moves), "PENDING", state));
    return pay_store_exec(tx, err,
                          "UPDATE bank_notifications SET attempts = $2, status = $3,"
                          " next_attempt_ms = $4, last_status = $5, last_error = $6,"
                          " delivered_ms = $7 WHERE id = $1 AND status = 'PENDING'",
                          "titiiti", r->id, r->attempts, state, next, (int64_t)r->status, r->error,
                          ok ? now : (int64_t)0);
}

static long post_note(struct pay_bank *b, const struct note *n, char *error, size_t error_n)
{
    struct pay_buf body;
    pay_buf_init(&body, PAY_HTTP_BODY_MAX);
    long status = 0;
    if (pay_form_append(&body, "notifyData", n->data) != 0 ||
        pay_form_append(&body, "signMsg", n->sig) != 0 ||
        pay_form_append(&body, "merVAR", n->mer_var) != 0) {
        snprintf(error, error_n, "notification too large");
        pay_buf_fini(&body);
        return 0;
    }
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    struct pay_http_client_options opt = {.total_timeout_ms = (long)b->opt.notify_timeout_ms,
                                          .allow_private_addresses = b->opt.allow_private_notify};
    if (opt.connect_timeout_ms == 0 && b->opt.notify_timeout_ms < PAY_CLIENT_CONNECT_TIMEOUT_MS)
        opt.connect_timeout_ms = (long)b->opt.notify_timeout_ms;
    struct pay_http_client_response resp;
    memset(&resp, 0, sizeof resp);
    struct pay_error e = {0};
    enum pay_err rc =
        pay_http_client_request("POST", n->url, headers, body.data, body.len, &opt, &resp, &e);
    if (rc == PAY_ERR_OK) {
        status = resp.status;
        pay_str_copy(error, error_n, status >= 200 && status < 300 ? "" : "HTTP status");
    } else {
        snprintf(error, error_n, "%s: %.150s", pay_err_name(rc), e.detail);
    }
    pay_http_client_response_fini(&resp);
    pay_buf_fini(&body);
    return status;
}

void pay_bank_notify_attempt(struct pay_bank *b, const char *notify_id)
{
    struct note n = {0};
    void *ctx[2] = {&n, (void *)notify_id};
    struct pay_error err = {0};
    if (pay_store_run_read(b->store, note_tx, ctx, &err) == PAY_ERR_OK && n.found) {
        char error[200];
        long status = post_note(b, &n, error, sizeof error);
        struct record_op r = {
            .b = b, .id = notify_id, .attempts = n.attempts + 1, .status = status, .error = error};
        if (pay_committer_submit(b->committer, record_apply, &r, &err) != PAY_ERR_OK)
            PAY_ERROR("bank.notify_record_failed", "notify=%s code=%s", notify_id,
                      pay_err_name(err.code));
        PAY_INFO("bank.notify_attempt", "notify=%s attempt=%lld status=%ld error=\"%s\"", notify_id,
                 (long long)r.attempts, status, error);
    }
    free(n.data);
    free(n.sig);
    free(n.mer_var);
}

/* --- the retry worker --------------------------------------------------------------------------
 */

#define DUE_BATCH 16

/* How often due notifications are looked for without a wake-up (monotonic time). */
#define NOTIFY_POLL_MS 500

struct claim_op {
    struct pay_bank *b;
    char ids[DUE_BATCH][PAY_ID_MAX];
    size_t n;
};

/* Claims due notifications by pushing their next attempt past the send timeout, so that
 * a slow attempt is not started twice (by this process or another bank process on the
 * database: on PostgreSQL rows another's claim holds are passed over). */
static enum pay_err claim_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct claim_op *c = ctx;
    struct pay_bank *b = c->b;
    int64_t now = pay_clock_now_ms();
    c->n = 0;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        PAY_STORE_CLAIM_SQL(tx, "SELECT id FROM bank_notifications WHERE status = 'PENDING'"
                                " AND next_attempt_ms <= $1 ORDER BY next_attempt_ms LIMIT 16"),
        "i", now);
    if (!st)
        return err->code;
    while (c->n < DUE_BATCH && pay_store_step(st, err) == 1)
        pay_str_copy(c->ids[c->n++], PAY_ID_MAX, pay_store_col_text(st, 0));
    pay_store_done(st);
    for (size_t i = 0; i < c->n; i++) {
        enum pay_err rc = pay_store_exec(
            tx, err, "UPDATE bank_notifications SET next_attempt_ms = $2 WHERE id = $1", "ti",
            c->ids[i], now + b->opt.notify_timeout_ms + 10000);
        if (rc != PAY_ERR_OK)
            return rc;
    }
    return PAY_ERR_OK;
}

static void *worker_main(void *arg)
{
    struct pay_bank *b = arg;
    for (;;) {
        pthread_mutex_lock(&b->stop_lock);
        if (!b->stopping)
            pay_clock_worker_sleep(&b->notify_clock, NOTIFY_POLL_MS);
        bool stop = b->stopping;
        pthread_mutex_unlock(&b->stop_lock);
        if (stop)
            break;
        pay_clock_worker_begin(&b->notify_clock);
        struct claim_op c;
        memset(&c, 0, sizeof c);
        c.b = b;
        struct pay_error err = {0};
        if (pay_committer_submit(b->committer, claim_apply, &c, &err) == PAY_ERR_OK)
            for (size_t i = 0; i < c.n; i++)
                pay_bank_notify_attempt(b, c.ids[i]);
        pay_bank_net_run(b);
        pay_clock_worker_end(&b->notify_clock);
    }
    return NULL;
}

int pay_bank_notify_worker_start(struct pay_bank *b)
{
    pay_clock_worker_add(&b->notify_clock, "bank-notifier", &b->stop_lock, &b->stop_cond);
    if (pthread_create(&b->worker, NULL, worker_main, b) != 0) {
        pay_clock_worker_remove(&b->notify_clock);
        return -1;
    }
    b->worker_running = true;
    return 0;
}

void pay_bank_notify_worker_stop(struct pay_bank *b)
{
    if (!b->worker_running)
        return;
    pthread_mutex_lock(&b->stop_lock);
    b->stopping = true;
    pthread_cond_signal(&b->stop_cond);
    pthread_mutex_unlock(&b->stop_lock);
    pthread_join(b->worker, NULL);
    pay_clock_worker_remove(&b->notify_clock);
    b->worker_running = false;
}
