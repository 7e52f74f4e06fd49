/* The platform on a highly available PostgreSQL cluster (docs/deploy.md, "High availability";
 * tests/lib/ha_cluster.sh starts it with scripts/cluster: three nodes under Patroni, synchronous
 * replication, HAProxy in front of the primary), its primary lost under load. Two platform
 * nodes on HAProxy's address; CLIENTS merchant clients each run 16 signed operations,
 * alternately an agreement payment of 5.00 and a refund of 1.00 of it, each with its own
 * Idempotency-Key, sent to the nodes in turn and retried with the same key and body until a
 * final answer, as a merchant does. Once a random number of operations were acknowledged, the
 * primary's Patroni and postmaster are killed with SIGKILL (its machine lost); the test waits
 * for the event — Patroni's new leader, reached through HAProxy — and reports the seconds.
 * Checks: every answer during the failover is a 503 with a storage code and Retry-After (a
 * retryable error, never a wrong answer: every final answer is a signed 201); the platform nodes
 * recover on their own (no restart) and finish every operation; afterwards every acknowledged
 * payment and refund is in the database exactly once, nothing else is, every wallet is exact to
 * the cent, and `ledger verify` is clean on the new primary, reached directly; and the sweeper
 * runs again (expires a trade on the test clock): its seat, a session lock on the lost primary,
 * is taken again on the new one. The load and those checks: op_load.h. The pg suite only.
 * argv: the paygate binary. */
#include "harness.h"
#include "lib/harness.h"
#include "op_load.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENTS     6
#define OP_DEADLINE 120000 /* ms an operation may take to get its final answer (a failover) */
#define FAILOVER_S  "90"   /* the most scripts/cluster wait-leader waits for the new primary */
#define ROUNDS_MAX  50     /* sweeper rounds the nodes get to take the seat again */
#define OPS_ALL     (CLIENTS * OP_LOAD_OPS)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* the answers that were not final, by kind: the failover's error answers */
static int retryable_503, no_answer, in_progress, wrong;
static char wrong_answer[512];

/* Sorts one answer: final, or counted as the failover's and tried again after a pause. A final
 * answer other than a signed 201 is a wrong one; a non-final one must be a retryable 503. */
static enum op_verdict verdict(bool answered, const struct h_reply *r)
{
    pthread_mutex_lock(&mu);
    enum op_verdict v = OP_RETRY_PAUSED;
    if (!answered)
        no_answer++;
    else if (r->status == 409 && strcmp(h_err_code(r), "IDEMPOTENCY_IN_PROGRESS") == 0)
        in_progress++;
    else if (r->status == 503 && r->retry_after[0] && strncmp(h_err_code(r), "DB_", 3) == 0)
        retryable_503++;
    else {
        v = OP_FINAL;
        if (r->status != 201 || !r->sig_ok) {
            wrong++;
            snprintf(wrong_answer, sizeof wrong_answer, "%ld %s", r->status, r->body);
        }
    }
    pthread_mutex_unlock(&mu);
    return v;
}

/* a pause of 100 ms between retries: the client's pace, as Retry-After asks; the second half of
 * each client's operations starts once scripts/cluster has killed the primary, so that some
 * always go through the new primary (under load the kill itself can take longer than all the
 * operations) */
static struct op_load load = {.clients = CLIENTS,
                              .deadline_ms = OP_DEADLINE,
                              .pause_us = 100000,
                              .verdict = verdict,
                              .hold_second_half = true};
static struct h_platform *const node = load.node;

/* Runs `scripts/cluster CMD --dir DIR ARGS` and reads its first line into out. 0 or -1. */
static int cluster(const char *cmd, const char *args, char *out, size_t n)
{
    char line[1024];
    snprintf(line, sizeof line, "'%s' %s --dir '%s' %s", getenv("PAYGATE_CLUSTER"), cmd,
             getenv("PAYGATE_CLUSTER_DIR"), args);
    FILE *p = popen(line, "r");
    if (!p)
        return -1;
    out[0] = '\0';
    if (!fgets(out, (int)n, p))
        out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    return pclose(p) == 0 && out[0] ? 0 : -1;
}

static int group_setup(void **state)
{
    (void)state;
    assert_non_null(getenv("PAYGATE_CLUSTER"));
    assert_non_null(getenv("PAYGATE_CLUSTER_DIR"));
    /* on the test clock (each node's), for the sweeper check */
    op_load_setup(&load, "timeout_min = 1s\n[server]\nfake_clock = true");
    return 0;
}

static char new_primary[16];
static size_t seats_taken_at_kill; /* before the failover: the seat on the old primary */

/* The load; the primary killed at a random acknowledged count, below the OPS_ALL / 2 operations
 * of the clients' first halves (their second halves start once it is killed); the new one
 * waited for. */
static void primary_lost_under_load(void **state)
{
    (void)state;
    unsigned seed = op_load_seed();
    int at = OPS_ALL / 8 + rand() % (OPS_ALL / 2 - OPS_ALL / 8);
    printf("seed %u: the primary is killed after %d acknowledged operations\n", seed, at);
    op_load_start(&load);
    int acked_at_kill = op_load_wait_acked(&load, at);
    seats_taken_at_kill = op_load_seats_taken(&load);
    char killed[16], line[64];
    int killed_rc = cluster("kill-primary", "", killed, sizeof killed);
    int64_t kill_ms = op_load_now_ms(); /* the script has sent its SIGKILLs */
    op_load_release(&load); /* even when the kill failed: the clients finish, the test fails */
    assert_int_equal(killed_rc, 0);
    char args[64];
    snprintf(args, sizeof args, "--timeout %s --not %s", FAILOVER_S, killed);
    assert_int_equal(cluster("wait-leader", args, line, sizeof line), 0);
    int64_t elected_ms = op_load_now_ms();
    sscanf(line, "%15s", new_primary);
    assert_string_not_equal(new_primary, killed);
    int retried = op_load_join(&load);
    /* service resumed: the first acknowledgement of a try sent after the kill */
    int64_t resumed_ms = -1;
    for (int c = 0; c < CLIENTS; c++)
        for (int i = 0; i < OP_LOAD_OPS; i++) {
            const struct op *o = &load.ops[c][i];
            if (o->last_try_ms > kill_ms && (resumed_ms < 0 || o->acked_ms < resumed_ms))
                resumed_ms = o->acked_ms;
        }
    printf("killed %s at %d acknowledged; %s primary after %.1f s; first payment acknowledged"
           " through it %.1f s after the kill\n",
           killed, acked_at_kill, new_primary, (double)(elected_ms - kill_ms) / 1000,
           (double)(resumed_ms - kill_ms) / 1000);
    printf("%d operations acknowledged, %d retried; during the failover %d answers were 503"
           " with Retry-After, %d IDEMPOTENCY_IN_PROGRESS, %d none, %d wrong\n",
           load.acked, retried, retryable_503, in_progress, no_answer, wrong);
    if (wrong)
        fprintf(stderr, "a wrong answer: %s\n", wrong_answer);
    assert_int_equal(wrong, 0);
    assert_int_equal(no_answer, 0); /* the platform nodes never stopped answering */
    assert_true(acked_at_kill < OPS_ALL);
    assert_int_equal(load.acked, OPS_ALL);
    assert_true(resumed_ms > 0);
}

/* Both nodes answer /healthz (their database is reachable again) without a restart. */
static void nodes_healthy_again(void **state)
{
    (void)state;
    for (int n = 0; n < 2; n++) {
        struct h_reply r;
        h_call_raw(&node[n], "GET", "/healthz", NULL, NULL, NULL, NULL, &r);
        assert_int_equal(r.status, 200);
        h_reply_fini(&r);
        assert_true(node[n].pid > 0 && kill(node[n].pid, 0) == 0);
    }
}

/* The sweeper runs again after the failover: its seat was a session lock on the lost primary;
 * one of the nodes takes it on the new primary on one of its next rounds (each move of the
 * test clocks is a round both nodes have finished when th_clock_advance returns; the nodes
 * log it) and expires a trade of 1 s. */
static void sweeper_seat_taken_again(void **state)
{
    (void)state;
    const bool up[2] = {true, true};
    op_load_sweeper_runs(&load, up, ROUNDS_MAX);
    size_t taken = op_load_seats_taken(&load);
    printf("the sweeper's seat taken %zu times before the kill, %zu in all\n", seats_taken_at_kill,
           taken);
    assert_true(seats_taken_at_kill >= 1);
    assert_true(taken > seats_taken_at_kill);
}

/* --- the database on the new primary ------------------------------------------------------- */

/* The database URL of node[0], with HAProxy's port replaced by the new primary's own. */
static void direct_url(char *out, size_t n)
{
    char port[16];
    assert_int_equal(cluster("port", new_primary, port, sizeof port), 0);
    const char *p = strstr(node[0].db, "&port=");
    assert_non_null(p);
    const char *rest = strchr(p + 1, '&');
    snprintf(out, n, "%.*s&port=%s%s", (int)(p - node[0].db), node[0].db, port, rest ? rest : "");
}

static void every_ack_once_on_the_new_primary(void **state)
{
    (void)state;
    for (int n = 0; n < 2; n++)
        h_stop(&node[n], SIGTERM);
    char url[sizeof node[0].db + 32];
    direct_url(url, sizeof url);
    struct h_platform direct = node[0];
    assert_true(strlen(url) < sizeof direct.db);
    memcpy(direct.db, url, strlen(url) + 1);
    op_load_check_db(&load, &direct);
}

static int group_teardown(void **state)
{
    (void)state;
    op_load_teardown(&load);
    return 0;
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(primary_lost_under_load), cmocka_unit_test(nodes_healthy_again),
        cmocka_unit_test(sweeper_seat_taken_again),
        cmocka_unit_test(every_ack_once_on_the_new_primary), /* the nodes stopped */
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
