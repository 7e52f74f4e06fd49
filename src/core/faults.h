/* Fault injection for tests (issue 11: "disk full, I/O error"): a plan of which storage I/O
 * calls fail, and how, after SQLite's own test suite (fail the Nth I/O call). The plan is
 * process-wide, like a failing disk. The layer that performs the I/O asks pay_fault_hit()
 * before each call: today the store's SQLite VFS shim (store/faults.h), which a process
 * installs only for tests. Nothing in this file fails anything by itself.
 *
 * Servers: the plan is armed over HTTP (POST /sandbox/faults, docs/store.md) only on a server
 * started with the test clock (fake_clock, loopback only), the one whose store went through
 * the shim.
 *
 * Threads: every function may be called from any thread. */
#ifndef PAY_CORE_FAULTS_H
#define PAY_CORE_FAULTS_H

#include "core/errors.h"

#include <stdbool.h>
#include <stdint.h>

/* The I/O calls a plan can fail (bits of pay_fault_plan.ops). */
enum pay_fault_op {
    PAY_FAULT_READ = 1u << 0,
    PAY_FAULT_WRITE = 1u << 1,
    PAY_FAULT_SYNC = 1u << 2, /* fsync: the call that makes a commit durable */
    PAY_FAULT_TRUNCATE = 1u << 3,
};
#define PAY_FAULT_OPS_ALL  0xfu
#define PAY_FAULT_OP_KINDS 4 /* the bits above, for per-operation counters */

/* What a failed call reports. */
enum pay_fault_error {
    PAY_FAULT_NONE = 0,
    PAY_FAULT_IO,   /* an I/O error (EIO): SQLITE_IOERR_WRITE / _FSYNC / _TRUNCATE / _READ */
    PAY_FAULT_FULL, /* no space left (ENOSPC): SQLITE_FULL; a read fails as an I/O error */
};

/* Which calls fail: of the calls in `ops`, counted from the moment the plan is armed,
 *   nth > 0:     the nth one (1 = the very next), and with `sticky` every one after it too,
 *                until the plan is cleared (a disk that stays full until space is freed);
 *   one_in > 0:  each one with probability 1/one_in, drawn from a generator seeded with
 *                `seed` (the same seed and the same calls fail the same way).
 * Exactly one of nth and one_in is set. */
struct pay_fault_plan {
    unsigned ops;
    enum pay_fault_error error;
    uint64_t nth;
    bool sticky;
    uint32_t one_in;
    uint64_t seed;
};

/* What the plan has done since it was armed. */
struct pay_fault_state {
    bool armed;
    struct pay_fault_plan plan;         /* zeroes when not armed */
    uint64_t calls[PAY_FAULT_OP_KINDS]; /* matching or not, per op: read write sync trunc */
    uint64_t counted;                   /* calls in plan.ops */
    uint64_t injected;                  /* calls failed */
};

/* Arms plan (replacing any other), counters from zero. FIELD_INVALID naming the field when the
 * plan is not one of the shapes above ("ops", "error", "nth", "one_in"). */
enum pay_err pay_fault_arm(const struct pay_fault_plan *plan, struct pay_error *err);

/* Disarms: every call succeeds again (the disk has space again). Counters stay readable. */
void pay_fault_clear(void);

/* Asked by the I/O layer before one call of kind op: PAY_FAULT_NONE to perform it, else the
 * error to report instead (the call is then not performed). */
enum pay_fault_error pay_fault_hit(enum pay_fault_op op);

void pay_fault_get(struct pay_fault_state *out);

/* The names used in the sandbox's JSON: "read", "write", "sync", "truncate"; "io", "full".
 * pay_fault_op_parse returns the bit, 0 when unknown; pay_fault_error_parse NONE when
 * unknown. */
const char *pay_fault_op_name(enum pay_fault_op op);
unsigned pay_fault_op_parse(const char *name);
const char *pay_fault_error_name(enum pay_fault_error e);
enum pay_fault_error pay_fault_error_parse(const char *name);

/* Whether an I/O layer that asks pay_fault_hit is installed in this process (the store's VFS
 * shim says so when it registers): the sandbox offers faults only then. */
void pay_fault_layer_installed(void);
bool pay_fault_layer_present(void);

#endif
