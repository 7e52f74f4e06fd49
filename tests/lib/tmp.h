/* The temp dirs and the end of every C test program, unit tests included (no other
 * dependency): a test's data under $PAYGATE_TMP (the suite's <build>/tmp, set by
 * tests/meson.build), removed after a pass and kept after a failure; a group teardown whose
 * failure counts. lib/harness.h includes it. */
#ifndef PAY_TESTS_LIB_TMP_H
#define PAY_TESTS_LIB_TMP_H

#include <stddef.h>

/* Makes a fresh directory $PAYGATE_TMP/<prefix>-XXXXXX (PAYGATE_TMP: the suite's own <build>/tmp,
 * set by tests/meson.build, made here when missing; /tmp without it) into dir (caller's buffer of n
 * bytes), says where on stderr, and remembers it for th_finish. 0, or -1 when it could not be
 * made or does not fit. */
int th_tmpdir(char *dir, size_t n, const char *prefix);
/* The test is done with dir: th_finish removes it after a run without failures. 0. */
int th_tmpdir_done(const char *dir);
/* The end of a test program: `return th_finish(cmocka_run_group_tests(...));`. With no
 * failures it removes the dirs of th_tmpdir_done, unless $PAYGATE_KEEP_TMP is set; after a
 * failure it keeps every dir of th_tmpdir, so the logs in them can be read, and names them.
 * Returns failures, plus one for each group teardown of th_teardown that failed. */
int th_finish(int failures);

/* A group teardown that counts: cmocka 1.1 ignores what a group teardown says (a failed
 * assertion in it, `[  FAILED  ] GROUP TEARDOWN`, and a nonzero return both leave the run's
 * result at 0), so a check made there, such as the ledger verify of h_teardown_verified, could
 * never fail a test. Pass th_teardown(fn) instead of fn:
 * `return th_finish(cmocka_run_group_tests(tests, setup, th_teardown(teardown)));`. It returns
 * a teardown that runs fn and notes whether fn came back with 0; th_finish counts a failure for
 * each one that did not (returned nonzero, or left by a failed assertion). One group at a
 * time (call it again before each group). */
typedef int (*th_group_fn)(void **state);
th_group_fn th_teardown(th_group_fn fn);

/* Runs a printf-formatted shell command with system(); its exit status, -1 when it did not
 * exit normally. */
int th_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
