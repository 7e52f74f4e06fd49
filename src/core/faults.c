/* The fault plan (core/faults.h): one process-wide plan behind a mutex. Only test processes
 * ever arm it; the I/O layer that asks it is installed only in them. */
#include "core/faults.h"

#include "core/assertions.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct pay_fault_state state; /* under mu */
static uint64_t rng;                 /* under mu: splitmix64 state */
static atomic_bool layer;

static const char *const op_names[PAY_FAULT_OP_KINDS] = {"read", "write", "sync", "truncate"};

static int op_index(enum pay_fault_op op)
{
    for (int i = 0; i < PAY_FAULT_OP_KINDS; i++)
        if ((unsigned)op == 1u << i)
            return i;
    return -1;
}

/* splitmix64: small, seedable, good enough to scatter failures. */
static uint64_t next_random(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

enum pay_err pay_fault_arm(const struct pay_fault_plan *plan, struct pay_error *err)
{
    if (plan->ops == 0 || (plan->ops & ~PAY_FAULT_OPS_ALL) != 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "ops",
                             "one or more of read, write, sync, truncate");
    if (plan->error != PAY_FAULT_IO && plan->error != PAY_FAULT_FULL)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "error", "io or full");
    if ((plan->nth > 0) == (plan->one_in > 0))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, plan->nth ? "one_in" : "nth",
                             "exactly one of nth (> 0) and one_in (> 0)");
    if (plan->sticky && plan->nth == 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "sticky", "sticky goes with nth");
    pthread_mutex_lock(&mu);
    memset(&state, 0, sizeof state);
    state.armed = true;
    state.plan = *plan;
    rng = plan->seed;
    pthread_mutex_unlock(&mu);
    return PAY_ERR_OK;
}

void pay_fault_clear(void)
{
    pthread_mutex_lock(&mu);
    state.armed = false;
    memset(&state.plan, 0, sizeof state.plan);
    pthread_mutex_unlock(&mu);
}

enum pay_fault_error pay_fault_hit(enum pay_fault_op op)
{
    int i = op_index(op);
    PAY_ASSERT(i >= 0);
    enum pay_fault_error out = PAY_FAULT_NONE;
    pthread_mutex_lock(&mu);
    state.calls[i]++;
    if (state.armed && (state.plan.ops & (unsigned)op) != 0) {
        uint64_t n = ++state.counted;
        const struct pay_fault_plan *p = &state.plan;
        bool fail = p->nth > 0 ? (n == p->nth || (p->sticky && n > p->nth))
                               : next_random() % p->one_in == 0;
        if (fail) {
            state.injected++;
            out = p->error;
        }
    }
    pthread_mutex_unlock(&mu);
    return out;
}

void pay_fault_get(struct pay_fault_state *out)
{
    pthread_mutex_lock(&mu);
    *out = state;
    pthread_mutex_unlock(&mu);
}

const char *pay_fault_op_name(enum pay_fault_op op)
{
    int i = op_index(op);
    return i >= 0 ? op_names[i] : "?";
}

unsigned pay_fault_op_parse(const char *name)
{
    for (int i = 0; i < PAY_FAULT_OP_KINDS; i++)
        if (strcmp(name, op_names[i]) == 0)
            return 1u << i;
    return 0;
}

const char *pay_fault_error_name(enum pay_fault_error e)
{
    return e == PAY_FAULT_IO ? "io" : e == PAY_FAULT_FULL ? "full" : "none";
}

enum pay_fault_error pay_fault_error_parse(const char *name)
{
    return strcmp(name, "io") == 0     ? PAY_FAULT_IO
           : strcmp(name, "full") == 0 ? PAY_FAULT_FULL
                                       : PAY_FAULT_NONE;
}

void pay_fault_layer_installed(void)
{
    atomic_store(&layer, true);
}

bool pay_fault_layer_present(void)
{
    return atomic_load(&layer);
}
