/* Failing a test server's disk (docs/store.md, "Fault injection"): a server started with the
 * test clock (fake_clock = true, --fake-clock) opens its database through the fault-injection
 * VFS and offers /sandbox/faults; tests arm a plan there, wait for it to have hit (an event,
 * never a sleep), and clear it when the disk should recover. */
#ifndef PAY_TESTS_LIB_FAULTS_H
#define PAY_TESTS_LIB_FAULTS_H

#include <stdint.h>

/* POST plan_json (e.g. {"ops":["write","sync"],"error":"full","nth":1,"sticky":true}) to
 * base_url/sandbox/faults. 0, or -1 with the reason on stderr. */
int th_faults_arm(const char *base_url, const char *plan_json);

/* DELETE base_url/sandbox/faults: every call succeeds again. 0 or -1. */
int th_faults_clear(const char *base_url);

/* The calls the plan has failed so far (GET injected), or -1. */
int64_t th_faults_injected(const char *base_url);

#endif
