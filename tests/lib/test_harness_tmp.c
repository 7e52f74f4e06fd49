/* The data dirs of the C integration tests (lib/harness.h): th_finish removes them after a
 * run without failures, and keeps them after a failure or under PAYGATE_KEEP_TMP, so the
 * logs a failing test points at still exist. */
#include "lib/harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A dir made and released by a test; its path in dir (256 bytes). */
static void make(char *dir)
{
    assert_int_equal(th_tmpdir(dir, 256, "paygate-harness-tmp"), 0);
    assert_int_equal(access(dir, F_OK), 0);
    assert_int_equal(th_tmpdir_done(dir), 0);
}

static void removed_after_a_pass(void **state)
{
    char dir[256];
    unsetenv("PAYGATE_KEEP_TMP");
    make(dir);
    assert_int_equal(th_finish(0), 0);
    assert_int_not_equal(access(dir, F_OK), 0);
}

static void kept_after_a_failure(void **state)
{
    char dir[256], never_done[256];
    unsetenv("PAYGATE_KEEP_TMP");
    make(dir);
    /* a dir whose test died before its teardown is kept too */
    assert_int_equal(th_tmpdir(never_done, sizeof never_done, "paygate-harness-tmp"), 0);
    assert_int_equal(th_finish(2), 2);
    assert_int_equal(access(dir, F_OK), 0);
    assert_int_equal(access(never_done, F_OK), 0);
    assert_int_equal(th_sh("rm -rf '%s' '%s'", dir, never_done), 0);
}

static void kept_when_asked(void **state)
{
    char dir[256];
    setenv("PAYGATE_KEEP_TMP", "1", 1);
    make(dir);
    assert_int_equal(th_finish(0), 0);
    assert_int_equal(access(dir, F_OK), 0);
    unsetenv("PAYGATE_KEEP_TMP");
    assert_int_equal(th_sh("rm -rf '%s'", dir), 0);
}

/* Under $PAYGATE_TMP (the suite's own <build>/tmp), made when missing: not among everyone's
 * /tmp/paygate-*, which another user's cleanup may remove while a test runs. */
static void under_the_suites_root(void **state)
{
    char root[256], dir[256], want[300];
    assert_int_equal(th_tmpdir(root, sizeof root, "paygate-harness-root"), 0);
    snprintf(want, sizeof want, "%s/tmp", root);
    const char *was = getenv("PAYGATE_TMP");
    char saved[256] = "";
    snprintf(saved, sizeof saved, "%s", was ? was : "");
    setenv("PAYGATE_TMP", want, 1);
    assert_int_equal(th_tmpdir(dir, sizeof dir, "paygate-harness-tmp"), 0);
    if (was)
        setenv("PAYGATE_TMP", saved, 1);
    else
        unsetenv("PAYGATE_TMP");
    assert_int_equal(strncmp(dir, want, strlen(want)), 0);
    assert_int_equal(dir[strlen(want)], '/');
    assert_int_equal(access(dir, F_OK), 0);
    assert_int_equal(th_tmpdir_done(dir), 0);
    assert_int_equal(th_tmpdir_done(root), 0);
    assert_int_equal(th_finish(0), 0);
    assert_int_not_equal(access(root, F_OK), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(under_the_suites_root),
        cmocka_unit_test(removed_after_a_pass),
        cmocka_unit_test(kept_after_a_failure),
        cmocka_unit_test(kept_when_asked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
