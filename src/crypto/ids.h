/* Object ids: "tr_01JDQ4V7X3K9M2N8P5R6S7T8VW" = a short type prefix, '_', and 26 characters of
 * Crockford base32 holding a 48-bit Unix time in milliseconds and 80 random bits (ULID layout).
 *
 * Sorting ids as strings sorts them by creation time; within one process the order is exact
 * even inside one millisecond (the random part then grows by a random step). The random bits
 * come from the operating system's CSPRNG (pay_random_bytes, crypto.h), so ids cannot be
 * enumerated. They are not secrets, though: anyone
 * who holds an id is still checked for the right to see the object. */
#ifndef PAY_CRYPTO_IDS_H
#define PAY_CRYPTO_IDS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/errors.h"
#include "core/limits.h"

/* Characters after the '_'. */
#define PAY_ID_BODY_LEN 26

/* Writes a new id with the given prefix into out (NUL-terminated). Thread-safe.
 * prefix must be 1-4 lower-case letters (a programming error otherwise: asserted).
 * Returns PAY_ERR_OK. */
enum pay_err pay_id_new(const char *prefix, char out[PAY_ID_MAX])
    __attribute__((warn_unused_result));

/* True if id is exactly an id of ours: prefix (or any valid prefix when prefix is NULL), '_',
 * 26 upper-case Crockford base32 characters whose value fits in 128 bits. For input from
 * outside: never reads past the first PAY_ID_MAX bytes. */
bool pay_id_valid(const char *id, const char *prefix);

/* The creation time (Unix ms) of a valid id, or -1 if id is not valid. */
int64_t pay_id_time_ms(const char *id);

#endif
