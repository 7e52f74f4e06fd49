/* In-memory nonce cache for the replay check of signed messages (sig.h).
 *
 * Two generations of an open-addressing set of 16-byte keyed digests of (keyId, nonce): new
 * nonces go to the current generation; when it is retain_s old (or full) it becomes the
 * previous one and the old previous one is dropped. So every nonce is remembered for at least
 * retain_s (= twice the window: a timestamp up to one window in the future stays acceptable
 * for two windows), memory stays bounded, and there is no per-entry bookkeeping. The digest
 * key is random per cache, so outsiders cannot aim nonces at one probe chain. */
#include "crypto/sig.h"
#include "core/assertions.h"
#include "core/limits.h"
#include "crypto/crypto.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define DIGEST_LEN 16

struct gen {
    uint8_t (*slots)[DIGEST_LEN]; /* all-zero = empty; digests are never all zero */
    size_t cap;                   /* power of two, or 0 before the first insert */
    size_t count;
};

struct mem_cache {
    struct pay_nonce_cache base; /* first, so the interface pointer converts back */
    pthread_mutex_t mu;
    uint8_t key[crypto_generichash_KEYBYTES];
    struct gen cur, prev;
    int64_t cur_start;
    int64_t retain_s;
    size_t gen_max; /* entries per generation: half of max_entries */
};

static size_t slot_of(const uint8_t d[DIGEST_LEN], size_t cap)
{
    uint64_t h;
    memcpy(&h, d, sizeof h);
    return (size_t)(h & (cap - 1));
}

static int gen_contains(const struct gen *g, const uint8_t d[DIGEST_LEN])
{
    if (g->cap == 0)
        return 0;
    for (size_t i = slot_of(d, g->cap);; i = (i + 1) & (g->cap - 1)) {
        if (memcmp(g->slots[i], d, DIGEST_LEN) == 0)
            return 1;
        if (sodium_is_zero(g->slots[i], DIGEST_LEN))
            return 0; /* load factor <= 1/2: an empty slot is always reached */
    }
}

static void gen_put(struct gen *g, const uint8_t d[DIGEST_LEN])
{
    size_t i = slot_of(d, g->cap);
    while (!sodium_is_zero(g->slots[i], DIGEST_LEN))
        i = (i + 1) & (g->cap - 1);
    memcpy(g->slots[i], d, DIGEST_LEN);
    g->count++;
}

/* Makes room for one more entry at load factor <= 1/2. 0, or -1 when out of memory. */
static int gen_reserve(struct gen *g)
{
    if ((g->count + 1) * 2 <= g->cap)
        return 0;
    size_t cap = g->cap ? g->cap * 2 : PAY_NONCE_CACHE_GEN_CAP_MIN;
    struct gen bigger = {calloc(cap, DIGEST_LEN), cap, 0};
    if (bigger.slots == NULL)
        return -1;
    for (size_t i = 0; i < g->cap; i++)
        if (!sodium_is_zero(g->slots[i], DIGEST_LEN))
            gen_put(&bigger, g->slots[i]);
    free(g->slots);
    *g = bigger;
    return 0;
}

static void gen_clear(struct gen *g)
{
    if (g->cap)
        memset(g->slots, 0, g->cap * DIGEST_LEN);
    g->count = 0;
}

/* The current generation becomes the previous one; the previous one is dropped (its memory
 * is reused for the new current generation). */
static void rotate(struct mem_cache *m, int64_t now)
{
    struct gen old = m->prev;
    m->prev = m->cur;
    m->cur = old;
    gen_clear(&m->cur);
    m->cur_start = now;
}

static enum pay_err mem_check_and_add(struct pay_nonce_cache *c, const char *key_id,
                                      const char *nonce, int64_t ts, int64_t now)
{
    (void)ts; /* retention is measured from arrival; see the file comment */
    struct mem_cache *m = (struct mem_cache *)c;
    uint8_t d[DIGEST_LEN];
    crypto_generichash_state st;
    crypto_generichash_init(&st, m->key, sizeof m->key, DIGEST_LEN);
    crypto_generichash_update(&st, (const uint8_t *)key_id, strlen(key_id) + 1); /* with NUL */
    crypto_generichash_update(&st, (const uint8_t *)nonce, strlen(nonce));
    crypto_generichash_final(&st, d, DIGEST_LEN);
    d[0] |= 1; /* never all zero, which marks an empty slot */

    enum pay_err rc = PAY_ERR_OK;
    pthread_mutex_lock(&m->mu);
    if (now - m->cur_start >= 2 * m->retain_s) {
        rotate(m, now);
        rotate(m, now);
    } else if (now - m->cur_start >= m->retain_s) {
        rotate(m, now);
    }
    if (gen_contains(&m->cur, d) || gen_contains(&m->prev, d)) {
        rc = PAY_ERR_NONCE_REPLAYED;
    } else {
        if (m->cur.count >= m->gen_max)
            rotate(m, now); /* full: evict the oldest generation */
        if (gen_reserve(&m->cur) == 0)
            gen_put(&m->cur, d);
        else
            rc = PAY_ERR_INTERNAL; /* fail closed: an unrecorded nonce could be replayed */
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static void mem_destroy(struct pay_nonce_cache *c)
{
    struct mem_cache *m = (struct mem_cache *)c;
    pthread_mutex_destroy(&m->mu);
    free(m->cur.slots);
    free(m->prev.slots);
    pay_wipe(m->key, sizeof m->key);
    free(m);
}

struct pay_nonce_cache *pay_nonce_cache_mem_new(size_t max_entries, int64_t window_s)
{
    PAY_ASSERT(max_entries >= 2 && window_s > 0);
    struct mem_cache *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m);
        return NULL;
    }
    m->base.check_and_add = mem_check_and_add;
    m->base.destroy = mem_destroy;
    pay_random_bytes(m->key, sizeof m->key);
    m->retain_s = 2 * window_s;
    m->gen_max = max_entries / 2;
    m->cur_start = INT64_MIN / 4; /* the first call starts a fresh generation */
    return &m->base;
}

void pay_nonce_cache_free(struct pay_nonce_cache *c)
{
    if (c != NULL)
        c->destroy(c);
}
