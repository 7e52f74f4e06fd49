/* Shared support for the integration tests (tests/bank, tests/platform, tests/sdk): temp
 * dirs, running the `paygate` binary, starting a server process and reading the URL it
 * prints, stopping it with a signal, an in-process notify endpoint, scanning files for
 * secrets. No cmocka here: every function returns a status the test asserts on. */
#ifndef PAY_TESTS_LIB_HARNESS_H
#define PAY_TESTS_LIB_HARNESS_H

#include "http/server.h"
#include "tmp.h" /* temp dirs, th_finish, th_teardown, th_sh */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The paygate binary from argv[1] (the platform and SDK tests get it so); prints a usage line
 * and exits 2 when it is missing. Also ignores SIGPIPE. Returns argv[1] (not copied). */
const char *th_binary_arg(int argc, char **argv);
/* The paygate binary from $PAYGATE_BIN, else "paygate" on PATH (static, do not free). */
const char *th_binary_env(void);

/* Runs argv (argv[0] is the path, NULL-terminated) with stdout to /dev/null and waits; its
 * exit status, 128 when killed by a signal, -1 when it could not be started. */
int th_run(const char *const *argv);
/* `<bin> ledger verify <db>` with its stdout discarded; the exit status (0 = no violations). */
int th_ledger_verify(const char *bin, const char *db);

/* Reads up to n-1 bytes of path into out, NUL-terminated ("" when the file is missing).
 * Returns the bytes read. */
size_t th_read_text(const char *path, char *out, size_t n);
/* How often needle occurs in the whole file path (0 when the file is missing; aborts when out
 * of memory): the scan for secrets (card numbers, tokens) that must never be stored in clear. */
size_t th_count_in_file(const char *path, const char *needle);
/* The secrets scan over several files: counts every needle (n_needles of them) in every file
 * dir/files[i] (n_files), prints "found <needle> in <file>" to stderr for each hit; the total. */
size_t th_scan_files(const char *dir, const char *const *files, size_t n_files,
                     const char (*needles)[64], size_t n_needles);

/* Starts `sh -c cmd` in a child process (use `exec ...` in cmd so the pid is the server's).
 * The pid, or -1. Stop it with th_stop. */
pid_t th_spawn_sh(const char *cmd);
/* Waits for the event that server pid is listening: path holding its URL (what
 * `--print-url-file` writes, atomically, once it has bound its port), copied into url (n
 * bytes). 0; -1 when pid exits first (it is not reaped: th_stop does that) or after ms. */
int th_wait_url_file(pid_t pid, const char *path, char *url, size_t n, int ms);
/* A bound for th_wait_url_file that only catches a server that hangs: start-up takes seconds
 * on a loaded machine or in a sanitizer build. */
#define TH_START_TIMEOUT_MS 120000
/* Sends sig to *pid (when > 0), reaps it and sets *pid to 0. Returns the exit status, 128+N
 * when it died of signal N, 0 when there was nothing to stop. */
int th_stop(pid_t *pid, int sig);

/* A socket bound to a loopback port of its own, listening or not, and its "http://127.0.0.1:N"
 * in url (n bytes): connections to a non-listening one are refused at once, to a listening
 * one they are accepted by the kernel and never answered (a server that hangs). Close the fd
 * at the end. The fd, or -1. */
int th_loopback_socket(bool listening, char *url, size_t n);

/* Starts an in-process HTTP server on a random loopback port with one route, POST /notify,
 * calling fn with ctx. Writes the server into *srv (free with pay_http_server_free) and
 * "<base>/notify" into url (n bytes). 0 or -1. */
int th_notify_server_start(const char *name, pay_http_handler fn, void *ctx,
                           struct pay_http_server **srv, char *url, size_t n);

/* The value of the first <input ... name="NAME" value="..."> in html into out (n bytes), with
 * the entities our templates write unescaped as a browser would (&amp; &#61; &#43; &#47;
 * &quot; &#39; &lt; &gt; &#96;; another one becomes '?'); "" when there is none or html is
 * NULL. */
void th_input_value(const char *html, const char *name, char *out, size_t n);

#endif
