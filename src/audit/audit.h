/* The audit trail (PCI DSS 10; docs/audit.md is the contract): an append-only log in each
 * server's own store of every operator and admin action, configuration change, login and
 * money-moving request. Each entry carries the SHA-256 of the one before it over a canonical,
 * domain-separated encoding, and every PAY_AUDIT_CHECKPOINT_EVERY entries (and at each
 * start) a checkpoint of the chain's head is signed with the server's key. An entry is written
 * by pay_audit_append inside the transaction of what it records, so both commit or neither.
 * `paygate audit verify` names every edited, removed or reordered entry.
 *
 * Threads: as the store; the caller's transaction serialises appends. */
#ifndef PAY_AUDIT_AUDIT_H
#define PAY_AUDIT_AUDIT_H

#include "core/errors.h"
#include "core/limits.h"
#include "crypto/crypto.h"
#include "crypto/sig.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The schema (component "audit"): tables audit_log and audit_checkpoints, with triggers that
 * refuse UPDATE and DELETE. Pass it to pay_store_open beside the server's own. */
extern const struct pay_store_component pay_audit_schema;

/* Outcomes other than an error code's name. */
#define PAY_AUDIT_OK "ok"

/* What one entry says. Every text is UTF-8 without NUL, bounded by PAY_AUDIT_TEXT_MAX (detail
 * by PAY_AUDIT_DETAIL_MAX); NULL is stored as "" (outcome NULL as "ok"). Never a secret,
 * card number or code: what is written here is kept for years and shown to operators. */
struct pay_audit_entry {
    const char *actor;   /* who: "operator", "admin", "consumer:c_..", "merchant:m_..", "system" */
    const char *action;  /* what: [a-z0-9_.]{1,48}, "login", "merchant.add", "trade.pay" */
    const char *target;  /* on what: an id, a login, "" */
    const char *outcome; /* "ok" or the refusal's error code name ("CREDENTIALS_INVALID") */
    const char *source;  /* from where: the client's IP, "cli", "worker", "" */
    const char *detail;  /* a short note people read: "amount=12.30 CNY method=wallet" */
    bool checkpoint;     /* sign a checkpoint at this entry whatever its number */
};

/* The server's key that signs checkpoints (borrowed; alg ED25519 or RSA_SHA256). */
typedef struct pay_sig_signer pay_audit_signer;

/* Appends e inside tx (a write transaction or a committer command's savepoint), chained to
 * the last entry of the log and stamped with business time (pay_clock_now_ms); signs a
 * checkpoint with signer in the same transaction when the entry's number is a multiple of
 * PAY_AUDIT_CHECKPOINT_EVERY or e->checkpoint is set. seq_out (may be NULL) gets the entry's
 * number. FIELD_INVALID (field "audit.<name>") for a text out of bounds or an action outside
 * its alphabet (a bug of the caller: nothing is written); DB errors as the store's. */
enum pay_err pay_audit_append(struct pay_store_tx *tx, const pay_audit_signer *signer,
                              const struct pay_audit_entry *e, int64_t *seq_out,
                              struct pay_error *err);

/* Appends e in a write transaction of its own (an event that changes nothing else: a refused
 * login of the operator console). */
enum pay_err pay_audit_record(struct pay_store *s, const pay_audit_signer *signer,
                              const struct pay_audit_entry *e, struct pay_error *err);

/* A server's start, inside tx: the entry "server.start" by "system" (source "local", target
 * server), or "config.change" when config_sha256 (what the server runs with, hashed) differs
 * from the one the previous start recorded; detail "config=<hex>[ was=<previous>]"; with a
 * checkpoint. */
enum pay_err pay_audit_start_tx(struct pay_store_tx *tx, const pay_audit_signer *signer,
                                const char *server, const char *config_sha256,
                                struct pay_error *err);

/* --- reading (the consoles) -------------------------------------------------------------- */

/* Which entries to list; every field is optional ("" or 0 = any). */
struct pay_audit_filter {
    char actor[PAY_AUDIT_TEXT_MAX + 1];  /* prefix: "consumer:" or "consumer:c_12" */
    char action[PAY_AUDIT_TEXT_MAX + 1]; /* prefix: "trade." or "login" */
    char target[PAY_AUDIT_TEXT_MAX + 1]; /* exact */
    char outcome[32];                    /* "ok", "refused" (anything but ok), or a code */
    int64_t from_ms, to_ms;              /* at_ms in [from_ms, to_ms) */
    int64_t before_seq;                  /* entries with seq < before_seq (paging) */
    int limit;                           /* 1..PAY_AUDIT_PAGE_MAX; 0 = PAY_AUDIT_PAGE_MAX */
};

/* The newest matching entries, newest first, as a JSON array of {seq, at_ms, actor, action,
 * target, outcome, source, detail, hash (hex)} (new reference in *out), and the total number
 * of entries in the log in *total (may be NULL). Runs inside tx (a read transaction). */
enum pay_err pay_audit_list(struct pay_store_tx *tx, const struct pay_audit_filter *f, json_t **out,
                            int64_t *total, struct pay_error *err);
/* The same in a read transaction of its own on store s. */
enum pay_err pay_audit_read(struct pay_store *s, const struct pay_audit_filter *f, json_t **out,
                            int64_t *total, struct pay_error *err);

/* --- verification ---------------------------------------------------------------------------- */

/* Checks the whole log of store s: numbers 1..n without gaps, each entry's hash over its
 * contents, each entry chained to the one before it, every checkpoint signed by key (the
 * server's public key; borrowed) and matching the entry it names, and no checkpoint naming
 * an entry past the end. Writes one line per problem to out naming the entry ("entry 7:
 * edited ...", "entry 12: missing (removed) ...", "entry 9: out of order: it is entry 10
 * ...") and a summary; *problems gets their number. Returns OK when the log could be read
 * (whatever it holds), a DB error otherwise. */
enum pay_err pay_audit_verify(struct pay_store *s, const struct pay_sig_pubkey *key, FILE *out,
                              size_t *problems, struct pay_error *err);

/* The canonical bytes of an entry's hash and of a checkpoint's signature (docs/audit.md;
 * exposed for the tests' vectors). hash_out gets SHA-256 of the entry. */
void pay_audit_entry_hash(const uint8_t prev[PAY_SHA256_LEN], int64_t at_ms,
                          const struct pay_audit_entry *e, uint8_t hash_out[PAY_SHA256_LEN]);
/* Writes the checkpoint message into buf (size >= PAY_AUDIT_CHECKPOINT_MSG_MAX); returns its
 * length. */
size_t pay_audit_checkpoint_message(int64_t seq, const uint8_t hash[PAY_SHA256_LEN], int64_t at_ms,
                                    const char *key_id, uint8_t *buf, size_t size);

/* `paygate audit` (cmd_audit.c, linked into the paygate binary, src/cli): verify an audit log.
 * Takes the arguments after the command's name (argv[0] is it), handles --help, returns the
 * exit status. */
int pay_cmd_audit(int argc, char **argv);

#endif
