/* Temp dirs and the end of a test program; see tmp.h. */
#include "tmp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* The dirs of th_tmpdir, for th_finish; a test makes a handful. */
#define TH_DIRS_MAX 128
static struct {
    char path[256];
    bool done;
} th_dirs[TH_DIRS_MAX];
static size_t th_n_dirs;

int th_tmpdir(char *dir, size_t n, const char *prefix)
{
    const char *root = getenv("PAYGATE_TMP");
    if (!root || !root[0])
        root = "/tmp";
    if (mkdir(root, 0700) != 0 && errno != EEXIST) /* the suite's own root (tests/meson.build) */
        return -1;
    int len = snprintf(dir, n, "%s/%s-XXXXXX", root, prefix);
    if (len < 0 || (size_t)len >= n || (size_t)len >= sizeof th_dirs[0].path ||
        th_n_dirs == TH_DIRS_MAX || !mkdtemp(dir))
        return -1;
    snprintf(th_dirs[th_n_dirs].path, sizeof th_dirs[0].path, "%s", dir);
    th_dirs[th_n_dirs++].done = false;
    fprintf(stderr, "test data in %s (kept when a test fails)\n", dir);
    return 0;
}

int th_tmpdir_done(const char *dir)
{
    for (size_t i = 0; i < th_n_dirs; i++)
        if (strcmp(th_dirs[i].path, dir) == 0)
            th_dirs[i].done = true;
    return 0;
}

/* th_teardown's state: the teardown to run, whether one is running (still true after a failed
 * assertion in it: cmocka's longjmp skipped the rest), and the failures seen so far. */
static th_group_fn th_teardown_fn;
static bool th_teardown_running;
static int th_teardown_failures;

static void th_teardown_note_unfinished(void)
{
    if (th_teardown_running) {
        fprintf(stderr, "FAILED: a group teardown stopped at a failed check (see above)\n");
        th_teardown_failures++;
        th_teardown_running = false;
    }
}

static int th_teardown_run(void **state)
{
    th_teardown_note_unfinished();
    th_teardown_running = true;
    int rc = th_teardown_fn(state);
    th_teardown_running = false;
    if (rc != 0) {
        fprintf(stderr, "FAILED: a group teardown returned %d\n", rc);
        th_teardown_failures++;
    }
    return rc;
}

th_group_fn th_teardown(th_group_fn fn)
{
    th_teardown_note_unfinished();
    th_teardown_fn = fn;
    return th_teardown_run;
}

int th_finish(int failures)
{
    th_teardown_note_unfinished();
    failures += th_teardown_failures;
    th_teardown_failures = 0;
    bool keep = failures != 0 || getenv("PAYGATE_KEEP_TMP");
    for (size_t i = 0; i < th_n_dirs; i++) {
        if (keep)
            fprintf(stderr, "kept %s for a post-mortem (%s)\n", th_dirs[i].path,
                    failures ? "a test failed" : "PAYGATE_KEEP_TMP");
        else if (th_dirs[i].done && th_sh("rm -rf '%s'", th_dirs[i].path) != 0)
            failures++; /* a removal that fails is a bug of the test */
    }
    th_n_dirs = 0;
    return failures;
}

int th_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
