/* Shared support for the integration tests; see harness.h. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *th_binary_arg(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PAYGATE_BINARY\n", argv[0]);
        exit(2);
    }
    signal(SIGPIPE, SIG_IGN);
    return argv[1];
}

const char *th_binary_env(void)
{
    const char *p = getenv("PAYGATE_BIN");
    return p ? p : "paygate";
}

int th_run(const char *const *argv)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int th_ledger_verify(const char *bin, const char *db)
{
    const char *argv[] = {bin, "ledger", "verify", db, NULL};
    return th_run(argv);
}

size_t th_read_text(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    size_t got = f ? fread(out, 1, n - 1, f) : 0;
    if (f)
        fclose(f);
    out[got] = '\0';
    return got;
}

size_t th_count_in_file(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t cap = 1 << 20, len = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (!buf)
        abort(); /* out of memory: a scan that silently found nothing would pass wrongly */
    size_t hits = 0, nl = strlen(needle);
    for (size_t i = 0; i + nl <= len; i++)
        hits += memcmp(buf + i, needle, nl) == 0;
    free(buf);
    return hits;
}

size_t th_scan_files(const char *dir, const char *const *files, size_t n_files,
                     const char (*needles)[64], size_t n_needles)
{
    size_t total = 0;
    for (size_t i = 0; i < n_files; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        for (size_t k = 0; k < n_needles; k++) {
            size_t h = th_count_in_file(path, needles[k]);
            if (h)
                fprintf(stderr, "found %s in %s\n", needles[k], files[i]);
            total += h;
        }
    }
    return total;
}

pid_t th_spawn_sh(const char *cmd)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

int th_wait_url_file(pid_t pid, const char *path, char *url, size_t n, int ms)
{
    for (int waited = 0; waited <= ms; waited += 50) {
        if (th_read_text(path, url, n) > 0)
            return 0;
        siginfo_t si = {0};
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid) {
            fprintf(stderr, "the server (pid %d) exited before writing %s\n", (int)pid, path);
            return -1;
        }
        usleep(50000);
    }
    fprintf(stderr, "no URL in %s after %d ms\n", path, ms);
    return -1;
}

int th_stop(pid_t *pid, int sig)
{
    if (*pid <= 0)
        return 0;
    kill(*pid, sig);
    int st = 0;
    waitpid(*pid, &st, 0);
    *pid = 0;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

int th_loopback_socket(bool listening, char *url, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0 || (listening && listen(fd, 8) != 0)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    snprintf(url, n, "http://127.0.0.1:%d", ntohs(a.sin_port));
    return fd;
}

int th_notify_server_start(const char *name, pay_http_handler fn, void *ctx,
                           struct pay_http_server **srv, char *url, size_t n)
{
    struct pay_http_config c = {.name = name, .listen = "127.0.0.1:0"};
    struct pay_http_route r = {"POST", "/notify", PAY_HTTP_API, PAY_HTTP_BODY_RAW, fn, ctx};
    *srv = NULL;
    if (pay_http_server_new(&c, srv, NULL) != PAY_ERR_OK ||
        pay_http_server_add_routes(*srv, &r, 1, NULL) != PAY_ERR_OK ||
        pay_http_server_start(*srv, NULL) != PAY_ERR_OK) {
        pay_http_server_free(*srv);
        *srv = NULL;
        return -1;
    }
    snprintf(url, n, "%s/notify", pay_http_server_url(*srv));
    return 0;
}

/* The character of an entity our templates write ("&#61;" -> '='); '?' for another. */
static char th_entity(const char *p, const char **end)
{
    static const struct {
        const char *text;
        char c;
    } known[] = {{"&amp;", '&'},  {"&#61;", '='}, {"&#43;", '+'}, {"&#47;", '/'}, {"&quot;", '"'},
                 {"&#39;", '\''}, {"&lt;", '<'},  {"&gt;", '>'},  {"&#96;", '`'}};
    const char *semi = strchr(p, ';');
    *end = semi ? semi + 1 : p + 1;
    for (size_t i = 0; semi && i < sizeof known / sizeof known[0]; i++)
        if (strncmp(p, known[i].text, strlen(known[i].text)) == 0)
            return known[i].c;
    return '?';
}

void th_input_value(const char *html, const char *name, char *out, size_t n)
{
    char pat[128];
    snprintf(pat, sizeof pat, "name=\"%s\" value=\"", name);
    const char *p = html ? strstr(html, pat) : NULL;
    size_t o = 0;
    for (p = p ? p + strlen(pat) : ""; *p && *p != '"' && o + 1 < n;)
        out[o++] = *p == '&' ? th_entity(p, &p) : *p++;
    out[o] = '\0';
}
