/* Asynchronous notifications to merchants: an outbox row written in the same transaction as
 * the state change it reports, and a worker that delivers it as a signed POST, records every
 * attempt and retries on the configured schedule until the merchant answers "success".
 * The outbox lives in the database, so a restart loses nothing: a row claimed by a process
 * that died becomes due again when its lease runs out. */
#include "platform/platform.h"

#include "core/assertions.h"
#include "core/clock.h"
#include "crypto/ids.h"
#include "core/limits.h"
#include "core/timeutil.h"
#include "http/client.h"
#include "http/addr.h"
#include "http/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h" /* after errors.h users: errors.h redefines PAY_ERROR */

/* Rows claimed per round, and how long a claim lasts beyond the delivery timeout. */
#define NOTIFY_BATCH 8

enum pay_err pay_platform_notify_enqueue(struct pay_store_tx *tx,
                                         const struct pay_platform_trade *t, const char *event,
                                         const char *refund_id, struct pay_error *err)
{
    return pay_platform_notify_enqueue_with(tx, t, event, refund_id ? "refund_id" : NULL,
                                            refund_id ? json_string(refund_id) : NULL, err);
}

enum pay_err pay_platform_notify_enqueue_with(struct pay_store_tx *tx,
                                              const struct pay_platform_trade *t, const char *event,
                                              const char *key, json_t *value, struct pay_error *err)
{
    if (t->notify_url[0] == '\0') {
        json_decref(value);
        return PAY_ERR_OK;
    }
    char id[PAY_ID_MAX];
    if (pay_id_new("nt", id) != PAY_ERR_OK) {
        json_decref(value);
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "no randomness for an id");
    }
    json_t *o = json_pack("{s:s, s:s, s:o}", "notify_id", id, "event", event, "trade",
                          pay_platform_trade_json(t));
    if (o && key && value)
        json_object_set(o, key, value);
    json_decref(value);
    char *payload = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    if (!payload)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "notification payload");
    int64_t now = pay_clock_now_ms();
    /* queued on PostgreSQL; its failure the body's (pay_store_exec_deferred) */
    enum pay_err e = pay_store_exec_deferred(
        tx, err,
        "INSERT INTO pf_notify_outbox (id, merchant_id, trade_id, event, url, payload, status,"
        " next_attempt_ms, created_ms) VALUES ($1,$2,$3,$4,$5,$6,'pending',$7,$8)",
        "ttttttii", id, t->merchant_id, t->id, event, t->notify_url, payload, now, now);
    free(payload);
    return e;
}

/* Names are checked on every resolved address at connect time by the client. */
enum pay_err pay_platform_notify_url_check(const struct pay_platform *p, const char *notify_hosts,
                                           const char *url, struct pay_error *err)
{
    struct pay_url u;
    if (pay_url_parse(url, "notify_url", &u, err) != PAY_ERR_OK)
        return pay_error_set(err, PAY_ERR_NOTIFY_URL_INVALID, "notify_url", "%s", err->detail);
    struct pay_platform_merchant m = {0};
    pay_str_copy(m.notify_hosts, sizeof m.notify_hosts, notify_hosts);
    if (!pay_platform_merchant_host_allowed(&m, u.host))
        return pay_error_set(err, PAY_ERR_NOTIFY_URL_INVALID, "notify_url",
                             "host %s is not one of the merchant's registered notify hosts",
                             u.host);
    const struct pay_addr_range *r = NULL;
    char why[160];
    if (!p->set.allow_private_hosts && pay_addr_text_special(u.host, &r) == 1)
        return pay_error_set(err, PAY_ERR_URL_FORBIDDEN, "notify_url",
                             "%s is a special-purpose address (%s)", u.host,
                             pay_addr_range_describe(r, why, sizeof why));
    return PAY_ERR_OK;
}

struct due {
    char id[PAY_ID_MAX];
    char url[PAY_URL_MAX + 1];
    char *payload;
    int64_t attempts;
};

struct claim_ctx {
    struct pay_platform *p;
    struct due rows[NOTIFY_BATCH];
    size_t n;
};

static void claim_reset(struct claim_ctx *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->rows[i].payload);
    c->n = 0;
}

/* Takes up to NOTIFY_BATCH due rows and pushes their due time past the lease, so no other
 * worker (or process) sends them meanwhile. Every platform node runs a notifier; on
 * PostgreSQL a row another node's claim holds is passed over (PAY_STORE_CLAIM_SQL). */
static enum pay_err claim_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct claim_ctx *c = ctx;
    claim_reset(c);
    int64_t now = pay_clock_now_ms();
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        PAY_STORE_CLAIM_SQL(tx, "SELECT id, url, payload, attempts FROM pf_notify_outbox"
                                " WHERE status = 'pending' AND next_attempt_ms <= $1"
                                " ORDER BY next_attempt_ms LIMIT $2"),
        "ii", now, (int64_t)NOTIFY_BATCH);
    if (!st)
        return err->code;
    int rc;
    while (c->n < NOTIFY_BATCH && (rc = pay_store_step(st, err)) == 1) {
        struct due *d = &c->rows[c->n++];
        pay_store_col_copy(st, 0, d->id, sizeof d->id);
        pay_store_col_copy(st, 1, d->url, sizeof d->url);
        d->payload = strdup(pay_store_col_text(st, 2));
        d->attempts = pay_store_col_int64(st, 3);
        if (!d->payload)
            rc = -1;
    }
    pay_store_done(st);
    int64_t until = now + c->p->set.notify_timeout_ms + PAY_PLATFORM_NOTIFY_LEASE_MS;
    for (size_t i = 0; i < c->n; i++) {
        enum pay_err e = pay_store_exec(
            tx, err, "UPDATE pf_notify_outbox SET next_attempt_ms = $1 WHERE id = $2", "it", until,
            c->rows[i].id);
        if (e != PAY_ERR_OK)
            return e;
    }
    return PAY_ERR_OK;
}

struct result_ctx {
    struct pay_platform *p;
    const struct due *d;
    int64_t started_ms;
    long http_status;
    const char *result;
    bool ok;
};

/* A notification: pending until the merchant answered "success" (delivered) or the schedule
 * is spent (failed); a failed attempt with retries left stays pending. */
static const struct pay_state_move outbox_moves[] = {
    {"pending", "delivered"},
    {"pending", "failed"},
    {"pending", "pending"},
};

static enum pay_err result_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct result_ctx *r = ctx;
    int64_t attempt = r->d->attempts + 1, now = pay_clock_now_ms();
    enum pay_err e = pay_store_exec(
        tx, err,
        "INSERT INTO pf_notify_attempts (notify_id, attempt, started_ms, http_status, result)"
        " VALUES ($1,$2,$3,$4,$5)",
        "tiiit", r->d->id, attempt, r->started_ms, (int64_t)r->http_status, r->result);
    if (e != PAY_ERR_OK)
        return e;
    const char *status = "pending";
    int64_t next = now;
    if (r->ok)
        status = "delivered";
    else if ((size_t)attempt <= r->p->set.notify_schedule_n)
        next = now + r->p->set.notify_schedule_ms[attempt - 1];
    else
        status = "failed"; /* the schedule is spent: the merchant can still query */
    PAY_ASSERT(
        pay_state_move_legal(outbox_moves, PAY_STATE_MOVES(outbox_moves), "pending", status));
    e = pay_store_exec(tx, err,
                       "UPDATE pf_notify_outbox SET status = $1, attempts = $2,"
                       " next_attempt_ms = $3, delivered_ms = $4 WHERE id = $5"
                       " AND status = 'pending'",
                       "tiiit", status, attempt, next, r->ok ? now : (int64_t)0, r->d->id);
    return e;
}

/* One signed POST; fills r->http_status, r->result, r->ok. */
static void deliver(struct pay_platform *p, struct result_ctx *r)
{
    struct pay_url u;
    struct pay_error err = {0};
    r->started_ms = pay_clock_now_ms();
    r->http_status = 0;
    if (pay_url_parse(r->d->url, "notify_url", &u, &err) != PAY_ERR_OK) {
        r->result = "bad url";
        return;
    }
    char nonce[PAY_SIG_NONCE_MAX + 1], sig[PAY_SIG_HEADER_MAX], hdr[PAY_SIG_HEADER_MAX + 32];
    pay_sig_nonce_generate(nonce);
    struct pay_sig_signer s = {PAY_SIG_ED25519, p->key_id, &p->key, NULL};
    size_t len = strlen(r->d->payload);
    if (pay_sig_sign_request(&s, "POST", u.path, r->d->payload, len, pay_clock_real_ms() / 1000,
                             nonce, sig, sizeof sig, &err) != PAY_ERR_OK) {
        r->result = "signing failed";
        return;
    }
    snprintf(hdr, sizeof hdr, "%s: %s", PAY_SIG_RESPONSE_HEADER, sig);
    const char *headers[] = {"Content-Type: application/json", hdr, NULL};
    struct pay_http_client_options opt = {
        .total_timeout_ms = (long)p->set.notify_timeout_ms,
        .response_max = 4096,
        .allow_private_addresses = p->set.allow_private_hosts,
    };
    struct pay_http_client_response resp = {0};
    enum pay_err e =
        pay_http_client_request("POST", r->d->url, headers, r->d->payload, len, &opt, &resp, &err);
    if (e != PAY_ERR_OK) {
        r->result = pay_err_name(e);
    } else {
        r->http_status = resp.status;
        const char *b = pay_buf_str(&resp.body);
        size_t bl = strlen(b);
        while (bl > 0 && (b[bl - 1] == '\n' || b[bl - 1] == '\r' || b[bl - 1] == ' '))
            bl--;
        r->ok = resp.status == 200 && bl == 7 && memcmp(b, "success", 7) == 0;
        r->result = r->ok ? "success" : "answer was not \"success\"";
    }
    pay_http_client_response_fini(&resp);
}

enum pay_err pay_platform_notify_test(struct pay_platform *p, const char *merchant_id,
                                      const char *notify_hosts, const char *url, long *http_status,
                                      const char **result, struct pay_error *err)
{
    *http_status = 0;
    *result = "";
    enum pay_err e = pay_platform_notify_url_check(p, notify_hosts, url, err);
    char id[PAY_ID_MAX], at[PAY_TIME_TEXT_MAX];
    if (e == PAY_ERR_OK && pay_id_new("nt", id) != PAY_ERR_OK)
        e = pay_error_set(err, PAY_ERR_INTERNAL, "", "no randomness for an id");
    if (e != PAY_ERR_OK)
        return e;
    pay_time_format_rfc3339(pay_clock_real_ms(), at);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "event", "test", "merchant_id", merchant_id,
                          "notify_id", id, "sent_at", at);
    struct due d = {.payload = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL};
    json_decref(o);
    if (!d.payload || !pay_str_copy(d.url, sizeof d.url, url)) {
        free(d.payload);
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "test notification");
    }
    pay_str_copy(d.id, sizeof d.id, id);
    struct result_ctx r = {.p = p, .d = &d};
    deliver(p, &r);
    free(d.payload);
    *http_status = r.http_status;
    *result = r.result ? r.result : "";
    PAY_INFO("notify.test", "merchant=%s notify=%s status=%ld ok=%d", merchant_id, id,
             r.http_status, r.ok);
    return r.ok ? PAY_ERR_OK
                : pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "notify_url", "%s", *result);
}

void *pay_platform_notify_worker(void *arg)
{
    struct pay_platform *p = arg;
    struct claim_ctx c = {.p = p};
    while (!atomic_load(&p->stopping)) {
        struct pay_error err = {0};
        if (pay_platform_write(p, claim_tx, &c, &err) != PAY_ERR_OK)
            claim_reset(&c);
        for (size_t i = 0; i < c.n && !atomic_load(&p->stopping); i++) {
            struct result_ctx r = {.p = p, .d = &c.rows[i]};
            deliver(p, &r);
            PAY_INFO("notify.attempt", "notify=%s attempt=%lld status=%ld ok=%d", r.d->id,
                     (long long)r.d->attempts + 1, r.http_status, r.ok);
            if (pay_platform_write(p, result_tx, &r, &err) != PAY_ERR_OK)
                PAY_WARN("notify.record_failed", "notify=%s err=%s", r.d->id,
                         pay_err_name(err.code));
        }
        bool busy = c.n == NOTIFY_BATCH;
        claim_reset(&c);
        if (!busy) {
            pay_platform_wait(p, &p->notifier_clock, p->set.notify_poll_ms);
        } else { /* more are due: the next evaluation starts at once */
            pay_clock_worker_end(&p->notifier_clock);
            pay_clock_worker_begin(&p->notifier_clock);
        }
    }
    return NULL;
}

/* --- waking the workers ------------------------------------------------------------------- *
 * The notifier and the sweeper sleep on p->wake_cv between rounds; a new outbox row, a move
 * of the test clock or the stop wakes them early. */

bool pay_platform_wait(struct pay_platform *p, struct pay_clock_worker *w, int64_t ms)
{
    pay_clock_worker_end(w);
    pthread_mutex_lock(&p->wake_mu);
    if (!atomic_load(&p->stopping))
        pay_clock_worker_sleep(w, ms);
    pthread_mutex_unlock(&p->wake_mu);
    pay_clock_worker_begin(w);
    return atomic_load(&p->stopping);
}

void pay_platform_wake(struct pay_platform *p)
{
    pthread_mutex_lock(&p->wake_mu);
    pthread_cond_broadcast(&p->wake_cv);
    pthread_mutex_unlock(&p->wake_mu);
}
