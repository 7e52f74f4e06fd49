/* The harness itself: a check in a group teardown must fail the run. cmocka 1.1 ignores a
 * failed group teardown (`[  FAILED  ] GROUP TEARDOWN`, exit 0), so h_teardown_verified's
 * ledger verify could never fail a test; th_teardown (tests/lib/harness.h) counts it.
 * This program runs itself as a child, a real platform with a wallet credited, in three ways:
 *   clean   - the ledger untouched, group teardown through th_teardown: exit 0;
 *   tamper  - one account's posted credits raised by 7 with the platform stopped (sqlite3),
 *             so `ledger verify` reports a violation: the run fails, saying why;
 *   raw     - the same tampering with the teardown handed to cmocka directly: exit 0, the gap
 *             th_teardown closes (if a cmocka release counts it one day, this says so).
 * The children's data lives under this test's own directory, removed after a pass. */
#include "harness.h"
#include "lib/harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static struct h_platform pf;
static struct h_merchant ma;
static const char *mode; /* the child's: clean, tamper or raw */

static int child_setup(void **state)
{
    (void)state;
    h_setup(&pf, &ma, NULL, NULL);
    h_add_consumer(&pf, "payer@example.com", "correct horse", "246810");
    h_wallet_credit(&pf, "payer@example.com", "10.00");
    h_start(&pf);
    return 0;
}

static int child_teardown(void **state)
{
    (void)state;
    h_teardown_verified(&pf);
    return 0;
}

/* The child's one test: the platform ran; with tamper or raw, one balance no longer matches
 * its transfers when the teardown verifies the ledger. */
static void child_run(void **state)
{
    (void)state;
    h_stop(&pf, SIGTERM);
    if (strcmp(mode, "clean") == 0)
        return;
    assert_int_equal(th_sh("sqlite3 '%s' \"UPDATE ledger_accounts SET credits_posted ="
                           " credits_posted + 7 WHERE id = (SELECT min(id) FROM ledger_accounts)\"",
                           pf.db),
                     0);
}

static int child_main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(child_run)};
    if (strcmp(mode, "raw") == 0)
        return th_finish(cmocka_run_group_tests(tests, child_setup, child_teardown));
    return th_finish(cmocka_run_group_tests(tests, child_setup, th_teardown(child_teardown)));
}

static char self[512], data[256];

/* Runs this program as a child in mode m; its exit status, and its output (stdout and stderr)
 * into out. */
static int run_child(const char *m, char *out, size_t n)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "PAYGATE_TMP='%s' '%s' '%s' --child %s 2>&1", data, self, h_paygate,
             m);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t got = fread(out, 1, n - 1, f);
    out[got] = '\0';
    int st = pclose(f);
    fprintf(stderr, "--- child %s (exit %d) ---\n%s", m, WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void clean_ledger_passes(void **state)
{
    (void)state;
    static char out[65536];
    assert_int_equal(run_child("clean", out, sizeof out), 0);
    assert_null(strstr(out, "GROUP TEARDOWN"));
}

static void unbalanced_ledger_fails_the_run(void **state)
{
    (void)state;
    static char out[65536];
    assert_int_not_equal(run_child("tamper", out, sizeof out), 0);
    assert_non_null(strstr(out, "[  FAILED  ] GROUP TEARDOWN"));
    assert_non_null(strstr(out, "FAILED: a group teardown stopped at a failed check"));
    assert_non_null(strstr(out, "kept ")); /* its data kept for a post-mortem */
}

static void cmocka_alone_ignores_it(void **state)
{
    (void)state;
    static char out[65536];
    assert_int_equal(run_child("raw", out, sizeof out), 0);
    assert_non_null(strstr(out, "[  FAILED  ] GROUP TEARDOWN"));
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    if (argc == 4 && strcmp(argv[2], "--child") == 0) {
        mode = argv[3];
        return child_main();
    }
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0 || th_tmpdir(data, sizeof data, "platform-harness") != 0)
        return 2;
    self[len] = '\0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_ledger_passes),
        cmocka_unit_test(unbalanced_ledger_fails_the_run),
        cmocka_unit_test(cmocka_alone_ignores_it),
    };
    int failures = cmocka_run_group_tests(tests, NULL, NULL);
    th_tmpdir_done(data);
    return th_finish(failures);
}
