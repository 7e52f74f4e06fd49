/* The per-IP / per-card rate limiter (token buckets: per_min tokens, refilled evenly over a
 * minute). One bank process keeps its buckets in memory; the bank processes that share a
 * PostgreSQL database keep them in bank_rates, one write per check through the committer, so a
 * client that spreads its tries over the nodes meets the limit of one (docs/store.md, "Several
 * nodes on one database"). A key (an address, a card's index, a card number) never reaches the
 * table in clear: its keyed hash under the card index key does. Time is pay_clock_window_ms
 * in memory (the test clock moves it); in the table, where the nodes' monotonic clocks do not
 * compare, the wall clock (or the test clock), a step back counting as no time passed. */
#include "bank/bank.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/crypto.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATE_SLOTS                                                                                 \
    4096                /* buckets kept in memory; a full table forgets the oldest, never refuses  \
                         */
#define UNITS     60000 /* a token in units: a bucket of per_min tokens gains per_min units a ms */
#define MINUTE_MS 60000 /* an untouched bucket is full again after a minute */

struct rate_slot {
    char key[72];
    int64_t units, last_ms;
};

struct pay_bank_rate {
    pthread_mutex_t lock;
    bool in_db; /* bank_rates (PostgreSQL), else slots */
    struct rate_slot slots[RATE_SLOTS];
};

struct pay_bank_rate *pay_bank_rate_new(bool in_db)
{
    struct pay_bank_rate *r = calloc(1, sizeof *r);
    if (r) {
        pthread_mutex_init(&r->lock, NULL);
        r->in_db = in_db;
    }
    return r;
}

void pay_bank_rate_free(struct pay_bank_rate *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* Takes a token from a bucket holding units at last_ms: refilled up to now, capped at per_min
 * tokens. *units and *last_ms become the bucket after; true when a token was there. */
static bool take(int64_t *units, int64_t *last_ms, int64_t now, int per_min)
{
    int64_t full = (int64_t)per_min * UNITS;
    if (now > *last_ms) /* a test clock set back: no time passed */
        *units += (now - *last_ms >= MINUTE_MS ? MINUTE_MS : now - *last_ms) * per_min;
    if (*units > full)
        *units = full;
    if (now > *last_ms)
        *last_ms = now;
    if (*units < UNITS)
        return false;
    *units -= UNITS;
    return true;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static bool mem_allow(struct pay_bank_rate *r, const char *k, int per_min, int64_t now)
{
    struct rate_slot *s = &r->slots[fnv1a(k) % RATE_SLOTS];
    pthread_mutex_lock(&r->lock);
    if (strcmp(s->key, k) != 0) { /* new key (or a collision: the newer key takes the slot) */
        pay_str_copy(s->key, sizeof s->key, k);
        s->units = (int64_t)per_min * UNITS;
        s->last_ms = now;
    }
    bool ok = take(&s->units, &s->last_ms, now, per_min);
    pthread_mutex_unlock(&r->lock);
    return ok;
}

struct db_ctx {
    const char *key; /* the keyed hash */
    int per_min;
    int64_t now;
    bool ok;
};

static enum pay_err db_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct db_ctx *c = ctx;
    c->ok = false;
    /* a bucket untouched for a minute is full: forgetting it changes nothing */
    enum pay_err e = pay_store_exec(tx, err, "DELETE FROM bank_rates WHERE last_ms < $1", "i",
                                    c->now - MINUTE_MS);
    if (e == PAY_ERR_OK)
        e = pay_store_exec(tx, err,
                           "INSERT INTO bank_rates (key, units, last_ms) VALUES ($1, $2, $3)"
                           " ON CONFLICT (key) DO NOTHING",
                           "tii", c->key, (int64_t)c->per_min * UNITS, c->now);
    if (e != PAY_ERR_OK)
        return e;
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT units, last_ms FROM bank_rates WHERE key = $1 FOR UPDATE", "t", c->key);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    int64_t units = rc == 1 ? pay_store_col_int64(st, 0) : 0;
    int64_t last = rc == 1 ? pay_store_col_int64(st, 1) : c->now;
    pay_store_done(st);
    if (rc != 1)
        return rc < 0 ? err->code : pay_error_set(err, PAY_ERR_INTERNAL, "", "no bucket row");
    c->ok = take(&units, &last, c->now, c->per_min);
    return pay_store_exec(tx, err, "UPDATE bank_rates SET units = $1, last_ms = $2 WHERE key = $3",
                          "iit", units, last, c->key);
}

bool pay_bank_rate_allow(struct pay_bank *b, const char *kind, const char *key, int per_min)
{
    if (!b->rate || !key)
        return true;
    char k[72];
    snprintf(k, sizeof k, "%s:%s", kind, key);
    if (!b->rate->in_db)
        return mem_allow(b->rate, k, per_min, pay_clock_window_ms());
    int64_t now = pay_clock_is_fake() ? pay_clock_window_ms() : pay_clock_real_ms();
    char hashed[PAY_SHA256_HEX_LEN];
    pay_keyed_hash_hex(hashed, b->keys.index_key, k, strlen(k));
    struct db_ctx c = {hashed, per_min, now, false};
    struct pay_error err = {0};
    enum pay_err e = pay_committer_submit(b->committer, db_tx, &c, &err);
    if (e != PAY_ERR_OK) { /* the request's own work meets the same database and says so */
        PAY_WARN("bank.rate_unrecorded", "kind=%s code=%s", kind, pay_err_name(e));
        return true;
    }
    return c.ok;
}
