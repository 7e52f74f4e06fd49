/* The data dirs of the C integration tests (lib/harness.h): th_finish removes them after a
 * run without failures, and keeps them after a failure or under PAYGATE_KEEP_TMP, so the
 * logs a failing test points at still exist. */
#include "lib/harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <unistd.h>

/* A dir made and released by a test; its path in dir (64 bytes). */
static void make(char *dir)
{
    assert_int_equal(th_tmpdir(dir, 64, "paygate-harness-tmp"), 0);
    assert_int_equal(access(dir, F_OK), 0);
    assert_int_equal(th_tmpdir_done(dir), 0);
}

static void removed_after_a_pass(void **state)
{
    char dir[64];
    unsetenv("PAYGATE_KEEP_TMP");
    make(dir);
    assert_int_equal(th_finish(0), 0);
    assert_int_not_equal(access(dir, F_OK), 0);
}

static void kept_after_a_failure(void **state)
{
    char dir[64], never_done[64];
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
    char dir[64];
    setenv("PAYGATE_KEEP_TMP", "1", 1);
    make(dir);
    assert_int_equal(th_finish(0), 0);
    assert_int_equal(access(dir, F_OK), 0);
    unsetenv("PAYGATE_KEEP_TMP");
    assert_int_equal(th_sh("rm -rf '%s'", dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(removed_after_a_pass),
        cmocka_unit_test(kept_after_a_failure),
        cmocka_unit_test(kept_when_asked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
