/* PAY_ASSERT fires in a release build: this file is compiled with -DNDEBUG (tests/core/
 * meson.build), where assert() is gone, and a failing PAY_ASSERT still aborts the process
 * (SIGABRT) after one log line naming the file, line, expression, note and request id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <assert.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/assertions.h"
#include "core/log.h"

#ifndef NDEBUG
#error "test_assertions must be compiled with -DNDEBUG: it shows PAY_ASSERT in a release build"
#endif

/* Runs fn in a child with stderr into a pipe; returns its wait status, the text in out. */
static int run_child(void (*fn)(int), int arg, char *out, size_t n)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        pay_log_init(stderr, PAY_LOG_INFO);
        pay_log_set_request_id("req_assert_test");
        fn(arg);
        _exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < n && (r = read(fds[0], out + got, n - 1 - got)) > 0)
        got += (size_t)r;
    out[got] = '\0';
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void refund_more_than_paid(int refunded)
{
    int paid = 100;
    assert(refunded <= paid); /* gone under NDEBUG: this line does nothing */
    PAY_ASSERT_MSG(refunded <= paid, "trade %s", "tr_TEST");
}

static void fires_in_release_build(void **state)
{
    (void)state;
    char out[2048];
    int status = run_child(refund_more_than_paid, 150, out, sizeof out);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    assert_non_null(strstr(out, "assert.failed"));
    assert_non_null(strstr(out, "rid=req_assert_test"));
    assert_non_null(strstr(out, "test_assertions.c:"));
    assert_non_null(strstr(out, "func=refund_more_than_paid"));
    assert_non_null(strstr(out, "expr=\"refunded <= paid\""));
    assert_non_null(strstr(out, "note=\"trade tr_TEST\""));

    status = run_child(refund_more_than_paid, 100, out, sizeof out); /* holds: nothing */
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_null(strstr(out, "assert.failed"));
}

static void plain_assert(int x)
{
    PAY_ASSERT(x == 1);
}

static void without_note(void **state)
{
    (void)state;
    char out[2048];
    int status = run_child(plain_assert, 2, out, sizeof out);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    assert_non_null(strstr(out, "expr=\"x == 1\" note=\"\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fires_in_release_build),
        cmocka_unit_test(without_note),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
