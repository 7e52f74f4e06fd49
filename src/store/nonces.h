/* Replay nonces of signed requests (crypto/sig.h) kept in the database, so that every process
 * on one database refuses a nonce that any of them has accepted: the nonce cache of several
 * nodes per role (docs/store.md, "Several nodes on one database"). A server uses it when its
 * database is PostgreSQL; on SQLite (one process per file) the in-memory cache does the same
 * work without a write per request.
 *
 * The nonces live in a table the component creates in its own migration, with exactly these
 * columns (the index keeps the purge of expired rows cheap):
 *
 *   CREATE TABLE <name> (key_id TEXT NOT NULL, nonce TEXT NOT NULL,
 *     expires_s BIGINT NOT NULL, PRIMARY KEY (key_id, nonce));
 *   CREATE INDEX <name>_expires ON <name> (expires_s);
 *
 * A nonce is kept until its message's timestamp is out of the window (ts + window_s), after
 * which the message is refused as stale anyway, and one window more (another node's clock may
 * be ahead of this one's). Each check is one write: the nonce inserted unless a live row holds
 * it (an expired row of the same nonce is taken over: the nonce is fresh again), through the
 * server's write path (its committer, so that checks share the commits of other writes) or a
 * transaction of its own; the expired rows are purged by at most one check per
 * PAY_STORE_NONCES_PURGE_S (core/limits.h) of each cache. */
#ifndef PAY_STORE_NONCES_H
#define PAY_STORE_NONCES_H

#include "crypto/sig.h"
#include "store/store.h"

/* Runs fn as (part of) a durable write transaction, with pay_store_run_tx's contract: e.g. a
 * committer command (ledger/ledger.h, pay_committer_submit). */
typedef enum pay_err (*pay_store_write_fn)(void *owner, pay_store_tx_fn fn, void *ctx,
                                           struct pay_error *err);

/* A nonce cache on store s in table (a constant name shaped as above) for signatures valid
 * window_s seconds around their ts; its writes go through write(owner, ...), or, when write is
 * NULL, a pay_store_run_tx of their own. Free with pay_nonce_cache_free (the store and the
 * owner stay the caller's and must outlive it). NULL when out of memory or table is not a
 * plain name. check_and_add answers PAY_ERR_OK (new), PAY_ERR_NONCE_REPLAYED, or the store's
 * error (DB_BUSY after its retries, a storage failure): a nonce that could not be recorded is
 * never accepted. Never call it from inside a write of the same path (a committer command). */
struct pay_nonce_cache *pay_store_nonces_new(struct pay_store *s, const char *table,
                                             int64_t window_s, pay_store_write_fn write,
                                             void *owner);

#endif
