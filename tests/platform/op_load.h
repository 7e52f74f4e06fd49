/* Merchant clients under load on two platform nodes on one PostgreSQL database, for the tests
 * that take something away under it (test_platform_nodes_kill: a node; test_platform_failover:
 * the primary). Each client has its own consumer (credited 100.00, an agreement with m_a) and
 * runs OP_LOAD_OPS signed operations, alternately an agreement payment of 5.00 and a refund of
 * 1.00 of it, each with its own Idempotency-Key, sent to the nodes in turn and retried with the
 * same key and body, as the test's verdict says, until a final answer. Afterwards: every
 * acknowledged operation in the database exactly once as answered, nothing else, every wallet
 * exact to the cent, the ledger clean; and the sweeper running on whichever node holds its seat.
 */
#ifndef PAY_TESTS_PLATFORM_OP_LOAD_H
#define PAY_TESTS_PLATFORM_OP_LOAD_H

#include "harness.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define OP_LOAD_CLIENTS_MAX 8
#define OP_LOAD_OPS         16 /* per client: OP_LOAD_OPS / 2 payments, as many refunds */
#define OP_LOAD_PASSWORD    "correct horse"
#define OP_LOAD_PAY_PW      "246810"
#define OP_LOAD_SWEEP_OTN   "sweep-1" /* the sweeper check's trade: not part of the load */

/* What a client did, for the checks afterwards. */
struct op {
    bool is_refund;
    char key[48];   /* Idempotency-Key, also out_trade_no / out_refund_no */
    char trade[64]; /* the payment's trade id (of a refund: the trade refunded) */
    char refund_id[64];
    long status; /* the final answer: 201 for a signed 201 */
    int tries;
    int64_t acked_ms, last_try_ms; /* monotonic */
};

/* What a client does with an answer (answered false: the connection failed). */
enum op_verdict {
    OP_FINAL,         /* the operation's answer: a signed 201 is its acknowledgement */
    OP_RETRY_PAUSED,  /* the same request on the other node after pause_us */
    OP_RETRY_AT_ONCE, /* the same request on the other node at once */
};

struct op_load;
struct op_client {
    struct op_load *l;
    int c;
    pthread_t thread;
};

struct op_load {
    /* set by the test (before op_load_start) */
    int clients;            /* at most OP_LOAD_CLIENTS_MAX */
    int tries_max;          /* answers a client takes before it gives up; 0: no limit */
    int64_t deadline_ms;    /* time an operation may take to its final answer; 0: no limit */
    unsigned pause_us;      /* between OP_RETRY_PAUSED tries */
    const char *notify_url; /* each payment's, or NULL */
    /* each client's second half of operations waits for op_load_release: some then always come
     * after what the test does meanwhile, however fast the first half ran */
    bool hold_second_half;
    enum op_verdict (*verdict)(bool answered, const struct h_reply *r);
    /* set by op_load_setup */
    struct h_platform node[2]; /* one data folder and one database, two processes */
    struct h_merchant ma;
    char agreement[OP_LOAD_CLIENTS_MAX][64];
    /* what the clients did */
    struct op ops[OP_LOAD_CLIENTS_MAX][OP_LOAD_OPS];
    struct op_client client[OP_LOAD_CLIENTS_MAX];
    pthread_mutex_t mu;
    pthread_cond_t acked_cv;
    int acked, finished; /* operations acknowledged; clients done */
    bool released;       /* op_load_release was called */
};

int64_t op_load_now_ms(void); /* the monotonic clock */

/* The data dir (extra_ini appended to its config), a consumer per client with 100.00 in the
 * wallet, both nodes started, each consumer's agreement with m_a signed on node 0 (the wallet,
 * as its browser would). l->clients must be set. */
void op_load_setup(struct op_load *l, const char *extra_ini);

/* srand with PAYGATE_KILL_SEED, or with a fresh seed; returns it (the test prints it: with
 * PAYGATE_KILL_SEED it repeats the run). */
unsigned op_load_seed(void);

/* Starts the clients; waits until at least `at` operations were acknowledged (or every client
 * has finished) and returns how many were then. */
void op_load_start(struct op_load *l);
int op_load_wait_acked(struct op_load *l, int at);
/* Lets the clients' second halves go (hold_second_half). */
void op_load_release(struct op_load *l);
/* Waits for the clients; asserts every operation got a signed 201; returns how many were
 * retried (more than one try). */
int op_load_join(struct op_load *l);

/* The sweeper runs on whichever of the nodes up[] holds its seat: a trade of 1 s made on the
 * first is closed as expired once the clocks (moved on every node up: the seat holder sweeps
 * on its own clock) pass the timeout, within rounds_max sweeper rounds. The nodes run on the
 * test clock with timeout_min = 1s. */
void op_load_sweeper_runs(struct op_load *l, const bool up[2], int rounds_max);

/* How often the nodes logged taking a seat (store.seat_taken in their shared platform.log): of
 * the sweeper's, the only seat of a platform without [chain]. */
size_t op_load_seats_taken(const struct op_load *l);

/* With the nodes stopped, on db's database (pf->db; a PostgreSQL primary, not in recovery):
 * every acknowledged payment there once as answered (its trade paid, one ledger transfer) and
 * every acknowledged refund, nothing else of m_a's (but the sweeper check's trade); every
 * wallet at its credit minus its payments plus its refunds, the merchant and the fees the
 * rest; and `ledger verify` clean. */
void op_load_check_db(struct op_load *l, struct h_platform *db);

/* Stops what is still running and removes the data dir. */
void op_load_teardown(struct op_load *l);

#endif
