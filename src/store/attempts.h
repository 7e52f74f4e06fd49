/* Attempt guards: lockouts of secrets (passwords, SMS and TOTP codes, CVV2) that hold under
 * parallel attempts. An attempt is counted (reserved) in a write transaction BEFORE its secret
 * is checked, so N parallel tries count N and nothing past the limit is ever checked; the
 * check itself may then run outside any transaction (Argon2id takes ~0.1 s).
 *
 * The counters of a subject ("login:<consumer id>", "card:<card id>", ...) live in one row of
 * a table the component creates in its own migration, with exactly these columns:
 *
 *   CREATE TABLE <name> (subject TEXT PRIMARY KEY, seq INTEGER NOT NULL DEFAULT 0,
 *     forgiven_seq INTEGER NOT NULL DEFAULT 0, lock_seq INTEGER NOT NULL DEFAULT 0,
 *     locked_until_ms INTEGER NOT NULL DEFAULT 0)
 *
 * The rule (PAY_LOCKOUT_ATTEMPTS tries, then PAY_LOCKOUT_DURATION_S locked, limits.h):
 * - Every reservation gets the next number (seq). The outstanding attempts are those numbered
 *   after forgiven_seq; a reservation that brings them to the limit sets the lock at once
 *   (lock_seq = its number), so no later reservation is taken until the lock expires.
 * - A wrong secret needs no second write: its reservation is the failure. A crash between
 *   reservation and check also counts as a failure.
 * - A right secret forgives its own reservation and every one numbered before it
 *   (forgiven_seq = max(forgiven_seq, its seq)). Reservations numbered after it stay counted:
 *   a success racing with failures never frees what the failures after it took.
 * - A success lifts the lock only when its own reservation set it (lock_seq = its seq): then
 *   no reservation came after it, so lifting lets nobody in who was refused. A lock set by a
 *   later reservation holds until it expires, success or not.
 * - When a lock has expired the next reservation starts afresh (everything forgiven).
 * So between two successes at most PAY_LOCKOUT_ATTEMPTS secrets are checked, and a secret
 * sent after the limit is refused unchecked, right or wrong. */
#ifndef PAY_STORE_ATTEMPTS_H
#define PAY_STORE_ATTEMPTS_H

#include "store/store.h"

#include <stdint.h>

/* One reserved attempt. */
struct pay_store_attempt {
    int64_t seq;             /* its number, for pay_store_attempt_succeeded */
    int64_t left;            /* tries left if this one fails; 0: it was the last (now locked) */
    int64_t locked_until_ms; /* the lock's end when refused (LOCKED), or set by this one */
};

/* Reserves an attempt on subject inside the write transaction tx at now_ms. PAY_ERR_OK: check
 * the secret now (*out says how many tries remain); PAY_ERR_LOCKED: refused, nothing counted,
 * do not check the secret (out->locked_until_ms says until when); or a database error. table
 * is a constant name of a table shaped as above. */
enum pay_err pay_store_attempt_reserve(struct pay_store_tx *tx, const char *table,
                                       const char *subject, int64_t now_ms,
                                       struct pay_store_attempt *out, struct pay_error *err);

/* The secret of reservation a was right: forgives it and the earlier ones (see the rule). */
enum pay_err pay_store_attempt_succeeded(struct pay_store_tx *tx, const char *table,
                                         const char *subject, const struct pay_store_attempt *a,
                                         struct pay_error *err);

/* The state of subject at now_ms without counting anything: *locked_until_ms (0 when not
 * locked) and *left (tries before the lock). Any transaction. */
enum pay_err pay_store_attempt_state(struct pay_store_tx *tx, const char *table,
                                     const char *subject, int64_t now_ms, int64_t *locked_until_ms,
                                     int64_t *left, struct pay_error *err);

/* Locks subject until until_ms whatever its count (an administrator's lock, the sandbox's
 * locked demo card); no success lifts it. Write transaction. */
enum pay_err pay_store_attempt_lock(struct pay_store_tx *tx, const char *table, const char *subject,
                                    int64_t until_ms, struct pay_error *err);

#endif
