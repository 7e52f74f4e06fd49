/* Time-sortable random ids (ULID layout) with a monotonic per-process sequence. */
#include "crypto/ids.h"

#include "core/assertions.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"

#include <pthread.h>
#include <string.h>

__extension__ typedef unsigned __int128 u128;

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; /* Crockford: no I L O U */

/* The last id made by this process: its time and its 80 random bits (hi 16, lo 64). */
static struct {
    pthread_mutex_t lock;
    int64_t ms;
    uint16_t hi;
    uint64_t lo;
} last = {PTHREAD_MUTEX_INITIALIZER, -1, 0, 0};

/* Picks (ms, hi, lo) greater than the previous id's under last.lock: a later millisecond takes
 * fresh random bits; the same (or an earlier, if the clock stepped back) one adds a random
 * step of 1..2^32 to the previous 80 bits, carrying into the time if they wrap. */
static void next_value(int64_t *ms, uint16_t *hi, uint64_t *lo)
{
    unsigned char rnd[10];
    pay_random_bytes(rnd, sizeof rnd);
    int64_t now = pay_clock_real_ms();
    if (now < 0)
        now = 0;
    if (now > PAY_ID_TIME_MAX_MS)
        now = PAY_ID_TIME_MAX_MS;
    pthread_mutex_lock(&last.lock);
    if (now > last.ms) {
        last.ms = now;
        last.hi = (uint16_t)(rnd[0] << 8 | rnd[1]);
        memcpy(&last.lo, rnd + 2, 8);
    } else {
        uint32_t step32;
        memcpy(&step32, rnd, 4);
        uint64_t step = (uint64_t)step32 + 1;
        if (__builtin_add_overflow(last.lo, step, &last.lo) && ++last.hi == 0)
            last.ms++; /* 80 bits wrapped: borrow the next millisecond */
    }
    *ms = last.ms;
    *hi = last.hi;
    *lo = last.lo;
    pthread_mutex_unlock(&last.lock);
}

static bool prefix_ok(const char *prefix)
{
    size_t n = 0;
    while (n <= PAY_ID_PREFIX_MAX && prefix[n] >= 'a' && prefix[n] <= 'z')
        n++;
    return n >= 1 && n <= PAY_ID_PREFIX_MAX && prefix[n] == '\0';
}

enum pay_err pay_id_new(const char *prefix, char out[PAY_ID_MAX])
{
    PAY_ASSERT(prefix != NULL && prefix_ok(prefix));
    out[0] = '\0';
    int64_t ms;
    uint16_t hi;
    uint64_t lo;
    next_value(&ms, &hi, &lo);
    size_t plen = strlen(prefix);
    memcpy(out, prefix, plen);
    out[plen] = '_';
    char *body = out + plen + 1;
    /* 128 bits = 48 time + 80 random, written as 26 base32 digits (the first holds 3 bits). */
    u128 v = (u128)ms << 80 | (u128)hi << 64 | lo;
    for (int i = PAY_ID_BODY_LEN - 1; i >= 0; i--) {
        body[i] = alphabet[v & 31];
        v >>= 5;
    }
    body[PAY_ID_BODY_LEN] = '\0';
    PAY_ASSERT(plen + 1 + PAY_ID_BODY_LEN < PAY_ID_MAX);
    return PAY_ERR_OK;
}

static int digit_value(char c)
{
    const char *p = c != '\0' ? strchr(alphabet, c) : NULL;
    return p != NULL ? (int)(p - alphabet) : -1;
}

bool pay_id_valid(const char *id, const char *prefix)
{
    if (id == NULL)
        return false;
    const char *sep = memchr(id, '_', strnlen(id, PAY_ID_MAX));
    if (sep == NULL)
        return false;
    size_t plen = (size_t)(sep - id);
    if (plen < 1 || plen > PAY_ID_PREFIX_MAX)
        return false;
    for (size_t i = 0; i < plen; i++)
        if (id[i] < 'a' || id[i] > 'z')
            return false;
    if (prefix != NULL && (strlen(prefix) != plen || memcmp(id, prefix, plen) != 0))
        return false;
    const char *body = sep + 1;
    for (int i = 0; i < PAY_ID_BODY_LEN; i++)
        if (digit_value(body[i]) < 0)
            return false;
    /* 26 digits hold 130 bits; the top one may use only 3 (value <= 7) to stay in 128. */
    return body[PAY_ID_BODY_LEN] == '\0' && digit_value(body[0]) <= 7;
}

int64_t pay_id_time_ms(const char *id)
{
    if (!pay_id_valid(id, NULL))
        return -1;
    const char *body = strchr(id, '_') + 1;
    int64_t ms = 0; /* the first 10 digits are bits 80..129: the 48-bit time, 2 zero bits */
    for (int i = 0; i < 10; i++)
        ms = ms * 32 + digit_value(body[i]);
    return ms;
}
